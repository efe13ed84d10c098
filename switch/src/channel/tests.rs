//! Channel tests against a small in-memory bridge: the connection state
//! machine with a virtual clock, then the tokio hub over an in-memory
//! duplex stream.

use bytes::BytesMut;
use ofp_codec::OfpError;
use ofp_codec::msg::bundle::{BundleCtrlType, OFPBF_ATOMIC};
use ofp_codec::msg::multipart::{Desc, MultipartRequest, OFPMPF_MORE};
use ofp_codec::msg::{
    AsyncConfig, BundleAdd, BundleControl, ControllerRole, Echo, FlowMod, FlowModCommand,
    FlowStats, GroupMod, Hello, Message, MeterMod, MultipartReplyBody, MultipartRequestBody,
    PacketInReason, PacketOut, PortMod, RoleMsg, SwitchConfig, SwitchFeatures, TableMod,
};

use super::bridge::{Bridge, BridgeEvent, BundleItem, PacketInEvent};
use super::conn::{Conn, ConnConfig, ConnKind, Shared};

/// A bridge that keeps flow-mods in a list. A flow-mod with priority 666
/// fails with `OFPBAC_MATCH_INCONSISTENT` (at validation and when applied).
#[derive(Default)]
struct ListBridge {
    flows: Vec<FlowMod>,
    n_flow_stats: usize,
    events: Vec<BridgeEvent>,
}

const BAD_PRIORITY: u16 = 666;

impl ListBridge {
    fn apply(&mut self, fm: &FlowMod) -> Result<(), OfpError> {
        if fm.priority == BAD_PRIORITY {
            return Err(OfpError::OFPBAC_MATCH_INCONSISTENT);
        }
        match fm.command {
            FlowModCommand::ADD => self.flows.push(fm.clone()),
            FlowModCommand::DELETE => self.flows.clear(),
            _ => return Err(OfpError::OFPFMFC_BAD_COMMAND),
        }
        Ok(())
    }
}

impl Bridge for ListBridge {
    fn features(&self) -> SwitchFeatures {
        SwitchFeatures {
            datapath_id: 0xabc,
            n_buffers: 0,
            n_tables: 254,
            auxiliary_id: 7,
            capabilities: 0x4f,
            reserved: 0,
        }
    }
    fn flow_mod(&mut self, fm: &FlowMod, _now_ms: u64) -> Result<(), OfpError> {
        self.apply(fm)
    }
    fn group_mod(&mut self, _gm: &GroupMod, _now_ms: u64) -> Result<(), OfpError> {
        Err(OfpError::OFPGMFC_UNKNOWN_GROUP)
    }
    fn meter_mod(&mut self, _mm: &MeterMod, _now_ms: u64) -> Result<(), OfpError> {
        Err(OfpError::OFPMMFC_UNKNOWN_METER)
    }
    fn port_mod(&mut self, _pm: &PortMod, _now_ms: u64) -> Result<(), OfpError> {
        Err(OfpError::OFPPMFC_BAD_PORT)
    }
    fn table_mod(&mut self, _tm: &TableMod) -> Result<(), OfpError> {
        Ok(())
    }
    fn packet_out(&mut self, _po: &PacketOut, _now_ms: u64) -> Result<(), OfpError> {
        Ok(())
    }
    fn multipart(
        &mut self,
        req: &MultipartRequestBody,
        _now_ms: u64,
    ) -> Result<MultipartReplyBody, OfpError> {
        match req {
            MultipartRequestBody::Desc => Ok(MultipartReplyBody::Desc(Desc::default())),
            MultipartRequestBody::Flow(_) => {
                let fs = FlowStats {
                    priority: 1,
                    ..FlowStats::default()
                };
                Ok(MultipartReplyBody::Flow(vec![fs; self.n_flow_stats]))
            }
            _ => Err(OfpError::OFPBRC_BAD_STAT),
        }
    }
    fn validate_bundle_item(&self, item: &BundleItem) -> Result<(), OfpError> {
        match item {
            BundleItem::FlowMod(fm) if fm.priority == BAD_PRIORITY => {
                Err(OfpError::OFPBAC_MATCH_INCONSISTENT)
            }
            _ => Ok(()),
        }
    }
    fn bundle_commit(
        &mut self,
        items: Vec<BundleItem>,
        _atomic: bool,
        _now_ms: u64,
    ) -> Result<(), (usize, OfpError)> {
        let saved = self.flows.clone();
        for (i, it) in items.iter().enumerate() {
            let r = match it {
                BundleItem::FlowMod(fm) => self.apply(fm),
                _ => Err(OfpError::OFPBFC_MSG_UNSUP),
            };
            if let Err(e) = r {
                self.flows = saved;
                return Err((i, e));
            }
        }
        Ok(())
    }
    fn take_events(&mut self) -> Vec<BridgeEvent> {
        std::mem::take(&mut self.events)
    }
    fn run(&mut self, _now_ms: u64) -> Vec<BridgeEvent> {
        Vec::new()
    }
}

