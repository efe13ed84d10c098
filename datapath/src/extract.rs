//! One-pass flow-key extraction from an Ethernet frame.
//!
//! Contract: [`extract`] never panics and never allocates, whatever the bytes.
//! A truncated or malformed header stops parsing at that layer and leaves the
//! fields of that layer and the layers above it zero, like Open vSwitch's
//! `flow_extract`: e.g. an IPv4 header whose total length exceeds the frame
//! yields `eth_type(0x0800)` and no IP fields; an ARP packet with a non-Ethernet
//! hardware type yields no ARP fields; a non-first fragment has no L4 fields.
//!
//! As in OVS, the IP version nibble is not checked (an `eth_type(0x0800)` frame
//! is parsed as IPv4 whatever its first nibble), an IPv6 non-first fragment
//! reports `nw_proto` 44 (the fragment header), and a fragment header with
//! offset 0 and M=0 (an atomic fragment) does not make the packet a fragment.

use crate::key::{FRAG_ANY, FRAG_LATER, FlowKey, VLAN_CFI};

/// Per-packet metadata that is not in the frame: carried into the key.
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct PacketMeta {
    pub in_port: u32,
    pub recirc_id: u32,
    pub dp_hash: u32,
    pub ct_state: u8,
    pub ct_zone: u16,
    pub ct_mark: u32,
    pub ct_label: u128,
    /// Original-direction tuple of the tracked connection (zero when untracked).
    pub ct_nw_proto: u8,
    pub ct_nw_src: u32,
    pub ct_nw_dst: u32,
    pub ct_ipv6_src: u128,
    pub ct_ipv6_dst: u128,
    pub ct_tp_src: u16,
    pub ct_tp_dst: u16,
    /// OpenFlow metadata carried across recirculation.
    pub metadata: u64,
}

pub const ETH_TYPE_IP: u16 = 0x0800;
pub const ETH_TYPE_ARP: u16 = 0x0806;
pub const ETH_TYPE_RARP: u16 = 0x8035;
pub const ETH_TYPE_IPV6: u16 = 0x86dd;
pub const ETH_TYPE_VLAN: u16 = 0x8100;
pub const ETH_TYPE_VLAN_8021AD: u16 = 0x88a8;
/// Open vSwitch's value for "not Ethernet II and not SNAP".
pub const ETH_TYPE_NONE: u16 = 0x05ff;

pub const IPPROTO_ICMP: u8 = 1;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
pub const IPPROTO_ICMPV6: u8 = 58;
/// The IPv6 fragment header: a non-first fragment's `nw_proto`.
pub const IPPROTO_FRAGMENT: u8 = 44;
pub const IPPROTO_SCTP: u8 = 132;

// Field readers: one bounds check per field (callers have checked lengths).
#[inline(always)]
fn be16(d: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(d[at..at + 2].try_into().unwrap_or([0; 2]))
}
#[inline(always)]
fn be32(d: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(d[at..at + 4].try_into().unwrap_or([0; 4]))
}
#[inline(always)]
fn be128(d: &[u8], at: usize) -> u128 {
    u128::from_be_bytes(d[at..at + 16].try_into().unwrap_or([0; 16]))
}
#[inline(always)]
fn mac(d: &[u8], at: usize) -> u64 {
    let b: [u8; 6] = d[at..at + 6].try_into().unwrap_or([0; 6]);
    u64::from_be_bytes([0, 0, b[0], b[1], b[2], b[3], b[4], b[5]])
}

/// Writes the metadata part of the key (words 0..=10; the layout of `key.rs`).
#[inline]
pub fn write_meta(k: &mut FlowKey, m: &PacketMeta) {
    k.w[0] = m.in_port as u64 | (m.recirc_id as u64) << 32;
    k.w[1] = m.dp_hash as u64
        | (m.ct_state as u64) << 32
        | (m.ct_nw_proto as u64) << 40
        | (m.ct_zone as u64) << 48;
    k.w[2] = m.ct_mark as u64 | (m.ct_tp_src as u64) << 32 | (m.ct_tp_dst as u64) << 48;
    k.w[3] = (m.ct_label >> 64) as u64;
    k.w[4] = m.ct_label as u64;
    k.w[5] = m.ct_nw_src as u64 | (m.ct_nw_dst as u64) << 32;
    k.w[6] = (m.ct_ipv6_src >> 64) as u64;
    k.w[7] = m.ct_ipv6_src as u64;
    k.w[8] = (m.ct_ipv6_dst >> 64) as u64;
    k.w[9] = m.ct_ipv6_dst as u64;
    k.w[10] = m.metadata;
}

