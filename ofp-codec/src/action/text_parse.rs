//! Parsing the `ovs-ofctl` action syntax (the text after `actions=`).
//!
//! The splitter follows OVS's `ofputil_parse_key_value`: items are separated
//! by commas or white space; `key:value` and `key=value` values run to the
//! next separator, `key(value)` values to the matching parenthesis.
//! Action names are case-insensitive, as in OVS.

use super::fieldref::{self as fr, Subfield};
use super::port::*;
use super::wire::{self, Outer};
use super::{Action, Controller, Ct, CtZone, Instruction, NX_CT_F_COMMIT, NX_CT_F_FORCE};
use super::{NX_CT_RECIRC_NONE, NX_CTLR_NO_METER, NX_NAT_F_DST, NX_NAT_F_PERSISTENT};
use super::{NX_NAT_F_PROTO_HASH, NX_NAT_F_PROTO_RANDOM, NX_NAT_F_SRC, Nat, NatAddrs};
use super::{OFPR_ACTION, Resubmit, SetField, SetFieldForm};
use super::{learn, legacy, nx_more};
use crate::flow_match::Match;
use crate::text::{Names, ParseError};

/// Iterator over `key[:=(]value` items, as OVS's `ofputil_parse_key_value`.
pub(crate) struct KvIter<'a> {
    rest: &'a str,
}

impl<'a> KvIter<'a> {
    pub(crate) fn new(s: &'a str) -> Self {
        KvIter { rest: s }
    }
}

fn is_sep(c: char) -> bool {
    matches!(c, ',' | ' ' | '\t' | '\r' | '\n')
}

/// Length of a value up to one of `delims`, skipping balanced parentheses.
fn value_len(s: &str, delims: &[char]) -> usize {
    let b = s.as_bytes();
    let mut n = 0;
    while n < b.len() && !delims.contains(&(b[n] as char)) {
        if b[n] == b'(' {
            let mut level = 0i32;
            loop {
                if n >= b.len() {
                    return n;
                }
                match b[n] {
                    b'(' => level += 1,
                    b')' => level -= 1,
                    _ => {}
                }
                n += 1;
                if level <= 0 {
                    break;
                }
            }
        } else {
            n += 1;
        }
    }
    n
}

impl<'a> Iterator for KvIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let s = self.rest.trim_start_matches(is_sep);
        if s.is_empty() {
            self.rest = s;
            return None;
        }
        let key_len = s
            .find([':', '=', '(', ',', ' ', '\t', '\r', '\n'])
            .unwrap_or(s.len());
        let key = &s[..key_len];
        let delim = s[key_len..].chars().next();
        let after = if delim.is_some() {
            &s[key_len + 1..]
        } else {
            &s[key_len..]
        };
        let delims: &[char] = match delim {
            Some(':') | Some('=') => &[',', ' ', '\t', '\r', '\n'],
            Some('(') => &[')'],
            _ => {
                self.rest = after;
                return Some((key, ""));
            }
        };
        let mut vlen = value_len(after, delims);
        // "(x)->y": a parenthesized value followed by "->".
        if delim == Some('(') && after[vlen..].starts_with(")->") {
            vlen += value_len(&after[vlen..], &[',', ' ', '\t', '\r', '\n']);
        }
        let value = &after[..vlen];
        let consumed = (vlen + 1).min(after.len());
        self.rest = &after[consumed..];
        Some((key, value))
    }
}

/// C `str_to_uint`-style number with base auto-detection (`0x`, leading 0).
fn parse_uint(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        u64::from_str_radix(h, 16).ok()
    } else if s.len() > 1 && s.starts_with('0') {
        u64::from_str_radix(&s[1..], 8).ok()
    } else {
        s.parse().ok()
    }
}

pub(crate) fn u8_arg(s: &str, what: &str) -> Result<u8, String> {
    parse_uint(s)
        .and_then(|v| u8::try_from(v).ok())
        .ok_or_else(|| format!("invalid {what} \"{s}\""))
}

pub(crate) fn u16_arg(s: &str, what: &str) -> Result<u16, String> {
    parse_uint(s)
        .and_then(|v| u16::try_from(v).ok())
        .ok_or_else(|| format!("invalid {what} \"{s}\""))
}

pub(crate) fn u32_arg(s: &str) -> Result<u32, String> {
    if s.is_empty() {
        return Err("missing required numeric argument".into());
    }
    parse_uint(s)
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| format!("invalid numeric format {s}"))
}

pub(crate) fn u64_arg(s: &str) -> Result<u64, String> {
    if s.is_empty() {
        return Err("missing required numeric argument".into());
    }
    parse_uint(s).ok_or_else(|| format!("invalid numeric format {s}"))
}