struct Harness {
    shared: Shared<ListBridge>,
    conn: Conn,
    now_ms: u64,
}

fn decode(b: &BytesMut) -> (u32, Message) {
    let (h, m) = Message::decode(b)
        .unwrap_or_else(|e| panic!("switch sent undecodable bytes {b:02x?}: {e:?}"));
    (h.xid, m)
}

impl Harness {
    fn new(kind: ConnKind) -> Self {
        let mut shared = Shared::new(ListBridge::default());
        let conn = Conn::new(ConnConfig::new(kind), &mut shared, 0);
        Harness {
            shared,
            conn,
            now_ms: 0,
        }
    }

    /// A connection past HELLO, with the switch's HELLO consumed.
    fn open(kind: ConnKind) -> Self {
        let mut h = Harness::new(kind);
        let out = h.feed(&Message::Hello(Hello::with_versions(1 << 4)).encode(1));
        assert!(matches!(out[0].1, Message::Hello(_)));
        assert!(h.conn.is_open());
        h
    }

    fn feed_raw(&mut self, bytes: &[u8]) -> Vec<BytesMut> {
        self.conn.handle_frame(bytes, &mut self.shared, self.now_ms);
        std::iter::from_fn(|| self.conn.poll_transmit()).collect()
    }

    fn feed(&mut self, bytes: &[u8]) -> Vec<(u32, Message)> {
        self.feed_raw(bytes).iter().map(decode).collect()
    }

    fn send(&mut self, m: Message, xid: u32) -> Vec<(u32, Message)> {
        self.feed(&m.encode(xid))
    }

    fn second(&mut self, kind: ConnKind) -> Conn {
        let mut c = Conn::new(ConnConfig::new(kind), &mut self.shared, self.now_ms);
        c.handle_frame(
            &Message::Hello(Hello::with_versions(1 << 4)).encode(1),
            &mut self.shared,
            self.now_ms,
        );
        while c.poll_transmit().is_some() {}
        c
    }
}

