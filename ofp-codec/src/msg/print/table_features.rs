//! Table features as OVS prints them (`ofputil_table_features_format`):
//! each entry decoded into OVS's abstract view (instruction, action and
//! field sets), consecutive identical tables collapsed into `ditto`.

use core::fmt::Write as _;

use super::mff::{MFF, mff_index};
use super::stats::{ofpacts_format, ofpacts_from_of13};
use crate::error::OfpError;
use crate::msg::multipart::{TableFeaturePropType as T, TableFeatures};
use crate::reader::Reader;

/// A set of OVS field ids.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Fields([u64; 3]);

impl Fields {
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn is_empty(&self) -> bool {
        self.0 == [0; 3]
    }
    fn and(self, o: Fields) -> Fields {
        Fields([self.0[0] & o.0[0], self.0[1] & o.0[1], self.0[2] & o.0[2]])
    }
    fn or(self, o: Fields) -> Fields {
        Fields([self.0[0] | o.0[0], self.0[1] | o.0[1], self.0[2] | o.0[2]])
    }
    fn not(self) -> Fields {
        Fields([!self.0[0], !self.0[1], !self.0[2]])
    }
    fn names(&self) -> Vec<&'static str> {
        (0..MFF.len())
            .filter(|i| self.0[i / 64] & (1 << (i % 64)) != 0)
            .map(|i| MFF[i].0)
            .collect()
    }
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct ActionFeatures {
    /// OVS action bitmap (see `stats::ofpacts_from_of13`).
    ofpacts: u32,
    set_fields: Fields,
}

impl ActionFeatures {
    fn is_empty(&self) -> bool {
        self.ofpacts == 0 && self.set_fields.is_empty()
    }
}

#[derive(Clone, PartialEq, Eq)]
struct InstFeatures {
    next: [bool; 255],
    /// OVS instruction bitmap: meter, apply, clear, write, write_metadata, goto.
    instructions: u32,
    write: ActionFeatures,
    apply: ActionFeatures,
}

impl Default for InstFeatures {
    fn default() -> Self {
        InstFeatures {
            next: [false; 255],
            instructions: 0,
            write: Default::default(),
            apply: Default::default(),
        }
    }
}

impl InstFeatures {
    fn is_empty(&self) -> bool {
        !self.next.contains(&true)
            && self.instructions == 0
            && self.write.is_empty()
            && self.apply.is_empty()
    }
}

struct Features {
    table_id: u8,
    name: String,
    metadata_match: u64,
    metadata_write: u64,
    max_entries: u32,
    nonmiss: InstFeatures,
    miss: InstFeatures,
    match_: Fields,
    mask: Fields,
    wildcard: Fields,
}

const INST_NAMES: [&str; 6] = [
    "meter",
    "apply_actions",
    "clear_actions",
    "write_actions",
    "write_metadata",
    "goto_table",
];

/// OpenFlow 1.3 instruction type to OVS's instruction index.
fn ovsinst(of_type: u16) -> Option<u32> {
    match of_type {
        6 => Some(0),
        4 => Some(1),
        5 => Some(2),
        3 => Some(3),
        2 => Some(4),
        1 => Some(5),
        _ => None,
    }
}

fn bad_len() -> OfpError {
    OfpError::OFPTFFC_BAD_LEN
}

/// Instruction or action ids: `(type, len)` headers glued together.
fn type_ids(data: &[u8]) -> Result<Vec<u16>, OfpError> {
    let mut r = Reader::new(data);
    let mut v = Vec::new();
    while !r.is_empty() {
        let t = r.u16().map_err(|_| bad_len())?;
        let len = usize::from(r.u16().map_err(|_| bad_len())?);
        if len < 4 {
            return Err(bad_len());
        }
        r.skip(len - 4).map_err(|_| bad_len())?;
        v.push(t);
    }
    Ok(v)
}

/// OXM ids into (exact, masked) field sets; unknown fields are ignored as
/// OVS does when reading a switch's features.
fn oxm_ids(data: &[u8]) -> Result<(Fields, Fields), OfpError> {
    let mut r = Reader::new(data);
    let (mut exact, mut masked) = (Fields::default(), Fields::default());
    while !r.is_empty() {
        let h = r.u32().map_err(|_| OfpError::OFPBMC_BAD_LEN)?;
        let exp = if h >> 16 == 0xffff {
            r.u32().map_err(|_| OfpError::OFPBMC_BAD_LEN)?
        } else {
            0
        };
        if let Some(i) = mff_index(h, exp) {
            if h & 0x100 != 0 {
                masked.set(i)
            } else {
                exact.set(i)
            }
        }
    }
    Ok((exact, masked))
}

