//! Packet-ins of rvs and of Debian's `ovs-vswitchd` (userspace datapath)
//! for the same flows and the same packets must be identical, byte for
//! byte, in each of the three formats a controller can ask for with
//! `NXT_SET_PACKET_IN_FORMAT` (`standard` = `OFPT_PACKET_IN`,
//! `nxt_packet_in`, `nxt_packet_in2`).
//!
//! Both switches are built by `tests/src/twins.rs`, as in
//! `interop_ovs_compare.rs` (same datapath id, ports `p1`/`p2` numbered 1
//! and 2, each switch in its own namespace). The
//! flows set registers and metadata, commit a connection in a zone with a
//! ct_mark and a ct_label and send `controller(userdata=...)`, then send the
//! reply (`est|rpl|trk`, the original tuple, zone, mark, label in the
//! metadata), a new connection in the zone (`new|trk`), and an IPv6 one
//! (whose `controller(id=5)` reaches no connection, in both).
//! Debian's `ovs-ofctl -O OpenFlow13 -mmm monitor SWITCH 65534 -P FORMAT`
//! records each switch's packet-ins with a hex dump of every message, and
//! the two records must be equal. Then `rvs ofctl monitor` (item: same text
//! as ovs-ofctl) records ovs-vswitchd's packet-ins and must print what
//! `ovs-ofctl monitor` prints.
//!
//! Not covered here: a packet-out's own `controller` action (the
//! `ct_controller` scenario of `ct_traffic_basic.rs` checks it) and
//! `controller(pause)` continuations (`pause_resume.rs`).
//!
//! Needs root, namespaces, ovs-ofctl and the OVS daemons; under `CI=true` a
//! missing one fails.

#[path = "../src/controllers.rs"]
#[allow(dead_code)]
mod controllers;
#[path = "../src/netns.rs"]
#[allow(dead_code)]
mod netns;
#[path = "../src/ovs_ref.rs"]
#[allow(dead_code)]
mod ovs_ref;
#[path = "../src/rvs.rs"]
#[allow(dead_code)]
mod rvs;
#[path = "../src/twins.rs"]
#[allow(dead_code)]
mod twins;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use controllers::Lan;
use ovs_ref::OvsRef;
use rvs::{Switchd, TempDir, ovs_ofctl, rvs_bin, tool_available};
use twins::Twins;

const DPID: &str = "00000000000000ab";

const FLOWS: &str = "\
table=0,priority=1,actions=drop
table=0,priority=100,in_port=1,udp,nw_dst=10.1.1.2,actions=set_field:0x5->reg0,set_field:0xabc->metadata,ct(commit,zone=7,exec(set_field:0x11->ct_mark,set_field:0x22->ct_label)),controller(userdata=01.02.03)
table=0,priority=100,in_port=2,ct_state=-trk,udp,nw_dst=10.1.1.1,actions=ct(table=1,zone=7)
table=1,priority=100,in_port=2,ct_state=+trk+est,udp,actions=set_field:3->reg1,controller(max_len=20)
table=1,priority=100,in_port=2,ct_state=+trk+new,udp,actions=set_field:0x10->metadata,CONTROLLER:65535
table=0,priority=100,in_port=1,udp6,ipv6_dst=fc00::2,actions=ct(table=2,zone=3)
cookie=0x42,table=2,priority=100,ct_state=+trk+new,actions=set_field:9->reg7,controller(id=5),controller(reason=no_match,userdata=aa)
";

/// UDP 10.1.1.1:1 -> 10.1.1.2:2, its reply, a new 10.1.1.2:3 -> 10.1.1.1:4,
/// and UDP fc00::1:1 -> fc00::2:2 with a payload.
const PACKETS: [(u32, &str); 4] = [
    (
        1,
        "50540000000a50540000000908004500001c000000000011a4cd0a0101010a0101020001000200080000",
    ),
    (
        2,
        "50540000000a50540000000908004500001c000000000011a4cd0a0101020a0101010002000100080000",
    ),
    (
        2,
        "50540000000a50540000000908004500001c000000000011a4cd0a0101020a0101010003000400080000",
    ),
    (
        1,
        "50540000000a50540000000986dd60000000000c1140fc000000000000000000000000000001fc00000000000000000000000000000200010002000c430861626364",
    ),
];

fn ready(test: &str) -> bool {
    twins::available(test) && tool_available(test, "ovs-appctl")
}

/// rvs and OVS side by side, each on its own two-host LAN.
struct Pair {
    // Field order: switches go before their namespaces.
    rvs: Switchd,
    ovs: OvsRef,
    _lan_rvs: Lan,
    _lan_ovs: Lan,
    dir: TempDir,
}

impl Pair {
    fn start() -> Pair {
        let Twins {
            rvs,
            ovs,
            lan_rvs,
            lan_ovs,
            run,
        } = Twins::start("pin", DPID, "secure");
        let p = Pair {
            rvs,
            ovs,
            _lan_rvs: lan_rvs,
            _lan_ovs: lan_ovs,
            dir: run,
        };
        let flows = p.dir.0.join("flows");
        std::fs::write(&flows, FLOWS).unwrap();
        for t in p.targets() {
            let o = ovs_ofctl(&[
                "-O",
                "OpenFlow13",
                "add-flows",
                &t,
                &flows.display().to_string(),
            ]);
            assert!(o.status.success(), "add-flows {t}: {o:?}");
        }
        p
    }

