//! Translation: pipelines in, datapath actions, masks and traces out.

mod common;

use common::*;
use ofp_codec::Field;
use ofp_codec::msg::group_mod::{Bucket, GroupMod, GroupModCommand, GroupType};
use ofproto::{OfFlow, Port, VlanMode, XlateOptions};

/// A stateful firewall in the spirit of OVS's tutorial: port 1 opens
/// connections to port 2, port 2 may only answer.
const FIREWALL: &str = "
table=0,priority=1,actions=drop
table=0,priority=10,arp,actions=NORMAL
table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1)
table=1,priority=1,actions=drop
table=1,priority=10,in_port=1,ip,ct_state=+trk+new,actions=ct(commit),output:2
table=1,priority=10,in_port=1,ip,ct_state=+trk+est,actions=output:2
table=1,priority=10,in_port=2,ip,ct_state=+trk+est,actions=output:1
";

#[test]
fn firewall_trace_matches_ovs_format() {
    let mut of = bridge(2);
    load(&mut of, FIREWALL);
    let out = of
        .trace(
            "in_port=1,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_dst=80",
            &[],
            0,
        )
        .unwrap();
    // Text checked against OVS 3.1's ofproto/trace of the same flows, except
    // (rvs design) nw_proto in a ct() megaflow ("tcp" instead of "ip") and
    // datapath ports numbered as OpenFlow ports.
    let expected = r#"Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=0,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. ct_state=-trk,ip, priority 100
    ct(table=1)
    drop
     -> A clone of the packet is forked to recirculate. The forked pipeline will be resumed at table 1.
     -> Sets the packet to an untracked state, and clears all the conntrack fields.

Final flow: unchanged
Megaflow: recirc_id=0,ct_state=-trk,eth,tcp,in_port=1,nw_frag=no
Datapath actions: ct,recirc(0x1)

===============================================================================
recirc(0x1) - resume conntrack with default ct_state=trk|new (use --ct-next to customize)
===============================================================================

Flow: recirc_id=0x1,ct_state=new|trk,eth,tcp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=0,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
    thaw
        Resuming from table 1
 1. ct_state=+new+trk,ip,in_port=1, priority 10
    ct(commit)
    drop
     -> Sets the packet to an untracked state, and clears all the conntrack fields.
    output:2

Final flow: recirc_id=0x1,eth,tcp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=0,tp_dst=80,tcp_flags=0
Megaflow: recirc_id=0x1,ct_state=+new+trk,eth,tcp,in_port=1,nw_frag=no
Datapath actions: ct(commit),2
"#;
    assert_eq!(out, expected, "\n{out}");
}

#[test]
fn firewall_reply_direction_and_untracked_arp() {
    let mut of = bridge(2);
    load(&mut of, FIREWALL);
    let out = of
        .trace("in_port=2,udp,nw_src=10.0.0.2,nw_dst=10.0.0.1", &[0x22], 0)
        .unwrap();
    assert!(
        out.contains("recirc(0x1) - resume conntrack with ct_state=est|trk"),
        "{out}"
    );
    assert!(out.ends_with("Datapath actions: 1\n"), "{out}");
    // A new connection from port 2 is dropped by table 1's miss flow.
    assert_eq!(
        acts(&of, "in_port=2,recirc_id=1,ct_state=+trk+new,udp"),
        "drop"
    );
    // ARP goes to NORMAL and floods to the other port.
    assert_eq!(acts(&of, "in_port=1,arp,dl_dst=ff:ff:ff:ff:ff:ff"), "2");
}

#[test]
fn ct_unwildcards_eth_type_and_nw_proto() {
    let mut of = bridge(2);
    try_add(&mut of, "ip,actions=ct(table=1)").unwrap();
    let t = xlate(&of, "in_port=1,udp,nw_src=1.2.3.4,tp_src=5");
    assert_eq!(t.mask.eth_type(), 0xffff);
    assert_eq!(t.mask.nw_proto(), 0xff);
    assert_eq!(t.mask.nw_src(), 0, "nothing else");
    assert_eq!(t.mask.tp_src(), 0);
    // Without ct(), nw_proto stays wildcarded.
    let mut of2 = bridge(2);
    try_add(&mut of2, "ip,actions=output:2").unwrap();
    assert_eq!(xlate(&of2, "in_port=1,udp").mask.nw_proto(), 0);
}

