//! In-memory harness: flow text in, translations and traces out.
#![allow(dead_code)]

mod bed;
// Only the tests that run a datapath use these.
#[allow(unused_imports)]
pub use bed::*;

use datapath::key::FlowKey;
use ofp_codec::msg::flow_mod::FlowMod;
use ofp_codec::text::{Command, parse_flow_mod};
use ofp_codec::{Match, OfpError};
use ofproto::{Config, Ofproto, Port, Translation, XlateOptions};

/// Parses a flow line as `ovs-ofctl add-flow` (or another command) would send it.
pub fn fm(cmd: Command, line: &str) -> FlowMod {
    parse_flow_mod(line, cmd)
        .unwrap_or_else(|e| panic!("{line}: {e}"))
        .to_flow_mod()
}

pub fn add(line: &str) -> FlowMod {
    fm(Command::Add, line)
}

/// A bridge with ports 1..=n_ports.
pub fn bridge(n_ports: u32) -> Ofproto {
    let mut of = Ofproto::new(Config::default());
    for p in 1..=n_ports {
        of.port_add(Port::new(p, format!("p{p}")));
    }
    of
}

/// Installs `flows` (one per line, `#` comments) at time 0.
pub fn load(of: &mut Ofproto, flows: &str) {
    for line in flows
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        of.handle_flow_mod(&add(line), 0)
            .unwrap_or_else(|e| panic!("{line}: {e:?}"));
    }
}

pub fn try_add(of: &mut Ofproto, line: &str) -> Result<(), OfpError> {
    of.handle_flow_mod(&add(line), 0)
}

/// A datapath key from a match-syntax packet description.
pub fn key(desc: &str) -> FlowKey {
    let m = Match::parse(desc).unwrap_or_else(|e| panic!("{desc}: {}", e.msg));
    ofproto::rule::RuleMatch::from_match(&m).value.key()
}

pub fn xlate(of: &Ofproto, desc: &str) -> Translation {
    of.translate(
        &key(desc),
        XlateOptions {
            now_ms: 0,
            side_effects: true,
            trace: false,
        },
    )
}

/// Datapath actions of translating `desc`, as text.
pub fn acts(of: &Ofproto, desc: &str) -> String {
    datapath::actions::format_actions(&xlate(of, desc).actions)
}

/// `line` parsed as an ADD, with its match replaced by `match_text`: how a
/// controller can send what `ovs-ofctl` itself would refuse to encode.
pub fn add_with_match(match_text: &str, line: &str) -> FlowMod {
    let mut f = add(line);
    f.match_ = Match::parse(match_text).unwrap();
    f
}

/// Adds group `id` of type `all`, one bucket per action text.
pub fn add_all_group(of: &mut Ofproto, id: u32, buckets: &[&str]) {
    use ofp_codec::msg::group_mod::{Bucket, GroupMod, GroupModCommand, GroupType};
    let buckets = buckets
        .iter()
        .map(|text| Bucket {
            weight: 0,
            watch_port: u32::MAX,
            watch_group: u32::MAX,
            actions: ofp_codec::action::parse_action_list(text)
                .unwrap_or_else(|e| panic!("{text}: {e}")),
        })
        .collect();
    let gm = GroupMod {
        command: GroupModCommand::ADD,
        group_type: GroupType::ALL,
        group_id: id,
        buckets,
    };
    of.handle_group_mod(&gm, 0).unwrap();
}
