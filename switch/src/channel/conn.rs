//! One OpenFlow connection as a sans-IO state machine.
//!
//! ```text
//!  bytes from peer ──handle_frame(frame, shared, now)──▶ Conn ──poll_transmit()──▶ bytes to peer
//!  bridge events  ──deliver_event(ev, shared, now)────▶      ──poll_timeout()───▶ next deadline
//!                                                            ◀─handle_timeout(now)
//! ```
//!
//! The connection sends HELLO at once, negotiates OpenFlow 1.3 from the
//! peer's HELLO (bitmaps allowing 1.3 among 1.4/1.5 negotiate down; no common
//! version is `OFPHFC_INCOMPATIBLE` and a close), answers echo, probes an idle
//! peer with ECHO_REQUEST after `probe_interval_ms` and drops it after another
//! interval of silence. Every message that fails to decode or to apply gets
//! its `OFPT_ERROR` and the connection stays up; only a header whose length
//! is below 8 (the stream can no longer be framed) closes it.
//!
//! Packet-ins go out in the format the peer chose with
//! `NXT_SET_PACKET_IN_FORMAT` (`OFPT_PACKET_IN` until then, as in OVS;
//! `NXT_PACKET_IN` or `NXT_PACKET_IN2`, the latter with the `controller`
//! action's userdata), with xid 0.
//!
//! Everything shared between the connections of one bridge (the bridge
//! itself, the primary-election state) is in [`Shared`], passed in by the
//! caller under its lock.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::BytesMut;
use ofp_codec::OfpError;
use ofp_codec::msg::bundle::{BundleCtrlType, OFPBF_ATOMIC};
use ofp_codec::msg::multipart::{MultipartReply, OFPMPF_MORE};
use ofp_codec::msg::{
    AsyncConfig, BundleControl, ControllerRole, Echo, ErrorMsg, Hello, Message, OFP13_VERSION,
    PacketIn, PacketInReason, QueueGetConfigReply, RoleMsg, SwitchConfig, negotiate,
};
use ofp_codec::msg::{MultipartReplyBody, MultipartRequestBody};
use ofp_codec::msg::{NxPacketIn, PacketIn2, PacketInFormat};

use super::bridge::{Bridge, BridgeEvent, BundleItem};
use super::bundles::{BundleRaws, Bundles, CommitInput};
use super::snoop::SnoopTaps;
use super::split::{MAX_BODY_LEN, split_reply};

/// `OFP_NO_BUFFER`: rvs never buffers packets (like OVS since 2.7).
const OFP_NO_BUFFER: u32 = 0xffff_ffff;
/// `OFPCML_NO_BUFFER`: send the whole packet.
const OFPCML_NO_BUFFER: u16 = 0xffff;
/// OVS's `OFP_DEFAULT_MISS_SEND_LEN`.
pub const DEFAULT_MISS_SEND_LEN: u16 = 128;

/// OVS's distinction between connections: a primary connection is to a
/// configured controller (active `tcp:`); a service connection is to a
/// passive listener (`ptcp:`, the `BRIDGE.mgmt` socket). Service connections
/// start with `miss_send_len` 0 and get no asynchronous messages until they
/// set a non-zero `miss_send_len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnKind {
    Primary,
    Service,
}

/// Per-connection settings.
#[derive(Clone, Copy, Debug)]
pub struct ConnConfig {
    pub kind: ConnKind,
    /// Inactivity probe; `None` never probes.
    pub probe_interval_ms: Option<u64>,
    /// Packet-in rate limit in packets per second (OVS
    /// `controller_rate_limit`, at least 100), with a burst of
    /// `burst_limit` (default a quarter of the rate). `None`: no limit.
    pub rate_limit_pps: Option<u32>,
    pub burst_limit: Option<u32>,
}

impl ConnConfig {
    pub fn new(kind: ConnKind) -> Self {
        ConnConfig {
            kind,
            probe_interval_ms: Some(5_000),
            rate_limit_pps: None,
            burst_limit: None,
        }
    }
}

