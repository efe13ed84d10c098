//! Frozen continuations behind recirculation ids, and packet-in contexts
//! behind `userspace` action cookies.
//!
//! `ct(table=N)` forks the packet as Open vSwitch does: the datapath runs
//! `ct(...)` then `recirc(id)`, and `id` names a [`FrozenState`] holding what
//! the OpenFlow pipeline knew that the datapath key does not carry
//! (registers, metadata, the action set) and the table to resume at.
//! Identical states share one id (OVS's `recirc_alloc_id_ctx`), so the
//! megaflows of many connections can share their recirculated megaflows.
//!
//! ## Lifetime of an id (OVS's `ofproto-dpif-rid.c`, in rvs's terms)
//!
//! The same lifetime governs the packet-in contexts behind `userspace`
//! cookies ([`PinTable`]) and the paused translations behind cookies with
//! `PAUSE_COOKIE_BIT` (`xlate/pause.rs`), and a fork entry
//! (`xlate/fork.rs`) goes with the recirculation id that names it.
//!
//! ```text
//!  intern(state) ──▶ live, touched ──acquire (megaflow installed)──▶ refs > 0
//!        ▲                │ sweep: untouched, refs == 0                │ release (megaflow removed)
//!        │ intern again   ▼                                            ▼
//!        └──────────── idle since T ◀─────────────────────────── refs == 0
//!                         │ sweep at ≥ T + grace, still idle
//!                         ▼
//!                       freed (the id may be handed out again)
//! ```
//!
//! - **References** are held by the datapath's megaflows: one per
//!   `recirc(id)` in a megaflow's actions and one for the `recirc_id` its key
//!   matches (so no megaflow can still match an id once it is freed, and a
//!   reused id never meets a stale megaflow). The upcall handler counts them
//!   through the datapath's megaflow hooks ([`crate::upcall::Handler`]).
//! - **In-flight translations** hold no counted reference (the datapath
//!   installs their megaflow after the handler returns); instead every
//!   `intern` marks the id *touched*, and a touched id survives the next
//!   sweep. An id is therefore never freed sooner than one full grace period
//!   after the last translation that produced it.
//! - **Grace period**: an id whose last reference went away is freed only
//!   when sweeps have seen it unreferenced and untouched for
//!   [`RecircTable::grace_ms`] (default [`RECIRC_GRACE_MS`]), so a datapath
//!   thread still executing a just-deleted megaflow's `recirc(id)` resumes
//!   into the right state. Freed ids are not reused before the 32-bit
//!   counter wraps, and never while still allocated (live or in grace).
//! - **Revalidation**: a continuation names a table, not a rule: resuming
//!   looks the packet up in the table as it is *now*, so deleted rules are
//!   never resumed into. A continuation whose state changed (e.g. its
//!   action set, written by a rule since modified) gets a new id when the
//!   revalidator re-translates the pre-recirculation megaflow; the old id is
//!   then released with the megaflows that used it, and megaflows still
//!   matching a freed id fail translation (`No recirculation context`) and
//!   are deleted.

use std::hash::Hash;

use hashbrown::HashMap;
use ofp_codec::Action;

use crate::ofproto::Ofproto;
use crate::xlate::{FieldStack, fork_marker};

/// Default grace period between an id's last reference and its release (ms).
pub const RECIRC_GRACE_MS: u64 = 1_000;

/// What translation resumes from after a recirculation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FrozenState {
    pub table_id: u8,
    pub regs: [u32; 16],
    pub metadata: u64,
    /// Actions still to run before the table lookup (empty for `ct` forks,
    /// which resume with a lookup in `table_id`).
    pub actions: Vec<Action>,
    /// The OpenFlow action set at the time of freezing.
    pub action_set: Vec<Action>,
    /// The `push:`/`pop:` field stack at the time of freezing (part of the
    /// interning key: different stacks get different ids).
    pub stack: FieldStack,
}

