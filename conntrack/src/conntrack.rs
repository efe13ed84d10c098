//! The connection tracker: packet processing (`execute`), limits and zone configuration.
//! Expiry, dumps and flushes are in `maint.rs`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use parking_lot::{RwLock, RwLockReadGuard};

use crate::key::ConnKey;
use crate::meta::{CtMeta, CtOpts, CtPacket, CtState};
use crate::nat_alloc::Link;
use crate::parse::{Extracted, extract};
use crate::proto::{Update, new_state, valid_new};
use crate::table::{Conn, ConnInner, Map, Shard, Slot, find, insert_line_neighbour, touch_probe};
use crate::timeout::{AtomicPolicy, TimeoutPolicy};

/// OVS's default `n_conn_limit`.
pub const DEFAULT_MAX_CONNS: usize = 3_000_000;
/// Default number of table shards (a power of two).
pub const DEFAULT_SHARDS: usize = 1024;

/// Construction parameters.
#[derive(Clone, Debug)]
pub struct Config {
    /// Global connection limit (`dpctl/ct-set-maxconns`); default 3,000,000 like OVS.
    pub max_conns: usize,
    /// Number of table shards; rounded up to a power of two, at least 1.
    pub n_shards: usize,
    /// Key for the table hash (defends against hash flooding). `Config::default()` draws one
    /// from the standard library's per-process random state.
    pub hash_seed: u64,
    /// TCP sequence-number checking (`dpctl/ct-enable-tcp-seq-chk`); default on.
    pub tcp_seq_check: bool,
    /// The timeout policy of zones that have none of their own.
    pub default_policy: TimeoutPolicy,
}

impl Default for Config {
    fn default() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(0x7276_735f_6374);
        Config {
            max_conns: DEFAULT_MAX_CONNS,
            n_shards: DEFAULT_SHARDS,
            hash_seed: h.finish(),
            tcp_seq_check: true,
            default_policy: TimeoutPolicy::default(),
        }
    }
}

/// Per-zone configuration (read once per `execute` batch).
#[derive(Default)]
pub(crate) struct ZoneCfg {
    pub default_policy: TimeoutPolicy,
    pub policies: HashMap<u16, TimeoutPolicy>,
    pub default_limit: Option<u32>,
    pub limits: HashMap<u16, u32>,
}

impl ZoneCfg {
    fn policy(&self, zone: u16) -> &TimeoutPolicy {
        if self.policies.is_empty() {
            return &self.default_policy;
        }
        self.policies.get(&zone).unwrap_or(&self.default_policy)
    }

    fn has_overrides(&self) -> bool {
        !self.policies.is_empty() || !self.limits.is_empty()
    }

    pub(crate) fn limit(&self, zone: u16) -> Option<u32> {
        self.limits.get(&zone).copied().or(self.default_limit)
    }
}

/// Counters of refusals (`dpctl/ct-stats-show` prints per-protocol counts from a dump; these
/// are totals since creation). Only refused creations write them; the counts every creation
/// and removal updates are kept per [`Stripe`].
#[derive(Default)]
pub(crate) struct Counters {
    pub full: AtomicU64,
    pub zone_full: AtomicU64,
    /// New NAT connections not committed: no free address/port in the range.
    pub nat_exhausted: AtomicU64,
}

/// Number of counter stripes (a power of two). A thread updates the stripe picked for it
/// when it first counts something (round robin over the threads), so two threads share a
/// stripe only when more than `STRIPES` threads count.
const STRIPES: usize = 8;
/// Most connection slots a stripe takes from the global count at once (fewer near the limit).
const CREDIT_CHUNK: usize = 64;

/// A value on cache lines of its own (128 bytes: adjacent-line prefetch pairs lines), so that
/// writing it does not evict what other threads read next to it.
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct Padded<T>(pub T);

impl<T> std::ops::Deref for Padded<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// The counts one group of threads updates on every connection set-up and removal, on cache
/// lines of their own: creating connections from several threads writes no shared line (the
/// statistics are summed when read).
#[repr(align(128))]
#[derive(Default)]
pub(crate) struct Stripe {
    /// Connection slots taken from [`Conntrack::n_conns`] and not used yet: a creation takes
    /// one from here, a removal gives one back here.
    credit: AtomicUsize,
    created: AtomicU64,
    removed: AtomicU64,
    expired: AtomicU64,
    /// Sequence of the `random` NAT port choice.
    nat_rng: AtomicU64,
}

static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static MY_STRIPE: usize = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) & (STRIPES - 1);
}

/// The calling thread's stripe.
#[inline]
fn my_stripe() -> usize {
    MY_STRIPE.with(|s| *s)
}

/// Snapshot of the tracker's statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CtStats {
    /// Connections in the table (including ones past their deadline not yet swept).
    pub n_conns: usize,
    /// The global limit.
    pub max_conns: usize,
    /// Connections created since start.
    pub created: u64,
    /// Connections unlinked since start (expired, flushed, replaced).
    pub removed: u64,
    /// Of `removed`, the ones unlinked because their deadline passed.
    pub expired: u64,
    /// New connections not committed because the global limit was reached.
    pub full: u64,
    /// New connections not committed because their zone's limit was reached.
    pub zone_full: u64,
    /// New NAT connections not committed because their address/port range was exhausted
    /// (the packet stays `+trk+new`, untranslated).
    pub nat_exhausted: u64,
}

