//! `OFPT_PACKET_OUT` (`ofp_packet_out` + actions + frame).

use bytes::{BufMut, BytesMut};

use super::WireBody;
use super::port::{OFPP_ANY, OFPP_CONTROLLER, OFPP_LOCAL, check_port};
use crate::action::{Action, actions_encoded_len, decode_actions, encode_actions};
use crate::error::OfpError;
use crate::reader::Reader;

crate::view! {
    /// `OFPT_PACKET_OUT` (`ofp_packet_out`): `actions_len` bytes of actions,
    /// then the frame. `new_checked` also checks that the actions fit
    /// (`OFPBRC_BAD_LEN`).
    pub struct PacketOutView: message(24) check(actions_fit) {
        BUFFER_ID: 8..12 => buffer_id, set_buffer_id: u32;
        IN_PORT: 12..16 => in_port, set_in_port: u32;
        ACTIONS_LEN: 16..18 => actions_len, set_actions_len: u16;
    }
}

fn actions_fit<T: AsRef<[u8]>>(v: &PacketOutView<T>) -> Result<(), OfpError> {
    if usize::from(v.actions_len()) <= v.tail().len() {
        Ok(())
    } else {
        Err(OfpError::OFPBRC_BAD_LEN)
    }
}

impl<T: AsRef<[u8]>> PacketOutView<T> {
    /// The action list (`actions_len` bytes after the fixed part).
    pub fn actions(&self) -> &[u8] {
        let tail = self.tail();
        tail.get(..usize::from(self.actions_len())).unwrap_or(tail)
    }

    /// The frame after the actions.
    pub fn data(&self) -> &[u8] {
        let tail = self.tail();
        tail.get(usize::from(self.actions_len())..).unwrap_or(&[])
    }
}

/// `ofp_packet_out`. `data` is the frame to send when `buffer_id` is
/// `OFP_NO_BUFFER`; with a buffer id OVS ignores it (rvs keeps the bytes).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PacketOut {
    pub buffer_id: u32,
    pub in_port: u32,
    pub actions: Vec<Action>,
    pub data: Vec<u8>,
}

/// Decodes an action list of `len` bytes as OVS does: `len` a multiple of
/// 8 and present, else `OFPBRC_BAD_LEN`.
pub(crate) fn pull_actions(r: &mut Reader<'_>, len: usize) -> Result<Vec<Action>, OfpError> {
    if !len.is_multiple_of(8) {
        return Err(OfpError::OFPBRC_BAD_LEN);
    }
    let mut ar = r.sub(len)?;
    decode_actions(&mut ar)
}

impl WireBody for PacketOut {
    /// `in_port` must be a physical port, `LOCAL`, `CONTROLLER` or `ANY`
    /// (`OFPBRC_BAD_PORT`; a number OVS cannot represent at all is
    /// `OFPBAC_BAD_OUT_PORT`).
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let buffer_id = r.u32()?;
        let in_port = check_port(r.u32()?)?;
        let actions_len = usize::from(r.u16()?);
        r.skip(6)?;
        let actions = pull_actions(r, actions_len)?;
        if in_port >= 0xff00 && !matches!(in_port, OFPP_LOCAL | OFPP_ANY | OFPP_CONTROLLER) {
            return Err(OfpError::OFPBRC_BAD_PORT);
        }
        Ok(PacketOut {
            buffer_id,
            in_port,
            actions,
            data: r.take(r.remaining())?.to_vec(),
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.buffer_id);
        out.put_u32(self.in_port);
        out.put_u16(actions_encoded_len(&self.actions) as u16);
        out.put_bytes(0, 6);
        encode_actions(&self.actions, out);
        out.put_slice(&self.data);
    }

    fn encoded_len(&self) -> usize {
        16 + actions_encoded_len(&self.actions) + self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> PacketOut {
        PacketOut {
            buffer_id: u32::MAX,
            in_port: OFPP_CONTROLLER,
            actions: vec![Action::Output {
                port: 1,
                max_len: 0,
            }],
            data: vec![1, 2, 3],
        }
    }

    #[test]
    fn packet_out_round_trip_and_port_checks() {
        let po = sample();
        let mut out = BytesMut::new();
        po.encode(&mut out);
        assert_eq!(out.len(), po.encoded_len());
        assert_eq!(&out[8..10], &[0, 16], "actions_len");
        assert_eq!(PacketOut::decode(&mut Reader::new(&out)).unwrap(), po);
        let mut bad = out.clone();
        bad[4..8].copy_from_slice(&0xffff_fff8u32.to_be_bytes()); // IN_PORT
        assert_eq!(
            PacketOut::decode(&mut Reader::new(&bad)),
            Err(OfpError::OFPBRC_BAD_PORT)
        );
        let mut bad = out.clone();
        bad[9] = 12; // actions_len not a multiple of 8
        assert_eq!(
            PacketOut::decode(&mut Reader::new(&bad)),
            Err(OfpError::OFPBRC_BAD_LEN)
        );
        let mut bad = out;
        bad[9] = 40; // actions_len past the end
        assert_eq!(
            PacketOut::decode(&mut Reader::new(&bad)),
            Err(OfpError::OFPBRC_BAD_LEN)
        );
    }

    #[test]
    fn packet_out_view_agrees_with_decode_and_setters_reach_it() {
        let po = sample();
        let msg = crate::view::testing::framed_body(crate::msg::MsgType::PACKET_OUT, &po);
        let v = PacketOutView::new_checked(&msg[..]).unwrap();
        assert_eq!((v.buffer_id(), v.in_port()), (po.buffer_id, po.in_port));
        let mut ar = Reader::new(v.actions());
        assert_eq!(decode_actions(&mut ar).unwrap(), po.actions);
        assert_eq!(v.data(), &po.data[..]);
        let mut v = PacketOutView::new_checked(msg.clone()).unwrap();
        v.set_buffer_id(77);
        v.set_in_port(5);
        let got = PacketOut::decode(&mut Reader::new(&v.into_inner()[8..])).unwrap();
        assert_eq!((got.buffer_id, got.in_port), (77, 5));
        crate::view::testing::assert_len_checks::<PacketOutView<_>>(&msg);
        let mut v = PacketOutView::new_checked(msg).unwrap();
        v.set_actions_len(20); // 16 bytes of actions + 3 of data are there
        assert_eq!(
            PacketOutView::new_checked(v.into_inner()).err(),
            Some(OfpError::OFPBRC_BAD_LEN)
        );
    }
}
