//! `learn(..., delete_learned)`: removing the last rule holding such a learn
//! deletes the flows of its (cookie, table), as OVS 3.1's learned cookies.
mod common;

use common::*;
use ofp_codec::text::Command;
use ofproto::Ofproto;

const LEARNER: &str = "table=0,cookie=0x1,priority=5,actions=learn(table=1,cookie=0x5,delete_learned,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),resubmit(,1)";

/// Sends a packet from `mac` on `port` through the pipeline and installs
/// what it learned.
fn learn_from(of: &mut Ofproto, port: u32, mac: &str) {
    let t = xlate(of, &format!("in_port={port},arp,dl_src={mac}"));
    assert!(!t.learned.is_empty());
    for f in &t.learned {
        of.handle_flow_mod(f, 0).unwrap();
    }
}

fn cookies(of: &Ofproto, table: u8) -> Vec<u64> {
    let mut c: Vec<u64> = of.table(table).unwrap().rules().map(|r| r.cookie).collect();
    c.sort_unstable();
    c
}

fn setup() -> Ofproto {
    let mut of = bridge(3);
    load(
        &mut of,
        &format!(
            "{LEARNER}
             table=1,cookie=0x5,priority=1,actions=drop
             table=1,cookie=0x6,priority=2,actions=drop
             table=2,cookie=0x5,priority=1,actions=drop"
        ),
    );
    learn_from(&mut of, 1, "00:00:00:00:00:11");
    learn_from(&mut of, 2, "00:00:00:00:00:22");
    assert_eq!(cookies(&of, 1), [5, 5, 5, 6]);
    of
}

#[test]
fn deleting_the_learning_rule_deletes_its_cookie_in_its_table() {
    let mut of = setup();
    of.handle_flow_mod(&fm(Command::Delete, "table=0"), 1000)
        .unwrap();
    // Every cookie-0x5 rule of table 1 goes, learned or not; cookie 0x6
    // and table 2 stay.
    assert_eq!(cookies(&of, 1), [6]);
    assert_eq!(cookies(&of, 2), [5]);
}

#[test]
fn learned_flows_stay_while_another_rule_holds_the_same_learn() {
    let mut of = setup();
    load(&mut of, &LEARNER.replace("priority=5", "priority=6"));
    of.handle_flow_mod(&fm(Command::DeleteStrict, "table=0,priority=5"), 0)
        .unwrap();
    assert_eq!(cookies(&of, 1), [5, 5, 5, 6]);
    of.handle_flow_mod(&fm(Command::DeleteStrict, "table=0,priority=6"), 0)
        .unwrap();
    assert_eq!(cookies(&of, 1), [6]);
}

#[test]
fn modify_keeping_the_learn_keeps_them_and_dropping_it_deletes_them() {
    let mut of = setup();
    let same = LEARNER.replace(",priority=5", "");
    of.handle_flow_mod(&fm(Command::Modify, &same), 0).unwrap();
    assert_eq!(cookies(&of, 1), [5, 5, 5, 6]);
    // An ADD replacing it with other actions.
    load(&mut of, "table=0,cookie=0x1,priority=5,actions=drop");
    assert_eq!(cookies(&of, 1), [6]);
}

#[test]
fn a_learn_without_delete_learned_leaves_them() {
    let mut of = bridge(3);
    load(&mut of, &LEARNER.replace("delete_learned,", ""));
    learn_from(&mut of, 1, "00:00:00:00:00:11");
    of.handle_flow_mod(&fm(Command::Delete, "table=0"), 0)
        .unwrap();
    assert_eq!(cookies(&of, 1), [5]);
}

#[test]
fn expiry_of_the_learning_rule_deletes_them_with_flow_removed() {
    let mut of = bridge(3);
    load(
        &mut of,
        &LEARNER
            .replace("priority=5", "priority=5,hard_timeout=10")
            .replace("cookie=0x5,", "cookie=0x5,send_flow_rem,"),
    );
    learn_from(&mut of, 1, "00:00:00:00:00:11");
    assert_eq!(cookies(&of, 1), [5]);
    let (events, _) = of.run(10_001);
    assert_eq!(cookies(&of, 0), Vec::<u64>::new());
    assert_eq!(cookies(&of, 1), Vec::<u64>::new());
    let removed: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            ofproto::Event::FlowRemoved(fr) => Some((fr.table_id, fr.reason)),
            _ => None,
        })
        .collect();
    assert_eq!(
        removed,
        [(1, ofp_codec::msg::flow_removed::FlowRemovedReason::DELETE)]
    );
}

