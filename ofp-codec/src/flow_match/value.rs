//! Field values in `ovs-ofctl` text: integers, MAC, IPv4/IPv6 with
//! prefixes or masks, OpenFlow ports, and flag sets (`ct_state`,
//! `tcp_flags`, `tun_flags`). Parsers return `Err(message)` with OVS's
//! wording; formatters print exactly as OVS does.

use std::net::{Ipv4Addr, Ipv6Addr};

/// `ct_state` flag names, bit 0 first (OVS `ct_state_to_string`).
pub const CT_STATE_FLAGS: [&str; 8] = ["new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat"];
/// TCP flag names, bit 0 first (OVS `packet_tcp_flag_to_string`).
pub const TCP_FLAG_NAMES: [&str; 12] = [
    "fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns", "[200]", "[400]", "[800]",
];
/// Tunnel flag names for the public bits (only `oam`).
pub const TUN_FLAG_NAMES: [&str; 1] = ["oam"];

/// Why an integer did not parse.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum IntError {
    Syntax,
    /// Does not fit the field's width.
    Range,
}

/// Parses a non-negative integer as OVS's `parse_int_string()`: `0x` hex
/// (any number of digits) or decimal, at most `width` bytes.
pub(crate) fn parse_int(s: &str, width: usize) -> Result<u128, IntError> {
    let limit = if width >= 16 {
        u128::MAX
    } else {
        (1u128 << (8 * width)) - 1
    };
    let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => (h, 16),
        None => (s, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(IntError::Syntax);
    }
    let trimmed = digits.trim_start_matches('0');
    if trimmed.is_empty() {
        return Ok(0);
    }
    let v = u128::from_str_radix(trimmed, radix).map_err(|_| IntError::Range)?;
    if v > limit {
        Err(IntError::Range)
    } else {
        Ok(v)
    }
}

/// Parses a C `%i` integer (`0x` hex, leading-0 octal, decimal) into u32.
fn parse_c_int(s: &str) -> Option<u32> {
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u32::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u32::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

pub(crate) fn parse_mac(s: &str) -> Option<u128> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut v = 0u128;
    for p in parts {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        v = (v << 8) | u8::from_str_radix(p, 16).ok()? as u128;
    }
    Some(v)
}

/// `xx:xx:..` or `xx:..:xx/yy:..:yy`.
pub(crate) fn parse_mac_masked(s: &str) -> Result<(u128, u128), String> {
    let bad = || format!("{s}: invalid Ethernet address");
    match s.split_once('/') {
        None => Ok((parse_mac(s).ok_or_else(bad)?, 0xffff_ffff_ffff)),
        Some((v, m)) => Ok((parse_mac(v).ok_or_else(bad)?, parse_mac(m).ok_or_else(bad)?)),
    }
}

fn prefix_mask(bits: u32, len: u32) -> u128 {
    let ones = if bits >= 128 {
        u128::MAX
    } else {
        (1u128 << bits) - 1
    };
    if len == 0 {
        0
    } else {
        (ones << (bits - len)) & ones
    }
}

/// `a.b.c.d`, `a.b.c.d/N`, or `a.b.c.d/m.m.m.m`.
pub(crate) fn parse_ipv4_masked(s: &str) -> Result<(u128, u128), String> {
    let addr = |t: &str| t.parse::<Ipv4Addr>().ok().map(|a| u32::from(a) as u128);
    let bad = || format!("{s}: invalid IP address");
    match s.split_once('/') {
        None => Ok((addr(s).ok_or_else(bad)?, 0xffff_ffff)),
        Some((v, m)) => {
            let v = addr(v).ok_or_else(bad)?;
            if let Some(m) = addr(m) {
                return Ok((v, m));
            }
            match m.parse::<u32>() {
                Ok(len) if len <= 32 => Ok((v, prefix_mask(32, len))),
                Ok(_) => Err(format!(
                    "{s}: IPv4 network prefix bits not between 0 and 32, inclusive"
                )),
                Err(_) => Err(bad()),
            }
        }
    }
}

/// `addr`, `addr/N`, or `addr/mask`.
pub(crate) fn parse_ipv6_masked(s: &str) -> Result<(u128, u128), String> {
    let addr = |t: &str| t.parse::<Ipv6Addr>().ok().map(u128::from);
    let bad = || format!("{s}: invalid IPv6 address");
    match s.split_once('/') {
        None => Ok((addr(s).ok_or_else(bad)?, u128::MAX)),
        Some((v, m)) => {
            let v = addr(v).ok_or_else(bad)?;
            if let Some(m) = addr(m) {
                return Ok((v, m));
            }
            match m.parse::<u32>() {
                Ok(len) if len <= 128 => Ok((v, prefix_mask(128, len))),
                Ok(_) => Err(format!(
                    "{s}: IPv6 network prefix bits not between 0 and 128, inclusive"
                )),
                Err(_) => Err(bad()),
            }
        }
    }
}

