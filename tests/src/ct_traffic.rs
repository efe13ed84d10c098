//! Harness for rvs's versions of the conntrack scenarios of Open vSwitch's
//! `tests/system-traffic.at` (banners `conntrack`, `conntrack - L7`,
//! `conntrack - NAT`), used by `tests/tests/ct_traffic_*.rs`.
//!
//! A [`Bed`] is one scenario's topology: namespaces `ns[0..n]`, each with one
//! veth end named `p<i>` (the namespace side) whose other end is OpenFlow
//! port `i + 1` of a fresh `rvs switchd --fail-mode secure`, as OVS's
//! `ADD_VETH(p<i>, at_ns<i>, br0, ...)` numbers them. Flows are pushed with
//! Debian's `ovs-ofctl -O OpenFlow13 --bundle add-flows` to `RUNDIR/br0.mgmt`
//! and the tracker is read with `ovs-appctl -t RUNDIR/rvs.ctl
//! dpctl/dump-conntrack`; [`format_ct`] applies OVS's `FORMAT_CT`
//! normalisation (ports, ids and TCP states `<cleared>`, sorted, unique).
//!
//! Everything a bed creates (namespaces and their processes, veths, the
//! daemon, temporary files) is removed on drop, so a failing test leaves
//! nothing behind. Names are unique per process ([`unique_name`]), so tests
//! run in parallel.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::netns::{Netns, Veth, must, namespaces_available, run};
use crate::rvs::{Switchd, TempDir, root_available, tool_available};

/// Debian's interpreter, which has python3-scapy and python3-pyftpdlib
/// (the `python3` on PATH may be another installation without them).
pub const PY: &str = "/usr/bin/python3";

/// An anonymous FTP server (pyftpdlib) on port 21: argv root, bind address.
const FTP_SERVER: &str = "import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler
from pyftpdlib.servers import FTPServer
auth = DummyAuthorizer()
auth.add_anonymous(sys.argv[1])
class Handler(FTPHandler):
    authorizer = auth
    permit_foreign_addresses = True
FTPServer((sys.argv[2], 21), Handler).serve_forever()
";

/// One namespace with its port.
pub struct Port {
    pub ns: Netns,
    /// The veth pair; `veth.a` is the switch side.
    pub veth: Veth,
}

/// One scenario's topology and switch (see the module docs).
pub struct Bed {
    pub test: String,
    daemons: Vec<Child>,
    pub sw: Switchd,
    /// [`Bed::with_local`]: the namespace switchd runs in, holding the
    /// switch ends of the veths and the LOCAL port `br0` (the scenario's
    /// "root namespace"); dropped after the daemon.
    pub local: Option<Netns>,
    pub ports: Vec<Port>,
    pub dir: TempDir,
}

/// Checks root, namespaces and the tools every scenario needs, plus `extra`;
/// false means "skip" (under `CI=true` a missing one panics instead).
pub fn can_run(test: &str, extra: &[&str]) -> bool {
    if !root_available(test) || !namespaces_available(test) {
        return false;
    }
    ["ovs-ofctl", "ovs-appctl"]
        .iter()
        .all(|t| tool_available(test, t))
        && [PY, "ping", "ss"]
            .iter()
            .chain(extra)
            .all(|t| on_path(test, t))
}

