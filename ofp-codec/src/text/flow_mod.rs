//! The flow-mod line: `[add|modify|…] table=…,priority=…,cookie=…,<match>,actions=…`.
//!
//! [`parse_flow_line`] reads one line as `ovs-ofctl` reads a flow given to
//! `add-flow`, `mod-flows`, `del-flows` or `parse-flow`: flow-mod keywords are
//! handled here, match items go to [`MatchParser`], `actions=` goes to the
//! actions parser, and the result is checked as OVS checks it before sending
//! (prerequisites and [`validate_flow`]), so that `arp,actions=ct(table=1)`
//! is refused with `OFPBAC_MATCH_INCONSISTENT`. Alongside the flow it returns
//! the set of dialects able to express it ([`Protocols`]), which
//! `ovs-ofctl parse-flow` prints.
//!
//! Supported keywords: `table`, `priority`, `cookie` (`cookie=V/M` for
//! modify/delete), `idle_timeout`, `hard_timeout`, `importance`,
//! `send_flow_rem`, `check_overlap`, `reset_counts`, `no_packet_counts`,
//! `no_byte_counts`, `out_port`, `out_group`; `duration`, `n_packets`,
//! `n_bytes`, `idle_age`, `hard_age`, `no_readonly_table` and
//! `allow_hidden_fields` are ignored as OVS ignores them, so `dump-flows`
//! output can be fed back. Subfield match items (`reg0[0..7]=5`) are
//! supported for integer fields. Port and table names are accepted where OVS
//! accepts them when a [`Names`] is given ([`parse_flow_line_with`]).

use core::fmt;

use super::ParseError;
use super::kv::KeyValues;
use super::names::Names;
use super::protocols::Protocols;
use super::usable;
use crate::action::{
    FlowContext, Instruction, Subfield, format_instructions, parse_actions_for_match,
    parse_actions_for_match_with, validate_flow,
};
use crate::error::OfpError;
use crate::field::{Field, ValueFormat};
use crate::flow_match::{Match, MatchParser};
use crate::msg::flow_mod::{FlowMod, FlowModCommand, OFP_NO_BUFFER};

/// `OFPFC_*`: what a flow-mod does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    Add,
    Modify,
    ModifyStrict,
    Delete,
    DeleteStrict,
}

impl Command {
    /// The OpenFlow wire value.
    pub fn wire(self) -> u8 {
        match self {
            Command::Add => 0,
            Command::Modify => 1,
            Command::ModifyStrict => 2,
            Command::Delete => 3,
            Command::DeleteStrict => 4,
        }
    }

    /// The keyword a flows file may start a line with.
    pub fn keyword(self) -> &'static str {
        match self {
            Command::Add => "add",
            Command::Modify => "modify",
            Command::ModifyStrict => "modify_strict",
            Command::Delete => "delete",
            Command::DeleteStrict => "delete_strict",
        }
    }

    fn takes_actions(self) -> bool {
        matches!(self, Command::Add | Command::Modify | Command::ModifyStrict)
    }
}

/// Flow-mod flags, as OpenFlow 1.3 puts them on the wire (`OFPFF_*`).
pub mod flags {
    pub const SEND_FLOW_REM: u16 = 1 << 0;
    pub const CHECK_OVERLAP: u16 = 1 << 1;
    pub const RESET_COUNTS: u16 = 1 << 2;
    pub const NO_PKT_COUNTS: u16 = 1 << 3;
    pub const NO_BYT_COUNTS: u16 = 1 << 4;
}

/// `OFPP_ANY` (32-bit).
pub const OFPP_ANY: u32 = 0xffff_ffff;
/// `OFPG_ANY`.
pub const OFPG_ANY: u32 = 0xffff_ffff;
/// `OFPTT_ALL`: no table given.
pub const OFPTT_ALL: u8 = 0xff;
/// `OFP_DEFAULT_PRIORITY`.
pub const DEFAULT_PRIORITY: u16 = 0x8000;

