//! The per-packet interface: what the datapath hands in ([`CtPacket`], [`CtOpts`]) and the
//! connection-tracking metadata it gets back ([`CtMeta`], [`CtState`]).

use std::fmt;
use std::net::IpAddr;

use crate::nat::{Alg, NatConfig};
use crate::nat_rewrite::NatRewrite;

/// `ct_state` bits, with the values Open vSwitch and the Linux kernel use (`CS_*` in OVS).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CtState(pub u8);

impl CtState {
    /// Start of a new connection (`+new`).
    pub const NEW: CtState = CtState(0x01);
    /// Part of an existing connection (`+est`).
    pub const ESTABLISHED: CtState = CtState(0x02);
    /// Related to an existing connection, e.g. an ICMP error quoting it (`+rel`).
    pub const RELATED: CtState = CtState(0x04);
    /// Reply direction (`+rpl`).
    pub const REPLY_DIR: CtState = CtState(0x08);
    /// Invalid (`+inv`).
    pub const INVALID: CtState = CtState(0x10);
    /// Went through the connection tracker (`+trk`).
    pub const TRACKED: CtState = CtState(0x20);
    /// The packet's source side was translated by NAT (`+snat`).
    pub const SRC_NAT: CtState = CtState(0x40);
    /// The packet's destination side was translated by NAT (`+dnat`).
    pub const DST_NAT: CtState = CtState(0x80);

    const NAMES: [(u8, &'static str); 8] = [
        (0x01, "new"),
        (0x02, "est"),
        (0x04, "rel"),
        (0x08, "rpl"),
        (0x10, "inv"),
        (0x20, "trk"),
        (0x40, "snat"),
        (0x80, "dnat"),
    ];

    /// True if every bit of `other` is set in `self`.
    pub const fn contains(self, other: CtState) -> bool {
        self.0 & other.0 == other.0
    }

    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }
}

impl std::ops::BitOr for CtState {
    type Output = CtState;
    fn bitor(self, rhs: CtState) -> CtState {
        CtState(self.0 | rhs.0)
    }
}

impl std::ops::BitOrAssign for CtState {
    fn bitor_assign(&mut self, rhs: CtState) {
        self.0 |= rhs.0;
    }
}

/// Formats like `ovs-ofctl` prints a `ct_state` match: `+trk+est+rpl` (bits in ascending order),
/// or `0` for no bits.
impl fmt::Debug for CtState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0");
        }
        // OVS prints trk first in matches, but listing in bit order is unambiguous and stable.
        for (bit, name) in Self::NAMES {
            if self.0 & bit != 0 {
                write!(f, "+{name}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for CtState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Layer-3 type of a packet as the caller (the flow key) knows it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum L3 {
    /// EtherType 0x0800.
    Ipv4,
    /// EtherType 0x86dd.
    Ipv6,
    /// Anything else: conntrack marks such packets `+trk+inv`.
    Other,
}

/// The original-direction tuple of the connection a packet belongs to
/// (`ct_nw_src`, `ct_nw_dst`, `ct_ipv6_src`, `ct_ipv6_dst`, `ct_nw_proto`, `ct_tp_src`, `ct_tp_dst`).
///
/// For ICMP, `src_port` holds the ICMP type and `dst_port` the ICMP code, as in OVS.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct OrigTuple {
    /// Original-direction source address.
    pub src: IpAddr,
    /// Original-direction destination address.
    pub dst: IpAddr,
    /// Source port (ICMP: type).
    pub src_port: u16,
    /// Destination port (ICMP: code).
    pub dst_port: u16,
    /// IP protocol.
    pub proto: u8,
}

/// Connection-tracking metadata of one packet (in-out: the caller passes the packet's current
/// metadata, e.g. from an earlier `ct()` before recirculation, and conntrack rewrites it).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct CtMeta {
    /// `ct_state`.
    pub state: CtState,
    /// `ct_zone`.
    pub zone: u16,
    /// `ct_mark`.
    pub mark: u32,
    /// `ct_label`.
    pub label: u128,
    /// The original-direction tuple, if the packet was tracked with a parsable key.
    pub orig: Option<OrigTuple>,
}

