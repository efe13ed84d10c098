//! Printers for multipart requests and replies without matches or actions.

use core::fmt::Write as _;

use super::basic::{meter_config, meter_id, phy_port};
use super::{bit_names, duration, group, port};
use crate::error::OfpError;
use crate::msg::Message;
use crate::msg::multipart::{MultipartReplyBody as R, MultipartRequestBody as Q, TableStats};

/// OVS's `ofp_print_stats`: the flags after the header line.
pub(super) fn mp_flags(s: &mut String, flags: u16) {
    if flags != 0 {
        s.push_str(" flags=");
        let mut f = flags;
        if f & 1 != 0 {
            s.push_str("[more]");
            f &= !1;
        }
        if f != 0 {
            let _ = write!(s, "[***unknown flags 0x{:04x}***]", f);
        }
    }
}

/// OVS numbers ports in 16 bits for sorting and padding.
fn port16(p: u32) -> u32 {
    if p >= 0xffff_ff00 { p - 0xffff_0000 } else { p }
}

/// Prints multipart messages handled here (not flow/aggregate requests,
/// flow replies or group descriptions).
pub(super) fn print(s: &mut String, msg: &Message) -> Option<Result<(), OfpError>> {
    match msg {
        Message::MultipartRequest(m) => match &m.body {
            Q::Desc | Q::Table | Q::GroupFeatures | Q::MeterFeatures => {}
            Q::PortDesc => s.push_str(" port=ANY"),
            Q::PortStats(p) => {
                s.push_str(" port_no=");
                port(s, *p);
            }
            Q::Queue { port_no, queue_id } => {
                s.push_str(" port=");
                port(s, *port_no);
                s.push_str(" queue=");
                queue_name(s, *queue_id);
            }
            Q::Group(g) => {
                s.push_str(" group_id=");
                group(s, *g);
            }
            Q::GroupDesc => s.push_str(" group_id=ALL"),
            Q::Meter(id) | Q::MeterConfig(id) => {
                s.push(' ');
                meter_id(s, *id, '=');
            }
            Q::TableFeatures(v) => return Some(super::table_features::print(s, v)),
            Q::Flow(_) | Q::Aggregate(_) => return None,
        },
        Message::MultipartReply(m) => match &m.body {
            R::Desc(d) => {
                let _ = write!(
                    s,
                    "\nManufacturer: {}\nHardware: {}\nSoftware: {}\nSerial Num: {}\nDP Description: {}\n",
                    d.mfr_desc, d.hw_desc, d.sw_desc, d.serial_num, d.dp_desc
                );
            }
            R::Aggregate(a) => {
                let _ = write!(
                    s,
                    " packet_count={} byte_count={} flow_count={}",
                    a.packet_count, a.byte_count, a.flow_count
                );
            }
            R::Table(v) => table_stats(s, v),
            R::PortStats(v) => {
                let _ = writeln!(s, " {} ports", v.len());
                for ps in v {
                    s.push_str("  port ");
                    if port16(ps.port_no) < 10 {
                        s.push(' ');
                    }
                    port(s, ps.port_no);
                    s.push_str(": rx ");
                    stat(s, "pkts=", ps.rx_packets, true);
                    stat(s, "bytes=", ps.rx_bytes, true);
                    stat(s, "drop=", ps.rx_dropped, true);
                    stat(s, "errs=", ps.rx_errors, true);
                    stat(s, "frame=", ps.rx_frame_err, true);
                    stat(s, "over=", ps.rx_over_err, true);
                    stat(s, "crc=", ps.rx_crc_err, false);
                    s.push_str("           tx ");
                    stat(s, "pkts=", ps.tx_packets, true);
                    stat(s, "bytes=", ps.tx_bytes, true);
                    stat(s, "drop=", ps.tx_dropped, true);
                    stat(s, "errs=", ps.tx_errors, true);
                    stat(s, "coll=", ps.collisions, false);
                    if ps.duration_sec != u32::MAX {
                        s.push_str("           duration=");
                        duration(s, ps.duration_sec, ps.duration_nsec);
                        s.push('\n');
                    }
                }
            }
            R::Queue(v) => {
                let _ = writeln!(s, " {} queues", v.len());
                for q in v {
                    s.push_str("  port ");
                    port(s, q.port_no);
                    s.push_str(" queue ");
                    queue_name(s, q.queue_id);
                    s.push_str(": ");
                    stat(s, "bytes=", q.tx_bytes, true);
                    stat(s, "pkts=", q.tx_packets, true);
                    stat(s, "errors=", q.tx_errors, true);
                    s.push_str("duration=");
                    if q.duration_sec != u32::MAX {
                        duration(s, q.duration_sec, q.duration_nsec);
                    } else {
                        s.push('?');
                    }
                    s.push('\n');
                }
            }
            R::Group(v) => {
                for g in v {
                    let _ = write!(s, "\n group_id={},", g.group_id);
                    if g.duration_sec != u32::MAX {
                        s.push_str("duration=");
                        duration(s, g.duration_sec, g.duration_nsec);
                        s.push(',');
                    }
                    let _ = write!(
                        s,
                        "ref_count={},packet_count={},byte_count={}",
                        g.ref_count, g.packet_count, g.byte_count
                    );
                    for (i, b) in g.bucket_stats.iter().enumerate() {
                        if b.packet_count != u64::MAX {
                            let _ = write!(
                                s,
                                ",bucket{}:packet_count={},byte_count={}",
                                i, b.packet_count, b.byte_count
                            );
                        }
                    }
                }
            }
            R::GroupFeatures(f) => {
                let _ = write!(
                    s,
                    "\n Group table:\n    Types:  0x{:x}\n    Capabilities:  0x{:x}\n",
                    f.types, f.capabilities
                );
                for (i, name) in ["all", "select", "indirect", "fast failover"]
                    .iter()
                    .enumerate()
                {
                    if f.types & (1 << i) != 0 {
                        let _ = writeln!(s, "    {} group:", name);
                        if f.max_groups[i] == 0 {
                            s.push_str("       max_groups=0\n");
                        } else {
                            let _ = writeln!(s, "       max_groups={:#x}", f.max_groups[i]);
                        }
                        s.push_str("       actions: ");
                        action_bitmap(s, f.actions[i]);
                        s.push('\n');
                    }
                }
            }
            R::Meter(v) => {
                for m in v {
                    s.push('\n');
                    meter_id(s, m.meter_id, ':');
                    let _ = write!(
                        s,
                        " flow_count:{} packet_in_count:{} byte_in_count:{} duration:",
                        m.flow_count, m.packet_in_count, m.byte_in_count
                    );
                    duration(s, m.duration_sec, m.duration_nsec);
                    s.push_str(" bands:\n");
                    for (i, b) in m.band_stats.iter().enumerate() {
                        let _ = writeln!(
                            s,
                            "{}: packet_count:{} byte_count:{}",
                            i, b.packet_band_count, b.byte_band_count
                        );
                    }
                }
            }
            R::MeterConfig(v) => {
                for m in v {
                    s.push('\n');
                    meter_config(s, m.meter_id, m.flags, &m.bands);
                }
            }
            R::MeterFeatures(f) => {
                let _ = writeln!(
                    s,
                    "\nmax_meter:{} max_bands:{} max_color:{}",
                    f.max_meter, f.max_bands, f.max_color
                );
                s.push_str("band_types: ");
                bit_names(
                    s,
                    f.band_types,
                    |b| match b {
                        2 => Some("drop"),
                        4 => Some("dscp_remark"),
                        _ => None,
                    },
                    ' ',
                );
                s.push_str("\ncapabilities: ");
                bit_names(
                    s,
                    f.capabilities,
                    |b| match b {
                        1 => Some("kbps"),
                        2 => Some("pktps"),
                        4 => Some("burst"),
                        8 => Some("stats"),
                        _ => None,
                    },
                    ' ',
                );
                s.push('\n');
            }
            R::PortDesc(v) => {
                s.push('\n');
                let mut ports: Vec<_> = v.iter().collect();
                ports.sort_by_key(|p| port16(p.port_no));
                for p in ports {
                    phy_port(s, p);
                }
            }
            R::TableFeatures(v) => return Some(super::table_features::print(s, v)),
            R::Flow(_) | R::GroupDesc(_) => return None,
        },
        _ => return None,
    }
    Some(Ok(()))
}

