//! The datapath forwarding real kernel traffic between two namespaces, over
//! veth pairs (AF_PACKET ports) and over taps, with a plain "output to the
//! other port" handler and with a `ct(commit),recirc` handler. Each test
//! builds its own uniquely named namespaces and removes them even on failure.
//! Needs root; see `netns::namespaces_available` for the skip/CI rule.

#[path = "../src/netns.rs"]
#[allow(dead_code)]
mod netns;

use std::io::Read;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use datapath::actions::{CtAction, DpAction};
use datapath::key::{FlowKey, VLAN_CFI, ct_state};
use datapath::{Datapath, DatapathConfig, Upcall, UpcallHandler, UpcallReply};
use netns::{LinkGuard, Netns, Veth, namespaces_available};

/// Ports 1 and 2; forwards everything to the other one. With `ct`, IP
/// packets first go through `ct(commit,zone=7),recirc(0x1)`, and only
/// `+trk` packets that are not `+inv` are forwarded after recirculation.
struct OtherPort {
    ct: bool,
    keys: Mutex<Vec<FlowKey>>,
}

impl UpcallHandler for OtherPort {
    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply> {
        batch
            .iter()
            .map(|u| {
                let k = &u.key;
                self.keys.lock().unwrap().push(*k);
                let other = if k.in_port() == 1 { 2 } else { 1 };
                let mut mask = FlowKey::default();
                mask.set_recirc_id(u32::MAX);
                mask.set_in_port(u32::MAX);
                mask.set_eth_type(u16::MAX);
                let is_ip = matches!(k.eth_type(), 0x0800 | 0x86dd);
                let actions = if self.ct && is_ip && k.recirc_id() == 0 {
                    mask.set_nw_proto(0xff);
                    mask.set_nw_frag(0xff);
                    [
                        DpAction::Ct(CtAction {
                            zone: 7,
                            commit: true,
                            ..Default::default()
                        }),
                        DpAction::Recirc(1),
                    ]
                    .into_iter()
                    .collect()
                } else if self.ct && is_ip {
                    mask.set_ct_state(0xff);
                    if k.ct_state() & ct_state::TRK != 0 && k.ct_state() & ct_state::INV == 0 {
                        std::iter::once(DpAction::Output(other)).collect()
                    } else {
                        std::iter::once(DpAction::Drop).collect()
                    }
                } else {
                    std::iter::once(DpAction::Output(other)).collect()
                };
                UpcallReply {
                    mask,
                    actions,
                    install: true,
                    events: Vec::new(),
                }
            })
            .collect()
    }
}

enum Kind {
    Veth,
    Tap,
}

/// ns1 (10.9.0.1) ↔ datapath ↔ ns2 (10.9.0.2).
struct Topo {
    dp: Datapath,
    handler: Arc<OtherPort>,
    ns1: Netns,
    ns2: Netns,
    _veths: Vec<Veth>,
    _taps: Vec<LinkGuard>,
}

fn build(kind: Kind, ct: bool) -> Topo {
    let ns1 = Netns::new();
    let ns2 = Netns::new();
    let handler = Arc::new(OtherPort {
        ct,
        keys: Mutex::new(Vec::new()),
    });
    let tracker: Option<Arc<dyn datapath::ConnTracker>> = if ct {
        Some(Arc::new(conntrack::Conntrack::new(
            conntrack::Config::default(),
        )))
    } else {
        None
    };
    let (dp, _rx) = Datapath::new(
        DatapathConfig {
            n_threads: 2,
            ..Default::default()
        },
        handler.clone(),
        tracker,
    );
    let mut veths = Vec::new();
    let mut taps = Vec::new();
    for (i, ns) in [(1u32, &ns1), (2, &ns2)] {
        let cidr = format!("10.9.0.{i}/24");
        match kind {
            Kind::Veth => {
                let v = Veth::new();
                dp.add_system_port(i, &v.a).expect("AF_PACKET port");
                ns.adopt(&v.b, "eth0", &cidr);
                veths.push(v);
            }
            Kind::Tap => {
                let name = netns::unique_name("rvt");
                let actual = dp.add_tap_port(i, &name).expect("tap port");
                taps.push(LinkGuard(actual.clone()));
                ns.adopt(&actual, "eth0", &cidr);
            }
        }
    }
    Topo {
        dp,
        handler,
        ns1,
        ns2,
        _veths: veths,
        _taps: taps,
    }
}

fn ping(t: &Topo, dst: &str) {
    let o = t
        .ns1
        .exec(&["ping", "-c", "3", "-i", "0.2", "-W", "2", dst]);
    assert!(
        o.status.success(),
        "ping {dst} failed: {}\nflows:\n{}\nports: {:?}\nstats: {:?}",
        String::from_utf8_lossy(&o.stdout),
        t.dp.flow_dump_text(),
        t.dp.ports(),
        t.dp.stats()
    );
}

