//! Field prerequisites, as OVS's `mf_are_prereqs_ok()` checks them when it
//! decodes a match: on flow *values* (an unmatched field counts as 0), with
//! the `ct_state` mask consulted for `-inv`.

use super::{
    ETH_TYPE_ARP, ETH_TYPE_IP, ETH_TYPE_IPV6, ETH_TYPE_MPLS, ETH_TYPE_MPLS_MCAST, ETH_TYPE_RARP,
};
use super::{IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, OFPVID_PRESENT};
use super::{Match, MatchEntry, ct_state as cs};
use crate::error::OfpError;
use crate::field::{Field, Prereq};

const ND_NEIGHBOR_SOLICIT: u128 = 135;
const ND_NEIGHBOR_ADVERT: u128 = 136;
/// `ip_frag` bit: a later (non-first) fragment.
const FRAG_LATER: u128 = 0x2;

impl Match {
    /// Whether `prereq` holds in this match.
    pub fn prereq_ok(&self, prereq: Prereq) -> bool {
        let dl_type = self.flow_value(Field::EthType) as u16;
        let proto = self.flow_value(Field::IpProto) as u8;
        let ip_any = dl_type == ETH_TYPE_IP || dl_type == ETH_TYPE_IPV6;
        let not_later = self.flow_value(Field::IpFrag) & FRAG_LATER == 0;
        let icmpv6 = dl_type == ETH_TYPE_IPV6 && proto == IPPROTO_ICMPV6;
        let nd_type = self.flow_value(Field::Icmpv6Type);
        let nd = icmpv6
            && self.flow_value(Field::Icmpv6Code) == 0
            && (nd_type == ND_NEIGHBOR_SOLICIT || nd_type == ND_NEIGHBOR_ADVERT);
        match prereq {
            Prereq::None => true,
            Prereq::Ethernet => self.flow_value(Field::PacketType) == 0,
            Prereq::Arp => dl_type == ETH_TYPE_ARP || dl_type == ETH_TYPE_RARP,
            Prereq::Ipv4 => dl_type == ETH_TYPE_IP,
            Prereq::Ipv6 => dl_type == ETH_TYPE_IPV6,
            Prereq::IpAny => ip_any,
            Prereq::VlanVid => self.flow_value(Field::VlanVid) as u16 & OFPVID_PRESENT != 0,
            Prereq::Mpls => dl_type == ETH_TYPE_MPLS || dl_type == ETH_TYPE_MPLS_MCAST,
            Prereq::Tcp => ip_any && proto == IPPROTO_TCP && not_later,
            Prereq::Udp => ip_any && proto == IPPROTO_UDP && not_later,
            Prereq::Sctp => ip_any && proto == IPPROTO_SCTP && not_later,
            Prereq::Icmpv4 => dl_type == ETH_TYPE_IP && proto == IPPROTO_ICMP,
            Prereq::Icmpv6 => icmpv6,
            Prereq::Nd => nd,
            Prereq::NdSolicit => nd && nd_type == ND_NEIGHBOR_SOLICIT,
            Prereq::NdAdvert => nd && nd_type == ND_NEIGHBOR_ADVERT,
            Prereq::Ct => {
                let (state, mask) = self
                    .get(Field::CtState)
                    .map(|e| (e.value_u128() as u32, e.mask_u128() as u32))
                    .unwrap_or((0, 0));
                state & (cs::NEW | cs::EST | cs::REL | cs::RPL | cs::SNAT | cs::DNAT) != 0
                    || (state & cs::TRK != 0 && mask & cs::INV != 0 && state & cs::INV == 0)
            }
        }
    }

    /// Checks every field's prerequisites, as OVS does when it decodes a
    /// match: `OFPBMC_BAD_PREREQ` if one does not hold.
    pub fn check_prereqs(&self) -> Result<(), OfpError> {
        match self.iter().find(|e| !self.prereq_ok(e.field.prereq())) {
            Some(_) => Err(OfpError::OFPBMC_BAD_PREREQ),
            None => Ok(()),
        }
    }

    /// The first entry whose prerequisites do not hold, if any (for messages).
    pub fn first_bad_prereq(&self) -> Option<&MatchEntry> {
        self.iter().find(|e| !self.prereq_ok(e.field.prereq()))
    }
}

impl Match {
    /// OVS's FLOW_MOD check (in `ofputil_decode_flow_mod`, after the match
    /// decodes) that conntrack original-direction addresses fit the IP
    /// version: `ct_nw_src`/`ct_nw_dst` need `eth_type=0x0800`,
    /// `ct_ipv6_src`/`ct_ipv6_dst` need `eth_type=0x86dd`. Otherwise
    /// `OFPBAC_MATCH_INCONSISTENT`. Flow-mod decoders call this after
    /// [`Match::decode`].
    pub fn check_ct_tuple_ip_version(&self) -> Result<(), OfpError> {
        let v4 = self.contains(Field::CtNwSrc) || self.contains(Field::CtNwDst);
        let v6 = self.contains(Field::CtIpv6Src) || self.contains(Field::CtIpv6Dst);
        if (v4 && !self.is_ipv4()) || (v6 && !self.is_ipv6()) {
            Err(OfpError::OFPBAC_MATCH_INCONSISTENT)
        } else {
            Ok(())
        }
    }
}

impl Match {
    /// Value and mask of `field` as OVS holds them: like
    /// [`Match::value_mask`], except that `packet_type` reads as Ethernet
    /// (0, exact) when a field with a prerequisite implies it.
    pub fn effective_value_mask(&self, field: Field) -> Option<(u128, u128)> {
        match self.value_mask(field) {
            None if field == Field::PacketType
                && self
                    .iter()
                    .any(|e| e.field.prereq() != crate::field::Prereq::None) =>
            {
                Some((0, 0xffff_ffff))
            }
            other => other,
        }
    }

    /// Whether `self`, as the match of a non-strict FLOW_MOD (MODIFY,
    /// DELETE) or stats request, selects a flow whose match is `rule`:
    /// every bit `self` matches, `rule` matches too, with the same value
    /// (OpenFlow 1.3 §6.4, OVS's loose match). The implied Ethernet packet
    /// type counts as matched.
    pub fn selects_loosely(&self, rule: &Match) -> bool {
        self.iter().all(|c| {
            let (cv, cm) = (c.value_u128(), c.mask_u128());
            match rule.effective_value_mask(c.field) {
                Some((v, m)) => m & cm == cm && v & cm == cv,
                None => false,
            }
        })
    }
}
