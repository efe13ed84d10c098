//! `ovs-ofctl ofp-print` text for OpenFlow 1.3 messages.
//!
//! [`ofp_to_string`] takes raw bytes and produces what Open vSwitch's
//! `ofp_to_string()` produces at the same verbosity (`ovs-ofctl ofp-print`
//! uses verbosity 2; error payloads are printed nested at verbosity 1): the
//! `NAME (OF1.3) (xid=0x..):` line, the body, `***decode error: NAME***` plus
//! a hex dump when decoding fails.
//!
//! Partly covered: the frame summary OVS appends to packet-in and packet-out
//! (`ofp_packet_to_string`) is printed for common Ethernet/ARP/IP frames
//! only (see `packet.rs`); for other frames rvs prints no summary.

mod basic;
mod flow;
mod mff;
mod packet;
mod pin;
mod stats;
mod table_features;

use core::fmt::Write as _;

use super::header::{HEADER_LEN, MsgType};
use super::multipart::MultipartType;
use super::{Kind, Message, check_framing};
use crate::error::OfpError;

/// Appends OVS's `ds_put_hex_dump(.., ascii=true)` of `buf` starting at offset 0.
pub fn hex_dump(s: &mut String, buf: &[u8]) {
    for (line, chunk) in buf.chunks(16).enumerate() {
        let _ = write!(s, "{:08x}  ", line * 16);
        for i in 0..16 {
            match chunk.get(i) {
                Some(b) => {
                    let _ = write!(s, "{:02x}{}", b, if i == 7 { '-' } else { ' ' });
                }
                None => s.push_str("   "),
            }
        }
        s.push('|');
        for i in 0..16 {
            s.push(match chunk.get(i) {
                Some(&c) if (32..127).contains(&c) => c as char,
                Some(_) => '.',
                None => ' ',
            });
        }
        s.push_str("|\n");
    }
}

/// OVS's `ds_put_printable`.
pub(crate) fn put_printable(s: &mut String, buf: &[u8]) {
    for &c in buf {
        if !(0x20..=0x7e).contains(&c) || c == b'\\' || c == b'"' {
            let _ = write!(s, "\\{:03o}", c);
        } else {
            s.push(c as char);
        }
    }
}

/// OVS's `ofp_print_bit_names`: names of set bits separated by `sep`,
/// unknown bits as one hex number, `0` when no bit is set.
pub(crate) fn bit_names(
    s: &mut String,
    mut bits: u32,
    name: impl Fn(u32) -> Option<&'static str>,
    sep: char,
) {
    if bits == 0 {
        s.push('0');
        return;
    }
    let mut n = 0;
    for i in 0..32 {
        let bit = 1u32 << i;
        if bits & bit != 0
            && let Some(nm) = name(bit)
        {
            if n > 0 {
                s.push(sep);
            }
            n += 1;
            s.push_str(nm);
            bits &= !bit;
        }
    }
    if bits != 0 {
        if n > 0 {
            s.push(sep);
        }
        let _ = write!(s, "0x{:x}", bits);
    }
}

/// OVS's `ofp_print_duration`: `5s`, `5.250s`, `5.000000123s`.
pub(crate) fn duration(s: &mut String, sec: u32, nsec: u32) {
    let _ = write!(s, "{}", sec);
    if nsec > 0 {
        if nsec.is_multiple_of(1_000_000) {
            let _ = write!(s, ".{:03}", nsec / 1_000_000);
        } else {
            let frac = format!("{:09}", nsec);
            s.push('.');
            s.push_str(frac.trim_end_matches('0'));
        }
    }
    s.push('s');
}

/// OVS's `ofputil_format_port` for an OpenFlow 1.3 port number.
pub(crate) fn port(s: &mut String, p: u32) {
    let name = match p {
        0xffff_fff7 => "UNSET",
        0xffff_fff8 => "IN_PORT",
        0xffff_fff9 => "TABLE",
        0xffff_fffa => "NORMAL",
        0xffff_fffb => "FLOOD",
        0xffff_fffc => "ALL",
        0xffff_fffd => "CONTROLLER",
        0xffff_fffe => "LOCAL",
        0xffff_ffff => "ANY",
        _ => {
            // OVS maps 0xffffff00.. down to its 16-bit space.
            let v = if p >= 0xffff_ff00 { p - 0xffff_0000 } else { p };
            let _ = write!(s, "{}", v);
            return;
        }
    };
    s.push_str(name);
}

/// OVS's `ofputil_format_group`.
pub(crate) fn group(s: &mut String, g: u32) {
    match g {
        0xffff_fffc => s.push_str("ALL"),
        0xffff_ffff => s.push_str("ANY"),
        _ => {
            let _ = write!(s, "{}", g);
        }
    }
}

/// The name OVS gives a message kind (`ofpraw_get_name`).
fn raw_name(kind: Kind) -> String {
    match kind {
        Kind::Plain(t) => t.name().unwrap_or("OFPT_UNKNOWN").to_string(),
        Kind::Multipart { reply, mp_type } => {
            format!(
                "{} {}",
                mp_type.name().unwrap_or("OFPST_UNKNOWN"),
                if reply { "reply" } else { "request" }
            )
        }
        Kind::Exp(k) => k.name().to_string(),
    }
}

