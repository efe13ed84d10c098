//! The field table: every match/set field rvs knows, in one declarative table.
//!
//! [`Field`] names a field; [`FIELDS`] holds one [`FieldInfo`] row per field
//! with everything the codecs need: the names `ovs-ofctl` accepts, the wire
//! width, whether it can be masked or written by `set_field`, its
//! prerequisites, how its value is spelled in text, and the OXM/NXM header
//! Open vSwitch uses for it on OpenFlow 1.3 plus the other headers OVS accepts
//! for it when decoding.
//!
//! Public API (for actions, messages and text):
//! - [`Field::info`], [`Field::from_name`] (any accepted spelling, e.g.
//!   `nw_src`, `ip_src`, `reg3`, `NXM_NX_REG3`, `OXM_OF_IPV4_SRC`),
//!   [`Field::from_header`] (4-byte OXM/NXM header, mask bit and length
//!   ignored) and [`Field::from_oxm_id`] (also experimenter OXMs),
//!   [`Field::header`] (header OVS emits on OF1.3 for a given mask flag).
//! - [`FieldInfo::width_bytes`] / [`FieldInfo::width_bits`]: wire width and
//!   meaningful bits (what `load`/`move`/`set_field` may touch),
//!   [`FieldInfo::writable`], [`FieldInfo::maskable`], [`FieldInfo::nxm`]
//!   (the NXM header Nicira actions use, if the field has one).
//!
//! Canonical fields: OVS keeps some fields in one storage slot and emits them
//! under one header on OF1.3. [`Field::NwTos`] (NXM_OF_IP_TOS, the unshifted
//! TOS byte), [`Field::VlanTci`] (NXM_OF_VLAN_TCI), [`Field::XReg`] and
//! [`Field::XXReg`] are real fields (actions use them) but a `Match` never
//! stores them: it stores [`Field::IpDscp`], [`Field::VlanVid`] +
//! [`Field::VlanPcp`], and [`Field::Reg`] instead (see `flow_match`).
//!
//! Not supported by Open vSwitch and hence refused like OVS does
//! (`OFPBMC_BAD_FIELD` on the wire, "unknown field" in text):
//! `IN_PHY_PORT`, `PBB_ISID`, `IPV6_EXTHDR`. They are in the enum so that the
//! OF1.3 field list is complete; [`FieldInfo::ovs_supported`] is false.
//! Tunnel metadata (`tun_metadata*`), NSH, ERSPAN and GTP-U fields are not
//! in the table yet.
//!
//! The variant order of [`Field`] is the order in which OVS's `nx_put_raw()`
//! emits fields on OpenFlow 1.3, so sorting by `Field` gives encoding order.

use hashbrown::HashMap;
use std::sync::OnceLock;

/// A field known to rvs. Closed: Open vSwitch refuses fields it does not know
/// (`OFPBMC_BAD_FIELD`), and so does rvs.
///
/// Declaration order is OVS's OF1.3 encoding order (see module docs).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Field {
    /// `packet_type` (OF1.5 OXM 44; OVS also emits it on OF1.3).
    PacketType,
    DpHash,
    RecircId,
    ConjId,
    /// `in_port`: OXM_OF_IN_PORT, a 32-bit OpenFlow 1.1+ port number.
    InPort,
    ActsetOutput,
    EthSrc,
    EthDst,
    EthType,
    /// `vlan_vid`: 13 bits, `0x1000` (OFPVID_PRESENT) plus the 12-bit VID.
    VlanVid,
    VlanPcp,
    MplsTc,
    MplsBos,
    MplsTtl,
    MplsLabel,
    Ipv4Src,
    Ipv4Dst,
    Ipv6Src,
    Ipv6Dst,
    /// `ip_frag` / `nw_frag` (NXM_NX_IP_FRAG): bit 0 any fragment, bit 1 later.
    IpFrag,
    /// `ip_dscp` (OXM, the DSCP shifted down: 0..63). Printed as `nw_tos`.
    IpDscp,
    IpEcn,
    /// `nw_ttl` (NXM_NX_IP_TTL).
    NwTtl,
    Ipv6Label,
    IpProto,
    TcpSrc,
    TcpDst,
    TcpFlags,
    UdpSrc,
    UdpDst,
    SctpSrc,
    SctpDst,
    Icmpv4Type,
    Icmpv4Code,
    Icmpv6Type,
    Icmpv6Code,
    /// `nd_reserved`: the 32-bit reserved word of an ND message (ERICOXM).
    NdReserved,
    NdTarget,
    /// `nd_options_type`: type of the first ND option (ERICOXM).
    NdOptionsType,
    NdSll,
    NdTll,
    ArpOp,
    ArpSpa,
    ArpTpa,
    ArpSha,
    ArpTha,
    /// `tun_id` / `tunnel_id`.
    TunId,
    TunFlags,
    TunSrc,
    TunDst,
    TunIpv6Src,
    TunIpv6Dst,
    TunGbpId,
    TunGbpFlags,
    /// `reg0`..`reg15` (NXM_NX_REG*), 32 bits.
    Reg(u8),
    PktMark,
    CtState,
    CtZone,
    CtMark,
    CtLabel,
    CtNwSrc,
    CtIpv6Src,
    CtNwDst,
    CtIpv6Dst,
    CtNwProto,
    CtTpSrc,
    CtTpDst,
    Metadata,
    // ---- Not stored in a Match (see module docs) ----
    /// `nw_tos` as NXM_OF_IP_TOS: the TOS byte with the ECN bits zero.
    NwTos,
    /// `vlan_tci` (NXM_OF_VLAN_TCI).
    VlanTci,
    /// `xreg0`..`xreg7`: 64-bit, xreg N = reg 2N (high) : reg 2N+1 (low).
    XReg(u8),
    /// `xxreg0`..`xxreg3`: 128-bit, xxreg N = reg 4N .. reg 4N+3.
    XXReg(u8),
    // ---- OF1.3 fields Open vSwitch does not implement ----
    InPhyPort,
    PbbIsid,
    Ipv6Exthdr,
}

