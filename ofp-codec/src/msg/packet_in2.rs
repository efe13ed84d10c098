//! Nicira `NXT_PACKET_IN2` (experimenter 0x00002320, subtype 30): a
//! packet-in made of properties, what Open vSwitch sends to a connection
//! that asked for the `nxt_packet_in2` format (`NXT_SET_PACKET_IN_FORMAT`),
//! which is what `ovs-ofctl monitor` asks for first.
//!
//! ```text
//!  ofp_header | nicira id, subtype 30 | property... (each padded to 8 bytes)
//!  property = type:u16 len:u16 payload (len counts header + payload, not the padding)
//! ```
//!
//! Properties (`NXPINT_*`): 0 packet, 1 full_len (u32, only when the packet
//! was cut), 2 buffer_id (u32), 3 table_id (u8), 4 cookie (u64 after 4 pad
//! bytes), 5 reason (u8), 6 metadata (bare OXM list), 7 userdata (from
//! `controller(userdata=...)`), 8 continuation (nested, opaque to everyone
//! but the switch that made it; `controller(pause)`).
//!
//! Decoding is OVS's `ofputil_decode_packet_in` in its loose mode (the mode
//! `ovs-ofctl` decodes with): unknown properties and metadata fields are
//! skipped, a packet
//! property is required, `full_len` may not be below the packet length.
//! Encoding is OVS's `ofputil_encode_nx_packet_in2`: packet, full_len if
//! the packet is shorter than `total_len`, buffer_id if not `OFP_NO_BUFFER`
//! (OVS never buffers and never writes it), table_id, cookie unless all
//! ones, reason, metadata, continuation if any, userdata if any. So
//! `decode(encode(p)) == p`; bytes with another property order decode to
//! the same value and re-encode in OVS's order.
//!
//! The continuation is kept as the raw bytes of the nested property list;
//! [`Continuation`] decodes it for printing, [`super::resume::Paused`]
//! for resuming (`controller(pause)`, `NXT_RESUME`).

use bytes::{BufMut, BytesMut};

use super::WireBody;
use super::packet_in::PacketInReason;
use crate::error::{ONF_VENDOR_ID, OfpError};
use crate::flow_match::Match;
use crate::open_enum;
use crate::reader::Reader;

/// Nicira subtype of `NXT_PACKET_IN2`.
pub const NXT_PACKET_IN2: u32 = 30;

/// OVS's `OFPBPC_BAD_LEN` on OpenFlow 1.3 (shares 13,3 with `OFPTFFC_BAD_LEN`).
pub const OFPBPC_BAD_LEN: OfpError = OfpError::OFPTFFC_BAD_LEN;
/// OVS's `OFPBPC_BAD_EXPERIMENTER` on OpenFlow 1.3 (an ONF extension error).
pub const OFPBPC_BAD_EXPERIMENTER: OfpError = OfpError::vendor(ONF_VENDOR_ID, 4445);

open_enum! {
    /// `nx_packet_in2_prop_type`.
    pub struct PacketIn2Prop(u16) {
        PACKET = 0 => "packet",
        FULL_LEN = 1 => "full_len",
        BUFFER_ID = 2 => "buffer_id",
        TABLE_ID = 3 => "table_id",
        COOKIE = 4 => "cookie",
        REASON = 5 => "reason",
        METADATA = 6 => "metadata",
        USERDATA = 7 => "userdata",
        CONTINUATION = 8 => "continuation",
    }
}

/// `OFP_NO_BUFFER`.
pub const NO_BUFFER: u32 = u32::MAX;

/// A decoded `NXT_PACKET_IN2`; absent properties hold OVS's defaults
/// (`buffer_id` none, `table_id` 0, `cookie` all ones, `reason` 0,
/// `metadata` empty, `total_len` the packet's length).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PacketIn2 {
    /// The frame (possibly cut; see `total_len`). Never empty on the wire.
    pub packet: Vec<u8>,
    /// Length of the whole frame, at least `packet.len()`.
    pub total_len: u32,
    pub buffer_id: u32,
    pub table_id: u8,
    /// `u64::MAX`: no flow (a packet-out's own actions), not printed.
    pub cookie: u64,
    pub reason: PacketInReason,
    /// Pipeline metadata (in_port, registers, ct fields, ...).
    pub metadata: Match,
    pub userdata: Vec<u8>,
    /// Raw contents of the `continuation` property (empty: none).
    pub continuation: Vec<u8>,
}

