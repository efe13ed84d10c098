//! Output, flood (minus in_port), trunc and port counters on real tap ports in
//! the current namespace, observed with AF_PACKET sniffers on the taps.
//! Needs root (skips with a note otherwise; fails under `CI=true`).

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use datapath::actions::DpAction;
use datapath::sys;
use datapath::{Datapath, DatapathConfig, Upcall, UpcallHandler, UpcallReply};

struct DropAll;

impl UpcallHandler for DropAll {
    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply> {
        batch.iter().map(|_| UpcallReply::once([])).collect()
    }
}

fn can_run() -> bool {
    match std::fs::metadata("/dev/net/tun") {
        // A name per call: tests run in parallel, and a second open of a
        // tap another test still holds fails with EBUSY.
        Ok(_) if sys::open_tap(&probe_name()).is_ok() => true,
        _ if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("tap ports need root and /dev/net/tun under CI")
        }
        _ => {
            eprintln!("SKIP: cannot create taps (not root or no /dev/net/tun)");
            false
        }
    }
}

fn probe_name() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "rvp{}x{}",
        std::process::id() % 100_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
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

/// Frames written into a tap arrive on an AF_PACKET port on that tap in
/// order, through many turns of the mmap ring (and through `recvmmsg` when
/// the ring is off); a VLAN tag the kernel moved into metadata is put back;
/// a frame longer than a ring slot (MTU-sized) is dropped and counted, not
/// delivered cut (`recvmmsg` takes it whole, up to `MAX_FRAME`).
fn af_packet_port_receives(ring: bool) {
    use datapath::packet::Packet;
    use datapath::port::Port;
    let pid = std::process::id() % 100_000;
    let (tap, name) = sys::open_tap(&format!("rvdr{pid}{}", ring as u8)).expect("tap");
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1");
    let port = Port::open_system(1, &name, ring, false).expect("AF_PACKET port");
    assert_eq!(port.has_rx_ring(), ring);
    let mut burst = sys::Burst::new();
    let mut pkts: Vec<Packet> = (0..32).map(|_| Packet::new()).collect();
    let mut recv_marked = |want: usize| -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let start = Instant::now();
        while out.len() < want && start.elapsed() < Duration::from_secs(5) {
            let n = port.recv_burst(&mut burst, &mut pkts);
            for p in &pkts[..n] {
                let d = p.data();
                if d.len() >= 18 && (d[12..14] == [0x88, 0xb5] || d[16..18] == [0x88, 0xb5]) {
                    out.push(d.to_vec());
                }
            }
            if n == 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        out
    };
    let mut seq = 0u32;
    for _round in 0..45 {
        let mut sent = Vec::new();
        for _ in 0..100 {
            let mut f = frame();
            f[14..18].copy_from_slice(&seq.to_be_bytes());
            seq += 1;
            assert!(sys::write_frame(tap.as_raw_fd(), &f).expect("tap write"));
            sent.push(f);
        }
        assert_eq!(recv_marked(sent.len()), sent, "frames up to #{seq}");
    }
    let mut tagged = vec![0xff; 6];
    tagged.extend_from_slice(&[2, 0, 0, 0, 0, 9, 0x81, 0x00, 0x20, 0x05, 0x88, 0xb5]);
    tagged.extend_from_slice(&[7u8; 50]);
    assert!(sys::write_frame(tap.as_raw_fd(), &tagged).unwrap());
    assert_eq!(recv_marked(1), vec![tagged.clone()], "VLAN tag restored");
    let dropped_before = port.stats().rx_dropped;
    let mut big = frame();
    big.resize(4000, 0xab);
    let mut after = frame();
    after[14] = 0xee;
    assert!(sys::write_frame(tap.as_raw_fd(), &big).unwrap());
    assert!(sys::write_frame(tap.as_raw_fd(), &after).unwrap());
    let st = if ring {
        assert_eq!(
            recv_marked(1),
            vec![after],
            "the oversized frame is not delivered"
        );
        let st = port.stats();
        assert_eq!(st.rx_dropped, dropped_before + 1, "oversized frame counted");
        st
    } else {
        assert_eq!(recv_marked(2), vec![big, after]);
        port.stats()
    };
    assert_eq!(st.rx_packets, 4502 + !ring as u64, "{st:?}");
}

#[test]
fn af_packet_rx_ring_delivers_in_order_restores_vlan_and_drops_oversized() {
    if can_run() {
        af_packet_port_receives(true);
    }
}

#[test]
fn af_packet_recvmmsg_delivers_in_order_restores_vlan_and_drops_oversized() {
    if can_run() {
        af_packet_port_receives(false);
    }
}

