//! `rvs switchd` settings: command-line flags, an optional TOML file saying
//! the same, and their resolution (flags win over the file).
//!
//! TOML keys mirror the flags:
//! ```toml
//! rundir = "/var/run/rvs"
//! bridge = "br0"
//! datapath_id = "0000000000000001"
//! ports = ["veth0:1", "eth1"]
//! taps = ["tap0:3"]
//! controllers = ["tcp:127.0.0.1:6653", "ptcp:6634"]
//! fail_mode = "secure"          # or "standalone" (default)
//! threads = 2
//! inactivity_probe_s = 5
//! controller_rate_limit = 1000
//!
//! # A zone timeout policy (as `rvs ctl add-zone-tp netdev zone=5 udp_first=1 ...`):
//! # `zone` and the keys of OVSDB's CT_Timeout_Policy, in seconds.
//! [[zone_timeout_policy]]
//! zone = 5
//! udp_first = 1
//! icmp_reply = 1
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// Default RUNDIR.
pub const DEFAULT_RUNDIR: &str = "/var/run/rvs";

/// `rvs switchd` flags.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct SwitchdArgs {
    /// Directory for BRIDGE.mgmt, rvs.ctl (default $RVS_RUNDIR or /var/run/rvs).
    #[arg(long)]
    pub rundir: Option<PathBuf>,
    /// Bridge name (default br0).
    #[arg(long)]
    pub bridge: Option<String>,
    /// Datapath id, up to 16 hex digits (default derived from the bridge name).
    #[arg(long = "datapath-id")]
    pub datapath_id: Option<String>,
    /// Existing interface to attach with AF_PACKET, as IFNAME[:OFPORT].
    #[arg(long = "port")]
    pub ports: Vec<String>,
    /// Tap device for rvs to create, as NAME[:OFPORT].
    #[arg(long = "tap")]
    pub taps: Vec<String>,
    /// Controller: tcp:IP[:PORT] (active) or ptcp:[PORT][:IP] (passive).
    #[arg(long = "controller")]
    pub controllers: Vec<String>,
    /// secure or standalone (default standalone, as OVS).
    #[arg(long = "fail-mode")]
    pub fail_mode: Option<String>,
    /// Forwarding threads (default one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// TOML file with the same settings.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Run in the background (requires --pidfile).
    #[arg(long)]
    pub detach: bool,
    /// Write the daemon's pid here.
    #[arg(long)]
    pub pidfile: Option<PathBuf>,
    /// Seconds of controller silence before an echo probe (0: never; default 5).
    #[arg(long = "inactivity-probe")]
    pub inactivity_probe_s: Option<u64>,
    /// Packet-ins per second per controller connection (at least 100; default unlimited).
    #[arg(long = "controller-rate-limit")]
    pub controller_rate_limit: Option<u32>,
    /// Do not create the bridge's LOCAL port (a tap named after the bridge).
    #[arg(long = "no-local-port")]
    pub no_local_port: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    rundir: Option<PathBuf>,
    bridge: Option<String>,
    datapath_id: Option<String>,
    #[serde(default)]
    ports: Vec<String>,
    #[serde(default)]
    taps: Vec<String>,
    #[serde(default)]
    controllers: Vec<String>,
    fail_mode: Option<String>,
    threads: Option<usize>,
    pidfile: Option<PathBuf>,
    inactivity_probe_s: Option<u64>,
    controller_rate_limit: Option<u32>,
    local_port: Option<bool>,
    #[serde(default)]
    zone_timeout_policy: Vec<std::collections::BTreeMap<String, u32>>,
}

/// OVS `fail_mode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailMode {
    /// With no controller connected, forward like a learning switch.
    Standalone,
    /// Never forward on its own; flows stay as they are.
    Secure,
}

/// A port to attach: interface name and optional OpenFlow port number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSpec {
    pub name: String,
    pub ofport: Option<u32>,
}

impl PortSpec {
    pub fn parse(s: &str) -> Result<PortSpec> {
        let (name, ofport) = match s.rsplit_once(':') {
            Some((n, p)) => (
                n,
                Some(
                    p.parse::<u32>()
                        .with_context(|| format!("{s}: bad OpenFlow port number"))?,
                ),
            ),
            None => (s, None),
        };
        if name.is_empty() || name.len() > 15 {
            bail!("{s}: interface names are 1 to 15 characters");
        }
        if ofport.is_some_and(|p| p == 0 || p >= 0xff00) {
            bail!("{s}: OpenFlow port numbers are 1 to 65279");
        }
        Ok(PortSpec {
            name: name.to_string(),
            ofport,
        })
    }
}

