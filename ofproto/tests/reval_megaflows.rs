//! The revalidator's bookkeeping around a real datapath: a megaflow
//! installed from a translation older than the tables is caught, and the
//! counters kept per megaflow leave with it (flush, delete) but survive a
//! modify.

mod common;

use common::*;
use datapath::{DpAction, PacketMeta, Upcall, UpcallHandler, extract};
use ofp_codec::msg::flow_stats::FlowStatsRequest;

/// Every TCP packet to port 2, one megaflow per source port.
const FLOWS: &str = "priority=10,tcp,actions=move:NXM_OF_TCP_SRC[]->NXM_NX_REG0[0..15],output:2";

impl Bed {
    fn actions(&self, sport: u16) -> Option<Vec<DpAction>> {
        self.dp
            .flow_dump()
            .iter()
            .find(|f| f.orig.tp_src() == sport)
            .map(|f| f.actions.to_vec())
    }

    /// Packet counts of the flows, by priority.
    fn packets(&self) -> Vec<(u16, u64)> {
        let mut v: Vec<(u16, u64)> = self
            .h
            .snapshot()
            .flow_stats(&FlowStatsRequest::default(), 0)
            .iter()
            .map(|s| (s.priority, s.packet_count))
            .collect();
        v.sort();
        v
    }
}

#[test]
fn a_megaflow_translated_before_a_change_and_installed_after_its_pass_is_caught() {
    let bed = Bed::new(FLOWS);
    let frame = tcp_frame(5);
    let meta = PacketMeta {
        in_port: 1,
        ..PacketMeta::default()
    };
    let key = extract(&meta, &frame);
    // The upcall translates on the old table...
    let reply = bed.h.upcall(&[Upcall {
        key,
        meta,
        packet: frame,
    }]);
    assert_eq!(reply[0].actions.to_vec(), vec![DpAction::Output(2)]);
    // ...the table changes and its pass runs on another thread (the
    // switch's), with nothing installed yet...
    bed.h.modify(|of| {
        of.handle_flow_mod(&add("priority=20,tcp,tp_src=5,actions=output:3"), 0)
            .unwrap()
    });
    let ran = std::thread::scope(|s| s.spawn(|| bed.h.sync_datapath(&bed.dp)).join());
    assert!(ran.unwrap());
    assert!(!bed.h.needs_revalidation());
    // ...then the upcall's thread installs the stale megaflow.
    bed.dp
        .flow_put(&key, &reply[0].mask, reply[0].actions.clone())
        .unwrap();
    assert_eq!(bed.h.reval_stats().stale_installs, 1);
    assert!(bed.h.needs_revalidation(), "the stale install is noticed");
    assert!(bed.h.sync_datapath(&bed.dp));
    let a = bed.actions(5);
    assert!(a.is_none() || a == Some(vec![DpAction::Output(3)]), "{a:?}");
    // A fresh upcall's megaflow is not stale.
    bed.send(6);
    assert_eq!(bed.h.reval_stats().stale_installs, 1);
    assert!(!bed.h.needs_revalidation());
}

#[test]
fn megaflow_counters_leave_with_their_megaflow() {
    let bed = Bed::new(FLOWS);
    for sport in 1..=10 {
        bed.send(sport);
    }
    assert_eq!(bed.h.n_tracked_megaflows(), 0);
    bed.h.revalidate_datapath(&bed.dp);
    assert_eq!(bed.h.n_tracked_megaflows(), 10);
    let one = bed.dp.flow_dump()[0].id;
    assert!(bed.dp.flow_del(one));
    assert_eq!(bed.h.n_tracked_megaflows(), 9);
    bed.dp.flow_flush();
    assert_eq!(bed.h.n_tracked_megaflows(), 0);
    // Churn: megaflows come and go, the revalidator's table follows.
    for round in 0..20u16 {
        for sport in 0..50 {
            bed.send(1000 + round * 50 + sport);
        }
        bed.h.revalidate_datapath(&bed.dp);
        assert_eq!(bed.h.n_tracked_megaflows(), bed.dp.flow_dump().len());
        bed.dp.flow_flush();
    }
    assert_eq!(bed.h.n_tracked_megaflows(), 0);
}

#[test]
fn a_modified_megaflow_keeps_its_counters_and_credits_nothing_twice() {
    let bed = Bed::new(FLOWS);
    for _ in 0..3 {
        bed.send(1);
    }
    bed.h.revalidate_datapath(&bed.dp);
    assert_eq!(bed.packets(), vec![(10, 3)]);
    // The megaflow's translation changes under the same mask: modified.
    bed.h.modify(|of| {
        of.handle_flow_mod(&add("priority=20,tcp,tp_src=1,actions=output:3"), 0)
            .unwrap()
    });
    let id = bed.dp.flow_dump()[0].id;
    assert_eq!(bed.h.revalidate_datapath(&bed.dp), (0, 1));
    let f = &bed.dp.flow_dump()[0];
    assert_eq!(
        (f.id, f.stats().packets),
        (id, 2),
        "same megaflow, same counters"
    );
    assert_eq!(bed.h.n_tracked_megaflows(), 1);
    // Its old packets were credited once, to the old flow.
    bed.h.revalidate_datapath(&bed.dp);
    assert_eq!(bed.packets(), vec![(10, 3), (20, 0)]);
    bed.send(1);
    bed.h.revalidate_datapath(&bed.dp);
    assert_eq!(bed.packets(), vec![(10, 3), (20, 1)]);
}
