//! Application-layer gateways (`ct(alg=ftp)`, `ct(alg=tftp)`): helpers that read a control
//! connection's payload, announce the data connections it negotiates as *expectations*, and
//! (with NAT) rewrite the addresses in the payload.
//!
//! ```text
//!  control connection (helper set at commit)        data connection (first packet)
//!  ─────────────────────────────────────────        ──────────────────────────────
//!  existing(): state update, then helper:           not_found(): expectation lookup
//!    ftp: parse PORT/EPRT/227/229 ─► announce ──►   expect.rs table ──► +new+rel, parent's
//!    tftp: any request ───────────► announce         mark/label, orig tuple = parent's;
//!    (NAT: rewrite address, seq adjust)              consumed when committed
//! ```
//!
//! * [`ftp`]: the message parser (total; split or malformed messages are ignored).
//! * [`seqadj`]: sequence-number adjustment once a rewrite changed a segment's length.
//! * `expect`: the expectation table; `tftp`: the TFTP expectation.
//!
//! Differences from Open vSwitch 3.1's userspace helpers, all deliberate:
//! * a malformed or split message is ignored; OVS adds `+inv` to the segment, which makes a
//!   firewall drop a legitimate TCP segment that happens to be cut in the middle of a command;
//! * commands are only taken from the client and `227`/`229` only from the server (as the
//!   Linux helper does); OVS accepts either from either side;
//! * `EPRT` and `229` work on IPv4 control connections too (OVS parses them only on IPv6);
//! * an expectation is consumed by the connection it creates, and a parent keeps at most
//!   four (`MAX_PER_PARENT`); OVS keeps every expectation until the parent goes;
//! * the helper runs on every packet of a connection committed with an ALG, whichever port
//!   the server uses; OVS parses a packet only if its own `ct()` says `alg=` or a port is 21
//!   (FTP) / 69 (TFTP);
//! * sequence adjustment keeps offsets before and after the last rewrite (see [`seqadj`]);
//! * a TFTP expectation behind a SNAT that changed the client's port expects the translated
//!   port and translates the answer back to the original one (OVS expects the untranslated
//!   port, which the server never answers).
//!
//! With NAT on the control connection and `nat` in the data connection's committing `ct()`,
//! the data connection gets the translation its expectation carries (`DataNat`, as OVS's
//! `expectation_create`): e.g. behind SNAT, an active-mode data connection from the server to
//! the translated address is destination-translated back to the client.

pub mod ftp;
pub mod seqadj;

pub(crate) mod expect;
mod rewrite;
mod tftp;
mod track;

use std::net::IpAddr;
use std::ops::Range;

use parking_lot::Mutex;

use crate::key::{ConnKey, IPPROTO_TCP};
use crate::nat::NatKind;
pub(crate) use expect::{Expectations, Recent};
use ftp::{FtpCtl, FtpKind};
pub use rewrite::AlgEdit;
pub(crate) use rewrite::TextEdit;
pub use seqadj::SeqAdj;
pub(crate) use track::{conn_ext, expected_md, inherit_md, parent_of, tracked_seg};

/// Per-connection ALG state, boxed in the entry's [`crate::table::ConnExt`] (connections
/// without one pay nothing for it). Set before the entry is linked; only [`ConnAlg::state`]
/// changes after.
#[derive(Debug, Default)]
pub(crate) struct ConnAlg {
    /// The helper run on this connection's packets (`ct(commit, alg=...)`).
    pub helper: Option<Helper>,
    /// Set on a connection created from an expectation: the parent's original key. Such a
    /// connection is `+rel` on every packet and reports the parent's tuple as its original
    /// tuple; `ct_mark`/`ct_label` writes do not change it (all as Open vSwitch).
    pub parent: Option<ConnKey>,
    /// What the helper updates as packets pass. Locked only by a thread that holds the entry's
    /// own mutex (always in that order), so this lock is never contended: it exists because
    /// the state lives outside that mutex (which keeps the entry small, see
    /// [`crate::table::Conn`]).
    pub state: Mutex<AlgState>,
}

