//! Rules (flow entries) and the flow-mod request that creates them.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hashbrown::{DefaultHashBuilder, HashMap, HashTable};
use ofp_codec::{Action, Field, Instruction, Match};
use smallvec::SmallVec;

use crate::classifier::RuleId;
use crate::flow::{OfFlow, slot};

/// `OFPTT_ALL`: every table (deletes and stats requests only).
pub const OFPTT_ALL: u8 = 0xff;
/// `OFPG_ANY`: no group filter.
pub const OFPG_ANY: u32 = 0xffff_ffff;

/// A match in classifier form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleMatch {
    pub value: OfFlow,
    pub mask: OfFlow,
    /// The match requires a nonzero value in a field rvs does not carry
    /// (MPLS, most tunnel fields, ...): no packet can match it.
    pub impossible: bool,
}

impl RuleMatch {
    /// Converts a codec match. Values are masked.
    pub fn from_match(m: &Match) -> Self {
        let mut value = OfFlow::default();
        let mut mask = OfFlow::default();
        let mut impossible = false;
        for e in m.iter() {
            let (v, mk) = (e.value_u128(), e.mask_u128());
            let mk = match e.field {
                Field::CtState | Field::IpFrag => mk & 0xff,
                _ => mk,
            };
            match slot(e.field) {
                Some(sl) => {
                    let cap = if sl.bits == 128 {
                        u128::MAX
                    } else {
                        (1u128 << sl.bits) - 1
                    };
                    let sv = v >> sl.vshift;
                    let sm = mk >> sl.vshift;
                    if sv & sm & !cap != 0 {
                        impossible = true;
                    }
                    value.set_masked(e.field, v & mk, mk);
                    mask.or_field(e.field, mk);
                }
                None => {
                    if v & mk != 0 {
                        impossible = true;
                    }
                }
            }
        }
        let value = value.masked(&mask);
        RuleMatch {
            value,
            mask,
            impossible,
        }
    }

    /// Whether a packet could match both (OVS's overlap test).
    pub fn overlaps(&self, other: &RuleMatch) -> bool {
        if self.impossible || other.impossible {
            return false;
        }
        (0..self.value.w.len())
            .all(|i| (self.value.w[i] ^ other.value.w[i]) & self.mask.w[i] & other.mask.w[i] == 0)
    }
}

/// Whether `rule` is selected by the loose (non-strict) match `req`: every
/// field `req` matches, `rule` matches at least as specifically and with a
/// value that agrees under `req`'s mask (OF1.3 §6.4).
pub fn loose_match(rule: &Match, req: &Match) -> bool {
    req.iter().all(|r| {
        let (rv, rm) = (r.value_u128(), r.mask_u128());
        match rule.value_mask(r.field) {
            Some((v, m)) => m & rm == rm && v & rm == rv,
            None => false,
        }
    })
}

/// A rule's traffic counters.
#[derive(Debug, Default)]
pub struct Counters {
    packets: AtomicU64,
    bytes: AtomicU64,
    used_ms: AtomicU64,
    /// Timeouts lowered by `fin_timeout`, `idle << 16 | hard` seconds, 0:
    /// none (see `learned.rs`).
    pub(crate) fin_s: std::sync::atomic::AtomicU32,
}

impl Counters {
    pub fn new(packets: u64, bytes: u64, used_ms: u64) -> Self {
        Counters {
            packets: AtomicU64::new(packets),
            bytes: AtomicU64::new(bytes),
            used_ms: AtomicU64::new(used_ms),
            fin_s: Default::default(),
        }
    }

    pub fn packets(&self) -> u64 {
        self.packets.load(Ordering::Relaxed)
    }

    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Last time traffic was credited (or creation), ms.
    pub fn used_ms(&self) -> u64 {
        self.used_ms.load(Ordering::Relaxed)
    }

    /// Counters that began as a copy of `old`'s take the traffic `old` got
    /// since (a staged replacement at commit, [`crate::staged`]).
    pub(crate) fn catch_up(&self, old: &Counters) {
        let dp = old.packets().saturating_sub(self.packets());
        let db = old.bytes().saturating_sub(self.bytes());
        self.packets.fetch_add(dp, Ordering::Relaxed);
        self.bytes.fetch_add(db, Ordering::Relaxed);
        self.used_ms.fetch_max(old.used_ms(), Ordering::Relaxed);
    }

