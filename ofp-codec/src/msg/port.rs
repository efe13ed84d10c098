//! `ofp_port` (OpenFlow 1.1-1.3 port description, 64 bytes) and port numbers.

use bytes::{BufMut, BytesMut};

use super::WireBody;
use crate::error::OfpError;
use crate::reader::Reader;

/// Size of `ofp_port` on the wire.
pub const PORT_LEN: usize = 64;

/// Reserved port numbers.
pub const OFPP_MAX: u32 = 0xffff_ff00;
pub const OFPP_IN_PORT: u32 = 0xffff_fff8;
pub const OFPP_TABLE: u32 = 0xffff_fff9;
pub const OFPP_NORMAL: u32 = 0xffff_fffa;
pub const OFPP_FLOOD: u32 = 0xffff_fffb;
pub const OFPP_ALL: u32 = 0xffff_fffc;
pub const OFPP_CONTROLLER: u32 = 0xffff_fffd;
pub const OFPP_LOCAL: u32 = 0xffff_fffe;
pub const OFPP_ANY: u32 = 0xffff_ffff;

/// OVS only represents ports below 0xff00 and the reserved range
/// 0xffffff00 and up; anything between is refused with
/// `OFPBAC_BAD_OUT_PORT`, whatever message it appears in.
pub fn check_port(port: u32) -> Result<u32, OfpError> {
    if !(0xff00..OFPP_MAX).contains(&port) {
        Ok(port)
    } else {
        Err(OfpError::OFPBAC_BAD_OUT_PORT)
    }
}

crate::view! {
    /// `ofp_port` (64 bytes; port descriptions, port status).
    pub struct PortView: fixed(PORT_LEN, OfpError::OFPBRC_BAD_LEN) {
        PORT_NO: 0..4 => port_no, set_port_no: u32;
        HW_ADDR: 8..14 => hw_addr, set_hw_addr: [u8; 6];
        /// NUL-padded.
        NAME: 16..32 => name, set_name: [u8; 16];
        CONFIG: 32..36 => config, set_config: u32;
        STATE: 36..40 => state, set_state: u32;
        CURR: 40..44 => curr, set_curr: u32;
        ADVERTISED: 44..48 => advertised, set_advertised: u32;
        SUPPORTED: 48..52 => supported, set_supported: u32;
        PEER: 52..56 => peer, set_peer: u32;
        CURR_SPEED: 56..60 => curr_speed_kbps, set_curr_speed_kbps: u32;
        MAX_SPEED: 60..64 => max_speed_kbps, set_max_speed_kbps: u32;
    }
}

impl<T: AsRef<[u8]>> PortView<T> {
    /// The fields as an owned [`Port`], without `decode`'s port-number check.
    pub fn to_port(&self) -> Port {
        Port {
            port_no: self.port_no(),
            hw_addr: self.hw_addr(),
            name: self.name(),
            config: self.config(),
            state: self.state(),
            curr: self.curr(),
            advertised: self.advertised(),
            supported: self.supported(),
            peer: self.peer(),
            curr_speed_kbps: self.curr_speed_kbps(),
            max_speed_kbps: self.max_speed_kbps(),
        }
    }
}

/// `ofp_port`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Port {
    pub port_no: u32,
    pub hw_addr: [u8; 6],
    /// NUL-padded name, as on the wire (see [`Port::name_str`]).
    pub name: [u8; 16],
    /// `OFPPC_*` bits.
    pub config: u32,
    /// `OFPPS_*` bits.
    pub state: u32,
    /// `OFPPF_*` feature bits.
    pub curr: u32,
    pub advertised: u32,
    pub supported: u32,
    pub peer: u32,
    pub curr_speed_kbps: u32,
    pub max_speed_kbps: u32,
}

impl Port {
    /// The name up to its first NUL (lossy UTF-8).
    pub fn name_str(&self) -> String {
        let end = self.name.iter().position(|&b| b == 0).unwrap_or(16);
        String::from_utf8_lossy(&self.name[..end]).into_owned()
    }

