//! `OFPT_TABLE_MOD` (`ofp_table_mod`).

use bytes::{BufMut, BytesMut};

use super::WireBody;
use crate::error::OfpError;
use crate::reader::Reader;

/// `OFPTT_ALL`: every table.
pub const OFPTT_ALL: u8 = 0xff;

crate::view! {
    /// `OFPT_TABLE_MOD` (`ofp_table_mod`).
    pub struct TableModView: message(16) {
        TABLE_ID: 8..9 => table_id, set_table_id: u8;
        /// `OFPTC_*`.
        CONFIG: 12..16 => config, set_config: u32;
    }
}

/// `ofp_table_mod`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TableMod {
    pub table_id: u8,
    /// `OFPTC_*` bits (deprecated in 1.3; OVS ignores most of them).
    pub config: u32,
}

impl WireBody for TableMod {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let table_id = r.u8()?;
        r.skip(3)?;
        Ok(TableMod {
            table_id,
            config: r.u32()?,
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.table_id);
        out.put_bytes(0, 3);
        out.put_u32(self.config);
    }
    fn encoded_len(&self) -> usize {
        8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_mod_round_trip() {
        let body = [0xff, 0, 0, 0, 0, 0, 0, 3];
        let t = TableMod::decode(&mut Reader::new(&body)).unwrap();
        assert_eq!(
            t,
            TableMod {
                table_id: OFPTT_ALL,
                config: 3
            }
        );
        let mut out = BytesMut::new();
        t.encode(&mut out);
        assert_eq!(&out[..], &body);
        assert!(TableMod::decode(&mut Reader::new(&body[..7])).is_err());
    }

    #[test]
    fn table_mod_view_agrees_with_decode_and_setters_reach_it() {
        let msg = crate::view::testing::framed(
            crate::msg::MsgType::TABLE_MOD,
            &[0xff, 0, 0, 0, 0, 0, 0, 3],
        );
        let v = TableModView::new_checked(&msg[..]).unwrap();
        let t = TableMod::decode(&mut Reader::new(&msg[8..])).unwrap();
        assert_eq!((v.table_id(), v.config()), (t.table_id, t.config));
        let mut v = TableModView::new_checked(msg.clone()).unwrap();
        v.set_table_id(4);
        v.set_config(8);
        let t = TableMod::decode(&mut Reader::new(&v.into_inner()[8..])).unwrap();
        assert_eq!((t.table_id, t.config), (4, 8));
        crate::view::testing::assert_len_checks::<TableModView<_>>(&msg);
    }
}
