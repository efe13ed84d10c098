//! The `Datapath` handle: ports, forwarding threads, upcall handler threads,
//! megaflow management and introspection.

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::RwLock;

use crate::actions::{Actions, DpAction};
use crate::classifier::{Classifier, InsertError, Megaflow};
use crate::ct::ConnTracker;
use crate::dump::format_megaflow;
use crate::extract::PacketMeta;
use crate::key::FlowKey;
use crate::packet::{BURST, Packet};
use crate::pipeline::{MissMode, Pipeline, PortMap};
use crate::port::{Port, PortInfo};
use crate::sys;

/// One missed packet handed to the [`UpcallHandler`].
#[derive(Clone, Debug)]
pub struct Upcall {
    /// The extracted key (in_port, recirc_id and ct fields included).
    pub key: FlowKey,
    /// The packet's metadata at the miss.
    pub meta: PacketMeta,
    /// The frame.
    pub packet: Vec<u8>,
}

/// The handler's answer for one [`Upcall`].
#[derive(Clone, Debug)]
pub struct UpcallReply {
    /// Bits of the key the actions depend on; the megaflow matches `key & mask`.
    pub mask: FlowKey,
    /// Actions for the packet and the megaflow. Packet-ins are `Userspace`
    /// actions: their copies arrive on the userspace channel.
    pub actions: Actions,
    /// Install the megaflow (false: execute on this packet only).
    pub install: bool,
    /// Extra packets for the owner (e.g. packet-ins the slow path decided on),
    /// queued on the userspace channel after the packet is executed.
    pub events: Vec<UserspacePacket>,
}

impl UpcallReply {
    /// Installs the megaflow `key & mask` with `actions` (and runs them on
    /// the packet); no extra events.
    pub fn install(mask: FlowKey, actions: impl IntoIterator<Item = DpAction>) -> Self {
        UpcallReply {
            mask,
            actions: actions.into_iter().collect(),
            install: true,
            events: Vec::new(),
        }
    }

    /// Runs `actions` on this packet only; installs nothing.
    pub fn once(actions: impl IntoIterator<Item = DpAction>) -> Self {
        UpcallReply {
            mask: FlowKey::default(),
            actions: actions.into_iter().collect(),
            install: false,
            events: Vec::new(),
        }
    }
}

/// The slow path (ofproto). Called from handler threads with the misses of
/// one burst; must return one reply per upcall, in order (missing replies
/// drop their packets and count as lost). It must not call
/// [`Datapath::execute`] (which may be the caller, holding its pipeline).
pub trait UpcallHandler: Send + Sync {
    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply>;

    /// A megaflow entered the datapath's classifier (called under the
    /// classifier's write lock: keep it short, and do not call back into the
    /// datapath). Default: nothing.
    fn megaflow_installed(&self, _flow: &Megaflow) {}

    /// Asked before the megaflow of `reply` (an answer of [`Self::upcall`]
    /// for `key`) is installed, under the classifier's write lock and from
    /// the thread that called `upcall`: false refuses the install (the
    /// packet still runs `reply.actions`; the next one upcalls again), e.g.
    /// when the translation is older than a revalidation pass that already
    /// started. Keep it short. Default: true.
    fn may_install(&self, _key: &FlowKey, _reply: &UpcallReply) -> bool {
        true
    }

    /// A megaflow left the classifier (deleted, flushed, revalidated away,
    /// or replaced by a modify, which then reports the new one installed).
    /// Forwarding threads may still be executing it. Default: nothing.
    fn megaflow_removed(&self, _flow: &Megaflow) {}
}

/// A packet sent to userspace by a `Userspace` action (e.g. a packet-in).
#[derive(Clone, Debug)]
pub struct UserspacePacket {
    pub in_port: u32,
    pub userdata: u64,
    pub key: FlowKey,
    pub packet: Vec<u8>,
}

/// What a revalidation callback decides for one megaflow.
#[derive(Clone, Debug)]
pub enum Revalidate {
    Keep,
    Delete,
    /// Keep it with these actions (counters kept).
    Modify(Box<Actions>),
}

/// Datapath-wide counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DpStats {
    pub emc_hits: u64,
    pub megaflow_hits: u64,
    /// Packets that missed both caches.
    pub misses: u64,
    /// Upcall handler invocations.
    pub upcalls: u64,
    /// Missed packets dropped because the upcall queue was full.
    pub upcall_lost: u64,
    /// Userspace-action packets dropped because the channel was full.
    pub userspace_lost: u64,
    /// Packets dropped for exceeding the recirculation depth limit.
    pub recirc_depth_drops: u64,
    /// Outputs to a port number that does not exist.
    pub tx_unknown_port: u64,
    pub n_megaflows: u64,
    pub n_masks: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub emc_hits: AtomicU64,
    pub megaflow_hits: AtomicU64,
    pub misses: AtomicU64,
    pub upcalls: AtomicU64,
    pub upcall_lost: AtomicU64,
    pub userspace_lost: AtomicU64,
    pub recirc_depth_drops: AtomicU64,
    pub tx_unknown_port: AtomicU64,
}

