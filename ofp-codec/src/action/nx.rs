//! Nicira extension actions (`OFPAT_EXPERIMENTER`, vendor 0x2320) other than
//! `ct`/`nat` (see `ct.rs`) and `learn` (see `learn.rs`).
//!
//! Every Nicira action starts `type=0xffff len(2) vendor=0x00002320
//! subtype(2)`, 10 bytes, and is zero-padded to a multiple of 8.

use bytes::{BufMut, BytesMut};

use super::fieldref::{self as fr, Subfield};
use super::wire::{Raw, all_zero, finish, start_nx};
use super::{Action, Controller, NX_CTLR_NO_METER, OFPR_ACTION, Resubmit, SetField, SetFieldForm};
use super::{learn, nx_error, port};
use crate::error::OfpError;
use crate::reader::Reader;

pub(crate) const NXAST_RESUBMIT: u16 = 1;
pub(crate) const NXAST_SET_TUNNEL: u16 = 2;
pub(crate) const NXAST_SET_TUNNEL64: u16 = 9;
pub(crate) const NXAST_POP_QUEUE: u16 = 5;
pub(crate) const NXAST_REG_MOVE: u16 = 6;
pub(crate) const NXAST_REG_LOAD: u16 = 7;
pub(crate) const NXAST_NOTE: u16 = 8;
pub(crate) const NXAST_RESUBMIT_TABLE: u16 = 14;
pub(crate) const NXAST_OUTPUT_REG: u16 = 15;
pub(crate) const NXAST_LEARN: u16 = 16;
pub(crate) const NXAST_EXIT: u16 = 17;
pub(crate) const NXAST_FIN_TIMEOUT: u16 = 19;
pub(crate) const NXAST_CONTROLLER: u16 = 20;
pub(crate) const NXAST_DEC_TTL_CNT_IDS: u16 = 21;
pub(crate) const NXAST_OUTPUT_REG2: u16 = 32;
pub(crate) const NXAST_REG_LOAD2: u16 = 33;
pub(crate) const NXAST_CONJUNCTION: u16 = 34;
pub(crate) const NXAST_CT: u16 = 35;
pub(crate) const NXAST_NAT: u16 = 36;
pub(crate) const NXAST_CONTROLLER2: u16 = 37;
pub(crate) const NXAST_CLONE: u16 = 42;
pub(crate) const NXAST_CT_CLEAR: u16 = 43;
pub(crate) const NXAST_RESUBMIT_TABLE_CT: u16 = 44;
pub(crate) const NXAST_LEARN2: u16 = 45;

const VAR: usize = 65536 - 8;

/// Length bounds of the Nicira subtypes rvs decodes on OpenFlow 1.3.
pub(crate) fn bounds(subtype: u16) -> Option<(usize, usize)> {
    Some(match subtype {
        NXAST_RESUBMIT | NXAST_RESUBMIT_TABLE | NXAST_RESUBMIT_TABLE_CT => (16, 16),
        NXAST_EXIT | NXAST_CT_CLEAR | NXAST_CONTROLLER | NXAST_CONJUNCTION => (16, 16),
        NXAST_POP_QUEUE | NXAST_FIN_TIMEOUT => (16, 16),
        NXAST_REG_MOVE => (16, VAR),
        NXAST_REG_LOAD | NXAST_OUTPUT_REG | NXAST_OUTPUT_REG2 => (24, 24),
        NXAST_REG_LOAD2 | NXAST_NOTE | NXAST_DEC_TTL_CNT_IDS | NXAST_CONTROLLER2 => (16, VAR),
        NXAST_NAT => (16, VAR),
        NXAST_CT => (24, VAR),
        NXAST_LEARN => (32, VAR),
        NXAST_LEARN2 => (40, VAR),
        NXAST_SET_TUNNEL => (16, 16),
        NXAST_SET_TUNNEL64 => (24, 24),
        10 | 38 | 41 => (32, 32), // multipath, sample2/3
        27..=29 => (24, 24),      // stack push/pop, sample
        39 => (16, 16),           // output_trunc
        49 => (24, VAR),          // check_pkt_larger
        12 | 13 => (32, VAR),     // bundle, bundle_load
        // Nicira actions OVS knows on OpenFlow 1.3 but rvs does not
        // implement: framed with OVS's length rules, then refused with
        // OFPBAC_BAD_VENDOR_TYPE (see `decode`); write_metadata is the
        // instruction, only at the end of apply-actions (`instruction.rs`).
        22 => (32, 32),                  // write_metadata
        50 => (24, 24),                  // delete_field
        47 | 48 | 254 | 255 => (16, 16), // decap, dec_nsh_ttl, debug
        NXAST_CLONE => (16, VAR),
        46 => (16, VAR), // encap
        _ => return None,
    })
}

