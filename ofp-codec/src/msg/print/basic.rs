//! Printers for the fixed-format messages (hello through bundles).

use core::fmt::Write as _;

use super::{bit_names, hex_dump, ofp_to_string, port, put_printable};
use crate::error::OfpError;
use crate::msg::header::Header;
use crate::msg::meter_mod::{MeterBand, MeterBandType, MeterCommand, OFPMF_BURST};
use crate::msg::port::Port;
use crate::msg::role::ControllerRole;
use crate::msg::{AsyncConfig, Message};

/// Prints `msg` if it is one of this file's messages.
pub(super) fn print(
    s: &mut String,
    header: &Header,
    msg: &Message,
    bytes: &[u8],
    verbosity: u32,
) -> Option<Result<(), OfpError>> {
    match msg {
        Message::Hello(h) => {
            let (versions, ok) = h.allowed_versions(header.version);
            s.push_str("\n version bitmap: ");
            let mut first = true;
            for v in 0..32 {
                if versions & (1 << v) != 0 {
                    if !first {
                        s.push_str(", ");
                    }
                    first = false;
                    let _ = write!(s, "0x{:02x}", v);
                }
            }
            if !ok {
                s.push_str("\n unknown data in hello:\n");
                hex_dump(s, bytes);
            }
        }
        Message::Error(e) => {
            let _ = writeln!(s, " {}", super::ovs_error_name(e.error));
            if e.error == OfpError::OFPHFC_INCOMPATIBLE || e.error == OfpError::OFPHFC_EPERM {
                put_printable(s, &e.data);
            } else {
                s.push_str(&ofp_to_string(&e.data, 1));
            }
        }
        Message::EchoRequest(e) | Message::EchoReply(e) => {
            let _ = writeln!(s, " {} bytes of payload", e.data.len());
            if verbosity > 1 {
                hex_dump(s, &e.data);
            }
        }
        Message::FeaturesRequest
        | Message::GetConfigRequest
        | Message::BarrierRequest
        | Message::BarrierReply
        | Message::GetAsyncRequest => {}
        Message::FeaturesReply(f) => {
            let _ = writeln!(s, " dpid:{:016x}", f.datapath_id);
            let _ = write!(s, "n_tables:{}, n_buffers:{}", f.n_tables, f.n_buffers);
            if f.auxiliary_id != 0 {
                let _ = write!(s, ", auxiliary_id:{}", f.auxiliary_id);
            }
            s.push_str("\ncapabilities: ");
            bit_names(
                s,
                capabilities_to_ovs(f.capabilities),
                ovs_capability_name,
                ' ',
            );
            s.push('\n');
        }
        Message::GetConfigReply(c) | Message::SetConfig(c) => {
            let frag = ["normal", "drop", "reassemble", "nx-match"][usize::from(c.flags & 3)];
            let _ = writeln!(s, " frags={} miss_send_len={}", frag, c.miss_send_len);
        }
        Message::PortStatus(ps) => {
            s.push_str(match ps.reason.0 {
                0 => " ADD:",
                1 => " DEL:",
                _ => " MOD:",
            });
            phy_port(s, &ps.desc);
        }
        Message::PortMod(pm) => {
            s.push_str(" port: ");
            port(s, pm.port_no);
            let _ = writeln!(s, ": addr:{}", mac(&pm.hw_addr));
            let mask = pm.mask & PORT_CONFIG_ALL;
            s.push_str("     config: ");
            bit_names(s, pm.config & PORT_CONFIG_ALL & mask, port_config_name, ' ');
            s.push_str("\n     mask:   ");
            bit_names(s, mask, port_config_name, ' ');
            s.push_str("\n     advertise: ");
            if pm.advertise & 0xffff != 0 {
                bit_names(s, pm.advertise & 0xffff, port_feature_name, ' ');
                s.push('\n');
            } else {
                s.push_str("UNCHANGED\n");
            }
        }
        Message::TableMod(t) => {
            if t.table_id == 0xff {
                s.push_str(" table_id: ALL_TABLES");
            } else {
                let _ = write!(s, " table_id={}", t.table_id);
            }
        }
        Message::QueueGetConfigRequest(q) => {
            s.push_str(" port=");
            port(s, q.port);
        }
        Message::QueueGetConfigReply(q) => {
            s.push(' ');
            let mut queues: Vec<_> = q.queues.iter().collect();
            queues.sort_by_key(|pq| (q.port, pq.queue_id));
            let mut last = None;
            for pq in queues {
                if last != Some(q.port) {
                    last = Some(q.port);
                    s.push_str("port=");
                    port(s, q.port);
                    s.push('\n');
                }
                let _ = write!(s, "queue {}:", pq.queue_id);
                for (name, ty) in [("min_rate", 1), ("max_rate", 2)] {
                    let rate = pq
                        .properties
                        .iter()
                        .rev()
                        .find(|p| p.property == ty)
                        .and_then(|p| p.rate_value());
                    match rate {
                        Some(r) if r <= 1000 => {
                            let _ = write!(s, " {}:{}.{}%", name, r / 10, r % 10);
                        }
                        Some(r) if r < u16::MAX => {
                            let _ = write!(s, " {}:(disabled)", name);
                        }
                        _ => {}
                    }
                }
                s.push('\n');
            }
        }
        Message::RoleRequest(r) | Message::RoleReply(r) => {
            s.push_str(" role=");
            s.push_str(r.role.name().unwrap_or("?"));
            let is_request = matches!(msg, Message::RoleRequest(_));
            let hidden = if is_request {
                r.role == ControllerRole::NOCHANGE
            } else {
                false
            };
            if !hidden && r.generation_id != u64::MAX {
                let _ = write!(s, " generation_id={}", r.generation_id);
            }
        }
        Message::GetAsyncReply(a) | Message::SetAsync(a) => async_config(s, a),
        Message::MeterMod(m) => {
            match m.command {
                MeterCommand::ADD => s.push_str(" ADD "),
                MeterCommand::MODIFY => s.push_str(" MOD "),
                MeterCommand::DELETE => s.push_str(" DEL "),
                c => {
                    let _ = write!(s, " cmd:{} ", c.0);
                }
            }
            let flags = if m.command == MeterCommand::DELETE {
                0
            } else {
                m.flags
            };
            meter_config(s, m.meter_id, flags, &m.bands);
        }
        Message::SetPacketInFormat(f) => {
            s.push_str(" format=");
            match f.name() {
                Some(n) => s.push_str(n),
                None => {
                    let _ = write!(s, "{}", f.0);
                }
            }
        }
        Message::BundleControl(b) => {
            let _ = write!(s, "\n bundle_id={} type=", c_hash_x(b.bundle_id));
            s.push_str(b.ctrl_type.name().unwrap_or(""));
            s.push_str(" flags=");
            bit_names(s, u32::from(b.flags), bundle_flag_name, ' ');
        }
        Message::BundleAdd(b) => {
            let _ = write!(s, "\n bundle_id={} flags=", c_hash_x(b.bundle_id));
            bit_names(s, u32::from(b.flags), bundle_flag_name, ' ');
            s.push('\n');
            s.push_str(&ofp_to_string(&b.message, verbosity));
        }
        _ => return None,
    }
    Some(Ok(()))
}