const PORT_NAMES: [(&str, u32); 10] = [
    ("IN_PORT", OFPP_IN_PORT),
    ("TABLE", OFPP_TABLE),
    ("NORMAL", OFPP_NORMAL),
    ("FLOOD", OFPP_FLOOD),
    ("ALL", OFPP_ALL),
    ("CONTROLLER", OFPP_CONTROLLER),
    ("LOCAL", OFPP_LOCAL),
    ("ANY", OFPP_ANY),
    ("UNSET", OFPP_UNSET),
    ("NONE", OFPP_ANY),
];

/// Parses a port as `ovs-ofctl` does (number or reserved name), into the
/// 32-bit OpenFlow 1.3 numbering. 16-bit reserved numbers (0xfff8..) are
/// accepted and mapped to their 32-bit values, as OVS does.
pub fn parse_port(s: &str) -> Option<u32> {
    if s.starts_with('-') {
        return None;
    }
    if s.bytes().all(|c| c.is_ascii_digit()) && !s.is_empty() {
        let v: u64 = s.parse().ok()?;
        return if v < 0xff00 {
            Some(v as u32)
        } else if v <= 0xffff {
            Some(from_u16(v as u16))
        } else if v < u64::from(OFPP_MAX) {
            None
        } else {
            u32::try_from(v).ok()
        };
    }
    PORT_NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|(_, p)| *p)
}

/// Parses an action list that may contain instructions (`goto_table:N`,
/// `write_actions(...)`, `clear_actions`, `write_metadata:V[/M]`,
/// `meter:N`), as in the `actions=` part of a flow. `drop` or an empty
/// string is an empty list.
///
/// The OpenFlow 1.0-style actions whose OpenFlow 1.3 form depends on the
/// match (`mod_tp_src/dst` → tcp/udp/sctp field, `mod_vlan_vid/pcp` →
/// push a VLAN header only if the match has none) are resolved against a
/// catch-all match; use [`parse_actions_for_match`] to resolve them as OVS
/// does for a flow.
pub fn parse_actions(s: &str) -> Result<Vec<Instruction>, ParseError> {
    parse_actions_for_match(s, &Match::new())
}

/// [`parse_actions`] for a flow with match `m` (see there).
pub fn parse_actions_for_match(s: &str, m: &Match) -> Result<Vec<Instruction>, ParseError> {
    parse_actions_for_match_with(s, m, Names::NONE)
}

/// [`parse_actions_for_match`] accepting the port and table names of
/// `names`.
pub fn parse_actions_for_match_with(
    s: &str,
    m: &Match,
    names: Names<'_>,
) -> Result<Vec<Instruction>, ParseError> {
    parse_with(s, true, Cx { m, names, depth: 0 }).map_err(ParseError::new)
}

/// Parses a plain action list (no instructions), as in group buckets and
/// packet-out.
pub fn parse_action_list(s: &str) -> Result<Vec<Action>, ParseError> {
    parse_action_list_with(s, Names::NONE)
}

/// [`parse_action_list`] accepting the port and table names of `names`.
pub fn parse_action_list_with(s: &str, names: Names<'_>) -> Result<Vec<Action>, ParseError> {
    let m = Match::new();
    let insts = parse_with(
        s,
        false,
        Cx {
            m: &m,
            names,
            depth: 0,
        },
    )
    .map_err(ParseError::new)?;
    Ok(insts
        .into_iter()
        .find_map(|i| match i {
            Instruction::ApplyActions(a) => Some(a),
            _ => None,
        })
        .unwrap_or_default())
}

/// What an action's text is read against: the flow's match and the name
/// maps.
#[derive(Clone, Copy)]
pub(crate) struct Cx<'a> {
    pub m: &'a Match,
    pub names: Names<'a>,
    /// How many action lists enclose the one being read (clone, ct's exec,
    /// write_actions).
    pub depth: usize,
}

