//! The unixctl commands `rvs switchd` serves on `RUNDIR/rvs.ctl` (what
//! `rvs ctl` and `ovs-appctl -t RUNDIR/rvs.ctl` call), in OVS's formats.
//!
//! Registered: `exit`, `dpctl/dump-conntrack [-m] [-s] [DP] [zone=N]`,
//! `dpctl/flush-conntrack [zone=N] [ct-orig-tuple [ct-reply-tuple]]`,
//! `dpctl/ct-stats-show [DP]
//! [zone=N] [verbose]`, `dpctl/ct-set-maxconns [DP] N`,
//! `dpctl/ct-get-maxconns [DP]`, `dpctl/dump-flows [DP]`,
//! `dpctl/del-flows [DP]`, `ofproto/trace BRIDGE FLOW`,
//! `add-port BRIDGE IFNAME [OFPORT]`, `add-tap BRIDGE NAME [OFPORT]`,
//! `del-port BRIDGE IFNAME`, `show-ports`; `list-commands` and `version` are
//! built into the registry. DESIGN.md's short names are aliases:
//! `dump-conntrack`, `flush-conntrack`, `ct-stats`, `dpif/dump-flows`.
//!
//! Also `dpctl/ct-set-limits [default=L] [zone=N,limit=L]...`,
//! `dpctl/ct-del-limits zone=N[,M]`, `dpctl/ct-get-limits [zone=N[,M]]`.
//!
//! `dpctl/flush-conntrack` takes partial tuples in either direction, as OVS 3.1 (see
//! [`ct_flush`]); like OVS 3.1's, it reads a datapath name as a tuple and refuses it.
//!
//! Fragment reassembly (OVS 3.1's texts): `dpctl/ipf-set-enabled [DP] v4|v6`,
//! `dpctl/ipf-set-disabled [DP] v4|v6`, `dpctl/ipf-set-min-frag [DP] v4|v6 N`,
//! `dpctl/ipf-set-max-nfrags [DP] N`, `dpctl/ipf-get-status [DP] [-m|--more]`.
//!
//! `fdb/show BRIDGE` lists the NORMAL action's MAC table as OVS does.

use std::sync::{Arc, Weak};

use conntrack::{FlushFilter, FlushMatch, TupleMatch, format_ct_stats};
use ofp_codec::msg::ct_flush::{mapped_ipv4, scan_zone};
use ofp_codec::msg::{CtL3, CtMatch, CtTuple};

use super::Daemon;
use super::config::PortSpec;
use crate::unixctl::Registry;

/// Splits dpctl arguments into flags, an optional `zone=N`, and the rest
/// (a leading datapath name such as `netdev@ovs-netdev` is accepted and
/// ignored: rvs has one datapath).
struct DpctlArgs {
    flags: Vec<String>,
    zone: Option<u16>,
    rest: Vec<String>,
}

fn dpctl_args(args: &[String]) -> Result<DpctlArgs, String> {
    let mut a = DpctlArgs {
        flags: Vec::new(),
        zone: None,
        rest: Vec::new(),
    };
    for (i, s) in args.iter().enumerate() {
        if s.starts_with('-') {
            a.flags.push(s.clone());
        } else if let Some(z) = s.strip_prefix("zone=") {
            a.zone = Some(
                z.parse()
                    .map_err(|_| format!("failed to parse zone: {z}"))?,
            );
        } else if i == 0 && s.contains('@') {
            // Datapath name.
        } else {
            a.rest.push(s.clone());
        }
    }
    Ok(a)
}

/// A datapath name given to a dpctl command: rvs's single datapath answers
/// to any `type@name` (as `netdev@ovs-netdev`); anything else is refused
/// with OVS's message.
fn check_dp_name(s: &str) -> Result<(), String> {
    if s.contains('@') {
        Ok(())
    } else {
        Err("datapath not found (Invalid argument)".into())
    }
}

