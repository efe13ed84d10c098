//! OXM/NXM binary codec for [`Match`]: `struct ofp_match` (OpenFlow 1.3,
//! type OFPMT_OXM) and bare TLV lists.
//!
//! Decoding follows OVS's `oxm_pull_match()` strictly, error for error:
//! a short or inconsistent length is `OFPBMC_BAD_LEN`, a type other than
//! OXM is `OFPBMC_BAD_TYPE`, value bits outside the mask are
//! `OFPBMC_BAD_WILDCARDS`, an unknown header (or a known header with the
//! wrong length) is `OFPBMC_BAD_FIELD`, a partial mask on a non-maskable
//! field is `OFPBMC_BAD_MASK`, an out-of-range value is `OFPBMC_BAD_VALUE`,
//! a field whose prerequisites are not met by the fields *before* it is
//! `OFPBMC_BAD_PREREQ`, and a field matched twice is `OFPBMC_DUP_FIELD`.
//!
//! Encoding emits fields in the order of OVS's `nx_put_raw()` (the `Field`
//! order) under the header OVS uses on OF1.3.

use bytes::{BufMut, BytesMut};

use super::standard::{OFP11_MATCH_LEN, OFPMT_STANDARD, decode_ofp11_match};
use super::{Match, be_to_u128, storage_fields, u128_to_be, value_limit, width_ones};
use crate::error::OfpError;
use crate::field::{Field, OXM_EXPERIMENTER_CLASS, OxmId, Prereq};
use crate::reader::Reader;

/// `OFPMT_OXM`: the only match type OpenFlow 1.3 uses.
pub const OFPMT_OXM: u16 = 1;
/// Length of the `ofp_match` header (type + length).
pub const OFP_MATCH_HEADER_LEN: usize = 4;

crate::view! {
    /// `ofp_match` header (OpenFlow 1.3): `length` covers the header and
    /// the OXM TLVs but not the padding to 8 bytes; the tail is the TLVs.
    pub struct MatchView: sized(OFP_MATCH_HEADER_LEN, LENGTH, OfpError::OFPBMC_BAD_LEN) {
        /// `OFPMT_OXM` (1), or `OFPMT_STANDARD` (0) for OpenFlow 1.1's.
        MATCH_TYPE: 0..2 => match_type, set_match_type: u16;
        LENGTH: 2..4 => length, set_length: u16;
    }
}

crate::view! {
    /// One OXM/NXM TLV header. Its `length` counts only the payload (the
    /// experimenter id of class 0xffff, the value, the mask), so the
    /// structure is `4 + length` bytes and the tail is the payload.
    pub struct OxmView: sized(4, LENGTH + 4, OfpError::OFPBMC_BAD_LEN) {
        /// `OFPXMC_*` / NXM class.
        CLASS: 0..2 => class, set_class: u16;
        /// Field number (7 bits) and has-mask bit.
        FIELD_HASMASK: 2..3 => field_hasmask, set_field_hasmask: u8;
        LENGTH: 3..4 => length, set_length: u8;
    }
}

impl<T: AsRef<[u8]>> OxmView<T> {
    /// The 7-bit field number.
    pub fn field(&self) -> u8 {
        self.field_hasmask() >> 1
    }

    /// Whether a mask follows the value.
    pub fn has_mask(&self) -> bool {
        self.field_hasmask() & 1 != 0
    }

    /// The header as one word, as `OxmId::parse_header` takes it.
    pub fn header(&self) -> u32 {
        crate::view::read(self.as_bytes(), 0..4)
    }
}

/// An OXM/NXM header as read from the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OxmHeader {
    pub id: OxmId,
    pub hasmask: bool,
    /// Bytes of value (+ mask) that follow the header (and experimenter id).
    pub payload_len: usize,
    /// The field, if the header is one OVS accepts in a match with the
    /// right length.
    pub field: Option<Field>,
}

/// NXM_OF_IN_PORT: `in_port` as a 16-bit OpenFlow 1.0 port, which OVS also
/// accepts in OF1.3 matches.
pub const NXM_OF_IN_PORT: OxmId = OxmId::new(crate::field::NXM_OF_CLASS, 0);

