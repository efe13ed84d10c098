//! Per-protocol connection state: TCP (see [`crate::tcp`]), ICMP/ICMPv6 queries, and the generic
//! first/multiple/bidirectional machine that UDP and every other IP protocol use (as in OVS's
//! `conntrack-other.c` and `conntrack-icmp.c`).

use crate::key::{ConnKey, IPPROTO_TCP};
use crate::parse::Extracted;
use crate::tcp::TcpConn;
use crate::timeout::{TimeoutPolicy, Tm};

/// Outcome of running a packet through an existing connection's state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Update {
    /// Part of the connection, which is now established: `+est`.
    Valid,
    /// Part of the connection, which is not yet established (no reply seen): `+new`.
    ValidNew,
    /// Not acceptable: `+inv`; the connection is unchanged.
    Invalid,
    /// The old connection is over and this packet starts a new one with the same tuple.
    New,
}

/// Generic protocol states (UDP and others).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OtherState {
    First,
    Multiple,
    Bidir,
}

/// ICMP query states.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IcmpState {
    First,
    Reply,
}

/// The protocol part of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum L4State {
    Tcp(TcpConn),
    Icmp(IcmpState),
    Other(OtherState),
}

/// May the packet `ex` create a connection?
pub(crate) fn valid_new(ex: &Extracted) -> bool {
    let k = &ex.key;
    if k.proto() == IPPROTO_TCP {
        crate::tcp::valid_new(&ex.tcp)
    } else if k.is_icmp() {
        if k.is_ipv6() {
            ex.icmp_type == 128
        } else {
            matches!(ex.icmp_type, 8 | 13 | 15)
        }
    } else {
        true
    }
}

/// Initial state and deadline of a connection created by `ex`.
pub(crate) fn new_state(ex: &Extracted, policy: &TimeoutPolicy, now_ns: u64) -> (L4State, u64) {
    let k: &ConnKey = &ex.key;
    if k.proto() == IPPROTO_TCP {
        let (t, d) = TcpConn::new(&ex.tcp, policy, now_ns);
        (L4State::Tcp(t), d)
    } else if k.is_icmp() {
        (
            L4State::Icmp(IcmpState::First),
            policy.deadline_ns(Tm::IcmpFirst, now_ns),
        )
    } else {
        (
            L4State::Other(OtherState::First),
            policy.deadline_ns(Tm::OtherFirst, now_ns),
        )
    }
}

impl L4State {
    /// Runs `ex` (direction `reply`) through the state machine, updating `deadline`. (One
    /// caller, the per-packet path: inlined there, which LLVM did not always choose to do.)
    #[inline(always)]
    pub(crate) fn update(
        &mut self,
        ex: &Extracted,
        reply: bool,
        seq_check: bool,
        policy: &TimeoutPolicy,
        now_ns: u64,
        deadline: &mut u64,
    ) -> Update {
        match self {
            L4State::Tcp(t) => t.update(&ex.tcp, reply, seq_check, policy, now_ns, deadline),
            L4State::Icmp(s) => {
                let mut res = Update::Valid;
                if reply && *s == IcmpState::First {
                    *s = IcmpState::Reply;
                } else if *s == IcmpState::First {
                    res = Update::ValidNew;
                }
                let tm = match s {
                    IcmpState::First => Tm::IcmpFirst,
                    IcmpState::Reply => Tm::IcmpReply,
                };
                *deadline = policy.deadline_ns(tm, now_ns);
                res
            }
            L4State::Other(s) => {
                if reply && *s != OtherState::Bidir {
                    *s = OtherState::Bidir;
                } else if *s == OtherState::First {
                    *s = OtherState::Multiple;
                }
                let tm = match s {
                    OtherState::First => Tm::OtherFirst,
                    OtherState::Multiple => Tm::OtherMultiple,
                    OtherState::Bidir => Tm::OtherBidir,
                };
                *deadline = policy.deadline_ns(tm, now_ns);
                if *s == OtherState::Bidir {
                    Update::Valid
                } else {
                    Update::ValidNew
                }
            }
        }
    }
}
