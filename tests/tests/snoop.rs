//! `RUNDIR/BRIDGE.snoop` as OVS's: Debian's `ovs-ofctl snoop` and `rvs
//! ofctl snoop` connected to rvs print the same messages (both directions
//! of the controller connection: the switch's PACKET_IN, the controller's
//! PACKET_OUT, echo request and reply) in OVS's `ofp-print` text; with no
//! controller connection, the switch closes a snoop connection at once, as
//! OVS's ("no controller connection to snoop"). The controller is Debian's
//! `ovs-testcontroller`. Needs root, ovs-ofctl and ovs-testcontroller;
//! under `CI=true` a missing one fails the test.

#[path = "../src/rvs.rs"]
#[allow(dead_code)]
mod rvs;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rvs::{Switchd, ok_stdout, root_available, rvs_bin, tool_available};

/// An ARP request from 10.0.0.1 for 10.0.0.2 (42 bytes).
const ARP: &str =
    "ffffffffffff020000000001080600010800060400010200000000010a0000010000000000000a000002";

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

/// SIGTERM, then everything the process printed on stdout and stderr
/// (ovs-ofctl prints the messages on stderr), minus ovs-ofctl's own log
/// line about the signal.
fn stop(c: Child) -> String {
    let _ = Command::new("kill")
        .args(["-TERM", &c.id().to_string()])
        .status();
    let o = c.wait_with_output().unwrap();
    let err: String = String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| !l.contains("|fatal_signal|"))
        .map(|l| format!("{l}\n"))
        .collect();
    format!("{}{err}", String::from_utf8_lossy(&o.stdout))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn snoop_shows_the_controller_conversation_as_ovs_ofctl_snoop() {
    let t = "snoop_shows_the_controller_conversation_as_ovs_ofctl_snoop";
    if !root_available(t)
        || !tool_available(t, "ovs-ofctl")
        || !tool_available(t, "ovs-testcontroller")
    {
        return;
    }
    let port = free_port();
    let _ctl = Killed(spawn(Command::new("ovs-testcontroller").args([
        "-O",
        "OpenFlow13",
        &format!("ptcp:{port}:127.0.0.1"),
    ])));
    std::thread::sleep(Duration::from_millis(300));
    let sw = Switchd::start(&[
        "--fail-mode",
        "secure",
        "--controller",
        &format!("tcp:127.0.0.1:{port}"),
    ]);
    let snoop = sw.rundir.join("br0.snoop");
    // Wait for the controller connection (it answers a probe by then).
    let deadline = Instant::now() + Duration::from_secs(10);
    while !snoop.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(800));
    let _ = std::fs::create_dir_all("/var/run/openvswitch");
    let target = format!("unix:{}", snoop.display());
    let theirs = spawn(Command::new("ovs-ofctl").args(["-O", "OpenFlow13", "snoop", &target]));
    let rundir = sw.rundir.to_str().unwrap().to_string();
    let ours = spawn(Command::new(rvs_bin()).args(["ofctl", "--rundir", &rundir, "snoop", "br0"]));
    std::thread::sleep(Duration::from_millis(700));
    let mgmt = sw.target();
    let run = |args: &[&str]| {
        let o = Command::new(rvs_bin())
            .arg("ofctl")
            .args(args)
            .output()
            .unwrap();
        ok_stdout(&o, "rvs ofctl");
    };
    run(&["add-flow", &mgmt, "priority=0,actions=CONTROLLER:65535"]);
    let po = format!("in_port=1 packet={ARP} actions=TABLE");
    run(&["packet-out", &mgmt, &po]);
    // The switch probes the controller after 5 s of silence: echo both ways.
    std::thread::sleep(Duration::from_millis(6500));
    let (ours, theirs) = (stop(ours), stop(theirs));
    assert!(
        ours.starts_with(
            "OFPT_PACKET_IN (OF1.3) (xid=0x0): cookie=0x0 total_len=42 in_port=1 (via no_match)"
        ),
        "{ours}"
    );
    assert!(
        ours.contains("OFPT_PACKET_OUT (OF1.3) (xid=") && ours.contains("actions=FLOOD"),
        "the controller's answer: {ours}"
    );
    assert!(
        ours.contains("OFPT_ECHO_REQUEST") && ours.contains("OFPT_ECHO_REPLY"),
        "{ours}"
    );
    assert!(!ours.contains("HELLO"), "{ours}");
    assert_eq!(ours, theirs, "rvs ofctl snoop (left) vs ovs-ofctl snoop");
    // The mgmt connection's own traffic (add-flow, packet-out) is not shown.
    assert!(!ours.contains("OFPT_FLOW_MOD"), "{ours}");
}

#[test]
fn snoop_without_a_controller_is_closed_as_ovs_closes_it() {
    let t = "snoop_without_a_controller_is_closed_as_ovs_closes_it";
    if !root_available(t) || !tool_available(t, "ovs-ofctl") {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    let snoop = sw.rundir.join("br0.snoop");
    let _ = std::fs::create_dir_all("/var/run/openvswitch");
    let target = format!("unix:{}", snoop.display());
    let theirs = Command::new("timeout")
        .args(["5", "ovs-ofctl", "-O", "OpenFlow13", "snoop", &target])
        .output()
        .unwrap();
    assert_eq!(theirs.status.code(), Some(1), "{theirs:?}");
    let ours = Command::new("timeout")
        .arg("5")
        .arg(rvs_bin())
        .args(["ofctl", "snoop", &target])
        .output()
        .unwrap();
    assert_eq!(ours.status.code(), Some(1), "{ours:?}");
    assert!(
        String::from_utf8_lossy(&ours.stderr).contains("vconn_recv (End of file)"),
        "{ours:?}"
    );
    assert!(String::from_utf8_lossy(&theirs.stderr).contains("vconn_recv (End of file)"));
}
