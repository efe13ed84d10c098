//! `rvs demo`: a stateful firewall between two network namespaces, with
//! real traffic, in one command (needs root).
//!
//! ```text
//!   ns "inside" 10.0.0.1 ──veth── port 1 ┐
//!                                        ├─ rvs switchd (firewall flows) ── conntrack
//!   ns "outside" 10.0.0.2 ──tap─── port 2 ┘
//! ```
//!
//! It builds the topology, starts `rvs switchd` (this same binary) on it,
//! installs `examples/firewall.flows` over the OpenFlow management socket,
//! drives ping, TCP and UDP in both directions, prints what passed and what
//! was blocked next to what the firewall intends, prints the conntrack table
//! as `ovs-appctl dpctl/dump-conntrack` shows it, and removes everything it
//! made (also when a step fails). Exit status 0 means every outcome was as
//! intended.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use ofp_codec::msg::{Frame, Hello, Message, frame_len};
use ofp_codec::text::flows_file::parse_flows;

/// The firewall the demo installs.
pub const FIREWALL_FLOWS: &str = include_str!("../../examples/firewall.flows");

/// `rvs demo` arguments (the `--serve`/`--connect` forms are the demo's own
/// helpers, run inside the namespaces).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct DemoArgs {
    /// Helper: serve one TCP or UDP exchange on PORT (tcp:PORT or udp:PORT).
    #[arg(long, hide = true)]
    pub serve: Option<String>,
    /// Helper: one TCP or UDP exchange with ADDR (tcp:IP:PORT or udp:IP:PORT).
    #[arg(long, hide = true)]
    pub connect: Option<String>,
}

const TIMEOUT: Duration = Duration::from_secs(2);

fn helper_serve(spec: &str) -> Result<()> {
    let (proto, port) = spec.split_once(':').context("tcp:PORT or udp:PORT")?;
    let addr = format!("0.0.0.0:{port}");
    match proto {
        "tcp" => {
            let l = TcpListener::bind(&addr)?;
            l.set_nonblocking(false)?;
            let (mut c, _) = l.accept()?;
            c.set_read_timeout(Some(TIMEOUT))?;
            let mut buf = [0u8; 64];
            let n = c.read(&mut buf)?;
            c.write_all(&buf[..n].to_ascii_uppercase())?;
        }
        "udp" => {
            let s = UdpSocket::bind(&addr)?;
            let mut buf = [0u8; 64];
            let (n, from) = s.recv_from(&mut buf)?;
            s.send_to(&buf[..n].to_ascii_uppercase(), from)?;
        }
        _ => bail!("{proto}: tcp or udp"),
    }
    Ok(())
}

fn helper_connect(spec: &str) -> Result<()> {
    let (proto, addr) = spec.split_once(':').context("tcp:IP:PORT or udp:IP:PORT")?;
    let addr: std::net::SocketAddr = addr.parse()?;
    let mut buf = [0u8; 64];
    let n = match proto {
        "tcp" => {
            let mut s = TcpStream::connect_timeout(&addr, TIMEOUT)?;
            s.set_read_timeout(Some(TIMEOUT))?;
            s.write_all(b"hello")?;
            s.read(&mut buf)?
        }
        "udp" => {
            let s = UdpSocket::bind("0.0.0.0:0")?;
            s.set_read_timeout(Some(TIMEOUT))?;
            s.send_to(b"hello", addr)?;
            s.recv(&mut buf)?
        }
        _ => bail!("{proto}: tcp or udp"),
    };
    if &buf[..n] != b"HELLO" {
        bail!("unexpected answer");
    }
    Ok(())
}

fn sh(args: &[&str]) -> Result<()> {
    let o = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()?;
    if !o.status.success() {
        bail!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        );
    }
    Ok(())
}

/// Everything the demo creates; removed on drop.
struct Topology {
    ns_in: String,
    ns_out: String,
    veth: String,
    tap: String,
    rundir: PathBuf,
    switchd: Option<Child>,
}

impl Drop for Topology {
    fn drop(&mut self) {
        if let Some(mut c) = self.switchd.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline && matches!(c.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in [&self.ns_in, &self.ns_out] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
        for l in [&self.veth, &self.tap] {
            let _ = Command::new("ip").args(["link", "del", l]).output();
        }
        let _ = std::fs::remove_dir_all(&self.rundir);
    }
}

fn in_ns(ns: &str, args: &[&str]) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns])
        .args(args)
        .stdin(Stdio::null());
    c
}

