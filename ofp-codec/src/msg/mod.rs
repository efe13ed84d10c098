//! OpenFlow 1.3 messages, one family per file.
//!
//! ```text
//!  bytes ──Message::decode──▶ (Header, Message) ──Message::encode(xid)──▶ bytes
//!  bytes ──print::ofp_to_string──▶ the text `ovs-ofctl ofp-print` shows
//!  stream ──frame_len──▶ how many bytes the next message needs
//! ```
//!
//! Decoding follows Open vSwitch's order of checks, so the same bytes fail
//! with the same error: header length below 8, then an unknown type
//! (`OFPBRC_BAD_TYPE`), multipart type (`OFPBRC_BAD_STAT`), experimenter id
//! (`OFPBRC_BAD_VENDOR`) or experimenter subtype (`OFPBRC_BAD_SUBTYPE`), then
//! the length rule of that message type (`OFPBRC_BAD_LEN`), then the body.
//!
//! Scope: OpenFlow 1.3 (wire version 4) only, plus the ONF bundle messages
//! (`ovs-ofctl --bundle`), `NXT_SET_PACKET_IN_FORMAT` (`ovs-ofctl
//! monitor`) and the packet-ins it selects, `NXT_PACKET_IN` and
//! `NXT_PACKET_IN2`, and OVS 3.1's `NXT_CT_FLUSH_ZONE` / `NXT_CT_FLUSH`.
//! Other Nicira messages (`NXT_*`, `NXST_*`) are not decoded:
//! they are `OFPBRC_BAD_SUBTYPE` here, while OVS knows many of them. Hello,
//! error and echo of any version decode (for version negotiation); other
//! messages of another version are `OFPBRC_BAD_VERSION`.
//!
//! Sending: [`Message::encode`] / [`Message::encode_into`] (always version
//! 1.3), [`Message::error_reply`] for the `OFPT_ERROR` answering a bad
//! request, [`multipart::MultipartReply::split`] for replies over 64 KiB.

pub mod async_config;
pub mod bundle;
pub mod config;
pub mod ct_flush;
pub mod echo;
pub mod error_msg;
pub mod experimenter;
pub mod features;
pub mod flow_mod;
pub mod flow_removed;
pub mod flow_stats;
pub mod group_mod;
pub mod header;
pub mod hello;
pub mod meter_mod;
pub mod multipart;
pub mod packet_in;
pub mod packet_in2;
pub mod packet_out;
pub mod port;
pub mod port_mod;
pub mod port_status;
pub mod print;
pub mod queue;
pub mod resume;
pub mod role;
pub mod table_mod;

use bytes::{BufMut, BytesMut};

use crate::error::OfpError;
use crate::reader::Reader;

pub use async_config::AsyncConfig;
pub use bundle::{BundleAdd, BundleControl, BundleCtrlType};
pub use config::SwitchConfig;
pub use ct_flush::{CtFlush, CtFlushZone, CtL3, CtMatch, CtTuple};
pub use echo::Echo;
pub use error_msg::ErrorMsg;
pub use experimenter::ExperimenterKind;
pub use features::SwitchFeatures;
pub use flow_mod::{FlowMod, FlowModCommand};
pub use flow_removed::{FlowRemoved, FlowRemovedReason};
pub use flow_stats::{AggregateStats, FlowStats, FlowStatsRequest};
pub use group_mod::{Bucket, GroupDesc, GroupMod, GroupModCommand, GroupType};
pub use header::{Frame, HEADER_LEN, Header, MsgType, OFP13_VERSION, frame_len};
pub use hello::{Hello, HelloElement, negotiate};
pub use meter_mod::{MeterBand, MeterBandType, MeterCommand, MeterMod};
pub use multipart::{
    MultipartReply, MultipartReplyBody, MultipartRequest, MultipartRequestBody, MultipartType,
};
pub use packet_in::{NxPacketIn, PacketIn, PacketInReason};
pub use packet_in2::PacketIn2;
pub use packet_out::PacketOut;
pub use port::Port;
pub use port_mod::PortMod;
pub use port_status::{PortReason, PortStatus};
pub use queue::{PacketQueue, QueueGetConfigReply, QueueGetConfigRequest, QueueProp};
pub use role::{ControllerRole, RoleMsg};
pub use table_mod::TableMod;

