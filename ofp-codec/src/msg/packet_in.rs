//! `OFPT_PACKET_IN` (OpenFlow 1.3: header, cookie, match, 2 pad, frame).

use bytes::{BufMut, BytesMut};

use super::WireBody;
use crate::error::OfpError;
use crate::flow_match::Match;
use crate::open_enum;
use crate::reader::Reader;

open_enum! {
    /// `ofp_packet_in_reason`, as OVS prints it.
    pub struct PacketInReason(u8) {
        NO_MATCH = 0 => "no_match",
        ACTION = 1 => "action",
        INVALID_TTL = 2 => "invalid_ttl",
    }
}

/// `ofp_packet_in`. `match_` holds the pipeline metadata (in_port,
/// registers, ct state, ...), `data` the (possibly truncated) frame.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PacketIn {
    pub buffer_id: u32,
    /// Length of the whole frame (`data` may be shorter).
    pub total_len: u16,
    pub reason: PacketInReason,
    pub table_id: u8,
    pub cookie: u64,
    pub match_: Match,
    pub data: Vec<u8>,
}

impl WireBody for PacketIn {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let buffer_id = r.u32()?;
        let total_len = r.u16()?;
        let reason = PacketInReason(r.u8()?);
        let table_id = r.u8()?;
        let cookie = r.u64()?;
        let match_ = super::pull_match(r)?;
        r.skip(2)?;
        Ok(PacketIn {
            buffer_id,
            total_len,
            reason,
            table_id,
            cookie,
            match_,
            data: r.take(r.remaining())?.to_vec(),
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.buffer_id);
        out.put_u16(self.total_len);
        out.put_u8(self.reason.0);
        out.put_u8(self.table_id);
        out.put_u64(self.cookie);
        self.match_.encode(out);
        out.put_u16(0);
        out.put_slice(&self.data);
    }

    fn encoded_len(&self) -> usize {
        16 + self.match_.encoded_len() + 2 + self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Field;

    #[test]
    fn packet_in_round_trip_and_truncation() {
        let mut m = Match::new();
        m.set_exact(Field::InPort, 2).unwrap();
        let pi = PacketIn {
            buffer_id: u32::MAX,
            total_len: 4,
            reason: PacketInReason::ACTION,
            table_id: 1,
            cookie: 9,
            match_: m,
            data: vec![0xde, 0xad, 0xbe, 0xef],
        };
        let mut out = BytesMut::new();
        pi.encode(&mut out);
        assert_eq!(out.len(), pi.encoded_len());
        // in_port OXM right after the 16 fixed bytes.
        assert_eq!(&out[16..28], &[0, 1, 0, 12, 0x80, 0, 0, 4, 0, 0, 0, 2]);
        assert_eq!(PacketIn::decode(&mut Reader::new(&out)).unwrap(), pi);
        // Without the 2 pad bytes after the match: too short.
        assert_eq!(
            PacketIn::decode(&mut Reader::new(&out[..33])),
            Err(OfpError::BAD_LEN)
        );
    }
}
