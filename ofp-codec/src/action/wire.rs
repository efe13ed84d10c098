//! Action lists on the wire (OpenFlow 1.3): framing, dispatch by type, the
//! length rules OVS applies to every action, and the nesting checks it runs
//! after decoding (`ofpacts_verify`).

use bytes::{BufMut, BytesMut};

use super::{Action, ct, nx, nx_error, of13};
use crate::error::{NX_VENDOR_ID, ONF_VENDOR_ID, OfpError};
use crate::field::Field;
use crate::reader::Reader;

/// `OFPAT_EXPERIMENTER`.
pub(crate) const OFPAT_VENDOR: u16 = 0xffff;

crate::view! {
    /// `ofp_action_header` (and `ofp_action_experimenter_header`): the
    /// first 8 bytes of every action; the tail is the action's own body.
    pub struct ActionView: sized(8, LENGTH, OfpError::OFPBAC_BAD_LEN) {
        /// `OFPAT_*`, or `OFPAT_EXPERIMENTER` (0xffff).
        ACTION_TYPE: 0..2 => action_type, set_action_type: u16;
        /// The whole action, header included; a multiple of 8.
        LENGTH: 2..4 => length, set_length: u16;
        /// Experimenter id of an `OFPAT_EXPERIMENTER` action. In other
        /// actions these bytes are padding or their first field (output's
        /// `port`).
        EXPERIMENTER: 4..8 => experimenter, set_experimenter: u32;
    }
}

/// Where a list of actions sits, for the nesting rules.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Outer {
    /// Top level (apply_actions, packet-out, group bucket).
    None,
    /// Inside `write_actions(...)`.
    WriteActions,
    /// Inside `ct(exec(...))`.
    Ct,
}

/// Decodes a whole action list (every byte of `r`), as OVS's
/// `ofpacts_pull_openflow_actions` does, including its nesting checks.
/// Errors are the `OFPT_ERROR` OVS would send.
pub fn decode_actions(r: &mut Reader<'_>) -> Result<Vec<Action>, OfpError> {
    let acts = decode_list(r, 0)?;
    verify(&acts, Outer::None).map_err(|e| e.0)?;
    Ok(acts)
}

/// How deeply `ct(exec(...))` and `clone(...)` may nest. OVS has no limit;
/// rvs refuses deeper lists (`OFPBAC_BAD_ARGUMENT` on the wire, a parse
/// error in text) so that hostile input cannot exhaust the stack.
pub const MAX_NESTING: usize = 32;

/// Decodes actions without the nesting checks (used under instructions and
/// `ct`, whose callers verify). `depth` counts enclosing `ct`/`clone`s.
pub(crate) fn decode_list(r: &mut Reader<'_>, depth: usize) -> Result<Vec<Action>, OfpError> {
    if !r.remaining().is_multiple_of(8) {
        return Err(OfpError::OFPBRC_BAD_LEN);
    }
    if depth > MAX_NESTING {
        return Err(OfpError::OFPBAC_BAD_ARGUMENT);
    }
    let mut out = Vec::new();
    while !r.is_empty() {
        decode_one(r, &mut out, depth)?;
    }
    Ok(out)
}

/// Framing of one action, before its body is looked at.
pub(crate) struct Raw<'a> {
    /// The whole action, header included.
    pub body: Reader<'a>,
    /// Enclosing `ct`/`clone` actions.
    pub depth: usize,
}

fn decode_one(r: &mut Reader<'_>, out: &mut Vec<Action>, depth: usize) -> Result<(), OfpError> {
    // Only the header is read here: OVS checks type and vendor before length.
    let head = ActionView::new_unchecked(r.peek(8).ok_or(OfpError::OFPBAC_BAD_LEN)?);
    let atype = head.action_type();
    let len = usize::from(head.length());
    let (bounds, vendor_sub) = if atype == OFPAT_VENDOR {
        let vendor = head.experimenter();
        if vendor != NX_VENDOR_ID && vendor != ONF_VENDOR_ID {
            return Err(OfpError::OFPBAC_BAD_VENDOR);
        }
        let sub = r.peek(10).ok_or(OfpError::OFPBAC_BAD_LEN)?;
        let subtype = u16::from_be_bytes([sub[8], sub[9]]);
        let bounds = if vendor == NX_VENDOR_ID {
            nx::bounds(subtype)
        } else {
            None
        };
        (
            bounds.ok_or(OfpError::OFPBAC_BAD_VENDOR_TYPE)?,
            Some(subtype),
        )
    } else {
        (of13::bounds(atype).ok_or(OfpError::OFPBAC_BAD_TYPE)?, None)
    };
    if len > r.remaining() || len < bounds.0 || len > bounds.1 || len % 8 != 0 {
        return Err(OfpError::OFPBAC_BAD_LEN);
    }
    let body = r.sub_or(len, OfpError::OFPBAC_BAD_LEN)?;
    let raw = Raw { body, depth };
    match vendor_sub {
        None => of13::decode(atype, raw, out),
        Some(sub) if sub == nx::NXAST_CT => ct::decode_ct(raw, out),
        Some(sub) if sub == nx::NXAST_NAT => ct::decode_nat(raw, out),
        Some(sub) => nx::decode(sub, raw, out),
    }
}

