//! Byte vectors below come from `ovs-ofctl -O OpenFlow13 -mmmmm parse-flows`
//! (OVS 3.1): the `ofp_match` at offset 48 of the FLOW_MOD.

use bytes::BytesMut;

use super::*;
use crate::reader::Reader;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn encode(m: &Match) -> Vec<u8> {
    let mut b = BytesMut::new();
    m.encode(&mut b);
    assert_eq!(b.len(), m.encoded_len());
    b.to_vec()
}

/// `priority=5,ct_state=-new+trk,tcp,nw_src=10.0.0.0/8,tp_dst=80` as OVS encodes it.
const CT_TCP: &str = "0001002d80000a020800800017080a000000ff000000800014010680001c0200500001d3080000002000000021000000";

#[test]
fn decodes_ovs_bytes_and_reencodes_them_exactly() {
    let bytes = hex(CT_TCP);
    let mut r = Reader::new(&bytes);
    let m = Match::decode(&mut r).unwrap();
    assert!(r.is_empty(), "padding consumed");
    assert_eq!(m.eth_type(), Some(0x0800));
    assert_eq!(m.ip_proto(), Some(6));
    assert_eq!(
        m.value_mask(Field::Ipv4Src),
        Some((0x0a00_0000, 0xff00_0000))
    );
    assert_eq!(m.value(Field::TcpDst), Some(80));
    assert_eq!(m.value_mask(Field::CtState), Some((0x20, 0x21)));
    assert_eq!(encode(&m), bytes);
    assert_eq!(
        m.to_string(),
        "ct_state=-new+trk,tcp,nw_src=10.0.0.0/8,tp_dst=80"
    );
    assert_eq!(
        m.format_with_priority(5),
        "priority=5,ct_state=-new+trk,tcp,nw_src=10.0.0.0/8,tp_dst=80"
    );
}

#[test]
fn text_parse_matches_ovs_bytes() {
    let m = Match::parse("priority_is_not_here=1,tcp").unwrap_err();
    assert_eq!(m.msg, "unknown keyword priority_is_not_here");
    let m = Match::parse("tcp,nw_src=10.0.0.0/8,tp_dst=80,ct_state=+trk-new").unwrap();
    assert_eq!(encode(&m), hex(CT_TCP));
}

#[test]
fn packet_type_ethernet_is_emitted_only_when_nothing_implies_it() {
    assert_eq!(encode(&Match::new()), hex("0001000400000000"));
    // `tp_src=80` without a protocol: OVS drops the port but keeps the
    // Ethernet packet type its parser implied.
    let m = Match::parse("tp_src=80").unwrap();
    assert_eq!(encode(&m), hex("0001000c800058040000000000000000"));
    let d = Match::decode(&mut Reader::new(&encode(&m))).unwrap();
    assert_eq!(d, m);
    assert_eq!(d.to_string(), "");
    assert_eq!(
        encode(&Match::parse("reg0=1").unwrap()),
        hex("0001000c000100040000000100000000")
    );
    // A field with a prerequisite implies it: not on the wire.
    assert_eq!(
        encode(&Match::parse("ip").unwrap()),
        hex("0001000a80000a020800000000000000")
    );
}

#[test]
fn truncated_and_bad_length_inputs_are_refused() {
    let bytes = hex(CT_TCP);
    for cut in [0, 3, 4, 10, bytes.len() - 1] {
        assert_eq!(
            Match::decode(&mut Reader::new(&bytes[..cut])),
            Err(OfpError::OFPBMC_BAD_LEN),
            "cut {cut}"
        );
    }
    // ofp_match length below its own header.
    assert_eq!(
        Match::decode(&mut Reader::new(&hex("00010002"))),
        Err(OfpError::OFPBMC_BAD_LEN)
    );
    // OFPMT_STANDARD must be exactly 88 bytes; unknown types are BAD_TYPE.
    assert_eq!(
        Match::decode(&mut Reader::new(&hex("0000000400000000"))),
        Err(OfpError::OFPBMC_BAD_LEN)
    );
    assert_eq!(
        Match::decode(&mut Reader::new(&hex("0005000200000000"))),
        Err(OfpError::OFPBMC_BAD_TYPE)
    );
    // TLV length runs past the match.
    assert_eq!(
        Match::decode_oxm_tlvs(&hex("80000a04080000")),
        Err(OfpError::OFPBMC_BAD_LEN)
    );
    // A partial header.
    assert_eq!(
        Match::decode_oxm_tlvs(&hex("80000a")),
        Err(OfpError::OFPBMC_BAD_LEN)
    );
}

