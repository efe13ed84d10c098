//! Flows installed by `learn` actions: `delete_learned` and `limit=`, as
//! Open vSwitch 3.1 handles them.
//!
//! - `delete_learned`: OVS counts, per `(cookie, table_id)` of every `learn`
//!   action carrying `NX_LEARN_F_DELETE_LEARNED` (in a rule's apply-actions),
//!   how many rules hold such an action. When a rule is removed (deleted,
//!   replaced by an ADD or a MODIFY, expired) and the count of a pair it
//!   held drops to 0, every rule of that table with exactly that cookie is
//!   deleted (reason DELETE), whether a learn installed it or not, and so on
//!   for the pairs those deletions free. rvs keeps the same counts
//!   ([`LearnIndex`], per table, updated on every insert and removal) and a
//!   count of rules per cookie, so the check scans no table; a flush scans
//!   the one table it empties of a cookie (only when the count says it has
//!   such rules). Counts rather than sets of rule ids keep the index a few
//!   entries long, so copying a table for a bundle does not copy one entry
//!   per rule.
//!   In a bundle, as OVS's commit "finish" step, each message's references
//!   are counted in message order (a message's new rules before its removed
//!   ones): a pair whose count drops to 0 after some message is flushed
//!   even if a later message of the bundle holds it again; the flows
//!   flushed are those of the bundle's final tables.
//! - `limit=N`: a learn that would add a flow is refused when its table
//!   already holds N or more rules with the learn's cookie; a flow identical
//!   to one already present (same match, priority, timeouts, flags, cookie,
//!   actions) is only refreshed and never refused.
//! - `fin_timeout(idle_timeout=I,hard_timeout=H)`: traffic with TCP FIN or
//!   RST lowers its rule's timeouts to the nonzero values given (never
//!   raises them), kept in the rule's shared counters
//!   ([`Rule::timeouts_s`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use ofp_codec::msg::flow_mod::FlowMod;
use ofp_codec::msg::flow_removed::FlowRemovedReason;
use ofp_codec::{Action, Instruction};

use crate::classifier::RuleId;
use crate::flow_mod::Txn;
use crate::ofproto::{Ofproto, RuleRef};
use crate::rule::{Counters, Rule};

/// `NX_LEARN_F_DELETE_LEARNED` (not re-exported by the codec).
pub(crate) const NX_LEARN_F_DELETE_LEARNED: u16 = 1 << 1;

/// `NX_LEARN_F_WRITE_RESULT`.
pub(crate) const NX_LEARN_F_WRITE_RESULT: u16 = 1 << 2;

/// The `(cookie, table_id)` of each `delete_learned` learn in `rule`'s
/// apply-actions (where OVS looks).
pub(crate) fn delete_learned_pairs(rule: &Rule) -> impl Iterator<Item = (u64, u8)> + '_ {
    rule.instructions
        .iter()
        .flat_map(|i| match i {
            Instruction::ApplyActions(a) => a.as_slice(),
            _ => &[],
        })
        .filter_map(|a| match a {
            Action::Learn(l) if l.flags & NX_LEARN_F_DELETE_LEARNED != 0 => {
                Some((l.cookie, l.table_id))
            }
            _ => None,
        })
}

/// A table's rule count per cookie and `delete_learned` reference counts,
/// kept by the table's insert and remove.
#[derive(Clone, Debug, Default)]
pub(crate) struct LearnIndex {
    /// Number of rules per cookie (what `limit=` counts; a flush deletes
    /// them). No entry: none.
    by_cookie: hashbrown::HashMap<u64, u32>,
    /// How many `delete_learned` learns this table's rules hold, per
    /// `(cookie, table_id)` they name.
    refs: hashbrown::HashMap<(u64, u8), u32>,
}

impl LearnIndex {
    pub(crate) fn insert(&mut self, rule: &Rule) {
        *self.by_cookie.entry(rule.cookie).or_default() += 1;
        for p in delete_learned_pairs(rule) {
            *self.refs.entry(p).or_default() += 1;
        }
    }

    pub(crate) fn remove(&mut self, rule: &Rule) {
        if let Some(n) = self.by_cookie.get_mut(&rule.cookie) {
            *n -= 1;
            if *n == 0 {
                self.by_cookie.remove(&rule.cookie);
            }
        }
        for p in delete_learned_pairs(rule) {
            if let Some(n) = self.refs.get_mut(&p) {
                *n -= 1;
                if *n == 0 {
                    self.refs.remove(&p);
                }
            }
        }
    }

    /// Number of rules with exactly `cookie`.
    pub(crate) fn n_with_cookie(&self, cookie: u64) -> usize {
        self.by_cookie.get(&cookie).map_or(0, |&n| n as usize)
    }
}