/// An OXM or NXM header without its mask bit and length: class, field
/// number, and for experimenter OXMs (class `0xffff`) the experimenter id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct OxmId {
    pub class: u16,
    pub field: u8,
    /// Experimenter id when `class == 0xffff`, else 0.
    pub experimenter: u32,
}

/// OXM class of NXM_OF_* fields.
pub const NXM_OF_CLASS: u16 = 0x0000;
/// OXM class of NXM_NX_* fields.
pub const NXM_NX_CLASS: u16 = 0x0001;
/// OXM class of the OpenFlow 1.2+ basic fields.
pub const OXM_OF_CLASS: u16 = 0x8000;
/// OXM class of the OpenFlow 1.5 packet registers (`xreg`).
pub const OXM_PACKET_REGS_CLASS: u16 = 0x8001;
/// OXM class Ericsson uses for `nd_reserved` and `nd_options_type`.
pub const ERICOXM_CLASS: u16 = 0x1000;
/// OXM class of experimenter fields; an experimenter id follows the header.
pub const OXM_EXPERIMENTER_CLASS: u16 = 0xffff;
/// ONF experimenter id (e.g. `tcp_flags`, `actset_output` on OF1.3).
pub const ONF_EXPERIMENTER_ID: u32 = 0x4f4e_4600;
/// Nicira experimenter id (e.g. `dp_hash` as NXOXM_ET_DP_HASH).
pub const NX_EXPERIMENTER_ID: u32 = 0x0000_2320;

impl OxmId {
    pub const fn new(class: u16, field: u8) -> Self {
        OxmId {
            class,
            field,
            experimenter: 0,
        }
    }

    pub const fn exp(experimenter: u32, field: u8) -> Self {
        OxmId {
            class: OXM_EXPERIMENTER_CLASS,
            field,
            experimenter,
        }
    }

    pub const fn is_experimenter(self) -> bool {
        self.class == OXM_EXPERIMENTER_CLASS
    }

    /// The 32-bit header for a payload of `payload_len` bytes (value, plus
    /// mask if `hasmask`). For experimenter OXMs the length also counts the
    /// 4-byte experimenter id, which follows the header on the wire.
    pub const fn header(self, hasmask: bool, payload_len: u8) -> u32 {
        let len = if self.is_experimenter() {
            payload_len + 4
        } else {
            payload_len
        };
        ((self.class as u32) << 16)
            | (((self.field as u32) & 0x7f) << 9)
            | ((hasmask as u32) << 8)
            | len as u32
    }

    /// Splits a 32-bit header into id (experimenter 0), mask flag, length.
    pub const fn parse_header(header: u32) -> (OxmId, bool, u8) {
        let id = OxmId::new((header >> 16) as u16, ((header >> 9) & 0x7f) as u8);
        (id, header & 0x100 != 0, (header & 0xff) as u8)
    }
}

/// What must hold in a match before a field may be matched (OVS `MFP_*`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Prereq {
    None,
    /// The packet type is Ethernet (always true unless `packet_type` says otherwise).
    Ethernet,
    /// `eth_type` is 0x0806 (ARP) or 0x8035 (RARP).
    Arp,
    Ipv4,
    Ipv6,
    /// IPv4 or IPv6.
    IpAny,
    /// A VLAN header is present (`vlan_vid` has OFPVID_PRESENT set).
    VlanVid,
    /// `eth_type` is 0x8847 or 0x8848.
    Mpls,
    Tcp,
    Udp,
    Sctp,
    Icmpv4,
    Icmpv6,
    /// ICMPv6 neighbour solicitation or advertisement, code 0.
    Nd,
    NdSolicit,
    NdAdvert,
    /// `ct_state` shows a valid connection (`+trk` and one of new/est/rel/rpl/snat/dnat or `-inv`).
    Ct,
}

/// How a field's value is written in `ovs-ofctl` text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ValueFormat {
    Decimal,
    Hex,
    Mac,
    Ipv4,
    Ipv6,
    /// OpenFlow port: a number or LOCAL, CONTROLLER, IN_PORT, ...
    Port,
    /// `ct_state` flags: `+trk-new`, `trk|est`.
    CtState,
    /// `tcp_flags` flags: `+syn-ack`.
    TcpFlags,
    /// `no`, `yes`, `first`, `later`, `not_later`.
    Frag,
    /// `tun_flags` flags: `+oam`.
    TunFlags,
    /// `(ns,type)`.
    PacketType,
}

/// One row of the field table.
#[derive(Clone, Copy, Debug)]
pub struct FieldInfo {
    pub field: Field,
    /// The name `ovs-ofctl` accepts first (OVS's `mf_field.name`).
    pub name: &'static str,
    /// Other accepted spellings (`nw_src` for `ip_src`, OVS's `extra_name`).
    pub aliases: &'static [&'static str],
    /// Width on the wire, in bytes (value only).
    pub width_bytes: u8,
    /// OVS's `n_bits`: the low-order bits `load`/`move`/subfields address
    /// (e.g. 12 for `tcp_flags`, 20 for `mpls_label`, 32 for `ct_state`,
    /// 12 for `vlan_vid` even though the OXM value also carries
    /// OFPVID_PRESENT, bit 12).
    pub width_bits: u16,
    /// May be matched with an arbitrary bitwise mask.
    pub maskable: bool,
    /// May be written by `set_field`/`load`/`move` (OVS "read/write" access).
    pub writable: bool,
    pub prereq: Prereq,
    pub format: ValueFormat,
    /// Header OVS uses for this field on OpenFlow 1.3.
    pub oxm: OxmId,
    /// Further headers OVS accepts when decoding (same width as `oxm`).
    pub alt: &'static [OxmId],
    /// NXM/OXM name as OVS spells it in `load`/`move` (`NXM_NX_REG0`).
    pub nxm_name: &'static str,
    /// False for the OF1.3 fields OVS does not implement.
    pub ovs_supported: bool,
}

