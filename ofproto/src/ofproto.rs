//! The `Ofproto` state: tables, groups, meters, ports, events, timeouts.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use ofp_codec::Match;
use ofp_codec::msg::flow_removed::{FlowRemoved, FlowRemovedReason};
use parking_lot::Mutex;

use crate::classifier::{Classifier, Entry, RuleId};
use crate::group::Group;
use crate::meter::Meter;
use crate::normal::MacTable;
use crate::recirc::{PinTable, RecircTable};
use crate::rule::{OFPTT_ALL, Rule, RuleMap, RuleMatch, StrictIndex};
use crate::xlate::PacketInEvent;

/// Number of OpenFlow tables (Open vSwitch's count: 0..=254).
pub const N_TABLES: u8 = 255;
/// Largest port number plus one that flows may name (OVS `max_ports`).
pub const MAX_PORTS: u32 = 0xff00;

/// Bridge configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Printed in traces: `bridge("br0")`.
    pub bridge_name: String,
    pub n_tables: u8,
    /// NORMAL's MAC aging time.
    pub mac_aging_ms: u64,
    /// NORMAL's MAC table size.
    pub mac_max: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            bridge_name: "br0".into(),
            n_tables: N_TABLES,
            mac_aging_ms: 300_000,
            mac_max: 8192,
        }
    }
}

/// VLAN mode of a port for NORMAL (OVS `vlan_mode`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum VlanMode {
    /// Untagged members of VLAN `tag` (OVS `vlan_mode=access`); `None`: the
    /// port carries every VLAN (`trunks` empty, no tag) — OVS's default.
    #[default]
    Trunk,
    Access(u16),
    /// Trunk restricted to these VLANs.
    TrunkOf(Vec<u16>),
}

/// A port as ofproto sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    pub ofp_port: u32,
    pub name: String,
    /// Link up and not administratively down (fast-failover liveness).
    pub live: bool,
    pub vlan: VlanMode,
    /// `OFPPC_NO_FLOOD`.
    pub no_flood: bool,
}

impl Port {
    pub fn new(ofp_port: u32, name: impl Into<String>) -> Self {
        Port {
            ofp_port,
            name: name.into(),
            live: true,
            vlan: VlanMode::Trunk,
            no_flood: false,
        }
    }
}

/// What a table does with a packet no rule matches (OVS's table-miss
/// configuration; OpenFlow 1.3's default is drop).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TableMiss {
    #[default]
    Drop,
    /// Send a packet-in with reason `no_match`.
    Controller,
    /// Continue with the next table.
    Continue,
}

/// Something the switch layer must send or act on.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    FlowRemoved(FlowRemoved),
    PacketIn(PacketInEvent),
}

/// One OpenFlow table.
#[derive(Debug, Default)]
pub struct OfTable {
    pub(crate) cls: Classifier,
    pub(crate) rules: RuleMap,
    pub(crate) strict: StrictIndex,
    pub(crate) lookup_count: AtomicU64,
    pub(crate) matched_count: AtomicU64,
    pub(crate) miss: TableMiss,
    /// Rules with an idle or hard timeout (what `run` has to look at).
    pub(crate) timed: hashbrown::HashSet<RuleId>,
    /// The cookie index and `delete_learned` reference counts
    /// ([`crate::learned::LearnIndex`]).
    pub(crate) learn: crate::learned::LearnIndex,
}

impl Clone for OfTable {
    fn clone(&self) -> Self {
        OfTable {
            cls: self.cls.clone(),
            rules: self.rules.clone(),
            strict: self.strict.clone(),
            lookup_count: AtomicU64::new(self.lookup_count.load(Ordering::Relaxed)),
            matched_count: AtomicU64::new(self.matched_count.load(Ordering::Relaxed)),
            miss: self.miss,
            timed: self.timed.clone(),
            learn: self.learn.clone(),
        }
    }
}

