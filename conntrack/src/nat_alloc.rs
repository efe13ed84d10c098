//! NAT set-up and per-packet translation inside the tracker.
//!
//! **Allocation without a global lock.** A new NAT connection needs a reply key no other live
//! connection uses. Candidates are generated as OVS's `nat_get_unique_tuple` does (one address
//! from the range, chosen by a keyed hash; then ports), and each is *claimed* by inserting the
//! entry's second slot under the candidate's hash, in that shard, under that shard's write lock,
//! after checking that no live entry there already answers to the candidate. Two threads can
//! therefore never claim the same reply key: the check and the insert are one critical section
//! of the shard that owns the key. Then the primary slot is inserted under the original key
//! (if another thread created the same connection meanwhile, the claim is undone and the
//! packet joins theirs). At most one shard lock is held at a time.
//!
//! Port choice (TCP and UDP; other protocols only get the address):
//! * SNAT without a port range, and DNAT: the source port is kept if the result is free, else
//!   searched in its class as OVS does (1–511, 600–1023, 1024–65535);
//! * an explicit range: the connection's own port first if it is in the range (as the kernel;
//!   OVS starts at a hashed offset), else from a hashed offset; `hash` starts at the hashed
//!   offset, `random` at a random one (neither tries the own port first);
//! * DNAT with a port range tries the destination ports first, then falls back to changing the
//!   source port (OVS);
//! * the search visits at most 128 consecutive ports, then three shorter runs from random
//!   points (64, 32, 16), like OVS's `nat_get_unique_l4`.
//!
//! `persistent` picks the address from the source address alone (the kernel's meaning: one
//! client keeps one translated address); without it the whole tuple is hashed (OVS).
//!
//! When no candidate is free the connection is not created and the packet stays `+trk+new`
//! untranslated, as OVS 3.1 does; [`crate::CtStats::nat_exhausted`] counts it.
//!
//! **Measured** (`benches/ct_nat.rs`, `bench/natbench.sh`; 2-CPU VM under load, threads run
//! together with `chrt -f 1`): SNAT to one address and 64,512 ports. Setting up a connection
//! writes no counter line shared with another thread (see `Conntrack::reserve`: per-stripe
//! credit, zone deltas and statistics); what two threads still share are the table's own
//! lines (shard locks, buckets), 4–6 shard-lock waits per 1,000 connections. 27 Nov, load
//! 6–16, against the shared-atomic version in the same runs: 2-thread CPU per connection
//! 0.83–0.91× (plain) and 0.84–0.98× (SNAT) of it in paired runs, 1 thread 1.00–1.08× (+38
//! instructions per connection, 2 %); 2 threads against 1: CPU per connection plain
//! 1.12–1.33× (was 1.35–1.48×), SNAT 1.14–1.27× (was 1.30–1.60×), SNAT wall rate up
//! 1.33–1.51× (was 1.10–1.24×). OVS 3.1, whose NAT allocation runs under its global
//! `ct_lock`: 3.0× the CPU per connection, wall rate down from 0.37 to 0.20 Mconn/s (26 Nov).
//! A new SNAT connection costs 3.0–3.5× a plain one in CPU (~2 candidates probed, two
//! slots); established SNAT packets 1.12–1.16× plain (target 1.3×), 1.18–1.22× in
//! instructions. [`Conntrack::thread_insert_lock_waits`] counts the waits.

use std::cell::Cell;
use std::net::IpAddr;
use std::sync::Arc;

use crate::conntrack::Conntrack;
use crate::key::{ConnKey, addr4, addr6};
use crate::meta::{CtPacket, CtState};
use crate::nat::{NatConfig, NatKind};
use crate::nat_rewrite::{RW_DST, RW_RELATED, RW_SRC, RewriteOp};
use crate::parse::Extracted;
use crate::table::{Conn, Map, NAT_DST, NAT_SRC, NatBinding, Slot};
use parking_lot::RwLockWriteGuard;

/// Where linking a new entry ended.
pub(crate) enum Link {
    /// Linked (under all its keys).
    Linked,
    /// A live entry with the same original key exists (created by another thread).
    Existing(Arc<Conn>),
    /// NAT: every candidate reply key is taken.
    Exhausted,
}

