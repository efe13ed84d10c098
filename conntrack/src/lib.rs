//! # conntrack — rvs's userspace connection tracker
//!
//! What the `ct()` action calls. It takes batches of packets (bytes plus the L3/L4 types and
//! offsets the datapath's flow key already has), a zone and options, and the current time as a
//! plain `now_ns: u64`; it classifies each packet (`ct_state` new/est/rel/rpl/inv/trk), remembers
//! connections, and answers introspection (dump, flush, stats) in Open vSwitch's formats.
//!
//! It is **sans-IO**: no sockets, no threads, no clock reads, no tokio. Time only moves when the
//! caller passes a new `now_ns`; expiry is a per-entry deadline checked lazily on lookup, plus an
//! incremental [`Conntrack::sweep`] bounded in work per call that the caller schedules.
//!
//! ```text
//!  datapath thread(s)                         housekeeping / control
//!  ──────────────────                         ──────────────────────
//!  execute(&mut [CtPacket; ≤32], &CtOpts, now_ns)     sweep(now_ns, budget)
//!        │ parse (types from caller) ─► ConnKey       dump(zone, cursor, max, now_ns)
//!        │ symmetric hash ─► shard (RwLock, read)     flush(filter), stats(), limits, policies
//!        │ entry mutex ─► TCP/ICMP/other state machine
//!        ▼ write CtMeta (state, zone, mark, label, orig tuple)
//!  ┌─────────────── Conntrack (Send + Sync, Arc it) ───────────────┐
//!  │ shards[hash>>40 & mask]: RwLock<HashTable<Arc<Conn>>>          │
//!  │ Conn { key, expires_at_ns: AtomicU64, Mutex<{mark,label,l4}> } │
//!  └────────────────────────────────────────────────────────────────┘
//! ```
//!
//! ## The API the datapath calls
//!
//! * [`Conntrack::new`]`(`[`Config`]`)` — one per datapath, shared by all forwarding threads.
//! * [`Conntrack::execute`]`(&mut [`[`CtPacket`]`], &`[`CtOpts`]`, now_ns)` — one `ct()` action
//!   on a batch (all packets in one zone, with the same options). Each packet's
//!   [`CtPacket::md`] ([`CtMeta`]) is read (previous state, for re-entry in the same zone) and
//!   rewritten: `state` ([`CtState`] bits, always `+trk`), `zone`, `mark`, `label`, `orig`
//!   (the original-direction tuple). Invalid packets are marked, never dropped here.
//! * [`Conntrack::sweep`]`(now_ns, budget)` — incremental expiry.
//! * [`Conntrack::dump`]`(zone, cursor, max, now_ns)` / [`Conntrack::dump_all`] —
//!   [`CtEntry::format`] prints `dpctl/dump-conntrack [-s]` lines; [`format_ct_stats`] prints
//!   `dpctl/ct-stats-show`.
//! * [`Conntrack::flush`]`(`[`FlushFilter`]`)` — all, by zone, by tuple.
//! * [`Conntrack::stats`], [`Conntrack::set_max_conns`], [`Conntrack::set_zone_limit`],
//!   [`Conntrack::set_default_zone_limit`], [`Conntrack::zone_count`],
//!   [`Conntrack::set_zone_timeout_policy`], [`Conntrack::set_default_timeout_policy`],
//!   [`Conntrack::set_tcp_seq_check`].
//! * [`CtPacket::derive`] builds a packet from raw Ethernet bytes (types derived by parsing)
//!   for callers without a flow key.
//!
//! ## Semantics (as Open vSwitch 3.1's userspace conntrack)
//!
//! * **TCP**: window tracking and per-direction states like `conntrack-tcp.c`: a SYN starts a
//!   connection; a mid-stream segment may start one (pickup after restart, liberal window);
//!   a SYN+ACK may not. Retransmitted SYNs stay `+new`; RST must be in window (exact or ±1
//!   sequence); out-of-window segments and invalid flag combinations are `+inv` and leave the
//!   connection unchanged (OVS partially updates state on such segments; rvs does not — the seed
//!   review's point). A SYN on a connection whose both sides are closed starts a new connection.
//! * **UDP and other protocols**: first / multiple / bidirectional with the `udp_*` timeouts
//!   (OVS's userspace datapath uses these for every non-TCP, non-ICMP protocol). UDP length must
//!   be ≥ 8 and ≤ the IP payload; the checksum is verified when non-zero (IPv4) and always
//!   (IPv6; a zero checksum is invalid); failures are `+inv`.
//! * **ICMP/ICMPv6**: echo (and v4 timestamp/info) queries are connections (only a request may
//!   create one); errors (unreachable, time exceeded, parameter problem, source quench, redirect;
//!   v6 packet too big) quoting a tracked connection are `+rel` (`+rpl` if the quoted packet was
//!   in the original direction), and `+inv` otherwise. An error never creates a connection.
//! * **IPv4 and IPv6**; IPv6 extension headers are walked (only when the caller's `l4_ofs`
//!   says they are present). Fragments are `+inv` (reassembly is a later issue). IPv4 header,
//!   TCP, UDP, ICMP checksums are verified unless [`CtPacket::checksum_ok`] says the kernel
//!   already did.
//! * **commit / force**: without `commit` a new connection is reported `+new` but not stored.
//!   With `force`, a packet in the reply direction of an existing connection deletes it and is
//!   processed as the first packet of a new one. `set_mark` / `set_label` apply whenever the
//!   packet has a connection (`value | (old & !mask)`).
//! * **Limits**: global (default 3,000,000) and per zone. When full, the packet is still
//!   reported `+trk+new` (this is what OVS does: `conn_not_found` sets `CS_NEW` before checking
//!   the limits) but nothing is committed; established connections keep working.
//! * **Timeouts**: one [`TimeoutPolicy`] with OVS's defaults and unit-suffixed names; per zone
//!   policies override it.
//! * **Concurrency**: packets of existing connections take one shard read lock and the entry's
//!   mutex — no global lock. Sweeps, dumps and flushes hold one shard lock at a time.
//!
//! ## Not done yet (later issues), and where each fits
//!
//! * **NAT**: an entry has one original key and derives its reply key in one place
//!   (`Conn::reply_key` / `Conn::direction_of` in `table.rs`); a NAT entry will store its reply
//!   key and be linked in the table under both keys (two slots, possibly in two shards), and
//!   `write_md`'s `+snat`/`+dnat` bits and the packet rewrite come after the state update.
//! * **Fragments**: today an IPv4 fragment or an IPv6 packet with a fragment header is `+inv`;
//!   a reassembly stage goes in front of key extraction (as OVS's `ipf_preprocess_conntrack`).
//! * **ALG helpers and expectations (FTP/TFTP)**: an expectation table is consulted on the
//!   "not found" path before a connection is created (OVS's `expectation_lookup` in
//!   `conn_not_found`), giving `+rel` and the parent's mark/label.
//! * SCTP/DCCP state machines (tracked as generic protocols meanwhile), the verbose (`-m`)
//!   dump format, per-connection packet/byte counters (OVS's userspace datapath has none either).

