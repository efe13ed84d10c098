//! Turning a packet into a connection key plus the L4 facts the state machines need.
//!
//! Every function here is total: any byte string, any offsets, never a panic. A packet whose
//! headers do not hold together yields `None` and is marked `+trk+inv` by the caller.

use crate::key::{
    ConnKey, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, addr4, addr6, pack_meta,
};
use crate::meta::{CtPacket, CtState, L3};

/// TCP header facts used by the TCP state machine.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TcpSeg {
    pub flags: u16,
    pub seq: u32,
    pub ack: u32,
    pub win: u16,
    pub payload_len: u32,
    /// Window-scale option as OVS encodes it: `0x80 | shift` if present, else 0.
    pub wscale: u8,
}

/// Result of key extraction.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Extracted {
    pub key: ConnKey,
    /// An ICMP error quoting a packet of `key`'s connection (the key is already reversed to the
    /// direction of the ICMP error).
    pub related: bool,
    /// For TCP packets.
    pub tcp: TcpSeg,
    /// Type of the outer ICMP message (for "may this create a connection").
    pub icmp_type: u8,
    /// The packet was already translated by a NAT `ct()` in this zone (its `ct_state` says
    /// `+snat`/`+dnat`): `key` is then the *reverse* of its tuple, which is the key the
    /// connection has for the opposite direction, and a lookup's direction must be flipped
    /// (OVS's `initial_conn_lookup`). [`Extracted::unnatted`] gives the packet's own tuple.
    pub natted: bool,
}

impl Extracted {
    /// The packet's own tuple (undoes the reversal of a `natted` key).
    pub(crate) fn unnatted(&self) -> Extracted {
        let mut e = *self;
        if e.natted {
            e.key = e.key.reverse();
            e.natted = false;
        }
        e
    }
}

pub(crate) const TCP_FIN: u16 = 0x01;
pub(crate) const TCP_SYN: u16 = 0x02;
pub(crate) const TCP_RST: u16 = 0x04;
pub(crate) const TCP_PSH: u16 = 0x08;
pub(crate) const TCP_ACK: u16 = 0x10;
pub(crate) const TCP_URG: u16 = 0x20;

const IPV6_HDR_LEN: usize = 40;
const IPV4_HDR_LEN: usize = 20;

#[inline]
fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

#[inline]
fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// Ones'-complement sum of `data` added to `sum` (not folded).
#[inline]
fn csum_add(mut sum: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_be_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        sum += (w >> 32) + (w & 0xffff_ffff);
    }
    // At most 7 bytes left: a 32-bit word (congruent to its two 16-bit halves' sum), a 16-bit
    // one, a byte (the high half of a last word padded with zero).
    let mut rest = chunks.remainder();
    if let [a, b, c, d, tail @ ..] = rest {
        sum += u64::from(u32::from_be_bytes([*a, *b, *c, *d]));
        rest = tail;
    }
    if let [a, b, tail @ ..] = rest {
        sum += u64::from(u16::from_be_bytes([*a, *b]));
        rest = tail;
    }
    if let Some(&b) = rest.first() {
        sum += u64::from(b) << 8;
    }
    sum
}

/// Ones'-complement sum of `data` (not folded; fold with 16-bit end-around carries).
pub(crate) fn csum_sum(data: &[u8]) -> u64 {
    csum_add(0, data)
}

/// Folds a sum to 16 bits with end-around carries (64 to 32, then 32 to 16 bits: after a
/// carry the low part cannot overflow again), the same value as folding 16 bits at a time.
#[inline]
fn csum_fold(sum: u64) -> u16 {
    let (s, c) = (sum as u32).overflowing_add((sum >> 32) as u32);
    let s = s + u32::from(c);
    let (s, c) = (s as u16).overflowing_add((s >> 16) as u16);
    s + u16::from(c)
}

/// True if the ones'-complement sum over `data` (with `pseudo` already summed) is all ones,
/// i.e. the checksum in it verifies.
#[inline]
fn csum_ok(pseudo: u64, data: &[u8]) -> bool {
    csum_fold(csum_add(pseudo, data)) == 0xffff
}

fn pseudo_v4(l3: &[u8], proto: u8, len: usize) -> u64 {
    csum_add(0, &l3[12..20]) + u64::from(proto) + len as u64
}

