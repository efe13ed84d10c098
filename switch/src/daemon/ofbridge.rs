//! [`OfBridge`]: the channel's [`Bridge`] on ofproto and the datapath.
//!
//! Flow, group and meter changes go to `Ofproto` through ofproto's upcall
//! `Handler`, which publishes snapshots (bundles are applied aside and
//! published at once). Revalidation is coalesced (see
//! `ofproto::upcall`): a change only marks the datapath's megaflows for
//! revalidation, and one pass runs, if anything changed, where the tables
//! must show in forwarding: before a BARRIER reply and after each batch of
//! messages (the channel calls [`Bridge::sync`]), before a packet-out is
//! executed, before flow, aggregate, table and port statistics, and after a
//! bundle commit. Every periodic `run` makes a full pass, which also
//! credits megaflow traffic to the rules. Port
//! descriptions and counters come from the datapath's ports. With no
//! datapath (tests, or a switch with no ports yet) the tables still work.
//!
//! PACKET_OUT takes any action list a flow may have: it is checked against
//! the packet's headers as OVS checks it, then translated by ofproto like a
//! flow's actions (`output:TABLE` runs the tables from table 0; `ct(table=N)`
//! recirculates) and executed by the datapath.

use std::collections::BTreeMap;
use std::sync::Arc;

use datapath::{Datapath, DpAction, PacketMeta, PortInfo, extract};
use ofp_codec::OfpError;
use ofp_codec::action::{FlowContext, Instruction, validate_flow};
use ofp_codec::field::FIELDS;
use ofp_codec::msg::features::capabilities as cap;
use ofp_codec::msg::multipart::{
    Desc, GroupFeatures, MeterFeatures, PortStats as OfpPortStats, TableFeatureProp,
    TableFeaturePropType, TableFeatures,
};
use ofp_codec::msg::port::OFPP_LOCAL;
use ofp_codec::msg::{
    FlowMod, GroupDesc, GroupMod, MeterMod, MultipartReplyBody as R, MultipartRequestBody as Q,
    PacketOut, Port, PortMod, PortReason, PortStatus, SwitchFeatures, TableMod,
};
use ofproto::meter::MeterChange;
use ofproto::staged::StagedBundle;
use ofproto::upcall::{Handler, StagedPublish};
use ofproto::{BundleMsg, Event, XlateOptions};

use crate::channel::{Bridge, BridgeEvent, BundleItem, PacketInEvent, StagedState};

/// `OFPPS_LINK_DOWN`.
const OFPPS_LINK_DOWN: u32 = 1;
/// `OFPPS_LIVE`.
const OFPPS_LIVE: u32 = 4;
/// `OFPPF_10GB_FD | OFPPF_COPPER`: what OVS reports for veth and tap.
const PORT_FEATURES: u32 = (1 << 6) | (1 << 11);
/// `OFPPC_PORT_DOWN`.
const OFPPC_PORT_DOWN: u32 = 1;
/// Linux `IFF_UP`.
const IFF_UP: u32 = 1;

/// Number of OpenFlow tables advertised (OVS: 254; table 254 is hidden).
const N_TABLES: u8 = 254;

/// OXM ids of the fields OVS implements: with `masks`, maskable fields carry
/// the has-mask bit (the MATCH property); `writable_only` keeps set-field
/// targets. Experimenter ids are 8 bytes (header + experimenter).
fn oxm_ids(masks: bool, writable_only: bool) -> Vec<u8> {
    let mut v = Vec::new();
    for f in FIELDS
        .iter()
        .filter(|f| f.ovs_supported && (!writable_only || f.writable))
    {
        let has_mask = masks && f.maskable;
        let payload = f.width_bytes * if has_mask { 2 } else { 1 };
        v.extend_from_slice(&f.oxm.header(has_mask, payload).to_be_bytes());
        if f.oxm.is_experimenter() {
            v.extend_from_slice(&f.oxm.experimenter.to_be_bytes());
        }
    }
    v
}

/// TABLE_FEATURES reply: every table with OVS's fixed values (no name,
/// 1,000,000 entries, all metadata bits), instructions, next tables, the
/// OpenFlow 1.3 action types (Nicira actions are not listed), and the OXM
/// fields OVS implements as match, wildcard and set-field properties.
fn table_features() -> Vec<TableFeatures> {
    use TableFeaturePropType as T;
    let prop = |prop_type, data: &Vec<u8>| TableFeatureProp {
        prop_type,
        data: data.clone(),
    };
    let matchable = oxm_ids(true, false);
    let wildcards = oxm_ids(false, false);
    let writable = oxm_ids(false, true);
    // goto_table, write_metadata, write_actions, apply_actions, clear_actions, meter.
    let insts_all: [u16; 6] = [1, 2, 3, 4, 5, 6];
    let actions: [u16; 16] = [
        0, 11, 12, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27,
    ];
    (0..N_TABLES)
        .map(|t| {
            let next: Vec<u8> = (t + 1..N_TABLES).collect();
            let insts: Vec<u16> = insts_all
                .iter()
                .copied()
                .filter(|i| *i != 1 || !next.is_empty())
                .collect();
            let mut props = Vec::new();
            for miss in [false, true] {
                let (i, w, a) = if miss {
                    (
                        T::INSTRUCTIONS_MISS,
                        T::WRITE_ACTIONS_MISS,
                        T::APPLY_ACTIONS_MISS,
                    )
                } else {
                    (T::INSTRUCTIONS, T::WRITE_ACTIONS, T::APPLY_ACTIONS)
                };
                props.push(TableFeatureProp::type_ids(i, &insts));
                props.push(TableFeatureProp::next_tables(miss, &next));
                props.push(TableFeatureProp::type_ids(w, &actions));
                props.push(TableFeatureProp::type_ids(a, &actions));
            }
            props.push(prop(T::MATCH, &matchable));
            props.push(prop(T::WILDCARDS, &wildcards));
            for t in [
                T::WRITE_SETFIELD,
                T::WRITE_SETFIELD_MISS,
                T::APPLY_SETFIELD,
                T::APPLY_SETFIELD_MISS,
            ] {
                props.push(prop(t, &writable));
            }
            TableFeatures {
                table_id: t,
                name: String::new(),
                metadata_match: u64::MAX,
                metadata_write: u64::MAX,
                config: 0,
                max_entries: 1_000_000,
                properties: props,
            }
        })
        .collect()
}

