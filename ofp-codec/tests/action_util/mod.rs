//! Helpers shared by the action oracle tests: running `ovs-ofctl`, splitting
//! flow lines, parsing hexdumps.
#![allow(dead_code)]

use std::process::Command;

pub const ACCEPTED: &str = include_str!("../data/actions.txt");
pub const REFUSED: &str = include_str!("../data/actions_refused.txt");

/// The accepted flow lines.
pub fn accepted() -> Vec<&'static str> {
    ACCEPTED
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// A flow line split into table, match text and actions text.
pub struct FlowLine<'a> {
    pub table: u8,
    pub match_text: String,
    pub actions: &'a str,
}

pub fn split_flow(line: &str) -> FlowLine<'_> {
    let (head, actions) = match line.find("actions=") {
        Some(i) => (&line[..i], &line[i + "actions=".len()..]),
        None => (line, ""),
    };
    let mut table = 255u8;
    let mut items = Vec::new();
    for item in head.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if let Some(t) = item.strip_prefix("table=") {
            table = t.parse().expect("table number");
        } else {
            items.push(item);
        }
    }
    FlowLine {
        table,
        match_text: items.join(","),
        actions,
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn ovs_ofctl_available() -> bool {
    Command::new("ovs-ofctl")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// True if the oracle can run; panics without it when `CI=true`.
pub fn require_oracle() -> bool {
    if ovs_ofctl_available() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("ovs-ofctl is required for the action oracle tests (CI=true)");
    }
    eprintln!("ovs-ofctl not found: checking rvs without the oracle");
    false
}

fn tmpfile(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("rvs-action-oracle-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// One message `ovs-ofctl` printed: its first line (after the header) and
/// the bytes of its hexdump.
pub struct Printed {
    pub line: String,
    pub bytes: Vec<u8>,
}

/// Splits `ovs-ofctl` output into messages (lines starting with `OFPT_`)
/// with their hexdumps.
pub fn parse_printed(text: &str) -> Vec<Printed> {
    let mut out: Vec<Printed> = Vec::new();
    for line in text.lines() {
        if line.starts_with("OFPT_") {
            out.push(Printed {
                line: line.to_string(),
                bytes: Vec::new(),
            });
        } else if let Some(cur) = out.last_mut()
            && line.len() > 10
            && line.as_bytes()[8] == b' '
            && line[..8].bytes().all(|c| c.is_ascii_hexdigit())
        {
            let body = line[10..].split('|').next().unwrap_or("");
            for tok in body.replace('-', " ").split_whitespace() {
                cur.bytes
                    .push(u8::from_str_radix(tok, 16).expect("hexdump byte"));
            }
        }
    }
    out
}

/// `ovs-ofctl -O OpenFlow13 -mmmmm parse-flows` over `flows`: one FLOW_MOD
/// (text line and bytes) per flow.
pub fn ovs_parse_flows(flows: &[&str]) -> Vec<Printed> {
    let file = tmpfile("flows.txt");
    std::fs::write(&file, flows.join("\n") + "\n").unwrap();
    let out = Command::new("ovs-ofctl")
        .args(["-O", "OpenFlow13", "-mmmmm", "parse-flows"])
        .arg(&file)
        .output()
        .expect("run ovs-ofctl");
    assert!(
        out.status.success(),
        "ovs-ofctl refused the accepted list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_printed(&String::from_utf8_lossy(&out.stdout))
}

/// `ovs-ofctl ofp-parse` over concatenated binary messages.
pub fn ovs_ofp_parse(msgs: &[u8]) -> Vec<Printed> {
    let file = tmpfile("msgs.bin");
    std::fs::write(&file, msgs).unwrap();
    let out = Command::new("ovs-ofctl")
        .arg("ofp-parse")
        .arg(&file)
        .output()
        .expect("run ovs-ofctl");
    assert!(out.status.success(), "ovs-ofctl ofp-parse failed");
    parse_printed(&String::from_utf8_lossy(&out.stdout))
}

/// Offset of the instructions in an OpenFlow 1.3 FLOW_MOD: 48 fixed bytes,
/// then the `ofp_match` padded to 8.
pub fn flow_mod_instructions_offset(msg: &[u8]) -> usize {
    let mlen = usize::from(u16::from_be_bytes([msg[50], msg[51]]));
    48 + mlen.div_ceil(8) * 8
}
