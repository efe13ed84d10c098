//! `controller(pause)` and resuming (`NXT_RESUME`): freezing, the
//! continuation a packet-in carries, and translating the rest.

mod common;

use common::*;
use datapath::DpAction;
use datapath::extract::{PacketMeta, extract};
use datapath::key::FlowKey;
use ofp_codec::Field;
use ofp_codec::msg::resume::{NXR_STALE, Paused};
use ofproto::{Ofproto, PacketInEvent, Translation, XlateOptions};

const OPTS: XlateOptions = XlateOptions {
    now_ms: 0,
    side_effects: true,
    trace: false,
};

/// A UDP frame 10.1.1.1:1 -> 10.1.1.2:2.
fn frame() -> Vec<u8> {
    let mut f = vec![
        0x50, 0x54, 0, 0, 0, 0x0a, 0x50, 0x54, 0, 0, 0, 0x09, 0x08, 0x00,
    ];
    f.extend_from_slice(&[
        0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 1, 1, 1, 10, 1, 1, 2,
    ]);
    f.extend_from_slice(&[0, 1, 0, 2, 0, 8, 0, 0]);
    f
}

/// The datapath key of the frame entering on `in_port`.
fn frame_key(in_port: u32) -> FlowKey {
    extract(
        &PacketMeta {
            in_port,
            ..PacketMeta::default()
        },
        &frame(),
    )
}

/// The packet-in of the frame, entering on `in_port`, sent up by the
/// userspace action with `userdata`.
fn packet_in(of: &Ofproto, in_port: u32, userdata: u64) -> Option<PacketInEvent> {
    of.packet_in(&datapath::UserspacePacket {
        in_port,
        userdata,
        key: frame_key(in_port),
        packet: frame(),
    })
}

/// Translates the frame entering on `in_port`; returns the translation
/// and, if it paused, the packet-in the datapath's upcall gives.
fn run(of: &Ofproto, in_port: u32) -> (Translation, Option<PacketInEvent>) {
    let t = of.translate(&frame_key(in_port), OPTS);
    let pin = match t.actions.last() {
        Some(DpAction::Userspace { userdata }) => packet_in(of, in_port, *userdata),
        _ => None,
    };
    (t, pin)
}

fn text(t: &Translation) -> String {
    datapath::actions::format_actions(&t.actions)
}

/// The frozen levels of `paused`: (table, cookie, actions as text).
fn groups(paused: &Paused) -> Vec<(u8, u64, String)> {
    paused
        .groups
        .iter()
        .map(|g| {
            (
                g.table_id,
                g.cookie,
                ofp_codec::action::format_actions(&g.actions),
            )
        })
        .collect()
}

#[test]
fn pause_then_resume_runs_the_rest() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,in_port=1,actions=set_field:0x5->reg0,controller(pause),output:2",
    );
    let (t, ev) = run(&of, 1);
    // Nothing after the pause reaches the datapath.
    assert!(
        matches!(t.actions.as_slice(), [DpAction::Userspace { .. }]),
        "{}",
        text(&t)
    );
    let ev = ev.expect("a packet-in");
    assert!(!ev.continuation.is_empty());
    assert_eq!(ev.packet_in.match_.value(Field::Reg(0)), Some(5));
    let (pin, paused) = resume_of(&ev);
    assert_eq!(paused.groups.len(), 1);
    assert_eq!(
        ofp_codec::action::format_actions(&paused.groups[0].actions),
        "output:2"
    );
    let r = of.resume_translation(&pin, &paused, OPTS).unwrap();
    assert_eq!(text(&r), "2");
    // The same continuation twice: the state is interned once.
    let (_, ev2) = run(&of, 1);
    assert_eq!(ev2.unwrap().continuation, ev.continuation);
}

#[test]
fn pause_inside_resubmit_freezes_every_level_in_order() {
    let mut of = bridge(4);
    load(
        &mut of,
        "
        table=0,in_port=1,cookie=0x1,actions=resubmit(,1),output:3
        table=1,cookie=0x2,actions=controller(pause),output:2
        table=2,actions=output:4
        ",
    );
    let (_, ev) = run(&of, 1);
    let ev = ev.unwrap();
    let (pin, paused) = resume_of(&ev);
    assert_eq!(
        groups(&paused),
        vec![(1, 2, "output:2".into()), (0, 1, "output:3".into())]
    );
    let r = of.resume_translation(&pin, &paused, OPTS).unwrap();
    assert_eq!(text(&r), "2,3");
    // The packet-in has the cookie of the rule that paused, and table 0
    // (OVS reports the table a pause resumes at, always 0).
    assert_eq!(ev.packet_in.table_id, 0);
    assert_eq!(ev.packet_in.cookie, 2);
}

