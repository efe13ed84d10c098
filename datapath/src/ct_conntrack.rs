//! [`ConnTracker`] for the `conntrack` crate's [`Conntrack`].
//!
//! Each item becomes a [`CtPacket`] (L3/L4 offsets derived from the frame)
//! carrying the packet's current ct metadata, so a second `ct()` in the same
//! zone after recirculation sees the first one's result. NAT and ALG requests
//! are passed on; the NAT rewrite comes back in [`CtItem::rewrite`] and the
//! executor applies it to the packet (see [`apply_rewrite`]).

use std::net::IpAddr;

use conntrack::{Conntrack, CtMeta, CtOpts, CtPacket, CtState, OrigTuple};
use smallvec::SmallVec;

use crate::actions::CtAction;
use crate::ct::{ConnTracker, CtItem, SweepStep};
use crate::extract::PacketMeta;
use crate::packet::{BURST, Packet};

/// Table slots a forwarding thread's [`ConnTracker::sweep_step`] visits (~64 slot checks and
/// at most [`conntrack::REMOVE_BATCH`] unlinks under one write-lock try: a few microseconds).
const SWEEP_STEP_SLOTS: usize = 64;

fn meta_to_ct(m: &PacketMeta) -> CtMeta {
    let orig = if m.ct_state & crate::key::ct_state::TRK != 0 && m.ct_nw_proto != 0 {
        let (src, dst) = if m.ct_ipv6_src != 0 || m.ct_ipv6_dst != 0 {
            (
                IpAddr::from(m.ct_ipv6_src.to_be_bytes()),
                IpAddr::from(m.ct_ipv6_dst.to_be_bytes()),
            )
        } else {
            (
                IpAddr::from(m.ct_nw_src.to_be_bytes()),
                IpAddr::from(m.ct_nw_dst.to_be_bytes()),
            )
        };
        Some(OrigTuple {
            src,
            dst,
            src_port: m.ct_tp_src,
            dst_port: m.ct_tp_dst,
            proto: m.ct_nw_proto,
        })
    } else {
        None
    };
    CtMeta {
        state: CtState(m.ct_state),
        zone: m.ct_zone,
        mark: m.ct_mark,
        label: m.ct_label,
        orig,
    }
}

fn ct_to_meta(c: &CtMeta, m: &mut PacketMeta) {
    crate::ct::clear_ct(m);
    m.ct_state = c.state.bits();
    m.ct_zone = c.zone;
    m.ct_mark = c.mark;
    m.ct_label = c.label;
    if let Some(o) = c.orig {
        m.ct_nw_proto = o.proto;
        m.ct_tp_src = o.src_port;
        m.ct_tp_dst = o.dst_port;
        match (o.src, o.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                m.ct_nw_src = u32::from(s);
                m.ct_nw_dst = u32::from(d);
            }
            (s, d) => {
                m.ct_ipv6_src = match s {
                    IpAddr::V6(a) => u128::from(a),
                    IpAddr::V4(a) => u128::from(a.to_ipv6_mapped()),
                };
                m.ct_ipv6_dst = match d {
                    IpAddr::V6(a) => u128::from(a),
                    IpAddr::V4(a) => u128::from(a.to_ipv6_mapped()),
                };
            }
        }
    }
}

impl ConnTracker for Conntrack {
    fn execute(&self, batch: &mut [CtItem<'_>], act: &CtAction, now_ns: u64) {
        let opts = CtOpts {
            zone: act.zone,
            commit: act.commit,
            force: act.force,
            set_mark: act.mark,
            set_label: act.label,
            nat: act.nat,
            alg: act.alg,
        };
        for chunk in batch.chunks_mut(BURST) {
            let mut pkts: SmallVec<[CtPacket<'_>; BURST]> = SmallVec::new();
            for it in chunk.iter() {
                let mut p = CtPacket::derive(it.frame);
                p.md = meta_to_ct(it.meta);
                pkts.push(p);
            }
            Conntrack::execute(self, &mut pkts, &opts, now_ns);
            for (it, p) in chunk.iter_mut().zip(pkts.iter()) {
                ct_to_meta(&p.md, it.meta);
                it.rewrite = p.rewrite;
            }
        }
    }

    fn sweep_step(&self, now_ns: u64) -> SweepStep {
        let r = self.sweep(now_ns, SWEEP_STEP_SLOTS);
        SweepStep {
            examined: r.examined,
            dead: r.dead,
            near_limit: r.near_limit,
        }
    }

    fn maintain(&self, _now_ns: u64) {
        // Frees what the steps unlinked (and shrinks emptied tables) off the forwarding
        // threads; the first call makes the steps leave that work here.
        self.free_unlinked();
    }
}

/// The datapath packet buffer as a resizable frame (growth uses the headroom).
struct PacketFrame<'a>(&'a mut Packet);

impl conntrack::FrameBuf for PacketFrame<'_> {
    fn frame(&mut self) -> &mut [u8] {
        self.0.data_mut()
    }

    fn splice(&mut self, at: usize, old_len: usize, new_len: usize) -> bool {
        if at.checked_add(old_len).is_none_or(|e| e > self.0.len()) {
            return false;
        }
        if new_len > old_len {
            self.0.insert_gap(at + old_len, new_len - old_len)
        } else {
            self.0.remove_gap(at + new_len, old_len - new_len)
        }
    }
}

/// Applies a tracker's NAT rewrite to `p`. False if the frame could not be rewritten (then it
/// is unchanged).
pub fn apply_rewrite(p: &mut Packet, rw: &conntrack::NatRewrite) -> bool {
    rw.is_empty() || rw.apply_buf(&mut PacketFrame(p))
}
