//! Packet builders shared by the benches (no dependencies: plain byte templates).
#![allow(dead_code)]

use conntrack::{CtPacket, L3, internet_checksum};

/// An Ethernet + IPv4 + UDP frame (no payload, UDP checksum 0) for `src:sport → dst:dport`.
pub fn udp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16) -> Vec<u8> {
    let mut f = vec![
        0x50, 0x54, 0, 0, 0, 0x0a, 0x50, 0x54, 0, 0, 0, 0x09, 0x08, 0x00,
    ];
    let mut ip = vec![0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0];
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let c = internet_checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&[0, 8, 0, 0]);
    f
}

/// An Ethernet + IPv6 + hop-by-hop + UDP frame (checksummed) for `sport → dport`.
pub fn udp6_hbh(sport: u16, dport: u16) -> Vec<u8> {
    let src = [0xfe80u16, 0, 0, 0, 0, 0, 0, 1];
    let dst = [0xfe80u16, 0, 0, 0, 0, 0, 0, 2];
    let mut f = vec![
        0x50, 0x54, 0, 0, 0, 0x0a, 0x50, 0x54, 0, 0, 0, 0x09, 0x86, 0xdd,
    ];
    let plen: u16 = 8 + 8 + 4;
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&plen.to_be_bytes());
    f.extend_from_slice(&[0, 64]);
    for w in src.iter().chain(dst.iter()) {
        f.extend_from_slice(&w.to_be_bytes());
    }
    f.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]);
    let udp_at = f.len();
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&12u16.to_be_bytes());
    f.extend_from_slice(&[0, 0, b'd', b'a', b't', b'a']);
    let mut pseudo = Vec::new();
    pseudo.extend_from_slice(&f[22..54]);
    pseudo.extend_from_slice(&[0, 0, 0, 12, 0, 0, 0, 17]);
    pseudo.extend_from_slice(&f[udp_at..]);
    let c = internet_checksum(&pseudo);
    f[udp_at + 6..udp_at + 8].copy_from_slice(&c.to_be_bytes());
    f
}

/// The `n`-th distinct IPv4 UDP connection (n < 2^31): varies source address and port.
pub fn nth_udp4(n: u32) -> Vec<u8> {
    let src = [10, (n >> 23) as u8, (n >> 15) as u8, 1];
    udp4(src, [10, 2, 2, 2], 1024 + (n & 0x7fff) as u16, 53)
}

/// A packet with the types given as the datapath's flow key would give them.
pub fn given(f: &[u8]) -> CtPacket<'_> {
    let d = CtPacket::derive(f);
    CtPacket {
        data: f,
        l3: d.l3,
        l4_proto: d.l4_proto,
        l3_ofs: d.l3_ofs,
        l4_ofs: d.l4_ofs,
        hash: 0,
        checksum_ok: false,
        md: Default::default(),
        rewrite: Default::default(),
    }
}

/// Types for a plain IPv4 frame without deriving anything.
pub fn given_v4(f: &[u8], proto: u8) -> CtPacket<'_> {
    CtPacket {
        data: f,
        l3: L3::Ipv4,
        l4_proto: proto,
        l3_ofs: 14,
        l4_ofs: 34,
        hash: 0,
        checksum_ok: false,
        md: Default::default(),
        rewrite: Default::default(),
    }
}

/// Resident set size of this process, in bytes (from /proc/self/statm).
pub fn rss_bytes() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// CPU time the calling thread has used, in ns (`/proc/thread-self/schedstat`; 0 if absent):
/// on a shared machine, less disturbed by other processes than wall-clock time.
pub fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|x| x.parse().ok()))
        .unwrap_or(0)
}
