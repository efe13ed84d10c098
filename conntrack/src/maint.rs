//! Maintenance that walks the table: incremental expiry (`sweep`), chunked dumps and flushes.
//!
//! All of them work one shard at a time and never hold more than one shard lock, so packets
//! of every other shard keep flowing. A sweep visits at most its budget of table slots per
//! call and resumes at a bucket index inside a shard (no skipping: a pass costs O(slots)),
//! unlinks at most [`REMOVE_BATCH`] entries per write-lock hold and only tries that lock, so
//! it never waits and may run on forwarding threads. Once a housekeeping thread calls
//! [`Conntrack::free_unlinked`], what sweeps unlink is freed there, and a sweep shrinks a
//! table it emptied into a small spare table that thread allocated (which then frees the old
//! one): a sweep step neither allocates nor frees, and the housekeeping thread takes no shard
//! lock. A dump only takes references under a shard's read lock. No write lock is held across
//! a memory allocation or free: glibc's `malloc`/`free` of a large block can take milliseconds
//! while another thread frees millions of entries into the same arena, so tables are allocated
//! and freed outside the lock (see [`crate::table::Shard::grow`]) and flushing a whole shard
//! swaps its table for an empty one. A flush only tries a shard's write lock at first, then
//! queues for it (so it always completes), holding it for a bounded batch. The crate
//! documentation (**Concurrency**) has the whole design.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::conntrack::Conntrack;
use crate::dump::CtEntry;
use crate::key::ConnKey;
use crate::table::{Conn, Map, Slot};

/// Most entries unlinked per write-lock hold (and scanned per read-lock hold by a sweep).
pub const REMOVE_BATCH: usize = 64;
// The sweep keeps one bit per entry of a batch in whole `u64`s.
const _: () = assert!(REMOVE_BATCH.is_multiple_of(64));

/// Most entries waiting in the graveyard: 1 MB of pointers, allocated once per free.
pub(crate) const GRAVEYARD_MAX: usize = 1 << 17;

/// Entries unlinked by a sweep that nobody else references, waiting for a housekeeping
/// thread to free them ([`Conntrack::free_unlinked`]). After a mass expiry, freeing millions
/// of entries makes glibc's `free` consolidate its free lists now and then, milliseconds of
/// CPU in one call; with the graveyard that happens on the housekeeping thread, not in a
/// sweep step on a forwarding thread. Bounded: when it is full (nobody frees it) or busy, the
/// sweep frees the entries itself.
pub(crate) struct Graveyard {
    list: parking_lot::Mutex<Vec<Arc<Conn>>>,
    /// Set by the first [`Conntrack::free_unlinked`].
    pub(crate) enabled: std::sync::atomic::AtomicBool,
    /// Small empty tables allocated by the housekeeping thread, into which sweep steps shrink
    /// the shards they emptied ([`SPARE_TABLES`] at most, each for [`SPARE_CAPACITY`]).
    spares: parking_lot::Mutex<Vec<Map>>,
    /// The large tables those shrinks took out, for the housekeeping thread to free.
    retired: parking_lot::Mutex<Vec<Map>>,
}

/// Most spare (and retired) tables kept between two [`Conntrack::free_unlinked`] calls.
const SPARE_TABLES: usize = 32;
/// Entries a spare table holds without growing.
const SPARE_CAPACITY: usize = 2 * REMOVE_BATCH;

impl Graveyard {
    pub(crate) fn new() -> Self {
        Graveyard {
            list: parking_lot::Mutex::new(Vec::new()),
            enabled: std::sync::atomic::AtomicBool::new(false),
            spares: parking_lot::Mutex::new(Vec::with_capacity(SPARE_TABLES)),
            retired: parking_lot::Mutex::new(Vec::with_capacity(SPARE_TABLES)),
        }
    }

