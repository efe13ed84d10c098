//! Flow-key extraction against a corpus of packets built with etherparse,
//! including every truncation of each of them.

use datapath::extract::{PacketMeta, extract};
use datapath::key::{FRAG_ANY, FRAG_LATER, FlowKey, VLAN_CFI};
use etherparse::{PacketBuilder, VlanId};

const M1: [u8; 6] = [0x02, 0, 0, 0, 0, 1];
const M2: [u8; 6] = [0x02, 0, 0, 0, 0, 2];
const A1: [u8; 4] = [10, 0, 0, 1];
const A2: [u8; 4] = [10, 0, 0, 2];
const V6A: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const V6B: [u8; 16] = [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

fn meta() -> PacketMeta {
    PacketMeta {
        in_port: 7,
        ..Default::default()
    }
}

fn tcp_syn() -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(M1, M2)
        .ipv4(A1, A2, 64)
        .tcp(1234, 80, 1000, 8192)
        .syn()
        .write(&mut v, &[1, 2, 3])
        .unwrap();
    v
}

fn udp4() -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(M1, M2)
        .ipv4(A1, A2, 17)
        .udp(5353, 9)
        .write(&mut v, &[0; 18])
        .unwrap();
    v
}

fn icmp4() -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(M1, M2)
        .ipv4(A1, A2, 64)
        .icmpv4_echo_request(1, 2)
        .write(&mut v, &[0; 8])
        .unwrap();
    v
}

fn vlan_udp() -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(M1, M2)
        .single_vlan(VlanId::try_new(100).unwrap())
        .ipv4(A1, A2, 64)
        .udp(1, 2)
        .write(&mut v, &[0; 4])
        .unwrap();
    v
}

fn qinq_udp() -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(M1, M2)
        .double_vlan(VlanId::try_new(10).unwrap(), VlanId::try_new(20).unwrap())
        .ipv4(A1, A2, 64)
        .udp(1, 2)
        .write(&mut v, &[0; 4])
        .unwrap();
    v
}

fn udp6() -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2(M1, M2)
        .ipv6(V6A, V6B, 33)
        .udp(1000, 2000)
        .write(&mut v, &[9; 10])
        .unwrap();
    v
}

/// IPv6 with hop-by-hop then a fragment header (offset `frag_off8` in 8-byte units), then UDP.
fn v6_ext(frag_off8: u16) -> Vec<u8> {
    let mut v = vec![];
    v.extend_from_slice(&M2);
    v.extend_from_slice(&M1);
    v.extend_from_slice(&[0x86, 0xdd]);
    let payload: Vec<u8> = {
        let mut p = vec![44, 0, 1, 4, 0, 0, 0, 0]; // hop-by-hop: next=fragment, len 0 (8 bytes), PadN
        p.extend_from_slice(&[17, 0]);
        p.extend_from_slice(&((frag_off8 << 3) | 1).to_be_bytes()); // M flag
        p.extend_from_slice(&[0, 0, 0, 42]);
        p.extend_from_slice(&[0x03, 0xe8, 0x07, 0xd0, 0, 8, 0, 0]); // UDP 1000 -> 2000
        p
    };
    v.extend_from_slice(&[0x60, 0, 0, 0]);
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.extend_from_slice(&[0, 64]); // next = hop-by-hop, hlim 64
    v.extend_from_slice(&V6A);
    v.extend_from_slice(&V6B);
    v.extend_from_slice(&payload);
    v
}

/// Neighbour solicitation for V6B with a source link-layer address option.
fn nd_ns() -> Vec<u8> {
    let mut v = vec![];
    v.extend_from_slice(&[0x33, 0x33, 0xff, 0, 0, 2]);
    v.extend_from_slice(&M1);
    v.extend_from_slice(&[0x86, 0xdd]);
    let mut icmp = vec![135, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&V6B);
    icmp.extend_from_slice(&[1, 1]);
    icmp.extend_from_slice(&M1);
    v.extend_from_slice(&[0x60, 0, 0, 0]);
    v.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    v.extend_from_slice(&[58, 255]);
    v.extend_from_slice(&V6A);
    v.extend_from_slice(&V6B);
    v.extend_from_slice(&icmp);
    v
}

