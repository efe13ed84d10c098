//! The datapath's upcall handler and revalidator, around a shared `Ofproto`.
//!
//! [`Handler`] holds the `Ofproto` behind a `parking_lot::RwLock`: upcalls
//! translate under the read lock (translation only reads tables; recirc and
//! packet-in ids and MAC learning use their own small mutexes), then take the
//! write lock briefly to credit statistics and install learned flows. Flow
//! table changes take the write lock; the datapath keeps forwarding on its
//! installed megaflows meanwhile, and [`Handler::revalidate`] then fixes or
//! removes the megaflows whose translation changed.
//!
//! NOT done: tables published as immutable snapshots (RCU); a large bundle
//! holds the write lock while it applies, delaying upcalls (not forwarding
//! of already-installed megaflows).

use std::sync::Arc;

use datapath::{Megaflow, Revalidate, Upcall, UpcallHandler, UpcallReply};
use hashbrown::HashMap;
use parking_lot::{Mutex, RwLock};

use crate::ofproto::Ofproto;
use crate::xlate::XlateOptions;

/// Milliseconds on the owner's clock; the handler is sans-IO too.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// See the module documentation.
pub struct Handler {
    pub ofproto: Arc<RwLock<Ofproto>>,
    clock: Clock,
    /// Counters of each megaflow at the last revalidation (by megaflow id).
    seen: Mutex<HashMap<u64, (u64, u64)>>,
}

impl Handler {
    pub fn new(ofproto: Arc<RwLock<Ofproto>>, clock: Clock) -> Self {
        Handler {
            ofproto,
            clock,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Pushes a megaflow's new packets and bytes (since the last call for
    /// it) to the rules its key translates through, as OVS's revalidator
    /// does, so that flow statistics and idle timeouts see fast-path traffic.
    /// Then returns the revalidation verdict. Use as
    /// `dp.revalidate(|m| handler.revalidate_and_account(m))`.
    pub fn revalidate_and_account(&self, m: &Megaflow) -> Revalidate {
        let now_ms = (self.clock)();
        let st = m.stats();
        let (dp, db) = {
            let mut seen = self.seen.lock();
            let prev = seen.insert(m.id, (st.packets, st.bytes)).unwrap_or((0, 0));
            (
                st.packets.saturating_sub(prev.0),
                st.bytes.saturating_sub(prev.1),
            )
        };
        let verdict;
        let rules;
        {
            let of = self.ofproto.read();
            let t = of.translate(
                &m.key,
                XlateOptions {
                    now_ms,
                    side_effects: false,
                    trace: false,
                },
            );
            rules = t.rules.clone();
            verdict = verdict_for(m, t);
        }
        if dp > 0 {
            self.ofproto.write().credit(&rules, dp, db, now_ms);
        }
        if matches!(verdict, Revalidate::Delete) {
            self.seen.lock().remove(&m.id);
        }
        verdict
    }

    /// Re-translates every megaflow's key: same actions → keep; different
    /// actions under a mask that still covers the new translation's → modify;
    /// otherwise delete (the next packet re-upcalls). Returns the verdicts
    /// in `dp.revalidate`'s form via `f`; use as
    /// `dp.revalidate(|m| handler.revalidate_one(m))`.
    pub fn revalidate_one(&self, m: &Megaflow) -> Revalidate {
        let of = self.ofproto.read();
        revalidate(&of, m, (self.clock)())
    }
}

/// One megaflow's verdict (see [`Handler::revalidate_one`]).
pub fn revalidate(of: &Ofproto, m: &Megaflow, now_ms: u64) -> Revalidate {
    let t = of.translate(
        &m.key,
        XlateOptions {
            now_ms,
            side_effects: false,
            trace: false,
        },
    );
    verdict_for(m, t)
}

fn verdict_for(m: &Megaflow, t: crate::xlate::Translation) -> Revalidate {
    if t.error.is_some() {
        return Revalidate::Delete;
    }
    // The new translation must not depend on bits the megaflow ignores.
    let covered = (0..m.mask.w.len()).all(|i| t.mask.w[i] & !m.mask.w[i] == 0);
    if !covered {
        return Revalidate::Delete;
    }
    if t.actions == m.actions {
        Revalidate::Keep
    } else {
        Revalidate::Modify(Box::new(t.actions))
    }
}

impl UpcallHandler for Handler {
    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply> {
        let now_ms = (self.clock)();
        let opts = XlateOptions {
            now_ms,
            side_effects: true,
            trace: false,
        };
        let results: Vec<_> = {
            let of = self.ofproto.read();
            batch.iter().map(|u| of.translate(&u.key, opts)).collect()
        };
        let mut of = self.ofproto.write();
        results
            .into_iter()
            .zip(batch)
            .map(|(t, u)| {
                of.credit(&t.rules, 1, u.packet.len() as u64, now_ms);
                for fm in &t.learned {
                    // A learn whose flow OVS would refuse is dropped, as OVS drops it.
                    let _ = of.handle_flow_mod(fm, now_ms);
                }
                UpcallReply {
                    mask: t.mask,
                    actions: t.actions,
                    install: t.error.is_none() && t.learned.is_empty(),
                }
            })
            .collect()
    }
}
