//! OVS's field ids (`enum mf_field_id` order), names and OXM/NXM headers,
//! for printing table features as OVS does (fields are listed in this order).
//! Each row: name, then (class, experimenter id, field number) of its headers.
//! Generated from Open vSwitch 3.1 `include/openvswitch/meta-flow.h`.

/// One header of a field: (OXM class, experimenter id or 0, field number).
type Header = (u16, u32, u8);

pub(super) const MFF: &[(&str, &[Header])] = &[
    (
        "dp_hash",
        &[(0x0001, 0x00000000, 35), (0xffff, 0x00002320, 0)],
    ),
    ("recirc_id", &[(0x0001, 0x00000000, 36)]),
    ("packet_type", &[(0x8000, 0x00000000, 44)]),
    ("conj_id", &[(0x0001, 0x00000000, 37)]),
    (
        "tun_id",
        &[(0x0001, 0x00000000, 16), (0x8000, 0x00000000, 38)],
    ),
    ("tun_src", &[(0x0001, 0x00000000, 31)]),
    ("tun_dst", &[(0x0001, 0x00000000, 32)]),
    ("tun_ipv6_src", &[(0x0001, 0x00000000, 109)]),
    ("tun_ipv6_dst", &[(0x0001, 0x00000000, 110)]),
    ("tun_flags", &[(0x0001, 0x00000000, 104)]),
    ("tun_ttl", &[]),
    ("tun_tos", &[]),
    ("tun_gbp_id", &[(0x0001, 0x00000000, 38)]),
    ("tun_gbp_flags", &[(0x0001, 0x00000000, 39)]),
    ("tun_erspan_idx", &[(0xffff, 0x00002320, 11)]),
    ("tun_erspan_ver", &[(0xffff, 0x00002320, 12)]),
    ("tun_erspan_dir", &[(0xffff, 0x00002320, 13)]),
    ("tun_erspan_hwid", &[(0xffff, 0x00002320, 14)]),
    ("tun_gtpu_flags", &[(0xffff, 0x00002320, 15)]),
    ("tun_gtpu_msgtype", &[(0xffff, 0x00002320, 16)]),
    ("tun_metadata0", &[(0x0001, 0x00000000, 40)]),
    ("tun_metadata1", &[(0x0001, 0x00000000, 41)]),
    ("tun_metadata2", &[(0x0001, 0x00000000, 42)]),
    ("tun_metadata3", &[(0x0001, 0x00000000, 43)]),
    ("tun_metadata4", &[(0x0001, 0x00000000, 44)]),
    ("tun_metadata5", &[(0x0001, 0x00000000, 45)]),
    ("tun_metadata6", &[(0x0001, 0x00000000, 46)]),
    ("tun_metadata7", &[(0x0001, 0x00000000, 47)]),
    ("tun_metadata8", &[(0x0001, 0x00000000, 48)]),
    ("tun_metadata9", &[(0x0001, 0x00000000, 49)]),
    ("tun_metadata10", &[(0x0001, 0x00000000, 50)]),
    ("tun_metadata11", &[(0x0001, 0x00000000, 51)]),
    ("tun_metadata12", &[(0x0001, 0x00000000, 52)]),
    ("tun_metadata13", &[(0x0001, 0x00000000, 53)]),
    ("tun_metadata14", &[(0x0001, 0x00000000, 54)]),
    ("tun_metadata15", &[(0x0001, 0x00000000, 55)]),
    ("tun_metadata16", &[(0x0001, 0x00000000, 56)]),
    ("tun_metadata17", &[(0x0001, 0x00000000, 57)]),
    ("tun_metadata18", &[(0x0001, 0x00000000, 58)]),
    ("tun_metadata19", &[(0x0001, 0x00000000, 59)]),
    ("tun_metadata20", &[(0x0001, 0x00000000, 60)]),
    ("tun_metadata21", &[(0x0001, 0x00000000, 61)]),
    ("tun_metadata22", &[(0x0001, 0x00000000, 62)]),
    ("tun_metadata23", &[(0x0001, 0x00000000, 63)]),
    ("tun_metadata24", &[(0x0001, 0x00000000, 64)]),
    ("tun_metadata25", &[(0x0001, 0x00000000, 65)]),
    ("tun_metadata26", &[(0x0001, 0x00000000, 66)]),
    ("tun_metadata27", &[(0x0001, 0x00000000, 67)]),
    ("tun_metadata28", &[(0x0001, 0x00000000, 68)]),
    ("tun_metadata29", &[(0x0001, 0x00000000, 69)]),
    ("tun_metadata30", &[(0x0001, 0x00000000, 70)]),
    ("tun_metadata31", &[(0x0001, 0x00000000, 71)]),
    ("tun_metadata32", &[(0x0001, 0x00000000, 72)]),
    ("tun_metadata33", &[(0x0001, 0x00000000, 73)]),
    ("tun_metadata34", &[(0x0001, 0x00000000, 74)]),
    ("tun_metadata35", &[(0x0001, 0x00000000, 75)]),
    ("tun_metadata36", &[(0x0001, 0x00000000, 76)]),
    ("tun_metadata37", &[(0x0001, 0x00000000, 77)]),
    ("tun_metadata38", &[(0x0001, 0x00000000, 78)]),
    ("tun_metadata39", &[(0x0001, 0x00000000, 79)]),
    ("tun_metadata40", &[(0x0001, 0x00000000, 80)]),
    ("tun_metadata41", &[(0x0001, 0x00000000, 81)]),
    ("tun_metadata42", &[(0x0001, 0x00000000, 82)]),
    ("tun_metadata43", &[(0x0001, 0x00000000, 83)]),
    ("tun_metadata44", &[(0x0001, 0x00000000, 84)]),
    ("tun_metadata45", &[(0x0001, 0x00000000, 85)]),
    ("tun_metadata46", &[(0x0001, 0x00000000, 86)]),
    ("tun_metadata47", &[(0x0001, 0x00000000, 87)]),
    ("tun_metadata48", &[(0x0001, 0x00000000, 88)]),
    ("tun_metadata49", &[(0x0001, 0x00000000, 89)]),
    ("tun_metadata50", &[(0x0001, 0x00000000, 90)]),
    ("tun_metadata51", &[(0x0001, 0x00000000, 91)]),
    ("tun_metadata52", &[(0x0001, 0x00000000, 92)]),
    ("tun_metadata53", &[(0x0001, 0x00000000, 93)]),
    ("tun_metadata54", &[(0x0001, 0x00000000, 94)]),
    ("tun_metadata55", &[(0x0001, 0x00000000, 95)]),
    ("tun_metadata56", &[(0x0001, 0x00000000, 96)]),
    ("tun_metadata57", &[(0x0001, 0x00000000, 97)]),
    ("tun_metadata58", &[(0x0001, 0x00000000, 98)]),
    ("tun_metadata59", &[(0x0001, 0x00000000, 99)]),
    ("tun_metadata60", &[(0x0001, 0x00000000, 100)]),
    ("tun_metadata61", &[(0x0001, 0x00000000, 101)]),
    ("tun_metadata62", &[(0x0001, 0x00000000, 102)]),
    ("tun_metadata63", &[(0x0001, 0x00000000, 103)]),
    ("metadata", &[(0x8000, 0x00000000, 2)]),
    ("in_port", &[(0x0000, 0x00000000, 0)]),
    ("in_port_oxm", &[(0x8000, 0x00000000, 0)]),
    ("actset_output", &[(0xffff, 0x4f4e4600, 43)]),
    ("skb_priority", &[]),
    ("pkt_mark", &[(0x0001, 0x00000000, 33)]),
    ("ct_state", &[(0x0001, 0x00000000, 105)]),
    ("ct_zone", &[(0x0001, 0x00000000, 106)]),
    ("ct_mark", &[(0x0001, 0x00000000, 107)]),
    ("ct_label", &[(0x0001, 0x00000000, 108)]),
    ("ct_nw_proto", &[(0x0001, 0x00000000, 119)]),
    ("ct_nw_src", &[(0x0001, 0x00000000, 120)]),
    ("ct_nw_dst", &[(0x0001, 0x00000000, 121)]),
    ("ct_ipv6_src", &[(0x0001, 0x00000000, 122)]),
    ("ct_ipv6_dst", &[(0x0001, 0x00000000, 123)]),
    ("ct_tp_src", &[(0x0001, 0x00000000, 124)]),
    ("ct_tp_dst", &[(0x0001, 0x00000000, 125)]),
    ("reg0", &[(0x0001, 0x00000000, 0)]),
    ("reg1", &[(0x0001, 0x00000000, 1)]),
    ("reg2", &[(0x0001, 0x00000000, 2)]),
    ("reg3", &[(0x0001, 0x00000000, 3)]),
    ("reg4", &[(0x0001, 0x00000000, 4)]),
    ("reg5", &[(0x0001, 0x00000000, 5)]),
    ("reg6", &[(0x0001, 0x00000000, 6)]),
    ("reg7", &[(0x0001, 0x00000000, 7)]),
    ("reg8", &[(0x0001, 0x00000000, 8)]),
    ("reg9", &[(0x0001, 0x00000000, 9)]),
    ("reg10", &[(0x0001, 0x00000000, 10)]),
    ("reg11", &[(0x0001, 0x00000000, 11)]),
    ("reg12", &[(0x0001, 0x00000000, 12)]),
    ("reg13", &[(0x0001, 0x00000000, 13)]),
    ("reg14", &[(0x0001, 0x00000000, 14)]),
    ("reg15", &[(0x0001, 0x00000000, 15)]),
    ("xreg0", &[(0x8001, 0x00000000, 0)]),
    ("xreg1", &[(0x8001, 0x00000000, 1)]),
    ("xreg2", &[(0x8001, 0x00000000, 2)]),
    ("xreg3", &[(0x8001, 0x00000000, 3)]),
    ("xreg4", &[(0x8001, 0x00000000, 4)]),
    ("xreg5", &[(0x8001, 0x00000000, 5)]),
    ("xreg6", &[(0x8001, 0x00000000, 6)]),
    ("xreg7", &[(0x8001, 0x00000000, 7)]),
    ("xxreg0", &[(0x0001, 0x00000000, 111)]),
    ("xxreg1", &[(0x0001, 0x00000000, 112)]),
    ("xxreg2", &[(0x0001, 0x00000000, 113)]),
    ("xxreg3", &[(0x0001, 0x00000000, 114)]),
    (
        "eth_src",
        &[(0x0000, 0x00000000, 2), (0x8000, 0x00000000, 4)],
    ),
    (
        "eth_dst",
        &[(0x0000, 0x00000000, 1), (0x8000, 0x00000000, 3)],
    ),
    (
        "eth_type",
        &[(0x0000, 0x00000000, 3), (0x8000, 0x00000000, 5)],
    ),
    ("vlan_tci", &[(0x0000, 0x00000000, 4)]),
    ("dl_vlan", &[]),
    ("vlan_vid", &[(0x8000, 0x00000000, 6)]),
    ("dl_vlan_pcp", &[]),
    ("vlan_pcp", &[(0x8000, 0x00000000, 7)]),
    ("mpls_label", &[(0x8000, 0x00000000, 34)]),
    ("mpls_tc", &[(0x8000, 0x00000000, 35)]),
    ("mpls_bos", &[(0x8000, 0x00000000, 36)]),
    ("mpls_ttl", &[(0x0001, 0x00000000, 30)]),
    (
        "ip_src",
        &[(0x0000, 0x00000000, 7), (0x8000, 0x00000000, 11)],
    ),
    (
        "ip_dst",
        &[(0x0000, 0x00000000, 8), (0x8000, 0x00000000, 12)],
    ),
    (
        "ipv6_src",
        &[(0x0001, 0x00000000, 19), (0x8000, 0x00000000, 26)],
    ),
    (
        "ipv6_dst",
        &[(0x0001, 0x00000000, 20), (0x8000, 0x00000000, 27)],
    ),
    (
        "ipv6_label",
        &[(0x0001, 0x00000000, 27), (0x8000, 0x00000000, 28)],
    ),
    (
        "nw_proto",
        &[(0x0000, 0x00000000, 6), (0x8000, 0x00000000, 10)],
    ),
    ("nw_tos", &[(0x0000, 0x00000000, 5)]),
    ("ip_dscp", &[(0x8000, 0x00000000, 8)]),
    (
        "nw_ecn",
        &[(0x0001, 0x00000000, 28), (0x8000, 0x00000000, 9)],
    ),
    ("nw_ttl", &[(0x0001, 0x00000000, 29)]),
    ("ip_frag", &[(0x0001, 0x00000000, 26)]),
    (
        "arp_op",
        &[(0x0000, 0x00000000, 15), (0x8000, 0x00000000, 21)],
    ),
    (
        "arp_spa",
        &[(0x0000, 0x00000000, 16), (0x8000, 0x00000000, 22)],
    ),
    (
        "arp_tpa",
        &[(0x0000, 0x00000000, 17), (0x8000, 0x00000000, 23)],
    ),
    (
        "arp_sha",
        &[(0x0001, 0x00000000, 17), (0x8000, 0x00000000, 24)],
    ),
    (
        "arp_tha",
        &[(0x0001, 0x00000000, 18), (0x8000, 0x00000000, 25)],
    ),
    (
        "tcp_src",
        &[(0x0000, 0x00000000, 9), (0x8000, 0x00000000, 13)],
    ),
    (
        "tcp_dst",
        &[(0x0000, 0x00000000, 10), (0x8000, 0x00000000, 14)],
    ),
    (
        "tcp_flags",
        &[(0x0001, 0x00000000, 34), (0xffff, 0x4f4e4600, 42)],
    ),
    (
        "udp_src",
        &[(0x0000, 0x00000000, 11), (0x8000, 0x00000000, 15)],
    ),
    (
        "udp_dst",
        &[(0x0000, 0x00000000, 12), (0x8000, 0x00000000, 16)],
    ),
    ("sctp_src", &[(0x8000, 0x00000000, 17)]),
    ("sctp_dst", &[(0x8000, 0x00000000, 18)]),
    (
        "icmp_type",
        &[(0x0000, 0x00000000, 13), (0x8000, 0x00000000, 19)],
    ),
    (
        "icmp_code",
        &[(0x0000, 0x00000000, 14), (0x8000, 0x00000000, 20)],
    ),
    (
        "icmpv6_type",
        &[(0x0001, 0x00000000, 21), (0x8000, 0x00000000, 29)],
    ),
    (
        "icmpv6_code",
        &[(0x0001, 0x00000000, 22), (0x8000, 0x00000000, 30)],
    ),
    (
        "nd_target",
        &[(0x0001, 0x00000000, 23), (0x8000, 0x00000000, 31)],
    ),
    (
        "nd_sll",
        &[(0x0001, 0x00000000, 24), (0x8000, 0x00000000, 32)],
    ),
    (
        "nd_tll",
        &[(0x0001, 0x00000000, 25), (0x8000, 0x00000000, 33)],
    ),
    ("nd_reserved", &[(0x1000, 0x00000000, 1)]),
    ("nd_options_type", &[(0x1000, 0x00000000, 2)]),
    ("nsh_flags", &[(0xffff, 0x005ad650, 1)]),
    ("nsh_mdtype", &[(0xffff, 0x005ad650, 2)]),
    ("nsh_np", &[(0xffff, 0x005ad650, 3)]),
    ("nsh_spi", &[(0xffff, 0x005ad650, 4)]),
    ("nsh_si", &[(0xffff, 0x005ad650, 5)]),
    ("nsh_c1", &[(0xffff, 0x005ad650, 6)]),
    ("nsh_c2", &[(0xffff, 0x005ad650, 7)]),
    ("nsh_c3", &[(0xffff, 0x005ad650, 8)]),
    ("nsh_c4", &[(0xffff, 0x005ad650, 9)]),
    ("nsh_ttl", &[(0xffff, 0x005ad650, 10)]),
];

/// OVS's field index for an OXM/NXM header (hasmask and length ignored),
/// with `experimenter` the id following an experimenter-class header.
pub(super) fn mff_index(header: u32, experimenter: u32) -> Option<usize> {
    let class = (header >> 16) as u16;
    let field = ((header >> 9) & 0x7f) as u8;
    let exp = if class == 0xffff { experimenter } else { 0 };
    MFF.iter().position(|(_, hs)| {
        hs.iter()
            .any(|&(c, e, f)| c == class && e == exp && f == field)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_headers_map_to_ovs_names() {
        let name = |h| MFF[mff_index(h, 0).unwrap()].0;
        assert_eq!(name(0x8000_0004), "in_port_oxm");
        assert_eq!(name(0x0000_0002), "in_port");
        assert_eq!(name(0x8000_0a02), "eth_type");
        assert_eq!(name(0x8000_1708), "ip_src");
        assert_eq!(name(0x0001_0004), "reg0");
        assert!(mff_index(0x8000_7f04, 0).is_none());
    }
}