fn arp_request() -> Vec<u8> {
    let mut v = vec![0xff; 6];
    v.extend_from_slice(&M1);
    v.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    v.extend_from_slice(&M1);
    v.extend_from_slice(&A1);
    v.extend_from_slice(&[0; 6]);
    v.extend_from_slice(&A2);
    v
}

fn ip4(a: [u8; 4]) -> u32 {
    u32::from_be_bytes(a)
}

#[test]
fn tcp_syn_fields() {
    let k = extract(&meta(), &tcp_syn());
    assert_eq!(k.in_port(), 7);
    assert_eq!(k.eth_src(), M1);
    assert_eq!(k.eth_dst(), M2);
    assert_eq!(k.eth_type(), 0x0800);
    assert_eq!((k.nw_src(), k.nw_dst()), (ip4(A1), ip4(A2)));
    assert_eq!((k.nw_proto(), k.nw_ttl(), k.nw_frag()), (6, 64, 0));
    assert_eq!((k.tp_src(), k.tp_dst()), (1234, 80));
    assert_eq!(k.tcp_flags(), 0x002);
}

#[test]
fn udp_icmp_fields() {
    let k = extract(&meta(), &udp4());
    assert_eq!(
        (k.nw_proto(), k.tp_src(), k.tp_dst(), k.nw_ttl()),
        (17, 5353, 9, 17)
    );
    let k = extract(&meta(), &icmp4());
    assert_eq!((k.nw_proto(), k.tp_src(), k.tp_dst()), (1, 8, 0));
}

#[test]
fn vlan_tags_are_recorded_with_cfi_marker() {
    let k = extract(&meta(), &vlan_udp());
    assert_eq!(k.vlan0_tpid(), 0x8100);
    assert_eq!(k.vlan0_tci(), 100 | VLAN_CFI);
    assert_eq!(k.vlan1_tci(), 0);
    assert_eq!(k.eth_type(), 0x0800);
    assert_eq!(k.tp_dst(), 2);
    let k = extract(&meta(), &qinq_udp());
    assert_eq!(k.vlan0_tci() & 0xfff, 10);
    assert_eq!(k.vlan1_tci(), 20 | VLAN_CFI);
    assert_eq!(k.eth_type(), 0x0800);
    assert_eq!(k.tp_src(), 1);
}

#[test]
fn ipv6_fields_and_extension_headers() {
    let k = extract(&meta(), &udp6());
    assert_eq!(k.eth_type(), 0x86dd);
    assert_eq!(k.ipv6_src(), u128::from_be_bytes(V6A));
    assert_eq!(k.ipv6_dst(), u128::from_be_bytes(V6B));
    assert_eq!(
        (k.nw_proto(), k.nw_ttl(), k.tp_src(), k.tp_dst()),
        (17, 33, 1000, 2000)
    );
    let k = extract(&meta(), &v6_ext(0));
    assert_eq!((k.nw_proto(), k.nw_frag()), (17, FRAG_ANY));
    assert_eq!((k.tp_src(), k.tp_dst()), (1000, 2000));
    // A later fragment's protocol is the fragment header's (44), as OVS's
    // `parse_ipv6_ext_hdrs__` reports it.
    let k = extract(&meta(), &v6_ext(5));
    assert_eq!((k.nw_proto(), k.nw_frag()), (44, FRAG_ANY | FRAG_LATER));
    assert_eq!(
        (k.tp_src(), k.tp_dst()),
        (0, 0),
        "later fragments have no L4 fields"
    );
}

