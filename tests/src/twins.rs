//! rvs and Debian's `ovs-vswitchd` (userspace datapath) built the same way,
//! side by side, for tests that compare the two switch for switch: the same
//! datapath id and fail mode, the same ports (veths `p1`, `p2` with OpenFlow
//! numbers 1 and 2), each switch in the namespace of its own two-host
//! [`Lan`] so that the port names match.
//!
//! Include next to `controllers.rs`, `netns.rs`, `ovs_ref.rs` and `rvs.rs`:
//! `#[path = "../src/twins.rs"] mod twins;`.

use crate::controllers::Lan;
use crate::netns::namespaces_available;
use crate::ovs_ref::{OvsConfig, OvsRef};
use crate::rvs::{Switchd, TempDir, root_available, tool_available};

/// The two switches and their LANs. Destructure it to keep the parts
/// (fields drop in order: the switches before their namespaces, the rvs
/// run directory last).
pub struct Twins {
    pub rvs: Switchd,
    pub ovs: OvsRef,
    pub lan_rvs: Lan,
    pub lan_ovs: Lan,
    /// Holds rvs's RUNDIR (`run/`).
    pub run: TempDir,
}

/// True when root, namespaces, Debian's `ovs-ofctl` and the OVS daemons
/// are there; otherwise a skip note, or under `CI=true` a panic.
pub fn available(test: &str) -> bool {
    root_available(test)
        && namespaces_available(test)
        && tool_available(test, "ovs-ofctl")
        && OvsRef::available(test)
}

impl Twins {
    /// Starts `rvs switchd` (bridge `br0`, RUNDIR in a temporary directory
    /// named after `tag`) and ovs-vswitchd, both with datapath id `dpid`
    /// (16 hex digits) and `fail_mode` (`secure` or `standalone`), each on
    /// a two-host LAN of its own.
    pub fn start(tag: &str, dpid: &str, fail_mode: &str) -> Twins {
        let lan_rvs = Lan::new(2);
        let lan_ovs = Lan::new(2);
        let run = TempDir::new(tag);
        let ports = lan_rvs.rvs_port_args();
        let mut args: Vec<&str> = ports.iter().map(String::as_str).collect();
        args.extend(["--datapath-id", dpid, "--fail-mode", fail_mode]);
        let rvs = Switchd::start_in(&run.0.join("run"), "br0", &args, Some(&lan_rvs.sw.name));
        let ovs = OvsRef::start(
            &lan_ovs.sw,
            &OvsConfig {
                dpid: dpid.into(),
                fail_mode: fail_mode.into(),
                ports: lan_ovs.ovs_ports(),
                ..OvsConfig::default()
            },
        );
        Twins {
            rvs,
            ovs,
            lan_rvs,
            lan_ovs,
            run,
        }
    }
}
