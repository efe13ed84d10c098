//! The oracle corpus: rvs's flow text, bytes and printer against Debian's
//! `ovs-ofctl` (Open vSwitch 3.1) on `tests/data/corpus.flows` (≥ 300
//! distinct flows covering every match field and action rvs supports, `ct`
//! and `nat` variants included) and `tests/data/refused.flows` (flows OVS
//! refuses, each with the error OVS names).
//!
//! For every corpus flow:
//! 1. rvs parses it, and prints the same `usable protocols:` line as
//!    `ovs-ofctl -O OpenFlow13 parse-flow`;
//! 2. rvs's encoded FLOW_MOD equals the bytes `ovs-ofctl -O OpenFlow13
//!    -mmmmm parse-flows` dumps for it (all flows in one file, so xids are
//!    1, 2, 3, … in both);
//! 3. rvs's printout of its own bytes equals OVS's `OFPT_FLOW_MOD` line;
//! 4. `ovs-ofctl ofp-print <rvs hex>` equals rvs's `ofp-print` of the same hex.
//!
//! Flows that cannot pass yet are listed in [`KNOWN_DIFFERENCES`] with the
//! reason; the test asserts they still differ (so the list stays honest),
//! and for those whose bytes legitimately differ, that OVS decodes rvs's
//! bytes to the same flow it parsed.
//!
//! Without `ovs-ofctl` the test is skipped, except under `CI=true`, where it
//! fails.

mod ovs_oracle;

use ofp_codec::msg::Message;
use ofp_codec::text::{Command, parse_flow_line};
use ovs_oracle::{
    PrintedMsg, hex, ofp_print, ovs_ofctl, parse_flows_hex, read_flows, run, without_xid,
};

/// How a known difference differs.
#[derive(Clone, Copy, PartialEq, Eq)]
// No difference is listed now; the kinds stay for the next one.
#[allow(dead_code)]
enum Kind {
    /// The bytes legitimately differ (a different but equivalent encoding):
    /// OVS must decode rvs's bytes to the same flow it parsed.
    EquivalentEncoding,
    /// rvs is wrong or lacks the feature (an open bug, owner named in the
    /// reason). Only asserted to still differ.
    Open,
}

/// Flows of the corpus rvs does not yet handle like OVS: flow, why, kind.
const KNOWN_DIFFERENCES: &[(&str, &str, Kind)] = &[
    // None: the last one, `output(port=1,max_len=100)` (NXAST_OUTPUT_TRUNC),
    // is supported since the Nicira action additions.
];

fn data(name: &str) -> String {
    format!("{}/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// What rvs makes of one flow.
struct RvsFlow {
    usable: String,
    bytes: Vec<u8>,
    line: String,
    print_v2: String,
}

fn rvs_flow(flow: &str, xid: u32) -> Result<RvsFlow, String> {
    let parsed =
        parse_flow_line(flow, Some(Command::Add)).map_err(|e| format!("rvs refuses it: {e}"))?;
    let bytes = Message::FlowMod(parsed.spec.to_flow_mod())
        .encode(xid)
        .to_vec();
    let line = ofp_codec::msg::print::ofp_to_string(&bytes, 0);
    let print_v2 = ofp_codec::msg::print::ofp_to_string(&bytes, 2);
    Ok(RvsFlow {
        usable: format!("usable protocols: {}", parsed.usable),
        bytes,
        line,
        print_v2,
    })
}

/// Runs `f` over `items` on a few threads, keeping order.
fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
    let n = 4;
    let chunk = items.len().div_ceil(n).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                let f = &f;
                s.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(i, t)| f(c * chunk + i, t))
                        .collect::<Vec<R>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    })
}

/// All differences between rvs and OVS for flow number `i` (0-based).
fn compare(ofctl: &std::path::PathBuf, i: usize, flow: &str, ovs: &PrintedMsg) -> Vec<String> {
    let mut diffs = Vec::new();
    let rvs = match rvs_flow(flow, (i + 1) as u32) {
        Ok(r) => r,
        Err(e) => return vec![e],
    };
    let single = run(ofctl, &["-O", "OpenFlow13", "parse-flow", flow]);
    let ovs_usable = single.stdout.lines().next().unwrap_or("").to_string();
    if rvs.usable != ovs_usable {
        diffs.push(format!("usable: rvs `{}` ovs `{}`", rvs.usable, ovs_usable));
    }
    if rvs.line.trim_end() != ovs.line {
        diffs.push(format!(
            "line:\n  rvs {}\n  ovs {}",
            rvs.line.trim_end(),
            ovs.line
        ));
    }
    if rvs.bytes != ovs.bytes {
        diffs.push(format!(
            "bytes:\n  rvs {}\n  ovs {}",
            hex(&rvs.bytes),
            hex(&ovs.bytes)
        ));
    }
    let ovs_print = ofp_print(ofctl, &hex(&rvs.bytes), None);
    if ovs_print.stdout != rvs.print_v2 {
        diffs.push(format!(
            "ofp-print of rvs bytes:\n  rvs {}  ovs {}",
            rvs.print_v2, ovs_print.stdout
        ));
    }
    diffs
}

