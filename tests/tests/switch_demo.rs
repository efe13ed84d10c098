//! `rvs demo` (README's run command) end to end: it must build its
//! namespaces, show allowed and blocked traffic as the firewall intends,
//! print the conntrack table, and leave nothing behind. Needs root and
//! namespaces; under `CI=true` a missing one fails the test.

#[path = "../src/netns.rs"]
#[allow(dead_code)]
mod netns;
#[path = "../src/rvs.rs"]
#[allow(dead_code)]
mod rvs;

use std::process::Command;

#[test]
fn demo_shows_allowed_and_blocked_traffic_and_cleans_up() {
    let t = "demo_shows_allowed_and_blocked_traffic";
    if !rvs::root_available(t) || !netns::namespaces_available(t) {
        return;
    }
    let o = Command::new(rvs::rvs_bin())
        .arg("demo")
        .output()
        .expect("running rvs demo");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "rvs demo failed:\n{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    for line in [
        "icmp   inside -> outside    allowed   allowed   ok",
        "icmp   outside -> inside    blocked   blocked   ok",
        "tcp    inside -> outside    allowed   allowed   ok",
        "tcp    outside -> inside    blocked   blocked   ok",
        "udp    inside -> outside    allowed   allowed   ok",
        "udp    outside -> inside    blocked   blocked   ok",
        "demo result: every outcome as intended",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    assert!(
        out.contains("tcp,orig=(src=10.0.0.1,dst=10.0.0.2,"),
        "conntrack table missing:\n{out}"
    );
    let ns = netns::run("ip", &["netns", "list"]);
    assert!(
        !String::from_utf8_lossy(&ns.stdout).contains("rvs-demo-"),
        "demo namespaces left behind"
    );
}
