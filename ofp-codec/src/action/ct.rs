//! `ct` (`NXAST_CT`, subtype 35) and `nat` (`NXAST_NAT`, subtype 36).
//!
//! ```text
//! NXAST_CT   nxhdr(10) flags(2) zone_src(4) zone_ofs_nbits|zone_imm(2)
//!            recirc_table(1) pad(3) alg(2)      = 24, then nested actions
//! NXAST_NAT  nxhdr(10) pad(2) flags(2) range_present(2) = 16, then the
//!            present parts of: ipv4 min, max | ipv6 min, max, port min, max
//! ```

use bytes::{BufMut, BytesMut};

use super::fieldref::{self as fr, Subfield};
use super::nx::{NXAST_CT, NXAST_NAT};
use super::wire::{self, Outer, Raw, finish, start_nx};
use super::{Action, Ct, CtZone, NX_CT_F_COMMIT, NX_CT_F_FORCE, Nat, NatAddrs};
use super::{
    NX_NAT_F_DST, NX_NAT_F_MASK, NX_NAT_F_PROTO_HASH, NX_NAT_F_PROTO_RANDOM, NX_NAT_F_SRC,
};
use crate::error::OfpError;

const RANGE_IPV4_MIN: u16 = 1 << 0;
const RANGE_IPV4_MAX: u16 = 1 << 1;
const RANGE_IPV6_MIN: u16 = 1 << 2;
const RANGE_IPV6_MAX: u16 = 1 << 3;
const RANGE_PROTO_MIN: u16 = 1 << 4;
const RANGE_PROTO_MAX: u16 = 1 << 5;

pub(crate) fn decode_ct(raw: Raw<'_>, out: &mut Vec<Action>) -> Result<(), OfpError> {
    let mut r = raw.body;
    r.skip(10)?;
    let flags = r.u16()?;
    if flags & NX_CT_F_FORCE != 0 && flags & NX_CT_F_COMMIT == 0 {
        return Err(OfpError::OFPBAC_BAD_ARGUMENT);
    }
    let zone_src = r.u32()?;
    let zone_word = r.u16()?;
    let zone = if zone_src != 0 {
        let field = fr::from_header(zone_src).ok_or(OfpError::OFPBAC_BAD_SET_TYPE)?;
        let sub = Subfield::from_ofs_nbits(field, zone_word);
        sub.check_range()?;
        if sub.n_bits != 16 {
            return Err(OfpError::OFPBAC_BAD_SET_LEN);
        }
        CtZone::Field(sub)
    } else {
        CtZone::Imm(zone_word)
    };
    let recirc_table = r.u8()?;
    r.skip(3)?;
    let alg = r.u16()?;
    let actions = wire::decode_list(&mut r, raw.depth + 1)?;
    wire::verify(&actions, Outer::Ct).map_err(|e| e.0)?;
    if flags & NX_CT_F_COMMIT == 0
        && actions
            .iter()
            .any(|a| !matches!(a, Action::Nat(n) if n.flags == 0 && n.addrs.is_none()))
    {
        return Err(OfpError::OFPBAC_BAD_ARGUMENT);
    }
    out.push(Action::Ct(Ct {
        flags,
        zone,
        recirc_table,
        alg,
        actions,
    }));
    Ok(())
}

pub(crate) fn encode_ct(c: &Ct, out: &mut BytesMut) {
    let s = start_nx(out, NXAST_CT);
    out.put_u16(c.flags);
    match &c.zone {
        CtZone::Imm(z) => {
            out.put_u32(0);
            out.put_u16(*z);
        }
        CtZone::Field(sub) => {
            out.put_u32(fr::nxm_header(sub.field).unwrap_or(0));
            out.put_u16(sub.ofs_nbits());
        }
    }
    out.put_u8(c.recirc_table);
    out.put_bytes(0, 3);
    out.put_u16(c.alg);
    wire::encode_actions(&c.actions, out);
    finish(out, s, 24);
}

pub(crate) fn decode_nat(raw: Raw<'_>, out: &mut Vec<Action>) -> Result<(), OfpError> {
    let mut r = raw.body;
    r.skip(12)?;
    let flags = r.u16()?;
    let present = r.u16()?;
    let bad = OfpError::OFPBAC_BAD_ARGUMENT;
    if flags & !NX_NAT_F_MASK != 0
        || (flags & NX_NAT_F_SRC != 0 && flags & NX_NAT_F_DST != 0)
        || (flags & NX_NAT_F_PROTO_HASH != 0 && flags & NX_NAT_F_PROTO_RANDOM != 0)
    {
        return Err(bad);
    }
    let mut nat = Nat {
        flags,
        ..Nat::default()
    };
    if present & RANGE_IPV4_MIN != 0 {
        if present & (RANGE_IPV6_MIN | RANGE_IPV6_MAX) != 0 {
            return Err(bad);
        }
        let min = r.u32().map_err(|_| bad)?;
        if min == 0 {
            return Err(bad);
        }
        let mut max = 0;
        if present & RANGE_IPV4_MAX != 0 {
            max = r.u32().map_err(|_| bad)?;
            if max < min {
                return Err(bad);
            }
        }
        nat.addrs = Some(NatAddrs::V4 { min, max });
    } else if present & RANGE_IPV4_MAX != 0 {
        return Err(bad);
    } else if present & RANGE_IPV6_MIN != 0 {
        let min: [u8; 16] = r.take_array().map_err(|_| bad)?;
        if min == [0; 16] {
            return Err(bad);
        }
        let mut max = [0u8; 16];
        if present & RANGE_IPV6_MAX != 0 {
            max = r.take_array().map_err(|_| bad)?;
            if max < min {
                return Err(bad);
            }
        }
        nat.addrs = Some(NatAddrs::V6 { min, max });
    } else if present & RANGE_IPV6_MAX != 0 {
        return Err(bad);
    }
    if present & RANGE_PROTO_MIN != 0 {
        if nat.addrs.is_none() {
            return Err(bad);
        }
        let min = r.u16().map_err(|_| bad)?;
        if min == 0 {
            return Err(bad);
        }
        nat.proto_min = min;
        if present & RANGE_PROTO_MAX != 0 {
            let max = r.u16().map_err(|_| bad)?;
            if max < min {
                return Err(bad);
            }
            nat.proto_max = max;
        }
    } else if present & RANGE_PROTO_MAX != 0 {
        return Err(bad);
    }
    out.push(Action::Nat(nat));
    Ok(())
}