/// A message body (everything after the fixed headers) on the wire.
///
/// `decode` reads from a reader holding exactly the body and may leave
/// nothing unread that matters (callers check with `finish` where OVS does).
pub trait WireBody: Sized {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError>;
    /// Appends the body; writes exactly `encoded_len()` bytes.
    fn encode(&self, out: &mut BytesMut);
    fn encoded_len(&self) -> usize;
}

/// Every OpenFlow 1.3 message rvs sends or receives.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Message {
    Hello(Hello),
    Error(ErrorMsg),
    EchoRequest(Echo),
    EchoReply(Echo),
    FeaturesRequest,
    FeaturesReply(SwitchFeatures),
    GetConfigRequest,
    GetConfigReply(SwitchConfig),
    SetConfig(SwitchConfig),
    PacketIn(PacketIn),
    FlowRemoved(FlowRemoved),
    PortStatus(PortStatus),
    PacketOut(PacketOut),
    FlowMod(FlowMod),
    GroupMod(GroupMod),
    PortMod(PortMod),
    TableMod(TableMod),
    MultipartRequest(MultipartRequest),
    MultipartReply(MultipartReply),
    BarrierRequest,
    BarrierReply,
    QueueGetConfigRequest(QueueGetConfigRequest),
    QueueGetConfigReply(QueueGetConfigReply),
    RoleRequest(RoleMsg),
    RoleReply(RoleMsg),
    GetAsyncRequest,
    GetAsyncReply(AsyncConfig),
    SetAsync(AsyncConfig),
    MeterMod(MeterMod),
    /// `ONFT_BUNDLE_CONTROL` (experimenter message).
    BundleControl(BundleControl),
    /// `ONFT_BUNDLE_ADD_MESSAGE` (experimenter message).
    BundleAdd(BundleAdd),
    /// `NXT_SET_PACKET_IN_FORMAT` (Nicira experimenter message).
    SetPacketInFormat(PacketInFormat),
    /// `NXT_PACKET_IN` (Nicira experimenter message).
    NxPacketIn(NxPacketIn),
    /// `NXT_PACKET_IN2` (Nicira experimenter message).
    PacketIn2(PacketIn2),
    /// `NXT_RESUME` (Nicira experimenter message): a paused packet-in sent
    /// back (see `resume.rs`; decoded loosely here).
    Resume(PacketIn2),
    /// `NXT_CT_FLUSH_ZONE` (Nicira experimenter message, OVS 3.1).
    CtFlushZone(CtFlushZone),
    /// `NXT_CT_FLUSH` (Nicira experimenter message, OVS 3.1).
    CtFlush(CtFlush),
}

crate::open_enum! {
    /// The packet-in format of `NXT_SET_PACKET_IN_FORMAT`, as OVS names it.
    pub struct PacketInFormat(u32) {
        STANDARD = 0 => "standard",
        NXT_PACKET_IN = 1 => "nxt_packet_in",
        NXT_PACKET_IN2 = 2 => "nxt_packet_in2",
    }
}

/// What the headers of a message say it is, after OVS's header checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Plain(MsgType),
    Multipart { reply: bool, mp_type: MultipartType },
    Exp(experimenter::ExperimenterKind),
}

