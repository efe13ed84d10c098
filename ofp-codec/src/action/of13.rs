//! Standard OpenFlow 1.3 actions: output, group, set_queue, push/pop VLAN and
//! MPLS, the TTL actions, and set_field.
//!
//! Layouts (all multiples of 8; `hdr` = type(2) len(2)):
//! ```text
//! OUTPUT      hdr port(4) max_len(2) pad(6)          16
//! GROUP, SET_QUEUE           hdr u32                   8
//! PUSH_VLAN/MPLS, POP_MPLS   hdr ethertype(2) pad(2)   8
//! SET_MPLS_TTL, SET_NW_TTL   hdr ttl(1) pad(3)         8
//! POP_VLAN, DEC_MPLS_TTL, DEC_NW_TTL  hdr pad(4)       8
//! SET_FIELD   hdr oxm(4+n) zero pad to 8              >= 8
//! ```

use bytes::{BufMut, BytesMut};

use super::fieldref as fr;
use super::port::*;
use super::wire::{Raw, all_zero, finish, start_of};
use super::{Action, SetField, SetFieldForm, nx};
use crate::error::OfpError;

pub(crate) const OFPAT_OUTPUT: u16 = 0;
pub(crate) const OFPAT_SET_MPLS_TTL: u16 = 15;
pub(crate) const OFPAT_DEC_MPLS_TTL: u16 = 16;
pub(crate) const OFPAT_PUSH_VLAN: u16 = 17;
pub(crate) const OFPAT_POP_VLAN: u16 = 18;
pub(crate) const OFPAT_PUSH_MPLS: u16 = 19;
pub(crate) const OFPAT_POP_MPLS: u16 = 20;
pub(crate) const OFPAT_SET_QUEUE: u16 = 21;
pub(crate) const OFPAT_GROUP: u16 = 22;
pub(crate) const OFPAT_SET_NW_TTL: u16 = 23;
pub(crate) const OFPAT_DEC_NW_TTL: u16 = 24;
pub(crate) const OFPAT_SET_FIELD: u16 = 25;

/// Length bounds of a standard action type OVS accepts on OpenFlow 1.3,
/// including the deprecated OpenFlow 1.1 set actions (types 1-10, 13, 14).
pub(crate) fn bounds(atype: u16) -> Option<(usize, usize)> {
    Some(match atype {
        OFPAT_OUTPUT => (16, 16),
        3 | 4 => (16, 16),
        1 | 2 | 5..=10 | 13 | 14 => (8, 8),
        OFPAT_SET_MPLS_TTL..=OFPAT_DEC_NW_TTL => (8, 8),
        OFPAT_SET_FIELD => (8, 65536 - 8),
        _ => return None,
    })
}

/// OVS's `ofpact_check_output_port` with no port limit.
pub(crate) fn check_output_port(port: u32) -> Result<(), OfpError> {
    match port {
        OFPP_IN_PORT | OFPP_TABLE | OFPP_NORMAL | OFPP_FLOOD | OFPP_ALL | OFPP_CONTROLLER
        | OFPP_LOCAL => Ok(()),
        p if p < 0xff00 => Ok(()),
        _ => Err(OfpError::OFPBAC_BAD_OUT_PORT),
    }
}

