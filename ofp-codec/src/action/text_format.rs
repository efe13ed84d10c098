//! Printing actions and instructions as `ovs-ofctl` does (`ofpacts_format`).

use super::fieldref as fr;
use super::port::*;
use super::{Action, CtZone, Instruction, NX_CT_F_COMMIT, NX_CT_F_FORCE, NX_CT_RECIRC_NONE};
use super::{NX_CTLR_NO_METER, NX_NAT_F_DST, NX_NAT_F_PERSISTENT, NX_NAT_F_PROTO_HASH};
use super::{NX_NAT_F_PROTO_RANDOM, NX_NAT_F_SRC, Nat, NatAddrs, OFPR_ACTION, SetFieldForm};

/// Prints an instruction list as the `actions=` value (`drop` when empty).
pub fn format_instructions(insts: &[Instruction]) -> String {
    let mut s = String::new();
    let mut sorted: Vec<&Instruction> = insts.iter().collect();
    sorted.sort_by_key(|i| i.rank());
    for i in sorted {
        let start = s.len();
        if start > 0 {
            s.push(',');
        }
        match i {
            Instruction::Meter(m) => s.push_str(&format!("meter:{m}")),
            Instruction::ApplyActions(a) => {
                if a.is_empty() {
                    s.truncate(start);
                    continue;
                }
                format_list(a, &mut s);
            }
            Instruction::ClearActions => s.push_str("clear_actions"),
            Instruction::WriteActions(a) => {
                s.push_str("write_actions(");
                if a.is_empty() {
                    s.push_str("drop");
                }
                format_list(a, &mut s);
                s.push(')');
            }
            Instruction::WriteMetadata { metadata, mask } => {
                s.push_str(&format!("write_metadata:{}", c_hex(u128::from(*metadata))));
                if *mask != u64::MAX {
                    s.push_str(&format!("/{}", c_hex(u128::from(*mask))));
                }
            }
            Instruction::GotoTable(t) => s.push_str(&format!("goto_table:{t}")),
        }
    }
    if s.is_empty() {
        s.push_str("drop");
    }
    s
}

/// Prints a plain action list (`drop` when empty).
pub fn format_actions(acts: &[Action]) -> String {
    let mut s = String::new();
    format_list(acts, &mut s);
    if s.is_empty() {
        s.push_str("drop");
    }
    s
}

fn format_list(acts: &[Action], s: &mut String) {
    for (i, a) in acts.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        format_action(a, s);
    }
}

/// A port as OVS prints it: reserved names, else the number (16-bit for
/// ports carried in 16 bits).
pub fn format_port(p: u32, s: &mut String) {
    let name = match p {
        OFPP_IN_PORT => "IN_PORT",
        OFPP_TABLE => "TABLE",
        OFPP_NORMAL => "NORMAL",
        OFPP_FLOOD => "FLOOD",
        OFPP_ALL => "ALL",
        OFPP_CONTROLLER => "CONTROLLER",
        OFPP_LOCAL => "LOCAL",
        OFPP_ANY => "ANY",
        OFPP_UNSET => "UNSET",
        _ => {
            let n = if p >= OFPP11_OFFSET {
                p - OFPP11_OFFSET
            } else {
                p
            };
            s.push_str(&n.to_string());
            return;
        }
    };
    s.push_str(name);
}

/// C's `%#x`: `0x` and lowercase hex digits, but plain `0` for zero.
pub(crate) fn c_hex(v: u128) -> String {
    if v == 0 {
        "0".to_string()
    } else {
        format!("{v:#x}")
    }
}

