//! Tail latency of one `execute()` of 32 packets while the table is busy with something else:
//! 1. N connections (default 3,000,000) expire at the same instant and a housekeeping thread
//!    sweeps them all (`sweep(now, 4096)` in a loop);
//! 2. N live connections are dumped (chunks of 1024, each entry formatted as
//!    `dpctl/dump-conntrack` text) by another thread;
//! 3. N live connections are flushed (`flush(FlushFilter::All)`) by another thread.
//!
//! `cargo bench -p conntrack --bench ct_latency -- [N]`. Prints p50/p99/p99.9/max of the
//! forwarding thread's `execute()` calls during each phase, in wall-clock time and in the
//! thread's own CPU time, and sorts the calls over 1 ms by cause (on CPU, preempted by the OS,
//! asleep). On a machine with fewer free cores than threads, preemption shows up in the wall
//! tail: a call with little CPU time and an involuntary context switch was preempted.
//!
//! Phase 1 by default has the forwarding thread sweep between its calls (`sweep(now, 64)`,
//! `CT_LAT_SWEEP_STEP` to change) while another thread frees what it unlinks
//! (`free_unlinked` every 5 ms); `CT_LAT_BG_SWEEP=1` sweeps from a housekeeping thread
//! instead (the earlier arrangement). `CT_LAT_ONLY_EXPIRY=1` stops after phase 1.
//!
//! `CT_LAT_RT=1` runs the forwarding thread under `SCHED_FIFO` during the phases (see
//! [`rt_wanted`]): on a shared, loaded machine this separates the tracker's own tail from
//! the time the OS gave the CPU to other processes.
//!
//! Figures: see the crate documentation (Performance). Before the changes of 2026-11-26
//! evening (housekeeping thread sweeping, whole-shard sweeps on insertion), runs at load 5–6
//! showed 0–7 calls per run asleep ~4 ms on a shard lock whose holder (sweeper, dumper or
//! flusher) was descheduled, and one expiry call of 3.5 ms of CPU.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use common::*;
use conntrack::{Config, Conntrack, CtOpts, CtPacket, DumpCursor, L3, NS_PER_S};

fn fill(ct: &Conntrack, n: u32, base: u32, now: u64) {
    let mut frames: Vec<Vec<u8>> = (0..32).map(nth_udp4).collect();
    let opts = CtOpts {
        commit: true,
        ..CtOpts::default()
    };
    let mut i = 0u32;
    while i < n {
        let k = (n - i).min(32) as usize;
        for (j, f) in frames.iter_mut().enumerate().take(k) {
            let m = base + i + j as u32;
            f[27] = (m >> 23) as u8;
            f[28] = (m >> 15) as u8;
            f[34..36].copy_from_slice(&(1024 + (m & 0x7fff) as u16).to_be_bytes());
        }
        let mut batch: Vec<CtPacket<'_>> = frames[..k]
            .iter()
            .map(|f| CtPacket {
                data: f,
                l3: L3::Ipv4,
                l4_proto: 17,
                l3_ofs: 14,
                l4_ofs: 34,
                hash: 0,
                checksum_ok: true,
                md: Default::default(),
                rewrite: Default::default(),
            })
            .collect();
        ct.execute(&mut batch, &opts, now);
        i += k as u32;
    }
}

/// The system allocator, counting on the forwarding thread how many allocations and frees an
/// `execute()` call makes and how long they take (a free or a malloc in an arena another thread
/// is filling with freed entries can be slow).
struct CountingAlloc;

