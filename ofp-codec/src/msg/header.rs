//! `ofp_header`, message types, and stream framing.
//!
//! Every OpenFlow message starts with the 8-byte `ofp_header`
//! (`version`, `type`, `length`, `xid`). [`frame_len`] looks at the front of
//! a byte stream (the controller channel) and says how long the next message
//! is, or how many more bytes are needed to know.

use bytes::{BufMut, BytesMut};

use crate::error::OfpError;
use crate::open_enum;
use crate::reader::Reader;

/// OpenFlow 1.3's wire version.
pub const OFP13_VERSION: u8 = 0x04;
/// Size of `ofp_header`.
pub const HEADER_LEN: usize = 8;
/// Size of the OpenFlow 1.3 multipart header (`ofp_header` + type, flags, pad).
pub const MULTIPART_HEADER_LEN: usize = 16;
/// Size of an experimenter message header (`ofp_header` + experimenter, subtype).
pub const EXPERIMENTER_HEADER_LEN: usize = 16;

open_enum! {
    /// `ofp_type`: the message type in the header.
    pub struct MsgType(u8) {
        HELLO = 0 => "OFPT_HELLO",
        ERROR = 1 => "OFPT_ERROR",
        ECHO_REQUEST = 2 => "OFPT_ECHO_REQUEST",
        ECHO_REPLY = 3 => "OFPT_ECHO_REPLY",
        EXPERIMENTER = 4 => "OFPT_EXPERIMENTER",
        FEATURES_REQUEST = 5 => "OFPT_FEATURES_REQUEST",
        FEATURES_REPLY = 6 => "OFPT_FEATURES_REPLY",
        GET_CONFIG_REQUEST = 7 => "OFPT_GET_CONFIG_REQUEST",
        GET_CONFIG_REPLY = 8 => "OFPT_GET_CONFIG_REPLY",
        SET_CONFIG = 9 => "OFPT_SET_CONFIG",
        PACKET_IN = 10 => "OFPT_PACKET_IN",
        FLOW_REMOVED = 11 => "OFPT_FLOW_REMOVED",
        PORT_STATUS = 12 => "OFPT_PORT_STATUS",
        PACKET_OUT = 13 => "OFPT_PACKET_OUT",
        FLOW_MOD = 14 => "OFPT_FLOW_MOD",
        GROUP_MOD = 15 => "OFPT_GROUP_MOD",
        PORT_MOD = 16 => "OFPT_PORT_MOD",
        TABLE_MOD = 17 => "OFPT_TABLE_MOD",
        MULTIPART_REQUEST = 18 => "OFPT_MULTIPART_REQUEST",
        MULTIPART_REPLY = 19 => "OFPT_MULTIPART_REPLY",
        BARRIER_REQUEST = 20 => "OFPT_BARRIER_REQUEST",
        BARRIER_REPLY = 21 => "OFPT_BARRIER_REPLY",
        QUEUE_GET_CONFIG_REQUEST = 22 => "OFPT_QUEUE_GET_CONFIG_REQUEST",
        QUEUE_GET_CONFIG_REPLY = 23 => "OFPT_QUEUE_GET_CONFIG_REPLY",
        ROLE_REQUEST = 24 => "OFPT_ROLE_REQUEST",
        ROLE_REPLY = 25 => "OFPT_ROLE_REPLY",
        GET_ASYNC_REQUEST = 26 => "OFPT_GET_ASYNC_REQUEST",
        GET_ASYNC_REPLY = 27 => "OFPT_GET_ASYNC_REPLY",
        SET_ASYNC = 28 => "OFPT_SET_ASYNC",
        METER_MOD = 29 => "OFPT_METER_MOD",
    }
}

/// A decoded `ofp_header`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    pub version: u8,
    pub msg_type: MsgType,
    /// Total message length in bytes, header included.
    pub length: u16,
    pub xid: u32,
}

