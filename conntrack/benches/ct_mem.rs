//! Bytes of memory per connection, and whether they are given back after expiry.
//!
//! `cargo bench -p conntrack --bench ct_mem -- [N]` (default 1,000,000): resident set size
//! (/proc/self/statm) after creating the tracker, after committing N distinct UDP connections,
//! and after they all expired and a full sweep ran. RSS is what the machine pays, allocator
//! overhead and hash-table slack included. (A counting global allocator would need `unsafe`,
//! which this crate forbids.)
//!
//! The bench runs on mimalloc, the global allocator of the `rvs` binary (`switch/src/main.rs`),
//! so the bytes per connection are those the switch pays.

mod common;

/// The `rvs` binary's allocator, so the figures are the switch's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use common::*;
use conntrack::{Config, Conntrack, CtOpts, CtPacket, L3, NS_PER_S};

fn main() {
    let n: u32 = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let now = 1_000 * NS_PER_S;
    // 32 reusable frames patched in place, so that the measurement sees no packet allocations.
    let mut frames: Vec<Vec<u8>> = (0..32).map(nth_udp4).collect();
    let frames = &mut frames;
    let ct = Conntrack::new(Config::default());
    let rss0 = rss_bytes();
    fill(&ct, frames, n, now);
    assert_eq!(
        ct.len(),
        n as usize,
        "all connections distinct and committed"
    );
    let rss1 = rss_bytes();
    let later = now + 61 * NS_PER_S;
    loop {
        if ct.sweep(later, usize::MAX).wrapped && ct.is_empty() {
            break;
        }
    }
    let rss2 = rss_bytes();
    // glibc (when the bench is built without the global allocator above) returns the free
    // top of its heap to the kernel only when a chunk of >= 64 KiB is freed
    // (FASTBIN_CONSOLIDATION_THRESHOLD), so free one such block to let it trim; mimalloc
    // gives freed pages back on its own schedule. Either way RSS only shows what the
    // allocator returned to the kernel; the refill below shows the freed memory is reused.
    drop(std::hint::black_box(vec![0u8; 96 * 1024]));
    let rss3 = rss_bytes();
    // Refill: freed memory is reused, not leaked.
    fill(&ct, frames, n, later);
    let rss4 = rss_bytes();
    let per = (rss1 - rss0) as f64 / f64::from(n);
    let mb = |b: u64| b.saturating_sub(rss0) as f64 / 1e6;
    println!("connections: {n}");
    println!("bytes per connection (RSS delta): {per:.0}");
    println!(
        "RSS above the empty tracker: full {:.1} MB, after expiry + sweep {:.1} MB, after a 96 KiB free {:.1} MB, refilled with {n} new connections {:.1} MB",
        mb(rss1),
        mb(rss2),
        mb(rss3),
        mb(rss4)
    );
}

fn fill(ct: &Conntrack, frames: &mut [Vec<u8>], n: u32, now: u64) {
    let opts = CtOpts {
        commit: true,
        ..CtOpts::default()
    };
    let mut i = 0u32;
    while i < n {
        let k = (n - i).min(32);
        for (j, f) in frames.iter_mut().enumerate().take(k as usize) {
            let m = i + j as u32;
            f[27] = (m >> 23) as u8;
            f[28] = (m >> 15) as u8;
            f[34..36].copy_from_slice(&(1024 + (m & 0x7fff) as u16).to_be_bytes());
        }
        let mut batch: Vec<CtPacket<'_>> = frames[..k as usize]
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
        i += k;
    }
}
