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
/// Packed into 40 bytes that are always written and compared whole (narrow field stores followed
/// by wide loads stall the CPU's store forwarding on the hot path): two addresses as pairs of
/// little-endian `u64` words (an IPv4 address is the low 32 bits of the first word, the rest
/// zero) and one word of metadata: source port, destination port, zone, protocol, IPv6 flag.
/// For ICMP and ICMPv6 echo-like messages the "source port" is the identifier and the
/// "destination port" the type of a message travelling in this key's direction.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct ConnKey {
    src: [u64; 2],
    dst: [u64; 2],
    meta: u64,
}

const META_V6: u64 = 1 << 56;

#[inline]
pub(crate) fn pack_meta(sport: u16, dport: u16, zone: u16, proto: u8, v6: bool) -> u64 {
    u64::from(sport)
        | u64::from(dport) << 16
        | u64::from(zone) << 32
        | u64::from(proto) << 48
        | (v6 as u64) << 56
}

/// An IPv4 address (4 bytes) as key words.
#[inline]
pub(crate) fn addr4(b: [u8; 4]) -> [u64; 2] {
    [u64::from(u32::from_le_bytes(b)), 0]
}

/// An IPv6 address (16 bytes) as key words.
#[inline]
pub(crate) fn addr6(b: &[u8]) -> [u64; 2] {
    let mut l = [0u8; 8];
    let mut h = [0u8; 8];
    l.copy_from_slice(&b[..8]);
    h.copy_from_slice(&b[8..16]);
    [u64::from_le_bytes(l), u64::from_le_bytes(h)]
}

impl ConnKey {
    /// Builds a key from its parts (addresses as produced by `addr4`/`addr6`).
    #[inline]
    pub(crate) fn from_parts(src: [u64; 2], dst: [u64; 2], meta: u64) -> Self {
        ConnKey { src, dst, meta }
    }

    /// True for an IPv6 key.
    pub fn is_ipv6(&self) -> bool {
        self.meta & META_V6 != 0
    }

