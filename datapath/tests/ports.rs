//! Output, flood (minus in_port), trunc and port counters on real tap ports in
//! the current namespace, observed with AF_PACKET sniffers on the taps.
//! Needs root (skips with a note otherwise; fails under `CI=true`).

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datapath::actions::DpAction;
use datapath::key::FlowKey;
use datapath::sys;
use datapath::{Datapath, DatapathConfig, Upcall, UpcallHandler, UpcallReply};

struct DropAll;

impl UpcallHandler for DropAll {
    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply> {
        batch
            .iter()
            .map(|_| UpcallReply {
                mask: FlowKey::default(),
                actions: Default::default(),
                install: false,
                events: Vec::new(),
            })
            .collect()
    }
}

fn can_run() -> bool {
    match std::fs::metadata("/dev/net/tun") {
        Ok(_) if sys::open_tap("rvdprobe0").is_ok() => true,
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("tap ports need root and /dev/net/tun under CI")
        }
        _ => {
            eprintln!("SKIP: cannot create taps (not root or no /dev/net/tun)");
            false
        }
    }
}

const MARK: &[u8] = b"rvs-port-test-marker";

fn frame() -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&[2, 0, 0, 0, 0, 9, 0x88, 0xb5]);
    f.extend_from_slice(MARK);
    f.extend_from_slice(&[0u8; 40]);
    f
}

/// Frames containing `MARK` (or its truncation) seen on `ifname` within `wait`.
fn sniff(fd: &std::os::fd::OwnedFd, wait: Duration) -> Vec<Vec<u8>> {
    let mut burst = sys::Burst::new();
    let mut out = Vec::new();
    let start = Instant::now();
    let mut bufs = vec![vec![0u8; 2048]; 8];
    while start.elapsed() < wait {
        let mut refs: Vec<&mut [u8]> = bufs.iter_mut().map(|b| b.as_mut_slice()).collect();
        let n = burst.recv(fd.as_raw_fd(), &mut refs).unwrap();
        for (i, info) in burst.info.iter().enumerate().take(n) {
            let f = &bufs[i][..info.len];
            if f.len() >= 14 && f[12..14] == [0x88, 0xb5] {
                out.push(f.to_vec());
            }
        }
        if n == 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    out
}

#[test]
fn flood_skips_in_port_and_trunc_shortens_copies() {
    if !can_run() {
        return;
    }
    let (dp, _rx) = Datapath::new(
        DatapathConfig {
            n_threads: 1,
            ..Default::default()
        },
        Arc::new(DropAll),
        None,
    );
    let pid = std::process::id() % 100_000;
    let mut sniffers = Vec::new();
    for no in 1..=3u32 {
        let name = dp
            .add_tap_port(no, &format!("rvdp{pid}x{no}"))
            .expect("tap");
        let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1");
        sniffers.push(sys::open_packet_socket(&name).expect("sniffer").0);
    }
    let f = frame();
    dp.execute(&f, 1, &[DpAction::Flood]);
    dp.execute(
        &f,
        2,
        &[
            DpAction::Trunc(20),
            DpAction::Output(3),
            DpAction::Output(1),
        ],
    );
    let seen: Vec<Vec<Vec<u8>>> = sniffers
        .iter()
        .map(|s| sniff(s, Duration::from_millis(400)))
        .collect();
    // Port 1: only the untruncated copy of the second execute.
    assert_eq!(seen[0], vec![f.clone()], "port 1");
    // Port 2: the flood copy only.
    assert_eq!(seen[1], vec![f.clone()], "port 2");
    // Port 3: the flood copy, then the 20-byte truncated copy.
    assert_eq!(seen[2], vec![f.clone(), f[..20].to_vec()], "port 3");
    let ports = dp.ports();
    assert_eq!(
        ports.iter().map(|p| p.port_no).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(ports[0].stats.tx_packets, 1);
    assert_eq!(ports[1].stats.tx_packets, 1);
    assert_eq!(ports[2].stats.tx_packets, 2);
    assert_eq!(ports[2].stats.tx_bytes, f.len() as u64 + 20);
    assert!(
        ports
            .iter()
            .all(|p| p.link_up == Some(true) && p.mac != [0; 6]),
        "{ports:?}"
    );
    assert!(dp.del_port(2));
    assert!(!dp.del_port(2));
    assert_eq!(dp.ports().len(), 2);
    dp.execute(&f, 7, &[DpAction::Output(2)]);
    assert_eq!(dp.stats().tx_unknown_port, 1);
}
