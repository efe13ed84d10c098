//! Megaflow text in Open vSwitch's `dpctl/dump-flows` syntax (non-verbose).
//!
//! Attribute order and value formats follow OVS's `odp_flow_format`: an
//! attribute whose mask is all zero is left out (`recirc_id`, `in_port`,
//! `packet_type` and `eth_type` always print), a partially masked value prints
//! as `value/mask`, and a VLAN-tagged flow prints its outer TPID as `eth_type`,
//! then `vlan(...)` and the rest inside `encap(...)`.
//!
//! Hexadecimal values print as C's `%#x` does (zero is `0`, not `0x0`), e.g.
//! `ipv4(...,tos=0/0xfc,...)`. `ct_state` prints as named flags (`est|trk`)
//! only when its mask is exact, which never happens here: OVS's datapath mask
//! is 32 bits wide while the key's field is 8, so a fully masked `ct_state` prints
//! in the `+flag-flag` form (`ct_state(-new+est-rel-rpl-inv+trk-snat-dnat)`).
//! `ct_tuple4`/`ct_tuple6` print only when the key's `ct_nw_proto` is nonzero
//! and the key's `eth_type` is IPv4/IPv6 respectively (OVS emits no other).

use std::fmt::Write;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::actions::format_actions;
use crate::classifier::Megaflow;
use crate::key::{FRAG_ANY, FRAG_LATER, FlowKey, VLAN_CFI, u48_to_mac};

pub(crate) fn fmt_mac(m: [u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        m[0], m[1], m[2], m[3], m[4], m[5]
    )
}
pub(crate) fn fmt_ip4(v: u32) -> String {
    Ipv4Addr::from(v).to_string()
}
pub(crate) fn fmt_ip6(v: u128) -> String {
    Ipv6Addr::from(v).to_string()
}

const CT_STATE_NAMES: [&str; 8] = ["new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat"];
const TCP_FLAG_NAMES: [&str; 12] = [
    "fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr", "ns", "[200]", "[400]", "[800]",
];

fn flags_exact(out: &mut String, v: u32, names: &[&str]) {
    if v == 0 {
        out.push('0');
        return;
    }
    let mut parts = Vec::new();
    let mut bad = 0;
    for bit in 0..32 {
        if v & (1 << bit) != 0 {
            match names.get(bit) {
                Some(n) => parts.push(n.to_string()),
                None => bad |= 1 << bit,
            }
        }
    }
    if bad != 0 {
        parts.push(format!("{bad:#x}"));
    }
    out.push_str(&parts.join("|"));
}

fn flags_masked(out: &mut String, v: u32, m: u32, full: u32, names: &[&str]) {
    if m == full {
        return flags_exact(out, v, names);
    }
    if m == 0 {
        out.push_str("0/0");
        return;
    }
    for bit in 0..32 {
        if m & (1 << bit) != 0 {
            out.push(if v & (1 << bit) != 0 { '+' } else { '-' });
            out.push_str(names.get(bit).copied().unwrap_or("[Unknown]"));
        }
    }
}

/// `v` as C's `%#x` prints it: `0x`-prefixed hexadecimal, but zero as `0`.
fn c_hex<T: std::fmt::LowerHex + Default + PartialEq>(v: T) -> String {
    if v == T::default() {
        "0".to_string()
    } else {
        format!("{v:#x}")
    }
}

/// Collects `name=value[/mask]` items of one attribute.
struct Attr(Vec<String>);

impl Attr {
    fn new() -> Self {
        Attr(Vec::new())
    }
    fn mac(&mut self, n: &str, v: u64, m: u64) {
        if m != 0 {
            let mut s = format!("{n}={}", fmt_mac(u48_to_mac(v)));
            if m != 0xffff_ffff_ffff {
                s.push('/');
                s.push_str(&fmt_mac(u48_to_mac(m)));
            }
            self.0.push(s);
        }
    }
    fn ip4(&mut self, n: &str, v: u32, m: u32) {
        if m != 0 {
            let mut s = format!("{n}={}", fmt_ip4(v));
            if m != u32::MAX {
                s.push('/');
                s.push_str(&fmt_ip4(m));
            }
            self.0.push(s);
        }
    }
    fn ip6(&mut self, n: &str, v: u128, m: u128) {
        if m != 0 {
            let mut s = format!("{n}={}", fmt_ip6(v));
            if m != u128::MAX {
                s.push('/');
                s.push_str(&fmt_ip6(m));
            }
            self.0.push(s);
        }
    }
    fn dec(&mut self, n: &str, v: u64, m: u64, full: u64) {
        if m != 0 {
            self.0.push(if m == full {
                format!("{n}={v}")
            } else {
                format!("{n}={v}/{m:#x}")
            });
        }
    }
    fn hex(&mut self, n: &str, v: u64, m: u64, full: u64) {
        if m != 0 {
            self.0.push(if m == full {
                format!("{n}={}", c_hex(v))
            } else {
                format!("{n}={}/{}", c_hex(v), c_hex(m))
            });
        }
    }
    fn frag(&mut self, v: u8, m: u8) {
        if m != 0 {
            let t = if v & FRAG_ANY == 0 {
                "no"
            } else if v & FRAG_LATER != 0 {
                "later"
            } else {
                "first"
            };
            self.0.push(format!("frag={t}"));
        }
    }
    fn put(self, out: &mut Vec<String>, name: &str) {
        out.push(format!("{name}({})", self.0.join(",")));
    }
}

