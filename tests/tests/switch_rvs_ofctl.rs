//! `rvs ofctl` online commands against `rvs switchd`, their stdout compared
//! with Debian's `ovs-ofctl -O OpenFlow13` running the same commands on the
//! same switch (flow durations masked). Needs root and ovs-ofctl; under
//! `CI=true` a missing one fails the test.

#[path = "../src/rvs.rs"]
#[allow(dead_code)]
mod rvs;

use std::process::Command;

use rvs::{Switchd, ok_stdout, ovs_ofctl, root_available, rvs_bin, tool_available};

/// Masks flow durations, and with `xid` the header xids (ovs-ofctl sends
/// extra requests before a filtered dump, so its xids run ahead of ours).
fn mask(s: &str, xid: bool) -> String {
    s.split(' ')
        .map(|w| {
            if w.starts_with("duration=") {
                "duration=X,"
            } else if xid && w.starts_with("(xid=") {
                "(xid=X):"
            } else {
                w
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn rvs_ofctl(args: &[&str]) -> std::process::Output {
    Command::new(rvs_bin())
        .arg("ofctl")
        .args(args)
        .output()
        .expect("running rvs ofctl")
}

#[test]
fn rvs_ofctl_prints_what_ovs_ofctl_prints() {
    let t = "rvs_ofctl_prints_what_ovs_ofctl_prints";
    if !root_available(t) || !tool_available(t, "ovs-ofctl") {
        return;
    }
    let sw = Switchd::start(&["--datapath-id", "00000000000000cd", "--fail-mode", "secure"]);
    let target = sw.target();
    for f in [
        "priority=100,ip,nw_src=10.0.0.1,actions=output:2",
        "cookie=0x42,table=1,priority=7,tcp,tp_dst=80,idle_timeout=60,actions=drop",
        "priority=50,ct_state=-trk,ip,actions=ct(table=1)",
    ] {
        ok_stdout(&rvs_ofctl(&["add-flow", &target, f]), "rvs ofctl add-flow");
    }
    let mut same = 0;
    for cmd in [
        vec!["show"],
        vec!["dump-desc"],
        vec!["dump-tables"],
        vec!["dump-ports"],
        vec!["dump-ports-desc"],
        vec!["dump-flows"],
        vec!["dump-flows", "--no-stats"],
        vec!["dump-flows", "table=1"],
        vec!["dump-aggregate"],
        vec!["dump-groups"],
        vec!["dump-meters"],
    ] {
        // ovs-ofctl's order: COMMAND SWITCH [ARGS] (options anywhere).
        let mut args = vec![cmd[0], target.as_str()];
        args.extend_from_slice(&cmd[1..]);
        let ours = ok_stdout(&rvs_ofctl(&args), "rvs ofctl");
        let theirs = ok_stdout(&ovs_ofctl(&args), "ovs-ofctl");
        let filtered = cmd.len() > 1 && !cmd[1].starts_with("--");
        assert_eq!(
            mask(&ours, filtered),
            mask(&theirs, filtered),
            "rvs ofctl {cmd:?}"
        );
        same += 1;
    }
    // The bridge name resolves through --rundir.
    let rundir = sw.rundir.to_str().unwrap().to_string();
    let by_name = ok_stdout(
        &rvs_ofctl(&["dump-flows", "--rundir", &rundir, "br0", "--no-stats"]),
        "by name",
    );
    assert_eq!(by_name.lines().count(), 3, "{by_name}");
    // Refused by the switch: exit 1, OVS's error text on stderr.
    let o = rvs_ofctl(&["add-flow", &target, "priority=4,udp,actions=group:99"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("OFPBAC_BAD_OUT_GROUP"));
    // A bundle with a bad flow changes nothing.
    let dir = rvs::TempDir::new("rvsofctl");
    let f = dir.0.join("b.flows");
    std::fs::write(
        &f,
        "priority=1,arp,actions=drop\npriority=2,udp,actions=group:5\n",
    )
    .unwrap();
    let o = rvs_ofctl(&["add-flows", &target, f.to_str().unwrap(), "--bundle"]);
    assert_eq!(o.status.code(), Some(1));
    ok_stdout(&rvs_ofctl(&["del-flows", &target, "table=1"]), "del-flows");
    let left = ok_stdout(&rvs_ofctl(&["dump-flows", &target, "--no-stats"]), "dump");
    assert_eq!(
        left,
        " priority=100,ip,nw_src=10.0.0.1 actions=output:2\n priority=50,ct_state=-trk,ip actions=ct(table=1)\n"
    );
    eprintln!("{same} rvs ofctl commands printed exactly what ovs-ofctl printed");
}
