//! Vendor (Nicira and ONF) errors that Open vSwitch sends on OpenFlow 1.3.
//!
//! On OpenFlow 1.2+ OVS encodes a vendor error as an `OFPT_ERROR` whose
//! `type` is `OFPET_EXPERIMENTER` (0xffff), whose `code` field carries the
//! vendor's `exp_type`, followed by the 32-bit experimenter id, then the
//! offending request. [`OfpError::vendor`] builds exactly that triple, so
//! `OfpError { etype: 0xffff, code: exp_type, experimenter }` is both the
//! model and the wire form.
//!
//! The table lists every vendor error OVS 3.1 can encode for OpenFlow 1.3
//! (names and numbers from OVS's error table): Nicira `NX*` errors under
//! vendor 0x00002320, and the ONF extension errors (bundles `OFPBFC_*`,
//! bundle properties, async config, `OFPBIC_DUP_INST`, ...) under
//! 0x4f4e4600. Names are OVS's spelling, so `OfpError::name()` and
//! `ovs-ofctl` agree.

use crate::error::{NX_VENDOR_ID, ONF_VENDOR_ID, OfpError};

/// Name and encoding of every vendor error rvs knows.
pub static VENDOR_ERRORS: &[(&str, OfpError)] = &[
    (
        "OFPBRC_MULTIPART_REQUEST_TIMEOUT",
        OfpError::vendor(ONF_VENDOR_ID, 2640),
    ),
    (
        "OFPBRC_MULTIPART_REPLY_TIMEOUT",
        OfpError::vendor(ONF_VENDOR_ID, 2641),
    ),
    ("NXBRC_NXM_INVALID", OfpError::vendor(NX_VENDOR_ID, 2)),
    ("NXBRC_NXM_BAD_TYPE", OfpError::vendor(NX_VENDOR_ID, 3)),
    ("NXBRC_MUST_BE_ZERO", OfpError::vendor(NX_VENDOR_ID, 4)),
    ("NXBRC_BAD_REASON", OfpError::vendor(NX_VENDOR_ID, 5)),
    ("NXBRC_FM_BAD_EVENT", OfpError::vendor(NX_VENDOR_ID, 9)),
    (
        "NXBRC_UNENCODABLE_ERROR",
        OfpError::vendor(NX_VENDOR_ID, 10),
    ),
    ("OFPBAC_BAD_SET_MASK", OfpError::vendor(ONF_VENDOR_ID, 4250)),
    ("NXBAC_MUST_BE_ZERO", OfpError::vendor(NX_VENDOR_ID, 11)),
    ("NXBAC_BAD_CONJUNCTION", OfpError::vendor(NX_VENDOR_ID, 15)),
    ("NXBAC_BAD_HEADER_TYPE", OfpError::vendor(NX_VENDOR_ID, 39)),
    ("NXBAC_UNKNOWN_ED_PROP", OfpError::vendor(NX_VENDOR_ID, 40)),
    ("NXBAC_BAD_ED_PROP", OfpError::vendor(NX_VENDOR_ID, 41)),
    (
        "NXBAC_CT_DATAPATH_SUPPORT",
        OfpError::vendor(NX_VENDOR_ID, 42),
    ),
    ("OFPBIC_DUP_INST", OfpError::vendor(ONF_VENDOR_ID, 2600)),
    (
        "NXBMC_CT_DATAPATH_SUPPORT",
        OfpError::vendor(NX_VENDOR_ID, 43),
    ),
    (
        "OFPFMFC_BAD_PRIORITY",
        OfpError::vendor(ONF_VENDOR_ID, 2360),
    ),
    ("NXFMFC_HARDWARE", OfpError::vendor(NX_VENDOR_ID, 12)),
    ("NXFMFC_BAD_TABLE_ID", OfpError::vendor(NX_VENDOR_ID, 13)),
    (
        "NXFMFC_INVALID_TLV_FIELD",
        OfpError::vendor(NX_VENDOR_ID, 37),
    ),
    ("NXTFFC_DUP_TABLE", OfpError::vendor(NX_VENDOR_ID, 44)),
    ("OFPBPC_TOO_MANY", OfpError::vendor(ONF_VENDOR_ID, 4443)),
    ("OFPBPC_DUP_TYPE", OfpError::vendor(ONF_VENDOR_ID, 4444)),
    (
        "OFPBPC_BAD_EXPERIMENTER",
        OfpError::vendor(ONF_VENDOR_ID, 4445),
    ),
    ("OFPBPC_BAD_EXP_TYPE", OfpError::vendor(ONF_VENDOR_ID, 4446)),
    (
        "OFPBPC_BAD_EXP_VALUE",
        OfpError::vendor(ONF_VENDOR_ID, 4447),
    ),
    ("OFPBPC_EPERM", OfpError::vendor(ONF_VENDOR_ID, 4448)),
    ("OFPACFC_INVALID", OfpError::vendor(ONF_VENDOR_ID, 2370)),
    ("OFPACFC_UNSUPPORTED", OfpError::vendor(ONF_VENDOR_ID, 2371)),
    ("OFPACFC_EPERM", OfpError::vendor(ONF_VENDOR_ID, 2372)),
    ("OFPBFC_UNKNOWN", OfpError::vendor(ONF_VENDOR_ID, 2300)),
    ("OFPBFC_EPERM", OfpError::vendor(ONF_VENDOR_ID, 2301)),
    ("OFPBFC_BAD_ID", OfpError::vendor(ONF_VENDOR_ID, 2302)),
    ("OFPBFC_BUNDLE_EXIST", OfpError::vendor(ONF_VENDOR_ID, 2303)),
    (
        "OFPBFC_BUNDLE_CLOSED",
        OfpError::vendor(ONF_VENDOR_ID, 2304),
    ),
    (
        "OFPBFC_OUT_OF_BUNDLES",
        OfpError::vendor(ONF_VENDOR_ID, 2305),
    ),
    ("OFPBFC_BAD_TYPE", OfpError::vendor(ONF_VENDOR_ID, 2306)),
    ("OFPBFC_BAD_FLAGS", OfpError::vendor(ONF_VENDOR_ID, 2307)),
    ("OFPBFC_MSG_BAD_LEN", OfpError::vendor(ONF_VENDOR_ID, 2308)),
    ("OFPBFC_MSG_BAD_XID", OfpError::vendor(ONF_VENDOR_ID, 2309)),
    ("OFPBFC_MSG_UNSUP", OfpError::vendor(ONF_VENDOR_ID, 2310)),
    ("OFPBFC_MSG_CONFLICT", OfpError::vendor(ONF_VENDOR_ID, 2311)),
    ("OFPBFC_MSG_TOO_MANY", OfpError::vendor(ONF_VENDOR_ID, 2312)),
    ("OFPBFC_MSG_FAILED", OfpError::vendor(ONF_VENDOR_ID, 2313)),
    ("OFPBFC_TIMEOUT", OfpError::vendor(ONF_VENDOR_ID, 2314)),
    (
        "OFPBFC_BUNDLE_IN_PROGRESS",
        OfpError::vendor(ONF_VENDOR_ID, 2315),
    ),
    ("OFPMOFC_MONITOR_EXISTS", OfpError::vendor(NX_VENDOR_ID, 6)),
    ("OFPMOFC_UNKNOWN_MONITOR", OfpError::vendor(NX_VENDOR_ID, 8)),
    ("OFPMOFC_BAD_FLAGS", OfpError::vendor(NX_VENDOR_ID, 7)),
    ("NXTTMFC_BAD_COMMAND", OfpError::vendor(NX_VENDOR_ID, 16)),
    ("NXTTMFC_BAD_OPT_LEN", OfpError::vendor(NX_VENDOR_ID, 17)),
    ("NXTTMFC_BAD_FIELD_IDX", OfpError::vendor(NX_VENDOR_ID, 18)),
    ("NXTTMFC_TABLE_FULL", OfpError::vendor(NX_VENDOR_ID, 19)),
    ("NXTTMFC_ALREADY_MAPPED", OfpError::vendor(NX_VENDOR_ID, 20)),
    ("NXTTMFC_DUP_ENTRY", OfpError::vendor(NX_VENDOR_ID, 21)),
    (
        "NXTTMFC_INVALID_TLV_DEL",
        OfpError::vendor(NX_VENDOR_ID, 38),
    ),
    ("NXR_NOT_SUPPORTED", OfpError::vendor(NX_VENDOR_ID, 34)),
    ("NXR_STALE", OfpError::vendor(NX_VENDOR_ID, 35)),
    ("NXST_NOT_CONFIGURED", OfpError::vendor(NX_VENDOR_ID, 36)),
    // NX1.4-1.5(22): OVS cannot encode it on 1.3 (it would send
    // NXBRC_UNENCODABLE_ERROR) but its 1.3 decoder reports it by name.
    ("OFPBFC_BAD_VERSION", OfpError::vendor(NX_VENDOR_ID, 22)),
];

