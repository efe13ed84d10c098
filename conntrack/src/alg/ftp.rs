//! FTP control-channel messages that open data connections, parsed from one TCP segment.
//!
//! Four messages matter (RFC 959, RFC 2428):
//!
//! | message | sent by | means | expectation |
//! | --- | --- | --- | --- |
//! | `PORT h1,h2,h3,h4,p1,p2` | client | active: "connect to me at h1.h2.h3.h4:p1*256+p2" | server → client:port |
//! | `EPRT |1|addr|port|`, `EPRT |2|v6addr|port|` | client | the same, any family | server → client:port |
//! | `227 … (h1,h2,h3,h4,p1,p2)` | server | passive: "connect to me there" | client → server:port |
//! | `229 … (|||port|)` | server | extended passive (the control connection's address) | client → server:port |
//!
//! The parser is total: any bytes give `Some` message or `None`, never a panic. It looks at
//! the start of the segment only (as Open vSwitch does: a command begins a segment), and it
//! needs the whole message in the segment: a number must be followed by a byte that ends it,
//! so a command cut in the middle of a number by a segment boundary is ignored rather than
//! misread (`PORT 10,1,1,1,4,1` + `7\r\n` must not open port 1025).
//!
//! `PORT` and `227` carry IPv4 addresses and are only recognised on IPv4 control connections;
//! `EPRT` must name the control connection's own family; `229` has no address.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

/// How much of a segment is looked at (the longest message of interest, an `EPRT` with a
/// full-length IPv6 address or a chatty `227` line, fits with room to spare).
pub const FTP_MAX_SCAN: usize = 256;

/// Which message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FtpKind {
    /// `PORT` (client, active mode, IPv4).
    Port,
    /// `EPRT` (client, active mode, IPv4 or IPv6).
    Eprt,
    /// `227` reply to `PASV` (server, passive mode, IPv4).
    Pasv,
    /// `229` reply to `EPSV` (server, extended passive mode, no address).
    Epsv,
}

impl FtpKind {
    /// True for the client's active-mode commands (the data connection comes from the server).
    pub fn is_active(self) -> bool {
        matches!(self, FtpKind::Port | FtpKind::Eprt)
    }
}

/// A parsed message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FtpCtl {
    /// Which message.
    pub kind: FtpKind,
    /// The address it names (`None` for `229`).
    pub addr: Option<IpAddr>,
    /// The data port (never 0).
    pub port: u16,
    /// Where the address text is in the payload (`h1,h2,h3,h4` for `PORT`/`227`, the address
    /// between the delimiters for `EPRT`; empty for `229`). NAT rewrites exactly these bytes.
    pub addr_span: Range<usize>,
}

/// Parses the FTP message at the start of `payload`, a TCP segment's data on an FTP control
/// connection. `from_client`: the segment travels in the control connection's original
/// direction (client to server); commands are only taken from the client and replies only
/// from the server. `v6`: the control connection is IPv6.
pub fn parse(payload: &[u8], from_client: bool, v6: bool) -> Option<FtpCtl> {
    let p = &payload[..payload.len().min(FTP_MAX_SCAN)];
    if from_client {
        if !v6 && starts_with_ci(p, b"PORT") {
            return parse_port(p);
        }
        if starts_with_ci(p, b"EPRT") {
            return parse_eprt(p, v6);
        }
    } else {
        if !v6 && p.starts_with(b"227 ") {
            return parse_pasv(p);
        }
        if p.starts_with(b"229 ") {
            return parse_epsv(p);
        }
    }
    None
}

/// The text NAT writes in place of the address of a `kind` message.
pub fn addr_text(kind: FtpKind, addr: IpAddr) -> String {
    match (kind, addr) {
        (FtpKind::Port | FtpKind::Pasv, IpAddr::V4(a)) => {
            let o = a.octets();
            format!("{},{},{},{}", o[0], o[1], o[2], o[3])
        }
        (_, a) => a.to_string(),
    }
}

