//! Connection targets in OVS syntax and the tasks that serve them.
//!
//! - `tcp:IP[:PORT]`: active; connects, and reconnects with exponential
//!   backoff (1 s doubling up to 8 s, OVS's `max_backoff`) when the
//!   connection fails or ends. A primary connection.
//! - `ptcp:[PORT][:IP]`: passive TCP listener. Service connections.
//! - `unix:PATH` / `punix:PATH`: the same over unix sockets; the management
//!   socket `RUNDIR/BRIDGE.mgmt` is a `punix` listener with mode 0600.
//!
//! The default port is 6653, as in OVS.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::net::{TcpListener, TcpStream, UnixListener};

use super::bridge::Bridge;
use super::conn::{ConnConfig, ConnKind};
use super::hub::Hub;

/// OpenFlow's IANA port.
pub const OFP_PORT: u16 = 6653;
/// Largest reconnect backoff (OVS `max_backoff` default).
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// A parsed connection target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Tcp(SocketAddr),
    Ptcp(SocketAddr),
    Unix(PathBuf),
    Punix(PathBuf),
}

fn parse_ip(s: &str) -> Result<IpAddr> {
    let s = s.trim_start_matches('[').trim_end_matches(']');
    s.parse().with_context(|| format!("{s}: bad IP address"))
}

fn parse_port(s: &str) -> Result<u16> {
    if s.is_empty() {
        return Ok(OFP_PORT);
    }
    s.parse().with_context(|| format!("{s}: bad port number"))
}

impl Target {
    /// Parses `tcp:IP[:PORT]`, `ptcp:[PORT][:IP]`, `unix:PATH`, `punix:PATH`.
    pub fn parse(s: &str) -> Result<Target> {
        let Some((kind, rest)) = s.split_once(':') else {
            bail!(
                "{s}: target must look like tcp:IP:PORT, ptcp:PORT[:IP], unix:PATH or punix:PATH"
            );
        };
        Ok(match kind {
            "tcp" => {
                let (ip, port) = match rest.rsplit_once(':') {
                    Some((ip, port)) if !ip.is_empty() && !ip.ends_with(':') => (ip, port),
                    _ => (rest, ""),
                };
                Target::Tcp(SocketAddr::new(parse_ip(ip)?, parse_port(port)?))
            }
            "ptcp" => {
                let (port, ip) = rest.split_once(':').unwrap_or((rest, ""));
                let ip = if ip.is_empty() {
                    IpAddr::V4(Ipv4Addr::UNSPECIFIED)
                } else {
                    parse_ip(ip)?
                };
                Target::Ptcp(SocketAddr::new(ip, parse_port(port)?))
            }
            "unix" if !rest.is_empty() => Target::Unix(rest.into()),
            "punix" if !rest.is_empty() => Target::Punix(rest.into()),
            _ => bail!("{s}: unknown or incomplete target"),
        })
    }

