//! Port and table names in `rvs ofctl` text, as ovs-ofctl's `--names`.
//!
//! ovs-ofctl accepts port names wherever a flow, group or packet-out names a
//! port (unless `--no-names`), and shows them in what it prints with
//! `--names` (or by default when stdout is a terminal). The names come from
//! the switch's PORT_DESC reply (and table names from TABLE_FEATURES).
//!
//! Flows, flow files, filters and packet-outs are parsed by ofp-codec with
//! the names ([`Accepted`], `ofp_codec::text::Names`). Elsewhere (groups,
//! PORT arguments) names are still swapped for numbers in the text before
//! parsing ([`NameMap::accept`]); printed
//! text has numbers swapped for names ([`NameMap::show`]). Only the
//! port-valued places OVS formats through its
//! port map are touched: the `in_port`, `out_port` and `actset_output`
//! fields, `output:`, `output(port=`, `enqueue:`, `resubmit:`,
//! `resubmit(`, `watch_port:`, `set_field:…->in_port`, and the `port  N:`
//! heading of port statistics; and tables in `table=`, `table:` and
//! `goto_table:`. A number is shown as a name only when exactly one port
//! (table) has it and the name is unique, as OVS's namemap; a name that
//! needs it is quoted as a JSON string, as OVS does.

use anyhow::Result;
use ofp_codec::text::Names;

use super::session::Session;

/// Numbers and names of one switch's ports or tables (ofp-codec's map,
/// which resolves them as OVS's namemap does).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameMap {
    map: ofp_codec::text::NameMap,
}

/// The name maps a parse accepts: the switch's port and table names, or
/// none with `--no-names`.
pub(super) struct Accepted {
    ports: ofp_codec::text::NameMap,
    tables: ofp_codec::text::NameMap,
}

impl Accepted {
    /// Fetches the maps as ovs-ofctl's `ports_to_accept` then
    /// `tables_to_accept` do (nothing with `--no-names`).
    pub fn fetch(s: &mut Session) -> Result<Accepted> {
        if !s.accepting() {
            return Ok(Accepted {
                ports: Default::default(),
                tables: Default::default(),
            });
        }
        let ports = s.ports()?.map.clone();
        let tables = s.tables()?.map.clone();
        Ok(Accepted { ports, tables })
    }

    /// The maps for ofp-codec's `*_with` parsers.
    pub fn names(&self) -> Names<'_> {
        Names::new(&self.ports, &self.tables)
    }
}

/// Where a port or table value starts (the text just before it).
#[derive(Clone, Copy)]
struct Place {
    prefix: &'static str,
    /// What must follow the value (e.g. `->in_port`), if anything.
    suffix: &'static str,
}

const PORT_PLACES: &[Place] = &[
    Place {
        prefix: "in_port=",
        suffix: "",
    },
    Place {
        prefix: "out_port=",
        suffix: "",
    },
    Place {
        prefix: "out_port:",
        suffix: "",
    },
    Place {
        prefix: "actset_output=",
        suffix: "",
    },
    Place {
        prefix: "output:",
        suffix: "",
    },
    Place {
        prefix: "output(port=",
        suffix: "",
    },
    Place {
        prefix: "enqueue:",
        suffix: "",
    },
    Place {
        prefix: "enqueue(",
        suffix: "",
    },
    Place {
        prefix: "resubmit:",
        suffix: "",
    },
    Place {
        prefix: "resubmit(",
        suffix: "",
    },
    Place {
        prefix: "watch_port:",
        suffix: "",
    },
    Place {
        prefix: "watch_port=",
        suffix: "",
    },
    Place {
        prefix: "set_field:",
        suffix: "->in_port",
    },
    Place {
        prefix: "port  ",
        suffix: ": rx ",
    },
    Place {
        prefix: "port ",
        suffix: ": rx ",
    },
];

const TABLE_PLACES: &[Place] = &[
    Place {
        prefix: "table=",
        suffix: "",
    },
    Place {
        prefix: "table:",
        suffix: "",
    },
    Place {
        prefix: "goto_table:",
        suffix: "",
    },
];