#[test]
fn recirculation_restores_registers_and_metadata() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,ip,actions=write_metadata:0x7/0xff,goto_table:1
         table=1,ip,actions=load:0x2a->NXM_NX_REG3[],ct(zone=5,table=2)
         table=2,reg3=0x2a,metadata=0x7,ct_state=+trk,ip,actions=output:3",
    );
    let t = xlate(&of, "in_port=1,ip");
    assert_eq!(
        datapath::actions::format_actions(&t.actions),
        "ct(zone=5),recirc(0x1)"
    );
    let mut k = key("in_port=1,ip,ct_state=+trk+new");
    k.set_recirc_id(1);
    let t2 = of.translate(&k, XlateOptions::default());
    assert_eq!(datapath::actions::format_actions(&t2.actions), "3");
    assert_eq!(t2.mask.recirc_id(), u32::MAX);
}

#[test]
fn ct_commit_with_mark_label_and_zone_from_a_register() {
    let mut of = bridge(2);
    try_add(
        &mut of,
        "ip,actions=load:0x9->NXM_NX_REG0[0..15],ct(commit,zone=NXM_NX_REG0[0..15],exec(set_field:0x3->ct_mark,set_field:0x1->ct_label)),output:2",
    )
    .unwrap();
    assert_eq!(
        acts(&of, "in_port=1,tcp"),
        "ct(commit,zone=9,mark=0x3/0xffffffff,label=0x1),2"
    );
}

#[test]
fn l2_learning_and_vlan_access_trunk_with_normal() {
    let mut of = ofproto::Ofproto::new(ofproto::Config::default());
    of.port_add(Port {
        vlan: VlanMode::Access(10),
        ..Port::new(1, "a1")
    });
    of.port_add(Port {
        vlan: VlanMode::Access(20),
        ..Port::new(2, "a2")
    });
    of.port_add(Port {
        vlan: VlanMode::Trunk,
        ..Port::new(3, "t3")
    });
    of.port_add(Port {
        vlan: VlanMode::Access(10),
        ..Port::new(4, "a4")
    });
    load(&mut of, "actions=NORMAL");
    // Unknown destination: flood within VLAN 10 (access port 4 untagged, trunk tagged).
    assert_eq!(
        acts(
            &of,
            "in_port=1,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:04"
        ),
        "push_vlan(vid=10,pcp=0),3,pop_vlan,4"
    );
    // Port 4 answers: the MAC learned on port 1 is used.
    assert_eq!(
        acts(
            &of,
            "in_port=4,dl_src=00:00:00:00:00:04,dl_dst=00:00:00:00:00:01"
        ),
        "1"
    );
    // From the trunk, tagged VLAN 10 to the learned MAC on port 4: untag.
    assert_eq!(
        acts(
            &of,
            "in_port=3,vlan_tci=0x100a,dl_src=00:00:00:00:00:03,dl_dst=00:00:00:00:00:04"
        ),
        "pop_vlan,4"
    );
    // VLAN 20 traffic never reaches VLAN 10 ports.
    assert_eq!(
        acts(
            &of,
            "in_port=2,dl_src=00:00:00:00:00:02,dl_dst=ff:ff:ff:ff:ff:ff"
        ),
        "push_vlan(vid=20,pcp=0),3"
    );
    // A tagged packet on an access port is dropped.
    assert_eq!(
        acts(&of, "in_port=1,vlan_tci=0x1005,dl_src=00:00:00:00:00:01"),
        "drop"
    );
}

#[test]
fn acl_with_conjunction() {
    let mut of = bridge(3);
    load(
        &mut of,
        "priority=100,ip,nw_src=10.0.0.1,actions=conjunction(7,1/2)
         priority=100,ip,nw_src=10.0.0.2,actions=conjunction(7,1/2)
         priority=100,tcp,tp_dst=80,actions=conjunction(7,2/2)
         priority=100,tcp,tp_dst=443,actions=conjunction(7,2/2)
         priority=100,conj_id=7,ip,actions=output:2
         priority=1,actions=output:3",
    );
    assert_eq!(acts(&of, "in_port=1,tcp,nw_src=10.0.0.2,tp_dst=443"), "2");
    assert_eq!(acts(&of, "in_port=1,tcp,nw_src=10.0.0.2,tp_dst=22"), "3");
    assert_eq!(acts(&of, "in_port=1,tcp,nw_src=10.0.0.3,tp_dst=80"), "3");
}