impl Header {
    /// Reads the 8 header bytes. Does not check `length` against anything.
    pub fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        Ok(Header {
            version: r.u8()?,
            msg_type: MsgType(r.u8()?),
            length: r.u16()?,
            xid: r.u32()?,
        })
    }

    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.version);
        out.put_u8(self.msg_type.0);
        out.put_u16(self.length);
        out.put_u32(self.xid);
    }

    pub const fn encoded_len(&self) -> usize {
        HEADER_LEN
    }
}

crate::view! {
    /// `ofp_header` at the front of any OpenFlow message.
    pub struct HeaderView: message(HEADER_LEN) {}
}

/// What [`frame_len`] found at the front of a stream buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A whole message of this many bytes is at the front of the buffer.
    Complete(usize),
    /// At least this many bytes in total are needed before a message can be
    /// split off (the header when fewer than 8 bytes are present, else the
    /// length the header announces).
    Incomplete(usize),
}

/// Framing for the controller channel: given the bytes received so far,
/// how long is the next message? A header whose `length` is below 8 can
/// never frame a message: `OFPBRC_BAD_LEN`, and the connection should be
/// dropped (OVS does the same).
pub fn frame_len(buf: &[u8]) -> Result<Frame, OfpError> {
    let Some(head) = buf.get(..HEADER_LEN) else {
        return Ok(Frame::Incomplete(HEADER_LEN));
    };
    let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    if len < HEADER_LEN {
        return Err(OfpError::OFPBRC_BAD_LEN);
    }
    Ok(if buf.len() >= len {
        Frame::Complete(len)
    } else {
        Frame::Incomplete(len)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let bytes = [0x04, 0x0e, 0x00, 0x50, 0x12, 0x34, 0x56, 0x78];
        let h = Header::decode(&mut Reader::new(&bytes)).unwrap();
        assert_eq!(h.msg_type, MsgType::FLOW_MOD);
        assert_eq!((h.length, h.xid), (0x50, 0x1234_5678));
        let mut out = BytesMut::new();
        h.encode(&mut out);
        assert_eq!(&out[..], &bytes);
        assert!(Header::decode(&mut Reader::new(&bytes[..7])).is_err());
        assert_eq!(format!("{:?}", MsgType(99)), "MsgType(0x63)");
    }

    #[test]
    fn framing_reports_needed_bytes() {
        assert_eq!(frame_len(&[4, 0]), Ok(Frame::Incomplete(8)));
        let mut two = vec![4, 2, 0, 10, 0, 0, 0, 1, 0xaa];
        assert_eq!(frame_len(&two), Ok(Frame::Incomplete(10)));
        two.extend([0xbb, 4, 0]);
        assert_eq!(frame_len(&two), Ok(Frame::Complete(10)));
        assert_eq!(
            frame_len(&[4, 0, 0, 7, 0, 0, 0, 0]),
            Err(OfpError::OFPBRC_BAD_LEN)
        );
    }

    #[test]
    fn header_view_agrees_with_decode_and_checks_length() {
        let bytes = [0x04, 0x0e, 0x00, 0x08, 0x12, 0x34, 0x56, 0x78];
        let v = HeaderView::new_checked(&bytes[..]).unwrap();
        let h = Header::decode(&mut Reader::new(&bytes)).unwrap();
        assert_eq!(
            (v.version(), v.msg_type(), v.length(), v.xid()),
            (h.version, h.msg_type, h.length, h.xid)
        );
        let mut v = HeaderView::new_unchecked(bytes);
        v.set_msg_type(MsgType::BARRIER_REQUEST);
        v.set_xid(7);
        let h = Header::decode(&mut Reader::new(&v.into_inner())).unwrap();
        assert_eq!((h.msg_type, h.xid), (MsgType::BARRIER_REQUEST, 7));
        crate::view::testing::assert_len_checks::<HeaderView<_>>(&bytes);
        // A longer buffer is fine: the header announces the message's end.
        let v = HeaderView::new_checked([4, 2, 0, 10, 0, 0, 0, 1, 0xaa, 0xbb, 0xcc]).unwrap();
        assert_eq!(v.tail(), &[0xaa, 0xbb]);
    }
}
