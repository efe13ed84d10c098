//! Flow-mod semantics: OpenFlow 1.3 §6.4 as Open vSwitch applies them.

mod common;

use common::*;
use ofp_codec::OfpError;
use ofp_codec::msg::flow_removed::FlowRemovedReason;
use ofp_codec::msg::flow_stats::FlowStatsRequest;
use ofp_codec::text::Command;
use ofproto::{BundleMsg, Event};

fn removed(of: &mut ofproto::Ofproto, now: u64) -> Vec<(u16, FlowRemovedReason)> {
    of.run(now)
        .0
        .into_iter()
        .filter_map(|e| match e {
            Event::FlowRemoved(fr) => Some((fr.priority, fr.reason)),
            _ => None,
        })
        .collect()
}

#[test]
fn add_replaces_an_identical_match_and_keeps_counters_unless_reset_counts() {
    let mut of = bridge(3);
    try_add(&mut of, "priority=5,ip,actions=output:1").unwrap();
    let t = xlate(&of, "in_port=3,ip");
    of.credit(&t.rules, 3, 300, 10);
    try_add(&mut of, "priority=5,ip,actions=output:2").unwrap();
    assert_eq!(of.n_flows(), 1);
    assert_eq!(acts(&of, "in_port=3,ip"), "2");
    let st = of.flow_stats(&FlowStatsRequest::default(), 20);
    assert_eq!((st[0].packet_count, st[0].byte_count), (3, 300));
    try_add(&mut of, "priority=5,ip,reset_counts,actions=output:1").unwrap();
    let st = of.flow_stats(&FlowStatsRequest::default(), 20);
    assert_eq!(st[0].packet_count, 0);
}

#[test]
fn check_overlap_refuses_a_different_overlapping_rule_of_the_same_priority() {
    let mut of = bridge(2);
    try_add(&mut of, "priority=5,ip,nw_src=10.0.0.0/8,actions=output:1").unwrap();
    assert_eq!(
        try_add(
            &mut of,
            "priority=5,check_overlap,ip,nw_dst=10.0.0.1,actions=drop"
        ),
        Err(OfpError::OFPFMFC_OVERLAP)
    );
    // An identical rule is replaced, as OVS 3.1 does, even with check_overlap.
    try_add(
        &mut of,
        "priority=5,check_overlap,ip,nw_src=10.0.0.0/8,actions=drop",
    )
    .unwrap();
    assert_eq!(acts(&of, "in_port=2,ip,nw_src=10.1.1.1"), "drop");
    try_add(
        &mut of,
        "priority=6,check_overlap,ip,nw_dst=10.0.0.1,actions=drop",
    )
    .unwrap();
    try_add(
        &mut of,
        "priority=5,check_overlap,ip,nw_src=11.0.0.0/8,actions=drop",
    )
    .unwrap();
    try_add(&mut of, "priority=5,check_overlap,ipv6,actions=drop").unwrap();
    assert_eq!(of.n_flows(), 4);
}

#[test]
fn strict_and_loose_delete_select_different_rules() {
    let mut of = bridge(2);
    load(
        &mut of,
        "priority=10,ip,nw_src=10.0.0.1,actions=output:1\npriority=20,ip,nw_src=10.0.0.1,actions=output:2\npriority=10,ip,actions=output:2",
    );
    of.handle_flow_mod(&fm(Command::DeleteStrict, "priority=10,ip"), 0)
        .unwrap();
    assert_eq!(of.n_flows(), 2);
    of.handle_flow_mod(
        &fm(Command::DeleteStrict, "priority=30,ip,nw_src=10.0.0.1"),
        0,
    )
    .unwrap();
    assert_eq!(of.n_flows(), 2, "strict needs the same priority");
    of.handle_flow_mod(&fm(Command::Delete, "ip,nw_src=10.0.0.0/8"), 0)
        .unwrap();
    assert_eq!(
        of.n_flows(),
        0,
        "loose delete ignores priority and takes more specific rules"
    );
}

