//! `OFPT_MULTIPART_REQUEST` / `OFPT_MULTIPART_REPLY`, one file per type.
//!
//! The body after the 16-byte multipart header is decoded by type; a reply
//! holds a list of entries, each message one slice of the whole answer
//! (`OFPMPF_REPLY_MORE` in `flags` says more follow).

pub mod desc;
pub mod group;
pub mod group_features;
pub mod meter;
pub mod meter_config;
pub mod meter_features;
pub mod port_stats;
pub mod queue;
pub mod split;
pub mod table;
pub mod table_features;

use bytes::{BufMut, BytesMut};

use super::WireBody;
use super::port::{PORT_LEN, Port, check_port};
use crate::error::OfpError;
use crate::open_enum;
use crate::reader::Reader;

pub use desc::Desc;
pub use group::{BucketCounter, GroupStats};
pub use group_features::GroupFeatures;
pub use meter::{MeterBandStats, MeterStats};
pub use meter_config::MeterConfig;
pub use meter_features::MeterFeatures;
pub use port_stats::PortStats;
pub use queue::QueueStats;
pub use table::TableStats;
pub use table_features::{
    TableCapabilities, TableFeatureProp, TableFeaturePropType, TableFeatures,
};

/// `OFPMPF_REQ_MORE` / `OFPMPF_REPLY_MORE`.
pub const OFPMPF_MORE: u16 = 1;

open_enum! {
    /// `ofp_multipart_type`, with the names OVS prints (`OFPST_*`).
    pub struct MultipartType(u16) {
        DESC = 0 => "OFPST_DESC",
        FLOW = 1 => "OFPST_FLOW",
        AGGREGATE = 2 => "OFPST_AGGREGATE",
        TABLE = 3 => "OFPST_TABLE",
        PORT_STATS = 4 => "OFPST_PORT",
        QUEUE = 5 => "OFPST_QUEUE",
        GROUP = 6 => "OFPST_GROUP",
        GROUP_DESC = 7 => "OFPST_GROUP_DESC",
        GROUP_FEATURES = 8 => "OFPST_GROUP_FEATURES",
        METER = 9 => "OFPST_METER",
        METER_CONFIG = 10 => "OFPST_METER_CONFIG",
        METER_FEATURES = 11 => "OFPST_METER_FEATURES",
        TABLE_FEATURES = 12 => "OFPST_TABLE_FEATURES",
        PORT_DESC = 13 => "OFPST_PORT_DESC",
        EXPERIMENTER = 0xffff => "OFPST_EXPERIMENTER",
    }
}

crate::view! {
    /// The multipart request/reply header (`ofp_multipart_request` /
    /// `ofp_multipart_reply` up to the body, which is the tail).
    pub struct MultipartHeaderView: multipart(16) {}
}

/// Decodes fixed- or self-sized entries until the reader is empty.
fn decode_all<T: WireBody>(r: &mut Reader<'_>) -> Result<Vec<T>, OfpError> {
    let mut v = Vec::new();
    while !r.is_empty() {
        v.push(T::decode(r)?);
    }
    Ok(v)
}

fn encode_all<T: WireBody>(v: &[T], out: &mut BytesMut) {
    for e in v {
        e.encode(out);
    }
}

fn len_all<T: WireBody>(v: &[T]) -> usize {
    v.iter().map(WireBody::encoded_len).sum()
}

/// The body of a multipart request, by type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MultipartRequestBody {
    Desc,
    Flow(super::flow_stats::FlowStatsRequest),
    Aggregate(super::flow_stats::FlowStatsRequest),
    Table,
    /// Port number, `OFPP_ANY` for all.
    PortStats(u32),
    Queue {
        port_no: u32,
        queue_id: u32,
    },
    /// Group id, `OFPG_ALL` for all.
    Group(u32),
    GroupDesc,
    GroupFeatures,
    /// Meter id, `OFPM_ALL` for all.
    Meter(u32),
    MeterConfig(u32),
    MeterFeatures,
    /// Empty to ask for the current features.
    TableFeatures(Vec<TableFeatures>),
    PortDesc,
}

/// The body of a multipart reply, by type.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MultipartReplyBody {
    Desc(Desc),
    Flow(Vec<super::flow_stats::FlowStats>),
    Aggregate(super::flow_stats::AggregateStats),
    Table(Vec<TableStats>),
    PortStats(Vec<PortStats>),
    Queue(Vec<QueueStats>),
    Group(Vec<GroupStats>),
    GroupDesc(Vec<super::group_mod::GroupDesc>),
    GroupFeatures(GroupFeatures),
    Meter(Vec<MeterStats>),
    MeterConfig(Vec<MeterConfig>),
    MeterFeatures(MeterFeatures),
    TableFeatures(Vec<TableFeatures>),
    PortDesc(Vec<Port>),
}

/// A multipart request: flags and body.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MultipartRequest {
    pub flags: u16,
    pub body: MultipartRequestBody,
}