/// Flushes what an OVS ct match selects, as OVS 3.1's `ct_dpif_flush`: nothing given means
/// all (or all of `zone`); a full original five-tuple and nothing in the reply direction is
/// looked up directly, in `zone` or zone 0 (`Err` when there is no such connection: OVS's
/// ENOENT); anything else flushes every connection of `zone` (all zones when `None`) whose
/// tuples have the fields given ([`conntrack::FlushMatch`]). Returns how many were removed.
/// Used by `dpctl/flush-conntrack` and by the bridge for `NXT_CT_FLUSH(_ZONE)`.
pub(crate) fn ct_flush(
    ct: &conntrack::Conntrack,
    zone: Option<u16>,
    m: &CtMatch,
    now_ns: u64,
) -> Result<usize, ()> {
    use std::net::IpAddr;
    if m.is_zero() {
        return Ok(ct.flush(match zone {
            Some(z) => FlushFilter::Zone(z),
            None => FlushFilter::All,
        }));
    }
    let icmp = matches!(m.ip_proto, 1 | 58);
    if m.is_exact_orig() {
        let o = &m.orig;
        let dport = if icmp {
            u16::from(o.icmp_type())
        } else {
            o.dst_port
        };
        let key = if m.l3 == CtL3::Ipv4 {
            conntrack::ConnKey::ipv4(
                mapped_ipv4(&o.src),
                mapped_ipv4(&o.dst),
                m.ip_proto,
                o.src_port,
                dport,
            )
        } else {
            conntrack::ConnKey::ipv6(o.src, o.dst, m.ip_proto, o.src_port, dport)
        };
        return match ct.flush(FlushFilter::Tuple(key.with_zone(zone.unwrap_or(0)))) {
            0 => Err(()),
            n => Ok(n),
        };
    }
    // OVS compares an address only when the family says how.
    let addr = |a: &std::net::Ipv6Addr| -> Option<IpAddr> {
        match m.l3 {
            _ if a.is_unspecified() => None,
            CtL3::Ipv4 => Some(IpAddr::V4(mapped_ipv4(a))),
            CtL3::Ipv6 => Some(IpAddr::V6(*a)),
            CtL3::Unset => None,
        }
    };
    let tuple = |t: &CtTuple| TupleMatch {
        src: addr(&t.src),
        dst: addr(&t.dst),
        src_port: t.src_port,
        dst_port: t.dst_port,
    };
    let fm = FlushMatch {
        ipv6: match m.l3 {
            CtL3::Unset => None,
            CtL3::Ipv4 => Some(false),
            CtL3::Ipv6 => Some(true),
        },
        proto: m.ip_proto,
        orig: tuple(&m.orig),
        reply: tuple(&m.reply),
    };
    Ok(ct.flush_matching(zone, &fm, now_ns))
}

/// `dpctl/flush-conntrack [zone=N] [ct-orig-tuple [ct-reply-tuple]]` with OVS 3.1's argument
/// handling and messages (`dpctl_flush_conntrack`): the first argument may be `zone=N`; the
/// next one or two are tuples (`''` is an empty one); more than one argument left over is
/// refused; a datapath name is read as a tuple (and refused), as in OVS 3.1.
fn flush_conntrack(d: &Daemon, args: &[String]) -> Result<String, String> {
    let mut rest = args;
    let mut zone = None;
    if let Some(a) = rest.first().filter(|a| a.starts_with("zone=")) {
        zone = Some(scan_zone(a).ok_or_else(|| dpctl_einval("failed to parse zone"))?);
        rest = &rest[1..];
    }
    let mut m = CtMatch::default();
    let mut msgs = String::new();
    for (i, a) in rest.iter().take(2).enumerate() {
        if !a.is_empty() && !m.parse_tuple(i == 1, a, &mut msgs) {
            return Err(dpctl_einval(&msgs));
        }
    }
    if rest.len().saturating_sub(2) > 1 {
        return Err(dpctl_einval("invalid arguments"));
    }
    // OVS's `opt_dpif_open`: with the most arguments the command takes, the first one must
    // name the datapath, and here it never can (it was read as zone or tuple).
    if args.len() == 4 {
        return Err(dpctl_einval("datapath not found"));
    }
    match ct_flush(&d.ct, zone, &m, d.dp.now_ns()) {
        Ok(_) => Ok(String::new()),
        Err(()) => Err(format!(
            "{msgs}failed to flush conntrack (No such file or directory)"
        )),
    }
}

