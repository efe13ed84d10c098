//! Every `unsafe` line of rvs: AF_PACKET sockets, TPACKET_V2 receive and
//! transmit rings, tap devices, `recvmmsg`/`sendmmsg` bursts with VLAN aux
//! data, `poll`, interface ioctls.
//!
//! The safe wrappers own their file descriptors ([`OwnedFd`]) and check all
//! lengths the kernel returns before slicing. Nothing here parses packets.
//!
//! Kernel cost per forwarded packet, as measured (64-byte UDP, `fwd`, veth
//! and tap, 2-core VM under load; A/B runs alternating, CPU-s per Mpkt of the
//! switch process, medians): the rx ring took receive off the switch's CPU;
//! the tx ring ([`TxRing`], linear copy) ~4.5 vs ~4.9 for `sendmmsg`, while
//! a tx ring whose skbs point page fragments at the ring (zero copy) was
//! worse, ~5.25, as the receiving stack pulls the headers out again;
//! `PACKET_QDISC_BYPASS` ~4.7 vs ~5.0 without (veth has no qdisc: near noise);
//! for taps, `IFF_NAPI` was worse (~7.4 vs ~6.3). Taps read and write
//! bursts through io_uring ([`TapRing`], one `io_uring_enter` per burst of
//! up to 32 frames each way, see [`crate::port::Port::recv_burst`]): same
//! run, 12 interleaved runs each, load 6-8, 64-byte UDP tap plain: 6.38
//! CPU-s per Mpkt (median) vs 7.20 with one `read`/`write` per frame (-11 %;
//! OVS 10.44 in that run). An earlier attempt had measured no gain at 5-10
//! frames per burst; here the forwarding thread is the bottleneck, so the
//! tap queue holds full bursts. `RVS_TAP_URING=0` selects the per-frame
//! system calls (for A/B runs); so does a kernel without io_uring.
//!
//! Taps, profiled (`perf record -g` of the forwarding thread, 64-byte UDP,
//! one flow, load ~6, 27 Nov). One system call per frame: 95 % of the
//! thread's CPU is in system calls, ~5 % in rvs's code. `write` 62 %:
//! `tun_get_user` 55 %, of which the receiving namespace's stack run inside
//! it (`netif_receive_skb`) 44 %, and of that the ICMP port-unreachable
//! replies to the generator's UDP 23 % (`icmp_route_lookup` 19 %, before
//! the per-peer rate limit says no); `read` 35 %: `tun_do_read` 29 %, the
//! copy to user 14 % (hardened-usercopy checks 4 %), freeing the sender's
//! skb 8 %. System-call entry/exit, fd lookup and VFS ~9 %. With io_uring
//! the same tun work (`tun_chr_write_iter` 48 %, `tun_chr_read_iter` 30 %)
//! plus io_uring's own per-operation work (prep, file get/put, completion:
//! ~10 % in that one profile) replaces the per-frame entries. So ~85 % of the tap CPU is tun
//! and the receiving stack, which OVS pays alike (it also reads and writes
//! a frame per system call): at ~0.85 of rvs's CPU per packet, that work
//! alone is ~0.55-0.6 of OVS's, and no batching of system calls brings tap
//! forwarding to half of OVS's CPU per packet. `bench/trafgen.sh relay-tap`
//! measures that floor directly: `examples/taprelay.rs` moves frames between
//! the two taps with the same io_uring bursts and no switching at all, and
//! costs what rvs's whole datapath costs (x0.62-0.75 of OVS in the same runs,
//! 99 % of it in the kernel).
//!
//! AF_PACKET receive uses a TPACKET_V2 ring, not V3: the kernel fills the
//! ring in the sender's softirq, so reading it is part of rvs's own user
//! time, which is ~6 % of a veth packet's CPU in all (`perf`, veth plain,
//! 27 Nov); V3's block batching could save a fraction of that only, and its
//! block-retire timer would add latency at low rates.
#![allow(unsafe_code)]
// Parallel arrays (headers, iovecs, control buffers, caller buffers) are indexed together.
#![allow(clippy::needless_range_loop)]

use std::ffi::CString;
use std::io;
use std::mem::{size_of, zeroed};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

mod tap_uring;
pub use tap_uring::TapRing;

/// Max frames per `recvmmsg`/`sendmmsg` call.
pub const MAX_BURST: usize = 32;