thread_local! {
    static COUNT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static ALLOCS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    static ALLOC_NS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn counted<T>(f: impl FnOnce() -> T) -> T {
    if !COUNT.with(|c| c.get()) {
        return f();
    }
    let t = Instant::now();
    let r = f();
    let ns = t.elapsed().as_nanos() as u64;
    ALLOCS.with(|c| c.set(c.get() + 1));
    ALLOC_NS.with(|c| c.set(c.get() + ns));
    r
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged.
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, l: std::alloc::Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        counted(|| unsafe { std::alloc::System.alloc(l) })
    }
    unsafe fn dealloc(&self, p: *mut u8, l: std::alloc::Layout) {
        // SAFETY: forwarded contract.
        counted(|| unsafe { std::alloc::System.dealloc(p, l) })
    }
    unsafe fn realloc(&self, p: *mut u8, l: std::alloc::Layout, n: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        counted(|| unsafe { std::alloc::System.realloc(p, l, n) })
    }
}

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// One `execute()` call as the forwarding thread saw it.
#[derive(Clone, Copy, Default)]
struct Call {
    /// Wall-clock time of the call.
    wall_ns: u64,
    /// CPU time this thread spent in the call (`CLOCK_THREAD_CPUTIME_ID`).
    cpu_ns: u64,
    /// Voluntary context switches during the call (the thread slept: a lock wait, a page
    /// fault waiting for the address-space lock).
    vol: u32,
    /// Involuntary context switches (the OS preempted a runnable thread).
    invol: u32,
    /// Time the thread was runnable but waiting for a CPU (`/proc/thread-self/schedstat`):
    /// preempted, or woken but not yet running.
    queued_ns: u64,
    /// Allocations and frees made by the call, and the time they took.
    allocs: u32,
    alloc_ns: u64,
    /// Page faults taken during the call.
    faults: u32,
    /// For a sweep step: entries examined and unlinked.
    touched: (usize, usize),
    /// `CLOCK_MONOTONIC` at the call's start (to find it in `perf record -k CLOCK_MONOTONIC`).
    start_ns: u64,
}

/// `CLOCK_MONOTONIC` in ns.
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_MONOTONIC)");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// This thread's CPU time in ns.
fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant Linux supports.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// This thread's (voluntary, involuntary) context switches and (minor + major) page faults
/// so far.
fn ctx_switches() -> (u64, u64, u64) {
    // SAFETY: an all-zero `rusage` is a valid value of the plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable rusage; RUSAGE_THREAD is supported since Linux 2.6.26.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut ru) };
    assert_eq!(rc, 0, "getrusage(RUSAGE_THREAD)");
    (
        ru.ru_nvcsw as u64,
        ru.ru_nivcsw as u64,
        (ru.ru_minflt + ru.ru_majflt) as u64,
    )
}

/// `CT_LAT_RT=1`: the forwarding thread runs under `SCHED_FIFO` (priority 1) during each phase,
/// the way a deployment gives forwarding threads CPUs of their own: the OS then never
/// preempts it for another runnable thread (other engineers' builds on a shared machine), so
/// its wall-clock tail shows the tracker's own waits. Needs root or `CAP_SYS_NICE`; the
/// kernel's real-time throttling (`sched_rt_runtime_us`) still stops it for a few ms a second.
fn rt_wanted() -> bool {
    std::env::var_os("CT_LAT_RT").is_some_and(|v| v == "1")
}

/// Puts the calling thread under `SCHED_FIFO` priority 1 (`on`) or back to `SCHED_OTHER`.
fn set_realtime(on: bool) {
    let param = libc::sched_param {
        sched_priority: i32::from(on),
    };
    let policy = if on {
        libc::SCHED_FIFO
    } else {
        libc::SCHED_OTHER
    };
    // SAFETY: pid 0 is the calling thread; `param` is a valid sched_param.
    let rc = unsafe { libc::sched_setscheduler(0, policy, &param) };
    assert_eq!(
        rc,
        0,
        "sched_setscheduler: {}",
        std::io::Error::last_os_error()
    );
}

fn quantiles(mut v: Vec<u64>) -> [f64; 4] {
    v.sort_unstable();
    let q = |p: f64| v[((v.len() as f64 - 1.0) * p) as usize] as f64 / 1e3;
    [
        q(0.5),
        q(0.99),
        q(0.999),
        *v.last().unwrap_or(&0) as f64 / 1e3,
    ]
}