/// Reserved OpenFlow 1.1+ port numbers and their names.
const PORT_NAMES: [(u32, &str); 8] = [
    (0xffff_fff8, "IN_PORT"),
    (0xffff_fff9, "TABLE"),
    (0xffff_fffa, "NORMAL"),
    (0xffff_fffb, "FLOOD"),
    (0xffff_fffc, "ALL"),
    (0xffff_fffd, "CONTROLLER"),
    (0xffff_fffe, "LOCAL"),
    (0xffff_ffff, "ANY"),
];

/// Parses an OpenFlow port as `ovs-ofctl` does (decimal, OF1.0 numbering
/// for reserved ports, or a reserved name), giving the OF1.1+ number.
pub(crate) fn parse_port(s: &str) -> Option<u32> {
    if let Ok(n) = s.parse::<u64>() {
        let n = u32::try_from(n).ok()?;
        return match n {
            0..0xff00 => Some(n),
            0xff00..=0xffff => Some(n + 0xffff_0000),
            0xffff_ff00.. => Some(n),
            _ => None,
        };
    }
    if s.eq_ignore_ascii_case("NONE") {
        return Some(0xffff_ffff);
    }
    PORT_NAMES
        .iter()
        .find(|(_, n)| n.eq_ignore_ascii_case(s))
        .map(|(p, _)| *p)
}

/// An OF1.1+ port as OVS prints it: a reserved name, or the (OF1.0) number.
pub fn port_name(port: u32) -> String {
    match PORT_NAMES.iter().find(|(p, _)| *p == port) {
        Some((_, n)) => (*n).to_string(),
        None if port >= 0xffff_ff00 => (port - 0xffff_0000).to_string(),
        None => port.to_string(),
    }
}

fn prefix_len(mask: u128, bits: u32) -> Option<u32> {
    let ones = mask.count_ones();
    (prefix_mask(bits, ones) == mask).then_some(ones)
}

/// `a.b.c.d`, `a.b.c.d/N` for a CIDR mask, else `a.b.c.d/m.m.m.m`.
pub fn format_ipv4_masked(value: u32, mask: u32) -> String {
    let a = Ipv4Addr::from(value);
    if mask == u32::MAX {
        a.to_string()
    } else if let Some(len) = prefix_len(mask as u128, 32) {
        format!("{a}/{len}")
    } else {
        format!("{a}/{}", Ipv4Addr::from(mask))
    }
}

/// An IPv6 address as glibc's `inet_ntop()` writes it (what OVS prints):
/// RFC 5952 compression, plus the IPv4-compatible form `::a.b.c.d` when
/// exactly the first six words are zero.
pub fn format_ipv6(value: u128) -> String {
    let a = Ipv6Addr::from(value);
    let w = a.segments();
    if w[..6] == [0; 6] && w[6] != 0 {
        let v4 = Ipv4Addr::from(value as u32);
        return format!("::{v4}");
    }
    a.to_string()
}

/// IPv6 address with `/N` for a CIDR mask, else `/mask`.
pub fn format_ipv6_masked(value: u128, mask: u128) -> String {
    let a = format_ipv6(value);
    if mask == u128::MAX {
        a
    } else if let Some(len) = prefix_len(mask, 128) {
        format!("{a}/{len}")
    } else {
        format!("{a}/{}", format_ipv6(mask))
    }
}

pub(crate) fn format_mac(v: u128) -> String {
    let b = (v as u64).to_be_bytes();
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[2], b[3], b[4], b[5], b[6], b[7]
    )
}

/// MAC with `/mask` unless the mask is all ones.
pub fn format_mac_masked(value: u128, mask: u128) -> String {
    if mask == 0xffff_ffff_ffff {
        format_mac(value)
    } else {
        format!("{}/{}", format_mac(value), format_mac(mask))
    }
}

