//! Flows installed by `learn` actions: `delete_learned` and `limit=`, as
//! Open vSwitch 3.1 handles them.
//!
//! - `delete_learned`: OVS counts, per `(cookie, table_id)` of every `learn`
//!   action carrying `NX_LEARN_F_DELETE_LEARNED` (in a rule's apply-actions),
//!   how many rules hold such an action. When a rule is removed (deleted,
//!   replaced by an ADD or a MODIFY, expired) and no remaining rule holds a
//!   `delete_learned` learn with that pair, every rule of that table with
//!   exactly that cookie is deleted (reason DELETE), whether a learn
//!   installed it or not. rvs computes the same thing when a change commits:
//!   the pairs of the removed rules that no remaining rule still names.
//! - `limit=N`: a learn that would add a flow is refused when its table
//!   already holds N or more rules with the learn's cookie; a flow identical
//!   to one already present (same match, priority, timeouts, flags, cookie,
//!   actions) is only refreshed and never refused.

use std::collections::BTreeSet;

use ofp_codec::msg::flow_removed::FlowRemovedReason;
use ofp_codec::{Action, Instruction};

use crate::flow_mod::Txn;
use crate::ofproto::{Event, Ofproto, flow_removed};
use crate::rule::Rule;

/// `NX_LEARN_F_DELETE_LEARNED` (not re-exported by the codec).
pub(crate) const NX_LEARN_F_DELETE_LEARNED: u16 = 1 << 1;

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

impl Ofproto {
    /// Deletes, inside `txn`, the flows of every pair in `pairs` that no
    /// rule holds any more (see the module documentation), and then those of
    /// the pairs that this deletion frees in turn.
    pub(crate) fn flush_learned(&mut self, txn: &mut Txn, pairs: Vec<(u64, u8)>, now_ms: u64) {
        let mut pending: BTreeSet<(u64, u8)> = pairs.into_iter().collect();
        while !pending.is_empty() {
            // Pairs some remaining rule still names stay.
            for table in &self.tables {
                if pending.is_empty() {
                    break;
                }
                for r in table.rules.values() {
                    for p in delete_learned_pairs(r) {
                        pending.remove(&p);
                    }
                }
            }
            let mut next = Vec::new();
            for (cookie, table_id) in std::mem::take(&mut pending) {
                let Some(table) = self.tables.get(usize::from(table_id)) else {
                    continue;
                };
                let mut ids: Vec<_> = table
                    .rules
                    .values()
                    .filter(|r| r.cookie == cookie)
                    .map(|r| r.id)
                    .collect();
                ids.sort_unstable();
                for id in ids {
                    if let Some(rule) = self.txn_remove(txn, table_id, id) {
                        next.extend(delete_learned_pairs(&rule));
                        if let Some(fr) = flow_removed(&rule, FlowRemovedReason::DELETE, now_ms) {
                            self.txn_event(txn, Event::FlowRemoved(fr));
                        }
                    }
                }
            }
            pending.extend(next);
        }
    }

    /// [`Ofproto::flush_learned`] outside a flow-mod (expiry): applied and
    /// committed at once.
    pub(crate) fn flush_learned_now(&mut self, pairs: Vec<(u64, u8)>, now_ms: u64) {
        if pairs.is_empty() {
            return;
        }
        let mut txn = Txn::default();
        self.flush_learned(&mut txn, pairs, now_ms);
        self.commit_txn(txn);
    }
}
