//! `datapath`: rvs's fast path. It owns ports and forwarding threads, extracts
//! a flow key once per packet, finds the packet's megaflow in two caches,
//! executes datapath actions (`ct()` through a [`ConnTracker`], `recirc` back
//! into the caches) and, on a miss, asks an [`UpcallHandler`] (ofproto) for a
//! mask and actions to install.
//!
//! ```text
//!  AF_PACKET rx ring / tap reads ──burst (≤32)───▶ forwarding thread (×N, one per core by default)
//!                                                    │ extract ▸ FlowKey (fixed 25 words)
//!                                                    │ EMC (per thread, exact key) ──hit──┐
//!                                                    │ megaflow classifier (one hash     │
//!                                                    │   table per mask, most-hit first)─┤
//!                                                    │ miss: one batch per burst         │
//!                                                    ▼                                   ▼
//!                          bounded upcall queue ──▶ handler thread          actions per megaflow batch:
//!                                                    │ UpcallHandler::upcall  output / flood / set / vlan /
//!                                                    │ → (mask, actions)      ct ─▶ ConnTracker
//!                                                    │ install megaflow       recirc ─▶ back to extract (≤ 8)
//!                                                    └ execute the packet     userspace ─▶ bounded channel
//!                                                                               ─▶ owner (packet-in)
//!  per-port tx queues ◀──sendmmsg once per burst──────────────────────────────────┘
//! ```
//!
//! What the owner (ofproto) uses:
//! - [`Datapath::new`] with a [`DatapathConfig`], an [`UpcallHandler`] and an
//!   optional [`ConnTracker`]; returns the receiver of [`UserspacePacket`]s.
//! - ports: [`Datapath::add_system_port`], [`Datapath::add_tap_port`],
//!   [`Datapath::del_port`], [`Datapath::ports`] ([`PortInfo`]: name, MAC,
//!   link state, number, rx/tx packets/bytes/dropped/errors);
//! - [`Datapath::execute`] for PACKET_OUT;
//! - megaflows: [`Datapath::flow_dump`], [`Datapath::flow_dump_text`] (OVS
//!   `dpctl/dump-flows` format), [`Datapath::flow_del`],
//!   [`Datapath::flow_flush`], [`Datapath::revalidate`], [`Datapath::flow_put`];
//! - counters: [`Datapath::stats`].
//!
//! Contracts worth knowing:
//! - The handler is called from a handler thread with the misses of one
//!   burst (or from the caller's thread for [`Datapath::execute`]); it returns
//!   one [`UpcallReply`] per [`Upcall`], in order. A reply with `install`
//!   becomes a megaflow (`key & mask`) unless a live megaflow already matches
//!   the key (racing installs keep the first); the packet is executed either way.
//! - A full upcall queue drops the missed packets and counts them
//!   (`DpStats::upcall_lost`); a full userspace channel likewise
//!   (`userspace_lost`).
//! - `Recirc(id)` ends the action list for that packet: it re-enters
//!   extraction with `recirc_id = id` and the ct fields the tracker set.
//!   More than [`MAX_RECIRC_DEPTH`] recirculations drop the packet
//!   (`recirc_depth_drops`).
//! - Without a [`ConnTracker`], `ct()` marks packets `+trk+inv`.
//! - Megaflow `used` times and [`Datapath::now_ns`] share one monotonic clock.
//!
//! What it does not do (yet): OpenFlow (ofproto's job: the handler returns
//! plain datapath actions), MPLS, tunnels, registers in the key (ofproto keeps
//! them with the frozen state of a recirc_id), NAT (the `nat` part of `ct()` is
//! parsed and printed but the conntrack crate has no NAT yet, so it is not
//! applied), IPv6 L4 checksum updates when extension headers precede the L4
//! header, a TPACKET_V3 (block) rx ring or a tx ring (AF_PACKET receives
//! through a TPACKET_V2 ring, which hands each frame over as it lands;
//! transmission uses `sendmmsg`), pinning threads to cores.
//! `unsafe` lives only in [`sys`].
//!
//! ## Performance (2-core machine shared with other builds)
//!
//! Per packet (earlier session, load 8–11; not re-measured in this one):
//!
//! - EMC hit (extract + hash + EMC + stats + output copy): ~400 instructions
//!   per packet (callgrind, `examples/icount.rs`), 37–52 ns of user CPU per
//!   packet; criterion (`benches/fastpath.rs`, wall time under load): ~124 ns.
//!   Megaflow hit, matching mask probed last: 1 mask ~120 ns, 10 ~305 ns,
//!   100 ~2.5 µs per packet (wall, under load).
//! - `bench/trafgen.sh` (64-byte UDP, one forwarding thread, same run as OVS
//!   3.1 userspace), before the AF_PACKET rx ring, at load 12–16: veth plain
//!   rvs 20.5 kpps / 6.60 CPU-s per Mpkt vs OVS 15.3 kpps / 11.37 (×1.33 pps,
//!   ×0.58 CPU); tap plain rvs 20.2 kpps / 6.59 vs OVS 22.2 kpps / 10.51
//!   (×0.91, ×0.63). Both switches got only 0.13–0.23 cores, so pps follows
//!   the scheduler's share more than the switch; CPU per packet is the figure
//!   to compare.
//! - Where rvs's CPU goes (`perf record` of `fwd` under trafgen, veth, before
//!   the ring): ~2 % in rvs's own code; 33 % in `recvmmsg` (skb dequeue, copy,
//!   free); 62 % in `sendmmsg`, of which 36 % is the receiving namespace's IP
//!   stack run in the sender's softirq (20 % alone in its ICMP port-unreachable
//!   route lookups for the trafgen UDP flow) — kernel work any userspace switch
//!   pays on this topology. Tap is the same shape (`read` 34 %, `write` 62 %,
//!   of which 44 % is the receiving stack; rvs ~3 %): one syscall per frame
//!   each way, which tap offers no way to batch.
//! - The TPACKET_V2 rx ring takes receive off rvs's CPU (the kernel copies into
//!   the ring in the sender's softirq): `RxRing::recv` is ~1 % of the profile
//!   instead of 33 %. A/B with the same (debug) build, load 5: 8.5 vs 9.6–9.8
//!   CPU-s per Mpkt with and without the ring; the release build was not
//!   re-measured against OVS in this session (see the closing note of issue 5).
#![deny(unsafe_code)]

pub mod actions;
pub mod classifier;
pub mod ct;
mod ct_conntrack;
pub mod dp;
pub mod dump;
pub mod edit;
pub mod emc;
pub mod extract;
pub mod ipf_stage;
pub mod key;
pub mod meter;
pub mod packet;
pub(crate) mod pipeline;
pub mod port;
pub mod sys;

pub use actions::{Actions, CtAction, DpAction, NatKind, NatSpec, SetAction};
pub use classifier::{Classifier, FlowStats, Megaflow};
pub use ct::{ConnTracker, CtItem};
pub use dp::{
    Datapath, DatapathConfig, DpStats, Revalidate, Upcall, UpcallHandler, UpcallReply,
    UserspacePacket,
};
pub use extract::{PacketMeta, extract};
pub use key::FlowKey;
pub use packet::Packet;
pub use pipeline::MAX_RECIRC_DEPTH;
pub use port::{PortInfo, PortKind, PortStats};
