//! `learn(limit=, result_dst=)`, the `fin_timeout` action and learn's
//! `fin_idle_timeout`/`fin_hard_timeout`, as OVS 3.1.
mod common;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use common::*;
use datapath::{Megaflow, Revalidate};
use ofp_codec::Field;
use ofp_codec::msg::flow_removed::FlowRemovedReason;
use ofproto::upcall::{Handler, revalidate};
use ofproto::{Event, Ofproto, XlateOptions};

const LIMITED: &str = "table=0,priority=5,actions=learn(table=1,cookie=0x7,limit=2,result_dst=reg0[0],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),resubmit(,2)
     table=2,priority=10,reg0=0x1/0x1,actions=output:3
     table=2,priority=1,actions=drop";

fn pkt(port: u32, mac: &str) -> String {
    format!("in_port={port},arp,dl_src={mac}")
}

/// Translates with side effects and installs what was learned; returns the
/// datapath actions.
fn learn_from(of: &mut Ofproto, desc: &str) -> String {
    let t = xlate(of, desc);
    for f in &t.learned {
        of.handle_flow_mod(f, 0).unwrap();
    }
    datapath::actions::format_actions(&t.actions)
}

fn no_side_effects(of: &Ofproto, desc: &str) -> ofproto::Translation {
    of.translate(
        &key(desc),
        XlateOptions {
            now_ms: 0,
            side_effects: false,
            trace: false,
        },
    )
}

#[test]
fn limit_refuses_beyond_n_and_result_dst_says_so() {
    let mut of = bridge(3);
    load(&mut of, LIMITED);
    assert_eq!(learn_from(&mut of, &pkt(1, "00:00:00:00:00:11")), "3");
    assert_eq!(learn_from(&mut of, &pkt(2, "00:00:00:00:00:22")), "3");
    assert_eq!(of.table(1).unwrap().len(), 2);
    // The third is refused: result_dst gets 0.
    let t = xlate(&of, &pkt(1, "00:00:00:00:00:33"));
    assert!(t.learned.is_empty());
    assert_eq!(datapath::actions::format_actions(&t.actions), "drop");
    assert_eq!(of.table(1).unwrap().len(), 2);
    // A flow already learned as is is refreshed, never refused.
    let t = xlate(&of, &pkt(1, "00:00:00:00:00:11"));
    assert_eq!(t.learned.len(), 1);
    assert_eq!(datapath::actions::format_actions(&t.actions), "3");
    // Any rule of the table with the cookie counts: deleting one frees a slot.
    of.handle_flow_mod(
        &fm(
            ofp_codec::text::Command::DeleteStrict,
            "table=1,dl_dst=00:00:00:00:00:22",
        ),
        0,
    )
    .unwrap();
    assert_eq!(learn_from(&mut of, &pkt(1, "00:00:00:00:00:33")), "3");
}

#[test]
fn flows_learned_earlier_in_the_same_translation_count() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,actions=learn(table=1,cookie=0x7,limit=1,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[]),learn(table=1,cookie=0x7,limit=1,NXM_OF_ETH_SRC[]=NXM_OF_ETH_SRC[]),learn(table=1,cookie=0x8,limit=1,NXM_OF_ETH_SRC[]=NXM_OF_ETH_SRC[])",
    );
    let t = xlate(&of, &pkt(1, "00:00:00:00:00:11"));
    let cookies: Vec<u64> = t.learned.iter().map(|f| f.cookie).collect();
    assert_eq!(cookies, [7, 8]);
}

#[test]
fn a_limited_learn_of_an_absent_flow_is_not_cached() {
    let mut of = bridge(3);
    load(&mut of, LIMITED);
    learn_from(&mut of, &pkt(1, "00:00:00:00:00:11"));
    // Without side effects nothing is refused (result 1), as OVS...
    let absent = no_side_effects(&of, &pkt(1, "00:00:00:00:00:33"));
    assert_eq!(datapath::actions::format_actions(&absent.actions), "3");
    assert!(absent.avoid_caching);
    let present = no_side_effects(&of, &pkt(1, "00:00:00:00:00:11"));
    assert!(!present.avoid_caching);
    // ...and the revalidator deletes a megaflow whose learned flow is absent.
    let k = key(&pkt(1, "00:00:00:00:00:33"));
    let m = Megaflow::new(1, &k, &absent.mask, absent.actions.clone());
    assert!(matches!(revalidate(&of, &m, 0), Revalidate::Delete));
    let k = key(&pkt(1, "00:00:00:00:00:11"));
    let m = Megaflow::new(2, &k, &present.mask, present.actions.clone());
    assert!(matches!(revalidate(&of, &m, 0), Revalidate::Keep));
    // A learn without limit never prevents caching.
    let mut of = bridge(3);
    load(&mut of, &LIMITED.replace("limit=2,", ""));
    assert!(!no_side_effects(&of, &pkt(1, "00:00:00:00:00:33")).avoid_caching);
}

