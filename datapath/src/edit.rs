//! Header rewrites with incremental checksum updates (RFC 1624), VLAN push/pop.
//!
//! Every function re-finds the headers it edits and does nothing when they are
//! absent or truncated: a rewrite never panics and never produces a frame whose
//! checksums were valid before and are invalid after. IPv6 L4 checksums are
//! updated when the L4 header follows the fixed header directly; with extension
//! headers in between only the addresses are rewritten (documented limitation).

use crate::actions::SetAction;
use crate::extract::{
    ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_VLAN, ETH_TYPE_VLAN_8021AD, IPPROTO_ICMPV6, IPPROTO_SCTP,
    IPPROTO_TCP, IPPROTO_UDP,
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

/// Updates the L4 checksum at `l4` for a pseudo-header change `old` → `new`.
fn fix_l4_pseudo(d: &mut [u8], proto: u8, l4: usize, f: impl Fn(u16) -> u16) {
    let Some(at) = l4_csum_at(proto) else { return };
    if d.len() < l4 + at + 2 {
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
                    fix_l4_pseudo(d, proto, l4, |c| csum_update32(c, old, new));
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
            hlimit,
            hlimit_mask,
        } => {
            let Some((ETH_TYPE_IPV6, l3)) = l3_offset(d) else {
                return false;
            };
            if d.len() < l3 + 40 {
                return false;
            }
            let next = d[l3 + 6];
            for (at, v, m) in [(8usize, src, src_mask), (24, dst, dst_mask)] {
                if m == 0 {
                    continue;
                }
                let mut b = [0u8; 16];
                b.copy_from_slice(&d[l3 + at..l3 + at + 16]);
                let old = u128::from_be_bytes(b);
                let new = masked(old, v, m);
                d[l3 + at..l3 + at + 16].copy_from_slice(&new.to_be_bytes());
                fix_l4_pseudo(d, next, l3 + 40, |c| csum_update128(c, old, new));
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

fn set_l4_ports(d: &mut [u8], src: u16, src_mask: u16, dst: u16, dst_mask: u16) -> bool {
    let Some((et, l3)) = l3_offset(d) else {
        return false;
    };
    let (proto, l4) = match et {
        ETH_TYPE_IP if d.len() >= l3 + 20 => {
            let ihl = (d[l3] & 0x0f) as usize * 4;
            if rd16(d, l3 + 6) & 0x1fff != 0 || ihl < 20 {
                return false;
            }
            let tot = (rd16(d, l3 + 2) as usize).min(d.len() - l3);
            (d[l3 + 9], (l3 + ihl, l3 + tot.max(ihl)))
        }
        ETH_TYPE_IPV6 if d.len() >= l3 + 40 => {
            let plen = rd16(d, l3 + 4) as usize;
            (d[l3 + 6], (l3 + 40, (l3 + 40 + plen).min(d.len())))
        }
        _ => return false,
    };
    let (l4, end) = l4;
    let need = match proto {
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
    wr16(d, l4, ns);
    wr16(d, l4 + 2, nd);
    if proto == IPPROTO_SCTP {
        d[l4 + 8..l4 + 12].fill(0);
        let c = crc32c(&d[l4..end]);
        d[l4 + 8..l4 + 12].copy_from_slice(&c.to_le_bytes());
    } else {
        fix_l4_pseudo(d, proto, l4, |c| {
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
