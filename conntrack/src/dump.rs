//! Introspection text in exactly the formats of OVS's `ovs-appctl dpctl/dump-conntrack [-s]`
//! (`ct_dpif_format_entry`) and `dpctl/ct-stats-show` for the userspace datapath.
//!
//! Userspace OVS keeps no per-connection packet/byte counters or timestamps, so `-s` adds only
//! `timeout=` (whole seconds left); rvs prints the same. The verbose variant (`-m`,
//! [`CtEntry::format_verbose`]) adds what userspace OVS fills in: `id=0` and `status=0` (its
//! entries carry neither), both TCP peers' states, window scales and flags, and the parent
//! tuple of a connection an ALG expected.

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
    /// TCP: the original and reply peers' window-scale bytes (shift in the low 4 bits, then
    /// the "option seen" and "unknown, picked up mid-stream" flags), as OVS keeps them.
    pub tcp_wscale: [u8; 2],
    /// The original tuple of the control connection whose ALG expected this one.
    pub parent: Option<ConnKey>,
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
            helper: c.alg().and_then(|a| a.helper).map(|h| h.name()),
            tcp_wscale: match inner.l4 {
                L4State::Tcp(t) => [t.peer[0].wscale, t.peer[1].wscale],
                _ => [0; 2],
            },
            parent: crate::alg::parent_of(c).copied(),
        }
    }

    /// The TCP state the non-verbose dump shows.
    pub fn tcp_state(&self) -> Option<TcpState> {
        self.tcp_states.map(|(a, b)| TcpState::coalesced(a, b))
    }

    /// One line of `dpctl/dump-conntrack` (`stats`: the `-s` variant), without newline.
    pub fn format(&self, stats: bool) -> String {
        self.format_with(stats, false)
    }

    /// One line of `dpctl/dump-conntrack -m` (`stats`: with `-s` too), without newline.
    pub fn format_verbose(&self, stats: bool) -> String {
        self.format_with(stats, true)
    }

    fn format_with(&self, stats: bool, verbose: bool) -> String {
        let mut s = String::with_capacity(if verbose { 256 } else { 160 });
        s.push_str(&proto_name(self.orig.proto()));
        s.push_str(",orig=(");
        tuple(&mut s, &self.orig);
        s.push_str("),reply=(");
        tuple(&mut s, &self.reply);
        s.push(')');
        if verbose {
            // Userspace OVS never fills in an entry's id or status.
            s.push_str(",id=0");
        }
        if self.zone != 0 {
            let _ = write!(s, ",zone={}", self.zone);
        }
        if verbose {
            s.push_str(",status=0");
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
        match self.tcp_states {
            Some((o, r)) if verbose => {
                let _ = write!(
                    s,
                    ",protoinfo=(state_orig={},state_reply={}",
                    o.name(),
                    r.name()
                );
                let [wo, wr] = self.tcp_wscale.map(|w| w & WSCALE_MASK);
                if wo != 0 || wr != 0 {
                    let _ = write!(s, ",wscale_orig={wo},wscale_reply={wr}");
                }
                let _ = write!(
                    s,
                    ",flags_orig={},flags_reply={})",
                    tcp_flags(self.tcp_wscale[0]),
                    tcp_flags(self.tcp_wscale[1])
                );
            }
            Some(_) => {
                if let Some(st) = self.tcp_state() {
                    let _ = write!(s, ",protoinfo=(state={})", st.name());
                }
            }
            None => {}
        }
        if let Some(h) = self.helper {
            let _ = write!(s, ",helper={h}");
        }
        if verbose && let Some(p) = &self.parent {
            s.push_str(",parent=(");
            tuple(&mut s, p);
            s.push(')');
        }
        s
    }
}

/// Window-scale shift bits of a TCP peer's `wscale` byte.
const WSCALE_MASK: u8 = 0x0f;

