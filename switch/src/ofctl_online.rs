//! `rvs ofctl CMD SWITCH ...`: the `ovs-ofctl` commands that talk to a
//! switch (rvs, or any OpenFlow 1.3 switch such as ovs-vswitchd).
//!
//! SWITCH is `unix:PATH`, `tcp:IP[:PORT]`, a socket path, or a bridge name
//! `BRIDGE`, which means `RUNDIR/BRIDGE.mgmt` with RUNDIR from `--rundir`,
//! `RVS_RUNDIR` or `/var/run/rvs`.
//!
//! Done: `show`, `dump-desc`, `dump-tables`, `dump-table-features`,
//! `dump-ports [PORT]`, `dump-ports-desc [PORT]`, `mod-port SWITCH PORT
//! ACTION`, `dump-flows [FLOW]` (with `--no-stats`/`--stats`, `--strict`,
//! `--sort[=FIELD]`/`--rsort[=FIELD]`), `dump-aggregate [FLOW]`, `add-flow`,
//! `add-flows FILE`, `mod-flows`, `del-flows [FLOW]`, `replace-flows SWITCH
//! FILE` (`--readd`), `diff-flows SOURCE SOURCE`, `dump-groups`,
//! `dump-group-stats`, `dump-group-features`, `add-group`, `add-groups
//! FILE`, `mod-group` (`--may-create`), `del-groups [GROUP]`,
//! `dump-meters`, `meter-stats`, `meter-features`, `add-meter`,
//! `queue-stats [PORT [QUEUE]]`,
//! `mod-meter`, `del-meter(s) [METER]`, `packet-out`, `monitor [MISS_LEN]`
//! (with `-P`/`--packet-in-format`), and `--bundle` for `add-flow(s)`,
//! `mod-flows`, `del-flows`, `replace-flows` and the group commands (errors printed as
//! ovs-ofctl's `Error NAME for: REQUEST`). Options go anywhere, before or
//! after the command, as ovs-ofctl's.
//!
//! Port names as ovs-ofctl (see `names`, `session`): accepted in flows,
//! groups, packet-outs, filters and PORT arguments unless `--no-names`;
//! shown with `--names` or when stdout is a terminal. The names are fetched
//! on connections of their own at the points where ovs-ofctl fetches them,
//! so xids printed in reply headers and errors are ovs-ofctl's.
//!
//! Replies are printed by ofp-codec's `ovs-ofctl ofp-print` printer, so the
//! text is what `ovs-ofctl -O OpenFlow13` prints for the same replies;
//! flow lines are formatted as OVS's `ofputil_flow_stats_format`.
//! `tests/tests/interop_ovs_compare.rs` runs every command through both
//! rvs ofctl and ovs-ofctl against both rvs and ovs-vswitchd.
//!
//! `queue-get-config`, `get-frags`, `set-frags`, `mod-table` (see
//! `config_cmds`).
//!
//! `snoop SWITCH` (see `snoop`; the switch side is
//! `channel::snoop`).
//!
//! Not done: names in `monitor` output; `probe`, `ping`, `benchmark`, TLV maps.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ofp_codec::action::format_instructions;
use ofp_codec::msg::PacketInFormat;
use ofp_codec::msg::PacketOut;
use ofp_codec::msg::bundle::{BundleCtrlType, OFPBF_ATOMIC, OFPBF_ORDERED};
use ofp_codec::msg::multipart::{MultipartRequest, OFPMPF_MORE};
use ofp_codec::msg::print::ofp_to_string;
use ofp_codec::msg::{
    BundleAdd, BundleControl, FlowStats, FlowStatsRequest, Frame, Hello, Message,
    MultipartReplyBody, MultipartRequestBody as Q, OFP13_VERSION, frame_len,
};
use ofp_codec::text::flow_mod::parse_flow_line_with;
use ofp_codec::text::flow_mod::{Command as FlowCmd, FlowSpec, parse_flow_mod_with};
use ofp_codec::text::flows_file::{FlowsFileError, flow_lines, parse_flows_with};

use crate::daemon::config::rundir_from;

mod config_cmds;
mod ct_flush;
mod groups;
mod names;
mod session;
mod snoop;
mod table_features;

use session::Session;

/// ovs-ofctl's options, given anywhere on the command line (before or
/// after the command, as GNU getopt permutes them).
#[derive(Debug, Default)]
struct Opts {
    no_stats: bool,
    strict: bool,
    bundle: bool,
    /// `--may-create`: mod-group adds a missing group.
    may_create: bool,
    /// `--readd`: replace-flows re-adds flows that are already equal.
    readd: bool,
    /// `--names` (Some(true)), `--no-names` (Some(false)), or neither:
    /// names accepted, shown only when stdout is a terminal.
    names: Option<bool>,
    /// `--sort[=FIELD]` (ascending) and `--rsort[=FIELD]` (descending), in
    /// order: the field (None for priority) and whether ascending.
    sort: Vec<(Option<ofp_codec::field::Field>, bool)>,
    /// `-P FORMAT` / `--packet-in-format=FORMAT` for `monitor`.
    packet_in_format: Option<PacketInFormat>,
    rundir: Option<PathBuf>,
    /// The command and its arguments, options removed.
    args: Vec<String>,
}

/// Options that take a value, as `-X VALUE`, `-XVALUE`, `--long VALUE` or
/// `--long=VALUE`.
const VALUE_OPTS: &[(&str, &str)] = &[
    ("-O", "--protocols"),
    ("-P", "--packet-in-format"),
    ("-t", "--timeout"),
    ("-F", "--flow-format"),
    ("", "--rundir"),
    ("", "--unixctl"),
    ("", "--syslog-method"),
    ("", "--syslog-target"),
];

/// ovs-ofctl's logging options (its `VLOG_LONG_OPTIONS`), which change
/// only what it logs on stderr and are accepted and ignored here:
/// `-v`/`-vSPEC`/`--verbose[=SPEC]`, `--log-file[=FILE]`, and (in
/// [`VALUE_OPTS`]) `--syslog-method`/`--syslog-target`.
pub fn is_logging_option(a: &str) -> bool {
    (a.starts_with("-v") && !a.starts_with("--"))
        || a == "--verbose"
        || a.starts_with("--verbose=")
        || a == "--log-file"
        || a.starts_with("--log-file=")
}

/// `--color[=WHEN]`: rvs ofctl never colours its output, which is what
/// ovs-ofctl does with `never`, and with `auto` when stdout is not a
/// terminal; `always` (or a bare `--color` on a terminal) is refused
/// rather than ignored.
pub fn check_color_option(a: &str) -> Option<Result<(), String>> {
    use std::io::IsTerminal;
    let when = match a {
        "--color" => "always",
        a => a.strip_prefix("--color=")?,
    };
    Some(match when {
        "never" | "no" | "none" => Ok(()),
        "auto" | "tty" | "if-tty" if !std::io::stdout().is_terminal() => Ok(()),
        "always" | "yes" | "force" | "auto" | "tty" | "if-tty" => {
            Err(format!("{a}: rvs ofctl does not colour its output"))
        }
        w => Err(format!("{w}: unknown color argument")),
    })
}

