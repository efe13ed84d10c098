//! `OFPT_GET_ASYNC_REPLY` / `OFPT_SET_ASYNC` (`ofp_async_config`).
//!
//! Each mask pair is `[primary/equal, secondary]`; bit N enables reason N.

use bytes::{BufMut, BytesMut};

use super::WireBody;
use crate::error::OfpError;
use crate::reader::Reader;

crate::view! {
    /// `OFPT_GET_ASYNC_REPLY` / `OFPT_SET_ASYNC` (OpenFlow 1.3
    /// `ofp_async_config`): three mask pairs, primary/equal then secondary.
    pub struct AsyncConfigView: message(32) {
        PACKET_IN_MASK_PRIMARY: 8..12 => packet_in_mask_primary, set_packet_in_mask_primary: u32;
        PACKET_IN_MASK_SECONDARY: 12..16 => packet_in_mask_secondary,
            set_packet_in_mask_secondary: u32;
        PORT_STATUS_MASK_PRIMARY: 16..20 => port_status_mask_primary,
            set_port_status_mask_primary: u32;
        PORT_STATUS_MASK_SECONDARY: 20..24 => port_status_mask_secondary,
            set_port_status_mask_secondary: u32;
        FLOW_REMOVED_MASK_PRIMARY: 24..28 => flow_removed_mask_primary,
            set_flow_removed_mask_primary: u32;
        FLOW_REMOVED_MASK_SECONDARY: 28..32 => flow_removed_mask_secondary,
            set_flow_removed_mask_secondary: u32;
    }
}

crate::view! {
    /// `ofp_async_config_prop_header`: the OpenFlow 1.4+ property form of
    /// the async configuration. rvs speaks OpenFlow 1.3, whose
    /// [`AsyncConfig`] has no properties; this view is for inspecting such
    /// bodies (the owned decoder does not read them).
    pub struct AsyncConfigPropView: sized(4, LENGTH, OfpError::OFPBRC_BAD_LEN) {
        /// `OFPACPT_*`.
        PROP_TYPE: 0..2 => prop_type, set_prop_type: u16;
        LENGTH: 2..4 => length, set_length: u16;
    }
}

/// `ofp_async_config`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AsyncConfig {
    pub packet_in_mask: [u32; 2],
    pub port_status_mask: [u32; 2],
    pub flow_removed_mask: [u32; 2],
}

impl WireBody for AsyncConfig {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let mut m = [0u32; 6];
        for v in &mut m {
            *v = r.u32()?;
        }
        Ok(AsyncConfig {
            packet_in_mask: [m[0], m[1]],
            port_status_mask: [m[2], m[3]],
            flow_removed_mask: [m[4], m[5]],
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        for v in self
            .packet_in_mask
            .iter()
            .chain(&self.port_status_mask)
            .chain(&self.flow_removed_mask)
        {
            out.put_u32(*v);
        }
    }
    fn encoded_len(&self) -> usize {
        24
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn async_round_trip() {
        let body: Vec<u8> = (1..=6u32).flat_map(|v| v.to_be_bytes()).collect();
        let a = AsyncConfig::decode(&mut Reader::new(&body)).unwrap();
        assert_eq!(a.port_status_mask, [3, 4]);
        let mut out = BytesMut::new();
        a.encode(&mut out);
        assert_eq!(&out[..], &body[..]);
        assert!(AsyncConfig::decode(&mut Reader::new(&body[..20])).is_err());
    }

    #[test]
    fn async_config_view_agrees_with_decode_and_setters_reach_it() {
        let body: Vec<u8> = (1..=6u32).flat_map(|v| v.to_be_bytes()).collect();
        let msg = crate::view::testing::framed(crate::msg::MsgType::SET_ASYNC, &body);
        let v = AsyncConfigView::new_checked(&msg[..]).unwrap();
        let seen = AsyncConfig {
            packet_in_mask: [v.packet_in_mask_primary(), v.packet_in_mask_secondary()],
            port_status_mask: [v.port_status_mask_primary(), v.port_status_mask_secondary()],
            flow_removed_mask: [
                v.flow_removed_mask_primary(),
                v.flow_removed_mask_secondary(),
            ],
        };
        assert_eq!(seen, AsyncConfig::decode(&mut Reader::new(&body)).unwrap());
        let mut v = AsyncConfigView::new_checked(msg.clone()).unwrap();
        v.set_packet_in_mask_primary(10);
        v.set_packet_in_mask_secondary(11);
        v.set_port_status_mask_primary(12);
        v.set_port_status_mask_secondary(13);
        v.set_flow_removed_mask_primary(14);
        v.set_flow_removed_mask_secondary(15);
        let a = AsyncConfig::decode(&mut Reader::new(&v.into_inner()[8..])).unwrap();
        assert_eq!(
            a,
            AsyncConfig {
                packet_in_mask: [10, 11],
                port_status_mask: [12, 13],
                flow_removed_mask: [14, 15]
            }
        );
        crate::view::testing::assert_len_checks::<AsyncConfigView<_>>(&msg);
    }

    #[test]
    fn async_config_prop_view_reads_a_1_4_reasons_property() {
        // OFPACPT_PACKET_IN_SLAVE, length 8, mask 0x5.
        let prop = [0, 0, 0, 8, 0, 0, 0, 5];
        let v = AsyncConfigPropView::new_checked(&prop[..]).unwrap();
        assert_eq!((v.prop_type(), v.length(), v.tail()), (0, 8, &prop[4..]));
        crate::view::testing::assert_len_checks::<AsyncConfigPropView<_>>(&prop);
    }
}
