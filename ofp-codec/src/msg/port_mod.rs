//! `OFPT_PORT_MOD` (`ofp_port_mod`).

use bytes::{BufMut, BytesMut};

use super::WireBody;
use super::port::check_port;
use crate::error::OfpError;
use crate::reader::Reader;

/// `ofp_port_mod`: set `config` bits selected by `mask` on `port_no`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct PortMod {
    pub port_no: u32,
    pub hw_addr: [u8; 6],
    pub config: u32,
    pub mask: u32,
    pub advertise: u32,
}

impl WireBody for PortMod {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let port_no = check_port(r.u32()?)?;
        r.skip(4)?;
        let hw_addr = r.take_array()?;
        r.skip(2)?;
        let pm = PortMod {
            port_no,
            hw_addr,
            config: r.u32()?,
            mask: r.u32()?,
            advertise: r.u32()?,
        };
        r.skip(4)?;
        Ok(pm)
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.port_no);
        out.put_u32(0);
        out.put_slice(&self.hw_addr);
        out.put_u16(0);
        out.put_u32(self.config);
        out.put_u32(self.mask);
        out.put_u32(self.advertise);
        out.put_u32(0);
    }
    fn encoded_len(&self) -> usize {
        32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_mod_round_trip() {
        let pm = PortMod {
            port_no: 3,
            hw_addr: [1, 2, 3, 4, 5, 6],
            config: 1,
            mask: 1,
            advertise: 0,
        };
        let mut out = BytesMut::new();
        pm.encode(&mut out);
        assert_eq!(out.len(), 32);
        assert_eq!(PortMod::decode(&mut Reader::new(&out)).unwrap(), pm);
        assert!(PortMod::decode(&mut Reader::new(&out[..31])).is_err());
    }
}
