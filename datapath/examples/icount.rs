//! Runs the EMC-hit fast path (extract + hash + EMC hit + output copy, with
//! the megaflow's stats once per 32-packet burst) on N packets, for instruction counting:
//! `perf stat -e instructions:u target/release/examples/icount N` at two N's;
//! the difference divided by the difference of N is instructions per packet.

use std::hint::black_box;

use datapath::actions::DpAction;
use datapath::classifier::Classifier;
use datapath::emc::Emc;
use datapath::extract::{PacketMeta, extract, extract_into};
use datapath::key::FlowKey;

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let frames: Vec<Vec<u8>> = (0..32u16)
        .map(|i| {
            let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
            f.extend_from_slice(&[
                0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
            ]);
            f.extend_from_slice(&(10000 + i).to_be_bytes());
            f.extend_from_slice(&[0, 9, 0, 26, 0, 0]);
            f.extend_from_slice(&[0; 18]);
            f
        })
        .collect();
    let meta = PacketMeta {
        in_port: 1,
        ..Default::default()
    };
    let mut mask = FlowKey::default();
    mask.set_in_port(u32::MAX);
    mask.set_eth_type(u16::MAX);
    let mut cls = Classifier::new();
    let flow = cls
        .insert(
            &extract(&meta, &frames[0]),
            &mask,
            std::iter::once(DpAction::Output(2)).collect(),
        )
        .unwrap();
    let mut emc = Emc::new();
    for f in &frames {
        let k = extract(&meta, f);
        emc.insert(&k, k.hash64(), &flow);
    }
    let mut tx: Vec<Vec<u8>> = (0..32).map(|_| Vec::with_capacity(2048)).collect();
    let mut k = FlowKey::default();
    // As the pipeline does, a burst's packets are grouped by megaflow and
    // each group's stats are updated once (all 32 share one megaflow here).
    let (mut pkts, mut bytes, mut flags) = (0u64, 0u64, 0u16);
    for j in 0..n {
        let i = (j % 32) as usize;
        let f = black_box(&frames[i]);
        extract_into(&mut k, &meta, f);
        let fl = emc.lookup(&k, k.hash64()).expect("hit");
        pkts += 1;
        bytes += f.len() as u64;
        flags |= k.tcp_flags();
        if i == 31 || j + 1 == n {
            fl.hit(pkts, bytes, j, flags);
            (pkts, bytes, flags) = (0, 0, 0);
        }
        if let Some(DpAction::Output(_)) = fl.actions.first() {
            tx[i].clear();
            tx[i].extend_from_slice(f);
        }
    }
    black_box(&tx);
    println!("{}", flow.stats().packets);
}
