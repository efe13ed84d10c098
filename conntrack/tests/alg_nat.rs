//! FTP with NAT on the control connection: the address in `PORT`/`227`/`EPRT` is rewritten,
//! lengths and checksums follow, sequence numbers are adjusted over later packets in both
//! directions, and the data connection gets the matching translation.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use common::*;
use conntrack::{Alg, CtMeta, CtOpts, CtPacket, NatConfig, NatKind};
use etherparse::PacketBuilder;

const C: [u8; 4] = [10, 1, 1, 1];
const S: [u8; 4] = [10, 1, 1, 2];
const N: [u8; 4] = [10, 1, 1, 240];
const MAC_1: [u8; 6] = [0x50, 0x54, 0, 0, 0, 9];
const MAC_2: [u8; 6] = [0x50, 0x54, 0, 0, 0, 10];

fn flags(
    mut b: etherparse::PacketBuilderStep<etherparse::TcpHeader>,
    flags: &str,
    ack: u32,
) -> etherparse::PacketBuilderStep<etherparse::TcpHeader> {
    for c in flags.chars() {
        b = match c {
            'S' => b.syn(),
            'F' => b.fin(),
            'P' => b.psh(),
            'A' => b.ack(ack),
            _ => panic!("flag {c}"),
        };
    }
    b
}

fn tcp4(
    src: [u8; 4],
    dst: [u8; 4],
    ports: (u16, u16),
    seq: u32,
    ack: u32,
    f: &str,
    payload: &[u8],
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(MAC_1, MAC_2)
        .ipv4(src, dst, 64)
        .tcp(ports.0, ports.1, seq, 65535);
    let mut out = Vec::new();
    flags(b, f, ack).write(&mut out, payload).unwrap();
    out
}

fn tcp6(
    src: [u8; 16],
    dst: [u8; 16],
    ports: (u16, u16),
    seq: u32,
    ack: u32,
    f: &str,
    payload: &[u8],
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(MAC_1, MAC_2)
        .ipv6(src, dst, 64)
        .tcp(ports.0, ports.1, seq, 65535);
    let mut out = Vec::new();
    flags(b, f, ack).write(&mut out, payload).unwrap();
    out
}

/// A parsed TCP segment after the rewrite, with its checksums verified.
#[derive(Debug)]
struct Seg {
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    payload: Vec<u8>,
}

