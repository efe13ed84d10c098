//! `Match`: one internal model for OXM and NXM matches.
//!
//! A [`Match`] is a set of [`MatchEntry`]s, at most one per [`Field`], kept in
//! the order Open vSwitch emits them on OpenFlow 1.3 (the `Field` order). It
//! is *canonical*: it holds what OVS would hold after decoding, so that
//! `encode` gives OVS's bytes and `Display` gives `ovs-ofctl`'s text.
//!
//! Canonical form (enforced by [`Match::set`], the only way in):
//! - `value.len() == mask.len() == field.width_bytes()`, `value & !mask == 0`;
//!   a mask of all zeros removes the entry; a full mask is stored as `None`.
//! - Fields OVS folds into another are converted: `nw_tos` (NXM_OF_IP_TOS)
//!   becomes `ip_dscp`; `vlan_tci` becomes `vlan_vid` + `vlan_pcp` (see the
//!   exception below); `xreg`/`xxreg` become `reg` pairs/quads.
//! - `packet_type` Ethernet (0) is kept only while no field with a
//!   prerequisite is matched: such a field implies it, and OVS then omits it
//!   on the wire. OVS's text parser sets it for protocol shorthands and
//!   fields with prerequisites, so `tp_src=80` alone (dropped: no protocol)
//!   encodes as `packet_type=0` while `reg0=1` encodes without it.
//! - Exception: `vlan_tci` (NXM_OF_VLAN_TCI) keeps its PCP bits as OVS holds
//!   them after decoding, so a partial PCP mask, or PCP without a VLAN id,
//!   can be stored (and printed as OVS prints it); `encode` then emits
//!   `vlan_pcp` exact and only with a non-zero `vlan_vid`, as OVS does, so
//!   for those rare matches `decode(encode(m)) != m` in rvs as in OVS.
//! - Fields whose storage in OVS is narrower than the wire: `ct_state` keeps
//!   only the low 8 mask bits and so is always masked (`0x20/0xff`);
//!   `ip_frag` with both bits masked is exact; `vlan_vid` keeps 13 mask bits.
//!
//! Entry points:
//! - binary: [`Match::decode`] / [`Match::encode`] / [`Match::encoded_len`]
//!   for `struct ofp_match` (OXM type, padded to 8), and
//!   [`Match::decode_oxm_tlvs`] / [`Match::encode_oxm_tlvs`] for bare TLV
//!   lists; [`oxm::decode_entry`] / [`oxm::encode_entry`] for one TLV.
//! - text: [`Match::parse`] for a whole match string, [`MatchParser`] to feed
//!   `key=value` items one by one from a flow line (protocol shorthands,
//!   fields, and subfields such as `reg0[0..3]=5`), `Display` (and
//!   [`Match::format_with_priority`]) to print as `ovs-ofctl` does; value
//!   printers [`format_field_value`], [`format_ipv6`] (glibc `inet_ntop`
//!   style) and friends for the action printers.
//! - checks: [`Match::check_prereqs`] (`OFPBMC_BAD_PREREQ`),
//!   [`Match::prereq_ok`], and [`Match::check_ct_tuple_ip_version`]
//!   (`OFPBAC_MATCH_INCONSISTENT`, the check OVS's FLOW_MOD decoder makes
//!   after the match decodes).
//! - access: [`Match::get`], [`Match::iter`], [`Match::value`],
//!   [`Match::value_mask`], [`Match::set`], [`Match::set_u128`],
//!   [`Match::set_exact`], [`Match::remove`], and shorthands
//!   [`Match::eth_type`], [`Match::ip_proto`], [`Match::is_ip`], ...;
//!   [`Match::effective_value_mask`] (counts the implied Ethernet
//!   `packet_type`) and [`Match::selects_loosely`] (non-strict FLOW_MOD and
//!   stats selection).
//!
//! Verified against OVS 3.1 (`ovs-ofctl`) by `tests/match_oracle.rs` (text
//! and bytes of the match strings in `tests/data/matches.txt`, messages of
//! the refused ones in `match_errors.txt`, and random match strings) and
//! `tests/match_wire_oracle.rs` (hand-made TLV lists in `match_wire.txt` and
//! random ones, accepted or refused, decoded and printed).
//!
//! Not covered: `tun_metadata*`, NSH, ERSPAN, GTP-U, port names from a
//! port map, `skb_priority`/`tun_tos`/`tun_ttl` (no OXM/NXM header), and
//! the IPv4 octet wrap OVS applies to `10.0.0.300` (rvs refuses it).

mod format;
pub mod oxm;
mod prereq;
mod standard;
mod text;
mod value;

pub use text::MatchParser;
pub use value::{
    CT_STATE_FLAGS, TCP_FLAG_NAMES, format_field_value, format_ipv4_masked, format_ipv6,
    format_ipv6_masked, format_mac_masked, port_name,
};

