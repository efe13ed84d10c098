//! `dpctl/ct-set-limits`, `dpctl/ct-get-limits` and `dpctl/ct-del-limits` through Debian's
//! `ovs-appctl`, against rvs and against Debian's `ovs-vswitchd` (userspace datapath): the same
//! command lines, in the same order, must give the same exit status, stdout and stderr (the
//! control socket's path, which `ovs-appctl` echoes in its errors, is replaced by `CTL`, and
//! OVS's "ovs-vswitchd: " program-name prefix of dpctl errors is dropped).
//!
//! Needs root, namespaces, ovs-appctl and the OVS daemons; under `CI=true` a missing one fails.

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
use std::process::{Command, Stdio};

use ovs_ref::{OvsConfig, OvsRef};
use rvs::{Switchd, root_available, tool_available};

/// (status, stdout, stderr) of `ovs-appctl -t CTL ARGS`, with the socket path replaced.
fn appctl(ctl: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let o = Command::new("ovs-appctl")
        .arg("-t")
        .arg(ctl)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running ovs-appctl");
    // OVS's dpctl errors start with its program name; rvs's omit it.
    let norm = |b: &[u8]| {
        String::from_utf8_lossy(b)
            .replace(ctl.to_str().expect("utf-8 path"), "CTL")
            .replace("ovs-vswitchd: ", "")
    };
    (o.status.code(), norm(&o.stdout), norm(&o.stderr))
}

/// Command lines in order: they change the limits as they go, so each one sees the state the
/// previous ones left, on both switches.
const SCRIPT: &[&[&str]] = &[
    &["dpctl/ct-get-limits"],
    &["dpctl/ct-set-limits", "zone=1,limit=10"],
    &["dpctl/ct-get-limits"],
    &["dpctl/ct-set-limits", "default=5"],
    &["dpctl/ct-get-limits"],
    &["dpctl/ct-get-limits", "zone=1"],
    &["dpctl/ct-get-limits", "zone=1,2,3"],
    &["dpctl/ct-set-limits", "zone=2,limit=20", "zone=3,limit=30"],
    &["dpctl/ct-get-limits"],
    &["dpctl/ct-get-limits", "netdev@ovs-netdev"],
    &["dpctl/ct-get-limits", "netdev@ovs-netdev", "zone=2"],
    &[
        "dpctl/ct-set-limits",
        "netdev@ovs-netdev",
        "zone=4,limit=40",
    ],
    &["dpctl/ct-del-limits", "zone=1"],
    &["dpctl/ct-get-limits"],
    &["dpctl/ct-del-limits", "zone=2,3"],
    &["dpctl/ct-get-limits"],
    &["dpctl/ct-del-limits", "netdev@ovs-netdev", "zone=4"],
    &["dpctl/ct-del-limits", "zone=9"],
    &["dpctl/ct-set-limits", "default=0"],
    &["dpctl/ct-get-limits"],
    // Errors.
    &["dpctl/ct-set-limits"],
    &["dpctl/ct-set-limits", "zone=1"],
    &["dpctl/ct-set-limits", "limit=5"],
    &["dpctl/ct-set-limits", "zone=x,limit=5"],
    &["dpctl/ct-set-limits", "zone=1,limit=x"],
    &["dpctl/ct-set-limits", "zone=70000,limit=5"],
    &["dpctl/ct-set-limits", "default=x"],
    &["dpctl/ct-set-limits", "foo"],
    &["dpctl/ct-set-limits", "nosuch@dp", "zone=1,limit=1"],
    &["dpctl/ct-get-limits", "zone=x"],
    // (`ct-get-limits zone=` is left out: it crashes OVS 3.1's ovs-vswitchd; rvs refuses it,
    // see `an_empty_zone_list_is_refused`.)
    &["dpctl/ct-get-limits", "foo"],
    &["dpctl/ct-del-limits"],
    &["dpctl/ct-del-limits", "zone=x"],
    &["dpctl/ct-del-limits", "foo"],
    &["dpctl/ct-get-limits"],
];

#[test]
fn ct_limit_commands_answer_as_ovs_vswitchd() {
    let test = "ct_limit_commands_answer_as_ovs_vswitchd";
    if !root_available(test)
        || !netns::namespaces_available(test)
        || !tool_available(test, "ovs-appctl")
        || !OvsRef::available(test)
    {
        return;
    }
    let ns = netns::Netns::new();
    let ovs = OvsRef::start(&ns, &OvsConfig::default());
    let rvs = Switchd::start(&["--no-local-port"]);
    let ovs_ctl = ovs.rundir.join("ovs-vswitchd.ctl");
    let mut diffs = Vec::new();
    for args in SCRIPT {
        let want = appctl(&ovs_ctl, args);
        let got = appctl(&rvs.ctl(), args);
        if want != got {
            diffs.push(format!("{args:?}\n  ovs: {want:?}\n  rvs: {got:?}"));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} of {} command lines differ:\n{}",
        diffs.len(),
        SCRIPT.len(),
        diffs.join("\n")
    );
}

#[test]
fn an_empty_zone_list_is_refused() {
    let test = "an_empty_zone_list_is_refused";
    if !root_available(test) || !tool_available(test, "ovs-appctl") {
        return;
    }
    let rvs = Switchd::start(&["--no-local-port"]);
    for args in [
        &["dpctl/ct-get-limits", "zone="][..],
        &["dpctl/ct-del-limits", "zone="][..],
    ] {
        let (status, out, err) = appctl(&rvs.ctl(), args);
        assert_eq!(
            (status, out.as_str(), err.as_str()),
            (
                Some(2),
                "",
                "invalid zone (Invalid argument)\novs-appctl: CTL: server returned an error\n"
            ),
            "{args:?}"
        );
    }
    // Still serving.
    assert_eq!(
        appctl(&rvs.ctl(), &["dpctl/ct-get-limits"]).1,
        "default limit=0\n"
    );
}