/// A flow-mod as the text says it, before choosing a wire encoding (OVS's
/// `struct ofputil_flow_mod`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowSpec {
    pub command: Command,
    /// [`OFPTT_ALL`] when the text names no table.
    pub table_id: u8,
    pub priority: u16,
    /// The cookie to match (modify/delete with `cookie=V/M`).
    pub cookie: u64,
    pub cookie_mask: u64,
    /// The cookie to set; `None`: leave it as it is (modify without cookie).
    pub new_cookie: Option<u64>,
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    /// OpenFlow 1.4+ only: not carried by an OpenFlow 1.3 flow-mod.
    pub importance: u16,
    /// `flags::*`.
    pub flags: u16,
    /// 32-bit port; [`OFPP_ANY`] when not given.
    pub out_port: u32,
    pub out_group: u32,
    pub flow_match: Match,
    /// Empty for delete commands.
    pub instructions: Vec<Instruction>,
}

impl FlowSpec {
    /// The `cookie` field of an OpenFlow 1.1+ flow-mod: the new cookie for
    /// add, else the cookie to match (as Open vSwitch encodes it).
    pub fn wire_cookie(&self) -> u64 {
        if self.command == Command::Add {
            self.new_cookie.unwrap_or(0)
        } else {
            self.cookie & self.cookie_mask
        }
    }

    /// The OpenFlow 1.3 flow-mod Open vSwitch sends for this flow: cookie
    /// and table chosen as above, no buffer, importance dropped (1.4+).
    pub fn to_flow_mod(&self) -> FlowMod {
        FlowMod {
            cookie: self.wire_cookie(),
            cookie_mask: self.cookie_mask,
            table_id: self.wire_table_id(),
            command: FlowModCommand(self.command.wire()),
            idle_timeout: self.idle_timeout,
            hard_timeout: self.hard_timeout,
            priority: self.priority,
            buffer_id: OFP_NO_BUFFER,
            out_port: self.out_port,
            out_group: self.out_group,
            flags: self.flags,
            match_: self.flow_match.clone(),
            instructions: self.instructions.clone(),
        }
    }

    /// The `table_id` field of an OpenFlow 1.2+ flow-mod: 0 for an add or
    /// modify without a table (OVS's choice), else the table (255 = all).
    pub fn wire_table_id(&self) -> u8 {
        match self.command {
            Command::Delete | Command::DeleteStrict => self.table_id,
            _ if self.table_id == OFPTT_ALL => 0,
            _ => self.table_id,
        }
    }
}

impl fmt::Display for FlowSpec {
    /// The flow in `ovs-ofctl` flow syntax, parseable back by
    /// [`parse_flow_line`] with `None` (a non-add command is written first:
    /// `modify_strict priority=5,…`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items: Vec<String> = Vec::new();
        if self.command != Command::Add {
            f.write_str(self.command.keyword())?;
            f.write_str(" ")?;
        }
        if self.table_id != OFPTT_ALL {
            items.push(format!("table={}", self.table_id));
        }
        match self.new_cookie {
            Some(c) if c != 0 || self.command != Command::Add => {
                items.push(format!("cookie={c:#x}"))
            }
            _ => {}
        }
        if self.cookie_mask != 0 {
            items.push(format!("cookie={:#x}/{:#x}", self.cookie, self.cookie_mask));
        }
        for (v, name) in [
            (self.idle_timeout, "idle_timeout"),
            (self.hard_timeout, "hard_timeout"),
            (self.importance, "importance"),
        ] {
            if v != 0 {
                items.push(format!("{name}={v}"));
            }
        }
        for (bit, name) in [
            (flags::SEND_FLOW_REM, "send_flow_rem"),
            (flags::CHECK_OVERLAP, "check_overlap"),
            (flags::RESET_COUNTS, "reset_counts"),
            (flags::NO_PKT_COUNTS, "no_packet_counts"),
            (flags::NO_BYT_COUNTS, "no_byte_counts"),
        ] {
            if self.flags & bit != 0 {
                items.push(name.to_string());
            }
        }
        if self.out_port != OFPP_ANY {
            items.push(format!("out_port={}", self.out_port));
        }
        if self.out_group != OFPG_ANY {
            items.push(format!("out_group={}", self.out_group));
        }
        let m = self.flow_match.format_with_priority(self.priority);
        if !m.is_empty() {
            items.push(m);
        }
        if self.command.takes_actions() {
            items.push(format!(
                "actions={}",
                format_instructions(&self.instructions)
            ));
        }
        f.write_str(&items.join(","))
    }
}

