//! The OpenFlow 1.0-era action spellings `ovs-ofctl` still accepts, mapped to
//! what OVS sends for them on OpenFlow 1.3: `mod_dl_src`, `mod_nw_dst`,
//! `mod_tp_dst`, `mod_vlan_vid`, `set_tunnel`, `enqueue`, ... become
//! `set_field`s (plus `push_vlan`, `set_queue`/`pop_queue` where OVS emits
//! them). Printing the result gives what `ovs-ofctl` prints after the
//! OpenFlow 1.3 round trip (`set_field:...->eth_src`).

use super::text_parse::{KvIter, parse_port, u8_arg, u16_arg, u32_arg};
use super::{Action, SetField, SetFieldForm};
use crate::field::Field;

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
    let bad = || format!("{s}: invalid Ethernet address");
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
        .map_err(|_| format!("{s}: invalid IP address"))
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
            let port =
                parse_port(port_s).ok_or_else(|| format!("{port_s}: enqueue to unknown port"))?;
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
