//! The fragment-reassembly control commands (`dpctl/ipf-*`) through `ovs-appctl` against
//! rvs and against Debian's `ovs-vswitchd` (userspace datapath): same exit codes, same
//! output, step by step (settings, refusals, status, the `-m` list section).
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

use ovs_ref::OvsSwitch;
use rvs::{Switchd, root_available, tool_available};

#[test]
fn ipf_commands_answer_as_ovs_vswitchd() {
    let test = "ipf_commands_as_ovs";
    if !(root_available(test)
        && netns::namespaces_available(test)
        && tool_available(test, "ovs-appctl")
        && OvsSwitch::available(test))
    {
        return;
    }
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    let ovs = OvsSwitch::start("secure", "00000000000000ad");
    let ovs_ctl = ovs.rundir.join("ovs-vswitchd.ctl");
    let appctl = |ctl: &std::path::Path, args: &[&str]| {
        let o = std::process::Command::new("ovs-appctl")
            .arg("-t")
            .arg(ctl)
            .args(args)
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
        )
    };
    let cmds: &[&[&str]] = &[
        &["dpctl/ipf-get-status"],
        &["dpctl/ipf-get-status", "-m"],
        &["dpctl/ipf-set-min-frag", "v4", "1000"],
        &["dpctl/ipf-set-min-frag", "v6", "400"],
        &["dpctl/ipf-set-min-frag", "v4", "399"],
        &["dpctl/ipf-set-min-frag", "v5", "1000"],
        &["dpctl/ipf-set-min-frag", "v4", "x"],
        &["dpctl/ipf-set-max-nfrags", "500"],
        &["dpctl/ipf-set-max-nfrags", "5001"],
        &["dpctl/ipf-set-max-nfrags", "x"],
        &["dpctl/ipf-set-disabled", "v4"],
        &["dpctl/ipf-get-status"],
        &["dpctl/ipf-set-enabled", "v4"],
        &["dpctl/ipf-set-disabled", "v6"],
        &["dpctl/ipf-set-enabled", "v7"],
        &["dpctl/ipf-get-status", "--more"],
        &["dpctl/ipf-set-enabled", "v6"],
        &["dpctl/ipf-get-status"],
    ];
    for cmd in cmds {
        assert_eq!(
            appctl(&sw.ctl(), cmd),
            appctl(&ovs_ctl, cmd),
            "ovs-appctl {cmd:?}: rvs vs OVS"
        );
    }
    eprintln!("{} ipf commands answered as ovs-vswitchd does", cmds.len());
}
