//! `OFPT_METER_MOD` and meter bands (shared with the meter config reply).

use bytes::{BufMut, BytesMut};

use super::WireBody;
use crate::error::OfpError;
use crate::open_enum;
use crate::reader::Reader;

open_enum! {
    /// `ofp_meter_mod_command`.
    pub struct MeterCommand(u16) {
        ADD = 0 => "add",
        MODIFY = 1 => "modify",
        DELETE = 2 => "delete",
    }
}

open_enum! {
    /// `ofp_meter_band_type`.
    pub struct MeterBandType(u16) {
        DROP = 1 => "drop",
        DSCP_REMARK = 2 => "dscp_remark",
    }
}

/// `OFPMF_*` meter flags.
pub const OFPMF_KBPS: u16 = 1 << 0;
pub const OFPMF_PKTPS: u16 = 1 << 1;
pub const OFPMF_BURST: u16 = 1 << 2;
pub const OFPMF_STATS: u16 = 1 << 3;

/// Size of every band OVS accepts (drop, dscp_remark).
pub const METER_BAND_LEN: usize = 16;

/// A drop or dscp_remark band.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MeterBand {
    pub band_type: MeterBandType,
    pub rate: u32,
    pub burst_size: u32,
    /// Only meaningful for dscp_remark; 0 otherwise.
    pub prec_level: u8,
}

impl MeterBand {
    /// Decodes bands until `r` is empty, as OVS: each band must be exactly 16
    /// bytes (`OFPBRC_BAD_LEN`) and of a known type (`OFPMMFC_BAD_BAND`).
    pub fn decode_list(r: &mut Reader<'_>) -> Result<Vec<MeterBand>, OfpError> {
        let mut bands = Vec::new();
        while r.remaining() >= METER_BAND_LEN {
            let band_type = MeterBandType(r.u16()?);
            if usize::from(r.u16()?) != METER_BAND_LEN {
                return Err(OfpError::OFPBRC_BAD_LEN);
            }
            if band_type.name().is_none() {
                return Err(OfpError::OFPMMFC_BAD_BAND);
            }
            let rate = r.u32()?;
            let burst_size = r.u32()?;
            let prec_level = r.u8()?;
            r.skip(3)?;
            let prec_level = if band_type == MeterBandType::DSCP_REMARK {
                prec_level
            } else {
                0
            };
            bands.push(MeterBand {
                band_type,
                rate,
                burst_size,
                prec_level,
            });
        }
        if !r.is_empty() {
            return Err(OfpError::OFPBRC_BAD_LEN);
        }
        Ok(bands)
    }

    pub fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.band_type.0);
        out.put_u16(METER_BAND_LEN as u16);
        out.put_u32(self.rate);
        out.put_u32(self.burst_size);
        out.put_u8(self.prec_level);
        out.put_bytes(0, 3);
    }
}

/// `ofp_meter_mod`. For `DELETE`, OVS ignores the flags' meaning and any
/// bands; rvs does not parse bands of a delete either (they are dropped).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MeterMod {
    pub command: MeterCommand,
    pub flags: u16,
    pub meter_id: u32,
    pub bands: Vec<MeterBand>,
}

impl WireBody for MeterMod {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let command = MeterCommand(r.u16()?);
        let flags = r.u16()?;
        let meter_id = r.u32()?;
        if command.name().is_none() {
            return Err(OfpError::OFPMMFC_BAD_COMMAND);
        }
        if command == MeterCommand::DELETE {
            r.skip(r.remaining())?;
            return Ok(MeterMod {
                command,
                flags,
                meter_id,
                bands: Vec::new(),
            });
        }
        if flags & OFPMF_KBPS != 0 && flags & OFPMF_PKTPS != 0 {
            return Err(OfpError::OFPMMFC_BAD_FLAGS);
        }
        Ok(MeterMod {
            command,
            flags,
            meter_id,
            bands: MeterBand::decode_list(r)?,
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.command.0);
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

    #[test]
    fn meter_mod_round_trip_and_errors() {
        let body = [
            0, 0, 0, 1, 0, 0, 0, 1, // add kbps meter 1
            0, 1, 0, 16, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0, 0, 0, 0, // drop rate 1000
        ];
        let m = MeterMod::decode(&mut Reader::new(&body)).unwrap();
        assert_eq!(m.bands.len(), 1);
        assert_eq!(m.bands[0].rate, 1000);
        let mut out = BytesMut::new();
        m.encode(&mut out);
        assert_eq!(&out[..], &body);
        assert_eq!(m.encoded_len(), body.len());

        let mut bad = body;
        bad[1] = 9;
        assert_eq!(
            MeterMod::decode(&mut Reader::new(&bad)),
            Err(OfpError::OFPMMFC_BAD_COMMAND)
        );
        let mut bad = body;
        bad[3] = 3;
        assert_eq!(
            MeterMod::decode(&mut Reader::new(&bad)),
            Err(OfpError::OFPMMFC_BAD_FLAGS)
        );
        let mut bad = body;
        bad[9] = 3;
        assert_eq!(
            MeterMod::decode(&mut Reader::new(&bad)),
            Err(OfpError::OFPMMFC_BAD_BAND)
        );
        assert_eq!(
            MeterMod::decode(&mut Reader::new(&body[..20])),
            Err(OfpError::OFPBRC_BAD_LEN)
        );
    }
}