fn header_line(s: &mut String, bytes: &[u8], kind: Kind) {
    s.push_str(&raw_name(kind));
    match bytes[0] {
        1 => {}
        2 => s.push_str(" (OF1.1)"),
        3 => s.push_str(" (OF1.2)"),
        4 => s.push_str(" (OF1.3)"),
        5 => s.push_str(" (OF1.4)"),
        6 => s.push_str(" (OF1.5)"),
        v => {
            let _ = write!(s, " (OF 0x{:02x})", v);
        }
    }
    let xid = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
    let _ = write!(s, " (xid=0x{:x}):", xid);
}

/// Identifies a message from its headers only, for truncated input.
fn partial_kind(bytes: &[u8]) -> Option<Kind> {
    if !(1..=6).contains(bytes.first()?) {
        return None;
    }
    let t = MsgType(*bytes.get(1)?);
    match t {
        MsgType::EXPERIMENTER => {
            let v = u32::from_be_bytes(bytes.get(8..12)?.try_into().ok()?);
            let st = u32::from_be_bytes(bytes.get(12..16)?.try_into().ok()?);
            crate::msg::experimenter::classify(v, st)
                .ok()
                .map(Kind::Exp)
        }
        MsgType::MULTIPART_REQUEST | MsgType::MULTIPART_REPLY => {
            let mp = MultipartType(u16::from_be_bytes(bytes.get(8..10)?.try_into().ok()?));
            (mp.name().is_some() && mp != MultipartType::EXPERIMENTER).then_some(Kind::Multipart {
                reply: t == MsgType::MULTIPART_REPLY,
                mp_type: mp,
            })
        }
        _ => t.name().map(|_| Kind::Plain(t)),
    }
}

/// Text for one message, as `ovs-ofctl ofp-print` (verbosity 2) prints it.
/// Only OpenFlow 1.3 (and, for hello/error/echo, any version) is decoded;
/// other versions show as decode errors.
pub fn ofp_to_string(bytes: &[u8], verbosity: u32) -> String {
    let mut s = String::new();
    if bytes.is_empty() {
        s.push_str("OpenFlow message is empty\n");
        return s;
    }
    if bytes.len() < HEADER_LEN {
        let _ = writeln!(s, "OpenFlow packet too short (only {} bytes):", bytes.len());
        hex_dump(&mut s, bytes);
        return s;
    }
    let announced = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
    if announced > bytes.len() {
        if let Some(kind) = partial_kind(bytes) {
            header_line(&mut s, bytes, kind);
            s.push('\n');
        }
        let _ = writeln!(
            s,
            "(***truncated to {} bytes from {}***)",
            bytes.len(),
            announced
        );
        hex_dump(&mut s, bytes);
        return s;
    }
    if announced < bytes.len() {
        let _ = writeln!(
            s,
            "(***only uses {} bytes out of {}***)",
            announced,
            bytes.len()
        );
        hex_dump(&mut s, bytes);
        return s;
    }
    let mut failed = false;
    match check_framing(bytes) {
        Ok((_, kind)) => {
            header_line(&mut s, bytes, kind);
            let header_len = s.len();
            match body_to_string(&mut s, bytes, verbosity) {
                Ok(()) => chomp_spaces(&mut s),
                Err(e) => {
                    failed = true;
                    if s.len() > header_len {
                        chomp_spaces(&mut s);
                        add_newline(&mut s);
                    } else {
                        s.push(' ');
                    }
                    put_decode_error(&mut s, e);
                }
            }
        }
        Err(e) => {
            failed = true;
            put_decode_error(&mut s, e);
        }
    }
    if verbosity >= 5 || failed {
        add_newline(&mut s);
        hex_dump(&mut s, bytes);
    }
    add_newline(&mut s);
    s
}

fn put_decode_error(s: &mut String, e: OfpError) {
    let _ = writeln!(s, "***decode error: {}***", ovs_error_name(e));
}

/// The name OVS 3.1 prints for an error. It spells four OpenFlow 1.3 codes
/// differently from rvs's table (which uses the 1.3 specification's names).
pub(crate) fn ovs_error_name(e: OfpError) -> String {
    match (e.etype, e.code, e.experimenter) {
        (1, 10, 0) => "OFPBRC_IS_SECONDARY".to_string(),
        (13, 2, 0) => "OFPBPC_BAD_TYPE".to_string(),
        (13, 3, 0) => "OFPBPC_BAD_LEN".to_string(),
        (13, 4, 0) => "OFPBPC_BAD_VALUE".to_string(),
        _ => e.to_string(),
    }
}

fn chomp_spaces(s: &mut String) {
    if s.ends_with(' ') {
        s.pop();
    }
}

fn add_newline(s: &mut String) {
    if !s.is_empty() && !s.ends_with('\n') {
        s.push('\n');
    }
}

/// Decodes and prints the body after the header line. A decode error is
/// returned for the caller to print (after whatever was printed already).
fn body_to_string(s: &mut String, bytes: &[u8], verbosity: u32) -> Result<(), OfpError> {
    let (header, msg) = Message::decode(bytes)?;
    match &msg {
        Message::MultipartRequest(m) => stats::mp_flags(s, m.flags),
        Message::MultipartReply(m) => stats::mp_flags(s, m.flags),
        _ => {}
    }
    if let Some(r) = basic::print(s, &header, &msg, bytes, verbosity) {
        return r;
    }
    if let Some(r) = stats::print(s, &msg) {
        return r;
    }
    if let Some(r) = pin::print(s, &msg, verbosity) {
        return r;
    }
    if let Some(r) = super::ct_flush::print(s, &msg) {
        return r;
    }
    flow::print(s, &msg, verbosity)
}