    /// Shrinks shard `sh` (if it is mostly empty) into a spare table, on a thread that must
    /// neither allocate nor free nor wait: every lock is only tried, and the step is skipped
    /// when there is no spare or no room to retire the old table. Both lists stay locked
    /// (tried, never waited for) from the check to the push, so the old table always has its
    /// place in `retired` and the spare its place back in `spares`: nothing is freed here.
    fn shrink(&self, sh: &crate::table::Shard) {
        if !sh.mostly_empty(REMOVE_BATCH) {
            return;
        }
        // Order: `retired` then `spares` (`recycle_tables` never holds both).
        let Some(mut retired) = self.retired.try_lock() else {
            return;
        };
        if retired.len() >= retired.capacity() {
            return;
        }
        let Some(mut spares) = self.spares.try_lock() else {
            return;
        };
        let Some(mut table) = spares.pop() else {
            return;
        };
        // `table` is then the old one, or still the unused spare; either has room saved.
        if sh.shrink_into(&mut table, REMOVE_BATCH) {
            retired.push(table);
        } else {
            spares.push(table);
        }
    }

    /// Frees the retired tables and tops the spares up (allocations outside the locks).
    fn recycle_tables(&self) {
        let mut old = Vec::with_capacity(SPARE_TABLES);
        std::mem::swap(&mut *self.retired.lock(), &mut old);
        drop(old);
        let have = self.spares.lock().len();
        let mut fresh: Vec<Map> = (have..SPARE_TABLES)
            .map(|_| Map::with_capacity(SPARE_CAPACITY))
            .collect();
        let mut spares = self.spares.lock();
        while spares.len() < spares.capacity()
            && let Some(t) = fresh.pop()
        {
            spares.push(t);
        }
        drop(spares);
        // What did not fit (a sweep gave spares back meanwhile) is freed here, unlocked.
    }

    /// Room for a whole batch of [`REMOVE_BATCH`] entries right now (false if the list is
    /// busy).
    fn has_room(&self) -> bool {
        self.list
            .try_lock()
            .is_some_and(|l| l.capacity() - l.len() >= REMOVE_BATCH)
    }

    /// Keeps the entries of `conns` (which must be unlinked) for [`Conntrack::free_unlinked`];
    /// frees the ones that do not fit. Never allocates under the lock: the list grows only
    /// in [`Graveyard::take_all`].
    fn bury(&self, conns: impl Iterator<Item = Arc<Conn>>) {
        // Held only for a swap or a few pushes: a few tries, never a wait.
        let Some(mut list) = (0..64).find_map(|_| {
            std::hint::spin_loop();
            self.list.try_lock()
        }) else {
            return;
        };
        for c in conns {
            if list.len() == list.capacity() {
                break;
            }
            list.push(c);
        }
        // The rest of `conns` is dropped by the caller's iterator, after the lock.
    }

    /// Takes the waiting entries, leaving an empty list with room for [`GRAVEYARD_MAX`].
    fn take_all(&self) -> Vec<Arc<Conn>> {
        let mut fresh = Vec::with_capacity(GRAVEYARD_MAX);
        std::mem::swap(&mut *self.list.lock(), &mut fresh);
        self.enabled.store(true, Ordering::Relaxed);
        fresh
    }
}

/// Result of one [`Conntrack::sweep`] call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepResult {
    /// Entries looked at.
    pub examined: usize,
    /// Table slots (hash buckets, occupied or not) visited: the call's work, at most its
    /// budget.
    pub slots: usize,
    /// Entries unlinked because their deadline had passed.
    pub expired: usize,
    /// Entries found past their deadline: unlinked, or left for a later pass because their
    /// shard's write lock was busy.
    pub dead: usize,
    /// The sweep wrapped around to the first shard during this call (a full pass completed).
    pub wrapped: bool,
    /// After the call the table holds at least [`NEAR_LIMIT_PERCENT`] % of the global limit
    /// ([`Conntrack::max_conns`]), dead entries not yet unlinked included, or a zone limit
    /// refused a connection since the previous call: dead entries hold slots new connections
    /// are (or may soon be) refused for, so a caller that paces its sweeps should not slow
    /// them down now (OVS frees expired connections within ~5 s).
    pub near_limit: bool,
}

