//! The FTP message parser on well-formed, odd and hostile input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use conntrack::alg::ftp::{FtpKind, addr_text, parse};
use proptest::prelude::*;

fn v4(a: [u8; 4]) -> Option<IpAddr> {
    Some(IpAddr::V4(Ipv4Addr::from(a)))
}

#[test]
fn port_and_pasv_forms() {
    let m = parse(b"PORT 192,168,0,10,255,255\r\n", true, false).unwrap();
    assert_eq!(
        (m.kind, m.addr, m.port),
        (FtpKind::Port, v4([192, 168, 0, 10]), 65535)
    );
    // Several spaces, lower case, LF only.
    let m = parse(b"port   1,2,3,4,0,1\n", true, false).unwrap();
    assert_eq!((m.addr, m.port), (v4([1, 2, 3, 4]), 1));
    // pyftpdlib's and vsftpd's 227 lines.
    for line in [
        &b"227 Entering passive mode (10,1,1,2,203,177).\r\n"[..],
        b"227 Entering Passive Mode (10,1,1,2,203,177).\r\n",
        b"227 Entering Passive Mode (10,1,1,2,203,177)\r\n",
    ] {
        let m = parse(line, false, false).unwrap();
        assert_eq!(
            (m.kind, m.addr, m.port),
            (FtpKind::Pasv, v4([10, 1, 1, 2]), 52145)
        );
        assert_eq!(&line[m.addr_span], b"10,1,1,2");
    }
}

#[test]
fn extended_forms() {
    let m = parse(b"EPRT |2|fc00::1|45000|\r\n", true, true).unwrap();
    let a: Ipv6Addr = "fc00::1".parse().unwrap();
    assert_eq!(
        (m.kind, m.addr, m.port),
        (FtpKind::Eprt, Some(IpAddr::V6(a)), 45000)
    );
    assert_eq!(&b"EPRT |2|fc00::1|45000|\r\n"[m.addr_span], b"fc00::1");
    // Another delimiter.
    let m = parse(b"EPRT !1!10.0.0.1!21!\r\n", true, false).unwrap();
    assert_eq!((m.addr, m.port), (v4([10, 0, 0, 1]), 21));
    let m = parse(
        b"229 Entering Extended Passive Mode (|||6446|)\r\n",
        false,
        true,
    )
    .unwrap();
    assert_eq!((m.kind, m.addr, m.port), (FtpKind::Epsv, None, 6446));
    assert!(m.addr_span.is_empty());
    let m = parse(b"229 Extended Passive (!!!6446!)\r\n", false, false).unwrap();
    assert_eq!(m.port, 6446);
}

#[test]
fn malformed_messages_are_refused() {
    for (msg, client, v6) in [
        (&b"PORT 10,1,1,1,4,256\r\n"[..], true, false),
        (b"PORT 10,1,1,1,4\r\n", true, false),
        (b"PORT 10,1,1,1,4,1,\r\n", true, false),
        (b"PORT 1000,1,1,1,4,1\r\n", true, false),
        (b"PORT 0010,1,1,1,4,1\r\n", true, false),
        (b"PORT10,1,1,1,4,1\r\n", true, false),
        (b"PORT ,10,1,1,1,4,1\r\n", true, false),
        (b"PORT 10,1,1,1,0,0\r\n", true, false),
        (b"PORT -1,1,1,1,4,1\r\n", true, false),
        (b"227 Entering Passive Mode ()\r\n", false, false),
        (b"227 Entering Passive Mode (10,1,1,2,4,\r\n", false, false),
        (
            b"227-Entering Passive Mode (10,1,1,2,4,1)\r\n",
            false,
            false,
        ),
        (b"EPRT |3|10.1.1.1|21|\r\n", true, false),
        (b"EPRT |1|10.1.1.1|21\r\n", true, false),
        (b"EPRT |1|10.1.1.1||\r\n", true, false),
        (b"EPRT |1||21|\r\n", true, false),
        (b"EPRT 1|1|10.1.1.1|21|\r\n", true, false),
        (b"EPRT |2|fc00::1|21|\r\n", true, false),
        (b"EPRT |1|10.1.1.1|21|\r\n", true, true),
        (b"EPRT |2|fc00::zz|21|\r\n", true, true),
        (b"EPRT |2|fc00::1|65536|\r\n", true, true),
        (
            b"229 Entering Extended Passive Mode (||6446|)\r\n",
            false,
            true,
        ),
        (
            b"229 Entering Extended Passive Mode (|||6446)\r\n",
            false,
            true,
        ),
        (
            b"229 Entering Extended Passive Mode (|||0|)\r\n",
            false,
            true,
        ),
        (
            b"229 Entering Extended Passive Mode\r\n(|||6446|)\r\n",
            false,
            true,
        ),
        (
            b"229 Entering Extended Passive Mode (|!|6446|)\r\n",
            false,
            true,
        ),
        // Commands from the server, replies from the client.
        (b"EPRT |1|10.1.1.1|21|\r\n", false, false),
        (
            b"229 Entering Extended Passive Mode (|||6446|)\r\n",
            true,
            false,
        ),
        // Not at the start of the segment.
        (b" PORT 10,1,1,1,4,1\r\n", true, false),
        (b"NOOP\r\nPORT 10,1,1,1,4,1\r\n", true, false),
    ] {
        assert_eq!(
            parse(msg, client, v6),
            None,
            "{:?}",
            String::from_utf8_lossy(msg)
        );
    }
}

