//! The stateful firewall through `rvs switchd` with real kernel traffic:
//! ns1 (port 1, a veth) may open ICMP/TCP/UDP connections to ns2 (port 2, a
//! tap created by rvs and moved into ns2); ns2 may only answer. The
//! conntrack table is read with Debian's `ovs-appctl` in OVS's format.
//! Needs root, namespaces, python3 and ovs-ofctl/ovs-appctl; under `CI=true`
//! a missing one fails the test.

#[path = "../src/netns.rs"]
#[allow(dead_code)]
mod netns;
#[path = "../src/rvs.rs"]
#[allow(dead_code)]
mod rvs;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use netns::{LinkGuard, Netns, Veth, namespaces_available, unique_name};
use rvs::{Switchd, TempDir, ok_stdout, ovs_ofctl, root_available, tool_available};

/// The firewall of `../shared/ovs-reference/firewall.flows` when that file
/// is present beside the repository, else the repository's example.
fn firewall_flows() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let shared = root.join("../shared/ovs-reference/firewall.flows");
    if shared.exists() {
        shared
    } else {
        root.join("examples/firewall.flows")
    }
}

const TCP_SERVER: &str = "import socket,sys\n\
s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\n\
s.bind(('0.0.0.0',int(sys.argv[1])));s.listen(1);s.settimeout(8)\n\
c,_=s.accept();c.sendall(c.recv(100).upper());c.close()\n";
const TCP_CLIENT: &str = "import socket,sys\n\
s=socket.create_connection((sys.argv[1],int(sys.argv[2])),timeout=2)\n\
s.sendall(b'hello');print(s.recv(100).decode())\n";
const UDP_SERVER: &str = "import socket,sys\n\
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.bind(('0.0.0.0',int(sys.argv[1])));s.settimeout(8)\n\
d,a=s.recvfrom(100);s.sendto(d.upper(),a)\n";
const UDP_CLIENT: &str = "import socket,sys\n\
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(2)\n\
s.sendto(b'hello',(sys.argv[1],int(sys.argv[2])));print(s.recv(100).decode())\n";

/// Runs a client in `ns` while a server runs in `server_ns`; true if the
/// client got the server's answer ("HELLO").
fn exchange(
    server_ns: &Netns,
    ns: &Netns,
    server: &str,
    client: &str,
    ip: &str,
    port: u16,
) -> bool {
    let p = port.to_string();
    let mut srv = server_ns
        .command(&["python3", "-c", server, &p])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("server");
    std::thread::sleep(Duration::from_millis(300));
    let out = ns.exec(&["python3", "-c", client, ip, &p]);
    let _ = srv.kill();
    let _ = srv.wait();
    out.status.success() && String::from_utf8_lossy(&out.stdout).trim() == "HELLO"
}

fn ping(ns: &Netns, ip: &str) -> bool {
    ns.exec(&["ping", "-c", "2", "-i", "0.2", "-W", "1", ip])
        .status
        .success()
}

