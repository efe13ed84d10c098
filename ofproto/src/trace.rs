//! `ofproto/trace`: translation with a report, in Open vSwitch's format.
//!
//! ```text
//! Flow: tcp,in_port=1,vlan_tci=0x0000,...
//!
//! bridge("br0")
//! -------------
//!  0. ct_state=-trk,ip, priority 100
//!     ct(table=1)
//!     drop
//!      -> A clone of the packet is forked to recirculate. ...
//!
//! Final flow: unchanged
//! Megaflow: recirc_id=0,ct_state=-trk,eth,tcp,in_port=1,nw_frag=no
//! Datapath actions: ct,recirc(0x1)
//! ```
//!
//! followed by one section per recirculation, resumed with
//! `ct_state=trk|new` unless `ct_next` says otherwise (OVS's `--ct-next`).
//! Differences from OVS: the megaflow of a `ct()` flow includes `nw_proto`
//! (rvs's un-wildcarding rule), datapath port numbers are OpenFlow port
//! numbers, and flows print only the fields rvs's datapath key carries.

use std::collections::VecDeque;

use datapath::key::FlowKey;
use ofp_codec::{Field, Match};

use crate::flow::{KeyExt, OfFlow};
use crate::ofproto::Ofproto;
use crate::rule::RuleMatch;
use crate::xlate::XlateOptions;

/// Kinds of trace nodes (OVS's `oftrace_node_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    Bridge,
    Table,
    Thaw,
    Action,
    Detail,
    Warn,
    Error,
    Bucket,
}

impl NodeKind {
    fn terminal(self) -> bool {
        !matches!(self, NodeKind::Bridge | NodeKind::Table | NodeKind::Thaw)
    }
}

/// One line of a trace and what is nested under it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceNode {
    pub kind: NodeKind,
    pub text: String,
    pub subs: Vec<TraceNode>,
}

/// Builds a trace tree: `open` starts a node that later reports nest under,
/// `close` ends it.
#[derive(Debug)]
pub struct TraceBuilder {
    stack: Vec<TraceNode>,
}

impl TraceBuilder {
    pub fn new(bridge: &str) -> Self {
        TraceBuilder {
            stack: vec![TraceNode {
                kind: NodeKind::Bridge,
                text: format!("bridge(\"{bridge}\")"),
                subs: vec![],
            }],
        }
    }

    pub fn leaf(&mut self, kind: NodeKind, text: String) {
        if let Some(top) = self.stack.last_mut() {
            top.subs.push(TraceNode {
                kind,
                text,
                subs: vec![],
            });
        }
    }

    pub fn open(&mut self, kind: NodeKind, text: String) {
        self.stack.push(TraceNode {
            kind,
            text,
            subs: vec![],
        });
    }

    /// Opens again the last node closed at the current level if it is a
    /// table, so that what follows nests under it (OVS leaves its trace
    /// inside the first rule's table node until the translation ends: the
    /// action set runs there). Returns whether a node was opened.
    pub fn reopen_last_table(&mut self) -> bool {
        let Some(top) = self.stack.last_mut() else {
            return false;
        };
        if top.subs.last().map(|n| n.kind) != Some(NodeKind::Table) {
            return false;
        }
        match top.subs.pop() {
            Some(n) => {
                self.stack.push(n);
                true
            }
            None => false,
        }
    }

    pub fn close(&mut self) {
        if self.stack.len() > 1
            && let Some(n) = self.stack.pop()
            && let Some(top) = self.stack.last_mut()
        {
            top.subs.push(n);
        }
    }

    pub fn finish(mut self) -> Vec<TraceNode> {
        while self.stack.len() > 1 {
            self.close();
        }
        self.stack
    }
}

/// Prints nodes as OVS's `oftrace_node_print_details`.
pub fn print_nodes(out: &mut String, nodes: &[TraceNode], level: usize) {
    for (i, n) in nodes.iter().enumerate() {
        if n.kind == NodeKind::Bridge {
            out.push('\n');
        }
        let more = i + 1 < nodes.len() || n.kind.terminal();
        let indent = " ".repeat((level + usize::from(more)) * 4);
        out.push_str(&indent);
        match n.kind {
            NodeKind::Detail => out.push_str(&format!(" -> {}\n", n.text)),
            NodeKind::Warn => out.push_str(&format!(" >> {}\n", n.text)),
            NodeKind::Error => out.push_str(&format!(" >>>> {} <<<<\n", n.text)),
            NodeKind::Bridge => {
                out.push_str(&n.text);
                out.push('\n');
                out.push_str(&indent);
                out.push_str(&"-".repeat(n.text.len()));
                out.push('\n');
            }
            _ => {
                out.push_str(&n.text);
                out.push('\n');
            }
        }
        print_nodes(out, &n.subs, level + 2 * usize::from(more));
    }
}

