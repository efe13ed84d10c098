//! Committing IP header changes: IPv6 traffic class / flow label rewrites
//! become `set(ipv6(...))`, and changed fields are written under their
//! wildcard masks as OVS's commit_set_ipv4_action / commit_set_ipv6_action do
//! (a DSCP change masks the whole DSCP). Expected texts are OVS 3.1's
//! `ofproto/trace` output for the same flows and packets.

mod common;

use common::*;
use datapath::actions::{DpAction, format_actions};
use datapath::edit::apply_set;
use datapath::packet::Packet;

const UDP6: &str = "in_port=1,udp6,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,tp_src=1,tp_dst=2";

fn one(flow: &str, pkt: &str) -> String {
    let mut of = bridge(2);
    load(&mut of, flow);
    acts(&of, pkt)
}

#[test]
fn ipv6_tos_ecn_and_label_rewrites_become_set_ipv6() {
    let cases = [
        (
            "ipv6,actions=mod_nw_tos:32,output:2",
            UDP6,
            "set(ipv6(tclass=0x20/0xfc)),2",
        ),
        (
            "ipv6,actions=set_field:8->ip_dscp,output:2",
            UDP6,
            "set(ipv6(tclass=0x20/0xfc)),2",
        ),
        (
            "ipv6,actions=mod_nw_ecn:1,output:2",
            UDP6,
            "set(ipv6(tclass=0x1/0x3)),2",
        ),
        (
            "ipv6,actions=set_field:2->ip_ecn,output:2",
            UDP6,
            "set(ipv6(tclass=0x2/0x3)),2",
        ),
        (
            "ipv6,actions=set_field:0x12345->ipv6_label,output:2",
            UDP6,
            "set(ipv6(label=0x12345)),2",
        ),
        (
            "ipv6,actions=mod_nw_tos:0,output:2",
            "in_port=1,udp6,nw_tos=16,ipv6_src=2001:db8::1",
            "set(ipv6(tclass=0/0xfc)),2",
        ),
        (
            "ipv6,actions=set_field:0x345/0xf0f->ipv6_label,mod_nw_ttl:9,output:2",
            UDP6,
            "set(ipv6(label=0x305/0xf0f,hlimit=9)),2",
        ),
        // An unchanged value writes nothing.
        ("ipv6,actions=mod_nw_tos:0,output:2", UDP6, "2"),
    ];
    for (flow, pkt, want) in cases {
        assert_eq!(one(flow, pkt), want, "{flow}");
    }
}

#[test]
fn ipv4_tos_change_is_masked_with_the_whole_dscp() {
    assert_eq!(
        one(
            "ip,actions=mod_nw_tos:0,output:2",
            "in_port=1,udp,nw_tos=16,nw_src=10.0.0.1"
        ),
        "set(ipv4(tos=0/0xfc)),2"
    );
    // A flow that matched the ECN bits writes them too (they are in the mask).
    assert_eq!(
        one(
            "ip,nw_ecn=1,actions=mod_nw_tos:4,output:2",
            "in_port=1,udp,nw_ecn=1,nw_src=10.0.0.1"
        ),
        "set(ipv4(tos=0x5)),2"
    );
    // A subfield load writes only the loaded bits.
    assert_eq!(
        one(
            "ip,actions=load:0x5->NXM_OF_IP_SRC[0..7],output:2",
            "in_port=1,udp,nw_src=10.0.0.1"
        ),
        "set(ipv4(src=0.0.0.5/0.0.0.255)),2"
    );
}

/// The translated actions applied to a real frame change its traffic class.
#[test]
fn translated_tclass_rewrite_reaches_the_packet() {
    let mut of = bridge(2);
    load(&mut of, "ipv6,actions=mod_nw_tos:32,output:2");
    let t = xlate(&of, UDP6);
    assert_eq!(format_actions(&t.actions), "set(ipv6(tclass=0x20/0xfc)),2");
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd];
    // Version 6, traffic class 0x01 (ECN), label 0xbeef.
    f.extend_from_slice(&[0x60, 0x10, 0xbe, 0xef, 0, 8, 17, 64]);
    f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    f.extend_from_slice(&[0, 1, 0, 2, 0, 8, 0, 0]);
    let mut p = Packet::from_bytes(&f);
    for a in &t.actions {
        if let DpAction::Set(s) = a {
            assert!(apply_set(&mut p, s));
        }
    }
    let w0 = u32::from_be_bytes(p.data()[14..18].try_into().unwrap());
    assert_eq!((w0 >> 20) & 0xff, 0x21, "DSCP 8, ECN kept");
    assert_eq!(w0 & 0xfffff, 0xbeef);
}

/// OVS's commit_odp_actions order: Ethernet and IP sets, then the VLAN push.
#[test]
fn vlan_changes_are_committed_after_header_sets() {
    assert_eq!(
        one(
            "ip,actions=mod_dl_src:02:00:00:00:00:09,push_vlan:0x8100,set_field:4106->vlan_vid,mod_nw_src:1.2.3.4,output:2",
            "in_port=1,udp,nw_src=10.0.0.1"
        ),
        "set(eth(src=02:00:00:00:00:09)),set(ipv4(src=1.2.3.4)),push_vlan(vid=10,pcp=0),2"
    );
}