fn error_of(m: &Message) -> OfpError {
    match m {
        Message::Error(e) => e.error,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn add_flow(priority: u16) -> Message {
    Message::FlowMod(FlowMod {
        priority,
        ..FlowMod::default()
    })
}

#[test]
fn hello_allowing_1_3_to_1_5_negotiates_1_3() {
    let mut h = Harness::new(ConnKind::Service);
    let out =
        h.feed(&Message::Hello(Hello::with_versions((1 << 4) | (1 << 5) | (1 << 6))).encode(9));
    assert!(matches!(out[0].1, Message::Hello(_)));
    assert!(h.conn.is_open());
    assert!(!h.conn.is_closed());
}

#[test]
fn hello_with_only_1_0_is_refused_with_hello_failed_and_closed() {
    let mut h = Harness::new(ConnKind::Service);
    let mut hello = Message::Hello(Hello::default()).encode(3);
    hello[0] = 1;
    let out = h.feed_raw(&hello);
    // Our HELLO, then the error.
    assert_eq!(out.len(), 2);
    let (xid, m) = decode(&out[1]);
    assert_eq!(xid, 3);
    let Message::Error(e) = m else {
        panic!("not an error")
    };
    assert_eq!(e.error, OfpError::OFPHFC_INCOMPATIBLE);
    assert_eq!(
        String::from_utf8(e.data).unwrap(),
        "We support version 0x04, you support version 0x01, no common versions."
    );
    assert!(h.conn.is_closed());
}

#[test]
fn message_before_hello_closes_the_connection() {
    let mut h = Harness::new(ConnKind::Service);
    h.feed(&Message::FeaturesRequest.encode(1));
    assert!(h.conn.is_closed());
}

#[test]
fn echo_features_and_config_are_answered_with_the_request_xid() {
    let mut h = Harness::open(ConnKind::Service);
    let out = h.send(
        Message::EchoRequest(Echo {
            data: vec![1, 2, 3],
        }),
        77,
    );
    assert_eq!(
        out,
        vec![(
            77,
            Message::EchoReply(Echo {
                data: vec![1, 2, 3]
            })
        )]
    );
    let out = h.send(Message::FeaturesRequest, 78);
    let Message::FeaturesReply(f) = &out[0].1 else {
        panic!()
    };
    assert_eq!((out[0].0, f.datapath_id, f.auxiliary_id), (78, 0xabc, 0));
    let out = h.send(Message::GetConfigRequest, 79);
    assert_eq!(
        out,
        vec![(
            79,
            Message::GetConfigReply(SwitchConfig {
                flags: 0,
                miss_send_len: 0
            })
        )]
    );
    h.send(
        Message::SetConfig(SwitchConfig {
            flags: 1,
            miss_send_len: 200,
        }),
        80,
    );
    let out = h.send(Message::GetConfigRequest, 81);
    // miss_send_len is the connection's; the fragment mode stays "normal",
    // the only one rvs has (as OVS keeps its mode when refused one).
    assert_eq!(
        out[0].1,
        Message::GetConfigReply(SwitchConfig {
            flags: 0,
            miss_send_len: 200
        })
    );
}

#[test]
fn primary_connections_start_with_miss_send_len_128() {
    let mut h = Harness::open(ConnKind::Primary);
    let out = h.send(Message::GetConfigRequest, 1);
    assert_eq!(
        out[0].1,
        Message::GetConfigReply(SwitchConfig {
            flags: 0,
            miss_send_len: 128
        })
    );
}

#[test]
fn malformed_messages_get_their_error_and_the_connection_stays_up() {
    let mut h = Harness::open(ConnKind::Service);
    // Unknown message type 99.
    let out = h.feed(&[4, 99, 0, 8, 0, 0, 0, 5]);
    assert_eq!(out[0].0, 5);
    assert_eq!(error_of(&out[0].1), OfpError::OFPBRC_BAD_TYPE);
    // A flow-mod cut short.
    let mut fm = add_flow(1).encode(6);
    fm.truncate(40);
    fm[2..4].copy_from_slice(&40u16.to_be_bytes());
    let out = h.feed(&fm);
    assert_eq!(error_of(&out[0].1), OfpError::OFPBRC_BAD_LEN);
    // Wrong version after negotiation.
    let mut f = Message::FeaturesRequest.encode(7);
    f[0] = 5;
    let out = h.feed(&f);
    assert_eq!(error_of(&out[0].1), OfpError::OFPBRC_BAD_VERSION);
    // A reply type the switch never accepts.
    let out = h.send(Message::BarrierReply, 8);
    assert_eq!(error_of(&out[0].1), OfpError::OFPBRC_BAD_TYPE);
    assert!(!h.conn.is_closed());
    let out = h.send(Message::BarrierRequest, 9);
    assert_eq!(out, vec![(9, Message::BarrierReply)]);
}

#[test]
fn flow_mod_refused_by_the_bridge_returns_its_error_with_the_request_as_data() {
    let mut h = Harness::open(ConnKind::Service);
    let req = add_flow(BAD_PRIORITY).encode(42);
    let out = h.feed(&req);
    let Message::Error(e) = &out[0].1 else {
        panic!()
    };
    assert_eq!(
        (out[0].0, e.error),
        (42, OfpError::OFPBAC_MATCH_INCONSISTENT)
    );
    assert_eq!(&e.data[..], &req[..e.data.len()]);
    assert!(h.shared.bridge.flows.is_empty());
}

#[test]
fn barrier_reply_follows_the_replies_of_earlier_requests() {
    let mut h = Harness::open(ConnKind::Service);
    let mut bytes = add_flow(BAD_PRIORITY).encode(1).to_vec();
    bytes.extend_from_slice(&Message::BarrierRequest.encode(2));
    let mut out = h.feed(&bytes[..bytes.len() - 8]);
    out.extend(h.feed(&bytes[bytes.len() - 8..]));
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].0, 1);
    assert_eq!(out[1], (2, Message::BarrierReply));
}

