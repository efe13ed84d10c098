//! Parsing the `ovs-ofctl` match syntax into a canonical [`Match`].
//!
//! OVS parses text into its `struct flow` + wildcards, where several names
//! share one slot (`tp_src` holds TCP/UDP/SCTP ports and ICMP types,
//! `nw_src` holds `arp_spa`, `vlan_tci` holds `dl_vlan` and `dl_vlan_pcp`,
//! `nw_tos` holds DSCP and ECN), and only at encoding time decides which
//! OXM field each slot becomes, by `dl_type` and `nw_proto`, dropping slots
//! that do not apply (`tp_src=80` without a protocol is silently dropped).
//! [`MatchParser`] does the same: items fill slots in any order, and
//! [`MatchParser::finish`] maps slots to fields as `nx_put_raw()` would.
//! The result is what OVS itself prints after a round trip through OF1.3.
//!
//! Differences from OVS, on purpose: an IPv4 octet above 255 is an error
//! (OVS wraps it), and out-of-range values that OVS would encode and then
//! refuse when decoding (e.g. `ipv6_label=0x1fffff`) are refused here at
//! parse time. Subfield syntax (`reg0[0..3]=5`) and `tun_metadata` are not
//! supported.

use smallvec::SmallVec;

use super::value::{
    CT_STATE_FLAGS, IntError, TCP_FLAG_NAMES, TUN_FLAG_NAMES, parse_flags, parse_int,
    parse_ipv4_masked, parse_ipv6_masked, parse_mac_masked, parse_port,
};
use super::{
    ETH_TYPE_ARP, ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_MPLS, ETH_TYPE_MPLS_MCAST, ETH_TYPE_RARP,
    Match,
};
use super::{IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP};
use crate::field::{Field, ValueFormat};
use crate::text::ParseError;

/// Protocol shorthands: name, eth_type, ip_proto (0: none).
const PROTOCOLS: &[(&str, u16, u8)] = &[
    ("ip", ETH_TYPE_IP, 0),
    ("ipv4", ETH_TYPE_IP, 0),
    ("ip4", ETH_TYPE_IP, 0),
    ("arp", ETH_TYPE_ARP, 0),
    ("icmp", ETH_TYPE_IP, IPPROTO_ICMP),
    ("tcp", ETH_TYPE_IP, IPPROTO_TCP),
    ("udp", ETH_TYPE_IP, IPPROTO_UDP),
    ("sctp", ETH_TYPE_IP, IPPROTO_SCTP),
    ("ipv6", ETH_TYPE_IPV6, 0),
    ("ip6", ETH_TYPE_IPV6, 0),
    ("icmp6", ETH_TYPE_IPV6, IPPROTO_ICMPV6),
    ("tcp6", ETH_TYPE_IPV6, IPPROTO_TCP),
    ("udp6", ETH_TYPE_IPV6, IPPROTO_UDP),
    ("sctp6", ETH_TYPE_IPV6, IPPROTO_SCTP),
    ("rarp", ETH_TYPE_RARP, 0),
    ("mpls", ETH_TYPE_MPLS, 0),
    ("mplsm", ETH_TYPE_MPLS_MCAST, 0),
];

/// Slot keys. Shared OVS slots are keyed by one representative field:
/// `TcpSrc` = tp_src, `TcpDst` = tp_dst, `Ipv4Src` = nw_src, `Ipv4Dst` =
/// nw_dst, `IpProto` = nw_proto, `ArpSha` = arp_sha/nd_sll, `ArpTha` =
/// arp_tha/nd_tll, `NwTos` = the whole TOS byte, `VlanTci` = the TCI.
fn slot_of(field: Field) -> Field {
    match field {
        Field::UdpSrc | Field::SctpSrc | Field::Icmpv4Type | Field::Icmpv6Type => Field::TcpSrc,
        Field::UdpDst | Field::SctpDst | Field::Icmpv4Code | Field::Icmpv6Code => Field::TcpDst,
        Field::ArpSpa => Field::Ipv4Src,
        Field::ArpTpa => Field::Ipv4Dst,
        Field::ArpOp => Field::IpProto,
        Field::NdSll => Field::ArpSha,
        Field::NdTll => Field::ArpTha,
        Field::IpDscp | Field::IpEcn => Field::NwTos,
        Field::NdOptionsType => Field::TcpFlags,
        Field::VlanVid | Field::VlanPcp => Field::VlanTci,
        other => other,
    }
}

