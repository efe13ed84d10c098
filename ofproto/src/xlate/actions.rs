//! Executing OpenFlow actions during translation.

use datapath::actions::Alg;
use datapath::{CtAction, DpAction, NatKind, NatSpec};
use ofp_codec::action::port::{
    OFPP_ALL, OFPP_ANY, OFPP_CONTROLLER, OFPP_FLOOD, OFPP_IN_PORT, OFPP_LOCAL, OFPP_NORMAL,
    OFPP_TABLE,
};
use ofp_codec::action::{
    Ct, CtZone, NX_CT_F_COMMIT, NX_CT_F_FORCE, NX_CT_RECIRC_NONE, NX_NAT_F_DST,
    NX_NAT_F_PERSISTENT, NX_NAT_F_PROTO_HASH, NX_NAT_F_PROTO_RANDOM, NX_NAT_F_SRC, Nat, NatAddrs,
    Subfield,
};
use ofp_codec::field::Prereq;
use ofp_codec::{Action, Field};

use super::{OFPR_NO_MATCH, Xlate};
use crate::flow::KeyExt;
use crate::recirc::PinContext;
use crate::trace::NodeKind;

/// `OFPR_INVALID_TTL`.
const OFPR_INVALID_TTL: u8 = 2;
/// `NX_LEARN_F_SEND_FLOW_REM` (not re-exported by the codec).
const NX_LEARN_F_SEND_FLOW_REM: u16 = 1;

pub(crate) fn ones128(bits: u16) -> u128 {
    if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    }
}

fn be(bytes: &[u8]) -> u128 {
    bytes.iter().fold(0u128, |a, &b| (a << 8) | u128::from(b))
}

