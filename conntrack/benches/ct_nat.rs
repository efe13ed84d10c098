//! criterion benches of NAT (issue 8), each beside its plain (non-NAT) twin in one run:
//! * `nat_setup/{plain,snat}_{1,2}threads` — new UDP connections per second, batch 32, commit;
//!   SNAT to a pool of one address and ports 1024–65535 (64,512 tuples); the pool is refilled
//!   (flushed, untimed) every 48,000 connections, so it runs from empty to 74 % full;
//! * `nat_existing/{plain,snat}_{1conn,32conns}` — packets of established connections, batch 32,
//!   including what the datapath does after `execute`: restoring the frames (both) and
//!   applying the rewrite (SNAT; checksums updated incrementally).

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::*;
use conntrack::{Config, Conntrack, CtOpts, CtPacket, FlushFilter, NatConfig, NatKind};
use criterion::{Criterion, Throughput, black_box, criterion_group, criterion_main};

const NOW_NS: u64 = 1_000_000_000_000;
/// Connections per pool fill (74 % of the 64,512 ports).
const FILL: usize = 48_000;

fn plain() -> CtOpts {
    CtOpts {
        commit: true,
        ..CtOpts::default()
    }
}

fn snat() -> CtOpts {
    CtOpts {
        commit: true,
        nat: Some(
            NatConfig::to_addr(NatKind::Src, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)))
                .with_ports(1024, 65535),
        ),
        ..CtOpts::default()
    }
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Distinct client tuples: client `base + n` to one server.
fn clients(base: u32, n: usize) -> Vec<Vec<u8>> {
    (0..n as u32)
        .map(|i| {
            let c = base + i;
            udp4(
                [10, (c >> 16) as u8, (c >> 8) as u8, c as u8],
                [10, 200, 0, 1],
                // Random-looking client ports (splitmix64 of the client number): clients share
                // ports as real ones do, in the 1- and 2-thread runs alike.
                1024 + (splitmix(u64::from(c)) % 64_000) as u16,
                53,
            )
        })
        .collect()
}

/// Runs `frames` (a multiple of 32) through `ct` in batches of 32, applying each rewrite to a
/// scratch copy of the frame, as the datapath would.
fn run_batches(ct: &Conntrack, frames: &[Vec<u8>], opts: &CtOpts, scratch: &mut [Vec<u8>]) {
    for chunk in frames.chunks(32) {
        let mut batch: Vec<CtPacket<'_>> = chunk.iter().map(|f| given_v4(f, 17)).collect();
        ct.execute(&mut batch, opts, NOW_NS);
        for (p, s) in batch.iter().zip(scratch.iter_mut()) {
            s.clear();
            s.extend_from_slice(p.data);
            black_box(p.rewrite.apply(s));
        }
    }
}

fn setup(c: &mut Criterion) {
    let mut g = c.benchmark_group("nat_setup");
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements(32));
    let frames = clients(0, FILL);
    for (name, opts) in [("plain_1thread", plain()), ("snat_1thread", snat())] {
        let ct = Conntrack::new(Config::default());
        let mut used = 0usize;
        let mut scratch = (0..32)
            .map(|_| Vec::with_capacity(128))
            .collect::<Vec<Vec<u8>>>();
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let n = left.min(FILL / 32 - used);
                    let slice = &frames[used * 32..(used + n) * 32];
                    let t = Instant::now();
                    run_batches(&ct, slice, &opts, &mut scratch);
                    total += t.elapsed();
                    used += n;
                    left -= n;
                    if used == FILL / 32 {
                        ct.flush(FlushFilter::All);
                        used = 0;
                    }
                }
                total
            })
        });
    }
    g.throughput(Throughput::Elements(64));
    let halves = [clients(0, FILL / 2), clients(1 << 20, FILL / 2)];
    let halves = Arc::new(halves);
    for (name, opts) in [("plain_2threads", plain()), ("snat_2threads", snat())] {
        let ct = Arc::new(Conntrack::new(Config::default()));
        let mut used = 0usize;
        let per_fill = FILL / 64;
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    let n = left.min(per_fill - used);
                    let barrier = Arc::new(Barrier::new(3));
                    let hs: Vec<_> = (0..2)
                        .map(|t| {
                            let (ct, barrier, halves) =
                                (ct.clone(), barrier.clone(), halves.clone());
                            std::thread::spawn(move || {
                                let mut scratch = (0..32)
                                    .map(|_| Vec::with_capacity(128))
                                    .collect::<Vec<Vec<u8>>>();
                                let slice = &halves[t][used * 32..(used + n) * 32];
                                barrier.wait();
                                run_batches(&ct, slice, &opts, &mut scratch);
                                barrier.wait();
                            })
                        })
                        .collect();
                    barrier.wait();
                    let t = Instant::now();
                    barrier.wait();
                    total += t.elapsed();
                    for h in hs {
                        h.join().unwrap();
                    }
                    used += n;
                    left -= n;
                    if used == per_fill {
                        ct.flush(FlushFilter::All);
                        used = 0;
                    }
                }
                total
            })
        });
    }
    g.finish();
}

fn existing(c: &mut Criterion) {
    let mut g = c.benchmark_group("nat_existing");
    g.sample_size(20);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    g.throughput(Throughput::Elements(32));
    for (conns, label) in [(1usize, "1conn"), (32, "32conns")] {
        let pristine: Vec<Vec<u8>> = (0..32)
            .map(|i| udp4([10, 1, 1, 1], [10, 1, 1, 2], 1000 + (i % conns) as u16, 53))
            .collect();
        for (kind, opts) in [("plain", plain()), ("snat", snat())] {
            let ct = Conntrack::new(Config::default());
            let mut frames = pristine.clone();
            // Commit the connections first.
            let mut batch: Vec<CtPacket<'_>> = frames.iter().map(|f| given_v4(f, 17)).collect();
            ct.execute(&mut batch, &opts, NOW_NS);
            g.bench_function(format!("{kind}_{label}"), |b| {
                b.iter(|| {
                    for (f, p) in frames.iter_mut().zip(&pristine) {
                        f.copy_from_slice(p);
                    }
                    let mut batch: Vec<CtPacket<'_>> =
                        frames.iter().map(|f| given_v4(f, 17)).collect();
                    ct.execute(black_box(&mut batch), &opts, NOW_NS);
                    let rw: Vec<_> = batch.iter().map(|p| p.rewrite).collect();
                    drop(batch);
                    for (f, r) in frames.iter_mut().zip(&rw) {
                        black_box(r.apply(f));
                    }
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, existing, setup);
criterion_main!(benches);
