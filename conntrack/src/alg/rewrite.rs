//! The packet side of an ALG under NAT: the edit the FTP helper decided for one TCP segment of
//! a control connection ([`AlgEdit`]), applied by the caller after `execute` like the NAT
//! header rewrite (and after it: the checksum is recomputed over the final headers).
//!
//! An edit may
//! * replace the address text of a `PORT`/`227`/`EPRT` message by another address (the text
//!   length may change: the frame is resized through [`FrameBuf::splice`], and the IPv4 total
//!   length and header checksum, or the IPv6 payload length, follow);
//! * move the sequence number by the sender's offset, and the acknowledgement and SACK
//!   blocks back by the offsets of the data they acknowledge ([`super::seqadj`]);
//! * and then recomputes the TCP checksum over the whole segment.
//!
//! Everything is validated before the first byte is written, so a frame that does not hold
//! together is left unchanged (the function returns false).

use std::net::IpAddr;

use super::ftp::{FtpKind, addr_text};
use super::seqadj::SeqAdj;
use crate::key::IPPROTO_TCP;
use crate::nat_rewrite::FrameBuf;

/// Longest address text an edit writes (a full-length IPv6 address).
const MAX_TEXT: usize = 45;

/// Replacement of the address text in the payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TextEdit {
    /// Offset of the text in the frame.
    pub at: u16,
    /// Length of the text being replaced.
    pub old_len: u8,
    /// How to print the address (`PORT`/`227`: comma-separated; otherwise the usual form).
    pub kind: FtpKind,
    /// The address to print.
    pub addr: IpAddr,
}

/// The ALG's edit of one TCP segment (empty edits are never built).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AlgEdit {
    pub(crate) l3_ofs: u16,
    pub(crate) l4_ofs: u16,
    pub(crate) v6: bool,
    pub(crate) text: Option<TextEdit>,
    /// Added to the sequence number.
    pub(crate) seq_off: i32,
    /// The adjustment of the data this segment acknowledges (for its ack and SACK blocks).
    pub(crate) acked: SeqAdj,
}

