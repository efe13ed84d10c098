//! Experimenter (vendor) messages: which (experimenter id, subtype) pairs
//! rvs decodes, and the errors OVS gives for the others.
//!
//! OVS knows two experimenters, Nicira (0x00002320) and ONF (0x4f4e4600);
//! any other id is `OFPBRC_BAD_VENDOR`, an unknown subtype of a known id is
//! `OFPBRC_BAD_SUBTYPE`. rvs decodes the ONF bundle messages (2300, 2301),
//! `NXT_SET_PACKET_IN_FORMAT` (16), `NXT_PACKET_IN` (17) and
//! `NXT_PACKET_IN2` (30), `NXT_RESUME` (28), `NXT_CT_FLUSH_ZONE` (29) and
//! `NXT_CT_FLUSH` (32); the other Nicira messages (`NXT_*`,
//! `NXST_*`), which OVS also accepts on 1.3, are not implemented and report
//! `OFPBRC_BAD_SUBTYPE`.

use super::bundle::{ONFT_BUNDLE_ADD_MESSAGE, ONFT_BUNDLE_CONTROL};
use super::ct_flush::{NXT_CT_FLUSH, NXT_CT_FLUSH_ZONE};
use super::packet_in::NXT_PACKET_IN;
use super::packet_in2::NXT_PACKET_IN2;
use super::resume::NXT_RESUME;
use crate::error::{NX_VENDOR_ID, ONF_VENDOR_ID, OfpError};

/// Nicira `NXT_SET_PACKET_IN_FORMAT` (what `ovs-ofctl monitor` sends first).
pub const NXT_SET_PACKET_IN_FORMAT: u32 = 16;

/// A known experimenter message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExperimenterKind {
    BundleControl,
    BundleAdd,
    SetPacketInFormat,
    /// `NXT_PACKET_IN` (switch to controller).
    NxPacketIn,
    /// `NXT_PACKET_IN2` (switch to controller).
    PacketIn2,
    /// `NXT_RESUME` (controller to switch).
    Resume,
    /// `NXT_CT_FLUSH_ZONE` (controller to switch).
    CtFlushZone,
    /// `NXT_CT_FLUSH` (controller to switch).
    CtFlush,
}

impl ExperimenterKind {
    /// (experimenter id, subtype) on the wire.
    pub fn ids(self) -> (u32, u32) {
        match self {
            ExperimenterKind::BundleControl => (ONF_VENDOR_ID, ONFT_BUNDLE_CONTROL),
            ExperimenterKind::BundleAdd => (ONF_VENDOR_ID, ONFT_BUNDLE_ADD_MESSAGE),
            ExperimenterKind::SetPacketInFormat => (NX_VENDOR_ID, NXT_SET_PACKET_IN_FORMAT),
            ExperimenterKind::NxPacketIn => (NX_VENDOR_ID, NXT_PACKET_IN),
            ExperimenterKind::PacketIn2 => (NX_VENDOR_ID, NXT_PACKET_IN2),
            ExperimenterKind::Resume => (NX_VENDOR_ID, NXT_RESUME),
            ExperimenterKind::CtFlushZone => (NX_VENDOR_ID, NXT_CT_FLUSH_ZONE),
            ExperimenterKind::CtFlush => (NX_VENDOR_ID, NXT_CT_FLUSH),
        }
    }

    /// The name OVS prints.
    pub fn name(self) -> &'static str {
        match self {
            ExperimenterKind::BundleControl => "ONFT_BUNDLE_CONTROL",
            ExperimenterKind::BundleAdd => "ONFT_BUNDLE_ADD_MESSAGE",
            ExperimenterKind::SetPacketInFormat => "NXT_SET_PACKET_IN_FORMAT",
            ExperimenterKind::NxPacketIn => "NXT_PACKET_IN",
            ExperimenterKind::PacketIn2 => "NXT_PACKET_IN2",
            ExperimenterKind::Resume => "NXT_RESUME",
            ExperimenterKind::CtFlushZone => "NXT_CT_FLUSH_ZONE",
            ExperimenterKind::CtFlush => "NXT_CT_FLUSH",
        }
    }
}

/// Classifies an `OFPT_EXPERIMENTER` message by its experimenter id and subtype.
pub fn classify(experimenter: u32, subtype: u32) -> Result<ExperimenterKind, OfpError> {
    match (experimenter, subtype) {
        (ONF_VENDOR_ID, ONFT_BUNDLE_CONTROL) => Ok(ExperimenterKind::BundleControl),
        (ONF_VENDOR_ID, ONFT_BUNDLE_ADD_MESSAGE) => Ok(ExperimenterKind::BundleAdd),
        (NX_VENDOR_ID, NXT_SET_PACKET_IN_FORMAT) => Ok(ExperimenterKind::SetPacketInFormat),
        (NX_VENDOR_ID, NXT_PACKET_IN) => Ok(ExperimenterKind::NxPacketIn),
        (NX_VENDOR_ID, NXT_PACKET_IN2) => Ok(ExperimenterKind::PacketIn2),
        (NX_VENDOR_ID, NXT_RESUME) => Ok(ExperimenterKind::Resume),
        (NX_VENDOR_ID, NXT_CT_FLUSH_ZONE) => Ok(ExperimenterKind::CtFlushZone),
        (NX_VENDOR_ID, NXT_CT_FLUSH) => Ok(ExperimenterKind::CtFlush),
        (ONF_VENDOR_ID | NX_VENDOR_ID, _) => Err(OfpError::OFPBRC_BAD_SUBTYPE),
        _ => Err(OfpError::OFPBRC_BAD_VENDOR),
    }
}

/// Classifies an experimenter multipart message (`OFPMP_EXPERIMENTER`): rvs
/// implements none, so the answer is always an error, OVS's for the id.
pub fn classify_multipart(experimenter: u32) -> OfpError {
    match experimenter {
        ONF_VENDOR_ID | NX_VENDOR_ID => OfpError::OFPBRC_BAD_SUBTYPE,
        _ => OfpError::OFPBRC_BAD_VENDOR,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ids_and_subtypes() {
        assert_eq!(
            classify(ONF_VENDOR_ID, 2300),
            Ok(ExperimenterKind::BundleControl)
        );
        assert_eq!(
            classify(ONF_VENDOR_ID, 2301),
            Ok(ExperimenterKind::BundleAdd)
        );
        assert_eq!(
            classify(NX_VENDOR_ID, 13),
            Err(OfpError::OFPBRC_BAD_SUBTYPE)
        );
        assert_eq!(classify(0x1234, 2300), Err(OfpError::OFPBRC_BAD_VENDOR));
        assert_eq!(
            classify(NX_VENDOR_ID, 16),
            Ok(ExperimenterKind::SetPacketInFormat)
        );
        assert_eq!(classify_multipart(0x1234), OfpError::OFPBRC_BAD_VENDOR);
    }
}