fn queue_name(s: &mut String, q: u32) {
    if q == u32::MAX {
        s.push_str("ALL");
    } else {
        let _ = write!(s, "{}", q);
    }
}

/// OVS's `print_port_stat` / `print_queue_stat`: `?` for all-ones counters.
fn stat(s: &mut String, leader: &str, v: u64, more: bool) {
    s.push_str(leader);
    if v == u64::MAX {
        s.push('?');
    } else {
        let _ = write!(s, "{}", v);
    }
    s.push_str(if more { ", " } else { "\n" });
}

/// OVS's table stats listing: consecutive tables with the same counters
/// collapse into `table N: ditto` / `tables A...B: ditto`.
fn table_stats(s: &mut String, v: &[TableStats]) {
    let same = |a: &TableStats, b: &TableStats| {
        a.active_count == b.active_count
            && a.lookup_count == b.lookup_count
            && a.matched_count == b.matched_count
    };
    let mut ditto: Option<(u8, u8)> = None;
    let finish = |s: &mut String, ditto: Option<(u8, u8)>| {
        if let Some((a, b)) = ditto {
            if a == b {
                let _ = writeln!(s, "\n  table {}: ditto", a);
            } else {
                let _ = writeln!(s, "\n  tables {}...{}: ditto", a, b);
            }
        }
    };
    for (i, t) in v.iter().enumerate() {
        if i > 0 && same(t, &v[i - 1]) {
            ditto = Some((ditto.map_or(t.table_id, |d| d.0), t.table_id));
            continue;
        }
        finish(s, ditto.take());
        let _ = write!(
            s,
            "\n  table {}:\n    active={}, lookup={}, matched={}\n",
            t.table_id, t.active_count, t.lookup_count, t.matched_count
        );
    }
    finish(s, ditto);
}