/// An IPv6 address as glibc's `inet_ntop` (which OVS uses) writes it:
/// like RFC 5952, except that an address whose first 96 bits are zero (and
/// that is not `::` or `::1`-like with a longer zero run) ends in dotted
/// IPv4 (`::1.2.3.4`).
pub fn format_ipv6(a: &[u8; 16]) -> String {
    let w: Vec<u16> = (0..8)
        .map(|i| u16::from_be_bytes([a[2 * i], a[2 * i + 1]]))
        .collect();
    if w[..6].iter().all(|&x| x == 0) && w[6] != 0 {
        return format!("::{}.{}.{}.{}", a[12], a[13], a[14], a[15]);
    }
    std::net::Ipv6Addr::from(*a).to_string()
}

fn hex_dotted(b: &[u8], s: &mut String) {
    for (i, x) in b.iter().enumerate() {
        if i > 0 {
            s.push('.');
        }
        s.push_str(&format!("{x:02x}"));
    }
}

fn format_action(a: &Action, s: &mut String) {
    if super::nx_more::format(a, s) {
        return;
    }
    match a {
        Action::Output { port, max_len } => {
            if *port < 0xff00 {
                s.push_str("output:");
            }
            format_port(*port, s);
            if *port == OFPP_CONTROLLER {
                s.push_str(&format!(":{max_len}"));
            }
        }
        Action::Group(g) => s.push_str(&format!("group:{g}")),
        Action::SetQueue(q) => s.push_str(&format!("set_queue:{q}")),
        Action::PushVlan(e) => s.push_str(&format!("push_vlan:{}", c_hex(u128::from(*e)))),
        Action::PopVlan => s.push_str("pop_vlan"),
        Action::PushMpls(e) => s.push_str(&format!("push_mpls:0x{e:04x}")),
        Action::PopMpls(e) => s.push_str(&format!("pop_mpls:0x{e:04x}")),
        Action::SetMplsTtl(t) => s.push_str(&format!("set_mpls_ttl({t})")),
        Action::DecMplsTtl => s.push_str("dec_mpls_ttl"),
        Action::SetNwTtl(t) => s.push_str(&format!("mod_nw_ttl:{t}")),
        Action::DecTtl { ids, cnt_ids } => {
            s.push_str("dec_ttl");
            if *cnt_ids {
                s.push('(');
                s.push_str(
                    &ids.iter()
                        .map(|i| i.to_string())
                        .collect::<Vec<_>>()
                        .join(","),
                );
                s.push(')');
            }
        }
        Action::SetField(sf) => {
            if sf.form == SetFieldForm::RegLoad {
                let segs = super::nx::load_segments(sf);
                for (i, (sub, v)) in segs.iter().enumerate() {
                    if i > 0 {
                        s.push(',');
                    }
                    s.push_str(&format!("load:{}->", c_hex(u128::from(*v))));
                    sub.format(s);
                }
            } else {
                s.push_str("set_field:");
                fr::format_value(sf.field, &sf.value, &sf.mask, s);
                s.push_str("->");
                s.push_str(fr::name(sf.field));
            }
        }
        Action::Move { src, dst } => {
            s.push_str("move:");
            src.format(s);
            s.push_str("->");
            dst.format(s);
        }
        Action::Resubmit(r) => {
            if r.in_port != OFPP_IN_PORT && r.table == 255 {
                s.push_str("resubmit:");
                format_port(r.in_port, s);
            } else {
                s.push_str("resubmit(");
                if r.in_port != OFPP_IN_PORT {
                    format_port(r.in_port, s);
                }
                s.push(',');
                if r.table != 255 {
                    s.push_str(&r.table.to_string());
                }
                if r.with_ct_orig {
                    s.push_str(",ct");
                }
                s.push(')');
            }
        }
        Action::Note(d) => {
            s.push_str("note:");
            hex_dotted(d, s);
        }
        Action::OutputReg { src, .. } => {
            s.push_str("output:");
            src.format(s);
        }
        Action::Controller(c) => {
            if c.reason == OFPR_ACTION
                && c.controller_id == 0
                && c.userdata.is_empty()
                && !c.pause
                && c.meter_id == NX_CTLR_NO_METER
            {
                s.push_str(&format!("CONTROLLER:{}", c.max_len));
            } else {
                let mut parts = Vec::new();
                if c.reason != OFPR_ACTION {
                    const R: [&str; 6] = [
                        "no_match",
                        "action",
                        "invalid_ttl",
                        "action_set",
                        "group",
                        "packet_out",
                    ];
                    let r = R
                        .get(usize::from(c.reason))
                        .map_or(c.reason.to_string(), |x| x.to_string());
                    parts.push(format!("reason={r}"));
                }
                if c.max_len != u16::MAX {
                    parts.push(format!("max_len={}", c.max_len));
                }
                if c.controller_id != 0 {
                    parts.push(format!("id={}", c.controller_id));
                }
                if !c.userdata.is_empty() {
                    let mut u = String::from("userdata=");
                    hex_dotted(&c.userdata, &mut u);
                    parts.push(u);
                }
                if c.pause {
                    parts.push("pause".into());
                }
                if c.meter_id != NX_CTLR_NO_METER {
                    parts.push(format!("meter_id={}", c.meter_id));
                }
                s.push_str(&format!("controller({})", parts.join(",")));
            }
        }
        Action::Exit => s.push_str("exit"),
        Action::CtClear => s.push_str("ct_clear"),
        Action::PopQueue => s.push_str("pop_queue"),
        Action::LegacySet(l) => l.format(s),
        Action::Clone(nested) => {
            s.push_str("clone(");
            if nested.is_empty() {
                s.push_str("drop");
            }
            format_list(nested, s);
            s.push(')');
        }
        Action::SetTunnel { tun_id, is64 } => {
            let w = if *tun_id > u64::from(u32::MAX) || *is64 {
                "64"
            } else {
                ""
            };
            s.push_str(&format!("set_tunnel{w}:{}", c_hex(u128::from(*tun_id))));
        }
        Action::FinTimeout {
            idle_timeout_s,
            hard_timeout_s,
        } => {
            let mut parts = Vec::new();
            if *idle_timeout_s != 0 {
                parts.push(format!("idle_timeout={idle_timeout_s}"));
            }
            if *hard_timeout_s != 0 {
                parts.push(format!("hard_timeout={hard_timeout_s}"));
            }
            s.push_str(&format!("fin_timeout({})", parts.join(",")));
        }
        Action::Conjunction {
            id,
            clause,
            n_clauses,
        } => s.push_str(&format!(
            "conjunction({id},{}/{n_clauses})",
            u16::from(*clause) + 1
        )),
        Action::Learn(l) => super::learn::format(l, s),
        Action::Nat(n) => format_nat(n, s),
        // Printed by `nx_more::format` above.
        Action::OutputTrunc { .. }
        | Action::CheckPktLarger { .. }
        | Action::StackPush(_)
        | Action::StackPop(_)
        | Action::Sample(_)
        | Action::Multipath(_)
        | Action::Bundle(_) => {}
        Action::Ct(c) => {
            let mut parts = Vec::new();
            if c.flags & NX_CT_F_COMMIT != 0 {
                parts.push("commit".to_string());
            }
            if c.flags & NX_CT_F_FORCE != 0 {
                parts.push("force".to_string());
            }
            if c.recirc_table != NX_CT_RECIRC_NONE {
                parts.push(format!("table={}", c.recirc_table));
            }
            match &c.zone {
                CtZone::Field(sub) => {
                    let mut z = String::from("zone=");
                    sub.format(&mut z);
                    parts.push(z);
                }
                CtZone::Imm(0) => {}
                CtZone::Imm(z) => parts.push(format!("zone={z}")),
            }
            let mut rest = &c.actions[..];
            if let Some(Action::Nat(n)) = rest.first() {
                let mut t = String::new();
                format_nat(n, &mut t);
                parts.push(t);
                rest = &rest[1..];
            }
            if !rest.is_empty() {
                let mut t = String::from("exec(");
                format_list(rest, &mut t);
                t.push(')');
                parts.push(t);
            }
            match c.alg {
                0 => {}
                21 => parts.push("alg=ftp".into()),
                69 => parts.push("alg=tftp".into()),
                n => parts.push(format!("alg={n}")),
            }
            s.push_str(&format!("ct({})", parts.join(",")));
        }
    }
}

