//! A private reference Open vSwitch for interop tests: Debian's
//! `ovsdb-server` + `ovs-vswitchd` with their own database, sockets, pidfiles
//! and logs in a fresh temporary directory, running inside a network
//! namespace the caller owns, with one bridge of `datapath_type=netdev`
//! (the userspace datapath, the one rvs is compared with).
//!
//! - [`OvsRef::available`]: skip, or under `CI=true` panic, when OVS is missing.
//! - [`OvsRef::start`]: daemons up, bridge made with its datapath id,
//!   `fail_mode`, controllers and ports (`ofport_request`), management socket
//!   ready.
//! - `Drop`: `ovs-appctl exit --cleanup`, then SIGKILL whatever still runs
//!   (by pidfile), then the directory goes. The namespace (and the ports in
//!   it) stays with its owner.
//!
//! - [`OvsSwitch`]: an [`OvsRef`] with no ports in a namespace of its own,
//!   for tests that only talk OpenFlow and unixctl to it.
//!
//! Include next to `netns.rs` and `rvs.rs`:
//! `#[path = "../src/ovs_ref.rs"] mod ovs_ref;`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::netns::Netns;
use crate::rvs::TempDir;

const SCHEMA: &str = "/usr/share/openvswitch/vswitch.ovsschema";

/// What the reference bridge is made with.
#[derive(Clone, Debug)]
pub struct OvsConfig {
    pub bridge: String,
    /// 16 hex digits.
    pub dpid: String,
    /// `secure` or `standalone`.
    pub fail_mode: String,
    /// OVS controller targets (`tcp:IP:PORT`, ...); empty for none.
    pub controllers: Vec<String>,
    /// (interface name in the namespace, OpenFlow port number).
    pub ports: Vec<(String, u32)>,
}

impl Default for OvsConfig {
    fn default() -> Self {
        OvsConfig {
            bridge: "br0".into(),
            dpid: "00000000000000ab".into(),
            fail_mode: "secure".into(),
            controllers: Vec::new(),
            ports: Vec::new(),
        }
    }
}

/// A running private OVS (see the module docs).
pub struct OvsRef {
    pub rundir: PathBuf,
    pub bridge: String,
    _dir: TempDir,
}

