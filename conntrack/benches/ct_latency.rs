//! Tail latency of one `execute()` of 32 packets while the table is busy with something else:
//! 1. N connections (default 3,000,000) expire at the same instant and a housekeeping thread
//!    sweeps them all (`sweep(now, 4096)` in a loop);
//! 2. N live connections are dumped (chunks of 1024, each entry formatted as
//!    `dpctl/dump-conntrack` text) by another thread;
//! 3. N live connections are flushed (`flush(FlushFilter::All)`) by another thread.
//!
//! `cargo bench -p conntrack --bench ct_latency -- [N]`. Prints p50/p99/p99.9/max of the
//! forwarding thread's `execute()` calls during each phase. On a machine with fewer free cores
//! than threads, preemption by the OS shows up in the tail too.

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

fn report(name: &str, (mut lat_ns, preempted): (Vec<u64>, Vec<u64>), busy_ms: f64) {
    let slow = lat_ns.iter().filter(|&&l| l > 1_000_000).count();
    // The same tail without the calls the OS preempted.
    let mut own = lat_ns.clone();
    for p in &preempted {
        if let Some(i) = own.iter().position(|x| x == p) {
            own.swap_remove(i);
        }
    }
    own.sort_unstable();
    let own_q = |p: f64| {
        own.get(((own.len() as f64 - 1.0).max(0.0) * p) as usize)
            .map_or(0.0, |&x| x as f64 / 1e3)
    };
    println!(
        "{name}: calls over 1 ms: {slow}, {} of them preempted by the OS; without those: p99.9 {:.1} us, max {:.1} us",
        preempted.len(),
        own_q(0.999),
        own_q(1.0)
    );
    lat_ns.sort_unstable();
    let q = |p: f64| lat_ns[((lat_ns.len() as f64 - 1.0) * p) as usize] as f64 / 1e3;
    println!(
        "{name}: {} execute(32) calls during {busy_ms:.0} ms: p50 {:.1} us, p99 {:.1} us, p99.9 {:.1} us, max {:.1} us",
        lat_ns.len(),
        q(0.5),
        q(0.99),
        q(0.999),
        *lat_ns.last().unwrap_or(&0) as f64 / 1e3
    );
}

/// Runs `execute` on 32 live connections in a loop until `done`, returning each call's latency.
/// This thread's involuntary context switches so far (/proc/thread-self/status).
fn preemptions() -> u64 {
    std::fs::read_to_string("/proc/thread-self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("nonvoluntary_ctxt_switches"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Also returns the latencies of calls over 1 ms during which the OS preempted this thread (an
/// involuntary context switch: time the tracker did not spend).
fn forward(ct: &Conntrack, done: &AtomicBool, now: u64) -> (Vec<u64>, Vec<u64>) {
    let frames: Vec<Vec<u8>> = (0..32)
        .map(|i| udp4([192, 168, 0, 1], [192, 168, 0, 2], 5000 + i, 80))
        .collect();
    let mut batch: Vec<CtPacket<'_>> = frames.iter().map(|f| given_v4(f, 17)).collect();
    let mut lat = Vec::with_capacity(1 << 20);
    let mut preempted = Vec::new();
    let mut switches = preemptions();
    while !done.load(Ordering::Relaxed) {
        let t = Instant::now();
        ct.execute(
            &mut batch,
            &CtOpts {
                commit: true,
                ..CtOpts::default()
            },
            now,
        );
        let ns = t.elapsed().as_nanos() as u64;
        if ns > 1_000_000 {
            let s = preemptions();
            if s > switches {
                preempted.push(ns);
            }
            switches = s;
        }
        lat.push(ns);
    }
    (lat, preempted)
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

    // Phase 1: all N expire at t0 + 60 s; sweep them while forwarding.
    let now = t0 + 61 * NS_PER_S;
    let done = Arc::new(AtomicBool::new(false));
    let sweeper = {
        let (ct, done) = (ct.clone(), done.clone());
        std::thread::spawn(move || {
            let start = Instant::now();
            let mut expired = 0;
            while expired < n as usize {
                expired += ct.sweep(now, 4096).expired;
            }
            done.store(true, Ordering::Relaxed);
            start.elapsed().as_secs_f64() * 1e3
        })
    };
    let lat = forward(&ct, &done, now);
    let ms = sweeper.join().unwrap();
    report(&format!("mass expiry of {n}"), lat, ms);

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
    let lat = forward(&ct, &done, now);
    let (ms, lines, bytes) = dumper.join().unwrap();
    report(
        &format!(
            "dump of {lines} entries ({:.0} MB of text)",
            bytes as f64 / 1e6
        ),
        lat,
        ms,
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
    let lat = forward(&ct, &done, now);
    let (ms, k) = flusher.join().unwrap();
    report(&format!("flush of {k} entries"), lat, ms);
}
