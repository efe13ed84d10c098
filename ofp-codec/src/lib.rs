//! # ofp-codec: OpenFlow 1.3 + Nicira extensions, on the wire and as text
//!
//! What it does: decodes and encodes every OpenFlow 1.3 message a switch sends
//! or receives, with the Nicira (NXM) match fields and actions Open vSwitch
//! uses, into one internal model; parses and prints the `ovs-ofctl` flow
//! syntax for the same model; validates flows as OVS does (prerequisites,
//! `ct()` needs IP, ...). Every failure is an [`OfpError`] naming the exact
//! OpenFlow error OVS would send.
//!
//! What it does not: no sockets, no clocks, no tables. It is sans-IO.
//!
//! ```text
//!   bytes ──decode──▶  model (Match, Action, Instruction, messages)  ◀──parse── ovs-ofctl text
//!   bytes ◀─encode───                                              ───print──▶ ovs-ofctl text
//! ```
#![forbid(unsafe_code)]

pub mod action;
pub mod error;
pub mod error_vendor;
pub mod field;
pub mod flow_match;
pub mod msg;
pub mod open_enum;
pub mod reader;
pub mod text;
pub mod view;

pub use action::{Action, Instruction};
pub use error::OfpError;
pub use field::{Field, FieldInfo};
pub use flow_match::{Match, MatchEntry, MatchParser};
pub use msg::{Header, Message, frame_len};
pub use reader::Reader;
pub use text::ParseError;
