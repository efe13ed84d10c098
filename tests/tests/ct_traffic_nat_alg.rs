//! rvs's versions of the FTP and TFTP scenarios with NAT of Open vSwitch's
//! `tests/system-traffic.at`, banner `conntrack - NAT` (the six expansions
//! of `CHECK_FTP_NAT`, passive/active FTP with SNAT/DNAT over IPv4 and
//! IPv6, TFTP with SNAT), plus the two remaining NAT scenarios that need a
//! packet capture or a group (`ICMP from different source related with
//! NAT`, `DNAT load balancing with NC`). See `ct_traffic_basic.rs` for the
//! list of all scenarios and `tests/src/ct_traffic.rs` for the harness.

#[path = "../src/ct_traffic.rs"]
#[allow(dead_code)]
mod ct_traffic;
#[path = "../src/netns.rs"]
#[allow(dead_code)]
mod netns;
#[path = "../src/rvs.rs"]
#[allow(dead_code)]
mod rvs;

use ct_traffic::{Bed, ST, tcp_ct};

/// OVS's ARP responder tables 8 and 10 answering for `reg2=MATCH` with
/// 80:88:88:88:88:88 (table 0's ARP flows are given by each scenario).
fn arp_tables(reg2: &str) -> String {
    format!(
        "table=8,reg2={reg2},action=load:0x808888888888->OXM_OF_PKT_REG0[]
table=8,priority=0,action=load:0->OXM_OF_PKT_REG0[]
table=10 priority=100 arp xreg0=0 action=normal
table=10 priority=10,arp,arp_op=1,action=load:2->OXM_OF_ARP_OP[],move:OXM_OF_ARP_SHA[]->OXM_OF_ARP_THA[],move:OXM_OF_PKT_REG0[0..47]->OXM_OF_ARP_SHA[],move:OXM_OF_ARP_SPA[]->OXM_OF_ARP_TPA[],move:NXM_NX_REG2[]->OXM_OF_ARP_SPA[],move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],move:OXM_OF_PKT_REG0[0..47]->NXM_OF_ETH_SRC[],move:NXM_OF_IN_PORT[]->NXM_NX_REG3[0..15],load:0->NXM_OF_IN_PORT[],output:NXM_NX_REG3[0..15]
table=10 priority=0 action=drop
"
    )
}

const ARP0: &str = "table=0 priority=100 arp arp_op=1 action=move:OXM_OF_ARP_TPA[]->NXM_NX_REG2[],resubmit(,8),goto_table:10
table=0 priority=10 arp action=normal
table=0 priority=0 action=drop
";

const FTP: &str = ",protoinfo=(state=<cleared>),helper=ftp";

/// The lftp script of OVS's `CHECK_FTP_NAT` (active mode, four listings).
const LFTP_CMD: &str = "set net:max-retries 1
set net:timeout 1
set ftp:passive-mode off
cache off
connect ftp://anonymous:@10.1.1.2
ls
ls
ls
ls
";