#[test]
fn ipv4_later_fragment_has_no_ports() {
    let mut f = udp4();
    f[14 + 6] = 0x00;
    f[14 + 7] = 0x10; // offset 16 * 8
    let k = extract(&meta(), &f);
    assert_eq!(k.nw_frag(), FRAG_ANY | FRAG_LATER);
    assert_eq!((k.tp_src(), k.tp_dst(), k.nw_proto()), (0, 0, 17));
}

#[test]
fn neighbour_solicitation_fields() {
    let k = extract(&meta(), &nd_ns());
    assert_eq!((k.nw_proto(), k.tp_src(), k.tp_dst()), (58, 135, 0));
    assert_eq!(k.nd_target(), u128::from_be_bytes(V6B));
    assert_eq!(k.arp_sha_u48(), datapath::key::mac_to_u48(M1));
    assert_eq!(k.arp_tha_u48(), 0);
    // A zero-length first option ends the list: the target stays, no address.
    let mut bad = nd_ns();
    let n = bad.len();
    bad[n - 7] = 0;
    let k = extract(&meta(), &bad);
    assert_eq!(
        (k.nd_target(), k.arp_sha_u48()),
        (u128::from_be_bytes(V6B), 0)
    );
    assert_eq!(k.tp_src(), 135);
}

/// IPv6 frame from `V6A` to `V6B` with next header `next` and `payload`.
fn v6_frame(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = vec![];
    v.extend_from_slice(&M2);
    v.extend_from_slice(&M1);
    v.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
    v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    v.extend_from_slice(&[next, 64]);
    v.extend_from_slice(&V6A);
    v.extend_from_slice(&V6B);
    v.extend_from_slice(payload);
    v
}

/// Neighbour solicitation for `V6B` followed by the option bytes `opts`.
fn ns_with_options(opts: &[u8]) -> Vec<u8> {
    let mut icmp = vec![135, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&V6B);
    icmp.extend_from_slice(opts);
    v6_frame(58, &icmp)
}

/// OVS's `parse_icmpv6` keeps the target and the addresses parsed before a
/// zero-length or overlong option (checked on OVS 3.1: an NS with a valid SLL
/// then a zero-length option gives `nd_target=...,nd_sll=...`).
#[test]
fn malformed_nd_option_keeps_what_was_parsed() {
    let sll = datapath::key::mac_to_u48(M1);
    let tll = datapath::key::mac_to_u48(M2);
    let mut opts = vec![1, 1];
    opts.extend_from_slice(&M1);
    opts.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0, 0]); // zero length
    let k = extract(&meta(), &ns_with_options(&opts));
    assert_eq!(
        (k.nd_target(), k.arp_sha_u48(), k.arp_tha_u48()),
        (u128::from_be_bytes(V6B), sll, 0)
    );
    // An option running past the end of the message: the same.
    let mut opts = vec![2, 1];
    opts.extend_from_slice(&M2);
    opts.extend_from_slice(&[1, 2, 0, 0, 0, 0, 0, 0]); // claims 16 bytes, has 8
    let k = extract(&meta(), &ns_with_options(&opts));
    assert_eq!(
        (k.nd_target(), k.arp_sha_u48(), k.arp_tha_u48()),
        (u128::from_be_bytes(V6B), 0, tll)
    );
    // A second SLL option makes the message invalid: no ND fields at all.
    let mut opts = vec![1, 1];
    opts.extend_from_slice(&M1);
    opts.extend_from_slice(&[2, 1]);
    opts.extend_from_slice(&M2);
    opts.extend_from_slice(&[1, 1]);
    opts.extend_from_slice(&M2);
    let k = extract(&meta(), &ns_with_options(&opts));
    assert_eq!((k.nd_target(), k.arp_sha_u48(), k.arp_tha_u48()), (0, 0, 0));
    assert_eq!((k.nw_proto(), k.tp_src()), (58, 135));
}

