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
//! key's `recirc_id`) and on the packet-in contexts of its `userspace`
//! actions, released when it leaves the datapath; ids are freed a grace
//! period later by [`Ofproto::run`] (see [`crate::recirc`]), fork entries
//! with their ids.
//!
//! Coalesced revalidation, as OVS's revalidators: every change
//! ([`Handler::modify`], [`Handler::bundle_commit`], a learned flow) bumps
//! the handler's table generation; nothing is revalidated then. The owner
//! calls [`Handler::sync_datapath`] where correctness needs the datapath to
//! reflect the tables (before a barrier reply, a packet-out, statistics, at
//! the end of a batch of messages, on its tick): it runs one pass if the
//! generation moved since the last pass began, else nothing; N flow-mods
//! then a barrier cost one pass, not N. [`Handler::revalidate_datapath`]
//! runs a pass unconditionally (the periodic pass that also credits
//! megaflow traffic to the rules).
//!
//! An upcall translated on an older snapshot could install its megaflow
//! after a pass already ran for the change that made it stale: the pass
//! would not see it, and it would forward by the old tables until the next
//! pass. The handler refuses such installs. The thread that translates is
//! the one that installs (the datapath asks
//! [`UpcallHandler::may_install`] from it, right after
//! [`UpcallHandler::upcall`] returns), so the generation the translation
//! read (before its snapshot) is kept per thread. A pass records the
//! generation it starts at ([`Handler::revalidate_datapath`]) before it
//! dumps the megaflows under the classifier lock, and `may_install`, asked
//! under that same lock (write side) just before the insert, refuses a
//! translation older than the last recorded pass. So either the insert
//! comes before the dump (the pass judges the megaflow against tables at
//! least as new as its start), or it comes after and sees the pass's
//! generation (and is refused if older). The packet itself still runs the
//! actions it was given (as OVS executes an upcall's packet whatever becomes
//! of its flow); the next packet upcalls again on the current tables. An
//! install that no pass has overtaken yet may still be older than the tables
//! (the change came after its translation, and no sync point since); it is
//! counted in [`RevalStats::stale_installs`] and the generation has moved,
//! so the next sync point's pass judges it.
//!
//! Ids: an install whose recirculation ids, packet-in contexts or paused
//! states were freed since its translation is refused by `may_install` too.
//! A megaflow holds references on all its ids or on none: if one of them
//! cannot be acquired when it enters the classifier (an install that did not
//! go through `may_install`, e.g. `Datapath::flow_put`), it holds none, is
//! remembered as such (nothing is released when it leaves), and it counts
//! as a stale install so the next pass deletes or fixes it.
//!
//! Cost: a pass translates every megaflow (verdicts are computed outside the
//! datapath's classifier lock, so forwarding does not wait): measured
//! (release build, 2 loaded cores) 0.01 ms with 1 megaflow, 0.2 ms with 100,
//! 1.15 ms with 1,000, 6.4 ms with 5,000.

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datapath::key::FlowKey;
use datapath::{Datapath, DpAction, Megaflow, Revalidate, Upcall, UpcallHandler, UpcallReply};
use hashbrown::{HashMap, HashSet};
use ofp_codec::OfpError;
use parking_lot::{Mutex, RwLock};
use smallvec::SmallVec;

use crate::flow_mod::BundleMsg;
use crate::ofproto::Ofproto;
use crate::recirc::{PinTable, RecircTable};
use crate::staged::{StagedBundle, StagedCommit};
use crate::xlate::{PAUSE_COOKIE_BIT, PauseTable, Translation, XlateOptions};

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

thread_local! {
    /// (handler address, table generation) of the last upcall this thread
    /// translated: what [`UpcallHandler::megaflow_installed`] compares.
    static UPCALL_GEN: Cell<(usize, u64)> = const { Cell::new((0, 0)) };
}

/// Where revalidation stands (see the module documentation).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RevalStats {
    /// Table generation: bumped by every change.
    pub table_gen: u64,
    /// Megaflows installed from a translation older than the tables (or
    /// naming a freed id), left for the next pass.
    pub stale_installs: u64,
    /// Installs refused ([`UpcallHandler::may_install`]): translated before
    /// a pass that had already started, or naming a freed id.
    pub refused_installs: u64,
    /// Revalidation passes run so far.
    pub passes: u64,
}

