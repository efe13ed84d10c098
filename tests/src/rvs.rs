//! Helpers to run the `rvs` binary and Debian's Open vSwitch tools in
//! end-to-end tests.
//!
//! - [`rvs_bin`]: the `rvs` binary next to the test executable (built with
//!   `cargo build -p switch --bin rvs` if it is missing).
//! - [`Switchd`]: an `rvs switchd` process in its own temporary RUNDIR,
//!   killed and cleaned up on drop.
//! - [`tool_available`]: skip, or under `CI=true` fail loudly, when a tool
//!   such as `ovs-ofctl` is missing.
//! - [`raw_exchange`]: one OpenFlow 1.3 message sent as bytes to a switch's
//!   management socket, and the replies it got.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The `rvs` binary of this build (target/<profile>/rvs).
pub fn rvs_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test>-<hash>
    let profile_dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = profile_dir.join("rvs");
    if !bin.exists() {
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["build", "-p", "switch", "--bin", "rvs"]);
        // The profile the tests were built with (`debug` is cargo's `dev`).
        match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => {}
            Some(p) => {
                cmd.args(["--profile", p]);
            }
        }
        if let Some(target) = profile_dir.parent() {
            cmd.env("CARGO_TARGET_DIR", target);
        }
        let st = cmd.status().expect("running cargo build for rvs");
        assert!(st.success(), "cargo build -p switch --bin rvs failed");
    }
    bin
}

/// True if `tool` runs; otherwise prints a skip note, or panics under CI=true.
pub fn tool_available(test: &str, tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: {tool} is required under CI but is not installed");
    }
    eprintln!("SKIP {test}: {tool} not installed");
    false
}

/// True if running as root; otherwise skip (or panic under CI=true).
pub fn root_available(test: &str) -> bool {
    let out = Command::new("id").arg("-u").output();
    if out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0") {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: must run as root under CI");
    }
    eprintln!("SKIP {test}: not root");
    false
}

/// A fresh private temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("rvs-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("creating a temporary directory");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `rvs switchd`, stopped (SIGTERM, then SIGKILL) on drop.
pub struct Switchd {
    pub child: Child,
    pub rundir: PathBuf,
    pub bridge: String,
    _tmp: Option<TempDir>,
}

impl Switchd {
    /// Starts `rvs switchd --rundir <fresh dir> --bridge br0 EXTRA...` and
    /// waits until its management socket accepts connections.
    pub fn start(extra: &[&str]) -> Switchd {
        let tmp = TempDir::new("sw");
        let rundir = tmp.0.join("run");
        let mut s = Switchd::start_in(&rundir, "br0", extra, None);
        s._tmp = Some(tmp);
        s
    }

    /// Starts switchd with `rundir` and `bridge`, optionally inside a
    /// network namespace (`ip netns exec NS`).
    pub fn start_in(rundir: &Path, bridge: &str, extra: &[&str], netns: Option<&str>) -> Switchd {
        let bin = rvs_bin();
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(&bin);
                c
            }
            None => Command::new(&bin),
        };
        cmd.arg("switchd")
            .arg("--rundir")
            .arg(rundir)
            .args(["--bridge", bridge])
            .args(extra);
        let log = std::fs::File::create(
            std::env::temp_dir().join(format!("rvs-switchd-{}.log", std::process::id())),
        )
        .expect("log file");
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
        let child = cmd.spawn().expect("starting rvs switchd");
        let mut s = Switchd {
            child,
            rundir: rundir.to_path_buf(),
            bridge: bridge.to_string(),
            _tmp: None,
        };
        s.wait_ready();
        s
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        let ctl = self.rundir.join("rvs.ctl");
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("rvs switchd exited at startup: {st}");
            }
            if self.mgmt().exists() && ctl.exists() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("rvs switchd did not create its sockets within 20 s");
    }

    /// `RUNDIR/BRIDGE.mgmt`.
    pub fn mgmt(&self) -> PathBuf {
        self.rundir.join(format!("{}.mgmt", self.bridge))
    }

    /// `unix:RUNDIR/BRIDGE.mgmt`, the SWITCH argument for ovs-ofctl.
    pub fn target(&self) -> String {
        format!("unix:{}", self.mgmt().display())
    }

    /// `RUNDIR/rvs.ctl`.
    pub fn ctl(&self) -> PathBuf {
        self.rundir.join("rvs.ctl")
    }

    /// Sends SIGTERM and waits (up to 5 s) for a clean exit; returns its status.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        self.child.wait().ok();
        None
    }
}

impl Drop for Switchd {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// Runs `ovs-ofctl -O OpenFlow13 ARGS...`.
pub fn ovs_ofctl(args: &[&str]) -> Output {
    Command::new("ovs-ofctl")
        .arg("-O")
        .arg("OpenFlow13")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running ovs-ofctl")
}

/// stdout of a command that must succeed.
pub fn ok_stdout(o: &Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what} failed ({}): {}{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The bytes of `s`, pairs of hex digits without separators (panics on
/// anything else: test vectors only).
pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Reads one OpenFlow message (header and body, as its length field says).
fn read_msg(c: &mut UnixStream) -> Vec<u8> {
    let mut h = [0u8; 8];
    c.read_exact(&mut h).expect("reading a message header");
    let len = usize::from(u16::from_be_bytes([h[2], h[3]]));
    let mut m = h.to_vec();
    m.resize(len.max(8), 0);
    c.read_exact(&mut m[8..]).expect("reading a message body");
    m
}

/// Sends `msg` (an OpenFlow 1.3 message) on a fresh connection to `mgmt`,
/// after a HELLO, then a barrier; returns every message the switch sent
/// before the barrier reply (echo requests skipped). Panics after 10 s
/// without a message.
pub fn raw_exchange(mgmt: &Path, msg: &[u8]) -> Vec<Vec<u8>> {
    let mut c = UnixStream::connect(mgmt).expect("connecting");
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(&[4, 0, 0, 8, 0, 0, 0, 1]).unwrap();
    let hello = read_msg(&mut c);
    assert_eq!(hello[1], 0, "expected HELLO");
    c.write_all(msg).unwrap();
    c.write_all(&[4, 20, 0, 8, 0, 0, 0, 0x63]).unwrap();
    let mut got = Vec::new();
    loop {
        let m = read_msg(&mut c);
        match m[1] {
            21 => return got,
            2 => {}
            _ => got.push(m),
        }
    }
}