const SOL_PACKET: libc::c_int = 263;
const PACKET_ADD_MEMBERSHIP: libc::c_int = 1;
const PACKET_AUXDATA: libc::c_int = 8;
const PACKET_QDISC_BYPASS: libc::c_int = 20;
const PACKET_IGNORE_OUTGOING: libc::c_int = 23;
const PACKET_MR_PROMISC: libc::c_int = 1;
const TP_STATUS_VLAN_VALID: u32 = 1 << 4;
const TP_STATUS_VLAN_TPID_VALID: u32 = 1 << 6;
const TUNSETIFF: libc::c_ulong = 0x4004_54ca;
const IFF_TAP: libc::c_short = 0x0002;
const IFF_NO_PI: libc::c_short = 0x1000;

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn ifreq_for(name: &str) -> io::Result<libc::ifreq> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.as_bytes().contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad interface name",
        ));
    }
    // SAFETY: ifreq is a plain C struct for which all-zero bytes are valid.
    let mut ifr: libc::ifreq = unsafe { zeroed() };
    for (d, s) in ifr.ifr_name.iter_mut().zip(name.as_bytes()) {
        *d = *s as libc::c_char;
    }
    Ok(ifr)
}

fn setsockopt_int(
    fd: RawFd,
    level: libc::c_int,
    opt: libc::c_int,
    v: libc::c_int,
) -> io::Result<()> {
    // SAFETY: passes a pointer to a live c_int and its exact size.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            level,
            opt,
            &v as *const _ as *const libc::c_void,
            size_of::<libc::c_int>() as u32,
        )
    })
    .map(|_| ())
}

/// Interface index of `name` in the current network namespace.
pub fn if_index(name: &str) -> io::Result<u32> {
    let c =
        CString::new(name).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "bad name"))?;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if i == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(i)
    }
}

fn ctl_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the result is checked before wrapping.
    let fd = cvt(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// MAC address of interface `name`.
pub fn if_hwaddr(name: &str) -> io::Result<[u8; 6]> {
    let s = ctl_socket()?;
    let mut ifr = ifreq_for(name)?;
    // SAFETY: SIOCGIFHWADDR reads and writes the ifreq we own.
    cvt(unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCGIFHWADDR, &mut ifr) })?;
    // SAFETY: after SIOCGIFHWADDR the union holds ifru_hwaddr.
    let sa = unsafe { ifr.ifr_ifru.ifru_hwaddr };
    let mut m = [0u8; 6];
    for (d, s) in m.iter_mut().zip(sa.sa_data.iter()) {
        *d = *s as u8;
    }
    Ok(m)
}

/// Interface flags (`IFF_UP`, `IFF_RUNNING`, ...) of `name`.
pub fn if_flags(name: &str) -> io::Result<u32> {
    let s = ctl_socket()?;
    let mut ifr = ifreq_for(name)?;
    // SAFETY: SIOCGIFFLAGS reads and writes the ifreq we own.
    cvt(unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr) })?;
    // SAFETY: after SIOCGIFFLAGS the union holds ifru_flags.
    Ok(unsafe { ifr.ifr_ifru.ifru_flags } as u16 as u32)
}

/// Sets `IFF_UP` on `name`.
pub fn if_set_up(name: &str) -> io::Result<()> {
    let flags = if_flags(name)?;
    let s = ctl_socket()?;
    let mut ifr = ifreq_for(name)?;
    ifr.ifr_ifru.ifru_flags = (flags | libc::IFF_UP as u32) as libc::c_short;
    // SAFETY: SIOCSIFFLAGS reads the ifreq we own.
    cvt(unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCSIFFLAGS, &mut ifr) })?;
    Ok(())
}

/// A non-blocking AF_PACKET raw socket for `proto` (network byte order;
/// 0 receives nothing).
fn packet_socket(proto_be: u16) -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2) call; the result is checked before wrapping.
    let raw = cvt(unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            proto_be as libc::c_int,
        )
    })?;
    // SAFETY: `raw` is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// Binds AF_PACKET socket `fd` to interface `ifindex` for `proto` (network byte order).
fn packet_bind(fd: RawFd, proto_be: u16, ifindex: u32) -> io::Result<()> {
    // SAFETY: sockaddr_ll is a plain C struct for which all-zero bytes are valid.
    let mut sll: libc::sockaddr_ll = unsafe { zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = proto_be;
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: passes a pointer to a live sockaddr_ll and its exact size.
    cvt(unsafe {
        libc::bind(
            fd,
            &sll as *const _ as *const libc::sockaddr,
            size_of::<libc::sockaddr_ll>() as u32,
        )
    })
    .map(|_| ())
}

/// Opens a non-blocking AF_PACKET socket bound to `name`: all protocols,
/// promiscuous, own transmissions ignored, VLAN aux data on.
pub fn open_packet_socket(name: &str) -> io::Result<(OwnedFd, u32)> {
    let ifindex = if_index(name)?;
    let proto = (libc::ETH_P_ALL as u16).to_be();
    // Created for no protocol, so that nothing is queued until `bind` hooks
    // it to this one interface: a socket created for ETH_P_ALL receives from
    // every interface until then, and those frames would be read as this
    // port's (the recvmmsg path; setting up the rx ring purges them).
    let fd = packet_socket(0)?;
    let raw = fd.as_raw_fd();
    setsockopt_int(raw, SOL_PACKET, PACKET_AUXDATA, 1)?;
    setsockopt_int(raw, SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)?;
    // Best effort: skipping the qdisc only speeds transmission up.
    let _ = setsockopt_int(raw, SOL_PACKET, PACKET_QDISC_BYPASS, 1);
    let _ = setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_RCVBUF, 4 << 20);
    let _ = setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_SNDBUF, 4 << 20);
    packet_bind(raw, proto, ifindex)?;
    // SAFETY: packet_mreq is a plain C struct for which all-zero bytes are valid.
    let mut mr: libc::packet_mreq = unsafe { zeroed() };
    mr.mr_ifindex = ifindex as i32;
    mr.mr_type = PACKET_MR_PROMISC as u16;
    // SAFETY: passes a pointer to a live packet_mreq and its exact size.
    cvt(unsafe {
        libc::setsockopt(
            raw,
            SOL_PACKET,
            PACKET_ADD_MEMBERSHIP,
            &mr as *const _ as *const libc::c_void,
            size_of::<libc::packet_mreq>() as u32,
        )
    })?;
    Ok((fd, ifindex))
}