/// A multipart reply: flags and body.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MultipartReply {
    pub flags: u16,
    pub body: MultipartReplyBody,
}

fn put_id_pad(out: &mut BytesMut, id: u32) {
    out.put_u32(id);
    out.put_u32(0);
}

fn id_pad(r: &mut Reader<'_>) -> Result<u32, OfpError> {
    let v = r.u32()?;
    r.skip(4)?;
    Ok(v)
}

impl MultipartRequestBody {
    pub fn mp_type(&self) -> MultipartType {
        use MultipartRequestBody as B;
        match self {
            B::Desc => MultipartType::DESC,
            B::Flow(_) => MultipartType::FLOW,
            B::Aggregate(_) => MultipartType::AGGREGATE,
            B::Table => MultipartType::TABLE,
            B::PortStats(_) => MultipartType::PORT_STATS,
            B::Queue { .. } => MultipartType::QUEUE,
            B::Group(_) => MultipartType::GROUP,
            B::GroupDesc => MultipartType::GROUP_DESC,
            B::GroupFeatures => MultipartType::GROUP_FEATURES,
            B::Meter(_) => MultipartType::METER,
            B::MeterConfig(_) => MultipartType::METER_CONFIG,
            B::MeterFeatures => MultipartType::METER_FEATURES,
            B::TableFeatures(_) => MultipartType::TABLE_FEATURES,
            B::PortDesc => MultipartType::PORT_DESC,
        }
    }

    /// Decodes the body of a request of type `t` (length already checked).
    pub fn decode(t: MultipartType, r: &mut Reader<'_>) -> Result<Self, OfpError> {
        use MultipartRequestBody as B;
        Ok(match t {
            MultipartType::DESC => B::Desc,
            MultipartType::FLOW => B::Flow(super::flow_stats::FlowStatsRequest::decode(r)?),
            MultipartType::AGGREGATE => {
                B::Aggregate(super::flow_stats::FlowStatsRequest::decode(r)?)
            }
            MultipartType::TABLE => B::Table,
            MultipartType::PORT_STATS => B::PortStats(check_port(id_pad(r)?)?),
            MultipartType::QUEUE => B::Queue {
                port_no: check_port(r.u32()?)?,
                queue_id: r.u32()?,
            },
            MultipartType::GROUP => B::Group(id_pad(r)?),
            MultipartType::GROUP_DESC => B::GroupDesc,
            MultipartType::GROUP_FEATURES => B::GroupFeatures,
            MultipartType::METER => B::Meter(id_pad(r)?),
            MultipartType::METER_CONFIG => B::MeterConfig(id_pad(r)?),
            MultipartType::METER_FEATURES => B::MeterFeatures,
            MultipartType::TABLE_FEATURES => B::TableFeatures(decode_all(r)?),
            MultipartType::PORT_DESC => B::PortDesc,
            _ => return Err(OfpError::OFPBRC_BAD_STAT),
        })
    }

    pub fn encode(&self, out: &mut BytesMut) {
        use MultipartRequestBody as B;
        match self {
            B::Desc
            | B::Table
            | B::GroupDesc
            | B::GroupFeatures
            | B::MeterFeatures
            | B::PortDesc => {}
            B::Flow(f) | B::Aggregate(f) => f.encode(out),
            B::PortStats(p) | B::Group(p) | B::Meter(p) | B::MeterConfig(p) => put_id_pad(out, *p),
            B::Queue { port_no, queue_id } => {
                out.put_u32(*port_no);
                out.put_u32(*queue_id);
            }
            B::TableFeatures(v) => encode_all(v, out),
        }
    }

    pub fn encoded_len(&self) -> usize {
        use MultipartRequestBody as B;
        match self {
            B::Desc
            | B::Table
            | B::GroupDesc
            | B::GroupFeatures
            | B::MeterFeatures
            | B::PortDesc => 0,
            B::Flow(f) | B::Aggregate(f) => f.encoded_len(),
            B::PortStats(_) | B::Group(_) | B::Meter(_) | B::MeterConfig(_) | B::Queue { .. } => 8,
            B::TableFeatures(v) => len_all(v),
        }
    }
}

impl MultipartReplyBody {
    pub fn mp_type(&self) -> MultipartType {
        use MultipartReplyBody as B;
        match self {
            B::Desc(_) => MultipartType::DESC,
            B::Flow(_) => MultipartType::FLOW,
            B::Aggregate(_) => MultipartType::AGGREGATE,
            B::Table(_) => MultipartType::TABLE,
            B::PortStats(_) => MultipartType::PORT_STATS,
            B::Queue(_) => MultipartType::QUEUE,
            B::Group(_) => MultipartType::GROUP,
            B::GroupDesc(_) => MultipartType::GROUP_DESC,
            B::GroupFeatures(_) => MultipartType::GROUP_FEATURES,
            B::Meter(_) => MultipartType::METER,
            B::MeterConfig(_) => MultipartType::METER_CONFIG,
            B::MeterFeatures(_) => MultipartType::METER_FEATURES,
            B::TableFeatures(_) => MultipartType::TABLE_FEATURES,
            B::PortDesc(_) => MultipartType::PORT_DESC,
        }
    }