fn unmasked(data: &[u8]) -> Result<Fields, OfpError> {
    let (exact, masked) = oxm_ids(data)?;
    if !masked.is_empty() {
        return Err(OfpError::OFPBMC_BAD_MASK);
    }
    Ok(exact)
}

fn abstract_view(tf: &TableFeatures) -> Result<Features, OfpError> {
    let mut f = Features {
        table_id: tf.table_id,
        name: tf.name.clone(),
        metadata_match: tf.metadata_match,
        metadata_write: tf.metadata_write,
        max_entries: tf.max_entries,
        nonmiss: InstFeatures::default(),
        miss: InstFeatures::default(),
        match_: Fields::default(),
        mask: Fields::default(),
        wildcard: Fields::default(),
    };
    let mut seen = 0u32;
    for p in &tf.properties {
        if p.prop_type.0 < 32 {
            seen |= 1 << p.prop_type.0;
        }
        let miss = p.prop_type.0 & 1 == 1 && p.prop_type.0 < 16;
        let tif = if miss { &mut f.miss } else { &mut f.nonmiss };
        match p.prop_type {
            T::INSTRUCTIONS | T::INSTRUCTIONS_MISS => {
                tif.instructions = type_ids(&p.data)?
                    .into_iter()
                    .filter_map(ovsinst)
                    .fold(0, |a, b| a | (1 << b));
            }
            T::NEXT_TABLES | T::NEXT_TABLES_MISS => {
                tif.next = [false; 255];
                for &t in &p.data {
                    if t == 0xff {
                        return Err(OfpError::OFPTFFC_BAD_ARGUMENT);
                    }
                    tif.next[usize::from(t)] = true;
                }
            }
            T::WRITE_ACTIONS | T::WRITE_ACTIONS_MISS | T::APPLY_ACTIONS | T::APPLY_ACTIONS_MISS => {
                let bits = type_ids(&p.data)?
                    .into_iter()
                    .filter(|&t| t < 32)
                    .fold(0u32, |a, t| a | (1 << t));
                let ofpacts = ofpacts_from_of13(bits);
                if matches!(p.prop_type, T::WRITE_ACTIONS | T::WRITE_ACTIONS_MISS) {
                    tif.write.ofpacts = ofpacts;
                } else {
                    tif.apply.ofpacts = ofpacts;
                }
            }
            T::WRITE_SETFIELD | T::WRITE_SETFIELD_MISS => tif.write.set_fields = unmasked(&p.data)?,
            T::APPLY_SETFIELD | T::APPLY_SETFIELD_MISS => tif.apply.set_fields = unmasked(&p.data)?,
            T::MATCH => (f.match_, f.mask) = oxm_ids(&p.data)?,
            T::WILDCARDS => f.wildcard = unmasked(&p.data)?,
            _ => {}
        }
    }
    if !tf.properties.is_empty() {
        let pairs = [
            (T::INSTRUCTIONS_MISS, 0),
            (T::NEXT_TABLES_MISS, 1),
            (T::WRITE_ACTIONS_MISS, 2),
        ];
        for (t, what) in pairs {
            if seen & (1 << t.0) == 0 {
                match what {
                    0 => f.miss.instructions = f.nonmiss.instructions,
                    1 => f.miss.next = f.nonmiss.next,
                    _ => f.miss.write.ofpacts = f.nonmiss.write.ofpacts,
                }
            }
        }
        if seen & (1 << T::APPLY_ACTIONS_MISS.0) == 0 {
            f.miss.apply.ofpacts = f.nonmiss.apply.ofpacts;
        }
        if seen & (1 << T::WRITE_SETFIELD_MISS.0) == 0 {
            f.miss.write.set_fields = f.nonmiss.write.set_fields;
        }
        if seen & (1 << T::APPLY_SETFIELD_MISS.0) == 0 {
            f.miss.apply.set_fields = f.nonmiss.apply.set_fields;
        }
    }
    f.match_ = f.match_.or(f.mask);
    f.wildcard = f.wildcard.or(f.mask).and(f.match_);
    Ok(f)
}

fn next_equal(a: &[bool; 255], at: u8, b: &[bool; 255], bt: u8) -> bool {
    let (at, bt) = (usize::from(at), usize::from(bt));
    if bt == at + 1 && bt < 255 && a[bt] && !b[bt] {
        (0..255).all(|i| i == bt || a[i] == b[i])
    } else if at == bt + 1 {
        next_equal(b, bt as u8, a, at as u8)
    } else {
        a == b
    }
}

