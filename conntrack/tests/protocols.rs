//! UDP, ICMP/ICMPv6 (queries and errors), generic protocols, IPv6 extension headers, checksums.

mod common;
use common::*;
use conntrack::{CtOpts, CtPacket, L3};

#[test]
fn udp_first_single_multiple_states_and_timeouts() {
    let mut h = H::new();
    assert_eq!(h.commit(&udp_ab()), TRK | NEW);
    assert_eq!(h.dump(None, true)[0].split(",timeout=").nth(1), Some("60"));
    h.advance_s(10);
    assert_eq!(h.commit(&udp_ab()), TRK | NEW);
    assert!(h.dump(None, true)[0].ends_with("timeout=60"));
    assert_eq!(h.commit(&udp_ba()), TRK | EST | RPL);
    assert!(h.dump(None, true)[0].ends_with("timeout=30"));
    assert_eq!(h.commit(&udp_ab()), TRK | EST);
    assert_eq!(
        h.dump(None, false),
        vec![
            "udp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=1,dport=2),reply=(src=10.1.1.2,dst=10.1.1.1,sport=2,dport=1)"
        ]
    );
}

/// Seed review: the UDP length field is checked against the IP payload.
#[test]
fn udp_bad_length_is_inv() {
    let h = H::new();
    let good = udp4(A, B, 1, 2, b"abcd");
    // UDP length at frame offset 14 + 20 + 4.
    for bad_len in [13u16, 7, 0, 0xffff] {
        let mut f = good.clone();
        f[38..40].copy_from_slice(&bad_len.to_be_bytes());
        let md = h.run(&f, commit(0));
        assert_eq!(md.state.0, TRK | INV, "udp len {bad_len}");
    }
    assert_eq!(h.ct.len(), 0);
    // Shorter than the payload (trailing bytes) is accepted as OVS does, if the checksum
    // verifies over the datagram; with the checksum off (zero) it is.
    let mut f = good.clone();
    f[38..40].copy_from_slice(&8u16.to_be_bytes());
    f[40..42].copy_from_slice(&[0, 0]);
    assert_eq!(h.commit(&f), TRK | NEW);
}

/// Seed review: the UDP checksum is verified when non-zero over IPv4 and always over IPv6.
#[test]
fn udp_bad_checksum_is_inv() {
    let h = H::new();
    let mut f = udp4(A, B, 1, 2, b"abcd");
    f[40] ^= 0x55;
    assert_eq!(h.commit(&f), TRK | INV);
    // Zero means "no checksum" over IPv4.
    f[40..42].copy_from_slice(&[0, 0]);
    assert_eq!(h.commit(&f), TRK | NEW);

    let mut f6 = udp6(A6, B6, 1, 2, b"abcd");
    // UDP checksum at 14 + 40 + 6.
    f6[60] ^= 0x55;
    assert_eq!(h.commit(&f6), TRK | INV);
    f6[60..62].copy_from_slice(&[0, 0]);
    assert_eq!(h.commit(&f6), TRK | INV, "IPv6 requires a UDP checksum");
    assert_eq!(h.commit(&udp6(A6, B6, 1, 2, b"abcd")), TRK | NEW);
}

#[test]
fn checksum_validation_is_skipped_when_the_caller_says_verified() {
    let h = H::new();
    let mut f = udp4(A, B, 1, 2, b"abcd");
    f[40] ^= 0x55;
    let mut p = CtPacket::derive(&f);
    p.checksum_ok = true;
    let mut b = [p];
    h.ct.execute(&mut b, &commit(0), h.now_ns);
    assert_eq!(b[0].md.state.0, TRK | NEW);
}

#[test]
fn ipv4_header_checksum_and_fragments_are_inv() {
    let h = H::new();
    let mut f = udp_ab();
    f[24] ^= 1; // IP header checksum
    assert_eq!(h.commit(&f), TRK | INV);
    let mut f = udp_ab();
    f[20] |= 0x20; // more fragments
    let c = conntrack::internet_checksum(&{
        let mut ip = f[14..34].to_vec();
        ip[10] = 0;
        ip[11] = 0;
        ip
    });
    f[24..26].copy_from_slice(&c.to_be_bytes());
    assert_eq!(h.commit(&f), TRK | INV);
    assert_eq!(h.ct.len(), 0);
}

#[test]
fn udp_port_zero_is_inv() {
    let h = H::new();
    assert_eq!(h.commit(&udp4(A, B, 0, 2, b"")), TRK | INV);
}