/// Encodes `acts` for OpenFlow 1.3, appending to `out`.
pub fn encode_actions(acts: &[Action], out: &mut BytesMut) {
    for a in acts {
        encode_one(a, out);
    }
}

/// Bytes [`encode_actions`] would append.
pub fn actions_encoded_len(acts: &[Action]) -> usize {
    let mut b = BytesMut::new();
    encode_actions(acts, &mut b);
    b.len()
}

fn encode_one(a: &Action, out: &mut BytesMut) {
    match a {
        Action::Ct(c) => ct::encode_ct(c, out),
        Action::Nat(n) => ct::encode_nat(n, out),
        _ => {
            if !of13::encode(a, out) {
                nx::encode(a, out);
            }
        }
    }
}

// ---- small helpers shared by the family files ----

/// Starts a standard action: writes type and a placeholder length.
pub(crate) fn start_of(out: &mut BytesMut, atype: u16) -> usize {
    let start = out.len();
    out.put_u16(atype);
    out.put_u16(0);
    start
}

/// Starts a Nicira action: type, length placeholder, vendor, subtype.
pub(crate) fn start_nx(out: &mut BytesMut, subtype: u16) -> usize {
    let start = start_of(out, OFPAT_VENDOR);
    out.put_u32(NX_VENDOR_ID);
    out.put_u16(subtype);
    start
}

/// Zero-pads the action begun at `start` to at least `min` bytes and to a
/// multiple of 8, then writes its length.
pub(crate) fn finish(out: &mut BytesMut, start: usize, min: usize) {
    let mut len = out.len() - start;
    if len < min {
        out.put_bytes(0, min - len);
        len = min;
    }
    let padded = len.div_ceil(8) * 8;
    out.put_bytes(0, padded - len);
    let l = (padded as u16).to_be_bytes();
    out[start + 2] = l[0];
    out[start + 3] = l[1];
}

/// True if every byte is zero.
pub(crate) fn all_zero(b: &[u8]) -> bool {
    b.iter().all(|&x| x == 0)
}

/// A verification failure: the OpenFlow error and OVS's text message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VerifyError(pub OfpError, pub String);

fn field_requires_ct(f: Field) -> bool {
    super::fieldref::requires_ct(f)
}

