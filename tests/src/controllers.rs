//! Real OpenFlow controllers and a small switched LAN for interop tests.
//!
//! - [`Lan`]: a switch namespace holding veth ports `p1..pN` whose peers are
//!   `eth0` in host namespaces with `10.0.0.i/24`; everything goes with the
//!   namespaces on drop.
//! - [`Controller`]: `ovs-testcontroller`, os-ken's `simple_switch_13` (under
//!   `osken-manager`), or faucet, listening on `127.0.0.1:PORT` inside the
//!   switch namespace; killed on drop, restartable with [`Controller::restart`].
//! - The Python controllers come from the venv made by
//!   `scripts/install-test-deps.sh`: `$RVS_TEST_VENV`, default
//!   `/opt/rvs-test-venv` (with `apps/simple_switch_13.py` from os-ken 1.4.1).
//!
//! Include next to `netns.rs`: `#[path = "../src/controllers.rs"] mod controllers;`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::netns::Netns;

/// The Python venv with os-ken and faucet.
pub fn venv() -> PathBuf {
    std::env::var_os("RVS_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/rvs-test-venv"))
}

/// True when `path` exists; otherwise a skip note, or under `CI=true` a panic.
pub fn file_available(test: &str, path: &Path) -> bool {
    if path.exists() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "{test}: {} is required under CI (run scripts/install-test-deps.sh)",
            path.display()
        );
    }
    eprintln!(
        "SKIP {test}: {} missing (run scripts/install-test-deps.sh)",
        path.display()
    );
    false
}

/// True when `prog` is an executable on `PATH` (for tools without a working
/// `--version`, such as iputils `ping`); otherwise skip, or panic under CI.
pub fn on_path(test: &str, prog: &str) -> bool {
    let found = std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(prog).is_file()));
    if found {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: {prog} is required under CI (run scripts/install-test-deps.sh)");
    }
    eprintln!("SKIP {test}: {prog} not installed");
    false
}

/// A switch namespace and host namespaces joined by veth pairs.
pub struct Lan {
    pub sw: Netns,
    pub hosts: Vec<Netns>,
}

impl Lan {
    /// `n` hosts: host `i` (1-based) is `eth0` = `10.0.0.i/24` in its own
    /// namespace, its peer is `p{i}` (up, no address) in the switch namespace.
    /// TX checksum offload is off on both ends (frames leave complete).
    pub fn new(n: usize) -> Lan {
        let sw = Netns::new();
        let mut hosts = Vec::new();
        for i in 1..=n {
            let h = Netns::new();
            let p = format!("p{i}");
            sw.exec_ok(&[
                "ip", "link", "add", &p, "type", "veth", "peer", "name", "eth0", "netns", &h.name,
            ]);
            sw.exec_ok(&["ip", "link", "set", &p, "up"]);
            sw.exec(&["ethtool", "-K", &p, "tx", "off"]);
            h.exec_ok(&[
                "ip",
                "addr",
                "add",
                &format!("10.0.0.{i}/24"),
                "dev",
                "eth0",
            ]);
            h.exec_ok(&["ip", "link", "set", "eth0", "up"]);
            h.exec(&["ethtool", "-K", "eth0", "tx", "off"]);
            hosts.push(h);
        }
        Lan { sw, hosts }
    }

    /// Permanent ARP entries on every host for every other host, so that no
    /// ARP (and no timed neighbour probe) joins the traffic: packet counts
    /// become exact.
    pub fn static_arp(&self) {
        let macs: Vec<String> = self
            .hosts
            .iter()
            .map(|h| {
                let o = h.exec_ok(&["cat", "/sys/class/net/eth0/address"]);
                String::from_utf8_lossy(&o.stdout).trim().to_string()
            })
            .collect();
        for (i, h) in self.hosts.iter().enumerate() {
            for (j, mac) in macs.iter().enumerate() {
                if i != j {
                    let ip = format!("10.0.0.{}", j + 1);
                    h.exec_ok(&[
                        "ip",
                        "neigh",
                        "replace",
                        &ip,
                        "lladdr",
                        mac,
                        "dev",
                        "eth0",
                        "nud",
                        "permanent",
                    ]);
                }
            }
        }
    }

    /// `--port p1:1 --port p2:2 ...` for `rvs switchd`.
    pub fn rvs_port_args(&self) -> Vec<String> {
        (1..=self.hosts.len())
            .flat_map(|i| ["--port".to_string(), format!("p{i}:{i}")])
            .collect()
    }

    /// `[("p1", 1), ...]` for the reference OVS.
    pub fn ovs_ports(&self) -> Vec<(String, u32)> {
        (1..=self.hosts.len())
            .map(|i| (format!("p{i}"), i as u32))
            .collect()
    }

    /// One `ping -c1 -W1` from host `from` (1-based) to `10.0.0.{to}`.
    pub fn ping_once(&self, from: usize, to: usize) -> bool {
        self.hosts[from - 1]
            .exec(&[
                "ping",
                "-n",
                "-q",
                "-c",
                "1",
                "-W",
                "1",
                &format!("10.0.0.{to}"),
            ])
            .status
            .success()
    }

