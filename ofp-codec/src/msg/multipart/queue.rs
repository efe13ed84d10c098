//! `OFPMP_QUEUE` reply entries (`ofp_queue_stats`, 40 bytes).

use bytes::{BufMut, BytesMut};

use crate::error::OfpError;
use crate::msg::WireBody;
use crate::msg::port::check_port;
use crate::reader::Reader;

/// `OFPQ_ALL`: every queue.
pub const OFPQ_ALL: u32 = 0xffff_ffff;

/// `ofp_queue_stats`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct QueueStats {
    pub port_no: u32,
    pub queue_id: u32,
    pub tx_bytes: u64,
    pub tx_packets: u64,
    pub tx_errors: u64,
    pub duration_sec: u32,
    pub duration_nsec: u32,
}

impl WireBody for QueueStats {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        Ok(QueueStats {
            port_no: check_port(r.u32()?)?,
            queue_id: r.u32()?,
            tx_bytes: r.u64()?,
            tx_packets: r.u64()?,
            tx_errors: r.u64()?,
            duration_sec: r.u32()?,
            duration_nsec: r.u32()?,
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.port_no);
        out.put_u32(self.queue_id);
        out.put_u64(self.tx_bytes);
        out.put_u64(self.tx_packets);
        out.put_u64(self.tx_errors);
        out.put_u32(self.duration_sec);
        out.put_u32(self.duration_nsec);
    }
    fn encoded_len(&self) -> usize {
        40
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_stats_round_trip() {
        let q = QueueStats {
            port_no: 1,
            queue_id: 2,
            tx_bytes: 3,
            tx_packets: 4,
            tx_errors: 5,
            duration_sec: 6,
            duration_nsec: 7,
        };
        let mut out = BytesMut::new();
        q.encode(&mut out);
        assert_eq!(QueueStats::decode(&mut Reader::new(&out)).unwrap(), q);
        assert!(QueueStats::decode(&mut Reader::new(&out[..39])).is_err());
    }
}