    pub fn add(&self, packets: u64, bytes: u64, now_ms: u64) {
        self.packets.fetch_add(packets, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        if packets > 0 {
            self.used_ms.fetch_max(now_ms, Ordering::Relaxed);
        }
    }
}

/// A flow entry.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: RuleId,
    pub table_id: u8,
    pub priority: u16,
    pub match_: Match,
    /// No packet can match (see [`RuleMatch::impossible`]): the rule is
    /// not in the classifier. Its classifier form is not kept (two
    /// 280-byte flows, more than half of a rule's memory): [`Rule::cls`]
    /// derives it from `match_` when a table needs it.
    pub impossible: bool,
    pub cookie: u64,
    pub instructions: Arc<[Instruction]>,
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    pub importance: u16,
    /// `OFPFF_*` as given when the rule was added.
    pub flags: u16,
    pub created_ms: u64,
    /// Last ADD-replace or MODIFY (hard timeouts count from here).
    pub modified_ms: u64,
    /// Last time a packet hit the rule (idle timeouts count from here).
    /// Packet/byte counters and last use, shared by every snapshot holding
    /// this rule, so that crediting traffic never copies a table.
    pub counters: Arc<Counters>,
    /// `conjunction(id, clause/n)` actions, if the rule is conjunctive.
    pub conj: SmallVec<[(u32, u8, u8); 2]>,
}

impl Rule {
    /// The rule's match in classifier form.
    pub fn cls(&self) -> RuleMatch {
        RuleMatch::from_match(&self.match_)
    }

    /// Whether the rule's actions consist only of `conjunction` (a soft rule).
    pub fn is_soft(&self) -> bool {
        !self.conj.is_empty()
    }

    /// All actions of the rule's apply- and write-actions instructions.
    pub fn actions(&self) -> impl Iterator<Item = &Action> {
        self.instructions.iter().flat_map(|i| match i {
            Instruction::ApplyActions(a) | Instruction::WriteActions(a) => a.as_slice(),
            _ => &[],
        })
    }

    /// OVS's `ofproto_rule_has_out_port`: outputs (or sends to the
    /// controller / enqueues) to `port`; `OFPP_ANY` matches every rule.
    pub fn has_out_port(&self, port: u32) -> bool {
        use ofp_codec::action::port::{OFPP_ANY, OFPP_CONTROLLER};
        port == OFPP_ANY
            || self.actions().any(|a| match a {
                Action::Output { port: p, .. } => *p == port,
                Action::Controller(_) => port == OFPP_CONTROLLER,
                Action::Ct(ct) => ct
                    .actions
                    .iter()
                    .any(|a| matches!(a, Action::Output { port: p, .. } if *p == port)),
                _ => false,
            })
    }

    /// Whether the rule outputs to group `group` (`OFPG_ANY`: every rule).
    pub fn has_out_group(&self, group: u32) -> bool {
        group == OFPG_ANY
            || self
                .actions()
                .any(|a| matches!(a, Action::Group(g) if *g == group))
    }

    /// Groups the rule sends to.
    pub fn groups(&self) -> impl Iterator<Item = u32> + '_ {
        self.actions().filter_map(|a| match a {
            Action::Group(g) => Some(*g),
            _ => None,
        })
    }

    /// The meter of the rule's meter instruction, if any.
    pub fn meter(&self) -> Option<u32> {
        self.instructions.iter().find_map(|i| match i {
            Instruction::Meter(m) => Some(*m),
            _ => None,
        })
    }
}

/// A table's rules by id. Each rule is shared (`Arc`) by every snapshot
/// that holds it: copying a table for a new snapshot copies pointers, an
/// undo log keeps a pointer, and a rule's match and instructions are freed
/// once, by whoever drops the last reference.
#[derive(Clone, Debug, Default)]
pub struct RuleMap(HashMap<RuleId, Arc<Rule>>);

