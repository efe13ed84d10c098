//! `rvs ofctl`: ovs-ofctl for rvs; the offline commands here, the rest in `switch::ofctl_online`.
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
//! Options, anywhere on the command line as with ovs-ofctl (before or
//! after the command; its logging options `-v`, `--log-file`, `--syslog-*`
//! are accepted and ignored): `-O OpenFlow13` (the only version rvs speaks), `-m`
//! (repeatable: more verbose printing, as in ovs-ofctl; at 5 the printer
//! adds a hexdump), `--hex` (after each message, print its bytes in the
//! hexdump layout of `ovs-ofctl -mmmmm`; `--hex=plain` prints one line of
//! plain hex instead). Every other command and option goes to
//! `switch::ofctl_online` (show, dump-flows, add-flow, `--names`,
//! `--no-stats`, `--bundle`, ...).
//!
//! Refusals print `rvs ofctl: <reason>` on stderr, naming OVS's error
//! (`actions are invalid with specified match (OFPBAC_MATCH_INCONSISTENT)`),
//! and exit with status 1.

mod hex;
mod parse;

use std::process::ExitCode;

use clap::Args;

use hex::parse_hex;

/// `rvs ofctl` arguments: taken raw and parsed as ovs-ofctl parses its own
/// (GNU getopt: options anywhere), see the module documentation.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub struct OfctlArgs {
    /// [OPTIONS] COMMAND [ARG...], as ovs-ofctl (`rvs ofctl --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub args: Vec<String>,
}

/// How `--hex` prints bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HexStyle {
    Dump,
    Plain,
}

/// The offline commands and their options.
#[derive(Debug)]
struct Offline {
    protocols: String,
    more: u8,
    hex: Option<HexStyle>,
    command: String,
    operands: Vec<String>,
}

const USAGE: &str = "\
rvs ofctl: OpenFlow switch management, as ovs-ofctl -O OpenFlow13
usage: rvs ofctl [OPTIONS] COMMAND [ARG...]

Offline commands:
  parse-flow FLOW             parse FLOW as add-flow would and print it
  parse-flows FILE            parse every flow in FILE (- for stdin)
  ofp-print HEX [VERBOSITY]   decode one OpenFlow message given in hex

Commands for a SWITCH (BRIDGE in RUNDIR, unix:PATH or tcp:IP[:PORT]):
  show, dump-desc, dump-tables, dump-table-features, dump-ports [PORT],
  dump-ports-desc [PORT], mod-port PORT ACTION, dump-flows [FLOW],
  dump-aggregate [FLOW], add-flow FLOW, add-flows FILE, mod-flows FLOW,
  del-flows [FLOW], replace-flows FILE, diff-flows SOURCE1 SOURCE2,
  dump-groups [GROUP], dump-group-stats [GROUP], dump-group-features,
  add-group GROUP, add-groups FILE, mod-group GROUP, del-groups [GROUP],
  dump-meters [METER], meter-stats [METER], meter-features, add-meter METER,
  mod-meter METER, del-meters [METER], queue-stats [PORT [QUEUE]],
  packet-out PACKET_OUT, monitor [MISS_LEN], snoop

Options:
  -O, --protocols=OpenFlow13  the OpenFlow version (rvs speaks 1.3 only)
  -m, --more                  more verbose printing (repeatable)
  --hex[=dump|plain]          print each encoded message's bytes (offline)
  --strict                    mod-flows, del-flows, dump-flows: strict match
  --no-stats, --stats         dump-flows without or with counters
  --names, --no-names         show port names / do not accept them
  --sort, --rsort             dump-flows sorted by priority
  --bundle                    flow mods as one atomic bundle
  --may-create                mod-group adds the group if missing
  --readd                     replace-flows re-adds unchanged flows
  -P, --packet-in-format=FMT  monitor: standard, nxt_packet_in or nxt_packet_in2
  --rundir=DIR                where BRIDGE.mgmt is (default $RVS_RUNDIR or /var/run/rvs)
  -v, --verbose[=SPEC], --log-file[=FILE], --syslog-method=M, --syslog-target=T
                              ovs-ofctl's logging options: accepted, ignored
  --color=never|auto          rvs ofctl prints no colours
  -V, --version               print the version
";

/// Options of `rvs ofctl` that take a value as the next argument.
const VALUE_OPTS: &[&str] = &[
    "-O",
    "--protocols",
    "-P",
    "--packet-in-format",
    "-t",
    "--timeout",
    "-F",
    "--flow-format",
    "--rundir",
    "--unixctl",
    "--syslog-method",
    "--syslog-target",
];

/// The command: the first argument that is neither an option nor an
/// option's value.
fn find_command(args: &[String]) -> Option<usize> {
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            return (i + 1 < args.len()).then_some(i + 1);
        }
        if !a.starts_with('-') || a == "-" {
            return Some(i);
        }
        i += if VALUE_OPTS.contains(&a) { 2 } else { 1 };
    }
    None
}

