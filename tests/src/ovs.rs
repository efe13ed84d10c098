//! A reference Open vSwitch (Debian's `ovsdb-server` + `ovs-vswitchd`,
//! userspace datapath) in its own network namespace and RUNDIR, for tests
//! that compare rvs's answers with OVS's. Everything is stopped and removed
//! on drop (the namespace guard kills what still runs in it).
//!
//! Include next to `netns.rs` and `rvs.rs`:
//! `#[path = "../src/ovs.rs"] mod ovs;`.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::netns::Netns;
use crate::rvs::TempDir;

const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

/// A running OVS with one netdev bridge `br0`.
pub struct OvsSwitch {
    pub rundir: PathBuf,
    // Field order: the namespace (and the daemons in it) goes before the dir.
    ns: Netns,
    _dir: TempDir,
}

fn ok(cmd: &mut Command, what: &str) {
    let o = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        o.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

impl OvsSwitch {
    /// True when the OVS daemons are installed; otherwise skip, or under
    /// `CI=true` panic.
    pub fn available(test: &str) -> bool {
        let have = ["ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovsdb-tool"]
            .iter()
            .all(|t| {
                Command::new(t)
                    .arg("--version")
                    .output()
                    .is_ok_and(|o| o.status.success())
            })
            && std::path::Path::new(SCHEMA).exists();
        if have {
            return true;
        }
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{test}: Open vSwitch (openvswitch-switch) is required under CI");
        }
        eprintln!("SKIP {test}: Open vSwitch daemons not installed");
        false
    }

    /// Starts OVS with bridge br0 (`datapath_type=netdev`, `fail_mode`,
    /// datapath id `dpid`).
    pub fn start(fail_mode: &str, dpid: &str) -> OvsSwitch {
        let dir = TempDir::new("ovs");
        let rundir = dir.0.clone();
        let ns = Netns::new();
        let r = rundir.display().to_string();
        let db = format!("unix:{r}/db.sock");
        ok(
            Command::new("ovsdb-tool").args(["create", &format!("{r}/conf.db"), SCHEMA]),
            "ovsdb-tool create",
        );
        let in_ns = |prog: &str| {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", &ns.name, prog]);
            c.env("OVS_RUNDIR", &rundir)
                .env("OVS_DBDIR", &rundir)
                .env("OVS_LOGDIR", &rundir);
            c
        };
        ok(
            in_ns("ovsdb-server").args([
                &format!("{r}/conf.db"),
                &format!("--remote=punix:{r}/db.sock"),
                &format!("--pidfile={r}/ovsdb-server.pid"),
                &format!("--unixctl={r}/ovsdb-server.ctl"),
                &format!("--log-file={r}/ovsdb-server.log"),
                "--detach",
                "--no-chdir",
            ]),
            "ovsdb-server",
        );
        let vsctl = |args: &[&str]| {
            let mut c = Command::new("ovs-vsctl");
            c.arg(format!("--db={db}")).arg("--timeout=10").args(args);
            c
        };
        ok(&mut vsctl(&["--no-wait", "init"]), "ovs-vsctl init");
        ok(
            in_ns("ovs-vswitchd").args([
                &db,
                "--disable-system",
                &format!("--pidfile={r}/ovs-vswitchd.pid"),
                &format!("--unixctl={r}/ovs-vswitchd.ctl"),
                &format!("--log-file={r}/ovs-vswitchd.log"),
                "--detach",
                "--no-chdir",
            ]),
            "ovs-vswitchd",
        );
        ok(
            &mut vsctl(&[
                "add-br",
                "br0",
                "--",
                "set",
                "bridge",
                "br0",
                "datapath_type=netdev",
                &format!("fail_mode={fail_mode}"),
                &format!("other-config:datapath-id={dpid}"),
            ]),
            "add-br",
        );
        let s = OvsSwitch {
            rundir,
            ns,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while !s.rundir.join("br0.mgmt").exists() {
            assert!(
                Instant::now() < deadline,
                "ovs-vswitchd did not create br0.mgmt"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }

    /// `unix:RUNDIR/br0.mgmt`.
    pub fn target(&self) -> String {
        format!("unix:{}/br0.mgmt", self.rundir.display())
    }

    /// The namespace OVS runs in.
    pub fn netns(&self) -> &Netns {
        &self.ns
    }
}

impl Drop for OvsSwitch {
    fn drop(&mut self) {
        for d in ["ovs-vswitchd", "ovsdb-server"] {
            let ctl = self.rundir.join(format!("{d}.ctl"));
            let _ = Command::new("ovs-appctl")
                .arg("-t")
                .arg(&ctl)
                .arg("exit")
                .output();
        }
    }
}
