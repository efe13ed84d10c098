//! Maintenance that walks the table: incremental expiry (`sweep`), chunked dumps and flushes.
//!
//! All of them work one shard at a time and never hold more than one shard lock, so packets
//! of every other shard keep flowing; removals are batched (at most [`REMOVE_BATCH`] per write
//! lock hold) and unlinked entries are freed after the lock is released. No write lock is held
//! across a memory allocation or free: glibc's `malloc`/`free` of a large block can take
//! milliseconds while another thread frees millions of entries into the same arena, so
//! tables are allocated and freed outside the lock (see [`crate::table::Shard::grow`]) and
//! flushing a whole shard swaps its table for an empty one.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::conntrack::Conntrack;
use crate::dump::CtEntry;
use crate::key::ConnKey;
use crate::table::{Conn, Map, Slot};

/// Most entries unlinked per write-lock hold.
pub const REMOVE_BATCH: usize = 256;
// The sweep keeps one bit per entry of a batch in whole `u64`s.
const _: () = assert!(REMOVE_BATCH.is_multiple_of(64));

/// Result of one [`Conntrack::sweep`] call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepResult {
    /// Entries looked at.
    pub examined: usize,
    /// Entries unlinked because their deadline had passed.
    pub expired: usize,
    /// The sweep wrapped around to the first shard during this call (a full pass completed).
    pub wrapped: bool,
}

/// Position in a chunked dump: pass [`DumpCursor::START`] first, then the cursor each chunk
/// returns, until it returns `None`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DumpCursor(usize);

impl DumpCursor {
    /// The beginning of the table.
    pub const START: DumpCursor = DumpCursor(0);
}

/// Which connections [`Conntrack::flush`] removes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlushFilter {
    /// Every connection.
    All,
    /// Connections in one zone.
    Zone(u16),
    /// The connection with this tuple (in either direction) in the key's zone.
    Tuple(ConnKey),
}

impl Conntrack {
    /// Unlinks expired entries, one shard at a time starting where the previous call stopped,
    /// until at least `budget` entries have been examined or one full pass is done. The work
    /// per call is bounded by `budget` plus one shard; call it regularly (e.g. every few ms
    /// from a housekeeping thread, or between batches) with the current time.
    pub fn sweep(&self, now_ns: u64, budget: usize) -> SweepResult {
        let mut res = SweepResult::default();
        let n = self.shards.len();
        let start = self.sweep_cursor.load(Ordering::Relaxed) % n;
        let mut i = start;
        let mut visited = 0;
        let mut victims = Vec::new();
        while visited < n && res.examined < budget.max(1) {
            let (examined, expired) = self.sweep_shard(i, now_ns, &mut victims, true);
            res.examined += examined;
            res.expired += expired;
            visited += 1;
            i = (i + 1) % n;
            if i == 0 {
                res.wrapped = true;
            }
        }
        self.sweep_cursor.store(i, Ordering::Relaxed);
        res
    }

    /// `victims` is scratch space, empty on entry and on return (reused across shards so that
    /// the list rarely grows while the read lock is held).
    /// `shrink`: give memory back if the shard became mostly empty (not when the caller is
    /// about to insert into it).
    pub(crate) fn sweep_shard(
        &self,
        i: usize,
        now_ns: u64,
        victims: &mut Vec<(u64, Arc<Conn>)>,
        shrink: bool,
    ) -> (usize, usize) {
        let shard = &self.shards[i];
        victims.reserve(shard.map.read().len());
        // Find victims under the read lock: lookups proceed meanwhile.
        let examined = {
            let map = shard.map.read();
            victims.extend(
                map.iter()
                    .filter(|s| s.conn.expired(now_ns))
                    .map(|s| (s.hash, s.conn.clone())),
            );
            map.len()
        };
        if victims.is_empty() {
            if shrink {
                shard.maybe_shrink();
            }
            return (examined, 0);
        }
        let mut expired = 0;
        for chunk in victims.chunks(REMOVE_BATCH) {
            // Which entries of the chunk lost their primary slot (a NAT entry has two slots;
            // it counts once): accounted after the lock, with no allocation.
            let mut primary = [0u64; REMOVE_BATCH / 64];
            {
                let mut map = shard.map.write();
                for (j, (h, v)) in chunk.iter().enumerate() {
                    // Re-check: a packet may have refreshed it since the scan.
                    if !v.expired(now_ns) {
                        continue;
                    }
                    if let Ok(e) = map.find_entry(*h, |s| Arc::ptr_eq(&s.conn, v)) {
                        // Dropping the slot only decrements the count: `victims` still
                        // holds the entry.
                        if e.remove().0.is_primary() {
                            primary[j / 64] |= 1 << (j % 64);
                        }
                    }
                }
            }
            for (j, (_, c)) in chunk.iter().enumerate() {
                if primary[j / 64] & (1 << (j % 64)) != 0 {
                    self.account_removed(c, true);
                    expired += 1;
                }
            }
        }
        // The entries whose last reference the list holds are stocked for reuse or freed
        // here, unlocked.
        self.pool.give(victims.drain(..).map(|(_, c)| c));
        if shrink {
            shard.maybe_shrink();
        }
        (examined, expired)
    }

