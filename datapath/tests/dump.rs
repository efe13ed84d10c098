//! `dpctl/dump-flows` text, compared with lines printed by Open vSwitch 3.1's
//! userspace datapath (`ovs-appctl dpctl/dump-flows` on the reference kit's
//! ct firewall) for the same megaflows.

use datapath::actions::{CtAction, DpAction};
use datapath::classifier::Megaflow;
use datapath::dump::{format_key, format_megaflow};
use datapath::key::{FlowKey, mac_to_u48};

fn base() -> (FlowKey, FlowKey) {
    let mut k = FlowKey::default();
    let mut m = FlowKey::default();
    m.set_recirc_id(u32::MAX);
    m.set_in_port(u32::MAX);
    m.set_eth_type(u16::MAX);
    k.set_eth_type(0x0800);
    (k, m)
}

#[test]
fn ct_firewall_megaflows_print_like_ovs() {
    let (mut k, mut m) = base();
    k.set_in_port(2);
    m.set_ct_state(0x20);
    m.set_nw_frag(0xff);
    let f = Megaflow::new(
        1,
        &k,
        &m,
        [DpAction::Ct(CtAction::default()), DpAction::Recirc(1)]
            .into_iter()
            .collect(),
    );
    assert_eq!(
        format_megaflow(&f, 10),
        "ct_state(-trk),recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no), packets:0, bytes:0, used:never, actions:ct,recirc(0x1)"
    );
    k.set_recirc_id(1);
    k.set_ct_state(0x21);
    m.set_ct_state(0x21);
    let f = Megaflow::new(
        2,
        &k,
        &m,
        [
            DpAction::Ct(CtAction {
                commit: true,
                ..Default::default()
            }),
            DpAction::Output(3),
        ]
        .into_iter()
        .collect(),
    );
    f.hit(1, 45, 1_000_000, 0);
    assert_eq!(
        format_megaflow(&f, 1_049_000_000),
        "ct_state(+new+trk),recirc_id(0x1),in_port(2),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(frag=no), packets:1, bytes:45, used:1.048s, actions:ct(commit),3"
    );
    k.set_in_port(3);
    k.set_recirc_id(2);
    k.set_ct_state(0x22);
    m.set_ct_state(0x23);
    let f = Megaflow::new(3, &k, &m, std::iter::once(DpAction::Output(2)).collect());
    assert!(
        format_megaflow(&f, 1).starts_with("ct_state(-new+est+trk),recirc_id(0x2),in_port(3),")
    );
}

#[test]
fn arp_and_l4_megaflows_print_like_ovs() {
    let (mut k, mut m) = base();
    k.set_in_port(2);
    k.set_eth_type(0x0806);
    k.set_eth_src_u48(mac_to_u48([0x1a, 0x25, 0, 0xe5, 0xc9, 0xd1]));
    k.set_eth_dst_u48(mac_to_u48([0xff; 6]));
    m.set_eth_src_u48(0xffff_ffff_ffff);
    m.set_eth_dst_u48(0xffff_ffff_ffff);
    k.set_nw_src(0x0a00_0001);
    k.set_nw_dst(0x0a00_0002);
    k.set_nw_proto(1);
    m.set_nw_src(u32::MAX);
    m.set_nw_dst(u32::MAX);
    m.set_nw_proto(0xff);
    m.set_ct_state(0x20);
    let f = Megaflow::new(
        1,
        &k,
        &m,
        [DpAction::Output(1), DpAction::Output(3)]
            .into_iter()
            .collect(),
    );
    assert_eq!(
        format_megaflow(&f, 1),
        "ct_state(-trk),recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth(src=1a:25:00:e5:c9:d1,dst=ff:ff:ff:ff:ff:ff),eth_type(0x0806),arp(sip=10.0.0.1,tip=10.0.0.2,op=1), packets:0, bytes:0, used:never, actions:1,3"
    );
    let (mut k, mut m) = base();
    k.set_nw_proto(6);
    k.set_nw_src(0x0a00_0001);
    k.set_tp_dst(80);
    k.set_tcp_flags(0x12);
    m.set_nw_proto(0xff);
    m.set_nw_frag(0xff);
    m.set_nw_src(0xffff_ff00);
    m.set_tp_dst(0xffff);
    m.set_tcp_flags(0x02);
    let f = Megaflow::new(1, &k, &m, Default::default());
    f.hit(2, 120, 5, 0x12);
    assert_eq!(
        format_megaflow(&f, 5),
        "recirc_id(0),in_port(0),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(src=10.0.0.1/255.255.255.0,proto=6,frag=no),tcp(dst=80),tcp_flags(+syn), packets:2, bytes:120, used:0.000s, flags:S., actions:drop"
    );
}

