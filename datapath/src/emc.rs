//! Per-thread exact-match cache: key hash → megaflow.
//!
//! Four-way set-associative, [`EMC_ENTRIES`] slots in sets of [`EMC_WAYS`],
//! indexed by the key hash. A set is one 64-byte cache line holding the four
//! hashes and the four megaflow pointers, so a lookup touches one line of
//! the cache (128 KiB in all, which stays in a core's L2) and then the
//! megaflow it found.
//!
//! Entries keep no copy of the key: a hit is a slot whose hash equals the
//! key's and whose live megaflow matches the key under its own mask
//! (`key & mask == megaflow.key`). That is the condition under which the
//! classifier could have returned that megaflow, so a hash collision can
//! never hand a packet to a megaflow that does not match it. (Keeping a
//! 200-byte key per slot made the cache 1.7 MiB: with 1000 flows through
//! `ct(),recirc` nearly every lookup missed the CPU caches.)
//!
//! An entry whose megaflow was deleted is ignored (and replaced on the next
//! insert), so the cache never needs to be told about deletions.

use std::sync::Arc;

use crate::classifier::Megaflow;
use crate::key::FlowKey;

/// Slots per thread (power of two).
pub const EMC_ENTRIES: usize = 8192;
/// Slots per set (one cache line of hashes and pointers).
pub const EMC_WAYS: usize = 4;
const SETS: usize = EMC_ENTRIES / EMC_WAYS;

#[repr(C, align(64))]
#[derive(Default)]
struct Set {
    hash: [u64; EMC_WAYS],
    flow: [Option<Arc<Megaflow>>; EMC_WAYS],
}

/// See the module documentation.
pub struct Emc {
    sets: Box<[Set]>,
}

impl Default for Emc {
    fn default() -> Self {
        Emc::new()
    }
}

#[inline]
fn hit(f: &Megaflow, key: &FlowKey) -> bool {
    !f.is_dead() && key.matches(&f.key, &f.mask)
}

impl Emc {
    pub fn new() -> Self {
        Emc {
            sets: (0..SETS).map(|_| Set::default()).collect(),
        }
    }

    #[inline]
    fn set(hash: u64) -> usize {
        hash as usize & (SETS - 1)
    }

    /// The live megaflow cached for `key` (whose hash is `hash`).
    #[inline]
    pub fn lookup(&self, key: &FlowKey, hash: u64) -> Option<&Arc<Megaflow>> {
        let s = &self.sets[Self::set(hash)];
        for w in 0..EMC_WAYS {
            if s.hash[w] == hash
                && let Some(f) = &s.flow[w]
                && hit(f, key)
            {
                return Some(f);
            }
        }
        None
    }

    /// Caches `flow` for `key`: in the slot that already holds this hash,
    /// else an empty or dead slot, else a victim chosen by other hash bits.
    #[inline]
    pub fn insert(&mut self, key: &FlowKey, hash: u64, flow: &Arc<Megaflow>) {
        let s = &mut self.sets[Self::set(hash)];
        let same = (0..EMC_WAYS)
            .find(|&w| s.hash[w] == hash && s.flow[w].as_ref().is_some_and(|f| hit(f, key)));
        let w = same
            .or_else(|| (0..EMC_WAYS).find(|&w| s.flow[w].as_ref().is_none_or(|f| f.is_dead())))
            .unwrap_or((hash >> 40) as usize % EMC_WAYS);
        s.hash[w] = hash;
        s.flow[w] = Some(flow.clone());
    }

    /// Drops every entry.
    pub fn clear(&mut self) {
        for s in self.sets.iter_mut() {
            s.flow = Default::default();
        }
    }
}