/// Splits `argv` (everything after `rvs ofctl`) into options and the
/// command with its arguments.
fn parse_opts(argv: &[String]) -> Result<Opts> {
    let mut o = Opts::default();
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        let a = a.as_str();
        if a == "--" {
            o.args.extend(it.by_ref().cloned());
            break;
        }
        if !a.starts_with('-') || a == "-" {
            o.args.push(a.to_string());
            continue;
        }
        // An option that takes a value.
        let mut valued = None;
        for (short, long) in VALUE_OPTS {
            if !short.is_empty() && a.starts_with(short) {
                valued = Some((*long, a.get(short.len()..).filter(|v| !v.is_empty())));
            } else if a == *long {
                valued = Some((*long, None));
            } else if let Some(v) = a.strip_prefix(long).and_then(|v| v.strip_prefix('=')) {
                valued = Some((*long, Some(v)));
            }
            if valued.is_some() {
                break;
            }
        }
        if let Some((long, v)) = valued {
            let v = match v {
                Some(v) => v.to_string(),
                None => it
                    .next()
                    .with_context(|| format!("option '{long}' requires an argument"))?
                    .clone(),
            };
            match long {
                "--protocols" => check_protocols(&v)?,
                "--packet-in-format" => o.packet_in_format = Some(packet_in_format(&v)?),
                "--rundir" => o.rundir = Some(v.into()),
                "--flow-format" if v.eq_ignore_ascii_case("oxm") => {}
                "--flow-format" => bail!("{v}: rvs ofctl uses the OXM flow format only"),
                // --timeout (rvs ofctl waits 10 s per reply), --unixctl,
                // --syslog-method, --syslog-target (logging).
                _ => {}
            }
            continue;
        }
        if is_logging_option(a) {
            continue;
        }
        if let Some(c) = check_color_option(a) {
            c.map_err(anyhow::Error::msg)?;
            continue;
        }
        match a {
            "--no-stats" => o.no_stats = true,
            "--stats" => o.no_stats = false,
            "--strict" => o.strict = true,
            "--bundle" => o.bundle = true,
            "--may-create" => o.may_create = true,
            "--readd" => o.readd = true,
            "--names" => o.names = Some(true),
            "--no-names" => o.names = Some(false),
            "--read-only" | "--timestamp" | "--more" => {}
            s if s == "--sort" || s == "--rsort" => o.sort.push((None, s == "--sort")),
            s if s.starts_with("--sort=") || s.starts_with("--rsort=") => {
                let (opt, name) = s.split_once('=').unwrap_or((s, ""));
                let field = match name {
                    "priority" => None,
                    n => Some(
                        ofp_codec::field::Field::from_name(n)
                            .with_context(|| format!("{n}: unknown field name"))?,
                    ),
                };
                o.sort.push((field, opt == "--sort"));
            }
            s if s.starts_with("--hex") => {}
            s if !s.starts_with("--") && s[1..].bytes().all(|b| b == b'm') => {}
            s => bail!("unrecognized option '{s}'"),
        }
    }
    Ok(o)
}

/// `-O`: rvs ofctl speaks OpenFlow 1.3, so the list must allow it.
fn check_protocols(spec: &str) -> Result<()> {
    let ok = spec
        .split(',')
        .map(str::trim)
        .any(|p| p.eq_ignore_ascii_case("OpenFlow13") || p.eq_ignore_ascii_case("OXM-OpenFlow13"));
    if !ok {
        bail!("{spec}: unsupported OpenFlow version (rvs ofctl speaks OpenFlow13 only)");
    }
    Ok(())
}

/// ovs-ofctl's `ofputil_packet_in_format_from_string`.
fn packet_in_format(s: &str) -> Result<PacketInFormat> {
    Ok(match s {
        "standard" | "openflow10" => PacketInFormat::STANDARD,
        "nxt_packet_in" | "nxm" => PacketInFormat::NXT_PACKET_IN,
        "nxt_packet_in2" => PacketInFormat::NXT_PACKET_IN2,
        _ => bail!("unknown packet-in format `{s}'"),
    })
}

enum Stream {
    Unix(UnixStream),
    Tcp(TcpStream),
}

impl Stream {
    fn io(&mut self) -> &mut dyn ReadWrite {
        match self {
            Stream::Unix(s) => s,
            Stream::Tcp(s) => s,
        }
    }

    fn set_nonblocking(&self, on: bool) -> std::io::Result<()> {
        match self {
            Stream::Unix(s) => s.set_nonblocking(on),
            Stream::Tcp(s) => s.set_nonblocking(on),
        }
    }
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// One OpenFlow 1.3 connection with ovs-ofctl's xid numbering.
struct Vconn {
    s: Stream,
    /// Received bytes not yet taken as messages.
    buf: Vec<u8>,
    /// Queued bytes not yet written (see [`Vconn::queue`]).
    out: Vec<u8>,
}

/// How many queued bytes [`Vconn::queue`] gathers before one write.
const QUEUE_FLUSH_BYTES: usize = 64 * 1024;

/// Process-wide xid counter (ovs-ofctl numbers messages across connections).
struct Xids(u32);

impl Xids {
    fn next(&mut self) -> u32 {
        self.0 += 1;
        self.0
    }
}

fn resolve(target: &str, rundir: Option<&std::path::Path>) -> Result<Stream> {
    let timeout = Some(Duration::from_secs(10));
    if let Some(p) = target.strip_prefix("unix:") {
        let s = UnixStream::connect(p).with_context(|| format!("{target}: connection failed"))?;
        s.set_read_timeout(timeout)?;
        return Ok(Stream::Unix(s));
    }
    if target.starts_with("tcp:") {
        let crate::channel::Target::Tcp(addr) = crate::channel::Target::parse(target)? else {
            bail!("{target}: not an active target");
        };
        let s = TcpStream::connect(addr).with_context(|| format!("{target}: connection failed"))?;
        s.set_read_timeout(timeout)?;
        return Ok(Stream::Tcp(s));
    }
    let path = if target.contains('/') {
        PathBuf::from(target)
    } else {
        rundir_from(rundir).join(format!("{target}.mgmt"))
    };
    let s = UnixStream::connect(&path)
        .with_context(|| format!("{}: connection failed", path.display()))?;
    s.set_read_timeout(timeout)?;
    Ok(Stream::Unix(s))
}

impl Vconn {
    fn open(target: &str, rundir: Option<&std::path::Path>, xids: &mut Xids) -> Result<Vconn> {
        let mut v = Vconn {
            s: resolve(target, rundir)?,
            buf: Vec::new(),
            out: Vec::new(),
        };
        v.send(&Message::Hello(Hello::with_versions(1 << OFP13_VERSION)).encode(xids.next()))?;
        let hello = v.recv()?;
        if hello.get(1) != Some(&0) {
            bail!("{target}: expected HELLO");
        }
        if hello[0] < OFP13_VERSION {
            bail!("{target}: switch does not speak OpenFlow 1.3");
        }
        Ok(v)
    }

    /// Writes `bytes` (after anything queued) now.
    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.extend_from_slice(bytes);
        self.flush()
    }

    /// Queues `bytes` to be written with the ones around it: one write per
    /// [`QUEUE_FLUSH_BYTES`] instead of one per message, for the long runs
    /// of flow mods that `add-flows` and `--bundle` send before their
    /// barrier. Whatever the switch sent meanwhile (errors, echo requests)
    /// is read into `buf` before each write, so neither side can block
    /// writing to a peer that is itself blocked writing.
    fn queue(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.extend_from_slice(bytes);
        if self.out.len() >= QUEUE_FLUSH_BYTES {
            self.take_pending_input()?;
            self.flush()?;
        }
        Ok(())
    }