/// The checks of [`OfBridge::change_table_features`].
fn check_table_features_change(new: &[TableFeatures]) -> Result<(), OfpError> {
    let mut seen = [false; 256];
    for t in new {
        if std::mem::replace(&mut seen[usize::from(t.table_id)], true) {
            return Err(OfpError::vendor(ofp_codec::error::NX_VENDOR_ID, 44));
        }
    }
    let n = usize::from(N_TABLES);
    if seen[..n].iter().any(|s| !s) || seen[n..].iter().any(|s| *s) {
        return Err(OfpError::OFPTFFC_EPERM);
    }
    let old = table_features();
    for t in new {
        let o = &old[usize::from(t.table_id)];
        let props_ok = t.properties.iter().all(|p| {
            let unit = match p.prop_type {
                TableFeaturePropType::NEXT_TABLES | TableFeaturePropType::NEXT_TABLES_MISS => 1,
                _ => 4,
            };
            o.properties.iter().any(|op| {
                op.prop_type == p.prop_type
                    && p.data.len() % unit == 0
                    && p.data
                        .chunks(unit)
                        .all(|id| op.data.chunks(unit).any(|x| x == id))
            })
        });
        if t.max_entries != o.max_entries
            || t.metadata_match & !o.metadata_match != 0
            || t.metadata_write & !o.metadata_write != 0
            || !props_ok
        {
            return Err(OfpError::OFPTFFC_EPERM);
        }
    }
    Ok(())
}

/// Converts an ofproto packet-in to the channel's event.
pub fn packet_in_event(ev: ofproto::PacketInEvent) -> BridgeEvent {
    let p = ev.packet_in;
    BridgeEvent::PacketIn(PacketInEvent {
        reason: p.reason,
        table_id: p.table_id,
        cookie: p.cookie,
        match_: p.match_,
        total_len: usize::from(p.total_len),
        packet: p.data,
        // ofproto already decided how much of the frame to send.
        max_len: Some(0xffff),
        userdata: ev.userdata,
        controller_id: ev.controller_id,
        continuation: ev.continuation,
    })
}

fn convert(ev: Event) -> BridgeEvent {
    match ev {
        Event::FlowRemoved(fr) => BridgeEvent::FlowRemoved(fr),
        Event::PacketIn(p) => packet_in_event(p),
    }
}

/// The switch behind one bridge's OpenFlow connections.
pub struct OfBridge {
    /// Owns the published `Ofproto` snapshots (also the datapath's upcall handler).
    pub handler: Arc<Handler>,
    pub dp: Option<Arc<Datapath>>,
    pub datapath_id: u64,
    /// Last known link state and description per port, for PORT_STATUS.
    known: BTreeMap<u32, Port>,
    /// `OFPPC_*` config bits set by PORT_MOD, per port.
    port_config: BTreeMap<u32, u32>,
    events: Vec<BridgeEvent>,
    start_ms: u64,
    /// The connection tracker `NXT_CT_FLUSH` flushes ([`OfBridge::with_conntrack`]).
    ct: Option<Arc<conntrack::Conntrack>>,
    /// Table names set by TABLE_FEATURES requests ("" = none), per table.
    table_names: Vec<String>,
    /// Where replaced snapshots go to be freed (see [`Reaper`]).
    reaper: Reaper,
    /// A bundle is being staged (at most one at a time, see `Staging`).
    staging_busy: Arc<std::sync::atomic::AtomicBool>,
}

/// The bridge's state for a staged bundle ([`Bridge::bundle_stage`]).
struct Staging {
    /// The copy, from the bundle's first staged message on.
    bundle: Option<StagedBundle>,
    /// Marks the bridge's one staging slot taken while this lives.
    _busy: BusyToken,
}

/// Frees the bridge's staging slot when dropped (commit, discard, a failed
/// add, the connection closing).
struct BusyToken(Arc<std::sync::atomic::AtomicBool>);

impl Drop for BusyToken {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::Release);
    }
}

