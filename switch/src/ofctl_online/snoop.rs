//! `snoop SWITCH`, as ovs-ofctl's: connects to the switch's snoop socket
//! (`RUNDIR/BRIDGE.snoop` for a bridge name, or `unix:PATH`/a path) and
//! prints every OpenFlow message the switch exchanges with its controller,
//! in both directions, as `ofp-print` prints them, until the switch closes
//! the connection. Like ovs-ofctl's, it answers nothing (not even the
//! controller's echo requests it sees) and shows no port names. One
//! difference: ovs-ofctl prints the messages on stderr, rvs ofctl on stdout
//! (as its `monitor`).

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use ofp_codec::msg::print::ofp_to_string;
use ofp_codec::msg::{Hello, Message, OFP13_VERSION};

use super::{Opts, Stream, Vconn};
use crate::daemon::config::rundir_from;

/// Runs `snoop`; returns only when the switch closes the connection (an
/// error, as ovs-ofctl's exits 1 with `vconn_recv (End of file)`).
pub(super) fn run(o: &Opts) -> Result<String> {
    let target = o.args.first().context("snoop needs a SWITCH argument")?;
    let path = if let Some(p) = target.strip_prefix("unix:") {
        PathBuf::from(p)
    } else if target.contains('/') {
        PathBuf::from(target)
    } else {
        rundir_from(o.rundir.as_deref()).join(format!("{target}.snoop"))
    };
    let s = UnixStream::connect(&path)
        .with_context(|| format!("{}: failed to connect to socket", path.display()))?;
    let mut v = Vconn {
        s: Stream::Unix(s),
        buf: Vec::new(),
        out: Vec::new(),
    };
    v.send(&Message::Hello(Hello::with_versions(1 << OFP13_VERSION)).encode(1))?;
    let hello = v
        .recv()
        .map_err(|_| anyhow::anyhow!("{target}: failed to connect to socket (End of file)"))?;
    if hello.get(1) != Some(&0) || hello[0] < OFP13_VERSION {
        bail!("{target}: failed to connect to socket (Protocol error)");
    }
    let stdout = std::io::stdout();
    loop {
        let Ok(m) = v.recv() else {
            bail!("vconn_recv (End of file)");
        };
        let mut out = stdout.lock();
        write!(out, "{}", ofp_to_string(&m, 2))?;
        out.flush()?;
    }
}
