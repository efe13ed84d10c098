//! Datapath actions and their text form (Open vSwitch's `dpctl/dump-flows` syntax).

use std::fmt;

use smallvec::SmallVec;

use crate::dump::{fmt_ip4, fmt_ip6, fmt_mac};

/// Datapath port number that means "the in_port" is not special here:
/// port numbers are the owner's (ofproto's) numbers.
pub type PortNo = u32;

/// Header rewrites. Masks have a 1 bit where the value is written; an
/// unmasked set uses all-ones masks. Checksums are updated incrementally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetAction {
    Eth {
        src: [u8; 6],
        src_mask: [u8; 6],
        dst: [u8; 6],
        dst_mask: [u8; 6],
    },
    /// Rewrites the outermost VLAN TCI bits under `mask` (no-op without a tag).
    VlanTci { tci: u16, mask: u16 },
    Ipv4 {
        src: u32,
        src_mask: u32,
        dst: u32,
        dst_mask: u32,
        tos: u8,
        tos_mask: u8,
        ttl: u8,
        ttl_mask: u8,
    },
    /// IPv6 addresses, traffic class, flow label (its low 20 bits) and hop
    /// limit. Only the address changes touch a checksum (the L4 pseudo-header).
    Ipv6 {
        src: u128,
        src_mask: u128,
        dst: u128,
        dst_mask: u128,
        tclass: u8,
        tclass_mask: u8,
        label: u32,
        label_mask: u32,
        hlimit: u8,
        hlimit_mask: u8,
    },
    /// ARP (Ethernet/IPv4) opcode, sender/target protocol and hardware
    /// addresses (no-op on anything else).
    Arp {
        op: u16,
        op_mask: u16,
        sip: u32,
        sip_mask: u32,
        tip: u32,
        tip_mask: u32,
        sha: [u8; 6],
        sha_mask: [u8; 6],
        tha: [u8; 6],
        tha_mask: [u8; 6],
    },
    /// ICMP (`v6`: ICMPv6) type and code, written whole: OVS commits them
    /// with an unmasked set (no-op unless the packet is ICMP of that version).
    Icmp { v6: bool, icmp_type: u8, code: u8 },
    /// Neighbour discovery (solicitation or advertisement): the target address
    /// and the first source / target link-layer address option (no-op on
    /// anything else).
    Nd {
        target: u128,
        target_mask: u128,
        sll: [u8; 6],
        sll_mask: [u8; 6],
        tll: [u8; 6],
        tll_mask: [u8; 6],
    },
    /// TCP, UDP or SCTP ports (`proto` selects the header name when printed;
    /// the packet's own protocol decides what is rewritten).
    L4 {
        proto: u8,
        src: u16,
        src_mask: u16,
        dst: u16,
        dst_mask: u16,
    },
}

/// `alg=ftp|tftp` of a `ct` action (printed `helper=` as OVS's datapath does).
pub use conntrack::Alg;
/// NAT request carried by a `ct` action: the connection tracker's own type (address/port
/// ranges, `persistent`/`hash`/`random`), passed to it as-is.
pub use conntrack::NatConfig as NatSpec;
/// `src` / `dst` of a NAT request.
pub use conntrack::NatKind;

/// `ct(...)`: send the packet through the connection tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct CtAction {
    pub zone: u16,
    pub commit: bool,
    /// `force_commit`: a committed connection in the reply direction is replaced.
    pub force: bool,
    /// (value, mask) for ct_mark, applied on commit.
    pub mark: Option<(u32, u32)>,
    /// (value, mask) for ct_label, applied on commit.
    pub label: Option<(u128, u128)>,
    /// `alg=`: the helper of a connection this action commits.
    pub alg: Option<Alg>,
    pub nat: Option<NatSpec>,
}

