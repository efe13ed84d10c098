//! The megaflow classifier: tuple space search.
//!
//! One hash table ("subtable") per distinct mask; a lookup probes the
//! subtables in rank order (most hits first) and returns the first live
//! megaflow whose masked key equals the packet's masked key. Megaflows
//! installed by the datapath never overlap in practice (ofproto's masks make
//! them disjoint), and [`Classifier::insert`] refuses a megaflow whose key is
//! already matched by a live one, so two threads that miss on the same flow and
//! race to install it end with one megaflow.
//!
//! Concurrency: the classifier itself is single-writer; [`crate::Datapath`]
//! keeps it behind an `RwLock` taken once per burst for reading. Megaflow
//! stats are atomics so readers update them without the write lock.
//!
//! Hooks: a classifier made with [`Classifier::with_hooks`] tells its
//! [`UpcallHandler`] about every megaflow that enters
//! ([`UpcallHandler::megaflow_installed`]) and leaves
//! ([`UpcallHandler::megaflow_removed`]) it — inserts, deletes, flushes,
//! revalidation deletes, and both halves of a modify — while holding the
//! write lock, so the two calls for one megaflow are never reordered.
//! ofproto counts the recirculation ids megaflows use this way.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use hashbrown::HashTable;

use crate::actions::Actions;
use crate::dp::UpcallHandler;
use crate::key::{FlowKey, KEY_WORDS, masked_hash};

/// An installed megaflow: masked key, mask, actions, stats.
#[derive(Debug)]
pub struct Megaflow {
    /// Unique id (the datapath's "ufid").
    pub id: u64,
    /// The key, already masked (what lookups compare).
    pub key: FlowKey,
    /// The unmasked key of the packet that created the megaflow (what the
    /// dump prints next to the mask, as OVS does).
    pub orig: FlowKey,
    pub mask: FlowKey,
    pub actions: Actions,
    pub(crate) packets: AtomicU64,
    pub(crate) bytes: AtomicU64,
    pub(crate) used_ns: AtomicU64,
    pub(crate) tcp_flags: AtomicU64,
    pub(crate) dead: AtomicBool,
}

/// A snapshot of a megaflow's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowStats {
    pub packets: u64,
    pub bytes: u64,
    /// Monotonic ns of the last hit (the datapath clock), 0 = never.
    pub used_ns: u64,
    /// OR of the TCP flags seen.
    pub tcp_flags: u16,
}

impl Megaflow {
    pub fn new(id: u64, key: &FlowKey, mask: &FlowKey, actions: Actions) -> Self {
        Megaflow {
            id,
            key: key.masked(mask),
            orig: *key,
            mask: *mask,
            actions,
            packets: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            used_ns: AtomicU64::new(0),
            tcp_flags: AtomicU64::new(0),
            dead: AtomicBool::new(false),
        }
    }

    /// Adds a batch of hits.
    #[inline]
    pub fn hit(&self, packets: u64, bytes: u64, now_ns: u64, tcp_flags: u16) {
        self.packets.fetch_add(packets, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        if self.used_ns.load(Ordering::Relaxed) < now_ns {
            self.used_ns.store(now_ns, Ordering::Relaxed);
        }
        if tcp_flags != 0 {
            self.tcp_flags.fetch_or(tcp_flags as u64, Ordering::Relaxed);
        }
    }

    pub fn stats(&self) -> FlowStats {
        FlowStats {
            packets: self.packets.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            used_ns: self.used_ns.load(Ordering::Relaxed),
            tcp_flags: self.tcp_flags.load(Ordering::Relaxed) as u16,
        }
    }

    /// Whether the megaflow was deleted (caches holding it must not use it).
    #[inline]
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Acquire)
    }

    fn kill(&self) {
        self.dead.store(true, Ordering::Release);
    }
}

struct Subtable {
    mask: FlowKey,
    /// Indices of the mask's nonzero words.
    words: Vec<u8>,
    flows: HashTable<(u64, Arc<Megaflow>)>,
    hits: AtomicU64,
}

impl Subtable {
    fn find(&self, key: &FlowKey) -> Option<&Arc<Megaflow>> {
        let h = masked_hash(key, &self.mask, &self.words);
        self.flows
            .find(h, |(fh, f)| {
                *fh == h
                    && self.words.iter().all(|&i| {
                        (key.w[i as usize] & self.mask.w[i as usize]) == f.key.w[i as usize]
                    })
            })
            .map(|(_, f)| f)
    }
}