/// Prints wall and CPU quantiles of the calls, the wall time without the time the thread spent
/// waiting for a CPU (preempted by the OS, or woken and not yet run: this 2-core machine is
/// shared), and the calls that remain slowest once that is taken out, each split into CPU time,
/// run-queue wait and time asleep (waiting for a lock, or in a page fault for the kernel's
/// address-space lock).
fn report(name: &str, calls: &[Call], busy_ms: f64, steal_ms: u64) {
    if calls.is_empty() {
        println!("{name}: no execute() calls completed during {busy_ms:.0} ms");
        return;
    }
    let [w50, w99, w999, wmax] = quantiles(calls.iter().map(|c| c.wall_ns).collect());
    let [c50, c99, c999, cmax] = quantiles(calls.iter().map(|c| c.cpu_ns).collect());
    println!(
        "{name}: {} execute(32) calls during {busy_ms:.0} ms",
        calls.len()
    );
    println!("  wall: p50 {w50:.1} us, p99 {w99:.1} us, p99.9 {w999:.1} us, max {wmax:.1} us");
    println!("  cpu:  p50 {c50:.1} us, p99 {c99:.1} us, p99.9 {c999:.1} us, max {cmax:.1} us");
    let slow: Vec<&Call> = calls.iter().filter(|c| c.wall_ns > 1_000_000).collect();
    let blocked = |c: &Call| c.wall_ns.saturating_sub(c.cpu_ns + c.queued_ns);
    let own_ns = |c: &Call| c.wall_ns.saturating_sub(c.queued_ns);
    let queued = slow.iter().filter(|c| own_ns(c) <= 1_000_000).count();
    let rest: Vec<&&Call> = slow.iter().filter(|c| own_ns(c) > 1_000_000).collect();
    let on_cpu = rest.iter().filter(|c| c.cpu_ns > 1_000_000).count();
    let asleep = rest
        .iter()
        .filter(|c| c.cpu_ns <= 1_000_000 && c.vol > 0)
        .count();
    let stolen = rest.len() - on_cpu - asleep;
    println!(
        "  calls over 1 ms: {}: under 1 ms without their run-queue wait (the OS ran something \
         else): {queued}; over 1 ms of CPU: {on_cpu}; asleep (a voluntary switch: a lock or a \
         page-fault wait): {asleep}; off CPU with no switch at all (the hypervisor took the \
         vCPU): {stolen}",
        slow.len()
    );
    println!("  (machine steal time during the phase: {steal_ms} ms)");
    let slept: Vec<&Call> = calls.iter().filter(|c| c.vol > 0).collect();
    println!(
        "  calls of any length that slept (a voluntary switch): {}, longest {:.1} us; calls that \
         allocated or freed: {}; calls with a page fault: {}",
        slept.len(),
        slept.iter().map(|c| c.wall_ns).max().unwrap_or(0) as f64 / 1e3,
        calls.iter().filter(|c| c.allocs > 0).count(),
        calls.iter().filter(|c| c.faults > 0).count()
    );
    let mut own: Vec<u64> = calls
        .iter()
        .map(|c| c.wall_ns.saturating_sub(c.queued_ns))
        .collect();
    own.sort_unstable();
    let [o50, o99, o999, omax] = quantiles(own);
    println!(
        "  wall minus run-queue wait: p50 {o50:.1} us, p99 {o99:.1} us, p99.9 {o999:.1} us, \
         max {omax:.1} us"
    );
    let mut worst: Vec<(usize, &Call)> = calls.iter().enumerate().collect();
    worst.sort_unstable_by_key(|(_, c)| std::cmp::Reverse(c.wall_ns.saturating_sub(c.queued_ns)));
    let mut by_cpu: Vec<(usize, &Call)> = calls.iter().enumerate().collect();
    by_cpu.sort_unstable_by_key(|(_, c)| std::cmp::Reverse(c.cpu_ns));
    let top_cpu = by_cpu
        .first()
        .filter(|(i, _)| worst.iter().take(3).all(|(j, _)| j != i));
    for (i, c) in worst.iter().take(3).chain(top_cpu) {
        println!(
            "    call #{i}: wall {:.1} us = cpu {:.1} + waiting for a CPU {:.1} + asleep {:.1}; \
             switches {} voluntary, {} involuntary; {} page faults; {} allocations/frees taking \
             {:.1} us{}; started at {:.6} s (CLOCK_MONOTONIC)",
            c.wall_ns as f64 / 1e3,
            c.cpu_ns as f64 / 1e3,
            c.queued_ns.min(c.wall_ns) as f64 / 1e3,
            blocked(c) as f64 / 1e3,
            c.vol,
            c.invol,
            c.faults,
            c.allocs,
            c.alloc_ns as f64 / 1e3,
            if c.touched == (0, 0) {
                String::new()
            } else {
                format!(
                    "; {} entries examined, {} unlinked",
                    c.touched.0, c.touched.1
                )
            },
            c.start_ns as f64 / 1e9,
        );
    }
}

