//! Flow-mod semantics (OpenFlow 1.3 §6.4 as Open vSwitch implements them)
//! and atomic bundles.
//!
//! - ADD replaces a rule with the same match and priority: the new rule takes
//!   the new cookie, timeouts and flags; counters carry over unless
//!   `OFPFF_RESET_COUNTS`. With `OFPFF_CHECK_OVERLAP`, a different
//!   same-priority rule that some packet could match as well refuses the add
//!   (`OFPFMFC_OVERLAP`); an identical one is replaced (checked with OVS 3.1).
//! - MODIFY and MODIFY_STRICT replaces the instructions of the selected rules, keeps
//!   cookie, timeouts, flags and creation time, resets counters only with
//!   `OFPFF_RESET_COUNTS`, and adds nothing when nothing matches (OF1.2+).
//! - DELETE and DELETE_STRICT removes the selected rules (FLOW_REMOVED reason DELETE
//!   for those with `send_flow_rem`), filtered by `out_port`/`out_group`.
//! - Modify and delete select by `cookie & cookie_mask`; `table_id` 255 means
//!   every table, allowed for deletes only (`OFPFMFC_BAD_TABLE_ID` otherwise).
//! - Table 254 ([`TBL_INTERNAL`]) is OVS's hidden, read-only table: an ADD
//!   there is refused with `OFPBRC_EPERM`, as OVS does. (OVS keeps a few
//!   internal rules in it, visible with `dump-flows table=254`, which make
//!   its modify/delete of table 254 fail with `OFPBRC_EPERM` too; rvs has no
//!   internal rules, so those select nothing.)
//!
//! Every change goes through an undo log so that a bundle either applies
//! completely or leaves the tables as they were; a bundle applied to a copy
//! that is dropped on failure ([`Ofproto::bundle_apply_on_copy`], the upcall
//! handler's commit) keeps none.

use std::borrow::Cow;
use std::sync::Arc;

use ofp_codec::action::{FlowContext, validate_flow};
use ofp_codec::msg::flow_mod::{FlowMod, FlowModCommand, OFPFF_CHECK_OVERLAP, OFPFF_RESET_COUNTS};
use ofp_codec::msg::flow_removed::FlowRemovedReason;
use ofp_codec::msg::group_mod::GroupMod;
use ofp_codec::{Action, Instruction, Match, OfpError};

use crate::classifier::RuleId;
use crate::ofproto::{Event, MAX_PORTS, Ofproto, flow_removed};
use crate::rule::{Counters, OFPTT_ALL, Rule, RuleMatch, conjunctions, loose_match};

/// OVS's internal table (`TBL_INTERNAL`): hidden and read-only.
pub const TBL_INTERNAL: u8 = 254;

/// One reversible change.
#[derive(Debug)]
pub(crate) enum Undo {
    /// A rule was inserted: remove it.
    Inserted { table_id: u8, id: RuleId },
    /// A rule was removed: put it back (the same shared rule).
    Removed(Arc<Rule>),
    /// The group table was replaced: put the old one back.
    Groups(std::collections::BTreeMap<u32, crate::group::Group>),
}

/// Changes and pending events of an uncommitted transaction.
#[derive(Debug, Default)]
pub(crate) struct Txn {
    pub(crate) undo: Vec<Undo>,
    /// No undo log: the transaction runs on a copy that is dropped if it
    /// fails ([`Ofproto::bundle_apply_on_copy`]).
    pub(crate) no_undo: bool,
    /// Whether a table or the group table changed.
    pub(crate) changed: bool,
    pub(crate) events: Vec<Event>,
    /// Index of the bundle message being applied (0 outside bundles).
    pub(crate) msg: u32,
    /// The `delete_learned` references each message added and removed
    /// (see [`crate::learned`]), in order.
    pub(crate) learn_log: Vec<crate::learned::LearnDelta>,
    /// Staged ahead of its commit ([`crate::staged`]): what depends on
    /// the commit's moment is recorded, not done, until then.
    pub(crate) staging: bool,
    /// (staging) The FLOW_REMOVED each removal owes, built at commit.
    pub(crate) removed: Vec<(Arc<Rule>, FlowRemovedReason)>,
    /// (staging) Counters a replacing rule carried over, (old, new): the
    /// new ones catch up with the old rule's traffic at commit.
    pub(crate) carried: Vec<(Arc<Counters>, Arc<Counters>)>,
}

