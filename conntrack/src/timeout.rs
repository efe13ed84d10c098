//! Every connection timeout, in one place, with its unit in its name.
//!
//! A [`TimeoutPolicy`] holds the same attributes as OVS's userspace timeout policy
//! (`ct_dpif_netdev_tp_def` in OVS 3.1) with the same defaults. As in OVS's userspace datapath,
//! protocols other than TCP and ICMP (UDP and every "other" IP protocol) share the `udp_*`
//! attributes: first packet → `udp_first_s`, more packets in one direction → `udp_single_s`,
//! packets seen in both directions → `udp_multiple_s`.
//!
//! One policy is the default; a zone may have its own ([`crate::Conntrack::set_zone_timeout_policy`]),
//! which then applies to every packet tracked in that zone from then on.

use std::sync::atomic::{AtomicU32, Ordering};

/// Nanoseconds per second.
pub const NS_PER_S: u64 = 1_000_000_000;

/// Connection timeouts, in seconds. `Default` gives OVS 3.1's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeoutPolicy {
    /// After the first SYN (or a mid-stream pickup): 30 s.
    pub tcp_syn_sent_s: u32,
    /// While either side is not yet established: 30 s.
    pub tcp_syn_recv_s: u32,
    /// Both sides established: 24 h.
    pub tcp_established_s: u32,
    /// One side has sent a FIN: 15 min.
    pub tcp_fin_wait_s: u32,
    /// Both sides have sent a FIN: 45 s.
    pub tcp_time_wait_s: u32,
    /// Both sides closed (FIN acknowledged, or RST): 30 s.
    pub tcp_close_s: u32,
    /// UDP/other, first packet: 60 s.
    pub udp_first_s: u32,
    /// UDP/other, more packets in one direction only: 60 s.
    pub udp_single_s: u32,
    /// UDP/other, packets in both directions: 30 s.
    pub udp_multiple_s: u32,
    /// ICMP query seen, no reply yet: 60 s.
    pub icmp_first_s: u32,
    /// ICMP reply seen: 30 s.
    pub icmp_reply_s: u32,
}

impl Default for TimeoutPolicy {
    fn default() -> Self {
        TimeoutPolicy {
            tcp_syn_sent_s: 30,
            tcp_syn_recv_s: 30,
            tcp_established_s: 24 * 60 * 60,
            tcp_fin_wait_s: 15 * 60,
            tcp_time_wait_s: 45,
            tcp_close_s: 30,
            udp_first_s: 60,
            udp_single_s: 60,
            udp_multiple_s: 30,
            icmp_first_s: 60,
            icmp_reply_s: 30,
        }
    }
}

/// A [`TimeoutPolicy`] readable without a lock (each field is one relaxed atomic; a reader
/// racing with an update may see some fields old and some new, each of them valid).
#[derive(Debug)]
pub(crate) struct AtomicPolicy([AtomicU32; 11]);

impl AtomicPolicy {
    pub(crate) fn new(p: TimeoutPolicy) -> Self {
        let a = AtomicPolicy(Default::default());
        a.store(p);
        a
    }

    pub(crate) fn store(&self, p: TimeoutPolicy) {
        let v = [
            p.tcp_syn_sent_s,
            p.tcp_syn_recv_s,
            p.tcp_established_s,
            p.tcp_fin_wait_s,
            p.tcp_time_wait_s,
            p.tcp_close_s,
            p.udp_first_s,
            p.udp_single_s,
            p.udp_multiple_s,
            p.icmp_first_s,
            p.icmp_reply_s,
        ];
        for (a, v) in self.0.iter().zip(v) {
            a.store(v, Ordering::Relaxed);
        }
    }

    #[inline]
    pub(crate) fn load(&self) -> TimeoutPolicy {
        let g = |i: usize| self.0[i].load(Ordering::Relaxed);
        TimeoutPolicy {
            tcp_syn_sent_s: g(0),
            tcp_syn_recv_s: g(1),
            tcp_established_s: g(2),
            tcp_fin_wait_s: g(3),
            tcp_time_wait_s: g(4),
            tcp_close_s: g(5),
            udp_first_s: g(6),
            udp_single_s: g(7),
            udp_multiple_s: g(8),
            icmp_first_s: g(9),
            icmp_reply_s: g(10),
        }
    }
}

