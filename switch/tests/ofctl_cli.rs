//! `rvs ofctl` end to end: the acceptance commands, against Debian's
//! `ovs-ofctl` where it is installed (required under `CI=true`).

use std::process::{Command, Output};

fn rvs(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rvs"))
        .args(args)
        .output()
        .expect("run rvs")
}

fn ovs_ofctl(args: &[&str]) -> Option<Output> {
    match Command::new("ovs-ofctl").args(args).output() {
        Ok(o) => Some(o),
        Err(_) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("ovs-ofctl is missing and CI=true: apt-get install -y openvswitch-common")
        }
        Err(_) => {
            eprintln!("ovs-ofctl not found: skipping the comparison");
            None
        }
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

const FLOW: &str = "table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1)";

#[test]
fn parse_flow_prints_what_ovs_ofctl_prints() {
    let out = rvs(&["ofctl", "-O", "OpenFlow13", "parse-flow", FLOW]);
    assert!(out.status.success(), "rvs failed: {}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "usable protocols: OXM,NXM+table_id\nchosen protocol: OXM-OpenFlow13\n\
         OFPT_FLOW_MOD (OF1.3) (xid=0x1): ADD priority=100,ct_state=-trk,ip actions=ct(table=1)\n"
    );
    if let Some(ovs) = ovs_ofctl(&["-O", "OpenFlow13", "parse-flow", FLOW]) {
        assert_eq!(text(&out.stdout), text(&ovs.stdout));
    }
}

#[test]
fn hex_gives_the_bytes_ovs_ofctl_dumps() {
    let out = rvs(&["ofctl", "-O", "OpenFlow13", "parse-flow", "--hex", FLOW]);
    assert!(out.status.success(), "rvs failed: {}", text(&out.stderr));
    let expected_dump = "\
00000000  04 0e 00 68 00 00 00 01-00 00 00 00 00 00 00 00 |...h............|
00000010  00 00 00 00 00 00 00 00-00 00 00 00 00 00 00 64 |...............d|
00000020  ff ff ff ff ff ff ff ff-ff ff ff ff 00 00 00 00 |................|
00000030  00 01 00 16 80 00 0a 02-08 00 00 01 d3 08 00 00 |................|
00000040  00 00 00 00 00 20 00 00-00 04 00 20 00 00 00 00 |..... ..... ....|
00000050  ff ff 00 18 00 00 23 20-00 23 00 00 00 00 00 00 |......# .#......|
00000060  00 00 01 00 00 00 00 00-                        |........        |
";
    assert!(
        text(&out.stdout).ends_with(expected_dump),
        "got:\n{}",
        text(&out.stdout)
    );
    let file = std::env::temp_dir().join(format!("rvs-cli-{}.flows", std::process::id()));
    std::fs::write(&file, format!("{FLOW}\n")).unwrap();
    if let Some(ovs) = ovs_ofctl(&[
        "-O",
        "OpenFlow13",
        "-mmmmm",
        "parse-flows",
        file.to_str().unwrap(),
    ]) {
        assert_eq!(
            text(&out.stdout),
            text(&ovs.stdout),
            "rvs --hex differs from ovs-ofctl -mmmmm"
        );
    }
    let _ = std::fs::remove_file(&file);
}

#[test]
fn ct_without_ip_is_refused_with_ofpbac_match_inconsistent() {
    let out = rvs(&["ofctl", "parse-flow", "arp,actions=ct(table=1)"]);
    assert!(!out.status.success());
    assert_eq!(
        text(&out.stderr),
        "rvs ofctl: actions are invalid with specified match (OFPBAC_MATCH_INCONSISTENT)\n"
    );
}

#[test]
fn parse_flows_on_the_example_matches_ovs_ofctl() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/firewall.flows");
    let out = rvs(&["ofctl", "parse-flows", path]);
    assert!(out.status.success(), "rvs failed: {}", text(&out.stderr));
    assert!(text(&out.stdout).contains(
        "ADD table:1 priority=100,ct_state=+new+trk,ip,in_port=1 actions=ct(commit),output:2"
    ));
    if let Some(ovs) = ovs_ofctl(&["-O", "OpenFlow13", "parse-flows", path]) {
        assert_eq!(text(&out.stdout), text(&ovs.stdout));
    }
}

#[test]
fn ofp_print_accepts_spaced_hex_like_ovs_ofctl() {
    let hex = "04 0e 00 68 00 00 00 01 00 00 00 00 00 00 00 00\n00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 64 \
               ff ff ff ff ff ff ff ff ff ff ff ff 00 00 00 00 00 01 00 16 80 00 0a 02 08 00 00 01 d3 08 00 00 \
               00 00 00 00 00 20 00 00 00 04 00 20 00 00 00 00 ff ff 00 18 00 00 23 20 00 23 00 00 00 00 00 00 \
               00 00 01 00 00 00 00 00";
    let out = rvs(&["ofctl", "ofp-print", hex]);
    assert!(out.status.success(), "rvs failed: {}", text(&out.stderr));
    if let Some(ovs) = ovs_ofctl(&["ofp-print", hex]) {
        assert_eq!(text(&out.stdout), text(&ovs.stdout));
    }
    let bad = rvs(&["ofctl", "ofp-print", "04 0e zz"]);
    assert!(!bad.status.success());
    assert_eq!(
        text(&bad.stderr),
        "rvs ofctl: trailing garbage following hex bytes\n"
    );
}

#[test]
fn missing_file_and_bad_line_name_the_problem() {
    let out = rvs(&["ofctl", "parse-flows", "/nonexistent/x.flows"]);
    assert!(!out.status.success());
    assert_eq!(
        text(&out.stderr),
        "rvs ofctl: /nonexistent/x.flows: open failed (No such file or directory)\n"
    );
    let file = std::env::temp_dir().join(format!("rvs-cli-bad-{}.flows", std::process::id()));
    std::fs::write(&file, "# comment\n\nip,actions=drop\nfoo=1,actions=drop\n").unwrap();
    let out = rvs(&["ofctl", "parse-flows", file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains(":4: "),
        "no line number: {}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_file(&file);
}

#[test]
fn parse_flows_takes_add_flows_command_prefixes() {
    let file = std::env::temp_dir().join(format!("rvs-cli-cmd-{}.flows", std::process::id()));
    std::fs::write(
        &file,
        "add ip,actions=drop\nmodify_strict priority=5,ip,actions=output:1\ndelete tcp\n",
    )
    .unwrap();
    let out = rvs(&["ofctl", "parse-flows", file.to_str().unwrap()]);
    let _ = std::fs::remove_file(&file);
    assert!(out.status.success(), "rvs failed: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{stdout}");
    assert!(lines[2].ends_with("): ADD ip actions=drop"), "{stdout}");
    assert!(
        lines[3].contains("): MOD_STRICT priority=5,ip actions=output:1"),
        "{stdout}"
    );
    assert!(lines[4].contains("): DEL "), "{stdout}");
}