/// A parsed flow and the dialects that can express it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParsedFlow {
    pub spec: FlowSpec,
    pub usable: Protocols,
}

/// Why a flow line was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FlowTextError {
    /// The text does not parse (unknown keyword, bad value, ...).
    Syntax(ParseError),
    /// The flow parses but OVS's checks refuse it. Printed as
    /// `actions are invalid with specified match (OFPBAC_MATCH_INCONSISTENT)`.
    Invalid(OfpError),
}

impl FlowTextError {
    /// The OpenFlow error, if the flow was refused by a check.
    pub fn ofp_error(&self) -> Option<OfpError> {
        match self {
            FlowTextError::Invalid(e) => Some(*e),
            FlowTextError::Syntax(_) => None,
        }
    }
}

impl fmt::Display for FlowTextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowTextError::Syntax(e) => f.write_str(&e.msg),
            FlowTextError::Invalid(e) => {
                write!(
                    f,
                    "actions are invalid with specified match ({})",
                    crate::action::error_name(*e)
                )
            }
        }
    }
}

impl std::error::Error for FlowTextError {}

impl From<ParseError> for FlowTextError {
    fn from(e: ParseError) -> Self {
        FlowTextError::Syntax(e)
    }
}

fn syntax(msg: impl Into<String>, pos: usize) -> FlowTextError {
    FlowTextError::Syntax(ParseError::new(msg).at(pos))
}

/// Parses `line` as a flow-mod with `command` (see the module doc).
pub fn parse_flow_mod(line: &str, command: Command) -> Result<FlowSpec, FlowTextError> {
    parse_flow_mod_with(line, command, Names::NONE)
}

/// [`parse_flow_mod`] accepting the port and table names of `names`.
pub fn parse_flow_mod_with(
    line: &str,
    command: Command,
    names: Names<'_>,
) -> Result<FlowSpec, FlowTextError> {
    parse_flow_line_with(line, Some(command), names).map(|p| p.spec)
}

/// Parses one flow line. With `command == None` the line may start with a
/// command keyword (`add`, `modify`, `modify_strict`, `delete`,
/// `delete_strict`, or any prefix of one), as `ovs-ofctl add-flows` files
/// allow; without one it is an add.
pub fn parse_flow_line(line: &str, command: Option<Command>) -> Result<ParsedFlow, FlowTextError> {
    parse_flow_line_with(line, command, Names::NONE)
}