/// Reads one OXM header (and the experimenter id for class 0xffff).
/// `OFPBMC_BAD_LEN` if the buffer is too short or the length field is smaller
/// than the experimenter id. An unknown field is not an error here.
pub fn pull_header(r: &mut Reader<'_>) -> Result<OxmHeader, OfpError> {
    let word = r.peek(4).ok_or(OfpError::OFPBMC_BAD_LEN)?;
    let header = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
    let (mut id, hasmask, len) = OxmId::parse_header(header);
    let mut exp_len = 0;
    if id.class == OXM_EXPERIMENTER_CLASS {
        let both = r.peek(8).ok_or(OfpError::OFPBMC_BAD_LEN)?;
        id.experimenter = u32::from_be_bytes([both[4], both[5], both[6], both[7]]);
        exp_len = 4;
    }
    if (len as usize) < exp_len {
        return Err(OfpError::OFPBMC_BAD_LEN);
    }
    r.skip(4 + exp_len).map_err(|_| OfpError::OFPBMC_BAD_LEN)?;
    let payload_len = len as usize - exp_len;
    let width = if id == NXM_OF_IN_PORT {
        2
    } else {
        Field::from_oxm_id(id).map_or(0, Field::width_bytes)
    };
    let expect = if hasmask { 2 * width } else { width };
    let field = if width == 0 || payload_len != expect {
        None
    } else if id == NXM_OF_IN_PORT {
        Some(Field::InPort)
    } else {
        Field::from_oxm_id(id)
    };
    Ok(OxmHeader {
        id,
        hasmask,
        payload_len,
        field,
    })
}

/// One decoded match TLV: field, value, mask (`None` if the TLV had none),
/// each `field.width_bytes()` long (a 16-bit NXM_OF_IN_PORT is widened to
/// the OF1.1+ port number).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OxmEntry {
    pub field: Field,
    pub value: Vec<u8>,
    pub mask: Option<Vec<u8>>,
}

/// Reads one match TLV and checks it on its own (not against other fields):
/// length, known field, mask consistency, mask and value validity.
pub fn decode_entry(r: &mut Reader<'_>) -> Result<OxmEntry, OfpError> {
    let (field, v, m) = decode_entry_u128(r)?;
    let width = field.width_bytes();
    Ok(OxmEntry {
        field,
        value: u128_to_be(v, width),
        mask: m.map(|m| u128_to_be(m, width)),
    })
}

/// [`decode_entry`] without copying the TLV: field, value and mask (`None`
/// if the TLV had none) as integers `field.width_bytes()` wide.
fn decode_entry_u128(r: &mut Reader<'_>) -> Result<(Field, u128, Option<u128>), OfpError> {
    let h = pull_header(r)?;
    let payload = r.take_or(h.payload_len, OfpError::OFPBMC_BAD_LEN)?;
    let width = if h.hasmask {
        h.payload_len / 2
    } else {
        h.payload_len
    };
    let value = &payload[..width];
    let mask = h.hasmask.then(|| &payload[width..2 * width]);
    if let Some(m) = mask
        && value.iter().zip(m).any(|(v, m)| v & !m != 0)
    {
        return Err(OfpError::OFPBMC_BAD_WILDCARDS);
    }
    let field = h.field.ok_or(OfpError::OFPBMC_BAD_FIELD)?;
    let v = be_to_u128(value);
    let mask = mask.map(be_to_u128);
    if let Some(m) = mask
        && !field.is_maskable()
        && m != 0
        && m != width_ones(width)
    {
        return Err(OfpError::OFPBMC_BAD_MASK);
    }
    if h.id == NXM_OF_IN_PORT {
        // Any 16-bit port is valid; reserved ones map to 0xffffff00 and up.
        let port = if v >= 0xff00 { v + 0xffff_0000 } else { v };
        // The mask is all zeros or all ones here (in_port is not maskable).
        let mask = mask.map(|m| if m == 0 { 0 } else { 0xffff_ffff });
        return Ok((field, port, mask));
    }
    let valid = match field {
        Field::InPort | Field::ActsetOutput => super::is_valid_ofp11_port(v as u32),
        Field::NwTos => v & 0x3 == 0,
        _ => value_limit(field).is_none_or(|lim| v <= lim),
    };
    if !valid {
        return Err(OfpError::OFPBMC_BAD_VALUE);
    }
    Ok((field, v, mask))
}

/// Appends one TLV for `field` under the header OVS uses on OF1.3.
/// `value` and `mask` must be `field.width_bytes()` long.
pub fn encode_entry(buf: &mut BytesMut, field: Field, value: &[u8], mask: Option<&[u8]>) {
    let info = field.info();
    let payload = value.len() + mask.map_or(0, <[u8]>::len);
    buf.put_u32(info.oxm.header(mask.is_some(), payload as u8));
    if info.oxm.is_experimenter() {
        buf.put_u32(info.oxm.experimenter);
    }
    buf.put_slice(value);
    if let Some(m) = mask {
        buf.put_slice(m);
    }
}

