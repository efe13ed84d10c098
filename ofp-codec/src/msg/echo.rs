//! `OFPT_ECHO_REQUEST` / `OFPT_ECHO_REPLY`: an arbitrary payload.

use bytes::{BufMut, BytesMut};

use super::WireBody;
use crate::error::OfpError;
use crate::reader::Reader;

/// Echo request or reply body. A reply carries the request's payload.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Echo {
    pub data: Vec<u8>,
}

impl WireBody for Echo {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        Ok(Echo {
            data: r.take(r.remaining())?.to_vec(),
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_slice(&self.data);
    }
    fn encoded_len(&self) -> usize {
        self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips() {
        let e = Echo::decode(&mut Reader::new(&[1, 2, 3])).unwrap();
        assert_eq!(e.data, [1, 2, 3]);
        let mut out = BytesMut::new();
        e.encode(&mut out);
        assert_eq!(&out[..], &[1, 2, 3]);
        assert_eq!(
            Echo::decode(&mut Reader::new(&[])).unwrap().encoded_len(),
            0
        );
    }
}
