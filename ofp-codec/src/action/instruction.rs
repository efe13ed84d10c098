//! OpenFlow 1.3 instructions on the wire.
//!
//! ```text
//! GOTO_TABLE(1)      type len=8  table_id(1) pad(3)
//! WRITE_METADATA(2)  type len=24 pad(4) metadata(8) mask(8)
//! WRITE_ACTIONS(3)   type len    pad(4) actions...
//! APPLY_ACTIONS(4)   type len    pad(4) actions...
//! CLEAR_ACTIONS(5)   type len=8  pad(4)
//! METER(6)           type len=8  meter_id(4)
//! ```
//! Decoding follows OVS: each kind at most once (`OFPBIC_DUP_INST`), any
//! wire order accepted, the result in OVS's canonical order. Encoding emits
//! that order and drops empty action instructions, as OVS does.

use bytes::{BufMut, BytesMut};

use super::wire::{self, Outer};
use super::{Action, Instruction, nx_error};
use crate::error::{NX_VENDOR_ID, OfpError};
use crate::reader::Reader;

const OFPIT_GOTO_TABLE: u16 = 1;
const OFPIT_WRITE_METADATA: u16 = 2;
const OFPIT_WRITE_ACTIONS: u16 = 3;
const OFPIT_APPLY_ACTIONS: u16 = 4;
const OFPIT_CLEAR_ACTIONS: u16 = 5;
const OFPIT_METER: u16 = 6;
const OFPIT_EXPERIMENTER: u16 = 0xffff;
const OFPAT_VENDOR: u16 = 0xffff;
/// Nicira's write_metadata action, which OVS turns into the instruction.
const NXAST_WRITE_METADATA: u16 = 22;

crate::view! {
    /// `ofp_instruction` header: the first 4 bytes of every instruction;
    /// the tail is the instruction's own body.
    pub struct InstructionView: sized(4, LENGTH, OfpError::OFPBIC_BAD_LEN) {
        /// `OFPIT_*`.
        INST_TYPE: 0..2 => inst_type, set_inst_type: u16;
        /// The whole instruction, header included; a multiple of 8.
        LENGTH: 2..4 => length, set_length: u16;
    }
}

