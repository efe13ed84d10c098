//! Connection entries and the sharded table that holds them.
//!
//! The table is split into `n_shards` shards, each a `parking_lot::RwLock` around a
//! `hashbrown::HashTable<Arc<Conn>>`. A connection lives in the shard chosen by the high bits of
//! its direction-symmetric key hash, so both directions of a connection find the same entry with
//! one probe. Packets of existing connections take only their shard's *read* lock (plus the
//! entry's own small mutex for the state machine); creation and removal take the shard's write
//! lock, for the time of one insert or a bounded batch of removals. There is no global lock on
//! the packet path.
//!
//! Entries are `Arc`s: a lookup that holds an entry keeps it alive even if a sweep or a flush
//! unlinks it meanwhile, so no thread ever frees an entry another thread is using.
//!
//! Keys are unique in a shard. An entry past its deadline is treated as absent by every lookup
//! (lazy expiry) and is replaced in place when a packet creates a live connection with the same
//! key, so an expired entry can never hide a live one.
//!
//! NAT makes a connection's reply key differ from its reversed original key; such a connection
//! ([`Conn::nat`]) is linked under both keys (two slots, possibly in two shards: the primary
//! slot under the original key's hash, a second one under the reply key's), and
//! [`Conn::direction_of`] is the one place that decides which direction a key denotes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hashbrown17::HashTable;
use parking_lot::{Mutex, RwLock, RwLockWriteGuard};

use crate::key::ConnKey;
use crate::proto::L4State;

/// Mutable part of a connection, behind the entry's mutex. No field needs more than 4-byte
/// alignment, so the mutex's lock byte takes 4 bytes of the entry, not 8 (see [`Conn`]).
#[derive(Debug)]
pub(crate) struct ConnInner {
    pub mark: u32,
    /// `ct_label`, little-endian (bytes rather than a `u128`, which would make the struct
    /// 16-byte aligned; on a little-endian machine the conversion is a plain load or store).
    pub label: [u8; 16],
    pub l4: L4State,
}

impl ConnInner {
    #[inline]
    pub(crate) fn label(&self) -> u128 {
        u128::from_le_bytes(self.label)
    }

    #[inline]
    pub(crate) fn set_label(&mut self, l: u128) {
        self.label = l.to_le_bytes();
    }
}

/// The rarely used parts of a connection, in one box outside the entry's mutex: set before
/// the entry is first linked and never replaced after (the ALG's mutable state has a lock of
/// its own, inside [`crate::alg::ConnAlg`]).
#[derive(Debug, Default)]
pub(crate) struct ConnExt {
    /// NAT translation (see [`Conn::nat`]).
    pub nat: Option<NatBinding>,
    /// ALG state (helper of a control connection, parent of a related one).
    pub alg: Option<Box<crate::alg::ConnAlg>>,
}

/// The translation of a NATed connection: its reply key differs from the reversed original
/// key, and the entry is linked under both keys.
#[derive(Debug)]
pub(crate) struct NatBinding {
    /// Reply-direction key (what the translated replies carry).
    pub reply: ConnKey,
    /// Table hash of `reply`.
    pub reply_hash: u64,
    /// The entry has a second slot, under `reply_hash` (false when both keys hash alike: then
    /// the one slot serves both).
    pub two_slots: bool,
    /// `NAT_SRC` / `NAT_DST` bits: what the connection's original direction gets.
    pub kinds: u8,
}

/// [`NatBinding::kinds`]: source NAT.
pub(crate) const NAT_SRC: u8 = 1;
/// [`NatBinding::kinds`]: destination NAT.
pub(crate) const NAT_DST: u8 = 2;

