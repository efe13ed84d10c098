//! A per-table packet classifier: tuple space search over [`OfFlow`]s.
//!
//! Rules are grouped into *subtables*, one per distinct mask; a subtable is a
//! hash table from the masked flow to the rules with that masked value, in
//! priority order. Subtables are kept sorted by the highest priority they
//! hold, so a lookup can stop as soon as no remaining subtable can beat the
//! best match found so far.
//!
//! Megaflow contract (Open vSwitch's): every subtable whose hash table a
//! lookup probes has its whole mask OR-ed into the caller's wildcard mask,
//! whether or not it matched, because the absence of a match there is also
//! a fact about those bits. Subtables skipped by the priority cut-off are
//! not examined and add nothing. Staged lookup (OVS's): each subtable also
//! indexes its rules by the metadata, metadata+L2 and metadata+L2+L3 parts
//! of its mask; a packet that no rule agrees with at some stage only
//! un-wildcards the fields up to that stage. Prefix tries (OVS's defaults:
//! nw_dst, then nw_src; see [`crate::prefix`]) may rule a subtable out
//! before its L3 stage with only the address bits the proof needed, and a
//! per-subtable ports trie narrows a final-stage miss to the port bits
//! needed, so megaflows are as wide as OVS's.
//!
//! Conjunctive ("soft") rules are returned separately so the table layer can
//! evaluate `conjunction(id, k/n)` clauses.

use hashbrown::HashMap;
use smallvec::SmallVec;

use ofp_codec::Field;

use crate::flow::{OF_WORDS, OfFlow};
use crate::prefix::{PrefixSet, bits_mask, prefix_len};

/// Identifies a rule inside one classifier.
pub type RuleId = u64;

/// A classifier entry: the rule's id, priority and whether it is a
/// conjunctive (soft) match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub id: RuleId,
    pub priority: u16,
    pub soft: bool,
}

type Words = SmallVec<[u64; 8]>;

/// Fields of each lookup stage, as OVS's classifier segments: metadata,
/// then L2, then L3; the last stage (L4 and anything else) is implicit.
fn stage_fields(stage: usize) -> &'static [Field] {
    use Field as F;
    const META: &[Field] = &[
        F::InPort,
        F::RecircId,
        F::DpHash,
        F::CtState,
        F::CtZone,
        F::CtMark,
        F::CtLabel,
        F::CtNwSrc,
        F::CtNwDst,
        F::CtIpv6Src,
        F::CtIpv6Dst,
        F::CtNwProto,
        F::CtTpSrc,
        F::CtTpDst,
        F::Metadata,
        F::XXReg(0),
        F::XXReg(1),
        F::XXReg(2),
        F::XXReg(3),
        F::ConjId,
        F::PktMark,
        F::TunId,
    ];
    const L2: &[Field] = &[F::EthSrc, F::EthDst, F::EthType, F::VlanTci];
    const L3: &[Field] = &[
        F::Ipv4Src,
        F::Ipv4Dst,
        F::Ipv6Src,
        F::Ipv6Dst,
        F::Ipv6Label,
        F::IpProto,
        F::NwTos,
        F::IpEcn,
        F::NwTtl,
        F::IpFrag,
        F::ArpSha,
        F::ArpTha,
        F::NdTarget,
    ];
    match stage {
        0 => META,
        1 => L2,
        _ => L3,
    }
}

/// Cumulative masks of the stages before the last: stage 0, stage 0+1, ...
fn stage_masks() -> &'static [OfFlow; 3] {
    static MASKS: std::sync::OnceLock<[OfFlow; 3]> = std::sync::OnceLock::new();
    MASKS.get_or_init(|| {
        let mut acc = OfFlow::default();
        std::array::from_fn(|i| {
            for f in stage_fields(i) {
                acc.or_with(&OfFlow::field_mask(*f));
            }
            acc
        })
    })
}

#[derive(Clone, Debug)]
struct Stage {
    /// The subtable's mask cut to this stage and the ones before it.
    mask: OfFlow,
    words: SmallVec<[u8; 12]>,
    /// How many rules have each masked prefix value.
    index: HashMap<Words, u32>,
}