/// What [`Handler::bundle_commit_staged`] did. Each variant holds the
/// tables it leaves behind (the replaced snapshot or the staged copy), for
/// the caller to free where it costs least.
#[derive(Debug)]
pub enum StagedPublish {
    Published(Arc<Ofproto>),
    /// Message `index` failed; nothing was published.
    Failed(usize, OfpError, Ofproto),
    /// The tables changed since staging began; nothing was published.
    Stale(Ofproto),
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
    /// Shared likewise: megaflows hold references on packet-in cookies.
    pins: Arc<parking_lot::Mutex<PinTable>>,
    /// And on the cookies of paused translations.
    pauses: Arc<parking_lot::Mutex<PauseTable>>,
    max_idle_ms: AtomicU64,
    /// Bumped after every change to the published `Ofproto`.
    table_gen: AtomicU64,
    stale_installs: AtomicU64,
    passes: AtomicU64,
    /// (table_gen, stale_installs) read when the last pass began.
    reval_done: Mutex<(u64, u64)>,
    /// The highest table generation a pass started at (recorded before the
    /// pass dumps the megaflows): translations older than this are not
    /// installed.
    reval_gen: AtomicU64,
    refused_installs: AtomicU64,
    /// Megaflows (by id) in the classifier that hold no reference on their
    /// ids (one could not be acquired at install): nothing to release.
    unheld: Mutex<HashSet<u64>>,
    /// The revalidator entry of the megaflow a modify just removed, put back
    /// when the same id is installed again (both halves of a datapath modify
    /// run under its classifier lock, one after the other).
    modified: Mutex<Option<(u64, Seen)>>,
}

impl Handler {
    pub fn new(ofproto: Ofproto, clock: Clock) -> Self {
        let recirc = ofproto.recirc.clone();
        let pins = ofproto.pins.clone();
        let pauses = ofproto.pauses.clone();
        Handler {
            slot: RwLock::new(Arc::new(ofproto)),
            writer: Mutex::new(()),
            clock,
            seen: Mutex::new(HashMap::new()),
            recirc,
            pins,
            pauses,
            max_idle_ms: AtomicU64::new(MAX_IDLE_MS),
            table_gen: AtomicU64::new(0),
            stale_installs: AtomicU64::new(0),
            passes: AtomicU64::new(0),
            reval_done: Mutex::new((0, 0)),
            reval_gen: AtomicU64::new(0),
            refused_installs: AtomicU64::new(0),
            unheld: Mutex::new(HashSet::new()),
            modified: Mutex::new(None),
        }
    }

    /// Table generation, stale installs and passes so far.
    pub fn reval_stats(&self) -> RevalStats {
        RevalStats {
            table_gen: self.table_gen.load(Ordering::Acquire),
            stale_installs: self.stale_installs.load(Ordering::Acquire),
            refused_installs: self.refused_installs.load(Ordering::Relaxed),
            passes: self.passes.load(Ordering::Relaxed),
        }
    }

    /// Whether the tables changed (or a stale megaflow was installed) since
    /// the last revalidation pass began.
    pub fn needs_revalidation(&self) -> bool {
        let now = (
            self.table_gen.load(Ordering::Acquire),
            self.stale_installs.load(Ordering::Acquire),
        );
        *self.reval_done.lock() != now
    }

    /// One revalidation pass over `dp`'s megaflows (verdicts and traffic
    /// credit, see [`Handler::revalidate_and_account`]), whatever the
    /// generation. Returns (deleted, modified).
    pub fn revalidate_datapath(&self, dp: &Datapath) -> (usize, usize) {
        // Read before the pass: a change made during it leaves it needed.
        let start = (
            self.table_gen.load(Ordering::Acquire),
            self.stale_installs.load(Ordering::Acquire),
        );
        // This thread is revalidating, not installing an upcall's megaflows
        // (a modify reinstalls under the pass's fresh translation).
        UPCALL_GEN.with(|c| c.set((0, 0)));
        // Recorded before `dp.revalidate` dumps the megaflows under the
        // classifier lock: an upcall that installs after the dump sees it
        // (`may_install`, under the same lock) and is refused if older.
        self.reval_gen.fetch_max(start.0, Ordering::SeqCst);
        let r = dp.revalidate(|m| self.revalidate_and_account(m));
        self.passes.fetch_add(1, Ordering::Relaxed);
        let mut done = self.reval_done.lock();
        *done = (done.0.max(start.0), done.1.max(start.1));
        r
    }