impl Xlate<'_> {
    /// Runs an action list. Stops early on `exit`, an error, or a TTL
    /// exception (which ends the current list, as in OVS).
    pub(crate) fn do_actions(&mut self, acts: &[Action]) {
        for (i, a) in acts.iter().enumerate() {
            if self.pausing() {
                // `controller(pause)` ran (here or deeper): freeze the rest.
                self.freeze_rest(&acts[i..]);
                return;
            }
            if self.pipe.exit || self.out.error.is_some() {
                return;
            }
            if self.tracing() && !matches!(a, Action::Conjunction { .. }) {
                self.report(
                    NodeKind::Action,
                    ofp_codec::action::format_actions(std::slice::from_ref(a)),
                );
            }
            if !self.do_action(a) {
                return;
            }
        }
    }

    /// Returns false to stop the current action list.
    fn do_action(&mut self, a: &Action) -> bool {
        match a {
            Action::Output { port, max_len } => self.output(*port, *max_len),
            Action::OutputReg { src, max_len, .. } => {
                let port = self.read_subfield(src) as u32;
                self.output(port, *max_len);
            }
            Action::Group(g) => self.group(*g),
            Action::SetField(sf) => {
                let (v, m) = (be(&sf.value), be(&sf.mask));
                self.set_field(sf.field, v, m);
            }
            Action::Move { src, dst }
                if self.prereqs_ok(src.field) && self.prereqs_ok(dst.field) =>
            {
                let v = self.read_subfield(src);
                self.write_subfield(dst, v);
                self.report_subfield(dst);
            }
            Action::Resubmit(r) => {
                let old_in = self.pkt.flow.get(Field::InPort);
                if r.in_port != OFPP_IN_PORT {
                    self.pkt.flow.set(Field::InPort, u128::from(r.in_port));
                }
                let table = if r.table == 0xff {
                    self.pipe.table_id
                } else {
                    r.table
                };
                if r.with_ct_orig {
                    self.resubmit_ct_orig(table);
                } else {
                    self.xlate_table(table, false);
                }
                self.pkt.flow.set(Field::InPort, old_in);
            }
            Action::Controller(c) => {
                let ctx =
                    self.pin_context(c.reason, c.controller_id, c.max_len, c.userdata.clone());
                if c.pause {
                    self.pause(ctx, c.reason);
                } else {
                    self.controller(ctx);
                }
            }
            Action::DecTtl { ids, .. } => return self.dec_ttl(ids),
            Action::SetNwTtl(ttl) if self.pkt.flow.key().is_ip_any() => {
                self.pkt.wc.unwildcard(Field::NwTtl);
                self.pkt.wc.unwildcard(Field::IpProto);
                self.pkt.flow.set(Field::NwTtl, u128::from(*ttl));
            }
            Action::PushVlan(tpid) => self.push_vlan(*tpid),
            Action::PopVlan => self.pop_vlan(),
            Action::Ct(ct) => self.ct(ct),
            Action::CtClear => self.ct_clear(),
            Action::Learn(l) => {
                self.learn(l);
                if !self.opts.side_effects {
                    self.report(
                        NodeKind::Warn,
                        "suppressing side effects, so learn action ignored".into(),
                    );
                }
            }
            Action::FinTimeout {
                idle_timeout_s,
                hard_timeout_s,
            } => self.fin_timeout(*idle_timeout_s, *hard_timeout_s),
            Action::Exit => {
                self.pipe.exit = true;
                return false;
            }
            Action::Note(_) | Action::Conjunction { .. } | Action::SetQueue(_) => {}
            Action::Nat(_) => {}
            Action::PushMpls(_)
            | Action::PopMpls(_)
            | Action::SetMplsTtl(_)
            | Action::DecMplsTtl => {
                self.report(
                    NodeKind::Warn,
                    "MPLS is not supported by the rvs datapath, action skipped".into(),
                );
            }
            Action::OutputTrunc { port, max_len } => self.output_trunc(*port, *max_len),
            Action::Clone(nested) => self.clone_actions(nested),
            Action::StackPush(src) => self.stack_push(src),
            Action::StackPop(dst) => self.stack_pop(dst),
            // Actions without a datapath effect here (pop_queue, fin_timeout, ...,
            // and sample: rvs has no IPFIX collector sets, and OVS samples
            // nothing without one). Flows with multipath, bundle or
            // check_pkt_larger are refused at install time (flow_mod.rs).
            _ => {}
        }
        true
    }

    // ---- fields ----

    /// OVS's `mf_are_prereqs_ok` on the flow, un-wildcarding what it reads.
    pub(crate) fn prereqs_ok(&mut self, field: Field) -> bool {
        let k = self.pkt.flow.key();
        let proto = k.nw_proto();
        let need_proto = |x: &mut Self, p: u8| {
            x.pkt.wc.unwildcard(Field::IpProto);
            k.is_ip_any() && proto == p
        };
        match field.prereq() {
            Prereq::None | Prereq::Ethernet => true,
            Prereq::Arp => matches!(k.eth_type(), 0x0806 | 0x8035),
            Prereq::Ipv4 => k.eth_type() == 0x0800,
            Prereq::Ipv6 => k.eth_type() == 0x86dd,
            Prereq::IpAny => k.is_ip_any(),
            Prereq::VlanVid => {
                self.pkt.wc.or_field(Field::VlanTci, 0x1000);
                k.vlan0_tci() & 0x1000 != 0
            }
            Prereq::Mpls => false,
            Prereq::Tcp => need_proto(self, 6),
            Prereq::Udp => need_proto(self, 17),
            Prereq::Sctp => need_proto(self, 132),
            Prereq::Icmpv4 => k.eth_type() == 0x0800 && need_proto(self, 1),
            Prereq::Icmpv6 | Prereq::Nd | Prereq::NdSolicit | Prereq::NdAdvert => {
                k.eth_type() == 0x86dd && need_proto(self, 58)
            }
            Prereq::Ct => true,
        }
    }

    pub(crate) fn read_subfield(&mut self, sf: &Subfield) -> u128 {
        let m = ones128(sf.n_bits) << sf.ofs;
        self.pkt.wc.or_field(sf.field, m);
        (self.pkt.flow.get(sf.field) >> sf.ofs) & ones128(sf.n_bits)
    }

    pub(crate) fn write_subfield(&mut self, sf: &Subfield, v: u128) {
        let m = ones128(sf.n_bits) << sf.ofs;
        self.set_field(sf.field, v << sf.ofs, m);
    }

    fn set_field(&mut self, field: Field, value: u128, mask: u128) {
        if !self.prereqs_ok(field) {
            return;
        }
        let tagged = self.pkt.flow.get(Field::VlanTci) & 0x1000 != 0;
        match field {
            Field::VlanVid | Field::VlanPcp | Field::VlanTci if !tagged => return,
            // Keep the "tag present" bit.
            Field::VlanVid => {
                let m = mask & 0x0fff;
                self.pkt.wc.or_field(Field::VlanTci, m);
                self.pkt.flow.set_masked(Field::VlanTci, value, m);
                return;
            }
            Field::VlanTci => {
                let m = mask & !0x1000;
                self.pkt.wc.or_field(Field::VlanTci, m);
                self.pkt.flow.set_masked(Field::VlanTci, value, m);
                return;
            }
            _ => {}
        }
        self.pkt.wc.or_field(field, mask);
        self.pkt.flow.set_masked(field, value, mask);
    }

    // ---- output ----

    pub(crate) fn output(&mut self, port: u32, max_len: u16) {
        let in_port = self.pkt.flow.get(Field::InPort) as u32;
        match port {
            OFPP_IN_PORT => self.emit_output(in_port),
            OFPP_NORMAL => self.normal(),
            OFPP_FLOOD | OFPP_ALL => {
                let ports: Vec<u32> = self
                    .of
                    .ports
                    .values()
                    .filter(|p| p.ofp_port != in_port && (port == OFPP_ALL || !p.no_flood))
                    .map(|p| p.ofp_port)
                    .collect();
                for p in ports {
                    self.emit_output(p);
                }
            }
            OFPP_CONTROLLER => {
                let ctx = self.pin_context(ofp_codec::action::OFPR_ACTION, 0, max_len, Vec::new());
                self.controller(ctx);
            }
            // Only a packet-out's actions may send to TABLE (flows are refused).
            OFPP_TABLE => self.xlate_table(0, false),
            OFPP_LOCAL if self.of.ports.contains_key(&OFPP_LOCAL) => self.emit_output(OFPP_LOCAL),
            p if p == in_port => {
                self.report(NodeKind::Warn, "skipping output to input port".into())
            }
            p if self.of.ports.contains_key(&p) => self.emit_output(p),
            _ => self.report(NodeKind::Warn, "Nonexistent output port".into()),
        }
    }

    pub(crate) fn emit_output(&mut self, port: u32) {
        self.commit();
        self.emit(DpAction::Output(port));
    }

    /// `output(port=N,max_len=M)`: a datapath `trunc` followed by the output,
    /// on the ports OVS allows (`xlate_output_trunc_action`); the datapath
    /// truncates only that next output.
    fn output_trunc(&mut self, port: u32, max_len: u32) {
        let in_port = self.pkt.flow.get(Field::InPort) as u32;
        match port {
            OFPP_TABLE | OFPP_NORMAL | OFPP_FLOOD | OFPP_ALL | OFPP_CONTROLLER | OFPP_ANY => {
                let mut name = String::new();
                ofp_codec::action::format_port(port, &mut name);
                let msg = format!("output_trunc does not support port: {name}");
                self.report(NodeKind::Warn, msg);
            }
            p if p == in_port => {
                self.report(NodeKind::Warn, "skipping output to input port".into())
            }
            p if self.of.ports.contains_key(&p) => {
                self.commit();
                self.emit(DpAction::Trunc(max_len));
                self.emit(DpAction::Output(p));
            }
            p => {
                let msg = format!("output_trunc does not support patch port {p}");
                self.report(NodeKind::Warn, msg);
            }
        }
    }

    /// `clone(...)`: the nested actions run on a copy of the packet. The flow
    /// is restored afterwards, so the next output re-commits whatever the
    /// clone changed (OVS's reversible case). A clone holding `ct`, `nat` or
    /// `output_trunc` would need a datapath clone action, which rvs's
    /// datapath lacks: it is skipped with an error report, as OVS does on a
    /// datapath without clone support.
    fn clone_actions(&mut self, acts: &[Action]) {
        let irreversible = acts.iter().any(|a| {
            matches!(
                a,
                Action::Ct(_) | Action::Nat(_) | Action::OutputTrunc { .. }
            )
        });
        if irreversible {
            self.report(NodeKind::Warn, "Failed to compose clone action".into());
            return;
        }
        let saved = self.pkt.flow;
        // The clone works on a copy of the field stack too (OVS's
        // `clone_xlate_actions`); a pause inside freezes the copy.
        let saved_stack = self.pipe.stack.clone();
        self.do_actions(acts);
        // A pause inside ends at the clone, as in OVS (`pause.rs`).
        self.pause_boundary();
        self.pkt.flow = saved;
        self.pipe.stack = saved_stack;
    }

    // ---- controller ----

    pub(crate) fn pin_context(
        &self,
        reason: u8,
        controller_id: u16,
        max_len: u16,
        userdata: Vec<u8>,
    ) -> PinContext {
        let reason = if reason == ofp_codec::action::OFPR_ACTION && self.pipe.in_miss_rule {
            OFPR_NO_MATCH
        } else {
            reason
        };
        PinContext {
            reason,
            table_id: self.pipe.table_id,
            cookie: self.pipe.cookie,
            controller_id,
            max_len,
            userdata,
            regs: self.pkt.flow.regs(),
            metadata: self.pkt.flow.get(Field::Metadata) as u64,
            // The flow's ct fields are the packet's at the start of this pass
            // and are cleared by `ct` and `ct_clear`; at recirc_id 0 nothing
            // is tracked. (The recirc_id in every megaflow pins this down.)
            conntracked: self.pkt.flow.get(Field::CtState) & u128::from(CT_STATE_TRK) != 0,
        }
    }

    pub(crate) fn controller(&mut self, ctx: PinContext) {
        self.commit();
        let userdata = self.of.pins.lock().intern(ctx);
        self.emit(DpAction::Userspace { userdata });
    }

    fn dec_ttl(&mut self, ids: &[u16]) -> bool {
        // As OVS: nw_ttl and nw_proto are un-wildcarded even for non-IP.
        self.pkt.wc.unwildcard(Field::NwTtl);
        self.pkt.wc.unwildcard(Field::IpProto);
        let k = self.pkt.flow.key();
        if !k.is_ip_any() {
            return true;
        }
        let ttl = k.nw_ttl();
        if ttl > 1 {
            self.pkt.flow.set(Field::NwTtl, u128::from(ttl - 1));
            return true;
        }
        let v = if k.eth_type() == 0x0800 { 4 } else { 6 };
        self.report(NodeKind::Warn, format!("IPv{v} decrement TTL exception"));
        let ids: &[u16] = if ids.is_empty() { &[0] } else { ids };
        for &id in ids {
            let ctx = self.pin_context(OFPR_INVALID_TTL, id, u16::MAX, Vec::new());
            self.controller(ctx);
        }
        false
    }

    // ---- VLAN ----

    fn push_vlan(&mut self, tpid: u16) {
        self.pkt.wc.unwildcard(Field::VlanTci);
        let mut k = self.pkt.flow.key();
        if k.vlan0_tci() & 0x1000 != 0 {
            k.set_vlan1_tpid(k.vlan0_tpid());
            k.set_vlan1_tci(k.vlan0_tci());
        }
        k.set_vlan0_tpid(tpid);
        k.set_vlan0_tci(0x1000);
        self.set_key(&k);
    }

    fn pop_vlan(&mut self) {
        self.pkt.wc.unwildcard(Field::VlanTci);
        let mut k = self.pkt.flow.key();
        k.set_vlan0_tpid(k.vlan1_tpid());
        k.set_vlan0_tci(k.vlan1_tci());
        k.set_vlan1_tpid(0);
        k.set_vlan1_tci(0);
        self.set_key(&k);
    }

    /// Replaces the datapath part of the flow.
    pub(crate) fn set_key(&mut self, k: &datapath::key::FlowKey) {
        let n = k.w.len();
        self.pkt.flow.w[..n].copy_from_slice(&k.w);
    }

    // ---- conntrack ----

    fn ct(&mut self, ct: &Ct) {
        // rvs: the connection tracker takes the L3/L4 type from the flow.
        self.pkt.wc.unwildcard(Field::EthType);
        self.pkt.wc.unwildcard(Field::IpProto);
        self.commit();
        let zone = match &ct.zone {
            CtZone::Imm(z) => *z,
            CtZone::Field(sf) => self.read_subfield(sf) as u16,
        };
        let mut action = CtAction {
            zone,
            commit: ct.flags & (NX_CT_F_COMMIT | NX_CT_F_FORCE) != 0,
            force: ct.flags & NX_CT_F_FORCE != 0,
            alg: Alg::from_port(ct.alg),
            ..Default::default()
        };
        if ct.actions.is_empty() {
            self.report(NodeKind::Action, "drop".into());
        }
        for a in &ct.actions {
            if self.tracing() {
                self.report(
                    NodeKind::Action,
                    ofp_codec::action::format_actions(std::slice::from_ref(a)),
                );
            }
            match a {
                Action::SetField(sf) if sf.field == Field::CtMark => {
                    let (v, m) = (be(&sf.value) as u32, be(&sf.mask) as u32);
                    let (ov, om) = action.mark.unwrap_or((0, 0));
                    action.mark = Some(((ov & !m) | (v & m), om | m));
                }
                Action::SetField(sf) if sf.field == Field::CtLabel => {
                    let (v, m) = (be(&sf.value), be(&sf.mask));
                    let (ov, om) = action.label.unwrap_or((0, 0));
                    action.label = Some(((ov & !m) | (v & m), om | m));
                }
                // `exec(move:SRC->NXM_NX_CT_MARK[..])` / `->NXM_NX_CT_LABEL[..]`:
                // the source is read from the packet's flow now.
                Action::Move { src, dst }
                    if matches!(dst.field, Field::CtMark | Field::CtLabel)
                        && self.prereqs_ok(src.field) =>
                {
                    let m = ones128(dst.n_bits) << dst.ofs;
                    let v = (self.read_subfield(src) << dst.ofs) & m;
                    if dst.field == Field::CtMark {
                        let (v, m) = (v as u32, m as u32);
                        let (ov, om) = action.mark.unwrap_or((0, 0));
                        action.mark = Some(((ov & !m) | (v & m), om | m));
                    } else {
                        let (ov, om) = action.label.unwrap_or((0, 0));
                        action.label = Some(((ov & !m) | (v & m), om | m));
                    }
                }
                Action::Nat(nat) => action.nat = Some(nat_spec(nat)),
                _ => {}
            }
        }
        self.emit(DpAction::Ct(action));
        if ct.recirc_table != NX_CT_RECIRC_NONE {
            let id = self.freeze(ct.recirc_table, zone);
            self.emit(DpAction::Recirc(id));
            self.report(
                NodeKind::Detail,
                format!(
                    "A clone of the packet is forked to recirculate. The forked pipeline will be resumed at table {}.",
                    ct.recirc_table
                ),
            );
        }
        self.clear_conntrack();
    }

    /// `ct_clear`: as OVS, the datapath action is emitted only if the packet is tracked at
    /// this point (it came back from a recirculation after `ct`); the fields are forgotten
    /// either way.
    fn ct_clear(&mut self) {
        if self.pkt.flow.get(Field::CtState) & u128::from(CT_STATE_TRK) != 0 {
            self.emit(DpAction::CtClear);
        }
        self.clear_conntrack();
    }

    /// Forgets the ct fields (the packet continues untracked).
    fn clear_conntrack(&mut self) {
        for f in [
            Field::CtState,
            Field::CtZone,
            Field::CtMark,
            Field::CtLabel,
            Field::CtNwSrc,
            Field::CtNwDst,
            Field::CtIpv6Src,
            Field::CtIpv6Dst,
            Field::CtNwProto,
            Field::CtTpSrc,
            Field::CtTpDst,
        ] {
            self.pkt.flow.set(f, 0);
        }
        self.report(
            NodeKind::Detail,
            "Sets the packet to an untracked state, and clears all the conntrack fields.".into(),
        );
    }

    /// `resubmit(,T,ct)`: the lookup (only) sees the connection's
    /// original-direction tuple, as OVS's `tuple_swap`.
    fn resubmit_ct_orig(&mut self, table: u8) {
        self.pkt.wc.unwildcard(Field::CtNwProto);
        let k = self.pkt.flow.key();
        if k.ct_nw_proto() == 0 || !k.is_ip_any() {
            self.report(
                NodeKind::Error,
                "resubmit(ct) with non-tracked or non-IP packet!".into(),
            );
            return;
        }
        self.xlate_table(table, true);
    }

    /// Swaps the packet's 5-tuple with the conntrack original tuple, in the
    /// flow and in the wildcard mask (OVS's `tuple_swap`).
    pub(crate) fn tuple_swap(&mut self) {
        let v6 = self.pkt.flow.get(Field::EthType) == 0x86dd;
        let addrs: [(Field, Field); 2] = if v6 {
            [
                (Field::Ipv6Src, Field::CtIpv6Src),
                (Field::Ipv6Dst, Field::CtIpv6Dst),
            ]
        } else {
            [
                (Field::Ipv4Src, Field::CtNwSrc),
                (Field::Ipv4Dst, Field::CtNwDst),
            ]
        };
        let rest = [
            (Field::IpProto, Field::CtNwProto),
            (Field::TcpSrc, Field::CtTpSrc),
            (Field::TcpDst, Field::CtTpDst),
        ];
        for (f, c) in addrs.into_iter().chain(rest) {
            for x in [&mut self.pkt.flow, &mut self.pkt.wc] {
                let (a, b) = (x.get(f), x.get(c));
                x.set(f, b);
                x.set(c, a);
            }
        }
    }

    // ---- learn ----

    fn learn(&mut self, l: &ofp_codec::action::Learn) {
        use ofp_codec::action::{LearnDst, LearnSrc};
        use ofp_codec::msg::flow_mod::{FlowMod, FlowModCommand, OFPFF_SEND_FLOW_REM};
        let mut m = ofp_codec::Match::new();
        let mut acts = Vec::new();
        if l.fin_idle_timeout != 0 || l.fin_hard_timeout != 0 {
            // The learned flow shortens itself on FIN/RST, as OVS's.
            acts.push(Action::FinTimeout {
                idle_timeout_s: l.fin_idle_timeout,
                hard_timeout_s: l.fin_hard_timeout,
            });
        }
        for spec in &l.specs {
            let v = match &spec.src {
                LearnSrc::Field(sf) => self.read_subfield(sf),
                LearnSrc::Imm(b) => be(b) & ones128(spec.n_bits),
            };
            match &spec.dst {
                LearnDst::Match(dst) => {
                    let (ov, om) = m.value_mask(dst.field).unwrap_or((0, 0));
                    let mask = ones128(dst.n_bits) << dst.ofs;
                    let full = om | mask;
                    let width = dst.field.info().value_bits_mask();
                    let mk = if full & width == width {
                        None
                    } else {
                        Some(full)
                    };
                    if m.set_u128(dst.field, (ov & !mask) | ((v << dst.ofs) & mask), mk)
                        .is_err()
                    {
                        self.report(
                            NodeKind::Warn,
                            "learn: cannot match on the learned field".into(),
                        );
                        return;
                    }
                }
                LearnDst::Load(dst) => {
                    let w = dst.field.width_bytes();
                    let to_bytes = |x: u128| x.to_be_bytes()[16 - w..].to_vec();
                    let mask = ones128(dst.n_bits) << dst.ofs;
                    acts.push(Action::SetField(ofp_codec::action::SetField {
                        field: dst.field,
                        value: to_bytes((v << dst.ofs) & mask),
                        mask: to_bytes(mask),
                        form: ofp_codec::action::SetFieldForm::RegLoad,
                    }));
                }
                LearnDst::Output => acts.push(Action::Output {
                    port: v as u32,
                    max_len: 0,
                }),
            }
        }
        let fm = FlowMod {
            cookie: l.cookie,
            table_id: l.table_id,
            command: FlowModCommand::ADD,
            idle_timeout: l.idle_timeout,
            hard_timeout: l.hard_timeout,
            priority: l.priority,
            flags: if l.flags & NX_LEARN_F_SEND_FLOW_REM != 0 {
                OFPFF_SEND_FLOW_REM
            } else {
                0
            },
            match_: m,
            instructions: vec![ofp_codec::Instruction::ApplyActions(acts)],
            ..Default::default()
        };
        self.learn_install(l, fm);
    }

    /// `limit=` and `result_dst=` as OVS's `xlate_learn_action`: with side
    /// effects, a flow not already present is refused once its table holds
    /// `limit` rules with the learn's cookie (flows this translation
    /// learned count too); without, nothing is refused, but a limited learn
    /// whose flow is absent makes the translation uncacheable.
    fn learn_install(
        &mut self,
        l: &ofp_codec::action::Learn,
        fm: ofp_codec::msg::flow_mod::FlowMod,
    ) {
        let exists = self.of.learned_flow_exists(&fm);
        let limited = l.limit != 0 && !exists;
        let mut success = true;
        if limited && self.opts.side_effects {
            let pending = self
                .out
                .learned
                .iter()
                .filter(|f| f.table_id == fm.table_id && f.cookie == fm.cookie)
                .count();
            let n = self.of.n_flows_with_cookie(fm.table_id, fm.cookie) + pending;
            success = n < l.limit as usize;
        } else if limited {
            self.out.avoid_caching = true;
        }
        if l.flags & crate::learned::NX_LEARN_F_WRITE_RESULT != 0
            && let Some(dst) = &l.result_dst
        {
            self.write_subfield(dst, u128::from(success));
            self.report_subfield(dst);
        }
        if success {
            self.out.learned.push(fm);
            self.out.learn_limits.push(l.limit);
        } else {
            self.report(NodeKind::Detail, "Limit exceeded, learn failed".into());
        }
    }

    // ---- fin_timeout ----

    /// `fin_timeout`: un-wildcards nw_proto (as OVS) and records the rule
    /// for whoever pushes statistics; with side effects, a packet carrying
    /// TCP FIN or RST shortens the rule's timeouts now.
    fn fin_timeout(&mut self, idle_s: u16, hard_s: u16) {
        self.pkt.wc.unwildcard(Field::IpProto);
        let Some(rule) = self.pipe.rule else {
            return;
        };
        self.out.fin_timeouts.push((rule, idle_s, hard_s));
        if self.opts.side_effects {
            let flags = self.pkt.flow.get(Field::TcpFlags) as u16;
            self.of.fin_timeouts(&[(rule, idle_s, hard_s)], flags);
        }
    }
}

