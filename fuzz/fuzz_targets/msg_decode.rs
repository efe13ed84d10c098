//! Any bytes: decoding an OpenFlow message never panics, and whatever
//! decodes re-encodes to bytes that decode to the same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ofp_codec::msg::Message;

fuzz_target!(|data: &[u8]| {
    if let Ok((header, msg)) = Message::decode(data) {
        let bytes = msg.encode(header.xid);
        match Message::decode(&bytes) {
            Ok((h2, m2)) => {
                assert_eq!(h2.xid, header.xid);
                assert_eq!(m2, msg, "decode(encode(m)) != m for input {data:02x?}");
            }
            Err(e) => panic!("re-encoded message does not decode ({e:?}); input {data:02x?}"),
        }
        // Printing never panics either.
        let _ = ofp_codec::msg::print::ofp_to_string(data, 2);
    } else {
        let _ = ofp_codec::msg::print::ofp_to_string(data, 2);
    }
});