/// The mutable part of [`ConnAlg`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AlgState {
    /// Sequence adjustment of each direction (`[original, reply]`) after NAT rewrites.
    pub seqadj: [SeqAdj; 2],
    /// The expectations this connection announced last.
    pub recent: Recent,
}

/// Which helper a connection runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Helper {
    /// FTP (`helper=ftp`).
    Ftp,
    /// TFTP (`helper=tftp`).
    Tftp,
}

impl Helper {
    /// The name `dpctl/dump-conntrack` prints after `helper=`.
    pub fn name(self) -> &'static str {
        match self {
            Helper::Ftp => "ftp",
            Helper::Tftp => "tftp",
        }
    }
}

/// The wildcard key of a data connection from `from.src` to `from.dst:dport` in `from`'s
/// protocol and zone.
pub(crate) fn exp_key(from: &ConnKey, dport: u16) -> Option<ConnKey> {
    let key = match (from.src_addr(), from.dst_addr()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => ConnKey::ipv4(s, d, from.proto(), 0, dport),
        (IpAddr::V6(s), IpAddr::V6(d)) => ConnKey::ipv6(s, d, from.proto(), 0, dport),
        _ => return None,
    };
    Some(key.with_zone(from.zone()))
}

/// What the FTP helper makes of one segment of a control connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct FtpOutcome {
    /// The data connection to expect (wildcard key).
    pub expect: ConnKey,
    /// Active mode (the server opens the data connection).
    pub active: bool,
    /// With NAT: the payload bytes to replace and the address to print there in the
    /// message's form (only when that differs from what is there).
    pub rewrite: Option<(Range<usize>, FtpKind, IpAddr)>,
}

/// Runs the FTP logic on `payload`, a segment of the control connection whose original key is
/// `orig` and reply key `reply_key` (they differ under NAT), travelling in the reply direction
/// if `reply`. `nat`: this `ct()` translates the packet, so the address in the payload is to
/// be rewritten to the one the receiver must use.
///
/// The address in an active-mode command must be the client's (before or after NAT) and the
/// one in a `227` the server's (before or after NAT); anything else (an "FTP bounce" attempt
/// to open a hole to a third host) is ignored.
pub(crate) fn ftp_outcome(
    orig: &ConnKey,
    reply_key: &ConnKey,
    reply: bool,
    payload: &[u8],
    nat: bool,
) -> Option<FtpOutcome> {
    if orig.proto() != IPPROTO_TCP {
        return None;
    }
    let m: FtpCtl = ftp::parse(payload, !reply, orig.is_ipv6())?;
    // Active: the server connects to the client (as the server sees it: the reply key);
    // passive: the client connects to the server (as the client sees it: the original key).
    let (from, legit, rewrite_to) = if m.kind.is_active() {
        (
            reply_key,
            [orig.src_addr(), reply_key.dst_addr()],
            reply_key.dst_addr(),
        )
    } else {
        (
            orig,
            [reply_key.src_addr(), orig.dst_addr()],
            orig.dst_addr(),
        )
    };
    if m.addr.is_some_and(|a| !legit.contains(&a)) {
        return None;
    }
    let expect = exp_key(from, m.port)?;
    let rewrite = match m.addr {
        Some(_) if nat && m.kind != FtpKind::Epsv => {
            let text = ftp::addr_text(m.kind, rewrite_to);
            let span = m.addr_span.clone();
            (payload.get(span.clone()) != Some(text.as_bytes()))
                .then_some((span, m.kind, rewrite_to))
        }
        _ => None,
    };
    Some(FtpOutcome {
        expect,
        active: m.kind.is_active(),
        rewrite,
    })
}

/// The translation a data connection announced on a NATed control connection gets when it
/// is committed with `nat` (as Open vSwitch's `expectation_create`): the data connection must
/// reach the real peer and appear to come from the address the other side knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DataNat {
    /// `Dst`: the data connection's destination becomes `addr` (DNAT); `Src`: its source does.
    pub kind: NatKind,
    /// The translated address.
    pub addr: IpAddr,
    /// The translated port, when it differs (TFTP behind a port-translating SNAT).
    pub port: Option<u16>,
}

