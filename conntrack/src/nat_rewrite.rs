//! The packet side of NAT: a per-packet description of the header rewrite that conntrack
//! decided ([`NatRewrite`], written into [`crate::CtPacket::rewrite`]) and the function that
//! applies it to the frame with incremental checksum updates.
//!
//! Conntrack never writes the packet itself (its input is `&[u8]`, shared by the batch); the
//! caller applies the rewrite after [`crate::Conntrack::execute`] returns:
//!
//! ```text
//!  execute(&mut pkts, opts, now)  ─►  pkts[i].rewrite  ─►  rewrite.apply(&mut frame)
//! ```
//!
//! What is rewritten:
//! * a packet of a NATed connection: the addresses (and TCP/UDP ports) of the translated
//!   side(s) — IPv4 header checksum, TCP/UDP/ICMPv6 checksums (pseudo-header) updated
//!   incrementally (RFC 1624); a UDP checksum of 0 (IPv4: "none") stays 0;
//! * an ICMP/ICMPv6 error quoting a NATed connection: the outer address(es) of the translated
//!   side, and the quoted packet's addresses and ports (its IPv4 header checksum and, when the
//!   quote holds it, its L4 checksum, incrementally); the ICMP checksum is then recomputed
//!   over the whole message.
//!
//! ICMP echo identifiers are not translated (as OVS: NAT of ICMP changes addresses only).

use crate::key::{ConnKey, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP};
use crate::parse::walk_ipv6_ext;

/// Rewrite the packet's source side (address, and port for TCP/UDP).
pub(crate) const RW_SRC: u8 = 1;
/// Rewrite the packet's destination side.
pub(crate) const RW_DST: u8 = 2;
/// The packet is an ICMP error: the sides apply to the outer addresses; the quoted packet is
/// rewritten to the reverse of the target.
pub(crate) const RW_RELATED: u8 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RewriteOp {
    pub what: u8,
    pub l3_ofs: u16,
    pub l4_ofs: u16,
    /// The tuple the packet's (outer) header must carry after the rewrite.
    pub target: ConnKey,
}

/// The header rewrite NAT decided for one packet; empty when the packet is not translated.
/// Fill-in is conntrack's, application the caller's ([`NatRewrite::apply`]).
///
/// The second part is an ALG's edit of the same packet (FTP address in the payload, sequence
/// numbers), applied after the header rewrite (see `alg/rewrite.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NatRewrite(
    pub(crate) Option<RewriteOp>,
    pub(crate) Option<crate::alg::AlgEdit>,
);

/// A fixed-size frame: [`NatRewrite::apply`] can only make edits that keep the length.
struct FixedFrame<'a>(&'a mut [u8]);

impl FrameBuf for FixedFrame<'_> {
    fn frame(&mut self) -> &mut [u8] {
        self.0
    }

    fn splice(&mut self, at: usize, old_len: usize, new_len: usize) -> bool {
        old_len == new_len && at.checked_add(old_len).is_some_and(|e| e <= self.0.len())
    }
}

/// A frame whose length may change, for rewrites that resize the payload (ALG helpers
/// rewriting addresses in FTP commands). Offsets are from the start of the frame.
pub trait FrameBuf {
    /// The frame.
    fn frame(&mut self) -> &mut [u8];
    /// Replaces the `old_len` bytes at `at` by `new_len` bytes (content unspecified), moving
    /// what follows. False (frame unchanged) if the buffer has no room or the range is out of
    /// the frame.
    fn splice(&mut self, at: usize, old_len: usize, new_len: usize) -> bool;
}

impl FrameBuf for Vec<u8> {
    fn frame(&mut self) -> &mut [u8] {
        self
    }

    fn splice(&mut self, at: usize, old_len: usize, new_len: usize) -> bool {
        if at.checked_add(old_len).is_none_or(|e| e > self.len()) {
            return false;
        }
        let tail = self.split_off(at + old_len);
        self.truncate(at);
        self.resize(at + new_len, 0);
        self.extend_from_slice(&tail);
        true
    }
}

impl NatRewrite {
    /// True if there is nothing to rewrite.
    pub fn is_empty(&self) -> bool {
        self.0.is_none() && self.1.is_none()
    }

    /// Adds an ALG's edit (applied after the header rewrite).
    pub(crate) fn set_alg(&mut self, e: crate::alg::AlgEdit) {
        self.1 = Some(e);
    }

