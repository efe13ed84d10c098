//! `ct(table=N)` followed by more actions: Open vSwitch's fork, on a
//! datapath whose `recirc` ends the packet's action list.
//!
//! In OVS a `recirc(id)` that is not the last datapath action forks the
//! packet: a copy re-enters the datapath with `recirc_id = id` (the
//! `ct(table=N)` pass) and the original goes on with the next actions. So
//! `resubmit(,1),resubmit(,2)` into two `ct(table=3)` rules becomes
//! `ct,recirc(A),ct,recirc(A)` and table 3 sees the packet twice. rvs's
//! datapath ends the list at the first `recirc`, so a translation whose
//! actions go on after a `recirc` is rewritten here into a chain that the
//! datapath runs in the same order:
//!
//! ```text
//!  S0 recirc(A) S1 recirc(B) S2          (as OVS's datapath would fork)
//!  ─▶ S0 recirc(F1)                       F1 = fork(A, then S1 recirc(F2))
//!     F1: [pass of A] [restore headers] S1 recirc(F2)
//!     F2: [pass of B] [restore headers] S2
//! ```
//!
//! A fork id `F` is an ordinary recirculation id whose [`FrozenState`]
//! carries a marker ([`fork_marker`]) naming a [`ForkEntry`]: the frozen
//! state of the pass (`A`) and the datapath actions still to run after it
//! (the *tail*). Translating a packet that comes back with `F` runs `A`'s
//! pass as a translation of its own (its action set included), puts back
//! the headers the pass changed (the original packet in OVS is a copy
//! the pass never touched; the megaflow matches the restored fields
//! exactly), and appends the tail. The tail depends only on the bits of
//! the pre-recirculation megaflow (it is a suffix of that translation, in
//! which the conntrack fields were already cleared), so every packet that
//! comes back with `F` shares it.
//!
//! Statistics are OVS's: the first translation credits every rule up to
//! and including the ones that produced the tail; each pass credits only
//! its own rules (the pass of `A` once per recirculation).
//!
//! Differences from OVS that remain: `dpctl/dump-flows` shows the chain
//! (`recirc_id(F)` megaflows) instead of one list with several `recirc`s;
//! traces (`ofproto/trace`) print OVS's list and follow the forks
//! themselves. A fork entry is freed with its fork id (reference-counted
//! by megaflows, see [`crate::recirc`]); the recirculation ids in a tail are
//! kept as their frozen states
//! and interned again whenever the tail is used, so an id freed meanwhile
//! is re-allocated rather than dangling.

use datapath::{Actions, DpAction};
use hashbrown::HashMap;
use ofp_codec::{Action, Field};

use super::{OfFlow, Xlate, XlateError};
use crate::recirc::FrozenState;

/// The note bytes that mark a fork's frozen state, before the entry id.
const MARKER: &[u8; 8] = b"rvs-fork";

/// A pass and what follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForkEntry {
    /// The frozen state of the pass (`ct(table=N)`'s continuation).
    pub pass: FrozenState,
    /// Datapath actions to run after the pass, on the packet as it came back.
    pub tail: Actions,
    /// For each `recirc` in `tail`: its index and frozen state.
    pub tail_states: Vec<(usize, FrozenState)>,
}

/// A [`ForkEntry`] as a hash key (datapath actions have no `Hash`; their
/// `Debug` text is an exact stand-in).
type ForkKey = (FrozenState, String, Vec<(usize, FrozenState)>);

fn fork_key(e: &ForkEntry) -> ForkKey {
    (
        e.pass.clone(),
        format!("{:?}", e.tail),
        e.tail_states.clone(),
    )
}

/// Interned fork entries, ids from 1 (see the module documentation). An
/// entry lives as long as the recirculation id whose frozen state names it
/// (one id per entry): [`crate::recirc`]'s sweep removes it with that id.
#[derive(Debug, Default)]
pub struct ForkTable {
    by_key: HashMap<ForkKey, u64>,
    by_id: HashMap<u64, ForkEntry>,
    next: u64,
}

impl ForkTable {
    /// The id of `e`, allocating one if it is new.
    pub fn intern(&mut self, e: ForkEntry) -> u64 {
        let key = fork_key(&e);
        if let Some(&id) = self.by_key.get(&key) {
            return id;
        }
        self.next += 1;
        self.by_id.insert(self.next, e);
        self.by_key.insert(key, self.next);
        self.next
    }

    pub fn get(&self, id: u64) -> Option<&ForkEntry> {
        self.by_id.get(&id)
    }

