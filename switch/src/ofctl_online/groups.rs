//! Group and meter text, as `ovs-ofctl add-group`/`add-meter` take it:
//! `group_id=1,type=all,bucket=output:1,bucket=weight:10,actions=output:2`
//! and `meter=7,kbps,burst,band=type=drop,rate=1000,burst_size=10`.
//!
//! `selection_method`, `selection_method_param` and `fields(...)` are
//! accepted and left out of the message, as ovs-ofctl does for OpenFlow 1.3
//! (they are OpenFlow 1.5 group properties).
//!
//! Not done: `bucket_id`, `command_bucket_id`.

use anyhow::{Context, Result, bail};
use ofp_codec::action::parse_action_list;
use ofp_codec::msg::meter_mod::{OFPMF_BURST, OFPMF_KBPS, OFPMF_PKTPS, OFPMF_STATS};
use ofp_codec::msg::{
    Bucket, GroupMod, GroupModCommand, GroupType, MeterBand, MeterBandType, MeterCommand, MeterMod,
};

/// `OFPG_ALL`.
pub const OFPG_ALL: u32 = 0xffff_fffc;
/// `OFPM_ALL`.
pub const OFPM_ALL: u32 = 0xffff_ffff;

fn num(v: &str) -> Result<u32> {
    let r = match v.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16),
        None => v.parse(),
    };
    r.with_context(|| format!("{v}: not a number"))
}

/// Splits at top-level `,` outside parentheses.
fn fields(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out.into_iter()
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect()
}

fn parse_bucket(text: &str) -> Result<Bucket> {
    let mut b = Bucket {
        weight: 0,
        watch_port: 0xffff_ffff,
        watch_group: 0xffff_ffff,
        actions: Vec::new(),
    };
    let mut rest: Vec<&str> = Vec::new();
    let mut in_actions = false;
    for f in fields(text) {
        if in_actions {
            rest.push(f);
            continue;
        }
        let (k, v) = f.split_once([':', '=']).unwrap_or((f, ""));
        match k {
            "weight" => b.weight = num(v)? as u16,
            "watch_port" => {
                b.watch_port = ofp_codec::text::flow_mod::parse_port(v)
                    .with_context(|| format!("{v}: bad port"))?
            }
            "watch_group" => b.watch_group = num(v)?,
            "actions" => {
                in_actions = true;
                rest.push(v);
            }
            _ => {
                in_actions = true;
                rest.push(f);
            }
        }
    }
    let acts = rest.join(",");
    b.actions = parse_action_list(&acts).map_err(|e| anyhow::anyhow!("{}", e.msg))?;
    Ok(b)
}

/// Parses a group for `command` (ADD/MODIFY need a type; DELETE only an id,
/// default all groups).
pub fn parse_group(text: &str, command: GroupModCommand) -> Result<GroupMod> {
    let mut gm = GroupMod {
        command,
        group_type: GroupType::ALL,
        group_id: if command == GroupModCommand::DELETE {
            OFPG_ALL
        } else {
            u32::MAX
        },
        buckets: Vec::new(),
    };
    // Buckets run to the next "bucket=".
    let mut parts = text.split("bucket=");
    let head = parts.next().unwrap_or("");
    let mut have_type = false;
    for f in fields(head) {
        let (k, v) = f.split_once('=').unwrap_or((f, ""));
        match k {
            "group_id" => gm.group_id = if v == "all" { OFPG_ALL } else { num(v)? },
            "type" => {
                have_type = true;
                gm.group_type = match v {
                    "all" => GroupType::ALL,
                    "select" => GroupType::SELECT,
                    "indirect" => GroupType::INDIRECT,
                    "ff" | "fast_failover" => GroupType::FF,
                    _ => bail!("{v}: unknown group type"),
                }
            }
            "selection_method" | "selection_method_param" => {}
            k if k.starts_with("fields") => {}
            k => bail!("unknown keyword {k}"),
        }
    }
    for b in parts {
        gm.buckets
            .push(parse_bucket(b.trim_end_matches(',').trim())?);
    }
    if gm.group_id == u32::MAX {
        bail!("must specify a group_id");
    }
    if command != GroupModCommand::DELETE && !have_type {
        bail!("must specify a type");
    }
    Ok(gm)
}

/// Parses a meter for `command` (DELETE needs only `meter=ID`, default all).
pub fn parse_meter(text: &str, command: MeterCommand) -> Result<MeterMod> {
    let mut mm = MeterMod {
        command,
        flags: 0,
        meter_id: if command == MeterCommand::DELETE {
            OFPM_ALL
        } else {
            0
        },
        bands: Vec::new(),
    };
    let mut parts = text.split("band=");
    for f in fields(parts.next().unwrap_or("")) {
        let (k, v) = f.split_once('=').unwrap_or((f, ""));
        match k {
            "meter" => mm.meter_id = if v == "all" { OFPM_ALL } else { num(v)? },
            "kbps" => mm.flags |= OFPMF_KBPS,
            "pktps" => mm.flags |= OFPMF_PKTPS,
            "burst" => mm.flags |= OFPMF_BURST,
            "stats" => mm.flags |= OFPMF_STATS,
            _ => bail!("{f}: unknown meter field"),
        }
    }
    for b in parts {
        let mut band = MeterBand {
            band_type: MeterBandType::DROP,
            rate: 0,
            burst_size: 0,
            prec_level: 0,
        };
        for f in fields(b) {
            let (k, v) = f.split_once('=').unwrap_or((f, ""));
            match k {
                "type" => {
                    band.band_type = match v {
                        "drop" => MeterBandType::DROP,
                        "dscp_remark" => MeterBandType::DSCP_REMARK,
                        _ => bail!("{v}: unknown band type"),
                    }
                }
                "rate" => band.rate = num(v)?,
                "burst_size" => band.burst_size = num(v)?,
                "prec_level" => band.prec_level = num(v)? as u8,
                _ => bail!("{f}: unknown band field"),
            }
        }
        mm.bands.push(band);
    }
    if command != MeterCommand::DELETE && mm.meter_id == 0 {
        bail!("must specify a meter id");
    }
    Ok(mm)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_parse_type_id_and_buckets_with_options() {
        let g = parse_group(
            "group_id=5,type=select,bucket=weight:10,actions=output:1,bucket=output:2",
            GroupModCommand::ADD,
        )
        .unwrap();
        assert_eq!(
            (g.group_id, g.group_type, g.buckets.len()),
            (5, GroupType::SELECT, 2)
        );
        assert_eq!(g.buckets[0].weight, 10);
        assert_eq!(g.buckets[1].actions.len(), 1);
        assert!(parse_group("type=all", GroupModCommand::ADD).is_err());
        assert!(parse_group("group_id=1", GroupModCommand::ADD).is_err());
        assert_eq!(
            parse_group("", GroupModCommand::DELETE).unwrap().group_id,
            OFPG_ALL
        );
    }

    #[test]
    fn meters_parse_flags_and_bands() {
        let m = parse_meter(
            "meter=7,kbps,burst,band=type=drop,rate=1000,burst_size=10",
            MeterCommand::ADD,
        )
        .unwrap();
        assert_eq!((m.meter_id, m.flags), (7, OFPMF_KBPS | OFPMF_BURST));
        assert_eq!((m.bands[0].rate, m.bands[0].burst_size), (1000, 10));
        assert!(parse_meter("kbps,band=type=drop,rate=1", MeterCommand::ADD).is_err());
        assert!(parse_meter("meter=1,band=type=bogus", MeterCommand::ADD).is_err());
    }
}
