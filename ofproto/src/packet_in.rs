//! Building packet-ins from the datapath's `userspace` packets.
//!
//! The packet-in's match carries the pipeline metadata as Open vSwitch's
//! `flow_get_metadata` does (OVS 3.1): `metadata` and the registers when
//! not zero, `in_port` always, and, when the packet is conntracked, the ct
//! fields: `ct_state` (with the packet's `eth_type`, which OVS adds as the
//! prerequisite of the ct fields), the original-direction tuple
//! (`ct_nw_src/dst` or `ct_ipv6_src/dst`, `ct_nw_proto`, `ct_tp_src/dst`)
//! when the state is valid (`new`, `est` or `rpl`) and the protocol known,
//! and `ct_zone`, `ct_mark`, `ct_label` when not zero. The frame is sent
//! whole: OVS 3.1 ignores `controller(max_len=N)` (checked against
//! ovs-vswitchd: `max_len=20` still sends all 42 bytes).
//!
//! "Conntracked" is OVS's `frozen_state.conntracked`: the translation that
//! emitted the `controller` action resumed after a `ct(table=N)`, or
//! started with a tracked packet, and no `ct` or `ct_clear` came between.
//! Translation records it in the packet-in context
//! ([`crate::recirc::PinContext::conntracked`]); the ct fields themselves
//! come from the key the datapath extracts from the packet at its
//! `userspace` action (as OVS re-extracts the flow there). Not carried:
//! `pkt_mark`, tunnel fields (rvs has no tunnels), and an `in_port`
//! rewritten by the pipeline (rvs sends the port the packet came in on).

use datapath::UserspacePacket;
use datapath::key::{FlowKey, ct_state};
use ofp_codec::Field;
use ofp_codec::Match;
use ofp_codec::msg::packet_in::{PacketIn, PacketInReason};

use crate::ofproto::Ofproto;
use crate::xlate::PacketInEvent;

/// `OFP_NO_BUFFER`.
const NO_BUFFER: u32 = 0xffff_ffff;

/// The packet-in match for a packet with datapath key `key` and OpenFlow
/// `metadata` and registers `regs` at the `controller` action.
pub fn packet_in_metadata(key: &FlowKey, metadata: u64, regs: &[u32; 16]) -> Match {
    let mut m = Match::new();
    let mut set = |f: Field, v: u128| {
        let _ = m.set_exact(f, v);
    };
    if metadata != 0 {
        set(Field::Metadata, u128::from(metadata));
    }
    for (i, r) in regs.iter().enumerate() {
        if *r != 0 {
            set(Field::Reg(i as u8), u128::from(*r));
        }
    }
    set(Field::InPort, u128::from(key.in_port()));
    let state = key.ct_state();
    if state & ct_state::TRK == 0 {
        return m;
    }
    let eth_type = key.eth_type();
    set(Field::EthType, u128::from(eth_type));
    let valid = state & (ct_state::NEW | ct_state::EST | ct_state::RPL) != 0;
    if valid && key.ct_nw_proto() != 0 {
        let v6 = match eth_type {
            0x0800 => Some(false),
            0x86dd => Some(true),
            _ => None,
        };
        if let Some(v6) = v6 {
            if v6 {
                set(Field::CtIpv6Src, key.ct_ipv6_src());
                set(Field::CtIpv6Dst, key.ct_ipv6_dst());
            } else {
                set(Field::CtNwSrc, u128::from(key.ct_nw_src()));
                set(Field::CtNwDst, u128::from(key.ct_nw_dst()));
            }
            set(Field::CtNwProto, u128::from(key.ct_nw_proto()));
            set(Field::CtTpSrc, u128::from(key.ct_tp_src()));
            set(Field::CtTpDst, u128::from(key.ct_tp_dst()));
        }
    }
    if key.ct_zone() != 0 {
        set(Field::CtZone, u128::from(key.ct_zone()));
    }
    if key.ct_mark() != 0 {
        set(Field::CtMark, u128::from(key.ct_mark()));
    }
    if key.ct_label() != 0 {
        set(Field::CtLabel, key.ct_label());
    }
    // OVS matches ct_state under the mask of its 8 defined bits.
    let _ = m.set_u128(Field::CtState, u128::from(state), Some(0xff));
    m
}