#[test]
fn select_group_is_symmetric_and_fast_failover_follows_liveness() {
    let mut of = bridge(4);
    let bucket = |port: u32, watch: u32| Bucket {
        weight: if watch == u32::MAX { 1 } else { 0 },
        watch_port: watch,
        watch_group: u32::MAX,
        actions: vec![ofp_codec::Action::Output { port, max_len: 0 }],
    };
    let gm = |id, t, buckets| GroupMod {
        command: GroupModCommand::ADD,
        group_type: t,
        group_id: id,
        buckets,
    };
    of.handle_group_mod(
        &gm(
            1,
            GroupType::SELECT,
            vec![
                bucket(2, u32::MAX),
                bucket(3, u32::MAX),
                bucket(4, u32::MAX),
            ],
        ),
        0,
    )
    .unwrap();
    of.handle_group_mod(&gm(2, GroupType::FF, vec![bucket(2, 2), bucket(3, 3)]), 0)
        .unwrap();
    load(
        &mut of,
        "priority=5,ip,actions=group:1\npriority=6,udp,actions=group:2",
    );
    let a = acts(
        &of,
        "in_port=1,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=1000,tp_dst=80",
    );
    let b = acts(
        &of,
        "in_port=1,tcp,nw_src=10.0.0.2,nw_dst=10.0.0.1,tp_src=80,tp_dst=1000",
    );
    assert_eq!(a, b, "both directions pick the same bucket");
    let spread: std::collections::BTreeSet<String> = (0..64)
        .map(|i| {
            acts(
                &of,
                &format!("in_port=1,tcp,nw_src=10.0.1.{i},nw_dst=10.0.0.2"),
            )
        })
        .collect();
    assert!(spread.len() >= 2, "{spread:?}");
    assert_eq!(acts(&of, "in_port=1,udp"), "2");
    of.port_set_live(2, false);
    assert_eq!(acts(&of, "in_port=1,udp"), "3");
    // Deleting the group deletes its flows.
    of.handle_group_mod(
        &GroupMod {
            command: GroupModCommand::DELETE,
            group_type: GroupType::ALL,
            group_id: 2,
            buckets: vec![],
        },
        0,
    )
    .unwrap();
    assert_eq!(of.n_flows(), 1);
}

#[test]
fn resubmit_move_and_dec_ttl() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,ip,actions=move:NXM_OF_IN_PORT[]->NXM_NX_REG1[0..15],resubmit(,5),dec_ttl,output:3
         table=5,reg1=1,ip,actions=mod_nw_src:192.168.0.1",
    );
    let t = xlate(&of, "in_port=1,udp,nw_ttl=64,nw_src=10.0.0.1");
    assert_eq!(
        datapath::actions::format_actions(&t.actions),
        "set(ipv4(src=192.168.0.1,ttl=63)),3"
    );
    assert_eq!(t.mask.nw_ttl(), 0xff);
    assert_eq!(t.mask.in_port(), u32::MAX);
    // TTL 1: packet-in with reason invalid_ttl, nothing output.
    let t = xlate(&of, "in_port=1,ip,nw_ttl=1");
    assert!(
        matches!(t.actions.last(), Some(datapath::DpAction::Userspace { .. })),
        "{:?}",
        t.actions
    );
    assert!(
        !t.actions
            .iter()
            .any(|a| matches!(a, datapath::DpAction::Output(_)))
    );
}

#[test]
fn controller_action_becomes_a_packet_in_with_userdata() {
    let mut of = bridge(2);
    try_add(
        &mut of,
        "cookie=0x77,ip,actions=load:0x5->NXM_NX_REG2[],controller(userdata=01.02,max_len=10)",
    )
    .unwrap();
    let t = xlate(&of, "in_port=1,ip");
    let userdata = match t.actions.as_slice() {
        [datapath::DpAction::Userspace { userdata }] => *userdata,
        other => panic!("{other:?}"),
    };
    let up = datapath::UserspacePacket {
        in_port: 1,
        userdata,
        key: key("in_port=1,ip"),
        packet: vec![0u8; 60],
    };
    let pin = of.packet_in(&up).unwrap();
    assert_eq!(pin.userdata, vec![1, 2]);
    assert_eq!(pin.packet_in.cookie, 0x77);
    // OVS 3.1 sends the whole frame whatever max_len says.
    assert_eq!(pin.packet_in.data.len(), 60);
    assert_eq!(pin.packet_in.total_len, 60);
    assert_eq!(pin.packet_in.match_.value(Field::Reg(2)), Some(5));
}