/// OVS's `CHECK_FTP_NAT(TITLE, IP, FLOWS, CT_DUMP)`: ns0
/// (80:88:88:88:88:88) lists ns1's FTP server four times with lftp
/// (active mode); then the 10.1.1.2 conntrack lines.
fn check_ftp_nat(title: &str, flows: &str, want: &str) {
    let name = format!("conntrack - FTP {title}");
    let Some(mut b) = Bed::with_macs(
        &name,
        &[
            ("10.1.1.1/24", Some("80:88:88:88:88:88")),
            ("10.1.1.2/24", None),
        ],
        &["lftp"],
    ) else {
        return;
    };
    b.flows(flows);
    b.ftp_server(1, false);
    let cmd = b.path("ftp.cmd");
    ct_traffic::write(&cmd, LFTP_CMD);
    let o = b.exec_in(0, &["lftp", "-f", cmd.to_str().unwrap()]);
    assert!(
        o.status.success(),
        "lftp: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(b.ct("10.1.1.2"), want, "{name}");
}

fn snat_pre_recirc(ip: &str, reg: &str) -> String {
    format!(
        "table=0 in_port=1, ip, action=ct(table=1,nat)
table=0 in_port=2, ip, action=ct(table=2,nat)
{ARP0}table=1 ct_state=+new, tcp, tp_dst=21, nw_src=10.1.1.1, action=ct(alg=ftp,commit,nat(src={ip})),2
table=1 ct_state=+est, tcp, nw_src={ip},     action=2
table=1 priority=10, tcp, action=drop
table=1 priority=0,action=drop
table=2 ct_state=+est, tcp, nw_dst=10.1.1.1, action=1
table=2 ct_state=+new+rel, tcp, nw_dst={ip}, action=ct(commit,nat),1
table=2 ct_state=+rel, icmp, nw_dst=10.1.1.1, action=1
table=2 priority=10, tcp, action=drop
table=2 priority=0, action=drop
{}",
        arp_tables(&format!("{reg}/0xffffffff"))
    )
}

fn snat_post_recirc(ip: &str, reg: &str) -> String {
    format!(
        "table=0 ip, action=ct(table=1)
{ARP0}table=1 in_port=1 ct_state=+new, tcp, tp_dst=21, action=ct(alg=ftp,commit,nat(src={ip})),2
table=1 in_port=1 ct_state=+est, tcp,     action=ct(nat),2
table=1 in_port=2 ct_state=+est, tcp,     action=ct(nat),1
table=1 in_port=2 ct_state=+new+rel, tcp, action=ct(commit,nat),1
table=1 in_port=2 ct_state=+rel, icmp,    action=ct(nat),1
table=1 priority=0, action=drop
{}",
        arp_tables(&format!("{reg}/0xffffffff"))
    )
}

fn snat_orig_tuple(ip: &str, reg: &str) -> String {
    let z = "zone=NXM_NX_REG4[0..15]";
    let ex =
        "move:NXM_NX_REG3[0]->NXM_NX_CT_LABEL[0],move:NXM_NX_REG1[0..31]->NXM_NX_CT_LABEL[96..127]";
    format!(
        "table=0 in_port=1, ip, action=set_field:1->reg4,set_field:1->reg3,ct({z},table=1)
table=0 in_port=2, ip, action=set_field:1->reg4,set_field:2->reg3,ct({z},nat,table=1)
{ARP0}table=1 reg3=1, ip, ct_state=-rel-rpl+trk-inv action=set_field:1->reg0,resubmit(,3),goto_table:5
table=1 reg3=1, ip, ct_state=-rel+rpl+trk-inv action=set_field:2->reg0,resubmit(,3,ct),goto_table:4
table=1 reg3=2, ip, ct_state=-rel-rpl+trk-inv action=set_field:2->reg0,resubmit(,3),goto_table:5
table=1 reg3=2, ip, ct_state=-rel+rpl+trk-inv action=set_field:1->reg0,resubmit(,3,ct),goto_table:4
table=1 ip, ct_state=+rel+trk-inv, action=move:NXM_NX_CT_LABEL[0]->NXM_NX_REG0[0],resubmit(,3,ct),goto_table:4
table=1 priority=0, action=drop
table=3 priority=10, reg0=1, ip, nw_src=10.1.1.1 action=set_field:1234->reg1,set_field:1->reg2
table=3 priority=0, action=set_field:1235->reg1,set_field:0->reg2
table=4 priority=100 reg2=1, action=goto_table:5
table=4 priority=0 action=move:NXM_NX_REG3[]->NXM_NX_REG0[],resubmit(,3),goto_table:5
table=5 reg2=0 priority=1000 action=drop
table=5 priority=100 reg2=1 reg3=1 ct_state=+new-rel, tcp, tp_dst=21, action=ct({z},alg=ftp,commit,nat(src={ip}),exec({ex})),goto_table:6
table=5 priority=10 reg2=1 reg3=1 ct_state=+new-rel, ip, action=ct({z},commit,nat(src={ip}),exec({ex})),goto_table:6
table=5 priority=10 reg2=1 reg3=2 ct_state=+new-rel, ip, action=ct({z},commit,nat(dst={ip}),exec({ex})),goto_table:6
table=5 priority=10 reg2=1 ct_state=+new+rel, ip, action=ct({z},commit,nat,exec(move:NXM_NX_REG1[0..31]->NXM_NX_CT_LABEL[96..127])),goto_table:6
table=5 priority=10 ct_state=-new+trk-inv reg3=1 ip, action=ct({z},nat),goto_table:6
table=5 priority=0 action=goto_table:6
table=6 in_port=1 action=2
table=6 in_port=2 action=1
{}",
        arp_tables(reg)
    )
}

fn want_snat(ip: &str, tail: &str) -> String {
    tcp_ct(
        "10.1.1.1",
        "10.1.1.2",
        "10.1.1.2",
        ip,
        &format!("{tail}{FTP}"),
    ) + &tcp_ct(
        "10.1.1.2",
        ip,
        "10.1.1.1",
        "10.1.1.2",
        &format!("{tail}{ST}"),
    )
}

#[test]
fn ct_ftp_snat_prerecirc() {
    check_ftp_nat(
        "SNAT prerecirc ",
        &snat_pre_recirc("10.1.1.9", "0x0a010109"),
        &want_snat("10.1.1.9", ""),
    );
}

#[test]
fn ct_ftp_snat_prerecirc_seqadj() {
    check_ftp_nat(
        "SNAT prerecirc seqadj",
        &snat_pre_recirc("10.1.1.240", "0x0a0101f0"),
        &want_snat("10.1.1.240", ""),
    );
}

#[test]
fn ct_ftp_snat_postrecirc() {
    check_ftp_nat(
        "SNAT postrecirc ",
        &snat_post_recirc("10.1.1.9", "0x0a010109"),
        &want_snat("10.1.1.9", ""),
    );
}

#[test]
fn ct_ftp_snat_postrecirc_seqadj() {
    check_ftp_nat(
        "SNAT postrecirc seqadj",
        &snat_post_recirc("10.1.1.240", "0x0a0101f0"),
        &want_snat("10.1.1.240", ""),
    );
}

const ORIG_TAIL: &str = ",zone=1,labels=0x4d2000000000000000000000001";

#[test]
fn ct_ftp_snat_orig_tuple() {
    check_ftp_nat(
        "SNAT orig tuple ",
        &snat_orig_tuple("10.1.1.9", "0x0a010109"),
        &want_snat("10.1.1.9", ORIG_TAIL),
    );
}

#[test]
fn ct_ftp_snat_orig_tuple_seqadj() {
    check_ftp_nat(
        "SNAT orig tuple seqadj",
        &snat_orig_tuple("10.1.1.240", "0x0a0101f0"),
        &want_snat("10.1.1.240", ORIG_TAIL),
    );
}

/// One FTP-with-NAT scenario driven by wget (OVS's `-t 3 -T 1
/// --retry-connrefused`, active when `active`).
struct WgetFtp<'a> {
    name: &'a str,
    ports: [(&'a str, Option<&'a str>); 2],
    /// Static neighbours: (namespace, address, MAC).
    neigh: &'a [(usize, &'a str, &'a str)],
    flows: &'a str,
    wait_ping: &'a str,
    url: &'a str,
    active: bool,
    ct_ip: &'a str,
    want: String,
}

