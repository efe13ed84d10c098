//! The group table and group-mod semantics (OVS's behaviour on OpenFlow 1.3).
//!
//! ADD of an existing id → `OFPGMFC_GROUP_EXISTS`; MODIFY of a missing id →
//! `OFPGMFC_UNKNOWN_GROUP`; DELETE of a missing id is not an error;
//! `OFPG_ALL` deletes every group. Deleting a group deletes the flows that
//! output to it, with FLOW_REMOVED reason `GROUP_DELETE`. Bucket actions get
//! the checks OVS makes when it decodes them (ports, writable destinations,
//! push_mpls ethertypes) but no match-consistency check: a bucket has no
//! match, and OVS 3.1 accepts `set_field:10.0.0.7->ip_dst` or `ct(commit)`
//! in a bucket of any group (checked against ovs-vswitchd).

use ofp_codec::OfpError;
use ofp_codec::action::validate_actions;
use ofp_codec::msg::flow_removed::FlowRemovedReason;
use ofp_codec::msg::group_mod::{Bucket, GroupMod, GroupModCommand, GroupType};
use ofp_codec::{Action, Match};

use std::sync::Arc;

use ofp_codec::msg::multipart::group::{BucketCounter, GroupStats};

use crate::flow_mod::Txn;
use crate::ofproto::Ofproto;
use crate::rule::Counters;

/// `OFPG_MAX`: the largest ordinary group id.
pub const OFPG_MAX: u32 = 0xffff_ff00;
/// `OFPG_ALL`: every group (delete only).
pub const OFPG_ALL: u32 = 0xffff_fffc;

/// A group.
#[derive(Clone, Debug)]
pub struct Group {
    pub group_id: u32,
    pub group_type: GroupType,
    pub buckets: Vec<Bucket>,
    pub created_ms: u64,
    /// Traffic through the group and through each bucket.
    pub counters: Arc<Counters>,
    pub bucket_counters: Vec<Arc<Counters>>,
}

impl PartialEq for Group {
    fn eq(&self, o: &Self) -> bool {
        (
            self.group_id,
            self.group_type,
            &self.buckets,
            self.created_ms,
        ) == (o.group_id, o.group_type, &o.buckets, o.created_ms)
    }
}

impl Eq for Group {}

impl Ofproto {
    /// Applies a group-mod. On error nothing changed.
    pub fn handle_group_mod(&mut self, gm: &GroupMod, now_ms: u64) -> Result<(), OfpError> {
        self.bundle_commit(&[crate::flow_mod::BundleMsg::GroupMod(gm.clone())], now_ms)
            .map_err(|(_, e)| e)
    }

    pub fn groups(&self) -> impl Iterator<Item = &Group> {
        self.groups.values()
    }

    pub fn group(&self, id: u32) -> Option<&Group> {
        self.groups.get(&id)
    }

    /// OFPMP_GROUP_DESC entries, by group id.
    pub fn group_desc(&self) -> Vec<ofp_codec::msg::group_mod::GroupDesc> {
        self.groups
            .values()
            .map(|g| ofp_codec::msg::group_mod::GroupDesc {
                group_type: g.group_type,
                group_id: g.group_id,
                buckets: g.buckets.clone(),
            })
            .collect()
    }

    /// OFPMP_GROUP for `group_id` (`OFPG_ALL`: every group). `ref_count` is
    /// the number of flows that output to the group.
    pub fn group_stats(&self, group_id: u32, now_ms: u64) -> Vec<GroupStats> {
        self.groups
            .values()
            .filter(|g| group_id == OFPG_ALL || g.group_id == group_id)
            .map(|g| {
                let refs = self
                    .tables
                    .iter()
                    .flat_map(|t| t.rules.values())
                    .filter(|r| r.groups().any(|x| x == g.group_id))
                    .count();
                let age = now_ms.saturating_sub(g.created_ms);
                GroupStats {
                    group_id: g.group_id,
                    ref_count: refs as u32,
                    packet_count: g.counters.packets(),
                    byte_count: g.counters.bytes(),
                    duration_sec: (age / 1000) as u32,
                    duration_nsec: ((age % 1000) * 1_000_000) as u32,
                    bucket_stats: g
                        .bucket_counters
                        .iter()
                        .map(|c| BucketCounter {
                            packet_count: c.packets(),
                            byte_count: c.bytes(),
                        })
                        .collect(),
                }
            })
            .collect()
    }