/// True for a byte that ends a port or table value in flow syntax.
fn is_end(b: u8) -> bool {
    matches!(b, b',' | b' ' | b')' | b'(' | b':' | b'\n' | b'\t')
}

/// True when a place may start at `i` (start, or after a separator).
fn at_boundary(text: &[u8], i: usize) -> bool {
    i == 0 || matches!(text[i - 1], b',' | b' ' | b'(' | b'\n' | b'\t' | b'=')
}

/// OVS's `name_needs_quotes`: not a letter followed by letters and digits.
fn needs_quotes(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() => !chars.all(|c| c.is_ascii_alphanumeric()),
        _ => true,
    }
}

/// `name` as OVS prints it: bare, or a JSON string.
fn put_name(name: &str) -> String {
    if !needs_quotes(name) {
        return name.to_string();
    }
    let mut s = String::from("\"");
    for c in name.chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            '\n' => s.push_str("\\n"),
            '\t' => s.push_str("\\t"),
            '\r' => s.push_str("\\r"),
            c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}

impl NameMap {
    /// A map from (number, name) pairs.
    pub fn new(entries: impl IntoIterator<Item = (u32, String)>) -> NameMap {
        NameMap {
            map: ofp_codec::text::NameMap::new(entries),
        }
    }

    /// The unique name of `number`, if it has one and the name is unique.
    fn name_of(&self, number: u32) -> Option<&str> {
        self.map.name(number)
    }

    /// The unique number named `name`.
    fn number_of(&self, name: &str) -> Option<u32> {
        self.map.number(name)
    }

    /// `text` with each name in a port place replaced by its number
    /// (names may be quoted: `"my port"`). Unknown names are left as they
    /// are for the parser to refuse.
    pub fn accept(&self, text: &str, tables: bool) -> String {
        self.rewrite(text, tables, |value| {
            let name = match value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                Some(q) => q.replace("\\\"", "\"").replace("\\\\", "\\"),
                None => value.to_string(),
            };
            if name.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            self.number_of(&name).map(|n| n.to_string())
        })
    }

    /// `text` with each number in a port place replaced by its name.
    pub fn show(&self, text: &str, tables: bool) -> String {
        self.rewrite(text, tables, |value| {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let n: u32 = value.parse().ok()?;
            self.name_of(n).map(put_name)
        })
    }

    /// Applies `f` to each value in a place (port places, or table places
    /// when `tables`), replacing it when `f` returns a new text.
    fn rewrite(&self, text: &str, tables: bool, f: impl Fn(&str) -> Option<String>) -> String {
        if self.map.is_empty() {
            return text.to_string();
        }
        let places = if tables { TABLE_PLACES } else { PORT_PLACES };
        let bytes = text.as_bytes();
        let mut out = String::with_capacity(text.len());
        let mut i = 0;
        let mut copied = 0;
        while i < bytes.len() {
            let hit = places.iter().find_map(|p| {
                if !bytes[i..].starts_with(p.prefix.as_bytes()) || !at_boundary(bytes, i) {
                    return None;
                }
                let start = i + p.prefix.len();
                let end = value_end(bytes, start);
                if end == start || !text[end..].starts_with(p.suffix) {
                    return None;
                }
                f(&text[start..end]).map(|new| (start, end, new))
            });
            match hit {
                Some((start, end, new)) => {
                    out.push_str(&text[copied..start]);
                    out.push_str(&new);
                    copied = end;
                    i = end;
                }
                None => i += 1,
            }
        }
        out.push_str(&text[copied..]);
        out
    }
}

