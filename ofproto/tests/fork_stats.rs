//! `ct(table=N)` followed by more actions: OVS forks the packet; rvs's
//! datapath ends an action list at `recirc`, so ofproto chains the passes
//! (`src/xlate/fork.rs`). These tests run translations through a model of
//! rvs's datapath and check OVS's semantics: every pass happens, on the
//! packet as it was at the fork, and credits the rules it hits.

mod common;

use common::*;
use datapath::DpAction;
use datapath::key::FlowKey;
use ofp_codec::Field;
use ofp_codec::msg::flow_stats::FlowStatsRequest;
use ofproto::{OfFlow, Ofproto, XlateOptions};

const OPTS: XlateOptions = XlateOptions {
    now_ms: 0,
    side_effects: true,
    trace: false,
};

/// What a model of rvs's datapath did with one packet.
#[derive(Default, Debug)]
struct Run {
    /// (port, packet key at output).
    outputs: Vec<(u32, FlowKey)>,
    /// Datapath actions of each translation (upcall), in order.
    passes: Vec<String>,
}

/// Upcalls `key` and runs the actions as rvs's datapath does: `ct` marks
/// the packet `+trk+new` in its zone, `set` rewrites it, `recirc` re-enters
/// with the id and ends the list. Every pass is an upcall, credited with
/// one packet of 100 bytes (as the upcall handler does).
fn run(of: &Ofproto, key: FlowKey, r: &mut Run) {
    assert!(r.passes.len() < 16, "recirculation loop: {r:?}");
    let t = of.translate(&key, OPTS);
    assert_eq!(t.error, None, "{r:?}");
    of.credit_translation(&t, 1, 100, 0);
    r.passes.push(datapath::actions::format_actions(&t.actions));
    let mut k = OfFlow::from_key(&key);
    for a in t.actions.iter() {
        match a {
            DpAction::Ct(c) => {
                k.set(Field::CtState, 0x21);
                k.set(Field::CtZone, u128::from(c.zone));
            }
            DpAction::Set(s) => {
                let mut p = k.key();
                apply_set(&mut p, s);
                k = OfFlow::from_key(&p);
            }
            DpAction::Output(p) => r.outputs.push((*p, k.key())),
            DpAction::Recirc(id) => {
                k.set(Field::RecircId, u128::from(*id));
                return run(of, k.key(), r);
            }
            _ => {}
        }
    }
}

fn apply_set(k: &mut FlowKey, s: &datapath::SetAction) {
    let mut f = OfFlow::from_key(k);
    if let datapath::SetAction::Ipv4 {
        src,
        src_mask,
        dst,
        dst_mask,
        ..
    } = *s
    {
        let (os, od) = (f.get(Field::Ipv4Src) as u32, f.get(Field::Ipv4Dst) as u32);
        f.set(
            Field::Ipv4Src,
            u128::from((os & !src_mask) | (src & src_mask)),
        );
        f.set(
            Field::Ipv4Dst,
            u128::from((od & !dst_mask) | (dst & dst_mask)),
        );
    } else {
        panic!("set action not modelled: {s:?}");
    }
    *k = f.key();
}

fn packets(of: &Ofproto) -> Vec<(u8, u64)> {
    let mut v: Vec<(u8, u64)> = of
        .flow_stats(&FlowStatsRequest::default(), 0)
        .iter()
        .map(|s| (s.table_id, s.packet_count))
        .collect();
    v.sort();
    v
}

#[test]
fn two_ct_forks_into_one_table_credit_it_twice() {
    // OVS's "conntrack - resubmit to ct multiple times": OVS 3.1 installs
    // ct,recirc(0x2),ct,recirc(0x2) and counts 2 packets in table 3.
    let mut of = bridge(2);
    load(
        &mut of,
        "table=0,priority=100,ip,in_port=1,action=resubmit(,1),resubmit(,2)
         table=1,ip,action=ct(table=3)
         table=2,ip,action=ct(table=3)
         table=3,ip,action=drop",
    );
    let mut r = Run::default();
    run(
        &of,
        key("in_port=1,icmp,nw_src=10.1.1.1,nw_dst=10.1.1.2"),
        &mut r,
    );
    assert_eq!(packets(&of), vec![(0, 1), (1, 1), (2, 1), (3, 2)]);
    assert_eq!(r.passes.len(), 3, "{r:?}");
    assert!(
        r.passes.iter().all(|p| p.matches("recirc").count() <= 1),
        "{r:?}"
    );
    let t3 = &of.table_stats()[3];
    assert_eq!((t3.lookup_count, t3.matched_count), (2, 2));
    // Translating again reuses the same ids (revalidation keeps the megaflow).
    let k = key("in_port=1,icmp,nw_src=10.1.1.1,nw_dst=10.1.1.2");
    assert_eq!(
        of.translate(&k, OPTS).actions,
        of.translate(&k, OPTS).actions
    );
}

