//! `rvs ofctl`: the offline `ovs-ofctl` commands (no switch needed).
//!
//! - `parse-flow FLOW` / `parse-flows FILE`: parse flows as `ovs-ofctl
//!   add-flow`/`add-flows` would, and print what `ovs-ofctl -O OpenFlow13
//!   parse-flow(s)` prints: the usable and chosen protocol lines, then one
//!   `OFPT_FLOW_MOD` line per flow, decoded from the bytes rvs encoded.
//!   `parse-flows` also takes `add-flows`-style command prefixes
//!   (`modify …`, `delete …`), which `ovs-ofctl parse-flows` refuses.
//! - `ofp-print HEX [VERBOSITY]`: decode one OpenFlow message given in hex
//!   (spaces, newlines and dots allowed between bytes) and print it as
//!   `ovs-ofctl ofp-print` does.
//!
//! Options: `-O OpenFlow13` (the only version rvs speaks; accepted for
//! compatibility), `-m` (repeatable: more verbose printing, as in
//! ovs-ofctl; at 5 the printer adds a hexdump), `--hex` (after each message,
//! print its bytes in the hexdump layout of `ovs-ofctl -mmmmm`;
//! `--hex=plain` prints one line of plain hex instead).
//!
//! Refusals print `rvs ofctl: <reason>` on stderr, naming OVS's error
//! (`actions are invalid with specified match (OFPBAC_MATCH_INCONSISTENT)`),
//! and exit with status 1.

mod hex;
mod parse;

use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use hex::parse_hex;

/// `rvs ofctl` arguments.
#[derive(Debug, Args)]
pub struct OfctlArgs {
    /// OpenFlow version(s) to use, as ovs-ofctl's `-O`. rvs speaks OpenFlow13.
    #[arg(
        short = 'O',
        long = "protocols",
        global = true,
        default_value = "OpenFlow13"
    )]
    pub protocols: String,
    /// More verbose output (repeatable, like ovs-ofctl's -m).
    #[arg(short = 'm', long = "more", action = clap::ArgAction::Count, global = true)]
    pub more: u8,
    /// Print each encoded message's bytes after it: `dump` (the default when
    /// given without a value) is ovs-ofctl's -mmmmm hexdump layout, `plain`
    /// one line of hex.
    #[arg(long, global = true, num_args = 0..=1, require_equals = true, default_missing_value = "dump", value_enum)]
    pub hex: Option<HexStyle>,
    /// Online commands' options when given before the command, as ovs-ofctl
    /// allows (`--bundle`, `--strict`, `--no-stats`, `--rundir DIR`); handled
    /// by `switch::ofctl_online`.
    #[arg(long, global = true)]
    pub bundle: bool,
    #[arg(long, global = true)]
    pub strict: bool,
    #[arg(long = "no-stats", global = true)]
    pub no_stats: bool,
    #[arg(long, global = true)]
    pub rundir: Option<String>,
    #[command(subcommand)]
    pub command: OfctlCommand,
}

/// How `--hex` prints bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum HexStyle {
    Dump,
    Plain,
}

#[derive(Debug, Subcommand)]
pub enum OfctlCommand {
    /// Parse FLOW as add-flow would and print it back as OpenFlow 1.3.
    ParseFlow { flow: String },
    /// Parse every flow in FILE ("-" for stdin) and print them back.
    ParseFlows { file: String },
    /// Decode and print one OpenFlow message given in hex.
    OfpPrint {
        #[arg(value_name = "HEX")]
        bytes: String,
        /// Verbosity, as ovs-ofctl's optional second argument (default 2).
        verbosity: Option<u8>,
    },
    /// Commands that talk to a switch (show, dump-flows, add-flow, ...):
    /// handled by `switch::ofctl_online`.
    #[command(external_subcommand)]
    Online(Vec<String>),
}

/// Runs `rvs ofctl …`; errors are printed as `rvs ofctl: …` and exit 1.
pub fn run(args: &OfctlArgs) -> ExitCode {
    if let OfctlCommand::Online(argv) = &args.command {
        let mut argv = argv.clone();
        let flags = [
            (args.bundle, "--bundle"),
            (args.strict, "--strict"),
            (args.no_stats, "--no-stats"),
        ];
        argv.extend(
            flags
                .iter()
                .filter(|(on, _)| *on)
                .map(|(_, f)| f.to_string()),
        );
        if let Some(r) = &args.rundir {
            argv.extend(["--rundir".to_string(), r.clone()]);
        }
        return switch::ofctl_online::run(&argv);
    }
    match run_inner(args) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            // What was printed before the refusal (ovs-ofctl prints the
            // usable-protocols line before "no usable protocol").
            print!("{}", e.stdout);
            eprintln!("rvs ofctl: {}", e.message);
            ExitCode::FAILURE
        }
    }
}

/// A refusal: the message, and any output produced before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfctlError {
    pub stdout: String,
    pub message: String,
}

impl OfctlError {
    fn new(message: impl Into<String>) -> Self {
        OfctlError {
            stdout: String::new(),
            message: message.into(),
        }
    }
}

fn run_inner(args: &OfctlArgs) -> Result<String, OfctlError> {
    let allowed = parse::allowed_protocols(&args.protocols)?;
    let opts = parse::PrintOptions {
        verbosity: args.more,
        hex: args.hex,
    };
    match &args.command {
        OfctlCommand::ParseFlow { flow } => parse::parse_flow(flow, allowed, &opts),
        OfctlCommand::ParseFlows { file } => {
            let text = if file == "-" {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(file)
            }
            .map_err(|e| OfctlError::new(format!("{file}: open failed ({})", io_reason(&e))))?;
            parse::parse_flows(file, &text, allowed, &opts)
        }
        OfctlCommand::OfpPrint {
            bytes: text,
            verbosity,
        } => {
            let bytes = parse_hex(text)
                .map_err(|_| OfctlError::new("trailing garbage following hex bytes"))?;
            let mut out = parse::print_message(&bytes, verbosity.unwrap_or(2));
            if let Some(style) = args.hex {
                out.push_str(&parse::hex_text(&bytes, style));
            }
            Ok(out)
        }
        OfctlCommand::Online(_) => Err(OfctlError::new(
            "online commands are run by switch::ofctl_online",
        )),
    }
}

/// `strerror`-style text for an I/O error.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ => e.to_string(),
    }
}
