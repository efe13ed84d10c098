//! Translation: walks a flow through the OpenFlow tables and produces
//! datapath actions plus the megaflow mask they depend on.
//!
//! ```text
//!  FlowKey ─▶ OfFlow (+ registers/metadata from the recirc_id's frozen state)
//!     │  table lookup (classifier ORs probed masks into `wc`)
//!     │  instructions ▸ actions (this module and `actions.rs`)
//!     │  header changes are committed lazily as set/push/pop before an
//!     │  output, ct or recirc (`commit.rs`), as OVS's commit_odp_actions
//!     ▼
//!  Translation { mask (datapath words of `wc`), actions, rules hit, ... }
//! ```
//!
//! State is split in small structs: `Packet` (flow, committed base, mask),
//! `Pipeline` (table, action set, `push:`/`pop:` field stack of
//! `stack.rs`, depth), `Emitted` (datapath actions,
//! rules, learned flows), and an optional trace builder.
//!
//! Wildcarding follows OVS: `recirc_id`, `in_port` and `eth_type` are always
//! exact, `nw_frag` is exact for IP; every probed subtable's mask, every
//! field read by an action and every field written is un-wildcarded;
//! OpenFlow-only state (registers, metadata, conj_id) never reaches the
//! datapath mask — it is a function of the recirc_id plus the exact bits.
//! rvs's own rule: `ct()` un-wildcards `eth_type` and `nw_proto`.
//!
//! A `ct(table=N)` followed by more actions forks the packet in OVS; rvs's
//! datapath ends an action list at `recirc`, so `fork.rs` turns such a
//! translation into a chain of recirculations with the same effect and
//! statistics.

mod actions;
mod commit;
mod fork;
mod group;
mod normal;
mod pause;
mod stack;

use datapath::key::FlowKey;
use datapath::{Actions, DpAction};
use ofp_codec::msg::flow_mod::FlowMod;
use ofp_codec::{Action, Field, Instruction};

use crate::flow::{KeyExt, OfFlow};
use crate::ofproto::{Ofproto, RuleRef, TableMiss};
use crate::recirc::FrozenState;
use crate::rule::Rule;
use crate::trace::{NodeKind, TraceBuilder, TraceNode};

pub use fork::{ForkEntry, ForkTable, fork_marker};
pub use pause::{PAUSE_COOKIE_BIT, PauseTable};
pub use stack::{FieldStack, MAX_STACK_BYTES};

/// `OFPR_NO_MATCH`.
pub(crate) const OFPR_NO_MATCH: u8 = 0;

/// OVS's `MAX_DEPTH`: nested resubmit/goto/group levels.
pub const MAX_DEPTH: u32 = 64;
/// OVS's `MAX_RESUBMITS`: total table lookups per translation.
pub const MAX_RESUBMITS: u32 = 4096;

/// A packet-in produced by a controller action (built when the datapath
/// hands the packet up; see [`Ofproto::packet_in`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketInEvent {
    pub packet_in: ofp_codec::msg::packet_in::PacketIn,
    /// `controller(userdata=...)`, for NXT_PACKET_IN2.
    pub userdata: Vec<u8>,
    pub controller_id: u16,
    /// `controller(pause)`: the raw `NXPINT_CONTINUATION` contents
    /// (`pause.rs`), empty otherwise.
    pub continuation: Vec<u8>,
}

/// Why a translation failed (the packet is dropped, as OVS drops it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum XlateError {
    /// Over [`MAX_DEPTH`] nested lookups.
    RecursionTooDeep,
    /// Over [`MAX_RESUBMITS`] lookups.
    TooManyResubmits,
    /// The key's recirc_id names no frozen state.
    NoRecirculationContext,
    /// A table lookup with [`MAX_STACK_BYTES`] or more of field stack.
    StackTooDeep,
}

impl XlateError {
    /// OVS's `xlate_strerror` text.
    pub fn as_str(self) -> &'static str {
        match self {
            XlateError::RecursionTooDeep => "Recursion too deep",
            XlateError::TooManyResubmits => "Too many resubmits",
            XlateError::NoRecirculationContext => "No recirculation context",
            XlateError::StackTooDeep => "Stack too deep",
        }
    }
}

