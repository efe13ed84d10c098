//! The shape of OVS's `ovstest test-conntrack benchmark N_THREADS N_PKTS BATCH [CHANGE_CONN]`,
//! for side-by-side runs (`bench/ctbench.sh`):
//!
//! ```text
//! cargo bench -p conntrack --bench ovs_shape -- 1 10000000 32 [0|1] [derive]
//! ```
//!
//! Each thread pushes the same prebuilt batch of `BATCH` 42-byte UDP frames (10.1.1.1:1+tid →
//! 10.1.1.2:2, checksum 0 — the bytes OVS's benchmark uses) through `execute` with `commit`,
//! `N_PKTS` packets per thread, all with one `now`. With `CHANGE_CONN=1` packet `i` of the batch
//! goes to port `2+i` (BATCH connections per thread). Prints `conntrack: <ms> ms` like OVS.
//! With `derive` the L3/L4 types are derived from the bytes per packet instead of given.
//!
//! `... -- setup N` instead commits N distinct UDP connections (batches of 32, the same frame
//! shape with varying source address and port) and prints `setup: N conns <ms> ms <B> bytes/conn`
//! (resident-set growth per connection), the counterpart of the OVS harness in
//! `bench/ctbench.sh`.
//!
//! The bench runs on mimalloc, the global allocator of the `rvs` binary (`switch/src/main.rs`),
//! so the time and the bytes per connection are those the switch pays (mimalloc rounds an
//! allocation up to its size class: 128, 160, ... bytes; glibc to a multiple of 16 plus 8).

mod common;

/// The `rvs` binary's allocator, so the figures are the switch's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::sync::{Arc, Barrier};
use std::time::Instant;

use conntrack::{Config, Conntrack, CtOpts, CtPacket, L3};

/// OVS's `test-conntrack.c` frame: Ethernet, IPv4 10.1.1.1 → 10.1.1.2, UDP 1 → 2, no payload.
const FRAME_HEX: &str = "50540000000a50540000000908004500001c0000000000\
11a4cd0a0101010a0101020001000200080000";

