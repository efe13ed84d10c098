//! `controller(pause)` and `NXT_RESUME` end to end, on rvs and on Debian's
//! `ovs-vswitchd` (userspace datapath) side by side.
//!
//! Each switch has two hosts (`10.0.0.1` on port 1, `10.0.0.2` on port 2,
//! static ARP) and the flows `priority=0,actions=controller(pause),output:2`
//! and `in_port=2,actions=output:1`: a ping from host 1 reaches host 2 only
//! if a controller sends each paused packet back. Without one, pings fail;
//! with Debian's `ovs-ofctl monitor SWITCH resume` (which answers each
//! packet-in that has a continuation with `NXT_RESUME`), they pass on both
//! switches, and the packet-ins and resumes both print are the same
//! (headers, metadata, frozen actions such as
//! `continuation.actions=unroll_xlate(table=0, cookie=0),output:2`). The
//! same with `rvs ofctl monitor SWITCH resume` against rvs. With a pause
//! after `ct(table=1)`, the continuation is conntracked, the resumed
//! pipeline matches `ct_state=+trk+new` and the flow counters are OVS's.
//!
//! Then malformed or foreign `NXT_RESUME`s are sent raw to both switches:
//! the error replies must be byte-identical (`NXR_STALE` for a continuation
//! of another bridge or none, `OFPBPC_BAD_TYPE`, `OFPBPC_BAD_EXP_TYPE`,
//! `OFPBPC_BAD_LEN`, `OFPBAC_BAD_LEN`).
//!
//! Continuations differ by design in two lines, not compared: the bridge
//! id (each switch instance has its own) and `continuation.odp_port`
//! (OVS's datapath port number; rvs writes none).
//!
//! Needs root, namespaces, ovs-ofctl and the OVS daemons; under
//! `CI=true` a missing one fails.

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

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use controllers::Lan;
use ovs_ref::OvsRef;
use rvs::{Switchd, TempDir, ovs_ofctl, raw_exchange, rvs_bin, unhex};
use twins::Twins;

const DPID: &str = "00000000000000ab";

/// The paused flow is the table-miss flow: its packet-ins say `action`
/// (OVS reports a table miss only for plain `controller` actions).
const FLOWS: &str = "\
table=0,priority=0,actions=controller(pause),output:2
table=0,in_port=2,actions=output:1
";

/// One switch (rvs or OVS) with its LAN.
struct Side {
    target: String,
    mgmt: std::path::PathBuf,
    lan: Lan,
}

/// rvs and OVS, each on its own two-host LAN with static ARP.
struct Pair {
    // Switches go before their namespaces.
    _rvs: Switchd,
    _ovs: OvsRef,
    rvs: Side,
    ovs: Side,
    dir: TempDir,
}

impl Pair {
    fn start() -> Pair {
        let Twins {
            rvs,
            ovs,
            lan_rvs,
            lan_ovs,
            run: dir,
        } = Twins::start("pause", DPID, "secure");
        lan_rvs.static_arp();
        lan_ovs.static_arp();
        let flows = dir.0.join("flows");
        std::fs::write(&flows, FLOWS).unwrap();
        for t in [rvs.target(), ovs.target()] {
            let o = ovs_ofctl(&["add-flows", &t, &flows.display().to_string()]);
            assert!(o.status.success(), "add-flows {t}: {o:?}");
        }
        Pair {
            rvs: Side {
                target: rvs.target(),
                mgmt: rvs.mgmt(),
                lan: lan_rvs,
            },
            ovs: Side {
                target: ovs.target(),
                mgmt: ovs.mgmt(),
                lan: lan_ovs,
            },
            _rvs: rvs,
            _ovs: ovs,
            dir,
        }
    }
}