impl FieldInfo {
    /// The NXM header (class 0x0000/0x0001) Nicira actions use for this
    /// field, if it has one; otherwise its OXM header.
    pub fn nxm(&self) -> OxmId {
        std::iter::once(&self.oxm)
            .chain(self.alt.iter())
            .find(|id| id.class == NXM_OF_CLASS || id.class == NXM_NX_CLASS)
            .copied()
            .unwrap_or(self.oxm)
    }

    /// All-ones over the meaningful bits, as a big-endian `u128`.
    pub fn value_bits_mask(&self) -> u128 {
        if self.width_bits >= 128 {
            u128::MAX
        } else {
            (1u128 << self.width_bits) - 1
        }
    }
}

const fn oxm(field: u8) -> OxmId {
    OxmId::new(OXM_OF_CLASS, field)
}
const fn nxof(field: u8) -> OxmId {
    OxmId::new(NXM_OF_CLASS, field)
}
const fn eric(field: u8) -> OxmId {
    OxmId::new(ERICOXM_CLASS, field)
}
const fn nx(field: u8) -> OxmId {
    OxmId::new(NXM_NX_CLASS, field)
}

use Prereq as P;
use ValueFormat as V;

#[allow(clippy::too_many_arguments)]
const fn row(
    field: Field,
    name: &'static str,
    aliases: &'static [&'static str],
    width_bytes: u8,
    width_bits: u16,
    maskable: bool,
    writable: bool,
    prereq: Prereq,
    format: ValueFormat,
    oxm: OxmId,
    alt: &'static [OxmId],
    nxm_name: &'static str,
) -> FieldInfo {
    FieldInfo {
        field,
        name,
        aliases,
        width_bytes,
        width_bits,
        maskable,
        writable,
        prereq,
        format,
        oxm,
        alt,
        nxm_name,
        ovs_supported: true,
    }
}

const fn unsupported(
    field: Field,
    name: &'static str,
    width_bytes: u8,
    width_bits: u16,
    id: u8,
    nxm_name: &'static str,
) -> FieldInfo {
    FieldInfo {
        field,
        name,
        aliases: &[],
        width_bytes,
        width_bits,
        maskable: true,
        writable: false,
        prereq: Prereq::None,
        format: ValueFormat::Hex,
        oxm: oxm(id),
        alt: &[],
        nxm_name,
        ovs_supported: false,
    }
}

const REG_NAMES: [&str; 16] = [
    "reg0", "reg1", "reg2", "reg3", "reg4", "reg5", "reg6", "reg7", "reg8", "reg9", "reg10",
    "reg11", "reg12", "reg13", "reg14", "reg15",
];
const REG_NXM_NAMES: [&str; 16] = [
    "NXM_NX_REG0",
    "NXM_NX_REG1",
    "NXM_NX_REG2",
    "NXM_NX_REG3",
    "NXM_NX_REG4",
    "NXM_NX_REG5",
    "NXM_NX_REG6",
    "NXM_NX_REG7",
    "NXM_NX_REG8",
    "NXM_NX_REG9",
    "NXM_NX_REG10",
    "NXM_NX_REG11",
    "NXM_NX_REG12",
    "NXM_NX_REG13",
    "NXM_NX_REG14",
    "NXM_NX_REG15",
];
const XREG_NAMES: [&str; 8] = [
    "xreg0", "xreg1", "xreg2", "xreg3", "xreg4", "xreg5", "xreg6", "xreg7",
];
const XREG_NXM_NAMES: [&str; 8] = [
    "OXM_OF_PKT_REG0",
    "OXM_OF_PKT_REG1",
    "OXM_OF_PKT_REG2",
    "OXM_OF_PKT_REG3",
    "OXM_OF_PKT_REG4",
    "OXM_OF_PKT_REG5",
    "OXM_OF_PKT_REG6",
    "OXM_OF_PKT_REG7",
];
const XXREG_NAMES: [&str; 4] = ["xxreg0", "xxreg1", "xxreg2", "xxreg3"];
const XXREG_NXM_NAMES: [&str; 4] = [
    "NXM_NX_XXREG0",
    "NXM_NX_XXREG1",
    "NXM_NX_XXREG2",
    "NXM_NX_XXREG3",
];

const fn reg_row(n: u8) -> FieldInfo {
    row(
        Field::Reg(n),
        REG_NAMES[n as usize],
        &[],
        4,
        32,
        true,
        true,
        P::None,
        V::Hex,
        nx(n),
        &[],
        REG_NXM_NAMES[n as usize],
    )
}
const fn xreg_row(n: u8) -> FieldInfo {
    row(
        Field::XReg(n),
        XREG_NAMES[n as usize],
        &[],
        8,
        64,
        true,
        true,
        P::None,
        V::Hex,
        OxmId::new(OXM_PACKET_REGS_CLASS, n),
        &[],
        XREG_NXM_NAMES[n as usize],
    )
}
const fn xxreg_row(n: u8) -> FieldInfo {
    row(
        Field::XXReg(n),
        XXREG_NAMES[n as usize],
        &[],
        16,
        128,
        true,
        true,
        P::None,
        V::Hex,
        nx(111 + n),
        &[],
        XXREG_NXM_NAMES[n as usize],
    )
}