/// Frames sent on an AF_PACKET port come out of the tap under it in order,
/// through many turns of the mmap transmit ring (and through `sendmmsg` when
/// the ring is off), VLAN tags included; a frame longer than MTU + Ethernet
/// header (+ 4 if 802.1Q-tagged) is refused as the kernel refuses it on
/// `sendmmsg`: alone it is a tx error; inside a burst, with the ring it is
/// a tx error and the frames around it still go out (they go through the
/// ring, it through `sendmmsg`), without the ring it ends the `sendmmsg`
/// burst (the rest counted as dropped). Counters match what came out.
fn af_packet_port_sends(ring: bool) {
    use datapath::port::Port;
    let pid = std::process::id() % 100_000;
    let (tap, name) = sys::open_tap(&format!("rvdt{pid}{}", ring as u8)).expect("tap");
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1");
    let port = Port::open_system(1, &name, false, ring).expect("AF_PACKET port");
    assert_eq!(port.has_tx_ring(), ring);
    let mut burst = sys::Burst::new();
    let read_marked = |want: usize| -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 4096];
        let start = Instant::now();
        while out.len() < want && start.elapsed() < Duration::from_secs(5) {
            match sys::read_frame(tap.as_raw_fd(), &mut buf).expect("tap read") {
                Some(n) => {
                    let d = &buf[..n];
                    if d.len() >= 18 && (d[12..14] == [0x88, 0xb5] || d[16..18] == [0x88, 0xb5]) {
                        out.push(d.to_vec());
                    }
                }
                None => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        out
    };
    let mut seq = 0u32;
    for _round in 0..150 {
        let frames: Vec<Vec<u8>> = (0..32)
            .map(|_| {
                let mut f = frame();
                f[14..18].copy_from_slice(&seq.to_be_bytes());
                seq += 1;
                f
            })
            .collect();
        let refs: Vec<&[u8]> = frames.iter().map(|f| f.as_slice()).collect();
        port.send_burst(&mut burst, &refs);
        assert_eq!(read_marked(frames.len()), frames, "frames up to #{seq}");
    }
    let st = port.stats();
    assert_eq!((st.tx_packets, st.tx_dropped, st.tx_errors), (4800, 0, 0));

    let mut tagged = vec![0xff; 6];
    tagged.extend_from_slice(&[2, 0, 0, 0, 0, 9, 0x81, 0x00, 0x20, 0x05, 0x88, 0xb5]);
    tagged.resize(1500 + 18, 7); // MTU + header + tag: the longest allowed
    port.send_burst(&mut burst, &[&tagged]);
    assert_eq!(read_marked(1), vec![tagged], "tagged MTU-sized frame");

    let mut big = frame();
    big.resize(1500 + 15, 0xab);
    let mut ok1 = frame();
    ok1[14] = 0xe1;
    let mut ok2 = frame();
    ok2[14] = 0xe2;
    port.send_burst(&mut burst, &[&big]);
    port.send_burst(&mut burst, &[&ok1, &big, &ok2]);
    let mut after = frame();
    after[14] = 0xe3;
    port.send_burst(&mut burst, &[&after]);
    let st = port.stats();
    let f_len = frame().len() as u64;
    if ring {
        // The oversized frame leaves the ring's run for `sendmmsg`, which
        // refuses it alone; the frames around it go through the ring.
        assert_eq!(
            read_marked(3),
            vec![ok1, ok2, after],
            "nothing oversized, the rest sent"
        );
        assert_eq!(
            (st.tx_packets, st.tx_dropped, st.tx_errors),
            (4804, 0, 2),
            "{st:?}"
        );
        assert_eq!(st.tx_bytes, 4803 * f_len + 1518, "bytes of what went out");
    } else {
        assert_eq!(
            read_marked(2),
            vec![ok1, after],
            "nothing oversized, nothing after it"
        );
        assert_eq!(
            (st.tx_packets, st.tx_dropped, st.tx_errors),
            (4803, 2, 1),
            "{st:?}"
        );
        assert_eq!(st.tx_bytes, 4802 * f_len + 1518, "bytes of what went out");
    }
}

#[test]
fn af_packet_tx_ring_sends_in_order_keeps_vlan_and_refuses_oversized() {
    if can_run() {
        af_packet_port_sends(true);
    }
}

#[test]
fn af_packet_sendmmsg_sends_in_order_keeps_vlan_and_refuses_oversized() {
    if can_run() {
        af_packet_port_sends(false);
    }
}
