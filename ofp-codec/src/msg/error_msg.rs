//! `OFPT_ERROR`: an [`OfpError`] plus the offending request's bytes.
//!
//! Vendor errors use `OFPET_EXPERIMENTER` (0xffff) with `code` = exp_type and
//! a 32-bit experimenter id before the data, as OVS sends them on OF1.2+.
//! An error reply carries the whole offending request (OVS copies all of it,
//! limited only by the 64 KiB message size), see [`ErrorMsg::reply_to`].

use bytes::{BufMut, BytesMut};

use super::WireBody;
use super::header::HEADER_LEN;
use crate::error::{OFPET_EXPERIMENTER, OfpError};
use crate::reader::Reader;

crate::view! {
    /// `ofp_error_msg`. For `OFPET_EXPERIMENTER` the tail starts with the
    /// experimenter id and `code` is the experimenter's `exp_type`.
    pub struct ErrorMsgView: message(12) {
        /// `OFPET_*`.
        ERR_TYPE: 8..10 => err_type, set_err_type: u16;
        CODE: 10..12 => code, set_code: u16;
    }
}

/// `OFPT_ERROR` body.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ErrorMsg {
    pub error: OfpError,
    /// For most errors, the start of the request that failed; for
    /// `OFPET_HELLO_FAILED`, an ASCII explanation.
    pub data: Vec<u8>,
}

impl ErrorMsg {
    /// The error reply OVS sends for `request`: the request's bytes (as many
    /// as its header's `length` says and the buffer holds) as data, trimmed so
    /// the whole error message fits in 65535 bytes.
    ///
    /// An error OVS cannot encode on OpenFlow 1.3 (`OFPBFC_BAD_VERSION`, or
    /// any error without a name) is sent as `NXBRC_UNENCODABLE_ERROR`, as OVS
    /// does.
    pub fn reply_to(error: OfpError, request: &[u8]) -> Self {
        let unencodable = OfpError::vendor(crate::error::NX_VENDOR_ID, 10);
        let error = if error == OfpError::OFPBFC_BAD_VERSION || error.name().is_none() {
            unencodable
        } else {
            error
        };
        let announced = match request.get(2..4) {
            Some(l) => usize::from(u16::from_be_bytes([l[0], l[1]])),
            None => request.len(),
        };
        let fixed = HEADER_LEN
            + 4
            + if error.etype == OFPET_EXPERIMENTER {
                4
            } else {
                0
            };
        let n = announced
            .min(request.len())
            .min(usize::from(u16::MAX) - fixed);
        ErrorMsg {
            error,
            data: request[..n].to_vec(),
        }
    }
}

impl WireBody for ErrorMsg {
    /// An error that OVS would not recognise is `OFPBRC_BAD_LEN`, which is
    /// what OVS's decoder reports for it.
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let etype = r.u16()?;
        let code = r.u16()?;
        let error = if etype == OFPET_EXPERIMENTER {
            OfpError::vendor(r.u32()?, code)
        } else {
            OfpError::new(etype, code)
        };
        if error.name().is_none() {
            return Err(OfpError::OFPBRC_BAD_LEN);
        }
        Ok(ErrorMsg {
            error,
            data: r.take(r.remaining())?.to_vec(),
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.error.etype);
        out.put_u16(self.error.code);
        if self.error.etype == OFPET_EXPERIMENTER {
            out.put_u32(self.error.experimenter);
        }
        out.put_slice(&self.data);
    }

    fn encoded_len(&self) -> usize {
        4 + if self.error.etype == OFPET_EXPERIMENTER {
            4
        } else {
            0
        } + self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_and_vendor_errors_round_trip() {
        let body = [0x00, 0x01, 0x00, 0x06, 0x04, 0x0e, 0x00, 0x08, 0, 0, 0, 1];
        let e = ErrorMsg::decode(&mut Reader::new(&body)).unwrap();
        assert_eq!(e.error, OfpError::OFPBRC_BAD_LEN);
        assert_eq!(e.data.len(), 8);
        let mut out = BytesMut::new();
        e.encode(&mut out);
        assert_eq!(&out[..], &body);

        let vbody = [0xff, 0xff, 0x08, 0xfe, 0x4f, 0x4e, 0x46, 0x00];
        let v = ErrorMsg::decode(&mut Reader::new(&vbody)).unwrap();
        assert_eq!(v.error, OfpError::OFPBFC_BAD_ID);
        assert_eq!(v.encoded_len(), 8);
    }

    #[test]
    fn truncated_and_unknown_errors_are_bad_len() {
        assert_eq!(
            ErrorMsg::decode(&mut Reader::new(&[0, 1, 0])),
            Err(OfpError::BAD_LEN)
        );
        assert_eq!(
            ErrorMsg::decode(&mut Reader::new(&[0xff, 0xff, 0, 1])),
            Err(OfpError::BAD_LEN)
        );
        assert_eq!(
            ErrorMsg::decode(&mut Reader::new(&[0, 99, 0, 1])),
            Err(OfpError::BAD_LEN)
        );
    }

    #[test]
    fn reply_copies_the_whole_request() {
        let req: Vec<u8> = [4, 14, 0, 100, 0, 0, 0, 9]
            .into_iter()
            .chain([0u8; 92])
            .collect();
        assert_eq!(
            ErrorMsg::reply_to(OfpError::OFPBMC_BAD_PREREQ, &req)
                .data
                .len(),
            100
        );
        assert_eq!(
            ErrorMsg::reply_to(OfpError::OFPBMC_BAD_PREREQ, &req[..50])
                .data
                .len(),
            50
        );
    }

    #[test]
    fn error_view_agrees_with_decode() {
        let body = [0x00, 0x01, 0x00, 0x06, 0x04, 0x0e, 0x00, 0x08, 0, 0, 0, 1];
        let msg = crate::view::testing::framed(crate::msg::MsgType::ERROR, &body);
        let v = ErrorMsgView::new_checked(&msg[..]).unwrap();
        let e = ErrorMsg::decode(&mut Reader::new(&body)).unwrap();
        assert_eq!((v.err_type(), v.code()), (e.error.etype, e.error.code));
        assert_eq!(v.tail(), &e.data[..]);
        let mut v = ErrorMsgView::new_checked(msg.clone()).unwrap();
        v.set_err_type(4);
        v.set_code(9);
        let e = ErrorMsg::decode(&mut Reader::new(&v.into_inner()[8..])).unwrap();
        assert_eq!(e.error, OfpError::OFPBMC_BAD_PREREQ);
        crate::view::testing::assert_len_checks::<ErrorMsgView<_>>(&msg);
    }
}