/// One element of a bundle.
#[derive(Clone, Debug, PartialEq)]
pub enum BundleMsg {
    FlowMod(FlowMod),
    GroupMod(GroupMod),
}

impl Ofproto {
    /// Applies one flow-mod at `now_ms`. On error nothing changed.
    pub fn handle_flow_mod(&mut self, fm: &FlowMod, now_ms: u64) -> Result<(), OfpError> {
        self.handle_flow_mod_with_importance(fm, 0, now_ms)
    }

    /// [`Ofproto::handle_flow_mod`] consuming `fm`: an ADD's match and
    /// instructions move into the new rule instead of being copied.
    pub fn handle_flow_mod_owned(&mut self, fm: FlowMod, now_ms: u64) -> Result<(), OfpError> {
        self.handle_flow_mod_cow(Cow::Owned(fm), 0, now_ms)
    }

    /// [`Ofproto::handle_flow_mod`] with an OpenFlow 1.4+ `importance` for ADD.
    pub fn handle_flow_mod_with_importance(
        &mut self,
        fm: &FlowMod,
        importance: u16,
        now_ms: u64,
    ) -> Result<(), OfpError> {
        self.handle_flow_mod_cow(Cow::Borrowed(fm), importance, now_ms)
    }

    fn handle_flow_mod_cow(
        &mut self,
        fm: Cow<'_, FlowMod>,
        importance: u16,
        now_ms: u64,
    ) -> Result<(), OfpError> {
        let mut txn = Txn::default();
        match self.flow_mod_txn_cow(fm, importance, now_ms, &mut txn) {
            Ok(()) => {
                let pairs = self.dead_learned_pairs(&txn.learn_log);
                self.flush_learned(&mut txn, pairs, now_ms);
                self.commit(txn);
                Ok(())
            }
            Err(e) => {
                self.rollback(txn);
                Err(e)
            }
        }
    }

    /// Applies flow-mods and group-mods atomically, in order: if one fails,
    /// none of them takes effect and the error of the first failure (with its
    /// index) is returned. FLOW_REMOVED events are queued only on success.
    pub fn bundle_commit(
        &mut self,
        msgs: &[BundleMsg],
        now_ms: u64,
    ) -> Result<(), (usize, OfpError)> {
        let mut txn = Txn::default();
        for (i, m) in msgs.iter().enumerate() {
            txn.msg = i as u32;
            let r = match m {
                BundleMsg::FlowMod(fm) => self.flow_mod_txn(fm, 0, now_ms, &mut txn),
                BundleMsg::GroupMod(gm) => self.group_mod_txn(gm, now_ms, &mut txn),
            };
            if let Err(e) = r {
                self.rollback(txn);
                return Err((i, e));
            }
        }
        // As OVS, each message's references count in order (see
        // `dead_learned_pairs`); the flows go from the final tables.
        let pairs = self.dead_learned_pairs(&txn.learn_log);
        self.flush_learned(&mut txn, pairs, now_ms);
        self.commit(txn);
        Ok(())
    }

    /// [`Ofproto::bundle_commit`] on a copy that the caller drops if it
    /// fails (the upcall handler's commit): the messages are consumed (an
    /// ADD's match and instructions move into its rule) and no undo log is
    /// kept, so after an error `self` is partly changed and must be dropped.
    pub(crate) fn bundle_apply_on_copy(
        &mut self,
        msgs: Vec<BundleMsg>,
        now_ms: u64,
    ) -> Result<(), (usize, OfpError)> {
        let mut txn = Txn {
            no_undo: true,
            ..Txn::default()
        };
        for (i, m) in msgs.into_iter().enumerate() {
            txn.msg = i as u32;
            let r = match m {
                BundleMsg::FlowMod(fm) => {
                    self.flow_mod_txn_cow(Cow::Owned(fm), 0, now_ms, &mut txn)
                }
                BundleMsg::GroupMod(gm) => self.group_mod_txn(&gm, now_ms, &mut txn),
            };
            r.map_err(|e| (i, e))?;
        }
        let pairs = self.dead_learned_pairs(&txn.learn_log);
        self.flush_learned(&mut txn, pairs, now_ms);
        self.commit(txn);
        Ok(())
    }

