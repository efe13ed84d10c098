//! Per-thread exact-match cache: full key → megaflow.
//!
//! Two-way set-associative, `EMC_ENTRIES` slots, indexed by the key hash. An
//! entry whose megaflow was deleted is ignored (and replaced on the next
//! insert), so the cache never needs to be told about deletions.

use std::sync::Arc;

use crate::classifier::Megaflow;
use crate::key::FlowKey;

/// Slots per thread (power of two).
pub const EMC_ENTRIES: usize = 8192;

struct Entry {
    hash: u64,
    key: FlowKey,
    flow: Option<Arc<Megaflow>>,
}

/// See the module documentation.
pub struct Emc {
    entries: Box<[Entry]>,
}

impl Default for Emc {
    fn default() -> Self {
        Emc::new()
    }
}

impl Emc {
    pub fn new() -> Self {
        let entries = (0..EMC_ENTRIES)
            .map(|_| Entry {
                hash: 0,
                key: FlowKey::default(),
                flow: None,
            })
            .collect();
        Emc { entries }
    }

    #[inline]
    fn slots(hash: u64) -> [usize; 2] {
        let m = EMC_ENTRIES - 1;
        [hash as usize & m, (hash >> 32) as usize & m]
    }

    /// The live megaflow cached for `key` (whose hash is `hash`).
    #[inline]
    pub fn lookup(&self, key: &FlowKey, hash: u64) -> Option<&Arc<Megaflow>> {
        for i in Self::slots(hash) {
            let e = &self.entries[i];
            if e.hash == hash
                && let Some(f) = &e.flow
                && e.key == *key
                && !f.is_dead()
            {
                return Some(f);
            }
        }
        None
    }

    /// Caches `flow` for `key`, evicting an empty/dead slot or else the second way.
    #[inline]
    pub fn insert(&mut self, key: &FlowKey, hash: u64, flow: &Arc<Megaflow>) {
        let [a, b] = Self::slots(hash);
        let pick = |e: &Entry| {
            e.flow.as_ref().is_none_or(|f| f.is_dead()) || (e.hash == hash && e.key == *key)
        };
        let i = if pick(&self.entries[a]) {
            a
        } else if pick(&self.entries[b]) {
            b
        } else {
            // Alternate victims by a hash bit so two hot keys can share a set.
            if hash & (1 << 20) != 0 { a } else { b }
        };
        let e = &mut self.entries[i];
        e.hash = hash;
        e.key = *key;
        e.flow = Some(flow.clone());
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        for e in self.entries.iter_mut() {
            e.flow = None;
        }
    }
}
