//! The packet-processing core shared by forwarding threads, handler threads
//! and `Datapath::execute`: extract → EMC → megaflow → (upcall) → actions →
//! recirculation, on bursts of up to 32 packets held as a bitmask of slots.
//!
//! No allocation or lock per packet on the hit path: the classifier read lock
//! is taken once per burst (only when the EMC missed), outputs are
//! copied into per-port transmit queues flushed once per burst with one
//! transmit call per AF_PACKET port (tx ring `send()` or `sendmmsg`) and one
//! io_uring burst per tap (a `write` per frame where io_uring is missing).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use smallvec::SmallVec;

use crate::actions::{CtAction, DpAction};
use crate::classifier::{InsertError, Megaflow};
use crate::ct::CtItem;
use crate::dp::{Shared, Upcall, UserspacePacket};
use crate::edit;
use crate::emc::Emc;
use crate::extract::{extract, extract_into};
use crate::key::{FlowKey, ct_state};
use crate::packet::{BURST, Packet};
use crate::port::Port;
use crate::sys;

/// Maximum recirculation depth: deeper packets are dropped and counted. The
/// datapath issue asks for 8; OVS's userspace datapath stops at 6
/// (`MAX_RECIRC_DEPTH` in dpif-netdev), which no ordinary pipeline reaches
/// (a `ct(table=N)` costs one level). A packet sent up to a handler starts
/// counting again there, as OVS's upcalls do.
pub const MAX_RECIRC_DEPTH: u32 = 8;

/// An immutable snapshot of the port table.
#[derive(Default)]
pub struct PortMap {
    pub ports: Vec<Arc<Port>>,
    pub by_no: HashMap<u32, usize>,
}

impl PortMap {
    pub fn new(ports: Vec<Arc<Port>>) -> Self {
        let by_no = ports
            .iter()
            .enumerate()
            .map(|(i, p)| (p.port_no, i))
            .collect();
        PortMap { ports, by_no }
    }
}

struct TxQueue {
    bufs: Vec<Vec<u8>>,
    n: usize,
}

/// Per-thread transmit queues, one per port of the snapshot.
pub struct TxSet {
    ports: Arc<PortMap>,
    queues: Vec<TxQueue>,
    burst: sys::Burst,
}

impl TxSet {
    pub fn new(ports: Arc<PortMap>) -> Self {
        TxSet {
            queues: Self::queues_for(&ports),
            ports,
            burst: sys::Burst::new(),
        }
    }

    fn queues_for(ports: &PortMap) -> Vec<TxQueue> {
        ports
            .ports
            .iter()
            .map(|_| TxQueue {
                bufs: (0..BURST).map(|_| Vec::with_capacity(2048)).collect(),
                n: 0,
            })
            .collect()
    }

    /// Flushes what is queued and switches to a new port snapshot, keeping
    /// this thread's burst state (its tap io_uring is set up once per
    /// thread, not once per port change).
    pub fn set_ports(&mut self, ports: Arc<PortMap>) {
        self.flush();
        self.queues = Self::queues_for(&ports);
        self.ports = ports;
    }

    pub fn ports(&self) -> &Arc<PortMap> {
        &self.ports
    }

    #[inline]
    fn push_idx(&mut self, idx: usize, frame: &[u8]) {
        if self.queues[idx].n == BURST {
            self.flush_one(idx);
        }
        let q = &mut self.queues[idx];
        let b = &mut q.bufs[q.n];
        b.clear();
        b.extend_from_slice(frame);
        q.n += 1;
    }

    /// Queues `frame` for port `port_no`. Returns false for an unknown port.
    #[inline]
    pub fn push(&mut self, port_no: u32, frame: &[u8]) -> bool {
        match self.ports.by_no.get(&port_no) {
            Some(&i) => {
                self.push_idx(i, frame);
                true
            }
            None => false,
        }
    }

    fn flush_one(&mut self, idx: usize) {
        let q = &mut self.queues[idx];
        if q.n == 0 {
            return;
        }
        let mut frames: [&[u8]; BURST] = [&[]; BURST];
        for (f, b) in frames.iter_mut().zip(q.bufs.iter()) {
            *f = b.as_slice();
        }
        self.ports.ports[idx].send_burst(&mut self.burst, &frames[..q.n]);
        q.n = 0;
    }

    /// Sends everything queued.
    pub fn flush(&mut self) {
        for i in 0..self.queues.len() {
            self.flush_one(i);
        }
    }
}

/// How misses are handled.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum MissMode {
    /// Copy the missed packets into one batch on the bounded upcall queue.
    Queue,
    /// Call the upcall handler right here (handler threads, `execute`).
    Inline,
}