    /// (rvs, ovs) management targets.
    fn targets(&self) -> [String; 2] {
        [self.rvs.target(), self.ovs.target()]
    }

    /// Empties both connection tables, so each round starts alike.
    fn flush_conntrack(&self) {
        for ctl in [self.rvs.ctl(), self.ovs.rundir.join("ovs-vswitchd.ctl")] {
            let o = Command::new("ovs-appctl")
                .arg("-t")
                .arg(&ctl)
                .arg("dpctl/flush-conntrack")
                .output()
                .unwrap();
            assert!(o.status.success(), "flush-conntrack {ctl:?}: {o:?}");
        }
    }

    /// Sends [`PACKETS`] through table 0 of `target`.
    fn drive(target: &str) {
        for (port, pkt) in PACKETS {
            let spec = format!("in_port={port} packet={pkt} actions=resubmit(,0)");
            let o = ovs_ofctl(&["-O", "OpenFlow13", "packet-out", target, &spec]);
            assert!(o.status.success(), "packet-out {target}: {o:?}");
        }
    }

    /// Runs `monitor` (the command line `cmd` + TARGET + `args`) on `target`
    /// while the packets go through; returns what it printed.
    fn record(&self, cmd: &[&str], target: &str, args: &[&str], name: &str) -> String {
        let log = self.dir.0.join(name);
        let f = std::fs::File::create(&log).unwrap();
        let mut child: Child = Command::new(cmd[0])
            .args(&cmd[1..])
            .arg(target)
            .args(args)
            .stdin(Stdio::null())
            // ovs-ofctl monitor prints to stderr, rvs ofctl to stdout.
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .expect("monitor");
        std::thread::sleep(Duration::from_millis(700));
        Self::drive(target);
        std::thread::sleep(Duration::from_millis(700));
        let _ = child.kill();
        let _ = child.wait();
        std::fs::read_to_string(&log).unwrap()
    }
}

/// The first line where `ours` and `theirs` differ, with its neighbours.
fn first_difference(ours: &str, theirs: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), theirs.lines().collect());
    let i = (0..a.len().max(b.len()))
        .find(|&i| a.get(i) != b.get(i))
        .unwrap_or(0);
    let around = |v: &[&str]| v[i.saturating_sub(2)..(i + 3).min(v.len())].join("\n");
    format!("line {i}\n--- rvs\n{}\n--- ovs\n{}", around(&a), around(&b))
}

#[test]
fn packet_ins_are_byte_identical_to_ovs_in_every_format() {
    if !ready("packet_ins_are_byte_identical_to_ovs_in_every_format") {
        return;
    }
    let p = Pair::start();
    let ofctl = ["ovs-ofctl", "-O", "OpenFlow13", "-mmm", "monitor"];
    for format in ["nxt_packet_in2", "standard", "nxt_packet_in"] {
        let [rt, ot] = p.targets();
        let args = ["65534", "-P", format];
        p.flush_conntrack();
        let r = p.record(&ofctl, &rt, &args, &format!("rvs-{format}"));
        let o = p.record(&ofctl, &ot, &args, &format!("ovs-{format}"));
        let heads: Vec<&str> = o
            .lines()
            .filter(|l| l.contains("(xid=0x0)"))
            .map(|l| l.split(':').next().unwrap_or(""))
            .collect();
        let name = match format {
            "standard" => "OFPT_PACKET_IN",
            "nxt_packet_in" => "NXT_PACKET_IN",
            _ => "NXT_PACKET_IN2",
        };
        assert_eq!(
            heads,
            vec![format!("{name} (OF1.3) (xid=0x0)"); 4],
            "OVS's {format} record:\n{o}"
        );
        assert!(
            r == o,
            "-P {format}: rvs vs ovs-vswitchd differ:\n{}",
            first_difference(&r, &o)
        );
    }
}

#[test]
fn rvs_ofctl_monitor_prints_what_ovs_ofctl_prints() {
    if !ready("rvs_ofctl_monitor_prints_what_ovs_ofctl_prints") {
        return;
    }
    let p = Pair::start();
    let ovs = p.ovs.target();
    let rvs_bin = rvs_bin().display().to_string();
    for format in ["nxt_packet_in2", "standard", "nxt_packet_in"] {
        let args = ["65534", "-P", format];
        p.flush_conntrack();
        let theirs = p.record(
            &["ovs-ofctl", "-O", "OpenFlow13", "monitor"],
            &ovs,
            &args,
            "ovs-ofctl",
        );
        p.flush_conntrack();
        let ours = p.record(
            &[&rvs_bin, "ofctl", "-O", "OpenFlow13", "monitor"],
            &ovs,
            &args,
            "rvs-ofctl",
        );
        assert!(theirs.contains("userdata=01.02.03") || format != "nxt_packet_in2");
        assert_eq!(theirs.matches("(xid=0x0)").count(), 4, "{theirs}");
        assert_eq!(ours, theirs, "-P {format}: rvs ofctl (left) vs ovs-ofctl");
    }
    // Without -P both ask for nxt_packet_in2.
    p.flush_conntrack();
    let ours = p.record(
        &[&rvs_bin, "ofctl", "monitor"],
        &ovs,
        &["65534"],
        "rvs-default",
    );
    assert_eq!(ours.matches("NXT_PACKET_IN2 (OF1.3)").count(), 4, "{ours}");
}
