//! The field table: every match/set field rvs knows, in one declarative table.
//!
//! OWNER: fields+match helper. (Stub: the table is filled in by that work.)

/// A field known to rvs. Closed: Open vSwitch refuses fields it does not know
/// (`OFPBMC_BAD_FIELD`), and so does rvs.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Field {
    InPort,
    EthType,
    IpProto,
    /// `reg0`..`reg15` (NXM_NX_REG*).
    Reg(u8),
    CtState,
    CtZone,
    CtMark,
    CtLabel,
}