/// Frames the kernel dropped on AF_PACKET socket `fd` since the last call
/// (`PACKET_STATISTICS`, which resets the kernel's counters).
pub fn packet_drops(fd: RawFd) -> io::Result<u64> {
    const PACKET_STATISTICS: libc::c_int = 6;
    let mut st = [0u32; 2]; // struct tpacket_stats { tp_packets, tp_drops }
    let mut len = size_of::<[u32; 2]>() as libc::socklen_t;
    // SAFETY: passes a live 8-byte buffer and its length; the kernel writes at most `len` bytes.
    cvt(unsafe {
        libc::getsockopt(
            fd,
            SOL_PACKET,
            PACKET_STATISTICS,
            st.as_mut_ptr() as *mut libc::c_void,
            &mut len,
        )
    })?;
    Ok(st[1] as u64)
}

/// Creates (or attaches to) tap device `name` (IFF_TAP|IFF_NO_PI), non-blocking,
/// and sets it up. Returns the fd and the name the kernel chose.
pub fn open_tap(name: &str) -> io::Result<(OwnedFd, String)> {
    let path = c"/dev/net/tun";
    // SAFETY: `path` is a valid NUL-terminated string.
    let raw = cvt(unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: `raw` is a fresh descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut ifr = ifreq_for(name)?;
    ifr.ifr_ifru.ifru_flags = IFF_TAP | IFF_NO_PI;
    // SAFETY: TUNSETIFF reads and writes the ifreq we own.
    cvt(unsafe { libc::ioctl(raw, TUNSETIFF as _, &mut ifr) })?;
    let actual: String = ifr
        .ifr_name
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8 as char)
        .collect();
    if_set_up(&actual)?;
    Ok((fd, actual))
}

/// Reads one frame from a tap fd. `Ok(None)` when nothing is pending.
pub fn read_frame(fd: RawFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    // SAFETY: writes at most buf.len() bytes into the live buffer.
    let n = unsafe { libc::read(fd, buf.as_mut_ptr() as *mut libc::c_void, buf.len()) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::WouldBlock {
            Ok(None)
        } else {
            Err(e)
        };
    }
    Ok(Some(n as usize))
}

/// Writes one frame to a tap fd. `Ok(false)` if the device queue is full.
pub fn write_frame(fd: RawFd, frame: &[u8]) -> io::Result<bool> {
    // SAFETY: reads frame.len() bytes from the live slice.
    let n = unsafe { libc::write(fd, frame.as_ptr() as *const libc::c_void, frame.len()) };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::WouldBlock {
            Ok(false)
        } else {
            Err(e)
        };
    }
    Ok(true)
}

/// What the kernel said about one received frame.
#[derive(Clone, Copy, Debug, Default)]
pub struct RxInfo {
    /// Bytes written into the buffer.
    pub len: usize,
    /// The frame was longer than the buffer.
    pub truncated: bool,
    /// A VLAN tag the kernel stripped: (TPID, TCI).
    pub vlan: Option<(u16, u16)>,
}

/// Control-message space per frame: one `tpacket_auxdata`, aligned.
const CMSG_SPACE: usize = 64;

#[repr(C)]
#[derive(Clone, Copy)]
struct TpacketAuxdata {
    tp_status: u32,
    tp_len: u32,
    tp_snaplen: u32,
    tp_mac: u16,
    tp_net: u16,
    tp_vlan_tci: u16,
    tp_vlan_tpid: u16,
}

/// Reused `recvmmsg`/`sendmmsg` state for one thread.
pub struct Burst {
    hdrs: Vec<libc::mmsghdr>,
    iovs: Vec<libc::iovec>,
    cmsg: Vec<[u64; CMSG_SPACE / 8]>,
    pub info: [RxInfo; MAX_BURST],
    /// This thread's io_uring for tap bursts, set up on first use.
    tap_ring: TapRingSlot,
}

