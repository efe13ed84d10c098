//! The `ct()` action's boundary: a connection tracker the datapath calls.
//!
//! [`ConnTracker`] is what the executor needs; [`conntrack::Conntrack`]
//! implements it (see `ct_conntrack.rs`), and tests can plug in their own.

use crate::actions::CtAction;
use crate::extract::PacketMeta;
use crate::key::FlowKey;

/// One packet handed to the tracker.
pub struct CtItem<'a> {
    /// The Ethernet frame.
    pub frame: &'a [u8],
    /// Its flow key (as extracted before this `ct()`).
    pub key: &'a FlowKey,
    /// In-out: the tracker sets ct_state/zone/mark/label and the original tuple.
    pub meta: &'a mut PacketMeta,
    /// Output: the NAT rewrite the tracker decided (empty if none); the executor applies it
    /// to the frame once the batch is done.
    pub rewrite: conntrack::NatRewrite,
}

/// `ct_clear`: the packet becomes untracked (state, zone, mark, label, original tuple zeroed).
pub fn clear_ct(m: &mut PacketMeta) {
    m.ct_state = 0;
    m.ct_zone = 0;
    m.ct_mark = 0;
    m.ct_label = 0;
    m.ct_nw_proto = 0;
    m.ct_nw_src = 0;
    m.ct_nw_dst = 0;
    m.ct_ipv6_src = 0;
    m.ct_ipv6_dst = 0;
    m.ct_tp_src = 0;
    m.ct_tp_dst = 0;
}

/// What one [`ConnTracker::sweep_step`] found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SweepStep {
    /// Entries looked at.
    pub examined: usize,
    /// Entries found past their deadline (unlinked, or left for a later step).
    pub dead: usize,
    /// The table is at or near its connection limit (dead entries not yet unlinked
    /// included), or a zone limit refused a connection since the previous step: the pacer
    /// does not back off then, so that expired entries stop holding slots new connections
    /// are refused for within a few seconds (review L2).
    pub near_limit: bool,
}

/// A connection tracker. Must not panic on any frame.
pub trait ConnTracker: Send + Sync {
    /// Tracks every item of `batch` under `act` (zone, commit, mark, label, nat).
    fn execute(&self, batch: &mut [CtItem<'_>], act: &CtAction, now_ns: u64);

    /// A small bounded slice of expiry work, called by the forwarding threads between
    /// batches (see `forward_loop`): it must never block, and its work must be bounded (a
    /// few microseconds). What it found paces the next call: right away while it finds dead
    /// entries; while it finds only live ones, from every 250 µs backing off to every
    /// 3.125 ms (the pacer in `dp.rs`), less often when it finds none. Default: nothing to
    /// do.
    fn sweep_step(&self, _now_ns: u64) -> SweepStep {
        SweepStep::default()
    }

    /// Housekeeping behind the forwarding threads' [`Self::sweep_step`]s (e.g. freeing what
    /// they unlinked, giving memory back), called every few milliseconds by the datapath's
    /// housekeeping thread, and once before the forwarding threads start.
    fn maintain(&self, _now_ns: u64) {}
}
