//! The OpenFlow 1.0-era action spellings `ovs-ofctl` still accepts, mapped to
//! what OVS sends for them on OpenFlow 1.3: `mod_dl_src`, `mod_nw_dst`,
//! `mod_tp_dst`, `mod_vlan_vid`, `set_tunnel`, `enqueue`, ... become
//! `set_field`s (plus `push_vlan`, `set_queue`/`pop_queue` where OVS emits
//! them). Printing the result gives what `ovs-ofctl` prints after the
//! OpenFlow 1.3 round trip (`set_field:...->eth_src`).

use super::text_parse::{KvIter, u8_arg, u16_arg, u32_arg};
use super::{Action, SetField, SetFieldForm};
use crate::field::Field;
use crate::text::Names;

fn set(field: Field, v: u128) -> Action {
    let w = field.width_bytes();
    Action::SetField(SetField {
        field,
        value: v.to_be_bytes()[16 - w..].to_vec(),
        mask: vec![0xff; w],
        form: SetFieldForm::SetField,
    })
}

fn mac(s: &str) -> Result<u128, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let bad = || format!("invalid mac address {s}");
    if parts.len() != 6 {
        return Err(bad());
    }
    parts.iter().try_fold(0u128, |a, p| {
        if p.is_empty() || p.len() > 2 {
            return Err(bad());
        }
        Ok((a << 8) | u128::from(u8::from_str_radix(p, 16).map_err(|_| bad())?))
    })
}

fn ipv4(s: &str) -> Result<u128, String> {
    s.parse::<std::net::Ipv4Addr>()
        .map(|a| u128::from(u32::from(a)))
        .map_err(|_| format!("{s}: could not convert to IP address"))
}