impl Default for PacketIn2 {
    fn default() -> Self {
        PacketIn2 {
            packet: Vec::new(),
            total_len: 0,
            buffer_id: NO_BUFFER,
            table_id: 0,
            cookie: u64::MAX,
            reason: PacketInReason::NO_MATCH,
            metadata: Match::new(),
            userdata: Vec::new(),
            continuation: Vec::new(),
        }
    }
}

/// One property as `ofpprop_pull` reads it: type and payload (the
/// experimenter header, if any, already consumed).
pub(crate) struct Prop<'a> {
    /// Standard type, or `None` for an experimenter property.
    pub ty: Option<u16>,
    /// Bytes after the 4-byte header, up to the stated length.
    pub payload: &'a [u8],
}

/// Reads one property padded to 8 bytes (OVS `ofpprop_pull`, experimenter
/// types from 0xffff).
pub(crate) fn pull_prop<'a>(r: &mut Reader<'a>) -> Result<Prop<'a>, OfpError> {
    let head = r.peek(4).ok_or(OFPBPC_BAD_LEN)?;
    let ty = u16::from_be_bytes([head[0], head[1]]);
    let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    let padded = len.div_ceil(8) * 8;
    if len < 4 || padded > r.remaining() {
        return Err(OFPBPC_BAD_LEN);
    }
    let all = r.take(padded)?;
    if ty == 0xffff {
        if len < 12 {
            return Err(OFPBPC_BAD_LEN);
        }
        if all[4..8] == [0; 4] {
            return Err(OFPBPC_BAD_EXPERIMENTER);
        }
        return Ok(Prop {
            ty: None,
            payload: &all[12..len],
        });
    }
    Ok(Prop {
        ty: Some(ty),
        payload: &all[4..len],
    })
}

/// `ofpprop_parse_u32`: exactly 4 bytes.
pub(crate) fn prop_u32(p: &[u8]) -> Result<u32, OfpError> {
    let a: [u8; 4] = p.try_into().map_err(|_| OFPBPC_BAD_LEN)?;
    Ok(u32::from_be_bytes(a))
}

/// `ofpprop_parse_u8`: at least 1 byte.
pub(crate) fn prop_u8(p: &[u8]) -> Result<u8, OfpError> {
    p.first().copied().ok_or(OFPBPC_BAD_LEN)
}

/// `ofpprop_parse_be64`: 4 pad bytes then exactly 8 bytes.
pub(crate) fn prop_u64(p: &[u8]) -> Result<u64, OfpError> {
    if p.len() != 12 {
        return Err(OFPBPC_BAD_LEN);
    }
    let a: [u8; 8] = p[4..].try_into().map_err(|_| OFPBPC_BAD_LEN)?;
    Ok(u64::from_be_bytes(a))
}

/// Writes a property header and `payload`, padded to 8 bytes.
pub(crate) fn put_prop(out: &mut BytesMut, ty: u16, payload: &[u8]) {
    let len = 4 + payload.len();
    out.put_u16(ty);
    out.put_u16(len as u16);
    out.put_slice(payload);
    out.put_bytes(0, len.div_ceil(8) * 8 - len);
}

fn prop_len(payload_len: usize) -> usize {
    (4 + payload_len).div_ceil(8) * 8
}