impl RuleMap {
    pub fn get(&self, id: &RuleId) -> Option<&Rule> {
        self.0.get(id).map(|r| &**r)
    }

    pub fn values(&self) -> impl Iterator<Item = &Rule> {
        self.0.values().map(|r| &**r)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn insert(&mut self, rule: Arc<Rule>) {
        self.0.insert(rule.id, rule);
    }

    pub(crate) fn remove(&mut self, id: &RuleId) -> Option<Arc<Rule>> {
        self.0.remove(id)
    }
}

/// The `(priority, match)` → rule index of a table (strict selection and
/// ADD's replacement of an identical rule), in O(1): a hash table of
/// (hash of priority and match, rule id). The match itself is not copied;
/// a candidate is confirmed against the rule it names, so two rules whose
/// keys collide on the hash are still told apart exactly.
#[derive(Clone, Debug, Default)]
pub struct StrictIndex {
    table: HashTable<(u64, RuleId)>,
    hasher: DefaultHashBuilder,
}

impl StrictIndex {
    /// The hash `priority` and `m` are filed under.
    pub fn hash(&self, priority: u16, m: &Match) -> u64 {
        self.hasher.hash_one((priority, m))
    }

    /// The rule filed under `hash` for which `is_it` holds.
    pub fn find(&self, hash: u64, mut is_it: impl FnMut(RuleId) -> bool) -> Option<RuleId> {
        self.table
            .find(hash, |&(h, id)| h == hash && is_it(id))
            .map(|&(_, id)| id)
    }

    pub fn insert(&mut self, hash: u64, id: RuleId) {
        self.table.insert_unique(hash, (hash, id), |&(h, _)| h);
    }

    /// Removes rule `id` filed under `hash`; returns whether it was there.
    pub fn remove(&mut self, hash: u64, id: RuleId) -> bool {
        match self.table.find_entry(hash, |&(h, i)| h == hash && i == id) {
            Ok(e) => {
                e.remove();
                true
            }
            Err(_) => false,
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

/// The conjunction clauses of an instruction list whose only actions are
/// `conjunction` (empty otherwise).
pub fn conjunctions(instructions: &[Instruction]) -> SmallVec<[(u32, u8, u8); 2]> {
    let mut out = SmallVec::new();
    for i in instructions {
        match i {
            Instruction::ApplyActions(acts) => {
                for a in acts {
                    match a {
                        Action::Conjunction {
                            id,
                            clause,
                            n_clauses,
                        } => out.push((*id, *clause, *n_clauses)),
                        _ => return SmallVec::new(),
                    }
                }
            }
            _ => return SmallVec::new(),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Match {
        Match::parse(s).unwrap()
    }

    #[test]
    fn loose_match_follows_the_spec() {
        let rule = m("tcp,nw_src=10.0.0.1");
        assert!(loose_match(&rule, &m("")));
        assert!(loose_match(&rule, &m("ip")));
        assert!(loose_match(&rule, &m("ip,nw_src=10.0.0.0/8")));
        assert!(!loose_match(&rule, &m("ip,nw_src=11.0.0.0/8")));
        assert!(
            !loose_match(&rule, &m("tcp,tp_dst=80")),
            "rule less specific"
        );
        let wide = m("ip,nw_src=10.0.0.0/8");
        assert!(!loose_match(&wide, &m("ip,nw_src=10.0.0.1")));
    }

    #[test]
    fn overlap_and_impossible_fields() {
        let a = RuleMatch::from_match(&m("ip,nw_src=10.0.0.0/8"));
        let b = RuleMatch::from_match(&m("ip,nw_dst=10.0.0.1"));
        let c = RuleMatch::from_match(&m("ipv6"));
        assert!(a.overlaps(&b));
        assert!(!a.overlaps(&c));
        let mpls = RuleMatch::from_match(&m("mpls,mpls_label=16"));
        assert!(mpls.impossible);
        let dscp = RuleMatch::from_match(&m("ip,ip_dscp=46"));
        assert_eq!(dscp.value.get(Field::NwTos), 0xb8);
        assert_eq!(dscp.mask.get(Field::NwTos), 0xfc);
    }
}
