//! An upcall translated before a flow-table change, whose megaflow reaches
//! the datapath only after the revalidation pass for that change started,
//! is not installed: no megaflow forwards by the old tables once a sync
//! point (barrier, packet-out, ...) has passed. The upcall is held between
//! its translation and its install by a gate in front of the handler, so
//! the interleaving is forced, not hoped for.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use common::*;
use datapath::key::FlowKey;
use datapath::{Datapath, DatapathConfig, DpAction, Megaflow, Upcall, UpcallHandler, UpcallReply};
use ofproto::upcall::Handler;

/// Forwards to the handler; once armed, the next upcall stops after its
/// translation (before the datapath installs its megaflow) until released.
struct Gate {
    h: Arc<Handler>,
    armed: Mutex<Option<(SyncSender<()>, Receiver<()>)>>,
}

impl UpcallHandler for Gate {
    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply> {
        let replies = self.h.upcall(batch);
        let armed = self.armed.lock().unwrap().take();
        if let Some((translated, go)) = armed {
            translated.send(()).unwrap();
            go.recv().unwrap();
        }
        replies
    }
    fn may_install(&self, key: &FlowKey, reply: &UpcallReply) -> bool {
        self.h.may_install(key, reply)
    }
    fn megaflow_installed(&self, flow: &Megaflow) {
        self.h.megaflow_installed(flow)
    }
    fn megaflow_removed(&self, flow: &Megaflow) {
        self.h.megaflow_removed(flow)
    }
}

struct Race {
    dp: Datapath,
    h: Arc<Handler>,
    gate: Arc<Gate>,
}

impl Race {
    fn new(flows: &str) -> Race {
        let mut of = bridge(3);
        load(&mut of, flows);
        let now = Arc::new(AtomicU64::new(0));
        let h = Arc::new(Handler::new(
            of,
            Arc::new(move || now.load(Ordering::Relaxed)),
        ));
        let gate = Arc::new(Gate {
            h: h.clone(),
            armed: Mutex::new(None),
        });
        let cfg = DatapathConfig {
            n_threads: 1,
            ..DatapathConfig::default()
        };
        let (dp, _rx) = Datapath::new(cfg, gate.clone(), None);
        Race { dp, h, gate }
    }

    /// A TCP packet from source port `sport` in port 1 (through the caches
    /// and, on a miss, an upcall in this thread).
    fn send(&self, sport: u16) {
        self.dp
            .execute(&tcp_frame(sport), 1, &[DpAction::Recirc(0)]);
    }

    /// Sends a packet from `sport` whose upcall stops after translating;
    /// runs `meanwhile` then, and lets the upcall install.
    fn send_held(&self, sport: u16, meanwhile: impl FnOnce()) {
        let (translated_tx, translated) = sync_channel(1);
        let (go, go_rx) = sync_channel(1);
        *self.gate.armed.lock().unwrap() = Some((translated_tx, go_rx));
        std::thread::scope(|s| {
            let t = s.spawn(|| self.send(sport));
            translated.recv().unwrap();
            meanwhile();
            go.send(()).unwrap();
            t.join().unwrap();
        });
    }

    fn actions(&self, sport: u16) -> Option<Vec<DpAction>> {
        self.dp
            .flow_dump()
            .iter()
            .find(|f| f.orig.tp_src() == sport)
            .map(|f| f.actions.to_vec())
    }

    /// Packets sent to ports the datapath does not have (it has none):
    /// every output.
    fn outputs(&self) -> u64 {
        self.dp.stats().tx_unknown_port
    }
}

const FLOWS: &str = "priority=10,tcp,actions=output:2";
const CHANGE: &str = "priority=20,tcp,tp_src=5,actions=output:3";

#[test]
fn a_translation_overtaken_by_a_sync_pass_installs_no_megaflow() {
    let r = Race::new(FLOWS);
    r.send_held(5, || {
        // The upcall has translated (output:2); the table changes and the
        // switch's sync point (say, a barrier) runs its pass meanwhile.
        r.h.modify(|of| of.handle_flow_mod(&add(CHANGE), 0).unwrap());
        assert!(r.h.sync_datapath(&r.dp));
    });
    // The barrier is answered: nothing may forward by the old rule now.
    assert_eq!(
        r.actions(5),
        None,
        "stale megaflow installed after the pass"
    );
    assert_eq!(r.h.reval_stats().refused_installs, 1);
    assert!(!r.h.needs_revalidation());
    // The packet itself ran the actions it was given.
    assert_eq!(r.outputs(), 1);
    // The next packet upcalls on the new tables and installs.
    r.send(5);
    assert_eq!(r.actions(5), Some(vec![DpAction::Output(3)]));
    assert_eq!(r.h.reval_stats().refused_installs, 1);
    assert_eq!(r.outputs(), 2);
}

#[test]
fn a_pass_for_an_older_generation_does_not_refuse_a_current_translation() {
    let r = Race::new(FLOWS);
    // A change, then a pass for it: the held upcall translates after both.
    r.h.modify(|of| of.handle_flow_mod(&add(CHANGE), 0).unwrap());
    assert!(r.h.sync_datapath(&r.dp));
    r.send_held(5, || {
        // A periodic pass with no change since the translation.
        r.h.revalidate_datapath(&r.dp);
    });
    assert_eq!(r.actions(5), Some(vec![DpAction::Output(3)]));
    assert_eq!(r.h.reval_stats().refused_installs, 0);
    assert_eq!(r.h.reval_stats().stale_installs, 0);
}

#[test]
fn a_change_with_no_pass_yet_leaves_the_install_to_the_next_sync_point() {
    let r = Race::new(FLOWS);
    r.send_held(5, || {
        r.h.modify(|of| of.handle_flow_mod(&add(CHANGE), 0).unwrap());
    });
    // No pass overtook it: installed, known stale, and the next sync point
    // (which must run, the tables changed) fixes it.
    assert_eq!(r.actions(5), Some(vec![DpAction::Output(2)]));
    assert_eq!(r.h.reval_stats().stale_installs, 1);
    assert!(r.h.needs_revalidation());
    assert!(r.h.sync_datapath(&r.dp));
    let a = r.actions(5);
    assert!(a.is_none() || a == Some(vec![DpAction::Output(3)]), "{a:?}");
}

#[test]
fn many_upcalls_racing_flow_mods_and_barriers_leave_no_stale_megaflow() {
    // Not forced: threads race for real. After every barrier-like sync, each
    // megaflow's actions are those of the current tables.
    let r = Race::new(FLOWS);
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..2u16 {
            let (r, stop) = (&r, &stop);
            s.spawn(move || {
                let mut i = 0u16;
                while !stop.load(Ordering::Relaxed) {
                    r.send(1000 + t * 100 + i % 100);
                    i = i.wrapping_add(1);
                }
            });
        }
        for round in 0..200u16 {
            let port = 2 + u32::from(round % 2);
            let line = format!("priority=20,tcp,actions=output:{port}");
            r.h.modify(|of| of.handle_flow_mod(&add(&line), 0).unwrap());
            r.h.sync_datapath(&r.dp);
            for f in r.dp.flow_dump() {
                assert_eq!(
                    f.actions.to_vec(),
                    vec![DpAction::Output(port)],
                    "round {round}: stale megaflow after the sync"
                );
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
}