/// `ct_state` bit `+trk`.
const CT_STATE_TRK: u8 = 0x20;

fn nat_spec(nat: &Nat) -> NatSpec {
    let kind = if nat.flags & NX_NAT_F_SRC != 0 {
        Some(NatKind::Src)
    } else if nat.flags & NX_NAT_F_DST != 0 {
        Some(NatKind::Dst)
    } else {
        None
    };
    let (addr_min, addr_max) = match nat.addrs {
        Some(NatAddrs::V4 { min, max }) => (
            Some(std::net::IpAddr::from(std::net::Ipv4Addr::from(min))),
            (max != 0).then(|| std::net::IpAddr::from(std::net::Ipv4Addr::from(max))),
        ),
        Some(NatAddrs::V6 { min, max }) => (
            Some(std::net::IpAddr::from(std::net::Ipv6Addr::from(min))),
            (max != [0; 16]).then(|| std::net::IpAddr::from(std::net::Ipv6Addr::from(max))),
        ),
        None => (None, None),
    };
    NatSpec {
        kind,
        addr_min,
        addr_max,
        port_min: nat.proto_min,
        port_max: nat.proto_max.max(nat.proto_min),
        persistent: nat.flags & NX_NAT_F_PERSISTENT != 0,
        proto_hash: nat.flags & NX_NAT_F_PROTO_HASH != 0,
        proto_random: nat.flags & NX_NAT_F_PROTO_RANDOM != 0,
    }
}
