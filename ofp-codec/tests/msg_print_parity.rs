//! Print parity: for every valid message of the corpus (and messages built
//! with rvs's encoder), rvs's printer gives exactly the text of
//! `ovs-ofctl -O OpenFlow13 ofp-print HEX`.

mod msg_support;

use msg_support::{corpus, have_ovs_ofctl, ovs_print, to_hex};
use ofp_codec::msg::multipart::{Desc, PortStats, QueueStats};
use ofp_codec::msg::print::ofp_to_string;
use ofp_codec::msg::*;
use ofp_codec::{Action, Field, Instruction, Match};

fn tcp_match() -> Match {
    let mut m = Match::new();
    m.set_exact(Field::InPort, 3).unwrap();
    m.set_exact(Field::EthType, 0x0800).unwrap();
    m.set_exact(Field::IpProto, 6).unwrap();
    m
}

fn flow_messages() -> Vec<Message> {
    let out = |port| Action::Output { port, max_len: 0 };
    let fr = FlowRemoved {
        cookie: 0xabc,
        priority: 10,
        reason: FlowRemovedReason::IDLE_TIMEOUT,
        table_id: 2,
        duration_sec: 3,
        duration_nsec: 500_000_000,
        idle_timeout: 10,
        hard_timeout: 0,
        packet_count: 7,
        byte_count: 700,
        match_: tcp_match(),
    };
    let fs = FlowStats {
        table_id: 1,
        duration_sec: 100,
        duration_nsec: 1_000,
        priority: 100,
        idle_timeout: 5,
        hard_timeout: 0,
        flags: 1,
        cookie: 0x10,
        packet_count: 3,
        byte_count: 180,
        match_: tcp_match(),
        instructions: vec![
            Instruction::ApplyActions(vec![out(2)]),
            Instruction::GotoTable(4),
        ],
    };
    let empty = FlowStats {
        match_: Match::new(),
        instructions: vec![],
        priority: 0x8000,
        ..fs.clone()
    };
    let bucket = |port, weight| Bucket {
        weight,
        watch_port: 0xffff_ffff,
        watch_group: 0xffff_ffff,
        actions: vec![out(port)],
    };
    vec![
        Message::FlowRemoved(fr.clone()),
        Message::FlowRemoved(FlowRemoved {
            reason: FlowRemovedReason::DELETE,
            hard_timeout: 30,
            table_id: 0,
            cookie: 0,
            ..fr
        }),
        Message::PacketOut(PacketOut {
            buffer_id: 0xffff_ffff,
            in_port: 0xffff_fffd,
            actions: vec![out(1), out(2)],
            data: vec![],
        }),
        Message::PacketOut(PacketOut {
            buffer_id: 0x100,
            in_port: 5,
            actions: vec![],
            data: vec![],
        }),
        Message::MultipartReply(MultipartReply {
            flags: 0,
            body: MultipartReplyBody::Flow(vec![fs.clone(), empty]),
        }),
        Message::MultipartRequest(MultipartRequest {
            flags: 0,
            body: MultipartRequestBody::Flow(FlowStatsRequest {
                match_: tcp_match(),
                table_id: 3,
                out_port: 2,
                ..Default::default()
            }),
        }),
        Message::MultipartRequest(MultipartRequest {
            flags: 0,
            body: MultipartRequestBody::Aggregate(FlowStatsRequest::default()),
        }),
        Message::GroupMod(GroupMod {
            command: GroupModCommand::ADD,
            group_type: GroupType::SELECT,
            group_id: 7,
            buckets: vec![bucket(1, 1), bucket(2, 5)],
        }),
        Message::GroupMod(GroupMod {
            command: GroupModCommand::DELETE,
            group_type: GroupType::ALL,
            group_id: 8,
            buckets: vec![],
        }),
        Message::GroupMod(GroupMod {
            command: GroupModCommand::MODIFY,
            group_type: GroupType::FF,
            group_id: 9,
            buckets: vec![Bucket {
                weight: 0,
                watch_port: 3,
                watch_group: 0xffff_ffff,
                actions: vec![out(3)],
            }],
        }),
        Message::MultipartReply(MultipartReply {
            flags: 0,
            body: MultipartReplyBody::GroupDesc(vec![
                GroupDesc {
                    group_type: GroupType::ALL,
                    group_id: 1,
                    buckets: vec![bucket(1, 0), bucket(2, 0)],
                },
                GroupDesc {
                    group_type: GroupType::INDIRECT,
                    group_id: 2,
                    buckets: vec![bucket(4, 0)],
                },
            ]),
        }),
    ]
}

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
    msgs.iter()
        .chain(&flow_messages())
        .map(|m| m.encode(0x42).to_vec())
        .collect()
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