#[test]
fn firewall_allows_inside_out_and_blocks_new_connections_from_outside() {
    let t = "firewall_allows_inside_out";
    if !root_available(t)
        || !namespaces_available(t)
        || !tool_available(t, "ovs-ofctl")
        || !tool_available(t, "ovs-appctl")
        || !tool_available(t, "python3")
    {
        return;
    }
    let ns1 = Netns::new();
    let ns2 = Netns::new();
    let v1 = Veth::new();
    let tap = unique_name("rvt");
    let _tap_guard = LinkGuard(tap.clone());
    let dir = TempDir::new("fw");
    let rundir = dir.0.join("run");
    let mut sw = Switchd::start_in(
        &rundir,
        "br0",
        &[
            "--fail-mode",
            "secure",
            "--port",
            &format!("{}:1", v1.a),
            "--tap",
            &format!("{tap}:2"),
        ],
        None,
    );
    ns1.adopt(&v1.b, "eth0", "10.0.0.1/24");
    ns2.adopt(&tap, "eth0", "10.0.0.2/24");
    let target = sw.target();
    let flows = firewall_flows();
    ok_stdout(
        &ovs_ofctl(&["replace-flows", &target, flows.to_str().unwrap()]),
        "replace-flows",
    );

    let results = [
        ("ping ns1->ns2", ping(&ns1, "10.0.0.2"), true),
        ("ping ns2->ns1", ping(&ns2, "10.0.0.1"), false),
        (
            "tcp ns1->ns2",
            exchange(&ns2, &ns1, TCP_SERVER, TCP_CLIENT, "10.0.0.2", 5001),
            true,
        ),
        (
            "tcp ns2->ns1",
            exchange(&ns1, &ns2, TCP_SERVER, TCP_CLIENT, "10.0.0.1", 5002),
            false,
        ),
        (
            "udp ns1->ns2",
            exchange(&ns2, &ns1, UDP_SERVER, UDP_CLIENT, "10.0.0.2", 5003),
            true,
        ),
        (
            "udp ns2->ns1",
            exchange(&ns1, &ns2, UDP_SERVER, UDP_CLIENT, "10.0.0.1", 5004),
            false,
        ),
    ];
    let wrong: Vec<_> = results
        .iter()
        .filter(|(_, got, want)| got != want)
        .collect();
    assert!(
        wrong.is_empty(),
        "unexpected outcomes (name, passed, expected): {wrong:?}"
    );

    let ct = Command::new("ovs-appctl")
        .arg("-t")
        .arg(sw.ctl())
        .arg("dpctl/dump-conntrack")
        .output()
        .unwrap();
    let ct = ok_stdout(&ct, "dpctl/dump-conntrack");
    for proto in [
        "icmp,orig=(src=10.0.0.1,dst=10.0.0.2",
        "tcp,orig=(src=10.0.0.1,dst=10.0.0.2",
        "udp,orig=(src=10.0.0.1,dst=10.0.0.2",
    ] {
        assert!(ct.contains(proto), "{proto} missing from conntrack:\n{ct}");
    }
    assert!(
        !ct.contains("orig=(src=10.0.0.2,dst=10.0.0.1"),
        "outside connections were committed:\n{ct}"
    );
    // Flush the UDP connection by its tuple (ovs-appctl's ct-tuple syntax).
    let udp = ct.lines().find(|l| l.starts_with("udp,")).unwrap();
    let sport = udp
        .split("sport=")
        .nth(1)
        .unwrap()
        .split([',', ')'])
        .next()
        .unwrap();
    let tuple = format!(
        "ct_nw_src=10.0.0.1,ct_nw_dst=10.0.0.2,ct_nw_proto=17,ct_tp_src={sport},ct_tp_dst=5003"
    );
    let o = Command::new("ovs-appctl")
        .arg("-t")
        .arg(sw.ctl())
        .args(["dpctl/flush-conntrack", &tuple])
        .output()
        .unwrap();
    ok_stdout(&o, "flush-conntrack tuple");
    let after = Command::new("ovs-appctl")
        .arg("-t")
        .arg(sw.ctl())
        .arg("dpctl/dump-conntrack")
        .output()
        .unwrap();
    let after = ok_stdout(&after, "dpctl/dump-conntrack");
    assert!(
        !after.contains("udp,") && after.contains("tcp,") && after.contains("icmp,"),
        "{after}"
    );
    // The flows saw the traffic.
    let dump = ok_stdout(
        &ovs_ofctl(&["dump-flows", &target, "table=1"]),
        "dump-flows",
    );
    assert!(
        dump.contains("ct_state=+new+trk,ip,in_port=1 actions=ct(commit),output:2"),
        "{dump}"
    );
    assert!(
        !dump.contains("n_packets=0, n_bytes=0, priority=10,ct_state=+new+trk"),
        "{dump}"
    );
    // SIGTERM: clean exit, and the tap rvs created is gone.
    let st = sw.stop().expect("switchd exits on SIGTERM");
    assert!(st.success(), "{st}");
    assert!(!rundir.join("br0.mgmt").exists());
    let still = ns2.exec(&["ip", "link", "show", "eth0"]);
    assert!(
        !still.status.success(),
        "tap made by rvs still exists after shutdown"
    );
}

