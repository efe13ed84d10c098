//! `OFPT_PORT_STATUS`: a port was added, deleted or modified.

use bytes::{BufMut, BytesMut};

use super::WireBody;
use super::port::{PORT_LEN, Port, PortView};
use crate::error::OfpError;
use crate::open_enum;
use crate::reader::Reader;

open_enum! {
    /// `ofp_port_reason`.
    pub struct PortReason(u8) {
        ADD = 0 => "ADD",
        DELETE = 1 => "DELETE",
        MODIFY = 2 => "MODIFY",
    }
}

crate::view! {
    /// `OFPT_PORT_STATUS` (`ofp_port_status`); `desc` is the `ofp_port`.
    pub struct PortStatusView: message(80) {
        REASON: 8..9 => reason, set_reason: u8 as PortReason;
    }
}

impl<T: AsRef<[u8]>> PortStatusView<T> {
    /// Bytes of `desc` (`ofp_port`).
    pub const DESC: core::ops::Range<usize> = 16..16 + PORT_LEN;

    /// A view of `desc`; never panics (an inconsistent view gives an empty
    /// port view whose fields read as zero).
    pub fn desc(&self) -> PortView<&[u8]> {
        PortView::new_unchecked(self.as_bytes().get(Self::DESC).unwrap_or(&[]))
    }
}

/// `ofp_port_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PortStatus {
    pub reason: PortReason,
    pub desc: Port,
}

impl WireBody for PortStatus {
    /// A reason other than add/delete/modify is `NXBRC_BAD_REASON` (as OVS).
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let reason = PortReason(r.u8()?);
        r.skip(7)?;
        if reason.name().is_none() {
            return Err(OfpError::NXBRC_BAD_REASON);
        }
        Ok(PortStatus {
            reason,
            desc: Port::decode(r)?,
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u8(self.reason.0);
        out.put_bytes(0, 7);
        self.desc.encode(out);
    }
    fn encoded_len(&self) -> usize {
        8 + PORT_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_status_round_trip_and_bad_reason() {
        let ps = PortStatus {
            reason: PortReason::MODIFY,
            desc: crate::msg::port::tests::sample(),
        };
        let mut out = BytesMut::new();
        ps.encode(&mut out);
        assert_eq!(out.len(), ps.encoded_len());
        assert_eq!(PortStatus::decode(&mut Reader::new(&out)).unwrap(), ps);
        out[0] = 7;
        assert_eq!(
            PortStatus::decode(&mut Reader::new(&out))
                .unwrap_err()
                .to_string(),
            "NXBRC_BAD_REASON"
        );
        assert!(PortStatus::decode(&mut Reader::new(&out[..40])).is_err());
    }

    #[test]
    fn port_status_view_agrees_with_decode_and_setters_reach_it() {
        let ps = PortStatus {
            reason: PortReason::DELETE,
            desc: crate::msg::port::tests::sample(),
        };
        let msg = crate::view::testing::framed_body(crate::msg::MsgType::PORT_STATUS, &ps);
        let v = PortStatusView::new_checked(&msg[..]).unwrap();
        assert_eq!((v.reason(), v.desc().to_port()), (ps.reason, ps.desc));
        let mut v = PortStatusView::new_checked(msg.clone()).unwrap();
        v.set_reason(PortReason::ADD);
        let got = PortStatus::decode(&mut Reader::new(&v.into_inner()[8..])).unwrap();
        assert_eq!(got.reason, PortReason::ADD);
        crate::view::testing::assert_len_checks::<PortStatusView<_>>(&msg);
    }
}