    /// Writes everything queued.
    fn flush(&mut self) -> Result<()> {
        if !self.out.is_empty() {
            self.s.io().write_all(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }

    /// Reads, without waiting, whatever the switch has sent so far.
    fn take_pending_input(&mut self) -> Result<()> {
        self.s.set_nonblocking(true)?;
        let mut tmp = [0u8; 65536];
        let read = loop {
            match self.s.io().read(&mut tmp) {
                Ok(0) => break Ok(()),
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => break Err(e),
            }
        };
        self.s.set_nonblocking(false)?;
        Ok(read?)
    }

    fn recv(&mut self) -> Result<Vec<u8>> {
        self.flush()?;
        loop {
            match frame_len(&self.buf) {
                Ok(Frame::Complete(n)) => return Ok(self.buf.drain(..n).collect()),
                Ok(Frame::Incomplete(_)) => {}
                Err(_) => bail!("received a message with a bad length"),
            }
            let mut tmp = [0u8; 65536];
            let n = self.s.io().read(&mut tmp)?;
            if n == 0 {
                bail!("connection closed by the switch");
            }
            self.buf.extend_from_slice(&tmp[..n]);
        }
    }

    /// Receives until the reply to `xid`, answering echo requests and
    /// skipping asynchronous messages.
    fn recv_reply(&mut self, xid: u32) -> Result<Vec<u8>> {
        loop {
            let m = self.recv()?;
            let this = u32::from_be_bytes([m[4], m[5], m[6], m[7]]);
            if m[1] == 2 {
                let mut reply = m.clone();
                reply[1] = 3;
                self.send(&reply)?;
                continue;
            }
            if this == xid {
                return Ok(m);
            }
        }
    }

    /// Sends a multipart request and returns every reply message.
    fn dump(&mut self, body: Q, xids: &mut Xids) -> Result<Vec<Vec<u8>>> {
        let mut out = self.dump_any(body, xids)?;
        match out.last() {
            Some(m) if m[1] == 1 => Err(SwitchError(out.pop().unwrap_or_default()).into()),
            _ => Ok(out),
        }
    }

    /// [`Vconn::dump`] for printing, as ovs-ofctl's `dump_transaction`: an
    /// error from the switch ends the replies and is printed with them.
    fn dump_any(&mut self, body: Q, xids: &mut Xids) -> Result<Vec<Vec<u8>>> {
        let xid = xids.next();
        self.send(&Message::MultipartRequest(MultipartRequest { flags: 0, body }).encode(xid))?;
        let mut out = Vec::new();
        loop {
            let m = self.recv_reply(xid)?;
            if m[1] == 1 {
                out.push(m);
                return Ok(out);
            }
            let more = m.len() >= 12 && u16::from_be_bytes([m[10], m[11]]) & OFPMPF_MORE != 0;
            out.push(m);
            if !more {
                return Ok(out);
            }
        }
    }

    /// Sends one request and returns its single reply.
    fn transact(&mut self, msg: Message, xids: &mut Xids) -> Result<Vec<u8>> {
        let xid = xids.next();
        self.send(&msg.encode(xid))?;
        let m = self.recv_reply(xid)?;
        if m[1] == 1 {
            return Err(SwitchError(m).into());
        }
        Ok(m)
    }

    /// Sends messages that have no reply, then a barrier; the first error
    /// the switch sends for any of them is returned.
    fn transact_noreply(&mut self, msgs: Vec<Message>, xids: &mut Xids) -> Result<()> {
        for m in msgs {
            let xid = xids.next();
            self.queue(&m.encode(xid))?;
        }
        let barrier = xids.next();
        self.send(&Message::BarrierRequest.encode(barrier))?;
        loop {
            let m = self.recv()?;
            match m[1] {
                1 => return Err(SwitchError(m).into()),
                2 => {
                    let mut reply = m.clone();
                    reply[1] = 3;
                    self.send(&reply)?;
                }
                21 if m[4..8] == barrier.to_be_bytes() => return Ok(()),
                _ => {}
            }
        }
    }
}

/// An OFPT_ERROR from the switch (printed as ovs-ofctl prints it).
#[derive(Debug)]
struct SwitchError(Vec<u8>);

impl std::fmt::Display for SwitchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", ofp_to_string(&self.0, 1).trim_end())
    }
}

impl std::error::Error for SwitchError {}

/// An error already formatted for stderr (a [`SwitchError`] with names).
#[derive(Debug)]
struct Printed(String);

impl std::fmt::Display for Printed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Printed {}

fn print_all(msgs: &[Vec<u8>]) -> String {
    msgs.iter().map(|m| ofp_to_string(m, 1)).collect()
}

fn duration(sec: u32, nsec: u32) -> String {
    let mut s = sec.to_string();
    if nsec > 0 {
        let ms = nsec / 1_000_000;
        if ms * 1_000_000 == nsec {
            s.push_str(&format!(".{ms:03}"));
        } else {
            s.push_str(format!(".{nsec:09}").trim_end_matches('0'));
        }
    }
    s
}

/// One flow as OVS's `ofputil_flow_stats_format` prints it (OpenFlow 1.3:
/// no importance, no idle/hard age).
pub fn format_flow_stats(fs: &FlowStats, show_stats: bool) -> String {
    let mut s = String::new();
    if show_stats || fs.cookie != 0 {
        s.push_str(&format!("cookie=0x{:x}, ", fs.cookie));
    }
    if show_stats {
        s.push_str(&format!(
            "duration={}s, ",
            duration(fs.duration_sec, fs.duration_nsec)
        ));
    }
    if show_stats || fs.table_id != 0 {
        s.push_str(&format!("table={}, ", fs.table_id));
    }
    if show_stats {
        let stat = |v: u64| {
            if v == u64::MAX {
                "?".to_string()
            } else {
                v.to_string()
            }
        };
        s.push_str(&format!(
            "n_packets={}, n_bytes={}, ",
            stat(fs.packet_count),
            stat(fs.byte_count)
        ));
    }
    if fs.idle_timeout != 0 {
        s.push_str(&format!("idle_timeout={}, ", fs.idle_timeout));
    }
    if fs.hard_timeout != 0 {
        s.push_str(&format!("hard_timeout={}, ", fs.hard_timeout));
    }
    for (bit, name) in [
        (1, "send_flow_rem "),
        (2, "check_overlap "),
        (4, "reset_counts "),
        (8, "no_packet_counts "),
        (16, "no_byte_counts "),
    ] {
        if fs.flags & bit != 0 {
            s.push_str(name);
        }
    }
    let m = fs.match_.format_with_priority(fs.priority);
    if !m.is_empty() {
        s.push_str(&m);
        s.push(' ');
    }
    s.push_str("actions=");
    s.push_str(&format_instructions(&fs.instructions));
    s
}

/// A flow stats request for the (name-resolved) filter `text`.
/// ovs-ofctl's `compare_flows` for `--sort`/`--rsort`: by each criterion
/// in turn; a flow that matches on the field (not wildcarded) comes before
/// one that does not, in either direction; values compare as bytes.
fn compare_flows(
    a: &FlowStats,
    b: &FlowStats,
    criteria: &[(Option<ofp_codec::field::Field>, bool)],
) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    for (field, ascending) in criteria {
        let ord = match field {
            None => a.priority.cmp(&b.priority),
            Some(f) => {
                let value = |fs: &FlowStats| {
                    fs.match_
                        .get(*f)
                        .filter(|e| e.mask.as_ref().is_none_or(|m| m.iter().any(|b| *b != 0)))
                        .map(|e| e.value.clone())
                };
                match (value(a), value(b)) {
                    (Some(_), None) => return Ordering::Less,
                    (None, Some(_)) => return Ordering::Greater,
                    (x, y) => x.cmp(&y),
                }
            }
        };
        if ord != Ordering::Equal {
            return if *ascending { ord } else { ord.reverse() };
        }
    }
    Ordering::Equal
}

fn flow_request(filter: Option<&(String, names::Accepted)>) -> Result<FlowStatsRequest> {
    let Some((text, accepted)) = filter else {
        return Ok(FlowStatsRequest::default());
    };
    let spec = parse_flow_mod_with(text, FlowCmd::Delete, accepted.names())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(FlowStatsRequest {
        table_id: spec.wire_table_id(),
        out_port: spec.out_port,
        out_group: spec.out_group,
        cookie: spec.cookie,
        cookie_mask: spec.cookie_mask,
        match_: spec.flow_match.clone(),
    })
}

