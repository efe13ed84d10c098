//! `OFPT_PACKET_IN` (OpenFlow 1.3: header, cookie, match, 2 pad, frame) and
//! the Nicira `NXT_PACKET_IN` (subtype 17: the same fields with an NXM
//! match, what OVS sends to a connection that asked for `nxt_packet_in`).
//! `NXT_PACKET_IN2` is in `packet_in2.rs`.

use bytes::{BufMut, BytesMut};

use super::WireBody;
use super::packet_in2::decode_match_tlvs_loose;
use crate::error::OfpError;
use crate::field::Field;
use crate::flow_match::Match;
use crate::flow_match::oxm::OFPMT_OXM;
use crate::open_enum;
use crate::reader::Reader;

open_enum! {
    /// `ofp_packet_in_reason`, as OVS prints it.
    pub struct PacketInReason(u8) {
        NO_MATCH = 0 => "no_match",
        ACTION = 1 => "action",
        INVALID_TTL = 2 => "invalid_ttl",
        ACTION_SET = 3 => "action_set",
        GROUP = 4 => "group",
        PACKET_OUT = 5 => "packet_out",
    }
}

impl PacketInReason {
    /// The text OVS prints after `(via `: the name, nothing for OVS's
    /// internal explicit/implicit miss values (6, 7), else the number.
    pub fn ovs_text(self) -> String {
        match self.name() {
            Some(n) => n.to_string(),
            None if self.0 == 6 || self.0 == 7 => String::new(),
            None => self.0.to_string(),
        }
    }
}

crate::view! {
    /// `OFPT_PACKET_IN` (`ofp_packet_in` of OpenFlow 1.3): the fixed fields,
    /// then an `ofp_match` padded to 8 bytes, 2 pad bytes and the frame.
    /// `new_checked` also checks that the match header is there
    /// (`OFPBMC_BAD_LEN`), that the padded match fits (`OFPBMC_BAD_LEN`) and
    /// that the 2 pad bytes follow it (`OFPBRC_BAD_LEN`), as the owned
    /// decoder does; the match's contents are not looked at.
    pub struct PacketInView: message(24) check(match_fits) {
        BUFFER_ID: 8..12 => buffer_id, set_buffer_id: u32;
        /// `total_len` (the view's own `total_len()` is the message length).
        TOTAL_LEN: 12..14 => frame_total_len, set_frame_total_len: u16;
        REASON: 14..15 => reason, set_reason: u8 as PacketInReason;
        TABLE_ID: 15..16 => table_id, set_table_id: u8;
        COOKIE: 16..24 => cookie, set_cookie: u64;
    }
}

/// The match's padded length, if its header is in `tail`.
fn padded_match_len(tail: &[u8]) -> Option<usize> {
    let len = tail.get(2..4)?;
    Some(usize::from(u16::from_be_bytes([len[0], len[1]])).div_ceil(8) * 8)
}

fn match_fits<T: AsRef<[u8]>>(v: &PacketInView<T>) -> Result<(), OfpError> {
    let tail = v.tail();
    let padded = padded_match_len(tail).ok_or(OfpError::OFPBMC_BAD_LEN)?;
    if padded < 8 || padded > tail.len() {
        return Err(OfpError::OFPBMC_BAD_LEN);
    }
    if padded + 2 > tail.len() {
        return Err(OfpError::OFPBRC_BAD_LEN);
    }
    Ok(())
}

impl<T: AsRef<[u8]>> PacketInView<T> {
    /// The `ofp_match` with its padding (empty if the view is inconsistent).
    pub fn match_bytes(&self) -> &[u8] {
        let tail = self.tail();
        padded_match_len(tail)
            .and_then(|n| tail.get(..n))
            .unwrap_or(&[])
    }

    /// The frame after the match and the 2 pad bytes.
    pub fn data(&self) -> &[u8] {
        let tail = self.tail();
        padded_match_len(tail)
            .and_then(|n| tail.get(n + 2..))
            .unwrap_or(&[])
    }
}

/// `ofp_packet_in`. `match_` holds the pipeline metadata (in_port,
/// registers, ct state, ...), `data` the (possibly truncated) frame.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PacketIn {
    pub buffer_id: u32,
    /// Length of the whole frame (`data` may be shorter).
    pub total_len: u16,
    pub reason: PacketInReason,
    pub table_id: u8,
    pub cookie: u64,
    pub match_: Match,
    pub data: Vec<u8>,
}