fn format_v6(a: &[u8; 16], bracket: bool, s: &mut String) {
    let ip = format_ipv6(a);
    if bracket {
        s.push_str(&format!("[{ip}]"));
    } else {
        s.push_str(&ip.to_string());
    }
}

fn format_nat(n: &Nat, s: &mut String) {
    s.push_str("nat");
    if n.flags & (NX_NAT_F_SRC | NX_NAT_F_DST) == 0 {
        return;
    }
    s.push('(');
    s.push_str(if n.flags & NX_NAT_F_SRC != 0 {
        "src"
    } else {
        "dst"
    });
    if let Some(addrs) = n.addrs {
        s.push('=');
        match addrs {
            NatAddrs::V4 { min, max } => {
                s.push_str(&std::net::Ipv4Addr::from(min).to_string());
                if max != 0 && max != min {
                    s.push('-');
                    s.push_str(&std::net::Ipv4Addr::from(max).to_string());
                }
            }
            NatAddrs::V6 { min, max } => {
                let br = n.proto_min != 0;
                format_v6(&min, br, s);
                if max != [0; 16] && max != min {
                    s.push('-');
                    format_v6(&max, br, s);
                }
            }
        }
        if n.proto_min != 0 {
            s.push_str(&format!(":{}", n.proto_min));
            if n.proto_max != 0 && n.proto_max != n.proto_min {
                s.push_str(&format!("-{}", n.proto_max));
            }
        }
        if n.flags & NX_NAT_F_PERSISTENT != 0 {
            s.push_str(",persistent");
        }
        if n.flags & NX_NAT_F_PROTO_HASH != 0 {
            s.push_str(",hash");
        }
        if n.flags & NX_NAT_F_PROTO_RANDOM != 0 {
            s.push_str(",random");
        }
    }
    s.push(')');
}

