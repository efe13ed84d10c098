//! Ports: tap devices and AF_PACKET sockets, with OpenFlow-style counters.
//!
//! An AF_PACKET port has two sockets: the receive socket (all protocols,
//! promiscuous, `PACKET_IGNORE_OUTGOING`, VLAN aux data, a TPACKET_V2 rx
//! ring) and, with the tx ring on, a transmit-only socket (protocol 0, so it
//! receives nothing; `PACKET_QDISC_BYPASS`, a TPACKET_V2 tx ring). Frames
//! rvs transmits are outgoing on the device, so no rvs receive socket sees
//! them; with the qdisc bypass, packet taps such as tcpdump on that device
//! do not see them either (as before, when `sendmmsg` bypassed the qdisc).

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use parking_lot::Mutex;

use crate::packet::{BURST, MAX_FRAME, Packet};
use crate::sys;

/// Bytes of AF_PACKET receive ring per port.
const RX_RING_BYTES: usize = 4 << 20;
/// Bytes of AF_PACKET transmit ring per port.
const TX_RING_BYTES: usize = 2 << 20;

/// Frames shorter than this are dropped on receipt.
const ETH_HEADER_LEN: usize = 14;

/// How a port reaches the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PortKind {
    /// A tap device rvs created (`TUNSETIFF`).
    Tap,
    /// An existing interface opened with an AF_PACKET socket.
    System,
}

/// Port counters as OpenFlow port stats need them. `rx_dropped` counts frames
/// the kernel dropped on an AF_PACKET socket (receive buffer full); `tx_dropped`
/// frames the device or socket refused (queue full).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PortStats {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub rx_dropped: u64,
    pub rx_errors: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub tx_dropped: u64,
    pub tx_errors: u64,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub rx_packets: AtomicU64,
    pub rx_bytes: AtomicU64,
    pub rx_dropped: AtomicU64,
    pub rx_errors: AtomicU64,
    pub tx_packets: AtomicU64,
    pub tx_bytes: AtomicU64,
    pub tx_dropped: AtomicU64,
    pub tx_errors: AtomicU64,
}

/// Description of a port for the owner (OpenFlow PORT_DESC / port stats).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortInfo {
    pub port_no: u32,
    pub name: String,
    pub kind: PortKind,
    pub mac: [u8; 6],
    /// `Some(up)` from the interface's IFF_UP|IFF_RUNNING flags; `None` when the
    /// interface is not visible from rvs's namespace (e.g. a tap moved away).
    pub link_up: Option<bool>,
    pub stats: PortStats,
}

/// A port's tx ring and its frame limit (copied out so that checking a
/// frame against it needs no lock).
struct TxPath {
    ring: Mutex<sys::TxRing>,
    max_len: usize,
}

impl TxPath {
    fn fits(&self, f: &[u8]) -> bool {
        sys::TxRing::fits_len(self.max_len, f)
    }
}

/// An open port. Shared by the forwarding threads (any thread may transmit).
pub struct Port {
    pub port_no: u32,
    pub name: String,
    pub kind: PortKind,
    pub mac: [u8; 6],
    fd: OwnedFd,
    /// The AF_PACKET receive ring, when one could be set up (else `recvmmsg`).
    rx_ring: Option<Mutex<sys::RxRing>>,
    /// The AF_PACKET transmit ring (its own socket), when one could be set
    /// up (else `sendmmsg` on `fd`).
    tx_ring: Option<TxPath>,
    /// Tap only: bursts go through the thread's io_uring ([`sys::TapRing`])
    /// when it has one, else one `read`/`write` per frame. Cleared for good
    /// if the kernel refuses non-blocking io_uring reads or writes on the
    /// tap (`EOPNOTSUPP`: its tun lacks `FMODE_NOWAIT`).
    tap_uring: AtomicBool,
    /// Tap only: how many reads the next io_uring receive burst queues
    /// (adapts to what the previous bursts found; see [`Port::recv_burst`]).
    tap_rx_want: AtomicUsize,
    /// Tap only: the device was deleted under rvs (reads fail with
    /// `EBADFD`); nothing will ever arrive again.
    gone: AtomicBool,
    /// System only: the interface index the socket is bound to (0 for taps).
    ifindex: u32,
    pub(crate) c: Counters,
}