fn entry_len(field: Field, masked: bool) -> usize {
    let info = field.info();
    let exp = if info.oxm.is_experimenter() { 4 } else { 0 };
    4 + exp + info.width_bytes as usize * if masked { 2 } else { 1 }
}

impl Match {
    /// Decodes a bare list of OXM/NXM TLVs (no `ofp_match` header), checking
    /// each field's prerequisites against the fields before it.
    pub fn decode_oxm_tlvs(bytes: &[u8]) -> Result<Match, OfpError> {
        let mut r = Reader::new(bytes);
        let mut m = Match::new();
        // A packet_type entry may vanish from `m` (a later field implies it).
        let mut seen_packet_type = false;
        while !r.is_empty() {
            let (field, value, mask) = decode_entry_u128(&mut r)?;
            if !m.prereq_ok(field.prereq()) {
                return Err(OfpError::OFPBMC_BAD_PREREQ);
            }
            let dup = match field {
                Field::PacketType => seen_packet_type,
                f => storage_fields(f).iter().any(|f| m.contains(*f)),
            };
            if dup {
                return Err(OfpError::OFPBMC_DUP_FIELD);
            }
            // A field with a prerequisite sets the Ethernet packet type (OVS
            // match_add_ethernet_prereq), so a later packet_type is a duplicate.
            seen_packet_type |= field == Field::PacketType || field.prereq() != Prereq::None;
            // What `Match::set` does with the TLV's bytes (their lengths are
            // the field's width, and value bits outside the mask were
            // refused above).
            m.set_u128(field, value, mask)?;
        }
        Ok(m)
    }

    /// Decodes an OpenFlow 1.3 `struct ofp_match` including its padding to a
    /// multiple of 8 bytes; also the OpenFlow 1.1 `ofp11_match`
    /// (`OFPMT_STANDARD`, 88 bytes), which OVS accepts too.
    pub fn decode(r: &mut Reader<'_>) -> Result<Match, OfpError> {
        let head = r
            .peek(OFP_MATCH_HEADER_LEN)
            .ok_or(OfpError::OFPBMC_BAD_LEN)?;
        let mtype = u16::from_be_bytes([head[0], head[1]]);
        let len = u16::from_be_bytes([head[2], head[3]]) as usize;
        match mtype {
            OFPMT_OXM => {}
            OFPMT_STANDARD => {
                if len != OFP11_MATCH_LEN {
                    return Err(OfpError::OFPBMC_BAD_LEN);
                }
                let all = r.take_or(OFP11_MATCH_LEN, OfpError::OFPBMC_BAD_LEN)?;
                return decode_ofp11_match(all);
            }
            _ => return Err(OfpError::OFPBMC_BAD_TYPE),
        }
        if len < OFP_MATCH_HEADER_LEN {
            return Err(OfpError::OFPBMC_BAD_LEN);
        }
        let padded = len.div_ceil(8) * 8;
        let all = r.take_or(padded, OfpError::OFPBMC_BAD_LEN)?;
        Match::decode_oxm_tlvs(&all[OFP_MATCH_HEADER_LEN..len])
    }

    /// Length of the bare TLV list [`Match::encode_oxm_tlvs`] writes.
    pub fn oxm_tlvs_len(&self) -> usize {
        self.wire_entries()
            .map(|(f, _, m)| entry_len(f, m.is_some()))
            .sum::<usize>()
    }

    /// Whether [`Match::encode`] loses information, as Open vSwitch's OXM
    /// encoder does for the same match: true exactly for a `vlan_pcp` part
    /// (decoded from `NXM_OF_VLAN_TCI` or an OpenFlow 1.1 match) that has a
    /// partial mask or no VLAN id present (`vlan_tci=0x8000`,
    /// `vlan_tci=0x0680`, OpenFlow 1.1 `dl_vlan=none`). For those,
    /// `decode(encode(m))` differs from `m` or is refused with
    /// `OFPBMC_BAD_PREREQ`, in rvs as in OVS 3.1 (`ovs-ofctl ofp-print`
    /// of the re-encoded bytes); for every other match it gives `m` back.
    pub fn oxm_reencoding_is_lossy(&self) -> bool {
        self.get(Field::VlanPcp).is_some_and(|pcp| {
            pcp.mask.is_some()
                || self.flow_value(Field::VlanVid) as u16 & super::OFPVID_PRESENT == 0
        })
    }

