//! criterion benches of `Conntrack::execute`:
//! * `existing/udp_batch32_1conn` and `existing/udp_batch32_2threads` — OVS's
//!   `test-conntrack benchmark` shape (one committed UDP connection per thread, batch 32, commit);
//! * `existing/udp_batch32_32conns` — 32 connections per batch;
//! * `setup/new_udp_conns` — distinct new connections per second (batch 32, commit);
//! * `lookup_1m/udp_batch32_random` — batches of 32 random connections out of 1M live ones;
//! * `l4_type/{given,derived}_{v4,v6_ext}` — the review's question: what deriving the L3/L4 type
//!   from the bytes costs compared with taking it from the caller.

mod common;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::*;
use conntrack::{Config, Conntrack, CtOpts, CtPacket};
use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};

const NOW_NS: u64 = 1_000_000_000_000;

fn commit() -> CtOpts {
    CtOpts {
        commit: true,
        ..CtOpts::default()
    }
}

fn existing(c: &mut Criterion) {
    let mut g = c.benchmark_group("existing");
    g.throughput(Throughput::Elements(32));
    let ct = Conntrack::new(Config::default());
    let f = udp4([10, 1, 1, 1], [10, 1, 1, 2], 1, 2);
    let mut batch: Vec<CtPacket<'_>> = (0..32).map(|_| given_v4(&f, 17)).collect();
    g.bench_function("udp_batch32_1conn", |b| {
        b.iter(|| ct.execute(black_box(&mut batch), &commit(), NOW_NS))
    });

    let frames: Vec<Vec<u8>> = (0..32)
        .map(|i| udp4([10, 1, 1, 1], [10, 1, 1, 2], 1, 2 + i))
        .collect();
    let mut batch: Vec<CtPacket<'_>> = frames.iter().map(|f| given_v4(f, 17)).collect();
    g.bench_function("udp_batch32_32conns", |b| {
        b.iter(|| ct.execute(black_box(&mut batch), &commit(), NOW_NS))
    });

    g.throughput(Throughput::Elements(64));
    let shared = Arc::new(Conntrack::new(Config::default()));
    g.bench_function("udp_batch32_2threads", |b| {
        b.iter_custom(|iters| {
            let barrier = Arc::new(Barrier::new(3));
            let hs: Vec<_> = (0..2u16)
                .map(|t| {
                    let ct = shared.clone();
                    let barrier = barrier.clone();
                    std::thread::spawn(move || {
                        let f = udp4([10, 1, 1, 1], [10, 1, 1, 2], 1 + t, 2);
                        let mut batch: Vec<CtPacket<'_>> =
                            (0..32).map(|_| given_v4(&f, 17)).collect();
                        barrier.wait();
                        for _ in 0..iters {
                            ct.execute(&mut batch, &commit(), NOW_NS);
                        }
                        barrier.wait();
                    })
                })
                .collect();
            barrier.wait();
            let start = Instant::now();
            barrier.wait();
            let d = start.elapsed();
            for h in hs {
                h.join().unwrap();
            }
            d
        })
    });
    g.finish();
}

fn setup(c: &mut Criterion) {
    let mut g = c.benchmark_group("setup");
    g.throughput(Throughput::Elements(32));
    const POOL: u32 = 1 << 18;
    let frames: Vec<Vec<u8>> = (0..POOL).map(nth_udp4).collect();
    g.bench_function("new_udp_conns", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut ct = Conntrack::new(Config::default());
            let mut next = 0usize;
            for _ in 0..iters {
                if next + 32 > frames.len() {
                    // Fresh table (not timed) once the pool of distinct tuples is used up.
                    ct = Conntrack::new(Config::default());
                    next = 0;
                }
                let mut batch: Vec<CtPacket<'_>> = frames[next..next + 32]
                    .iter()
                    .map(|f| given_v4(f, 17))
                    .collect();
                let t = Instant::now();
                ct.execute(&mut batch, &commit(), NOW_NS);
                total += t.elapsed();
                next += 32;
            }
            total
        })
    });
    g.finish();
}

fn lookup_1m(c: &mut Criterion) {
    let mut g = c.benchmark_group("lookup_1m");
    g.throughput(Throughput::Elements(32));
    const N: u32 = 1_000_000;
    let ct = Conntrack::new(Config::default());
    let frames: Vec<Vec<u8>> = (0..N).map(nth_udp4).collect();
    for chunk in frames.chunks(32) {
        let mut b: Vec<CtPacket<'_>> = chunk.iter().map(|f| given_v4(f, 17)).collect();
        ct.execute(&mut b, &commit(), NOW_NS);
    }
    assert_eq!(ct.len(), N as usize);
    // A fixed pseudo-random order (xorshift) so that batches hit scattered entries.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let order: Vec<usize> = (0..(1 << 16))
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % u64::from(N)) as usize
        })
        .collect();
    let mut pos = 0usize;
    g.bench_function("udp_batch32_random", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                if pos + 32 > order.len() {
                    pos = 0;
                }
                let mut batch: Vec<CtPacket<'_>> = order[pos..pos + 32]
                    .iter()
                    .map(|&i| given_v4(&frames[i], 17))
                    .collect();
                pos += 32;
                // The packet bytes are in cache when a datapath hands them over: touch them
                // first so that only the tracker's own memory accesses are timed.
                let touched: u32 = batch
                    .iter()
                    .map(|p| u32::from(p.data[27]) + u32::from(p.data[35]))
                    .sum();
                black_box(touched);
                let t = Instant::now();
                ct.execute(&mut batch, &CtOpts::default(), NOW_NS);
                total += t.elapsed();
            }
            total
        })
    });
    g.finish();
}

fn l4_type(c: &mut Criterion) {
    let mut g = c.benchmark_group("l4_type");
    g.throughput(Throughput::Elements(32));
    let ct = Conntrack::new(Config::default());
    let v4: Vec<Vec<u8>> = (0..32)
        .map(|i| udp4([10, 1, 1, 1], [10, 1, 1, 2], 1, 100 + i))
        .collect();
    let v6: Vec<Vec<u8>> = (0..32).map(|i| udp6_hbh(1, 100 + i)).collect();
    for (name, frames) in [("v4", &v4), ("v6_ext", &v6)] {
        let mut batch: Vec<CtPacket<'_>> = frames.iter().map(|f| given(f)).collect();
        ct.execute(&mut batch, &commit(), NOW_NS);
        g.bench_function(BenchmarkId::new("given", name), |b| {
            b.iter(|| ct.execute(black_box(&mut batch), &CtOpts::default(), NOW_NS))
        });
        g.bench_function(BenchmarkId::new("derived", name), |b| {
            b.iter(|| {
                for (p, f) in batch.iter_mut().zip(frames.iter()) {
                    let md = p.md;
                    *p = CtPacket::derive(black_box(f));
                    p.md = md;
                }
                ct.execute(black_box(&mut batch), &CtOpts::default(), NOW_NS)
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = existing, setup, lookup_1m, l4_type
}
criterion_main!(benches);