#[test]
fn vlan_megaflow_prints_encap() {
    let (mut k, mut m) = base();
    k.set_in_port(1);
    k.set_vlan0_tpid(0x8100);
    k.set_vlan0_tci(1000 | (5 << 13) | 0x1000);
    m.set_vlan0_tci(0x1fff);
    m.set_nw_frag(0xff);
    let f = Megaflow::new(1, &k, &m, std::iter::once(DpAction::Output(2)).collect());
    assert_eq!(
        format_megaflow(&f, 1),
        "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x8100),vlan(vid=1000,pcp=5/0x0),encap(eth_type(0x0800),ipv4(frag=no)), packets:0, bytes:0, used:never, actions:2"
    );
}

/// OVS's datapath `ct_state` mask is 32 bits, so a fully masked 8-bit state is
/// not "exact" and prints in the `+/-` form (checked on OVS 3.1 for a rule
/// `ct_state=+trk+new-est-rel-rpl-inv-snat-dnat`; dpif-netdev.at's flow keys
/// show `ct_state(-new-est-rel-rpl-inv-trk-snat-dnat)` for an untracked packet).
#[test]
fn fully_masked_ct_state_prints_plus_minus_form() {
    let (mut k, mut m) = base();
    m.set_ct_state(0xff);
    k.set_ct_state(0x21);
    assert!(
        format_key(&k, &m)
            .starts_with("ct_state(+new-est-rel-rpl-inv+trk-snat-dnat),recirc_id(0),"),
        "{}",
        format_key(&k, &m)
    );
    k.set_ct_state(0x2a);
    assert!(format_key(&k, &m).starts_with("ct_state(-new+est-rel+rpl-inv+trk-snat-dnat),"));
    k.set_ct_state(0);
    assert!(format_key(&k, &m).starts_with("ct_state(-new-est-rel-rpl-inv-trk-snat-dnat),"));
}

/// Hexadecimal key values print as C's `%#x` (zero is `0`). Expected texts:
/// OVS's tests/ofproto.at (a `mod_nw_tos` megaflow) and tests/odp.at (IPv6 keys).
#[test]
fn zero_hex_values_print_as_0() {
    let (mut k, mut m) = base();
    k.set_in_port(1);
    k.set_nw_dst(0xc0a8_010e);
    k.set_nw_proto(1);
    m.set_nw_dst(u32::MAX);
    m.set_nw_proto(0xff);
    m.set_nw_tos(0xfc);
    m.set_nw_frag(0xff);
    assert_eq!(
        format_key(&k, &m),
        "recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(dst=192.168.1.14,proto=1,tos=0/0xfc,frag=no)"
    );
    let (mut k, mut m) = base();
    k.set_eth_type(0x86dd);
    k.set_ipv6_src(1);
    k.set_ipv6_dst(2);
    k.set_nw_proto(6);
    k.set_nw_ttl(128);
    k.set_tp_src(80);
    k.set_tp_dst(8080);
    m.set_ipv6_src(u128::MAX);
    m.set_ipv6_dst(u128::MAX);
    m.set_ipv6_label(0xfffff);
    m.set_nw_proto(0xff);
    m.set_nw_tos(0xff);
    m.set_nw_ttl(0xff);
    m.set_nw_frag(0xff);
    m.set_tp_src(0xffff);
    m.set_tp_dst(0xffff);
    assert!(format_key(&k, &m).ends_with(
        "eth_type(0x86dd),ipv6(src=::1,dst=::2,label=0,proto=6,tclass=0,hlimit=128,frag=no),tcp(src=80,dst=8080)"
    ));
    // Partially masked: odp.at's `label=0/0xf0,...,tclass=0x70/0xf0`.
    k.set_nw_proto(10);
    k.set_nw_tos(0x70);
    m.set_ipv6_src(0x255);
    m.set_ipv6_dst(0x255);
    m.set_ipv6_label(0xf0);
    m.set_nw_proto(0xf0);
    m.set_nw_tos(0xf0);
    m.set_nw_ttl(0xf0);
    m.set_tp_src(0);
    m.set_tp_dst(0);
    assert!(format_key(&k, &m).ends_with(
        "eth_type(0x86dd),ipv6(src=::1/::255,dst=::2/::255,label=0/0xf0,proto=10/0xf0,tclass=0x70/0xf0,hlimit=128/0xf0,frag=no)"
    ));
}

