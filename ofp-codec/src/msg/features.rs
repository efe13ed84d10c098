//! `OFPT_FEATURES_REPLY` (`ofp_switch_features`); the request has no body.

use bytes::{BufMut, BytesMut};

use super::WireBody;
use crate::error::OfpError;
use crate::reader::Reader;

/// `OFPC_*` capability bits.
pub mod capabilities {
    pub const FLOW_STATS: u32 = 1 << 0;
    pub const TABLE_STATS: u32 = 1 << 1;
    pub const PORT_STATS: u32 = 1 << 2;
    pub const GROUP_STATS: u32 = 1 << 3;
    pub const IP_REASM: u32 = 1 << 5;
    pub const QUEUE_STATS: u32 = 1 << 6;
    pub const PORT_BLOCKED: u32 = 1 << 8;
}

crate::view! {
    /// `OFPT_FEATURES_REPLY` (`ofp_switch_features`).
    pub struct SwitchFeaturesView: message(32) {
        DATAPATH_ID: 8..16 => datapath_id, set_datapath_id: u64;
        N_BUFFERS: 16..20 => n_buffers, set_n_buffers: u32;
        N_TABLES: 20..21 => n_tables, set_n_tables: u8;
        AUXILIARY_ID: 21..22 => auxiliary_id, set_auxiliary_id: u8;
        /// `OFPC_*` bits.
        CAPABILITIES: 24..28 => capabilities, set_capabilities: u32;
        RESERVED: 28..32 => reserved, set_reserved: u32;
    }
}

/// `ofp_switch_features` (OpenFlow 1.3: no port list).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SwitchFeatures {
    pub datapath_id: u64,
    pub n_buffers: u32,
    pub n_tables: u8,
    pub auxiliary_id: u8,
    pub capabilities: u32,
    pub reserved: u32,
}

impl WireBody for SwitchFeatures {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let datapath_id = r.u64()?;
        let n_buffers = r.u32()?;
        let n_tables = r.u8()?;
        let auxiliary_id = r.u8()?;
        r.skip(2)?;
        Ok(SwitchFeatures {
            datapath_id,
            n_buffers,
            n_tables,
            auxiliary_id,
            capabilities: r.u32()?,
            reserved: r.u32()?,
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u64(self.datapath_id);
        out.put_u32(self.n_buffers);
        out.put_u8(self.n_tables);
        out.put_u8(self.auxiliary_id);
        out.put_u16(0);
        out.put_u32(self.capabilities);
        out.put_u32(self.reserved);
    }
    fn encoded_len(&self) -> usize {
        24
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_round_trip_and_truncation() {
        let body = [
            0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0xfe, 0, 0, 0, 0, 0, 0, 0x4f, 0, 0, 0, 0,
        ];
        let f = SwitchFeatures::decode(&mut Reader::new(&body)).unwrap();
        assert_eq!(
            (f.datapath_id, f.n_buffers, f.n_tables, f.capabilities),
            (1, 256, 254, 0x4f)
        );
        let mut out = BytesMut::new();
        f.encode(&mut out);
        assert_eq!(&out[..], &body);
        assert!(SwitchFeatures::decode(&mut Reader::new(&body[..23])).is_err());
    }

    #[test]
    fn features_view_agrees_with_decode_and_setters_reach_it() {
        let body = [
            0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0xfe, 0, 0, 0, 0, 0, 0, 0x4f, 0, 0, 0, 0,
        ];
        let msg = crate::view::testing::framed(crate::msg::MsgType::FEATURES_REPLY, &body);
        let v = SwitchFeaturesView::new_checked(&msg[..]).unwrap();
        let f = SwitchFeatures::decode(&mut Reader::new(&body)).unwrap();
        let seen = SwitchFeatures {
            datapath_id: v.datapath_id(),
            n_buffers: v.n_buffers(),
            n_tables: v.n_tables(),
            auxiliary_id: v.auxiliary_id(),
            capabilities: v.capabilities(),
            reserved: v.reserved(),
        };
        assert_eq!(seen, f);
        let mut v = SwitchFeaturesView::new_checked(msg.clone()).unwrap();
        v.set_datapath_id(0x0102_0304_0506_0708);
        v.set_n_buffers(9);
        v.set_n_tables(10);
        v.set_auxiliary_id(11);
        v.set_capabilities(12);
        v.set_reserved(13);
        let f = SwitchFeatures::decode(&mut Reader::new(&v.into_inner()[8..])).unwrap();
        assert_eq!(
            f,
            SwitchFeatures {
                datapath_id: 0x0102_0304_0506_0708,
                n_buffers: 9,
                n_tables: 10,
                auxiliary_id: 11,
                capabilities: 12,
                reserved: 13
            }
        );
        crate::view::testing::assert_len_checks::<SwitchFeaturesView<_>>(&msg);
    }
}