    /// Forgets entry `id` (its fork recirculation id was freed). Returns
    /// whether it existed.
    pub fn remove(&mut self, id: u64) -> bool {
        let Some(e) = self.by_id.remove(&id) else {
            return false;
        };
        self.by_key.remove(&fork_key(&e));
        true
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// The fork entry id a frozen state names, if it is a fork's.
pub fn fork_marker(st: &FrozenState) -> Option<u64> {
    match st.actions.as_slice() {
        [Action::Note(b)] if b.len() == 16 && b.starts_with(MARKER) => {
            Some(u64::from_be_bytes(b[8..].try_into().ok()?))
        }
        _ => None,
    }
}

/// Header fields a pass may rewrite (what `commit` turns into datapath
/// actions), put back before the tail.
const RESTORED: [Field; 15] = [
    Field::EthSrc,
    Field::EthDst,
    Field::VlanTci,
    Field::Ipv4Src,
    Field::Ipv4Dst,
    Field::IpDscp,
    Field::IpEcn,
    Field::NwTtl,
    Field::Ipv6Src,
    Field::Ipv6Dst,
    Field::IpProto,
    Field::ArpSha,
    Field::ArpTha,
    Field::TcpSrc,
    Field::TcpDst,
];

impl Xlate<'_> {
    /// Rewrites the datapath actions so that no `recirc` is followed by
    /// other actions (module documentation). Not for traces, which print
    /// and follow OVS's forks.
    pub(super) fn split_forks(&mut self) {
        if self.opts.trace || self.out.error.is_some() {
            return;
        }
        let acts = &self.out.actions;
        // The common cases allocate nothing: no recirc, or one at the end.
        match acts.iter().position(|a| matches!(a, DpAction::Recirc(_))) {
            None => return,
            Some(first) if first + 1 == acts.len() => return,
            Some(_) => {}
        }
        // (index, id) of each recirc.
        let pos: Vec<(usize, u32)> = acts
            .iter()
            .enumerate()
            .filter_map(|(i, a)| match a {
                DpAction::Recirc(id) => Some((i, *id)),
                _ => None,
            })
            .collect();
        let Some(&(last, _)) = pos.last() else {
            return;
        };
        let acts = std::mem::take(&mut self.out.actions);
        let mut suffix: Actions = acts[last + 1..].iter().copied().collect();
        for (k, &(p, id)) in pos.iter().enumerate().rev() {
            let next = if suffix.is_empty() {
                DpAction::Recirc(id)
            } else {
                match self.fork_id(id, suffix) {
                    Some(f) => DpAction::Recirc(f),
                    None => {
                        self.out.error = Some(XlateError::NoRecirculationContext);
                        return;
                    }
                }
            };
            let start = if k == 0 { 0 } else { pos[k - 1].0 + 1 };
            suffix = acts[start..p].iter().copied().collect();
            suffix.push(next);
        }
        self.out.actions = suffix;
    }

    /// The recirculation id of "pass `pass_id`, then `tail`".
    fn fork_id(&mut self, pass_id: u32, tail: Actions) -> Option<u32> {
        let mut rt = self.of.recirc.lock();
        let pass = rt.get(pass_id)?.clone();
        let mut tail_states = Vec::new();
        for (i, a) in tail.iter().enumerate() {
            if let DpAction::Recirc(id) = a {
                tail_states.push((i, rt.get(*id)?.clone()));
            }
        }
        let fid = self.of.forks.lock().intern(ForkEntry {
            pass: pass.clone(),
            tail,
            tail_states,
        });
        let mut note = MARKER.to_vec();
        note.extend_from_slice(&fid.to_be_bytes());
        Some(rt.intern(FrozenState {
            table_id: pass.table_id,
            regs: pass.regs,
            metadata: pass.metadata,
            actions: vec![Action::Note(note)],
            action_set: Vec::new(),
            stack: pass.stack.clone(),
        }))
    }

    /// Resumes a packet that came back with a fork id: the pass, then the
    /// restored headers and the tail.
    pub(super) fn thaw_fork(&mut self, e: &ForkEntry) {
        let back = self.pkt.flow;
        self.thaw(&e.pass);
        if !self.pipe.exit && self.out.error.is_none() && !self.pipe.action_set.is_empty() {
            let set = std::mem::take(&mut self.pipe.action_set);
            self.execute_action_set(&set);
        }
        self.pipe.action_set.clear();
        if self.out.error.is_some() {
            return;
        }
        self.restore_headers(&back);
        let mut tail = e.tail.clone();
        {
            let mut rt = self.of.recirc.lock();
            for (i, st) in &e.tail_states {
                if let Some(a) = tail.get_mut(*i) {
                    *a = DpAction::Recirc(rt.intern(st.clone()));
                }
            }
        }
        self.out.actions.extend(tail);
        self.pipe.exit = true;
    }

    /// Puts the datapath headers back as in `back`, matching exactly the
    /// fields that need rewriting (their values come from the packet).
    fn restore_headers(&mut self, back: &OfFlow) {
        for f in RESTORED {
            if self.pkt.flow.get(f) != back.get(f) {
                self.pkt.wc.unwildcard(f);
            }
        }
        let k = back.key();
        if k.vlan0_tpid() != self.pkt.flow.key().vlan0_tpid() {
            self.pkt.wc.unwildcard(Field::VlanTci);
        }
        self.set_key(&k);
        self.commit();
    }
}