#[derive(Clone, Debug)]
struct Subtable {
    mask: OfFlow,
    /// Indices of the nonzero words of `mask`.
    words: SmallVec<[u8; 12]>,
    /// Early-exit stages (OVS's staged lookup): only those that narrow the
    /// mask, in order; the full mask is checked last through `buckets`.
    stages: SmallVec<[Stage; 3]>,
    buckets: HashMap<Words, SmallVec<[Entry; 1]>>,
    /// Rule count per priority, to keep `max_priority` exact on removal.
    priorities: std::collections::BTreeMap<u16, usize>,
    max_priority: u16,
    /// Per trie field: the mask's prefix length on it (0: not a prefix
    /// match, the trie does not apply) and the stage whose range holds it
    /// (`stages.len()` = the final range).
    trie_plen: [u8; N_TRIES],
    trie_stage: [usize; N_TRIES],
    /// Prefix length of the 32-bit `tp_src:tp_dst` mask, and the rules'
    /// port prefixes (OVS's ports trie).
    ports_plen: u8,
    ports: PrefixSet,
}

/// Fields with a prefix trie, in OVS's order (`default_prefix_fields`).
const TRIE_FIELDS: [Field; N_TRIES] = [Field::Ipv4Dst, Field::Ipv4Src];
const N_TRIES: usize = 2;

fn ports_value(f: &OfFlow) -> u32 {
    ((f.get(Field::TcpSrc) as u32) << 16) | f.get(Field::TcpDst) as u32
}

fn nonzero_words(m: &OfFlow) -> SmallVec<[u8; 12]> {
    (0..OF_WORDS as u8)
        .filter(|&i| m.w[i as usize] != 0)
        .collect()
}

#[inline]
fn masked_words(flow: &OfFlow, mask: &OfFlow, words: &[u8]) -> Words {
    words
        .iter()
        .map(|&i| flow.w[i as usize] & mask.w[i as usize])
        .collect()
}

impl Subtable {
    fn new(mask: &OfFlow) -> Self {
        let mut stages: SmallVec<[Stage; 3]> = SmallVec::new();
        let mut prev = OfFlow::default();
        for cum in stage_masks() {
            let m = mask.masked(cum);
            if m != prev && m != *mask && !m.is_zero() {
                stages.push(Stage {
                    mask: m,
                    words: nonzero_words(&m),
                    index: HashMap::new(),
                });
                prev = m;
            }
        }
        let mut trie_plen = [0; N_TRIES];
        let mut trie_stage = [stages.len(); N_TRIES];
        for (j, f) in TRIE_FIELDS.iter().enumerate() {
            let fm = mask.get(*f) as u32;
            if fm != 0
                && let Some(len) = prefix_len(fm)
            {
                trie_plen[j] = len;
                let field = OfFlow::field_mask(*f);
                trie_stage[j] = stages
                    .iter()
                    .position(|st| !st.mask.masked(&field).is_zero())
                    .unwrap_or(stages.len());
            }
        }
        let pm = ports_value(mask);
        Subtable {
            mask: *mask,
            words: nonzero_words(mask),
            stages,
            buckets: HashMap::new(),
            priorities: Default::default(),
            max_priority: 0,
            trie_plen,
            trie_stage,
            ports_plen: if pm == 0 {
                0
            } else {
                32 - pm.trailing_zeros() as u8
            },
            ports: PrefixSet::default(),
        }
    }

    #[inline]
    fn key(&self, flow: &OfFlow) -> Words {
        masked_words(flow, &self.mask, &self.words)
    }

    fn is_empty(&self) -> bool {
        self.priorities.is_empty()
    }
}

/// The result of a lookup.
#[derive(Clone, Debug, Default)]
pub struct Found {
    /// The highest-priority ordinary rule that matches.
    pub hard: Option<Entry>,
    /// Soft rules that match with a priority above `hard`'s.
    pub soft: SmallVec<[Entry; 4]>,
}

/// See the module documentation.
#[derive(Clone, Debug, Default)]
pub struct Classifier {
    subtables: Vec<Subtable>,
    n_rules: usize,
    /// Prefixes of every rule on each `TRIE_FIELDS` field (OVS's tries).
    tries: [PrefixSet; N_TRIES],
}

impl Classifier {
    pub fn new() -> Self {
        Classifier::default()
    }

    pub fn len(&self) -> usize {
        self.n_rules
    }

    pub fn is_empty(&self) -> bool {
        self.n_rules == 0
    }

    /// Number of distinct masks.
    pub fn n_subtables(&self) -> usize {
        self.subtables.len()
    }

    fn resort(&mut self) {
        self.subtables
            .sort_by_key(|st| std::cmp::Reverse(st.max_priority));
    }

