//! `OFPMP_GROUP` reply entries (`ofp_group_stats` + bucket counters).

use bytes::{BufMut, BytesMut};

use crate::error::OfpError;
use crate::msg::WireBody;
use crate::reader::Reader;

/// `OFPG_ALL` / `OFPG_ANY`.
pub const OFPG_ALL: u32 = 0xffff_fffc;
pub const OFPG_ANY: u32 = 0xffff_ffff;

const GROUP_STATS_LEN: usize = 40;

/// `ofp_bucket_counter`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BucketCounter {
    pub packet_count: u64,
    pub byte_count: u64,
}

/// `ofp_group_stats`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct GroupStats {
    pub group_id: u32,
    pub ref_count: u32,
    pub packet_count: u64,
    pub byte_count: u64,
    pub duration_sec: u32,
    pub duration_nsec: u32,
    pub bucket_stats: Vec<BucketCounter>,
}

impl WireBody for GroupStats {
    /// As OVS: `length` below 40 is `OFPBRC_BAD_LEN`; the bucket count is
    /// `(length - 40) / 16` and those counters must be present.
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let length = usize::from(r.u16()?);
        r.skip(2)?;
        let group_id = r.u32()?;
        let ref_count = r.u32()?;
        r.skip(4)?;
        let packet_count = r.u64()?;
        let byte_count = r.u64()?;
        let duration_sec = r.u32()?;
        let duration_nsec = r.u32()?;
        if length < GROUP_STATS_LEN {
            return Err(OfpError::OFPBRC_BAD_LEN);
        }
        let n = (length - GROUP_STATS_LEN) / 16;
        let mut br = r.sub(n * 16)?;
        let mut bucket_stats = Vec::with_capacity(n);
        for _ in 0..n {
            bucket_stats.push(BucketCounter {
                packet_count: br.u64()?,
                byte_count: br.u64()?,
            });
        }
        Ok(GroupStats {
            group_id,
            ref_count,
            packet_count,
            byte_count,
            duration_sec,
            duration_nsec,
            bucket_stats,
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.encoded_len() as u16);
        out.put_u16(0);
        out.put_u32(self.group_id);
        out.put_u32(self.ref_count);
        out.put_u32(0);
        out.put_u64(self.packet_count);
        out.put_u64(self.byte_count);
        out.put_u32(self.duration_sec);
        out.put_u32(self.duration_nsec);
        for b in &self.bucket_stats {
            out.put_u64(b.packet_count);
            out.put_u64(b.byte_count);
        }
    }
    fn encoded_len(&self) -> usize {
        GROUP_STATS_LEN + 16 * self.bucket_stats.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_stats_round_trip_and_bad_length() {
        let g = GroupStats {
            group_id: 1,
            ref_count: 2,
            packet_count: 3,
            byte_count: 4,
            duration_sec: 5,
            duration_nsec: 6,
            bucket_stats: vec![BucketCounter {
                packet_count: 7,
                byte_count: 8,
            }],
        };
        let mut out = BytesMut::new();
        g.encode(&mut out);
        assert_eq!(out.len(), 56);
        assert_eq!(GroupStats::decode(&mut Reader::new(&out)).unwrap(), g);
        out[1] = 39;
        assert_eq!(
            GroupStats::decode(&mut Reader::new(&out)),
            Err(OfpError::OFPBRC_BAD_LEN)
        );
        out[1] = 72;
        assert_eq!(
            GroupStats::decode(&mut Reader::new(&out)),
            Err(OfpError::OFPBRC_BAD_LEN)
        );
    }
}
