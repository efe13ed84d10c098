//! Flow-key extraction and header rewrites on arbitrary bytes.
//!
//! Input: one control byte, then the frame. Control bit 0 asks for a "fixup":
//! the IPv4 total length / IPv6 payload length is set to what the frame holds
//! and the IPv4 header and L4 checksums are recomputed, so that mutations deep
//! inside a packet (VLAN tags, IPv6 extension headers, ICMPv6 ND options,
//! ARP) are not all cut short by a length mismatch and the checksum oracle
//! sees valid checksums. Seeds: `seeds/extract/` (`make_seeds.py`).
//!
//! Oracles:
//! - no panic; deterministic; `extract_into` on a key full of garbage equals
//!   `extract` (every header word is rewritten);
//! - frames shorter than 14 bytes have no header fields;
//! - field domains: `nw_frag` ∈ {0, any, any|later}, a VLAN TCI is present
//!   with its CFI marker iff its TPID is, `tcp_flags` fits 12 bits and is only
//!   set for TCP, later fragments have no L4 fields;
//! - an IP packet whose length field fits in the frame has the same key when
//!   bytes are appended (Ethernet padding is ignored);
//! - every truncation has no more header fields than the full frame… for the
//!   fields a truncation can only remove (addresses, ports, ND target);
//! - rewrites (`apply_set`, VLAN push/pop) never panic and keep valid IPv4
//!   header and TCP/UDP/ICMPv6 checksums valid.
//!
//! Run (2026-11-26, loaded 2-core machine): `cargo +nightly fuzz run --dev -s
//! none extract seeds-copy -- -max_total_time=600`: 781,183 executions in
//! 601 s, 795 edges, 190 corpus units, no finding. (The `-O` ASan build did
//! not finish: LLVM's ScalarEvolution spun for >10 CPU-minutes compiling the
//! datapath crate at opt-level 3 — the same stall as the release builds.)
#![no_main]

use datapath::actions::SetAction;
use datapath::edit::{self, csum, l3_offset};
use datapath::extract::{PacketMeta, extract, extract_into};
use datapath::key::{FRAG_ANY, FRAG_LATER, FlowKey, KEY_WORDS, VLAN_CFI};
use datapath::packet::Packet;
use libfuzzer_sys::fuzz_target;

fn rd16(d: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([d[at], d[at + 1]])
}

/// Offset of the L3 header and whether its length field fits in the frame.
fn ip_len_fits(d: &[u8]) -> Option<bool> {
    let (et, l3) = l3_offset(d)?;
    match et {
        0x0800 if d.len() >= l3 + 20 => {
            let tot = rd16(d, l3 + 2) as usize;
            Some(tot <= d.len() - l3)
        }
        0x86dd if d.len() >= l3 + 40 => {
            let plen = rd16(d, l3 + 4) as usize;
            Some(plen <= d.len() - l3 - 40)
        }
        _ => None,
    }
}

/// (L4 protocol, L4 start, L4 end, pseudo-header sum) of an unfragmented IPv4
/// or extension-less IPv6 packet whose L4 segment is complete.
fn l4_segment(d: &[u8]) -> Option<(u8, usize, usize, u32)> {
    let (et, l3) = l3_offset(d)?;
    let sum16 = |b: &[u8]| b.chunks(2).map(|c| rd16(c, 0) as u32).sum::<u32>();
    match et {
        0x0800 if d.len() >= l3 + 20 => {
            let ihl = (d[l3] & 0x0f) as usize * 4;
            let tot = rd16(d, l3 + 2) as usize;
            if d[l3] >> 4 != 4 || ihl < 20 || tot < ihl || tot > d.len() - l3 {
                return None;
            }
            if rd16(d, l3 + 6) & 0x3fff != 0 {
                return None;
            }
            let proto = d[l3 + 9];
            let len = tot - ihl;
            let ph = sum16(&d[l3 + 12..l3 + 20]) + proto as u32 + len as u32;
            Some((proto, l3 + ihl, l3 + tot, ph))
        }
        0x86dd if d.len() >= l3 + 40 => {
            let plen = rd16(d, l3 + 4) as usize;
            if d[l3] >> 4 != 6 || plen > d.len() - l3 - 40 {
                return None;
            }
            let proto = d[l3 + 6];
            let ph = sum16(&d[l3 + 8..l3 + 40]) + proto as u32 + plen as u32;
            Some((proto, l3 + 40, l3 + 40 + plen, ph))
        }
        _ => None,
    }
}