    /// Sets the name, truncated to 15 bytes so a NUL always ends it.
    pub fn set_name(&mut self, name: &str) {
        self.name = [0; 16];
        let n = name.len().min(15);
        self.name[..n].copy_from_slice(&name.as_bytes()[..n]);
    }
}

impl WireBody for Port {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let mut r = r.sub(PORT_LEN)?;
        let port_no = check_port(r.u32()?)?;
        r.skip(4)?;
        let hw_addr = r.take_array()?;
        r.skip(2)?;
        Ok(Port {
            port_no,
            hw_addr,
            name: r.take_array()?,
            config: r.u32()?,
            state: r.u32()?,
            curr: r.u32()?,
            advertised: r.u32()?,
            supported: r.u32()?,
            peer: r.u32()?,
            curr_speed_kbps: r.u32()?,
            max_speed_kbps: r.u32()?,
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.port_no);
        out.put_u32(0);
        out.put_slice(&self.hw_addr);
        out.put_u16(0);
        out.put_slice(&self.name);
        for v in [
            self.config,
            self.state,
            self.curr,
            self.advertised,
            self.supported,
            self.peer,
            self.curr_speed_kbps,
            self.max_speed_kbps,
        ] {
            out.put_u32(v);
        }
    }
    fn encoded_len(&self) -> usize {
        PORT_LEN
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Port {
        let mut p = Port {
            port_no: 1,
            hw_addr: [0x52, 0x54, 0, 0x12, 0x34, 0x56],
            config: 0,
            state: 4,
            curr: 0x2820,
            advertised: 0,
            supported: 0,
            peer: 0,
            curr_speed_kbps: 10_000_000,
            max_speed_kbps: 0,
            ..Port::default()
        };
        p.set_name("veth0");
        p
    }

    #[test]
    fn port_round_trips_and_rejects_bad_numbers() {
        let p = sample();
        let mut out = BytesMut::new();
        p.encode(&mut out);
        assert_eq!(out.len(), PORT_LEN);
        assert_eq!(&out[..4], &[0, 0, 0, 1]);
        assert_eq!(&out[16..22], b"veth0\0");
        let back = Port::decode(&mut Reader::new(&out)).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.name_str(), "veth0");
        assert_eq!(
            Port::decode(&mut Reader::new(&out[..63])),
            Err(OfpError::BAD_LEN)
        );
        out[0..4].copy_from_slice(&0xff00u32.to_be_bytes());
        assert_eq!(
            Port::decode(&mut Reader::new(&out)),
            Err(OfpError::OFPBAC_BAD_OUT_PORT)
        );
    }

    #[test]
    fn port_view_agrees_with_decode_and_setters_reach_it() {
        let p = sample();
        let mut out = BytesMut::new();
        p.encode(&mut out);
        let v = PortView::new_checked(&out[..]).unwrap();
        assert_eq!(v.to_port(), Port::decode(&mut Reader::new(&out)).unwrap());
        let mut v = PortView::new_checked(out.to_vec()).unwrap();
        let mut want = Port {
            port_no: 7,
            hw_addr: [2, 0, 0, 0, 0, 9],
            config: 1,
            state: 2,
            curr: 3,
            advertised: 4,
            supported: 5,
            peer: 6,
            curr_speed_kbps: 8,
            max_speed_kbps: 9,
            ..Port::default()
        };
        want.set_name("br-int");
        v.set_port_no(want.port_no);
        v.set_hw_addr(want.hw_addr);
        v.set_name(want.name);
        v.set_config(want.config);
        v.set_state(want.state);
        v.set_curr(want.curr);
        v.set_advertised(want.advertised);
        v.set_supported(want.supported);
        v.set_peer(want.peer);
        v.set_curr_speed_kbps(want.curr_speed_kbps);
        v.set_max_speed_kbps(want.max_speed_kbps);
        assert_eq!(Port::decode(&mut Reader::new(&v.into_inner())), Ok(want));
        crate::view::testing::assert_len_checks::<PortView<_>>(&out);
    }
}
