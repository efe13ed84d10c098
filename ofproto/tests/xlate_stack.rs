//! The `push:`/`pop:` field stack (`src/xlate/stack.rs`): values, megaflow
//! masks, and the stack carried through `ct(table=N)` recirculations, forks
//! and `controller(pause)` continuations.

mod common;

use common::*;
use datapath::DpAction;
use datapath::extract::{PacketMeta, extract};
use datapath::key::FlowKey;
use ofp_codec::Field;
use ofproto::{Translation, XlateError, XlateOptions};

const OPTS: XlateOptions = XlateOptions {
    now_ms: 0,
    side_effects: true,
    trace: false,
};

fn text(t: &Translation) -> String {
    datapath::actions::format_actions(&t.actions)
}

/// `desc` coming back from a `ct` with `recirc_id` and `+trk+new`.
fn recirculated(desc: &str, recirc_id: u32) -> FlowKey {
    let mut k = key(&format!("{desc},ct_state=+trk+new"));
    k.set_recirc_id(recirc_id);
    k
}

fn recirc_id_of(t: &Translation) -> u32 {
    match t.actions.last() {
        Some(DpAction::Recirc(id)) => *id,
        _ => panic!("no recirc at the end: {}", text(t)),
    }
}

#[test]
fn push_installs_and_pop_writes_back_the_pushed_bits() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,tcp,actions=push:NXM_OF_TCP_SRC[0..7],pop:NXM_NX_REG1[8..15],resubmit(,1)
         table=1,priority=10,reg1=0x3400/0xff00,actions=output:2
         table=1,priority=1,actions=output:3",
    );
    let t = xlate(&of, "in_port=1,tcp,tp_src=0x1234,tp_dst=80");
    assert_eq!(t.error, None);
    assert_eq!(text(&t), "2");
    assert_eq!(t.final_flow.get(Field::Reg(1)), 0x3400);
    // Only the pushed bits of tcp_src matter (OVS's un-wildcarding of
    // push's source); tcp_dst was never read.
    assert_eq!(t.mask.tp_src(), 0x00ff);
    assert_eq!(t.mask.tp_dst(), 0);
    assert_eq!(t.wc.get(Field::Reg(1)), 0xff00, "pop's destination bits");
    let other = xlate(&of, "in_port=1,tcp,tp_src=0x1299,tp_dst=80");
    assert_eq!(text(&other), "3");
}

#[test]
fn the_stack_is_last_in_first_out_and_pop_zero_extends_or_truncates() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,ip,actions=load:0x11223344->NXM_NX_REG0[],load:0xabcd->NXM_NX_REG1[],\
         push:NXM_NX_REG0[],push:NXM_NX_REG1[0..11],push:NXM_NX_REG0[],\
         pop:NXM_NX_REG2[0..7],pop:NXM_NX_REG3[],pop:NXM_NX_REG4[4..19],output:2",
    );
    let t = xlate(&of, "in_port=1,udp");
    assert_eq!(t.error, None);
    assert_eq!(text(&t), "2");
    let f = t.final_flow;
    // A 4-byte value into 8 bits: its low byte.
    assert_eq!(f.get(Field::Reg(2)), 0x44);
    // A 12-bit push (2 bytes on the stack) into 32 bits: zero-extended.
    assert_eq!(f.get(Field::Reg(3)), 0xbcd);
    // The bottom value into a 16-bit window at bit 4.
    assert_eq!(f.get(Field::Reg(4)), 0x3344 << 4);
}

#[test]
fn pop_into_a_packet_field_rewrites_the_packet_and_its_mask() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,tcp,actions=push:NXM_OF_TCP_SRC[],pop:NXM_OF_TCP_DST[],output:2",
    );
    let t = xlate(&of, "in_port=1,tcp,tp_src=1000,tp_dst=80");
    assert_eq!(t.final_flow.key().tp_dst(), 1000);
    assert_eq!(t.mask.tp_src(), 0xffff);
    assert_eq!(t.mask.tp_dst(), 0xffff);
    assert!(
        matches!(
            t.actions.as_slice(),
            [DpAction::Set(_), DpAction::Output(2)]
        ),
        "{}",
        text(&t)
    );
}

