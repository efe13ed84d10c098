//! `dpctl/dump-conntrack` in all four variants (plain, `-s`, `-m`, `-s -m`, and `-m zone=N`)
//! on rvs against Debian's `ovs-vswitchd` 3.1 (userspace datapath): the same live connections
//! are made on both by packet-outs through `ct()` flows — TCP (one established through a
//! handshake with window scaling, one only SYN_SENT, one picked up mid-stream, an FTP control
//! connection with its helper), UDP in a zone with a mark, ICMP echo
//! with a label, UDP with source NAT in a zone, IPv6 UDP — and the dumps must be the same
//! lines (sorted; `timeout=` seconds masked: the two tables were filled a moment apart).
//! Needs root, namespaces and the OVS daemons; under `CI=true` a missing one fails.

#[path = "../src/netns.rs"]
#[allow(dead_code)]
mod netns;
#[path = "../src/ovs_ref.rs"]
#[allow(dead_code)]
mod ovs_ref;
#[path = "../src/rvs.rs"]
#[allow(dead_code)]
mod rvs;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use ovs_ref::OvsSwitch;
use rvs::{Switchd, ok_stdout, ovs_ofctl, root_available, tool_available};

const FLOWS: &[&str] = &[
    "priority=1,action=drop",
    "priority=100,in_port=1,tcp,action=ct(commit),2",
    "priority=100,in_port=2,tcp,action=ct(commit),1",
    "priority=100,in_port=1,udp,tp_dst=2,action=ct(commit,zone=3,exec(set_field:5->ct_mark)),2",
    "priority=100,in_port=1,icmp,action=ct(commit,exec(set_field:0x1234000000000000000000000000abcd->ct_label)),2",
    "priority=100,in_port=1,udp,tp_dst=53,action=ct(commit,zone=9,nat(src=10.1.1.240)),2",
    "priority=100,in_port=1,udp6,action=ct(commit),2",
    "priority=110,in_port=1,tcp,tp_dst=21,action=ct(commit,alg=ftp),2",
];

/// One's-complement sum of `data` (16-bit big-endian words) added to `acc`.
fn sum16(mut acc: u32, data: &[u8]) -> u32 {
    for c in data.chunks(2) {
        acc += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

fn eth(ethertype: u16, l3: &[u8]) -> Vec<u8> {
    let mut f = vec![0x50, 0x54, 0, 0, 0, 0x0a, 0x50, 0x54, 0, 0, 0, 0x09];
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(l3);
    f
}

/// An IPv4 frame carrying `l4` (whose checksum field at `csum_at` is filled in, over the
/// pseudo-header unless `proto` is ICMP).
fn ipv4(src: [u8; 4], dst: [u8; 4], proto: u8, mut l4: Vec<u8>, csum_at: usize) -> Vec<u8> {
    let total = (20 + l4.len()) as u16;
    let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, proto, 0, 0];
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let c = fold(sum16(0, &ip));
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let pseudo = if proto == 1 {
        0
    } else {
        let mut p = sum16(0, &src);
        p = sum16(p, &dst);
        p + u32::from(proto) + l4.len() as u32
    };
    let c = fold(sum16(pseudo, &l4));
    l4[csum_at..csum_at + 2].copy_from_slice(&c.to_be_bytes());
    ip.extend_from_slice(&l4);
    eth(0x0800, &ip)
}

fn udp(sport: u16, dport: u16) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend_from_slice(&sport.to_be_bytes());
    u.extend_from_slice(&dport.to_be_bytes());
    u.extend_from_slice(&12u16.to_be_bytes());
    u.extend_from_slice(&[0, 0, b'r', b'v', b's', b'!']);
    u
}

/// A TCP segment with `flags`; a window-scale option `wscale` if given.
fn tcp(sport: u16, dport: u16, seq: u32, ack: u32, flags: u8, wscale: Option<u8>) -> Vec<u8> {
    let mut t = Vec::new();
    t.extend_from_slice(&sport.to_be_bytes());
    t.extend_from_slice(&dport.to_be_bytes());
    t.extend_from_slice(&seq.to_be_bytes());
    t.extend_from_slice(&ack.to_be_bytes());
    let words: u8 = if wscale.is_some() { 6 } else { 5 };
    t.extend_from_slice(&[words << 4, flags, 0xff, 0xff, 0, 0, 0, 0]);
    if let Some(w) = wscale {
        t.extend_from_slice(&[1, 3, 3, w]);
    }
    t
}

fn udp6(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16) -> Vec<u8> {
    let mut l4 = udp(sport, dport);
    let mut p = sum16(0, &src);
    p = sum16(p, &dst);
    p += 17 + l4.len() as u32;
    let c = fold(sum16(p, &l4));
    l4[6..8].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x60, 0, 0, 0];
    ip.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    ip.extend_from_slice(&[17, 64]);
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    ip.extend_from_slice(&l4);
    eth(0x86dd, &ip)
}

const A: [u8; 4] = [10, 1, 1, 1];
const B: [u8; 4] = [10, 1, 1, 2];
const C: [u8; 4] = [10, 1, 1, 3];