fn pseudo_v6(l3: &[u8], proto: u8, len: usize) -> u64 {
    csum_add(0, &l3[8..40]) + u64::from(proto) + len as u64
}

/// Walks IPv6 extension headers starting with next-header `nxt` at `pos`. Returns the upper
/// protocol, its offset and whether a fragment header was seen. `None` if truncated.
pub(crate) fn walk_ipv6_ext(
    data: &[u8],
    mut pos: usize,
    mut nxt: u8,
    end: usize,
) -> Option<(u8, usize, bool)> {
    let mut frag = false;
    // Bounded: each header is at least 8 bytes and `pos` only grows.
    loop {
        match nxt {
            // Hop-by-hop, routing, destination options.
            0 | 43 | 60 => {
                let n = *data.get(pos)?;
                let len = (usize::from(*data.get(pos + 1)?) + 1) * 8;
                if pos + len > end {
                    return None;
                }
                nxt = n;
                pos += len;
            }
            // Authentication header: length in 4-byte units, minus 2.
            51 => {
                let n = *data.get(pos)?;
                let len = (usize::from(*data.get(pos + 1)?) + 2) * 4;
                if pos + len > end {
                    return None;
                }
                nxt = n;
                pos += len;
            }
            44 => {
                let n = *data.get(pos)?;
                if pos + 8 > end {
                    return None;
                }
                frag = true;
                nxt = n;
                pos += 8;
            }
            _ => return Some((nxt, pos, frag)),
        }
    }
}

/// Derives `(l3, l3_ofs, l4_proto, l4_ofs)` from an Ethernet frame.
pub(crate) fn derive_layers(data: &[u8]) -> (L3, u16, u8, u16) {
    let mut ofs = 12usize;
    let mut ethertype = match be16(data, ofs) {
        Some(t) => t,
        None => return (L3::Other, 0, 0, 0),
    };
    let mut tags = 0;
    while (ethertype == 0x8100 || ethertype == 0x88a8) && tags < 2 {
        ofs += 4;
        tags += 1;
        ethertype = match be16(data, ofs) {
            Some(t) => t,
            None => return (L3::Other, 0, 0, 0),
        };
    }
    let l3_ofs = ofs + 2;
    match ethertype {
        0x0800 | 0x86dd => {
            let (l3, proto, l4) = derive_ip_layers(data, l3_ofs);
            (l3, l3_ofs as u16, proto, l4)
        }
        _ => (L3::Other, l3_ofs as u16, 0, 0),
    }
}

/// Derives `(l3, l4_proto, l4_ofs)` for an IP header at `l3_ofs`.
pub(crate) fn derive_ip_layers(data: &[u8], l3_ofs: usize) -> (L3, u8, u16) {
    let Some(&v) = data.get(l3_ofs) else {
        return (L3::Other, 0, 0);
    };
    match v >> 4 {
        4 => {
            let ihl = usize::from(v & 0x0f) * 4;
            match data.get(l3_ofs + 9) {
                Some(&p) if ihl >= IPV4_HDR_LEN => (L3::Ipv4, p, (l3_ofs + ihl) as u16),
                _ => (L3::Other, 0, 0),
            }
        }
        6 => {
            let Some(&nxt) = data.get(l3_ofs + 6) else {
                return (L3::Other, 0, 0);
            };
            match walk_ipv6_ext(data, l3_ofs + IPV6_HDR_LEN, nxt, data.len()) {
                Some((p, pos, _)) => (L3::Ipv6, p, pos as u16),
                None => (L3::Other, 0, 0),
            }
        }
        _ => (L3::Other, 0, 0),
    }
}

/// A key under construction (written field by field, packed once at the end).
#[derive(Clone, Copy)]
struct Tuple {
    src: [u64; 2],
    dst: [u64; 2],
    sport: u16,
    /// ICMP: the message type.
    dport: u16,
    proto: u8,
    v6: bool,
}

impl Tuple {
    fn key(&self, zone: u16) -> ConnKey {
        ConnKey::from_parts(
            self.src,
            self.dst,
            pack_meta(self.sport, self.dport, zone, self.proto, self.v6),
        )
    }
}