    /// Runs a pass over `dp` if [`Handler::needs_revalidation`]; afterwards
    /// no megaflow installed before the call forwards by a translation
    /// older than the tables at the call. Returns whether a pass ran.
    pub fn sync_datapath(&self, dp: &Datapath) -> bool {
        if !self.needs_revalidation() {
            return false;
        }
        self.revalidate_datapath(dp);
        true
    }

    /// Megaflows the revalidator keeps counters for: never more than the
    /// datapath holds (an entry leaves with its megaflow, however it goes).
    pub fn n_tracked_megaflows(&self) -> usize {
        self.seen.lock().len()
    }

    fn bump_gen(&self) {
        self.table_gen.fetch_add(1, Ordering::AcqRel);
    }

    /// Idle time (ms without a packet) after which revalidation deletes a megaflow.
    pub fn max_idle_ms(&self) -> u64 {
        self.max_idle_ms.load(Ordering::Relaxed)
    }

    pub fn set_max_idle_ms(&self, ms: u64) {
        self.max_idle_ms.store(ms, Ordering::Relaxed);
    }

    /// Takes the references `m` holds on recirculation ids, packet-in
    /// contexts and paused translations: all of them, or (if one id is no
    /// longer allocated) none. Returns whether it did.
    fn hold_ids(&self, m: &Megaflow) -> bool {
        let ids = HeldIds::of(m.key.recirc_id(), &m.actions);
        if ids.is_empty() {
            return true;
        }
        if !acquire_all(&self.recirc, &ids.recirc) {
            return false;
        }
        if !acquire_all(&self.pauses, &ids.pauses) {
            release_all(&self.recirc, &ids.recirc);
            return false;
        }
        if !acquire_all(&self.pins, &ids.pins) {
            release_all(&self.pauses, &ids.pauses);
            release_all(&self.recirc, &ids.recirc);
            return false;
        }
        true
    }

    /// Drops the references [`Handler::hold_ids`] took for `m`.
    fn release_ids(&self, m: &Megaflow) {
        let ids = HeldIds::of(m.key.recirc_id(), &m.actions);
        release_all(&self.recirc, &ids.recirc);
        release_all(&self.pauses, &ids.pauses);
        release_all(&self.pins, &ids.pins);
    }

    /// Whether every id a megaflow with this key recirculation id and these
    /// actions would hold is still allocated.
    fn ids_allocated(&self, key_recirc_id: u32, actions: &[DpAction]) -> bool {
        let ids = HeldIds::of(key_recirc_id, actions);
        if ids.is_empty() {
            return true;
        }
        let rt = self.recirc.lock();
        if !ids.recirc.iter().all(|&id| rt.refs(id).is_some()) {
            return false;
        }
        drop(rt);
        let pt = self.pauses.lock();
        if !ids.pauses.iter().all(|&c| pt.refs(c).is_some()) {
            return false;
        }
        drop(pt);
        let pins = self.pins.lock();
        ids.pins.iter().all(|&c| pins.refs(c).is_some())
    }

    /// The current snapshot (one pointer copy).
    pub fn snapshot(&self) -> Arc<Ofproto> {
        self.slot.read().clone()
    }

    /// Applies a change in place if no translation holds the current
    /// snapshot (the slot's write lock is then held for as long as `f`
    /// takes), else on a copy built outside the lock (tables the change
    /// touches are copied) and published with a pointer swap.
    ///
    /// Every call counts as a table change for revalidation (bumps the
    /// generation after `f` is published), whatever `f` did.
    pub fn modify<R>(&self, f: impl FnOnce(&mut Ofproto) -> R) -> R {
        let _w = self.writer.lock();
        {
            let mut slot = self.slot.write();
            if let Some(of) = Arc::get_mut(&mut slot) {
                let r = f(of);
                drop(slot);
                self.bump_gen();
                return r;
            }
        }
        // The writer lock is held: nobody else replaces the slot meanwhile.
        let mut next: Ofproto = (**self.slot.read()).clone();
        let r = f(&mut next);
        let old = std::mem::replace(&mut *self.slot.write(), Arc::new(next));
        self.bump_gen();
        drop(old);
        r
    }