pub(crate) fn decode(sub: u16, raw: Raw<'_>, out: &mut Vec<Action>) -> Result<(), OfpError> {
    let mut r = raw.body;
    r.skip(10)?;
    let a = match sub {
        NXAST_RESUBMIT => Action::Resubmit(Resubmit {
            in_port: port::from_u16(r.u16()?),
            table: 0xff,
            with_ct_orig: false,
            legacy: true,
        }),
        NXAST_RESUBMIT_TABLE | NXAST_RESUBMIT_TABLE_CT => {
            let in_port = port::from_u16(r.u16()?);
            let table = r.u8()?;
            if !all_zero(r.take(3)?) {
                return Err(OfpError::OFPBAC_BAD_ARGUMENT);
            }
            Action::Resubmit(Resubmit {
                in_port,
                table,
                with_ct_orig: sub == NXAST_RESUBMIT_TABLE_CT,
                legacy: false,
            })
        }
        NXAST_EXIT => Action::Exit,
        NXAST_SET_TUNNEL => {
            r.skip(2)?;
            Action::SetTunnel {
                tun_id: u64::from(r.u32()?),
                is64: false,
            }
        }
        NXAST_SET_TUNNEL64 => {
            r.skip(6)?;
            Action::SetTunnel {
                tun_id: r.u64()?,
                is64: true,
            }
        }
        NXAST_CT_CLEAR => Action::CtClear,
        NXAST_POP_QUEUE => Action::PopQueue,
        NXAST_FIN_TIMEOUT => Action::FinTimeout {
            idle_timeout_s: r.u16()?,
            hard_timeout_s: r.u16()?,
        },
        NXAST_NOTE => Action::Note(r.rest().to_vec()),
        NXAST_REG_MOVE => decode_move(&mut r)?,
        NXAST_REG_LOAD => decode_reg_load(&mut r)?,
        NXAST_REG_LOAD2 => {
            let (field, value, mask) = fr::pull_entry(&mut r, true)?;
            if !all_zero(r.rest()) || !fr::writable(field) {
                return Err(OfpError::OFPBAC_BAD_SET_ARGUMENT);
            }
            Action::SetField(SetField {
                field,
                value,
                mask,
                form: SetFieldForm::RegLoad2,
            })
        }
        NXAST_OUTPUT_REG => {
            let ofs_nbits = r.u16()?;
            let h = r.u32()?;
            let max_len = r.u16()?;
            if !all_zero(r.take(6)?) {
                return Err(OfpError::OFPBAC_BAD_ARGUMENT);
            }
            let field = fr::from_header(h).ok_or(OfpError::OFPBAC_BAD_SET_TYPE)?;
            let src = Subfield::from_ofs_nbits(field, ofs_nbits);
            src.check_range()?;
            Action::OutputReg {
                src,
                max_len,
                v2: false,
            }
        }
        NXAST_OUTPUT_REG2 => {
            let ofs_nbits = r.u16()?;
            let max_len = r.u16()?;
            let field = fr::pull_header(&mut r)?;
            if !all_zero(r.rest()) {
                return Err(nx_error::NXBRC_MUST_BE_ZERO);
            }
            let src = Subfield::from_ofs_nbits(field, ofs_nbits);
            src.check_range()?;
            Action::OutputReg {
                src,
                max_len,
                v2: true,
            }
        }
        NXAST_DEC_TTL_CNT_IDS => {
            let n = usize::from(r.u16()?);
            if !all_zero(r.take(4)?) {
                return Err(nx_error::NXBRC_MUST_BE_ZERO);
            }
            if r.remaining() < 2 * n {
                return Err(OfpError::OFPBAC_BAD_LEN);
            }
            let mut ids = Vec::with_capacity(n);
            for _ in 0..n {
                ids.push(r.u16()?);
            }
            Action::DecTtl { ids, cnt_ids: true }
        }
        NXAST_CONTROLLER => {
            let max_len = r.u16()?;
            let controller_id = r.u16()?;
            let reason = r.u8()?;
            Action::Controller(Controller {
                max_len,
                controller_id,
                reason,
                userdata: Vec::new(),
                pause: false,
                meter_id: NX_CTLR_NO_METER,
                v2: false,
            })
        }
        NXAST_CONTROLLER2 => decode_controller2(&mut r)?,
        NXAST_CLONE => {
            r.skip(6)?;
            let nested = super::wire::decode_list(&mut r, raw.depth + 1)?;
            super::wire::verify(&nested, super::wire::Outer::None).map_err(|e| e.0)?;
            Action::Clone(nested)
        }
        NXAST_CONJUNCTION => {
            let clause = r.u8()?;
            let n_clauses = r.u8()?;
            let id = r.u32()?;
            if !(2..=64).contains(&n_clauses) || clause >= n_clauses {
                return Err(nx_error::NXBAC_BAD_CONJUNCTION);
            }
            Action::Conjunction {
                id,
                clause,
                n_clauses,
            }
        }
        NXAST_LEARN | NXAST_LEARN2 => learn::decode(sub, &mut r)?,
        s if super::nx_more::handles(s) => super::nx_more::decode(s, &mut r)?,
        // write_metadata where no instruction may stand (nested in clone
        // or ct, a packet-out, a group bucket): apply-actions turns it into
        // the instruction before this (`instruction.rs`).
        22 => {
            if r.take(6)?.iter().any(|&z| z != 0) {
                return Err(nx_error::NXBRC_MUST_BE_ZERO);
            }
            return Err(OfpError::OFPBIC_UNSUP_INST);
        }
        _ => return Err(OfpError::OFPBAC_BAD_VENDOR_TYPE),
    };
    out.push(a);
    Ok(())
}