/// Why an insert did not add a megaflow.
#[derive(Debug)]
pub enum InsertError {
    /// A live megaflow already matches the key; it is returned.
    Exists(Arc<Megaflow>),
}

/// Tuple-space-search classifier. See the module documentation.
#[derive(Default)]
pub struct Classifier {
    subtables: Vec<Subtable>,
    count: usize,
    next_id: u64,
    hooks: Option<Arc<dyn UpcallHandler>>,
}

impl Classifier {
    pub fn new() -> Self {
        Classifier::default()
    }

    /// A classifier that reports megaflows entering and leaving it to
    /// `hooks` (module documentation).
    pub fn with_hooks(hooks: Arc<dyn UpcallHandler>) -> Self {
        Classifier {
            hooks: Some(hooks),
            ..Classifier::default()
        }
    }

    fn removed(&self, f: &Megaflow) {
        f.kill();
        if let Some(h) = &self.hooks {
            h.megaflow_removed(f);
        }
    }

    /// Number of megaflows.
    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Number of distinct masks.
    pub fn n_masks(&self) -> usize {
        self.subtables.len()
    }

    /// Finds the megaflow matching `key`, probing masks most-hit first.
    #[inline]
    pub fn lookup(&self, key: &FlowKey) -> Option<&Arc<Megaflow>> {
        for st in &self.subtables {
            if let Some(f) = st.find(key) {
                st.hits.fetch_add(1, Ordering::Relaxed);
                return Some(f);
            }
        }
        None
    }

    /// Installs a megaflow for `key` under `mask` unless a live megaflow
    /// already matches `key` (then that one is returned in the error).
    pub fn insert(
        &mut self,
        key: &FlowKey,
        mask: &FlowKey,
        actions: Actions,
    ) -> Result<Arc<Megaflow>, InsertError> {
        if let Some(f) = self.lookup(key) {
            return Err(InsertError::Exists(f.clone()));
        }
        self.next_id += 1;
        let flow = Arc::new(Megaflow::new(self.next_id, key, mask, actions));
        self.insert_flow(flow.clone());
        Ok(flow)
    }

    fn insert_flow(&mut self, flow: Arc<Megaflow>) {
        if let Some(h) = &self.hooks {
            h.megaflow_installed(&flow);
        }
        let idx = match self.subtables.iter().position(|s| s.mask == flow.mask) {
            Some(i) => i,
            None => {
                let words = (0..KEY_WORDS as u8)
                    .filter(|&i| flow.mask.w[i as usize] != 0)
                    .collect();
                self.subtables.push(Subtable {
                    mask: flow.mask,
                    words,
                    flows: HashTable::new(),
                    hits: AtomicU64::new(0),
                });
                self.subtables.len() - 1
            }
        };
        let st = &mut self.subtables[idx];
        let h = masked_hash(&flow.key, &st.mask, &st.words);
        st.flows.insert_unique(h, (h, flow), |(h, _)| *h);
        self.count += 1;
    }

    /// Removes the megaflow with id `id`. Returns it if found.
    pub fn delete(&mut self, id: u64) -> Option<Arc<Megaflow>> {
        let mut out = None;
        for st in &mut self.subtables {
            // Linear in the subtable; deletes are control-plane operations.
            let mut found = None;
            for (h, f) in st.flows.iter() {
                if f.id == id {
                    found = Some(*h);
                    break;
                }
            }
            if let Some(h) = found {
                if let Ok(e) = st.flows.find_entry(h, |(_, f)| f.id == id) {
                    let ((_, f), _) = e.remove();
                    out = Some(f);
                }
                break;
            }
        }
        if let Some(f) = &out {
            self.removed(f);
            self.count -= 1;
            self.subtables.retain(|s| !s.flows.is_empty());
        }
        out
    }

    /// Every megaflow, in no particular order.
    pub fn dump(&self) -> Vec<Arc<Megaflow>> {
        let mut v = Vec::with_capacity(self.count);
        for st in &self.subtables {
            v.extend(st.flows.iter().map(|(_, f)| f.clone()));
        }
        v
    }

