//! The action code's one window onto the field table: names, widths, NXM/OXM
//! headers, value text, prerequisites, and `FIELD[a..b]` subfields.
//!
//! Every other action file asks this module about fields, so the action code
//! depends on `crate::field` in one place only.

use bytes::{BufMut, BytesMut};

use crate::error::OfpError;
use crate::field::{Field, NXM_OF_CLASS, OxmId, ValueFormat};
use crate::flow_match::{Match, format_ipv4_masked, format_ipv6_masked, format_mac_masked};
use crate::reader::Reader;

/// Bits `ofs .. ofs + n_bits` of `field` (`NXM_NX_REG0[0..15]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Subfield {
    pub field: Field,
    pub ofs: u16,
    pub n_bits: u16,
}

impl Subfield {
    /// The whole field.
    pub fn whole(field: Field) -> Self {
        Subfield {
            field,
            ofs: 0,
            n_bits: n_bits(field),
        }
    }

    /// `(ofs << 6) | (n_bits - 1)`, the NXM encoding of a bit range.
    pub fn ofs_nbits(&self) -> u16 {
        (self.ofs << 6) | (self.n_bits.saturating_sub(1) & 0x3f)
    }

    /// Decodes `ofs_nbits` for `field`.
    pub fn from_ofs_nbits(field: Field, ofs_nbits: u16) -> Self {
        Subfield {
            field,
            ofs: ofs_nbits >> 6,
            n_bits: (ofs_nbits & 0x3f) + 1,
        }
    }

    /// OVS's `mf_check_src`/`mf_check_dst` range rule: `OFPBAC_BAD_SET_LEN`
    /// if the range is empty or runs past the field.
    pub fn check_range(&self) -> Result<(), OfpError> {
        let w = n_bits(self.field);
        let end = u32::from(self.ofs) + u32::from(self.n_bits);
        if self.n_bits == 0 || self.ofs >= w || end > u32::from(w) {
            return Err(OfpError::OFPBAC_BAD_SET_LEN);
        }
        Ok(())
    }

    /// `NAME[]`, `NAME[N]` or `NAME[a..b]`, with the NXM name when there is one.
    pub fn format(&self, s: &mut String) {
        s.push_str(nxm_name(self.field).unwrap_or_else(|| name(self.field)));
        if self.ofs == 0 && self.n_bits == n_bits(self.field) {
            s.push_str("[]");
        } else if self.n_bits == 1 {
            s.push_str(&format!("[{}]", self.ofs));
        } else {
            // n_bits may be 0 in a decoded (unchecked) learn spec.
            let last = (u32::from(self.ofs) + u32::from(self.n_bits)).saturating_sub(1);
            s.push_str(&format!("[{}..{}]", self.ofs, last));
        }
    }

    /// Parses a subfield at the start of `s`; returns it and the rest.
    pub fn parse(s: &str) -> Result<(Subfield, &str), String> {
        let name_len = s.find(['[', '-']).unwrap_or(s.len());
        let fname = &s[..name_len];
        let field = from_name(fname).ok_or_else(|| format!("{s}: unknown field `{fname}'"))?;
        let width = i64::from(n_bits(field));
        let mut rest = &s[name_len..];
        let (mut start, mut end) = (0i64, width - 1);
        if let Some(r) = rest.strip_prefix('[') {
            let close = r.find(']').ok_or_else(|| {
                format!("{s}: syntax error expecting [] or [<bit>] or [<start>..<end>]")
            })?;
            let inner = &r[..close];
            let bad = || format!("{s}: syntax error expecting [] or [<bit>] or [<start>..<end>]");
            if inner.is_empty() {
            } else if let Some((a, b)) = inner.split_once("..") {
                start = a.trim().parse().map_err(|_| bad())?;
                end = b.trim().parse().map_err(|_| bad())?;
            } else {
                start = inner.trim().parse().map_err(|_| bad())?;
                end = start;
            }
            rest = &r[close + 1..];
        }
        if start > end {
            return Err(format!(
                "{s}: starting bit {start} is after ending bit {end}"
            ));
        } else if start >= width {
            return Err(format!(
                "{s}: starting bit {start} is not valid because field is only {width} bits wide"
            ));
        } else if end >= width {
            return Err(format!(
                "{s}: ending bit {end} is not valid because field is only {width} bits wide"
            ));
        }
        Ok((
            Subfield {
                field,
                ofs: start as u16,
                n_bits: (end - start + 1) as u16,
            },
            rest,
        ))
    }
}

