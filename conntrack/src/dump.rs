//! Introspection text in exactly the formats of OVS's `ovs-appctl dpctl/dump-conntrack [-s]`
//! (`ct_dpif_format_entry`) and `dpctl/ct-stats-show` for the userspace datapath.
//!
//! Userspace OVS keeps no per-connection packet/byte counters or timestamps, so `-s` adds only
//! `timeout=` (whole seconds left); rvs prints the same.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::key::{ConnKey, IPPROTO_TCP, IPPROTO_UDP};
use crate::proto::L4State;
use crate::table::Conn;
use crate::tcp::TcpState;
use crate::timeout::NS_PER_S;

/// A snapshot of one connection, as a dump reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtEntry {
    /// Original-direction tuple.
    pub orig: ConnKey,
    /// Reply-direction tuple.
    pub reply: ConnKey,
    /// Zone.
    pub zone: u16,
    /// `ct_mark`.
    pub mark: u32,
    /// `ct_label`.
    pub label: u128,
    /// Whole seconds until expiry.
    pub timeout_s: u32,
    /// TCP: states of the original and reply peers.
    pub tcp_states: Option<(TcpState, TcpState)>,
    /// The ALG helper of the connection (`ct(commit, alg=...)`): `ftp`, `tftp`.
    pub helper: Option<&'static str>,
}

impl CtEntry {
    pub(crate) fn from_conn(c: &Conn, now_ns: u64) -> Self {
        let inner = c.inner.lock();
        let left = c.deadline_ns().saturating_sub(now_ns);
        CtEntry {
            orig: c.key,
            reply: c.reply_key(),
            zone: c.key.zone(),
            mark: inner.mark,
            label: inner.label(),
            timeout_s: (left / NS_PER_S).min(u64::from(u32::MAX)) as u32,
            tcp_states: match inner.l4 {
                L4State::Tcp(t) => Some((t.peer[0].state, t.peer[1].state)),
                _ => None,
            },
            helper: inner.alg.as_ref().and_then(|a| a.helper).map(|h| h.name()),
        }
    }

    /// The TCP state the non-verbose dump shows.
    pub fn tcp_state(&self) -> Option<TcpState> {
        self.tcp_states.map(|(a, b)| TcpState::coalesced(a, b))
    }

    /// One line of `dpctl/dump-conntrack` (`stats`: the `-s` variant), without newline.
    pub fn format(&self, stats: bool) -> String {
        let mut s = String::with_capacity(160);
        s.push_str(&proto_name(self.orig.proto()));
        s.push_str(",orig=(");
        tuple(&mut s, &self.orig);
        s.push_str("),reply=(");
        tuple(&mut s, &self.reply);
        s.push(')');
        if self.zone != 0 {
            let _ = write!(s, ",zone={}", self.zone);
        }
        if stats {
            let _ = write!(s, ",timeout={}", self.timeout_s);
        }
        if self.mark != 0 {
            let _ = write!(s, ",mark={}", self.mark);
        }
        if self.label != 0 {
            let _ = write!(s, ",labels={:#x}", self.label);
        }
        if let Some(st) = self.tcp_state() {
            let _ = write!(s, ",protoinfo=(state={})", st.name());
        }
        if let Some(h) = self.helper {
            let _ = write!(s, ",helper={h}");
        }
        s
    }
}

/// The protocol names OVS prints (`ct_dpif_format_ipproto`), else the number.
pub fn proto_name(p: u8) -> String {
    match p {
        1 => "icmp".into(),
        58 => "icmpv6".into(),
        IPPROTO_TCP => "tcp".into(),
        IPPROTO_UDP => "udp".into(),
        132 => "sctp".into(),
        136 => "udplite".into(),
        33 => "dccp".into(),
        2 => "igmp".into(),
        n => n.to_string(),
    }
}

fn tuple(s: &mut String, k: &ConnKey) {
    let _ = write!(s, "src={},dst={}", addr(k.src_addr()), addr(k.dst_addr()));
    if k.is_icmp() {
        let _ = write!(s, ",id={},type={},code=0", k.src_port(), k.icmp_type());
    } else {
        let _ = write!(s, ",sport={},dport={}", k.src_port(), k.dst_port());
    }
}

fn addr(a: IpAddr) -> String {
    a.to_string()
}

/// `dpctl/ct-stats-show [zone=N]` text (`verbose` adds the per-TCP-state counts) for `entries`
/// (normally a dump of the zone or of everything).
pub fn format_ct_stats(entries: &[CtEntry], verbose: bool) -> String {
    let (
        mut tcp,
        mut udp,
        mut udplite,
        mut sctp,
        mut icmp,
        mut dccp,
        mut igmp,
        mut other,
        mut icmp6,
    ) = (0, 0, 0, 0, 0, 0, 0, 0, 0);
    let mut per_state = [0u32; 11];
    for e in entries {
        match e.orig.proto() {
            1 => icmp += 1,
            58 => icmp6 += 1,
            IPPROTO_TCP => {
                tcp += 1;
                if let Some(st) = e.tcp_state() {
                    per_state[st as usize] += 1;
                }
            }
            IPPROTO_UDP => udp += 1,
            132 => sctp += 1,
            136 => udplite += 1,
            33 => dccp += 1,
            2 => igmp += 1,
            _ => other += 1,
        }
    }
    let mut s = format!("Connections Stats:\n    Total: {}\n", entries.len());
    if tcp > 0 {
        let _ = writeln!(s, "  TCP: {tcp}");
        if verbose {
            s.push_str("    Conn per TCP states:\n");
            const ALL: [TcpState; 11] = [
                TcpState::Closed,
                TcpState::Listen,
                TcpState::SynSent,
                TcpState::SynRecv,
                TcpState::Established,
                TcpState::CloseWait,
                TcpState::FinWait1,
                TcpState::Closing,
                TcpState::LastAck,
                TcpState::FinWait2,
                TcpState::TimeWait,
            ];
            for st in ALL {
                let n = per_state[st as usize];
                if n > 0 {
                    let _ = writeln!(s, "\t  [{}]={n}", st.name());
                }
            }
        }
    }
    for (name, n) in [
        ("UDP", udp),
        ("UDPLITE", udplite),
        ("SCTP", sctp),
        ("ICMP", icmp),
        ("DCCP", dccp),
        ("IGMP", igmp),
        ("Other", other),
    ] {
        if n > 0 {
            let _ = writeln!(s, "  {name}: {n}");
        }
    }
    // OVS 3.1 counts ICMPv6 but has no line for it; it is included in Total only.
    let _ = icmp6;
    s
}