#[derive(Debug)]
enum TapRingSlot {
    Untried,
    Ready(Box<TapRing>),
    /// io_uring could not be set up (absent, disabled): plain system calls.
    Unavailable,
}

// SAFETY: the raw pointers inside are only scratch, rewritten before each syscall.
unsafe impl Send for Burst {}

impl Default for Burst {
    fn default() -> Self {
        Burst::new()
    }
}

impl Burst {
    pub fn new() -> Self {
        // SAFETY: mmsghdr and iovec are plain C structs for which zero bytes are valid.
        let hdrs = (0..MAX_BURST)
            .map(|_| unsafe { zeroed::<libc::mmsghdr>() })
            .collect();
        // SAFETY: as above.
        let iovs = (0..MAX_BURST)
            .map(|_| unsafe { zeroed::<libc::iovec>() })
            .collect();
        Burst {
            hdrs,
            iovs,
            cmsg: vec![[0u64; CMSG_SPACE / 8]; MAX_BURST],
            info: [RxInfo::default(); MAX_BURST],
            tap_ring: TapRingSlot::Untried,
        }
    }

    /// This burst's (so this thread's) io_uring for tap bursts, set up on the
    /// first call; `None` when the kernel refuses io_uring (`ENOSYS`,
    /// `EPERM`), and on every later call then.
    pub fn tap_ring(&mut self) -> Option<&mut TapRing> {
        if let TapRingSlot::Untried = self.tap_ring {
            self.tap_ring = match TapRing::new() {
                Ok(r) => TapRingSlot::Ready(Box::new(r)),
                Err(e) => {
                    tracing::debug!("no io_uring for tap bursts ({e}); one system call per frame");
                    TapRingSlot::Unavailable
                }
            };
        }
        match &mut self.tap_ring {
            TapRingSlot::Ready(r) => Some(r),
            _ => None,
        }
    }

    /// Receives up to `bufs.len()` (≤ 32) frames from AF_PACKET socket `fd`
    /// without blocking; fills `self.info[..n]` and returns `n`.
    pub fn recv(&mut self, fd: RawFd, bufs: &mut [&mut [u8]]) -> io::Result<usize> {
        let n = bufs.len().min(MAX_BURST);
        for i in 0..n {
            self.iovs[i].iov_base = bufs[i].as_mut_ptr() as *mut libc::c_void;
            self.iovs[i].iov_len = bufs[i].len();
            let h = &mut self.hdrs[i].msg_hdr;
            h.msg_name = std::ptr::null_mut();
            h.msg_namelen = 0;
            h.msg_iov = &mut self.iovs[i];
            h.msg_iovlen = 1;
            h.msg_control = self.cmsg[i].as_mut_ptr() as *mut libc::c_void;
            h.msg_controllen = CMSG_SPACE;
            h.msg_flags = 0;
            self.hdrs[i].msg_len = 0;
        }
        // SAFETY: hdrs[..n] point at iovecs and control buffers owned by self and at
        // the caller's buffers, all alive and exclusively borrowed for this call.
        let r = unsafe {
            libc::recvmmsg(
                fd,
                self.hdrs.as_mut_ptr(),
                n as u32,
                libc::MSG_DONTWAIT,
                std::ptr::null_mut(),
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            return if e.kind() == io::ErrorKind::WouldBlock {
                Ok(0)
            } else {
                Err(e)
            };
        }
        let got = r as usize;
        for i in 0..got {
            let h = &self.hdrs[i];
            let len = (h.msg_len as usize).min(bufs[i].len());
            let truncated = h.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
            let mut vlan = None;
            // SAFETY: the kernel filled msg_control up to msg_controllen; the CMSG
            // macros walk only within it.
            unsafe {
                let mut c = libc::CMSG_FIRSTHDR(&h.msg_hdr);
                while !c.is_null() {
                    if (*c).cmsg_level == SOL_PACKET
                        && (*c).cmsg_type == PACKET_AUXDATA
                        && (*c).cmsg_len as usize
                            >= libc::CMSG_LEN(size_of::<TpacketAuxdata>() as u32) as usize
                    {
                        let aux =
                            std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const TpacketAuxdata);
                        if aux.tp_status & TP_STATUS_VLAN_VALID != 0 || aux.tp_vlan_tci != 0 {
                            let tpid = if aux.tp_status & TP_STATUS_VLAN_TPID_VALID != 0 {
                                aux.tp_vlan_tpid
                            } else {
                                0x8100
                            };
                            vlan = Some((tpid, aux.tp_vlan_tci));
                        }
                    }
                    c = libc::CMSG_NXTHDR(&h.msg_hdr, c);
                }
            }
            self.info[i] = RxInfo {
                len,
                truncated,
                vlan,
            };
        }
        Ok(got)
    }