impl std::fmt::Debug for Port {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Port({} {} {:?})", self.port_no, self.name, self.kind)
    }
}

impl Port {
    /// Opens an AF_PACKET port on existing interface `name`. With `rx_ring`,
    /// frames are received through a TPACKET_V2 ring sized for the
    /// interface's MTU (falling back to `recvmmsg` if the kernel refuses it).
    /// With `tx_ring`, frames are sent through a TPACKET_V2 ring on a second
    /// socket, one `send()` per burst (falling back to `sendmmsg`), with
    /// slots for the MTU read now plus the Ethernet header (and one 802.1Q
    /// tag). Longer frames (the MTU may have been raised since) go out with
    /// `sendmmsg` on the receive socket, where the kernel checks the current
    /// MTU; see [`Port::send_burst`].
    pub fn open_system(port_no: u32, name: &str, rx_ring: bool, tx_ring: bool) -> io::Result<Port> {
        let (fd, ifindex) = sys::open_packet_socket(name)?;
        let mac = sys::if_hwaddr(name).unwrap_or([0; 6]);
        let tx_ring = if tx_ring {
            let mtu = sys::if_mtu(name).map_or(1500, |m| m as usize);
            // Frames are copied whole into the skb (`linear`): with page
            // fragments pointing into the ring the receiving stack pulls the
            // headers out again, which measured ~8 % more CPU than sendmmsg.
            match sys::TxRing::new(ifindex, mtu, TX_RING_BYTES, true, true) {
                Ok(r) => Some(TxPath {
                    max_len: r.max_len(),
                    ring: Mutex::new(r),
                }),
                Err(e) => {
                    tracing::debug!("{name}: no AF_PACKET tx ring ({e}); using sendmmsg");
                    None
                }
            }
        } else {
            None
        };
        let ring = if rx_ring {
            // Ethernet header and two tags on top of the MTU.
            let max = sys::if_mtu(name)
                .map_or(MAX_FRAME, |m| m as usize + 22)
                .min(MAX_FRAME);
            match sys::RxRing::new(fd.as_raw_fd(), max, RX_RING_BYTES) {
                Ok(r) => Some(Mutex::new(r)),
                Err(e) => {
                    tracing::debug!("{name}: no AF_PACKET rx ring ({e}); using recvmmsg");
                    None
                }
            }
        } else {
            None
        };
        Ok(Port {
            port_no,
            name: name.to_string(),
            kind: PortKind::System,
            mac,
            fd,
            rx_ring: ring,
            tx_ring,
            tap_uring: AtomicBool::new(false),
            tap_rx_want: AtomicUsize::new(1),
            gone: AtomicBool::new(false),
            ifindex,
            c: Counters::default(),
        })
    }

    /// Tap only: whether the tap device was deleted under rvs. Its fd stays
    /// readable with an error for good, so it is no longer polled or read.
    pub fn is_gone(&self) -> bool {
        self.gone.load(Ordering::Relaxed)
    }

    /// Consumes an error `poll` reported on the port. An AF_PACKET socket
    /// keeps a pending error (ENETDOWN when its interface goes down or was
    /// down at bind) that `poll` reports until it is read, and with the
    /// receive ring nothing else reads it. Taps need nothing: a tap's error
    /// is its deleted device (see [`Port::is_gone`]).
    pub fn clear_error(&self) {
        if self.kind == PortKind::System
            && let Ok(e) = sys::take_socket_error(self.raw_fd())
            && e != 0
        {
            tracing::debug!(
                "port {} {}: {}",
                self.port_no,
                self.name,
                io::Error::from_raw_os_error(e)
            );
        }
    }