/// The (value, mask) of each slot a match set. A flow sets a handful, and
/// [`MatchParser::finish`] asks for about sixty, so a short vector searched
/// in order beats a tree or a hash (this is the per-flow cost of a
/// 100,000-flow `add-flows` file).
#[derive(Clone, Debug, Default)]
struct Slots(SmallVec<[(Field, (u128, u128)); 8]>);

impl Slots {
    fn get(&self, slot: &Field) -> Option<&(u128, u128)> {
        self.0.iter().find(|(f, _)| f == slot).map(|(_, vm)| vm)
    }

    fn insert(&mut self, slot: Field, vm: (u128, u128)) {
        match self.0.iter_mut().find(|(f, _)| *f == slot) {
            Some((_, old)) => *old = vm,
            None => self.0.push((slot, vm)),
        }
    }
}

/// Accumulates `key[=value]` items of a match, then builds the [`Match`].
#[derive(Clone, Debug, Default)]
pub struct MatchParser {
    slots: Slots,
    /// The packet type was set to Ethernet (by a protocol shorthand or a
    /// field with a prerequisite), as OVS's parser does.
    ethernet: bool,
}

impl MatchParser {
    pub fn new() -> Self {
        MatchParser::default()
    }

    /// Takes one item. `Ok(true)`: it was a match item; `Ok(false)`: `key` is
    /// not a match keyword (the caller may know it: `priority`, `actions`...).
    pub fn item(&mut self, key: &str, value: Option<&str>) -> Result<bool, ParseError> {
        if let Some((_, dl_type, proto)) = PROTOCOLS.iter().find(|(n, _, _)| *n == key) {
            self.put(Field::EthType, *dl_type as u128, 0xffff);
            self.ethernet = true;
            if *proto != 0 {
                self.put(Field::IpProto, *proto as u128, 0xff);
            }
            return Ok(true);
        }
        if key == "eth" {
            self.put(Field::PacketType, 0, 0xffff_ffff);
            return Ok(true);
        }
        let raw_value = value.unwrap_or("");
        let value = match value {
            None | Some("") => "0/0",
            Some(v) => v,
        };
        match key {
            "dl_vlan" => {
                let vid = self.int_value(key, value, 2, false)?.0 as u16;
                if vid == 0xffff {
                    self.slots.insert(Field::VlanTci, (0, 0xffff));
                } else {
                    self.merge(Field::VlanTci, 0x1000 | (vid as u128 & 0x0fff), 0x1fff);
                }
                self.ethernet = true;
                return Ok(true);
            }
            "dl_vlan_pcp" => {
                let pcp = self.int_value(key, value, 1, false)?.0;
                self.merge(Field::VlanTci, 0x1000 | ((pcp & 7) << 13), 0xf000);
                self.ethernet = true;
                return Ok(true);
            }
            _ => {}
        }
        let Some(field) = Field::from_ovs_name(key) else {
            if key.contains('[') {
                self.subfield(key, raw_value)?;
                return Ok(true);
            }
            return Ok(false);
        };
        let (v, m) = self.parse_value(field, value)?;
        self.apply(field, v, m);
        if field.prereq() != crate::field::Prereq::None {
            // OVS's match_add_ethernet_prereq().
            self.ethernet = true;
        }
        Ok(true)
    }