#[derive(Debug)]
struct Node<S> {
    state: S,
    /// Megaflow references (see the module documentation).
    refs: u32,
    /// Interned since the last sweep: a translation may be about to install
    /// a megaflow using it.
    touched: bool,
    /// When a sweep first found it unreferenced and untouched.
    idle_since_ms: Option<u64>,
}

/// Counters of a [`RecircTable`] or [`PinTable`], for tests and status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecircStats {
    /// Ids allocated (states) so far.
    pub allocated: u64,
    /// Ids freed so far.
    pub freed: u64,
    /// Ids currently allocated with no reference (waiting out the grace period).
    pub idle: usize,
}

/// Interned states, ids from 1 to `max_id`, with the lifetime of the module
/// documentation: the one engine behind [`RecircTable`] and [`PinTable`].
#[derive(Debug)]
pub(crate) struct IdTable<S> {
    by_state: HashMap<S, u64>,
    by_id: HashMap<u64, Node<S>>,
    /// The last id handed out.
    next: u64,
    max_id: u64,
    grace_ms: u64,
    allocated: u64,
    freed: u64,
}

impl<S: Clone + Eq + Hash> IdTable<S> {
    pub(crate) fn new(max_id: u64, grace_ms: u64) -> Self {
        IdTable {
            by_state: HashMap::new(),
            by_id: HashMap::new(),
            next: 0,
            max_id,
            grace_ms,
            allocated: 0,
            freed: 0,
        }
    }

    pub(crate) fn intern(&mut self, state: S) -> u64 {
        if let Some(&id) = self.by_state.get(&state) {
            if let Some(n) = self.by_id.get_mut(&id) {
                n.touched = true;
                n.idle_since_ms = None;
            }
            return id;
        }
        let id = self.alloc_id();
        self.allocated += 1;
        self.by_state.insert(state.clone(), id);
        self.by_id.insert(
            id,
            Node {
                state,
                refs: 0,
                touched: true,
                idle_since_ms: None,
            },
        );
        id
    }

    /// The next id after the last one that is not allocated, wrapping from
    /// `max_id` to 1. Terminates: fewer than `max_id` ids can be allocated
    /// at once (each holds a state of well over 4 bytes).
    fn alloc_id(&mut self) -> u64 {
        loop {
            self.next = if self.next >= self.max_id {
                1
            } else {
                self.next + 1
            };
            if !self.by_id.contains_key(&self.next) {
                return self.next;
            }
        }
    }

    pub(crate) fn get(&self, id: u64) -> Option<&S> {
        self.by_id.get(&id).map(|n| &n.state)
    }

    pub(crate) fn acquire(&mut self, id: u64) -> bool {
        match self.by_id.get_mut(&id) {
            Some(n) => {
                n.refs = n.refs.saturating_add(1);
                n.idle_since_ms = None;
                true
            }
            None => false,
        }
    }

    /// Drops one reference. Only for an id whose [`IdTable::acquire`]
    /// succeeded: a freed id may be handed out again, and releasing it then
    /// would take a reference its new megaflows hold.
    pub(crate) fn release(&mut self, id: u64) {
        if let Some(n) = self.by_id.get_mut(&id) {
            n.refs = n.refs.saturating_sub(1);
        }
    }

    pub(crate) fn refs(&self, id: u64) -> Option<u32> {
        self.by_id.get(&id).map(|n| n.refs)
    }

    /// Frees what has been unreferenced and untouched for the grace period
    /// (linear in the allocated ids); returns the freed states.
    pub(crate) fn sweep(&mut self, now_ms: u64) -> Vec<S> {
        let grace = self.grace_ms;
        let mut dead = Vec::new();
        for (&id, n) in self.by_id.iter_mut() {
            if n.refs > 0 {
                n.idle_since_ms = None;
            } else if std::mem::take(&mut n.touched) {
                n.idle_since_ms = Some(now_ms);
            } else {
                match n.idle_since_ms {
                    None => n.idle_since_ms = Some(now_ms),
                    Some(t) if now_ms.saturating_sub(t) >= grace => dead.push(id),
                    Some(_) => {}
                }
            }
        }
        let mut states = Vec::with_capacity(dead.len());
        for id in &dead {
            if let Some(n) = self.by_id.remove(id) {
                self.by_state.remove(&n.state);
                states.push(n.state);
            }
        }
        self.freed += states.len() as u64;
        states
    }