    /// Pings until one gets an answer (true) or `within` passes (false).
    pub fn ping_until(&self, from: usize, to: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        loop {
            if self.ping_once(from, to) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `count` pings 0.2 s apart, returning how many were answered.
    pub fn ping_count(&self, from: usize, to: usize, count: u32) -> u32 {
        let o = self.hosts[from - 1].exec(&[
            "ping",
            "-n",
            "-q",
            "-c",
            &count.to_string(),
            "-i",
            "0.2",
            "-W",
            "1",
            &format!("10.0.0.{to}"),
        ]);
        let out = String::from_utf8_lossy(&o.stdout);
        // "N packets transmitted, M received, ..."
        out.lines()
            .find_map(|l| {
                let (_, rest) = l.split_once(" transmitted, ")?;
                rest.split_whitespace().next()?.parse().ok()
            })
            .unwrap_or(0)
    }
}

/// Which controller program.
#[derive(Clone, Debug)]
pub enum Kind {
    /// `ovs-testcontroller -O OpenFlow13` with extra flags.
    TestController(Vec<String>),
    /// `osken-manager` running `simple_switch_13.py`.
    SimpleSwitch13,
    /// faucet with this `faucet.yaml` text.
    Faucet(String),
}

/// A controller process in the switch namespace on `127.0.0.1:port`.
pub struct Controller {
    pub kind: Kind,
    pub port: u16,
    ns: String,
    dir: PathBuf,
    child: Option<Child>,
    starts: u32,
}

impl Controller {
    /// True when the controller's program is installed (skip, or panic under CI).
    pub fn available(test: &str, kind: &Kind) -> bool {
        match kind {
            Kind::TestController(_) => {
                file_available(test, Path::new("/usr/bin/ovs-testcontroller"))
            }
            Kind::SimpleSwitch13 => {
                file_available(test, &venv().join("bin/osken-manager"))
                    && file_available(test, &venv().join("apps/simple_switch_13.py"))
            }
            Kind::Faucet(_) => file_available(test, &venv().join("bin/faucet")),
        }
    }

    /// Starts `kind` in namespace `ns`; `dir` holds its config and logs.
    pub fn start(kind: Kind, ns: &Netns, port: u16, dir: &Path) -> Controller {
        let mut c = Controller {
            kind,
            port,
            ns: ns.name.clone(),
            dir: dir.to_path_buf(),
            child: None,
            starts: 0,
        };
        c.spawn();
        c
    }

    /// `tcp:127.0.0.1:PORT`, the switch's controller target.
    pub fn target(&self) -> String {
        format!("tcp:127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        self.starts += 1;
        let log = self.dir.join(format!("controller-{}.log", self.starts));
        let port = self.port.to_string();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns]);
        // faucet execs `osken-manager` by name.
        let path = std::env::var("PATH").unwrap_or_default();
        cmd.env("PATH", format!("{}:{path}", venv().join("bin").display()));
        match &self.kind {
            Kind::TestController(extra) => {
                cmd.arg("ovs-testcontroller")
                    .args(["-O", "OpenFlow13"])
                    .args(extra)
                    .arg(format!(
                        "--unixctl={}/testcontroller-{}.ctl",
                        self.dir.display(),
                        self.starts
                    ))
                    .arg(format!("ptcp:{port}:127.0.0.1"))
                    .env("OVS_RUNDIR", &self.dir);
            }
            Kind::SimpleSwitch13 => {
                cmd.arg(venv().join("bin/osken-manager"))
                    .args(["--ofp-listen-host", "127.0.0.1"])
                    .args(["--ofp-tcp-listen-port", &port])
                    .arg(venv().join("apps/simple_switch_13.py"));
            }
            Kind::Faucet(yaml) => {
                let cfg = self.dir.join("faucet.yaml");
                std::fs::write(&cfg, yaml).expect("writing faucet.yaml");
                cmd.arg(venv().join("bin/faucet"))
                    .args(["--ryu-ofp-listen-host", "127.0.0.1"])
                    .args(["--ryu-ofp-tcp-listen-port", &port])
                    .env("FAUCET_CONFIG", &cfg)
                    .env("FAUCET_LOG", self.dir.join("faucet.log"))
                    .env(
                        "FAUCET_EXCEPTION_LOG",
                        self.dir.join("faucet-exception.log"),
                    )
                    .env("FAUCET_PROMETHEUS_ADDR", "127.0.0.1")
                    .env("FAUCET_PROMETHEUS_PORT", "0")
                    .env("FAUCET_CONFIG_STAT_RELOAD", "0");
            }
        }
        let out = std::fs::File::create(&log).expect("controller log");
        let err = out.try_clone().expect("controller log");
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd.spawn().expect("starting the controller");
        self.child = Some(child);
        self.wait_listening();
    }

    /// Waits until something listens on 127.0.0.1:port in the namespace.
    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let want = format!("127.0.0.1:{}", self.port);
        loop {
            if let Some(Ok(Some(st))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "controller {} exited at startup ({st}): {}",
                    self.name(),
                    self.log_text()
                );
            }
            let o = Command::new("ip")
                .args(["netns", "exec", &self.ns, "ss", "-Hltn"])
                .output()
                .expect("ss");
            if String::from_utf8_lossy(&o.stdout).contains(&want) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "controller {} not listening on {want} after 30 s: {}",
                self.name(),
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A short name for messages.
    pub fn name(&self) -> &'static str {
        match self.kind {
            Kind::TestController(_) => "ovs-testcontroller",
            Kind::SimpleSwitch13 => "simple_switch_13",
            Kind::Faucet(_) => "faucet",
        }
    }

    /// SIGKILLs the controller (a crash, not a clean goodbye).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts the same controller again (after [`Controller::kill`]).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Everything the controller wrote so far (all its starts), for messages.
    pub fn log_text(&self) -> String {
        let mut s = String::new();
        for i in 1..=self.starts {
            let p = self.dir.join(format!("controller-{i}.log"));
            s += &std::fs::read_to_string(p).unwrap_or_default();
        }
        if let Kind::Faucet(_) = self.kind {
            s += &std::fs::read_to_string(self.dir.join("faucet.log")).unwrap_or_default();
            s +=
                &std::fs::read_to_string(self.dir.join("faucet-exception.log")).unwrap_or_default();
        }
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        self.kill();
    }
}