/// One tracked connection.
///
/// Kept at most 112 bytes, so that its `Arc` allocation (two counters more) is at most 128:
/// one size class below what the fields would take in the obvious layout (mimalloc's classes
/// go 112, 128, 160; glibc's chunks 128, 144), i.e. 32 bytes less per connection with the
/// switch's allocator. Hence the rarely set NAT and ALG parts share one pointer
/// ([`Conn::ext`]), and the mutex guards only 4-byte fields.
#[derive(Debug)]
pub(crate) struct Conn {
    /// Original-direction key (includes the zone).
    pub key: ConnKey,
    /// NAT translation and ALG state; `None` for the common connection. Set before the entry
    /// is first linked and never changed after.
    pub ext: Option<Box<ConnExt>>,
    /// Absolute deadline in ns; the entry is dead from this instant on.
    pub expires_at_ns: AtomicU64,
    pub inner: Mutex<ConnInner>,
}

impl Conn {
    pub(crate) fn new(key: ConnKey, l4: L4State, expires_at_ns: u64) -> Self {
        Conn {
            key,
            ext: None,
            expires_at_ns: AtomicU64::new(expires_at_ns),
            inner: Mutex::new(ConnInner {
                mark: 0,
                label: [0; 16],
                l4,
            }),
        }
    }

    /// The NAT translation: its reply key differs from the reversed original key.
    #[inline]
    pub(crate) fn nat(&self) -> Option<&NatBinding> {
        self.ext.as_deref()?.nat.as_ref()
    }

    /// The ALG state, if the connection has a helper or was made from an expectation.
    #[inline]
    pub(crate) fn alg(&self) -> Option<&crate::alg::ConnAlg> {
        self.ext.as_deref()?.alg.as_deref()
    }

    /// The reply-direction key. Without NAT it is the reversed original key.
    pub(crate) fn reply_key(&self) -> ConnKey {
        match self.nat() {
            Some(b) => b.reply,
            None => self.key.reverse(),
        }
    }

    /// `Some(false)` if `k` is this connection's original direction, `Some(true)` if it is the
    /// reply direction, else `None`.
    #[inline]
    pub(crate) fn direction_of(&self, k: &ConnKey) -> Option<bool> {
        if self.key == *k {
            Some(false)
        } else if match self.nat() {
            None => self.key.is_reverse_of(k),
            Some(b) => b.reply == *k,
        } {
            Some(true)
        } else {
            None
        }
    }

    #[inline]
    pub(crate) fn expired(&self, now_ns: u64) -> bool {
        now_ns >= self.expires_at_ns.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn deadline_ns(&self) -> u64 {
        self.expires_at_ns.load(Ordering::Relaxed)
    }
}

/// Most unlinked entries kept for reuse by [`ConnPool`].
pub(crate) const POOL_MAX: usize = 1024;
/// Entries pushed into the stock per lock hold.
const GIVE_STEP: usize = 16;
/// Attempts at the stock's lock before a creation allocates instead.
const TAKE_TRIES: usize = 64;

/// A small stock of unlinked entries, reused for new connections. A thread that frees millions
/// of entries (a mass expiry, a flush) fills glibc's arena with free chunks; a `malloc` in that
/// arena meanwhile can wait for the arena lock and then spend milliseconds sorting them. With
/// the stock, creating a connection during such a free allocates nothing. It is bounded (at
/// most [`POOL_MAX`] entries, ~130 KB), so memory still goes back after a mass expiry.
pub(crate) struct ConnPool {
    stock: Mutex<Vec<Arc<Conn>>>,
    /// How many entries are stocked (written under the lock, read without it): creations
    /// skip the lock while the stock is empty, so threads creating connections in steady
    /// state share no written cache line here.
    stocked: AtomicU64,
}

impl ConnPool {
    /// A fresh entry: a stocked one if the stock is not empty, else a new one. The stock's
    /// lock is only tried (a few times: its holders push or pop a handful of pointers), so a
    /// forwarding thread never waits for a thread that is giving entries back. `ext` (the ALG
    /// state of a connection that gets one) goes into the entry, which is returned unshared.
    pub(crate) fn take(
        &self,
        key: ConnKey,
        l4: L4State,
        expires_at_ns: u64,
        ext: Option<Box<ConnExt>>,
    ) -> Arc<Conn> {
        let stocked = if self.stocked.load(Ordering::Relaxed) == 0 {
            None
        } else {
            let mut got = None;
            for _ in 0..TAKE_TRIES {
                if let Some(mut s) = self.stock.try_lock() {
                    got = s.pop();
                    self.stocked.store(s.len() as u64, Ordering::Relaxed);
                    break;
                }
                std::hint::spin_loop();
            }
            got
        };
        if let Some(mut c) = stocked
            && let Some(m) = Arc::get_mut(&mut c)
        {
            m.key = key;
            m.ext = ext;
            *m.expires_at_ns.get_mut() = expires_at_ns;
            *m.inner.get_mut() = ConnInner {
                mark: 0,
                label: [0; 16],
                l4,
            };
            return c;
        }
        let mut c = Conn::new(key, l4, expires_at_ns);
        c.ext = ext;
        Arc::new(c)
    }