    pub(crate) fn stats(&self) -> RecircStats {
        RecircStats {
            allocated: self.allocated,
            freed: self.freed,
            idle: self.by_id.values().filter(|n| n.refs == 0).count(),
        }
    }

    /// Allocated ids (live or in their grace period).
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    pub(crate) fn set_grace_ms(&mut self, grace_ms: u64) {
        self.grace_ms = grace_ms;
    }
}

/// Interned frozen states, ids from 1 (0 means "not recirculated"),
/// reference-counted and freed after a grace period (module documentation).
#[derive(Debug)]
pub struct RecircTable {
    ids: IdTable<FrozenState>,
}

impl Default for RecircTable {
    fn default() -> Self {
        RecircTable::new(RECIRC_GRACE_MS)
    }
}

impl RecircTable {
    /// An empty table whose ids are freed `grace_ms` after their last use.
    pub fn new(grace_ms: u64) -> Self {
        RecircTable {
            ids: IdTable::new(u64::from(u32::MAX), grace_ms),
        }
    }

    pub fn grace_ms(&self) -> u64 {
        self.ids.grace_ms
    }

    pub fn set_grace_ms(&mut self, grace_ms: u64) {
        self.ids.grace_ms = grace_ms;
    }

    /// The id of `state`, allocating one if it is new. Marks the id touched
    /// (it survives the next sweep even without references).
    pub fn intern(&mut self, state: FrozenState) -> u32 {
        // Ids never exceed `u32::MAX` (the table's `max_id`).
        self.ids.intern(state) as u32
    }

    pub fn get(&self, id: u32) -> Option<&FrozenState> {
        self.ids.get(u64::from(id))
    }

    /// A megaflow started using `id`. Returns false (and counts nothing) if
    /// `id` is not allocated.
    pub fn acquire(&mut self, id: u32) -> bool {
        self.ids.acquire(u64::from(id))
    }

    /// A megaflow that used `id` is gone. Call it only for an id whose
    /// [`RecircTable::acquire`] returned true (the id may have been freed
    /// and handed out again since a failed acquire; the upcall handler keeps
    /// track). Unknown ids and extra releases are ignored.
    pub fn release(&mut self, id: u32) {
        self.ids.release(u64::from(id))
    }

    /// Makes `last` the last id handed out, so the next new state gets
    /// `last + 1` (tests: an id reused after the counter wraps).
    #[cfg(test)]
    pub(crate) fn set_last_id(&mut self, last: u32) {
        self.ids.next = u64::from(last);
    }

    /// References `id` holds, if allocated.
    pub fn refs(&self, id: u32) -> Option<u32> {
        self.ids.refs(u64::from(id))
    }

    /// Frees the ids that have been unreferenced and untouched for the
    /// grace period; starts the grace period of newly idle ones. Cost is
    /// linear in the number of allocated ids. Returns the number freed.
    pub fn sweep(&mut self, now_ms: u64) -> usize {
        self.ids.sweep(now_ms).len()
    }

    pub fn stats(&self) -> RecircStats {
        self.ids.stats()
    }

    /// Allocated ids (live or in their grace period).
    pub fn len(&self) -> usize {
        self.ids.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.by_id.is_empty()
    }
}

/// What a `controller(...)` (or output:CONTROLLER, dec_ttl expiry) needs to
/// build the packet-in when the datapath hands the packet up.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PinContext {
    /// `OFPR_*`.
    pub reason: u8,
    pub table_id: u8,
    pub cookie: u64,
    pub controller_id: u16,
    pub max_len: u16,
    pub userdata: Vec<u8>,
    /// Pipeline fields at the time (in_port comes from the packet).
    pub regs: [u32; 16],
    pub metadata: u64,
    /// OVS's `frozen_state.conntracked`: the packet is tracked at the
    /// `controller` action (this pass resumed after a `ct(table=N)` and no
    /// `ct` or `ct_clear` came since). Only then does the packet-in carry
    /// the ct fields.
    pub conntracked: bool,
}