    /// `field[start..end]=value`, `field[bit]=value`, `field[]=value`: sets
    /// those bits, keeping the rest of the field (OVS `parse_subfield`).
    fn subfield(&mut self, key: &str, value: &str) -> Result<(), ParseError> {
        let name_len = key.find(['[', '-']).unwrap_or(key.len());
        let name = &key[..name_len];
        let field = Field::from_name(name)
            .ok_or_else(|| ParseError::new(format!("{key}: unknown field `{name}'")))?;
        let n_bits = field.width_bits();
        let (start, end) = parse_bit_range(&key[name_len..], n_bits).ok_or_else(|| {
            ParseError::new(format!(
                "{key}: syntax error expecting [] or [<bit>] or [<start>..<end>]"
            ))
        })?;
        if start > end {
            return Err(ParseError::new(format!(
                "{key}: starting bit {start} is after ending bit {end}"
            )));
        } else if start >= n_bits {
            return Err(ParseError::new(format!(
                "{key}: starting bit {start} is not valid because field is only {n_bits} bits wide"
            )));
        } else if end >= n_bits {
            return Err(ParseError::new(format!(
                "{key}: ending bit {end} is not valid because field is only {n_bits} bits wide"
            )));
        }
        let width = field.width_bytes();
        let v = parse_int(value, width)
            .map_err(|_| ParseError::new(format!("{key}: cannot parse integer value: {value}")))?;
        let n = end - start + 1;
        if n < 128 && v >> n != 0 {
            return Err(ParseError::new(format!(
                "{key}: value {} does not fit into {n} bits",
                super::value::format_field_value(field, v)
            )));
        }
        let bits = if n >= 128 {
            u128::MAX
        } else {
            ((1u128 << n) - 1) << start
        };
        let (cur_v, cur_m) = match field {
            Field::XReg(x) => self.regs_value(x as usize * 2, 2),
            Field::XXReg(x) => self.regs_value(x as usize * 4, 4),
            Field::Icmpv4Type | Field::Icmpv6Type | Field::Icmpv4Code | Field::Icmpv6Code => {
                let (v, m) = self.slot(slot_of(field));
                (v & 0xff, m & 0xff)
            }
            Field::ArpOp
            | Field::IpDscp
            | Field::IpEcn
            | Field::NwTos
            | Field::VlanVid
            | Field::VlanPcp => {
                return Err(ParseError::new(format!(
                    "{key}: subfield match on {} is not supported",
                    field.name()
                )));
            }
            other => self.slot(slot_of(other)),
        };
        self.apply(field, (cur_v & !bits) | (v << start), cur_m | bits);
        if field.prereq() != crate::field::Prereq::None {
            self.ethernet = true;
        }
        Ok(())
    }

    /// Value and mask of `count` consecutive registers as one integer.
    fn regs_value(&self, first: usize, count: usize) -> (u128, u128) {
        (0..count).fold((0, 0), |(v, m), i| {
            let (rv, rm) = self.slot(Field::Reg((first + i) as u8));
            ((v << 32) | rv, (m << 32) | rm)
        })
    }

    fn put(&mut self, slot: Field, v: u128, m: u128) {
        self.slots.insert(slot, (v & m, m));
    }

    /// Replaces the bits under `m` of a shared slot, keeping the others.
    fn merge(&mut self, slot: Field, v: u128, m: u128) {
        let (ov, om) = self.slots.get(&slot).copied().unwrap_or((0, 0));
        self.slots.insert(slot, ((ov & !m) | (v & m), om | m));
    }