impl PacketIn {
    /// The layout both packet-in forms share: the fixed fields, a match in
    /// whatever form `pull_match` reads (padding included), 2 pad bytes and
    /// the frame.
    fn decode_with(
        r: &mut Reader<'_>,
        pull_match: impl FnOnce(&mut Reader<'_>) -> Result<Match, OfpError>,
    ) -> Result<Self, OfpError> {
        let buffer_id = r.u32()?;
        let total_len = r.u16()?;
        let reason = PacketInReason(r.u8()?);
        let table_id = r.u8()?;
        let cookie = r.u64()?;
        let match_ = pull_match(r)?;
        r.skip(2)?;
        Ok(PacketIn {
            buffer_id,
            total_len,
            reason,
            table_id,
            cookie,
            match_,
            data: r.take(r.remaining())?.to_vec(),
        })
    }

    /// Writes what [`PacketIn::decode_with`] reads, the match by `put_match`.
    fn encode_with(&self, out: &mut BytesMut, put_match: impl FnOnce(&Match, &mut BytesMut)) {
        out.put_u32(self.buffer_id);
        out.put_u16(self.total_len);
        out.put_u8(self.reason.0);
        out.put_u8(self.table_id);
        out.put_u64(self.cookie);
        put_match(&self.match_, out);
        out.put_u16(0);
        out.put_slice(&self.data);
    }
}

impl WireBody for PacketIn {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        PacketIn::decode_with(r, pull_match_loose)
    }

    fn encode(&self, out: &mut BytesMut) {
        self.encode_with(out, Match::encode);
    }

    fn encoded_len(&self) -> usize {
        16 + self.match_.encoded_len() + 2 + self.data.len()
    }
}

/// OVS's `oxm_pull_match_loose`: an OpenFlow 1.3 `ofp_match` whose
/// entries of unknown fields are skipped (see
/// [`decode_match_tlvs_loose`]); other match types as [`Match::decode`].
fn pull_match_loose(r: &mut Reader<'_>) -> Result<Match, OfpError> {
    let head = r.peek(4).ok_or(OfpError::OFPBMC_BAD_LEN)?;
    let mtype = u16::from_be_bytes([head[0], head[1]]);
    let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    if mtype != OFPMT_OXM {
        return Match::decode(r);
    }
    if len < 4 {
        return Err(OfpError::OFPBMC_BAD_LEN);
    }
    let all = r.take_or(len.div_ceil(8) * 8, OfpError::OFPBMC_BAD_LEN)?;
    decode_match_tlvs_loose(&all[4..len])
}

/// Nicira subtype of `NXT_PACKET_IN`.
pub const NXT_PACKET_IN: u32 = 17;

/// `NXM_OF_IN_PORT`: the 16-bit in_port header NXM matches use.
const NXM_OF_IN_PORT_HEADER: u32 = 0x0000_0002;

/// `nx_packet_in`: the fields of [`PacketIn`] with the match in NXM form
/// (`match_len`, 6 pad bytes, the TLVs padded to 8 bytes, then 2 pad bytes,
/// then the frame). Only the wire form differs, so this wraps a
/// [`PacketIn`] and derefs to it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct NxPacketIn(pub PacketIn);

impl std::ops::Deref for NxPacketIn {
    type Target = PacketIn;
    fn deref(&self) -> &PacketIn {
        &self.0
    }
}

impl std::ops::DerefMut for NxPacketIn {
    fn deref_mut(&mut self) -> &mut PacketIn {
        &mut self.0
    }
}

/// A 32-bit OpenFlow 1.1+ port as OVS's 16-bit OpenFlow 1.0 port
/// (`ofputil_port_to_ofp11` reversed: 0xffffff00.. maps to 0xff00..).
fn port_to_ofp10(p: u32) -> u16 {
    if p >= 0xffff_ff00 {
        (p - 0xffff_0000) as u16
    } else {
        p as u16
    }
}

/// Length of `m` as NXM TLVs (see [`put_nxm`]).
fn nxm_len(m: &Match) -> usize {
    m.iter()
        .map(|e| {
            if e.field == Field::InPort {
                return 6;
            }
            let exp = if e.field.info().nxm().is_experimenter() {
                4
            } else {
                0
            };
            4 + exp + e.value.len() + e.mask.as_ref().map_or(0, Vec::len)
        })
        .sum()
}