/// (min total length, extra multiple): 0 = exact, 1 = any extra, N = multiple of N.
fn length_rule(kind: Kind) -> (usize, usize) {
    use MsgType as T;
    use MultipartType as M;
    match kind {
        Kind::Plain(t) => match t {
            T::HELLO | T::ECHO_REQUEST | T::ECHO_REPLY => (8, 1),
            T::ERROR => (12, 1),
            T::FEATURES_REQUEST | T::GET_CONFIG_REQUEST | T::BARRIER_REQUEST | T::BARRIER_REPLY => {
                (8, 0)
            }
            T::GET_ASYNC_REQUEST => (8, 0),
            T::FEATURES_REPLY => (32, 0),
            T::GET_CONFIG_REPLY | T::SET_CONFIG => (12, 0),
            T::PACKET_IN => (24, 1),
            T::FLOW_REMOVED => (48, 8),
            T::PORT_STATUS => (80, 0),
            T::PACKET_OUT => (24, 1),
            T::FLOW_MOD => (48, 8),
            T::GROUP_MOD => (16, 8),
            T::PORT_MOD => (40, 0),
            T::TABLE_MOD => (16, 0),
            T::QUEUE_GET_CONFIG_REQUEST => (16, 0),
            T::QUEUE_GET_CONFIG_REPLY => (16, 8),
            T::ROLE_REQUEST | T::ROLE_REPLY => (24, 0),
            T::GET_ASYNC_REPLY | T::SET_ASYNC => (32, 0),
            T::METER_MOD => (16, 8),
            _ => (8, 1),
        },
        Kind::Exp(ExperimenterKind::BundleControl) => (24, 8),
        Kind::Exp(ExperimenterKind::BundleAdd) => (24, 1),
        Kind::Exp(ExperimenterKind::SetPacketInFormat) => (20, 0),
        Kind::Exp(ExperimenterKind::NxPacketIn) => (40, 1),
        Kind::Exp(ExperimenterKind::PacketIn2) => (16, 8),
        Kind::Exp(ExperimenterKind::Resume) => (16, 8),
        Kind::Exp(ExperimenterKind::CtFlushZone) => (24, 0),
        Kind::Exp(ExperimenterKind::CtFlush) => (24, 8),
        Kind::Multipart {
            reply: false,
            mp_type,
        } => match mp_type {
            M::FLOW | M::AGGREGATE => (48, 8),
            M::PORT_STATS | M::QUEUE | M::GROUP | M::METER | M::METER_CONFIG => (24, 0),
            M::TABLE_FEATURES => (16, 8),
            _ => (16, 0),
        },
        Kind::Multipart {
            reply: true,
            mp_type,
        } => match mp_type {
            M::DESC => (16 + multipart::desc::DESC_LEN, 0),
            M::FLOW => (16, 1),
            M::AGGREGATE => (40, 0),
            M::TABLE => (16, 24),
            M::PORT_STATS => (16, 112),
            M::QUEUE => (16, 40),
            M::GROUP_FEATURES => (56, 0),
            M::METER_FEATURES => (32, 0),
            M::TABLE_FEATURES => (80, 8),
            M::PORT_DESC => (16, port::PORT_LEN),
            _ => (16, 8),
        },
    }
}

/// OVS's header-level decode (`ofpraw_decode`): identifies the message and
/// checks its length rule. `bytes` must be exactly one message.
pub(crate) fn check_framing(bytes: &[u8]) -> Result<(Header, Kind), OfpError> {
    let mut r = Reader::new(bytes);
    let header = Header::decode(&mut r)?;
    if usize::from(header.length) != bytes.len() {
        return Err(OfpError::OFPBRC_BAD_LEN);
    }
    // OVS knows no message of a version outside 1.0..1.5.
    if header.version == 0 || header.version > 6 {
        return Err(OfpError::OFPBRC_BAD_TYPE);
    }
    let kind = match header.msg_type {
        MsgType::EXPERIMENTER => {
            let vendor = r.u32()?;
            let subtype = r.u32()?;
            Kind::Exp(experimenter::classify(vendor, subtype)?)
        }
        MsgType::MULTIPART_REQUEST | MsgType::MULTIPART_REPLY => {
            let mp_type = MultipartType(r.u16()?);
            if mp_type == MultipartType::EXPERIMENTER {
                r.skip(6)?;
                let err = experimenter::classify_multipart(r.u32()?);
                if err == OfpError::OFPBRC_BAD_SUBTYPE {
                    r.u32()?; // OVS needs the subtype present first
                }
                return Err(err);
            }
            if mp_type.name().is_none() {
                return Err(OfpError::OFPBRC_BAD_STAT);
            }
            Kind::Multipart {
                reply: header.msg_type == MsgType::MULTIPART_REPLY,
                mp_type,
            }
        }
        t if t.name().is_some() => Kind::Plain(t),
        _ => return Err(OfpError::OFPBRC_BAD_TYPE),
    };
    let (min, multiple) = length_rule(kind);
    let len = bytes.len();
    let ok = match multiple {
        0 => len == min,
        1 => len >= min,
        m => len >= min && (len - min).is_multiple_of(m),
    };
    if !ok {
        return Err(OfpError::OFPBRC_BAD_LEN);
    }
    Ok((header, kind))
}

