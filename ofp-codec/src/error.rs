//! OpenFlow errors: the `(type, code)` pairs an `OFPT_ERROR` carries.
//!
//! [`OfpError`] is what every decoder and validator in rvs returns. It names
//! the exact error Open vSwitch would send for the same input, so a controller
//! sees the same `OFPT_ERROR` from rvs as from OVS. Vendor errors (Nicira,
//! ONF) travel on OpenFlow 1.2+ as `OFPET_EXPERIMENTER` with an experimenter
//! id, as OVS encodes them.

use core::fmt;

/// `OFPET_EXPERIMENTER`: the error type of vendor errors on OpenFlow 1.2+.
pub const OFPET_EXPERIMENTER: u16 = 0xffff;
/// Nicira's experimenter (vendor) id.
pub const NX_VENDOR_ID: u32 = 0x0000_2320;
/// The Open Networking Foundation's experimenter id (bundles).
pub const ONF_VENDOR_ID: u32 = 0x4f4e_4600;

/// An OpenFlow error. `experimenter` is 0 for the standard types.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OfpError {
    /// Error type (`OFPET_*`), or `OFPET_EXPERIMENTER`.
    pub etype: u16,
    /// Error code within the type, or the experimenter's `exp_type`.
    pub code: u16,
    /// Experimenter id for vendor errors, else 0.
    pub experimenter: u32,
}

macro_rules! error_table {
    ( $( $name:ident = ($t:expr, $c:expr, $e:expr) ),* $(,)? ) => {
        #[allow(non_upper_case_globals)]
        impl OfpError {
            $( pub const $name: OfpError = OfpError { etype: $t, code: $c, experimenter: $e }; )*

            /// Every error rvs knows by name.
            pub const KNOWN: &'static [(&'static str, OfpError)] = &[
                $( (stringify!($name), OfpError { etype: $t, code: $c, experimenter: $e }), )*
            ];
        }
    };
}

