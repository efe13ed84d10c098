//! The frame summary OVS appends to packet-in and packet-out text
//! (`ofp_packet_to_string`: the flow OVS extracts from the frame, printed as
//! a match, then the L4 checksum).
//!
//! Partly done: Ethernet with at most one 802.1Q tag, carrying ARP, IPv4
//! (TCP, UDP, SCTP, ICMP, other protocols; fragments too) or IPv6 without
//! extension headers (TCP, UDP, SCTP, ICMPv6 other than neighbour
//! discovery), or any other EtherType, and frames shorter than an Ethernet
//! header. Anything else (802.2 LLC frames, QinQ, MPLS, IPv6
//! extension headers, ND, malformed IP headers) returns `None` and the
//! caller prints no summary.

use crate::field::Field;
use crate::flow_match::Match;

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

/// Exact match on `f` with the big-endian value `v` (any width).
fn exact(m: &mut Match, f: Field, v: &[u8]) -> Option<()> {
    let n = v.iter().fold(0u128, |a, &b| (a << 8) | u128::from(b));
    m.set_exact(f, n).ok()
}

/// The summary line (with its newline), or `None` for frames rvs does not
/// dissect.
pub(super) fn packet_to_string(data: &[u8]) -> Option<String> {
    let mut m = Match::new();
    let mut tci = 0u16;
    let mut csum: Option<(&str, u32)> = None;
    if data.len() < 14 {
        exact(&mut m, Field::EthDst, &[0; 6])?;
        exact(&mut m, Field::EthSrc, &[0; 6])?;
        exact(&mut m, Field::EthType, &[0; 2])?;
    } else {
        exact(&mut m, Field::EthDst, &data[0..6])?;
        exact(&mut m, Field::EthSrc, &data[6..12])?;
        let mut off = 12;
        let mut ethertype = be16(data, off);
        if ethertype == 0x8100 && data.len() >= off + 4 + 2 {
            tci = be16(data, off + 2) | 0x1000;
            off += 4;
            ethertype = be16(data, off);
            if ethertype == 0x8100 || ethertype == 0x88a8 {
                return None;
            }
        } else if ethertype == 0x8100 || ethertype == 0x88a8 {
            return None;
        }
        if ethertype < 0x600 {
            return None;
        }
        exact(&mut m, Field::EthType, &ethertype.to_be_bytes())?;
        let l3 = &data[off + 2..];
        match ethertype {
            0x0800 => csum = ipv4(&mut m, l3)?,
            0x86dd => csum = ipv6(&mut m, l3)?,
            0x0806 | 0x8035 => arp(&mut m, l3)?,
            0x8847 | 0x8848 => return None,
            _ => {}
        }
    }
    let text = m.to_string();
    let at = text.find("dl_src=")?;
    // OVS's flow has two VLAN slots; a tagged frame prints the first as
    // `dl_vlan`/`dl_vlan_pcp` and the empty second one as `vlan_tci1`.
    let vlan = if tci == 0 {
        "vlan_tci=0x0000,".to_string()
    } else {
        format!(
            "dl_vlan={},dl_vlan_pcp={},vlan_tci1=0x0000,",
            tci & 0x0fff,
            tci >> 13
        )
    };
    let mut s = format!("{}{}{}", &text[..at], vlan, &text[at..]);
    if let Some((name, v)) = csum {
        s.push_str(&format!(" {}:{:x}", name, v));
    }
    s.push('\n');
    Some(s)
}