/// Decodes an `ofp_match` as OVS's `ofputil_pull_ofp11_match` does: OXM,
/// or the OpenFlow 1.1 standard match (type 0, exactly 88 bytes), which OVS
/// also accepts on OpenFlow 1.3 (rvs re-encodes it as OXM, as OVS does).
pub(crate) fn pull_match(r: &mut Reader<'_>) -> Result<crate::flow_match::Match, OfpError> {
    crate::flow_match::Match::decode(r)
}

fn put_exp_header(out: &mut BytesMut, kind: ExperimenterKind) {
    let (id, subtype) = kind.ids();
    out.put_u32(id);
    out.put_u32(subtype);
}

fn body<T: WireBody>(r: &mut Reader<'_>) -> Result<T, OfpError> {
    T::decode(r)
}

impl Message {
    /// Decodes exactly one message (`bytes.len()` must equal the header's
    /// `length`). Messages other than hello, error and echo must be
    /// OpenFlow 1.3 (`OFPBRC_BAD_VERSION`).
    pub fn decode(bytes: &[u8]) -> Result<(Header, Message), OfpError> {
        let (header, kind) = check_framing(bytes)?;
        let plain_any_version = matches!(
            kind,
            Kind::Plain(
                MsgType::HELLO | MsgType::ERROR | MsgType::ECHO_REQUEST | MsgType::ECHO_REPLY
            )
        );
        if header.version != OFP13_VERSION && !plain_any_version {
            return Err(OfpError::OFPBRC_BAD_VERSION);
        }
        let mut r = Reader::new(bytes);
        r.skip(HEADER_LEN)?;
        let msg = match kind {
            Kind::Plain(t) => {
                use MsgType as T;
                match t {
                    T::HELLO => Message::Hello(body(&mut r)?),
                    T::ERROR => Message::Error(body(&mut r)?),
                    T::ECHO_REQUEST => Message::EchoRequest(body(&mut r)?),
                    T::ECHO_REPLY => Message::EchoReply(body(&mut r)?),
                    T::FEATURES_REQUEST => Message::FeaturesRequest,
                    T::FEATURES_REPLY => Message::FeaturesReply(body(&mut r)?),
                    T::GET_CONFIG_REQUEST => Message::GetConfigRequest,
                    T::GET_CONFIG_REPLY => Message::GetConfigReply(body(&mut r)?),
                    T::SET_CONFIG => {
                        let c: SwitchConfig = body(&mut r)?;
                        // Only the fragment bits are valid on 1.3 (OVS).
                        if c.flags & !config::OFPC_FRAG_MASK != 0 {
                            return Err(OfpError::OFPSCFC_BAD_FLAGS);
                        }
                        Message::SetConfig(c)
                    }
                    T::PACKET_IN => Message::PacketIn(body(&mut r)?),
                    T::FLOW_REMOVED => Message::FlowRemoved(body(&mut r)?),
                    T::PORT_STATUS => Message::PortStatus(body(&mut r)?),
                    T::PACKET_OUT => Message::PacketOut(body(&mut r)?),
                    T::FLOW_MOD => Message::FlowMod(body(&mut r)?),
                    T::GROUP_MOD => Message::GroupMod(body(&mut r)?),
                    T::PORT_MOD => Message::PortMod(body(&mut r)?),
                    T::TABLE_MOD => Message::TableMod(body(&mut r)?),
                    T::BARRIER_REQUEST => Message::BarrierRequest,
                    T::BARRIER_REPLY => Message::BarrierReply,
                    T::QUEUE_GET_CONFIG_REQUEST => Message::QueueGetConfigRequest(body(&mut r)?),
                    T::QUEUE_GET_CONFIG_REPLY => Message::QueueGetConfigReply(body(&mut r)?),
                    T::ROLE_REQUEST => Message::RoleRequest(body(&mut r)?),
                    T::ROLE_REPLY => Message::RoleReply(body(&mut r)?),
                    T::GET_ASYNC_REQUEST => Message::GetAsyncRequest,
                    T::GET_ASYNC_REPLY => Message::GetAsyncReply(body(&mut r)?),
                    T::SET_ASYNC => Message::SetAsync(body(&mut r)?),
                    T::METER_MOD => Message::MeterMod(body(&mut r)?),
                    _ => return Err(OfpError::OFPBRC_BAD_TYPE),
                }
            }
            Kind::Multipart { reply, mp_type } => {
                r.skip(2)?;
                let flags = r.u16()?;
                r.skip(4)?;
                if reply {
                    Message::MultipartReply(MultipartReply {
                        flags,
                        body: MultipartReplyBody::decode(mp_type, &mut r)?,
                    })
                } else {
                    Message::MultipartRequest(MultipartRequest {
                        flags,
                        body: MultipartRequestBody::decode(mp_type, &mut r)?,
                    })
                }
            }
            Kind::Exp(kind) => {
                r.skip(8)?;
                match kind {
                    ExperimenterKind::BundleControl => Message::BundleControl(body(&mut r)?),
                    ExperimenterKind::BundleAdd => {
                        let add: BundleAdd = body(&mut r)?;
                        add.validate(header.version, header.xid)?;
                        Message::BundleAdd(add)
                    }
                    ExperimenterKind::SetPacketInFormat => {
                        let f = PacketInFormat(r.u32()?);
                        if f.name().is_none() {
                            return Err(OfpError::OFPBRC_EPERM);
                        }
                        Message::SetPacketInFormat(f)
                    }
                    ExperimenterKind::NxPacketIn => Message::NxPacketIn(body(&mut r)?),
                    ExperimenterKind::PacketIn2 => Message::PacketIn2(body(&mut r)?),
                    ExperimenterKind::Resume => Message::Resume(body(&mut r)?),
                    ExperimenterKind::CtFlushZone => Message::CtFlushZone(body(&mut r)?),
                    ExperimenterKind::CtFlush => Message::CtFlush(body(&mut r)?),
                }
            }
        };
        Ok((header, msg))
    }

