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

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
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