fn csum_field(proto: u8) -> Option<usize> {
    match proto {
        6 => Some(16),
        17 => Some(6),
        58 => Some(2),
        _ => None,
    }
}

/// Some(valid) for a checksummed TCP/UDP/ICMPv6 segment (UDP with a zero
/// checksum field does not count: "no checksum").
fn l4_csum_valid(d: &[u8]) -> Option<bool> {
    let (proto, l4, end, ph) = l4_segment(d)?;
    let at = csum_field(proto)?;
    // A TCP or UDP header cut short is not one OVS (or rvs) updates a
    // checksum in: no promise to keep there.
    let min = match proto {
        6 => 20,
        17 => 8,
        _ => at + 2,
    };
    if end < l4 + min.max(at + 2) || (proto == 17 && rd16(d, l4 + at) == 0) {
        return None;
    }
    if proto == 58 && l3_offset(d)?.0 != 0x86dd {
        return None;
    }
    Some(csum(&d[l4..end], ph) == 0)
}

fn ipv4_hdr_csum_valid(d: &[u8]) -> Option<bool> {
    let (et, l3) = l3_offset(d)?;
    if et != 0x0800 || d.len() < l3 + 20 {
        return None;
    }
    let ihl = (d[l3] & 0x0f) as usize * 4;
    if ihl < 20 || d.len() < l3 + ihl {
        return None;
    }
    Some(csum(&d[l3..l3 + ihl], 0) == 0)
}