#[test]
fn field_errors_match_ovs() {
    // Unknown field (PBB_ISID, which OVS does not implement).
    assert_eq!(
        Match::decode_oxm_tlvs(&hex("80004a03000001")),
        Err(OfpError::OFPBMC_BAD_FIELD)
    );
    // Known header with the wrong length.
    assert_eq!(
        Match::decode_oxm_tlvs(&hex("80000a030800ff")),
        Err(OfpError::OFPBMC_BAD_FIELD)
    );
    // Duplicate eth_type.
    assert_eq!(
        Match::decode_oxm_tlvs(&hex("80000a02080080000a020800")),
        Err(OfpError::OFPBMC_DUP_FIELD)
    );
    // ip_src without eth_type=IPv4.
    assert_eq!(
        Match::decode_oxm_tlvs(&hex("8000160401020304")),
        Err(OfpError::OFPBMC_BAD_PREREQ)
    );
    // Prerequisite after the field: still refused (checked in order).
    assert_eq!(
        Match::decode_oxm_tlvs(&hex("800016040102030480000a020800")),
        Err(OfpError::OFPBMC_BAD_PREREQ)
    );
    // Value bit outside the mask.
    assert_eq!(
        Match::decode_oxm_tlvs(&hex("00010308000000ff0000000f")),
        Err(OfpError::OFPBMC_BAD_WILDCARDS)
    );
    // Masked eth_type (not maskable).
    assert_eq!(
        Match::decode_oxm_tlvs(&hex("80000b0408000f00")),
        Err(OfpError::OFPBMC_BAD_MASK)
    );
    // DSCP 64 is out of range.
    assert_eq!(
        Match::decode_oxm_tlvs(&hex("80000a0208008000100140")),
        Err(OfpError::OFPBMC_BAD_VALUE)
    );
    // in_port 0x0000ff00 cannot be represented.
    assert_eq!(
        Match::decode_oxm_tlvs(&hex("800000040000ff00")),
        Err(OfpError::OFPBMC_BAD_VALUE)
    );
}

#[test]
fn canonical_forms() {
    let mut m = Match::new();
    m.set_exact(Field::CtState, 0x20).unwrap();
    assert_eq!(
        m.get(Field::CtState).unwrap().mask.as_deref(),
        Some(&[0, 0, 0, 0xff][..])
    );
    m.set_u128(Field::XReg(0), 5, None).unwrap();
    assert_eq!(m.value_mask(Field::Reg(0)), Some((0, 0xffff_ffff)));
    assert_eq!(m.value_mask(Field::Reg(1)), Some((5, 0xffff_ffff)));
    m.set_u128(Field::NwTos, 0x10, None).unwrap();
    assert_eq!(m.value(Field::IpDscp), Some(4));
    assert_eq!(
        m.set_u128(Field::NwTos, 0x11, None),
        Err(OfpError::OFPBMC_BAD_VALUE)
    );
    m.set_u128(Field::VlanTci, 0x1005, Some(0xffff)).unwrap();
    assert_eq!(m.value_mask(Field::VlanVid), Some((0x1005, 0xffff)));
    assert_eq!(m.value(Field::VlanPcp), Some(0));
    m.set_u128(Field::IpFrag, 1, Some(3)).unwrap();
    assert!(m.get(Field::IpFrag).unwrap().mask.is_none());
    assert!(m.remove(Field::XReg(0)).is_some());
    assert!(!m.contains(Field::Reg(0)) && !m.contains(Field::Reg(1)));
    assert_eq!(
        m.set_u128(Field::EthType, 0x800, Some(0xff00)),
        Err(OfpError::OFPBMC_BAD_MASK)
    );
    assert_eq!(
        m.set(Field::EthType, &[8], None),
        Err(OfpError::OFPBMC_BAD_LEN)
    );
    assert_eq!(
        m.set_exact(Field::Reg(16), 1),
        Err(OfpError::OFPBMC_BAD_FIELD)
    );
    assert_eq!(
        m.set_exact(Field::XReg(8), 1),
        Err(OfpError::OFPBMC_BAD_FIELD)
    );
    assert_eq!(
        m.set_exact(Field::PbbIsid, 1),
        Err(OfpError::OFPBMC_BAD_FIELD)
    );
}