/// The `flags_orig=`/`flags_reply=` text of a TCP peer (OVS's `tcp_peer_to_protoinfo_flags`
/// then `format_flags`): `WINDOW_SCALE` when the peer sent the option, `BE_LIBERAL` when the
/// connection was picked up mid-stream; `0` for neither.
fn tcp_flags(wscale: u8) -> &'static str {
    let scale = wscale & crate::tcp::WSCALE_FLAG != 0;
    let liberal = wscale & crate::tcp::WSCALE_UNKNOWN != 0;
    match (scale, liberal) {
        (false, false) => "0",
        (true, false) => "WINDOW_SCALE",
        (false, true) => "BE_LIBERAL",
        (true, true) => "WINDOW_SCALE|BE_LIBERAL",
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tcp::{WSCALE_FLAG, WSCALE_UNKNOWN};
    use std::net::Ipv4Addr;

    fn tcp_entry(wscale: [u8; 2]) -> CtEntry {
        let orig = ConnKey::ipv4(
            Ipv4Addr::new(10, 1, 1, 1),
            Ipv4Addr::new(10, 1, 1, 2),
            IPPROTO_TCP,
            1234,
            80,
        )
        .with_zone(1);
        CtEntry {
            orig,
            reply: orig.reverse(),
            zone: 1,
            mark: 1,
            label: 0,
            timeout_s: 86399,
            tcp_states: Some((TcpState::Established, TcpState::Established)),
            helper: None,
            tcp_wscale: wscale,
            parent: None,
        }
    }

    /// `ct_dpif_format_entry` with `verbose`: `id=` before `zone=`, `status=` after it, both
    /// peers' TCP states, window scales only when one is non-zero, flags always.
    #[test]
    fn verbose_dump_prints_what_userspace_ovs_prints() {
        let e = tcp_entry([7 | WSCALE_FLAG, 2 | WSCALE_FLAG]);
        assert_eq!(
            e.format_verbose(false),
            "tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=1234,dport=80),reply=(src=10.1.1.2,dst=10.1.1.1,sport=80,dport=1234),id=0,zone=1,status=0,mark=1,protoinfo=(state_orig=ESTABLISHED,state_reply=ESTABLISHED,wscale_orig=7,wscale_reply=2,flags_orig=WINDOW_SCALE,flags_reply=WINDOW_SCALE)"
        );
        assert_eq!(
            e.format_verbose(true),
            "tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=1234,dport=80),reply=(src=10.1.1.2,dst=10.1.1.1,sport=80,dport=1234),id=0,zone=1,status=0,timeout=86399,mark=1,protoinfo=(state_orig=ESTABLISHED,state_reply=ESTABLISHED,wscale_orig=7,wscale_reply=2,flags_orig=WINDOW_SCALE,flags_reply=WINDOW_SCALE)"
        );
        // The non-verbose line is unchanged.
        assert_eq!(
            e.format(false),
            "tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=1234,dport=80),reply=(src=10.1.1.2,dst=10.1.1.1,sport=80,dport=1234),zone=1,mark=1,protoinfo=(state=ESTABLISHED)"
        );
        // Picked up mid-stream: no scale known, "be liberal".
        let e = tcp_entry([WSCALE_UNKNOWN, WSCALE_UNKNOWN]);
        assert!(e.format_verbose(false).ends_with(
            ",protoinfo=(state_orig=ESTABLISHED,state_reply=ESTABLISHED,flags_orig=BE_LIBERAL,flags_reply=BE_LIBERAL)"
        ));
        // Neither peer sent the option.
        let mut e = tcp_entry([0, 0]);
        e.tcp_states = Some((TcpState::SynSent, TcpState::Closed));
        assert!(e.format_verbose(false).ends_with(
            ",protoinfo=(state_orig=SYN_SENT,state_reply=CLOSED,flags_orig=0,flags_reply=0)"
        ));
    }

    #[test]
    fn verbose_dump_of_an_expected_connection_prints_its_parent_tuple() {
        let data = ConnKey::ipv4(
            Ipv4Addr::new(10, 1, 1, 2),
            Ipv4Addr::new(10, 1, 1, 1),
            IPPROTO_UDP,
            20,
            40001,
        );
        let parent = ConnKey::ipv4(
            Ipv4Addr::new(10, 1, 1, 1),
            Ipv4Addr::new(10, 1, 1, 2),
            IPPROTO_TCP,
            40000,
            21,
        );
        let e = CtEntry {
            orig: data,
            reply: data.reverse(),
            zone: 0,
            mark: 0,
            label: 0x1,
            timeout_s: 30,
            tcp_states: None,
            helper: None,
            tcp_wscale: [0; 2],
            parent: Some(parent),
        };
        assert_eq!(
            e.format_verbose(false),
            "udp,orig=(src=10.1.1.2,dst=10.1.1.1,sport=20,dport=40001),reply=(src=10.1.1.1,dst=10.1.1.2,sport=40001,dport=20),id=0,status=0,labels=0x1,parent=(src=10.1.1.1,dst=10.1.1.2,sport=40000,dport=21)"
        );
        assert_eq!(
            e.format(false),
            "udp,orig=(src=10.1.1.2,dst=10.1.1.1,sport=20,dport=40001),reply=(src=10.1.1.1,dst=10.1.1.2,sport=40001,dport=20),labels=0x1"
        );
    }

    /// Ethernet + IPv4 + TCP (20 + 4 option bytes when `ws` is given) from `a:pa` to `b:pb`.
    #[allow(clippy::too_many_arguments)]
    fn tcp(
        a: [u8; 4],
        b: [u8; 4],
        pa: u16,
        pb: u16,
        seq: u32,
        ack: u32,
        fl: u8,
        ws: Option<u8>,
    ) -> Vec<u8> {
        let opt_len = if ws.is_some() { 4 } else { 0 };
        let mut f = vec![0u8; 14];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let total = (20 + 20 + opt_len) as u16;
        f.extend_from_slice(&[0x45, 0]);
        f.extend_from_slice(&total.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0, 64, 6, 0, 0]);
        f.extend_from_slice(&a);
        f.extend_from_slice(&b);
        f.extend_from_slice(&pa.to_be_bytes());
        f.extend_from_slice(&pb.to_be_bytes());
        f.extend_from_slice(&seq.to_be_bytes());
        f.extend_from_slice(&ack.to_be_bytes());
        f.push((((20 + opt_len) / 4) << 4) as u8);
        f.push(fl);
        f.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
        if let Some(w) = ws {
            f.extend_from_slice(&[3, 3, w, 1]);
        }
        f
    }

    #[test]
    fn verbose_dump_of_a_tracked_handshake_shows_each_peers_window_scale() {
        let ct = crate::Conntrack::new(crate::Config::default());
        let (a, b) = ([10, 1, 1, 1], [10, 1, 1, 2]);
        let opts = crate::CtOpts {
            commit: true,
            ..Default::default()
        };
        let (syn, ack) = (0x02, 0x10);
        for f in [
            tcp(a, b, 1234, 80, 100, 0, syn, Some(7)),
            tcp(b, a, 80, 1234, 300, 101, syn | ack, Some(2)),
            tcp(a, b, 1234, 80, 101, 301, ack, None),
        ] {
            let mut p = [crate::CtPacket {
                checksum_ok: true,
                ..crate::CtPacket::derive(&f)
            }];
            ct.execute(&mut p, &opts, 1_000);
            assert!(!p[0].md.state.contains(crate::CtState::INVALID));
        }
        let d = ct.dump_all(None, 1_000);
        assert_eq!(
            d[0].format_verbose(false),
            "tcp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=1234,dport=80),reply=(src=10.1.1.2,dst=10.1.1.1,sport=80,dport=1234),id=0,status=0,protoinfo=(state_orig=ESTABLISHED,state_reply=ESTABLISHED,wscale_orig=7,wscale_reply=2,flags_orig=WINDOW_SCALE,flags_reply=WINDOW_SCALE)"
        );
    }
}