fn decode_move(r: &mut Reader<'_>) -> Result<Action, OfpError> {
    let n_bits = r.u16()?;
    let src_ofs = r.u16()?;
    let dst_ofs = r.u16()?;
    let sf = fr::pull_header(r)?;
    let df = fr::pull_header(r)?;
    if !all_zero(r.rest()) {
        return Err(nx_error::NXBRC_MUST_BE_ZERO);
    }
    let src = Subfield {
        field: sf,
        ofs: src_ofs,
        n_bits,
    };
    let dst = Subfield {
        field: df,
        ofs: dst_ofs,
        n_bits,
    };
    src.check_range()?;
    dst.check_range()?;
    if !fr::writable(df) {
        return Err(OfpError::OFPBAC_BAD_SET_ARGUMENT);
    }
    Ok(Action::Move { src, dst })
}

fn decode_reg_load(r: &mut Reader<'_>) -> Result<Action, OfpError> {
    let ofs_nbits = r.u16()?;
    let h = r.u32()?;
    let value = r.u64()?;
    let field = fr::from_header(h).ok_or(OfpError::OFPBAC_BAD_SET_TYPE)?;
    let dst = Subfield::from_ofs_nbits(field, ofs_nbits);
    dst.check_range()?;
    if !fr::writable(field) {
        return Err(OfpError::OFPBAC_BAD_SET_ARGUMENT);
    }
    if dst.n_bits < 64 && value >> dst.n_bits != 0 {
        return Err(OfpError::OFPBAC_BAD_ARGUMENT);
    }
    let w = fr::n_bytes(field);
    let mut v = vec![0u8; w];
    let mut m = vec![0u8; w];
    bits_put(&mut v, dst.ofs, dst.n_bits, value);
    bits_put(&mut m, dst.ofs, dst.n_bits, u64::MAX);
    Ok(Action::SetField(SetField {
        field,
        value: v,
        mask: m,
        form: SetFieldForm::RegLoad,
    }))
}