/// A userspace connection tracker, shared by all forwarding threads (`Send + Sync`; wrap it in
/// an `Arc`). See the crate documentation for the contract.
pub struct Conntrack {
    pub(crate) shards: Box<[Shard]>,
    pub(crate) shard_mask: usize,
    pub(crate) seed: u64,
    /// Connection slots handed out: the connections (and creations in flight) plus the
    /// stripes' unused credit; never above `max_conns` by a creation. [`Conntrack::len`]
    /// subtracts the credit. Written once per [`CREDIT_CHUNK`] creations or removals.
    pub(crate) n_conns: Padded<AtomicUsize>,
    pub(crate) max_conns: AtomicUsize,
    /// Per zone, the part of its connection count kept here: creations in a zone with a limit
    /// count here (one atomic add, so the limit is exact); the rest is in `zone_deltas`.
    pub(crate) zone_counts: Box<[AtomicU32]>,
    /// `STRIPES` arrays of 65,536 per-zone deltas (wrapping): a creation in a zone without a
    /// limit adds 1 to its thread's stripe, every removal subtracts 1 there. A zone's count
    /// is its `zone_counts` entry plus its deltas.
    pub(crate) zone_deltas: Box<[AtomicU32]>,
    pub(crate) stripes: Box<[Stripe]>,
    pub(crate) zones: RwLock<ZoneCfg>,
    pub(crate) tcp_seq_check: AtomicBool,
    /// Padded (as `counters`, `pool`, `graveyard`): written by other threads than the ones
    /// reading the fields every `execute` reads.
    pub(crate) sweep_cursor: Padded<AtomicUsize>,
    /// `counters.zone_full` when the last sweep call ended: a sweep that finds it grew says
    /// [`crate::SweepResult::near_limit`] (a zone at its limit is refusing connections).
    pub(crate) sweep_zone_refusals: AtomicU64,
    pub(crate) counters: Padded<Counters>,
    /// True while some zone has its own policy or limit (then `execute` reads `zones`).
    pub(crate) zone_overrides: AtomicBool,
    /// Lock-free copies of `zones`' defaults for the common case.
    pub(crate) default_policy: AtomicPolicy,
    pub(crate) default_limit: AtomicU64,
    /// ALG expectations (data connections announced by FTP/TFTP helpers).
    pub(crate) expectations: crate::alg::Expectations,
    /// Unlinked entries kept for reuse (no `malloc` on the packet path during a mass free).
    pub(crate) pool: Padded<crate::table::ConnPool>,
    /// Unlinked entries whose memory a housekeeping thread frees
    /// ([`Conntrack::free_unlinked`]), so that a sweep on a forwarding thread does not.
    pub(crate) graveyard: Padded<crate::maint::Graveyard>,
}

const NO_LIMIT: u64 = u64::MAX;

fn encode_limit(l: Option<u32>) -> u64 {
    l.map_or(NO_LIMIT, u64::from)
}

fn decode_limit(l: u64) -> Option<u32> {
    u32::try_from(l).ok()
}

/// The bit of a 64-bit filter that stands for `x` (a few mixed bits of it): a clear bit
/// proves that no value with this bit was added.
#[inline]
fn bloom_bit(x: u64) -> u64 {
    1u64 << ((x ^ x >> 29) & 63)
}

/// Packets handled together by the batched lookup (at most 32: a `u32` mask tracks them).
const CHUNK: usize = 32;
/// Chunks smaller than this go straight to the one-at-a-time path.
const FAST_PASS_MIN: usize = 4;

/// Per-`execute` parameters.
struct Ctx<'a> {
    opts: &'a CtOpts,
    policy: TimeoutPolicy,
    limit: Option<u32>,
    seq_check: bool,
    now_ns: u64,
}

/// Where a packet's lookup ended.
enum Found {
    /// Fully handled under the read lock.
    Done,
    /// Nothing (live) found for the key.
    Missing,
    /// `conn` must be removed and a new connection started (`force` on a reply, or TCP reuse).
    Replace(Arc<Conn>),
}

impl Conntrack {
    /// Creates an empty tracker.
    pub fn new(cfg: Config) -> Self {
        let n = cfg.n_shards.max(1).next_power_of_two();
        Conntrack {
            shards: (0..n).map(|_| Shard::new()).collect(),
            shard_mask: n - 1,
            seed: cfg.hash_seed,
            n_conns: Padded(AtomicUsize::new(0)),
            max_conns: AtomicUsize::new(cfg.max_conns),
            zone_counts: (0..=u16::MAX as usize).map(|_| AtomicU32::new(0)).collect(),
            zone_deltas: (0..STRIPES << 16).map(|_| AtomicU32::new(0)).collect(),
            stripes: (0..STRIPES).map(|_| Stripe::default()).collect(),
            zones: RwLock::new(ZoneCfg {
                default_policy: cfg.default_policy,
                ..ZoneCfg::default()
            }),
            tcp_seq_check: AtomicBool::new(cfg.tcp_seq_check),
            sweep_cursor: Padded(AtomicUsize::new(0)),
            sweep_zone_refusals: AtomicU64::new(0),
            counters: Padded(Counters::default()),
            zone_overrides: AtomicBool::new(false),
            default_policy: AtomicPolicy::new(cfg.default_policy),
            default_limit: AtomicU64::new(NO_LIMIT),
            expectations: Default::default(),
            pool: Padded(crate::table::ConnPool::new()),
            graveyard: Padded(crate::maint::Graveyard::new()),
        }
    }

    #[inline]
    pub(crate) fn shard_of(&self, hash: u64) -> &Shard {
        // High bits pick the shard; hashbrown uses the low bits and the top 7 within a shard.
        &self.shards[self.shard_index(hash)]
    }

    #[inline]
    pub(crate) fn shard_index(&self, hash: u64) -> usize {
        (hash >> 40) as usize & self.shard_mask
    }