/// True if `tool` is an executable file on PATH (or an absolute path);
/// otherwise prints a skip note, or panics under `CI=true`. For tools that
/// have no `--version` (ping, nc, in.tftpd).
pub fn on_path(test: &str, tool: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let exec = |p: &Path| {
        p.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let found = if tool.starts_with('/') {
        exec(Path::new(tool))
    } else {
        std::env::var("PATH")
            .unwrap_or_default()
            .split(':')
            .chain(["/usr/sbin", "/sbin"])
            .any(|d| exec(&Path::new(d).join(tool)))
    };
    if found {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{test}: {tool} is required under CI but is not installed");
    }
    eprintln!("SKIP {test}: {tool} not installed");
    false
}

impl Bed {
    /// Namespaces with one address each (`"10.1.1.1/24"` or `"fc00::1/96"`),
    /// port `i + 1` for `addrs[i]`; None when the scenario must be skipped.
    pub fn new(test: &str, addrs: &[&str], extra_tools: &[&str]) -> Option<Bed> {
        Bed::with_macs(
            test,
            &addrs.iter().map(|a| (*a, None)).collect::<Vec<_>>(),
            extra_tools,
        )
    }

    /// As [`Bed::new`], with an optional MAC address per namespace port.
    pub fn with_macs(
        test: &str,
        addrs: &[(&str, Option<&str>)],
        extra_tools: &[&str],
    ) -> Option<Bed> {
        Bed::build(test, addrs, extra_tools, false)
    }

    /// As [`Bed::new`], with the bridge's LOCAL port: switchd runs in a
    /// namespace of its own ([`Bed::local`]) that holds the veths' switch
    /// ends and the LOCAL tap `br0` (down, no address), so that parallel
    /// beds do not fight over one `br0` in the root namespace. What OVS's
    /// scenarios do "in the root namespace" runs there ([`Bed::local_sh`]).
    pub fn with_local(test: &str, addrs: &[&str], extra_tools: &[&str]) -> Option<Bed> {
        let addrs: Vec<(&str, Option<&str>)> = addrs.iter().map(|a| (*a, None)).collect();
        Bed::build(test, &addrs, extra_tools, true)
    }

    fn build(
        test: &str,
        addrs: &[(&str, Option<&str>)],
        extra_tools: &[&str],
        with_local: bool,
    ) -> Option<Bed> {
        if !can_run(test, extra_tools) {
            return None;
        }
        let mut ports = Vec::new();
        for (i, (cidr, mac)) in addrs.iter().enumerate() {
            let ns = Netns::new();
            // As OVS's ADD_NAMESPACES: no kernel helpers inside.
            ns.exec(&["sysctl", "-qw", "net.netfilter.nf_conntrack_helper=0"]);
            let veth = Veth::new();
            let name = format!("p{i}");
            must("ip", &["link", "set", &veth.b, "netns", &ns.name]);
            ns.exec_ok(&["ip", "link", "set", &veth.b, "name", &name]);
            if let Some(mac) = mac {
                ns.exec_ok(&["ip", "link", "set", &name, "address", mac]);
            }
            if !cidr.is_empty() {
                add_addr(&ns, &name, cidr);
            }
            ns.exec_ok(&["ip", "link", "set", &name, "up"]);
            ns.exec(&["ethtool", "-K", &name, "tx", "off"]);
            ports.push(Port { ns, veth });
        }
        let dir = TempDir::new("ct");
        let mut args = vec!["--fail-mode".to_string(), "secure".to_string()];
        let local = with_local.then(Netns::new);
        match &local {
            Some(l) => {
                for p in &ports {
                    must("ip", &["link", "set", &p.veth.a, "netns", &l.name]);
                    l.exec_ok(&["ip", "link", "set", &p.veth.a, "up"]);
                }
            }
            // No LOCAL tap: it would be named br0 in the root namespace for
            // every bed (most scenarios do not use it).
            None => args.push("--no-local-port".to_string()),
        }
        for (i, p) in ports.iter().enumerate() {
            args.push("--port".into());
            args.push(format!("{}:{}", p.veth.a, i + 1));
        }
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let ns_name = local.as_ref().map(|l| l.name.as_str());
        let sw = Switchd::start_in(&dir.0.join("run"), "br0", &argv, ns_name);
        Some(Bed {
            test: test.to_string(),
            daemons: Vec::new(),
            sw,
            local,
            ports,
            dir,
        })
    }

    /// Namespace of port `i + 1` (OVS's `at_ns<i>`).
    pub fn ns(&self, i: usize) -> &Netns {
        &self.ports[i].ns
    }

    /// Runs a shell command line (`bash -c`) in the namespace of the LOCAL
    /// port `br0` ([`Bed::with_local`]), in the bed's directory.
    pub fn local_sh(&self, script: &str) -> Output {
        let l = self
            .local
            .as_ref()
            .expect("a bed made with Bed::with_local");
        l.command(&["bash", "-c", script])
            .current_dir(&self.dir.0)
            .stdin(Stdio::null())
            .output()
            .expect("bash")
    }

    /// A file in the bed's private directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.0.join(name)
    }

    /// `ovs-ofctl -O OpenFlow13 ARGS` where an argument `br0` names this
    /// bridge (`unix:RUNDIR/br0.mgmt`).
    pub fn ofctl(&self, args: &[&str]) -> Output {
        let target = self.sw.target();
        let args: Vec<&str> = args
            .iter()
            .map(|a| if *a == "br0" { target.as_str() } else { a })
            .collect();
        let mut v = vec!["-O", "OpenFlow13"];
        v.extend(args);
        run("ovs-ofctl", &v)
    }

    /// As [`Bed::ofctl`]; panics (with stderr) when the command fails.
    pub fn ofctl_ok(&self, args: &[&str]) -> String {
        let o = self.ofctl(args);
        assert!(
            o.status.success(),
            "{}: ovs-ofctl {args:?} failed: {}",
            self.test,
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// Installs `text` (one flow a line; blank and `#` lines skipped) with
    /// `ovs-ofctl --bundle add-flows`.
    pub fn flows(&self, text: &str) {
        self.flows_cmd("add-flows", text);
    }

    /// `ovs-ofctl --bundle CMD br0 FILE` (`add-flows`, `replace-flows`).
    pub fn flows_cmd(&self, cmd: &str, text: &str) {
        let body: String = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let f = self.path("flows.txt");
        std::fs::write(&f, body).expect("writing flows");
        self.ofctl_ok(&["--bundle", cmd, "br0", f.to_str().unwrap()]);
    }

    /// `ovs-ofctl packet-out br0 SPEC` (one argument: `in_port=.. packet=.. actions=..`).
    pub fn packet_out(&self, spec: &str) {
        self.ofctl_ok(&["packet-out", "br0", spec]);
    }

    /// `ovs-appctl -t RUNDIR/rvs.ctl ARGS`.
    pub fn appctl(&self, args: &[&str]) -> Output {
        let ctl = self.sw.ctl();
        let mut v = vec!["-t", ctl.to_str().unwrap()];
        v.extend_from_slice(args);
        run("ovs-appctl", &v)
    }

    /// As [`Bed::appctl`]; panics when the command fails; returns stdout.
    pub fn appctl_ok(&self, args: &[&str]) -> String {
        let o = self.appctl(args);
        assert!(
            o.status.success(),
            "{}: ovs-appctl {args:?} failed: {}",
            self.test,
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// The raw `dpctl/dump-conntrack` text.
    pub fn dump_ct(&self) -> String {
        self.appctl_ok(&["dpctl/dump-conntrack"])
    }

    /// `dpctl/dump-conntrack | FORMAT_CT(ip)`.
    pub fn ct(&self, ip: &str) -> String {
        format_ct(&self.dump_ct(), ip)
    }

    /// Lines of `dpctl/dump-conntrack` containing `pat` (as `grep pat`, literal).
    pub fn ct_grep(&self, pat: &str) -> String {
        grep(&self.dump_ct(), pat)
    }

    /// `dpctl/flush-conntrack ARGS`.
    pub fn flush(&self, args: &[&str]) {
        let mut v = vec!["dpctl/flush-conntrack"];
        v.extend_from_slice(args);
        self.appctl_ok(&v);
    }

    /// `ovs-ofctl dump-flows br0 [FILTER] | ofctl_strip`, optionally sorted.
    pub fn dump_flows(&self, filter: Option<&str>, sorted: bool) -> String {
        let mut a = vec!["dump-flows", "br0"];
        a.extend(filter);
        let out = ofctl_strip(&self.ofctl_ok(&a));
        if sorted { sort_lines(&out, false) } else { out }
    }

    /// `ping -q -c COUNT -i 0.3 -w 2 DST | FORMAT_PING` in `at_ns<i>`
    /// (`ping6` for IPv6), plus extra ping arguments.
    pub fn ping(&self, i: usize, dst: &str, count: u32, extra: &[&str]) -> String {
        let c = count.to_string();
        let mut a = vec!["ping", "-q", "-c", &c, "-i", "0.3", "-w", "2"];
        if dst.contains(':') {
            a.push("-6");
        }
        a.extend_from_slice(extra);
        a.push(dst);
        format_ping(&String::from_utf8_lossy(&self.ns(i).exec(&a).stdout))
    }

    /// Waits (≤ 10 s) until `ping -c 1 DST` from `at_ns<i>` succeeds
    /// (OVS's `OVS_WAIT_UNTIL([ip netns exec ... ping ...])`).
    pub fn wait_ping(&self, i: usize, dst: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let mut a = vec!["ping", "-c", "1", "-W", "1"];
            if dst.contains(':') {
                a.push("-6");
            }
            a.push(dst);
            if self.ns(i).exec(&a).status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: {dst} never answered",
                self.test
            );
        }
    }

    /// Starts `argv` in `at_ns<i>` in the background (killed on drop) with
    /// the bed's directory as working directory; output to `log`.
    pub fn daemon(&mut self, i: usize, argv: &[&str], log: &str) {
        let f = std::fs::File::create(self.path(log)).expect("log");
        let child = self
            .ns(i)
            .command(argv)
            .current_dir(&self.dir.0)
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .expect("starting a daemon");
        self.daemons.push(child);
    }

    /// OVS's `OVS_START_L7(at_ns<i>, http|http6)`: a Python HTTP server on
    /// port 80, serving an empty directory; waits until it listens.
    pub fn http_server(&mut self, i: usize, v6: bool) {
        let root = self.path(&format!("www{i}"));
        std::fs::create_dir_all(&root).unwrap();
        let bind = if v6 { "::" } else { "0.0.0.0" };
        let root = root.to_str().unwrap().to_string();
        self.daemon(
            i,
            &[
                PY,
                "-m",
                "http.server",
                "--bind",
                bind,
                "--directory",
                &root,
                "80",
            ],
            &format!("http{i}.log"),
        );
        self.wait_listen(i, "tcp", 80);
    }

    /// Waits (≤ 10 s) until something in `at_ns<i>` listens on `proto` `port`.
    pub fn wait_listen(&self, i: usize, proto: &str, port: u16) {
        let flag = if proto == "udp" { "-Hlun" } else { "-Hltn" };
        let filt = format!("sport = :{port}");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let o = self.ns(i).exec(&["ss", flag, &filt]);
            if !String::from_utf8_lossy(&o.stdout).trim().is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: nothing listens on {proto} {port} in ns {i}",
                self.test
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `wget URL -t TRIES -T 1 [--retry-connrefused] -v -o LOG` in
    /// `at_ns<i>` (the body is discarded); returns wget's exit code.
    pub fn wget(&self, i: usize, url: &str, tries: u32, retry_refused: bool) -> i32 {
        let t = tries.to_string();
        let mut a = vec!["wget", url, "-t", &t, "-T", "1", "-O", "/dev/null", "-q"];
        if retry_refused {
            a.push("--retry-connrefused");
        }
        self.ns(i).exec(&a).status.code().unwrap_or(-1)
    }

    /// Runs `argv` in `at_ns<i>` with the bed's directory as working
    /// directory; returns the output.
    pub fn exec_in(&self, i: usize, argv: &[&str]) -> Output {
        self.ns(i)
            .command(argv)
            .current_dir(&self.dir.0)
            .stdin(Stdio::null())
            .output()
            .expect("running a command in a namespace")
    }

    /// `wget ARGS` in `at_ns<i>` (in the bed's directory); wget's exit code.
    pub fn wget_raw(&self, i: usize, args: &[&str]) -> i32 {
        let mut a = vec!["wget"];
        a.extend_from_slice(args);
        self.exec_in(i, &a).status.code().unwrap_or(-1)
    }

    /// OVS's `OVS_START_L7(at_ns<i>, ftp)`: pyftpdlib on port 21 with an
    /// anonymous user rooted at a directory of the bed, foreign data
    /// addresses permitted (as OVS's test-l7.py); waits until it listens.
    pub fn ftp_server(&mut self, i: usize, v6: bool) {
        let root = self.path(&format!("ftp{i}"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("hello.txt"), "hello\n").unwrap();
        let bind = if v6 { "::" } else { "0.0.0.0" };
        let root = root.to_str().unwrap().to_string();
        self.daemon(
            i,
            &[PY, "-c", FTP_SERVER, &root, bind],
            &format!("ftp{i}.log"),
        );
        self.wait_listen(i, "tcp", 21);
    }

    /// OVS's `OVS_START_L7(at_ns<i>, tftp)`: tftpd-hpa in the foreground
    /// on port 69 serving a directory holding `flows1.txt`.
    pub fn tftp_server(&mut self, i: usize) {
        let root = self.path(&format!("tftp{i}"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("flows1.txt"), "table=0,priority=1,action=drop\n").unwrap();
        let root = root.to_str().unwrap().to_string();
        self.daemon(
            i,
            &[
                "in.tftpd",
                "--listen",
                "--foreground",
                "--user",
                "root",
                "--address",
                ":69",
                "--secure",
                &root,
            ],
            &format!("tftp{i}.log"),
        );
        self.wait_listen(i, "udp", 69);
    }

    /// `curl $CURL_OPT URL -o foo` in `at_ns<i>` with OVS's CURL_OPT
    /// (`-g -v --max-time 1 --retry 2 --retry-delay 1 --connect-timeout 1`);
    /// curl's exit code (28 is a timeout).
    pub fn curl(&self, i: usize, url: &str) -> i32 {
        let a = [
            "curl",
            "-g",
            "-s",
            "--max-time",
            "1",
            "--retry",
            "2",
            "--retry-delay",
            "1",
            "--connect-timeout",
            "1",
            url,
            "-o",
            "foo",
        ];
        self.exec_in(i, &a).status.code().unwrap_or(-1)
    }

    /// Runs a shell command line in `at_ns<i>` (`bash -c`), in the bed's
    /// directory; returns the output.
    pub fn sh(&self, i: usize, script: &str) -> Output {
        self.ns(i)
            .command(&["bash", "-c", script])
            .current_dir(&self.dir.0)
            .stdin(Stdio::null())
            .output()
            .expect("bash")
    }

    /// `ovs-ofctl -O OpenFlow13 monitor br0 65534` in the
    /// background; [`Monitor::finish`] stops it and returns what it printed.
    pub fn monitor(&self) -> Monitor {
        let log = self.path("monitor.log");
        let f = std::fs::File::create(&log).unwrap();
        let child = Command::new("ovs-ofctl")
            // OVS's tests add `invalid_ttl`, which only OpenFlow 1.0-1.2 have.
            .args(["-O", "OpenFlow13", "monitor", &self.sw.target(), "65534"])
            .stdin(Stdio::null())
            .stdout(f.try_clone().unwrap())
            .stderr(f)
            .spawn()
            .expect("ovs-ofctl monitor");
        // Connected once the switch answers the monitor's set-up requests.
        std::thread::sleep(Duration::from_millis(500));
        Monitor { child, log }
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        for c in &mut self.daemons {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A background `ovs-ofctl monitor`.
pub struct Monitor {
    child: Child,
    log: PathBuf,
}

impl Monitor {
    /// Waits `settle`, stops the monitor and returns its output.
    pub fn finish(mut self, settle: Duration) -> String {
        std::thread::sleep(settle);
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn add_addr(ns: &Netns, dev: &str, cidr: &str) {
    if cidr.contains(':') {
        ns.exec(&[
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=0",
            "net.ipv6.conf.default.disable_ipv6=0",
            &format!("net.ipv6.conf.{dev}.disable_ipv6=0"),
        ]);
        ns.exec_ok(&["ip", "addr", "add", cidr, "dev", dev, "nodad"]);
    } else {
        ns.exec_ok(&["ip", "addr", "add", cidr, "dev", dev]);
    }
}

/// OVS's `FORMAT_CT(ip)`: the lines containing `dst=IP`, with every
/// `port=N`, `id=N` and `state=NAME` replaced by `<cleared>`, sorted, unique.
pub fn format_ct(dump: &str, ip: &str) -> String {
    let pat = format!("dst={ip}");
    let lines: Vec<String> = dump
        .lines()
        .filter(|l| l.contains(&pat))
        .map(|l| {
            let l = clear_after(l, "port=", |c| c.is_ascii_digit());
            let l = clear_after(&l, "id=", |c| c.is_ascii_digit());
            clear_after(&l, "state=", |c| {
                c.is_ascii_digit() || c == '_' || c.is_ascii_uppercase()
            })
        })
        .collect();
    sort_lines(&(lines.join("\n") + "\n"), true)
}

/// `port=N` and `id=N` values replaced by `<cleared>` (the part of
/// `FORMAT_CT` some scenarios use alone).
pub fn clear_ports_ids(line: &str) -> String {
    let l = clear_after(line, "port=", |c| c.is_ascii_digit());
    clear_after(&l, "id=", |c| c.is_ascii_digit())
}

/// Replaces what follows each `key` while `keep(c)` by `<cleared>` (as
/// `sed 's/key[class]*/key<cleared>/g'`).
fn clear_after(line: &str, key: &str, keep: impl Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find(key) {
        out.push_str(&rest[..i + key.len()]);
        out.push_str("<cleared>");
        rest = &rest[i + key.len()..];
        let n = rest.find(|c: char| !keep(c)).unwrap_or(rest.len());
        rest = &rest[n..];
    }
    out.push_str(rest);
    out
}

/// Sorted lines (`sort`, or `sort | uniq` when `unique`), each ending in
/// a newline; empty input gives "".
pub fn sort_lines(text: &str, unique: bool) -> String {
    let mut v: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    v.sort_unstable();
    if unique {
        v.dedup();
    }
    v.iter().map(|l| format!("{l}\n")).collect()
}

/// Lines containing `pat` (literal), each ending in a newline.
pub fn grep(text: &str, pat: &str) -> String {
    text.lines()
        .filter(|l| l.contains(pat))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// OVS's `FORMAT_PING`: the "transmitted" line with the time set to 0 ms.
pub fn format_ping(out: &str) -> String {
    out.lines()
        .filter(|l| l.contains("transmitted"))
        .map(|l| match l.find("time") {
            Some(i) if l.ends_with("ms") => format!("{}time 0ms\n", &l[..i]),
            _ => format!("{l}\n"),
        })
        .collect()
}

/// OVS's `ofctl_strip`: drops xids, durations, zero counters, `cookie=0x0`,
/// `table=0` and ages from ovs-ofctl output.
pub fn ofctl_strip(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut l = line.to_string();
        if let Some(i) = l.find(" (xid=0x")
            && let Some(j) = l[i..].find(')')
        {
            l.replace_range(i..i + j + 1, "");
        }
        for key in [" duration=", " idle_age=", " hard_age="] {
            if let Some(i) = l.find(key)
                && let Some(j) = l[i..].find(',')
            {
                l.replace_range(i..i + j + 1, "");
            }
        }
        for lit in [" cookie=0x0,", " table=0,", " n_packets=0,", " n_bytes=0,"] {
            l = l.replacen(lit, "", 1);
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// Writes `text` to `path` (for scripts run in namespaces).
pub fn write(path: &Path, text: &str) {
    std::fs::write(path, text).expect("writing a file");
}

/// `FORMAT_PING` of three answered pings.
pub const PING3_OK: &str = "3 packets transmitted, 3 received, 0% packet loss, time 0ms\n";
/// `FORMAT_PING` of one answered ping.
pub const PING1_OK: &str = "1 packets transmitted, 1 received, 0% packet loss, time 0ms\n";
/// A TCP entry's `protoinfo` after `FORMAT_CT`.
pub const ST: &str = ",protoinfo=(state=<cleared>)";

/// The two-namespace addresses most scenarios use (10.1.1.1-2/24).
pub fn two() -> [&'static str; 2] {
    ["10.1.1.1/24", "10.1.1.2/24"]
}

/// Four namespaces, 10.1.1.1-4/24.
pub fn four() -> [&'static str; 4] {
    ["10.1.1.1/24", "10.1.1.2/24", "10.1.1.3/24", "10.1.1.4/24"]
}

/// A `FORMAT_CT` TCP line: original direction `src`→`dst`, reply
/// `rsrc`→`rdst` (ports cleared), then `tail` (zone, mark, protoinfo...).
pub fn tcp_ct(src: &str, dst: &str, rsrc: &str, rdst: &str, tail: &str) -> String {
    format!(
        "tcp,orig=(src={src},dst={dst},sport=<cleared>,dport=<cleared>),reply=(src={rsrc},dst={rdst},sport=<cleared>,dport=<cleared>){tail}\n"
    )
}

/// Checks that a `FORMAT_PING` line reports total loss (OVS expects 7
/// packets in its 2 s deadline; how many go out depends on the machine's
/// load, so only the loss is compared) and returns the packet count.
pub fn ping_fails(got: &str) -> u32 {
    let (n, rest) = got.split_once(' ').unwrap_or(("", got));
    assert_eq!(
        rest, "packets transmitted, 0 received, 100% packet loss, time 0ms\n",
        "{got}"
    );
    n.parse().expect("a packet count")
}

impl Bed {
    /// `ip [-6] neigh VERB IP lladdr MAC dev p<i>` in `at_ns<i>` (`-6` for an
    /// IPv6 address; `verb` is `add` or `replace`).
    pub fn neigh(&self, i: usize, verb: &str, ip: &str, mac: &str) {
        let dev = format!("p{i}");
        let mut a = vec!["ip"];
        if ip.contains(':') {
            a.push("-6");
        }
        a.extend_from_slice(&["neigh", verb, ip, "lladdr", mac, "dev", &dev]);
        self.ns(i).exec_ok(&a);
    }

    /// `ping -c 1 [ARGS] DST` from `at_ns<i>`, checked to be answered
    /// (`FORMAT_PING` equal to [`PING1_OK`]).
    pub fn ping_once(&self, i: usize, dst: &str, extra: &[&str]) {
        let mut a = vec!["ping", "-c", "1", dst];
        a.extend_from_slice(extra);
        let p = self.ns(i).exec(&a);
        assert_eq!(
            format_ping(&String::from_utf8_lossy(&p.stdout)),
            PING1_OK,
            "{}: ping {dst}",
            self.test
        );
    }

    /// The sorted flow dump without the lines that mention `drop`.
    pub fn dump_flows_no_drop(&self) -> String {
        self.dump_flows(None, true)
            .lines()
            .filter(|l| !l.contains("drop"))
            .map(|l| format!("{l}\n"))
            .collect()
    }
}