/// First attempts of a port search (then 64, 32 and 16 from random points), as OVS.
const MAX_SEQ_ATTEMPTS: u32 = 128;

const NAT_SEED: u64 = 0x6e61_745f_7276_7321;

/// Removes the dead slots under `hash` that answer to `k`; returns the entries whose primary
/// slot went (they are accounted by the caller, outside the lock).
fn purge_dead(map: &mut Map, hash: u64, k: &ConnKey, now_ns: u64, out: &mut Vec<Arc<Conn>>) {
    while let Ok(e) = map.find_entry(hash, |s| {
        s.hash == hash && s.conn.expired(now_ns) && s.conn.direction_of(k).is_some()
    }) {
        let slot = e.remove().0;
        if slot.is_primary() {
            out.push(slot.conn);
        }
    }
}

/// The live entry under `hash` that answers to `k`, after unlinking dead ones that do (into
/// `stale` if primary). One probe when nothing answers to `k` (the common case).
fn live(
    map: &mut Map,
    hash: u64,
    k: &ConnKey,
    now_ns: u64,
    stale: &mut Vec<Arc<Conn>>,
) -> Option<Arc<Conn>> {
    let any = map.find(hash, |s| s.hash == hash && s.conn.direction_of(k).is_some())?;
    if !any.conn.expired(now_ns) {
        return Some(any.conn.clone());
    }
    purge_dead(map, hash, k, now_ns, stale);
    map.find(hash, |s| s.hash == hash && s.conn.direction_of(k).is_some())
        .map(|s| s.conn.clone())
}

thread_local! {
    /// See [`Conntrack::thread_insert_lock_waits`]. Touched only when the lock was taken.
    static INSERT_LOCK_WAITS: Cell<u64> = const { Cell::new(0) };
}

impl Conntrack {
    /// How many times the calling thread, inserting a new connection (with or without NAT;
    /// for NAT also each claimed reply key), found the shard's lock held by another thread
    /// (reading or writing) and had to wait for it, since the thread started. The count is kept per thread
    /// (a thread-local touched only on a failed `try_write`), so counting adds no shared
    /// write to the insertion path. Lookups (read locks) are not counted. A diagnostic for
    /// the NAT scaling benchmark (`benches/ct_nat.rs scaling`).
    pub fn thread_insert_lock_waits() -> u64 {
        INSERT_LOCK_WAITS.with(Cell::get)
    }