// ---- the field facts the action code needs, from `crate::field` ----
//
// One exception to the field table: in actions, `in_port` and
// `NXM_OF_IN_PORT` mean OVS's 16-bit `MFF_IN_PORT` (NXM header 0x00000002),
// while the table's `Field::InPort` row is the 32-bit OXM_OF_IN_PORT of
// matches. The action code keeps `Field::InPort` but gives it the 16-bit
// width and NXM header here.

/// NXM_OF_IN_PORT: class 0, field 0, 2 bytes.
const NXM_OF_IN_PORT: u32 = 0x0000_0002;

/// OVS's name (`reg0`, `eth_src`).
pub fn name(f: Field) -> &'static str {
    f.name()
}

/// The name `ovs-ofctl` prints in subfields (`NXM_NX_REG0`, `OXM_OF_METADATA`).
pub fn nxm_name(f: Field) -> Option<&'static str> {
    if f == Field::InPort {
        return Some("NXM_OF_IN_PORT");
    }
    let n = f.info().nxm_name;
    (!n.is_empty()).then_some(n)
}

/// Looks a field up by OVS name or NXM/OXM name.
pub fn from_name(s: &str) -> Option<Field> {
    Field::from_name(s)
}

pub fn n_bits(f: Field) -> u16 {
    if f == Field::InPort {
        16
    } else {
        f.info().width_bits
    }
}

pub fn n_bytes(f: Field) -> usize {
    if f == Field::InPort {
        2
    } else {
        f.width_bytes()
    }
}

pub fn writable(f: Field) -> bool {
    f.is_writable()
}

/// Fields that may only be set inside `ct(exec(...))`.
pub fn requires_ct(f: Field) -> bool {
    matches!(f, Field::CtMark | Field::CtLabel)
}

/// The 32-bit header (no mask bit) Nicira actions carry for a field:
/// its NXM header if it has one, else its OXM header, and None for
/// experimenter OXMs (8-byte headers), which only REG_LOAD2 and
/// OUTPUT_REG2 can carry. This is OVS's `mf_nxm_header`.
pub fn nxm_header(f: Field) -> Option<u32> {
    if f == Field::InPort {
        return Some(NXM_OF_IN_PORT);
    }
    let id = f.info().nxm();
    (!id.is_experimenter()).then(|| id.header(false, f.info().width_bytes))
}

/// Header (and experimenter id) for `id` with a `w`-byte value.
fn put_id(id: OxmId, w: usize, masked: bool, out: &mut BytesMut) {
    let payload = (w * if masked { 2 } else { 1 }) as u8;
    out.put_u32(id.header(masked, payload));
    if id.is_experimenter() {
        out.put_u32(id.experimenter);
    }
}

/// Writes the header of `f` as OpenFlow 1.3 set_field uses it.
pub fn put_oxm_header(f: Field, masked: bool, out: &mut BytesMut) {
    if f == Field::InPort {
        out.put_u32(if masked { 0x0000_0104 } else { NXM_OF_IN_PORT });
        return;
    }
    put_id(f.info().oxm, f.width_bytes(), masked, out);
}

/// Writes the header Nicira actions use (NXM when the field has one).
pub fn put_nxm_header(f: Field, masked: bool, out: &mut BytesMut) {
    if f == Field::InPort {
        out.put_u32(if masked { 0x0000_0104 } else { NXM_OF_IN_PORT });
        return;
    }
    put_id(f.info().nxm(), f.width_bytes(), masked, out);
}

/// Looks a field up by a 32-bit NXM or OXM header, checking that the
/// length fits the field.
pub fn from_header(h: u32) -> Option<Field> {
    let (id, masked, len) = OxmId::parse_header(h);
    lookup(id, masked, len)
}