pub(crate) fn encode_nat(n: &Nat, out: &mut BytesMut) {
    let s = start_nx(out, NXAST_NAT);
    out.put_u16(0);
    out.put_u16(n.flags);
    let present_at = out.len();
    out.put_u16(0);
    let mut present = 0u16;
    match n.addrs {
        Some(NatAddrs::V4 { min, max }) => {
            if min != 0 {
                out.put_u32(min);
                present |= RANGE_IPV4_MIN;
            }
            if max != 0 {
                out.put_u32(max);
                present |= RANGE_IPV4_MAX;
            }
        }
        Some(NatAddrs::V6 { min, max }) => {
            if min != [0; 16] {
                out.put_slice(&min);
                present |= RANGE_IPV6_MIN;
            }
            if max != [0; 16] {
                out.put_slice(&max);
                present |= RANGE_IPV6_MAX;
            }
        }
        None => {}
    }
    if n.addrs.is_some() {
        if n.proto_min != 0 {
            out.put_u16(n.proto_min);
            present |= RANGE_PROTO_MIN;
        }
        if n.proto_max != 0 {
            out.put_u16(n.proto_max);
            present |= RANGE_PROTO_MAX;
        }
    }
    let p = present.to_be_bytes();
    out[present_at] = p[0];
    out[present_at + 1] = p[1];
    finish(out, s, 16);
}

#[cfg(test)]
mod tests {
    use super::super::tests_util::{enc, unhex};
    use super::*;
    use crate::action::{SetField, SetFieldForm, decode_actions};
    use crate::field::Field;
    use crate::reader::Reader;

    fn dec(hex: &str) -> Result<Vec<Action>, OfpError> {
        decode_actions(&mut Reader::new(&unhex(hex)))
    }

    #[test]
    fn ct_commit_zone_exec_mark_matches_ovs_bytes() {
        // "ip,actions=ct(commit,zone=5,exec(set_field:0x1->ct_mark))"
        let hex = "ffff00280000232000230001000000000005ff0000000000\
                   00190010000 1d604000000010000 0000"
            .replace(' ', "");
        let a = dec(&hex).unwrap();
        assert_eq!(
            a,
            vec![Action::Ct(Ct {
                flags: NX_CT_F_COMMIT,
                zone: CtZone::Imm(5),
                recirc_table: 0xff,
                alg: 0,
                actions: vec![Action::SetField(SetField {
                    field: Field::CtMark,
                    value: vec![0, 0, 0, 1],
                    mask: vec![0xff; 4],
                    form: SetFieldForm::SetField,
                })],
            })]
        );
        assert_eq!(enc(&a), hex);
    }

    #[test]
    fn ct_rules_on_decode() {
        // force without commit.
        assert_eq!(
            dec("ffff0018000023200023000200000000 0000ff0000000000"
                .replace(' ', "")
                .as_str()),
            Err(OfpError::OFPBAC_BAD_ARGUMENT)
        );
        // Truncated: 16 bytes claiming to be a ct.
        assert_eq!(
            dec("ffff001000002320002300000000 0000"
                .replace(' ', "")
                .as_str()),
            Err(OfpError::OFPBAC_BAD_LEN)
        );
        // exec(set_field ct_mark) without commit.
        let hex = "ffff00280000232000230000000000000005ff0000000000\
                   001900100001d604000000010000 0000"
            .replace(' ', "");
        assert_eq!(dec(&hex), Err(OfpError::OFPBAC_BAD_ARGUMENT));
        // nat outside ct.
        assert_eq!(
            dec("ffff0010000023200024000000000000"),
            Err(OfpError::OFPBAC_BAD_SET_ARGUMENT)
        );
    }

    #[test]
    fn nat_ranges_round_trip() {
        let n = Nat {
            flags: NX_NAT_F_SRC | super::super::NX_NAT_F_PERSISTENT,
            addrs: Some(NatAddrs::V4 {
                min: 0x0a000001,
                max: 0x0a00000a,
            }),
            proto_min: 1000,
            proto_max: 2000,
        };
        let c = Ct {
            flags: NX_CT_F_COMMIT,
            zone: CtZone::Imm(0),
            recirc_table: 0xff,
            alg: 0,
            actions: vec![Action::Nat(n)],
        };
        let a = vec![Action::Ct(c)];
        let bytes = unhex(&enc(&a));
        assert_eq!(decode_actions(&mut Reader::new(&bytes)).unwrap(), a);
        // min > max.
        let bad = "ffff0018000023200024000000010003 0a00000a0a000001".replace(' ', "");
        let ct = format!("ffff00300000232000230001000000000000ff0000000000{bad}");
        assert_eq!(dec(&ct), Err(OfpError::OFPBAC_BAD_ARGUMENT));
    }
}