/// The end of the value starting at `start`: a quoted string, or up to the
/// next separator.
fn value_end(bytes: &[u8], start: usize) -> usize {
    if bytes.get(start) == Some(&b'"') {
        let mut j = start + 1;
        while j < bytes.len() {
            match bytes[j] {
                b'\\' => j += 2,
                b'"' => return j + 1,
                _ => j += 1,
            }
        }
        return start;
    }
    let mut j = start;
    while j < bytes.len() && !is_end(bytes[j]) && !bytes[j..].starts_with(b"->") {
        j += 1;
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports() -> NameMap {
        NameMap::new([
            (1, "p1".to_string()),
            (2, "p2".to_string()),
            (3, "my port".to_string()),
            (0xffff_fffe, "br0".to_string()),
        ])
    }

    #[test]
    fn shows_port_names_where_ovs_does() {
        let m = ports();
        assert_eq!(
            m.show(
                " priority=5,in_port=1 actions=output:2,resubmit(1,3),set_field:1->in_port,output:3,enqueue:2:3",
                false
            ),
            " priority=5,in_port=p1 actions=output:p2,resubmit(p1,3),set_field:p1->in_port,output:\"my port\",enqueue:p2:3"
        );
        assert_eq!(
            m.show("  port  1: rx pkts=7, bytes=586\n", false),
            "  port  p1: rx pkts=7, bytes=586\n"
        );
        // Not a port: metadata, registers, priorities, other set_fields.
        let same = "priority=1,reg1=1,metadata=0x1 actions=set_field:1->reg0,output:12";
        assert_eq!(m.show(same, false), same);
        assert_eq!(m.show("actset_output=2", false), "actset_output=p2");
    }

    #[test]
    fn accepts_names_and_leaves_numbers_and_unknown_names() {
        let m = ports();
        assert_eq!(
            m.accept(
                "in_port=p1,actions=output:p2,output:\"my port\",resubmit(p1,3)",
                false
            ),
            "in_port=1,actions=output:2,output:3,resubmit(1,3)"
        );
        assert_eq!(
            m.accept("in_port=p9 actions=output:7", false),
            "in_port=p9 actions=output:7"
        );
        assert_eq!(m.accept("out_port=p2", false), "out_port=2");
    }

    /// Review finding R5: the scan steps one byte at a time, so a
    /// multi-byte character anywhere in the text must not be sliced into.
    #[test]
    fn non_ascii_text_is_scanned_without_panicking() {
        let m = ports();
        assert_eq!(
            m.accept("in_port=p1,actions=drop,ü", false),
            "in_port=1,actions=drop,ü"
        );
        assert_eq!(
            m.accept("in_port=é,actions=output:p2", false),
            "in_port=é,actions=output:2"
        );
        // A non-ASCII name is printed quoted, as OVS's port_name_needs_quotes
        // (C locale) decides.
        let names = NameMap::new([(4, "pé".to_string())]);
        assert_eq!(
            names.show(" in_port=4 actions=output:4", false),
            " in_port=\"pé\" actions=output:\"pé\""
        );
        assert_eq!(
            names.accept("in_port=pé,actions=output:pé", false),
            "in_port=4,actions=output:4"
        );
    }

    #[test]
    fn duplicate_names_or_numbers_are_not_used() {
        let m = NameMap::new([
            (1, "a".to_string()),
            (2, "a".to_string()),
            (3, "b".to_string()),
        ]);
        assert_eq!(m.show("in_port=1,in_port=3", false), "in_port=1,in_port=b");
        assert_eq!(m.accept("in_port=a", false), "in_port=a");
    }

    #[test]
    fn tables_are_rewritten_only_in_table_places() {
        let m = NameMap::new([(3, "acl".to_string())]);
        assert_eq!(
            m.show("table=3, priority=1 actions=goto_table:3,output:3", true),
            "table=acl, priority=1 actions=goto_table:acl,output:3"
        );
        assert_eq!(
            m.accept("table=acl,actions=goto_table:acl", true),
            "table=3,actions=goto_table:3"
        );
    }

    #[test]
    fn quoting_follows_ovs() {
        assert_eq!(put_name("p1"), "p1");
        assert_eq!(put_name("1p"), "\"1p\"");
        assert_eq!(put_name("a-b"), "\"a-b\"");
        assert_eq!(put_name("a\"b"), "\"a\\\"b\"");
    }
}