/// OVS's `ofpacts_verify` for one action list (without instruction order,
/// which the instruction layer checks): conjunction only with note, ct
/// fields only in ct, nat only in ct, ct only nests ct-field writes.
pub(crate) fn verify(acts: &[Action], outer: Outer) -> Result<(), VerifyError> {
    if acts.iter().any(|a| matches!(a, Action::Conjunction { .. })) {
        if let Some(bad) = acts
            .iter()
            .find(|a| !matches!(a, Action::Conjunction { .. } | Action::Note(_)))
        {
            return Err(VerifyError(
                nx_error::NXBAC_BAD_CONJUNCTION,
                format!(
                    "\"conjunction\" actions may be used along with \"note\" but not any other kind of action (such as the \"{}\" action used here)",
                    bad.name()
                ),
            ));
        }
        return Ok(());
    }
    for a in acts {
        let field = a.written_field();
        if let Some(f) = field
            && field_requires_ct(f)
            && outer != Outer::Ct
        {
            return Err(VerifyError(
                OfpError::OFPBAC_BAD_SET_ARGUMENT,
                "cannot set CT fields outside of ct action".into(),
            ));
        }
        if let Action::Nat(_) = a {
            if outer != Outer::Ct {
                return Err(VerifyError(
                    OfpError::OFPBAC_BAD_SET_ARGUMENT,
                    "Cannot have NAT action outside of \"ct\" action".into(),
                ));
            }
            continue;
        }
        if outer == Outer::Ct {
            match field {
                None => {
                    return Err(VerifyError(
                        OfpError::OFPBAC_BAD_ARGUMENT,
                        format!("ct action doesn't support nested action {}", a.name()),
                    ));
                }
                Some(f) if !field_requires_ct(f) => {
                    return Err(VerifyError(
                        OfpError::OFPBAC_BAD_ARGUMENT,
                        format!(
                            "ct action doesn't support nested modification of {}",
                            super::fieldref::name(f)
                        ),
                    ));
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(hex: &str) -> Result<Vec<Action>, OfpError> {
        let b = crate::action::tests_util::unhex(hex);
        decode_actions(&mut Reader::new(&b))
    }

    #[test]
    fn framing_errors_match_ovs() {
        // Shorter than an action header.
        assert_eq!(dec("00000010"), Err(OfpError::OFPBRC_BAD_LEN));
        // Unknown standard type.
        assert_eq!(dec("0063000800000000"), Err(OfpError::OFPBAC_BAD_TYPE));
        // Unknown vendor.
        assert_eq!(
            dec("ffff0010000012340000000000000000"),
            Err(OfpError::OFPBAC_BAD_VENDOR)
        );
        // Unknown Nicira subtype.
        assert_eq!(
            dec("ffff0010000023200063000000000000"),
            Err(OfpError::OFPBAC_BAD_VENDOR_TYPE)
        );
        // Output with length 8 instead of 16.
        assert_eq!(dec("0000000800000001"), Err(OfpError::OFPBAC_BAD_LEN));
        // Length longer than the buffer.
        assert_eq!(dec("0000002000000001"), Err(OfpError::OFPBAC_BAD_LEN));
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        // 4000 nested clone() actions: each level is a 16-byte NXAST_CLONE
        // header around the next.
        let levels = 4000usize;
        let mut b = Vec::new();
        for i in 0..levels {
            let len = (16 * (levels - i)) as u16;
            b.extend_from_slice(&[0xff, 0xff]);
            b.extend_from_slice(&len.to_be_bytes());
            b.extend_from_slice(&[0, 0, 0x23, 0x20, 0, 42, 0, 0, 0, 0, 0, 0]);
        }
        let r = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || decode_actions(&mut Reader::new(&b)))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(r, Err(OfpError::OFPBAC_BAD_ARGUMENT));
        let text = "clone(".repeat(100) + &")".repeat(100);
        assert!(crate::action::parse_actions(&text).is_err());
        let ok = "clone(".repeat(3) + "output:1" + &")".repeat(3);
        assert!(crate::action::parse_actions(&ok).is_ok());
    }

    #[test]
    fn action_view_reads_ovs_bytes_and_refuses_bad_lengths() {
        // output:1, as `ovs-ofctl -O OpenFlow13 parse-flow` encodes it.
        let bytes = crate::action::tests_util::unhex("00000010000000010000000000000000");
        let v = ActionView::new_checked(&bytes[..]).unwrap();
        assert_eq!((v.action_type(), v.length()), (0, 16));
        assert_eq!(
            decode_actions(&mut Reader::new(v.as_bytes())).unwrap(),
            [Action::Output {
                port: 1,
                max_len: 0
            }]
        );
        crate::view::testing::assert_len_checks::<ActionView<_>>(&bytes);
        // ct(table=1) from the flow_mod vector: a Nicira action.
        let ct =
            crate::action::tests_util::unhex("ffff00180000232000230000000000000000010000000000");
        let v = ActionView::new_checked(&ct[..]).unwrap();
        assert_eq!(
            (v.action_type(), v.experimenter(), v.tail().len()),
            (OFPAT_VENDOR, NX_VENDOR_ID, 16)
        );
        let mut v = ActionView::new_checked(bytes).unwrap();
        v.set_experimenter(2); // bytes 4..8 of an output action are its port
        v.tail_mut()[..2].copy_from_slice(&64u16.to_be_bytes()); // max_len
        assert_eq!(
            decode_actions(&mut Reader::new(&v.into_inner())).unwrap(),
            [Action::Output {
                port: 2,
                max_len: 64
            }]
        );
        assert_eq!(
            ActionView::new_checked(&[0u8, 0, 0, 4, 0, 0, 0, 0][..]).err(),
            Some(OfpError::OFPBAC_BAD_LEN)
        );
    }
}