/// Reads FILE, or stdin for `-`.
fn read_source(file: &str) -> Result<String> {
    if file == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        return Ok(s);
    }
    std::fs::read_to_string(file).with_context(|| format!("{file}: open failed"))
}

/// The flow mods of add-flow(s), mod-flows and del-flows, names resolved.
/// The flow command of `cmd` (`--strict` picks the strict variants).
fn flow_command(cmd: &str, strict: bool) -> Result<FlowCmd> {
    Ok(match (cmd, strict) {
        ("add-flow", _) => FlowCmd::Add,
        ("mod-flows", false) => FlowCmd::Modify,
        ("mod-flows", true) => FlowCmd::ModifyStrict,
        ("del-flows", false) => FlowCmd::Delete,
        ("del-flows", true) => FlowCmd::DeleteStrict,
        ("add-flows", _) => FlowCmd::Add,
        _ => bail!("{cmd}: unknown flow command"),
    })
}

/// The file `cmd` reads its flows from, if it reads a file: as ovs-ofctl,
/// `add-flows SWITCH FILE`, and `CMD SWITCH -` reads one from stdin.
fn flow_file<'o>(o: &'o Opts, cmd: &str) -> Option<&'o str> {
    let text = o.args.get(1).map(String::as_str);
    (cmd == "add-flows" && text.is_some() || text == Some("-")).then_some(text?)
}

/// How the lines of a flows file are read for `command`: as ovs-ofctl, a
/// file of adds (`add-flows`, `add-flow SWITCH -`) may start any line with
/// its own command (`add`, `modify`, `delete_strict`, ... or a prefix of
/// one), and the other commands apply to every line.
fn file_command(command: FlowCmd) -> Option<FlowCmd> {
    (command != FlowCmd::Add).then_some(command)
}

fn flow_specs(o: &Opts, cmd: &str, s: &mut Session) -> Result<Vec<FlowSpec>> {
    let text = o.args.get(1).map(String::as_str);
    let command = flow_command(cmd, o.strict)?;
    // As ovs-ofctl: `add-flows SWITCH FILE`, and `CMD SWITCH -` reads a file
    // from stdin.
    if cmd == "add-flows" || text == Some("-") {
        let file = text.with_context(|| format!("{cmd} needs a FILE"))?;
        let content = read_source(file)?;
        let accepted = names::Accepted::fetch(s)?;
        let parsed = parse_flows_with(&content, file_command(command), accepted.names())
            .map_err(|e| anyhow::anyhow!("{file}:{e}"))?;
        return Ok(parsed.flows.into_iter().map(|f| f.spec).collect());
    }
    if text.is_none() && cmd != "del-flows" {
        bail!("{cmd} needs a flow");
    }
    let accepted = names::Accepted::fetch(s)?;
    let spec = parse_flow_mod_with(text.unwrap_or(""), command, accepted.names())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(vec![spec])
}

/// ovs-ofctl's config flags for mod-port: (name, ofputil bit, value).
const PORT_FLAGS: &[(&str, u32, bool)] = &[
    ("up", 1, false),
    ("down", 1, true),
    ("stp", 1 << 1, false),
    ("receive", 1 << 2, false),
    ("receive-stp", 1 << 3, false),
    ("flood", 1 << 4, false),
    ("forward", 1 << 5, false),
    ("packet-in", 1 << 6, false),
];

/// The config bits OpenFlow 1.3 has (OFPPC_PORT_DOWN, NO_RECV, NO_FWD,
/// NO_PACKET_IN); ovs-ofctl drops the others (stp, flood) from 1.3 port mods.
const OFPPC13_ALL: u32 = 1 | 1 << 2 | 1 << 5 | 1 << 6;

/// `mod-port` ACTION as (config, mask): `[no-|no]FLAG`, case-insensitive.
fn port_mod_bits(action: &str) -> Result<(u32, u32)> {
    let lower = action.to_ascii_lowercase();
    let (command, not) = if let Some(c) = lower.strip_prefix("no-") {
        (c, true)
    } else if let Some(c) = lower.strip_prefix("no") {
        (c, true)
    } else {
        (lower.as_str(), false)
    };
    let (_, bit, on) = PORT_FLAGS
        .iter()
        .find(|(n, _, _)| *n == command)
        .with_context(|| format!("unknown mod-port command '{action}'"))?;
    let config = if on ^ not { *bit } else { 0 };
    Ok((config & OFPPC13_ALL, bit & OFPPC13_ALL))
}

/// The commands ovs-ofctl runs with names accepted: they fetch the
/// switch's port and table names before connecting for the command.
fn accepts_names_first(cmd: &str, o: &Opts) -> bool {
    match cmd {
        "dump-flows" | "dump-aggregate" => o.args.get(1).is_some_and(|f| !f.is_empty()),
        "add-flow" | "add-flows" | "mod-flows" | "del-flows" | "add-group" | "add-groups"
        | "mod-group" | "del-groups" | "dump-group-stats" | "packet-out" | "replace-flows" => true,
        _ => false,
    }
}

