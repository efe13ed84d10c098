//! The field stack of Nicira's `push:FIELD[..]` / `pop:FIELD[..]`
//! (`NXAST_STACK_PUSH` / `NXAST_STACK_POP`), as Open vSwitch keeps it.
//!
//! `push` appends the subfield's value as its `ceil(n_bits / 8)` low-order
//! bytes (big-endian) and un-wildcards the bits it read; `pop` takes the top
//! value, keeps its low `n_bits` (a shorter value is zero-extended), writes
//! them into the destination subfield and un-wildcards it. A `pop` on an
//! empty stack changes nothing and is reported as `stack underflow` (an
//! error line in traces; OVS also logs it, rate-limited, for real packets,
//! where rvs's sans-IO ofproto reports nothing).
//!
//! The stack belongs to the translation, not to a rule: it survives
//! `resubmit`/`goto_table` and group buckets, is copied into a `clone` (and
//! restored after it), and is frozen with the rest of the pipeline state in
//! a `ct(table=N)` recirculation ([`crate::recirc::FrozenState::stack`])
//! and in a `controller(pause)` continuation (`NXCPT_STACK` properties, top
//! first), so translation resumes with it after either.
//!
//! OVS's only limit: a table lookup (resubmit, goto_table) with 64 kB or
//! more of stack — each value plus one length byte, OVS's layout — fails
//! the translation with "Stack too deep" ([`FieldStack::size_bytes`]).

use ofp_codec::Action;
use ofp_codec::action::Subfield;

use super::Xlate;
use super::actions::ones128;
use crate::trace::NodeKind;

/// OVS's limit on the stack at a table lookup (bytes, as
/// [`FieldStack::size_bytes`] counts them).
pub const MAX_STACK_BYTES: usize = 65_536;

/// A field stack; values bottom first, each as pushed (big-endian bytes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct FieldStack {
    values: Vec<Vec<u8>>,
}

impl FieldStack {
    /// A stack from values listed top first (a continuation's order).
    pub fn from_top_first(values: &[Vec<u8>]) -> Self {
        FieldStack {
            values: values.iter().rev().cloned().collect(),
        }
    }

    /// The values, top first (a continuation's order).
    pub fn top_first(&self) -> Vec<Vec<u8>> {
        self.values.iter().rev().cloned().collect()
    }

    pub fn push(&mut self, value: Vec<u8>) {
        self.values.push(value);
    }

    pub fn pop(&mut self) -> Option<Vec<u8>> {
        self.values.pop()
    }

    /// Values on the stack.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The size OVS measures its limit with: every value's bytes plus one
    /// length byte each.
    pub fn size_bytes(&self) -> usize {
        self.values.iter().map(|v| v.len() + 1).sum()
    }
}

/// The `ceil(n_bits / 8)` low-order bytes of `v`, big-endian (n_bits ≤ 128).
fn value_bytes(v: u128, n_bits: u16) -> Vec<u8> {
    let n = usize::from(n_bits.div_ceil(8)).min(16);
    v.to_be_bytes()[16 - n..].to_vec()
}

/// A stack value as a number: its last (up to) 16 bytes; higher bytes of a
/// longer value (only a continuation can carry one) lie beyond every field.
fn value_of(bytes: &[u8]) -> u128 {
    let tail = &bytes[bytes.len().saturating_sub(16)..];
    tail.iter().fold(0u128, |a, &b| (a << 8) | u128::from(b))
}

impl Xlate<'_> {
    /// `push:SRC`: OVS's `nxm_execute_stack_push` (no prerequisite check at
    /// translation; install time checked the source against the match).
    pub(crate) fn stack_push(&mut self, src: &Subfield) {
        let v = self.read_subfield(src);
        self.pipe.stack.push(value_bytes(v, src.n_bits));
    }

    /// `pop:DST`: OVS's `nxm_execute_stack_pop` plus the trace report of
    /// `xlate_ofpact_stack_pop`. The write goes through the same path as
    /// `move`'s destination.
    pub(crate) fn stack_pop(&mut self, dst: &Subfield) {
        let Some(bytes) = self.pipe.stack.pop() else {
            self.report(NodeKind::Error, "stack underflow".into());
            return;
        };
        let v = value_of(&bytes) & ones128(dst.n_bits);
        self.write_subfield(dst, v);
        self.report_subfield(dst);
    }

    /// OVS's `xlate_report_subfield` after a `pop` or `move` wrote `sf`.
    pub(crate) fn report_subfield(&mut self, sf: &Subfield) {
        if self.tracing() {
            let text = subfield_is_now(sf, self.pkt.flow.get(sf.field));
            self.report(NodeKind::Detail, text);
        }
    }

    /// The stack is over OVS's limit for a table lookup: fails the
    /// translation as OVS's `xlate_resubmit_resource_check`.
    pub(crate) fn stack_too_deep(&self) -> bool {
        !self.pipe.stack.is_empty() && self.pipe.stack.size_bytes() >= MAX_STACK_BYTES
    }
}

/// OVS's `xlate_report_subfield`: `FIELD[..] is now VALUE`, the whole
/// field's value as `mf_format` writes it, or the subfield's bits in hex.
fn subfield_is_now(sf: &Subfield, field_value: u128) -> String {
    let name = ofp_codec::action::format_actions(&[Action::StackPop(*sf)]);
    let name = name.strip_prefix("pop:").unwrap_or(&name);
    let bits = sf.field.info().width_bits;
    let value = if sf.ofs == 0 && sf.n_bits >= bits {
        ofp_codec::flow_match::format_field_value(sf.field, field_value)
    } else {
        match (field_value >> sf.ofs) & ones128(sf.n_bits) {
            0 => "0".to_string(),
            v => format!("{v:#x}"),
        }
    };
    format!("{name} is now {value}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_keep_the_pushed_width_and_pop_zero_extends_or_truncates() {
        assert_eq!(value_bytes(0x1234_5678, 32), vec![0x12, 0x34, 0x56, 0x78]);
        assert_eq!(value_bytes(0x1ff, 9), vec![0x01, 0xff]);
        assert_eq!(value_bytes(u128::MAX, 128).len(), 16);
        assert_eq!(value_of(&[0x01, 0xff]) & ones128(8), 0xff);
        assert_eq!(value_of(&[0xab]), 0xab);
        assert_eq!(value_of(&[]), 0);
        let mut long = vec![0xee; 20];
        long[19] = 0x07;
        assert_eq!(value_of(&long) & ones128(4), 7);
    }

    #[test]
    fn size_counts_a_length_byte_per_value_and_order_round_trips() {
        let mut s = FieldStack::default();
        s.push(vec![1, 2, 3, 4]);
        s.push(vec![9]);
        assert_eq!(s.size_bytes(), 5 + 2);
        assert_eq!(s.top_first(), vec![vec![9], vec![1, 2, 3, 4]]);
        assert_eq!(FieldStack::from_top_first(&s.top_first()), s);
        assert_eq!(s.pop(), Some(vec![9]));
        assert_eq!(s.len(), 1);
    }
}
