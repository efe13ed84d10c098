//! The meter table and meter-mod semantics.
//!
//! Meters are stored, validated and reported as OVS does on OpenFlow 1.3
//! (ids 1..=`OFPM_MAX`, `OFPMMFC_METER_EXISTS`, `OFPMMFC_UNKNOWN_METER`,
//! `OFPMMFC_BAD_FLAGS` for kbps+pktps, `OFPMMFC_BAD_BAND` for anything but
//! drop bands as OVS's userspace datapath,
//! deleting a meter deletes its flows with reason `METER_DELETE`).
//!
//! NOT done: rate limiting itself. The datapath has no meter action yet, so
//! a flow's meter instruction does not drop or remark packets.

use ofp_codec::OfpError;
use ofp_codec::msg::flow_removed::FlowRemovedReason;
use ofp_codec::msg::meter_mod::{
    MeterBand, MeterBandType, MeterCommand, MeterMod, OFPMF_KBPS, OFPMF_PKTPS,
};

use crate::flow_mod::Txn;
use crate::ofproto::Ofproto;

/// `OFPM_MAX`: the largest ordinary meter id.
pub const OFPM_MAX: u32 = 0xffff_0000;
/// `OFPM_ALL`: every meter (delete only).
pub const OFPM_ALL: u32 = 0xffff_ffff;

/// A meter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meter {
    pub meter_id: u32,
    pub flags: u16,
    pub bands: Vec<MeterBand>,
    pub created_ms: u64,
}

impl Ofproto {
    /// Applies a meter-mod. On error nothing changed.
    pub fn handle_meter_mod(&mut self, mm: &MeterMod, now_ms: u64) -> Result<(), OfpError> {
        let id = mm.meter_id;
        match mm.command {
            MeterCommand::ADD | MeterCommand::MODIFY => {
                if id == 0 || id > OFPM_MAX {
                    return Err(OfpError::OFPMMFC_INVALID_METER);
                }
                if mm.flags & OFPMF_KBPS != 0 && mm.flags & OFPMF_PKTPS != 0 {
                    return Err(OfpError::OFPMMFC_BAD_FLAGS);
                }
                for b in &mm.bands {
                    // OVS's userspace datapath implements drop bands only.
                    if b.band_type != MeterBandType::DROP {
                        return Err(OfpError::OFPMMFC_BAD_BAND);
                    }
                    if b.rate == 0 {
                        return Err(OfpError::OFPMMFC_BAD_RATE);
                    }
                }
                let exists = self.meters.contains_key(&id);
                if mm.command == MeterCommand::ADD && exists {
                    return Err(OfpError::OFPMMFC_METER_EXISTS);
                }
                if mm.command == MeterCommand::MODIFY && !exists {
                    return Err(OfpError::OFPMMFC_UNKNOWN_METER);
                }
                let created_ms = self.meters.get(&id).map_or(now_ms, |m| m.created_ms);
                self.meters.insert(
                    id,
                    Meter {
                        meter_id: id,
                        flags: mm.flags,
                        bands: mm.bands.clone(),
                        created_ms,
                    },
                );
                self.generation += 1;
                Ok(())
            }
            MeterCommand::DELETE => {
                let ids: Vec<u32> = if id == OFPM_ALL {
                    self.meters.keys().copied().collect()
                } else {
                    vec![id]
                };
                let mut txn = Txn::default();
                for m in ids {
                    if self.meters.remove(&m).is_some() {
                        self.delete_rules_using(
                            &mut txn,
                            now_ms,
                            |r| r.meter() == Some(m),
                            FlowRemovedReason::METER_DELETE,
                        );
                    }
                }
                self.commit_txn(txn);
                Ok(())
            }
            _ => Err(OfpError::OFPMMFC_BAD_COMMAND),
        }
    }

    pub fn meters(&self) -> impl Iterator<Item = &Meter> {
        self.meters.values()
    }

    /// OFPMP_METER_CONFIG for `meter_id` (`OFPM_ALL`: every meter).
    pub fn meter_config(
        &self,
        meter_id: u32,
    ) -> Vec<ofp_codec::msg::multipart::meter_config::MeterConfig> {
        self.meters
            .values()
            .filter(|m| meter_id == OFPM_ALL || m.meter_id == meter_id)
            .map(|m| ofp_codec::msg::multipart::meter_config::MeterConfig {
                flags: m.flags,
                meter_id: m.meter_id,
                bands: m.bands.clone(),
            })
            .collect()
    }
}