    /// Whether frames arrive through an mmap ring.
    pub fn has_rx_ring(&self) -> bool {
        self.rx_ring.is_some()
    }

    /// Whether frames leave through an mmap ring.
    pub fn has_tx_ring(&self) -> bool {
        self.tx_ring.is_some()
    }

    /// Creates tap device `name` and opens it, with io_uring bursts (see
    /// [`Port::open_tap_with`]) unless the environment says
    /// `RVS_TAP_URING=0` (an A/B switch for benchmarks, read at each open).
    pub fn open_tap(port_no: u32, name: &str) -> io::Result<Port> {
        let uring = std::env::var_os("RVS_TAP_URING").is_none_or(|v| v != "0");
        Port::open_tap_with(port_no, name, uring)
    }

    /// Creates tap device `name` and opens it. With `io_uring`, bursts of
    /// frames are read and written with one `io_uring_enter` each, on the
    /// calling thread's ring (falling back to one system call per frame
    /// where the kernel refuses io_uring); without, one `read`/`write` per
    /// frame.
    pub fn open_tap_with(port_no: u32, name: &str, io_uring: bool) -> io::Result<Port> {
        let (fd, actual) = sys::open_tap(name)?;
        let mac = sys::if_hwaddr(&actual).unwrap_or([0; 6]);
        Ok(Port {
            port_no,
            name: actual,
            kind: PortKind::Tap,
            mac,
            fd,
            rx_ring: None,
            tx_ring: None,
            tap_uring: AtomicBool::new(io_uring),
            tap_rx_want: AtomicUsize::new(1),
            gone: AtomicBool::new(false),
            ifindex: 0,
            c: Counters::default(),
        })
    }

    /// Tap only: whether bursts go through io_uring (asked for at open and
    /// not refused by the kernel since). Frames still fall back to one system
    /// call each on a thread whose ring could not be set up.
    pub fn tap_io_uring(&self) -> bool {
        self.kind == PortKind::Tap && self.tap_uring.load(Ordering::Relaxed)
    }

    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    pub fn info(&self) -> PortInfo {
        // An interface deleted and created again under the same name is not
        // the one the socket is bound to (that socket receives nothing now):
        // no link state, as for a missing interface.
        let same = self.kind != PortKind::System
            || sys::if_index(&self.name).is_ok_and(|i| i == self.ifindex);
        let link_up = sys::if_flags(&self.name)
            .ok()
            .filter(|_| same)
            .map(|f| f & (libc::IFF_UP as u32) != 0 && f & (libc::IFF_RUNNING as u32) != 0);
        PortInfo {
            port_no: self.port_no,
            name: self.name.clone(),
            kind: self.kind,
            mac: self.mac,
            link_up,
            stats: self.stats(),
        }
    }

    pub fn stats(&self) -> PortStats {
        if self.kind == PortKind::System
            && let Ok(n) = sys::packet_drops(self.raw_fd())
        {
            self.c.rx_dropped.fetch_add(n, Ordering::Relaxed);
        }
        let c = &self.c;
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        PortStats {
            rx_packets: l(&c.rx_packets),
            rx_bytes: l(&c.rx_bytes),
            rx_dropped: l(&c.rx_dropped),
            rx_errors: l(&c.rx_errors),
            tx_packets: l(&c.tx_packets),
            tx_bytes: l(&c.tx_bytes),
            tx_dropped: l(&c.tx_dropped),
            tx_errors: l(&c.tx_errors),
        }
    }