    /// Applies the rewrite to `frame` (the same bytes, at the same offsets, that were given to
    /// conntrack as [`crate::CtPacket::data`]). Returns false, leaving the frame unchanged, if
    /// the headers no longer hold together; true otherwise (also when empty).
    /// An ALG edit that changes the frame's length needs [`NatRewrite::apply_buf`]: here it
    /// fails (false).
    pub fn apply(&self, frame: &mut [u8]) -> bool {
        self.apply_buf(&mut FixedFrame(frame))
    }

    /// [`NatRewrite::apply`] on a resizable frame.
    pub fn apply_buf(&self, buf: &mut dyn FrameBuf) -> bool {
        let header = match &self.0 {
            None => true,
            Some(op) => apply_op(op, buf.frame()).is_some(),
        };
        header && self.1.as_ref().is_none_or(|e| e.apply(buf))
    }
}

/// Ones'-complement accumulator of a checksum change (RFC 1624: `HC' = ~(~HC + ~m + m')`).
#[derive(Clone, Copy, Default)]
struct Delta(u64);

impl Delta {
    fn add(&mut self, old: &[u8], new: &[u8]) {
        for (o, n) in old.chunks_exact(2).zip(new.chunks_exact(2)) {
            let o = u16::from_be_bytes([o[0], o[1]]);
            let n = u16::from_be_bytes([n[0], n[1]]);
            self.0 += u64::from(!o) + u64::from(n);
        }
    }

    fn merged(self, other: Delta) -> Delta {
        Delta(self.0 + other.0)
    }

    /// The checksum field `c` updated by this change.
    fn apply(self, c: u16) -> u16 {
        !fold(u64::from(!c) + self.0)
    }
}

fn fold(mut s: u64) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

fn get16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// [`replace`] for a fixed size (the hot path: no length-dependent copy).
#[inline(always)]
fn replace_n<const N: usize>(b: &mut [u8], at: usize, new: [u8; N], d: &mut Delta) {
    if let Ok(old) = <&mut [u8; N]>::try_from(&mut b[at..at + N]) {
        let mut i = 0;
        while i + 1 < N {
            let o = u16::from_be_bytes([old[i], old[i + 1]]);
            let n = u16::from_be_bytes([new[i], new[i + 1]]);
            d.0 += u64::from(!o) + u64::from(n);
            i += 2;
        }
        *old = new;
    }
}

/// An address of the packet's family written at `at`.
#[inline(always)]
fn replace_addr(b: &mut [u8], at: usize, new: &[u8; 16], v6: bool, d: &mut Delta) {
    if v6 {
        replace_n::<16>(b, at, *new, d);
    } else {
        replace_n::<4>(b, at, [new[0], new[1], new[2], new[3]], d);
    }
}

/// Writes `new` at `at` and accounts the change in `d`.
fn replace(b: &mut [u8], at: usize, new: &[u8], d: &mut Delta) {
    let old = &mut b[at..at + new.len()];
    d.add(old, new);
    old.copy_from_slice(new);
}

/// Updates the checksum field at `at` by `d`. `udp`: a zero field means "no checksum" (IPv4)
/// and stays zero; a computed zero is sent as 0xffff.
fn fix_csum(b: &mut [u8], at: usize, d: Delta, udp: bool) {
    let Some(c) = get16(b, at) else {
        return;
    };
    if udp && c == 0 {
        return;
    }
    let mut n = d.apply(c);
    if udp && n == 0 {
        n = 0xffff;
    }
    put16(b, at, n);
}

/// Offsets of an IP header's fields: (source address, destination address, address length).
fn addr_at(l3: usize, v6: bool) -> (usize, usize, usize) {
    if v6 {
        (l3 + 8, l3 + 24, 16)
    } else {
        (l3 + 12, l3 + 16, 4)
    }
}

/// End of the IP packet that starts at `l3` (bounded by the frame).
fn ip_end(frame: &[u8], l3: usize, v6: bool) -> Option<usize> {
    let end = if v6 {
        l3 + 40 + usize::from(get16(frame, l3 + 4)?)
    } else {
        l3 + usize::from(get16(frame, l3 + 2)?)
    };
    (end <= frame.len()).then_some(end)
}

