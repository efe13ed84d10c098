//! Bundles applied as their messages arrive, published at commit.
//!
//! Open vSwitch decodes a bundled flow-mod and creates its rule when the
//! message is added (`handle_bundle_add`), and only inserts the prepared
//! rules at commit. rvs goes one step further: each added message is
//! applied, in order, to a private copy of the tables ([`StagedBundle`]),
//! so that the commit itself only publishes that copy. A large bundle load
//! then does its work while the controller is still sending, and the
//! commit's reply does not wait for 100,000 insertions.
//!
//! The copy is only valid while the tables, groups, meters and ports it
//! was taken from are unchanged: any such change bumps
//! [`Ofproto::generation`]. If the generation moved by the commit (another
//! connection's flow-mod, a flow that expired, a port that came up), the
//! staged copy is thrown away and the messages are applied again on the
//! current tables ([`StagedCommit::Stale`]), exactly as an unstaged bundle.
//!
//! What depends on the moment of the commit waits for it:
//! - FLOW_REMOVED for the rules the bundle deletes is built at commit (age
//!   and counters then), as OVS sends it at commit;
//! - a rule that replaces (ADD) or modifies another keeps that rule's
//!   counters as of the commit: the traffic the old rule still got while
//!   the bundle was open carries over;
//! - `delete_learned` flushes are decided on the final tables;
//! - table lookup/match counters are those of the live tables.
//!
//! As in OVS, a bundled ADD's rule is created at the time its message was
//! added (its `duration` counts from then). Deviation: a bundled MODIFY's
//! rules also take the add time as their modification time, where OVS
//! takes the commit's (a hard timeout of a modified rule counts from the
//! add; the difference is the time the bundle stayed open).
//!
//! Cost: a staged bundle holds a copy of every table it changed until its
//! commit or discard. The switch stages one bundle at a time (another
//! bundle open meanwhile keeps its messages and is applied at its commit),
//! so this is one extra copy at most, as a plain commit makes one too.

use std::borrow::Cow;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use ofp_codec::OfpError;

use crate::flow_mod::{BundleMsg, Txn};
use crate::ofproto::{Event, Ofproto, flow_removed};

/// A bundle applied message by message to a copy of the tables.
#[derive(Debug)]
pub struct StagedBundle {
    /// [`Ofproto::generation`] of the tables the copy was taken from.
    base_gen: u64,
    of: Ofproto,
    txn: Txn,
    /// Messages staged so far.
    n: usize,
    /// The first message that failed (index, error); later ones are not
    /// applied.
    failed: Option<(usize, OfpError)>,
}

/// How a staged commit ended.
#[derive(Debug)]
pub enum StagedCommit {
    /// Every message applied: publish this.
    Ready(Ofproto),
    /// Message `index` failed; nothing is published. The copy, for the
    /// caller to free where it costs least.
    Failed(usize, OfpError, Ofproto),
    /// The tables changed since staging began: apply the messages again.
    /// The stale copy, to free.
    Stale(Ofproto),
}

impl StagedBundle {
    /// Starts a bundle on a copy of `base`.
    pub fn new(base: &Ofproto) -> Self {
        let mut of = base.clone();
        // Pending events and meter changes belong to the live copy.
        of.events.clear();
        of.meter_changes.clear();
        StagedBundle {
            base_gen: base.generation,
            of,
            txn: Txn {
                no_undo: true,
                staging: true,
                ..Txn::default()
            },
            n: 0,
            failed: None,
        }
    }

    /// Messages staged so far.
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Applies the next message of the bundle at `now_ms` (when it was
    /// added). After a failure the rest are only counted: the commit
    /// reports the first failure.
    pub fn stage(&mut self, msg: BundleMsg, now_ms: u64) {
        let i = self.n;
        self.n += 1;
        if self.failed.is_some() {
            return;
        }
        self.txn.msg = i as u32;
        let r = match msg {
            BundleMsg::FlowMod(fm) => {
                self.of
                    .flow_mod_txn_cow(Cow::Owned(fm), 0, now_ms, &mut self.txn)
            }
            BundleMsg::GroupMod(gm) => self.of.group_mod_txn(&gm, now_ms, &mut self.txn),
        };
        if let Err(e) = r {
            self.failed = Some((i, e));
        }
    }

    /// Finishes the bundle against the live tables `cur` at `now_ms`: the
    /// snapshot to publish in place of `cur`, the failure to report, or
    /// [`StagedCommit::Stale`].
    pub fn commit(self, cur: &Ofproto, now_ms: u64) -> StagedCommit {
        if cur.generation != self.base_gen {
            return StagedCommit::Stale(self.of);
        }
        if let Some((i, e)) = self.failed {
            return StagedCommit::Failed(i, e, self.of);
        }
        let StagedBundle {
            mut of, mut txn, ..
        } = self;
        for (old, new) in txn.carried.drain(..) {
            new.catch_up(&old);
        }
        let pairs = of.dead_learned_pairs(&txn.learn_log);
        of.flush_learned(&mut txn, pairs, now_ms);
        let mut events: Vec<Event> = std::mem::take(&mut txn.removed)
            .into_iter()
            .filter_map(|(rule, reason)| flow_removed(&rule, reason, now_ms))
            .map(Event::FlowRemoved)
            .collect();
        events.append(&mut txn.events);
        txn.events = events;
        of.commit(txn);

        // Everything but the tables, groups and rule ids comes from the
        // live copy (equal to the base in all a flow-mod reads, as the
        // generation says, but with its own pending events, meter changes
        // and table counters).
        let mut next = cur.clone();
        for (i, t) in of.tables.into_iter().enumerate() {
            let Some(live) = next.tables.get_mut(i) else {
                break;
            };
            if !Arc::ptr_eq(&t, live) {
                let n = live.lookup_count.load(Ordering::Relaxed);
                t.lookup_count.store(n, Ordering::Relaxed);
                let n = live.matched_count.load(Ordering::Relaxed);
                t.matched_count.store(n, Ordering::Relaxed);
                *live = t;
            }
        }
        next.groups = of.groups;
        next.next_rule_id = of.next_rule_id;
        next.generation = of.generation;
        next.events.extend(of.events);
        StagedCommit::Ready(next)
    }
}