    /// Sends `frames` (≤ 32) on AF_PACKET socket `fd` without blocking.
    /// Returns how many the kernel took (the rest are the caller's drops).
    pub fn send(&mut self, fd: RawFd, frames: &[&[u8]]) -> io::Result<usize> {
        let n = frames.len().min(MAX_BURST);
        if n == 0 {
            return Ok(0);
        }
        for i in 0..n {
            self.iovs[i].iov_base = frames[i].as_ptr() as *mut libc::c_void;
            self.iovs[i].iov_len = frames[i].len();
            let h = &mut self.hdrs[i].msg_hdr;
            h.msg_name = std::ptr::null_mut();
            h.msg_namelen = 0;
            h.msg_iov = &mut self.iovs[i];
            h.msg_iovlen = 1;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            h.msg_flags = 0;
        }
        let mut sent = 0;
        while sent < n {
            // SAFETY: hdrs[sent..n] point at iovecs owned by self that reference the
            // caller's frames, alive for the call; the kernel only reads them.
            let r = unsafe {
                libc::sendmmsg(
                    fd,
                    self.hdrs[sent..].as_mut_ptr(),
                    (n - sent) as u32,
                    libc::MSG_DONTWAIT,
                )
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(libc::ENOBUFS)
                {
                    break;
                }
                if sent == 0 {
                    return Err(e);
                }
                break;
            }
            if r == 0 {
                break;
            }
            sent += r as usize;
        }
        Ok(sent)
    }
}

const PACKET_RX_RING: libc::c_int = 5;
const PACKET_VERSION: libc::c_int = 10;
const TPACKET_V2: libc::c_int = 1;
const TP_STATUS_KERNEL: u32 = 0;
const TP_STATUS_USER: u32 = 1;

/// `struct tpacket_req` (linux/if_packet.h).
#[repr(C)]
struct TpacketReq {
    tp_block_size: u32,
    tp_block_nr: u32,
    tp_frame_size: u32,
    tp_frame_nr: u32,
}

/// `struct tpacket2_hdr` (linux/if_packet.h): the head of every ring frame.
#[repr(C)]
#[derive(Clone, Copy)]
struct Tpacket2Hdr {
    tp_status: u32,
    tp_len: u32,
    tp_snaplen: u32,
    tp_mac: u16,
    tp_net: u16,
    tp_sec: u32,
    tp_nsec: u32,
    tp_vlan_tci: u16,
    tp_vlan_tpid: u16,
    tp_padding: [u8; 4],
}

/// MTU of interface `name`.
pub fn if_mtu(name: &str) -> io::Result<u32> {
    let s = ctl_socket()?;
    let mut ifr = ifreq_for(name)?;
    // SAFETY: SIOCGIFMTU reads and writes the ifreq we own.
    cvt(unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCGIFMTU, &mut ifr) })?;
    // SAFETY: after SIOCGIFMTU the union holds ifru_mtu.
    Ok(unsafe { ifr.ifr_ifru.ifru_mtu }.max(0) as u32)
}

/// A `PACKET_RX_RING` (TPACKET_V2) mapped from an AF_PACKET socket: the
/// kernel copies each frame into a ring slot in its receive softirq and the
/// reader takes it from shared memory, with no system call per burst and no
/// socket-queue round trip. Slot ownership is the `tp_status` word: the
/// kernel hands a slot over with `TP_STATUS_USER`, the reader gives it back
/// with `TP_STATUS_KERNEL`; slots are consumed in ring order.
pub struct RxRing {
    ring: Ring,
    head: usize,
}

/// A TPACKET_V2 ring (`PACKET_RX_RING` or `PACKET_TX_RING`) mapped from an
/// AF_PACKET socket: `frame_nr` slots of `frame_size` bytes in blocks of
/// `block_size`, each slot starting with its `tp_status` word.
struct Ring {
    map: *mut u8,
    map_len: usize,
    frame_size: usize,
    frames_per_block: usize,
    block_size: usize,
    frame_nr: usize,
}

// SAFETY: the mapping is owned by this value alone and only touched through
// `&mut self` of its owner; the kernel side synchronises through the status
// words.
unsafe impl Send for Ring {}