    /// Stocks the entries of `conns` nobody else references, until the stock is full; the
    /// rest stay in the iterator for the caller to drop. Call it outside every shard lock.
    /// The entries are checked (and their NAT and helper parts freed) before the stock's lock
    /// is taken, and at most [`GIVE_STEP`] are pushed per hold, so the lock is only ever held
    /// for a few pointer moves.
    pub(crate) fn give(&self, mut conns: impl Iterator<Item = Arc<Conn>>) {
        loop {
            if self.stocked.load(Ordering::Relaxed) as usize >= POOL_MAX {
                return;
            }
            let mut step: [Option<Arc<Conn>>; GIVE_STEP] = std::array::from_fn(|_| None);
            let mut n = 0;
            while n < GIVE_STEP {
                let Some(mut c) = conns.next() else {
                    break;
                };
                if let Some(m) = Arc::get_mut(&mut c) {
                    // The NAT and helper parts are freed here, not on the packet path.
                    m.ext = None;
                    step[n] = Some(c);
                    n += 1;
                }
            }
            if n == 0 {
                return;
            }
            let Some(mut stock) = self.stock.try_lock() else {
                return;
            };
            for c in step.iter_mut().take(n) {
                if stock.len() == POOL_MAX {
                    break;
                }
                if let Some(c) = c.take() {
                    stock.push(c);
                }
            }
            self.stocked.store(stock.len() as u64, Ordering::Relaxed);
            drop(stock);
            // Entries of `step` the full stock did not take are freed here, unlocked.
            if n < GIVE_STEP {
                return;
            }
        }
    }

    /// An empty stock whose list is sized once (it never grows after).
    pub(crate) fn new() -> Self {
        ConnPool {
            stock: Mutex::new(Vec::with_capacity(POOL_MAX)),
            stocked: AtomicU64::new(0),
        }
    }
}

/// A table slot: the entry and its key hash (kept so that growing, shrinking and sweeping the
/// table never has to touch the entries themselves).
pub(crate) struct Slot {
    pub hash: u64,
    pub conn: Arc<Conn>,
}

impl Slot {
    /// False for the second slot of a NAT entry (the one under its reply key). Every entry has
    /// exactly one primary slot: counting, dumps and accounting look at primary slots only.
    #[inline]
    pub(crate) fn is_primary(&self) -> bool {
        match self.conn.nat() {
            Some(b) => !(b.two_slots && self.hash == b.reply_hash),
            None => true,
        }
    }
}

pub(crate) type Map = HashTable<Slot>;

/// One shard, padded to its own cache lines so that threads on different shards never share one.
#[repr(align(128))]
pub(crate) struct Shard {
    pub map: RwLock<Map>,
}

impl Shard {
    pub(crate) fn new() -> Self {
        Shard {
            map: RwLock::new(HashTable::new()),
        }
    }