/// [`parse_flow_line`] accepting the port and table names of `names`
/// (see [`super::names`]).
pub fn parse_flow_line_with(
    line: &str,
    command: Option<Command>,
    names: Names<'_>,
) -> Result<ParsedFlow, FlowTextError> {
    let (command, body, body_pos) = match command {
        Some(c) => (c, line, 0),
        None => split_command(line),
    };
    let mut usable = Protocols::ANY;
    let mut spec = FlowSpec {
        command,
        table_id: OFPTT_ALL,
        priority: DEFAULT_PRIORITY,
        cookie: 0,
        cookie_mask: 0,
        new_cookie: if command == Command::Add {
            Some(0)
        } else {
            None
        },
        idle_timeout: 0,
        hard_timeout: 0,
        importance: 0,
        flags: 0,
        out_port: OFPP_ANY,
        out_group: OFPG_ANY,
        flow_match: Match::new(),
        instructions: Vec::new(),
    };
    let takes_actions = command.takes_actions();
    let (match_text, actions) = if takes_actions {
        match body.find("action") {
            Some(at) => match body[at..].find('=') {
                Some(eq) => (
                    &body[..at],
                    Some((&body[at + eq + 1..], body_pos + at + eq + 1)),
                ),
                None => return Err(syntax("must specify an action", body_pos + at)),
            },
            None => return Err(syntax("must specify an action", body_pos + body.len())),
        }
    } else {
        (body, None)
    };

    let mut parser = MatchParser::new();
    let mut ipv6_l4 = false;
    // Value/mask so far of integer fields, so that subfield items merge
    // with earlier items on the same field as in OVS.
    let mut partial: Vec<(Field, u128, u128)> = Vec::new();
    for kv in KeyValues::with_base(match_text, body_pos) {
        let key = kv.key;
        // A port name in a port-valued match field becomes its number;
        // the match parser refuses what is neither.
        let port_valued =
            Field::from_ovs_name(key).is_some_and(|f| f.info().format == ValueFormat::Port);
        let value = if port_valued {
            names.port_text(kv.value)
        } else {
            kv.value.into()
        };
        let value: &str = &value;
        let is_flag = takes_actions
            && match key {
                "send_flow_rem" => {
                    set_flag(&mut spec, flags::SEND_FLOW_REM, Protocols::ANY, &mut usable)
                }
                "check_overlap" => {
                    set_flag(&mut spec, flags::CHECK_OVERLAP, Protocols::ANY, &mut usable)
                }
                "reset_counts" => set_flag(
                    &mut spec,
                    flags::RESET_COUNTS,
                    Protocols::OF12_UP,
                    &mut usable,
                ),
                "no_packet_counts" => set_flag(
                    &mut spec,
                    flags::NO_PKT_COUNTS,
                    Protocols::OF13_UP,
                    &mut usable,
                ),
                "no_byte_counts" => set_flag(
                    &mut spec,
                    flags::NO_BYT_COUNTS,
                    Protocols::OF13_UP,
                    &mut usable,
                ),
                _ => false,
            };
        if is_flag || key == "no_readonly_table" || key == "allow_hidden_fields" {
            continue;
        }
        if key.contains('[') {
            let (item_key, item_value) = subfield_item(key, value, &mut partial)
                .map_err(|e| FlowTextError::Syntax(e.at(kv.key_pos)))?;
            parser
                .item(&item_key, Some(&item_value))
                .map_err(|e| FlowTextError::Syntax(e.at(kv.key_pos)))?;
            usable.restrict(usable::for_match_item(&item_key, &item_value));
            continue;
        }
        match parser.item(key, Some(value)) {
            Ok(true) => {
                remember_plain_item(&mut partial, key, value);
                usable.restrict(usable::for_match_item(key, value));
                ipv6_l4 |= matches!(
                    key,
                    "tcp6"
                        | "udp6"
                        | "sctp6"
                        | "icmp6"
                        | "nw_proto"
                        | "ip_proto"
                        | "nw_tos"
                        | "ip_dscp"
                        | "nw_ecn"
                        | "ip_ecn"
                        | "tp_src"
                        | "tp_dst"
                ) || key.starts_with("tcp_")
                    || key.starts_with("udp_")
                    || key.starts_with("sctp_")
                    || key.starts_with("icmp");
                continue;
            }
            Ok(false) => {}
            Err(e) => return Err(FlowTextError::Syntax(e.at(kv.key_pos))),
        }
        if value.is_empty() {
            return Err(syntax(format!("field {key} missing value"), kv.key_pos));
        }
        keyword(&mut spec, &mut usable, key, value, names)
            .map_err(|msg| syntax(msg, kv.key_pos))?;
    }
    if spec.cookie_mask == 0
        && spec.new_cookie.is_none()
        && matches!(command, Command::Modify | Command::ModifyStrict)
    {
        // A modify that may add a flow adds it with cookie 0.
        spec.new_cookie = Some(0);
    }
    spec.flow_match = parser.finish().map_err(FlowTextError::Syntax)?;
    if spec.flow_match.eth_type() == Some(0x86dd) && ipv6_l4 {
        usable.restrict(Protocols::NXM_OXM_ANY);
    }

    if let Some((text, pos)) = actions {
        // The match decides what OF1.0-era spellings mean (mod_tp_src on udp
        // is udp_src), as in OVS.
        let instructions = parse_actions_for_match_with(text, &spec.flow_match, names)
            .map_err(|e| FlowTextError::Syntax(e.at(pos)))?;
        usable.restrict(usable::for_actions_text(text));
        match check_actions(&spec.flow_match, &instructions, text, spec.table_id)? {
            Consistency::Consistent => {}
            // Only OpenFlow 1.0 tolerates this match/action mismatch.
            Consistency::Of10Only => usable.restrict(Protocols::OF10_ANY),
        }
        if usable.is_empty() {
            return Err(FlowTextError::Invalid(OfpError::OFPBAC_MATCH_INCONSISTENT));
        }
        spec.instructions = instructions;
    }
    Ok(ParsedFlow { spec, usable })
}

