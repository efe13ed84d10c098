//! `OFPMP_TABLE_FEATURES` request/reply entries (`ofp_table_features`).
//!
//! Properties are kept as typed-by-number TLVs (`prop_type`, payload without
//! the 4-byte header and without the padding to 8). Helpers build the
//! payloads rvs reports (instruction ids, next tables, action ids, OXM ids).
//! Decoding checks what OVS checks structurally: entry length (>= 64, a
//! multiple of 8, present: `OFPTFFC_BAD_LEN`), `table_id != OFPTT_ALL`
//! (`OFPTFFC_BAD_TABLE`), property lengths, and next-table ids below 255
//! (`OFPTFFC_BAD_ARGUMENT`). OVS names the last two `OFPBPC_BAD_LEN` and
//! `OFPBPC_BAD_VALUE`; the numbers are the same. Property duplicates and
//! missing required properties (OVS: `OFPTFFC_BAD_FEATURES`, an OF1.5 code)
//! are not checked here.

use bytes::{BufMut, BytesMut};

use super::desc::{get_fixed_str, put_fixed_str};
use crate::error::OfpError;
use crate::msg::WireBody;
use crate::open_enum;
use crate::reader::Reader;

const TABLE_FEATURES_LEN: usize = 64;
const MAX_TABLE_NAME_LEN: usize = 32;

open_enum! {
    /// `ofp_table_feature_prop_type`.
    pub struct TableFeaturePropType(u16) {
        INSTRUCTIONS = 0 => "instructions",
        INSTRUCTIONS_MISS = 1 => "instructions_miss",
        NEXT_TABLES = 2 => "next_tables",
        NEXT_TABLES_MISS = 3 => "next_tables_miss",
        WRITE_ACTIONS = 4 => "write_actions",
        WRITE_ACTIONS_MISS = 5 => "write_actions_miss",
        APPLY_ACTIONS = 6 => "apply_actions",
        APPLY_ACTIONS_MISS = 7 => "apply_actions_miss",
        MATCH = 8 => "match",
        WILDCARDS = 10 => "wildcards",
        WRITE_SETFIELD = 12 => "write_setfield",
        WRITE_SETFIELD_MISS = 13 => "write_setfield_miss",
        APPLY_SETFIELD = 14 => "apply_setfield",
        APPLY_SETFIELD_MISS = 15 => "apply_setfield_miss",
        EXPERIMENTER = 0xfffe => "experimenter",
        EXPERIMENTER_MISS = 0xffff => "experimenter_miss",
    }
}

/// One table feature property.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TableFeatureProp {
    pub prop_type: TableFeaturePropType,
    pub data: Vec<u8>,
}

impl TableFeatureProp {
    /// Instruction or action ids: 4-byte `(type, len=4)` headers.
    pub fn type_ids(prop_type: TableFeaturePropType, ids: &[u16]) -> Self {
        let data = ids
            .iter()
            .flat_map(|t| [t.to_be_bytes(), 4u16.to_be_bytes()].concat())
            .collect();
        TableFeatureProp { prop_type, data }
    }

    /// Next-table ids.
    pub fn next_tables(miss: bool, tables: &[u8]) -> Self {
        let prop_type = if miss {
            TableFeaturePropType::NEXT_TABLES_MISS
        } else {
            TableFeaturePropType::NEXT_TABLES
        };
        TableFeatureProp {
            prop_type,
            data: tables.to_vec(),
        }
    }

    /// OXM ids: 32-bit OXM headers (class, field, hasmask, length).
    pub fn oxm_ids(prop_type: TableFeaturePropType, headers: &[u32]) -> Self {
        TableFeatureProp {
            prop_type,
            data: headers.iter().flat_map(|h| h.to_be_bytes()).collect(),
        }
    }

    fn wire_len(&self) -> usize {
        (4 + self.data.len()).next_multiple_of(8)
    }
}

