//! `rvs switchd`: one bridge, its ports, controllers and control sockets.
//!
//! ```text
//!  ports (tap / AF_PACKET) ──▶ datapath threads ──upcall──▶ ofproto::upcall::Handler ──▶ Ofproto
//!                                     │ userspace (packet-in)                              ▲
//!                                     ▼                                                    │
//!  RUNDIR/BRIDGE.mgmt, ptcp:, tcp: ──▶ channel::Hub ──▶ OfBridge (channel::Bridge) ─────────┘
//!  RUNDIR/rvs.ctl (unixctl) ──▶ commands (dpctl/*, ofproto/trace, add-port, exit, ...)
//! ```
//!
//! RUNDIR is created with mode 0700 and the sockets with 0600. The daemon
//! runs in the foreground with tracing logs on stderr, or with `--detach`
//! re-executes itself in a new session and returns once the child is ready
//! (its pid in `--pidfile`). SIGTERM, SIGINT and the `exit` command shut it
//! down cleanly: sockets and pidfile removed, taps it created closed (the
//! kernel deletes them).
//!
//! Fail modes as OVS: `standalone` with no controller installs
//! `priority=0,actions=NORMAL`; `standalone` with controllers fails open
//! (everything to NORMAL) after three probe intervals without a connected
//! controller and recovers when one connects — but rvs's fail-open flow is
//! a visible priority-65535 flow (cookie [`FAIL_OPEN_COOKIE`]) where OVS's
//! is hidden. `secure` never forwards on its own.
//!
//! The LOCAL port is a tap named after the bridge, created down, as OVS's
//! (see [`ofbridge::add_local_port`]; `--no-local-port` turns it off).
//!
//! Not done: several bridges in one process.

pub mod commands;
pub mod config;
pub mod ofbridge;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use conntrack::Conntrack;
use datapath::{Datapath, DatapathConfig};
use ofp_codec::Action;
use ofp_codec::Instruction;
use ofp_codec::msg::FlowMod;
use ofp_codec::msg::port::{OFPP_LOCAL, OFPP_NORMAL};
use ofproto::upcall::Handler;
use ofproto::{Ofproto, Port as OfPort};
use parking_lot::Mutex;
use tokio::sync::Notify;

use crate::channel::{Bridge, ConnConfig, ConnKind, Hub, Target, targets};
use crate::unixctl;
pub use config::{FailMode, PortSpec, Settings, SwitchdArgs};
use ofbridge::OfBridge;

/// Everything the control commands act on.
pub struct Daemon {
    pub settings: Settings,
    /// Owns the `Ofproto` (published snapshots); the datapath's upcall handler.
    pub handler: Arc<Handler>,
    pub dp: Arc<Datapath>,
    pub ct: Arc<Conntrack>,
    pub hub: Arc<Hub<OfBridge>>,
    /// Ports by OpenFlow number: (name, created as a tap by rvs).
    pub ports: Mutex<std::collections::BTreeMap<u32, (String, bool)>>,
    /// Conntrack limits set with `dpctl/ct-set-limits` (default, zones), to
    /// list them back as OVS does.
    pub ct_limits: Mutex<(u32, std::collections::BTreeSet<u16>)>,
    pub shutdown: Notify,
    pub epoch: Instant,
}

impl Daemon {
    /// Milliseconds since start (the ofproto clock).
    pub fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Attaches a port; `tap` creates the device. Returns its number.
    pub fn add_port(&self, spec: &PortSpec, tap: bool) -> Result<u32> {
        let mut ports = self.ports.lock();
        if ports.values().any(|(n, _)| *n == spec.name) {
            bail!("{}: already a port of {}", spec.name, self.settings.bridge);
        }
        let no = match spec.ofport {
            Some(n) if ports.contains_key(&n) => bail!("port number {n} is in use"),
            Some(n) => n,
            None => (1..0xff00)
                .find(|n| !ports.contains_key(n))
                .context("no free port number")?,
        };
        let name = if tap {
            self.dp
                .add_tap_port(no, &spec.name)
                .with_context(|| format!("{}: cannot create tap", spec.name))?
        } else {
            self.dp
                .add_system_port(no, &spec.name)
                .with_context(|| format!("{}: cannot open", spec.name))?;
            spec.name.clone()
        };
        self.handler
            .modify(|of| of.port_add(OfPort::new(no, name.clone())));
        ports.insert(no, (name.clone(), tap));
        drop(ports);
        self.hub.with_bridge(|b, _| {
            b.refresh_ports();
            b.revalidate();
        });
        tracing::info!(port = no, %name, tap, "added port");
        Ok(no)
    }