fn hexmask32(out: &mut Vec<String>, name: &str, v: u32, m: u32, always: bool) {
    if m == 0 && !always {
        return;
    }
    let vs = c_hex(v);
    if m == u32::MAX || (m == 0 && always) {
        out.push(format!("{name}({vs})"));
    } else {
        out.push(format!("{name}({vs}/{})", c_hex(m)));
    }
}

/// Formats the match part of a megaflow: `key` under `mask`.
pub fn format_key(k: &FlowKey, m: &FlowKey) -> String {
    let mut out: Vec<String> = Vec::new();
    if m.ct_state() != 0 {
        let mut s = String::new();
        // OVS's mask is a u32: an 8-bit mask is never its "exact" (all ones).
        flags_masked(
            &mut s,
            k.ct_state() as u32,
            m.ct_state() as u32,
            u32::MAX,
            &CT_STATE_NAMES,
        );
        out.push(format!("ct_state({s})"));
    }
    if m.ct_zone() != 0 {
        let mut s = c_hex(k.ct_zone());
        if m.ct_zone() != u16::MAX {
            write!(s, "/{}", c_hex(m.ct_zone())).ok();
        }
        out.push(format!("ct_zone({s})"));
    }
    hexmask32(&mut out, "ct_mark", k.ct_mark(), m.ct_mark(), false);
    if m.ct_label() != 0 {
        let mut s = c_hex(k.ct_label());
        if m.ct_label() != u128::MAX {
            write!(s, "/{}", c_hex(m.ct_label())).ok();
        }
        out.push(format!("ct_label({s})"));
    }
    // OVS puts the original tuple in the key only for a tracked packet
    // (`ct_nw_proto` nonzero) of the matching family, and prints it unless
    // its mask is all zero.
    let ct_ports_masked = m.ct_nw_proto() != 0 || m.ct_tp_src() != 0 || m.ct_tp_dst() != 0;
    let tuple4 = k.ct_nw_proto() != 0
        && k.eth_type() == 0x0800
        && (ct_ports_masked || m.ct_nw_src() != 0 || m.ct_nw_dst() != 0);
    let tuple6 = k.ct_nw_proto() != 0
        && k.eth_type() == 0x86dd
        && (ct_ports_masked || m.ct_ipv6_src() != 0 || m.ct_ipv6_dst() != 0);
    if tuple4 {
        let mut a = Attr::new();
        a.ip4("src", k.ct_nw_src(), m.ct_nw_src());
        a.ip4("dst", k.ct_nw_dst(), m.ct_nw_dst());
        a.dec(
            "proto",
            k.ct_nw_proto() as u64,
            m.ct_nw_proto() as u64,
            0xff,
        );
        a.dec("tp_src", k.ct_tp_src() as u64, m.ct_tp_src() as u64, 0xffff);
        a.dec("tp_dst", k.ct_tp_dst() as u64, m.ct_tp_dst() as u64, 0xffff);
        a.put(&mut out, "ct_tuple4");
    } else if tuple6 {
        let mut a = Attr::new();
        a.ip6("src", k.ct_ipv6_src(), m.ct_ipv6_src());
        a.ip6("dst", k.ct_ipv6_dst(), m.ct_ipv6_dst());
        a.dec(
            "proto",
            k.ct_nw_proto() as u64,
            m.ct_nw_proto() as u64,
            0xff,
        );
        a.dec(
            "src_port",
            k.ct_tp_src() as u64,
            m.ct_tp_src() as u64,
            0xffff,
        );
        a.dec(
            "dst_port",
            k.ct_tp_dst() as u64,
            m.ct_tp_dst() as u64,
            0xffff,
        );
        a.put(&mut out, "ct_tuple6");
    }
    hexmask32(&mut out, "recirc_id", k.recirc_id(), m.recirc_id(), true);
    hexmask32(&mut out, "dp_hash", k.dp_hash(), m.dp_hash(), false);
    if m.in_port() == u32::MAX || m.in_port() == 0 {
        out.push(format!("in_port({})", k.in_port()));
    } else {
        out.push(format!("in_port({}/{:#x})", k.in_port(), m.in_port()));
    }
    if m.metadata() != 0 {
        out.push(format!("metadata({:#x}/{:#x})", k.metadata(), m.metadata()));
    }
    out.push("packet_type(ns=0,id=0)".into());
    if m.eth_src_u48() != 0 || m.eth_dst_u48() != 0 {
        let mut a = Attr::new();
        a.mac("src", k.eth_src_u48(), m.eth_src_u48());
        a.mac("dst", k.eth_dst_u48(), m.eth_dst_u48());
        a.put(&mut out, "eth");
    }
    let tags = [
        (k.vlan0_tpid(), k.vlan0_tci(), m.vlan0_tci()),
        (k.vlan1_tpid(), k.vlan1_tci(), m.vlan1_tci()),
    ];
    let mut inner = String::new();
    format_l3(&mut inner, k, m);
    let mut tail = inner;
    for &(tpid, tci, tmask) in tags.iter().rev() {
        if tci & VLAN_CFI == 0 && tmask == 0 {
            continue;
        }
        let mut v = Vec::new();
        if tci & 0x0fff != 0 || tmask & 0x0fff != 0 {
            let mut s = format!("vid={}", tci & 0x0fff);
            if tmask & 0x0fff != 0x0fff {
                write!(s, "/{:#x}", tmask & 0x0fff).ok();
            }
            v.push(s);
        }
        if tci >> 13 != 0 || tmask >> 13 != 0 {
            let mut s = format!("pcp={}", tci >> 13);
            if tmask >> 13 != 7 {
                write!(s, "/{:#x}", tmask >> 13).ok();
            }
            v.push(s);
        }
        if tci & VLAN_CFI == 0 {
            v.push("cfi=0".into());
        }
        tail = format!(
            "eth_type({:#06x}),vlan({}),encap({tail})",
            tpid,
            v.join(",")
        );
    }
    out.push(tail);
    out.join(",")
}