/// Extracts the connection key of `pkt` in `zone`. `None` means `+inv`.
#[inline(always)]
pub(crate) fn extract(pkt: &CtPacket<'_>, zone: u16) -> Option<Extracted> {
    let data = pkt.data;
    let l3_ofs = usize::from(pkt.l3_ofs);
    let l4_ofs = usize::from(pkt.l4_ofs);
    let validate = !pkt.checksum_ok;
    let mut t = Tuple {
        src: [0; 2],
        dst: [0; 2],
        sport: 0,
        dport: 0,
        proto: pkt.l4_proto,
        v6: false,
    };
    let (l3, ip_end) = match pkt.l3 {
        L3::Ipv4 => {
            let l3 = data.get(l3_ofs..)?;
            let ihl = l3_ipv4(l3, validate)?;
            let tot_len = usize::from(be16(l3, 2)?);
            if tot_len < ihl || tot_len > l3.len() || l4_ofs != l3_ofs + ihl {
                return None;
            }
            t.src = addr4([l3[12], l3[13], l3[14], l3[15]]);
            t.dst = addr4([l3[16], l3[17], l3[18], l3[19]]);
            (l3, l3_ofs + tot_len)
        }
        L3::Ipv6 => {
            let l3 = data.get(l3_ofs..)?;
            if l3.len() < IPV6_HDR_LEN {
                return None;
            }
            let ip_end = l3_ofs + IPV6_HDR_LEN + usize::from(be16(l3, 4)?);
            if ip_end > data.len() || l4_ofs > ip_end || l4_ofs < l3_ofs + IPV6_HDR_LEN {
                return None;
            }
            if l4_ofs != l3_ofs + IPV6_HDR_LEN {
                // Extension headers present: the caller told us where L4 starts, but a fragment
                // header among them makes the packet untrackable without reassembly.
                let (_, pos, frag) = walk_ipv6_ext(data, l3_ofs + IPV6_HDR_LEN, l3[6], ip_end)?;
                if frag || pos != l4_ofs {
                    return None;
                }
            }
            t.v6 = true;
            t.src = addr6(&l3[8..24]);
            t.dst = addr6(&l3[24..40]);
            (l3, ip_end)
        }
        L3::Other => return None,
    };
    let l4 = data.get(l4_ofs..ip_end)?;
    let mut tcp = TcpSeg::default();
    let mut icmp_type = 0;
    let mut related = false;
    match (pkt.l4_proto, t.v6) {
        (IPPROTO_TCP, _) => {
            tcp = l4_tcp(&mut t, l4, l3, validate)?;
        }
        (IPPROTO_UDP, _) => l4_udp(&mut t, l4, l3, validate)?,
        (IPPROTO_ICMP, false) => {
            if validate && !csum_ok(0, l4) {
                return None;
            }
            icmp_type = *l4.first()?;
            related = l4_icmp4(&mut t, l4, true)?;
        }
        (IPPROTO_ICMPV6, true) => {
            if validate && !csum_ok(pseudo_v6(l3, IPPROTO_ICMPV6, l4.len()), l4) {
                return None;
            }
            icmp_type = *l4.first()?;
            related = l4_icmp6(&mut t, l4, true)?;
        }
        _ => {}
    }
    let key = t.key(zone);
    let key = if related { key.reverse() } else { key };
    let natted = pkt.md.state.0 & (CtState::SRC_NAT.0 | CtState::DST_NAT.0) != 0;
    Some(Extracted {
        key: if natted { key.reverse() } else { key },
        related,
        tcp,
        icmp_type,
        natted,
    })
}

/// Validates an IPv4 header (length, not a fragment, checksum); returns its length.
#[inline(always)]
fn l3_ipv4(l3: &[u8], validate: bool) -> Option<usize> {
    if l3.len() < IPV4_HDR_LEN {
        return None;
    }
    let ihl = usize::from(l3[0] & 0x0f) * 4;
    if ihl < IPV4_HDR_LEN || ihl > l3.len() {
        return None;
    }
    // More-fragments flag or a non-zero offset.
    if be16(l3, 6)? & 0x3fff != 0 {
        return None;
    }
    if validate && !csum_ok(0, &l3[..ihl]) {
        return None;
    }
    Some(ihl)
}

