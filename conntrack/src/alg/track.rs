//! Where the ALG meets the tracker: the calls `conntrack.rs` makes on its not-found path (an
//! expectation lookup), when it creates a connection (its ALG state), and for every packet of
//! a connection that has ALG state (the helper itself), all with the entry locked (the ALG
//! state's own lock is taken only inside the entry's).

use std::net::IpAddr;
use std::sync::Arc;

use super::expect::{Expectation, announce};
use super::{AlgEdit, ConnAlg, DataNat, Helper, TextEdit, data_nat, ftp_outcome, tftp_outcome};
use crate::conntrack::Conntrack;
use crate::key::{ConnKey, IPPROTO_TCP, IPPROTO_UDP};
use crate::meta::{CtMeta, CtOpts, CtPacket, CtState};
use crate::nat::{Alg, NatKind};
use crate::parse::Extracted;
use crate::table::{Conn, ConnExt, ConnInner, NAT_DST, NAT_SRC};

/// The helper `opts` asks for on a new connection with key `key`: FTP on TCP, TFTP on UDP
/// (OpenFlow refuses `alg=ftp` on a flow that is not TCP, `alg=tftp` on one not UDP).
fn helper_for(opts: &CtOpts, key: &ConnKey) -> Option<Helper> {
    match (opts.alg?, key.proto()) {
        (Alg::Ftp, IPPROTO_TCP) => Some(Helper::Ftp),
        (Alg::Tftp, IPPROTO_UDP) => Some(Helper::Tftp),
        _ => None,
    }
}

/// The ALG part of a connection being created by `opts` and, if `exp` is given, from that
/// expectation (goes into the entry before it is linked: nobody else sees it yet); `None` for
/// a connection without one.
#[inline]
pub(crate) fn conn_ext(
    opts: &CtOpts,
    key: &ConnKey,
    exp: Option<&Expectation>,
) -> Option<Box<ConnExt>> {
    if opts.alg.is_some() || exp.is_some() {
        conn_ext_alg(opts, key, exp)
    } else {
        None
    }
}

#[inline(never)]
fn conn_ext_alg(opts: &CtOpts, key: &ConnKey, exp: Option<&Expectation>) -> Option<Box<ConnExt>> {
    let helper = helper_for(opts, key);
    if helper.is_none() && exp.is_none() {
        return None;
    }
    Some(Box::new(ConnExt {
        nat: None,
        alg: Some(Box::new(ConnAlg {
            helper,
            parent: exp.map(|e| e.parent_key),
            ..ConnAlg::default()
        })),
    }))
}

/// A connection made from `exp` starts with the parent's mark and label (called before it
/// is linked).
#[inline(never)]
pub(crate) fn inherit_md(conn: &Conn, exp: &Expectation) {
    let mut inner = conn.inner.lock();
    inner.mark = exp.mark;
    inner.set_label(exp.label);
}

/// The parent key of a connection made from an expectation (its packets report the parent's
/// tuple as their original tuple, and `ct_mark`/`ct_label` writes leave it alone).
#[inline(always)]
pub(crate) fn parent_of(conn: &Conn) -> Option<&ConnKey> {
    conn.alg()?.parent.as_ref()
}

/// Metadata of a packet that matched `exp` but created no connection (not committed, or a
/// limit was reached): the parent's mark, label and tuple, as OVS's `write_ct_md`.
pub(crate) fn expected_md(md: &mut CtMeta, exp: &Expectation) {
    md.mark = exp.mark;
    md.label = exp.label;
    md.orig = Some(exp.parent_key.orig_tuple());
}

/// The TCP payload (and its offset in `data`) of the segment whose L4 header is at `l4_ofs`.
fn tcp_payload(data: &[u8], l4_ofs: u16, payload_len: u32) -> Option<(usize, &[u8])> {
    let l4 = usize::from(l4_ofs);
    let doff = usize::from(*data.get(l4 + 12)? >> 4) * 4;
    let start = l4 + doff;
    let p = data.get(start..start.checked_add(payload_len as usize)?)?;
    Some((start, p))
}

impl Conntrack {
    /// The live expectation a new connection with key `key` fulfils, if any (one atomic load
    /// when there are none).
    #[inline]
    pub(crate) fn alg_expected(
        &self,
        key: &ConnKey,
        now_ns: u64,
    ) -> Option<(ConnKey, Expectation)> {
        self.expectations.lookup(key, now_ns)
    }

    /// Consumes the expectation `wk` (`exp`) once a connection has been created from it.
    pub(crate) fn alg_consume(&self, wk: &ConnKey, exp: &Expectation) {
        self.expectations.remove_if_parent(wk, &exp.parent);
    }

    /// Number of stored expectations (live or not yet purged).
    pub fn expectation_count(&self) -> usize {
        self.expectations.len()
    }