/// Parses `lower`'s legacy action into `out`; false if `lower` is not one.
/// `has_vlan`: whether the packet has a VLAN header at this point of the
/// list (from the match and the actions before).
pub(crate) fn parse(
    lower: &str,
    value: &str,
    out: &mut Vec<Action>,
    has_vlan: bool,
    ip_proto: Option<u8>,
    names: Names<'_>,
) -> Result<bool, String> {
    match lower {
        "mod_dl_src" => out.push(set(Field::EthSrc, mac(value)?)),
        "mod_dl_dst" => out.push(set(Field::EthDst, mac(value)?)),
        "mod_nw_src" => out.push(set(Field::Ipv4Src, ipv4(value)?)),
        "mod_nw_dst" => out.push(set(Field::Ipv4Dst, ipv4(value)?)),
        "mod_nw_tos" => {
            let tos = u8_arg(value, "TOS")?;
            if tos & 0x03 != 0 {
                return Err(format!("{value}: not a valid TOS"));
            }
            out.push(set(Field::IpDscp, u128::from(tos >> 2)));
        }
        "mod_nw_ecn" => {
            let ecn = u8_arg(value, "ECN")?;
            if ecn > 3 {
                return Err(format!("{value}: not a valid ECN"));
            }
            out.push(set(Field::IpEcn, u128::from(ecn)));
        }
        "mod_tp_src" | "mod_tp_dst" => {
            let port = u16_arg(
                value,
                if lower == "mod_tp_src" {
                    "source port"
                } else {
                    "destination port"
                },
            )?;
            let src = lower == "mod_tp_src";
            // OVS picks the field from the match's IP protocol (TCP otherwise).
            let field = match ip_proto {
                Some(17) => {
                    if src {
                        Field::UdpSrc
                    } else {
                        Field::UdpDst
                    }
                }
                Some(132) => {
                    if src {
                        Field::SctpSrc
                    } else {
                        Field::SctpDst
                    }
                }
                _ => {
                    if src {
                        Field::TcpSrc
                    } else {
                        Field::TcpDst
                    }
                }
            };
            out.push(set(field, u128::from(port)));
        }
        "mod_vlan_vid" | "set_vlan_vid" => {
            let vid = u16_arg(value, "VLAN VID")?;
            if vid & !0x0fff != 0 {
                return Err(format!("{value}: not a valid VLAN VID"));
            }
            if lower == "mod_vlan_vid" && !has_vlan {
                out.push(Action::PushVlan(0x8100));
            }
            out.push(set(Field::VlanVid, u128::from(vid | 0x1000)));
        }
        "mod_vlan_pcp" | "set_vlan_pcp" => {
            let pcp = u8_arg(value, "VLAN PCP")?;
            if pcp & !0x07 != 0 {
                return Err(format!("{value}: not a valid VLAN PCP"));
            }
            if lower == "mod_vlan_pcp" && !has_vlan {
                out.push(Action::PushVlan(0x8100));
            }
            out.push(set(Field::VlanPcp, u128::from(pcp)));
        }
        "set_mpls_label" => {
            let label = u32_arg(value)?;
            if label & !0x000f_ffff != 0 {
                return Err(format!("{value}: not a valid MPLS label"));
            }
            out.push(set(Field::MplsLabel, u128::from(label)));
        }
        "set_mpls_tc" => {
            let tc = u8_arg(value, "MPLS TC")?;
            if tc & !0x07 != 0 {
                return Err(format!("{value}: not a valid MPLS TC"));
            }
            out.push(set(Field::MplsTc, u128::from(tc)));
        }
        "set_tunnel" | "set_tunnel64" => {
            let id = super::text_parse::u64_arg(value)?;
            out.push(set(Field::TunId, u128::from(id)));
        }
        "pop_queue" => out.push(Action::PopQueue),
        "enqueue" => {
            let syntax = || {
                "\"enqueue\" syntax is \"enqueue:PORT:QUEUE\" or \"enqueue(PORT,QUEUE)\""
                    .to_string()
            };
            let t = value.trim_start_matches([':', 'q', ',']);
            let cut = t.find([':', 'q', ',']).ok_or_else(syntax)?;
            let (port_s, queue_s) = (&t[..cut], &t[cut + 1..]);
            let port = names
                .port(port_s)
                .ok_or_else(|| format!("{port_s}: enqueue to unknown port"))?;
            let queue = u32_arg(queue_s)?;
            out.push(Action::SetQueue(queue));
            out.push(Action::Output {
                port,
                max_len: u16::MAX,
            });
            out.push(Action::PopQueue);
        }
        "fin_timeout" => {
            let (mut idle, mut hard) = (0, 0);
            for (k, v) in KvIter::new(value) {
                match k {
                    "idle_timeout" => idle = u16_arg(v, k)?,
                    "hard_timeout" => hard = u16_arg(v, k)?,
                    _ => return Err(format!("invalid key '{k}' in 'fin_timeout' argument")),
                }
            }
            out.push(Action::FinTimeout {
                idle_timeout_s: idle,
                hard_timeout_s: hard,
            });
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// A deprecated OpenFlow 1.1 set action (OFPAT types 1-10, 13, 14) as OVS
/// decodes it from OpenFlow 1.3 bytes. OVS prints it under its old name and
/// re-encodes it as the equivalent `set_field` (so does rvs); it does not
/// round-trip byte for byte, in OVS either.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LegacySet {
    VlanVid(u16),
    VlanPcp(u8),
    DlSrc([u8; 6]),
    DlDst([u8; 6]),
    NwSrc(u32),
    NwDst(u32),
    /// The TOS byte (DSCP << 2).
    NwTos(u8),
    NwEcn(u8),
    TpSrc(u16),
    TpDst(u16),
    MplsLabel(u32),
    MplsTc(u8),
}

/// Decodes the body (after type and length) of OFPAT type `atype`.
pub(crate) fn decode_of11(
    atype: u16,
    r: &mut crate::reader::Reader<'_>,
) -> Result<Action, crate::error::OfpError> {
    use crate::error::OfpError;
    let bad = OfpError::OFPBAC_BAD_ARGUMENT;
    let l = match atype {
        1 => {
            let vid = r.u16()?;
            if vid & !0x0fff != 0 {
                return Err(bad);
            }
            LegacySet::VlanVid(vid)
        }
        2 => {
            let pcp = r.u8()?;
            if pcp & !0x07 != 0 {
                return Err(bad);
            }
            LegacySet::VlanPcp(pcp)
        }
        3 => LegacySet::DlSrc(r.take_array()?),
        4 => LegacySet::DlDst(r.take_array()?),
        5 => LegacySet::NwSrc(r.u32()?),
        6 => LegacySet::NwDst(r.u32()?),
        7 => {
            let tos = r.u8()?;
            if tos & 0x03 != 0 {
                return Err(bad);
            }
            LegacySet::NwTos(tos)
        }
        8 => {
            let ecn = r.u8()?;
            if ecn & !0x03 != 0 {
                return Err(bad);
            }
            LegacySet::NwEcn(ecn)
        }
        9 => LegacySet::TpSrc(r.u16()?),
        10 => LegacySet::TpDst(r.u16()?),
        13 => LegacySet::MplsLabel(r.u32()?),
        14 => LegacySet::MplsTc(r.u8()?),
        _ => return Err(OfpError::OFPBAC_BAD_TYPE),
    };
    Ok(Action::LegacySet(l))
}

impl LegacySet {
    /// The `set_field` OVS sends for it on OpenFlow 1.3. L4 ports use the
    /// TCP field (OVS picks by the flow's protocol at check time).
    pub fn as_set_field(&self) -> SetField {
        let (field, v) = match *self {
            LegacySet::VlanVid(v) => (Field::VlanVid, u128::from(v | 0x1000)),
            LegacySet::VlanPcp(p) => (Field::VlanPcp, u128::from(p)),
            LegacySet::DlSrc(m) => (
                Field::EthSrc,
                m.iter().fold(0u128, |a, &b| (a << 8) | u128::from(b)),
            ),
            LegacySet::DlDst(m) => (
                Field::EthDst,
                m.iter().fold(0u128, |a, &b| (a << 8) | u128::from(b)),
            ),
            LegacySet::NwSrc(a) => (Field::Ipv4Src, u128::from(a)),
            LegacySet::NwDst(a) => (Field::Ipv4Dst, u128::from(a)),
            LegacySet::NwTos(t) => (Field::IpDscp, u128::from(t >> 2)),
            LegacySet::NwEcn(e) => (Field::IpEcn, u128::from(e)),
            LegacySet::TpSrc(p) => (Field::TcpSrc, u128::from(p)),
            LegacySet::TpDst(p) => (Field::TcpDst, u128::from(p)),
            LegacySet::MplsLabel(l) => (Field::MplsLabel, u128::from(l)),
            LegacySet::MplsTc(t) => (Field::MplsTc, u128::from(t)),
        };
        match set(field, v) {
            Action::SetField(sf) => sf,
            _ => unreachable_set_field(field),
        }
    }

    /// The text OVS prints for it.
    pub fn format(&self, s: &mut String) {
        let mac = |m: &[u8; 6]| {
            m.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(":")
        };
        let t = match self {
            LegacySet::VlanVid(v) => format!("set_vlan_vid:{v}"),
            LegacySet::VlanPcp(p) => format!("set_vlan_pcp:{p}"),
            LegacySet::DlSrc(m) => format!("mod_dl_src:{}", mac(m)),
            LegacySet::DlDst(m) => format!("mod_dl_dst:{}", mac(m)),
            LegacySet::NwSrc(a) => format!("mod_nw_src:{}", std::net::Ipv4Addr::from(*a)),
            LegacySet::NwDst(a) => format!("mod_nw_dst:{}", std::net::Ipv4Addr::from(*a)),
            LegacySet::NwTos(t) => format!("mod_nw_tos:{t}"),
            LegacySet::NwEcn(e) => format!("mod_nw_ecn:{e}"),
            LegacySet::TpSrc(p) => format!("mod_tp_src:{p}"),
            LegacySet::TpDst(p) => format!("mod_tp_dst:{p}"),
            LegacySet::MplsLabel(l) => format!("set_mpls_label({l})"),
            LegacySet::MplsTc(t) => format!("set_mpls_tc({t})"),
        };
        s.push_str(&t);
    }
}

/// `set` always builds a SetField; this keeps the match total without a panic.
fn unreachable_set_field(field: Field) -> SetField {
    SetField {
        field,
        value: vec![0; field.width_bytes()],
        mask: vec![0xff; field.width_bytes()],
        form: SetFieldForm::SetField,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests_util::{enc, unhex};
    use super::*;
    use crate::action::{decode_actions, format_actions, parse_action_list};
    use crate::error::OfpError;
    use crate::reader::Reader;

    fn dec(hex: &str) -> Result<Vec<Action>, OfpError> {
        decode_actions(&mut Reader::new(&unhex(hex)))
    }

    #[test]
    fn of11_set_actions_decode_print_and_reencode_like_ovs() {
        // OFPAT_SET_VLAN_VID (1) vid 5: OVS prints set_vlan_vid:5 and sends
        // set_field:4101->vlan_vid on OpenFlow 1.3.
        let a = dec("0001000800050000").unwrap();
        assert_eq!(a, vec![Action::LegacySet(LegacySet::VlanVid(5))]);
        assert_eq!(format_actions(&a), "set_vlan_vid:5");
        assert_eq!(enc(&a), "0019001080000c021005000000000000");
        // OFPAT_SET_DL_SRC (3), 16 bytes.
        let a = dec("00030010001122334455000000000000").unwrap();
        assert_eq!(format_actions(&a), "mod_dl_src:00:11:22:33:44:55");
        // OFPAT_SET_NW_TOS (7) with ECN bits set, and a VID over 12 bits.
        assert_eq!(dec("0007000801000000"), Err(OfpError::OFPBAC_BAD_ARGUMENT));
        assert_eq!(dec("0001000810000000"), Err(OfpError::OFPBAC_BAD_ARGUMENT));
        // Wrong length for a fixed-size legacy action.
        assert_eq!(dec("0003000800112233"), Err(OfpError::OFPBAC_BAD_LEN));
    }

    #[test]
    fn old_spellings_parse_to_set_field() {
        let a =
            parse_action_list("mod_dl_src:00:11:22:33:44:55,mod_nw_tos:16,enqueue:1:2").unwrap();
        assert_eq!(
            format_actions(&a),
            "set_field:00:11:22:33:44:55->eth_src,set_field:4->ip_dscp,set_queue:2,output:1,pop_queue"
        );
        // Without a VLAN in the match, mod_vlan_vid pushes a header first.
        let a = parse_action_list("mod_vlan_vid:5").unwrap();
        assert_eq!(
            format_actions(&a),
            "push_vlan:0x8100,set_field:4101->vlan_vid"
        );
        assert!(parse_action_list("mod_nw_tos:3").is_err());
        assert!(parse_action_list("mod_vlan_vid:4096").is_err());
    }
}