/// Resolved settings.
#[derive(Clone, Debug)]
pub struct Settings {
    pub rundir: PathBuf,
    pub bridge: String,
    pub datapath_id: u64,
    pub ports: Vec<PortSpec>,
    pub taps: Vec<PortSpec>,
    pub controllers: Vec<String>,
    pub fail_mode: FailMode,
    pub threads: usize,
    pub detach: bool,
    pub pidfile: Option<PathBuf>,
    pub inactivity_probe_s: u64,
    pub controller_rate_limit: Option<u32>,
    /// Create the LOCAL port (default true; `--no-local-port`, or
    /// `local_port = false` in the file, turn it off).
    pub local_port: bool,
    /// Zone timeout policies from the file (`[[zone_timeout_policy]]`): zone → the keys as
    /// given (OVSDB's `CT_Timeout_Policy` names) → seconds. Applied at start as
    /// `add-zone-tp` would.
    pub zone_timeout_policies: ZoneTimeoutPolicies,
}

/// Zone → timeout-policy keys → seconds.
pub type ZoneTimeoutPolicies =
    std::collections::BTreeMap<u16, std::collections::BTreeMap<String, u32>>;

/// Checks the file's `[[zone_timeout_policy]]` tables: a `zone` of 0-65535 each, at most
/// once, and at least one known timeout key.
fn zone_timeout_policies(
    tables: &[std::collections::BTreeMap<String, u32>],
) -> Result<ZoneTimeoutPolicies> {
    let mut out = ZoneTimeoutPolicies::new();
    for t in tables {
        let Some(&zone) = t.get("zone") else {
            bail!("zone_timeout_policy: missing zone");
        };
        let zone = u16::try_from(zone)
            .with_context(|| format!("zone_timeout_policy: zone {zone} out of range"))?;
        let mut keys = t.clone();
        keys.remove("zone");
        if keys.is_empty() {
            bail!("zone_timeout_policy: zone {zone}: no timeout policy");
        }
        let mut p = conntrack::TimeoutPolicy::default();
        for (k, v) in &keys {
            if !p.set_attr(k, *v) {
                bail!("zone_timeout_policy: zone {zone}: {k}: unknown timeout policy key");
            }
        }
        if out.insert(zone, keys).is_some() {
            bail!("zone_timeout_policy: zone {zone} given twice");
        }
    }
    Ok(out)
}

/// RUNDIR from a flag, else `RVS_RUNDIR`, else [`DEFAULT_RUNDIR`].
pub fn rundir_from(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_path_buf();
    }
    match std::env::var_os("RVS_RUNDIR") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(DEFAULT_RUNDIR),
    }
}

/// A datapath id from the bridge name when none is given (stable across runs).
fn default_dpid(bridge: &str) -> u64 {
    // FNV-1a, kept to 48 bits like a MAC-derived id.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bridge.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    h & 0xffff_ffff_ffff
}

fn parse_dpid(s: &str) -> Result<u64> {
    let t = s.strip_prefix("0x").unwrap_or(s);
    if t.is_empty() || t.len() > 16 {
        bail!("{s}: datapath id must be 1 to 16 hex digits");
    }
    u64::from_str_radix(t, 16).with_context(|| format!("{s}: datapath id must be hex"))
}

