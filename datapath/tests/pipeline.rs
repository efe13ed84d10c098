//! The packet path without ports: `Datapath::execute` with a test upcall
//! handler, the real connection tracker, recirculation, userspace delivery,
//! megaflow installation and the dump text.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use datapath::actions::{CtAction, DpAction};
use datapath::key::{FlowKey, ct_state};
use datapath::{Datapath, DatapathConfig, Revalidate, Upcall, UpcallHandler, UpcallReply};
use etherparse::PacketBuilder;

fn udp(sp: u16) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .udp(sp, 9)
        .write(&mut v, &[0; 18])
        .unwrap();
    v
}

fn udp_reply(dp: u16) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 1])
        .ipv4([10, 0, 0, 2], [10, 0, 0, 1], 64)
        .udp(9, dp)
        .write(&mut v, &[0; 18])
        .unwrap();
    v
}

/// recirc_id 0: `ct(commit,zone=1),recirc(0x1)`; recirc_id 1: userspace with
/// the ct_state as userdata. Masks: recirc_id, in_port, eth_type, nw_proto,
/// frag (+ ct_state after recirculation).
struct CtThenUserspace {
    calls: AtomicUsize,
    seen: Mutex<Vec<FlowKey>>,
}

impl UpcallHandler for CtThenUserspace {
    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        batch
            .iter()
            .map(|u| {
                self.seen.lock().unwrap().push(u.key);
                let mut mask = FlowKey::default();
                mask.set_recirc_id(u32::MAX);
                mask.set_in_port(u32::MAX);
                mask.set_eth_type(u16::MAX);
                mask.set_nw_proto(0xff);
                mask.set_nw_frag(0xff);
                let actions: datapath::Actions = if u.key.recirc_id() == 0 {
                    [
                        DpAction::Ct(CtAction {
                            zone: 1,
                            commit: true,
                            ..Default::default()
                        }),
                        DpAction::Recirc(1),
                    ]
                    .into_iter()
                    .collect()
                } else {
                    mask.set_ct_state(0xff);
                    std::iter::once(DpAction::Userspace {
                        userdata: u.key.ct_state() as u64,
                    })
                    .collect()
                };
                UpcallReply::install(mask, actions)
            })
            .collect()
    }
}

fn config() -> DatapathConfig {
    DatapathConfig {
        n_threads: 1,
        ..Default::default()
    }
}

/// The key sent with a `userspace` action is the packet's as it is at that
/// action (OVS extracts the flow again there): after `ct` it has the new ct
/// fields, after `ct_clear` none.
#[test]
fn userspace_key_follows_ct_and_ct_clear_in_the_same_pass() {
    let h = Arc::new(CtThenUserspace {
        calls: AtomicUsize::new(0),
        seen: Mutex::new(Vec::new()),
    });
    let ct = Arc::new(conntrack::Conntrack::new(conntrack::Config::default()));
    let (dp, rx) = Datapath::new(config(), h, Some(ct));
    let commit = |zone| {
        DpAction::Ct(CtAction {
            zone,
            commit: true,
            ..Default::default()
        })
    };
    dp.execute(
        &udp(1),
        1,
        &[commit(2), DpAction::Userspace { userdata: 1 }],
    );
    let up = rx
        .recv_timeout(Duration::from_secs(2))
        .expect("a userspace packet");
    assert_eq!(up.key.ct_state(), ct_state::TRK | ct_state::NEW);
    assert_eq!(up.key.ct_zone(), 2);
    dp.execute(
        &udp(2),
        1,
        &[
            commit(3),
            DpAction::CtClear,
            DpAction::Userspace { userdata: 2 },
        ],
    );
    let up = rx
        .recv_timeout(Duration::from_secs(2))
        .expect("a userspace packet");
    assert_eq!((up.key.ct_state(), up.key.ct_zone()), (0, 0));
}

#[test]
fn ct_commit_recirc_then_userspace_sees_tracked_state() {
    let h = Arc::new(CtThenUserspace {
        calls: AtomicUsize::new(0),
        seen: Mutex::new(Vec::new()),
    });
    let ct = Arc::new(conntrack::Conntrack::new(conntrack::Config::default()));
    let (dp, rx) = Datapath::new(config(), h.clone(), Some(ct.clone()));
    dp.execute(&udp(1234), 1, &[DpAction::Recirc(0)]);
    let up = rx
        .recv_timeout(Duration::from_secs(2))
        .expect("a userspace packet");
    assert_eq!(up.userdata as u8, ct_state::TRK | ct_state::NEW);
    assert_eq!(up.key.ct_zone(), 1);
    assert_eq!(up.key.ct_nw_src(), 0x0a00_0001);
    assert_eq!(up.key.ct_tp_src(), 1234);
    assert_eq!(up.packet, udp(1234));
    assert_eq!(ct.len(), 1, "ct(commit) created one connection");
    // Second packet, same direction: megaflows hit; UDP stays +new until a reply (as OVS).
    dp.execute(&udp(1234), 1, &[DpAction::Recirc(0)]);
    let up = rx
        .recv_timeout(Duration::from_secs(2))
        .expect("a userspace packet");
    assert_eq!(up.userdata as u8, ct_state::TRK | ct_state::NEW);
    assert_eq!(
        h.calls.load(Ordering::SeqCst),
        2,
        "the second packet hit both megaflows"
    );
    // The reply is +est+rpl.
    dp.execute(&udp_reply(1234), 1, &[DpAction::Recirc(0)]);
    let up = rx
        .recv_timeout(Duration::from_secs(2))
        .expect("a userspace packet");
    assert_eq!(
        up.userdata as u8,
        ct_state::TRK | ct_state::EST | ct_state::RPL
    );
    assert_eq!(
        h.calls.load(Ordering::SeqCst),
        3,
        "only the est+rpl state missed"
    );
    let s = dp.stats();
    assert_eq!(s.n_megaflows, 3);
    let dump = dp.flow_dump_text();
    assert!(
        // 3 packets, the first of which went up (counted by the handler,
        // not the megaflow, as OVS's datapath flows).
        dump.contains("recirc_id(0),in_port(1),packet_type(ns=0,id=0),eth_type(0x0800),ipv4(proto=17,frag=no), packets:2, bytes:120, used:"),
        "{dump}"
    );
    assert!(
        dump.contains("actions:ct(commit,zone=1),recirc(0x1)"),
        "{dump}"
    );
    assert!(
        dump.contains("ct_state(+new-est-rel-rpl-inv+trk-snat-dnat),recirc_id(0x1),in_port(1)"),
        "{dump}"
    );
    assert!(
        dump.contains("ct_state(-new+est-rel+rpl-inv+trk-snat-dnat),recirc_id(0x1)"),
        "{dump}"
    );
}