/// Deletes the flows of table 0 with priority `prio`, strictly.
fn del_strict(prio: u16) -> ofproto::BundleMsg {
    ofproto::BundleMsg::FlowMod(fm(
        Command::DeleteStrict,
        &format!("table=0,priority={prio}"),
    ))
}

#[test]
fn in_a_bundle_each_message_counts_in_order_as_ovs() {
    use ofproto::BundleMsg;
    // [delete the learner, add another rule holding the same learn]: OVS's
    // commit finishes the delete first, the count drops to 0 and the
    // cookie's flows go, then the add counts again.
    let mut of = setup();
    let again = BundleMsg::FlowMod(add(&LEARNER.replace("priority=5", "priority=6")));
    of.bundle_commit(&[del_strict(5), again.clone()], 0)
        .unwrap();
    assert_eq!(cookies(&of, 1), [6]);
    assert_eq!(cookies(&of, 0), [1], "the new learner stays");
    // The other order never reaches 0: nothing goes.
    let mut of = setup();
    of.bundle_commit(&[again, del_strict(5)], 0).unwrap();
    assert_eq!(cookies(&of, 1), [5, 5, 5, 6]);
    // A failed bundle changes no count: deleting the learner afterwards
    // still flushes.
    let mut of = setup();
    let bad = BundleMsg::FlowMod(add("table=0,priority=1,actions=group:99"));
    assert!(of.bundle_commit(&[del_strict(5), bad], 0).is_err());
    assert_eq!(cookies(&of, 1), [5, 5, 5, 6]);
    of.handle_flow_mod(&fm(Command::DeleteStrict, "table=0,priority=5"), 0)
        .unwrap();
    assert_eq!(cookies(&of, 1), [6]);
}

#[test]
fn a_flush_frees_the_pairs_of_the_flows_it_deletes() {
    let mut of = setup();
    // A cookie-0x5 rule of table 1 holding its own delete_learned learn
    // for (0x9, table 2).
    load(
        &mut of,
        "table=1,cookie=0x5,priority=9,actions=learn(table=2,cookie=0x9,delete_learned,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[])
         table=2,cookie=0x9,priority=3,actions=drop
         table=2,cookie=0x9,priority=4,actions=drop",
    );
    assert_eq!(cookies(&of, 2), [5, 9, 9]);
    of.handle_flow_mod(&fm(Command::Delete, "table=0"), 0)
        .unwrap();
    assert_eq!(cookies(&of, 1), [6]);
    assert_eq!(cookies(&of, 2), [5], "cascaded to (0x9, table 2)");
}

#[test]
fn many_learners_deleted_one_by_one_each_flush_their_own_cookie() {
    // 300 learners, each with its own (cookie, table 1) pair and one flow
    // of that cookie; deleting them one at a time flushes exactly that
    // cookie (the reference counts follow every insert and removal).
    let n = 300u64;
    let mut of = bridge(3);
    let mut flows = String::new();
    for i in 1..=n {
        flows.push_str(&format!(
            "table=0,priority={i},actions=learn(table=1,cookie={c},delete_learned,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[])\n\
             table=1,cookie={c},priority={i},actions=drop\n",
            c = 0x1000 + i
        ));
    }
    // Two learners share the first pair.
    flows.push_str(
        "table=0,priority=1000,actions=learn(table=1,cookie=0x1001,delete_learned,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[])\n",
    );
    load(&mut of, &flows);
    for i in (1..=n).rev() {
        of.handle_flow_mod(
            &fm(Command::DeleteStrict, &format!("table=0,priority={i}")),
            0,
        )
        .unwrap();
        let left = of.table(1).unwrap().len() as u64;
        // Pair 1 is still held by the priority-1000 learner.
        assert_eq!(left, (i - 1).max(1), "after deleting learner {i}");
    }
    assert_eq!(cookies(&of, 1), [0x1001]);
    of.handle_flow_mod(&fm(Command::DeleteStrict, "table=0,priority=1000"), 0)
        .unwrap();
    assert!(cookies(&of, 1).is_empty());
}