/// The properties OpenFlow 1.3 requires in every table (OVS refuses an
/// entry without them): instructions, next tables, write/apply actions,
/// match, wildcards, write/apply set-field.
pub const REQUIRED_PROPS: [TableFeaturePropType; 8] = [
    TableFeaturePropType::INSTRUCTIONS,
    TableFeaturePropType::NEXT_TABLES,
    TableFeaturePropType::WRITE_ACTIONS,
    TableFeaturePropType::APPLY_ACTIONS,
    TableFeaturePropType::MATCH,
    TableFeaturePropType::WILDCARDS,
    TableFeaturePropType::WRITE_SETFIELD,
    TableFeaturePropType::APPLY_SETFIELD,
];

/// What a flow table supports, for building a `TABLE_FEATURES` reply.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableCapabilities<'a> {
    /// `OFPIT_*` instruction types.
    pub instructions: &'a [u16],
    /// `OFPAT_*` action types (same for write and apply).
    pub actions: &'a [u16],
    /// OXM headers of matchable fields (hasmask set for maskable ones).
    pub match_oxms: &'a [u32],
    /// OXM headers (hasmask clear) of fields that may be wildcarded.
    pub wildcard_oxms: &'a [u32],
    /// OXM headers (hasmask clear) of fields Set-Field can write.
    pub set_field_oxms: &'a [u32],
}

/// `ofp_table_features`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TableFeatures {
    pub table_id: u8,
    pub name: String,
    pub metadata_match: u64,
    pub metadata_write: u64,
    pub config: u32,
    pub max_entries: u32,
    pub properties: Vec<TableFeatureProp>,
}

impl TableFeatures {
    /// A table entry with exactly the required properties, next tables being
    /// every table after this one up to `n_tables - 1`.
    pub fn with_capabilities(
        table_id: u8,
        name: &str,
        max_entries: u32,
        n_tables: u8,
        caps: &TableCapabilities<'_>,
    ) -> Self {
        use TableFeaturePropType as T;
        let next: Vec<u8> = (table_id.saturating_add(1)..n_tables).collect();
        TableFeatures {
            table_id,
            name: name.to_string(),
            metadata_match: u64::MAX,
            metadata_write: u64::MAX,
            config: 0,
            max_entries,
            properties: vec![
                TableFeatureProp::type_ids(T::INSTRUCTIONS, caps.instructions),
                TableFeatureProp::next_tables(false, &next),
                TableFeatureProp::type_ids(T::WRITE_ACTIONS, caps.actions),
                TableFeatureProp::type_ids(T::APPLY_ACTIONS, caps.actions),
                TableFeatureProp::oxm_ids(T::MATCH, caps.match_oxms),
                TableFeatureProp::oxm_ids(T::WILDCARDS, caps.wildcard_oxms),
                TableFeatureProp::oxm_ids(T::WRITE_SETFIELD, caps.set_field_oxms),
                TableFeatureProp::oxm_ids(T::APPLY_SETFIELD, caps.set_field_oxms),
            ],
        }
    }

    /// Whether every required property is present exactly once and no
    /// property type repeats (what OVS checks before accepting an entry).
    pub fn has_required_properties(&self) -> bool {
        let mut seen = 0u32;
        for p in &self.properties {
            if p.prop_type.0 < 32 {
                let bit = 1u32 << p.prop_type.0;
                if seen & bit != 0 {
                    return false;
                }
                seen |= bit;
            }
        }
        REQUIRED_PROPS.iter().all(|t| seen & (1 << t.0) != 0)
    }
}

