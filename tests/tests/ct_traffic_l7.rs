//! rvs's versions of the scenarios of Open vSwitch's
//! `tests/system-traffic.at`, banner `conntrack - L7` (HTTP, limits, FTP,
//! TFTP); see `ct_traffic_basic.rs` for the list of all scenarios and the
//! ones not applicable to rvs, and `tests/src/ct_traffic.rs` for the
//! harness. Servers: Python's `http.server` and Debian's pyftpdlib (as
//! OVS's `test-l7.py`), tftpd-hpa (OVS's test-l7.py uses tftpy, which
//! Debian does not ship); clients: wget and curl with OVS's options.

#[path = "../src/ct_traffic.rs"]
#[allow(dead_code)]
mod ct_traffic;
#[path = "../src/netns.rs"]
#[allow(dead_code)]
mod netns;
#[path = "../src/rvs.rs"]
#[allow(dead_code)]
mod rvs;

use ct_traffic::{Bed, sort_lines, tcp_ct, two};

fn tcp_line(src: &str, dst: &str, tail: &str) -> String {
    tcp_ct(src, dst, dst, src, tail)
}

#[test]
fn ct_ipv4_http() {
    let Some(mut b) = Bed::new("conntrack - IPv4 HTTP", &two(), &["wget"]) else {
        return;
    };
    b.flows(
        "priority=1,action=drop
         priority=10,arp,action=normal
         priority=10,icmp,action=normal
         priority=100,in_port=1,tcp,action=ct(commit),2
         priority=100,in_port=2,ct_state=-trk,tcp,action=ct(table=0)
         priority=100,in_port=2,ct_state=+trk+est,tcp,action=1",
    );
    b.http_server(0, false);
    b.http_server(1, false);
    assert_eq!(b.wget(0, "10.1.1.2", 3, true), 0);
    assert_eq!(
        b.ct("10.1.1.2"),
        tcp_line("10.1.1.1", "10.1.1.2", ",protoinfo=(state=<cleared>)")
    );
    assert_eq!(b.wget(1, "10.1.1.1", 3, true), 4);
}

#[test]
fn ct_ipv6_http() {
    let Some(mut b) = Bed::new(
        "conntrack - IPv6 HTTP",
        &["fc00::1/96", "fc00::2/96"],
        &["wget"],
    ) else {
        return;
    };
    b.flows(
        "priority=1,action=drop
         priority=10,icmp6,action=normal
         priority=100,in_port=1,tcp6,action=ct(commit),2
         priority=100,in_port=2,ct_state=-trk,tcp6,action=ct(table=0)
         priority=100,in_port=2,ct_state=+trk+est,tcp6,action=1",
    );
    b.wait_ping(0, "fc00::2");
    b.http_server(0, true);
    b.http_server(1, true);
    assert_eq!(b.wget(0, "http://[fc00::2]", 3, true), 0);
    assert_eq!(
        b.ct("fc00::2"),
        tcp_line("fc00::1", "fc00::2", ",protoinfo=(state=<cleared>)")
    );
    assert_eq!(b.wget(1, "http://[fc00::1]", 3, true), 4);
}

#[test]
fn ct_commit_recirc() {
    let Some(mut b) = Bed::new(
        "conntrack - commit, recirc",
        &["10.1.1.1/24", "10.1.1.2/24", "10.1.1.3/24", "10.1.1.4/24"],
        &["wget"],
    ) else {
        return;
    };
    b.flows(
        "priority=1,action=drop
         priority=10,arp,action=normal
         priority=10,icmp,action=normal
         priority=100,in_port=1,tcp,ct_state=-trk,action=ct(commit,table=0)
         priority=100,in_port=1,tcp,ct_state=+trk,action=2
         priority=100,in_port=2,tcp,ct_state=-trk,action=ct(table=0)
         priority=100,in_port=2,tcp,ct_state=+trk,action=1
         priority=100,in_port=3,tcp,ct_state=-trk,action=set_field:0->metadata,ct(table=0)
         priority=100,in_port=3,tcp,ct_state=+trk,metadata=0,action=set_field:1->metadata,ct(commit,table=0)
         priority=100,in_port=3,tcp,ct_state=+trk,metadata=1,action=4
         priority=100,in_port=4,tcp,ct_state=-trk,action=ct(commit,table=0)
         priority=100,in_port=4,tcp,ct_state=+trk,action=3",
    );
    b.http_server(1, false);
    b.http_server(3, false);
    assert_eq!(b.wget(0, "10.1.1.2", 3, true), 0);
    assert_eq!(b.wget(2, "10.1.1.4", 3, true), 0);
}