/// The result of translating one flow.
#[derive(Clone, Debug)]
pub struct Translation {
    /// Datapath mask: the key bits the actions depend on.
    pub mask: FlowKey,
    pub actions: Actions,
    /// Rules the packet went through (for statistics).
    pub rules: Vec<RuleRef>,
    /// Group buckets the packet went through, as (group id, bucket index).
    pub buckets: Vec<(u32, usize)>,
    /// Table lookups, as (table id, a rule matched), for table statistics
    /// (credited per packet with the rules, as OVS counts them).
    pub lookups: Vec<(u8, bool)>,
    /// The full OpenFlow-level mask (registers included), for traces.
    pub wc: OfFlow,
    pub initial_flow: OfFlow,
    pub final_flow: OfFlow,
    /// Flows to install, from `learn` actions.
    pub learned: Vec<FlowMod>,
    /// The `limit=` of the learn behind each of `learned` (0: none), for
    /// [`Ofproto::install_learned`].
    pub learn_limits: Vec<u32>,
    /// A `learn` with `limit=` ran without side effects and its flow is not
    /// in its table: the result depends on learning, so a megaflow must not
    /// keep it (OVS's `avoid_caching`; the revalidator deletes it).
    pub avoid_caching: bool,
    /// `fin_timeout` actions run, as (rule, idle s, hard s): whoever pushes
    /// statistics with TCP FIN or RST applies them
    /// ([`Ofproto::fin_timeouts`]), as OVS's xlate cache does.
    pub fin_timeouts: Vec<(RuleRef, u16, u16)>,
    /// Recirculations started: (recirc_id, resume table, flow at the fork,
    /// ct zone), for traces.
    pub forks: Vec<(u32, u8, OfFlow, u16)>,
    pub error: Option<XlateError>,
    /// The trace tree, if requested.
    pub trace: Vec<TraceNode>,
}

/// Options of one translation.
#[derive(Clone, Copy, Debug, Default)]
pub struct XlateOptions {
    pub now_ms: u64,
    /// Learn MACs for NORMAL (false for traces, as OVS's trace has no side effects).
    pub side_effects: bool,
    pub trace: bool,
}

/// The packet being translated.
#[derive(Clone, Debug)]
pub(crate) struct Packet {
    pub flow: OfFlow,
    /// Headers as the datapath packet has them so far (committed).
    pub base: FlowKey,
    pub wc: OfFlow,
}

/// Where the pipeline is.
#[derive(Clone, Debug, Default)]
pub(crate) struct Pipeline {
    pub table_id: u8,
    pub cookie: u64,
    pub action_set: Vec<Action>,
    pub depth: u32,
    pub lookups: u32,
    pub exit: bool,
    /// The running rule is a table-miss flow (priority 0, matches all): its
    /// packet-ins say `no_match`, as OVS reports them on OpenFlow 1.3.
    pub in_miss_rule: bool,
    /// `push:`/`pop:`'s field stack (`stack.rs`).
    pub stack: FieldStack,
    /// The rule whose actions run (for `fin_timeout`).
    pub rule: Option<RuleRef>,
}

/// What has been produced.
#[derive(Clone, Debug, Default)]
pub(crate) struct Emitted {
    pub actions: Actions,
    pub rules: Vec<RuleRef>,
    pub buckets: Vec<(u32, usize)>,
    pub lookups: Vec<(u8, bool)>,
    pub learned: Vec<FlowMod>,
    pub learn_limits: Vec<u32>,
    pub avoid_caching: bool,
    pub fin_timeouts: Vec<(RuleRef, u16, u16)>,
    pub forks: Vec<(u32, u8, OfFlow, u16)>,
    pub error: Option<XlateError>,
}

pub(crate) struct Xlate<'a> {
    pub of: &'a Ofproto,
    pub opts: XlateOptions,
    pub pkt: Packet,
    pub pipe: Pipeline,
    pub out: Emitted,
    pub trace: Option<TraceBuilder>,
    /// Set by `controller(pause)` (`pause.rs`).
    pub paused: Option<pause::Pausing>,
    /// The VLAN TCIs the packet arrived with (for `finish`).
    pub upcall_tcis: [u16; 2],
}

impl Ofproto {
    /// Translates the datapath key `key` (a miss) at `opts.now_ms`.
    pub fn translate(&self, key: &FlowKey, opts: XlateOptions) -> Translation {
        self.translate_flow(&OfFlow::from_key(key), opts)
    }

