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
