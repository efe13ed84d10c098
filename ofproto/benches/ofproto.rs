//! Translation cost per upcall (firewall, 10,000-flow ACL) and flow-mod
//! install rate (100,000 flows: ADD and DELETE, one by one and as a bundle).

use std::time::Instant;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use datapath::key::FlowKey;
use ofp_codec::Match;
use ofp_codec::msg::flow_mod::FlowMod;
use ofp_codec::text::{Command, parse_flow_mod};
use ofproto::{BundleMsg, Config, Ofproto, Port, XlateOptions};

const FIREWALL: &str = "
table=0,priority=1,actions=drop
table=0,priority=10,arp,actions=NORMAL
table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1)
table=1,priority=1,actions=drop
table=1,priority=10,in_port=1,ip,ct_state=+trk+new,actions=ct(commit),output:2
table=1,priority=10,in_port=1,ip,ct_state=+trk+est,actions=output:2
table=1,priority=10,in_port=2,ip,ct_state=+trk+est,actions=output:1
";

fn bridge() -> Ofproto {
    let mut of = Ofproto::new(Config::default());
    for p in 1..=4 {
        of.port_add(Port::new(p, format!("p{p}")));
    }
    of
}

fn fm(cmd: Command, line: &str) -> FlowMod {
    parse_flow_mod(line, cmd).unwrap().to_flow_mod()
}

fn key(desc: &str) -> FlowKey {
    ofproto::rule::RuleMatch::from_match(&Match::parse(desc).unwrap())
        .value
        .key()
}

/// The ACL: 10,000 rules over three mask shapes (host+port, /24+port, host).
fn acl_lines() -> Vec<String> {
    (0..10_000u32)
        .map(|i| {
            let (a, b) = (i / 250, i % 250);
            match i % 3 {
                0 => format!(
                    "priority={},tcp,nw_src=10.{a}.{b}.1,tp_dst={},actions=output:2",
                    100 + i % 50,
                    1000 + i % 100
                ),
                1 => format!(
                    "priority={},tcp,nw_src=10.{a}.{b}.0/24,tp_dst={},actions=drop",
                    50 + i % 50,
                    2000 + i % 100
                ),
                _ => format!(
                    "priority={},udp,nw_dst=172.16.{a}.{b},actions=output:3",
                    10 + i % 50
                ),
            }
        })
        .collect()
}

fn xlate_benches(c: &mut Criterion) {
    let mut of = bridge();
    for l in FIREWALL.lines().filter(|l| !l.trim().is_empty()) {
        of.handle_flow_mod(&fm(Command::Add, l.trim()), 0).unwrap();
    }
    let opts = XlateOptions {
        now_ms: 0,
        side_effects: true,
        trace: false,
    };
    let k0 = key("in_port=1,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tp_src=1234,tp_dst=80");
    let _ = of.translate(&k0, opts);
    let mut k1 = key(
        "in_port=2,tcp,nw_src=10.0.0.2,nw_dst=10.0.0.1,tp_src=80,tp_dst=1234,ct_state=+trk+est",
    );
    k1.set_recirc_id(1);
    c.bench_function("xlate/firewall/recirc_id=0", |b| {
        b.iter(|| of.translate(&k0, opts))
    });
    c.bench_function("xlate/firewall/recirc+est", |b| {
        b.iter(|| of.translate(&k1, opts))
    });

    let mut acl = bridge();
    for l in acl_lines() {
        acl.handle_flow_mod(&fm(Command::Add, &l), 0).unwrap();
    }
    acl.handle_flow_mod(&fm(Command::Add, "priority=0,actions=output:4"), 0)
        .unwrap();
    let hit = key("in_port=1,tcp,nw_src=10.20.30.7,tp_dst=2030");
    let miss = key("in_port=1,tcp,nw_src=192.168.0.1,tp_dst=22");
    c.bench_function("xlate/acl10k/hit", |b| b.iter(|| acl.translate(&hit, opts)));
    c.bench_function("xlate/acl10k/miss", |b| {
        b.iter(|| acl.translate(&miss, opts))
    });
}

