//! Debian's `ovs-ofctl` as an oracle: run it, and read what it prints.
//!
//! Shared by the codec oracle tests (`mod ovs_oracle;`). Under `CI=true` a
//! missing `ovs-ofctl` is a failure, never a silent skip.

#![allow(dead_code)]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::Command;

/// Path of `ovs-ofctl`, or `None` when it is not installed (in which case
/// the caller skips). Panics under `CI=true` when it is missing.
pub fn ovs_ofctl() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("ovs-ofctl"))
            .find(|p| p.is_file())
    });
    if found.is_none() && std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "ovs-ofctl is missing and CI=true: install openvswitch-common (apt-get install -y openvswitch-common)"
        );
    }
    if found.is_none() {
        eprintln!(
            "ovs-ofctl not found: skipping the oracle comparison (set CI=true to make this fail)"
        );
    }
    found
}

/// What `ovs-ofctl` printed and how it exited.
#[derive(Debug, Clone)]
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

pub fn run(ofctl: &PathBuf, args: &[&str]) -> Run {
    let out = Command::new(ofctl)
        .args(args)
        .output()
        .expect("run ovs-ofctl");
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// One flow-mod as `ovs-ofctl -mmmmm parse-flows` printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintedMsg {
    /// The `OFPT_FLOW_MOD (OF1.3) (xid=0x1): ADD ...` line.
    pub line: String,
    /// The bytes of its hexdump.
    pub bytes: Vec<u8>,
}

/// Parses one hexdump line (`00000010  00 00 … |…|`) into its bytes.
pub fn hexdump_line_bytes(line: &str) -> Option<Vec<u8>> {
    let (offset, rest) = line.split_once("  ")?;
    if offset.len() != 8 || !offset.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let hex = rest.split('|').next()?;
    hex.split([' ', '-'])
        .filter(|t| !t.is_empty())
        .map(|t| u8::from_str_radix(t, 16).ok())
        .collect()
}

/// Splits the output of `ovs-ofctl -mmmmm parse-flows` (or `ofp-print` with
/// verbosity 5) into messages: a text line (possibly several lines for
/// multi-line messages) followed by a hexdump.
pub fn split_printed(stdout: &str) -> (Vec<String>, Vec<PrintedMsg>) {
    let mut header = Vec::new();
    let mut msgs: Vec<PrintedMsg> = Vec::new();
    let mut in_dump = false;
    for line in stdout.lines() {
        if let Some(b) = hexdump_line_bytes(line) {
            if let Some(last) = msgs.last_mut() {
                last.bytes.extend(b);
            }
            in_dump = true;
            continue;
        }
        if line.starts_with("usable protocols:") || line.starts_with("chosen protocol:") {
            header.push(line.to_string());
        } else if line.starts_with("OFPT_")
            || line.starts_with("NXT_")
            || line.starts_with("ONFT_")
            || in_dump
            || msgs.is_empty()
        {
            msgs.push(PrintedMsg {
                line: line.to_string(),
                bytes: Vec::new(),
            });
        } else if let Some(last) = msgs.last_mut() {
            last.line.push('\n');
            last.line.push_str(line);
        }
        in_dump = false;
    }
    (header, msgs)
}

/// Runs `ovs-ofctl -O OpenFlow13 -mmmmm parse-flows` on `flows` (one file,
/// one process) and returns the header lines and one message per flow.
pub fn parse_flows_hex(ofctl: &PathBuf, flows: &[String]) -> (Vec<String>, Vec<PrintedMsg>) {
    let mut file = tempfile("flows");
    for f in flows {
        writeln!(file.1, "{f}").unwrap();
    }
    drop(file.1);
    let r = run(
        ofctl,
        &[
            "-O",
            "OpenFlow13",
            "-mmmmm",
            "parse-flows",
            file.0.to_str().unwrap(),
        ],
    );
    let _ = std::fs::remove_file(&file.0);
    assert!(r.ok, "ovs-ofctl parse-flows failed: {}", r.stderr);
    split_printed(&r.stdout)
}

/// `ovs-ofctl ofp-print HEX [VERBOSITY]`.
pub fn ofp_print(ofctl: &PathBuf, hex: &str, verbosity: Option<u32>) -> Run {
    let v = verbosity.map(|v| v.to_string());
    let mut args = vec!["ofp-print", hex];
    if let Some(v) = &v {
        args.push(v);
    }
    run(ofctl, &args)
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Strips the ` (xid=0x…)` part of a printed header, which depends on the
/// position of the flow in its batch.
pub fn without_xid(line: &str) -> String {
    match (line.find(" (xid=0x"), line.find("):")) {
        (Some(a), Some(b)) if b > a => format!("{}{}", &line[..a], &line[b + 1..]),
        _ => line.to_string(),
    }
}

/// The data lines of a `.flows` file (comments and blank lines dropped, as
/// `ovs-ofctl` does).
pub fn read_flows(path: &str) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    text.lines()
        .map(|l| l.split('#').next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn tempfile(tag: &str) -> (PathBuf, std::fs::File) {
    let path = std::env::temp_dir().join(format!(
        "rvs-oracle-{tag}-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let f = std::fs::File::create(&path).unwrap();
    (path, f)
}

#[test]
fn hexdump_lines_parse_back_to_bytes() {
    assert_eq!(
        hexdump_line_bytes(
            "00000060  00 00 01 00 00 00 00 00-                        |........        |"
        ),
        Some(vec![0, 0, 1, 0, 0, 0, 0, 0])
    );
    assert_eq!(
        hexdump_line_bytes(
            "00000050  ff ff 00 18 00 00 23 20-00 23 00 00 00 00 00 00 |......# .#......|"
        )
        .map(|b| b.len()),
        Some(16)
    );
    assert_eq!(
        hexdump_line_bytes("OFPT_FLOW_MOD (OF1.3) (xid=0x1): ADD actions=drop"),
        None
    );
    assert_eq!(
        without_xid("OFPT_FLOW_MOD (OF1.3) (xid=0x1a): ADD x"),
        "OFPT_FLOW_MOD (OF1.3): ADD x"
    );
}
