//! Expiry at exact deadlines, the sweep, dumps (format, chunking), stats text, flushes,
//! concurrency.

mod common;
use common::*;
use conntrack::{Config, ConnKey, CtOpts, DumpCursor, FlushFilter, format_ct_stats};
use std::net::Ipv4Addr;
use std::sync::Arc;

#[test]
fn entries_expire_exactly_at_their_deadline() {
    let mut h = H::new();
    h.commit(&udp_ab());
    h.advance_ns(60 * conntrack::NS_PER_S - 1);
    assert_eq!(
        h.lookup(&udp_ba()),
        TRK | EST | RPL,
        "alive 1 ns before the deadline"
    );
    // That reply refreshed it to 30 s (udp_multiple).
    h.advance_ns(30 * conntrack::NS_PER_S - 1);
    assert_eq!(h.dump(None, false).len(), 1);
    h.advance_ns(1);
    assert_eq!(h.dump(None, false).len(), 0, "dead at the deadline");
    assert_eq!(h.lookup(&udp_ba()), TRK | NEW);
    // Still counted until swept.
    assert_eq!(h.ct.len(), 1);
    let r = h.ct.sweep(h.now_ns, usize::MAX);
    assert_eq!((r.expired, h.ct.len()), (1, 0));
    assert_eq!(h.ct.stats().expired, 1);
}

/// Seed review: an expired entry never hides a live one for the same key, and a thread that
/// holds an entry is never left with freed memory (entries are reference counted).
#[test]
fn expired_entry_never_hides_live_entry_in_same_chain() {
    let mut h = H::with(Config {
        n_shards: 1,
        ..Config::default()
    });
    // Fill one shard with many connections so that chains are long.
    for p in 1..=500u16 {
        h.commit(&udp4(A, B, p, 7, b""));
    }
    h.advance_s(60);
    // All dead, none swept. A new connection with a dead one's key must be found as live.
    assert_eq!(h.commit(&udp4(A, B, 250, 7, b"")), TRK | NEW);
    assert_eq!(h.lookup(&udp4(B, A, 7, 250, b"")), TRK | EST | RPL);
    assert_eq!(
        h.ct.len(),
        500,
        "the dead entry was replaced, not duplicated"
    );
    let r = h.ct.sweep(h.now_ns, usize::MAX);
    assert_eq!(r.expired, 499);
    assert_eq!(h.lookup(&udp4(A, B, 250, 7, b"")), TRK | EST);
    assert_eq!(h.dump(None, false).len(), 1);
}

#[test]
fn sweep_is_incremental_and_bounded() {
    let mut h = H::with(Config {
        n_shards: 64,
        ..Config::default()
    });
    for p in 1..=2000u16 {
        h.commit(&udp4(A, B, p, 9, b""));
    }
    h.advance_s(61);
    let mut total = 0;
    let mut calls = 0;
    loop {
        let r = h.ct.sweep(h.now_ns, 100);
        // At most the budget plus one shard (~2000/64 entries) per call.
        assert!(r.examined <= 100 + 200, "{r:?}");
        total += r.expired;
        calls += 1;
        if r.wrapped {
            break;
        }
    }
    assert!(calls > 1);
    assert_eq!(total, 2000);
    assert_eq!(h.ct.len(), 0);
    assert_eq!(h.ct.zone_count(0), 0);
}

#[test]
fn sweep_keeps_live_entries() {
    let mut h = H::new();
    h.commit(&udp_ab());
    h.commit(&udp_ba());
    h.advance_s(29);
    h.commit(&udp4(A, B, 5, 5, b""));
    h.advance_s(1);
    let r = h.ct.sweep(h.now_ns, usize::MAX);
    assert_eq!(r.expired, 1);
    assert_eq!(h.ct.len(), 1);
    assert_eq!(h.lookup(&udp4(A, B, 5, 5, b"")), TRK | NEW);
}

#[test]
fn dump_format_matches_ovs() {
    let h = H::new();
    // The example of the OVS documentation: TCP in zone 1 with mark 1.
    let opts = CtOpts {
        set_mark: Some((1, u32::MAX)),
        ..commit(1)
    };
    h.run(&Tcp::new("S", 100, 0).build(), opts);
    h.run(&Tcp::reply("SA", 300, 101).build(), commit(1));
    h.run(&Tcp::new("A", 101, 301).build(), commit(1));
    h.commit(&icmp4_echo(A, B, 1, true));
    assert_eq!(
        h.dump(None, false),
        vec![
            "icmp,orig=(src=10.1.1.1,dst=10.1.1.2,id=1,type=8,code=0),reply=(src=10.1.1.2,dst=10.1.1.1,id=1,type=0,code=0)",
            "tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=1234,dport=80),reply=(src=10.1.1.2,dst=10.1.1.1,sport=80,dport=1234),zone=1,mark=1,protoinfo=(state=ESTABLISHED)",
        ]
    );
    assert_eq!(
        h.dump(Some(1), true),
        vec![
            "tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=1234,dport=80),reply=(src=10.1.1.2,dst=10.1.1.1,sport=80,dport=1234),zone=1,timeout=86400,mark=1,protoinfo=(state=ESTABLISHED)",
        ]
    );
}

