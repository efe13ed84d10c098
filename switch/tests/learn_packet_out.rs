//! `learn()` run by a PACKET_OUT installs its flow, as OVS's packet-out
//! translation does (it runs with side effects); before, only upcalls
//! installed learned flows and a packet-out's were dropped.

use std::sync::Arc;

use ofp_codec::action::Instruction;
use ofp_codec::msg::PacketOut;
use ofp_codec::text::{Command, parse_flow_mod};
use ofproto::upcall::Handler;
use ofproto::{Config, Ofproto, Port};
use switch::channel::Bridge;
use switch::daemon::ofbridge::OfBridge;

/// Ethernet + IPv4 + UDP from 10.0.0.1 to 10.0.0.2, source MAC 50:54:00:00:00:01.
fn udp_frame() -> Vec<u8> {
    let mut f = vec![0x50, 0x54, 0, 0, 0, 2, 0x50, 0x54, 0, 0, 0, 1, 0x08, 0x00];
    f.extend_from_slice(&[
        0x45, 0, 0, 28, 0, 1, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ]);
    f.extend_from_slice(&[0x30, 0x39, 0, 53, 0, 8, 0, 0]);
    f
}

fn actions_of(text: &str) -> Vec<ofp_codec::action::Action> {
    let spec = parse_flow_mod(text, Command::Add).expect("flow text");
    match spec.instructions.into_iter().next() {
        Some(Instruction::ApplyActions(a)) => a,
        other => panic!("no apply-actions in {text}: {other:?}"),
    }
}

fn learned_flows(h: &Handler) -> usize {
    h.snapshot().table(1).map_or(0, |t| t.len())
}

#[test]
fn packet_out_learn_installs_its_flow() {
    let mut of = Ofproto::new(Config::default());
    for p in 1..=2 {
        of.port_add(Port::new(p, format!("p{p}")));
    }
    let h = Arc::new(Handler::new(of, Arc::new(|| 0)));
    let mut br = OfBridge::new(h.clone(), None, 1);
    assert_eq!(learned_flows(&h), 0);
    let po = PacketOut {
        buffer_id: u32::MAX,
        in_port: 1,
        actions: actions_of(
            "actions=learn(table=1,priority=7,NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[]),output:2",
        ),
        data: udp_frame(),
    };
    br.packet_out(&po, 0).expect("packet-out accepted");
    assert_eq!(learned_flows(&h), 1, "one learned flow in table 1");
    let of = h.snapshot();
    let rule = of
        .table(1)
        .and_then(|t| t.rules().next())
        .expect("learned rule");
    assert_eq!(rule.priority, 7);
}
