//! Any bytes: decoding an action list or an instruction list never panics,
//! and what decodes re-encodes to bytes that decode to the same list.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ofp_codec::Reader;
use ofp_codec::action::{
    decode_actions, decode_instructions, encode_actions, encode_instructions, format_instructions,
};

fuzz_target!(|data: &[u8]| {
    // First byte picks the decoder, so one corpus feeds both.
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    if which & 1 == 0 {
        if let Ok(acts) = decode_actions(&mut Reader::new(body)) {
            let mut out = BytesMut::new();
            encode_actions(&acts, &mut out);
            let again = decode_actions(&mut Reader::new(&out)).unwrap_or_else(|e| {
                panic!("re-encoded actions do not decode ({e:?}); input {body:02x?}")
            });
            assert_eq!(again, acts, "actions round trip differs; input {body:02x?}");
        }
    } else if let Ok(insts) = decode_instructions(&mut Reader::new(body)) {
        let mut out = BytesMut::new();
        encode_instructions(&insts, &mut out);
        let again = decode_instructions(&mut Reader::new(&out)).unwrap_or_else(|e| {
            panic!("re-encoded instructions do not decode ({e:?}); input {body:02x?}")
        });
        assert_eq!(
            again, insts,
            "instructions round trip differs; input {body:02x?}"
        );
        let _ = format_instructions(&insts);
    }
});