    /// One chunk of a dump of `zone` (or all zones): entries of whole shards, starting at
    /// `cursor`, until at least `max` entries are collected. Returns the entries and the cursor
    /// of the next chunk (`None` at the end). Entries past their deadline are skipped. Each
    /// shard is copied under its read lock only, so a dump never stops packet processing.
    pub fn dump(
        &self,
        zone: Option<u16>,
        cursor: DumpCursor,
        max: usize,
        now_ns: u64,
    ) -> (Vec<CtEntry>, Option<DumpCursor>) {
        let mut out = Vec::new();
        let mut i = cursor.0;
        while i < self.shards.len() && out.len() < max.max(1) {
            // Room first, so that the list does not grow while the lock is held.
            out.reserve(self.shards[i].map.read().len());
            let map = self.shards[i].map.read();
            collect(&map, zone, now_ns, &mut out);
            drop(map);
            i += 1;
        }
        let next = (i < self.shards.len()).then_some(DumpCursor(i));
        (out, next)
    }

    /// The whole dump, chunk by chunk (convenience for tools and tests).
    pub fn dump_all(&self, zone: Option<u16>, now_ns: u64) -> Vec<CtEntry> {
        let mut all = Vec::new();
        let mut cur = Some(DumpCursor::START);
        while let Some(c) = cur {
            let (mut chunk, next) = self.dump(zone, c, 4096, now_ns);
            all.append(&mut chunk);
            cur = next;
        }
        all
    }

    /// Removes the connections `filter` selects; returns how many. Works shard by shard with
    /// bounded write-lock holds.
    pub fn flush(&self, filter: FlushFilter) -> usize {
        if let FlushFilter::Tuple(k) = filter {
            let h = k.sym_hash(self.seed);
            let victim = {
                let map = self.shard_of(h).map.read();
                crate::table::find(&map, h, &k).map(|(c, _)| c.clone())
            };
            return match victim {
                Some(c) => usize::from(self.unlink(h, &c)),
                None => 0,
            };
        }
        let mut total = 0;
        for shard in self.shards.iter() {
            let freed: Vec<Slot> = match filter {
                // The whole table is swapped for a small empty one, allocated here: an O(1)
                // hold whatever the size, and the next insertion needs no allocation either.
                FlushFilter::All => {
                    let mut old = Map::with_capacity(16);
                    std::mem::swap(&mut old, &mut *shard.map.write());
                    old.into_iter().collect()
                }
                // Victims are found under the read lock, then unlinked in bounded batches.
                FlushFilter::Zone(z) => {
                    let mut victims: Vec<(u64, Arc<Conn>)> =
                        Vec::with_capacity(shard.map.read().len());
                    {
                        let map = shard.map.read();
                        victims.extend(
                            map.iter()
                                .filter(|s| s.conn.key.zone() == z)
                                .map(|s| (s.hash, s.conn.clone())),
                        );
                    }
                    let mut freed = Vec::with_capacity(victims.len());
                    for chunk in victims.chunks(REMOVE_BATCH) {
                        let mut map = shard.map.write();
                        for (h, v) in chunk {
                            if let Ok(e) = map.find_entry(*h, |s| Arc::ptr_eq(&s.conn, v)) {
                                freed.push(e.remove().0);
                            }
                        }
                    }
                    freed
                }
                FlushFilter::Tuple(_) => Vec::new(),
            };
            // Both slots of a NAT entry go (each in its shard); it counts once.
            for slot in &freed {
                if slot.is_primary() {
                    self.account_removed(&slot.conn, false);
                    total += 1;
                }
            }
            // The entries are stocked for reuse or (the rest, with `freed`) freed here,
            // outside every lock.
            self.pool.give(freed.into_iter().map(|s| s.conn));
        }
        for shard in self.shards.iter() {
            shard.maybe_shrink();
        }
        total
    }
}

fn collect(map: &Map, zone: Option<u16>, now_ns: u64, out: &mut Vec<CtEntry>) {
    for s in map.iter() {
        let c = &s.conn;
        if !s.is_primary() {
            continue;
        }
        if zone.is_some_and(|z| z != c.key.zone()) || c.expired(now_ns) {
            continue;
        }
        out.push(CtEntry::from_conn(c, now_ns));
    }
}
