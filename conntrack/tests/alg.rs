//! ALG helpers without NAT: FTP (active, passive, EPRT/EPSV, IPv6) and TFTP expectations
//! making `+rel` connections, zones, marks, hostile payloads.

mod common;

use common::*;
use conntrack::{Alg, CtMeta, CtOpts, NS_PER_S};
use etherparse::PacketBuilder;

const C: [u8; 4] = A;
const S: [u8; 4] = B;
const MAC_1: [u8; 6] = [0x50, 0x54, 0, 0, 0, 9];
const MAC_2: [u8; 6] = [0x50, 0x54, 0, 0, 0, 10];

/// A TCP segment (flags: letters S A P F R) with `payload`, IPv4.
pub fn tcp4(
    src: [u8; 4],
    dst: [u8; 4],
    ports: (u16, u16),
    seq: u32,
    ack: u32,
    flags: &str,
    payload: &[u8],
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(MAC_1, MAC_2)
        .ipv4(src, dst, 64)
        .tcp(ports.0, ports.1, seq, 65535);
    let b = tcp_flags(b, flags, ack);
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

/// The same over IPv6.
pub fn tcp6(
    src: [u8; 16],
    dst: [u8; 16],
    ports: (u16, u16),
    seq: u32,
    ack: u32,
    flags: &str,
    payload: &[u8],
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(MAC_1, MAC_2)
        .ipv6(src, dst, 64)
        .tcp(ports.0, ports.1, seq, 65535);
    let b = tcp_flags(b, flags, ack);
    let mut out = Vec::new();
    b.write(&mut out, payload).unwrap();
    out
}

fn tcp_flags(
    mut b: etherparse::PacketBuilderStep<etherparse::TcpHeader>,
    flags: &str,
    ack: u32,
) -> etherparse::PacketBuilderStep<etherparse::TcpHeader> {
    for c in flags.chars() {
        b = match c {
            'S' => b.syn(),
            'F' => b.fin(),
            'R' => b.rst(),
            'P' => b.psh(),
            'A' => b.ack(ack),
            _ => panic!("flag {c}"),
        };
    }
    b
}

fn alg(zone: u16, a: Alg) -> CtOpts {
    CtOpts {
        alg: Some(a),
        ..commit(zone)
    }
}

fn lookup(zone: u16) -> CtOpts {
    CtOpts {
        zone,
        ..CtOpts::default()
    }
}

/// An FTP control connection C:40000 -> S:21 after the handshake; client's next seq 1001,
/// server's 5001. Each segment goes through `opts_c` (client side) / `opts_s` (server side).
struct Ftp4<'a> {
    h: &'a H,
    zone: u16,
    cseq: u32,
    sseq: u32,
}

impl<'a> Ftp4<'a> {
    fn open(h: &'a H, zone: u16) -> Self {
        let syn = tcp4(C, S, (40000, 21), 1000, 0, "S", b"");
        assert_eq!(h.run(&syn, alg(zone, Alg::Ftp)).state, st(TRK | NEW));
        let sa = tcp4(S, C, (21, 40000), 5000, 1001, "SA", b"");
        assert_eq!(h.run(&sa, lookup(zone)).state, st(TRK | EST | RPL));
        let a = tcp4(C, S, (40000, 21), 1001, 5001, "A", b"");
        assert_eq!(h.run(&a, lookup(zone)).state, st(TRK | EST));
        Ftp4 {
            h,
            zone,
            cseq: 1001,
            sseq: 5001,
        }
    }

    /// Client sends `text`; returns its metadata.
    fn client(&mut self, text: &[u8]) -> CtMeta {
        let p = tcp4(C, S, (40000, 21), self.cseq, self.sseq, "PA", text);
        self.cseq += text.len() as u32;
        self.h.run(&p, lookup(self.zone))
    }

    /// Server sends `text`.
    fn server(&mut self, text: &[u8]) -> CtMeta {
        let p = tcp4(S, C, (21, 40000), self.sseq, self.cseq, "PA", text);
        self.sseq += text.len() as u32;
        self.h.run(&p, lookup(self.zone))
    }
}