#[test]
fn modify_changes_actions_keeps_cookie_and_adds_nothing_on_no_match() {
    let mut of = bridge(3);
    load(
        &mut of,
        "cookie=0x5,priority=10,ip,actions=output:1\ncookie=0x6,priority=10,arp,actions=output:1",
    );
    of.handle_flow_mod(&fm(Command::Modify, "cookie=0x5/0xff,actions=output:3"), 0)
        .unwrap();
    assert_eq!(acts(&of, "in_port=2,ip"), "3");
    assert_eq!(acts(&of, "in_port=2,arp"), "1", "cookie mask filters");
    let st = of.flow_stats(&FlowStatsRequest::default(), 0);
    assert!(st.iter().any(|s| s.cookie == 5), "modify keeps the cookie");
    of.handle_flow_mod(&fm(Command::Modify, "ipv6,actions=output:3"), 0)
        .unwrap();
    assert_eq!(of.n_flows(), 2, "OF1.3 modify without a match adds nothing");
    of.handle_flow_mod(
        &fm(Command::ModifyStrict, "priority=10,arp,actions=output:2"),
        0,
    )
    .unwrap();
    assert_eq!(acts(&of, "in_port=3,arp"), "2");
}

#[test]
fn delete_filters_on_out_port_and_cookie_mask() {
    let mut of = bridge(3);
    load(
        &mut of,
        "cookie=0x11,priority=1,ip,actions=output:1\ncookie=0x12,priority=2,ip,actions=output:2\ncookie=0x21,priority=3,ip,actions=output:2",
    );
    of.handle_flow_mod(&fm(Command::Delete, "out_port=2,cookie=0x10/0xf0"), 0)
        .unwrap();
    let left: Vec<u64> = of
        .flow_stats(&FlowStatsRequest::default(), 0)
        .iter()
        .map(|s| s.cookie)
        .collect();
    assert_eq!(left, vec![0x21, 0x11]);
}

#[test]
fn timeouts_on_a_virtual_clock_send_flow_removed_with_ovs_reasons() {
    let mut of = bridge(2);
    of.handle_flow_mod(
        &add("priority=1,idle_timeout=10,send_flow_rem,ip,actions=output:1"),
        0,
    )
    .unwrap();
    of.handle_flow_mod(
        &add("priority=2,hard_timeout=5,send_flow_rem,arp,actions=output:1"),
        0,
    )
    .unwrap();
    of.handle_flow_mod(&add("priority=3,hard_timeout=5,ipv6,actions=output:1"), 0)
        .unwrap();
    let (ev, next) = of.run(1_000);
    assert!(ev.is_empty());
    assert_eq!(next, Some(5_001));
    // Traffic at 4 s keeps the idle rule alive past 10 s.
    let t = xlate(&of, "in_port=2,ip");
    of.credit(&t.rules, 1, 60, 4_000);
    assert_eq!(
        removed(&mut of, 5_001),
        vec![(2, FlowRemovedReason::HARD_TIMEOUT)],
        "no FLOW_REMOVED without send_flow_rem"
    );
    assert_eq!(of.n_flows(), 1);
    assert!(removed(&mut of, 14_000).is_empty());
    assert_eq!(
        removed(&mut of, 14_001),
        vec![(1, FlowRemovedReason::IDLE_TIMEOUT)]
    );
    of.handle_flow_mod(&add("priority=4,send_flow_rem,ip,actions=output:1"), 0)
        .unwrap();
    of.handle_flow_mod(&fm(Command::Delete, "ip"), 20_000)
        .unwrap();
    assert_eq!(
        removed(&mut of, 20_000),
        vec![(4, FlowRemovedReason::DELETE)]
    );
}

#[test]
fn refusals_carry_ovs_errors() {
    let mut of = bridge(2);
    let arp_ct = add_with_match("arp", "ip,actions=ct(table=1)");
    assert_eq!(
        of.handle_flow_mod(&arp_ct, 0),
        Err(OfpError::OFPBAC_MATCH_INCONSISTENT)
    );
    let mut back = add("table=1,ip,actions=goto_table:2");
    back.table_id = 3;
    assert_eq!(
        of.handle_flow_mod(&back, 0),
        Err(OfpError::OFPBIC_BAD_TABLE_ID)
    );
    assert_eq!(
        try_add(&mut of, "ip,actions=group:7"),
        Err(OfpError::OFPBAC_BAD_OUT_GROUP)
    );
    assert_eq!(
        try_add(&mut of, "ip,actions=meter:3,output:1"),
        Err(OfpError::OFPMMFC_INVALID_METER)
    );
    let mut bad_table = add("ip,actions=drop");
    bad_table.table_id = 255;
    assert_eq!(
        of.handle_flow_mod(&bad_table, 0),
        Err(OfpError::OFPFMFC_BAD_TABLE_ID)
    );
    assert_eq!(of.n_flows(), 0);
}

