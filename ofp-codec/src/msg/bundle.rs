//! ONF bundle extension on OpenFlow 1.3 (what `ovs-ofctl --bundle` sends):
//! `ONFT_BUNDLE_CONTROL` (2300) and `ONFT_BUNDLE_ADD_MESSAGE` (2301),
//! experimenter messages with the ONF id 0x4f4e4600. The body (after the
//! 16-byte experimenter header) is `ofp14_bundle_ctrl_msg`-shaped.

use bytes::{BufMut, BytesMut};

use super::WireBody;
use super::header::{HEADER_LEN, HeaderView, MsgType};
use crate::error::OfpError;
use crate::open_enum;
use crate::reader::Reader;

/// ONF experimenter subtypes.
pub const ONFT_BUNDLE_CONTROL: u32 = 2300;
pub const ONFT_BUNDLE_ADD_MESSAGE: u32 = 2301;

/// `OFPBF_*` bundle flags.
pub const OFPBF_ATOMIC: u16 = 1 << 0;
pub const OFPBF_ORDERED: u16 = 1 << 1;

open_enum! {
    /// `ofp14_bundle_ctrl_type`.
    pub struct BundleCtrlType(u16) {
        OPEN_REQUEST = 0 => "OPEN_REQUEST",
        OPEN_REPLY = 1 => "OPEN_REPLY",
        CLOSE_REQUEST = 2 => "CLOSE_REQUEST",
        CLOSE_REPLY = 3 => "CLOSE_REPLY",
        COMMIT_REQUEST = 4 => "COMMIT_REQUEST",
        COMMIT_REPLY = 5 => "COMMIT_REPLY",
        DISCARD_REQUEST = 6 => "DISCARD_REQUEST",
        DISCARD_REPLY = 7 => "DISCARD_REPLY",
    }
}

crate::view! {
    /// `ONFT_BUNDLE_CONTROL`, fixed part; the tail is the properties.
    pub struct BundleCtrlView: experimenter(24) {
        BUNDLE_ID: 16..20 => bundle_id, set_bundle_id: u32;
        CTRL_TYPE: 20..22 => ctrl_type, set_ctrl_type: u16 as BundleCtrlType;
        /// `OFPBF_*`.
        FLAGS: 22..24 => flags, set_flags: u16;
    }
}

crate::view! {
    /// `ONFT_BUNDLE_ADD_MESSAGE`, fixed part; the tail is the inner message
    /// and then the properties. The inner message is not checked here
    /// ([`BundleAdd::validate`] does, in OVS's order).
    pub struct BundleAddView: experimenter(24) {
        BUNDLE_ID: 16..20 => bundle_id, set_bundle_id: u32;
        /// `OFPBF_*`.
        FLAGS: 22..24 => flags, set_flags: u16;
    }
}

impl<T: AsRef<[u8]>> BundleAddView<T> {
    /// The inner message: its header's `length` bytes if they fit, else
    /// the whole tail (as [`BundleAdd`] keeps it).
    pub fn message(&self) -> &[u8] {
        let tail = self.tail();
        match HeaderView::new_checked(tail) {
            Ok(inner) => tail.get(..inner.total_len()).unwrap_or(tail),
            Err(_) => tail,
        }
    }
}

/// `ONFT_BUNDLE_CONTROL` body. `properties` are kept as raw bytes (OVS
/// ignores them on 1.3).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BundleControl {
    pub bundle_id: u32,
    pub ctrl_type: BundleCtrlType,
    pub flags: u16,
    pub properties: Vec<u8>,
}

impl WireBody for BundleControl {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        Ok(BundleControl {
            bundle_id: r.u32()?,
            ctrl_type: BundleCtrlType(r.u16()?),
            flags: r.u16()?,
            properties: r.take(r.remaining())?.to_vec(),
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.bundle_id);
        out.put_u16(self.ctrl_type.0);
        out.put_u16(self.flags);
        out.put_slice(&self.properties);
    }
    fn encoded_len(&self) -> usize {
        8 + self.properties.len()
    }
}

/// `ONFT_BUNDLE_ADD_MESSAGE` body: a whole inner OpenFlow message (kept as
/// bytes; decode it with [`crate::msg::Message::decode`] when the bundle is
/// committed) followed by optional properties.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BundleAdd {
    pub bundle_id: u32,
    pub flags: u16,
    /// The inner message, exactly its header's `length` bytes.
    pub message: Vec<u8>,
    pub properties: Vec<u8>,
}

impl BundleAdd {
    /// Checks the inner message as OVS does, given the outer header's version
    /// and xid: present and of sane length (`OFPBFC_MSG_BAD_LEN`), same
    /// version (`OFPBFC_BAD_VERSION`), same xid (`OFPBFC_MSG_BAD_XID`), a
    /// decodable header and a bundlable type (`OFPBFC_MSG_UNSUP`).
    pub fn validate(&self, outer_version: u8, outer_xid: u32) -> Result<(), OfpError> {
        let m = &self.message[..];
        if m.len() < HEADER_LEN {
            return Err(OfpError::OFPBFC_MSG_BAD_LEN);
        }
        let h = HeaderView::new_unchecked(m);
        if h.version() != outer_version {
            return Err(OfpError::OFPBFC_BAD_VERSION);
        }
        if usize::from(h.length()) != m.len() {
            return Err(OfpError::OFPBFC_MSG_BAD_LEN);
        }
        if h.xid() != outer_xid {
            return Err(OfpError::OFPBFC_MSG_BAD_XID);
        }
        if super::check_framing(m).is_err() {
            return Err(OfpError::OFPBFC_MSG_UNSUP);
        }
        match h.msg_type() {
            MsgType::PORT_MOD | MsgType::FLOW_MOD | MsgType::GROUP_MOD | MsgType::PACKET_OUT => {
                Ok(())
            }
            _ => Err(OfpError::OFPBFC_MSG_UNSUP),
        }
    }
}

