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
//!
//! Megaflow lifetime, as OVS's revalidator: a megaflow that has seen no
//! packet for [`Handler::max_idle_ms`] (OVS's `max-idle`, default
//! [`MAX_IDLE_MS`]) is deleted by the next revalidation. The handler also
//! implements the datapath's megaflow hooks: each installed megaflow holds a
//! reference on the recirculation ids it uses (`recirc(id)` actions and its
//! key's `recirc_id`), released when it leaves the datapath; ids are freed a
//! grace period later by [`Ofproto::run`] (see [`crate::recirc`]).
//!
//! Cost: a revalidation pass translates every megaflow (verdicts are computed
//! outside the datapath's classifier lock, so forwarding does not wait). A
//! pass after each single flow-mod therefore costs one translation per
//! megaflow per flow-mod: measured (release build, 2 loaded cores) 0.01 ms
//! per flow-mod with 1 megaflow, 0.2 ms with 100, 1.15 ms with 1,000, 6.4 ms
//! with 5,000 (156 flow-mods/s). Callers applying many flow-mods should run
//! one pass per batch, as OVS's revalidators do; no pass per flow-mod is
//! needed for correctness beyond promptness.

use std::sync::Arc;

use datapath::{DpAction, Megaflow, Revalidate, Upcall, UpcallHandler, UpcallReply};
use hashbrown::HashMap;
use ofp_codec::OfpError;
use parking_lot::{Mutex, RwLock};

use crate::flow_mod::BundleMsg;
use crate::ofproto::Ofproto;
use crate::recirc::RecircTable;
use crate::xlate::{Translation, XlateOptions};

/// Milliseconds on the owner's clock; the handler is sans-IO too.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Default idle time after which the revalidator deletes a megaflow (OVS's
/// `other_config:max-idle` default).
pub const MAX_IDLE_MS: u64 = 10_000;

/// What the revalidator remembers of a megaflow between passes.
#[derive(Clone, Copy, Debug)]
struct Seen {
    packets: u64,
    bytes: u64,
    /// When its packet count last moved (or it was first seen).
    active_ms: u64,
}

/// See the module documentation.
pub struct Handler {
    slot: RwLock<Arc<Ofproto>>,
    /// Serializes writers (so a bundle built on a copy loses no change).
    writer: Mutex<()>,
    clock: Clock,
    /// Counters of each megaflow at the last revalidation (by megaflow id).
    seen: Mutex<HashMap<u64, Seen>>,
    /// Shared with every snapshot: megaflows hold references on its ids.
    recirc: Arc<parking_lot::Mutex<RecircTable>>,
    max_idle_ms: std::sync::atomic::AtomicU64,
}

impl Handler {
    pub fn new(ofproto: Ofproto, clock: Clock) -> Self {
        let recirc = ofproto.recirc.clone();
        Handler {
            slot: RwLock::new(Arc::new(ofproto)),
            writer: Mutex::new(()),
            clock,
            seen: Mutex::new(HashMap::new()),
            recirc,
            max_idle_ms: std::sync::atomic::AtomicU64::new(MAX_IDLE_MS),
        }
    }

    /// Idle time (ms without a packet) after which revalidation deletes a megaflow.
    pub fn max_idle_ms(&self) -> u64 {
        self.max_idle_ms.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn set_max_idle_ms(&self, ms: u64) {
        self.max_idle_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }

    /// Takes or drops the references `m` holds on recirculation ids.
    fn hold_recirc_ids(&self, m: &Megaflow, acquire: bool) {
        let key_id = m.key.recirc_id();
        let mut ids = m.actions.iter().filter_map(|a| match a {
            DpAction::Recirc(id) if *id != 0 => Some(*id),
            _ => None,
        });
        let first = ids.next();
        if key_id == 0 && first.is_none() {
            return;
        }
        let mut t = self.recirc.lock();
        for id in std::iter::once(key_id)
            .filter(|&id| id != 0)
            .chain(first)
            .chain(ids)
        {
            if acquire {
                t.acquire(id);
            } else {
                t.release(id);
            }
        }
    }

    /// The current snapshot (one pointer copy).
    pub fn snapshot(&self) -> Arc<Ofproto> {
        self.slot.read().clone()
    }

    /// Applies a change in place if no translation holds the current
    /// snapshot (the slot's write lock is then held for as long as `f`
    /// takes), else on a copy built outside the lock (tables the change
    /// touches are copied) and published with a pointer swap.
    pub fn modify<R>(&self, f: impl FnOnce(&mut Ofproto) -> R) -> R {
        let _w = self.writer.lock();
        {
            let mut slot = self.slot.write();
            if let Some(of) = Arc::get_mut(&mut slot) {
                return f(of);
            }
        }
        // The writer lock is held: nobody else replaces the slot meanwhile.
        let mut next: Ofproto = (**self.slot.read()).clone();
        let r = f(&mut next);
        let old = std::mem::replace(&mut *self.slot.write(), Arc::new(next));
        drop(old);
        r
    }

    /// Applies a bundle on a copy and publishes it atomically; on error
    /// nothing is published. Translations use the previous snapshot until
    /// the swap; the previous tables are freed after the lock is released.
    pub fn bundle_commit(&self, msgs: &[BundleMsg], now_ms: u64) -> Result<(), (usize, OfpError)> {
        let _w = self.writer.lock();
        let mut next: Ofproto = (**self.slot.read()).clone();
        next.bundle_commit(msgs, now_ms)?;
        let old = std::mem::replace(&mut *self.slot.write(), Arc::new(next));
        drop(old);
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
        let (dp, db, active_ms) = {
            let mut seen = self.seen.lock();
            let prev = seen.get(&m.id).copied().unwrap_or(Seen {
                packets: 0,
                bytes: 0,
                active_ms: now_ms,
            });
            let dp = st.packets.saturating_sub(prev.packets);
            let now = Seen {
                packets: st.packets,
                bytes: st.bytes,
                active_ms: if dp > 0 { now_ms } else { prev.active_ms },
            };
            seen.insert(m.id, now);
            (dp, st.bytes.saturating_sub(prev.bytes), now.active_ms)
        };
        // (A megaflow with new packets is active now: nothing goes uncredited.)
        if now_ms.saturating_sub(active_ms) >= self.max_idle_ms() {
            self.seen.lock().remove(&m.id);
            return Revalidate::Delete;
        }
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
    fn megaflow_installed(&self, flow: &Megaflow) {
        self.hold_recirc_ids(flow, true);
    }

    fn megaflow_removed(&self, flow: &Megaflow) {
        self.hold_recirc_ids(flow, false);
    }

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
