//! `OFPMP_TABLE` reply entries (`ofp_table_stats`, 24 bytes each).

use bytes::{BufMut, BytesMut};

use crate::error::OfpError;
use crate::msg::WireBody;
use crate::reader::Reader;

crate::view! {
    /// `ofp_table_stats` (24 bytes).
    pub struct TableStatsView: fixed(24, OfpError::OFPBRC_BAD_LEN) {
        TABLE_ID: 0..1 => table_id, set_table_id: u8;
        ACTIVE_COUNT: 4..8 => active_count, set_active_count: u32;
        LOOKUP_COUNT: 8..16 => lookup_count, set_lookup_count: u64;
        MATCHED_COUNT: 16..24 => matched_count, set_matched_count: u64;
    }
}

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

    fn sample() -> TableStats {
        TableStats {
            table_id: 3,
            active_count: 2,
            lookup_count: 10,
            matched_count: 7,
        }
    }

    #[test]
    fn table_stats_round_trip() {
        let t = sample();
        let mut out = BytesMut::new();
        t.encode(&mut out);
        assert_eq!(out.len(), 24);
        assert_eq!(TableStats::decode(&mut Reader::new(&out)).unwrap(), t);
        assert!(TableStats::decode(&mut Reader::new(&out[..23])).is_err());
    }

    #[test]
    fn table_stats_view_agrees_with_decode_and_setters_reach_it() {
        let t = sample();
        let mut out = BytesMut::new();
        t.encode(&mut out);
        let v = TableStatsView::new_checked(&out[..]).unwrap();
        let seen = TableStats {
            table_id: v.table_id(),
            active_count: v.active_count(),
            lookup_count: v.lookup_count(),
            matched_count: v.matched_count(),
        };
        assert_eq!(seen, t);
        crate::view::testing::assert_len_checks::<TableStatsView<_>>(&out);
        let mut v = TableStatsView::new_checked(out.to_vec()).unwrap();
        v.set_table_id(254);
        v.set_active_count(1);
        v.set_lookup_count(u64::MAX);
        v.set_matched_count(5);
        let got = TableStats::decode(&mut Reader::new(&v.into_inner())).unwrap();
        assert_eq!(
            got,
            TableStats {
                table_id: 254,
                active_count: 1,
                lookup_count: u64::MAX,
                matched_count: 5
            }
        );
    }
}