#[test]
fn long_flow_dumps_are_split_with_the_more_flag() {
    let mut h = Harness::open(ConnKind::Service);
    h.shared.bridge.n_flow_stats = 2000;
    let req = Message::MultipartRequest(MultipartRequest {
        flags: 0,
        body: MultipartRequestBody::Flow(Default::default()),
    });
    let out = h.send(req, 5);
    assert!(out.len() > 1);
    let mut total = 0;
    for (i, (xid, m)) in out.iter().enumerate() {
        assert_eq!(*xid, 5);
        let Message::MultipartReply(r) = m else {
            panic!()
        };
        assert_eq!(r.flags & OFPMPF_MORE != 0, i + 1 < out.len());
        let MultipartReplyBody::Flow(v) = &r.body else {
            panic!()
        };
        total += v.len();
    }
    assert_eq!(total, 2000);
}

#[test]
fn inactivity_probe_sends_echo_then_disconnects() {
    let mut h = Harness::open(ConnKind::Primary);
    assert_eq!(h.conn.poll_timeout(), Some(5_000));
    h.conn.handle_timeout(4_999);
    assert!(h.conn.poll_transmit().is_none());
    h.conn.handle_timeout(5_000);
    let echo = h.conn.poll_transmit().unwrap();
    assert!(matches!(decode(&echo).1, Message::EchoRequest(_)));
    // An answer resets the probe.
    h.now_ms = 6_000;
    h.send(Message::EchoReply(Echo::default()), 0);
    assert_eq!(h.conn.poll_timeout(), Some(11_000));
    h.conn.handle_timeout(11_000);
    assert!(h.conn.poll_transmit().is_some());
    h.conn.handle_timeout(16_000);
    assert!(h.conn.is_closed());
}

#[test]
fn role_election_demotes_the_old_primary_and_refuses_stale_generations() {
    let mut h = Harness::open(ConnKind::Primary);
    let mut other = h.second(ConnKind::Primary);
    let role = |r, g| {
        Message::RoleRequest(RoleMsg {
            role: r,
            generation_id: g,
        })
    };
    let out = h.send(role(ControllerRole::PRIMARY, 10), 1);
    assert_eq!(
        out[0].1,
        Message::RoleReply(RoleMsg {
            role: ControllerRole::PRIMARY,
            generation_id: 10
        })
    );
    // The other connection takes over with a newer generation id.
    other.handle_frame(
        &role(ControllerRole::PRIMARY, 11).encode(2),
        &mut h.shared,
        0,
    );
    assert_eq!(other.role(&h.shared), ControllerRole::PRIMARY);
    assert_eq!(h.conn.role(&h.shared), ControllerRole::SECONDARY);
    // The demoted one may not modify the tables.
    let out = h.send(add_flow(1), 3);
    assert_eq!(error_of(&out[0].1), OfpError::OFPBRC_IS_SLAVE);
    assert!(h.shared.bridge.flows.is_empty());
    // ...and a stale generation id is refused.
    let out = h.send(role(ControllerRole::PRIMARY, 9), 4);
    assert_eq!(error_of(&out[0].1), OfpError::OFPRRFC_STALE);
    // Reads still work, and NOCHANGE reports the role.
    let out = h.send(role(ControllerRole::NOCHANGE, 0), 5);
    assert_eq!(
        out[0].1,
        Message::RoleReply(RoleMsg {
            role: ControllerRole::SECONDARY,
            generation_id: 11
        })
    );
    // When the primary goes away, nobody is primary.
    other.detach(&mut h.shared);
    assert_eq!(h.conn.role(&h.shared), ControllerRole::SECONDARY);
}