    /// Runs a batch of packets (normally ≤ 32) through the tracker for one `ct()` action, setting
    /// each packet's `md`. Every packet ends up `+trk`. Takes no global lock.
    ///
    /// Packets are processed in order, with the same result as one at a time. To hide memory
    /// latency with large tables, a chunk of up to 32 packets is first parsed and hashed, the
    /// read locks of its shards are taken together and all lookups are issued before any state
    /// is updated (independent cache misses overlap): first a read of every packet's probe
    /// line, then the lookups, then a read of every found entry and, for every packet that
    /// found none (a likely new connection), of the table line its insertion will write (see
    /// `table::insert_line_neighbour`). Packets that need more than a lookup (a new
    /// connection, `force`, a TCP reuse), and later packets of their connections, then continue
    /// one at a time, in order.
    pub fn execute(&self, pkts: &mut [CtPacket<'_>], opts: &CtOpts, now_ns: u64) {
        let (policy, limit) = if self.zone_overrides.load(Ordering::Relaxed) {
            let zones = self.zones.read();
            (*zones.policy(opts.zone), zones.limit(opts.zone))
        } else {
            // No zone has its own policy or limit: no lock at all.
            (
                self.default_policy.load(),
                decode_limit(self.default_limit.load(Ordering::Relaxed)),
            )
        };
        let ctx = Ctx {
            opts,
            policy,
            limit,
            seq_check: self.tcp_seq_check.load(Ordering::Relaxed),
            now_ns,
        };
        for chunk in pkts.chunks_mut(CHUNK) {
            self.execute_chunk(chunk, &ctx);
        }
    }

    fn execute_chunk(&self, pkts: &mut [CtPacket<'_>], ctx: &Ctx<'_>) {
        let zone = ctx.opts.zone;
        let mut keys: [Option<(Extracted, u64)>; CHUNK] = [None; CHUNK];
        let mut last: Option<(ConnKey, u64)> = None;
        for (pkt, slot) in pkts.iter_mut().zip(keys.iter_mut()) {
            // Entering a different zone starts from a clean state.
            if pkt.md.state.0 != 0 && pkt.md.zone != zone {
                pkt.md.state = CtState(0);
            }
            match extract(pkt, zone) {
                Some(ex) => {
                    let hash = match &last {
                        Some((k, h)) if *k == ex.key => *h,
                        _ => ex.key.sym_hash(self.seed),
                    };
                    last = Some((ex.key, hash));
                    *slot = Some((ex, hash));
                }
                None => {
                    pkt.md.state = CtState::INVALID;
                    write_md(&mut pkt.md, zone, None, None, ctx.opts);
                }
            }
        }
        let n = pkts.len();
        let mut replace: [Option<Arc<Conn>>; CHUNK] = std::array::from_fn(|_| None);
        let (deferred, missing) = if n < FAST_PASS_MIN {
            // Too few packets for overlapping lookups to pay off.
            ((1u32 << n).wrapping_sub(1), 0)
        } else {
            self.fast_pass(pkts, &keys[..n], ctx, &mut replace)
        };
        if deferred != 0 {
            self.one_by_one(pkts, &keys[..n], deferred, missing, &mut replace, ctx);
        }
    }

    /// Looks up every packet of the chunk under its shard's read lock (all taken together),
    /// then runs the state machines in order. A packet that needs more than a lookup (a new
    /// connection, `force` on a reply, a TCP reuse, an expired entry) is deferred, and so is
    /// every later packet of the same connection, so that each connection still sees its
    /// packets in order. Returns the deferred packets as a bit mask; `replace[i]` is set for a
    /// deferred packet whose connection must be replaced. The second mask marks deferred
    /// packets that had no entry and no earlier deferred packet of the same key: they go
    /// straight to creation (which re-checks under the write lock).
    fn fast_pass(
        &self,
        pkts: &mut [CtPacket<'_>],
        keys: &[Option<(Extracted, u64)>],
        ctx: &Ctx<'_>,
        replace: &mut [Option<Arc<Conn>>; CHUNK],
    ) -> (u32, u32) {
        let n = pkts.len();
        // Each keyed packet as `shard << 5 | index`, sorted: the distinct shards in ascending
        // order and each packet's guard in one pass (no quadratic search).
        let mut order = [u64::MAX; CHUNK];
        let mut m = 0usize;
        let mut sorted = true;
        for (i, k) in keys.iter().enumerate() {
            if let Some((_, h)) = k {
                let si = self.shard_index(*h);
                // A plain load: brings the lock's line in, overlapping with the others.
                std::hint::black_box(self.shards[si].map.is_locked());
                order[m] = (si as u64) << 5 | i as u64;
                sorted &= m == 0 || order[m - 1] < order[m];
                m += 1;
            }
        }
        // Already in order when the chunk is one flow (or one shard).
        if !sorted {
            order[..m].sort_unstable();
        }
        // The distinct shards, locked in ascending order: a thread holding several read locks
        // only ever waits for a higher one, and writers hold one lock and wait for nothing
        // else, so no wait cycle can form even though waiting writers block new readers.
        let mut guard_shard = [usize::MAX; CHUNK];
        let mut n_guards = 0usize;
        let mut guard_of = [0u8; CHUNK];
        for &o in &order[..m] {
            let si = (o >> 5) as usize;
            if n_guards == 0 || guard_shard[n_guards - 1] != si {
                guard_shard[n_guards] = si;
                n_guards += 1;
            }
            guard_of[(o & 31) as usize] = (n_guards - 1) as u8;
        }
        let guards: [Option<RwLockReadGuard<'_, Map>>; CHUNK] =
            std::array::from_fn(|g| (g < n_guards).then(|| self.shards[guard_shard[g]].map.read()));
        // The probe lines of the whole chunk first: independent loads whose misses overlap.
        let mut touched = false;
        for i in 0..n {
            if let (Some((_, h)), Some(map)) = (&keys[i], &guards[usize::from(guard_of[i])]) {
                touched ^= touch_probe(map, *h);
            }
        }
        std::hint::black_box(touched);
        let mut found: [Option<(&Arc<Conn>, bool)>; CHUNK] = [None; CHUNK];
        let mut neighbours: [Option<&Slot>; CHUNK] = [None; CHUNK];
        for i in 0..n {
            if let (Some((ex, h)), Some(map)) = (&keys[i], &guards[usize::from(guard_of[i])]) {
                // A packet NATed earlier in this zone looked up by its reversed tuple.
                found[i] = find(map, *h, &ex.key).map(|(c, r)| (c, r ^ ex.natted));
                if found[i].is_none() && ctx.opts.commit {
                    // Likely a new connection: the line its insertion will write.
                    neighbours[i] = insert_line_neighbour(map, *h);
                }
            }
        }
        // Then the lines the chunk's state machines and insertions will touch, again together.
        let mut acc = 0u64;
        for i in 0..n {
            if let Some((c, _)) = found[i] {
                touched ^= c.inner.is_locked();
            } else if let Some(s) = neighbours[i] {
                acc ^= s.hash;
            }
        }
        std::hint::black_box((touched, acc));
        let mut deferred = 0u32;
        let mut missing = 0u32;
        // Keys and entries of deferred packets: later packets of the same connection wait too.
        let mut dkeys = [None::<ConnKey>; CHUNK];
        let mut dconns = [std::ptr::null::<Conn>(); CHUNK];
        let mut dhash = [0u64; CHUNK];
        let mut nd = 0usize;
        let (mut hash_bloom, mut conn_bloom) = (0u64, 0u64);
        for i in 0..n {
            let Some((ex, hash)) = &keys[i] else {
                continue;
            };
            let conn_ptr = found[i].map_or(std::ptr::null(), |(c, _)| Arc::as_ptr(c));
            // Same connection means same symmetric hash: compare hashes first, and only when
            // the filters of the deferred hashes and entries say one may match.
            let waits = nd > 0
                && ((hash_bloom & bloom_bit(*hash) != 0
                    && (0..nd).any(|d| {
                        dhash[d] == *hash
                            && dkeys[d].is_some_and(|k| k == ex.key || k.is_reverse_of(&ex.key))
                    }))
                    || (!conn_ptr.is_null()
                        && conn_bloom & bloom_bit(conn_ptr as u64 >> 4) != 0
                        && dconns[..nd].contains(&conn_ptr)));
            let done = !waits
                && match found[i] {
                    Some((conn, reply))
                        if !(conn.expired(ctx.now_ns) || ctx.opts.force && reply) =>
                    {
                        match self.existing(
                            &mut pkts[i],
                            conn,
                            ex,
                            reply,
                            ctx.opts,
                            &ctx.policy,
                            ctx.seq_check,
                            ctx.now_ns,
                        ) {
                            Found::Done => true,
                            Found::Replace(old) => {
                                replace[i] = Some(old);
                                false
                            }
                            Found::Missing => false,
                        }
                    }
                    _ => false,
                };
            if !done {
                deferred |= 1 << i;
                if !waits && found[i].is_none() {
                    missing |= 1 << i;
                }
                dkeys[nd] = Some(ex.key);
                dhash[nd] = *hash;
                dconns[nd] = conn_ptr;
                nd += 1;
                hash_bloom |= bloom_bit(*hash);
                if !conn_ptr.is_null() {
                    conn_bloom |= bloom_bit(conn_ptr as u64 >> 4);
                }
            }
        }
        (deferred, missing)
    }

    /// Processes the packets whose bit is set in `which`, in order, one at a time (the general
    /// path). A packet with `replace[i]` set has a connection that must be unlinked and a new
    /// one started.
    fn one_by_one(
        &self,
        pkts: &mut [CtPacket<'_>],
        keys: &[Option<(Extracted, u64)>],
        which: u32,
        missing: u32,
        replace: &mut [Option<Arc<Conn>>; CHUNK],
        ctx: &Ctx<'_>,
    ) {
        let (opts, now_ns, seq_check) = (ctx.opts, ctx.now_ns, ctx.seq_check);
        let (policy, limit) = (&ctx.policy, ctx.limit);
        let mut held: Option<(usize, RwLockReadGuard<'_, Map>)> = None;
        for (i, (pkt, k)) in pkts.iter_mut().zip(keys).enumerate() {
            let Some((ex, hash)) = k else {
                continue;
            };
            if which & (1 << i) == 0 {
                continue;
            }
            let (ex, hash) = (ex, *hash);
            let found = if let Some(old) = replace[i].take() {
                Found::Replace(old)
            } else if missing & (1 << i) != 0 {
                Found::Missing
            } else {
                let si = self.shard_index(hash);
                if held.as_ref().is_none_or(|(i, _)| *i != si) {
                    drop(held.take());
                    held = Some((si, self.shards[si].map.read()));
                }
                match held.as_ref() {
                    Some((_, map)) => match find(map, hash, &ex.key)
                        .map(|(c, r)| (c, r ^ ex.natted))
                    {
                        Some((conn, _)) if conn.expired(now_ns) => Found::Missing,
                        Some((conn, reply)) => {
                            if opts.force && reply {
                                Found::Replace(conn.clone())
                            } else {
                                self.existing(pkt, conn, ex, reply, opts, policy, seq_check, now_ns)
                            }
                        }
                        None => Found::Missing,
                    },
                    None => Found::Missing,
                }
            };
            match found {
                Found::Done => {}
                Found::Missing => {
                    held = None;
                    self.not_found(pkt, ex, hash, opts, policy, limit, seq_check, now_ns);
                }
                Found::Replace(old) => {
                    held = None;
                    self.unlink(hash, &old);
                    self.not_found(pkt, ex, hash, opts, policy, limit, seq_check, now_ns);
                }
            }
        }
    }

    /// The packet belongs to `conn`. Runs the state machine and writes the metadata, unless the
    /// connection must be replaced.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn existing(
        &self,
        pkt: &mut CtPacket<'_>,
        conn: &Arc<Conn>,
        ex: &Extracted,
        reply: bool,
        opts: &CtOpts,
        policy: &TimeoutPolicy,
        seq_check: bool,
        now_ns: u64,
    ) -> Found {
        let zone = opts.zone;
        let md = &mut pkt.md;
        let mut inner = conn.inner.lock();
        if ex.related {
            md.state |= CtState::RELATED;
            if reply {
                md.state |= CtState::REPLY_DIR;
            }
        } else {
            let mut deadline = conn.deadline_ns();
            // An ALG's sequence adjustment: the tracker sees acks in the other side's numbering.
            let adj = if conn.alg().is_some() {
                crate::alg::tracked_seg(conn, ex, reply, opts.nat.is_some())
            } else {
                None
            };
            match inner.l4.update(
                adj.as_ref().unwrap_or(ex),
                reply,
                seq_check,
                policy,
                now_ns,
                &mut deadline,
            ) {
                Update::Valid => {
                    md.state = CtState((md.state.0 | CtState::ESTABLISHED.0) & !CtState::NEW.0);
                    if reply {
                        md.state |= CtState::REPLY_DIR;
                    }
                }
                Update::ValidNew => md.state |= CtState::NEW,
                Update::Invalid => md.state = CtState::INVALID,
                Update::New => return Found::Replace(conn.clone()),
            }
            conn.expires_at_ns.store(deadline, Ordering::Relaxed);
        }
        write_md(md, zone, Some((conn, &mut inner)), None, opts);
        if opts.nat.is_some() && conn.nat().is_some() {
            self.nat_packet(pkt, conn, ex, reply);
        }
        if conn.alg().is_some() {
            self.alg_packet(pkt, conn, &mut inner, ex, reply, opts, now_ns);
        }
        Found::Done
    }

    /// No live connection for the packet: maybe create one (OVS's `conn_not_found`).
    #[allow(clippy::too_many_arguments)]
    fn not_found(
        &self,
        pkt: &mut CtPacket<'_>,
        ex: &Extracted,
        hash: u64,
        opts: &CtOpts,
        policy: &TimeoutPolicy,
        limit: Option<u32>,
        seq_check: bool,
        now_ns: u64,
    ) {
        let zone = opts.zone;
        // A packet NATed earlier in this zone whose connection is gone: its own tuple.
        let unnat;
        let ex = if ex.natted {
            unnat = ex.unnatted();
            &unnat
        } else {
            ex
        };
        let md = &mut pkt.md;
        if ex.related {
            // An ICMP error must quote a tracked connection; it never creates one.
            md.state = CtState::INVALID;
            write_md(md, zone, None, Some(&ex.key), opts);
            return;
        }
        if !valid_new(ex) {
            md.state = CtState::INVALID;
            write_md(md, zone, None, Some(&ex.key), opts);
            return;
        }
        md.state = CtState::NEW;
        // A data connection an ALG announced (OVS's `expectation_lookup`).
        let exp = self.alg_expected(&ex.key, now_ns);
        if exp.is_some() {
            md.state |= CtState::RELATED;
        }
        let stripe = my_stripe();
        if !opts.commit || !self.reserve(stripe, zone, limit) {
            write_md(md, zone, None, Some(&ex.key), opts);
            if let Some((_, e)) = &exp {
                crate::alg::expected_md(md, e);
            }
            return;
        }
        let (l4, deadline) = new_state(ex, policy, now_ns);
        let from_exp = exp.as_ref().map(|(_, e)| e);
        let ext = crate::alg::conn_ext(opts, &ex.key, from_exp);
        let mut conn = self.pool.take(ex.key, l4, deadline, ext);
        if let Some(e) = from_exp {
            crate::alg::inherit_md(&conn, e);
        }
        // A data connection of a NATed ALG control connection gets the translation its
        // expectation carries (with any `nat` in this ct(), as OVS).
        let data_nat = exp
            .as_ref()
            .and_then(|(_, e)| e.nat)
            .filter(|_| opts.nat.is_some());
        let linked = match (data_nat, opts.nat.and_then(|n| n.kind.map(|k| (n, k)))) {
            (Some(dn), _) => self.alg_nat_link(&mut conn, hash, &dn, now_ns),
            (None, Some((cfg, kind))) => self.nat_link_new(&mut conn, hash, &cfg, kind, now_ns),
            (None, None) => self.link(&conn, hash, now_ns),
        };
        match linked {
            Link::Linked => {}
            Link::Existing(other) => {
                // Another thread created it between our lookup and now: use theirs.
                self.release(zone);
                let reply = other.key != ex.key;
                let _ = self.existing(pkt, &other, ex, reply, opts, policy, seq_check, now_ns);
                return;
            }
            Link::Exhausted => {
                // As OVS: not committed, not translated, still `+trk+new`; counted.
                self.release(zone);
                self.counters.nat_exhausted.fetch_add(1, Ordering::Relaxed);
                write_md(&mut pkt.md, zone, None, Some(&ex.key), opts);
                return;
            }
        }
        self.stripes[stripe].created.fetch_add(1, Ordering::Relaxed);
        if let Some((wk, e)) = &exp {
            self.alg_consume(wk, e);
        }
        let mut inner = conn.inner.lock();
        write_md(md, zone, Some((&conn, &mut inner)), None, opts);
        if opts.nat.is_some() && conn.nat().is_some() {
            self.nat_packet(pkt, &conn, ex, false);
        }
        if conn.alg().is_some() {
            self.alg_packet(pkt, &conn, &mut inner, ex, false, opts, now_ns);
        }
    }

    /// Takes one slot of the global and zone limits; false (nothing taken) if either is full.
    /// A zone with a limit is counted in `zone_counts` (one atomic add decides, as before
    /// striping); a zone without one in the thread's stripe. The global slot comes from the
    /// stripe's credit, refilled from `n_conns` in chunks.
    fn reserve(&self, s: usize, zone: u16, limit: Option<u32>) -> bool {
        let z = usize::from(zone);
        let zc = match limit {
            Some(l) => {
                let base = &self.zone_counts[z];
                let before = base.fetch_add(1, Ordering::Relaxed);
                if self.zone_sum(zone, before) >= l {
                    base.fetch_sub(1, Ordering::Relaxed);
                    self.counters.zone_full.fetch_add(1, Ordering::Relaxed);
                    return false;
                }
                base
            }
            None => {
                let d = &self.zone_deltas[s << 16 | z];
                d.fetch_add(1, Ordering::Relaxed);
                d
            }
        };
        if !self.take_slot(s) {
            zc.fetch_sub(1, Ordering::Relaxed);
            self.counters.full.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// `base` (zone `zone`'s `zone_counts` entry) plus the zone's deltas. Reads racing with
    /// updates can see a removal's decrement before the creation's increment: a sum that
    /// wrapped below zero is read as 0 (true counts are far below 2^31).
    fn zone_sum(&self, zone: u16, base: u32) -> u32 {
        let z = usize::from(zone);
        let sum = (0..STRIPES).fold(base, |a, s| {
            a.wrapping_add(self.zone_deltas[s << 16 | z].load(Ordering::Relaxed))
        });
        if sum > i32::MAX as u32 { 0 } else { sum }
    }

    /// One global connection slot for stripe `s`: from its credit, else a new chunk from
    /// `n_conns`, else (at the limit) after taking back every stripe's unused credit.
    ///
    /// Guarantee: a creation never takes the number of connections above the limit it reads
    /// (every connection and every unit of credit is counted in `n_conns`, and credit is used
    /// only while `n_conns` is within the limit, checked after taking it: credit taken under a
    /// higher limit that `set_max_conns` lowered meanwhile is voided, not used). A creation may
    /// be refused while fewer connections than the limit exist, but only for the instant in
    /// which a removal on another thread has just put its slot into a stripe this thread had
    /// already emptied (it is found by the next creation that reaches the limit).
    fn take_slot(&self, s: usize) -> bool {
        let st = &self.stripes[s];
        if st
            .credit
            .fetch_update(Ordering::SeqCst, Ordering::Relaxed, |c| c.checked_sub(1))
            .is_ok()
        {
            // The slot is counted in `n_conns`: within the limit, every counted slot may be a
            // connection. Above it (the limit was lowered after this credit was taken), the
            // slot and the stripe's other credit go back and the slow path decides.
            if self.n_conns.load(Ordering::SeqCst) <= self.max_conns.load(Ordering::SeqCst) {
                return true;
            }
            let c = st.credit.swap(0, Ordering::SeqCst);
            self.n_conns.fetch_sub(c + 1, Ordering::SeqCst);
        }
        if self.refill(st) {
            return true;
        }
        self.reclaim_credit();
        self.refill(st)
    }

    /// Takes a chunk of slots from `n_conns` (one used at once, the rest credited to `st`):
    /// at most [`CREDIT_CHUNK`], and a 32nd of the room left, so that credit never strands
    /// a significant part of the limit (within 32 slots of it, one at a time).
    fn refill(&self, st: &Stripe) -> bool {
        let max = self.max_conns.load(Ordering::SeqCst);
        let mut r = self.n_conns.load(Ordering::SeqCst);
        loop {
            if r >= max {
                return false;
            }
            let k = ((max - r) / (4 * STRIPES)).clamp(1, CREDIT_CHUNK);
            match self
                .n_conns
                .compare_exchange_weak(r, r + k, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => {
                    if k > 1 {
                        st.credit.fetch_add(k - 1, Ordering::SeqCst);
                    }
                    return true;
                }
                Err(now) => r = now,
            }
        }
    }

    /// Returns every stripe's unused credit to `n_conns`. A stripe without credit is only
    /// read: at the limit (a SYN flood) every refused creation comes here, and an empty
    /// stripe's line stays shared instead of being taken exclusive by a swap.
    fn reclaim_credit(&self) {
        for st in self.stripes.iter() {
            if st.credit.load(Ordering::Relaxed) == 0 {
                continue;
            }
            let c = st.credit.swap(0, Ordering::SeqCst);
            if c != 0 {
                self.n_conns.fetch_sub(c, Ordering::SeqCst);
            }
        }
    }

    /// Gives back one global slot (a connection removed or not created): to the thread's
    /// stripe as credit, which returns a chunk to `n_conns` when it holds more than two; straight to
    /// `n_conns` while that is above the limit (lowered by `set_max_conns`), so that no credit
    /// lets the table grow past a lowered limit.
    fn give_slot(&self, s: usize) {
        if self.n_conns.load(Ordering::Relaxed) > self.max_conns.load(Ordering::Relaxed) {
            self.n_conns.fetch_sub(1, Ordering::Relaxed);
            return;
        }
        let st = &self.stripes[s];
        let c = st.credit.fetch_add(1, Ordering::Relaxed) + 1;
        if c > 2 * CREDIT_CHUNK
            && st
                .credit
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |c| {
                    c.checked_sub(CREDIT_CHUNK)
                })
                .is_ok()
        {
            self.n_conns.fetch_sub(CREDIT_CHUNK, Ordering::Relaxed);
        }
    }

    /// Undoes a successful [`Conntrack::reserve`] (or accounts a removal) of a connection in
    /// `zone`: the zone delta and the slot go to the calling thread's stripe.
    fn release(&self, zone: u16) {
        let s = my_stripe();
        self.zone_deltas[s << 16 | usize::from(zone)].fetch_sub(1, Ordering::Relaxed);
        self.give_slot(s);
    }

    /// Bookkeeping for an entry that has just been unlinked from the table.
    pub(crate) fn account_removed(&self, conn: &Conn, expired: bool) {
        self.release(conn.key.zone());
        let st = &self.stripes[my_stripe()];
        st.removed.fetch_add(1, Ordering::Relaxed);
        if expired {
            st.expired.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The next value of the `random` NAT port choice's sequence: distinct across calls
    /// (each stripe numbers its own, interleaved), without a shared write.
    pub(crate) fn nat_random_seq(&self) -> u64 {
        let s = my_stripe();
        let n = self.stripes[s].nat_rng.fetch_add(1, Ordering::Relaxed);
        n.wrapping_mul(STRIPES as u64) | s as u64
    }

    /// Unlinks exactly `conn` (if still linked): its slot and, for a NAT entry, its second
    /// slot. `_hash` (the hash of the key it was found by) is not needed: the entry's own keys
    /// say where its slots are.
    pub(crate) fn unlink(&self, _hash: u64, conn: &Arc<Conn>) -> bool {
        let h = conn.key.sym_hash(self.seed);
        let removed = self.remove_slot(h, conn);
        if let Some(b) = conn.nat().filter(|b| b.two_slots) {
            self.remove_slot(b.reply_hash, conn);
        }
        if removed {
            self.account_removed(conn, false);
        }
        removed
    }

    /// Removes `conn`'s slot stored under `hash`, if there is one.
    fn remove_slot(&self, hash: u64, conn: &Arc<Conn>) -> bool {
        let mut map = self.shard_of(hash).map.write();
        let old = map
            .find_entry(hash, |s| s.hash == hash && Arc::ptr_eq(&s.conn, conn))
            .ok()
            .map(|e| e.remove().0);
        drop(map);
        old.is_some()
    }

    /// Sets the global connection limit (`dpctl/ct-set-maxconns`). Existing connections stay.
    pub fn set_max_conns(&self, n: usize) {
        // Ordered with `take_slot`'s check: a creation that reads `n` then sees in `n_conns`
        // every chunk taken under the old limit whose credit it uses.
        self.max_conns.store(n, Ordering::SeqCst);
        // Credit taken under the old limit must not outlive it.
        self.reclaim_credit();
    }

    /// The global connection limit.
    pub fn max_conns(&self) -> usize {
        self.max_conns.load(Ordering::Relaxed)
    }

    /// Sets (`Some`) or removes (`None`) zone `zone`'s connection limit (`dpctl/ct-set-limits`).
    pub fn set_zone_limit(&self, zone: u16, limit: Option<u32>) {
        let mut z = self.zones.write();
        match limit {
            Some(l) => {
                z.limits.insert(zone, l);
            }
            None => {
                z.limits.remove(&zone);
            }
        }
        self.zone_overrides
            .store(z.has_overrides(), Ordering::Relaxed);
    }

    /// Sets the limit of zones without their own (`dpctl/ct-set-limits default=N`).
    pub fn set_default_zone_limit(&self, limit: Option<u32>) {
        let mut z = self.zones.write();
        z.default_limit = limit;
        self.default_limit
            .store(encode_limit(limit), Ordering::Relaxed);
    }

    /// The limit in force for `zone`, if any.
    pub fn zone_limit(&self, zone: u16) -> Option<u32> {
        self.zones.read().limit(zone)
    }

    /// Number of connections in `zone` (including ones past their deadline not yet swept).
    pub fn zone_count(&self, zone: u16) -> u32 {
        self.zone_sum(
            zone,
            self.zone_counts[usize::from(zone)].load(Ordering::Relaxed),
        )
    }

    /// Sets or clears `zone`'s timeout policy. It applies to every packet tracked in the zone from
    /// the next `execute` on (existing connections get the new timeouts when next refreshed).
    pub fn set_zone_timeout_policy(&self, zone: u16, policy: Option<TimeoutPolicy>) {
        let mut z = self.zones.write();
        match policy {
            Some(p) => {
                z.policies.insert(zone, p);
            }
            None => {
                z.policies.remove(&zone);
            }
        }
        self.zone_overrides
            .store(z.has_overrides(), Ordering::Relaxed);
    }

    /// Sets the policy of zones without their own.
    pub fn set_default_timeout_policy(&self, policy: TimeoutPolicy) {
        let mut z = self.zones.write();
        z.default_policy = policy;
        self.default_policy.store(policy);
    }

    /// The policy in force for `zone`.
    pub fn timeout_policy(&self, zone: u16) -> TimeoutPolicy {
        *self.zones.read().policy(zone)
    }

    /// Turns TCP sequence checking on or off.
    pub fn set_tcp_seq_check(&self, on: bool) {
        self.tcp_seq_check.store(on, Ordering::Relaxed);
    }

    /// Number of connections in the table.
    pub fn len(&self) -> usize {
        let credit: usize = self
            .stripes
            .iter()
            .map(|s| s.credit.load(Ordering::Relaxed))
            .sum();
        self.n_conns.load(Ordering::Relaxed).saturating_sub(credit)
    }

    /// True if the table is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Statistics snapshot.
    pub fn stats(&self) -> CtStats {
        let c = &self.counters;
        let sum = |f: fn(&Stripe) -> &AtomicU64| -> u64 {
            self.stripes
                .iter()
                .map(|s| f(s).load(Ordering::Relaxed))
                .sum()
        };
        CtStats {
            n_conns: self.len(),
            max_conns: self.max_conns(),
            created: sum(|s| &s.created),
            removed: sum(|s| &s.removed),
            expired: sum(|s| &s.expired),
            full: c.full.load(Ordering::Relaxed),
            zone_full: c.zone_full.load(Ordering::Relaxed),
            nat_exhausted: c.nat_exhausted.load(Ordering::Relaxed),
        }
    }
}

/// Writes the metadata the way OVS's `write_ct_md` does: `+trk`, the zone, mark/label from the
/// connection (or zero), the original tuple from the connection or else from the packet's key;
/// then applies `set_mark`/`set_label` to the packet and the connection.
#[inline]
fn write_md(
    md: &mut CtMeta,
    zone: u16,
    conn: Option<(&Conn, &mut ConnInner)>,
    key: Option<&ConnKey>,
    opts: &CtOpts,
) {
    md.state |= CtState::TRACKED;
    md.zone = zone;
    match conn {
        Some((c, inner)) => {
            md.mark = inner.mark;
            md.label = inner.label();
            md.orig = Some(c.key.orig_tuple());
            // A connection made from an ALG expectation reports its parent's tuple and keeps
            // the parent's mark and label (OVS's `write_ct_md`, `set_mark`, `set_label`).
            if let Some(p) = crate::alg::parent_of(c) {
                md.orig = Some(p.orig_tuple());
                return;
            }
            if let Some((v, m)) = opts.set_mark {
                md.mark = v | (md.mark & !m);
                inner.mark = md.mark;
            }
            if let Some((v, m)) = opts.set_label {
                md.label = v | (md.label & !m);
                inner.set_label(md.label);
            }
        }
        None => {
            md.mark = 0;
            md.label = 0;
            md.orig = key.map(ConnKey::orig_tuple);
        }
    }
}

#[cfg(test)]
mod striped_count_tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use super::{CREDIT_CHUNK, Config, Conntrack};

    fn tracker(max_conns: usize) -> Arc<Conntrack> {
        Arc::new(Conntrack::new(Config {
            max_conns,
            ..Config::default()
        }))
    }

    /// `threads` threads each try `tries` reservations in `zone`; returns how many succeeded.
    fn reserve_from(ct: &Arc<Conntrack>, threads: usize, tries: usize, zone: u16) -> usize {
        let hs: Vec<_> = (0..threads)
            .map(|_| {
                let ct = ct.clone();
                std::thread::spawn(move || {
                    let limit = ct.zone_limit(zone);
                    (0..tries)
                        .filter(|_| ct.reserve(super::my_stripe(), zone, limit))
                        .count()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().expect("thread")).sum()
    }

    #[test]
    fn the_global_limit_is_exact_with_credit_spread_over_threads() {
        let ct = tracker(1000);
        assert_eq!(reserve_from(&ct, 4, 600, 0), 1000);
        assert_eq!((ct.len(), ct.zone_count(0)), (1000, 1000));
        assert_eq!(ct.stats().full, 1400);
        // Removals on another thread (the credit lands in its stripe) make room for exactly
        // as many new connections, whichever thread creates them.
        for _ in 0..1000 {
            ct.release(0);
        }
        assert_eq!((ct.len(), ct.zone_count(0)), (0, 0));
        assert_eq!(reserve_from(&ct, 2, 700, 0), 1000);
        assert_eq!(ct.len(), 1000);
        assert!(!ct.reserve(super::my_stripe(), 0, None));
    }

    #[test]
    fn lowering_the_limit_voids_credit_already_taken() {
        let ct = tracker(1_000_000);
        for _ in 0..10 {
            assert!(ct.reserve(super::my_stripe(), 0, None));
        }
        // This thread's stripe holds unused credit now.
        assert!(ct.n_conns.load(std::sync::atomic::Ordering::Relaxed) > 10);
        assert_eq!(ct.len(), 10);
        ct.set_max_conns(5);
        assert!(!ct.reserve(super::my_stripe(), 0, None));
        assert_eq!(ct.len(), 10);
        for _ in 0..10 {
            ct.release(0);
        }
        assert_eq!(ct.len(), 0);
        assert_eq!(
            (0..8)
                .filter(|_| ct.reserve(super::my_stripe(), 0, None))
                .count(),
            5
        );
        // Removals beyond the chunk size return credit to the global count.
        ct.set_max_conns(1_000_000);
        for _ in 0..5 {
            ct.release(0);
        }
        for _ in 0..(3 * CREDIT_CHUNK) {
            assert!(ct.reserve(super::my_stripe(), 0, None));
        }
        for _ in 0..(3 * CREDIT_CHUNK) {
            ct.release(0);
        }
        assert_eq!(ct.len(), 0);
    }

    #[test]
    fn credit_a_refill_adds_after_the_limit_was_lowered_is_not_used() {
        use std::sync::atomic::Ordering;
        // The state a refill racing `set_max_conns(5)` leaves: it read the old limit, the
        // lowering reclaimed every stripe (nothing there yet), then its chunk of 64 landed.
        let ct = tracker(1_000_000);
        ct.set_max_conns(5);
        ct.n_conns.fetch_add(CREDIT_CHUNK, Ordering::SeqCst);
        ct.stripes[1]
            .credit
            .fetch_add(CREDIT_CHUNK - 1, Ordering::SeqCst);
        assert_eq!(ct.len(), 1);
        // Stripe 1's credit is voided (returned to the count), not used past the limit.
        assert_eq!((0..10).filter(|_| ct.reserve(1, 0, None)).count(), 4);
        assert_eq!(ct.len(), 5);
        assert_eq!(ct.stats().full, 6);
    }

    #[test]
    fn lowering_the_limit_while_threads_refill_never_lets_the_table_pass_it() {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        for round in 0..40 {
            let ct = tracker(1_000_000);
            let lowered = Arc::new(AtomicBool::new(false));
            let late = Arc::new(AtomicUsize::new(0));
            let progress = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..4)
                .map(|t| {
                    let (ct, lowered, late) = (ct.clone(), lowered.clone(), late.clone());
                    let progress = progress.clone();
                    std::thread::spawn(move || {
                        // Each thread on its own stripe; removals keep the refills coming
                        // until the limit is lowered.
                        let s = (t + round) % super::STRIPES;
                        let mut after_tries = 0;
                        for i in 0..200_000 {
                            let after = lowered.load(Ordering::SeqCst);
                            if ct.reserve(s, 0, None) && after {
                                late.fetch_add(1, Ordering::SeqCst);
                            }
                            if !after && i % 3 == 0 {
                                ct.release(0);
                            }
                            progress.fetch_add(1, Ordering::SeqCst);
                            after_tries += usize::from(after);
                            if after_tries > 2000 {
                                break;
                            }
                        }
                    })
                })
                .collect();
            // (Not `len()`: read during a refill it can count the new credit as connections.)
            while progress.load(Ordering::SeqCst) < 4 * 300 {
                std::thread::yield_now();
            }
            ct.set_max_conns(5);
            lowered.store(true, Ordering::SeqCst);
            for h in hs {
                h.join().expect("thread");
            }
            // The table held hundreds of connections when the limit went down to 5 and
            // nothing was removed after: no creation that started later succeeded.
            assert_eq!(late.load(Ordering::SeqCst), 0, "round {round}");
        }
    }

    #[test]
    fn a_zone_limit_counts_connections_made_before_it_and_on_other_threads() {
        let ct = tracker(1_000_000);
        assert_eq!(reserve_from(&ct, 2, 3, 3), 6);
        ct.release(3);
        assert_eq!(ct.zone_count(3), 5);
        assert_eq!(ct.zone_count(0), 0);
        ct.set_zone_limit(3, Some(7));
        assert_eq!(reserve_from(&ct, 3, 4, 3), 2);
        assert_eq!(ct.zone_count(3), 7);
        assert_eq!(ct.stats().zone_full, 10);
        for _ in 0..7 {
            ct.release(3);
        }
        assert_eq!((ct.zone_count(3), ct.len()), (0, 0));
    }

    #[test]
    fn the_nat_random_sequence_never_repeats_across_threads() {
        let ct = tracker(10);
        let hs: Vec<_> = (0..3)
            .map(|_| {
                let ct = ct.clone();
                std::thread::spawn(move || (0..1000).map(|_| ct.nat_random_seq()).collect())
            })
            .collect();
        let mut all = HashSet::new();
        for h in hs {
            let v: Vec<u64> = h.join().expect("thread");
            all.extend(v);
        }
        assert_eq!(all.len(), 3000);
    }
}
