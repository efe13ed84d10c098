//! Debian's `ovs-ofctl -O OpenFlow13` against rvs and against Debian's
//! `ovs-vswitchd` (userspace datapath, `datapath_type=netdev`) built the
//! same way: the same datapath id, the same ports (veths `p1`, `p2` with
//! OpenFlow numbers 1 and 2, each switch in its own namespace so the names
//! match), the same flows, groups and meters. Every command runs against
//! both and the results (exit status, stdout, stderr) must be equal, field
//! for field, after these normalisations only:
//! - the SWITCH argument (`unix:RUNDIR/br0.mgmt`, a different temporary path
//!   per switch) is replaced by `SWITCH` where ovs-ofctl echoes it;
//! - `duration=…s` values: wall-clock ages of different processes;
//! - port MAC addresses (`addr:…`, `hw_addr=…`): each veth gets a random one;
//! - `dump-desc` values: the manufacturer/hardware/software/serial/datapath
//!   descriptions name the product, which is the point of being rvs;
//! - the `LOCAL` port (the bridge's internal port, a tap named after the
//!   bridge on both) is left out of most port listings, so that they stay
//!   comparable when rvs runs without one; [`local_port_is_listed_as_in_ovs`]
//!   compares it.
//!
//! Needs root, namespaces, ovs-ofctl and the OVS daemons; under `CI=true` a
//! missing one fails. The rvs binary is the one next to the test executable
//! (see `rvs.rs`).
//!
//! Run: `bash scripts/install-test-deps.sh` once, then
//! `cargo test -p tests --test interop_ovs_compare`; `-- --ignored` runs the tests that
//! document what rvs still lacks (each `#[ignore]` names the gap).

#[path = "../src/controllers.rs"]
#[allow(dead_code)]
mod controllers;
#[path = "../src/netns.rs"]
#[allow(dead_code)]
mod netns;
#[path = "../src/ovs_ref.rs"]
#[allow(dead_code)]
mod ovs_ref;
#[path = "../src/rvs.rs"]
#[allow(dead_code)]
mod rvs;
#[path = "../src/twins.rs"]
#[allow(dead_code)]
mod twins;

use controllers::Lan;
use ovs_ref::OvsRef;
use rvs::{Switchd, TempDir, ovs_ofctl, rvs_bin, tool_available};
use twins::Twins;

const DPID: &str = "00000000000000ab";

fn ready(test: &str) -> bool {
    twins::available(test) && controllers::on_path(test, "ping")
}

/// Which ofctl runs the commands that change a switch (see [`Pair::same_with`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Client {
    /// Debian's ovs-ofctl against both switches.
    OvsOfctl,
    /// `rvs ofctl` against rvs, ovs-ofctl against ovs-vswitchd.
    Crossed,
}

#[derive(Clone, Copy, Debug)]
enum Prog {
    Ovs,
    Rvs,
}

/// `rvs ofctl -O OpenFlow13 ARGS...`, as [`ovs_ofctl`] runs ovs-ofctl.
fn rvs_ofctl(args: &[&str]) -> std::process::Output {
    std::process::Command::new(rvs_bin())
        .args(["ofctl", "-O", "OpenFlow13"])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running rvs ofctl")
}

/// True when the command in `pre` (its first word that is not an option)
/// only reads from the switch.
fn read_only(pre: &[&str]) -> bool {
    let mut words = pre.iter().copied();
    let mut cmd = "";
    while let Some(w) = words.next() {
        if w == "-O" {
            words.next();
        } else if !w.starts_with('-') {
            cmd = w;
            break;
        }
    }
    cmd == "show"
        || cmd.starts_with("dump-")
        || matches!(
            cmd,
            "diff-flows"
                | "meter-stats"
                | "meter-features"
                | "queue-stats"
                | "queue-get-config"
                | "get-frags"
        )
}

/// rvs and OVS side by side, each on its own two-host LAN.
struct Pair {
    // Field order: switches go before their namespaces.
    rvs: Switchd,
    ovs: OvsRef,
    lan_rvs: Lan,
    lan_ovs: Lan,
    dir: TempDir,
    _rvs_tmp: TempDir,
    client: Client,
    /// Command runs compared so far (printed on drop).
    compared: std::cell::Cell<usize>,
}

impl Drop for Pair {
    fn drop(&mut self) {
        eprintln!(
            "{} ofctl runs compared ({:?})",
            self.compared.get(),
            self.client
        );
    }
}

impl Pair {
    fn start(fail_mode: &str) -> Pair {
        Pair::start_with(fail_mode, Client::OvsOfctl)
    }

    fn start_with(fail_mode: &str, client: Client) -> Pair {
        let Twins {
            rvs,
            ovs,
            lan_rvs,
            lan_ovs,
            run,
        } = Twins::start("cmp", DPID, fail_mode);
        Pair {
            rvs,
            ovs,
            lan_rvs,
            lan_ovs,
            dir: TempDir::new("cmpf"),
            _rvs_tmp: run,
            client,
            compared: std::cell::Cell::new(0),
        }
    }