    /// Translates an [`OfFlow`] (registers nonzero only for tests and traces
    /// that set them; a recirculated flow's are restored from its state).
    pub fn translate_flow(&self, flow: &OfFlow, opts: XlateOptions) -> Translation {
        let mut x = Xlate::new(self, flow, opts);
        let recirc_id = flow.get(Field::RecircId) as u32;
        if recirc_id != 0 {
            let state = self.recirc.lock().get(recirc_id).cloned();
            let fork = state
                .as_ref()
                .and_then(fork_marker)
                .map(|id| self.forks.lock().get(id).cloned());
            match (state, fork) {
                (Some(_), Some(Some(e))) => x.thaw_fork(&e),
                (Some(st), None) => x.thaw(&st),
                _ => x.out.error = Some(XlateError::NoRecirculationContext),
            }
        } else {
            x.first_lookup(0);
        }
        x.run_pipeline_action_set();
        x.finish()
    }
}

impl Ofproto {
    /// Translates a PACKET_OUT: runs `actions` on the packet whose key is
    /// `key` (in_port as given by the controller, recirc_id 0);
    /// `output:TABLE` submits it to table 0 as OVS does.
    pub fn translate_actions(
        &self,
        key: &FlowKey,
        actions: &[Action],
        opts: XlateOptions,
    ) -> Translation {
        let mut x = Xlate::new(self, &OfFlow::from_key(key), opts);
        x.do_actions(actions);
        x.run_pipeline_action_set();
        x.finish()
    }
}

impl<'a> Xlate<'a> {
    fn new(of: &'a Ofproto, flow: &OfFlow, opts: XlateOptions) -> Self {
        let mut wc = OfFlow::default();
        wc.unwildcard(Field::RecircId);
        wc.unwildcard(Field::InPort);
        wc.unwildcard(Field::EthType);
        if flow.key().is_ip_any() {
            wc.unwildcard(Field::IpFrag);
        }
        let trace = opts
            .trace
            .then(|| TraceBuilder::new(&of.config.bridge_name));
        Xlate {
            of,
            opts,
            pkt: Packet {
                flow: *flow,
                base: flow.key(),
                wc,
            },
            // No rule yet: a packet-out's own actions report no cookie
            // (all ones), as OVS's xlate starts with rule_cookie = ~0.
            pipe: Pipeline {
                cookie: u64::MAX,
                ..Pipeline::default()
            },
            out: Emitted::default(),
            trace,
            paused: None,
            upcall_tcis: [flow.key().vlan0_tci(), flow.key().vlan1_tci()],
        }
    }

    fn thaw(&mut self, st: &FrozenState) {
        self.pkt.flow.set_regs(&st.regs);
        self.pkt.flow.set(Field::Metadata, u128::from(st.metadata));
        self.pipe.action_set = st.action_set.clone();
        self.pipe.stack = st.stack.clone();
        self.node_open(NodeKind::Thaw, "thaw".into());
        self.report(
            NodeKind::Thaw,
            format!("Resuming from table {}", st.table_id),
        );
        self.node_close();
        self.pipe.table_id = st.table_id;
        if !st.actions.is_empty() {
            self.do_actions(&st.actions);
        } else {
            self.first_lookup(st.table_id);
        }
    }

    fn finish(mut self) -> Translation {
        self.finish_pause();
        let initial_flow = self.pkt.flow;
        self.split_forks();
        if self.out.error.is_some() {
            self.out.actions.clear();
        }
        let wc = self.pkt.wc;
        let mut mask = wc.key();
        mask.set_metadata(0);
        let key = self.pkt.flow.key();
        let proto = key.nw_proto();
        if key.is_ip_any() && (proto == 1 || proto == 58) {
            mask.set_tp_src(mask.tp_src() & 0xff);
            mask.set_tp_dst(mask.tp_dst() & 0xff);
        }
        // A VLAN header the packet arrived without is not matched on, as
        // OVS's xlate_wc_finish; its datapath then matches the header's
        // absence implicitly (a missing VLAN mask), rvs's by the TPID.
        if self.upcall_tcis[1] & datapath::key::VLAN_CFI == 0 && mask.vlan1_tci() != 0 {
            mask.set_vlan1_tci(0);
            mask.set_vlan1_tpid(u16::MAX);
        }
        if self.upcall_tcis[0] & datapath::key::VLAN_CFI == 0 && mask.vlan0_tci() != 0 {
            mask.set_vlan0_tci(0);
            mask.set_vlan0_tpid(u16::MAX);
        }
        if mask.vlan0_tci() != 0 {
            mask.set_vlan0_tci(mask.vlan0_tci() | datapath::key::VLAN_CFI);
        }
        if key.nw_frag() & datapath::key::FRAG_LATER != 0 {
            mask.set_tp_src(0);
            mask.set_tp_dst(0);
        }
        Translation {
            mask,
            actions: self.out.actions,
            rules: self.out.rules,
            buckets: self.out.buckets,
            lookups: self.out.lookups,
            wc,
            initial_flow,
            final_flow: self.pkt.flow,
            learned: self.out.learned,
            learn_limits: self.out.learn_limits,
            avoid_caching: self.out.avoid_caching,
            fin_timeouts: self.out.fin_timeouts,
            forks: self.out.forks,
            error: self.out.error,
            trace: self.trace.map(TraceBuilder::finish).unwrap_or_default(),
        }
    }

