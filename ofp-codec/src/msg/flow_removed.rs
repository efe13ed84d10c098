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
        let mut m = Match::new();
        m.set_exact(Field::EthType, 0x0806).unwrap();
        let fr = FlowRemoved {
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
        };
        let mut out = BytesMut::new();
        fr.encode(&mut out);
        assert_eq!(out.len(), fr.encoded_len());
        assert_eq!(FlowRemoved::decode(&mut Reader::new(&out)).unwrap(), fr);
        assert!(FlowRemoved::decode(&mut Reader::new(&out[..44])).is_err());
    }
}