/// One packet as the datapath hands it to [`crate::Conntrack::execute`].
///
/// The L3 type, the L4 protocol and the header offsets come from the caller's flow key (the
/// translation layer un-wildcards them for `ct()`), so conntrack does not re-derive them. Use
/// [`CtPacket::derive`] when you have only the bytes (tests, tools, the "derived" benchmark).
#[derive(Clone, Debug)]
pub struct CtPacket<'a> {
    /// The frame (or anything that contains the L3 header at `l3_ofs`).
    pub data: &'a [u8],
    /// L3 type from the flow key.
    pub l3: L3,
    /// IP protocol from the flow key (for IPv6: the upper-layer protocol after extension headers).
    pub l4_proto: u8,
    /// Offset of the IP header in `data`.
    pub l3_ofs: u16,
    /// Offset of the L4 header in `data`.
    pub l4_ofs: u16,
    /// The caller's flow hash. Accepted so the datapath can pass what it has; conntrack uses its
    /// own keyed, direction-symmetric hash (a flow hash differs between the two directions and
    /// does not include the zone), so this value does not affect behaviour.
    pub hash: u32,
    /// The kernel or NIC already validated the IP and L4 checksums: skip validating them.
    pub checksum_ok: bool,
    /// In-out connection-tracking metadata.
    pub md: CtMeta,
    /// Output: the header rewrite NAT decided for this packet (empty if none). Conntrack does
    /// not modify `data`; the caller applies this with [`NatRewrite::apply`].
    pub rewrite: NatRewrite,
}

impl<'a> CtPacket<'a> {
    /// Builds a packet with the L3/L4 type and offsets derived by parsing `data`, which starts with
    /// an Ethernet header (an 802.1Q/802.1ad tag is skipped). IPv6 extension headers are walked.
    /// A frame that is not IP, or too short, gets `L3::Other` (conntrack marks it `+inv`).
    pub fn derive(data: &'a [u8]) -> Self {
        let (l3, l3_ofs, l4_proto, l4_ofs) = crate::parse::derive_layers(data);
        CtPacket {
            data,
            l3,
            l4_proto,
            l3_ofs,
            l4_ofs,
            hash: 0,
            checksum_ok: false,
            md: CtMeta::default(),
            rewrite: NatRewrite::default(),
        }
    }

    /// Like [`CtPacket::derive`] for a buffer that starts with the IP header (no Ethernet).
    pub fn derive_from_ip(data: &'a [u8]) -> Self {
        let (l3, l4_proto, l4_ofs) = crate::parse::derive_ip_layers(data, 0);
        CtPacket {
            data,
            l3,
            l4_proto,
            l3_ofs: 0,
            l4_ofs,
            hash: 0,
            checksum_ok: false,
            md: CtMeta::default(),
            rewrite: NatRewrite::default(),
        }
    }
}

/// The arguments of one `ct()` action.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CtOpts {
    /// `zone=`.
    pub zone: u16,
    /// `commit`: a new connection may be created.
    pub commit: bool,
    /// `force`: if the packet is in the reply direction of an existing connection, that
    /// connection is deleted and a new one is started (implies `commit` at the OpenFlow level;
    /// here a new entry is created only if `commit` is also set).
    pub force: bool,
    /// `exec(set_field:V/M->ct_mark)`: `(value, mask)`, applied when the packet has a connection.
    pub set_mark: Option<(u32, u32)>,
    /// `exec(set_field:V/M->ct_label)`: `(value, mask)`, applied when the packet has a connection.
    pub set_label: Option<(u128, u128)>,
    /// `nat(...)`: set up a translation on commit (with a kind) and apply the stored
    /// translation of NATed connections (always, also for a bare `nat`).
    pub nat: Option<NatConfig>,
    /// `alg=ftp|tftp`: the helper for a connection this action commits.
    pub alg: Option<Alg>,
}
