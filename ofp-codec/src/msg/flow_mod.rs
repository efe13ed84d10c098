//! `OFPT_FLOW_MOD` (`ofp_flow_mod` + `ofp_match` + instructions).

use bytes::{BufMut, BytesMut};

use super::WireBody;
use super::port::check_port;
use crate::action::{
    FlowContext, Instruction, decode_instructions, encode_instructions, instructions_encoded_len,
    validate_flow,
};
use crate::error::OfpError;
use crate::flow_match::Match;
use crate::open_enum;
use crate::reader::Reader;

open_enum! {
    /// `ofp_flow_mod_command`.
    pub struct FlowModCommand(u8) {
        ADD = 0 => "ADD",
        MODIFY = 1 => "MOD",
        MODIFY_STRICT = 2 => "MOD_STRICT",
        DELETE = 3 => "DEL",
        DELETE_STRICT = 4 => "DEL_STRICT",
    }
}

/// `OFPFF_*` flow-mod flags valid on OpenFlow 1.3.
pub const OFPFF_SEND_FLOW_REM: u16 = 1 << 0;
pub const OFPFF_CHECK_OVERLAP: u16 = 1 << 1;
pub const OFPFF_RESET_COUNTS: u16 = 1 << 2;
pub const OFPFF_NO_PKT_COUNTS: u16 = 1 << 3;
pub const OFPFF_NO_BYT_COUNTS: u16 = 1 << 4;
const OFPFF_ALL13: u16 = 0x1f;

/// `OFP_NO_BUFFER`.
pub const OFP_NO_BUFFER: u32 = 0xffff_ffff;

crate::view! {
    /// `OFPT_FLOW_MOD`, fixed part (`ofp_flow_mod` up to its match). The
    /// tail is the `ofp_match` followed by the instructions.
    pub struct FlowModView: message(48) {
        COOKIE: 8..16 => cookie, set_cookie: u64;
        COOKIE_MASK: 16..24 => cookie_mask, set_cookie_mask: u64;
        TABLE_ID: 24..25 => table_id, set_table_id: u8;
        COMMAND: 25..26 => command, set_command: u8 as FlowModCommand;
        IDLE_TIMEOUT: 26..28 => idle_timeout, set_idle_timeout: u16;
        HARD_TIMEOUT: 28..30 => hard_timeout, set_hard_timeout: u16;
        PRIORITY: 30..32 => priority, set_priority: u16;
        BUFFER_ID: 32..36 => buffer_id, set_buffer_id: u32;
        OUT_PORT: 36..40 => out_port, set_out_port: u32;
        OUT_GROUP: 40..44 => out_group, set_out_group: u32;
        /// `OFPFF_*`.
        FLAGS: 44..46 => flags, set_flags: u16;
    }
}

/// `ofp_flow_mod`. Fields are as on the wire; what they mean per command
/// (for `ADD`, `cookie` is the new cookie and `cookie_mask` is ignored;
/// `out_port`/`out_group` only filter deletes) is for the flow table.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FlowMod {
    pub cookie: u64,
    pub cookie_mask: u64,
    pub table_id: u8,
    pub command: FlowModCommand,
    pub idle_timeout: u16,
    pub hard_timeout: u16,
    pub priority: u16,
    pub buffer_id: u32,
    pub out_port: u32,
    pub out_group: u32,
    pub flags: u16,
    pub match_: Match,
    pub instructions: Vec<Instruction>,
}

impl Default for FlowMod {
    fn default() -> Self {
        FlowMod {
            cookie: 0,
            cookie_mask: 0,
            table_id: 0,
            command: FlowModCommand::ADD,
            idle_timeout: 0,
            hard_timeout: 0,
            priority: 0x8000,
            buffer_id: OFP_NO_BUFFER,
            out_port: 0xffff_ffff,
            out_group: 0xffff_ffff,
            flags: 0,
            match_: Match::new(),
            instructions: Vec::new(),
        }
    }
}

