//! Which OpenFlow dialects can express a parsed flow: the per-item rules
//! `ovs-ofctl` applies while parsing (see [`Protocols`]).
//!
//! Match fields: a field that OpenFlow 1.0 or 1.1 can express exactly (or as
//! a CIDR prefix, or with a bitwise mask) keeps those dialects; anything else
//! needs NXM or OXM. The shape of the mask decides: exact, all-zero (no
//! restriction), CIDR (IPv4 fields only) or arbitrary bitwise. Actions: a few
//! restrict at parse time (`push_vlan`, `set_field` by the field's exact-match
//! dialects, `meter`, `write_metadata`). Flow-mod keywords: a table id, a
//! cookie mask, `reset_counts`, `no_packet_counts`, `no_byte_counts`,
//! `out_group`.

use super::kv::KeyValues;
use super::protocols::Protocols;
use crate::field::Field;

/// How OpenFlow 1.0 can match a field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Of10 {
    No,
    Exact,
    Cidr,
}

/// How OpenFlow 1.1 can match a field.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Of11 {
    No,
    Exact,
    Bitwise,
}

/// OpenFlow 1.0/1.1 support of the fields those versions can match at all
/// (OVS `meta-flow.h` "OF1.0:"/"OF1.1:" lines). Every other field needs NXM
/// or OXM.
fn legacy_support(field: Field) -> (Of10, Of11) {
    use Field as F;
    match field {
        F::InPort
        | F::EthType
        | F::VlanTci
        | F::VlanVid
        | F::VlanPcp
        | F::IpProto
        | F::NwTos
        | F::IpDscp => (Of10::Exact, Of11::Exact),
        F::ArpOp
        | F::TcpSrc
        | F::TcpDst
        | F::UdpSrc
        | F::UdpDst
        | F::Icmpv4Type
        | F::Icmpv4Code => (Of10::Exact, Of11::Exact),
        F::EthSrc | F::EthDst => (Of10::Exact, Of11::Bitwise),
        F::Ipv4Src | F::Ipv4Dst | F::ArpSpa | F::ArpTpa => (Of10::Cidr, Of11::Bitwise),
        F::Metadata => (Of10::No, Of11::Bitwise),
        F::MplsLabel | F::MplsTc | F::IpEcn | F::SctpSrc | F::SctpDst => (Of10::No, Of11::Exact),
        _ => (Of10::No, Of11::No),
    }
}

/// The dialects of a set of per-version capabilities (OVS only ever has
/// these three combinations, always with NXM/OXM).
fn dialects(of10: bool, of11: bool) -> Protocols {
    match (of10, of11) {
        (true, true) => Protocols::ANY,
        (false, true) => Protocols::NXM_OF11_UP,
        _ => Protocols::NXM_OXM_ANY,
    }
}

/// Shape of a parsed mask.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum MaskShape {
    Exact,
    Zero,
    /// A contiguous prefix (only distinguished for IPv4 fields).
    Cidr,
    Bitwise,
}

/// Dialects that can match `field` with a mask of `shape` (OVS `mf_set`).
pub fn for_field(field: Field, shape: MaskShape) -> Protocols {
    let (of10, of11) = legacy_support(field);
    match shape {
        MaskShape::Zero => Protocols::ANY,
        MaskShape::Exact => dialects(of10 != Of10::No, of11 != Of11::No),
        MaskShape::Cidr => dialects(of10 == Of10::Cidr, of11 == Of11::Bitwise),
        MaskShape::Bitwise => {
            // OVS takes the CIDR set for every mask whose first 32 bits form a
            // prefix when the CIDR and bitwise sets coincide, which is the
            // case for every field but the IPv4 ones; so Bitwise here only
            // matters for those.
            dialects(false, of11 == Of11::Bitwise)
        }
    }
}

/// The dialects for one match item `key=value` (after the match parser
/// accepted it). Protocol shorthands (`ip`, `tcp6`), `dl_vlan` and
/// `dl_vlan_pcp` are expressible everywhere.
pub fn for_match_item(key: &str, value: &str) -> Protocols {
    if matches!(key, "dl_vlan" | "dl_vlan_pcp" | "eth") {
        return Protocols::ANY;
    }
    if key == "in_port_oxm" {
        // OXM_OF_IN_PORT's own name: OpenFlow 1.1 or later, exact only.
        return if value.is_empty() {
            Protocols::ANY
        } else {
            Protocols::NXM_OF11_UP
        };
    }
    let Some(field) = Field::from_name(key) else {
        return Protocols::ANY;
    };
    let width_bits = u32::from(field.info().width_bits);
    let shape = if value.is_empty() {
        MaskShape::Zero
    } else {
        mask_shape(field, value, width_bits)
    };
    for_field(field, shape)
}