impl SwitchdArgs {
    /// Merges the flags with the TOML file (if any) into [`Settings`].
    pub fn resolve(&self) -> Result<Settings> {
        let file: FileConfig = match &self.config {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("{}: cannot read", p.display()))?;
                toml::from_str(&text).with_context(|| format!("{}: bad config", p.display()))?
            }
            None => FileConfig::default(),
        };
        let pick = |flag: &[String], file: &[String]| {
            if flag.is_empty() {
                file.to_vec()
            } else {
                flag.to_vec()
            }
        };
        let bridge = self
            .bridge
            .clone()
            .or(file.bridge)
            .unwrap_or_else(|| "br0".into());
        if bridge.is_empty() || bridge.len() > 15 || bridge.contains('/') {
            bail!("{bridge}: bad bridge name");
        }
        let datapath_id = match self.datapath_id.as_ref().or(file.datapath_id.as_ref()) {
            Some(s) => parse_dpid(s)?,
            None => default_dpid(&bridge),
        };
        let fail_mode = match self.fail_mode.as_deref().or(file.fail_mode.as_deref()) {
            None | Some("standalone") => FailMode::Standalone,
            Some("secure") => FailMode::Secure,
            Some(other) => bail!("{other}: fail mode must be secure or standalone"),
        };
        let ports = pick(&self.ports, &file.ports)
            .iter()
            .map(|s| PortSpec::parse(s))
            .collect::<Result<_>>()?;
        let taps = pick(&self.taps, &file.taps)
            .iter()
            .map(|s| PortSpec::parse(s))
            .collect::<Result<_>>()?;
        let controllers = pick(&self.controllers, &file.controllers);
        for c in &controllers {
            crate::channel::Target::parse(c)?;
        }
        let pidfile = self.pidfile.clone().or(file.pidfile);
        if self.detach && pidfile.is_none() {
            bail!("--detach needs --pidfile");
        }
        let rundir = match (&self.rundir, file.rundir) {
            (Some(p), _) => p.clone(),
            (None, Some(p)) => p,
            (None, None) => rundir_from(None),
        };
        Ok(Settings {
            rundir,
            bridge,
            datapath_id,
            ports,
            taps,
            controllers,
            fail_mode,
            threads: self.threads.or(file.threads).unwrap_or(0),
            detach: self.detach,
            pidfile,
            inactivity_probe_s: self
                .inactivity_probe_s
                .or(file.inactivity_probe_s)
                .unwrap_or(5),
            controller_rate_limit: self.controller_rate_limit.or(file.controller_rate_limit),
            local_port: !self.no_local_port && file.local_port.unwrap_or(true),
            zone_timeout_policies: zone_timeout_policies(&file.zone_timeout_policy)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_specs_parse_name_and_number() {
        assert_eq!(
            PortSpec::parse("veth0:3").unwrap(),
            PortSpec {
                name: "veth0".into(),
                ofport: Some(3)
            }
        );
        assert_eq!(
            PortSpec::parse("eth1").unwrap(),
            PortSpec {
                name: "eth1".into(),
                ofport: None
            }
        );
        assert!(PortSpec::parse("veth0:0").is_err());
        assert!(PortSpec::parse("averyveryverylongname").is_err());
        assert!(PortSpec::parse("x:y").is_err());
    }

    #[test]
    fn zone_timeout_policies_in_the_toml_file() {
        let dir = std::env::temp_dir().join(format!("rvs-cfg-tp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("tp.toml");
        let args = SwitchdArgs {
            config: Some(f.clone()),
            ..Default::default()
        };
        std::fs::write(
            &f,
            "[[zone_timeout_policy]]\nzone = 5\nudp_first = 1\nicmp_reply = 2\n\n\
             [[zone_timeout_policy]]\nzone = 7\ntcp_established = 60\n",
        )
        .unwrap();
        let s = args.resolve().unwrap();
        let z5: Vec<(&str, u32)> = s.zone_timeout_policies[&5]
            .iter()
            .map(|(k, v)| (k.as_str(), *v))
            .collect();
        assert_eq!(z5, vec![("icmp_reply", 2), ("udp_first", 1)]);
        assert_eq!(s.zone_timeout_policies[&7]["tcp_established"], 60);
        for bad in [
            "[[zone_timeout_policy]]\nudp_first = 1\n",
            "[[zone_timeout_policy]]\nzone = 70000\nudp_first = 1\n",
            "[[zone_timeout_policy]]\nzone = 1\n",
            "[[zone_timeout_policy]]\nzone = 1\nudp_firts = 1\n",
            "[[zone_timeout_policy]]\nzone = 1\nudp_first = 1\n[[zone_timeout_policy]]\nzone = 1\nicmp_first = 1\n",
        ] {
            std::fs::write(&f, bad).unwrap();
            assert!(args.resolve().is_err(), "{bad}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn flags_override_the_toml_file() {
        let dir = std::env::temp_dir().join(format!("rvs-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("s.toml");
        std::fs::write(
            &f,
            "bridge = \"brx\"\ndatapath_id = \"00000000000000aa\"\nports = [\"v1:1\"]\nfail_mode = \"secure\"\nthreads = 3\n",
        )
        .unwrap();
        let args = SwitchdArgs {
            config: Some(f.clone()),
            threads: Some(1),
            ..Default::default()
        };
        let s = args.resolve().unwrap();
        assert_eq!(
            (s.bridge.as_str(), s.datapath_id, s.threads),
            ("brx", 0xaa, 1)
        );
        assert_eq!(s.fail_mode, FailMode::Secure);
        assert_eq!(
            s.ports,
            vec![PortSpec {
                name: "v1".into(),
                ofport: Some(1)
            }]
        );
        std::fs::write(&f, "bridge = \"b\"\nbogus = 1\n").unwrap();
        assert!(args.resolve().is_err(), "unknown keys are refused");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn detach_needs_a_pidfile_and_bad_values_are_refused() {
        assert!(
            SwitchdArgs {
                detach: true,
                ..Default::default()
            }
            .resolve()
            .is_err()
        );
        assert!(
            SwitchdArgs {
                fail_mode: Some("open".into()),
                ..Default::default()
            }
            .resolve()
            .is_err()
        );
        assert!(
            SwitchdArgs {
                datapath_id: Some("xyz".into()),
                ..Default::default()
            }
            .resolve()
            .is_err()
        );
        assert!(
            SwitchdArgs {
                controllers: vec!["udp:1".into()],
                ..Default::default()
            }
            .resolve()
            .is_err()
        );
        let s = SwitchdArgs {
            datapath_id: Some("0x1".into()),
            ..Default::default()
        }
        .resolve()
        .unwrap();
        assert_eq!(
            (s.datapath_id, s.fail_mode, s.bridge.as_str()),
            (1, FailMode::Standalone, "br0")
        );
    }
}
