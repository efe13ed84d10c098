//! Random-combination oracle: flows built by combining a match from a small
//! pool with 1-4 action snippets (and optional instructions), chosen by a
//! fixed-seed generator, are given to both `ovs-ofctl -O OpenFlow13
//! parse-flow` and rvs. Both must agree on acceptance; when OVS refuses with a
//! named error rvs must give the same name; when OVS accepts, rvs must print
//! the same `actions=` text.

use std::process::Command;

use ofp_codec::action::{
    FlowContext, decode_instructions, encode_instructions, error_name, format_instructions,
    parse_actions_for_match, validate_flow,
};
use ofp_codec::{Match, Reader};

mod action_util;
use action_util::*;

const MATCHES: &[&str] = &[
    "",
    "ip",
    "ipv6",
    "tcp",
    "udp",
    "sctp",
    "arp",
    "icmp",
    "tcp6",
    "dl_vlan=5",
    "mpls",
    "ip,ct_state=+trk+est",
    "ip,ct_state=+trk+inv",
    "ip,ct_state=+trk-inv",
    "table=3",
    "table=3,ip",
];

const SNIPPETS: &[&str] = &[
    "output:1",
    "NORMAL",
    "CONTROLLER:64",
    "LOCAL",
    "IN_PORT",
    "group:3",
    "set_queue:2",
    "drop",
    "push_vlan:0x8100",
    "pop_vlan",
    "strip_vlan",
    "push_mpls:0x8847",
    "pop_mpls:0x0800",
    "set_mpls_ttl:5",
    "dec_mpls_ttl",
    "dec_ttl",
    "dec_ttl(1,2)",
    "mod_nw_ttl:7",
    "set_field:1->reg0",
    "set_field:0x5/0xf->reg1",
    "load:3->NXM_NX_REG2[0..1]",
    "move:NXM_NX_REG0[]->NXM_NX_REG3[]",
    "move:NXM_OF_IP_SRC[]->NXM_NX_REG4[]",
    "move:NXM_OF_TCP_SRC[]->NXM_NX_REG5[0..15]",
    "set_field:80->tcp_dst",
    "set_field:53->udp_dst",
    "set_field:10.0.0.1->ip_dst",
    "set_field:fe80::1->ipv6_src",
    "set_field:2->arp_op",
    "set_field:4101->vlan_vid",
    "set_field:3->vlan_pcp",
    "set_field:7->mpls_label",
    "mod_dl_src:00:00:00:00:00:01",
    "mod_nw_src:1.1.1.1",
    "mod_nw_tos:8",
    "mod_tp_dst:99",
    "mod_vlan_vid:9",
    "mod_vlan_pcp:1",
    "set_tunnel:7",
    "resubmit(,4)",
    "resubmit:2",
    "resubmit(,4,ct)",
    "note:aa.bb",
    "exit",
    "ct_clear",
    "ct(commit)",
    "ct(table=5)",
    "ct(commit,zone=3,table=6)",
    "ct(commit,alg=ftp)",
    "ct(commit,alg=tftp)",
    "ct(commit,nat(src=10.0.0.9))",
    "ct(commit,nat(src=fe80::9))",
    "ct(nat)",
    "ct(commit,exec(set_field:1->ct_mark))",
    "ct(zone=NXM_NX_REG0[0..15])",
    "ct(commit,force,exec(set_field:0x1/0x1->ct_label))",
    "output:NXM_NX_REG0[0..15]",
    "controller(reason=no_match)",
    "controller(userdata=01.02,pause)",
    "learn(table=9,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])",
    "learn(table=9,NXM_OF_IP_SRC[])",
    "learn(table=9,eth_type=0x800,NXM_OF_IP_DST[])",
    "clone(output:2)",
    "clone(dec_ttl)",
    "pop_queue",
    "fin_timeout(idle_timeout=3)",
    "enqueue:1:2",
    "conjunction(1,1/2)",
];

