//! The "usable protocols" set that `ovs-ofctl` computes while parsing a flow.
//!
//! Every match field, mask shape, flow-mod flag and action narrows the set of
//! OpenFlow dialects able to express the flow. `ovs-ofctl parse-flow` prints
//! the set (`usable protocols: OXM,NXM+table_id`) and the first member allowed
//! by `-O` (`chosen protocol: OXM-OpenFlow13`). rvs prints the same two lines.
//!
//! The bit order is Open vSwitch's (`enum ofputil_protocol`), because the
//! printed text depends on it: single protocols are listed lowest bit first
//! after the abbreviations `any`, `OpenFlow10`, `NXM` and `OXM` are taken out.

use core::fmt;

/// A set of OpenFlow dialects (protocol + flow-format combinations).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Protocols(pub u16);

impl Protocols {
    pub const NONE: Protocols = Protocols(0);
    /// OpenFlow 1.0, standard match, no table ids in flow-mods.
    pub const OF10_STD: Protocols = Protocols(1 << 0);
    /// OpenFlow 1.0, standard match, with the table-id extension.
    pub const OF10_STD_TID: Protocols = Protocols(1 << 1);
    /// OpenFlow 1.0 with the Nicira extended match.
    pub const OF10_NXM: Protocols = Protocols(1 << 2);
    pub const OF10_NXM_TID: Protocols = Protocols(1 << 3);
    pub const OF11_STD: Protocols = Protocols(1 << 4);
    pub const OF12_OXM: Protocols = Protocols(1 << 5);
    pub const OF13_OXM: Protocols = Protocols(1 << 6);
    pub const OF14_OXM: Protocols = Protocols(1 << 7);
    pub const OF15_OXM: Protocols = Protocols(1 << 8);

    pub const ANY: Protocols = Protocols((1 << 9) - 1);
    pub const OF10_STD_ANY: Protocols = Protocols(0b11);
    pub const OF10_NXM_ANY: Protocols = Protocols(0b1100);
    pub const OF10_ANY: Protocols = Protocols(0b1111);
    pub const ANY_OXM: Protocols = Protocols(0b1_1110_0000);
    /// Every dialect with NXM or OXM matches, or OpenFlow 1.1.
    pub const NXM_OF11_UP: Protocols = Protocols(0b1_1111_1100);
    /// Every dialect with NXM or OXM matches.
    pub const NXM_OXM_ANY: Protocols = Protocols(0b1_1110_1100);
    pub const OF11_UP: Protocols = Protocols(0b1_1111_0000);
    pub const OF12_UP: Protocols = Protocols(0b1_1110_0000);
    pub const OF13_UP: Protocols = Protocols(0b1_1100_0000);
    pub const OF14_UP: Protocols = Protocols(0b1_1000_0000);
    pub const OF15_UP: Protocols = Protocols(0b1_0000_0000);
    /// Dialects that can say which table a flow-mod is for.
    pub const TID: Protocols = Protocols(0b1_1111_1010);

    /// Intersection.
    pub const fn and(self, other: Protocols) -> Protocols {
        Protocols(self.0 & other.0)
    }

    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub const fn contains(self, other: Protocols) -> bool {
        self.0 & other.0 == other.0
    }

    /// Narrows `self` to `other` in place.
    pub fn restrict(&mut self, other: Protocols) {
        self.0 &= other.0;
    }

    /// The dialects usable with OpenFlow wire version `version` (0x01..=0x06).
    pub const fn for_version(version: u8) -> Protocols {
        match version {
            0x01 => Protocols::OF10_ANY,
            0x02 => Protocols::OF11_STD,
            0x03 => Protocols::OF12_OXM,
            0x04 => Protocols::OF13_OXM,
            0x05 => Protocols::OF14_OXM,
            0x06 => Protocols::OF15_OXM,
            _ => Protocols::NONE,
        }
    }

    /// The protocol `ovs-ofctl` picks: the lowest bit usable and allowed.
    pub fn choose(self, allowed: Protocols) -> Option<Protocols> {
        let both = self.0 & allowed.0;
        (both != 0).then(|| Protocols(both & both.wrapping_neg()))
    }

    /// Name of a single protocol, or of one of the abbreviations.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Protocols::OF10_NXM => "NXM-table_id",
            Protocols::OF10_NXM_TID => "NXM+table_id",
            Protocols::OF10_STD => "OpenFlow10-table_id",
            Protocols::OF10_STD_TID => "OpenFlow10+table_id",
            Protocols::OF11_STD => "OpenFlow11",
            Protocols::OF12_OXM => "OXM-OpenFlow12",
            Protocols::OF13_OXM => "OXM-OpenFlow13",
            Protocols::OF14_OXM => "OXM-OpenFlow14",
            Protocols::OF15_OXM => "OXM-OpenFlow15",
            _ => {
                return ABBREVIATIONS
                    .iter()
                    .find(|(p, _)| *p == self)
                    .map(|(_, n)| *n);
            }
        })
    }
}

/// Abbreviations tried first, in this order, when printing a set.
const ABBREVIATIONS: [(Protocols, &str); 4] = [
    (Protocols::ANY, "any"),
    (Protocols::OF10_STD_ANY, "OpenFlow10"),
    (Protocols::OF10_NXM_ANY, "NXM"),
    (Protocols::ANY_OXM, "OXM"),
];

impl fmt::Display for Protocols {
    /// `none`, or a comma-separated list: abbreviations first, then the
    /// remaining single protocols from the lowest bit up.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0 & Protocols::ANY.0;
        if rest == 0 {
            return f.write_str("none");
        }
        let mut first = true;
        while rest != 0 {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if let Some((p, name)) = ABBREVIATIONS.iter().find(|(p, _)| rest & p.0 == p.0) {
                f.write_str(name)?;
                rest &= !p.0;
                continue;
            }
            let bit = rest & rest.wrapping_neg();
            f.write_str(Protocols(bit).name().unwrap_or("?"))?;
            rest &= !bit;
        }
        Ok(())
    }
}

impl fmt::Debug for Protocols {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Protocols({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_print_as_ovs_ofctl_prints_them() {
        assert_eq!(Protocols::ANY.to_string(), "any");
        assert_eq!(Protocols::NONE.to_string(), "none");
        assert_eq!(
            Protocols::ANY.and(Protocols::TID).to_string(),
            "OXM,OpenFlow10+table_id,NXM+table_id,OpenFlow11"
        );
        assert_eq!(
            Protocols::NXM_OXM_ANY.and(Protocols::TID).to_string(),
            "OXM,NXM+table_id"
        );
        assert_eq!(Protocols::NXM_OF11_UP.to_string(), "NXM,OXM,OpenFlow11");
        assert_eq!(Protocols::NXM_OXM_ANY.to_string(), "NXM,OXM");
        assert_eq!(
            Protocols::OF13_UP.to_string(),
            "OXM-OpenFlow13,OXM-OpenFlow14,OXM-OpenFlow15"
        );
        assert_eq!(Protocols::OF11_UP.to_string(), "OXM,OpenFlow11");
    }

    #[test]
    fn choose_takes_lowest_allowed_bit() {
        let of13 = Protocols::for_version(4);
        assert_eq!(Protocols::ANY.choose(of13), Some(Protocols::OF13_OXM));
        assert_eq!(Protocols::OF10_ANY.choose(of13), None);
        assert_eq!(
            Protocols::ANY.choose(Protocols::ANY),
            Some(Protocols::OF10_STD)
        );
        assert_eq!(Protocols::OF13_OXM.name(), Some("OXM-OpenFlow13"));
    }
}