/// Starts `cmd TARGET monitor-args` with stdout and stderr into `log`.
fn spawn_monitor(cmd: &[&str], target: &str, log: &Path) -> Child {
    let f = std::fs::File::create(log).unwrap();
    let child = Command::new(cmd[0])
        .args(&cmd[1..])
        .arg(target)
        .arg("resume")
        .stdin(Stdio::null())
        .stdout(f.try_clone().unwrap())
        .stderr(f)
        .spawn()
        .expect("monitor");
    std::thread::sleep(Duration::from_millis(700));
    child
}

/// Pings host 1 -> host 2 of `side` with `cmd` resuming; returns
/// (pings answered out of 3, the monitor's log).
fn ping_with_monitor(side: &Side, cmd: &[&str], log: &Path) -> (u32, String) {
    let mut child = spawn_monitor(cmd, &side.target, log);
    let first = side.lan.ping_until(1, 2, Duration::from_secs(5));
    let n = if first {
        side.lan.ping_count(1, 2, 3)
    } else {
        0
    };
    std::thread::sleep(Duration::from_millis(300));
    let _ = child.kill();
    let _ = child.wait();
    (n, std::fs::read_to_string(log).unwrap())
}

/// The monitor lines that must match between the switches: packet-in and
/// resume headers (reason, table, cookie, lengths, metadata) and the
/// continuation, but its bridge id and datapath port.
fn comparable(log: &str) -> Vec<String> {
    let mut v: Vec<String> = log
        .lines()
        .filter(|l| {
            l.starts_with("NXT_PACKET_IN2")
                || l.starts_with("send: NXT_RESUME")
                || (l.starts_with(" continuation.")
                    && !l.starts_with(" continuation.bridge=")
                    && !l.starts_with(" continuation.odp_port="))
        })
        .map(str::to_string)
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn paused_pings_pass_once_a_controller_resumes_them() {
    let test = "paused_pings_pass_once_a_controller_resumes_them";
    if !twins::available(test) {
        return;
    }
    let p = Pair::start();
    // Nobody resumes: nothing passes.
    for side in [&p.rvs, &p.ovs] {
        assert!(
            !side.lan.ping_once(1, 2),
            "{}: a paused ping passed",
            side.target
        );
    }
    let ovs_ofctl_monitor = ["ovs-ofctl", "-O", "OpenFlow13", "monitor"];
    let (n_rvs, log_rvs) = ping_with_monitor(&p.rvs, &ovs_ofctl_monitor, &p.dir.0.join("rvs.log"));
    let (n_ovs, log_ovs) = ping_with_monitor(&p.ovs, &ovs_ofctl_monitor, &p.dir.0.join("ovs.log"));
    assert_eq!(n_ovs, 3, "OVS:\n{log_ovs}");
    assert_eq!(n_rvs, 3, "rvs:\n{log_rvs}");
    for log in [&log_rvs, &log_ovs] {
        assert!(log.contains("NXT_PACKET_IN2"), "{log}");
        assert!(log.contains("send: NXT_RESUME"), "{log}");
        assert!(
            log.contains(" continuation.actions=unroll_xlate(table=0, cookie=0),output:2\n"),
            "{log}"
        );
    }
    assert_eq!(comparable(&log_rvs), comparable(&log_ovs));
    // rvs's own monitor resumes as well.
    let rvs_bin = rvs_bin().display().to_string();
    let rvs_monitor = [rvs_bin.as_str(), "ofctl", "monitor"];
    let (n, log) = ping_with_monitor(&p.rvs, &rvs_monitor, &p.dir.0.join("rvs-rvs.log"));
    assert_eq!(n, 3, "rvs ofctl monitor:\n{log}");
    assert!(log.contains("send: NXT_RESUME"), "{log}");
    assert_eq!(comparable(&log), comparable(&log_ovs));
}

/// OVS's "continuation with conntrack" and "continuation flow stats":
/// the pause comes after `ct(table=1)`, the resumed pipeline matches the
/// conntrack state (`+trk+new`) restored from the packet-in metadata, and
/// the resumed rules count the packets, on both switches alike.
const CT_FLOWS: &str = "\
table=0,in_port=1,icmp,actions=ct(table=1)
table=1,in_port=1,icmp,actions=set_field:1->reg1,controller(pause),resubmit(,2)
table=2,in_port=1,icmp,reg1=0x1,ct_state=+trk+new,actions=output:2
table=0,in_port=2,actions=output:1
";

/// `dump-flows` lines of `target` reduced to table, counters and match.
fn counters(target: &str) -> Vec<String> {
    let o = ovs_ofctl(&["dump-flows", target]);
    assert!(o.status.success(), "dump-flows {target}: {o:?}");
    let mut v: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.contains("n_packets"))
        .map(|l| {
            l.split(", ")
                .filter(|f| !f.starts_with(" cookie") && !f.starts_with("duration"))
                .filter(|f| !f.starts_with("idle_age") && !f.starts_with("hard_age"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    v.sort();
    v
}

#[test]
fn resumed_pipeline_sees_conntrack_state_and_counts_as_ovs() {
    let test = "resumed_pipeline_sees_conntrack_state_and_counts_as_ovs";
    if !twins::available(test) {
        return;
    }
    let p = Pair::start();
    let flows = p.dir.0.join("ct-flows");
    std::fs::write(&flows, CT_FLOWS).unwrap();
    for side in [&p.rvs, &p.ovs] {
        let o = ovs_ofctl(&["del-flows", &side.target]);
        assert!(o.status.success(), "{o:?}");
        let o = ovs_ofctl(&["add-flows", &side.target, &flows.display().to_string()]);
        assert!(o.status.success(), "{o:?}");
    }
    let cmd = ["ovs-ofctl", "-O", "OpenFlow13", "monitor"];
    let (n_rvs, log_rvs) = ping_with_monitor(&p.rvs, &cmd, &p.dir.0.join("rvs-ct.log"));
    let (n_ovs, log_ovs) = ping_with_monitor(&p.ovs, &cmd, &p.dir.0.join("ovs-ct.log"));
    assert_eq!(n_ovs, 3, "OVS:\n{log_ovs}");
    assert_eq!(n_rvs, 3, "rvs:\n{log_rvs}");
    for log in [&log_rvs, &log_ovs] {
        assert!(log.contains(" continuation.conntracked=true\n"), "{log}");
    }
    assert_eq!(comparable(&log_rvs), comparable(&log_ovs));
    // Counters settle once the datapath flows are revalidated.
    std::thread::sleep(Duration::from_millis(1500));
    let (c_rvs, c_ovs) = (counters(&p.rvs.target), counters(&p.ovs.target));
    assert_eq!(c_rvs, c_ovs, "\nrvs:\n{log_rvs}\novs:\n{log_ovs}");
}

/// An `NXT_RESUME` as `ovs-ofctl monitor br0 resume` made it from an OVS
/// packet-in (`controller(pause),output:2`) of another OVS instance, and
/// malformed variants of it (the vectors of `ofp-codec`'s resume tests).
const RESUMES: [(&str, &str); 9] = [
    // Loosely (as ovs-ofctl prints it) the second property is the error;
    // a switch stops at the first, unknown one.
    (
        "OFPBPC_BAD_TYPE (then a bad length)",
        "0404007800001234000023200000001c0000002e50540000000a50540000000908004500001c000000000011a4cd0a0101010a010102000100020008000000000003000500000000000500050100000000060014800000040000000100010004000000050000000000630004000000000000000c00000000",
    ),
    (
        "NXR_STALE (another bridge)",
        "040400b000001234000023200000001c0000002e50540000000a50540000000908004500001c000000000011a4cd0a0101010a01010200010002000800000000000300050000000000050005010000000006001480000004000000010001000400000005000000000008004800000000800000141cc19c3cc549fea958e8fca8d607dae20000000080010008000000058006001800000000000000100000000200000000000000008008000800000003",
    ),
    (
        "NXR_STALE (no continuation)",
        "0404006800001234000023200000001c0000002e50540000000a50540000000908004500001c000000000011a4cd0a0101010a0101020001000200080000000000030005000000000005000501000000000600148000000400000001000100040000000500000000",
    ),
    (
        "OFPBPC_BAD_TYPE (continuation)",
        "040400b800001234000023200000001c0000002e50540000000a50540000000908004500001c000000000011a4cd0a0101010a01010200010002000800000000000300050000000000050005010000000006001480000004000000010001000400000005000000000008005000000000800000141cc19c3cc549fea958e8fca8d607dae200000000800100080000000580060018000000000000001000000002000000000000000080080008000000038020000400000000",
    ),
    (
        "OFPBPC_BAD_LEN (bridge)",
        "040400a000001234000023200000001c0000002e50540000000a50540000000908004500001c000000000011a4cd0a0101010a01010200010002000800000000000300050000000000050005010000000006001480000004000000010001000400000005000000000008003800000000800000080102030480010008000000058006001800000000000000100000000200000000000000008008000800000003",
    ),
    (
        "OFPBAC_BAD_LEN (frozen action)",
        "040400c000001234000023200000001c0000002e50540000000a50540000000908004500001c000000000011a4cd0a0101010a01010200010002000800000000000300050000000000050005010000000006001480000004000000010001000400000005000000000008005800000000800000141cc19c3cc549fea958e8fca8d607dae2000000008001000800000005800600180000000000000010000000020000000000000000800800080000000380060010000000000000000400000000",
    ),
    (
        "OFPBPC_BAD_LEN (short table_id)",
        "040400b800001234000023200000001c0000002e50540000000a50540000000908004500001c000000000011a4cd0a0101010a010102000100020008000000000003000500000000000500050100000000060014800000040000000100010004000000050000000000080050000000008004000400000000800000141cc19c3cc549fea958e8fca8d607dae20000000080010008000000058006001800000000000000100000000200000000000000008008000800000003",
    ),
    (
        "OFPBPC_BAD_EXP_TYPE (continuation)",
        "040400c000001234000023200000001c0000002e50540000000a50540000000908004500001c000000000011a4cd0a0101010a01010200010002000800000000000300050000000000050005010000000006001480000004000000010001000400000005000000000008005800000000800000141cc19c3cc549fea958e8fca8d607dae20000000080010008000000058006001800000000000000100000000200000000000000008008000800000003ffff000c000023200000000100000000",
    ),
    (
        "OFPBPC_BAD_TYPE (packet-in property)",
        "040400b800001234000023200000001c0000002e50540000000a50540000000908004500001c000000000011a4cd0a0101010a010102000100020008000000000003000500000000000500050100000000060014800000040000000100010004000000050000000000630004000000000008004800000000800000141cc19c3cc549fea958e8fca8d607dae20000000080010008000000058006001800000000000000100000000200000000000000008008000800000003",
    ),
];

#[test]
fn foreign_and_malformed_resumes_get_ovs_errors() {
    let test = "foreign_and_malformed_resumes_get_ovs_errors";
    if !twins::available(test) {
        return;
    }
    let p = Pair::start();
    for (what, h) in RESUMES {
        let msg = unhex(h);
        let ours = raw_exchange(&p.rvs.mgmt, &msg);
        let theirs = raw_exchange(&p.ovs.mgmt, &msg);
        assert_eq!(theirs.len(), 1, "{what}: OVS sent {theirs:02x?}");
        assert_eq!(ours, theirs, "{what}");
        let text = String::from_utf8_lossy(
            &Command::new("ovs-ofctl")
                .args(["ofp-print", &hex(&theirs[0])])
                .output()
                .unwrap()
                .stdout,
        )
        .to_string();
        let name = what.split(' ').next().unwrap();
        assert!(text.contains(name), "{what}: {text}");
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