/// The field table. One row per field; `Field::info()` indexes it.
#[rustfmt::skip]
pub static FIELDS: &[FieldInfo] = &[
    //  field              name            aliases             bytes bits  mask   write  prereq         format          OF1.3 header   other headers      NXM/OXM name
    row(Field::PacketType, "packet_type", &[],                  4,  32, false, false, P::None,      V::PacketType, oxm(44),       &[],                "OXM_OF_PACKET_TYPE"),
    row(Field::DpHash,     "dp_hash",     &[],                  4,  32, true,  false, P::None,      V::Hex,        nx(35),        &[OxmId::exp(NX_EXPERIMENTER_ID, 0)], "NXM_NX_DP_HASH"),
    row(Field::RecircId,   "recirc_id",   &[],                  4,  32, false, false, P::None,      V::Decimal,    nx(36),        &[],                "NXM_NX_RECIRC_ID"),
    row(Field::ConjId,     "conj_id",     &[],                  4,  32, false, false, P::None,      V::Decimal,    nx(37),        &[],                "NXM_NX_CONJ_ID"),
    row(Field::InPort,     "in_port",     &["in_port_oxm"],     4,  32, false, true,  P::None,      V::Port,       oxm(0),        &[],                "OXM_OF_IN_PORT"),
    row(Field::ActsetOutput,"actset_output",&[],                4,  32, false, false, P::None,      V::Port,       OxmId::exp(ONF_EXPERIMENTER_ID, 43), &[oxm(43)], "ONFOXM_ET_ACTSET_OUTPUT"),
    row(Field::EthSrc,     "eth_src",     &["dl_src"],          6,  48, true,  true,  P::Ethernet,  V::Mac,        oxm(4),        &[nxof(2)],         "NXM_OF_ETH_SRC"),
    row(Field::EthDst,     "eth_dst",     &["dl_dst"],          6,  48, true,  true,  P::Ethernet,  V::Mac,        oxm(3),        &[nxof(1)],         "NXM_OF_ETH_DST"),
    row(Field::EthType,    "eth_type",    &["dl_type"],         2,  16, false, false, P::Ethernet,  V::Hex,        oxm(5),        &[nxof(3)],         "NXM_OF_ETH_TYPE"),
    row(Field::VlanVid,    "vlan_vid",    &[],                  2,  12, true,  true,  P::Ethernet,  V::Decimal,    oxm(6),        &[],                "OXM_OF_VLAN_VID"),
    row(Field::VlanPcp,    "vlan_pcp",    &[],                  1,   3, false, true,  P::VlanVid,   V::Decimal,    oxm(7),        &[],                "OXM_OF_VLAN_PCP"),
    row(Field::MplsTc,     "mpls_tc",     &[],                  1,   3, false, true,  P::Mpls,      V::Decimal,    oxm(35),       &[],                "OXM_OF_MPLS_TC"),
    row(Field::MplsBos,    "mpls_bos",    &[],                  1,   1, false, false, P::Mpls,      V::Decimal,    oxm(36),       &[],                "OXM_OF_MPLS_BOS"),
    row(Field::MplsTtl,    "mpls_ttl",    &[],                  1,   8, false, true,  P::Mpls,      V::Decimal,    nx(30),        &[],                "NXM_NX_MPLS_TTL"),
    row(Field::MplsLabel,  "mpls_label",  &[],                  4,  20, false, true,  P::Mpls,      V::Decimal,    oxm(34),       &[],                "OXM_OF_MPLS_LABEL"),
    row(Field::Ipv4Src,    "ip_src",      &["nw_src"],          4,  32, true,  true,  P::Ipv4,      V::Ipv4,       oxm(11),       &[nxof(7)],         "NXM_OF_IP_SRC"),
    row(Field::Ipv4Dst,    "ip_dst",      &["nw_dst"],          4,  32, true,  true,  P::Ipv4,      V::Ipv4,       oxm(12),       &[nxof(8)],         "NXM_OF_IP_DST"),
    row(Field::Ipv6Src,    "ipv6_src",    &[],                 16, 128, true,  true,  P::Ipv6,      V::Ipv6,       oxm(26),       &[nx(19)],          "NXM_NX_IPV6_SRC"),
    row(Field::Ipv6Dst,    "ipv6_dst",    &[],                 16, 128, true,  true,  P::Ipv6,      V::Ipv6,       oxm(27),       &[nx(20)],          "NXM_NX_IPV6_DST"),
    row(Field::IpFrag,     "ip_frag",     &["nw_frag"],         1,   2, true,  false, P::IpAny,     V::Frag,       nx(26),        &[],                "NXM_NX_IP_FRAG"),
    row(Field::IpDscp,     "ip_dscp",     &[],                  1,   6, false, true,  P::IpAny,     V::Decimal,    oxm(8),        &[],                "OXM_OF_IP_DSCP"),
    row(Field::IpEcn,      "nw_ecn",      &["ip_ecn"],          1,   2, false, true,  P::IpAny,     V::Decimal,    oxm(9),        &[nx(28)],          "NXM_NX_IP_ECN"),
    row(Field::NwTtl,      "nw_ttl",      &[],                  1,   8, false, true,  P::IpAny,     V::Decimal,    nx(29),        &[],                "NXM_NX_IP_TTL"),
    row(Field::Ipv6Label,  "ipv6_label",  &[],                  4,  20, true,  true,  P::Ipv6,      V::Hex,        oxm(28),       &[nx(27)],          "NXM_NX_IPV6_LABEL"),
    row(Field::IpProto,    "nw_proto",    &["ip_proto"],        1,   8, false, false, P::IpAny,     V::Decimal,    oxm(10),       &[nxof(6)],         "NXM_OF_IP_PROTO"),
    row(Field::TcpSrc,     "tcp_src",     &["tp_src"],          2,  16, true,  true,  P::Tcp,       V::Decimal,    oxm(13),       &[nxof(9)],         "NXM_OF_TCP_SRC"),
    row(Field::TcpDst,     "tcp_dst",     &["tp_dst"],          2,  16, true,  true,  P::Tcp,       V::Decimal,    oxm(14),       &[nxof(10)],        "NXM_OF_TCP_DST"),
    row(Field::TcpFlags,   "tcp_flags",   &[],                  2,  12, true,  false, P::Tcp,       V::TcpFlags,   OxmId::exp(ONF_EXPERIMENTER_ID, 42), &[nx(34), oxm(42)], "NXM_NX_TCP_FLAGS"),
    row(Field::UdpSrc,     "udp_src",     &[],                  2,  16, true,  true,  P::Udp,       V::Decimal,    oxm(15),       &[nxof(11)],        "NXM_OF_UDP_SRC"),
    row(Field::UdpDst,     "udp_dst",     &[],                  2,  16, true,  true,  P::Udp,       V::Decimal,    oxm(16),       &[nxof(12)],        "NXM_OF_UDP_DST"),
    row(Field::SctpSrc,    "sctp_src",    &[],                  2,  16, true,  true,  P::Sctp,      V::Decimal,    oxm(17),       &[],                "OXM_OF_SCTP_SRC"),
    row(Field::SctpDst,    "sctp_dst",    &[],                  2,  16, true,  true,  P::Sctp,      V::Decimal,    oxm(18),       &[],                "OXM_OF_SCTP_DST"),
    row(Field::Icmpv4Type, "icmp_type",   &[],                  1,   8, false, true,  P::Icmpv4,    V::Decimal,    oxm(19),       &[nxof(13)],        "NXM_OF_ICMP_TYPE"),
    row(Field::Icmpv4Code, "icmp_code",   &[],                  1,   8, false, true,  P::Icmpv4,    V::Decimal,    oxm(20),       &[nxof(14)],        "NXM_OF_ICMP_CODE"),
    row(Field::Icmpv6Type, "icmpv6_type", &[],                  1,   8, false, true,  P::Icmpv6,    V::Decimal,    oxm(29),       &[nx(21)],          "NXM_NX_ICMPV6_TYPE"),
    row(Field::Icmpv6Code, "icmpv6_code", &[],                  1,   8, false, true,  P::Icmpv6,    V::Decimal,    oxm(30),       &[nx(22)],          "NXM_NX_ICMPV6_CODE"),
    row(Field::NdReserved, "nd_reserved", &[],                  4,  32, false, true,  P::Nd,        V::Decimal,    eric(1),       &[],                "ERICOXM_OF_ICMPV6_ND_RESERVED"),
    row(Field::NdTarget,   "nd_target",   &[],                 16, 128, true,  true,  P::Nd,        V::Ipv6,       oxm(31),       &[nx(23)],          "NXM_NX_ND_TARGET"),
    row(Field::NdOptionsType,"nd_options_type",&[],             1,   8, false, true,  P::Nd,        V::Decimal,    eric(2),       &[],                "ERICOXM_OF_ICMPV6_ND_OPTIONS_TYPE"),
    row(Field::NdSll,      "nd_sll",      &[],                  6,  48, true,  true,  P::NdSolicit, V::Mac,        oxm(32),       &[nx(24)],          "NXM_NX_ND_SLL"),
    row(Field::NdTll,      "nd_tll",      &[],                  6,  48, true,  true,  P::NdAdvert,  V::Mac,        oxm(33),       &[nx(25)],          "NXM_NX_ND_TLL"),
    row(Field::ArpOp,      "arp_op",      &[],                  2,  16, false, true,  P::Arp,       V::Decimal,    oxm(21),       &[nxof(15)],        "NXM_OF_ARP_OP"),
    row(Field::ArpSpa,     "arp_spa",     &[],                  4,  32, true,  true,  P::Arp,       V::Ipv4,       oxm(22),       &[nxof(16)],        "NXM_OF_ARP_SPA"),
    row(Field::ArpTpa,     "arp_tpa",     &[],                  4,  32, true,  true,  P::Arp,       V::Ipv4,       oxm(23),       &[nxof(17)],        "NXM_OF_ARP_TPA"),
    row(Field::ArpSha,     "arp_sha",     &[],                  6,  48, true,  true,  P::Arp,       V::Mac,        oxm(24),       &[nx(17)],          "NXM_NX_ARP_SHA"),
    row(Field::ArpTha,     "arp_tha",     &[],                  6,  48, true,  true,  P::Arp,       V::Mac,        oxm(25),       &[nx(18)],          "NXM_NX_ARP_THA"),
    row(Field::TunId,      "tun_id",      &["tunnel_id"],       8,  64, true,  true,  P::None,      V::Hex,        oxm(38),       &[nx(16)],          "NXM_NX_TUN_ID"),
    row(Field::TunFlags,   "tun_flags",   &[],                  2,   1, true,  true,  P::None,      V::TunFlags,   nx(104),       &[],                "NXM_NX_TUN_FLAGS"),
    row(Field::TunSrc,     "tun_src",     &[],                  4,  32, true,  true,  P::None,      V::Ipv4,       nx(31),        &[],                "NXM_NX_TUN_IPV4_SRC"),
    row(Field::TunDst,     "tun_dst",     &[],                  4,  32, true,  true,  P::None,      V::Ipv4,       nx(32),        &[],                "NXM_NX_TUN_IPV4_DST"),
    row(Field::TunIpv6Src, "tun_ipv6_src",&[],                 16, 128, true,  true,  P::None,      V::Ipv6,       nx(109),       &[],                "NXM_NX_TUN_IPV6_SRC"),
    row(Field::TunIpv6Dst, "tun_ipv6_dst",&[],                 16, 128, true,  true,  P::None,      V::Ipv6,       nx(110),       &[],                "NXM_NX_TUN_IPV6_DST"),
    row(Field::TunGbpId,   "tun_gbp_id",  &[],                  2,  16, true,  true,  P::None,      V::Decimal,    nx(38),        &[],                "NXM_NX_TUN_GBP_ID"),
    row(Field::TunGbpFlags,"tun_gbp_flags",&[],                 1,   8, true,  true,  P::None,      V::Hex,        nx(39),        &[],                "NXM_NX_TUN_GBP_FLAGS"),
    reg_row(0), reg_row(1), reg_row(2), reg_row(3), reg_row(4), reg_row(5), reg_row(6), reg_row(7),
    reg_row(8), reg_row(9), reg_row(10), reg_row(11), reg_row(12), reg_row(13), reg_row(14), reg_row(15),
    row(Field::PktMark,    "pkt_mark",    &[],                  4,  32, true,  true,  P::None,      V::Hex,        nx(33),        &[],                "NXM_NX_PKT_MARK"),
    row(Field::CtState,    "ct_state",    &[],                  4,  32, true,  false, P::None,      V::CtState,    nx(105),       &[],                "NXM_NX_CT_STATE"),
    row(Field::CtZone,     "ct_zone",     &[],                  2,  16, false, false, P::None,      V::Hex,        nx(106),       &[],                "NXM_NX_CT_ZONE"),
    row(Field::CtMark,     "ct_mark",     &[],                  4,  32, true,  true,  P::None,      V::Hex,        nx(107),       &[],                "NXM_NX_CT_MARK"),
    row(Field::CtLabel,    "ct_label",    &[],                 16, 128, true,  true,  P::None,      V::Hex,        nx(108),       &[],                "NXM_NX_CT_LABEL"),
    row(Field::CtNwSrc,    "ct_nw_src",   &[],                  4,  32, true,  false, P::Ct,        V::Ipv4,       nx(120),       &[],                "NXM_NX_CT_NW_SRC"),
    row(Field::CtIpv6Src,  "ct_ipv6_src", &[],                 16, 128, true,  false, P::Ct,        V::Ipv6,       nx(122),       &[],                "NXM_NX_CT_IPV6_SRC"),
    row(Field::CtNwDst,    "ct_nw_dst",   &[],                  4,  32, true,  false, P::Ct,        V::Ipv4,       nx(121),       &[],                "NXM_NX_CT_NW_DST"),
    row(Field::CtIpv6Dst,  "ct_ipv6_dst", &[],                 16, 128, true,  false, P::Ct,        V::Ipv6,       nx(123),       &[],                "NXM_NX_CT_IPV6_DST"),
    row(Field::CtNwProto,  "ct_nw_proto", &[],                  1,   8, false, false, P::Ct,        V::Decimal,    nx(119),       &[],                "NXM_NX_CT_NW_PROTO"),
    row(Field::CtTpSrc,    "ct_tp_src",   &[],                  2,  16, true,  false, P::Ct,        V::Decimal,    nx(124),       &[],                "NXM_NX_CT_TP_SRC"),
    row(Field::CtTpDst,    "ct_tp_dst",   &[],                  2,  16, true,  false, P::Ct,        V::Decimal,    nx(125),       &[],                "NXM_NX_CT_TP_DST"),
    row(Field::Metadata,   "metadata",    &[],                  8,  64, true,  true,  P::None,      V::Hex,        oxm(2),        &[],                "OXM_OF_METADATA"),
    row(Field::NwTos,      "nw_tos",      &[],                  1,   8, false, true,  P::IpAny,     V::Decimal,    nxof(5),       &[],                "NXM_OF_IP_TOS"),
    row(Field::VlanTci,    "vlan_tci",    &[],                  2,  16, true,  true,  P::Ethernet,  V::Hex,        nxof(4),       &[],                "NXM_OF_VLAN_TCI"),
    xreg_row(0), xreg_row(1), xreg_row(2), xreg_row(3), xreg_row(4), xreg_row(5), xreg_row(6), xreg_row(7),
    xxreg_row(0), xxreg_row(1), xxreg_row(2), xxreg_row(3),
    unsupported(Field::InPhyPort, "in_phy_port", 4, 32, 1, "OXM_OF_IN_PHY_PORT"),
    unsupported(Field::PbbIsid, "pbb_isid", 3, 24, 37, "OXM_OF_PBB_ISID"),
    unsupported(Field::Ipv6Exthdr, "ipv6_exthdr", 2, 9, 39, "OXM_OF_IPV6_EXTHDR"),
];

