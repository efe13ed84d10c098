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

use bytes::BytesMut;
use ofp_codec::action::{
    Action, FlowContext, Instruction, decode_instructions, encode_instructions, error_name,
    format_instructions, parse_actions_for_match, validate_flow,
};
use ofp_codec::{Match, Reader};
use std::collections::HashMap;
use std::process::Command;

mod action_util;
use action_util::*;

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

/// Per flow: the actions `ovs-ofctl` prints and its instruction bytes.
fn ovs_batch(flows: &[&str]) -> Vec<(String, String)> {
    ovs_parse_flows(flows)
        .into_iter()
        .map(|p| {
            let acts = p
                .line
                .split_once(" actions=")
                .map(|x| x.1.to_string())
                .unwrap_or_default();
            let off = flow_mod_instructions_offset(&p.bytes);
            (acts, hex(&p.bytes[off..]))
        })
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
    let mut same_msg = 0;
    for line in REFUSED
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        let (flow, want) = line.rsplit_once(" => ").expect("FLOW => ERROR");
        n += 1;
        *by_name.entry(want.to_string()).or_default() += 1;
        let verdict = rvs(flow);
        let got = match &verdict {
            Ok(_) => "accepted".to_string(),
            Err(e) if e.starts_with("PARSE:") => "PARSE".to_string(),
            Err(e) => e.clone(),
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
            let stdout = String::from_utf8_lossy(&out.stdout);
            let paren_name = err
                .rfind('(')
                .map(|i| err[i + 1..].trim_end().trim_end_matches(')').to_string())
                .filter(|n| {
                    !n.is_empty() && n.bytes().all(|c| c.is_ascii_uppercase() || c == b'_')
                });
            let ovs_name = if let Some(i) = stdout.find("***decode error: ") {
                // Encoded by the text parser, refused by OVS's decoder.
                stdout[i + 17..]
                    .split("***")
                    .next()
                    .unwrap_or("")
                    .to_string()
            } else if out.status.success() {
                "accepted".to_string()
            } else if err.contains("no usable protocol") {
                // Inconsistent for every OpenFlow 1.1+ dialect.
                "OFPBAC_MATCH_INCONSISTENT".to_string()
            } else if let Some(n) = paren_name {
                n
            } else {
                "PARSE".to_string()
            };
            if ovs_name != want {
                failures.push(format!(
                    "{flow}: ovs-ofctl says {ovs_name}, data file says {want}"
                ));
            }
            if want == "PARSE" {
                // Same wording as ovs-ofctl's message (after "ovs-ofctl: ")?
                let ovs_msg = err.lines().last().unwrap_or("");
                let ovs_msg = ovs_msg.trim_start_matches("ovs-ofctl: ");
                let rvs_msg = match &verdict {
                    Err(e) => e.trim_start_matches("PARSE: "),
                    Ok(_) => "",
                };
                if ovs_msg == rvs_msg {
                    same_msg += 1;
                } else {
                    failures.push(format!(
                        "message differs for {flow}:\n    ovs: {ovs_msg}\n    rvs: {rvs_msg}"
                    ));
                }
            }
        }
    }
    eprintln!("refused flows: {n} ({by_name:?}); text errors worded as ovs-ofctl: {same_msg}");
    assert!(n >= 40);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