fn lookup(id: OxmId, masked: bool, len: u8) -> Option<Field> {
    if id.class == NXM_OF_CLASS && id.field == 0 {
        // NXM_OF_IN_PORT, the 16-bit in_port of actions.
        return (usize::from(len) == 2 * if masked { 2 } else { 1 }).then_some(Field::InPort);
    }
    let f = Field::from_oxm_id(id)?;
    let exp = if id.is_experimenter() { 4 } else { 0 };
    let want = f.width_bytes() * if masked { 2 } else { 1 } + exp;
    (usize::from(len) == want).then_some(f)
}

/// How a header lookup failed.
enum Miss {
    /// No field has this class/field number.
    Unknown,
    /// A field has it, with another length.
    BadLen,
}

fn lookup_checked(id: OxmId, masked: bool, len: u8) -> Result<Field, Miss> {
    let payload = if masked {
        usize::from(len) / 2
    } else {
        usize::from(len)
    };
    let exp = if id.is_experimenter() { 4 } else { 0 };
    let (f, w) = if id.class == NXM_OF_CLASS && id.field == 0 {
        (Field::InPort, 2)
    } else {
        let f = Field::from_oxm_id(id).ok_or(Miss::Unknown)?;
        (f, f.width_bytes())
    };
    if payload.saturating_sub(if masked { exp / 2 } else { exp }) == w
        && (!masked || usize::from(len) == 2 * w + exp)
    {
        Ok(f)
    } else {
        Err(Miss::BadLen)
    }
}

/// Reads an NXM/OXM header (4 bytes, 8 for experimenter OXMs) and looks it
/// up, with the errors of OVS's `nx_pull_header__`: `OFPBMC_BAD_LEN` if
/// short; if unknown, `OFPBAC_BAD_SET_TYPE` (or `OFPBAC_BAD_SET_LEN` for a
/// known field with the wrong length) in set_field/reg_load2 (`is_action`),
/// else `OFPBMC_BAD_FIELD`. Returns the field and the has-mask bit.
pub fn pull_header_for(r: &mut Reader<'_>, is_action: bool) -> Result<(Field, bool), OfpError> {
    let h = r.take_or(4, OfpError::OFPBMC_BAD_LEN)?;
    let h = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    let (mut id, masked, len) = OxmId::parse_header(h);
    if id.is_experimenter() {
        let e = r.take_or(4, OfpError::OFPBMC_BAD_LEN)?;
        id = OxmId::exp(u32::from_be_bytes([e[0], e[1], e[2], e[3]]), id.field);
        if len < 4 {
            return Err(OfpError::OFPBMC_BAD_LEN);
        }
    }
    match lookup_checked(id, masked, len) {
        Ok(f) => Ok((f, masked)),
        Err(_) if !is_action => Err(OfpError::OFPBMC_BAD_FIELD),
        Err(Miss::BadLen) => Err(OfpError::OFPBAC_BAD_SET_LEN),
        Err(Miss::Unknown) => Err(OfpError::OFPBAC_BAD_SET_TYPE),
    }
}

/// `nx_pull_header` as REG_MOVE, OUTPUT_REG2 and learn's result_dst use it:
/// unknown headers are `OFPBMC_BAD_FIELD`, a mask bit `OFPBMC_BAD_MASK`.
pub fn pull_header(r: &mut Reader<'_>) -> Result<Field, OfpError> {
    let (f, masked) = pull_header_for(r, false)?;
    if masked {
        return Err(OfpError::OFPBMC_BAD_MASK);
    }
    Ok(f)
}

