//! `Match`: one internal model for OXM and NXM matches.
//!
//! OWNER: fields+match helper. (Stub: filled in by that work.)

use crate::field::Field;

/// One field of a match: value and optional mask, each `width` bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MatchEntry {
    pub field: Field,
    pub value: Vec<u8>,
    pub mask: Option<Vec<u8>>,
}

/// A flow match: a set of fields, at most one entry per field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Match {
    entries: Vec<MatchEntry>,
}

impl Match {
    pub fn new() -> Self {
        Match::default()
    }

    pub fn get(&self, field: Field) -> Option<&MatchEntry> {
        self.entries.iter().find(|e| e.field == field)
    }

    pub fn iter(&self) -> impl Iterator<Item = &MatchEntry> {
        self.entries.iter()
    }
}
