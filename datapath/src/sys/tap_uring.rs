//! Tap bursts through io_uring: one `io_uring_enter` reads (or writes) up to
//! [`MAX_BURST`] frames on one tap fd, instead of one `read`/`write` system
//! call per frame.
//!
//! Contract: [`TapRing::read_burst`] and [`TapRing::write_burst`] return only
//! once the kernel has posted a completion for every operation they queued, so
//! the caller's buffers are borrowed for the call and no longer. That holds
//! because every entry carries `RWF_NOWAIT`: io_uring then completes a read
//! that finds the queue empty with `-EAGAIN` at once instead of arming a poll
//! and finishing it later (`O_NONBLOCK` on the fd is not enough for that). (A kernel whose tun lacks `FMODE_NOWAIT` hands the
//! operation to an io-wq worker, a thread of this process, and the wait below
//! covers that too.) The submission queue is empty between calls (it has
//! room for two bursts; an entry that would not fit is not queued and gets
//! `-ENOBUFS`).
//!
//! The ring uses no registered files or buffers: a port's fd can be closed
//! while a thread's ring lives on, and a registered file would keep the tap
//! device alive.

use std::io;
use std::os::fd::RawFd;

use io_uring::{IoUring, Probe, opcode, squeue, types};

use super::MAX_BURST;

/// `preadv2` flag: fail with `EAGAIN` instead of waiting. io_uring arms a
/// poll for a pollable file whose read would block, even on an `O_NONBLOCK`
/// fd (seen on 6.18); with this flag it completes the read with `-EAGAIN`.
const RWF_NOWAIT: i32 = 0x0000_0008;

/// Submission queue entries: one burst, with room to spare.
const ENTRIES: u32 = 2 * MAX_BURST as u32;

/// An io_uring for tap bursts, owned by one [`super::Burst`] (used by one
/// thread at a time, which may change).
pub struct TapRing {
    ring: IoUring,
}

impl std::fmt::Debug for TapRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TapRing")
    }
}

impl TapRing {
    /// Sets up a ring. Fails with the kernel's error when io_uring is absent
    /// (`ENOSYS`) or disabled (`EPERM`, `kernel.io_uring_disabled`), when
    /// the kernel lacks the plain read and write operations (5.1 to 5.5:
    /// every entry would fail with `-EINVAL`; those kernels cannot answer
    /// the probe either), and when a first `io_uring_enter` is refused (a
    /// seccomp filter, say): all of these leave the caller on plain system
    /// calls instead of failing every burst later.
    pub fn new() -> io::Result<TapRing> {
        // Completions are only ever reaped inside our own `io_uring_enter`:
        // no task-work interrupt is needed (COOP_TASKRUN); keep submitting
        // past an entry that fails (SUBMIT_ALL), so every entry completes.
        let ring = IoUring::builder()
            .setup_coop_taskrun()
            .setup_submit_all()
            .build(ENTRIES)
            .or_else(|_| IoUring::builder().build(ENTRIES))?;
        let mut probe = Probe::new();
        ring.submitter().register_probe(&mut probe)?;
        if !probe.is_supported(opcode::Read::CODE) || !probe.is_supported(opcode::Write::CODE) {
            return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
        }
        // No SINGLE_ISSUER, DEFER_TASKRUN or registered ring fd: each ties
        // the ring to the thread that set it up, and a `Burst` may move
        // (the datapath's PACKET_OUT pipeline runs on whichever thread asks).
        let mut ring = TapRing { ring };
        ring.check_enter()?;
        Ok(ring)
    }