/// One datapath action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DpAction {
    Output(PortNo),
    /// Output to every port except the packet's in_port.
    Flood,
    /// Deliver a copy to the owner's userspace channel with opaque `userdata`.
    Userspace {
        userdata: u64,
    },
    Set(SetAction),
    PushVlan {
        tpid: u16,
        tci: u16,
    },
    PopVlan,
    Ct(CtAction),
    /// `ct_clear`: the packet becomes untracked (ct_state, zone, mark, label and the original
    /// tuple are zeroed).
    CtClear,
    /// `meter(id)`: run datapath meter `id` ([`crate::meter`]); the packets
    /// over its rate are dropped, the others go on with the next action.
    Meter(u32),
    /// Re-enter the caches with this recirc_id (ends the list for this copy).
    Recirc(u32),
    /// Truncate the copies sent by the following output actions to this many bytes.
    Trunc(u32),
    Drop,
}

/// An action list as carried by a megaflow.
pub type Actions = SmallVec<[DpAction; 4]>;

/// `v` as C's `%#x` prints it: `0x` and lowercase hex digits, but a bare `0`
/// for zero (also what OVS's `ds_put_hex` prints for a 128-bit value).
fn c_hex<T: fmt::LowerHex>(v: &T) -> String {
    let s = format!("{v:#x}");
    if s == "0x0" { "0".into() } else { s }
}

/// Appends `name=value` (full mask) or `name=value/mask` to `parts`, nothing
/// when the mask is `empty`; `fv` and `fm` print the value and the mask.
fn push_masked<T: PartialEq>(
    parts: &mut Vec<String>,
    name: &str,
    (v, m): (T, T),
    (empty, full): (T, T),
    fv: impl Fn(&T) -> String,
    fm: impl Fn(&T) -> String,
) {
    if m == empty {
        return;
    }
    parts.push(if m == full {
        format!("{name}={}", fv(&v))
    } else {
        format!("{name}={}/{}", fv(&v), fm(&m))
    });
}