#[test]
fn role_reply_without_election_reports_max_generation() {
    let mut h = Harness::open(ConnKind::Primary);
    let out = h.send(
        Message::RoleRequest(RoleMsg {
            role: ControllerRole::EQUAL,
            generation_id: 0,
        }),
        1,
    );
    assert_eq!(
        out[0].1,
        Message::RoleReply(RoleMsg {
            role: ControllerRole::EQUAL,
            generation_id: u64::MAX
        })
    );
}

fn packet_in(reason: PacketInReason, len: usize, max_len: Option<u16>) -> BridgeEvent {
    BridgeEvent::PacketIn(PacketInEvent {
        reason,
        table_id: 0,
        cookie: 0,
        match_: Default::default(),
        packet: vec![0xaa; len],
        total_len: len,
        max_len,
        userdata: Vec::new(),
        controller_id: 0,
        continuation: Vec::new(),
    })
}

#[test]
fn packet_ins_follow_the_connections_packet_in_format() {
    use ofp_codec::msg::PacketInFormat;
    let mut h = Harness::open(ConnKind::Primary);
    let mut ev = packet_in(PacketInReason::ACTION, 20, Some(0xffff));
    if let BridgeEvent::PacketIn(p) = &mut ev {
        p.userdata = vec![1, 2, 3];
    }
    let sent = |h: &mut Harness| {
        assert!(h.conn.deliver_event(&ev, &h.shared, 0));
        decode(&h.conn.poll_transmit().unwrap()).1
    };
    assert!(matches!(sent(&mut h), Message::PacketIn(_)));
    assert!(
        h.send(
            Message::SetPacketInFormat(PacketInFormat::NXT_PACKET_IN2),
            2
        )
        .is_empty()
    );
    let Message::PacketIn2(p2) = sent(&mut h) else {
        panic!()
    };
    assert_eq!((p2.packet.len(), p2.total_len), (20, 20));
    assert_eq!(p2.userdata, vec![1, 2, 3]);
    h.send(Message::SetPacketInFormat(PacketInFormat::NXT_PACKET_IN), 3);
    let Message::NxPacketIn(p1) = sent(&mut h) else {
        panic!()
    };
    assert_eq!(p1.data.len(), 20);
    // An unknown format is refused with OVS's error; the format stays.
    let mut bad = Message::SetPacketInFormat(PacketInFormat::STANDARD).encode(4);
    bad[19] = 3;
    let out = h.feed(&bad);
    let Message::Error(e) = &out[0].1 else {
        panic!("{out:?}")
    };
    assert_eq!(e.error, OfpError::OFPBRC_EPERM);
    assert!(matches!(sent(&mut h), Message::NxPacketIn(_)));
    // `controller(id=5)`: no connection has controller id 5 (OVS drops it).
    if let BridgeEvent::PacketIn(p) = &mut ev {
        p.controller_id = 5;
    }
    assert!(!h.conn.deliver_event(&ev, &h.shared, 0));
    assert!(h.conn.poll_transmit().is_none());
}

#[test]
fn service_connections_get_async_messages_only_after_setting_miss_send_len() {
    let mut h = Harness::open(ConnKind::Service);
    let ev = packet_in(PacketInReason::ACTION, 60, Some(0xffff));
    assert!(!h.conn.deliver_event(&ev, &h.shared, 0));
    h.send(
        Message::SetConfig(SwitchConfig {
            flags: 0,
            miss_send_len: 0xffff,
        }),
        1,
    );
    assert!(h.conn.deliver_event(&ev, &h.shared, 0));
    let (_, m) = decode(&h.conn.poll_transmit().unwrap());
    let Message::PacketIn(p) = m else { panic!() };
    assert_eq!((p.data.len(), p.total_len, p.buffer_id), (60, 60, u32::MAX));
}

#[test]
fn table_miss_packet_in_is_truncated_to_miss_send_len() {
    let mut h = Harness::open(ConnKind::Primary);
    assert!(h.conn.deliver_event(
        &packet_in(PacketInReason::NO_MATCH, 300, None),
        &h.shared,
        0
    ));
    let (_, m) = decode(&h.conn.poll_transmit().unwrap());
    let Message::PacketIn(p) = m else { panic!() };
    assert_eq!((p.data.len(), p.total_len), (128, 300));
}