    /// Decodes the body of a reply of type `t` (length already checked).
    pub fn decode(t: MultipartType, r: &mut Reader<'_>) -> Result<Self, OfpError> {
        use MultipartReplyBody as B;
        Ok(match t {
            MultipartType::DESC => B::Desc(Desc::decode(r)?),
            MultipartType::FLOW => B::Flow(decode_all(r)?),
            MultipartType::AGGREGATE => B::Aggregate(super::flow_stats::AggregateStats::decode(r)?),
            MultipartType::TABLE => B::Table(decode_all(r)?),
            MultipartType::PORT_STATS => B::PortStats(decode_all(r)?),
            MultipartType::QUEUE => B::Queue(decode_all(r)?),
            MultipartType::GROUP => B::Group(decode_all(r)?),
            MultipartType::GROUP_DESC => B::GroupDesc(decode_all(r)?),
            MultipartType::GROUP_FEATURES => B::GroupFeatures(GroupFeatures::decode(r)?),
            MultipartType::METER => B::Meter(decode_all(r)?),
            MultipartType::METER_CONFIG => B::MeterConfig(decode_all(r)?),
            MultipartType::METER_FEATURES => B::MeterFeatures(MeterFeatures::decode(r)?),
            MultipartType::TABLE_FEATURES => B::TableFeatures(decode_all(r)?),
            MultipartType::PORT_DESC => B::PortDesc(decode_all(r)?),
            _ => return Err(OfpError::OFPBRC_BAD_STAT),
        })
    }

    pub fn encode(&self, out: &mut BytesMut) {
        use MultipartReplyBody as B;
        match self {
            B::Desc(d) => d.encode(out),
            B::Flow(v) => encode_all(v, out),
            B::Aggregate(a) => a.encode(out),
            B::Table(v) => encode_all(v, out),
            B::PortStats(v) => encode_all(v, out),
            B::Queue(v) => encode_all(v, out),
            B::Group(v) => encode_all(v, out),
            B::GroupDesc(v) => encode_all(v, out),
            B::GroupFeatures(g) => g.encode(out),
            B::Meter(v) => encode_all(v, out),
            B::MeterConfig(v) => encode_all(v, out),
            B::MeterFeatures(m) => m.encode(out),
            B::TableFeatures(v) => encode_all(v, out),
            B::PortDesc(v) => encode_all(v, out),
        }
    }

    pub fn encoded_len(&self) -> usize {
        use MultipartReplyBody as B;
        match self {
            B::Desc(d) => d.encoded_len(),
            B::Flow(v) => len_all(v),
            B::Aggregate(a) => a.encoded_len(),
            B::Table(v) => len_all(v),
            B::PortStats(v) => len_all(v),
            B::Queue(v) => len_all(v),
            B::Group(v) => len_all(v),
            B::GroupDesc(v) => len_all(v),
            B::GroupFeatures(g) => g.encoded_len(),
            B::Meter(v) => len_all(v),
            B::MeterConfig(v) => len_all(v),
            B::MeterFeatures(m) => m.encoded_len(),
            B::TableFeatures(v) => len_all(v),
            B::PortDesc(v) => v.len() * PORT_LEN,
        }
    }
}

/// Writes the 8 bytes after `ofp_header`: type, flags, pad.
pub(crate) fn put_mp_header(out: &mut BytesMut, t: MultipartType, flags: u16) {
    out.put_u16(t.0);
    out.put_u16(flags);
    out.put_u32(0);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_header_view_agrees_with_decode_and_setters_reach_it() {
        let req = MultipartRequest {
            flags: OFPMPF_MORE,
            body: MultipartRequestBody::PortDesc,
        };
        let msg = crate::msg::Message::MultipartRequest(req)
            .encode(7)
            .to_vec();
        let v = MultipartHeaderView::new_checked(&msg[..]).unwrap();
        assert_eq!(
            (v.msg_type(), v.mp_type(), v.flags(), v.xid()),
            (
                crate::msg::MsgType::MULTIPART_REQUEST,
                MultipartType::PORT_DESC,
                OFPMPF_MORE,
                7
            )
        );
        crate::view::testing::assert_len_checks::<MultipartHeaderView<_>>(&msg);
        let mut v = MultipartHeaderView::new_checked(msg).unwrap();
        v.set_mp_type(MultipartType::DESC);
        v.set_flags(0);
        let (_, m) = crate::msg::Message::decode(&v.into_inner()).unwrap();
        assert_eq!(
            m,
            crate::msg::Message::MultipartRequest(MultipartRequest {
                flags: 0,
                body: MultipartRequestBody::Desc
            })
        );
    }
}