    /// Applies a bundle on a copy and publishes it atomically; on error
    /// nothing is published. Translations use the previous snapshot until
    /// the swap; the previous tables are freed after the lock is released.
    pub fn bundle_commit(&self, msgs: &[BundleMsg], now_ms: u64) -> Result<(), (usize, OfpError)> {
        self.bundle_commit_owned(msgs.to_vec(), now_ms).map(drop)
    }

    /// [`Handler::bundle_commit`] consuming the messages (their matches and
    /// instructions move into the new rules). The copy keeps no undo log:
    /// on error it is simply dropped. Returns the snapshot the commit
    /// replaced, for the caller to drop where it costs least (freeing the
    /// rules a large bundle deleted takes a while, and the commit's reply
    /// need not wait for it).
    pub fn bundle_commit_owned(
        &self,
        msgs: Vec<BundleMsg>,
        now_ms: u64,
    ) -> Result<Arc<Ofproto>, (usize, OfpError)> {
        let _w = self.writer.lock();
        let mut next: Ofproto = (**self.slot.read()).clone();
        next.bundle_apply_on_copy(msgs, now_ms)?;
        let old = std::mem::replace(&mut *self.slot.write(), Arc::new(next));
        self.bump_gen();
        Ok(old)
    }

    /// Applies the next message of a bundle ahead of its commit, on the
    /// bundle's own copy of the tables (taken from the current snapshot at
    /// its first message; see [`crate::staged`]). Nothing is published.
    pub fn bundle_stage(&self, staged: &mut Option<StagedBundle>, msg: BundleMsg, now_ms: u64) {
        staged
            .get_or_insert_with(|| StagedBundle::new(&self.slot.read()))
            .stage(msg, now_ms)
    }