/// UDP 10.1.1.1:1 -> 10.1.1.2:DPORT as OVS's limit test sends it.
fn udp_from_1(dport: u8) -> String {
    format!(
        "in_port=1 packet=50540000000a50540000000908004500001c000000000011a4cd0a0101010a01010200010{dport:03x}00080000 actions=resubmit(,0)"
    )
}

/// UDP 10.1.1.3:1 -> 10.1.1.4:DPORT, in from port 2.
fn udp_from_3(dport: u8) -> String {
    format!(
        "in_port=2 packet=50540000000a50540000000908004500001c000000000011a4c90a0101030a01010400010{dport:03x}00080000 actions=resubmit(,0)"
    )
}

#[test]
fn ct_limit_by_zone() {
    let Some(b) = Bed::new("conntrack - limit by zone", &two(), &[]) else {
        return;
    };
    b.flows(
        "priority=1,action=drop
         priority=10,arp,action=normal
         priority=100,in_port=1,udp,action=ct(commit),2
         priority=100,in_port=2,udp,action=ct(zone=3,commit),1",
    );
    b.appctl_ok(&[
        "dpctl/ct-set-limits",
        "default=10",
        "zone=0,limit=5",
        "zone=1,limit=15",
        "zone=2,limit=3",
        "zone=3,limit=3",
    ]);
    b.appctl_ok(&["dpctl/ct-del-limits", "zone=1,2,4"]);
    assert_eq!(
        b.appctl_ok(&["dpctl/ct-get-limits", "zone=0,1,2,3"]),
        "default limit=10
zone=0,limit=5,count=0
zone=1,limit=10,count=0
zone=2,limit=10,count=0
zone=3,limit=3,count=0
"
    );
    for dport in 2..=10 {
        b.packet_out(&udp_from_1(dport));
    }
    assert_eq!(
        b.appctl_ok(&["dpctl/ct-get-limits", "zone=0,1,2,3,4,5"]),
        "default limit=10
zone=0,limit=5,count=5
zone=1,limit=10,count=0
zone=2,limit=10,count=0
zone=3,limit=3,count=0
zone=4,limit=10,count=0
zone=5,limit=10,count=0
"
    );
    assert_eq!(
        b.appctl_ok(&["dpctl/ct-get-limits"]),
        "default limit=10
zone=0,limit=5,count=5
zone=3,limit=3,count=0
"
    );
    assert_eq!(
        sort_lines(&b.ct_grep("orig=(src=10.1.1.1,"), false),
        "udp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=1,dport=2),reply=(src=10.1.1.2,dst=10.1.1.1,sport=2,dport=1)
udp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=1,dport=3),reply=(src=10.1.1.2,dst=10.1.1.1,sport=3,dport=1)
udp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=1,dport=4),reply=(src=10.1.1.2,dst=10.1.1.1,sport=4,dport=1)
udp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=1,dport=5),reply=(src=10.1.1.2,dst=10.1.1.1,sport=5,dport=1)
udp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=1,dport=6),reply=(src=10.1.1.2,dst=10.1.1.1,sport=6,dport=1)
"
    );
    for dport in 2..=6 {
        b.packet_out(&udp_from_3(dport));
    }
    assert_eq!(
        b.appctl_ok(&["dpctl/ct-get-limits", "zone=0,3"]),
        "default limit=10\nzone=0,limit=5,count=5\nzone=3,limit=3,count=3\n"
    );
    assert_eq!(
        sort_lines(&b.ct_grep("orig=(src=10.1.1.3,"), false),
        "udp,orig=(src=10.1.1.3,dst=10.1.1.4,sport=1,dport=2),reply=(src=10.1.1.4,dst=10.1.1.3,sport=2,dport=1),zone=3
udp,orig=(src=10.1.1.3,dst=10.1.1.4,sport=1,dport=3),reply=(src=10.1.1.4,dst=10.1.1.3,sport=3,dport=1),zone=3
udp,orig=(src=10.1.1.3,dst=10.1.1.4,sport=1,dport=4),reply=(src=10.1.1.4,dst=10.1.1.3,sport=4,dport=1),zone=3
"
    );
}

