//! Any bytes: decoding an `ofp_match` never panics, and a decoded match
//! re-encodes (to `encoded_len()` bytes) into bytes that decode to the same
//! match and re-encode identically — unless the match is one of the
//! `vlan_tci` forms Open vSwitch itself cannot carry in OXM
//! (`Match::oxm_reencoding_is_lossy`; rvs's bytes and outcome for those are
//! pinned against OVS in `tests/tests/codec_regressions.rs`).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ofp_codec::{Match, Reader};

fuzz_target!(|data: &[u8]| {
    let mut r = Reader::new(data);
    if let Ok(m) = Match::decode(&mut r) {
        let _ = m.to_string();
        let mut first = BytesMut::new();
        m.encode(&mut first);
        assert_eq!(first.len(), m.encoded_len());
        if m.oxm_reencoding_is_lossy() {
            let _ = Match::decode(&mut Reader::new(&first));
            return;
        }
        let again = Match::decode(&mut Reader::new(&first)).unwrap_or_else(|e| {
            panic!("re-encoded match does not decode ({e:?}); input {data:02x?}")
        });
        assert_eq!(again, m, "match round trip differs; input {data:02x?}");
        let mut second = BytesMut::new();
        again.encode(&mut second);
        assert_eq!(first, second);
    }
});
