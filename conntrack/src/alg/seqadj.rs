//! TCP sequence-number adjustment after a payload rewrite changed a segment's length.
//!
//! When NAT rewrites the address in an FTP `PORT` command, the segment may grow or shrink by a
//! few bytes. From then on, the sequence numbers the sender uses and the receiver expects
//! differ by the accumulated difference: the sender's later sequence numbers must be moved by
//! it on the way out, and the receiver's acknowledgements (and SACK blocks) moved back on the
//! way in.
//!
//! Each direction keeps the position of its last rewrite and the offsets before and after it
//! (as Linux's `nf_ct_seqadj` does), so a retransmission of a segment sent before the last
//! rewrite still gets the older offset; Open vSwitch keeps one offset and applies it to every
//! later segment, which moves retransmitted earlier data by the wrong amount.

/// `a` is after `b` in sequence space (RFC 1982 serial arithmetic).
#[inline]
pub fn seq_after(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

/// The adjustment state of one direction of a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SeqAdj {
    /// Sequence number (as sent, before adjustment) of the last segment whose length changed.
    pub correction_pos: u32,
    /// Offset for segments starting at or before `correction_pos`.
    pub offset_before: i32,
    /// Offset for segments starting after it.
    pub offset_after: i32,
}

impl SeqAdj {
    /// True once a rewrite changed a length in this direction.
    pub fn is_active(&self) -> bool {
        self.offset_before != 0 || self.offset_after != 0
    }

    /// Records that the segment sent with sequence number `seq` (before adjustment) changed
    /// length by `delta` bytes. A retransmission of an earlier segment (at or before the last
    /// correction) does not move the offsets again.
    pub fn record(&mut self, seq: u32, delta: i32) {
        if delta == 0 {
            return;
        }
        if self.offset_before == self.offset_after || seq_after(seq, self.correction_pos) {
            self.correction_pos = seq;
            self.offset_before = self.offset_after;
            self.offset_after = self.offset_after.wrapping_add(delta);
        }
    }

    /// The sequence number to put in a segment of this direction sent with `seq`.
    pub fn adjust_seq(&self, seq: u32) -> u32 {
        let off = if seq_after(seq, self.correction_pos) {
            self.offset_after
        } else {
            self.offset_before
        };
        seq.wrapping_add(off as u32)
    }

    /// The acknowledgement (or SACK edge) to put in a segment of the *other* direction that
    /// acknowledges this direction's data up to `ack` (in the adjusted space the receiver saw).
    pub fn adjust_ack(&self, ack: u32) -> u32 {
        let off = if seq_after(
            ack.wrapping_sub(self.offset_before as u32),
            self.correction_pos,
        ) {
            self.offset_after
        } else {
            self.offset_before
        };
        ack.wrapping_sub(off as u32)
    }
}

/// Rewrites the sequence number, acknowledgement and SACK blocks of the TCP header `tcp` (at
/// least 20 bytes; options as its data offset says) travelling in direction `dir`, with
/// `adj[dir]` the adjustment of its own data and `adj[1 - dir]` that of the data it
/// acknowledges. Returns true if any byte changed. The caller fixes the checksum.
pub fn adjust_tcp_header(tcp: &mut [u8], own: &SeqAdj, other: &SeqAdj) -> bool {
    if tcp.len() < 20 {
        return false;
    }
    let mut changed = false;
    if own.is_active() {
        let seq = be32(tcp, 4);
        let n = own.adjust_seq(seq);
        if n != seq {
            tcp[4..8].copy_from_slice(&n.to_be_bytes());
            changed = true;
        }
    }
    if other.is_active() {
        let ack_flag = tcp[13] & 0x10 != 0;
        if ack_flag {
            let ack = be32(tcp, 8);
            let n = other.adjust_ack(ack);
            if n != ack {
                tcp[8..12].copy_from_slice(&n.to_be_bytes());
                changed = true;
            }
        }
        let doff = (usize::from(tcp[12] >> 4) * 4).min(tcp.len());
        if doff > 20 {
            changed |= adjust_sack(&mut tcp[20..doff], other);
        }
    }
    changed
}

/// SACK blocks (option 5) acknowledge the other direction's data: moved as acknowledgements.
fn adjust_sack(opts: &mut [u8], other: &SeqAdj) -> bool {
    let mut i = 0;
    let mut changed = false;
    while i < opts.len() {
        match opts[i] {
            0 => break,
            1 => i += 1,
            kind => {
                let Some(&len) = opts.get(i + 1) else { break };
                let len = usize::from(len);
                if len < 2 || i + len > opts.len() {
                    break;
                }
                if kind == 5 && (len - 2) % 8 == 0 {
                    let mut j = i + 2;
                    while j + 4 <= i + len {
                        let v = be32(opts, j);
                        let n = other.adjust_ack(v);
                        if n != v {
                            opts[j..j + 4].copy_from_slice(&n.to_be_bytes());
                            changed = true;
                        }
                        j += 4;
                    }
                }
                i += len;
            }
        }
    }
    changed
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_before_and_after_the_correction() {
        let mut a = SeqAdj::default();
        a.record(1000, 3);
        // The rewritten segment itself keeps the old offset; later ones get the new.
        assert_eq!(a.adjust_seq(1000), 1000);
        assert_eq!(a.adjust_seq(1030), 1033);
        // A retransmission of the rewritten segment does not move the offsets again.
        a.record(1000, 3);
        assert_eq!(a.offset_after, 3);
        a.record(2000, -2);
        assert_eq!((a.offset_before, a.offset_after), (3, 1));
        assert_eq!(a.adjust_seq(1500), 1503);
        // The segment rewritten at 2000 is 20 bytes long as sent: the next one starts at 2020.
        assert_eq!(a.adjust_seq(2020), 2021);
        // Acks in the adjusted space come back to the sender's space.
        assert_eq!(a.adjust_ack(1503), 1500);
        assert_eq!(a.adjust_ack(2003), 2000);
        assert_eq!(a.adjust_ack(2021), 2020);
    }

    #[test]
    fn wraps_around_sequence_space() {
        let mut a = SeqAdj::default();
        a.record(u32::MAX - 1, 5);
        assert_eq!(a.adjust_seq(3), 8);
        assert_eq!(a.adjust_ack(8), 3);
    }
}
