//! `rvs switchd` driven by Debian's `ovs-ofctl -O OpenFlow13` and
//! `ovs-appctl` over its unix sockets, plus raw OpenFlow bytes for what
//! `ovs-ofctl` refuses to send. Each test runs its own switchd in a private
//! RUNDIR. Needs root (the datapath opens no ports here, but RUNDIR sockets
//! are root-only) and `ovs-ofctl`; under `CI=true` a missing one fails.

#[path = "../src/rvs.rs"]
#[allow(dead_code)]
mod rvs;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::process::Command;
use std::time::Duration;

use ofp_codec::Match;
use ofp_codec::msg::{Frame, Hello, Message, frame_len};
use ofp_codec::text::flow_mod::{Command as FlowCmd, parse_flow_mod};
use rvs::{Switchd, TempDir, ok_stdout, ovs_ofctl, root_available, rvs_bin, tool_available};

fn ready(test: &str) -> bool {
    root_available(test) && tool_available(test, "ovs-ofctl")
}

fn dump_no_stats(sw: &Switchd) -> String {
    ok_stdout(
        &ovs_ofctl(&["dump-flows", &sw.target(), "--no-stats"]),
        "dump-flows",
    )
}

#[test]
fn show_reports_features_ports_and_config() {
    if !ready("show_reports_features_ports_and_config") {
        return;
    }
    let sw = Switchd::start(&["--datapath-id", "00000000000000aa", "--fail-mode", "secure"]);
    let out = ok_stdout(&ovs_ofctl(&["show", &sw.target()]), "show");
    assert!(
        out.starts_with("OFPT_FEATURES_REPLY (OF1.3) (xid=0x2): dpid:00000000000000aa\n"),
        "{out}"
    );
    assert!(out.contains("n_tables:254, n_buffers:0\n"), "{out}");
    assert!(
        out.contains("capabilities: FLOW_STATS TABLE_STATS PORT_STATS GROUP_STATS QUEUE_STATS\n"),
        "{out}"
    );
    assert!(
        out.contains("OFPT_GET_CONFIG_REPLY (OF1.3) (xid=0x5): frags=normal miss_send_len=0\n"),
        "{out}"
    );
    let desc = ok_stdout(&ovs_ofctl(&["dump-desc", &sw.target()]), "dump-desc");
    assert!(desc.contains("Serial Num: None\n"), "{desc}");
}