/// Starts `nc` listening in ns2, sends `msg` from ns1, returns what the listener got.
fn nc_transfer(t: &Topo, udp: bool, port: &str, msg: &str) -> String {
    let mut largs = vec!["timeout", "6", "nc"];
    if udp {
        largs.extend(["-u", "-W", "1"]);
    }
    largs.extend(["-l", "10.9.0.2", port]);
    let mut listener = t
        .ns2
        .command(&largs)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("nc listener");
    std::thread::sleep(Duration::from_millis(300));
    let script = if udp {
        format!("printf '{msg}' | nc -u -w 1 10.9.0.2 {port}")
    } else {
        format!("printf '{msg}' | nc -N -w 3 10.9.0.2 {port}")
    };
    let o = t.ns1.exec(&["sh", "-c", &script]);
    assert!(
        o.status.success() || udp,
        "nc send failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = listener.wait();
    let mut got = String::new();
    listener
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut got)
        .unwrap();
    got
}

/// Receives on ns2's eth0 with an AF_PACKET socket (VLAN tag from aux data)
/// and prints `tci=<n>` for the first frame carrying our marker.
const VLAN_RX: &str = r#"
import socket, struct, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("eth0", 0)); s.setsockopt(263, 8, 1); s.settimeout(5)
print("ready", flush=True)
while True:
    data, anc, flags, addr = s.recvmsg(4096, 1024)
    if b"rvs-vlan-test" not in data: continue
    tci = None
    for lvl, typ, d in anc:
        if lvl == 263 and typ == 8:
            st, ln, sn, mac, net, t, tpid = struct.unpack("IIIHHHH", d[:20])
            if st & 0x10 or t: tci = t
    if tci is None and data[12:14] == b"\x81\x00": tci = struct.unpack("!H", data[14:16])[0]
    print("tci=%s" % tci, flush=True); break
"#;

/// Sends one 802.1Q-tagged frame (VID 100, PCP 3) from ns1's eth0.
const VLAN_TX: &str = r#"
import socket, struct
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
src = open("/sys/class/net/eth0/address").read().strip().replace(":", "")
frame = b"\xff" * 6 + bytes.fromhex(src) + struct.pack("!HHH", 0x8100, (3 << 13) | 100, 0x88b5) + b"rvs-vlan-test" + b"\0" * 40
for _ in range(3): s.send(frame)
"#;

fn vlan_tag_is_kept(t: &Topo) {
    let mut rx = t
        .ns2
        .command(&["python3", "-c", VLAN_RX])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    let mut out = rx.stdout.take().unwrap();
    let mut ready = [0u8; 6];
    out.read_exact(&mut ready).expect("receiver ready");
    t.ns1.exec_ok(&["python3", "-c", VLAN_TX]);
    let mut got = String::new();
    out.read_to_string(&mut got).unwrap();
    let _ = rx.wait();
    assert_eq!(
        got.trim(),
        format!("tci={}", (3 << 13) | 100),
        "tagged frame arrived with its tag"
    );
    let keys = t.handler.keys.lock().unwrap();
    assert!(
        keys.iter()
            .any(|k| k.vlan0_tci() == (3 << 13) | 100 | VLAN_CFI && k.eth_type() == 0x88b5),
        "the handler saw the VLAN tag in the key"
    );
}

fn check_all(t: &Topo) {
    ping(t, "10.9.0.2");
    assert_eq!(
        nc_transfer(t, false, "5000", "hello over tcp"),
        "hello over tcp"
    );
    assert_eq!(
        nc_transfer(t, true, "5001", "hello over udp"),
        "hello over udp"
    );
    vlan_tag_is_kept(t);
    let ports = t.dp.ports();
    assert_eq!(ports.len(), 2);
    for p in &ports {
        assert!(p.stats.rx_packets >= 6 && p.stats.tx_packets >= 6, "{p:?}");
    }
}

#[test]
fn veth_af_packet_ports_forward_ping_tcp_udp_and_vlan() {
    if !namespaces_available("veth_af_packet_ports_forward_ping_tcp_udp_and_vlan") {
        return;
    }
    let t = build(Kind::Veth, false);
    check_all(&t);
}

#[test]
fn veth_ports_with_ct_commit_recirc_forward_ping_tcp_udp_and_vlan() {
    if !namespaces_available("veth_ports_with_ct_commit_recirc_forward_ping_tcp_udp_and_vlan") {
        return;
    }
    let t = build(Kind::Veth, true);
    check_all(&t);
    let dump = t.dp.flow_dump_text();
    assert!(
        dump.contains("actions:ct(commit,zone=7),recirc(0x1)"),
        "{dump}"
    );
    assert!(
        // A fully masked ct_state prints in OVS's +/- form (its mask is 32 bits wide).
        dump.contains("ct_state(-new+est-rel+rpl-inv+trk-snat-dnat)")
            || dump.contains("ct_state(-new+est-rel-rpl-inv+trk-snat-dnat)"),
        "{dump}"
    );
}

#[test]
fn tap_ports_forward_ping_tcp_udp_and_vlan() {
    if !namespaces_available("tap_ports_forward_ping_tcp_udp_and_vlan") {
        return;
    }
    let t = build(Kind::Tap, false);
    check_all(&t);
}