fn tcp_wscale(opts: &[u8]) -> u8 {
    let mut i = 0usize;
    let mut wscale = 0u8;
    while opts.len().saturating_sub(i) >= 3 {
        match opts[i] {
            0 => return wscale,
            1 => i += 1,
            k => {
                if k == 3 {
                    wscale = opts[i + 2].min(crate::tcp::TCP_MAX_WSCALE) | crate::tcp::WSCALE_FLAG;
                }
                i += usize::from(opts[i + 1].max(2));
            }
        }
    }
    wscale
}

fn l4_tcp(t: &mut Tuple, l4: &[u8], l3: &[u8], validate: bool) -> Option<TcpSeg> {
    if l4.len() < 20 {
        return None;
    }
    let doff = usize::from(l4[12] >> 4) * 4;
    if doff < 20 || doff > l4.len() {
        return None;
    }
    if validate {
        let pseudo = if t.v6 {
            pseudo_v6(l3, IPPROTO_TCP, l4.len())
        } else {
            pseudo_v4(l3, IPPROTO_TCP, l4.len())
        };
        if !csum_ok(pseudo, l4) {
            return None;
        }
    }
    t.sport = be16(l4, 0)?;
    t.dport = be16(l4, 2)?;
    if t.sport == 0 || t.dport == 0 {
        return None;
    }
    Some(TcpSeg {
        flags: be16(l4, 12)? & 0x0fff,
        seq: be32(l4, 4)?,
        ack: be32(l4, 8)?,
        win: be16(l4, 14)?,
        payload_len: (l4.len() - doff) as u32,
        wscale: tcp_wscale(&l4[20..doff]),
    })
}

#[inline(always)]
fn l4_udp(t: &mut Tuple, l4: &[u8], l3: &[u8], validate: bool) -> Option<()> {
    if l4.len() < 8 {
        return None;
    }
    let udp_len = usize::from(be16(l4, 4)?);
    if udp_len < 8 || udp_len > l4.len() {
        return None;
    }
    let csum = be16(l4, 6)?;
    // A zero checksum means "none" for IPv4 only; IPv6 requires one.
    if t.v6 && csum == 0 {
        return None;
    }
    if validate && csum != 0 {
        // As OVS's userspace conntrack (`check_l4_udp`): the checksum covers
        // the whole IP payload, not just `udp_len` bytes (OVS's own IPv6
        // fragment test packets say udp_len=8 and checksum all of it).
        let seg = l4;
        let pseudo = if t.v6 {
            pseudo_v6(l3, IPPROTO_UDP, l4.len())
        } else {
            pseudo_v4(l3, IPPROTO_UDP, l4.len())
        };
        if !csum_ok(pseudo, seg) {
            return None;
        }
    }
    t.sport = be16(l4, 0)?;
    t.dport = be16(l4, 2)?;
    if t.sport == 0 || t.dport == 0 {
        return None;
    }
    Some(())
}

/// ICMPv4 body. Returns whether the message is an error quoting another connection (then `t`
/// becomes the quoted packet's tuple; the caller reverses it to the error's direction).
/// `outer` is false inside an error.
fn l4_icmp4(t: &mut Tuple, l4: &[u8], outer: bool) -> Option<bool> {
    if l4.len() < 8 {
        return None;
    }
    let (ty, code) = (l4[0], l4[1]);
    match ty {
        0 | 8 | 13 | 14 | 15 | 16 => {
            if code != 0 {
                return None;
            }
            t.sport = be16(l4, 4)?;
            t.dport = u16::from(ty);
            Some(false)
        }
        3 | 4 | 5 | 11 | 12 if outer => {
            let inner = &l4[8..];
            let ihl = l3_ipv4(inner, false)?;
            let isrc = addr4([inner[12], inner[13], inner[14], inner[15]]);
            if isrc != t.dst {
                return None;
            }
            let mut it = Tuple {
                src: isrc,
                dst: addr4([inner[16], inner[17], inner[18], inner[19]]),
                sport: 0,
                dport: 0,
                proto: inner[9],
                v6: false,
            };
            inner_l4(&mut it, &inner[ihl..], 8)?;
            *t = it;
            Some(true)
        }
        _ => None,
    }
}