#[test]
fn added_flows_dump_as_ovs_normalizes_them_and_delete_empties_the_table() {
    if !ready("added_flows_dump_as_ovs_normalizes_them") {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    let flows = [
        "priority=100,ip,nw_src=10.0.0.1,actions=output:2",
        "table=1,priority=10,tcp,tp_dst=80,actions=drop",
        "priority=50,ct_state=-trk,ip,actions=ct(table=1)",
        "cookie=0x42,priority=7,in_port=3,dl_vlan=10,actions=pop_vlan,output:1",
    ];
    for f in flows {
        ok_stdout(&ovs_ofctl(&["add-flow", &sw.target(), f]), f);
    }
    // As ovs-vswitchd dumps the same flows (checked against it by hand and
    // in switch_vs_ovs.rs), in OVS's order: table, then priority.
    let dump = dump_no_stats(&sw);
    assert_eq!(
        dump,
        " priority=100,ip,nw_src=10.0.0.1 actions=output:2\n \
         priority=50,ct_state=-trk,ip actions=ct(table=1)\n \
         cookie=0x42, priority=7,in_port=3,dl_vlan=10 actions=pop_vlan,output:1\n \
         table=1, priority=10,tcp,tp_dst=80 actions=drop\n"
    );
    let agg = ok_stdout(
        &ovs_ofctl(&["dump-aggregate", &sw.target()]),
        "dump-aggregate",
    );
    assert!(agg.contains("flow_count=4"), "{agg}");
    ok_stdout(
        &ovs_ofctl(&["del-flows", &sw.target(), "table=1"]),
        "del-flows table=1",
    );
    assert_eq!(dump_no_stats(&sw).lines().count(), 3);
    ok_stdout(&ovs_ofctl(&["del-flows", &sw.target()]), "del-flows");
    assert_eq!(dump_no_stats(&sw), "");
    let full = ok_stdout(&ovs_ofctl(&["dump-flows", &sw.target()]), "dump-flows");
    assert_eq!(full, "OFPST_FLOW reply (OF1.3) (xid=0x2):\n");
}

/// Reads one OpenFlow message from a blocking stream.
fn read_msg(s: &mut UnixStream, buf: &mut Vec<u8>) -> Vec<u8> {
    loop {
        if let Ok(Frame::Complete(n)) = frame_len(buf) {
            return buf.drain(..n).collect();
        }
        let mut tmp = [0u8; 4096];
        let n = s.read(&mut tmp).expect("reading from the switch");
        assert!(n > 0, "switch closed the connection");
        buf.extend_from_slice(&tmp[..n]);
    }
}

fn connect(sw: &Switchd) -> (UnixStream, Vec<u8>) {
    let mut s = UnixStream::connect(sw.mgmt()).expect("connecting to the mgmt socket");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = Vec::new();
    let hello = read_msg(&mut s, &mut buf);
    assert_eq!(hello[1], 0, "first message is HELLO");
    s.write_all(&Message::Hello(Hello::with_versions(1 << 4)).encode(1))
        .unwrap();
    (s, buf)
}

#[test]
fn ct_without_ip_is_refused_with_match_inconsistent_and_the_table_is_unchanged() {
    if !ready("ct_without_ip_is_refused") {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    ok_stdout(
        &ovs_ofctl(&["add-flow", &sw.target(), "priority=5,ip,actions=drop"]),
        "add-flow",
    );
    let before = dump_no_stats(&sw);
    // ovs-ofctl itself refuses the flow before sending it...
    let o = ovs_ofctl(&["add-flow", &sw.target(), "arp,actions=ct(table=1)"]);
    assert!(!o.status.success());
    // ...so send the bytes ourselves: an ip flow re-matched on arp.
    let mut fm = parse_flow_mod("ip,actions=ct(table=1)", FlowCmd::Add)
        .expect("parse")
        .to_flow_mod();
    fm.match_ = Match::parse("arp").expect("arp match");
    let req = Message::FlowMod(fm).encode(0x77);
    let (mut s, mut buf) = connect(&sw);
    s.write_all(&req).unwrap();
    s.write_all(&Message::BarrierRequest.encode(0x78)).unwrap();
    let err = read_msg(&mut s, &mut buf);
    assert_eq!(err[1], 1, "OFPT_ERROR");
    assert_eq!(
        &err[4..8],
        &0x77u32.to_be_bytes(),
        "error carries the request's xid"
    );
    assert_eq!(
        &err[8..12],
        &[0, 2, 0, 10],
        "OFPET_BAD_ACTION / OFPBAC_MATCH_INCONSISTENT"
    );
    assert_eq!(
        &err[12..],
        &req[..err.len() - 12],
        "error data is the request"
    );
    let barrier = read_msg(&mut s, &mut buf);
    assert_eq!(
        (barrier[1], &barrier[4..8]),
        (21, &0x78u32.to_be_bytes()[..]),
        "barrier reply follows"
    );
    assert_eq!(dump_no_stats(&sw), before, "flow table unchanged");
    // ovs-ofctl prints the error the same way for both switches.
    let printed = ok_stdout(
        &ovs_ofctl(&[
            "ofp-print",
            &err.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        ]),
        "ofp-print",
    );
    assert!(printed.contains("OFPBAC_MATCH_INCONSISTENT"), "{printed}");
}

#[test]
fn malformed_messages_are_answered_with_errors_and_the_connection_stays_up() {
    if !ready("malformed_messages_are_answered") {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    let (mut s, mut buf) = connect(&sw);
    // Unknown type, truncated flow-mod, bad multipart type.
    s.write_all(&[4, 99, 0, 8, 0, 0, 0, 1]).unwrap();
    s.write_all(&[4, 14, 0, 12, 0, 0, 0, 2, 0, 0, 0, 0])
        .unwrap();
    s.write_all(&[4, 18, 0, 16, 0, 0, 0, 3, 0, 99, 0, 0, 0, 0, 0, 0])
        .unwrap();
    let codes: Vec<[u8; 4]> = (0..3)
        .map(|_| read_msg(&mut s, &mut buf)[8..12].try_into().unwrap())
        .collect();
    assert_eq!(
        codes,
        vec![[0, 1, 0, 1], [0, 1, 0, 6], [0, 1, 0, 2]],
        "BAD_TYPE, BAD_LEN, BAD_STAT"
    );
    s.write_all(&Message::EchoRequest(Default::default()).encode(4))
        .unwrap();
    let echo = read_msg(&mut s, &mut buf);
    assert_eq!((echo[1], echo[7]), (3, 4), "echo reply after the errors");
}

#[test]
fn bundle_commit_is_all_or_nothing() {
    if !ready("bundle_commit_is_all_or_nothing") {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    let dir = TempDir::new("bundle");
    let good = dir.0.join("good.flows");
    std::fs::write(
        &good,
        "priority=1,ip,actions=drop\npriority=2,arp,actions=NORMAL\n",
    )
    .unwrap();
    ok_stdout(
        &ovs_ofctl(&[
            "--bundle",
            "add-flows",
            &sw.target(),
            good.to_str().unwrap(),
        ]),
        "--bundle add-flows",
    );
    assert_eq!(dump_no_stats(&sw).lines().count(), 2);
    // The second flow names a group the switch does not have: only the
    // switch can refuse it, at commit time, and nothing may change.
    let bad = dir.0.join("bad.flows");
    std::fs::write(
        &bad,
        "priority=3,tcp,actions=drop\npriority=4,udp,actions=group:99\n",
    )
    .unwrap();
    let o = ovs_ofctl(&["--bundle", "add-flows", &sw.target(), bad.to_str().unwrap()]);
    assert!(!o.status.success(), "bundle with a bad flow must fail");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("OFPBAC_BAD_OUT_GROUP") || err.contains("OFPBFC_MSG_FAILED"),
        "{err}"
    );
    assert_eq!(
        dump_no_stats(&sw).lines().count(),
        2,
        "table unchanged after a failed bundle"
    );
}

/// rvs applies a bundle's flow-mods as they arrive, on a copy of the
/// tables, and publishes the copy at commit. When the tables change before
/// the commit, the copy is stale and the commit applies the messages again
/// to the current tables, as a commit without staging does: here a bundled
/// flow names a group another connection adds only after the flow was
/// added to the bundle, so the commit succeeds (as on OVS, which checks
/// groups at commit), and the flow added meanwhile stays.
#[test]
fn a_bundle_staged_before_a_table_change_commits_on_the_current_tables() {
    use ofp_codec::msg::bundle::{BundleAdd, BundleControl, BundleCtrlType, OFPBF_ATOMIC};
    if !ready("a_bundle_staged_before_a_table_change") {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    let (mut s, mut buf) = connect(&sw);
    let ctrl_to = |id: u32, t: BundleCtrlType, xid: u32| {
        Message::BundleControl(BundleControl {
            bundle_id: id,
            ctrl_type: t,
            flags: OFPBF_ATOMIC,
            properties: Vec::new(),
        })
        .encode(xid)
    };
    let ctrl = |t: BundleCtrlType, xid: u32| ctrl_to(1, t, xid);
    let add_to = |id: u32, line: &str, xid: u32| {
        let fm = parse_flow_mod(line, FlowCmd::Add).unwrap().to_flow_mod();
        Message::BundleAdd(BundleAdd {
            bundle_id: id,
            flags: OFPBF_ATOMIC,
            message: Message::FlowMod(fm).encode(xid).to_vec(),
            properties: Vec::new(),
        })
        .encode(xid)
    };
    let add = |line: &str, xid: u32| add_to(1, line, xid);
    s.write_all(&ctrl(BundleCtrlType::OPEN_REQUEST, 10))
        .unwrap();
    let open = read_msg(&mut s, &mut buf);
    assert_eq!(
        (open[1], &open[4..8]),
        (4, &10u32.to_be_bytes()[..]),
        "OPEN_REPLY"
    );
    s.write_all(&add("priority=4,udp,actions=group:7", 11))
        .unwrap();
    s.write_all(&add("priority=3,tcp,actions=drop", 12))
        .unwrap();
    s.write_all(&Message::BarrierRequest.encode(13)).unwrap();
    let barrier = read_msg(&mut s, &mut buf);
    assert_eq!(
        barrier[1], 21,
        "no error before the barrier reply: {barrier:?}"
    );
    ok_stdout(
        &ovs_ofctl(&["add-group", &sw.target(), "group_id=7,type=all"]),
        "add-group",
    );
    ok_stdout(
        &ovs_ofctl(&["add-flow", &sw.target(), "priority=9,arp,actions=drop"]),
        "add-flow",
    );
    s.write_all(&ctrl(BundleCtrlType::COMMIT_REQUEST, 14))
        .unwrap();
    let reply = read_msg(&mut s, &mut buf);
    assert_eq!(
        reply[1], 4,
        "an experimenter reply, not an error: {reply:?}"
    );
    let decoded = Message::decode(&reply).map(|(_, m)| m);
    assert!(
        matches!(&decoded, Ok(Message::BundleControl(bc)) if bc.ctrl_type == BundleCtrlType::COMMIT_REPLY),
        "{decoded:?}"
    );
    let dump = dump_no_stats(&sw);
    assert_eq!(
        dump,
        " priority=9,arp actions=drop\n priority=4,udp actions=group:7\n priority=3,tcp actions=drop\n",
    );
    // Without a change in between, a staged failure is the commit's error.
    s.write_all(&ctrl(BundleCtrlType::OPEN_REQUEST, 20))
        .unwrap();
    read_msg(&mut s, &mut buf);
    s.write_all(&add("priority=5,udp,actions=drop", 21))
        .unwrap();
    s.write_all(&add("priority=6,udp,actions=group:8", 22))
        .unwrap();
    s.write_all(&ctrl(BundleCtrlType::COMMIT_REQUEST, 23))
        .unwrap();
    let err = read_msg(&mut s, &mut buf);
    assert_eq!(
        (err[1], &err[4..8], &err[8..12]),
        (1, &22u32.to_be_bytes()[..], &[0, 2, 0, 9][..]),
        "OFPBAC_BAD_OUT_GROUP for the second message: {err:?}"
    );
    let failed = read_msg(&mut s, &mut buf);
    assert_eq!((failed[1], &failed[4..8]), (1, &23u32.to_be_bytes()[..]));
    assert_eq!(
        dump_no_stats(&sw),
        dump,
        "table unchanged after the failed bundle"
    );
}

#[test]
fn ovs_appctl_and_rvs_ctl_speak_to_the_control_socket() {
    if !ready("ovs_appctl_and_rvs_ctl") || !tool_available("ovs_appctl_and_rvs_ctl", "ovs-appctl") {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    let ctl = sw.ctl();
    let appctl = |args: &[&str]| {
        Command::new("ovs-appctl")
            .arg("-t")
            .arg(&ctl)
            .args(args)
            .output()
            .unwrap()
    };
    let list = ok_stdout(&appctl(&["list-commands"]), "list-commands");
    for c in [
        "dpctl/dump-conntrack",
        "dpctl/dump-flows",
        "ofproto/trace",
        "add-port",
        "exit",
    ] {
        assert!(list.contains(c), "{c} missing from:\n{list}");
    }
    assert_eq!(
        ok_stdout(&appctl(&["dpctl/dump-conntrack"]), "dump-conntrack"),
        ""
    );
    let o = appctl(&["no-such-command"]);
    assert_eq!(o.status.code(), Some(2));
    ok_stdout(
        &ovs_ofctl(&["add-flow", &sw.target(), "priority=9,ip,actions=drop"]),
        "add-flow",
    );
    let trace = ok_stdout(
        &appctl(&["ofproto/trace", "br0", "in_port=1,ip,nw_src=1.2.3.4"]),
        "ofproto/trace",
    );
    assert!(trace.contains("priority 9"), "{trace}");
    let o = Command::new(rvs_bin())
        .args(["ctl", "-t"])
        .arg(&ctl)
        .arg("version")
        .output()
        .unwrap();
    assert!(ok_stdout(&o, "rvs ctl version").starts_with("rvs "));
    let o = Command::new(rvs_bin())
        .args(["ctl", "--rundir"])
        .arg(&sw.rundir)
        .arg("dpctl/bogus")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn detached_switchd_writes_its_pidfile_and_exits_cleanly_on_sigterm() {
    if !ready("detached_switchd") {
        return;
    }
    let dir = TempDir::new("detach");
    let rundir = dir.0.join("run");
    let pidfile = dir.0.join("rvs.pid");
    let st = Command::new(rvs_bin())
        .args(["switchd", "--detach", "--pidfile"])
        .arg(&pidfile)
        .arg("--rundir")
        .arg(&rundir)
        .status()
        .unwrap();
    assert!(st.success());
    let pid = std::fs::read_to_string(&pidfile)
        .expect("pidfile")
        .trim()
        .to_string();
    assert!(rundir.join("br0.mgmt").exists() && rundir.join("rvs.ctl").exists());
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&rundir), 0o700);
    assert_eq!(mode(&rundir.join("br0.mgmt")), 0o600);
    // Standalone with no controller: OVS's NORMAL flow.
    let dump = ok_stdout(
        &ovs_ofctl(&[
            "dump-flows",
            &format!("unix:{}/br0.mgmt", rundir.display()),
            "--no-stats",
        ]),
        "dump",
    );
    assert!(dump.contains(" priority=0 actions=NORMAL"), "{dump}");
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    for _ in 0..100 {
        if !pidfile.exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!pidfile.exists(), "pidfile removed on exit");
    assert!(
        !rundir.join("br0.mgmt").exists(),
        "mgmt socket removed on exit"
    );
}

#[test]
fn standalone_switch_fails_open_without_a_controller_and_recovers_when_one_connects() {
    if !ready("standalone_switch_fails_open") {
        return;
    }
    // A controller address where a listener will appear later.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    let ctl = format!("tcp:127.0.0.1:{port}");
    let sw = Switchd::start(&["--fail-mode", "standalone", "--controller", &ctl]);
    // No NORMAL flow while a controller is configured...
    assert_eq!(dump_no_stats(&sw), "");
    // ...until three 5 s probe intervals pass without one.
    std::thread::sleep(Duration::from_secs(16));
    assert_eq!(
        dump_no_stats(&sw),
        " cookie=0xfa11fa11fa11fa, priority=65535 actions=NORMAL\n"
    );
    // A controller connects: fail-open ends.
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let (mut c, _) = listener.accept().unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(&Message::Hello(Hello::with_versions(1 << 4)).encode(1))
        .unwrap();
    let mut gone = false;
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(250));
        if dump_no_stats(&sw).is_empty() {
            gone = true;
            break;
        }
    }
    assert!(
        gone,
        "fail-open flow still there after a controller connected"
    );
}

#[test]
fn version_negotiation_picks_1_3_and_refuses_peers_without_it() {
    if !ready("version_negotiation") {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    let t = sw.target();
    let o = Command::new("ovs-ofctl")
        .args(["-O", "OpenFlow13,OpenFlow14,OpenFlow15", "show", &t])
        .output()
        .unwrap();
    assert!(ok_stdout(&o, "show 1.3-1.5").starts_with("OFPT_FEATURES_REPLY (OF1.3)"));
    for v in ["OpenFlow10", "OpenFlow14"] {
        let o = Command::new("ovs-ofctl")
            .args(["-O", v, "show", &t])
            .output()
            .unwrap();
        assert!(!o.status.success(), "{v} must be refused");
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("version negotiation failed"),
            "{v}"
        );
    }
    // A raw 1.0-only hello gets OFPET_HELLO_FAILED/OFPHFC_INCOMPATIBLE.
    let mut s = UnixStream::connect(sw.mgmt()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = Vec::new();
    let _hello = read_msg(&mut s, &mut buf);
    s.write_all(&[1, 0, 0, 8, 0, 0, 0, 9]).unwrap();
    let err = read_msg(&mut s, &mut buf);
    assert_eq!(
        (err[1], &err[8..12]),
        (1, &[0, 0, 0, 0][..]),
        "HELLO_FAILED/INCOMPATIBLE"
    );
    assert!(String::from_utf8_lossy(&err[12..]).contains("you support version 0x01"));
}