    pub(crate) fn group_mod_txn(
        &mut self,
        gm: &GroupMod,
        now_ms: u64,
        txn: &mut Txn,
    ) -> Result<(), OfpError> {
        let id = gm.group_id;
        match gm.command {
            GroupModCommand::ADD | GroupModCommand::MODIFY | GroupModCommand::ADD_OR_MOD => {
                if id > OFPG_MAX {
                    return Err(OfpError::OFPGMFC_INVALID_GROUP);
                }
                self.check_buckets(gm)?;
                let exists = self.groups.contains_key(&id);
                if gm.command == GroupModCommand::ADD && exists {
                    return Err(OfpError::OFPGMFC_GROUP_EXISTS);
                }
                if gm.command == GroupModCommand::MODIFY && !exists {
                    return Err(OfpError::OFPGMFC_UNKNOWN_GROUP);
                }
                self.txn_save_groups(txn);
                let created_ms = self.groups.get(&id).map_or(now_ms, |g| g.created_ms);
                self.groups.insert(
                    id,
                    Group {
                        group_id: id,
                        group_type: gm.group_type,
                        buckets: gm.buckets.clone(),
                        created_ms,
                        counters: Arc::new(Counters::default()),
                        bucket_counters: gm
                            .buckets
                            .iter()
                            .map(|_| Arc::new(Counters::default()))
                            .collect(),
                    },
                );
                Ok(())
            }
            GroupModCommand::DELETE => {
                let ids: Vec<u32> = if id == OFPG_ALL {
                    self.groups.keys().copied().collect()
                } else if self.groups.contains_key(&id) {
                    vec![id]
                } else {
                    return Ok(());
                };
                self.txn_save_groups(txn);
                for g in ids {
                    self.groups.remove(&g);
                    self.delete_rules_using(
                        txn,
                        now_ms,
                        |r| r.groups().any(|x| x == g),
                        FlowRemovedReason::GROUP_DELETE,
                    );
                }
                Ok(())
            }
            _ => Err(OfpError::OFPGMFC_BAD_COMMAND),
        }
    }

    /// Each bucket action is checked on its own against an empty match, and
    /// a prerequisite it lacks (`OFPBAC_MATCH_INCONSISTENT`) is forgiven, as
    /// OVS checks bucket actions only as it decodes them; every other
    /// refusal (non-writable destination, bad push_mpls ethertype, ...)
    /// stands. Ports are checked as flow actions' ports. A bucket may name a
    /// group that does not exist (yet): OVS accepts that and drops at
    /// translation.
    fn check_buckets(&self, gm: &GroupMod) -> Result<(), OfpError> {
        let empty = Match::new();
        for b in &gm.buckets {
            for a in &b.actions {
                match validate_actions(&empty, std::slice::from_ref(a)) {
                    Err(e) if e != OfpError::OFPBAC_MATCH_INCONSISTENT => return Err(e),
                    _ => {}
                }
            }
            let own: Vec<Action> = b
                .actions
                .iter()
                .filter(|a| !matches!(a, Action::Group(_)))
                .cloned()
                .collect();
            self.check_actions(&own)?;
        }
        Ok(())
    }

    /// Removes every rule for which `pred` holds, queueing FLOW_REMOVED.
    pub(crate) fn delete_rules_using(
        &mut self,
        txn: &mut Txn,
        now_ms: u64,
        pred: impl Fn(&crate::rule::Rule) -> bool,
        reason: FlowRemovedReason,
    ) {
        let mut victims = Vec::new();
        for (t, table) in self.tables.iter().enumerate() {
            for r in table.rules.values() {
                if pred(r) {
                    victims.push((t as u8, r.id));
                }
            }
        }
        victims.sort_unstable();
        for (t, id) in victims {
            if let Some(rule) = self.txn_remove(txn, t, id) {
                self.txn_flow_removed(txn, rule, reason, now_ms);
            }
        }
    }
}