/// L4 fields and checksum for `proto` carried in `l4`.
fn l4(
    m: &mut Match,
    proto: u8,
    l4: &[u8],
    v6: bool,
    later: bool,
) -> Option<Option<(&'static str, u32)>> {
    if later {
        // A later fragment has no L4 header, but OVS still reads a
        // "checksum" from where it would be.
        return Some(match proto {
            6 if l4.len() >= 20 => Some(("tcp_csum", u32::from(be16(l4, 16)))),
            17 if l4.len() >= 8 => Some(("udp_csum", u32::from(be16(l4, 6)))),
            132 if l4.len() >= 12 => Some((
                "sctp_csum",
                u32::from_be_bytes([l4[8], l4[9], l4[10], l4[11]]),
            )),
            1 if !v6 && l4.len() >= 8 => Some(("icmp_csum", u32::from(be16(l4, 2)))),
            _ => None,
        });
    }
    let ports = |m: &mut Match, s: Field, d: Field| -> Option<()> {
        let (a, b) = if l4.len() >= 4 {
            ([l4[0], l4[1]], [l4[2], l4[3]])
        } else {
            ([0; 2], [0; 2])
        };
        exact(m, s, &a)?;
        exact(m, d, &b)
    };
    Some(match proto {
        6 => {
            let full = l4.len() >= 20;
            let (a, b, flags) = if full {
                ([l4[0], l4[1]], [l4[2], l4[3]], be16(l4, 12) & 0x0fff)
            } else {
                ([0; 2], [0; 2], 0)
            };
            exact(m, Field::TcpSrc, &a)?;
            exact(m, Field::TcpDst, &b)?;
            exact(m, Field::TcpFlags, &flags.to_be_bytes())?;
            full.then(|| ("tcp_csum", u32::from(be16(l4, 16))))
        }
        17 => {
            if l4.len() < 8 {
                exact(m, Field::UdpSrc, &[0; 2])?;
                exact(m, Field::UdpDst, &[0; 2])?;
                None
            } else {
                ports(m, Field::UdpSrc, Field::UdpDst)?;
                Some(("udp_csum", u32::from(be16(l4, 6))))
            }
        }
        132 => {
            if l4.len() < 12 {
                exact(m, Field::SctpSrc, &[0; 2])?;
                exact(m, Field::SctpDst, &[0; 2])?;
                None
            } else {
                ports(m, Field::SctpSrc, Field::SctpDst)?;
                Some((
                    "sctp_csum",
                    u32::from_be_bytes([l4[8], l4[9], l4[10], l4[11]]),
                ))
            }
        }
        1 if !v6 => {
            let ok = l4.len() >= 8;
            let (t, c) = if ok { (l4[0], l4[1]) } else { (0, 0) };
            exact(m, Field::Icmpv4Type, &[t])?;
            exact(m, Field::Icmpv4Code, &[c])?;
            ok.then(|| ("icmp_csum", u32::from(be16(l4, 2))))
        }
        58 if v6 => {
            let ok = l4.len() >= 4;
            let (t, c) = if ok { (l4[0], l4[1]) } else { (0, 0) };
            if ok && (t == 135 || t == 136) {
                return None;
            }
            exact(m, Field::Icmpv6Type, &[t])?;
            exact(m, Field::Icmpv6Code, &[c])?;
            ok.then(|| ("icmp6_csum", u32::from(be16(l4, 2))))
        }
        _ => None,
    })
}

fn ip_common(m: &mut Match, tos: u8, ttl: u8, proto: u8, frag: u8) -> Option<()> {
    exact(m, Field::IpProto, &[proto])?;
    exact(m, Field::IpDscp, &[tos >> 2])?;
    exact(m, Field::IpEcn, &[tos & 3])?;
    exact(m, Field::NwTtl, &[ttl])?;
    exact(m, Field::IpFrag, &[frag])
}

fn ipv4(m: &mut Match, p: &[u8]) -> Option<Option<(&'static str, u32)>> {
    if p.len() < 20 {
        return None;
    }
    let ihl = usize::from(p[0] & 0x0f) * 4;
    let tot = usize::from(be16(p, 2));
    if p[0] >> 4 != 4 || ihl < 20 || ihl > p.len() || tot < ihl || tot > p.len() {
        return None;
    }
    // nw_frag: bit 0 any fragment (MF or an offset), bit 1 a later one.
    let ff = be16(p, 6);
    let later = ff & 0x1fff != 0;
    let frag = if later {
        3
    } else if ff & 0x2000 != 0 {
        1
    } else {
        0
    };
    exact(m, Field::Ipv4Src, &p[12..16])?;
    exact(m, Field::Ipv4Dst, &p[16..20])?;
    ip_common(m, p[1], p[8], p[9], frag)?;
    l4(m, p[9], &p[ihl..tot], false, later)
}

fn ipv6(m: &mut Match, p: &[u8]) -> Option<Option<(&'static str, u32)>> {
    if p.len() < 40 || p[0] >> 4 != 6 {
        return None;
    }
    let plen = usize::from(be16(p, 4));
    if 40 + plen > p.len() {
        return None;
    }
    let next = p[6];
    if matches!(
        next,
        0 | 43 | 44 | 50 | 51 | 60 | 135 | 139 | 140 | 253 | 254
    ) {
        return None;
    }
    let tc = ((p[0] & 0x0f) << 4) | (p[1] >> 4);
    let label = u32::from_be_bytes([0, p[1] & 0x0f, p[2], p[3]]);
    exact(m, Field::Ipv6Src, &p[8..24])?;
    exact(m, Field::Ipv6Dst, &p[24..40])?;
    exact(m, Field::Ipv6Label, &label.to_be_bytes())?;
    ip_common(m, tc, p[7], next, 0)?;
    l4(m, next, &p[40..40 + plen], true, false)
}

fn arp(m: &mut Match, p: &[u8]) -> Option<()> {
    let ok = p.len() >= 28 && be16(p, 0) == 1 && be16(p, 2) == 0x0800 && p[4] == 6 && p[5] == 4;
    let op = if ok { be16(p, 6) } else { 0 };
    if op > 0xff {
        return None;
    }
    let (sha, spa, tha, tpa) = if ok {
        (&p[8..14], &p[14..18], &p[18..24], &p[24..28])
    } else {
        (&[0u8; 6][..], &[0u8; 4][..], &[0u8; 6][..], &[0u8; 4][..])
    };
    exact(m, Field::ArpOp, &[op as u8])?;
    exact(m, Field::ArpSpa, spa)?;
    exact(m, Field::ArpTpa, tpa)?;
    exact(m, Field::ArpSha, sha)?;
    exact(m, Field::ArpTha, tha)
}