/// Datapath settings.
#[derive(Clone, Debug)]
pub struct DatapathConfig {
    /// Forwarding threads; 0 = one per CPU.
    pub n_threads: usize,
    /// Upcall handler threads (≥ 1).
    pub n_handlers: usize,
    /// Bound of the upcall queue, in bursts.
    pub upcall_queue: usize,
    /// Bound of the userspace-action channel, in packets.
    pub userspace_queue: usize,
    /// How long an idle forwarding thread sleeps in `poll` before rechecking ports.
    pub poll_timeout_ms: i32,
    /// Receive on AF_PACKET ports through an mmap ring (TPACKET_V2) rather
    /// than `recvmmsg`.
    pub af_packet_rx_ring: bool,
    /// Transmit on AF_PACKET ports through an mmap ring (TPACKET_V2, one
    /// `send()` per burst) rather than `sendmmsg`.
    pub af_packet_tx_ring: bool,
}

impl Default for DatapathConfig {
    fn default() -> Self {
        DatapathConfig {
            n_threads: 0,
            n_handlers: 1,
            upcall_queue: 256,
            userspace_queue: 1024,
            poll_timeout_ms: 50,
            af_packet_rx_ring: true,
            af_packet_tx_ring: true,
        }
    }
}

pub(crate) struct Shared {
    pub classifier: RwLock<Classifier>,
    pub handler: Arc<dyn UpcallHandler>,
    pub ct: Option<Arc<dyn ConnTracker>>,
    pub upcall_tx: SyncSender<Vec<Upcall>>,
    pub userspace_tx: SyncSender<UserspacePacket>,
    pub stats: Counters,
    /// Fragment reassembly in front of the tracker (OVS's `ipf`).
    pub ipf: crate::ipf_stage::DpIpf,
    /// Meters behind `DpAction::Meter`.
    pub meters: crate::meter::MeterTable,
    ports: RwLock<Arc<PortMap>>,
    port_gen: AtomicU64,
    stop: AtomicBool,
    epoch: Instant,
    n_threads: usize,
    poll_timeout_ms: i32,
    af_packet_rx_ring: bool,
    af_packet_tx_ring: bool,
}

impl Shared {
    /// Monotonic ns since the datapath started (never 0 after start).
    pub fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64 + 1
    }
    fn ports(&self) -> Arc<PortMap> {
        self.ports.read().clone()
    }
}

/// A running datapath. Dropping it stops and joins its threads.
pub struct Datapath {
    sh: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
    port_lock: Mutex<()>,
    /// Serializes revalidation passes.
    reval_lock: Mutex<()>,
    /// Reused by `execute` (PACKET_OUT): (port generation, pipeline).
    exec_pl: Mutex<Option<(u64, Pipeline)>>,
}