/// Extra NXM/OXM header names accepted by [`Field::from_name`] besides
/// `FieldInfo::nxm_name` (OVS accepts both NXM and OXM spellings).
#[rustfmt::skip]
const EXTRA_HEADER_NAMES: &[(&str, Field)] = &[
    ("OXM_OF_IN_PORT", Field::InPort), ("NXM_OF_IN_PORT", Field::InPort),
    ("OXM_OF_ETH_SRC", Field::EthSrc), ("OXM_OF_ETH_DST", Field::EthDst), ("OXM_OF_ETH_TYPE", Field::EthType),
    ("OXM_OF_IPV4_SRC", Field::Ipv4Src), ("OXM_OF_IPV4_DST", Field::Ipv4Dst),
    ("OXM_OF_IPV6_SRC", Field::Ipv6Src), ("OXM_OF_IPV6_DST", Field::Ipv6Dst), ("OXM_OF_IPV6_FLABEL", Field::Ipv6Label),
    ("OXM_OF_IP_PROTO", Field::IpProto), ("OXM_OF_IP_ECN", Field::IpEcn),
    ("OXM_OF_TCP_SRC", Field::TcpSrc), ("OXM_OF_TCP_DST", Field::TcpDst),
    ("OXM_OF_UDP_SRC", Field::UdpSrc), ("OXM_OF_UDP_DST", Field::UdpDst),
    ("OXM_OF_ICMPV4_TYPE", Field::Icmpv4Type), ("OXM_OF_ICMPV4_CODE", Field::Icmpv4Code),
    ("OXM_OF_ICMPV6_TYPE", Field::Icmpv6Type), ("OXM_OF_ICMPV6_CODE", Field::Icmpv6Code),
    ("OXM_OF_IPV6_ND_TARGET", Field::NdTarget), ("OXM_OF_IPV6_ND_SLL", Field::NdSll), ("OXM_OF_IPV6_ND_TLL", Field::NdTll),
    ("OXM_OF_ARP_OP", Field::ArpOp), ("OXM_OF_ARP_SPA", Field::ArpSpa), ("OXM_OF_ARP_TPA", Field::ArpTpa),
    ("OXM_OF_ARP_SHA", Field::ArpSha), ("OXM_OF_ARP_THA", Field::ArpTha),
    ("OXM_OF_TUNNEL_ID", Field::TunId), ("ONFOXM_ET_TCP_FLAGS", Field::TcpFlags), ("OXM_OF_TCP_FLAGS", Field::TcpFlags),
    ("NXOXM_ET_DP_HASH", Field::DpHash), ("OXM_OF_ACTSET_OUTPUT", Field::ActsetOutput),
];

