//! Vendor (Nicira and ONF) errors that Open vSwitch sends on OpenFlow 1.3.
//!
//! On OpenFlow 1.2+ these travel as `OFPET_EXPERIMENTER`, `code` being the
//! vendor's error number and the experimenter id following the code.

use crate::error::OfpError;

/// Name and encoding of every vendor error rvs knows.
pub static VENDOR_ERRORS: &[(&str, OfpError)] = &[];
