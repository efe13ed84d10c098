//! `dpctl/dump-flows` text, compared with lines printed by Open vSwitch 3.1's
//! userspace datapath (`ovs-appctl dpctl/dump-flows` on the reference kit's
//! ct firewall) for the same megaflows.

use datapath::actions::{CtAction, DpAction};
use datapath::classifier::Megaflow;
use datapath::dump::format_megaflow;
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
