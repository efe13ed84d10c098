//! The `ovs-ofctl` flow syntax: parse (nom) and print.
//!
//! Match text lives with the match (`flow_match`), action text with the
//! actions; this module holds the flow-mod line and the shared error type.

use core::fmt;

/// A text-syntax error: what is wrong, and where (byte offset in the input).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub msg: String,
    pub pos: Option<usize>,
}

impl ParseError {
    pub fn new(msg: impl Into<String>) -> Self {
        ParseError {
            msg: msg.into(),
            pos: None,
        }
    }

    pub fn at(mut self, pos: usize) -> Self {
        self.pos.get_or_insert(pos);
        self
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pos {
            Some(p) => write!(f, "{} (at offset {})", self.msg, p),
            None => f.write_str(&self.msg),
        }
    }
}

impl std::error::Error for ParseError {}

pub mod flow_mod;
pub mod flows_file;
pub mod kv;
pub mod names;
pub mod protocols;
pub mod usable;

pub use flow_mod::{
    Command, FlowSpec, FlowTextError, ParsedFlow, parse_flow_line, parse_flow_line_with,
    parse_flow_mod, parse_flow_mod_with,
};
pub use flows_file::{FlowsFileError, ParsedFlows, parse_flows, parse_flows_with};
pub use names::{NameMap, Names};
pub use protocols::Protocols;
