//! TCP window tracking and state machine, with the behaviour of OVS's `conntrack-tcp.c` (which
//! follows Guido van Rooij's "Real Stateful TCP Packet Filtering in IP Filter" as pf does).
//!
//! Each direction ("peer") keeps the highest sequence number sent (`seqlo`), the highest it may
//! send given the other side's acknowledgements and window (`seqhi`), its largest window and its
//! window-scale option. A segment is valid if it lies inside the window; otherwise it is `+inv`
//! and the connection is left untouched.

use crate::parse::{TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG, TcpSeg};
use crate::proto::Update;
use crate::timeout::{TimeoutPolicy, Tm};

/// Largest window-scale shift (RFC 7323).
pub(crate) const TCP_MAX_WSCALE: u8 = 14;
/// The peer sent a window-scale option.
pub(crate) const WSCALE_FLAG: u8 = 0x80;
/// Picked up mid-stream: the scale is unknown, be liberal.
pub(crate) const WSCALE_UNKNOWN: u8 = 0x40;
const WSCALE_MASK: u8 = 0x0f;
/// One full unscaled window plus a fudge factor (as OVS/pf).
const MAX_ACK_WINDOW: i64 = 0xffff + 1500;

/// Per-direction TCP states, numbered as OVS's `CT_DPIF_TCPS_*` (the dump prints these names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum TcpState {
    /// CLOSED.
    Closed = 0,
    /// LISTEN (unused by the tracker, kept for numbering).
    Listen = 1,
    /// SYN_SENT.
    SynSent = 2,
    /// SYN_RECV.
    SynRecv = 3,
    /// ESTABLISHED.
    Established = 4,
    /// CLOSE_WAIT.
    CloseWait = 5,
    /// FIN_WAIT_1.
    FinWait1 = 6,
    /// CLOSING.
    Closing = 7,
    /// LAST_ACK.
    LastAck = 8,
    /// FIN_WAIT_2.
    FinWait2 = 9,
    /// TIME_WAIT.
    TimeWait = 10,
}

impl TcpState {
    /// The name OVS prints.
    pub fn name(self) -> &'static str {
        match self {
            TcpState::Closed => "CLOSED",
            TcpState::Listen => "LISTEN",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::Established => "ESTABLISHED",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::FinWait1 => "FIN_WAIT_1",
            TcpState::Closing => "CLOSING",
            TcpState::LastAck => "LAST_ACK",
            TcpState::FinWait2 => "FIN_WAIT_2",
            TcpState::TimeWait => "TIME_WAIT",
        }
    }

    /// The state a non-verbose dump shows for a connection whose peers are in `a` and `b`:
    /// the larger one, with FIN_WAIT_2 shown as TIME_WAIT and SYN_RECV as ESTABLISHED (OVS
    /// coalesces these so that its output matches the kernel's).
    pub fn coalesced(a: TcpState, b: TcpState) -> TcpState {
        match a.max(b) {
            TcpState::FinWait2 => TcpState::TimeWait,
            TcpState::SynRecv => TcpState::Established,
            s => s,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TcpPeer {
    pub seqlo: u32,
    pub seqhi: u32,
    pub max_win: u16,
    pub wscale: u8,
    pub state: TcpState,
}

/// Both directions of a TCP connection: `[original, reply]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TcpConn {
    pub peer: [TcpPeer; 2],
}

/// Flag combinations that are never valid (OVS's `tcp_invalid_flags`).
pub(crate) fn invalid_flags(flags: u16) -> bool {
    if flags & TCP_SYN != 0 {
        if flags & (TCP_RST | TCP_FIN) != 0 {
            return true;
        }
    } else if flags & (TCP_ACK | TCP_RST) == 0 {
        return true;
    }
    flags & TCP_ACK == 0 && flags & (TCP_FIN | TCP_PSH | TCP_URG) != 0
}

/// May this segment start tracking a connection? A SYN may; a segment of an established stream
/// may (mid-stream pickup, e.g. after a restart); a SYN+ACK may not.
pub(crate) fn valid_new(seg: &TcpSeg) -> bool {
    let syn_ack = seg.flags & (TCP_SYN | TCP_ACK) == TCP_SYN | TCP_ACK;
    !invalid_flags(seg.flags) && !syn_ack
}

#[inline]
fn seq_geq(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) >= 0
}

#[inline]
fn seq_gt(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) > 0
}

