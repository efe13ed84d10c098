//! `datapath`: rvs's fast path. It owns ports and forwarding threads, extracts
//! a flow key once per packet, finds the packet's megaflow in two caches,
//! executes datapath actions (`ct()` through a [`ConnTracker`], `recirc` back
//! into the caches) and, on a miss, asks an [`UpcallHandler`] (ofproto) for a
//! mask and actions to install.
//!
//! ```text
//!  AF_PACKET: TPACKET_V2 rx ring ─┐
//!  tap: io_uring reads ──────────┴─burst (≤32)─▶ forwarding thread (×N, one per core by default)
//!                                                    │ extract ▸ FlowKey (fixed 25 words)
//!                                                    │ EMC (per thread, key hash) ───hit──┐
//!                                                    │ megaflow classifier (one hash     │
//!                                                    │   table per mask, most-hit first)─┤
//!                                                    │ miss: one batch per burst         │
//!                                                    ▼                                   ▼
//!                          bounded upcall queue ──▶ handler thread          actions per megaflow batch:
//!                                                    │ UpcallHandler::upcall  output / flood / set / vlan /
//!                                                    │ → (mask, actions)      meter / trunc /
//!                                                    │ install megaflow       ct ─▶ (ipf) ─▶ ConnTracker
//!                                                    └ execute the packet     recirc ─▶ back to extract (≤ 8)
//!                                                                             userspace ─▶ bounded channel
//!                                                                               ─▶ owner (packet-in)
//!  per-port tx queues, flushed once per burst ◀──────────────────────────────────┘
//!    AF_PACKET: copied into a TPACKET_V2 tx ring (own socket, qdisc bypass), one send() per port
//!    tap: the burst's writes in one io_uring_enter (per-frame write() without io_uring)
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
//! - meters ([`Datapath::meters`]), fragment reassembly in front of `ct()`
//!   ([`Datapath::ipf`]), counters ([`Datapath::stats`]).
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
//! - Without a [`ConnTracker`], `ct()` marks packets `+trk+inv`. With one,
//!   the NAT rewrite the tracker decides is applied to the frame.
//! - AF_PACKET ports transmit through a TPACKET_V2 tx ring on a second,
//!   transmit-only socket with `PACKET_QDISC_BYPASS` ([`DatapathConfig::af_packet_tx_ring`],
//!   on by default; `sendmmsg` on the receive socket when off or when the
//!   kernel refuses the ring): packet taps such as tcpdump on that device do
//!   not see what rvs sends. Ring slots are sized for the MTU at open; longer
//!   frames (after the MTU was raised) go through `sendmmsg`, where the kernel
//!   checks the current MTU (refused frames count as tx errors). The ring's
//!   lock is only tried: a thread that finds another one transmitting on the
//!   port sends its burst with `sendmmsg` instead of waiting. The rx ring's
//!   slots are also sized at open (MTU + 22): a longer frame received after
//!   the MTU was raised is truncated by the kernel and counted as an rx error
//!   (not handled yet; ports opened after the change are not affected).
//! - Megaflow `used` times and [`Datapath::now_ns`] share one monotonic clock.
//!
//! What it does not do (yet): OpenFlow (ofproto's job: the handler returns
//! plain datapath actions), MPLS, tunnels, registers in the key (ofproto keeps
//! them with the frozen state of a recirc_id), IPv6 L4 checksum updates when
//! extension headers precede the L4 header, a TPACKET_V3 (block) rx ring,
//! pinning threads to cores. Tap reads and writes go through a per-thread
//! io_uring, one `io_uring_enter` per burst each way (`sys::tap_uring`);
//! the kernel still handles each frame on its own (tun has no batched
//! user-space interface), which is most of a tap frame's cost.
//! `unsafe` lives only in [`sys`].
//!
//! ## Performance (2-core machine shared with other builds)
//!
//! Per packet (callgrind and criterion, measured in an earlier session at
//! load 8–11, before the rings):
//!
//! - EMC hit (extract + hash + EMC + stats + output copy): ~400 instructions
//!   per packet (callgrind, `examples/icount.rs`), 37–52 ns of user CPU per
//!   packet; criterion (`benches/fastpath.rs`, wall time under load): ~124 ns.
//!   Megaflow hit, matching mask probed last: 1 mask ~120 ns, 10 ~305 ns,
//!   100 ~2.5 µs per packet (wall, under load).
//!
//! Forwarding (`bench/trafgen.sh`: 64-byte UDP, one forwarding thread, the
//! same run as OVS 3.1's userspace datapath; ratios rvs / OVS of median
//! received pps and of median switch CPU-seconds per million packets over 3
//! runs; fixed flow, then 1000 random source ports). Earlier session (its
//! quietest run), then this one (load 12-14, 4-way EMC):
//!
//! | topology   | fixed: pps, CPU/pkt    | rand1000: pps, CPU/pkt  |
//! |------------|------------------------|-------------------------|
//! | veth plain | ×2.37, ×0.36; ×1.50, ×0.37 | ×1.84, ×0.41; ×2.27, ×0.48 |
//! | veth ct    | ×2.57, ×0.40; ×1.67, ×0.41 | ×2.17, ×0.46; ×1.79, ×0.42 |
//! | tap plain  | ×1.47, ×0.70; ×0.93, ×0.72 | ×1.35, ×0.75; ×0.90, ×0.66 |
//! | tap ct     | ×1.09, ×0.93; ×0.77, ×0.63 | ×1.36, ×0.74; ×0.81, ×0.76 |
//!
//! On this machine the pps of both switches follows the share of a core the
//! scheduler gives them (at load 13, rvs's one busy thread got 0.13-0.18 of
//! a core, OVS 0.17-0.25); CPU per packet is the figure to compare.
//!
//! Where the CPU goes (`perf record` of the forwarding thread): rvs's own
//! code is a few per cent. Most of it is the kernel: the transmit call runs
//! the receiving namespace's IP stack in its softirq (60–65 %, including
//! ICMP port-unreachable replies to the generator's UDP). The TPACKET_V2 rx
//! ring took AF_PACKET receive (33 % with `recvmmsg`) down to ~1 %; the tx
//! ring (linear copy) measured ~7 % less than `sendmmsg` (see [`sys`] for
//! the options tried and dropped). Taps pay one `read` and one `write` per
//! frame, ~94 % of the switch's CPU (see [`sys`]): at ~6 CPU-s per Mpkt of
//! kernel work alone, half of OVS's CPU per packet is out of reach there.
//!
//! 1000 flows cost more than one (veth plain +6-14 % CPU per packet, tap
//! ct +20-30 %). Part of it was the EMC: it kept a 200-byte key per slot
//! (1.7 MiB, beyond the 512 KiB L2), so each lookup missed the CPU caches,
//! twice when the entry sat in its second way (hash quality was not the
//! issue: 1000-2000 keys in 8192 slots). The 4-way EMC of one cache line
//! per set (128 KiB, see [`emc`]) took `Pipeline::process` from 10.4 % to
//! 4.4 % of the CPU on tap ct rand1000; same-run A/B (medians of 3): at
//! load 10-12 tap ct rand1000 9.69 → 8.05 CPU-s per Mpkt, tap plain
//! rand1000 7.76 → 7.25, veth plain rand1000 4.95 → 4.66; at load 14 tap ct
//! rand1000 8.84 → 8.73 (within the spread). On tap ct the rest of the
//! premium is the tracker (`Conntrack::execute` ~5 %, its periodic sweep
//! ~2 %); on veth, rand1000 measured 3 % under fixed in one run and 18 %
//! over in the next, within this machine's run-to-run spread.
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
