//! Printing a [`Match`] as `ovs-ofctl` does (OVS `match_format()`): the
//! same field order, names, shorthand folding (`tcp`, `icmp6`, `arp`...),
//! number bases and mask spellings.

use super::value::{
    CT_STATE_FLAGS, TCP_FLAG_NAMES, TUN_FLAG_NAMES, format_flags, format_flags_masked,
    format_ipv4_masked, format_ipv6_masked, format_mac_masked, port_name,
};
use super::{
    ETH_TYPE_ARP, ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_MPLS, ETH_TYPE_MPLS_MCAST, ETH_TYPE_RARP,
    Match,
};
use super::{IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP};
use crate::field::{Field, Prereq};

/// OpenFlow's default flow priority, which OVS does not print.
const OFP_DEFAULT_PRIORITY: u16 = 0x8000;

struct Out {
    items: Vec<String>,
}

impl Out {
    fn push(&mut self, s: String) {
        self.items.push(s);
    }

    /// `name=0x%x[/0x%x]` (OVS `format_uint32_masked`/`format_be64_masked`).
    fn hex_masked(&mut self, name: &str, vm: Option<(u128, u128)>, full: u128) {
        if let Some((v, m)) = vm {
            if m == full {
                self.push(format!("{name}={}", c_hex(v)));
            } else {
                self.push(format!("{name}={}/{}", c_hex(v), c_hex(m)));
            }
        }
    }

    /// `name=%u` or `name=0x%x/0x%x` (OVS `format_be16_masked`).
    fn dec16_masked(&mut self, name: &str, vm: Option<(u128, u128)>) {
        if let Some((v, m)) = vm {
            if m == 0xffff {
                self.push(format!("{name}={v}"));
            } else {
                self.push(format!("{name}=0x{v:x}/0x{m:x}"));
            }
        }
    }

    fn ipv4(&mut self, name: &str, vm: Option<(u128, u128)>) {
        if let Some((v, m)) = vm {
            self.push(format!("{name}={}", format_ipv4_masked(v as u32, m as u32)));
        }
    }

    fn ipv6(&mut self, name: &str, vm: Option<(u128, u128)>) {
        if let Some((v, m)) = vm {
            self.push(format!("{name}={}", format_ipv6_masked(v, m)));
        }
    }

    fn mac(&mut self, name: &str, vm: Option<(u128, u128)>) {
        if let Some((v, m)) = vm {
            self.push(format!("{name}={}", format_mac_masked(v, m)));
        }
    }

    fn dec(&mut self, name: &str, vm: Option<(u128, u128)>) {
        if let Some((v, _)) = vm {
            self.push(format!("{name}={v}"));
        }
    }
}

/// C's `%#x`: `0` for zero, else `0x` and lowercase hex.
fn c_hex(v: u128) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

/// OVS `ds_put_hex`: `0x` and the big-endian bytes without leading zeros; `0` for zero.
fn put_hex(v: u128) -> String {
    c_hex(v)
}