    // ---- trace helpers ----

    pub(crate) fn report(&mut self, kind: NodeKind, text: String) {
        if let Some(t) = &mut self.trace {
            t.leaf(kind, text);
        }
    }

    pub(crate) fn tracing(&self) -> bool {
        self.trace.is_some()
    }

    pub(crate) fn node_open(&mut self, kind: NodeKind, text: String) {
        if let Some(t) = &mut self.trace {
            t.open(kind, text);
        }
    }

    pub(crate) fn node_close(&mut self) {
        if let Some(t) = &mut self.trace {
            t.close();
        }
    }

    // ---- tables ----

    /// Looks `table_id` up (with the conntrack original tuple if
    /// `with_ct_orig`) and runs the matching rule or the table-miss behaviour:
    /// a resubmit, `goto_table` or `output:TABLE`.
    pub(crate) fn xlate_table(&mut self, table_id: u8, with_ct_orig: bool) {
        self.lookup_table(table_id, with_ct_orig, true);
    }

    /// The first lookup of a translation (table 0, or a thawed state's
    /// table), which OVS makes without its resubmit check of the stack.
    fn first_lookup(&mut self, table_id: u8) {
        self.lookup_table(table_id, false, false);
    }

    /// [`Xlate::xlate_table`]; `resubmit` says whether the field stack is
    /// checked against [`MAX_STACK_BYTES`] first.
    fn lookup_table(&mut self, table_id: u8, with_ct_orig: bool, resubmit: bool) {
        if self.pipe.depth >= MAX_DEPTH {
            self.out.error = Some(XlateError::RecursionTooDeep);
            self.report(
                NodeKind::Error,
                format!("over max translation depth {MAX_DEPTH}"),
            );
            return;
        }
        if self.pipe.lookups >= MAX_RESUBMITS {
            self.out.error = Some(XlateError::TooManyResubmits);
            self.report(
                NodeKind::Error,
                format!("over {MAX_RESUBMITS} resubmit actions"),
            );
            return;
        }
        if resubmit && self.stack_too_deep() {
            self.out.error = Some(XlateError::StackTooDeep);
            self.report(
                NodeKind::Error,
                "resubmits yielded over 64 kB of stack".into(),
            );
            return;
        }
        self.pipe.lookups += 1;
        if usize::from(table_id) >= self.of.tables.len() {
            return;
        }
        if with_ct_orig {
            self.tuple_swap();
        }
        let ports = self.hide_fragment_ports();
        let rule = self.lookup(table_id);
        if let Some((src, dst)) = ports {
            self.pkt.flow.set(Field::TcpSrc, src);
            self.pkt.flow.set(Field::TcpDst, dst);
        }
        if with_ct_orig {
            self.tuple_swap();
        }
        self.out.lookups.push((table_id, rule.is_some()));
        let (old_table, old_cookie, old_miss) =
            (self.pipe.table_id, self.pipe.cookie, self.pipe.in_miss_rule);
        let old_rule = self.pipe.rule;
        self.pipe.table_id = table_id;
        self.pipe.depth += 1;
        match rule {
            Some(rule) => {
                if self.tracing() {
                    self.node_open(NodeKind::Table, table_line(table_id, rule));
                }
                self.out.rules.push(RuleRef {
                    table_id,
                    id: rule.id,
                });
                self.pipe.rule = Some(RuleRef {
                    table_id,
                    id: rule.id,
                });
                self.pipe.cookie = rule.cookie;
                self.pipe.in_miss_rule = rule.priority == 0 && rule.match_.iter().next().is_none();
                let insts = rule.instructions.clone();
                self.do_instructions(&insts);
            }
            None => match self.of.table_miss(table_id) {
                TableMiss::Drop => {
                    self.node_open(NodeKind::Table, format!("{table_id:2}. No match."));
                    self.report(NodeKind::Action, "drop".into());
                }
                TableMiss::Controller => {
                    self.node_open(
                        NodeKind::Table,
                        format!("{table_id:2}. No match, and a \"packet-in\" is called for."),
                    );
                    let ctx = self.pin_context(OFPR_NO_MATCH, 0, u16::MAX, Vec::new());
                    self.controller(ctx);
                }
                TableMiss::Continue => {
                    self.node_open(NodeKind::Table, format!("{table_id:2}. No match."));
                    if let Some(next) = table_id.checked_add(1)
                        && usize::from(next) < self.of.tables.len()
                    {
                        self.node_close();
                        self.pipe.depth -= 1;
                        self.pipe.table_id = old_table;
                        self.pipe.cookie = old_cookie;
                        self.pipe.in_miss_rule = old_miss;
                        self.lookup_table(next, false, resubmit);
                        return;
                    }
                }
            },
        }
        self.node_close();
        self.pipe.depth -= 1;
        self.pipe.table_id = old_table;
        self.pipe.cookie = old_cookie;
        self.pipe.in_miss_rule = old_miss;
        self.pipe.rule = old_rule;
    }