/// Extracts the flow key of `frame` received with metadata `meta`.
#[inline]
pub fn extract(meta: &PacketMeta, frame: &[u8]) -> FlowKey {
    let mut k = FlowKey::default();
    extract_into(&mut k, meta, frame);
    k
}

/// Like [`extract`], writing into `k` (which may hold anything).
#[inline]
pub fn extract_into(k: &mut FlowKey, meta: &PacketMeta, frame: &[u8]) {
    for w in &mut k.w[11..] {
        *w = 0;
    }
    write_meta(k, meta);
    extract_headers(k, frame);
}

/// Parses the headers of `frame` into `k` (whose header words, 11 and up, must be zero).
pub fn extract_headers(k: &mut FlowKey, frame: &[u8]) {
    if frame.len() < 14 {
        return;
    }
    k.set_eth_dst_u48(mac(frame, 0));
    k.set_eth_src_u48(mac(frame, 6));
    let mut off = 12;
    // Up to two VLAN headers, each needing its 4 bytes plus the next type.
    let mut tags = 0;
    while tags < 2 && frame.len() >= off + 6 {
        let tpid = be16(frame, off);
        if tpid != ETH_TYPE_VLAN && tpid != ETH_TYPE_VLAN_8021AD {
            break;
        }
        let tci = be16(frame, off + 2) | VLAN_CFI;
        if tags == 0 {
            k.set_vlan0_tpid(tpid);
            k.set_vlan0_tci(tci);
        } else {
            k.set_vlan1_tpid(tpid);
            k.set_vlan1_tci(tci);
        }
        tags += 1;
        off += 4;
    }
    let Some((eth_type, l3)) = parse_ethertype(frame, off) else {
        return;
    };
    k.set_eth_type(eth_type);
    let d = &frame[l3..];
    match eth_type {
        ETH_TYPE_IP => parse_ipv4(k, d),
        ETH_TYPE_IPV6 => parse_ipv6(k, d),
        ETH_TYPE_ARP | ETH_TYPE_RARP => parse_arp(k, d),
        _ => {}
    }
}

/// Returns the Ethernet type at `off` and the offset of the L3 header.
fn parse_ethertype(f: &[u8], off: usize) -> Option<(u16, usize)> {
    if f.len() < off + 2 {
        return None;
    }
    let t = be16(f, off);
    let off = off + 2;
    if t >= 0x0600 {
        return Some((t, off));
    }
    // 802.2 LLC: SNAP with a zero OUI carries an Ethernet type.
    if f.len() >= off + 8 && f[off..off + 6] == [0xaa, 0xaa, 0x03, 0, 0, 0] {
        let st = be16(f, off + 6);
        if st >= 0x0600 {
            return Some((st, off + 8));
        }
    }
    Some((ETH_TYPE_NONE, off))
}

fn parse_ipv4(k: &mut FlowKey, d: &[u8]) {
    // No version check: OVS's `ipv4_sanity_check` has none.
    if d.len() < 20 {
        return;
    }
    let ihl = ((d[0] & 0x0f) as usize) * 4;
    let tot = be16(d, 2) as usize;
    if ihl < 20 || d.len() < ihl || tot < ihl || tot > d.len() {
        return;
    }
    let d = &d[..tot]; // drop Ethernet padding
    k.set_nw_src(be32(d, 12));
    k.set_nw_dst(be32(d, 16));
    k.set_nw_tos(d[1]);
    k.set_nw_ttl(d[8]);
    let proto = d[9];
    k.set_nw_proto(proto);
    let frag_off = be16(d, 6);
    if frag_off & 0x3fff != 0 {
        let mut f = FRAG_ANY;
        if frag_off & 0x1fff != 0 {
            f |= FRAG_LATER;
        }
        k.set_nw_frag(f);
        if f & FRAG_LATER != 0 {
            return;
        }
    }
    parse_l4(k, proto, &d[ihl..], false);
}