pub(super) fn format_match(m: &Match, priority: Option<u16>) -> String {
    let mut o = Out { items: Vec::new() };
    let g = |f: Field| m.value_mask(f);
    if let Some(p) = priority
        && p != OFP_DEFAULT_PRIORITY
    {
        o.push(format!("priority={p}"));
    }
    o.hex_masked("pkt_mark", g(Field::PktMark), 0xffff_ffff);
    o.hex_masked("recirc_id", g(Field::RecircId), 0xffff_ffff);
    o.hex_masked("dp_hash", g(Field::DpHash), 0xffff_ffff);
    o.dec("conj_id", g(Field::ConjId));
    if let Some((v, _)) = g(Field::ActsetOutput) {
        o.push(format!("actset_output={}", port_name(v as u32)));
    }
    if let Some((v, mask)) = g(Field::CtState) {
        let (v, mask) = (v as u32, mask as u32 & 0xff);
        if mask == 0xff {
            o.push(format!("ct_state={}", format_flags(v, &CT_STATE_FLAGS)));
        } else {
            o.push(format!(
                "ct_state={}",
                format_flags_masked(v, mask, 0xff, &CT_STATE_FLAGS)
            ));
        }
    }
    if let Some((v, mask)) = g(Field::CtZone) {
        if mask == 0xffff {
            o.push(format!("ct_zone={v}"));
        } else {
            o.push(format!("ct_zone=0x{v:x}/0x{mask:x}"));
        }
    }
    o.hex_masked("ct_mark", g(Field::CtMark), 0xffff_ffff);
    if let Some((v, mask)) = g(Field::CtLabel) {
        if mask == u128::MAX {
            o.push(format!("ct_label={}", put_hex(v)));
        } else {
            o.push(format!("ct_label={}/{}", put_hex(v), put_hex(mask)));
        }
    }
    o.ipv4("ct_nw_src", g(Field::CtNwSrc));
    o.ipv6("ct_ipv6_src", g(Field::CtIpv6Src));
    o.ipv4("ct_nw_dst", g(Field::CtNwDst));
    o.ipv6("ct_ipv6_dst", g(Field::CtIpv6Dst));
    if let Some((v, _)) = g(Field::CtNwProto) {
        o.push(format!("ct_nw_proto={v}"));
        o.dec16_masked("ct_tp_src", g(Field::CtTpSrc));
        o.dec16_masked("ct_tp_dst", g(Field::CtTpDst));
    }
    let mut dl_type = m.eth_type();
    if let Some((pt, _)) = g(Field::PacketType).filter(|(pt, _)| *pt != 0) {
        // OVS put_u16_masked(): decimal up to 9, else hex.
        let u16_text = |v: u128| {
            if v > 9 {
                format!("{v:#x}")
            } else {
                v.to_string()
            }
        };
        o.push(format!(
            "packet_type=({},{})",
            u16_text(pt >> 16),
            u16_text(pt & 0xffff)
        ));
        if pt >> 16 == 1 {
            dl_type = Some((pt & 0xffff) as u16);
        }
    } else if m.contains(Field::RecircId)
        && (m.contains(Field::PacketType) || m.iter().any(|e| e.field.prereq() != Prereq::None))
    {
        // A recirc_id match marks a megaflow, for which OVS spells out the
        // (implied) Ethernet packet type.
        o.push("eth".into());
    }
    // OVS's nw_proto slot holds ip_proto and arp_op.
    let nw_proto = m.value(Field::IpProto).or_else(|| m.value(Field::ArpOp));
    let mut skip_type = false;
    let mut skip_proto = false;
    if m.contains(Field::EthType) {
        skip_type = true;
        let ip_name = |proto: Option<u128>, v6: bool| -> (&'static str, bool) {
            match (proto.map(|p| p as u8), v6) {
                (Some(IPPROTO_ICMP), false) => ("icmp", true),
                (Some(IPPROTO_ICMPV6), true) => ("icmp6", true),
                (Some(IPPROTO_TCP), false) => ("tcp", true),
                (Some(IPPROTO_TCP), true) => ("tcp6", true),
                (Some(IPPROTO_UDP), false) => ("udp", true),
                (Some(IPPROTO_UDP), true) => ("udp6", true),
                (Some(IPPROTO_SCTP), false) => ("sctp", true),
                (Some(IPPROTO_SCTP), true) => ("sctp6", true),
                (_, false) => ("ip", false),
                (_, true) => ("ipv6", false),
            }
        };
        match dl_type {
            Some(ETH_TYPE_IP) | Some(ETH_TYPE_IPV6) => {
                let (name, skip) = ip_name(m.value(Field::IpProto), dl_type == Some(ETH_TYPE_IPV6));
                skip_proto = skip;
                o.push(name.into());
            }
            Some(ETH_TYPE_ARP) => o.push("arp".into()),
            Some(ETH_TYPE_RARP) => o.push("rarp".into()),
            Some(ETH_TYPE_MPLS) => o.push("mpls".into()),
            Some(ETH_TYPE_MPLS_MCAST) => o.push("mplsm".into()),
            _ => skip_type = false,
        }
    }
    for n in 0..16 {
        o.hex_masked(&format!("reg{n}"), g(Field::Reg(n)), 0xffff_ffff);
    }
    o.hex_masked("tun_id", g(Field::TunId), u64::MAX as u128);
    o.ipv4("tun_src", g(Field::TunSrc));
    o.ipv4("tun_dst", g(Field::TunDst));
    o.ipv6("tun_ipv6_src", g(Field::TunIpv6Src));
    o.ipv6("tun_ipv6_dst", g(Field::TunIpv6Dst));
    o.dec16_masked("tun_gbp_id", g(Field::TunGbpId));
    if let Some((v, _)) = g(Field::TunGbpFlags) {
        o.push(format!("tun_gbp_flags={}", c_hex(v)));
    }
    if let Some((v, mask)) = g(Field::TunFlags)
        && mask & 0x1 != 0
    {
        o.push(format!(
            "tun_flags={}",
            format_flags_masked(v as u32 & 1, mask as u32 & 1, 0xf, &TUN_FLAG_NAMES)
        ));
    }
    o.hex_masked("metadata", g(Field::Metadata), u64::MAX as u128);
    if let Some((v, _)) = g(Field::InPort) {
        o.push(format!("in_port={}", port_name(v as u32)));
    }
    format_vlan(m, &mut o);
    o.mac("dl_src", g(Field::EthSrc));
    o.mac("dl_dst", g(Field::EthDst));
    if !skip_type && let Some(t) = m.eth_type() {
        o.push(format!("dl_type=0x{t:04x}"));
    }
    let is_arp = matches!(dl_type, Some(ETH_TYPE_ARP | ETH_TYPE_RARP));
    if dl_type == Some(ETH_TYPE_IPV6) {
        o.ipv6("ipv6_src", g(Field::Ipv6Src));
        o.ipv6("ipv6_dst", g(Field::Ipv6Dst));
        if let Some((v, mask)) = g(Field::Ipv6Label) {
            if mask == 0xffff_ffff {
                o.push(format!("ipv6_label=0x{v:05x}"));
            } else {
                o.push(format!("ipv6_label=0x{v:05x}/0x{mask:05x}"));
            }
        }
    } else if is_arp {
        o.ipv4("arp_spa", g(Field::ArpSpa));
        o.ipv4("arp_tpa", g(Field::ArpTpa));
    } else {
        o.ipv4("nw_src", g(Field::Ipv4Src));
        o.ipv4("nw_dst", g(Field::Ipv4Dst));
    }
    if !skip_proto && let Some(p) = nw_proto {
        o.push(if is_arp {
            format!("arp_op={p}")
        } else {
            format!("nw_proto={p}")
        });
    }
    if is_arp {
        o.mac("arp_sha", g(Field::ArpSha));
        o.mac("arp_tha", g(Field::ArpTha));
    }
    if let Some((v, _)) = g(Field::IpDscp) {
        o.push(format!("nw_tos={}", (v << 2) & 0xfc));
    }
    o.dec("nw_ecn", g(Field::IpEcn));
    o.dec("nw_ttl", g(Field::NwTtl));
    o.dec("mpls_label", g(Field::MplsLabel));
    o.dec("mpls_tc", g(Field::MplsTc));
    o.dec("mpls_ttl", g(Field::MplsTtl));
    o.dec("mpls_bos", g(Field::MplsBos));
    if let Some((v, mask)) = g(Field::IpFrag) {
        let (any, later) = (v & 1 != 0, v & 2 != 0);
        let text = match mask & 3 {
            3 => match (any, later) {
                (true, true) => "later",
                (true, false) => "first",
                (false, true) => "<error>",
                (false, false) => "no",
            },
            1 => {
                if any {
                    "yes"
                } else {
                    "no"
                }
            }
            _ => {
                if later {
                    "later"
                } else {
                    "not_later"
                }
            }
        };
        o.push(format!("nw_frag={text}"));
    }
    let proto = m.ip_proto();
    let icmp16 = |vm: Option<(u128, u128)>| vm.map(|(v, _)| (v, 0xffff));
    if dl_type == Some(ETH_TYPE_IP) && proto == Some(IPPROTO_ICMP) {
        o.dec16_masked("icmp_type", icmp16(g(Field::Icmpv4Type)));
        o.dec16_masked("icmp_code", icmp16(g(Field::Icmpv4Code)));
    } else if dl_type == Some(ETH_TYPE_IPV6) && proto == Some(IPPROTO_ICMPV6) {
        o.dec16_masked("icmp_type", icmp16(g(Field::Icmpv6Type)));
        o.dec16_masked("icmp_code", icmp16(g(Field::Icmpv6Code)));
        o.ipv6("nd_target", g(Field::NdTarget));
        o.mac("nd_sll", g(Field::NdSll));
        o.mac("nd_tll", g(Field::NdTll));
        if let Some((v, mask)) = g(Field::NdReserved) {
            if mask == 0xffff_ffff {
                o.push(format!("nd_reserved={v}"));
            } else {
                o.push(format!("nd_reserved=0x{v:08x}/0x{mask:08x}"));
            }
        }
        o.dec("nd_options_type", g(Field::NdOptionsType));
    } else {
        let src = g(Field::TcpSrc).or(g(Field::UdpSrc)).or(g(Field::SctpSrc));
        let dst = g(Field::TcpDst).or(g(Field::UdpDst)).or(g(Field::SctpDst));
        o.dec16_masked("tp_src", src);
        o.dec16_masked("tp_dst", dst);
    }
    if m.is_ip()
        && proto == Some(IPPROTO_TCP)
        && let Some((v, mask)) = g(Field::TcpFlags)
    {
        let text = format_flags_masked(
            v as u32 & 0xfff,
            mask as u32 & 0xfff,
            0xfff,
            &TCP_FLAG_NAMES,
        );
        o.push(format!("tcp_flags={text}"));
    }
    o.items.join(",")
}