fn check(o: std::io::Result<Output>, what: &str) -> Output {
    let o = o.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        o.status.success(),
        "{what} failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

fn pid_alive(pid: &str) -> bool {
    !pid.is_empty() && Path::new(&format!("/proc/{pid}")).exists()
}

impl OvsRef {
    /// True when the OVS daemons and tools are installed; otherwise prints a
    /// skip note, or under `CI=true` panics.
    pub fn available(test: &str) -> bool {
        let have = [
            "ovsdb-server",
            "ovs-vswitchd",
            "ovs-vsctl",
            "ovsdb-tool",
            "ovs-appctl",
        ]
        .iter()
        .all(|t| {
            Command::new(t)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        }) && Path::new(SCHEMA).exists();
        if have {
            return true;
        }
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{test}: Open vSwitch (openvswitch-switch) is required under CI");
        }
        eprintln!("SKIP {test}: Open vSwitch daemons not installed");
        false
    }

    /// Starts the daemons inside `ns` and builds the bridge of `cfg`; returns
    /// once `RUNDIR/BRIDGE.mgmt` exists and every port has its number.
    pub fn start(ns: &Netns, cfg: &OvsConfig) -> OvsRef {
        let dir = TempDir::new("ovsref");
        let rundir = dir.0.clone();
        let r = rundir.display().to_string();
        let s = OvsRef {
            rundir: rundir.clone(),
            bridge: cfg.bridge.clone(),
            _dir: dir,
        };
        check(
            Command::new("ovsdb-tool")
                .args(["create", &format!("{r}/conf.db"), SCHEMA])
                .output(),
            "ovsdb-tool create",
        );
        let daemon = |prog: &str, args: &[String]| {
            let mut c = ns.command(&[prog]);
            c.args(args)
                .env("OVS_RUNDIR", &rundir)
                .env("OVS_DBDIR", &rundir)
                .env("OVS_LOGDIR", &rundir)
                .stdin(Stdio::null());
            check(c.output(), prog);
        };
        daemon(
            "ovsdb-server",
            &[
                format!("{r}/conf.db"),
                format!("--remote=punix:{r}/db.sock"),
                format!("--pidfile={r}/ovsdb-server.pid"),
                format!("--unixctl={r}/ovsdb-server.ctl"),
                format!("--log-file={r}/ovsdb-server.log"),
                "--detach".into(),
                "--no-chdir".into(),
            ],
        );
        s.vsctl(&["--no-wait", "init"]);
        daemon(
            "ovs-vswitchd",
            &[
                format!("unix:{r}/db.sock"),
                "--disable-system".into(),
                format!("--pidfile={r}/ovs-vswitchd.pid"),
                format!("--unixctl={r}/ovs-vswitchd.ctl"),
                format!("--log-file={r}/ovs-vswitchd.log"),
                "--detach".into(),
                "--no-chdir".into(),
            ],
        );
        let br = cfg.bridge.as_str();
        let mut args: Vec<String> = [
            "add-br",
            br,
            "--",
            "set",
            "bridge",
            br,
            "datapath_type=netdev",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(format!("fail_mode={}", cfg.fail_mode));
        args.push(format!("other-config:datapath-id={}", cfg.dpid));
        // No in-band control flows: rvs has none either and they would show
        // up as hidden rules changing table counts.
        args.push("other-config:disable-in-band=true".into());
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        s.vsctl(&a);
        for (name, ofport) in &cfg.ports {
            s.add_port(name, *ofport);
        }
        if !cfg.controllers.is_empty() {
            let mut a = vec!["set-controller", br];
            a.extend(cfg.controllers.iter().map(String::as_str));
            s.vsctl(&a);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while !s.mgmt().exists() {
            assert!(
                Instant::now() < deadline,
                "ovs-vswitchd did not create {}",
                s.mgmt().display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        s
    }

    /// `ovs-vsctl --db=unix:RUNDIR/db.sock --timeout=10 ARGS`, which must succeed.
    pub fn vsctl(&self, args: &[&str]) -> String {
        let o = check(
            Command::new("ovs-vsctl")
                .arg(format!("--db=unix:{}/db.sock", self.rundir.display()))
                .arg("--timeout=10")
                .args(args)
                .stdin(Stdio::null())
                .output(),
            &format!("ovs-vsctl {args:?}"),
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Adds interface `name` (already in the namespace) as port `ofport`.
    pub fn add_port(&self, name: &str, ofport: u32) {
        self.vsctl(&[
            "add-port",
            &self.bridge,
            name,
            "--",
            "set",
            "interface",
            name,
            &format!("ofport_request={ofport}"),
        ]);
        let got = self.vsctl(&["get", "interface", name, "ofport"]);
        assert_eq!(got.trim(), ofport.to_string(), "ofport of {name}");
    }

    /// Replaces the bridge's controllers (none when `targets` is empty).
    pub fn set_controllers(&self, targets: &[&str]) {
        if targets.is_empty() {
            self.vsctl(&["del-controller", &self.bridge]);
        } else {
            let mut a = vec!["set-controller", self.bridge.as_str()];
            a.extend_from_slice(targets);
            self.vsctl(&a);
        }
    }

    /// `ovs-appctl -t RUNDIR/ovs-vswitchd.ctl ARGS` (its output, success or not).
    pub fn appctl(&self, args: &[&str]) -> Output {
        Command::new("ovs-appctl")
            .arg("-t")
            .arg(self.rundir.join("ovs-vswitchd.ctl"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("running ovs-appctl")
    }

    /// `RUNDIR/BRIDGE.mgmt`.
    pub fn mgmt(&self) -> PathBuf {
        self.rundir.join(format!("{}.mgmt", self.bridge))
    }

    /// `unix:RUNDIR/BRIDGE.mgmt`, the SWITCH argument for ovs-ofctl.
    pub fn target(&self) -> String {
        format!("unix:{}", self.mgmt().display())
    }

    /// The tail of ovs-vswitchd's log (for failure messages).
    pub fn log_tail(&self) -> String {
        let t = std::fs::read_to_string(self.rundir.join("ovs-vswitchd.log")).unwrap_or_default();
        let lines: Vec<&str> = t.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    fn pid(&self, daemon: &str) -> String {
        std::fs::read_to_string(self.rundir.join(format!("{daemon}.pid")))
            .unwrap_or_default()
            .trim()
            .to_string()
    }
}

impl Drop for OvsRef {
    fn drop(&mut self) {
        for (daemon, how) in [
            ("ovs-vswitchd", &["exit", "--cleanup"][..]),
            ("ovsdb-server", &["exit"][..]),
        ] {
            let pid = self.pid(daemon);
            if !pid_alive(&pid) {
                continue;
            }
            let _ = Command::new("ovs-appctl")
                .arg("-t")
                .arg(self.rundir.join(format!("{daemon}.ctl")))
                .arg("--timeout=5")
                .args(how)
                .stdin(Stdio::null())
                .output();
            let deadline = Instant::now() + Duration::from_secs(5);
            while pid_alive(&pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if pid_alive(&pid) {
                let _ = Command::new("kill").args(["-9", &pid]).status();
            }
        }
    }
}

/// An [`OvsRef`] with bridge `br0` and no ports in a namespace of its own
/// (dereferences to the [`OvsRef`]). The daemons stop before the namespace
/// goes.
pub struct OvsSwitch {
    ovs: OvsRef,
    ns: Netns,
}

impl OvsSwitch {
    /// [`OvsRef::available`].
    pub fn available(test: &str) -> bool {
        OvsRef::available(test)
    }

    /// Starts OVS with bridge br0 (`datapath_type=netdev`, `fail_mode`,
    /// datapath id `dpid`, no controller) in a fresh namespace.
    pub fn start(fail_mode: &str, dpid: &str) -> OvsSwitch {
        let ns = Netns::new();
        let ovs = OvsRef::start(
            &ns,
            &OvsConfig {
                dpid: dpid.into(),
                fail_mode: fail_mode.into(),
                ..OvsConfig::default()
            },
        );
        OvsSwitch { ovs, ns }
    }

    /// The namespace OVS runs in.
    pub fn netns(&self) -> &Netns {
        &self.ns
    }
}

impl std::ops::Deref for OvsSwitch {
    type Target = OvsRef;

    fn deref(&self) -> &OvsRef {
        &self.ovs
    }
}