impl TcpConn {
    /// State of a connection created by `seg`, and its first deadline.
    pub(crate) fn new(seg: &TcpSeg, policy: &TimeoutPolicy, now_ns: u64) -> (TcpConn, u64) {
        let mut src = TcpPeer {
            seqlo: seg.seq,
            seqhi: seg.seq.wrapping_add(seg.payload_len).wrapping_add(1),
            max_win: 0,
            wscale: 0,
            state: TcpState::SynSent,
        };
        let mut dst = TcpPeer {
            seqlo: 0,
            seqhi: 1,
            max_win: 1,
            wscale: 0,
            state: TcpState::Closed,
        };
        if seg.flags & TCP_SYN != 0 {
            src.seqhi = src.seqhi.wrapping_add(1);
            src.wscale = seg.wscale;
        } else {
            src.wscale = WSCALE_UNKNOWN;
            dst.wscale = WSCALE_UNKNOWN;
        }
        src.max_win = seg.win.max(1);
        if src.wscale & WSCALE_MASK != 0 {
            let sws = u32::from(src.wscale & WSCALE_MASK);
            src.max_win = u32::from(src.max_win).div_ceil(1 << sws) as u16;
        }
        if seg.flags & TCP_FIN != 0 {
            src.seqhi = src.seqhi.wrapping_add(1);
        }
        (
            TcpConn { peer: [src, dst] },
            policy.deadline_ns(Tm::TcpFirstPacket, now_ns),
        )
    }