fn run_wget_ftp(s: WgetFtp) {
    let Some(mut b) = Bed::with_macs(s.name, &s.ports, &["wget"]) else {
        return;
    };
    for (i, ip, mac) in s.neigh {
        b.neigh(*i, "replace", ip, mac);
    }
    b.flows(s.flows);
    b.wait_ping(0, s.wait_ping);
    let v6 = s.url.contains('[');
    b.ftp_server(1, v6);
    let mut a = vec![
        s.url,
        "-t",
        "3",
        "-T",
        "1",
        "--retry-connrefused",
        "-O",
        "/dev/null",
        "-q",
    ];
    if v6 {
        a.push("-6");
    }
    if s.active {
        a.push("--no-passive-ftp");
    }
    assert_eq!(b.wget_raw(0, &a), 0, "{}: wget failed", s.name);
    assert_eq!(b.ct(s.ct_ip), s.want, "{}", s.name);
}

const E11: &str = "e6:66:c1:11:11:11";
const E22: &str = "e6:66:c1:22:22:22";

fn v4_ftp_flows(first: &str, rel: &str, est1: &str) -> String {
    format!(
        "table=0 priority=10 ip, action=ct(nat,table=1)
table=0 priority=0 action=drop
{first}
{rel}
{est1}
table=1 in_port=2 ct_state=+est tcp nw_dst=10.1.1.1 action=1
table=1 priority=100 in_port=1 icmp, action=2
table=1 priority=100 in_port=2 icmp, action=1
table=1 priority=0, action=drop"
    )
}