fn format_l3(s: &mut String, k: &FlowKey, m: &FlowKey) {
    let mut out: Vec<String> = Vec::new();
    if m.eth_type() == u16::MAX || m.eth_type() == 0 {
        out.push(format!("eth_type({:#06x})", k.eth_type()));
    } else {
        out.push(format!(
            "eth_type({:#06x}/{:#06x})",
            k.eth_type(),
            m.eth_type()
        ));
    }
    let l3_masked = m.nw_proto() != 0 || m.nw_frag() != 0 || m.nw_tos() != 0 || m.nw_ttl() != 0;
    match k.eth_type() {
        0x0800 if l3_masked || m.nw_src() != 0 || m.nw_dst() != 0 => {
            let mut a = Attr::new();
            a.ip4("src", k.nw_src(), m.nw_src());
            a.ip4("dst", k.nw_dst(), m.nw_dst());
            a.dec("proto", k.nw_proto() as u64, m.nw_proto() as u64, 0xff);
            a.hex("tos", k.nw_tos() as u64, m.nw_tos() as u64, 0xff);
            a.dec("ttl", k.nw_ttl() as u64, m.nw_ttl() as u64, 0xff);
            a.frag(k.nw_frag(), m.nw_frag());
            a.put(&mut out, "ipv4");
            format_l4(&mut out, k, m, false);
        }
        0x86dd if l3_masked || m.ipv6_src() != 0 || m.ipv6_dst() != 0 || m.ipv6_label() != 0 => {
            let mut a = Attr::new();
            a.ip6("src", k.ipv6_src(), m.ipv6_src());
            a.ip6("dst", k.ipv6_dst(), m.ipv6_dst());
            a.hex(
                "label",
                k.ipv6_label() as u64,
                m.ipv6_label() as u64,
                0xfffff,
            );
            a.dec("proto", k.nw_proto() as u64, m.nw_proto() as u64, 0xff);
            a.hex("tclass", k.nw_tos() as u64, m.nw_tos() as u64, 0xff);
            a.dec("hlimit", k.nw_ttl() as u64, m.nw_ttl() as u64, 0xff);
            a.frag(k.nw_frag(), m.nw_frag());
            a.put(&mut out, "ipv6");
            format_l4(&mut out, k, m, true);
        }
        0x0806 | 0x8035
            if l3_masked
                || m.nw_src() != 0
                || m.nw_dst() != 0
                || m.arp_sha_u48() != 0
                || m.arp_tha_u48() != 0 =>
        {
            let mut a = Attr::new();
            a.ip4("sip", k.nw_src(), m.nw_src());
            a.ip4("tip", k.nw_dst(), m.nw_dst());
            a.dec(
                "op",
                k.nw_proto() as u64,
                m.nw_proto() as u64 | if m.nw_proto() == 0xff { 0xff00 } else { 0 },
                0xffff,
            );
            a.mac("sha", k.arp_sha_u48(), m.arp_sha_u48());
            a.mac("tha", k.arp_tha_u48(), m.arp_tha_u48());
            a.put(&mut out, "arp");
        }
        _ => {}
    }
    s.push_str(&out.join(","));
}