/// As OVS (`frozen_state.conntracked`): a packet-in carries the ct fields
/// only while the packet is tracked at the `controller` action; after a
/// `ct_clear` (or a `ct` without `table`) in the same pass it carries none.
#[test]
fn packet_in_carries_ct_fields_only_while_the_packet_is_tracked() {
    let mut of = bridge(2);
    try_add(&mut of, "tcp,ct_state=+trk,actions=controller").unwrap();
    try_add(&mut of, "udp,ct_state=+trk,actions=ct_clear,controller").unwrap();
    let pin_match = |of: &ofproto::Ofproto, flow: &str| {
        let t = xlate(of, flow);
        let userdata = match t.actions.last() {
            Some(datapath::DpAction::Userspace { userdata }) => *userdata,
            other => panic!("{other:?}"),
        };
        // The datapath's key at the userspace action: still tracked (as a
        // datapath without the re-extraction would report after ct_clear).
        let up = datapath::UserspacePacket {
            in_port: 1,
            userdata,
            key: key(flow),
            packet: vec![0u8; 60],
        };
        of.packet_in(&up).unwrap().packet_in.match_
    };
    let m = pin_match(&of, "in_port=1,tcp,ct_state=0x21,ct_zone=3");
    assert_eq!(m.value(Field::CtState), Some(0x21), "{m:?}");
    assert_eq!(m.value(Field::CtZone), Some(3), "{m:?}");
    let m = pin_match(&of, "in_port=1,udp,ct_state=0x21,ct_zone=3");
    assert_eq!(m.value(Field::CtState), None, "{m:?}");
    assert_eq!(m.value(Field::CtZone), None, "{m:?}");
}

/// OVS reports a packet-in from a table-miss flow (priority 0, match all) as
/// `no_match` on OpenFlow 1.3; ovs-testcontroller ignores any other reason.
#[test]
fn table_miss_flow_packet_in_says_no_match_other_flows_say_action() {
    let mut of = bridge(2);
    try_add(&mut of, "priority=0,actions=CONTROLLER:128").unwrap();
    try_add(&mut of, "priority=5,udp,actions=CONTROLLER:128").unwrap();
    let reason_of = |of: &ofproto::Ofproto, flow: &str| {
        let t = xlate(of, flow);
        let userdata = match t.actions.as_slice() {
            [datapath::DpAction::Userspace { userdata }] => *userdata,
            other => panic!("{other:?}"),
        };
        let up = datapath::UserspacePacket {
            in_port: 1,
            userdata,
            key: key(flow),
            packet: vec![0u8; 60],
        };
        of.packet_in(&up).unwrap().packet_in.reason
    };
    assert_eq!(
        u8::from(reason_of(&of, "in_port=1,tcp")),
        0,
        "table-miss flow"
    );
    assert_eq!(
        u8::from(reason_of(&of, "in_port=1,udp")),
        1,
        "ordinary flow"
    );
}

#[test]
fn learn_installs_a_flow() {
    let mut of = bridge(3);
    try_add(
        &mut of,
        "table=0,actions=learn(table=1,priority=7,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),resubmit(,1)",
    )
    .unwrap();
    let t = xlate(&of, "in_port=2,dl_src=00:00:00:00:00:22");
    assert_eq!(t.learned.len(), 1);
    of.handle_flow_mod(&t.learned[0], 0).unwrap();
    assert_eq!(acts(&of, "in_port=3,dl_dst=00:00:00:00:00:22"), "2");
}

#[test]
fn megaflow_from_recirc_without_state_is_dropped() {
    let of = bridge(1);
    let mut f = OfFlow::default();
    f.set(Field::RecircId, 99);
    let t = of.translate_flow(&f, XlateOptions::default());
    assert_eq!(t.error, Some(ofproto::XlateError::NoRecirculationContext));
    assert!(t.actions.is_empty());
}

