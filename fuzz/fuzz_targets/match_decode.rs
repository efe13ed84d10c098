//! Any bytes: decoding an `ofp_match` never panics, and a decoded match
//! re-encodes to bytes that decode to the same match.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ofp_codec::{Match, Reader};

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    if let Ok(m) = Match::decode(&mut r) {
        let mut out = BytesMut::new();
        m.encode(&mut out);
        assert_eq!(out.len(), m.encoded_len());
        let mut r2 = Reader::new(&out);
        let again = Match::decode(&mut r2).unwrap_or_else(|e| {
            panic!("re-encoded match does not decode ({e:?}); input {data:02x?}")
        });
        assert_eq!(again, m, "match round trip differs; input {data:02x?}");
        let _ = m.to_string();
    }
});