/// Recirculation sections a trace follows at most.
const MAX_TRACE_RECIRCS: usize = 32;

/// `ct_state` flag names in bit order.
const CT_FLAGS: [&str; 8] = ["new", "est", "rel", "rpl", "inv", "trk", "snat", "dnat"];

fn mac(v: u64) -> String {
    let b = v.to_be_bytes();
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[2], b[3], b[4], b[5], b[6], b[7]
    )
}

fn ip4(v: u32, m: u32) -> String {
    let a = std::net::Ipv4Addr::from(v);
    if m == u32::MAX {
        a.to_string()
    } else if m.leading_ones() + m.trailing_zeros() == 32 {
        format!("{a}/{}", m.leading_ones())
    } else {
        format!("{a}/{}", std::net::Ipv4Addr::from(m))
    }
}

fn ip6(v: u128, m: u128) -> String {
    let a = std::net::Ipv6Addr::from(v);
    if m == u128::MAX {
        a.to_string()
    } else if m.leading_ones() + m.trailing_zeros() == 128 {
        format!("{a}/{}", m.leading_ones())
    } else {
        format!("{a}/{}", std::net::Ipv6Addr::from(m))
    }
}

/// C's `%#x`: `0` for zero, `0x..` otherwise.
fn chex(v: u128) -> String {
    if v == 0 {
        "0".into()
    } else {
        format!("{v:#x}")
    }
}

fn hex_masked(name: &str, v: u64, m: u64, full: u64) -> String {
    if m == full {
        format!("{name}={}", chex(v.into()))
    } else {
        format!("{name}={}/{}", chex(v.into()), chex(m.into()))
    }
}

/// OVS's `match_format` for a datapath-level (value, mask), fields in OVS's
/// order. `is_flow`: print as `flow_format` does (metadata only if nonzero).
pub fn format_key_match(k: &FlowKey, m: &FlowKey) -> String {
    format_match_with(k, m, &[])
}

