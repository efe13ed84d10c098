//! Round trips and robustness for messages: decode → encode gives the same
//! bytes for every valid corpus message; truncated input never panics and is
//! refused; proptest round trips for several message types; random bytes
//! never panic the decoder or the printer.

mod msg_support;

use msg_support::{corpus, hex, to_hex};
use ofp_codec::OfpError;
use ofp_codec::msg::multipart::{GroupStats, MeterStats, PortStats, QueueStats, TableStats};
use ofp_codec::msg::print::ofp_to_string;
use ofp_codec::msg::*;
use proptest::prelude::*;

fn valid_corpus() -> Vec<Vec<u8>> {
    corpus(include_str!("data/msg_print_corpus.txt"))
        .into_iter()
        .map(|(b, _)| b)
        .collect()
}

#[test]
fn every_valid_corpus_message_reencodes_to_the_same_bytes() {
    let mut n = 0;
    for bytes in valid_corpus() {
        let (h, m) = Message::decode(&bytes).unwrap_or_else(|e| panic!("{}: {e}", to_hex(&bytes)));
        assert_eq!(m.encoded_len(), bytes.len(), "{}", to_hex(&bytes));
        if h.version != OFP13_VERSION {
            continue; // rvs always sends 1.3 headers
        }
        assert_eq!(m.encode(h.xid).to_vec(), bytes, "{}", to_hex(&bytes));
        n += 1;
    }
    assert!(n > 80, "{n}");
}

#[test]
fn truncated_messages_are_refused_without_panicking() {
    for bytes in valid_corpus() {
        for cut in 0..bytes.len() {
            let short = &bytes[..cut];
            // With the original length field: a framing error.
            assert!(
                Message::decode(short).is_err(),
                "{} cut at {cut}",
                to_hex(&bytes)
            );
            // With the length field fixed up: an error or (for messages with
            // optional tails such as echo payloads) a valid shorter message.
            if cut >= 8 {
                let mut fixed = short.to_vec();
                fixed[2..4].copy_from_slice(&(cut as u16).to_be_bytes());
                if let Ok((_, m)) = Message::decode(&fixed) {
                    assert_eq!(m.encoded_len(), cut);
                }
                let _ = ofp_to_string(&fixed, 2);
            }
            let _ = ofp_to_string(short, 2);
        }
    }
}

#[test]
fn framing_splits_a_stream_of_messages() {
    let stream: Vec<u8> = valid_corpus().concat();
    let mut rest = &stream[..];
    let mut count = 0;
    while !rest.is_empty() {
        match frame_len(rest).unwrap() {
            Frame::Complete(n) => {
                Message::decode(&rest[..n]).unwrap();
                rest = &rest[n..];
                count += 1;
            }
            Frame::Incomplete(_) => panic!("stream ends mid-message"),
        }
    }
    assert_eq!(count, valid_corpus().len());
    assert_eq!(frame_len(&stream[..5]), Ok(Frame::Incomplete(8)));
}

#[test]
fn non_13_versions_are_refused_except_hello_error_echo() {
    assert_eq!(
        Message::decode(&hex("01 14 00 08 00 00 00 01")).unwrap_err(),
        OfpError::OFPBRC_BAD_VERSION
    );
    assert_eq!(
        Message::decode(&hex("05 05 00 08 00 00 00 01")).unwrap_err(),
        OfpError::OFPBRC_BAD_VERSION
    );
    assert!(Message::decode(&hex("01 02 00 08 00 00 00 01")).is_ok());
    let (h, m) = Message::decode(&hex("06 00 00 10 00 00 00 01 00 01 00 08 00 00 00 60")).unwrap();
    let Message::Hello(hello) = m else { panic!() };
    assert_eq!(
        negotiate(1 << OFP13_VERSION, h.version, &hello),
        Err(OfpError::OFPHFC_INCOMPATIBLE)
    );
}

#[test]
fn oversized_messages_are_refused_by_try_encode_and_split_replies_fit() {
    let big = Message::EchoRequest(Echo {
        data: vec![0; 70_000],
    });
    assert_eq!(big.try_encode(1).unwrap_err(), OfpError::OFPBRC_BAD_LEN);
    let ok = Message::EchoRequest(Echo { data: vec![0; 100] });
    let mut buf = bytes::BytesMut::new();
    ok.encode_into(3, &mut buf);
    ok.encode_into(4, &mut buf);
    assert_eq!(buf.len(), 216);
    assert_eq!(&buf[..108], &ok.try_encode(3).unwrap()[..]);
    // 3000 port stats entries (336 kB) split into messages under 64 KiB.
    let ports: Vec<PortStats> = (0..3000)
        .map(|p| PortStats {
            port_no: p,
            ..Default::default()
        })
        .collect();
    let parts = MultipartReply::split(
        MultipartReplyBody::PortStats(ports),
        ofp_codec::msg::multipart::split::MAX_REPLY_BODY,
    );
    assert_eq!(parts.len(), 6);
    for (i, p) in parts.into_iter().enumerate() {
        let bytes = Message::MultipartReply(p).try_encode(i as u32).unwrap();
        assert!(Message::decode(&bytes).is_ok());
    }
}

fn roundtrip(m: &Message) {
    let bytes = m.encode(7);
    assert_eq!(bytes.len(), m.encoded_len());
    let (h, back) = Message::decode(&bytes).unwrap_or_else(|e| panic!("{m:?}: {e}"));
    assert_eq!(h.xid, 7);
    assert_eq!(&back, m);
}