fn parse_with(s: &str, allow_instructions: bool, cx: Cx<'_>) -> Result<Vec<Instruction>, String> {
    let m = cx.m;
    // Bound the recursion of nested ct/clone/write_actions on any input.
    let mut level = 0usize;
    for c in s.bytes() {
        match c {
            b'(' => level += 1,
            b')' => level = level.saturating_sub(1),
            _ => {}
        }
        if level > 2 * super::wire::MAX_NESTING {
            return Err("actions nested too deeply".into());
        }
    }
    let mut insts: Vec<Instruction> = Vec::new();
    let mut apply: Vec<Action> = Vec::new();
    let mut vlan = m.prereq_ok(crate::field::Prereq::VlanVid);
    let mut drop = false;
    // Rank of the last instruction seen, for OVS's ordering rule.
    let mut last_rank: Option<u8> = None;
    let mut any = false;
    for (key, value) in KvIter::new(s) {
        let lower = key.to_ascii_lowercase();
        let inst = match lower.as_str() {
            "drop" => {
                drop = true;
                continue;
            }
            "apply_actions" => return Err("apply_actions is the default instruction".into()),
            "meter" => Some(Instruction::Meter(u32_arg(value)?)),
            "clear_actions" => Some(Instruction::ClearActions),
            "write_actions" => {
                let acts = parse_plain(value, Outer::WriteActions, cx)?;
                Some(Instruction::WriteActions(acts))
            }
            "write_metadata" => {
                let (v, m) = match value.split_once('/') {
                    Some((v, m)) => (v, Some(m)),
                    None => (value, None),
                };
                let mask = match m {
                    Some(m) => u64_arg(m)?,
                    None => u64::MAX,
                };
                Some(Instruction::WriteMetadata {
                    metadata: u64_arg(v)?,
                    mask,
                })
            }
            "goto_table" => Some(Instruction::GotoTable(
                cx.names
                    .table(value)
                    .ok_or_else(|| format!("unknown table \"{value}\""))?,
            )),
            _ => None,
        };
        any = true;
        let (rank, name) = match &inst {
            Some(i) => (i.rank(), i.name()),
            None => (1, "apply_actions"),
        };
        if let Some(prev) = last_rank {
            let bad = if prev == 1 { rank < prev } else { rank <= prev };
            if bad {
                let prev_name = [
                    "meter",
                    "apply_actions",
                    "clear_actions",
                    "write_actions",
                    "write_metadata",
                    "goto_table",
                ][usize::from(prev)];
                return Err(if rank == prev {
                    format!(
                        "duplicate {name} instruction not allowed, for OpenFlow 1.1+ compatibility"
                    )
                } else {
                    format!(
                        "invalid instruction ordering: {name} must appear before {prev_name}, for OpenFlow 1.1+ compatibility"
                    )
                });
            }
        }
        if !allow_instructions && rank != 1 && rank != 0 {
            return Err(format!("{name} instruction not allowed here"));
        }
        last_rank = Some(rank);
        match inst {
            Some(i) => insts.push(i),
            None => parse_one(key, &lower, value, &mut apply, cx, &mut vlan)?,
        }
    }
    if drop && any {
        return Err("\"drop\" must not be accompanied by any other action or instruction".into());
    }
    wire::verify(&apply, Outer::None).map_err(|e| e.1)?;
    if !apply.is_empty() {
        insts.push(Instruction::ApplyActions(apply));
    }
    insts.sort_by_key(|i| i.rank());
    super::instruction::verify_instructions(&insts).map_err(|e| e.1)?;
    Ok(insts)
}

/// Parses a nested plain list (`write_actions(...)`, `ct(exec(...))`).
fn parse_plain(s: &str, outer: Outer, cx: Cx<'_>) -> Result<Vec<Action>, String> {
    // Nesting is counted here, not only by parentheses: `clone=X(...)`
    // nests without an opening parenthesis of its own. No deeper than the
    // wire decoder takes back.
    let cx = Cx {
        depth: cx.depth + 1,
        ..cx
    };
    if cx.depth > super::wire::MAX_NESTING {
        return Err("actions nested too deeply".into());
    }
    let mut acts = Vec::new();
    let mut vlan = cx.m.prereq_ok(crate::field::Prereq::VlanVid);
    let mut drop = false;
    for (key, value) in KvIter::new(s) {
        let lower = key.to_ascii_lowercase();
        match lower.as_str() {
            "drop" => drop = true,
            "meter" | "clear_actions" | "write_actions" | "write_metadata" | "goto_table" => {
                return Err(format!(
                    "{} instruction not allowed here",
                    if lower == "meter" {
                        "meter"
                    } else {
                        lower.as_str()
                    }
                ));
            }
            "apply_actions" => return Err("apply_actions is the default instruction".into()),
            _ => parse_one(key, &lower, value, &mut acts, cx, &mut vlan)?,
        }
    }
    if drop && !acts.is_empty() {
        return Err("\"drop\" must not be accompanied by any other action or instruction".into());
    }
    // Like OVS's parser, accept actions an action set cannot hold; the
    // decoder (and `validate_flow`) refuse them with OFPBAC_BAD_TYPE.
    wire::verify(&acts, outer).map_err(|e| e.1)?;
    Ok(acts)
}