/// Parses flags as OVS's `parse_flags()`: `0xV/0xM` (numeric, masked),
/// `+a-b` (masked by the named bits), or `a|b` / numbers (exact, mask all
/// ones). `allowed` limits the bits; `names[i]` names bit `i`.
pub(crate) fn parse_flags(
    s: &str,
    names: &[&str],
    field: &str,
    allowed: u32,
) -> Result<(u32, u32), String> {
    let unknown = || format!("{s}: unknown {field} flag(s)");
    if let Some((v, m)) = s.split_once('/')
        && let (Some(v), Some(m)) = (parse_c_int(v), parse_c_int(m))
    {
        if v & !allowed != 0 || m & !allowed != 0 {
            return Err(unknown());
        }
        return Ok((v, m));
    }
    let bit_of = |name: &str| names.iter().position(|n| *n == name).map(|i| 1u32 << i);
    if s.starts_with('+') || s.starts_with('-') {
        let (mut flags, mut mask) = (0u32, 0u32);
        let mut rest = s;
        while let Some(c) = rest.chars().next() {
            let set = match c {
                '+' => true,
                '-' => false,
                _ => {
                    return Err(format!(
                        "{rest}: {field} must be preceded by '+' (for SET) or '-' (NOT SET)"
                    ));
                }
            };
            rest = &rest[1..];
            let end = rest.find(['+', '-']).unwrap_or(rest.len());
            let rest_unknown = || format!("{rest}: unknown {field} flag(s)");
            let bit = bit_of(&rest[..end]).ok_or_else(rest_unknown)?;
            if mask & bit != 0 {
                return Err(format!(
                    "{rest}: Each {field} flag can be specified only once"
                ));
            }
            if bit & allowed == 0 {
                return Err(rest_unknown());
            }
            if set {
                flags |= bit;
            }
            mask |= bit;
            rest = &rest[end..];
        }
        return Ok((flags, mask));
    }
    let mut flags = 0u32;
    for part in s.split('|').filter(|p| !p.is_empty()) {
        let bit = match parse_c_int(part) {
            Some(n) => n,
            None => bit_of(part).ok_or_else(unknown)?,
        };
        if bit & !allowed != 0 {
            return Err(unknown());
        }
        flags |= bit;
    }
    Ok((flags, u32::MAX))
}

/// OVS `format_flags()`: names joined by `|`, unknown bits as hex, `0` if none.
pub(crate) fn format_flags(flags: u32, names: &[&str]) -> String {
    if flags == 0 {
        return "0".into();
    }
    let mut out: Vec<String> = Vec::new();
    let mut bad = 0u32;
    for i in 0..32 {
        let bit = 1u32 << i;
        if flags & bit != 0 {
            match names.get(i) {
                Some(n) => out.push((*n).into()),
                None => bad |= bit,
            }
        }
    }
    if bad != 0 {
        out.push(format!("0x{bad:x}"));
    }
    out.join("|")
}

/// OVS `format_flags_masked()`: `+a-b` over the masked bits, or
/// `format_flags` when the mask is `max_mask`.
pub(crate) fn format_flags_masked(flags: u32, mask: u32, max_mask: u32, names: &[&str]) -> String {
    if mask == max_mask {
        return format_flags(flags, names);
    }
    if mask == 0 {
        return "0/0".into();
    }
    let mut out = String::new();
    for i in 0..32 {
        let bit = 1u32 << i;
        if mask & bit != 0 {
            out.push(if flags & bit != 0 { '+' } else { '-' });
            out.push_str(names.get(i).copied().unwrap_or("[Unknown]"));
        }
    }
    out
}