/// Reads this thread's run-queue wait so far (second field of `/proc/thread-self/schedstat`).
struct RunDelay {
    file: std::fs::File,
    buf: [u8; 128],
}

impl RunDelay {
    fn open() -> Self {
        RunDelay {
            file: std::fs::File::open("/proc/thread-self/schedstat").expect("schedstat"),
            buf: [0; 128],
        }
    }

    fn ns(&mut self) -> u64 {
        use std::os::unix::fs::FileExt;
        let n = self.file.read_at(&mut self.buf, 0).unwrap_or(0);
        std::str::from_utf8(&self.buf[..n])
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    }
}

/// Steal time of all CPUs so far (ms; /proc/stat counts USER_HZ ticks of 10 ms).
fn steal_ms() -> u64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(8)?.parse::<u64>().ok())
        })
        .map_or(0, |t| t * 10)
}

/// Runs `execute` on 32 live connections in a loop until `done`, recording every call. With
/// `sweep_budget > 0` the thread also sweeps (`sweep(now, sweep_budget)` after each call, the
/// OVS-style placement: no other thread takes a shard write lock for expiry), records each
/// step in the second list, and stops once only its own 32 connections are left.
fn forward(
    ct: &Conntrack,
    done: &AtomicBool,
    now: u64,
    sweep_budget: usize,
) -> (Vec<Call>, Vec<Call>) {
    let frames: Vec<Vec<u8>> = (0..32)
        .map(|i| udp4([192, 168, 0, 1], [192, 168, 0, 2], 5000 + i, 80))
        .collect();
    let mut batch: Vec<CtPacket<'_>> = frames.iter().map(|f| given_v4(f, 17)).collect();
    // Touched up front so that recording never page-faults inside a measured call's
    // neighbourhood (a fault waits for the address-space lock other threads may hold).
    let mut calls = vec![
        Call {
            wall_ns: 1,
            ..Call::default()
        };
        1 << 22
    ];
    calls.clear();
    let opts = CtOpts {
        commit: true,
        ..CtOpts::default()
    };
    let mut steps = Vec::with_capacity(if sweep_budget > 0 { 1 << 20 } else { 0 });
    // As the datapath's forwarding threads do: parking_lot allocates a thread's parking state
    // on its first wait, which must not happen inside a measured call.
    {
        let m = parking_lot::Mutex::new(());
        let _held = m.lock();
        let again = m.try_lock_for(std::time::Duration::from_micros(1));
        assert!(again.is_none());
    }
    let rt = rt_wanted();
    if rt {
        set_realtime(true);
    }
    let mut sw = ctx_switches();
    let mut rd = RunDelay::open();
    let mut queued = rd.ns();
    while !done.load(Ordering::Relaxed) {
        ALLOCS.with(|c| c.set(0));
        ALLOC_NS.with(|c| c.set(0));
        let start_ns = monotonic_ns();
        let t = Instant::now();
        let c0 = thread_cpu_ns();
        COUNT.with(|c| c.set(true));
        ct.execute(&mut batch, &opts, now);
        COUNT.with(|c| c.set(false));
        let c1 = thread_cpu_ns();
        let wall_ns = t.elapsed().as_nanos() as u64;
        let s = ctx_switches();
        let q = rd.ns();
        calls.push(Call {
            queued_ns: q - queued,
            wall_ns,
            cpu_ns: c1 - c0,
            vol: (s.0 - sw.0) as u32,
            invol: (s.1 - sw.1) as u32,
            faults: (s.2 - sw.2) as u32,
            allocs: ALLOCS.with(|c| c.get()) as u32,
            alloc_ns: ALLOC_NS.with(|c| c.get()),
            touched: (0, 0),
            start_ns,
        });
        sw = s;
        queued = q;
        if sweep_budget > 0 {
            ALLOCS.with(|c| c.set(0));
            ALLOC_NS.with(|c| c.set(0));
            let start_ns = monotonic_ns();
            let t = Instant::now();
            let c0 = thread_cpu_ns();
            COUNT.with(|c| c.set(true));
            let r = ct.sweep(now, sweep_budget);
            COUNT.with(|c| c.set(false));
            let c1 = thread_cpu_ns();
            let wall_ns = t.elapsed().as_nanos() as u64;
            let s = ctx_switches();
            let q = rd.ns();
            steps.push(Call {
                queued_ns: q - queued,
                wall_ns,
                cpu_ns: c1 - c0,
                vol: (s.0 - sw.0) as u32,
                invol: (s.1 - sw.1) as u32,
                faults: (s.2 - sw.2) as u32,
                allocs: ALLOCS.with(|c| c.get()) as u32,
                alloc_ns: ALLOC_NS.with(|c| c.get()),
                touched: (r.examined, r.expired),
                start_ns,
            });
            sw = s;
            queued = q;
            if ct.len() <= 32 {
                break;
            }
        }
    }
    if rt {
        set_realtime(false);
    }
    (calls, steps)
}

