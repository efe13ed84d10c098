//! `OFPT_ROLE_REQUEST` / `OFPT_ROLE_REPLY` (`ofp_role_request`).

use bytes::{BufMut, BytesMut};

use super::WireBody;
use crate::error::OfpError;
use crate::open_enum;
use crate::reader::Reader;

open_enum! {
    /// `ofp_controller_role` (OVS prints primary/secondary for master/slave).
    pub struct ControllerRole(u32) {
        NOCHANGE = 0 => "nochange",
        EQUAL = 1 => "equal",
        PRIMARY = 2 => "primary",
        SECONDARY = 3 => "secondary",
    }
}

crate::view! {
    /// `OFPT_ROLE_REQUEST` / `OFPT_ROLE_REPLY` (`ofp_role_request`).
    pub struct RoleView: message(24) {
        ROLE: 8..12 => role, set_role: u32 as ControllerRole;
        GENERATION_ID: 16..24 => generation_id, set_generation_id: u64;
    }
}

/// Role request or reply body.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RoleMsg {
    pub role: ControllerRole,
    pub generation_id: u64,
}

impl WireBody for RoleMsg {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let role = ControllerRole(r.u32()?);
        if role.name().is_none() {
            return Err(OfpError::OFPRRFC_BAD_ROLE);
        }
        r.skip(4)?;
        Ok(RoleMsg {
            role,
            generation_id: r.u64()?,
        })
    }
    fn encode(&self, out: &mut BytesMut) {
        out.put_u32(self.role.0);
        out.put_u32(0);
        out.put_u64(self.generation_id);
    }
    fn encoded_len(&self) -> usize {
        16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_round_trip() {
        let body = [0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5];
        let m = RoleMsg::decode(&mut Reader::new(&body)).unwrap();
        assert_eq!(
            m,
            RoleMsg {
                role: ControllerRole::PRIMARY,
                generation_id: 5
            }
        );
        let mut out = BytesMut::new();
        m.encode(&mut out);
        assert_eq!(&out[..], &body);
        assert!(RoleMsg::decode(&mut Reader::new(&body[..15])).is_err());
        let mut bad = body;
        bad[3] = 4;
        assert_eq!(
            RoleMsg::decode(&mut Reader::new(&bad)),
            Err(OfpError::OFPRRFC_BAD_ROLE)
        );
    }

    #[test]
    fn role_view_agrees_with_decode_and_setters_reach_it() {
        let body = [0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5];
        let msg = crate::view::testing::framed(crate::msg::MsgType::ROLE_REQUEST, &body);
        let v = RoleView::new_checked(&msg[..]).unwrap();
        let m = RoleMsg::decode(&mut Reader::new(&body)).unwrap();
        assert_eq!((v.role(), v.generation_id()), (m.role, m.generation_id));
        let mut v = RoleView::new_checked(msg.clone()).unwrap();
        v.set_role(ControllerRole::SECONDARY);
        v.set_generation_id(u64::MAX);
        let m = RoleMsg::decode(&mut Reader::new(&v.into_inner()[8..])).unwrap();
        assert_eq!(
            (m.role, m.generation_id),
            (ControllerRole::SECONDARY, u64::MAX)
        );
        crate::view::testing::assert_len_checks::<RoleView<_>>(&msg);
    }
}
