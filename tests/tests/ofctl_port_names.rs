//! Port and table names in flow text, resolved by ofp-codec's parser with
//! the switch's PORT_DESC names: `rvs ofctl` and Debian's `ovs-ofctl` run
//! the same named flows, filters and packet-outs against one rvs switch
//! (ports `p1`, `p2` and `p-3`, a name OVS quotes), and what rvs holds
//! afterwards is the same text for both; unknown names fail with OVS's
//! message.
//!
//! Needs root, `ip netns` and `ovs-ofctl`; skipped without them, fails
//! under `CI=true`.

#[path = "../src/netns.rs"]
#[allow(dead_code)]
mod netns;
#[path = "../src/rvs.rs"]
#[allow(dead_code)]
mod rvs;

use std::process::{Command, Output, Stdio};

use netns::{Netns, namespaces_available};
use rvs::{Switchd, TempDir, ovs_ofctl, rvs_bin, tool_available};

#[derive(Clone, Copy, Debug)]
enum Client {
    Rvs,
    Ovs,
}

fn run(client: Client, args: &[&str]) -> Output {
    match client {
        Client::Ovs => ovs_ofctl(args),
        Client::Rvs => Command::new(rvs_bin())
            .args(["ofctl", "-O", "OpenFlow13"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("running rvs ofctl"),
    }
}

fn ok(client: Client, args: &[&str]) -> String {
    let o = run(client, args);
    assert!(
        o.status.success(),
        "{client:?} {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The error message after the program's own prefix.
fn refusal(client: Client, args: &[&str]) -> String {
    let o = run(client, args);
    assert!(!o.status.success(), "{client:?} {args:?} succeeded");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let prefix = match client {
        Client::Ovs => "ovs-ofctl: ",
        Client::Rvs => "rvs ofctl: ",
    };
    err.trim()
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{client:?} {args:?}: {err}"))
        .to_string()
}

/// An ARP request from 10.0.0.1 for 10.0.0.2 (42 bytes).
const ARP: &str =
    "ffffffffffff020000000001080600010800060400010200000000010a0000010000000000000a000002";

/// Runs the named commands with `client` and returns what the switch then
/// holds and what the filters select, as printed by ovs-ofctl with numbers.
fn exercise(client: Client, target: &str, flows_file: &str) -> Vec<String> {
    ok(client, &["del-flows", target]);
    ok(
        client,
        &[
            "add-flow",
            target,
            "priority=5,in_port=p1,actions=output:p2",
        ],
    );
    ok(
        client,
        &[
            "add-flow",
            target,
            "table=1,priority=6,in_port=\"p-3\",actions=set_field:p1->in_port,resubmit(p2,2),enqueue:p2:3",
        ],
    );
    ok(
        client,
        &["add-flow", target, "priority=7,ip,actions=p2,ct(table=1)"],
    );
    ok(
        client,
        &[
            "add-flow",
            target,
            "priority=4,actset_output=p1,actions=output(port=p-3,max_len=100)",
        ],
    );
    ok(client, &["add-flows", target, flows_file]);
    ok(
        client,
        &["mod-flows", target, "in_port=p2,actions=output:p1"],
    );
    ok(
        client,
        &["del-flows", "--strict", target, "priority=9,in_port=p2,ip"],
    );
    ok(
        client,
        &[
            "packet-out",
            target,
            &format!("in_port=p1 packet={ARP} actions=output:p2"),
        ],
    );
    let mut seen = vec![
        ok(
            Client::Ovs,
            &["dump-flows", "--no-stats", "--no-names", target],
        ),
        ok(client, &["dump-flows", "--no-stats", target, "in_port=p1"]),
        ok(client, &["dump-flows", "--no-stats", target, "out_port=p2"]),
        refusal(client, &["add-flow", target, "in_port=p9,actions=drop"]),
        refusal(client, &["add-flow", target, "actions=output:p9"]),
        refusal(client, &["add-flow", target, "actions=resubmit(p9,1)"]),
        refusal(
            client,
            &["--no-names", "add-flow", target, "in_port=p1,actions=drop"],
        ),
    ];
    // ovs-ofctl prints the reply header's xid; the flows are what count.
    for s in &mut seen {
        *s = s
            .lines()
            .filter(|l| !l.starts_with("OFPST_FLOW reply"))
            .collect::<Vec<_>>()
            .join("\n");
    }
    seen
}

#[test]
fn named_flows_from_rvs_ofctl_and_ovs_ofctl_install_the_same_rules() {
    let test = "named_flows_from_rvs_ofctl_and_ovs_ofctl_install_the_same_rules";
    if !namespaces_available(test) || !tool_available(test, "ovs-ofctl") {
        return;
    }
    let ns = Netns::new();
    let tmp = TempDir::new("names");
    let rundir = tmp.0.join("run");
    let sw = Switchd::start_in(
        &rundir,
        "br0",
        &["--tap", "p1:1", "--tap", "p2:2", "--tap", "p-3:3"],
        Some(&ns.name),
    );
    let target = sw.target();
    let flows = tmp.0.join("named.flows");
    std::fs::write(
        &flows,
        "priority=9,in_port=p2,ip,actions=output:\"p-3\"\npriority=8,udp,actions=resubmit:p1\n",
    )
    .unwrap();
    let flows = flows.to_str().unwrap();

    let ovs = exercise(Client::Ovs, &target, flows);
    let rvs = exercise(Client::Rvs, &target, flows);
    assert_eq!(rvs, ovs);
    // The names resolved to the ports' numbers.
    let all = &ovs[0];
    for want in [
        "priority=5,in_port=1 actions=output:2",
        "table=1, priority=6,in_port=3 actions=set_field:1->in_port,resubmit(2,2),set_queue:3,output:2,pop_queue",
        "priority=7,ip actions=output:2,ct(table=1)",
        "priority=4,actset_output=1 actions=output(port=3,max_len=100)",
        "priority=8,udp actions=resubmit:1",
    ] {
        assert!(all.contains(want), "{want} not in\n{all}");
    }
    assert!(!all.contains("priority=9"), "{all}");
    assert_eq!(ovs[3], "p9: invalid or unknown port for in_port");
    assert_eq!(ovs[6], "p1: invalid or unknown port for in_port");
    // The names are printed back (quoted as OVS quotes them) with --names.
    let named = ok(
        Client::Rvs,
        &["dump-flows", "--no-stats", "--names", &target],
    );
    let named_ovs = ok(
        Client::Ovs,
        &["dump-flows", "--no-stats", "--names", &target],
    );
    assert_eq!(named, named_ovs);
    assert!(named.contains("in_port=\"p-3\""), "{named}");
    // replace-flows and diff-flows read flow files with the names too.
    let mut after = Vec::new();
    let mut diffs = Vec::new();
    for client in [Client::Ovs, Client::Rvs] {
        ok(client, &["del-flows", &target]);
        ok(client, &["replace-flows", &target, flows]);
        // ovs-ofctl reads a file after a switch without names (unless
        // they are shown), so this one is refused; rvs ofctl likewise.
        let diff = run(client, &["diff-flows", &target, flows]);
        let err = String::from_utf8_lossy(&diff.stderr).into_owned();
        let err = err.split_once(": ").map_or("", |(_, e)| e).to_string();
        diffs.push((diff.status.code(), err));
        after.push(ok(Client::Ovs, &["dump-flows", "--no-stats", &target]));
    }
    assert_eq!(after[0], after[1]);
    assert_eq!(diffs[0], diffs[1]);
    assert!(
        after[0].contains("priority=9,ip,in_port=2 actions=output:3"),
        "{}",
        after[0]
    );
    drop(sw);
}