prop_compose! {
    fn arb_port_stats()(p in 0u32..0xff00, c in prop::array::uniform12(any::<u64>()), d in any::<u32>(), n in any::<u32>()) -> PortStats {
        PortStats {
            port_no: p, rx_packets: c[0], tx_packets: c[1], rx_bytes: c[2], tx_bytes: c[3], rx_dropped: c[4],
            tx_dropped: c[5], rx_errors: c[6], tx_errors: c[7], rx_frame_err: c[8], rx_over_err: c[9],
            rx_crc_err: c[10], collisions: c[11], duration_sec: d, duration_nsec: n,
        }
    }
}

proptest! {
    #[test]
    fn features_config_role_async_round_trip(
        dpid in any::<u64>(), nb in any::<u32>(), nt in any::<u8>(), aux in any::<u8>(), caps in any::<u32>(),
        frag in 0u16..4, msl in any::<u16>(), role in 0u32..4, gen_id in any::<u64>(), masks in prop::array::uniform6(any::<u32>()),
    ) {
        roundtrip(&Message::FeaturesReply(SwitchFeatures { datapath_id: dpid, n_buffers: nb, n_tables: nt, auxiliary_id: aux, capabilities: caps, reserved: 0 }));
        roundtrip(&Message::SetConfig(SwitchConfig { flags: frag, miss_send_len: msl }));
        roundtrip(&Message::RoleRequest(RoleMsg { role: ControllerRole(role), generation_id: gen_id }));
        roundtrip(&Message::SetAsync(AsyncConfig {
            packet_in_mask: [masks[0], masks[1]], port_status_mask: [masks[2], masks[3]], flow_removed_mask: [masks[4], masks[5]],
        }));
    }

    #[test]
    fn stats_replies_round_trip(
        ports in prop::collection::vec(arb_port_stats(), 0..5),
        tables in prop::collection::vec((any::<u8>(), any::<u32>(), any::<u64>(), any::<u64>()), 0..5),
        queues in prop::collection::vec((0u32..0xff00, any::<u32>(), any::<u64>()), 0..5),
        groups in prop::collection::vec((any::<u32>(), any::<u64>(), 0usize..4), 0..4),
        meters in prop::collection::vec((any::<u32>(), any::<u64>(), 0usize..4), 0..4),
        more in any::<bool>(),
    ) {
        let flags = u16::from(more);
        roundtrip(&Message::MultipartReply(MultipartReply { flags, body: MultipartReplyBody::PortStats(ports) }));
        let t = tables.into_iter().map(|(id, a, l, m)| TableStats { table_id: id, active_count: a, lookup_count: l, matched_count: m }).collect();
        roundtrip(&Message::MultipartReply(MultipartReply { flags, body: MultipartReplyBody::Table(t) }));
        let q = queues.into_iter().map(|(p, q, b)| QueueStats { port_no: p, queue_id: q, tx_bytes: b, ..Default::default() }).collect();
        roundtrip(&Message::MultipartReply(MultipartReply { flags, body: MultipartReplyBody::Queue(q) }));
        let g = groups.into_iter().map(|(id, c, nb)| GroupStats {
            group_id: id, packet_count: c, bucket_stats: vec![Default::default(); nb], ..Default::default()
        }).collect();
        roundtrip(&Message::MultipartReply(MultipartReply { flags, body: MultipartReplyBody::Group(g) }));
        let m = meters.into_iter().map(|(id, c, nb)| MeterStats {
            meter_id: id, byte_in_count: c, band_stats: vec![Default::default(); nb], ..Default::default()
        }).collect();
        roundtrip(&Message::MultipartReply(MultipartReply { flags, body: MultipartReplyBody::Meter(m) }));
    }

    #[test]
    fn echo_bundle_and_meter_mod_round_trip(
        data in prop::collection::vec(any::<u8>(), 0..64), id in any::<u32>(), t in 0u16..8, f in 0u16..4,
        rates in prop::collection::vec((any::<u32>(), any::<u32>(), any::<bool>(), any::<u8>()), 0..4),
    ) {
        roundtrip(&Message::EchoRequest(Echo { data: data.clone() }));
        roundtrip(&Message::BundleControl(BundleControl { bundle_id: id, ctrl_type: BundleCtrlType(t), flags: f, properties: vec![] }));
        let bands = rates.into_iter().map(|(rate, burst, dscp, prec)| MeterBand {
            band_type: if dscp { MeterBandType::DSCP_REMARK } else { MeterBandType::DROP },
            rate, burst_size: burst, prec_level: if dscp { prec } else { 0 },
        }).collect();
        roundtrip(&Message::MeterMod(MeterMod { command: MeterCommand::ADD, flags: OFP_KBPS, meter_id: id, bands }));
    }

    #[test]
    fn random_bytes_never_panic(mut bytes in prop::collection::vec(any::<u8>(), 8..200), t in 0u8..32) {
        bytes[0] = 4;
        bytes[1] = t;
        let len = bytes.len() as u16;
        bytes[2..4].copy_from_slice(&len.to_be_bytes());
        if let Ok((h, m)) = Message::decode(&bytes) {
            // Whatever decodes re-encodes to a message that decodes again.
            let again = m.encode(h.xid);
            prop_assert!(Message::decode(&again).is_ok());
        }
        let _ = ofp_to_string(&bytes, 2);
    }
}

const OFP_KBPS: u16 = ofp_codec::msg::meter_mod::OFPMF_KBPS;