/// Writes `m` as OVS's `nx_put_match` does for the pipeline metadata of a
/// packet-in: the field order of the OXM encoding, each field under its
/// NXM header if it has one (in_port as the 16-bit `NXM_OF_IN_PORT`),
/// otherwise its OXM header (`OXM_OF_METADATA`). OVS writes VLAN and IP TOS
/// matches under different NXM fields (`NXM_OF_VLAN_TCI`, `NXM_OF_IP_TOS`);
/// a packet-in's metadata holds neither, and this writes them as they are.
fn put_nxm(m: &Match, out: &mut BytesMut) {
    for e in m.iter() {
        if e.field == Field::InPort {
            out.put_u32(NXM_OF_IN_PORT_HEADER);
            out.put_u16(port_to_ofp10(e.value_u128() as u32));
            continue;
        }
        let id = e.field.info().nxm();
        let payload = e.value.len() + e.mask.as_ref().map_or(0, Vec::len);
        out.put_u32(id.header(e.mask.is_some(), payload as u8));
        if id.is_experimenter() {
            out.put_u32(id.experimenter);
        }
        out.put_slice(&e.value);
        if let Some(mask) = &e.mask {
            out.put_slice(mask);
        }
    }
}

impl NxPacketIn {
    pub fn from_packet_in(pi: &PacketIn) -> NxPacketIn {
        NxPacketIn(pi.clone())
    }
}

/// OVS's `nx_pull_match` (loose): `match_len`, 6 pad bytes, the TLVs and
/// their padding to 8 bytes.
fn pull_nxm_loose(r: &mut Reader<'_>) -> Result<Match, OfpError> {
    let match_len = usize::from(r.u16()?);
    r.skip(6)?;
    let all = r.take_or(match_len.div_ceil(8) * 8, OfpError::OFPBMC_BAD_LEN)?;
    decode_match_tlvs_loose(&all[..match_len])
}

/// Writes what [`pull_nxm_loose`] reads.
fn put_nxm_padded(m: &Match, out: &mut BytesMut) {
    let match_len = nxm_len(m);
    out.put_u16(match_len as u16);
    out.put_bytes(0, 6);
    put_nxm(m, out);
    out.put_bytes(0, match_len.div_ceil(8) * 8 - match_len);
}

