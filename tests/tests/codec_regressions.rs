//! Inputs the fuzz targets (`fuzz/`) found, kept as regression tests.
//!
//! Each input states the property the fuzz target checks (decode never
//! panics; what decodes re-encodes to bytes that decode again and re-encode
//! identically). Inputs whose bug is still open are listed in `open` with
//! the owner and the symptom: the test asserts they still fail, so the list
//! stays honest and a fix shows up as a test failure asking to move the
//! input to `fixed`.

use bytes::BytesMut;
use ofp_codec::action::{decode_actions, decode_instructions, encode_actions, encode_instructions};
use ofp_codec::{Match, Reader};

fn unhex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap())
        .collect()
}

/// The `match_decode` fuzz property.
fn match_round_trip(input: &[u8]) -> Result<(), String> {
    let Ok(m) = Match::decode(&mut Reader::new(input)) else {
        return Ok(()); // refusing is fine
    };
    let mut first = BytesMut::new();
    m.encode(&mut first);
    let again = Match::decode(&mut Reader::new(&first))
        .map_err(|e| format!("re-encoded match does not decode: {e:?}"))?;
    if again != m {
        return Err(format!("decodes to a different match: {m:?} vs {again:?}"));
    }
    Ok(())
}

/// The `actions_decode` fuzz property, action-list half.
fn actions_round_trip(input: &[u8]) -> Result<(), String> {
    let Ok(acts) = decode_actions(&mut Reader::new(input)) else {
        return Ok(());
    };
    let mut first = BytesMut::new();
    encode_actions(&acts, &mut first);
    let again = decode_actions(&mut Reader::new(&first))
        .map_err(|e| format!("re-encoded actions do not decode: {e:?}"))?;
    let mut second = BytesMut::new();
    encode_actions(&again, &mut second);
    if first != second {
        return Err("action encoding is not stable".into());
    }
    Ok(())
}

/// The `actions_decode` fuzz property, instruction half.
fn instructions_round_trip(input: &[u8]) -> Result<(), String> {
    let Ok(insts) = decode_instructions(&mut Reader::new(input)) else {
        return Ok(());
    };
    let mut first = BytesMut::new();
    encode_instructions(&insts, &mut first);
    let again = decode_instructions(&mut Reader::new(&first))
        .map_err(|e| format!("re-encoded instructions do not decode: {e:?}"))?;
    let mut second = BytesMut::new();
    encode_instructions(&again, &mut second);
    if first != second {
        return Err("instruction encoding is not stable".into());
    }
    Ok(())
}

struct Case {
    name: &'static str,
    hex: &'static str,
    check: fn(&[u8]) -> Result<(), String>,
    /// `Some(owner and symptom)` while the bug is open.
    open: Option<&'static str>,
}

const CASES: &[Case] = &[
    Case {
        name: "NXM_OF_VLAN_TCI 0x0680 (no CFI bit, VID set) in an OXM match",
        hex: "0001000a 00000802 0680 0000 15000000 00800000 00000000",
        check: match_round_trip,
        open: Some(
            "fields+match (flow_match): decodes, but the re-encoded match is refused with OFPBMC_BAD_PREREQ",
        ),
    },
    Case {
        name: "apply_actions holding a NXAST_LEARN whose re-encoding is refused",
        hex: "00040050 00000000 ffff0048 00002320 00100001 00000400 000a0000 00002900 \
              00000000 00000000 20100800 00000602 4e044400 00001004 00000000 0e040000 \
              28200004 00050001 00040000 00000000",
        check: instructions_round_trip,
        open: Some(
            "actions (action/learn): decodes, but the re-encoded learn is refused with OFPBAC_BAD_ARGUMENT",
        ),
    },
    Case {
        name: "NXM_OF_VLAN_TCI 0x8000 (PCP 4, no CFI bit) in an OXM match",
        hex: "0001000a 00000802 8000 000c 02001080",
        check: match_round_trip,
        open: Some("fields+match (flow_match): the re-encoded match decodes to a different Match"),
    },
    Case {
        name: "OpenFlow 1.1 standard match (type 0, 88 bytes) with dl_vlan none",
        hex: "00000058 ff20ff01 b820ff0d 00202000 01ffffff ffffffff ffffffff ffffffff \
              ffffffff ffffffff ffffffff ffffffff ffffffff ffffffff ffff000e 80000606 \
              ffffffff 00030000 01410800 00000000 00200000 00000000",
        check: match_round_trip,
        open: Some(
            "fields+match (flow_match): decodes as VlanVid only; after OXM re-encoding it decodes with VlanPcp too",
        ),
    },
    Case {
        name: "OpenFlow 1.1 OFPAT_SET_MPLS_LABEL with a label above 20 bits",
        hex: "000d0008 00fa024f",
        check: actions_round_trip,
        open: Some(
            "actions (action/wire, legacy OF1.1 actions): accepted, but re-encoded as set_field mpls_label it is refused with OFPBAC_BAD_SET_ARGUMENT",
        ),
    },
];

#[test]
fn fuzz_found_inputs_hold_the_round_trip_property_or_are_listed_open() {
    let mut problems = Vec::new();
    for c in CASES {
        let result = (c.check)(&unhex(c.hex));
        match (&result, c.open) {
            (Ok(()), None) | (Err(_), Some(_)) => {}
            (Ok(()), Some(_)) => problems.push(format!(
                "{}: fixed now, mark it closed (open: None)",
                c.name
            )),
            (Err(e), None) => problems.push(format!("{}: regressed: {e}", c.name)),
        }
        if let (Err(e), Some(owner)) = (&result, c.open) {
            println!("open bug: {} [{owner}]: {e}", c.name);
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}
