//! Flushing by partial tuple: which connections a `dpctl/flush-conntrack` or `NXT_CT_FLUSH`
//! request with some fields left out selects, with Open vSwitch 3.1's rules
//! (`ct_dpif_entry_cmp`), in either or both directions.
//!
//! ```text
//!  FlushMatch { ipv6, proto, orig: TupleMatch, reply: TupleMatch }
//!        │ flush_matching(zone, &m, now_ns)
//!        ▼
//!  dump chunk (one shard at a time) ─► FlushMatch::matches(entry) ─► flush(Tuple(entry.orig))
//! ```
//!
//! OVS's semantics, kept here on purpose:
//! * a field left out (address `None`, port 0) matches anything; the address family and the
//!   protocol, when given, are compared with the original direction's;
//! * when the match's protocol is ICMP or ICMPv6, the identifier, type and code are compared
//!   exactly, even when they are zero (OVS's "partial ICMP needs the whole ICMP part");
//! * ports and ICMP fields share storage as in OVS's `struct ofp_ct_tuple` (source port =
//!   identifier; destination port = `code << 8 | type`), so a match without a protocol but with
//!   ports compares them with an ICMP connection's identifier and type that way;
//! * the selection is made on a dump, then each selected connection is removed by its original
//!   tuple, so a connection that appears or changes in between is left alone.
//!
//! The exact-five-tuple case (a full original tuple and nothing else) is not handled here: OVS
//! looks that one up directly, which is [`FlushFilter::Tuple`].

use std::net::IpAddr;

use crate::conntrack::Conntrack;
use crate::dump::CtEntry;
use crate::key::{ConnKey, IPPROTO_ICMP, IPPROTO_ICMPV6};
use crate::maint::{DumpCursor, FlushFilter};

/// Entries examined per dump chunk while flushing by match.
const CHUNK: usize = 4096;

/// The fields of one direction of a [`FlushMatch`]; what is left out matches anything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TupleMatch {
    /// Source address; `None` matches any.
    pub src: Option<IpAddr>,
    /// Destination address; `None` matches any.
    pub dst: Option<IpAddr>,
    /// Source port, 0 for any. With an ICMP or ICMPv6 [`FlushMatch::proto`]: the echo
    /// identifier, compared exactly.
    pub src_port: u16,
    /// Destination port, 0 for any. With an ICMP or ICMPv6 [`FlushMatch::proto`]: the type in
    /// the low byte and the code in the high byte, compared exactly.
    pub dst_port: u16,
}

impl TupleMatch {
    /// An ICMP part: identifier, type and code (compared exactly under an ICMP match).
    pub fn icmp(src: Option<IpAddr>, dst: Option<IpAddr>, id: u16, ty: u8, code: u8) -> Self {
        TupleMatch {
            src,
            dst,
            src_port: id,
            dst_port: u16::from(code) << 8 | u16::from(ty),
        }
    }
}

/// Which connections [`Conntrack::flush_matching`] removes (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlushMatch {
    /// Address family of the original tuple: `Some(false)` IPv4 only, `Some(true)` IPv6 only,
    /// `None` either.
    pub ipv6: Option<bool>,
    /// IP protocol of the connection, 0 for any.
    pub proto: u8,
    /// Fields of the original direction.
    pub orig: TupleMatch,
    /// Fields of the reply direction.
    pub reply: TupleMatch,
}

/// A key's ports as OVS's tuple union holds them: ICMP identifier and `code << 8 | type`.
fn ports_of(k: &ConnKey) -> (u16, u16) {
    if k.is_icmp() {
        // rvs tracks echo-like messages only, whose code is 0.
        (k.src_port(), u16::from(k.icmp_type()))
    } else {
        (k.src_port(), k.dst_port())
    }
}

fn addr_matches(want: Option<IpAddr>, have: IpAddr) -> bool {
    want.is_none_or(|w| w == have)
}

impl FlushMatch {
    fn is_icmp(&self) -> bool {
        self.proto == IPPROTO_ICMP || self.proto == IPPROTO_ICMPV6
    }

    fn tuple_matches(&self, t: &TupleMatch, k: &ConnKey) -> bool {
        if !addr_matches(t.src, k.src_addr()) || !addr_matches(t.dst, k.dst_addr()) {
            return false;
        }
        let (sport, dport) = ports_of(k);
        if self.is_icmp() {
            t.src_port == sport && t.dst_port == dport
        } else {
            (t.src_port == 0 || t.src_port == sport) && (t.dst_port == 0 || t.dst_port == dport)
        }
    }