    fn apply(&mut self, field: Field, v: u128, m: u128) {
        match field {
            Field::IpDscp => self.merge_or_clear(Field::NwTos, (v << 2) & 0xfc, 0xfc, m),
            Field::NwTos => self.merge_or_clear(Field::NwTos, v & 0xfc, 0xfc, m),
            Field::IpEcn => self.merge_or_clear(Field::NwTos, v & 0x3, 0x3, m),
            Field::VlanVid => {
                let (ov, om) = self.slots.get(&Field::VlanTci).copied().unwrap_or((0, 0));
                let m = m & 0x1fff;
                self.slots.insert(
                    Field::VlanTci,
                    ((ov & !0x1fff) | (v & m), m | (om & 0xe000)),
                );
            }
            Field::VlanPcp => {
                self.merge_or_clear(Field::VlanTci, 0x1000 | ((v & 7) << 13), 0xf000, m)
            }
            Field::XReg(n) => {
                for i in 0..2u8 {
                    let shift = 32 * (1 - i as u32);
                    self.put(
                        Field::Reg(n * 2 + i),
                        (v >> shift) & 0xffff_ffff,
                        (m >> shift) & 0xffff_ffff,
                    );
                }
            }
            Field::XXReg(n) => {
                for i in 0..4u8 {
                    let shift = 32 * (3 - i as u32);
                    self.put(
                        Field::Reg(n * 4 + i),
                        (v >> shift) & 0xffff_ffff,
                        (m >> shift) & 0xffff_ffff,
                    );
                }
            }
            Field::ArpOp => self.put(Field::IpProto, v & 0xff, if m == 0 { 0 } else { 0xff }),
            Field::Icmpv4Type | Field::Icmpv6Type | Field::Icmpv4Code | Field::Icmpv6Code => {
                self.put(slot_of(field), v, if m == 0 { 0 } else { 0xffff })
            }
            Field::CtState => self.put(field, v, m & 0xff),
            Field::NdOptionsType => self.put(Field::TcpFlags, v, if m == 0 { 0 } else { 0xffff }),
            Field::TcpFlags | Field::TunFlags => self.put(field, v, m & 0xffff),
            other => self.put(slot_of(other), v, m),
        }
    }

    /// For exact-only parts of a shared slot: a zero mask clears the part.
    fn merge_or_clear(&mut self, slot: Field, v: u128, part: u128, m: u128) {
        if m == 0 {
            let (ov, om) = self.slots.get(&slot).copied().unwrap_or((0, 0));
            self.slots.insert(slot, (ov & !part, om & !part));
        } else {
            self.merge(slot, v, part);
        }
    }

    fn int_value(
        &self,
        name: &str,
        s: &str,
        width: usize,
        maskable: bool,
    ) -> Result<(u128, u128), ParseError> {
        let ones = if width >= 16 {
            u128::MAX
        } else {
            (1u128 << (8 * width)) - 1
        };
        let (vs, ms) = match s.split_once('/') {
            Some((v, m)) => (v, Some(m)),
            None => (s, None),
        };
        let int = |t: &str, what: &str| {
            parse_int(t, width).map_err(|e| match e {
                IntError::Range => ParseError::new(format!(
                    "{s}: {what} too large for {width}-byte field {name}"
                )),
                IntError::Syntax => ParseError::new(format!("{s}: bad syntax for {name} {what}")),
            })
        };
        let v = int(vs, "value")?;
        let m = match ms {
            Some(m) => int(m, "mask")?,
            None => ones,
        };
        if !maskable && m != 0 && m != ones {
            return Err(ParseError::new(format!(
                "{s}: invalid mask for field {name}"
            )));
        }
        Ok((v & m, m))
    }

