//! Malformed-message corpus: for every entry, rvs's decoder fails with the
//! error Open vSwitch's decoder reports for the same bytes. The expected
//! name is stored in the data file and, when `ovs-ofctl` is installed
//! (required under `CI=true`), re-checked against it.

mod msg_support;

use msg_support::{corpus, have_ovs_ofctl, ovs_decode_error, ovs_print, to_hex};
use ofp_codec::OfpError;
use ofp_codec::msg::Message;

/// OVS 3.1 spells a few errors differently from the names rvs uses for the
/// same numbers (OpenFlow 1.3 spellings); compare by value.
fn same_error(name: &str, e: OfpError) -> bool {
    let alias = match name {
        "OFPBRC_IS_SECONDARY" => "OFPBRC_IS_SLAVE",
        "OFPBPC_BAD_TYPE" => "OFPTFFC_BAD_TYPE",
        "OFPBPC_BAD_LEN" => "OFPTFFC_BAD_LEN",
        "OFPBPC_BAD_VALUE" => "OFPTFFC_BAD_ARGUMENT",
        n => n,
    };
    e.to_string() == name || OfpError::from_name(alias) == Some(e)
}

#[test]
fn decode_errors_match_ovs_for_the_malformed_corpus() {
    let entries = corpus(include_str!("data/msg_malformed.txt"));
    assert!(entries.len() >= 60, "corpus has {} entries", entries.len());
    let oracle = have_ovs_ofctl();
    let mut failures = Vec::new();
    for (bytes, expected) in &entries {
        let expected = expected.as_deref().expect("every entry names its error");
        if oracle {
            let ovs = ovs_decode_error(&ovs_print(bytes));
            if ovs.as_deref() != Some(expected) {
                failures.push(format!(
                    "{}: data file says {expected}, ovs-ofctl says {ovs:?}",
                    to_hex(bytes)
                ));
            }
        }
        match Message::decode(bytes) {
            Ok((_, m)) => failures.push(format!(
                "{}: rvs accepted it as {:?}",
                to_hex(bytes),
                m.msg_type()
            )),
            Err(e) if !same_error(expected, e) => failures.push(format!(
                "{}: expected {expected}, rvs says {e}",
                to_hex(bytes)
            )),
            Err(_) => {}
        }
    }
    eprintln!(
        "malformed corpus: {}/{} agree",
        entries.len() - failures.len(),
        entries.len()
    );
    assert!(
        failures.is_empty(),
        "{} disagreements:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn printer_reports_the_same_decode_error_as_ovs() {
    if !have_ovs_ofctl() {
        return;
    }
    // The printer's text for a malformed message is OVS's whenever the
    // error is found before any body text is printed.
    for (bytes, _) in corpus(include_str!("data/msg_malformed.txt")) {
        let ours = ofp_codec::msg::print::ofp_to_string(&bytes, 2);
        let theirs = ovs_print(&bytes);
        assert_eq!(
            ovs_decode_error(&ours),
            ovs_decode_error(&theirs),
            "{}",
            to_hex(&bytes)
        );
    }
}