/// Makes the length fields agree with the frame and the checksums valid.
fn fixup(d: &mut [u8]) {
    let Some((et, l3)) = l3_offset(d) else { return };
    match et {
        0x0800 if d.len() >= l3 + 20 => {
            let ihl = (d[l3] & 0x0f) as usize * 4;
            let tot = (d.len() - l3).min(0xffff);
            d[l3 + 2..l3 + 4].copy_from_slice(&(tot as u16).to_be_bytes());
            if ihl >= 20 && d.len() >= l3 + ihl {
                d[l3 + 10..l3 + 12].fill(0);
                let c = csum(&d[l3..l3 + ihl], 0);
                d[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
            }
        }
        0x86dd if d.len() >= l3 + 40 => {
            let plen = (d.len() - l3 - 40).min(0xffff);
            d[l3 + 4..l3 + 6].copy_from_slice(&(plen as u16).to_be_bytes());
        }
        _ => return,
    }
    if let Some((proto, l4, end, ph)) = l4_segment(d)
        && let Some(at) = csum_field(proto)
        && end >= l4 + at + 2
    {
        d[l4 + at..l4 + at + 2].fill(0);
        let mut c = csum(&d[l4..end], ph);
        if proto == 17 && c == 0 {
            c = 0xffff;
        }
        d[l4 + at..l4 + at + 2].copy_from_slice(&c.to_be_bytes());
    }
}

fn check_domains(k: &FlowKey, frame: &[u8]) {
    if frame.len() < 14 {
        assert_eq!(k.masked(&FlowKey::default()), FlowKey::default());
        for w in 11..KEY_WORDS {
            assert_eq!(k.w[w], 0, "word {w} set for a {}-byte frame", frame.len());
        }
        return;
    }
    assert!(matches!(k.nw_frag(), 0 | FRAG_ANY | 3), "nw_frag {:#x}", k.nw_frag());
    assert_eq!(k.vlan0_tpid() != 0, k.vlan0_tci() & VLAN_CFI != 0);
    assert_eq!(k.vlan1_tpid() != 0, k.vlan1_tci() & VLAN_CFI != 0);
    assert!(k.vlan1_tpid() == 0 || k.vlan0_tpid() != 0);
    assert!(k.tcp_flags() <= 0x0fff);
    if k.tcp_flags() != 0 {
        assert_eq!(k.nw_proto(), 6);
    }
    if k.nw_frag() & FRAG_LATER != 0 {
        assert_eq!((k.tp_src(), k.tp_dst(), k.tcp_flags()), (0, 0, 0));
    }
    if !matches!(k.eth_type(), 0x0800 | 0x86dd) {
        assert_eq!((k.tp_src(), k.tp_dst(), k.nw_frag(), k.nw_ttl()), (0, 0, 0, 0));
    }
    if k.eth_type() != 0x86dd {
        assert_eq!((k.ipv6_src(), k.ipv6_dst(), k.nd_target()), (0, 0, 0));
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&ctl, rest)) = input.split_first() else { return };
    let mut frame = rest.to_vec();
    if ctl & 1 != 0 {
        fixup(&mut frame);
    }
    let data = frame.as_slice();
    let meta = PacketMeta { in_port: 1, recirc_id: ctl as u32, ..Default::default() };
    let k = extract(&meta, data);
    assert_eq!(k, extract(&meta, data));
    let mut g = FlowKey { w: [0xa5a5_5a5a_0f0f_f0f0; KEY_WORDS] };
    extract_into(&mut g, &meta, data);
    assert_eq!(k, g, "extract_into left stale words");
    check_domains(&k, data);

    // Padding after a complete IP packet does not change its key.
    if ip_len_fits(data) == Some(true) {
        let mut padded = data.to_vec();
        padded.extend_from_slice(&[0xff, 0, 0x86, 0xdd, 0x81, 0, 0x2c, 0x3a]);
        assert_eq!(extract(&meta, &padded), k, "trailing bytes changed the key");
    }

    // Truncations only remove fields (the ones a shorter frame cannot invent).
    let cut = ((ctl >> 1) as usize * 7) % (data.len() + 1);
    let t = extract(&meta, &data[..cut]);
    check_domains(&t, &data[..cut]);
    if l3_offset(data).map(|(et, _)| et) == l3_offset(&data[..cut]).map(|(et, _)| et) {
        let same_or_zero = |a: u128, b: u128| a == b || a == 0;
        assert!(same_or_zero(t.nw_src() as u128, k.nw_src() as u128));
        assert!(same_or_zero(t.ipv6_dst(), k.ipv6_dst()));
        assert!(same_or_zero(t.nd_target(), k.nd_target()));
        assert!(same_or_zero(t.tp_dst() as u128, k.tp_dst() as u128));
    }

    // Rewrites: no panic, valid checksums stay valid.
    let sets = [
        SetAction::Ipv4 { src: 0x0a00_0001, src_mask: u32::MAX, dst: 0xc0a8_0102, dst_mask: 0xff, tos: 4, tos_mask: 0xfc, ttl: 9, ttl_mask: 0xff },
        SetAction::Ipv6 { src: 0x2001_0db8 << 96 | 7, src_mask: u128::MAX, dst: 5, dst_mask: 0xffff, tclass: 0x20, tclass_mask: 0xfc, label: 0x12345, label_mask: 0xf_ffff, hlimit: 1, hlimit_mask: 0xff },
        SetAction::Icmp { v6: false, icmp_type: 3, code: 1 },
        SetAction::Icmp { v6: true, icmp_type: 1, code: 4 },
        SetAction::Nd { target: 0xfe80 << 112 | 9, target_mask: u128::MAX, sll: [2, 0, 0, 0, 0, 7], sll_mask: [0xff; 6], tll: [2, 0, 0, 0, 0, 8], tll_mask: [0xff; 6] },
        SetAction::L4 { proto: 6, src: 0xbeef, src_mask: 0xffff, dst: 2, dst_mask: 0xff00 },
        SetAction::VlanTci { tci: 5, mask: 0xffff },
        SetAction::Eth { src: [2, 0, 0, 0, 0, 9], src_mask: [0xff; 6], dst: [0; 6], dst_mask: [0, 0, 0, 0, 0, 0xff] },
    ];
    let mut p = Packet::from_bytes(data);
    for s in &sets {
        let ip_ok = ipv4_hdr_csum_valid(p.data());
        let l4_ok = l4_csum_valid(p.data());
        edit::apply_set(&mut p, s);
        if ip_ok == Some(true) {
            assert_eq!(ipv4_hdr_csum_valid(p.data()), Some(true), "{s:?} broke the IPv4 checksum");
        }
        if l4_ok == Some(true) {
            assert_eq!(l4_csum_valid(p.data()), Some(true), "{s:?} broke the L4 checksum");
        }
    }
    let before = p.data().to_vec();
    if edit::push_vlan(&mut p, 0x8100, 7) {
        assert_eq!(p.len(), before.len() + 4);
        let kv = extract(&meta, p.data());
        assert_eq!(kv.vlan0_tci(), 7 | VLAN_CFI);
        assert!(edit::pop_vlan(&mut p));
        assert_eq!(p.data(), &before[..]);
    }
    let _ = extract(&meta, p.data());
});
