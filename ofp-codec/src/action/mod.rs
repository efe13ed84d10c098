//! `Action` and `Instruction`: one internal model for OpenFlow and Nicira actions.
//!
//! OWNER: actions helper. (Stub: filled in by that work.)

/// An action, OpenFlow 1.3 or Nicira extension.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    Output { port: u32, max_len: u16 },
}

/// An OpenFlow 1.3 instruction.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Instruction {
    GotoTable(u8),
    ApplyActions(Vec<Action>),
}
