//! Property: every valid match survives encode → decode unchanged, and its
//! text survives print → parse → print.

use bytes::BytesMut;
use ofp_codec::{Field, Match, Reader};
use proptest::prelude::*;

/// Fields with no prerequisite beyond what `base` sets up, with value masks.
fn field_strategy() -> impl Strategy<Value = (Field, u128, Option<u128>)> {
    let any_field = prop_oneof![
        Just(Field::InPort),
        Just(Field::Metadata),
        Just(Field::EthSrc),
        Just(Field::EthDst),
        Just(Field::TunId),
        Just(Field::TunSrc),
        Just(Field::TunIpv6Dst),
        Just(Field::PktMark),
        Just(Field::CtState),
        Just(Field::CtZone),
        Just(Field::CtMark),
        Just(Field::CtLabel),
        Just(Field::DpHash),
        Just(Field::RecircId),
        Just(Field::ConjId),
        (0u8..16).prop_map(Field::Reg),
        (0u8..8).prop_map(Field::XReg),
        (0u8..4).prop_map(Field::XXReg),
        Just(Field::VlanVid),
        Just(Field::IpDscp),
        Just(Field::IpEcn),
        Just(Field::NwTtl),
        Just(Field::IpFrag),
        Just(Field::Ipv4Src),
        Just(Field::Ipv4Dst),
        Just(Field::TcpSrc),
        Just(Field::TcpDst),
        Just(Field::TcpFlags),
    ];
    (any_field, any::<u128>(), any::<u128>(), any::<bool>()).prop_map(|(f, v, m, exact)| {
        let info = f.info();
        // ct_state's valid bits are the 8 flags, though OVS's n_bits is 32.
        let bits = if f == Field::CtState {
            8
        } else {
            info.width_bits as u32
        };
        let lim = if bits >= 128 {
            u128::MAX
        } else {
            (1u128 << bits) - 1
        };
        let mut v = v & lim;
        if f == Field::InPort {
            v &= 0x7fff;
        }
        if f == Field::VlanVid {
            v |= 0x1000;
        }
        if f == Field::IpFrag {
            // Later fragments have no TCP ports (prerequisite), and "later"
            // without "any fragment" is what OVS prints as <error>.
            v &= 1;
        }
        let mask = if exact || !info.maskable {
            None
        } else {
            Some(m & lim | if f == Field::VlanVid { 0x1000 } else { 0 })
        };
        (f, v, mask)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_of_encode_is_identity(fields in proptest::collection::vec(field_strategy(), 0..8)) {
        // A TCP/IPv4 base so that every generated field's prerequisite holds.
        let mut m = Match::parse("tcp").unwrap();
        for (f, v, mask) in fields {
            m.set_u128(f, v, mask).unwrap();
        }
        prop_assert_eq!(m.check_prereqs(), Ok(()));
        let mut buf = BytesMut::new();
        m.encode(&mut buf);
        prop_assert_eq!(buf.len(), m.encoded_len());
        prop_assert_eq!(buf.len() % 8, 0);
        let d = Match::decode(&mut Reader::new(&buf)).unwrap();
        prop_assert_eq!(&d, &m);
        let text = m.to_string();
        let reparsed = Match::parse(&text).unwrap();
        prop_assert_eq!(reparsed.to_string(), text);
    }

    /// Random TLV lists built from real headers (any field, any header OVS
    /// accepts for it, random value and mask): whatever decodes re-encodes
    /// to bytes that decode to the same match (canonical form is stable).
    #[test]
    fn decoded_matches_are_canonical(
        picks in proptest::collection::vec((any::<usize>(), any::<usize>(), any::<u128>(), any::<u128>(), any::<bool>()), 0..6),
        base in 0usize..4,
    ) {
        let bases = ["80000a020800", "80000a0286dd80000a0208068000140106", "80000a02080080001401068000", ""];
        let mut tlvs: Vec<u8> = (0..bases[base].len() / 2)
            .map(|i| u8::from_str_radix(&bases[base][2 * i..2 * i + 2], 16).unwrap())
            .collect();
        // NXM_OF_VLAN_TCI is left out: a TCI without the CFI bit but with PCP
        // mask bits re-encodes (in OVS too) as a VLAN_PCP whose prerequisite
        // fails, so OVS's own encoding is not idempotent there.
        let rows: Vec<_> = ofp_codec::field::FIELDS
            .iter()
            .filter(|r| r.ovs_supported && r.field != Field::VlanTci)
            .collect();
        for (fi, hi, v, m, masked) in picks {
            let row = rows[fi % rows.len()];
            let ids: Vec<_> = std::iter::once(row.oxm).chain(row.alt.iter().copied()).collect();
            let id = ids[hi % ids.len()];
            let w = row.width_bytes as usize;
            let lim = row.value_bits_mask();
            let m = m & lim;
            let v = if masked { v & m } else { v & lim };
            let mut b = BytesMut::new();
            let vb = v.to_be_bytes()[16 - w..].to_vec();
            let mb = m.to_be_bytes()[16 - w..].to_vec();
            use bytes::BufMut;
            b.put_u32(id.header(masked, (w * if masked { 2 } else { 1 }) as u8));
            if id.is_experimenter() {
                b.put_u32(id.experimenter);
            }
            b.put_slice(&vb);
            if masked {
                b.put_slice(&mb);
            }
            tlvs.extend_from_slice(&b);
        }
        if let Ok(m) = Match::decode_oxm_tlvs(&tlvs) {
            let mut buf = BytesMut::new();
            m.encode_oxm_tlvs(&mut buf);
            let again = Match::decode_oxm_tlvs(&buf);
            prop_assert_eq!(again.as_ref(), Ok(&m), "{:02x?} -> {:02x?}", tlvs, &buf[..]);
        }
    }

    #[test]
    fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128), standard in any::<bool>()) {
        let _ = Match::decode(&mut Reader::new(&bytes));
        let _ = Match::decode_oxm_tlvs(&bytes);
        // Also as an OpenFlow 1.1 standard match (type 0, length 88).
        if standard && bytes.len() >= 88 {
            let mut b = bytes.clone();
            b[..4].copy_from_slice(&[0, 0, 0, 88]);
            if let Ok(m) = Match::decode(&mut Reader::new(&b)) {
                let mut out = BytesMut::new();
                m.encode(&mut out);
                let _ = m.to_string();
            }
        }
    }
}