    /// Detaches the port called `name`.
    pub fn del_port(&self, name: &str) -> Result<()> {
        let mut ports = self.ports.lock();
        let Some((&no, _)) = ports.iter().find(|(_, (n, _))| n == name) else {
            bail!("{name}: no such port on {}", self.settings.bridge);
        };
        ports.remove(&no);
        drop(ports);
        self.dp.del_port(no);
        self.handler.modify(|of| of.port_remove(no));
        self.hub.with_bridge(|b, _| {
            b.refresh_ports();
            b.revalidate();
        });
        tracing::info!(port = no, name, "deleted port");
        Ok(())
    }
}

/// Cookie that marks rvs's fail-open flow.
pub const FAIL_OPEN_COOKIE: u64 = 0x00fa_11fa_11fa_11fa;

/// The fail-open flow: everything to NORMAL, above any controller flow.
/// (OVS installs it hidden, at a priority OpenFlow cannot express; rvs
/// installs it as a visible priority-65535 flow with [`FAIL_OPEN_COOKIE`].)
fn fail_open_flow(add: bool) -> FlowMod {
    use ofp_codec::msg::FlowModCommand;
    FlowMod {
        cookie: FAIL_OPEN_COOKIE,
        cookie_mask: if add { 0 } else { u64::MAX },
        command: if add {
            FlowModCommand::ADD
        } else {
            FlowModCommand::DELETE_STRICT
        },
        priority: 0xffff,
        instructions: if add {
            normal_flow().instructions
        } else {
            Vec::new()
        },
        table_id: 0,
        ..FlowMod::default()
    }
}

/// OVS's fail-open for `fail_mode=standalone` with controllers: once no
/// controller has been connected for three inactivity-probe intervals (at
/// least 15 s with the default 5 s probe), forward everything with NORMAL;
/// as soon as a controller is connected again, stop.
async fn fail_open(daemon: Arc<Daemon>) {
    let probe_ms = daemon.settings.inactivity_probe_s.max(5) * 1000;
    let trigger_ms = 3 * probe_ms;
    let mut last_connected_ms = daemon.hub.now_ms();
    let mut open = false;
    let mut iv = tokio::time::interval(Duration::from_millis(500));
    loop {
        iv.tick().await;
        let now = daemon.hub.now_ms();
        if daemon.hub.primaries_open() > 0 {
            last_connected_ms = now;
            if open {
                open = false;
                let r = daemon
                    .hub
                    .with_bridge(|b, now| b.flow_mod(&fail_open_flow(false), now));
                tracing::info!(result = ?r, "controller connected: leaving fail-open mode");
            }
        } else if !open && now.saturating_sub(last_connected_ms) >= trigger_ms {
            open = true;
            let r = daemon
                .hub
                .with_bridge(|b, now| b.flow_mod(&fail_open_flow(true), now));
            tracing::warn!(result = ?r, "no controller for {} s: fail-open (NORMAL forwarding)", trigger_ms / 1000);
        }
    }
}

/// OVS's flow for a standalone bridge with no controller.
fn normal_flow() -> FlowMod {
    FlowMod {
        priority: 0,
        instructions: vec![Instruction::ApplyActions(vec![Action::Output {
            port: OFPP_NORMAL,
            max_len: 0,
        }])],
        ..FlowMod::default()
    }
}

fn make_rundir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("{}: cannot set mode 0700", dir.display()))?;
    Ok(())
}

