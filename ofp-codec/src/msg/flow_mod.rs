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
}
