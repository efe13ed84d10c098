//! `rvs ofctl CMD SWITCH ...`: the `ovs-ofctl` commands that talk to a
//! switch (rvs, or any OpenFlow 1.3 switch such as ovs-vswitchd).
//!
//! SWITCH is `unix:PATH`, `tcp:IP[:PORT]`, a socket path, or a bridge name
//! `BRIDGE`, which means `RUNDIR/BRIDGE.mgmt` with RUNDIR from `--rundir`,
//! `RVS_RUNDIR` or `/var/run/rvs`.
//!
//! Done: `show`, `dump-desc`, `dump-tables`, `dump-table-features`,
//! `dump-ports [PORT]`, `dump-ports-desc`, `dump-flows [FLOW]` (with
//! `--no-stats`), `dump-aggregate [FLOW]`, `add-flow`, `add-flows FILE`,
//! `mod-flows`, `del-flows [FLOW]` (with `--strict`), `dump-groups`,
//! `dump-group-stats`, `dump-meters`, `packet-out`, `monitor [MISS_LEN]`
//! (with `-P`/`--packet-in-format`),
//! `replace-flows SWITCH FILE`, `diff-flows SOURCE SOURCE`, `add-group`,
//! `add-groups FILE`, `mod-group`, `del-groups [GROUP]`, `add-meter`,
//! `mod-meter`, `del-meter(s) [METER]`, `mod-port SWITCH PORT ACTION`,
//! and `--bundle` for `add-flow(s)`.
//! Replies are printed by ofp-codec's `ovs-ofctl ofp-print` printer, so the
//! text is what `ovs-ofctl -O OpenFlow13` prints for the same replies;
//! flow lines are formatted as OVS's `ofputil_flow_stats_format`.
//!
//! `--sort`/`--rsort` sort `dump-flows` by priority, as ovs-ofctl's
//! default sort key (other sort fields are refused).
//!
//! Not done: `--names` (port names are never substituted),
//! `dump-meter-stats`; `dump-table-features` prints each reply
//! message on its own where ovs-ofctl merges them; message xids differ
//! from ovs-ofctl's where ovs-ofctl sends extra requests first.

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
use ofp_codec::text::flow_mod::{Command as FlowCmd, FlowSpec, parse_flow_mod};
use ofp_codec::text::flows_file::parse_flows;

use crate::daemon::config::rundir_from;

mod groups;

/// Options given after the command.
#[derive(Debug, Default)]
struct Opts {
    no_stats: bool,
    strict: bool,
    bundle: bool,
    /// `--sort` (ascending) or `--rsort` (descending), by priority.
    sort: Option<bool>,
    /// `-P FORMAT` / `--packet-in-format=FORMAT` for `monitor`.
    packet_in_format: Option<PacketInFormat>,
    rundir: Option<PathBuf>,
    args: Vec<String>,
}