impl WireBody for TableFeatures {
    fn decode(r: &mut Reader<'_>) -> Result<Self, OfpError> {
        let bad_len = OfpError::OFPTFFC_BAD_LEN;
        let head = r.peek(2).ok_or(bad_len)?;
        let len = usize::from(u16::from_be_bytes([head[0], head[1]]));
        if r.remaining() < TABLE_FEATURES_LEN
            || len < TABLE_FEATURES_LEN
            || len % 8 != 0
            || len > r.remaining()
        {
            return Err(bad_len);
        }
        let mut r = r.sub(len)?;
        r.skip(2)?;
        let table_id = r.u8()?;
        if table_id == 0xff {
            return Err(OfpError::OFPTFFC_BAD_TABLE);
        }
        r.skip(5)?;
        let mut tf = TableFeatures {
            table_id,
            name: get_fixed_str(&mut r, MAX_TABLE_NAME_LEN)?,
            metadata_match: r.u64()?,
            metadata_write: r.u64()?,
            config: r.u32()?,
            max_entries: r.u32()?,
            properties: Vec::new(),
        };
        while !r.is_empty() {
            if r.remaining() < 4 {
                return Err(bad_len);
            }
            let prop_type = TableFeaturePropType(r.u16()?);
            let plen = usize::from(r.u16()?);
            let padded = plen.next_multiple_of(8);
            if plen < 4 || padded - 4 > r.remaining() {
                return Err(bad_len);
            }
            let data = r.take(plen - 4)?.to_vec();
            r.skip(padded - plen)?;
            if matches!(
                prop_type,
                TableFeaturePropType::NEXT_TABLES | TableFeaturePropType::NEXT_TABLES_MISS
            ) && data.contains(&0xff)
            {
                return Err(OfpError::OFPTFFC_BAD_ARGUMENT);
            }
            tf.properties.push(TableFeatureProp { prop_type, data });
        }
        Ok(tf)
    }

    fn encode(&self, out: &mut BytesMut) {
        out.put_u16(self.encoded_len() as u16);
        out.put_u8(self.table_id);
        out.put_bytes(0, 5);
        put_fixed_str(out, &self.name, MAX_TABLE_NAME_LEN);
        out.put_u64(self.metadata_match);
        out.put_u64(self.metadata_write);
        out.put_u32(self.config);
        out.put_u32(self.max_entries);
        for p in &self.properties {
            out.put_u16(p.prop_type.0);
            out.put_u16((4 + p.data.len()) as u16);
            out.put_slice(&p.data);
            out.put_bytes(0, p.wire_len() - 4 - p.data.len());
        }
    }

    fn encoded_len(&self) -> usize {
        TABLE_FEATURES_LEN
            + self
                .properties
                .iter()
                .map(TableFeatureProp::wire_len)
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> TableFeatures {
        TableFeatures {
            table_id: 0,
            name: "classifier".into(),
            metadata_match: u64::MAX,
            metadata_write: u64::MAX,
            config: 0,
            max_entries: 1_000_000,
            properties: vec![
                TableFeatureProp::type_ids(TableFeaturePropType::INSTRUCTIONS, &[1, 2, 3, 4, 5, 6]),
                TableFeatureProp::next_tables(false, &[1, 2, 3]),
                TableFeatureProp::oxm_ids(TableFeaturePropType::MATCH, &[0x8000_0004]),
            ],
        }
    }

    #[test]
    fn built_entries_have_the_required_properties() {
        let caps = TableCapabilities {
            instructions: &[1, 4],
            actions: &[0],
            ..Default::default()
        };
        let tf = TableFeatures::with_capabilities(3, "t3", 100, 5, &caps);
        assert!(tf.has_required_properties());
        assert_eq!(tf.properties[1].data, [4]);
        assert!(!sample().has_required_properties());
    }

    #[test]
    fn table_features_round_trip_and_errors() {
        let tf = sample();
        let mut out = BytesMut::new();
        tf.encode(&mut out);
        assert_eq!(out.len(), tf.encoded_len());
        assert_eq!(out.len() % 8, 0);
        assert_eq!(TableFeatures::decode(&mut Reader::new(&out)).unwrap(), tf);
        assert_eq!(
            TableFeatures::decode(&mut Reader::new(&out[..60])),
            Err(OfpError::OFPTFFC_BAD_LEN)
        );
        let mut bad = out.clone();
        bad[2] = 0xff;
        assert_eq!(
            TableFeatures::decode(&mut Reader::new(&bad)),
            Err(OfpError::OFPTFFC_BAD_TABLE)
        );
        let mut bad = out.clone();
        bad[1] = 0x44; // not a multiple of 8
        assert_eq!(
            TableFeatures::decode(&mut Reader::new(&bad)),
            Err(OfpError::OFPTFFC_BAD_LEN)
        );
    }
}
