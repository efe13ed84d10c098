//! `OFPMP_TABLE` reply entries (`ofp_table_stats`, 24 bytes each).

use bytes::{BufMut, BytesMut};

use crate::error::OfpError;
use crate::msg::WireBody;
use crate::reader::Reader;

/// `ofp_table_stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TableStats {
    pub table_id: u8,
    pub active_count: u32,
    pub lookup_count: u64,
    pub matched_count: u64,
}

impl WireBody for TableStats {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let table_id = r.u8()?;
        r.skip(3)?;
        Ok(TableStats {
            table_id,
            active_count: r.u32()?,
            lookup_count: r.u64()?,
            matched_count: r.u64()?,
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.table_id);
        out.put_bytes(0, 3);
        out.put_u32(self.active_count);
        out.put_u64(self.lookup_count);
        out.put_u64(self.matched_count);
    }
    fn encoded_len(&self) -> usize {
        24
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_stats_round_trip() {
        let t = TableStats {
            table_id: 3,
            active_count: 2,
            lookup_count: 10,
            matched_count: 7,
        };
        let mut out = BytesMut::new();
        t.encode(&mut out);
        assert_eq!(out.len(), 24);
        assert_eq!(TableStats::decode(&mut Reader::new(&out)).unwrap(), t);
        assert!(TableStats::decode(&mut Reader::new(&out[..23])).is_err());
    }
}