fn run_cmd(cmd: &str, o: &Opts) -> Result<String> {
    if cmd == "diff-flows" {
        return diff_flows(o);
    }
    if cmd == "ct-flush" || cmd == "ct-flush-zone" {
        return ct_flush::run(cmd, o);
    }
    if cmd == "snoop" {
        return snoop::run(o);
    }
    let target = o
        .args
        .first()
        .with_context(|| format!("{cmd} needs a SWITCH argument"))?;
    let mut s = Session::new(target, o.rundir.clone(), o.names);
    let out = match run_on(cmd, o, &mut s) {
        Ok(out) => out,
        // ovs-ofctl prints the error (and the request it echoes) with names
        // when it shows them.
        Err(e) if s.showing() => {
            if let Some(se) = e.downcast_ref::<SwitchError>() {
                return Err(Printed(s.show(&se.to_string())?).into());
            }
            if let Some(p) = e.downcast_ref::<Printed>() {
                return Err(Printed(s.show(&p.0)?).into());
            }
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    if out.is_empty() {
        return Ok(out);
    }
    s.show(&out)
}

/// Runs `cmd` on the switch of session `s`; returns what to print.
fn run_on(cmd: &str, o: &Opts, s: &mut Session) -> Result<String> {
    if accepts_names_first(cmd, o) {
        s.accept_maps()?;
    }
    if cmd == "mod-port" {
        return mod_port(o, s);
    }
    if let Some(out) = config_cmds::run(cmd, o, s) {
        return out;
    }
    let mut v = s.open()?;
    let filter = match o.args.get(1).filter(|f| !f.is_empty()) {
        Some(f) if matches!(cmd, "dump-flows" | "dump-aggregate") => {
            Some((f.clone(), names::Accepted::fetch(s)?))
        }
        _ => None,
    };
    let id_arg = |i: usize| -> Result<u32> {
        match o.args.get(i).map(|s| {
            s.trim_start_matches("group_id=")
                .trim_start_matches("meter=")
        }) {
            None | Some("all") => Ok(0xffff_ffff),
            Some(p) => p.parse().with_context(|| format!("{p}: bad id")),
        }
    };
    Ok(match cmd {
        "show" => {
            let mut out = ofp_to_string(&v.transact(Message::FeaturesRequest, &mut s.xids)?, 1);
            out.push_str(&print_all(&v.dump_any(Q::PortDesc, &mut s.xids)?));
            // ovs-ofctl reads the config on a second connection.
            let mut v2 = s.open()?;
            out.push_str(&ofp_to_string(
                &v2.transact(Message::GetConfigRequest, &mut s.xids)?,
                1,
            ));
            out
        }
        "dump-desc" => print_all(&v.dump_any(Q::Desc, &mut s.xids)?),
        "dump-tables" => print_all(&v.dump_any(Q::Table, &mut s.xids)?),
        "dump-table-features" => {
            table_features::print(&v.dump(Q::TableFeatures(Vec::new()), &mut s.xids)?)?
        }
        "dump-ports" => {
            let port = match o.args.get(1) {
                Some(p) => s.port_arg(p)?,
                None => 0xffff_ffff,
            };
            print_all(&v.dump_any(Q::PortStats(port), &mut s.xids)?)
        }
        "dump-ports-desc" => {
            // OpenFlow 1.3's request has no port: every port is listed (as
            // by ovs-ofctl), but the argument must name one.
            if let Some(p) = o.args.get(1) {
                s.port_arg(p)?;
            }
            print_all(&v.dump_any(Q::PortDesc, &mut s.xids)?)
        }
        "dump-aggregate" => {
            print_all(&v.dump_any(Q::Aggregate(flow_request(filter.as_ref())?), &mut s.xids)?)
        }
        "dump-group-features" => print_all(&v.dump_any(Q::GroupFeatures, &mut s.xids)?),
        "queue-stats" => {
            // As ovs-ofctl: PORT and QUEUE default to all ("" and "all" too).
            let given = |i: usize| {
                o.args
                    .get(i)
                    .filter(|a| !a.is_empty() && !a.eq_ignore_ascii_case("all"))
            };
            let port_no = match given(1) {
                Some(p) => s.port_arg(p)?,
                None => 0xffff_ffff,
            };
            // ovs-ofctl reads QUEUE with atoi().
            let queue_id = match given(2) {
                Some(q) => q
                    .trim_start()
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .and_then(|d| d.parse::<u32>().ok())
                    .unwrap_or(0),
                None => 0xffff_ffff,
            };
            print_all(&v.dump_any(Q::Queue { port_no, queue_id }, &mut s.xids)?)
        }
        "meter-features" => print_all(&v.dump_any(Q::MeterFeatures, &mut s.xids)?),
        "meter-stats" => print_all(&v.dump_any(Q::Meter(id_arg(1)?), &mut s.xids)?),
        "dump-groups" => print_all(&v.dump_any(Q::GroupDesc, &mut s.xids)?),
        "dump-group-stats" => {
            // As ovs-ofctl: the argument is a group spec (`group_id=1`).
            let spec = s.accept(o.args.get(1).map_or("", String::as_str))?;
            let id = groups::parse_group(&spec, ofp_codec::msg::GroupModCommand::DELETE)?.group_id;
            print_all(&v.dump_any(Q::Group(id), &mut s.xids)?)
        }
        "dump-meters" => print_all(&v.dump_any(Q::MeterConfig(id_arg(1)?), &mut s.xids)?),
        "dump-flows" => {
            let mut replies = v.dump_any(Q::Flow(flow_request(filter.as_ref())?), &mut s.xids)?;
            let mut out = String::new();
            let lines_only = !o.sort.is_empty() || s.showing() || o.no_stats;
            // An error ends the replies: printed as a reply with the
            // headers (ovs-ofctl's dump_transaction), fatal without them.
            let error = replies.pop_if(|m| m[1] == 1);
            match error {
                Some(e) if lines_only => return Err(SwitchError(e).into()),
                Some(e) => {
                    for m in &replies {
                        out.push_str(&ofp_to_string(m, 1));
                    }
                    out.push_str(&ofp_to_string(&e, 1));
                    return Ok(out);
                }
                None => {}
            }
            if lines_only {
                // As ovs-ofctl: every flow of every reply (sorted with
                // --sort), without the reply headers.
                let mut all: Vec<FlowStats> = Vec::new();
                for m in &replies {
                    if let Ok((_, Message::MultipartReply(r))) = Message::decode(m)
                        && let MultipartReplyBody::Flow(flows) = r.body
                    {
                        all.extend(flows);
                    }
                }
                // Stable: ties keep the switch's order, as ovs-ofctl.
                all.sort_by(|a, b| compare_flows(a, b, &o.sort));
                for f in &all {
                    out.push(' ');
                    out.push_str(&format_flow_stats(f, !o.no_stats));
                    out.push('\n');
                }
                return Ok(out);
            }
            for m in &replies {
                let (h, msg) = Message::decode(m)
                    .map_err(|e| anyhow::anyhow!("bad flow stats reply: {e:?}"))?;
                let Message::MultipartReply(r) = msg else {
                    bail!("unexpected reply")
                };
                let MultipartReplyBody::Flow(flows) = r.body else {
                    bail!("unexpected reply")
                };
                if !o.no_stats {
                    out.push_str(&format!("OFPST_FLOW reply (OF1.3) (xid=0x{:x}):", h.xid));
                    if r.flags & OFPMPF_MORE != 0 {
                        out.push_str(" flags=[more]");
                    }
                    out.push('\n');
                }
                for f in &flows {
                    out.push(' ');
                    out.push_str(&format_flow_stats(f, !o.no_stats));
                    out.push('\n');
                }
            }
            out
        }
        "add-flow" | "add-flows" | "mod-flows" | "del-flows"
            if o.bundle && flow_file(o, cmd).is_some() =>
        {
            let (file, command) = (
                flow_file(o, cmd).unwrap_or("-"),
                flow_command(cmd, o.strict)?,
            );
            let content = read_source(file)?;
            let accepted = names::Accepted::fetch(s)?;
            let lines: Vec<(usize, &str)> = flow_lines(&content).collect();
            let msgs = lines.iter().map(|&(line, text)| {
                parse_flow_line_with(text, file_command(command), accepted.names())
                    .map(|p| Message::FlowMod(p.spec.to_flow_mod()))
                    .map_err(|error| anyhow::anyhow!("{file}:{}", FlowsFileError { line, error }))
            });
            bundle_stream(&mut v, lines.len(), msgs, &mut s.xids, &s.target)?;
            String::new()
        }
        "add-flow" | "add-flows" | "mod-flows" | "del-flows" => {
            let specs = flow_specs(o, cmd, s)?;
            let fms: Vec<Message> = specs
                .iter()
                .map(|s| Message::FlowMod(s.to_flow_mod()))
                .collect();
            if o.bundle {
                bundle(&mut v, fms, &mut s.xids, &s.target)?;
            } else {
                // As ovs-ofctl: each flow mod is its own barrier-confirmed
                // transaction, and the first one the switch refuses ends the
                // command with the flows after it never sent.
                for fm in fms {
                    v.transact_noreply(vec![fm], &mut s.xids)?;
                }
            }
            String::new()
        }
        "add-group" | "mod-group" | "del-groups" | "add-groups" => {
            use ofp_codec::msg::GroupModCommand as G;
            let command = match cmd {
                "mod-group" if o.may_create => G::ADD_OR_MOD,
                "mod-group" => G::MODIFY,
                "del-groups" => G::DELETE,
                _ => G::ADD,
            };
            let arg = o.args.get(1).map(String::as_str);
            let texts: Vec<String> = if cmd == "add-groups" || arg == Some("-") {
                let file = arg.with_context(|| format!("{cmd} needs a FILE"))?;
                let text = s.accept(&read_source(file)?)?;
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from)
                    .collect()
            } else {
                vec![s.accept(arg.unwrap_or(""))?]
            };
            let msgs = texts
                .iter()
                .map(|t| groups::parse_group(t, command).map(Message::GroupMod))
                .collect::<Result<Vec<_>>>()?;
            if o.bundle {
                bundle(&mut v, msgs, &mut s.xids, &s.target)?;
            } else {
                // One barrier per group mod, as ovs-ofctl.
                for m in msgs {
                    v.transact_noreply(vec![m], &mut s.xids)?;
                }
            }
            String::new()
        }
        "add-meter" | "mod-meter" | "del-meter" | "del-meters" => {
            use ofp_codec::msg::MeterCommand as M;
            let command = match cmd {
                "mod-meter" => M::MODIFY,
                "del-meter" | "del-meters" => M::DELETE,
                _ => M::ADD,
            };
            let text = o.args.get(1).cloned().unwrap_or_default();
            let mm = groups::parse_meter(&text, command)?;
            v.transact_noreply(vec![Message::MeterMod(mm)], &mut s.xids)?;
            String::new()
        }
        "replace-flows" => {
            let file = o.args.get(1).context("replace-flows needs a FILE")?;
            let text = read_source(file)?;
            let accepted = names::Accepted::fetch(s)?;
            let wanted = flows_from_text(file, &text, accepted.names())?;
            let current = flows_from_switch(&mut v, &mut s.xids)?;
            // Table by table, as ovs-ofctl: the switch's flows missing from
            // the file are deleted, then the file's new or changed flows added.
            let mut msgs = Vec::new();
            let tables: std::collections::BTreeSet<u8> = current
                .keys()
                .chain(wanted.keys())
                .map(|k| k.table_id)
                .collect();
            for t in tables {
                let gone = current
                    .keys()
                    .filter(|k| k.table_id == t && !wanted.contains_key(*k));
                for k in fte_order(gone, &current, &wanted) {
                    msgs.push(Message::FlowMod(fte_flow_mod(k, &current[k], false)));
                }
                let here = wanted.keys().filter(|k| k.table_id == t);
                for k in fte_order(here, &wanted, &current) {
                    let ver = &wanted[k];
                    if o.readd || !current.get(k).is_some_and(|c| c.same(ver)) {
                        msgs.push(Message::FlowMod(fte_flow_mod(k, ver, true)));
                    }
                }
            }
            if o.bundle {
                bundle(&mut v, msgs, &mut s.xids, &s.target)?;
            } else {
                v.transact_noreply(msgs, &mut s.xids)?;
            }
            String::new()
        }
        "packet-out" => {
            let accepted = names::Accepted::fetch(s)?;
            let mut args = o.args[1..].to_vec();
            // The older form's IN_PORT argument is a port on its own.
            if args.len() >= 3 {
                args[0] = match args[0].as_str() {
                    "controller" | "CONTROLLER" | "none" | "NONE" => args[0].clone(),
                    p => s.port_arg(p)?.to_string(),
                };
            }
            for po in packet_out(&args, accepted.names())? {
                v.transact_noreply(vec![Message::PacketOut(po)], &mut s.xids)?;
            }
            String::new()
        }
        "monitor" => {
            monitor(&mut v, &o.args[1..], o.packet_in_format, &mut s.xids)?;
            String::new()
        }
        _ => bail!(
            "{cmd}: unknown command; rvs ofctl online commands are show, dump-desc, dump-tables, dump-table-features, dump-ports, dump-ports-desc, mod-port, dump-flows, dump-aggregate, add-flow, add-flows, mod-flows, del-flows, replace-flows, diff-flows, dump-groups, dump-group-stats, dump-group-features, add-group(s), mod-group, del-groups, dump-meters, meter-stats, meter-features, add-meter, mod-meter, del-meter(s), queue-stats, packet-out, monitor, snoop"
        ),
    })
}

/// `mod-port SWITCH PORT ACTION`, as ovs-ofctl: the port (by number or
/// name) and its hw_addr from PORT_DESC on one connection, then the
/// PORT_MOD on another.
fn mod_port(o: &Opts, s: &mut Session) -> Result<String> {
    let (Some(port), Some(action)) = (o.args.get(1), o.args.get(2)) else {
        bail!("'mod-port' command requires at least 3 arguments");
    };
    let number = port.parse::<u32>().ok();
    let mut desc = None;
    let mut v = s.open()?;
    for m in v.dump(Q::PortDesc, &mut s.xids)? {
        let (_, Message::MultipartReply(r)) =
            Message::decode(&m).map_err(|e| anyhow::anyhow!("bad port desc reply: {e:?}"))?
        else {
            continue;
        };
        if let MultipartReplyBody::PortDesc(ports) = r.body {
            desc = desc.or(ports.into_iter().find(|p| match number {
                Some(n) => p.port_no == n,
                None => p.name_str() == *port,
            }));
        }
    }
    drop(v);
    let desc = desc.with_context(|| format!("{}: couldn't find port `{port}'", s.target))?;
    let (config, mask) = port_mod_bits(action)?;
    let pm = ofp_codec::msg::PortMod {
        port_no: desc.port_no,
        hw_addr: desc.hw_addr,
        config,
        mask,
        advertise: 0,
    };
    let mut v = s.open()?;
    v.transact_noreply(vec![Message::PortMod(pm)], &mut s.xids)?;
    Ok(String::new())
}

/// A flow's identity in a table: (table, priority, match), ordered as
/// dumps list them (table, then priority from high to low).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct FteKey {
    table_id: u8,
    neg_priority: i32,
    match_text: String,
}