/// The VLAN part, from OVS's view of the TCI (`vlan_vid` + `vlan_pcp`).
fn format_vlan(m: &Match, o: &mut Out) {
    let vid = m.value_mask(Field::VlanVid);
    let pcp = m.value_mask(Field::VlanPcp);
    if vid.is_none() && pcp.is_none() {
        return;
    }
    let (vv, vm) = vid.unwrap_or((0, 0));
    let (pv, pm) = pcp.map(|(v, m)| (v, m & 0x7)).unwrap_or((0, 0));
    let tci = (vv & 0x1fff) | (pv << 13);
    let mask = (vm & 0x1fff) | (pm << 13);
    let vid_mask = mask & 0x0fff;
    let pcp_mask = mask & 0xe000;
    let cfi = mask & 0x1000;
    if cfi != 0
        && tci & 0x1000 != 0
        && (vid_mask == 0 || vid_mask == 0x0fff)
        && (pcp_mask == 0 || pcp_mask == 0xe000)
        && (vid_mask != 0 || pcp_mask != 0)
    {
        if vid_mask != 0 {
            o.push(format!("dl_vlan={}", tci & 0x0fff));
        }
        if pcp_mask != 0 {
            o.push(format!("dl_vlan_pcp={}", tci >> 13));
        }
    } else if mask == 0xffff {
        o.push(format!("vlan_tci=0x{tci:04x}"));
    } else {
        o.push(format!("vlan_tci=0x{tci:04x}/0x{mask:04x}"));
    }
}
