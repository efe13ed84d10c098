//! `rvs ofctl` online commands against `rvs switchd`, their stdout compared
//! with Debian's `ovs-ofctl -O OpenFlow13` running the same commands on the
//! same switch (flow durations masked). Needs root and ovs-ofctl; under
//! `CI=true` a missing one fails the test.

#[path = "../src/rvs.rs"]
#[allow(dead_code)]
mod rvs;

use std::process::Command;

use rvs::{Switchd, ok_stdout, ovs_ofctl, root_available, rvs_bin, tool_available};

/// Masks flow durations. Header xids are compared: rvs ofctl fetches port
/// and table names before a filtered dump as ovs-ofctl does, so its xids
/// are ovs-ofctl's.
fn mask(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            if w.starts_with("duration=") {
                "duration=X,"
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
        vec!["dump-flows", "--names", "in_port=1"],
        vec!["dump-aggregate"],
        vec!["dump-aggregate", "table=1"],
        vec!["dump-table-features"],
        vec!["dump-group-features"],
        vec!["meter-features"],
        vec!["queue-stats"],
        vec!["dump-groups"],
        vec!["dump-meters"],
    ] {
        // ovs-ofctl's order: COMMAND SWITCH [ARGS] (options anywhere).
        let mut args = vec![cmd[0], target.as_str()];
        args.extend_from_slice(&cmd[1..]);
        let ours = ok_stdout(&rvs_ofctl(&args), "rvs ofctl");
        let theirs = ok_stdout(&ovs_ofctl(&args), "ovs-ofctl");
        assert_eq!(mask(&ours), mask(&theirs), "rvs ofctl {cmd:?}");
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

/// An ARP request from 10.0.0.1 for 10.0.0.2 (42 bytes).
const ARP: &str =
    "ffffffffffff020000000001080600010800060400010200000000010a0000010000000000000a000002";

#[test]
fn packet_out_to_table_reaches_monitors_as_packet_in() {
    let t = "packet_out_to_table_reaches_monitors";
    if !root_available(t) || !tool_available(t, "ovs-ofctl") {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    let target = sw.target();
    ok_stdout(
        &rvs_ofctl(&["add-flow", &target, "priority=0,actions=CONTROLLER:65535"]),
        "add-flow",
    );
    // ovs-ofctl monitor needs a directory for its own control socket.
    let _ = std::fs::create_dir_all("/var/run/openvswitch");
    let spawn = |cmd: &mut Command| {
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let ours = spawn(Command::new(rvs_bin()).args(["ofctl", "monitor", &target, "65535"]));
    let theirs =
        spawn(Command::new("ovs-ofctl").args(["-O", "OpenFlow13", "monitor", &target, "65535"]));
    std::thread::sleep(std::time::Duration::from_millis(700));
    let po = format!("in_port=1 packet={ARP} actions=TABLE");
    ok_stdout(
        &rvs_ofctl(&["packet-out", &target, &po]),
        "rvs ofctl packet-out",
    );
    std::thread::sleep(std::time::Duration::from_millis(700));
    let stop = |c: std::process::Child| {
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let o = c.wait_with_output().unwrap();
        // ovs-ofctl may print messages on stderr (next to its own log
        // lines) when its output is a pipe: keep both, minus the log lines.
        let err = String::from_utf8_lossy(&o.stderr);
        let messages: String = err
            .lines()
            .filter(|l| !l.contains("|fatal_signal|"))
            .map(|l| format!("{l}\n"))
            .collect();
        format!("{}{messages}", String::from_utf8_lossy(&o.stdout))
    };
    let (ours, theirs) = (stop(ours), stop(theirs));
    assert!(
        // Both monitors ask for NXT_PACKET_IN2 first, and rvs grants it.
        ours.starts_with("NXT_PACKET_IN2 (OF1.3) (xid=0x0): cookie=0x0 total_len=42 in_port=1"),
        "{ours}"
    );
    assert!(
        ours.contains("arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_op=1"),
        "{ours}"
    );
    assert_eq!(ours, theirs, "rvs ofctl monitor vs ovs-ofctl monitor");
}

#[test]
fn replace_flows_and_diff_flows_agree_with_ovs_ofctl() {
    let t = "replace_flows_and_diff_flows";
    if !root_available(t) || !tool_available(t, "ovs-ofctl") {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    let target = sw.target();
    let dir = rvs::TempDir::new("diff");
    let fw = dir.0.join("fw.flows");
    std::fs::write(
        &fw,
        "table=0,priority=1,actions=drop\n\
         table=0,priority=10,arp,actions=NORMAL\n\
         table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1)\n\
         table=1,priority=1,actions=drop\n\
         table=1,priority=10,in_port=1,ip,ct_state=+trk+new,actions=ct(commit),output:2\n",
    )
    .unwrap();
    let fw = fw.to_str().unwrap();
    ok_stdout(
        &rvs_ofctl(&["add-flow", &target, "priority=77,udp,actions=drop"]),
        "add-flow",
    );
    ok_stdout(
        &rvs_ofctl(&["add-flow", &target, "priority=10,arp,actions=drop"]),
        "add-flow",
    );
    // Differences: same lines (order among equal priorities may differ), exit 2.
    let ours = rvs_ofctl(&["diff-flows", &target, fw]);
    let theirs = ovs_ofctl(&["diff-flows", &target, fw]);
    assert_eq!(
        (ours.status.code(), theirs.status.code()),
        (Some(2), Some(2))
    );
    let sorted = |o: &std::process::Output| {
        let mut l: Vec<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(String::from)
            .collect();
        l.sort();
        l
    };
    assert_eq!(sorted(&ours), sorted(&theirs));
    assert!(
        sorted(&ours).contains(&"-priority=77,udp actions=drop".to_string()),
        "{:?}",
        sorted(&ours)
    );
    // replace-flows makes the switch equal to the file, by ovs-ofctl's account.
    ok_stdout(&rvs_ofctl(&["replace-flows", &target, fw]), "replace-flows");
    let o = ovs_ofctl(&["diff-flows", &target, fw]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = rvs_ofctl(&["diff-flows", fw, &target]);
    assert_eq!((o.status.code(), o.stdout.len()), (Some(0), 0));
}

#[test]
fn groups_and_meters_added_by_rvs_ofctl_dump_as_ovs_ofctl_added_them() {
    let t = "groups_and_meters_added_by_rvs_ofctl";
    if !root_available(t) || !tool_available(t, "ovs-ofctl") {
        return;
    }
    let ours = Switchd::start(&["--fail-mode", "secure"]);
    let theirs = Switchd::start(&["--fail-mode", "secure"]);
    let (a, b) = (ours.target(), theirs.target());
    for (cmd, arg) in [
        (
            "add-group",
            "group_id=1,type=all,bucket=output:1,bucket=output:2",
        ),
        (
            "add-group",
            "group_id=2,type=select,bucket=weight:10,actions=output:1,bucket=weight:20,actions=output:2",
        ),
        (
            "add-meter",
            "meter=7,kbps,burst,band=type=drop,rate=1000,burst_size=50",
        ),
        ("mod-group", "group_id=1,type=all,bucket=output:3"),
        ("del-groups", "group_id=2"),
    ] {
        ok_stdout(&rvs_ofctl(&[cmd, &a, arg]), cmd);
        ok_stdout(&ovs_ofctl(&[cmd, &b, arg]), cmd);
    }
    for dump in ["dump-groups", "dump-meters"] {
        let x = ok_stdout(&ovs_ofctl(&[dump, &a]), dump);
        let y = ok_stdout(&ovs_ofctl(&[dump, &b]), dump);
        assert_eq!(x, y, "{dump}");
    }
    let groups = ok_stdout(&ovs_ofctl(&["dump-groups", &a]), "dump-groups");
    assert!(
        groups.contains(" group_id=1,type=all,bucket=actions=output:3\n"),
        "{groups}"
    );
    assert!(!groups.contains("group_id=2"), "{groups}");
    // The switch refuses a duplicate: exit 1 with OVS's error name.
    let o = rvs_ofctl(&["add-group", &a, "group_id=1,type=all,bucket=output:1"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("OFPGMFC_GROUP_EXISTS"));
}

#[test]
fn expired_and_deleted_flows_send_flow_removed_to_monitors() {
    let t = "expired_and_deleted_flows_send_flow_removed";
    if !root_available(t) || !tool_available(t, "ovs-ofctl") {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    let target = sw.target();
    let mon = Command::new(rvs_bin())
        .args(["ofctl", "monitor", &target, "128"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let f1 = "cookie=0x7,priority=11,ip,nw_dst=10.1.1.1,hard_timeout=1,send_flow_rem,actions=drop";
    ok_stdout(&rvs_ofctl(&["add-flow", &target, f1]), "add-flow");
    ok_stdout(
        &rvs_ofctl(&[
            "add-flow",
            &target,
            "priority=12,arp,send_flow_rem,actions=drop",
        ]),
        "add-flow",
    );
    ok_stdout(&rvs_ofctl(&["del-flows", &target, "arp"]), "del-flows");
    std::thread::sleep(std::time::Duration::from_millis(2000));
    let _ = Command::new("kill")
        .args(["-TERM", &mon.id().to_string()])
        .status();
    let out = String::from_utf8_lossy(&mon.wait_with_output().unwrap().stdout).into_owned();
    let removed: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("OFPT_FLOW_REMOVED"))
        .collect();
    assert_eq!(removed.len(), 2, "{out}");
    assert!(
        removed
            .iter()
            .any(|l| l.contains("priority=12,arp") && l.contains("reason=delete")),
        "{out}"
    );
    assert!(
        removed
            .iter()
            .any(|l| l.contains("priority=11,ip,nw_dst=10.1.1.1") && l.contains("reason=hard")),
        "{out}"
    );
}

#[test]
fn sorted_dump_flows_match_ovs_ofctl() {
    let t = "sorted_dump_flows_match_ovs_ofctl";
    if !root_available(t) || !tool_available(t, "ovs-ofctl") {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure", "--no-local-port"]);
    let target = sw.target();
    for f in [
        "priority=5,ip,actions=drop",
        "priority=7,arp,actions=drop",
        "table=1,priority=3,actions=drop",
        "priority=5,udp,actions=output:1",
    ] {
        ok_stdout(&ovs_ofctl(&["add-flow", &target, f]), "add-flow");
    }
    for opt in ["--sort", "--rsort", "--sort=priority"] {
        let ours = ok_stdout(
            &rvs_ofctl(&["dump-flows", &target, opt, "--no-stats"]),
            "rvs ofctl",
        );
        let theirs = ok_stdout(
            &ovs_ofctl(&[opt, "--no-stats", "dump-flows", &target]),
            "ovs-ofctl",
        );
        // Ties (the two priority-5 flows) may come in either order.
        let prios = |s: &str| -> Vec<String> {
            s.lines()
                .map(|l| {
                    l.split("priority=")
                        .nth(1)
                        .unwrap_or("")
                        .chars()
                        .take(1)
                        .collect()
                })
                .collect()
        };
        assert_eq!(prios(&ours), prios(&theirs), "{opt}: {ours} vs {theirs}");
        let mut a: Vec<&str> = ours.lines().collect();
        let mut b: Vec<&str> = theirs.lines().collect();
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b, "{opt}");
    }
    let o = rvs_ofctl(&["dump-flows", &target, "--sort=no_such_field"]);
    assert!(!o.status.success());
}

/// `rvs ctl -t NAME` as `ovs-appctl -t NAME`: a name (no `/`) is looked up
/// in the rundir, through `NAME.pid` to `NAME.PID.ctl` (OVS's layout; here a
/// link to rvs's socket, the pidfile written and fcntl-locked by a python
/// process as an OVS daemon locks its own, since ovs-appctl takes the pid of
/// the lock's holder) or as rvs's own `NAME.ctl`; an unknown name is
/// ovs-appctl's pidfile error.
#[test]
fn ctl_target_names_resolve_as_ovs_appctl() {
    let t = "ctl_target_names_resolve_as_ovs_appctl";
    if !root_available(t) || !tool_available(t, "ovs-appctl") || !tool_available(t, "python3") {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    let rundir = sw.rundir.clone();
    let pidfile = rundir.join("fake.pid");
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import fcntl, os, sys, time\n\
             f = open(sys.argv[1], 'w')\n\
             fcntl.lockf(f, fcntl.LOCK_EX)\n\
             f.write('%d\\n' % os.getpid()); f.flush()\n\
             time.sleep(60)\n",
        ])
        .arg(&pidfile)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::read_to_string(&pidfile).map_or(true, |s| !s.ends_with('\n')) {
        assert!(
            std::time::Instant::now() < deadline,
            "python3 wrote no pidfile"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let link = rundir.join(format!("fake.{}.ctl", holder.id()));
    std::os::unix::fs::symlink(sw.ctl(), link).unwrap();
    let run = |prog: &str, args: &[&str]| {
        let mut c = if prog == "rvs" {
            let mut c = Command::new(rvs_bin());
            c.arg("ctl").arg("--rundir").arg(&rundir);
            c
        } else {
            let mut c = Command::new("ovs-appctl");
            c.env("OVS_RUNDIR", &rundir);
            c
        };
        let o = c.args(args).output().unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            // ovs-appctl's log line (`...|daemon_unix|WARN|...: open: ...`)
            // before its error is OVS's logging, not the answer.
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .filter(|l| !l.contains("|daemon_unix|"))
                .map(|l| format!("{}\n", l.replace("rvs ctl: ", "ovs-appctl: ")))
                .collect::<String>(),
        )
    };
    let direct = run("rvs", &["version"]);
    assert_eq!(direct.0, Some(0), "{direct:?}");
    for args in [
        &["-t", "fake", "version"][..],
        &["-t", "fake", "list-commands"][..],
        &["-t", "nosuch", "version"][..],
    ] {
        let ours = run("rvs", args);
        let theirs = run("ovs-appctl", args);
        assert_eq!(
            ours, theirs,
            "{args:?}: rvs ctl (left) vs ovs-appctl (right)"
        );
    }
    assert_eq!(run("rvs", &["-t", "fake", "version"]), direct);
    let missing = run("rvs", &["-t", "nosuch", "version"]);
    assert_eq!(missing.0, Some(1));
    assert!(missing.2.contains("cannot read pidfile"), "{missing:?}");
    // rvs's own layout: -t rvs is RUNDIR/rvs.ctl.
    assert_eq!(run("rvs", &["-t", "rvs", "version"]), direct);
    let _ = holder.kill();
    let _ = holder.wait();
}

/// ovs-ofctl takes its global options anywhere, before the command too
/// (GNU getopt): `rvs ofctl` prints what ovs-ofctl prints with `--no-stats`,
/// `--names`/`--no-names`, `--strict`, `--sort`/`--rsort`, `-O`, `-m`,
/// `--bundle` and ovs-ofctl's logging options (`-v`, `--verbose=...`,
/// `--log-file`, `--color=never`) in front of the command, and
/// `-P nxt_packet_in monitor SWITCH` chooses the packet-in format as
/// `monitor SWITCH -P nxt_packet_in` does.
#[test]
fn global_options_before_the_command_as_ovs_ofctl() {
    let t = "global_options_before_the_command_as_ovs_ofctl";
    if !root_available(t) || !tool_available(t, "ovs-ofctl") {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    let target = sw.target();
    for f in [
        "priority=100,ip,nw_src=10.0.0.1,actions=output:2",
        "priority=90,in_port=7,actions=output:2",
        "priority=0,actions=CONTROLLER:65535",
    ] {
        ok_stdout(
            &rvs_ofctl(&["--bundle", "-O", "OpenFlow13", "add-flow", &target, f]),
            "rvs ofctl --bundle add-flow",
        );
    }
    let mut same = 0;
    for opts in [
        vec!["--no-stats"],
        vec!["--no-stats", "--names"],
        vec!["--no-names", "--no-stats", "--rsort"],
        vec!["--no-stats", "--sort=priority"],
        vec!["-m", "--no-stats"],
        vec![
            "-O",
            "OpenFlow13",
            "--no-stats",
            "-v",
            "--verbose=ofctl:off",
        ],
        vec!["--log-file=/dev/null", "--color=never", "--no-stats"],
        vec!["--strict", "--no-stats"],
    ] {
        let mut args = opts.clone();
        args.extend(["dump-flows", target.as_str()]);
        if opts.contains(&"--strict") {
            args.push("in_port=7");
        }
        let ours = ok_stdout(&rvs_ofctl(&args), "rvs ofctl");
        let theirs = ok_stdout(&ovs_ofctl(&args), "ovs-ofctl");
        assert_eq!(ours, theirs, "rvs ofctl {args:?}");
        assert!(!ours.is_empty(), "{args:?}");
        same += 1;
    }
    // Refused, not ignored: a colour rvs ofctl would not print.
    let o = rvs_ofctl(&["--color=always", "show", &target]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    // monitor with -P before the command gets NXT_PACKET_IN, not the
    // NXT_PACKET_IN2 it asks for by default, as ovs-ofctl's does.
    let _ = std::fs::create_dir_all("/var/run/openvswitch");
    let spawn = |cmd: &mut Command| {
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let ours = spawn(Command::new(rvs_bin()).args([
        "ofctl",
        "-P",
        "nxt_packet_in",
        "monitor",
        &target,
        "65535",
    ]));
    let theirs = spawn(Command::new("ovs-ofctl").args([
        "-P",
        "nxt_packet_in",
        "-O",
        "OpenFlow13",
        "monitor",
        &target,
        "65535",
    ]));
    std::thread::sleep(std::time::Duration::from_millis(700));
    let po = format!("in_port=1 packet={ARP} actions=TABLE");
    ok_stdout(&rvs_ofctl(&["packet-out", &target, &po]), "packet-out");
    std::thread::sleep(std::time::Duration::from_millis(700));
    let stop = |c: std::process::Child| {
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let o = c.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        let messages: String = err
            .lines()
            .filter(|l| !l.contains("|fatal_signal|"))
            .map(|l| format!("{l}\n"))
            .collect();
        format!("{}{messages}", String::from_utf8_lossy(&o.stdout))
    };
    let (ours, theirs) = (stop(ours), stop(theirs));
    assert!(
        ours.starts_with("NXT_PACKET_IN (OF1.3) (xid=0x0): "),
        "{ours}"
    );
    assert_eq!(ours, theirs, "rvs ofctl -P ... monitor vs ovs-ofctl");
    eprintln!("{same} option orders printed what ovs-ofctl printed, and monitor");
}

/// Without `--bundle`, ovs-ofctl sends each flow mod of a file as its own
/// barrier-confirmed transaction and stops at the first one the switch
/// refuses: the flows before it stay, the ones after it are never sent.
/// `rvs ofctl add-flows` must leave the switch in the same state.
#[test]
fn add_flows_stops_at_the_first_refused_flow_as_ovs_ofctl() {
    let t = "add_flows_stops_at_the_first_refused_flow";
    if !root_available(t) || !tool_available(t, "ovs-ofctl") {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    let target = sw.target();
    let dir = rvs::TempDir::new("stop");
    let file = dir.0.join("f.flows");
    std::fs::write(
        &file,
        "priority=1,udp,actions=drop\n\
         priority=2,ip,actions=group:99\n\
         priority=3,tcp,actions=drop\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let mut dumps = Vec::new();
    for client in ["ovs-ofctl", "rvs"] {
        ok_stdout(&ovs_ofctl(&["del-flows", &target]), "del-flows");
        let o = if client == "rvs" {
            rvs_ofctl(&["add-flows", &target, file])
        } else {
            ovs_ofctl(&["add-flows", &target, file])
        };
        assert_eq!(o.status.code(), Some(1), "{client} add-flows exit status");
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert!(err.contains("OFPBAC_BAD_OUT_GROUP"), "{client}: {err}");
        let dump = ok_stdout(&ovs_ofctl(&["dump-flows", &target, "--no-stats"]), "dump");
        dumps.push(dump);
    }
    assert!(dumps[0].contains("priority=1,udp"), "{}", dumps[0]);
    assert!(!dumps[0].contains("priority=3"), "{}", dumps[0]);
    assert_eq!(
        dumps[0], dumps[1],
        "switch state after ovs-ofctl vs rvs ofctl"
    );
}

/// `--bundle add-flows` sends each line as it is parsed; a line that does
/// not parse still ends the command as ovs-ofctl's (which parses the whole
/// file first): same message, exit 1, nothing installed; and a flow the
/// switch refuses fails the whole bundle with ovs-ofctl's error lines.
#[test]
fn bundle_add_flows_fails_as_ovs_ofctl() {
    let t = "bundle_add_flows_fails_as_ovs_ofctl";
    if !root_available(t) || !tool_available(t, "ovs-ofctl") {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    let target = sw.target();
    let dir = rvs::TempDir::new("bundlefail");
    let bad_line = dir.0.join("parse.flows");
    std::fs::write(
        &bad_line,
        "priority=1,udp,actions=drop\n# c\npriority=3,tcp,nw_src=1.2.3.4.5,actions=drop\n",
    )
    .unwrap();
    let refused = dir.0.join("refused.flows");
    std::fs::write(
        &refused,
        "priority=1,udp,actions=drop\npriority=2,ip,actions=group:5\n",
    )
    .unwrap();
    let empty = ok_stdout(&ovs_ofctl(&["dump-flows", &target, "--no-stats"]), "dump");
    for file in [&bad_line, &refused] {
        let f = file.to_str().unwrap();
        let ours = rvs_ofctl(&["--bundle", "add-flows", &target, f]);
        let theirs = ovs_ofctl(&["--bundle", "add-flows", &target, f]);
        assert_eq!(
            (ours.status.code(), theirs.status.code()),
            (Some(1), Some(1))
        );
        let e = |o: &std::process::Output, prog: &str| {
            String::from_utf8_lossy(&o.stderr).replace(prog, "PROG")
        };
        assert_eq!(e(&ours, "rvs ofctl"), e(&theirs, "ovs-ofctl"), "{f}");
        let now = ok_stdout(&ovs_ofctl(&["dump-flows", &target, "--no-stats"]), "dump");
        assert_eq!(now, empty, "{f}: nothing installed");
    }
}

/// A file given to `add-flows` may start any line with its own command
/// (`add`, `delete_strict`, `modify_strict`, or a prefix such as `del` or
/// `m`), as ovs-ofctl reads it; plain and `--bundle` leave the switch as
/// ovs-ofctl leaves it.
#[test]
fn add_flows_file_lines_may_name_their_command_as_ovs_ofctl() {
    let t = "add_flows_file_lines_may_name_their_command";
    if !root_available(t) || !tool_available(t, "ovs-ofctl") {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    let target = sw.target();
    let dir = rvs::TempDir::new("mixed");
    let file = dir.0.join("mixed.flows");
    std::fs::write(
        &file,
        "priority=1,udp,actions=drop\n\
         priority=5,ip,actions=drop\n\
         add priority=7,tcp,actions=output:2\n\
         delete_strict priority=5,ip\n\
         modify_strict priority=1,udp,actions=output:3\n\
         add priority=9,icmp,actions=drop\n\
         del icmp\n\
         m priority=7,tcp,actions=drop\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let mut dumps = Vec::new();
    for bundle in [false, true] {
        for client in ["ovs-ofctl", "rvs"] {
            ok_stdout(&ovs_ofctl(&["del-flows", &target]), "del-flows");
            let mut args = vec!["add-flows", target.as_str(), file];
            if bundle {
                args.insert(0, "--bundle");
            }
            let o = if client == "rvs" {
                rvs_ofctl(&args)
            } else {
                ovs_ofctl(&args)
            };
            ok_stdout(&o, client);
            dumps.push(ok_stdout(
                &ovs_ofctl(&["--no-stats", "dump-flows", &target]),
                "dump",
            ));
        }
    }
    assert!(
        dumps[0].contains("priority=1,udp actions=output:3")
            && dumps[0].contains("priority=7,tcp actions=drop")
            && !dumps[0].contains("icmp")
            && !dumps[0].contains("priority=5"),
        "{}",
        dumps[0]
    );
    for d in &dumps[1..] {
        assert_eq!(d, &dumps[0]);
    }
}