/// C's `%#x`: `0` for zero, else `0x` and hex digits.
fn c_hash_x(v: u32) -> String {
    if v == 0 {
        "0".to_string()
    } else {
        format!("{:#x}", v)
    }
}

fn bundle_flag_name(bit: u32) -> Option<&'static str> {
    match bit {
        1 => Some("atomic"),
        2 => Some("ordered"),
        _ => None,
    }
}

/// OpenFlow 1.3 capability bits in the order OVS prints them (its own
/// `OFPUTIL_C_*` numbering): flow, table, port, group, ip_reasm, queue,
/// port_blocked. Unknown wire bits are dropped by OVS's decoder.
const CAPS: [(u32, &str); 7] = [
    (1 << 0, "FLOW_STATS"),
    (1 << 1, "TABLE_STATS"),
    (1 << 2, "PORT_STATS"),
    (1 << 3, "GROUP_STATS"),
    (1 << 5, "IP_REASM"),
    (1 << 6, "QUEUE_STATS"),
    (1 << 8, "PORT_BLOCKED"),
];

fn capabilities_to_ovs(wire: u32) -> u32 {
    CAPS.iter()
        .enumerate()
        .filter(|(_, (b, _))| wire & b != 0)
        .map(|(i, _)| 1u32 << i)
        .sum()
}

fn ovs_capability_name(bit: u32) -> Option<&'static str> {
    CAPS.get(bit.trailing_zeros() as usize).map(|(_, n)| *n)
}

/// `OFPPC_*` bits OVS keeps on OpenFlow 1.1+.
const PORT_CONFIG_ALL: u32 = 0x65;

fn port_config_name(bit: u32) -> Option<&'static str> {
    match bit {
        0x01 => Some("PORT_DOWN"),
        0x02 => Some("NO_STP"),
        0x04 => Some("NO_RECV"),
        0x08 => Some("NO_RECV_STP"),
        0x10 => Some("NO_FLOOD"),
        0x20 => Some("NO_FWD"),
        0x40 => Some("NO_PACKET_IN"),
        _ => None,
    }
}

fn port_state_name(bit: u32) -> Option<&'static str> {
    match bit {
        1 => Some("LINK_DOWN"),
        2 => Some("BLOCKED"),
        4 => Some("LIVE"),
        _ => None,
    }
}