    /// Classifier lookup with conjunctive matches (OVS's `conjunction`).
    /// The fragment handling mode `normal` (OVS's default, and the only one
    /// rvs has): an IP fragment, the first one too, meets the flow tables
    /// with L4 ports (ICMP type and code) 0, as OVS's rule lookup presents
    /// it; the actions still see the packet's own. Zeroes them in the flow
    /// for one lookup and returns what to restore, `None` for a
    /// non-fragment. (Later fragments carry no ports: the datapath key has
    /// 0 there already.)
    fn hide_fragment_ports(&mut self) -> Option<(u128, u128)> {
        let ip = matches!(self.pkt.flow.get(Field::EthType), 0x0800 | 0x86dd);
        if !ip || self.pkt.flow.get(Field::IpFrag) & u128::from(datapath::key::FRAG_ANY) == 0 {
            return None;
        }
        let saved = (
            self.pkt.flow.get(Field::TcpSrc),
            self.pkt.flow.get(Field::TcpDst),
        );
        self.pkt.flow.set(Field::TcpSrc, 0);
        self.pkt.flow.set(Field::TcpDst, 0);
        Some(saved)
    }

    fn lookup(&mut self, table_id: u8) -> Option<&'a Rule> {
        let table = &self.of.tables[usize::from(table_id)];
        let found = table.cls.lookup(&self.pkt.flow, &mut self.pkt.wc, true);
        let mut hard = found.hard;
        if !found.soft.is_empty() {
            let mut soft = found.soft.clone();
            soft.sort_by_key(|e| std::cmp::Reverse(e.priority));
            let mut i = 0;
            'prio: while i < soft.len() {
                let p = soft[i].priority;
                let mut clauses: Vec<(u32, u8, u64)> = Vec::new();
                while i < soft.len() && soft[i].priority == p {
                    if let Some(r) = table.rules.get(&soft[i].id) {
                        for &(id, clause, n) in &r.conj {
                            match clauses.iter_mut().find(|c| c.0 == id) {
                                Some(c) => c.2 |= 1 << clause,
                                None => clauses.push((id, n, 1 << clause)),
                            }
                        }
                    }
                    i += 1;
                }
                clauses.sort_unstable();
                for (id, n, bits) in clauses {
                    let all = if n >= 64 { u64::MAX } else { (1u64 << n) - 1 };
                    if bits & all == all {
                        let old = self.pkt.flow.get(Field::ConjId);
                        self.pkt.flow.set(Field::ConjId, u128::from(id));
                        let f2 = table.cls.lookup(&self.pkt.flow, &mut self.pkt.wc, false);
                        // conj_id only exists for this lookup (as in OVS).
                        self.pkt.flow.set(Field::ConjId, old);
                        if f2.hard.is_some() {
                            hard = f2.hard;
                            break 'prio;
                        }
                    }
                }
            }
        }
        hard.and_then(|e| table.rules.get(&e.id))
    }

    fn do_instructions(&mut self, insts: &[Instruction]) {
        // OVS flattens a rule's instructions into one action list; when that
        // list is empty (no instructions, or only empty apply_actions) its
        // trace reports `drop` under the rule.
        if insts
            .iter()
            .all(|i| matches!(i, Instruction::ApplyActions(a) if a.is_empty()))
        {
            self.report(NodeKind::Action, "drop".into());
        }
        let mut sorted: Vec<&Instruction> = insts.iter().collect();
        sorted.sort_by_key(|i| i.rank());
        for (i, inst) in sorted.iter().enumerate() {
            if self.pausing() {
                self.freeze_instructions(&sorted[i..]);
                return;
            }
            if self.pipe.exit || self.out.error.is_some() {
                return;
            }
            match inst {
                Instruction::Meter(m) => {
                    self.report(NodeKind::Action, format!("meter:{m}"));
                    // The datapath rate-limits (as OVS: meter(provider id)).
                    if let Some(meter) = self.of.meter(*m) {
                        self.emit(DpAction::Meter(meter.dp_id));
                    }
                }
                Instruction::ApplyActions(acts) => {
                    self.do_actions(acts);
                }
                Instruction::ClearActions => {
                    self.report(NodeKind::Action, "clear_actions".into());
                    self.report_action_set("was");
                    self.pipe.action_set.clear();
                }
                Instruction::WriteActions(acts) => {
                    if self.tracing() {
                        let text =
                            ofp_codec::action::format_instructions(std::slice::from_ref(inst));
                        self.report(NodeKind::Action, text);
                    }
                    for a in acts {
                        write_action_set(&mut self.pipe.action_set, a);
                    }
                    self.report_action_set("is");
                }
                Instruction::WriteMetadata { metadata, mask } => {
                    if self.tracing() {
                        let text =
                            ofp_codec::action::format_instructions(std::slice::from_ref(inst));
                        self.report(NodeKind::Action, text);
                    }
                    self.pkt.flow.set_masked(
                        Field::Metadata,
                        u128::from(*metadata),
                        u128::from(*mask),
                    );
                }
                Instruction::GotoTable(t) => {
                    self.report(NodeKind::Action, format!("goto_table:{t}"));
                    self.xlate_table(*t, false);
                }
            }
        }
    }

    /// Runs an action set (`write_actions`, or a group bucket) as OVS's
    /// `ofpacts_execute_action_set` does ([`action_set_order`]).
    pub(crate) fn execute_action_set(&mut self, set: &[Action]) {
        let acts = action_set_order(set);
        self.do_actions(&acts);
    }

    /// Runs the pipeline's action set when the pipeline ends, under a
    /// `--. Executing action set:` trace node as OVS's xlate_action_set.
    /// After an error nothing runs; a pause leaves the set as it is (it is
    /// frozen); after an `exit` the node is printed, as OVS does, but none
    /// of the set's actions run.
    pub(crate) fn run_pipeline_action_set(&mut self) {
        if self.out.error.is_some() || self.pausing() {
            return;
        }
        let set = std::mem::take(&mut self.pipe.action_set);
        let acts = action_set_order(&set);
        if acts.is_empty() {
            return;
        }
        let reopened = self.trace.as_mut().is_some_and(|t| t.reopen_last_table());
        self.node_open(NodeKind::Table, "--. Executing action set:".into());
        if !self.pipe.exit {
            self.do_actions(&acts);
        }
        self.node_close();
        if reopened {
            self.node_close();
        }
    }

    /// The trace's `action set VERB: ACTIONS` (or `... VERB empty`) line,
    /// the actions in the order they would run, as OVS's
    /// xlate_report_action_set after write_actions and clear_actions.
    fn report_action_set(&mut self, verb: &str) {
        if !self.tracing() {
            return;
        }
        let acts = action_set_order(&self.pipe.action_set);
        let text = if acts.is_empty() {
            format!("action set {verb} empty")
        } else {
            format!(
                "action set {verb}: {}",
                ofp_codec::action::format_actions(&acts)
            )
        };
        self.report(NodeKind::Detail, text);
    }

    /// Records a recirculation to `table_id` and returns its id.
    pub(crate) fn freeze(&mut self, table_id: u8, zone: u16) -> u32 {
        let state = FrozenState {
            table_id,
            regs: self.pkt.flow.regs(),
            metadata: self.pkt.flow.get(Field::Metadata) as u64,
            actions: Vec::new(),
            action_set: self.pipe.action_set.clone(),
            stack: self.pipe.stack.clone(),
        };
        let id = self.of.recirc.lock().intern(state);
        self.out.forks.push((id, table_id, self.pkt.flow, zone));
        id
    }

    pub(crate) fn emit(&mut self, a: DpAction) {
        self.out.actions.push(a);
    }
}