    pub(crate) fn commit_txn(&mut self, txn: Txn) {
        self.commit(txn)
    }

    pub(crate) fn commit(&mut self, txn: Txn) {
        if txn.changed {
            self.generation += 1;
        }
        self.events.extend(txn.events);
    }

    fn rollback(&mut self, txn: Txn) {
        for u in txn.undo.into_iter().rev() {
            match u {
                Undo::Inserted { table_id, id } => {
                    Arc::make_mut(&mut self.tables[usize::from(table_id)]).remove(id);
                }
                Undo::Removed(rule) => {
                    let t = usize::from(rule.table_id);
                    Arc::make_mut(&mut self.tables[t]).insert(rule);
                }
                Undo::Groups(g) => self.groups = g,
            }
        }
    }

    pub(crate) fn txn_remove(
        &mut self,
        txn: &mut Txn,
        table_id: u8,
        id: RuleId,
    ) -> Option<Arc<Rule>> {
        let rule = Arc::make_mut(&mut self.tables[usize::from(table_id)]).remove(id)?;
        crate::learned::log_refs(txn, &rule, -1);
        txn.changed = true;
        if !txn.no_undo {
            txn.undo.push(Undo::Removed(rule.clone()));
        }
        Some(rule)
    }

    fn txn_insert(&mut self, txn: &mut Txn, rule: Rule) {
        self.txn_insert_cls(txn, rule, None)
    }

    /// [`Ofproto::txn_insert`] with the rule's classifier form, if known.
    fn txn_insert_cls(&mut self, txn: &mut Txn, rule: Rule, cls: Option<&RuleMatch>) {
        crate::learned::log_refs(txn, &rule, 1);
        txn.changed = true;
        if !txn.no_undo {
            txn.undo.push(Undo::Inserted {
                table_id: rule.table_id,
                id: rule.id,
            });
        }
        Arc::make_mut(&mut self.tables[usize::from(rule.table_id)]).insert_cls(Arc::new(rule), cls);
    }

    pub(crate) fn txn_save_groups(&mut self, txn: &mut Txn) {
        txn.changed = true;
        if !txn.no_undo {
            txn.undo.push(Undo::Groups(self.groups.clone()));
        }
    }

    /// Queues the FLOW_REMOVED `rule` owes (if it asked for one); a staged
    /// transaction builds it at commit, with the counters and age then.
    pub(crate) fn txn_flow_removed(
        &mut self,
        txn: &mut Txn,
        rule: Arc<Rule>,
        reason: FlowRemovedReason,
        now_ms: u64,
    ) {
        if txn.staging {
            if rule.flags & ofp_codec::msg::flow_mod::OFPFF_SEND_FLOW_REM != 0 {
                txn.removed.push((rule, reason));
            }
        } else if let Some(fr) = flow_removed(&rule, reason, now_ms) {
            txn.events.push(Event::FlowRemoved(fr));
        }
    }

    /// A replacing rule took over `old`'s counters; a staged transaction
    /// remembers the pair so the traffic `old` still gets before the
    /// commit carries over too.
    fn txn_carry(txn: &mut Txn, old: &Arc<Counters>, new: &Arc<Counters>) {
        if txn.staging {
            txn.carried.push((old.clone(), new.clone()));
        }
    }

    pub(crate) fn flow_mod_txn(
        &mut self,
        fm: &FlowMod,
        importance: u16,
        now_ms: u64,
        txn: &mut Txn,
    ) -> Result<(), OfpError> {
        self.flow_mod_txn_cow(Cow::Borrowed(fm), importance, now_ms, txn)
    }