/// Outcome of the match/action checks that did not refuse the flow.
enum Consistency {
    Consistent,
    /// Inconsistent in a way only OpenFlow 1.0 tolerates (OVS's
    /// `inconsistent_match()`): e.g. `pop_vlan` without a VLAN match,
    /// `mod_nw_src` without an IPv4 match.
    Of10Only,
}

/// Action keywords whose mismatch with the match OVS's parser tolerates for
/// OpenFlow 1.0 rather than refusing the flow (their `check_*` functions
/// call `inconsistent_match()`).
const OF10_TOLERATED: &[&str] = &[
    "mod_vlan_vid",
    "mod_vlan_pcp",
    "strip_vlan",
    "pop_vlan",
    "mod_nw_src",
    "mod_nw_dst",
    "mod_nw_tos",
    "mod_nw_ecn",
    "mod_nw_ttl",
    "dec_ttl",
    "mod_tp_src",
    "mod_tp_dst",
    "set_mpls_label",
    "set_mpls_tc",
    "set_mpls_ttl",
    "dec_mpls_ttl",
    "push_mpls",
    "pop_mpls",
    "fin_timeout",
];

/// Runs [`validate_flow`]; an `OFPBAC_MATCH_INCONSISTENT` that goes away
/// when the OpenFlow-1.0-tolerated actions are left out is not a refusal
/// but narrows the usable dialects to OpenFlow 1.0, as in OVS.
fn check_actions(
    m: &Match,
    insts: &[Instruction],
    text: &str,
    table_id: u8,
) -> Result<Consistency, FlowTextError> {
    let ctx = FlowContext {
        table_id,
        n_tables: 255,
    };
    match validate_flow(m, insts, ctx) {
        Ok(()) => Ok(Consistency::Consistent),
        Err(e) if e == OfpError::OFPBAC_MATCH_INCONSISTENT => {
            let reduced = without_tolerated(text);
            match parse_actions_for_match(&reduced, m).map(|i| validate_flow(m, &i, ctx)) {
                Ok(Ok(())) if reduced != text => Ok(Consistency::Of10Only),
                _ => Err(FlowTextError::Invalid(e)),
            }
        }
        Err(e) => Err(FlowTextError::Invalid(e)),
    }
}

/// `text` without its [`OF10_TOLERATED`] actions (also inside
/// `write_actions(...)`).
fn without_tolerated(text: &str) -> String {
    let mut out = Vec::new();
    for kv in KeyValues::new(text) {
        let key = kv.key.to_ascii_lowercase();
        if OF10_TOLERATED.contains(&key.as_str()) {
            continue;
        }
        let paren = text.as_bytes().get(kv.key_pos + kv.key.len()) == Some(&b'(');
        out.push(if kv.value.is_empty() && !paren {
            kv.key.to_string()
        } else if key == "write_actions" {
            format!("{}({})", kv.key, without_tolerated(kv.value))
        } else if paren {
            format!("{}({})", kv.key, kv.value)
        } else {
            format!("{}:{}", kv.key, kv.value)
        });
    }
    if out.is_empty() {
        "drop".to_string()
    } else {
        out.join(",")
    }
}