const INSTRUCTIONS: &[&str] = &[
    "write_actions(set_field:80->tcp_dst)",
    "write_actions(pop_vlan)",
    "write_actions(ct(nat))",
    "meter:0",
    "goto_table:3",
    "goto_table:2",
    "goto_table:1",
    "goto_table:4",
    "write_metadata:0x1/0x1",
    "clear_actions",
    "meter:1",
    "write_actions(output:1)",
    "write_actions(dec_ttl,output:2)",
    "write_actions(exit)",
    "write_actions(ct(commit),output:3)",
];

/// A small fixed-seed generator (xorshift), so the test is deterministic.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[(self.next() % v.len() as u64) as usize]
    }
}

fn flows(n: usize) -> Vec<String> {
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let mut out = Vec::new();
    while out.len() < n {
        let m = rng.pick(MATCHES);
        let k = 1 + (rng.next() % 4) as usize;
        let mut items: Vec<&str> = (0..k).map(|_| rng.pick(SNIPPETS)).collect();
        // Instructions go last in OVS order most of the time; sometimes not.
        if rng.next().is_multiple_of(3) {
            items.push(rng.pick(INSTRUCTIONS));
        }
        if rng.next().is_multiple_of(7) {
            items.insert(0, rng.pick(INSTRUCTIONS));
        }
        let acts = items.join(",");
        out.push(if m.is_empty() {
            format!("actions={acts}")
        } else {
            format!("{m},actions={acts}")
        });
    }
    out
}

/// rvs's verdict: `Ok(printed)`, `Err(name)` or `Err("PARSE")`.
fn rvs(line: &str) -> Result<String, String> {
    let f = split_flow(line);
    let m = Match::parse(&f.match_text).map_err(|_| "PARSE".to_string())?;
    let insts = parse_actions_for_match(f.actions, &m).map_err(|_| "PARSE".to_string())?;
    validate_flow(&m, &insts, FlowContext::table(f.table)).map_err(error_name)?;
    let mut b = bytes::BytesMut::new();
    encode_instructions(&insts, &mut b);
    let decoded = decode_instructions(&mut Reader::new(&b)).map_err(error_name)?;
    Ok(format_instructions(&decoded))
}

fn ovs(line: &str) -> Result<String, String> {
    let out = Command::new("ovs-ofctl")
        .args(["-O", "OpenFlow13", "parse-flow", line])
        .output()
        .expect("run ovs-ofctl");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    if let Some(i) = stdout.find("***decode error: ") {
        return Err(stdout[i + 17..]
            .split("***")
            .next()
            .unwrap_or("")
            .to_string());
    }
    if out.status.success() {
        let l = stdout
            .lines()
            .find(|l| l.starts_with("OFPT_FLOW_MOD"))
            .unwrap_or("");
        return Ok(l
            .split_once(" actions=")
            .map(|x| x.1.to_string())
            .unwrap_or_default());
    }
    if stderr.contains("no usable protocol") {
        return Err("OFPBAC_MATCH_INCONSISTENT".into());
    }
    let name = stderr
        .rfind('(')
        .map(|i| stderr[i + 1..].trim_end().trim_end_matches(')').to_string())
        .filter(|n| !n.is_empty() && n.bytes().all(|c| c.is_ascii_uppercase() || c == b'_'));
    Err(name.unwrap_or_else(|| "PARSE".into()))
}

#[test]
fn random_action_combinations_agree_with_ovs() {
    if !require_oracle() {
        return;
    }
    let flows = flows(800);
    let mut failures = Vec::new();
    let (mut accepted, mut refused) = (0, 0);
    for f in &flows {
        let (o, r) = (ovs(f), rvs(f));
        if o == r {
            if o.is_ok() {
                accepted += 1;
            } else {
                refused += 1;
            }
        } else {
            failures.push(format!("{f}\n    ovs: {o:?}\n    rvs: {r:?}"));
        }
    }
    eprintln!(
        "random oracle: {} flows, agree {} ({accepted} accepted, {refused} refused), differ {}",
        flows.len(),
        accepted + refused,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
