//! Virtual-clock harness: builds packets with etherparse, runs them through a `Conntrack` at a
//! time the test controls, and reads dumps back as sorted text.
#![allow(dead_code)]

use conntrack::{Config, Conntrack, CtMeta, CtOpts, CtPacket, CtState, NS_PER_S};
use etherparse::{PacketBuilder, TcpOptionElement};

pub const A: [u8; 4] = [10, 1, 1, 1];
pub const B: [u8; 4] = [10, 1, 1, 2];
pub const A6: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
pub const B6: [u8; 16] = [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];
const MAC_A: [u8; 6] = [0x50, 0x54, 0, 0, 0, 9];
const MAC_B: [u8; 6] = [0x50, 0x54, 0, 0, 0, 10];

pub const NEW: u8 = 0x01;
pub const EST: u8 = 0x02;
pub const REL: u8 = 0x04;
pub const RPL: u8 = 0x08;
pub const INV: u8 = 0x10;
pub const TRK: u8 = 0x20;

/// Conntrack plus a virtual clock.
pub struct H {
    pub ct: Conntrack,
    pub now_ns: u64,
}

impl H {
    pub fn new() -> Self {
        Self::with(Config::default())
    }

    pub fn with(cfg: Config) -> Self {
        H {
            ct: Conntrack::new(cfg),
            now_ns: 1_000 * NS_PER_S,
        }
    }

    pub fn advance_s(&mut self, s: u64) {
        self.now_ns += s * NS_PER_S;
    }

    pub fn advance_ns(&mut self, ns: u64) {
        self.now_ns += ns;
    }

    /// Runs one frame with `opts`; returns its metadata.
    pub fn run(&self, frame: &[u8], opts: CtOpts) -> CtMeta {
        self.run_md(frame, opts, CtMeta::default())
    }

    pub fn run_md(&self, frame: &[u8], opts: CtOpts, md: CtMeta) -> CtMeta {
        let mut p = CtPacket::derive(frame);
        p.md = md;
        let mut batch = [p];
        self.ct.execute(&mut batch, &opts, self.now_ns);
        batch[0].md
    }

    /// `ct(commit)` in zone 0: the state bits.
    pub fn commit(&self, frame: &[u8]) -> u8 {
        self.run(frame, commit(0)).state.0
    }

    /// `ct()` (no commit) in zone 0: the state bits.
    pub fn lookup(&self, frame: &[u8]) -> u8 {
        self.run(frame, CtOpts::default()).state.0
    }

    /// Sorted dump lines (`-s` when `stats`).
    pub fn dump(&self, zone: Option<u16>, stats: bool) -> Vec<String> {
        let mut v: Vec<String> = self
            .ct
            .dump_all(zone, self.now_ns)
            .iter()
            .map(|e| e.format(stats))
            .collect();
        v.sort();
        v
    }
}

pub fn commit(zone: u16) -> CtOpts {
    CtOpts {
        zone,
        commit: true,
        ..CtOpts::default()
    }
}

pub fn st(bits: u8) -> CtState {
    CtState(bits)
}

/// TCP flag letters: S F R P A U.
pub struct Tcp {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub sport: u16,
    pub dport: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: &'static str,
    pub win: u16,
    pub payload: usize,
    pub wscale: Option<u8>,
}

impl Tcp {
    pub fn new(flags: &'static str, seq: u32, ack: u32) -> Self {
        Tcp {
            src: A,
            dst: B,
            sport: 1234,
            dport: 80,
            seq,
            ack,
            flags,
            win: 65535,
            payload: 0,
            wscale: None,
        }
    }

    /// The same segment shape from B to A (reply direction).
    pub fn reply(flags: &'static str, seq: u32, ack: u32) -> Self {
        let mut t = Self::new(flags, seq, ack);
        t.src = B;
        t.dst = A;
        t.sport = 80;
        t.dport = 1234;
        t
    }

    pub fn len(mut self, n: usize) -> Self {
        self.payload = n;
        self
    }

    pub fn win(mut self, w: u16) -> Self {
        self.win = w;
        self
    }

    pub fn ws(mut self, s: u8) -> Self {
        self.wscale = Some(s);
        self
    }

    pub fn build(&self) -> Vec<u8> {
        let mut b = PacketBuilder::ethernet2(MAC_A, MAC_B)
            .ipv4(self.src, self.dst, 64)
            .tcp(self.sport, self.dport, self.seq, self.win);
        for c in self.flags.chars() {
            b = match c {
                'S' => b.syn(),
                'F' => b.fin(),
                'R' => b.rst(),
                'P' => b.psh(),
                'A' => b.ack(self.ack),
                'U' => b.urg(0),
                _ => panic!("flag {c}"),
            };
        }
        if let Some(s) = self.wscale {
            b = b
                .options(&[TcpOptionElement::Noop, TcpOptionElement::WindowScale(s)])
                .unwrap();
        }
        let mut out = Vec::new();
        b.write(&mut out, &vec![0x61; self.payload]).unwrap();
        out
    }