#[test]
fn link_down_and_up_send_port_status_to_a_listening_connection() {
    use ofp_codec::msg::{Frame, Hello, Message, PortReason, SwitchConfig, frame_len};
    use std::io::{Read, Write};
    let t = "link_down_and_up_send_port_status";
    if !root_available(t) || !namespaces_available(t) {
        return;
    }
    let v = Veth::new();
    // Both ends up: the port starts with carrier (LIVE).
    netns::must("ip", &["link", "set", &v.b, "up"]);
    let sw = Switchd::start(&["--fail-mode", "secure", "--port", &format!("{}:5", v.a)]);
    let mut s = std::os::unix::net::UnixStream::connect(sw.mgmt()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(&Message::Hello(Hello::with_versions(1 << 4)).encode(1))
        .unwrap();
    // Service connections get asynchronous messages once miss_send_len > 0.
    let cfg = SwitchConfig {
        flags: 0,
        miss_send_len: 128,
    };
    s.write_all(&Message::SetConfig(cfg).encode(2)).unwrap();
    let mut buf = Vec::new();
    let mut next_status = |s: &mut std::os::unix::net::UnixStream| loop {
        if let Ok(Frame::Complete(n)) = frame_len(&buf) {
            let m: Vec<u8> = buf.drain(..n).collect();
            if let Ok((_, Message::PortStatus(ps))) = Message::decode(&m) {
                return ps;
            }
            continue;
        }
        let mut tmp = [0u8; 4096];
        let n = s.read(&mut tmp).expect("PORT_STATUS within 10 s");
        assert!(n > 0, "switch closed the connection");
        buf.extend_from_slice(&tmp[..n]);
    };
    std::thread::sleep(Duration::from_millis(300));
    netns::must("ip", &["link", "set", &v.a, "down"]);
    let ps = next_status(&mut s);
    assert_eq!((ps.reason, ps.desc.port_no), (PortReason::MODIFY, 5));
    assert_eq!(ps.desc.state & 1, 1, "OFPPS_LINK_DOWN set");
    netns::must("ip", &["link", "set", &v.a, "up"]);
    let mut ps = next_status(&mut s);
    while ps.desc.state & 1 == 1 {
        ps = next_status(&mut s);
    }
    assert_eq!(ps.desc.state & 4, 4, "OFPPS_LIVE after the link came back");
}

#[test]
fn rvs_ctl_adds_and_deletes_ports_at_run_time() {
    let t = "rvs_ctl_adds_and_deletes_ports";
    if !root_available(t) || !namespaces_available(t) || !tool_available(t, "ovs-ofctl") {
        return;
    }
    let v = Veth::new();
    let sw = Switchd::start(&["--fail-mode", "secure"]);
    let ctl = |args: &[&str]| {
        Command::new(rvs::rvs_bin())
            .args(["ctl", "--rundir"])
            .arg(&sw.rundir)
            .args(args)
            .output()
            .unwrap()
    };
    ok_stdout(&ctl(&["add-port", "br0", &v.a, "7"]), "rvs ctl add-port");
    let show = ok_stdout(&ovs_ofctl(&["show", &sw.target()]), "show");
    assert!(show.contains(&format!(" 7({}): addr:", v.a)), "{show}");
    // The same name twice, or another bridge, is refused.
    assert_eq!(ctl(&["add-port", "br0", &v.a]).status.code(), Some(2));
    assert_eq!(ctl(&["add-port", "br9", &v.b]).status.code(), Some(2));
    // mod-port by name, as ovs-ofctl takes it; PORT_DESC reports the config.
    let o = Command::new(rvs::rvs_bin())
        .args(["ofctl", "mod-port", &sw.target(), &v.a, "down"])
        .output()
        .unwrap();
    ok_stdout(&o, "rvs ofctl mod-port");
    let desc = ok_stdout(
        &ovs_ofctl(&["dump-ports-desc", &sw.target()]),
        "dump-ports-desc",
    );
    assert!(desc.contains("config:     PORT_DOWN"), "{desc}");
    ok_stdout(
        &ovs_ofctl(&["mod-port", &sw.target(), "7", "up"]),
        "ovs-ofctl mod-port",
    );
    let desc = ok_stdout(
        &ovs_ofctl(&["dump-ports-desc", &sw.target()]),
        "dump-ports-desc",
    );
    assert!(desc.contains("config:     0"), "{desc}");
    ok_stdout(&ctl(&["del-port", "br0", &v.a]), "rvs ctl del-port");
    let show = ok_stdout(&ovs_ofctl(&["show", &sw.target()]), "show");
    assert!(!show.contains(&v.a), "{show}");
    // DESIGN.md's short names.
    assert_eq!(ok_stdout(&ctl(&["dump-conntrack"]), "dump-conntrack"), "");
    ok_stdout(&ctl(&["dpif/dump-flows"]), "dpif/dump-flows");
}