#[test]
fn ct_ipv4_ftp_passive_with_snat() {
    run_wget_ftp(WgetFtp {
        name: "conntrack - IPv4 FTP Passive with SNAT",
        ports: [("10.1.1.1/24", Some(E11)), ("10.1.1.2/24", Some(E22))],
        neigh: &[
            (0, "10.1.1.2", E22),
            (1, "10.1.1.1", E11),
            (1, "10.1.1.240", E11),
        ],
        flows: &v4_ftp_flows(
            "table=1 in_port=1 ct_state=+new tcp nw_src=10.1.1.1 tp_dst=21  action=ct(alg=ftp,commit,nat(src=10.1.1.240)),2",
            "table=1 in_port=1 ct_state=+new+rel tcp nw_src=10.1.1.1 action=ct(commit,nat),2",
            "table=1 in_port=1 ct_state=+est tcp nw_src=10.1.1.240 action=2",
        ),
        wait_ping: "10.1.1.2",
        url: "ftp://10.1.1.2",
        active: false,
        ct_ip: "10.1.1.2",
        want: tcp_ct("10.1.1.1", "10.1.1.2", "10.1.1.2", "10.1.1.240", ST)
            + &tcp_ct("10.1.1.1", "10.1.1.2", "10.1.1.2", "10.1.1.240", FTP),
    });
}

#[test]
fn ct_ipv4_ftp_passive_with_dnat() {
    run_wget_ftp(WgetFtp {
        name: "conntrack - IPv4 FTP Passive with DNAT",
        ports: [("10.1.1.1/24", Some(E11)), ("10.1.1.240/24", Some(E22))],
        neigh: &[
            (0, "10.1.1.2", E22),
            (0, "10.1.1.240", E22),
            (1, "10.1.1.1", E11),
        ],
        flows: &v4_ftp_flows(
            "table=1 in_port=1 ct_state=+new tcp nw_src=10.1.1.1 tp_dst=21 action=ct(alg=ftp,commit,nat(dst=10.1.1.240)),2",
            "table=1 in_port=1 ct_state=+new+rel tcp nw_src=10.1.1.1 action=ct(commit,nat),2",
            "table=1 in_port=1 ct_state=+est tcp nw_dst=10.1.1.240 action=2",
        ),
        wait_ping: "10.1.1.240",
        url: "ftp://10.1.1.2",
        active: false,
        ct_ip: "10.1.1.2",
        want: tcp_ct("10.1.1.1", "10.1.1.2", "10.1.1.240", "10.1.1.1", ST)
            + &tcp_ct("10.1.1.1", "10.1.1.2", "10.1.1.240", "10.1.1.1", FTP),
    });
}

#[test]
fn ct_ipv4_ftp_passive_with_dnat_2() {
    run_wget_ftp(WgetFtp {
        name: "conntrack - IPv4 FTP Passive with DNAT 2",
        ports: [("10.1.1.1/16", Some(E11)), ("10.1.100.1/16", Some(E22))],
        neigh: &[
            (0, "10.1.1.200", E22),
            (0, "10.1.100.1", E22),
            (1, "10.1.1.1", E11),
        ],
        flows: &v4_ftp_flows(
            "table=1 in_port=1 ct_state=+new tcp nw_src=10.1.1.1 tp_dst=21 action=ct(alg=ftp,commit,nat(dst=10.1.100.1)),2",
            "table=1 in_port=1 ct_state=+new+rel tcp nw_src=10.1.1.1 action=ct(commit,nat),2",
            "table=1 in_port=1 ct_state=+est tcp nw_dst=10.1.100.1 action=2",
        ),
        wait_ping: "10.1.100.1",
        url: "ftp://10.1.1.200",
        active: false,
        ct_ip: "10.1.1.200",
        want: tcp_ct("10.1.1.1", "10.1.1.200", "10.1.100.1", "10.1.1.1", ST)
            + &tcp_ct("10.1.1.1", "10.1.1.200", "10.1.100.1", "10.1.1.1", FTP),
    });
}

