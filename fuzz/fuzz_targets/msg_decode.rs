//! Any bytes: decoding (and printing) an OpenFlow message never panics, and
//! whatever decodes re-encodes to bytes that decode again and re-encode to
//! the very same bytes.
//!
//! The oracle is a fixpoint after one normalization rather than
//! `encode(decode(x)) == x`: like Open vSwitch, rvs accepts some inputs it
//! would not produce itself (legacy action forms, nonzero padding), so the
//! first re-encoding may differ from the input; from then on it must not.
//! Messages holding a match or action Open vSwitch itself cannot re-encode
//! faithfully (`Match::oxm_reencoding_is_lossy`,
//! `Action::reencoding_is_lossy`, `flow_reencoding_is_lossy`) are only
//! decoded, encoded and printed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ofp_codec::Match;
use ofp_codec::action::{Action, Instruction, flow_reencoding_is_lossy};
use ofp_codec::msg::Message;
use ofp_codec::msg::multipart::{MultipartReplyBody, MultipartRequestBody};

fn acts_lossy(a: &[Action]) -> bool {
    a.iter().any(Action::reencoding_is_lossy)
}

fn insts_lossy(insts: &[Instruction]) -> bool {
    insts.iter().any(|i| match i {
        Instruction::ApplyActions(a) | Instruction::WriteActions(a) => acts_lossy(a),
        _ => false,
    })
}

fn match_lossy(m: &Match) -> bool {
    m.oxm_reencoding_is_lossy()
}

fn lossy(msg: &Message) -> bool {
    match msg {
        Message::FlowMod(f) => {
            match_lossy(&f.match_)
                || insts_lossy(&f.instructions)
                || flow_reencoding_is_lossy(&f.match_, &f.instructions)
        }
        Message::FlowRemoved(f) => match_lossy(&f.match_),
        Message::PacketIn(p) => match_lossy(&p.match_),
        Message::PacketOut(p) => acts_lossy(&p.actions),
        Message::GroupMod(g) => g.buckets.iter().any(|b| acts_lossy(&b.actions)),
        Message::MultipartRequest(r) => match &r.body {
            MultipartRequestBody::Flow(f) | MultipartRequestBody::Aggregate(f) => {
                match_lossy(&f.match_)
            }
            _ => false,
        },
        Message::MultipartReply(r) => match &r.body {
            MultipartReplyBody::Flow(fs) => fs.iter().any(|f| {
                match_lossy(&f.match_)
                    || insts_lossy(&f.instructions)
                    || flow_reencoding_is_lossy(&f.match_, &f.instructions)
            }),
            MultipartReplyBody::GroupDesc(gs) => gs
                .iter()
                .any(|g| g.buckets.iter().any(|b| acts_lossy(&b.actions))),
            _ => false,
        },
        _ => false,
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = ofp_codec::msg::print::ofp_to_string(data, 2);
    if let Ok((header, msg)) = Message::decode(data) {
        let first = msg.encode(header.xid);
        if lossy(&msg) {
            let _ = Message::decode(&first);
            return;
        }
        let (h2, m2) = Message::decode(&first).unwrap_or_else(|e| {
            panic!("re-encoded message does not decode ({e:?}); input {data:02x?}")
        });
        assert_eq!(h2.xid, header.xid);
        let second = m2.encode(h2.xid);
        assert_eq!(first, second, "encoding is not stable; input {data:02x?}");
        let _ = ofp_codec::msg::print::ofp_to_string(&first, 2);
    }
});
