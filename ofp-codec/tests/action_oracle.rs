//! Oracle test: rvs's action parser, printer, encoder and checks against
//! Open vSwitch's `ovs-ofctl` (Debian OVS 3.1) on the flows in
//! `tests/data/actions.txt` (accepted) and `tests/data/actions_refused.txt`
//! (refused, with the error OVS gives).
//!
//! For every accepted flow: rvs parses the `actions=` text, checks it
//! against the match, encodes the instructions, decodes them again, and
//! prints them; the printed text must equal what `ovs-ofctl -O OpenFlow13
//! parse-flows` prints and the encoded bytes must equal the instruction bytes
//! of OVS's FLOW_MOD hexdump. Without `ovs-ofctl` the test checks rvs alone
//! (round trips, refusals) and says so; with `CI=true` a missing
//! `ovs-ofctl` is a failure.

use std::collections::HashMap;
use std::process::Command;

use bytes::BytesMut;
use ofp_codec::action::{
    Action, FlowContext, Instruction, decode_instructions, encode_instructions, error_name,
    format_instructions, parse_actions_for_match, validate_flow,
};
use ofp_codec::{Match, Reader};

const ACCEPTED: &str = include_str!("data/actions.txt");
const REFUSED: &str = include_str!("data/actions_refused.txt");

/// A flow line split into table, match text and actions text.
struct FlowLine<'a> {
    table: u8,
    match_text: String,
    actions: &'a str,
}

fn split_flow(line: &str) -> FlowLine<'_> {
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

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// What rvs makes of a flow: printed actions (after encode+decode, as OVS
/// prints a FLOW_MOD) and encoded instruction bytes.
fn rvs(line: &str) -> Result<(String, String), String> {
    let f = split_flow(line);
    let m = Match::parse(&f.match_text).map_err(|e| format!("match: {e}"))?;
    let insts = parse_actions_for_match(f.actions, &m).map_err(|e| format!("PARSE: {e}"))?;
    validate_flow(&m, &insts, FlowContext::table(f.table)).map_err(error_name)?;
    let mut b = BytesMut::new();
    encode_instructions(&insts, &mut b);
    let decoded = decode_instructions(&mut Reader::new(&b))
        .map_err(|e| format!("decode of own encoding failed: {}", error_name(e)))?;
    let printed = format_instructions(&decoded);
    let printed_direct = format_instructions(&insts);
    if printed_direct != printed && !reg_load_split(&insts) {
        return Err(format!(
            "printing before and after the wire differ: {printed_direct} vs {printed}"
        ));
    }
    let mut again = BytesMut::new();
    encode_instructions(&decoded, &mut again);
    if again != b {
        return Err("decode→encode is not the identity on rvs's own bytes".into());
    }
    Ok((printed, hex(&b)))
}

/// A partial-mask set_field becomes `NXAST_REG_LOAD` on the wire and is then
/// printed as `load:`, and a `load:` whose mask has several runs is printed
/// as several `load:`s; before the wire both are one action printed otherwise.
fn reg_load_split(insts: &[Instruction]) -> bool {
    fn partial(a: &Action) -> bool {
        match a {
            Action::SetField(sf) => sf.mask.iter().any(|&b| b != 0xff),
            Action::Ct(c) => c.actions.iter().any(partial),
            _ => false,
        }
    }
    insts.iter().any(|i| match i {
        Instruction::ApplyActions(a) | Instruction::WriteActions(a) => a.iter().any(partial),
        _ => false,
    })
}

fn ovs_ofctl_available() -> bool {
    Command::new("ovs-ofctl")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn require_oracle() -> bool {
    if ovs_ofctl_available() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("ovs-ofctl is required for the action oracle test (CI=true)");
    }
    eprintln!("ovs-ofctl not found: checking rvs without the oracle");
    false
}

