//! Any text: parsing a flow line never panics, and a parsed flow printed
//! back as flow text parses to the same flow.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ofp_codec::text::{Protocols, parse_flow_line};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Flows only OpenFlow 1.0 could express (rvs refuses them) are skipped.
    if let Ok(parsed) = parse_flow_line(text, None)
        && parsed.usable.choose(Protocols::OF13_OXM).is_some()
    {
        let printed = parsed.spec.to_string();
        match parse_flow_line(&printed, None) {
            Ok(again) => assert_eq!(
                again.spec, parsed.spec,
                "flow text round trip differs: {text:?} -> {printed:?}"
            ),
            Err(e) => panic!("printed flow does not parse ({e}): {text:?} -> {printed:?}"),
        }
    }
});