    /// Builds an IPv4 key (tests and flush-by-tuple). For ICMP use [`ConnKey::icmp4`].
    pub fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, src_port: u16, dst_port: u16) -> Self {
        ConnKey {
            src: addr4(src.octets()),
            dst: addr4(dst.octets()),
            meta: pack_meta(src_port, dst_port, 0, proto, false),
        }
    }

    /// Builds an IPv6 key (tests and flush-by-tuple). For ICMPv6 use [`ConnKey::icmp6`].
    pub fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, proto: u8, src_port: u16, dst_port: u16) -> Self {
        ConnKey {
            src: addr6(&src.octets()),
            dst: addr6(&dst.octets()),
            meta: pack_meta(src_port, dst_port, 0, proto, true),
        }
    }

    /// An ICMP query key: identifier `id`, message type `icmp_type` (e.g. 8 for echo request).
    pub fn icmp4(src: Ipv4Addr, dst: Ipv4Addr, id: u16, icmp_type: u8) -> Self {
        Self::ipv4(src, dst, IPPROTO_ICMP, id, u16::from(icmp_type))
    }

    /// An ICMPv6 query key (type 128 for echo request).
    pub fn icmp6(src: Ipv6Addr, dst: Ipv6Addr, id: u16, icmp_type: u8) -> Self {
        Self::ipv6(src, dst, IPPROTO_ICMPV6, id, u16::from(icmp_type))
    }

    /// The same key in zone `zone`.
    pub fn with_zone(mut self, zone: u16) -> Self {
        self.meta = (self.meta & !(0xffff << 32)) | u64::from(zone) << 32;
        self
    }

    /// Source port, or ICMP identifier.
    pub fn src_port(&self) -> u16 {
        self.meta as u16
    }

    /// Destination port, or ICMP identifier.
    pub fn dst_port(&self) -> u16 {
        if self.is_icmp() {
            self.src_port()
        } else {
            (self.meta >> 16) as u16
        }
    }

    /// ICMP type of a message in this key's direction (0 for other protocols).
    pub fn icmp_type(&self) -> u8 {
        if self.is_icmp() {
            (self.meta >> 16) as u8
        } else {
            0
        }
    }

    /// Conntrack zone.
    pub fn zone(&self) -> u16 {
        (self.meta >> 32) as u16
    }

    /// IP protocol.
    pub fn proto(&self) -> u8 {
        (self.meta >> 48) as u8
    }

    /// Source address bytes in network order (IPv4: the first 4 bytes, the rest zero).
    #[inline]
    pub(crate) fn src_octets(&self) -> [u8; 16] {
        octets(&self.src)
    }

    /// Destination address bytes in network order (IPv4: the first 4 bytes).
    #[inline]
    pub(crate) fn dst_octets(&self) -> [u8; 16] {
        octets(&self.dst)
    }

    /// Source address as key words.
    #[inline]
    pub(crate) fn src_words(&self) -> [u64; 2] {
        self.src
    }

    /// Destination address as key words.
    #[inline]
    pub(crate) fn dst_words(&self) -> [u64; 2] {
        self.dst
    }

    /// The raw metadata word (ports, zone, protocol, IPv6 flag).
    #[inline]
    pub(crate) fn meta_word(&self) -> u64 {
        self.meta
    }

    /// Source address.
    pub fn src_addr(&self) -> IpAddr {
        addr_of(&self.src, self.is_ipv6())
    }

    /// Destination address.
    pub fn dst_addr(&self) -> IpAddr {
        addr_of(&self.dst, self.is_ipv6())
    }

    #[inline]
    pub(crate) fn is_icmp(&self) -> bool {
        let p = self.proto();
        (p == IPPROTO_ICMP && !self.is_ipv6()) || (p == IPPROTO_ICMPV6 && self.is_ipv6())
    }

    #[inline]
    fn reverse_meta(&self) -> u64 {
        let m = self.meta;
        let high = m & !0xffff_ffff;
        if self.is_icmp() {
            let t = reverse_icmp_type((m >> 16) as u8, self.is_ipv6());
            high | u64::from(t) << 16 | (m & 0xffff)
        } else {
            high | (m & 0xffff) << 16 | (m >> 16 & 0xffff)
        }
    }

    /// The key of the opposite direction (without NAT).
    #[inline]
    pub fn reverse(&self) -> ConnKey {
        ConnKey {
            src: self.dst,
            dst: self.src,
            meta: self.reverse_meta(),
        }
    }

    /// The tuple as `ct_nw_src`/`ct_tp_src`… report it (ICMP: type and code in the ports).
    pub fn orig_tuple(&self) -> OrigTuple {
        let (sp, dp) = if self.is_icmp() {
            (u16::from(self.icmp_type()), 0)
        } else {
            (self.src_port(), self.dst_port())
        };
        OrigTuple {
            src: self.src_addr(),
            dst: self.dst_addr(),
            src_port: sp,
            dst_port: dp,
            proto: self.proto(),
        }
    }

    /// True if `other` is this key's reverse (without building it).
    #[inline]
    pub(crate) fn is_reverse_of(&self, other: &ConnKey) -> bool {
        self.src == other.dst && self.dst == other.src && self.meta == other.reverse_meta()
    }

    /// A keyed hash that is the same for a key and its reverse, so that one table slot serves
    /// both directions of a connection without NAT: each endpoint (address, port) is hashed on
    /// its own and the two are combined with a commutative `+` (no data-dependent branch).
    #[inline]
    pub(crate) fn sym_hash(&self, seed: u64) -> u64 {
        let m = self.meta;
        let (sp, dp) = (m & 0xffff, m >> 16 & 0xffff);
        // ICMP: the "ports" are (id, type); the id is the same in both directions and the
        // unordered pair {type, reverse(type)} is direction-independent.
        let (pa, pb, pair) = if self.is_icmp() {
            let t = dp as u8;
            let r = reverse_icmp_type(t, self.is_ipv6());
            (sp, sp, u64::from(t.min(r)) << 8 | u64::from(t.max(r)))
        } else {
            (sp, dp, 0)
        };
        let s2 = seed.rotate_left(32);
        let ep =
            |a: &[u64; 2], p: u64| fold_mul(fold_mul(a[0] ^ seed, a[1] ^ s2 ^ K1) ^ p, s2 ^ K2);
        let x = ep(&self.src, pa).wrapping_add(ep(&self.dst, pb));
        let fixed = (m & !0xffff_ffff) ^ pair;
        // Every multiplier operand depends on the secret seed, so no chosen input zeroes one.
        fold_mul(x ^ fixed, seed ^ K3)
    }
}

const K1: u64 = 0x243f_6a88_85a3_08d3;
const K2: u64 = 0x1319_8a2e_0370_7344;
const K3: u64 = 0xa409_3822_299f_31d0;

/// Folded multiply: high and low halves of the 128-bit product, xored (as foldhash/aHash).
#[inline]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

#[inline]
fn octets(a: &[u64; 2]) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&a[0].to_le_bytes());
    b[8..].copy_from_slice(&a[1].to_le_bytes());
    b
}

fn addr_of(a: &[u64; 2], v6: bool) -> IpAddr {
    if v6 {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&a[0].to_le_bytes());
        b[8..].copy_from_slice(&a[1].to_le_bytes());
        IpAddr::V6(Ipv6Addr::from(b))
    } else {
        IpAddr::V4(Ipv4Addr::from((a[0] as u32).to_le_bytes()))
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
        let i = ConnKey::icmp4(Ipv4Addr::new(1, 1, 1, 1), Ipv4Addr::new(2, 2, 2, 2), 5, 8);
        assert_eq!(i.reverse().icmp_type(), 0);
        assert_eq!((i.src_port(), i.dst_port()), (5, 5));
        assert_eq!(k.reverse().src_port(), 2);
        assert_eq!(k.src_addr().to_string(), "10.0.0.1");
        assert_eq!(i.sym_hash(1), i.reverse().sym_hash(1));
        assert_eq!(i.reverse().reverse(), i);
        assert!(i.reverse().is_reverse_of(&i));
        assert!(!i.is_reverse_of(&i));
        assert!(k.reverse().is_reverse_of(&k));
    }
}
