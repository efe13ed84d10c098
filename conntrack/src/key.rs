//! Connection keys: the 5-tuple plus zone that identifies one direction of a connection, and the
//! keyed, direction-symmetric hash that places both directions in the same table slot.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::meta::OrigTuple;

pub(crate) const IPPROTO_ICMP: u8 = 1;
pub(crate) const IPPROTO_TCP: u8 = 6;
pub(crate) const IPPROTO_UDP: u8 = 17;
pub(crate) const IPPROTO_ICMPV6: u8 = 58;

/// One direction of a connection.
///
/// IPv4 addresses live in the first 4 bytes of the 16-byte fields (the rest is zero). For ICMP
/// and ICMPv6 echo-like messages `src_port` and `dst_port` both hold the identifier and
/// `icmp_type` the type of a message travelling in this key's direction; for every other protocol
/// without ports (anything but TCP, UDP, ICMP) the ports are zero.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct ConnKey {
    /// Source address.
    pub src: [u8; 16],
    /// Destination address.
    pub dst: [u8; 16],
    /// Source port, or ICMP identifier.
    pub src_port: u16,
    /// Destination port, or ICMP identifier.
    pub dst_port: u16,
    /// Conntrack zone.
    pub zone: u16,
    /// IP protocol.
    pub proto: u8,
    /// True for IPv6 (addresses are then all 16 bytes).
    pub(crate) v6: bool,
    /// ICMP type of a message in this key's direction (0 for non-ICMP).
    pub icmp_type: u8,
}

impl ConnKey {
    /// True for an IPv6 key.
    pub fn is_ipv6(&self) -> bool {
        self.v6
    }

    /// Builds an IPv4 key (tests and flush-by-tuple).
    pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, src_port: u16, dst_port: u16) -> Self {
        let mut k = ConnKey {
            src: [0; 16],
            dst: [0; 16],
            src_port,
            dst_port,
            zone: 0,
            proto,
            v6: false,
            icmp_type: 0,
        };
        k.src[..4].copy_from_slice(&src.octets());
        k.dst[..4].copy_from_slice(&dst.octets());
        k
    }

    /// Builds an IPv6 key (tests and flush-by-tuple).
    pub fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, proto: u8, src_port: u16, dst_port: u16) -> Self {
        ConnKey {
            src: src.octets(),
            dst: dst.octets(),
            src_port,
            dst_port,
            zone: 0,
            proto,
            v6: true,
            icmp_type: 0,
        }
    }

    /// The same key in zone `zone`.
    pub fn with_zone(mut self, zone: u16) -> Self {
        self.zone = zone;
        self
    }

    /// For ICMP keys: the same key with message type `icmp_type` (e.g. 8 for an echo request).
    pub fn with_icmp_type(mut self, icmp_type: u8) -> Self {
        self.icmp_type = icmp_type;
        self
    }

    /// Source address.
    pub fn src_addr(&self) -> IpAddr {
        addr_of(&self.src, self.v6)
    }

    /// Destination address.
    pub fn dst_addr(&self) -> IpAddr {
        addr_of(&self.dst, self.v6)
    }

    pub(crate) fn is_icmp(&self) -> bool {
        (self.proto == IPPROTO_ICMP && !self.v6) || (self.proto == IPPROTO_ICMPV6 && self.v6)
    }

    /// The key of the opposite direction (without NAT).
    pub fn reverse(&self) -> ConnKey {
        let icmp_type = if self.is_icmp() {
            reverse_icmp_type(self.icmp_type, self.v6)
        } else {
            0
        };
        ConnKey {
            src: self.dst,
            dst: self.src,
            src_port: self.dst_port,
            dst_port: self.src_port,
            zone: self.zone,
            proto: self.proto,
            v6: self.v6,
            icmp_type,
        }
    }

    /// The tuple as `ct_nw_src`/`ct_tp_src`… report it (ICMP: type and code in the ports).
    pub fn orig_tuple(&self) -> OrigTuple {
        let (sp, dp) = if self.is_icmp() {
            (u16::from(self.icmp_type), 0)
        } else {
            (self.src_port, self.dst_port)
        };
        OrigTuple {
            src: self.src_addr(),
            dst: self.dst_addr(),
            src_port: sp,
            dst_port: dp,
            proto: self.proto,
        }
    }

    /// A keyed hash that is the same for a key and its reverse, so that one table slot serves
    /// both directions of a connection without NAT.
    pub(crate) fn sym_hash(&self, seed: u64) -> u64 {
        let a = endpoint_hash(&self.src, self.src_port, seed);
        let b = endpoint_hash(&self.dst, self.dst_port, seed);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        // The ICMP type is direction-dependent; the unordered pair {type, reverse(type)} is not,
        // and min/max of it identifies the pair.
        let t = if self.is_icmp() {
            let r = reverse_icmp_type(self.icmp_type, self.v6);
            u64::from(self.icmp_type.min(r)) << 8 | u64::from(self.icmp_type.max(r))
        } else {
            0
        };
        let meta =
            u64::from(self.zone) << 32 | u64::from(self.proto) << 16 | t << 17 | self.v6 as u64;
        fmix(mix(mix(lo ^ seed, hi), meta))
    }
}

fn addr_of(a: &[u8; 16], v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::from(*a))
    } else {
        IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3]))
    }
}

/// The type of the answer to an ICMP query of type `t` (echo ↔ echo reply, timestamp, info);
/// other types map to themselves.
pub(crate) fn reverse_icmp_type(t: u8, v6: bool) -> u8 {
    if v6 {
        match t {
            128 => 129,
            129 => 128,
            x => x,
        }
    } else {
        match t {
            8 => 0,
            0 => 8,
            13 => 14,
            14 => 13,
            15 => 16,
            16 => 15,
            x => x,
        }
    }
}

#[inline]
fn mix(h: u64, x: u64) -> u64 {
    (h ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(29)
}

#[inline]
fn fmix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[inline]
fn endpoint_hash(addr: &[u8; 16], port: u16, seed: u64) -> u64 {
    let w0 = u64::from_le_bytes([
        addr[0], addr[1], addr[2], addr[3], addr[4], addr[5], addr[6], addr[7],
    ]);
    let w1 = u64::from_le_bytes([
        addr[8], addr[9], addr[10], addr[11], addr[12], addr[13], addr[14], addr[15],
    ]);
    fmix(mix(mix(seed ^ u64::from(port), w0), w1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_direction_symmetric_and_zone_sensitive() {
        let k = ConnKey::ipv4(
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 2),
            17,
            1,
            2,
        );
        assert_eq!(k.sym_hash(7), k.reverse().sym_hash(7));
        assert_ne!(k.sym_hash(7), k.with_zone(1).sym_hash(7));
        let i = ConnKey::ipv4(
            Ipv4Addr::new(1, 1, 1, 1),
            Ipv4Addr::new(2, 2, 2, 2),
            1,
            5,
            5,
        )
        .with_icmp_type(8);
        assert_eq!(i.reverse().icmp_type, 0);
        assert_eq!(i.sym_hash(1), i.reverse().sym_hash(1));
        assert_eq!(i.reverse().reverse(), i);
    }
}