    /// Runs one NOP through the ring: an `io_uring_enter` that fails here
    /// (nothing of ours is in flight yet) fails [`TapRing::new`].
    fn check_enter(&mut self) -> io::Result<()> {
        let nop = opcode::Nop::new().build().user_data(0);
        // SAFETY: a NOP refers to no memory.
        unsafe { self.ring.submission().push(&nop) }
            .map_err(|_| io::Error::from_raw_os_error(libc::ENOBUFS))?;
        loop {
            match self.ring.submit_and_wait(1) {
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.ring.completion().for_each(drop);
        Ok(())
    }

    /// Reads one frame into each of `bufs` (≤ [`MAX_BURST`]) from tap `fd`
    /// without blocking. `res[i]` gets the length read into `bufs[i]` or
    /// `-errno` (`-EAGAIN`: nothing was pending for that read). The reads run
    /// in order, so the frames keep their order among the successful ones.
    pub fn read_burst(&mut self, fd: RawFd, bufs: &mut [&mut [u8]], res: &mut [i32]) {
        let n = bufs.len().min(MAX_BURST).min(res.len());
        let entries = bufs.iter_mut().take(n).map(|b| {
            let len = b.len().min(u32::MAX as usize) as u32;
            opcode::Read::new(types::Fd(fd), b.as_mut_ptr(), len)
                .rw_flags(RWF_NOWAIT)
                .build()
        });
        // SAFETY: every entry points into `bufs`, borrowed for this whole call.
        unsafe { self.run(entries, &mut res[..n]) }
    }

    /// Writes each of `frames` (≤ [`MAX_BURST`]) to tap `fd`, in order.
    /// `res[i]` gets the bytes written or `-errno`.
    pub fn write_burst(&mut self, fd: RawFd, frames: &[&[u8]], res: &mut [i32]) {
        let n = frames.len().min(MAX_BURST).min(res.len());
        let entries = frames.iter().take(n).map(|f| {
            let len = f.len().min(u32::MAX as usize) as u32;
            opcode::Write::new(types::Fd(fd), f.as_ptr(), len)
                .rw_flags(RWF_NOWAIT)
                .build()
        });
        // SAFETY: every entry points into `frames`, borrowed for this whole call.
        unsafe { self.run(entries, &mut res[..n]) }
    }

    /// Queues `entries` (their index is their `user_data` and their slot in
    /// `res`), submits them and waits for every completion; an entry the
    /// queue has no room for gets `-ENOBUFS`.
    ///
    /// # Safety
    /// The memory each entry points to must stay valid until this returns
    /// (it returns only once the kernel has completed them all).
    unsafe fn run(&mut self, entries: impl Iterator<Item = squeue::Entry>, res: &mut [i32]) {
        let mut queued = 0;
        {
            let mut sq = self.ring.submission();
            for (i, e) in entries.take(res.len()).enumerate() {
                // SAFETY: the caller keeps the entry's memory valid until
                // `complete` below has reaped its completion.
                if unsafe { sq.push(&e.user_data(i as u64)) }.is_err() {
                    break;
                }
                queued += 1;
            }
        }
        res[queued..].fill(-libc::ENOBUFS);
        self.complete(queued, res);
    }

    /// Submits what is queued and waits until `n` completions are reaped,
    /// storing each result at its entry's index. Never returns earlier: the
    /// entries point into the caller's buffers.
    fn complete(&mut self, n: usize, res: &mut [i32]) {
        let mut done = 0;
        let mut failures = 0u32;
        while done < n {
            match self.ring.submit_and_wait(n - done) {
                Ok(_) => failures = 0,
                Err(e) => {
                    // EINTR, EAGAIN, EBUSY: try again. Anything else cannot
                    // happen with a valid ring and entries; if it does, we
                    // still may not return while the kernel holds our
                    // pointers, so keep trying, and give up the process
                    // rather than memory safety.
                    failures += 1;
                    if failures > 10_000 {
                        // No eprintln!: it panics when stderr fails, and
                        // unwinding now would free buffers the kernel holds.
                        let _ = io::Write::write_all(
                            &mut io::stderr(),
                            format!("tap io_uring: enter keeps failing ({e}); aborting\n")
                                .as_bytes(),
                        );
                        std::process::abort();
                    }
                    if e.kind() != io::ErrorKind::Interrupted {
                        std::thread::yield_now();
                    }
                }
            }
            for c in self.ring.completion() {
                if let Some(r) = res.get_mut(c.user_data() as usize) {
                    *r = c.result();
                }
                done += 1;
            }
        }
    }
}