fn install_benches(c: &mut Criterion) {
    let lines: Vec<String> = (0..100_000u32)
        .map(|i| {
            format!(
                "priority=100,tcp,nw_src=10.{}.{}.{},tp_dst=80,actions=output:2",
                i >> 16,
                (i >> 8) & 255,
                i & 255
            )
        })
        .collect();
    let adds: Vec<FlowMod> = lines.iter().map(|l| fm(Command::Add, l)).collect();
    let dels: Vec<FlowMod> = lines
        .iter()
        .map(|l| {
            fm(
                Command::DeleteStrict,
                l.split(",actions=").next().unwrap_or(l),
            )
        })
        .collect();
    let mut g = c.benchmark_group("install100k");
    g.sample_size(10);
    g.bench_function("add", |b| {
        b.iter_batched(
            bridge,
            |mut of| {
                for f in &adds {
                    of.handle_flow_mod(f, 0).unwrap();
                }
                of
            },
            BatchSize::PerIteration,
        )
    });
    let loaded = || {
        let mut of = bridge();
        for f in &adds {
            of.handle_flow_mod(f, 0).unwrap();
        }
        of
    };
    g.bench_function("delete_strict", |b| {
        b.iter_batched(
            loaded,
            |mut of| {
                for f in &dels {
                    of.handle_flow_mod(f, 0).unwrap();
                }
                of
            },
            BatchSize::PerIteration,
        )
    });
    let add_bundle: Vec<BundleMsg> = adds.iter().cloned().map(BundleMsg::FlowMod).collect();
    let del_bundle: Vec<BundleMsg> = dels.iter().cloned().map(BundleMsg::FlowMod).collect();
    g.bench_function("add_bundle", |b| {
        b.iter_batched(
            bridge,
            |mut of| {
                of.bundle_commit(&add_bundle, 0).unwrap();
                of
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("delete_bundle", |b| {
        b.iter_batched(
            loaded,
            |mut of| {
                of.bundle_commit(&del_bundle, 0).unwrap();
                of
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
    // One-shot figures in flows per second, for the report.
    let t = Instant::now();
    let of = loaded();
    let add_s = t.elapsed().as_secs_f64();
    drop(of);
    let t = Instant::now();
    let mut of = bridge();
    of.bundle_commit(&add_bundle, 0).unwrap();
    let bundle_s = t.elapsed().as_secs_f64();
    // Through the handler: the bundle is built aside; translations wait only
    // for the publishing swap. Measure the longest translation meanwhile.
    let h = std::sync::Arc::new(ofproto::upcall::Handler::new(
        bridge(),
        std::sync::Arc::new(|| 0),
    ));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (h2, stop2) = (h.clone(), stop.clone());
    let k = key("in_port=1,tcp,nw_src=10.0.0.1,tp_dst=80");
    let prober = std::thread::spawn(move || {
        let mut worst = std::time::Duration::ZERO;
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            let t = Instant::now();
            let snap = h2.snapshot();
            let _ = snap.translate(&k, XlateOptions::default());
            worst = worst.max(t.elapsed());
        }
        worst
    });
    let t = Instant::now();
    h.bundle_commit(&add_bundle, 0).unwrap();
    let handler_s = t.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let worst = prober.join().unwrap();
    eprintln!(
        "install100k: add {:.0} flows/s, bundle add {:.0} flows/s; handler bundle {:.1} ms, longest translation meanwhile {:.3} ms",
        100_000.0 / add_s,
        100_000.0 / bundle_s,
        handler_s * 1000.0,
        worst.as_secs_f64() * 1000.0
    );
}

criterion_group!(benches, xlate_benches, install_benches);
criterion_main!(benches);