#[test]
fn active_ftp_port_makes_the_servers_data_connection_related() {
    let h = H::new();
    let mut f = Ftp4::open(&h, 0);
    assert_eq!(f.server(b"220 hello\r\n").state, st(TRK | EST | RPL));
    assert_eq!(f.client(b"PORT 10,1,1,1,156,64\r\n").state, st(TRK | EST));
    // Server -> client:40000 from port 20: new and related; lookup only (no commit) does not
    // consume the expectation.
    let syn = tcp4(S, C, (20, 40000), 9000, 0, "S", b"");
    let md = h.run(&syn, lookup(0));
    assert_eq!(md.state, st(TRK | NEW | REL));
    // The original tuple reported is the parent's (the control connection), as OVS.
    let o = md.orig.unwrap();
    assert_eq!((o.src_port, o.dst_port, o.proto), (40000, 21, 6));
    assert_eq!(h.run(&syn, commit(0)).state, st(TRK | NEW | REL));
    // Later packets of the data connection stay +rel.
    let sa = tcp4(C, S, (40000, 20), 7000, 9001, "SA", b"");
    assert_eq!(h.run(&sa, lookup(0)).state, st(TRK | EST | REL | RPL));
    let lines = h.dump(None, false);
    assert_eq!(
        lines,
        vec![
            "tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=40000,dport=21),reply=(src=10.1.1.2,dst=10.1.1.1,sport=21,dport=40000),protoinfo=(state=ESTABLISHED),helper=ftp".to_string(),
            "tcp,orig=(src=10.1.1.2,dst=10.1.1.1,sport=20,dport=40000),reply=(src=10.1.1.1,dst=10.1.1.2,sport=40000,dport=20),protoinfo=(state=ESTABLISHED)".to_string(),
        ]
    );
}

#[test]
fn wrong_port_or_consumed_expectation_is_not_related() {
    let h = H::new();
    let mut f = Ftp4::open(&h, 0);
    f.client(b"PORT 10,1,1,1,156,64\r\n");
    // Another destination port: not expected.
    let other = tcp4(S, C, (20, 40001), 9000, 0, "S", b"");
    assert_eq!(h.run(&other, lookup(0)).state, st(TRK | NEW));
    // Committed once: consumed; a second connection to the same port is a plain new one.
    let syn = tcp4(S, C, (20, 40000), 9000, 0, "S", b"");
    assert_eq!(h.run(&syn, commit(0)).state, st(TRK | NEW | REL));
    let syn2 = tcp4(S, C, (2020, 40000), 9000, 0, "S", b"");
    assert_eq!(h.run(&syn2, lookup(0)).state, st(TRK | NEW));
}

#[test]
fn passive_ftp_227_makes_the_clients_data_connection_related() {
    let h = H::new();
    let mut f = Ftp4::open(&h, 0);
    assert_eq!(f.client(b"PASV\r\n").state, st(TRK | EST));
    let r = f.server(b"227 Entering Passive Mode (10,1,1,2,195,80).\r\n");
    assert_eq!(r.state, st(TRK | EST | RPL));
    let syn = tcp4(C, S, (40100, 50000), 100, 0, "S", b"");
    assert_eq!(h.run(&syn, commit(0)).state, st(TRK | NEW | REL));
    // A 227 sent by the client is not a reply: ignored.
    f.client(b"227 Entering Passive Mode (10,1,1,2,195,81).\r\n");
    let syn = tcp4(C, S, (40101, 50001), 100, 0, "S", b"");
    assert_eq!(h.run(&syn, lookup(0)).state, st(TRK | NEW));
}