    /// True when `e` is selected (zones are not looked at: the caller filters them).
    pub fn matches(&self, e: &CtEntry) -> bool {
        if self.ipv6.is_some_and(|v6| v6 != e.orig.is_ipv6()) {
            return false;
        }
        if self.proto != 0 && self.proto != e.orig.proto() {
            return false;
        }
        self.tuple_matches(&self.orig, &e.orig) && self.tuple_matches(&self.reply, &e.reply)
    }
}

impl Conntrack {
    /// Removes every connection of `zone` (all zones when `None`) that `m` selects; returns
    /// how many. Works on a chunked dump (one shard's read lock at a time), then removes each
    /// selected connection by its original tuple with [`Conntrack::flush`].
    pub fn flush_matching(&self, zone: Option<u16>, m: &FlushMatch, now_ns: u64) -> usize {
        let mut removed = 0;
        let mut cursor = Some(DumpCursor::START);
        while let Some(c) = cursor {
            let (entries, next) = self.dump(zone, c, CHUNK, now_ns);
            for e in entries.iter().filter(|e| m.matches(e)) {
                removed += self.flush(FlushFilter::Tuple(e.orig));
            }
            cursor = next;
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;
    use crate::conntrack::Config;
    use crate::meta::{CtOpts, CtPacket};

    const A: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 2);

    fn v4(a: Ipv4Addr) -> Option<IpAddr> {
        Some(IpAddr::V4(a))
    }

    fn eth_ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, l4: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&[0x08, 0x00]);
        let total = (20 + l4.len()) as u16;
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        ip.extend_from_slice(&src.octets());
        ip.extend_from_slice(&dst.octets());
        let c = crate::internet_checksum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(l4);
        f
    }

    /// UDP without checksum (0 = not computed, accepted on IPv4).
    fn udp(src: Ipv4Addr, dst: Ipv4Addr, sport: u16, dport: u16) -> Vec<u8> {
        let mut l4 = Vec::new();
        l4.extend_from_slice(&sport.to_be_bytes());
        l4.extend_from_slice(&dport.to_be_bytes());
        l4.extend_from_slice(&8u16.to_be_bytes());
        l4.extend_from_slice(&[0, 0]);
        eth_ipv4(src, dst, 17, &l4)
    }

    fn echo(src: Ipv4Addr, dst: Ipv4Addr, id: u16) -> Vec<u8> {
        let mut l4 = vec![8, 0, 0, 0];
        l4.extend_from_slice(&id.to_be_bytes());
        l4.extend_from_slice(&[0, 1]);
        let c = crate::internet_checksum(&l4);
        l4[2..4].copy_from_slice(&c.to_be_bytes());
        eth_ipv4(src, dst, 1, &l4)
    }

    fn commit(ct: &Conntrack, frame: &[u8], zone: u16) {
        let mut pkts = [CtPacket::derive(frame)];
        let opts = CtOpts {
            zone,
            commit: true,
            ..CtOpts::default()
        };
        ct.execute(&mut pkts, &opts, 1);
        assert!(!ct.is_empty());
    }

    /// OVS's "ct flush" scenario state: UDP 10.1.1.1:1 -> 10.1.1.2:2 in zone 0, the other way
    /// round in zone 5, and a ping 10.1.1.2 -> 10.1.1.1 (id 7) in zone 5.
    fn table() -> Conntrack {
        let ct = Conntrack::new(Config::default());
        commit(&ct, &udp(A, B, 1, 2), 0);
        commit(&ct, &udp(B, A, 2, 1), 5);
        commit(&ct, &echo(B, A, 7), 5);
        assert_eq!(ct.len(), 3);
        ct
    }

    fn origs(ct: &Conntrack) -> Vec<(IpAddr, u8, u16)> {
        let mut v: Vec<_> = ct
            .dump_all(None, 1)
            .iter()
            .map(|e| (e.orig.src_addr(), e.orig.proto(), e.zone))
            .collect();
        v.sort();
        v
    }

    fn udp_match(orig: TupleMatch, reply: TupleMatch) -> FlushMatch {
        FlushMatch {
            ipv6: Some(false),
            proto: 17,
            orig,
            reply,
        }
    }

    #[test]
    fn partial_source_port_selects_one_direction_across_zones() {
        let ct = table();
        let m = udp_match(
            TupleMatch {
                src_port: 1,
                ..TupleMatch::default()
            },
            TupleMatch::default(),
        );
        assert_eq!(ct.flush_matching(None, &m, 1), 1);
        assert_eq!(
            origs(&ct),
            vec![(IpAddr::V4(B), 1, 5), (IpAddr::V4(B), 17, 5)]
        );
    }

    #[test]
    fn partial_match_honours_the_zone() {
        let ct = table();
        let m = FlushMatch {
            orig: TupleMatch {
                dst: v4(A),
                ..TupleMatch::default()
            },
            ..FlushMatch::default()
        };
        // Both zone-5 connections go to 10.1.1.1; zone 0 has none.
        assert_eq!(ct.flush_matching(Some(0), &m, 1), 0);
        assert_eq!(ct.flush_matching(Some(5), &m, 1), 2);
        assert_eq!(origs(&ct), vec![(IpAddr::V4(A), 17, 0)]);
    }

    #[test]
    fn reply_direction_fields_are_compared_with_the_reply_tuple() {
        let ct = table();
        // Reply source 10.1.1.2 is the zone-0 UDP connection's (orig 10.1.1.1 -> 10.1.1.2).
        let m = FlushMatch {
            reply: TupleMatch {
                src: v4(B),
                ..TupleMatch::default()
            },
            ..FlushMatch::default()
        };
        assert_eq!(ct.flush_matching(None, &m, 1), 1);
        assert_eq!(
            origs(&ct),
            vec![(IpAddr::V4(B), 1, 5), (IpAddr::V4(B), 17, 5)]
        );
    }

    #[test]
    fn icmp_match_compares_id_type_and_code_exactly_in_both_directions() {
        let ct = table();
        let icmp = |orig, reply| FlushMatch {
            ipv6: Some(false),
            proto: 1,
            orig,
            reply,
        };
        let any = TupleMatch::default();
        let req = |id, ty, code| TupleMatch::icmp(v4(B), v4(A), id, ty, code);
        // Left-out identifier means identifier 0, not "any".
        assert_eq!(ct.flush_matching(None, &icmp(req(0, 8, 0), any), 1), 0);
        assert_eq!(ct.flush_matching(None, &icmp(req(7, 0, 0), any), 1), 0);
        // The reply part is compared too (id 0, type 0, code 0 when left out): OVS 3.1 flushes
        // nothing with `ct_nw_proto=1,icmp_id=7,icmp_type=8,icmp_code=0` alone (checked on
        // ovs-vswitchd), and flushes the ping once the reply says `icmp_id=7`.
        assert_eq!(ct.flush_matching(None, &icmp(req(7, 8, 0), any), 1), 0);
        let reply = TupleMatch::icmp(None, None, 7, 0, 0);
        assert_eq!(ct.flush_matching(None, &icmp(req(7, 8, 1), reply), 1), 0);
        assert_eq!(ct.flush_matching(None, &icmp(req(7, 8, 0), reply), 1), 1);
        assert_eq!(ct.len(), 2);
    }

    #[test]
    fn ports_without_protocol_see_icmp_id_and_type() {
        let ct = table();
        // No protocol: source port 7 is the ping's identifier (OVS's shared tuple storage).
        let m = FlushMatch {
            orig: TupleMatch {
                src_port: 7,
                dst_port: 8,
                ..TupleMatch::default()
            },
            ..FlushMatch::default()
        };
        assert_eq!(ct.flush_matching(None, &m, 1), 1);
        assert_eq!(
            origs(&ct),
            vec![(IpAddr::V4(A), 17, 0), (IpAddr::V4(B), 17, 5)]
        );
    }

    #[test]
    fn family_and_protocol_filter() {
        let ct = table();
        let v6 = FlushMatch {
            ipv6: Some(true),
            ..FlushMatch::default()
        };
        assert_eq!(ct.flush_matching(None, &v6, 1), 0);
        let tcp = FlushMatch {
            proto: 6,
            ..FlushMatch::default()
        };
        assert_eq!(ct.flush_matching(None, &tcp, 1), 0);
        let other_addr = FlushMatch {
            orig: TupleMatch {
                src: Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
                ..TupleMatch::default()
            },
            ..FlushMatch::default()
        };
        assert_eq!(ct.flush_matching(None, &other_addr, 1), 0);
        let udp = FlushMatch {
            proto: 17,
            ..FlushMatch::default()
        };
        assert_eq!(ct.flush_matching(None, &udp, 1), 2);
        assert_eq!(origs(&ct), vec![(IpAddr::V4(B), 1, 5)]);
    }

    #[test]
    fn empty_match_selects_everything_in_the_zone() {
        let ct = table();
        assert_eq!(ct.flush_matching(Some(5), &FlushMatch::default(), 1), 2);
        assert_eq!(ct.flush_matching(None, &FlushMatch::default(), 1), 1);
        assert!(ct.is_empty());
    }
}
