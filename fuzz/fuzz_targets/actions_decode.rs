//! Any bytes: decoding an action list or an instruction list never panics,
//! and what decodes — and Open vSwitch would accept in a flow (it checks
//! every decoded list, `ofpacts_check`; here `validate_flow` with one of a
//! few typical matches) — re-encodes to bytes that decode again and
//! re-encode to the same bytes (fixpoint after one normalization: OpenFlow
//! 1.1 legacy actions such as `OFPAT_SET_VLAN_VID` are accepted but
//! re-encoded as `set_field`, as Open vSwitch does). Lists holding an action
//! OVS itself cannot re-encode faithfully (`Action::reencoding_is_lossy`)
//! are only decoded and printed.
#![no_main]

use std::sync::OnceLock;

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use ofp_codec::action::{
    Action, FlowContext, Instruction, decode_actions, decode_instructions, encode_actions,
    encode_instructions, format_actions, format_instructions, validate_flow,
};
use ofp_codec::{Match, Reader};

fn matches() -> &'static [Match] {
    static M: OnceLock<Vec<Match>> = OnceLock::new();
    M.get_or_init(|| {
        [
            "",
            "ip",
            "ipv6",
            "tcp",
            "udp",
            "sctp",
            "icmp",
            "tcp6",
            "udp6",
            "icmp6",
            "arp",
            "mpls",
            "vlan_tci=0x1000/0x1000",
        ]
        .iter()
        .map(|s| Match::parse(s).expect("fixed match parses"))
        .collect()
    })
}

fn checked(insts: &[Instruction]) -> bool {
    let lossy = insts.iter().any(|i| match i {
        Instruction::ApplyActions(a) | Instruction::WriteActions(a) => {
            a.iter().any(Action::reencoding_is_lossy)
        }
        _ => false,
    });
    !lossy
        && matches()
            .iter()
            .any(|m| validate_flow(m, insts, FlowContext::table(0)).is_ok())
}

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
            if !checked(&[Instruction::ApplyActions(acts)]) {
                return;
            }
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
        if !checked(&insts) {
            return;
        }
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
