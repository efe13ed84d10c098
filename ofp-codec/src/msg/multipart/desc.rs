//! `OFPMP_DESC` reply (`ofp_desc`): five fixed-width NUL-padded strings.

use bytes::{BufMut, BytesMut};

use crate::error::OfpError;
use crate::msg::WireBody;
use crate::reader::Reader;

/// Size of `ofp_desc`.
pub const DESC_LEN: usize = 1056;
const DESC_STR_LEN: usize = 256;
const SERIAL_NUM_LEN: usize = 32;

/// `ofp_desc`. Strings longer than their field (255 / 31 bytes) are
/// truncated on encode; decode stops at the first NUL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Desc {
    pub mfr_desc: String,
    pub hw_desc: String,
    pub sw_desc: String,
    pub serial_num: String,
    pub dp_desc: String,
}

pub(crate) fn get_fixed_str(r: &mut Reader<'_>, n: usize) -> Result<String, OfpError> {
    let b = r.take(n)?;
    let end = b.iter().position(|&c| c == 0).unwrap_or(n);
    Ok(String::from_utf8_lossy(&b[..end]).into_owned())
}

pub(crate) fn put_fixed_str(out: &mut BytesMut, s: &str, n: usize) {
    let mut k = s.len().min(n - 1);
    while !s.is_char_boundary(k) {
        k -= 1;
    }
    out.put_slice(&s.as_bytes()[..k]);
    out.put_bytes(0, n - k);
}

impl WireBody for Desc {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        Ok(Desc {
            mfr_desc: get_fixed_str(r, DESC_STR_LEN)?,
            hw_desc: get_fixed_str(r, DESC_STR_LEN)?,
            sw_desc: get_fixed_str(r, DESC_STR_LEN)?,
            serial_num: get_fixed_str(r, SERIAL_NUM_LEN)?,
            dp_desc: get_fixed_str(r, DESC_STR_LEN)?,
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        put_fixed_str(out, &self.mfr_desc, DESC_STR_LEN);
        put_fixed_str(out, &self.hw_desc, DESC_STR_LEN);
        put_fixed_str(out, &self.sw_desc, DESC_STR_LEN);
        put_fixed_str(out, &self.serial_num, SERIAL_NUM_LEN);
        put_fixed_str(out, &self.dp_desc, DESC_STR_LEN);
    }
    fn encoded_len(&self) -> usize {
        DESC_LEN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn desc_round_trip() {
        let d = Desc {
            mfr_desc: "rvs".into(),
            hw_desc: "x".repeat(300),
            sw_desc: "0.1".into(),
            serial_num: "None".into(),
            dp_desc: "br0".into(),
        };
        let mut out = BytesMut::new();
        d.encode(&mut out);
        assert_eq!(out.len(), DESC_LEN);
        let back = Desc::decode(&mut Reader::new(&out)).unwrap();
        assert_eq!(back.hw_desc.len(), 255);
        assert_eq!(back.dp_desc, "br0");
        assert!(Desc::decode(&mut Reader::new(&out[..1000])).is_err());
    }
}
