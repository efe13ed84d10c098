//! NAT requests: what a `ct(nat(...))` action asks of the tracker.
//!
//! The allocation of translated tuples is in `nat_alloc.rs`, the per-packet rewrite in
//! `nat_rewrite.rs`.

use std::net::IpAddr;

/// Which side of a new connection is translated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NatKind {
    /// `nat(src=...)`: source NAT (SNAT).
    Src,
    /// `nat(dst=...)`: destination NAT (DNAT).
    Dst,
}

/// The arguments of a `nat` inside `ct()` (OVS's `ofpact_nat`).
///
/// `kind: None` is a bare `nat`: a connection that was committed with NAT has its stored
/// translation applied (both directions, ICMP errors included); nothing new is set up.
/// With a kind, a *new* connection committed by the same `ct(commit, ...)` gets a translation
/// chosen from the ranges; an existing one keeps the translation it was committed with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct NatConfig {
    /// `src` / `dst`, or `None` for a bare `nat`.
    pub kind: Option<NatKind>,
    /// Lowest address of the range; `None` (or an all-zero address) keeps the packet's address
    /// and translates only the port (OVS's "all-zero IP SNAT").
    pub addr_min: Option<IpAddr>,
    /// Highest address of the range (`None`: same as `addr_min`).
    pub addr_max: Option<IpAddr>,
    /// Lowest port of the range (0: no port range given).
    pub port_min: u16,
    /// Highest port of the range (0 or less than `port_min`: same as `port_min`).
    pub port_max: u16,
    /// `persistent`: the address is chosen from the connection's addresses only (not its
    /// ports), so one client keeps one translated address across connections.
    pub persistent: bool,
    /// `hash`: the first port tried is chosen by a keyed hash of the tuple.
    pub proto_hash: bool,
    /// `random`: the first port tried is chosen at random.
    pub proto_random: bool,
}

impl NatConfig {
    /// A bare `nat` (apply stored translations only).
    pub const REVERSE: NatConfig = NatConfig {
        kind: None,
        addr_min: None,
        addr_max: None,
        port_min: 0,
        port_max: 0,
        persistent: false,
        proto_hash: false,
        proto_random: false,
    };

    /// `nat(src=addr)` / `nat(dst=addr)` with one address and no port range.
    pub fn to_addr(kind: NatKind, addr: IpAddr) -> Self {
        NatConfig {
            kind: Some(kind),
            addr_min: Some(addr),
            ..NatConfig::REVERSE
        }
    }

    /// The same request with the port range `min..=max`.
    pub fn with_ports(mut self, min: u16, max: u16) -> Self {
        self.port_min = min;
        self.port_max = max;
        self
    }
}

/// An application-layer gateway (`ct(alg=...)`). The helpers themselves live in `alg/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Alg {
    /// `alg=ftp` (control port 21).
    Ftp,
    /// `alg=tftp` (port 69).
    Tftp,
}

impl Alg {
    /// From OVS's encoding of `alg=` as a well-known port (21 ftp, 69 tftp); `None` for others.
    pub fn from_port(port: u16) -> Option<Alg> {
        match port {
            21 => Some(Alg::Ftp),
            69 => Some(Alg::Tftp),
            _ => None,
        }
    }

    /// The name OVS prints (`helper=ftp` in datapath actions).
    pub fn name(self) -> &'static str {
        match self {
            Alg::Ftp => "ftp",
            Alg::Tftp => "tftp",
        }
    }
}