#[cfg(test)]
mod tests {
    use super::super::parse_actions;
    use super::*;

    fn rt(s: &str) -> String {
        format_instructions(&parse_actions(s).unwrap())
    }

    #[test]
    fn prints_like_ovs_ofctl() {
        assert_eq!(rt("normal"), "NORMAL");
        assert_eq!(
            rt("in_port,flood,all,local,controller"),
            "IN_PORT,FLOOD,ALL,LOCAL,CONTROLLER:65535"
        );
        assert_eq!(rt("3,4"), "output:3,output:4");
        assert_eq!(rt("drop"), "drop");
        assert_eq!(rt("resubmit(LOCAL,255)"), "resubmit:LOCAL");
        assert_eq!(rt("resubmit(in_port,3)"), "resubmit(,3)");
        assert_eq!(rt("note:01.02.03"), "note:01.02.03.00.00.00");
        assert_eq!(
            rt("controller(reason=no_match,id=3,userdata=01.02,pause,meter_id=5)"),
            "controller(reason=no_match,id=3,userdata=01.02,pause,meter_id=5)"
        );
        assert_eq!(rt("controller(max_len=10)"), "CONTROLLER:10");
        assert_eq!(
            rt("ct(commit,zone=5,exec(set_field:0x1->ct_mark))"),
            "ct(commit,zone=5,exec(set_field:0x1->ct_mark))"
        );
        assert_eq!(rt("load:0x1->reg0[0..7]"), "load:0x1->NXM_NX_REG0[0..7]");
        assert_eq!(
            rt("move:reg0[0..15]->reg1[16..31]"),
            "move:NXM_NX_REG0[0..15]->NXM_NX_REG1[16..31]"
        );
    }
}