pub(super) fn port_feature_name(bit: u32) -> Option<&'static str> {
    const NAMES: [&str; 16] = [
        "10MB-HD",
        "10MB-FD",
        "100MB-HD",
        "100MB-FD",
        "1GB-HD",
        "1GB-FD",
        "10GB-FD",
        "40GB-FD",
        "100GB-FD",
        "1TB-FD",
        "OTHER",
        "COPPER",
        "FIBER",
        "AUTO_NEG",
        "AUTO_PAUSE",
        "AUTO_PAUSE_ASYM",
    ];
    NAMES.get(bit.trailing_zeros() as usize).copied()
}

pub(super) fn mac(a: &[u8; 6]) -> String {
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        a[0], a[1], a[2], a[3], a[4], a[5]
    )
}

/// OVS's `ofputil_phy_port_format`.
pub(super) fn phy_port(s: &mut String, p: &Port) {
    let end = p.name[..15]
        .iter()
        .position(|&c| !(0x20..0x7f).contains(&c))
        .unwrap_or(15);
    let name = String::from_utf8_lossy(&p.name[..end]);
    s.push(' ');
    port(s, p.port_no);
    let _ = writeln!(s, "({}): addr:{}", name, mac(&p.hw_addr));
    s.push_str("     config:     ");
    bit_names(s, p.config & PORT_CONFIG_ALL, port_config_name, ' ');
    s.push_str("\n     state:      ");
    bit_names(s, p.state & 7, port_state_name, ' ');
    s.push('\n');
    for (label, f) in [
        ("     current:    ", p.curr),
        ("     advertised: ", p.advertised),
        ("     supported:  ", p.supported),
        ("     peer:       ", p.peer),
    ] {
        if f & 0xffff != 0 {
            s.push_str(label);
            bit_names(s, f & 0xffff, port_feature_name, ' ');
            s.push('\n');
        }
    }
    let _ = writeln!(
        s,
        "     speed: {} Mbps now, {} Mbps max",
        p.curr_speed_kbps / 1000,
        p.max_speed_kbps / 1000
    );
}

fn async_config(s: &mut String, a: &AsyncConfig) {
    const PI: [&str; 3] = ["no_match", "action", "invalid_ttl"];
    const PS: [&str; 3] = ["add", "delete", "modify"];
    const FR: [&str; 6] = [
        "idle",
        "hard",
        "delete",
        "group_delete",
        "meter_delete",
        "eviction",
    ];
    for (i, role) in ["primary", "secondary"].iter().enumerate() {
        let _ = writeln!(s, "\n {}:", role);
        for (label, mask, names) in [
            ("PACKET_IN", a.packet_in_mask[i], &PI[..]),
            ("PORT_STATUS", a.port_status_mask[i], &PS[..]),
            ("FLOW_REMOVED", a.flow_removed_mask[i], &FR[..]),
            ("ROLE_STATUS", 0, &[][..]),
            ("TABLE_STATUS", 0, &[][..]),
            ("REQUESTFORWARD", 0, &[][..]),
        ] {
            let _ = write!(s, "{:>16}:", label);
            let mut any = false;
            for (bit, n) in names.iter().enumerate() {
                if mask & (1 << bit) != 0 {
                    let _ = write!(s, " {}", n);
                    any = true;
                }
            }
            if !any {
                s.push_str(" (off)");
            }
            s.push('\n');
        }
    }
}

/// OVS's `ofputil_format_meter_id`.
pub(super) fn meter_id(s: &mut String, id: u32, sep: char) {
    match id {
        0..=0xffff_0000 => {
            let _ = write!(s, "meter{}{}", sep, id);
        }
        0xffff_fffd => {
            let _ = write!(s, "meter{}slowpath", sep);
        }
        0xffff_fffe => {
            let _ = write!(s, "meter{}controller", sep);
        }
        0xffff_ffff => {
            let _ = write!(s, "meter{}all", sep);
        }
        _ => {
            let _ = write!(s, "meter{}unknown", sep);
        }
    }
}

/// OVS's `ofputil_format_meter_config`.
pub(super) fn meter_config(s: &mut String, id: u32, flags: u16, bands: &[MeterBand]) {
    meter_id(s, id, '=');
    s.push(' ');
    for (bit, n) in [(1, "kbps "), (2, "pktps "), (4, "burst "), (8, "stats ")] {
        if flags & bit != 0 {
            s.push_str(n);
        }
    }
    if flags & !0xf != 0 {
        let _ = write!(s, "flags:0x{:x} ", flags & !0xf);
    }
    s.push_str("bands=");
    for b in bands {
        s.push_str("\ntype=");
        match b.band_type {
            MeterBandType::DROP => s.push_str("drop"),
            MeterBandType::DSCP_REMARK => s.push_str("dscp_remark"),
            t => {
                let _ = write!(s, "{}", t.0);
            }
        }
        let _ = write!(s, " rate={}", b.rate);
        if flags & OFPMF_BURST != 0 {
            let _ = write!(s, " burst_size={}", b.burst_size);
        }
        if b.band_type == MeterBandType::DSCP_REMARK {
            let _ = write!(s, " prec_level={}", b.prec_level);
        }
    }
    s.push('\n');
}
