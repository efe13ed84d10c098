//! Cost of the fragment stage on unfragmented traffic: N UDP packets through
//! `Datapath::execute` with `ct(commit),output`, for instruction counting, e.g.
//! `valgrind --tool=callgrind target/release/examples/ipf_icount 20000` then
//! `callgrind_annotate --inclusive=yes` and compare `ipf_hold` + `ipf_drain` with the
//! total per packet.

use std::sync::Arc;

use datapath::actions::{CtAction, DpAction};
use datapath::{Datapath, DatapathConfig, Upcall, UpcallHandler, UpcallReply};

struct Never;

impl UpcallHandler for Never {
    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply> {
        batch.iter().map(|_| UpcallReply::once([])).collect()
    }
}

fn main() {
    let n: u32 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let ct = Arc::new(conntrack::Conntrack::new(conntrack::Config::default()));
    let cfg = DatapathConfig {
        n_threads: 1,
        ..Default::default()
    };
    let (dp, _rx) = Datapath::new(cfg, Arc::new(Never), Some(ct));
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(&[
        0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]);
    let c = conntrack::internet_checksum(&f[14..34]);
    f[24..26].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&[0x27, 0x10, 0, 9, 0, 26, 0, 0]);
    f.extend_from_slice(&[0; 18]);
    let actions = [
        DpAction::Ct(CtAction {
            commit: true,
            ..Default::default()
        }),
        DpAction::Output(99),
    ];
    for _ in 0..n {
        dp.execute(&f, 1, &actions);
    }
    eprintln!(
        "{n} packets; ipf accepted {}",
        dp.ipf().status().v4.accepted
    );
}