/// Parses the options of an offline command.
fn parse_offline(args: &[String], at: usize) -> Result<Offline, OfctlError> {
    let mut o = Offline {
        protocols: "OpenFlow13".into(),
        more: 0,
        hex: None,
        command: args[at].clone(),
        operands: Vec::new(),
    };
    let mut it = args.iter().enumerate();
    while let Some((i, a)) = it.next() {
        let a = a.as_str();
        if i == at {
            continue;
        }
        if a == "--" {
            o.operands.extend(
                it.by_ref()
                    .filter(|(j, _)| *j != at)
                    .map(|(_, v)| v.clone()),
            );
            break;
        }
        if !a.starts_with('-') || a == "-" {
            o.operands.push(a.to_string());
            continue;
        }
        if a == "-O" || a == "--protocols" {
            let (_, v) = it
                .next()
                .ok_or_else(|| OfctlError::new(format!("option '{a}' requires an argument")))?;
            o.protocols = v.clone();
        } else if let Some(v) = a.strip_prefix("--protocols=") {
            o.protocols = v.to_string();
        } else if let Some(v) = a.strip_prefix("-O") {
            o.protocols = v.to_string();
        } else if a == "--more" {
            o.more = o.more.saturating_add(1);
        } else if !a.starts_with("--") && a[1..].bytes().all(|b| b == b'm') {
            o.more = o
                .more
                .saturating_add(u8::try_from(a.len() - 1).unwrap_or(u8::MAX));
        } else if a == "--hex" || a == "--hex=dump" {
            o.hex = Some(HexStyle::Dump);
        } else if a == "--hex=plain" {
            o.hex = Some(HexStyle::Plain);
        } else if switch::ofctl_online::is_logging_option(a) {
        } else if a == "--syslog-method" || a == "--syslog-target" {
            it.next()
                .ok_or_else(|| OfctlError::new(format!("option '{a}' requires an argument")))?;
        } else if let Some(c) = switch::ofctl_online::check_color_option(a) {
            c.map_err(OfctlError::new)?;
        } else {
            return Err(OfctlError::new(format!("unrecognized option '{a}'")));
        }
    }
    Ok(o)
}

/// Runs `rvs ofctl …`; errors are printed as `rvs ofctl: …` and exit 1.
pub fn run(args: &OfctlArgs) -> ExitCode {
    let argv = &args.args;
    if argv.iter().any(|a| a == "--help" || a == "-h") {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if argv.iter().any(|a| a == "--version" || a == "-V") {
        // ovs-ofctl's shape: program and version, then the range of
        // OpenFlow versions it speaks (0x4: OpenFlow 1.3 only).
        println!(
            "rvs ofctl (rvs) {}\nOpenFlow versions 0x4:0x4",
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    let at = find_command(argv);
    let offline =
        at.is_some_and(|i| matches!(argv[i].as_str(), "parse-flow" | "parse-flows" | "ofp-print"));
    let (true, Some(at)) = (offline, at) else {
        return switch::ofctl_online::run(argv);
    };
    match parse_offline(argv, at).and_then(|o| run_inner(&o)) {
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

fn run_inner(args: &Offline) -> Result<String, OfctlError> {
    let allowed = parse::allowed_protocols(&args.protocols)?;
    let opts = parse::PrintOptions {
        verbosity: args.more,
        hex: args.hex,
    };
    let need = |n: usize| -> Result<(), OfctlError> {
        if args.operands.len() < n {
            return Err(OfctlError::new(format!(
                "'{}' command requires at least {n} arguments",
                args.command
            )));
        }
        Ok(())
    };
    match args.command.as_str() {
        "parse-flow" => {
            need(1)?;
            parse::parse_flow(&args.operands[0], allowed, &opts)
        }
        "parse-flows" => {
            need(1)?;
            let file = &args.operands[0];
            let text = if file == "-" {
                std::io::read_to_string(std::io::stdin())
            } else {
                std::fs::read_to_string(file)
            }
            .map_err(|e| OfctlError::new(format!("{file}: open failed ({})", io_reason(&e))))?;
            parse::parse_flows(file, &text, allowed, &opts)
        }
        _ => {
            need(1)?;
            let bytes = parse_hex(&args.operands[0])
                .map_err(|_| OfctlError::new("trailing garbage following hex bytes"))?;
            let verbosity = match args.operands.get(1) {
                Some(v) => v
                    .parse()
                    .map_err(|_| OfctlError::new(format!("{v}: bad verbosity")))?,
                None => 2,
            };
            let mut out = parse::print_message(&bytes, verbosity);
            if let Some(style) = args.hex {
                out.push_str(&parse::hex_text(&bytes, style));
            }
            Ok(out)
        }
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