/// Frees the snapshots bundle commits replace on a thread of its own
/// (started at the first one), as OVS postpones freeing rules to its RCU
/// thread: after a bundle that deleted 100,000 flows, freeing them takes
/// about a third of the commit, and neither the COMMIT_REPLY nor the next
/// message needs to wait for it. Without the thread (it could not be
/// started) a snapshot is freed in place.
#[derive(Default)]
struct Reaper(Option<std::sync::mpsc::Sender<Arc<ofproto::Ofproto>>>);

impl Reaper {
    fn free(&mut self, old: Arc<ofproto::Ofproto>) {
        if self.0.is_none() {
            let (tx, rx) = std::sync::mpsc::channel::<Arc<ofproto::Ofproto>>();
            let spawned = std::thread::Builder::new()
                .name("rvs-reaper".into())
                .spawn(move || rx.into_iter().for_each(drop));
            if spawned.is_ok() {
                self.0 = Some(tx);
            }
        }
        match &self.0 {
            Some(tx) => {
                // The thread only ends with the sender; a failed send gives
                // the snapshot back, freed here.
                let _ = tx.send(old);
            }
            None => drop(old),
        }
    }
}

fn name16(name: &str) -> Port {
    let mut p = Port::default();
    p.set_name(name);
    p
}

impl OfBridge {
    pub fn new(handler: Arc<Handler>, dp: Option<Arc<Datapath>>, datapath_id: u64) -> Self {
        let mut b = OfBridge {
            handler,
            dp,
            datapath_id,
            known: BTreeMap::new(),
            port_config: BTreeMap::new(),
            events: Vec::new(),
            start_ms: 0,
            ct: None,
            table_names: vec![String::new(); usize::from(N_TABLES)],
            reaper: Reaper::default(),
            staging_busy: Arc::default(),
        };
        b.known = b.port_descs().into_iter().map(|p| (p.port_no, p)).collect();
        b
    }

    /// A TABLE_FEATURES request with a body, as OVS's
    /// `handle_table_features_change` takes an OpenFlow 1.3 one (command
    /// REPLACE): it must list every table once (a table twice:
    /// `NXTFFC_DUP_TABLE`; one missing, or one beyond the last:
    /// `OFPTFFC_EPERM`), each with the same `max_entries` and no capability
    /// the table lacks (metadata bits, and every id of every property among
    /// the table's own: else `OFPTFFC_EPERM`, as OVS refuses to increase
    /// features). Then only the names change: what `ovs-ofctl mod-table
    /// SWITCH TABLE name:NAME` asks for, resending all tables as they were
    /// with one name changed. Nothing changes on a refusal.
    fn change_table_features(&mut self, new: &[TableFeatures]) -> Result<(), OfpError> {
        check_table_features_change(new)?;
        for t in new {
            self.table_names[usize::from(t.table_id)].clone_from(&t.name);
        }
        Ok(())
    }

    /// The bridge flushes `ct` for `NXT_CT_FLUSH` / `NXT_CT_FLUSH_ZONE`.
    pub fn with_conntrack(mut self, ct: Arc<conntrack::Conntrack>) -> Self {
        self.ct = Some(ct);
        self
    }

    fn port_infos(&self) -> Vec<PortInfo> {
        let mut v = self.dp.as_ref().map(|d| d.ports()).unwrap_or_default();
        v.sort_by_key(|p| p.port_no);
        v
    }

    fn port_desc(&self, info: &PortInfo) -> Port {
        let mut p = name16(&info.name);
        p.port_no = info.port_no;
        p.hw_addr = info.mac;
        // As OVS: PORT_DOWN is the interface's administrative state.
        let stored = self.port_config.get(&info.port_no).copied().unwrap_or(0);
        let down = netdev_admin_down(&info.name).unwrap_or(stored & OFPPC_PORT_DOWN != 0);
        p.config = (stored & !OFPPC_PORT_DOWN) | if down { OFPPC_PORT_DOWN } else { 0 };
        p.state = match info.link_up {
            Some(true) => OFPPS_LIVE,
            _ => OFPPS_LINK_DOWN,
        };
        p.curr = PORT_FEATURES;
        p.curr_speed_kbps = 10_000_000;
        p
    }

    /// PORT_DESC entries, by port number.
    pub fn port_descs(&self) -> Vec<Port> {
        self.port_infos()
            .iter()
            .map(|i| self.port_desc(i))
            .collect()
    }

    /// Re-checks the datapath's ports and queues PORT_STATUS for what changed.
    pub fn refresh_ports(&mut self) {
        let now: BTreeMap<u32, Port> = self
            .port_descs()
            .into_iter()
            .map(|p| (p.port_no, p))
            .collect();
        for (no, p) in &now {
            match self.known.get(no) {
                None => self.events.push(BridgeEvent::PortStatus(PortStatus {
                    reason: PortReason::ADD,
                    desc: *p,
                })),
                Some(old) if old != p => {
                    let live = p.state & OFPPS_LIVE != 0 && p.config & OFPPC_PORT_DOWN == 0;
                    self.handler.modify(|of| of.port_set_live(*no, live));
                    self.events.push(BridgeEvent::PortStatus(PortStatus {
                        reason: PortReason::MODIFY,
                        desc: *p,
                    }))
                }
                _ => {}
            }
        }
        for (no, p) in &self.known {
            if !now.contains_key(no) {
                self.events.push(BridgeEvent::PortStatus(PortStatus {
                    reason: PortReason::DELETE,
                    desc: *p,
                }));
            }
        }
        self.known = now;
    }