/// `--detach`: starts this program again without `--detach` in a new
/// session, waits until it wrote its pidfile, and returns.
fn detach(pidfile: &Path, rundir: &Path) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let _ = std::fs::remove_file(pidfile);
    make_rundir(rundir)?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(rundir.join("rvs-switchd.log"))
        .context("cannot open the daemon log")?;
    let exe = std::env::current_exe()?;
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--detach")
        .collect();
    let mut child = std::process::Command::new(exe)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("cannot start the daemon process")?;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            bail!("daemon exited during startup with {status}");
        }
        if std::fs::read_to_string(pidfile).is_ok_and(|s| s.trim() == child.id().to_string()) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    bail!("daemon did not become ready within 10 s")
}

/// `rvs switchd` from `main`: sets up logging (`RUST_LOG`, default
/// `info`, on stderr), then [`run`].
pub fn run_main(args: &SwitchdArgs) -> Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    run(args)
}

/// Runs `rvs switchd`.
pub fn run(args: &SwitchdArgs) -> Result<()> {
    let settings = args.resolve()?;
    if settings.detach {
        return detach(
            settings
                .pidfile
                .as_deref()
                .context("--detach needs --pidfile")?,
            &settings.rundir,
        );
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("rvs-ctl")
        .build()?;
    rt.block_on(run_async(settings))
}

fn socket_path(rundir: &Path, name: &str) -> PathBuf {
    rundir.join(name)
}

async fn run_async(settings: Settings) -> Result<()> {
    make_rundir(&settings.rundir)?;
    let epoch = Instant::now();
    let ofproto = Ofproto::new(ofproto::Config {
        bridge_name: settings.bridge.clone(),
        ..ofproto::Config::default()
    });
    let clock: ofproto::upcall::Clock = Arc::new(move || epoch.elapsed().as_millis() as u64);
    let handler = Arc::new(Handler::new(ofproto, clock));
    let ct = Arc::new(Conntrack::new(conntrack::Config::default()));
    let dp_cfg = DatapathConfig {
        n_threads: settings.threads,
        ..DatapathConfig::default()
    };
    let ct_dyn: Arc<dyn datapath::ConnTracker> = ct.clone();
    let (dp, userspace_rx) = Datapath::new(dp_cfg, handler.clone(), Some(ct_dyn));
    let dp = Arc::new(dp);

    if settings.fail_mode == FailMode::Standalone && settings.controllers.is_empty() {
        handler
            .modify(|of| of.handle_flow_mod(&normal_flow(), 0))
            .map_err(|e| anyhow::anyhow!("NORMAL flow: {e:?}"))?;
    }
    let bridge = OfBridge::new(
        Arc::clone(&handler),
        Some(Arc::clone(&dp)),
        settings.datapath_id,
    )
    .with_conntrack(Arc::clone(&ct));
    let hub = Hub::new(bridge);
    let daemon = Arc::new(Daemon {
        settings: settings.clone(),
        handler,
        dp: Arc::clone(&dp),
        ct: Arc::clone(&ct),
        hub: Arc::clone(&hub),
        ports: Mutex::new(Default::default()),
        ct_limits: Mutex::new(Default::default()),
        shutdown: Notify::new(),
        epoch,
    });
    let mut result = setup(&daemon, userspace_rx).await;
    if result.is_ok() {
        if let Some(p) = &settings.pidfile {
            std::fs::write(p, format!("{}\n", std::process::id()))
                .with_context(|| format!("{}", p.display()))?;
        }
        tracing::info!(bridge = %settings.bridge, rundir = %settings.rundir.display(), "rvs switchd running");
        result = wait_for_shutdown(&daemon).await;
    }
    cleanup(&daemon);
    result
}

async fn setup(
    daemon: &Arc<Daemon>,
    userspace_rx: std::sync::mpsc::Receiver<datapath::UserspacePacket>,
) -> Result<()> {
    let s = &daemon.settings;
    for p in &s.ports {
        daemon.add_port(p, false)?;
    }
    for p in &s.taps {
        daemon.add_port(p, true)?;
    }
    if s.local_port {
        match ofbridge::add_local_port(daemon) {
            Ok(name) => tracing::info!(%name, "LOCAL port created (down)"),
            Err(e) => tracing::warn!("no LOCAL port: {e:#}"),
        }
    }
    let probe = (s.inactivity_probe_s > 0).then_some(s.inactivity_probe_s * 1000);
    let mgmt = targets::bind_unix(&socket_path(&s.rundir, &format!("{}.mgmt", s.bridge)))?;
    let mgmt_cfg = ConnConfig {
        probe_interval_ms: Some(60_000),
        ..ConnConfig::new(ConnKind::Service)
    };
    tokio::spawn(targets::serve_unix(Arc::clone(&daemon.hub), mgmt, mgmt_cfg));
    let snoop = targets::bind_unix(&socket_path(&s.rundir, &format!("{}.snoop", s.bridge)))?;
    tokio::spawn(crate::channel::snoop::serve(daemon.hub.snoop_taps(), snoop));
    for c in &s.controllers {
        let t = Target::parse(c)?;
        let cfg = ConnConfig {
            probe_interval_ms: probe,
            rate_limit_pps: s.controller_rate_limit,
            ..ConnConfig::new(ConnKind::Primary)
        };
        targets::start(&daemon.hub, &t, cfg).await?;
    }
    let registry = Arc::new(commands::registry(daemon));
    let ctl_path = socket_path(&s.rundir, "rvs.ctl");
    let ctl_listener = {
        // Bind now so that a bad RUNDIR fails at startup, then serve.
        let _ = std::fs::remove_file(&ctl_path);
        ctl_path.clone()
    };
    tokio::spawn(async move {
        if let Err(e) = unixctl::serve(&ctl_listener, registry).await {
            tracing::error!("control socket failed: {e}");
        }
    });
    // Packet-ins from the datapath's userspace channel.
    let d = Arc::clone(daemon);
    std::thread::Builder::new()
        .name("rvs-pktin".into())
        .spawn(move || {
            while let Ok(up) = userspace_rx.recv() {
                let ev = d.handler.snapshot().packet_in(&up);
                if let Some(ev) = ev {
                    d.hub.publish(ofbridge::packet_in_event(ev));
                }
            }
        })?;
    tokio::spawn(Arc::clone(&daemon.hub).tick(Duration::from_millis(250)));
    if s.fail_mode == FailMode::Standalone && !s.controllers.is_empty() {
        tokio::spawn(fail_open(Arc::clone(daemon)));
    }
    // Conntrack expiry needs no task here: the datapath's forwarding threads sweep in small
    // steps between bursts and its housekeeping thread frees what they unlink
    // (`datapath::ConnTracker::sweep_step` / `maintain`).
    // Wait until the control socket exists so that callers can rely on it
    // once the pidfile is written.
    for _ in 0..200 {
        if ctl_path.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(())
}

async fn wait_for_shutdown(daemon: &Arc<Daemon>) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
        _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        _ = daemon.shutdown.notified() => {
            tracing::info!("exit requested: shutting down");
            // Let the reply to `exit` reach the client.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

fn cleanup(daemon: &Daemon) {
    let s = &daemon.settings;
    let ports: Vec<u32> = daemon.ports.lock().keys().copied().collect();
    for no in ports {
        daemon.dp.del_port(no);
    }
    let local = daemon.ports.lock().get(&OFPP_LOCAL).cloned();
    if let Some((name, _)) = local {
        ofbridge::delete_local_port(&name);
    }
    let _ = std::fs::remove_file(socket_path(&s.rundir, &format!("{}.mgmt", s.bridge)));
    let _ = std::fs::remove_file(socket_path(&s.rundir, &format!("{}.snoop", s.bridge)));
    let _ = std::fs::remove_file(socket_path(&s.rundir, "rvs.ctl"));
    if let Some(p) = &s.pidfile {
        let _ = std::fs::remove_file(p);
    }
}