/// The switch's `TABLE_FEATURES` reply is accepted by `ovs-ofctl` and rvs
/// prints table features exactly as it does, including `ditto` runs,
/// table-miss differences and field-name compression.
#[test]
fn table_features_print_as_ovs_ofctl_prints_them() {
    use ofp_codec::msg::multipart::{
        TableCapabilities, TableFeatureProp, TableFeaturePropType as T, TableFeatures,
    };
    if !have_ovs_ofctl() {
        return;
    }
    // in_port, eth_type, ip_proto exact; ipv4_src/dst and metadata maskable;
    // regs 0-3 (NXM) maskable; an unknown OXM (ignored by OVS).
    let match_oxms = [
        0x8000_0004,
        0x8000_0a02,
        0x8000_1401,
        0x8000_1708,
        0x8000_1908,
        0x8000_0510,
        0x0001_0108,
        0x0001_0308,
        0x0001_0508,
        0x0001_0708,
        0x8000_7e04,
    ];
    let wildcard_oxms = [
        0x8000_0004,
        0x8000_0a02,
        0x8000_1604,
        0x8000_1804,
        0x0001_0004,
        0x0001_0204,
    ];
    let set_fields = [
        0x8000_1604,
        0x8000_1804,
        0x8000_0606,
        0x8000_0806,
        0x0001_0004,
        0x0001_0204,
        0x0001_0404,
    ];
    let caps = TableCapabilities {
        instructions: &[1, 2, 3, 4, 5, 6],
        actions: &[0, 17, 18, 22, 23, 24, 25, 11],
        match_oxms: &match_oxms,
        wildcard_oxms: &wildcard_oxms,
        set_field_oxms: &set_fields,
    };
    let named: Vec<TableFeatures> = (0..3)
        .map(|t| TableFeatures::with_capabilities(t, &format!("table{t}"), 1_000_000, 3, &caps))
        .collect();
    let mut unnamed: Vec<TableFeatures> = (0..6)
        .map(|t| TableFeatures::with_capabilities(t, "", 1_000_000, 6, &caps))
        .collect();
    // Table 3 differs: a table-miss instruction set and a smaller table.
    unnamed[3].max_entries = 10;
    unnamed[3]
        .properties
        .push(TableFeatureProp::type_ids(T::INSTRUCTIONS_MISS, &[1]));
    unnamed[3]
        .properties
        .push(TableFeatureProp::type_ids(T::APPLY_ACTIONS_MISS, &[0]));
    // Table 5: write and apply actions differ, no metadata.
    unnamed[5].properties[2] = TableFeatureProp::type_ids(T::WRITE_ACTIONS, &[0]);
    unnamed[5].metadata_match = 0;
    let mut no_props = TableFeatures {
        table_id: 9,
        name: "x".into(),
        ..Default::default()
    };
    no_props.properties =
        TableFeatures::with_capabilities(9, "x", 0, 0, &TableCapabilities::default()).properties;
    let mut failures = Vec::new();
    for (i, tables) in [named, unnamed, vec![no_props]].into_iter().enumerate() {
        let msg = Message::MultipartReply(MultipartReply {
            flags: 0,
            body: MultipartReplyBody::TableFeatures(tables),
        });
        let bytes = msg.encode(9);
        assert_eq!(Message::decode(&bytes).unwrap().1, msg);
        let theirs = ovs_print(&bytes);
        assert!(!theirs.contains("decode error"), "{theirs}");
        let ours = ofp_to_string(&bytes, 2);
        if ours != theirs {
            failures.push(format!("case {i}\n--- ovs\n{theirs}--- rvs\n{ours}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn frame(l2: &str, ethertype: u16, l3: &[u8]) -> Vec<u8> {
    let mut f = msg_support::hex(l2);
    f.extend(ethertype.to_be_bytes());
    f.extend(l3);
    f
}

fn ipv4(proto: u8, l4: &[u8], tos: u8) -> Vec<u8> {
    let mut p = msg_support::hex("45 00 00 00 12 34 40 00 40 00 00 00 0a 00 00 01 0a 00 00 02");
    p[1] = tos;
    p[9] = proto;
    let tot = (20 + l4.len()) as u16;
    p[2..4].copy_from_slice(&tot.to_be_bytes());
    p.extend(l4);
    p
}

fn ipv6(next: u8, l4: &[u8]) -> Vec<u8> {
    let mut p = msg_support::hex(
        "60 a1 23 45 00 00 00 40 fe 80 00 00 00 00 00 00 00 00 00 00 00 00 00 01 ff 02 00 00 00 00 00 00 00 00 00 00 00 00 00 02",
    );
    p[6] = next;
    p[4..6].copy_from_slice(&(l4.len() as u16).to_be_bytes());
    p.extend(l4);
    p
}

fn frag(mut ip: Vec<u8>, flags_offset: u16) -> Vec<u8> {
    ip[6..8].copy_from_slice(&flags_offset.to_be_bytes());
    ip
}

/// Frames whose summary rvs prints like OVS (see `print/packet.rs`).
fn frames() -> Vec<Vec<u8>> {
    let macs = "00 00 00 00 00 01 00 00 00 00 00 02";
    let tcp = msg_support::hex("04 d2 00 50 00 00 00 01 00 00 00 00 50 12 20 00 ab cd 00 00");
    let udp = msg_support::hex("02 22 02 23 00 0c 12 34 de ad be ef");
    let icmp = msg_support::hex("08 00 f7 ff 00 01 00 01 61 62");
    let sctp = msg_support::hex("00 07 00 09 00 00 00 01 11 22 33 44");
    let arp = msg_support::hex(
        "00 01 08 00 06 04 00 01 00 00 00 00 00 02 0a 00 00 01 00 00 00 00 00 00 0a 00 00 02",
    );
    let icmp6 = msg_support::hex("80 00 12 34 00 01 00 02");
    let mut vlan = msg_support::hex("ff ff ff ff ff ff 00 11 22 33 44 55 81 00 a0 64");
    vlan.extend(0x0800u16.to_be_bytes());
    vlan.extend(ipv4(6, &tcp, 0));
    vec![
        vec![],
        msg_support::hex("01 02 03 04 05"),
        frame("ff ff ff ff ff ff 00 11 22 33 44 55", 0x0806, &arp),
        frame(macs, 0x0800, &ipv4(6, &tcp, 0xb9)),
        frame(macs, 0x0800, &ipv4(17, &udp, 0)),
        frame(macs, 0x0800, &ipv4(1, &icmp, 0)),
        frame(macs, 0x0800, &ipv4(132, &sctp, 0)),
        frame(macs, 0x0800, &ipv4(47, &[0; 8], 0)),
        frame(macs, 0x0800, &ipv4(6, &tcp[..10], 0)),
        frame(macs, 0x0800, &frag(ipv4(17, &udp, 0), 0x2000)),
        frame(macs, 0x0800, &frag(ipv4(17, &udp, 0), 0x0010)),
        frame(macs, 0x0800, &frag(ipv4(6, &tcp, 0), 0x2010)),
        frame(macs, 0x0800, &frag(ipv4(1, &icmp, 0), 0x0001)),
        frame(macs, 0x86dd, &ipv6(17, &udp)),
        frame(macs, 0x86dd, &ipv6(58, &icmp6)),
        frame(macs, 0x86dd, &ipv6(6, &tcp)),
        frame(macs, 0x88cc, &[1, 2, 3, 4]),
        vlan,
    ]
}

/// Packet-in and packet-out with frames print exactly as OVS prints them,
/// frame summary included.
#[test]
fn packet_in_and_out_with_frames_print_as_ovs() {
    if !have_ovs_ofctl() {
        return;
    }
    let mut meta = Match::new();
    meta.set_exact(Field::InPort, 7).unwrap();
    let mut failures = Vec::new();
    let frames = frames();
    for data in &frames {
        let pin = PacketIn {
            buffer_id: u32::MAX,
            total_len: data.len() as u16,
            reason: PacketInReason::ACTION,
            table_id: 3,
            cookie: 5,
            match_: meta.clone(),
            data: data.clone(),
        };
        let pout = PacketOut {
            buffer_id: u32::MAX,
            in_port: 0xffff_fffd,
            actions: vec![Action::Output {
                port: 2,
                max_len: 0,
            }],
            data: data.clone(),
        };
        for m in [Message::PacketIn(pin), Message::PacketOut(pout)] {
            let bytes = m.encode(1);
            let ours = ofp_to_string(&bytes, 2);
            let theirs = ovs_print(&bytes);
            if ours != theirs {
                failures.push(format!(
                    "{}\n--- ovs\n{theirs}--- rvs\n{ours}",
                    to_hex(&bytes)
                ));
            }
        }
    }
    eprintln!(
        "packet in/out parity: {}/{}",
        2 * frames.len() - failures.len(),
        2 * frames.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