/// Reads an NXM/OXM entry (header, value, optional mask) as OVS's
/// `nx_pull_entry` for actions. With `may_mask` false a masked entry is
/// `OFPBMC_BAD_MASK`. The mask is all-ones when absent.
pub fn pull_entry(
    r: &mut Reader<'_>,
    may_mask: bool,
) -> Result<(Field, Vec<u8>, Vec<u8>), OfpError> {
    let (f, masked) = pull_header_for(r, true)?;
    let w = n_bytes(f);
    let value = r.take_or(w, OfpError::OFPBMC_BAD_LEN)?.to_vec();
    let mask = if masked {
        let m = r.take_or(w, OfpError::OFPBMC_BAD_LEN)?.to_vec();
        if value.iter().zip(&m).any(|(v, m)| v & !m != 0) {
            return Err(OfpError::OFPBMC_BAD_WILDCARDS);
        }
        if !may_mask {
            return Err(OfpError::OFPBMC_BAD_MASK);
        }
        m
    } else {
        vec![0xff; w]
    };
    Ok((f, value, mask))
}

fn be(b: &[u8]) -> u128 {
    b.iter().fold(0u128, |a, &x| (a << 8) | u128::from(x))
}

fn to_be(v: u128, w: usize) -> Vec<u8> {
    v.to_be_bytes()[16 - w.min(16)..].to_vec()
}

/// Whether `value` is a valid value of `f` (OVS `mf_is_value_valid`): no
/// bits beyond the field's meaningful width; the TOS byte has no ECN bits.
pub fn value_valid(f: Field, value: &[u8]) -> bool {
    let v = be(value);
    match f {
        Field::InPort => true,
        Field::NwTos => v & 0x3 == 0,
        // 16 bits on the wire, but ARP opcodes OVS accepts fit in 8.
        Field::ArpOp => v <= 0xff,
        // The 12-bit VID plus OFPVID_PRESENT.
        Field::VlanVid => v <= 0x1fff,
        _ => {
            let bits = u32::from(f.info().width_bits);
            bits >= 128 || v >> bits == 0
        }
    }
}

/// Whether the match satisfies the field's prerequisites (OVS
/// `mf_are_prereqs_ok`).
pub fn prereqs_ok(f: Field, m: &Match) -> bool {
    m.prereq_ok(f.prereq())
}

/// `ds_put_hex`: `0x` and the value's hex digits, or `0` for zero.
fn put_hex(v: u128, s: &mut String) {
    if v == 0 {
        s.push('0');
    } else {
        s.push_str(&format!("{v:#x}"));
    }
}

/// Formats a value (and mask, when not all-ones) as `ovs-ofctl`'s
/// `mf_format` does.
pub fn format_value(f: Field, value: &[u8], mask: &[u8], s: &mut String) {
    let w = n_bytes(f);
    let v = be(value);
    let m = be(mask);
    let ones = if w >= 16 {
        u128::MAX
    } else {
        (1u128 << (8 * w)) - 1
    };
    if m == 0 {
        s.push_str("ANY");
        return;
    }
    let full = m == ones;
    match f.info().format {
        _ if f == Field::InPort && full => {
            super::text_format::format_port(super::port::from_u16(v as u16), s)
        }
        ValueFormat::Port if full => super::text_format::format_port(v as u32, s),
        ValueFormat::Mac => s.push_str(&format_mac_masked(v, m)),
        ValueFormat::Ipv4 => s.push_str(&format_ipv4_masked(v as u32, m as u32)),
        ValueFormat::Ipv6 if m == u128::MAX => {
            s.push_str(&super::text_format::format_ipv6(&v.to_be_bytes()))
        }
        ValueFormat::Ipv6 => s.push_str(&format_ipv6_masked(v, m)),
        ValueFormat::Decimal | ValueFormat::Port if f != Field::InPort || !full => {
            s.push_str(&v.to_string());
            if !full {
                s.push('/');
                put_hex(m, s);
            }
        }
        _ => {
            put_hex(v, s);
            if !full {
                s.push('/');
                put_hex(m, s);
            }
        }
    }
}

