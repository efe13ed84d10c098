//! Header rewrites: the incrementally updated packet must equal the packet
//! built from scratch (by etherparse) with the new values, checksums included.

use datapath::actions::SetAction;
use datapath::edit::{apply_set, csum, pop_vlan, push_vlan};
use datapath::packet::Packet;
use etherparse::{PacketBuilder, VlanId};

const M1: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const M2: [u8; 6] = [0x02, 0, 0, 0, 0, 2];

fn tcp4(src: [u8; 4], dst: [u8; 4], ttl: u8, sp: u16, dp: u16) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(M1, M2)
        .ipv4(src, dst, ttl)
        .tcp(sp, dp, 77, 1024)
        .ack(5)
        .write(&mut v, b"hello")
        .unwrap();
    v
}

fn udp4(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(M1, M2)
        .ipv4(src, dst, 64)
        .udp(sp, dp)
        .write(&mut v, b"payload!")
        .unwrap();
    v
}

fn udp6(src: [u8; 16], dst: [u8; 16], hl: u8) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(M1, M2)
        .ipv6(src, dst, hl)
        .udp(1, 2)
        .write(&mut v, b"x")
        .unwrap();
    v
}

fn ipv4_set(src: Option<u32>, dst: Option<u32>, ttl: Option<u8>) -> SetAction {
    SetAction::Ipv4 {
        src: src.unwrap_or(0),
        src_mask: if src.is_some() { u32::MAX } else { 0 },
        dst: dst.unwrap_or(0),
        dst_mask: if dst.is_some() { u32::MAX } else { 0 },
        tos: 0,
        tos_mask: 0,
        ttl: ttl.unwrap_or(0),
        ttl_mask: if ttl.is_some() { 0xff } else { 0 },
    }
}

fn ip(a: [u8; 4]) -> u32 {
    u32::from_be_bytes(a)
}

#[test]
fn ipv4_address_and_ttl_rewrite_matches_fresh_packet() {
    let mut p = Packet::from_bytes(&tcp4([10, 0, 0, 1], [10, 0, 0, 2], 64, 1000, 80));
    assert!(apply_set(
        &mut p,
        &ipv4_set(
            Some(ip([192, 168, 7, 9])),
            Some(ip([172, 16, 0, 200])),
            Some(63)
        )
    ));
    assert_eq!(
        p.data(),
        &tcp4([192, 168, 7, 9], [172, 16, 0, 200], 63, 1000, 80)[..]
    );
    // Full recomputation agrees too: the IPv4 header sums to zero.
    assert_eq!(csum(&p.data()[14..34], 0), 0);
}

#[test]
fn masked_ipv4_rewrite_keeps_unmasked_bits() {
    let mut p = Packet::from_bytes(&udp4([10, 0, 0, 77], [10, 0, 0, 2], 5, 6));
    let s = SetAction::Ipv4 {
        src: ip([192, 168, 1, 0]),
        src_mask: 0xffff_ff00,
        dst: 0,
        dst_mask: 0,
        tos: 0,
        tos_mask: 0,
        ttl: 0,
        ttl_mask: 0,
    };
    assert!(apply_set(&mut p, &s));
    assert_eq!(p.data(), &udp4([192, 168, 1, 77], [10, 0, 0, 2], 5, 6)[..]);
}

#[test]
fn l4_port_rewrite_matches_fresh_packet() {
    let mut p = Packet::from_bytes(&udp4([10, 0, 0, 1], [10, 0, 0, 2], 5000, 53));
    let s = SetAction::L4 {
        proto: 17,
        src: 40000,
        src_mask: 0xffff,
        dst: 5353,
        dst_mask: 0xffff,
    };
    assert!(apply_set(&mut p, &s));
    assert_eq!(
        p.data(),
        &udp4([10, 0, 0, 1], [10, 0, 0, 2], 40000, 5353)[..]
    );
    let mut p = Packet::from_bytes(&tcp4([10, 0, 0, 1], [10, 0, 0, 2], 64, 1000, 80));
    let s = SetAction::L4 {
        proto: 6,
        src: 0,
        src_mask: 0,
        dst: 8080,
        dst_mask: 0xffff,
    };
    assert!(apply_set(&mut p, &s));
    assert_eq!(
        p.data(),
        &tcp4([10, 0, 0, 1], [10, 0, 0, 2], 64, 1000, 8080)[..]
    );
}

#[test]
fn udp_without_checksum_keeps_zero_checksum() {
    let mut f = udp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2);
    f[14 + 20 + 6] = 0;
    f[14 + 20 + 7] = 0;
    let mut p = Packet::from_bytes(&f);
    assert!(apply_set(
        &mut p,
        &ipv4_set(Some(ip([1, 2, 3, 4])), None, None)
    ));
    assert_eq!(&p.data()[40..42], &[0, 0]);
    assert_eq!(csum(&p.data()[14..34], 0), 0);
}