    /// Parses a value for `field` into (value, mask) of the field's width.
    fn parse_value(&self, field: Field, s: &str) -> Result<(u128, u128), ParseError> {
        let info = field.info();
        let name = info.name;
        if s == "*" {
            return Ok((0, 0));
        }
        let width = info.width_bytes as usize;
        let ones = if width >= 16 {
            u128::MAX
        } else {
            (1u128 << (8 * width)) - 1
        };
        let (v, m) = match info.format {
            ValueFormat::Decimal | ValueFormat::Hex => {
                return self.int_value(name, s, width, info.maskable);
            }
            ValueFormat::Mac => parse_mac_masked(s).map_err(ParseError::new)?,
            ValueFormat::Ipv4 => parse_ipv4_masked(s).map_err(ParseError::new)?,
            ValueFormat::Ipv6 => parse_ipv6_masked(s).map_err(ParseError::new)?,
            ValueFormat::Port => match s.split_once('/') {
                Some(_) => {
                    return Err(ParseError::new(format!(
                        "{s}: invalid or unknown port for {name}"
                    )));
                }
                None => (
                    parse_port(s).ok_or_else(|| {
                        ParseError::new(format!("{s}: invalid or unknown port for {name}"))
                    })? as u128,
                    ones,
                ),
            },
            ValueFormat::CtState => {
                let (v, m) =
                    parse_flags(s, &CT_STATE_FLAGS, "ct_state", 0xff).map_err(ParseError::new)?;
                (v as u128, m as u128)
            }
            ValueFormat::TcpFlags => {
                let (v, m) =
                    parse_flags(s, &TCP_FLAG_NAMES, "TCP", 0x0fff).map_err(ParseError::new)?;
                (v as u128, m as u128 & 0xffff)
            }
            ValueFormat::TunFlags => {
                let (v, m) =
                    parse_flags(s, &TUN_FLAG_NAMES, "tunnel", 0x1).map_err(ParseError::new)?;
                (v as u128, m as u128 & 0xffff)
            }
            ValueFormat::Frag => parse_frag(s)?,
            ValueFormat::PacketType => (parse_packet_type(s)?, ones),
        };
        if !info.maskable && m != 0 && m != ones {
            return Err(ParseError::new(format!(
                "{s}: invalid mask for field {name}"
            )));
        }
        Ok((v & m, m))
    }

    fn slot(&self, slot: Field) -> (u128, u128) {
        self.slots.get(&slot).copied().unwrap_or((0, 0))
    }