/// wget's arguments for an FTP fetch as OVS's tests do it (`-t 3 -T 1`),
/// active (`--no-passive-ftp`) or passive, with `--retry-connrefused` or not.
fn ftp_get(b: &Bed, i: usize, url: &str, active: bool, retry: bool) -> i32 {
    let mut a = vec![url, "-t", "3", "-T", "1", "-O", "/dev/null", "-q"];
    if url.contains('[') {
        a.push("-6");
    }
    if active {
        a.push("--no-passive-ftp");
    }
    if retry {
        a.push("--retry-connrefused");
    }
    b.wget_raw(i, &a)
}

#[test]
fn ftp_no_conntrack() {
    let Some(mut b) = Bed::new("FTP - no conntrack", &two(), &["wget"]) else {
        return;
    };
    b.flows_cmd("replace-flows", "table=0,action=normal");
    b.ftp_server(0, false);
    b.ftp_server(1, false);
    let code = b.wget_raw(
        0,
        &[
            "ftp://10.1.1.2",
            "--no-passive-ftp",
            "-t",
            "3",
            "-T",
            "1",
            "--retry-connrefused",
            "-q",
        ],
    );
    assert_eq!(code, 0);
    assert!(b.path("index.html").exists(), "no index.html fetched");
}

const FTP_CT_12: &str = "tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.2,dst=10.1.1.1,sport=<cleared>,dport=<cleared>),protoinfo=(state=<cleared>),helper=ftp\n";

#[test]
fn ct_ftp() {
    let Some(mut b) = Bed::new("conntrack - FTP", &two(), &["wget"]) else {
        return;
    };
    let flows1 = "table=0,priority=1,action=drop
        table=0,priority=10,arp,action=normal
        table=0,priority=10,icmp,action=normal
        table=0,priority=100,in_port=1,tcp,action=ct(alg=ftp,commit),2
        table=0,priority=100,in_port=2,tcp,action=ct(table=1)
        table=1,in_port=2,tcp,ct_state=+trk+est,action=1
        table=1,in_port=2,tcp,ct_state=+trk+rel,action=1";
    let flows2 = "table=0,priority=1,action=drop
        table=0,priority=10,arp,action=normal
        table=0,priority=10,icmp,action=normal
        table=0,priority=100,in_port=1,tcp,action=ct(table=1)
        table=1,in_port=1,tcp,ct_state=+trk+new,action=ct(commit,alg=ftp),2
        table=1,in_port=1,tcp,ct_state=+trk+est,action=2
        table=0,priority=100,in_port=2,tcp,action=ct(table=1)
        table=1,in_port=2,tcp,ct_state=+trk+new+rel,action=ct(commit),1
        table=1,in_port=2,tcp,ct_state=+trk+est,action=1
        table=1,in_port=2,tcp,ct_state=+trk-new+rel,action=1";
    let flows3 = "table=0,priority=1,action=drop
        table=0,priority=10,arp,action=normal
        table=0,priority=10,icmp,action=normal
        table=0,priority=100,in_port=1,tcp,action=ct(commit),2
        table=0,priority=100,in_port=2,tcp,action=ct(table=1)
        table=1,in_port=2,tcp,ct_state=+trk+est,action=1
        table=1,in_port=2,tcp,ct_state=+trk+rel,action=1";
    b.flows_cmd("replace-flows", flows1);
    b.ftp_server(0, false);
    b.ftp_server(1, false);
    assert_eq!(ftp_get(&b, 1, "ftp://10.1.1.1", true, false), 4);
    assert_eq!(b.ct("10.1.1.1"), "");
    assert_eq!(ftp_get(&b, 0, "ftp://10.1.1.2", true, true), 0);
    assert_eq!(b.ct("10.1.1.2"), FTP_CT_12);

    b.flows_cmd("replace-flows", flows2);
    b.flush(&[]);
    assert_eq!(ftp_get(&b, 1, "ftp://10.1.1.1", true, false), 4);
    assert_eq!(b.ct("10.1.1.1"), "");
    assert_eq!(ftp_get(&b, 0, "ftp://10.1.1.2", true, true), 0);
    assert_eq!(
        b.ct("10.1.1.2"),
        format!(
            "{FTP_CT_12}{}",
            tcp_line("10.1.1.2", "10.1.1.1", ",protoinfo=(state=<cleared>)")
        )
    );
    b.flush(&[]);
    assert_eq!(ftp_get(&b, 0, "ftp://10.1.1.2", false, true), 0);
    assert_eq!(b.ct("10.1.1.2"), FTP_CT_12);

    b.flows_cmd("replace-flows", flows3);
    b.flush(&[]);
    assert_eq!(ftp_get(&b, 0, "ftp://10.1.1.2", true, true), 4);
    assert_eq!(
        b.ct("10.1.1.2"),
        tcp_line("10.1.1.1", "10.1.1.2", ",protoinfo=(state=<cleared>)")
    );
}

