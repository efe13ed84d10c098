//! `OFPMP_METER_FEATURES` reply (`ofp_meter_features`).

use bytes::{BufMut, BytesMut};

use crate::error::OfpError;
use crate::msg::WireBody;
use crate::reader::Reader;

/// `ofp_meter_features`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MeterFeatures {
    pub max_meter: u32,
    /// Bitmap of `1 << OFPMBT_*`.
    pub band_types: u32,
    /// `OFPMF_*` bits.
    pub capabilities: u32,
    pub max_bands: u8,
    pub max_color: u8,
}

impl WireBody for MeterFeatures {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let f = MeterFeatures {
            max_meter: r.u32()?,
            band_types: r.u32()?,
            capabilities: r.u32()?,
            max_bands: r.u8()?,
            max_color: r.u8()?,
        };
        r.skip(2)?;
        Ok(f)
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.max_meter);
        out.put_u32(self.band_types);
        out.put_u32(self.capabilities);
        out.put_u8(self.max_bands);
        out.put_u8(self.max_color);
        out.put_u16(0);
    }
    fn encoded_len(&self) -> usize {
        16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_features_round_trip() {
        let f = MeterFeatures {
            max_meter: 1000,
            band_types: 6,
            capabilities: 0xf,
            max_bands: 1,
            max_color: 0,
        };
        let mut out = BytesMut::new();
        f.encode(&mut out);
        assert_eq!(MeterFeatures::decode(&mut Reader::new(&out)).unwrap(), f);
        assert!(MeterFeatures::decode(&mut Reader::new(&out[..15])).is_err());
    }
}