const FIN: &str = "table=0,priority=5,idle_timeout=60,send_flow_rem,tcp,actions=fin_timeout(idle_timeout=5,hard_timeout=10),output:2";

fn removed(events: &[Event]) -> Vec<(u8, FlowRemovedReason, u16, u16)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::FlowRemoved(fr) => {
                Some((fr.table_id, fr.reason, fr.idle_timeout, fr.hard_timeout))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn fin_timeout_shortens_the_rule_on_fin_or_rst_only() {
    let mut of = bridge(3);
    load(&mut of, FIN);
    // An ACK: nothing changes; nw_proto is in the mask.
    let t = xlate(&of, "in_port=1,tcp,tcp_flags=0x010");
    assert_eq!(t.wc.get(Field::IpProto), 0xff);
    assert_eq!(t.wc.get(Field::TcpFlags), 0, "tcp_flags stays wildcarded");
    assert!(removed(&of.run(10_001).0).is_empty());
    // A FIN: hard 10 s (from the rule's creation), idle 5 s.
    xlate(&of, "in_port=1,tcp,tcp_flags=0x001");
    let (ev, _) = of.run(10_001);
    assert_eq!(removed(&ev), [(0, FlowRemovedReason::HARD_TIMEOUT, 5, 10)]);
}

#[test]
fn fin_timeout_never_raises_a_timeout() {
    let mut of = bridge(3);
    load(&mut of, &FIN.replace("idle_timeout=60,", "idle_timeout=2,"));
    // RST; idle 2 stays (5 would raise it), hard becomes 10.
    xlate(&of, "in_port=1,tcp,tcp_flags=0x004");
    let (ev, _) = of.run(2_001);
    assert_eq!(removed(&ev), [(0, FlowRemovedReason::IDLE_TIMEOUT, 2, 10)]);
}

#[test]
fn the_revalidator_applies_fin_timeout_from_megaflow_tcp_flags() {
    let mut of = bridge(3);
    load(&mut of, FIN);
    let now = Arc::new(AtomicU64::new(0));
    let n = now.clone();
    let h = Handler::new(
        of,
        Arc::new(move || n.load(std::sync::atomic::Ordering::Relaxed)),
    );
    let k = key("in_port=1,tcp");
    let t = h.snapshot().translate(&k, XlateOptions::default());
    let m = Megaflow::new(1, &k, &t.mask, t.actions.clone());
    // Packets without FIN: nothing.
    m.hit(3, 180, 0, 0x010);
    h.revalidate_and_account(&m);
    let ev = h.modify(|of| of.run(10_001).0);
    assert!(removed(&ev).is_empty());
    // A FIN among the megaflow's packets since.
    m.hit(1, 60, 0, 0x001);
    h.revalidate_and_account(&m);
    let ev = h.modify(|of| of.run(10_002).0);
    assert_eq!(removed(&ev), [(0, FlowRemovedReason::HARD_TIMEOUT, 5, 10)]);
    let _ = h.needs_revalidation();
}

#[test]
fn learn_fin_timeouts_go_into_the_learned_flow() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,priority=5,tcp,actions=learn(table=1,idle_timeout=100,fin_idle_timeout=3,fin_hard_timeout=7,eth_type=0x800,nw_proto=6,NXM_OF_IP_SRC[]=NXM_OF_IP_DST[],output:NXM_OF_IN_PORT[]),resubmit(,1)",
    );
    let t = xlate(&of, "in_port=2,tcp,nw_src=10.0.0.2,nw_dst=10.0.0.1");
    assert_eq!(t.learned.len(), 1);
    let text = format!("{:?}", t.learned[0].instructions);
    assert!(text.contains("FinTimeout"), "{text}");
    of.handle_flow_mod(&t.learned[0], 0).unwrap();
    // The reply with FIN hits the learned flow and shortens it.
    let t = xlate(
        &of,
        "in_port=1,tcp,nw_src=10.0.0.1,nw_dst=10.0.0.2,tcp_flags=0x001",
    );
    assert_eq!(datapath::actions::format_actions(&t.actions), "2");
    let (ev, _) = of.run(7_001);
    assert_eq!(of.table(1).unwrap().len(), 0, "{ev:?}");
}