/// Writes the low `n_bits` of `v` at bit `ofs` (bit 0 = least significant
/// bit of the last byte) of the big-endian buffer `buf`.
pub(crate) fn bits_put(buf: &mut [u8], ofs: u16, n_bits: u16, v: u64) {
    let len = buf.len();
    for i in 0..n_bits {
        let bit = usize::from(ofs) + usize::from(i);
        if bit >= len * 8 {
            break;
        }
        let byte = len - 1 - bit / 8;
        let mask = 1u8 << (bit % 8);
        if i < 64 && (v >> i) & 1 == 1 {
            buf[byte] |= mask;
        } else {
            buf[byte] &= !mask;
        }
    }
}

/// Reads `n_bits` (≤ 64) at bit `ofs` of the big-endian buffer `buf`.
pub(crate) fn bits_get(buf: &[u8], ofs: u16, n_bits: u16) -> u64 {
    let len = buf.len();
    let mut v = 0u64;
    for i in (0..n_bits.min(64)).rev() {
        let bit = usize::from(ofs) + usize::from(i);
        let b = if bit < len * 8 {
            (buf[len - 1 - bit / 8] >> (bit % 8)) & 1
        } else {
            0
        };
        v = (v << 1) | u64::from(b);
    }
    v
}

fn bit_set(buf: &[u8], bit: usize) -> bool {
    let len = buf.len();
    bit < len * 8 && (buf[len - 1 - bit / 8] >> (bit % 8)) & 1 == 1
}

/// Splits a set_field mask into the contiguous bit runs (each ≤ 64 bits) OVS
/// emits as separate `NXAST_REG_LOAD`s (`next_load_segment`).
pub(crate) fn load_segments(sf: &SetField) -> Vec<(Subfield, u64)> {
    let n_bits = usize::from(fr::n_bits(sf.field));
    let mut segs = Vec::new();
    let mut start = 0usize;
    while start < n_bits {
        let Some(ofs) = (start..n_bits).find(|&b| bit_set(&sf.mask, b)) else {
            break;
        };
        let limit = (ofs + 64).min(n_bits);
        let end = (ofs + 1..limit)
            .find(|&b| !bit_set(&sf.mask, b))
            .unwrap_or(limit);
        let sub = Subfield {
            field: sf.field,
            ofs: ofs as u16,
            n_bits: (end - ofs) as u16,
        };
        segs.push((sub, bits_get(&sf.value, sub.ofs, sub.n_bits)));
        start = end;
    }
    segs
}

/// OVS `set_field_to_nxast`: REG_LOAD2 when asked for or when the field has
/// no NXM header; otherwise one REG_LOAD per contiguous run of mask bits.
pub(crate) fn encode_reg_load(sf: &SetField, out: &mut BytesMut) {
    if sf.form == SetFieldForm::RegLoad2 || fr::nxm_header(sf.field).is_none() {
        let s = start_nx(out, NXAST_REG_LOAD2);
        let full = sf.mask.iter().all(|&b| b == 0xff);
        fr::put_nxm_header(sf.field, !full, out);
        out.put_slice(&sf.value);
        if !full {
            out.put_slice(&sf.mask);
        }
        finish(out, s, 16);
        return;
    }
    let h = fr::nxm_header(sf.field).unwrap_or(0);
    for (sub, v) in load_segments(sf) {
        let s = start_nx(out, NXAST_REG_LOAD);
        out.put_u16(sub.ofs_nbits());
        out.put_u32(h);
        out.put_u64(v);
        finish(out, s, 24);
    }
}

pub(crate) fn encode_dec_ttl_cnt_ids(ids: &[u16], out: &mut BytesMut) {
    let s = start_nx(out, NXAST_DEC_TTL_CNT_IDS);
    out.put_u16(ids.len() as u16);
    out.put_bytes(0, 4);
    for id in ids {
        out.put_u16(*id);
    }
    finish(out, s, 16);
}

// NXAC2PT_* property types of NXAST_CONTROLLER2.
const NXAC2PT_MAX_LEN: u16 = 0;
const NXAC2PT_CONTROLLER_ID: u16 = 1;
const NXAC2PT_REASON: u16 = 2;
const NXAC2PT_USERDATA: u16 = 3;
const NXAC2PT_PAUSE: u16 = 4;
const NXAC2PT_METER_ID: u16 = 5;

