//! `rvs ctl CMD [ARGS...]`: a unixctl client, like `ovs-appctl`.
//!
//! Talks to `RUNDIR/rvs.ctl` (RUNDIR from `--rundir`, `RVS_RUNDIR`, or
//! `/var/run/rvs`), or to the socket named by `-t/--target`. Prints the
//! result on stdout; on a server error prints it on stderr and exits 2, on a
//! connection failure exits 1 (as `ovs-appctl`).

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
            eprint!("{text}");
            if !text.ends_with('\n') {
                eprintln!();
            }
            eprintln!("rvs ctl: {}: server returned an error", path.display());
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("rvs ctl: cannot connect to \"{}\" ({e})", path.display());
            ExitCode::from(1)
        }
    }
}