fn frame(tid: u16, i: u16, change: bool) -> Vec<u8> {
    let mut f: Vec<u8> = (0..FRAME_HEX.len() / 2)
        .map(|i| u8::from_str_radix(&FRAME_HEX[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let sp = u16::from_be_bytes([f[34], f[35]]) + tid;
    f[34..36].copy_from_slice(&sp.to_be_bytes());
    if change {
        let dp = u16::from_be_bytes([f[36], f[37]]) + i;
        f[36..38].copy_from_slice(&dp.to_be_bytes());
    }
    f
}

fn setup(n: u32) {
    let ct = Conntrack::new(Config::default());
    let mut frames: Vec<Vec<u8>> = (0..32).map(|_| frame(0, 0, false)).collect();
    let opts = CtOpts {
        commit: true,
        ..CtOpts::default()
    };
    let now_ns = 1_000_000_000_000u64;
    let rss0 = common::rss_bytes();
    let start = Instant::now();
    let cpu0 = common::thread_cpu_ns();
    let mut i = 0u32;
    while i < n {
        let k = (n - i).min(32) as usize;
        for (j, f) in frames.iter_mut().enumerate().take(k) {
            let m = i + j as u32;
            // Source 10.x.y.1 and port vary; the IP checksum is recomputed as a sender would.
            f[27] = (m >> 23) as u8;
            f[28] = (m >> 15) as u8;
            f[24..26].copy_from_slice(&[0, 0]);
            let c = conntrack::internet_checksum(&f[14..34]);
            f[24..26].copy_from_slice(&c.to_be_bytes());
            f[34..36].copy_from_slice(&(1024 + (m & 0x7fff) as u16).to_be_bytes());
        }
        let mut pkts: Vec<CtPacket<'_>> = frames[..k]
            .iter()
            .map(|f| CtPacket {
                data: f,
                l3: L3::Ipv4,
                l4_proto: 17,
                l3_ofs: 14,
                l4_ofs: 34,
                hash: 0,
                checksum_ok: false,
                md: Default::default(),
                rewrite: Default::default(),
            })
            .collect();
        ct.execute(&mut pkts, &opts, now_ns);
        i += k as u32;
    }
    let ms = start.elapsed().as_secs_f64() * 1e3;
    let cpu_ms = (common::thread_cpu_ns() - cpu0) as f64 / 1e6;
    let per = (common::rss_bytes() - rss0) as f64 / f64::from(n.max(1));
    assert_eq!(ct.len(), n as usize);
    println!("setup: {n} conns {ms:.0} ms {per:.0} bytes/conn {cpu_ms:.0} cpu-ms");
}

/// Commits `n` connections, then looks up 3.2M random ones of them (batches of 32, no commit).
fn lookup(n: u32) {
    let ct = Conntrack::new(Config::default());
    let now_ns = 1_000_000_000_000u64;
    let frames: Vec<Vec<u8>> = (0..n).map(common::nth_udp4).collect();
    fn pkt(f: &[u8]) -> CtPacket<'_> {
        common::given_v4(f, 17)
    }
    for c in frames.chunks(32) {
        let mut b: Vec<CtPacket<'_>> = c.iter().map(|f| pkt(f)).collect();
        ct.execute(
            &mut b,
            &CtOpts {
                commit: true,
                ..CtOpts::default()
            },
            now_ns,
        );
    }
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut total = std::time::Duration::ZERO;
    let mut est = 0usize;
    let rounds = 100_000;
    for _ in 0..rounds {
        let mut b: Vec<CtPacket<'_>> = (0..32)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                pkt(&frames[(x % u64::from(n)) as usize])
            })
            .collect();
        let touched: u32 = b.iter().map(|p| u32::from(p.data[27])).sum();
        std::hint::black_box(touched);
        let t = Instant::now();
        ct.execute(&mut b, &CtOpts::default(), now_ns);
        total += t.elapsed();
        est += b.iter().filter(|p| p.md.state.0 & 0x02 != 0).count();
    }
    let ns = total.as_secs_f64() * 1e9 / f64::from(rounds * 32);
    println!(
        "lookup: {n} conns, {} lookups, {ns:.0} ns per packet, {est} found established",
        rounds * 32
    );
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if args.first().is_some_and(|a| a == "lookup") {
        lookup(
            args.get(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(1_000_000),
        );
        return;
    }
    if args.first().is_some_and(|a| a == "setup") {
        setup(
            args.get(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(1_000_000),
        );
        return;
    }
    let n_threads: usize = args.first().and_then(|s| s.parse().ok()).unwrap_or(1);
    let n_pkts: usize = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let batch: usize = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(32)
        .clamp(1, 32);
    let change = args.get(3).is_some_and(|s| s == "1");
    let derive = args.iter().any(|s| s == "derive");

    let ct = Arc::new(Conntrack::new(Config::default()));
    let barrier = Arc::new(Barrier::new(n_threads + 1));
    let now_ns = 1_000_000_000_000u64;
    let opts = CtOpts {
        zone: 0,
        commit: true,
        ..CtOpts::default()
    };
    let mut handles = Vec::new();
    for tid in 0..n_threads {
        let ct = ct.clone();
        let barrier = barrier.clone();
        handles.push(std::thread::spawn(move || {
            let frames: Vec<Vec<u8>> = (0..batch)
                .map(|i| frame(tid as u16, i as u16, change))
                .collect();
            let mut pkts: Vec<CtPacket<'_>> = frames
                .iter()
                .map(|f| CtPacket {
                    data: f,
                    l3: L3::Ipv4,
                    l4_proto: 17,
                    l3_ofs: 14,
                    l4_ofs: 34,
                    hash: 0,
                    checksum_ok: false,
                    md: Default::default(),
                    rewrite: Default::default(),
                })
                .collect();
            barrier.wait();
            let mut done = 0;
            while done < n_pkts {
                if derive {
                    for (p, f) in pkts.iter_mut().zip(&frames) {
                        let md = p.md;
                        *p = CtPacket::derive(f);
                        p.md = md;
                    }
                }
                ct.execute(&mut pkts, &opts, now_ns);
                done += batch;
            }
            barrier.wait();
            std::hint::black_box(pkts[0].md);
        }));
    }
    barrier.wait();
    let start = Instant::now();
    barrier.wait();
    let ms = start.elapsed().as_secs_f64() * 1e3;
    for h in handles {
        h.join().unwrap();
    }
    println!("conntrack:  {:5.0} ms", ms);
    let mpps = (n_pkts * n_threads) as f64 / ms / 1e3;
    eprintln!(
        "rvs conntrack: {n_threads} thread(s), {n_pkts} pkts/thread, batch {batch}, change_conn {}, {}: {ms:.0} ms, {mpps:.2} Mpps",
        change as u8,
        if derive {
            "types derived"
        } else {
            "types given"
        }
    );
}