fn get16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn fold(mut s: u64) -> u16 {
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

impl AlgEdit {
    /// The difference in frame length this edit makes.
    pub fn len_delta(&self) -> isize {
        match &self.text {
            Some(t) => addr_text(t.kind, t.addr).len() as isize - t.old_len as isize,
            None => 0,
        }
    }

    /// Applies the edit to `buf` (the frame given to conntrack, after any NAT header rewrite).
    /// False, with the frame unchanged, if the headers no longer hold together or the buffer
    /// cannot grow.
    pub fn apply(&self, buf: &mut dyn FrameBuf) -> bool {
        self.try_apply(buf).is_some()
    }

    fn try_apply(&self, buf: &mut dyn FrameBuf) -> Option<()> {
        let l3 = usize::from(self.l3_ofs);
        let l4 = usize::from(self.l4_ofs);
        // Validate.
        let (end, doff) = {
            let f = buf.frame();
            let end = if self.v6 {
                l3 + 40 + usize::from(get16(f, l3 + 4)?)
            } else {
                if *f.get(l3 + 9)? != IPPROTO_TCP {
                    return None;
                }
                l3 + usize::from(get16(f, l3 + 2)?)
            };
            let hdr_len = if self.v6 {
                40
            } else {
                usize::from(*f.get(l3)? & 0x0f) * 4
            };
            if end > f.len() || hdr_len < 20 || l4 < l3 + hdr_len || l4 + 20 > end {
                return None;
            }
            let doff = usize::from(f[l4 + 12] >> 4) * 4;
            if doff < 20 || l4 + doff > end {
                return None;
            }
            (end, doff)
        };
        let mut end = end;
        if let Some(t) = &self.text {
            let text = addr_text(t.kind, t.addr);
            if text.len() > MAX_TEXT {
                return None;
            }
            let at = usize::from(t.at);
            let old = usize::from(t.old_len);
            if at < l4 + doff || at + old > end {
                return None;
            }
            let delta = text.len() as isize - old as isize;
            let new_end = end.checked_add_signed(delta)?;
            let ip_len = new_end - if self.v6 { l3 + 40 } else { l3 };
            if ip_len > usize::from(u16::MAX) {
                return None;
            }
            if text.len() != old && !buf.splice(at, old, text.len()) {
                return None;
            }
            let f = buf.frame();
            f[at..at + text.len()].copy_from_slice(text.as_bytes());
            if self.v6 {
                f[l3 + 4..l3 + 6].copy_from_slice(&(ip_len as u16).to_be_bytes());
            } else {
                f[l3 + 2..l3 + 4].copy_from_slice(&(ip_len as u16).to_be_bytes());
                let ihl = usize::from(f[l3] & 0x0f) * 4;
                f[l3 + 10..l3 + 12].copy_from_slice(&[0, 0]);
                let c = !fold(crate::parse::csum_sum(&f[l3..l3 + ihl]));
                f[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
            }
            end = new_end;
        }
        let f = buf.frame();
        let own = SeqAdj {
            correction_pos: 0,
            offset_before: self.seq_off,
            offset_after: self.seq_off,
        };
        super::seqadj::adjust_tcp_header(&mut f[l4..l4 + doff], &own, &self.acked);
        // The TCP checksum over the final pseudo-header and segment.
        f[l4 + 16..l4 + 18].copy_from_slice(&[0, 0]);
        let seg_len = (end - l4) as u64;
        let mut sum = u64::from(IPPROTO_TCP) + seg_len;
        sum += if self.v6 {
            crate::parse::csum_sum(&f[l3 + 8..l3 + 40])
        } else {
            crate::parse::csum_sum(&f[l3 + 12..l3 + 20])
        };
        sum += crate::parse::csum_sum(&f[l4..end]);
        let c = !fold(sum);
        f[l4 + 16..l4 + 18].copy_from_slice(&c.to_be_bytes());
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn frame(payload: &[u8], seq: u32, ack: u32) -> Vec<u8> {
        let mut out = Vec::new();
        etherparse::PacketBuilder::ethernet2([1; 6], [2; 6])
            .ipv4([10, 1, 1, 1], [10, 1, 1, 2], 64)
            .tcp(40000, 21, seq, 1000)
            .ack(ack)
            .write(&mut out, payload)
            .unwrap();
        out
    }

    fn verify(f: &[u8]) -> (u32, u32, Vec<u8>) {
        let p = etherparse::SlicedPacket::from_ethernet(f).unwrap();
        let Some(etherparse::NetSlice::Ipv4(ip)) = p.net else {
            panic!("not ipv4")
        };
        let h = ip.header().to_header();
        assert_eq!(usize::from(h.total_len), f.len() - 14);
        assert_eq!(h.header_checksum, h.calc_header_checksum());
        let Some(etherparse::TransportSlice::Tcp(t)) = p.transport else {
            panic!("not tcp")
        };
        let th = t.to_header();
        let sum = th.calc_checksum_ipv4(&h, t.payload()).unwrap();
        assert_eq!(th.checksum, sum);
        (
            th.sequence_number,
            th.acknowledgment_number,
            t.payload().to_vec(),
        )
    }

    #[test]
    fn text_grows_and_everything_is_recomputed() {
        let mut f = frame(b"PORT 10,1,1,1,156,64\r\n", 1000, 2000);
        let e = AlgEdit {
            l3_ofs: 14,
            l4_ofs: 34,
            v6: false,
            text: Some(TextEdit {
                at: 54 + 5,
                old_len: 8,
                kind: FtpKind::Port,
                addr: IpAddr::V4(Ipv4Addr::new(192, 168, 100, 200)),
            }),
            seq_off: 0,
            acked: SeqAdj::default(),
        };
        assert_eq!(e.len_delta(), 7);
        assert!(e.apply(&mut f));
        let (seq, ack, p) = verify(&f);
        assert_eq!((seq, ack), (1000, 2000));
        assert_eq!(p, b"PORT 192,168,100,200,156,64\r\n");
    }

    #[test]
    fn sequence_and_ack_move_and_checksum_follows() {
        let mut f = frame(b"LIST\r\n", 1000, 2000);
        let mut acked = SeqAdj::default();
        acked.record(1500, 4);
        let e = AlgEdit {
            l3_ofs: 14,
            l4_ofs: 34,
            v6: false,
            text: None,
            seq_off: -3,
            acked,
        };
        assert!(e.apply(&mut f));
        let (seq, ack, p) = verify(&f);
        assert_eq!((seq, ack, p.as_slice()), (997, 1996, &b"LIST\r\n"[..]));
    }

    #[test]
    fn a_frame_that_does_not_hold_together_is_left_alone() {
        let good = frame(b"PORT 10,1,1,1,156,64\r\n", 1, 2);
        let e = AlgEdit {
            l3_ofs: 14,
            l4_ofs: 34,
            v6: false,
            text: Some(TextEdit {
                at: 200,
                old_len: 8,
                kind: FtpKind::Port,
                addr: IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)),
            }),
            seq_off: 5,
            acked: SeqAdj::default(),
        };
        let mut f = good.clone();
        assert!(!e.apply(&mut f));
        assert_eq!(f, good);
        // An IPv4 header length that runs past the L4 offset.
        let mut f = good.clone();
        f[14] = 0x4f;
        let bad = f.clone();
        let ok_text = AlgEdit {
            text: Some(TextEdit {
                at: 54 + 5,
                old_len: 8,
                kind: FtpKind::Port,
                addr: IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)),
            }),
            ..e
        };
        assert!(!ok_text.apply(&mut f));
        assert_eq!(f, bad);
        for cut in [10, 30, 40, 60] {
            let mut f = good[..cut].to_vec();
            assert!(!e.apply(&mut f));
            assert_eq!(f, good[..cut]);
        }
    }
}