#[test]
fn ct_ipv4_ftp_active_with_dnat() {
    run_wget_ftp(WgetFtp {
        name: "conntrack - IPv4 FTP Active with DNAT",
        ports: [("10.1.1.1/24", Some(E11)), ("10.1.1.240/24", Some(E22))],
        neigh: &[
            (0, "10.1.1.2", E22),
            (0, "10.1.1.240", E22),
            (1, "10.1.1.1", E11),
        ],
        flows: &v4_ftp_flows(
            "table=1 in_port=1 ct_state=+new tcp nw_src=10.1.1.1 tp_dst=21 action=ct(alg=ftp,commit,nat(dst=10.1.1.240)),2",
            "table=1 in_port=2 ct_state=+new+rel tcp nw_src=10.1.1.240 action=ct(commit,nat),1",
            "table=1 in_port=1 ct_state=+est tcp nw_dst=10.1.1.240 action=2",
        ),
        wait_ping: "10.1.1.240",
        url: "ftp://10.1.1.2",
        active: true,
        ct_ip: "10.1.1.2",
        want: tcp_ct("10.1.1.1", "10.1.1.2", "10.1.1.240", "10.1.1.1", FTP)
            + &tcp_ct("10.1.1.240", "10.1.1.1", "10.1.1.1", "10.1.1.2", ST),
    });
}

#[test]
fn ct_ipv4_ftp_active_with_dnat_with_reverse_skew() {
    run_wget_ftp(WgetFtp {
        name: "conntrack - IPv4 FTP Active with DNAT with reverse skew",
        ports: [("10.1.1.1/16", Some(E11)), ("10.1.1.2/16", Some(E22))],
        neigh: &[
            (0, "10.1.1.2", E22),
            (0, "10.1.120.240", E22),
            (1, "10.1.1.1", E11),
        ],
        flows: &v4_ftp_flows(
            "table=1 in_port=1 ct_state=+new tcp nw_src=10.1.1.1 tp_dst=21 action=ct(alg=ftp,commit,nat(dst=10.1.1.2)),2",
            "table=1 in_port=2 ct_state=+new+rel tcp nw_src=10.1.1.2 action=ct(commit,nat),1",
            "table=1 in_port=1 ct_state=+est tcp nw_dst=10.1.1.2 action=2",
        ),
        wait_ping: "10.1.1.2",
        url: "ftp://10.1.120.240",
        active: true,
        ct_ip: "10.1.120.240",
        want: tcp_ct("10.1.1.1", "10.1.120.240", "10.1.1.2", "10.1.1.1", FTP)
            + &tcp_ct("10.1.1.2", "10.1.1.1", "10.1.1.1", "10.1.120.240", ST),
    });
}

const M88: &str = "80:88:88:88:88:88";

#[test]
fn ct_ipv6_ftp_with_snat() {
    run_wget_ftp(WgetFtp {
        name: "conntrack - IPv6 FTP with SNAT",
        ports: [("fc00::1/96", Some(M88)), ("fc00::2/96", None)],
        neigh: &[(1, "fc00::240", M88)],
        flows: "table=0 priority=10 ip6, action=ct(nat,table=1)
            table=0 priority=0 action=drop
            table=1 in_port=1 ct_state=+new tcp6 ipv6_src=fc00::1 tp_dst=21  action=ct(alg=ftp,commit,nat(src=fc00::240)),2
            table=1 in_port=2 ct_state=+new+rel tcp6 ipv6_dst=fc00::240 action=ct(commit,nat),1
            table=1 in_port=1 ct_state=+est tcp6 ipv6_src=fc00::240   action=2
            table=1 in_port=2 ct_state=+est tcp6 ipv6_dst=fc00::1     action=1
            table=1 priority=100 in_port=1 icmp6, action=2
            table=1 priority=100 in_port=2 icmp6, action=1
            table=1 priority=0, action=drop",
        wait_ping: "fc00::2",
        url: "ftp://[fc00::2]",
        active: true,
        ct_ip: "fc00::2",
        want: tcp_ct("fc00::1", "fc00::2", "fc00::2", "fc00::240", FTP)
            + &tcp_ct("fc00::2", "fc00::240", "fc00::1", "fc00::2", ST),
    });
}

