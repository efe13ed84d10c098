//! NAT and `ct_clear` through the real pipeline and the real `conntrack::Conntrack`:
//! `ct(commit,zone=1,nat(src=10.0.0.240)),recirc(1)` from port 1, `ct(zone=1,nat),recirc(1)`
//! from port 2; after recirculation the packet goes to userspace with its ct_state, or
//! through `ct_clear` first.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use datapath::actions::{CtAction, DpAction, NatKind, NatSpec};
use datapath::key::{FlowKey, ct_state};
use datapath::{Datapath, DatapathConfig, Upcall, UpcallHandler, UpcallReply};
use etherparse::PacketBuilder;

const X: [u8; 4] = [10, 0, 0, 240];

fn udp(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .udp(sp, dp)
        .write(&mut v, b"payload of the datagram")
        .unwrap();
    v
}

struct NatFlows;

impl UpcallHandler for NatFlows {
    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply> {
        batch
            .iter()
            .map(|u| {
                let mut mask = FlowKey::default();
                mask.set_recirc_id(u32::MAX);
                mask.set_in_port(u32::MAX);
                mask.set_eth_type(u16::MAX);
                mask.set_nw_proto(0xff);
                mask.set_nw_frag(0xff);
                let k = &u.key;
                let actions = match (k.recirc_id(), k.in_port()) {
                    (0, 1) => vec![
                        DpAction::Ct(CtAction {
                            zone: 1,
                            commit: true,
                            nat: Some(NatSpec::to_addr(
                                NatKind::Src,
                                IpAddr::V4(Ipv4Addr::from(X)),
                            )),
                            ..Default::default()
                        }),
                        DpAction::Recirc(1),
                    ],
                    (0, _) => vec![
                        DpAction::Ct(CtAction {
                            zone: 1,
                            nat: Some(NatSpec::REVERSE),
                            ..Default::default()
                        }),
                        DpAction::Recirc(1),
                    ],
                    // Port 3's packets lose their ct state before going up.
                    (1, 3) => vec![DpAction::CtClear, DpAction::Recirc(2)],
                    _ => {
                        mask.set_ct_state(0xff);
                        vec![DpAction::Userspace {
                            userdata: k.ct_state() as u64,
                        }]
                    }
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

#[test]
fn snat_rewrites_the_packet_and_its_reply_through_the_pipeline() {
    let ct = Arc::new(conntrack::Conntrack::new(conntrack::Config::default()));
    let (dp, rx) = Datapath::new(config(), Arc::new(NatFlows), Some(ct.clone()));
    let a = [10, 0, 0, 1];
    let b = [10, 0, 0, 2];
    dp.execute(&udp(a, b, 5555, 53), 1, &[DpAction::Recirc(0)]);
    let up = rx
        .recv_timeout(Duration::from_secs(2))
        .expect("first packet");
    assert_eq!(
        up.userdata as u8,
        ct_state::TRK | ct_state::NEW | ct_state::SNAT
    );
    assert_eq!(
        up.packet,
        udp(X, b, 5555, 53),
        "source translated, checksums valid"
    );
    assert_eq!(
        up.key.ct_nw_src(),
        0x0a00_0001,
        "orig tuple is the untranslated one"
    );
    // The reply to the translated address comes back un-NATed.
    dp.execute(&udp(b, X, 53, 5555), 2, &[DpAction::Recirc(0)]);
    let up = rx.recv_timeout(Duration::from_secs(2)).expect("reply");
    assert_eq!(
        up.userdata as u8,
        ct_state::TRK | ct_state::EST | ct_state::RPL | ct_state::DNAT
    );
    assert_eq!(up.packet, udp(b, a, 53, 5555));
    assert_eq!(ct.len(), 1);
    let d = ct.dump_all(None, 0);
    assert_eq!(
        d[0].format(false),
        "udp,orig=(src=10.0.0.1,dst=10.0.0.2,sport=5555,dport=53),reply=(src=10.0.0.2,dst=10.0.0.240,sport=53,dport=5555),zone=1"
    );
    // Second packet of the connection: megaflow hits, same translation.
    dp.execute(&udp(a, b, 5555, 53), 1, &[DpAction::Recirc(0)]);
    let up = rx
        .recv_timeout(Duration::from_secs(2))
        .expect("second packet");
    assert_eq!(up.packet, udp(X, b, 5555, 53));
    assert!(
        dp.flow_dump_text()
            .contains("actions:ct(commit,zone=1,nat(src=10.0.0.240)),recirc(0x1)"),
        "{}",
        dp.flow_dump_text()
    );
}

#[test]
fn ct_clear_makes_the_packet_untracked() {
    let ct = Arc::new(conntrack::Conntrack::new(conntrack::Config::default()));
    let (dp, rx) = Datapath::new(config(), Arc::new(NatFlows), Some(ct.clone()));
    // From port 3: `ct(zone=1,nat)` (tracked +new, nothing committed), then ct_clear.
    dp.execute(
        &udp([10, 0, 0, 3], [10, 0, 0, 2], 1, 2),
        3,
        &[DpAction::Recirc(0)],
    );
    let up = rx.recv_timeout(Duration::from_secs(2)).expect("packet");
    assert_eq!(up.userdata, 0, "ct_state cleared");
    assert_eq!(up.key.ct_zone(), 0);
    assert_eq!(up.key.ct_nw_src(), 0);
    assert!(
        dp.flow_dump_text().contains("actions:ct_clear,recirc(0x2)"),
        "{}",
        dp.flow_dump_text()
    );
}

#[test]
fn nat_and_ct_clear_print_as_ovs_dpctl() {
    let mut nat = NatSpec::to_addr(NatKind::Src, "10.1.1.240".parse().unwrap());
    nat.addr_max = Some("10.1.1.254".parse().unwrap());
    nat = nat.with_ports(34567, 34568);
    nat.proto_random = true;
    let ct = CtAction {
        zone: 1,
        commit: true,
        alg: Some(datapath::actions::Alg::Ftp),
        nat: Some(nat),
        ..Default::default()
    };
    assert_eq!(
        DpAction::Ct(ct).to_string(),
        "ct(commit,zone=1,helper=ftp,nat(src=10.1.1.240-10.1.1.254:34567-34568,random))"
    );
    let v6 = NatSpec::to_addr(NatKind::Dst, "fc00::2".parse().unwrap()).with_ports(80, 80);
    let ct = CtAction {
        nat: Some(v6),
        ..Default::default()
    };
    assert_eq!(DpAction::Ct(ct).to_string(), "ct(nat(dst=[fc00::2]:80))");
    let bare = CtAction {
        nat: Some(NatSpec::REVERSE),
        ..Default::default()
    };
    assert_eq!(DpAction::Ct(bare).to_string(), "ct(nat)");
    assert_eq!(DpAction::CtClear.to_string(), "ct_clear");
}