pub(crate) fn decode(atype: u16, raw: Raw<'_>, out: &mut Vec<Action>) -> Result<(), OfpError> {
    let mut r = raw.body;
    r.skip(4)?;
    let a = match atype {
        OFPAT_OUTPUT => {
            let port = r.u32()?;
            let max_len = r.u16()?;
            // ofputil_port_from_ofp11: the gap between 16-bit and reserved ports.
            if (0xff00..OFPP_MAX).contains(&port) {
                return Err(OfpError::OFPBAC_BAD_OUT_PORT);
            }
            check_output_port(port)?;
            Action::Output { port, max_len }
        }
        OFPAT_GROUP => Action::Group(r.u32()?),
        OFPAT_SET_QUEUE => Action::SetQueue(r.u32()?),
        OFPAT_PUSH_VLAN => {
            let et = r.u16()?;
            if et != 0x8100 && et != 0x88a8 {
                return Err(OfpError::OFPBAC_BAD_ARGUMENT);
            }
            Action::PushVlan(et)
        }
        OFPAT_POP_VLAN => Action::PopVlan,
        OFPAT_PUSH_MPLS => {
            let et = r.u16()?;
            if et != 0x8847 && et != 0x8848 {
                return Err(OfpError::OFPBAC_BAD_ARGUMENT);
            }
            Action::PushMpls(et)
        }
        OFPAT_POP_MPLS => Action::PopMpls(r.u16()?),
        OFPAT_SET_MPLS_TTL => Action::SetMplsTtl(r.u8()?),
        OFPAT_DEC_MPLS_TTL => Action::DecMplsTtl,
        OFPAT_SET_NW_TTL => Action::SetNwTtl(r.u8()?),
        OFPAT_DEC_NW_TTL => Action::DecTtl {
            ids: vec![0],
            cnt_ids: false,
        },
        OFPAT_SET_FIELD => {
            let (field, value, mask) = fr::pull_entry(&mut r, false).map_err(|e| {
                if e == OfpError::OFPBMC_BAD_MASK {
                    super::nx_error::OFPBAC_BAD_SET_MASK
                } else {
                    e
                }
            })?;
            if !all_zero(r.rest()) {
                return Err(OfpError::OFPBAC_BAD_SET_ARGUMENT);
            }
            // OpenFlow 1.5 (and OVS on every version): a vlan_vid set_field
            // must have OFPVID_PRESENT set.
            let vid_absent = field == crate::field::Field::VlanVid
                && value.first().is_some_and(|b| b & 0x10 == 0);
            if !fr::writable(field) || !fr::value_valid(field, &value) || vid_absent {
                return Err(OfpError::OFPBAC_BAD_SET_ARGUMENT);
            }
            Action::SetField(SetField {
                field,
                value,
                mask,
                form: SetFieldForm::SetField,
            })
        }
        // Deprecated OpenFlow 1.1 set actions.
        _ => super::legacy::decode_of11(atype, &mut r)?,
    };
    out.push(a);
    Ok(())
}

/// Encodes `a` if it is a standard action (or a set_field, which may fall
/// back to Nicira forms); returns false for Nicira-only actions.
pub(crate) fn encode(a: &Action, out: &mut BytesMut) -> bool {
    match a {
        Action::Output { port, max_len } => {
            let s = start_of(out, OFPAT_OUTPUT);
            out.put_u32(*port);
            out.put_u16(*max_len);
            finish(out, s, 16);
        }
        Action::Group(g) => put_u32(out, OFPAT_GROUP, *g),
        Action::SetQueue(q) => put_u32(out, OFPAT_SET_QUEUE, *q),
        Action::PushVlan(e) => put_u16(out, OFPAT_PUSH_VLAN, *e),
        Action::PopVlan => put_void(out, OFPAT_POP_VLAN),
        Action::PushMpls(e) => put_u16(out, OFPAT_PUSH_MPLS, *e),
        Action::PopMpls(e) => put_u16(out, OFPAT_POP_MPLS, *e),
        Action::SetMplsTtl(t) => put_u8(out, OFPAT_SET_MPLS_TTL, *t),
        Action::DecMplsTtl => put_void(out, OFPAT_DEC_MPLS_TTL),
        Action::SetNwTtl(t) => put_u8(out, OFPAT_SET_NW_TTL, *t),
        Action::DecTtl { ids, cnt_ids } => {
            if !*cnt_ids && ids.len() == 1 && ids[0] == 0 {
                put_void(out, OFPAT_DEC_NW_TTL);
            } else {
                nx::encode_dec_ttl_cnt_ids(ids, out);
            }
        }
        Action::SetField(sf) => encode_set_field(sf, out),
        Action::LegacySet(l) => encode_set_field(&l.as_set_field(), out),
        Action::SetTunnel { tun_id, .. } => {
            let s = start_of(out, OFPAT_SET_FIELD);
            fr::put_oxm_header(crate::field::Field::TunId, false, out);
            out.put_u64(*tun_id);
            finish(out, s, 8);
        }
        _ => return false,
    }
    true
}

fn put_void(out: &mut BytesMut, t: u16) {
    let s = start_of(out, t);
    finish(out, s, 8);
}
fn put_u8(out: &mut BytesMut, t: u16, v: u8) {
    let s = start_of(out, t);
    out.put_u8(v);
    finish(out, s, 8);
}
fn put_u16(out: &mut BytesMut, t: u16, v: u16) {
    let s = start_of(out, t);
    out.put_u16(v);
    finish(out, s, 8);
}
fn put_u32(out: &mut BytesMut, t: u16, v: u32) {
    let s = start_of(out, t);
    out.put_u32(v);
    finish(out, s, 8);
}

