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

crate::view! {
    /// `ofp_meter_band_header`; the tail holds the type's own fields
    /// (dscp_remark: `prec_level`, then padding).
    pub struct MeterBandView: sized(12, LENGTH, OfpError::OFPBRC_BAD_LEN) {
        BAND_TYPE: 0..2 => band_type, set_band_type: u16 as MeterBandType;
        LENGTH: 2..4 => length, set_length: u16;
        RATE: 4..8 => rate, set_rate: u32;
        BURST_SIZE: 8..12 => burst_size, set_burst_size: u32;
    }
}

impl<T: AsRef<[u8]>> MeterBandView<T> {
    /// `ofp_meter_band_dscp_remark.prec_level` (byte 12); 0 if absent.
    pub fn prec_level(&self) -> u8 {
        self.tail().first().copied().unwrap_or(0)
    }
}

crate::view! {
    /// `OFPT_METER_MOD` (`ofp_meter_mod`), fixed part; the tail is the bands.
    pub struct MeterModView: message(16) {
        COMMAND: 8..10 => command, set_command: u16 as MeterCommand;
        /// `OFPMF_*`.
        FLAGS: 10..12 => flags, set_flags: u16;
        METER_ID: 12..16 => meter_id, set_meter_id: u32;
    }
}

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

    #[test]
    fn meter_mod_and_band_views_agree_with_decode_and_setters_reach_it() {
        let body = [
            0, 0, 0, 1, 0, 0, 0, 1, // add kbps meter 1
            0, 1, 0, 16, 0, 0, 0x03, 0xe8, 0, 0, 0, 0, 0, 0, 0, 0, // drop rate 1000
        ];
        let msg = crate::view::testing::framed(crate::msg::MsgType::METER_MOD, &body);
        let m = MeterMod::decode(&mut Reader::new(&body)).unwrap();
        let v = MeterModView::new_checked(&msg[..]).unwrap();
        assert_eq!(
            (v.command(), v.flags(), v.meter_id()),
            (m.command, m.flags, m.meter_id)
        );
        let b = MeterBandView::new_checked(v.tail()).unwrap();
        let want = m.bands[0];
        assert_eq!(
            (b.band_type(), b.rate(), b.burst_size(), b.prec_level()),
            (want.band_type, want.rate, want.burst_size, want.prec_level)
        );
        crate::view::testing::assert_len_checks::<MeterModView<_>>(&msg);
        crate::view::testing::assert_len_checks::<MeterBandView<_>>(&body[8..]);

        let mut v = MeterModView::new_checked(msg).unwrap();
        v.set_command(MeterCommand::MODIFY);
        v.set_flags(OFPMF_PKTPS | OFPMF_BURST);
        v.set_meter_id(5);
        let mut b = MeterBandView::new_checked(v.tail_mut()).unwrap();
        b.set_band_type(MeterBandType::DSCP_REMARK);
        b.set_rate(7);
        b.set_burst_size(8);
        b.tail_mut()[0] = 2;
        let got = MeterMod::decode(&mut Reader::new(&v.into_inner()[8..])).unwrap();
        assert_eq!(
            (got.command, got.flags, got.meter_id),
            (MeterCommand::MODIFY, OFPMF_PKTPS | OFPMF_BURST, 5)
        );
        assert_eq!(
            got.bands,
            [MeterBand {
                band_type: MeterBandType::DSCP_REMARK,
                rate: 7,
                burst_size: 8,
                prec_level: 2
            }]
        );
    }
}