/// (OpenFlow 1.3 action type, OVS name), in OVS's internal action order.
const OFPACT_ORDER: [(u32, &str); 12] = [
    (0, "output"),
    (22, "group"),
    (25, "set_field"),
    (18, "strip_vlan"),
    (17, "push_vlan"),
    (23, "mod_nw_ttl"),
    (24, "dec_ttl"),
    (15, "set_mpls_ttl"),
    (16, "dec_mpls_ttl"),
    (19, "push_mpls"),
    (20, "pop_mpls"),
    (21, "set_queue"),
];

/// Maps an OpenFlow 1.3 action-type bitmap to OVS's action bitmap (bit i =
/// `OFPACT_ORDER[i]`); types OVS does not support are dropped.
pub(super) fn ofpacts_from_of13(bits: u32) -> u32 {
    OFPACT_ORDER
        .iter()
        .enumerate()
        .filter(|(_, (t, _))| bits & (1 << t) != 0)
        .fold(0, |a, (i, _)| a | (1 << i))
}

/// OVS's `ofpact_bitmap_format`.
pub(super) fn ofpacts_format(s: &mut String, ofpacts: u32) {
    let names: Vec<&str> = OFPACT_ORDER
        .iter()
        .enumerate()
        .filter(|(i, _)| ofpacts & (1 << i) != 0)
        .map(|(_, (_, n))| *n)
        .collect();
    if names.is_empty() {
        s.push_str("<none>");
    } else {
        s.push_str(&names.join(" "));
    }
}

/// OVS's `ofpact_bitmap_format` for an OpenFlow 1.3 action-type bitmap.
fn action_bitmap(s: &mut String, bits: u32) {
    ofpacts_format(s, ofpacts_from_of13(bits));
}