    /// The `ofp_header` type of this message.
    pub fn msg_type(&self) -> MsgType {
        use Message as M;
        use MsgType as T;
        match self {
            M::Hello(_) => T::HELLO,
            M::Error(_) => T::ERROR,
            M::EchoRequest(_) => T::ECHO_REQUEST,
            M::EchoReply(_) => T::ECHO_REPLY,
            M::FeaturesRequest => T::FEATURES_REQUEST,
            M::FeaturesReply(_) => T::FEATURES_REPLY,
            M::GetConfigRequest => T::GET_CONFIG_REQUEST,
            M::GetConfigReply(_) => T::GET_CONFIG_REPLY,
            M::SetConfig(_) => T::SET_CONFIG,
            M::PacketIn(_) => T::PACKET_IN,
            M::FlowRemoved(_) => T::FLOW_REMOVED,
            M::PortStatus(_) => T::PORT_STATUS,
            M::PacketOut(_) => T::PACKET_OUT,
            M::FlowMod(_) => T::FLOW_MOD,
            M::GroupMod(_) => T::GROUP_MOD,
            M::PortMod(_) => T::PORT_MOD,
            M::TableMod(_) => T::TABLE_MOD,
            M::MultipartRequest(_) => T::MULTIPART_REQUEST,
            M::MultipartReply(_) => T::MULTIPART_REPLY,
            M::BarrierRequest => T::BARRIER_REQUEST,
            M::BarrierReply => T::BARRIER_REPLY,
            M::QueueGetConfigRequest(_) => T::QUEUE_GET_CONFIG_REQUEST,
            M::QueueGetConfigReply(_) => T::QUEUE_GET_CONFIG_REPLY,
            M::RoleRequest(_) => T::ROLE_REQUEST,
            M::RoleReply(_) => T::ROLE_REPLY,
            M::GetAsyncRequest => T::GET_ASYNC_REQUEST,
            M::GetAsyncReply(_) => T::GET_ASYNC_REPLY,
            M::SetAsync(_) => T::SET_ASYNC,
            M::MeterMod(_) => T::METER_MOD,
            M::BundleControl(_) | M::BundleAdd(_) | M::SetPacketInFormat(_) => T::EXPERIMENTER,
            M::NxPacketIn(_) | M::PacketIn2(_) | M::Resume(_) => T::EXPERIMENTER,
            M::CtFlushZone(_) | M::CtFlush(_) => T::EXPERIMENTER,
        }
    }