/// Runs `ovs-ofctl -mmmmm parse-flows` on `flows`; returns per flow the
/// printed actions and the instruction bytes (hex).
fn ovs_batch(flows: &[&str]) -> Vec<(String, String)> {
    let dir = std::env::temp_dir().join(format!("rvs-action-oracle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("flows.txt");
    std::fs::write(&file, flows.join("\n") + "\n").unwrap();
    let out = Command::new("ovs-ofctl")
        .args(["-O", "OpenFlow13", "-mmmmm", "parse-flows"])
        .arg(&file)
        .output()
        .expect("run ovs-ofctl");
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "ovs-ofctl refused the accepted list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut result: Vec<(String, Vec<u8>)> = Vec::new();
    for line in text.lines() {
        if line.starts_with("OFPT_FLOW_MOD") {
            let acts = line
                .split_once(" actions=")
                .map(|x| x.1.to_string())
                .unwrap_or_default();
            result.push((acts, Vec::new()));
        } else if let Some(cur) = result.last_mut()
            && line.len() > 10
            && line.as_bytes()[8] == b' '
            && line[..8].bytes().all(|c| c.is_ascii_hexdigit())
        {
            let body = line[10..].split('|').next().unwrap_or("");
            for tok in body.replace('-', " ").split_whitespace() {
                cur.1
                    .push(u8::from_str_radix(tok, 16).expect("hexdump byte"));
            }
        }
    }
    result
        .into_iter()
        .map(|(acts, msg)| {
            // FLOW_MOD: 48-byte fixed part, then ofp_match padded to 8.
            let mlen = usize::from(u16::from_be_bytes([msg[50], msg[51]]));
            let off = 48 + mlen.div_ceil(8) * 8;
            (acts, hex(&msg[off..]))
        })
        .collect()
}

fn accepted() -> Vec<&'static str> {
    ACCEPTED
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn accepted_flows_print_and_encode_like_ovs() {
    let flows = accepted();
    assert!(
        flows.len() >= 200,
        "the oracle list holds {} flows",
        flows.len()
    );
    let distinct: std::collections::HashSet<_> = flows.iter().collect();
    assert_eq!(
        distinct.len(),
        flows.len(),
        "duplicate lines in actions.txt"
    );

    let oracle = require_oracle().then(|| ovs_batch(&flows));
    if let Some(o) = &oracle {
        assert_eq!(
            o.len(),
            flows.len(),
            "ovs-ofctl printed one FLOW_MOD per flow"
        );
    }
    let mut failures = Vec::new();
    let (mut text_ok, mut bytes_ok) = (0, 0);
    for (i, flow) in flows.iter().enumerate() {
        match rvs(flow) {
            Err(e) => failures.push(format!("{flow}\n    rvs: {e}")),
            Ok((printed, bytes)) => {
                let Some(o) = &oracle else { continue };
                let (ovs_text, ovs_bytes) = &o[i];
                if &printed == ovs_text {
                    text_ok += 1;
                } else {
                    failures.push(format!(
                        "{flow}\n    text rvs: {printed}\n    text ovs: {ovs_text}"
                    ));
                }
                if &bytes == ovs_bytes {
                    bytes_ok += 1;
                } else {
                    failures.push(format!(
                        "{flow}\n    bytes rvs: {bytes}\n    bytes ovs: {ovs_bytes}"
                    ));
                }
            }
        }
    }
    eprintln!(
        "action oracle: {} flows, text equal {text_ok}, bytes equal {bytes_ok}, oracle {}",
        flows.len(),
        if oracle.is_some() {
            "ovs-ofctl"
        } else {
            "absent"
        }
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn refused_flows_are_refused_with_ovs_error() {
    let oracle = require_oracle();
    let mut failures = Vec::new();
    let mut n = 0;
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for line in REFUSED
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (flow, want) = line.rsplit_once(" => ").expect("FLOW => ERROR");
        n += 1;
        *by_name.entry(want.to_string()).or_default() += 1;
        let got = match rvs(flow) {
            Ok(_) => "accepted".to_string(),
            Err(e) if e.starts_with("PARSE:") => "PARSE".to_string(),
            Err(e) => e,
        };
        if got != want {
            failures.push(format!("{flow}: rvs {got}, expected {want}"));
        }
        if oracle {
            let out = Command::new("ovs-ofctl")
                .args(["-O", "OpenFlow13", "parse-flow", flow])
                .output()
                .expect("run ovs-ofctl");
            let err = String::from_utf8_lossy(&out.stderr);
            let ovs_name = if out.status.success() {
                "accepted".to_string()
            } else if err.contains("no usable protocol") {
                // Inconsistent for every OpenFlow 1.1+ dialect.
                "OFPBAC_MATCH_INCONSISTENT".to_string()
            } else if let Some(i) = err.rfind('(') {
                err[i + 1..].trim_end().trim_end_matches(')').to_string()
            } else {
                "PARSE".to_string()
            };
            if ovs_name != want {
                failures.push(format!(
                    "{flow}: ovs-ofctl says {ovs_name}, data file says {want}"
                ));
            }
        }
    }
    eprintln!("refused flows: {n} ({by_name:?})");
    assert!(n >= 40);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