#[test]
fn a_failing_bundle_changes_nothing_and_a_good_one_applies_all() {
    let mut of = bridge(2);
    load(&mut of, "priority=1,ip,actions=output:1");
    let bad = vec![
        BundleMsg::FlowMod(fm(Command::Delete, "ip")),
        BundleMsg::FlowMod(add("priority=2,ip,actions=output:2")),
        BundleMsg::FlowMod(add_with_match("arp", "ip,actions=ct(table=1)")),
    ];
    assert_eq!(
        of.bundle_commit(&bad, 0),
        Err((2, OfpError::OFPBAC_MATCH_INCONSISTENT))
    );
    assert_eq!(of.n_flows(), 1);
    assert_eq!(acts(&of, "in_port=2,ip"), "1");
    let good = vec![
        BundleMsg::FlowMod(fm(Command::Delete, "ip")),
        BundleMsg::FlowMod(add("priority=2,ip,actions=output:2")),
    ];
    of.bundle_commit(&good, 0).unwrap();
    assert_eq!(acts(&of, "in_port=1,ip"), "2");
    assert_eq!(of.n_flows(), 1);
}

#[test]
fn aggregate_and_table_stats_count_what_was_hit() {
    let mut of = bridge(2);
    load(
        &mut of,
        "priority=1,ip,actions=output:1\ntable=0,priority=0,actions=drop",
    );
    // Table lookups count per packet, credited with the rules (as OVS).
    let t = xlate(&of, "in_port=2,ip");
    of.credit_translation(&t, 2, 200, 1);
    let t = xlate(&of, "in_port=2,arp");
    of.credit_translation(&t, 1, 60, 1);
    let _ = xlate(&of, "in_port=2,ip");
    let agg = of.aggregate_stats(&FlowStatsRequest::default());
    assert_eq!(
        (agg.flow_count, agg.packet_count, agg.byte_count),
        (2, 3, 260)
    );
    let ts = &of.table_stats()[0];
    assert_eq!(
        (ts.active_count, ts.lookup_count, ts.matched_count),
        (2, 3, 3)
    );
    assert_eq!(of.table_stats().len(), 255);
}

#[test]
fn meter_mods_follow_ovs_userspace_datapath() {
    use ofp_codec::msg::meter_mod::{
        MeterBand, MeterBandType, MeterCommand, MeterMod, OFPMF_KBPS, OFPMF_PKTPS,
    };
    let mut of = bridge(2);
    let band = |t, rate| MeterBand {
        band_type: t,
        rate,
        burst_size: 0,
        prec_level: 0,
    };
    let mm = |cmd, id, flags, bands| MeterMod {
        command: cmd,
        flags,
        meter_id: id,
        bands,
    };
    let drop1000 = vec![band(MeterBandType::DROP, 1000)];
    of.handle_meter_mod(&mm(MeterCommand::ADD, 1, OFPMF_KBPS, drop1000.clone()), 0)
        .unwrap();
    assert_eq!(
        of.handle_meter_mod(&mm(MeterCommand::ADD, 1, OFPMF_KBPS, drop1000.clone()), 0),
        Err(OfpError::OFPMMFC_METER_EXISTS)
    );
    assert_eq!(
        of.handle_meter_mod(
            &mm(MeterCommand::MODIFY, 5, OFPMF_KBPS, drop1000.clone()),
            0
        ),
        Err(OfpError::OFPMMFC_UNKNOWN_METER)
    );
    assert_eq!(
        of.handle_meter_mod(
            &mm(
                MeterCommand::ADD,
                3,
                OFPMF_KBPS | OFPMF_PKTPS,
                drop1000.clone()
            ),
            0
        ),
        Err(OfpError::OFPMMFC_BAD_FLAGS)
    );
    assert_eq!(
        of.handle_meter_mod(
            &mm(
                MeterCommand::ADD,
                4,
                OFPMF_PKTPS,
                vec![band(MeterBandType::DSCP_REMARK, 10)]
            ),
            0
        ),
        Err(OfpError::OFPMMFC_BAD_BAND)
    );
    // A flow using meter 1 goes away with it (reason METER_DELETE).
    try_add(&mut of, "send_flow_rem,ip,actions=meter:1,output:2").unwrap();
    of.handle_meter_mod(&mm(MeterCommand::DELETE, 1, 0, vec![]), 0)
        .unwrap();
    assert_eq!(of.n_flows(), 0);
    let ev = of.run(0).0;
    assert!(
        matches!(&ev[..], [Event::FlowRemoved(fr)] if fr.reason == FlowRemovedReason::METER_DELETE)
    );
    assert_eq!(of.meter_config(ofproto::meter::OFPM_ALL).len(), 0);
}