use crate::error::OfpError;
use crate::field::{Field, Prereq};

/// One field of a match: value and optional mask, each `width_bytes` long,
/// big-endian. `mask == None` means an exact match.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MatchEntry {
    pub field: Field,
    pub value: Vec<u8>,
    pub mask: Option<Vec<u8>>,
}

impl MatchEntry {
    /// The value as an unsigned integer (fields are at most 16 bytes).
    pub fn value_u128(&self) -> u128 {
        be_to_u128(&self.value)
    }

    /// The mask as an unsigned integer, all ones over the width if exact.
    pub fn mask_u128(&self) -> u128 {
        match &self.mask {
            Some(m) => be_to_u128(m),
            None => width_ones(self.value.len()),
        }
    }
}

/// A flow match: a set of fields, at most one entry per field, in OVS's
/// OpenFlow 1.3 encoding order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Match {
    entries: Vec<MatchEntry>,
}

/// `ct_state` bits (OVS `CS_*`).
pub mod ct_state {
    pub const NEW: u32 = 0x01;
    pub const EST: u32 = 0x02;
    pub const REL: u32 = 0x04;
    pub const RPL: u32 = 0x08;
    pub const INV: u32 = 0x10;
    pub const TRK: u32 = 0x20;
    pub const SNAT: u32 = 0x40;
    pub const DNAT: u32 = 0x80;
}

pub const ETH_TYPE_IP: u16 = 0x0800;
pub const ETH_TYPE_ARP: u16 = 0x0806;
pub const ETH_TYPE_RARP: u16 = 0x8035;
pub const ETH_TYPE_IPV6: u16 = 0x86dd;
pub const ETH_TYPE_MPLS: u16 = 0x8847;
pub const ETH_TYPE_MPLS_MCAST: u16 = 0x8848;
pub const IPPROTO_ICMP: u8 = 1;
pub const IPPROTO_TCP: u8 = 6;
pub const IPPROTO_UDP: u8 = 17;
pub const IPPROTO_ICMPV6: u8 = 58;
pub const IPPROTO_SCTP: u8 = 132;
/// `vlan_vid` bit meaning "a VLAN header is present" (OFPVID_PRESENT).
pub const OFPVID_PRESENT: u16 = 0x1000;

pub(crate) fn be_to_u128(b: &[u8]) -> u128 {
    b.iter().fold(0u128, |acc, &x| (acc << 8) | x as u128)
}

pub(crate) fn u128_to_be(v: u128, width: usize) -> Vec<u8> {
    let all = v.to_be_bytes();
    all[16 - width.min(16)..].to_vec()
}

pub(crate) fn width_ones(width: usize) -> u128 {
    if width >= 16 {
        u128::MAX
    } else {
        (1u128 << (8 * width)) - 1
    }
}

/// Largest valid value of a field, for OVS's `mf_is_value_valid` (`None`:
/// any value of the width; ports are checked separately).
fn value_limit(field: Field) -> Option<u128> {
    Some(match field {
        Field::IpDscp => 0x3f,
        Field::IpEcn | Field::IpFrag => 0x3,
        Field::TcpFlags => 0x0fff,
        Field::ArpOp => 0xff,
        Field::VlanVid => 0x1fff,
        Field::VlanPcp | Field::MplsTc => 0x7,
        Field::MplsBos | Field::TunFlags => 0x1,
        Field::Ipv6Label | Field::MplsLabel => 0xf_ffff,
        Field::CtState => 0xff,
        Field::NwTos => 0xfc,
        _ => return None,
    })
}

/// Whether an OpenFlow 1.1+ port number is one OVS can represent: below
/// 0xff00, or in the reserved range 0xffffff00 and up.
pub fn is_valid_ofp11_port(port: u32) -> bool {
    !(0xff00..0xffff_ff00).contains(&port)
}

impl Match {
    pub fn new() -> Self {
        Match::default()
    }

    pub fn get(&self, field: Field) -> Option<&MatchEntry> {
        self.entries.iter().find(|e| e.field == field)
    }