#[test]
fn pop_from_an_empty_stack_leaves_the_field_and_goes_on() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,ip,actions=load:7->NXM_NX_REG2[],pop:NXM_NX_REG2[],resubmit(,1)
         table=1,priority=10,reg2=7,actions=output:2
         table=1,priority=1,actions=output:3",
    );
    let t = xlate(&of, "in_port=1,udp");
    assert_eq!(t.error, None);
    assert_eq!(text(&t), "2");
    let trace = of.trace("in_port=1,udp", &[], 0).unwrap();
    assert!(
        trace.contains("    pop:NXM_NX_REG2[]\n     >>>> stack underflow <<<<\n"),
        "{trace}"
    );
}

#[test]
fn a_pop_is_traced_with_the_new_value_as_ovs() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,tcp,actions=push:NXM_OF_TCP_SRC[],pop:NXM_NX_REG1[],push:NXM_OF_TCP_SRC[],\
         pop:NXM_NX_REG2[4..19],output:2",
    );
    let trace = of.trace("in_port=1,tcp,tp_src=0x1234", &[], 0).unwrap();
    assert!(
        trace.contains("    pop:NXM_NX_REG1[]\n     -> NXM_NX_REG1[] is now 0x1234\n"),
        "{trace}"
    );
    assert!(
        trace.contains("    pop:NXM_NX_REG2[4..19]\n     -> NXM_NX_REG2[4..19] is now 0x1234\n"),
        "{trace}"
    );
}

#[test]
fn a_clone_works_on_a_copy_of_the_stack() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,ip,actions=load:5->NXM_NX_REG0[],push:NXM_NX_REG0[],\
         clone(pop:NXM_NX_REG1[],push:NXM_NX_REG0[],push:NXM_NX_REG0[]),\
         pop:NXM_NX_REG2[],pop:NXM_NX_REG3[],load:9->NXM_NX_REG3[],pop:NXM_NX_REG3[],\
         resubmit(,1)
         table=1,priority=10,reg2=5,reg3=9,actions=output:2
         table=1,priority=1,actions=output:3",
    );
    // Inside the clone the pushed 5 was there; after it, the stack is as
    // before the clone (one value): reg2 gets it, then two underflows
    // leave reg3 alone.
    let t = xlate(&of, "in_port=1,udp");
    assert_eq!(t.error, None);
    assert_eq!(text(&t), "2");
}

#[test]
fn the_stack_survives_a_ct_recirculation() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,ip,actions=load:0x2a->NXM_NX_REG0[],push:NXM_NX_REG0[],load:0->NXM_NX_REG0[],ct(table=1)
         table=1,ip,ct_state=+trk,actions=pop:NXM_NX_REG1[],resubmit(,2)
         table=2,priority=10,reg1=0x2a,reg0=0,actions=output:2
         table=2,priority=1,actions=output:3",
    );
    let t = xlate(&of, "in_port=1,udp");
    assert_eq!(text(&t), "ct,recirc(0x1)");
    let t2 = of.translate(&recirculated("in_port=1,udp", 1), OPTS);
    assert_eq!(t2.error, None);
    assert_eq!(text(&t2), "2");
    // The state behind the id carries the stack.
    assert_eq!(t2.final_flow.get(Field::Reg(1)), 0x2a);
}

#[test]
fn different_stacks_freeze_into_different_recirculation_ids() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,tcp,actions=push:NXM_OF_TCP_SRC[],ct(table=1)
         table=1,tcp,ct_state=+trk,actions=pop:NXM_NX_REG5[0..15],resubmit(,2)
         table=2,priority=10,reg5=1000,actions=output:2
         table=2,priority=1,actions=output:3",
    );
    let a = xlate(&of, "in_port=1,tcp,tp_src=1000");
    let b = xlate(&of, "in_port=1,tcp,tp_src=2000");
    let a2 = xlate(&of, "in_port=1,tcp,tp_src=1000");
    let (ia, ib) = (recirc_id_of(&a), recirc_id_of(&b));
    assert_ne!(ia, ib, "the stack is part of the frozen state's key");
    assert_eq!(recirc_id_of(&a2), ia, "same stack, same id");
    // The recirculation id is a function of the pushed bits: matched.
    assert_eq!(a.mask.tp_src(), 0xffff);
    // After recirculation each id resumes with its own stack (the packet
    // itself no longer decides).
    let desc = "in_port=1,tcp,tp_src=2000";
    assert_eq!(text(&of.translate(&recirculated(desc, ia), OPTS)), "2");
    assert_eq!(text(&of.translate(&recirculated(desc, ib), OPTS)), "3");
}