/// Primary-election state shared by the connections of one bridge.
#[derive(Debug, Default)]
pub struct RoleState {
    /// Largest generation id seen, once one was given.
    election_id: Option<u64>,
    /// The connection that is currently primary (master), if any.
    primary: Option<u64>,
}

/// What the connections of one bridge share, under one lock.
pub struct Shared<B> {
    pub bridge: B,
    pub roles: RoleState,
    next_conn_id: u64,
    /// Copies of controller traffic for `BRIDGE.snoop` clients.
    pub snoop: Arc<SnoopTaps>,
}

impl<B: Bridge> Shared<B> {
    pub fn new(bridge: B) -> Self {
        Shared {
            bridge,
            roles: RoleState::default(),
            next_conn_id: 1,
            snoop: Arc::default(),
        }
    }

    fn alloc_conn_id(&mut self) -> u64 {
        let id = self.next_conn_id;
        self.next_conn_id += 1;
        id
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    AwaitHello,
    Open,
    Closed,
}

/// A token bucket for packet-ins, in milli-tokens so that small rates stay exact.
#[derive(Debug)]
struct TokenBucket {
    rate_pps: u64,
    burst_mtokens: u64,
    mtokens: u64,
    last_ms: u64,
}

impl TokenBucket {
    fn new(rate_pps: u32, burst: Option<u32>, now_ms: u64) -> Self {
        let rate = u64::from(rate_pps.max(100));
        let burst = u64::from(burst.filter(|b| *b > 0).unwrap_or((rate / 4) as u32)).max(1);
        TokenBucket {
            rate_pps: rate,
            burst_mtokens: burst * 1000,
            mtokens: burst * 1000,
            last_ms: now_ms,
        }
    }

    fn take(&mut self, now_ms: u64) -> bool {
        let elapsed = now_ms.saturating_sub(self.last_ms);
        self.last_ms = self.last_ms.max(now_ms);
        self.mtokens = (self.mtokens + elapsed * self.rate_pps).min(self.burst_mtokens);
        if self.mtokens >= 1000 {
            self.mtokens -= 1000;
            true
        } else {
            false
        }
    }
}

/// Counters for one connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnStats {
    pub rx_msgs: u64,
    pub tx_msgs: u64,
    pub errors_sent: u64,
    pub packet_ins_sent: u64,
    pub packet_ins_dropped: u64,
}

/// One OpenFlow connection; see the module documentation.
pub struct Conn {
    id: u64,
    cfg: ConnConfig,
    state: State,
    /// The role asked for; a primary that another connection displaced reads
    /// as secondary (see [`Conn::role`]).
    role: ControllerRole,
    async_cfg: AsyncConfig,
    switch_cfg: SwitchConfig,
    /// `NXT_SET_PACKET_IN_FORMAT`: how packet-ins are sent (OVS's default
    /// is `OFPT_PACKET_IN`).
    packet_in_format: PacketInFormat,
    bundles: Bundles,
    last_rx_ms: u64,
    probe_sent_ms: Option<u64>,
    next_xid: u32,
    out: VecDeque<BytesMut>,
    /// Where copies of this connection's messages go (`snoop.rs`).
    snoop: Arc<SnoopTaps>,
    /// The parts so far of a TABLE_FEATURES request whose last message
    /// (without `OFPMPF_REQ_MORE`) has not come yet: its xid, the tables,
    /// and when its first part came (ms).
    pending_table_features: Option<(u32, Vec<ofp_codec::msg::multipart::TableFeatures>, u64)>,
    pins: Option<TokenBucket>,
    stats: ConnStats,
    close_reason: Option<String>,
}