impl fmt::Display for SetAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mac = |m: &[u8; 6]| fmt_mac(*m);
        let ip4 = |a: &u32| fmt_ip4(*a);
        let ip6 = |a: &u128| fmt_ip6(*a);
        fn dec<T: fmt::Display>(v: &T) -> String {
            v.to_string()
        }
        fn hex<T: fmt::LowerHex>(v: &T) -> String {
            c_hex(v)
        }
        let mut parts: Vec<String> = Vec::new();
        match *self {
            SetAction::Eth {
                src,
                src_mask,
                dst,
                dst_mask,
            } => {
                for (n, v, m) in [("src", src, src_mask), ("dst", dst, dst_mask)] {
                    push_masked(&mut parts, n, (v, m), ([0; 6], [0xff; 6]), mac, mac);
                }
                write!(f, "set(eth({}))", parts.join(","))
            }
            SetAction::VlanTci { tci, mask } => {
                if mask & 0x0fff != 0 {
                    parts.push(format!("vid={}", tci & 0x0fff));
                }
                if mask & 0xe000 != 0 {
                    parts.push(format!("pcp={}", tci >> 13));
                }
                write!(f, "set(vlan({}))", parts.join(","))
            }
            SetAction::Ipv4 {
                src,
                src_mask,
                dst,
                dst_mask,
                tos,
                tos_mask,
                ttl,
                ttl_mask,
            } => {
                for (n, v, m) in [("src", src, src_mask), ("dst", dst, dst_mask)] {
                    push_masked(&mut parts, n, (v, m), (0, u32::MAX), ip4, ip4);
                }
                push_masked(&mut parts, "tos", (tos, tos_mask), (0, 0xff), hex, hex);
                push_masked(&mut parts, "ttl", (ttl, ttl_mask), (0, 0xff), dec, hex);
                write!(f, "set(ipv4({}))", parts.join(","))
            }
            SetAction::Ipv6 {
                src,
                src_mask,
                dst,
                dst_mask,
                tclass,
                tclass_mask,
                label,
                label_mask,
                hlimit,
                hlimit_mask,
            } => {
                // OVS's order (format_odp_key_attr): src, dst, label, tclass, hlimit.
                for (n, v, m) in [("src", src, src_mask), ("dst", dst, dst_mask)] {
                    push_masked(&mut parts, n, (v, m), (0, u128::MAX), ip6, ip6);
                }
                // The label's mask counts as full when its 20 label bits are set.
                if label_mask != 0 {
                    parts.push(if label_mask & 0x000f_ffff == 0x000f_ffff {
                        format!("label={}", c_hex(&label))
                    } else {
                        format!("label={}/{}", c_hex(&label), c_hex(&label_mask))
                    });
                }
                push_masked(
                    &mut parts,
                    "tclass",
                    (tclass, tclass_mask),
                    (0, 0xff),
                    hex,
                    hex,
                );
                push_masked(
                    &mut parts,
                    "hlimit",
                    (hlimit, hlimit_mask),
                    (0, 0xff),
                    dec,
                    hex,
                );
                write!(f, "set(ipv6({}))", parts.join(","))
            }
            SetAction::Arp {
                op,
                op_mask,
                sip,
                sip_mask,
                tip,
                tip_mask,
                sha,
                sha_mask,
                tha,
                tha_mask,
            } => {
                // OVS's order: sip, tip, op, sha, tha.
                for (n, v, m) in [("sip", sip, sip_mask), ("tip", tip, tip_mask)] {
                    push_masked(&mut parts, n, (v, m), (0, u32::MAX), ip4, ip4);
                }
                push_masked(&mut parts, "op", (op, op_mask), (0, 0xffff), dec, hex);
                for (n, v, m) in [("sha", sha, sha_mask), ("tha", tha, tha_mask)] {
                    push_masked(&mut parts, n, (v, m), ([0; 6], [0xff; 6]), mac, mac);
                }
                write!(f, "set(arp({}))", parts.join(","))
            }
            SetAction::Icmp {
                v6,
                icmp_type,
                code,
            } => {
                let name = if v6 { "icmpv6" } else { "icmp" };
                write!(f, "set({name}(type={icmp_type},code={code}))")
            }
            SetAction::Nd {
                target,
                target_mask,
                sll,
                sll_mask,
                tll,
                tll_mask,
            } => {
                push_masked(
                    &mut parts,
                    "target",
                    (target, target_mask),
                    (0, u128::MAX),
                    ip6,
                    ip6,
                );
                for (n, v, m) in [("sll", sll, sll_mask), ("tll", tll, tll_mask)] {
                    push_masked(&mut parts, n, (v, m), ([0; 6], [0xff; 6]), mac, mac);
                }
                write!(f, "set(nd({}))", parts.join(","))
            }
            SetAction::L4 {
                proto,
                src,
                src_mask,
                dst,
                dst_mask,
            } => {
                for (n, v, m) in [("src", src, src_mask), ("dst", dst, dst_mask)] {
                    push_masked(&mut parts, n, (v, m), (0, 0xffff), dec, hex);
                }
                let name = match proto {
                    6 => "tcp",
                    17 => "udp",
                    _ => "sctp",
                };
                write!(f, "set({name}({}))", parts.join(","))
            }
        }
    }
}

impl fmt::Display for CtAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if self.force {
            parts.push("force_commit".into());
        } else if self.commit {
            parts.push("commit".into());
        }
        if self.zone != 0 {
            parts.push(format!("zone={}", self.zone));
        }
        if let Some((v, m)) = self.mark {
            parts.push(format!("mark={}/{}", c_hex(&v), c_hex(&m)));
        }
        // OVS prints the label with format_u128: no mask when it is all ones.
        if let Some((v, m)) = self.label {
            if m == u128::MAX {
                parts.push(format!("label={}", c_hex(&v)));
            } else {
                parts.push(format!("label={}/{}", c_hex(&v), c_hex(&m)));
            }
        }
        if let Some(alg) = self.alg {
            parts.push(format!("helper={}", alg.name()));
        }
        if let Some(nat) = self.nat {
            parts.push(format_nat(&nat));
        }
        if parts.is_empty() {
            f.write_str("ct")
        } else {
            write!(f, "ct({})", parts.join(","))
        }
    }
}