#[test]
fn a_forked_pass_resumes_with_the_stack_of_its_fork() {
    let mut of = bridge(4);
    load(
        &mut of,
        "table=0,ip,actions=load:0x2a->NXM_NX_REG0[],push:NXM_NX_REG0[],ct(table=1),\
         pop:NXM_NX_REG2[],resubmit(,2)
         table=1,ip,ct_state=+trk,actions=pop:NXM_NX_REG1[],resubmit(,3)
         table=2,priority=10,reg2=0x2a,actions=output:4
         table=3,priority=10,reg1=0x2a,actions=output:2
         table=3,priority=1,actions=output:3",
    );
    // The original pops its own copy after the fork (output:4); the pass
    // pops the frozen one (output:2), then the tail runs.
    let t = xlate(&of, "in_port=1,udp");
    assert_eq!(t.error, None);
    let f = recirc_id_of(&t);
    let t2 = of.translate(&recirculated("in_port=1,udp", f), OPTS);
    assert_eq!(t2.error, None);
    assert_eq!(text(&t2), "2,4");
}

#[test]
fn over_64_kb_of_stack_at_a_resubmit_fails_the_translation_as_ovs() {
    let mut of = bridge(3);
    // 120 IPv6 addresses (17 bytes each on OVS's stack) per pass through
    // table 0, which resubmits to itself: the stack reaches 64 kB before
    // the depth limit (64) does.
    let pushes = "push:NXM_NX_IPV6_SRC[],".repeat(120);
    load(
        &mut of,
        &format!("table=0,ipv6,actions={pushes}resubmit(,0)"),
    );
    let t = xlate(&of, "in_port=1,ipv6");
    // 120 values (2040 bytes) per level: level 33 has 67,320 bytes.
    assert_eq!(t.error, Some(XlateError::StackTooDeep));
    assert_eq!(XlateError::StackTooDeep.as_str(), "Stack too deep");
    let trace = of.trace("in_port=1,ipv6", &[], 0).unwrap();
    assert!(
        trace.contains(">>>> resubmits yielded over 64 kB of stack <<<<"),
        "{trace}"
    );
}

#[test]
fn push_and_pop_install_and_keep_ovs_validation_errors() {
    let mut of = bridge(2);
    try_add(&mut of, "actions=push:NXM_NX_REG0[],pop:NXM_NX_REG1[]").unwrap();
    try_add(
        &mut of,
        "tcp,actions=push:NXM_OF_TCP_SRC[0..7],pop:NXM_NX_REG2[8..15]",
    )
    .unwrap();
    // A source whose prerequisites the match lacks: as ovs-ofctl/OVS.
    let mut f = add("tcp,actions=push:NXM_OF_TCP_SRC[]");
    f.match_ = ofp_codec::Match::parse("ip").unwrap();
    assert_eq!(
        of.handle_flow_mod(&f, 0),
        Err(ofp_codec::OfpError::OFPBAC_MATCH_INCONSISTENT)
    );
}

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

fn pause_packet_in(of: &ofproto::Ofproto) -> ofproto::PacketInEvent {
    let meta = PacketMeta {
        in_port: 1,
        ..PacketMeta::default()
    };
    let k = extract(&meta, &frame());
    let t = of.translate(&k, OPTS);
    let Some(userdata) = t.actions.iter().find_map(|a| match a {
        DpAction::Userspace { userdata } => Some(userdata),
        _ => None,
    }) else {
        panic!("no userspace action: {}", text(&t));
    };
    of.packet_in(&datapath::UserspacePacket {
        in_port: 1,
        userdata: *userdata,
        key: k,
        packet: frame(),
    })
    .expect("a packet-in")
}

#[test]
fn a_pause_carries_the_stack_as_ovs_and_resume_restores_it() {
    let mut of = bridge(3);
    // The pipeline of the OVS 3.1 NXT_RESUME in ofp-codec's resume tests
    // (`push:NXM_NX_REG0[],controller(pause),...` with reg0 = 5), popped
    // after the resume.
    load(
        &mut of,
        "table=0,in_port=1,actions=load:5->NXM_NX_REG0[],push:NXM_NX_REG0[],\
         load:0x77->NXM_NX_REG0[0..7],push:NXM_NX_REG0[0..7],controller(pause),\
         pop:NXM_NX_REG1[],pop:NXM_NX_REG2[],resubmit(,1)
         table=1,priority=10,reg1=0x77,reg2=5,actions=output:2
         table=1,priority=1,actions=output:3",
    );
    let ev = pause_packet_in(&of);
    // OVS writes one NXCPT_STACK property per value, top first: the 1-byte
    // 0x77 (padded to 8), then the 4-byte 0x00000005 (as in OVS's message).
    let stack_props = [
        0x80, 0x01, 0x00, 0x05, 0x77, 0, 0, 0, 0x80, 0x01, 0x00, 0x08, 0, 0, 0, 5,
    ];
    assert!(
        ev.continuation
            .windows(stack_props.len())
            .any(|w| w == stack_props),
        "{:02x?}",
        ev.continuation
    );
    let (pin, paused) = resume_of(&ev);
    assert_eq!(paused.stack, vec![vec![0x77], vec![0, 0, 0, 5]]);
    let r = of.resume_translation(&pin, &paused, OPTS).unwrap();
    assert_eq!(r.error, None);
    assert_eq!(text(&r), "2");
    // A controller that edits the continuation's stack changes the outcome.
    let mut edited = paused.clone();
    edited.stack[1] = vec![0x78];
    let r = of.resume_translation(&pin, &edited, OPTS).unwrap();
    assert_eq!(text(&r), "3");
}

