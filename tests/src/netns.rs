//! Network-namespace, veth and tap helpers for end-to-end tests, with
//! guaranteed cleanup: every object is owned by a guard whose `Drop` deletes
//! it, so a failing (panicking) test leaves nothing behind.
//!
//! Names are unique per process and call (`<prefix><pid><counter>`, at most
//! 15 characters so they are valid interface names too).

use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh name `<prefix><pid><n>` (≤ 15 bytes; `prefix` ≤ 4 bytes).
pub fn unique_name(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let pid = std::process::id() % 1_000_000;
    let s = format!("{prefix}{pid}x{n}");
    assert!(s.len() <= 15, "name {s} too long");
    s
}

/// Runs a command, returning its output (never panics on failure to run).
pub fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| Output {
            status: std::os::unix::process::ExitStatusExt::from_raw(127 << 8),
            stdout: Vec::new(),
            stderr: e.to_string().into_bytes(),
        })
}

/// Runs a command and panics with its stderr if it fails.
pub fn must(cmd: &str, args: &[&str]) -> Output {
    let o = run(cmd, args);
    assert!(
        o.status.success(),
        "{cmd} {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o
}

/// The pid embedded in a name made by [`unique_name`] with a 3-byte prefix.
fn owner_pid(name: &str, prefix: &str) -> Option<u32> {
    name.strip_prefix(prefix)?.split('x').next()?.parse().ok()
}

/// Deletes namespaces and links left by earlier test processes that were
/// killed before their guards ran (names `rvn…`, `rva…`, `rvb…`, `rvt…`
/// whose owner pid is gone).
pub fn cleanup_stale() {
    let dead = |pid: u32| !std::path::Path::new(&format!("/proc/{pid}")).exists();
    let list = run("ip", &["netns", "list"]);
    for line in String::from_utf8_lossy(&list.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        if owner_pid(name, "rvn").is_some_and(dead) {
            run("ip", &["netns", "del", name]);
        }
    }
    let links = run("ip", &["-o", "link", "show"]);
    for line in String::from_utf8_lossy(&links.stdout).lines() {
        let name = line
            .split(':')
            .nth(1)
            .unwrap_or("")
            .trim()
            .split('@')
            .next()
            .unwrap_or("");
        if ["rva", "rvb", "rvt"]
            .iter()
            .any(|p| owner_pid(name, p).is_some_and(dead))
        {
            run("ip", &["link", "del", name]);
        }
    }
}

/// Checks that namespace tests can run here (root, `ip netns` works).
/// Returns false (after printing a skip note) when they cannot; under
/// `CI=true` it panics instead, so CI fails loudly.
pub fn namespaces_available(test: &str) -> bool {
    let uid = run("id", &["-u"]);
    let root = String::from_utf8_lossy(&uid.stdout).trim() == "0";
    let why = if !root {
        Some("not root".to_string())
    } else {
        let probe = unique_name("rvp");
        let o = run("ip", &["netns", "add", &probe]);
        let ok = o.status.success();
        if ok {
            run("ip", &["netns", "del", &probe]);
            None
        } else {
            Some(format!(
                "ip netns add failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            ))
        }
    };
    match why {
        None => {
            cleanup_stale();
            true
        }
        Some(w) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: namespace test cannot run under CI: {w}")
        }
        Some(w) => {
            eprintln!("SKIP {test}: {w}");
            false
        }
    }
}

/// A network namespace, deleted on drop (with every process still in it killed).
pub struct Netns {
    pub name: String,
}

impl Netns {
    /// Creates a namespace with loopback up and IPv6 off (no ND/MLD noise).
    pub fn new() -> Netns {
        let name = unique_name("rvn");
        must("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        ns.exec_ok(&["ip", "link", "set", "lo", "up"]);
        ns.exec(&[
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=1",
            "net.ipv6.conf.default.disable_ipv6=1",
        ]);
        ns
    }

    /// Runs `argv` inside the namespace.
    pub fn exec(&self, argv: &[&str]) -> Output {
        let mut a = vec!["netns", "exec", &self.name];
        a.extend_from_slice(argv);
        run("ip", &a)
    }

    /// Runs `argv` inside the namespace and panics if it fails.
    pub fn exec_ok(&self, argv: &[&str]) -> Output {
        let o = self.exec(argv);
        assert!(
            o.status.success(),
            "in {}: {argv:?} failed: {}{}",
            self.name,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        o
    }

    /// A `Command` that runs `argv` inside the namespace (for background processes).
    pub fn command(&self, argv: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(argv);
        c
    }

    /// Moves interface `ifname` (in the current namespace) here, renames it
    /// `newname`, gives it `cidr`, brings it up and turns TX checksum offload off.
    pub fn adopt(&self, ifname: &str, newname: &str, cidr: &str) {
        must("ip", &["link", "set", ifname, "netns", &self.name]);
        self.exec_ok(&["ip", "link", "set", ifname, "name", newname]);
        self.exec_ok(&["ip", "addr", "add", cidr, "dev", newname]);
        self.exec_ok(&["ip", "link", "set", newname, "up"]);
        self.exec(&["ethtool", "-K", newname, "tx", "off"]);
    }
}

impl Default for Netns {
    fn default() -> Self {
        Netns::new()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let pids = run("ip", &["netns", "pids", &self.name]);
        for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
            run("kill", &["-9", pid]);
        }
        run("ip", &["netns", "del", &self.name]);
    }
}

/// A veth pair created in the current namespace; `a` stays, `b` is meant to
/// be moved into a namespace. Deleting `a` on drop removes both ends.
pub struct Veth {
    pub a: String,
    pub b: String,
}

impl Veth {
    pub fn new() -> Veth {
        let a = unique_name("rva");
        let b = unique_name("rvb");
        must(
            "ip",
            &["link", "add", &a, "type", "veth", "peer", "name", &b],
        );
        let v = Veth { a, b };
        run(
            "sysctl",
            &["-qw", &format!("net.ipv6.conf.{}.disable_ipv6=1", v.a)],
        );
        must("ip", &["link", "set", &v.a, "up"]);
        run("ethtool", &["-K", &v.a, "tx", "off"]);
        v
    }
}

impl Default for Veth {
    fn default() -> Self {
        Veth::new()
    }
}

impl Drop for Veth {
    fn drop(&mut self) {
        run("ip", &["link", "del", &self.a]);
    }
}

/// Deletes interface `name` (wherever the current namespace sees it) on drop;
/// for taps created by a program that may outlive the test's assertions.
pub struct LinkGuard(pub String);

impl Drop for LinkGuard {
    fn drop(&mut self) {
        run("ip", &["link", "del", &self.0]);
    }
}