/// `nat(src=A-B:P-Q,persistent,hash,random)` as OVS's `format_odp_ct_nat` prints it (an IPv6
/// address followed by a port is bracketed).
fn format_nat(nat: &NatSpec) -> String {
    let mut s = String::from("nat");
    let Some(kind) = nat.kind else {
        return s;
    };
    s.push_str(if kind == NatKind::Src { "(src" } else { "(dst" });
    let addr = |a: std::net::IpAddr| match a {
        std::net::IpAddr::V6(v6) if nat.port_min != 0 => format!("[{v6}]"),
        a => a.to_string(),
    };
    if let Some(a) = nat.addr_min {
        s.push('=');
        s.push_str(&addr(a));
        if let Some(b) = nat.addr_max.filter(|b| *b != a) {
            s.push('-');
            s.push_str(&addr(b));
        }
        if nat.port_min != 0 {
            s.push_str(&format!(":{}", nat.port_min));
            if nat.port_max != 0 && nat.port_max != nat.port_min {
                s.push_str(&format!("-{}", nat.port_max));
            }
        }
    }
    for (on, name) in [
        (nat.persistent, ",persistent"),
        (nat.proto_hash, ",hash"),
        (nat.proto_random, ",random"),
    ] {
        if on {
            s.push_str(name);
        }
    }
    s.push(')');
    s
}

impl fmt::Display for DpAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DpAction::Output(p) => write!(f, "{p}"),
            DpAction::Flood => f.write_str("flood"),
            DpAction::Userspace { userdata } => {
                write!(f, "userspace(pid=0,userdata({userdata:016x}))")
            }
            DpAction::Set(s) => write!(f, "{s}"),
            DpAction::PushVlan { tpid, tci } => {
                if tpid != 0x8100 {
                    write!(
                        f,
                        "push_vlan(tpid={tpid:#x},vid={},pcp={})",
                        tci & 0xfff,
                        tci >> 13
                    )
                } else {
                    write!(f, "push_vlan(vid={},pcp={})", tci & 0xfff, tci >> 13)
                }
            }
            DpAction::PopVlan => f.write_str("pop_vlan"),
            DpAction::Ct(c) => write!(f, "{c}"),
            DpAction::CtClear => f.write_str("ct_clear"),
            DpAction::Meter(id) => write!(f, "meter({id})"),
            DpAction::Recirc(id) => write!(f, "recirc({id:#x})"),
            DpAction::Trunc(n) => write!(f, "trunc({n})"),
            DpAction::Drop => f.write_str("drop"),
        }
    }
}

/// Formats an action list as OVS does: comma-separated, `drop` when empty.
pub fn format_actions(actions: &[DpAction]) -> String {
    if actions.is_empty() {
        return "drop".into();
    }
    let v: Vec<String> = actions.iter().map(|a| a.to_string()).collect();
    v.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_text_follows_ovs() {
        let acts = [
            DpAction::Ct(CtAction {
                zone: 1,
                commit: true,
                ..Default::default()
            }),
            DpAction::Recirc(1),
        ];
        assert_eq!(format_actions(&acts), "ct(commit,zone=1),recirc(0x1)");
        assert_eq!(format_actions(&[]), "drop");
        let set = DpAction::Set(SetAction::Ipv4 {
            src: 0x0a000002,
            src_mask: u32::MAX,
            dst: 0,
            dst_mask: 0,
            tos: 0,
            tos_mask: 0,
            ttl: 63,
            ttl_mask: 0xff,
        });
        assert_eq!(set.to_string(), "set(ipv4(src=10.0.0.2,ttl=63))");
        assert_eq!(
            DpAction::PushVlan {
                tpid: 0x8100,
                tci: 10 | (3 << 13)
            }
            .to_string(),
            "push_vlan(vid=10,pcp=3)"
        );
        let ct = CtAction {
            mark: Some((1, 0xffffffff)),
            ..Default::default()
        };
        assert_eq!(ct.to_string(), "ct(mark=0x1/0xffffffff)");
        assert_eq!(CtAction::default().to_string(), "ct");
    }
}