    /// Builds the canonical match, choosing each slot's field as OVS's
    /// encoder does and dropping slots that do not apply.
    pub fn finish(self) -> Result<Match, ParseError> {
        let mut out = Match::new();
        let mut put = |field: Field, (v, m): (u128, u128)| -> Result<(), ParseError> {
            if m == 0 {
                return Ok(());
            }
            out.set_u128(field, v & m, Some(m)).map_err(|e| {
                ParseError::new(format!(
                    "value 0x{v:x}/0x{m:x} out of range for field {} ({e})",
                    field.name()
                ))
            })
        };
        for f in [
            Field::DpHash,
            Field::RecircId,
            Field::ConjId,
            Field::InPort,
            Field::ActsetOutput,
            Field::EthSrc,
            Field::EthDst,
            Field::EthType,
            Field::TunId,
            Field::TunFlags,
            Field::TunSrc,
            Field::TunDst,
            Field::TunIpv6Src,
            Field::TunIpv6Dst,
            Field::TunGbpId,
            Field::TunGbpFlags,
            Field::PktMark,
            Field::CtState,
            Field::CtZone,
            Field::CtMark,
            Field::CtLabel,
            Field::CtNwSrc,
            Field::CtIpv6Src,
            Field::CtNwDst,
            Field::CtIpv6Dst,
            Field::Metadata,
        ] {
            put(f, self.slot(f))?;
        }
        for n in 0..16 {
            put(Field::Reg(n), self.slot(Field::Reg(n)))?;
        }
        // The TCI as OVS emits it on OF1.3: vlan_vid (VID and CFI bits), and
        // vlan_pcp, exact, when the VLAN id is non-zero and PCP is matched.
        let (tci, tci_mask) = self.slot(Field::VlanTci);
        put(Field::VlanVid, (tci & 0x1fff, tci_mask & 0x1fff))?;
        if tci & 0x1fff != 0 && tci_mask & 0xe000 != 0 {
            put(Field::VlanPcp, ((tci >> 13) & 0x7, 0xff))?;
        }
        let (pt, pt_mask) = self.slot(Field::PacketType);
        if pt_mask != 0 && pt != 0 {
            put(Field::PacketType, (pt, pt_mask))?;
        }
        if self.slot(Field::CtNwProto).0 != 0 {
            for f in [Field::CtNwProto, Field::CtTpSrc, Field::CtTpDst] {
                put(f, self.slot(f))?;
            }
        }
        let dl_type = self.slot(Field::EthType).0 as u16;
        if dl_type == ETH_TYPE_MPLS || dl_type == ETH_TYPE_MPLS_MCAST {
            for f in [
                Field::MplsTc,
                Field::MplsBos,
                Field::MplsTtl,
                Field::MplsLabel,
            ] {
                // OVS keeps these in the label stack entry's bit fields.
                let (v, m) = self.slot(f);
                put(f, (v & f.info().value_bits_mask(), m))?;
            }
        }
        let (proto, proto_mask) = self.slot(Field::IpProto);
        if dl_type == ETH_TYPE_IP || dl_type == ETH_TYPE_IPV6 {
            if dl_type == ETH_TYPE_IP {
                put(Field::Ipv4Src, self.slot(Field::Ipv4Src))?;
                put(Field::Ipv4Dst, self.slot(Field::Ipv4Dst))?;
            } else {
                put(Field::Ipv6Src, self.slot(Field::Ipv6Src))?;
                put(Field::Ipv6Dst, self.slot(Field::Ipv6Dst))?;
            }
            put(Field::IpFrag, self.slot(Field::IpFrag))?;
            let (tos, tos_mask) = self.slot(Field::NwTos);
            if tos_mask & 0xfc != 0 {
                put(Field::IpDscp, (tos >> 2, 0xff))?;
            }
            if tos_mask & 0x3 != 0 {
                put(Field::IpEcn, (tos & 0x3, 0xff))?;
            }
            put(Field::NwTtl, self.slot(Field::NwTtl))?;
            put(Field::Ipv6Label, self.slot(Field::Ipv6Label))?;
            if proto_mask != 0 {
                put(Field::IpProto, (proto, 0xff))?;
                let (sp, dp) = (self.slot(Field::TcpSrc), self.slot(Field::TcpDst));
                let exact8 = |(v, m): (u128, u128)| (v & 0xff, if m == 0 { 0 } else { 0xff });
                match proto as u8 {
                    IPPROTO_TCP => {
                        put(Field::TcpSrc, sp)?;
                        put(Field::TcpDst, dp)?;
                        put(Field::TcpFlags, self.slot(Field::TcpFlags))?;
                    }
                    IPPROTO_UDP => {
                        put(Field::UdpSrc, sp)?;
                        put(Field::UdpDst, dp)?;
                    }
                    IPPROTO_SCTP => {
                        put(Field::SctpSrc, sp)?;
                        put(Field::SctpDst, dp)?;
                    }
                    IPPROTO_ICMP if dl_type == ETH_TYPE_IP => {
                        put(Field::Icmpv4Type, exact8(sp))?;
                        put(Field::Icmpv4Code, exact8(dp))?;
                    }
                    IPPROTO_ICMPV6 if dl_type == ETH_TYPE_IPV6 => {
                        put(Field::Icmpv6Type, exact8(sp))?;
                        put(Field::Icmpv6Code, exact8(dp))?;
                        let nd_type = sp.0;
                        if dp.0 == 0 && (nd_type == 135 || nd_type == 136) {
                            put(Field::NdReserved, self.slot(Field::NdReserved))?;
                            put(Field::NdTarget, self.slot(Field::NdTarget))?;
                            // nd_options_type shares OVS's tcp_flags slot.
                            put(Field::NdOptionsType, exact8(self.slot(Field::TcpFlags)))?;
                            if nd_type == 135 {
                                put(Field::NdSll, self.slot(Field::ArpSha))?;
                            } else {
                                put(Field::NdTll, self.slot(Field::ArpTha))?;
                            }
                        }
                    }
                    _ => {}
                }
            }
        } else if dl_type == ETH_TYPE_ARP || dl_type == ETH_TYPE_RARP {
            if proto_mask != 0 {
                put(Field::ArpOp, (proto, 0xffff))?;
            }
            put(Field::ArpSpa, self.slot(Field::Ipv4Src))?;
            put(Field::ArpTpa, self.slot(Field::Ipv4Dst))?;
            put(Field::ArpSha, self.slot(Field::ArpSha))?;
            put(Field::ArpTha, self.slot(Field::ArpTha))?;
        }
        if self.ethernet || (pt_mask != 0 && pt == 0) {
            // Kept by `set` only if no emitted field implies it.
            put(Field::PacketType, (0, 0xffff_ffff))?;
        }
        Ok(out)
    }
}

