//! Oracle test for the binary decoder: each OXM TLV list in
//! `tests/data/match_wire.txt` is wrapped in an OF1.3 FLOW_MOD and decoded by
//! `ovs-ofctl ofp-print` and by rvs. Both must accept it and print the same
//! match text, or both must refuse it with the same `OFPBMC_*` error.
//!
//! Without `ovs-ofctl` the test fails if `CI=true`, else prints a skip note.

use std::process::Command;

use ofp_codec::{Match, Reader};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// An OF1.3 FLOW_MOD ADD (priority 32768, no instructions) with `tlvs` as match.
fn flow_mod_with_match(tlvs: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut m = Vec::new();
    m.extend_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&((4 + tlvs.len()) as u16).to_be_bytes());
    m.extend_from_slice(tlvs);
    m.resize(m.len().div_ceil(8) * 8, 0);
    let mut body = vec![0u8; 16]; // cookie, cookie_mask
    body.extend_from_slice(&[0, 0]); // table_id, command=ADD
    body.extend_from_slice(&[0; 4]); // idle, hard timeouts
    body.extend_from_slice(&0x8000u16.to_be_bytes());
    body.extend_from_slice(&[0xff; 12]); // buffer_id, out_port, out_group
    body.extend_from_slice(&[0; 4]); // flags, pad
    let mut msg = vec![4, 14];
    msg.extend_from_slice(&((8 + body.len() + m.len()) as u16).to_be_bytes());
    msg.extend_from_slice(&1u32.to_be_bytes());
    msg.extend_from_slice(&body);
    msg.extend_from_slice(&m);
    (msg, m)
}

/// `Ok(match text)` or `Err(error name)` as `ovs-ofctl ofp-print` reports it.
fn ovs_decode(msg: &[u8]) -> Result<String, String> {
    let hex: String = msg.iter().map(|b| format!("{b:02x}")).collect();
    let out = Command::new("ovs-ofctl")
        .args(["ofp-print", &hex])
        .output()
        .expect("run ovs-ofctl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let first = text.lines().next().unwrap_or("").to_string();
    let rest = first.split_once("): ").map_or("", |(_, r)| r);
    if let Some(err) = rest.strip_prefix("***decode error: ") {
        return Err(err.trim_end_matches('*').to_string());
    }
    let body = rest.strip_prefix("ADD").unwrap_or(rest).trim_start();
    Ok(body
        .split_once("actions=")
        .map_or(body, |(m, _)| m)
        .trim_end()
        .to_string())
}

#[test]
fn binary_matches_decode_like_ovs_ofctl() {
    if Command::new("ovs-ofctl").arg("--version").output().is_err() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("ovs-ofctl is required for the match wire oracle test in CI");
        }
        eprintln!("SKIP match wire oracle test: ovs-ofctl not found (install openvswitch-common)");
        return;
    }
    let cases: Vec<&str> = include_str!("data/match_wire.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut failures = Vec::new();
    for case in &cases {
        let (msg, match_bytes) = flow_mod_with_match(&hex(case));
        let want = ovs_decode(&msg);
        // As OVS's FLOW_MOD decoder: the match, then the ct tuple check.
        let got = Match::decode(&mut Reader::new(&match_bytes))
            .and_then(|m| m.check_ct_tuple_ip_version().map(|()| m))
            .map(|m| m.to_string())
            .map_err(|e| e.to_string());
        if got != want {
            failures.push(format!("{case}: rvs {got:?}, ovs {want:?}"));
        }
    }
    eprintln!(
        "match wire oracle: {}/{} identical",
        cases.len() - failures.len(),
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