#[test]
fn ipv6_address_rewrite_matches_fresh_packet() {
    let a = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    let b = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
    let c = [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xab, 0xcd, 0, 9];
    let mut p = Packet::from_bytes(&udp6(a, b, 64));
    let s = SetAction::Ipv6 {
        src: 0,
        src_mask: 0,
        dst: u128::from_be_bytes(c),
        dst_mask: u128::MAX,
        tclass: 0,
        tclass_mask: 0,
        label: 0,
        label_mask: 0,
        hlimit: 63,
        hlimit_mask: 0xff,
    };
    assert!(apply_set(&mut p, &s));
    assert_eq!(p.data(), &udp6(a, c, 63)[..]);
}

#[test]
fn ethernet_rewrite() {
    let mut p = Packet::from_bytes(&udp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2));
    let s = SetAction::Eth {
        src: [9; 6],
        src_mask: [0xff; 6],
        dst: [0; 6],
        dst_mask: [0; 6],
    };
    assert!(apply_set(&mut p, &s));
    assert_eq!(&p.data()[..12], &[2, 0, 0, 0, 0, 2, 9, 9, 9, 9, 9, 9]);
}

#[test]
fn vlan_push_pop_and_set() {
    let plain = udp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2);
    let mut tagged = Vec::new();
    PacketBuilder::ethernet2(M1, M2)
        .single_vlan(VlanId::try_new(42).unwrap())
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(1, 2)
        .write(&mut tagged, b"payload!")
        .unwrap();
    let mut p = Packet::from_bytes(&plain);
    assert!(push_vlan(&mut p, 0x8100, 42 | 0x1000));
    assert_eq!(p.data(), &tagged[..]);
    assert!(apply_set(
        &mut p,
        &SetAction::VlanTci {
            tci: 7 | (5 << 13),
            mask: 0xffff
        }
    ));
    assert_eq!(&p.data()[14..16], &(7u16 | (5 << 13)).to_be_bytes());
    assert!(pop_vlan(&mut p));
    assert_eq!(p.data(), &plain[..]);
    assert!(!pop_vlan(&mut p), "untagged: nothing to pop");
}

#[test]
fn rewrites_on_truncated_frames_do_nothing_and_never_panic() {
    let full = tcp4([10, 0, 0, 1], [10, 0, 0, 2], 64, 1000, 80);
    let sets = [
        ipv4_set(Some(1), Some(2), Some(3)),
        SetAction::L4 {
            proto: 6,
            src: 1,
            src_mask: 0xffff,
            dst: 2,
            dst_mask: 0xffff,
        },
        SetAction::Ipv6 {
            src: 1,
            src_mask: u128::MAX,
            dst: 0,
            dst_mask: 0,
            tclass: 0,
            tclass_mask: 0,
            label: 0,
            label_mask: 0,
            hlimit: 0,
            hlimit_mask: 0,
        },
        SetAction::VlanTci {
            tci: 1,
            mask: 0xfff,
        },
    ];
    for len in 0..full.len() {
        for s in &sets {
            let mut p = Packet::from_bytes(&full[..len]);
            apply_set(&mut p, s);
            pop_vlan(&mut p);
        }
    }
}

fn arp_request(sha: [u8; 6], spa: [u8; 4], tpa: [u8; 4]) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&[0xff; 6]);
    v.extend_from_slice(&sha);
    v.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    v.extend_from_slice(&sha);
    v.extend_from_slice(&spa);
    v.extend_from_slice(&[0; 6]);
    v.extend_from_slice(&tpa);
    v
}

#[test]
fn set_arp_rewrites_opcode_addresses_under_masks() {
    let mut p = Packet::from_bytes(&arp_request(M1, [10, 1, 1, 1], [10, 1, 1, 240]));
    let s = SetAction::Arp {
        op: 2,
        op_mask: 0xffff,
        sip: ip([10, 1, 1, 240]),
        sip_mask: u32::MAX,
        tip: ip([10, 1, 1, 1]),
        tip_mask: u32::MAX,
        sha: M2,
        sha_mask: [0xff; 6],
        tha: M1,
        tha_mask: [0xff; 6],
    };
    assert!(apply_set(&mut p, &s));
    let mut want = arp_request(M2, [10, 1, 1, 240], [10, 1, 1, 1]);
    want[0..6].copy_from_slice(&[0xff; 6]);
    want[6..12].copy_from_slice(&M1);
    want[21] = 2;
    want[32..38].copy_from_slice(&M1);
    assert_eq!(p.data(), &want[..]);
    assert_eq!(
        s.to_string(),
        "set(arp(sip=10.1.1.240,tip=10.1.1.1,op=2,sha=02:00:00:00:00:02,tha=02:00:00:00:00:01))"
    );
    // Not ARP, or truncated ARP: nothing is written.
    let mut u = Packet::from_bytes(&udp4([1, 2, 3, 4], [5, 6, 7, 8], 1, 2));
    let before = u.data().to_vec();
    assert!(!apply_set(&mut u, &s));
    assert_eq!(u.data(), &before[..]);
    let mut t = Packet::from_bytes(&arp_request(M1, [10, 1, 1, 1], [10, 1, 1, 240])[..30]);
    assert!(!apply_set(&mut t, &s));
}

