//! Paused translations (`controller(pause)`) through a real datapath: a
//! paused state lives while megaflows send to its cookie and is freed a
//! grace period after, so the table stays bounded while connections with
//! packet-derived frozen state churn, and empties when traffic stops. A
//! continuation outlives its table entry: resuming reads only the
//! continuation.

mod common;

use common::*;
use datapath::DpAction;
use ofproto::xlate::PAUSE_COOKIE_BIT;
use ofproto::{PacketInEvent, XlateOptions};

/// A pause per connection: the frozen state holds the connection's source
/// port in reg0 (packet-derived, so every connection interns a new state).
const PAUSE: &str = "table=0,priority=10,tcp,actions=move:NXM_OF_TCP_SRC[]->NXM_NX_REG0[0..15],controller(pause),output:2";

impl Bed {
    /// The packet-ins of the packets the datapath sent up so far.
    fn packet_ins(&self) -> Vec<PacketInEvent> {
        let of = self.h.snapshot();
        self.rx
            .try_iter()
            .filter_map(|up| of.packet_in(&up))
            .collect()
    }

    fn n_paused(&self) -> usize {
        self.h.snapshot().n_paused_states()
    }

    /// The cookie of the userspace action of the only megaflow.
    fn cookie(&self) -> u64 {
        let flows = self.dp.flow_dump();
        assert_eq!(flows.len(), 1);
        flows[0]
            .actions
            .iter()
            .find_map(|a| match a {
                DpAction::Userspace { userdata } => Some(*userdata),
                _ => None,
            })
            .expect("a userspace action")
    }
}

const OPTS: XlateOptions = XlateOptions {
    now_ms: 0,
    side_effects: true,
    trace: false,
};

#[test]
fn a_paused_state_lives_with_its_megaflow_then_is_freed_after_the_grace() {
    let bed = Bed::with_timeouts(PAUSE, 10_000, 1_000);
    bed.send(1000);
    let cookie = bed.cookie();
    assert_ne!(cookie & PAUSE_COOKIE_BIT, 0);
    assert_eq!(bed.h.snapshot().paused_state_refs(cookie), Some(1));
    let pins = bed.packet_ins();
    assert_eq!(pins.len(), 1);
    assert!(!pins[0].continuation.is_empty());
    // The same connection again: same state, no new entry.
    bed.send(1000);
    bed.send(1001);
    assert_eq!(bed.n_paused(), 2);
    bed.tick(100);
    bed.tick(5_000);
    assert_eq!(bed.n_paused(), 2, "megaflows hold them");
    bed.dp.flow_flush();
    assert_eq!(bed.h.snapshot().paused_state_refs(cookie), Some(0));
    bed.tick(5_100);
    bed.tick(6_099);
    assert_eq!(bed.n_paused(), 2, "inside the grace");
    bed.tick(6_100);
    assert_eq!(bed.n_paused(), 0);
    assert_eq!(bed.h.snapshot().paused_state_refs(cookie), None);
    // The controller answers late: the continuation alone resumes it.
    let (pin, paused) = resume_of(&pins[0]);
    let t = bed
        .h
        .snapshot()
        .resume_translation(&pin, &paused, OPTS)
        .expect("resumed after the state was freed");
    assert_eq!(datapath::actions::format_actions(&t.actions), "2");
    // Traffic again: a fresh state that works.
    bed.send(1000);
    assert_eq!(bed.n_paused(), 1);
    assert_eq!(bed.packet_ins().len(), 1);
}

#[test]
fn the_paused_state_table_stays_bounded_while_connections_churn_and_empties_when_quiet() {
    let bed = Bed::for_churn(PAUSE);
    let n_conns = 2_000u16;
    let mut pins = 0;
    // Packet-ins are read as they come (a freed state gives none); the
    // megaflows idle out and every state is freed when traffic stops.
    let peak = bed.churn(n_conns, Bed::n_paused, |bed, _| {
        pins += bed.packet_ins().len();
    });
    assert_eq!(pins, usize::from(n_conns), "every packet paused once");
    eprintln!("{n_conns} connections: peak {peak} paused states");
}
