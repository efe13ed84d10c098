//! The fork table and the packet-in context table through a real datapath:
//! entries live while megaflows use them and are freed a grace period
//! after, so both stay bounded while connections churn (as the
//! recirculation ids do, see `recirc_gc.rs`).

mod common;

use common::*;
use datapath::DpAction;

/// `ct(table=1)` followed by an output: a fork per connection (the pass's
/// frozen state holds the connection's source port in reg0).
const FORKS: &str = "
    table=0,priority=10,tcp,actions=move:NXM_OF_TCP_SRC[]->NXM_NX_REG0[0..15],ct(table=1),output:3
    table=1,priority=10,ct_state=+trk,tcp,actions=output:2";

/// A packet-in per connection (its context holds the source port in reg0).
const PINS: &str =
    "table=0,priority=10,tcp,actions=move:NXM_OF_TCP_SRC[]->NXM_NX_REG0[0..15],controller";

#[test]
fn a_fork_entry_lives_with_its_megaflows_then_goes_with_its_id() {
    let bed = Bed::with_timeouts(FORKS, 10_000, 1_000);
    bed.send(1000);
    bed.send(1001);
    assert_eq!(bed.h.snapshot().n_fork_entries(), 2);
    // The same connection again: no new entry.
    bed.send(1000);
    assert_eq!(bed.h.snapshot().n_fork_entries(), 2);
    bed.tick(100);
    bed.tick(5_000);
    assert_eq!(bed.h.snapshot().n_fork_entries(), 2, "megaflows hold them");
    bed.dp.flow_flush();
    bed.tick(5_100);
    bed.tick(6_099);
    assert_eq!(bed.h.snapshot().n_fork_entries(), 2, "inside the grace");
    bed.tick(6_100);
    assert_eq!(bed.h.snapshot().n_fork_entries(), 0);
    assert_eq!(bed.h.snapshot().n_recirc_ids(), 0);
    // Traffic again: a fresh fork that works (the packet reaches table 1's
    // output after the pass and port 3 after the fork).
    bed.send(1000);
    assert_eq!(bed.h.snapshot().n_fork_entries(), 1);
    let text = bed.dp.flow_dump_text();
    assert!(
        text.contains("actions:2") || text.contains("actions:3"),
        "{text}"
    );
}

#[test]
fn the_fork_table_stays_bounded_while_connections_churn() {
    let bed = Bed::for_churn(FORKS);
    let peak = bed.churn(2_000, |b| b.h.snapshot().n_fork_entries(), |_, _| ());
    eprintln!("2000 connections: peak {peak} fork entries");
}

#[test]
fn the_packet_in_context_table_stays_bounded_while_connections_churn() {
    let bed = Bed::for_churn(PINS);
    bed.send(1);
    let flows = bed.dp.flow_dump();
    let cookie = flows[0]
        .actions
        .iter()
        .find_map(|a| match a {
            DpAction::Userspace { userdata } => Some(*userdata),
            _ => None,
        })
        .expect("a userspace action");
    assert!(bed.h.snapshot().packet_in_context_refs(cookie) == Some(1));
    bed.dp.flow_flush();
    assert!(bed.h.snapshot().packet_in_context_refs(cookie) == Some(0));
    let peak = bed.churn(2_000, |b| b.h.snapshot().n_pin_contexts(), |_, _| ());
    eprintln!("2000 connections: peak {peak} packet-in contexts");
}