struct Index {
    /// `FIELDS` position of each field, keyed by `Field::ordinal`.
    by_ordinal: Vec<Option<u16>>,
    /// Every accepted spelling of every field OVS supports.
    by_name: HashMap<&'static str, Field>,
    /// Every accepted header of every field OVS supports.
    by_id: HashMap<OxmId, Field>,
}

fn index() -> &'static Index {
    static INDEX: OnceLock<Index> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut by_ordinal = vec![None; Field::ORDINALS];
        let mut by_name = HashMap::new();
        let mut by_id = HashMap::new();
        for (i, row) in FIELDS.iter().enumerate() {
            by_ordinal[row.field.ordinal()] = Some(i as u16);
            if !row.ovs_supported {
                continue;
            }
            // First spelling wins, as a scan of the table in order would.
            for name in std::iter::once(&row.name)
                .chain(row.aliases)
                .chain([&row.nxm_name])
            {
                by_name.entry(*name).or_insert(row.field);
            }
            for id in std::iter::once(&row.oxm).chain(row.alt) {
                by_id.entry(*id).or_insert(row.field);
            }
        }
        for (name, field) in EXTRA_HEADER_NAMES {
            by_name.entry(*name).or_insert(*field);
        }
        Index {
            by_ordinal,
            by_name,
            by_id,
        }
    })
}

