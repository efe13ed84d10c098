//! Conntrack expiry as the datapath runs it: the forwarding threads sweep in small steps
//! between bursts and the housekeeping thread frees what they unlink. Nothing here calls
//! `sweep` or `free_unlinked` itself: connections past their deadline must disappear, and
//! their memory must be given back, while other connections keep carrying packets.
//!
//! One test per file: the allocator counts every thread's live bytes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use conntrack::{Config, Conntrack, TimeoutPolicy};
use datapath::actions::{CtAction, DpAction};
use datapath::{Datapath, DatapathConfig, Upcall, UpcallHandler, UpcallReply};
use etherparse::PacketBuilder;

/// The system allocator, counting live bytes.
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE_BYTES.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE_BYTES.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE_BYTES.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

struct DropAll;

impl UpcallHandler for DropAll {
    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply> {
        batch.iter().map(|_| UpcallReply::once([])).collect()
    }
}

fn udp(i: u32) -> Vec<u8> {
    let src = (0x0a00_0000 + (i >> 14)).to_be_bytes();
    let mut v = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, [10, 9, 9, 9], 64)
        .udp(1024 + (i & 0x3fff) as u16, 53)
        .write(&mut v, b"q")
        .unwrap();
    v
}

const COMMIT: DpAction = DpAction::Ct(CtAction {
    zone: 0,
    commit: true,
    force: false,
    mark: None,
    label: None,
    alg: None,
    nat: None,
});

#[test]
fn expired_connections_vanish_and_their_memory_is_freed_while_traffic_flows() {
    // UDP connections live 5 s without packets (time enough to create them all, even in a
    // debug build on a loaded machine); few shards, so that the tables are large
    // (and must shrink back).
    let policy = TimeoutPolicy {
        udp_first_s: 5,
        udp_single_s: 5,
        udp_multiple_s: 5,
        ..TimeoutPolicy::default()
    };
    let ct = Arc::new(Conntrack::new(Config {
        n_shards: 16,
        default_policy: policy,
        ..Config::default()
    }));
    let cfg = DatapathConfig {
        n_threads: 1,
        ..DatapathConfig::default()
    };
    let t0 = Instant::now();
    let (dp, _rx) = Datapath::new(cfg, Arc::new(DropAll), Some(ct.clone()));
    const LIVE: u32 = 64;
    const OLD: u32 = 50_000;
    let live: Vec<Vec<u8>> = (0..LIVE).map(udp).collect();
    let old: Vec<Vec<u8>> = (LIVE..LIVE + OLD).map(udp).collect();
    for f in &live {
        dp.execute(f, 1, &[COMMIT]);
    }
    let before = LIVE_BYTES.load(Ordering::Relaxed);
    for f in &old {
        dp.execute(f, 1, &[COMMIT]);
    }
    drop(old);
    assert!(t0.elapsed() < Duration::from_secs(5), "creation too slow");
    assert_eq!(ct.len(), (LIVE + OLD) as usize);
    let peak = LIVE_BYTES.load(Ordering::Relaxed) - before;
    assert!(peak > OLD as isize * 64, "{peak} bytes for {OLD} entries");
    // Traffic keeps the live connections alive (a packet each every few ms, well within
    // their 5 s) while the old ones pass their deadline and the datapath expires them.
    let start = Instant::now();
    let mut left = ct.len();
    let mut grown = peak;
    while start.elapsed() < Duration::from_secs(30) {
        for f in &live {
            dp.execute(f, 1, &[COMMIT]);
        }
        std::thread::sleep(Duration::from_millis(5));
        left = ct.len();
        grown = LIVE_BYTES.load(Ordering::Relaxed) - before;
        // Gone, and the memory back: the entries (but a bounded stock kept for reuse, at
        // most ~1024 entries) and the tables' room for them.
        if left == LIVE as usize && grown < peak / 10 {
            break;
        }
    }
    assert_eq!(left, LIVE as usize, "expired entries left after 30 s");
    assert!(
        grown < peak / 10,
        "{grown} bytes still held of the {peak} the expired entries took"
    );
    // The live connections survived: each is still the same (established) entry.
    assert_eq!(ct.dump_all(None, dp.now_ns()).len(), LIVE as usize);
}