fn starts_with_ci(p: &[u8], word: &[u8]) -> bool {
    p.len() >= word.len() && p[..word.len()].eq_ignore_ascii_case(word)
}

/// Reads a decimal number of 1 to `max_digits` digits at `*i`, not greater than `max`, that is
/// followed by a byte (present in `p`) that is not a digit. Advances `*i` past it.
fn number(p: &[u8], i: &mut usize, max_digits: usize, max: u32) -> Option<u32> {
    let start = *i;
    let mut v: u32 = 0;
    while let Some(&c) = p.get(*i) {
        if !c.is_ascii_digit() {
            break;
        }
        if *i - start == max_digits {
            return None;
        }
        v = v * 10 + u32::from(c - b'0');
        *i += 1;
    }
    // No digit, or the segment ends right after the digits (the number may go on in the
    // next segment).
    if *i == start || *i >= p.len() || v > max {
        return None;
    }
    Some(v)
}

fn expect_byte(p: &[u8], i: &mut usize, b: u8) -> Option<()> {
    if p.get(*i) == Some(&b) {
        *i += 1;
        Some(())
    } else {
        None
    }
}

/// Six comma-separated numbers 0..=255 starting at `*i`: the address and the port.
/// The byte after the last one must be present and end the list (not a comma or digit).
fn rfc959_tuple(p: &[u8], i: &mut usize) -> Option<(Ipv4Addr, u16, Range<usize>)> {
    let start = *i;
    let mut n = [0u8; 6];
    let mut addr_end = start;
    for (k, slot) in n.iter_mut().enumerate() {
        if k > 0 {
            expect_byte(p, i, b',')?;
        }
        *slot = number(p, i, 3, 255)? as u8;
        if k == 3 {
            addr_end = *i;
        }
    }
    if p.get(*i) == Some(&b',') {
        return None;
    }
    let port = u16::from_be_bytes([n[4], n[5]]);
    if port == 0 {
        return None;
    }
    Some((Ipv4Addr::new(n[0], n[1], n[2], n[3]), port, start..addr_end))
}

fn skip_spaces(p: &[u8], i: &mut usize) -> usize {
    let s = *i;
    while p.get(*i) == Some(&b' ') {
        *i += 1;
    }
    *i - s
}

/// The bytes up to (not including) the end of the first line.
fn first_line(p: &[u8]) -> &[u8] {
    let end = p
        .iter()
        .position(|&c| c == b'\n' || c == b'\r')
        .unwrap_or(p.len());
    &p[..end]
}

fn parse_port(p: &[u8]) -> Option<FtpCtl> {
    let mut i = 4;
    if skip_spaces(p, &mut i) == 0 {
        return None;
    }
    let (a, port, span) = rfc959_tuple(p, &mut i)?;
    Some(FtpCtl {
        kind: FtpKind::Port,
        addr: Some(IpAddr::V4(a)),
        port,
        addr_span: span,
    })
}

fn parse_pasv(p: &[u8]) -> Option<FtpCtl> {
    let line = first_line(p);
    // The tuple follows a '(' when there is one (the usual form); otherwise it is the first
    // number after the code (some servers print it bare).
    let from = match line.iter().position(|&c| c == b'(') {
        Some(k) => k + 1,
        None => 4,
    };
    let mut i = from + line.get(from..)?.iter().position(u8::is_ascii_digit)?;
    let (a, port, span) = rfc959_tuple(p, &mut i)?;
    Some(FtpCtl {
        kind: FtpKind::Pasv,
        addr: Some(IpAddr::V4(a)),
        port,
        addr_span: span,
    })
}

/// RFC 2428 §2: the delimiter is a printable ASCII character (33–126); a digit would be
/// ambiguous, so it is refused.
fn delimiter(c: u8) -> bool {
    (33..=126).contains(&c) && !c.is_ascii_digit()
}