/// Every masked field of a set action prints absent with an empty mask,
/// `name=value` with a full one and `name=value/mask` otherwise (pins the
/// printed form of each field kind).
#[test]
fn set_action_masks_print_as_ovs() {
    let mac = |b: u8| [0x02, 0, 0, 0, 0, b];
    let cases: Vec<SetAction> = vec![
        SetAction::Eth {
            src: mac(1),
            src_mask: [0xff; 6],
            dst: mac(2),
            dst_mask: [0xff, 0xff, 0xff, 0, 0, 0],
        },
        SetAction::Eth {
            src: mac(1),
            src_mask: [0; 6],
            dst: mac(2),
            dst_mask: [0xff; 6],
        },
        SetAction::VlanTci {
            tci: 0x6005,
            mask: 0xffff,
        },
        SetAction::Ipv4 {
            src: 0x0a00_0001,
            src_mask: u32::MAX,
            dst: 0x0a00_0002,
            dst_mask: 0xffff_ff00,
            tos: 0x10,
            tos_mask: 0xfc,
            ttl: 9,
            ttl_mask: 0xff,
        },
        SetAction::Ipv4 {
            src: 1,
            src_mask: 0,
            dst: 2,
            dst_mask: 0,
            tos: 0x10,
            tos_mask: 0xff,
            ttl: 9,
            ttl_mask: 0x0f,
        },
        SetAction::Ipv6 {
            src: 1,
            src_mask: u128::MAX,
            dst: 2,
            dst_mask: u128::MAX << 64,
            tclass: 0,
            tclass_mask: 0,
            label: 0,
            label_mask: 0,
            hlimit: 7,
            hlimit_mask: 0xff,
        },
        SetAction::Arp {
            op: 2,
            op_mask: 0xffff,
            sip: 0x0a01_01f0,
            sip_mask: 0xffff_0000,
            tip: 0x0a01_0101,
            tip_mask: u32::MAX,
            sha: mac(2),
            sha_mask: [0xff; 6],
            tha: mac(1),
            tha_mask: [0xff, 0, 0, 0, 0, 0],
        },
        SetAction::Arp {
            op: 1,
            op_mask: 0x00ff,
            sip: 0,
            sip_mask: 0,
            tip: 0,
            tip_mask: 0,
            sha: mac(2),
            sha_mask: [0; 6],
            tha: mac(1),
            tha_mask: [0; 6],
        },
        SetAction::L4 {
            proto: 6,
            src: 80,
            src_mask: 0xffff,
            dst: 443,
            dst_mask: 0xff00,
        },
        SetAction::L4 {
            proto: 17,
            src: 80,
            src_mask: 0,
            dst: 53,
            dst_mask: 0xffff,
        },
    ];
    let got: Vec<String> = cases.iter().map(|c| c.to_string()).collect();
    let want = [
        "set(eth(src=02:00:00:00:00:01,dst=02:00:00:00:00:02/ff:ff:ff:00:00:00))",
        "set(eth(dst=02:00:00:00:00:02))",
        "set(vlan(vid=5,pcp=3))",
        "set(ipv4(src=10.0.0.1,dst=10.0.0.2/255.255.255.0,tos=0x10/0xfc,ttl=9))",
        "set(ipv4(tos=0x10,ttl=9/0xf))",
        "set(ipv6(src=::1,dst=::2/ffff:ffff:ffff:ffff::,hlimit=7))",
        "set(arp(sip=10.1.1.240/255.255.0.0,tip=10.1.1.1,op=2,sha=02:00:00:00:00:02,tha=02:00:00:00:00:01/ff:00:00:00:00:00))",
        "set(arp(op=1/0xff))",
        "set(tcp(src=80,dst=443/0xff00))",
        "set(udp(dst=53))",
    ];
    assert_eq!(got, want);
}

// ---- L4 headers behind IPv6 extension headers, checksums checked from scratch ----