fn decode_controller2(r: &mut Reader<'_>) -> Result<Action, OfpError> {
    if !all_zero(r.take(6)?) {
        return Err(nx_error::NXBRC_MUST_BE_ZERO);
    }
    let mut c = Controller {
        max_len: u16::MAX,
        controller_id: 0,
        reason: OFPR_ACTION,
        userdata: Vec::new(),
        pause: false,
        meter_id: NX_CTLR_NO_METER,
        v2: true,
    };
    while !r.is_empty() {
        let h = r.peek(4).ok_or(nx_error::OFPBPC_BAD_LEN)?;
        let ptype = u16::from_be_bytes([h[0], h[1]]);
        let plen = usize::from(u16::from_be_bytes([h[2], h[3]]));
        if plen < 4 || plen.div_ceil(8) * 8 > r.remaining() {
            return Err(nx_error::OFPBPC_BAD_LEN);
        }
        let mut p = r.sub(plen.div_ceil(8) * 8)?;
        p.skip(4)?;
        let payload = p.take(plen - 4)?;
        // OVS accepts any payload at least as long as a u8/u16 value and
        // exactly 4 bytes for a u32.
        let at_least = |n: usize| {
            if payload.len() >= n {
                Ok(payload)
            } else {
                Err(nx_error::OFPBPC_BAD_LEN)
            }
        };
        match ptype {
            NXAC2PT_MAX_LEN => {
                let p = at_least(2)?;
                c.max_len = u16::from_be_bytes([p[0], p[1]]);
            }
            NXAC2PT_CONTROLLER_ID => {
                let p = at_least(2)?;
                c.controller_id = u16::from_be_bytes([p[0], p[1]]);
            }
            NXAC2PT_REASON => c.reason = at_least(1)?[0],
            NXAC2PT_USERDATA => c.userdata = payload.to_vec(),
            NXAC2PT_PAUSE => c.pause = true,
            NXAC2PT_METER_ID => {
                if payload.len() != 4 {
                    return Err(nx_error::OFPBPC_BAD_LEN);
                }
                c.meter_id = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
            }
            _ => return Err(nx_error::OFPBPC_BAD_TYPE),
        }
    }
    Ok(Action::Controller(c))
}

fn put_prop(out: &mut BytesMut, ptype: u16, payload: &[u8]) {
    out.put_u16(ptype);
    out.put_u16((4 + payload.len()) as u16);
    out.put_slice(payload);
    let pad = (4 + payload.len()).div_ceil(8) * 8 - (4 + payload.len());
    out.put_bytes(0, pad);
}

fn encode_controller(c: &Controller, out: &mut BytesMut) {
    if !c.userdata.is_empty() || c.pause || c.meter_id != NX_CTLR_NO_METER || c.v2 {
        let s = start_nx(out, NXAST_CONTROLLER2);
        out.put_bytes(0, 6);
        if c.max_len != u16::MAX {
            // 16-bit properties carry 4 bytes (the value and 2 zero bytes).
            put_prop(
                out,
                NXAC2PT_MAX_LEN,
                &[(c.max_len >> 8) as u8, c.max_len as u8, 0, 0],
            );
        }
        if c.controller_id != 0 {
            let id = c.controller_id;
            put_prop(
                out,
                NXAC2PT_CONTROLLER_ID,
                &[(id >> 8) as u8, id as u8, 0, 0],
            );
        }
        if c.reason != OFPR_ACTION {
            put_prop(out, NXAC2PT_REASON, &[c.reason]);
        }
        if !c.userdata.is_empty() {
            put_prop(out, NXAC2PT_USERDATA, &c.userdata);
        }
        if c.pause {
            put_prop(out, NXAC2PT_PAUSE, &[]);
        }
        if c.meter_id != NX_CTLR_NO_METER {
            put_prop(out, NXAC2PT_METER_ID, &c.meter_id.to_be_bytes());
        }
        finish(out, s, 16);
    } else {
        let s = start_nx(out, NXAST_CONTROLLER);
        out.put_u16(c.max_len);
        out.put_u16(c.controller_id);
        out.put_u8(c.reason);
        finish(out, s, 16);
    }
}