/// A field value as OVS's `mf_format()` writes it without a mask: hex
/// (`0x10`) or decimal by the field's format, dotted IPv4, IPv6, MAC, port
/// names, flag names.
pub fn format_field_value(field: crate::field::Field, v: u128) -> String {
    use crate::field::ValueFormat as V;
    match field.info().format {
        V::Decimal => v.to_string(),
        V::Hex | V::PacketType => {
            if v == 0 {
                "0".into()
            } else {
                format!("{v:#x}")
            }
        }
        V::Ipv4 => Ipv4Addr::from(v as u32).to_string(),
        V::Ipv6 => format_ipv6(v),
        V::Mac => format_mac(v),
        V::Port => port_name(v as u32),
        V::CtState => format_flags(v as u32, &CT_STATE_FLAGS),
        V::TcpFlags => format_flags(v as u32, &TCP_FLAG_NAMES),
        V::TunFlags => format_flags(v as u32, &TUN_FLAG_NAMES),
        V::Frag => match v & 3 {
            0 => "no",
            1 => "first",
            3 => "later",
            _ => "<error>",
        }
        .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_parse_int_string() {
        assert_eq!(parse_int("0x1f", 1), Ok(0x1f));
        assert_eq!(parse_int("300", 1), Err(IntError::Range));
        assert_eq!(
            parse_int("0x0000000000000001", 1),
            Ok(1),
            "leading zeros are fine"
        );
        assert_eq!(parse_int("12a", 4), Err(IntError::Syntax));
        assert_eq!(parse_int("", 4), Err(IntError::Syntax));
    }

    #[test]
    fn addresses_and_masks() {
        assert_eq!(
            parse_ipv4_masked("10.0.0.0/8"),
            Ok((0x0a00_0000, 0xff00_0000))
        );
        assert_eq!(
            parse_ipv4_masked("10.0.0.1/255.0.255.0"),
            Ok((0x0a00_0001, 0xff00_ff00))
        );
        assert_eq!(
            parse_ipv4_masked("10.0.0.300").unwrap_err(),
            "10.0.0.300: invalid IP address"
        );
        assert!(
            parse_ipv4_masked("1.2.3.4/33")
                .unwrap_err()
                .contains("prefix bits")
        );
        assert_eq!(format_ipv4_masked(0x0a00_0000, 0xff00_0000), "10.0.0.0/8");
        assert_eq!(
            format_ipv4_masked(0x0a00_0001, 0xff00_ff00),
            "10.0.0.1/255.0.255.0"
        );
        assert_eq!(
            format_ipv6_masked(
                u128::from("2001:db8::".parse::<Ipv6Addr>().unwrap()),
                prefix_mask(128, 32)
            ),
            "2001:db8::/32"
        );
        assert_eq!(
            parse_mac_masked("01:00:00:00:00:00/01:00:00:00:00:00"),
            Ok((0x0100_0000_0000, 0x0100_0000_0000))
        );
        assert!(parse_mac_masked("01:00:00:00:00").is_err());
        assert_eq!(
            format_mac_masked(0x0011_2233_4455, 0xffff_ffff_ffff),
            "00:11:22:33:44:55"
        );
    }

    #[test]
    fn ipv6_text_follows_inet_ntop() {
        let f = |s: &str| format_ipv6(u128::from(s.parse::<Ipv6Addr>().unwrap()));
        assert_eq!(f("::1.2.3.4"), "::1.2.3.4");
        assert_eq!(f("::2:3"), "::0.2.0.3");
        assert_eq!(f("::1"), "::1");
        assert_eq!(f("::"), "::");
        assert_eq!(f("::ffff:1.2.3.4"), "::ffff:1.2.3.4");
        assert_eq!(f("::ffff:0:1.2.3.4"), "::ffff:0:102:304");
        assert_eq!(f("1:0:0:2:0:0:3:4"), "1::2:0:0:3:4");
    }

    #[test]
    fn ports_by_name_and_number() {
        assert_eq!(parse_port("LOCAL"), Some(0xffff_fffe));
        assert_eq!(parse_port("65534"), Some(0xffff_fffe));
        assert_eq!(parse_port("controller"), Some(0xffff_fffd));
        assert_eq!(parse_port("0xfffffffe"), None);
        assert_eq!(parse_port("70000"), None);
        assert_eq!(port_name(0xffff_fffe), "LOCAL");
        assert_eq!(port_name(0xffff_ff00), "65280");
        assert_eq!(port_name(7), "7");
    }

    #[test]
    fn flags_in_all_three_syntaxes() {
        assert_eq!(
            parse_flags("+trk-new", &CT_STATE_FLAGS, "ct_state", 0xff),
            Ok((0x20, 0x21))
        );
        assert_eq!(
            parse_flags("0x21/0x3f", &CT_STATE_FLAGS, "ct_state", 0xff),
            Ok((0x21, 0x3f))
        );
        assert_eq!(
            parse_flags("trk|est", &CT_STATE_FLAGS, "ct_state", 0xff),
            Ok((0x22, u32::MAX))
        );
        assert!(
            parse_flags("+foo", &CT_STATE_FLAGS, "ct_state", 0xff)
                .unwrap_err()
                .contains("unknown ct_state flag")
        );
        assert!(
            parse_flags("+trk+trk", &CT_STATE_FLAGS, "ct_state", 0xff)
                .unwrap_err()
                .contains("only once")
        );
        assert_eq!(
            format_flags_masked(0x20, 0x21, 0xff, &CT_STATE_FLAGS),
            "-new+trk"
        );
        assert_eq!(format_flags(0x22, &CT_STATE_FLAGS), "est|trk");
    }
}