/// An OVS dpctl error with `EINVAL` (`dpctl_error`: "MSG (Invalid argument)").
fn dpctl_einval(msg: &str) -> String {
    format!("{msg} (Invalid argument)")
}

/// The datapath name the zone-limit commands take as an optional first argument (OVS's
/// `dp_exists`: a datapath that exists; rvs's one is OVS's userspace one by name).
const LIMITS_DP: &str = "netdev@ovs-netdev";

/// The arguments after an optional datapath name.
fn limits_dp(args: &[String]) -> &[String] {
    match args.first() {
        Some(a) if a == LIMITS_DP => &args[1..],
        _ => args,
    }
}

/// As [`limits_dp`] for a command of at most `max` arguments: when all `max` are given, the
/// first must be the datapath (OVS's `opt_dpif_open`: "datapath not found").
fn limits_dp_max(args: &[String], max: usize) -> Result<&[String], String> {
    let rest = limits_dp(args);
    if args.len() == max && rest.len() == args.len() {
        return Err(dpctl_einval("datapath not found"));
    }
    Ok(rest)
}

/// An unsigned number as C's `strtoul(s, .., 0)` reads it (decimal, 0x hex, 0 octal), whole.
fn c_uint(s: &str) -> Option<u64> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// `zone=N,limit=L` (OVS's `ct_dpif_parse_zone_limit_tuple`), with its messages.
fn zone_limit_tuple(s: &str) -> Result<(u16, u32), String> {
    let (mut zone, mut limit) = (None, None);
    for kv in s.split(',').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once(['=', ':']).unwrap_or((kv, ""));
        if v.is_empty() {
            return Err(format!("field {k} missing value"));
        }
        match k {
            "zone" => {
                zone = Some(
                    c_uint(v)
                        .and_then(|v| u16::try_from(v).ok())
                        .ok_or_else(|| format!("failed to parse field {k}"))?,
                )
            }
            "limit" => {
                limit = Some(
                    c_uint(v)
                        .and_then(|v| u32::try_from(v).ok())
                        .ok_or_else(|| format!("failed to parse field {k}"))?,
                )
            }
            _ => return Err(format!("invalid zone limit field: {k}")),
        }
    }
    zone.zip(limit)
        .ok_or_else(|| "failed to parse zone limit".to_string())
}

/// `zone=N1[,N2]...` (OVS's `parse_ct_limit_zones`), with its messages. An empty list is
/// refused (OVS 3.1's ovs-vswitchd crashes on `zone=`).
fn limit_zones(s: &str) -> Result<Vec<u16>, String> {
    let list = s
        .strip_prefix("zone=")
        .ok_or_else(|| format!("invalid argument {s}"))?;
    let zones: Vec<u16> = list
        .split(',')
        .filter(|z| !z.is_empty())
        .map(|z| z.parse::<u16>().map_err(|_| "invalid zone".to_string()))
        .collect::<Result<_, _>>()?;
    if zones.is_empty() {
        return Err("invalid zone".into());
    }
    Ok(zones)
}

fn with<F>(d: &Weak<Daemon>, f: F) -> Result<String, String>
where
    F: FnOnce(&Daemon) -> Result<String, String>,
{
    match d.upgrade() {
        Some(d) => f(&d),
        None => Err("daemon is shutting down".into()),
    }
}

fn check_bridge(d: &Daemon, name: &str) -> Result<(), String> {
    if name == d.settings.bridge {
        Ok(())
    } else {
        Err(format!("no such bridge ({name})"))
    }
}