    /// The shard's write lock, with room for `extra` more slots: the table never grows (and
    /// so never allocates, rehashes into new memory or frees its old memory) while this lock is
    /// held by an insertion. A full table is first replaced by [`Shard::grow`]. (If another
    /// thread filled the new room between the two, the insertion grows the table itself: rare.)
    pub(crate) fn write_with_room(&self, extra: usize) -> RwLockWriteGuard<'_, Map> {
        let map = self.map.write();
        if map.capacity() - map.len() >= extra {
            return map;
        }
        let want = (map.len() + extra) * 2;
        drop(map);
        self.grow(want, extra);
        self.map.write()
    }

    /// Replaces the table by one with capacity for `want` slots. The new table is allocated
    /// and the old one freed outside the lock; under the write lock the slots are only moved
    /// (each keeps its hash, so no entry is dereferenced). A glibc `malloc`/`free` of a large
    /// block can take milliseconds while another thread is freeing millions of entries into
    /// the same arena; none happens while packets of this shard wait.
    pub(crate) fn grow(&self, want: usize, extra: usize) {
        let mut fresh = Map::with_capacity(want.max(16));
        let mut map = self.map.write();
        if map.capacity() - map.len() < extra && map.len() + extra <= fresh.capacity() {
            move_slots(&mut map, &mut fresh);
        }
        drop(map);
        // `fresh` is now the old table (or the unused new one): freed here, unlocked.
    }

    /// Gives memory back when the table has become mostly empty, with the same discipline
    /// as [`Shard::grow`]: allocation and free outside the lock, a move of the (few) remaining
    /// slots under it; skipped when the write lock is busy at that instant.
    pub(crate) fn maybe_shrink(&self) {
        drop(self.shrink_if(usize::MAX));
    }

    /// [`Shard::maybe_shrink`] for a table of at most `max_len` entries (so that the move
    /// under the lock is short); returns the old table's memory (an empty table) for the
    /// caller to free where it likes, or `None` when nothing was done.
    pub(crate) fn shrink_if(&self, max_len: usize) -> Option<Map> {
        let len = {
            let map = self.map.read();
            if map.capacity() <= 64 || map.len() * 4 >= map.capacity() || map.len() > max_len {
                return None;
            }
            map.len()
        };
        // Never below a few slots: the next insertions then need no allocation.
        let mut fresh = Map::with_capacity((len * 2).max(16));
        // Only tried: a waiting writer would make the shard's next readers queue behind it.
        let mut map = self.map.try_write()?;
        if map.len() * 4 < map.capacity() && map.len() <= fresh.capacity() {
            move_slots(&mut map, &mut fresh);
        }
        drop(map);
        Some(fresh)
    }

    /// The table is mostly empty (a quarter full at most) and holds at most `max_len`
    /// entries: worth shrinking (checked under the read lock).
    pub(crate) fn mostly_empty(&self, max_len: usize) -> bool {
        let map = self.map.read();
        map.capacity() > 64 && map.len() * 4 < map.capacity() && map.len() <= max_len
    }

    /// [`Shard::shrink_if`] into a table the caller allocated earlier (`spare`, empty): for a
    /// thread that must not allocate or free (a forwarding thread's sweep step). If the shard
    /// is mostly empty, has at most `max_len` entries and its write lock is free right now,
    /// its slots move into `spare` and the two tables are swapped: `spare` then holds the old
    /// (large, empty) table for the caller to hand to whoever frees it. Returns whether it did.
    pub(crate) fn shrink_into(&self, spare: &mut Map, max_len: usize) -> bool {
        let fits = |map: &Map| {
            map.capacity() > 64
                && map.len() * 4 < map.capacity()
                && map.len() <= max_len
                && map.len() <= spare.capacity()
                && spare.capacity() < map.capacity()
        };
        if !spare.is_empty() || !fits(&self.map.read()) {
            return false;
        }
        let Some(mut map) = self.map.try_write() else {
            return false;
        };
        if !fits(&map) {
            return false;
        }
        move_slots(&mut map, spare);
        true
    }

