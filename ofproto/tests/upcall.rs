//! The datapath-facing side: upcalls and revalidation.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use common::*;
use datapath::{Megaflow, PacketMeta, Revalidate, Upcall, UpcallHandler};
use ofp_codec::msg::flow_stats::FlowStatsRequest;
use ofp_codec::text::Command;
use ofproto::upcall::{Handler, revalidate};

fn handler(of: ofproto::Ofproto) -> (Handler, Arc<AtomicU64>) {
    let now = Arc::new(AtomicU64::new(0));
    let n = now.clone();
    (
        Handler::new(of, Arc::new(move || n.load(Ordering::Relaxed))),
        now,
    )
}

#[test]
fn upcalls_translate_credit_rules_and_install_learned_flows() {
    let mut of = bridge(3);
    load(
        &mut of,
        "table=0,priority=10,ip,actions=output:2
         table=0,priority=5,actions=learn(table=1,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),resubmit(,1)",
    );
    let (h, _) = handler(of);
    let ups = vec![
        Upcall {
            key: key("in_port=1,ip"),
            meta: PacketMeta::default(),
            packet: vec![0; 100],
        },
        Upcall {
            key: key("in_port=3,arp,dl_src=00:00:00:00:00:33"),
            meta: PacketMeta::default(),
            packet: vec![0; 60],
        },
    ];
    let replies = h.upcall(&ups);
    assert_eq!(replies.len(), 2);
    assert_eq!(datapath::actions::format_actions(&replies[0].actions), "2");
    assert!(replies[0].install);
    assert!(!replies[1].install, "a learning translation is not cached");
    let of = h.snapshot();
    let st = of.flow_stats(&FlowStatsRequest::default(), 0);
    let ip = st.iter().find(|s| s.priority == 10).unwrap();
    assert_eq!((ip.packet_count, ip.byte_count), (1, 100));
    assert_eq!(of.table(1).unwrap().len(), 1, "learned flow installed");
    drop(of);
    assert_eq!(
        acts(&h.snapshot(), "in_port=1,arp,dl_dst=00:00:00:00:00:33"),
        "3"
    );
}

#[test]
fn revalidation_keeps_modifies_or_deletes_megaflows_after_flow_changes() {
    let mut of = bridge(3);
    load(
        &mut of,
        "priority=10,ip,actions=output:2\npriority=5,arp,actions=output:3",
    );
    let k_ip = key("in_port=1,ip");
    let t = xlate(&of, "in_port=1,ip");
    let mf = Megaflow::new(1, &k_ip.masked(&t.mask), &t.mask, t.actions.clone());
    assert!(matches!(revalidate(&of, &mf, 0), Revalidate::Keep));
    // Same dependencies, new actions: fixed in place.
    of.handle_flow_mod(&fm(Command::Modify, "ip,actions=output:3"), 0)
        .unwrap();
    match revalidate(&of, &mf, 0) {
        Revalidate::Modify(a) => assert_eq!(datapath::actions::format_actions(&a), "3"),
        other => panic!("{other:?}"),
    }
    // A new rule that looks at more fields: the old mask is too coarse.
    load(&mut of, "priority=20,tcp,tp_dst=22,actions=drop");
    assert!(matches!(revalidate(&of, &mf, 0), Revalidate::Delete));
}

#[test]
fn revalidator_pushes_fast_path_counters_to_rules_and_keeps_idle_flows_alive() {
    let mut of = bridge(3);
    load(&mut of, "priority=10,idle_timeout=10,ip,actions=output:2");
    let (h, now) = handler(of);
    let k = key("in_port=1,ip");
    let t = xlate(&h.snapshot(), "in_port=1,ip");
    let mf = Megaflow::new(7, &k.masked(&t.mask), &t.mask, t.actions.clone());
    mf.hit(5, 500, 1, 0);
    now.store(8_000, Ordering::Relaxed);
    assert!(matches!(h.revalidate_and_account(&mf), Revalidate::Keep));
    mf.hit(1, 100, 2, 0);
    assert!(matches!(h.revalidate_and_account(&mf), Revalidate::Keep));
    let st = h.snapshot().flow_stats(&FlowStatsRequest::default(), 8_000);
    assert_eq!((st[0].packet_count, st[0].byte_count), (6, 600));
    // Used at 8 s: still there at 18 s (OVS expires strictly after), gone just after.
    assert!(h.modify(|of| of.run(18_000).0.is_empty() && of.n_flows() == 1));
    h.modify(|of| of.run(18_001));
    assert_eq!(h.snapshot().n_flows(), 0);
}

#[test]
fn a_bundle_is_built_aside_and_published_at_once() {
    let mut of = bridge(3);
    load(&mut of, "priority=1,ip,actions=output:2");
    let (h, _) = handler(of);
    let before = h.snapshot();
    let msgs: Vec<ofproto::BundleMsg> = (0..1000)
        .map(|i| {
            ofproto::BundleMsg::FlowMod(add(&format!(
                "priority=10,ip,nw_src=10.0.{}.{},actions=output:3",
                i / 256,
                i % 256
            )))
        })
        .collect();
    h.bundle_commit(&msgs, 0).unwrap();
    // A translation that started before the commit still sees the old tables.
    assert_eq!(acts(&before, "in_port=1,ip,nw_src=10.0.0.5"), "2");
    assert_eq!(before.n_flows(), 1);
    assert_eq!(acts(&h.snapshot(), "in_port=1,ip,nw_src=10.0.0.5"), "3");
    assert_eq!(h.snapshot().n_flows(), 1001);
    // A failing bundle publishes nothing.
    let bad = vec![
        ofproto::BundleMsg::FlowMod(fm(Command::Delete, "ip")),
        ofproto::BundleMsg::FlowMod(add_with_match("arp", "ip,actions=ct(table=1)")),
    ];
    assert!(h.bundle_commit(&bad, 0).is_err());
    assert_eq!(h.snapshot().n_flows(), 1001);
}