/// One thread's processing state.
pub struct Pipeline {
    pub emc: Option<Emc>,
    pub tx: TxSet,
    pub mode: MissMode,
    /// Fragment reassembly before `ct()` (see `ipf_stage.rs`).
    pub(crate) ipf: crate::ipf_stage::IpfStage,
}

type Group = (Arc<Megaflow>, u32);

impl Pipeline {
    pub fn new(ports: Arc<PortMap>, emc: bool, mode: MissMode) -> Self {
        Pipeline {
            emc: emc.then(Emc::new),
            tx: TxSet::new(ports),
            mode,
            ipf: Default::default(),
        }
    }

    /// Replaces the port snapshot (flushing what is queued first).
    pub fn set_ports(&mut self, ports: Arc<PortMap>) {
        self.tx.set_ports(ports);
    }

    /// Processes the packets of `pkts` whose slot bit is set in `set`, then
    /// flushes the transmit queues.
    pub fn run(&mut self, sh: &Shared, pkts: &mut [Packet], set: u32, now_ns: u64) {
        self.process(sh, pkts, set, 0, now_ns);
        self.tx.flush();
    }

    /// Runs `flow`'s actions on `pkts[0]` (PACKET_OUT), then its recirculations, then flushes.
    pub(crate) fn exec_single(
        &mut self,
        sh: &Shared,
        pkts: &mut [Packet],
        flow: &Megaflow,
        now_ns: u64,
    ) {
        let mut keys = [FlowKey::default(); BURST];
        keys[0] = extract(&pkts[0].meta, pkts[0].data());
        let r = self.exec_actions(sh, pkts, &keys, 1, &flow.actions, now_ns);
        self.ipf_drain(sh, 0, now_ns);
        self.process(sh, pkts, r & 1, 1, now_ns);
        self.tx.flush();
    }

    pub(crate) fn process(
        &mut self,
        sh: &Shared,
        pkts: &mut [Packet],
        set: u32,
        depth: u32,
        now_ns: u64,
    ) {
        if set == 0 {
            return;
        }
        if depth > MAX_RECIRC_DEPTH {
            sh.stats
                .recirc_depth_drops
                .fetch_add(set.count_ones() as u64, Ordering::Relaxed);
            return;
        }
        let n = pkts.len().min(BURST);
        let mut keys = [FlowKey::default(); BURST];
        let mut hashes = [0u64; BURST];
        let mut groups: SmallVec<[Group; 8]> = SmallVec::new();
        let mut missed = 0u32;
        let mut emc_hits = 0u64;
        for i in 0..n {
            if set & (1 << i) == 0 {
                continue;
            }
            let p = &pkts[i];
            extract_into(&mut keys[i], &p.meta, p.data());
            hashes[i] = keys[i].hash64();
            let hit = self
                .emc
                .as_ref()
                .and_then(|e| e.lookup(&keys[i], hashes[i]));
            match hit {
                Some(f) => {
                    emc_hits += 1;
                    add_to_group(&mut groups, f, i);
                }
                None => missed |= 1 << i,
            }
        }
        if emc_hits != 0 {
            sh.stats.emc_hits.fetch_add(emc_hits, Ordering::Relaxed);
        }
        if missed != 0 {
            let cls = sh.classifier.read();
            let mut mf_hits = 0;
            for i in 0..n {
                if missed & (1 << i) == 0 {
                    continue;
                }
                if let Some(f) = cls.lookup(&keys[i]) {
                    mf_hits += 1;
                    missed &= !(1 << i);
                    if let Some(e) = self.emc.as_mut() {
                        e.insert(&keys[i], hashes[i], f);
                    }
                    add_to_group(&mut groups, f, i);
                }
            }
            drop(cls);
            if mf_hits != 0 {
                sh.stats.megaflow_hits.fetch_add(mf_hits, Ordering::Relaxed);
            }
        }
        if missed != 0 {
            sh.stats
                .misses
                .fetch_add(missed.count_ones() as u64, Ordering::Relaxed);
            match self.mode {
                MissMode::Queue => {
                    let batch: Vec<Upcall> = (0..n)
                        .filter(|i| missed & (1 << i) != 0)
                        .map(|i| Upcall {
                            key: keys[i],
                            meta: pkts[i].meta,
                            packet: pkts[i].data().to_vec(),
                        })
                        .collect();
                    let cnt = batch.len() as u64;
                    if sh.upcall_tx.try_send(batch).is_err() {
                        sh.stats.upcall_lost.fetch_add(cnt, Ordering::Relaxed);
                    }
                }
                MissMode::Inline => self.upcall_inline(sh, pkts, &keys, missed, &mut groups),
            }
        }
        let mut recirc = 0u32;
        for (flow, gset) in &groups {
            // Packets that went up (`missed`) were counted by the upcall
            // handler, not by the megaflow (as OVS's datapath flows).
            let hits = gset & !missed;
            let mut bytes = 0u64;
            let mut flags = 0u16;
            for i in 0..n {
                if hits & (1 << i) != 0 {
                    bytes += pkts[i].len() as u64;
                    flags |= keys[i].tcp_flags();
                }
            }
            if hits != 0 {
                flow.hit(hits.count_ones() as u64, bytes, now_ns, flags);
            }
            recirc |= self.exec_actions(sh, pkts, &keys, *gset, &flow.actions, now_ns);
        }
        self.ipf_drain(sh, depth, now_ns);
        if recirc != 0 {
            self.process(sh, pkts, recirc, depth + 1, now_ns);
        }
    }