#[test]
fn a_pause_inside_a_clone_freezes_the_clones_stack() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,in_port=1,actions=load:1->NXM_NX_REG0[],push:NXM_NX_REG0[],\
         clone(load:2->NXM_NX_REG0[],push:NXM_NX_REG0[],controller(pause),pop:NXM_NX_REG1[],resubmit(,1)),\
         output:3
         table=1,priority=10,reg1=2,actions=output:2",
    );
    let ev = pause_packet_in(&of);
    let (pin, paused) = resume_of(&ev);
    assert_eq!(paused.stack, vec![vec![0, 0, 0, 2], vec![0, 0, 0, 1]]);
    let r = of.resume_translation(&pin, &paused, OPTS).unwrap();
    assert_eq!(text(&r), "2");
}

/// `ovs-appctl ofproto/trace` of OVS 3.1 (userspace datapath) for the
/// same flows, with its datapath port of `p2` (3) written as rvs's (2).
const OVS_TRACE_POP: &str = r#"Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:05,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=4660,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. tcp, priority 32768
    push:NXM_OF_TCP_SRC[0..7]
    pop:NXM_NX_REG1[8..15]
     -> NXM_NX_REG1[8..15] is now 0x34
    push:NXM_OF_ETH_DST[]
    pop:NXM_OF_ETH_SRC[]
     -> NXM_OF_ETH_SRC[] is now 00:00:00:00:00:05
    resubmit(,1)
 1. reg1=0x3400/0xff00, priority 10
    output:2

Final flow: tcp,reg1=0x3400,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:05,dl_dst=00:00:00:00:00:05,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=4660,tp_dst=80,tcp_flags=0
Megaflow: recirc_id=0,eth,tcp,in_port=1,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:05,nw_frag=no,tp_src=0x34/0xff
Datapath actions: set(eth(src=00:00:00:00:00:05)),2
"#;

/// `move` reports its destination the same way.
const OVS_TRACE_MOVE: &str = r#"Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:07,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=4660,tp_dst=0,tcp_flags=0

bridge("br0")
-------------
 0. tcp, priority 32768
    move:NXM_OF_TCP_SRC[]->NXM_NX_REG0[0..15]
     -> NXM_NX_REG0[0..15] is now 0x1234
    move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]
     -> NXM_OF_ETH_DST[] is now 00:00:00:00:00:07
    move:NXM_OF_IN_PORT[]->NXM_NX_REG1[0..15]
     -> NXM_NX_REG1[0..15] is now 0x1
    move:NXM_NX_REG0[0..7]->NXM_NX_REG2[8..15]
     -> NXM_NX_REG2[8..15] is now 0x34
    output:2

Final flow: tcp,reg0=0x1234,reg1=0x1,reg2=0x3400,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:07,dl_dst=00:00:00:00:00:07,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=4660,tp_dst=0,tcp_flags=0
Megaflow: recirc_id=0,eth,tcp,in_port=1,dl_src=00:00:00:00:00:07,dl_dst=00:00:00:00:00:00,nw_frag=no,tp_src=4660
Datapath actions: set(eth(dst=00:00:00:00:00:07)),2
"#;

const OVS_TRACE_CT: &str = r#"Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=1000,tp_dst=0,tcp_flags=0

bridge("br0")
-------------
 0. tcp, priority 32768
    load:0x2a->NXM_NX_REG0[]
    push:NXM_NX_REG0[]
    push:NXM_OF_TCP_SRC[]
    load:0->NXM_NX_REG0[]
    ct(table=1)
    drop
     -> A clone of the packet is forked to recirculate. The forked pipeline will be resumed at table 1.
     -> Sets the packet to an untracked state, and clears all the conntrack fields.