#[test]
fn extended_commands_on_ipv4() {
    let h = H::new();
    let mut f = Ftp4::open(&h, 0);
    f.client(b"EPRT |1|10.1.1.1|6000|\r\n");
    let syn = tcp4(S, C, (20, 6000), 9000, 0, "S", b"");
    assert_eq!(h.run(&syn, lookup(0)).state, st(TRK | NEW | REL));
    f.server(b"229 Entering Extended Passive Mode (|||6001|)\r\n");
    let syn = tcp4(C, S, (40200, 6001), 9000, 0, "S", b"");
    assert_eq!(h.run(&syn, lookup(0)).state, st(TRK | NEW | REL));
    // EPRT naming the other family on an IPv4 control connection: ignored.
    f.client(b"EPRT |2|fe80::1|6002|\r\n");
    let syn = tcp4(S, C, (20, 6002), 9000, 0, "S", b"");
    assert_eq!(h.run(&syn, lookup(0)).state, st(TRK | NEW));
}

#[test]
fn ftp_over_ipv6_eprt_and_epsv() {
    let h = H::new();
    let l = lookup(0);
    let syn = tcp6(A6, B6, (40000, 21), 1000, 0, "S", b"");
    assert_eq!(h.run(&syn, alg(0, Alg::Ftp)).state, st(TRK | NEW));
    let sa = tcp6(B6, A6, (21, 40000), 5000, 1001, "SA", b"");
    assert_eq!(h.run(&sa, l).state, st(TRK | EST | RPL));
    let eprt = b"EPRT |2|fe80::1|45000|\r\n";
    let p = tcp6(A6, B6, (40000, 21), 1001, 5001, "PA", eprt);
    assert_eq!(h.run(&p, l).state, st(TRK | EST));
    let data = tcp6(B6, A6, (20, 45000), 1, 0, "S", b"");
    assert_eq!(h.run(&data, commit(0)).state, st(TRK | NEW | REL));
    let cseq = 1001 + eprt.len() as u32;
    let epsv = b"229 Entering Extended Passive Mode (|||45001|)\r\n";
    let p = tcp6(B6, A6, (21, 40000), 5001, cseq, "PA", epsv);
    assert_eq!(h.run(&p, l).state, st(TRK | EST | RPL));
    let data = tcp6(A6, B6, (40500, 45001), 1, 0, "S", b"");
    assert_eq!(h.run(&data, commit(0)).state, st(TRK | NEW | REL));
    // PORT is IPv4 only.
    let port = b"PORT 10,1,1,1,175,201\r\n";
    let p = tcp6(
        A6,
        B6,
        (40000, 21),
        cseq,
        5001 + epsv.len() as u32,
        "PA",
        port,
    );
    assert_eq!(h.run(&p, l).state, st(TRK | EST));
    let data = tcp6(B6, A6, (20, 45001), 1, 0, "S", b"");
    assert_eq!(h.run(&data, l).state, st(TRK | NEW));
    let lines = h.dump(None, false);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines.iter().any(|l| l.ends_with(",helper=ftp")
        && l.starts_with("tcp,orig=(src=fe80::1,dst=fe80::2,sport=40000,dport=21)")));
}

#[test]
fn expectation_is_per_zone() {
    let h = H::new();
    let mut f = Ftp4::open(&h, 5);
    f.client(b"PORT 10,1,1,1,156,64\r\n");
    let syn = tcp4(S, C, (20, 40000), 9000, 0, "S", b"");
    assert_eq!(h.run(&syn, lookup(6)).state, st(TRK | NEW));
    assert_eq!(h.run(&syn, lookup(0)).state, st(TRK | NEW));
    let md = h.run(&syn, lookup(5));
    assert_eq!(md.state, st(TRK | NEW | REL));
    assert_eq!(md.zone, 5);
}

