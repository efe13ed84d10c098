//! Any bytes: decoding an action list or an instruction list never panics,
//! and what decodes re-encodes to bytes that decode again and re-encode to
//! the same bytes (fixpoint after one normalization: OpenFlow 1.1 legacy
//! actions such as `OFPAT_SET_VLAN_VID` are accepted but re-encoded as
//! `set_field`, as Open vSwitch does).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ofp_codec::Reader;
use ofp_codec::action::{
    decode_actions, decode_instructions, encode_actions, encode_instructions, format_actions,
    format_instructions,
};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the decoder, so one corpus feeds both.
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    if which & 1 == 0 {
        if let Ok(acts) = decode_actions(&mut Reader::new(body)) {
            let _ = format_actions(&acts);
            let mut first = BytesMut::new();
            encode_actions(&acts, &mut first);
            let again = decode_actions(&mut Reader::new(&first)).unwrap_or_else(|e| {
                panic!("re-encoded actions do not decode ({e:?}); input {body:02x?}")
            });
            let mut second = BytesMut::new();
            encode_actions(&again, &mut second);
            assert_eq!(
                first, second,
                "action encoding is not stable; input {body:02x?}"
            );
        }
    } else if let Ok(insts) = decode_instructions(&mut Reader::new(body)) {
        let _ = format_instructions(&insts);
        let mut first = BytesMut::new();
        encode_instructions(&insts, &mut first);
        let again = decode_instructions(&mut Reader::new(&first)).unwrap_or_else(|e| {
            panic!("re-encoded instructions do not decode ({e:?}); input {body:02x?}")
        });
        let mut second = BytesMut::new();
        encode_instructions(&again, &mut second);
        assert_eq!(
            first, second,
            "instruction encoding is not stable; input {body:02x?}"
        );
    }
});