impl WireBody for NxPacketIn {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        PacketIn::decode_with(r, pull_nxm_loose).map(NxPacketIn)
    }

    fn encode(&self, out: &mut BytesMut) {
        self.0.encode_with(out, put_nxm_padded);
    }

    fn encoded_len(&self) -> usize {
        24 + nxm_len(&self.match_).div_ceil(8) * 8 + 2 + self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::tests_util::unhex as hex;
    use crate::msg::Message;

    /// OVS 3.1 sending the packet-in of `ct(table=1,zone=7)` then
    /// `set_field:3->reg1,controller` in table 1, for a reply of a
    /// connection committed with ct_mark 0x11 and ct_label 0x22, as
    /// `OFPT_PACKET_IN` (`monitor -P standard`) ...
    const OVS_STD: &str = "\
        040a00b400000000ffffffff002a010100000000000000000001006980000004\
        0000000280000a02080000010204000000030001d3080000002a000000ff0001\
        d40200070001d604000000110001d81000000000000000000000000000000022\
        0001f0040a0101010001f2040a0101020001ee01110001f80200010001fa0200\
        0200000000000000000050540000000a50540000000908004500001c00000000\
        0011a4cd0a0101020a0101010002000100080000";
    /// ... and as `NXT_PACKET_IN` (`-P nxt_packet_in`).
    const OVS_NX: &str = "\
        040400bc000000000000232000000011ffffffff002a01010000000000000000\
        006300000000000000000002000200000602080000010204000000030001d308\
        0000002a000000ff0001d40200070001d604000000110001d810000000000000\
        000000000000000000220001f0040a0101010001f2040a0101020001ee011100\
        01f80200010001fa0200020000000000000050540000000a5054000000090800\
        4500001c000000000011a4cd0a0101020a0101010002000100080000";

    #[test]
    fn ovs_packet_ins_decode_and_reencode_to_the_same_bytes() {
        let std = hex(OVS_STD);
        let (_, m) = Message::decode(&std).unwrap();
        let Message::PacketIn(pi) = &m else {
            panic!("{m:?}")
        };
        assert_eq!(
            pi.match_.to_string(),
            "ct_state=est|rpl|trk,ct_zone=7,ct_mark=0x11,ct_label=0x22,ct_nw_src=10.1.1.1,ct_nw_dst=10.1.1.2,ct_nw_proto=17,ct_tp_src=1,ct_tp_dst=2,ip,reg1=0x3,in_port=2"
        );
        assert_eq!(m.encode(0)[..], std[..]);
        let nx = hex(OVS_NX);
        let (_, m2) = Message::decode(&nx).unwrap();
        let Message::NxPacketIn(npi) = &m2 else {
            panic!("{m2:?}")
        };
        assert_eq!(npi, &NxPacketIn::from_packet_in(pi));
        assert_eq!(m2.encode(0)[..], nx[..]);
        assert_eq!(
            Message::NxPacketIn(NxPacketIn::from_packet_in(pi)).encode(0)[..],
            nx[..]
        );
    }

    #[test]
    fn packet_in_view_agrees_with_decode_and_setters_reach_it() {
        let std = hex(OVS_STD);
        let (_, m) = Message::decode(&std).unwrap();
        let Message::PacketIn(pi) = m else { panic!() };
        let v = PacketInView::new_checked(&std[..]).unwrap();
        assert_eq!(
            (v.buffer_id(), v.frame_total_len(), v.reason(), v.table_id()),
            (pi.buffer_id, pi.total_len, pi.reason, pi.table_id)
        );
        assert_eq!(v.cookie(), pi.cookie);
        assert_eq!(v.data(), &pi.data[..]);
        let mut r = Reader::new(v.match_bytes());
        assert_eq!(Match::decode(&mut r).unwrap(), pi.match_);
        assert!(r.is_empty());
        crate::view::testing::assert_len_checks::<PacketInView<_>>(&std);
        let mut v = PacketInView::new_checked(std.clone()).unwrap();
        v.set_table_id(9);
        v.set_reason(PacketInReason::NO_MATCH);
        v.set_cookie(0x55);
        let got = PacketIn::decode(&mut Reader::new(&v.into_inner()[8..])).unwrap();
        assert_eq!(
            (got.table_id, got.reason, got.cookie),
            (9, PacketInReason::NO_MATCH, 0x55)
        );
        // A match longer than the message; no room for the 2 pad bytes.
        let mut long = std.clone();
        long[26..28].copy_from_slice(&0x0400u16.to_be_bytes());
        assert_eq!(
            PacketInView::new_checked(long).err(),
            Some(OfpError::OFPBMC_BAD_LEN)
        );
        let mut no_pad = std[..24 + 112].to_vec();
        let n = no_pad.len() as u16;
        no_pad[2..4].copy_from_slice(&n.to_be_bytes());
        assert_eq!(
            PacketInView::new_checked(no_pad).err(),
            Some(OfpError::OFPBRC_BAD_LEN)
        );
    }

    #[test]
    fn nx_packet_in_truncated() {
        let nx = hex(OVS_NX);
        let body = &nx[16..];
        // Inside the NXM match, and before the 2 pad bytes after it.
        assert_eq!(
            NxPacketIn::decode(&mut Reader::new(&body[..60])),
            Err(OfpError::OFPBMC_BAD_LEN)
        );
        assert_eq!(
            NxPacketIn::decode(&mut Reader::new(&body[..24 + 104 + 1])),
            Err(OfpError::BAD_LEN)
        );
        assert_eq!(
            NxPacketIn::decode(&mut Reader::new(&body[..10])),
            Err(OfpError::BAD_LEN)
        );
    }

    #[test]
    fn reason_text_as_ovs_prints_it() {
        assert_eq!(PacketInReason(3).ovs_text(), "action_set");
        assert_eq!(PacketInReason(6).ovs_text(), "");
        assert_eq!(PacketInReason(9).ovs_text(), "9");
    }

    #[test]
    fn packet_in_round_trip_and_truncation() {
        let mut m = Match::new();
        m.set_exact(Field::InPort, 2).unwrap();
        let pi = PacketIn {
            buffer_id: u32::MAX,
            total_len: 4,
            reason: PacketInReason::ACTION,
            table_id: 1,
            cookie: 9,
            match_: m,
            data: vec![0xde, 0xad, 0xbe, 0xef],
        };
        let mut out = BytesMut::new();
        pi.encode(&mut out);
        assert_eq!(out.len(), pi.encoded_len());
        // in_port OXM right after the 16 fixed bytes.
        assert_eq!(&out[16..28], &[0, 1, 0, 12, 0x80, 0, 0, 4, 0, 0, 0, 2]);
        assert_eq!(PacketIn::decode(&mut Reader::new(&out)).unwrap(), pi);
        // Without the 2 pad bytes after the match: too short.
        assert_eq!(
            PacketIn::decode(&mut Reader::new(&out[..33])),
            Err(OfpError::BAD_LEN)
        );
    }
}