    /// One revalidation pass over the datapath's megaflows, whether or not
    /// the tables changed (fixes them and credits their traffic).
    pub fn revalidate(&self) {
        if let Some(dp) = &self.dp {
            self.handler.revalidate_datapath(dp);
        }
    }

    /// A revalidation pass if the tables changed since the last one began.
    fn sync_datapath(&self) {
        if let Some(dp) = &self.dp {
            self.handler.sync_datapath(dp);
        }
    }

    fn drain_ofproto_events(&mut self) {
        let evs = self.handler.modify(|of| of.take_events());
        self.events.extend(evs.into_iter().map(convert));
    }

    /// Mirrors ofproto's meter changes into the datapath's meter table.
    fn apply_meter_changes(&self, changes: &[MeterChange]) {
        let Some(dp) = &self.dp else {
            return;
        };
        for c in changes {
            match c {
                MeterChange::Set { dp_id, config } => dp.meters().set(*dp_id, config, dp.now_ns()),
                MeterChange::Remove { dp_id } => {
                    dp.meters().remove(*dp_id);
                }
            }
        }
    }

    fn port_stats(&self, port: u32, now_ms: u64) -> Vec<OfpPortStats> {
        let up = now_ms.saturating_sub(self.start_ms);
        self.port_infos()
            .iter()
            .filter(|i| port == 0xffff_ffff || i.port_no == port)
            .map(|i| OfpPortStats {
                port_no: i.port_no,
                rx_packets: i.stats.rx_packets,
                tx_packets: i.stats.tx_packets,
                rx_bytes: i.stats.rx_bytes,
                tx_bytes: i.stats.tx_bytes,
                rx_dropped: i.stats.rx_dropped,
                tx_dropped: i.stats.tx_dropped,
                rx_errors: i.stats.rx_errors,
                tx_errors: i.stats.tx_errors,
                // What OVS's userspace datapath reports for tap/AF_PACKET ports.
                rx_frame_err: 0,
                rx_over_err: 0,
                rx_crc_err: 0,
                collisions: 0,
                duration_sec: (up / 1000) as u32,
                duration_nsec: ((up % 1000) * 1_000_000) as u32,
            })
            .collect()
    }

    /// Installs the flows a translation's `learn()` actions produced, as an
    /// upcall does (OVS installs them from packet-outs and resumes too),
    /// through [`ofproto::Ofproto::install_learned`] so that each learn's `limit=`
    /// is checked again against the current tables (`limits[i]` belongs to
    /// `learned[i]`; the translation pushes both together); a learned flow
    /// OVS would refuse is dropped, as OVS drops it.
    fn install_learned(&self, learned: &[FlowMod], limits: &[u32], now_ms: u64) {
        if learned.is_empty() {
            return;
        }
        self.handler.modify(|of| {
            for (i, fm) in learned.iter().enumerate() {
                let limit = limits.get(i).copied().unwrap_or(0);
                let _ = of.install_learned(fm, limit, now_ms);
            }
        });
    }

    fn packet_out_actions(&self, po: &PacketOut, now_ms: u64) -> Result<Vec<DpAction>, OfpError> {
        let meta = PacketMeta {
            in_port: po.in_port,
            ..PacketMeta::default()
        };
        let key = extract(&meta, &po.data);
        // As OVS (`ofproto_packet_out_init`): the actions are checked against
        // the packet's own headers, so e.g. `ct()` on an ARP packet is
        // OFPBAC_MATCH_INCONSISTENT, and output ports must be valid.
        validate_flow(
            &packet_match(&key),
            &[Instruction::ApplyActions(po.actions.clone())],
            FlowContext::default(),
        )?;
        let of = self.handler.snapshot();
        // Then the groups they name must exist (OVS: OFPBAC_BAD_OUT_GROUP).
        of.check_packet_out_actions(&po.actions)?;
        let t = of.translate_actions(
            &key,
            &po.actions,
            XlateOptions {
                now_ms,
                side_effects: true,
                trace: false,
            },
        );
        // As OVS, the packet counts on the rules and tables it went through
        // (output:TABLE, resubmit).
        of.credit_translation(&t, 1, po.data.len() as u64, now_ms);
        drop(of);
        self.install_learned(&t.learned, &t.learn_limits, now_ms);
        Ok(t.actions.to_vec())
    }
}

impl Bridge for OfBridge {
    fn features(&self) -> SwitchFeatures {
        SwitchFeatures {
            datapath_id: self.datapath_id,
            n_buffers: 0,
            n_tables: N_TABLES,
            auxiliary_id: 0,
            capabilities: cap::FLOW_STATS
                | cap::TABLE_STATS
                | cap::PORT_STATS
                | cap::GROUP_STATS
                | cap::QUEUE_STATS,
            reserved: 0,
        }
    }