fn parse_eprt(p: &[u8], v6: bool) -> Option<FtpCtl> {
    let mut i = 4;
    if skip_spaces(p, &mut i) == 0 {
        return None;
    }
    let d = *p.get(i)?;
    if !delimiter(d) {
        return None;
    }
    i += 1;
    let af = number(p, &mut i, 1, 9)?;
    if af != if v6 { 2 } else { 1 } {
        return None;
    }
    expect_byte(p, &mut i, d)?;
    let a_start = i;
    let a_len = p.get(i..)?.iter().position(|&c| c == d)?;
    let a_end = a_start + a_len;
    let text = std::str::from_utf8(&p[a_start..a_end]).ok()?;
    let addr = if v6 {
        IpAddr::V6(text.parse::<Ipv6Addr>().ok()?)
    } else {
        IpAddr::V4(text.parse::<Ipv4Addr>().ok()?)
    };
    i = a_end + 1;
    let port = number(p, &mut i, 5, 65535)?;
    expect_byte(p, &mut i, d)?;
    if port == 0 {
        return None;
    }
    Some(FtpCtl {
        kind: FtpKind::Eprt,
        addr: Some(addr),
        port: port as u16,
        addr_span: a_start..a_end,
    })
}

fn parse_epsv(p: &[u8]) -> Option<FtpCtl> {
    let line = first_line(p);
    let mut i = line.iter().position(|&c| c == b'(')? + 1;
    let d = *line.get(i)?;
    if !delimiter(d) {
        return None;
    }
    for _ in 0..3 {
        expect_byte(line, &mut i, d)?;
    }
    let port = number(line, &mut i, 5, 65535)?;
    expect_byte(line, &mut i, d)?;
    if port == 0 {
        return None;
    }
    Some(FtpCtl {
        kind: FtpKind::Epsv,
        addr: None,
        port: port as u16,
        addr_span: 0..0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: [u8; 4]) -> Option<IpAddr> {
        Some(IpAddr::V4(Ipv4Addr::from(a)))
    }

    #[test]
    fn port_command() {
        let m = parse(b"PORT 10,1,1,1,4,1\r\n", true, false).unwrap();
        assert_eq!(m.kind, FtpKind::Port);
        assert_eq!(m.addr, v4([10, 1, 1, 1]));
        assert_eq!(m.port, 1025);
        assert_eq!(&b"PORT 10,1,1,1,4,1\r\n"[m.addr_span], b"10,1,1,1");
        assert!(parse(b"port 10,1,1,1,4,1\r\n", true, false).is_some());
        // Only from the client, only on IPv4.
        assert!(parse(b"PORT 10,1,1,1,4,1\r\n", false, false).is_none());
        assert!(parse(b"PORT 10,1,1,1,4,1\r\n", true, true).is_none());
    }

    #[test]
    fn pasv_reply() {
        let s = b"227 Entering Passive Mode (10,1,1,2,156,64).\r\n";
        let m = parse(s, false, false).unwrap();
        assert_eq!(
            (m.kind, m.addr, m.port),
            (FtpKind::Pasv, v4([10, 1, 1, 2]), 40000)
        );
        assert_eq!(&s[m.addr_span], b"10,1,1,2");
        let bare = parse(b"227 =10,1,1,2,0,21\r\n", false, false).unwrap();
        assert_eq!(bare.port, 21);
    }

    #[test]
    fn split_or_truncated_messages_are_ignored() {
        for s in [
            &b"PORT 10,1,1,1,4,1"[..],
            b"PORT 10,1,1,1,4,",
            b"PORT 10,1,1,1",
            b"227 Entering Passive Mode (10,1,1,2,156,6",
            b"EPRT |1|10.1.1.1|5000",
            b"229 Entering Extended Passive Mode (|||600",
        ] {
            assert_eq!(parse(s, true, false), None, "{s:?}");
            assert_eq!(parse(s, false, false), None, "{s:?}");
        }
    }
}