    /// Active targets are primary controllers; passive ones offer service
    /// connections (OVS `get_controller_ofconn_type`).
    pub fn is_active(&self) -> bool {
        matches!(self, Target::Tcp(_) | Target::Unix(_))
    }
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Binds a unix listener at `path` (replacing a stale socket) with mode 0600.
pub fn bind_unix(path: &Path) -> Result<UnixListener> {
    let _ = std::fs::remove_file(path);
    let l =
        UnixListener::bind(path).with_context(|| format!("{}: cannot listen", path.display()))?;
    set_mode(path, 0o600)?;
    Ok(l)
}

/// Accepts connections on a unix listener forever, one task each.
pub async fn serve_unix<B: Bridge>(hub: Arc<Hub<B>>, listener: UnixListener, cfg: ConnConfig) {
    loop {
        match listener.accept().await {
            Ok((s, _)) => {
                tokio::spawn(Arc::clone(&hub).serve(s, cfg));
            }
            Err(e) => {
                tracing::warn!("accept on unix socket failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Accepts connections on a TCP listener forever, one task each.
pub async fn serve_tcp<B: Bridge>(hub: Arc<Hub<B>>, listener: TcpListener, cfg: ConnConfig) {
    loop {
        match listener.accept().await {
            Ok((s, peer)) => {
                let _ = s.set_nodelay(true);
                tracing::info!(%peer, "OpenFlow connection accepted");
                tokio::spawn(Arc::clone(&hub).serve(s, cfg));
            }
            Err(e) => {
                tracing::warn!("accept on TCP socket failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Keeps an active connection to `target` up forever, with backoff.
pub async fn run_active<B: Bridge>(hub: Arc<Hub<B>>, target: Target, cfg: ConnConfig) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let started = tokio::time::Instant::now();
        let result = match &target {
            Target::Tcp(addr) => match TcpStream::connect(addr).await {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    tracing::info!(%addr, "connected to controller");
                    Ok(Arc::clone(&hub).serve(s, cfg).await)
                }
                Err(e) => Err(e),
            },
            Target::Unix(path) => match tokio::net::UnixStream::connect(path).await {
                Ok(s) => Ok(Arc::clone(&hub).serve(s, cfg).await),
                Err(e) => Err(e),
            },
            _ => return,
        };
        match result {
            Ok(end) => tracing::info!(?target, reason = %end.reason, "controller connection ended"),
            Err(e) => tracing::debug!(?target, "connection attempt failed: {e}"),
        }
        // A connection that stayed up a while resets the backoff (OVS rconn).
        if started.elapsed() > MAX_BACKOFF {
            backoff = Duration::from_secs(1);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// Starts serving `target` for `hub`: listeners bind now (so errors show at
/// startup), active targets connect in the background.
pub async fn start<B: Bridge>(
    hub: &Arc<Hub<B>>,
    target: &Target,
    mut cfg: ConnConfig,
) -> Result<()> {
    cfg.kind = if target.is_active() {
        ConnKind::Primary
    } else {
        ConnKind::Service
    };
    match target {
        Target::Tcp(_) | Target::Unix(_) => {
            tokio::spawn(run_active(Arc::clone(hub), target.clone(), cfg));
        }
        Target::Ptcp(addr) => {
            let l = TcpListener::bind(addr)
                .await
                .with_context(|| format!("{addr}: cannot listen"))?;
            tokio::spawn(serve_tcp(Arc::clone(hub), l, cfg));
        }
        Target::Punix(path) => {
            let l = bind_unix(path)?;
            tokio::spawn(serve_unix(Arc::clone(hub), l, cfg));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_as_ovs_spells_them() {
        assert_eq!(
            Target::parse("tcp:127.0.0.1:6633").unwrap(),
            Target::Tcp("127.0.0.1:6633".parse().unwrap())
        );
        assert_eq!(
            Target::parse("tcp:10.0.0.1").unwrap(),
            Target::Tcp("10.0.0.1:6653".parse().unwrap())
        );
        assert_eq!(
            Target::parse("ptcp:6634").unwrap(),
            Target::Ptcp("0.0.0.0:6634".parse().unwrap())
        );
        assert_eq!(
            Target::parse("ptcp:6634:127.0.0.1").unwrap(),
            Target::Ptcp("127.0.0.1:6634".parse().unwrap())
        );
        assert_eq!(
            Target::parse("ptcp:").unwrap(),
            Target::Ptcp("0.0.0.0:6653".parse().unwrap())
        );
        assert_eq!(
            Target::parse("unix:/run/x.mgmt").unwrap(),
            Target::Unix("/run/x.mgmt".into())
        );
        assert!(Target::parse("udp:1.2.3.4:5").is_err());
        assert!(Target::parse("tcp:nothost:5").is_err());
        assert!(Target::parse("ptcp:99999").is_err());
        assert!(Target::parse("tcp:1.2.3.4").unwrap().is_active());
        assert!(!Target::parse("ptcp:1").unwrap().is_active());
    }
}
