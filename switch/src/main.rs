//! `rvs`: the switch daemon and its command-line tools.
//!
//! A small dispatcher: each subcommand lives in its own module.
#![forbid(unsafe_code)]

mod ofctl;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "rvs",
    version,
    about = "An OpenFlow 1.3 software switch with a userspace connection tracker"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// OpenFlow switch management, as `ovs-ofctl -O OpenFlow13` (`rvs ofctl --help`).
    Ofctl(ofctl::OfctlArgs),
    /// The switch daemon.
    Switchd(switch::daemon::SwitchdArgs),
    /// Runtime control of a running switchd (unixctl, like ovs-appctl).
    Ctl(switch::ctl::CtlArgs),
    /// Stateful firewall demo between two network namespaces (root).
    Demo(switch::demo::DemoArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Ofctl(args) => ofctl::run(args),
        Command::Switchd(args) => match switch::daemon::run_main(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("rvs switchd: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Ctl(args) => switch::ctl::run(args),
        Command::Demo(args) => switch::demo::run(args),
    }
}