#[test]
fn set_async_filters_packet_in_reasons_and_secondaries_use_their_mask() {
    let mut h = Harness::open(ConnKind::Primary);
    let cfg = AsyncConfig {
        packet_in_mask: [
            1 << PacketInReason::ACTION.0,
            1 << PacketInReason::NO_MATCH.0,
        ],
        port_status_mask: [0, 0],
        flow_removed_mask: [0, 0],
    };
    h.send(Message::SetAsync(cfg), 1);
    let out = h.send(Message::GetAsyncRequest, 2);
    assert_eq!(out[0].1, Message::GetAsyncReply(cfg));
    assert!(
        !h.conn
            .deliver_event(&packet_in(PacketInReason::NO_MATCH, 10, None), &h.shared, 0)
    );
    assert!(
        h.conn
            .deliver_event(&packet_in(PacketInReason::ACTION, 10, None), &h.shared, 0)
    );
    h.send(
        Message::RoleRequest(RoleMsg {
            role: ControllerRole::SECONDARY,
            generation_id: 1,
        }),
        3,
    );
    while h.conn.poll_transmit().is_some() {}
    assert!(
        h.conn
            .deliver_event(&packet_in(PacketInReason::NO_MATCH, 10, None), &h.shared, 0)
    );
    assert!(
        !h.conn
            .deliver_event(&packet_in(PacketInReason::ACTION, 10, None), &h.shared, 0)
    );
}

#[test]
fn packet_in_rate_limit_drops_beyond_the_burst_and_refills_over_time() {
    let mut shared = Shared::new(ListBridge::default());
    let mut cfg = ConnConfig::new(ConnKind::Primary);
    cfg.rate_limit_pps = Some(100);
    cfg.burst_limit = Some(10);
    let mut c = Conn::new(cfg, &mut shared, 0);
    c.handle_frame(
        &Message::Hello(Hello::with_versions(1 << 4)).encode(1),
        &mut shared,
        0,
    );
    let ev = packet_in(PacketInReason::ACTION, 10, None);
    let sent = (0..50).filter(|_| c.deliver_event(&ev, &shared, 0)).count();
    assert_eq!(sent, 10);
    assert_eq!(c.stats().packet_ins_dropped, 40);
    // 100 per second: 50 ms buys 5 more.
    let sent = (0..50)
        .filter(|_| c.deliver_event(&ev, &shared, 50))
        .count();
    assert_eq!(sent, 5);
}

fn bundle_ctrl(id: u32, t: BundleCtrlType, flags: u16) -> Message {
    Message::BundleControl(BundleControl {
        bundle_id: id,
        ctrl_type: t,
        flags,
        properties: Vec::new(),
    })
}

fn bundle_add(id: u32, flags: u16, inner: Message, xid: u32) -> Message {
    Message::BundleAdd(BundleAdd {
        bundle_id: id,
        flags,
        message: inner.encode(xid).to_vec(),
        properties: Vec::new(),
    })
}

#[test]
fn bundle_commit_applies_all_messages_at_once() {
    let mut h = Harness::open(ConnKind::Service);
    let out = h.send(
        bundle_ctrl(1, BundleCtrlType::OPEN_REQUEST, OFPBF_ATOMIC),
        10,
    );
    assert_eq!(
        out,
        vec![(10, bundle_ctrl(1, BundleCtrlType::OPEN_REPLY, 0))]
    );
    for (i, p) in [1u16, 2, 3].iter().enumerate() {
        let xid = 11 + i as u32;
        assert!(
            h.send(bundle_add(1, OFPBF_ATOMIC, add_flow(*p), xid), xid)
                .is_empty()
        );
    }
    assert!(
        h.shared.bridge.flows.is_empty(),
        "nothing applies before commit"
    );
    let out = h.send(
        bundle_ctrl(1, BundleCtrlType::COMMIT_REQUEST, OFPBF_ATOMIC),
        20,
    );
    assert_eq!(
        out,
        vec![(20, bundle_ctrl(1, BundleCtrlType::COMMIT_REPLY, 0))]
    );
    assert_eq!(h.shared.bridge.flows.len(), 3);
}

