//! `OFPT_GET_CONFIG_REPLY` / `OFPT_SET_CONFIG` (`ofp_switch_config`).

use bytes::{BufMut, BytesMut};

use super::WireBody;
use crate::error::OfpError;
use crate::reader::Reader;

/// `OFPC_FRAG_*` values of the `flags` field (mask 3).
pub const OFPC_FRAG_NORMAL: u16 = 0;
pub const OFPC_FRAG_DROP: u16 = 1;
pub const OFPC_FRAG_REASM: u16 = 2;
pub const OFPC_FRAG_MASK: u16 = 3;

crate::view! {
    /// `OFPT_GET_CONFIG_REPLY` / `OFPT_SET_CONFIG` (`ofp_switch_config`).
    pub struct SwitchConfigView: message(12) {
        /// `OFPC_FRAG_*`.
        FLAGS: 8..10 => flags, set_flags: u16;
        MISS_SEND_LEN: 10..12 => miss_send_len, set_miss_send_len: u16;
    }
}

/// `ofp_switch_config`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SwitchConfig {
    pub flags: u16,
    /// Bytes of a table-miss packet sent to the controller.
    pub miss_send_len: u16,
}

impl WireBody for SwitchConfig {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        Ok(SwitchConfig {
            flags: r.u16()?,
            miss_send_len: r.u16()?,
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.flags);
        out.put_u16(self.miss_send_len);
    }
    fn encoded_len(&self) -> usize {
        4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trip() {
        let c = SwitchConfig::decode(&mut Reader::new(&[0, 1, 0, 0x80])).unwrap();
        assert_eq!(
            c,
            SwitchConfig {
                flags: OFPC_FRAG_DROP,
                miss_send_len: 128
            }
        );
        let mut out = BytesMut::new();
        c.encode(&mut out);
        assert_eq!(&out[..], &[0, 1, 0, 0x80]);
        assert!(SwitchConfig::decode(&mut Reader::new(&[0, 1, 0])).is_err());
    }

    #[test]
    fn config_view_agrees_with_decode_and_setters_reach_it() {
        let msg = crate::view::testing::framed(crate::msg::MsgType::SET_CONFIG, &[0, 1, 0, 0x80]);
        let v = SwitchConfigView::new_checked(&msg[..]).unwrap();
        let c = SwitchConfig::decode(&mut Reader::new(&msg[8..])).unwrap();
        assert_eq!((v.flags(), v.miss_send_len()), (c.flags, c.miss_send_len));
        let mut v = SwitchConfigView::new_checked(msg.clone()).unwrap();
        v.set_flags(OFPC_FRAG_REASM);
        v.set_miss_send_len(0xffe5);
        let c = SwitchConfig::decode(&mut Reader::new(&v.into_inner()[8..])).unwrap();
        assert_eq!((c.flags, c.miss_send_len), (OFPC_FRAG_REASM, 0xffe5));
        crate::view::testing::assert_len_checks::<SwitchConfigView<_>>(&msg);
    }
}
