//! # ofproto: the OpenFlow brain of rvs
//!
//! What it does: keeps the OpenFlow tables (255, as Open vSwitch), groups
//! and meters; applies flow-mods, group-mods, meter-mods and bundles with
//! OpenFlow 1.3 / OVS semantics and OVS's exact errors; expires timeouts on
//! a clock the caller passes in; translates a datapath key through the
//! tables into a megaflow (mask + datapath actions) for the datapath's
//! upcall handler; revalidates installed megaflows; prints
//! `ofproto/trace`-style reports.
//!
//! What it does not: no sockets, threads or clocks (sans-IO: every entry
//! point takes `now_ms`); no OpenFlow wire encoding (ofp-codec's job); no
//! packet forwarding (datapath's; meters are translated into the
//! datapath's `meter(N)` action, which rate-limits).
//!
//! ```text
//!  switch ──FlowMod/GroupMod/MeterMod/bundle──▶ Ofproto ──Event::FlowRemoved──▶ switch
//!                                                 │ tables (classifier per table)
//!  datapath ──Upcall(FlowKey)──▶ upcall::Handler ─┤ xlate ─▶ (mask, datapath actions)
//!  datapath ──revalidate(megaflow)──▶ Handler ────┘ re-xlate ─▶ Keep / Modify / Delete
//!  datapath ──UserspacePacket──▶ Ofproto::packet_in ─▶ PacketInEvent ─▶ switch
//! ```
//!
//! ## API for the switch layer
//! - [`Ofproto::new`]`(`[`Config`]`)`; ports: [`Ofproto::port_add`],
//!   [`Ofproto::port_remove`], [`Ofproto::port_set_live`] ([`Port`],
//!   [`VlanMode`] for NORMAL).
//! - [`Ofproto::handle_flow_mod`]`(&codec FlowMod, now_ms)`,
//!   [`Ofproto::handle_group_mod`], [`Ofproto::handle_meter_mod`]: `Err` is
//!   the `OfpError` to send back; on error nothing changed.
//! - [`Ofproto::bundle_commit`]`(&[`[`BundleMsg`]`], now_ms)`: all or nothing;
//!   `Err((index, error))`.
//! - [`Ofproto::flow_stats`], [`Ofproto::aggregate_stats`] (codec
//!   `FlowStatsRequest`), [`Ofproto::table_stats`].
//! - [`Ofproto::run`]`(now_ms) -> (Vec<`[`Event`]`>, next_deadline_ms)`:
//!   expires idle/hard timeouts (FLOW_REMOVED events), ages MACs, frees
//!   unused recirculation ids, fork entries and packet-in contexts, and
//!   drains pending events (FLOW_REMOVED from deletes too). Call it when
//!   the deadline passes, after flow-mods, and periodically.
//! - PACKET_OUT: [`Ofproto::translate_actions`]`(key, actions, opts)`
//!   (`output:TABLE` runs the pipeline); table-miss config:
//!   [`Ofproto::set_table_miss`].
//! - [`Ofproto::trace`]`(flow_text, ct_next, now_ms)`: `ofproto/trace` text.
//! - Datapath: [`upcall::Handler`]`::new(ofproto, clock)` implements
//!   `datapath::UpcallHandler` on published snapshots of the `Ofproto`
//!   (translations never wait for table changes); change it with
//!   `handler.modify(|of| of.handle_flow_mod(..))` and
//!   `handler.bundle_commit(msgs, now)` (built aside, published with one
//!   pointer swap); a bundle can also be applied as its messages arrive,
//!   `handler.bundle_stage(&mut staged, msg, now)`, and published by
//!   `handler.bundle_commit_staged(staged, now)`, which falls back to a
//!   plain commit when the tables changed meanwhile ([`staged`]). Revalidation is coalesced: changes bump the handler's
//!   generation; call `handler.sync_datapath(&dp)` where the datapath must
//!   reflect them (it passes over the megaflows only if something changed)
//!   and `handler.revalidate_datapath(&dp)` periodically (statistics, idle
//!   megaflows); `handler.reval_stats()` counts passes.
//!   Packets from `userspace` actions become packet-ins via
//!   [`Ofproto::packet_in`].
//! - Statistics: upcalls credit their packet; the revalidator pushes
//!   megaflow counter deltas ([`Ofproto::credit`] underneath).
//!
//! ## Known gaps and deliberate differences from Open vSwitch
//! - Deliberate: a translation that runs `ct()` un-wildcards eth_type and
//!   nw_proto (DESIGN.md); a push_vlan on an untagged packet keeps the tag
//!   presence bit in the megaflow (rvs's key carries the inner Ethernet
//!   type); datapath ports are OpenFlow port numbers; NORMAL floods in port
//!   order.
//! - Meters rate-limit in the datapath (`meter(N)`, drop bands only, as OVS
//!   3.1's userspace datapath); `ct_clear` emits the datapath `ct_clear` when
//!   the packet is tracked, as OVS.
//! - Refused at install (OFPBAC_BAD_VENDOR_TYPE), not translated: multipath,
//!   bundle/bundle_load, check_pkt_larger. The `push:`/`pop:` field stack
//!   is translated as OVS's and frozen into `ct(table=N)` recirculations and
//!   `controller(pause)` continuations (`xlate/stack.rs`); `sample` does nothing
//!   (no IPFIX); a `clone` holding ct/nat/output_trunc is skipped, as on an
//!   OVS datapath without a clone action.
//! - Recirculation ids, fork entries, packet-in contexts and paused states
//!   (`controller(pause)`, `xlate/pause.rs`, whose limits are listed there)
//!   are reference-counted by megaflows and freed a grace period after
//!   their last use ([`recirc`]); an NXT_RESUME needs only its
//!   continuation, so it still resumes after its paused state was freed.
//! - A megaflow that an upcall translated before a table change is refused
//!   at install (under the classifier lock) once a revalidation pass for a
//!   newer generation has started; the packet still runs the actions it got,
//!   as OVS's does. Installed before any such pass has started, it is counted
//!   stale and fixed by that pass ([`upcall`]).
//! - Not done: MPLS actions (skipped with a trace warning) and tunnels;
//!   select groups use their own symmetric hash (not OVS's exact bucket
//!   choice); `importance`-based eviction.
//! - `learn` options as OVS ([`learned`]): `delete_learned` (when the last
//!   rule holding such a learn goes — delete, replace, modify, expiry, group
//!   delete — its table's flows with its cookie are deleted, reason DELETE;
//!   a meter delete that removes such a rule does not flush them);
//!   `limit=`/`result_dst=` (checked when translating with side effects,
//!   against the snapshot plus the flows the same translation learned, and
//!   again at install, [`Ofproto::install_learned`]: the table never goes
//!   past the limit, but a packet translated on the same snapshot as
//!   another may see `result_dst` 1 for a flow then refused at install,
//!   where OVS serializes learning; a limited learn whose flow is absent
//!   makes the translation uncacheable, `Translation::avoid_caching`, and
//!   the revalidator deletes its megaflow); `fin_idle_timeout` and
//!   `fin_hard_timeout` (a `fin_timeout` action first in the learned flow;
//!   rvs's install checks refuse it unless the learned match says TCP).
//! - `fin_timeout` un-wildcards nw_proto only (as OVS): an upcall whose key
//!   has TCP FIN or RST lowers the rule's timeouts at once; the revalidator
//!   lowers them when the megaflow got new packets and its accumulated
//!   tcp_flags hold FIN or RST (`Ofproto::fin_timeouts`). FLOW_REMOVED
//!   shows the lowered timeouts; flow stats still show the configured ones.
#![forbid(unsafe_code)]

pub mod classifier;
pub mod flow;
pub mod flow_mod;
pub mod group;
pub mod learned;
pub mod meter;
pub mod normal;
pub mod ofproto;
pub mod packet_in;
pub mod prefix;
pub mod recirc;
pub mod rule;
pub mod staged;
pub mod stats;
pub mod trace;
pub mod upcall;
pub mod xlate;

pub use flow::OfFlow;
pub use flow_mod::BundleMsg;
pub use ofproto::{Config, Event, Ofproto, Port, RuleRef, TableMiss, VlanMode};
pub use xlate::{PacketInEvent, Translation, XlateError, XlateOptions};
