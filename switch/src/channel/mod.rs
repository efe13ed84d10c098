//! The OpenFlow 1.3 controller channel (tokio lives here, nowhere below).
//!
//! ```text
//!  controller / ovs-ofctl ──stream──▶ Hub::serve ──▶ Conn (sans-IO state machine) ──▶ Bridge (ofproto)
//!                          ◀─stream──            ◀──                               ◀── events (packet-in, ...)
//! ```
//!
//! - [`conn`]: one connection: HELLO negotiation, echo and inactivity probe,
//!   features/config, multipart replies (split over 64 KiB), barrier, roles
//!   with generation ids, SET_ASYNC filtering, bundles, packet-in rate limit,
//!   an `OFPT_ERROR` for every malformed message.
//! - [`hub`]: runs connections over any `AsyncRead + AsyncWrite` and fans
//!   bridge events out through a bounded queue.
//! - [`targets`]: `tcp:`/`ptcp:`/`unix:`/`punix:` targets, listeners and the
//!   reconnecting active connector.
//! - [`snoop`]: `BRIDGE.snoop`, copies of a controller connection's
//!   messages for `ovs-ofctl snoop`.
//! - [`bridge`]: the trait the channel calls; the daemon implements it on
//!   ofproto.

pub mod bridge;
pub mod bundles;
pub mod conn;
pub mod hub;
pub mod snoop;
pub mod split;
pub mod targets;

#[cfg(test)]
mod tests;

pub use bridge::{Bridge, BridgeEvent, BundleItem, PacketInEvent, StagedState};
pub use conn::{Conn, ConnConfig, ConnKind, Shared};
pub use hub::Hub;
pub use targets::Target;
