//! `OFPT_GROUP_MOD`, buckets, and the `OFPMP_GROUP_DESC` reply entry.

use bytes::{BufMut, BytesMut};

use super::WireBody;
use super::packet_out::pull_actions;
use super::port::check_port;
use crate::action::{Action, actions_encoded_len, encode_actions};
use crate::error::OfpError;
use crate::open_enum;
use crate::reader::Reader;

open_enum! {
    /// `ofp_group_mod_command` (3, 4 and 0x8000 are OVS extensions it also
    /// accepts on 1.3).
    pub struct GroupModCommand(u16) {
        ADD = 0 => "ADD",
        MODIFY = 1 => "MOD",
        DELETE = 2 => "DEL",
        INSERT_BUCKET = 3 => "INSERT_BUCKET",
        REMOVE_BUCKET = 4 => "REMOVE_BUCKET",
        ADD_OR_MOD = 0x8000 => "ADD_OR_MOD",
    }
}

open_enum! {
    /// `ofp_group_type`, as OVS prints it.
    pub struct GroupType(u8) {
        ALL = 0 => "all",
        SELECT = 1 => "select",
        INDIRECT = 2 => "indirect",
        FF = 3 => "fast_failover",
    }
}

const BUCKET_LEN: usize = 16;
const OFPP_ANY: u32 = 0xffff_ffff;
const OFPG_ANY: u32 = 0xffff_ffff;

crate::view! {
    /// `ofp_bucket`, fixed part; the tail is the action list.
    pub struct BucketView: sized(BUCKET_LEN, LENGTH, OfpError::OFPGMFC_BAD_BUCKET) {
        LENGTH: 0..2 => length, set_length: u16;
        WEIGHT: 2..4 => weight, set_weight: u16;
        WATCH_PORT: 4..8 => watch_port, set_watch_port: u32;
        WATCH_GROUP: 8..12 => watch_group, set_watch_group: u32;
    }
}

crate::view! {
    /// `OFPT_GROUP_MOD` (`ofp_group_mod`), fixed part; the tail is the
    /// buckets.
    pub struct GroupModView: message(16) {
        COMMAND: 8..10 => command, set_command: u16 as GroupModCommand;
        GROUP_TYPE: 10..11 => group_type, set_group_type: u8 as GroupType;
        GROUP_ID: 12..16 => group_id, set_group_id: u32;
    }
}

/// `ofp_bucket`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Bucket {
    pub weight: u16,
    pub watch_port: u32,
    pub watch_group: u32,
    pub actions: Vec<Action>,
}

impl Bucket {
    fn has_liveness(&self) -> bool {
        self.watch_port != OFPP_ANY || self.watch_group != OFPG_ANY
    }

    fn encoded_len(&self) -> usize {
        BUCKET_LEN + actions_encoded_len(&self.actions)
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.encoded_len() as u16);
        out.put_u16(self.weight);
        out.put_u32(self.watch_port);
        out.put_u32(self.watch_group);
        out.put_u32(0);
        encode_actions(&self.actions, out);
    }

    /// Decodes buckets filling exactly `r`, with OVS's errors
    /// (`OFPGMFC_BAD_BUCKET` for framing, `OFPGMFC_BAD_WATCH` for a watch
    /// port OVS cannot represent).
    pub fn decode_list(r: &mut Reader<'_>) -> Result<Vec<Bucket>, OfpError> {
        let mut buckets = Vec::new();
        while !r.is_empty() {
            // Refuses a short header and a `len` below 16 or past the end.
            let v = BucketView::new_checked(r.rest())?;
            let len = v.total_len();
            let mut br = r.sub(len)?;
            br.skip(BUCKET_LEN)?;
            let actions = pull_actions(&mut br, len - BUCKET_LEN)?;
            let (weight, watch_port, watch_group) = (v.weight(), v.watch_port(), v.watch_group());
            check_port(watch_port).map_err(|_| OfpError::OFPGMFC_BAD_WATCH)?;
            buckets.push(Bucket {
                weight,
                watch_port,
                watch_group,
                actions,
            });
        }
        Ok(buckets)
    }
}

/// `ofp_group_mod`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GroupMod {
    pub command: GroupModCommand,
    pub group_type: GroupType,
    pub group_id: u32,
    pub buckets: Vec<Bucket>,
}