//! ## Performance
//!
//! How to measure: `bench/ctbench.sh` (rvs and OVS 3.1 side by side in one run: OVS's own
//! `ovstest test-conntrack benchmark`, an OVS connection-setup harness, instruction counts
//! under cachegrind), `cargo bench -p conntrack --bench ct_bench` (criterion),
//! `--bench ct_mem` (bytes per connection), `--bench ct_latency` (tail latency of `execute`
//! during mass expiry and during a dump), `--bench ovs_shape` (the OVS benchmark's shape).
//!
//! Last run (2 shared cores with other builds running, load ≈ LOADAVG — wall-clock figures are
//! noisy, compare only within a run; instruction counts are not affected):
//!
//! PERF-TABLE
//!
//! Design choices behind these: a 40-byte packed key compared and copied as whole words; a
//! keyed, direction-symmetric hash computed once per distinct key in a batch; one shard read
//! lock per run of packets in the same shard (no global lock, no reference-count traffic on
//! lookups); the batch's lookups are issued before its state updates so that cache misses
//! overlap; slots keep the hash, so resizing and sweeping never touch the entries.
//!
//! **Caller-given vs derived L3/L4 type** (the seed review's question; criterion `l4_type`,
//! batch of 32 established UDP connections, per packet): L4TYPE-FIGURES
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod conntrack;
mod dump;
mod key;
mod maint;
mod meta;
mod parse;
mod proto;
mod table;
mod tcp;
mod timeout;

pub use conntrack::{Config, Conntrack, CtStats, DEFAULT_MAX_CONNS, DEFAULT_SHARDS};
pub use dump::{CtEntry, format_ct_stats, proto_name};
pub use key::ConnKey;
pub use maint::{DumpCursor, FlushFilter, REMOVE_BATCH, SweepResult};
pub use meta::{CtMeta, CtOpts, CtPacket, CtState, L3, OrigTuple};
pub use parse::internet_checksum;
pub use tcp::TcpState;
pub use timeout::{NS_PER_S, TimeoutPolicy};

#[cfg(test)]
mod send_sync {
    #[test]
    fn conntrack_is_send_and_sync() {
        fn f<T: Send + Sync>() {}
        f::<crate::Conntrack>();
    }
}
