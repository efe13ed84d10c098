//! Any bytes: decoding (and printing) an OpenFlow message never panics, and
//! whatever decodes re-encodes to bytes that decode again and re-encode to
//! the very same bytes.
//!
//! The oracle is a fixpoint after one normalization rather than
//! `encode(decode(x)) == x`: like Open vSwitch, rvs accepts some inputs it
//! would not produce itself (legacy action forms, nonzero padding), so the
//! first re-encoding may differ from the input; from then on it must not.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ofp_codec::msg::Message;

fuzz_target!(|data: &[u8]| {
    let _ = ofp_codec::msg::print::ofp_to_string(data, 2);
    if let Ok((header, msg)) = Message::decode(data) {
        let first = msg.encode(header.xid);
        let (h2, m2) = Message::decode(&first).unwrap_or_else(|e| {
            panic!("re-encoded message does not decode ({e:?}); input {data:02x?}")
        });
        assert_eq!(h2.xid, header.xid);
        let second = m2.encode(h2.xid);
        assert_eq!(first, second, "encoding is not stable; input {data:02x?}");
        let _ = ofp_codec::msg::print::ofp_to_string(&first, 2);
    }
});
