//! `rvs ctl CMD [ARGS...]`: a unixctl client, like `ovs-appctl`.
//!
//! Talks to `RUNDIR/rvs.ctl` (RUNDIR from `--rundir`, `RVS_RUNDIR`, or
//! `/var/run/rvs`), or to the target named by `-t/--target`, which is, as
//! ovs-appctl's: a socket path, or a daemon NAME (no `/` in it) looked up in
//! RUNDIR. rvs's daemon has `RUNDIR/NAME.ctl` (`-t rvs`: `RUNDIR/rvs.ctl`);
//! failing that, OVS's layout is tried: the pid in `RUNDIR/NAME.pid` names
//! `RUNDIR/NAME.PID.ctl` (so `rvs ctl --rundir /var/run/openvswitch -t
//! ovs-vswitchd` reaches ovs-vswitchd). Prints the result on stdout; on a
//! server error prints it on stderr and exits 2, on a connection failure (or
//! an unreadable pidfile) exits 1, with ovs-appctl's messages (`rvs ctl:` in
//! place of `ovs-appctl:`).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::daemon::config::rundir_from;
use crate::unixctl;

/// `rvs ctl` arguments.
#[derive(Clone, Debug, clap::Args)]
pub struct CtlArgs {
    /// Directory holding rvs.ctl.
    #[arg(long)]
    pub rundir: Option<PathBuf>,
    /// Control socket path, or a daemon name looked up in the rundir
    /// (NAME.ctl, else NAME.pid's PID to NAME.PID.ctl).
    #[arg(short = 't', long = "target")]
    pub target: Option<PathBuf>,
    /// The command, e.g. dpctl/dump-conntrack, add-port, list-commands.
    pub command: String,
    /// Its arguments.
    #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
    pub args: Vec<String>,
}

impl CtlArgs {
    /// The socket this invocation talks to; `Err` is the message for an
    /// unreadable pidfile (see the module documentation).
    pub fn socket(&self) -> Result<PathBuf, String> {
        let rundir = rundir_from(self.rundir.as_deref());
        match &self.target {
            None => Ok(rundir.join("rvs.ctl")),
            Some(t) => resolve_target(t, &rundir),
        }
    }
}

/// `-t TARGET`: a path (anything with a `/`) as it is; a NAME as
/// `RUNDIR/NAME.ctl` when that exists, else through `RUNDIR/NAME.pid` to
/// `RUNDIR/NAME.PID.ctl` as ovs-appctl.
fn resolve_target(target: &std::path::Path, rundir: &std::path::Path) -> Result<PathBuf, String> {
    let Some(name) = target
        .to_str()
        .filter(|t| !t.contains('/') && !t.is_empty())
    else {
        return Ok(target.to_path_buf());
    };
    let own = rundir.join(format!("{name}.ctl"));
    if own.exists() {
        return Ok(own);
    }
    let pidfile = rundir.join(format!("{name}.pid"));
    let unreadable = |why: String| format!("cannot read pidfile \"{}\" ({why})", pidfile.display());
    let text = std::fs::read_to_string(&pidfile).map_err(|e| unreadable(strerror(&e)))?;
    // OVS reads a pidfile whose content is not a pid as an empty one.
    let pid: u32 = text
        .trim()
        .parse()
        .map_err(|_| unreadable("Invalid argument".into()))?;
    Ok(rundir.join(format!("{name}.{pid}.ctl")))
}

/// Runs one command; see the module documentation.
pub fn run(args: &CtlArgs) -> ExitCode {
    let path = match args.socket() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("rvs ctl: {e}");
            return ExitCode::from(1);
        }
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("rvs ctl: {e}");
            return ExitCode::from(1);
        }
    };
    match rt.block_on(unixctl::call(&path, &args.command, &args.args)) {
        Ok(Ok(text)) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Ok(Err(text)) => {
            // As ovs-appctl: the server's text as it is (no newline added),
            // then the client's line.
            eprint!("{text}");
            eprintln!("rvs ctl: {}: server returned an error", path.display());
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!(
                "rvs ctl: cannot connect to \"{}\" ({})",
                path.display(),
                strerror(&e)
            );
            ExitCode::from(1)
        }
    }
}

/// The C library's text for an I/O error (`No such file or directory`),
/// without Rust's ` (os error N)` suffix.
fn strerror(e: &std::io::Error) -> String {
    let text = e.to_string();
    match text.rfind(" (os error ") {
        Some(i) if e.raw_os_error().is_some() => text[..i].to_string(),
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(rundir: &std::path::Path, target: Option<&str>) -> CtlArgs {
        CtlArgs {
            rundir: Some(rundir.to_path_buf()),
            target: target.map(PathBuf::from),
            command: "version".into(),
            args: Vec::new(),
        }
    }

    #[test]
    fn a_target_name_resolves_in_the_rundir_as_ovs_appctl() {
        let dir = std::env::temp_dir().join(format!("rvs-ctl-t-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // No -t: rvs.ctl. A path: itself.
        assert_eq!(args(&dir, None).socket(), Ok(dir.join("rvs.ctl")));
        assert_eq!(
            args(&dir, Some("/x/y.ctl")).socket(),
            Ok(PathBuf::from("/x/y.ctl"))
        );
        assert_eq!(
            args(&dir, Some("./y.ctl")).socket(),
            Ok(PathBuf::from("./y.ctl"))
        );
        // A name with neither NAME.ctl nor NAME.pid: ovs-appctl's error.
        assert_eq!(
            args(&dir, Some("ovs-vswitchd")).socket(),
            Err(format!(
                "cannot read pidfile \"{}\" (No such file or directory)",
                dir.join("ovs-vswitchd.pid").display()
            ))
        );
        // OVS's layout: NAME.pid names NAME.PID.ctl.
        std::fs::write(dir.join("ovs-vswitchd.pid"), "4242\n").unwrap();
        assert_eq!(
            args(&dir, Some("ovs-vswitchd")).socket(),
            Ok(dir.join("ovs-vswitchd.4242.ctl"))
        );
        std::fs::write(dir.join("bad.pid"), "x\n").unwrap();
        assert!(args(&dir, Some("bad")).socket().is_err());
        // rvs's layout wins: NAME.ctl.
        std::fs::write(dir.join("rvs.ctl"), "").unwrap();
        std::fs::write(dir.join("rvs.pid"), "7\n").unwrap();
        assert_eq!(args(&dir, Some("rvs")).socket(), Ok(dir.join("rvs.ctl")));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn strerror_drops_the_os_error_suffix() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(strerror(&e), "No such file or directory");
        let e = std::io::Error::other("server closed the connection");
        assert_eq!(strerror(&e), "server closed the connection");
    }
}