#[test]
fn tap_ports_with_ct_commit_recirc_forward_ping_tcp_udp_and_vlan() {
    if !namespaces_available("tap_ports_with_ct_commit_recirc_forward_ping_tcp_udp_and_vlan") {
        return;
    }
    let t = build(Kind::Tap, true);
    check_all(&t);
    assert!(t.dp.stats().n_megaflows >= 4);
}

/// A veth pair in this namespace: `Port` `a` (AF_PACKET, tx ring, no rx
/// ring) and a receiver `Port` on `b` (recvmmsg).
fn port_pair() -> (Veth, Arc<datapath::port::Port>, datapath::port::Port) {
    let v = Veth::new();
    netns::must("ip", &["link", "set", &v.b, "up"]);
    let a = datapath::port::Port::open_system(1, &v.a, false, true).expect("port a");
    assert!(a.has_tx_ring(), "the kernel refused the tx ring");
    let b = datapath::port::Port::open_system(2, &v.b, false, false).expect("port b");
    (v, Arc::new(a), b)
}

/// An 0x88b5 frame of `len` bytes carrying `tag` after the Ethernet header.
fn test_frame(len: usize, tag: u32) -> Vec<u8> {
    let mut f = vec![0u8; len];
    f[0..6].copy_from_slice(&[0x02, 0, 0, 0, 0, 2]);
    f[6..12].copy_from_slice(&[0x02, 0, 0, 0, 0, 1]);
    f[12..14].copy_from_slice(&[0x88, 0xb5]);
    f[14..18].copy_from_slice(&tag.to_be_bytes());
    f
}

/// Receives on `b` until `want` test frames arrived or 3 s passed; returns
/// the lengths of the 0x88b5 frames seen.
fn receive_test_frames(b: &datapath::port::Port, want: usize) -> Vec<usize> {
    let mut burst = datapath::sys::Burst::new();
    let mut pkts: Vec<datapath::Packet> = (0..32).map(|_| datapath::Packet::new()).collect();
    let mut lens = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    while lens.len() < want && std::time::Instant::now() < deadline {
        let n = b.recv_burst(&mut burst, &mut pkts);
        if n == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        for p in &pkts[..n] {
            if p.data().len() >= 18 && p.data()[12..14] == [0x88, 0xb5] {
                lens.push(p.len());
            }
        }
    }
    lens
}

#[test]
fn tx_ring_port_sends_frames_longer_than_its_slots_after_mtu_raise() {
    if !namespaces_available("tx_ring_port_sends_frames_longer_than_its_slots_after_mtu_raise") {
        return;
    }
    let (v, a, b) = port_pair();
    // The ring's slots were sized for MTU 1500 at open.
    netns::must("ip", &["link", "set", "dev", &v.a, "mtu", "9000"]);
    netns::must("ip", &["link", "set", "dev", &v.b, "mtu", "9000"]);
    let (f1, f2, f3) = (test_frame(60, 1), test_frame(4000, 2), test_frame(60, 3));
    let mut burst = datapath::sys::Burst::new();
    a.send_burst(&mut burst, &[&f1, &f2, &f3]);
    let s = a.stats();
    assert_eq!(
        (s.tx_packets, s.tx_dropped, s.tx_errors),
        (3, 0, 0),
        "{s:?}"
    );
    let mut lens = receive_test_frames(&b, 3);
    lens.sort_unstable();
    assert_eq!(lens, vec![60, 60, 4000]);
    // Longer than the new MTU: the kernel refuses it, counted as an error.
    let big = test_frame(9100, 4);
    a.send_burst(&mut burst, &[&big]);
    let s = a.stats();
    assert_eq!((s.tx_packets, s.tx_errors), (3, 1), "{s:?}");
}

#[test]
fn tx_ring_port_shared_by_two_threads_sends_everything() {
    if !namespaces_available("tx_ring_port_shared_by_two_threads_sends_everything") {
        return;
    }
    let (_v, a, b) = port_pair();
    const BURSTS: u32 = 100;
    const PER_BURST: u32 = 8;
    let senders: Vec<_> = (0..2u32)
        .map(|t| {
            let a = a.clone();
            std::thread::spawn(move || {
                let mut burst = datapath::sys::Burst::new();
                for i in 0..BURSTS {
                    let frames: Vec<Vec<u8>> = (0..PER_BURST)
                        .map(|k| test_frame(60, (t << 24) | (i * PER_BURST + k)))
                        .collect();
                    let refs: Vec<&[u8]> = frames.iter().map(|f| f.as_slice()).collect();
                    a.send_burst(&mut burst, &refs);
                    std::thread::sleep(Duration::from_micros(300));
                }
            })
        })
        .collect();
    let total = (2 * BURSTS * PER_BURST) as usize;
    let lens = receive_test_frames(&b, total);
    for s in senders {
        s.join().unwrap();
    }
    let s = a.stats();
    assert_eq!(
        (s.tx_packets, s.tx_dropped, s.tx_errors),
        (total as u64, 0, 0),
        "{s:?}"
    );
    assert_eq!(lens.len(), total);
}
