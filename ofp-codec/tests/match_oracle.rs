//! Oracle test: every match string in `tests/data/matches.txt` is parsed and
//! printed by rvs and by `ovs-ofctl -O OpenFlow13 -mmmmm parse-flows`, and
//! the text (between `ADD ` and ` actions=`) and the `ofp_match` bytes
//! (offset 48 of the FLOW_MOD) must be identical. Where OVS reports a decode
//! error for its own encoding (e.g. `OFPBMC_BAD_PREREQ`), rvs must report
//! the same error when decoding those bytes and from `check_prereqs()`.
//!
//! Without `ovs-ofctl` the test fails if `CI=true`, else prints a skip note.

use std::process::Command;

use bytes::BytesMut;
use ofp_codec::{Match, MatchParser, OfpError, Reader};

const OVS_DEFAULT_PRIORITY: u16 = 0x8000;

fn ovs_ofctl_available() -> bool {
    Command::new("ovs-ofctl")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Parses a line as rvs does in a flow: `priority=` here, the rest by MatchParser.
fn rvs_parse(line: &str) -> Result<(u16, Match), String> {
    let mut p = MatchParser::new();
    let mut priority = OVS_DEFAULT_PRIORITY;
    for item in split_top_level(line) {
        let (k, v) = match item.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (item, None),
        };
        if k == "priority" {
            priority = v.and_then(|v| v.parse().ok()).ok_or("bad priority")?;
            continue;
        }
        match p.item(k, v) {
            Ok(true) => {}
            Ok(false) => return Err(format!("unknown keyword {k}")),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok((priority, p.finish().map_err(|e| e.to_string())?))
}

/// Splits at commas outside parentheses (`packet_type=(1,0x800)`).
fn split_top_level(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out.into_iter().filter(|s| !s.is_empty()).collect()
}

/// One FLOW_MOD as `ovs-ofctl` printed it.
struct OvsFlow {
    /// Match text, or the decode error name.
    text: Result<String, String>,
    bytes: Vec<u8>,
}

fn parse_ovs_output(out: &str) -> Vec<OvsFlow> {
    let mut flows: Vec<OvsFlow> = Vec::new();
    for line in out.lines() {
        if let Some(rest) = line
            .split_once("): ")
            .map(|(_, r)| r)
            .filter(|_| line.starts_with("OFPT_FLOW_MOD"))
        {
            let text = if let Some(err) = rest.strip_prefix("***decode error: ") {
                Err(err.trim_end_matches('*').to_string())
            } else {
                let body = rest.strip_prefix("ADD").unwrap_or(rest).trim_start();
                let m = body.split_once("actions=").map_or(body, |(m, _)| m);
                Ok(m.trim_end().to_string())
            };
            flows.push(OvsFlow {
                text,
                bytes: Vec::new(),
            });
        } else if line.len() > 10 && line.as_bytes()[8] == b' ' && line.as_bytes()[9] == b' ' {
            let hex = &line[10..line.len().min(59)];
            let f = flows.last_mut().expect("hexdump before a flow");
            for h in hex.split([' ', '-']).filter(|h| h.len() == 2) {
                f.bytes.push(u8::from_str_radix(h, 16).expect("hex byte"));
            }
        }
    }
    flows
}

/// The `ofp_match` (with padding) inside an OF1.3 FLOW_MOD.
fn ovs_match_bytes(flow_mod: &[u8]) -> &[u8] {
    let len = u16::from_be_bytes([flow_mod[50], flow_mod[51]]) as usize;
    &flow_mod[48..48 + len.div_ceil(8) * 8]
}

#[test]
fn matches_print_and_encode_exactly_like_ovs_ofctl() {
    if !ovs_ofctl_available() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("ovs-ofctl is required for the match oracle test in CI");
        }
        eprintln!("SKIP match oracle test: ovs-ofctl not found (install openvswitch-common)");
        return;
    }
    let data = include_str!("data/matches.txt");
    let lines: Vec<&str> = data
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(lines.len() >= 120, "at least 120 match strings");
    let dir = std::env::temp_dir().join(format!("rvs-match-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("flows.txt");
    let flows_text: String = lines
        .iter()
        .map(|l| format!("{l},actions=drop\n"))
        .collect();
    std::fs::write(&file, flows_text).unwrap();
    let out = Command::new("ovs-ofctl")
        .args(["-O", "OpenFlow13", "-mmmmm", "parse-flows"])
        .arg(&file)
        .output()
        .expect("run ovs-ofctl");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "ovs-ofctl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ovs = parse_ovs_output(&String::from_utf8_lossy(&out.stdout));
    assert_eq!(ovs.len(), lines.len(), "one FLOW_MOD per line");

    let mut failures = Vec::new();
    for (line, flow) in lines.iter().zip(&ovs) {
        let want_bytes = ovs_match_bytes(&flow.bytes);
        let (priority, m) = match rvs_parse(line) {
            Ok(x) => x,
            Err(e) => {
                failures.push(format!("{line}: rvs parse error: {e}"));
                continue;
            }
        };
        let mut buf = BytesMut::new();
        m.encode(&mut buf);
        if &buf[..] != want_bytes {
            failures.push(format!(
                "{line}: bytes\n  rvs {:02x?}\n  ovs {:02x?}",
                &buf[..],
                want_bytes
            ));
            continue;
        }
        // As OVS's FLOW_MOD decoder: the match, then the ct tuple check.
        let decoded = Match::decode(&mut Reader::new(want_bytes))
            .and_then(|d| d.check_ct_tuple_ip_version().map(|()| d));
        match &flow.text {
            Ok(text) => {
                let got = m.format_with_priority(priority);
                if &got != text {
                    failures.push(format!("{line}: text\n  rvs {got}\n  ovs {text}"));
                    continue;
                }
                match decoded {
                    Ok(d) if d == m => {}
                    other => failures.push(format!(
                        "{line}: decode of OVS bytes gave {other:?}, want {m:?}"
                    )),
                }
            }
            Err(err) => {
                let want = OfpError::from_name(err);
                let got_decode = decoded.as_ref().err().copied();
                let got_check = m
                    .check_prereqs()
                    .and_then(|()| m.check_ct_tuple_ip_version())
                    .err();
                if want.is_none() || got_decode != want || got_check != want {
                    failures.push(format!(
                        "{line}: OVS error {err}; rvs decode {got_decode:?}, check_prereqs {got_check:?}"
                    ));
                }
            }
        }
    }
    let passed = lines.len() - failures.len();
    eprintln!(
        "match oracle: {passed}/{} match strings identical to ovs-ofctl",
        lines.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        lines.len(),
        failures.join("\n")
    );
}

#[test]
fn refused_matches_give_ovs_ofctl_messages() {
    if !ovs_ofctl_available() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("ovs-ofctl is required for the match oracle test in CI");
        }
        eprintln!("SKIP match error oracle test: ovs-ofctl not found");
        return;
    }
    let mut failures = Vec::new();
    let lines: Vec<&str> = include_str!("data/match_errors.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for line in &lines {
        let out = Command::new("ovs-ofctl")
            .args([
                "-O",
                "OpenFlow13",
                "parse-flow",
                &format!("{line},actions=drop"),
            ])
            .output()
            .expect("run ovs-ofctl");
        assert!(!out.status.success(), "{line}: ovs-ofctl accepted it");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let want = stderr
            .lines()
            .filter_map(|l| l.strip_prefix("ovs-ofctl: "))
            .next_back()
            .unwrap_or("")
            .to_string();
        match Match::parse(line) {
            Ok(m) => failures.push(format!("{line}: rvs accepted it as {m}; ovs: {want}")),
            Err(e) if e.msg != want => {
                failures.push(format!("{line}: rvs {:?}, ovs {want:?}", e.msg))
            }
            Err(_) => {}
        }
    }
    eprintln!(
        "match error oracle: {}/{} identical",
        lines.len() - failures.len(),
        lines.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
