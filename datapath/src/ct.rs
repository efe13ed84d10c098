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
}

/// A connection tracker. Must not panic on any frame.
pub trait ConnTracker: Send + Sync {
    /// Tracks every item of `batch` under `act` (zone, commit, mark, label, nat).
    fn execute(&self, batch: &mut [CtItem<'_>], act: &CtAction, now_ns: u64);

    /// Housekeeping (expiry), called about every 100 ms by a handler thread.
    fn maintain(&self, _now_ns: u64) {}
}