/// How an action takes part in an action set, in OVS's order of execution.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum SetClass {
    /// Only the last of each kind is kept; run in this order.
    Slot(u8),
    /// At most one runs: the highest kind (ct < ct_clear < resubmit < output
    /// < group), the last of that kind.
    Final(u8),
    /// set_field, move and the other field setters: all, in order.
    SetOrMove,
    /// Never run from an action set (controller, note, learn, the field
    /// stack, clone, ...).
    Invalid,
}

fn set_class(a: &Action) -> SetClass {
    use SetClass::*;
    match a {
        Action::PopVlan => Slot(0),
        Action::PopMpls(_) => Slot(1),
        Action::PushMpls(_) => Slot(2),
        Action::PushVlan(_) => Slot(3),
        Action::DecTtl { .. } => Slot(4),
        Action::DecMplsTtl => Slot(5),
        Action::Ct(_) => Final(0),
        Action::CtClear => Final(1),
        Action::Resubmit(_) => Final(2),
        Action::Output { .. } => Final(3),
        Action::Group(_) => Final(4),
        Action::SetField(_)
        | Action::Move { .. }
        | Action::LegacySet(_)
        | Action::SetNwTtl(_)
        | Action::SetMplsTtl(_)
        | Action::SetQueue(_)
        | Action::SetTunnel { .. } => SetOrMove,
        _ => Invalid,
    }
}

