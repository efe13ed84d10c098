//! `UpcallHandler::may_install`: asked before an upcall's megaflow is
//! installed; a refusal leaves the classifier unchanged while the packet
//! still runs the reply's actions.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use datapath::actions::DpAction;
use datapath::key::FlowKey;
use datapath::{Datapath, DatapathConfig, Upcall, UpcallHandler, UpcallReply};

/// Sends everything to port 7 under an all-zero mask (one megaflow for
/// everything), installing only while `allow` is set.
#[derive(Default)]
struct Veto {
    allow: AtomicBool,
    asked: AtomicU64,
    upcalls: AtomicU64,
}

impl UpcallHandler for Veto {
    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply> {
        self.upcalls.fetch_add(1, Ordering::Relaxed);
        batch
            .iter()
            .map(|_| UpcallReply::install(FlowKey::default(), [DpAction::Output(7)]))
            .collect()
    }
    fn may_install(&self, _key: &FlowKey, _reply: &UpcallReply) -> bool {
        self.asked.fetch_add(1, Ordering::Relaxed);
        self.allow.load(Ordering::Relaxed)
    }
}

fn frame() -> Vec<u8> {
    let mut f = vec![0x50, 0x54, 0, 0, 0, 2, 0x50, 0x54, 0, 0, 0, 1, 0x88, 0xb5];
    f.resize(60, 0);
    f
}

#[test]
fn a_refused_install_executes_the_packet_and_installs_nothing() {
    let h = Arc::new(Veto::default());
    let cfg = DatapathConfig {
        n_threads: 1,
        ..DatapathConfig::default()
    };
    let (dp, _rx) = Datapath::new(cfg, h.clone(), None);
    let send = || dp.execute(&frame(), 1, &[DpAction::Recirc(0)]);
    send();
    assert!(dp.flow_dump().is_empty());
    assert_eq!(h.asked.load(Ordering::Relaxed), 1);
    // The packet ran the reply's actions (output to a port the datapath
    // does not have).
    assert_eq!(dp.stats().tx_unknown_port, 1);
    // Refused again: every packet goes up.
    send();
    assert_eq!(h.upcalls.load(Ordering::Relaxed), 2);
    assert!(dp.flow_dump().is_empty());
    h.allow.store(true, Ordering::Relaxed);
    send();
    assert_eq!(dp.flow_dump().len(), 1);
    // Now a hit: no upcall, and not asked again.
    send();
    assert_eq!(h.upcalls.load(Ordering::Relaxed), 3);
    assert_eq!(h.asked.load(Ordering::Relaxed), 3);
    assert_eq!(dp.stats().tx_unknown_port, 4);
}