#[test]
fn goto_table_and_action_set_are_frozen() {
    let mut of = bridge(4);
    load(
        &mut of,
        "
        table=0,in_port=1,actions=controller(pause),write_actions(output:3),goto_table:1
        table=1,actions=output:2
        ",
    );
    let (t, ev) = run(&of, 1);
    assert!(
        !t.actions.iter().any(|a| matches!(a, DpAction::Output(_))),
        "{}",
        text(&t)
    );
    let (pin, paused) = resume_of(&ev.unwrap());
    assert_eq!(
        ofp_codec::action::format_actions(&paused.action_set),
        "output:3"
    );
    let r = of.resume_translation(&pin, &paused, OPTS).unwrap();
    // goto_table:1 outputs to 2, then the action set to 3.
    assert_eq!(text(&r), "2,3");
}

#[test]
fn resume_pauses_again() {
    let mut of = bridge(4);
    load(
        &mut of,
        "table=0,in_port=1,actions=controller(pause),output:2,controller(pause),output:3",
    );
    let (_, ev) = run(&of, 1);
    let (pin, paused) = resume_of(&ev.unwrap());
    let r = of.resume_translation(&pin, &paused, OPTS).unwrap();
    // output:2 then a second pause.
    assert!(
        matches!(
            r.actions.as_slice(),
            [DpAction::Output(2), DpAction::Userspace { .. }]
        ),
        "{}",
        text(&r)
    );
}

#[test]
fn the_controller_may_change_the_metadata_and_packet() {
    let mut of = bridge(4);
    load(
        &mut of,
        "
        table=0,in_port=1,actions=controller(pause),resubmit(,1)
        table=1,reg1=0x7,actions=output:3
        table=1,priority=0,actions=output:2
        ",
    );
    let (_, ev) = run(&of, 1);
    let (mut pin, paused) = resume_of(&ev.unwrap());
    let r = of.resume_translation(&pin, &paused, OPTS).unwrap();
    assert_eq!(text(&r), "2");
    pin.metadata.set_exact(Field::Reg(1), 7).unwrap();
    let r = of.resume_translation(&pin, &paused, OPTS).unwrap();
    assert_eq!(text(&r), "3");
}

#[test]
fn another_bridge_instance_is_stale() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,in_port=1,actions=controller(pause),output:2",
    );
    let (_, ev) = run(&of, 1);
    let (pin, paused) = resume_of(&ev.unwrap());
    let mut other = bridge(3);
    load(
        &mut other,
        "table=0,in_port=1,actions=controller(pause),output:2",
    );
    assert_eq!(
        other.resume_translation(&pin, &paused, OPTS).map(|_| ()),
        Err(NXR_STALE)
    );
    let mut forged = paused.clone();
    forged.bridge = [0; 16];
    assert_eq!(
        of.resume_translation(&pin, &forged, OPTS).map(|_| ()),
        Err(NXR_STALE)
    );
}

#[test]
fn plain_controller_action_has_no_continuation() {
    let mut of = bridge(3);
    load(&mut of, "table=0,in_port=1,actions=controller,output:2");
    let (t, _) = run(&of, 1);
    assert!(matches!(t.actions.last(), Some(DpAction::Output(2))));
    let up = match t.actions.first() {
        Some(DpAction::Userspace { userdata }) => *userdata,
        _ => panic!("{}", text(&t)),
    };
    let ev = packet_in(&of, 1, up).unwrap();
    assert!(ev.continuation.is_empty());
}

/// OVS's "continuation after clone": the pause ends at the clone; what
/// follows the clone runs at once.
#[test]
fn pause_inside_clone_ends_at_the_clone() {
    let mut of = bridge(4);
    load(
        &mut of,
        "
        table=0,in_port=1,actions=set_field:1->reg1,resubmit(,2),output:4
        table=1,reg1=0x5,actions=controller(pause),resubmit(,3)
        table=1,reg1=0x1,actions=output:2
        table=2,in_port=1,actions=clone(set_field:5->reg1,resubmit(,1))
        table=3,reg1=0x1,actions=output:3
        table=3,reg1=0x5,actions=output:2
        ",
    );
    let (t, _) = run(&of, 1);
    // The packet-in first, then output:4 after the clone.
    let ud = match t.actions.as_slice() {
        [DpAction::Userspace { userdata }, DpAction::Output(4)] => *userdata,
        _ => panic!("{}", text(&t)),
    };
    let ev = packet_in(&of, 1, ud).unwrap();
    assert_eq!(ev.packet_in.match_.value(Field::Reg(1)), Some(5));
    let (pin, paused) = resume_of(&ev);
    assert_eq!(paused.groups.len(), 1);
    let r = of.resume_translation(&pin, &paused, OPTS).unwrap();
    // reg1=5 from the metadata: table 3 outputs to 2, and nothing else.
    assert_eq!(text(&r), "2");
}