#[test]
fn ct_ipv6_ftp_passive_with_snat() {
    run_wget_ftp(WgetFtp {
        name: "conntrack - IPv6 FTP Passive with SNAT",
        ports: [("fc00::1/96", Some(M88)), ("fc00::2/96", Some("80:88:88:88:88:99"))],
        neigh: &[(0, "fc00::2", "80:88:88:88:88:99"), (1, "fc00::240", M88)],
        flows: "table=0 priority=10 ip6, action=ct(nat,table=1)
            table=0 priority=0 action=drop
            table=1 in_port=1 ct_state=+new tcp6 ipv6_src=fc00::1 tp_dst=21  action=ct(alg=ftp,commit,nat(src=fc00::240)),2
            table=1 in_port=1 ct_state=+new+rel tcp6 ipv6_dst=fc00::2 action=ct(commit,nat),2
            table=1 in_port=1 ct_state=+est tcp6 ipv6_src=fc00::240 action=2
            table=1 in_port=2 ct_state=+est tcp6 ipv6_dst=fc00::1 action=1
            table=1 priority=100 in_port=1 icmp6, action=2
            table=1 priority=100 in_port=2 icmp6, action=1
            table=1 priority=0, action=drop",
        wait_ping: "fc00::2",
        url: "ftp://[fc00::2]",
        active: false,
        ct_ip: "fc00::2",
        want: tcp_ct("fc00::1", "fc00::2", "fc00::2", "fc00::240", ST)
            + &tcp_ct("fc00::1", "fc00::2", "fc00::2", "fc00::240", FTP),
    });
}

#[test]
fn ct_ipv6_ftp_with_snat_orig_tuple() {
    run_wget_ftp(WgetFtp {
        name: "conntrack - IPv6 FTP with SNAT - orig tuple",
        ports: [("fc00::1/96", Some(M88)), ("fc00::2/96", None)],
        neigh: &[(1, "fc00::240", M88)],
        flows: "table=0 priority=10 ip6, action=ct(nat,table=1)
            table=0 priority=0 action=drop
            table=1 priority=100 in_port=1 icmp6, action=2
            table=1 priority=100 in_port=2 icmp6, action=1
            table=1 priority=10 in_port=1 ct_state=+new+trk-inv tcp6 ct_nw_proto=6 ct_ipv6_src=fc00::1 ct_tp_dst=21  action=ct(alg=ftp,commit,nat(src=fc00::240)),2
            table=1 priority=10 in_port=2 ct_state=+new+rel+trk-inv ipv6 ct_nw_proto=6 ct_ipv6_src=fc00::1 ct_tp_dst=21 action=ct(commit,nat),1
            table=1 priority=10 in_port=1 ct_state=+est+trk-inv ipv6 ct_nw_proto=6 ct_ipv6_src=fc00::1 ct_tp_dst=21 action=2
            table=1 priority=10 in_port=2 ct_state=+est+trk-inv ipv6 ct_nw_proto=6 ct_ipv6_src=fc00::1 ct_tp_dst=21 action=1
            table=1 priority=0, action=drop",
        wait_ping: "fc00::2",
        url: "ftp://[fc00::2]",
        active: true,
        ct_ip: "fc00::2",
        want: tcp_ct("fc00::1", "fc00::2", "fc00::2", "fc00::240", FTP)
            + &tcp_ct("fc00::2", "fc00::240", "fc00::1", "fc00::2", ST),
    });
}