#[test]
fn upcalls_translated_on_one_snapshot_never_learn_past_the_limit() {
    use datapath::{PacketMeta, Upcall, UpcallHandler};
    let mut of = bridge(3);
    load(&mut of, LIMITED);
    let h = Handler::new(of, Arc::new(|| 0));
    let ups: Vec<Upcall> = ["11", "22", "33"]
        .iter()
        .map(|m| Upcall {
            key: key(&pkt(1, &format!("00:00:00:00:00:{m}"))),
            meta: PacketMeta::default(),
            packet: vec![0; 60],
        })
        .collect();
    // All three translate on the same snapshot (each learns there)...
    h.upcall(&ups);
    // ...but only two are installed.
    assert_eq!(h.snapshot().table(1).unwrap().len(), 2);
}

/// Whether a limited learn of `mac` (limit 2, cookie 0x7) is refused now.
fn refused(of: &Ofproto, mac: &str) -> bool {
    xlate(of, &pkt(1, mac)).learned.is_empty()
}

#[test]
fn limit_counts_the_cookie_index_through_every_change() {
    // 2000 rules of other cookies in the learn's table do not count; the
    // per-(table, cookie) count follows adds, cookie-changing
    // replacements, deletes by cookie, failed bundles and expiry.
    let mut of = bridge(3);
    load(&mut of, LIMITED);
    let mut flows = String::new();
    for i in 0..2000u32 {
        flows.push_str(&format!(
            "table=1,cookie={},priority=3,reg1={i},actions=drop\n",
            0x100 + u64::from(i % 7)
        ));
    }
    load(&mut of, &flows);
    assert!(!refused(&of, "00:00:00:00:00:11"));
    load(
        &mut of,
        "table=1,cookie=0x7,priority=3,reg1=1,actions=drop
         table=1,cookie=0x7,priority=3,reg1=2,hard_timeout=5,actions=drop",
    );
    assert_eq!(of.table(1).unwrap().len(), 2000);
    assert!(
        refused(&of, "00:00:00:00:00:11"),
        "two replaced rules now have 0x7"
    );
    // An ADD replacing one with another cookie frees a slot.
    load(&mut of, "table=1,cookie=0x8,priority=3,reg1=1,actions=drop");
    assert!(!refused(&of, "00:00:00:00:00:11"));
    // A failed bundle that would have added one leaves the count alone.
    let msgs = [
        ofproto::BundleMsg::FlowMod(add("table=1,cookie=0x7,priority=3,reg1=3,actions=drop")),
        ofproto::BundleMsg::FlowMod(add("table=0,priority=1,actions=group:99")),
    ];
    assert!(of.bundle_commit(&msgs, 0).is_err());
    assert!(!refused(&of, "00:00:00:00:00:11"));
    learn_from(&mut of, &pkt(1, "00:00:00:00:00:11"));
    assert!(refused(&of, "00:00:00:00:00:22"));
    // Expiry of the timed one frees a slot.
    of.run(5_001);
    assert!(!refused(&of, "00:00:00:00:00:22"));
    // Deleting by cookie empties the count.
    learn_from(&mut of, &pkt(1, "00:00:00:00:00:22"));
    assert!(refused(&of, "00:00:00:00:00:33"));
    let mut del = fm(ofp_codec::text::Command::Delete, "table=1,cookie=0x7/-1");
    del.out_port = ofp_codec::action::port::OFPP_ANY;
    of.handle_flow_mod(&del, 0).unwrap();
    assert_eq!(of.table(1).unwrap().len(), 1999);
    assert!(!refused(&of, "00:00:00:00:00:33"));
}
