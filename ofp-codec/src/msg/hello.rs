//! `OFPT_HELLO`: hello elements (version bitmaps) and version negotiation.
//!
//! Decoding a hello never fails, as in OVS: elements are read while they
//! parse, anything after the first malformed element is kept in `trailing`
//! so that encode reproduces the bytes.

use bytes::{BufMut, BytesMut};

use super::WireBody;
use crate::error::OfpError;
use crate::reader::Reader;

/// `OFPHET_VERSIONBITMAP`.
pub const OFPHET_VERSIONBITMAP: u16 = 1;

crate::view! {
    /// `ofp_hello_elem_header`: one element of a hello's body. `length`
    /// covers the header and data but not the padding to 8 bytes.
    pub struct HelloElemView: sized(4, LENGTH, OfpError::OFPBRC_BAD_LEN) {
        /// `OFPHET_*`.
        ELEM_TYPE: 0..2 => elem_type, set_elem_type: u16;
        LENGTH: 2..4 => length, set_length: u16;
    }
}

/// One hello element: `type`, and the bytes after its 4-byte header up to
/// its `length` (padding to 8 excluded).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HelloElement {
    pub elem_type: u16,
    pub data: Vec<u8>,
}

impl HelloElement {
    /// A version bitmap element holding one 32-bit bitmap word.
    pub fn version_bitmap(bitmap: u32) -> Self {
        HelloElement {
            elem_type: OFPHET_VERSIONBITMAP,
            data: bitmap.to_be_bytes().to_vec(),
        }
    }
}

/// `OFPT_HELLO` body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Hello {
    pub elements: Vec<HelloElement>,
    /// Bytes that did not parse as an element (kept to re-encode as received).
    pub trailing: Vec<u8>,
}

impl Hello {
    /// The hello rvs sends: one version bitmap with exactly the given bitmap.
    pub fn with_versions(bitmap: u32) -> Self {
        Hello {
            elements: vec![HelloElement::version_bitmap(bitmap)],
            trailing: Vec::new(),
        }
    }

    /// The versions the sender allows, given the header's version, and whether
    /// every element was understood (OVS's `ofputil_decode_hello`). Without a
    /// bitmap, every version from 1 up to `header_version` is allowed; only the
    /// first 32-bit word of a bitmap is used and version 0 is ignored.
    pub fn allowed_versions(&self, header_version: u8) -> (u32, bool) {
        let mut allowed = versions_up_to(header_version);
        let mut ok = self.trailing.is_empty();
        for e in &self.elements {
            let d = &e.data;
            if e.elem_type != OFPHET_VERSIONBITMAP || d.is_empty() || d.len() % 4 != 0 {
                ok = false;
                continue;
            }
            let word = u32::from_be_bytes([d[0], d[1], d[2], d[3]]) & !1;
            if word == 0 {
                ok = false;
            } else {
                allowed = word;
            }
        }
        (allowed, ok)
    }
}

/// Bitmap of versions 1..=v (OVS's reading of a bitmap-less hello).
fn versions_up_to(v: u8) -> u32 {
    if v >= 31 {
        !1u32
    } else {
        ((1u32 << (v + 1)) - 1) & !1
    }
}

/// Version negotiation: the highest version in both `our_versions` (a bitmap,
/// bit N = wire version N) and the peer's hello. No common version is
/// `OFPHFC_INCOMPATIBLE`. rvs passes `1 << OFP13_VERSION`, so a 1.4/1.5 peer
/// that also allows 1.3 negotiates down to 1.3.
pub fn negotiate(
    our_versions: u32,
    their_version: u8,
    their_hello: &Hello,
) -> Result<u8, OfpError> {
    let (theirs, _) = their_hello.allowed_versions(their_version);
    let common = our_versions & theirs;
    if common == 0 {
        return Err(OfpError::OFPHFC_INCOMPATIBLE);
    }
    Ok(31 - common.leading_zeros() as u8)
}