/// What replace-flows and diff-flows compare (OVS `fte_version_equals`:
/// cookie, timeouts, table and actions as text).
#[derive(Clone, Debug, PartialEq, Eq)]
struct FteVersion {
    cookie: u64,
    idle_timeout: u16,
    hard_timeout: u16,
    flags: u16,
    actions: String,
    match_: ofp_codec::Match,
    priority: u16,
    instructions: Vec<ofp_codec::Instruction>,
    /// Position in its source (file line order, or the switch's dump
    /// order): flows of equal table and priority keep this order.
    seq: usize,
}

impl FteVersion {
    fn same(&self, other: &FteVersion) -> bool {
        (
            self.cookie,
            self.idle_timeout,
            self.hard_timeout,
            &self.actions,
        ) == (
            other.cookie,
            other.idle_timeout,
            other.hard_timeout,
            &other.actions,
        )
    }
}

type Fte = std::collections::BTreeMap<FteKey, FteVersion>;

fn fte_key(table_id: u8, m: &ofp_codec::Match, priority: u16) -> FteKey {
    FteKey {
        table_id,
        neg_priority: -i32::from(priority),
        match_text: m.format_with_priority(priority),
    }
}

/// The flows of a flows file's `text` (`path` names it in errors).
fn flows_from_text(path: &str, text: &str, names: ofp_codec::text::Names<'_>) -> Result<Fte> {
    let parsed = parse_flows_with(text, Some(FlowCmd::Add), names)
        .map_err(|e| anyhow::anyhow!("{path}:{e}"))?;
    let mut out = Fte::new();
    for (seq, f) in parsed.flows.into_iter().enumerate() {
        let fm = f.spec.to_flow_mod();
        let table_id = if fm.table_id == 0xff { 0 } else { fm.table_id };
        out.insert(
            fte_key(table_id, &fm.match_, fm.priority),
            FteVersion {
                cookie: fm.cookie,
                idle_timeout: fm.idle_timeout,
                hard_timeout: fm.hard_timeout,
                flags: fm.flags,
                actions: format_instructions(&fm.instructions),
                match_: fm.match_.clone(),
                priority: fm.priority,
                instructions: fm.instructions.clone(),
                seq,
            },
        );
    }
    Ok(out)
}

fn flows_from_switch(v: &mut Vconn, xids: &mut Xids) -> Result<Fte> {
    let mut out = Fte::new();
    for m in v.dump(Q::Flow(FlowStatsRequest::default()), xids)? {
        let (_, msg) =
            Message::decode(&m).map_err(|e| anyhow::anyhow!("bad flow stats reply: {e:?}"))?;
        let Message::MultipartReply(r) = msg else {
            bail!("unexpected reply")
        };
        let MultipartReplyBody::Flow(flows) = r.body else {
            bail!("unexpected reply")
        };
        for fs in flows {
            let seq = out.len();
            out.insert(
                fte_key(fs.table_id, &fs.match_, fs.priority),
                FteVersion {
                    cookie: fs.cookie,
                    idle_timeout: fs.idle_timeout,
                    hard_timeout: fs.hard_timeout,
                    flags: fs.flags,
                    actions: format_instructions(&fs.instructions),
                    match_: fs.match_.clone(),
                    priority: fs.priority,
                    instructions: fs.instructions.clone(),
                    seq,
                },
            );
        }
    }
    Ok(out)
}