#[test]
fn packet_out_actions_and_output_to_table() {
    let mut of = bridge(3);
    load(&mut of, "in_port=1,actions=output:3");
    let k = key("in_port=1,ip");
    let t = of.translate_actions(
        &k,
        &[ofp_codec::Action::Output {
            port: 0xffff_fff9,
            max_len: 0,
        }],
        XlateOptions::default(),
    );
    assert_eq!(
        datapath::actions::format_actions(&t.actions),
        "3",
        "output:TABLE runs table 0"
    );
    let t = of.translate_actions(
        &k,
        &[ofp_codec::Action::Output {
            port: 2,
            max_len: 0,
        }],
        XlateOptions::default(),
    );
    assert_eq!(datapath::actions::format_actions(&t.actions), "2");
}

#[test]
fn table_miss_config_drop_continue_controller() {
    let mut of = bridge(3);
    load(&mut of, "table=1,ip,actions=output:2");
    assert_eq!(acts(&of, "in_port=1,ip"), "drop");
    of.set_table_miss(0, ofproto::TableMiss::Continue);
    assert_eq!(acts(&of, "in_port=1,ip"), "2");
    of.set_table_miss(0, ofproto::TableMiss::Controller);
    let t = xlate(&of, "in_port=1,ip");
    assert!(matches!(
        t.actions.as_slice(),
        [datapath::DpAction::Userspace { .. }]
    ));
}

#[test]
fn resubmit_ct_looks_up_the_original_direction_tuple() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,ct_state=+trk+est,ip,actions=resubmit(,1,ct)
         table=1,tcp,nw_src=10.0.0.1,tp_dst=80,actions=output:3
         table=1,priority=0,actions=output:2",
    );
    // A reply packet whose connection was opened by 10.0.0.1 to port 80.
    let mut k = key(
        "in_port=1,tcp,nw_src=10.0.0.9,nw_dst=10.0.0.1,tp_src=80,tp_dst=5555,ct_state=+trk+est+rpl",
    );
    k.set_ct_nw_src(0x0a00_0001);
    k.set_ct_nw_dst(0x0a00_0009);
    k.set_ct_nw_proto(6);
    k.set_ct_tp_src(5555);
    k.set_ct_tp_dst(80);
    let t = of.translate(&k, XlateOptions::default());
    assert_eq!(datapath::actions::format_actions(&t.actions), "3");
    assert_eq!(
        t.mask.ct_nw_src(),
        u32::MAX,
        "the ct tuple is in the megaflow"
    );
    // Untracked: table 0 does not match.
    assert_eq!(acts(&of, "in_port=1,tcp"), "drop");
}

#[test]
fn ct_nat_and_ct_clear() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,priority=10,ip,ct_state=-trk,actions=ct(commit,nat(src=192.168.1.1:1000-2000)),ct_clear,resubmit(,1)
         table=1,ct_state=-trk,actions=output:3",
    );
    assert_eq!(
        acts(&of, "in_port=1,tcp"),
        "ct(commit,nat(src=192.168.1.1:1000-2000)),3"
    );
}

#[test]
fn group_desc_and_stats_count_buckets() {
    let mut of = bridge(3);
    let b = |port: u32| Bucket {
        weight: 0,
        watch_port: u32::MAX,
        watch_group: u32::MAX,
        actions: vec![ofp_codec::Action::Output { port, max_len: 0 }],
    };
    of.handle_group_mod(
        &GroupMod {
            command: GroupModCommand::ADD,
            group_type: GroupType::ALL,
            group_id: 4,
            buckets: vec![b(2), b(3)],
        },
        0,
    )
    .unwrap();
    load(&mut of, "ip,actions=group:4");
    let t = xlate(&of, "in_port=1,ip");
    assert_eq!(datapath::actions::format_actions(&t.actions), "2,3");
    of.credit_translation(&t, 2, 120, 5);
    let st = of.group_stats(ofproto::group::OFPG_ALL, 1000);
    assert_eq!(
        (st[0].ref_count, st[0].packet_count, st[0].byte_count),
        (1, 2, 120)
    );
    assert_eq!(st[0].bucket_stats.len(), 2);
    assert_eq!(st[0].bucket_stats[1].packet_count, 2);
    assert_eq!(of.group_desc()[0].group_id, 4);
}

