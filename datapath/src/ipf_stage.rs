//! Fragment reassembly in front of `ct()`: the datapath side of [`conntrack::ipf`].
//!
//! ```text
//!  exec_actions ── Ct(c) ──► ipf_hold: slots whose key says nw_frag ─► Ipf::offer
//!       │                      held ─► slot leaves the burst (the rest of the list skips it)
//!       │                      complete ─► Pending { datagram, c, actions after the ct }
//!       ▼ exec_ct on what is left of the burst
//!  process / exec_single, after the burst's actions ──► ipf_drain:
//!       for each pending datagram: tracker on the reassembled frame (NAT rewrite applied,
//!       then propagated to the fragments); the verdict (ct_state, zone, mark, label, orig
//!       tuple) copied to every fragment; the fragments, in bursts of ≤ 32 from a reused
//!       buffer pool, run the actions that followed the ct() and recirculate from there.
//! ```
//!
//! Contract: without fragments the cost is one test of the flow key's `nw_frag` per packet
//! in a `ct()` batch and one check of an empty queue per burst: no allocation, no lock.
//! Measured (`examples/ipf_icount.rs`, callgrind, one-packet batches): `ipf_hold` 43
//! instructions per `ct()` call, the drain check 24 per burst before it was inlined — about
//! 0.3 % of a `ct(commit),output` packet-out.
//! Fragments are copied into the reassembler (one allocation each) — the slow path.
//! Fragments the reassembler refuses (malformed, too small, overlapping, over the limits)
//! stay in the burst and the tracker marks them `+trk+inv`, as in Open vSwitch.

use std::collections::VecDeque;

use conntrack::ipf::{Datagram, Offer};

use crate::actions::{Actions, CtAction, DpAction};
use crate::ct::CtItem;
use crate::dp::Shared;
use crate::extract::{PacketMeta, extract, extract_into};
use crate::key::FlowKey;
use crate::packet::{BURST, Packet};
use crate::pipeline::Pipeline;

/// The reassembler type the datapath shares between its threads.
pub type DpIpf = conntrack::ipf::Ipf<PacketMeta>;

/// Lists dropped per maintenance call when they time out.
pub(crate) const EXPIRE_BUDGET: usize = 256;

/// A completed datagram waiting for the end of the burst that completed it.
struct Pending {
    dgram: Datagram<PacketMeta>,
    ct: CtAction,
    /// The actions after the `ct()` that completed it.
    rest: Actions,
}

/// The `ct()` being executed and the actions that follow it in its list.
pub(crate) struct CtSite<'a> {
    pub ct: &'a CtAction,
    pub rest: &'a [DpAction],
}

/// Per-pipeline state: completed datagrams and reused packet buffers.
#[derive(Default)]
pub struct IpfStage {
    pending: VecDeque<Pending>,
    /// Bursts of [`BURST`] buffers, allocated on first use and kept (one per nesting level).
    pool: Vec<Vec<Packet>>,
}

/// Copies the connection-tracking verdict of `from` into `to`.
fn copy_ct(to: &mut PacketMeta, from: &PacketMeta) {
    to.ct_state = from.ct_state;
    to.ct_zone = from.ct_zone;
    to.ct_mark = from.ct_mark;
    to.ct_label = from.ct_label;
    to.ct_nw_proto = from.ct_nw_proto;
    to.ct_nw_src = from.ct_nw_src;
    to.ct_nw_dst = from.ct_nw_dst;
    to.ct_ipv6_src = from.ct_ipv6_src;
    to.ct_ipv6_dst = from.ct_ipv6_dst;
    to.ct_tp_src = from.ct_tp_src;
    to.ct_tp_dst = from.ct_tp_dst;
}