    /// [`Ofproto::flow_mod_txn`]; an owned ADD moves its match and
    /// instructions into the rule.
    pub(crate) fn flow_mod_txn_cow(
        &mut self,
        fm: Cow<'_, FlowMod>,
        importance: u16,
        now_ms: u64,
        txn: &mut Txn,
    ) -> Result<(), OfpError> {
        let cmd = fm.command;
        let is_delete = cmd == FlowModCommand::DELETE || cmd == FlowModCommand::DELETE_STRICT;
        if fm.table_id == OFPTT_ALL && !is_delete {
            return Err(OfpError::OFPFMFC_BAD_TABLE_ID);
        }
        if fm.table_id != OFPTT_ALL && fm.table_id >= self.config.n_tables {
            return Err(OfpError::OFPBRC_BAD_TABLE_ID);
        }
        fm.match_.check_prereqs()?;
        match cmd {
            FlowModCommand::ADD => self.add_flow(fm, importance, now_ms, txn),
            FlowModCommand::MODIFY | FlowModCommand::MODIFY_STRICT => {
                self.modify_flows(&fm, cmd == FlowModCommand::MODIFY_STRICT, now_ms, txn)
            }
            FlowModCommand::DELETE | FlowModCommand::DELETE_STRICT => {
                let ids = self.select(&fm, cmd == FlowModCommand::DELETE_STRICT, true);
                for (t, id) in ids {
                    if let Some(rule) = self.txn_remove(txn, t, id) {
                        self.txn_flow_removed(txn, rule, FlowRemovedReason::DELETE, now_ms);
                    }
                }
                Ok(())
            }
            _ => Err(OfpError::OFPFMFC_BAD_COMMAND),
        }
    }

    /// The install-time checks: the codec's consistency checks (`ct()` needs
    /// IP, goto_table forward, ...), then what needs this switch's state:
    /// ports below `max_ports`, groups and meters that exist.
    fn check_instructions(&self, fm: &FlowMod) -> Result<(), OfpError> {
        let ctx = FlowContext {
            table_id: fm.table_id,
            n_tables: self.config.n_tables,
        };
        validate_flow(&fm.match_, &fm.instructions, ctx)?;
        // OVS checks the match and actions as it decodes, then refuses an
        // add to its read-only internal table, then checks ports, groups
        // and meters.
        if fm.command == FlowModCommand::ADD && fm.table_id == TBL_INTERNAL {
            return Err(OfpError::OFPBRC_EPERM);
        }
        for inst in &fm.instructions {
            match inst {
                Instruction::Meter(m) if !self.meters.contains_key(m) => {
                    return Err(OfpError::OFPMMFC_INVALID_METER);
                }
                Instruction::ApplyActions(acts) | Instruction::WriteActions(acts) => {
                    self.check_actions(acts)?
                }
                _ => {}
            }
        }
        Ok(())
    }