/// The [`DataNat`] of a data connection announced on the control connection `orig` /
/// `reply_key`: `active` if the server opens it (FTP active mode, TFTP), else the client.
/// `None` when the control connection is not translated. A control connection translated on
/// both sides gets its destination side handled, as OVS.
pub(crate) fn data_nat(orig: &ConnKey, reply_key: &ConnKey, active: bool) -> Option<DataNat> {
    let dnat = orig.dst_addr() != reply_key.src_addr();
    let snat = orig.src_addr() != reply_key.dst_addr() || orig.src_port() != reply_key.dst_port();
    let (kind, addr) = match (active, dnat, snat) {
        // The server's connection must appear to come from the address the client called.
        (true, true, _) => (NatKind::Src, orig.dst_addr()),
        // ... or reach the client behind the source translation.
        (true, false, true) => (NatKind::Dst, orig.src_addr()),
        // The client's connection must reach the real server.
        (false, true, _) => (NatKind::Dst, reply_key.src_addr()),
        // ... or leave with the client's translated address.
        (false, false, true) => (NatKind::Src, reply_key.dst_addr()),
        (_, false, false) => return None,
    };
    Some(DataNat {
        kind,
        addr,
        port: None,
    })
}

/// The TFTP expectation for a packet of a TFTP connection (see `tftp.rs`).
pub(crate) fn tftp_outcome(orig: &ConnKey, reply_key: &ConnKey, reply: bool) -> Option<ConnKey> {
    tftp::expected(orig, reply_key, reply)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const C: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 1);
    const S: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 2);
    const N: Ipv4Addr = Ipv4Addr::new(10, 1, 1, 240);

    fn snat_keys() -> (ConnKey, ConnKey) {
        // Client C:40000 -> S:21, source-translated to N:40000.
        let orig = ConnKey::ipv4(C, S, 6, 40000, 21);
        let reply = ConnKey::ipv4(S, N, 6, 21, 40000);
        (orig, reply)
    }

    #[test]
    fn active_mode_expects_server_to_client_and_rewrites_under_snat() {
        let (orig, reply) = snat_keys();
        let p = b"PORT 10,1,1,1,156,64\r\n";
        let o = ftp_outcome(&orig, &reply, false, p, true).unwrap();
        assert_eq!(o.expect, ConnKey::ipv4(S, N, 6, 0, 40000));
        assert_eq!(o.rewrite, Some((5..13, FtpKind::Port, IpAddr::V4(N))));
        // Without NAT in this ct(), no rewrite.
        let o = ftp_outcome(&orig, &reply, false, p, false).unwrap();
        assert_eq!(o.rewrite, None);
    }

    #[test]
    fn passive_mode_expects_client_to_server() {
        let orig = ConnKey::ipv4(C, S, 6, 40000, 21);
        let p = b"227 Entering Passive Mode (10,1,1,2,156,65).\r\n";
        let o = ftp_outcome(&orig, &orig.reverse(), true, p, true).unwrap();
        assert_eq!(o.expect, ConnKey::ipv4(C, S, 6, 0, 40001));
        assert_eq!(o.rewrite, None);
    }

    #[test]
    fn bounce_to_a_third_host_is_ignored() {
        let orig = ConnKey::ipv4(C, S, 6, 40000, 21);
        let p = b"PORT 192,168,1,1,0,22\r\n";
        assert_eq!(ftp_outcome(&orig, &orig.reverse(), false, p, false), None);
        let p = b"227 Entering Passive Mode (192,168,1,1,0,22).\r\n";
        assert_eq!(ftp_outcome(&orig, &orig.reverse(), true, p, false), None);
    }

    #[test]
    fn tftp_expects_server_any_port_to_client_port() {
        let orig = ConnKey::ipv4(C, S, 17, 50000, 69);
        let k = tftp_outcome(&orig, &orig.reverse(), false).unwrap();
        assert_eq!(k, ConnKey::ipv4(S, C, 17, 0, 50000));
        assert_eq!(tftp_outcome(&orig, &orig.reverse(), true), None);
    }
}
