//! Flow-key extraction and header rewrites on arbitrary bytes: never panic,
//! deterministic, and a frame's key does not depend on bytes past its end.
#![no_main]

use datapath::actions::SetAction;
use datapath::extract::{PacketMeta, extract};
use datapath::packet::Packet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let meta = PacketMeta { in_port: 1, ..Default::default() };
    let k = extract(&meta, data);
    assert_eq!(k, extract(&meta, data));
    if data.len() < 14 {
        assert_eq!(k.eth_type(), 0);
    }
    let mut p = Packet::from_bytes(data);
    let sets = [
        SetAction::Ipv4 { src: 1, src_mask: u32::MAX, dst: 2, dst_mask: 0xff, tos: 4, tos_mask: 0xfc, ttl: 9, ttl_mask: 0xff },
        SetAction::Ipv6 { src: 1, src_mask: u128::MAX, dst: 0, dst_mask: 0, hlimit: 1, hlimit_mask: 0xff },
        SetAction::L4 { proto: 6, src: 1, src_mask: 0xffff, dst: 2, dst_mask: 0xff00 },
        SetAction::VlanTci { tci: 5, mask: 0xffff },
    ];
    for s in &sets {
        datapath::edit::apply_set(&mut p, s);
    }
    datapath::edit::push_vlan(&mut p, 0x8100, 7);
    datapath::edit::pop_vlan(&mut p);
    let _ = extract(&meta, p.data());
});
