//! NAT: translation set-up, both directions, ICMP errors, collisions, exhaustion, IPv6.
//! Rewritten frames are compared byte for byte with frames built from scratch by etherparse
//! (which computes every checksum afresh), so incremental checksum updates are verified by
//! recomputation.

mod common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use common::*;
use conntrack::{Config, Conntrack, CtMeta, CtOpts, CtPacket, NatConfig, NatKind};

const SNAT: u8 = 0x40;
const DNAT: u8 = 0x80;
const X: [u8; 4] = [10, 1, 1, 240];
const R: [u8; 4] = [10, 9, 9, 9];

fn v4(a: [u8; 4]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(a))
}

fn nat_opts(zone: u16, commit: bool, nat: NatConfig) -> CtOpts {
    CtOpts {
        zone,
        commit,
        nat: Some(nat),
        ..CtOpts::default()
    }
}

fn reverse_nat(zone: u16) -> CtOpts {
    nat_opts(zone, false, NatConfig::REVERSE)
}

/// Runs `frame` through `ct` and applies the rewrite to it.
fn run(ct: &Conntrack, frame: &mut [u8], opts: CtOpts, md: CtMeta) -> CtMeta {
    let mut p = CtPacket::derive(frame);
    p.md = md;
    let mut b = [p];
    ct.execute(&mut b, &opts, 1_000_000_000_000);
    let (md, rw) = (b[0].md, b[0].rewrite);
    assert!(rw.apply(frame), "rewrite applies");
    md
}

fn tcp(src: [u8; 4], dst: [u8; 4], sport: u16, dport: u16, flags: &'static str) -> Vec<u8> {
    let mut t = Tcp::new(flags, 100, 500);
    t.src = src;
    t.dst = dst;
    t.sport = sport;
    t.dport = dport;
    t.build()
}

#[test]
fn snat_translates_both_directions_with_valid_checksums() {
    let ct = Conntrack::new(Config::default());
    let mut syn = tcp(A, B, 1234, 80, "S");
    let md = run(
        &ct,
        &mut syn,
        nat_opts(1, true, NatConfig::to_addr(NatKind::Src, v4(X))),
        CtMeta::default(),
    );
    assert_eq!(md.state.0, TRK | NEW | SNAT);
    assert_eq!(
        syn,
        tcp(X, B, 1234, 80, "S"),
        "source translated, port kept"
    );
    // The reply comes back to the translated address and is un-NATed.
    let mut synack = tcp(B, X, 80, 1234, "SA");
    let md = run(&ct, &mut synack, reverse_nat(1), CtMeta::default());
    assert_eq!(
        md.state.0,
        TRK | EST | RPL | DNAT,
        "reply of an SNAT conn gets +dnat"
    );
    assert_eq!(synack, tcp(B, A, 80, 1234, "SA"));
    let d = ct.dump_all(None, 1_000_000_000_000);
    assert_eq!(d.len(), 1, "one entry although linked under two keys");
    assert!(
        d[0].format(false).starts_with(
            "tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=1234,dport=80),reply=(src=10.1.1.2,dst=10.1.1.240,sport=80,dport=1234),zone=1,"
        ),
        "{}",
        d[0].format(false)
    );
    // Later original-direction packets get the stored translation under a bare `nat`.
    let mut ack = tcp(A, B, 1234, 80, "A");
    let md = run(&ct, &mut ack, reverse_nat(1), CtMeta::default());
    assert_eq!(md.state.0, TRK | EST | SNAT);
    assert_eq!(ack, tcp(X, B, 1234, 80, "A"));
    // Without `nat` in the ct action, nothing is translated and no NAT bit is reported.
    let mut ack2 = tcp(A, B, 1234, 80, "A");
    let md = run(&ct, &mut ack2, commit(1), CtMeta::default());
    assert_eq!(md.state.0, TRK | EST);
    assert_eq!(ack2, tcp(A, B, 1234, 80, "A"));
    assert_eq!(ct.len(), 1);
}