    /// Total encoded length, headers included.
    pub fn encoded_len(&self) -> usize {
        use Message as M;
        HEADER_LEN
            + match self {
                M::Hello(b) => b.encoded_len(),
                M::Error(b) => b.encoded_len(),
                M::EchoRequest(b) | M::EchoReply(b) => b.encoded_len(),
                M::FeaturesRequest | M::GetConfigRequest | M::BarrierRequest | M::BarrierReply => 0,
                M::GetAsyncRequest => 0,
                M::FeaturesReply(b) => b.encoded_len(),
                M::GetConfigReply(b) | M::SetConfig(b) => b.encoded_len(),
                M::PacketIn(b) => b.encoded_len(),
                M::FlowRemoved(b) => b.encoded_len(),
                M::PortStatus(b) => b.encoded_len(),
                M::PacketOut(b) => b.encoded_len(),
                M::FlowMod(b) => b.encoded_len(),
                M::GroupMod(b) => b.encoded_len(),
                M::PortMod(b) => b.encoded_len(),
                M::TableMod(b) => b.encoded_len(),
                M::MultipartRequest(m) => 8 + m.body.encoded_len(),
                M::MultipartReply(m) => 8 + m.body.encoded_len(),
                M::QueueGetConfigRequest(b) => b.encoded_len(),
                M::QueueGetConfigReply(b) => b.encoded_len(),
                M::RoleRequest(b) | M::RoleReply(b) => b.encoded_len(),
                M::GetAsyncReply(b) | M::SetAsync(b) => b.encoded_len(),
                M::MeterMod(b) => b.encoded_len(),
                M::BundleControl(b) => 8 + b.encoded_len(),
                M::BundleAdd(b) => 8 + b.encoded_len(),
                M::SetPacketInFormat(_) => 12,
                M::NxPacketIn(b) => 8 + b.encoded_len(),
                M::PacketIn2(b) | M::Resume(b) => 8 + b.encoded_len(),
                M::CtFlushZone(b) => 8 + b.encoded_len(),
                M::CtFlush(b) => 8 + b.encoded_len(),
            }
    }

    /// Encodes as an OpenFlow 1.3 message with transaction id `xid`.
    ///
    /// The caller keeps messages within 65535 bytes (split multipart replies
    /// with [`MultipartReply::split`]); a longer message is encoded with its
    /// length field saturated at 65535, which a peer rejects, rather than
    /// silently truncated. [`Message::try_encode`] refuses it instead.
    pub fn encode(&self, xid: u32) -> BytesMut {
        let mut out = BytesMut::with_capacity(self.encoded_len());
        self.encode_into(xid, &mut out);
        out
    }