/// The 1-minute load average (other engineers' builds share this machine).
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Table slots visited per sweep step on the forwarding thread (`CT_LAT_SWEEP_STEP`).
fn sweep_step() -> usize {
    std::env::var("CT_LAT_SWEEP_STEP")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64)
}

fn main() {
    let n: u32 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .and_then(|s| s.parse().ok())
        .unwrap_or(3_000_000);
    let ct = Arc::new(Conntrack::new(Config::default()));
    let t0 = 1_000 * NS_PER_S;
    let t = Instant::now();
    fill(&ct, n, 0, t0);
    println!(
        "filled {n} connections in {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );

    // Phase 1: all N expire at t0 + 60 s. By default the forwarding thread sweeps them
    // itself between its batches; with CT_LAT_BG_SWEEP=1 a housekeeping thread sweeps
    // (`sweep(now, 4096)` in a loop) while the forwarding thread only forwards.
    let now = t0 + 61 * NS_PER_S;
    let bg = std::env::var_os("CT_LAT_BG_SWEEP").is_some_and(|v| v == "1");
    let done = Arc::new(AtomicBool::new(false));
    println!(
        "forwarding thread: {}",
        if rt_wanted() {
            "SCHED_FIFO priority 1 (CT_LAT_RT=1)"
        } else {
            "SCHED_OTHER"
        }
    );
    println!("load average before the expiry phase: {}", loadavg());
    let st = steal_ms();
    let start = Instant::now();
    let (calls, steps) = if bg {
        let sweeper = {
            let (ct, done) = (ct.clone(), done.clone());
            std::thread::spawn(move || {
                let mut expired = 0;
                while expired < n as usize {
                    expired += ct.sweep(now, 4096).expired;
                }
                done.store(true, Ordering::Relaxed);
            })
        };
        let r = forward(&ct, &done, now, 0);
        sweeper.join().unwrap();
        r
    } else {
        // A housekeeping thread frees what the sweep steps unlink.
        let reaper = {
            let (ct, done) = (ct.clone(), done.clone());
            std::thread::spawn(move || {
                let mut freed = 0;
                while !done.load(Ordering::Relaxed) {
                    freed += ct.free_unlinked();
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                freed + ct.free_unlinked()
            })
        };
        let r = forward(&ct, &done, now, sweep_step());
        done.store(true, Ordering::Relaxed);
        println!(
            "housekeeping thread freed {} entries",
            reaper.join().unwrap()
        );
        r
    };
    let ms = start.elapsed().as_secs_f64() * 1e3;
    if let Some(c) = calls.first() {
        println!(
            "first call (creates its 32 connections in shards full of dead entries): wall {:.1} \
             us, cpu {:.1} us, {} page faults",
            c.wall_ns as f64 / 1e3,
            c.cpu_ns as f64 / 1e3,
            c.faults
        );
    }
    let who = if bg {
        "a housekeeping thread sweeping"
    } else {
        "the forwarding thread sweeping between batches"
    };
    report(
        &format!("mass expiry of {n}, {who}"),
        &calls,
        ms,
        steal_ms() - st,
    );
    if !steps.is_empty() {
        report(
            &format!("  its sweep steps (sweep(now, {}))", sweep_step()),
            &steps,
            ms,
            0,
        );
    }
    println!("load average after: {}", loadavg());

    if std::env::var_os("CT_LAT_ONLY_EXPIRY").is_some() {
        return;
    }
    // Phase 2: N live connections dumped while forwarding.
    fill(&ct, n, 0, now);
    let done = Arc::new(AtomicBool::new(false));
    let dumper = {
        let (ct, done) = (ct.clone(), done.clone());
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut cur = Some(DumpCursor::START);
            let mut lines = 0usize;
            let mut bytes = 0usize;
            while let Some(c) = cur {
                let (chunk, next) = ct.dump(None, c, 1024, now);
                for e in &chunk {
                    bytes += e.format(false).len() + 1;
                    lines += 1;
                }
                cur = next;
            }
            done.store(true, Ordering::Relaxed);
            (start.elapsed().as_secs_f64() * 1e3, lines, bytes)
        })
    };
    println!("load average before the dump phase: {}", loadavg());
    let st = steal_ms();
    let (calls, _) = forward(&ct, &done, now, 0);
    let (ms, lines, bytes) = dumper.join().unwrap();
    report(
        &format!(
            "dump of {lines} entries ({:.0} MB of text)",
            bytes as f64 / 1e6
        ),
        &calls,
        ms,
        steal_ms() - st,
    );

    // Phase 3: N live connections flushed while forwarding.
    fill(&ct, n, 0, now);
    let done = Arc::new(AtomicBool::new(false));
    let flusher = {
        let (ct, done) = (ct.clone(), done.clone());
        std::thread::spawn(move || {
            let start = Instant::now();
            let k = ct.flush(conntrack::FlushFilter::All);
            done.store(true, Ordering::Relaxed);
            (start.elapsed().as_secs_f64() * 1e3, k)
        })
    };
    println!("load average before the flush phase: {}", loadavg());
    let st = steal_ms();
    let (calls, _) = forward(&ct, &done, now, 0);
    let (ms, k) = flusher.join().unwrap();
    report(
        &format!("flush of {k} entries"),
        &calls,
        ms,
        steal_ms() - st,
    );
}