#[test]
fn icmp_echo_is_a_connection() {
    let h = H::new();
    assert_eq!(h.commit(&icmp4_echo(A, B, 7, true)), TRK | NEW);
    assert_eq!(h.commit(&icmp4_echo(B, A, 7, false)), TRK | EST | RPL);
    assert_eq!(h.commit(&icmp4_echo(A, B, 7, true)), TRK | EST);
    assert_eq!(
        h.dump(None, true),
        vec![
            "icmp,orig=(src=10.1.1.1,dst=10.1.1.2,id=7,type=8,code=0),reply=(src=10.1.1.2,dst=10.1.1.1,id=7,type=0,code=0),timeout=30"
        ]
    );
    // A reply without a request cannot create a connection; another id is another connection.
    assert_eq!(h.commit(&icmp4_echo(B, A, 8, false)), TRK | INV);
    assert_eq!(h.commit(&icmp4_echo(A, B, 8, true)), TRK | NEW);
}

#[test]
fn icmp_error_quoting_tracked_connection_is_related() {
    let h = H::new();
    assert_eq!(h.commit(&udp_ab()), TRK | NEW);
    // B answers A's datagram with port unreachable: related, in the reply direction.
    let err = icmp4_error(B, A, 3, 3, &udp_ab());
    let md = h.run(&err, CtOpts::default());
    assert_eq!(md.state.0, TRK | REL | RPL);
    assert_eq!(md.orig.unwrap().src_port, 1);
    // A router between them (another address) reports time exceeded to A: also related.
    let err = icmp4_error([10, 9, 9, 9], A, 11, 0, &udp_ab());
    assert_eq!(h.lookup(&err), TRK | REL | RPL);
    // An error quoting an untracked flow is invalid and creates nothing.
    let err = icmp4_error(B, A, 3, 3, &udp4(A, B, 5, 6, b""));
    assert_eq!(h.commit(&err), TRK | INV);
    // The quoted source must be the error's destination.
    let err = icmp4_error(B, [10, 7, 7, 7], 3, 3, &udp_ab());
    assert_eq!(h.lookup(&err), TRK | INV);
    assert_eq!(h.ct.len(), 1);
    // The related error did not change the UDP connection's state.
    assert_eq!(h.lookup(&udp_ab()), TRK | NEW);
}

#[test]
fn icmpv6_echo_and_error() {
    let h = H::new();
    assert_eq!(h.commit(&icmp6_echo(A6, B6, 3, true)), TRK | NEW);
    assert_eq!(h.commit(&icmp6_echo(B6, A6, 3, false)), TRK | EST | RPL);
    assert_eq!(
        h.dump(None, false),
        vec![
            "icmpv6,orig=(src=fe80::1,dst=fe80::2,id=3,type=128,code=0),reply=(src=fe80::2,dst=fe80::1,id=3,type=129,code=0)"
        ]
    );
    let u = udp6(A6, B6, 10, 20, b"x");
    assert_eq!(h.commit(&u), TRK | NEW);
    assert_eq!(h.lookup(&icmp6_error(B6, A6, 1, 4, &u)), TRK | REL | RPL);
    assert_eq!(
        h.lookup(&icmp6_error(B6, A6, 1, 4, &udp6(A6, B6, 11, 20, b"x"))),
        TRK | INV
    );
    // An ICMPv6 error with a bad checksum is invalid.
    let mut e = icmp6_error(B6, A6, 1, 4, &u);
    e[56] ^= 1;
    assert_eq!(h.lookup(&e), TRK | INV);
}

#[test]
fn other_ip_protocols_are_generic_connections() {
    let h = H::new();
    let gre_ab = ip4_proto(A, B, 47, &[0; 8]);
    let gre_ba = ip4_proto(B, A, 47, &[0; 8]);
    assert_eq!(h.commit(&gre_ab), TRK | NEW);
    assert_eq!(h.commit(&gre_ba), TRK | EST | RPL);
    assert_eq!(
        h.dump(None, true),
        vec![
            "47,orig=(src=10.1.1.1,dst=10.1.1.2,sport=0,dport=0),reply=(src=10.1.1.2,dst=10.1.1.1,sport=0,dport=0),timeout=30"
        ]
    );
    let sctp = ip4_proto(A, B, 132, &[0; 12]);
    assert_eq!(h.commit(&sctp), TRK | NEW);
    assert!(
        h.dump(None, false)
            .iter()
            .any(|l| l.starts_with("sctp,orig="))
    );
}

#[test]
fn ipv6_extension_headers_are_walked_and_fragments_are_inv() {
    let h = H::new();
    let hbh = with_ipv6_ext(&udp6(A6, B6, 1, 2, b"abcd"), 0);
    let p = CtPacket::derive(&hbh);
    assert_eq!((p.l3, p.l4_proto, p.l4_ofs), (L3::Ipv6, 17, 14 + 48));
    assert_eq!(h.commit(&hbh), TRK | NEW);
    let dst = with_ipv6_ext(&udp6(B6, A6, 2, 1, b"abcd"), 60);
    assert_eq!(h.commit(&dst), TRK | EST | RPL);
    let frag = with_ipv6_ext(&udp6(A6, B6, 1, 2, b"abcd"), 44);
    assert_eq!(h.commit(&frag), TRK | INV);
    assert_eq!(h.ct.len(), 1);
}

