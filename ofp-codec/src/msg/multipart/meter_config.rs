//! `OFPMP_METER_CONFIG` reply entries (`ofp_meter_config` + bands).

use bytes::{BufMut, BytesMut};

use crate::error::OfpError;
use crate::msg::WireBody;
use crate::msg::meter_mod::{METER_BAND_LEN, MeterBand};
use crate::reader::Reader;

/// `ofp_meter_config`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct MeterConfig {
    pub flags: u16,
    pub meter_id: u32,
    pub bands: Vec<MeterBand>,
}

impl WireBody for MeterConfig {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let len = usize::from(r.u16()?);
        let flags = r.u16()?;
        let meter_id = r.u32()?;
        let blen = len.checked_sub(8).ok_or(OfpError::OFPBRC_BAD_LEN)?;
        let bands = MeterBand::decode_list(&mut r.sub(blen)?)?;
        Ok(MeterConfig {
            flags,
            meter_id,
            bands,
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.encoded_len() as u16);
        out.put_u16(self.flags);
        out.put_u32(self.meter_id);
        for b in &self.bands {
            b.encode(out);
        }
    }
    fn encoded_len(&self) -> usize {
        8 + METER_BAND_LEN * self.bands.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::meter_mod::MeterBandType;

    #[test]
    fn meter_config_round_trip() {
        let m = MeterConfig {
            flags: 1,
            meter_id: 3,
            bands: vec![MeterBand {
                band_type: MeterBandType::DROP,
                rate: 100,
                burst_size: 0,
                prec_level: 0,
            }],
        };
        let mut out = BytesMut::new();
        m.encode(&mut out);
        assert_eq!(MeterConfig::decode(&mut Reader::new(&out)).unwrap(), m);
        assert_eq!(
            MeterConfig::decode(&mut Reader::new(&out[..20])),
            Err(OfpError::OFPBRC_BAD_LEN)
        );
    }
}