/// `ct_tuple4`/`ct_tuple6` appear only for a tracked packet (`ct_nw_proto` != 0)
/// whose `eth_type` matches the tuple's family (odp-util.c's key export). The
/// `ct_tuple4` text is OVS's tests/odp.at.
#[test]
fn ct_tuple_needs_a_ct_nw_proto_and_the_right_family() {
    let (mut k, mut m) = base();
    k.set_ct_nw_src(0x0a0a_0a0a);
    k.set_ct_nw_dst(0x1414_1414);
    k.set_ct_tp_src(1);
    k.set_ct_tp_dst(2);
    k.set_ct_nw_proto(17);
    m.set_ct_nw_src(u32::MAX);
    m.set_ct_nw_dst(u32::MAX);
    m.set_ct_tp_src(0xffff);
    m.set_ct_tp_dst(0xffff);
    m.set_ct_nw_proto(0xff);
    assert!(format_key(&k, &m).starts_with(
        "ct_tuple4(src=10.10.10.10,dst=20.20.20.20,proto=17,tp_src=1,tp_dst=2),recirc_id(0),"
    ));
    // Only the ports masked still prints the attribute.
    let mut mp = FlowKey::default();
    mp.set_recirc_id(u32::MAX);
    mp.set_ct_tp_dst(0xffff);
    assert!(format_key(&k, &mp).starts_with("ct_tuple4(tp_dst=2),recirc_id(0),"));
    // Untracked: no tuple, whatever the mask.
    k.set_ct_nw_proto(0);
    assert!(
        format_key(&k, &m).starts_with("recirc_id(0),"),
        "{}",
        format_key(&k, &m)
    );
    // Neither IPv4 nor IPv6 (ARP): no tuple.
    k.set_ct_nw_proto(17);
    k.set_eth_type(0x0806);
    assert!(
        format_key(&k, &m).starts_with("recirc_id(0),"),
        "{}",
        format_key(&k, &m)
    );
    // IPv6 with only the IPv4 tuple fields masked: nothing to print.
    k.set_eth_type(0x86dd);
    let mut m4 = FlowKey::default();
    m4.set_recirc_id(u32::MAX);
    m4.set_ct_nw_src(u32::MAX);
    assert!(
        format_key(&k, &m4).starts_with("recirc_id(0),"),
        "{}",
        format_key(&k, &m4)
    );
    // IPv6: ct_tuple6 with OVS's field names.
    k.set_ct_ipv6_src(1);
    k.set_ct_ipv6_dst(2);
    m.set_ct_ipv6_src(u128::MAX);
    m.set_ct_ipv6_dst(u128::MAX);
    assert!(
        format_key(&k, &m)
            .starts_with("ct_tuple6(src=::1,dst=::2,proto=17,src_port=1,dst_port=2),recirc_id(0),")
    );
}