/// [`format_key_match`] with OpenFlow-only fields (`reg0=0x1`,
/// `metadata=0x5`) inserted where OVS prints them.
fn format_match_with(k: &FlowKey, m: &FlowKey, pipeline: &[String]) -> String {
    let mut p: Vec<String> = Vec::new();
    let megaflow = m.recirc_id() != 0;
    if megaflow {
        let r = k.recirc_id();
        p.push(if r == 0 {
            "recirc_id=0".into()
        } else {
            format!("recirc_id={r:#x}")
        });
    }
    let (cs, csm) = (k.ct_state(), m.ct_state());
    if csm == 0xff {
        let flags: Vec<&str> = (0..8)
            .filter(|b| cs & (1 << b) != 0)
            .map(|b| CT_FLAGS[b])
            .collect();
        p.push(format!(
            "ct_state={}",
            if flags.is_empty() {
                "0".into()
            } else {
                flags.join("|")
            }
        ));
    } else if csm != 0 {
        let mut s = String::from("ct_state=");
        for (b, name) in CT_FLAGS.iter().enumerate() {
            if csm & (1 << b) != 0 {
                s.push(if cs & (1 << b) != 0 { '+' } else { '-' });
                s.push_str(name);
            }
        }
        p.push(s);
    }
    if m.ct_zone() != 0 {
        p.push(format!("ct_zone={}", k.ct_zone()));
    }
    if m.ct_mark() != 0 {
        p.push(hex_masked(
            "ct_mark",
            u64::from(k.ct_mark()),
            u64::from(m.ct_mark()),
            u64::from(u32::MAX),
        ));
    }
    if m.ct_label() != 0 {
        let (v, mm) = (k.ct_label(), m.ct_label());
        p.push(if mm == u128::MAX {
            format!("ct_label={}", chex(v))
        } else {
            format!("ct_label={}/{}", chex(v), chex(mm))
        });
    }
    if megaflow {
        p.push("eth".into());
    }
    let et_exact = m.eth_type() == 0xffff;
    let et = k.eth_type();
    let proto_exact = m.nw_proto() == 0xff;
    let mut skip_proto = false;
    let mut shorthand = None;
    if et_exact {
        let v6 = et == 0x86dd;
        shorthand = match et {
            0x0800 | 0x86dd => {
                let l4 = if proto_exact {
                    match k.nw_proto() {
                        6 => Some("tcp"),
                        17 => Some("udp"),
                        132 => Some("sctp"),
                        1 if !v6 => Some("icmp"),
                        58 if v6 => Some("icmp"),
                        _ => None,
                    }
                } else {
                    None
                };
                skip_proto = l4.is_some();
                Some(match (l4, v6) {
                    (Some(n), false) => n.to_string(),
                    (Some(n), true) => format!("{n}6"),
                    (None, false) => "ip".into(),
                    (None, true) => "ipv6".into(),
                })
            }
            0x0806 => Some("arp".into()),
            0x8035 => Some("rarp".into()),
            _ => None,
        };
        if let Some(s) = &shorthand {
            p.push(s.clone());
        }
    }
    p.extend(pipeline.iter().cloned());
    if m.in_port() != 0 {
        p.push(format!("in_port={}", k.in_port()));
    }
    for (i, (v, mm)) in [
        (k.vlan0_tci(), m.vlan0_tci()),
        (k.vlan1_tci(), m.vlan1_tci()),
    ]
    .into_iter()
    .enumerate()
    {
        if mm == 0 {
            break;
        }
        p.extend(format_vlan(if i == 0 { "" } else { "1" }, v, mm));
    }
    for (name, v, mm) in [
        ("dl_src", k.eth_src_u48(), m.eth_src_u48()),
        ("dl_dst", k.eth_dst_u48(), m.eth_dst_u48()),
    ] {
        if mm != 0 {
            p.push(if mm == 0xffff_ffff_ffff {
                format!("{name}={}", mac(v))
            } else {
                format!("{name}={}/{}", mac(v), mac(mm))
            });
        }
    }
    if et_exact && shorthand.is_none() {
        p.push(format!("dl_type={et:#06x}"));
    }
    let arp = et_exact && matches!(et, 0x0806 | 0x8035);
    if et_exact && et == 0x86dd {
        for (name, v, mm) in [
            ("ipv6_src", k.ipv6_src(), m.ipv6_src()),
            ("ipv6_dst", k.ipv6_dst(), m.ipv6_dst()),
        ] {
            if mm != 0 {
                p.push(format!("{name}={}", ip6(v, mm)));
            }
        }
        if m.ipv6_label() != 0 {
            p.push(format!("ipv6_label={:#07x}", k.ipv6_label()));
        }
    }
    let (sn, dn) = if arp {
        ("arp_spa", "arp_tpa")
    } else {
        ("nw_src", "nw_dst")
    };
    for (name, v, mm) in [(sn, k.nw_src(), m.nw_src()), (dn, k.nw_dst(), m.nw_dst())] {
        if mm != 0 {
            p.push(format!("{name}={}", ip4(v, mm)));
        }
    }
    if m.nw_proto() != 0 && !skip_proto {
        p.push(format!(
            "{}={}",
            if arp { "arp_op" } else { "nw_proto" },
            k.nw_proto()
        ));
    }
    if !arp {
        if m.nw_tos() & 0xfc != 0 {
            p.push(format!("nw_tos={}", k.nw_tos() & 0xfc));
        }
        if m.nw_tos() & 0x03 != 0 {
            p.push(format!("nw_ecn={}", k.nw_tos() & 0x03));
        }
        if m.nw_ttl() != 0 {
            p.push(format!("nw_ttl={}", k.nw_ttl()));
        }
        if m.nw_frag() & 3 != 0 {
            let f = k.nw_frag() & 3;
            p.push(match (f, m.nw_frag() & 3) {
                (0, 3) | (0, 1) => "nw_frag=no".into(),
                (1, 3) => "nw_frag=first".into(),
                (3, 3) => "nw_frag=later".into(),
                (1, 1) | (3, 1) => "nw_frag=yes".into(),
                (0, 2) | (1, 2) => "nw_frag=not_later".into(),
                _ => "nw_frag=later".into(),
            });
        }
    }
    if arp {
        for (name, v, mm) in [
            ("arp_sha", k.arp_sha_u48(), m.arp_sha_u48()),
            ("arp_tha", k.arp_tha_u48(), m.arp_tha_u48()),
        ] {
            if mm != 0 {
                p.push(format!("{name}={}", mac(v)));
            }
        }
    }
    let icmp = k.is_ip_any() && matches!(k.nw_proto(), 1 | 58);
    let (s_name, d_name) = if icmp {
        if et == 0x86dd {
            ("icmpv6_type", "icmpv6_code")
        } else {
            ("icmp_type", "icmp_code")
        }
    } else {
        ("tp_src", "tp_dst")
    };
    for (name, v, mm) in [
        (s_name, k.tp_src(), m.tp_src()),
        (d_name, k.tp_dst(), m.tp_dst()),
    ] {
        if mm != 0 {
            p.push(if mm == 0xffff || (icmp && mm == 0xff) {
                format!("{name}={v}")
            } else {
                format!("{name}={v:#x}/{mm:#x}")
            });
        }
    }
    if m.tcp_flags() != 0 {
        p.push(format!("tcp_flags={:#x}", k.tcp_flags()).replace("=0x0", "=0"));
    }
    p.join(",")
}