impl Datapath {
    /// Starts the forwarding and handler threads (with no ports yet). Returns
    /// the handle and the receiving end of the userspace-action channel.
    pub fn new(
        cfg: DatapathConfig,
        handler: Arc<dyn UpcallHandler>,
        ct: Option<Arc<dyn ConnTracker>>,
    ) -> (Datapath, Receiver<UserspacePacket>) {
        let (upcall_tx, upcall_rx) = sync_channel::<Vec<Upcall>>(cfg.upcall_queue.max(1));
        let (userspace_tx, userspace_rx) = sync_channel(cfg.userspace_queue.max(1));
        let n_threads = if cfg.n_threads == 0 {
            sys::n_cpus()
        } else {
            cfg.n_threads
        };
        let sh = Arc::new(Shared {
            classifier: RwLock::new(Classifier::with_hooks(handler.clone())),
            handler,
            ct,
            upcall_tx,
            userspace_tx,
            stats: Counters::default(),
            ports: RwLock::new(Arc::new(PortMap::default())),
            port_gen: AtomicU64::new(1),
            stop: AtomicBool::new(false),
            epoch: Instant::now(),
            n_threads,
            poll_timeout_ms: cfg.poll_timeout_ms.max(1),
            af_packet_rx_ring: cfg.af_packet_rx_ring,
            af_packet_tx_ring: cfg.af_packet_tx_ring,
            ipf: Default::default(),
            meters: Default::default(),
        });
        let mut threads = Vec::new();
        let upcall_rx = Arc::new(Mutex::new(upcall_rx));
        for h in 0..cfg.n_handlers.max(1) {
            let sh = sh.clone();
            let rx = upcall_rx.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("rvs-handler{h}"))
                    .spawn(move || handler_loop(&sh, &rx))
                    .expect("spawning a thread"),
            );
        }
        if let Some(ct) = &sh.ct {
            // Before the forwarding threads sweep: from now on their steps leave the freeing
            // of what they unlink to the housekeeping thread.
            ct.maintain(sh.now_ns());
            let sh = sh.clone();
            threads.push(
                std::thread::Builder::new()
                    .name("rvs-ct-house".into())
                    .spawn(move || ct_housekeeping(&sh))
                    .expect("spawning a thread"),
            );
        }
        for t in 0..n_threads {
            let sh = sh.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("rvs-fwd{t}"))
                    .spawn(move || forward_loop(&sh, t))
                    .expect("spawning a thread"),
            );
        }
        (
            Datapath {
                sh,
                threads,
                port_lock: Mutex::new(()),
                reval_lock: Mutex::new(()),
                exec_pl: Mutex::new(None),
            },
            userspace_rx,
        )
    }

    fn add_port(&self, port: Port) -> io::Result<()> {
        let _g = self.port_lock.lock().unwrap_or_else(|e| e.into_inner());
        let cur = self.sh.ports();
        if cur.by_no.contains_key(&port.port_no) {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "port number in use",
            ));
        }
        let mut v = cur.ports.clone();
        v.push(Arc::new(port));
        *self.sh.ports.write() = Arc::new(PortMap::new(v));
        self.sh.port_gen.fetch_add(1, Ordering::Release);
        Ok(())
    }

    /// Adds existing interface `name` as an AF_PACKET port numbered `port_no`.
    pub fn add_system_port(&self, port_no: u32, name: &str) -> io::Result<()> {
        let sh = &self.sh;
        self.add_port(Port::open_system(
            port_no,
            name,
            sh.af_packet_rx_ring,
            sh.af_packet_tx_ring,
        )?)
    }

    /// Creates tap `name` and adds it as port `port_no`. Returns the tap's name.
    pub fn add_tap_port(&self, port_no: u32, name: &str) -> io::Result<String> {
        let p = Port::open_tap(port_no, name)?;
        let n = p.name.clone();
        self.add_port(p)?;
        Ok(n)
    }

    /// Removes port `port_no` (its fd closes once no thread uses it). Returns
    /// false if there is no such port.
    pub fn del_port(&self, port_no: u32) -> bool {
        let _g = self.port_lock.lock().unwrap_or_else(|e| e.into_inner());
        let cur = self.sh.ports();
        if !cur.by_no.contains_key(&port_no) {
            return false;
        }
        let v = cur
            .ports
            .iter()
            .filter(|p| p.port_no != port_no)
            .cloned()
            .collect();
        *self.sh.ports.write() = Arc::new(PortMap::new(v));
        self.sh.port_gen.fetch_add(1, Ordering::Release);
        // The PACKET_OUT pipeline's port table would keep the port open until
        // the next PACKET_OUT.
        *self.exec_pl.lock().unwrap_or_else(|e| e.into_inner()) = None;
        true
    }

    /// Every port with its counters, in port-number order.
    pub fn ports(&self) -> Vec<PortInfo> {
        let mut v: Vec<PortInfo> = self.sh.ports().ports.iter().map(|p| p.info()).collect();
        v.sort_by_key(|p| p.port_no);
        v
    }

    /// Executes `actions` on `packet` as if it had arrived on `in_port`
    /// (OpenFlow PACKET_OUT). A `recirc` continues through the caches and the
    /// upcall handler, in the calling thread. A packet longer than
    /// [`crate::packet::MAX_FRAME`] is dropped.
    pub fn execute(&self, packet: &[u8], in_port: u32, actions: &[DpAction]) {
        if packet.len() > crate::packet::MAX_FRAME {
            // Dropped as a port drops a received frame this long: sending a
            // cut copy would put a corrupt frame on the wire.
            tracing::debug!(
                "packet-out of {} bytes dropped (above MAX_FRAME)",
                packet.len()
            );
            return;
        }
        let seen = self.sh.port_gen.load(Ordering::Acquire);
        let mut guard = self.exec_pl.lock().unwrap_or_else(|e| e.into_inner());
        if guard.as_ref().is_none_or(|(g, _)| *g != seen) {
            *guard = Some((
                seen,
                Pipeline::new(self.sh.ports(), false, MissMode::Inline),
            ));
        }
        let Some((_, pl)) = guard.as_mut() else {
            return;
        };
        let mut pkts = [Packet::from_bytes(packet)];
        pkts[0].meta.in_port = in_port;
        let flow = Megaflow::new(
            0,
            &FlowKey::default(),
            &FlowKey::default(),
            actions.iter().copied().collect(),
        );
        pl.exec_single(&self.sh, &mut pkts, &flow, self.sh.now_ns());
    }

    /// Installs a megaflow directly (tests, tools). Refuses if a live megaflow
    /// already matches `key`.
    pub fn flow_put(
        &self,
        key: &FlowKey,
        mask: &FlowKey,
        actions: Actions,
    ) -> Result<Arc<Megaflow>, Arc<Megaflow>> {
        self.sh
            .classifier
            .write()
            .insert(key, mask, actions)
            .map_err(|InsertError::Exists(f)| f)
    }

    /// All megaflows.
    pub fn flow_dump(&self) -> Vec<Arc<Megaflow>> {
        self.sh.classifier.read().dump()
    }

    /// All megaflows in `dpctl/dump-flows` text, one per line, sorted.
    pub fn flow_dump_text(&self) -> String {
        let now = self.sh.now_ns();
        let mut lines: Vec<String> = self
            .flow_dump()
            .iter()
            .map(|f| format_megaflow(f, now))
            .collect();
        lines.sort();
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    /// Deletes megaflow `id`.
    pub fn flow_del(&self, id: u64) -> bool {
        self.sh.classifier.write().delete(id).is_some()
    }

    /// Deletes every megaflow.
    pub fn flow_flush(&self) {
        self.sh.classifier.write().flush()
    }

    /// Calls `f` on every megaflow and applies its verdicts. Returns
    /// (deleted, modified).
    ///
    /// `f` runs without the classifier lock (on a snapshot of the megaflow
    /// list), so forwarding threads never wait for translations; only the
    /// verdicts are applied under the write lock, and only if there is any.
    /// A megaflow deleted meanwhile is skipped; one installed meanwhile is
    /// left for the next pass. Passes are serialized.
    pub fn revalidate(&self, mut f: impl FnMut(&Megaflow) -> Revalidate) -> (usize, usize) {
        let _pass = self.reval_lock.lock().unwrap_or_else(|e| e.into_inner());
        let flows = self.sh.classifier.read().dump();
        let mut delete = std::collections::HashSet::new();
        let mut modify = Vec::new();
        for m in flows.iter().filter(|m| !m.is_dead()) {
            match f(m) {
                Revalidate::Keep => {}
                Revalidate::Delete => {
                    delete.insert(Arc::as_ptr(m) as usize);
                }
                Revalidate::Modify(a) => modify.push((m.clone(), *a)),
            }
        }
        if delete.is_empty() && modify.is_empty() {
            return (0, 0);
        }
        let mut cls = self.sh.classifier.write();
        let deleted = if delete.is_empty() {
            0
        } else {
            cls.retain(|m| !delete.contains(&(m as *const Megaflow as usize)))
        };
        let mut n = 0;
        for (m, a) in modify {
            // Still the megaflow `f` judged (not deleted since the dump).
            if !m.is_dead() && cls.modify(m.id, a) {
                n += 1;
            }
        }
        (deleted, n)
    }

    /// Orders the classifier's masks by recent hits.
    pub fn rerank(&self) {
        self.sh.classifier.write().rerank()
    }

    /// The meters `DpAction::Meter` runs (set and read them here).
    pub fn meters(&self) -> &crate::meter::MeterTable {
        &self.sh.meters
    }

    /// The fragment reassembler in front of `ct()` (`dpctl/ipf-*` settings and status).
    pub fn ipf(&self) -> &crate::ipf_stage::DpIpf {
        &self.sh.ipf
    }

    pub fn stats(&self) -> DpStats {
        let c = &self.sh.stats;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let cls = self.sh.classifier.read();
        DpStats {
            emc_hits: l(&c.emc_hits),
            megaflow_hits: l(&c.megaflow_hits),
            misses: l(&c.misses),
            upcalls: l(&c.upcalls),
            upcall_lost: l(&c.upcall_lost),
            userspace_lost: l(&c.userspace_lost),
            recirc_depth_drops: l(&c.recirc_depth_drops),
            tx_unknown_port: l(&c.tx_unknown_port),
            n_megaflows: cls.len() as u64,
            n_masks: cls.n_masks() as u64,
        }
    }

    /// The datapath clock used for `used` times.
    pub fn now_ns(&self) -> u64 {
        self.sh.now_ns()
    }

    /// Number of forwarding threads.
    pub fn n_threads(&self) -> usize {
        self.sh.n_threads
    }
}