/// OVS reads ICMPv6 type and code only from a full 8-byte ICMPv6 header
/// (checked on OVS 3.1: a 4-byte echo request has `icmp_type=0`).
#[test]
fn short_icmpv6_has_no_type_or_code() {
    let k = extract(&meta(), &v6_frame(58, &[128, 0, 0, 0]));
    assert_eq!((k.nw_proto(), k.tp_src(), k.tp_dst()), (58, 0, 0));
    let k = extract(&meta(), &v6_frame(58, &[128, 0, 0, 0, 0, 0, 0]));
    assert_eq!((k.tp_src(), k.tp_dst()), (0, 0));
    let k = extract(&meta(), &v6_frame(58, &[128, 0, 0, 0, 0, 1, 0, 1]));
    assert_eq!((k.tp_src(), k.tp_dst()), (128, 0));
}

/// A fragment header with offset 0 and M=0 (an atomic fragment, RFC 6946) is not
/// a fragment for OVS (`ip6f_offlg == 0`; checked on OVS 3.1: `nw_frag=no`).
#[test]
fn ipv6_atomic_fragment_is_not_a_fragment() {
    let mut p = vec![17, 0, 0, 0, 0, 0, 0, 42]; // fragment header, offset 0, M=0
    p.extend_from_slice(&[0x12, 0x34, 0x07, 0xd0, 0, 8, 0, 0]);
    let k = extract(&meta(), &v6_frame(44, &p));
    assert_eq!((k.nw_proto(), k.nw_frag()), (17, 0));
    assert_eq!((k.tp_src(), k.tp_dst()), (0x1234, 2000));
    // Only the M flag: a first fragment.
    p[3] = 1;
    let k = extract(&meta(), &v6_frame(44, &p));
    assert_eq!((k.nw_proto(), k.nw_frag()), (17, FRAG_ANY));
    assert_eq!(k.tp_src(), 0x1234);
    // A later fragment directly after the fixed header: protocol 44, no ports.
    p[2] = 0x01;
    p[3] = 0x00; // offset 32, M=0: the last fragment
    let k = extract(&meta(), &v6_frame(44, &p));
    assert_eq!((k.nw_proto(), k.nw_frag()), (44, FRAG_ANY | FRAG_LATER));
    assert_eq!((k.tp_src(), k.tp_dst()), (0, 0));
}

/// OVS's `ipv4_sanity_check`/`ipv6_sanity_check` do not look at the version
/// nibble (checked on OVS 3.1: eth_type 0x0800 with version 6 still gives
/// `udp,nw_src=10.0.0.1,...`).
#[test]
fn ip_version_nibble_is_not_checked() {
    let want = extract(&meta(), &udp4());
    let mut f = udp4();
    f[14] = 0x65; // version 6, IHL 5
    let k = extract(&meta(), &f);
    assert_eq!(
        (k.nw_src(), k.nw_dst(), k.nw_proto(), k.tp_src(), k.tp_dst()),
        (ip4(A1), ip4(A2), 17, 5353, 9)
    );
    assert_eq!(k, want);
    let want = extract(&meta(), &udp6());
    let mut f = udp6();
    f[14] = 0x40 | (f[14] & 0x0f); // version 4
    assert_eq!(extract(&meta(), &f), want);
}

#[test]
fn arp_fields() {
    let k = extract(&meta(), &arp_request());
    assert_eq!(k.eth_type(), 0x0806);
    assert_eq!(k.nw_proto(), 1);
    assert_eq!((k.nw_src(), k.nw_dst()), (ip4(A1), ip4(A2)));
    assert_eq!(k.arp_sha_u48(), datapath::key::mac_to_u48(M1));
    let mut bad = arp_request();
    bad[15] = 6; // hardware type 6: not Ethernet
    let k = extract(&meta(), &bad);
    assert_eq!((k.eth_type(), k.nw_proto(), k.nw_src()), (0x0806, 0, 0));
}