    pub(crate) fn check_actions(&self, acts: &[Action]) -> Result<(), OfpError> {
        for a in acts {
            match a {
                Action::Output { port, .. }
                    if *port >= MAX_PORTS && *port < ofp_codec::action::port::OFPP_MAX =>
                {
                    return Err(OfpError::OFPBAC_BAD_OUT_PORT);
                }
                Action::Group(g) if !self.groups.contains_key(g) => {
                    return Err(OfpError::OFPBAC_BAD_OUT_GROUP);
                }
                Action::OutputTrunc { port, .. }
                    if *port >= MAX_PORTS && *port < ofp_codec::action::port::OFPP_MAX =>
                {
                    return Err(OfpError::OFPBAC_BAD_OUT_PORT);
                }
                Action::Ct(ct) => self.check_actions(&ct.actions)?,
                Action::Clone(nested) => self.check_actions(nested)?,
                // Nicira actions the codec knows but translation does not
                // implement: refused as OVS refuses a Nicira action it lacks.
                Action::Multipath(_) | Action::Bundle(_) | Action::CheckPktLarger { .. } => {
                    return Err(OfpError::OFPBAC_BAD_VENDOR_TYPE);
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn add_flow(
        &mut self,
        fm: Cow<'_, FlowMod>,
        importance: u16,
        now_ms: u64,
        txn: &mut Txn,
    ) -> Result<(), OfpError> {
        self.check_instructions(&fm)?;
        let table_id = fm.table_id;
        let cls = RuleMatch::from_match(&fm.match_);
        let old = self.tables[usize::from(table_id)].find_strict(fm.priority, &fm.match_);
        // As OVS: an identical rule is replaced, overlap or not.
        if old.is_none() && fm.flags & OFPFF_CHECK_OVERLAP != 0 {
            let t = &self.tables[usize::from(table_id)];
            if t.rules
                .values()
                .any(|r| r.priority == fm.priority && r.cls().overlaps(&cls))
            {
                return Err(OfpError::OFPFMFC_OVERLAP);
            }
        }
        let conj = conjunctions(&fm.instructions);
        let (priority, cookie, flags) = (fm.priority, fm.cookie, fm.flags);
        let (idle_timeout, hard_timeout) = (fm.idle_timeout, fm.hard_timeout);
        let (match_, instructions): (Match, Arc<[Instruction]>) = match fm {
            Cow::Borrowed(f) => (f.match_.clone(), Arc::from(f.instructions.as_slice())),
            Cow::Owned(f) => (f.match_, Arc::from(f.instructions)),
        };
        let mut rule = Rule {
            id: self.next_rule_id,
            table_id,
            priority,
            match_,
            impossible: cls.impossible,
            cookie,
            instructions,
            idle_timeout,
            hard_timeout,
            importance,
            flags,
            created_ms: now_ms,
            modified_ms: now_ms,
            counters: Arc::new(Counters::new(0, 0, now_ms)),
            conj,
        };
        self.next_rule_id += 1;
        if let Some(old_id) = old
            && let Some(old_rule) = self.txn_remove(txn, table_id, old_id)
            && flags & OFPFF_RESET_COUNTS == 0
        {
            let c = &old_rule.counters;
            rule.counters = Arc::new(Counters::new(
                c.packets(),
                c.bytes(),
                c.used_ms().max(now_ms),
            ));
            Self::txn_carry(txn, c, &rule.counters);
        }
        self.txn_insert_cls(txn, rule, Some(&cls));
        Ok(())
    }

    fn modify_flows(
        &mut self,
        fm: &FlowMod,
        strict: bool,
        now_ms: u64,
        txn: &mut Txn,
    ) -> Result<(), OfpError> {
        // Checked even if nothing matches, as OVS checks while decoding.
        self.check_instructions(fm)?;
        let ids = self.select(fm, strict, false);
        for (t, id) in ids {
            let Some(old) = self.txn_remove(txn, t, id) else {
                continue;
            };
            let mut rule = Rule::clone(&old);
            rule.id = self.next_rule_id;
            self.next_rule_id += 1;
            rule.instructions = Arc::from(fm.instructions.as_slice());
            rule.conj = conjunctions(&fm.instructions);
            rule.modified_ms = now_ms;
            let c = &rule.counters;
            let kept = fm.flags & OFPFF_RESET_COUNTS == 0;
            let (p, b) = if kept {
                (c.packets(), c.bytes())
            } else {
                (0, 0)
            };
            let new = Arc::new(Counters::new(p, b, c.used_ms()));
            if kept {
                Self::txn_carry(txn, &old.counters, &new);
            }
            rule.counters = new;
            self.txn_insert(txn, rule);
        }
        Ok(())
    }

    /// The rules a modify/delete selects: strict (same match and priority)
    /// or loose; cookie filter; for deletes the out_port/out_group filters.
    pub(crate) fn select(&self, fm: &FlowMod, strict: bool, filter_out: bool) -> Vec<(u8, RuleId)> {
        let mut out = Vec::new();
        for t in self.table_ids(fm.table_id) {
            let table = &self.tables[t];
            let candidates: Vec<&Rule> = if strict {
                table
                    .find_strict(fm.priority, &fm.match_)
                    .and_then(|id| table.rules.get(&id))
                    .into_iter()
                    .collect()
            } else {
                table
                    .rules
                    .values()
                    .filter(|r| loose_match(&r.match_, &fm.match_))
                    .collect()
            };
            for r in candidates {
                if (r.cookie ^ fm.cookie) & fm.cookie_mask != 0 {
                    continue;
                }
                if filter_out && (!r.has_out_port(fm.out_port) || !r.has_out_group(fm.out_group)) {
                    continue;
                }
                out.push((t as u8, r.id));
            }
        }
        out.sort_unstable();
        out
    }
}