/// See [`SweepResult::near_limit`].
pub const NEAR_LIMIT_PERCENT: usize = 90;

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
    /// Unlinks expired entries, starting where the previous call stopped (a shard and a bucket
    /// of its hash table), until `budget` table slots have been visited or one full pass is
    /// done. A slot visit is a look at one bucket's control byte and, when it holds an entry,
    /// at the entry's deadline, so the work per call is O(`budget`) (plus one lock acquisition
    /// per shard passed), whatever the table's size: resuming inside a shard costs nothing.
    /// The buckets are scanned under the shard's read lock in steps of at most
    /// [`REMOVE_BATCH`], and each step's dead entries are unlinked under one write lock hold.
    ///
    /// The cursor is shared: concurrent sweeps (several forwarding threads) claim disjoint
    /// steps. Removals never move other entries of a hashbrown table, so a pass sees every
    /// entry that stays put; an entry inserted behind the cursor, or a shard whose table is
    /// replaced (grown or shrunk) meanwhile, is seen by a later pass (lookups treat dead
    /// entries as absent until then).
    ///
    /// A sweep never waits for a shard lock: the write lock is only *tried*, and the dead
    /// entries of a shard that is busy at that instant stay for the next pass (lookups treat
    /// them as absent meanwhile). So a sweep can run on the forwarding threads themselves,
    /// a small budget between batches (the way OVS's datapath threads do their own work):
    /// then no other thread ever holds a shard write lock for expiry, and a forwarding thread
    /// can never be left waiting on a sweeper that the OS descheduled while holding one.
    /// It may equally run from a housekeeping thread; see the crate documentation.
    pub fn sweep(&self, now_ns: u64, budget: usize) -> SweepResult {
        let mut res = SweepResult::default();
        let n = self.shards.len();
        let budget = budget.max(1);
        // Shard ends this call stepped over, and whether it began at a shard's head.
        let mut finished = 0;
        let mut began_at_head = None;
        // Budget spent: slots visited, plus one per step that visited none (a shard end, a
        // step lost to a concurrent sweep), so that every call ends.
        let mut spent = 0;
        let mut victims: [Option<(u64, Arc<Conn>)>; REMOVE_BATCH] = std::array::from_fn(|_| None);
        while spent < budget {
            // Back-pressure: with a housekeeping thread freeing (see `free_unlinked`), a step
            // whose unlinked entries would not fit in the graveyard waits for the next call
            // rather than freeing them here.
            if self.graveyard.enabled.load(Ordering::Relaxed) && !self.graveyard.has_room() {
                break;
            }
            let want = (budget - spent).min(REMOVE_BATCH);
            let cur = self.sweep_cursor.load(Ordering::Relaxed);
            let (shard, pos) = ((cur >> 32) % n, cur & 0xffff_ffff);
            began_at_head.get_or_insert(pos == 0);
            let sh = &self.shards[shard];
            let (visited, nv, at_end) = {
                let map = sh.map.read();
                let nb = map.num_buckets();
                let end = (pos + want).min(nb.max(pos));
                let at_end = end >= nb;
                let next = if at_end {
                    ((shard + 1) % n) << 32
                } else {
                    (shard << 32) | end
                };
                // Claim the buckets [pos, end) (another sweep may have moved the cursor).
                if self
                    .sweep_cursor
                    .compare_exchange(cur, next, Ordering::Relaxed, Ordering::Relaxed)
                    .is_err()
                {
                    spent += 1;
                    continue;
                }
                let mut nv = 0;
                for b in pos..end {
                    if let Some(s) = map.get_bucket(b) {
                        res.examined += 1;
                        if s.conn.expired(now_ns) {
                            victims[nv] = Some((s.hash, s.conn.clone()));
                            nv += 1;
                        }
                    }
                }
                (end - pos, nv, at_end)
            };
            res.slots += visited;
            res.dead += nv;
            spent += visited.max(1);
            let (_, primaries) = self.unlink_dead(shard, &mut victims[..nv], now_ns);
            res.expired += primaries;
            if at_end {
                // With a housekeeping thread freeing the graveyard, an emptied table is
                // shrunk into a spare it allocated, and it frees the old one: no allocation
                // or free here, and no other thread takes the write lock to shrink.
                if self.graveyard.enabled.load(Ordering::Relaxed) {
                    self.graveyard.shrink(sh);
                } else {
                    sh.maybe_shrink();
                }
                finished += 1;
                if shard + 1 == n {
                    res.wrapped = true;
                }
                // One full pass: every shard's end once, and the start shard's head again
                // when the pass began in its middle.
                if finished > n || (finished == n && began_at_head == Some(true)) {
                    break;
                }
            }
        }
        let len = self.len();
        // A zone limit refused a connection since the last call: that zone is full, and
        // its dead entries hold the slots it needs.
        let refusals = self.counters.zone_full.load(Ordering::Relaxed);
        let zone_full = self.sweep_zone_refusals.swap(refusals, Ordering::Relaxed) != refusals;
        res.near_limit = zone_full
            || len > 0
                && len.saturating_mul(100) >= self.max_conns().saturating_mul(NEAR_LIMIT_PERCENT);
        res
    }

    /// Frees the entries sweeps have unlinked and left in the graveyard, and the large tables
    /// they replaced when they shrank emptied shards; allocates the small tables they shrink
    /// into. Returns how many entries were freed. Call it from a housekeeping thread (e.g.
    /// every few ms) when sweeps run on the forwarding threads: the first call enables the
    /// graveyard (until then a sweep frees what it unlinks and shrinks emptied tables itself,
    /// allocating). It takes no shard lock: a housekeeping thread that the OS deschedules
    /// never holds up a forwarding thread.
    pub fn free_unlinked(&self) -> usize {
        let dead = self.graveyard.take_all();
        let n = dead.len();
        drop(dead);
        self.graveyard.recycle_tables();
        n
    }

    /// Unlinks the entries of `victims` (slots of shard `i`, with their hashes) that are still
    /// dead, under one write lock hold if the lock is free right now (nothing otherwise).
    /// Returns the slots unlinked and how many entries lost their primary slot (accounted
    /// here, after the hold). Empties `victims`; the entries nobody else holds are stocked
    /// for reuse or freed after the lock is released.
    fn unlink_dead(
        &self,
        i: usize,
        victims: &mut [Option<(u64, Arc<Conn>)>],
        now_ns: u64,
    ) -> (usize, usize) {
        if victims.is_empty() {
            return (0, 0);
        }
        let mut primary = [0u64; REMOVE_BATCH / 64];
        let mut slots = 0;
        if let Some(mut map) = self.shards[i].map.try_write() {
            for (j, v) in victims.iter().enumerate() {
                let Some((h, v)) = v else {
                    continue;
                };
                // Re-check: a packet may have refreshed it since the scan.
                if !v.expired(now_ns) {
                    continue;
                }
                if let Ok(e) = map.find_entry(*h, |s| s.hash == *h && Arc::ptr_eq(&s.conn, v)) {
                    slots += 1;
                    // Dropping the slot only decrements the count: `victims` still holds
                    // the entry.
                    if e.remove().0.is_primary() {
                        primary[j / 64] |= 1 << (j % 64);
                    }
                }
            }
        }
        let mut primaries = 0;
        for (j, v) in victims.iter().enumerate() {
            if primary[j / 64] & (1 << (j % 64)) != 0
                && let Some((_, c)) = v
            {
                self.account_removed(c, true);
                primaries += 1;
            }
        }
        self.pool
            .give(victims.iter_mut().filter_map(Option::take).map(|(_, c)| c));
        // What the stock did not take goes to the graveyard (or, when it is full or busy, is
        // freed here), unlocked.
        self.graveyard
            .bury(victims.iter_mut().filter_map(Option::take).map(|(_, c)| c));
        victims.iter_mut().for_each(|v| *v = None);
        (slots, primaries)
    }

    /// Makes room in shard `i` for an insertion (a forwarding thread about to link a new
    /// connection into a full shard): unlinks at most [`REMOVE_BATCH`] dead entries, found by
    /// a scan that stops as soon as it has that many. Bounded work, whatever the shard's size
    /// (after a mass expiry every entry of a full shard may be dead). `_victims` and `_shrink`
    /// are unused (kept for the callers' signature).
    pub(crate) fn sweep_shard(
        &self,
        i: usize,
        now_ns: u64,
        _victims: &mut Vec<(u64, Arc<Conn>)>,
        _shrink: bool,
    ) -> (usize, usize) {
        let mut victims: [Option<(u64, Arc<Conn>)>; REMOVE_BATCH] = std::array::from_fn(|_| None);
        let (examined, nv) = {
            let map = self.shards[i].map.read();
            let (mut examined, mut nv) = (0, 0);
            for s in map.iter() {
                if nv == REMOVE_BATCH || examined == 4 * REMOVE_BATCH {
                    break;
                }
                examined += 1;
                if s.conn.expired(now_ns) {
                    victims[nv] = Some((s.hash, s.conn.clone()));
                    nv += 1;
                }
            }
            (examined, nv)
        };
        let (_, expired) = self.unlink_dead(i, &mut victims[..nv], now_ns);
        (examined, expired)
    }

    /// One chunk of a dump of `zone` (or all zones): entries of whole shards, starting at
    /// `cursor`, until at least `max` entries are collected. Returns the entries and the cursor
    /// of the next chunk (`None` at the end). Entries past their deadline are skipped. A
    /// shard's entries are only referenced under its read lock (lookups proceed meanwhile);
    /// they are read and formatted after it is released.
    pub fn dump(
        &self,
        zone: Option<u16>,
        cursor: DumpCursor,
        max: usize,
        now_ns: u64,
    ) -> (Vec<CtEntry>, Option<DumpCursor>) {
        let mut out = Vec::new();
        let mut conns: Vec<Arc<Conn>> = Vec::new();
        let mut i = cursor.0;
        while i < self.shards.len() && out.len() < max.max(1) {
            // Room first, so that the list does not grow while the lock is held.
            let room = self.shards[i].map.read().len() + 16;
            conns.reserve(room);
            {
                // Under the read lock the entries are only referenced (no entry lock, no
                // formatting, no allocation unless the shard grew meanwhile).
                let map = self.shards[i].map.read();
                conns.extend(
                    map.iter()
                        .filter(|s| s.is_primary())
                        .map(|s| s.conn.clone()),
                );
            }
            out.reserve(conns.len());
            for c in conns.drain(..) {
                if zone.is_some_and(|z| z != c.key.zone()) || c.expired(now_ns) {
                    continue;
                }
                out.push(CtEntry::from_conn(&c, now_ns));
            }
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
                    std::mem::swap(&mut old, &mut *shard.write_when_free());
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
                        let mut map = shard.write_when_free();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conntrack::Config;
    use crate::proto::{L4State, OtherState};
    use std::net::Ipv4Addr;
    use std::sync::atomic::AtomicBool;

    /// One shard holding `n` entries with deadline 100 (dead from then on), counted.
    fn tracker(n: u32) -> Conntrack {
        let ct = Conntrack::new(Config {
            n_shards: 1,
            ..Config::default()
        });
        {
            let mut map = ct.shards[0].map.write();
            for i in 0..n {
                let k = ConnKey::ipv4(
                    Ipv4Addr::from(0x0a00_0000 + i),
                    Ipv4Addr::new(10, 2, 2, 2),
                    17,
                    1000,
                    53,
                );
                let h = k.sym_hash(ct.seed);
                let conn = Arc::new(Conn::new(k, L4State::Other(OtherState::First), 100));
                map.insert_unique(h, Slot { hash: h, conn }, |s| s.hash);
            }
        }
        ct.n_conns.store(n as usize, Ordering::Relaxed);
        ct.zone_counts[0].store(n, Ordering::Relaxed);
        ct
    }

    #[test]
    fn a_sweep_never_waits_for_a_busy_shard_and_a_later_pass_unlinks_what_it_left() {
        let ct = tracker(300);
        let reader = ct.shards[0].map.read();
        // Another holder of the lock: the sweep neither blocks nor unlinks anything.
        let r = ct.sweep(200, usize::MAX);
        assert_eq!((r.examined, r.expired, r.wrapped), (300, 0, true));
        drop(reader);
        let r = ct.sweep(200, usize::MAX);
        assert_eq!((r.expired, ct.len()), (300, 0));
        assert_eq!(ct.zone_count(0), 0);
    }

    #[test]
    fn a_sweep_examines_at_most_its_budget_and_resumes_inside_a_shard() {
        let ct = tracker(1000);
        let nb = ct.shards[0].map.read().num_buckets();
        let (mut total, mut slots, mut calls) = (0, 0, 0);
        loop {
            let r = ct.sweep(200, 100);
            assert!(r.examined <= r.slots && r.slots <= 100, "{r:?}");
            total += r.expired;
            slots += r.slots;
            calls += 1;
            if r.wrapped {
                break;
            }
        }
        // The wrapping call goes on into the next pass with what is left of its budget.
        assert_eq!((total, ct.len(), calls), (1000, 0, nb.div_ceil(100)));
        assert!((nb..nb + 100).contains(&slots), "{slots} vs {nb}");
    }

    #[test]
    fn a_full_pass_in_small_steps_over_a_large_shard_does_linear_work() {
        // Nothing is due: every step resumes in the middle of the same big table.
        let n = 200_000;
        let ct = tracker(n);
        let nb = ct.shards[0].map.read().num_buckets();
        let (mut examined, mut slots, mut calls) = (0, 0, 0);
        let t = std::time::Instant::now();
        loop {
            let r = ct.sweep(50, 64);
            assert!(r.slots <= 64, "{r:?}");
            examined += r.examined;
            slots += r.slots;
            calls += 1;
            if r.wrapped {
                break;
            }
        }
        // Each entry examined once, each bucket visited once: O(N) for the pass (skipping to
        // the resume position entry by entry would have been ~N^2/128 = 3e8 steps).
        assert_eq!((examined, slots, calls), (n as usize, nb, nb.div_ceil(64)));
        assert!(
            t.elapsed() < std::time::Duration::from_secs(20),
            "{:?}",
            t.elapsed()
        );
        // The next pass expires them all, still step by step.
        let mut expired = 0;
        loop {
            let r = ct.sweep(200, 64);
            expired += r.expired;
            if r.wrapped {
                break;
            }
        }
        assert_eq!((expired, ct.len()), (n as usize, 0));
    }

    #[test]
    fn concurrent_sweeps_claim_disjoint_steps_and_together_expire_everything() {
        let ct = tracker(50_000);
        let nb = ct.shards[0].map.read().num_buckets();
        // Nothing due: three threads make one pass between them.
        let wrapped = std::sync::atomic::AtomicBool::new(false);
        let sum = |per_thread: &(dyn Fn() -> (usize, usize) + Sync)| {
            std::thread::scope(|s| {
                let hs: Vec<_> = (0..3).map(|_| s.spawn(per_thread)).collect();
                hs.into_iter()
                    .map(|h| h.join().unwrap())
                    .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
            })
        };
        let (slots, examined) = sum(&|| {
            let (mut slots, mut examined) = (0, 0);
            while !wrapped.load(Ordering::Relaxed) {
                let r = ct.sweep(50, 64);
                (slots, examined) = (slots + r.slots, examined + r.examined);
                if r.wrapped {
                    wrapped.store(true, Ordering::Relaxed);
                }
            }
            (slots, examined)
        });
        // Each step's buckets claimed by one thread only: about one pass in all (plus, per
        // thread, the call that saw the wrap go on into the next pass).
        assert!((nb..=nb + 3 * 128).contains(&slots), "{slots} vs {nb}");
        assert!((50_000..50_000 + 3 * 128).contains(&examined), "{examined}");
        // Due: together they unlink everything (a step whose write lock was busy leaves its
        // dead entries for a later pass).
        let (_, expired) = sum(&|| {
            let mut expired = 0;
            while !ct.is_empty() {
                expired += ct.sweep(200, 64).expired;
            }
            (0, expired)
        });
        assert_eq!((expired, ct.len()), (50_000, 0));
    }

    /// Two threads that read shard 0 in turns with overlapping holds: each releases its
    /// guard only once the other holds one (or after 20 ms, when the other is queued behind
    /// a waiting writer), so the lock is never free between them. They give up after 30 s
    /// (so that a `body` starved of the lock still returns): then this panics.
    fn overlapping_readers<T>(ct: &Conntrack, body: impl FnOnce() -> T + Send) -> T
    where
        T: Send,
    {
        use std::sync::atomic::AtomicUsize;
        let done = AtomicBool::new(false);
        let gave_up = AtomicBool::new(false);
        let turn = AtomicUsize::new(0);
        let start = std::time::Instant::now();
        let out = std::thread::scope(|s| {
            for me in 0..2usize {
                let (done, turn, gave_up) = (&done, &turn, &gave_up);
                s.spawn(move || {
                    while !done.load(Ordering::Relaxed) {
                        if start.elapsed() > std::time::Duration::from_secs(30) {
                            gave_up.store(true, Ordering::Relaxed);
                            return;
                        }
                        if turn.load(Ordering::Acquire) % 2 != me {
                            std::hint::spin_loop();
                            continue;
                        }
                        let g = ct.shards[0].map.read();
                        let mine = turn.fetch_add(1, Ordering::AcqRel) + 1;
                        // Hold until the other thread took its guard (turn moved on).
                        let t = std::time::Instant::now();
                        while turn.load(Ordering::Acquire) == mine
                            && t.elapsed() < std::time::Duration::from_millis(20)
                            && !done.load(Ordering::Relaxed)
                        {
                            std::hint::spin_loop();
                        }
                        drop(g);
                    }
                });
            }
            while turn.load(Ordering::Acquire) < 4 {
                std::hint::spin_loop();
            }
            let out = body();
            done.store(true, Ordering::Relaxed);
            out
        });
        assert!(
            !gave_up.load(Ordering::Relaxed),
            "starved of the write lock"
        );
        out
    }

    #[test]
    fn a_flush_completes_while_readers_never_leave_the_shard_free() {
        let ct = tracker(1000);
        // By zone: 16 batches, each needing the write lock.
        let n = overlapping_readers(&ct, || ct.flush(FlushFilter::Zone(0)));
        assert_eq!((n, ct.len(), ct.zone_count(0)), (1000, 0, 0));
        let ct = tracker(1000);
        let n = overlapping_readers(&ct, || ct.flush(FlushFilter::All));
        assert_eq!((n, ct.len()), (1000, 0));
    }

    #[test]
    fn making_room_for_an_insertion_unlinks_a_bounded_batch() {
        let ct = tracker(5000);
        let (examined, expired) = ct.sweep_shard(0, 200, &mut Vec::new(), false);
        assert_eq!((examined, expired), (REMOVE_BATCH, REMOVE_BATCH));
        assert_eq!(ct.len(), 5000 - REMOVE_BATCH);
    }

    #[test]
    fn the_graveyard_keeps_unlinked_entries_for_the_housekeeping_thread_once_enabled() {
        let ct = tracker(2000);
        // Not enabled yet: the sweep frees what the stock does not take.
        assert_eq!(ct.free_unlinked(), 0);
        let r = ct.sweep(200, usize::MAX);
        assert_eq!(r.expired, 2000);
        // The stock takes POOL_MAX entries (and frees the rest of the step of 16 that filled
        // it); the graveyard holds the others.
        let freed = ct.free_unlinked();
        let rest = 2000 - crate::table::POOL_MAX;
        assert!((rest - 15..=rest).contains(&freed), "{freed}");
        // The emptied table was shrunk into a spare by the sweep step, and the old one freed
        // by the housekeeping call.
        assert!(ct.shards[0].map.read().capacity() < 4 * SPARE_CAPACITY);
        assert!(ct.graveyard.retired.lock().is_empty());
        assert_eq!(ct.free_unlinked(), 0);
    }

    #[test]
    fn a_shrink_with_the_retired_list_busy_waits_for_the_next_step_and_frees_nothing() {
        let ct = tracker(2000);
        assert_eq!(ct.free_unlinked(), 0); // enables the graveyard, allocates the spares
        let spares = ct.graveyard.spares.lock().len();
        let big = ct.shards[0].map.read().num_buckets();
        // Another thread holds the retired list (as `recycle_tables` does for its swap).
        let held = ct.graveyard.retired.lock();
        let r = ct.sweep(200, usize::MAX);
        assert_eq!(r.expired, 2000);
        // Nothing was shrunk (the old table would have had no place but a free here), and
        // the spare is still there.
        assert_eq!(ct.shards[0].map.read().num_buckets(), big);
        assert_eq!(ct.graveyard.spares.lock().len(), spares);
        drop(held);
        // A later step does it, handing the old table over.
        ct.sweep(300, usize::MAX);
        assert!(ct.shards[0].map.read().capacity() < 4 * SPARE_CAPACITY);
        assert!(!ct.graveyard.retired.lock().is_empty());
        ct.free_unlinked();
        assert!(ct.graveyard.retired.lock().is_empty());
    }
}