impl OfTable {
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.rules.values()
    }

    pub(crate) fn insert(&mut self, rule: Arc<Rule>) {
        self.insert_cls(rule, None)
    }

    /// [`OfTable::insert`] with the rule's classifier form if the caller
    /// has it already (`cls`, else derived from the match).
    pub(crate) fn insert_cls(&mut self, rule: Arc<Rule>, cls: Option<&RuleMatch>) {
        if !rule.impossible {
            let e = Entry {
                id: rule.id,
                priority: rule.priority,
                soft: rule.is_soft(),
            };
            let owned;
            let cls = match cls {
                Some(c) => c,
                None => {
                    owned = rule.cls();
                    &owned
                }
            };
            self.cls.insert(e, &cls.value, &cls.mask);
        }
        let h = self.strict.hash(rule.priority, &rule.match_);
        self.strict.insert(h, rule.id);
        if rule.idle_timeout != 0 || rule.hard_timeout != 0 {
            self.timed.insert(rule.id);
        }
        self.learn.insert(&rule);
        self.rules.insert(rule);
    }

    pub(crate) fn remove(&mut self, id: RuleId) -> Option<Arc<Rule>> {
        let rule = self.rules.remove(&id)?;
        if !rule.impossible {
            let cls = rule.cls();
            self.cls.remove(id, &cls.value, &cls.mask);
        }
        let h = self.strict.hash(rule.priority, &rule.match_);
        self.strict.remove(h, id);
        self.timed.remove(&id);
        self.learn.remove(&rule);
        if self.rules.is_empty() {
            // Hash tables keep a tombstone per removed entry; a table that
            // was emptied (a bulk delete) would otherwise make the next bulk
            // add probe past them. An empty table starts afresh, and gives
            // its memory back.
            self.rules = RuleMap::default();
            self.strict = StrictIndex::default();
            self.timed = hashbrown::HashSet::new();
        }
        Some(rule)
    }

    /// The rule with exactly this priority and match (O(1)).
    pub(crate) fn find_strict(&self, priority: u16, m: &Match) -> Option<RuleId> {
        let h = self.strict.hash(priority, m);
        self.strict.find(h, |id| {
            self.rules
                .get(&id)
                .is_some_and(|r| r.priority == priority && r.match_ == *m)
        })
    }
}

/// Where a rule lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleRef {
    pub table_id: u8,
    pub id: RuleId,
}

/// The OpenFlow switch core; see the crate documentation. Cloning is
/// cheap (tables are shared copy-on-write) and gives an independent
/// snapshot that shares the recirculation, packet-in and MAC tables.
#[derive(Debug, Clone)]
pub struct Ofproto {
    pub(crate) config: Config,
    /// Copy-on-write: a snapshot shares every table it did not change.
    pub(crate) tables: Vec<Arc<OfTable>>,
    pub(crate) groups: BTreeMap<u32, Group>,
    pub(crate) meters: BTreeMap<u32, Meter>,
    /// Meter changes for the datapath, not yet taken by the owner.
    pub(crate) meter_changes: Vec<crate::meter::MeterChange>,
    pub(crate) ports: BTreeMap<u32, Port>,
    pub(crate) next_rule_id: RuleId,
    pub(crate) events: Vec<Event>,
    /// Shared by all snapshots of this bridge.
    pub(crate) recirc: Arc<Mutex<RecircTable>>,
    /// `ct(table=N)` forks followed by more actions (see `xlate/fork.rs`).
    pub(crate) forks: Arc<Mutex<crate::xlate::ForkTable>>,
    pub(crate) mac: Arc<Mutex<MacTable>>,
    pub(crate) pins: Arc<Mutex<PinTable>>,
    /// Paused translations (`controller(pause)`, `xlate/pause.rs`).
    pub(crate) pauses: Arc<Mutex<crate::xlate::PauseTable>>,
    /// Bumped by every change that can alter a translation.
    pub(crate) generation: u64,
    /// Rules `fin_timeout` gave timeouts, for `run` to watch (`learned.rs`).
    pub(crate) fin_reduced: Arc<Mutex<Vec<RuleRef>>>,
}