impl Ofproto {
    /// The packet-in for a packet the datapath sent up with a `userspace`
    /// action that translation emitted (None for unknown cookies), with the
    /// match of [`packet_in_metadata`] and the whole frame.
    pub fn packet_in(&self, up: &UserspacePacket) -> Option<PacketInEvent> {
        if up.userdata & crate::xlate::PAUSE_COOKIE_BIT != 0 {
            return self.paused_packet_in(up);
        }
        let ctx = self.pins.lock().get(up.userdata)?.clone();
        let mut key = up.key;
        if !ctx.conntracked {
            key.set_ct_state(0);
        }
        let m = packet_in_metadata(&key, ctx.metadata, &ctx.regs);
        Some(PacketInEvent {
            packet_in: PacketIn {
                buffer_id: NO_BUFFER,
                total_len: up.packet.len().min(0xffff) as u16,
                reason: PacketInReason(ctx.reason),
                table_id: ctx.table_id,
                cookie: ctx.cookie,
                match_: m,
                data: up.packet.clone(),
            },
            userdata: ctx.userdata,
            controller_id: ctx.controller_id,
            continuation: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracked(state: u8) -> FlowKey {
        let mut k = FlowKey::default();
        k.set_in_port(2);
        k.set_eth_type(0x0800);
        k.set_ct_state(state);
        k.set_ct_zone(7);
        k.set_ct_mark(0x11);
        k.set_ct_label(0x22);
        k.set_ct_nw_src(0x0a01_0101);
        k.set_ct_nw_dst(0x0a01_0102);
        k.set_ct_nw_proto(17);
        k.set_ct_tp_src(1);
        k.set_ct_tp_dst(2);
        k
    }

    #[test]
    fn untracked_packet_carries_in_port_registers_and_metadata() {
        let mut k = tracked(0);
        k.set_in_port(1);
        let mut regs = [0; 16];
        regs[0] = 5;
        let m = packet_in_metadata(&k, 0xabc, &regs);
        assert_eq!(m.to_string(), "reg0=0x5,metadata=0xabc,in_port=1");
    }

    /// The text OVS 3.1 printed for the same state (`est|rpl|trk` reply of
    /// a connection committed in zone 7 with ct_mark 0x11, ct_label 0x22).
    #[test]
    fn tracked_packet_carries_the_ct_fields_and_tuple_as_ovs() {
        let mut regs = [0; 16];
        regs[1] = 3;
        let k = tracked(ct_state::TRK | ct_state::EST | ct_state::RPL);
        assert_eq!(
            packet_in_metadata(&k, 0, &regs).to_string(),
            "ct_state=est|rpl|trk,ct_zone=7,ct_mark=0x11,ct_label=0x22,ct_nw_src=10.1.1.1,ct_nw_dst=10.1.1.2,ct_nw_proto=17,ct_tp_src=1,ct_tp_dst=2,ip,reg1=0x3,in_port=2"
        );
    }

    #[test]
    fn invalid_state_has_no_tuple_and_ipv6_uses_the_ipv6_tuple() {
        let mut k = tracked(ct_state::TRK | ct_state::INV);
        k.set_ct_zone(0);
        k.set_ct_mark(0);
        k.set_ct_label(0);
        assert_eq!(
            packet_in_metadata(&k, 0, &[0; 16]).to_string(),
            "ct_state=inv|trk,ip,in_port=2"
        );
        let mut k = tracked(ct_state::TRK | ct_state::NEW);
        k.set_eth_type(0x86dd);
        k.set_ct_zone(0);
        k.set_ct_mark(0);
        k.set_ct_label(0);
        k.set_ct_ipv6_src(1);
        k.set_ct_ipv6_dst(2);
        assert_eq!(
            packet_in_metadata(&k, 0, &[0; 16]).to_string(),
            "ct_state=new|trk,ct_ipv6_src=::1,ct_ipv6_dst=::2,ct_nw_proto=17,ct_tp_src=1,ct_tp_dst=2,ipv6,in_port=2"
        );
    }
}
