//! Flushing conntrack by tuple, rvs against Debian's `ovs-vswitchd` 3.1 (userspace datapath):
//! the same connections are made on both (packet-outs through `ct(commit)` flows), then the
//! same `ovs-appctl dpctl/flush-conntrack ...` or `ovs-ofctl ct-flush ...` command runs on
//! both; the exit code, stdout, the error message (without the program name) and the
//! conntrack table left over must be the same. Also `rvs ofctl ct-flush`/`ct-flush-zone`
//! against `ovs-ofctl` for the same arguments, and the replies to malformed `NXT_CT_FLUSH` /
//! `NXT_CT_FLUSH_ZONE` messages sent raw (byte-identical `OFPT_ERROR`s).
//! Needs root, namespaces and the OVS daemons; under `CI=true` a missing one fails.

#[path = "../src/netns.rs"]
#[allow(dead_code)]
mod netns;
#[path = "../src/ovs_ref.rs"]
#[allow(dead_code)]
mod ovs_ref;
#[path = "../src/rvs.rs"]
#[allow(dead_code)]
mod rvs;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use ovs_ref::OvsSwitch;
use rvs::{
    Switchd, ok_stdout, ovs_ofctl, raw_exchange, root_available, rvs_bin, tool_available, unhex,
};

const FLOWS: &[&str] = &[
    "priority=1,action=drop",
    "priority=100,in_port=1,udp,action=ct(commit),2",
    "priority=100,in_port=2,udp,action=ct(zone=5,commit),1",
    "priority=100,in_port=1,icmp,action=ct(commit),2",
    "priority=100,in_port=2,icmp,action=ct(zone=5,commit),1",
    "priority=100,in_port=1,ipv6,action=ct(commit),2",
];

/// UDP 10.1.1.1:1 -> 10.1.1.2:2 from port 1 (zone 0), the other way round from port 2
/// (zone 5), an echo request 10.1.1.2 -> 10.1.1.1 id 7 from port 2 (zone 5), and UDP
/// [fc00::1]:1 -> [fc00::2]:2 from port 1 (zone 0).
const PACKETS: &[&str] = &[
    "in_port=1 packet=50540000000a50540000000908004500001c000000000011a4cd0a0101010a0101020001000200080000 actions=resubmit(,0)",
    "in_port=2 packet=50540000000a50540000000908004500001c000000000011a4cd0a0101020a0101010002000100080000 actions=resubmit(,0)",
    "in_port=2 packet=50540000000a50540000000908004500001c00000000400164dd0a0101020a0101010800f7f700070001 actions=resubmit(,0)",
    "in_port=1 packet=50540000000a50540000000986dd6000000000081140fc000000000000000000000000000001fc00000000000000000000000000000200010002000807d7 actions=resubmit(,0)",
];

struct Side<'a> {
    target: String,
    ctl: &'a Path,
}

/// (exit code, stdout, first stderr line without the `PROGRAM: ` prefix).
type Answer = (Option<i32>, String, String);

