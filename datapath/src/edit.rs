//! Header rewrites with incremental checksum updates (RFC 1624), VLAN push/pop.
//!
//! Every function re-finds the headers it edits and does nothing when they are
//! absent or truncated: a rewrite never panics and never produces a frame whose
//! checksums were valid before and are invalid after.
//!
//! L4 headers are found as OVS finds them: behind the IPv4 options, or behind
//! the IPv6 extension headers (hop-by-hop, routing, destination options, AH,
//! fragment; [`ipv6_l4`]). Later fragments carry no L4 header, so nothing L4 is
//! touched there. Checksum fields are located within the IP datagram (its total
//! or payload length), never in the Ethernet padding after it.
//!
//! Deliberate differences from OVS's userspace datapath (`packet_set_ipv6`),
//! both following the Linux datapath because OVS's choice leaves a stale checksum:
//! an atomic fragment (offset 0, no more fragments) gets its L4 checksum updated,
//! and with a routing header that has segments left the source address change
//! still updates the L4 checksum (only the destination's does not: the
//! pseudo-header holds the final destination, not this one).

use crate::actions::SetAction;
use crate::extract::{
    ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_VLAN, ETH_TYPE_VLAN_8021AD, IPPROTO_ICMP, IPPROTO_ICMPV6,
    IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP,
};
use crate::packet::Packet;