impl WireBody for BundleAdd {
    /// Only a missing inner header fails here (`OFPBFC_MSG_BAD_LEN`); an
    /// inner length that does not fit leaves all the bytes in `message` so
    /// that [`BundleAdd::validate`] reports errors in OVS's order.
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let bundle_id = r.u32()?;
        r.skip(2)?;
        let flags = r.u16()?;
        let Some(head) = r.peek(HEADER_LEN) else {
            return Err(OfpError::OFPBFC_MSG_BAD_LEN);
        };
        let inner_len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let take = if (HEADER_LEN..=r.remaining()).contains(&inner_len) {
            inner_len
        } else {
            r.remaining()
        };
        Ok(BundleAdd {
            bundle_id,
            flags,
            message: r.take(take)?.to_vec(),
            properties: r.take(r.remaining())?.to_vec(),
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.bundle_id);
        out.put_u16(0);
        out.put_u16(self.flags);
        out.put_slice(&self.message);
        out.put_slice(&self.properties);
    }
    fn encoded_len(&self) -> usize {
        8 + self.message.len() + self.properties.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_control_round_trip() {
        let body = [0, 0, 0, 1, 0, 4, 0, 1];
        let b = BundleControl::decode(&mut Reader::new(&body)).unwrap();
        assert_eq!(
            (b.ctrl_type, b.flags),
            (BundleCtrlType::COMMIT_REQUEST, OFPBF_ATOMIC)
        );
        let mut out = BytesMut::new();
        b.encode(&mut out);
        assert_eq!(&out[..], &body);
        assert!(BundleControl::decode(&mut Reader::new(&body[..7])).is_err());
    }

    #[test]
    fn bundle_add_checks_inner_message() {
        let body = [0, 0, 0, 1, 0, 0, 0, 1, 4, 20, 0, 8, 0, 0, 0, 9];
        let b = BundleAdd::decode(&mut Reader::new(&body)).unwrap();
        assert_eq!(b.message, [4, 20, 0, 8, 0, 0, 0, 9]);
        let mut out = BytesMut::new();
        b.encode(&mut out);
        assert_eq!(&out[..], &body);
        // A barrier is not bundlable; wrong xid is caught first.
        assert_eq!(b.validate(4, 8), Err(OfpError::OFPBFC_MSG_BAD_XID));
        assert_eq!(b.validate(4, 9), Err(OfpError::OFPBFC_MSG_UNSUP));
        let mut long = body;
        long[11] = 9;
        let b = BundleAdd::decode(&mut Reader::new(&long)).unwrap();
        assert_eq!(b.validate(4, 9), Err(OfpError::OFPBFC_MSG_BAD_LEN));
        assert_eq!(b.validate(5, 9), Err(OfpError::OFPBFC_BAD_VERSION));
        assert_eq!(
            BundleAdd::decode(&mut Reader::new(&body[..12])),
            Err(OfpError::OFPBFC_MSG_BAD_LEN)
        );
    }

    fn onf(subtype: u32, body: &[u8]) -> Vec<u8> {
        let mut b = crate::error::ONF_VENDOR_ID.to_be_bytes().to_vec();
        b.extend(subtype.to_be_bytes());
        b.extend(body);
        crate::view::testing::framed(MsgType::EXPERIMENTER, &b)
    }

    #[test]
    fn bundle_views_agree_with_decode_and_setters_reach_it() {
        let msg = onf(ONFT_BUNDLE_CONTROL, &[0, 0, 0, 1, 0, 4, 0, 1]);
        let v = BundleCtrlView::new_checked(&msg[..]).unwrap();
        let b = BundleControl::decode(&mut Reader::new(&msg[16..])).unwrap();
        assert_eq!(
            (v.bundle_id(), v.ctrl_type(), v.flags(), v.tail()),
            (b.bundle_id, b.ctrl_type, b.flags, &b.properties[..])
        );
        assert_eq!(v.experimenter(), crate::error::ONF_VENDOR_ID);
        crate::view::testing::assert_len_checks::<BundleCtrlView<_>>(&msg);
        let mut v = BundleCtrlView::new_checked(msg).unwrap();
        v.set_bundle_id(9);
        v.set_ctrl_type(BundleCtrlType::DISCARD_REQUEST);
        v.set_flags(OFPBF_ORDERED);
        let b = BundleControl::decode(&mut Reader::new(&v.into_inner()[16..])).unwrap();
        assert_eq!(
            (b.bundle_id, b.ctrl_type, b.flags),
            (9, BundleCtrlType::DISCARD_REQUEST, OFPBF_ORDERED)
        );

        let body = [0, 0, 0, 1, 0, 0, 0, 1, 4, 20, 0, 8, 0, 0, 0, 9, 0xee];
        let msg = onf(ONFT_BUNDLE_ADD_MESSAGE, &body);
        let v = BundleAddView::new_checked(&msg[..]).unwrap();
        let b = BundleAdd::decode(&mut Reader::new(&body)).unwrap();
        assert_eq!(
            (v.bundle_id(), v.flags(), v.message()),
            (b.bundle_id, b.flags, &b.message[..])
        );
        crate::view::testing::assert_len_checks::<BundleAddView<_>>(&msg);
        let mut v = BundleAddView::new_checked(msg).unwrap();
        v.set_bundle_id(3);
        v.set_flags(OFPBF_ATOMIC | OFPBF_ORDERED);
        let b = BundleAdd::decode(&mut Reader::new(&v.into_inner()[16..])).unwrap();
        assert_eq!((b.bundle_id, b.flags), (3, OFPBF_ATOMIC | OFPBF_ORDERED));
    }
}
