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
}