impl WireBody for FlowMod {
    /// Checks in OVS's order: match, `table_id` 255 outside deletes
    /// (`OFPFMFC_BAD_TABLE_ID`), `out_port` range, command
    /// (`OFPFMFC_BAD_COMMAND`), instructions, flags (`OFPFMFC_BAD_FLAGS`),
    /// then the consistency of the actions with the match (`ct` needs IP,
    /// ...: `action::validate_flow` with no table-count limit; the switch
    /// re-checks `goto_table` against its real table count).
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let cookie = r.u64()?;
        let cookie_mask = r.u64()?;
        let table_id = r.u8()?;
        let command = FlowModCommand(r.u8()?);
        let idle_timeout = r.u16()?;
        let hard_timeout = r.u16()?;
        let priority = r.u16()?;
        let buffer_id = r.u32()?;
        let out_port = r.u32()?;
        let out_group = r.u32()?;
        let flags = r.u16()?;
        r.skip(2)?;
        let match_ = super::pull_match(r)?;
        if table_id == 0xff
            && !matches!(
                command,
                FlowModCommand::DELETE | FlowModCommand::DELETE_STRICT
            )
        {
            return Err(OfpError::OFPFMFC_BAD_TABLE_ID);
        }
        check_port(out_port)?;
        if command.0 > FlowModCommand::DELETE_STRICT.0 {
            return Err(OfpError::OFPFMFC_BAD_COMMAND);
        }
        let instructions = decode_instructions(r)?;
        if flags & !OFPFF_ALL13 != 0 {
            return Err(OfpError::OFPFMFC_BAD_FLAGS);
        }
        validate_flow(
            &match_,
            &instructions,
            FlowContext {
                table_id,
                n_tables: 255,
            },
        )?;
        Ok(FlowMod {
            cookie,
            cookie_mask,
            table_id,
            command,
            idle_timeout,
            hard_timeout,
            priority,
            buffer_id,
            out_port,
            out_group,
            flags,
            match_,
            instructions,
        })
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u64(self.cookie);
        out.put_u64(self.cookie_mask);
        out.put_u8(self.table_id);
        out.put_u8(self.command.0);
        out.put_u16(self.idle_timeout);
        out.put_u16(self.hard_timeout);
        out.put_u16(self.priority);
        out.put_u32(self.buffer_id);
        out.put_u32(self.out_port);
        out.put_u32(self.out_group);
        out.put_u16(self.flags);
        out.put_u16(0);
        self.match_.encode(out);
        encode_instructions(&self.instructions, out);
    }

    fn encoded_len(&self) -> usize {
        40 + self.match_.encoded_len() + instructions_encoded_len(&self.instructions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::Field;

    /// `ovs-ofctl -O OpenFlow13 -mmmmm parse-flows` of
    /// `priority=100,ct_state=-trk,ip actions=ct(table=1)`, body only.
    const CT_FLOW: &str = "0000000000000000 0000000000000000 00 00 0000 0000 0064 ffffffff ffffffff ffffffff 0000 0000 \
        0001 0016 80000a02 0800 0001d308 00000000 00000020 0000 \
        0004 0020 00000000 ffff 0018 00002320 0023 0000 00000000 0000 01 000000 0000";

    fn hex(s: &str) -> Vec<u8> {
        let d: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
        d.chunks(2)
            .map(|p| u8::from_str_radix(core::str::from_utf8(p).unwrap(), 16).unwrap())
            .collect()
    }

    #[test]
    fn ovs_flow_mod_decodes_and_reencodes() {
        let body = hex(CT_FLOW);
        let fm = FlowMod::decode(&mut Reader::new(&body)).unwrap();
        assert_eq!(
            (fm.priority, fm.command, fm.table_id),
            (100, FlowModCommand::ADD, 0)
        );
        assert_eq!(fm.match_.eth_type(), Some(0x0800));
        assert!(fm.match_.contains(Field::CtState));
        assert_eq!(fm.instructions.len(), 1);
        let mut out = BytesMut::new();
        fm.encode(&mut out);
        assert_eq!(&out[..], &body[..]);
        assert_eq!(fm.encoded_len(), body.len());
    }

    #[test]
    fn truncated_and_inconsistent_flow_mods_fail_as_ovs() {
        let body = hex(CT_FLOW);
        assert!(FlowMod::decode(&mut Reader::new(&body[..30])).is_err());
        // Cut inside the instructions: instruction length runs past the end.
        assert_eq!(
            FlowMod::decode(&mut Reader::new(&body[..body.len() - 8])),
            Err(OfpError::OFPBIC_BAD_LEN)
        );
        // Without `ip` (match of ct_state only), ct() is inconsistent with the match.
        let mut no_ip = body[..40].to_vec();
        no_ip.extend(hex("0001 0010 0001d308 00000000 00000020"));
        no_ip.extend(&body[64..]);
        assert_eq!(
            FlowMod::decode(&mut Reader::new(&no_ip)),
            Err(OfpError::OFPBAC_MATCH_INCONSISTENT)
        );
        let mut bad_cmd = body.clone();
        bad_cmd[17] = 7;
        assert_eq!(
            FlowMod::decode(&mut Reader::new(&bad_cmd)),
            Err(OfpError::OFPFMFC_BAD_COMMAND)
        );
        let mut all_tables = body;
        all_tables[16] = 0xff;
        assert_eq!(
            FlowMod::decode(&mut Reader::new(&all_tables)),
            Err(OfpError::OFPFMFC_BAD_TABLE_ID)
        );
    }

    #[test]
    fn flow_mod_view_agrees_with_decode_and_setters_reach_it() {
        let msg = crate::view::testing::framed(crate::msg::MsgType::FLOW_MOD, &hex(CT_FLOW));
        let v = FlowModView::new_checked(&msg[..]).unwrap();
        let fm = FlowMod::decode(&mut Reader::new(&msg[8..])).unwrap();
        let seen = FlowMod {
            cookie: v.cookie(),
            cookie_mask: v.cookie_mask(),
            table_id: v.table_id(),
            command: v.command(),
            idle_timeout: v.idle_timeout(),
            hard_timeout: v.hard_timeout(),
            priority: v.priority(),
            buffer_id: v.buffer_id(),
            out_port: v.out_port(),
            out_group: v.out_group(),
            flags: v.flags(),
            match_: fm.match_.clone(),
            instructions: fm.instructions.clone(),
        };
        assert_eq!(seen, fm);
        assert_eq!(v.tail(), &msg[48..]);
        let mut v = FlowModView::new_checked(msg.clone()).unwrap();
        v.set_cookie(1);
        v.set_cookie_mask(2);
        v.set_table_id(3);
        v.set_command(FlowModCommand::MODIFY);
        v.set_idle_timeout(4);
        v.set_hard_timeout(5);
        v.set_priority(6);
        v.set_buffer_id(7);
        v.set_out_port(8);
        v.set_out_group(9);
        v.set_flags(OFPFF_SEND_FLOW_REM);
        let got = FlowMod::decode(&mut Reader::new(&v.into_inner()[8..])).unwrap();
        let want = FlowMod {
            cookie: 1,
            cookie_mask: 2,
            table_id: 3,
            command: FlowModCommand::MODIFY,
            idle_timeout: 4,
            hard_timeout: 5,
            priority: 6,
            buffer_id: 7,
            out_port: 8,
            out_group: 9,
            flags: OFPFF_SEND_FLOW_REM,
            ..fm
        };
        assert_eq!(got, want);
        crate::view::testing::assert_len_checks::<FlowModView<_>>(&msg);
    }
}