    /// Receives a burst into `pkts[..]` (≤ 32) and returns how many frames
    /// are valid. Truncated and runt frames are dropped and counted as
    /// `rx_dropped`; a
    /// VLAN tag stripped by the kernel is put back into the frame.
    pub fn recv_burst(&self, burst: &mut sys::Burst, pkts: &mut [Packet]) -> usize {
        let n = pkts.len().min(BURST);
        let got;
        match self.kind {
            PortKind::System => {
                let mut bufs: [&mut [u8]; BURST] = Default::default();
                for (b, p) in bufs.iter_mut().zip(pkts.iter_mut()) {
                    *b = p.rx_area();
                }
                got = match &self.rx_ring {
                    // One reader per port (the thread that polls it); a
                    // contended lock just means "nothing for you now".
                    Some(ring) => match ring.try_lock() {
                        Some(mut r) => r.recv(&mut bufs[..n], &mut burst.info),
                        None => 0,
                    },
                    None => match burst.recv(self.raw_fd(), &mut bufs[..n]) {
                        Ok(g) => g,
                        Err(_) => {
                            self.c.rx_errors.fetch_add(1, Ordering::Relaxed);
                            0
                        }
                    },
                };
                for (p, info) in pkts.iter_mut().zip(burst.info.iter()).take(got) {
                    p.set_received(info.len);
                    if let Some((tpid, tci)) = info.vlan
                        && !crate::edit::push_vlan(p, tpid, tci)
                    {
                        p.set_received(0);
                    }
                    if info.truncated {
                        p.set_received(0);
                    }
                }
            }
            PortKind::Tap => {
                got = self.recv_tap(burst, &mut pkts[..n]);
            }
        }
        self.count_rx(pkts, got)
    }

