//! `rvs ofctl` commands about the switch's configuration, as `ovs-ofctl -O
//! OpenFlow13` runs them: `queue-get-config SWITCH [PORT [QUEUE]]`,
//! `get-frags SWITCH`, `set-frags SWITCH MODE` and `mod-table SWITCH TABLE
//! SETTING`.
//!
//! On OpenFlow 1.3, `mod-table` can only rename a table (`name:NAME`, sent
//! as a TABLE_FEATURES request that repeats every table with the new name,
//! as ovs-ofctl does; rvs switchd, like OVS, accepts it when only names
//! change); the other settings are OpenFlow 1.1/1.2 (`drop`,
//! `continue`, `controller`) or 1.4+ (`evict`, `noevict`, `vacancy...`,
//! `novacancy`) and fail with ovs-ofctl's message before anything is sent.

use anyhow::{Result, anyhow, bail};
use ofp_codec::msg::config::OFPC_FRAG_MASK;
use ofp_codec::msg::multipart::{MultipartRequest, OFPMPF_MORE, TableFeatures};
use ofp_codec::msg::print::ofp_to_string;
use ofp_codec::msg::{
    Message, MultipartReplyBody, MultipartRequestBody as Q, QueueGetConfigRequest, SwitchConfig,
};

use super::session::{Session, reply_body};
use super::{Opts, Printed, SwitchError, Vconn};

/// The commands of this module; `None` for any other.
pub(super) fn run(cmd: &str, o: &Opts, s: &mut Session) -> Option<Result<String>> {
    Some(match cmd {
        "queue-get-config" => queue_get_config(o, s),
        "get-frags" => get_frags(s),
        "set-frags" => set_frags(o, s),
        "mod-table" => mod_table(o, s),
        _ => return None,
    })
}

/// `queue-get-config SWITCH [PORT [QUEUE]]`: PORT defaults to `any`. The
/// OpenFlow 1.3 request has no queue, so QUEUE changes nothing (ovs-ofctl
/// reads it all the same). The reply, or the switch's error, is printed.
fn queue_get_config(o: &Opts, s: &mut Session) -> Result<String> {
    let port = s.port_arg(o.args.get(1).map_or("any", String::as_str))?;
    let mut v = s.open()?;
    let reply = transact_any(
        &mut v,
        Message::QueueGetConfigRequest(QueueGetConfigRequest { port }),
        s,
    )?;
    Ok(ofp_to_string(&reply, 1))
}

/// ovs-ofctl's names of the `OFPC_FRAG_*` modes, by value (3 is Nicira's
/// `nx-match`).
const FRAG_MODES: [&str; 4] = ["normal", "drop", "reassemble", "nx-match"];

/// The switch's fragment handling mode (`fetch_switch_config`).
fn fetch_frags(v: &mut Vconn, s: &mut Session) -> Result<SwitchConfig> {
    let reply = transact_any(v, Message::GetConfigRequest, s)?;
    match Message::decode(&reply) {
        Ok((_, Message::GetConfigReply(c))) => Ok(c),
        _ => bail!("{}: bad reply to config request", s.target),
    }
}

fn get_frags(s: &mut Session) -> Result<String> {
    let mut v = s.open()?;
    let c = fetch_frags(&mut v, s)?;
    Ok(format!(
        "{}\n",
        FRAG_MODES[usize::from(c.flags & OFPC_FRAG_MASK)]
    ))
}

/// `set-frags SWITCH MODE`: when the mode differs, SET_CONFIG (keeping
/// `miss_send_len`), then GET_CONFIG again to see whether it took (OpenFlow
/// has no error for a mode the switch lacks).
fn set_frags(o: &Opts, s: &mut Session) -> Result<String> {
    let mode = o
        .args
        .get(1)
        .ok_or_else(|| anyhow!("'set-frags' command requires at least 2 arguments"))?;
    let Some(frag) = FRAG_MODES.iter().position(|m| m.eq_ignore_ascii_case(mode)) else {
        bail!("{mode}: unknown fragment handling mode");
    };
    let frag = frag as u16;
    let mut v = s.open()?;
    let mut c = fetch_frags(&mut v, s)?;
    if c.flags & OFPC_FRAG_MASK != frag {
        c.flags = frag;
        v.transact_noreply(vec![Message::SetConfig(c)], &mut s.xids)?;
        let now = fetch_frags(&mut v, s)?;
        if now.flags & OFPC_FRAG_MASK != frag {
            bail!(
                "{}: setting fragment handling mode failed (this switch probably doesn't \
                 support mode \"{}\")",
                s.target,
                FRAG_MODES[usize::from(frag)]
            );
        }
    }
    Ok(String::new())
}

/// `mod-table SWITCH TABLE SETTING`; see the module documentation.
fn mod_table(o: &Opts, s: &mut Session) -> Result<String> {
    let (Some(table), Some(setting)) = (o.args.get(1), o.args.get(2)) else {
        bail!("'mod-table' command requires at least 3 arguments");
    };
    // ovs-ofctl fetches the table names first when names are accepted.
    if s.accepting() {
        s.tables()?;
    }
    let table_id = if table.eq_ignore_ascii_case("all") {
        0xff
    } else {
        table_number(table, s)?.ok_or_else(|| anyhow!("unknown table \"{table}\""))?
    };
    let name = parse_setting(table_id, setting)?;
    let mut v = s.open()?;
    rename_table(&mut v, s, table_id, name)?;
    Ok(String::new())
}

