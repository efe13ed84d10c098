//! The same `ovs-ofctl -O OpenFlow13` commands against rvs and against
//! Debian's `ovs-vswitchd` (userspace datapath, in its own namespace),
//! outputs compared. Durations and the switch description differ by nature,
//! so dumps use `--no-stats`; OVS's LOCAL port has no rvs counterpart, so
//! port listings are not compared here.
//! Needs root, namespaces, ovs-ofctl and the OVS daemons; under `CI=true` a
//! missing one fails the test.

#[path = "../src/netns.rs"]
#[allow(dead_code)]
mod netns;
#[path = "../src/ovs_ref.rs"]
#[allow(dead_code)]
mod ovs_ref;
#[path = "../src/rvs.rs"]
#[allow(dead_code)]
mod rvs;

use ovs_ref::OvsSwitch;
use rvs::{Switchd, TempDir, ovs_ofctl, root_available, tool_available};

fn ready(test: &str) -> bool {
    root_available(test)
        && netns::namespaces_available(test)
        && tool_available(test, "ovs-ofctl")
        && OvsSwitch::available(test)
}

/// (exit success, stdout, stderr) of one ovs-ofctl run.
fn run(args: &[&str]) -> (bool, String, String) {
    let o = ovs_ofctl(args);
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs `cmd TARGET rest...` against both switches and asserts identical
/// results (with `sort`: stdout lines compared as sets, for dumps whose
/// order is the switch's table iteration order).
fn same(rvs_t: &str, ovs_t: &str, cmd: &[&str], rest: &[&str], sort: bool) -> String {
    let with = |t: &str| {
        let mut v: Vec<&str> = cmd.to_vec();
        v.push(t);
        v.extend_from_slice(rest);
        run(&v)
    };
    let (ok_r, mut out_r, err_r) = with(rvs_t);
    let (ok_o, mut out_o, err_o) = with(ovs_t);
    if sort {
        let s = |t: &str| {
            let mut l: Vec<&str> = t.lines().collect();
            l.sort();
            l.join("\n")
        };
        out_r = s(&out_r);
        out_o = s(&out_o);
    }
    assert_eq!(
        (ok_r, &out_r, &err_r),
        (ok_o, &out_o, &err_o),
        "ovs-ofctl {cmd:?} {rest:?}: rvs vs OVS"
    );
    out_r
}

#[test]
fn flow_table_commands_give_the_same_output_as_ovs_vswitchd() {
    if !ready("flow_table_commands_same_as_ovs") {
        return;
    }
    let dpid = "00000000000000ab";
    let sw = Switchd::start(&["--datapath-id", dpid, "--fail-mode", "secure"]);
    let ovs = OvsSwitch::start("secure", dpid);
    let (r, o) = (sw.target(), ovs.target());
    let dir = TempDir::new("cmp");
    let fw = dir.0.join("firewall.flows");
    std::fs::write(
        &fw,
        "table=0,priority=1,actions=drop\n\
         table=0,priority=10,arp,actions=NORMAL\n\
         table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1)\n\
         table=1,priority=1,actions=drop\n\
         table=1,priority=10,in_port=1,ip,ct_state=+trk+new,actions=ct(commit),output:2\n\
         table=1,priority=10,in_port=1,ip,ct_state=+trk+est,actions=output:2\n\
         table=1,priority=10,in_port=2,ip,ct_state=+trk+est,actions=output:1\n",
    )
    .unwrap();
    let fw = fw.to_str().unwrap();
    let mut checks = 0;
    let mut check = |cmd: &[&str], rest: &[&str], sort: bool| {
        checks += 1;
        same(&r, &o, cmd, rest, sort)
    };
    check(&["replace-flows"], &[fw], false);
    let dump = check(&["dump-flows", "--no-stats"], &[], true);
    assert_eq!(dump.lines().count(), 7, "{dump}");
    check(&["diff-flows"], &[fw], false);
    check(&["dump-aggregate"], &[], false);
    check(&["dump-aggregate"], &["table=1"], false);
    check(&["dump-flows", "--no-stats"], &["table=1,in_port=1"], true);
    check(&["dump-flows", "--no-stats"], &["ip"], true);
    check(&["dump-tables"], &[], false);
    check(
        &["add-flow"],
        &["cookie=0x5,priority=20,tcp,tp_dst=22,actions=drop"],
        false,
    );
    check(&["mod-flows"], &["tcp,actions=output:3"], false);
    check(
        &["mod-flows", "--strict"],
        &["priority=10,arp,actions=drop"],
        false,
    );
    check(&["dump-flows", "--no-stats"], &[], true);
    check(&["del-flows"], &["cookie=0x5/-1"], false);
    check(&["del-flows", "--strict"], &["table=1,priority=1"], false);
    check(&["dump-flows", "--no-stats"], &[], true);
    // Refused by the switch, not by ovs-ofctl: the same error text.
    check(&["add-flow"], &["priority=4,udp,actions=group:99"], false);
    check(
        &["add-flow"],
        &["table=0,priority=5,ip,actions=meter:7,drop"],
        false,
    );
    // Groups and meters.
    check(
        &["add-group"],
        &["group_id=1,type=all,bucket=output:1,bucket=output:2"],
        false,
    );
    check(
        &["add-group"],
        &["group_id=1,type=all,bucket=output:1"],
        false,
    );
    check(&["add-flow"], &["priority=4,udp,actions=group:1"], false);
    check(&["dump-groups"], &[], false);
    check(
        &["add-meter"],
        &["meter=7,kbps,band=type=drop,rate=1000"],
        false,
    );
    check(&["dump-meters"], &[], false);
    check(&["del-groups"], &["group_id=1"], false);
    check(&["dump-flows", "--no-stats"], &[], true);
    check(&["dump-groups"], &[], false);
    // Bundles, including one the switch refuses at commit.
    check(&["--bundle", "replace-flows"], &[fw], false);
    check(&["dump-flows", "--no-stats"], &[], true);
    check(&["del-flows"], &[], false);
    check(&["dump-flows"], &[], false);
    eprintln!("{checks} ovs-ofctl commands gave identical output on rvs and ovs-vswitchd");
}

#[test]
fn conntrack_control_commands_answer_as_ovs_vswitchd() {
    if !ready("conntrack_control_commands_as_ovs") || !tool_available("ct_cmds", "ovs-appctl") {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    let ovs = OvsSwitch::start("secure", "00000000000000ac");
    let ovs_ctl = ovs.rundir.join("ovs-vswitchd.ctl");
    let appctl = |ctl: &std::path::Path, args: &[&str]| {
        let o = std::process::Command::new("ovs-appctl")
            .arg("-t")
            .arg(ctl)
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let mut n = 0;
    for cmd in [
        vec![
            "dpctl/ct-set-limits",
            "default=10",
            "zone=3,limit=5",
            "zone=7,limit=1",
        ],
        vec!["dpctl/ct-get-limits"],
        vec!["dpctl/ct-get-limits", "zone=3,9"],
        vec!["dpctl/ct-del-limits", "zone=7"],
        vec!["dpctl/ct-get-limits"],
        vec!["dpctl/ct-set-maxconns", "1000"],
        vec!["dpctl/ct-get-maxconns"],
        vec!["dpctl/dump-conntrack"],
        vec!["dpctl/flush-conntrack"],
        vec!["dpctl/dump-conntrack", "zone=3"],
    ] {
        assert_eq!(
            appctl(&sw.ctl(), &cmd),
            appctl(&ovs_ctl, &cmd),
            "ovs-appctl {cmd:?}: rvs vs OVS"
        );
        n += 1;
    }
    eprintln!("{n} conntrack control commands answered as ovs-vswitchd does");
}