#[test]
fn ct_ipv4_tftp_with_snat() {
    let Some(mut b) = Bed::with_macs(
        "conntrack - IPv4 TFTP with SNAT",
        &[("10.1.1.1/24", Some(E11)), ("10.1.1.2/24", Some(E22))],
        &["curl", "in.tftpd"],
    ) else {
        return;
    };
    for (i, ip, mac) in [
        (0, "10.1.1.2", E22),
        (1, "10.1.1.1", E11),
        (1, "10.1.1.240", E11),
    ] {
        b.neigh(i, "replace", ip, mac);
    }
    b.flows(
        "table=0 priority=10 ip, action=ct(table=1)
         table=0 priority=0 action=drop
         table=1 priority=100 in_port=1 icmp, action=2
         table=1 priority=100 in_port=2 icmp, action=1
         table=1 in_port=1 ct_state=+new udp nw_src=10.1.1.1 tp_dst=69  action=ct(alg=tftp,commit,nat(src=10.1.1.240)),2
         table=1 in_port=2 ct_state=+new+rel udp nw_src=10.1.1.2 action=ct(commit,nat),1
         table=1 in_port=1 ct_state=+est udp nw_src=10.1.1.1 action=ct(nat,table=2)
         table=1 in_port=2 ct_state=+est udp nw_src=10.1.1.2 action=ct(nat,table=2)
         table=1 priority=0, action=drop
         table=2 in_port=1 ct_state=+est udp nw_src=10.1.1.240 action=2
         table=2 in_port=2 ct_state=+est udp nw_dst=10.1.1.1 action=1",
    );
    b.wait_ping(0, "10.1.1.2");
    b.tftp_server(0);
    b.tftp_server(1);
    // OVS fetches its own flows.txt from the server's directory; the
    // server here serves flows1.txt.
    assert_eq!(b.curl(0, "tftp://10.1.1.2/flows1.txt"), 0);
    assert_eq!(
        b.ct("10.1.1.2"),
        "udp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.2,dst=10.1.1.240,sport=<cleared>,dport=<cleared>),helper=tftp
udp,orig=(src=10.1.1.2,dst=10.1.1.240,sport=<cleared>,dport=<cleared>),reply=(src=10.1.1.1,dst=10.1.1.2,sport=<cleared>,dport=<cleared>)
"
    );
}