impl GroupMod {
    /// OVS's semantic checks (`ofputil_check_group_mod`), in its order.
    fn check(&self) -> Result<(), OfpError> {
        let (t, c) = (self.group_type, self.command);
        match t {
            GroupType::INDIRECT if c != GroupModCommand::DELETE && self.buckets.len() != 1 => {
                return Err(OfpError::OFPGMFC_INVALID_GROUP);
            }
            GroupType::ALL | GroupType::SELECT | GroupType::INDIRECT | GroupType::FF => {}
            _ => return Err(OfpError::OFPGMFC_BAD_TYPE),
        }
        match c {
            GroupModCommand::REMOVE_BUCKET if !self.buckets.is_empty() => {
                return Err(OfpError::OFPGMFC_BAD_BUCKET);
            }
            _ if c.name().is_none() => return Err(OfpError::OFPGMFC_BAD_COMMAND),
            _ => {}
        }
        for b in &self.buckets {
            if b.weight != 0 && t != GroupType::SELECT && c != GroupModCommand::INSERT_BUCKET {
                return Err(OfpError::OFPGMFC_INVALID_GROUP);
            }
            match t {
                GroupType::ALL | GroupType::INDIRECT if b.has_liveness() => {
                    return Err(OfpError::OFPGMFC_WATCH_UNSUPPORTED);
                }
                GroupType::FF if !b.has_liveness() => return Err(OfpError::OFPGMFC_INVALID_GROUP),
                _ => {}
            }
        }
        Ok(())
    }
}

impl WireBody for GroupMod {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let command = GroupModCommand(r.u16()?);
        let group_type = GroupType(r.u8()?);
        r.skip(1)?;
        let group_id = r.u32()?;
        let buckets = Bucket::decode_list(r)?;
        if command == GroupModCommand::DELETE && !buckets.is_empty() {
            return Err(OfpError::OFPGMFC_INVALID_GROUP);
        }
        let gm = GroupMod {
            command,
            group_type,
            group_id,
            buckets,
        };
        gm.check()?;
        Ok(gm)
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.command.0);
        out.put_u8(self.group_type.0);
        out.put_u8(0);
        out.put_u32(self.group_id);
        for b in &self.buckets {
            b.encode(out);
        }
    }

    fn encoded_len(&self) -> usize {
        8 + self.buckets.iter().map(Bucket::encoded_len).sum::<usize>()
    }
}

/// `ofp_group_desc` (a group description reply entry).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GroupDesc {
    pub group_type: GroupType,
    pub group_id: u32,
    pub buckets: Vec<Bucket>,
}

impl WireBody for GroupDesc {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let length = usize::from(r.u16()?);
        let group_type = GroupType(r.u8()?);
        r.skip(1)?;
        let group_id = r.u32()?;
        if length < 8 || length - 8 > r.remaining() {
            return Err(OfpError::OFPBRC_BAD_LEN);
        }
        let buckets = Bucket::decode_list(&mut r.sub(length - 8)?)?;
        Ok(GroupDesc {
            group_type,
            group_id,
            buckets,
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.encoded_len() as u16);
        out.put_u8(self.group_type.0);
        out.put_u8(0);
        out.put_u32(self.group_id);
        for b in &self.buckets {
            b.encode(out);
        }
    }