/// ICMPv6 body, as [`l4_icmp4`].
fn l4_icmp6(t: &mut Tuple, l4: &[u8], outer: bool) -> Option<bool> {
    if l4.len() < 8 {
        return None;
    }
    let (ty, code) = (l4[0], l4[1]);
    match ty {
        128 | 129 => {
            if code != 0 {
                return None;
            }
            t.sport = be16(l4, 4)?;
            t.dport = u16::from(ty);
            Some(false)
        }
        1..=4 if outer => {
            let inner = &l4[8..];
            if inner.len() < IPV6_HDR_LEN || addr6(&inner[8..24]) != t.dst {
                return None;
            }
            let (proto, pos, frag) = walk_ipv6_ext(inner, IPV6_HDR_LEN, inner[6], inner.len())?;
            if frag {
                return None;
            }
            let mut it = Tuple {
                src: addr6(&inner[8..24]),
                dst: addr6(&inner[24..40]),
                sport: 0,
                dport: 0,
                proto,
                v6: true,
            };
            let min = if proto == IPPROTO_TCP { 20 } else { 8 };
            inner_l4(&mut it, inner.get(pos..)?, min)?;
            *t = it;
            Some(true)
        }
        _ => None,
    }
}

/// The L4 part of a packet quoted in an ICMP error: only the ports/identifier are needed (no
/// checksum, the quote is usually truncated). `min_len` is the bytes required for TCP/UDP.
fn inner_l4(t: &mut Tuple, l4: &[u8], min_len: usize) -> Option<()> {
    match t.proto {
        IPPROTO_TCP | IPPROTO_UDP => {
            if l4.len() < min_len {
                return None;
            }
            t.sport = be16(l4, 0)?;
            t.dport = be16(l4, 2)?;
            (t.sport != 0 && t.dport != 0).then_some(())
        }
        IPPROTO_ICMP if !t.v6 => l4_icmp4(t, l4, false).map(|_| ()),
        IPPROTO_ICMPV6 if t.v6 => l4_icmp6(t, l4, false).map(|_| ()),
        _ => Some(()),
    }
}

/// Internet checksum of `data` (for building test packets).
pub fn internet_checksum(data: &[u8]) -> u16 {
    !csum_fold(csum_add(0, data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_sum_and_fold_equal_a_16_bit_word_reference() {
        fn reference(data: &[u8]) -> u16 {
            let mut sum: u64 = 0;
            for c in data.chunks(2) {
                sum += u64::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
            }
            while sum > 0xffff {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            sum as u16
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for len in 0..80 {
            for fill in [0x00u8, 0xff, 0x5a] {
                // All zeros, all ones (the sums that carry most), random bytes.
                let data: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        if fill == 0x5a { x as u8 } else { fill }
                    })
                    .collect();
                assert_eq!(csum_fold(csum_add(0, &data)), reference(&data), "{data:?}");
            }
        }
        for sum in [
            0,
            0xffff,
            0x1_0000,
            0xffff_ffff,
            0x1_0000_0000,
            u64::MAX,
            u64::MAX - 1,
        ] {
            let mut r = sum;
            while r > 0xffff {
                r = (r & 0xffff) + (r >> 16);
            }
            assert_eq!(u64::from(csum_fold(sum)), r, "{sum:#x}");
        }
    }

    #[test]
    fn checksum_of_ipv4_header_verifies() {
        let hdr: [u8; 20] = [
            0x45, 0, 0, 0x1c, 0, 0, 0, 0, 0x40, 0x11, 0, 0, 10, 1, 1, 1, 10, 1, 1, 2,
        ];
        let mut h = hdr;
        let c = internet_checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        assert!(csum_ok(0, &h));
        h[15] ^= 1;
        assert!(!csum_ok(0, &h));
    }

    #[test]
    fn wscale_option_is_found_and_clamped() {
        assert_eq!(tcp_wscale(&[1, 3, 3, 7]), 0x80 | 7);
        assert_eq!(tcp_wscale(&[3, 3, 20, 0]), 0x80 | 14);
        assert_eq!(tcp_wscale(&[0, 3, 3, 7]), 0);
        assert_eq!(tcp_wscale(&[2, 4, 5, 0xb4, 3, 3, 2, 0]), 0x80 | 2);
        assert_eq!(tcp_wscale(&[5, 0, 0]), 0);
    }
}