/// Decodes a bare OXM/NXM list as OVS does for packet-ins (its "loose"
/// mode): entries of unknown fields, or of known fields with the wrong
/// length, are skipped (OVS's `OFPBMC_BAD_FIELD` is ignored); every other
/// check of [`Match::decode_oxm_tlvs`] applies.
pub fn decode_match_tlvs_loose(bytes: &[u8]) -> Result<Match, OfpError> {
    let mut r = Reader::new(bytes);
    let mut known = Vec::with_capacity(bytes.len());
    while !r.is_empty() {
        let start = r.position();
        let h = crate::flow_match::oxm::pull_header(&mut r)?;
        r.take_or(h.payload_len, OfpError::OFPBMC_BAD_LEN)?;
        if h.field.is_some() {
            known.extend_from_slice(&bytes[start..r.position()]);
        }
    }
    Match::decode_oxm_tlvs(&known)
}

impl PacketIn2 {
    /// The packet-in as a `NXT_PACKET_IN2` carries it, from the fields of
    /// an `OFPT_PACKET_IN` (no userdata, no continuation).
    pub fn from_packet_in(pi: &super::PacketIn) -> PacketIn2 {
        PacketIn2 {
            packet: pi.data.clone(),
            total_len: u32::from(pi.total_len).max(pi.data.len() as u32),
            buffer_id: pi.buffer_id,
            table_id: pi.table_id,
            cookie: pi.cookie,
            reason: pi.reason,
            metadata: pi.match_.clone(),
            userdata: Vec::new(),
            continuation: Vec::new(),
        }
    }

    fn metadata_len(&self) -> usize {
        self.metadata.oxm_tlvs_len()
    }
}

impl PacketIn2 {
    /// Decodes the properties loosely (`strict` false: unknown properties
    /// and metadata fields skipped, as `ovs-ofctl`) or strictly (as a
    /// switch decodes `NXT_RESUME`: `OFPBPC_BAD_TYPE`, `OFPBPC_BAD_EXP_TYPE`,
    /// match errors).
    pub(crate) fn decode_with(r: &mut Reader<'_>, strict: bool) -> Result<Self, OfpError> {
        let mut p = PacketIn2::default();
        let mut full_len = 0u32;
        while !r.is_empty() {
            let prop = pull_prop(r)?;
            let Some(ty) = prop.ty else {
                if strict {
                    return Err(super::resume::OFPBPC_BAD_EXP_TYPE);
                }
                continue; // loose: unknown experimenter property
            };
            let v = prop.payload;
            match PacketIn2Prop(ty) {
                PacketIn2Prop::PACKET => p.packet = v.to_vec(),
                PacketIn2Prop::FULL_LEN => full_len = prop_u32(v)?,
                PacketIn2Prop::BUFFER_ID => p.buffer_id = prop_u32(v)?,
                PacketIn2Prop::TABLE_ID => p.table_id = prop_u8(v)?,
                PacketIn2Prop::COOKIE => p.cookie = prop_u64(v)?,
                PacketIn2Prop::REASON => p.reason = PacketInReason(prop_u8(v)?),
                PacketIn2Prop::METADATA if strict => p.metadata = Match::decode_oxm_tlvs(v)?,
                PacketIn2Prop::METADATA => p.metadata = decode_match_tlvs_loose(v)?,
                PacketIn2Prop::USERDATA => p.userdata = v.to_vec(),
                PacketIn2Prop::CONTINUATION => {
                    // `ofpprop_parse_nested`: 4 pad bytes, then properties.
                    if v.len() < 4 {
                        return Err(OFPBPC_BAD_LEN);
                    }
                    p.continuation = v[4..].to_vec();
                }
                _ if strict => return Err(super::resume::OFPBPC_BAD_TYPE),
                _ => {} // loose: unknown property
            }
        }
        if p.packet.is_empty() {
            return Err(OfpError::OFPBRC_BAD_LEN);
        }
        let len = p.packet.len() as u32;
        p.total_len = match full_len {
            0 => len,
            n if n < len => return Err(OfpError::OFPBRC_BAD_LEN),
            n => n,
        };
        Ok(p)
    }
}