#[test]
fn ipv4_bad_lengths_keep_only_ethernet() {
    let mut f = udp4();
    f[14 + 2] = 0x40; // total length larger than the frame
    let k = extract(&meta(), &f);
    assert_eq!(k.eth_type(), 0x0800);
    assert_eq!((k.nw_src(), k.nw_proto()), (0, 0));
    let mut f = udp4();
    f[14] = 0x44; // IHL 4 < 5
    let k = extract(&meta(), &f);
    assert_eq!((k.nw_src(), k.tp_dst()), (0, 0));
}

#[test]
fn ethernet_padding_is_ignored() {
    let mut f = icmp4();
    f.extend_from_slice(&[0xee; 20]);
    assert_eq!(extract(&meta(), &f), extract(&meta(), &icmp4()));
}

#[test]
fn llc_frame_gets_eth_type_none() {
    let mut f = vec![];
    f.extend_from_slice(&M2);
    f.extend_from_slice(&M1);
    f.extend_from_slice(&[0, 20, 0x42, 0x42, 0x03]);
    f.extend_from_slice(&[0; 17]);
    assert_eq!(extract(&meta(), &f).eth_type(), 0x05ff);
}

/// Every layer's fields are either those of the full packet or all zero, for
/// every truncation; nothing panics.
#[test]
fn every_truncation_yields_a_prefix_of_the_fields() {
    let corpus = [
        tcp_syn(),
        udp4(),
        icmp4(),
        vlan_udp(),
        qinq_udp(),
        udp6(),
        v6_ext(0),
        v6_ext(5),
        nd_ns(),
        arp_request(),
    ];
    for full in &corpus {
        let want = extract(&meta(), full);
        for len in 0..full.len() {
            let k = extract(&meta(), &full[..len]);
            assert_eq!(k.in_port(), 7);
            let same_or_zero = |a: u128, b: u128| a == b || a == 0;
            assert!(
                same_or_zero(k.eth_src_u48() as u128, want.eth_src_u48() as u128),
                "len {len}"
            );
            assert!(
                same_or_zero(k.nw_src() as u128, want.nw_src() as u128),
                "len {len}"
            );
            assert!(same_or_zero(k.ipv6_src(), want.ipv6_src()), "len {len}");
            assert!(
                same_or_zero(k.tp_src() as u128, want.tp_src() as u128),
                "len {len}"
            );
            assert!(
                same_or_zero(k.tp_dst() as u128, want.tp_dst() as u128),
                "len {len}"
            );
            assert!(same_or_zero(k.nd_target(), want.nd_target()), "len {len}");
            if len < 14 {
                assert_eq!(k.masked(&FlowKey::default()), FlowKey::default());
                assert_eq!(k.eth_type(), 0);
            }
        }
    }
}

#[test]
fn metadata_is_carried_into_the_key() {
    let m = PacketMeta {
        in_port: 3,
        recirc_id: 9,
        ct_state: 0x21,
        ct_zone: 5,
        ct_mark: 7,
        ct_label: 1 << 100,
        metadata: 0xabc,
        ..Default::default()
    };
    let k = extract(&m, &udp4());
    assert_eq!(
        (
            k.in_port(),
            k.recirc_id(),
            k.ct_state(),
            k.ct_zone(),
            k.ct_mark()
        ),
        (3, 9, 0x21, 5, 7)
    );
    assert_eq!((k.ct_label(), k.metadata()), (1 << 100, 0xabc));
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
        let _ = extract(&meta(), &bytes);
    }

    #[test]
    fn mutated_corpus_never_panics(idx in 0usize..4, pos in 0usize..120, val in proptest::num::u8::ANY) {
        let corpus = [tcp_syn(), udp6(), nd_ns(), v6_ext(0)];
        let mut f = corpus[idx].clone();
        let p = pos % f.len();
        f[p] = val;
        let _ = extract(&meta(), &f);
    }
}