    /// Receives up to `pkts.len()` frames from the tap; returns how many,
    /// in `pkts[..got]` (in arrival order).
    ///
    /// With io_uring, one enter queues `want` non-blocking reads, `want`
    /// following what the last burst found: all of them frames → twice as
    /// many next time (up to the burst), else one more than were found. A
    /// steady flow thus reads full bursts, and an idle port costs one read
    /// (a plain `read`, cheaper than a ring round trip for one frame).
    fn recv_tap(&self, burst: &mut sys::Burst, pkts: &mut [Packet]) -> usize {
        let n = pkts.len();
        if n == 0 || self.is_gone() {
            return 0;
        }
        let want = self.tap_rx_want.load(Ordering::Relaxed).clamp(1, n);
        let mut got = 0;
        let uring = self.tap_uring.load(Ordering::Relaxed);
        let ring = if uring && want > 1 {
            burst.tap_ring()
        } else {
            None
        };
        match ring {
            Some(ring) => {
                let mut res = [0i32; BURST];
                {
                    let mut bufs: [&mut [u8]; BURST] = Default::default();
                    for (b, p) in bufs.iter_mut().zip(pkts.iter_mut()).take(want) {
                        *b = p.rx_area();
                    }
                    ring.read_burst(self.raw_fd(), &mut bufs[..want], &mut res[..want]);
                }
                let mut errs = 0;
                for (i, &r) in res[..want].iter().enumerate() {
                    if r >= 0 {
                        // A frame longer than MAX_FRAME fills the area and
                        // becomes empty: dropped by `count_rx`.
                        pkts[i].set_received(r as usize);
                        if i != got {
                            pkts.swap(got, i);
                        }
                        got += 1;
                    } else if r == -libc::EOPNOTSUPP {
                        // Nothing was read; plain system calls from now on.
                        self.tap_uring.store(false, Ordering::Relaxed);
                    } else if r == -libc::EBADFD {
                        self.gone.store(true, Ordering::Relaxed);
                    } else if r != -libc::EAGAIN {
                        errs += 1;
                    }
                }
                if errs != 0 {
                    self.c.rx_errors.fetch_add(errs, Ordering::Relaxed);
                }
            }
            None => {
                // Probing an idle port: one frame is all a plain read fetches
                // before the ring takes over.
                let limit = if uring && want == 1 { 1 } else { n };
                while got < limit {
                    let p = &mut pkts[got];
                    match sys::read_frame(self.raw_fd(), p.rx_area()) {
                        Ok(Some(len)) => {
                            p.set_received(len);
                            got += 1;
                        }
                        Ok(None) => break,
                        Err(e) if e.raw_os_error() == Some(libc::EBADFD) => {
                            self.gone.store(true, Ordering::Relaxed);
                            break;
                        }
                        Err(_) => {
                            self.c.rx_errors.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                }
            }
        }
        if uring {
            let next = if got >= want { want * 2 } else { got + 1 };
            self.tap_rx_want.store(next.min(BURST), Ordering::Relaxed);
        }
        got
    }

    /// Drops the frames of `pkts[..got]` that were truncated (length 0) or
    /// are shorter than an Ethernet header, keeping the others in order at
    /// the front, and counts what is left. The dropped ones count as
    /// `rx_dropped`, as OVS counts its "too big" and runt frames.
    fn count_rx(&self, pkts: &mut [Packet], got: usize) -> usize {
        let mut w = 0;
        let mut bytes = 0u64;
        let mut bad = 0u64;
        for r in 0..got {
            if pkts[r].len() < ETH_HEADER_LEN {
                bad += 1;
                continue;
            }
            bytes += pkts[r].len() as u64;
            if w != r {
                pkts.swap(w, r);
            }
            w += 1;
        }
        if bad != 0 {
            self.c.rx_dropped.fetch_add(bad, Ordering::Relaxed);
        }
        if w != 0 {
            self.c.rx_packets.fetch_add(w as u64, Ordering::Relaxed);
            self.c.rx_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
        w
    }

    /// Transmits `frames`; counts sent, dropped and errors.
    ///
    /// With a tx ring, each maximal run of frames that fit its slots goes
    /// through the ring, and each run of longer frames through `sendmmsg`
    /// on the receive socket (the kernel checks those against the device's
    /// current MTU). The ring's lock is only tried: when another thread is
    /// transmitting on this port, the run goes through `sendmmsg` with this
    /// thread's `burst` instead of waiting for that thread's `send()`. A run
    /// the kernel took only a prefix of counts the rest as dropped; a run it
    /// refused outright counts as errors.
    pub fn send_burst(&self, burst: &mut sys::Burst, frames: &[&[u8]]) {
        if frames.is_empty() {
            return;
        }
        let mut sent = 0;
        let mut errs = 0u64;
        let mut bytes = 0u64;
        match self.kind {
            PortKind::System => {
                let in_ring = |f: &[u8]| self.tx_ring.as_ref().is_some_and(|t| t.fits(f));
                let mut i = 0;
                while i < frames.len() {
                    let ring = in_ring(frames[i]);
                    let mut j = i + 1;
                    while j < frames.len() && in_ring(frames[j]) == ring {
                        j += 1;
                    }
                    let run = &frames[i..j];
                    let guard = match &self.tx_ring {
                        Some(t) if ring => t.ring.try_lock(),
                        _ => None,
                    };
                    let r = match guard {
                        Some(mut g) => g.send(run),
                        None => burst.send(self.raw_fd(), run),
                    };
                    match r {
                        Ok(s) => {
                            let s = s.min(run.len());
                            sent += s;
                            bytes += run[..s].iter().map(|f| f.len() as u64).sum::<u64>();
                        }
                        Err(_) => errs += run.len() as u64,
                    }
                    i = j;
                }
            }
            PortKind::Tap => {
                // Result per frame: bytes written (≥ 0) or -errno.
                let mut res = [-libc::ENOBUFS; BURST];
                let mut ring = if frames.len() > 1 && self.tap_uring.load(Ordering::Relaxed) {
                    burst.tap_ring()
                } else {
                    None
                };
                for chunk in frames.chunks(BURST) {
                    let res = &mut res[..chunk.len()];
                    match ring.as_deref_mut() {
                        // One enter per burst of up to 32 frames.
                        Some(r) => r.write_burst(self.raw_fd(), chunk, res),
                        None => res.fill(-libc::EOPNOTSUPP),
                    }
                    for (f, r) in chunk.iter().zip(res.iter_mut()) {
                        if *r == -libc::EOPNOTSUPP {
                            // Not written (no ring, or the kernel refuses
                            // non-blocking io_uring writes on the tap: plain
                            // system calls from now on).
                            if ring.is_some() {
                                self.tap_uring.store(false, Ordering::Relaxed);
                            }
                            *r = match sys::write_frame(self.raw_fd(), f) {
                                Ok(true) => f.len() as i32,
                                Ok(false) => -libc::EAGAIN,
                                Err(e) => -e.raw_os_error().unwrap_or(libc::EIO),
                            };
                        }
                        match *r {
                            0.. => {
                                sent += 1;
                                bytes += f.len() as u64;
                            }
                            // Queue full, or the tap is down (tun refuses
                            // writes with EIO then): dropped, as OVS counts
                            // frames for a tap that is down.
                            r if r == -libc::EAGAIN || r == -libc::EIO => {}
                            _ => errs += 1,
                        }
                    }
                }
            }
        }
        if errs != 0 {
            self.c.tx_errors.fetch_add(errs, Ordering::Relaxed);
        }
        self.c.tx_packets.fetch_add(sent as u64, Ordering::Relaxed);
        self.c.tx_bytes.fetch_add(bytes, Ordering::Relaxed);
        let dropped = frames.len() as u64 - sent as u64 - errs;
        if dropped != 0 {
            self.c.tx_dropped.fetch_add(dropped, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    /// Tap tests need root and /dev/net/tun; under CI their absence fails.
    fn tap_name(tag: &str) -> Option<String> {
        let name = format!("rvu{}{tag}", std::process::id() % 100_000);
        match std::fs::metadata("/dev/net/tun") {
            Ok(_) if sys::open_tap(&format!("{name}p")).is_ok() => Some(name),
            _ if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("tap ports need root and /dev/net/tun under CI")
            }
            _ => {
                eprintln!("SKIP: cannot create taps (not root or no /dev/net/tun)");
                None
            }
        }
    }

    fn frame(seq: u32) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 0, 9, 0x88, 0xb5]);
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&[0x5a; 50]);
        f
    }

    /// Marked frames (ethertype 0x88b5) received on `port`, until `want` or 5 s.
    fn recv_marked(port: &Port, burst: &mut sys::Burst, want: usize) -> Vec<Vec<u8>> {
        let mut pkts: Vec<Packet> = (0..BURST).map(|_| Packet::new()).collect();
        let mut out = Vec::new();
        let start = Instant::now();
        while out.len() < want && start.elapsed() < Duration::from_secs(5) {
            let n = port.recv_burst(burst, &mut pkts);
            out.extend(
                pkts[..n]
                    .iter()
                    .map(|p| p.data())
                    .filter(|d| d.len() >= 14 && d[12..14] == [0x88, 0xb5])
                    .map(|d| d.to_vec()),
            );
            if n == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        out
    }

    /// A tap port moves bursts both ways in order, through io_uring or one
    /// system call per frame, and counts them: frames it sends come out of
    /// the tap device (seen by an AF_PACKET port on it), frames sent on the
    /// device are read by the tap port, 32-frame bursts and odd sizes alike.
    fn tap_port_moves_bursts_in_order(uring: bool) {
        let Some(name) = tap_name(if uring { "i" } else { "s" }) else {
            return;
        };
        let tap = Port::open_tap_with(1, &name, uring).expect("tap port");
        let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1");
        let dev = Port::open_system(2, &name, true, true).expect("AF_PACKET port on the tap");
        let mut burst = sys::Burst::new();
        // Whatever the device sent before IPv6 went off (router solicitations).
        std::thread::sleep(Duration::from_millis(50));
        let mut pkts: Vec<Packet> = (0..BURST).map(|_| Packet::new()).collect();
        while tap.recv_burst(&mut burst, &mut pkts) > 0 {}
        let before = tap.stats();
        let mut seq = 0;
        let mut total = 0u64;
        for n in [32usize, 1, 7, 32, 2, 32, 31, 32, 32, 5] {
            let sent: Vec<Vec<u8>> = (0..n).map(|i| frame(seq + i as u32)).collect();
            seq += n as u32;
            let refs: Vec<&[u8]> = sent.iter().map(|f| f.as_slice()).collect();
            tap.send_burst(&mut burst, &refs);
            assert_eq!(
                recv_marked(&dev, &mut burst, n),
                sent,
                "tap -> device, #{seq}"
            );
            dev.send_burst(&mut burst, &refs);
            assert_eq!(
                recv_marked(&tap, &mut burst, n),
                sent,
                "device -> tap, #{seq}"
            );
            total += n as u64;
        }
        // An empty burst asks for nothing and gets nothing.
        assert_eq!(tap.recv_burst(&mut burst, &mut []), 0);
        let st = tap.stats();
        assert_eq!((st.tx_packets, st.tx_dropped, st.tx_errors), (total, 0, 0));
        assert!(st.rx_packets >= before.rx_packets + total, "{st:?}");
        assert_eq!(st.rx_errors, 0, "{st:?}");
        if uring && sys::TapRing::new().is_ok() {
            assert!(tap.tap_io_uring(), "the kernel refused io_uring on the tap");
        }
        assert!(!dev.tap_io_uring());

        // A frame longer than MAX_FRAME (tun's read returns only what fit in
        // the buffer) is dropped and counted; the frame after it goes through.
        let ip = |args: &[&str]| {
            let ok = std::process::Command::new("ip")
                .args(args)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "ip {args:?}");
        };
        ip(&["link", "set", "dev", &name, "mtu", "9500"]);
        let mut big = frame(seq);
        big.resize(MAX_FRAME + 100, 0xab);
        let after = frame(seq + 1);
        let before = tap.stats();
        dev.send_burst(&mut burst, &[&big, &after]);
        let got = recv_marked(&tap, &mut burst, 1);
        let lens: Vec<usize> = got.iter().map(|f| f.len()).collect();
        assert!(got == [after.clone()], "received lengths {lens:?}");
        let st = tap.stats();
        assert_eq!(st.rx_dropped, before.rx_dropped + 1, "{st:?}");
        assert_eq!(st.rx_packets, before.rx_packets + 1, "{st:?}");

        // A tap that is down refuses writes: dropped, not errors (as OVS).
        ip(&["link", "set", "dev", &name, "down"]);
        tap.send_burst(&mut burst, &[&after, &after]);
        let st = tap.stats();
        assert_eq!((st.tx_dropped, st.tx_errors), (2, 0), "{st:?}");
    }

    /// A burst (and so its ring) set up on one thread keeps working when
    /// another thread uses it, as the datapath's PACKET_OUT pipeline does.
    #[test]
    fn tap_burst_ring_works_from_another_thread() {
        let Some(name) = tap_name("m") else {
            return;
        };
        let tap = Port::open_tap_with(1, &name, true).expect("tap port");
        let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1");
        let dev = Port::open_system(2, &name, true, true).expect("AF_PACKET port on the tap");
        let sent: Vec<Vec<u8>> = (0..4).map(frame).collect();
        let refs: Vec<&[u8]> = sent.iter().map(|f| f.as_slice()).collect();
        let mut burst = sys::Burst::new();
        tap.send_burst(&mut burst, &refs[..2]);
        let mut burst = std::thread::scope(|s| {
            s.spawn(|| {
                tap.send_burst(&mut burst, &refs[2..]);
                burst
            })
            .join()
            .expect("sender thread")
        });
        assert_eq!(recv_marked(&dev, &mut burst, 4), sent);
        assert_eq!(tap.stats().tx_packets, 4);
    }

    #[test]
    fn tap_port_moves_bursts_in_order_through_io_uring() {
        tap_port_moves_bursts_in_order(true);
    }

    #[test]
    fn tap_port_moves_bursts_in_order_with_a_system_call_per_frame() {
        tap_port_moves_bursts_in_order(false);
    }
}