    pub fn iter(&self) -> impl Iterator<Item = &MatchEntry> {
        self.entries.iter()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True for the catch-all match.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains(&self, field: Field) -> bool {
        self.get(field).is_some()
    }

    /// Value of `field` as an integer, if matched (masked bits are zero).
    pub fn value(&self, field: Field) -> Option<u128> {
        self.get(field).map(MatchEntry::value_u128)
    }

    /// Value and mask (all ones if exact) of `field`, if matched.
    pub fn value_mask(&self, field: Field) -> Option<(u128, u128)> {
        self.get(field).map(|e| (e.value_u128(), e.mask_u128()))
    }

    /// The flow value OVS would see for `field`: 0 when not matched.
    pub(crate) fn flow_value(&self, field: Field) -> u128 {
        self.value(field).unwrap_or(0)
    }

    pub fn eth_type(&self) -> Option<u16> {
        self.value(Field::EthType).map(|v| v as u16)
    }

    pub fn ip_proto(&self) -> Option<u8> {
        self.value(Field::IpProto).map(|v| v as u8)
    }

    pub fn is_ipv4(&self) -> bool {
        self.eth_type() == Some(ETH_TYPE_IP)
    }

    pub fn is_ipv6(&self) -> bool {
        self.eth_type() == Some(ETH_TYPE_IPV6)
    }

    /// Matches IPv4 or IPv6 (what `ct()` requires).
    pub fn is_ip(&self) -> bool {
        self.is_ipv4() || self.is_ipv6()
    }

    pub fn is_arp(&self) -> bool {
        matches!(self.eth_type(), Some(ETH_TYPE_ARP | ETH_TYPE_RARP))
    }

    pub fn is_mpls(&self) -> bool {
        matches!(self.eth_type(), Some(ETH_TYPE_MPLS | ETH_TYPE_MPLS_MCAST))
    }

    /// Removes a field (and, for a folded field such as `xreg0`, the fields
    /// it is stored as). Returns the removed canonical entry, if any.
    pub fn remove(&mut self, field: Field) -> Option<MatchEntry> {
        let targets = storage_fields(field);
        let mut removed = None;
        self.entries.retain(|e| {
            if targets.contains(&e.field) {
                removed.get_or_insert_with(|| e.clone());
                false
            } else {
                true
            }
        });
        removed
    }

    /// Sets `field` to `value` under `mask` (`None` = exact), converting to
    /// the canonical form described in the module docs. Replaces a previous
    /// entry for the same storage.
    ///
    /// Errors as OVS's decoder would give for the same TLV:
    /// `OFPBMC_BAD_LEN` (value or mask of the wrong width),
    /// `OFPBMC_BAD_MASK` (partial mask on a non-maskable field),
    /// `OFPBMC_BAD_VALUE` (value outside the field's range, e.g. a DSCP > 63
    /// or an unrepresentable port), `OFPBMC_BAD_WILDCARDS` (value bits
    /// outside the mask), `OFPBMC_BAD_FIELD` (field OVS does not implement).
    pub fn set(&mut self, field: Field, value: &[u8], mask: Option<&[u8]>) -> Result<(), OfpError> {
        let width = field.width_bytes();
        if value.len() != width || mask.is_some_and(|m| m.len() != width) {
            return Err(OfpError::OFPBMC_BAD_LEN);
        }
        let v = be_to_u128(value);
        let m = mask.map(be_to_u128);
        if let Some(m) = m
            && v & !m != 0
        {
            return Err(OfpError::OFPBMC_BAD_WILDCARDS);
        }
        self.set_u128(field, v, m)
    }

    /// Like [`Match::set`] with integer value and mask; value bits outside
    /// the mask are cleared rather than refused.
    pub fn set_u128(
        &mut self,
        field: Field,
        value: u128,
        mask: Option<u128>,
    ) -> Result<(), OfpError> {
        let info = field.info();
        // Out-of-range register numbers would alias a real register.
        if !info.ovs_supported || info.field != field {
            return Err(OfpError::OFPBMC_BAD_FIELD);
        }
        let ones = width_ones(info.width_bytes as usize);
        let mask = mask.map_or(ones, |m| m & ones);
        if value & !ones != 0 {
            return Err(OfpError::OFPBMC_BAD_VALUE);
        }
        if !info.maskable && mask != 0 && mask != ones {
            return Err(OfpError::OFPBMC_BAD_MASK);
        }
        self.check_value(field, value)?;
        let value = value & mask;
        match field {
            Field::NwTos => self.store(Field::IpDscp, value >> 2, if mask == 0 { 0 } else { 0xff }),
            Field::VlanTci => {
                let vid_mask = mask & 0x1fff;
                let vid = value & 0x1fff;
                self.store(
                    Field::VlanVid,
                    vid,
                    if vid_mask == 0x1fff { 0xffff } else { vid_mask },
                );
                // The PCP part is kept as OVS holds it after decoding (its
                // mask may be partial, and it may be set without a VLAN
                // id); `encode` emits it as OVS does: exact, and only with
                // a non-zero VLAN id.
                let pcp_mask = (mask >> 13) & 0x7;
                let pcp = (value >> 13) & pcp_mask;
                if pcp_mask == 0x7 {
                    self.store(Field::VlanPcp, pcp, 0xff);
                } else {
                    self.store_raw(Field::VlanPcp, pcp, Some(pcp_mask));
                }
            }
            Field::XReg(n) => {
                let base = (n & 7) * 2;
                for i in 0..2u8 {
                    let shift = 32 * (1 - i as u32);
                    let reg = Field::Reg(base + i);
                    self.store(
                        reg,
                        (value >> shift) & 0xffff_ffff,
                        (mask >> shift) & 0xffff_ffff,
                    );
                }
            }
            Field::XXReg(n) => {
                let base = (n & 3) * 4;
                for i in 0..4u8 {
                    let shift = 32 * (3 - i as u32);
                    let reg = Field::Reg(base + i);
                    self.store(
                        reg,
                        (value >> shift) & 0xffff_ffff,
                        (mask >> shift) & 0xffff_ffff,
                    );
                }
            }
            Field::PacketType if mask != 0 && value == 0 => {
                // An explicit Ethernet packet type only shows on the wire
                // when no field with a prerequisite implies it.
                if self.iter().all(|e| e.field.prereq() == Prereq::None) {
                    self.store(field, 0, mask);
                }
            }
            Field::CtState => self.store_raw(field, value & 0xff, Some(mask & 0xff)),
            Field::IpFrag => self.store(
                field,
                value & 0x3,
                if mask & 0x3 == 0x3 { 0xff } else { mask & 0x3 },
            ),
            Field::VlanVid => self.store(
                field,
                value & 0x1fff,
                if mask & 0x1fff == 0x1fff {
                    0xffff
                } else {
                    mask & 0x1fff
                },
            ),
            _ => self.store(field, value, mask),
        }
        Ok(())
    }

    /// Sets an exact match on an integer field.
    pub fn set_exact(&mut self, field: Field, value: u128) -> Result<(), OfpError> {
        self.set_u128(field, value, None)
    }

    fn check_value(&self, field: Field, value: u128) -> Result<(), OfpError> {
        let ok = match field {
            Field::InPort | Field::ActsetOutput => is_valid_ofp11_port(value as u32),
            Field::NwTos => value & 0x3 == 0,
            _ => value_limit(field).is_none_or(|lim| value <= lim),
        };
        if ok {
            Ok(())
        } else {
            Err(OfpError::OFPBMC_BAD_VALUE)
        }
    }

    /// Stores a canonical field: zero mask removes it, full mask is exact.
    fn store(&mut self, field: Field, value: u128, mask: u128) {
        let width = field.width_bytes();
        let ones = width_ones(width);
        let mask = mask & ones;
        if mask == 0 {
            self.entries.retain(|e| e.field != field);
        } else if mask == ones {
            self.store_raw(field, value, None);
        } else {
            self.store_raw(field, value & mask, Some(mask));
        }
    }

    fn store_raw(&mut self, field: Field, value: u128, mask: Option<u128>) {
        let width = field.width_bytes();
        if mask == Some(0) {
            self.entries.retain(|e| e.field != field);
            return;
        }
        if field.prereq() != Prereq::None {
            // The field implies the Ethernet packet type.
            self.entries
                .retain(|e| e.field != Field::PacketType || e.value_u128() != 0);
        }
        let entry = MatchEntry {
            field,
            value: u128_to_be(value & mask.unwrap_or(u128::MAX), width),
            mask: mask.map(|m| u128_to_be(m, width)),
        };
        match self.entries.binary_search_by(|e| e.field.cmp(&field)) {
            Ok(i) => self.entries[i] = entry,
            Err(i) => self.entries.insert(i, entry),
        }
    }
}

/// The canonical fields a (possibly folded) field is stored as.
pub(crate) fn storage_fields(field: Field) -> smallvec::SmallVec<[Field; 4]> {
    use smallvec::smallvec;
    match field {
        Field::NwTos => smallvec![Field::IpDscp],
        Field::VlanTci => smallvec![Field::VlanVid, Field::VlanPcp],
        Field::XReg(n) => smallvec![Field::Reg((n & 7) * 2), Field::Reg((n & 7) * 2 + 1)],
        Field::XXReg(n) => (0..4).map(|i| Field::Reg((n & 3) * 4 + i)).collect(),
        other => smallvec![other],
    }
}

impl core::fmt::Display for Match {
    /// The match as `ovs-ofctl` prints it (no priority), `match_format()` order.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&format::format_match(self, None))
    }
}

impl Match {
    /// The match as `ovs-ofctl` prints it in a flow: `priority=N,` first
    /// unless `priority` is the default 32768.
    pub fn format_with_priority(&self, priority: u16) -> String {
        format::format_match(self, Some(priority))
    }

    /// Parses a comma-separated match (`tcp,nw_src=10.0.0.0/8,tp_dst=80`).
    /// Keys that are not match fields are errors (`unknown field foo`).
    pub fn parse(s: &str) -> Result<Match, crate::text::ParseError> {
        text::parse_match(s)
    }
}

#[cfg(test)]
mod tests;