/// Encodes a Nicira action (everything `of13::encode` and `ct` do not).
pub(crate) fn encode(a: &Action, out: &mut BytesMut) {
    match a {
        Action::Resubmit(rs) => {
            let p16 = port::to_u16(rs.in_port);
            if rs.table == 0xff && rs.legacy {
                let s = start_nx(out, NXAST_RESUBMIT);
                out.put_u16(p16);
                finish(out, s, 16);
            } else {
                let sub = if rs.with_ct_orig {
                    NXAST_RESUBMIT_TABLE_CT
                } else {
                    NXAST_RESUBMIT_TABLE
                };
                let s = start_nx(out, sub);
                out.put_u16(p16);
                out.put_u8(rs.table);
                finish(out, s, 16);
            }
        }
        Action::Move { src, dst } => {
            let s = start_nx(out, NXAST_REG_MOVE);
            out.put_u16(dst.n_bits);
            out.put_u16(src.ofs);
            out.put_u16(dst.ofs);
            fr::put_nxm_header(src.field, false, out);
            fr::put_nxm_header(dst.field, false, out);
            finish(out, s, 16);
        }
        Action::Note(data) => {
            let s = start_nx(out, NXAST_NOTE);
            out.put_slice(data);
            finish(out, s, 16);
        }
        Action::OutputReg { src, max_len, v2 } => {
            if *v2 || fr::nxm_header(src.field).is_none() {
                let s = start_nx(out, NXAST_OUTPUT_REG2);
                out.put_u16(src.ofs_nbits());
                out.put_u16(*max_len);
                fr::put_nxm_header(src.field, false, out);
                finish(out, s, 24);
            } else {
                let s = start_nx(out, NXAST_OUTPUT_REG);
                out.put_u16(src.ofs_nbits());
                out.put_u32(fr::nxm_header(src.field).unwrap_or(0));
                out.put_u16(*max_len);
                finish(out, s, 24);
            }
        }
        Action::Controller(c) => encode_controller(c, out),
        Action::Exit => {
            let s = start_nx(out, NXAST_EXIT);
            finish(out, s, 16);
        }
        Action::CtClear => {
            let s = start_nx(out, NXAST_CT_CLEAR);
            finish(out, s, 16);
        }
        Action::PopQueue => {
            let s = start_nx(out, NXAST_POP_QUEUE);
            finish(out, s, 16);
        }
        Action::FinTimeout {
            idle_timeout_s,
            hard_timeout_s,
        } => {
            let s = start_nx(out, NXAST_FIN_TIMEOUT);
            out.put_u16(*idle_timeout_s);
            out.put_u16(*hard_timeout_s);
            finish(out, s, 16);
        }
        Action::Conjunction {
            id,
            clause,
            n_clauses,
        } => {
            let s = start_nx(out, NXAST_CONJUNCTION);
            out.put_u8(*clause);
            out.put_u8(*n_clauses);
            out.put_u32(*id);
            finish(out, s, 16);
        }
        Action::Learn(l) => learn::encode(l, out),
        Action::Clone(nested) => {
            let s = start_nx(out, NXAST_CLONE);
            out.put_bytes(0, 6);
            super::wire::encode_actions(nested, out);
            finish(out, s, 16);
        }
        // Standard actions, ct and nat are encoded by their own files.
        other => {
            super::nx_more::encode(other, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_util::{enc, unhex};
    use super::*;
    use crate::action::decode_actions;
    use crate::field::Field;

    fn dec(hex: &str) -> Result<Vec<Action>, OfpError> {
        decode_actions(&mut Reader::new(&unhex(hex)))
    }

    #[test]
    fn resubmit_forms_match_ovs_bytes() {
        // "resubmit(,3)" and "resubmit:3" (OVS encodes both as RESUBMIT_TABLE).
        let t = "ffff001000002320000efff803000000";
        let a = dec(t).unwrap();
        assert_eq!(
            a,
            vec![Action::Resubmit(Resubmit {
                in_port: port::OFPP_IN_PORT,
                table: 3,
                with_ct_orig: false,
                legacy: false
            })]
        );
        assert_eq!(enc(&a), t);
        // Legacy NXAST_RESUBMIT round-trips as itself.
        let legacy = "ffff00100000232000010003000000ff";
        let a = dec(legacy).unwrap();
        assert_eq!(enc(&a), "ffff0010000023200001000300000000");
        // Nonzero pad in RESUBMIT_TABLE.
        assert_eq!(
            dec("ffff001000002320000efff803000001"),
            Err(OfpError::OFPBAC_BAD_ARGUMENT)
        );
    }

    #[test]
    fn reg_load_and_move_match_ovs_bytes() {
        // "load:0x1->NXM_NX_REG0[0..7]"
        let load = "ffff0018000023200007000700010004 0000000000000001".replace(' ', "");
        let a = dec(&load).unwrap();
        assert_eq!(
            a,
            vec![Action::SetField(SetField {
                field: Field::Reg(0),
                value: vec![0, 0, 0, 1],
                mask: vec![0, 0, 0, 0xff],
                form: SetFieldForm::RegLoad
            })]
        );
        assert_eq!(enc(&a), load);
        // Value wider than n_bits.
        assert_eq!(
            dec("ffff00180000232000070007000100040000000000000100"),
            Err(OfpError::OFPBAC_BAD_ARGUMENT)
        );
        // Range past the field: reg0[30..33].
        assert_eq!(
            dec("ffff00180000232000070783000100040000000000000001"),
            Err(OfpError::OFPBAC_BAD_SET_LEN)
        );
        // "move:reg0[0..15]->reg1[16..31]"
        let mv = "ffff00180000232000060010000000100001000400010204";
        let a = dec(mv).unwrap();
        assert_eq!(
            a,
            vec![Action::Move {
                src: Subfield {
                    field: Field::Reg(0),
                    ofs: 0,
                    n_bits: 16
                },
                dst: Subfield {
                    field: Field::Reg(1),
                    ofs: 16,
                    n_bits: 16
                },
            }]
        );
        assert_eq!(enc(&a), mv);
    }

    #[test]
    fn note_exit_ct_clear_conjunction() {
        // "note:01.02.03,exit,ct_clear" as OVS encodes them.
        let hex = "ffff0010000023200008010203000000\
                   ffff0010000023200011000000000000\
                   ffff001000002320002b000000000000";
        let a = dec(hex).unwrap();
        assert_eq!(
            a,
            vec![
                Action::Note(vec![1, 2, 3, 0, 0, 0]),
                Action::Exit,
                Action::CtClear
            ]
        );
        assert_eq!(enc(&a), hex.replace(' ', ""));
        let conj = "ffff0010000023200022000200000007";
        let a = dec(conj).unwrap();
        assert_eq!(
            a,
            vec![Action::Conjunction {
                id: 7,
                clause: 0,
                n_clauses: 2
            }]
        );
        assert_eq!(enc(&a), conj);
        // clause >= n_clauses.
        assert_eq!(
            dec("ffff0010000023200022020200000007"),
            Err(nx_error::NXBAC_BAD_CONJUNCTION)
        );
        // conjunction mixed with another action.
        let mixed = format!("{conj}ffff0010000023200011000000000000");
        assert_eq!(dec(&mixed), Err(nx_error::NXBAC_BAD_CONJUNCTION));
    }

    #[test]
    fn segments_split_noncontiguous_masks() {
        let sf = SetField {
            field: Field::Reg(0),
            value: vec![0, 0x10, 0, 0x01],
            mask: vec![0, 0xf0, 0, 0x0f],
            form: SetFieldForm::RegLoad,
        };
        let segs = load_segments(&sf);
        assert_eq!(segs.len(), 2);
        assert_eq!(
            segs[0].0,
            Subfield {
                field: Field::Reg(0),
                ofs: 0,
                n_bits: 4
            }
        );
        assert_eq!(segs[0].1, 1);
        assert_eq!(
            segs[1].0,
            Subfield {
                field: Field::Reg(0),
                ofs: 20,
                n_bits: 4
            }
        );
        assert_eq!(segs[1].1, 1);
    }
}