impl Drop for Datapath {
    fn drop(&mut self) {
        self.sh.stop.store(true, Ordering::Release);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn handler_loop(sh: &Shared, rx: &Mutex<Receiver<Vec<Upcall>>>) {
    let mut pl = Pipeline::new(sh.ports(), false, MissMode::Inline);
    let mut seen_gen = sh.port_gen.load(Ordering::Acquire);
    let mut pkts: Vec<Packet> = (0..BURST).map(|_| Packet::new()).collect();
    let mut last_maint = Instant::now();
    while !sh.stop.load(Ordering::Acquire) {
        // (Conntrack expiry is done by the forwarding threads' sweep steps and the
        // housekeeping thread, see `ct_housekeeping`.)
        if sh.ct.is_some() && last_maint.elapsed() >= Duration::from_millis(100) {
            last_maint = Instant::now();
            sh.ipf.expire(sh.now_ns(), crate::ipf_stage::EXPIRE_BUDGET);
        }
        let msg = {
            let rx = rx.lock().unwrap_or_else(|e| e.into_inner());
            rx.recv_timeout(Duration::from_millis(100))
        };
        // Take a new port table on every wake-up, idle ones too: the old
        // one holds removed ports open (a tap device lives on, and adding it
        // again fails with EBUSY).
        let g = sh.port_gen.load(Ordering::Acquire);
        if g != seen_gen {
            seen_gen = g;
            pl.set_ports(sh.ports());
        }
        let batch = match msg {
            Ok(b) => b,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        // A frame that grew past MAX_FRAME on the way up (a pushed tag) is
        // dropped, as everywhere else, not cut.
        let mut n = 0;
        for up in batch.iter().take(BURST) {
            if up.packet.len() <= crate::packet::MAX_FRAME {
                pkts[n].set_data(&up.packet);
                pkts[n].meta = up.meta;
                n += 1;
            }
        }
        let set = if n == 32 { u32::MAX } else { (1u32 << n) - 1 };
        pl.run(sh, &mut pkts[..n], set, sh.now_ns());
    }
}

/// Pause after a conntrack sweep step that found live entries only, at first: 64 slots per
/// 250 us, a quarter million slots a second per forwarding thread (a pass over a full table
/// of 3M connections in well under a minute with a few threads), a few percent of a CPU.
const SWEEP_LIVE_PAUSE_NS: u64 = 250_000;
/// The live pause doubles after each run of this many consecutive steps that found nothing
/// dead (16,384 slots), up to [`SWEEP_LIVE_PAUSE_MAX_NS`]; a step that finds a dead entry
/// sets it back to [`SWEEP_LIVE_PAUSE_NS`].
const SWEEP_BACKOFF_STEPS: u32 = 256;
/// Longest live pause: 64 slots per 3.125 ms, 20,480 slots a second per forwarding thread.
/// With [`SWEEP_CATCH_UP_STEPS`] steps per wake-up, an idle thread then wakes every 50 ms
/// (the default idle poll) instead of every millisecond. The price is expiry latency on a
/// table where nothing has died for a while: a newly dead entry waits at most one pass,
/// S / (20,480 x T) seconds for S slots and T forwarding threads (5 s for 100k slots on one
/// thread, about 3 min for a table of 3M connections); lookups treat it as absent meanwhile,
/// it only keeps its memory and its place in the limits. Once a step finds one, the
/// following steps run right away. Near the connection limit there is no back-off (see
/// [`SWEEP_NEAR_LIMIT_PAUSE_NS`]): there a dead entry's place is what a new connection waits for.
const SWEEP_LIVE_PAUSE_MAX_NS: u64 = 3_125_000;
/// Pause after a step that found live entries only while the table is at or near its
/// connection limit, or a zone's ([`crate::ct::SweepStep::near_limit`]): 64 slots per 62.5 us,
/// about a million slots a second per forwarding thread, so that a dead entry is unlinked
/// and its slot given to a new connection within one pass: ~4 s for a full default table (3M
/// connections, ~4.2M slots) on one thread, less with more (OVS's cleanup thread frees expired
/// connections within ~5 s). The price, only while the table is that full: 16 steps per ms
/// (an idle thread wakes every ms for them), a few percent of a CPU.
const SWEEP_NEAR_LIMIT_PAUSE_NS: u64 = 62_500;
/// Pause after a step that found no entry at all (an empty or nearly empty table).
const SWEEP_EMPTY_PAUSE_NS: u64 = 10_000_000;
/// Most steps a forwarding thread runs at once to catch up after a pause (1024 slots).
const SWEEP_CATCH_UP_STEPS: u32 = 16;
/// Period of the conntrack housekeeping thread ([`ConnTracker::maintain`]).
const CT_HOUSEKEEPING_MS: u64 = 5;

/// Paces a forwarding thread's conntrack sweep steps ([`ConnTracker::sweep_step`]): while
/// steps find dead entries, one step per pass over its ports (a mass expiry is unlinked at
/// the rate the thread forwards bursts; an idle thread polls without sleeping meanwhile);
/// otherwise one step per live pause (from [`SWEEP_LIVE_PAUSE_NS`], backing off to
/// [`SWEEP_LIVE_PAUSE_MAX_NS`] while nothing dies; [`SWEEP_NEAR_LIMIT_PAUSE_NS`] and no
/// back-off while the table is near its connection limit) or per [`SWEEP_EMPTY_PAUSE_NS`] when
/// a step finds nothing. An idle thread sleeps in `poll` until a whole catch-up batch of
/// [`SWEEP_CATCH_UP_STEPS`] steps is due (same rate, 16 times fewer wake-ups), then runs it.
#[derive(Default)]
struct SweepPacer {
    next_ns: u64,
    /// The pause after the last step (0 when it found dead entries).
    pause_ns: u64,
    /// Consecutive steps that found no dead entry.
    calm_steps: u32,
}

impl SweepPacer {
    /// The pause after a step that found live entries only, given the calm steps before it.
    fn live_pause_ns(calm_steps: u32) -> u64 {
        let doublings = (calm_steps / SWEEP_BACKOFF_STEPS).min(8);
        (SWEEP_LIVE_PAUSE_NS << doublings).min(SWEEP_LIVE_PAUSE_MAX_NS)
    }

    /// Runs the steps due at `now_ns`; true while steps find dead entries.
    fn tick(&mut self, ct: &dyn ConnTracker, now_ns: u64) -> bool {
        let mut steps = 0;
        while now_ns >= self.next_ns && steps < SWEEP_CATCH_UP_STEPS {
            steps += 1;
            let r = ct.sweep_step(now_ns);
            if r.dead > 0 {
                self.next_ns = now_ns;
                self.pause_ns = 0;
                self.calm_steps = 0;
                return true;
            }
            let pause = if r.near_limit {
                SWEEP_NEAR_LIMIT_PAUSE_NS
            } else if r.examined == 0 {
                SWEEP_EMPTY_PAUSE_NS
            } else {
                Self::live_pause_ns(self.calm_steps)
            };
            // Near the limit the back-off starts over: below it again, from 250 us.
            self.calm_steps = if r.near_limit {
                0
            } else {
                self.calm_steps.saturating_add(1)
            };
            self.pause_ns = pause;
            // A long sleep is not made up for beyond one catch-up's worth of steps.
            self.next_ns = (self.next_ns + pause)
                .max(now_ns.saturating_sub(pause * u64::from(SWEEP_CATCH_UP_STEPS)));
        }
        false
    }

    /// How long the thread may sleep in `poll` (at most `max_ms`): until a catch-up batch of
    /// steps is due, or not at all while steps find dead entries.
    fn timeout_ms(&self, now_ns: u64, max_ms: i32) -> i32 {
        let wake_ns = self.next_ns + self.pause_ns * u64::from(SWEEP_CATCH_UP_STEPS - 1);
        let ms = wake_ns.saturating_sub(now_ns).div_ceil(1_000_000);
        ms.min(max_ms.max(0) as u64) as i32
    }
}

/// Makes parking_lot allocate this thread's parking state now: it does so on a thread's first
/// wait for a lock, and an allocation in the middle of a burst can take milliseconds while
/// another thread frees millions of conntrack entries into the same malloc arena.
fn warm_up_parking() {
    let m = parking_lot::Mutex::new(());
    let _held = m.lock();
    // Held by this thread: the timed attempt parks (for 1 us) and gives up.
    let again = m.try_lock_for(Duration::from_micros(1));
    debug_assert!(again.is_none());
}

/// The conntrack housekeeping thread: every [`CT_HOUSEKEEPING_MS`], frees what the forwarding
/// threads' sweep steps unlinked ([`ConnTracker::maintain`]).
fn ct_housekeeping(sh: &Shared) {
    let Some(ct) = sh.ct.as_deref() else {
        return;
    };
    while !sh.stop.load(Ordering::Acquire) {
        std::thread::sleep(Duration::from_millis(CT_HOUSEKEEPING_MS));
        ct.maintain(sh.now_ns());
    }
}

fn forward_loop(sh: &Shared, me: usize) {
    let mut seen_gen = 0;
    let mut mine: Vec<Arc<Port>> = Vec::new();
    let mut fds = Vec::new();
    let mut ready = Vec::new();
    let mut errs = Vec::new();
    let mut scratch = Vec::new();
    let mut pl = Pipeline::new(Arc::new(PortMap::default()), true, MissMode::Queue);
    let mut burst = sys::Burst::new();
    let mut pkts: Vec<Packet> = (0..BURST).map(|_| Packet::new()).collect();
    let mut busy = false;
    let mut last_rerank = Instant::now();
    let mut pacer = SweepPacer::default();
    warm_up_parking();
    while !sh.stop.load(Ordering::Acquire) {
        // Conntrack expiry, bounded steps between bursts (never per packet). An idle thread
        // sleeps in `poll` only until its next batch of steps (not at all while steps find
        // dead entries).
        let poll_timeout_ms = match sh.ct.as_deref() {
            Some(ct) => {
                let now = sh.now_ns();
                pacer.tick(ct, now);
                pacer.timeout_ms(now, sh.poll_timeout_ms)
            }
            None => sh.poll_timeout_ms,
        };
        let g = sh.port_gen.load(Ordering::Acquire);
        if g != seen_gen {
            seen_gen = g;
            let map = sh.ports();
            let mut all: Vec<Arc<Port>> = map.ports.clone();
            all.sort_by_key(|p| p.port_no);
            mine = all
                .into_iter()
                .enumerate()
                .filter(|(i, _)| i % sh.n_threads == me)
                .map(|(_, p)| p)
                .collect();
            fds = mine.iter().map(|p| p.raw_fd()).collect();
            ready = vec![false; mine.len()];
            errs = vec![false; mine.len()];
            pl.set_ports(map);
        }
        if mine.is_empty() {
            std::thread::sleep(Duration::from_millis(poll_timeout_ms as u64));
            continue;
        }
        if !busy {
            match sys::poll_readable(&fds, &mut ready, &mut errs, &mut scratch, poll_timeout_ms) {
                Ok(0) => continue,
                Ok(_) => {}
                Err(_) => {
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
            }
        } else {
            ready.iter_mut().for_each(|r| *r = true);
            errs.iter_mut().for_each(|e| *e = false);
        }
        busy = false;
        for (pi, port) in mine.iter().enumerate() {
            if !ready[pi] {
                continue;
            }
            let n = port.recv_burst(&mut burst, &mut pkts);
            if errs[pi] {
                // An error `poll` keeps reporting until it is consumed (a
                // socket whose interface went down), or a tap whose device
                // is gone: either would wake `poll` at once, forever.
                port.clear_error();
                if port.is_gone() {
                    fds[pi] = -1;
                }
            }
            if n == 0 {
                continue;
            }
            // Traffic is flowing: try the ports again before sleeping in poll
            // (one empty non-blocking recvmmsg when it stops).
            busy = true;
            for p in &mut pkts[..n] {
                p.meta = PacketMeta {
                    in_port: port.port_no,
                    ..PacketMeta::default()
                };
            }
            let set = if n == 32 { u32::MAX } else { (1u32 << n) - 1 };
            pl.run(sh, &mut pkts[..n], set, sh.now_ns());
        }
        if me == 0 && last_rerank.elapsed() > Duration::from_secs(1) {
            last_rerank = Instant::now();
            if let Some(mut c) = sh.classifier.try_write() {
                c.rerank();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoUpcalls;
    impl UpcallHandler for NoUpcalls {
        fn upcall(&self, _: &[Upcall]) -> Vec<UpcallReply> {
            Vec::new()
        }
    }

    /// A tracker whose sweep steps find `dead` dead entries among `examined`.
    struct Steps {
        examined: usize,
        dead: std::sync::atomic::AtomicUsize,
        calls: std::sync::atomic::AtomicUsize,
    }
    impl ConnTracker for Steps {
        fn execute(&self, _: &mut [crate::ct::CtItem<'_>], _: &crate::actions::CtAction, _: u64) {}
        fn sweep_step(&self, _now_ns: u64) -> crate::ct::SweepStep {
            self.calls.fetch_add(1, Ordering::Relaxed);
            crate::ct::SweepStep {
                examined: self.examined,
                dead: self.dead.load(Ordering::Relaxed),
                near_limit: false,
            }
        }
    }

    /// A tracker that counts the sweep steps it passes on to `0`.
    struct CountSteps<'a>(&'a dyn ConnTracker, std::sync::atomic::AtomicUsize);
    impl ConnTracker for CountSteps<'_> {
        fn execute(&self, b: &mut [crate::ct::CtItem<'_>], a: &crate::actions::CtAction, n: u64) {
            self.0.execute(b, a, n)
        }
        fn sweep_step(&self, now_ns: u64) -> crate::ct::SweepStep {
            self.1.fetch_add(1, Ordering::Relaxed);
            self.0.sweep_step(now_ns)
        }
    }

    /// Commits the UDP connection 10.0.x.y:1000+i -> 10.9.9.9:53 in `zone`; true if it was
    /// committed (the tracker then holds one more connection).
    fn commit_udp(ct: &conntrack::Conntrack, i: u32, zone: u16, now_ns: u64) -> bool {
        let mut f = [0u8; 42];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14..24].copy_from_slice(&[0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17]);
        f[26..30].copy_from_slice(&[10, 0, (i >> 8) as u8, i as u8]);
        f[30..34].copy_from_slice(&[10, 9, 9, 9]);
        f[34..36].copy_from_slice(&(1000 + (i >> 16) as u16).to_be_bytes());
        f[36..38].copy_from_slice(&53u16.to_be_bytes());
        f[38..40].copy_from_slice(&8u16.to_be_bytes());
        let before = ct.len();
        let mut p = [conntrack::CtPacket {
            data: &f,
            l3: conntrack::L3::Ipv4,
            l4_proto: 17,
            l3_ofs: 14,
            l4_ofs: 34,
            hash: 0,
            checksum_ok: true,
            md: Default::default(),
            rewrite: Default::default(),
        }];
        let opts = conntrack::CtOpts {
            zone,
            commit: true,
            ..Default::default()
        };
        ct.execute(&mut p, &opts, now_ns);
        ct.len() == before + 1
    }

    #[test]
    fn sweeps_at_the_connection_limit_never_back_off_and_free_expired_slots_promptly() {
        // Review L2: at the limit, dead entries hold the slots new connections are refused
        // for until a sweep unlinks them; backed off (64 slots per 3.125 ms) a pass over a
        // table of millions of slots takes minutes, OVS frees them within ~5 s.
        let s = 1_000_000_000u64;
        let long = conntrack::TimeoutPolicy {
            udp_first_s: 3600,
            udp_single_s: 3600,
            udp_multiple_s: 3600,
            ..Default::default()
        };
        let max = 20_000;
        let ct = conntrack::Conntrack::new(conntrack::Config {
            max_conns: max,
            default_policy: long,
            ..Default::default()
        });
        // Zone 1's connections die after 10 s.
        let short = conntrack::TimeoutPolicy {
            udp_first_s: 10,
            ..long
        };
        ct.set_zone_timeout_policy(1, Some(short));
        let t0 = 1_000 * s;
        // One connection dies (an individual expiry: nothing else dead nearby to speed the
        // sweep up).
        for i in 0..max as u32 - 1 {
            assert!(commit_udp(&ct, i, 0, t0));
        }
        assert!(commit_udp(&ct, 100_000, 1, t0));
        assert_eq!(ct.len(), max);
        assert!(!commit_udp(&ct, 200_000, 0, t0), "full: not committed");
        let counted = CountSteps(&ct, 0.into());
        let mut p = SweepPacer::default();
        let ms = 1_000_000;
        // 5 s at the limit with nothing dead: the step rate stays at 16 per ms (no back-off).
        let mut now = t0;
        while now < t0 + 5 * s {
            now += u64::from(p.timeout_ms(now, 50).max(1) as u32) * ms;
            p.tick(&counted, now);
            assert_eq!(p.pause_ns, SWEEP_NEAR_LIMIT_PAUSE_NS);
        }
        let steps = counted.1.load(Ordering::Relaxed);
        assert!(steps >= 5 * 15_000, "{steps} steps in 5 s");
        // The short connection dies at t0 + 10 s: unlinked within 100 ms (a pass over the
        // table's ~32k slots takes 32 ms; backed off, one took 310 ms here, and one over a
        // table of millions of slots minutes), and a new connection is committed in its slot.
        let dead_at = t0 + 10 * s;
        while now < dead_at {
            now += u64::from(p.timeout_ms(now, 50).max(1) as u32) * ms;
            p.tick(&counted, now);
        }
        while ct.len() == max && now < dead_at + 30 * s {
            now += u64::from(p.timeout_ms(now, 50).max(1) as u32) * ms;
            p.tick(&counted, now);
        }
        assert_eq!(ct.len(), max - 1);
        assert!(
            now - dead_at <= 100 * ms,
            "swept after {} ms",
            (now - dead_at) / ms
        );
        assert!(commit_udp(&ct, 200_000, 0, now));
        // Well below the limit, the same table's sweep backs off as before.
        ct.set_max_conns(10 * max);
        for _ in 0..4000 {
            now += u64::from(p.timeout_ms(now, 50).max(1) as u32) * ms;
            p.tick(&counted, now);
        }
        assert_eq!(p.pause_ns, SWEEP_LIVE_PAUSE_MAX_NS);
    }

    #[test]
    fn sweep_steps_back_off_while_nothing_dies_and_resume_at_once_when_something_does() {
        let ct = Steps {
            examined: 40,
            dead: 0.into(),
            calls: 0.into(),
        };
        let mut p = SweepPacer::default();
        let ms = 1_000_000;
        // First: a step per 250 us, woken for batches of 16 (every 4 ms).
        let mut now = 1_000 * ms;
        p.tick(&ct, now);
        assert_eq!(p.timeout_ms(now, 50), 4);
        // Live entries only, for a long while: the pause grows to 3.125 ms per step, an idle
        // thread wakes at the 50 ms poll for 16 steps.
        for _ in 0..4000 {
            now += u64::from(p.timeout_ms(now, 50).max(1) as u32) * ms;
            p.tick(&ct, now);
        }
        assert_eq!(p.pause_ns, SWEEP_LIVE_PAUSE_MAX_NS);
        assert_eq!(p.timeout_ms(now, 50), 50);
        let before = ct.calls.load(Ordering::Relaxed);
        now += 50 * ms;
        p.tick(&ct, now);
        assert_eq!(ct.calls.load(Ordering::Relaxed) - before, 16);
        // A step finds a dead entry: the next ones run without sleeping, then from 250 us again.
        ct.dead.store(3, Ordering::Relaxed);
        now += 50 * ms;
        assert!(p.tick(&ct, now));
        assert_eq!(p.timeout_ms(now, 50), 0);
        ct.dead.store(0, Ordering::Relaxed);
        assert!(!p.tick(&ct, now));
        assert_eq!(p.pause_ns, SWEEP_LIVE_PAUSE_NS);
        assert_eq!(p.timeout_ms(now, 50), 4);
    }

    #[test]
    fn lookups_do_not_wait_for_revalidation_translations() {
        let cfg = DatapathConfig {
            n_threads: 1,
            ..DatapathConfig::default()
        };
        let (dp, _rx) = Datapath::new(cfg, Arc::new(NoUpcalls), None);
        let mut mask = FlowKey::default();
        mask.set_in_port(u32::MAX);
        for p in 1..=3 {
            let mut k = FlowKey::default();
            k.set_in_port(p);
            let a = std::iter::once(DpAction::Output(9)).collect();
            dp.flow_put(&k, &mask, a).unwrap();
        }
        let dp = Arc::new(dp);
        let (deleted, modified) = dp.revalidate(|m| {
            // A forwarding thread's read lock, taken while a verdict is computed.
            let (tx, rx) = std::sync::mpsc::channel();
            let d = dp.clone();
            std::thread::spawn(move || tx.send(d.stats().n_megaflows).unwrap());
            assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok(3));
            match m.orig.in_port() {
                1 => Revalidate::Delete,
                2 => Revalidate::Modify(Box::new(std::iter::once(DpAction::Drop).collect())),
                _ => Revalidate::Keep,
            }
        });
        assert_eq!((deleted, modified), (1, 1));
        let text = dp.flow_dump_text();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("actions:drop"), "{text}");
    }
}