    pub fn build6(&self) -> Vec<u8> {
        let (s, d) = if self.src == A { (A6, B6) } else { (B6, A6) };
        let mut b = PacketBuilder::ethernet2(MAC_A, MAC_B)
            .ipv6(s, d, 64)
            .tcp(self.sport, self.dport, self.seq, self.win);
        for c in self.flags.chars() {
            b = match c {
                'S' => b.syn(),
                'F' => b.fin(),
                'R' => b.rst(),
                'P' => b.psh(),
                'A' => b.ack(self.ack),
                _ => panic!("flag {c}"),
            };
        }
        let mut out = Vec::new();
        b.write(&mut out, &vec![0x61; self.payload]).unwrap();
        out
    }
}

pub fn udp4(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(src, dst, 64)
        .udp(sport, dport)
        .write(&mut out, payload)
        .unwrap();
    out
}

pub fn udp6(src: [u8; 16], dst: [u8; 16], sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv6(src, dst, 64)
        .udp(sport, dport)
        .write(&mut out, payload)
        .unwrap();
    out
}

/// A-to-B UDP 1→2 like OVS's benchmark packet.
pub fn udp_ab() -> Vec<u8> {
    udp4(A, B, 1, 2, &[])
}

pub fn udp_ba() -> Vec<u8> {
    udp4(B, A, 2, 1, &[])
}

pub fn icmp4_echo(src: [u8; 4], dst: [u8; 4], id: u16, request: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B).ipv4(src, dst, 64);
    let b = if request {
        b.icmpv4_echo_request(id, 1)
    } else {
        b.icmpv4_echo_reply(id, 1)
    };
    b.write(&mut out, b"ping").unwrap();
    out
}

pub fn icmp6_echo(src: [u8; 16], dst: [u8; 16], id: u16, request: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let b = PacketBuilder::ethernet2(MAC_A, MAC_B).ipv6(src, dst, 64);
    let b = if request {
        b.icmpv6_echo_request(id, 1)
    } else {
        b.icmpv6_echo_reply(id, 1)
    };
    b.write(&mut out, b"ping").unwrap();
    out
}

/// An ICMPv4 error of `ty`/`code` from `src` to `dst` quoting the IP packet in `quoted_frame`
/// (an Ethernet frame; its first 28 bytes of IP are quoted).
pub fn icmp4_error(src: [u8; 4], dst: [u8; 4], ty: u8, code: u8, quoted_frame: &[u8]) -> Vec<u8> {
    let ip = &quoted_frame[14..];
    let q = &ip[..ip.len().min(28)];
    let mut out = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv4(src, dst, 64)
        .icmpv4_raw(ty, code, [0; 4])
        .write(&mut out, q)
        .unwrap();
    out
}

pub fn icmp6_error(src: [u8; 16], dst: [u8; 16], ty: u8, code: u8, quoted_frame: &[u8]) -> Vec<u8> {
    let ip = &quoted_frame[14..];
    let mut out = Vec::new();
    PacketBuilder::ethernet2(MAC_A, MAC_B)
        .ipv6(src, dst, 64)
        .icmpv6_raw(ty, code, [0; 4])
        .write(&mut out, ip)
        .unwrap();
    out
}

/// A raw IPv4 packet of protocol `proto` (e.g. 47 GRE) with `payload`.
pub fn ip4_proto(src: [u8; 4], dst: [u8; 4], proto: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x50, 0x54, 0, 0, 0, 10, 0x50, 0x54, 0, 0, 0, 9, 0x08, 0x00];
    let tot = 20 + payload.len();
    let mut ip = vec![
        0x45,
        0,
        (tot >> 8) as u8,
        tot as u8,
        0,
        0,
        0x40,
        0,
        64,
        proto,
        0,
        0,
    ];
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let c = conntrack::internet_checksum(&ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(payload);
    f
}

/// Inserts an 8-byte IPv6 extension header of type `ext` (0 hop-by-hop, 60 destination
/// options, 44 fragment) right after the IPv6 header of an Ethernet frame.
pub fn with_ipv6_ext(frame: &[u8], ext: u8) -> Vec<u8> {
    let mut f = frame.to_vec();
    let l3 = 14;
    let nxt = f[l3 + 6];
    f[l3 + 6] = ext;
    let plen = u16::from_be_bytes([f[l3 + 4], f[l3 + 5]]) + 8;
    f[l3 + 4..l3 + 6].copy_from_slice(&plen.to_be_bytes());
    let hdr = if ext == 44 {
        // Fragment header: offset 0, more fragments set.
        [nxt, 0, 0, 1, 0, 0, 0, 7]
    } else {
        [nxt, 0, 1, 4, 0, 0, 0, 0]
    };
    f.splice(l3 + 40..l3 + 40, hdr);
    f
}