    fn flow_mod(&mut self, fm: &FlowMod, now_ms: u64) -> Result<(), OfpError> {
        self.handler.modify(|of| of.handle_flow_mod(fm, now_ms))?;
        self.drain_ofproto_events();
        Ok(())
    }

    fn flow_mod_owned(&mut self, fm: FlowMod, now_ms: u64) -> Result<(), OfpError> {
        // One write section for the change and its events.
        let evs = self.handler.modify(|of| {
            of.handle_flow_mod_owned(fm, now_ms)
                .map(|()| of.take_events())
        })?;
        self.events.extend(evs.into_iter().map(convert));
        Ok(())
    }

    fn group_mod(&mut self, gm: &GroupMod, now_ms: u64) -> Result<(), OfpError> {
        self.handler.modify(|of| of.handle_group_mod(gm, now_ms))?;
        self.drain_ofproto_events();
        Ok(())
    }

    fn meter_mod(&mut self, mm: &MeterMod, now_ms: u64) -> Result<(), OfpError> {
        let changes = self.handler.modify(|of| {
            let r = of.handle_meter_mod(mm, now_ms);
            (r, of.take_meter_changes())
        });
        self.apply_meter_changes(&changes.1);
        changes.0?;
        self.drain_ofproto_events();
        Ok(())
    }

    /// OpenFlow 1.3 PORT_MOD: the config bits OVS accepts (PORT_DOWN,
    /// NO_RECV, NO_FWD, NO_PACKET_IN) are reported in PORT_DESC and
    /// PORT_STATUS. PORT_DOWN sets the interface itself administratively
    /// down or up, as OVS does (its link goes down too, and the port is not
    /// live for the pipeline). Not done: enforcing NO_RECV/NO_FWD/
    /// NO_PACKET_IN in the datapath.
    fn port_mod(&mut self, pm: &PortMod, _now_ms: u64) -> Result<(), OfpError> {
        const OFPPC11_ALL: u32 = OFPPC_PORT_DOWN | (1 << 2) | (1 << 5) | (1 << 6);
        let Some(p) = self.known.get(&pm.port_no) else {
            return Err(OfpError::OFPPMFC_BAD_PORT);
        };
        if pm.hw_addr != p.hw_addr {
            return Err(OfpError::OFPPMFC_BAD_HW_ADDR);
        }
        let name = p.name_str();
        let mask = pm.mask & OFPPC11_ALL;
        let old = p.config;
        let new = (old & !mask) | (pm.config & mask);
        if new != old {
            self.port_config.insert(pm.port_no, new);
            if (new ^ old) & OFPPC_PORT_DOWN != 0
                && let Err(e) = set_netdev_up(&name, new & OFPPC_PORT_DOWN == 0)
            {
                tracing::warn!(port = pm.port_no, %name, "mod-port: {e}");
            }
            self.refresh_ports();
            let live = self
                .known
                .get(&pm.port_no)
                .is_some_and(|p| p.state & OFPPS_LIVE != 0 && p.config & OFPPC_PORT_DOWN == 0);
            self.handler.modify(|of| of.port_set_live(pm.port_no, live));
        }
        Ok(())
    }

    fn table_mod(&mut self, tm: &TableMod) -> Result<(), OfpError> {
        if tm.table_id != 0xff && tm.table_id >= N_TABLES {
            return Err(OfpError::OFPTMFC_BAD_TABLE);
        }
        Ok(())
    }

    fn packet_out(&mut self, po: &PacketOut, now_ms: u64) -> Result<(), OfpError> {
        // Its recirculations meet the datapath's megaflows: they must be current.
        self.sync_datapath();
        let actions = self.packet_out_actions(po, now_ms)?;
        if let Some(dp) = &self.dp {
            dp.execute(&po.data, po.in_port, &actions);
        }
        Ok(())
    }

    fn resume(
        &mut self,
        pin: &ofp_codec::msg::PacketIn2,
        paused: &ofp_codec::msg::resume::Paused,
        now_ms: u64,
    ) -> Result<(), OfpError> {
        // As a packet-out: its recirculations meet the datapath's megaflows.
        self.sync_datapath();
        let of = self.handler.snapshot();
        let opts = XlateOptions {
            now_ms,
            side_effects: true,
            trace: false,
        };
        let t = of.resume_translation(pin, paused, opts)?;
        of.credit_translation(&t, 1, pin.packet.len() as u64, now_ms);
        drop(of);
        self.install_learned(&t.learned, &t.learn_limits, now_ms);
        let in_port = pin.metadata.value(ofp_codec::Field::InPort).unwrap_or(0) as u32;
        if let Some(dp) = &self.dp {
            dp.execute(&pin.packet, in_port, &t.actions);
        }
        Ok(())
    }