#[test]
fn replacement_text() {
    let a = IpAddr::V4(Ipv4Addr::new(192, 168, 100, 200));
    assert_eq!(addr_text(FtpKind::Port, a), "192,168,100,200");
    assert_eq!(addr_text(FtpKind::Pasv, a), "192,168,100,200");
    assert_eq!(addr_text(FtpKind::Eprt, a), "192.168.100.200");
    let b: Ipv6Addr = "fc00:0:0:0:0:0:0:1".parse().unwrap();
    assert_eq!(addr_text(FtpKind::Eprt, IpAddr::V6(b)), "fc00::1");
}

fn prefixed() -> impl Strategy<Value = Vec<u8>> {
    let prefix = prop_oneof![
        Just(b"PORT ".to_vec()),
        Just(b"EPRT ".to_vec()),
        Just(b"EPRT |1|".to_vec()),
        Just(b"EPRT |2|".to_vec()),
        Just(b"227 ".to_vec()),
        Just(b"227 Entering Passive Mode (".to_vec()),
        Just(b"229 (|||".to_vec()),
        Just(Vec::new()),
    ];
    let tail = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        proptest::collection::vec(
            prop_oneof![
                Just(b','),
                Just(b'|'),
                Just(b'.'),
                Just(b':'),
                Just(b'('),
                Just(b')'),
                Just(b'\r'),
                Just(b'\n'),
                (b'0'..=b'9'),
                (b'a'..=b'f')
            ],
            0..80
        ),
    ];
    (prefix, tail).prop_map(|(mut p, t)| {
        p.extend(t);
        p
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Anything parses or is refused without a panic; what parses is self-consistent.
    #[test]
    fn never_panics_and_results_hold_together(p in prefixed(), client: bool, v6: bool) {
        if let Some(m) = parse(&p, client, v6) {
            prop_assert!(m.port != 0);
            prop_assert!(m.addr_span.end <= p.len() && m.addr_span.start <= m.addr_span.end);
            prop_assert_eq!(client, m.kind.is_active());
            match (m.kind, m.addr) {
                (FtpKind::Epsv, None) => {}
                (FtpKind::Epsv, Some(_)) => prop_assert!(false, "229 has no address"),
                (_, Some(a)) => {
                    prop_assert_eq!(a.is_ipv6(), v6);
                    // The span holds exactly the address's text in the message's form.
                    let text = std::str::from_utf8(&p[m.addr_span.clone()]).unwrap();
                    let parsed: IpAddr = if matches!(m.kind, FtpKind::Port | FtpKind::Pasv) {
                        // Decimal numbers (leading zeros allowed, as RFC 959 servers send).
                        let o: Vec<u8> = text.split(',').map(|n| n.parse().unwrap()).collect();
                        IpAddr::V4(Ipv4Addr::new(o[0], o[1], o[2], o[3]))
                    } else {
                        text.parse().unwrap()
                    };
                    prop_assert_eq!(parsed, a);
                }
                (_, None) => prop_assert!(false, "address missing"),
            }
        }
    }

    /// A well-formed PORT cut anywhere is never read with a different port.
    #[test]
    fn cut_port_is_refused_or_exact(a: [u8; 4], port in 1u16.., cut in 0usize..40) {
        let msg = format!("PORT {},{},{},{},{},{}\r\n", a[0], a[1], a[2], a[3], port >> 8, port & 0xff);
        let b = msg.as_bytes();
        let cut = cut.min(b.len());
        if let Some(m) = parse(&b[..cut], true, false) {
            prop_assert_eq!(m.port, port);
            prop_assert_eq!(m.addr, Some(IpAddr::V4(Ipv4Addr::from(a))));
        }
    }
}