fn inst_equal(a: &InstFeatures, at: u8, b: &InstFeatures, bt: u8) -> bool {
    next_equal(&a.next, at, &b.next, bt)
        && a.instructions == b.instructions
        && a.write == b.write
        && a.apply == b.apply
}

fn features_equal(a: &Features, b: &Features) -> bool {
    a.metadata_match == b.metadata_match
        && a.metadata_write == b.metadata_write
        && a.max_entries == b.max_entries
        && inst_equal(&a.nonmiss, a.table_id, &b.nonmiss, b.table_id)
        && inst_equal(&a.miss, a.table_id, &b.miss, b.table_id)
        && a.match_ == b.match_
}

fn common_prefix(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut r = 0;
    for i in 0.. {
        match (a.get(i), b.get(i)) {
            (Some(x), Some(y)) if x == y => {
                if *x == b'_' {
                    r = i + 1;
                }
            }
            _ => return r,
        }
    }
    r
}

fn sequential(a: &str, b: &str) -> bool {
    let n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    if a.len() == b.len() && n == a.len() {
        return false;
    }
    let (ra, rb) = (&a[n..], &b[n..]);
    let digits = |s: &str| s.bytes().all(|c| c.is_ascii_digit()) && s.len() < 10;
    digits(ra) && digits(rb) && ra.parse::<u64>().unwrap_or(0) + 1 == rb.parse::<u64>().unwrap_or(0)
}

/// OVS's `print_names`: runs of numbered names as `a0...a3`, names with a
/// common `prefix_` as `prefix_{x,y}`.
fn print_names(s: &mut String, ids: &[&str], prefix_len: usize) {
    let mut ids = ids;
    let mut group = 0;
    while !ids.is_empty() {
        if group > 0 {
            s.push(if prefix_len > 0 { ',' } else { ' ' });
        }
        group += 1;
        let (prefix_run, extra) = if ids.len() < 2 {
            (ids.len(), 0)
        } else {
            let extra = common_prefix(&ids[0][prefix_len..], &ids[1][prefix_len..]);
            if extra == 0 {
                (1, 0)
            } else {
                let mut i = 2;
                while i < ids.len()
                    && common_prefix(&ids[0][prefix_len..], &ids[i][prefix_len..]) != 0
                {
                    i += 1;
                }
                (i, extra)
            }
        };
        let mut suffix_run = 1;
        while suffix_run < ids.len() && sequential(ids[suffix_run - 1], ids[suffix_run]) {
            suffix_run += 1;
        }
        if suffix_run == 2 {
            suffix_run = 1;
        }
        let run = prefix_run.max(suffix_run);
        if suffix_run >= prefix_run {
            s.push_str(&ids[0][prefix_len..]);
            if run > 1 {
                let _ = write!(s, "...{}", &ids[run - 1][prefix_len..]);
            }
        } else {
            s.push_str(&ids[0][prefix_len..prefix_len + extra]);
            s.push('{');
            print_names(s, &ids[..run], prefix_len + extra);
            s.push('}');
        }
        ids = &ids[run..];
    }
}

fn print_fields(s: &mut String, f: Fields) {
    let names = f.names();
    if !names.is_empty() {
        s.push(' ');
        print_names(s, &names, 0);
    }
}

fn print_action_features(s: &mut String, a: &ActionFeatures) {
    if a.ofpacts != 0 {
        s.push_str("        actions: ");
        ofpacts_format(s, a.ofpacts);
        s.push('\n');
    }
    if !a.set_fields.is_empty() {
        s.push_str("        supported on Set-Field:");
        print_fields(s, a.set_fields);
        s.push('\n');
    }
}