const FTP6_FLOWS: &str = "table=0 priority=100 in_port=1 icmp6, action=2
    table=0 priority=100 in_port=2 icmp6, action=1
    table=0 priority=10 ip6, action=ct(table=1)
    table=0 priority=0 action=drop
    table=1 in_port=1 ct_state=+new, tcp6, tp_dst=21, action=ct(alg=ftp,commit),2
    RELATED
    table=1 in_port=1 ct_state=+est, tcp6, action=2
    table=1 in_port=2 ct_state=+est, tcp6, action=1
    table=1 priority=0, action=drop";

#[test]
fn ct_ftp_over_ipv6() {
    let Some(mut b) = Bed::new(
        "conntrack - FTP over IPv6",
        &["fc00::1/96", "fc00::2/96"],
        &["wget"],
    ) else {
        return;
    };
    b.flows(&FTP6_FLOWS.replace(
        "RELATED",
        "table=1 in_port=2 ct_state=+new+rel, tcp6, action=ct(commit),1",
    ));
    b.wait_ping(0, "fc00::2");
    b.ftp_server(1, true);
    assert_eq!(ftp_get(&b, 0, "ftp://[fc00::2]", true, true), 0);
    assert_eq!(
        b.ct("fc00::2"),
        format!(
            "{}{}",
            tcp_line(
                "fc00::1",
                "fc00::2",
                ",protoinfo=(state=<cleared>),helper=ftp"
            ),
            tcp_line("fc00::2", "fc00::1", ",protoinfo=(state=<cleared>)")
        )
    );
}

#[test]
fn ct_ipv6_ftp_passive() {
    let Some(mut b) = Bed::with_macs(
        "conntrack - IPv6 FTP Passive",
        &[
            ("fc00::1/96", Some("80:88:88:88:88:88")),
            ("fc00::2/96", Some("80:88:88:88:88:99")),
        ],
        &["wget"],
    ) else {
        return;
    };
    b.neigh(0, "add", "fc00::2", "80:88:88:88:88:99");
    b.neigh(1, "add", "fc00::1", "80:88:88:88:88:88");
    b.flows(&FTP6_FLOWS.replace(
        "RELATED",
        "table=1 in_port=1 ct_state=+new+rel, tcp6, action=ct(commit),2",
    ));
    b.wait_ping(0, "fc00::2");
    b.ftp_server(1, true);
    assert_eq!(ftp_get(&b, 0, "ftp://[fc00::2]", false, true), 0);
    assert_eq!(
        b.ct("fc00::2"),
        format!(
            "{}{}",
            tcp_line("fc00::1", "fc00::2", ",protoinfo=(state=<cleared>)"),
            tcp_line(
                "fc00::1",
                "fc00::2",
                ",protoinfo=(state=<cleared>),helper=ftp"
            )
        )
    );
}