/// A table number (0 to 255) or, when names are accepted, a table name.
fn table_number(text: &str, s: &mut Session) -> Result<Option<u8>> {
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(text.parse::<u8>().ok());
    }
    if !s.accepting() {
        return Ok(None);
    }
    let shown = s.tables()?.accept(&format!("table={text}"), true);
    Ok(shown
        .strip_prefix("table=")
        .and_then(|n| n.parse::<u8>().ok()))
}

/// OVS's `parse_ofp_table_mod` for OpenFlow 1.3: the new name of a
/// `name:NAME` setting, or ovs-ofctl's error for the others.
fn parse_setting(table_id: u8, setting: &str) -> Result<&str> {
    const OF11_12: &str = "OpenFlow11, OpenFlow12";
    const OF14_15: &str = "OpenFlow14, OpenFlow15";
    let key = &setting[..setting.find(':').unwrap_or(setting.len())];
    let versions = match setting {
        "controller" | "drop" => OF11_12,
        "continue" if table_id == 0xfe => {
            bail!("last table's flow miss handling can not be continue")
        }
        "continue" => OF11_12,
        "evict" | "noevict" | "novacancy" => OF14_15,
        _ if key.len() <= "vacancy".len() && "vacancy".starts_with(key) => {
            check_vacancy(setting)?;
            OF14_15
        }
        _ if table_id != 0xff && setting.starts_with("name:") => return Ok(&setting[5..]),
        _ => bail!("invalid table_mod setting {setting}"),
    };
    bail!("table_mod '{setting}' requires one of the OpenFlow versions {versions}")
}

/// `vacancy:DOWN,UP` with 0 <= DOWN <= UP <= 100, as OVS checks it.
fn check_vacancy(setting: &str) -> Result<()> {
    let mut parts = setting
        .split_once(':')
        .map_or("", |(_, rest)| rest)
        .split(',')
        .filter(|p| !p.is_empty());
    let value = |p: &str| -> Option<u8> {
        let n = match p.strip_prefix("0x").or_else(|| p.strip_prefix("0X")) {
            Some(hex) => i64::from_str_radix(hex, 16).ok()?,
            None => p.parse::<i64>().ok()?,
        };
        u8::try_from(n).ok().filter(|n| *n <= 100)
    };
    let down = parts
        .next()
        .ok_or_else(|| anyhow!("Vacancy down value missing"))?;
    let down = value(down).ok_or_else(|| anyhow!("Invalid vacancy down value \"{down}\""))?;
    let up = parts
        .next()
        .ok_or_else(|| anyhow!("Vacancy up value missing"))?;
    let up = value(up).ok_or_else(|| anyhow!("Invalid vacancy up value \"{up}\""))?;
    if down > up {
        bail!(
            "Invalid vacancy range, vacancy up should be greater than vacancy down \
             (OFPBPC_BAD_VALUE)"
        );
    }
    Ok(())
}

/// OVS's `change_table_name` on OpenFlow 1.3: reads every table's features,
/// then sends them all back (the properties as they came) with table
/// `table_id` renamed (cut to 31 bytes), split over messages flagged
/// `OFPMPF_REQ_MORE` under one xid. The reply repeats the tables and is not
/// printed; an error is printed on stderr.
fn rename_table(v: &mut Vconn, s: &mut Session, table_id: u8, name: &str) -> Result<()> {
    let mut tables: Vec<TableFeatures> = Vec::new();
    for m in v.dump(Q::TableFeatures(Vec::new()), &mut s.xids)? {
        if let MultipartReplyBody::TableFeatures(t) = reply_body(&m)? {
            tables.extend(t);
        }
    }
    let Some(t) = tables.iter_mut().find(|t| t.table_id == table_id) else {
        bail!("switch does not have table {table_id}");
    };
    let mut cut = name.len().min(31);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    t.name = name[..cut].to_string();
    // Messages of at most 64 KiB: 16 bytes of header before the entries.
    const MAX_BODY: usize = 0xffff - 16;
    let mut batches: Vec<Vec<TableFeatures>> = vec![Vec::new()];
    let mut used = 0;
    for t in tables {
        let len = ofp_codec::msg::WireBody::encoded_len(&t);
        if used + len > MAX_BODY && !batches.last().is_some_and(Vec::is_empty) {
            batches.push(Vec::new());
            used = 0;
        }
        used += len;
        if let Some(b) = batches.last_mut() {
            b.push(t);
        }
    }
    let xid = s.xids.next();
    let n = batches.len();
    for (i, body) in batches.into_iter().enumerate() {
        let flags = if i + 1 < n { OFPMPF_MORE } else { 0 };
        let req = MultipartRequest {
            flags,
            body: Q::TableFeatures(body),
        };
        v.send(&Message::MultipartRequest(req).encode(xid))?;
    }
    loop {
        let m = v.recv_reply(xid)?;
        if m[1] == 1 {
            return Err(Printed(ofp_to_string(&m, 1).trim_end().to_string()).into());
        }
        let more = m.len() >= 12 && u16::from_be_bytes([m[10], m[11]]) & OFPMPF_MORE != 0;
        if !more {
            return Ok(());
        }
    }
}

/// Sends `msg` and returns its reply, an error included (ovs-ofctl's
/// `dump_transaction` prints either).
fn transact_any(v: &mut Vconn, msg: Message, s: &mut Session) -> Result<Vec<u8>> {
    match v.transact(msg, &mut s.xids) {
        Ok(m) => Ok(m),
        Err(e) => match e.downcast::<SwitchError>() {
            Ok(SwitchError(m)) => Ok(m),
            Err(e) => Err(e),
        },
    }
}