    /// The write lock for background work (flushes), for a hold of bounded length (an O(1)
    /// swap or a batch of at most [`crate::maint::REMOVE_BATCH`] removals). First taken only
    /// when it is free at that instant, yielding the CPU between [`WRITE_TRIES`] tries: the
    /// thread does not queue as a waiting writer, so readers of the shard (forwarding threads)
    /// never wait behind it for it to be woken and scheduled, only while it holds the lock.
    /// A shard that is never free (readers overlapping without a gap, e.g. several forwarding
    /// threads on a hot shard) would starve that forever, so after the tries it queues like
    /// any writer (`write()`): new readers then wait until it has done its short batch. A
    /// flush therefore always completes.
    pub(crate) fn write_when_free(&self) -> RwLockWriteGuard<'_, Map> {
        for _ in 0..WRITE_TRIES {
            if let Some(g) = self.map.try_write() {
                return g;
            }
            std::thread::yield_now();
        }
        self.map.write()
    }
}

/// Tries of [`Shard::write_when_free`] before it queues for the lock.
pub(crate) const WRITE_TRIES: usize = 32;

/// Moves every slot of `map` into the empty table `fresh` (which has room for all of them),
/// then swaps the two: `map` holds the slots in the new memory, `fresh` the old memory.
fn move_slots(map: &mut Map, fresh: &mut Map) {
    debug_assert!(fresh.is_empty() && fresh.capacity() >= map.len());
    for s in map.drain() {
        fresh.insert_unique(s.hash, s, |s| s.hash);
    }
    std::mem::swap(map, fresh);
}

/// Finds the entry for `k` (live or not) and the direction `k` denotes.
#[inline]
pub(crate) fn find<'m>(map: &'m Map, hash: u64, k: &ConnKey) -> Option<(&'m Arc<Conn>, bool)> {
    map.find(hash, |s| s.hash == hash && s.conn.direction_of(k).is_some())
        .map(|s| (&s.conn, s.conn.key != *k))
}

/// Cache-line size assumed by [`touch_insert_slot`].
const LINE_BYTES: usize = 64;
/// Control bytes hashbrown examines per probe step (its SSE2 group width).
const GROUP: usize = 16;

/// Whether the bucket where a probe for `hash` starts is occupied: a load of the control
/// byte there, so that a later lookup of `hash` finds that line in the cache. Cheap and
/// independent: issued for a whole batch before the lookups themselves, their misses
/// overlap instead of waiting one after another. (The result only feeds a `black_box`.)
#[inline]
pub(crate) fn touch_probe(map: &Map, hash: u64) -> bool {
    let nb = map.num_buckets();
    nb > 0 && map.get_bucket(hash as usize & (nb - 1)).is_some()
}