    fn multipart(&mut self, req: &Q, now_ms: u64) -> Result<R, OfpError> {
        if matches!(
            req,
            Q::Flow(_) | Q::Aggregate(_) | Q::Table | Q::PortStats(_)
        ) {
            self.sync_datapath();
        }
        let of = self.handler.snapshot();
        Ok(match req {
            Q::Desc => R::Desc(Desc {
                mfr_desc: "rvs".into(),
                hw_desc: "rvs".into(),
                sw_desc: env!("CARGO_PKG_VERSION").into(),
                serial_num: "None".into(),
                dp_desc: "None".into(),
            }),
            Q::Flow(f) => R::Flow(of.flow_stats(f, now_ms)),
            Q::Aggregate(f) => R::Aggregate(of.aggregate_stats(f)),
            Q::Table => R::Table(
                of.table_stats()
                    .into_iter()
                    .take(usize::from(N_TABLES))
                    .collect(),
            ),
            Q::PortStats(p) => {
                drop(of);
                R::PortStats(self.port_stats(*p, now_ms))
            }
            Q::PortDesc => {
                drop(of);
                R::PortDesc(self.port_descs())
            }
            Q::Queue { .. } => R::Queue(Vec::new()),
            Q::TableFeatures(v) => {
                if !v.is_empty() {
                    self.change_table_features(v)?;
                }
                let mut all = table_features();
                for (t, name) in all.iter_mut().zip(&self.table_names) {
                    t.name.clone_from(name);
                }
                R::TableFeatures(all)
            }
            Q::GroupDesc => R::GroupDesc(
                of.groups()
                    .map(|g| GroupDesc {
                        group_type: g.group_type,
                        group_id: g.group_id,
                        buckets: g.buckets.clone(),
                    })
                    .collect(),
            ),
            Q::Group(id) => R::Group(of.group_stats(*id, now_ms)),
            Q::GroupFeatures => R::GroupFeatures(group_features()),
            Q::Meter(id) => {
                let dp = self.dp.clone();
                R::Meter(of.meter_stats(*id, now_ms, |dp_id| {
                    dp.as_ref().and_then(|d| d.meters().counts(dp_id))
                }))
            }
            Q::MeterFeatures => R::MeterFeatures(meter_features()),
            Q::MeterConfig(id) => R::MeterConfig(
                of.meters()
                    .filter(|m| *id == 0xffff_ffff || m.meter_id == *id)
                    .map(|m| ofp_codec::msg::multipart::MeterConfig {
                        flags: m.flags,
                        meter_id: m.meter_id,
                        bands: m.bands.clone(),
                    })
                    .collect(),
            ),
        })
    }

    fn validate_bundle_item(&self, item: &BundleItem) -> Result<(), OfpError> {
        match item {
            // Items are decoded messages, and `FlowMod::decode` already ran
            // `validate_flow` with this context (`FlowContext::table`: the
            // table's own id, no table-count limit); the commit re-checks
            // against this switch's tables, ports, groups and meters.
            BundleItem::FlowMod(_) | BundleItem::GroupMod(_) => Ok(()),
            BundleItem::PortMod(_) | BundleItem::PacketOut(_) => Err(OfpError::OFPBFC_MSG_UNSUP),
        }
    }

    fn bundle_commit(
        &mut self,
        items: Vec<BundleItem>,
        _atomic: bool,
        now_ms: u64,
    ) -> Result<(), (usize, OfpError)> {
        let mut msgs = Vec::with_capacity(items.len());
        for (i, it) in items.into_iter().enumerate() {
            msgs.push(match it {
                BundleItem::FlowMod(fm) => BundleMsg::FlowMod(fm),
                BundleItem::GroupMod(gm) => BundleMsg::GroupMod(gm),
                _ => return Err((i, OfpError::OFPBFC_MSG_UNSUP)),
            });
        }
        let old = self.handler.bundle_commit_owned(msgs, now_ms)?;
        self.reaper.free(old);
        self.drain_ofproto_events();
        self.sync_datapath();
        Ok(())
    }

    fn bundle_stage(
        &mut self,
        staged: &mut Option<StagedState>,
        item: BundleItem,
        now_ms: u64,
    ) -> Option<BundleItem> {
        if staged.is_none() {
            // One staged bundle at a time: each holds its own copy of the
            // tables it changes. Another bundle opened meanwhile is kept
            // as items and applied at its commit, as before staging.
            if self
                .staging_busy
                .swap(true, std::sync::atomic::Ordering::AcqRel)
            {
                return Some(item);
            }
            *staged = Some(Box::new(Staging {
                bundle: None,
                _busy: BusyToken(self.staging_busy.clone()),
            }));
        }
        // (Always ours: one bridge per channel.)
        let Some(st) = staged.as_mut().and_then(|b| b.downcast_mut::<Staging>()) else {
            return Some(item);
        };
        let msg = match item {
            BundleItem::FlowMod(fm) => BundleMsg::FlowMod(fm),
            BundleItem::GroupMod(gm) => BundleMsg::GroupMod(gm),
            other => return Some(other),
        };
        self.handler.bundle_stage(&mut st.bundle, msg, now_ms);
        None
    }

    fn bundle_commit_staged(
        &mut self,
        staged: StagedState,
        now_ms: u64,
    ) -> Option<Result<(), (usize, OfpError)>> {
        let st = staged.downcast::<Staging>().ok()?.bundle.take()?;
        match self.handler.bundle_commit_staged(st, now_ms) {
            StagedPublish::Published(old) => {
                self.reaper.free(old);
                self.drain_ofproto_events();
                self.sync_datapath();
                Some(Ok(()))
            }
            StagedPublish::Failed(i, e, copy) => {
                self.reaper.free(Arc::new(copy));
                Some(Err((i, e)))
            }
            StagedPublish::Stale(copy) => {
                self.reaper.free(Arc::new(copy));
                None
            }
        }
    }

