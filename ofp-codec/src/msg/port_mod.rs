//! `OFPT_PORT_MOD` (`ofp_port_mod`).

use bytes::{BufMut, BytesMut};

use super::WireBody;
use super::port::check_port;
use crate::error::OfpError;
use crate::reader::Reader;

crate::view! {
    /// `OFPT_PORT_MOD` (`ofp_port_mod`).
    pub struct PortModView: message(40) {
        PORT_NO: 8..12 => port_no, set_port_no: u32;
        HW_ADDR: 16..22 => hw_addr, set_hw_addr: [u8; 6];
        CONFIG: 24..28 => config, set_config: u32;
        MASK: 28..32 => mask, set_mask: u32;
        ADVERTISE: 32..36 => advertise, set_advertise: u32;
    }
}

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

    fn sample() -> PortMod {
        PortMod {
            port_no: 3,
            hw_addr: [1, 2, 3, 4, 5, 6],
            config: 1,
            mask: 1,
            advertise: 0x20,
        }
    }

    #[test]
    fn port_mod_round_trip() {
        let pm = sample();
        let mut out = BytesMut::new();
        pm.encode(&mut out);
        assert_eq!(out.len(), 32);
        assert_eq!(PortMod::decode(&mut Reader::new(&out)).unwrap(), pm);
        assert!(PortMod::decode(&mut Reader::new(&out[..31])).is_err());
    }

    #[test]
    fn port_mod_view_agrees_with_decode_and_setters_reach_it() {
        let pm = sample();
        let msg = crate::view::testing::framed_body(crate::msg::MsgType::PORT_MOD, &pm);
        let v = PortModView::new_checked(&msg[..]).unwrap();
        let seen = PortMod {
            port_no: v.port_no(),
            hw_addr: v.hw_addr(),
            config: v.config(),
            mask: v.mask(),
            advertise: v.advertise(),
        };
        assert_eq!(seen, pm);
        let want = PortMod {
            port_no: 100,
            hw_addr: [6, 5, 4, 3, 2, 1],
            config: 4,
            mask: 0x65,
            advertise: 8,
        };
        let mut v = PortModView::new_checked(msg.clone()).unwrap();
        v.set_port_no(want.port_no);
        v.set_hw_addr(want.hw_addr);
        v.set_config(want.config);
        v.set_mask(want.mask);
        v.set_advertise(want.advertise);
        let got = PortMod::decode(&mut Reader::new(&v.into_inner()[8..]));
        assert_eq!(got, Ok(want));
        crate::view::testing::assert_len_checks::<PortModView<_>>(&msg);
    }
}