/// An occupied slot in the same cache line as the slot an insertion of `hash` will most
/// likely write (the first free bucket of its first probe group, where hashbrown puts it),
/// for a key that was just looked up and not found; reading it brings that line into the
/// cache. In a table of a million connections that line is almost never cached, and the
/// store that fills it otherwise stalls the insertion (at the latest at the write lock's
/// release) for a full memory latency per new connection; read for a whole batch first,
/// the misses overlap. There is no safe prefetch of a free bucket, hence the occupied
/// neighbour (bucket addresses follow from any one occupied bucket nearby); `None` when no
/// occupied bucket shares the line. Computing it reads only control bytes (cached by the
/// lookup). A heuristic: the table may change before the insertion, which then just misses
/// as before.
#[inline]
pub(crate) fn insert_line_neighbour(map: &Map, hash: u64) -> Option<&Slot> {
    let nb = map.num_buckets();
    if nb < GROUP {
        return None;
    }
    let mask = nb - 1;
    let pos = hash as usize & mask;
    let free = (0..GROUP)
        .map(|k| (pos + k) & mask)
        .find(|&i| map.get_bucket(i).is_none())?;
    let size = std::mem::size_of::<Slot>() as isize;
    let per_line = (LINE_BYTES / std::mem::size_of::<Slot>()) as isize;
    // Bucket `i` lives at `base - (i + 1) * size`: a bucket `d` places above `free` is `d *
    // size` bytes below it.
    for d in (1..per_line).flat_map(|d| [d, -d]) {
        let Some(j) = free.checked_add_signed(d).filter(|&j| j < nb) else {
            continue;
        };
        if let Some(s) = map.get_bucket(j) {
            let at = std::ptr::from_ref(s) as isize;
            if (at + d * size) as usize / LINE_BYTES == at as usize / LINE_BYTES {
                return Some(s);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::OtherState;
    use std::net::Ipv4Addr;

    fn key(i: u32) -> ConnKey {
        ConnKey::ipv4(
            Ipv4Addr::from(0x0a00_0000 + i),
            Ipv4Addr::new(10, 2, 2, 2),
            17,
            1000,
            53,
        )
    }

    fn kept(c: &Conn) -> bool {
        matches!(c.key.src_addr(), std::net::IpAddr::V4(a) if a.octets()[3] % 16 == 0)
    }

    fn conn(i: u32) -> Arc<Conn> {
        Arc::new(Conn::new(key(i), L4State::Other(OtherState::First), 100))
    }

    #[test]
    fn an_insertion_never_grows_the_table_under_the_lock_and_growth_keeps_every_entry() {
        let shard = Shard::new();
        let conns: Vec<Arc<Conn>> = (0..3000).map(conn).collect();
        for (i, c) in conns.iter().enumerate() {
            let h = c.key.sym_hash(7);
            let mut map = shard.write_with_room(1);
            assert!(map.capacity() > map.len(), "room before insert {i}");
            let cap = map.capacity();
            map.insert_unique(
                h,
                Slot {
                    hash: h,
                    conn: c.clone(),
                },
                |s| s.hash,
            );
            assert_eq!(
                map.capacity(),
                cap,
                "the insert itself did not grow the table"
            );
        }
        let map = shard.map.read();
        for c in &conns {
            assert!(find(&map, c.key.sym_hash(7), &c.key).is_some());
        }
    }

    #[test]
    fn shrinking_keeps_the_remaining_entries_and_an_empty_shard_keeps_a_small_table() {
        let shard = Shard::new();
        let conns: Vec<Arc<Conn>> = (0..2000).map(conn).collect();
        for c in &conns {
            let h = c.key.sym_hash(7);
            shard.write_with_room(1).insert_unique(
                h,
                Slot {
                    hash: h,
                    conn: c.clone(),
                },
                |s| s.hash,
            );
        }
        shard.map.write().retain(|s| kept(&s.conn));
        let left = shard.map.read().len();
        assert!(left > 0 && left * 4 < shard.map.read().capacity());
        shard.maybe_shrink();
        let map = shard.map.read();
        assert_eq!(map.len(), left);
        assert!(map.capacity() < 4 * left.max(16));
        for c in conns.iter().filter(|c| kept(c)) {
            assert!(find(&map, c.key.sym_hash(7), &c.key).is_some());
        }
        drop(map);
        shard.map.write().clear();
        shard.maybe_shrink();
        let cap = shard.map.read().capacity();
        assert!((16..=64).contains(&cap), "{cap}");
    }

    #[test]
    fn the_insert_line_neighbour_shares_the_line_the_insertion_then_writes() {
        // 4,096 buckets, filled to hashbrown's maximum load (7/8) without growing.
        let mut map = Map::with_capacity(3584);
        assert_eq!(map.num_buckets(), 4096);
        let (mut hinted, mut counted) = (0, 0);
        for i in 0..3584u32 {
            let c = conn(i);
            let h = c.key.sym_hash(7);
            let hint = insert_line_neighbour(&map, h).map(|s| std::ptr::from_ref(s) as usize);
            let slot = Slot { hash: h, conn: c };
            let at = std::ptr::from_ref(map.insert_unique(h, slot, |s| s.hash).get()) as usize;
            assert_eq!(map.num_buckets(), 4096, "no growth in this test");
            if let Some(hint) = hint {
                assert_eq!(hint / LINE_BYTES, at / LINE_BYTES, "insert {i}");
                assert_ne!(hint, at);
            }
            // At the loads a grown table has (from 7/16 on), most insertions get a hint.
            if map.len() > 4096 * 7 / 16 {
                counted += 1;
                hinted += usize::from(hint.is_some());
            }
        }
        assert!(hinted * 10 >= counted * 7, "{hinted} of {counted}");
    }

    #[test]
    fn an_entry_fits_a_128_byte_allocation() {
        // The `Arc` allocation is the entry plus two 8-byte counters. At most 128 bytes it
        // takes mimalloc's 128-byte size class (the next is 160) and a 128-byte glibc chunk
        // (the next is 144): the switch runs on mimalloc, where one more byte of `Conn` costs
        // 32 bytes per connection.
        assert!(
            std::mem::size_of::<Conn>() <= 112,
            "{}",
            std::mem::size_of::<Conn>()
        );
    }

    #[test]
    fn the_shared_nat_and_alg_box_is_no_bigger_than_a_cache_line() {
        // A NATed connection's second allocation: 64 bytes is mimalloc's 64-byte class.
        assert!(
            std::mem::size_of::<ConnExt>() <= 64,
            "{}",
            std::mem::size_of::<ConnExt>()
        );
    }

    #[test]
    fn the_label_bytes_keep_every_bit_of_the_label() {
        let c = conn(1);
        let mut inner = c.inner.lock();
        for l in [
            0,
            1,
            u128::MAX,
            0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
            1 << 127,
            1 << 64,
            (1 << 96) | (1 << 32),
        ] {
            inner.set_label(l);
            assert_eq!(inner.label(), l, "{l:#x}");
        }
    }

    #[test]
    fn a_stocked_entry_comes_back_reset_and_a_shared_one_is_never_stocked() {
        let pool = ConnPool::new();
        let mut a = conn(1);
        Arc::get_mut(&mut a).unwrap().ext = Some(Box::new(ConnExt {
            nat: Some(NatBinding {
                reply: key(5),
                reply_hash: 3,
                two_slots: true,
                kinds: NAT_SRC,
            }),
            alg: Some(Box::default()),
        }));
        a.inner.lock().mark = 7;
        a.inner.lock().set_label(9);
        a.expires_at_ns.store(5, Ordering::Relaxed);
        let shared = conn(2);
        let other_ref = shared.clone();
        pool.give(vec![a, shared].into_iter());
        assert_eq!(pool.stock.lock().len(), 1);
        let b = pool.take(key(9), L4State::Other(OtherState::First), 42, None);
        assert_eq!(b.key, key(9));
        assert_eq!(b.deadline_ns(), 42);
        assert_eq!(b.inner.lock().mark, 0);
        assert_eq!(b.inner.lock().label(), 0);
        assert!(b.ext.is_none() && b.nat().is_none() && b.alg().is_none());
        assert_eq!(b.reply_key(), key(9).reverse());
        assert!(pool.stock.lock().is_empty());
        assert_eq!(Arc::strong_count(&other_ref), 1);
        // Bounded: never more than POOL_MAX entries kept.
        pool.give((0..POOL_MAX as u32 + 10).map(conn));
        assert_eq!(pool.stock.lock().len(), POOL_MAX);
    }
}