impl Pipeline {
    /// Before `site.ct` on the slots `set`: offers the fragments to the reassembler. Returns
    /// the slots that go on to the tracker (held fragments removed). `site.rest` is the
    /// action list after the `ct()`, which a completed datagram's fragments will run.
    pub(crate) fn ipf_hold(
        &mut self,
        sh: &Shared,
        pkts: &[Packet],
        keys: &[FlowKey; BURST],
        set: u32,
        site: CtSite<'_>,
        now_ns: u64,
    ) -> u32 {
        let CtSite { ct: c, rest } = site;
        if sh.ct.is_none() {
            return set;
        }
        let n = pkts.len().min(BURST);
        let mut frags = 0u32;
        for (i, k) in keys.iter().enumerate().take(n) {
            if set & (1 << i) != 0 && k.nw_frag() != 0 {
                frags |= 1 << i;
            }
        }
        if frags == 0 {
            return set;
        }
        let mut left = set;
        for (i, p) in pkts.iter().enumerate().take(n) {
            if frags & (1 << i) == 0 {
                continue;
            }
            match sh
                .ipf
                .offer(p.data(), p.meta, c.zone, p.meta.recirc_id, now_ns)
            {
                Offer::Pass | Offer::Invalid => {}
                Offer::Held => left &= !(1 << i),
                Offer::Complete(dgram) => {
                    left &= !(1 << i);
                    self.ipf.pending.push_back(Pending {
                        dgram,
                        ct: *c,
                        rest: rest.iter().copied().collect(),
                    });
                }
            }
        }
        left
    }

    /// Sends the datagrams completed during the last actions on their way; `depth` is the
    /// recirculation depth those actions ran at.
    #[inline]
    pub(crate) fn ipf_drain(&mut self, sh: &Shared, depth: u32, now_ns: u64) {
        if !self.ipf.pending.is_empty() {
            self.ipf_drain_pending(sh, depth, now_ns);
        }
    }

    #[cold]
    fn ipf_drain_pending(&mut self, sh: &Shared, depth: u32, now_ns: u64) {
        while let Some(p) = self.ipf.pending.pop_front() {
            self.ipf_send(sh, p, depth, now_ns);
        }
    }

    fn ipf_send(&mut self, sh: &Shared, p: Pending, depth: u32, now_ns: u64) {
        let Pending {
            mut dgram,
            ct: c,
            rest,
        } = p;
        let Some(ct) = sh.ct.as_ref() else {
            return;
        };
        let Some(first) = dgram.frags.first() else {
            return;
        };
        // The reassembled packet carries the first fragment's metadata (as OVS clones it).
        let mut meta = first.ctx;
        let key = extract(&meta, &dgram.frame);
        let rewrite = {
            let mut items = [CtItem {
                frame: &dgram.frame,
                key: &key,
                meta: &mut meta,
                rewrite: Default::default(),
            }];
            ct.execute(&mut items, &c, now_ns);
            items[0].rewrite
        };
        if !rewrite.is_empty() && rewrite.apply_buf(&mut dgram.frame) {
            dgram.propagate_rewrite();
        }
        let mut bufs = self
            .ipf
            .pool
            .pop()
            .unwrap_or_else(|| (0..BURST).map(|_| Packet::new()).collect());
        let mut keys = [FlowKey::default(); BURST];
        for chunk in dgram.frags.chunks(BURST) {
            let n = chunk.len();
            for ((b, f), k) in bufs.iter_mut().zip(chunk).zip(keys.iter_mut()) {
                b.set_data(&f.frame);
                b.meta = f.ctx;
                copy_ct(&mut b.meta, &meta);
                extract_into(k, &b.meta, b.data());
            }
            let set = if n == BURST {
                u32::MAX
            } else {
                (1u32 << n) - 1
            };
            let r = self.exec_actions(sh, &mut bufs[..n], &keys, set, &rest, now_ns);
            self.ipf_drain(sh, depth, now_ns);
            self.process(sh, &mut bufs[..n], r, depth + 1, now_ns);
        }
        self.ipf.pool.push(bufs);
    }
}
