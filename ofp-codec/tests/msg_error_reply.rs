//! Error replies: `Message::error_reply` gives the bytes of
//! `ovs-ofctl encode-error-reply NAME REQUEST` for every error rvs knows by
//! name (standard and vendor), with a short and a long request.

mod msg_support;

use std::process::Command;

use msg_support::{have_ovs_ofctl, hex, to_hex};
use ofp_codec::OfpError;
use ofp_codec::msg::{ErrorMsg, Message};

fn ovs_error_reply(name: &str, request: &[u8]) -> Option<Vec<u8>> {
    let out = Command::new("ovs-ofctl")
        .args(["encode-error-reply", name, &to_hex(request)])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    // Hex dump lines: offset, two spaces, bytes (with '-' after the 8th).
    let text = String::from_utf8_lossy(&out.stdout);
    let hexes: String = text
        .lines()
        .filter_map(|l| l.get(10..))
        .map(|l| l.replace('-', " "))
        .collect::<Vec<_>>()
        .join(" ");
    Some(hex(&hexes))
}

#[test]
fn error_replies_match_ovs_encode_error_reply() {
    if !have_ovs_ofctl() {
        return;
    }
    let short = hex("04 14 00 08 00 00 00 09");
    let long: Vec<u8> = {
        let mut v = hex("04 0e 00 90 12 34 56 78");
        v.resize(0x90, 0xab);
        v
    };
    let mut checked = 0;
    let mut failures = Vec::new();
    let names: Vec<(&str, OfpError)> = OfpError::KNOWN
        .iter()
        .copied()
        .chain(ofp_codec::error_vendor::VENDOR_ERRORS.iter().copied())
        .collect();
    for (name, err) in names {
        for req in [&short, &long] {
            let Some(theirs) = ovs_error_reply(name, req) else {
                continue; // a name OVS spells differently
            };
            checked += 1;
            let ours = Message::error_reply(err, req).to_vec();
            if ours != theirs {
                failures.push(format!(
                    "{name}: ovs {} rvs {}",
                    to_hex(&theirs),
                    to_hex(&ours)
                ));
            }
        }
    }
    eprintln!(
        "error replies: {checked} compared, {} differ",
        failures.len()
    );
    assert!(
        checked > 200,
        "only {checked} error names were accepted by ovs-ofctl"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn error_reply_round_trips_and_keeps_request_xid() {
    let req = hex("04 12 00 10 ab cd ef 01 00 63 00 00 00 00 00 00");
    let reply = Message::error_reply(OfpError::OFPBRC_BAD_STAT, &req);
    let (h, m) = Message::decode(&reply).unwrap();
    assert_eq!(h.xid, 0xabcd_ef01);
    assert_eq!(
        m,
        Message::Error(ErrorMsg {
            error: OfpError::OFPBRC_BAD_STAT,
            data: req.clone()
        })
    );
    // A vendor error carries the experimenter id before the data.
    let v = Message::error_reply(OfpError::OFPBFC_MSG_UNSUP, &req);
    assert_eq!(&v[8..16], &hex("ff ff 09 06 4f 4e 46 00")[..]);
}
