//! Printers for messages that carry matches and actions: flow mods, flow
//! removed, packet in/out, group mods, flow/aggregate stats, group
//! descriptions. Match and action text come from `flow_match` and `action`.
//!
//! Partly done: the frame summary after packet-in/packet-out covers common
//! frames only (see `packet.rs`).

use core::fmt::Write as _;

use super::{duration, port};
use crate::action::{format_actions, format_instructions};
use crate::error::OfpError;
use crate::flow_match::Match;
use crate::msg::group_mod::{Bucket, GroupModCommand, GroupType};
use crate::msg::multipart::{MultipartReplyBody as R, MultipartRequestBody as Q};
use crate::msg::{FlowModCommand, FlowStatsRequest, Message};

const DEFAULT_PRIORITY: u16 = 0x8000;

fn flow_mod_flags(s: &mut String, flags: u16) {
    for (bit, n) in [
        (1, "send_flow_rem "),
        (2, "check_overlap "),
        (4, "reset_counts "),
        (8, "no_packet_counts "),
        (16, "no_byte_counts "),
    ] {
        if flags & bit != 0 {
            s.push_str(n);
        }
    }
}

fn stats_request(s: &mut String, r: &FlowStatsRequest) {
    if r.table_id != 0xff {
        let _ = write!(s, " table={}", r.table_id);
    }
    if r.out_port != 0xffff_ffff {
        s.push_str(" out_port=");
        port(s, r.out_port);
    }
    s.push(' ');
    s.push_str(&r.match_.format_with_priority(DEFAULT_PRIORITY));
}

fn count(s: &mut String, leader: &str, v: u64) {
    if v == u64::MAX {
        let _ = write!(s, "{}=?, ", leader);
    } else {
        let _ = write!(s, "{}={}, ", leader, v);
    }
}

fn match_then_space(s: &mut String, m: &Match, priority: u16) {
    let text = m.format_with_priority(priority);
    if !text.is_empty() {
        s.push_str(&text);
        s.push(' ');
    }
}

fn buckets(s: &mut String, group_id: u32, t: GroupType, buckets: &[Bucket], suppress_type: bool) {
    let _ = write!(s, "group_id={}", group_id);
    if !suppress_type {
        let names = ["all", "select", "indirect", "ff"];
        let _ = write!(
            s,
            ",type={}",
            names.get(usize::from(t.0)).copied().unwrap_or("unknown")
        );
    }
    s.push(',');
    for b in buckets {
        s.push_str("bucket=");
        let default_weight = if t == GroupType::SELECT { 1 } else { 0 };
        if b.weight != default_weight {
            let _ = write!(s, "weight:{},", b.weight);
        }
        if b.watch_port != 0xffff_ffff {
            s.push_str("watch_port:");
            port(s, b.watch_port);
            s.push(',');
        }
        if b.watch_group != 0xffff_ffff {
            let _ = write!(s, "watch_group:{},", b.watch_group);
        }
        s.push_str("actions=");
        s.push_str(&format_actions(&b.actions));
        s.push(',');
    }
    if s.ends_with(',') {
        s.pop();
    }
}

