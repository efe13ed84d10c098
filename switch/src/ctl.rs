//! `rvs ctl CMD [ARGS...]`: a unixctl client, like `ovs-appctl`.
//!
//! Talks to `RUNDIR/rvs.ctl` (RUNDIR from `--rundir`, `RVS_RUNDIR`, or
//! `/var/run/rvs`), or to the socket named by `-t/--target`. Prints the
//! result on stdout; on a server error prints it on stderr and exits 2, on a
//! connection failure exits 1, with ovs-appctl's messages (`rvs ctl:` in
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
    /// Control socket path (overrides --rundir).
    #[arg(short = 't', long = "target")]
    pub target: Option<PathBuf>,
    /// The command, e.g. dpctl/dump-conntrack, add-port, list-commands.
    pub command: String,
    /// Its arguments.
    #[arg(allow_hyphen_values = true, trailing_var_arg = true)]
    pub args: Vec<String>,
}

impl CtlArgs {
    /// The socket this invocation talks to.
    pub fn socket(&self) -> PathBuf {
        match &self.target {
            Some(t) => t.clone(),
            None => rundir_from(self.rundir.as_deref()).join("rvs.ctl"),
        }
    }
}

/// Runs one command; see the module documentation.
pub fn run(args: &CtlArgs) -> ExitCode {
    let path = args.socket();
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

    #[test]
    fn strerror_drops_the_os_error_suffix() {
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(strerror(&e), "No such file or directory");
        let e = std::io::Error::other("server closed the connection");
        assert_eq!(strerror(&e), "server closed the connection");
    }
}