Final flow: unchanged
Megaflow: recirc_id=0,eth,tcp,in_port=1,nw_frag=no,tp_src=1000
Datapath actions: ct,recirc(0x1)

===============================================================================
recirc(0x1) - resume conntrack with default ct_state=trk|new (use --ct-next to customize)
===============================================================================

Flow: recirc_id=0x1,ct_state=new|trk,eth,tcp,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=1000,tp_dst=0,tcp_flags=0

bridge("br0")
-------------
    thaw
        Resuming from table 1
 1. ct_state=+trk,ip, priority 32768
    pop:NXM_NX_REG3[0..15]
     -> NXM_NX_REG3[0..15] is now 0x3e8
    pop:NXM_NX_REG1[]
     -> NXM_NX_REG1[] is now 0x2a
    resubmit(,2)
 2. reg0=0,reg1=0x2a, priority 10
    output:2

Final flow: recirc_id=0x1,ct_state=new|trk,eth,tcp,reg1=0x2a,reg3=0x3e8,in_port=1,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no,tp_src=1000,tp_dst=0,tcp_flags=0
Megaflow: recirc_id=0x1,ct_state=+trk,eth,ip,in_port=1,nw_frag=no
Datapath actions: 2
"#;

#[test]
fn traces_match_ovs_for_push_pop_move_and_a_ct_recirculation() {
    for (flows, pkt, expected) in [
        (
            r#"table=0,tcp,actions=push:NXM_OF_TCP_SRC[0..7],pop:NXM_NX_REG1[8..15],push:NXM_OF_ETH_DST[],pop:NXM_OF_ETH_SRC[],resubmit(,1)
table=1,priority=10,reg1=0x3400/0xff00,actions=output:2
table=1,priority=1,actions=output:3"#,
            r#"in_port=1,tcp,tp_src=0x1234,tp_dst=80,dl_dst=00:00:00:00:00:05"#,
            OVS_TRACE_POP,
        ),
        (
            r#"table=0,tcp,actions=load:0x2a->NXM_NX_REG0[],push:NXM_NX_REG0[],push:NXM_OF_TCP_SRC[],load:0->NXM_NX_REG0[],ct(table=1)
table=1,ip,ct_state=+trk,actions=pop:NXM_NX_REG3[0..15],pop:NXM_NX_REG1[],resubmit(,2)
table=2,priority=10,reg1=0x2a,reg0=0,actions=output:2
table=2,priority=1,actions=output:3"#,
            r#"in_port=1,tcp,tp_src=1000"#,
            OVS_TRACE_CT,
        ),
        (
            r#"table=0,tcp,actions=move:NXM_OF_TCP_SRC[]->NXM_NX_REG0[0..15],move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],move:NXM_OF_IN_PORT[]->NXM_NX_REG1[0..15],move:NXM_NX_REG0[0..7]->NXM_NX_REG2[8..15],output:2"#,
            r#"in_port=1,tcp,tp_src=0x1234,dl_src=00:00:00:00:00:07"#,
            OVS_TRACE_MOVE,
        ),
    ] {
        let mut of = bridge(3);
        load(&mut of, flows);
        let out = of.trace(pkt, &[], 0).unwrap();
        assert_eq!(out, expected, "\n{out}");
    }
}

/// The `NXT_PACKET_IN2` OVS 3.1 sends for [`PAUSE_FLOWS`] (frame from port
/// 1, packet-out to the table; captured from ovs-vswitchd).
const OVS_PAUSE_PIN2: &str = "040400e800000000000023200000001e0000002e50540000000a50540000000908004500001c000000004011a4cd0a0101010a0101020001000200080000000000030005000000000005000501000000000600148000000400000001000100040000007700000000000800800000000080000014ddde738de24d3a7e07625a96c289c8bb00000000800100057700000080010008000000058006004800000000ffff001800002320001c0000000102040020000000000000ffff001800002320001c0000000104040020000000000000ffff001000002320000efff8010000008008000800000002";

const PAUSE_FLOWS: &str = r#"table=0,in_port=1,actions=load:5->NXM_NX_REG0[],push:NXM_NX_REG0[],load:0x77->NXM_NX_REG0[0..7],push:NXM_NX_REG0[0..7],controller(pause),pop:NXM_NX_REG1[],pop:NXM_NX_REG2[],resubmit(,1)
table=1,priority=10,reg1=0x77,reg2=5,actions=output:2
table=1,priority=1,actions=output:3"#;