impl WireBody for Hello {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let mut hello = Hello::default();
        while !r.is_empty() {
            let mut probe = *r;
            let parsed = (|| {
                let t = probe.u16()?;
                let len = usize::from(probe.u16()?);
                if len < 4 {
                    return Err(OfpError::BAD_LEN);
                }
                let data = probe.take(len - 4)?.to_vec();
                let pad = len.next_multiple_of(8) - len;
                probe.take(pad)?;
                Ok(HelloElement { elem_type: t, data })
            })();
            match parsed {
                Ok(e) => {
                    hello.elements.push(e);
                    *r = probe;
                }
                Err(_) => {
                    hello.trailing = r.take(r.remaining())?.to_vec();
                }
            }
        }
        Ok(hello)
    }

    fn encode(&self, out: &mut BytesMut) {
        for e in &self.elements {
            let len = 4 + e.data.len();
            out.put_u16(e.elem_type);
            out.put_u16(len as u16);
            out.put_slice(&e.data);
            out.put_bytes(0, len.next_multiple_of(8) - len);
        }
        out.put_slice(&self.trailing);
    }

    fn encoded_len(&self) -> usize {
        self.elements
            .iter()
            .map(|e| (4 + e.data.len()).next_multiple_of(8))
            .sum::<usize>()
            + self.trailing.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::header::OFP13_VERSION;

    const OF13: u32 = 1 << OFP13_VERSION;

    fn hello(body: &[u8]) -> Hello {
        Hello::decode(&mut Reader::new(body)).unwrap()
    }

    #[test]
    fn bitmap_hello_round_trips() {
        let body = [0x00, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x12];
        let h = hello(&body);
        assert_eq!(h, Hello::with_versions(0x12));
        assert_eq!(h.allowed_versions(4), (0x12, true));
        let mut out = BytesMut::new();
        h.encode(&mut out);
        assert_eq!(&out[..], &body);
        assert_eq!(h.encoded_len(), 8);
    }

    #[test]
    fn negotiation_picks_13_or_refuses() {
        // OF1.5 peer allowing 1.0..1.5 -> 1.3.
        assert_eq!(negotiate(OF13, 6, &Hello::with_versions(0x7e)), Ok(4));
        // OF1.5 peer without bitmap allows 1..=6 -> 1.3.
        assert_eq!(negotiate(OF13, 6, &Hello::default()), Ok(4));
        // OF1.0-only peer.
        assert_eq!(
            negotiate(OF13, 1, &Hello::default()),
            Err(OfpError::OFPHFC_INCOMPATIBLE)
        );
        // 1.4/1.5 only bitmap.
        assert_eq!(
            negotiate(OF13, 6, &Hello::with_versions(0x60)),
            Err(OfpError::OFPHFC_INCOMPATIBLE)
        );
    }

    #[test]
    fn malformed_elements_are_kept_not_rejected() {
        let body = [0x00, 0x01, 0x00, 0x02, 0xaa];
        let h = hello(&body);
        assert!(h.elements.is_empty());
        assert_eq!(h.trailing, body);
        assert_eq!(h.allowed_versions(4), (0x1e, false));
        let mut out = BytesMut::new();
        h.encode(&mut out);
        assert_eq!(&out[..], &body);
    }

    #[test]
    fn hello_element_view_agrees_with_decode() {
        let body = [0x00, 0x01, 0x00, 0x08, 0x00, 0x00, 0x00, 0x12];
        let v = HelloElemView::new_checked(&body[..]).unwrap();
        let e = &hello(&body).elements[0];
        assert_eq!((v.elem_type(), v.tail()), (e.elem_type, &e.data[..]));
        let mut v = HelloElemView::new_unchecked(body);
        v.set_elem_type(7);
        v.tail_mut().copy_from_slice(&[0, 0, 0, 0x10]);
        assert_eq!(
            hello(&v.into_inner()).elements[0],
            HelloElement {
                elem_type: 7,
                data: vec![0, 0, 0, 0x10]
            }
        );
        crate::view::testing::assert_len_checks::<HelloElemView<_>>(&body);
        assert!(HelloElemView::new_checked([0, 1, 0, 2, 0xaa]).is_err());
    }
}