    fn encoded_len(&self) -> usize {
        8 + self.buckets.iter().map(Bucket::encoded_len).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(weight: u16, watch_port: u32) -> Bucket {
        Bucket {
            weight,
            watch_port,
            watch_group: OFPG_ANY,
            actions: vec![Action::Output {
                port: 1,
                max_len: 0,
            }],
        }
    }

    fn decode(gm: &GroupMod) -> Result<GroupMod, OfpError> {
        let mut out = BytesMut::new();
        gm.encode(&mut out);
        assert_eq!(out.len(), gm.encoded_len());
        GroupMod::decode(&mut Reader::new(&out))
    }

    #[test]
    fn group_mod_round_trip_and_ovs_checks() {
        let ok = GroupMod {
            command: GroupModCommand::ADD,
            group_type: GroupType::SELECT,
            group_id: 1,
            buckets: vec![bucket(2, OFPP_ANY)],
        };
        assert_eq!(decode(&ok).unwrap(), ok);
        let indirect2 = GroupMod {
            group_type: GroupType::INDIRECT,
            buckets: vec![bucket(0, OFPP_ANY); 2],
            ..ok.clone()
        };
        assert_eq!(decode(&indirect2), Err(OfpError::OFPGMFC_INVALID_GROUP));
        let weighted_all = GroupMod {
            group_type: GroupType::ALL,
            ..ok.clone()
        };
        assert_eq!(decode(&weighted_all), Err(OfpError::OFPGMFC_INVALID_GROUP));
        let ff_unwatched = GroupMod {
            group_type: GroupType::FF,
            buckets: vec![bucket(0, OFPP_ANY)],
            ..ok.clone()
        };
        assert_eq!(decode(&ff_unwatched), Err(OfpError::OFPGMFC_INVALID_GROUP));
        let all_watched = GroupMod {
            group_type: GroupType::ALL,
            buckets: vec![bucket(0, 3)],
            ..ok.clone()
        };
        assert_eq!(
            decode(&all_watched),
            Err(OfpError::OFPGMFC_WATCH_UNSUPPORTED)
        );
        let bad_type = GroupMod {
            group_type: GroupType(9),
            ..ok.clone()
        };
        assert_eq!(decode(&bad_type), Err(OfpError::OFPGMFC_BAD_TYPE));
        let del_with_buckets = GroupMod {
            command: GroupModCommand::DELETE,
            ..ok.clone()
        };
        assert_eq!(
            decode(&del_with_buckets),
            Err(OfpError::OFPGMFC_INVALID_GROUP)
        );
        // A bucket shorter than its header.
        let mut out = BytesMut::new();
        ok.encode(&mut out);
        out[9] = 8;
        assert_eq!(
            GroupMod::decode(&mut Reader::new(&out)),
            Err(OfpError::OFPGMFC_BAD_BUCKET)
        );
    }

    #[test]
    fn group_desc_round_trip() {
        let gd = GroupDesc {
            group_type: GroupType::ALL,
            group_id: 4,
            buckets: vec![bucket(0, OFPP_ANY)],
        };
        let mut out = BytesMut::new();
        gd.encode(&mut out);
        assert_eq!(GroupDesc::decode(&mut Reader::new(&out)).unwrap(), gd);
        out[1] = 0x40;
        assert_eq!(
            GroupDesc::decode(&mut Reader::new(&out)),
            Err(OfpError::OFPBRC_BAD_LEN)
        );
    }

    #[test]
    fn group_mod_and_bucket_views_agree_with_decode_and_setters_reach_it() {
        let gm = GroupMod {
            command: GroupModCommand::ADD,
            group_type: GroupType::SELECT,
            group_id: 1,
            buckets: vec![bucket(2, OFPP_ANY)],
        };
        let msg = crate::view::testing::framed_body(crate::msg::MsgType::GROUP_MOD, &gm);
        let v = GroupModView::new_checked(&msg[..]).unwrap();
        assert_eq!(
            (v.command(), v.group_type(), v.group_id()),
            (gm.command, gm.group_type, gm.group_id)
        );
        let b = BucketView::new_checked(v.tail()).unwrap();
        let want = &gm.buckets[0];
        assert_eq!(
            (b.weight(), b.watch_port(), b.watch_group()),
            (want.weight, want.watch_port, want.watch_group)
        );
        assert_eq!(usize::from(b.length()), b.as_bytes().len());
        crate::view::testing::assert_len_checks::<GroupModView<_>>(&msg);
        crate::view::testing::assert_len_checks::<BucketView<_>>(&msg[16..]);

        let mut v = GroupModView::new_checked(msg).unwrap();
        v.set_command(GroupModCommand::MODIFY);
        v.set_group_type(GroupType::FF);
        v.set_group_id(42);
        let mut b = BucketView::new_checked(v.tail_mut()).unwrap();
        b.set_weight(0);
        b.set_watch_port(3);
        b.set_watch_group(4);
        let got = GroupMod::decode(&mut Reader::new(&v.into_inner()[8..])).unwrap();
        assert_eq!(
            (got.command, got.group_type, got.group_id),
            (GroupModCommand::MODIFY, GroupType::FF, 42)
        );
        let b = &got.buckets[0];
        assert_eq!((b.weight, b.watch_port, b.watch_group), (0, 3, 4));
    }
}
