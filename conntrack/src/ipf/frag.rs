//! Recognising one fragment in an Ethernet frame: where its headers end, which datagram it
//! belongs to, which payload bytes it carries. Total: any byte string yields a [`Parsed`]
//! value, never a panic.

use crate::parse::internet_checksum;

const ETH_TYPE_IP: u16 = 0x0800;
const ETH_TYPE_IPV6: u16 = 0x86dd;
const ETH_TYPE_VLAN: u16 = 0x8100;
const ETH_TYPE_VLAN_8021AD: u16 = 0x88a8;
/// Tags skipped in front of the L3 header (as the datapath's key extraction).
const MAX_VLAN_TAGS: usize = 2;

const IPV4_HDR_LEN: usize = 20;
const IPV6_HDR_LEN: usize = 40;
const IPV6_FRAG_HDR_LEN: usize = 8;
/// Largest IPv4 datagram / IPv6 payload: what the 16-bit length fields can say.
pub(crate) const IP_MAX_LEN: usize = 65_535;

const IP_MF: u16 = 0x2000;
const IP_FRAG_OFF_MASK: u16 = 0x1fff;
const IP6F_MF: u16 = 0x0001;
const IP6F_OFF_MASK: u16 = 0xfff8;

/// What a reassembly list is keyed by (Open vSwitch's `ipf_list_key`): addresses,
/// identification, family, protocol (IPv4 only; 0 for IPv6 as OVS), the `ct()` zone and
/// the packet's recirculation id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FragKey {
    pub src: u128,
    pub dst: u128,
    pub id: u32,
    pub v6: bool,
    pub proto: u8,
    pub zone: u16,
    pub recirc_id: u32,
}

/// Where things are in one fragment's frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Offset of the IP header.
    pub l3_ofs: usize,
    /// Offset of the first fragment-payload byte (IPv6: just past the fragment header).
    pub payload_ofs: usize,
    /// End of the IP packet (the frame may carry Ethernet padding past it).
    pub l3_end: usize,
    /// IPv6: offset of the fragment header.
    pub frag_hdr_ofs: usize,
    /// IPv6: offset of the next-header byte that names the fragment header.
    pub prev_nh_ofs: usize,
}

/// One well-formed fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FragInfo {
    /// Identity of the datagram minus the zone and recirc id, which the caller adds.
    pub key: FragKey,
    /// Payload range in the datagram, `[start, end)` in bytes.
    pub start: u32,
    pub end: u32,
    /// More-fragments flag clear.
    pub last: bool,
    pub layout: Layout,
}

/// Why a fragment is refused before it reaches a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// A non-last fragment shorter than the configured minimum (counted: "too small").
    TooSmall,
    /// Bad lengths, bad header checksum, empty or misaligned payload, past 65,535 bytes.
    Malformed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// Not IPv4/IPv6, or not a fragment (including an IPv6 "atomic fragment": offset 0,
    /// M clear). Left to the connection tracker as it is.
    NotFragment,
    Refused {
        v6: bool,
        why: Refusal,
    },
    Fragment(FragInfo),
}

#[inline]
fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

#[inline]
fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

#[inline]
fn be128(d: &[u8], at: usize) -> Option<u128> {
    Some(u128::from_be_bytes(d.get(at..at + 16)?.try_into().ok()?))
}

/// Returns the Ethernet type after up to [`MAX_VLAN_TAGS`] tags and the L3 offset.
pub(crate) fn l3_of(frame: &[u8]) -> Option<(u16, usize)> {
    let mut off = 12;
    for _ in 0..MAX_VLAN_TAGS {
        let t = be16(frame, off)?;
        if t != ETH_TYPE_VLAN && t != ETH_TYPE_VLAN_8021AD {
            break;
        }
        off += 4;
    }
    Some((be16(frame, off)?, off + 2))
}

/// Classifies `frame`. `min_v4`/`min_v6` are the minimum sizes (IP header included) of a
/// non-last fragment.
pub(crate) fn parse(frame: &[u8], min_v4: u32, min_v6: u32) -> Parsed {
    let Some((eth_type, l3)) = l3_of(frame) else {
        return Parsed::NotFragment;
    };
    match eth_type {
        ETH_TYPE_IP => parse_v4(frame, l3, min_v4),
        ETH_TYPE_IPV6 => parse_v6(frame, l3, min_v6),
        _ => Parsed::NotFragment,
    }
}