/// (in_port, frame), in the order they are sent.
fn packets() -> Vec<(u16, Vec<u8>)> {
    const SYN: u8 = 0x02;
    const ACK: u8 = 0x10;
    let mut v6a = [0u8; 16];
    v6a[..2].copy_from_slice(&[0xfc, 0]);
    let mut v6b = v6a;
    v6a[15] = 1;
    v6b[15] = 2;
    let mut echo = vec![8, 0, 0, 0, 0, 7, 0, 1];
    echo.extend_from_slice(b"ping");
    vec![
        // An established TCP connection with window scaling on both sides.
        (1, ipv4(A, B, 6, tcp(1234, 80, 1000, 0, SYN, Some(7)), 16)),
        (
            2,
            ipv4(B, A, 6, tcp(80, 1234, 5000, 1001, SYN | ACK, Some(6)), 16),
        ),
        (1, ipv4(A, B, 6, tcp(1234, 80, 1001, 5001, ACK, None), 16)),
        // A TCP connection that saw only its SYN (no options).
        (1, ipv4(A, B, 6, tcp(1235, 80, 77, 0, SYN, None), 16)),
        // A TCP connection picked up mid-stream (an ACK without a handshake).
        (1, ipv4(A, B, 6, tcp(1236, 80, 500, 600, ACK, None), 16)),
        // An FTP control connection (the helper is shown).
        (1, ipv4(A, B, 6, tcp(1237, 21, 9, 0, SYN, None), 16)),
        // UDP in zone 3 with mark 5.
        (1, ipv4(A, B, 17, udp(1, 2), 6)),
        // ICMP echo with a label.
        (1, ipv4(A, B, 1, echo, 2)),
        // UDP with source NAT in zone 9.
        (1, ipv4(A, C, 17, udp(5353, 53), 6)),
        // IPv6 UDP.
        (1, udp6(v6a, v6b, 1, 2)),
    ]
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn appctl(ctl: &Path, args: &[&str]) -> Output {
    Command::new("ovs-appctl")
        .arg("-t")
        .arg(ctl)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The dump's lines, sorted, with `timeout=N` masked.
fn dump(ctl: &Path, args: &[&str]) -> Vec<String> {
    let mut a = vec!["dpctl/dump-conntrack"];
    a.extend_from_slice(args);
    let out = ok_stdout(&appctl(ctl, &a), "dump-conntrack");
    let mut l: Vec<String> = out
        .lines()
        .map(|line| {
            let mut s = String::new();
            let mut rest = line;
            while let Some(i) = rest.find("timeout=") {
                s.push_str(&rest[..i + 8]);
                rest = rest[i + 8..].trim_start_matches(|c: char| c.is_ascii_digit());
                s.push('T');
            }
            s.push_str(rest);
            s
        })
        .collect();
    l.sort();
    l
}

#[test]
fn dump_conntrack_verbose_and_statistics_print_as_ovs_vswitchd() {
    let test = "dump_conntrack_vs_ovs";
    if !(root_available(test)
        && netns::namespaces_available(test)
        && tool_available(test, "ovs-appctl")
        && tool_available(test, "ovs-ofctl")
        && OvsSwitch::available(test))
    {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure", "--no-local-port"]);
    let ovs = OvsSwitch::start("secure", "00000000000000af");
    let ovs_ctl = ovs.rundir.join("ovs-vswitchd.ctl");
    let rvs_ctl = sw.ctl();
    let sides = [(sw.target(), rvs_ctl.as_path()), (ovs.target(), &ovs_ctl)];
    for (target, _) in &sides {
        for f in FLOWS {
            ok_stdout(&ovs_ofctl(&["add-flow", target, f]), "add-flow");
        }
        for (port, frame) in packets() {
            let po = format!("in_port={port} packet={} actions=resubmit(,0)", hex(&frame));
            ok_stdout(&ovs_ofctl(&["packet-out", target, &po]), "packet-out");
        }
    }
    let variants: [&[&str]; 6] = [
        &[],
        &["-s"],
        &["-m"],
        &["-s", "-m"],
        &["-m", "zone=9"],
        &["-s", "-m", "zone=3"],
    ];
    for args in variants {
        let rvs = dump(sides[0].1, args);
        let ovs = dump(sides[1].1, args);
        assert_eq!(rvs, ovs, "dpctl/dump-conntrack {args:?}: rvs vs OVS 3.1");
        eprintln!("dump-conntrack {args:?}:\n{}", ovs.join("\n"));
    }
    let all = dump(sides[1].1, &["-m"]);
    assert_eq!(all.len(), 8, "{all:#?}");
    // The dumps are not trivially alike: each kind of connection is there.
    for needle in [
        "state_orig=ESTABLISHED",
        "state_orig=SYN_SENT",
        "BE_LIBERAL",
        "helper=ftp",
        "zone=3",
        "mark=5",
        "labels=0x1234000000000000000000000000abcd",
        "dst=10.1.1.240",
        "udp,orig=(src=fc00::1",
        "icmp,orig=",
    ] {
        assert!(all.iter().any(|l| l.contains(needle)), "{needle}: {all:#?}");
    }
}