#[test]
fn dnat_only_connection_never_shows_snat_on_original_packets() {
    let ct = Conntrack::new(Config::default());
    let vip = [172, 16, 1, 1];
    let nat = NatConfig::to_addr(NatKind::Dst, v4(B)).with_ports(8080, 8080);
    let mut q = udp4(A, vip, 5000, 53, b"query");
    let md = run(&ct, &mut q, nat_opts(0, true, nat), CtMeta::default());
    assert_eq!(md.state.0, TRK | NEW | DNAT);
    assert_eq!(q, udp4(A, B, 5000, 8080, b"query"));
    let mut q2 = udp4(A, vip, 5000, 53, b"again");
    let md = run(&ct, &mut q2, nat_opts(0, true, nat), CtMeta::default());
    assert_eq!(md.state.0, TRK | NEW | DNAT, "udp stays +new until a reply");
    assert_eq!(q2, udp4(A, B, 5000, 8080, b"again"));
    let mut r = udp4(B, A, 8080, 5000, b"answer");
    let md = run(&ct, &mut r, reverse_nat(0), CtMeta::default());
    assert_eq!(md.state.0, TRK | EST | RPL | SNAT);
    assert_eq!(r, udp4(vip, A, 53, 5000, b"answer"));
    assert_eq!(
        ct.dump_all(None, 1_000_000_000_000)[0].format(false),
        "udp,orig=(src=10.1.1.1,dst=172.16.1.1,sport=5000,dport=53),reply=(src=10.1.1.2,dst=10.1.1.1,sport=8080,dport=5000)"
    );
}

#[test]
fn second_connection_with_the_same_source_port_gets_another_port() {
    let ct = Conntrack::new(Config::default());
    let nat = nat_opts(0, true, NatConfig::to_addr(NatKind::Src, v4(X)));
    let c2 = [10, 1, 1, 3];
    let mut a = udp4(A, B, 40000, 53, b"a");
    let mut b = udp4(c2, B, 40000, 53, b"b");
    run(&ct, &mut a, nat, CtMeta::default());
    run(&ct, &mut b, nat, CtMeta::default());
    assert_eq!(a, udp4(X, B, 40000, 53, b"a"));
    let pb = u16::from_be_bytes([b[34], b[35]]);
    assert_ne!(pb, 40000);
    assert!((1024..=65535).contains(&pb), "same port class");
    assert_eq!(b, udp4(X, B, pb, 53, b"b"));
    // Each reply finds its own connection.
    let mut ra = udp4(B, X, 53, 40000, b"ra");
    let mut rb = udp4(B, X, 53, pb, b"rb");
    run(&ct, &mut ra, reverse_nat(0), CtMeta::default());
    run(&ct, &mut rb, reverse_nat(0), CtMeta::default());
    assert_eq!(ra, udp4(B, A, 53, 40000, b"ra"));
    assert_eq!(rb, udp4(B, c2, 53, 40000, b"rb"));
}

#[test]
fn exhausted_range_leaves_packet_new_untranslated_and_counts() {
    let ct = Conntrack::new(Config::default());
    let nat = nat_opts(
        0,
        true,
        NatConfig::to_addr(NatKind::Src, v4(X)).with_ports(5000, 5001),
    );
    for p in [1000u16, 1001] {
        let mut f = udp4(A, B, p, 53, b"x");
        let md = run(&ct, &mut f, nat, CtMeta::default());
        assert_eq!(md.state.0, TRK | NEW | SNAT);
    }
    let mut f = udp4(A, B, 1002, 53, b"x");
    let md = run(&ct, &mut f, nat, CtMeta::default());
    assert_eq!(md.state.0, TRK | NEW, "as OVS: +new, not translated");
    assert_eq!(f, udp4(A, B, 1002, 53, b"x"));
    assert_eq!(ct.len(), 2);
    assert_eq!(ct.stats().nat_exhausted, 1);
    let mut ports: Vec<String> = ct
        .dump_all(None, 1_000_000_000_000)
        .iter()
        .map(|e| e.reply.dst_port().to_string())
        .collect();
    ports.sort();
    assert_eq!(ports, ["5000", "5001"]);
}