/// OVS's default asynchronous configuration for OpenFlow 1.3.
pub fn default_async_config() -> AsyncConfig {
    AsyncConfig {
        packet_in_mask: [
            (1 << PacketInReason::NO_MATCH.0) | (1 << PacketInReason::ACTION.0),
            0,
        ],
        port_status_mask: [0b111, 0b111],
        flow_removed_mask: [0b1111, 0],
    }
}

fn version_bitmap_text(bitmap: u32) -> String {
    if bitmap == 0 {
        return "no versions".into();
    }
    let top = 31 - bitmap.leading_zeros();
    if bitmap.is_power_of_two() {
        format!("version 0x{top:02x}")
    } else if ((bitmap >> 1) + 1).is_power_of_two() {
        format!("version 0x{top:02x} and earlier")
    } else {
        let v: Vec<String> = (0..32)
            .filter(|b| bitmap & (1 << b) != 0)
            .map(|b| format!("0x{b:02x}"))
            .collect();
        format!("versions {}", v.join(", "))
    }
}

impl Conn {
    /// A new connection; HELLO is queued at once.
    pub fn new<B: Bridge>(cfg: ConnConfig, shared: &mut Shared<B>, now_ms: u64) -> Self {
        let mut c = Conn {
            id: shared.alloc_conn_id(),
            cfg,
            state: State::AwaitHello,
            role: ControllerRole::EQUAL,
            async_cfg: default_async_config(),
            switch_cfg: SwitchConfig {
                flags: 0,
                miss_send_len: if cfg.kind == ConnKind::Primary {
                    DEFAULT_MISS_SEND_LEN
                } else {
                    0
                },
            },
            packet_in_format: PacketInFormat::STANDARD,
            bundles: Bundles::default(),
            last_rx_ms: now_ms,
            probe_sent_ms: None,
            next_xid: 1,
            out: VecDeque::new(),
            snoop: Arc::clone(&shared.snoop),
            pending_table_features: None,
            pins: cfg
                .rate_limit_pps
                .map(|r| TokenBucket::new(r, cfg.burst_limit, now_ms)),
            stats: ConnStats::default(),
            close_reason: None,
        };
        let xid = c.alloc_xid();
        c.push(Message::Hello(Hello::with_versions(1 << OFP13_VERSION)).encode(xid));
        c
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn stats(&self) -> ConnStats {
        self.stats
    }

    /// True once the connection must be dropped (after flushing output).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Why the connection closed, for logs.
    pub fn close_reason(&self) -> Option<&str> {
        self.close_reason.as_deref()
    }

    /// True once HELLO negotiation succeeded.
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    pub fn miss_send_len(&self) -> u16 {
        self.switch_cfg.miss_send_len
    }

    /// The effective role: a primary displaced by another reads as secondary.
    pub fn role<B>(&self, shared: &Shared<B>) -> ControllerRole {
        if self.role == ControllerRole::PRIMARY && shared.roles.primary != Some(self.id) {
            ControllerRole::SECONDARY
        } else {
            self.role
        }
    }

    /// Next message to write, in order.
    pub fn poll_transmit(&mut self) -> Option<BytesMut> {
        self.out.pop_front()
    }

    /// When [`Conn::handle_timeout`] must run next.
    pub fn poll_timeout(&self) -> Option<u64> {
        let probe = self.cfg.probe_interval_ms?;
        if self.is_closed() {
            return None;
        }
        Some(match self.probe_sent_ms {
            None => self.last_rx_ms + probe,
            Some(t) => t + probe,
        })
    }

    pub fn handle_timeout(&mut self, now_ms: u64) {
        let Some(deadline) = self.poll_timeout() else {
            return;
        };
        if now_ms < deadline {
            return;
        }
        if self.probe_sent_ms.is_some() {
            self.close(format!(
                "no response to inactivity probe after {} seconds, disconnecting",
                self.cfg.probe_interval_ms.unwrap_or(0) / 1000 * 2
            ));
        } else {
            self.probe_sent_ms = Some(now_ms);
            let xid = self.alloc_xid();
            self.push(Message::EchoRequest(Echo::default()).encode(xid));
        }
    }

    /// Releases what the connection holds in shared state; call when it ends.
    pub fn detach<B>(&mut self, shared: &mut Shared<B>) {
        if shared.roles.primary == Some(self.id) {
            shared.roles.primary = None;
        }
        self.snoop.conn_closed(self.id);
        self.state = State::Closed;
    }

    fn alloc_xid(&mut self) -> u32 {
        let x = self.next_xid;
        self.next_xid = self.next_xid.wrapping_add(1);
        x
    }

    fn push(&mut self, msg: BytesMut) {
        self.stats.tx_msgs += 1;
        if self.state == State::Open {
            self.snoop.copy(self.id, &msg);
        }
        self.out.push_back(msg);
    }

    fn send(&mut self, msg: Message, xid: u32) {
        self.push(msg.encode(xid));
    }

    fn send_error(&mut self, err: OfpError, request: &[u8]) {
        self.stats.errors_sent += 1;
        self.push(Message::error_reply(err, request));
    }

    fn close(&mut self, reason: String) {
        self.state = State::Closed;
        self.close_reason = Some(reason);
    }

    /// Feeds one complete message (as framed by `frame_len`).
    pub fn handle_frame<B: Bridge>(&mut self, frame: &[u8], shared: &mut Shared<B>, now_ms: u64) {
        if self.is_closed() {
            return;
        }
        self.stats.rx_msgs += 1;
        self.last_rx_ms = now_ms;
        self.probe_sent_ms = None;
        if self.state == State::AwaitHello {
            self.handle_hello(frame);
            if self.state == State::Open && self.cfg.kind == ConnKind::Primary {
                self.snoop.controller_open(self.id);
            }
            return;
        }
        self.snoop.copy(self.id, frame);
        let (header, msg) = match Message::decode(frame) {
            Ok(v) => v,
            Err(e) => {
                // NXT_RESUME is decoded strictly: its first error may differ.
                let e = if ofp_codec::msg::resume::is_resume(frame) {
                    ofp_codec::msg::resume::decode_resume(frame)
                        .err()
                        .unwrap_or(e)
                } else {
                    e
                };
                self.send_error(e, frame);
                return;
            }
        };
        if let Err(e) = self.dispatch(header.xid, msg, frame, shared, now_ms) {
            self.send_error(e, frame);
        }
    }

    fn handle_hello(&mut self, frame: &[u8]) {
        let decoded = Message::decode(frame);
        let (header, hello) = match decoded {
            Ok((h, Message::Hello(hello))) => (h, hello),
            _ => {
                self.close("received message while expecting hello".into());
                return;
            }
        };
        let ours = 1u32 << OFP13_VERSION;
        match negotiate(ours, header.version, &hello) {
            Ok(_) => self.state = State::Open,
            Err(e) => {
                let (theirs, _) = hello.allowed_versions(header.version);
                let text = format!(
                    "We support {}, you support {}, no common versions.",
                    version_bitmap_text(ours),
                    version_bitmap_text(theirs)
                );
                self.stats.errors_sent += 1;
                let mut msg = Message::Error(ErrorMsg {
                    error: e,
                    data: text.into_bytes(),
                })
                .encode(header.xid);
                // OVS answers in the highest version it supports.
                msg[0] = OFP13_VERSION;
                self.push(msg);
                self.close("version negotiation failed".into());
            }
        }
    }

    /// Whether parts of a TABLE_FEATURES request with `xid` are pending and
    /// the latest came less than 1 s ago (OVS drops an unfinished request
    /// after 1 s without a part).
    fn table_features_pending_for(&self, xid: u32, now_ms: u64) -> bool {
        matches!(&self.pending_table_features,
            Some((x, _, t)) if *x == xid && now_ms.saturating_sub(*t) <= 1000)
    }

    fn reject_secondary<B>(&self, shared: &Shared<B>) -> Result<(), OfpError> {
        if self.role(shared) == ControllerRole::SECONDARY {
            return Err(OfpError::OFPBRC_IS_SLAVE);
        }
        Ok(())
    }

    fn dispatch<B: Bridge>(
        &mut self,
        xid: u32,
        msg: Message,
        raw: &[u8],
        shared: &mut Shared<B>,
        now_ms: u64,
    ) -> Result<(), OfpError> {
        match msg {
            Message::Hello(_) | Message::Error(_) | Message::EchoReply(_) => {}
            Message::EchoRequest(e) => self.send(Message::EchoReply(e), xid),
            Message::FeaturesRequest => {
                let mut f = shared.bridge.features();
                f.auxiliary_id = 0;
                self.send(Message::FeaturesReply(f), xid);
            }
            Message::GetConfigRequest => self.send(Message::GetConfigReply(self.switch_cfg), xid),
            // The fragment handling mode belongs to the switch, and rvs's
            // pipeline has one: "normal". As OVS with a mode its datapath
            // lacks (reassemble), another mode is ignored, so GET_CONFIG
            // keeps saying "normal" (ovs-ofctl set-frags then reports the
            // failure).
            Message::SetConfig(c) => {
                self.switch_cfg = SwitchConfig {
                    flags: ofp_codec::msg::config::OFPC_FRAG_NORMAL,
                    ..c
                }
            }
            Message::PacketOut(po) => {
                self.reject_secondary(shared)?;
                shared.bridge.packet_out(&po, now_ms)?;
            }
            Message::FlowMod(fm) => {
                self.reject_secondary(shared)?;
                shared.bridge.flow_mod_owned(fm, now_ms)?;
            }
            Message::GroupMod(gm) => {
                self.reject_secondary(shared)?;
                shared.bridge.group_mod(&gm, now_ms)?;
            }
            Message::MeterMod(mm) => {
                self.reject_secondary(shared)?;
                shared.bridge.meter_mod(&mm, now_ms)?;
            }
            Message::PortMod(pm) => {
                self.reject_secondary(shared)?;
                shared.bridge.port_mod(&pm, now_ms)?;
            }
            Message::TableMod(tm) => {
                self.reject_secondary(shared)?;
                shared.bridge.table_mod(&tm)?;
            }
            // A request in several messages (OFPMPF_REQ_MORE: a TABLE_FEATURES
            // change) is answered once, after its last message, as OVS
            // assembles it first; answering each part would echo each one
            // back while the client is still sending. TABLE_FEATURES tables
            // are gathered (at most 256) and handed over with the last part.
            Message::MultipartRequest(req) if req.flags & OFPMPF_MORE != 0 => {
                if let MultipartRequestBody::TableFeatures(v) = req.body {
                    // Parts belong to one xid and live 1 s, as OVS's
                    // ofpmp_assembler keeps them; another xid starts over.
                    if !self.table_features_pending_for(xid, now_ms) {
                        self.pending_table_features = Some((xid, Vec::new(), now_ms));
                    }
                    if let Some((_, parts, last_ms)) = &mut self.pending_table_features {
                        // The 1 s runs from the latest part, as OVS's.
                        *last_ms = now_ms;
                        if parts.len() + v.len() > 256 {
                            self.pending_table_features = None;
                            return Err(OfpError::OFPBRC_MULTIPART_BUFFER_OVERFLOW);
                        }
                        parts.extend(v);
                    }
                }
            }
            Message::MultipartRequest(mut req) => {
                // Only the last part of that same request (same xid) takes the
                // parts; another request in between leaves them alone.
                if let MultipartRequestBody::TableFeatures(v) = &mut req.body
                    && self.table_features_pending_for(xid, now_ms)
                    && let Some((_, mut all, _)) = self.pending_table_features.take()
                {
                    all.append(v);
                    *v = all;
                }
                if let MultipartRequestBody::Queue { port_no, queue_id } = req.body {
                    check_queues(&mut shared.bridge, port_no, queue_id, now_ms)?;
                }
                let body = shared.bridge.multipart(&req.body, now_ms)?;
                let pieces = split_reply(body, MAX_BODY_LEN);
                let n = pieces.len();
                for (i, body) in pieces.into_iter().enumerate() {
                    let flags = if i + 1 < n { OFPMPF_MORE } else { 0 };
                    self.send(Message::MultipartReply(MultipartReply { flags, body }), xid);
                }
            }
            // Every earlier message was applied before this one was read;
            // `sync` makes them show in forwarding too.
            Message::BarrierRequest => {
                shared.bridge.sync(now_ms);
                self.send(Message::BarrierReply, xid);
            }
            Message::QueueGetConfigRequest(q) => {
                // OpenFlow 1.3's request names no queue: all of them.
                check_queues(&mut shared.bridge, q.port, OFPQ_ALL, now_ms)?;
                self.send(
                    Message::QueueGetConfigReply(QueueGetConfigReply {
                        port: q.port,
                        queues: Vec::new(),
                    }),
                    xid,
                )
            }
            Message::RoleRequest(r) => self.handle_role(r, xid, shared)?,
            Message::GetAsyncRequest => self.send(Message::GetAsyncReply(self.async_cfg), xid),
            Message::SetAsync(a) => self.async_cfg = a,
            // Unknown formats were refused at decode (OFPBRC_EPERM, as OVS).
            Message::SetPacketInFormat(f) => self.packet_in_format = f,
            Message::BundleControl(bc) => {
                self.reject_secondary(shared)?;
                self.handle_bundle_control(bc, xid, shared, now_ms)?;
            }
            Message::BundleAdd(add) => {
                self.reject_secondary(shared)?;
                let item = bundle_item(&add.message)?;
                shared.bridge.validate_bundle_item(&item)?;
                let bridge = &mut shared.bridge;
                self.bundles
                    .add_staged(add.bundle_id, add.flags, item, raw, |st, item| {
                        bridge.bundle_stage(st, item, now_ms)
                    })?;
            }
            // OVS handles both for any role.
            Message::CtFlushZone(z) => {
                z.check()?;
                let all = ofp_codec::msg::CtMatch::default();
                shared.bridge.ct_flush(Some(z.zone_id), &all, now_ms)?;
            }
            Message::CtFlush(f) => shared.bridge.ct_flush(f.zone, &f.match_, now_ms)?,
            // OVS resumes for any role; the loose decode above is redone strictly.
            Message::Resume(_) => {
                let (pin, paused) = ofp_codec::msg::resume::decode_resume(raw)?;
                shared.bridge.resume(&pin, &paused, now_ms)?;
            }
            // Messages only a switch sends (replies, PACKET_IN, ...).
            _ => return Err(OfpError::OFPBRC_BAD_TYPE),
        }
        Ok(())
    }

    fn handle_role<B>(
        &mut self,
        r: RoleMsg,
        xid: u32,
        shared: &mut Shared<B>,
    ) -> Result<(), OfpError> {
        if r.role != ControllerRole::NOCHANGE {
            if r.role != ControllerRole::EQUAL {
                let roles = &mut shared.roles;
                if let Some(cur) = roles.election_id
                    && (r.generation_id.wrapping_sub(cur) as i64) < 0
                {
                    return Err(OfpError::OFPRRFC_STALE);
                }
                roles.election_id = Some(r.generation_id);
            }
            if r.role == ControllerRole::PRIMARY {
                shared.roles.primary = Some(self.id);
            } else if shared.roles.primary == Some(self.id) {
                shared.roles.primary = None;
            }
            self.role = r.role;
        }
        let reply = RoleMsg {
            role: self.role(shared),
            generation_id: shared.roles.election_id.unwrap_or(u64::MAX),
        };
        self.send(Message::RoleReply(reply), xid);
        Ok(())
    }

    fn handle_bundle_control<B: Bridge>(
        &mut self,
        bc: BundleControl,
        xid: u32,
        shared: &mut Shared<B>,
        now_ms: u64,
    ) -> Result<(), OfpError> {
        let reply_type = match bc.ctrl_type {
            BundleCtrlType::OPEN_REQUEST => {
                self.bundles.open(bc.bundle_id, bc.flags)?;
                BundleCtrlType::OPEN_REPLY
            }
            BundleCtrlType::CLOSE_REQUEST => {
                self.bundles.close(bc.bundle_id, bc.flags)?;
                BundleCtrlType::CLOSE_REPLY
            }
            BundleCtrlType::DISCARD_REQUEST => {
                self.bundles.discard(bc.bundle_id)?;
                BundleCtrlType::DISCARD_REPLY
            }
            BundleCtrlType::COMMIT_REQUEST => {
                let (input, raws) = self.bundles.take_for_commit(bc.bundle_id, bc.flags)?;
                let atomic = bc.flags & OFPBF_ATOMIC != 0;
                let bridge = &mut shared.bridge;
                let staged = match input {
                    CommitInput::Staged(st) => bridge.bundle_commit_staged(st, now_ms),
                    CommitInput::Items(items) => Some(bridge.bundle_commit(items, atomic, now_ms)),
                    CommitInput::Redecode => None,
                };
                // A stale staged copy, or items partly staged: the items
                // again, from their raw messages (each decoded once before).
                let r = match staged {
                    Some(r) => r,
                    None => match redecode(&raws) {
                        Ok(items) => bridge.bundle_commit(items, atomic, now_ms),
                        Err(e) => Err(e),
                    },
                };
                if let Err((idx, e)) = r {
                    if let Some(raw) = raws.get(idx) {
                        self.send_error(e, raw);
                    }
                    return Err(OfpError::OFPBFC_MSG_FAILED);
                }
                BundleCtrlType::COMMIT_REPLY
            }
            _ => return Err(OfpError::OFPBFC_BAD_TYPE),
        };
        let reply = BundleControl {
            bundle_id: bc.bundle_id,
            ctrl_type: reply_type,
            flags: 0,
            properties: Vec::new(),
        };
        self.send(Message::BundleControl(reply), xid);
        Ok(())
    }

    /// Offers an asynchronous message; it is sent if this connection's role,
    /// async configuration and packet-in rate limit allow it.
    pub fn deliver_event<B>(&mut self, ev: &BridgeEvent, shared: &Shared<B>, now_ms: u64) -> bool {
        if self.state != State::Open {
            return false;
        }
        if self.cfg.kind == ConnKind::Service && self.switch_cfg.miss_send_len == 0 {
            return false;
        }
        let slot = usize::from(self.role(shared) == ControllerRole::SECONDARY);
        let wants = |mask: [u32; 2], reason: u8| reason < 32 && mask[slot] & (1u32 << reason) != 0;
        match ev {
            BridgeEvent::PacketIn(p) => {
                // OVS sends a packet-in only to connections whose
                // controller id is the action's; every rvs connection has 0.
                if p.controller_id != 0 || !wants(self.async_cfg.packet_in_mask, p.reason.0) {
                    return false;
                }
                if let Some(bucket) = &mut self.pins
                    && !bucket.take(now_ms)
                {
                    self.stats.packet_ins_dropped += 1;
                    return false;
                }
                let max_len = p.max_len.unwrap_or(self.switch_cfg.miss_send_len);
                let keep = if max_len == OFPCML_NO_BUFFER {
                    p.packet.len()
                } else {
                    p.packet.len().min(max_len.into())
                };
                let pin = PacketIn {
                    buffer_id: OFP_NO_BUFFER,
                    total_len: p.total_len.min(0xffff) as u16,
                    reason: p.reason,
                    table_id: p.table_id,
                    cookie: p.cookie,
                    match_: p.match_.clone(),
                    data: p.packet[..keep].to_vec(),
                };
                self.stats.packet_ins_sent += 1;
                let msg = match self.packet_in_format {
                    PacketInFormat::NXT_PACKET_IN => {
                        Message::NxPacketIn(NxPacketIn::from_packet_in(&pin))
                    }
                    PacketInFormat::NXT_PACKET_IN2 => {
                        let mut p2 = PacketIn2::from_packet_in(&pin);
                        p2.userdata.clone_from(&p.userdata);
                        p2.continuation.clone_from(&p.continuation);
                        Message::PacketIn2(p2)
                    }
                    _ => Message::PacketIn(pin),
                };
                self.send(msg, 0);
            }
            BridgeEvent::FlowRemoved(fr) => {
                if !wants(self.async_cfg.flow_removed_mask, fr.reason.0) {
                    return false;
                }
                self.send(Message::FlowRemoved(fr.clone()), 0);
            }
            BridgeEvent::PortStatus(ps) => {
                if !wants(self.async_cfg.port_status_mask, ps.reason.0) {
                    return false;
                }
                self.send(Message::PortStatus(*ps), 0);
            }
        }
        true
    }
}

/// `OFPQ_ALL`: every queue of a port.
const OFPQ_ALL: u32 = 0xffff_ffff;

/// rvs configures no queues (no QoS), so a queue request gets what OVS
/// answers for ports whose netdev has none (`handle_queue_stats_request`,
/// `handle_queue_get_config_request`): a port the bridge lacks is
/// `OFPQOFC_BAD_PORT`; a given queue is `OFPQOFC_BAD_QUEUE`; all queues of
/// one port, or of every port (`OFPP_ANY`, when the bridge has any), is an
/// empty answer.
fn check_queues<B: Bridge>(
    bridge: &mut B,
    port_no: u32,
    queue_id: u32,
    now_ms: u64,
) -> Result<(), OfpError> {
    const OFPP_ANY: u32 = 0xffff_ffff;
    let ports = match bridge.multipart(&MultipartRequestBody::PortDesc, now_ms)? {
        MultipartReplyBody::PortDesc(ports) => ports,
        _ => Vec::new(),
    };
    let any = port_no == OFPP_ANY;
    if !any && !ports.iter().any(|p| p.port_no == port_no) {
        return Err(OfpError::OFPQOFC_BAD_PORT);
    }
    if queue_id != OFPQ_ALL || ports.is_empty() {
        return Err(OfpError::OFPQOFC_BAD_QUEUE);
    }
    Ok(())
}

/// The item a BUNDLE_ADD carries (`message`: its inner message).
fn bundle_item(message: &[u8]) -> Result<BundleItem, OfpError> {
    let (_, inner) = Message::decode(message)?;
    Ok(match inner {
        Message::FlowMod(fm) => BundleItem::FlowMod(fm),
        Message::GroupMod(gm) => BundleItem::GroupMod(gm),
        Message::PortMod(pm) => BundleItem::PortMod(pm),
        Message::PacketOut(po) => BundleItem::PacketOut(po),
        _ => return Err(OfpError::OFPBFC_MSG_UNSUP),
    })
}

/// A bundle's items decoded again from their raw BUNDLE_ADD messages (all
/// of which decoded when they were added); a failure names its message.
fn redecode(raws: &BundleRaws) -> Result<Vec<BundleItem>, (usize, OfpError)> {
    (0..raws.len())
        .map(|i| {
            let raw = raws.get(i).unwrap_or_default();
            match Message::decode(raw) {
                Ok((_, Message::BundleAdd(add))) => bundle_item(&add.message),
                Ok(_) => Err(OfpError::OFPBFC_MSG_UNSUP),
                Err(e) => Err(e),
            }
            .map_err(|e| (i, e))
        })
        .collect()
}