    /// Commits a bundle every message of which went through
    /// [`Handler::bundle_stage`]: publishes its copy with one pointer swap
    /// and returns the replaced snapshot. [`StagedPublish::Stale`] (the
    /// tables changed meanwhile): nothing happened, the caller commits the
    /// messages again with [`Handler::bundle_commit_owned`].
    pub fn bundle_commit_staged(&self, staged: StagedBundle, now_ms: u64) -> StagedPublish {
        let _w = self.writer.lock();
        let cur = self.snapshot();
        match staged.commit(&cur, now_ms) {
            StagedCommit::Ready(next) => {
                drop(cur);
                let old = std::mem::replace(&mut *self.slot.write(), Arc::new(next));
                self.bump_gen();
                StagedPublish::Published(old)
            }
            StagedCommit::Failed(i, e, copy) => StagedPublish::Failed(i, e, copy),
            StagedCommit::Stale(copy) => StagedPublish::Stale(copy),
        }
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
            // A megaflow deleted meanwhile (flush, flow_del) already left
            // its entry through `megaflow_removed`: do not bring it back.
            // (Its hook kills it before taking this lock.)
            if m.is_dead() {
                seen.remove(&m.id);
            } else {
                seen.insert(m.id, now);
            }
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
            // OVS's xlate_push_stats: the megaflow's accumulated TCP flags.
            of.fin_timeouts(&t.fin_timeouts, st.tcp_flags);
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
    if t.error.is_some() || t.avoid_caching {
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

/// The ids a megaflow uses, by table: its key's `recirc_id` and its
/// `recirc(id)` actions, its paused-state cookies and its packet-in
/// cookies (`userspace` actions).
#[derive(Default)]
struct HeldIds {
    recirc: SmallVec<[u32; 2]>,
    pauses: SmallVec<[u64; 1]>,
    pins: SmallVec<[u64; 2]>,
}

impl HeldIds {
    fn of(key_recirc_id: u32, actions: &[DpAction]) -> Self {
        let mut ids = HeldIds::default();
        if key_recirc_id != 0 {
            ids.recirc.push(key_recirc_id);
        }
        for a in actions {
            match *a {
                DpAction::Recirc(id) if id != 0 => ids.recirc.push(id),
                DpAction::Userspace { userdata } if userdata & PAUSE_COOKIE_BIT != 0 => {
                    ids.pauses.push(userdata)
                }
                DpAction::Userspace { userdata } => ids.pins.push(userdata),
                _ => {}
            }
        }
        ids
    }

    fn is_empty(&self) -> bool {
        self.recirc.is_empty() && self.pauses.is_empty() && self.pins.is_empty()
    }
}

/// One of the reference-counted id tables (`recirc.rs`).
trait RefTable<I: Copy> {
    fn acquire_id(&mut self, id: I) -> bool;
    fn release_id(&mut self, id: I);
}

impl RefTable<u32> for RecircTable {
    fn acquire_id(&mut self, id: u32) -> bool {
        self.acquire(id)
    }
    fn release_id(&mut self, id: u32) {
        self.release(id)
    }
}

impl RefTable<u64> for PinTable {
    fn acquire_id(&mut self, id: u64) -> bool {
        self.acquire(id)
    }
    fn release_id(&mut self, id: u64) {
        self.release(id)
    }
}

impl RefTable<u64> for PauseTable {
    fn acquire_id(&mut self, id: u64) -> bool {
        self.acquire(id)
    }
    fn release_id(&mut self, id: u64) {
        self.release(id)
    }
}

/// Acquires every id of `ids` in `t`, or (if one is not allocated) none:
/// what was taken before the failure is released again. Takes no lock for
/// no ids.
fn acquire_all<I: Copy, T: RefTable<I>>(t: &Mutex<T>, ids: &[I]) -> bool {
    if ids.is_empty() {
        return true;
    }
    let mut t = t.lock();
    for (n, &id) in ids.iter().enumerate() {
        if !t.acquire_id(id) {
            for &id in &ids[..n] {
                t.release_id(id);
            }
            return false;
        }
    }
    true
}

/// Releases every id of `ids` in `t` (ids it acquired).
fn release_all<I: Copy, T: RefTable<I>>(t: &Mutex<T>, ids: &[I]) {
    if ids.is_empty() {
        return;
    }
    let mut t = t.lock();
    for &id in ids {
        t.release_id(id);
    }
}

impl UpcallHandler for Handler {
    fn may_install(&self, key: &FlowKey, reply: &UpcallReply) -> bool {
        let (owner, xlate_gen) = UPCALL_GEN.with(Cell::get);
        // Under the classifier's write lock, which the pass's dump also
        // takes (module documentation).
        let overtaken = owner == self as *const Handler as usize
            && xlate_gen < self.reval_gen.load(Ordering::SeqCst);
        if overtaken || !self.ids_allocated(key.recirc_id(), &reply.actions) {
            self.refused_installs.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    fn megaflow_installed(&self, flow: &Megaflow) {
        let held = self.hold_ids(flow);
        if !held {
            // It holds nothing, so it releases nothing when it leaves.
            self.unheld.lock().insert(flow.id);
        }
        // The second half of a modify: the same megaflow, same counters.
        if let Some((id, seen)) = self.modified.lock().take()
            && id == flow.id
        {
            self.seen.lock().insert(id, seen);
        }
        let (owner, xlate_gen) = UPCALL_GEN.with(Cell::get);
        let older = owner == self as *const Handler as usize
            && xlate_gen != self.table_gen.load(Ordering::Acquire);
        // Either way the next pass judges it (a translation now would name
        // live ids, or fail).
        if older || !held {
            self.stale_installs.fetch_add(1, Ordering::AcqRel);
        }
    }

    fn megaflow_removed(&self, flow: &Megaflow) {
        // Only what it acquired.
        if !self.unheld.lock().remove(&flow.id) {
            self.release_ids(flow);
        }
        // Its revalidator entry goes with it (kept aside in case this is
        // the first half of a modify).
        let entry = self.seen.lock().remove(&flow.id);
        *self.modified.lock() = entry.map(|e| (flow.id, e));
    }

    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply> {
        let now_ms = (self.clock)();
        let opts = XlateOptions {
            now_ms,
            side_effects: true,
            trace: false,
        };
        // The generation first, then the snapshot: the snapshot is at least
        // that new (`modify` publishes before it bumps).
        let table_gen = self.table_gen.load(Ordering::Acquire);
        UPCALL_GEN.with(|c| c.set((self as *const Handler as usize, table_gen)));
        let of = self.snapshot();
        let mut learned = Vec::new();
        let mut limits = Vec::new();
        let replies = batch
            .iter()
            .map(|u| {
                let t = of.translate(&u.key, opts);
                of.credit_translation(&t, 1, u.packet.len() as u64, now_ms);
                let install = t.error.is_none() && t.learned.is_empty();
                learned.extend(t.learned);
                limits.extend(t.learn_limits);
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
                for (fm, &limit) in learned.iter().zip(&limits) {
                    // A learned flow OVS would refuse is dropped, as OVS drops it.
                    let _ = of.install_learned(fm, limit, now_ms);
                }
            });
        }
        replies
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;
    use crate::recirc::FrozenState;

    fn state(reg0: u32) -> FrozenState {
        let mut regs = [0; 16];
        regs[0] = reg0;
        FrozenState {
            table_id: 1,
            regs,
            metadata: 0,
            actions: Vec::new(),
            action_set: Vec::new(),
            stack: Default::default(),
        }
    }

    fn megaflow(id: u64, recirc_ids: &[u32]) -> Megaflow {
        let actions = recirc_ids
            .iter()
            .map(|&r| DpAction::Recirc(r))
            .chain([DpAction::Output(2)])
            .collect();
        Megaflow::new(id, &FlowKey::default(), &FlowKey::default(), actions)
    }

    fn refs(h: &Handler, id: u32) -> Option<u32> {
        h.recirc.lock().refs(id)
    }

    #[test]
    fn a_megaflow_whose_id_was_freed_holds_and_releases_nothing() {
        let h = Handler::new(Ofproto::new(Config::default()), Arc::new(|| 0));
        let (live, freed) = {
            let mut t = h.recirc.lock();
            t.set_grace_ms(0);
            let freed = t.intern(state(1));
            // Untouched since the first sweep, idle for the grace (0): freed.
            t.sweep(0);
            assert_eq!(t.sweep(0), 1);
            (t.intern(state(2)), freed)
        };
        // A megaflow holds `live`.
        let keeper = megaflow(1, &[live]);
        h.megaflow_installed(&keeper);
        assert_eq!(refs(&h, live), Some(1));
        // An install naming the freed id is refused...
        let stale = megaflow(2, &[live, freed]);
        let reply = UpcallReply::install(FlowKey::default(), stale.actions.iter().copied());
        assert!(!h.may_install(&FlowKey::default(), &reply));
        assert_eq!(h.reval_stats().refused_installs, 1);
        // ...and one that gets in anyway (not through `may_install`) holds
        // none of its ids, not even the live one, and is left for the pass.
        h.megaflow_installed(&stale);
        assert_eq!(refs(&h, live), Some(1));
        assert_eq!(h.reval_stats().stale_installs, 1);
        assert!(h.needs_revalidation());
        // The freed id is handed out again (the counter wrapped) to a new
        // state that a new megaflow holds.
        let reused = {
            let mut t = h.recirc.lock();
            t.set_last_id(freed - 1);
            t.intern(state(3))
        };
        assert_eq!(reused, freed);
        let fresh = megaflow(3, &[reused]);
        h.megaflow_installed(&fresh);
        assert_eq!(refs(&h, reused), Some(1));
        // The stale megaflow leaves: it takes nothing from either id.
        h.megaflow_removed(&stale);
        assert_eq!(
            refs(&h, reused),
            Some(1),
            "the new owner keeps its reference"
        );
        assert_eq!(refs(&h, live), Some(1));
        {
            let mut t = h.recirc.lock();
            assert_eq!(t.sweep(10), 0);
            assert_eq!(t.sweep(20), 0, "held ids are not freed");
        }
        h.megaflow_removed(&fresh);
        h.megaflow_removed(&keeper);
        assert_eq!(refs(&h, reused), Some(0));
        assert_eq!(refs(&h, live), Some(0));
    }

    #[test]
    fn an_install_with_live_ids_is_allowed_and_holds_them() {
        let h = Handler::new(Ofproto::new(Config::default()), Arc::new(|| 0));
        let id = h.recirc.lock().intern(state(1));
        let m = megaflow(1, &[id, id]);
        let reply = UpcallReply::install(FlowKey::default(), m.actions.iter().copied());
        assert!(h.may_install(&FlowKey::default(), &reply));
        h.megaflow_installed(&m);
        assert_eq!(refs(&h, id), Some(2));
        h.megaflow_removed(&m);
        assert_eq!(refs(&h, id), Some(0));
        assert_eq!(h.reval_stats().stale_installs, 0);
    }
}