fn set_flag(spec: &mut FlowSpec, flag: u16, needs: Protocols, usable: &mut Protocols) -> bool {
    spec.flags |= flag;
    usable.restrict(needs);
    true
}

/// Splits an optional leading command keyword (a prefix of one of the
/// command names, checked in OVS's order) from the rest of the line.
fn split_command(line: &str) -> (Command, &str, usize) {
    let start = line.len() - line.trim_start_matches([' ', '\t', '\r', '\n']).len();
    let rest = &line[start..];
    let len = rest
        .find([',', ' ', '\t', '\r', '\n'])
        .unwrap_or(rest.len());
    let token = &rest[..len];
    for c in [
        Command::Add,
        Command::Delete,
        Command::DeleteStrict,
        Command::Modify,
        Command::ModifyStrict,
    ] {
        if c.keyword().starts_with(token) {
            // An empty token "matches" add and consumes nothing, like OVS.
            return (c, &rest[len..], start + len);
        }
    }
    (Command::Add, rest, start)
}

/// Handles a flow-mod keyword that is not a match item.
fn keyword(
    spec: &mut FlowSpec,
    usable: &mut Protocols,
    key: &str,
    value: &str,
    names: Names<'_>,
) -> Result<(), String> {
    let cmd = spec.command;
    let out_port_ok = matches!(cmd, Command::Delete | Command::DeleteStrict);
    let priority_ok = cmd != Command::Delete;
    let timeouts_ok = cmd.takes_actions();
    match key {
        "table" => {
            spec.table_id = names
                .table(value)
                .ok_or_else(|| format!("unknown table \"{value}\""))?;
            if spec.table_id != OFPTT_ALL {
                usable.restrict(Protocols::TID);
            }
        }
        "out_port" if out_port_ok => {
            spec.out_port = parse_port(value)
                .or_else(|| names.port_name(value))
                .ok_or_else(|| format!("{value} is not a valid OpenFlow port"))?;
        }
        "out_group" if out_port_ok => {
            usable.restrict(Protocols::OF11_UP);
            spec.out_group = parse_group(value)
                .ok_or_else(|| format!("{value} is not a valid OpenFlow group"))?;
        }
        "priority" if priority_ok => spec.priority = str_to_u16(value, key)?,
        "idle_timeout" if timeouts_ok => spec.idle_timeout = str_to_u16(value, key)?,
        "hard_timeout" if timeouts_ok => spec.hard_timeout = str_to_u16(value, key)?,
        "importance" if cmd == Command::Add => spec.importance = str_to_u16(value, key)?,
        "cookie" => match value.split_once('/') {
            Some((v, m)) => {
                if cmd == Command::Add {
                    return Err("flow additions cannot use a cookie mask".into());
                }
                spec.cookie = str_to_u64(v)?;
                spec.cookie_mask = str_to_u64(m)?;
                if spec.cookie_mask != 0 {
                    usable.restrict(Protocols::NXM_OF11_UP);
                }
            }
            None => {
                if !cmd.takes_actions() {
                    return Err(format!(
                        "cannot set cookie (to match on a cookie, specify a mask, e.g. cookie={value}/-1)"
                    ));
                }
                spec.new_cookie = Some(str_to_u64(value)?);
            }
        },
        "duration" | "n_packets" | "n_bytes" | "idle_age" | "hard_age" => {}
        _ => return Err(format!("unknown keyword {key}")),
    }
    Ok(())
}

/// C `strtol(s, _, 0)`-style integer: `0x` hex, leading-`0` octal, decimal,
/// optional sign; the whole string must be used.
fn parse_c_int(s: &str) -> Option<i128> {
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i128::from_str_radix(h, 16).ok()?
    } else if digits.len() > 1 && digits.starts_with('0') {
        i128::from_str_radix(&digits[1..], 8).ok()?
    } else {
        digits.parse::<i128>().ok()?
    };
    if digits.is_empty() || digits.starts_with(['+', '-']) {
        return None;
    }
    Some(if neg { -v } else { v })
}

