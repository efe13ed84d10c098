//! Building packet-ins from the datapath's `userspace` packets.

use datapath::UserspacePacket;
use ofp_codec::Field;
use ofp_codec::Match;
use ofp_codec::msg::packet_in::{PacketIn, PacketInReason};

use crate::ofproto::Ofproto;
use crate::xlate::PacketInEvent;

/// `OFP_NO_BUFFER`.
const NO_BUFFER: u32 = 0xffff_ffff;

impl Ofproto {
    /// The packet-in for a packet the datapath sent up with a `userspace`
    /// action that translation emitted (None for unknown cookies). The match
    /// carries in_port, nonzero registers and metadata, and the ct fields,
    /// as OVS's packet-in metadata does; `data` is cut to `max_len`.
    pub fn packet_in(&self, up: &UserspacePacket) -> Option<PacketInEvent> {
        let ctx = self.pins.lock().get(up.userdata)?.clone();
        let mut m = Match::new();
        let _ = m.set_exact(Field::InPort, u128::from(up.key.in_port()));
        if ctx.metadata != 0 {
            let _ = m.set_exact(Field::Metadata, u128::from(ctx.metadata));
        }
        for (i, r) in ctx.regs.iter().enumerate() {
            if *r != 0 {
                let _ = m.set_exact(Field::Reg(i as u8), u128::from(*r));
            }
        }
        if up.key.ct_state() != 0 {
            let _ = m.set_u128(Field::CtState, u128::from(up.key.ct_state()), Some(0xff));
            let _ = m.set_exact(Field::CtZone, u128::from(up.key.ct_zone()));
            if up.key.ct_mark() != 0 {
                let _ = m.set_exact(Field::CtMark, u128::from(up.key.ct_mark()));
            }
        }
        let len = up.packet.len().min(usize::from(ctx.max_len));
        Some(PacketInEvent {
            packet_in: PacketIn {
                buffer_id: NO_BUFFER,
                total_len: up.packet.len() as u16,
                reason: PacketInReason(ctx.reason),
                table_id: ctx.table_id,
                cookie: ctx.cookie,
                match_: m,
                data: up.packet[..len].to_vec(),
            },
            userdata: ctx.userdata,
            controller_id: ctx.controller_id,
        })
    }
}
