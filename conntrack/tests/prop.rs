//! proptest: arbitrary packet sequences never panic and never leave entries past their
//! deadline after a full sweep.

mod common;
use common::*;
use conntrack::{CtOpts, CtPacket, L3, NS_PER_S};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    Tcp {
        fwd: bool,
        flags: u8,
        seq: u32,
        ack: u32,
        len: u8,
        port: u8,
    },
    Udp {
        fwd: bool,
        port: u8,
    },
    Icmp {
        fwd: bool,
        id: u8,
    },
    Mutated {
        base: u8,
        at: u16,
        val: u8,
    },
    Raw(Vec<u8>, u8, u16, u16),
    Advance(u32),
    Sweep(u16),
}

const FLAGS: [&str; 10] = ["S", "SA", "A", "PA", "FA", "R", "RA", "F", "SF", ""];

fn frame(step: &Step) -> Option<Vec<u8>> {
    Some(match step {
        Step::Tcp {
            fwd,
            flags,
            seq,
            ack,
            len,
            port,
        } => {
            let f = FLAGS[*flags as usize % FLAGS.len()];
            let mut t = if *fwd {
                Tcp::new(f, *seq, *ack)
            } else {
                Tcp::reply(f, *seq, *ack)
            };
            if *fwd {
                t.sport = 1000 + u16::from(*port % 4);
            } else {
                t.dport = 1000 + u16::from(*port % 4);
            }
            t.len(usize::from(*len)).build()
        }
        Step::Udp { fwd, port } => {
            let p = u16::from(*port % 8) + 1;
            if *fwd {
                udp4(A, B, p, 53, b"q")
            } else {
                udp4(B, A, 53, p, b"r")
            }
        }
        Step::Icmp { fwd, id } => icmp4_echo(
            if *fwd { A } else { B },
            if *fwd { B } else { A },
            u16::from(*id % 4),
            *fwd,
        ),
        Step::Mutated { base, at, val } => {
            let mut f = match base % 4 {
                0 => Tcp::new("PA", 1, 1).len(20).build(),
                1 => udp6(A6, B6, 1, 2, b"hello"),
                2 => icmp4_error(B, A, 3, 3, &udp_ab()),
                _ => icmp6_error(B6, A6, 1, 0, &udp6(A6, B6, 1, 2, b"x")),
            };
            let i = usize::from(*at) % f.len();
            f[i] = *val;
            f
        }
        _ => return None,
    })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (any::<bool>(), any::<u8>(), 0u32..2000, 0u32..2000, 0u8..40, any::<u8>())
            .prop_map(|(fwd, flags, seq, ack, len, port)| Step::Tcp { fwd, flags, seq, ack, len, port }),
        2 => (any::<bool>(), any::<u8>()).prop_map(|(fwd, port)| Step::Udp { fwd, port }),
        1 => (any::<bool>(), any::<u8>()).prop_map(|(fwd, id)| Step::Icmp { fwd, id }),
        2 => (any::<u8>(), any::<u16>(), any::<u8>()).prop_map(|(base, at, val)| Step::Mutated { base, at, val }),
        1 => (proptest::collection::vec(any::<u8>(), 0..120), any::<u8>(), any::<u16>(), any::<u16>())
            .prop_map(|(b, p, l3, l4)| Step::Raw(b, p, l3, l4)),
        1 => (0u32..100_000).prop_map(Step::Advance),
        1 => any::<u16>().prop_map(Step::Sweep),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_packets_never_panic_and_never_outlive_deadlines(
        steps in proptest::collection::vec(step(), 1..60),
        zone in 0u16..3,
        force in any::<bool>(),
    ) {
        let mut h = H::with(conntrack::Config { n_shards: 4, ..conntrack::Config::default() });
        let opts = CtOpts { zone, commit: true, force, set_mark: Some((1, 1)), set_label: None, ..Default::default() };
        for s in &steps {
            match s {
                Step::Advance(ms) => h.advance_ns(u64::from(*ms) * 1_000_000),
                Step::Sweep(b) => { h.ct.sweep(h.now_ns, usize::from(*b)); }
                Step::Raw(bytes, proto, l3, l4) => {
                    for l3t in [L3::Ipv4, L3::Ipv6] {
                        let mut p = CtPacket {
                            data: bytes, l3: l3t, l4_proto: *proto, l3_ofs: *l3 % 64, l4_ofs: *l4 % 128,
                            hash: 0, checksum_ok: *proto % 2 == 0, md: Default::default(), rewrite: Default::default(),
                        };
                        p.md.zone = zone;
                        let mut b = [p];
                        h.ct.execute(&mut b, &opts, h.now_ns);
                        prop_assert!(b[0].md.state.0 & TRK != 0);
                    }
                }
                _ => {
                    let f = frame(s).unwrap();
                    let md = h.run(&f, opts);
                    prop_assert!(md.state.0 & TRK != 0);
                    // +inv never comes with new/est/rel/rpl.
                    if md.state.0 & INV != 0 {
                        prop_assert_eq!(md.state.0, TRK | INV);
                    }
                }
            }
        }
        // Every entry counted is in the table.
        prop_assert_eq!(h.ct.len(), h.ct.dump_all(None, 0).len());
        // A full sweep leaves nothing past its deadline.
        loop {
            if h.ct.sweep(h.now_ns, usize::MAX).wrapped { break; }
        }
        prop_assert_eq!(h.ct.len(), h.ct.dump_all(None, h.now_ns).len());
        // And once every timeout has passed, nothing at all.
        h.advance_s(24 * 3600 + 1);
        loop {
            if h.ct.sweep(h.now_ns, usize::MAX).wrapped { break; }
        }
        prop_assert_eq!(h.ct.len(), 0);
        prop_assert_eq!(h.ct.zone_count(zone), 0);
        let _ = NS_PER_S;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// The batched lookup gives exactly the results of processing the packets one at a time.
    #[test]
    fn batches_give_the_same_results_as_single_packets(
        steps in proptest::collection::vec(step(), 1..80),
        cuts in proptest::collection::vec(1usize..40, 1..10),
        force in any::<bool>(),
    ) {
        let frames: Vec<Vec<u8>> = steps.iter().filter_map(frame).collect();
        let cfg = || conntrack::Config { n_shards: 4, hash_seed: 7, ..conntrack::Config::default() };
        let (a, b) = (conntrack::Conntrack::new(cfg()), conntrack::Conntrack::new(cfg()));
        let opts = CtOpts { zone: 1, commit: true, force, set_mark: Some((3, 3)), set_label: None, ..Default::default() };
        let now = 1_000 * NS_PER_S;
        let single: Vec<_> = frames.iter().map(|f| {
            let mut p = [CtPacket::derive(f)];
            a.execute(&mut p, &opts, now);
            p[0].md
        }).collect();
        let mut batched = Vec::new();
        let mut rest: &[Vec<u8>] = &frames;
        let mut ci = 0;
        while !rest.is_empty() {
            let k = cuts[ci % cuts.len()].min(rest.len());
            ci += 1;
            let mut ps: Vec<CtPacket<'_>> = rest[..k].iter().map(|f| CtPacket::derive(f)).collect();
            b.execute(&mut ps, &opts, now);
            batched.extend(ps.iter().map(|p| p.md));
            rest = &rest[k..];
        }
        prop_assert_eq!(single, batched);
        let dump = |ct: &conntrack::Conntrack| {
            let mut v: Vec<String> = ct.dump_all(None, now).iter().map(|e| e.format(true)).collect();
            v.sort();
            v
        };
        prop_assert_eq!(dump(&a), dump(&b));
    }
}