/// Prints the messages of this family.
pub(super) fn print(s: &mut String, msg: &Message, verbosity: u32) -> Result<(), OfpError> {
    match msg {
        Message::FlowMod(fm) => {
            s.push(' ');
            match fm.command.name() {
                Some(n) => s.push_str(n),
                None => {
                    let _ = write!(s, "cmd:{}", fm.command.0);
                }
            }
            if fm.table_id != 0 {
                let _ = write!(s, " table:{}", fm.table_id);
            }
            s.push(' ');
            s.push_str(&fm.match_.format_with_priority(fm.priority));
            if !s.ends_with(' ') {
                s.push(' ');
            }
            if fm.command == FlowModCommand::ADD {
                if fm.cookie != 0 && fm.cookie != u64::MAX {
                    let _ = write!(s, "cookie:0x{:x} ", fm.cookie);
                }
            } else if fm.cookie_mask != 0 {
                let _ = write!(s, "cookie:0x{:x}/0x{:x} ", fm.cookie, fm.cookie_mask);
            }
            if fm.idle_timeout != 0 {
                let _ = write!(s, "idle:{} ", fm.idle_timeout);
            }
            if fm.hard_timeout != 0 {
                let _ = write!(s, "hard:{} ", fm.hard_timeout);
            }
            if fm.buffer_id != u32::MAX {
                let _ = write!(s, "buf:0x{:x} ", fm.buffer_id);
            }
            if fm.out_port != 0xffff_ffff {
                s.push_str("out_port:");
                port(s, fm.out_port);
                s.push(' ');
            }
            flow_mod_flags(s, fm.flags);
            s.push_str("actions=");
            s.push_str(&format_instructions(&fm.instructions));
        }
        Message::FlowRemoved(fr) => {
            s.push(' ');
            s.push_str(&fr.match_.format_with_priority(fr.priority));
            s.push_str(" reason=");
            match fr.reason.name() {
                Some(n) => s.push_str(n),
                None => {
                    let _ = write!(s, "{}", fr.reason.0);
                }
            }
            if fr.table_id != 255 {
                let _ = write!(s, " table_id={}", fr.table_id);
            }
            if fr.cookie != 0 {
                let _ = write!(s, " cookie:0x{:x}", fr.cookie);
            }
            s.push_str(" duration");
            duration(s, fr.duration_sec, fr.duration_nsec);
            let _ = write!(s, " idle{}", fr.idle_timeout);
            if fr.hard_timeout != 0 {
                let _ = write!(s, " hard{}", fr.hard_timeout);
            }
            let _ = writeln!(s, " pkts{} bytes{}", fr.packet_count, fr.byte_count);
        }
        Message::PacketIn(pi) => {
            if pi.table_id != 0 {
                let _ = write!(s, " table_id={}", pi.table_id);
            }
            if pi.cookie != u64::MAX {
                let _ = write!(s, " cookie=0x{:x}", pi.cookie);
            }
            let _ = write!(s, " total_len={} ", pi.total_len);
            s.push_str(&pi.match_.format_with_priority(DEFAULT_PRIORITY));
            s.push_str(" (via ");
            match pi.reason.name() {
                Some(n) => s.push_str(n),
                None => {
                    let _ = write!(s, "{}", pi.reason.0);
                }
            }
            let _ = write!(s, ") data_len={}", pi.data.len());
            if pi.buffer_id == u32::MAX {
                s.push_str(" (unbuffered)");
                if usize::from(pi.total_len) != pi.data.len() {
                    s.push_str(" (***total_len != data_len***)");
                }
            } else {
                let _ = write!(s, " buffer=0x{:08x}", pi.buffer_id);
                if usize::from(pi.total_len) < pi.data.len() {
                    s.push_str(" (***total_len < data_len***)");
                }
            }
            s.push('\n');
            if verbosity > 0
                && let Some(p) = super::packet::packet_to_string(&pi.data)
            {
                s.push_str(&p);
            }
        }
        Message::PacketOut(po) => {
            s.push_str(" in_port=");
            port(s, po.in_port);
            s.push_str(" actions=");
            s.push_str(&format_actions(&po.actions));
            if po.buffer_id == u32::MAX {
                let _ = write!(s, " data_len={}", po.data.len());
                if verbosity > 0
                    && !po.data.is_empty()
                    && let Some(p) = super::packet::packet_to_string(&po.data)
                {
                    s.push('\n');
                    s.push_str(&p);
                }
            } else {
                let _ = write!(s, " buffer=0x{:08x}", po.buffer_id);
            }
        }
        Message::GroupMod(gm) => {
            s.push_str("\n ");
            let bucket_command = matches!(
                gm.command,
                GroupModCommand::INSERT_BUCKET | GroupModCommand::REMOVE_BUCKET
            );
            match gm.command.name() {
                Some(n) => s.push_str(n),
                None => {
                    let _ = write!(s, "cmd:{}", gm.command.0);
                }
            }
            s.push(' ');
            buckets(s, gm.group_id, gm.group_type, &gm.buckets, bucket_command);
        }
        Message::MultipartRequest(m) => match &m.body {
            Q::Flow(r) | Q::Aggregate(r) => stats_request(s, r),
            _ => {}
        },
        Message::MultipartReply(m) => match &m.body {
            R::Flow(v) => {
                for f in v {
                    s.push_str("\n ");
                    let _ = write!(s, "cookie=0x{:x}, duration=", f.cookie);
                    duration(s, f.duration_sec, f.duration_nsec);
                    let _ = write!(s, ", table={}, ", f.table_id);
                    count(s, "n_packets", f.packet_count);
                    count(s, "n_bytes", f.byte_count);
                    if f.idle_timeout != 0 {
                        let _ = write!(s, "idle_timeout={}, ", f.idle_timeout);
                    }
                    if f.hard_timeout != 0 {
                        let _ = write!(s, "hard_timeout={}, ", f.hard_timeout);
                    }
                    flow_mod_flags(s, f.flags);
                    match_then_space(s, &f.match_, f.priority);
                    s.push_str("actions=");
                    s.push_str(&format_instructions(&f.instructions));
                }
            }
            R::GroupDesc(v) => {
                for g in v {
                    s.push_str("\n ");
                    buckets(s, g.group_id, g.group_type, &g.buckets, false);
                }
            }
            _ => {}
        },
        _ => {}
    }
    Ok(())
}
