//! `OFPMP_PORT_STATS`: request (`ofp_port_stats_request`) and reply entries
//! (`ofp_port_stats`, 112 bytes).

use bytes::{BufMut, BytesMut};

use crate::error::OfpError;
use crate::msg::WireBody;
use crate::msg::port::check_port;
use crate::reader::Reader;

/// `ofp_port_stats`. Counters OVS does not have are all-ones.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PortStats {
    pub port_no: u32,
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_frame_err: u64,
    pub rx_over_err: u64,
    pub rx_crc_err: u64,
    pub collisions: u64,
    pub duration_sec: u32,
    pub duration_nsec: u32,
}

impl PortStats {
    fn counters(&self) -> [u64; 12] {
        [
            self.rx_packets,
            self.tx_packets,
            self.rx_bytes,
            self.tx_bytes,
            self.rx_dropped,
            self.tx_dropped,
            self.rx_errors,
            self.tx_errors,
            self.rx_frame_err,
            self.rx_over_err,
            self.rx_crc_err,
            self.collisions,
        ]
    }
}

impl WireBody for PortStats {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let port_no = check_port(r.u32()?)?;
        r.skip(4)?;
        let mut c = [0u64; 12];
        for v in &mut c {
            *v = r.u64()?;
        }
        Ok(PortStats {
            port_no,
            rx_packets: c[0],
            tx_packets: c[1],
            rx_bytes: c[2],
            tx_bytes: c[3],
            rx_dropped: c[4],
            tx_dropped: c[5],
            rx_errors: c[6],
            tx_errors: c[7],
            rx_frame_err: c[8],
            rx_over_err: c[9],
            rx_crc_err: c[10],
            collisions: c[11],
            duration_sec: r.u32()?,
            duration_nsec: r.u32()?,
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.port_no);
        out.put_u32(0);
        for v in self.counters() {
            out.put_u64(v);
        }
        out.put_u32(self.duration_sec);
        out.put_u32(self.duration_nsec);
    }
    fn encoded_len(&self) -> usize {
        112
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_stats_round_trip() {
        let p = PortStats {
            port_no: 2,
            rx_packets: 5,
            collisions: u64::MAX,
            duration_sec: 9,
            ..Default::default()
        };
        let mut out = BytesMut::new();
        p.encode(&mut out);
        assert_eq!(out.len(), 112);
        assert_eq!(PortStats::decode(&mut Reader::new(&out)).unwrap(), p);
        assert!(PortStats::decode(&mut Reader::new(&out[..100])).is_err());
    }
}