#[test]
fn actions_after_a_ct_fork_run_on_the_packet_as_it_was_at_the_fork() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,ip,in_port=1,action=ct(table=1),output:2
         table=1,ip,action=set_field:10.9.9.9->ip_dst,output:3",
    );
    let k = key("in_port=1,udp,nw_src=10.1.1.1,nw_dst=10.1.1.2,tp_dst=53");
    let mut r = Run::default();
    run(&of, k, &mut r);
    let ports: Vec<u32> = r.outputs.iter().map(|o| o.0).collect();
    // OVS's userspace datapath runs the fork first, then the rest.
    assert_eq!(ports, vec![3, 2], "{r:?}");
    let dst = |k: &FlowKey| OfFlow::from_key(k).get(Field::Ipv4Dst) as u32;
    assert_eq!(dst(&r.outputs[0].1), 0x0a09_0909);
    assert_eq!(
        dst(&r.outputs[1].1),
        0x0a01_0102,
        "output:2 sees the original"
    );
    assert_eq!(packets(&of), vec![(0, 1), (1, 1)]);
    // The resumed megaflow depends on the restored field.
    let mut f = OfFlow::from_key(&k);
    let first = of.translate(&k, OPTS);
    let DpAction::Recirc(id) = *first.actions.last().unwrap() else {
        panic!("{:?}", first.actions)
    };
    f.set(Field::RecircId, u128::from(id));
    f.set(Field::CtState, 0x21);
    let t = of.translate(&f.key(), OPTS);
    assert_eq!(
        OfFlow::from_key(&t.mask).get(Field::Ipv4Dst),
        0xffff_ffff,
        "{}",
        datapath::actions::format_actions(&t.actions)
    );
}

#[test]
fn a_ct_fork_as_last_action_is_left_alone() {
    let mut of = bridge(2);
    load(
        &mut of,
        "table=0,ip,action=ct(table=1)
         table=1,ip,action=output:2",
    );
    let t = xlate(&of, "in_port=1,tcp");
    assert_eq!(
        datapath::actions::format_actions(&t.actions),
        "ct,recirc(0x1)"
    );
}

#[test]
fn the_trace_still_prints_ovs_fork_list() {
    let mut of = bridge(2);
    load(
        &mut of,
        "table=0,priority=100,ip,in_port=1,action=resubmit(,1),resubmit(,2)
         table=1,ip,action=ct(table=3)
         table=2,ip,action=ct(table=3)
         table=3,ip,action=drop",
    );
    let out = of.trace("in_port=1,icmp", &[], 0).unwrap();
    assert!(
        out.contains("Datapath actions: ct,recirc(0x1),ct,recirc(0x1)\n"),
        "{out}"
    );
}

/// A model of rvs's datapath with a megaflow table in front of the upcall
/// handler: a pass hits an installed megaflow (counted there) or upcalls
/// (credited by the handler) and installs one.
struct Dp {
    h: ofproto::upcall::Handler,
    flows: Vec<datapath::Megaflow>,
}

impl Dp {
    fn pass(&mut self, key: FlowKey) -> datapath::Actions {
        if let Some(m) = self.flows.iter().find(|m| key.masked(&m.mask) == m.key) {
            m.hit(1, 100, 0, 0);
            return m.actions.clone();
        }
        let up = datapath::Upcall {
            key,
            meta: datapath::PacketMeta::default(),
            packet: vec![0; 100],
        };
        let r = datapath::UpcallHandler::upcall(&self.h, &[up]).remove(0);
        if r.install {
            let id = self.flows.len() as u64 + 1;
            let m = datapath::Megaflow::new(id, &key.masked(&r.mask), &r.mask, r.actions.clone());
            self.flows.push(m);
        }
        r.actions
    }

    /// Runs `acts` on `key`: `ct` marks `+trk+new`, `recirc` passes again.
    fn run(&mut self, key: FlowKey, acts: &datapath::Actions) {
        let mut k = OfFlow::from_key(&key);
        for a in acts.iter() {
            match a {
                DpAction::Ct(c) => {
                    k.set(Field::CtState, 0x21);
                    k.set(Field::CtZone, u128::from(c.zone));
                }
                DpAction::Recirc(id) => {
                    k.set(Field::RecircId, u128::from(*id));
                    let next = self.pass(k.key());
                    return self.run(k.key(), &next);
                }
                _ => {}
            }
        }
    }
}

#[test]
fn packet_outs_and_their_recirculations_count_each_packet_once_per_rule() {
    // "ICMP related to original direction" in shape: packet-outs into a
    // two-stage ct pipeline. The packet-out's own translation is credited
    // (as the switch does), its recirculations upcall once and then hit the
    // megaflow, whose counts the revalidator pushes: once per packet each.
    let mut of = bridge(2);
    load(
        &mut of,
        "priority=100,ip,action=ct(table=1)
         table=1,ip,action=ct(zone=34673,table=2)
         table=2,in_port=2,udp,action=ct(commit,zone=34673),1",
    );
    let h = ofproto::upcall::Handler::new(of, std::sync::Arc::new(|| 0));
    let mut dp = Dp {
        h,
        flows: Vec::new(),
    };
    let k = key("in_port=2,udp,nw_src=192.100.1.8,nw_dst=192.100.2.5,tp_src=53,tp_dst=53");
    let resubmit = ofp_codec::action::parse_action_list("resubmit(,0)").unwrap();
    for _ in 0..3 {
        let of = dp.h.snapshot();
        let t = of.translate_actions(&k, &resubmit, OPTS);
        of.credit_translation(&t, 1, 100, 0);
        dp.run(k, &t.actions);
    }
    assert_eq!(dp.flows.len(), 2, "one megaflow per recirculated pass");
    let of = dp.h.snapshot();
    assert_eq!(
        packets(&of),
        vec![(0, 3), (1, 1), (2, 1)],
        "before revalidation"
    );
    for m in &dp.flows {
        dp.h.revalidate_and_account(m);
    }
    // Revalidating again pushes nothing new.
    for m in &dp.flows {
        dp.h.revalidate_and_account(m);
    }
    assert_eq!(packets(&of), vec![(0, 3), (1, 3), (2, 3)]);
    let bytes: Vec<u64> = of
        .flow_stats(&FlowStatsRequest::default(), 0)
        .iter()
        .map(|s| s.byte_count)
        .collect();
    assert_eq!(bytes, vec![300, 300, 300]);
    let t = of.table_stats();
    assert_eq!((t[1].lookup_count, t[2].matched_count), (3, 3));
}