#[test]
fn ct_ftp_with_multiple_expectations() {
    let Some(mut b) = Bed::new(
        "conntrack - FTP with multiple expectations",
        &two(),
        &["wget"],
    ) else {
        return;
    };
    b.flows(
        "table=0,priority=1,action=drop
         table=0,priority=10,arp,action=normal
         table=0,priority=10,icmp,action=normal
         table=0,priority=100,in_port=1,tcp,action=ct(table=1,zone=1)
         table=1,in_port=1,tcp,ct_zone=1,ct_state=+trk+new-rel,action=ct(commit,alg=ftp,zone=1),ct(commit,alg=ftp,zone=2),2
         table=1,in_port=1,tcp,ct_zone=1,ct_state=+trk+new+rel,action=ct(commit,zone=1),ct(commit,zone=2),2
         table=1,in_port=1,tcp,ct_zone=1,ct_state=+trk+est,action=ct(table=2,zone=2)
         table=2,in_port=1,tcp,ct_zone=2,ct_state=+trk+est,action=2
         table=0,priority=100,in_port=2,tcp,action=ct(table=1,zone=2)
         table=1,in_port=2,tcp,ct_zone=2,ct_state=+trk+rel,action=ct(commit,zone=2),ct(commit,zone=1),1
         table=1,in_port=2,tcp,ct_zone=2,ct_state=+trk+est,action=ct(table=2,zone=1)
         table=2,in_port=2,tcp,ct_zone=1,ct_state=+trk+rel,action=ct(commit,zone=2),ct(commit,zone=1),1
         table=2,in_port=2,tcp,ct_zone=1,ct_state=+trk+est,action=1",
    );
    b.ftp_server(0, false);
    b.ftp_server(1, false);
    assert_eq!(ftp_get(&b, 1, "ftp://10.1.1.1", true, false), 4);
    assert_eq!(b.ct("10.1.1.1"), "");
    assert_eq!(ftp_get(&b, 0, "ftp://10.1.1.2", true, true), 0);
    let st = ",protoinfo=(state=<cleared>)";
    let h = ",protoinfo=(state=<cleared>),helper=ftp";
    assert_eq!(
        b.ct("10.1.1.2"),
        [
            tcp_line("10.1.1.1", "10.1.1.2", &format!(",zone=1{h}")),
            tcp_line("10.1.1.1", "10.1.1.2", &format!(",zone=2{h}")),
            tcp_line("10.1.1.2", "10.1.1.1", &format!(",zone=1{st}")),
            tcp_line("10.1.1.2", "10.1.1.1", &format!(",zone=2{st}")),
        ]
        .concat()
    );
    b.flush(&[]);
    assert_eq!(ftp_get(&b, 0, "ftp://10.1.1.2", false, true), 0);
    assert_eq!(
        b.ct("10.1.1.2"),
        [
            tcp_line("10.1.1.1", "10.1.1.2", &format!(",zone=1{st}")),
            tcp_line("10.1.1.1", "10.1.1.2", &format!(",zone=1{h}")),
            tcp_line("10.1.1.1", "10.1.1.2", &format!(",zone=2{st}")),
            tcp_line("10.1.1.1", "10.1.1.2", &format!(",zone=2{h}")),
        ]
        .concat()
    );
}

#[test]
fn ct_tftp() {
    let Some(mut b) = Bed::new("conntrack - TFTP", &two(), &["curl", "in.tftpd"]) else {
        return;
    };
    let flows1 = "table=0,priority=1,action=drop
        table=0,priority=10,arp,action=normal
        table=0,priority=10,icmp,action=normal
        table=0,priority=100,in_port=1,udp,action=ct(alg=tftp,commit),2
        table=0,priority=100,in_port=2,udp,action=ct(table=1)
        table=1,in_port=2,udp,ct_state=+trk+est,action=1
        table=1,in_port=2,udp,ct_state=+trk+rel,action=1";
    let flows2 = "table=0,priority=1,action=drop
        table=0,priority=10,arp,action=normal
        table=0,priority=10,icmp,action=normal
        table=0,priority=100,in_port=1,udp,action=ct(table=1)
        table=1,in_port=1,udp,ct_state=+trk+new-rel,action=ct(commit,alg=tftp),2
        table=1,in_port=1,udp,ct_state=+trk+new+rel,action=ct(commit),2
        table=1,in_port=1,udp,ct_state=+trk+est,action=2
        table=0,priority=100,in_port=2,udp,action=ct(table=1)
        table=1,in_port=2,udp,ct_state=+trk+est,action=1
        table=1,in_port=2,udp,ct_state=+trk+new+rel,action=1";
    let want = "udp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.2,dst=10.1.1.1,sport=<cleared>,dport=<cleared>),helper=tftp\n";
    b.flows_cmd("replace-flows", flows1);
    b.tftp_server(0);
    b.tftp_server(1);
    for flows in [None, Some(flows2)] {
        if let Some(f) = flows {
            b.flows_cmd("replace-flows", f);
            b.flush(&[]);
        }
        assert_eq!(b.curl(1, "tftp://10.1.1.1/flows1.txt"), 28);
        assert_eq!(b.ct("10.1.1.1"), "");
        assert_eq!(b.curl(0, "tftp://10.1.1.2/flows1.txt"), 0);
        assert_eq!(b.ct("10.1.1.2"), want);
    }
}
