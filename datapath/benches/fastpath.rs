//! Per-packet cost of the fast path, without I/O:
//! - `emc_hit`: extract + key hash + EMC hit + output (copy into a transmit
//!   queue buffer), per packet of a 32-packet burst, with the megaflow's stats
//!   updated once per burst as the pipeline does;
//! - `megaflow_hit/N`: extract + hash + classifier lookup with N masks where
//!   the matching mask is probed last (worst case, no reranking).

use std::hint::black_box;
use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use datapath::actions::DpAction;
use datapath::classifier::{Classifier, Megaflow};
use datapath::emc::Emc;
use datapath::extract::{PacketMeta, extract, extract_into};
use datapath::key::FlowKey;

const BURST: usize = 32;

fn udp_frames() -> Vec<Vec<u8>> {
    (0..BURST as u16)
        .map(|i| {
            let mut v = Vec::new();
            etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
                .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
                .udp(10000 + i, 9)
                .write(&mut v, &[0; 18])
                .unwrap();
            v
        })
        .collect()
}

fn base_mask() -> FlowKey {
    let mut m = FlowKey::default();
    m.set_recirc_id(u32::MAX);
    m.set_in_port(u32::MAX);
    m.set_eth_type(u16::MAX);
    m
}

fn emc_hit(c: &mut Criterion) {
    let frames = udp_frames();
    let meta = PacketMeta {
        in_port: 1,
        ..Default::default()
    };
    let mut cls = Classifier::new();
    let flow = cls
        .insert(
            &extract(&meta, &frames[0]),
            &base_mask(),
            std::iter::once(DpAction::Output(2)).collect(),
        )
        .unwrap();
    let mut emc = Emc::new();
    for f in &frames {
        let k = extract(&meta, f);
        emc.insert(&k, k.hash64(), &flow);
    }
    let mut tx: Vec<Vec<u8>> = (0..BURST).map(|_| Vec::with_capacity(2048)).collect();
    let mut g = c.benchmark_group("fastpath");
    g.throughput(Throughput::Elements(BURST as u64));
    g.bench_function("emc_hit_output", |b| {
        let mut keys = [FlowKey::default(); BURST];
        b.iter(|| {
            let now = 12_345u64;
            // As the pipeline does: packets are grouped by megaflow and each
            // group's stats are updated once per burst (one group here).
            let mut group: Option<&Arc<Megaflow>> = None;
            let (mut pkts, mut bytes, mut flags) = (0u64, 0u64, 0u16);
            for (i, f) in frames.iter().enumerate() {
                let k = &mut keys[i];
                extract_into(k, &meta, black_box(f));
                let h = k.hash64();
                let fl = emc.lookup(k, h).expect("hit");
                if !group.is_some_and(|g| Arc::ptr_eq(g, fl)) {
                    if let Some(g) = group {
                        g.hit(pkts, bytes, now, flags);
                    }
                    (group, pkts, bytes, flags) = (Some(fl), 0, 0, 0);
                }
                pkts += 1;
                bytes += f.len() as u64;
                flags |= k.tcp_flags();
                for a in fl.actions.iter() {
                    if let DpAction::Output(_) = a {
                        let b = &mut tx[i];
                        b.clear();
                        b.extend_from_slice(f);
                    }
                }
            }
            if let Some(g) = group {
                g.hit(pkts, bytes, now, flags);
            }
            black_box(&tx);
        })
    });
    g.finish();
}

/// N distinct masks: nw_src prefixes /1../32 crossed with tp_dst on/off and nw_proto on/off.
fn nth_mask(i: usize) -> FlowKey {
    let mut m = base_mask();
    let plen = (i % 32) as u32 + 1;
    m.set_nw_src(if plen == 32 {
        u32::MAX
    } else {
        !(u32::MAX >> plen)
    });
    if (i / 32) % 2 == 1 {
        m.set_tp_dst(u16::MAX);
    }
    if (i / 64) % 2 == 1 {
        m.set_nw_proto(0xff);
    }
    m
}

fn megaflow_hit(c: &mut Criterion) {
    let frames = udp_frames();
    let meta = PacketMeta {
        in_port: 1,
        ..Default::default()
    };
    let mut g = c.benchmark_group("megaflow_hit");
    g.throughput(Throughput::Elements(BURST as u64));
    for n in [1usize, 10, 100] {
        let mut cls = Classifier::new();
        // Decoys: one per other mask, on in_ports 100.., so they never match the packets.
        let mut decoy = extract(&meta, &frames[0]);
        for i in 0..n - 1 {
            decoy.set_in_port(100 + i as u32);
            cls.insert(
                &decoy,
                &nth_mask(i),
                std::iter::once(DpAction::Drop).collect(),
            )
            .unwrap();
        }
        cls.insert(
            &extract(&meta, &frames[0]),
            &nth_mask(n - 1),
            std::iter::once(DpAction::Output(2)).collect(),
        )
        .unwrap();
        assert_eq!(cls.n_masks(), n);
        g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| {
                for f in &frames {
                    let k = extract(&meta, black_box(f));
                    black_box(cls.lookup(&k).expect("hit"));
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, emc_hit, megaflow_hit);
criterion_main!(benches);
