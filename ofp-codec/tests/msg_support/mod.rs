//! Shared helpers for the `msg_*` integration tests: hex parsing and the
//! `ovs-ofctl` oracle.

#![allow(dead_code)]

use std::process::Command;

/// Parses hex with optional whitespace.
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| b.is_ascii_hexdigit()).collect();
    assert!(digits.len().is_multiple_of(2), "odd hex: {s}");
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{:02x}", x)).collect()
}

/// Reads a corpus file: one message per line, `#` comments, and an optional
/// `| expectation` suffix after the hex.
pub fn corpus(text: &str) -> Vec<(Vec<u8>, Option<String>)> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once('|') {
            Some((h, e)) => (hex(h), Some(e.trim().to_string())),
            None => (hex(l), None),
        })
        .collect()
}

/// Whether the `ovs-ofctl` oracle can run here. Without it the oracle tests
/// are skipped, except under `CI=true`, where its absence is a failure.
pub fn have_ovs_ofctl() -> bool {
    let ok = Command::new("ovs-ofctl")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok && std::env::var("CI").as_deref() == Ok("true") {
        panic!("ovs-ofctl is required when CI=true");
    }
    ok
}

/// `ovs-ofctl -O OpenFlow13 ofp-print HEX`, stdout only.
pub fn ovs_print(bytes: &[u8]) -> String {
    let out = Command::new("ovs-ofctl")
        .args(["-O", "OpenFlow13", "ofp-print", &to_hex(bytes)])
        .output()
        .expect("run ovs-ofctl");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The error name in OVS's `***decode error: NAME***`, if any.
pub fn ovs_decode_error(text: &str) -> Option<String> {
    let start = text.find("***decode error: ")? + "***decode error: ".len();
    let end = text[start..].find("***")?;
    Some(text[start..start + end].to_string())
}