error_table! {
    // OFPET_HELLO_FAILED
    OFPHFC_INCOMPATIBLE = (0, 0, 0),
    OFPHFC_EPERM = (0, 1, 0),
    // OFPET_BAD_REQUEST
    OFPBRC_BAD_VERSION = (1, 0, 0),
    OFPBRC_BAD_TYPE = (1, 1, 0),
    OFPBRC_BAD_STAT = (1, 2, 0),
    OFPBRC_BAD_VENDOR = (1, 3, 0),
    OFPBRC_BAD_SUBTYPE = (1, 4, 0),
    OFPBRC_EPERM = (1, 5, 0),
    OFPBRC_BAD_LEN = (1, 6, 0),
    OFPBRC_BUFFER_EMPTY = (1, 7, 0),
    OFPBRC_BUFFER_UNKNOWN = (1, 8, 0),
    OFPBRC_BAD_TABLE_ID = (1, 9, 0),
    // OVS 3.x prints this one as IS_SECONDARY; the old name stays an alias.
    OFPBRC_IS_SECONDARY = (1, 10, 0),
    OFPBRC_IS_SLAVE = (1, 10, 0),
    OFPBRC_BAD_PORT = (1, 11, 0),
    OFPBRC_BAD_PACKET = (1, 12, 0),
    OFPBRC_MULTIPART_BUFFER_OVERFLOW = (1, 13, 0),
    // OFPET_BAD_ACTION
    OFPBAC_BAD_TYPE = (2, 0, 0),
    OFPBAC_BAD_LEN = (2, 1, 0),
    OFPBAC_BAD_VENDOR = (2, 2, 0),
    OFPBAC_BAD_VENDOR_TYPE = (2, 3, 0),
    OFPBAC_BAD_OUT_PORT = (2, 4, 0),
    OFPBAC_BAD_ARGUMENT = (2, 5, 0),
    OFPBAC_EPERM = (2, 6, 0),
    OFPBAC_TOO_MANY = (2, 7, 0),
    OFPBAC_BAD_QUEUE = (2, 8, 0),
    OFPBAC_BAD_OUT_GROUP = (2, 9, 0),
    OFPBAC_MATCH_INCONSISTENT = (2, 10, 0),
    OFPBAC_UNSUPPORTED_ORDER = (2, 11, 0),
    OFPBAC_BAD_TAG = (2, 12, 0),
    OFPBAC_BAD_SET_TYPE = (2, 13, 0),
    OFPBAC_BAD_SET_LEN = (2, 14, 0),
    OFPBAC_BAD_SET_ARGUMENT = (2, 15, 0),
    // OFPET_BAD_INSTRUCTION
    OFPBIC_UNKNOWN_INST = (3, 0, 0),
    OFPBIC_UNSUP_INST = (3, 1, 0),
    OFPBIC_BAD_TABLE_ID = (3, 2, 0),
    OFPBIC_UNSUP_METADATA = (3, 3, 0),
    OFPBIC_UNSUP_METADATA_MASK = (3, 4, 0),
    OFPBIC_BAD_EXPERIMENTER = (3, 5, 0),
    OFPBIC_BAD_EXP_TYPE = (3, 6, 0),
    OFPBIC_BAD_LEN = (3, 7, 0),
    OFPBIC_EPERM = (3, 8, 0),
    // OFPET_BAD_MATCH
    OFPBMC_BAD_TYPE = (4, 0, 0),
    OFPBMC_BAD_LEN = (4, 1, 0),
    OFPBMC_BAD_TAG = (4, 2, 0),
    OFPBMC_BAD_DL_ADDR_MASK = (4, 3, 0),
    OFPBMC_BAD_NW_ADDR_MASK = (4, 4, 0),
    OFPBMC_BAD_WILDCARDS = (4, 5, 0),
    OFPBMC_BAD_FIELD = (4, 6, 0),
    OFPBMC_BAD_VALUE = (4, 7, 0),
    OFPBMC_BAD_MASK = (4, 8, 0),
    OFPBMC_BAD_PREREQ = (4, 9, 0),
    OFPBMC_DUP_FIELD = (4, 10, 0),
    OFPBMC_EPERM = (4, 11, 0),
    // OFPET_FLOW_MOD_FAILED
    OFPFMFC_UNKNOWN = (5, 0, 0),
    OFPFMFC_TABLE_FULL = (5, 1, 0),
    OFPFMFC_BAD_TABLE_ID = (5, 2, 0),
    OFPFMFC_OVERLAP = (5, 3, 0),
    OFPFMFC_EPERM = (5, 4, 0),
    OFPFMFC_BAD_TIMEOUT = (5, 5, 0),
    OFPFMFC_BAD_COMMAND = (5, 6, 0),
    OFPFMFC_BAD_FLAGS = (5, 7, 0),
    // OFPET_GROUP_MOD_FAILED
    OFPGMFC_GROUP_EXISTS = (6, 0, 0),
    OFPGMFC_INVALID_GROUP = (6, 1, 0),
    OFPGMFC_WEIGHT_UNSUPPORTED = (6, 2, 0),
    OFPGMFC_OUT_OF_GROUPS = (6, 3, 0),
    OFPGMFC_OUT_OF_BUCKETS = (6, 4, 0),
    OFPGMFC_CHAINING_UNSUPPORTED = (6, 5, 0),
    OFPGMFC_WATCH_UNSUPPORTED = (6, 6, 0),
    OFPGMFC_LOOP = (6, 7, 0),
    OFPGMFC_UNKNOWN_GROUP = (6, 8, 0),
    OFPGMFC_CHAINED_GROUP = (6, 9, 0),
    OFPGMFC_BAD_TYPE = (6, 10, 0),
    OFPGMFC_BAD_COMMAND = (6, 11, 0),
    OFPGMFC_BAD_BUCKET = (6, 12, 0),
    OFPGMFC_BAD_WATCH = (6, 13, 0),
    OFPGMFC_EPERM = (6, 14, 0),
    // OFPET_PORT_MOD_FAILED
    OFPPMFC_BAD_PORT = (7, 0, 0),
    OFPPMFC_BAD_HW_ADDR = (7, 1, 0),
    OFPPMFC_BAD_CONFIG = (7, 2, 0),
    OFPPMFC_BAD_ADVERTISE = (7, 3, 0),
    OFPPMFC_EPERM = (7, 4, 0),
    // OFPET_TABLE_MOD_FAILED
    OFPTMFC_BAD_TABLE = (8, 0, 0),
    OFPTMFC_BAD_CONFIG = (8, 1, 0),
    OFPTMFC_EPERM = (8, 2, 0),
    // OFPET_QUEUE_OP_FAILED
    OFPQOFC_BAD_PORT = (9, 0, 0),
    OFPQOFC_BAD_QUEUE = (9, 1, 0),
    OFPQOFC_EPERM = (9, 2, 0),
    // OFPET_SWITCH_CONFIG_FAILED
    OFPSCFC_BAD_FLAGS = (10, 0, 0),
    OFPSCFC_BAD_LEN = (10, 1, 0),
    OFPSCFC_EPERM = (10, 2, 0),
    // OFPET_ROLE_REQUEST_FAILED
    OFPRRFC_STALE = (11, 0, 0),
    OFPRRFC_UNSUP = (11, 1, 0),
    OFPRRFC_BAD_ROLE = (11, 2, 0),
    // OFPET_METER_MOD_FAILED
    OFPMMFC_UNKNOWN = (12, 0, 0),
    OFPMMFC_METER_EXISTS = (12, 1, 0),
    OFPMMFC_INVALID_METER = (12, 2, 0),
    OFPMMFC_UNKNOWN_METER = (12, 3, 0),
    OFPMMFC_BAD_COMMAND = (12, 4, 0),
    OFPMMFC_BAD_FLAGS = (12, 5, 0),
    OFPMMFC_BAD_RATE = (12, 6, 0),
    OFPMMFC_BAD_BURST = (12, 7, 0),
    OFPMMFC_BAD_BAND = (12, 8, 0),
    OFPMMFC_BAD_BAND_VALUE = (12, 9, 0),
    OFPMMFC_OUT_OF_METERS = (12, 10, 0),
    OFPMMFC_OUT_OF_BANDS = (12, 11, 0),
    // OFPET_TABLE_FEATURES_FAILED
    OFPTFFC_BAD_TABLE = (13, 0, 0),
    OFPTFFC_BAD_METADATA = (13, 1, 0),
    OFPTFFC_BAD_TYPE = (13, 2, 0),
    OFPTFFC_BAD_LEN = (13, 3, 0),
    OFPTFFC_BAD_ARGUMENT = (13, 4, 0),
    OFPTFFC_EPERM = (13, 5, 0),
    // Vendor errors (Nicira, ONF) are appended in `error_vendor.rs`.
}