/// `v4` or `v6` as OVS's dpctl reads it (the first two characters): true for IPv6.
fn ipf_family(s: &str) -> Option<bool> {
    match s.get(..2) {
        Some("v4") => Some(false),
        Some("v6") => Some(true),
        _ => None,
    }
}

/// The fragment-reassembly commands, as OVS 3.1's dpctl: `dpctl/ipf-set-enabled [dp]
/// v4|v6`, `dpctl/ipf-set-disabled [dp] v4|v6`, `dpctl/ipf-set-min-frag [dp] v4|v6 N`,
/// `dpctl/ipf-set-max-nfrags [dp] N`, `dpctl/ipf-get-status [dp] [-m|--more]`.
/// Zone timeout policies given by `add-zone-tp`, as given (key → seconds), for `list-zone-tp`.
type ZoneTps = std::collections::BTreeMap<u16, std::collections::BTreeMap<String, u32>>;

/// `ovs-vsctl`'s zone timeout-policy commands, same syntax (options after the command name,
/// as `ovs-appctl`/`rvs ctl` pass them):
/// `add-zone-tp [--may-exist] DP zone=N KEY=SECONDS...`, `del-zone-tp [--if-exists] DP zone=N`,
/// `list-zone-tp DP`. DP is the datapath type; rvs's datapath is userspace, OVS's `netdev`.
/// A policy is OVS's userspace defaults with the given keys changed; it applies to the zone's
/// packets at once (OVS keeps it in OVSDB and pushes it to the datapath).
fn register_zone_tp(r: &mut Registry, daemon: &Arc<Daemon>) {
    // The config file's policies (already checked) are in force from the start.
    for (zone, keys) in &daemon.settings.zone_timeout_policies {
        let mut p = conntrack::TimeoutPolicy::default();
        for (k, v) in keys {
            p.set_attr(k, *v);
        }
        daemon.ct.set_zone_timeout_policy(*zone, Some(p));
    }
    let given: Arc<parking_lot::Mutex<ZoneTps>> = Arc::new(parking_lot::Mutex::new(
        daemon.settings.zone_timeout_policies.clone(),
    ));
    let w = &Arc::downgrade(daemon);

    let (d, tps) = (w.clone(), given.clone());
    r.register(
        "add-zone-tp",
        "[--may-exist] datapath zone=N key=seconds...",
        1,
        usize::MAX,
        Box::new(move |args| {
            with(&d, |d| {
                let (opts, pos) = vsctl_args("add-zone-tp", args, "--may-exist", 3)?;
                let zone = zone_tp_target(&pos)?;
                let mut policy = conntrack::TimeoutPolicy::default();
                let mut keys = std::collections::BTreeMap::new();
                for kv in &pos[2..] {
                    let (k, v) = kv
                        .split_once('=')
                        .ok_or_else(|| format!("{kv}: missing '=' in timeout policy"))?;
                    let secs: u32 = v
                        .parse()
                        .map_err(|_| format!("{kv}: invalid timeout value"))?;
                    if !policy.set_attr(k, secs) {
                        return Err(format!("{k}: unknown timeout policy key"));
                    }
                    keys.insert(k.to_string(), secs);
                }
                let mut tps = tps.lock();
                if tps.contains_key(&zone) && opts.is_empty() {
                    return Err(format!("zone id {zone} already exists"));
                }
                d.ct.set_zone_timeout_policy(zone, Some(policy));
                tps.insert(zone, keys);
                Ok(String::new())
            })
        }),
    );

    let (d, tps) = (w.clone(), given.clone());
    r.register(
        "del-zone-tp",
        "[--if-exists] datapath zone=N",
        1,
        3,
        Box::new(move |args| {
            with(&d, |d| {
                let (opts, pos) = vsctl_args("del-zone-tp", args, "--if-exists", 2)?;
                if pos.len() > 2 {
                    return Err("'del-zone-tp' command takes at most 2 arguments".into());
                }
                let zone = zone_tp_target(&pos)?;
                let mut tps = tps.lock();
                if tps.remove(&zone).is_none() {
                    if opts.is_empty() {
                        return Err(format!("zone id {zone} does not exist"));
                    }
                    return Ok(String::new());
                }
                d.ct.set_zone_timeout_policy(zone, None);
                Ok(String::new())
            })
        }),
    );

    let tps = given;
    r.register(
        "list-zone-tp",
        "datapath",
        1,
        1,
        Box::new(move |args| {
            if args[0] != "netdev" {
                return Err(format!("datapath: {} record not found", args[0]));
            }
            let mut out = String::new();
            for (zone, keys) in tps.lock().iter() {
                let kv: Vec<String> = keys.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out.push_str(&format!(
                    "Zone:{zone}, Timeout Policies: {}\n",
                    kv.join(" ")
                ));
            }
            Ok(out)
        }),
    );
}

