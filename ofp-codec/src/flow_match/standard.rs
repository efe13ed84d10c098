//! Decoding the OpenFlow 1.1 `struct ofp11_match` (`OFPMT_STANDARD`), which
//! Open vSwitch also accepts inside OpenFlow 1.3 messages.
//!
//! rvs, like OVS, never sends this form: matches are always encoded as OXM.
//! The conversion follows OVS's `ofputil_match_from_ofp11_match()`: wildcard
//! bits select fields, masks are inverted (1 = ignore), network and
//! transport fields count only for the Ethernet types and IP protocols
//! they belong to, and out-of-range values are `OFPBMC_BAD_VALUE` (an ICMP
//! type or code above 255 is `OFPBMC_BAD_FIELD`, as in OVS).

use super::{
    ETH_TYPE_ARP, ETH_TYPE_IP, ETH_TYPE_MPLS, ETH_TYPE_MPLS_MCAST, ETH_TYPE_RARP, IPPROTO_ICMP,
    IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, Match, is_valid_ofp11_port,
};
use crate::error::OfpError;
use crate::field::Field;
use crate::reader::Reader;

/// `OFPMT_STANDARD`: the OpenFlow 1.1 fixed match.
pub const OFPMT_STANDARD: u16 = 0;
/// Length of `struct ofp11_match`, header included.
pub const OFP11_MATCH_LEN: usize = 88;

const OFPFW11_IN_PORT: u16 = 1 << 0;
const OFPFW11_DL_VLAN: u16 = 1 << 1;
const OFPFW11_DL_VLAN_PCP: u16 = 1 << 2;
const OFPFW11_DL_TYPE: u16 = 1 << 3;
const OFPFW11_NW_TOS: u16 = 1 << 4;
const OFPFW11_NW_PROTO: u16 = 1 << 5;
const OFPFW11_TP_SRC: u16 = 1 << 6;
const OFPFW11_TP_DST: u16 = 1 << 7;
const OFPFW11_MPLS_LABEL: u16 = 1 << 8;
const OFPFW11_MPLS_TC: u16 = 1 << 9;
/// `dl_vlan`: any packet with a VLAN tag.
const OFPVID11_ANY: u16 = 0xfffe;
/// `dl_vlan`: only packets without a VLAN tag.
const OFPVID11_NONE: u16 = 0xffff;

const MAC_MASK: u128 = 0xffff_ffff_ffff;

fn mac(b: &[u8]) -> u128 {
    super::be_to_u128(b)
}