    /// The write lock of the shard of `hash`, with room for one more slot. A full shard whose
    /// sampled slots include a dead entry is swept first (after a mass expiry the room is then
    /// found without a bigger table); otherwise it grows outside the lock
    /// ([`crate::table::Shard::write_with_room`]).
    fn write_for_insert(&self, hash: u64, now_ns: u64) -> RwLockWriteGuard<'_, Map> {
        let i = self.shard_index(hash);
        let shard = &self.shards[i];
        let map = match shard.map.try_write() {
            Some(m) => m,
            None => {
                INSERT_LOCK_WAITS.with(|w| w.set(w.get() + 1));
                shard.map.write()
            }
        };
        if map.capacity() > map.len() {
            return map;
        }
        let dead = map.iter().take(8).any(|s| s.conn.expired(now_ns));
        drop(map);
        if dead {
            self.sweep_shard(i, now_ns, &mut Vec::new(), false);
        }
        shard.write_with_room(1)
    }

    /// Accounts entries unlinked as dead by a creation.
    fn account_stale(&self, stale: Vec<Arc<Conn>>) {
        for old in &stale {
            self.account_removed(old, true);
        }
    }

    /// Links a new entry without NAT under `hash` (its original key's hash). A dead entry with
    /// the same key is unlinked first.
    pub(crate) fn link(&self, conn: &Arc<Conn>, hash: u64, now_ns: u64) -> Link {
        let mut stale = Vec::new();
        let mut map = self.write_for_insert(hash, now_ns);
        // The common case, nothing under the key: one probe finds that and the free bucket
        // (the table has room, so this never grows it).
        let k = &conn.key;
        if let hashbrown17::hash_table::Entry::Vacant(v) = map.entry(
            hash,
            |s| s.hash == hash && s.conn.direction_of(k).is_some(),
            |s| s.hash,
        ) {
            v.insert(Slot {
                hash,
                conn: conn.clone(),
            });
            return Link::Linked;
        }
        if let Some(other) = live(&mut map, hash, &conn.key, now_ns, &mut stale) {
            // Dead entries unlinked on the way are accounted here too, as in
            // `nat_link`; otherwise the connection counts would never drop.
            drop(map);
            self.account_stale(stale);
            return Link::Existing(other);
        }
        map.insert_unique(
            hash,
            Slot {
                hash,
                conn: conn.clone(),
            },
            |s| s.hash,
        );
        drop(map);
        self.account_stale(stale);
        Link::Linked
    }

    /// Links a new NAT entry: claims the first free reply key of `candidates` (see the module
    /// documentation), then links the original key. `conn` must not be shared yet.
    pub(crate) fn nat_link(
        &self,
        conn: &mut Arc<Conn>,
        hash: u64,
        kinds: u8,
        candidates: impl Iterator<Item = ConnKey>,
        now_ns: u64,
    ) -> Link {
        let key = conn.key;
        let mut stale = Vec::new();
        for cand in candidates {
            if cand == key {
                continue;
            }
            let reply_hash = cand.sym_hash(self.seed);
            let two_slots = reply_hash != hash;
            let Some(c) = Arc::get_mut(conn) else {
                return Link::Exhausted;
            };
            let binding = NatBinding {
                reply: cand,
                reply_hash,
                two_slots,
                kinds,
            };
            // One allocation per connection (shared with any ALG state), reused across
            // candidates.
            c.ext.get_or_insert_with(Box::default).nat = Some(binding);
            if !two_slots {
                // Both keys in one slot of one shard: check both and insert in one section.
                let mut map = self.write_for_insert(hash, now_ns);
                if let Some(other) = live(&mut map, hash, &key, now_ns, &mut stale) {
                    drop(map);
                    self.account_stale(stale);
                    return Link::Existing(other);
                }
                if live(&mut map, hash, &cand, now_ns, &mut stale).is_some() {
                    continue;
                }
                let slot = Slot {
                    hash,
                    conn: conn.clone(),
                };
                map.insert_unique(hash, slot, |s| s.hash);
                drop(map);
                self.account_stale(stale);
                return Link::Linked;
            }
            {
                let mut map = self.write_for_insert(reply_hash, now_ns);
                if live(&mut map, reply_hash, &cand, now_ns, &mut stale).is_some() {
                    continue;
                }
                let slot = Slot {
                    hash: reply_hash,
                    conn: conn.clone(),
                };
                map.insert_unique(reply_hash, slot, |s| s.hash);
            }
            let mut map = self.write_for_insert(hash, now_ns);
            if let Some(other) = live(&mut map, hash, &key, now_ns, &mut stale) {
                drop(map);
                let mut m2 = self.shard_of(reply_hash).map.write();
                if let Ok(e) = m2.find_entry(reply_hash, |s| Arc::ptr_eq(&s.conn, conn)) {
                    e.remove();
                }
                drop(m2);
                self.account_stale(stale);
                return Link::Existing(other);
            }
            let slot = Slot {
                hash,
                conn: conn.clone(),
            };
            map.insert_unique(hash, slot, |s| s.hash);
            drop(map);
            self.account_stale(stale);
            return Link::Linked;
        }
        if let Some(c) = Arc::get_mut(conn)
            && let Some(e) = &mut c.ext
        {
            e.nat = None;
            if e.alg.is_none() {
                c.ext = None;
            }
        }
        self.account_stale(stale);
        Link::Exhausted
    }

    /// Links a new connection committed with `nat(src|dst=...)`.
    pub(crate) fn nat_link_new(
        &self,
        conn: &mut Arc<Conn>,
        hash: u64,
        cfg: &NatConfig,
        kind: NatKind,
        now_ns: u64,
    ) -> Link {
        let key = conn.key;
        let kinds = match kind {
            NatKind::Src => NAT_SRC,
            NatKind::Dst => NAT_DST,
        };
        let random = if cfg.proto_random {
            // Not security-grade: a keyed sequence, enough to spread start points.
            mix(self.nat_random_seq() ^ self.seed, NAT_SEED)
        } else {
            0
        };
        let plan = Plan::new(&key, cfg, kind, self.seed, random);
        self.nat_link(conn, hash, kinds, plan.candidates(), now_ns)
    }

    /// Translates a packet of a NATed connection (OVS's `handle_nat`): sets `+snat`/`+dnat`
    /// for what this packet gets and describes the rewrite in `pkt.rewrite`. Does nothing if
    /// the packet was already translated in this zone or the connection has no NAT.
    pub(crate) fn nat_packet(
        &self,
        pkt: &mut CtPacket<'_>,
        conn: &Conn,
        ex: &Extracted,
        reply: bool,
    ) {
        let Some(b) = conn.nat() else {
            return;
        };
        if ex.natted {
            return;
        }
        // The original direction gets the connection's kinds; replies the opposite side.
        let (src_side, dst_side) = if reply {
            (b.kinds & NAT_DST != 0, b.kinds & NAT_SRC != 0)
        } else {
            (b.kinds & NAT_SRC != 0, b.kinds & NAT_DST != 0)
        };
        let target = if reply {
            conn.key.reverse()
        } else {
            b.reply.reverse()
        };
        let mut what = 0;
        if src_side {
            what |= RW_SRC;
            pkt.md.state |= CtState::SRC_NAT;
        }
        if dst_side {
            what |= RW_DST;
            pkt.md.state |= CtState::DST_NAT;
        }
        if ex.related {
            what |= RW_RELATED;
        }
        pkt.rewrite.0 = Some(RewriteOp {
            what,
            l3_ofs: pkt.l3_ofs,
            l4_ofs: pkt.l4_ofs,
            target,
        });
    }
}