/// Splits `ovs-vsctl`-style arguments into the options (only `allowed` is accepted) and at
/// least `min` positional arguments, with `ovs-vsctl`'s messages.
fn vsctl_args<'a>(
    cmd: &str,
    args: &'a [String],
    allowed: &str,
    min: usize,
) -> Result<(Vec<&'a str>, Vec<&'a str>), String> {
    let (opts, pos): (Vec<&str>, Vec<&str>) = args
        .iter()
        .map(String::as_str)
        .partition(|a| a.starts_with("--"));
    if let Some(bad) = opts.iter().find(|o| **o != allowed) {
        return Err(format!("'{cmd}' command has no '{bad}' option"));
    }
    if pos.len() < min {
        return Err(format!("'{cmd}' command requires at least {min} arguments"));
    }
    Ok((opts, pos))
}

/// The datapath (`netdev`) and `zone=N` arguments of a zone timeout-policy command.
fn zone_tp_target(pos: &[&str]) -> Result<u16, String> {
    if pos[0] != "netdev" {
        return Err(format!("datapath {} does not exist", pos[0]));
    }
    pos[1]
        .strip_prefix("zone=")
        .and_then(|z| z.parse().ok())
        .ok_or_else(|| format!("{}: invalid zone (expected zone=0..65535)", pos[1]))
}

fn register_ipf(r: &mut Registry, w: &Weak<Daemon>) {
    for (name, on) in [
        ("dpctl/ipf-set-enabled", true),
        ("dpctl/ipf-set-disabled", false),
    ] {
        let d = w.clone();
        r.register(
            name,
            "[dp] v4|v6",
            1,
            2,
            Box::new(move |args| {
                with(&d, |d| {
                    let v6 = args.last().and_then(|a| ipf_family(a)).ok_or_else(|| {
                        "parameter missing: 'v4' for IPv4 or 'v6' for IPv6 (Invalid argument)"
                            .to_string()
                    })?;
                    d.dp.ipf().set_enabled(v6, on);
                    let what = if on { "enabling" } else { "disabling" };
                    Ok(format!("{what} fragmentation reassembly successful\n"))
                })
            }),
        );
    }

    let d = w.clone();
    r.register(
        "dpctl/ipf-set-min-frag",
        "[dp] v4|v6 minfragment",
        2,
        3,
        Box::new(move |args| {
            with(&d, |d| {
                if args.len() == 3 {
                    check_dp_name(&args[0])?;
                }
                let n = args.len();
                let v6 = ipf_family(&args[n - 2]).ok_or_else(|| {
                    "parameter missing: v4 for IPv4 or v6 for IPv6 (Invalid argument)".to_string()
                })?;
                let size: u32 = args[n - 1].parse().map_err(|_| {
                    "parameter missing for minimum fragment size (Invalid argument)".to_string()
                })?;
                if !d.dp.ipf().set_min_frag(v6, size) {
                    return Err(
                        "requested minimum fragment size too small; see documentation \
                                (Operation not permitted)"
                            .into(),
                    );
                }
                Ok("setting minimum fragment size successful\n".into())
            })
        }),
    );

    let d = w.clone();
    r.register(
        "dpctl/ipf-set-max-nfrags",
        "[dp] maxfrags",
        1,
        2,
        Box::new(move |args| {
            with(&d, |d| {
                if args.len() == 2 {
                    check_dp_name(&args[0])?;
                }
                let n: u32 = args.last().and_then(|a| a.parse().ok()).ok_or_else(|| {
                    "parameter missing for maximum fragments (Invalid argument)".to_string()
                })?;
                if !d.dp.ipf().set_max_nfrags(n) {
                    return Err("setting maximum fragments failed (Operation not permitted)".into());
                }
                Ok("setting maximum fragments successful\n".into())
            })
        }),
    );

    let d = w.clone();
    r.register(
        "dpctl/ipf-get-status",
        "[dp] [-m|--more]",
        0,
        3,
        Box::new(move |args| {
            with(&d, |d| {
                let a = dpctl_args(args)?;
                if let Some(dp) = a.rest.first() {
                    check_dp_name(dp)?;
                }
                let more = a.flags.iter().any(|f| f == "-m" || f == "--more");
                let ipf = d.dp.ipf();
                let lists = more.then(|| ipf.dump_lists());
                Ok(conntrack::ipf::format_status(
                    &ipf.status(),
                    lists.as_deref(),
                ))
            })
        }),
    );
}