/// One change of a `delete_learned` reference count inside a transaction.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LearnDelta {
    /// The bundle message that made it.
    msg: u32,
    pair: (u64, u8),
    /// +1 (a rule holding the pair was inserted) or -1 (removed).
    delta: i32,
}

/// Logs in `txn` the references `rule` holds, as `delta` (+1 insert, -1
/// removal).
pub(crate) fn log_refs(txn: &mut Txn, rule: &Rule, delta: i32) {
    let msg = txn.msg;
    for pair in delete_learned_pairs(rule) {
        txn.learn_log.push(LearnDelta { msg, pair, delta });
    }
}

impl Ofproto {
    /// How many rules, over all tables, hold a `delete_learned` learn for
    /// `pair` (one lookup per table).
    pub(crate) fn learned_refs(&self, pair: (u64, u8)) -> u32 {
        self.tables
            .iter()
            .map(|t| t.learn.refs.get(&pair).copied().unwrap_or(0))
            .sum()
    }

    /// The pairs whose count drops to 0 in a transaction whose changes are
    /// `log` (already applied to the tables): replayed message by message
    /// from the count before the transaction, each message's increments
    /// before its decrements, as OVS's bundle commit finishes its messages
    /// (`replace_rule_finish` counts the new rule before the old one).
    pub(crate) fn dead_learned_pairs(&self, log: &[LearnDelta]) -> Vec<(u64, u8)> {
        if log.is_empty() {
            return Vec::new();
        }
        let mut by_pair: BTreeMap<(u64, u8), Vec<&LearnDelta>> = BTreeMap::new();
        for d in log {
            by_pair.entry(d.pair).or_default().push(d);
        }
        let mut dead = Vec::new();
        for (pair, deltas) in by_pair {
            let sum: i64 = deltas.iter().map(|d| i64::from(d.delta)).sum();
            let mut count = i64::from(self.learned_refs(pair)) - sum;
            let mut i = 0;
            while i < deltas.len() {
                let msg = deltas[i].msg;
                let (mut inc, mut dec) = (0i64, 0i64);
                while i < deltas.len() && deltas[i].msg == msg {
                    if deltas[i].delta > 0 {
                        inc += 1;
                    } else {
                        dec += 1;
                    }
                    i += 1;
                }
                count += inc - dec;
                if dec > 0 && count <= 0 {
                    dead.push(pair);
                    break;
                }
            }
        }
        dead
    }

    /// Deletes, inside `txn`, the flows of every pair in `pairs` (pairs
    /// whose count dropped to 0, see the module documentation), and then
    /// those of the pairs that this deletion frees in turn.
    pub(crate) fn flush_learned(&mut self, txn: &mut Txn, pairs: Vec<(u64, u8)>, now_ms: u64) {
        let mut pending: BTreeSet<(u64, u8)> = pairs.into_iter().collect();
        while !pending.is_empty() {
            let mut next = BTreeSet::new();
            for (cookie, table_id) in std::mem::take(&mut pending) {
                let Some(table) = self.tables.get(usize::from(table_id)) else {
                    continue;
                };
                let mut ids: Vec<RuleId> = if table.learn.n_with_cookie(cookie) == 0 {
                    Vec::new()
                } else {
                    table
                        .rules()
                        .filter(|r| r.cookie == cookie)
                        .map(|r| r.id)
                        .collect()
                };
                ids.sort_unstable();
                for id in ids {
                    if let Some(rule) = self.txn_remove(txn, table_id, id) {
                        for p in delete_learned_pairs(&rule) {
                            if self.learned_refs(p) == 0 {
                                next.insert(p);
                            }
                        }
                        self.txn_flow_removed(txn, rule, FlowRemovedReason::DELETE, now_ms);
                    }
                }
            }
            pending = next;
        }
    }

    /// [`Ofproto::flush_learned`] outside a flow-mod (expiry): `removed` are
    /// the pairs of the rules just removed; those no rule holds any more
    /// are flushed, applied and committed at once.
    pub(crate) fn flush_learned_now(&mut self, removed: Vec<(u64, u8)>, now_ms: u64) {
        let dead: BTreeSet<(u64, u8)> = removed
            .into_iter()
            .filter(|&p| self.learned_refs(p) == 0)
            .collect();
        if dead.is_empty() {
            return;
        }
        let mut txn = Txn::default();
        self.flush_learned(&mut txn, dead.into_iter().collect(), now_ms);
        self.commit_txn(txn);
    }
}

/// TCP FIN and RST flags (what triggers `fin_timeout`).
const TCP_FIN_OR_RST: u16 = 0x01 | 0x04;