fn parse_v4(frame: &[u8], l3: usize, min: u32) -> Parsed {
    let bad = Parsed::Refused {
        v6: false,
        why: Refusal::Malformed,
    };
    let Some(d) = frame.get(l3..) else {
        return Parsed::NotFragment;
    };
    if d.len() < IPV4_HDR_LEN || d[0] >> 4 != 4 {
        return Parsed::NotFragment;
    }
    let fo = be16(d, 6).unwrap_or(0);
    if fo & (IP_MF | IP_FRAG_OFF_MASK) == 0 {
        return Parsed::NotFragment;
    }
    let ihl = usize::from(d[0] & 0x0f) * 4;
    let tot = usize::from(be16(d, 2).unwrap_or(0));
    if ihl < IPV4_HDR_LEN || tot < ihl || tot > d.len() || internet_checksum(&d[..ihl]) != 0 {
        return bad;
    }
    let last = fo & IP_MF == 0;
    let start = usize::from(fo & IP_FRAG_OFF_MASK) * 8;
    let len = tot - ihl;
    if len == 0 || (!last && !len.is_multiple_of(8)) || start + len > IP_MAX_LEN - ihl {
        return bad;
    }
    if !last && (tot as u64) < u64::from(min) {
        return Parsed::Refused {
            v6: false,
            why: Refusal::TooSmall,
        };
    }
    let (Some(src), Some(dst), Some(id)) = (be32(d, 12), be32(d, 16), be16(d, 4)) else {
        return bad;
    };
    Parsed::Fragment(FragInfo {
        key: FragKey {
            src: u128::from(src),
            dst: u128::from(dst),
            id: u32::from(id),
            v6: false,
            proto: d[9],
            zone: 0,
            recirc_id: 0,
        },
        start: start as u32,
        end: (start + len) as u32,
        last,
        layout: Layout {
            l3_ofs: l3,
            payload_ofs: l3 + ihl,
            l3_end: l3 + tot,
            frag_hdr_ofs: 0,
            prev_nh_ofs: 0,
        },
    })
}

fn parse_v6(frame: &[u8], l3: usize, min: u32) -> Parsed {
    let bad = Parsed::Refused {
        v6: true,
        why: Refusal::Malformed,
    };
    let Some(d) = frame.get(l3..) else {
        return Parsed::NotFragment;
    };
    if d.len() < IPV6_HDR_LEN || d[0] >> 4 != 6 {
        return Parsed::NotFragment;
    }
    let plen = usize::from(be16(d, 4).unwrap_or(0));
    let end = IPV6_HDR_LEN + plen;
    if end > d.len() {
        // Truncated: a fragment or not, it cannot be reassembled; let the tracker judge it.
        return Parsed::NotFragment;
    }
    // Walk to the fragment header: hop-by-hop, routing, destination options, AH may precede.
    let mut nxt = d[6];
    let mut nxt_at = 6usize;
    let mut pos = IPV6_HDR_LEN;
    loop {
        match nxt {
            0 | 43 | 60 | 51 => {
                let (Some(&n), Some(&l)) = (d.get(pos), d.get(pos + 1)) else {
                    return Parsed::NotFragment;
                };
                let len = if nxt == 51 {
                    (usize::from(l) + 2) * 4
                } else {
                    (usize::from(l) + 1) * 8
                };
                if pos + len > end {
                    return Parsed::NotFragment;
                }
                nxt = n;
                nxt_at = pos;
                pos += len;
            }
            44 => break,
            _ => return Parsed::NotFragment,
        }
    }
    if pos + IPV6_FRAG_HDR_LEN > end {
        return bad;
    }
    let offlg = be16(d, pos + 2).unwrap_or(0);
    if offlg & (IP6F_OFF_MASK | IP6F_MF) == 0 {
        return Parsed::NotFragment;
    }
    let last = offlg & IP6F_MF == 0;
    let start = usize::from(offlg & IP6F_OFF_MASK);
    let payload_ofs = pos + IPV6_FRAG_HDR_LEN;
    let len = end - payload_ofs;
    if len == 0 || (!last && !len.is_multiple_of(8)) || start + len > IP_MAX_LEN {
        return bad;
    }
    if !last && (end as u64) < u64::from(min) {
        return Parsed::Refused {
            v6: true,
            why: Refusal::TooSmall,
        };
    }
    let (Some(src), Some(dst), Some(id)) = (be128(d, 8), be128(d, 24), be32(d, pos + 4)) else {
        return bad;
    };
    Parsed::Fragment(FragInfo {
        key: FragKey {
            src,
            dst,
            id,
            v6: true,
            proto: 0,
            zone: 0,
            recirc_id: 0,
        },
        start: start as u32,
        end: (start + len) as u32,
        last,
        layout: Layout {
            l3_ofs: l3,
            payload_ofs: l3 + payload_ofs,
            l3_end: l3 + end,
            frag_hdr_ofs: l3 + pos,
            prev_nh_ofs: l3 + nxt_at,
        },
    })
}