    /// Like [`Message::encode`], but a message longer than 65535 bytes is
    /// `OFPBRC_BAD_LEN` instead of a broken encoding.
    pub fn try_encode(&self, xid: u32) -> Result<BytesMut, OfpError> {
        if self.encoded_len() > usize::from(u16::MAX) {
            return Err(OfpError::OFPBRC_BAD_LEN);
        }
        Ok(self.encode(xid))
    }

    /// Appends the encoded message to `out` (e.g. a connection's send
    /// buffer), without an intermediate allocation.
    pub fn encode_into(&self, xid: u32, out: &mut BytesMut) {
        use Message as M;
        let len = self.encoded_len();
        out.reserve(len);
        let start = out.len();
        Header {
            version: OFP13_VERSION,
            msg_type: self.msg_type(),
            length: len.min(0xffff) as u16,
            xid,
        }
        .encode(out);
        match self {
            M::Hello(b) => b.encode(out),
            M::Error(b) => b.encode(out),
            M::EchoRequest(b) | M::EchoReply(b) => b.encode(out),
            M::FeaturesRequest | M::GetConfigRequest | M::BarrierRequest | M::BarrierReply => {}
            M::GetAsyncRequest => {}
            M::FeaturesReply(b) => b.encode(out),
            M::GetConfigReply(b) | M::SetConfig(b) => b.encode(out),
            M::PacketIn(b) => b.encode(out),
            M::FlowRemoved(b) => b.encode(out),
            M::PortStatus(b) => b.encode(out),
            M::PacketOut(b) => b.encode(out),
            M::FlowMod(b) => b.encode(out),
            M::GroupMod(b) => b.encode(out),
            M::PortMod(b) => b.encode(out),
            M::TableMod(b) => b.encode(out),
            M::MultipartRequest(m) => {
                multipart::put_mp_header(out, m.body.mp_type(), m.flags);
                m.body.encode(out);
            }
            M::MultipartReply(m) => {
                multipart::put_mp_header(out, m.body.mp_type(), m.flags);
                m.body.encode(out);
            }
            M::QueueGetConfigRequest(b) => b.encode(out),
            M::QueueGetConfigReply(b) => b.encode(out),
            M::RoleRequest(b) | M::RoleReply(b) => b.encode(out),
            M::GetAsyncReply(b) | M::SetAsync(b) => b.encode(out),
            M::MeterMod(b) => b.encode(out),
            M::BundleControl(b) => {
                put_exp_header(out, ExperimenterKind::BundleControl);
                b.encode(out);
            }
            M::BundleAdd(b) => {
                put_exp_header(out, ExperimenterKind::BundleAdd);
                b.encode(out);
            }
            M::SetPacketInFormat(f) => {
                put_exp_header(out, ExperimenterKind::SetPacketInFormat);
                out.put_u32(f.0);
            }
            M::NxPacketIn(b) => {
                put_exp_header(out, ExperimenterKind::NxPacketIn);
                b.encode(out);
            }
            M::PacketIn2(b) => {
                put_exp_header(out, ExperimenterKind::PacketIn2);
                b.encode(out);
            }
            M::Resume(b) => {
                put_exp_header(out, ExperimenterKind::Resume);
                b.encode(out);
            }
            M::CtFlushZone(b) => {
                put_exp_header(out, ExperimenterKind::CtFlushZone);
                b.encode(out);
            }
            M::CtFlush(b) => {
                put_exp_header(out, ExperimenterKind::CtFlush);
                b.encode(out);
            }
        }
        debug_assert_eq!(out.len() - start, len);
    }

    /// The `OFPT_ERROR` OVS would send in reply to `request` (raw bytes as
    /// received) failing with `error`: same version and xid as the request,
    /// the whole request as data.
    pub fn error_reply(error: OfpError, request: &[u8]) -> BytesMut {
        let xid = request
            .get(4..8)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
        let mut out = Message::Error(ErrorMsg::reply_to(error, request)).encode(xid);
        if let Some(&v) = request.first() {
            out[0] = v;
        }
        out
    }
}