fn answer(o: &Output, prefixes: &[&str]) -> Answer {
    let err = String::from_utf8_lossy(&o.stderr);
    let mut first = err.lines().next().unwrap_or("").to_string();
    for p in prefixes {
        if let Some(rest) = first.strip_prefix(p) {
            first = rest.to_string();
        }
    }
    (
        o.status.code(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        first,
    )
}

fn appctl(ctl: &Path, args: &[&str]) -> Output {
    Command::new("ovs-appctl")
        .arg("-t")
        .arg(ctl)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

impl Side<'_> {
    fn dump(&self) -> String {
        let mut l: Vec<String> = ok_stdout(&appctl(self.ctl, &["dpctl/dump-conntrack"]), "dump")
            .lines()
            .map(str::to_string)
            .collect();
        l.sort();
        l.join("\n")
    }

    fn fill(&self) {
        ok_stdout(&appctl(self.ctl, &["dpctl/flush-conntrack"]), "flush all");
        for p in PACKETS {
            ok_stdout(&ovs_ofctl(&["packet-out", &self.target, p]), "packet-out");
        }
        assert_eq!(
            self.dump().lines().count(),
            PACKETS.len(),
            "{}",
            self.dump()
        );
    }

    /// Fills the table, runs `cmd` (`dpctl/...` through ovs-appctl, `ct-flush...` through
    /// ovs-ofctl), returns its answer and the table after it.
    fn run(&self, cmd: &[&str]) -> (Answer, String) {
        self.fill();
        let a = if cmd[0].starts_with("dpctl/") {
            answer(&appctl(self.ctl, cmd), &["ovs-vswitchd: "])
        } else {
            let mut v = vec![cmd[0], self.target.as_str()];
            v.extend_from_slice(&cmd[1..]);
            answer(&ovs_ofctl(&v), &["ovs-ofctl: "])
        };
        (a, self.dump())
    }
}

#[test]
fn flush_conntrack_by_tuple_answers_as_ovs_vswitchd() {
    let test = "flush_conntrack_by_tuple_as_ovs";
    if !(root_available(test)
        && netns::namespaces_available(test)
        && tool_available(test, "ovs-appctl")
        && tool_available(test, "ovs-ofctl")
        && OvsSwitch::available(test))
    {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure", "--no-local-port"]);
    let ovs = OvsSwitch::start("secure", "00000000000000ae");
    let ovs_ctl = ovs.rundir.join("ovs-vswitchd.ctl");
    let rvs_ctl = sw.ctl();
    let sides = [
        Side {
            target: sw.target(),
            ctl: &rvs_ctl,
        },
        Side {
            target: ovs.target(),
            ctl: &ovs_ctl,
        },
    ];
    for s in &sides {
        for f in FLOWS {
            ok_stdout(&ovs_ofctl(&["add-flow", &s.target, f]), "add-flow");
        }
    }
    let udp12 = "ct_nw_src=10.1.1.1,ct_nw_dst=10.1.1.2,ct_nw_proto=17,ct_tp_src=1,ct_tp_dst=2";
    let udp21 = "ct_nw_src=10.1.1.2,ct_nw_dst=10.1.1.1,ct_nw_proto=17,ct_tp_src=2,ct_tp_dst=1";
    let ping =
        "ct_nw_src=10.1.1.2,ct_nw_dst=10.1.1.1,ct_nw_proto=1,icmp_id=7,icmp_type=8,icmp_code=0";
    let mut cmds: Vec<Vec<&str>> = Vec::new();
    for flush in ["dpctl/flush-conntrack", "ct-flush"] {
        let f = |a: &[&'static str]| {
            let mut v = vec![flush];
            v.extend_from_slice(a);
            v
        };
        cmds.extend([
            f(&[]),
            f(&["zone=5"]),
            f(&[udp12]),
            f(&[udp21]),
            f(&["zone=5", udp21]),
            f(&["zone=5", udp12]),
            f(&["zone=5", ping]),
            f(&[ping]),
            f(&["ct_nw_proto=17,ct_tp_src=1"]),
            f(&["ct_nw_proto=17,ct_tp_dst=1"]),
            f(&["ct_nw_src=10.1.1.2"]),
            f(&["ct_nw_dst=10.1.1.1"]),
            f(&["", "ct_nw_src=10.1.1.2"]),
            f(&["zone=5", "", "ct_nw_src=10.1.1.1"]),
            f(&["zone=0", "", "ct_nw_src=10.1.1.1"]),
            f(&["ct_nw_proto=1"]),
            f(&["ct_nw_proto=1,icmp_id=7,icmp_type=8,icmp_code=0"]),
            f(&["ct_nw_proto=1,icmp_id=7,icmp_type=8", "icmp_id=7"]),
            f(&["ct_nw_proto=17"]),
            f(&["ct_ipv6_src=fc00::1"]),
            f(&["ct_ipv6_src=fc00::1,ct_ipv6_dst=fc00::2,ct_nw_proto=17,ct_tp_src=1,ct_tp_dst=2"]),
            f(&["ct_ipv6_src=fc00::2,ct_ipv6_dst=fc00::1,ct_nw_proto=17,ct_tp_src=2,ct_tp_dst=1"]),
            f(&[
                "zone=5",
                "ct_ipv6_src=fc00::1,ct_ipv6_dst=fc00::2,ct_nw_proto=17,ct_tp_src=1,ct_tp_dst=2",
            ]),
            f(&["", "ct_ipv6_src=fc00::2"]),
            f(&["", "ct_ipv6_dst=fc00::1,ct_nw_proto=17,ct_tp_dst=1"]),
            f(&["ct_ipv6_dst=fc00::2", "ct_ipv6_src=fc00::1"]),
            f(&["ct_nw_proto=17,ct_tp_dst=2"]),
            f(&["ct_nw_proto=17,ct_nw_proto=6"]),
            f(&["zone=x"]),
            f(&["zone=5x"]),
            f(&["zone=65541", "ct_nw_dst=10.1.1.1"]),
            f(&["ct_nw_src=1.1.1.1,foo=1"]),
            f(&["ct_nw_src"]),
            f(&["ct_nw_src=1.1.1.1,ct_nw_src=2.2.2.2"]),
            f(&["ct_nw_src=1.1.1.1,ct_ipv6_dst=::1"]),
            f(&["ct_nw_src=1.1.1.1", "ct_ipv6_dst=::1"]),
            f(&["ct_nw_src=1.1.1.300"]),
            f(&["ct_nw_proto=300"]),
            f(&["ct_tp_src=3"]),
            f(&["icmp_id=3"]),
            f(&["ct_nw_proto=17,ct_nw_proto=6,ct_nw_src=1"]),
            // C strtol takes one sign, before the base prefix (review finding R4).
            f(&["ct_nw_proto=17,ct_tp_src=0x+1"]),
            f(&["ct_nw_proto=17,ct_tp_src=0x-1"]),
            f(&["ct_nw_proto=17,ct_tp_src=0-1"]),
            f(&["ct_nw_proto=17,ct_tp_src=-0x-8000000000000000"]),
            f(&["ct_nw_proto=17,ct_tp_src=+0x1"]),
            f(&["ct_nw_proto=17,ct_tp_src=01"]),
            f(&["ct_nw_proto=0x+11"]),
            f(&["a", "b", "c"]),
            f(&["netdev@ovs-netdev"]),
            f(&["", "", "x"]),
            f(&["", "", "x", "y"]),
            f(&["zone=5", "", "", "x"]),
            f(&["zone=5", "", "", "x", "y"]),
        ]);
    }
    cmds.push(vec!["ct-flush-zone", "5"]);
    cmds.push(vec!["ct-flush-zone", "x"]);
    cmds.push(vec!["ct-flush-zone"]);
    for cmd in &cmds {
        let rvs = sides[0].run(cmd);
        let ovs = sides[1].run(cmd);
        assert_eq!(rvs, ovs, "{cmd:?}: rvs vs OVS");
    }
    eprintln!("{} flush commands answered as OVS 3.1 does", cmds.len());
    // Spot checks that the comparison is not between two equal failures.
    let (a, table) = sides[0].run(&["dpctl/flush-conntrack", ping]);
    assert_eq!(
        (a.0, a.2.as_str(), table.lines().count()),
        (
            Some(2),
            "failed to flush conntrack (No such file or directory)",
            4
        )
    );
    let (a, table) = sides[0].run(&["dpctl/flush-conntrack", "ct_nw_proto=17,ct_tp_src=2"]);
    assert_eq!((a.0, table.lines().count()), (Some(0), 3), "{table}");
    let (a, table) = sides[0].run(&["ct-flush", "", "ct_nw_src=10.1.1.2"]);
    assert_eq!((a.0, table.lines().count()), (Some(0), 3), "{table}");
    assert!(!table.contains("orig=(src=10.1.1.1,"), "{table}");
    let (a, table) = sides[0].run(&["ct-flush", "", "ct_ipv6_src=fc00::2"]);
    assert_eq!((a.0, table.lines().count()), (Some(0), 3), "{table}");
    assert!(!table.contains("fc00"), "{table}");

    // rvs ofctl takes the same arguments as ovs-ofctl, with the same messages.
    for cmd in &cmds {
        if cmd[0].starts_with("dpctl/") {
            continue;
        }
        let ovs = sides[1].run(cmd);
        sides[1].fill();
        let mut v = vec![cmd[0], sides[1].target.as_str()];
        v.extend_from_slice(&cmd[1..]);
        let o = Command::new(rvs_bin())
            .arg("ofctl")
            .args(&v)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let rvs = (answer(&o, &["rvs ofctl: "]), sides[1].dump());
        assert_eq!(rvs, ovs, "rvs ofctl {cmd:?} vs ovs-ofctl (both on OVS)");
    }

    // Raw messages: the same OFPT_ERROR (or none) and the same table afterwards.
    let nx = |sub: &str, body: &str| {
        let mut m = unhex(&format!("04040000000000420000232000000{sub}{body}"));
        let n = m.len() as u16;
        m[2..4].copy_from_slice(&n.to_be_bytes());
        m
    };
    let orig_v4 = "00000020000000000000001400000000000000000000ffff0a01010200000000";
    let raws = [
        nx("01d", "0000000000000005"),
        nx("01d", "0000000000010005"),
        nx("01d", "00000000000000050000000000000000"),
        nx("020", "1100000000000000"),
        nx("020", "1100000000000001"),
        nx("020", "11000000000000000000000300000000"),
        nx("020", "11000000000000000002000500000000"),
        nx("020", "1100000000000000ffff000c000000000000000000000000"),
        nx("020", "1100000000000000aabbccdd"),
        nx(
            "020",
            &format!(
                "1100000000000000{orig_v4}0001002000000000000000140000000000000000000000000000000100000000"
            ),
        ),
        nx("020", &format!("1100000000000000{orig_v4}")),
        nx("020", &format!("1100000000000000{orig_v4}0002000800050000")),
        nx("020", &format!("0100000000000000{orig_v4}0002000800050000")),
    ];
    let mut errors = 0;
    for raw in &raws {
        let mut results = Vec::new();
        for (s, mgmt) in sides.iter().zip([sw.mgmt(), ovs.rundir.join("br0.mgmt")]) {
            s.fill();
            let replies = raw_exchange(&mgmt, raw);
            results.push((replies, s.dump()));
        }
        assert_eq!(results[0], results[1], "{raw:02x?}: rvs vs OVS");
        errors += results[0].0.len();
    }
    assert!(errors >= 7, "{errors} error replies");
    eprintln!(
        "{} raw ct flush messages answered as OVS 3.1 does",
        raws.len()
    );
}
