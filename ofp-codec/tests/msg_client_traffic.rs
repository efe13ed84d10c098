//! Real controller traffic: every message `ovs-ofctl -O OpenFlow13` sent to a
//! fake switch for common commands (bundles included) decodes in rvs,
//! re-encodes to the same bytes, and prints as `ovs-ofctl ofp-print` prints it.

mod msg_support;

use msg_support::{corpus, have_ovs_ofctl, ovs_print, to_hex};
use ofp_codec::msg::print::ofp_to_string;
use ofp_codec::msg::{Message, MsgType};

#[test]
fn ovs_ofctl_traffic_decodes_reencodes_and_prints_identically() {
    let msgs: Vec<Vec<u8>> = corpus(include_str!("data/msg_ovs_ofctl_traffic.txt"))
        .into_iter()
        .map(|(b, _)| b)
        .collect();
    assert!(msgs.len() >= 20);
    let oracle = have_ovs_ofctl();
    let mut bundles = 0;
    for bytes in &msgs {
        let (h, m) = Message::decode(bytes).unwrap_or_else(|e| panic!("{}: {e}", to_hex(bytes)));
        assert_eq!(m.encode(h.xid).to_vec(), *bytes, "{}", to_hex(bytes));
        if let Message::BundleAdd(add) = &m {
            bundles += 1;
            // The inner flow mod decodes on its own.
            let (ih, inner) = Message::decode(&add.message).unwrap();
            assert_eq!((ih.xid, inner.msg_type()), (h.xid, MsgType::FLOW_MOD));
        }
        if oracle {
            assert_eq!(
                ofp_to_string(bytes, 2),
                ovs_print(bytes),
                "{}",
                to_hex(bytes)
            );
        }
    }
    assert!(bundles >= 15, "{bundles}");
}