    /// Adds a rule matching `value` under `mask` (`value` need not be masked).
    pub fn insert(&mut self, entry: Entry, value: &OfFlow, mask: &OfFlow) {
        let mut created = false;
        let idx = match self.subtables.iter().position(|st| st.mask == *mask) {
            Some(i) => i,
            None => {
                self.subtables.push(Subtable::new(mask));
                created = true;
                self.subtables.len() - 1
            }
        };
        let st = &mut self.subtables[idx];
        for stage in &mut st.stages {
            *stage
                .index
                .entry(masked_words(value, &stage.mask, &stage.words))
                .or_default() += 1;
        }
        for (j, f) in TRIE_FIELDS.iter().enumerate() {
            if st.trie_plen[j] > 0 {
                self.tries[j].insert(value.get(*f) as u32, st.trie_plen[j]);
            }
        }
        if st.ports_plen > 0 {
            st.ports.insert(ports_value(value), st.ports_plen);
        }
        let key = st.key(value);
        let bucket = st.buckets.entry(key).or_default();
        let pos = bucket
            .iter()
            .position(|e| e.priority < entry.priority)
            .unwrap_or(bucket.len());
        bucket.insert(pos, entry);
        *st.priorities.entry(entry.priority).or_default() += 1;
        let old_max = st.max_priority;
        st.max_priority = *st.priorities.keys().next_back().unwrap_or(&0);
        self.n_rules += 1;
        if created || old_max != st.max_priority {
            self.resort();
        }
    }

    /// Removes the rule `id` that was inserted with `value`/`mask`. Returns
    /// whether it was there.
    pub fn remove(&mut self, id: RuleId, value: &OfFlow, mask: &OfFlow) -> bool {
        let Some(idx) = self.subtables.iter().position(|st| st.mask == *mask) else {
            return false;
        };
        let st = &mut self.subtables[idx];
        let key = st.key(value);
        let Some(bucket) = st.buckets.get_mut(&key) else {
            return false;
        };
        let Some(pos) = bucket.iter().position(|e| e.id == id) else {
            return false;
        };
        let e = bucket.remove(pos);
        if bucket.is_empty() {
            st.buckets.remove(&key);
        }
        for (j, f) in TRIE_FIELDS.iter().enumerate() {
            if st.trie_plen[j] > 0 {
                self.tries[j].remove(value.get(*f) as u32, st.trie_plen[j]);
            }
        }
        if st.ports_plen > 0 {
            st.ports.remove(ports_value(value), st.ports_plen);
        }
        for stage in &mut st.stages {
            let k = masked_words(value, &stage.mask, &stage.words);
            if let Some(n) = stage.index.get_mut(&k) {
                *n -= 1;
                if *n == 0 {
                    stage.index.remove(&k);
                }
            }
        }
        if let Some(n) = st.priorities.get_mut(&e.priority) {
            *n -= 1;
            if *n == 0 {
                st.priorities.remove(&e.priority);
            }
        }
        self.n_rules -= 1;
        if st.is_empty() {
            self.subtables.remove(idx);
        } else {
            let old = st.max_priority;
            st.max_priority = *st.priorities.keys().next_back().unwrap_or(&0);
            if old != st.max_priority {
                self.resort();
            }
        }
        true
    }

    /// OVS's `check_tries` for the range before stage `i` of `st`: true if a
    /// trie proves no rule of the subtable can match, after un-wildcarding
    /// the address bits that proof needed.
    fn tries_exclude(
        &self,
        st: &Subtable,
        i: usize,
        flow: &OfFlow,
        wc: &mut OfFlow,
        ctx: &mut [Option<(u8, u64)>; N_TRIES],
    ) -> bool {
        for (j, f) in TRIE_FIELDS.iter().enumerate() {
            let plen = st.trie_plen[j];
            if plen == 0 || st.trie_stage[j] != i {
                continue;
            }
            let (maskbits, plens) =
                *ctx[j].get_or_insert_with(|| self.tries[j].lookup(flow.get(*f) as u32));
            if plens & (1 << (plen - 1)) != 0 {
                continue;
            }
            let need = u128::from(bits_mask(maskbits));
            if maskbits <= plen {
                wc.or_field(*f, need);
                return true;
            }
            if wc.get(*f) & need == need {
                return true;
            }
        }
        false
    }