/// Parses a value (with optional `/mask`) for `f`, as OVS's `mf_parse`.
pub fn parse_value(f: Field, text: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    let w = n_bytes(f);
    let (v, m) = match text.split_once('/') {
        Some((v, m)) => (v, Some(m)),
        None => (text, None),
    };
    let ones = if w >= 16 {
        u128::MAX
    } else {
        (1u128 << (8 * w)) - 1
    };
    let fmt = f.info().format;
    let (value, mask) = match fmt {
        _ if is_port_field(f) => {
            let p = super::text_parse::parse_port(text)
                .ok_or_else(|| format!("{text}: invalid or unknown port for {}", f.name()))?;
            let v = if f == Field::InPort {
                u128::from(super::port::to_u16(p))
            } else {
                u128::from(p)
            };
            (v, ones)
        }
        ValueFormat::Mac => {
            let value = parse_mac(v).ok_or_else(|| format!("{text}: invalid Ethernet address"))?;
            let mask = match m {
                Some(m) => {
                    parse_mac(m).ok_or_else(|| format!("{text}: invalid Ethernet address"))?
                }
                None => ones,
            };
            (value, mask)
        }
        ValueFormat::Ipv4 => {
            let a: std::net::Ipv4Addr = v
                .parse()
                .map_err(|_| format!("{text}: invalid IP address"))?;
            let mask = match m {
                None => ones,
                Some(m) => match m.parse::<u32>() {
                    Ok(n) if n <= 32 && !m.contains('.') => {
                        if n == 0 {
                            0
                        } else {
                            u128::from(u32::MAX << (32 - n))
                        }
                    }
                    _ => u128::from(u32::from(
                        m.parse::<std::net::Ipv4Addr>()
                            .map_err(|_| format!("{text}: invalid IP address"))?,
                    )),
                },
            };
            (u128::from(u32::from(a)), mask)
        }
        ValueFormat::Ipv6 => {
            let a: std::net::Ipv6Addr = v
                .parse()
                .map_err(|_| format!("{text}: invalid IPv6 address"))?;
            let mask = match m {
                None => ones,
                Some(m) => match m.parse::<u32>() {
                    Ok(n) if n <= 128 => {
                        if n == 0 {
                            0
                        } else {
                            u128::MAX << (128 - n)
                        }
                    }
                    _ => u128::from(
                        m.parse::<std::net::Ipv6Addr>()
                            .map_err(|_| format!("{text}: invalid IPv6 address"))?,
                    ),
                },
            };
            (u128::from(a), mask)
        }
        _ => {
            let value = int_value(v, w)
                .ok_or_else(|| format!("{text}: bad syntax for {} value", f.name()))?;
            let mask = match m {
                Some(m) => int_value(m, w)
                    .ok_or_else(|| format!("{text}: invalid mask for field {}", f.name()))?,
                None => ones,
            };
            (value, mask)
        }
    };
    if m.is_some() && !f.is_maskable() {
        return Err(format!(
            "{text}: field {} does not support masking",
            f.name()
        ));
    }
    Ok((to_be(value & mask, w), to_be(mask, w)))
}

fn parse_mac(s: &str) -> Option<u128> {
    let parts: Vec<&str> = s.split(':').collect();
    if parts.len() != 6 {
        return None;
    }
    let mut v = 0u128;
    for p in parts {
        if p.is_empty() || p.len() > 2 {
            return None;
        }
        v = (v << 8) | u128::from(u8::from_str_radix(p, 16).ok()?);
    }
    Some(v)
}

/// A decimal or `0x` hex integer that fits `w` bytes.
fn int_value(s: &str, w: usize) -> Option<u128> {
    let v = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        let h = h.trim_start_matches('0');
        if h.is_empty() {
            0
        } else {
            u128::from_str_radix(h, 16).ok()?
        }
    } else {
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()?
    };
    (w >= 16 || v >> (8 * w) == 0).then_some(v)
}

/// Parses a decimal or `0x` hex integer into `w` big-endian bytes.
pub fn int_bytes(s: &str, w: usize) -> Result<Vec<u8>, String> {
    int_value(s, w)
        .map(|v| to_be(v, w))
        .ok_or_else(|| format!("{s}: bad value"))
}

/// True for the fields whose text value is a port (`in_port`,
/// `in_port_oxm`, `actset_output`), which take port names.
pub(crate) fn is_port_field(f: Field) -> bool {
    f == Field::InPort || f.info().format == ValueFormat::Port
}