/// `[]`, `[N]`, or `[A..B]` (and nothing else) → inclusive bit range.
fn parse_bit_range(s: &str, n_bits: u32) -> Option<(u32, u32)> {
    let inner = s.strip_prefix('[')?.strip_suffix(']')?;
    if inner.is_empty() {
        return Some((0, n_bits - 1));
    }
    match inner.split_once("..") {
        Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
        None => {
            let bit = inner.parse().ok()?;
            Some((bit, bit))
        }
    }
}

fn parse_frag(s: &str) -> Result<(u128, u128), ParseError> {
    const FRAGS: [(&str, u128, u128); 5] = [
        ("no", 0, 3),
        ("first", 1, 3),
        ("later", 3, 3),
        ("yes", 1, 1),
        ("not_later", 0, 2),
    ];
    FRAGS
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(s))
        .map(|(_, v, m)| (*v, *m))
        .ok_or_else(|| {
            ParseError::new(format!(
                "{s}: unknown fragment type (valid types are \"no\", \"yes\", \"first\", \"later\", \"not_later\""
            ))
        })
}

/// `(ns,type)`, e.g. `(1,0x800)`.
fn parse_packet_type(s: &str) -> Result<u128, ParseError> {
    let bad = || ParseError::new(format!("{s}: bad syntax for packet type"));
    let inner = s
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(bad)?;
    let (ns, ty) = inner.split_once(',').ok_or_else(bad)?;
    let ns = parse_int(ns.trim(), 2).map_err(|_| bad())?;
    let ty = parse_int(ty.trim(), 2).map_err(|_| bad())?;
    Ok((ns << 16) | ty)
}

/// Splits `s` into `key[=value]` items at top-level commas and whitespace
/// (commas inside parentheses belong to the value). Items carry their byte
/// offset in `s`.
pub(crate) fn split_items(s: &str) -> Vec<(usize, &str)> {
    let mut items = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' | ' ' | '\t' | '\r' | '\n' if depth <= 0 => {
                if i > start {
                    items.push((start, &s[start..i]));
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < s.len() {
        items.push((start, &s[start..]));
    }
    items
}

/// Parses a whole match string; every key must be a match keyword.
pub(crate) fn parse_match(s: &str) -> Result<Match, ParseError> {
    let mut p = MatchParser::new();
    for (pos, item) in split_items(s) {
        // As OVS's ofputil_parse_key_value(): the key ends at the first '='
        // or ':' (`tp_dst:80`); MAC and IPv6 values keep their colons.
        let (key, value) = match item.find(['=', ':']) {
            Some(i) => (&item[..i], Some(&item[i + 1..])),
            None => (item, None),
        };
        if !p.item(key, value).map_err(|e| e.at(pos))? {
            let msg = match value {
                None | Some("") => format!("field {key} missing value"),
                Some(_) => format!("unknown keyword {key}"),
            };
            return Err(ParseError::new(msg).at(pos));
        }
    }
    p.finish()
}
