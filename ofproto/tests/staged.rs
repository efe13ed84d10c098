//! Bundles staged message by message ([`ofproto::staged`]): the published
//! result equals a commit of the same messages at the commit's moment.

mod common;

use common::*;
use ofp_codec::OfpError;
use ofp_codec::msg::flow_removed::FlowRemovedReason;
use ofp_codec::msg::flow_stats::FlowStatsRequest;
use ofp_codec::text::Command;
use ofproto::staged::{StagedBundle, StagedCommit};
use ofproto::{BundleMsg, Event, Ofproto};

/// (priority, packets, bytes, duration_sec) of every flow, in dump order.
fn stats(of: &Ofproto, now_ms: u64) -> Vec<(u16, u64, u64, u32)> {
    of.flow_stats(&FlowStatsRequest::default(), now_ms)
        .into_iter()
        .map(|s| (s.priority, s.packet_count, s.byte_count, s.duration_sec))
        .collect()
}

fn flow_removed(of: &mut Ofproto, now_ms: u64) -> Vec<(u16, FlowRemovedReason, u64, u32)> {
    of.run(now_ms)
        .0
        .into_iter()
        .filter_map(|e| match e {
            Event::FlowRemoved(fr) => {
                Some((fr.priority, fr.reason, fr.packet_count, fr.duration_sec))
            }
            _ => None,
        })
        .collect()
}

fn staged(base: &Ofproto, msgs: &[BundleMsg], now_ms: u64) -> StagedBundle {
    let mut st = StagedBundle::new(base);
    for m in msgs {
        st.stage(m.clone(), now_ms);
    }
    st
}

#[test]
fn a_staged_bundle_publishes_what_a_plain_commit_makes() {
    let mut live = bridge(3);
    load(
        &mut live,
        "priority=1,ip,actions=output:1\npriority=2,tcp,actions=output:2\npriority=3,udp,actions=output:3",
    );
    let msgs = vec![
        BundleMsg::FlowMod(fm(Command::DeleteStrict, "priority=2,tcp")),
        BundleMsg::FlowMod(add("priority=1,ip,actions=output:3")),
        BundleMsg::FlowMod(fm(Command::Modify, "udp,actions=output:1")),
        BundleMsg::FlowMod(add("priority=7,arp,actions=drop")),
    ];
    let mut plain = live.clone();
    plain.bundle_commit(&msgs, 1000).unwrap();
    let st = staged(&live, &msgs, 1000);
    assert_eq!(st.len(), 4);
    let StagedCommit::Ready(next) = st.commit(&live, 1000) else {
        panic!("not ready")
    };
    assert_eq!(stats(&next, 1000), stats(&plain, 1000));
    assert_eq!(next.n_flows(), 3);
    assert_eq!(acts(&next, "in_port=1,ip"), "3");
    assert_eq!(acts(&next, "in_port=2,udp"), "1");
    assert_eq!(acts(&next, "in_port=2,tcp"), "3");
    assert!(next.generation() > live.generation());
    // The live tables were not touched.
    assert_eq!(live.n_flows(), 3);
    assert_eq!(acts(&live, "in_port=1,tcp"), "2");
}

#[test]
fn a_change_to_the_live_tables_makes_the_staged_copy_stale() {
    let mut live = bridge(2);
    load(&mut live, "priority=1,ip,actions=output:1");
    let st = staged(
        &live,
        &[BundleMsg::FlowMod(add("priority=2,ip,actions=drop"))],
        0,
    );
    try_add(&mut live, "priority=3,arp,actions=drop").unwrap();
    assert!(matches!(st.commit(&live, 0), StagedCommit::Stale(_)));
    // A port change counts too (ports are checked at install).
    let st = staged(
        &live,
        &[BundleMsg::FlowMod(add("priority=2,ip,actions=drop"))],
        0,
    );
    live.port_remove(2);
    assert!(matches!(st.commit(&live, 0), StagedCommit::Stale(_)));
    // Traffic does not: counters are not tables.
    let st = staged(
        &live,
        &[BundleMsg::FlowMod(add("priority=2,ip,actions=drop"))],
        0,
    );
    let t = xlate(&live, "in_port=1,ip");
    live.credit(&t.rules, 1, 60, 5);
    assert!(matches!(st.commit(&live, 5), StagedCommit::Ready(_)));
}

#[test]
fn the_first_failing_message_is_the_commits_error_and_later_ones_are_not_applied() {
    let live = bridge(2);
    let msgs = vec![
        BundleMsg::FlowMod(add("priority=2,ip,actions=output:2")),
        BundleMsg::FlowMod(add("priority=3,ip,actions=group:9")),
        BundleMsg::FlowMod(add_with_match("arp", "ip,actions=ct(table=1)")),
    ];
    let st = staged(&live, &msgs, 0);
    assert_eq!(st.len(), 3);
    match st.commit(&live, 0) {
        StagedCommit::Failed(i, e, _) => assert_eq!((i, e), (1, OfpError::OFPBAC_BAD_OUT_GROUP)),
        other => panic!("{other:?}"),
    }
    assert_eq!(live.n_flows(), 0);
}