/// A pause reached from a group bucket (through its resubmit: a bucket runs
/// as an action set, where `controller(pause)` itself is ignored, as in OVS)
/// ends at the bucket: the other buckets run.
#[test]
fn pause_inside_a_group_bucket_ends_at_the_bucket() {
    let mut of = bridge(4);
    add_all_group(&mut of, 1, &["resubmit(,5)", "output:3"]);
    load(&mut of, "table=0,in_port=1,actions=group:1,output:4");
    load(&mut of, "table=5,actions=controller(pause),output:2");
    let (t, _) = run(&of, 1);
    assert!(
        matches!(
            t.actions.as_slice(),
            [
                DpAction::Userspace { .. },
                DpAction::Output(3),
                DpAction::Output(4)
            ]
        ),
        "{}",
        text(&t)
    );
}

/// Runs the frame in at port 1 and resumes every pause (as `ovs-ofctl
/// monitor br0 resume`) until the pipeline ends; returns the ports output
/// to, in order, and the number of resumes.
fn run_resuming(of: &Ofproto) -> (Vec<u32>, usize) {
    let mut t = of.translate(&frame_key(1), OPTS);
    let mut outputs = Vec::new();
    let mut resumes = 0;
    loop {
        assert_eq!(t.error, None);
        let mut paused = None;
        for a in t.actions.iter() {
            match a {
                DpAction::Output(p) => outputs.push(*p),
                DpAction::Userspace { userdata } => {
                    let ev = packet_in(of, 1, *userdata).expect("a packet-in");
                    assert!(!ev.continuation.is_empty(), "{}", text(&t));
                    assert!(paused.is_none(), "two pauses in one pass");
                    paused = Some(ev);
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        let Some(ev) = paused else {
            return (outputs, resumes);
        };
        resumes += 1;
        let (pin, p) = resume_of(&ev);
        t = of.resume_translation(&pin, &p, OPTS).unwrap();
    }
}

/// OVS's `CHECK_CONTINUATION` scenarios (tests/ofproto-dpif.at): with
/// every `pause`, then with one fewer each time, one packet reaches each
/// of ports 2..=N, and there are as many resumes as pauses. ("data stack"
/// is left out: rvs does not run push/pop; "mirroring" and "patch ports":
/// rvs has neither.)
#[test]
fn ovs_continuation_scenarios() {
    let scenarios: [(&str, u32, &str); 6] = [
        ("pause at end of pipeline", 2, "actions=2 pause"),
        (
            "actions",
            7,
            "in_port=1 actions=pause 2 pause 3 pause 4 pause 5 pause 6 pause 7",
        ),
        (
            "resubmit",
            10,
            "table=0 in_port=1  actions=pause 2 pause resubmit(,1) pause 10 pause
             table=1 in_port=1  actions=pause 3 pause resubmit(,2) pause 9 pause
             table=2 in_port=1  actions=pause 4 pause resubmit(,3) pause 8 pause
             table=3 in_port=1  actions=pause 5 pause resubmit:55  pause 7 pause
             table=3 in_port=55 actions=pause 6 pause",
        ),
        (
            "action set",
            3,
            "in_port=1 actions=1 pause resubmit(,1) pause 2
             table=1 actions=write_actions(3)",
        ),
        (
            "goto_table",
            6,
            "table=0 in_port=1 actions=pause 2 pause goto_table:1
             table=1 in_port=1 actions=pause 3 pause goto_table:2
             table=2 in_port=1 actions=pause 4 pause goto_table:3
             table=3 in_port=1 actions=pause 5 pause goto_table:4
             table=4 in_port=1 actions=pause 6 pause",
        ),
        (
            "write_metadata",
            6,
            "table=0 in_port=1             actions=pause 2 pause write_metadata:1/1 goto_table:1
             table=1 in_port=1 metadata=1  actions=pause 3 pause write_metadata:2/2 goto_table:2
             table=2 in_port=1 metadata=3  actions=pause 4 pause write_metadata:4/4 goto_table:3
             table=3 in_port=1 metadata=7  actions=pause 5 pause write_metadata:8/8 goto_table:4
             table=4 in_port=1 metadata=15 actions=pause 6 pause",
        ),
    ];
    for (name, n_ports, flows) in scenarios {
        let mut flows = flows.to_string();
        loop {
            let mut of = bridge(n_ports.max(55));
            let text: String = flows
                .lines()
                .map(|l| {
                    let l = l.split_whitespace().collect::<Vec<_>>().join(",");
                    format!("{}\n", l.replace("pause", "controller(pause)"))
                })
                .collect();
            load(&mut of, &text);
            let pauses = flows.matches("pause").count();
            let (mut outputs, resumes) = run_resuming(&of);
            outputs.sort_unstable();
            let want: Vec<u32> = (2..=n_ports).collect();
            assert_eq!(outputs, want, "{name}:\n{text}");
            assert_eq!(resumes, pauses, "{name}:\n{text}");
            match flows.find("pause") {
                Some(i) => flows.replace_range(i..i + "pause".len(), ""),
                None => break,
            }
        }
    }
}

/// OVS puts `unroll_xlate` only before actions that need the table or
/// cookie (outputs, controller, resubmit to the current table, ...):
/// leading table-independent actions form a group of table 0, cookie 0.
#[test]
fn unroll_groups_are_cut_as_ovs() {
    let mut of = bridge(4);
    load(
        &mut of,
        "
        table=0,in_port=1,cookie=0x5,actions=resubmit(,1),output:3
        table=1,cookie=0x7,actions=controller(pause),set_field:1->reg1,resubmit(,2),output:2,resubmit(,3),output:4
        table=2,actions=drop
        table=3,actions=drop
        ",
    );
    let (_, ev) = run(&of, 1);
    let (_, paused) = resume_of(&ev.unwrap());
    assert_eq!(
        groups(&paused),
        vec![
            (0, 0, "set_field:0x1->reg1,resubmit(,2)".into()),
            (1, 7, "output:2,resubmit(,3),output:4".into()),
            (0, 5, "output:3".into()),
        ]
    );
}

/// `ofproto/trace` of a pause, as OVS 3.1's: the pause is listed, nothing
/// after it, no datapath action and no ct_state in the megaflow.
#[test]
fn trace_of_a_pause_is_ovs() {
    let mut of = bridge(3);
    load(
        &mut of,
        "
        table=0,in_port=1,actions=set_field:1->reg1,resubmit(,1),output:3
        table=1,actions=controller(pause),output:2
        ",
    );
    let out = of.trace("in_port=1,icmp", &[], 0).unwrap();
    let expected = "Flow: icmp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,icmp_type=0,icmp_code=0

bridge(\"br0\")
-------------
 0. in_port=1, priority 32768
    set_field:0x1->reg1
    resubmit(,1)
 1. priority 32768
    controller(pause)

Final flow: icmp,reg1=0x1,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,icmp_type=0,icmp_code=0
Megaflow: recirc_id=0,eth,ip,in_port=1,nw_frag=no
Datapath actions: drop
";
    assert_eq!(out, expected, "\n{out}");
}

/// A pause in a table-miss flow reports reason `action`, as OVS's (a plain
/// `controller` there reports a table miss).
#[test]
fn pause_in_a_table_miss_flow_keeps_reason_action() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,priority=0,actions=controller(pause),output:2",
    );
    let (_, ev) = run(&of, 1);
    assert_eq!(
        ev.unwrap().packet_in.reason,
        ofp_codec::msg::packet_in::PacketInReason::ACTION
    );
}

/// As OVS (the frozen state's `conntracked`, continuations included): after a
/// `ct` without `table` in the same pass, the packet-in of a
/// `controller(pause)` carries no ct fields, although the datapath's key at
/// the userspace action shows the state `ct` gave the packet.
#[test]
fn pause_after_ct_without_table_sends_no_ct_fields() {
    let mut of = bridge(3);
    load(&mut of, "table=0,udp,actions=ct(zone=1),controller(pause)");
    let t = of.translate(&frame_key(1), OPTS);
    let ud = match t.actions.last() {
        Some(DpAction::Userspace { userdata }) => *userdata,
        _ => panic!("{}", text(&t)),
    };
    let mut key = frame_key(1);
    key.set_ct_state(0x21);
    key.set_ct_zone(1);
    let ev = of
        .packet_in(&datapath::UserspacePacket {
            in_port: 1,
            userdata: ud,
            key,
            packet: frame(),
        })
        .unwrap();
    let m = &ev.packet_in.match_;
    assert_eq!(m.value(Field::CtState), None, "{m:?}");
    assert_eq!(m.value(Field::CtZone), None, "{m:?}");
}
