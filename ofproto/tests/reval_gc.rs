//! The fork table and the packet-in context table through a real datapath:
//! entries live while megaflows use them and are freed a grace period
//! after, so both stay bounded while connections churn (as the
//! recirculation ids do, see `recirc_gc.rs`).

mod common;

use common::*;
use datapath::DpAction;

impl Bed {
    /// Connections come and go (one every 10 ms, one packet each, ticks
    /// every 250 ms); returns the peak of `count` and checks it against
    /// megaflows idling out after 500 ms and entries freed 1 s after.
    fn churn(&self, count: impl Fn(&Bed) -> usize) -> usize {
        let (max_idle, grace, tick, step) = (500u64, 1_000u64, 250u64, 10u64);
        let n_conns = 2_000u16;
        let mut peak = 0;
        for i in 0..n_conns {
            let now = u64::from(i) * step;
            self.set_now(now);
            self.send(10_000 + i);
            if now % tick == 0 {
                self.tick(now);
            }
            peak = peak.max(count(self));
        }
        let bound = ((max_idle + grace + 3 * tick) / step) as usize + 1;
        assert!(peak <= bound, "peak {peak} > {bound}");
        assert!(
            peak >= (max_idle / step) as usize,
            "peak {peak}: freed too early?"
        );
        // Quiet: everything idles out and is freed.
        let end = u64::from(n_conns) * step;
        for t in 1..=12 {
            self.tick(end + t * tick);
        }
        assert_eq!(self.dp.flow_dump().len(), 0);
        assert_eq!(count(self), 0);
        peak
    }
}

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
    let bed = Bed::with_timeouts(FORKS, 500, 1_000);
    let peak = bed.churn(|b| b.h.snapshot().n_fork_entries());
    eprintln!("2000 connections: peak {peak} fork entries");
}

#[test]
fn the_packet_in_context_table_stays_bounded_while_connections_churn() {
    let bed = Bed::with_timeouts(PINS, 500, 1_000);
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
    let peak = bed.churn(|b| b.h.snapshot().n_pin_contexts());
    eprintln!("2000 connections: peak {peak} packet-in contexts");
}