fn sum16(data: &[u8]) -> u32 {
    let mut s = 0u32;
    for c in data.chunks(2) {
        s += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    s
}

fn fold(mut s: u32) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// Parses an Ethernet + IPv4/IPv6 + TCP frame, asserting that every length and checksum is
/// right.
fn check(f: &[u8]) -> Seg {
    let l3 = 14;
    let (src, dst, l4, end, pseudo) = match f[12..14] {
        [0x08, 0x00] => {
            let ihl = usize::from(f[l3] & 0xf) * 4;
            let tot = usize::from(u16::from_be_bytes([f[l3 + 2], f[l3 + 3]]));
            assert_eq!(l3 + tot, f.len(), "IPv4 total length");
            assert_eq!(
                fold(sum16(&f[l3..l3 + ihl])),
                0xffff,
                "IPv4 header checksum"
            );
            let s: [u8; 4] = f[l3 + 12..l3 + 16].try_into().unwrap();
            let d: [u8; 4] = f[l3 + 16..l3 + 20].try_into().unwrap();
            let len = tot - ihl;
            let pseudo = sum16(&f[l3 + 12..l3 + 20]) + 6 + len as u32;
            (IpAddr::from(s), IpAddr::from(d), l3 + ihl, l3 + tot, pseudo)
        }
        [0x86, 0xdd] => {
            let plen = usize::from(u16::from_be_bytes([f[l3 + 4], f[l3 + 5]]));
            assert_eq!(l3 + 40 + plen, f.len(), "IPv6 payload length");
            let s: [u8; 16] = f[l3 + 8..l3 + 24].try_into().unwrap();
            let d: [u8; 16] = f[l3 + 24..l3 + 40].try_into().unwrap();
            let pseudo = sum16(&f[l3 + 8..l3 + 40]) + 6 + plen as u32;
            (
                IpAddr::from(s),
                IpAddr::from(d),
                l3 + 40,
                l3 + 40 + plen,
                pseudo,
            )
        }
        _ => panic!("not IP"),
    };
    let seg = &f[l4..end];
    assert_eq!(fold(pseudo + sum16(seg)), 0xffff, "TCP checksum");
    let doff = usize::from(seg[12] >> 4) * 4;
    Seg {
        src,
        dst,
        sport: u16::from_be_bytes([seg[0], seg[1]]),
        dport: u16::from_be_bytes([seg[2], seg[3]]),
        seq: u32::from_be_bytes(seg[4..8].try_into().unwrap()),
        ack: u32::from_be_bytes(seg[8..12].try_into().unwrap()),
        payload: seg[doff..].to_vec(),
    }
}

/// Runs `frame` through one `ct()` and applies the rewrite it decided; returns the metadata
/// and the frame as it leaves.
fn run(h: &H, frame: &[u8], opts: CtOpts) -> (CtMeta, Vec<u8>) {
    let mut batch = [CtPacket::derive(frame)];
    h.ct.execute(&mut batch, &opts, h.now_ns);
    let mut out = frame.to_vec();
    assert!(batch[0].rewrite.apply_buf(&mut out), "rewrite applies");
    (batch[0].md, out)
}

fn snat(a: [u8; 4]) -> CtOpts {
    CtOpts {
        commit: true,
        nat: Some(NatConfig::to_addr(NatKind::Src, IpAddr::from(a))),
        alg: Some(Alg::Ftp),
        ..CtOpts::default()
    }
}

fn nat() -> CtOpts {
    CtOpts {
        nat: Some(NatConfig::REVERSE),
        ..CtOpts::default()
    }
}

fn commit_nat() -> CtOpts {
    CtOpts {
        commit: true,
        nat: Some(NatConfig::REVERSE),
        ..CtOpts::default()
    }
}

const V4: fn([u8; 4]) -> IpAddr = |a| IpAddr::V4(Ipv4Addr::from(a));

#[test]
fn active_ftp_behind_snat_rewrites_port_and_adjusts_sequence_numbers() {
    let h = H::new();
    // Handshake: C:40000 -> S:21, source-translated to N.
    let (md, out) = run(&h, &tcp4(C, S, (40000, 21), 1000, 0, "S", b""), snat(N));
    assert_eq!(md.state, st(TRK | NEW) | conntrack::CtState::SRC_NAT);
    let syn = check(&out);
    assert_eq!(syn.src, V4(N));
    let np = syn.sport;
    let (_, out) = run(&h, &tcp4(S, N, (21, np), 5000, 1001, "SA", b""), nat());
    assert_eq!(check(&out).dst, V4(C));
    run(&h, &tcp4(C, S, (40000, 21), 1001, 5001, "A", b""), nat());

    // PORT with the client's address: rewritten to N's, two bytes longer.
    let cmd = b"PORT 10,1,1,1,156,64\r\n";
    let (md, out) = run(&h, &tcp4(C, S, (40000, 21), 1001, 5001, "PA", cmd), nat());
    assert_eq!(md.state.0 & (EST | TRK), EST | TRK);
    let s = check(&out);
    assert_eq!(s.payload, b"PORT 10,1,1,240,156,64\r\n");
    assert_eq!((s.src, s.seq, s.ack), (V4(N), 1001, 5001));
    let grown = (s.payload.len() - cmd.len()) as u32;
    assert_eq!(grown, 2);

    // The server acknowledges the longer command; the client must see its own numbering.
    let sack = 1001 + cmd.len() as u32 + grown;
    let reply = b"200 PORT command successful\r\n";
    let (md, out) = run(&h, &tcp4(S, N, (21, np), 5001, sack, "PA", reply), nat());
    assert_eq!(md.state.0 & (EST | RPL), EST | RPL);
    let s = check(&out);
    assert_eq!(
        (s.dst, s.ack, s.seq),
        (V4(C), 1001 + cmd.len() as u32, 5001)
    );
    assert_eq!(s.payload, reply);

    // The client's next segments are moved forward by the growth, several times over.
    let mut cseq = 1001 + cmd.len() as u32;
    let mut sseq = 5001 + reply.len() as u32;
    for text in [&b"LIST\r\n"[..], b"NOOP\r\n", b"PWD\r\n"] {
        let (md, out) = run(&h, &tcp4(C, S, (40000, 21), cseq, sseq, "PA", text), nat());
        assert_eq!(md.state.0 & INV, 0);
        let s = check(&out);
        assert_eq!((s.seq, s.ack), (cseq + grown, sseq));
        assert_eq!(s.payload, text);
        cseq += text.len() as u32;
        let ok = b"200 ok\r\n";
        let (md, out) = run(
            &h,
            &tcp4(S, N, (21, np), sseq, cseq + grown, "PA", ok),
            nat(),
        );
        assert_eq!(md.state.0 & INV, 0);
        let s = check(&out);
        assert_eq!((s.seq, s.ack), (sseq, cseq));
        sseq += ok.len() as u32;
    }

    // The data connection: server port 20 -> N:40000 is related and goes to the client.
    let data = tcp4(S, N, (20, 40000), 9000, 0, "S", b"");
    let (md, _) = run(&h, &data, nat());
    assert_eq!(md.state, st(TRK | NEW | REL));
    let (md, out) = run(&h, &data, commit_nat());
    assert_eq!(md.state.0 & (NEW | REL), NEW | REL);
    let s = check(&out);
    assert_eq!((s.src, s.dst, s.dport), (V4(S), V4(C), 40000));
    // Its reply leaves with the translated source.
    let (md, out) = run(&h, &tcp4(C, S, (40000, 20), 7000, 9001, "SA", b""), nat());
    assert_eq!(md.state.0 & (EST | REL | RPL), EST | REL | RPL);
    let s = check(&out);
    assert_eq!((s.src, s.dst, s.sport), (V4(N), V4(S), 40000));
}

#[test]
fn passive_ftp_behind_dnat_rewrites_227_to_the_public_address() {
    let h = H::new();
    // C -> VIP:21, destination-translated to the real server S.
    let vip = [10, 1, 1, 100];
    let dnat = CtOpts {
        commit: true,
        nat: Some(NatConfig::to_addr(NatKind::Dst, V4(S))),
        alg: Some(Alg::Ftp),
        ..CtOpts::default()
    };
    let (_, out) = run(&h, &tcp4(C, vip, (40000, 21), 1000, 0, "S", b""), dnat);
    assert_eq!(check(&out).dst, V4(S));
    let (_, out) = run(&h, &tcp4(S, C, (21, 40000), 5000, 1001, "SA", b""), nat());
    assert_eq!(check(&out).src, V4(vip));
    run(&h, &tcp4(C, vip, (40000, 21), 1001, 5001, "A", b""), nat());
    run(
        &h,
        &tcp4(C, vip, (40000, 21), 1001, 5001, "PA", b"PASV\r\n"),
        nat(),
    );
    // The server names its real address; the client must be told the VIP (two bytes longer).
    let r = b"227 Entering Passive Mode (10,1,1,2,195,80).\r\n";
    let (md, out) = run(&h, &tcp4(S, C, (21, 40000), 5001, 1007, "PA", r), nat());
    assert_eq!(md.state.0 & INV, 0);
    let s = check(&out);
    assert_eq!(
        s.payload,
        b"227 Entering Passive Mode (10,1,1,100,195,80).\r\n"
    );
    assert_eq!((s.src, s.seq), (V4(vip), 5001));
    // The client's ack of it comes back to the server's numbering.
    let (_, out) = run(
        &h,
        &tcp4(
            C,
            vip,
            (40000, 21),
            1007,
            5001 + r.len() as u32 + 2,
            "A",
            b"",
        ),
        nat(),
    );
    assert_eq!(check(&out).ack, 5001 + r.len() as u32);
    // The next server segment moves forward by two.
    let (_, out) = run(
        &h,
        &tcp4(
            S,
            C,
            (21, 40000),
            5001 + r.len() as u32,
            1007,
            "PA",
            b"150 ok\r\n",
        ),
        nat(),
    );
    assert_eq!(check(&out).seq, 5003 + r.len() as u32);
    // The client's data connection to VIP:50000 is related and translated to S.
    let data = tcp4(C, vip, (40100, 50000), 100, 0, "S", b"");
    let (md, out) = run(&h, &data, commit_nat());
    assert_eq!(md.state.0 & (NEW | REL), NEW | REL);
    let s = check(&out);
    assert_eq!((s.dst, s.dport), (V4(S), 50000));
}

#[test]
fn eprt_over_ipv6_behind_snat() {
    let h = H::new();
    let n6: [u8; 16] = "fc00::f0".parse::<Ipv6Addr>().unwrap().octets();
    let c6: [u8; 16] = "fc00::1".parse::<Ipv6Addr>().unwrap().octets();
    let s6: [u8; 16] = "fc00::2".parse::<Ipv6Addr>().unwrap().octets();
    let opts = CtOpts {
        commit: true,
        nat: Some(NatConfig::to_addr(NatKind::Src, IpAddr::from(n6))),
        alg: Some(Alg::Ftp),
        ..CtOpts::default()
    };
    let (_, out) = run(&h, &tcp6(c6, s6, (40000, 21), 1000, 0, "S", b""), opts);
    let np = check(&out).sport;
    run(&h, &tcp6(s6, n6, (21, np), 5000, 1001, "SA", b""), nat());
    let cmd = b"EPRT |2|fc00::1|45000|\r\n";
    let (_, out) = run(&h, &tcp6(c6, s6, (40000, 21), 1001, 5001, "PA", cmd), nat());
    let s = check(&out);
    assert_eq!(s.payload, b"EPRT |2|fc00::f0|45000|\r\n");
    let grown = (s.payload.len() - cmd.len()) as u32;
    let (_, out) = run(
        &h,
        &tcp6(
            s6,
            n6,
            (21, np),
            5001,
            1001 + cmd.len() as u32 + grown,
            "A",
            b"",
        ),
        nat(),
    );
    assert_eq!(check(&out).ack, 1001 + cmd.len() as u32);
    let (_, out) = run(
        &h,
        &tcp6(
            c6,
            s6,
            (40000, 21),
            1001 + cmd.len() as u32,
            5001,
            "PA",
            b"LIST\r\n",
        ),
        nat(),
    );
    assert_eq!(check(&out).seq, 1001 + cmd.len() as u32 + grown);
    let data = tcp6(s6, n6, (20, 45000), 1, 0, "S", b"");
    let (md, out) = run(&h, &data, commit_nat());
    assert_eq!(md.state.0 & (NEW | REL), NEW | REL);
    assert_eq!(check(&out).dst, IpAddr::from(c6));
}

#[test]
fn retransmitted_port_is_rewritten_again_without_moving_the_offsets_twice() {
    let h = H::new();
    let (_, out) = run(&h, &tcp4(C, S, (40000, 21), 1000, 0, "S", b""), snat(N));
    let np = check(&out).sport;
    run(&h, &tcp4(S, N, (21, np), 5000, 1001, "SA", b""), nat());
    let cmd = b"PORT 10,1,1,1,156,64\r\n";
    let end = 1001 + cmd.len() as u32;
    for _ in 0..3 {
        let (md, out) = run(&h, &tcp4(C, S, (40000, 21), 1001, 5001, "PA", cmd), nat());
        assert_eq!(md.state.0 & INV, 0);
        let s = check(&out);
        assert_eq!(
            (s.seq, s.payload.as_slice()),
            (1001, &b"PORT 10,1,1,240,156,64\r\n"[..])
        );
    }
    // An ack of everything (adjusted) maps back to the end of the original command.
    let (_, out) = run(&h, &tcp4(S, N, (21, np), 5001, end + 2, "A", b""), nat());
    assert_eq!(check(&out).ack, end);
    // An ack of nothing new (before the command) is left alone.
    let (_, out) = run(&h, &tcp4(S, N, (21, np), 5001, 1001, "A", b""), nat());
    assert_eq!(check(&out).ack, 1001);
    let (_, out) = run(
        &h,
        &tcp4(C, S, (40000, 21), end, 5001, "PA", b"QUIT\r\n"),
        nat(),
    );
    assert_eq!(check(&out).seq, end + 2);
}

#[test]
fn dump_of_active_ftp_behind_snat_matches_ovs() {
    let h = H::new();
    let (_, out) = run(&h, &tcp4(C, S, (40000, 21), 1000, 0, "S", b""), snat(N));
    let np = check(&out).sport;
    run(&h, &tcp4(S, N, (21, np), 5000, 1001, "SA", b""), nat());
    run(&h, &tcp4(C, S, (40000, 21), 1001, 5001, "A", b""), nat());
    let cmd = b"PORT 10,1,1,1,156,64\r\n";
    run(&h, &tcp4(C, S, (40000, 21), 1001, 5001, "PA", cmd), nat());
    let data = tcp4(S, N, (20, 40000), 9000, 0, "S", b"");
    run(&h, &data, commit_nat());
    let clear = |l: &String| {
        let mut out = String::new();
        let mut rest = l.as_str();
        while let Some(i) = rest.find("port=") {
            out.push_str(&rest[..i + 5]);
            rest = rest[i + 5..].trim_start_matches(|c: char| c.is_ascii_digit());
            out.push_str("<cleared>");
        }
        out.push_str(rest);
        out.replace("state=SYN_SENT", "state=<cleared>")
            .replace("state=ESTABLISHED", "state=<cleared>")
    };
    let lines: Vec<String> = h.dump(None, false).iter().map(clear).collect();
    // OVS's "conntrack - FTP SNAT prerecirc" expected dump (system-traffic.at).
    assert_eq!(
        lines,
        vec![
            "tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.2,dst=10.1.1.240,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>),helper=ftp".to_string(),
            "tcp,orig=(src=10.1.1.2,dst=10.1.1.240,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>)".to_string(),
        ]
    );
}

#[test]
fn tftp_behind_snat_gets_the_answer_back_to_the_client() {
    let h = H::new();
    let rrq = common::udp4(C, S, 50000, 69, b"\x00\x01file\x00octet\x00");
    let opts = CtOpts {
        alg: Some(Alg::Tftp),
        ..snat(N)
    };
    let mut batch = [CtPacket::derive(&rrq)];
    h.ct.execute(&mut batch, &opts, h.now_ns);
    let mut out = rrq.clone();
    assert!(batch[0].rewrite.apply_buf(&mut out));
    // The request leaves from N (port kept or translated).
    let np = u16::from_be_bytes([out[34], out[35]]);
    assert_eq!(&out[26..30], &N);
    // The server answers from a new port to N:np: related, translated back to C:50000.
    let data = common::udp4(S, N, 60000, np, b"\x00\x03\x00\x01hello");
    let mut batch = [CtPacket::derive(&data)];
    h.ct.execute(&mut batch, &commit_nat(), h.now_ns);
    assert_eq!(batch[0].md.state.0 & (NEW | REL), NEW | REL);
    let mut out = data.clone();
    assert!(batch[0].rewrite.apply_buf(&mut out));
    assert_eq!(&out[30..34], &C);
    assert_eq!(u16::from_be_bytes([out[36], out[37]]), 50000);
    // The client's ack leaves from N:np again.
    let ack = common::udp4(C, S, 50000, 60000, b"\x00\x04\x00\x01");
    let mut batch = [CtPacket::derive(&ack)];
    h.ct.execute(&mut batch, &nat(), h.now_ns);
    assert_eq!(batch[0].md.state.0 & (EST | REL | RPL), EST | REL | RPL);
    let mut out = ack.clone();
    assert!(batch[0].rewrite.apply_buf(&mut out));
    assert_eq!(&out[26..30], &N);
    assert_eq!(u16::from_be_bytes([out[34], out[35]]), np);
}

/// A long exchange with many rewrites and retransmissions: every segment the server gets
/// continues its byte stream exactly, and every acknowledgement the client gets matches the
/// bytes it sent.
#[test]
fn many_rewrites_keep_both_byte_streams_contiguous() {
    let h = H::new();
    let (_, out) = run(&h, &tcp4(C, S, (40000, 21), 1000, 0, "S", b""), snat(N));
    let np = check(&out).sport;
    run(&h, &tcp4(S, N, (21, np), 5000, 1001, "SA", b""), nat());
    // Client raw numbering, and what the server has received (its numbering).
    let (mut c_raw, mut s_got) = (1001u32, 1001u32);
    let mut sseq = 5001u32;
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    for i in 0..60 {
        let r = next();
        let port = 1024 + (r % 60000) as u16;
        let cmd = match r % 3 {
            0 => format!("PORT 10,1,1,1,{},{}\r\n", port >> 8, port & 0xff),
            1 => "NOOP\r\n".to_string(),
            _ => format!("EPRT |1|10.1.1.1|{port}|\r\n"),
        };
        let (md, out) = run(
            &h,
            &tcp4(C, S, (40000, 21), c_raw, sseq, "PA", cmd.as_bytes()),
            nat(),
        );
        assert_eq!(md.state.0 & INV, 0, "segment {i}");
        let s = check(&out);
        assert_eq!(s.seq, s_got, "segment {i}: the server's stream continues");
        if r % 7 == 0 {
            // The same segment again (a retransmission): identical on the wire.
            let (_, again) = run(
                &h,
                &tcp4(C, S, (40000, 21), c_raw, sseq, "PA", cmd.as_bytes()),
                nat(),
            );
            assert_eq!(again, out, "segment {i} retransmitted");
        }
        c_raw += cmd.len() as u32;
        s_got += s.payload.len() as u32;
        // The server acknowledges what it got; the client must see its own count.
        let reply = if r % 2 == 0 {
            &b"200 ok\r\n"[..]
        } else {
            b"200 Command okay.\r\n"
        };
        let (md, out) = run(&h, &tcp4(S, N, (21, np), sseq, s_got, "PA", reply), nat());
        assert_eq!(md.state.0 & INV, 0, "reply {i}");
        let a = check(&out);
        assert_eq!((a.ack, a.seq), (c_raw, sseq), "reply {i}");
        sseq += reply.len() as u32;
    }
    assert!(s_got - c_raw > 0, "the rewrites grew the stream");
}