/// Decodes the 88 bytes of an `ofp11_match` (type and length included, the
/// caller has checked both).
pub(super) fn decode_ofp11_match(bytes: &[u8]) -> Result<Match, OfpError> {
    let mut r = Reader::new(bytes);
    let short = |_| OfpError::OFPBMC_BAD_LEN;
    r.skip(4).map_err(short)?;
    let in_port = r.u32().map_err(short)?;
    // OVS keeps only the low 16 wildcard bits.
    let wc = r.u32().map_err(short)? as u16;
    let dl_src = mac(r.take(6).map_err(short)?);
    let dl_src_mask = mac(r.take(6).map_err(short)?);
    let dl_dst = mac(r.take(6).map_err(short)?);
    let dl_dst_mask = mac(r.take(6).map_err(short)?);
    let dl_vlan = r.u16().map_err(short)?;
    let dl_vlan_pcp = r.u8().map_err(short)?;
    r.skip(1).map_err(short)?;
    let dl_type = r.u16().map_err(short)?;
    let nw_tos = r.u8().map_err(short)?;
    let nw_proto = r.u8().map_err(short)?;
    let nw_src = r.u32().map_err(short)?;
    let nw_src_mask = r.u32().map_err(short)?;
    let nw_dst = r.u32().map_err(short)?;
    let nw_dst_mask = r.u32().map_err(short)?;
    let tp_src = r.u16().map_err(short)?;
    let tp_dst = r.u16().map_err(short)?;
    let mpls_label = r.u32().map_err(short)?;
    let mpls_tc = r.u8().map_err(short)?;
    r.skip(3).map_err(short)?;
    let metadata = r.u64().map_err(short)?;
    let metadata_mask = r.u64().map_err(short)?;
    r.finish().map_err(short)?;

    let mut m = Match::new();
    let wild = |bit: u16| wc & bit != 0;
    if !wild(OFPFW11_IN_PORT) {
        if !is_valid_ofp11_port(in_port) {
            return Err(OfpError::OFPBMC_BAD_VALUE);
        }
        m.set_exact(Field::InPort, in_port.into())?;
    }
    let (src_mask, dst_mask) = (!dl_src_mask & MAC_MASK, !dl_dst_mask & MAC_MASK);
    if src_mask != 0 || dst_mask != 0 {
        m.set_u128(Field::EthSrc, dl_src & src_mask, Some(src_mask))?;
        m.set_u128(Field::EthDst, dl_dst & dst_mask, Some(dst_mask))?;
    }
    if !wild(OFPFW11_DL_VLAN) {
        let (mut tci, mut mask) = match dl_vlan {
            OFPVID11_NONE => (0u128, 0xffffu128),
            OFPVID11_ANY => (0x1000, 0x1000),
            vid if vid < 4096 => (0x1000 | u128::from(vid), 0x1fff),
            _ => return Err(OfpError::OFPBMC_BAD_VALUE),
        };
        if dl_vlan != OFPVID11_NONE && !wild(OFPFW11_DL_VLAN_PCP) {
            if dl_vlan_pcp > 7 {
                return Err(OfpError::OFPBMC_BAD_VALUE);
            }
            tci |= u128::from(dl_vlan_pcp) << 13;
            mask |= 0xe000;
        }
        m.set_u128(Field::VlanTci, tci, Some(mask))?;
    }
    let dl_type = if wild(OFPFW11_DL_TYPE) {
        0
    } else {
        m.set_exact(Field::EthType, dl_type.into())?;
        dl_type
    };
    let ipv4 = dl_type == ETH_TYPE_IP;
    let arp = dl_type == ETH_TYPE_ARP || dl_type == ETH_TYPE_RARP;
    if ipv4 && !wild(OFPFW11_NW_TOS) {
        if nw_tos & 0x03 != 0 {
            return Err(OfpError::OFPBMC_BAD_VALUE);
        }
        m.set_exact(Field::IpDscp, u128::from(nw_tos >> 2))?;
    }
    let proto = if wild(OFPFW11_NW_PROTO) { 0 } else { nw_proto };
    if ipv4 || arp {
        if !wild(OFPFW11_NW_PROTO) {
            let f = if ipv4 { Field::IpProto } else { Field::ArpOp };
            m.set_exact(f, nw_proto.into())?;
        }
        let (src, dst) = if ipv4 {
            (Field::Ipv4Src, Field::Ipv4Dst)
        } else {
            (Field::ArpSpa, Field::ArpTpa)
        };
        let (sm, dm) = (!nw_src_mask, !nw_dst_mask);
        m.set_u128(src, u128::from(nw_src & sm), Some(sm.into()))?;
        m.set_u128(dst, u128::from(nw_dst & dm), Some(dm.into()))?;
    }
    if ipv4 && !(wild(OFPFW11_TP_SRC) && wild(OFPFW11_TP_DST)) {
        let ports = match proto {
            IPPROTO_ICMP => {
                for (bit, v, f) in [
                    (OFPFW11_TP_SRC, tp_src, Field::Icmpv4Type),
                    (OFPFW11_TP_DST, tp_dst, Field::Icmpv4Code),
                ] {
                    if !wild(bit) {
                        if v >= 0x100 {
                            return Err(OfpError::OFPBMC_BAD_FIELD);
                        }
                        m.set_exact(f, v.into())?;
                    }
                }
                None
            }
            IPPROTO_TCP => Some((Field::TcpSrc, Field::TcpDst)),
            IPPROTO_UDP => Some((Field::UdpSrc, Field::UdpDst)),
            IPPROTO_SCTP => Some((Field::SctpSrc, Field::SctpDst)),
            // OpenFlow 1.1 says to ignore the ports for other protocols.
            _ => None,
        };
        if let Some((src, dst)) = ports {
            if !wild(OFPFW11_TP_SRC) {
                m.set_exact(src, tp_src.into())?;
            }
            if !wild(OFPFW11_TP_DST) {
                m.set_exact(dst, tp_dst.into())?;
            }
        }
    }
    if dl_type == ETH_TYPE_MPLS || dl_type == ETH_TYPE_MPLS_MCAST {
        if !wild(OFPFW11_MPLS_LABEL) {
            m.set_exact(Field::MplsLabel, u128::from(mpls_label & 0xf_ffff))?;
        }
        if !wild(OFPFW11_MPLS_TC) {
            m.set_exact(Field::MplsTc, u128::from(mpls_tc & 0x7))?;
        }
    }
    let md_mask = !metadata_mask;
    m.set_u128(
        Field::Metadata,
        u128::from(metadata & md_mask),
        Some(md_mask.into()),
    )?;
    Ok(m)
}