#[test]
fn the_continuation_is_byte_for_byte_ovss_but_for_the_bridge_id_and_odp_port() {
    let mut of = bridge(3);
    load(&mut of, PAUSE_FLOWS);
    let ev = pause_packet_in(&of);
    assert_eq!(ev.packet_in.match_.value(Field::Reg(0)), Some(0x77));
    let bytes = hex(OVS_PAUSE_PIN2);
    let Ok((_, ofp_codec::Message::PacketIn2(ovs))) = ofp_codec::Message::decode(&bytes) else {
        panic!("not a packet-in2");
    };
    // Both start with the 16-byte bridge property (24 bytes); OVS's ends
    // with odp_port (8 bytes), which rvs does not write.
    let ours = &ev.continuation;
    let theirs = &ovs.continuation;
    assert_eq!(ours[..4], theirs[..4]);
    assert_eq!(ours[24..], theirs[24..theirs.len() - 8]);
    assert_eq!(theirs[theirs.len() - 8..theirs.len() - 6], [0x80, 0x08]);
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

mod megaflow_property {
    use super::*;
    use ofproto::Ofproto;
    use proptest::prelude::*;

    /// Pushes and pops of packet fields, into registers and back into the
    /// packet, and a stack carried across `ct(table=2)`.
    const PIPELINE: &str = "
        table=0,priority=10,tcp,actions=push:NXM_OF_TCP_SRC[0..7],push:NXM_OF_TCP_DST[],pop:NXM_NX_REG1[],pop:NXM_NX_REG2[0..3],resubmit(,1)
        table=0,priority=5,udp,actions=push:NXM_OF_UDP_SRC[],ct(table=2)
        table=1,priority=10,reg1=80,reg2=2,actions=output:2
        table=1,priority=5,reg2=3,actions=push:NXM_OF_ETH_SRC[],pop:NXM_OF_ETH_DST[],output:3
        table=1,priority=1,actions=output:1
        table=2,priority=10,ct_state=+trk,actions=pop:NXM_NX_REG3[0..7],resubmit(,3)
        table=3,priority=10,reg3=53,actions=output:2
        table=3,priority=1,actions=output:3
    ";

    const PORTS: [u16; 5] = [2, 3, 0x102, 53, 0x135];

    fn pipeline() -> Ofproto {
        let mut of = bridge(3);
        load(&mut of, PIPELINE);
        // Recirculation ids 1..=5: the UDP source ports' frozen stacks.
        for p in PORTS {
            let mut k = FlowKey::default();
            k.set_in_port(1);
            k.set_eth_type(0x0800);
            k.set_nw_proto(17);
            k.set_tp_src(p);
            let _ = of.translate(&k, OPTS);
        }
        of
    }

    prop_compose! {
        fn arb_key()(
            proto in prop::sample::select(vec![6u8, 17]),
            tp_src in prop::sample::select(PORTS.to_vec()),
            tp_dst in prop::sample::select(vec![80u16, 53, 81]),
            dl_src in 1u64..4,
            dl_dst in 1u64..4,
            recirc in 0u32..=6,
            ct_state in prop::sample::select(vec![0u8, 0x21]),
        ) -> FlowKey {
            let mut k = FlowKey::default();
            k.set_in_port(1);
            k.set_eth_type(0x0800);
            k.set_eth_src_u48(dl_src);
            k.set_eth_dst_u48(dl_dst);
            k.set_nw_proto(proto);
            k.set_tp_src(tp_src);
            k.set_tp_dst(tp_dst);
            k.set_recirc_id(recirc);
            k.set_ct_state(ct_state);
            k
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

        /// A megaflow of a push/pop translation, applied to any key it
        /// matches, gives the actions of translating that key.
        #[test]
        fn push_pop_megaflows_hold_for_every_key_they_match(a in arb_key(), b in arb_key()) {
            let of = pipeline();
            let ta = of.translate(&a, OPTS);
            let mut merged = FlowKey::default();
            for i in 0..merged.w.len() {
                merged.w[i] = (a.w[i] & ta.mask.w[i]) | (b.w[i] & !ta.mask.w[i]);
            }
            prop_assume!(merged.matches(&a, &ta.mask));
            let tb = of.translate(&merged, OPTS);
            prop_assert_eq!(&ta.actions, &tb.actions, "mask {:?}\na {:?}\nb {:?}", ta.mask, a, merged);
            prop_assert_eq!(ta.error, tb.error);
        }
    }
}