fn mix(a: u64, b: u64) -> u64 {
    let p = u128::from(a ^ 0x243f_6a88_85a3_08d3) * u128::from(b | 1);
    (p as u64) ^ ((p >> 64) as u64)
}

/// A port range and where its search starts.
#[derive(Clone, Copy)]
struct PortSearch {
    min: u16,
    max: u16,
    first: u16,
    /// Try `first`, then the range from `start` on.
    start: u16,
}

impl PortSearch {
    /// The ports to try, in order (bounded like OVS's search).
    fn ports(self, random: u64) -> impl Iterator<Item = u16> {
        // Total on any input: an inverted range is taken as its reverse, and a
        // start outside the range (a packet's own port 0 in class 1-511) is
        // clamped into it.
        let (lo, hi) = (self.min.min(self.max), self.min.max(self.max));
        let this = PortSearch {
            min: lo,
            max: hi,
            ..self
        };
        let range = u32::from(hi - lo) + 1;
        let first = std::iter::once(self.first);
        let seq = move |start: u16, n: u32| {
            let base = u32::from(start.clamp(this.min, this.max) - this.min);
            (0..n.min(range)).map(move |i| this.min + ((base + i) % range) as u16)
        };
        let rnd = |round: u64| {
            let r = mix(random ^ round, NAT_SEED) as u32 % range;
            this.min + r as u16
        };
        let more = range > MAX_SEQ_ATTEMPTS;
        first
            .chain(seq(self.start, MAX_SEQ_ATTEMPTS).filter(move |p| *p != self.first))
            .chain(seq(rnd(1), if more { 64 } else { 0 }))
            .chain(seq(rnd(2), if more { 32 } else { 0 }))
            .chain(seq(rnd(3), if more { 16 } else { 0 }))
    }
}

/// OVS's port classes for a kept source port.
fn port_class(p: u16) -> (u16, u16) {
    if p < 512 {
        (1, 511)
    } else if p < 1024 {
        (600, 1023)
    } else {
        (1024, 65535)
    }
}

/// The candidates of one NAT set-up.
struct Plan {
    /// Template reply key: the reversed original key with the chosen address in place.
    base: ConnKey,
    kind: NatKind,
    pat: bool,
    /// The translated source port's search (SNAT) or the fallback source-port search (DNAT).
    sport: PortSearch,
    /// DNAT: the destination-port search.
    dport: Option<PortSearch>,
    random: u64,
    /// The address range is of the other IP version than the connection: nothing to offer.
    mismatch: bool,
}

