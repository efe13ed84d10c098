//! `OFPMP_FLOW` / `OFPMP_AGGREGATE`: the request (shared), flow entries, and
//! the aggregate reply.

use bytes::{BufMut, BytesMut};

use super::WireBody;
use super::port::check_port;
use crate::action::{
    Instruction, decode_instructions, encode_instructions, instructions_encoded_len,
};
use crate::error::OfpError;
use crate::flow_match::Match;
use crate::reader::Reader;

/// `ofp_flow_stats_request` / `ofp_aggregate_stats_request`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FlowStatsRequest {
    /// `OFPTT_ALL` (255) for all tables.
    pub table_id: u8,
    pub out_port: u32,
    pub out_group: u32,
    pub cookie: u64,
    pub cookie_mask: u64,
    pub match_: Match,
}

impl Default for FlowStatsRequest {
    fn default() -> Self {
        FlowStatsRequest {
            table_id: 0xff,
            out_port: 0xffff_ffff,
            out_group: 0xffff_ffff,
            cookie: 0,
            cookie_mask: 0,
            match_: Match::new(),
        }
    }
}

impl WireBody for FlowStatsRequest {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let table_id = r.u8()?;
        r.skip(3)?;
        let out_port = check_port(r.u32()?)?;
        let out_group = r.u32()?;
        r.skip(4)?;
        let cookie = r.u64()?;
        let cookie_mask = r.u64()?;
        let match_ = super::pull_match(r)?;
        Ok(FlowStatsRequest {
            table_id,
            out_port,
            out_group,
            cookie,
            cookie_mask,
            match_,
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.table_id);
        out.put_bytes(0, 3);
        out.put_u32(self.out_port);
        out.put_u32(self.out_group);
        out.put_u32(0);
        out.put_u64(self.cookie);
        out.put_u64(self.cookie_mask);
        self.match_.encode(out);
    }

    fn encoded_len(&self) -> usize {
        32 + self.match_.encoded_len()
    }
}

const FLOW_STATS_LEN: usize = 48;

crate::view! {
    /// `ofp_flow_stats`, fixed part; the tail is the match and the
    /// instructions.
    pub struct FlowStatsView: sized(FLOW_STATS_LEN, LENGTH, OfpError::OFPBRC_BAD_LEN) {
        LENGTH: 0..2 => length, set_length: u16;
        TABLE_ID: 2..3 => table_id, set_table_id: u8;
        DURATION_SEC: 4..8 => duration_sec, set_duration_sec: u32;
        DURATION_NSEC: 8..12 => duration_nsec, set_duration_nsec: u32;
        PRIORITY: 12..14 => priority, set_priority: u16;
        IDLE_TIMEOUT: 14..16 => idle_timeout, set_idle_timeout: u16;
        HARD_TIMEOUT: 16..18 => hard_timeout, set_hard_timeout: u16;
        /// `OFPFF_*`.
        FLAGS: 18..20 => flags, set_flags: u16;
        COOKIE: 24..32 => cookie, set_cookie: u64;
        PACKET_COUNT: 32..40 => packet_count, set_packet_count: u64;
        BYTE_COUNT: 40..48 => byte_count, set_byte_count: u64;
    }
}

/// `ofp_flow_stats`: one flow in a flow stats reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FlowStats {
    pub table_id: u8,
    pub duration_sec: u32,
    pub duration_nsec: u32,
    pub priority: u16,
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    pub flags: u16,
    pub cookie: u64,
    pub packet_count: u64,
    pub byte_count: u64,
    pub match_: Match,
    pub instructions: Vec<Instruction>,
}

impl WireBody for FlowStats {
    /// As OVS: `length` must cover the fixed part and the match
    /// (`OFPBRC_BAD_LEN`); flags outside OpenFlow 1.3's are
    /// `OFPFMFC_BAD_FLAGS`.
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        if r.remaining() < FLOW_STATS_LEN {
            return Err(OfpError::OFPBRC_BAD_LEN);
        }
        let length = usize::from(r.u16()?);
        if length < FLOW_STATS_LEN {
            return Err(OfpError::OFPBRC_BAD_LEN);
        }
        let table_id = r.u8()?;
        r.skip(1)?;
        let duration_sec = r.u32()?;
        let duration_nsec = r.u32()?;
        let priority = r.u16()?;
        let idle_timeout = r.u16()?;
        let hard_timeout = r.u16()?;
        let flags = r.u16()?;
        r.skip(4)?;
        let cookie = r.u64()?;
        let packet_count = r.u64()?;
        let byte_count = r.u64()?;
        let before = r.remaining();
        let match_ = super::pull_match(r)?;
        let match_len = before - r.remaining();
        let inst_len = length
            .checked_sub(FLOW_STATS_LEN + match_len)
            .ok_or(OfpError::OFPBRC_BAD_LEN)?;
        if flags & !0x1f != 0 {
            return Err(OfpError::OFPFMFC_BAD_FLAGS);
        }
        let instructions = decode_instructions(&mut r.sub(inst_len)?)?;
        Ok(FlowStats {
            table_id,
            duration_sec,
            duration_nsec,
            priority,
            idle_timeout,
            hard_timeout,
            flags,
            cookie,
            packet_count,
            byte_count,
            match_,
            instructions,
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.encoded_len() as u16);
        out.put_u8(self.table_id);
        out.put_u8(0);
        out.put_u32(self.duration_sec);
        out.put_u32(self.duration_nsec);
        out.put_u16(self.priority);
        out.put_u16(self.idle_timeout);
        out.put_u16(self.hard_timeout);
        out.put_u16(self.flags);
        out.put_u32(0);
        out.put_u64(self.cookie);
        out.put_u64(self.packet_count);
        out.put_u64(self.byte_count);
        self.match_.encode(out);
        encode_instructions(&self.instructions, out);
    }