/// The checksum field offset within an L4 header, if the protocol has one that covers the
/// pseudo-header (TCP, UDP, ICMPv6).
fn l4_csum_ofs(proto: u8, v6: bool) -> Option<(usize, usize, bool)> {
    match proto {
        IPPROTO_TCP => Some((16, 18, false)),
        IPPROTO_UDP => Some((6, 8, true)),
        IPPROTO_ICMPV6 if v6 => Some((2, 4, false)),
        _ => None,
    }
}

fn has_ports(proto: u8) -> bool {
    proto == IPPROTO_TCP || proto == IPPROTO_UDP
}

/// [`apply_op`] for the common case, IPv4 TCP or UDP and not an ICMP error, in straight-line
/// code (the same checks, the same result).
#[inline(always)]
fn apply_v4_ports(op: &RewriteOp, frame: &mut [u8], l3: usize, l4: usize) -> Option<()> {
    let t = &op.target;
    let udp = t.proto() == IPPROTO_UDP;
    let csum_at = if udp { 6 } else { 16 };
    let end = l3 + usize::from(get16(frame, l3 + 2)?);
    if end > frame.len() || l3 + 20 > l4 || l4 + csum_at + 2 > end {
        return None;
    }
    let v4 = |w: [u64; 2]| (w[0] as u32).to_le_bytes();
    let mut addr = Delta::default();
    let mut ports = Delta::default();
    if op.what & RW_SRC != 0 {
        replace_n(frame, l3 + 12, v4(t.src_words()), &mut addr);
        replace_n(frame, l4, t.src_port().to_be_bytes(), &mut ports);
    }
    if op.what & RW_DST != 0 {
        replace_n(frame, l3 + 16, v4(t.dst_words()), &mut addr);
        replace_n(frame, l4 + 2, t.dst_port().to_be_bytes(), &mut ports);
    }
    fix_csum(frame, l3 + 10, addr, false);
    fix_csum(frame, l4 + csum_at, addr.merged(ports), udp);
    Some(())
}

fn apply_op(op: &RewriteOp, frame: &mut [u8]) -> Option<()> {
    let t = &op.target;
    let v6 = t.is_ipv6();
    let proto = t.proto();
    let l3 = usize::from(op.l3_ofs);
    let l4 = usize::from(op.l4_ofs);
    if !v6 && op.what & RW_RELATED == 0 && has_ports(proto) {
        return apply_v4_ports(op, frame, l3, l4);
    }
    apply_general(op, frame)
}

