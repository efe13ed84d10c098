//! The meter table and meter-mod semantics.
//!
//! Meters are stored, validated and reported as OVS does on OpenFlow 1.3
//! with its userspace datapath (ids 1..=`OFPM_MAX`, `OFPMMFC_METER_EXISTS`,
//! `OFPMMFC_UNKNOWN_METER`, `OFPMMFC_BAD_FLAGS` for kbps+pktps,
//! `OFPMMFC_OUT_OF_BANDS` beyond [`MAX_BANDS`], `OFPMMFC_BAD_BAND` for
//! anything but drop bands, deleting a meter deletes its flows with reason
//! `METER_DELETE`).
//!
//! Rate limiting happens in the datapath (`datapath::meter`): each meter
//! has a datapath id ([`Meter::dp_id`], the lowest free one, as OVS's
//! provider meter ids), translation emits `meter(dp_id)` for a flow's meter
//! instruction, and the owner (the switch) mirrors every change into the
//! datapath's meter table with [`Meter::dp_config`]. Packet and band
//! counters live there; [`Ofproto::meter_stats`] joins them with the flow
//! counts kept here.

use ofp_codec::OfpError;
use ofp_codec::msg::flow_removed::FlowRemovedReason;
use ofp_codec::msg::meter_mod::{
    MeterBand, MeterBandType, MeterCommand, MeterMod, OFPMF_KBPS, OFPMF_PKTPS,
};
use ofp_codec::msg::multipart::meter::{MeterBandStats, MeterStats};

use crate::flow_mod::Txn;
use crate::ofproto::Ofproto;

/// `OFPM_MAX`: the largest ordinary meter id.
pub const OFPM_MAX: u32 = 0xffff_0000;
/// `OFPM_ALL`: every meter (delete only).
pub const OFPM_ALL: u32 = 0xffff_ffff;
/// Bands per meter (OVS's userspace datapath: 8).
pub const MAX_BANDS: usize = 8;
/// Meters the datapath holds at once (OVS's userspace datapath: 2^18).
pub const MAX_METERS: u32 = 1 << 18;

/// A meter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meter {
    pub meter_id: u32,
    pub flags: u16,
    pub bands: Vec<MeterBand>,
    pub created_ms: u64,
    /// The datapath meter that enforces it.
    pub dp_id: u32,
}

impl Meter {
    /// The datapath meter configuration (drop bands only, as accepted).
    pub fn dp_config(&self) -> datapath::meter::MeterConfig {
        datapath::meter::MeterConfig {
            pktps: self.flags & OFPMF_PKTPS != 0,
            bands: self
                .bands
                .iter()
                .map(|b| datapath::meter::BandConfig {
                    rate: b.rate,
                    burst_size: b.burst_size,
                })
                .collect(),
        }
    }
}

/// A change the owner mirrors into the datapath's meter table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MeterChange {
    /// Create or replace datapath meter `dp_id` (fresh buckets and counters,
    /// as OVS's userspace datapath does on MODIFY).
    Set {
        dp_id: u32,
        config: datapath::meter::MeterConfig,
    },
    /// Remove datapath meter `dp_id`.
    Remove { dp_id: u32 },
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
                if mm.bands.len() > MAX_BANDS {
                    return Err(OfpError::OFPMMFC_OUT_OF_BANDS);
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
                let (created_ms, dp_id) = match self.meters.get(&id) {
                    Some(m) => (m.created_ms, m.dp_id),
                    None => (now_ms, self.free_meter_dp_id()?),
                };
                let meter = Meter {
                    meter_id: id,
                    flags: mm.flags,
                    bands: mm.bands.clone(),
                    created_ms,
                    dp_id,
                };
                self.meter_changes.push(MeterChange::Set {
                    dp_id,
                    config: meter.dp_config(),
                });
                self.meters.insert(id, meter);
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
                    if let Some(old) = self.meters.remove(&m) {
                        // Even with no rule using it: a flow staged against
                        // the meter must not be published (`crate::staged`).
                        self.generation += 1;
                        self.meter_changes
                            .push(MeterChange::Remove { dp_id: old.dp_id });
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

    /// The meter with OpenFlow id `meter_id`.
    pub fn meter(&self, meter_id: u32) -> Option<&Meter> {
        self.meters.get(&meter_id)
    }

    /// Takes the datapath meter changes queued since the last call, in order.
    pub fn take_meter_changes(&mut self) -> Vec<MeterChange> {
        std::mem::take(&mut self.meter_changes)
    }

    /// The lowest datapath meter id no meter uses (`OFPMMFC_OUT_OF_METERS`
    /// when all [`MAX_METERS`] are taken).
    fn free_meter_dp_id(&self) -> Result<u32, OfpError> {
        let mut used: Vec<u32> = self.meters.values().map(|m| m.dp_id).collect();
        used.sort_unstable();
        let mut next = 0u32;
        for u in used {
            if u != next {
                break;
            }
            next += 1;
        }
        if next >= MAX_METERS {
            return Err(OfpError::OFPMMFC_OUT_OF_METERS);
        }
        Ok(next)
    }

    /// OFPMP_METER for `meter_id` (`OFPM_ALL`: every meter): the number of
    /// flows using each meter, its age, and the packet and band counters
    /// `counts` reads from the datapath by datapath meter id (zeros if it
    /// has none).
    pub fn meter_stats(
        &self,
        meter_id: u32,
        now_ms: u64,
        counts: impl Fn(u32) -> Option<datapath::meter::MeterCounts>,
    ) -> Vec<MeterStats> {
        self.meters
            .values()
            .filter(|m| meter_id == OFPM_ALL || m.meter_id == meter_id)
            .map(|m| {
                let flows = self
                    .tables
                    .iter()
                    .flat_map(|t| t.rules.values())
                    .filter(|r| r.meter() == Some(m.meter_id))
                    .count();
                let c = counts(m.dp_id).unwrap_or_default();
                let age = now_ms.saturating_sub(m.created_ms);
                MeterStats {
                    meter_id: m.meter_id,
                    flow_count: flows as u32,
                    packet_in_count: c.packets,
                    byte_in_count: c.bytes,
                    duration_sec: (age / 1000) as u32,
                    duration_nsec: ((age % 1000) * 1_000_000) as u32,
                    band_stats: (0..m.bands.len())
                        .map(|i| {
                            let (p, b) = c.bands.get(i).copied().unwrap_or((0, 0));
                            MeterBandStats {
                                packet_band_count: p,
                                byte_band_count: b,
                            }
                        })
                        .collect(),
                }
            })
            .collect()
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