    fn upcall_inline(
        &mut self,
        sh: &Shared,
        pkts: &[Packet],
        keys: &[FlowKey; BURST],
        missed: u32,
        groups: &mut SmallVec<[Group; 8]>,
    ) {
        let idx: SmallVec<[usize; BURST]> = (0..pkts.len().min(BURST))
            .filter(|i| missed & (1 << i) != 0)
            .collect();
        let batch: Vec<Upcall> = idx
            .iter()
            .map(|&i| Upcall {
                key: keys[i],
                meta: pkts[i].meta,
                packet: pkts[i].data().to_vec(),
            })
            .collect();
        let replies = sh.handler.upcall(&batch);
        sh.stats.upcalls.fetch_add(1, Ordering::Relaxed);
        for (k, &i) in idx.iter().enumerate() {
            let Some(r) = replies.get(k) else {
                sh.stats.upcall_lost.fetch_add(1, Ordering::Relaxed);
                continue;
            };
            // The handler's verdict and the insert under one write lock: a
            // revalidation pass dumps the megaflows under this lock, so
            // whatever `may_install` allows is either seen by a pass or
            // newer than it (see `UpcallHandler::may_install`).
            let installed = if r.install {
                let mut cls = sh.classifier.write();
                match cls.lookup(&keys[i]) {
                    Some(f) => Some(f.clone()),
                    None if sh.handler.may_install(&keys[i], r) => {
                        match cls.insert(&keys[i], &r.mask, r.actions.clone()) {
                            Ok(f) => Some(f),
                            Err(InsertError::Exists(f)) => Some(f),
                        }
                    }
                    None => None,
                }
            } else {
                None
            };
            let flow = installed.unwrap_or_else(|| {
                Arc::new(Megaflow::new(0, &keys[i], &r.mask, r.actions.clone()))
            });
            groups.push((flow, 1 << i));
            for ev in &r.events {
                if sh.userspace_tx.try_send(ev.clone()).is_err() {
                    sh.stats.userspace_lost.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Runs `actions` on the slots in `set`; returns the slots to recirculate.
    pub(crate) fn exec_actions(
        &mut self,
        sh: &Shared,
        pkts: &mut [Packet],
        keys: &[FlowKey; BURST],
        set: u32,
        actions: &[DpAction],
        now_ns: u64,
    ) -> u32 {
        self.exec_actions_cut(sh, pkts, keys, set, actions, now_ns, None)
    }

    /// [`Pipeline::exec_actions`] with a `trunc` pending from the part of
    /// the list before `actions` (a continuation after some packets left
    /// the burst at a meter or a held fragment).
    #[allow(clippy::too_many_arguments)]
    fn exec_actions_cut(
        &mut self,
        sh: &Shared,
        pkts: &mut [Packet],
        keys: &[FlowKey; BURST],
        set: u32,
        actions: &[DpAction],
        now_ns: u64,
        mut trunc: Option<usize>,
    ) -> u32 {
        let n = pkts.len().min(BURST);
        let slots = move || (0..n).filter(move |i| set & (1 << i) != 0);
        for (ai, a) in actions.iter().enumerate() {
            match *a {
                DpAction::Output(port) => {
                    for i in slots() {
                        let d = pkts[i].data();
                        let d = &d[..trunc.map_or(d.len(), |t| t.min(d.len()))];
                        if !self.tx.push(port, d) {
                            sh.stats.tx_unknown_port.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    trunc = None;
                }
                DpAction::Flood => {
                    let ports = self.tx.ports().clone();
                    for i in slots() {
                        let d = pkts[i].data();
                        let d = &d[..trunc.map_or(d.len(), |t| t.min(d.len()))];
                        for (pi, p) in ports.ports.iter().enumerate() {
                            if p.port_no != pkts[i].meta.in_port {
                                self.tx.push_idx(pi, d);
                            }
                        }
                    }
                    trunc = None;
                }
                DpAction::Userspace { userdata } => {
                    for i in slots() {
                        let d = pkts[i].data();
                        // The key of the packet as it is now (as OVS extracts
                        // the flow again here): earlier `set`, `ct` and
                        // `ct_clear` actions of this pass changed it.
                        let key = extract(&pkts[i].meta, d);
                        let d = &d[..trunc.map_or(d.len(), |t| t.min(d.len()))];
                        let up = UserspacePacket {
                            in_port: pkts[i].meta.in_port,
                            userdata,
                            key,
                            packet: d.to_vec(),
                        };
                        if sh.userspace_tx.try_send(up).is_err() {
                            sh.stats.userspace_lost.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    trunc = None;
                }
                DpAction::Set(ref s) => {
                    for i in slots() {
                        edit::apply_set(&mut pkts[i], s);
                    }
                }
                DpAction::PushVlan { tpid, tci } => {
                    for i in slots() {
                        edit::push_vlan(&mut pkts[i], tpid, tci);
                    }
                }
                DpAction::PopVlan => {
                    for i in slots() {
                        edit::pop_vlan(&mut pkts[i]);
                    }
                }
                DpAction::Ct(ref c) => {
                    // Held fragments leave the burst here (see ipf_stage.rs).
                    let rest = &actions[ai + 1..];
                    let site = crate::ipf_stage::CtSite { ct: c, rest };
                    let left = self.ipf_hold(sh, pkts, keys, set, site, now_ns);
                    self.exec_ct(sh, pkts, keys, left, c, now_ns);
                    if left != set {
                        return match left {
                            0 => 0,
                            _ => self.exec_actions_cut(sh, pkts, keys, left, rest, now_ns, trunc),
                        };
                    }
                }
                DpAction::CtClear => {
                    for i in slots() {
                        crate::ct::clear_ct(&mut pkts[i].meta);
                    }
                }
                DpAction::Recirc(id) => {
                    for i in slots() {
                        pkts[i].meta.recirc_id = id;
                    }
                    return set;
                }
                DpAction::Trunc(len) => trunc = Some(len as usize),
                DpAction::Meter(id) => {
                    let dropped = crate::meter::run_batch(&sh.meters, id, pkts, set, now_ns);
                    if dropped != 0 {
                        // The rest of the list runs on the packets that passed.
                        let pass = set & !dropped;
                        let rest = &actions[ai + 1..];
                        return self.exec_actions_cut(sh, pkts, keys, pass, rest, now_ns, trunc);
                    }
                }
                DpAction::Drop => return 0,
            }
        }
        0
    }

    fn exec_ct(
        &mut self,
        sh: &Shared,
        pkts: &mut [Packet],
        keys: &[FlowKey; BURST],
        set: u32,
        c: &CtAction,
        now_ns: u64,
    ) {
        match &sh.ct {
            Some(ct) => {
                let mut items: SmallVec<[CtItem<'_>; BURST]> = SmallVec::new();
                for (i, p) in pkts.iter_mut().enumerate().take(BURST) {
                    if set & (1 << i) != 0 {
                        let (frame, meta) = p.split();
                        items.push(CtItem {
                            frame,
                            key: &keys[i],
                            meta,
                            rewrite: Default::default(),
                        });
                    }
                }
                ct.execute(&mut items, c, now_ns);
                // NAT: the tracker decided the rewrites; apply them now that the frames are
                // no longer borrowed.
                let mut rewrites = [conntrack::NatRewrite::default(); BURST];
                let mut any = false;
                for (rw, it) in rewrites.iter_mut().zip(items.iter()) {
                    any |= !it.rewrite.is_empty();
                    *rw = it.rewrite;
                }
                drop(items);
                if any {
                    let mut next = rewrites.iter();
                    for (i, p) in pkts.iter_mut().enumerate().take(BURST) {
                        if set & (1 << i) != 0
                            && let Some(rw) = next.next()
                        {
                            crate::ct_conntrack::apply_rewrite(p, rw);
                        }
                    }
                }
            }
            None => {
                // No tracker configured: every packet is tracked and invalid.
                for (i, p) in pkts.iter_mut().enumerate().take(BURST) {
                    if set & (1 << i) != 0 {
                        p.meta.ct_state = ct_state::TRK | ct_state::INV;
                        p.meta.ct_zone = c.zone;
                    }
                }
            }
        }
    }
}

#[inline]
fn add_to_group(groups: &mut SmallVec<[Group; 8]>, f: &Arc<Megaflow>, i: usize) {
    for g in groups.iter_mut() {
        if Arc::ptr_eq(&g.0, f) {
            g.1 |= 1 << i;
            return;
        }
    }
    groups.push((f.clone(), 1 << i));
}