/// [`apply_op`] for every case (IPv6, ICMP errors, protocols without ports).
fn apply_general(op: &RewriteOp, frame: &mut [u8]) -> Option<()> {
    let t = &op.target;
    let v6 = t.is_ipv6();
    let proto = t.proto();
    let l3 = usize::from(op.l3_ofs);
    let l4 = usize::from(op.l4_ofs);
    let end = ip_end(frame, l3, v6)?;
    if l4 > end || l3 + if v6 { 40 } else { 20 } > l4 {
        return None;
    }
    let (sa, da, alen) = addr_at(l3, v6);
    let (nsrc, ndst) = (t.src_octets(), t.dst_octets());
    if op.what & RW_RELATED == 0 {
        // Validate everything first so that a failure leaves the frame untouched.
        let csum = l4_csum_ofs(proto, v6);
        if let Some((_, need, _)) = csum
            && l4 + need > end
        {
            return None;
        }
        if has_ports(proto) && l4 + 4 > end {
            return None;
        }
        let mut addr = Delta::default();
        let mut ports = Delta::default();
        if op.what & RW_SRC != 0 {
            replace_addr(frame, sa, &nsrc, v6, &mut addr);
            if has_ports(proto) {
                replace_n(frame, l4, t.src_port().to_be_bytes(), &mut ports);
            }
        }
        if op.what & RW_DST != 0 {
            replace_addr(frame, da, &ndst, v6, &mut addr);
            if has_ports(proto) {
                replace_n(frame, l4 + 2, t.dst_port().to_be_bytes(), &mut ports);
            }
        }
        if !v6 {
            fix_csum(frame, l3 + 10, addr, false);
        }
        if let Some((at, _, udp)) = csum {
            fix_csum(frame, l4 + at, addr.merged(ports), udp);
        }
        return Some(());
    }
    // An ICMP error: locate the quoted packet before touching anything.
    let il3 = l4 + 8;
    if end < il3 + if v6 { 40 } else { 20 } {
        return None;
    }
    let il4 = if v6 {
        let (_, pos, _) = walk_ipv6_ext(frame, il3 + 40, frame[il3 + 6], end)?;
        pos
    } else {
        il3 + usize::from(frame[il3] & 0x0f) * 4
    };
    if il4 > end || (!v6 && il4 < il3 + 20) {
        return None;
    }
    let iproto = if v6 {
        walk_ipv6_ext(frame, il3 + 40, frame[il3 + 6], end)?.0
    } else {
        frame[il3 + 9]
    };
    let iports = has_ports(iproto) && il4 + 4 <= end;
    let (isa, ida, _) = addr_at(il3, v6);
    let mut outer = Delta::default();
    let mut inner = Delta::default();
    let mut inner_ports = Delta::default();
    // The quoted packet travelled the opposite way: it becomes the reverse of the target.
    if op.what & RW_SRC != 0 {
        replace(frame, sa, &nsrc[..alen], &mut outer);
        replace(frame, ida, &nsrc[..alen], &mut inner);
        if iports {
            replace(
                frame,
                il4 + 2,
                &t.src_port().to_be_bytes(),
                &mut inner_ports,
            );
        }
    }
    if op.what & RW_DST != 0 {
        replace(frame, da, &ndst[..alen], &mut outer);
        replace(frame, isa, &ndst[..alen], &mut inner);
        if iports {
            replace(frame, il4, &t.dst_port().to_be_bytes(), &mut inner_ports);
        }
    }
    if !v6 {
        fix_csum(frame, l3 + 10, outer, false);
        fix_csum(frame, il3 + 10, inner, false);
    }
    // The quoted L4 checksum, when the quote is long enough to hold it.
    if let Some((at, need, udp)) = l4_csum_ofs(iproto, v6)
        && il4 + need <= end
    {
        fix_csum(frame, il4 + at, inner.merged(inner_ports), udp);
    }
    // The ICMP checksum covers the whole (changed) message: recompute it.
    put16(frame, l4 + 2, 0);
    let mut sum = 0u64;
    if v6 {
        sum += crate::parse::csum_sum(&frame[l3 + 8..l3 + 40]);
        sum += u64::from(IPPROTO_ICMPV6) + (end - l4) as u64;
    }
    sum += crate::parse::csum_sum(&frame[l4..end]);
    put16(frame, l4 + 2, !fold(sum));
    Some(())
}

#[cfg(test)]
mod fast_path_tests {
    use super::{RW_DST, RW_SRC, RewriteOp, apply_general, apply_v4_ports};
    use crate::key::ConnKey;
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// The IPv4 TCP/UDP fast path does what the general path does: the same frame (or the
        /// same refusal) for any frame bytes, lengths, offsets and targets.
        #[test]
        fn v4_fast_path_matches_the_general_path(
            frame in proptest::collection::vec(any::<u8>(), 0..80),
            tcp in any::<bool>(),
            what in 1u8..4,
            l3 in 0u16..20,
            l4_gap in 0u16..30,
            src in any::<u32>(),
            dst in any::<u32>(),
            sport in any::<u16>(),
            dport in any::<u16>(),
            total_len in proptest::option::of(0u16..80),
        ) {
            let mut frame = frame;
            if let Some(n) = total_len
                && frame.len() >= usize::from(l3) + 4
            {
                frame[usize::from(l3) + 2..usize::from(l3) + 4].copy_from_slice(&n.to_be_bytes());
            }
            let proto = if tcp { 6 } else { 17 };
            let op = RewriteOp {
                what: what & (RW_SRC | RW_DST),
                l3_ofs: l3,
                l4_ofs: l3 + l4_gap,
                target: ConnKey::ipv4(Ipv4Addr::from(src), Ipv4Addr::from(dst), proto, sport, dport),
            };
            let (mut a, mut b) = (frame.clone(), frame);
            // The general path indexes the frame after its own checks; it must not panic here.
            let ra = apply_v4_ports(&op, &mut a, usize::from(l3), usize::from(op.l4_ofs));
            let rb = apply_general(&op, &mut b);
            prop_assert_eq!(ra, rb);
            prop_assert_eq!(a, b);
        }
    }
}