/// One VLAN header as OVS's `match_format`: `dl_vlan`/`dl_vlan_pcp` when a
/// present tag is matched on whole VID and/or PCP, else `vlan_tci`.
fn format_vlan(idx: &str, v: u16, mm: u16) -> Vec<String> {
    let (vid_m, pcp_m, cfi_m) = (mm & 0x0fff, mm & 0xe000, mm & 0x1000);
    if cfi_m != 0
        && v & 0x1000 != 0
        && (vid_m == 0 || vid_m == 0x0fff)
        && (pcp_m == 0 || pcp_m == 0xe000)
        && (vid_m != 0 || pcp_m != 0)
    {
        let mut out = Vec::new();
        if vid_m != 0 {
            out.push(format!("dl_vlan{idx}={}", v & 0x0fff));
        }
        if pcp_m != 0 {
            out.push(format!("dl_vlan_pcp{idx}={}", v >> 13));
        }
        out
    } else if mm == 0xffff {
        vec![format!("vlan_tci{idx}={v:#06x}")]
    } else {
        vec![format!("vlan_tci{idx}={v:#06x}/{mm:#06x}")]
    }
}

/// The mask `flow_format` uses: every header field of the packet's type,
/// metadata (recirc_id, ct) only when nonzero.
pub fn flow_format_mask(k: &FlowKey) -> FlowKey {
    let mut m = FlowKey::default();
    if k.recirc_id() != 0 {
        m.set_recirc_id(u32::MAX);
    }
    if k.ct_state() != 0 {
        m.set_ct_state(0xff);
    }
    if k.ct_zone() != 0 {
        m.set_ct_zone(0xffff);
    }
    if k.ct_mark() != 0 {
        m.set_ct_mark(u32::MAX);
    }
    if k.ct_label() != 0 {
        m.set_ct_label(u128::MAX);
    }
    m.set_in_port(u32::MAX);
    m.set_vlan0_tci(0xffff);
    if k.vlan0_tci() & 0x1000 != 0 {
        m.set_vlan1_tci(0xffff);
    }
    m.set_eth_src_u48(0xffff_ffff_ffff);
    m.set_eth_dst_u48(0xffff_ffff_ffff);
    m.set_eth_type(0xffff);
    match k.eth_type() {
        0x0800 | 0x86dd => {
            if k.eth_type() == 0x0800 {
                m.set_nw_src(u32::MAX);
                m.set_nw_dst(u32::MAX);
            } else {
                m.set_ipv6_src(u128::MAX);
                m.set_ipv6_dst(u128::MAX);
                m.set_ipv6_label(0xfffff);
            }
            m.set_nw_proto(0xff);
            m.set_nw_tos(0xff);
            m.set_nw_ttl(0xff);
            m.set_nw_frag(0xff);
            if matches!(k.nw_proto(), 6 | 17 | 132 | 1 | 58) {
                m.set_tp_src(0xffff);
                m.set_tp_dst(0xffff);
            }
            if k.nw_proto() == 6 {
                m.set_tcp_flags(0xfff);
            }
        }
        0x0806 | 0x8035 => {
            m.set_nw_src(u32::MAX);
            m.set_nw_dst(u32::MAX);
            m.set_nw_proto(0xff);
            m.set_arp_sha_u48(0xffff_ffff_ffff);
            m.set_arp_tha_u48(0xffff_ffff_ffff);
        }
        _ => {}
    }
    m
}

/// `flow_format` of a flow: its key, plus nonzero registers and metadata.
pub fn format_flow(f: &OfFlow) -> String {
    let k = f.key();
    let mut pipeline: Vec<String> = Vec::new();
    for (i, r) in f.regs().iter().enumerate() {
        if *r != 0 {
            pipeline.push(format!("reg{i}={r:#x}"));
        }
    }
    if k.metadata() != 0 {
        pipeline.push(format!("metadata={:#x}", k.metadata()));
    }
    format_match_with(&k, &flow_format_mask(&k), &pipeline)
}

