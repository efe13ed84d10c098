//! Print parity: for every valid message of the corpus (and messages built
//! with rvs's encoder), rvs's printer gives exactly the text of
//! `ovs-ofctl -O OpenFlow13 ofp-print HEX`.

mod msg_support;

use msg_support::{corpus, have_ovs_ofctl, ovs_print, to_hex};
use ofp_codec::msg::multipart::{Desc, PortStats, QueueStats};
use ofp_codec::msg::print::ofp_to_string;
use ofp_codec::msg::*;

fn built_messages() -> Vec<Vec<u8>> {
    let mut port = Port {
        port_no: 0xffff_fffe,
        hw_addr: [0xaa, 0x55, 0xaa, 0x55, 0, 1],
        config: 1,
        state: 1,
        curr: 0x2040,
        advertised: 0x2040,
        supported: 0xffff,
        peer: 0x20,
        curr_speed_kbps: 10_000_000,
        max_speed_kbps: 40_000_000,
        ..Port::default()
    };
    port.set_name("br0");
    let mut p2 = port;
    p2.port_no = 2;
    p2.set_name("veth-two");
    p2.state = 4;
    let stats = PortStats {
        port_no: 3,
        rx_packets: 10,
        tx_packets: 20,
        rx_bytes: 1000,
        tx_bytes: 2000,
        rx_frame_err: u64::MAX,
        rx_over_err: u64::MAX,
        rx_crc_err: u64::MAX,
        collisions: u64::MAX,
        duration_sec: 12,
        duration_nsec: 345_000_000,
        ..Default::default()
    };
    let stats_local = PortStats {
        port_no: 0xffff_fffe,
        duration_sec: u32::MAX,
        ..stats
    };
    let msgs = vec![
        Message::PortStatus(PortStatus {
            reason: PortReason::ADD,
            desc: port,
        }),
        Message::PortStatus(PortStatus {
            reason: PortReason::DELETE,
            desc: p2,
        }),
        Message::MultipartReply(MultipartReply {
            flags: 0,
            body: MultipartReplyBody::PortDesc(vec![port, p2]),
        }),
        Message::MultipartReply(MultipartReply {
            flags: 1,
            body: MultipartReplyBody::PortStats(vec![stats, stats_local]),
        }),
        Message::MultipartReply(MultipartReply {
            flags: 0,
            body: MultipartReplyBody::Queue(vec![QueueStats {
                port_no: 1,
                queue_id: 0,
                tx_bytes: 5,
                tx_packets: 1,
                tx_errors: 0,
                duration_sec: 1,
                duration_nsec: 1,
            }]),
        }),
        Message::MultipartReply(MultipartReply {
            flags: 0,
            body: MultipartReplyBody::Desc(Desc {
                mfr_desc: "rvs project".into(),
                hw_desc: "rvs".into(),
                sw_desc: "0.1.0".into(),
                serial_num: "None".into(),
                dp_desc: "br0".into(),
            }),
        }),
        Message::EchoRequest(Echo {
            data: (0u8..40).collect(),
        }),
        Message::Hello(Hello::with_versions(1 << 4)),
        Message::BundleControl(BundleControl {
            bundle_id: 7,
            ctrl_type: BundleCtrlType::DISCARD_REPLY,
            flags: 2,
            properties: vec![],
        }),
    ];
    msgs.iter().map(|m| m.encode(0x42).to_vec()).collect()
}

#[test]
fn printer_matches_ovs_ofctl_for_the_valid_corpus() {
    if !have_ovs_ofctl() {
        eprintln!("ovs-ofctl not installed: skipping print parity");
        return;
    }
    let mut all: Vec<Vec<u8>> = corpus(include_str!("data/msg_print_corpus.txt"))
        .into_iter()
        .map(|(b, _)| b)
        .collect();
    all.extend(built_messages());
    let mut failures = Vec::new();
    for bytes in &all {
        // Every corpus message is valid for rvs too.
        if let Err(e) = Message::decode(bytes) {
            failures.push(format!("{}: rvs decode error {}", to_hex(bytes), e));
            continue;
        }
        let ours = ofp_to_string(bytes, 2);
        let theirs = ovs_print(bytes);
        if ours != theirs {
            failures.push(format!(
                "{}\n--- ovs\n{}--- rvs\n{}",
                to_hex(bytes),
                theirs,
                ours
            ));
        }
    }
    eprintln!(
        "print parity: {}/{} messages identical",
        all.len() - failures.len(),
        all.len()
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