impl Field {
    const ORDINALS: usize = 128;

    /// A dense number for each field, for table indexing.
    fn ordinal(self) -> usize {
        match self {
            Field::Reg(n) => 80 + (n as usize & 15),
            Field::XReg(n) => 96 + (n as usize & 7),
            Field::XXReg(n) => 104 + (n as usize & 3),
            other => unit_ordinal(other),
        }
    }

    /// The table row for this field. Every `Field` value built from the
    /// public constructors (`Reg(0..=15)`, `XReg(0..=7)`, `XXReg(0..=3)`) has
    /// one; out-of-range register numbers alias the register modulo the count.
    pub fn info(self) -> &'static FieldInfo {
        let i = index().by_ordinal[self.ordinal()];
        // Every unit variant and every (masked) register number has a row;
        // the fallback is unreachable but avoids a panic path.
        &FIELDS[i.map(usize::from).unwrap_or(0)]
    }

    /// Looks a field up by any spelling OVS accepts: its name, an alias, or
    /// its NXM/OXM name. Returns None for fields OVS does not implement.
    pub fn from_name(name: &str) -> Option<Field> {
        index().by_name.get(name).copied()
    }

    /// Looks a field up by the names a match item may use in `ovs-ofctl`
    /// flow text: the field's name or alias, not its NXM/OXM name
    /// (`NXM_NX_REG0=5` is an unknown keyword to OVS; `NXM_NX_REG0[]=5` is
    /// a subfield and goes through [`Field::from_name`]).
    pub fn from_ovs_name(name: &str) -> Option<Field> {
        Field::from_name(name).filter(|f| {
            let info = f.info();
            info.name == name || info.aliases.contains(&name)
        })
    }

    /// The field a non-experimenter OXM/NXM header names, ignoring the mask
    /// bit and the length (the caller checks the length against the width).
    pub fn from_header(header: u32) -> Option<Field> {
        let (id, _, _) = OxmId::parse_header(header);
        Field::from_oxm_id(id)
    }

    /// The field an OXM id names (any header OVS accepts for it).
    pub fn from_oxm_id(id: OxmId) -> Option<Field> {
        index().by_id.get(&id).copied()
    }

    /// The 32-bit header OVS emits for this field on OpenFlow 1.3. For
    /// experimenter fields the experimenter id follows on the wire.
    pub fn header(self, hasmask: bool) -> u32 {
        let info = self.info();
        let payload = info.width_bytes * if hasmask { 2 } else { 1 };
        info.oxm.header(hasmask, payload)
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    pub fn width_bytes(self) -> usize {
        self.info().width_bytes as usize
    }

    pub fn width_bits(self) -> u32 {
        self.info().width_bits as u32
    }

    pub fn is_maskable(self) -> bool {
        self.info().maskable
    }

    pub fn is_writable(self) -> bool {
        self.info().writable
    }

    pub fn prereq(self) -> Prereq {
        self.info().prereq
    }
}

/// Declares `UNIT_FIELDS` (every unit, non-register variant) and
/// `unit_ordinal()`, its position there, as a `match` (a jump table).
macro_rules! unit_fields {
    (@arms $f:expr, $n:expr, [$($arms:tt)*]) => {
        match $f { $($arms)* _ => 127 }
    };
    (@arms $f:expr, $n:expr, [$($arms:tt)*] $v:ident $(, $rest:ident)*) => {
        unit_fields!(@arms $f, $n + 1, [$($arms)* Field::$v => $n,] $($rest),*)
    };
    ($($v:ident),* $(,)?) => {
        #[cfg_attr(not(test), allow(dead_code))]
        const UNIT_FIELDS: &[Field] = &[$(Field::$v),*];

        fn unit_ordinal(f: Field) -> usize {
            unit_fields!(@arms f, 0, [] $($v),*)
        }
    };
}

