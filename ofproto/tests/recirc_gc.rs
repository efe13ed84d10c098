//! Recirculation ids through a real datapath: megaflows hold the ids they
//! use, the revalidator deletes idle megaflows, and `Ofproto::run` frees ids
//! a grace period after their last megaflow is gone — so the id table stays
//! bounded while connections churn through `ct(table=1)` flows.

mod common;

use common::*;
use datapath::DpAction;

/// A pipeline whose continuation depends on the TCP source port.
const CT_FLOWS: &str =
    "table=0,priority=10,tcp,actions=move:NXM_OF_TCP_SRC[]->NXM_NX_REG0[0..15],ct(table=1)
             table=1,priority=10,ct_state=+trk,tcp,actions=output:2";

impl Bed {
    fn n_ids(&self) -> usize {
        self.h.snapshot().n_recirc_ids()
    }
}

#[test]
fn each_connections_megaflows_hold_its_id_and_release_it_when_deleted() {
    let bed = Bed::with_timeouts(CT_FLOWS, 10_000, 1_000);
    bed.send(1000);
    bed.send(1001);
    let flows = bed.dp.flow_dump();
    // Per connection: one megaflow before the recirculation, one after.
    assert_eq!(flows.len(), 4, "{}", bed.dp.flow_dump_text());
    let ids: Vec<u32> = flows
        .iter()
        .filter_map(|f| match f.actions.last() {
            Some(DpAction::Recirc(id)) => Some(*id),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(
        ids[0], ids[1],
        "different registers, different continuations"
    );
    for &id in &ids {
        assert_eq!(bed.h.snapshot().recirc_refs(id), Some(2));
    }
    // The same connection again: megaflow hits, no new id.
    bed.send(1000);
    assert_eq!(bed.n_ids(), 2);
    assert_eq!(bed.dp.flow_dump().len(), 4);
    // Deleting one pre-recirculation megaflow drops one reference.
    let pre = flows
        .iter()
        .find(|f| f.actions.last() == Some(&DpAction::Recirc(ids[0])))
        .unwrap();
    assert!(bed.dp.flow_del(pre.id));
    assert_eq!(bed.h.snapshot().recirc_refs(ids[0]), Some(1));
    // Flushing drops the rest; ids survive the grace period, then go.
    bed.dp.flow_flush();
    assert_eq!(bed.h.snapshot().recirc_refs(ids[0]), Some(0));
    bed.tick(100);
    bed.tick(1_099);
    assert_eq!(bed.n_ids(), 2, "inside the grace");
    bed.tick(1_100);
    assert_eq!(bed.n_ids(), 0);
    // Traffic again: fresh ids, working continuations.
    bed.send(1000);
    assert_eq!(bed.dp.flow_dump().len(), 2);
    assert_eq!(bed.n_ids(), 1);
    assert!(
        !ids.contains(
            &bed.dp
                .flow_dump()
                .iter()
                .find_map(|f| match f.actions.last() {
                    Some(DpAction::Recirc(id)) => Some(*id),
                    _ => None,
                })
                .unwrap()
        )
    );
}

#[test]
fn the_id_table_stays_bounded_while_connections_churn() {
    let bed = Bed::for_churn(CT_FLOWS);
    let n_conns = 3_000u16;
    let mut peak_flows = 0;
    // Every id is freed when traffic stops.
    let peak_ids = bed.churn(n_conns, Bed::n_ids, |bed, _| {
        peak_flows = peak_flows.max(bed.dp.flow_dump().len());
    });
    eprintln!("{n_conns} connections: peak {peak_ids} recirc ids, peak {peak_flows} megaflows");
    // Per live connection, at most a megaflow before and one after the
    // recirculation.
    let (max_idle, tick, step) = (CHURN_MAX_IDLE_MS, CHURN_TICK_MS, CHURN_STEP_MS);
    assert!(peak_flows <= 2 * ((max_idle + 2 * tick) / step) as usize + 2);
    assert_eq!(
        bed.h.snapshot().recirc_stats().allocated,
        u64::from(n_conns)
    );
    assert_eq!(bed.h.snapshot().recirc_stats().freed, u64::from(n_conns));
}

#[test]
fn a_flow_table_change_never_resumes_into_a_deleted_rule() {
    let bed = Bed::with_timeouts(CT_FLOWS, 10_000, 1_000);
    bed.send(2000);
    let post = |bed: &Bed| -> Vec<String> {
        bed.dp
            .flow_dump()
            .iter()
            .filter(|f| f.key.recirc_id() != 0)
            .map(|f| datapath::actions::format_actions(&f.actions))
            .collect()
    };
    assert_eq!(post(&bed), ["2"]);
    // The rule the continuation resumed into is replaced by one sending elsewhere...
    bed.h.modify(|of| {
        of.handle_flow_mod(
            &fm(
                ofp_codec::text::Command::DeleteStrict,
                "table=1,priority=10,ct_state=+trk,tcp",
            ),
            0,
        )
        .unwrap();
        of.handle_flow_mod(&add("table=1,priority=20,tcp,actions=output:3"), 0)
            .unwrap();
    });
    bed.tick(1);
    assert_eq!(post(&bed), ["3"], "resumes with a lookup in today's table");
    // ... then table 1 is emptied: the continuation misses (drop).
    bed.h.modify(|of| {
        of.handle_flow_mod(&fm(ofp_codec::text::Command::Delete, "table=1"), 0)
            .unwrap();
    });
    bed.tick(2);
    let p = post(&bed);
    assert!(p.is_empty() || p == ["drop"], "{p:?}");
    bed.send(2000);
    assert_eq!(post(&bed), ["drop"]);
}