impl Ofproto {
    /// Whether the flow `fm` (from a `learn`) is already in its table as
    /// is: same match and priority, timeouts, flags, cookie and actions
    /// (OVS's `ofproto_flow_mod_init_for_learn`), so learning it again
    /// only refreshes it.
    pub(crate) fn learned_flow_exists(&self, fm: &FlowMod) -> bool {
        let Some(table) = self.tables.get(usize::from(fm.table_id)) else {
            return false;
        };
        table
            .find_strict(fm.priority, &fm.match_)
            .and_then(|id| table.rules.get(&id))
            .is_some_and(|r| {
                r.idle_timeout == fm.idle_timeout
                    && r.hard_timeout == fm.hard_timeout
                    && r.flags == fm.flags
                    && r.cookie == fm.cookie
                    && *r.instructions == *fm.instructions
            })
    }

    /// Installs a flow a `learn` with `limit` (0: none) produced, checking
    /// the limit again against the current tables (translations run on
    /// snapshots: others may have learned since). `Ok(false)`: refused by
    /// the limit.
    pub fn install_learned(
        &mut self,
        fm: &FlowMod,
        limit: u32,
        now_ms: u64,
    ) -> Result<bool, ofp_codec::OfpError> {
        if limit != 0
            && !self.learned_flow_exists(fm)
            && self.n_flows_with_cookie(fm.table_id, fm.cookie) >= limit as usize
        {
            return Ok(false);
        }
        self.handle_flow_mod(fm, now_ms).map(|()| true)
    }

    /// Rules of table `table_id` with exactly `cookie` (what `limit=` counts;
    /// O(1), from the table's cookie index).
    pub(crate) fn n_flows_with_cookie(&self, table_id: u8, cookie: u64) -> usize {
        self.tables
            .get(usize::from(table_id))
            .map_or(0, |t| t.learn.n_with_cookie(cookie))
    }

    /// Applies a translation's `fin_timeout` actions for traffic whose TCP
    /// flags (accumulated, as the datapath's megaflow statistics keep them)
    /// are `tcp_flags`: with FIN or RST, each rule's idle and hard timeouts
    /// are lowered to the action's nonzero values (OVS's
    /// `ofproto_rule_reduce_timeouts`; never raised). Takes `&self`: the
    /// reduction lives in the rule's shared counters; [`Ofproto::run`]
    /// starts watching such a rule's deadlines.
    pub fn fin_timeouts(&self, list: &[(RuleRef, u16, u16)], tcp_flags: u16) {
        if tcp_flags & TCP_FIN_OR_RST == 0 {
            return;
        }
        for &(r, idle_s, hard_s) in list {
            if idle_s == 0 && hard_s == 0 {
                continue;
            }
            if let Some(rule) = self.rule(r) {
                rule.counters.reduce_timeouts(idle_s, hard_s);
                self.fin_reduced.lock().push(r);
            }
        }
    }

    /// Makes [`Ofproto::run`] watch the rules `fin_timeout` gave a timeout.
    pub(crate) fn watch_fin_reduced(&mut self) {
        let reduced = std::mem::take(&mut *self.fin_reduced.lock());
        for r in reduced {
            let Some(t) = self.tables.get_mut(usize::from(r.table_id)) else {
                continue;
            };
            if t.rules.get(&r.id).is_some() && !t.timed.contains(&r.id) {
                Arc::make_mut(t).timed.insert(r.id);
                // A table changed: a bundle staged on an older copy of it
                // must not replace it (`crate::staged`).
                self.generation += 1;
            }
        }
    }
}

/// OVS's `reduce_timeout`: a nonzero `max` lowers `t` (0 is "never").
fn reduce(max: u16, t: u16) -> u16 {
    if max != 0 && (t == 0 || t > max) {
        max
    } else {
        t
    }
}

impl Counters {
    /// Lowers the rule's timeouts (seconds, 0: leave) as `fin_timeout` does.
    pub(crate) fn reduce_timeouts(&self, idle_s: u16, hard_s: u16) {
        let _ = self
            .fin_s
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                let (i, h) = ((v >> 16) as u16, v as u16);
                Some(u32::from(reduce(idle_s, i)) << 16 | u32::from(reduce(hard_s, h)))
            });
    }
}

impl Rule {
    /// The rule's (idle, hard) timeouts in seconds, as lowered by
    /// `fin_timeout` (0: none).
    pub fn timeouts_s(&self) -> (u16, u16) {
        let v = self.counters.fin_s.load(Ordering::Acquire);
        let (i, h) = ((v >> 16) as u16, v as u16);
        (reduce(i, self.idle_timeout), reduce(h, self.hard_timeout))
    }
}