/// OVS `encode_SET_FIELD` for OpenFlow 1.3: reg_load forms stay Nicira;
/// full-width writes become OFPAT_SET_FIELD; partial writes become REG_LOAD.
fn encode_set_field(sf: &SetField, out: &mut BytesMut) {
    let full = sf.mask.iter().all(|&b| b == 0xff);
    match sf.form {
        SetFieldForm::RegLoad | SetFieldForm::RegLoad2 => nx::encode_reg_load(sf, out),
        SetFieldForm::SetField if full => {
            let s = start_of(out, OFPAT_SET_FIELD);
            fr::put_oxm_header(sf.field, false, out);
            out.put_slice(&sf.value);
            finish(out, s, 8);
        }
        SetFieldForm::SetField => nx::encode_reg_load(sf, out),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_util::{enc, unhex};
    use super::*;
    use crate::action::decode_actions;
    use crate::reader::Reader;

    fn dec(hex: &str) -> Result<Vec<Action>, OfpError> {
        decode_actions(&mut Reader::new(&unhex(hex)))
    }

    #[test]
    fn output_normal_and_controller_match_ovs_bytes() {
        // From `ovs-ofctl -O OpenFlow13 parse-flows` of "actions=NORMAL"
        // and "actions=controller:100".
        let normal = "0000001000fffffffa000000000000000000"[..0].to_string()
            + "00000010fffffffa0000000000000000";
        let acts = dec(&normal).unwrap();
        assert_eq!(
            acts,
            vec![Action::Output {
                port: OFPP_NORMAL,
                max_len: 0
            }]
        );
        assert_eq!(enc(&acts), normal);
        let ctl = "00000010fffffffd0064000000000000";
        let acts = dec(ctl).unwrap();
        assert_eq!(
            acts,
            vec![Action::Output {
                port: OFPP_CONTROLLER,
                max_len: 100
            }]
        );
        assert_eq!(enc(&acts), ctl);
    }

    #[test]
    fn group_queue_vlan_ttl_round_trip() {
        let hex = "001600080000000500150008000000030011000881000000\
                   0012000800000000001700080900000000180008000000000010000800000000";
        let acts = dec(hex).unwrap();
        assert_eq!(
            acts,
            vec![
                Action::Group(5),
                Action::SetQueue(3),
                Action::PushVlan(0x8100),
                Action::PopVlan,
                Action::SetNwTtl(9),
                Action::DecTtl {
                    ids: vec![0],
                    cnt_ids: false
                },
                Action::DecMplsTtl,
            ]
        );
        assert_eq!(enc(&acts), hex);
    }

    #[test]
    fn output_port_rules() {
        // Port in the 16-bit reserved gap.
        assert_eq!(
            dec("000000100000ff010000000000000000"),
            Err(OfpError::OFPBAC_BAD_OUT_PORT)
        );
        // OFPP_ANY is not an output port.
        assert_eq!(
            dec("00000010ffffffff0000000000000000"),
            Err(OfpError::OFPBAC_BAD_OUT_PORT)
        );
        // Truncated output.
        assert_eq!(dec("00000010fffffffa"), Err(OfpError::OFPBAC_BAD_LEN));
        // Wrong length for a fixed-size action.
        assert_eq!(
            dec("0016001000000005 0000000000000000"
                .replace(' ', "")
                .as_str()),
            Err(OfpError::OFPBAC_BAD_LEN)
        );
    }

    #[test]
    fn set_field_reg0_matches_ovs() {
        // "actions=set_field:1->reg0"
        let hex = "0019001000010004000000010000 0000".replace(' ', "");
        let acts = dec(&hex).unwrap();
        assert_eq!(
            acts,
            vec![Action::SetField(SetField {
                field: crate::field::Field::Reg(0),
                value: vec![0, 0, 0, 1],
                mask: vec![0xff; 4],
                form: SetFieldForm::SetField,
            })]
        );
        assert_eq!(enc(&acts), hex);
        // Nonzero padding after the OXM entry.
        assert_eq!(
            dec("00190010000100040000000100000001"),
            Err(OfpError::OFPBAC_BAD_SET_ARGUMENT)
        );
        // Masked set_field is not OpenFlow 1.3.
        assert_eq!(
            dec("001900180001010800000001000000ff0000000000000000"[..48].as_ref()),
            Err(super::super::nx_error::OFPBAC_BAD_SET_MASK)
        );
        // Unknown OXM.
        assert_eq!(
            dec("00190010800077040000000100000000"),
            Err(OfpError::OFPBAC_BAD_SET_TYPE)
        );
    }
}