/// `keys` ordered as ovs-ofctl walks its flow tables: by table, then
/// priority from high to low; ties in `first`'s order, then `second`'s.
fn fte_order<'a>(
    keys: impl Iterator<Item = &'a FteKey>,
    first: &Fte,
    second: &Fte,
) -> Vec<&'a FteKey> {
    let mut keys: Vec<&FteKey> = keys.collect();
    keys.sort_by_key(|k| {
        let seq = match (first.get(*k), second.get(*k)) {
            (Some(v), _) => (0, v.seq),
            (None, Some(v)) => (1, v.seq),
            (None, None) => (2, 0),
        };
        (k.table_id, k.neg_priority, seq)
    });
    keys.dedup();
    keys
}

/// ADD of `v` (from the file), or DELETE_STRICT of `v` (the switch's flow).
fn fte_flow_mod(k: &FteKey, v: &FteVersion, add: bool) -> ofp_codec::msg::FlowMod {
    use ofp_codec::msg::{FlowMod, FlowModCommand};
    let base = FlowMod {
        table_id: k.table_id,
        priority: v.priority,
        match_: v.match_.clone(),
        ..FlowMod::default()
    };
    if add {
        FlowMod {
            cookie: v.cookie,
            command: FlowModCommand::ADD,
            idle_timeout: v.idle_timeout,
            hard_timeout: v.hard_timeout,
            flags: v.flags,
            instructions: v.instructions.clone(),
            ..base
        }
    } else {
        FlowMod {
            command: FlowModCommand::DELETE_STRICT,
            ..base
        }
    }
}

fn fte_format(k: &FteKey, v: &FteVersion) -> String {
    let mut s = String::new();
    if k.table_id != 0 {
        s.push_str(&format!("table={} ", k.table_id));
    }
    s.push_str(&k.match_text);
    if v.cookie != 0 {
        s.push_str(&format!(" cookie=0x{:x}", v.cookie));
    }
    if v.idle_timeout != 0 {
        s.push_str(&format!(" idle_timeout={}", v.idle_timeout));
    }
    if v.hard_timeout != 0 {
        s.push_str(&format!(" hard_timeout={}", v.hard_timeout));
    }
    s.push_str(" actions=");
    s.push_str(&v.actions);
    s.push('\n');
    s
}

/// `diff-flows SOURCE1 SOURCE2`: each a flows file or a switch. Prints
/// `-` lines for SOURCE1's versions and `+` lines for SOURCE2's where they
/// differ; exit status 2 when they do (as ovs-ofctl).
fn diff_flows(o: &Opts) -> Result<String> {
    let (Some(a), Some(b)) = (o.args.first(), o.args.get(1)) else {
        bail!("diff-flows needs two sources");
    };
    // The first switch read names the ports in the output (and in files
    // read after it) when names are shown, as ovs-ofctl.
    let mut shown: Option<Session> = None;
    let mut read = |src: &str| -> Result<Fte> {
        let is_file = src.starts_with('/')
            || src.starts_with('.')
            || (!src.contains(':') && std::path::Path::new(src).is_file());
        if is_file {
            let text = read_source(src)?;
            match shown.as_mut() {
                Some(sess) => flows_from_text(src, &text, names::Accepted::fetch(sess)?.names()),
                None => flows_from_text(src, &text, ofp_codec::text::Names::NONE),
            }
        } else {
            let mut sess = Session::new(src, o.rundir.clone(), o.names);
            let mut v = sess.open()?;
            let flows = flows_from_switch(&mut v, &mut sess.xids)?;
            if shown.is_none() && sess.showing() {
                shown = Some(sess);
            }
            Ok(flows)
        }
    };
    let fa = read(a)?;
    let fb = read(b)?;
    let mut out = String::new();
    for k in fte_order(fa.keys().chain(fb.keys()), &fa, &fb) {
        let (va, vb) = (fa.get(k), fb.get(k));
        if let (Some(x), Some(y)) = (va, vb)
            && x.same(y)
        {
            continue;
        }
        if let Some(x) = va {
            out.push('-');
            out.push_str(&fte_format(k, x));
        }
        if let Some(y) = vb {
            out.push('+');
            out.push_str(&fte_format(k, y));
        }
    }
    if out.is_empty() {
        return Ok(out);
    }
    if let Some(sess) = shown.as_mut() {
        out = sess.show(&out)?;
    }
    Err(Differences(out).into())
}

/// diff-flows found differences (printed on stdout, exit 2).
#[derive(Debug)]
struct Differences(String);