/// ND target / link-layer addresses and ICMP type / code rewrites (texts from
/// OVS 3.1's ofproto/trace).
#[test]
fn nd_and_icmp_rewrites_become_set_nd_and_set_icmp() {
    let cases = [
        (
            "icmp6,icmp_type=135,actions=set_field:fe80::1->nd_target,set_field:02:00:00:00:00:07->nd_sll,output:2",
            "in_port=1,icmp6,icmpv6_type=135,nd_target=fe80::2",
            "set(nd(target=fe80::1,sll=02:00:00:00:00:07)),2",
        ),
        (
            "icmp6,icmp_type=136,actions=set_field:02:00:00:00:00:08->nd_tll,output:2",
            "in_port=1,icmp6,icmpv6_type=136,nd_target=fe80::2,nd_tll=02:00:00:00:00:01",
            "set(nd(tll=02:00:00:00:00:08)),2",
        ),
        (
            "icmp6,icmp_type=135,actions=load:0x1->NXM_NX_ND_TARGET[0..15],set_field:3->icmpv6_code,output:2",
            "in_port=1,icmp6,icmpv6_type=135,nd_target=fe80::2",
            "set(nd(target=::1/::ffff)),set(icmpv6(type=135,code=3)),2",
        ),
        (
            "icmp6,actions=set_field:129->icmpv6_type,output:2",
            "in_port=1,icmp6,icmpv6_type=128",
            "set(icmpv6(type=129,code=0)),2",
        ),
        (
            "icmp,actions=set_field:3->icmp_type,mod_nw_src:1.1.1.1,output:2",
            "in_port=1,icmp,icmp_type=8,icmp_code=0",
            "set(ipv4(src=1.1.1.1)),set(icmp(type=3,code=0)),2",
        ),
    ];
    for (flow, pkt, want) in cases {
        assert_eq!(one(flow, pkt), want, "{flow}");
    }
}

/// Ports are written under their wildcard masks as well (OVS's
/// commit_set_port_action): a load into the low byte of a port writes that
/// byte only, a full set_field the whole port (texts as OVS 3.1 prints them).
#[test]
fn port_rewrites_are_written_under_their_wildcard_masks() {
    let tcp = "in_port=1,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=4660,tp_dst=81";
    assert_eq!(
        one("tcp,actions=load:0x1->NXM_OF_TCP_SRC[0..7],output:2", tcp),
        "set(tcp(src=1/0xff)),2"
    );
    assert_eq!(
        one("tcp,actions=set_field:80->tcp_dst,output:2", tcp),
        "set(tcp(dst=80)),2"
    );
    let udp = "in_port=1,udp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=4660,tp_dst=53";
    assert_eq!(
        one("udp,actions=set_field:5353->udp_dst,output:2", udp),
        "set(udp(dst=5353)),2"
    );
}

/// An ICMP set writes type and code whole, so the megaflow matches both: a
/// packet with another code must not take this megaflow's code.
#[test]
fn icmp_set_unwildcards_type_and_code() {
    let mut of = bridge(2);
    load(&mut of, "icmp,actions=set_field:3->icmp_type,output:2");
    let t = xlate(
        &of,
        "in_port=1,icmp,nw_src=10.0.0.1,icmp_type=8,icmp_code=0",
    );
    assert_eq!(format_actions(&t.actions), "set(icmp(type=3,code=0)),2");
    assert_eq!((t.mask.tp_src(), t.mask.tp_dst()), (0xff, 0xff));
}

/// VLAN changes keep the tags the packet and the flow share, counted from the
/// innermost (OVS's commit_vlan_action): a push onto a tagged packet only
/// pushes (both tags leave), a pop of a double-tagged packet only pops, and a
/// changed VID is a pop and a push.
#[test]
fn vlan_commit_keeps_the_common_inner_tags() {
    let mut of = bridge(2);
    load(
        &mut of,
        "in_port=1,actions=push_vlan:0x8100,mod_vlan_vid:7,output:2
         in_port=2,vlan_tci=0x1000/0x1000,actions=pop_vlan,output:1
         in_port=3,dl_vlan=5,actions=mod_vlan_vid:9,output:1",
    );
    let opts = ofproto::XlateOptions {
        now_ms: 0,
        side_effects: true,
        trace: false,
    };
    let run = |k: &datapath::key::FlowKey| format_actions(&of.translate(k, opts).actions);
    let tagged = |port: u32, tags: &[(u16, u16)]| {
        let mut k = key(&format!("in_port={port},ip,nw_src=10.0.0.1"));
        if let Some(&(tpid, vid)) = tags.first() {
            k.set_vlan0_tpid(tpid);
            k.set_vlan0_tci(0x1000 | vid);
        }
        if let Some(&(tpid, vid)) = tags.get(1) {
            k.set_vlan1_tpid(tpid);
            k.set_vlan1_tci(0x1000 | vid);
        }
        k
    };
    assert_eq!(run(&tagged(1, &[(0x8100, 5)])), "push_vlan(vid=7,pcp=0),2");
    assert_eq!(run(&tagged(1, &[])), "push_vlan(vid=7,pcp=0),2");
    assert_eq!(run(&tagged(2, &[(0x88a8, 5), (0x8100, 10)])), "pop_vlan,1");
    assert_eq!(run(&tagged(2, &[(0x8100, 5)])), "pop_vlan,1");
    assert_eq!(
        run(&tagged(3, &[(0x8100, 5)])),
        "pop_vlan,push_vlan(vid=9,pcp=0),1"
    );
}