#[test]
fn failing_bundle_commit_changes_nothing_and_reports_the_failed_message() {
    let mut h = Harness::open(ConnKind::Service);
    h.shared.bridge.flows.push(FlowMod::default());
    h.send(
        bundle_ctrl(4, BundleCtrlType::OPEN_REQUEST, OFPBF_ATOMIC),
        1,
    );
    h.send(bundle_add(4, OFPBF_ATOMIC, add_flow(1), 2), 2);
    // A delete-all then an add that the bridge refuses only when applied.
    let del = Message::FlowMod(FlowMod {
        command: FlowModCommand::DELETE,
        ..FlowMod::default()
    });
    h.send(bundle_add(4, OFPBF_ATOMIC, del, 3), 3);
    let bad = FlowMod {
        command: FlowModCommand(1),
        priority: 5,
        ..FlowMod::default()
    };
    let bad_add = bundle_add(4, OFPBF_ATOMIC, Message::FlowMod(bad), 4).encode(4);
    assert!(h.feed(&bad_add).is_empty());
    let out = h.send(
        bundle_ctrl(4, BundleCtrlType::COMMIT_REQUEST, OFPBF_ATOMIC),
        5,
    );
    assert_eq!(out.len(), 2);
    let Message::Error(first) = &out[0].1 else {
        panic!()
    };
    assert_eq!((out[0].0, first.error), (4, OfpError::OFPFMFC_BAD_COMMAND));
    assert_eq!(&first.data[..], &bad_add[..first.data.len()]);
    assert_eq!(
        (out[1].0, error_of(&out[1].1)),
        (5, OfpError::OFPBFC_MSG_FAILED)
    );
    assert_eq!(
        h.shared.bridge.flows,
        vec![FlowMod::default()],
        "table unchanged"
    );
    // The bundle is gone after a failed commit.
    let out = h.send(
        bundle_ctrl(4, BundleCtrlType::COMMIT_REQUEST, OFPBF_ATOMIC),
        6,
    );
    assert_eq!(error_of(&out[0].1), OfpError::OFPBFC_BAD_ID);
}

#[test]
fn bundle_add_of_an_invalid_flow_fails_at_add_time_and_discard_drops_the_rest() {
    let mut h = Harness::open(ConnKind::Service);
    h.send(bundle_ctrl(2, BundleCtrlType::OPEN_REQUEST, 0), 1);
    h.send(bundle_add(2, 0, add_flow(1), 2), 2);
    let out = h.send(bundle_add(2, 0, add_flow(BAD_PRIORITY), 3), 3);
    assert_eq!(error_of(&out[0].1), OfpError::OFPBAC_MATCH_INCONSISTENT);
    let out = h.send(bundle_ctrl(2, BundleCtrlType::DISCARD_REQUEST, 0), 4);
    assert_eq!(
        out,
        vec![(4, bundle_ctrl(2, BundleCtrlType::DISCARD_REPLY, 0))]
    );
    let out = h.send(bundle_ctrl(2, BundleCtrlType::COMMIT_REQUEST, 0), 5);
    assert_eq!(error_of(&out[0].1), OfpError::OFPBFC_BAD_ID);
    assert!(h.shared.bridge.flows.is_empty());
    // A message kind bundles cannot hold.
    let out = h.send(bundle_add(3, 0, Message::BarrierRequest, 6), 6);
    assert_eq!(error_of(&out[0].1), OfpError::OFPBFC_MSG_UNSUP);
    // A reply type as a request.
    let out = h.send(bundle_ctrl(3, BundleCtrlType::OPEN_REPLY, 0), 7);
    assert_eq!(error_of(&out[0].1), OfpError::OFPBFC_BAD_TYPE);
}

