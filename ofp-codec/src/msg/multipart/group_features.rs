//! `OFPMP_GROUP_FEATURES` reply (`ofp_group_features`).

use bytes::{BufMut, BytesMut};

use crate::error::OfpError;
use crate::msg::WireBody;
use crate::reader::Reader;

/// `ofp_group_features`: per group type (all, select, indirect, ff).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct GroupFeatures {
    /// Bitmap of supported `OFPGT_*` types.
    pub types: u32,
    /// `OFPGFC_*` bits.
    pub capabilities: u32,
    pub max_groups: [u32; 4],
    /// Bitmaps of `OFPAT_*` action types, per group type.
    pub actions: [u32; 4],
}

impl WireBody for GroupFeatures {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let mut g = GroupFeatures {
            types: r.u32()?,
            capabilities: r.u32()?,
            ..Default::default()
        };
        for v in g.max_groups.iter_mut().chain(g.actions.iter_mut()) {
            *v = r.u32()?;
        }
        Ok(g)
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.types);
        out.put_u32(self.capabilities);
        for v in self.max_groups.iter().chain(&self.actions) {
            out.put_u32(*v);
        }
    }
    fn encoded_len(&self) -> usize {
        40
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_features_round_trip() {
        let g = GroupFeatures {
            types: 15,
            capabilities: 7,
            max_groups: [1, 2, 3, 4],
            actions: [5, 6, 7, 8],
        };
        let mut out = BytesMut::new();
        g.encode(&mut out);
        assert_eq!(GroupFeatures::decode(&mut Reader::new(&out)).unwrap(), g);
        assert!(GroupFeatures::decode(&mut Reader::new(&out[..39])).is_err());
    }
}