/// Decodes an instruction list (every byte of `r`), with OVS's checks.
pub fn decode_instructions(r: &mut Reader<'_>) -> Result<Vec<Instruction>, OfpError> {
    if !r.remaining().is_multiple_of(8) {
        return Err(OfpError::OFPBIC_BAD_LEN);
    }
    // First pass: framing and duplicates, as OVS does before any action.
    let mut slots: [Option<Reader<'_>>; 7] = Default::default();
    let mut scan = *r;
    while !scan.is_empty() {
        // Refuses a short header and a length past the end.
        let h = InstructionView::new_checked(scan.rest())?;
        let (itype, len) = (h.inst_type(), h.total_len());
        if len % 8 != 0 || len < 8 {
            return Err(OfpError::OFPBIC_BAD_LEN);
        }
        let body = scan.sub(len)?;
        let ok_len = match itype {
            OFPIT_EXPERIMENTER => return Err(OfpError::OFPBIC_BAD_EXPERIMENTER),
            OFPIT_GOTO_TABLE | OFPIT_CLEAR_ACTIONS | OFPIT_METER => len == 8,
            OFPIT_WRITE_METADATA => len == 24,
            OFPIT_WRITE_ACTIONS | OFPIT_APPLY_ACTIONS => len >= 8,
            _ => return Err(OfpError::OFPBIC_UNKNOWN_INST),
        };
        if !ok_len {
            return Err(OfpError::OFPBIC_BAD_LEN);
        }
        let slot = &mut slots[usize::from(itype)];
        if slot.is_some() {
            return Err(nx_error::OFPBIC_DUP_INST);
        }
        *slot = Some(body);
    }
    let _ = r.take(r.remaining())?;

    let mut out = Vec::new();
    if let Some(mut b) = slots[usize::from(OFPIT_METER)] {
        b.skip(4)?;
        out.push(Instruction::Meter(b.u32()?));
    }
    let mut nx_write_metadata = None;
    if let Some(mut b) = slots[usize::from(OFPIT_APPLY_ACTIONS)] {
        b.skip(8)?;
        match find_nx_write_metadata(b.rest()) {
            None => out.push(Instruction::ApplyActions(wire::decode_list(&mut b, 0)?)),
            Some(at) => {
                let mut before = b.sub(at)?;
                out.push(Instruction::ApplyActions(wire::decode_list(
                    &mut before,
                    0,
                )?));
                let mut wm = b.sub(32)?;
                wm.skip(10)?;
                if wm.take(6)?.iter().any(|&z| z != 0) {
                    return Err(nx_error::NXBRC_MUST_BE_ZERO);
                }
                let (metadata, mask) = (wm.u64()?, wm.u64()?);
                // OVS makes it the write_metadata instruction, which comes
                // after every apply action and only once.
                if !b.is_empty() || slots[usize::from(OFPIT_WRITE_METADATA)].is_some() {
                    return Err(OfpError::OFPBAC_UNSUPPORTED_ORDER);
                }
                nx_write_metadata = Some(Instruction::WriteMetadata { metadata, mask });
            }
        }
    }
    if slots[usize::from(OFPIT_CLEAR_ACTIONS)].is_some() {
        out.push(Instruction::ClearActions);
    }
    if let Some(mut b) = slots[usize::from(OFPIT_WRITE_ACTIONS)] {
        b.skip(8)?;
        if let Some(at) = find_nx_write_metadata(b.rest()) {
            // OVS decodes it, then refuses it in an action set.
            wire::decode_list(&mut b.sub(at)?, 0)?;
            return Err(OfpError::OFPBAC_BAD_TYPE);
        }
        let acts = wire::decode_list(&mut b, 0)?;
        if acts.iter().any(|a| !a.allowed_in_action_set()) {
            return Err(OfpError::OFPBAC_BAD_TYPE);
        }
        out.push(Instruction::WriteActions(acts));
    }
    if let Some(mut b) = slots[usize::from(OFPIT_WRITE_METADATA)] {
        b.skip(8)?;
        let metadata = b.u64()?;
        let mask = b.u64()?;
        out.push(Instruction::WriteMetadata { metadata, mask });
    }
    out.extend(nx_write_metadata);
    if let Some(mut b) = slots[usize::from(OFPIT_GOTO_TABLE)] {
        b.skip(4)?;
        out.push(Instruction::GotoTable(b.u8()?));
    }
    verify_instructions(&out).map_err(|e| e.0)?;
    Ok(out)
}

/// Offset of the first well-framed `NXAST_WRITE_METADATA` (Nicira action
/// 22, 32 bytes) among the top-level actions of `list`, if any. Framing
/// errors are left to the action decoder.
fn find_nx_write_metadata(list: &[u8]) -> Option<usize> {
    let mut at = 0;
    while let Some(rest) = list.get(at..) {
        let v = wire::ActionView::new_checked(rest).ok()?;
        let len = usize::from(v.length());
        if len < 8 || len % 8 != 0 {
            return None;
        }
        let sub = rest.get(8..10).map(|b| u16::from_be_bytes([b[0], b[1]]));
        if v.action_type() == OFPAT_VENDOR
            && v.experimenter() == NX_VENDOR_ID
            && sub == Some(NXAST_WRITE_METADATA)
            && len == 32
        {
            return Some(at);
        }
        at += len;
    }
    None
}

/// OVS's `ofpacts_verify` over a whole instruction list.
pub(crate) fn verify_instructions(insts: &[Instruction]) -> Result<(), wire::VerifyError> {
    for i in insts {
        match i {
            Instruction::ApplyActions(a) => wire::verify(a, Outer::None)?,
            Instruction::WriteActions(a) => wire::verify(a, Outer::WriteActions)?,
            _ => {}
        }
    }
    // A conjunction anywhere makes every other instruction an error.
    let has_conj = insts.iter().any(|i| {
        matches!(i, Instruction::ApplyActions(a) if a.iter().any(|x| matches!(x, Action::Conjunction { .. })))
    });
    if has_conj && insts.len() > 1 {
        let other = insts
            .iter()
            .find(|i| !matches!(i, Instruction::ApplyActions(_)));
        return Err(wire::VerifyError(
            nx_error::NXBAC_BAD_CONJUNCTION,
            format!(
                "\"conjunction\" actions may be used along with \"note\" but not any other kind of action (such as the \"{}\" action used here)",
                other.map(|i| i.name()).unwrap_or("?")
            ),
        ));
    }
    Ok(())
}

/// Encodes instructions in OVS order; empty apply/write lists are omitted.
pub fn encode_instructions(insts: &[Instruction], out: &mut BytesMut) {
    let mut sorted: Vec<&Instruction> = insts.iter().collect();
    sorted.sort_by_key(|i| i.rank());
    for i in sorted {
        let start = out.len();
        match i {
            Instruction::Meter(m) => {
                out.put_u16(OFPIT_METER);
                out.put_u16(8);
                out.put_u32(*m);
            }
            Instruction::ApplyActions(a) | Instruction::WriteActions(a) => {
                if a.is_empty() {
                    continue;
                }
                let t = if matches!(i, Instruction::ApplyActions(_)) {
                    OFPIT_APPLY_ACTIONS
                } else {
                    OFPIT_WRITE_ACTIONS
                };
                out.put_u16(t);
                out.put_u16(0);
                out.put_u32(0);
                wire::encode_actions(a, out);
                if out.len() == start + 8 {
                    // Actions that encode to nothing (a set_field that sets
                    // no bit) leave no instruction, as in OVS's encoder.
                    out.truncate(start);
                    continue;
                }
                let len = ((out.len() - start) as u16).to_be_bytes();
                out[start + 2] = len[0];
                out[start + 3] = len[1];
            }
            Instruction::ClearActions => {
                out.put_u16(OFPIT_CLEAR_ACTIONS);
                out.put_u16(8);
                out.put_u32(0);
            }
            Instruction::WriteMetadata { metadata, mask } => {
                out.put_u16(OFPIT_WRITE_METADATA);
                out.put_u16(24);
                out.put_u32(0);
                out.put_u64(*metadata);
                out.put_u64(*mask);
            }
            Instruction::GotoTable(t) => {
                out.put_u16(OFPIT_GOTO_TABLE);
                out.put_u16(8);
                out.put_u8(*t);
                out.put_bytes(0, 3);
            }
        }
    }
}

/// Bytes [`encode_instructions`] would append.
pub fn instructions_encoded_len(insts: &[Instruction]) -> usize {
    let mut b = BytesMut::new();
    encode_instructions(insts, &mut b);
    b.len()
}

#[cfg(test)]
mod tests {
    use super::super::tests_util::unhex;
    use super::*;

    fn dec(hex: &str) -> Result<Vec<Instruction>, OfpError> {
        decode_instructions(&mut Reader::new(&unhex(hex)))
    }

    /// NXAST_WRITE_METADATA inside apply-actions, as OVS 3.1's
    /// `ovs-ofctl ofp-print` decodes it: the write_metadata instruction,
    /// last among the apply actions and not next to a real one.
    #[test]
    fn nx_write_metadata_becomes_the_instruction_as_in_ovs() {
        let wm = "ffff002000002320 0016000000000000 0000000000000005 00000000000000ff";
        let out = "0000001000000001 ffe5000000000000";
        let meta = Instruction::WriteMetadata {
            metadata: 5,
            mask: 0xff,
        };
        assert_eq!(
            dec(&format!("0004002800000000 {wm}")),
            Ok(vec![Instruction::ApplyActions(vec![]), meta.clone()])
        );
        let ins = dec(&format!("0004003800000000 {out} {wm}")).unwrap();
        assert_eq!(ins[1], meta);
        assert_eq!(
            super::super::format_instructions(&ins),
            "output:1,write_metadata:0x5/0xff"
        );
        assert_eq!(
            dec(&format!("0004003800000000 {wm} {out}")),
            Err(OfpError::OFPBAC_UNSUPPORTED_ORDER)
        );
        assert_eq!(
            dec(&format!(
                "0004002800000000 {wm} 0002001800000000 0000000000000001 00000000000000ff"
            )),
            Err(OfpError::OFPBAC_UNSUPPORTED_ORDER)
        );
        assert_eq!(
            dec(&format!("0003002800000000 {wm}")),
            Err(OfpError::OFPBAC_BAD_TYPE)
        );
        // Nested (clone) or in a plain list (packet-out, bucket).
        assert_eq!(
            dec(&format!(
                "0004003800000000 ffff003000002320 002a000000000000 {wm}"
            )),
            Err(OfpError::OFPBIC_UNSUP_INST)
        );
        assert_eq!(
            crate::action::decode_actions(&mut Reader::new(&unhex(wm))),
            Err(OfpError::OFPBIC_UNSUP_INST)
        );
        let nonzero = wm.replacen("0016000000000000", "0016000000000001", 1);
        assert_eq!(
            dec(&format!("0004002800000000 {nonzero}")),
            Err(nx_error::NXBRC_MUST_BE_ZERO)
        );
    }

    fn enc(i: &[Instruction]) -> String {
        let mut b = BytesMut::new();
        encode_instructions(i, &mut b);
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn apply_then_goto_matches_ovs_bytes() {
        // "actions=output:1,goto_table:2"
        let hex =
            "000400180000000000000010000000010000000000000000 0001000802000000".replace(' ', "");
        let i = dec(&hex).unwrap();
        assert_eq!(
            i,
            vec![
                Instruction::ApplyActions(vec![Action::Output {
                    port: 1,
                    max_len: 0
                }]),
                Instruction::GotoTable(2)
            ]
        );
        assert_eq!(enc(&i), hex);
        assert_eq!(instructions_encoded_len(&i), hex.len() / 2);
    }

    #[test]
    fn any_wire_order_decodes_to_canonical_order() {
        let hex = "0001000802000000 0005000800000000 0006000800000007 \
                   0002001800000000 0000000000000001 00000000000000ff"
            .replace(' ', "");
        let i = dec(&hex).unwrap();
        assert_eq!(
            i,
            vec![
                Instruction::Meter(7),
                Instruction::ClearActions,
                Instruction::WriteMetadata {
                    metadata: 1,
                    mask: 0xff
                },
                Instruction::GotoTable(2),
            ]
        );
    }

    #[test]
    fn instruction_errors_match_ovs() {
        assert_eq!(
            dec("0001000802000000 0001000803000000"
                .replace(' ', "")
                .as_str()),
            Err(nx_error::OFPBIC_DUP_INST)
        );
        assert_eq!(dec("0009000800000000"), Err(OfpError::OFPBIC_UNKNOWN_INST));
        assert_eq!(
            dec("ffff000800000000"),
            Err(OfpError::OFPBIC_BAD_EXPERIMENTER)
        );
        assert_eq!(
            dec("0001001002000000 0000000000000000"
                .replace(' ', "")
                .as_str()),
            Err(OfpError::OFPBIC_BAD_LEN)
        );
        assert_eq!(dec("0001000802"), Err(OfpError::OFPBIC_BAD_LEN));
        assert_eq!(dec("0004002000000000"), Err(OfpError::OFPBIC_BAD_LEN));
        // write_actions may not hold exit.
        assert_eq!(
            dec("0003001800000000ffff0010000023200011000000000000"),
            Err(OfpError::OFPBAC_BAD_TYPE)
        );
    }

    #[test]
    fn empty_action_instructions_are_not_encoded() {
        assert_eq!(
            enc(&[
                Instruction::ApplyActions(vec![]),
                Instruction::WriteActions(vec![])
            ]),
            ""
        );
    }

    #[test]
    fn instruction_view_reads_ovs_bytes_and_setters_reach_decode() {
        // "actions=output:1,goto_table:2", as ovs-ofctl encodes it.
        let bytes = unhex("000400180000000000000010000000010000000000000000 0001000802000000");
        let v = InstructionView::new_checked(&bytes[..]).unwrap();
        assert_eq!((v.inst_type(), v.length()), (OFPIT_APPLY_ACTIONS, 24));
        let goto = InstructionView::new_checked(&bytes[24..]).unwrap();
        assert_eq!(
            (goto.inst_type(), goto.tail()),
            (OFPIT_GOTO_TABLE, &[2, 0, 0, 0][..])
        );
        crate::view::testing::assert_len_checks::<InstructionView<_>>(&bytes[24..]);
        let mut v = InstructionView::new_checked(bytes[..24].to_vec()).unwrap();
        v.set_inst_type(OFPIT_WRITE_ACTIONS);
        assert_eq!(
            decode_instructions(&mut Reader::new(&v.into_inner())).unwrap(),
            [Instruction::WriteActions(vec![Action::Output {
                port: 1,
                max_len: 0
            }])]
        );
    }
}