impl Plan {
    fn new(key: &ConnKey, cfg: &NatConfig, kind: NatKind, seed: u64, random: u64) -> Self {
        let v6 = key.is_ipv6();
        let pat = matches!(key.proto(), 6 | 17);
        let range_hash = mix(
            key.sym_hash(seed ^ NAT_SEED) ^ u64::from(cfg.port_min) ^ u64::from(cfg.port_max) << 16,
            seed,
        );
        // The address.
        let min = cfg.addr_min.filter(|a| !a.is_unspecified());
        let addr_hash = if cfg.persistent {
            let src = ConnKey::from_parts(octets_words(&key.src_octets(), v6), [0; 2], 0);
            mix(src.sym_hash(seed ^ NAT_SEED), seed)
        } else {
            range_hash
        };
        let (orig_src, orig_dst) = (key.src_octets(), key.dst_octets());
        let mismatch = min.is_some_and(|a| a.is_ipv6() != v6);
        let addr = match min {
            None => match kind {
                NatKind::Src => orig_src,
                NatKind::Dst => orig_dst,
            },
            Some(a) => pick_addr(a, cfg.addr_max.unwrap_or(a), addr_hash),
        };
        let r = key.reverse();
        let (mut rsrc, mut rdst) = (r.src_octets(), r.dst_octets());
        match kind {
            NatKind::Src => rdst = addr,
            NatKind::Dst => rsrc = addr,
        }
        let base = ConnKey::from_parts(
            octets_words(&rsrc, v6),
            octets_words(&rdst, v6),
            r.meta_word(),
        );
        let own_sport = key.src_port();
        let explicit = cfg.port_min != 0;
        let (pmin, pmax) = (cfg.port_min, cfg.port_max.max(cfg.port_min));
        let hashed = |min: u16, max: u16| {
            let range = u64::from(max - min) + 1;
            let h = if cfg.proto_random { random } else { range_hash };
            min + (h % range) as u16
        };
        let explicit_search = |own: u16| {
            let start = hashed(pmin, pmax);
            let keep = !(cfg.proto_hash || cfg.proto_random) && (pmin..=pmax).contains(&own);
            PortSearch {
                min: pmin,
                max: pmax,
                first: if keep { own } else { start },
                start,
            }
        };
        let class_search = || {
            let (min, max) = port_class(own_sport);
            PortSearch {
                min,
                max,
                first: own_sport,
                start: own_sport,
            }
        };
        let (sport, dport) = match kind {
            NatKind::Src if explicit => (explicit_search(own_sport), None),
            NatKind::Src => (class_search(), None),
            NatKind::Dst if explicit => (class_search(), Some(explicit_search(key.dst_port()))),
            NatKind::Dst => (class_search(), None),
        };
        Plan {
            base,
            kind,
            pat,
            sport,
            dport,
            random,
            mismatch,
        }
    }

    /// Reply-key candidates in order (no allocation: one iterator type for every case).
    fn candidates(self) -> impl Iterator<Item = ConnKey> {
        let base = self.base;
        let active = !self.mismatch;
        let ports = active && self.pat;
        let single = (active && !self.pat).then_some(base).into_iter();
        let with_ports = move |rsport: u16, rdport: u16| {
            let m = base.meta_word();
            let m = (m & !0xffff_ffff) | u64::from(rsport) | u64::from(rdport) << 16;
            ConnKey::from_parts(base.src_words(), base.dst_words(), m)
        };
        // The reply key's source port is the (translated) destination port; its destination
        // port is the (translated) source port.
        let own_rsport = base.src_port();
        let own_rdport = (base.meta_word() >> 16) as u16;
        let random = self.random;
        let dnat_ports = match self.kind {
            NatKind::Dst if ports => self.dport,
            _ => None,
        };
        let rsport = dnat_ports.map_or(own_rsport, |d| d.first);
        let dports = dnat_ports
            .into_iter()
            .flat_map(move |dp| dp.ports(random).map(move |p| with_ports(p, own_rdport)));
        let sports = self
            .sport
            .ports(random)
            .take(if ports { usize::MAX } else { 0 })
            .map(move |p| with_ports(rsport, p));
        single.chain(dports).chain(sports)
    }
}