/// Which timeout a state machine asks for (OVS's `CT_TM_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tm {
    TcpFirstPacket,
    TcpOpening,
    TcpEstablished,
    TcpClosing,
    TcpFinWait,
    TcpClosed,
    OtherFirst,
    OtherMultiple,
    OtherBidir,
    IcmpFirst,
    IcmpReply,
}

impl TimeoutPolicy {
    /// The timeout, in seconds, for a state (OVS's `tm_to_ct_dpif_tp` mapping).
    pub(crate) fn seconds(&self, tm: Tm) -> u32 {
        match tm {
            Tm::TcpFirstPacket => self.tcp_syn_sent_s,
            Tm::TcpOpening => self.tcp_syn_recv_s,
            Tm::TcpEstablished => self.tcp_established_s,
            Tm::TcpClosing => self.tcp_fin_wait_s,
            Tm::TcpFinWait => self.tcp_time_wait_s,
            Tm::TcpClosed => self.tcp_close_s,
            Tm::OtherFirst => self.udp_first_s,
            Tm::OtherMultiple => self.udp_single_s,
            Tm::OtherBidir => self.udp_multiple_s,
            Tm::IcmpFirst => self.icmp_first_s,
            Tm::IcmpReply => self.icmp_reply_s,
        }
    }

    /// Sets the attribute OVSDB's `CT_Timeout_Policy` calls `key` (the spelling of
    /// `ovs-vsctl add-zone-tp`, e.g. `udp_first`) to `value_s` seconds. The keys the schema has
    /// but OVS's userspace datapath does not use (`tcp_close_wait`, `tcp_last_ack`,
    /// `tcp_syn_sent2`, `tcp_retransmit`, `tcp_unack`) are accepted and change nothing, as in
    /// OVS. False for a key the schema does not have.
    pub fn set_attr(&mut self, key: &str, value_s: u32) -> bool {
        let field = match key {
            "tcp_syn_sent" => &mut self.tcp_syn_sent_s,
            "tcp_syn_recv" => &mut self.tcp_syn_recv_s,
            "tcp_established" => &mut self.tcp_established_s,
            "tcp_fin_wait" => &mut self.tcp_fin_wait_s,
            "tcp_time_wait" => &mut self.tcp_time_wait_s,
            "tcp_close" => &mut self.tcp_close_s,
            "udp_first" => &mut self.udp_first_s,
            "udp_single" => &mut self.udp_single_s,
            "udp_multiple" => &mut self.udp_multiple_s,
            "icmp_first" => &mut self.icmp_first_s,
            "icmp_reply" => &mut self.icmp_reply_s,
            "tcp_close_wait" | "tcp_last_ack" | "tcp_syn_sent2" | "tcp_retransmit"
            | "tcp_unack" => return true,
            _ => return false,
        };
        *field = value_s;
        true
    }

    /// The absolute deadline, in ns, of a connection that enters `tm` at `now_ns`.
    pub(crate) fn deadline_ns(&self, tm: Tm, now_ns: u64) -> u64 {
        now_ns.saturating_add(u64::from(self.seconds(tm)) * NS_PER_S)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ovsdb_timeout_keys_set_their_attribute_and_unknown_keys_are_refused() {
        let mut p = TimeoutPolicy::default();
        assert!(p.set_attr("udp_first", 1));
        assert!(p.set_attr("icmp_reply", 2));
        assert!(p.set_attr("tcp_syn_sent", 3));
        // In the schema, unused by the userspace datapath: accepted, no effect.
        assert!(p.set_attr("tcp_unack", 4));
        assert!(!p.set_attr("udp_firts", 5));
        assert_eq!(
            p,
            TimeoutPolicy {
                udp_first_s: 1,
                icmp_reply_s: 2,
                tcp_syn_sent_s: 3,
                ..TimeoutPolicy::default()
            }
        );
    }
}