    /// Removes every megaflow.
    pub fn flush(&mut self) {
        for st in &self.subtables {
            for (_, f) in st.flows.iter() {
                self.removed(f);
            }
        }
        self.subtables.clear();
        self.count = 0;
    }

    /// Calls `keep` on every megaflow and deletes those for which it returns
    /// false. Returns the number deleted.
    pub fn retain(&mut self, mut keep: impl FnMut(&Megaflow) -> bool) -> usize {
        let mut n = 0;
        let hooks = self.hooks.as_deref();
        for st in &mut self.subtables {
            st.flows.retain(|(_, f)| {
                let k = keep(f);
                if !k {
                    f.kill();
                    if let Some(h) = hooks {
                        h.megaflow_removed(f);
                    }
                    n += 1;
                }
                k
            });
        }
        self.count -= n;
        self.subtables.retain(|s| !s.flows.is_empty());
        n
    }

    /// Replaces the actions of megaflow `id` (a new megaflow with the same key,
    /// mask and counters; caches drop the old one). Returns false if absent.
    pub fn modify(&mut self, id: u64, actions: Actions) -> bool {
        let Some(old) = self.delete(id) else {
            return false;
        };
        let s = old.stats();
        let f = Megaflow::new(old.id, &old.orig, &old.mask, actions);
        f.packets.store(s.packets, Ordering::Relaxed);
        f.bytes.store(s.bytes, Ordering::Relaxed);
        f.used_ns.store(s.used_ns, Ordering::Relaxed);
        f.tcp_flags.store(s.tcp_flags as u64, Ordering::Relaxed);
        self.insert_flow(Arc::new(f));
        true
    }

    /// Orders the masks by hits since the last call, most first, and resets the counts.
    pub fn rerank(&mut self) {
        let mut v: Vec<(u64, Subtable)> = self
            .subtables
            .drain(..)
            .map(|s| (s.hits.swap(0, Ordering::Relaxed), s))
            .collect();
        v.sort_by_key(|e| std::cmp::Reverse(e.0));
        self.subtables = v.into_iter().map(|(_, s)| s).collect();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::DpAction;
    use crate::dp::{Upcall, UpcallReply};
    use std::sync::Mutex;

    /// Counts installs minus removals per megaflow id.
    #[derive(Default)]
    struct Count(Mutex<hashbrown::HashMap<u64, i32>>);

    impl UpcallHandler for Count {
        fn upcall(&self, _: &[Upcall]) -> Vec<UpcallReply> {
            Vec::new()
        }
        fn megaflow_installed(&self, f: &Megaflow) {
            *self.0.lock().unwrap().entry(f.id).or_default() += 1;
        }
        fn megaflow_removed(&self, f: &Megaflow) {
            assert!(f.is_dead(), "reported after it stopped matching");
            *self.0.lock().unwrap().entry(f.id).or_default() -= 1;
        }
    }

    fn key(port: u32) -> FlowKey {
        let mut k = FlowKey::default();
        k.set_in_port(port);
        k
    }

    #[test]
    fn hooks_see_every_megaflow_enter_and_leave_once() {
        let c = Arc::new(Count::default());
        let mut cls = Classifier::with_hooks(c.clone());
        let mut mask = FlowKey::default();
        mask.set_in_port(u32::MAX);
        let ids: Vec<u64> = (1..=6)
            .map(|p| {
                let a = std::iter::once(DpAction::Output(p)).collect();
                cls.insert(&key(p), &mask, a).unwrap().id
            })
            .collect();
        assert!(cls.insert(&key(1), &mask, Actions::new()).is_err());
        let live = |c: &Count| c.0.lock().unwrap().values().filter(|&&n| n == 1).count();
        assert_eq!(live(&c), 6);
        assert!(cls.modify(ids[0], std::iter::once(DpAction::Drop).collect()));
        assert_eq!(live(&c), 6, "a modify is one leave and one enter");
        assert!(cls.delete(ids[1]).is_some());
        assert_eq!(cls.retain(|f| f.id != ids[2]), 1);
        assert_eq!(live(&c), 4);
        cls.flush();
        assert_eq!(live(&c), 0);
        assert!(c.0.lock().unwrap().values().all(|&n| n == 0));
    }
}