    fn encoded_len(&self) -> usize {
        FLOW_STATS_LEN + self.match_.encoded_len() + instructions_encoded_len(&self.instructions)
    }
}

/// `ofp_aggregate_stats_reply`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AggregateStats {
    pub packet_count: u64,
    pub byte_count: u64,
    pub flow_count: u32,
}

impl WireBody for AggregateStats {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let a = AggregateStats {
            packet_count: r.u64()?,
            byte_count: r.u64()?,
            flow_count: r.u32()?,
        };
        r.skip(4)?;
        Ok(a)
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u64(self.packet_count);
        out.put_u64(self.byte_count);
        out.put_u32(self.flow_count);
        out.put_u32(0);
    }

    fn encoded_len(&self) -> usize {
        24
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;
    use crate::field::Field;

    fn sample() -> FlowStats {
        let mut m = Match::new();
        m.set_exact(Field::InPort, 1).unwrap();
        FlowStats {
            table_id: 2,
            duration_sec: 3,
            duration_nsec: 4,
            priority: 7,
            idle_timeout: 5,
            hard_timeout: 6,
            flags: 1,
            cookie: 3,
            packet_count: 4,
            byte_count: 5,
            match_: m,
            instructions: vec![Instruction::ApplyActions(vec![Action::Output {
                port: 2,
                max_len: 0,
            }])],
        }
    }

    #[test]
    fn flow_stats_entry_and_request_round_trip() {
        let fs = sample();
        let mut out = BytesMut::new();
        fs.encode(&mut out);
        assert_eq!(usize::from(u16::from_be_bytes([out[0], out[1]])), out.len());
        assert_eq!(FlowStats::decode(&mut Reader::new(&out)).unwrap(), fs);
        out[1] = 50; // shorter than fixed part + match
        assert_eq!(
            FlowStats::decode(&mut Reader::new(&out)),
            Err(OfpError::OFPBRC_BAD_LEN)
        );

        let req = FlowStatsRequest {
            match_: fs.match_,
            table_id: 1,
            ..Default::default()
        };
        let mut out = BytesMut::new();
        req.encode(&mut out);
        assert_eq!(
            FlowStatsRequest::decode(&mut Reader::new(&out)).unwrap(),
            req
        );
        let agg = AggregateStats {
            packet_count: 1,
            byte_count: 2,
            flow_count: 3,
        };
        let mut out = BytesMut::new();
        agg.encode(&mut out);
        assert_eq!(AggregateStats::decode(&mut Reader::new(&out)).unwrap(), agg);
    }

    #[test]
    fn flow_stats_view_agrees_with_decode_and_setters_reach_it() {
        let fs = sample();
        let mut out = BytesMut::new();
        fs.encode(&mut out);
        let v = FlowStatsView::new_checked(&out[..]).unwrap();
        let seen = FlowStats {
            table_id: v.table_id(),
            duration_sec: v.duration_sec(),
            duration_nsec: v.duration_nsec(),
            priority: v.priority(),
            idle_timeout: v.idle_timeout(),
            hard_timeout: v.hard_timeout(),
            flags: v.flags(),
            cookie: v.cookie(),
            packet_count: v.packet_count(),
            byte_count: v.byte_count(),
            ..fs.clone()
        };
        assert_eq!(seen, fs);
        crate::view::testing::assert_len_checks::<FlowStatsView<_>>(&out);
        let mut v = FlowStatsView::new_checked(out.to_vec()).unwrap();
        v.set_table_id(9);
        v.set_duration_sec(10);
        v.set_duration_nsec(11);
        v.set_priority(12);
        v.set_idle_timeout(13);
        v.set_hard_timeout(14);
        v.set_flags(2);
        v.set_cookie(15);
        v.set_packet_count(16);
        v.set_byte_count(17);
        let got = FlowStats::decode(&mut Reader::new(&v.into_inner())).unwrap();
        let want = FlowStats {
            table_id: 9,
            duration_sec: 10,
            duration_nsec: 11,
            priority: 12,
            idle_timeout: 13,
            hard_timeout: 14,
            flags: 2,
            cookie: 15,
            packet_count: 16,
            byte_count: 17,
            ..fs
        };
        assert_eq!(got, want);
    }
}