#[test]
fn prereqs() {
    let m = Match::parse("ct_nw_src=1.2.3.4").unwrap();
    assert_eq!(m.check_prereqs(), Err(OfpError::OFPBMC_BAD_PREREQ));
    let m = Match::parse("ct_state=+trk+est,ip,ct_nw_src=1.2.3.4").unwrap();
    assert_eq!(m.check_prereqs(), Ok(()));
    let m = Match::parse("ct_state=+trk-inv,ct_nw_src=1.2.3.4").unwrap();
    assert_eq!(
        m.check_prereqs(),
        Ok(()),
        "-inv with +trk is a valid connection"
    );
    let m = Match::parse("ip,ip_frag=later,tcp,tp_src=80").unwrap();
    assert_eq!(
        m.check_prereqs(),
        Err(OfpError::OFPBMC_BAD_PREREQ),
        "later fragments have no ports"
    );
    assert!(Match::parse("arp,arp_op=1").unwrap().is_arp());
    assert!(!Match::parse("arp").unwrap().is_ip());
}

#[test]
fn alternate_headers_decode_to_the_canonical_fields() {
    // NXM_OF_VLAN_TCI=0x1005 → vlan_vid=0x1005 + vlan_pcp=0, as OVS re-encodes it.
    let m = Match::decode_oxm_tlvs(&hex("000008021005")).unwrap();
    assert_eq!(m.to_string(), "dl_vlan=5,dl_vlan_pcp=0");
    let mut b = BytesMut::new();
    m.encode_oxm_tlvs(&mut b);
    assert_eq!(&b[..], &hex("80000c02100580000e0100")[..]);
    // NXM_OF_IN_PORT=0xfffe (16-bit LOCAL) → OXM in_port 0xfffffffe.
    let m = Match::decode_oxm_tlvs(&hex("00000002fffe")).unwrap();
    assert_eq!(m.value(Field::InPort), Some(0xffff_fffe));
    assert_eq!(m.to_string(), "in_port=LOCAL");
    // NXM_NX_XXREG0 → reg0..reg3.
    let m = Match::decode_oxm_tlvs(&hex("0001de1000000000000000000000000000000005")).unwrap();
    assert_eq!(m.to_string(), "reg0=0,reg1=0,reg2=0,reg3=0x5");
    // NXOXM_ET_DP_HASH (Nicira experimenter) → re-encoded as NXM_NX_DP_HASH.
    let m = Match::decode_oxm_tlvs(&hex("ffff00080000232000000005")).unwrap();
    let mut b = BytesMut::new();
    m.encode_oxm_tlvs(&mut b);
    assert_eq!(&b[..], &hex("0001460400000005")[..]);
    // ONF tcp_flags, exact.
    let m = Match::decode_oxm_tlvs(&hex("80000a0208008000140106ffff54064f4e46000002")).unwrap();
    assert_eq!(m.to_string(), "tcp,tcp_flags=syn");
    // The OF1.5 packet registers are accepted too, as two regs.
    let m = Match::decode_oxm_tlvs(&hex("800100080000000100000005")).unwrap();
    assert_eq!(m.to_string(), "reg0=0x1,reg1=0x5");
}

#[test]
fn key_value_separators_follow_ovs() {
    let a = Match::parse("tcp,tp_dst:80,dl_src:00:11:22:33:44:55 ipv6_src=::1").unwrap();
    assert_eq!(a.to_string(), "tcp,dl_src=00:11:22:33:44:55,tp_dst=80");
    let b = Match::parse("tcp6 ipv6_src=::1,tp_dst=80").unwrap();
    assert_eq!(b.to_string(), "tcp6,ipv6_src=::1,tp_dst=80");
}

#[test]
fn loose_selection_counts_the_implied_packet_type() {
    let rule = Match::parse("tcp,nw_src=10.1.2.3,tp_dst=80").unwrap();
    for sel in [
        "",
        "ip",
        "tcp",
        "ip,nw_src=10.0.0.0/8",
        "tcp,tp_dst=80",
        "tp_src=80",
        "eth",
    ] {
        let c = Match::parse(sel).unwrap();
        assert!(c.selects_loosely(&rule), "{sel}");
    }
    for sel in [
        "udp",
        "ip,nw_src=11.0.0.0/8",
        "tcp,tp_dst=81",
        "reg0=1",
        "packet_type=(1,0x800)",
    ] {
        let c = Match::parse(sel).unwrap();
        assert!(!c.selects_loosely(&rule), "{sel}");
    }
    // `tp_src=80` alone keeps only OVS's implied packet_type=Ethernet.
    assert_eq!(
        Match::parse("tp_src=80")
            .unwrap()
            .value_mask(Field::PacketType),
        Some((0, 0xffff_ffff))
    );
    assert_eq!(
        rule.effective_value_mask(Field::PacketType),
        Some((0, 0xffff_ffff))
    );
    assert_eq!(
        Match::parse("reg0=1")
            .unwrap()
            .effective_value_mask(Field::PacketType),
        None
    );
}