fn parse_one(
    key: &str,
    lower: &str,
    value: &str,
    out: &mut Vec<Action>,
    cx: Cx<'_>,
    vlan: &mut bool,
) -> Result<(), String> {
    let start = out.len();
    parse_one_inner(key, lower, value, out, cx, vlan)?;
    // Track whether the packet has a VLAN header at this point, as OVS's
    // check does, for mod_vlan_vid/pcp's "push a header if none".
    for a in &out[start..] {
        match a {
            Action::PushVlan(_) => *vlan = true,
            Action::PopVlan => *vlan = false,
            Action::SetField(sf) if sf.field == crate::field::Field::VlanTci => {
                *vlan = sf.value.first().is_some_and(|b| b & 0x10 != 0)
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse_one_inner(
    key: &str,
    lower: &str,
    value: &str,
    out: &mut Vec<Action>,
    cx: Cx<'_>,
    vlan: &mut bool,
) -> Result<(), String> {
    let (m, names) = (cx.m, cx.names);
    if legacy::parse(lower, value, out, *vlan, m.ip_proto(), names)? {
        return Ok(());
    }
    let a = match lower {
        "output" => parse_output(value, names)?,
        "group" => Action::Group(u32_arg(value)?),
        "controller" => parse_controller(value)?,
        "set_queue" => Action::SetQueue(u32_arg(value)?),
        "strip_vlan" | "pop_vlan" => Action::PopVlan,
        "push_vlan" => {
            let et = u16_arg(value, "push_vlan")?;
            if et != 0x8100 && et != 0x88a8 {
                return Err(format!("{value}: not a valid VLAN ethertype"));
            }
            Action::PushVlan(et)
        }
        // Like OVS, any ethertype parses; a non-MPLS one is refused when
        // the flow is checked (OFPBAC_BAD_ARGUMENT, as OVS's decoder does).
        "push_mpls" => Action::PushMpls(u16_arg(value, "push_mpls")?),
        "pop_mpls" => Action::PopMpls(u16_arg(value, "pop_mpls")?),
        "set_mpls_ttl" => Action::SetMplsTtl(u8_arg(value, "MPLS TTL")?),
        "dec_mpls_ttl" => Action::DecMplsTtl,
        "mod_nw_ttl" | "set_nw_ttl" => Action::SetNwTtl(u8_arg(value, "TTL")?),
        "dec_ttl" => {
            if value.is_empty() {
                Action::DecTtl {
                    ids: vec![0],
                    cnt_ids: false,
                }
            } else {
                let ids: Vec<u16> = value
                    .split([',', ' '])
                    .filter(|t| !t.is_empty())
                    .map(|t| learn_atoi(t) as u16)
                    .collect();
                if ids.is_empty() {
                    return Err("dec_ttl_cnt_ids: expected at least one controller id.".into());
                }
                Action::DecTtl { ids, cnt_ids: true }
            }
        }
        "set_field" => parse_set_field(value, names)?,
        "load" => parse_load(value)?,
        "move" => parse_move(value)?,
        "resubmit" => parse_resubmit(value, names)?,
        "note" => Action::Note(parse_note(value)?),
        "exit" => Action::Exit,
        "ct" => parse_ct(value, cx)?,
        "ct_clear" => Action::CtClear,
        "nat" => Action::Nat(parse_nat(value)?),
        "learn" => learn::parse(value, names)?,
        "clone" => Action::Clone(parse_plain(value, Outer::None, cx)?),
        "conjunction" => parse_conjunction(value)?,
        "check_pkt_larger" => nx_more::parse_check_pkt_larger(value)?,
        "push" => nx_more::parse_stack(value, true)?,
        "pop" => nx_more::parse_stack(value, false)?,
        "sample" => nx_more::parse_sample(value, names)?,
        "multipath" => nx_more::parse_multipath(value)?,
        "bundle" => nx_more::parse_bundle(value, false, names)?,
        "bundle_load" => nx_more::parse_bundle(value, true, names)?,
        _ => {
            if let Some(port) = names.port(key) {
                Action::Output { port, max_len: 0 }
            } else if KNOWN_UNSUPPORTED.contains(&lower) {
                return Err(format!("action {key} is not supported by rvs"));
            } else {
                return Err(format!("unknown action {key}"));
            }
        }
    };
    out.push(a);
    Ok(())
}

/// OVS actions rvs recognizes but does not implement.
const KNOWN_UNSUPPORTED: &[&str] = &[
    "set_vlan_vid",
    "set_vlan_pcp",
    "mod_vlan_vid",
    "mod_vlan_pcp",
    "mod_dl_src",
    "mod_dl_dst",
    "mod_nw_src",
    "mod_nw_dst",
    "mod_nw_tos",
    "mod_nw_ecn",
    "mod_tp_src",
    "mod_tp_dst",
    "clone",
    "set_tunnel",
    "fin_timeout",
    "pop_queue",
];

fn learn_atoi(s: &str) -> i64 {
    let d: String = s
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    d.parse().unwrap_or(0)
}

fn parse_output(value: &str, names: Names<'_>) -> Result<Action, String> {
    if value.contains("port") && value.contains("max_len") {
        return nx_more::parse_output_trunc(value, names);
    }
    if let Some(port) = names.port(value) {
        let max_len = if port == OFPP_CONTROLLER { u16::MAX } else { 0 };
        return Ok(Action::Output { port, max_len });
    }
    match Subfield::parse(value) {
        Ok((src, "")) => Ok(Action::OutputReg {
            src,
            max_len: u16::MAX,
            v2: false,
        }),
        _ => Err(format!("{value}: output to unknown port")),
    }
}

const REASONS: [&str; 6] = [
    "no_match",
    "action",
    "invalid_ttl",
    "action_set",
    "group",
    "packet_out",
];

fn parse_controller(value: &str) -> Result<Action, String> {
    let mut c = Controller {
        max_len: u16::MAX,
        controller_id: 0,
        reason: OFPR_ACTION,
        userdata: Vec::new(),
        pause: false,
        meter_id: NX_CTLR_NO_METER,
        v2: false,
    };
    let mut has_userdata = false;
    if value.is_empty() {
    } else if value.bytes().all(|b| b.is_ascii_digit()) {
        c.max_len = u16_arg(value, "max_len")?;
    } else {
        for (k, v) in KvIter::new(value) {
            match k {
                "reason" => {
                    c.reason = REASONS
                        .iter()
                        .position(|r| r.eq_ignore_ascii_case(v))
                        .ok_or_else(|| format!("unknown reason \"{v}\""))?
                        as u8
                }
                "max_len" => c.max_len = u16_arg(v, "max_len")?,
                "id" => c.controller_id = u16_arg(v, "id")?,
                "userdata" => {
                    has_userdata = true;
                    c.userdata =
                        parse_hex(v).ok_or("bad hex digit in `controller' action `userdata'")?;
                }
                "pause" => c.pause = true,
                "meter_id" => c.meter_id = u32_arg(v)?,
                _ => return Err(format!("unknown key \"{k}\" parsing controller action")),
            }
        }
    }
    if c.reason == OFPR_ACTION
        && c.controller_id == 0
        && !has_userdata
        && !c.pause
        && c.meter_id == NX_CTLR_NO_METER
    {
        return Ok(Action::Output {
            port: OFPP_CONTROLLER,
            max_len: c.max_len,
        });
    }
    Ok(Action::Controller(c))
}

/// OVS `ofpbuf_put_hex`: pairs of hex digits, optionally separated by
/// `.` or white space. None if anything else remains.
fn parse_hex(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && matches!(b[i], b' ' | b'.' | b'\t' | b'\r' | b'\n') {
            i += 1;
        }
        if i + 1 < b.len() && b[i].is_ascii_hexdigit() && b[i + 1].is_ascii_hexdigit() {
            out.push(u8::from_str_radix(&s[i..i + 2], 16).ok()?);
            i += 2;
        } else {
            break;
        }
    }
    if i == b.len() { Some(out) } else { None }
}

/// `note:HEX`, zero-padded like OVS so the whole action is a multiple of 8.
fn parse_note(value: &str) -> Result<Vec<u8>, String> {
    let mut data = parse_hex(value).ok_or("bad hex digit in `note' argument")?;
    let total = (10 + data.len()).max(16).div_ceil(8) * 8;
    data.resize(total - 10, 0);
    Ok(data)
}

fn split_arrow(value: &str) -> Result<(&str, &str), String> {
    let (v, k) = value
        .split_once("->")
        .ok_or_else(|| format!("{value}: missing `->'"))?;
    if k.is_empty() {
        return Err(format!("{value}: missing field name following `->'"));
    }
    Ok((v, k))
}

fn parse_set_field(value: &str, names: Names<'_>) -> Result<Action, String> {
    let (v, key) = split_arrow(value)?;
    let field = fr::from_name(key).ok_or_else(|| format!("{key} is not a valid OXM field name"))?;
    if !fr::writable(field) {
        return Err(format!("{key} is read-only"));
    }
    let v_named = if fr::is_port_field(field) {
        names.port_text(v)
    } else {
        v.into()
    };
    // "*" sets no bit (value and mask all zero), as OVS's mf_parse takes it;
    // such a set_field prints as "ANY" (mf_format) and encodes to nothing.
    let (value_b, mask) = if v == "*" {
        (vec![0; fr::n_bytes(field)], vec![0; fr::n_bytes(field)])
    } else {
        fr::parse_value(field, &v_named)?
    };
    if !fr::value_valid(field, &value_b) {
        return Err(format!("{v} is not a valid value for field {key}"));
    }
    Ok(Action::SetField(SetField {
        field,
        value: value_b,
        mask,
        form: SetFieldForm::SetField,
    }))
}

fn parse_load(value: &str) -> Result<Action, String> {
    let (v, key) = split_arrow(value)?;
    let (dst, _) = Subfield::parse(key)?;
    let w = fr::n_bytes(dst.field);
    let raw =
        fr::int_bytes(v, w.max(1)).map_err(|_| format!("{value}: cannot parse integer value"))?;
    let v128 = raw.iter().fold(0u128, |a, &b| (a << 8) | u128::from(b));
    if dst.n_bits < 128 && v128 >> dst.n_bits != 0 {
        let mut s = String::new();
        fr::format_value(dst.field, &raw, &vec![0xff; w], &mut s);
        return Err(format!(
            "{value}: value {s} does not fit into {} bits",
            dst.n_bits
        ));
    }
    let mut val = vec![0u8; w];
    let mut mask = vec![0u8; w];
    for i in 0..dst.n_bits {
        let bit = usize::from(dst.ofs) + usize::from(i);
        let byte = w - 1 - bit / 8;
        mask[byte] |= 1 << (bit % 8);
        if i < 128 && (v128 >> i) & 1 == 1 {
            val[byte] |= 1 << (bit % 8);
        }
    }
    Ok(Action::SetField(SetField {
        field: dst.field,
        value: val,
        mask,
        form: SetFieldForm::RegLoad,
    }))
}

fn parse_move(value: &str) -> Result<Action, String> {
    let (src, rest) = Subfield::parse(value)?;
    let rest = rest
        .strip_prefix("->")
        .ok_or_else(|| format!("{value}: missing `->' following source"))?;
    let (dst, tail) = Subfield::parse(rest)?;
    if !tail.is_empty() {
        return Err(format!("{value}: trailing garbage following destination"));
    }
    if src.n_bits != dst.n_bits {
        return Err(format!(
            "{value}: source field is {} bits wide but destination is {} bits wide",
            src.n_bits, dst.n_bits
        ));
    }
    Ok(Action::Move { src, dst })
}

fn parse_resubmit(value: &str, names: Names<'_>) -> Result<Action, String> {
    let mut parts = value.splitn(3, ',');
    let port_s = parts.next().unwrap_or("");
    let table_s = parts.next().unwrap_or("");
    let ct_s = parts.next().unwrap_or("");
    let in_port = if port_s.is_empty() {
        OFPP_IN_PORT
    } else {
        names
            .port(port_s)
            .ok_or_else(|| format!("{port_s}: resubmit to unknown port"))?
    };
    let table = if table_s.is_empty() {
        255
    } else {
        names
            .table(table_s)
            .ok_or_else(|| format!("{table_s}: resubmit to unknown table"))?
    };
    let with_ct_orig = if ct_s.is_empty() {
        false
    } else if ct_s == "ct" {
        true
    } else {
        return Err(format!("{ct_s}: unknown parameter"));
    };
    if in_port == OFPP_IN_PORT && table == 255 {
        return Err("at least one \"in_port\" or \"table\" must be specified on resubmit".into());
    }
    Ok(Action::Resubmit(Resubmit {
        in_port,
        table,
        with_ct_orig,
        legacy: false,
    }))
}

fn parse_conjunction(value: &str) -> Result<Action, String> {
    let syntax = || "\"conjunction\" syntax is \"conjunction(id,i/n)\"".to_string();
    let (id_s, rest) = value.split_once(',').ok_or_else(syntax)?;
    let (c_s, n_s) = rest.split_once('/').ok_or_else(syntax)?;
    let id = parse_uint(id_s.trim())
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(syntax)?;
    let clause: u8 = c_s.trim().parse().map_err(|_| syntax())?;
    let n_clauses: u8 = n_s.trim().parse().map_err(|_| syntax())?;
    if n_clauses < 2 {
        return Err("conjunction must have at least 2 clauses".into());
    } else if n_clauses > 64 {
        return Err("conjunction must have at most 64 clauses".into());
    } else if clause < 1 {
        return Err("clause index must be positive".into());
    } else if clause > n_clauses {
        return Err("clause index must be less than or equal to number of clauses".into());
    }
    Ok(Action::Conjunction {
        id,
        clause: clause - 1,
        n_clauses,
    })
}

fn parse_ct(value: &str, cx: Cx<'_>) -> Result<Action, String> {
    let mut c = Ct {
        flags: 0,
        zone: CtZone::Imm(0),
        recirc_table: NX_CT_RECIRC_NONE,
        alg: 0,
        actions: Vec::new(),
    };
    for (k, v) in KvIter::new(value) {
        match k {
            "commit" => c.flags |= NX_CT_F_COMMIT,
            "force" => c.flags |= NX_CT_F_FORCE,
            "table" => {
                c.recirc_table = cx
                    .names
                    .table(v)
                    .ok_or_else(|| format!("unknown table {v}"))?;
                if c.recirc_table == NX_CT_RECIRC_NONE {
                    return Err(format!("invalid table {:#x}", c.recirc_table));
                }
            }
            "zone" => {
                c.zone = match u16_arg(v, "zone") {
                    Ok(z) => CtZone::Imm(z),
                    Err(_) => CtZone::Field(Subfield::parse(v)?.0),
                }
            }
            "alg" => {
                c.alg = match v {
                    "ftp" => 21,
                    "tftp" => 69,
                    _ => return Err(format!("invalid conntrack helper \"{v}\"")),
                }
            }
            "nat" => c.actions.push(Action::Nat(parse_nat(v)?)),
            "exec" => {
                let acts = parse_plain(v, Outer::Ct, cx)?;
                c.actions.extend(acts);
            }
            _ => return Err(format!("invalid argument to \"ct\" action: `{k}'")),
        }
    }
    if c.flags & NX_CT_F_FORCE != 0 && c.flags & NX_CT_F_COMMIT == 0 {
        return Err("\"force\" flag requires \"commit\" flag.".into());
    }
    Ok(Action::Ct(c))
}

fn parse_nat(value: &str) -> Result<Nat, String> {
    let mut n = Nat::default();
    for (k, v) in KvIter::new(value) {
        match k {
            "src" => {
                n.flags |= NX_NAT_F_SRC;
                nat_range(v, &mut n)?;
            }
            "dst" => {
                n.flags |= NX_NAT_F_DST;
                nat_range(v, &mut n)?;
            }
            "persistent" => n.flags |= NX_NAT_F_PERSISTENT,
            "hash" => n.flags |= NX_NAT_F_PROTO_HASH,
            "random" => n.flags |= NX_NAT_F_PROTO_RANDOM,
            _ => return Err(format!("invalid key \"{k}\" in \"nat\" argument")),
        }
    }
    if n.flags & NX_NAT_F_SRC != 0 && n.flags & NX_NAT_F_DST != 0 {
        return Err("May only specify one of \"src\" or \"dst\".".into());
    }
    if n.flags & (NX_NAT_F_SRC | NX_NAT_F_DST) == 0 {
        if n.flags != 0 {
            return Err("Flags allowed only with \"src\" or \"dst\".".into());
        }
        if n.addrs.is_some() {
            return Err("Range allowed only with \"src\" or \"dst\".".into());
        }
    }
    if n.flags & NX_NAT_F_PROTO_HASH != 0 && n.flags & NX_NAT_F_PROTO_RANDOM != 0 {
        return Err("Both \"hash\" and \"random\" are not allowed.".into());
    }
    Ok(n)
}

/// Longest prefix of `s` that is an IPv4 address, and its value.
fn scan_ipv4(s: &str) -> Option<(u32, usize)> {
    let mut parts = [0u32; 4];
    let b = s.as_bytes();
    let mut i = 0;
    for (k, part) in parts.iter_mut().enumerate() {
        if k > 0 {
            if b.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
        *part = s[start..i].parse().ok()?;
        if *part > 255 {
            return None;
        }
    }
    Some((
        (parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3],
        i,
    ))
}

/// An IPv6 address, bare or in brackets, at the start of `s`.
fn scan_ipv6(s: &str) -> Option<([u8; 16], usize)> {
    if let Some(r) = s.strip_prefix('[') {
        let end = r.find(']')?;
        let a: std::net::Ipv6Addr = r[..end].parse().ok()?;
        return Some((a.octets(), end + 2));
    }
    let len = s
        .find(|c: char| !(c.is_ascii_hexdigit() || c == ':' || c == '.'))
        .unwrap_or(s.len());
    // The longest prefix that parses (a trailing ":port" is not part of it).
    (1..=len).rev().find_map(|l| {
        s[..l]
            .parse::<std::net::Ipv6Addr>()
            .ok()
            .map(|a| (a.octets(), l))
    })
}

fn nat_range(s: &str, n: &mut Nat) -> Result<(), String> {
    let invalid = || format!("invalid nat range \"{s}\"");
    let mut pos;
    if let Some((min, l)) = scan_ipv4(s) {
        pos = l;
        let mut max = 0;
        if s[pos..].starts_with('-') {
            let (m, l2) = scan_ipv4(&s[pos + 1..]).ok_or_else(invalid)?;
            if m < min {
                return Err(invalid());
            }
            max = m;
            pos += 1 + l2;
        }
        n.addrs = Some(NatAddrs::V4 { min, max });
    } else if let Some((min, l)) = scan_ipv6(s) {
        pos = l;
        let mut max = [0u8; 16];
        if s[pos..].starts_with('-') {
            let (m, l2) = scan_ipv6(&s[pos + 1..]).ok_or_else(invalid)?;
            if m < min {
                return Err(invalid());
            }
            max = m;
            pos += 1 + l2;
        }
        n.addrs = Some(NatAddrs::V6 { min, max });
    } else {
        pos = 0;
    }
    if n.addrs.is_some() && s[pos..].starts_with(':') {
        pos += 1;
        let digits = |t: &str| t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let l = digits(&s[pos..]);
        n.proto_min = s[pos..pos + l].parse().map_err(|_| invalid())?;
        pos += l;
        if s[pos..].starts_with('-') {
            pos += 1;
            let l = digits(&s[pos..]);
            n.proto_max = s[pos..pos + l].parse().map_err(|_| invalid())?;
            if n.proto_max < n.proto_min {
                return Err(invalid());
            }
            pos += l;
        }
    }
    if pos != s.len() {
        return Err(format!(
            "garbage ({}) after nat range \"{s}\" (pos: {pos})",
            &s[pos..]
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitter_follows_ovs() {
        let items: Vec<_> =
            KvIter::new("ct(commit,exec(set_field:1->ct_mark)),output:1 drop,resubmit(,2)")
                .collect();
        assert_eq!(
            items,
            vec![
                ("ct", "commit,exec(set_field:1->ct_mark)"),
                ("output", "1"),
                ("drop", ""),
                ("resubmit", ",2")
            ]
        );
    }

    #[test]
    fn ports_parse_like_ovs() {
        assert_eq!(parse_port("normal"), Some(OFPP_NORMAL));
        assert_eq!(parse_port("65534"), Some(OFPP_LOCAL));
        assert_eq!(parse_port("70000"), None);
        assert_eq!(parse_port("4294967294"), Some(OFPP_LOCAL));
    }

    #[test]
    fn instruction_order_and_drop_rules() {
        assert!(
            parse_actions("goto_table:2,output:1")
                .unwrap_err()
                .msg
                .contains("invalid instruction ordering")
        );
        assert!(parse_actions("drop,output:1").is_err());
        assert_eq!(parse_actions("drop").unwrap(), vec![]);
        assert_eq!(
            parse_actions("meter:1,output:1,clear_actions,write_metadata:0x1/0xff,goto_table:3")
                .unwrap(),
            vec![
                Instruction::Meter(1),
                Instruction::ApplyActions(vec![Action::Output {
                    port: 1,
                    max_len: 0
                }]),
                Instruction::ClearActions,
                Instruction::WriteMetadata {
                    metadata: 1,
                    mask: 0xff
                },
                Instruction::GotoTable(3),
            ]
        );
        assert!(
            parse_actions("foo")
                .unwrap_err()
                .msg
                .contains("unknown action foo")
        );
    }

    #[test]
    fn nat_ranges() {
        let n = parse_nat("src=10.0.0.1-10.0.0.9:100-200,random").unwrap();
        assert_eq!(
            n.addrs,
            Some(NatAddrs::V4 {
                min: 0x0a000001,
                max: 0x0a000009
            })
        );
        assert_eq!((n.proto_min, n.proto_max), (100, 200));
        let n = parse_nat("dst=[fe80::1]:80").unwrap();
        assert!(matches!(n.addrs, Some(NatAddrs::V6 { .. })));
        assert_eq!(n.proto_min, 80);
        assert!(parse_nat("src=10.0.0.9-10.0.0.1").is_err());
        assert!(parse_nat("persistent").is_err());
    }

    /// `clone=clone=...` nests without parentheses (as in OVS, where
    /// `clone=clone=output:1` is `clone(clone(output:1))`): the depth limit
    /// holds for it too, at the depth the wire decoder takes back (found by
    /// the flow_text fuzz target: 64 levels parsed, then did not re-parse).
    #[test]
    fn nesting_without_parentheses_is_bounded() {
        let flow = |n: usize| format!("clone={}output:1", "clone=".repeat(n - 1));
        let ok = parse_action_list(&flow(super::super::wire::MAX_NESTING)).unwrap();
        assert!(matches!(ok.as_slice(), [Action::Clone(_)]));
        let err = parse_action_list(&flow(super::super::wire::MAX_NESTING + 1)).unwrap_err();
        assert!(err.to_string().contains("nested too deeply"), "{err}");
    }
}