    fn take_events(&mut self) -> Vec<BridgeEvent> {
        std::mem::take(&mut self.events)
    }

    fn sync(&mut self, _now_ms: u64) {
        self.sync_datapath();
    }

    fn ct_flush(
        &mut self,
        zone: Option<u16>,
        m: &ofp_codec::msg::CtMatch,
        _now_ms: u64,
    ) -> Result<(), OfpError> {
        let Some(ct) = &self.ct else {
            return Err(OfpError::OFPBRC_BAD_SUBTYPE);
        };
        let now_ns = self.dp.as_ref().map_or(0, |dp| dp.now_ns());
        // OVS ignores what the flush returns (no such connection included).
        let _ = super::commands::ct_flush(ct, zone, m, now_ns);
        Ok(())
    }

    fn run(&mut self, now_ms: u64) -> Vec<BridgeEvent> {
        let (evs, _) = self.handler.modify(|of| of.run(now_ms));
        self.events.extend(evs.into_iter().map(convert));
        // Revalidation also credits megaflow traffic to the rules' counters
        // (OVS's revalidator does both, every 500 ms by default).
        self.revalidate();
        self.refresh_ports();
        std::mem::take(&mut self.events)
    }
}

/// What rvs's datapath meters support, which is what OVS's userspace
/// datapath reports too: 2^18 meters of up to 8 drop bands, kbps or pktps,
/// burst sizes, statistics; no color.
fn meter_features() -> MeterFeatures {
    use ofp_codec::msg::meter_mod::{
        MeterBandType, OFPMF_BURST, OFPMF_KBPS, OFPMF_PKTPS, OFPMF_STATS,
    };
    MeterFeatures {
        max_meter: ofproto::meter::MAX_METERS,
        band_types: 1 << MeterBandType::DROP.0,
        capabilities: u32::from(OFPMF_KBPS | OFPMF_PKTPS | OFPMF_BURST | OFPMF_STATS),
        max_bands: ofproto::meter::MAX_BANDS as u8,
        max_color: 0,
    }
}

/// What OVS's userspace datapath reports as its group support on OpenFlow
/// 1.3, which rvs matches: all four group types, chaining, select weights and
/// liveness, OFPG_MAX groups of each type, and the same bucket actions.
fn group_features() -> GroupFeatures {
    // OFPAT_* numbers of output, set_mpls_ttl, dec_mpls_ttl, push_vlan,
    // pop_vlan, push_mpls, pop_mpls, set_queue, group, set_nw_ttl,
    // dec_nw_ttl and set_field.
    let actions = [0u32, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25]
        .iter()
        .fold(0u32, |bits, t| bits | (1 << t));
    GroupFeatures {
        types: 0xf,
        // OFPGFC_SELECT_WEIGHT | OFPGFC_SELECT_LIVENESS | OFPGFC_CHAINING.
        capabilities: 0x7,
        max_groups: [0xffff_ff00; 4],
        actions: [actions; 4],
    }
}

/// Runs `ip ARGS...` (iproute2). The datapath's `sys` has no ioctl to take
/// an interface down and `switch` forbids unsafe code, so administrative
/// state and the LOCAL tap go through `ip`, which the daemon (root) has.
fn run_ip(args: &[&str]) -> std::io::Result<()> {
    let out = std::process::Command::new("ip")
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )))
    }
}

/// Sets interface `name` administratively up or down, as OVS does for
/// PORT_MOD's `OFPPC_PORT_DOWN` (the link goes down with it).
pub fn set_netdev_up(name: &str, up: bool) -> std::io::Result<()> {
    run_ip(&["link", "set", "dev", name, if up { "up" } else { "down" }])
}

/// Whether interface `name` is administratively down (`None`: unknown).
fn netdev_admin_down(name: &str) -> Option<bool> {
    datapath::sys::if_flags(name).ok().map(|f| f & IFF_UP == 0)
}

/// The bridge's LOCAL port, as OVS's: a tap device named after the bridge,
/// created administratively down (so `config: PORT_DOWN`, `state:
/// LINK_DOWN` until someone sets it up), numbered `OFPP_LOCAL`. The device
/// is made persistent first so that IPv6 can be turned off on it before it
/// ever comes up (the datapath opens taps up; a kernel-generated MLD or
/// router solicitation would otherwise enter the bridge). An interface of
/// that name that already exists is not touched: then there is no LOCAL
/// port and the caller logs why. [`delete_local_port`] removes the device.
pub fn add_local_port(d: &super::Daemon) -> anyhow::Result<String> {
    use anyhow::Context;
    let name = d.settings.bridge.clone();
    if datapath::sys::if_index(&name).is_ok() {
        anyhow::bail!("{name}: an interface of that name exists already");
    }
    run_ip(&["tuntap", "add", "dev", &name, "mode", "tap"])?;
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1");
    let r =
        d.dp.add_tap_port(OFPP_LOCAL, &name)
            .with_context(|| format!("{name}: cannot open the LOCAL tap"))
            .and_then(|n| Ok(set_netdev_up(&n, false)?));
    if let Err(e) = r {
        d.dp.del_port(OFPP_LOCAL);
        let _ = run_ip(&["link", "del", "dev", &name]);
        return Err(e);
    }
    d.handler.modify(|of| {
        of.port_add(ofproto::Port::new(OFPP_LOCAL, name.clone()));
        of.port_set_live(OFPP_LOCAL, false);
    });
    d.ports.lock().insert(OFPP_LOCAL, (name.clone(), true));
    d.hub.with_bridge(|b, _| {
        b.refresh_ports();
        b.revalidate();
    });
    Ok(name)
}