/// Key words of an address given as 16 octets (IPv4 in the first 4).
fn octets_words(o: &[u8; 16], v6: bool) -> [u64; 2] {
    if v6 {
        addr6(o)
    } else {
        addr4([o[0], o[1], o[2], o[3]])
    }
}

/// The address `min + hash % (max - min + 1)` (an IPv6 span is capped at 2^32 as OVS does).
fn pick_addr(min: IpAddr, max: IpAddr, hash: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    match (min, max) {
        (IpAddr::V4(a), IpAddr::V4(b)) => {
            let (a, b) = (u32::from(a), u32::from(b).max(u32::from(a)));
            let span = u64::from(b - a) + 1;
            let v = a + (hash % span) as u32;
            out[..4].copy_from_slice(&v.to_be_bytes());
        }
        (IpAddr::V6(a), IpAddr::V6(b)) => {
            let (a, b) = (u128::from(a), u128::from(b).max(u128::from(a)));
            let span = (b - a).min(0xffff_fffe) + 1;
            let v = a + u128::from(hash) % span;
            out.copy_from_slice(&v.to_be_bytes());
        }
        // A maximum of the other family: the minimum alone.
        (IpAddr::V4(a), _) => out[..4].copy_from_slice(&a.octets()),
        (IpAddr::V6(a), _) => out.copy_from_slice(&a.octets()),
    }
    out
}

#[cfg(test)]
mod port_search_tests {
    use super::PortSearch;

    #[test]
    fn a_start_below_the_class_and_an_inverted_range_never_underflow() {
        // Fuzz finding: a packet whose own port is 0 searches class 1-511
        // starting at 0.
        let s = PortSearch {
            min: 1,
            max: 511,
            first: 0,
            start: 0,
        };
        assert!(s.ports(7).skip(1).all(|p| (1..=511).contains(&p)));
        let inv = PortSearch {
            min: 2000,
            max: 1000,
            first: 1500,
            start: 3000,
        };
        assert!(inv.ports(1).all(|p| (1000..=2000).contains(&p)));
    }
}

#[cfg(test)]
mod insert_tests {
    use std::net::Ipv4Addr;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    use crate::conntrack::{Config, Conntrack};
    use crate::key::ConnKey;
    use crate::proto::{L4State, OtherState};
    use crate::table::Conn;

    fn link(ct: &Conntrack, i: u32, deadline_ns: u64, now_ns: u64) {
        let k = ConnKey::ipv4(
            Ipv4Addr::from(0x0a00_0000 + i),
            Ipv4Addr::new(10, 2, 2, 2),
            17,
            1000,
            53,
        );
        let c = Arc::new(Conn::new(k, L4State::Other(OtherState::First), deadline_ns));
        ct.n_conns.fetch_add(1, Ordering::Relaxed);
        ct.zone_counts[0].fetch_add(1, Ordering::Relaxed);
        assert!(matches!(
            ct.link(&c, k.sym_hash(ct.seed), now_ns),
            super::Link::Linked
        ));
    }

    #[test]
    fn a_full_shard_of_dead_entries_is_swept_instead_of_grown() {
        let ct = Conntrack::new(Config {
            n_shards: 1,
            ..Config::default()
        });
        let mut n = 0;
        loop {
            let (len, cap) = {
                let m = ct.shards[0].map.read();
                (m.len(), m.capacity())
            };
            if len > 0 && len == cap {
                break;
            }
            link(&ct, n, 100, 10);
            n += 1;
        }
        let cap = ct.shards[0].map.read().capacity();
        // All dead at 200: the next insertion sweeps them rather than doubling the table.
        link(&ct, n, 1_000, 200);
        let m = ct.shards[0].map.read();
        assert_eq!(m.len(), 1);
        assert!(m.capacity() <= cap, "{} > {cap}", m.capacity());
        assert_eq!(ct.stats().expired, u64::from(n));
        assert_eq!(ct.len(), 1);
        drop(m);
        // Live entries: a full table grows (outside the lock).
        let before = ct.shards[0].map.read().capacity();
        let mut i = n + 1;
        while ct.shards[0].map.read().capacity() == before {
            link(&ct, i, 1_000, 200);
            i += 1;
        }
        assert_eq!(ct.shards[0].map.read().len() as u32, i - n);
    }
}