unit_fields! {
    PacketType, DpHash, RecircId, ConjId, InPort, ActsetOutput,
    EthSrc, EthDst, EthType, VlanVid, VlanPcp, MplsTc,
    MplsBos, MplsTtl, MplsLabel, Ipv4Src, Ipv4Dst, Ipv6Src,
    Ipv6Dst, IpFrag, IpDscp, IpEcn, NwTtl, Ipv6Label,
    IpProto, TcpSrc, TcpDst, TcpFlags, UdpSrc, UdpDst,
    SctpSrc, SctpDst, Icmpv4Type, Icmpv4Code, Icmpv6Type, Icmpv6Code,
    NdReserved, NdTarget, NdOptionsType, NdSll, NdTll, ArpOp, ArpSpa, ArpTpa,
    ArpSha, ArpTha, TunId, TunFlags, TunSrc, TunDst,
    TunIpv6Src, TunIpv6Dst, TunGbpId, TunGbpFlags, PktMark, CtState,
    CtZone, CtMark, CtLabel, CtNwSrc, CtIpv6Src, CtNwDst,
    CtIpv6Dst, CtNwProto, CtTpSrc, CtTpDst, Metadata, NwTos,
    VlanTci, InPhyPort, PbbIsid, Ipv6Exthdr,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_reachable_from_its_field_and_rows_are_unique() {
        for row in FIELDS {
            assert_eq!(row.field.info().field, row.field, "{}", row.name);
        }
        let mut seen = std::collections::HashSet::new();
        for row in FIELDS {
            assert!(seen.insert(row.field), "duplicate row {:?}", row.field);
        }
        for (i, f) in UNIT_FIELDS.iter().enumerate() {
            assert_eq!(unit_ordinal(*f), i, "{f:?}");
        }
        // 16 regs + 8 xregs + 4 xxregs + every unit variant.
        assert_eq!(FIELDS.len(), 16 + 8 + 4 + UNIT_FIELDS.len());
        assert!(UNIT_FIELDS.len() < 80);
    }

    #[test]
    fn every_supported_row_round_trips_through_its_names_and_headers() {
        for row in FIELDS.iter().filter(|r| r.ovs_supported) {
            let f = row.field;
            assert_eq!(Field::from_name(row.name), Some(f), "{}", row.name);
            for alias in row.aliases {
                assert_eq!(Field::from_name(alias), Some(f), "{alias}");
            }
            assert_eq!(Field::from_name(row.nxm_name), Some(f), "{}", row.nxm_name);
            for id in std::iter::once(&row.oxm).chain(row.alt) {
                assert_eq!(Field::from_oxm_id(*id), Some(f), "{id:?}");
            }
            assert!(
                row.width_bits as usize <= 8 * row.width_bytes as usize,
                "{}",
                row.name
            );
            assert!(row.width_bytes as usize <= 16);
            let h = f.header(true);
            let (id, hasmask, len) = OxmId::parse_header(h);
            assert!(hasmask);
            assert_eq!(id.class, row.oxm.class);
            let exp = if row.oxm.is_experimenter() { 4 } else { 0 };
            assert_eq!(len as usize, exp + 2 * row.width_bytes as usize);
        }
        for row in FIELDS.iter().filter(|r| !r.ovs_supported) {
            assert_eq!(Field::from_name(row.name), None);
            assert_eq!(Field::from_oxm_id(row.oxm), None);
        }
    }

    #[test]
    fn names_aliases_and_headers_resolve() {
        assert_eq!(Field::from_name("nw_src"), Some(Field::Ipv4Src));
        assert_eq!(Field::from_name("ip_src"), Some(Field::Ipv4Src));
        assert_eq!(Field::from_name("dl_src"), Some(Field::EthSrc));
        assert_eq!(Field::from_name("tp_dst"), Some(Field::TcpDst));
        assert_eq!(Field::from_name("reg7"), Some(Field::Reg(7)));
        assert_eq!(Field::from_name("NXM_NX_REG7"), Some(Field::Reg(7)));
        assert_eq!(Field::from_name("xreg3"), Some(Field::XReg(3)));
        assert_eq!(
            Field::from_name("pbb_isid"),
            None,
            "OVS does not implement it"
        );
        assert_eq!(Field::from_name("foo"), None);
        // ct_state is NXM_NX_CT_STATE: class 1, field 105 (checked with ovs-ofctl).
        assert_eq!(Field::CtState.header(true), 0x0001_d308);
        assert_eq!(Field::from_header(0x0001_d308), Some(Field::CtState));
        assert_eq!(Field::Ipv4Src.header(false), 0x8000_1604);
        assert_eq!(Field::from_header(0x8000_1604), Some(Field::Ipv4Src));
        assert_eq!(
            Field::from_header(0x0000_0e04),
            Some(Field::Ipv4Src),
            "NXM_OF_IP_SRC"
        );
        assert_eq!(Field::TcpFlags.header(true), 0xffff_5508);
        assert_eq!(
            Field::from_header(0x8000_4a08),
            None,
            "PBB_ISID unsupported"
        );
        assert_eq!(Field::Reg(3).info().nxm(), OxmId::new(1, 3));
        assert_eq!(Field::Ipv4Src.info().nxm(), OxmId::new(0, 7));
        assert_eq!(Field::TcpFlags.width_bits(), 12);
        assert!(Field::CtMark.is_writable() && !Field::CtState.is_writable());
    }
}