impl WireBody for PacketIn2 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        PacketIn2::decode_with(r, false)
    }

    fn encode(&self, out: &mut BytesMut) {
        put_prop(out, PacketIn2Prop::PACKET.0, &self.packet);
        if self.total_len as usize != self.packet.len() {
            put_prop(
                out,
                PacketIn2Prop::FULL_LEN.0,
                &self.total_len.to_be_bytes(),
            );
        }
        if self.buffer_id != NO_BUFFER {
            put_prop(
                out,
                PacketIn2Prop::BUFFER_ID.0,
                &self.buffer_id.to_be_bytes(),
            );
        }
        put_prop(out, PacketIn2Prop::TABLE_ID.0, &[self.table_id]);
        if self.cookie != u64::MAX {
            let mut v = [0u8; 12];
            v[4..].copy_from_slice(&self.cookie.to_be_bytes());
            put_prop(out, PacketIn2Prop::COOKIE.0, &v);
        }
        put_prop(out, PacketIn2Prop::REASON.0, &[self.reason.0]);
        let start = out.len();
        out.put_u32(0); // header, written below
        self.metadata.encode_oxm_tlvs(out);
        let len = out.len() - start;
        out[start..start + 2].copy_from_slice(&PacketIn2Prop::METADATA.0.to_be_bytes());
        out[start + 2..start + 4].copy_from_slice(&(len as u16).to_be_bytes());
        out.put_bytes(0, len.div_ceil(8) * 8 - len);
        if !self.continuation.is_empty() {
            let len = 8 + self.continuation.len();
            out.put_u16(PacketIn2Prop::CONTINUATION.0);
            out.put_u16(len as u16);
            out.put_u32(0);
            out.put_slice(&self.continuation);
            out.put_bytes(0, len.div_ceil(8) * 8 - len);
        }
        if !self.userdata.is_empty() {
            put_prop(out, PacketIn2Prop::USERDATA.0, &self.userdata);
        }
    }

    fn encoded_len(&self) -> usize {
        let mut n = prop_len(self.packet.len());
        if self.total_len as usize != self.packet.len() {
            n += 8;
        }
        if self.buffer_id != NO_BUFFER {
            n += 8;
        }
        n += 8; // table_id
        if self.cookie != u64::MAX {
            n += 16;
        }
        n += 8; // reason
        n += prop_len(self.metadata_len());
        if !self.continuation.is_empty() {
            n += prop_len(4 + self.continuation.len());
        }
        if !self.userdata.is_empty() {
            n += prop_len(self.userdata.len());
        }
        n
    }
}

/// `nx_continuation_prop_type`: the private properties OVS puts in a
/// continuation.
pub mod nxcpt {
    pub const BRIDGE: u16 = 0x8000;
    pub const STACK: u16 = 0x8001;
    pub const MIRRORS: u16 = 0x8002;
    pub const CONNTRACKED: u16 = 0x8003;
    pub const TABLE_ID: u16 = 0x8004;
    pub const COOKIE: u16 = 0x8005;
    pub const ACTIONS: u16 = 0x8006;
    pub const ACTION_SET: u16 = 0x8007;
    pub const ODP_PORT: u16 = 0x8008;
}

/// One decoded continuation property, in wire order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContinuationProp {
    /// The bridge's UUID as OVS writes it (four 32-bit words in OVS's
    /// host byte order).
    Bridge([u8; 16]),
    /// One value of the field stack (bottom first in wire order).
    Stack(Vec<u8>),
    Mirrors(u32),
    Conntracked,
    TableId(u8),
    Cookie(u64),
    /// Encoded OpenFlow actions (after 4 pad bytes), with the table and
    /// cookie in effect.
    Actions(Vec<u8>),
    ActionSet(Vec<u8>),
    OdpPort(u32),
}

/// A decoded continuation (OVS's `ofputil_decode_packet_in_private`, loose).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Continuation {
    pub props: Vec<ContinuationProp>,
}