/// One's-complement sum of 16-bit words (odd tail padded), not folded to a checksum.
fn ones_sum(mut acc: u32, d: &[u8]) -> u32 {
    for c in d.chunks(2) {
        let w = if c.len() == 2 {
            u16::from_be_bytes([c[0], c[1]])
        } else {
            u16::from(c[0]) << 8
        };
        acc += u32::from(w);
        acc = (acc & 0xffff) + (acc >> 16);
    }
    acc
}

/// Whether the L4 segment `l4` (checksum included) verifies over the IPv6
/// pseudo-header `src`, `dst`, `proto` (RFC 8200 section 8.1).
fn l4_csum_ok6(src: &[u8], dst: &[u8], proto: u8, l4: &[u8]) -> bool {
    let mut acc = ones_sum(0, src);
    acc = ones_sum(acc, dst);
    acc = ones_sum(acc, &(l4.len() as u32).to_be_bytes());
    acc = ones_sum(acc, &[0, 0, 0, proto]);
    acc = ones_sum(acc, l4);
    acc == 0xffff
}

/// Fills in the checksum at `at` of the L4 segment `l4` for that pseudo-header.
fn put_csum6(src: &[u8], dst: &[u8], proto: u8, l4: &mut [u8], at: usize) {
    l4[at..at + 2].fill(0);
    let mut acc = ones_sum(0, src);
    acc = ones_sum(acc, dst);
    acc = ones_sum(acc, &(l4.len() as u32).to_be_bytes());
    acc = ones_sum(acc, &[0, 0, 0, proto]);
    acc = ones_sum(acc, l4);
    let c = !(acc as u16);
    l4[at..at + 2].copy_from_slice(&(if c == 0 && proto == 17 { 0xffff } else { c }).to_be_bytes());
}

const A6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const B6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const C6: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5];

/// Ethernet + IPv6 (`next` after the fixed header) + `ext` + `l4`, then `pad`
/// bytes of Ethernet padding (0xaa) not counted in the payload length.
fn ipv6_frame(
    src: [u8; 16],
    dst: [u8; 16],
    next: u8,
    ext: &[u8],
    l4: &[u8],
    pad: usize,
) -> Vec<u8> {
    let mut v = Vec::new();
    v.extend_from_slice(&M2);
    v.extend_from_slice(&M1);
    v.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
    v.extend_from_slice(&((ext.len() + l4.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[next, 64]);
    v.extend_from_slice(&src);
    v.extend_from_slice(&dst);
    v.extend_from_slice(ext);
    v.extend_from_slice(l4);
    v.extend(std::iter::repeat_n(0xaa, pad));
    v
}

/// A UDP datagram (header + `payload`) with its checksum for `src`/`dst`.
fn udp_seg(src: &[u8], dst: &[u8], sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sp.to_be_bytes());
    u.extend_from_slice(&dp.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    put_csum6(src, dst, 17, &mut u, 6);
    u
}

/// A TCP segment (20-byte header, ACK) with its checksum for `src`/`dst`.
fn tcp_seg(src: &[u8], dst: &[u8], sp: u16, dp: u16, payload: &[u8]) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sp.to_be_bytes());
    t.extend_from_slice(&dp.to_be_bytes());
    t.extend_from_slice(&[0, 0, 0, 7, 0, 0, 0, 9, 0x50, 0x10, 0x04, 0x00, 0, 0, 0, 0]);
    t.extend_from_slice(payload);
    put_csum6(src, dst, 6, &mut t, 16);
    t
}

fn ipv6_set(src: Option<[u8; 16]>, dst: Option<[u8; 16]>) -> SetAction {
    SetAction::Ipv6 {
        src: src.map_or(0, u128::from_be_bytes),
        src_mask: if src.is_some() { u128::MAX } else { 0 },
        dst: dst.map_or(0, u128::from_be_bytes),
        dst_mask: if dst.is_some() { u128::MAX } else { 0 },
        tclass: 0,
        tclass_mask: 0,
        label: 0,
        label_mask: 0,
        hlimit: 0,
        hlimit_mask: 0,
    }
}

/// Hop-by-hop (8 bytes, PadN), then `next`.
fn hbh(next: u8) -> Vec<u8> {
    vec![next, 0, 1, 4, 0, 0, 0, 0]
}

/// Fragment header: `next`, offset in 8-byte units, more-fragments flag.
fn frag(next: u8, off: u16, more: bool) -> Vec<u8> {
    let ol = (off << 3) | u16::from(more);
    let mut v = vec![next, 0];
    v.extend_from_slice(&ol.to_be_bytes());
    v.extend_from_slice(&[0, 0, 0x12, 0x34]);
    v
}

