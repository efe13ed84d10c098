//! `OFPT_GET_ASYNC_REPLY` / `OFPT_SET_ASYNC` (`ofp_async_config`).
//!
//! Each mask pair is `[primary/equal, secondary]`; bit N enables reason N.

use bytes::{BufMut, BytesMut};

use super::WireBody;
use crate::error::OfpError;
use crate::reader::Reader;

/// `ofp_async_config`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct AsyncConfig {
    pub packet_in_mask: [u32; 2],
    pub port_status_mask: [u32; 2],
    pub flow_removed_mask: [u32; 2],
}

impl WireBody for AsyncConfig {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let mut m = [0u32; 6];
        for v in &mut m {
            *v = r.u32()?;
        }
        Ok(AsyncConfig {
            packet_in_mask: [m[0], m[1]],
            port_status_mask: [m[2], m[3]],
            flow_removed_mask: [m[4], m[5]],
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        for v in self
            .packet_in_mask
            .iter()
            .chain(&self.port_status_mask)
            .chain(&self.flow_removed_mask)
        {
            out.put_u32(*v);
        }
    }
    fn encoded_len(&self) -> usize {
        24
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn async_round_trip() {
        let body: Vec<u8> = (1..=6u32).flat_map(|v| v.to_be_bytes()).collect();
        let a = AsyncConfig::decode(&mut Reader::new(&body)).unwrap();
        assert_eq!(a.port_status_mask, [3, 4]);
        let mut out = BytesMut::new();
        a.encode(&mut out);
        assert_eq!(&out[..], &body[..]);
        assert!(AsyncConfig::decode(&mut Reader::new(&body[..20])).is_err());
    }
}