    /// Runs the ALG part of a packet of `conn` (entry locked as `inner`, which has ALG state),
    /// after the state update and the metadata were written: `+rel` on connections made from
    /// an expectation, and the connection's helper. `opts.nat` set: this `ct()` translates the
    /// packet, so an FTP helper also rewrites addresses in the payload and adjusts sequence
    /// numbers (the edit goes to `pkt.rewrite`, applied by the caller).
    #[allow(clippy::too_many_arguments)]
    #[inline(never)]
    pub(crate) fn alg_packet(
        &self,
        pkt: &mut CtPacket<'_>,
        conn: &Arc<Conn>,
        inner: &mut ConnInner,
        ex: &Extracted,
        reply: bool,
        opts: &CtOpts,
        now_ns: u64,
    ) {
        if pkt.md.state.contains(CtState::INVALID) {
            return;
        }
        let inherit = (inner.mark, inner.label());
        let Some(a) = conn.alg() else {
            return;
        };
        if a.parent.is_some() {
            pkt.md.state |= CtState::RELATED;
        }
        if ex.related {
            // An ICMP error quoting the connection: nothing for a helper to read.
            return;
        }
        // Taken inside the entry's mutex (`inner`), the one lock order.
        let mut st = a.state.lock();
        let reply_key = conn.reply_key();
        match a.helper {
            None => {}
            Some(Helper::Tftp) => {
                if let Some(wk) = tftp_outcome(&conn.key, &reply_key, reply) {
                    let mut nat = data_nat(&conn.key, &reply_key, true);
                    if let Some(n) = nat.as_mut().filter(|n| n.kind == NatKind::Dst) {
                        let port = conn.key.src_port();
                        n.port = (port != reply_key.dst_port()).then_some(port);
                    }
                    announce(
                        &self.expectations,
                        conn,
                        &mut st.recent,
                        wk,
                        inherit,
                        nat,
                        now_ns,
                    );
                }
            }
            Some(Helper::Ftp) => {
                // Translated by this ct() (not already earlier in the zone: then the payload
                // and the numbers are already the receiver's).
                let translate = opts.nat.is_some() && !ex.natted;
                let dir = usize::from(reply);
                let mut text = None;
                let seg = tcp_payload(pkt.data, pkt.l4_ofs, ex.tcp.payload_len);
                if let Some((payload_ofs, payload)) = seg.filter(|(_, p)| !p.is_empty()) {
                    let out = ftp_outcome(&conn.key, &reply_key, reply, payload, translate);
                    if let Some(o) = out {
                        let nat = data_nat(&conn.key, &reply_key, o.active);
                        announce(
                            &self.expectations,
                            conn,
                            &mut st.recent,
                            o.expect,
                            inherit,
                            nat,
                            now_ns,
                        );
                        if let Some((span, kind, addr)) = o.rewrite {
                            let new_len = super::ftp::addr_text(kind, addr).len();
                            let delta = new_len as i32 - span.len() as i32;
                            st.seqadj[dir].record(ex.tcp.seq, delta);
                            text = Some(TextEdit {
                                at: (payload_ofs + span.start) as u16,
                                old_len: span.len() as u8,
                                kind,
                                addr,
                            });
                        }
                    }
                }
                if translate {
                    let own = &st.seqadj[dir];
                    let acked = st.seqadj[1 - dir];
                    if text.is_some() || own.is_active() || acked.is_active() {
                        let seq = ex.tcp.seq;
                        pkt.rewrite.set_alg(AlgEdit {
                            l3_ofs: pkt.l3_ofs,
                            l4_ofs: pkt.l4_ofs,
                            v6: conn.key.is_ipv6(),
                            text,
                            seq_off: own.adjust_seq(seq).wrapping_sub(seq) as i32,
                            acked,
                        });
                    }
                }
            }
        }
    }
}

/// The segment facts the TCP state machine should see for a packet of a connection with ALG
/// state: when this `ct()` translates (`nat`) and the data the packet acknowledges was
/// resized by an earlier rewrite, its acknowledgement is brought back to the numbering the
/// connection's other side uses, so that the tracker compares like with like (the sender's
/// own sequence numbers are tracked as sent). `None`: use the packet's own. Called with the
/// entry's mutex held.
#[inline(never)]
pub(crate) fn tracked_seg(
    conn: &Conn,
    ex: &Extracted,
    reply: bool,
    nat: bool,
) -> Option<Extracted> {
    let a = conn.alg()?;
    let acked = a.state.lock().seqadj[1 - usize::from(reply)];
    if !nat || ex.natted || !acked.is_active() || ex.tcp.flags & crate::parse::TCP_ACK == 0 {
        return None;
    }
    let mut e = *ex;
    e.tcp.ack = acked.adjust_ack(ex.tcp.ack);
    Some(e)
}

/// The reply key of a data connection `key` translated as `dn` says.
fn data_reply_key(key: &ConnKey, dn: &DataNat) -> ConnKey {
    let r = key.reverse();
    let (mut src, mut dst) = (r.src_addr(), r.dst_addr());
    let (mut sport, mut dport) = (r.src_port(), r.dst_port());
    match dn.kind {
        // The destination is translated: replies come from the new one.
        NatKind::Dst => {
            src = dn.addr;
            sport = dn.port.unwrap_or(sport);
        }
        // The source is translated: replies go to the new one.
        NatKind::Src => {
            dst = dn.addr;
            dport = dn.port.unwrap_or(dport);
        }
    }
    let k = match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => ConnKey::ipv4(s, d, key.proto(), sport, dport),
        (IpAddr::V6(s), IpAddr::V6(d)) => ConnKey::ipv6(s, d, key.proto(), sport, dport),
        // A family mix cannot be built; the reversed key (no translation) is refused by
        // the caller's link as equal to the original.
        _ => return r,
    };
    k.with_zone(key.zone())
}

impl Conntrack {
    /// Links a connection made from an expectation that carries a translation (the
    /// control connection is NATed and this `ct()` has `nat`): its reply key is fixed by the
    /// expectation, not allocated (OVS's `conn_not_found` with `alg_exp`).
    pub(crate) fn alg_nat_link(
        &self,
        conn: &mut Arc<Conn>,
        hash: u64,
        dn: &DataNat,
        now_ns: u64,
    ) -> crate::nat_alloc::Link {
        let reply = data_reply_key(&conn.key, dn);
        let kinds = match dn.kind {
            NatKind::Src => NAT_SRC,
            NatKind::Dst => NAT_DST,
        };
        self.nat_link(conn, hash, kinds, std::iter::once(reply), now_ns)
    }
}