#[test]
fn ct_stats_show_format() {
    let h = H::new();
    h.commit(&Tcp::new("S", 100, 0).build());
    h.commit(&udp_ab());
    h.commit(&icmp4_echo(A, B, 1, true));
    h.commit(&ip4_proto(A, B, 47, b""));
    let e = h.ct.dump_all(None, h.now_ns);
    assert_eq!(
        format_ct_stats(&e, false),
        "Connections Stats:\n    Total: 4\n  TCP: 1\n  UDP: 1\n  ICMP: 1\n  Other: 1\n"
    );
    assert_eq!(
        format_ct_stats(&e, true),
        "Connections Stats:\n    Total: 4\n  TCP: 1\n    Conn per TCP states:\n\t  [SYN_SENT]=1\n  UDP: 1\n  ICMP: 1\n  Other: 1\n"
    );
}

#[test]
fn chunked_dump_returns_every_entry_once() {
    let h = H::with(Config {
        n_shards: 16,
        ..Config::default()
    });
    for p in 1..=300u16 {
        h.run(&udp4(A, B, p, 1, b""), commit(p % 3));
    }
    let mut seen = Vec::new();
    let mut cur = Some(DumpCursor::START);
    let mut chunks = 0;
    while let Some(c) = cur {
        let (chunk, next) = h.ct.dump(Some(1), c, 10, h.now_ns);
        seen.extend(chunk.into_iter().map(|e| e.orig.src_port()));
        cur = next;
        chunks += 1;
    }
    seen.sort();
    let want: Vec<u16> = (1..=300).filter(|p| p % 3 == 1).collect();
    assert_eq!(seen, want);
    assert!(chunks > 2);
}

#[test]
fn flush_all_by_zone_and_by_tuple() {
    let h = H::new();
    for p in 1..=10u16 {
        h.run(&udp4(A, B, p, 1, b""), commit(p % 2));
    }
    let k = ConnKey::ipv4(
        Ipv4Addr::new(10, 1, 1, 1),
        Ipv4Addr::new(10, 1, 1, 2),
        17,
        3,
        1,
    )
    .with_zone(1);
    assert_eq!(h.ct.flush(FlushFilter::Tuple(k)), 1);
    assert_eq!(h.ct.flush(FlushFilter::Tuple(k)), 0);
    // The reply tuple names the connection too.
    let k5 = ConnKey::ipv4(
        Ipv4Addr::new(10, 1, 1, 2),
        Ipv4Addr::new(10, 1, 1, 1),
        17,
        1,
        5,
    )
    .with_zone(1);
    assert_eq!(h.ct.flush(FlushFilter::Tuple(k5)), 1);
    assert_eq!(h.ct.flush(FlushFilter::Zone(1)), 3);
    assert_eq!(h.ct.zone_count(1), 0);
    assert_eq!(h.ct.zone_count(0), 5);
    assert_eq!(h.ct.flush(FlushFilter::All), 5);
    assert!(h.ct.is_empty());
    assert_eq!(h.lookup(&udp4(A, B, 2, 1, b"")), TRK | NEW);
}

#[test]
fn threads_share_the_tracker_while_sweeping_and_dumping() {
    let ct = Arc::new(conntrack::Conntrack::new(Config {
        n_shards: 8,
        ..Config::default()
    }));
    let t0 = 1_000 * conntrack::NS_PER_S;
    let mut handles = Vec::new();
    for t in 0..3u16 {
        let ct = ct.clone();
        handles.push(std::thread::spawn(move || {
            for round in 0..200u64 {
                let now = t0 + round * conntrack::NS_PER_S;
                for p in 1..=32u16 {
                    let f = udp4(A, B, p + 100 * t, 1, b"");
                    let r = udp4(B, A, 1, p + 100 * t, b"");
                    for fr in [&f, &r] {
                        let mut b = [conntrack::CtPacket::derive(fr)];
                        ct.execute(&mut b, &commit(0), now);
                        assert_eq!(b[0].md.state.0 & (TRK | INV), TRK);
                    }
                }
                if t == 0 {
                    ct.sweep(now + 100 * conntrack::NS_PER_S, 50);
                    let _ = ct.dump(None, DumpCursor::START, 10, now);
                }
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    // Every connection is counted exactly once.
    let n = ct.dump_all(None, 0).len();
    assert_eq!(ct.len(), n);
    assert_eq!(ct.zone_count(0) as usize, n);
}

#[test]
fn batched_lookups_do_not_deadlock_with_writers() {
    let ct = Arc::new(conntrack::Conntrack::new(Config {
        n_shards: 4,
        ..Config::default()
    }));
    let t0 = 1_000 * conntrack::NS_PER_S;
    let mut handles = Vec::new();
    for t in 0..4u16 {
        let ct = ct.clone();
        handles.push(std::thread::spawn(move || {
            let frames: Vec<Vec<u8>> = (0..32u16)
                .map(|p| {
                    if p % 2 == 0 {
                        udp4(A, B, p + 1 + 40 * t, 1, b"")
                    } else {
                        udp4(B, A, 1, p + 40 * t, b"")
                    }
                })
                .collect();
            for round in 0..300u64 {
                let mut b: Vec<_> = frames
                    .iter()
                    .map(|f| conntrack::CtPacket::derive(f))
                    .collect();
                // Reverse order on odd threads so that lock acquisition orders would differ.
                if t % 2 == 1 {
                    b.reverse();
                }
                ct.execute(&mut b, &commit(0), t0 + round * 1_000_000);
                if t == 0 && round % 10 == 0 {
                    ct.flush(FlushFilter::All);
                }
                if t == 1 {
                    ct.sweep(t0 + 1_000 * conntrack::NS_PER_S, 8);
                }
            }
        }));
    }
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(ct.len(), ct.dump_all(None, 0).len());
}