#[test]
fn ipv6_address_rewrite_fixes_l4_checksum_behind_extension_headers() {
    // Hop-by-hop, destination options (16 bytes) and AH (12 bytes: len 1) before UDP / TCP.
    let dstopt = vec![51, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    let ah = vec![6, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
    let mut chain = hbh(60);
    chain.extend_from_slice(&dstopt);
    chain.extend_from_slice(&ah);
    let cases = [
        (0u8, hbh(17), 17u8, udp_seg(&A6, &B6, 1000, 53, b"query")),
        (0, chain, 6, tcp_seg(&A6, &B6, 1000, 80, b"GET /")),
    ];
    for (next, ext, proto, l4) in cases {
        let f = ipv6_frame(A6, B6, next, &ext, &l4, 0);
        let l4_at = 14 + 40 + ext.len();
        for (s, want_src, want_dst) in [
            (ipv6_set(Some(C6), None), C6, B6),
            (ipv6_set(None, Some(C6)), A6, C6),
            (ipv6_set(Some(B6), Some(A6)), B6, A6),
        ] {
            let mut p = Packet::from_bytes(&f);
            assert!(apply_set(&mut p, &s));
            let d = p.data();
            assert_eq!(&d[22..38], &want_src);
            assert_eq!(&d[38..54], &want_dst);
            assert!(
                l4_csum_ok6(&want_src, &want_dst, proto, &d[l4_at..]),
                "proto {proto} after {s}"
            );
        }
    }
}

#[test]
fn ipv6_address_rewrite_on_first_fragment_fixes_checksum_of_whole_datagram() {
    let payload = [0x5au8; 40];
    let whole = udp_seg(&A6, &B6, 1000, 53, &payload);
    // First fragment: UDP header + 16 bytes; the rest travels in a later fragment.
    let first = ipv6_frame(A6, B6, 44, &frag(17, 0, true), &whole[..24], 0);
    let mut p = Packet::from_bytes(&first);
    assert!(apply_set(&mut p, &ipv6_set(Some(C6), None)));
    let mut reassembled = p.data()[14 + 48..].to_vec();
    reassembled.extend_from_slice(&whole[24..]);
    assert!(l4_csum_ok6(&C6, &B6, 17, &reassembled));

    // A later fragment has no UDP header: only the address changes.
    let later = ipv6_frame(A6, B6, 44, &frag(17, 3, false), &whole[24..], 0);
    let mut p = Packet::from_bytes(&later);
    assert!(apply_set(&mut p, &ipv6_set(Some(C6), None)));
    assert_eq!(&p.data()[22..38], &C6);
    assert_eq!(&p.data()[38..], &later[38..]);
}

#[test]
fn ipv6_dst_rewrite_with_routing_segments_left_keeps_l4_checksum() {
    // Type 0-style routing header, 1 segment left, final destination C6: the
    // pseudo-header holds C6, so a new IPv6 dst does not change the checksum.
    let mut rh = vec![17, 2, 0, 1, 0, 0, 0, 0];
    rh.extend_from_slice(&C6);
    let l4 = udp_seg(&A6, &C6, 1000, 53, b"xy");
    let f = ipv6_frame(A6, B6, 43, &rh, &l4, 0);
    let l4_at = 14 + 40 + rh.len();
    let mut p = Packet::from_bytes(&f);
    assert!(apply_set(&mut p, &ipv6_set(None, Some(A6))));
    assert_eq!(&p.data()[38..54], &A6);
    assert_eq!(&p.data()[l4_at..], &l4[..]);
    // The source is in the pseudo-header: its change is folded in.
    let mut p = Packet::from_bytes(&f);
    assert!(apply_set(&mut p, &ipv6_set(Some(B6), None)));
    assert!(l4_csum_ok6(&B6, &C6, 17, &p.data()[l4_at..]));
}

fn l4_set(proto: u8, src: Option<u16>, dst: Option<u16>) -> SetAction {
    SetAction::L4 {
        proto,
        src: src.unwrap_or(0),
        src_mask: if src.is_some() { 0xffff } else { 0 },
        dst: dst.unwrap_or(0),
        dst_mask: if dst.is_some() { 0xffff } else { 0 },
    }
}

#[test]
fn l4_port_rewrite_behind_ipv6_extension_headers() {
    for (proto, l4, want) in [
        (
            17u8,
            udp_seg(&A6, &B6, 5000, 53, b"q"),
            udp_seg(&A6, &B6, 5000, 5353, b"q"),
        ),
        (
            6,
            tcp_seg(&A6, &B6, 1000, 80, b"GET"),
            tcp_seg(&A6, &B6, 1000, 5353, b"GET"),
        ),
    ] {
        let mut p = Packet::from_bytes(&ipv6_frame(A6, B6, 0, &hbh(proto), &l4, 0));
        assert!(apply_set(&mut p, &l4_set(proto, None, Some(5353))));
        assert_eq!(p.data(), &ipv6_frame(A6, B6, 0, &hbh(proto), &want, 0)[..]);
    }
    // First fragment: ports rewritten, checksum right for the whole datagram.
    let whole = udp_seg(&A6, &B6, 5000, 53, &[7u8; 30]);
    let first = ipv6_frame(A6, B6, 44, &frag(17, 0, true), &whole[..16], 0);
    let mut p = Packet::from_bytes(&first);
    assert!(apply_set(&mut p, &l4_set(17, Some(1), Some(5353))));
    let mut reassembled = p.data()[14 + 48..].to_vec();
    assert_eq!(&reassembled[..4], &[0, 1, 0x14, 0xe9]);
    reassembled.extend_from_slice(&whole[16..]);
    assert!(l4_csum_ok6(&A6, &B6, 17, &reassembled));
    // Later fragment: nothing to rewrite.
    let later = ipv6_frame(A6, B6, 44, &frag(17, 2, false), &whole[16..], 0);
    let mut p = Packet::from_bytes(&later);
    assert!(!apply_set(&mut p, &l4_set(17, None, Some(5353))));
    assert_eq!(p.data(), &later[..]);
}

#[test]
fn l4_checksum_is_located_within_ip_length_not_in_padding() {
    // IPv4: total length 24 = header + 4 bytes of UDP (ports only); the rest is padding.
    let mut f = udp4([10, 0, 0, 1], [10, 0, 0, 2], 1, 2);
    f.truncate(14 + 24);
    f[16..18].copy_from_slice(&24u16.to_be_bytes());
    f[24..26].fill(0);
    let c = csum(&f[14..34], 0);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&[0xaa; 22]);
    let mut p = Packet::from_bytes(&f);
    assert!(apply_set(
        &mut p,
        &ipv4_set(Some(ip([192, 168, 0, 1])), None, None)
    ));
    assert_eq!(&p.data()[38..], &[0xaa; 22][..]);
    assert_eq!(csum(&p.data()[14..34], 0), 0);
    // IPv6: payload length 4 (UDP ports only), padding after it.
    let udp = udp_seg(&A6, &B6, 1, 2, b"");
    let f = ipv6_frame(A6, B6, 17, &[], &udp[..4], 8);
    let mut p = Packet::from_bytes(&f);
    assert!(apply_set(&mut p, &ipv6_set(Some(C6), None)));
    assert_eq!(&p.data()[58..], &[0xaa; 8][..]);
}

/// CRC32c computed independently: reflected, polynomial 0x1EDC6F41, table-free.
fn crc32c_ref(d: &[u8]) -> u32 {
    let mut c = 0xffff_ffffu32;
    for &b in d {
        for i in 0..8 {
            let bit = (u32::from(b) >> i) & 1;
            let top = c & 1;
            c >>= 1;
            if top ^ bit != 0 {
                c ^= 0x1EDC_6F41u32.reverse_bits();
            }
        }
    }
    !c
}

fn sctp4(sp: u16, dp: u16) -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(&sp.to_be_bytes());
    s.extend_from_slice(&dp.to_be_bytes());
    s.extend_from_slice(&[0, 0, 0, 42, 0, 0, 0, 0]);
    // A DATA chunk.
    s.extend_from_slice(&[0, 3, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]);
    let c = crc32c_ref(&s);
    s[8..12].copy_from_slice(&c.to_le_bytes());
    let mut v = Vec::new();
    v.extend_from_slice(&M2);
    v.extend_from_slice(&M1);
    v.extend_from_slice(&[0x08, 0x00, 0x45, 0]);
    v.extend_from_slice(&((20 + s.len()) as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0, 0x40, 0, 64, 132, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    let c = csum(&v[14..34], 0);
    v[24..26].copy_from_slice(&c.to_be_bytes());
    v.extend_from_slice(&s);
    v
}

#[test]
fn sctp_port_rewrite_updates_crc32c_and_keeps_a_bad_one_bad() {
    assert_eq!(crc32c_ref(b"123456789"), 0xe306_9283);
    let mut p = Packet::from_bytes(&sctp4(5000, 80));
    assert!(apply_set(&mut p, &l4_set(132, Some(6000), None)));
    assert_eq!(p.data(), &sctp4(6000, 80)[..]);
    // A corrupt checksum stays corrupt by the same error (OVS's packet_set_sctp_port).
    let mut bad = sctp4(5000, 80);
    bad[34 + 8] ^= 0x5a;
    let mut p = Packet::from_bytes(&bad);
    assert!(apply_set(&mut p, &l4_set(132, Some(6000), None)));
    let mut want = sctp4(6000, 80);
    want[34 + 8] ^= 0x5a;
    assert_eq!(p.data(), &want[..]);
}

/// `set(ipv6(...))` of a source, traffic class, flow label and hop limit
/// (value, mask) each; no destination.
fn v6x(src: (u128, u128), tc: (u8, u8), label: (u32, u32), hl: (u8, u8)) -> SetAction {
    SetAction::Ipv6 {
        src: src.0,
        src_mask: src.1,
        dst: 0,
        dst_mask: 0,
        tclass: tc.0,
        tclass_mask: tc.1,
        label: label.0,
        label_mask: label.1,
        hlimit: hl.0,
        hlimit_mask: hl.1,
    }
}

#[test]
fn ipv6_tclass_and_label_rewrite_under_masks() {
    let mut f = ipv6_frame(A6, B6, 17, &[], &udp_seg(&A6, &B6, 1, 2, b"z"), 0);
    // Version 6, traffic class 0x03 (ECN bits), flow label 0x12345.
    f[14..18].copy_from_slice(&0x6031_2345u32.to_be_bytes());
    let mut p = Packet::from_bytes(&f);
    assert!(apply_set(
        &mut p,
        &v6x((0, 0), (0x20, 0xfc), (0, 0), (0, 0))
    ));
    assert_eq!(&p.data()[14..18], &0x6231_2345u32.to_be_bytes());
    assert_eq!(&p.data()[18..], &f[18..], "no checksum covers the tclass");
    assert!(apply_set(
        &mut p,
        &v6x((0, 0), (0, 0), (0xabcde, 0xfffff), (0, 0))
    ));
    assert_eq!(&p.data()[14..18], &0x623a_bcdeu32.to_be_bytes());
    assert_eq!(&p.data()[18..], &f[18..]);
    // Masked label bits only.
    assert!(apply_set(
        &mut p,
        &v6x((0, 0), (0, 0), (0x00100, 0x00f00), (0, 0))
    ));
    assert_eq!(&p.data()[14..18], &0x623a_b1deu32.to_be_bytes());
}

#[test]
fn set_and_ct_zero_values_print_as_c_hex() {
    let tos0 = SetAction::Ipv4 {
        src: 0,
        src_mask: 0,
        dst: 0,
        dst_mask: 0,
        tos: 0,
        tos_mask: 0xfc,
        ttl: 0,
        ttl_mask: 0,
    };
    assert_eq!(tos0.to_string(), "set(ipv4(tos=0/0xfc))");
    let v6 = v6x((0, 0), (0x20, 0xfc), (0, 0), (0, 0));
    assert_eq!(v6.to_string(), "set(ipv6(tclass=0x20/0xfc))");
    let all = v6x((1, u128::MAX), (0, 0x03), (0x12345, 0xfffff), (9, 0xff));
    assert_eq!(
        all.to_string(),
        "set(ipv6(src=::1,label=0x12345,tclass=0/0x3,hlimit=9))"
    );
    let part = v6x((1, u128::MAX), (0, 0), (0, 0xff), (8, 0xf));
    assert_eq!(
        part.to_string(),
        "set(ipv6(src=::1,label=0/0xff,hlimit=8/0xf))"
    );

    use datapath::actions::CtAction;
    let ct = CtAction {
        zone: 1,
        commit: true,
        mark: Some((0, u32::MAX)),
        label: Some((1, u128::MAX)),
        ..Default::default()
    };
    assert_eq!(
        ct.to_string(),
        "ct(commit,zone=1,mark=0/0xffffffff,label=0x1)"
    );
    let ct = CtAction {
        mark: Some((0x10, 0xf0)),
        label: Some((0, 0xff00)),
        ..Default::default()
    };
    assert_eq!(ct.to_string(), "ct(mark=0x10/0xf0,label=0/0xff00)");
}

// ---- ND and ICMP rewrites ----

/// An ICMPv6 neighbour solicitation (135) or advertisement (136) for `target`
/// with one link-layer address option (`opt_kind` 1 = source, 2 = target),
/// after an 8-byte unknown option (type 14) that is skipped.
fn nd_frame(kind: u8, target: [u8; 16], opt_kind: u8, lla: [u8; 6]) -> Vec<u8> {
    let mut m = vec![kind, 0, 0, 0, 0x60, 0, 0, 0];
    m.extend_from_slice(&target);
    m.extend_from_slice(&[14, 1, 0, 0, 0, 0, 0, 0]);
    m.extend_from_slice(&[opt_kind, 1]);
    m.extend_from_slice(&lla);
    put_csum6(&A6, &B6, 58, &mut m, 2);
    ipv6_frame(A6, B6, 58, &[], &m, 0)
}

fn nd_set(target: Option<[u8; 16]>, sll: Option<[u8; 6]>, tll: Option<[u8; 6]>) -> SetAction {
    SetAction::Nd {
        target: target.map_or(0, u128::from_be_bytes),
        target_mask: if target.is_some() { u128::MAX } else { 0 },
        sll: sll.unwrap_or([0; 6]),
        sll_mask: if sll.is_some() { [0xff; 6] } else { [0; 6] },
        tll: tll.unwrap_or([0; 6]),
        tll_mask: if tll.is_some() { [0xff; 6] } else { [0; 6] },
    }
}

#[test]
fn nd_and_icmp_rewrites_on_truncated_frames_never_panic() {
    let sets = [
        nd_set(Some(B6), Some(M2), Some(M2)),
        SetAction::Icmp {
            v6: true,
            icmp_type: 1,
            code: 2,
        },
    ];
    for full in [nd_frame(135, C6, 1, M1), nd_frame(136, C6, 2, M1)] {
        for len in 0..full.len() {
            for s in &sets {
                let mut f = full[..len].to_vec();
                // Also with a payload length that claims the whole message.
                let mut p = Packet::from_bytes(&f);
                apply_set(&mut p, s);
                if len > 20 {
                    f[18..20].copy_from_slice(&[0, 0xff]);
                    let mut p = Packet::from_bytes(&f);
                    apply_set(&mut p, s);
                }
            }
        }
    }
}

#[test]
fn nd_target_and_link_layer_address_rewrite_keeps_checksum_valid() {
    // NS with a source LLA option: target and sll rewritten.
    let mut p = Packet::from_bytes(&nd_frame(135, C6, 1, M1));
    assert!(apply_set(&mut p, &nd_set(Some(B6), Some(M2), Some(M2))));
    assert_eq!(p.data(), &nd_frame(135, B6, 1, M2)[..]);
    assert!(l4_csum_ok6(&A6, &B6, 58, &p.data()[54..]));
    // NA with a target LLA option: the sll part of the set finds no option.
    let mut p = Packet::from_bytes(&nd_frame(136, C6, 2, M1));
    assert!(apply_set(&mut p, &nd_set(None, Some(M1), Some(M2))));
    assert_eq!(p.data(), &nd_frame(136, C6, 2, M2)[..]);
    // Not ND (an echo request): nothing written.
    let mut f = nd_frame(128, C6, 1, M1);
    put_csum6(&A6, &B6, 58, &mut f[54..], 2);
    let mut p = Packet::from_bytes(&f);
    assert!(!apply_set(&mut p, &nd_set(Some(B6), None, None)));
    assert_eq!(p.data(), &f[..]);
    assert_eq!(
        nd_set(Some(B6), Some(M2), None).to_string(),
        "set(nd(target=2001:db8::2,sll=02:00:00:00:00:02))"
    );
}

#[test]
fn icmp_type_code_rewrite_keeps_checksum_valid() {
    // ICMPv4 echo request -> destination unreachable / port (3/3).
    let mut v = Vec::new();
    PacketBuilder::ethernet2(M1, M2)
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .icmpv4_echo_request(7, 1)
        .write(&mut v, b"ping")
        .unwrap();
    let s4 = SetAction::Icmp {
        v6: false,
        icmp_type: 3,
        code: 3,
    };
    let mut p = Packet::from_bytes(&v);
    assert!(apply_set(&mut p, &s4));
    assert_eq!(&p.data()[34..36], &[3, 3]);
    assert_eq!(ones_sum(0, &p.data()[34..]), 0xffff);
    assert_eq!(s4.to_string(), "set(icmp(type=3,code=3))");
    // The ICMPv6 set does not touch ICMPv4.
    let s6 = SetAction::Icmp {
        v6: true,
        icmp_type: 129,
        code: 0,
    };
    assert!(!apply_set(&mut p, &s6));
    // ICMPv6 behind a hop-by-hop header.
    let mut m = vec![128, 0, 0, 0, 0, 7, 0, 1, b'p', b'i'];
    put_csum6(&A6, &B6, 58, &mut m, 2);
    let mut p = Packet::from_bytes(&ipv6_frame(A6, B6, 0, &hbh(58), &m, 0));
    assert!(apply_set(&mut p, &s6));
    assert_eq!(&p.data()[62..64], &[129, 0]);
    assert!(l4_csum_ok6(&A6, &B6, 58, &p.data()[62..]));
    assert_eq!(s6.to_string(), "set(icmpv6(type=129,code=0))");
}