#[test]
fn related_connection_inherits_mark_and_label_and_keeps_them() {
    let h = H::new();
    let syn = tcp4(C, S, (40000, 21), 1000, 0, "S", b"");
    let marked = CtOpts {
        set_mark: Some((0x2a, u32::MAX)),
        set_label: Some((0x1234, u128::MAX)),
        ..alg(0, Alg::Ftp)
    };
    h.run(&syn, marked);
    let sa = tcp4(S, C, (21, 40000), 5000, 1001, "SA", b"");
    h.run(&sa, lookup(0));
    let p = tcp4(
        C,
        S,
        (40000, 21),
        1001,
        5001,
        "PA",
        b"PORT 10,1,1,1,156,64\r\n",
    );
    h.run(&p, lookup(0));
    let data = tcp4(S, C, (20, 40000), 9000, 0, "S", b"");
    // Not committed: the packet still carries the parent's mark and label.
    let md = h.run(&data, lookup(0));
    assert_eq!((md.mark, md.label), (0x2a, 0x1234));
    // Committed with a mark of its own: a related connection keeps the parent's (OVS).
    let md = h.run(
        &data,
        CtOpts {
            set_mark: Some((7, u32::MAX)),
            ..commit(0)
        },
    );
    assert_eq!(md.state, st(TRK | NEW | REL));
    assert_eq!((md.mark, md.label), (0x2a, 0x1234));
    let lines = h.dump(None, false);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("sport=20,dport=40000") && l.contains(",mark=42,labels=0x1234")),
        "{lines:?}"
    );
}

#[test]
fn no_alg_no_expectation() {
    let h = H::new();
    let syn = tcp4(C, S, (40000, 21), 1000, 0, "S", b"");
    assert_eq!(h.run(&syn, commit(0)).state, st(TRK | NEW));
    let sa = tcp4(S, C, (21, 40000), 5000, 1001, "SA", b"");
    h.run(&sa, lookup(0));
    let p = tcp4(
        C,
        S,
        (40000, 21),
        1001,
        5001,
        "PA",
        b"PORT 10,1,1,1,156,64\r\n",
    );
    assert_eq!(h.run(&p, lookup(0)).state, st(TRK | EST));
    let data = tcp4(S, C, (20, 40000), 9000, 0, "S", b"");
    assert_eq!(h.run(&data, lookup(0)).state, st(TRK | NEW));
    assert!(h.dump(None, false).iter().all(|l| !l.contains("helper")));
}

#[test]
fn hostile_and_split_commands_are_ignored() {
    let h = H::new();
    let mut f = Ftp4::open(&h, 0);
    // Split inside the port number: the first half must not be read as port 4*256+1.
    assert_eq!(f.client(b"PORT 10,1,1,1,4,1").state, st(TRK | EST));
    assert_eq!(f.client(b"7\r\n").state, st(TRK | EST));
    // Bounce: an address that is not the client's.
    f.client(b"PORT 10,1,1,9,4,2\r\n");
    // Garbage of all kinds.
    for junk in [
        &b"PORT\r\n"[..],
        b"PORT 999,1,1,1,4,3\r\n",
        b"PORT 10,1,1,1,0,0\r\n",
        b"PORT 10,1,1,1,4,3,5\r\n",
        b"EPRT |1|10.1.1.1|99999|\r\n",
        b"EPRT |1|10.1.1.1|0|\r\n",
        b"EPRT 1|10.1.1.1|1028|\r\n",
        b"EPRT |1|10.1.1.1.1|1029|\r\n",
        &[0xff; 300],
        b"",
    ] {
        assert_eq!(f.client(junk).state, st(TRK | EST), "{junk:?}");
    }
    for port in [1025u16, 1026, 1027, 1028, 1029, 4 * 256 + 3] {
        let syn = tcp4(S, C, (20, port), 9000, 0, "S", b"");
        assert_eq!(h.run(&syn, lookup(0)).state, st(TRK | NEW), "port {port}");
    }
}

#[test]
fn expectation_dies_with_its_parent() {
    let mut h = H::new();
    {
        let mut f = Ftp4::open(&h, 0);
        f.client(b"PORT 10,1,1,1,156,64\r\n");
    }
    let syn = tcp4(S, C, (20, 40000), 9000, 0, "S", b"");
    assert_eq!(h.run(&syn, lookup(0)).state, st(TRK | NEW | REL));
    // Flushing the parent removes what it announced.
    h.ct.flush(conntrack::FlushFilter::All);
    assert_eq!(h.run(&syn, lookup(0)).state, st(TRK | NEW));
    // An expired parent, likewise.
    {
        let mut f = Ftp4::open(&h, 0);
        f.client(b"PORT 10,1,1,1,156,64\r\n");
    }
    assert_eq!(h.run(&syn, lookup(0)).state, st(TRK | NEW | REL));
    h.advance_s(6 * 24 * 3600);
    assert_eq!(h.run(&syn, lookup(0)).state, st(TRK | NEW));
    let _ = NS_PER_S;
}

