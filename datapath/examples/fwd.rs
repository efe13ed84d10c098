//! A two-port forwarder on the datapath, for benchmarks and manual tests.
//!
//! ```text
//! fwd [--ct] [--threads N] [--seconds S] [--stats-every S] [--no-rx-ring] [--no-tx-ring] PORT1 PORT2
//!     PORTn = tap:NAME  (create a tap)  |  NAME  (AF_PACKET on an existing interface)
//! ```
//! Port 1 ↔ port 2, everything forwarded to the other port. With `--ct`, IP
//! packets go through `ct(commit,zone=1),recirc(0x1)` first and only tracked,
//! valid ones are forwarded (the shape of a stateful firewall's fast path).
//! Prints `ready` once the ports are open, then runs for S seconds (default:
//! until killed), printing datapath and port counters every `--stats-every`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use datapath::actions::{CtAction, DpAction};
use datapath::key::{FlowKey, ct_state};
use datapath::{Datapath, DatapathConfig, Upcall, UpcallHandler, UpcallReply};

struct Fwd {
    ct: bool,
}

impl UpcallHandler for Fwd {
    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply> {
        batch
            .iter()
            .map(|u| {
                let k = &u.key;
                let other = if k.in_port() == 1 { 2 } else { 1 };
                let mut mask = FlowKey::default();
                mask.set_recirc_id(u32::MAX);
                mask.set_in_port(u32::MAX);
                mask.set_eth_type(u16::MAX);
                let ip = matches!(k.eth_type(), 0x0800 | 0x86dd);
                let actions: datapath::Actions = if self.ct && ip && k.recirc_id() == 0 {
                    mask.set_nw_proto(0xff);
                    mask.set_nw_frag(0xff);
                    [
                        DpAction::Ct(CtAction {
                            zone: 1,
                            commit: true,
                            ..Default::default()
                        }),
                        DpAction::Recirc(1),
                    ]
                    .into_iter()
                    .collect()
                } else if self.ct && ip {
                    mask.set_ct_state(0xff);
                    let ok = k.ct_state() & ct_state::TRK != 0 && k.ct_state() & ct_state::INV == 0;
                    std::iter::once(if ok {
                        DpAction::Output(other)
                    } else {
                        DpAction::Drop
                    })
                    .collect()
                } else {
                    std::iter::once(DpAction::Output(other)).collect()
                };
                UpcallReply::install(mask, actions)
            })
            .collect()
    }
}

fn usage() -> ! {
    eprintln!(
        "usage: fwd [--ct] [--threads N] [--seconds S] [--stats-every S] [--no-rx-ring] [--no-tx-ring] PORT1 PORT2   (PORT = tap:NAME | IFNAME)"
    );
    std::process::exit(2)
}

fn main() {
    let mut ct = false;
    let mut rx_ring = true;
    let mut tx_ring = true;
    let mut threads = 1usize;
    let mut seconds: Option<u64> = None;
    let mut every: Option<u64> = None;
    let mut ports = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut num = |what: &str| -> u64 {
            args.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
                eprintln!("{what} needs a number");
                usage()
            })
        };
        match a.as_str() {
            "--ct" => ct = true,
            "--no-rx-ring" => rx_ring = false,
            "--no-tx-ring" => tx_ring = false,
            "--threads" => threads = num("--threads") as usize,
            "--seconds" => seconds = Some(num("--seconds")),
            "--stats-every" => every = Some(num("--stats-every")),
            "-h" | "--help" => usage(),
            _ => ports.push(a),
        }
    }
    if ports.len() != 2 {
        usage();
    }
    let tracker: Option<Arc<dyn datapath::ConnTracker>> = if ct {
        Some(Arc::new(conntrack::Conntrack::new(
            conntrack::Config::default(),
        )))
    } else {
        None
    };
    let cfg = DatapathConfig {
        n_threads: threads,
        af_packet_rx_ring: rx_ring,
        af_packet_tx_ring: tx_ring,
        ..Default::default()
    };
    let (dp, _userspace) = Datapath::new(cfg, Arc::new(Fwd { ct }), tracker);
    for (i, p) in ports.iter().enumerate() {
        let no = i as u32 + 1;
        let r = match p.strip_prefix("tap:") {
            Some(name) => dp.add_tap_port(no, name).map(|_| ()),
            None => dp.add_system_port(no, p),
        };
        if let Err(e) = r {
            eprintln!("port {p}: {e}");
            std::process::exit(1);
        }
    }
    println!("ready");
    let start = Instant::now();
    let mut last = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(100));
        if let Some(e) = every
            && last.elapsed() >= Duration::from_secs(e)
        {
            last = Instant::now();
            eprintln!("{:?}", dp.stats());
            for p in dp.ports() {
                eprintln!("  port {} {}: {:?}", p.port_no, p.name, p.stats);
            }
        }
        if seconds.is_some_and(|s| start.elapsed() >= Duration::from_secs(s)) {
            break;
        }
    }
    eprintln!("{:?}", dp.stats());
    eprint!("{}", dp.flow_dump_text());
}