impl OfpError {
    /// Shorthand for the most common decode failure.
    pub const BAD_LEN: OfpError = OfpError::OFPBRC_BAD_LEN;

    pub const fn new(etype: u16, code: u16) -> Self {
        OfpError {
            etype,
            code,
            experimenter: 0,
        }
    }

    pub const fn vendor(experimenter: u32, exp_type: u16) -> Self {
        OfpError {
            etype: OFPET_EXPERIMENTER,
            code: exp_type,
            experimenter,
        }
    }

    /// The name OVS gives this error (`OFPBAC_MATCH_INCONSISTENT`), if known.
    pub fn name(&self) -> Option<&'static str> {
        OfpError::KNOWN
            .iter()
            .chain(crate::error_vendor::VENDOR_ERRORS.iter())
            .find(|(_, e)| e == self)
            .map(|(n, _)| *n)
    }

    /// Looks an error up by its OVS name.
    pub fn from_name(name: &str) -> Option<OfpError> {
        OfpError::KNOWN
            .iter()
            .chain(crate::error_vendor::VENDOR_ERRORS.iter())
            .find(|(n, _)| *n == name)
            .map(|(_, e)| *e)
    }
}

impl fmt::Debug for OfpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for OfpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None if self.etype == OFPET_EXPERIMENTER => write!(
                f,
                "OFPET_EXPERIMENTER(vendor={:#x},type={})",
                self.experimenter, self.code
            ),
            None => write!(f, "OFPET({},{})", self.etype, self.code),
        }
    }
}

impl std::error::Error for OfpError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renamed_errors_print_with_the_ovs_3_name() {
        assert_eq!(OfpError::OFPBRC_IS_SLAVE.to_string(), "OFPBRC_IS_SECONDARY");
        assert_eq!(
            OfpError::from_name("OFPBRC_IS_SLAVE"),
            Some(OfpError::new(1, 10))
        );
    }

    #[test]
    fn names_round_trip() {
        assert_eq!(
            OfpError::OFPBAC_MATCH_INCONSISTENT.to_string(),
            "OFPBAC_MATCH_INCONSISTENT"
        );
        assert_eq!(
            OfpError::from_name("OFPBRC_BAD_LEN"),
            Some(OfpError::new(1, 6))
        );
        assert_eq!(OfpError::new(77, 3).to_string(), "OFPET(77,3)");
    }
}