    /// Entries as OVS puts them on the wire: `vlan_pcp` exact, and only
    /// with a non-zero `vlan_vid` (see the `vlan_tci` note in the module docs).
    fn wire_entries(&self) -> impl Iterator<Item = (Field, &[u8], Option<&[u8]>)> {
        let has_vid = self.flow_value(Field::VlanVid) != 0;
        self.iter().filter_map(move |e| match e.field {
            Field::VlanPcp if !has_vid => None,
            Field::VlanPcp => Some((e.field, &e.value[..], None)),
            f => Some((f, &e.value[..], e.mask.as_deref())),
        })
    }

    /// Appends the match as a bare TLV list in OVS's order.
    pub fn encode_oxm_tlvs(&self, buf: &mut BytesMut) {
        for (field, value, mask) in self.wire_entries() {
            encode_entry(buf, field, value, mask);
        }
    }

    /// Length of the `ofp_match` including padding.
    pub fn encoded_len(&self) -> usize {
        (OFP_MATCH_HEADER_LEN + self.oxm_tlvs_len()).div_ceil(8) * 8
    }

    /// Appends the OpenFlow 1.3 `struct ofp_match`, padded to 8 bytes.
    pub fn encode(&self, buf: &mut BytesMut) {
        let len = OFP_MATCH_HEADER_LEN + self.oxm_tlvs_len();
        buf.put_u16(OFPMT_OXM);
        buf.put_u16(len as u16);
        self.encode_oxm_tlvs(buf);
        buf.put_bytes(0, len.div_ceil(8) * 8 - len);
    }
}

#[cfg(test)]
mod view_tests {
    use super::*;
    use crate::action::tests_util::unhex;

    /// The match of `priority=100,ct_state=-trk,ip` as `ovs-ofctl -O
    /// OpenFlow13` encodes it (see `msg::flow_mod`): eth_type, then the
    /// NXM ct_state with a mask, then padding.
    const OVS_MATCH: &str = "0001 0016 80000a02 0800 0001d308 00000000 00000020 0000";

    #[test]
    fn match_and_oxm_views_agree_with_decode() {
        let bytes = unhex(OVS_MATCH);
        let m = MatchView::new_checked(&bytes[..]).unwrap();
        assert_eq!(
            (m.match_type(), m.length(), m.tail().len()),
            (OFPMT_OXM, 22, 18)
        );
        crate::view::testing::assert_len_checks::<MatchView<_>>(&bytes[..22]);
        let tlvs = m.tail();
        let mut r = Reader::new(tlvs);
        for (i, want) in [Field::EthType, Field::CtState].into_iter().enumerate() {
            let v = OxmView::new_checked(r.rest()).unwrap();
            let h = pull_header(&mut Reader::new(r.rest())).unwrap();
            assert_eq!(
                (v.field(), v.has_mask()),
                (h.id.field, h.hasmask),
                "entry {i}"
            );
            assert_eq!(
                (v.class(), usize::from(v.length())),
                (h.id.class, h.payload_len)
            );
            assert_eq!(
                OxmId::parse_header(v.header()),
                (h.id, h.hasmask, v.length())
            );
            assert_eq!(h.field, Some(want));
            crate::view::testing::assert_len_checks::<OxmView<_>>(v.as_bytes());
            r.skip(v.total_len()).unwrap();
        }
        assert!(r.is_empty());
    }

    #[test]
    fn oxm_setters_reach_the_decoder() {
        // eth_type=0x0800 turned into eth_type=0x86dd, then into a masked
        // vlan_vid (field 6) with the has-mask bit.
        let mut v = OxmView::new_checked(unhex("80000a02 0800")).unwrap();
        v.tail_mut().copy_from_slice(&[0x86, 0xdd]);
        let e = decode_entry(&mut Reader::new(v.as_bytes())).unwrap();
        assert_eq!((e.field, &e.value[..]), (Field::EthType, &[0x86, 0xdd][..]));
        let mut v = OxmView::new_unchecked(unhex("80000a02 0800 0000"));
        v.set_field_hasmask((6 << 1) | 1);
        v.set_length(4);
        v.tail_mut().copy_from_slice(&[0x10, 0x00, 0x10, 0x00]);
        let e = decode_entry(&mut Reader::new(v.as_bytes())).unwrap();
        assert_eq!(
            (e.field, e.mask.as_deref()),
            (Field::VlanVid, Some(&[0x10, 0][..]))
        );
        assert_eq!(
            OxmView::new_checked(unhex("80000a03 0800")).err(),
            Some(OfpError::OFPBMC_BAD_LEN)
        );
    }
}