impl Continuation {
    /// Decodes the raw contents of a `continuation` property. Unknown
    /// properties are skipped (loose, as `ovs-ofctl`).
    pub fn decode(bytes: &[u8]) -> Result<Continuation, OfpError> {
        let mut r = Reader::new(bytes);
        let mut props = Vec::new();
        while !r.is_empty() {
            let p = pull_prop(&mut r)?;
            let Some(ty) = p.ty else { continue };
            let v = p.payload;
            props.push(match ty {
                nxcpt::BRIDGE => {
                    // `ofpprop_parse_uuid`: exactly 16 bytes.
                    let u: [u8; 16] = v.try_into().map_err(|_| OFPBPC_BAD_LEN)?;
                    ContinuationProp::Bridge(u)
                }
                nxcpt::STACK => {
                    if v.len() > 128 {
                        return Err(OFPBPC_BAD_LEN);
                    }
                    ContinuationProp::Stack(v.to_vec())
                }
                nxcpt::MIRRORS => ContinuationProp::Mirrors(prop_u32(v)?),
                nxcpt::CONNTRACKED => ContinuationProp::Conntracked,
                nxcpt::TABLE_ID => ContinuationProp::TableId(prop_u8(v)?),
                nxcpt::COOKIE => ContinuationProp::Cookie(prop_u64(v)?),
                nxcpt::ACTIONS | nxcpt::ACTION_SET => {
                    if v.len() < 4 {
                        return Err(OFPBPC_BAD_LEN);
                    }
                    let acts = v[4..].to_vec();
                    if ty == nxcpt::ACTIONS {
                        ContinuationProp::Actions(acts)
                    } else {
                        ContinuationProp::ActionSet(acts)
                    }
                }
                nxcpt::ODP_PORT => ContinuationProp::OdpPort(prop_u32(v)?),
                _ => continue,
            });
        }
        Ok(Continuation { props })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::field::Field;
    use crate::msg::Message;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// What OVS 3.1's ovs-vswitchd sent for `controller(userdata=01.02.03)`
    /// after `set_field:0x5->reg0,set_field:0xabc->metadata` in table 0
    /// (`ovs-ofctl -O OpenFlow13 -mmm monitor br0 65534 -P nxt_packet_in2`).
    pub(crate) const OVS_USERDATA: &str = "\
        0404008800000000000023200000001e0000002e50540000000a505400000009\
        08004500001c000000000011a4cd0a0101010a01010200010002000800000000\
        0003000500000000000400100000000000000000000000000005000501000000\
        0006002080000004000000010001000400000005800004080000000000000abc\
        0007000701020300";

    /// What OVS sent for `controller(max_len=20)` in table 1 after
    /// `ct(table=1,zone=7)` of a reply to a connection committed with
    /// ct_mark 0x11 and ct_label 0x22 (OVS sends the whole packet).
    pub(crate) const OVS_CT: &str = "\
        040400d000000000000023200000001e0000002e50540000000a505400000009\
        08004500001c000000000011a4cd0a0101020a01010100020001000800000000\
        0003000501000000000400100000000000000000000000000005000501000000\
        00060069800000040000000280000a02080000010204000000030001d3080000\
        002a000000ff0001d40200070001d604000000110001d8100000000000000000\
        00000000000000220001f0040a0101010001f2040a0101020001ee01110001f8\
        0200010001fa02000200000000000000";

    fn ovs_userdata() -> Vec<u8> {
        hex(OVS_USERDATA)
    }

    #[test]
    fn decodes_ovs_packet_in2_with_userdata() {
        let bytes = ovs_userdata();
        let (h, m) = Message::decode(&bytes).unwrap();
        assert_eq!(h.xid, 0);
        let Message::PacketIn2(p) = m else {
            panic!("{m:?}")
        };
        assert_eq!(p.packet.len(), 42);
        assert_eq!(p.total_len, 42);
        assert_eq!(p.table_id, 0);
        assert_eq!(p.cookie, 0);
        assert_eq!(p.reason, PacketInReason::ACTION);
        assert_eq!(p.buffer_id, NO_BUFFER);
        assert_eq!(p.userdata, vec![1, 2, 3]);
        assert_eq!(p.metadata.value(Field::InPort), Some(1));
        assert_eq!(p.metadata.value(Field::Reg(0)), Some(5));
        assert_eq!(p.metadata.value(Field::Metadata), Some(0xabc));
        assert!(p.continuation.is_empty());
        // Encoding gives OVS's bytes back.
        assert_eq!(Message::PacketIn2(p).encode(0)[..], bytes[..]);
    }

    #[test]
    fn round_trip_with_every_property() {
        let mut md = Match::new();
        md.set_exact(Field::InPort, 3).unwrap();
        md.set_exact(Field::CtZone, 9).unwrap();
        let p = PacketIn2 {
            packet: vec![0xaa; 13],
            total_len: 100,
            buffer_id: 7,
            table_id: 4,
            cookie: 0x1234,
            reason: PacketInReason::INVALID_TTL,
            metadata: md,
            userdata: vec![9; 9],
            continuation: vec![0x80, 0x03, 0, 4, 0, 0, 0, 0],
        };
        let mut out = BytesMut::new();
        p.encode(&mut out);
        assert_eq!(out.len(), p.encoded_len());
        assert_eq!(out.len() % 8, 0);
        let back = PacketIn2::decode(&mut Reader::new(&out)).unwrap();
        assert_eq!(back, p);
        let c = Continuation::decode(&back.continuation).unwrap();
        assert_eq!(c.props, vec![ContinuationProp::Conntracked]);
    }

    #[test]
    fn truncated_and_bad_lengths() {
        let bytes = ovs_userdata();
        let body = &bytes[16..];
        // Cut inside a property: the padded length exceeds what is left.
        for cut in [3, 20, 47, body.len() - 1] {
            assert!(PacketIn2::decode(&mut Reader::new(&body[..cut])).is_err());
        }
        // A property length below its header.
        let mut bad = body.to_vec();
        bad[3] = 2;
        assert_eq!(
            PacketIn2::decode(&mut Reader::new(&bad)),
            Err(OFPBPC_BAD_LEN)
        );
        // No packet property at all.
        let only_reason = [0u8, 5, 0, 5, 1, 0, 0, 0];
        assert_eq!(
            PacketIn2::decode(&mut Reader::new(&only_reason)),
            Err(OfpError::OFPBRC_BAD_LEN)
        );
        // full_len below the packet's length.
        let mut short_full = vec![0u8, 0, 0, 6, 1, 2, 0, 0];
        short_full.extend_from_slice(&[0, 1, 0, 8, 0, 0, 0, 1]);
        assert_eq!(
            PacketIn2::decode(&mut Reader::new(&short_full)),
            Err(OfpError::OFPBRC_BAD_LEN)
        );
        // A cookie property of the wrong size.
        let mut bad_cookie = vec![0u8, 0, 0, 5, 1, 0, 0, 0];
        bad_cookie.extend_from_slice(&[0, 4, 0, 12, 0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0]);
        assert_eq!(
            PacketIn2::decode(&mut Reader::new(&bad_cookie)),
            Err(OFPBPC_BAD_LEN)
        );
        // Experimenter property with experimenter id 0.
        let mut exp0 = vec![0u8, 0, 0, 5, 1, 0, 0, 0];
        exp0.extend_from_slice(&[0xff, 0xff, 0, 12, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(
            PacketIn2::decode(&mut Reader::new(&exp0)),
            Err(OFPBPC_BAD_EXPERIMENTER)
        );
        // Unknown metadata fields are skipped (an NXM header of field 1
        // with 2 bytes: ETH_DST has 6), known ones kept.
        let md = hex("00000202 0005 80000004 00000003");
        let m = decode_match_tlvs_loose(&md).unwrap();
        assert_eq!(m.to_string(), "in_port=3");
        assert_eq!(
            decode_match_tlvs_loose(&md[..5]),
            Err(OfpError::OFPBMC_BAD_LEN)
        );
        // Unknown properties are skipped.
        let mut unknown = vec![0u8, 0, 0, 5, 1, 0, 0, 0];
        unknown.extend_from_slice(&[0, 99, 0, 4, 0, 0, 0, 0]);
        let p = PacketIn2::decode(&mut Reader::new(&unknown)).unwrap();
        assert_eq!(p.packet, vec![1]);
    }
}