fn str_to_u16(value: &str, name: &str) -> Result<u16, String> {
    parse_c_int(value)
        .filter(|v| (0..=0xffff).contains(v))
        .map(|v| v as u16)
        .ok_or_else(|| format!("invalid {name} \"{value}\""))
}

/// C `strtoull(s, _, 0)`: also accepts `-1` (all ones), as OVS does for
/// `cookie=V/-1`.
fn str_to_u64(value: &str) -> Result<u64, String> {
    if value.is_empty() {
        return Err("missing required numeric argument".into());
    }
    match parse_c_int(value) {
        Some(v) if (0..=i128::from(u64::MAX)).contains(&v) => Ok(v as u64),
        Some(v) if v < 0 && v >= -i128::from(u64::MAX) => Ok((v as i64) as u64),
        _ => Err(format!("invalid numeric format {value}")),
    }
}

fn parse_decimal_u32(s: &str) -> Option<u32> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// An OpenFlow port given as a number (16-bit OpenFlow 1.0 numbering or a
/// 32-bit OpenFlow 1.1 reserved port) or a reserved name; 32-bit result.
pub fn parse_port(s: &str) -> Option<u32> {
    if let Some(n) = parse_decimal_u32(s) {
        return match n {
            0..=0xfeff => Some(n),
            0xff00..=0xffff => Some(n | 0xffff_0000),
            0xffff_ff00.. => Some(n),
            _ => None,
        };
    }
    const NAMES: [(&str, u32); 9] = [
        ("IN_PORT", 0xffff_fff8),
        ("TABLE", 0xffff_fff9),
        ("NORMAL", 0xffff_fffa),
        ("FLOOD", 0xffff_fffb),
        ("ALL", 0xffff_fffc),
        ("CONTROLLER", 0xffff_fffd),
        ("LOCAL", 0xffff_fffe),
        ("ANY", 0xffff_ffff),
        ("NONE", 0xffff_ffff),
    ];
    NAMES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(s))
        .map(|(_, p)| *p)
}

fn parse_group(s: &str) -> Option<u32> {
    if s.eq_ignore_ascii_case("any") {
        Some(OFPG_ANY)
    } else if s.eq_ignore_ascii_case("all") {
        Some(0xffff_fffc)
    } else {
        parse_decimal_u32(s)
    }
}

/// Records what a plain match item set an integer field to, for later
/// subfield items on the same field (other fields: forgotten).
fn remember_plain_item(partial: &mut Vec<(Field, u128, u128)>, key: &str, value: &str) {
    let Some(field) = Field::from_name(key) else {
        return;
    };
    partial.retain(|(f, _, _)| *f != field);
    let info = field.info();
    let ones = bits_ones(u32::from(info.width_bytes) * 8);
    let parsed = match value.split_once('/') {
        Some((v, m)) => parse_c_int(v).zip(parse_c_int(m)),
        None => parse_c_int(value).map(|v| (v, -1)),
    };
    if let Some((v, m)) = parsed
        && v >= 0
        && matches!(info.format, ValueFormat::Hex | ValueFormat::Decimal)
    {
        let m = if m < 0 { ones } else { m as u128 & ones };
        partial.push((field, v as u128 & m, m));
    }
}

fn bits_ones(n_bits: u32) -> u128 {
    if n_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << n_bits) - 1
    }
}