fn print_inst_features(s: &mut String, t: &InstFeatures, prev: Option<&InstFeatures>) {
    if t.next.contains(&true) {
        s.push_str("      next tables: ");
        let mut start = 0;
        while start < 255 {
            if !t.next[start] {
                start += 1;
                continue;
            }
            let mut end = start + 1;
            while end < 255 && t.next[end] {
                end += 1;
            }
            if end == start + 1 {
                let _ = write!(s, "{},", start);
            } else {
                let _ = write!(s, "{}-{},", start, end - 1);
            }
            start = end;
        }
        s.pop();
        s.push('\n');
    }
    if t.instructions != 0 {
        if prev.is_some_and(|p| p.instructions == t.instructions) {
            s.push_str("      (same instructions)\n");
        } else {
            s.push_str("      instructions: ");
            let names: Vec<&str> = (0..6)
                .filter(|i| t.instructions & (1 << i) != 0)
                .map(|i| INST_NAMES[i])
                .collect();
            s.push_str(&names.join(" "));
            s.push('\n');
        }
    }
    if prev
        .is_some_and(|p| t.write == p.write && t.apply == p.apply && !t.write.set_fields.is_empty())
    {
        s.push_str("      (same actions)\n");
    } else if t.write != t.apply {
        s.push_str("      Write-Actions features:\n");
        print_action_features(s, &t.write);
        s.push_str("      Apply-Actions features:\n");
        print_action_features(s, &t.apply);
    } else if t.write.ofpacts != 0 || !t.write.set_fields.is_empty() {
        s.push_str("      Write-Actions and Apply-Actions features:\n");
        print_action_features(s, &t.write);
    }
}

fn print_matches(s: &mut String, f: &Features, mask: bool, wc: bool, title: &str) {
    let m = if mask { f.mask } else { f.mask.not() };
    let w = if wc { f.wildcard } else { f.wildcard.not() };
    let bm = f.match_.and(m.and(w));
    if !bm.is_empty() {
        let _ = write!(s, "      {}:", title);
        print_fields(s, bm);
        s.push('\n');
    }
}

fn finish(s: &mut String, ditto: Option<(u8, u8)>) {
    if let Some((a, b)) = ditto {
        if a == b {
            let _ = writeln!(s, "\n  table {}: ditto", a);
        } else {
            let _ = writeln!(s, "\n  tables {}...{}: ditto", a, b);
        }
    }
}

/// Prints a table-features request or reply body.
pub(super) fn print(s: &mut String, tables: &[TableFeatures]) -> Result<(), OfpError> {
    let mut prev: Option<Features> = None;
    let mut ditto: Option<(u8, u8)> = None;
    for tf in tables {
        let f = match abstract_view(tf) {
            Ok(f) => f,
            Err(e) => {
                finish(s, ditto);
                return Err(e);
            }
        };
        let same = prev.as_ref().is_some_and(|p| features_equal(&f, p));
        if same && f.name.is_empty() {
            ditto = Some((ditto.map_or(f.table_id, |d| d.0), f.table_id));
            prev = Some(f);
            continue;
        }
        finish(s, ditto.take());
        let _ = write!(s, "\n  table {}", f.table_id);
        if !f.name.is_empty() {
            let _ = write!(s, " (\"{}\")", f.name);
        }
        s.push(':');
        if same {
            s.push_str(" ditto");
            prev = Some(f);
            continue;
        }
        s.push('\n');
        if f.metadata_match != 0 || f.metadata_write != 0 {
            let hex = |v: u64| {
                if v == 0 {
                    "0".to_string()
                } else {
                    format!("{:#x}", v)
                }
            };
            let _ = writeln!(
                s,
                "    metadata: match={} write={}",
                hex(f.metadata_match),
                hex(f.metadata_write)
            );
        }
        if f.max_entries != 0 {
            let _ = writeln!(s, "    max_entries={}", f.max_entries);
        }
        let p = prev.as_ref();
        if p.is_some_and(|p| {
            inst_equal(&f.nonmiss, f.table_id, &p.nonmiss, p.table_id)
                && inst_equal(&f.miss, f.table_id, &p.miss, p.table_id)
        }) {
            if !f.nonmiss.is_empty() {
                s.push_str("    (same instructions)\n");
            }
        } else if !inst_equal(&f.nonmiss, f.table_id, &f.miss, f.table_id) {
            s.push_str("    instructions (other than table miss):\n");
            print_inst_features(s, &f.nonmiss, p.map(|p| &p.nonmiss));
            s.push_str("    instructions (table miss):\n");
            print_inst_features(s, &f.miss, p.map(|p| &p.miss));
        } else if !f.nonmiss.is_empty() {
            s.push_str("    instructions (table miss and others):\n");
            print_inst_features(s, &f.nonmiss, p.map(|p| &p.nonmiss));
        }
        if !f.match_.is_empty() {
            if p.is_some_and(|p| p.match_ == f.match_) {
                s.push_str("    (same matching)\n");
            } else {
                s.push_str("    matching:\n");
                print_matches(s, &f, true, true, "arbitrary mask");
                print_matches(s, &f, false, true, "exact match or wildcard");
                print_matches(s, &f, false, false, "must exact match");
            }
        }
        prev = Some(f);
    }
    finish(s, ditto);
    Ok(())
}
