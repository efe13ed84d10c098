//! `OFPMP_METER` reply entries (`ofp_meter_stats` + band counters).

use bytes::{BufMut, BytesMut};

use crate::error::OfpError;
use crate::msg::WireBody;
use crate::reader::Reader;

/// `OFPM_ALL`: every meter.
pub const OFPM_ALL: u32 = 0xffff_ffff;

const METER_STATS_LEN: usize = 40;

/// `ofp_meter_band_stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MeterBandStats {
    pub packet_band_count: u64,
    pub byte_band_count: u64,
}

/// `ofp_meter_stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct MeterStats {
    pub meter_id: u32,
    pub flow_count: u32,
    pub packet_in_count: u64,
    pub byte_in_count: u64,
    pub duration_sec: u32,
    pub duration_nsec: u32,
    pub band_stats: Vec<MeterBandStats>,
}

impl WireBody for MeterStats {
    /// As OVS: the bands' length (`len - 40`) must be present and a multiple
    /// of 16, else `OFPBRC_BAD_LEN`.
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let meter_id = r.u32()?;
        let len = usize::from(r.u16()?);
        r.skip(6)?;
        let flow_count = r.u32()?;
        let packet_in_count = r.u64()?;
        let byte_in_count = r.u64()?;
        let duration_sec = r.u32()?;
        let duration_nsec = r.u32()?;
        let blen = len
            .checked_sub(METER_STATS_LEN)
            .ok_or(OfpError::OFPBRC_BAD_LEN)?;
        let mut br = r.sub(blen)?;
        if blen % 16 != 0 {
            return Err(OfpError::OFPBRC_BAD_LEN);
        }
        let mut band_stats = Vec::with_capacity(blen / 16);
        while !br.is_empty() {
            band_stats.push(MeterBandStats {
                packet_band_count: br.u64()?,
                byte_band_count: br.u64()?,
            });
        }
        Ok(MeterStats {
            meter_id,
            flow_count,
            packet_in_count,
            byte_in_count,
            duration_sec,
            duration_nsec,
            band_stats,
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.meter_id);
        out.put_u16(self.encoded_len() as u16);
        out.put_bytes(0, 6);
        out.put_u32(self.flow_count);
        out.put_u64(self.packet_in_count);
        out.put_u64(self.byte_in_count);
        out.put_u32(self.duration_sec);
        out.put_u32(self.duration_nsec);
        for b in &self.band_stats {
            out.put_u64(b.packet_band_count);
            out.put_u64(b.byte_band_count);
        }
    }
    fn encoded_len(&self) -> usize {
        METER_STATS_LEN + 16 * self.band_stats.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_stats_round_trip_and_bad_length() {
        let m = MeterStats {
            meter_id: 1,
            flow_count: 2,
            packet_in_count: 3,
            byte_in_count: 4,
            duration_sec: 5,
            duration_nsec: 6,
            band_stats: vec![MeterBandStats {
                packet_band_count: 7,
                byte_band_count: 8,
            }],
        };
        let mut out = BytesMut::new();
        m.encode(&mut out);
        assert_eq!(MeterStats::decode(&mut Reader::new(&out)).unwrap(), m);
        out[5] = 50;
        assert_eq!(
            MeterStats::decode(&mut Reader::new(&out)),
            Err(OfpError::OFPBRC_BAD_LEN)
        );
    }
}