impl Ofproto {
    /// `ofproto/trace BRIDGE FLOW`: parses `flow_text` (a match such as
    /// `in_port=1,tcp,nw_src=10.0.0.1,ct_state=+trk+est`), translates it
    /// without side effects and follows recirculations, resuming each
    /// `ct(table=N)` fork with the next state from `ct_next` or `trk|new`.
    pub fn trace(&self, flow_text: &str, ct_next: &[u8], now_ms: u64) -> Result<String, String> {
        let m = Match::parse(flow_text).map_err(|e| e.msg.clone())?;
        let mut flow = RuleMatch::from_match(&m).value;
        if flow.get(Field::EthType) == 0x0800 || flow.get(Field::EthType) == 0x86dd {
            // OVS's trace assumes no TTL; keep as given.
        }
        let mut ct_next: VecDeque<u8> = ct_next.iter().copied().collect();
        let mut out = String::new();
        let mut queue: VecDeque<(u32, OfFlow, u16)> = VecDeque::new();
        let mut first = true;
        // A pipeline that recirculates forever must not trace forever: stop
        // where the datapath would (its recirculation depth limit).
        let mut sections = 0;
        loop {
            if !first {
                sections += 1;
                let Some((id, f, zone)) = queue.pop_front() else {
                    break;
                };
                if sections > MAX_TRACE_RECIRCS {
                    out.push_str("\n\nToo many recirculations, trace stopped.");
                    break;
                }
                let state = ct_next.pop_front();
                out.push_str("\n\n");
                out.push_str(&"=".repeat(79));
                out.push_str(&format!("\nrecirc({id:#x})"));
                match state {
                    None => out.push_str(" - resume conntrack with default ct_state=trk|new (use --ct-next to customize)"),
                    Some(s) => {
                        let names: Vec<&str> = (0..8).filter(|b| s & (1 << b) != 0).map(|b| CT_FLAGS[b]).collect();
                        out.push_str(&format!(" - resume conntrack with ct_state={}", names.join("|")));
                    }
                }
                out.push('\n');
                out.push_str(&"=".repeat(79));
                out.push_str("\n\n");
                flow = f;
                flow.set(Field::RecircId, u128::from(id));
                flow.set(Field::CtState, u128::from(state.unwrap_or(0x21)));
                flow.set(Field::CtZone, u128::from(zone));
            }
            first = false;
            let opts = XlateOptions {
                now_ms,
                side_effects: false,
                trace: true,
            };
            let t = self.translate_flow(&flow, opts);
            out.push_str("Flow: ");
            out.push_str(&format_flow(&flow));
            out.push('\n');
            print_nodes(&mut out, &t.trace, 0);
            out.push_str("\nFinal flow: ");
            if t.final_flow == flow {
                out.push_str("unchanged");
            } else {
                out.push_str(&format_flow(&t.final_flow));
            }
            out.push_str("\nMegaflow: ");
            out.push_str(&format_key_match(&flow.key().masked(&t.mask), &t.mask));
            out.push_str("\nDatapath actions: ");
            out.push_str(&datapath::actions::format_actions(&t.actions));
            if let Some(e) = t.error {
                out.push_str(&format!(
                    "\nTranslation failed ({}), packet is dropped.",
                    e.as_str()
                ));
            }
            for (id, _, fork_flow, zone) in t.forks {
                queue.push_back((id, fork_flow, zone));
            }
        }
        out.push('\n');
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_nodes_indent_as_ovs() {
        let mut b = TraceBuilder::new("br0");
        b.open(NodeKind::Table, " 0. priority 32768".into());
        b.leaf(NodeKind::Action, "resubmit(,1)".into());
        b.open(NodeKind::Table, " 1. No match.".into());
        b.leaf(NodeKind::Action, "drop".into());
        b.close();
        b.leaf(NodeKind::Action, "output:3".into());
        b.close();
        let mut s = String::new();
        print_nodes(&mut s, &b.finish(), 0);
        assert_eq!(
            s,
            "\nbridge(\"br0\")\n-------------\n 0. priority 32768\n    resubmit(,1)\n     1. No match.\n            drop\n    output:3\n"
        );
    }

    #[test]
    fn flows_print_like_flow_format() {
        let mut k = FlowKey::default();
        k.set_in_port(1);
        k.set_eth_type(0x0800);
        k.set_nw_proto(6);
        k.set_nw_src(0x0a00_0001);
        k.set_nw_dst(0x0a00_0002);
        k.set_tp_dst(80);
        assert_eq!(
            format_flow(&OfFlow::from_key(&k)),
            "tcp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=0,tp_dst=80,tcp_flags=0"
        );
    }
}