#[tokio::test]
async fn hub_serves_a_duplex_stream_and_fans_out_events() {
    use super::hub::Hub;
    use ofp_codec::msg::{Frame, frame_len};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn read_msg(s: &mut tokio::io::DuplexStream, buf: &mut Vec<u8>) -> (u32, Message) {
        loop {
            if let Ok(Frame::Complete(n)) = frame_len(buf) {
                let m: Vec<u8> = buf.drain(..n).collect();
                let (h, msg) = Message::decode(&m).unwrap();
                return (h.xid, msg);
            }
            let mut tmp = [0u8; 4096];
            let n = s.read(&mut tmp).await.unwrap();
            assert!(n > 0, "switch closed the connection");
            buf.extend_from_slice(&tmp[..n]);
        }
    }

    let hub = Hub::new(ListBridge::default());
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let task =
        tokio::spawn(std::sync::Arc::clone(&hub).serve(server, ConnConfig::new(ConnKind::Service)));
    let mut buf = Vec::new();
    assert!(matches!(
        read_msg(&mut client, &mut buf).await.1,
        Message::Hello(_)
    ));
    client
        .write_all(&Message::Hello(Hello::with_versions(1 << 4)).encode(1))
        .await
        .unwrap();
    client.write_all(&add_flow(7).encode(2)).await.unwrap();
    client
        .write_all(&Message::BarrierRequest.encode(3))
        .await
        .unwrap();
    assert_eq!(
        read_msg(&mut client, &mut buf).await,
        (3, Message::BarrierReply)
    );
    assert_eq!(hub.with_bridge(|b, _| b.flows.len()), 1);
    assert_eq!(hub.conns_open(), 1);
    // Ask for async messages, then publish one.
    client
        .write_all(
            &Message::SetConfig(SwitchConfig {
                flags: 0,
                miss_send_len: 0xffff,
            })
            .encode(4),
        )
        .await
        .unwrap();
    client
        .write_all(&Message::BarrierRequest.encode(5))
        .await
        .unwrap();
    assert_eq!(
        read_msg(&mut client, &mut buf).await,
        (5, Message::BarrierReply)
    );
    hub.publish(packet_in(PacketInReason::ACTION, 42, Some(0xffff)));
    let (_, m) = read_msg(&mut client, &mut buf).await;
    let Message::PacketIn(p) = m else {
        panic!("expected packet-in, got {m:?}")
    };
    assert_eq!(p.data.len(), 42);
    // A header with length 4 cannot be framed: the switch hangs up.
    client.write_all(&[4, 0, 0, 4, 0, 0, 0, 0]).await.unwrap();
    let end = task.await.unwrap();
    assert!(end.reason.contains("below 8"), "{}", end.reason);
    assert_eq!(hub.conns_open(), 0);
}

#[test]
fn paused_packet_ins_carry_their_continuation_and_resume_reaches_the_bridge() {
    use ofp_codec::msg::PacketInFormat;
    use ofp_codec::msg::resume::{NXR_NOT_SUPPORTED, OFPBPC_BAD_TYPE, Paused, resume_for};
    let mut h = Harness::open(ConnKind::Primary);
    h.send(
        Message::SetPacketInFormat(PacketInFormat::NXT_PACKET_IN2),
        2,
    );
    let cont = Paused {
        bridge: [9; 16],
        conntracked: true,
        ..Paused::default()
    }
    .encode();
    let mut ev = packet_in(PacketInReason::ACTION, 20, Some(0xffff));
    if let BridgeEvent::PacketIn(p) = &mut ev {
        p.continuation = cont.clone();
    }
    assert!(h.conn.deliver_event(&ev, &h.shared, 0));
    let Message::PacketIn2(p2) = decode(&h.conn.poll_transmit().unwrap()).1 else {
        panic!()
    };
    assert_eq!(p2.continuation, cont);
    // Sent back: this bridge cannot resume (the default), OVS's error.
    let out = h.send(Message::Resume(resume_for(&p2)), 7);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].0, error_of(&out[0].1)), (7, NXR_NOT_SUPPORTED));
    // Decoded strictly: an unknown property is refused before the bridge
    // is asked, although the loose decode accepts it.
    let mut bytes = Message::Resume(resume_for(&p2)).encode(8).to_vec();
    bytes.extend_from_slice(&[0, 99, 0, 4, 0, 0, 0, 0]);
    let n = bytes.len() as u16;
    bytes[2..4].copy_from_slice(&n.to_be_bytes());
    let out = h.feed(&bytes);
    assert_eq!(error_of(&out[0].1), OFPBPC_BAD_TYPE);
}