/// Rewrites a subfield match item (`reg0[0..7]=5`, `eth_dst[40]=1`) as a
/// masked item on the whole field (`reg0=0x5/0xff`), merged with what
/// earlier items set in that field (`partial`), as OVS's `parse_subfield`.
fn subfield_item(
    key: &str,
    value: &str,
    partial: &mut Vec<(Field, u128, u128)>,
) -> Result<(String, String), ParseError> {
    let (sf, rest) = Subfield::parse(key).map_err(ParseError::new)?;
    if !rest.is_empty() {
        return Err(ParseError::new(format!(
            "{key}: trailing garbage following subfield"
        )));
    }
    let info = sf.field.info();
    let v = parse_c_int(value)
        .filter(|v| *v >= 0)
        .map(|v| v as u128)
        .ok_or_else(|| ParseError::new(format!("{key}: cannot parse integer value: {value}")))?;
    let n_bits = u32::from(sf.n_bits);
    if v & !bits_ones(n_bits) != 0 {
        return Err(ParseError::new(format!(
            "{key}: value {value} does not fit into {n_bits} bits"
        )));
    }
    let ofs = u32::from(sf.ofs);
    let sf_mask = bits_ones(n_bits) << ofs;
    let (old_v, old_m) = partial
        .iter()
        .find(|(f, _, _)| *f == sf.field)
        .map(|(_, v, m)| (*v, *m))
        .unwrap_or((0, 0));
    let (v, m) = ((old_v & !sf_mask) | (v << ofs), old_m | sf_mask);
    partial.retain(|(f, _, _)| *f != sf.field);
    partial.push((sf.field, v, m));
    let width = u32::from(info.width_bytes);
    let text = match info.format {
        ValueFormat::Mac => format!("{}/{}", mac_text(v), mac_text(m)),
        ValueFormat::Ipv4 => format!("{}/{}", ipv4_text(v), ipv4_text(m)),
        ValueFormat::Ipv6 => format!(
            "{}/{}",
            std::net::Ipv6Addr::from(v),
            std::net::Ipv6Addr::from(m)
        ),
        _ if width > 16 => return Err(ParseError::new(format!("{key}: field too wide"))),
        _ => format!("{v:#x}/{m:#x}"),
    };
    Ok((info.name.to_string(), text))
}

fn mac_text(v: u128) -> String {
    let b = (v as u64).to_be_bytes();
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[2], b[3], b[4], b[5], b[6], b[7]
    )
}

fn ipv4_text(v: u128) -> String {
    std::net::Ipv4Addr::from(v as u32).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_prefixes_follow_ovs() {
        assert_eq!(split_command("add in_port=1").0, Command::Add);
        assert_eq!(split_command("del in_port=1").0, Command::Delete);
        assert_eq!(split_command("delete_strict x").0, Command::DeleteStrict);
        assert_eq!(split_command("mod x").0, Command::Modify);
        assert_eq!(split_command("modify_strict x").0, Command::ModifyStrict);
        let (c, rest, pos) = split_command("in_port=1,actions=drop");
        assert_eq!((c, rest, pos), (Command::Add, "in_port=1,actions=drop", 0));
    }

    #[test]
    fn subfield_items_merge_with_earlier_items_like_ovs() {
        let p = parse_flow_line("reg0=1,reg0[4..7]=0xf,actions=drop", None).unwrap();
        assert_eq!(p.spec.flow_match.value(Field::Reg(0)), Some(0xf1));
        let p = parse_flow_line("reg0[0..3]=5,reg0[8]=1,actions=drop", None).unwrap();
        assert_eq!(
            p.spec.flow_match.value_mask(Field::Reg(0)),
            Some((0x105, 0x10f))
        );
        let p = parse_flow_line("ip,nw_src[24..31]=10,actions=drop", None).unwrap();
        assert_eq!(
            p.spec.flow_match.value_mask(Field::Ipv4Src),
            Some((0x0a00_0000, 0xff00_0000))
        );
        assert!(parse_flow_line("reg0[0..3]=16,actions=drop", None).is_err());
    }

    #[test]
    fn c_integers() {
        assert_eq!(parse_c_int("0x10"), Some(16));
        assert_eq!(parse_c_int("010"), Some(8));
        assert_eq!(parse_c_int("10"), Some(10));
        assert_eq!(parse_c_int("1x"), None);
        assert_eq!(str_to_u64("-1"), Ok(u64::MAX));
        assert_eq!(
            str_to_u16("65536", "priority"),
            Err("invalid priority \"65536\"".into())
        );
        assert_eq!(parse_port("LOCAL"), Some(0xffff_fffe));
        assert_eq!(parse_port("65534"), Some(0xffff_fffe));
        assert_eq!(parse_port("70000"), None);
    }
}