    /// Writes `text` to a file in the test's directory; returns its path.
    fn file(&self, name: &str, text: &str) -> String {
        let p = self.dir.0.join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    /// Runs `ovs-ofctl -O OpenFlow13 PRE... SWITCH POST...` against both
    /// switches, normalises with `norm`, asserts equality and returns rvs's
    /// stdout. Read-only commands (see [`read_only`]) also run through `rvs
    /// ofctl` against both switches, which must print what ovs-ofctl printed
    /// (four runs, one result). Commands that change the switch run once per
    /// switch: with [`Client::OvsOfctl`] ovs-ofctl drives both; with
    /// [`Client::Crossed`] `rvs ofctl` drives rvs and ovs-ofctl drives OVS.
    fn same_with(&self, pre: &[&str], post: &[&str], norm: fn(&str) -> String) -> String {
        let one = |prog: Prog, target: &str| {
            let mut a: Vec<&str> = pre.to_vec();
            a.push(target);
            a.extend_from_slice(post);
            let o = match prog {
                Prog::Ovs => ovs_ofctl(&a),
                Prog::Rvs => rvs_ofctl(&a),
            };
            let clean = |b: &[u8]| {
                norm(
                    &String::from_utf8_lossy(b)
                        .replace(target, "SWITCH")
                        .replace("rvs ofctl: ", "ovs-ofctl: "),
                )
            };
            (o.status.code(), clean(&o.stdout), clean(&o.stderr))
        };
        let (rvs, ovs) = (self.rvs.target(), self.ovs.target());
        let what = format!("ofctl {pre:?} SWITCH {post:?}");
        if read_only(pre) {
            let r = one(Prog::Ovs, &rvs);
            let o = one(Prog::Ovs, &ovs);
            assert_eq!(r, o, "ovs-{what}: rvs (left) vs ovs-vswitchd (right)");
            let rr = one(Prog::Rvs, &rvs);
            assert_eq!(
                rr, r,
                "rvs {what} (left) vs ovs-{what} (right), against rvs"
            );
            let ro = one(Prog::Rvs, &ovs);
            assert_eq!(
                ro, o,
                "rvs {what} (left) vs ovs-{what} (right), against ovs-vswitchd"
            );
            self.compared.set(self.compared.get() + 4);
            return r.1;
        }
        let client = match self.client {
            Client::OvsOfctl => Prog::Ovs,
            Client::Crossed => Prog::Rvs,
        };
        let r = one(client, &rvs);
        let o = one(Prog::Ovs, &ovs);
        assert_eq!(
            r, o,
            "{what}: {client:?} against rvs (left) vs ovs-ofctl against ovs-vswitchd (right)"
        );
        self.compared.set(self.compared.get() + 2);
        r.1
    }

    fn same(&self, pre: &[&str], post: &[&str]) -> String {
        if pre.contains(&"diff-flows") {
            // ovs-ofctl lists flows of equal table and priority in its
            // classifier's hash order.
            return self.same_with(pre, post, |s| {
                let mut lines: Vec<&str> = s.lines().collect();
                lines.sort_unstable();
                norm_durations(&lines.join("\n"))
            });
        }
        self.same_with(pre, post, norm_durations)
    }

    /// [`Pair::same`] for replies whose entries OVS lists in hash-table
    /// order (groups): the lines after the first are compared sorted.
    fn same_sorted(&self, pre: &[&str], post: &[&str]) -> String {
        self.same_with(pre, post, |s| {
            let mut lines: Vec<&str> = s.lines().collect();
            if lines.len() > 1 {
                lines[1..].sort_unstable();
            }
            norm_durations(&lines.join("\n"))
        })
    }
}

/// Replaces the number in every `duration=NUMs` with `D`.
fn norm_durations(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("duration") {
        let key = "duration".len() + 1; // "duration=" or "duration:"
        if !rest[i..].starts_with("duration=") && !rest[i..].starts_with("duration:") {
            out.push_str(&rest[..i + key - 1]);
            rest = &rest[i + key - 1..];
            continue;
        }
        let (head, tail) = rest.split_at(i + key);
        out.push_str(head);
        let n = tail
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(tail.len());
        out.push('D');
        rest = &tail[n..];
    }
    out.push_str(rest);
    out
}

/// Replaces MAC addresses after `addr:` and `hw_addr=` with `MAC`.
fn norm_macs(s: &str) -> String {
    let mut out = norm_durations(s);
    for key in ["addr:", "hw_addr="] {
        let mut acc = String::with_capacity(out.len());
        let mut rest = out.as_str();
        while let Some(i) = rest.find(key) {
            let (head, tail) = rest.split_at(i + key.len());
            acc.push_str(head);
            let is_mac = tail.len() >= 17
                && tail.as_bytes()[..17].iter().enumerate().all(|(k, b)| {
                    if k % 3 == 2 {
                        *b == b':'
                    } else {
                        b.is_ascii_hexdigit()
                    }
                });
            if is_mac {
                acc.push_str("MAC");
                rest = &tail[17..];
            } else {
                rest = tail;
            }
        }
        acc.push_str(rest);
        out = acc;
    }
    out
}

/// [`norm_macs`] and OVS's LOCAL port left out: drops the block that starts
/// with a ` LOCAL(` line (port-desc) or `port LOCAL:` (port stats) up to the
/// next port or section line.
fn norm_ports(s: &str) -> String {
    let trailing_newline = s.ends_with('\n');
    let mut out = Vec::new();
    let mut skipping = false;
    for line in s.lines() {
        let t = line.trim_start();
        let starts_port = t.starts_with("port ")
            || t.split_once('(').is_some_and(|(n, _)| {
                !n.is_empty() && (n == "LOCAL" || n.chars().all(|c| c.is_ascii_digit()))
            });
        let section = !line.starts_with(' ');
        if t.starts_with("LOCAL(") || t.starts_with("port LOCAL:") {
            skipping = true;
            continue;
        }
        if skipping && (starts_port || section) {
            skipping = false;
        }
        if !skipping {
            out.push(line);
        }
    }
    let mut s = out.join("\n");
    if trailing_newline {
        s.push('\n');
    }
    // "OFPST_PORT reply (OF1.3) (xid=0x2): 3 ports" counts LOCAL too.
    norm_macs(&s.replace(": 3 ports", ": 2 ports"))
}

/// Keeps the field names of `dump-desc` and replaces each value by `V`.
fn norm_desc(s: &str) -> String {
    s.lines()
        .map(|l| match l.split_once(": ") {
            Some((k, _)) if !l.starts_with("OFPST_DESC") => format!("{k}: V"),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const FLOWS: &str = "\
table=0,priority=1,actions=drop
table=0,priority=10,arp,actions=NORMAL
table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1)
table=0,priority=200,in_port=1,dl_type=0x88cc,actions=drop
cookie=0x10,table=0,priority=50,tcp,nw_dst=10.0.0.0/24,tp_dst=80,actions=output:2
cookie=0x20,table=0,priority=50,udp,nw_src=10.0.0.1,tp_src=53,actions=set_field:10.0.0.9->nw_dst,output:1
table=1,priority=1,actions=drop
table=1,priority=10,in_port=1,ip,ct_state=+trk+new,actions=ct(commit),output:2
table=1,priority=10,in_port=1,ip,ct_state=+trk+est,actions=output:2
table=1,priority=10,in_port=2,ip,ct_state=+trk+est,actions=output:1
table=2,priority=5,dl_vlan=10,actions=pop_vlan,goto_table:3
table=3,idle_timeout=300,hard_timeout=600,priority=7,dl_dst=00:11:22:33:44:55,actions=push_vlan:0x8100,set_field:4196->vlan_vid,output:1
";

// ---------------------------------------------------------------- switch, ports, tables

#[test]
fn show_matches_ovs() {
    if !ready("show_matches_ovs") {
        return;
    }
    let p = Pair::start("secure");
    let out = p.same_with(&["show"], &[], norm_ports);
    assert!(out.contains(&format!("dpid:{DPID}")), "{out}");
    assert!(out.contains(" 1(p1): addr:MAC"), "{out}");
    assert!(out.contains(" 2(p2): addr:MAC"), "{out}");
}

#[test]
fn local_port_is_listed_as_in_ovs() {
    if !ready("local_port_is_listed_as_in_ovs") {
        return;
    }
    let p = Pair::start("secure");
    p.same_with(&["dump-ports-desc"], &[], norm_macs);
    p.same_with(&["show"], &[], norm_macs);
    p.same(&["dump-ports"], &["LOCAL"]);
}

#[test]
fn dump_desc_has_the_fields_of_ovs() {
    if !ready("dump_desc_has_the_fields_of_ovs") {
        return;
    }
    let p = Pair::start("secure");
    let out = p.same_with(&["dump-desc"], &[], norm_desc);
    assert!(out.contains("Manufacturer: V"), "{out}");
}

#[test]
fn dump_tables_match_ovs() {
    if !ready("dump_tables_match_ovs") {
        return;
    }
    let p = Pair::start("secure");
    p.same(&["dump-tables"], &[]);
    let f = p.file("t.flows", FLOWS);
    p.same(&["add-flows"], &[&f]);
    let t = p.same(&["dump-tables"], &[]);
    assert!(t.contains("active=6"), "{t}");
}

#[test]
#[ignore = "deliberate deviation: rvs's table features leave out the fields rvs cannot \
            match or set and OVS \
            lists: NXM in_port (16-bit), tun_metadata0..63, erspan_*, gtpu_*, nsh_* \
            (advertising them would be false; the rest is identical; rvs ofctl prints \
            what ovs-ofctl prints for either switch: see \
            dump_table_features_print_as_ovs_ofctl) (issue 7)"]
fn dump_table_features_match_ovs() {
    if !ready("dump_table_features_match_ovs") {
        return;
    }
    let p = Pair::start("secure");
    let feats = p.same(&["dump-table-features"], &[]);
    assert!(feats.lines().count() > 20, "{feats}");
}

/// `mod-table SWITCH TABLE name:NAME` (on OpenFlow 1.3 a TABLE_FEATURES
/// request resending every table, split over several messages, with one
/// name changed): accepted by rvs as by OVS, and the name shows in the
/// table headings of `dump-table-features` as in OVS's (`dump-tables` on
/// OpenFlow 1.3 shows none, on both); an empty name removes it again.
#[test]
fn mod_table_name_matches_ovs() {
    if !ready("mod_table_name_matches_ovs") {
        return;
    }
    let p = Pair::start("secure");
    let headings = |target: &str| {
        let o = std::process::Command::new("ovs-ofctl")
            .args(["-O", "OpenFlow13", "dump-table-features", target])
            .output()
            .unwrap();
        assert!(o.status.success(), "{o:?}");
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .filter(|l| l.starts_with("  table"))
            .map(String::from)
            .collect::<Vec<_>>()
    };
    p.same(&["mod-table"], &["0", "name:foo"]);
    p.same(&["mod-table"], &["3", "name:bar"]);
    p.same(&["dump-tables"], &[]);
    let h = headings(&p.rvs.target());
    assert_eq!(h, headings(&p.ovs.target()));
    assert!(h.contains(&"  table 0 (\"foo\"):".to_string()), "{h:?}");
    assert!(
        h.contains(&"  table 3 (\"bar\"): ditto".to_string()),
        "{h:?}"
    );
    p.same(&["mod-table"], &["0", "name:"]);
    let h = headings(&p.rvs.target());
    assert_eq!(h, headings(&p.ovs.target()));
    assert!(h.contains(&"  table 0:".to_string()), "{h:?}");
}

/// A queue that the port does not have: OVS answers OFPQOFC_BAD_QUEUE
/// (which ovs-ofctl prints on stdout, as a reply).
#[test]
fn queue_stats_for_a_missing_queue_fail_as_in_ovs() {
    if !ready("queue_stats_for_a_missing_queue_fail_as_in_ovs") {
        return;
    }
    let p = Pair::start("secure");
    p.same(&["queue-stats"], &["2", "0"]);
    // Every queue of a port, of every port: empty replies; a port the
    // switch lacks: OFPQOFC_BAD_PORT; a queue on every port: BAD_QUEUE.
    p.same(&["queue-stats"], &[]);
    p.same(&["queue-stats"], &["2"]);
    p.same(&["queue-stats"], &["LOCAL", "all"]);
    p.same(&["queue-stats"], &["9"]);
    p.same(&["queue-stats"], &["all", "1"]);
}

/// `rvs ofctl dump-table-features` prints what ovs-ofctl prints, against
/// each switch: one listing over all reply messages, identical tables
/// collapsed into `ditto` runs across message boundaries.
#[test]
fn dump_table_features_print_as_ovs_ofctl() {
    if !ready("dump_table_features_print_as_ovs_ofctl") {
        return;
    }
    let p = Pair::start("secure");
    for target in [p.rvs.target(), p.ovs.target()] {
        let ours = rvs_ofctl(&["dump-table-features", &target]);
        let theirs = ovs_ofctl(&["dump-table-features", &target]);
        let text = |o: &std::process::Output| {
            (
                o.status.code(),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        };
        assert_eq!(text(&ours), text(&theirs), "against {target}");
        let out = text(&ours).1;
        assert!(out.contains("  tables 1...252: ditto\n"), "{out}");
        assert!(out.contains("  table 253:\n"), "{out}");
        p.compared.set(p.compared.get() + 2);
    }
}

/// `queue-get-config`: neither switch has queues (no QoS), so every port
/// answers an empty list; a port the switch lacks is OFPQOFC_BAD_PORT, a
/// reserved one too (OpenFlow 1.3's request names no queue: QUEUE changes
/// nothing).
#[test]
fn queue_get_config_matches_ovs() {
    if !ready("queue_get_config_matches_ovs") {
        return;
    }
    let p = Pair::start("secure");
    let all = p.same(&["queue-get-config"], &[]);
    assert!(all.contains("OFPT_QUEUE_GET_CONFIG_REPLY"), "{all}");
    p.same(&["queue-get-config"], &["1"]);
    p.same(&["queue-get-config"], &["p2", "5"]);
    p.same(&["queue-get-config"], &["any", "all"]);
    let bad = p.same(&["queue-get-config"], &["9"]);
    assert!(bad.contains("OFPQOFC_BAD_PORT"), "{bad}");
    p.same(&["queue-get-config"], &["LOCAL"]);
}

/// `get-frags`/`set-frags` with each client: both switches start in
/// "normal"; setting it again sends nothing; "reassemble" is refused by
/// both (ovs-vswitchd's datapath has no reassembly mode, rvs has only
/// "normal"); an unknown mode fails in the client.
#[test]
fn frags_match_ovs() {
    frags_match_ovs_with(Client::OvsOfctl);
}

#[test]
fn frags_match_ovs_rvs_ofctl() {
    frags_match_ovs_with(Client::Crossed);
}

fn frags_match_ovs_with(client: Client) {
    if !ready("frags_match_ovs") {
        return;
    }
    let p = Pair::start_with("secure", client);
    assert_eq!(p.same(&["get-frags"], &[]), "normal\n");
    p.same(&["set-frags"], &["normal"]);
    p.same(&["set-frags"], &["NORMAL"]);
    p.same(&["set-frags"], &["bogus"]);
    p.same(&["set-frags"], &["reassemble"]);
    assert_eq!(p.same(&["get-frags"], &[]), "normal\n");
}

/// A fragment mode rvs's pipeline lacks: ovs-vswitchd switches to "drop"
/// (and "nx-match"), rvs keeps "normal", so set-frags reports the failure
/// against rvs; rvs ofctl prints what ovs-ofctl prints against either.
#[test]
fn frags_drop_is_refused_by_rvs_only() {
    if !ready("frags_drop_is_refused_by_rvs_only") {
        return;
    }
    let p = Pair::start("secure");
    let run = |prog: Prog, target: &str, args: &[&str]| {
        let mut a = vec![args[0], target];
        a.extend_from_slice(&args[1..]);
        let o = match prog {
            Prog::Ovs => ovs_ofctl(&a),
            Prog::Rvs => rvs_ofctl(&a),
        };
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).replace("rvs ofctl: ", "ovs-ofctl: "),
        )
    };
    for (target, took) in [(p.rvs.target(), false), (p.ovs.target(), true)] {
        for mode in ["drop", "nx-match"] {
            let theirs = run(Prog::Ovs, &target, &["set-frags", mode]);
            assert_eq!(theirs.0, Some(if took { 0 } else { 1 }), "{theirs:?}");
            if !took {
                assert!(theirs.2.contains("setting fragment handling mode failed"));
            }
            // Back to normal, then the same through rvs ofctl.
            run(Prog::Ovs, &target, &["set-frags", "normal"]);
            let ours = run(Prog::Rvs, &target, &["set-frags", mode]);
            assert_eq!(ours, theirs, "set-frags {mode} against {target}");
            let got = run(Prog::Rvs, &target, &["get-frags"]);
            assert_eq!(got, run(Prog::Ovs, &target, &["get-frags"]));
            let want = if took { mode } else { "normal" };
            assert_eq!(got.1, format!("{want}\n"));
            run(Prog::Ovs, &target, &["set-frags", "normal"]);
        }
    }
}

/// `mod-table` on OpenFlow 1.3: settings of other versions and malformed
/// ones fail in the client, as ovs-ofctl's. `name:NAME` is sent (TABLE_FEATURES
/// repeating every table, renamed, over several messages): both switches
/// rename the table (see also `mod_table_name_matches_ovs`); rvs ofctl
/// does what ovs-ofctl does against either.
#[test]
fn mod_table_matches_ovs() {
    if !ready("mod_table_matches_ovs") {
        return;
    }
    let p = Pair::start_with("secure", Client::Crossed);
    for args in [
        &["0", "drop"][..],
        &["0", "controller"],
        &["all", "continue"],
        &["254", "continue"],
        &["0", "evict"],
        &["0", "noevict"],
        &["0", "novacancy"],
        &["0", "vacancy:10,50"],
        &["0", "vac:10,50"],
        &["0", "vacancy:50,10"],
        &["0", "vacancy:10"],
        &["0", "vacancy:x,10"],
        &["0", "vacancy"],
        &["0", "bogus"],
        &["all", "name:x"],
        &["nosuch", "name:x"],
    ] {
        p.same(&["mod-table"], args);
    }
    for (target, renames) in [(p.rvs.target(), true), (p.ovs.target(), true)] {
        let mut results = Vec::new();
        for (prog, table, name) in [(Prog::Ovs, "3", "three"), (Prog::Rvs, "4", "four")] {
            let a = ["mod-table", &target, table, &format!("name:{name}")];
            let o = match prog {
                Prog::Ovs => ovs_ofctl(&a),
                Prog::Rvs => rvs_ofctl(&a),
            };
            results.push((
                o.status.code(),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            ));
        }
        assert_eq!(
            results[0], results[1],
            "ovs-ofctl (left) vs rvs ofctl, against {target}"
        );
        let feats = String::from_utf8_lossy(&ovs_ofctl(&["dump-table-features", &target]).stdout)
            .into_owned();
        assert_eq!(
            results[0].0,
            Some(if renames { 0 } else { 1 }),
            "{results:?}"
        );
        assert_eq!(feats.contains("\"three\""), renames, "{feats}");
        assert_eq!(feats.contains("\"four\""), renames, "{feats}");
        if !renames {
            assert!(results[0].2.contains("OFPTFFC_EPERM"), "{results:?}");
        }
        p.compared.set(p.compared.get() + 2);
    }
}

#[test]
fn dump_ports_and_ports_desc_match_ovs() {
    dump_ports_and_ports_desc_match_ovs_with(Client::OvsOfctl);
}

#[test]
fn dump_ports_and_ports_desc_match_ovs_through_rvs_ofctl() {
    dump_ports_and_ports_desc_match_ovs_with(Client::Crossed);
}

fn dump_ports_and_ports_desc_match_ovs_with(client: Client) {
    if !ready("dump_ports_and_ports_desc_match_ovs") {
        return;
    }
    let p = Pair::start_with("secure", client);
    let d = p.same_with(&["dump-ports-desc"], &[], norm_ports);
    assert!(d.contains(" 1(p1): addr:MAC"), "{d}");
    p.same_with(&["dump-ports-desc"], &["2"], norm_ports);
    let s = p.same_with(&["dump-ports"], &[], norm_ports);
    assert!(s.contains("port  1: rx pkts=0"), "{s}");
    p.same_with(&["dump-ports"], &["1"], norm_ports);
    p.same_with(&["dump-ports"], &["7"], norm_ports);
    p.same(&["queue-stats"], &[]);
    p.same(&["queue-stats"], &["p1"]);
    p.same(&["queue-stats"], &["1", "all"]);
    p.same(&["queue-stats"], &["p9"]);
    p.same(&["mod-port"], &["p2", "no-flood"]);
    p.same_with(&["dump-ports-desc"], &["2"], norm_ports);
    p.same(&["mod-port"], &["p9", "up"]);
}

#[test]
fn mod_port_config_bits_match_ovs() {
    mod_port_config_bits_match_ovs_with(Client::OvsOfctl);
}

#[test]
fn mod_port_config_bits_match_ovs_through_rvs_ofctl() {
    mod_port_config_bits_match_ovs_with(Client::Crossed);
}

fn mod_port_config_bits_match_ovs_with(client: Client) {
    if !ready("mod_port_config_bits_match_ovs") {
        return;
    }
    let p = Pair::start_with("secure", client);
    p.same(&["mod-port"], &["p2", "no-forward"]);
    p.same(&["mod-port"], &["p2", "no-packet-in"]);
    let d = p.same_with(&["dump-ports-desc"], &[], norm_ports);
    assert!(d.contains("NO_FWD NO_PACKET_IN"), "{d}");
    p.same(&["mod-port"], &["p2", "forward"]);
    p.same_with(&["dump-ports-desc"], &[], norm_ports);
}

#[test]
fn mod_port_down_reports_link_down_as_ovs() {
    mod_port_down_reports_link_down_as_ovs_with(Client::OvsOfctl);
}

#[test]
fn mod_port_down_reports_link_down_as_ovs_through_rvs_ofctl() {
    mod_port_down_reports_link_down_as_ovs_with(Client::Crossed);
}

fn mod_port_down_reports_link_down_as_ovs_with(client: Client) {
    if !ready("mod_port_down_reports_link_down_as_ovs") {
        return;
    }
    let p = Pair::start_with("secure", client);
    p.same(&["mod-port"], &["p2", "down"]);
    let d = p.same_with(&["dump-ports-desc"], &[], norm_ports);
    assert!(d.contains("PORT_DOWN"), "{d}");
    p.same(&["mod-port"], &["p2", "up"]);
    p.same_with(&["dump-ports-desc"], &[], norm_ports);
}

// ---------------------------------------------------------------- flows

#[test]
fn flow_commands_match_ovs() {
    flow_commands_match_ovs_with(Client::OvsOfctl);
}

#[test]
fn flow_commands_match_ovs_through_rvs_ofctl() {
    flow_commands_match_ovs_with(Client::Crossed);
}

fn flow_commands_match_ovs_with(client: Client) {
    if !ready("flow_commands_match_ovs") {
        return;
    }
    let p = Pair::start_with("secure", client);
    let f = p.file("t.flows", FLOWS);
    p.same(&["add-flows"], &[&f]);
    let all = p.same(&["dump-flows"], &[]);
    assert_eq!(all.lines().count(), 1 + 12, "{all}");
    assert!(all.contains("duration=D"), "{all}");
    p.same(&["dump-flows", "--no-stats"], &[]);
    for filter in [
        "table=1",
        "in_port=1",
        "ip",
        "tcp,nw_dst=10.0.0.0/24",
        "cookie=0x10/-1",
        "cookie=0x20/0xf0",
        "out_port=2",
        "table=1,out_port=1",
        "priority=10,ip",
        "dl_vlan=10",
    ] {
        p.same(&["dump-flows", "--no-stats"], &[filter]);
        p.same(&["dump-flows", "--no-stats", "--strict"], &[filter]);
        p.same(&["dump-aggregate"], &[filter]);
    }
    p.same(&["dump-aggregate"], &[]);
    // Port names: ovs-ofctl maps them through the switch's port list.
    p.same(&["dump-flows", "--no-stats", "--names"], &[]);
    p.same(&["dump-flows", "--no-stats", "--no-names"], &["in_port=p1"]);
    p.same(&["dump-flows", "--no-stats", "--names"], &["out_port=p2"]);
    p.same(&["diff-flows"], &[&f]);
    p.same(&["mod-flows"], &["tcp,actions=output:1"]);
    p.same(
        &["mod-flows", "--strict"],
        &["priority=10,arp,actions=drop"],
    );
    p.same(&["mod-flows"], &["cookie=0x20/-1,actions=output:2"]);
    p.same(
        &["add-flow"],
        &["table=5,priority=9,ip,nw_tos=32,actions=output:2"],
    );
    p.same(&["dump-flows", "--no-stats"], &[]);
    p.same(&["diff-flows"], &[&f]);
    p.same(&["del-flows"], &["table=5"]);
    p.same(&["del-flows", "--strict"], &["table=1,priority=1"]);
    p.same(&["del-flows"], &["out_port=1"]);
    p.same(&["dump-flows", "--no-stats"], &[]);
    // Refused by the switch: the same OpenFlow error on both.
    p.same(&["add-flow"], &["arp,actions=ct(table=1)"]);
    p.same(&["add-flow"], &["priority=4,udp,actions=group:99"]);
    p.same(&["add-flow"], &["priority=4,ip,actions=meter:7,drop"]);
    // replace-flows from a file, plain and as a bundle; then diff is empty.
    let g = p.file(
        "g.flows",
        "priority=3,icmp,actions=output:2\npriority=4,in_port=2,actions=output:1\n",
    );
    p.same(&["replace-flows"], &[&g]);
    let d = p.same(&["dump-flows", "--no-stats"], &[]);
    assert_eq!(d.lines().count(), 2, "{d}");
    p.same(&["diff-flows"], &[&g]);
    p.same(&["diff-flows"], &[&f]);
    p.same(&["--bundle", "replace-flows"], &[&f]);
    p.same(&["diff-flows"], &[&f]);
    p.same(&["--bundle", "add-flow"], &["priority=5,actions=group:1"]);
    p.same(&["del-flows"], &[]);
    p.same(&["dump-flows"], &[]);
    p.same(&["dump-aggregate"], &[]);
}

/// Port names (`--names`, and names accepted by default), as ovs-ofctl:
/// resolved through the switch's PORT_DESC, shown in flows, port stats,
/// groups and errors, refused with `--no-names`.
#[test]
fn port_names_match_ovs() {
    port_names_match_ovs_with(Client::OvsOfctl);
}

#[test]
fn port_names_match_ovs_through_rvs_ofctl() {
    port_names_match_ovs_with(Client::Crossed);
}

fn port_names_match_ovs_with(client: Client) {
    if !ready("port_names_match_ovs") {
        return;
    }
    let p = Pair::start_with("secure", client);
    p.same(&["add-flow"], &["priority=5,in_port=p1,actions=output:p2"]);
    p.same(
        &["add-flow"],
        &["table=3,priority=6,in_port=p2,actions=set_field:p1->in_port,output:p1,goto_table:4"],
    );
    p.same(
        &["add-flow"],
        &["table=4,priority=7,actset_output=p1,actions=resubmit(p1,3),enqueue:p2:3"],
    );
    p.same(
        &["--names", "add-flow"],
        &["table=4,priority=2,actions=output:\"p2\""],
    );
    let f = p.file(
        "n.flows",
        "priority=9,in_port=p2,ip,actions=output:p1\npriority=8,udp,actions=resubmit:p1\n",
    );
    p.same(&["add-flows"], &[&f]);
    let d = p.same(&["--names", "dump-flows"], &[]);
    assert!(d.contains("priority=5,in_port=p1 actions=output:p2"), "{d}");
    assert!(d.contains("n_packets=0"), "{d}");
    let d = p.same(&["dump-flows", "--no-stats"], &[]);
    assert!(d.contains("priority=5,in_port=1 actions=output:2"), "{d}");
    p.same(&["--names", "--no-stats", "dump-flows"], &["in_port=p2"]);
    p.same(&["--names", "--no-stats", "dump-flows"], &["out_port=p1"]);
    p.same(&["--no-stats", "dump-flows", "--names"], &["table=4"]);
    p.same(&["--names", "--sort", "dump-flows"], &[]);
    p.same(&["dump-aggregate"], &["in_port=p1"]);
    p.same(&["--no-names", "dump-aggregate"], &["in_port=p1"]);
    p.same(&["--no-names", "add-flow"], &["in_port=p1,actions=drop"]);
    p.same(&["--names", "dump-ports"], &["p1"]);
    p.same(&["dump-ports"], &["p2"]);
    p.same(&["dump-ports"], &["p7"]);
    p.same_with(&["--names", "dump-ports-desc"], &["p1"], norm_ports);
    p.same(&["mod-flows"], &["in_port=p1,actions=output:p1"]);
    p.same(&["--names", "diff-flows"], &[&f]);
    p.same(&["del-flows", "--strict"], &["priority=9,in_port=p2,ip"]);
    p.same(
        &["add-group"],
        &["group_id=1,type=ff,bucket=watch_port:p1,output:p1,bucket=watch_port:p2,output:p2"],
    );
    p.same_sorted(&["--names", "dump-groups"], &[]);
    // The switch's error echoes the request, with names when shown.
    p.same(
        &["--names", "add-flow"],
        &["priority=4,in_port=p1,udp,actions=group:99"],
    );
    p.same(
        &["add-flow"],
        &["priority=4,in_port=p1,udp,actions=group:99"],
    );
    p.same(&["--names", "--no-stats", "dump-flows"], &[]);
}

/// An ARP request from 10.0.0.1 for 10.0.0.2 (42 bytes).
const ARP: &str =
    "ffffffffffff020000000001080600010800060400010200000000010a0000010000000000000a000002";

/// packet-out in both syntaxes (port names too): the switches send the
/// packets where the actions say, which the port counters show.
#[test]
fn packet_out_matches_ovs() {
    packet_out_matches_ovs_with(Client::OvsOfctl);
}

#[test]
fn packet_out_matches_ovs_through_rvs_ofctl() {
    packet_out_matches_ovs_with(Client::Crossed);
}

fn packet_out_matches_ovs_with(client: Client) {
    if !ready("packet_out_matches_ovs") {
        return;
    }
    let p = Pair::start_with("secure", client);
    for lan in [&p.lan_rvs, &p.lan_ovs] {
        lan.static_arp();
    }
    p.same(
        &["packet-out"],
        &[&format!("in_port=p1 packet={ARP} actions=output:p2")],
    );
    p.same(
        &["packet-out"],
        &[&format!("in_port=1,packet={ARP},actions=output:2")],
    );
    p.same(&["packet-out"], &["p2", "output:p1", ARP]);
    p.same(
        &["packet-out"],
        &["controller", "output:1,output:2", ARP, ARP],
    );
    p.same(
        &["packet-out"],
        &[&format!("in_port=p9 packet={ARP} actions=drop")],
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    let s = p.same_with(&["dump-ports"], &["p2"], norm_ports);
    assert!(s.contains("tx pkts=4,"), "{s}");
    let s = p.same_with(&["dump-ports"], &["p1"], norm_ports);
    assert!(s.contains("tx pkts=3,"), "{s}");
}

/// A packet-out to a group that does not exist: OVS refuses it with
/// OFPBAC_BAD_OUT_GROUP.
#[test]
fn packet_out_to_a_missing_group_is_refused_as_in_ovs() {
    if !ready("packet_out_to_a_missing_group_is_refused_as_in_ovs") {
        return;
    }
    let p = Pair::start("secure");
    p.same(
        &["packet-out"],
        &[&format!("in_port=p1 packet={ARP} actions=group:9")],
    );
    // Nested in clone(), and after an output that must not happen either.
    p.same(
        &["packet-out"],
        &[&format!(
            "in_port=p1 packet={ARP} actions=output:p2,clone(group:9)"
        )],
    );
    p.same(&["add-group"], &["group_id=9,type=all,bucket=output:p2"]);
    p.same(
        &["packet-out"],
        &[&format!("in_port=p1 packet={ARP} actions=group:9")],
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    let s = p.same_with(&["dump-ports"], &["p2"], norm_ports);
    assert!(s.contains("tx pkts=1,"), "{s}");
}

/// On a terminal ovs-ofctl shows port names without `--names`; rvs ofctl
/// too (run under `script`, which gives them a pseudo-terminal).
#[test]
fn names_are_shown_on_a_terminal_as_ovs_ofctl() {
    let t = "names_are_shown_on_a_terminal_as_ovs_ofctl";
    if !ready(t) || !tool_available(t, "script") {
        return;
    }
    let p = Pair::start("secure");
    p.same(&["add-flow"], &["priority=5,in_port=p1,actions=output:p2"]);
    let on_tty = |prog: &str, target: &str| {
        let cmd = format!("{prog} -O OpenFlow13 --no-stats dump-flows {target}");
        let o = std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("running script");
        String::from_utf8_lossy(&o.stdout).replace('\r', "")
    };
    let rvs = format!("{} ofctl", rvs_bin().display());
    for target in [p.rvs.target(), p.ovs.target()] {
        let theirs = on_tty("ovs-ofctl", &target);
        let ours = on_tty(&rvs, &target);
        assert_eq!(ours, theirs, "on a terminal, against {target}");
        assert!(ours.contains("in_port=p1 actions=output:p2"), "{ours}");
    }
}

/// `--sort=FIELD`/`--rsort=FIELD` as ovs-ofctl: flows without the field
/// last in either direction, several keys in turn. (The flows make every
/// order total: ovs-ofctl leaves ties in qsort's order.)
#[test]
fn sort_by_field_matches_ovs() {
    if !ready("sort_by_field_matches_ovs") {
        return;
    }
    let p = Pair::start("secure");
    let f = p.file(
        "s.flows",
        "priority=5,ip,nw_src=10.0.0.9,actions=drop\n\
         priority=6,ip,nw_src=10.0.0.1,actions=drop\n\
         priority=7,tcp,nw_src=10.0.0.5,tp_dst=80,actions=drop\n\
         priority=3,tcp,nw_src=10.0.0.3,tp_dst=22,actions=drop\n\
         priority=9,in_port=2,ip,nw_src=10.0.0.7,actions=drop\n\
         priority=8,in_port=1,ip,nw_src=10.0.0.0/8,actions=drop\n\
         priority=1,arp,actions=drop\n",
    );
    p.same(&["add-flows"], &[&f]);
    let d = p.same(&["--sort=nw_src", "--no-stats", "dump-flows"], &[]);
    assert!(d.ends_with(" priority=1,arp actions=drop\n"), "{d}");
    p.same(&["--rsort=ip_src", "dump-flows"], &[]);
    p.same(
        &["--sort=tp_dst", "--sort=nw_src", "--no-stats", "dump-flows"],
        &[],
    );
    p.same(
        &[
            "--rsort=tcp_dst",
            "--rsort=nw_src",
            "--no-stats",
            "dump-flows",
        ],
        &[],
    );
    p.same(
        &[
            "--rsort=in_port",
            "--sort=nw_src",
            "--no-stats",
            "dump-flows",
        ],
        &[],
    );
    p.same(&["--sort=priority", "--no-stats", "dump-flows"], &["ip"]);
    p.same(&["--sort=no_such_field", "dump-flows"], &[]);
}

/// ovs-ofctl's options go before or after the command (GNU getopt).
#[test]
fn options_before_and_after_the_command_match_ovs() {
    options_before_and_after_the_command_match_ovs_with(Client::OvsOfctl);
}

#[test]
fn options_before_and_after_the_command_match_ovs_through_rvs_ofctl() {
    options_before_and_after_the_command_match_ovs_with(Client::Crossed);
}

fn options_before_and_after_the_command_match_ovs_with(client: Client) {
    if !ready("options_before_and_after_the_command_match_ovs") {
        return;
    }
    let p = Pair::start_with("secure", client);
    let f = p.file("o.flows", FLOWS);
    p.same(&["--bundle", "add-flows"], &[&f]);
    p.same(&["--no-stats", "dump-flows"], &[]);
    p.same(&["dump-flows"], &["--no-stats"]);
    p.same(
        &["-O", "OpenFlow13", "--no-stats", "dump-flows"],
        &["table=1"],
    );
    p.same(&["--protocols=OpenFlow13", "dump-tables"], &[]);
    p.same(
        &["--strict", "--no-stats", "dump-flows"],
        &["priority=10,arp"],
    );
    p.same(&["--strict", "del-flows"], &["table=1,priority=1"]);
    p.same(
        &["del-flows"],
        &[
            "--strict",
            "table=1,priority=10,in_port=1,ip,ct_state=+trk+est",
        ],
    );
    p.same(&["--rsort", "dump-flows", "--no-stats"], &[]);
    p.same(&["--readd", "replace-flows"], &[&f]);
    p.same(&["--no-stats", "dump-flows"], &[]);
    p.same(&["--bundle", "del-flows"], &[]);
    p.same(&["--stats", "dump-aggregate"], &[]);
    // Unknown options and missing arguments: the same refusals.
    p.same(&["--no-such-option", "dump-flows"], &[]);
    p.same(&["mod-port"], &["p1"]);
    p.same(&["mod-port"], &["p1", "sideways"]);
}

/// The same flows and the same pings through both switches.
fn counters_pair(test: &str) -> Option<Pair> {
    if !ready(test) {
        return None;
    }
    let p = Pair::start("secure");
    let f = p.file(
        "c.flows",
        "priority=10,in_port=1,actions=output:2\n\
         priority=10,in_port=2,actions=output:1\n\
         priority=20,in_port=1,icmp,icmp_type=8,actions=output:2\n",
    );
    p.same(&["add-flows"], &[&f]);
    // Exactly 3 echo request/reply pairs through each switch (static ARP).
    for lan in [&p.lan_rvs, &p.lan_ovs] {
        lan.static_arp();
        assert_eq!(lan.ping_count(1, 2, 3), 3);
    }
    // Both switches credit datapath-flow counters to rules periodically
    // (OVS's revalidators about every 500 ms): let a few rounds pass.
    std::thread::sleep(std::time::Duration::from_millis(2500));
    Some(p)
}

#[test]
fn port_counters_match_ovs_after_the_same_traffic() {
    let Some(p) = counters_pair("port_counters_match_ovs_after_the_same_traffic") else {
        return;
    };
    let s = p.same_with(&["dump-ports"], &["1"], norm_ports);
    assert!(s.contains("rx pkts=3, bytes=294,"), "{s}");
    p.same_with(&["dump-ports"], &["2"], norm_ports);
    p.same_with(&["dump-ports"], &[], norm_ports);
}

#[test]
fn flow_counters_match_ovs_after_the_same_traffic() {
    let Some(p) = counters_pair("flow_counters_match_ovs_after_the_same_traffic") else {
        return;
    };
    let flows = p.same(&["dump-flows"], &[]);
    assert!(flows.contains("n_packets=3, n_bytes=294"), "{flows}");
    assert!(flows.contains("n_packets=0, n_bytes=0"), "{flows}");
    p.same(&["dump-aggregate"], &[]);
    p.same(&["dump-tables"], &[]);
}

// ---------------------------------------------------------------- groups, meters

#[test]
fn group_commands_match_ovs() {
    group_commands_match_ovs_with(Client::OvsOfctl);
}

#[test]
fn group_commands_match_ovs_through_rvs_ofctl() {
    group_commands_match_ovs_with(Client::Crossed);
}

fn group_commands_match_ovs_with(client: Client) {
    if !ready("group_commands_match_ovs") {
        return;
    }
    let p = Pair::start_with("secure", client);
    p.same_sorted(&["dump-groups"], &[]);
    p.same(
        &["add-group"],
        &["group_id=1,type=all,bucket=output:1,bucket=output:2"],
    );
    p.same(
        &["add-group"],
        &["group_id=2,type=select,selection_method=hash,bucket=weight:10,output:1,bucket=weight:20,output:2"],
    );
    p.same(
        &["add-group"],
        &["group_id=3,type=indirect,bucket=set_field:00:00:00:00:00:07->eth_dst,output:2"],
    );
    p.same(
        &["add-group"],
        &["group_id=4,type=ff,bucket=watch_port:1,output:1,bucket=watch_port:2,output:2"],
    );
    // Already there: OFPGMFC_GROUP_EXISTS.
    p.same(&["add-group"], &["group_id=1,type=all,bucket=output:1"]);
    p.same(&["add-flow"], &["priority=4,udp,actions=group:1"]);
    p.same_sorted(&["dump-groups"], &[]);
    p.same_sorted(&["dump-groups"], &["2"]);
    p.same(&["mod-group"], &["group_id=1,type=all,bucket=output:2"]);
    p.same(&["mod-group"], &["group_id=9,type=all,bucket=output:2"]);
    p.same(
        &["--may-create", "mod-group"],
        &["group_id=9,type=all,bucket=output:2"],
    );
    let gf = p.file(
        "g.groups",
        "group_id=5,type=all,bucket=output:1\ngroup_id=6,type=indirect,bucket=output:2\n",
    );
    p.same(&["add-groups"], &[&gf]);
    // As one bundle: all or nothing, errors as ovs-ofctl's bundle_transact.
    let gb = p.file(
        "b.groups",
        "group_id=7,type=all,bucket=output:1\ngroup_id=5,type=all,bucket=output:2\n",
    );
    p.same(&["--bundle", "add-groups"], &[&gb]);
    p.same(
        &["--bundle", "add-group"],
        &["group_id=8,type=indirect,bucket=output:2"],
    );
    p.same(&["add-groups"], &[&gb]);
    p.same_sorted(&["dump-groups"], &["1"]);
    // Deleting a group deletes the flows that use it.
    p.same(&["del-groups"], &["group_id=1"]);
    p.same(&["dump-flows", "--no-stats"], &[]);
    p.same(&["del-groups"], &[]);
    p.same_sorted(&["dump-groups"], &[]);
}

#[test]
fn meter_commands_match_ovs() {
    meter_commands_match_ovs_with(Client::OvsOfctl);
}

#[test]
fn meter_commands_match_ovs_through_rvs_ofctl() {
    meter_commands_match_ovs_with(Client::Crossed);
}

fn meter_commands_match_ovs_with(client: Client) {
    if !ready("meter_commands_match_ovs") {
        return;
    }
    let p = Pair::start_with("secure", client);
    p.same(&["dump-meters"], &[]);
    p.same(&["add-meter"], &["meter=1,kbps,band=type=drop,rate=1000"]);
    p.same(
        &["add-meter"],
        &["meter=2,pktps,burst,stats,band=type=drop,rate=100,burst_size=10"],
    );
    p.same(&["add-meter"], &["meter=1,kbps,band=type=drop,rate=5"]);
    p.same(&["add-flow"], &["priority=4,ip,actions=meter:1,output:2"]);
    p.same(&["dump-meters"], &[]);
    p.same(&["dump-meters"], &["meter=2"]);
    p.same(&["mod-meter"], &["meter=1,kbps,band=type=drop,rate=2000"]);
    p.same(&["dump-meters"], &[]);
    p.same(&["del-meters"], &["meter=2"]);
    p.same(&["dump-meters"], &[]);
    p.same(&["del-meters"], &[]);
    p.same(&["dump-flows", "--no-stats"], &[]);
}

/// A 1 packet/s meter (burst 1) on the echo requests: of 5 pings 0.2 s
/// apart, the first passes on the full bucket and the next four find it
/// short, on both switches; the meter's counters say so.
#[test]
fn meters_rate_limit_and_count_as_in_ovs() {
    meters_rate_limit_and_count_as_in_ovs_with(Client::OvsOfctl);
}

#[test]
fn meters_rate_limit_and_count_as_in_ovs_through_rvs_ofctl() {
    meters_rate_limit_and_count_as_in_ovs_with(Client::Crossed);
}

fn meters_rate_limit_and_count_as_in_ovs_with(client: Client) {
    if !ready("meters_rate_limit_and_count_as_in_ovs") {
        return;
    }
    let p = Pair::start_with("secure", client);
    p.same(
        &["add-meter"],
        &["meter=1,pktps,burst,stats,band=type=drop,rate=1,burst_size=1"],
    );
    let f = p.file(
        "m.flows",
        "priority=10,in_port=1,icmp,actions=meter:1,output:2\n\
         priority=10,in_port=2,actions=output:1\n",
    );
    p.same(&["add-flows"], &[&f]);
    for lan in [&p.lan_rvs, &p.lan_ovs] {
        lan.static_arp();
        assert_eq!(lan.ping_count(1, 2, 5), 1);
    }
    let st = p.same(&["meter-stats"], &[]);
    assert!(
        st.contains("meter:1 flow_count:1 packet_in_count:5 byte_in_count:490"),
        "{st}"
    );
    assert!(st.contains("0: packet_count:4 byte_count:392"), "{st}");
}

#[test]
fn group_features_match_ovs() {
    if !ready("group_features_match_ovs") {
        return;
    }
    let p = Pair::start("secure");
    p.same(&["dump-group-features"], &[]);
}

#[test]
fn meter_features_match_ovs() {
    if !ready("meter_features_match_ovs") {
        return;
    }
    let p = Pair::start("secure");
    p.same(&["meter-features"], &[]);
}

#[test]
fn meter_stats_match_ovs() {
    meter_stats_match_ovs_with(Client::OvsOfctl);
}

#[test]
fn meter_stats_match_ovs_through_rvs_ofctl() {
    meter_stats_match_ovs_with(Client::Crossed);
}

fn meter_stats_match_ovs_with(client: Client) {
    if !ready("meter_stats_match_ovs") {
        return;
    }
    let p = Pair::start_with("secure", client);
    p.same(&["add-meter"], &["meter=1,kbps,band=type=drop,rate=1000"]);
    p.same(&["add-flow"], &["priority=4,ip,actions=meter:1,output:2"]);
    let st = p.same(&["meter-stats"], &[]);
    assert!(st.contains("meter:1 flow_count:1"), "{st}");
    p.same(&["meter-stats"], &["meter=1"]);
}

#[test]
fn hidden_table_254_is_refused_as_in_ovs() {
    hidden_table_254_is_refused_as_in_ovs_with(Client::OvsOfctl);
}

#[test]
fn hidden_table_254_is_refused_as_in_ovs_through_rvs_ofctl() {
    hidden_table_254_is_refused_as_in_ovs_with(Client::Crossed);
}

fn hidden_table_254_is_refused_as_in_ovs_with(client: Client) {
    if !ready("hidden_table_254_is_refused_as_in_ovs") {
        return;
    }
    let p = Pair::start_with("secure", client);
    p.same(&["add-flow"], &["table=254,priority=4,actions=drop"]);
    p.same(&["dump-flows", "--no-stats"], &[]);
}

#[test]
fn group_bucket_set_field_without_prerequisite_as_in_ovs() {
    group_bucket_set_field_without_prerequisite_as_in_ovs_with(Client::OvsOfctl);
}

#[test]
fn group_bucket_set_field_without_prerequisite_as_in_ovs_through_rvs_ofctl() {
    group_bucket_set_field_without_prerequisite_as_in_ovs_with(Client::Crossed);
}

fn group_bucket_set_field_without_prerequisite_as_in_ovs_with(client: Client) {
    if !ready("group_bucket_set_field_without_prerequisite_as_in_ovs") {
        return;
    }
    let p = Pair::start_with("secure", client);
    p.same(
        &["add-group"],
        &["group_id=3,type=indirect,bucket=set_field:10.0.0.7->ip_dst,output:2"],
    );
    p.same_sorted(&["dump-groups"], &[]);
}

#[test]
fn group_stats_match_ovs() {
    group_stats_match_ovs_with(Client::OvsOfctl);
}

#[test]
fn group_stats_match_ovs_through_rvs_ofctl() {
    group_stats_match_ovs_with(Client::Crossed);
}

fn group_stats_match_ovs_with(client: Client) {
    if !ready("group_stats_match_ovs") {
        return;
    }
    let p = Pair::start_with("secure", client);
    p.same(
        &["add-group"],
        &["group_id=1,type=all,bucket=output:1,bucket=output:2"],
    );
    p.same(
        &["add-group"],
        &["group_id=2,type=indirect,bucket=output:2"],
    );
    p.same(&["add-flow"], &["priority=4,udp,actions=group:1"]);
    let st = p.same_sorted(&["dump-group-stats"], &[]);
    assert!(st.contains("group_id=1,duration=D"), "{st}");
    p.same_sorted(&["dump-group-stats"], &["1"]);
}

#[test]
fn standalone_without_controller_forwards_like_ovs() {
    if !ready("standalone_without_controller_forwards_like_ovs") {
        return;
    }
    // OVS's bridge adds a visible `priority=0 actions=NORMAL` flow to a
    // standalone bridge that has no controller; rvs must show the same.
    let p = Pair::start("standalone");
    let d = p.same(&["dump-flows", "--no-stats"], &[]);
    assert!(d.contains("priority=0 actions=NORMAL"), "{d}");
    for lan in [&p.lan_rvs, &p.lan_ovs] {
        assert!(lan.ping_until(1, 2, std::time::Duration::from_secs(10)));
        assert_eq!(lan.ping_count(2, 1, 3), 3);
    }
}

/// `ovs-appctl fdb/show` after the same pings through NORMAL: the same
/// ports, VLANs and line count (MACs and ages normalized, lines sorted),
/// and the same refusal of an unknown bridge.
#[test]
fn fdb_show_matches_ovs() {
    if !ready("fdb_show_matches_ovs") {
        return;
    }
    let p = Pair::start("standalone");
    for lan in [&p.lan_rvs, &p.lan_ovs] {
        assert!(lan.ping_until(1, 2, std::time::Duration::from_secs(10)));
    }
    let show = |ctl: std::path::PathBuf, bridge: &str| {
        let o = std::process::Command::new("ovs-appctl")
            .arg("-t")
            .arg(ctl)
            .args(["fdb/show", bridge])
            .output()
            .expect("ovs-appctl");
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        let mut lines: Vec<String> = norm_macs(&text.replace(' ', "_"))
            .lines()
            .map(|l| {
                // Keep port and VLAN; the MAC is random and the age a time.
                let cols: Vec<&str> = l.split('_').filter(|c| !c.is_empty()).collect();
                cols.iter().take(2).copied().collect::<Vec<_>>().join(" ")
            })
            .collect();
        lines.sort();
        (
            o.status.code(),
            lines,
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let r = show(p.rvs.rundir.join("rvs.ctl"), "br0");
    let o = show(p.ovs.rundir.join("ovs-vswitchd.ctl"), "br0");
    assert_eq!(r, o);
    assert_eq!(r.1.len(), 3, "{r:?}");
    let r = show(p.rvs.rundir.join("rvs.ctl"), "br9");
    let o = show(p.ovs.rundir.join("ovs-vswitchd.ctl"), "br9");
    assert_eq!((&r.0, &r.1), (&o.0, &o.1));
    // Both say "no such bridge" (and ovs-appctl adds its own line).
    assert!(r.2.starts_with("no such bridge"), "{r:?}");
    assert!(o.2.starts_with("no such bridge"), "{o:?}");
}

// ---------------------------------------------------------------- rvs ctl / ovs-appctl

/// Recirculation ids (`recirc(0x2)`, `recirc_id=0x2`) renumbered R1, R2,
/// ... in order of first appearance.
fn norm_recirc(s: &str) -> String {
    let mut ids: Vec<String> = Vec::new();
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    loop {
        let next = ["recirc(0x", "recirc_id=0x"]
            .iter()
            .filter_map(|k| rest.find(k).map(|i| (i, k.len())))
            .min();
        let Some((i, klen)) = next else {
            break;
        };
        out.push_str(&rest[..i + klen - 2]);
        let tail = &rest[i + klen..];
        let n = tail
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(tail.len());
        let id = tail[..n].to_string();
        let k = match ids.iter().position(|x| *x == id) {
            Some(k) => k,
            None => {
                ids.push(id);
                ids.len() - 1
            }
        };
        out.push_str(&format!("R{}", k + 1));
        rest = &tail[n..];
    }
    out.push_str(rest);
    out
}

/// `PROG -t SOCKET ARGS...` for `ovs-appctl` or `rvs ctl`: (exit status,
/// stdout with recirculation ids renumbered and flow ages masked, stderr with the program name,
/// the socket path and ovs-appctl's log lines taken out).
fn appctl(prog: Prog, socket: &std::path::Path, args: &[&str]) -> (Option<i32>, String, String) {
    let mut c = match prog {
        Prog::Ovs => std::process::Command::new("ovs-appctl"),
        Prog::Rvs => {
            let mut c = std::process::Command::new(rvs_bin());
            c.arg("ctl");
            c
        }
    };
    let o = c
        .arg("-t")
        .arg(socket)
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("running the unixctl client");
    let err: String = String::from_utf8_lossy(&o.stderr)
        .lines()
        .filter(|l| !l.contains("|unixctl|"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("ovs-appctl: ", "CLIENT: ")
        .replace("rvs ctl: ", "CLIENT: ")
        .replace(&socket.display().to_string(), "SOCKET");
    // Recirculation ids are each process's own (ovs-vswitchd takes a new
    // one for every trace); `used:` is a wall-clock age.
    (
        o.status.code(),
        norm_used(&norm_recirc(&String::from_utf8_lossy(&o.stdout))),
        err,
    )
}

/// Replaces the age in every `used:1.234s` with `U`.
fn norm_used(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("used:") {
        let (head, tail) = rest.split_at(i + "used:".len());
        out.push_str(head);
        let n = tail
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(tail.len());
        if n > 0 {
            out.push('U');
        }
        rest = &tail[n..];
    }
    out.push_str(rest);
    out
}

impl Pair {
    fn rvs_ctl(&self) -> std::path::PathBuf {
        self.rvs.rundir.join("rvs.ctl")
    }

    fn ovs_ctl(&self) -> std::path::PathBuf {
        self.ovs.rundir.join("ovs-vswitchd.ctl")
    }

    /// Runs `ARGS` through ovs-appctl and rvs ctl against both switches'
    /// control sockets: each client prints the same for the same server
    /// (asserted); returns (rvs's, ovs-vswitchd's) results.
    fn ctl_clients_agree(&self, args: &[&str]) -> [(Option<i32>, String, String); 2] {
        let mut out = Vec::new();
        for socket in [self.rvs_ctl(), self.ovs_ctl()] {
            let theirs = appctl(Prog::Ovs, &socket, args);
            let ours = appctl(Prog::Rvs, &socket, args);
            assert_eq!(
                ours,
                theirs,
                "rvs ctl (left) vs ovs-appctl (right) {args:?} against {}",
                socket.display()
            );
            self.compared.set(self.compared.get() + 2);
            out.push(ours);
        }
        [out.remove(0), out.remove(0)]
    }

    /// [`Pair::ctl_clients_agree`], and rvs's answer equal to
    /// ovs-vswitchd's.
    fn ctl_same(&self, args: &[&str]) -> String {
        let [r, o] = self.ctl_clients_agree(args);
        assert_eq!(r, o, "{args:?}: rvs (left) vs ovs-vswitchd (right)");
        r.1
    }
}

/// `rvs ctl` prints what `ovs-appctl` prints, against rvs and against
/// ovs-vswitchd, for the unixctl commands of the issue; where the command
/// exists on both switches with the same output (errors, fdb/show's
/// refusals, del-flows, exit), rvs answers as ovs-vswitchd.
#[test]
fn rvs_ctl_prints_what_ovs_appctl_prints() {
    if !ready("rvs_ctl_prints_what_ovs_appctl_prints")
        || !tool_available("rvs_ctl_prints_what_ovs_appctl_prints", "ovs-appctl")
    {
        return;
    }
    let p = Pair::start("standalone");
    for lan in [&p.lan_rvs, &p.lan_ovs] {
        assert!(lan.ping_until(1, 2, std::time::Duration::from_secs(10)));
    }
    let [r, _] = p.ctl_clients_agree(&["list-commands"]);
    for c in [
        "add-port",
        "del-port",
        "dpctl/dump-flows",
        "dpctl/del-flows",
        "ofproto/trace",
        "fdb/show",
        "exit",
        "version",
    ] {
        assert!(r.1.contains(&format!("  {c}")), "{c} missing:\n{}", r.1);
    }
    let [r, _] = p.ctl_clients_agree(&["version"]);
    assert!(r.1.starts_with("rvs "), "{r:?}");
    // Refusals: unknown command, missing argument, unknown bridge.
    p.ctl_same(&["no-such-command"]);
    p.ctl_same(&["fdb/show"]);
    p.ctl_same(&["fdb/show", "br9"]);
    let [r, _] = p.ctl_clients_agree(&["fdb/show", "br0"]);
    assert_eq!(r.1.lines().count(), 3, "{r:?}");
    let [r, _] = p.ctl_clients_agree(&["dpctl/dump-flows"]);
    assert!(!r.1.is_empty(), "{r:?}");
    p.ctl_clients_agree(&["ofproto/trace", "br0", "in_port=1,ip,nw_src=10.0.0.1"]);
    p.ctl_clients_agree(&["ofproto/trace", "br9", "in_port=1"]);
    p.ctl_same(&["dpctl/del-flows"]);
    // add-port / del-port are rvs's (OVS adds ports through its database).
    p.lan_rvs.sw.exec_ok(&[
        "ip", "link", "add", "d3", "type", "veth", "peer", "name", "d3p",
    ]);
    p.lan_rvs.sw.exec_ok(&[
        "ip", "link", "add", "d4", "type", "veth", "peer", "name", "d4p",
    ]);
    let rvs_ctl = p.rvs_ctl();
    let add = appctl(Prog::Rvs, &rvs_ctl, &["add-port", "br0", "d3", "3"]);
    assert_eq!(add.0, Some(0), "{add:?}");
    let add = appctl(Prog::Ovs, &rvs_ctl, &["add-port", "br0", "d4", "4"]);
    assert_eq!(add.0, Some(0), "{add:?}");
    let desc = String::from_utf8_lossy(&ovs_ofctl(&["dump-ports-desc", &p.rvs.target()]).stdout)
        .into_owned();
    assert!(
        desc.contains(" 3(d3): ") && desc.contains(" 4(d4): "),
        "{desc}"
    );
    let again = [
        appctl(Prog::Rvs, &rvs_ctl, &["add-port", "br0", "d3", "3"]),
        appctl(Prog::Ovs, &rvs_ctl, &["add-port", "br0", "d3", "3"]),
    ];
    assert_eq!(again[0], again[1]);
    assert_eq!(again[0].0, Some(2), "{again:?}");
    assert_eq!(
        appctl(Prog::Rvs, &rvs_ctl, &["del-port", "br0", "d3"]).0,
        Some(0)
    );
    assert_eq!(
        appctl(Prog::Ovs, &rvs_ctl, &["del-port", "br0", "d4"]).0,
        Some(0)
    );
    let desc = String::from_utf8_lossy(&ovs_ofctl(&["dump-ports-desc", &p.rvs.target()]).stdout)
        .into_owned();
    assert!(!desc.contains("(d3)") && !desc.contains("(d4)"), "{desc}");
    // exit: rvs ctl stops rvs, ovs-appctl stops ovs-vswitchd; both say nothing.
    let r = appctl(Prog::Rvs, &rvs_ctl, &["exit"]);
    let o = appctl(Prog::Ovs, &p.ovs_ctl(), &["exit"]);
    assert_eq!(r, o);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while p.rvs_ctl().exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let gone = appctl(Prog::Rvs, &rvs_ctl, &["version"]);
    assert_eq!(gone.0, Some(1), "{gone:?}");
}

/// ofproto/trace through both switches for the same flows: rvs's trace
/// text against ovs-vswitchd's, text for text once the two documented
/// by-design differences are normalised (see [`trace_as_ovs`]). The flows
/// cover NORMAL's megaflow for untagged ARP (no `vlan_tci`: OVS's
/// xlate_wc_finish drops VLAN bits of a packet that arrived untagged), for
/// a broadcast ARP request (OVS's is_gratuitous_arp un-wildcards `arp_op`,
/// `arp_spa`, `arp_tpa`) and for a tagged packet (`dl_vlan`: VID and CFI,
/// not PCP).
#[test]
fn ofproto_trace_matches_ovs() {
    if !ready("ofproto_trace_matches_ovs")
        || !tool_available("ofproto_trace_matches_ovs", "ovs-appctl")
    {
        return;
    }
    let p = Pair::start("secure");
    let f = p.file("t.flows", FLOWS);
    p.same(&["add-flows"], &[&f]);
    let ports = rvs_to_odp_ports(&p);
    let mut differ = Vec::new();
    for flow in [
        "in_port=1,ip,nw_src=10.0.0.1",
        "in_port=2,tcp,nw_dst=10.0.0.3,tp_dst=80",
        "in_port=1,arp",
        "in_port=1,arp,dl_dst=ff:ff:ff:ff:ff:ff,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.1",
        "in_port=1,arp,dl_dst=ff:ff:ff:ff:ff:ff,arp_op=2",
        "in_port=2,dl_vlan=5,dl_vlan_pcp=3,arp,dl_src=00:00:00:00:00:01",
        "in_port=1,dl_type=0x88cc",
    ] {
        let [r, o] = p.ctl_clients_agree(&["ofproto/trace", "br0", flow]);
        let rvs = trace_as_ovs(&r.1, &ports);
        if (r.0, &rvs, &r.2) != (o.0, &o.1, &o.2) {
            differ.push(format!(
                "{flow}:\n--- rvs (normalised)\n{rvs}\n--- ovs-vswitchd\n{}",
                o.1
            ));
        }
    }
    // Fragment handling "normal": a first fragment meets the tables with
    // ports 0 (tp_dst=53 misses, tp_dst=0 matches).
    for f in [
        "priority=300,udp,tp_dst=0,actions=output:2",
        "priority=301,udp,tp_dst=53,actions=drop",
    ] {
        p.same(&["add-flow"], &[f]);
    }
    for flow in [
        "in_port=1,udp,nw_frag=first,udp_src=9,udp_dst=53",
        "in_port=1,udp,nw_frag=no,udp_src=9,udp_dst=53",
    ] {
        let [r, o] = p.ctl_clients_agree(&["ofproto/trace", "br0", flow]);
        let rvs = trace_as_ovs(&r.1, &ports);
        if (r.0, &rvs, &r.2) != (o.0, &o.1, &o.2) {
            differ.push(format!(
                "{flow}:\n--- rvs (normalised)\n{rvs}{}\n--- ovs-vswitchd\n{}{}",
                r.2, o.1, o.2
            ));
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    // The normalisation is no blanket: NORMAL's megaflow names the MACs and
    // no VLAN on both sides, and floods to both other ports.
    let [r, _] = p.ctl_clients_agree(&["ofproto/trace", "br0", "in_port=1,arp"]);
    assert!(
        r.1.contains("Megaflow: recirc_id=0,ct_state=-trk,eth,arp,in_port=1,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00\n"),
        "{}",
        r.1
    );
}

/// A group bucket's resubmit into a table with write_actions: OVS restores
/// the packet after the bucket but not the action set, so the output written
/// there runs at the end of the pipeline. Same trace on both switches.
#[test]
fn bucket_resubmit_into_write_actions_traces_as_ovs() {
    let t = "bucket_resubmit_into_write_actions_traces_as_ovs";
    if !ready(t) || !tool_available(t, "ovs-appctl") {
        return;
    }
    let p = Pair::start("secure");
    p.same(&["add-group"], &["group_id=7,type=all,bucket=resubmit(,2)"]);
    for f in [
        "priority=400,icmp,actions=group:7",
        "table=2,priority=1,actions=write_actions(output:2)",
    ] {
        p.same(&["add-flow"], &[f]);
    }
    // An exit in a bucket ends the bucket only; an exit in the pipeline
    // skips the action set (whose trace node OVS still prints).
    p.same(
        &["add-group"],
        &["group_id=8,type=all,bucket=resubmit(,3),bucket=output:3"],
    );
    for f in [
        "priority=400,udp,actions=group:8,output:1",
        "table=3,priority=1,actions=output:2,exit",
        "priority=400,tcp,actions=write_actions(output:3),goto_table:4",
        "table=4,priority=1,actions=exit",
    ] {
        p.same(&["add-flow"], &[f]);
    }
    let ports = rvs_to_odp_ports(&p);
    // Deliberate deviation: rvs keeps no `actset_output` (ofproto's flow.rs
    // has no slot for it), so where OVS's final flow differs from the first
    // only by it (an action set with an output that never ran), OVS prints
    // that flow and rvs "unchanged". The "Final flow:" line is left out of
    // the comparison for that case only.
    let final_flow = |s: &str| {
        s.lines()
            .filter(|l| !l.starts_with("Final flow:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for flow in ["in_port=1,icmp", "in_port=2,udp", "in_port=1,tcp"] {
        let [r, o] = p.ctl_clients_agree(&["ofproto/trace", "br0", flow]);
        let mut rvs = trace_as_ovs(&r.1, &ports);
        let mut ovs = o.1.clone();
        if flow.ends_with("tcp") {
            (rvs, ovs) = (final_flow(&rvs), final_flow(&ovs));
        }
        assert_eq!(
            (r.0, &rvs, &r.2),
            (o.0, &ovs, &o.2),
            "{flow}: rvs (normalised) vs ovs-vswitchd"
        );
    }
    let [_, o] = p.ctl_clients_agree(&["ofproto/trace", "br0", "in_port=1,icmp"]);
    assert!(
        o.1.contains("Datapath actions: 2") || o.1.contains("Datapath actions: 3"),
        "{}",
        o.1
    );
}

/// rvs's datapath port number (its OpenFlow number; LOCAL 4294967294) to
/// OVS's netdev datapath number, from ovs-vswitchd's `dpif/show` (`p1
/// 1/2:` is OpenFlow port 1, datapath port 2; `br0 65534/1:` is LOCAL).
fn rvs_to_odp_ports(p: &Pair) -> Vec<(String, String)> {
    let show = p.ovs.appctl(&["dpif/show"]);
    String::from_utf8_lossy(&show.stdout)
        .lines()
        .filter_map(|l| {
            let (of, odp) = l
                .split_whitespace()
                .nth(1)?
                .trim_end_matches(':')
                .split_once('/')?;
            let of = if of == "65534" { "4294967294" } else { of };
            Some((of.to_string(), odp.to_string()))
        })
        .collect()
}

/// rvs's ofproto/trace text with the two by-design differences from OVS's
/// normalised, nothing else:
/// - after a `ct(` action, rvs's megaflows keep `nw_proto` (DESIGN.md: a
///   ct() un-wildcards it), so a `Megaflow:` line of such a trace says
///   `tcp`/`udp`/`icmp` or `nw_proto=N` where OVS's says `ip`: the
///   protocol keyword becomes `ip` and `nw_proto=N` goes;
/// - `Datapath actions:` name rvs's datapath ports, which are the OpenFlow
///   numbers; they become OVS's datapath numbers (`ports`), and a run of
///   plain outputs (NORMAL's flood) is sorted, since each switch floods in
///   its own port order (rvs: by OpenFlow number, LOCAL last; OVS: the
///   order its bundles were created, hash order of the bridge's ports).
fn trace_as_ovs(rvs: &str, ports: &[(String, String)]) -> String {
    let has_ct = rvs.contains("ct(");
    let mut out: Vec<String> = Vec::new();
    for line in rvs.lines() {
        if let Some(m) = line.strip_prefix("Megaflow: ")
            && has_ct
        {
            let fields: Vec<&str> = m
                .split(',')
                .filter(|f| !f.starts_with("nw_proto="))
                .map(|f| match f {
                    "tcp" | "udp" | "icmp" | "sctp" => "ip",
                    "tcp6" | "udp6" | "icmp6" | "sctp6" => "ipv6",
                    f => f,
                })
                .collect();
            out.push(format!("Megaflow: {}", fields.join(",")));
        } else if let Some(a) = line.strip_prefix("Datapath actions: ") {
            out.push(format!("Datapath actions: {}", odp_actions(a, ports)));
        } else {
            out.push(line.to_string());
        }
    }
    let mut text = out.join("\n");
    if rvs.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// [`trace_as_ovs`] for one datapath actions list.
fn odp_actions(actions: &str, ports: &[(String, String)]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let (mut depth, mut cur) = (0usize, String::new());
    for c in actions.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    parts.push(cur);
    let is_port = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    let mut mapped: Vec<String> = parts
        .iter()
        .map(|x| match ports.iter().find(|(of, _)| of == x) {
            Some((_, odp)) if is_port(x) => odp.clone(),
            _ => x.clone(),
        })
        .collect();
    let mut i = 0;
    while i < mapped.len() {
        let mut j = i;
        while j < mapped.len() && is_port(&mapped[j]) {
            j += 1;
        }
        mapped[i..j].sort_by_key(|x| x.parse::<u64>().unwrap_or(u64::MAX));
        i = j.max(i + 1);
    }
    mapped.join(",")
}

/// OVS's datapath port numbers (`dpif/show`: `p1 1/2:` is OpenFlow port
/// 1, datapath port 2) as OpenFlow numbers in dpctl flow lines: in
/// `in_port(N)` and in a plain `actions:N,M` list.
fn odp_to_ofp(p: &Pair, flows: &str) -> String {
    let show = p.ovs.appctl(&["dpif/show"]);
    let map: Vec<(String, String)> = String::from_utf8_lossy(&show.stdout)
        .lines()
        .filter_map(|l| {
            let (of, odp) = l
                .split_whitespace()
                .nth(1)?
                .trim_end_matches(':')
                .split_once('/')?;
            Some((odp.to_string(), of.to_string()))
        })
        .collect();
    let of = |n: &str| {
        map.iter()
            .find(|(d, _)| d == n)
            .map_or(n.to_string(), |(_, o)| o.clone())
    };
    flows
        .lines()
        .map(|l| {
            let mut l = l.to_string();
            if let Some(i) = l.find("in_port(") {
                let start = i + "in_port(".len();
                if let Some(len) = l[start..].find(')') {
                    let n = l[start..start + len].to_string();
                    l.replace_range(start..start + len, &of(&n));
                }
            }
            if let Some(i) = l.rfind("actions:") {
                let start = i + "actions:".len();
                let list = &l[start..];
                if list
                    .split(',')
                    .all(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()))
                {
                    let mapped: Vec<String> = list.split(',').map(of).collect();
                    l.replace_range(start.., &mapped.join(","));
                }
            }
            l
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// `dpctl/dump-flows` after the same pings through the same flows: the
/// same datapath flows on both switches, under the same `flow-dump from the
/// main thread:` heading (lines sorted: both list them in hash order; ages
/// masked; OVS's datapath port numbers mapped to OpenFlow numbers, which
/// rvs's datapath uses, see [`dpctl_dump_flows_text_matches_ovs`]), then
/// none (no heading either) after `dpctl/del-flows`.
#[test]
fn dpctl_flows_match_ovs_after_the_same_traffic() {
    let t = "dpctl_flows_match_ovs_after_the_same_traffic";
    if !tool_available(t, "ovs-appctl") {
        return;
    }
    let Some(p) = counters_pair(t) else {
        return;
    };
    let [r, o] = p.ctl_clients_agree(&["dpctl/dump-flows"]);
    let sorted = |text: &str| {
        let mut l: Vec<String> = text.lines().map(String::from).collect();
        l.sort();
        l
    };
    assert_eq!(
        (r.0, sorted(&r.1), &r.2),
        (o.0, sorted(&odp_to_ofp(&p, &o.1)), &o.2),
        "rvs (left) vs ovs-vswitchd (right)"
    );
    assert_eq!(sorted(&r.1).len(), 3, "{r:?}");
    assert!(
        r.1.starts_with("flow-dump from the main thread:\n"),
        "{r:?}"
    );
    p.ctl_same(&["dpctl/del-flows"]);
    let [r, o] = p.ctl_clients_agree(&["dpctl/dump-flows"]);
    assert_eq!((sorted(&r.1), sorted(&o.1)), (vec![], vec![]));
}

/// The same, text for text.
#[test]
#[ignore = "deliberate deviation: rvs's datapath numbers its ports with their OpenFlow \
            numbers, so in_port(N) and output actions say 1 and 2 where OVS's netdev \
            datapath says 2 and 3 (its own numbering: 0 = the ovs-netdev device, 1 = \
            the br0 internal port, then ports in the order added); heading and flow \
            lines are otherwise OVS's, as dpctl_flows_match_ovs_after_the_same_traffic \
            checks with the numbers mapped (issue 7)"]
fn dpctl_dump_flows_text_matches_ovs() {
    let t = "dpctl_dump_flows_text_matches_ovs";
    if !tool_available(t, "ovs-appctl") {
        return;
    }
    let Some(p) = counters_pair(t) else {
        return;
    };
    let [r, o] = p.ctl_clients_agree(&["dpctl/dump-flows"]);
    let sorted = |x: &(Option<i32>, String, String)| {
        let mut l: Vec<String> = x.1.lines().map(String::from).collect();
        l.sort();
        (x.0, l, x.2.clone())
    };
    assert_eq!(sorted(&r), sorted(&o), "rvs (left) vs ovs-vswitchd (right)");
}