/// Interned packet-in contexts; the id is the datapath `userspace` cookie
/// (below `PAUSE_COOKIE_BIT`, which paused translations' cookies carry).
/// Same lifetime as recirculation ids: megaflows whose actions send to
/// userspace hold a reference on the cookie, an intern marks it touched,
/// and it is freed a grace period after both stopped, so a packet already
/// on its way to userspace still finds its context (a packet that waits
/// longer than the grace gets no packet-in).
#[derive(Debug)]
pub struct PinTable {
    ids: IdTable<PinContext>,
}

impl Default for PinTable {
    fn default() -> Self {
        PinTable::new(RECIRC_GRACE_MS)
    }
}

impl PinTable {
    pub fn new(grace_ms: u64) -> Self {
        PinTable {
            ids: IdTable::new(crate::xlate::PAUSE_COOKIE_BIT - 1, grace_ms),
        }
    }

    pub fn set_grace_ms(&mut self, grace_ms: u64) {
        self.ids.grace_ms = grace_ms;
    }

    /// The cookie of `ctx`, allocating one if it is new; marks it touched.
    pub fn intern(&mut self, ctx: PinContext) -> u64 {
        self.ids.intern(ctx)
    }

    pub fn get(&self, id: u64) -> Option<&PinContext> {
        self.ids.get(id)
    }

    /// A megaflow started sending to userspace with cookie `id`.
    pub fn acquire(&mut self, id: u64) -> bool {
        self.ids.acquire(id)
    }

    /// A megaflow that used cookie `id` is gone.
    pub fn release(&mut self, id: u64) {
        self.ids.release(id)
    }

    pub fn refs(&self, id: u64) -> Option<u32> {
        self.ids.refs(id)
    }

    /// As [`RecircTable::sweep`].
    pub fn sweep(&mut self, now_ms: u64) -> usize {
        self.ids.sweep(now_ms).len()
    }

    pub fn stats(&self) -> RecircStats {
        self.ids.stats()
    }

    pub fn len(&self) -> usize {
        self.ids.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.by_id.is_empty()
    }
}

impl Ofproto {
    /// Frees what no megaflow has used for the grace period: recirculation
    /// ids, the fork entries behind freed fork ids (`xlate/fork.rs`),
    /// packet-in contexts and paused states (which follow the recirculation
    /// grace). Called by
    /// [`Ofproto::run`].
    pub(crate) fn sweep_ids(&self, now_ms: u64) {
        let mut rt = self.recirc.lock();
        let grace = rt.grace_ms();
        let freed = rt.ids.sweep(now_ms);
        // Still under the recirculation lock, which a translation holds
        // while it interns a fork and its id: no fork entry is removed
        // while one is handed out again.
        let mut forks = freed.iter().filter_map(fork_marker).peekable();
        if forks.peek().is_some() {
            let mut table = self.forks.lock();
            for fid in forks {
                table.remove(fid);
            }
        }
        drop(rt);
        let mut pins = self.pins.lock();
        pins.set_grace_ms(grace);
        pins.sweep(now_ms);
        drop(pins);
        let mut pauses = self.pauses.lock();
        pauses.set_grace_ms(grace);
        pauses.sweep(now_ms);
    }

    /// Fork entries allocated (`xlate/fork.rs`).
    pub fn n_fork_entries(&self) -> usize {
        self.forks.lock().len()
    }

    /// Megaflow references on packet-in cookie `id`, if allocated.
    pub fn packet_in_context_refs(&self, id: u64) -> Option<u32> {
        self.pins.lock().refs(id)
    }