#[test]
fn ct_dnat_load_balancing_with_nc() {
    let macs = [
        "80:88:88:88:88:11",
        "80:88:88:88:88:22",
        "80:88:88:88:88:33",
        "80:88:88:88:88:44",
        "80:88:88:88:88:55",
    ];
    let addrs = [
        "10.1.1.1/24",
        "10.1.1.2/24",
        "10.1.1.3/24",
        "10.1.1.4/24",
        "10.1.1.5/24",
    ];
    let ports: Vec<(&str, Option<&str>)> =
        addrs.iter().zip(macs).map(|(a, m)| (*a, Some(m))).collect();
    let Some(mut b) = Bed::with_macs(
        "conntrack - DNAT load balancing with NC",
        &ports,
        &["nc", "wget"],
    ) else {
        return;
    };
    b.ofctl_ok(&[
        "add-group",
        "br0",
        "group_id=234,type=select,bucket=weight=100,ct(nat(dst=10.1.1.2),commit,table=4),bucket=weight=100,ct(nat(dst=10.1.1.3),commit,table=4),bucket=weight=100,ct(nat(dst=10.1.1.4),commit,table=4)",
    ]);
    let mut flows = String::from(
        "table=0 priority=100 ip nw_dst=10.1.1.64 action=group:234
table=0 priority=90 ip action=ct(table=4,nat)
table=0 priority=100 arp arp_op=1 action=move:OXM_OF_ARP_TPA[]->NXM_NX_REG2[],resubmit(,8),goto_table:10
table=0 priority=10 arp action=normal
table=0 priority=0 action=drop
",
    );
    for (i, m) in macs.iter().enumerate() {
        flows.push_str(&format!(
            "table=4,ip,nw_dst=10.1.1.{} action=mod_dl_dst:{m},output:{}\n",
            i + 1,
            i + 1
        ));
    }
    flows.push_str("table=4 priority=0 action=drop\n");
    flows.push_str(&arp_tables("0x0a010140").replace(
        "table=10 priority=0 action=drop",
        "table=10 priority=0 action=controller",
    ));
    b.flows(&flows);
    for i in 1..4 {
        b.http_server(i, false);
    }
    // Clients in ns1 and ns5 reuse the same source ports: each request
    // must still get an answer through the load balancer.
    for i in 1..=9 {
        for ns in [0usize, 4] {
            let o = b.sh(
                ns,
                &format!("echo TEST | nc -q 1 -w 3 -p 4100{i} 10.1.1.64 80"),
            );
            assert!(
                o.status.success(),
                "request {i} from ns {ns}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}

/// The frames of a pcap file as hex lines (OVS's `ovs-pcap`), via scapy.
fn pcap_hex(path: &str) -> String {
    let o = netns::run(
        ct_traffic::PY,
        &[
            "-c",
            "import sys\nfrom scapy.all import rdpcap\nfor p in rdpcap(sys.argv[1]): print(bytes(p).hex())",
            path,
        ],
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Waits (≤ 5 s) until the capture holds a frame starting with `prefix`.
fn wait_pcap(path: &str, prefix: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let got: String = pcap_hex(path)
            .lines()
            .filter(|l| l.contains(prefix))
            .map(|l| format!("{l}\n"))
            .collect();
        if !got.is_empty() || std::time::Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

#[test]
fn ct_icmp_from_different_source_related_with_nat() {
    let Some(mut b) = Bed::with_macs(
        "conntrack - ICMP from different source related with NAT",
        &[
            ("192.168.20.10/24", Some("00:00:00:00:20:10")),
            ("192.168.10.20/24", Some("00:00:00:00:10:20")),
        ],
        &["tcpdump"],
    ) else {
        return;
    };
    // OVS's port names ovs-client and ovs-server are ports 1 and 2 here.
    b.flows(
        "table=0,ip,actions=ct(table=1,zone=42,nat)
         table=1,in_port=1,ip,ct_state=+trk+new,actions=ct(commit,table=2,zone=42,nat(dst=192.168.10.20))
         table=1,icmp,ct_state=+trk+rel-rpl,actions=ct(commit,table=2,zone=42,nat)
         table=1,ip,actions=resubmit(,2)
         table=2,in_port=1,ip,ct_state=+trk+new,actions=output:2
         table=2,in_port=1,icmp,ct_state=+trk+rel,actions=output:2
         table=2,in_port=2,icmp,ct_state=+trk+rel,actions=output:1
         table=2,in_port=2,ip,ct_state=+trk+rpl,actions=output:1",
    );
    let capture = |b: &mut Bed, i: usize, name: &str| -> String {
        let pcap = b.path(name);
        let pcap = pcap.to_str().unwrap().to_string();
        let dev = format!("p{i}");
        b.daemon(
            i,
            &["tcpdump", "-l", "-U", "-i", &dev, "-w", &pcap],
            &format!("{name}.err"),
        );
        std::thread::sleep(std::time::Duration::from_secs(1));
        pcap
    };
    let server_pcap = capture(&mut b, 1, "server.pcap");
    let po = |port: u32, hex: &str| {
        b.packet_out(&format!("in_port={port},packet={hex},actions=resubmit(,0)"))
    };
    po(
        1,
        "00000000102000000000201008004500001C000040000A11C762C0A8140AC0A814140001000200080000",
    );
    po(
        2,
        "00000000201000000000102008004500001C000040000A11D162C0A80A14C0A8140A0002000100080000",
    );
    po(
        1,
        "000000001020000000002000080045000038011F0000FF011140C0A81401C0A814140304F778000005784500001C000040000A11C762C0A81414C0A8140A0002000100080000",
    );
    let udp = "udp,orig=(src=192.168.20.10,dst=192.168.20.20,sport=1,dport=2),reply=(src=192.168.10.20,dst=192.168.20.10,sport=2,dport=1),zone=42\n";
    assert_eq!(b.ct_grep("192.168.20.10"), udp);
    assert_eq!(
        wait_pcap(&server_pcap, "000000001020000000002000"),
        "000000001020000000002000080045000038011f0000ff011b40c0a81401c0a80a140304f778000005784500001c000040000a11d162c0a80a14c0a8140a0002000100080000\n"
    );
    b.flush(&["zone=42"]);
    let client_pcap = capture(&mut b, 0, "client.pcap");
    let po = |port: u32, hex: &str| {
        b.packet_out(&format!("in_port={port},packet={hex},actions=resubmit(,0)"))
    };
    po(
        1,
        "00000000102000000000201008004500001C000040000A11C762C0A8140AC0A814140001000200080000",
    );
    po(
        2,
        "000000002010000000002000080045000038011F0000FF01114AC0A81401C0A8140A0304F778000005784500001C000040000A11D162C0A8140AC0A80A140001000200080000",
    );
    assert_eq!(b.ct_grep("192.168.20.10"), udp);
    assert_eq!(
        wait_pcap(&client_pcap, "000000002010000000002000"),
        "000000002010000000002000080045000038011f0000ff011137c0a81414c0a8140a0304f778000005784500001c000040000a11c762c0a8140ac0a814140001000200080000\n"
    );
}