fn parse_ipv6(k: &mut FlowKey, d: &[u8]) {
    // No version check: OVS's `ipv6_sanity_check` has none.
    if d.len() < 40 {
        return;
    }
    let plen = be16(d, 4) as usize;
    if plen > d.len() - 40 {
        return;
    }
    let d = &d[..40 + plen];
    k.set_ipv6_src(be128(d, 8));
    k.set_ipv6_dst(be128(d, 24));
    let vtcfl = be32(d, 0);
    let mut next = d[6];
    let mut off = 40;
    let mut frag = 0u8;
    // Extension headers: hop-by-hop, routing, destination options, AH, fragment.
    loop {
        match next {
            0 | 43 | 60 => {
                if d.len() < off + 8 {
                    return;
                }
                let nh = d[off];
                let len = (d[off + 1] as usize + 1) * 8;
                if d.len() < off + len {
                    return;
                }
                next = nh;
                off += len;
            }
            51 => {
                if d.len() < off + 8 {
                    return;
                }
                let nh = d[off];
                let len = (d[off + 1] as usize + 2) * 4;
                if d.len() < off + len {
                    return;
                }
                next = nh;
                off += len;
            }
            IPPROTO_FRAGMENT => {
                if d.len() < off + 8 {
                    return;
                }
                let nh = d[off];
                // Offset, reserved bits and M flag: all zero is an atomic fragment,
                // not a fragment.
                let offlg = be16(d, off + 2);
                next = nh;
                off += 8;
                if offlg != 0 {
                    frag = FRAG_ANY;
                    if offlg & 0xfff8 != 0 {
                        // A later fragment: the protocol is the fragment header's.
                        frag |= FRAG_LATER;
                        next = IPPROTO_FRAGMENT;
                        break;
                    }
                }
            }
            _ => break,
        }
    }
    k.set_ipv6_label(vtcfl & 0x000f_ffff);
    k.set_nw_tos((vtcfl >> 20) as u8);
    k.set_nw_ttl(d[7]);
    k.set_nw_proto(next);
    k.set_nw_frag(frag);
    if frag & FRAG_LATER != 0 {
        return;
    }
    parse_l4(k, next, &d[off..], true);
}

fn parse_arp(k: &mut FlowKey, d: &[u8]) {
    if d.len() < 28 {
        return;
    }
    // Ethernet/IPv4 ARP only.
    if be16(d, 0) != 1 || be16(d, 2) != ETH_TYPE_IP || d[4] != 6 || d[5] != 4 {
        return;
    }
    let op = be16(d, 6);
    k.set_nw_proto(if op <= 0xff { op as u8 } else { 0 });
    k.set_arp_sha_u48(mac(d, 8));
    k.set_nw_src(be32(d, 14));
    k.set_arp_tha_u48(mac(d, 18));
    k.set_nw_dst(be32(d, 24));
}

fn parse_l4(k: &mut FlowKey, proto: u8, d: &[u8], v6: bool) {
    match proto {
        IPPROTO_TCP if d.len() >= 20 => {
            let doff = (d[12] >> 4) as usize * 4;
            if doff >= 20 && doff <= d.len() {
                k.set_tp_src(be16(d, 0));
                k.set_tp_dst(be16(d, 2));
                k.set_tcp_flags(be16(d, 12) & 0x0fff);
            }
        }
        IPPROTO_UDP if d.len() >= 8 => {
            k.set_tp_src(be16(d, 0));
            k.set_tp_dst(be16(d, 2));
        }
        IPPROTO_SCTP if d.len() >= 12 => {
            k.set_tp_src(be16(d, 0));
            k.set_tp_dst(be16(d, 2));
        }
        IPPROTO_ICMP if !v6 && d.len() >= 8 => {
            k.set_tp_src(d[0] as u16);
            k.set_tp_dst(d[1] as u16);
        }
        // The 8-byte ICMPv6 header (type, code, checksum, 4 data bytes), as OVS.
        IPPROTO_ICMPV6 if v6 && d.len() >= 8 => {
            k.set_tp_src(d[0] as u16);
            k.set_tp_dst(d[1] as u16);
            if (d[0] == 135 || d[0] == 136) && d[1] == 0 {
                parse_nd(k, d);
            }
        }
        _ => {}
    }
}

/// Neighbour solicitation/advertisement: target and link-layer options.
/// A zero-length or overlong option ends the option list and keeps what was
/// parsed before it; a second source (or target) link-layer address option
/// clears the target and both addresses (OVS's `parse_icmpv6`).
fn parse_nd(k: &mut FlowKey, d: &[u8]) {
    if d.len() < 24 {
        return;
    }
    let target = be128(d, 8);
    let mut sll = 0u64;
    let mut tll = 0u64;
    let mut off = 24;
    while d.len() >= off + 8 {
        let ty = d[off];
        let len = d[off + 1] as usize * 8;
        if len == 0 || d.len() < off + len {
            break;
        }
        if len == 8 {
            if ty == 1 && sll == 0 {
                sll = mac(d, off + 2);
            } else if ty == 2 && tll == 0 {
                tll = mac(d, off + 2);
            } else if ty == 1 || ty == 2 {
                return; // duplicate option: no ND fields
            }
        }
        off += len;
    }
    k.set_nd_target(target);
    k.set_arp_sha_u48(sll);
    k.set_arp_tha_u48(tll);
}