    /// Finds the best rule for `flow`, OR-ing every probed subtable's mask
    /// into `wc`. With `want_soft`, also collects matching soft rules that
    /// beat the best ordinary rule; without it, soft rules are ignored.
    pub fn lookup(&self, flow: &OfFlow, wc: &mut OfFlow, want_soft: bool) -> Found {
        let mut found = Found::default();
        let mut tries: [Option<(u8, u64)>; N_TRIES] = [None; N_TRIES];
        for st in &self.subtables {
            if let Some(h) = found.hard
                && st.max_priority <= h.priority
            {
                break;
            }
            // Staged lookup: before each stage, the prefix tries may rule
            // the subtable out; then the stage's index must know the
            // packet's values. Either way out, only the fields examined so
            // far are un-wildcarded.
            let mut examined = OfFlow::default();
            let mut out = false;
            for i in 0..=st.stages.len() {
                if self.tries_exclude(st, i, flow, wc, &mut tries) {
                    wc.or_with(&examined);
                    out = true;
                    break;
                }
                let Some(stage) = st.stages.get(i) else { break };
                examined = stage.mask;
                if !stage
                    .index
                    .contains_key(&masked_words(flow, &stage.mask, &stage.words))
                {
                    wc.or_with(&stage.mask);
                    out = true;
                    break;
                }
            }
            if out {
                continue;
            }
            let Some(bucket) = st.buckets.get(&st.key(flow)) else {
                if st.ports_plen > 0 {
                    // Only the port bits the ports trie needed.
                    wc.or_with(&examined);
                    let pm = ports_value(&st.mask);
                    let (bits, _) = st.ports.lookup(ports_value(flow) & pm);
                    let need = pm & bits_mask(bits);
                    wc.or_field(Field::TcpSrc, u128::from(need >> 16));
                    wc.or_field(Field::TcpDst, u128::from(need & 0xffff));
                } else {
                    wc.or_with(&st.mask);
                }
                continue;
            };
            wc.or_with(&st.mask);
            for e in bucket {
                if found.hard.is_some_and(|h| e.priority <= h.priority) {
                    break;
                }
                if e.soft {
                    if want_soft {
                        found.soft.push(*e);
                    }
                } else {
                    found.hard = Some(*e);
                    break;
                }
            }
        }
        if let Some(h) = found.hard {
            found.soft.retain(|e| e.priority > h.priority);
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ofp_codec::Field;

    fn rule(f: &[(Field, u128, u128)]) -> (OfFlow, OfFlow) {
        let (mut v, mut m) = (OfFlow::default(), OfFlow::default());
        for &(field, val, mask) in f {
            v.set(field, val);
            m.set(field, mask);
        }
        (v, m)
    }

    fn e(id: RuleId, priority: u16) -> Entry {
        Entry {
            id,
            priority,
            soft: false,
        }
    }

    #[test]
    fn highest_priority_wins_and_probed_masks_are_reported() {
        let mut c = Classifier::new();
        let (v1, m1) = rule(&[(Field::EthType, 0x800, 0xffff)]);
        let (v2, m2) = rule(&[(Field::EthType, 0x800, 0xffff), (Field::IpProto, 6, 0xff)]);
        let (v3, m3) = rule(&[]);
        c.insert(e(1, 10), &v1, &m1);
        c.insert(e(2, 20), &v2, &m2);
        c.insert(e(3, 0), &v3, &m3);
        let mut pkt = OfFlow::default();
        pkt.set(Field::EthType, 0x800);
        pkt.set(Field::IpProto, 17);
        let mut wc = OfFlow::default();
        let f = c.lookup(&pkt, &mut wc, false);
        assert_eq!(f.hard.map(|e| e.id), Some(1));
        // Probed the priority-20 subtable (miss) and the priority-10 one (hit).
        assert_eq!(wc.get(Field::IpProto), 0xff);
        assert_eq!(wc.get(Field::EthType), 0xffff);
        // The catch-all subtable was skipped: nothing else unwildcarded.
        assert!(wc.get(Field::TcpDst) == 0);

        pkt.set(Field::IpProto, 6);
        let mut wc = OfFlow::default();
        assert_eq!(c.lookup(&pkt, &mut wc, false).hard.map(|e| e.id), Some(2));
        assert!(c.remove(2, &v2, &m2));
        assert!(!c.remove(2, &v2, &m2));
        assert_eq!(c.lookup(&pkt, &mut wc, false).hard.map(|e| e.id), Some(1));
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn soft_rules_above_the_hard_match_are_collected() {
        let mut c = Classifier::new();
        let (v, m) = rule(&[(Field::Ipv4Src, 1, u32::MAX as u128)]);
        c.insert(
            Entry {
                id: 7,
                priority: 50,
                soft: true,
            },
            &v,
            &m,
        );
        let (v0, m0) = rule(&[]);
        c.insert(e(8, 1), &v0, &m0);
        let mut pkt = OfFlow::default();
        pkt.set(Field::Ipv4Src, 1);
        let mut wc = OfFlow::default();
        let f = c.lookup(&pkt, &mut wc, true);
        assert_eq!(f.hard.map(|e| e.id), Some(8));
        assert_eq!(f.soft.iter().map(|e| e.id).collect::<Vec<_>>(), vec![7]);
        let f = c.lookup(&pkt, &mut wc, false);
        assert!(f.soft.is_empty());
    }
}