impl Ring {
    /// Switches socket `fd` to TPACKET_V2, asks for ring `which`
    /// (`PACKET_RX_RING` or `PACKET_TX_RING`) of `block_nr` blocks of
    /// slots of `frame_size` bytes (a power of two ≥ 2048), and maps it.
    fn new(fd: RawFd, which: libc::c_int, frame_size: usize, block_nr: usize) -> io::Result<Ring> {
        let block_size = frame_size.max(1 << 16);
        let frames_per_block = block_size / frame_size;
        let frame_nr = frames_per_block * block_nr;
        setsockopt_int(fd, SOL_PACKET, PACKET_VERSION, TPACKET_V2)?;
        let req = TpacketReq {
            tp_block_size: block_size as u32,
            tp_block_nr: block_nr as u32,
            tp_frame_size: frame_size as u32,
            tp_frame_nr: frame_nr as u32,
        };
        set_ring(fd, which, &req)?;
        let map_len = block_size * block_nr;
        // SAFETY: maps the ring the kernel just allocated for `fd`; the result
        // is checked against MAP_FAILED and owned by the returned value.
        let map = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                map_len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd,
                0,
            )
        };
        if map == libc::MAP_FAILED {
            let e = io::Error::last_os_error();
            // Take the ring down again: left in place, it would keep taking
            // the socket's frames, which the caller's fallback (plain
            // receive or send calls on `fd`) would then never see.
            let none = TpacketReq {
                tp_block_size: 0,
                tp_block_nr: 0,
                tp_frame_size: 0,
                tp_frame_nr: 0,
            };
            let _ = set_ring(fd, which, &none);
            return Err(e);
        }
        Ok(Ring {
            map: map as *mut u8,
            map_len,
            frame_size,
            frames_per_block,
            block_size,
            frame_nr,
        })
    }

    fn slot(&self, i: usize) -> *mut u8 {
        let off = (i / self.frames_per_block) * self.block_size
            + (i % self.frames_per_block) * self.frame_size;
        debug_assert!(off + self.frame_size <= self.map_len);
        // SAFETY: `off + frame_size` is within the mapping (i < frame_nr).
        unsafe { self.map.add(off) }
    }

    fn status(&self, i: usize) -> &std::sync::atomic::AtomicU32 {
        // SAFETY: every slot starts with the u32 tp_status, 4-byte aligned
        // (slots are page- or frame-size aligned); the kernel accesses it
        // concurrently, so it is only read and written atomically.
        unsafe { std::sync::atomic::AtomicU32::from_ptr(self.slot(i) as *mut u32) }
    }

    fn next(&self, i: usize) -> usize {
        if i + 1 == self.frame_nr { 0 } else { i + 1 }
    }
}