impl std::fmt::Display for Differences {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Differences {}

/// `packet-out SWITCH "in_port=P packet=HEX actions=A"` (OVS 2.8+ form) or
/// `packet-out SWITCH IN_PORT ACTIONS PACKET...` (the older form).
fn packet_out(args: &[String], names: ofp_codec::text::Names<'_>) -> Result<Vec<PacketOut>> {
    let (in_port, actions, packets): (&str, &str, Vec<&str>) = match args {
        [one] => {
            let mut in_port = "controller";
            let mut packet = None;
            let mut actions = None;
            let mut rest = one.as_str();
            while !rest.is_empty() {
                rest = rest.trim_start_matches([' ', ',']);
                if let Some(a) = rest.strip_prefix("actions=") {
                    actions = Some(a);
                    break;
                }
                let end = rest.find([' ', ',']).unwrap_or(rest.len());
                let (kv, tail) = rest.split_at(end);
                match kv.split_once('=') {
                    Some(("in_port", v)) => in_port = v,
                    Some(("packet", v)) => packet = Some(v),
                    _ => bail!("{kv}: unknown packet-out field"),
                }
                rest = tail;
            }
            (
                in_port,
                actions.context("packet-out needs actions=")?,
                vec![packet.context("packet-out needs packet=")?],
            )
        }
        [p, a, pkts @ ..] if !pkts.is_empty() => (
            p.as_str(),
            a.as_str(),
            pkts.iter().map(String::as_str).collect(),
        ),
        _ => bail!("usage: packet-out SWITCH \"in_port=P packet=HEX actions=A\""),
    };
    let in_port = match in_port {
        "controller" | "CONTROLLER" => ofp_codec::msg::port::OFPP_CONTROLLER,
        "none" | "NONE" => ofp_codec::msg::port::OFPP_ANY,
        p => names
            .port(p)
            .with_context(|| format!("{p} is not a valid OpenFlow port"))?,
    };
    let actions = ofp_codec::action::parse_action_list_with(actions, names)
        .map_err(|e| anyhow::anyhow!("{}", e.msg))?;
    // The older form sends one packet-out per PACKET argument.
    packets
        .iter()
        .map(|text| {
            let hex: String = text.chars().filter(|c| c.is_ascii_hexdigit()).collect();
            if !hex.len().is_multiple_of(2) || hex.is_empty() {
                bail!("packet must be hex bytes");
            }
            let data = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
                .collect::<Result<_, _>>()?;
            Ok(PacketOut {
                buffer_id: 0xffff_ffff,
                in_port,
                actions: actions.clone(),
                data,
            })
        })
        .collect()
}

/// `monitor SWITCH [MISS_LEN] [resume]`: sets `miss_send_len` (so the
/// connection receives asynchronous messages) and prints every message the
/// switch sends, as ovs-ofctl does, until the connection closes.
/// Packet-ins: with `-P FORMAT` that format is set (an error from the
/// switch is fatal); otherwise `nxt_packet_in2` is asked for and a refusal
/// ignored, as ovs-ofctl does on OpenFlow 1.3. `resume` (ovs-ofctl's
/// undocumented test option) sets `miss_send_len` to 65535 and answers
/// every packet-in that has a continuation with `NXT_RESUME` (xid 0),
/// printed on stderr after `send: `.
fn monitor(
    v: &mut Vconn,
    args: &[String],
    format: Option<PacketInFormat>,
    xids: &mut Xids,
) -> Result<()> {
    let mut miss_len = None;
    let mut resume = false;
    for a in args {
        if a.starts_with(|c: char| c.is_ascii_digit()) {
            miss_len = Some(a);
        } else if a == "resume" {
            resume = true;
        } else {
            bail!("{a}: unsupported \"monitor\" argument");
        }
    }
    let miss_send_len: u16 = match (miss_len, resume) {
        (_, true) => u16::MAX,
        (Some(m), false) => m.parse().with_context(|| format!("{m}: bad miss length"))?,
        (None, false) => 0,
    };
    if miss_len.is_some() || resume {
        let reply = v.transact(Message::GetConfigRequest, xids)?;
        let flags = u16::from_be_bytes([reply[8], reply[9]]);
        let cfg = ofp_codec::msg::SwitchConfig {
            flags,
            miss_send_len,
        };
        v.send(&Message::SetConfig(cfg).encode(xids.next()))?;
    }
    let preferred = format.unwrap_or(PacketInFormat::NXT_PACKET_IN2);
    let set = v.transact_noreply(vec![Message::SetPacketInFormat(preferred)], xids);
    if format.is_some() {
        set?;
    } else if let Err(e) = set
        && e.downcast_ref::<SwitchError>().is_none()
    {
        return Err(e);
    }
    let stdout = std::io::stdout();
    loop {
        let m = match v.recv() {
            Ok(m) => m,
            Err(_) => return Ok(()),
        };
        if m[1] == 2 {
            let mut reply = m.clone();
            reply[1] = 3;
            v.send(&reply)?;
            continue;
        }
        let mut out = stdout.lock();
        write!(out, "{}", ofp_to_string(&m, 2))?;
        out.flush()?;
        drop(out);
        if resume
            && let Ok((_, Message::PacketIn2(p))) = Message::decode(&m)
            && !p.continuation.is_empty()
        {
            let reply = Message::Resume(ofp_codec::msg::resume::resume_for(&p)).encode(0);
            eprint!("send: {}", ofp_to_string(&reply, 2));
            v.send(&reply)?;
        }
    }
}

/// Sends `msgs` as one atomic, ordered bundle, as ovs-ofctl's
/// `bundle_transact`: the messages get their xids first, then OPEN, one
/// BUNDLE_ADD per message (with the message's xid), a barrier, and COMMIT
/// if the switch reported no error so far, else DISCARD. Errors are printed
/// on stderr as `Error NAME for: REQUEST`; any error fails the command
/// (`talking to SWITCH (Protocol error)`).
fn bundle(v: &mut Vconn, msgs: Vec<Message>, xids: &mut Xids, target: &str) -> Result<()> {
    let n = msgs.len();
    bundle_stream(v, n, msgs.into_iter().map(Ok), xids, target)
}

/// [`bundle`] for `n` messages made while they are sent (a flows file
/// parsed line by line as its BUNDLE_ADDs go out, so that parsing overlaps
/// the switch's work). The xids are ovs-ofctl's: the messages' come first.
/// A message that cannot be made ends the command with its error; the
/// bundle left open is discarded by the switch when the connection closes,
/// so the switch ends as if nothing had been sent, as with ovs-ofctl, which
/// parses the whole file before it connects.
fn bundle_stream(
    v: &mut Vconn,
    n: usize,
    msgs: impl Iterator<Item = Result<Message>>,
    xids: &mut Xids,
    target: &str,
) -> Result<()> {
    let flags = OFPBF_ORDERED | OFPBF_ATOMIC;
    let ctrl = |t| {
        Message::BundleControl(BundleControl {
            bundle_id: 0,
            ctrl_type: t,
            flags,
            properties: Vec::new(),
        })
    };
    let first_xid = xids.0.wrapping_add(1);
    xids.0 = xids.0.wrapping_add(n as u32);
    let mut requests: Vec<Vec<u8>> = Vec::with_capacity(n);
    let mut sent: Vec<Vec<u8>> = Vec::new();
    let mut errors: Vec<Vec<u8>> = Vec::new();
    // Sends `bytes` and waits for the reply with its xid, collecting errors.
    let mut exchange = |v: &mut Vconn, bytes: Vec<u8>, errors: &mut Vec<Vec<u8>>| -> Result<()> {
        let xid = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        v.send(&bytes)?;
        sent.push(bytes);
        loop {
            let m = v.recv()?;
            let this = u32::from_be_bytes([m[4], m[5], m[6], m[7]]);
            match m[1] {
                1 => {
                    let done = this == xid;
                    errors.push(m);
                    if done {
                        return Ok(());
                    }
                }
                2 => {
                    let mut reply = m.clone();
                    reply[1] = 3;
                    v.send(&reply)?;
                }
                _ if this == xid => return Ok(()),
                _ => {}
            }
        }
    };
    exchange(
        v,
        ctrl(BundleCtrlType::OPEN_REQUEST)
            .encode(xids.next())
            .to_vec(),
        &mut errors,
    )?;
    for (i, m) in msgs.take(n).enumerate() {
        let xid = first_xid.wrapping_add(i as u32);
        let r = m?.encode(xid).to_vec();
        let add = BundleAdd {
            bundle_id: 0,
            flags,
            message: r.clone(),
            properties: Vec::new(),
        };
        v.queue(&Message::BundleAdd(add).encode(xid))?;
        requests.push(r);
    }
    exchange(
        v,
        Message::BarrierRequest.encode(xids.next()).to_vec(),
        &mut errors,
    )?;
    let last = if errors.is_empty() {
        BundleCtrlType::COMMIT_REQUEST
    } else {
        BundleCtrlType::DISCARD_REQUEST
    };
    exchange(v, ctrl(last).encode(xids.next()).to_vec(), &mut errors)?;
    if errors.is_empty() {
        return Ok(());
    }
    // Each error with the request it names (its xid), as ovs-ofctl prints it.
    let mut text = String::new();
    for e in &errors {
        let name = match Message::decode(e) {
            Ok((_, Message::Error(em))) => ofp_codec::action::error_name(em.error),
            _ => "***decode error***".to_string(),
        };
        let request = requests
            .iter()
            .chain(sent.iter())
            .find(|r| r[4..8] == e[4..8])
            .map_or_else(|| e[12.min(e.len())..].to_vec(), Clone::clone);
        text.push_str(&format!("Error {name} for: {}", ofp_to_string(&request, 1)));
    }
    text.push_str(&format!("rvs ofctl: talking to {target} (Protocol error)"));
    Err(Printed(text).into())
}

/// Runs one online command given as `[CMD, ARGS...]`.
pub fn run(argv: &[String]) -> ExitCode {
    let r = parse_opts(argv).and_then(|mut o| {
        if o.args.is_empty() {
            bail!("missing command name; use --help for help");
        }
        let cmd = o.args.remove(0);
        run_cmd(&cmd, &o)
    });
    match r {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            if let Some(d) = e.downcast_ref::<Differences>() {
                print!("{}", d.0);
                return ExitCode::from(2);
            }
            if let Some(p) = e.downcast_ref::<Printed>() {
                eprintln!("{}", p.0);
            } else if let Some(se) = e.downcast_ref::<SwitchError>() {
                eprintln!("{se}");
            } else {
                eprintln!("rvs ofctl: {e:#}");
            }
            ExitCode::from(1)
        }
    }
}