fn rd16(d: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([d[at], d[at + 1]])
}
fn wr16(d: &mut [u8], at: usize, v: u16) {
    d[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// RFC 1624 eqn. 3: checksum after a 16-bit word changes from `old` to `new`.
pub fn csum_update16(csum: u16, old: u16, new: u16) -> u16 {
    let mut s = (!csum as u32) + (!old as u32 & 0xffff) + new as u32;
    s = (s & 0xffff) + (s >> 16);
    s = (s & 0xffff) + (s >> 16);
    !(s as u16)
}

/// Checksum after a 32-bit value changes.
pub fn csum_update32(csum: u16, old: u32, new: u32) -> u16 {
    let c = csum_update16(csum, (old >> 16) as u16, (new >> 16) as u16);
    csum_update16(c, old as u16, new as u16)
}

/// Checksum after a 128-bit value changes.
pub fn csum_update128(mut csum: u16, old: u128, new: u128) -> u16 {
    for i in 0..4 {
        let sh = 96 - 32 * i;
        csum = csum_update32(csum, (old >> sh) as u32, (new >> sh) as u32);
    }
    csum
}

/// Internet checksum of `d` (used by tests and for full recomputation).
pub fn csum(d: &[u8], initial: u32) -> u16 {
    let mut s = initial;
    let mut it = d.chunks_exact(2);
    for c in &mut it {
        s += u16::from_be_bytes([c[0], c[1]]) as u32;
    }
    if let [b] = it.remainder() {
        s += (*b as u32) << 8;
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

/// CRC32c (SCTP), bitwise.
pub fn crc32c(d: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in d {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0x82f6_3b78
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// (Ethernet type, offset of its L3 header, offset of the outer TPID if tagged).
pub fn l3_offset(d: &[u8]) -> Option<(u16, usize)> {
    if d.len() < 14 {
        return None;
    }
    let mut off = 12;
    let mut tags = 0;
    while tags < 2 && d.len() >= off + 6 {
        let t = rd16(d, off);
        if t != ETH_TYPE_VLAN && t != ETH_TYPE_VLAN_8021AD {
            break;
        }
        off += 4;
        tags += 1;
    }
    Some((rd16(d, off), off + 2))
}

fn masked<T>(old: T, v: T, m: T) -> T
where
    T: std::ops::BitAnd<Output = T>
        + std::ops::BitOr<Output = T>
        + std::ops::Not<Output = T>
        + Copy,
{
    (old & !m) | (v & m)
}

/// Offset of the L4 checksum field for `proto`, if it has a pseudo-header checksum.
fn l4_csum_at(proto: u8) -> Option<usize> {
    match proto {
        IPPROTO_TCP => Some(16),
        IPPROTO_UDP => Some(6),
        IPPROTO_ICMPV6 => Some(2),
        _ => None,
    }
}

/// Smallest L4 header OVS updates a checksum in (`packet_update_csum128`).
fn l4_min_len(proto: u8) -> usize {
    match proto {
        IPPROTO_TCP => 20,
        IPPROTO_UDP => 8,
        _ => 4,
    }
}

/// Updates the L4 checksum of the header at `l4` (the datagram ends at `end`)
/// for a pseudo-header change `old` → `new`.
fn fix_l4_pseudo(d: &mut [u8], proto: u8, l4: usize, end: usize, f: impl Fn(u16) -> u16) {
    let Some(at) = l4_csum_at(proto) else { return };
    if end > d.len() || end < l4 + l4_min_len(proto) {
        return;
    }
    let c = rd16(d, l4 + at);
    if proto == IPPROTO_UDP && c == 0 {
        return; // no checksum
    }
    let mut n = f(c);
    if proto == IPPROTO_UDP && n == 0 {
        n = 0xffff;
    }
    wr16(d, l4 + at, n);
}

/// Applies one set action to `p`. Returns false when the headers it targets are missing.
pub fn apply_set(p: &mut Packet, s: &SetAction) -> bool {
    let d = p.data_mut();
    match *s {
        SetAction::Eth {
            src,
            src_mask,
            dst,
            dst_mask,
        } => {
            if d.len() < 14 {
                return false;
            }
            for i in 0..6 {
                d[i] = masked(d[i], dst[i], dst_mask[i]);
                d[6 + i] = masked(d[6 + i], src[i], src_mask[i]);
            }
            true
        }
        SetAction::VlanTci { tci, mask } => {
            if d.len() < 18 {
                return false;
            }
            let t = rd16(d, 12);
            if t != ETH_TYPE_VLAN && t != ETH_TYPE_VLAN_8021AD {
                return false;
            }
            let old = rd16(d, 14);
            wr16(d, 14, masked(old, tci, mask & !0x1000));
            true
        }
        SetAction::Ipv4 {
            src,
            src_mask,
            dst,
            dst_mask,
            tos,
            tos_mask,
            ttl,
            ttl_mask,
        } => {
            let Some((ETH_TYPE_IP, l3)) = l3_offset(d) else {
                return false;
            };
            if d.len() < l3 + 20 {
                return false;
            }
            let ihl = (d[l3] & 0x0f) as usize * 4;
            if ihl < 20 || d.len() < l3 + ihl {
                return false;
            }
            let proto = d[l3 + 9];
            let later_frag = rd16(d, l3 + 6) & 0x1fff != 0;
            let l4 = l3 + ihl;
            let end = l3 + (rd16(d, l3 + 2) as usize).min(d.len() - l3);
            let mut ipc = rd16(d, l3 + 10);
            for (at, v, m) in [(12usize, src, src_mask), (16, dst, dst_mask)] {
                if m == 0 {
                    continue;
                }
                let old = u32::from_be_bytes([
                    d[l3 + at],
                    d[l3 + at + 1],
                    d[l3 + at + 2],
                    d[l3 + at + 3],
                ]);
                let new = masked(old, v, m);
                if old == new {
                    continue;
                }
                d[l3 + at..l3 + at + 4].copy_from_slice(&new.to_be_bytes());
                ipc = csum_update32(ipc, old, new);
                if !later_frag && proto != IPPROTO_ICMPV6 {
                    fix_l4_pseudo(d, proto, l4, end, |c| csum_update32(c, old, new));
                }
            }
            if tos_mask != 0 {
                let old = rd16(d, l3);
                d[l3 + 1] = masked(d[l3 + 1], tos, tos_mask);
                ipc = csum_update16(ipc, old, rd16(d, l3));
            }
            if ttl_mask != 0 {
                let old = rd16(d, l3 + 8);
                d[l3 + 8] = masked(d[l3 + 8], ttl, ttl_mask);
                ipc = csum_update16(ipc, old, rd16(d, l3 + 8));
            }
            wr16(d, l3 + 10, ipc);
            true
        }
        SetAction::Ipv6 {
            src,
            src_mask,
            dst,
            dst_mask,
            tclass,
            tclass_mask,
            label,
            label_mask,
            hlimit,
            hlimit_mask,
        } => {
            let Some((ETH_TYPE_IPV6, l3)) = l3_offset(d) else {
                return false;
            };
            if d.len() < l3 + 40 {
                return false;
            }
            let walk = ipv6_l4(d, l3);
            for (at, v, m, is_dst) in [(8usize, src, src_mask, false), (24, dst, dst_mask, true)] {
                if m == 0 {
                    continue;
                }
                let mut b = [0u8; 16];
                b.copy_from_slice(&d[l3 + at..l3 + at + 16]);
                let old = u128::from_be_bytes(b);
                let new = masked(old, v, m);
                if old == new {
                    continue;
                }
                d[l3 + at..l3 + at + 16].copy_from_slice(&new.to_be_bytes());
                if let Some(w) = walk
                    && !w.later_fragment
                    && !(is_dst && w.routing_segments_left)
                {
                    fix_l4_pseudo(d, w.proto, w.l4, w.end, |c| csum_update128(c, old, new));
                }
            }
            // Version (4 bits), traffic class (8), flow label (20): no checksum covers them.
            if tclass_mask != 0 || label_mask & 0x000f_ffff != 0 {
                let w0 = u32::from_be_bytes([d[l3], d[l3 + 1], d[l3 + 2], d[l3 + 3]]);
                let tc = masked((w0 >> 20) as u8, tclass, tclass_mask);
                let fl = masked(w0 & 0x000f_ffff, label, label_mask & 0x000f_ffff);
                let w0 = (w0 & 0xf000_0000) | (u32::from(tc) << 20) | fl;
                d[l3..l3 + 4].copy_from_slice(&w0.to_be_bytes());
            }
            if hlimit_mask != 0 {
                d[l3 + 7] = masked(d[l3 + 7], hlimit, hlimit_mask);
            }
            true
        }
        SetAction::L4 {
            src,
            src_mask,
            dst,
            dst_mask,
            ..
        } => set_l4_ports(d, src, src_mask, dst, dst_mask),
        SetAction::Icmp {
            v6,
            icmp_type,
            code,
        } => {
            let want = if v6 { IPPROTO_ICMPV6 } else { IPPROTO_ICMP };
            let Some((proto, l4, end)) = l4_header(d) else {
                return false;
            };
            // ICMP_HEADER_LEN: type, code, checksum and 4 more bytes.
            if proto != want || end < l4 + 8 {
                return false;
            }
            let old = rd16(d, l4);
            let new = u16::from_be_bytes([icmp_type, code]);
            if old != new {
                wr16(d, l4, new);
                let c = csum_update16(rd16(d, l4 + 2), old, new);
                wr16(d, l4 + 2, c);
            }
            true
        }
        SetAction::Nd {
            target,
            target_mask,
            sll,
            sll_mask,
            tll,
            tll_mask,
        } => set_nd(d, (target, target_mask), (sll, sll_mask), (tll, tll_mask)),
        SetAction::Arp {
            op,
            op_mask,
            sip,
            sip_mask,
            tip,
            tip_mask,
            sha,
            sha_mask,
            tha,
            tha_mask,
        } => {
            let Some((crate::extract::ETH_TYPE_ARP, l3)) = l3_offset(d) else {
                return false;
            };
            // Ethernet/IPv4 ARP only, as the key extraction.
            if d.len() < l3 + 28
                || rd16(d, l3) != 1
                || rd16(d, l3 + 2) != ETH_TYPE_IP
                || d[l3 + 4] != 6
                || d[l3 + 5] != 4
            {
                return false;
            }
            wr16(d, l3 + 6, masked(rd16(d, l3 + 6), op, op_mask));
            for i in 0..6 {
                d[l3 + 8 + i] = masked(d[l3 + 8 + i], sha[i], sha_mask[i]);
                d[l3 + 18 + i] = masked(d[l3 + 18 + i], tha[i], tha_mask[i]);
            }
            for (at, v, m) in [(l3 + 14, sip, sip_mask), (l3 + 24, tip, tip_mask)] {
                let old = u32::from_be_bytes([d[at], d[at + 1], d[at + 2], d[at + 3]]);
                d[at..at + 4].copy_from_slice(&masked(old, v, m).to_be_bytes());
            }
            true
        }
    }
}

/// Where an IPv6 packet's L4 header is, as found past its extension headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv6L4 {
    /// The protocol of the header after the extension headers.
    pub proto: u8,
    /// Offset of that header in the frame.
    pub l4: usize,
    /// End of the IPv6 payload in the frame (payload length, bounded by the frame).
    pub end: usize,
    /// A fragment header with a nonzero offset: there is no L4 header.
    pub later_fragment: bool,
    /// A routing header with segments left > 0 was crossed (the destination
    /// address is not the one the L4 pseudo-header holds).
    pub routing_segments_left: bool,
}

/// Walks the IPv6 extension headers of the packet whose IPv6 header is at
/// `l3`: hop-by-hop (0), routing (43), destination options (60), AH (51) and
/// fragment (44), the set OVS walks. Stops at a later fragment. `None` when
/// the fixed header or an extension header is cut short (then, as in flow
/// extraction, the packet has no L4 header to update).
pub fn ipv6_l4(d: &[u8], l3: usize) -> Option<Ipv6L4> {
    if d.len() < l3 + 40 {
        return None;
    }
    let end = (l3 + 40 + rd16(d, l3 + 4) as usize).min(d.len());
    let mut w = Ipv6L4 {
        proto: d[l3 + 6],
        l4: l3 + 40,
        end,
        later_fragment: false,
        routing_segments_left: false,
    };
    loop {
        let at = w.l4;
        if !matches!(w.proto, 0 | 43 | 44 | 51 | 60) {
            return Some(w);
        }
        // Every extension header is at least 8 bytes long.
        if end < at + 8 {
            return None;
        }
        let len = match w.proto {
            51 => (d[at + 1] as usize + 2) * 4,
            44 => {
                if rd16(d, at + 2) & 0xfff8 != 0 {
                    w.later_fragment = true;
                    w.proto = d[at];
                    w.l4 = at + 8;
                    return Some(w);
                }
                8
            }
            43 => {
                w.routing_segments_left |= d[at + 3] != 0;
                (d[at + 1] as usize + 1) * 8
            }
            _ => (d[at + 1] as usize + 1) * 8,
        };
        if end < at + len {
            return None;
        }
        w.proto = d[at];
        w.l4 = at + len;
    }
}

/// (protocol, offset, end of datagram) of the L4 header of an IPv4 or IPv6
/// packet; `None` for later fragments and packets without one.
fn l4_header(d: &[u8]) -> Option<(u8, usize, usize)> {
    let (et, l3) = l3_offset(d)?;
    match et {
        ETH_TYPE_IP if d.len() >= l3 + 20 => {
            let ihl = (d[l3] & 0x0f) as usize * 4;
            if rd16(d, l3 + 6) & 0x1fff != 0 || ihl < 20 {
                return None;
            }
            let tot = (rd16(d, l3 + 2) as usize).min(d.len() - l3);
            Some((d[l3 + 9], l3 + ihl, l3 + tot.max(ihl)))
        }
        ETH_TYPE_IPV6 => match ipv6_l4(d, l3) {
            Some(w) if !w.later_fragment => Some((w.proto, w.l4, w.end)),
            _ => None,
        },
        _ => None,
    }
}

/// Checksum after a 48-bit (MAC address) value changes.
fn csum_update48(csum: u16, old: &[u8; 6], new: &[u8; 6]) -> u16 {
    (0..3).fold(csum, |c, i| {
        let o = u16::from_be_bytes([old[2 * i], old[2 * i + 1]]);
        let n = u16::from_be_bytes([new[2 * i], new[2 * i + 1]]);
        csum_update16(c, o, n)
    })
}

/// `set(nd(...))`, as OVS's `packet_set_nd`: the target of a neighbour
/// solicitation / advertisement, then the first link-layer address option
/// (source or target, length 1) if it is the kind the set writes; the
/// ICMPv6 checksum is updated incrementally.
fn set_nd(
    d: &mut [u8],
    (target, target_mask): (u128, u128),
    (sll, sll_mask): ([u8; 6], [u8; 6]),
    (tll, tll_mask): ([u8; 6], [u8; 6]),
) -> bool {
    let Some((IPPROTO_ICMPV6, l4, end)) = l4_header(d) else {
        return false;
    };
    // Type, code, checksum, flags/reserved, target.
    if end < l4 + 24 || !matches!(d[l4], 135 | 136) || d[l4 + 1] != 0 {
        return false;
    }
    let mut c = rd16(d, l4 + 2);
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[l4 + 8..l4 + 24]);
    let old = u128::from_be_bytes(b);
    let new = masked(old, target, target_mask);
    d[l4 + 8..l4 + 24].copy_from_slice(&new.to_be_bytes());
    c = csum_update128(c, old, new);
    let mut opt = l4 + 24;
    while end >= opt + 8 && d[opt + 1] != 0 {
        let (kind, len) = (d[opt], d[opt + 1]);
        if len == 1 && (kind == 1 || kind == 2) {
            let (v, m) = if kind == 1 {
                (sll, sll_mask)
            } else {
                (tll, tll_mask)
            };
            let mut old = [0u8; 6];
            old.copy_from_slice(&d[opt + 2..opt + 8]);
            let mut new = old;
            for i in 0..6 {
                new[i] = masked(old[i], v[i], m[i]);
            }
            d[opt + 2..opt + 8].copy_from_slice(&new);
            c = csum_update48(c, &old, &new);
            break; // one link-layer address option per message
        }
        opt += len as usize * 8;
    }
    wr16(d, l4 + 2, c);
    true
}

fn set_l4_ports(d: &mut [u8], src: u16, src_mask: u16, dst: u16, dst_mask: u16) -> bool {
    let Some((proto, l4, end)) = l4_header(d) else {
        return false;
    };
    let need = match proto {
        // As OVS (`dp_packet_get_tcp_payload`): the data offset must be sane too.
        IPPROTO_TCP if end >= l4 + 20 => {
            let doff = (d[l4 + 12] >> 4) as usize * 4;
            if doff < 20 {
                return false;
            }
            doff
        }
        IPPROTO_TCP => 20,
        IPPROTO_UDP => 8,
        IPPROTO_SCTP => 12,
        _ => return false,
    };
    if end < l4 + need || d.len() < end {
        return false;
    }
    let os = rd16(d, l4);
    let od = rd16(d, l4 + 2);
    let ns = masked(os, src, src_mask);
    let nd = masked(od, dst, dst_mask);
    if proto == IPPROTO_SCTP {
        // As OVS's packet_set_sctp_port: carry the checksum's error over, so a
        // corrupt packet stays corrupt: stored ^ crc(old) ^ crc(new).
        let mut stored = [0u8; 4];
        stored.copy_from_slice(&d[l4 + 8..l4 + 12]);
        d[l4 + 8..l4 + 12].fill(0);
        let before = crc32c(&d[l4..end]).to_le_bytes();
        wr16(d, l4, ns);
        wr16(d, l4 + 2, nd);
        let after = crc32c(&d[l4..end]).to_le_bytes();
        for i in 0..4 {
            d[l4 + 8 + i] = stored[i] ^ before[i] ^ after[i];
        }
    } else {
        wr16(d, l4, ns);
        wr16(d, l4 + 2, nd);
        fix_l4_pseudo(d, proto, l4, end, |c| {
            csum_update16(csum_update16(c, os, ns), od, nd)
        });
    }
    true
}

/// Pushes a VLAN tag (outermost). Returns false if there is no room.
pub fn push_vlan(p: &mut Packet, tpid: u16, tci: u16) -> bool {
    if p.len() < 14 || !p.insert_gap(12, 4) {
        return false;
    }
    let d = p.data_mut();
    wr16(d, 12, tpid);
    wr16(d, 14, tci & !0x1000);
    true
}

/// Pops the outermost VLAN tag. Returns false if untagged.
pub fn pop_vlan(p: &mut Packet) -> bool {
    let d = p.data();
    if d.len() < 18 {
        return false;
    }
    let t = rd16(d, 12);
    if t != ETH_TYPE_VLAN && t != ETH_TYPE_VLAN_8021AD {
        return false;
    }
    p.remove_gap(12, 4)
}