#[test]
fn non_ip_and_truncated_packets_are_inv() {
    let h = H::new();
    let mut arp = udp_ab();
    arp[12..14].copy_from_slice(&[0x08, 0x06]);
    assert_eq!(h.commit(&arp), TRK | INV);
    let f = udp_ab();
    for n in [0, 10, 14, 20, 34, 36, 41] {
        assert_eq!(h.commit(&f[..n]), TRK | INV, "truncated to {n}");
    }
    assert_eq!(h.ct.len(), 0);
}

/// Seed review: the L3/L4 type comes from the caller (the flow key), not from re-parsing.
#[test]
fn l4_type_is_taken_from_caller() {
    let h = H::new();
    let f = udp_ab();
    let mut p = CtPacket::derive(&f);
    // The caller's flow key says protocol 99 (as if the translation layer un-wildcarded it):
    // conntrack tracks a generic protocol-99 connection without looking at the IP header's byte.
    p.l4_proto = 99;
    let mut b = [p];
    h.ct.execute(&mut b, &commit(0), h.now_ns);
    assert_eq!(b[0].md.state.0, TRK | NEW);
    assert_eq!(b[0].md.orig.unwrap().proto, 99);
    assert!(
        h.dump(None, false)[0].starts_with("99,orig=(src=10.1.1.1,dst=10.1.1.2,sport=0,dport=0)")
    );
    // And the L3 type too: a caller that says "not IP" gets +inv even for an IP frame.
    let mut p = CtPacket::derive(&f);
    p.l3 = L3::Other;
    let mut b = [p];
    h.ct.execute(&mut b, &commit(0), h.now_ns);
    assert_eq!(b[0].md.state.0, TRK | INV);
    // Offsets that disagree with the IPv4 header are refused rather than trusted blindly.
    let mut p = CtPacket::derive(&f);
    p.l4_ofs += 4;
    let mut b = [p];
    h.ct.execute(&mut b, &commit(0), h.now_ns);
    assert_eq!(b[0].md.state.0, TRK | INV);
}

#[test]
fn vlan_tagged_frames_are_derived() {
    let f = udp_ab();
    let mut v = f[..12].to_vec();
    v.extend_from_slice(&[0x81, 0x00, 0x00, 0x0a]);
    v.extend_from_slice(&f[12..]);
    let p = CtPacket::derive(&v);
    assert_eq!(
        (p.l3, p.l3_ofs, p.l4_proto, p.l4_ofs),
        (L3::Ipv4, 18, 17, 38)
    );
    let h = H::new();
    assert_eq!(h.commit(&v), TRK | NEW);
}

#[test]
fn icmp_error_quoting_tcp_and_icmp_echo_is_related() {
    let h = H::new();
    let syn = Tcp::new("S", 100, 0).build();
    assert_eq!(h.commit(&syn), TRK | NEW);
    // A router tells A its SYN could not be delivered: related, reply direction.
    assert_eq!(
        h.lookup(&icmp4_error([10, 9, 9, 9], A, 3, 1, &syn)),
        TRK | REL | RPL
    );
    // An error quoting an echo request A sent.
    let ping = icmp4_echo(A, B, 42, true);
    assert_eq!(h.commit(&ping), TRK | NEW);
    assert_eq!(
        h.lookup(&icmp4_error([10, 9, 9, 9], A, 11, 0, &ping)),
        TRK | REL | RPL
    );
    // An error about an error is not related to anything.
    let e = icmp4_error([10, 9, 9, 9], A, 3, 1, &syn);
    assert_eq!(
        h.lookup(&icmp4_error([10, 8, 8, 8], [10, 9, 9, 9], 3, 1, &e)),
        TRK | INV
    );
}

#[test]
fn generic_protocol_over_ipv6_with_label_dumps_like_ovs() {
    let h = H::new();
    // GRE over IPv6 built from a UDP frame by rewriting the next header (no L4 checks for GRE).
    let mut f = udp6(A6, B6, 1, 2, b"abcd");
    f[20] = 47;
    let opts = CtOpts {
        set_label: Some((0xabc, u128::MAX)),
        ..commit(9)
    };
    assert_eq!(h.run(&f, opts).state.0, TRK | NEW);
    assert_eq!(
        h.dump(Some(9), true),
        vec![
            "47,orig=(src=fe80::1,dst=fe80::2,sport=0,dport=0),reply=(src=fe80::2,dst=fe80::1,sport=0,dport=0),zone=9,timeout=60,labels=0xabc"
        ]
    );
}
