//! `controller(pause)` and resuming (`NXT_RESUME`): freezing, the
//! continuation a packet-in carries, and translating the rest.

mod common;

use common::*;
use datapath::DpAction;
use datapath::extract::{PacketMeta, extract};
use ofp_codec::Field;
use ofp_codec::msg::PacketIn2;
use ofp_codec::msg::resume::{NXR_STALE, Paused, resume_for};
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

/// Translates the frame entering on `in_port`; returns the translation
/// and, if it paused, the packet-in the datapath's upcall gives.
fn run(of: &Ofproto, in_port: u32) -> (Translation, Option<PacketInEvent>) {
    let k = extract(
        &PacketMeta {
            in_port,
            ..PacketMeta::default()
        },
        &frame(),
    );
    let t = of.translate(&k, OPTS);
    let pin = match t.actions.last() {
        Some(DpAction::Userspace { userdata }) => of.packet_in(&datapath::UserspacePacket {
            in_port,
            userdata: *userdata,
            key: k,
            packet: frame(),
        }),
        _ => None,
    };
    (t, pin)
}

/// What a controller echoing the packet-in sends back, decoded as the
/// switch decodes it.
fn resume_of(ev: &PacketInEvent) -> (PacketIn2, Paused) {
    let mut p2 = PacketIn2::from_packet_in(&ev.packet_in);
    p2.continuation.clone_from(&ev.continuation);
    let bytes = ofp_codec::Message::Resume(resume_for(&p2)).encode(1);
    ofp_codec::msg::resume::decode_resume(&bytes).unwrap()
}

fn text(t: &Translation) -> String {
    datapath::actions::format_actions(&t.actions)
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
    let groups: Vec<(u8, u64, String)> = paused
        .groups
        .iter()
        .map(|g| {
            (
                g.table_id,
                g.cookie,
                ofp_codec::action::format_actions(&g.actions),
            )
        })
        .collect();
    assert_eq!(
        groups,
        vec![(1, 2, "output:2".into()), (0, 1, "output:3".into())]
    );
    let r = of.resume_translation(&pin, &paused, OPTS).unwrap();
    assert_eq!(text(&r), "2,3");
    // The packet-in says where the pause happened.
    assert_eq!(ev.packet_in.table_id, 1);
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
    let ev = of
        .packet_in(&datapath::UserspacePacket {
            in_port: 1,
            userdata: up,
            key: extract(
                &PacketMeta {
                    in_port: 1,
                    ..PacketMeta::default()
                },
                &frame(),
            ),
            packet: frame(),
        })
        .unwrap();
    assert!(ev.continuation.is_empty());
}