impl Ofproto {
    pub fn new(config: Config) -> Self {
        let tables = (0..config.n_tables)
            .map(|_| Arc::new(OfTable::default()))
            .collect();
        let mac = MacTable::new(config.mac_max, config.mac_aging_ms);
        Ofproto {
            config,
            tables,
            groups: BTreeMap::new(),
            meters: BTreeMap::new(),
            meter_changes: Vec::new(),
            ports: BTreeMap::new(),
            next_rule_id: 1,
            events: Vec::new(),
            recirc: Arc::new(Mutex::new(RecircTable::default())),
            forks: Arc::default(),
            mac: Arc::new(Mutex::new(mac)),
            pins: Arc::new(Mutex::new(PinTable::default())),
            pauses: Arc::default(),
            generation: 0,
            fin_reduced: Arc::default(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Changes whenever flows, groups, meters or ports change (for revalidation).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Sets a table's miss behaviour (OVS `mod-table TABLE drop|controller|continue`).
    pub fn set_table_miss(&mut self, table_id: u8, miss: TableMiss) {
        if let Some(t) = self.tables.get_mut(usize::from(table_id)) {
            Arc::make_mut(t).miss = miss;
            self.generation += 1;
        }
    }

    pub fn table_miss(&self, table_id: u8) -> TableMiss {
        self.tables
            .get(usize::from(table_id))
            .map_or(TableMiss::Drop, |t| t.miss)
    }

    pub fn table(&self, table_id: u8) -> Option<&OfTable> {
        self.tables.get(usize::from(table_id)).map(|t| &**t)
    }

    pub fn rule(&self, r: RuleRef) -> Option<&Rule> {
        self.table(r.table_id)?.rules.get(&r.id)
    }

    /// Total number of flows in all tables.
    pub fn n_flows(&self) -> usize {
        self.tables.iter().map(|t| t.len()).sum()
    }

    // ---- ports ----

    /// A port was added (or changed).
    pub fn port_add(&mut self, port: Port) {
        self.ports.insert(port.ofp_port, port);
        self.generation += 1;
    }

    /// A port was removed: forgets it and the MACs learned on it.
    pub fn port_remove(&mut self, ofp_port: u32) -> Option<Port> {
        let p = self.ports.remove(&ofp_port);
        self.mac.lock().flush_port(ofp_port);
        self.generation += 1;
        p
    }

    /// Link state change (fast-failover watch ports, flooding).
    pub fn port_set_live(&mut self, ofp_port: u32, live: bool) {
        if let Some(p) = self.ports.get_mut(&ofp_port) {
            p.live = live;
            self.generation += 1;
        }
    }

    pub fn ports(&self) -> impl Iterator<Item = &Port> {
        self.ports.values()
    }

    // ---- events and time ----

    /// Takes the pending events (FLOW_REMOVED, packet-ins from traces).
    pub fn take_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.events)
    }

    /// Expires idle and hard timeouts at `now_ms` (OVS checks hard first;
    /// a rule expires strictly after its deadline, as in OVS),
    /// ages the MAC table, frees the recirculation ids whose grace period
    /// has passed (see [`crate::recirc`]), and returns all pending events
    /// plus the next deadline (ms) at which `run` has work to do, if any.
    pub fn run(&mut self, now_ms: u64) -> (Vec<Event>, Option<u64>) {
        let mut expired = Vec::new();
        let mut next: Option<u64> = None;
        self.watch_fin_reduced();
        for (t, table) in self.tables.iter().enumerate() {
            for rule in table.timed.iter().filter_map(|id| table.rules.get(id)) {
                let (idle_s, hard_s) = rule.timeouts_s();
                let hard_at = (hard_s != 0).then(|| rule.modified_ms + 1000 * u64::from(hard_s));
                let idle_at =
                    (idle_s != 0).then(|| rule.counters.used_ms() + 1000 * u64::from(idle_s));
                let reason = if hard_at.is_some_and(|h| now_ms > h) {
                    Some(FlowRemovedReason::HARD_TIMEOUT)
                } else if idle_at.is_some_and(|i| now_ms > i) {
                    Some(FlowRemovedReason::IDLE_TIMEOUT)
                } else {
                    None
                };
                match reason {
                    Some(r) => expired.push((t as u8, rule.id, r)),
                    None => {
                        for d in [hard_at, idle_at].into_iter().flatten() {
                            next = Some(next.map_or(d + 1, |n: u64| n.min(d + 1)));
                        }
                    }
                }
            }
        }
        let mut learned = Vec::new();
        for (t, id, reason) in expired {
            if let Some(rule) = Arc::make_mut(&mut self.tables[usize::from(t)]).remove(id) {
                self.generation += 1;
                self.note_removed(&rule, reason, now_ms);
                learned.extend(crate::learned::delete_learned_pairs(&rule));
            }
        }
        self.flush_learned_now(learned, now_ms);
        self.mac.lock().expire(now_ms);
        self.sweep_ids(now_ms);
        (self.take_events(), next)
    }

    /// The recirculation id table's counters (allocated, freed, idle).
    pub fn recirc_stats(&self) -> crate::recirc::RecircStats {
        self.recirc.lock().stats()
    }

    /// Megaflow references on recirculation id `id`, if allocated.
    pub fn recirc_refs(&self, id: u32) -> Option<u32> {
        self.recirc.lock().refs(id)
    }

    /// Recirculation ids currently allocated (live or in their grace period).
    pub fn n_recirc_ids(&self) -> usize {
        self.recirc.lock().len()
    }

    /// Sets the grace period between a recirculation id's last use and its
    /// release (default [`crate::recirc::RECIRC_GRACE_MS`]).
    pub fn set_recirc_grace_ms(&self, grace_ms: u64) {
        self.recirc.lock().set_grace_ms(grace_ms);
    }

    /// The NORMAL action's MAC table for `fdb/show` (see [`MacTable::dump`]).
    ///
    /// [`MacTable::dump`]: crate::normal::MacTable::dump
    pub fn fdb(&self, now_ms: u64) -> Vec<(u32, u16, u64, u64)> {
        self.mac.lock().dump(now_ms)
    }

    /// Queues FLOW_REMOVED for `rule` if it asked for one.
    pub(crate) fn note_removed(&mut self, rule: &Rule, reason: FlowRemovedReason, now_ms: u64) {
        if let Some(fr) = flow_removed(rule, reason, now_ms) {
            self.events.push(Event::FlowRemoved(fr));
        }
    }

    /// Credits a translation's rules, group buckets and table lookups with
    /// `packets` packets of `bytes` bytes in all.
    pub fn credit_translation(
        &self,
        t: &crate::xlate::Translation,
        packets: u64,
        bytes: u64,
        now_ms: u64,
    ) {
        self.credit(&t.rules, packets, bytes, now_ms);
        for &(table_id, matched) in &t.lookups {
            if let Some(table) = self.tables.get(usize::from(table_id)) {
                table.count_lookups(packets, matched);
            }
        }
        let mut last_group = None;
        for &(g, b) in &t.buckets {
            if let Some(group) = self.groups.get(&g) {
                if last_group != Some(g) {
                    group.counters.add(packets, bytes, now_ms);
                    last_group = Some(g);
                }
                if let Some(c) = group.bucket_counters.get(b) {
                    c.add(packets, bytes, now_ms);
                }
            }
        }
    }

    /// Takes `&self`: counters are shared atomics, so any snapshot can
    /// credit without copying tables.
    pub fn credit(&self, rules: &[RuleRef], packets: u64, bytes: u64, now_ms: u64) {
        for r in rules {
            if let Some(rule) = self.rule(*r) {
                rule.counters.add(packets, bytes, now_ms);
            }
        }
    }

    /// Checks a PACKET_OUT's actions against this switch as OVS's
    /// `ofproto_check_ofpacts` does when it starts one (nested `ct`/`clone`
    /// actions included): a `group` action naming a group that does not exist
    /// is `OFPBAC_BAD_OUT_GROUP`; an output to a port number beyond the
    /// switch's range is `OFPBAC_BAD_OUT_PORT`; a Nicira action translation
    /// does not implement is `OFPBAC_BAD_VENDOR_TYPE` (the checks flow-mods get).
    pub fn check_packet_out_actions(
        &self,
        actions: &[ofp_codec::action::Action],
    ) -> Result<(), ofp_codec::OfpError> {
        self.check_actions(actions)
    }

    pub(crate) fn table_ids(&self, table_id: u8) -> std::ops::Range<usize> {
        if table_id == OFPTT_ALL {
            0..self.tables.len()
        } else {
            let t = usize::from(table_id);
            t..(t + 1).min(self.tables.len()).max(t)
        }
    }
}

/// The FLOW_REMOVED message for `rule`, if its `send_flow_rem` flag is set.
pub(crate) fn flow_removed(
    rule: &Rule,
    reason: FlowRemovedReason,
    now_ms: u64,
) -> Option<FlowRemoved> {
    if rule.flags & ofp_codec::msg::flow_mod::OFPFF_SEND_FLOW_REM == 0 {
        return None;
    }
    let age_ms = now_ms.saturating_sub(rule.created_ms);
    Some(FlowRemoved {
        cookie: rule.cookie,
        priority: rule.priority,
        reason,
        table_id: rule.table_id,
        duration_sec: (age_ms / 1000) as u32,
        duration_nsec: ((age_ms % 1000) * 1_000_000) as u32,
        idle_timeout: rule.timeouts_s().0,
        hard_timeout: rule.timeouts_s().1,
        packet_count: rule.counters.packets(),
        byte_count: rule.counters.bytes(),
        match_: rule.match_.clone(),
    })
}

impl OfTable {
    /// Lookup counters: `packets` lookups (matched or not), credited with
    /// the packets that made them (translations only read the table).
    pub(crate) fn count_lookups(&self, packets: u64, matched: bool) {
        self.lookup_count.fetch_add(packets, Ordering::Relaxed);
        if matched {
            self.matched_count.fetch_add(packets, Ordering::Relaxed);
        }
    }
}