/// The actions an action set runs, in order, as OVS 3.1's
/// `ofpacts_execute_action_set`: the last of each slot action (pop_vlan,
/// pop_mpls, push_mpls, push_vlan, dec_ttl, dec_mpls_ttl), then every
/// set/move in order, then the one final action; nothing at all without a
/// final action (a packet sent nowhere needs no changes). Actions that do not
/// belong in an action set (stack push/pop, controller, learn, ...) are
/// ignored, which is how OVS runs group buckets too.
pub(crate) fn action_set_order(set: &[Action]) -> Vec<Action> {
    let mut slots: [Option<&Action>; 6] = [None; 6];
    let mut sets = Vec::new();
    let mut last: Option<(u8, &Action)> = None;
    for a in set {
        match set_class(a) {
            SetClass::Slot(i) => slots[usize::from(i)] = Some(a),
            SetClass::Final(c) => {
                if last.is_none_or(|(lc, _)| c >= lc) {
                    last = Some((c, a));
                }
            }
            SetClass::SetOrMove => sets.push(a.clone()),
            SetClass::Invalid => {}
        }
    }
    let Some((_, fin)) = last else {
        return Vec::new();
    };
    let mut out: Vec<Action> = slots.iter().flatten().map(|a| (*a).clone()).collect();
    out.extend(sets);
    out.push(fin.clone());
    out
}

/// Adds `a` to an action set. As OVS's xlate_write_actions, every action is
/// appended; which of them run, and in what order, is decided when the set
/// runs ([`action_set_order`]: the last of each kind, all set/move in order).
fn write_action_set(set: &mut Vec<Action>, a: &Action) {
    set.push(a.clone());
}

/// `NN. MATCH, priority P[, cookie 0xC]`, as OVS's trace prints a rule.
fn table_line(table_id: u8, rule: &Rule) -> String {
    let mut s = format!("{table_id:2}. ");
    s.push_str(&rule.match_.to_string());
    if !s.ends_with(' ') {
        s.push_str(", ");
    }
    s.push_str(&format!("priority {}", rule.priority));
    if rule.cookie != 0 {
        s.push_str(&format!(", cookie {:#x}", rule.cookie));
    }
    s
}
