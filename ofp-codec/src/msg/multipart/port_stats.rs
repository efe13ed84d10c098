//! `OFPMP_PORT_STATS`: request (`ofp_port_stats_request`) and reply entries
//! (`ofp_port_stats`, 112 bytes).

use bytes::{BufMut, BytesMut};

use crate::error::OfpError;
use crate::msg::WireBody;
use crate::msg::port::check_port;
use crate::reader::Reader;

/// Size of `ofp_port_stats`.
pub const PORT_STATS_LEN: usize = 112;

crate::view! {
    /// `ofp_port_stats` (112 bytes).
    pub struct PortStatsView: fixed(PORT_STATS_LEN, OfpError::OFPBRC_BAD_LEN) {
        PORT_NO: 0..4 => port_no, set_port_no: u32;
        RX_PACKETS: 8..16 => rx_packets, set_rx_packets: u64;
        TX_PACKETS: 16..24 => tx_packets, set_tx_packets: u64;
        RX_BYTES: 24..32 => rx_bytes, set_rx_bytes: u64;
        TX_BYTES: 32..40 => tx_bytes, set_tx_bytes: u64;
        RX_DROPPED: 40..48 => rx_dropped, set_rx_dropped: u64;
        TX_DROPPED: 48..56 => tx_dropped, set_tx_dropped: u64;
        RX_ERRORS: 56..64 => rx_errors, set_rx_errors: u64;
        TX_ERRORS: 64..72 => tx_errors, set_tx_errors: u64;
        RX_FRAME_ERR: 72..80 => rx_frame_err, set_rx_frame_err: u64;
        RX_OVER_ERR: 80..88 => rx_over_err, set_rx_over_err: u64;
        RX_CRC_ERR: 88..96 => rx_crc_err, set_rx_crc_err: u64;
        COLLISIONS: 96..104 => collisions, set_collisions: u64;
        DURATION_SEC: 104..108 => duration_sec, set_duration_sec: u32;
        DURATION_NSEC: 108..112 => duration_nsec, set_duration_nsec: u32;
    }
}

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
        let v = PortStatsView::new_checked(r.take(PORT_STATS_LEN)?)?;
        Ok(PortStats {
            port_no: check_port(v.port_no())?,
            rx_packets: v.rx_packets(),
            tx_packets: v.tx_packets(),
            rx_bytes: v.rx_bytes(),
            tx_bytes: v.tx_bytes(),
            rx_dropped: v.rx_dropped(),
            tx_dropped: v.tx_dropped(),
            rx_errors: v.rx_errors(),
            tx_errors: v.tx_errors(),
            rx_frame_err: v.rx_frame_err(),
            rx_over_err: v.rx_over_err(),
            rx_crc_err: v.rx_crc_err(),
            collisions: v.collisions(),
            duration_sec: v.duration_sec(),
            duration_nsec: v.duration_nsec(),
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
        PORT_STATS_LEN
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

    #[test]
    fn port_stats_view_agrees_with_decode_and_setters_reach_it() {
        let p = PortStats {
            port_no: 2,
            rx_packets: 1,
            tx_packets: 2,
            rx_bytes: 3,
            tx_bytes: 4,
            rx_dropped: 5,
            tx_dropped: 6,
            rx_errors: 7,
            tx_errors: 8,
            rx_frame_err: 9,
            rx_over_err: 10,
            rx_crc_err: 11,
            collisions: u64::MAX,
            duration_sec: 12,
            duration_nsec: 13,
        };
        let mut out = BytesMut::new();
        p.encode(&mut out);
        let v = PortStatsView::new_checked(&out[..]).unwrap();
        assert_eq!(v.port_no(), p.port_no);
        assert_eq!(
            [v.rx_packets(), v.tx_packets(), v.rx_bytes(), v.tx_bytes()],
            [1, 2, 3, 4]
        );
        assert_eq!(
            [v.rx_dropped(), v.tx_dropped(), v.rx_errors(), v.tx_errors()],
            [5, 6, 7, 8]
        );
        assert_eq!(
            [
                v.rx_frame_err(),
                v.rx_over_err(),
                v.rx_crc_err(),
                v.collisions()
            ],
            [9, 10, 11, u64::MAX]
        );
        assert_eq!((v.duration_sec(), v.duration_nsec()), (12, 13));
        crate::view::testing::assert_len_checks::<PortStatsView<_>>(&out);
        let mut v = PortStatsView::new_checked(out.to_vec()).unwrap();
        v.set_port_no(0xffff_fffe);
        v.set_rx_crc_err(99);
        v.set_duration_nsec(0);
        let got = PortStats::decode(&mut Reader::new(&v.into_inner())).unwrap();
        assert_eq!(
            got,
            PortStats {
                port_no: 0xffff_fffe,
                rx_crc_err: 99,
                duration_nsec: 0,
                ..p
            }
        );
    }
}
