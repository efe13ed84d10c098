//! The datapath's upcall handler and revalidator, around published
//! `Ofproto` snapshots.
//!
//! [`Handler`] keeps the current [`Ofproto`] as an immutable snapshot
//! (`Arc<Ofproto>`). Upcalls and revalidation translate on a snapshot taken
//! with one pointer copy and never wait for flow-table changes:
//! - single changes ([`Handler::modify`]: a flow-mod, port change, ...) are
//!   applied in place while holding the slot's write lock for the few
//!   microseconds they take;
//! - a bundle ([`Handler::bundle_commit`]) is applied to a copy (tables are
//!   shared copy-on-write, so only the tables it touches are copied) while
//!   translations keep using the old snapshot, then published with one
//!   pointer swap: forwarding never sees a half-applied bundle and upcalls
//!   never wait for it.
//!
//! Rule counters are shared atomics, so crediting traffic (upcalls, the
//! revalidator's megaflow deltas) needs no write access. Learned flows are
//! installed through [`Handler::modify`].

use std::sync::Arc;

use datapath::{Megaflow, Revalidate, Upcall, UpcallHandler, UpcallReply};
use hashbrown::HashMap;
use ofp_codec::OfpError;
use parking_lot::{Mutex, RwLock};

use crate::flow_mod::BundleMsg;
use crate::ofproto::Ofproto;
use crate::xlate::{Translation, XlateOptions};

/// Milliseconds on the owner's clock; the handler is sans-IO too.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// See the module documentation.
pub struct Handler {
    slot: RwLock<Arc<Ofproto>>,
    /// Serializes writers (so a bundle built on a copy loses no change).
    writer: Mutex<()>,
    clock: Clock,
    /// Counters of each megaflow at the last revalidation (by megaflow id).
    seen: Mutex<HashMap<u64, (u64, u64)>>,
}

impl Handler {
    pub fn new(ofproto: Ofproto, clock: Clock) -> Self {
        Handler {
            slot: RwLock::new(Arc::new(ofproto)),
            writer: Mutex::new(()),
            clock,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// The current snapshot (one pointer copy).
    pub fn snapshot(&self) -> Arc<Ofproto> {
        self.slot.read().clone()
    }

    /// Applies a change in place (or on a private copy if an older snapshot
    /// is still in use) and publishes it.
    pub fn modify<R>(&self, f: impl FnOnce(&mut Ofproto) -> R) -> R {
        let _w = self.writer.lock();
        let mut slot = self.slot.write();
        f(Arc::make_mut(&mut slot))
    }

    /// Applies a bundle on a copy and publishes it atomically; on error
    /// nothing is published. Translations use the previous snapshot until
    /// the swap.
    pub fn bundle_commit(&self, msgs: &[BundleMsg], now_ms: u64) -> Result<(), (usize, OfpError)> {
        let _w = self.writer.lock();
        let mut next: Ofproto = (**self.slot.read()).clone();
        next.bundle_commit(msgs, now_ms)?;
        *self.slot.write() = Arc::new(next);
        Ok(())
    }

    /// Pushes a megaflow's new packets and bytes (since the last call for
    /// it) to the rules its key translates through, as OVS's revalidator
    /// does, so that flow statistics and idle timeouts see fast-path
    /// traffic; then returns the revalidation verdict. Use as
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
        let of = self.snapshot();
        let t = of.translate(
            &m.key,
            XlateOptions {
                now_ms,
                side_effects: false,
                trace: false,
            },
        );
        if dp > 0 {
            of.credit_translation(&t, dp, db, now_ms);
        }
        let verdict = verdict_for(m, t);
        if matches!(verdict, Revalidate::Delete) {
            self.seen.lock().remove(&m.id);
        }
        verdict
    }
}

/// One megaflow's verdict against `of`: same actions → keep; different
/// actions under a mask that still covers the new translation's → modify;
/// otherwise delete (the next packet upcalls again).
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

fn verdict_for(m: &Megaflow, t: Translation) -> Revalidate {
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
        let of = self.snapshot();
        let mut learned = Vec::new();
        let replies = batch
            .iter()
            .map(|u| {
                let t = of.translate(&u.key, opts);
                of.credit_translation(&t, 1, u.packet.len() as u64, now_ms);
                let install = t.error.is_none() && t.learned.is_empty();
                learned.extend(t.learned);
                UpcallReply {
                    mask: t.mask,
                    actions: t.actions,
                    install,
                    events: Vec::new(),
                }
            })
            .collect();
        drop(of);
        if !learned.is_empty() {
            self.modify(|of| {
                for fm in &learned {
                    // A learned flow OVS would refuse is dropped, as OVS drops it.
                    let _ = of.handle_flow_mod(fm, now_ms);
                }
            });
        }
        replies
    }
}
