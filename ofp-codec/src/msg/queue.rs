//! `OFPT_QUEUE_GET_CONFIG_REQUEST` / `_REPLY` (OpenFlow 1.3 queue config).

use bytes::{BufMut, BytesMut};

use super::WireBody;
use super::port::check_port;
use crate::error::OfpError;
use crate::reader::Reader;

/// `OFPQT_MIN_RATE` / `OFPQT_MAX_RATE`: rate in 1/10 of a percent.
pub const OFPQT_MIN_RATE: u16 = 1;
pub const OFPQT_MAX_RATE: u16 = 2;

/// `ofp_queue_get_config_request`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QueueGetConfigRequest {
    pub port: u32,
}

impl WireBody for QueueGetConfigRequest {
    /// As OVS: a physical port or `OFPP_ANY`; another reserved port is
    /// `OFPQOFC_BAD_PORT`.
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let port = check_port(r.u32()?)?;
        r.skip(4)?;
        if port != 0xffff_ffff && port >= 0xff00 {
            return Err(OfpError::OFPQOFC_BAD_PORT);
        }
        Ok(QueueGetConfigRequest { port })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.port);
        out.put_u32(0);
    }
    fn encoded_len(&self) -> usize {
        8
    }
}

/// A queue property: `property` type and the bytes after its 8-byte header.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct QueueProp {
    pub property: u16,
    pub body: Vec<u8>,
}

impl QueueProp {
    /// A min/max rate property (`rate` in 1/10 %).
    pub fn rate(property: u16, rate: u16) -> Self {
        let mut body = vec![0u8; 8];
        body[..2].copy_from_slice(&rate.to_be_bytes());
        QueueProp { property, body }
    }

    /// The rate of a min/max rate property.
    pub fn rate_value(&self) -> Option<u16> {
        match (self.property, self.body.get(..2)) {
            (OFPQT_MIN_RATE | OFPQT_MAX_RATE, Some(b)) => Some(u16::from_be_bytes([b[0], b[1]])),
            _ => None,
        }
    }
}

/// `ofp_packet_queue`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PacketQueue {
    pub queue_id: u32,
    pub port: u32,
    pub properties: Vec<QueueProp>,
}

/// `ofp_queue_get_config_reply`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct QueueGetConfigReply {
    pub port: u32,
    pub queues: Vec<PacketQueue>,
}

impl WireBody for QueueGetConfigReply {
    /// Checks lengths as OVS does: queue and property lengths are multiples
    /// of 8 that fit; rate properties are exactly 16 bytes. OVS checks the
    /// port only while reading a queue, so a reply without queues may carry
    /// any port number.
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let port = r.u32()?;
        r.skip(4)?;
        if !r.is_empty() {
            check_port(port)?;
        }
        let mut queues = Vec::new();
        while !r.is_empty() {
            let queue_id = r.u32()?;
            let qport = r.u32()?;
            let len = usize::from(r.u16()?);
            r.skip(6)?;
            if len < 16 || len % 8 != 0 || len - 16 > r.remaining() {
                return Err(OfpError::OFPBRC_BAD_LEN);
            }
            let mut pr = r.sub(len - 16)?;
            let mut properties = Vec::new();
            while !pr.is_empty() {
                let property = pr.u16()?;
                let plen = usize::from(pr.u16()?);
                if plen < 8 || plen % 8 != 0 || plen - 4 > pr.remaining() {
                    return Err(OfpError::OFPBRC_BAD_LEN);
                }
                if matches!(property, OFPQT_MIN_RATE | OFPQT_MAX_RATE) && plen != 16 {
                    return Err(OfpError::OFPBRC_BAD_LEN);
                }
                pr.skip(4)?;
                properties.push(QueueProp {
                    property,
                    body: pr.take(plen - 8)?.to_vec(),
                });
            }
            queues.push(PacketQueue {
                queue_id,
                port: qport,
                properties,
            });
        }
        Ok(QueueGetConfigReply { port, queues })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.port);
        out.put_u32(0);
        for q in &self.queues {
            out.put_u32(q.queue_id);
            out.put_u32(q.port);
            let len = 16 + q.properties.iter().map(|p| 8 + p.body.len()).sum::<usize>();
            out.put_u16(len as u16);
            out.put_bytes(0, 6);
            for p in &q.properties {
                out.put_u16(p.property);
                out.put_u16((8 + p.body.len()) as u16);
                out.put_u32(0);
                out.put_slice(&p.body);
            }
        }
    }
    fn encoded_len(&self) -> usize {
        8 + self
            .queues
            .iter()
            .map(|q| 16 + q.properties.iter().map(|p| 8 + p.body.len()).sum::<usize>())
            .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_config_round_trip_and_bad_lengths() {
        let reply = QueueGetConfigReply {
            port: 1,
            queues: vec![PacketQueue {
                queue_id: 7,
                port: 1,
                properties: vec![QueueProp::rate(OFPQT_MIN_RATE, 500)],
            }],
        };
        let mut out = BytesMut::new();
        reply.encode(&mut out);
        assert_eq!(out.len(), reply.encoded_len());
        let back = QueueGetConfigReply::decode(&mut Reader::new(&out)).unwrap();
        assert_eq!(back, reply);
        assert_eq!(back.queues[0].properties[0].rate_value(), Some(500));
        out[17] = 20; // queue len not a multiple of 8
        assert_eq!(
            QueueGetConfigReply::decode(&mut Reader::new(&out)),
            Err(OfpError::OFPBRC_BAD_LEN)
        );
        let req = QueueGetConfigRequest::decode(&mut Reader::new(&[0xff; 8])).unwrap();
        assert_eq!(req.port, 0xffff_ffff);
    }
}