#[allow(non_upper_case_globals)]
impl OfpError {
    /// Bundle: unspecified error (`ONF1.3(2300)`).
    pub const OFPBFC_UNKNOWN: OfpError = OfpError::vendor(ONF_VENDOR_ID, 2300);
    /// Bundle: permissions error.
    pub const OFPBFC_EPERM: OfpError = OfpError::vendor(ONF_VENDOR_ID, 2301);
    /// Bundle: unknown bundle id.
    pub const OFPBFC_BAD_ID: OfpError = OfpError::vendor(ONF_VENDOR_ID, 2302);
    /// Bundle: a bundle with this id already exists.
    pub const OFPBFC_BUNDLE_EXIST: OfpError = OfpError::vendor(ONF_VENDOR_ID, 2303);
    /// Bundle: the bundle is closed.
    pub const OFPBFC_BUNDLE_CLOSED: OfpError = OfpError::vendor(ONF_VENDOR_ID, 2304);
    /// Bundle: too many bundle ids.
    pub const OFPBFC_OUT_OF_BUNDLES: OfpError = OfpError::vendor(ONF_VENDOR_ID, 2305);
    /// Bundle: unsupported or unknown control type.
    pub const OFPBFC_BAD_TYPE: OfpError = OfpError::vendor(ONF_VENDOR_ID, 2306);
    /// Bundle: unsupported, unknown or inconsistent flags.
    pub const OFPBFC_BAD_FLAGS: OfpError = OfpError::vendor(ONF_VENDOR_ID, 2307);
    /// Bundle: length problem in the included message.
    pub const OFPBFC_MSG_BAD_LEN: OfpError = OfpError::vendor(ONF_VENDOR_ID, 2308);
    /// Bundle: inconsistent or duplicate xid.
    pub const OFPBFC_MSG_BAD_XID: OfpError = OfpError::vendor(ONF_VENDOR_ID, 2309);
    /// Bundle: message type not supported in a bundle.
    pub const OFPBFC_MSG_UNSUP: OfpError = OfpError::vendor(ONF_VENDOR_ID, 2310);
    /// Bundle: one message in the bundle failed.
    pub const OFPBFC_MSG_FAILED: OfpError = OfpError::vendor(ONF_VENDOR_ID, 2313);
    /// Inner and outer version of a bundle add differ (see the table note).
    pub const OFPBFC_BAD_VERSION: OfpError = OfpError::vendor(NX_VENDOR_ID, 22);
    /// Nicira: port status reason is not add/delete/modify.
    pub const NXBRC_BAD_REASON: OfpError = OfpError::vendor(NX_VENDOR_ID, 5);
    /// Nicira: must-be-zero field had a nonzero value.
    pub const NXBRC_MUST_BE_ZERO: OfpError = OfpError::vendor(NX_VENDOR_ID, 4);
    /// Nicira: invalid NXM match.
    pub const NXBRC_NXM_INVALID: OfpError = OfpError::vendor(NX_VENDOR_ID, 2);
    /// Nicira: unknown or unsupported NXM type.
    pub const NXBRC_NXM_BAD_TYPE: OfpError = OfpError::vendor(NX_VENDOR_ID, 3);
    /// Nicira: must-be-zero action argument had a nonzero value.
    pub const NXBAC_MUST_BE_ZERO: OfpError = OfpError::vendor(NX_VENDOR_ID, 11);
    /// Nicira: the datapath lacks connection tracking support for an action.
    pub const NXBAC_CT_DATAPATH_SUPPORT: OfpError = OfpError::vendor(NX_VENDOR_ID, 42);
    /// Nicira: the datapath lacks connection tracking support for a match.
    pub const NXBMC_CT_DATAPATH_SUPPORT: OfpError = OfpError::vendor(NX_VENDOR_ID, 43);
    /// ONF: set-field with has-mask set (OF1.3 extension).
    pub const OFPBAC_BAD_SET_MASK: OfpError = OfpError::vendor(ONF_VENDOR_ID, 4250);
    /// ONF: duplicate instruction (OF1.3 extension).
    pub const OFPBIC_DUP_INST: OfpError = OfpError::vendor(ONF_VENDOR_ID, 2600);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendor_errors_are_named_and_unique() {
        assert_eq!(OfpError::OFPBFC_BAD_ID.to_string(), "OFPBFC_BAD_ID");
        assert_eq!(
            OfpError::from_name("NXBAC_MUST_BE_ZERO"),
            Some(OfpError {
                etype: 0xffff,
                code: 11,
                experimenter: 0x2320
            })
        );
        for (i, (n, e)) in VENDOR_ERRORS.iter().enumerate() {
            assert_eq!(e.etype, 0xffff, "{n}");
            for (m, f) in &VENDOR_ERRORS[i + 1..] {
                assert!(n != m && e != f, "{n} duplicates {m}");
            }
        }
        // Every named const is in the table.
        for c in [
            OfpError::OFPBFC_MSG_FAILED,
            OfpError::OFPBIC_DUP_INST,
            OfpError::NXBMC_CT_DATAPATH_SUPPORT,
        ] {
            assert!(c.name().is_some());
        }
    }
}