fn parse_opts(argv: &[String]) -> Result<Opts> {
    let mut o = Opts::default();
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--no-stats" => o.no_stats = true,
            "--strict" => o.strict = true,
            "--bundle" => o.bundle = true,
            "--names" | "--no-names" | "--read-only" => {}
            "--sort" | "--sort=priority" => o.sort = Some(true),
            "--rsort" | "--rsort=priority" => o.sort = Some(false),
            s if s.starts_with("--sort=") || s.starts_with("--rsort=") => {
                bail!("{s}: rvs ofctl sorts by priority only")
            }
            "--rundir" => o.rundir = Some(it.next().context("--rundir needs a directory")?.into()),
            "-P" | "--packet-in-format" => {
                let f = it.next().context("-P needs a packet-in format")?;
                o.packet_in_format = Some(packet_in_format(f)?);
            }
            s if s.starts_with("--packet-in-format=") => {
                o.packet_in_format = Some(packet_in_format(&s["--packet-in-format=".len()..])?);
            }
            s if s.starts_with("--rundir=") => o.rundir = Some(s["--rundir=".len()..].into()),
            s if s.starts_with("-O") || s.starts_with("--protocols") => {
                if s == "-O" || s == "--protocols" {
                    it.next();
                }
            }
            s if s.starts_with("--") => bail!("{s}: option not supported by rvs ofctl"),
            _ => o.args.push(a.clone()),
        }
    }
    Ok(o)
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
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// One OpenFlow 1.3 connection with ovs-ofctl's xid numbering.
struct Vconn {
    s: Stream,
    buf: Vec<u8>,
}

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

    fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.s.io().write_all(bytes)?;
        Ok(())
    }

    fn recv(&mut self) -> Result<Vec<u8>> {
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
        let xid = xids.next();
        self.send(&Message::MultipartRequest(MultipartRequest { flags: 0, body }).encode(xid))?;
        let mut out = Vec::new();
        loop {
            let m = self.recv_reply(xid)?;
            if m[1] == 1 {
                return Err(SwitchError(m).into());
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
            self.send(&m.encode(xid))?;
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

fn flow_request(o: &Opts, idx: usize) -> Result<FlowStatsRequest> {
    let Some(text) = o.args.get(idx) else {
        return Ok(FlowStatsRequest::default());
    };
    let spec = parse_flow_mod(text, FlowCmd::Delete).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(FlowStatsRequest {
        table_id: spec.wire_table_id(),
        out_port: spec.out_port,
        out_group: spec.out_group,
        cookie: spec.cookie,
        cookie_mask: spec.cookie_mask,
        match_: spec.flow_match.clone(),
    })
}

fn flow_specs(o: &Opts, cmd: &str) -> Result<Vec<FlowSpec>> {
    let text = o
        .args
        .get(1)
        .with_context(|| format!("{cmd} needs a flow"))?;
    let command = match (cmd, o.strict) {
        ("add-flow", _) => FlowCmd::Add,
        ("mod-flows", false) => FlowCmd::Modify,
        ("mod-flows", true) => FlowCmd::ModifyStrict,
        ("del-flows", false) => FlowCmd::Delete,
        ("del-flows", true) => FlowCmd::DeleteStrict,
        ("add-flows", _) => {
            let content = if text == "-" {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s)?;
                s
            } else {
                std::fs::read_to_string(text).with_context(|| format!("{text}: cannot read"))?
            };
            let parsed = parse_flows(&content, Some(FlowCmd::Add))
                .map_err(|e| anyhow::anyhow!("{text}: {e:?}"))?;
            return Ok(parsed.flows.into_iter().map(|f| f.spec).collect());
        }
        _ => bail!("{cmd}: unknown flow command"),
    };
    let spec = parse_flow_mod(text, command).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(vec![spec])
}

fn run_cmd(cmd: &str, o: &Opts) -> Result<String> {
    if cmd == "diff-flows" {
        return diff_flows(o);
    }
    let target = o
        .args
        .first()
        .with_context(|| format!("{cmd} needs a SWITCH argument"))?;
    let rundir = o.rundir.as_deref();
    let mut xids = Xids(0);
    let mut v = Vconn::open(target, rundir, &mut xids)?;
    let port_arg = |i: usize| -> Result<u32> {
        match o.args.get(i) {
            None => Ok(0xffff_ffff),
            Some(p) => {
                ofp_codec::text::flow_mod::parse_port(p).with_context(|| format!("{p}: bad port"))
            }
        }
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
            let mut out = ofp_to_string(&v.transact(Message::FeaturesRequest, &mut xids)?, 1);
            out.push_str(&print_all(&v.dump(Q::PortDesc, &mut xids)?));
            // ovs-ofctl reads the config on a second connection.
            let mut v2 = Vconn::open(target, rundir, &mut xids)?;
            out.push_str(&ofp_to_string(
                &v2.transact(Message::GetConfigRequest, &mut xids)?,
                1,
            ));
            out
        }
        "dump-desc" => print_all(&v.dump(Q::Desc, &mut xids)?),
        "dump-tables" => print_all(&v.dump(Q::Table, &mut xids)?),
        "dump-table-features" => print_all(&v.dump(Q::TableFeatures(Vec::new()), &mut xids)?),
        "dump-ports" => print_all(&v.dump(Q::PortStats(port_arg(1)?), &mut xids)?),
        "dump-ports-desc" => print_all(&v.dump(Q::PortDesc, &mut xids)?),
        "dump-aggregate" => print_all(&v.dump(Q::Aggregate(flow_request(o, 1)?), &mut xids)?),
        "dump-groups" => print_all(&v.dump(Q::GroupDesc, &mut xids)?),
        "dump-group-stats" => print_all(&v.dump(Q::Group(id_arg(1)?), &mut xids)?),
        "dump-meters" => print_all(&v.dump(Q::MeterConfig(id_arg(1)?), &mut xids)?),
        "dump-flows" => {
            let replies = v.dump(Q::Flow(flow_request(o, 1)?), &mut xids)?;
            let mut out = String::new();
            if let Some(ascending) = o.sort {
                // As ovs-ofctl: every flow of every reply, sorted, no header.
                let mut all: Vec<FlowStats> = Vec::new();
                for m in &replies {
                    if let Ok((_, Message::MultipartReply(r))) = Message::decode(m)
                        && let MultipartReplyBody::Flow(flows) = r.body
                    {
                        all.extend(flows);
                    }
                }
                all.sort_by(|a, b| {
                    if ascending {
                        a.priority.cmp(&b.priority)
                    } else {
                        b.priority.cmp(&a.priority)
                    }
                });
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
        "add-flow" | "add-flows" | "mod-flows" | "del-flows" => {
            let specs = if cmd == "del-flows" && o.args.len() < 2 {
                vec![parse_flow_mod("", FlowCmd::Delete).map_err(|e| anyhow::anyhow!("{e}"))?]
            } else {
                flow_specs(o, cmd)?
            };
            let fms: Vec<Message> = specs
                .iter()
                .map(|s| Message::FlowMod(s.to_flow_mod()))
                .collect();
            if o.bundle {
                bundle(&mut v, fms, &mut xids)?;
            } else {
                v.transact_noreply(fms, &mut xids)?;
            }
            String::new()
        }
        "add-group" | "mod-group" | "del-groups" | "add-groups" => {
            use ofp_codec::msg::GroupModCommand as G;
            let command = match cmd {
                "mod-group" => G::MODIFY,
                "del-groups" => G::DELETE,
                _ => G::ADD,
            };
            let texts: Vec<String> = if cmd == "add-groups" {
                let file = o.args.get(1).context("add-groups needs a FILE")?;
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("{file}: open failed"))?;
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from)
                    .collect()
            } else {
                vec![o.args.get(1).cloned().unwrap_or_default()]
            };
            let msgs = texts
                .iter()
                .map(|t| groups::parse_group(t, command).map(Message::GroupMod))
                .collect::<Result<Vec<_>>>()?;
            v.transact_noreply(msgs, &mut xids)?;
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
            v.transact_noreply(vec![Message::MeterMod(mm)], &mut xids)?;
            String::new()
        }
        "mod-port" => {
            let (Some(port), Some(action)) = (o.args.get(1), o.args.get(2)) else {
                bail!("usage: mod-port SWITCH PORT ACTION");
            };
            // The port's current hw_addr comes from PORT_DESC (by number or name).
            let mut desc = None;
            for m in v.dump(Q::PortDesc, &mut xids)? {
                let (_, Message::MultipartReply(r)) = Message::decode(&m)
                    .map_err(|e| anyhow::anyhow!("bad port desc reply: {e:?}"))?
                else {
                    continue;
                };
                if let MultipartReplyBody::PortDesc(ports) = r.body {
                    desc = desc.or(ports
                        .into_iter()
                        .find(|p| p.port_no.to_string() == *port || p.name_str() == *port));
                }
            }
            let desc = desc.with_context(|| format!("{port}: couldn't find port"))?;
            let (bit, set) = match action.as_str() {
                "up" => (1, false),
                "down" => (1, true),
                "receive" => (1 << 2, false),
                "no-receive" => (1 << 2, true),
                "forward" => (1 << 5, false),
                "no-forward" => (1 << 5, true),
                "packet-in" => (1 << 6, false),
                "no-packet-in" => (1 << 6, true),
                "flood" => (1 << 3, false),
                "no-flood" => (1 << 3, true),
                a => bail!("{a}: unknown mod-port command"),
            };
            let pm = ofp_codec::msg::PortMod {
                port_no: desc.port_no,
                hw_addr: desc.hw_addr,
                config: if set { bit } else { 0 },
                mask: bit,
                advertise: 0,
            };
            v.transact_noreply(vec![Message::PortMod(pm)], &mut xids)?;
            String::new()
        }
        "replace-flows" => {
            let file = o.args.get(1).context("replace-flows needs a FILE")?;
            let wanted = flows_from_file(file)?;
            let current = flows_from_switch(&mut v, &mut xids)?;
            let mut msgs = Vec::new();
            for (k, ver) in current.iter().filter(|(k, _)| !wanted.contains_key(k)) {
                msgs.push(Message::FlowMod(fte_flow_mod(k, ver, false)));
            }
            for (k, ver) in &wanted {
                if !current.get(k).is_some_and(|c| c.same(ver)) {
                    msgs.push(Message::FlowMod(fte_flow_mod(k, ver, true)));
                }
            }
            if o.bundle {
                bundle(&mut v, msgs, &mut xids)?;
            } else {
                v.transact_noreply(msgs, &mut xids)?;
            }
            String::new()
        }
        "packet-out" => {
            let po = packet_out(&o.args[1..])?;
            v.transact_noreply(vec![Message::PacketOut(po)], &mut xids)?;
            String::new()
        }
        "monitor" => {
            monitor(&mut v, o.args.get(1), o.packet_in_format, &mut xids)?;
            String::new()
        }
        _ => bail!(
            "{cmd}: unknown command; rvs ofctl online commands are show, dump-desc, dump-tables, dump-table-features, dump-ports, dump-ports-desc, dump-flows, dump-aggregate, add-flow, add-flows, mod-flows, del-flows, dump-groups, dump-group-stats, dump-meters, packet-out, monitor, replace-flows, diff-flows, add-group(s), mod-group, del-groups, add-meter, mod-meter, del-meter(s)"
        ),
    })
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

fn flows_from_file(path: &str) -> Result<Fte> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{path}: open failed"))?;
    let parsed =
        parse_flows(&text, Some(FlowCmd::Add)).map_err(|e| anyhow::anyhow!("{path}: {e:?}"))?;
    let mut out = Fte::new();
    for f in parsed.flows {
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
                },
            );
        }
    }
    Ok(out)
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
    let read = |src: &str| -> Result<Fte> {
        let is_file = src.starts_with('/')
            || src.starts_with('.')
            || (!src.contains(':') && std::path::Path::new(src).is_file());
        if is_file {
            flows_from_file(src)
        } else {
            let mut xids = Xids(0);
            let mut v = Vconn::open(src, o.rundir.as_deref(), &mut xids)?;
            flows_from_switch(&mut v, &mut xids)
        }
    };
    let (fa, fb) = (read(a)?, read(b)?);
    let keys: std::collections::BTreeSet<&FteKey> = fa.keys().chain(fb.keys()).collect();
    let mut out = String::new();
    for k in keys {
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
        Ok(out)
    } else {
        Err(Differences(out).into())
    }
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
fn packet_out(args: &[String]) -> Result<PacketOut> {
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
        p => {
            ofp_codec::text::flow_mod::parse_port(p).with_context(|| format!("{p}: bad in_port"))?
        }
    };
    let actions =
        ofp_codec::action::parse_action_list(actions).map_err(|e| anyhow::anyhow!("{}", e.msg))?;
    let hex: String = packets
        .concat()
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect();
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
        actions,
        data,
    })
}

