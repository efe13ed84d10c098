//! `OFPT_FLOW_REMOVED` (`ofp_flow_removed` + `ofp_match`).

use bytes::{BufMut, BytesMut};

use super::WireBody;
use crate::error::OfpError;
use crate::flow_match::Match;
use crate::open_enum;
use crate::reader::Reader;

open_enum! {
    /// `ofp_flow_removed_reason`, as OVS prints it.
    pub struct FlowRemovedReason(u8) {
        IDLE_TIMEOUT = 0 => "idle",
        HARD_TIMEOUT = 1 => "hard",
        DELETE = 2 => "delete",
        GROUP_DELETE = 3 => "group_delete",
        METER_DELETE = 4 => "meter_delete",
        EVICTION = 5 => "eviction",
    }
}

crate::view! {
    /// `OFPT_FLOW_REMOVED`, fixed part; the tail is the `ofp_match`.
    pub struct FlowRemovedView: message(48) {
        COOKIE: 8..16 => cookie, set_cookie: u64;
        PRIORITY: 16..18 => priority, set_priority: u16;
        REASON: 18..19 => reason, set_reason: u8 as FlowRemovedReason;
        TABLE_ID: 19..20 => table_id, set_table_id: u8;
        DURATION_SEC: 20..24 => duration_sec, set_duration_sec: u32;
        DURATION_NSEC: 24..28 => duration_nsec, set_duration_nsec: u32;
        IDLE_TIMEOUT: 28..30 => idle_timeout, set_idle_timeout: u16;
        HARD_TIMEOUT: 30..32 => hard_timeout, set_hard_timeout: u16;
        PACKET_COUNT: 32..40 => packet_count, set_packet_count: u64;
        BYTE_COUNT: 40..48 => byte_count, set_byte_count: u64;
    }
}

/// `ofp_flow_removed`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlowRemoved {
    pub cookie: u64,
    pub priority: u16,
    pub reason: FlowRemovedReason,
    pub table_id: u8,
    pub duration_sec: u32,
    pub duration_nsec: u32,
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    pub packet_count: u64,
    pub byte_count: u64,
    pub match_: Match,
}

impl WireBody for FlowRemoved {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let mut f = FlowRemoved {
            cookie: r.u64()?,
            priority: r.u16()?,
            reason: FlowRemovedReason(r.u8()?),
            table_id: r.u8()?,
            duration_sec: r.u32()?,
            duration_nsec: r.u32()?,
            idle_timeout: r.u16()?,
            hard_timeout: r.u16()?,
            packet_count: r.u64()?,
            byte_count: r.u64()?,
            match_: Match::new(),
        };
        f.match_ = super::pull_match(r)?;
        // OVS ignores anything after the match.
        r.skip(r.remaining())?;
        Ok(f)
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u64(self.cookie);
        out.put_u16(self.priority);
        out.put_u8(self.reason.0);
        out.put_u8(self.table_id);
        out.put_u32(self.duration_sec);
        out.put_u32(self.duration_nsec);
        out.put_u16(self.idle_timeout);
        out.put_u16(self.hard_timeout);
        out.put_u64(self.packet_count);
        out.put_u64(self.byte_count);
        self.match_.encode(out);
    }

    fn encoded_len(&self) -> usize {
        40 + self.match_.encoded_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Field;

    #[test]
    fn flow_removed_round_trip() {
        let fr = sample();
        let mut out = BytesMut::new();
        fr.encode(&mut out);
        assert_eq!(out.len(), fr.encoded_len());
        assert_eq!(FlowRemoved::decode(&mut Reader::new(&out)).unwrap(), fr);
        assert!(FlowRemoved::decode(&mut Reader::new(&out[..44])).is_err());
    }

    fn sample() -> FlowRemoved {
        let mut m = Match::new();
        m.set_exact(Field::EthType, 0x0806).unwrap();
        FlowRemoved {
            cookie: 1,
            priority: 2,
            reason: FlowRemovedReason::HARD_TIMEOUT,
            table_id: 3,
            duration_sec: 4,
            duration_nsec: 5,
            idle_timeout: 6,
            hard_timeout: 7,
            packet_count: 8,
            byte_count: 9,
            match_: m,
        }
    }

    #[test]
    fn flow_removed_view_agrees_with_decode_and_setters_reach_it() {
        let fr = sample();
        let msg = crate::view::testing::framed_body(crate::msg::MsgType::FLOW_REMOVED, &fr);
        let v = FlowRemovedView::new_checked(&msg[..]).unwrap();
        let seen = FlowRemoved {
            cookie: v.cookie(),
            priority: v.priority(),
            reason: v.reason(),
            table_id: v.table_id(),
            duration_sec: v.duration_sec(),
            duration_nsec: v.duration_nsec(),
            idle_timeout: v.idle_timeout(),
            hard_timeout: v.hard_timeout(),
            packet_count: v.packet_count(),
            byte_count: v.byte_count(),
            match_: fr.match_.clone(),
        };
        assert_eq!(seen, fr);
        let mut v = FlowRemovedView::new_checked(msg.clone()).unwrap();
        v.set_cookie(11);
        v.set_priority(12);
        v.set_reason(FlowRemovedReason::DELETE);
        v.set_table_id(13);
        v.set_duration_sec(14);
        v.set_duration_nsec(15);
        v.set_idle_timeout(16);
        v.set_hard_timeout(17);
        v.set_packet_count(18);
        v.set_byte_count(19);
        let got = FlowRemoved::decode(&mut Reader::new(&v.into_inner()[8..])).unwrap();
        let want = FlowRemoved {
            cookie: 11,
            priority: 12,
            reason: FlowRemovedReason::DELETE,
            table_id: 13,
            duration_sec: 14,
            duration_nsec: 15,
            idle_timeout: 16,
            hard_timeout: 17,
            packet_count: 18,
            byte_count: 19,
            ..fr
        };
        assert_eq!(got, want);
        crate::view::testing::assert_len_checks::<FlowRemovedView<_>>(&msg);
    }
}