    /// Runs one segment through the window tracker. `reply` is the direction of the segment.
    /// On `Invalid` nothing has been changed. `deadline` is updated when the state asks for it.
    pub(crate) fn update(
        &mut self,
        seg: &TcpSeg,
        reply: bool,
        seq_check: bool,
        policy: &TimeoutPolicy,
        now_ns: u64,
        deadline: &mut u64,
    ) -> Update {
        let flags = seg.flags;
        if invalid_flags(flags) {
            return Update::Invalid;
        }
        let (si, di) = if reply { (1, 0) } else { (0, 1) };
        // Work on copies so that an invalid segment leaves the connection untouched.
        let mut src = self.peer[si];
        let mut dst = self.peer[di];

        if flags & (TCP_SYN | TCP_ACK) == TCP_SYN {
            if dst.state >= TcpState::FinWait2 && src.state >= TcpState::FinWait2 {
                // A new SYN on a closed connection reuses the tuple: start over.
                self.peer[si].state = TcpState::Closed;
                self.peer[di].state = TcpState::Closed;
                return Update::New;
            } else if src.state <= TcpState::SynSent {
                // Retransmitted SYN (or simultaneous open's first SYN from this side).
                self.peer[si].state = TcpState::SynSent;
                *deadline = policy.deadline_ns(Tm::TcpFirstPacket, now_ns);
                return Update::ValidNew;
            }
        }

        let (mut sws, mut dws) = (0u32, 0u32);
        if src.wscale & WSCALE_FLAG != 0 && dst.wscale & WSCALE_FLAG != 0 && flags & TCP_SYN == 0 {
            sws = u32::from(src.wscale & WSCALE_MASK);
            dws = u32::from(dst.wscale & WSCALE_MASK);
        } else if src.wscale & WSCALE_UNKNOWN != 0
            && dst.wscale & WSCALE_UNKNOWN != 0
            && flags & TCP_SYN == 0
        {
            sws = u32::from(TCP_MAX_WSCALE);
            dws = u32::from(TCP_MAX_WSCALE);
        }

        let mut win = u32::from(seg.win);
        let orig_seq = seg.seq;
        let mut seq = seg.seq;
        let mut ack = seg.ack;
        let mut end;
        let mut check_ackskew = true;

        if src.state < TcpState::SynSent {
            // First segment from this side.
            end = seq.wrapping_add(seg.payload_len);
            if flags & TCP_SYN != 0 {
                end = end.wrapping_add(1);
                if dst.wscale & WSCALE_FLAG != 0 {
                    src.wscale = seg.wscale;
                    if src.wscale & WSCALE_FLAG != 0 {
                        sws = u32::from(src.wscale & WSCALE_MASK);
                        win = win.div_ceil(1 << sws);
                        dws = u32::from(dst.wscale & WSCALE_MASK);
                    } else {
                        // The other side offered scaling, this one did not: no scaling at all.
                        dst.max_win = (u32::from(dst.max_win) << (dst.wscale & WSCALE_MASK)) as u16;
                        dst.wscale = 0;
                    }
                }
            }
            if flags & TCP_FIN != 0 {
                end = end.wrapping_add(1);
            }
            src.seqlo = seq;
            src.state = TcpState::SynSent;
            let span = (u32::from(dst.max_win) << dws).max(1);
            if src.seqhi == 1 || seq_geq(end.wrapping_add(span), src.seqhi) {
                src.seqhi = end.wrapping_add(span);
                // Picking up a connection: do not check the ack skew yet.
                check_ackskew = false;
            }
            if win > u32::from(src.max_win) {
                src.max_win = win as u16;
            }
        } else {
            end = seq.wrapping_add(seg.payload_len);
            if flags & TCP_SYN != 0 {
                end = end.wrapping_add(1);
            }
            if flags & TCP_FIN != 0 {
                end = end.wrapping_add(1);
            }
        }

        if flags & TCP_ACK == 0 || (ack == 0 && flags & (TCP_ACK | TCP_RST) == (TCP_ACK | TCP_RST))
        {
            // No ACK (or a broken stack's RST+ACK with ack 0): let it pass the skew check.
            ack = dst.seqlo;
        }
        if seq == end {
            // No data: ease the sequence restrictions.
            seq = src.seqlo;
            end = seq;
        }

        let ackskew: i64 = if check_ackskew {
            i64::from(dst.seqlo.wrapping_sub(ack) as i32)
        } else {
            0
        };
        let back = u32::from(dst.max_win) << dws;
        let in_window = seq_geq(src.seqhi, end)
            && seq_geq(seq, src.seqlo.wrapping_sub(back))
            && ackskew >= -MAX_ACK_WINDOW
            && ackskew <= (MAX_ACK_WINDOW << sws)
            && (flags & TCP_RST == 0
                || orig_seq == src.seqlo
                || orig_seq == src.seqlo.wrapping_add(1)
                || orig_seq.wrapping_add(1) == src.seqlo);

        let scaled_win = win << sws;
        if in_window || !seq_check {
            if u32::from(src.max_win) < win {
                src.max_win = win as u16;
            }
            if seq_gt(end, src.seqlo) {
                src.seqlo = end;
            }
            if seq_geq(ack.wrapping_add(scaled_win), dst.seqhi) {
                dst.seqhi = ack.wrapping_add(scaled_win.max(1));
            }
            if flags & TCP_SYN != 0 && src.state < TcpState::SynSent {
                src.state = TcpState::SynSent;
            }
            if flags & TCP_FIN != 0 && src.state < TcpState::Closing {
                src.state = TcpState::Closing;
            }
            if flags & TCP_ACK != 0 {
                if dst.state == TcpState::SynSent {
                    dst.state = TcpState::Established;
                } else if dst.state == TcpState::Closing {
                    dst.state = TcpState::FinWait2;
                }
            }
            if flags & TCP_RST != 0 {
                src.state = TcpState::TimeWait;
                dst.state = TcpState::TimeWait;
            }
            let tm = if src.state >= TcpState::FinWait2 && dst.state >= TcpState::FinWait2 {
                Tm::TcpClosed
            } else if src.state >= TcpState::Closing && dst.state >= TcpState::Closing {
                Tm::TcpFinWait
            } else if src.state < TcpState::Established || dst.state < TcpState::Established {
                Tm::TcpOpening
            } else if src.state >= TcpState::Closing || dst.state >= TcpState::Closing {
                Tm::TcpClosing
            } else {
                Tm::TcpEstablished
            };
            *deadline = policy.deadline_ns(tm, now_ns);
        } else if (dst.state < TcpState::SynSent
            || dst.state >= TcpState::FinWait2
            || src.state >= TcpState::FinWait2)
            && seq_geq(src.seqhi.wrapping_add(MAX_ACK_WINDOW as u32), end)
            && seq_geq(seq, src.seqlo.wrapping_sub(MAX_ACK_WINDOW as u32))
        {
            // Loose acceptance: shotgunned SYNs, a stream picked up late, stray segments right
            // after close. The deadline is deliberately not refreshed, so floods cannot keep the
            // entry alive.
            if u32::from(src.max_win) < win {
                src.max_win = win as u16;
            }
            if seq_gt(end, src.seqlo) {
                src.seqlo = end;
            }
            if seq_geq(ack.wrapping_add(scaled_win), dst.seqhi) {
                dst.seqhi = ack.wrapping_add(scaled_win.max(1));
            }
            if flags & TCP_FIN != 0 && src.state < TcpState::Closing {
                src.state = TcpState::Closing;
            }
            if flags & TCP_RST != 0 {
                src.state = TcpState::TimeWait;
                dst.state = TcpState::TimeWait;
            }
        } else {
            return Update::Invalid;
        }
        self.peer[si] = src;
        self.peer[di] = dst;
        Update::Valid
    }
}