#[test]
fn corpus_flows_match_ovs_text_bytes_and_printer() {
    let Some(ofctl) = ovs_ofctl() else { return };
    let flows = read_flows(&data("corpus.flows"));
    assert!(flows.len() >= 300, "corpus has only {} flows", flows.len());
    let (header, ovs_msgs) = parse_flows_hex(&ofctl, &flows);
    assert_eq!(header.len(), 2, "unexpected ovs-ofctl header: {header:?}");
    assert_eq!(
        ovs_msgs.len(),
        flows.len(),
        "ovs-ofctl printed a different number of flow-mods"
    );
    // Distinct once normalized by OVS.
    let mut lines: Vec<String> = ovs_msgs.iter().map(|m| without_xid(&m.line)).collect();
    lines.sort();
    lines.dedup();
    assert_eq!(
        lines.len(),
        flows.len(),
        "corpus flows are not distinct after OVS normalizes them"
    );

    let results = par_map(&flows, |i, flow| compare(&ofctl, i, flow, &ovs_msgs[i]));
    let mut passed = 0;
    let mut failures = Vec::new();
    let mut still_known = Vec::new();
    for (i, diffs) in results.iter().enumerate() {
        let flow = flows[i].as_str();
        let known = KNOWN_DIFFERENCES.iter().find(|(f, _, _)| *f == flow);
        match (diffs.is_empty(), known) {
            (true, None) => passed += 1,
            (true, Some((_, why, _))) => failures.push(format!(
                "{flow}: listed as a known difference ({why}) but now passes"
            )),
            (false, Some((_, why, kind))) => {
                println!("known difference: {flow}: {why}\n  {}", diffs.join("\n  "));
                if *kind == Kind::EquivalentEncoding {
                    still_known.push(flow);
                }
            }
            (false, None) => failures.push(format!("{flow}\n  {}", diffs.join("\n  "))),
        }
    }
    for flow in &still_known {
        // Bytes may legitimately differ; OVS must still decode rvs's bytes to
        // the flow it parsed itself, when rvs produces bytes at all.
        let i = flows.iter().position(|f| f == flow).unwrap();
        if let Ok(rvs) = rvs_flow(flow, (i + 1) as u32) {
            let ovs_view = ofp_print(&ofctl, &hex(&rvs.bytes), Some(0));
            if without_xid(ovs_view.stdout.trim_end()) != without_xid(&ovs_msgs[i].line) {
                failures.push(format!(
                    "{flow}: known difference, and OVS decodes rvs's bytes differently:\n  {}",
                    ovs_view.stdout.trim_end()
                ));
            }
        }
    }
    for (flow, _, _) in KNOWN_DIFFERENCES {
        if !flows.iter().any(|f| f == flow) {
            failures.push(format!(
                "{flow}: in KNOWN_DIFFERENCES but not in the corpus"
            ));
        }
    }
    println!(
        "corpus: {} flows, {} passed, {} known differences",
        flows.len(),
        passed,
        KNOWN_DIFFERENCES.len()
    );
    for f in failures.iter().take(40) {
        println!("FAIL {f}");
    }
    assert!(
        failures.is_empty(),
        "{} corpus flows differ from ovs-ofctl (first ones printed above)",
        failures.len()
    );
}