/// Deletes the LOCAL port's persistent tap (after the datapath closed it).
pub fn delete_local_port(name: &str) {
    let _ = run_ip(&["link", "del", "dev", name]);
}

/// The exact headers of a packet-out's packet that its actions' consistency
/// checks look at: in_port, Ethernet type and IP protocol.
fn packet_match(key: &datapath::key::FlowKey) -> ofp_codec::Match {
    use ofp_codec::field::Field;
    let mut m = ofp_codec::Match::new();
    let _ = m.set_exact(Field::InPort, u128::from(key.in_port()));
    let _ = m.set_exact(Field::EthType, u128::from(key.eth_type()));
    if matches!(key.eth_type(), 0x0800 | 0x86dd) {
        let _ = m.set_exact(Field::IpProto, u128::from(key.nw_proto()));
    }
    m
}

#[cfg(test)]
mod table_features_change_tests {
    use super::*;

    #[test]
    fn only_renames_pass_as_in_ovs() {
        let mut all = table_features();
        all[3].name = "three".into();
        assert_eq!(check_table_features_change(&all), Ok(()));
        // Fewer properties, or fewer ids in one, are no increase.
        let mut fewer = all.clone();
        fewer[0].properties.truncate(2);
        fewer[1].properties[0].data.truncate(4);
        assert_eq!(check_table_features_change(&fewer), Ok(()));
        let eperm = Err(OfpError::OFPTFFC_EPERM);
        let mut missing = all.clone();
        missing.remove(7);
        assert_eq!(check_table_features_change(&missing), eperm);
        let mut beyond = all.clone();
        beyond.push(TableFeatures {
            table_id: 254,
            ..all[253].clone()
        });
        assert_eq!(check_table_features_change(&beyond), eperm);
        let mut dup = all.clone();
        dup.push(all[5].clone());
        assert_eq!(
            check_table_features_change(&dup),
            Err(OfpError::vendor(ofp_codec::error::NX_VENDOR_ID, 44))
        );
        let mut bigger = all.clone();
        bigger[0].max_entries += 1;
        assert_eq!(check_table_features_change(&bigger), eperm);
        let mut more = all.clone();
        more[253].properties[0]
            .data
            .extend_from_slice(&[0, 1, 0, 4]);
        assert_eq!(
            check_table_features_change(&more),
            eperm,
            "goto_table on the last table"
        );
    }
}

#[cfg(test)]
mod learned_install_tests {
    use super::*;
    use ofp_codec::text::{Command, parse_flow_mod};

    fn flow(line: &str) -> FlowMod {
        parse_flow_mod(line, Command::Add)
            .expect("flow text")
            .to_flow_mod()
    }

    /// A packet-out or resume translated on a snapshot taken before other
    /// flows reached `limit=` installs nothing more: the limit is checked
    /// again at install, as for upcalls.
    #[test]
    fn packet_out_and_resume_learns_recheck_the_limit_at_install() {
        let mut of = ofproto::Ofproto::new(ofproto::Config::default());
        for line in [
            "table=1,cookie=0x7,priority=1,dl_dst=00:00:00:00:00:11,actions=drop",
            "table=1,cookie=0x7,priority=1,dl_dst=00:00:00:00:00:22,actions=drop",
        ] {
            of.handle_flow_mod(&flow(line), 0).expect("flow");
        }
        let h = Arc::new(Handler::new(of, Arc::new(|| 0)));
        let br = OfBridge::new(h.clone(), None, 1);
        // What a translation made on an older snapshot learned: a third
        // cookie-0x7 flow under limit=2, and one without limit.
        let third = flow("table=1,cookie=0x7,priority=1,dl_dst=00:00:00:00:00:33,actions=drop");
        let free = flow("table=1,cookie=0x8,priority=1,dl_dst=00:00:00:00:00:44,actions=drop");
        br.install_learned(&[third.clone(), free], &[2, 0], 0);
        let cookies: Vec<u64> = h
            .snapshot()
            .table(1)
            .map(|t| t.rules().map(|r| r.cookie).collect())
            .unwrap_or_default();
        assert_eq!(cookies.len(), 3, "{cookies:?}");
        assert_eq!(cookies.iter().filter(|&&c| c == 7).count(), 2);
        // A flow already present as is is only refreshed, never refused.
        let present = flow("table=1,cookie=0x7,priority=1,dl_dst=00:00:00:00:00:11,actions=drop");
        br.install_learned(&[present], &[2], 0);
        assert_eq!(h.snapshot().table(1).map_or(0, |t| t.len()), 3);
    }
}