    /// Packet-in contexts allocated (live or in their grace period).
    pub fn n_pin_contexts(&self) -> usize {
        self.pins.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn state(reg0: u32) -> FrozenState {
        let mut regs = [0; 16];
        regs[0] = reg0;
        FrozenState {
            table_id: 1,
            regs,
            metadata: 0,
            actions: vec![],
            action_set: vec![],
            stack: FieldStack::default(),
        }
    }

    #[test]
    fn identical_states_share_an_id() {
        let mut t = RecircTable::default();
        let s = state(0);
        let a = t.intern(s.clone());
        assert_eq!(t.intern(s.clone()), a);
        let b = t.intern(state(7));
        assert_ne!(a, b);
        assert_eq!(t.get(b), Some(&state(7)));
        assert!(a >= 1);
    }

    #[test]
    fn a_shared_id_lives_until_its_last_megaflow_is_gone_and_the_grace_passes() {
        let mut t = RecircTable::new(1_000);
        let id = t.intern(state(1));
        // Two megaflows (say, two connections' pre-recirculation flows).
        assert!(t.acquire(id));
        assert_eq!(t.intern(state(1)), id);
        assert!(t.acquire(id));
        t.release(id);
        for now in [0, 2_000, 10_000] {
            assert_eq!(t.sweep(now), 0);
        }
        assert_eq!(t.refs(id), Some(1));
        t.release(id);
        assert_eq!(t.sweep(10_100), 0, "grace starts");
        assert_eq!(t.sweep(11_099), 0, "inside the grace");
        assert_eq!(t.get(id), Some(&state(1)));
        assert_eq!(t.sweep(11_100), 1);
        assert_eq!(t.get(id), None);
        assert!(t.is_empty());
        assert_eq!(t.stats().freed, 1);
    }

    #[test]
    fn ids_are_freed_after_their_megaflows_are_deleted_and_the_grace_passes() {
        let mut t = RecircTable::new(500);
        let ids: Vec<u32> = (0..100).map(|i| t.intern(state(i))).collect();
        ids.iter().for_each(|&id| assert!(t.acquire(id)));
        t.sweep(0);
        assert_eq!(t.len(), 100);
        ids[..60].iter().for_each(|&id| t.release(id));
        t.sweep(1_000);
        assert_eq!(t.len(), 100);
        assert_eq!(t.stats().idle, 60);
        t.sweep(1_499);
        assert_eq!(t.len(), 100);
        assert_eq!(t.sweep(1_500), 60);
        assert_eq!(t.len(), 40);
        assert!(ids[60..].iter().all(|&id| t.get(id).is_some()));
        // A freed state interned again gets a fresh id.
        let again = t.intern(state(0));
        assert!(!ids.contains(&again));
    }

    #[test]
    fn a_translation_in_flight_keeps_its_id_through_the_next_sweeps() {
        let mut t = RecircTable::new(1_000);
        let id = t.intern(state(3));
        // Never acquired: the megaflow is not installed yet.
        assert_eq!(t.sweep(0), 0);
        assert_eq!(t.sweep(999), 0);
        // Produced again (an upcall, or the revalidator re-translating).
        assert_eq!(t.intern(state(3)), id);
        assert_eq!(t.sweep(1_500), 0);
        assert_eq!(t.sweep(2_499), 0);
        assert!(t.acquire(id), "still there for the install");
        t.release(id);
        assert_eq!(t.sweep(2_600), 0);
        assert_eq!(t.sweep(3_600), 1);
        assert!(!t.acquire(id), "freed ids are not counted");
    }

    #[test]
    fn no_id_is_reused_inside_the_grace_even_after_the_counter_wraps() {
        let mut t = RecircTable::new(1_000);
        let a = t.intern(state(1));
        assert_eq!(a, 1);
        t.acquire(a);
        t.release(a);
        t.sweep(0);
        // Pretend the 32-bit counter wrapped: the next candidate is `a`.
        t.ids.next = u64::from(u32::MAX);
        let b = t.intern(state(2));
        assert_ne!(b, a, "an id in its grace period is skipped");
        assert_eq!(t.get(a), Some(&state(1)));
        assert_eq!(t.sweep(1_000), 1);
        t.ids.next = u64::from(u32::MAX);
        let c = t.intern(state(3));
        assert_eq!(c, a, "reused once the grace has passed");
        assert_eq!(t.get(c), Some(&state(3)));
        assert_eq!(t.get(b), Some(&state(2)));
    }

    #[test]
    fn churning_connections_keep_the_table_bounded() {
        // 50 connections at a time, each with its own continuation (say, a
        // register loaded from its source port); one ends and one starts
        // every 10 ms; sweeps every 250 ms as the switch runs them.
        let grace = 1_000;
        let mut t = RecircTable::new(grace);
        let mut live: std::collections::VecDeque<u32> = Default::default();
        let mut peak = 0;
        for step in 0..20_000u32 {
            let now = u64::from(step) * 10;
            let id = t.intern(state(step));
            t.acquire(id);
            live.push_back(id);
            if live.len() > 50
                && let Some(old) = live.pop_front()
            {
                t.release(old);
            }
            if now % 250 == 0 {
                t.sweep(now);
            }
            peak = peak.max(t.len());
        }
        // Live ones plus those released within grace + two sweep periods.
        let bound = 50 + ((grace + 2 * 250) / 10) as usize + 1;
        assert!(peak <= bound, "peak {peak} > {bound}");
        assert!(t.stats().freed > 19_000);
    }

    #[derive(Clone, Debug)]
    enum Op {
        Intern(u8),
        Acquire(u8),
        Release(u8),
        Sweep(u16),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..12).prop_map(Op::Intern),
            (0u8..12).prop_map(Op::Acquire),
            (0u8..12).prop_map(Op::Release),
            (0u16..700).prop_map(Op::Sweep),
        ]
    }

    proptest! {
        /// Against a model: an id with megaflow references or touched since
        /// the grace began is never freed; a freed state comes back with a
        /// different id unless the counter wrapped; the table never holds an
        /// id whose last use is older than grace + two sweeps.
        #[test]
        fn ids_are_never_freed_while_used_or_inside_the_grace(ops in proptest::collection::vec(op(), 1..300)) {
            let grace = 500u64;
            let mut t = RecircTable::new(grace);
            let mut now = 0u64;
            // Per state: (id, model refs, last time it was in use).
            let mut model: HashMap<u8, (u32, u32, u64)> = HashMap::new();
            for op in ops {
                match op {
                    Op::Intern(s) => {
                        let id = t.intern(state(u32::from(s)));
                        let e = model.entry(s).or_insert((id, 0, now));
                        prop_assert_eq!(e.0, id, "same state, same id while allocated");
                        e.2 = now;
                    }
                    Op::Acquire(s) => {
                        if let Some(e) = model.get_mut(&s) {
                            prop_assert!(t.acquire(e.0));
                            e.1 += 1;
                            e.2 = now;
                        }
                    }
                    Op::Release(s) => {
                        if let Some(e) = model.get_mut(&s) && e.1 > 0 {
                            t.release(e.0);
                            e.1 -= 1;
                            e.2 = now;
                        }
                    }
                    Op::Sweep(dt) => {
                        now += u64::from(dt);
                        t.sweep(now);
                        let mut gone = Vec::new();
                        for (&s, &(id, refs, last)) in &model {
                            match t.get(id) {
                                Some(st) => {
                                    prop_assert_eq!(st, &state(u32::from(s)));
                                    if refs == 0 {
                                        // Idle from the first sweep after `last`, freed
                                        // at the first sweep a grace later.
                                        let limit = last + grace + 2 * 700;
                                        prop_assert!(now <= limit || refs > 0,
                                            "id {} kept too long: last use {}, now {}", id, last, now);
                                    }
                                }
                                None => {
                                    prop_assert_eq!(refs, 0, "freed while referenced");
                                    prop_assert!(now >= last + grace, "freed inside the grace");
                                    gone.push(s);
                                }
                            }
                        }
                        for s in gone {
                            model.remove(&s);
                        }
                    }
                }
            }
        }
    }
}