fn format_l4(out: &mut Vec<String>, k: &FlowKey, m: &FlowKey, v6: bool) {
    if k.nw_frag() & FRAG_LATER != 0 {
        return;
    }
    let ports = m.tp_src() != 0 || m.tp_dst() != 0;
    match k.nw_proto() {
        6 | 17 | 132 => {
            if ports {
                let mut a = Attr::new();
                a.dec("src", k.tp_src() as u64, m.tp_src() as u64, 0xffff);
                a.dec("dst", k.tp_dst() as u64, m.tp_dst() as u64, 0xffff);
                a.put(
                    out,
                    ["tcp", "udp", "sctp"][match k.nw_proto() {
                        6 => 0,
                        17 => 1,
                        _ => 2,
                    }],
                );
            }
            if k.nw_proto() == 6 && m.tcp_flags() != 0 {
                let mut s = String::new();
                flags_masked(
                    &mut s,
                    k.tcp_flags() as u32,
                    m.tcp_flags() as u32 & 0x0fff,
                    0x0fff,
                    &TCP_FLAG_NAMES,
                );
                out.push(format!("tcp_flags({s})"));
            }
        }
        1 if !v6 && ports => {
            let mut a = Attr::new();
            a.dec("type", k.tp_src() as u64, m.tp_src() as u64 & 0xff, 0xff);
            a.dec("code", k.tp_dst() as u64, m.tp_dst() as u64 & 0xff, 0xff);
            a.put(out, "icmp");
        }
        58 if v6 && ports => {
            let mut a = Attr::new();
            a.dec("type", k.tp_src() as u64, m.tp_src() as u64 & 0xff, 0xff);
            a.dec("code", k.tp_dst() as u64, m.tp_dst() as u64 & 0xff, 0xff);
            a.put(out, "icmpv6");
            if m.nd_target() != 0 || m.arp_sha_u48() != 0 || m.arp_tha_u48() != 0 {
                let mut a = Attr::new();
                a.ip6("target", k.nd_target(), m.nd_target());
                a.mac("sll", k.arp_sha_u48(), m.arp_sha_u48());
                a.mac("tll", k.arp_tha_u48(), m.arp_tha_u48());
                a.put(out, "nd");
            }
        }
        _ => {}
    }
}

/// OVS's TCP flag letters for flow stats (`flags:S.`).
pub fn format_tcp_flags_letters(f: u16) -> String {
    if f == 0 {
        return "none".into();
    }
    let mut s = String::new();
    for (bit, c) in [
        (0x02, "S"),
        (0x01, "F"),
        (0x08, "P"),
        (0x04, "R"),
        (0x20, "U"),
        (0x10, "."),
        (0x40, "E"),
        (0x80, "C"),
        (0x100, "N"),
        (0x200, "[200]"),
        (0x400, "[400]"),
        (0x800, "[800]"),
    ] {
        if f & bit != 0 {
            s.push_str(c);
        }
    }
    s
}

/// One `dpctl/dump-flows` line for `flow`; `now_ns` is the datapath clock.
pub fn format_megaflow(flow: &Megaflow, now_ns: u64) -> String {
    let st = flow.stats();
    let mut s = format_key(&flow.orig, &flow.mask);
    write!(s, ", packets:{}, bytes:{}, used:", st.packets, st.bytes).ok();
    if st.used_ns == 0 {
        s.push_str("never");
    } else {
        let ms = now_ns.saturating_sub(st.used_ns) / 1_000_000;
        write!(s, "{:.3}s", ms as f64 / 1000.0).ok();
    }
    if st.tcp_flags != 0 {
        write!(s, ", flags:{}", format_tcp_flags_letters(st.tcp_flags)).ok();
    }
    write!(s, ", actions:{}", format_actions(&flow.actions)).ok();
    s
}