#[test]
fn a_trace_of_an_endless_recirculation_stops() {
    let mut of = bridge(2);
    load(&mut of, "ip,actions=ct(table=0)");
    let out = of.trace("in_port=1,ip", &[], 0).unwrap();
    assert!(
        out.ends_with("Too many recirculations, trace stopped.\n"),
        "{}",
        &out[out.len().saturating_sub(300)..]
    );
}

/// A group bucket runs as an action set, as OVS's xlate_group_bucket
/// (`ofpacts_execute_action_set`): its set_field comes before its output
/// (OVS's test "ofproto-dpif - all group in action list"), only its last
/// output runs, and actions that have no place in an action set (the field
/// stack, controller) are ignored.
#[test]
fn group_buckets_run_as_action_sets() {
    let mut of = bridge(4);
    add_all_group(
        &mut of,
        1,
        &["output:2,set_field:192.168.3.90->ip_src", "output:3"],
    );
    add_all_group(
        &mut of,
        2,
        &["output:2,push:NXM_NX_REG0[],controller(userdata=01),output:4"],
    );
    add_all_group(&mut of, 3, &["set_field:192.168.3.90->ip_src"]);
    load(
        &mut of,
        "priority=5,icmp,actions=group:1\npriority=6,udp,actions=group:2\npriority=7,tcp,actions=group:3,output:4",
    );
    let a = acts(&of, "in_port=1,icmp,nw_src=192.168.0.1,nw_dst=192.168.0.2");
    assert_eq!(
        a, "set(ipv4(src=192.168.3.90)),2,set(ipv4(src=192.168.0.1)),3",
        "set_field before output in a bucket"
    );
    // Only the last output; no packet-in, no stack.
    assert_eq!(acts(&of, "in_port=1,udp,nw_src=192.168.0.1"), "4");
    // A bucket without an output changes nothing.
    assert_eq!(acts(&of, "in_port=1,tcp,nw_src=192.168.0.1"), "4");
}

/// A bucket works on a copy of the packet but not of the action set: what a
/// bucket's resubmit writes there runs at the end of the pipeline, as in
/// OVS's xlate_group_bucket (which restores only the flow).
#[test]
fn bucket_resubmit_writes_the_pipeline_action_set() {
    let mut of = bridge(4);
    add_all_group(&mut of, 1, &["resubmit(,2)"]);
    load(
        &mut of,
        "priority=5,icmp,actions=group:1\ntable=2,priority=1,actions=write_actions(output:3)",
    );
    assert_eq!(acts(&of, "in_port=1,icmp,nw_src=192.168.0.1"), "3");
}

/// An `exit` reached through a bucket's resubmit ends that bucket only: the
/// next bucket and the actions after the group run (OVS clears its exit
/// flag after each bucket). An `exit` in the pipeline itself skips the
/// action set.
#[test]
fn exit_in_a_bucket_ends_only_the_bucket() {
    let mut of = bridge(4);
    add_all_group(&mut of, 1, &["resubmit(,2)", "output:3"]);
    load(
        &mut of,
        "priority=5,icmp,actions=group:1,output:4\n\
         table=2,priority=1,actions=output:2,exit\n\
         priority=5,udp,actions=write_actions(output:3),goto_table:3\n\
         table=3,priority=1,actions=exit",
    );
    assert_eq!(acts(&of, "in_port=1,icmp,nw_src=192.168.0.1"), "2,3,4");
    assert_eq!(acts(&of, "in_port=1,udp,nw_src=192.168.0.1"), "drop");
}

/// write_actions appends to the action set, as OVS's: two moves both run
/// (before, the second replaced the first), then the output.
#[test]
fn action_set_keeps_every_move() {
    let mut of = bridge(4);
    load(
        &mut of,
        "ip,actions=write_actions(move:NXM_OF_IP_SRC[]->NXM_OF_IP_DST[],move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],output:2)",
    );
    let a = acts(
        &of,
        "in_port=1,icmp,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2",
    );
    assert!(a.contains("dst=00:00:00:00:00:01"), "{a}");
    assert!(a.contains("dst=10.0.0.1"), "{a}");
    assert!(a.ends_with(",2"), "{a}");
}