fn setup_host(ns: &str, ifname: &str, cidr: &str) -> Result<()> {
    sh(&["ip", "link", "set", ifname, "netns", ns])?;
    for a in [
        vec!["ip", "link", "set", ifname, "name", "eth0"],
        vec!["ip", "addr", "add", cidr, "dev", "eth0"],
        vec!["ip", "link", "set", "eth0", "up"],
        vec!["ip", "link", "set", "lo", "up"],
    ] {
        let o = in_ns(ns, &a).output()?;
        if !o.status.success() {
            bail!(
                "in {ns}: {}: {}",
                a.join(" "),
                String::from_utf8_lossy(&o.stderr).trim()
            );
        }
    }
    // Let the kernel leave checksums to us (veth/tap offload would hand the
    // switch packets with partial checksums).
    let _ = in_ns(ns, &["ethtool", "-K", "eth0", "tx", "off"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    Ok(())
}

fn wait_for(path: &Path, child: &mut Child) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !path.exists() {
        if let Some(st) = child.try_wait()? {
            bail!("rvs switchd exited at startup ({st})");
        }
        if Instant::now() > deadline {
            bail!("rvs switchd did not start within 15 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Sends the firewall flow-mods over the management socket and checks the
/// switch accepted all of them (a barrier closes the batch).
fn install_flows(mgmt: &Path) -> Result<usize> {
    let flows =
        parse_flows(FIREWALL_FLOWS, None).map_err(|e| anyhow::anyhow!("firewall flows: {e:?}"))?;
    let mut s = UnixStream::connect(mgmt)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(&Message::Hello(Hello::with_versions(1 << 4)).encode(1))?;
    let mut n = 0;
    for (i, f) in flows.flows.iter().enumerate() {
        s.write_all(&Message::FlowMod(f.spec.to_flow_mod()).encode(10 + i as u32))?;
        n += 1;
    }
    s.write_all(&Message::BarrierRequest.encode(9))?;
    let mut buf = Vec::new();
    loop {
        while let Ok(Frame::Complete(len)) = frame_len(&buf) {
            let msg: Vec<u8> = buf.drain(..len).collect();
            match Message::decode(&msg) {
                Ok((_, Message::Error(e))) => {
                    bail!("switch refused a firewall flow: {:?}", e.error)
                }
                Ok((h, Message::BarrierReply)) if h.xid == 9 => return Ok(n),
                _ => {}
            }
        }
        let mut tmp = [0u8; 4096];
        let k = s.read(&mut tmp)?;
        if k == 0 {
            bail!("switch closed the management connection");
        }
        buf.extend_from_slice(&tmp[..k]);
    }
}

fn exchange(
    exe: &Path,
    server_ns: &str,
    client_ns: &str,
    proto: &str,
    ip: &str,
    port: u16,
) -> Result<bool> {
    let exe = exe.to_str().context("binary path")?;
    let mut srv = in_ns(
        server_ns,
        &[exe, "demo", "--serve", &format!("{proto}:{port}")],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()?;
    std::thread::sleep(Duration::from_millis(200));
    let ok = in_ns(
        client_ns,
        &[exe, "demo", "--connect", &format!("{proto}:{ip}:{port}")],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .status()?
    .success();
    let _ = srv.kill();
    let _ = srv.wait();
    Ok(ok)
}

fn ping(ns: &str, ip: &str) -> Result<bool> {
    Ok(in_ns(ns, &["ping", "-c", "2", "-i", "0.2", "-W", "1", ip])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?
        .success())
}

/// (protocol, direction, intended to pass, the check).
type Case<'a> = (&'a str, &'a str, bool, Box<dyn Fn() -> Result<bool> + 'a>);

fn run_demo() -> Result<bool> {
    let uid = Command::new("id").arg("-u").output()?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        bail!("rvs demo needs root (network namespaces, taps)");
    }
    let exe = std::env::current_exe()?;
    let tag = std::process::id() % 100_000;
    let rundir = std::env::temp_dir().join(format!("rvs-demo-{tag}"));
    let mut topo = Topology {
        ns_in: format!("rvs-demo-in-{tag}"),
        ns_out: format!("rvs-demo-out-{tag}"),
        veth: format!("rvd{tag}v"),
        tap: format!("rvd{tag}t"),
        rundir: rundir.clone(),
        switchd: None,
    };
    let peer = format!("rvd{tag}p");
    println!(
        "rvs demo: stateful firewall, inside 10.0.0.1 (veth, port 1) <-> outside 10.0.0.2 (tap, port 2)"
    );
    for ns in [&topo.ns_in, &topo.ns_out] {
        sh(&["ip", "netns", "add", ns])?;
    }
    sh(&[
        "ip", "link", "add", &topo.veth, "type", "veth", "peer", "name", &peer,
    ])?;
    sh(&["ip", "link", "set", &topo.veth, "up"])?;
    let _ = Command::new("ethtool")
        .args(["-K", &topo.veth, "tx", "off"])
        .output();
    let log = std::fs::File::create(std::env::temp_dir().join(format!("rvs-demo-{tag}.log")))?;
    let mut child = Command::new(&exe)
        .arg("switchd")
        .arg("--rundir")
        .arg(&rundir)
        .args(["--bridge", "br0", "--fail-mode", "secure"])
        .args([
            "--port",
            &format!("{}:1", topo.veth),
            "--tap",
            &format!("{}:2", topo.tap),
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting rvs switchd")?;
    let mgmt = rundir.join("br0.mgmt");
    let started = wait_for(&mgmt, &mut child);
    topo.switchd = Some(child);
    started?;
    setup_host(&topo.ns_in, &peer, "10.0.0.1/24")?;
    setup_host(&topo.ns_out, &topo.tap, "10.0.0.2/24")?;
    let n = install_flows(&mgmt)?;
    println!("installed {n} firewall flows over {}", mgmt.display());
    println!();
    println!("proto  direction            result    intended");
    let (i, o) = (topo.ns_in.clone(), topo.ns_out.clone());
    let cases: Vec<Case> = vec![
        (
            "icmp",
            "inside -> outside",
            true,
            Box::new(|| ping(&i, "10.0.0.2")),
        ),
        (
            "icmp",
            "outside -> inside",
            false,
            Box::new(|| ping(&o, "10.0.0.1")),
        ),
        (
            "tcp",
            "inside -> outside",
            true,
            Box::new(|| exchange(&exe, &o, &i, "tcp", "10.0.0.2", 8080)),
        ),
        (
            "tcp",
            "outside -> inside",
            false,
            Box::new(|| exchange(&exe, &i, &o, "tcp", "10.0.0.1", 8081)),
        ),
        (
            "udp",
            "inside -> outside",
            true,
            Box::new(|| exchange(&exe, &o, &i, "udp", "10.0.0.2", 5353)),
        ),
        (
            "udp",
            "outside -> inside",
            false,
            Box::new(|| exchange(&exe, &i, &o, "udp", "10.0.0.1", 5354)),
        ),
    ];
    let mut all_ok = true;
    for (proto, dir, intended, f) in cases {
        let passed = f()?;
        let word = |b: bool| if b { "allowed" } else { "blocked" };
        let mark = if passed == intended {
            "ok"
        } else {
            "UNEXPECTED"
        };
        all_ok &= passed == intended;
        println!(
            "{proto:<6} {dir:<20} {:<9} {:<9} {mark}",
            word(passed),
            word(intended)
        );
    }
    println!();
    println!(
        "conntrack table (ovs-appctl -t {}/rvs.ctl dpctl/dump-conntrack):",
        rundir.display()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match rt.block_on(crate::unixctl::call(
        &rundir.join("rvs.ctl"),
        "dpctl/dump-conntrack",
        &[],
    ))? {
        Ok(text) => print!("{text}"),
        Err(e) => println!("  (error: {e})"),
    }
    println!();
    println!(
        "{}",
        if all_ok {
            "demo result: every outcome as intended"
        } else {
            "demo result: UNEXPECTED outcomes"
        }
    );
    drop(topo);
    println!("cleaned up namespaces, links and the switch");
    Ok(all_ok)
}

/// Runs `rvs demo` (or one of its helpers).
pub fn run(args: &DemoArgs) -> ExitCode {
    let r = if let Some(s) = &args.serve {
        helper_serve(s).map(|_| true)
    } else if let Some(c) = &args.connect {
        helper_connect(c).map(|_| true)
    } else {
        run_demo()
    };
    match r {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            if args.serve.is_none() && args.connect.is_none() {
                eprintln!("rvs demo: {e:#}");
            }
            ExitCode::from(2)
        }
    }
}