/// `monitor SWITCH [MISS_LEN]`: sets `miss_send_len` (so the connection
/// receives asynchronous messages) and prints every message the switch
/// sends, as ovs-ofctl does, until the connection closes. Packet-ins: with
/// `-P FORMAT` that format is set (an error from the switch is fatal);
/// otherwise `nxt_packet_in2` is asked for and a refusal ignored, as
/// ovs-ofctl does on OpenFlow 1.3.
fn monitor(
    v: &mut Vconn,
    miss_len: Option<&String>,
    format: Option<PacketInFormat>,
    xids: &mut Xids,
) -> Result<()> {
    let miss_send_len: u16 = match miss_len {
        Some(m) => m.parse().with_context(|| format!("{m}: bad miss length"))?,
        None => 0,
    };
    if miss_len.is_some() {
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
    }
}

/// Sends `msgs` as one atomic, ordered bundle (open, add..., commit).
fn bundle(v: &mut Vconn, msgs: Vec<Message>, xids: &mut Xids) -> Result<()> {
    let flags = OFPBF_ORDERED | OFPBF_ATOMIC;
    let ctrl = |t| {
        Message::BundleControl(BundleControl {
            bundle_id: 0,
            ctrl_type: t,
            flags,
            properties: Vec::new(),
        })
    };
    v.transact(ctrl(BundleCtrlType::OPEN_REQUEST), xids)?;
    for m in msgs {
        let xid = xids.next();
        let add = BundleAdd {
            bundle_id: 0,
            flags,
            message: m.encode(xid).to_vec(),
            properties: Vec::new(),
        };
        v.send(&Message::BundleAdd(add).encode(xid))?;
    }
    // Errors for added messages arrive before the commit reply.
    let xid = xids.next();
    v.send(&ctrl(BundleCtrlType::COMMIT_REQUEST).encode(xid))?;
    let mut first_err = None;
    loop {
        let m = v.recv()?;
        let this = u32::from_be_bytes([m[4], m[5], m[6], m[7]]);
        if m[1] == 1 {
            first_err.get_or_insert(m.clone());
            if this == xid {
                break;
            }
        } else if this == xid {
            break;
        }
    }
    match first_err {
        Some(e) => Err(SwitchError(e).into()),
        None => Ok(()),
    }
}

/// Runs one online command given as `[CMD, ARGS...]`.
pub fn run(argv: &[String]) -> ExitCode {
    let Some((cmd, rest)) = argv.split_first() else {
        eprintln!("rvs ofctl: missing command");
        return ExitCode::from(1);
    };
    let r = parse_opts(rest).and_then(|o| run_cmd(cmd, &o));
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
            match e.downcast_ref::<SwitchError>() {
                Some(se) => eprintln!("{se}"),
                None => eprintln!("rvs ofctl: {e:#}"),
            }
            ExitCode::from(1)
        }
    }
}