/// `fdb/show` text as OVS prints it: a header, then per entry the port
/// (number, or LOCAL), VLAN, MAC and age in seconds.
fn format_fdb(entries: &[(u32, u16, u64, u64)]) -> String {
    let mut out = String::from(" port  VLAN  MAC                Age\n");
    for &(port, vlan, mac, age_s) in entries {
        let port = match port {
            ofp_codec::msg::port::OFPP_LOCAL => "LOCAL".to_string(),
            p => p.to_string(),
        };
        let b = mac.to_be_bytes();
        out.push_str(&format!(
            "{port:>5}  {vlan:>4}  {:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}  {age_s:>3}\n",
            b[2], b[3], b[4], b[5], b[6], b[7]
        ));
    }
    out
}

/// Builds the registry. Handlers hold only a weak reference to the daemon.
pub fn registry(daemon: &Arc<Daemon>) -> Registry {
    let mut r = Registry::new();
    let w = Arc::downgrade(daemon);

    let d = w.clone();
    r.register(
        "exit",
        "",
        0,
        1,
        Box::new(move |_| {
            with(&d, |d| {
                d.shutdown.notify_one();
                Ok(String::new())
            })
        }),
    );

    for name in ["dpctl/dump-conntrack", "dump-conntrack"] {
        let d = w.clone();
        r.register(
            name,
            "[-m] [-s] [dp] [zone=N]",
            0,
            4,
            Box::new(move |args| {
                with(&d, |d| {
                    let a = dpctl_args(args)?;
                    // Short options combine as in OVS's dpctl (`-ms`).
                    let short = |c: char| {
                        a.flags
                            .iter()
                            .any(|f| !f.starts_with("--") && f[1..].contains(c))
                    };
                    let stats = short('s') || a.flags.iter().any(|f| f == "--statistics");
                    let verbose = short('m') || a.flags.iter().any(|f| f == "--more");
                    let mut out = String::new();
                    for e in d.ct.dump_all(a.zone, d.dp.now_ns()) {
                        out.push_str(&if verbose {
                            e.format_verbose(stats)
                        } else {
                            e.format(stats)
                        });
                        out.push('\n');
                    }
                    Ok(out)
                })
            }),
        );
    }

    for name in ["dpctl/flush-conntrack", "flush-conntrack"] {
        let d = w.clone();
        r.register(
            name,
            "[dp] [zone=N] [ct-orig-tuple] [ct-reply-tuple]",
            0,
            4,
            Box::new(move |args| with(&d, |d| flush_conntrack(d, args))),
        );
    }

    for name in ["dpctl/ct-stats-show", "ct-stats"] {
        let d = w.clone();
        r.register(
            name,
            "[dp] [zone=N] [verbose]",
            0,
            3,
            Box::new(move |args| {
                with(&d, |d| {
                    let a = dpctl_args(args)?;
                    let verbose = a.flags.iter().any(|f| f == "-m" || f == "--more")
                        || a.rest.iter().any(|r| r == "verbose");
                    Ok(format_ct_stats(
                        &d.ct.dump_all(a.zone, d.dp.now_ns()),
                        verbose,
                    ))
                })
            }),
        );
    }

    let d = w.clone();
    r.register(
        "dpctl/ct-set-maxconns",
        "[dp] maxconns",
        1,
        2,
        Box::new(move |args| {
            with(&d, |d| {
                // As OVS: `[dp] maxconns`; a lone argument is the value.
                if args.len() == 2 {
                    check_dp_name(&args[0])?;
                }
                let n: usize = args.last().and_then(|s| s.parse().ok()).ok_or_else(|| {
                    "maxconns missing or malformed (Invalid argument)".to_string()
                })?;
                d.ct.set_max_conns(n);
                Ok("setting maxconns successful\n".into())
            })
        }),
    );

    // The zone-limit commands answer as OVS's dpctl (lib/dpctl.c): the same parsing, the
    // same messages (without OVS's "ovs-vswitchd: " program-name prefix, like rvs's other
    // dpctl errors), nothing applied when any argument is wrong.
    let d = w.clone();
    r.register(
        "dpctl/ct-set-limits",
        "[dp] [default=L] [zone=N,limit=L]...",
        1,
        usize::MAX,
        Box::new(move |args| {
            with(&d, |d| {
                let mut rest = limits_dp(args).iter();
                let mut default = None;
                let mut sets: Vec<(u16, u32)> = Vec::new();
                if let Some(a) = rest.as_slice().first()
                    && let Some(v) = a.strip_prefix("default=")
                {
                    let v = c_uint(v)
                        .and_then(|v| u32::try_from(v).ok())
                        .ok_or_else(|| dpctl_einval("invalid default limit"))?;
                    default = Some(v);
                    rest.next();
                }
                for a in rest {
                    sets.push(zone_limit_tuple(a).map_err(|m| dpctl_einval(&m))?);
                }
                let mut lim = d.ct_limits.lock();
                if let Some(limit) = default {
                    lim.0 = limit;
                    d.ct.set_default_zone_limit((limit != 0).then_some(limit));
                }
                for (z, limit) in sets {
                    lim.1.insert(z);
                    d.ct.set_zone_limit(z, Some(limit));
                }
                Ok(String::new())
            })
        }),
    );

    let d = w.clone();
    r.register(
        "dpctl/ct-del-limits",
        "[dp] zone=N1[,N2]...",
        1,
        2,
        Box::new(move |args| {
            with(&d, |d| {
                let rest = limits_dp_max(args, 2)?;
                let zones = limit_zones(rest.first().map_or("", String::as_str))
                    .map_err(|m| dpctl_einval(&m))?;
                let mut lim = d.ct_limits.lock();
                for z in zones {
                    lim.1.remove(&z);
                    d.ct.set_zone_limit(z, None);
                }
                Ok(String::new())
            })
        }),
    );

    let d = w.clone();
    r.register(
        "dpctl/ct-get-limits",
        "[dp] [zone=N1[,N2]...]",
        0,
        2,
        Box::new(move |args| {
            with(&d, |d| {
                let rest = limits_dp_max(args, 2)?;
                let query = match rest.first() {
                    Some(q) => Some(limit_zones(q).map_err(|m| dpctl_einval(&m))?),
                    None => None,
                };
                let lim = d.ct_limits.lock();
                let zones: Vec<u16> = query.unwrap_or_else(|| lim.1.iter().copied().collect());
                let mut out = format!("default limit={}", lim.0);
                for z in zones {
                    let limit = d.ct.zone_limit(z).unwrap_or(lim.0);
                    out.push_str(&format!(
                        "\nzone={z},limit={limit},count={}",
                        d.ct.zone_count(z)
                    ));
                }
                out.push('\n');
                Ok(out)
            })
        }),
    );

    let d = w.clone();
    r.register(
        "dpctl/ct-get-maxconns",
        "[dp]",
        0,
        1,
        Box::new(move |args| {
            with(&d, |d| {
                args.first().map_or(Ok(()), |a| check_dp_name(a))?;
                Ok(format!("{}\n", d.ct.stats().max_conns))
            })
        }),
    );

    let d = w.clone();
    r.register(
        "dpctl/ct-get-nconns",
        "[dp]",
        0,
        1,
        Box::new(move |args| {
            with(&d, |d| {
                args.first().map_or(Ok(()), |a| check_dp_name(a))?;
                Ok(format!("{}\n", d.ct.stats().n_conns))
            })
        }),
    );

    register_ipf(&mut r, &w);
    register_zone_tp(&mut r, daemon);

    for name in ["dpctl/dump-flows", "dpif/dump-flows"] {
        let d = w.clone();
        // OVS's dpctl/dump-flows heads each forwarding thread's flows with
        // the thread; its userspace datapath handles non-PMD ports (tap,
        // AF_PACKET: rvs's kinds) in the main thread, so every flow is
        // listed under that one heading. dpif/dump-flows has none.
        let heading = name == "dpctl/dump-flows";
        r.register(
            name,
            "[dp]",
            0,
            3,
            Box::new(move |_| {
                with(&d, |d| {
                    let flows = d.dp.flow_dump_text();
                    Ok(if heading && !flows.is_empty() {
                        format!("flow-dump from the main thread:\n{flows}")
                    } else {
                        flows
                    })
                })
            }),
        );
    }

    let d = w.clone();
    r.register(
        "dpctl/del-flows",
        "[dp]",
        0,
        1,
        Box::new(move |_| {
            with(&d, |d| {
                d.dp.flow_flush();
                Ok(String::new())
            })
        }),
    );

    let d = w.clone();
    r.register(
        "ofproto/trace",
        "bridge flow",
        2,
        3,
        Box::new(move |args| {
            with(&d, |d| {
                check_bridge(d, &args[0])?;
                let now = d.now_ms();
                d.handler.snapshot().trace(&args[1], &[], now)
            })
        }),
    );

    let d = w.clone();
    r.register(
        "fdb/show",
        "bridge",
        1,
        1,
        Box::new(move |args| {
            with(&d, |d| {
                if args[0] != d.settings.bridge {
                    return Err("no such bridge".into());
                }
                Ok(format_fdb(&d.handler.snapshot().fdb(d.now_ms())))
            })
        }),
    );

    for (name, tap) in [("add-port", false), ("add-tap", true)] {
        let d = w.clone();
        r.register(
            name,
            "bridge ifname [ofport]",
            2,
            3,
            Box::new(move |args| {
                with(&d, |d| {
                    check_bridge(d, &args[0])?;
                    let spec = match args.get(2) {
                        Some(p) => PortSpec::parse(&format!("{}:{p}", args[1])),
                        None => PortSpec::parse(&args[1]),
                    }
                    .map_err(|e| e.to_string())?;
                    d.add_port(&spec, tap)
                        .map(|_| String::new())
                        .map_err(|e| format!("{e:#}"))
                })
            }),
        );
    }

    let d = w.clone();
    r.register(
        "del-port",
        "bridge ifname",
        2,
        2,
        Box::new(move |args| {
            with(&d, |d| {
                check_bridge(d, &args[0])?;
                d.del_port(&args[1])
                    .map(|_| String::new())
                    .map_err(|e| format!("{e:#}"))
            })
        }),
    );

    let d = w;
    r.register(
        "show-ports",
        "",
        0,
        1,
        Box::new(move |_| {
            with(&d, |d| {
                let mut out = String::new();
                for (no, (name, tap)) in d.ports.lock().iter() {
                    out.push_str(&format!(
                        "{no} {name}{}\n",
                        if *tap { " (tap)" } else { "" }
                    ));
                }
                Ok(out)
            })
        }),
    );
    r
}