/// Always recirculates: the depth limit drops the packet and counts it.
struct Loop;

impl UpcallHandler for Loop {
    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply> {
        batch
            .iter()
            .map(|u| {
                let mut mask = FlowKey::default();
                mask.set_recirc_id(u32::MAX);
                UpcallReply::install(
                    mask,
                    std::iter::once(DpAction::Recirc(u.key.recirc_id() + 1)),
                )
            })
            .collect()
    }
}

#[test]
fn recirculation_depth_is_limited_and_counted() {
    let (dp, _rx) = Datapath::new(config(), Arc::new(Loop), None);
    dp.execute(&udp(1), 1, &[DpAction::Recirc(0)]);
    let s = dp.stats();
    assert_eq!(s.recirc_depth_drops, 1);
    assert_eq!(s.n_megaflows, datapath::MAX_RECIRC_DEPTH as u64);
}

#[test]
fn revalidate_deletes_and_modifies() {
    let (dp, _rx) = Datapath::new(config(), Arc::new(Loop), None);
    let mut k = FlowKey::default();
    let mut m = FlowKey::default();
    m.set_in_port(u32::MAX);
    for port in 1..=3 {
        k.set_in_port(port);
        dp.flow_put(&k, &m, std::iter::once(DpAction::Output(9)).collect())
            .unwrap();
    }
    k.set_in_port(2);
    assert!(
        dp.flow_put(&k, &m, Default::default()).is_err(),
        "duplicate refused"
    );
    let (del, modi) = dp.revalidate(|f| match f.key.in_port() {
        1 => Revalidate::Delete,
        2 => Revalidate::Modify(Box::new(std::iter::once(DpAction::Drop).collect())),
        _ => Revalidate::Keep,
    });
    assert_eq!((del, modi), (1, 1));
    let text = dp.flow_dump_text();
    assert_eq!(
        text,
        "recirc_id(0),in_port(2),packet_type(ns=0,id=0),eth_type(0x0000), packets:0, bytes:0, used:never, actions:drop\n\
         recirc_id(0),in_port(3),packet_type(ns=0,id=0),eth_type(0x0000), packets:0, bytes:0, used:never, actions:9\n"
    );
    let id = dp.flow_dump()[0].id;
    assert!(dp.flow_del(id));
    assert!(!dp.flow_del(id));
    dp.flow_flush();
    assert_eq!(dp.stats().n_megaflows, 0);
}

#[test]
fn racing_installs_of_one_megaflow_install_it_once() {
    let (dp, _rx) = Datapath::new(config(), Arc::new(Loop), None);
    let dp = Arc::new(dp);
    let mut m = FlowKey::default();
    m.set_in_port(u32::MAX);
    let mut k = FlowKey::default();
    k.set_in_port(4);
    let ok = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (dp, ok) = (dp.clone(), ok.clone());
            std::thread::spawn(move || {
                for _ in 0..100 {
                    if dp
                        .flow_put(&k, &m, std::iter::once(DpAction::Output(1)).collect())
                        .is_ok()
                    {
                        ok.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(ok.load(Ordering::SeqCst), 1);
    assert_eq!(dp.stats().n_megaflows, 1);
}

/// Drops the packet but reports it to the owner as an event.
struct Report;

impl UpcallHandler for Report {
    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply> {
        batch
            .iter()
            .map(|u| UpcallReply {
                mask: FlowKey::default(),
                actions: Default::default(),
                install: false,
                events: vec![datapath::UserspacePacket {
                    in_port: u.key.in_port(),
                    userdata: 77,
                    key: u.key,
                    packet: u.packet.clone(),
                }],
            })
            .collect()
    }
}

#[test]
fn upcall_events_reach_the_userspace_channel() {
    let (dp, rx) = Datapath::new(config(), Arc::new(Report), None);
    dp.execute(&udp(5), 3, &[DpAction::Recirc(0)]);
    let ev = rx.recv_timeout(Duration::from_secs(2)).expect("event");
    assert_eq!((ev.in_port, ev.userdata), (3, 77));
    assert_eq!(ev.packet, udp(5));
    assert_eq!(dp.stats().n_megaflows, 0, "install: false installs nothing");
}