/// Sets up (or, with an all-zero request, takes down) ring `which`
/// (`PACKET_RX_RING` / `PACKET_TX_RING`) on AF_PACKET socket `fd`.
fn set_ring(fd: RawFd, which: libc::c_int, req: &TpacketReq) -> io::Result<()> {
    // SAFETY: passes a pointer to a live tpacket_req and its exact size.
    cvt(unsafe {
        libc::setsockopt(
            fd,
            SOL_PACKET,
            which,
            req as *const TpacketReq as *const libc::c_void,
            size_of::<TpacketReq>() as u32,
        )
    })
    .map(|_| ())
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`, which nothing else
        // references (the mapping holds its own reference to the socket, so
        // the order in which the owner closes that socket does not matter).
        unsafe {
            libc::munmap(self.map as *mut libc::c_void, self.map_len);
        }
    }
}

impl RxRing {
    /// Sets up a ring of about `ring_bytes` on bound AF_PACKET socket `fd`,
    /// with slots big enough for `max_frame` bytes of frame.
    pub fn new(fd: RawFd, max_frame: usize, ring_bytes: usize) -> io::Result<RxRing> {
        // Slot: header + sockaddr_ll + alignment slack in front of the frame.
        let frame_size = (max_frame + 128).next_power_of_two().max(2048);
        let block_nr = (ring_bytes / frame_size.max(1 << 16)).max(4);
        Ok(RxRing {
            ring: Ring::new(fd, PACKET_RX_RING, frame_size, block_nr)?,
            head: 0,
        })
    }

    /// Number of slots.
    pub fn slots(&self) -> usize {
        self.ring.frame_nr
    }

    /// Copies up to `bufs.len()` (≤ 32) waiting frames into `bufs`, fills
    /// `info[..n]` and returns `n`; the slots go back to the kernel.
    pub fn recv(&mut self, bufs: &mut [&mut [u8]], info: &mut [RxInfo]) -> usize {
        use std::sync::atomic::Ordering;
        let n = bufs.len().min(info.len()).min(MAX_BURST);
        let mut got = 0;
        while got < n {
            let st = self.ring.status(self.head).load(Ordering::Acquire);
            if st & TP_STATUS_USER == 0 {
                break;
            }
            let slot = self.ring.slot(self.head);
            // SAFETY: the kernel handed this slot over (TP_STATUS_USER, acquire
            // ordered); it starts with a tpacket2_hdr and is frame_size long.
            let h = unsafe { std::ptr::read_unaligned(slot as *const Tpacket2Hdr) };
            let mac = h.tp_mac as usize;
            let snap = h.tp_snaplen as usize;
            let buf = &mut bufs[got];
            let ok = mac
                .checked_add(snap)
                .is_some_and(|e| e <= self.ring.frame_size)
                && snap <= buf.len();
            let len = if ok {
                // SAFETY: [mac, mac + snap) lies inside this slot (checked above)
                // and does not overlap `buf`, which is ordinary process memory.
                unsafe { std::ptr::copy_nonoverlapping(slot.add(mac), buf.as_mut_ptr(), snap) };
                snap
            } else {
                0
            };
            let vlan = if h.tp_status & TP_STATUS_VLAN_VALID != 0 || h.tp_vlan_tci != 0 {
                let tpid = if h.tp_status & TP_STATUS_VLAN_TPID_VALID != 0 {
                    h.tp_vlan_tpid
                } else {
                    0x8100
                };
                Some((tpid, h.tp_vlan_tci))
            } else {
                None
            };
            info[got] = RxInfo {
                len,
                truncated: !ok || (h.tp_len as usize) > snap,
                vlan,
            };
            self.ring
                .status(self.head)
                .store(TP_STATUS_KERNEL, Ordering::Release);
            self.head = self.ring.next(self.head);
            got += 1;
        }
        got
    }
}

const PACKET_TX_RING: libc::c_int = 13;
const PACKET_VNET_HDR: libc::c_int = 15;
const TP_STATUS_AVAILABLE: u32 = 0;
const TP_STATUS_SEND_REQUEST: u32 = 1;
const TP_STATUS_WRONG_FORMAT: u32 = 4;
/// Where a TX slot's frame starts: `TPACKET_ALIGN(sizeof(tpacket2_hdr))`
/// (the kernel's `tp_hdrlen - sizeof(sockaddr_ll)` for TPACKET_V2).
const TX_DATA_OFF: usize = 32;
/// `struct virtio_net_hdr` (no GSO, no checksum request): 10 bytes.
const VNET_HDR_LEN: usize = 10;

/// A `PACKET_TX_RING` (TPACKET_V2) on its own AF_PACKET socket, bound to
/// one interface with protocol 0 (it receives nothing). Frames are copied
/// into ring slots and handed to the kernel with `TP_STATUS_SEND_REQUEST`;
/// one `send()` per burst makes the kernel transmit every requested slot in
/// ring order. A slot comes back (`TP_STATUS_AVAILABLE`) when the kernel
/// frees its skb.
///
/// With `linear`, every frame carries a `virtio_net_hdr` whose `hdr_len` is
/// the whole frame, so the kernel copies it into the skb's linear area (as
/// `sendmsg` does) instead of pointing page fragments at the ring; the
/// kernel then skips its MTU check, so [`TxRing::send`] makes it.
pub struct TxRing {
    // Declared before `fd`: the mapping goes before the socket closes.
    ring: Ring,
    fd: OwnedFd,
    head: usize,
    linear: bool,
    /// Longest frame accepted (untagged); 4 more for an 802.1Q tag.
    max_len: usize,
}

impl TxRing {
    /// Opens the TX socket on interface `ifindex` with a ring of about
    /// `ring_bytes`, slots for frames of up to `mtu + 18` bytes; with
    /// `qdisc_bypass`, frames go straight to the driver (`PACKET_QDISC_BYPASS`).
    pub fn new(
        ifindex: u32,
        mtu: usize,
        ring_bytes: usize,
        qdisc_bypass: bool,
        linear: bool,
    ) -> io::Result<TxRing> {
        let fd = packet_socket(0)?;
        let raw = fd.as_raw_fd();
        if linear {
            setsockopt_int(raw, SOL_PACKET, PACKET_VNET_HDR, 1)?;
        }
        if qdisc_bypass {
            setsockopt_int(raw, SOL_PACKET, PACKET_QDISC_BYPASS, 1)?;
        }
        let _ = setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_SNDBUF, 4 << 20);
        let max_len = mtu + 14;
        let frame_size = (max_len + 4 + VNET_HDR_LEN + TX_DATA_OFF)
            .next_power_of_two()
            .max(2048);
        let block_nr = (ring_bytes / frame_size.max(1 << 16)).max(2);
        let ring = TxRing {
            ring: Ring::new(raw, PACKET_TX_RING, frame_size, block_nr)?,
            fd,
            head: 0,
            linear,
            max_len,
        };
        packet_bind(raw, 0, ifindex)?;
        Ok(ring)
    }

    /// Number of slots.
    pub fn slots(&self) -> usize {
        self.ring.frame_nr
    }

    /// Longest untagged frame a slot takes (the MTU at open plus the
    /// Ethernet header); see [`TxRing::fits_len`].
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// Whether frame `f` goes into a ring whose [`TxRing::max_len`] is
    /// `max_len`: at least an Ethernet header, at most `max_len` bytes (4
    /// more with an 802.1Q tag). Callers send the other frames another way
    /// (`sendmmsg`, where the kernel checks the device's current MTU).
    pub fn fits_len(max_len: usize, f: &[u8]) -> bool {
        let tagged = f.len() >= 14 && f[12..14] == [0x81, 0x00];
        f.len() >= 14 && f.len() <= max_len + if tagged { 4 } else { 0 }
    }

    fn fits(&self, f: &[u8]) -> bool {
        Self::fits_len(self.max_len, f)
    }

    /// Transmits `frames` without blocking; returns how many the kernel
    /// took, a prefix of `frames` as with `sendmmsg` (a full ring, a full
    /// socket buffer, a frame that does not [`fit`](TxRing::fits_len) or a
    /// device error ends the burst: the rest are the caller's drops). `Err` only when not one frame
    /// went out and the reason was not congestion.
    pub fn send(&mut self, frames: &[&[u8]]) -> io::Result<usize> {
        use std::sync::atomic::Ordering;
        let start = self.head;
        let mut h = start;
        let mut queued = 0;
        for f in frames {
            if !self.fits(f) {
                if queued == 0 {
                    return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
                }
                break;
            }
            if self.ring.status(h).load(Ordering::Acquire) != TP_STATUS_AVAILABLE {
                break; // still in flight: the ring is full
            }
            let slot = self.ring.slot(h);
            let mut off = TX_DATA_OFF;
            // SAFETY: the slot is ours (TP_STATUS_AVAILABLE, acquire ordered);
            // the header, the optional vnet header and the frame fit in
            // frame_size (fits() bounds the frame by max_len + 4, and
            // frame_size was sized for that plus both headers).
            unsafe {
                if self.linear {
                    let mut v = [0u8; VNET_HDR_LEN];
                    v[2..4].copy_from_slice(&(f.len() as u16).to_le_bytes());
                    std::ptr::copy_nonoverlapping(v.as_ptr(), slot.add(off), VNET_HDR_LEN);
                    off += VNET_HDR_LEN;
                }
                std::ptr::copy_nonoverlapping(f.as_ptr(), slot.add(off), f.len());
                let tp_len = (off - TX_DATA_OFF + f.len()) as u32;
                std::ptr::write_unaligned(slot.add(4) as *mut u32, tp_len);
            }
            self.ring
                .status(h)
                .store(TP_STATUS_SEND_REQUEST, Ordering::Release);
            h = self.ring.next(h);
            queued += 1;
        }
        if queued == 0 {
            return Ok(0);
        }
        // SAFETY: a zero-length send on our own socket; the kernel reads only
        // the ring slots marked above.
        let r = unsafe { libc::send(self.fd.as_raw_fd(), std::ptr::null(), 0, libc::MSG_DONTWAIT) };
        let err = (r < 0).then(io::Error::last_os_error);
        // The kernel walks the requested slots in order from `start` and
        // stops at the first it could not send (left SEND_REQUEST or marked
        // WRONG_FORMAT); it does not touch them again until the next send().
        let mut sent = 0;
        let mut i = start;
        while sent < queued {
            let st = self.ring.status(i).load(Ordering::Acquire);
            if st == TP_STATUS_SEND_REQUEST || st == TP_STATUS_WRONG_FORMAT {
                break;
            }
            sent += 1;
            i = self.ring.next(i);
        }
        // Take back what it did not send; its head stays at `i`, and so does ours.
        let mut j = i;
        for _ in sent..queued {
            self.ring
                .status(j)
                .store(TP_STATUS_AVAILABLE, Ordering::Release);
            j = self.ring.next(j);
        }
        self.head = i;
        match err {
            Some(e)
                if sent == 0
                    && e.kind() != io::ErrorKind::WouldBlock
                    && e.raw_os_error() != Some(libc::ENOBUFS) =>
            {
                Err(e)
            }
            _ => Ok(sent),
        }
    }
}

/// Waits until one of `fds` is readable or `timeout_ms` passes; sets
/// `ready[i]`, and `errs[i]` when the readiness is (also) an error or hang-up.
/// A negative fd is skipped. Reuses `scratch` across calls.
pub fn poll_readable(
    fds: &[RawFd],
    ready: &mut [bool],
    errs: &mut [bool],
    scratch: &mut Vec<libc::pollfd>,
    timeout_ms: i32,
) -> io::Result<usize> {
    scratch.clear();
    scratch.extend(fds.iter().map(|&fd| libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    }));
    // SAFETY: `scratch` holds exactly scratch.len() initialized pollfds.
    let r = unsafe {
        libc::poll(
            scratch.as_mut_ptr(),
            scratch.len() as libc::nfds_t,
            timeout_ms,
        )
    };
    if r < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(0)
        } else {
            Err(e)
        };
    }
    for ((r, e), p) in ready.iter_mut().zip(errs.iter_mut()).zip(scratch.iter()) {
        *r = p.revents & (libc::POLLIN | libc::POLLERR | libc::POLLHUP) != 0;
        *e = p.revents & (libc::POLLERR | libc::POLLHUP) != 0;
    }
    Ok(r as usize)
}

/// Reads and clears socket `fd`'s pending error (`SO_ERROR`): 0 if none.
pub fn take_socket_error(fd: RawFd) -> io::Result<i32> {
    let mut err: libc::c_int = 0;
    let mut len = size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: passes a pointer to a live c_int and its exact size.
    cvt(unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_ERROR,
            &mut err as *mut libc::c_int as *mut libc::c_void,
            &mut len,
        )
    })?;
    Ok(err)
}

/// Number of online CPUs.
pub fn n_cpus() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}