/// What depends on the moment of the commit is taken then: a replacing
/// rule keeps the traffic its predecessor got while the bundle was open,
/// and FLOW_REMOVED for a deleted rule carries its counters and age at
/// the commit.
#[test]
fn counters_carried_over_and_flow_removed_are_those_at_the_commit() {
    let mut live = bridge(3);
    load(
        &mut live,
        "priority=5,ip,actions=output:1\npriority=6,send_flow_rem,tcp,actions=output:2\npriority=7,udp,actions=output:3",
    );
    let msgs = vec![
        BundleMsg::FlowMod(add("priority=5,ip,actions=output:2")),
        BundleMsg::FlowMod(fm(Command::DeleteStrict, "priority=6,tcp")),
        BundleMsg::FlowMod(fm(Command::ModifyStrict, "priority=7,udp,actions=output:1")),
    ];
    let st = staged(&live, &msgs, 1000);
    // Traffic after the messages were staged, before the commit.
    for (pkt, n) in [
        ("in_port=3,ip", 2),
        ("in_port=3,tcp", 3),
        ("in_port=1,udp", 4),
    ] {
        let t = xlate(&live, pkt);
        live.credit(&t.rules, n, n * 100, 2000);
    }
    let StagedCommit::Ready(mut next) = st.commit(&live, 4000) else {
        panic!("not ready")
    };
    let mut plain = live.clone();
    plain.bundle_commit(&msgs, 4000).unwrap();
    // The replaced (ip) and modified (udp) rules kept every packet; the
    // replacing ADD counts from when it was staged, as OVS creates a
    // bundled rule when its message is added.
    assert_eq!(stats(&next, 4000), vec![(7, 4, 400, 4), (5, 2, 200, 3)]);
    assert_eq!(
        flow_removed(&mut next, 4000),
        flow_removed(&mut plain, 4000),
    );
    assert_eq!(
        flow_removed(&mut live.clone(), 4000),
        Vec::new(),
        "the live copy owes nothing"
    );
    let mut again = live.clone();
    let st = staged(&again, &msgs[1..2], 1000);
    let StagedCommit::Ready(mut n2) = st.commit(&again, 4000) else {
        panic!("not ready")
    };
    assert_eq!(
        flow_removed(&mut n2, 4000),
        vec![(6, FlowRemovedReason::DELETE, 3, 4)]
    );
    let _ = flow_removed(&mut again, 4000);
}

/// Two bundles staged from the same snapshot: the first commit publishes,
/// the second finds the tables changed (stale) and the caller commits its
/// messages again on the current tables; nothing of the first is lost.
#[test]
fn of_two_bundles_staged_from_one_snapshot_the_second_goes_stale() {
    use ofproto::upcall::{Handler, StagedPublish};
    let mut of = bridge(2);
    load(&mut of, "priority=1,ip,actions=output:1");
    let h = Handler::new(of, std::sync::Arc::new(|| 0));
    let a = vec![BundleMsg::FlowMod(add("priority=2,tcp,actions=output:2"))];
    let b = vec![BundleMsg::FlowMod(add("priority=3,udp,actions=drop"))];
    let (mut sa, mut sb) = (None, None);
    for m in &a {
        h.bundle_stage(&mut sa, m.clone(), 10);
    }
    for m in &b {
        h.bundle_stage(&mut sb, m.clone(), 10);
    }
    assert!(matches!(
        h.bundle_commit_staged(sa.unwrap(), 20),
        StagedPublish::Published(_)
    ));
    assert_eq!(h.snapshot().n_flows(), 2);
    assert!(matches!(
        h.bundle_commit_staged(sb.unwrap(), 20),
        StagedPublish::Stale(_)
    ));
    assert_eq!(
        h.snapshot().n_flows(),
        2,
        "a stale commit publishes nothing"
    );
    h.bundle_commit_owned(b, 20).unwrap();
    let of = h.snapshot();
    assert_eq!(of.n_flows(), 3);
    assert_eq!(acts(&of, "in_port=1,tcp"), "2");
    assert_eq!(acts(&of, "in_port=1,udp"), "drop");
}

/// Deleting a meter no rule uses still changes the generation: a flow
/// staged against it must not be published (a plain commit refuses it).
#[test]
fn deleting_an_unused_meter_makes_a_bundle_that_uses_it_stale() {
    use ofp_codec::msg::meter_mod::{MeterBand, MeterBandType, MeterCommand, MeterMod, OFPMF_KBPS};
    let mut live = bridge(2);
    let mm = MeterMod {
        command: MeterCommand::ADD,
        flags: OFPMF_KBPS,
        meter_id: 1,
        bands: vec![MeterBand {
            band_type: MeterBandType::DROP,
            rate: 1000,
            burst_size: 0,
            prec_level: 0,
        }],
    };
    live.handle_meter_mod(&mm, 0).unwrap();
    let msgs = vec![BundleMsg::FlowMod(add(
        "priority=2,ip,actions=meter:1,output:2",
    ))];
    let st = staged(&live, &msgs, 0);
    let del = MeterMod {
        command: MeterCommand::DELETE,
        bands: Vec::new(),
        ..mm
    };
    live.handle_meter_mod(&del, 0).unwrap();
    assert!(matches!(st.commit(&live, 0), StagedCommit::Stale(_)));
    assert!(live.bundle_commit(&msgs, 0).is_err());
}