/// Classifies the mask written in `value` (`V`, `V/M`, `A.B.C.D/N`, ...).
fn mask_shape(field: Field, value: &str, width_bits: u32) -> MaskShape {
    let Some((_, mask)) = value.split_once('/') else {
        return MaskShape::Exact;
    };
    let ipv4 = matches!(
        field,
        Field::Ipv4Src | Field::Ipv4Dst | Field::ArpSpa | Field::ArpTpa
    );
    if ipv4 {
        let m: Option<u32> = if mask.contains('.') {
            let parts: Vec<Option<u8>> = mask.split('.').map(|p| p.parse().ok()).collect();
            (parts.len() == 4 && parts.iter().all(Option::is_some)).then(|| {
                parts
                    .iter()
                    .fold(0u32, |acc, p| (acc << 8) | u32::from(p.unwrap_or(0)))
            })
        } else {
            mask.parse::<u32>()
                .ok()
                .filter(|n| *n <= 32)
                .map(|n| if n == 0 { 0 } else { u32::MAX << (32 - n) })
        };
        return match m {
            Some(u32::MAX) => MaskShape::Exact,
            Some(0) => MaskShape::Zero,
            Some(m) if m.leading_ones() + m.trailing_zeros() == 32 => MaskShape::Cidr,
            _ => MaskShape::Bitwise,
        };
    }
    if mask.contains(':') {
        // MAC (or IPv6) mask: exact only if every digit is `f`.
        let digits: Vec<char> = mask.chars().filter(|c| c.is_ascii_hexdigit()).collect();
        if digits.iter().all(|c| *c == 'f' || *c == 'F') && !digits.is_empty() {
            return MaskShape::Exact;
        }
        if digits.iter().all(|c| *c == '0') {
            return MaskShape::Zero;
        }
        return MaskShape::Bitwise;
    }
    let m = match mask.strip_prefix("0x").or_else(|| mask.strip_prefix("0X")) {
        Some(h) => u128::from_str_radix(h, 16).ok(),
        None => mask.parse::<u128>().ok(),
    };
    let ones = if width_bits >= 128 {
        u128::MAX
    } else {
        (1u128 << width_bits) - 1
    };
    match m {
        Some(0) => MaskShape::Zero,
        Some(m) if m & ones == ones => MaskShape::Exact,
        _ => MaskShape::Bitwise,
    }
}

/// Parse-time restrictions of an `actions=` text, nested lists included.
pub fn for_actions_text(actions: &str) -> Protocols {
    let mut p = Protocols::ANY;
    for kv in KeyValues::new(actions) {
        match kv.key.to_ascii_lowercase().as_str() {
            "push_vlan" => p.restrict(Protocols::OF11_UP),
            "meter" => p.restrict(Protocols::OF13_UP),
            "write_metadata" => p.restrict(Protocols::NXM_OF11_UP),
            "set_field" => {
                if let Some((_, dst)) = kv.value.rsplit_once("->")
                    && let Some(f) = Field::from_name(dst.trim())
                {
                    p.restrict(for_field(f, MaskShape::Exact));
                }
            }
            "write_actions" | "clone" => p.restrict(for_actions_text(kv.value)),
            "ct" => {
                for inner in KeyValues::new(kv.value) {
                    if inner.key == "exec" {
                        p.restrict(for_actions_text(inner.value));
                    }
                }
            }
            _ => {}
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_items_restrict_as_ovs_does() {
        assert_eq!(for_match_item("tcp", ""), Protocols::ANY);
        assert_eq!(for_match_item("tp_src", "80"), Protocols::ANY);
        assert_eq!(for_match_item("nw_src", "10.0.0.0/8"), Protocols::ANY);
        assert_eq!(
            for_match_item("nw_src", "1.2.3.4/255.0.255.0"),
            Protocols::NXM_OF11_UP
        );
        assert_eq!(
            for_match_item("metadata", "0x5/0xff"),
            Protocols::NXM_OF11_UP
        );
        assert_eq!(for_match_item("mpls_label", "5"), Protocols::NXM_OF11_UP);
        assert_eq!(
            for_match_item("vlan_tci", "0x1005/0x1fff"),
            Protocols::NXM_OXM_ANY
        );
        assert_eq!(for_match_item("reg0", "1"), Protocols::NXM_OXM_ANY);
        assert_eq!(for_match_item("dl_vlan", "5"), Protocols::ANY);
        assert_eq!(
            for_match_item("dl_src", "00:11:22:00:00:00/ff:ff:ff:00:00:00"),
            Protocols::NXM_OF11_UP
        );
    }

    #[test]
    fn actions_text_restricts_as_ovs_does() {
        assert_eq!(
            for_actions_text("push_vlan:0x8100,output:1"),
            Protocols::OF11_UP
        );
        assert_eq!(
            for_actions_text("set_field:1->reg0"),
            Protocols::NXM_OXM_ANY
        );
        assert_eq!(
            for_actions_text("mod_dl_src:00:00:00:00:00:01"),
            Protocols::ANY
        );
        assert_eq!(
            for_actions_text("ct(commit,exec(set_field:1->ct_mark))"),
            Protocols::NXM_OXM_ANY
        );
        assert_eq!(
            for_actions_text("meter:1,write_metadata:1"),
            Protocols::OF13_UP
        );
    }
}