#[test]
fn two_threads_allocate_from_one_pool_without_collisions() {
    let ct = Arc::new(Conntrack::new(Config::default()));
    let nat = nat_opts(
        0,
        true,
        NatConfig::to_addr(NatKind::Src, v4(X)).with_ports(10000, 13999),
    );
    let threads: Vec<_> = (0..2u8)
        .map(|t| {
            let ct = ct.clone();
            std::thread::spawn(move || {
                for i in 0..1500u16 {
                    let mut f = udp4([10, 2, t, (i % 200) as u8], B, 2000 + i, 53, b"x");
                    let md = run(&ct, &mut f, nat, CtMeta::default());
                    assert_eq!(md.state.0, TRK | NEW | SNAT);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let d = ct.dump_all(None, 1_000_000_000_000);
    assert_eq!(d.len(), 3000);
    let mut replies: Vec<_> = d.iter().map(|e| e.reply).collect();
    replies.sort_by_key(|k| k.dst_port());
    replies.dedup();
    assert_eq!(replies.len(), 3000, "every reply key distinct");
    assert!(
        replies
            .iter()
            .all(|k| (10000..=13999).contains(&k.dst_port()))
    );
    assert_eq!(ct.stats().nat_exhausted, 0);
    // Every reply finds its connection.
    for e in &d {
        let k = e.reply;
        let mut f = udp4(B, X, 53, k.dst_port(), b"r");
        let md = run(&ct, &mut f, reverse_nat(0), CtMeta::default());
        assert_eq!(md.state.0, TRK | EST | RPL | DNAT);
    }
}

#[test]
fn icmp_error_quoting_snat_connection_is_related_and_translated_inside_and_out() {
    let ct = Conntrack::new(Config::default());
    let orig = udp4(A, B, 4000, 53, b"dns");
    let mut out = orig.clone();
    run(
        &ct,
        &mut out,
        nat_opts(0, true, NatConfig::to_addr(NatKind::Src, v4(X))),
        CtMeta::default(),
    );
    // A router between rvs and B answers the translated packet.
    let mut err = icmp4_error(R, X, 3, 3, &out);
    let md = run(&ct, &mut err, reverse_nat(0), CtMeta::default());
    assert_eq!(md.state.0, TRK | REL | RPL | DNAT);
    assert_eq!(
        err,
        icmp4_error(R, A, 3, 3, &orig),
        "outer dst and quoted packet un-NATed"
    );
    // The same error without `nat` is related but untouched.
    let mut err2 = icmp4_error(R, X, 3, 3, &out);
    let md = run(&ct, &mut err2, CtOpts::default(), CtMeta::default());
    assert_eq!(md.state.0, TRK | REL | RPL);
    assert_eq!(err2, icmp4_error(R, X, 3, 3, &out));
}

#[test]
fn icmp_error_from_dnat_server_gets_its_source_translated() {
    let ct = Conntrack::new(Config::default());
    let vip = [172, 16, 1, 1];
    let orig = udp4(A, vip, 4000, 53, b"q");
    let mut fwd = orig.clone();
    run(
        &ct,
        &mut fwd,
        nat_opts(0, true, NatConfig::to_addr(NatKind::Dst, v4(B))),
        CtMeta::default(),
    );
    assert_eq!(fwd, udp4(A, B, 4000, 53, b"q"));
    // The server itself says port unreachable.
    let mut err = icmp4_error(B, A, 3, 3, &fwd);
    let md = run(&ct, &mut err, reverse_nat(0), CtMeta::default());
    assert_eq!(md.state.0, TRK | REL | RPL | SNAT);
    assert_eq!(err, icmp4_error(vip, A, 3, 3, &orig));
}

#[test]
fn icmp_echo_snat_changes_addresses_only() {
    let ct = Conntrack::new(Config::default());
    let nat = nat_opts(
        1,
        true,
        NatConfig::to_addr(NatKind::Src, v4(X)).with_ports(20000, 20000),
    );
    let mut req = icmp4_echo(A, B, 77, true);
    let md = run(&ct, &mut req, nat, CtMeta::default());
    assert_eq!(md.state.0, TRK | NEW | SNAT);
    assert_eq!(req, icmp4_echo(X, B, 77, true));
    let mut rep = icmp4_echo(B, X, 77, false);
    let md = run(&ct, &mut rep, reverse_nat(1), CtMeta::default());
    assert_eq!(md.state.0, TRK | EST | RPL | DNAT);
    assert_eq!(rep, icmp4_echo(B, A, 77, false));
    assert_eq!(
        ct.dump_all(None, 1_000_000_000_000)[0].format(false),
        "icmp,orig=(src=10.1.1.1,dst=10.1.1.2,id=77,type=8,code=0),reply=(src=10.1.1.2,dst=10.1.1.240,id=77,type=0,code=0),zone=1"
    );
}

#[test]
fn natted_packet_re_entering_the_zone_finds_its_connection() {
    // `ct(zone=1,nat)` then, after recirculation, `ct(commit,zone=1,exec(set_field:1->ct_mark))`:
    // the second lookup uses the packet's translated tuple (OVS's "SNAT with ct_mark change on
    // reply").
    let ct = Conntrack::new(Config::default());
    let mut req = icmp4_echo(A, B, 9, true);
    run(
        &ct,
        &mut req,
        nat_opts(1, true, NatConfig::to_addr(NatKind::Src, v4(X))),
        CtMeta::default(),
    );
    let mut rep = icmp4_echo(B, X, 9, false);
    let md = run(&ct, &mut rep, reverse_nat(1), CtMeta::default());
    assert_eq!(rep, icmp4_echo(B, A, 9, false));
    let opts = CtOpts {
        zone: 1,
        commit: true,
        set_mark: Some((1, u32::MAX)),
        ..CtOpts::default()
    };
    let md2 = run(&ct, &mut rep, opts, md);
    assert_eq!(md2.state.0, TRK | EST | RPL | DNAT);
    assert_eq!(md2.mark, 1);
    assert_eq!(ct.len(), 1, "no second connection");
    assert_eq!(
        ct.dump_all(None, 1_000_000_000_000)[0].format(false),
        "icmp,orig=(src=10.1.1.1,dst=10.1.1.2,id=9,type=8,code=0),reply=(src=10.1.1.2,dst=10.1.1.240,id=9,type=0,code=0),zone=1,mark=1"
    );
}

#[test]
fn ipv6_snat_with_address_range_and_reply() {
    let ct = Conntrack::new(Config::default());
    let x6 = Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0x240);
    let mut nat = NatConfig::to_addr(NatKind::Src, IpAddr::V6(x6));
    nat.addr_max = Some(IpAddr::V6(Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0x241)));
    let mut f = udp6(A6, B6, 3000, 53, b"six");
    let md = run(&ct, &mut f, nat_opts(0, true, nat), CtMeta::default());
    assert_eq!(md.state.0, TRK | NEW | SNAT);
    let got: [u8; 16] = f[22..38].try_into().unwrap();
    assert!(got == x6.octets() || got == [&x6.octets()[..15], &[0x41]].concat()[..]);
    assert_eq!(f, udp6(got, B6, 3000, 53, b"six"));
    let mut r = udp6(B6, got, 53, 3000, b"back");
    let md = run(&ct, &mut r, reverse_nat(0), CtMeta::default());
    assert_eq!(md.state.0, TRK | EST | RPL | DNAT);
    assert_eq!(r, udp6(B6, A6, 53, 3000, b"back"));
}

#[test]
fn ipv6_icmp_error_quoting_snat_connection_is_translated() {
    let ct = Conntrack::new(Config::default());
    let x6 = [0xfc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x40];
    let r6 = [0xfc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x09, 0x09];
    let orig = udp6(A6, B6, 3000, 53, b"six");
    let mut out = orig.clone();
    run(
        &ct,
        &mut out,
        nat_opts(
            0,
            true,
            NatConfig::to_addr(NatKind::Src, IpAddr::V6(Ipv6Addr::from(x6))),
        ),
        CtMeta::default(),
    );
    let mut err = icmp6_error(r6, x6, 1, 4, &out);
    let md = run(&ct, &mut err, reverse_nat(0), CtMeta::default());
    assert_eq!(md.state.0, TRK | REL | RPL | DNAT);
    assert_eq!(err, icmp6_error(r6, A6, 1, 4, &orig));
}

#[test]
fn nat_connection_expires_and_flushes_as_one_entry() {
    let mut h = H::new();
    let nat = nat_opts(0, true, NatConfig::to_addr(NatKind::Src, v4(X)));
    let mut f = udp4(A, B, 1, 2, b"x");
    let mut p = CtPacket::derive(&f);
    let mut b = [p.clone()];
    h.ct.execute(&mut b, &nat, h.now_ns);
    assert!(b[0].rewrite.apply(&mut f));
    assert_eq!(h.ct.len(), 1);
    assert_eq!(h.ct.flush(conntrack::FlushFilter::All), 1);
    assert_eq!(h.ct.len(), 0);
    assert_eq!(h.ct.stats().removed, 1);
    // Again, then expire and sweep: one removal, one expiry.
    p = CtPacket::derive(&f);
    let mut b = [p];
    let orig = udp4(A, B, 1, 2, b"x");
    let mut b2 = [CtPacket::derive(&orig)];
    h.ct.execute(&mut b2, &nat, h.now_ns);
    h.ct.execute(&mut b, &CtOpts::default(), h.now_ns);
    assert_eq!(h.ct.len(), 1);
    h.advance_s(3600);
    let r = h.ct.sweep(h.now_ns, 1 << 20);
    assert_eq!(r.expired, 1);
    assert_eq!(h.ct.len(), 0);
    assert_eq!(h.ct.stats().expired, 1);
}

#[test]
fn dead_nat_entry_is_replaced_by_a_new_one_and_counted_once() {
    let mut h = H::new();
    let nat = nat_opts(0, true, NatConfig::to_addr(NatKind::Src, v4(X)));
    let orig = udp4(A, B, 7, 8, b"x");
    let mut b = [CtPacket::derive(&orig)];
    h.ct.execute(&mut b, &nat, h.now_ns);
    h.advance_s(3600);
    // Same tuple after the old entry died (not swept yet): a new connection, same translation.
    let mut b = [CtPacket::derive(&orig)];
    h.ct.execute(&mut b, &nat, h.now_ns);
    assert_eq!(b[0].md.state.0, TRK | NEW | SNAT);
    let mut f = orig.clone();
    assert!(b[0].rewrite.apply(&mut f));
    assert_eq!(f, udp4(X, B, 7, 8, b"x"));
    assert_eq!(h.ct.len(), 1);
    let s = h.ct.stats();
    assert_eq!((s.created, s.removed, s.expired), (2, 1, 1));
    h.ct.sweep(h.now_ns, 1 << 20);
    assert_eq!(h.ct.len(), 1, "the live entry survives the sweep");
    assert_eq!(h.ct.stats().removed, 1);
    let mut r = udp4(B, X, 8, 7, b"r");
    let md = run(&h.ct, &mut r, reverse_nat(0), CtMeta::default());
    assert_eq!(md.state.0, TRK | EST | RPL | DNAT);
    assert_eq!(r, udp4(B, A, 8, 7, b"r"));
}

#[test]
fn snat_to_own_address_moves_the_port_when_the_reply_tuple_is_taken() {
    // OVS's "all-zero IP SNAT": a DNATed connection A:30001 -> V:80 (to B:80) holds the reply
    // tuple B:80 -> A:30001; a direct connection A:30001 -> B:80 with nat(src=0.0.0.0) must
    // get another source port.
    let ct = Conntrack::new(Config::default());
    let vip = [172, 1, 1, 2];
    let mut syn = tcp(A, vip, 30001, 80, "S");
    let md = run(
        &ct,
        &mut syn,
        nat_opts(0, true, NatConfig::to_addr(NatKind::Dst, v4(B))),
        CtMeta::default(),
    );
    assert_eq!(md.state.0, TRK | NEW | DNAT);
    let mut syn2 = tcp(A, B, 30001, 80, "S");
    let md = run(&ct, &mut syn2, CtOpts::default(), CtMeta::default());
    assert_eq!(md.state.0, TRK | NEW);
    let zero = NatConfig::to_addr(NatKind::Src, v4([0, 0, 0, 0]));
    let md = run(&ct, &mut syn2, nat_opts(0, true, zero), md);
    assert_eq!(md.state.0, TRK | NEW | SNAT);
    assert_eq!(ct.len(), 2);
    let p = u16::from_be_bytes([syn2[34], syn2[35]]);
    assert_ne!(p, 30001);
    assert_eq!(syn2, tcp(A, B, p, 80, "S"));
}

#[test]
fn persistent_keeps_one_address_per_client_and_own_port_in_range_is_kept() {
    let ct = Conntrack::new(Config::default());
    let mut nat = NatConfig::to_addr(NatKind::Src, v4([10, 1, 1, 240]));
    nat.addr_max = Some(v4([10, 1, 1, 254]));
    nat.persistent = true;
    let opts = nat_opts(0, true, nat.with_ports(5000, 5999));
    let mut picked = Vec::new();
    for (i, server) in [[10, 3, 0, 1], [10, 3, 0, 2], [10, 3, 0, 3], [10, 3, 0, 4]]
        .into_iter()
        .enumerate()
    {
        let mut f = udp4(A, server, 5500 + i as u16, 53, b"p");
        run(&ct, &mut f, opts, CtMeta::default());
        let src: [u8; 4] = f[26..30].try_into().unwrap();
        assert_eq!(
            u16::from_be_bytes([f[34], f[35]]),
            5500 + i as u16,
            "own port in range kept"
        );
        picked.push(src);
    }
    assert!(picked.iter().all(|a| *a == picked[0]), "{picked:?}");
    assert!((240..=254).contains(&picked[0][3]));
}

#[test]
fn dnat_port_range_and_hash_flag_pick_ports_inside_the_range() {
    let ct = Conntrack::new(Config::default());
    let vip = [172, 16, 1, 1];
    let mut nat = NatConfig::to_addr(NatKind::Dst, v4(B)).with_ports(8000, 8003);
    nat.proto_hash = true;
    let mut seen = Vec::new();
    for sp in 0..4u16 {
        let mut f = udp4(A, vip, 6000 + sp, 80, b"d");
        let md = run(&ct, &mut f, nat_opts(0, true, nat), CtMeta::default());
        assert_eq!(md.state.0, TRK | NEW | DNAT);
        let dport = u16::from_be_bytes([f[36], f[37]]);
        assert!((8000..=8003).contains(&dport));
        assert_eq!(f, udp4(A, B, 6000 + sp, dport, b"d"));
        seen.push(dport);
    }
    // Same client port twice: the second gets another destination port of the range (the
    // reply tuple B:dport -> A:6000 must stay unique).
    let mut g = udp4([10, 1, 1, 9], vip, 6000, 80, b"e");
    run(&ct, &mut g, nat_opts(0, true, nat), CtMeta::default());
    assert_eq!(ct.len(), 5);
    assert_eq!(ct.stats().nat_exhausted, 0);
}