#[test]
fn tftp_request_makes_the_servers_answer_related() {
    let h = H::new();
    let rrq = udp4(C, S, 50000, 69, b"\x00\x01file\x00octet\x00");
    assert_eq!(h.run(&rrq, alg(0, Alg::Tftp)).state, st(TRK | NEW));
    // The server answers from a new port.
    let data = udp4(S, C, 60000, 50000, b"\x00\x03\x00\x01hello");
    assert_eq!(h.run(&data, lookup(0)).state, st(TRK | NEW | REL));
    assert_eq!(h.run(&data, commit(0)).state, st(TRK | NEW | REL));
    let ack = udp4(C, S, 50000, 60000, b"\x00\x04\x00\x01");
    assert_eq!(h.run(&ack, lookup(0)).state, st(TRK | EST | REL | RPL));
    assert_eq!(
        h.dump(None, false),
        vec![
            "udp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=50000,dport=69),reply=(src=10.1.1.2,dst=10.1.1.1,sport=69,dport=50000),helper=tftp".to_string(),
            "udp,orig=(src=10.1.1.2,dst=10.1.1.1,sport=60000,dport=50000),reply=(src=10.1.1.1,dst=10.1.1.2,sport=50000,dport=60000)".to_string(),
        ]
    );
    // TFTP over IPv6.
    let rrq = udp6(A6, B6, 50001, 69, b"\x00\x01f\x00octet\x00");
    h.run(&rrq, alg(0, Alg::Tftp));
    let data = udp6(B6, A6, 60001, 50001, b"\x00\x03\x00\x01x");
    assert_eq!(h.run(&data, lookup(0)).state, st(TRK | NEW | REL));
}

#[test]
fn tftp_without_alg_is_not_related() {
    let h = H::new();
    let rrq = udp4(C, S, 50000, 69, b"\x00\x01file\x00octet\x00");
    h.run(&rrq, commit(0));
    let data = udp4(S, C, 60000, 50000, b"\x00\x03\x00\x01hello");
    assert_eq!(h.run(&data, lookup(0)).state, st(TRK | NEW));
}

#[test]
fn a_parent_keeps_its_latest_expectations_only() {
    let h = H::new();
    let mut f = Ftp4::open(&h, 0);
    // Six PORT commands: the parent keeps the last four.
    for p in 0..6u16 {
        let port = 50000 + p;
        let cmd = format!("PORT 10,1,1,1,{},{}\r\n", port >> 8, port & 0xff);
        f.client(cmd.as_bytes());
    }
    assert_eq!(h.ct.expectation_count(), 4);
    for p in 0..6u16 {
        let syn = tcp4(S, C, (20, 50000 + p), 9000, 0, "S", b"");
        let want = if p < 2 { TRK | NEW } else { TRK | NEW | REL };
        assert_eq!(h.run(&syn, lookup(0)).state, st(want), "port {}", 50000 + p);
    }
    // The same command again does not add a second copy.
    f.client(b"PORT 10,1,1,1,195,85\r\n");
    assert_eq!(h.ct.expectation_count(), 4);
}

#[test]
fn icmp_error_about_a_data_connection_is_related_and_no_helper_runs() {
    let h = H::new();
    let rrq = udp4(C, S, 50000, 69, b"\x00\x01file\x00octet\x00");
    h.run(&rrq, alg(0, Alg::Tftp));
    let data = udp4(S, C, 60000, 50000, b"\x00\x03\x00\x01hello");
    assert_eq!(h.run(&data, commit(0)).state, st(TRK | NEW | REL));
    let err = icmp4_error(C, S, 3, 3, &data);
    assert_eq!(h.run(&err, lookup(0)).state, st(TRK | REL | RPL));
    assert_eq!(h.ct.expectation_count(), 0);
}