/// Set-fields that set no bit (`set_field:*->F`, `0/0`): OVS's parser takes
/// `*` as value and mask zero, its encoder writes nothing for them and drops
/// an apply/write_actions instruction left empty. Not in the corpus, whose
/// flows must stay distinct once normalized (these print as other flows do).
#[test]
fn set_fields_that_set_nothing_match_ovs() {
    let Some(ofctl) = ovs_ofctl() else { return };
    let flows: Vec<String> = [
        "ip,actions=set_field:*->reg0,output:1",
        "ip,actions=ct(commit,exec(set_field:*->ct_mark))",
        "ip,actions=set_field:*->eth_src,output:1",
        "ip,actions=set_field:*->in_port,output:1",
        "ipv6,actions=set_field:::/0->ipv6_src",
        "ip,actions=write_actions(set_field:*->reg0)",
        "ip,actions=set_field:0/0->reg0,write_actions(set_field:*->reg0),goto_table:2",
        "ip,actions=write_actions(set_field:0/0->reg0,output:1)",
        "ip,actions=set_field:0x0/0->reg0",
    ]
    .map(String::from)
    .to_vec();
    let (_, ovs_msgs) = parse_flows_hex(&ofctl, &flows);
    assert_eq!(ovs_msgs.len(), flows.len());
    let failures: Vec<String> = flows
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            let d = compare(&ofctl, i, f, &ovs_msgs[i]);
            (!d.is_empty()).then(|| format!("{f}\n  {}", d.join("\n  ")))
        })
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn refused_flows_are_refused_naming_the_ovs_error() {
    let Some(ofctl) = ovs_ofctl() else { return };
    let text = std::fs::read_to_string(data("refused.flows")).unwrap();
    let cases: Vec<(&str, &str)> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_once('\t').expect("FLOW<TAB>ERROR"))
        .collect();
    assert!(!cases.is_empty());
    let mut passed = 0;
    let mut failures = Vec::new();
    for (flow, error) in &cases {
        // The oracle still refuses it the same way.
        let ovs = run(&ofctl, &["-O", "OpenFlow13", "parse-flow", flow]);
        assert!(
            !ovs.ok && ovs.stderr.contains(error),
            "ovs-ofctl no longer refuses {flow} with {error}: {}",
            ovs.stderr
        );
        // rvs refuses it with the same error, before or after the protocol choice.
        let rvs = match parse_flow_line(flow, Some(Command::Add)) {
            Err(e) => e.to_string(),
            Ok(p)
                if p.usable
                    .choose(ofp_codec::text::Protocols::OF13_OXM)
                    .is_none() =>
            {
                "no usable protocol".to_string()
            }
            Ok(_) => "accepted".to_string(),
        };
        if rvs.contains(error) {
            passed += 1;
        } else {
            failures.push(format!("{flow}: rvs says `{rvs}`, OVS `{error}`"));
        }
    }
    println!("refused: {} flows, {} passed", cases.len(), passed);
    for f in &failures {
        println!("FAIL {f}");
    }
    assert!(failures.is_empty(), "{} refusals differ", failures.len());
}

#[test]
fn corpus_flows_print_back_to_text_that_parses_to_the_same_flow() {
    let flows = read_flows(&data("corpus.flows"));
    let mut failures = Vec::new();
    let mut checked = 0;
    for flow in &flows {
        // Only flows OpenFlow 1.3 can express (what rvs encodes).
        let Ok(parsed) = parse_flow_line(flow, None) else {
            continue;
        };
        if parsed
            .usable
            .choose(ofp_codec::text::Protocols::OF13_OXM)
            .is_none()
        {
            continue;
        }
        checked += 1;
        let printed = parsed.spec.to_string();
        match parse_flow_line(&printed, None) {
            Ok(again) if again.spec == parsed.spec => {}
            Ok(_) => failures.push(format!("{flow} -> {printed}: parses to a different flow")),
            Err(e) => failures.push(format!("{flow} -> {printed}: {e}")),
        }
    }
    for f in failures.iter().take(20) {
        println!("FAIL {f}");
    }
    assert!(checked > 300, "only {checked} corpus flows parse");
    assert!(
        failures.is_empty(),
        "{} flows do not survive print -> parse",
        failures.len()
    );
}

#[test]
fn flow_mod_keywords_and_commands_follow_ovs_ofctl() {
    use ofp_codec::text::Protocols;
    let p = parse_flow_line(
        "modify_strict cookie=0x5/0xff,priority=7,reg0=1,actions=drop",
        None,
    )
    .unwrap();
    assert_eq!(p.spec.command, Command::ModifyStrict);
    assert_eq!(
        (p.spec.cookie, p.spec.cookie_mask, p.spec.priority),
        (5, 0xff, 7)
    );
    assert_eq!(p.spec.to_flow_mod().cookie, 5);
    assert_eq!(p.usable, Protocols::NXM_OXM_ANY);
    let d = parse_flow_line("delete table=3,out_port=2,out_group=7,tcp", None).unwrap();
    assert_eq!(d.spec.command, Command::Delete);
    assert_eq!(
        (d.spec.table_id, d.spec.out_port, d.spec.out_group),
        (3, 2, 7)
    );
    assert_eq!(d.spec.to_flow_mod().table_id, 3);
    let a = parse_flow_line("ip,actions=drop", None).unwrap();
    assert_eq!(
        a.spec.to_flow_mod().table_id,
        0,
        "an add without a table goes to table 0"
    );
    for (flow, err) in [
        (
            "cookie=1/1,actions=drop",
            "flow additions cannot use a cookie mask",
        ),
        ("priority=70000,actions=drop", "invalid priority \"70000\""),
        ("in_port=1", "must specify an action"),
        ("foo=1,actions=drop", "unknown keyword foo"),
        ("table=,actions=drop", "field table missing value"),
        ("table=256,actions=drop", "unknown table \"256\""),
    ] {
        assert_eq!(
            parse_flow_line(flow, Some(Command::Add))
                .unwrap_err()
                .to_string(),
            err,
            "{flow}"
        );
    }
    assert_eq!(
        parse_flow_line("delete cookie=5", None)
            .unwrap_err()
            .to_string(),
        "cannot set cookie (to match on a cookie, specify a mask, e.g. cookie=5/-1)"
    );
}
