//! Port and table names in flow text, as ovs-ofctl accepts them.
//!
//! ovs-ofctl fetches a switch's port names (PORT_DESC) and table names
//! (TABLE_FEATURES, tables whose name is set) and accepts them wherever
//! the flow syntax takes a port or a table: `in_port=p1`,
//! `actions=output:p2`, `resubmit(p1,acl)`, `goto_table:acl`, … A name may
//! be written bare or as a JSON string (`"p-1"`); a number or reserved port
//! name (`LOCAL`, `CONTROLLER`, …) always wins over a name, and a name
//! two ports (tables) share means neither (OVS's namemap). Offline parsing
//! has no map ([`Names::NONE`]): a name is then refused with the same
//! message as an unknown name (`p9: invalid or unknown port for in_port`,
//! `p9: output to unknown port`, …).
//!
//! The parsers take a [`Names`] value; the functions without `_with` in
//! their name parse with [`Names::NONE`].

use std::borrow::Cow;

/// Numbers and names of one switch's ports (32-bit OpenFlow 1.3 numbers)
/// or tables.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NameMap {
    entries: Vec<(u32, String)>,
}

impl NameMap {
    /// A map from `(number, name)` pairs; empty names are dropped (a table
    /// without a name).
    pub fn new(entries: impl IntoIterator<Item = (u32, String)>) -> NameMap {
        NameMap {
            entries: entries.into_iter().filter(|(_, n)| !n.is_empty()).collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `(number, name)` pairs, in the order given.
    pub fn entries(&self) -> &[(u32, String)] {
        &self.entries
    }

    /// The number named `name` (case-sensitive), if exactly one entry has
    /// that name.
    pub fn number(&self, name: &str) -> Option<u32> {
        let mut it = self.entries.iter().filter(|(_, m)| m == name);
        let (n, _) = it.next()?;
        it.next().is_none().then_some(*n)
    }

    /// The name of `number`, if exactly one entry has the number and no
    /// other entry has its name.
    pub fn name(&self, number: u32) -> Option<&str> {
        let mut it = self.entries.iter().filter(|(n, _)| *n == number);
        let (_, name) = it.next()?;
        if it.next().is_some() || self.number(name).is_none() {
            return None;
        }
        Some(name)
    }

    /// The number `text` names: a bare name, or a JSON string holding one.
    fn lookup(&self, text: &str) -> Option<u32> {
        if !text.starts_with('"') {
            return self.number(text);
        }
        let inner = text.strip_prefix('"')?.strip_suffix('"')?;
        self.number(&json_unescape(inner)?)
    }
}

/// The name maps a parse may use (see the module documentation).
#[derive(Clone, Copy, Debug, Default)]
pub struct Names<'a> {
    pub ports: Option<&'a NameMap>,
    pub tables: Option<&'a NameMap>,
}

impl<'a> Names<'a> {
    /// No names: only numbers and reserved port names are accepted.
    pub const NONE: Names<'static> = Names {
        ports: None,
        tables: None,
    };

    pub fn new(ports: &'a NameMap, tables: &'a NameMap) -> Names<'a> {
        Names {
            ports: Some(ports),
            tables: Some(tables),
        }
    }

    /// A port as ovs-ofctl's `ofputil_port_from_string` reads it: a
    /// number or reserved name ([`crate::action::parse_port`]), else a name
    /// from the port map. 32-bit OpenFlow 1.3 numbering.
    pub fn port(&self, text: &str) -> Option<u32> {
        crate::action::parse_port(text).or_else(|| self.port_name(text))
    }

    /// `text` as a name in the port map only.
    pub fn port_name(&self, text: &str) -> Option<u32> {
        self.ports?.lookup(text)
    }

    /// A table as `ofputil_table_from_string` reads it: a decimal number
    /// up to 255, else a name from the table map.
    pub fn table(&self, text: &str) -> Option<u8> {
        let number = (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u8>().ok())
            .flatten();
        number.or_else(|| self.tables?.lookup(text).and_then(|n| u8::try_from(n).ok()))
    }

    /// `text` with a port name replaced by its number written so that
    /// every port parser reads it (reserved ports in their 16-bit form);
    /// anything else unchanged, for the caller's parser to accept or
    /// refuse with its own message.
    pub fn port_text<'t>(&self, text: &'t str) -> Cow<'t, str> {
        if crate::action::parse_port(text).is_some() {
            return Cow::Borrowed(text);
        }
        match self.port_name(text) {
            Some(n) if n >= 0xffff_ff00 => Cow::Owned((n - 0xffff_0000).to_string()),
            Some(n) => Cow::Owned(n.to_string()),
            None => Cow::Borrowed(text),
        }
    }
}

/// The contents of a JSON string (without its quotes), unescaped; `None`
/// if an escape is malformed or a quote is not escaped.
fn json_unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return None,
            '\\' => out.push(match chars.next()? {
                '"' => '"',
                '\\' => '\\',
                '/' => '/',
                'b' => '\u{8}',
                'f' => '\u{c}',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'u' => {
                    let hex: String = chars.by_ref().take(4).collect();
                    if hex.len() != 4 {
                        return None;
                    }
                    char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?
                }
                _ => return None,
            }),
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports() -> NameMap {
        NameMap::new([
            (1, "p1".to_string()),
            (2, "p-2".to_string()),
            (3, "dup".to_string()),
            (4, "dup".to_string()),
            (0xffff_fffe, "br0".to_string()),
        ])
    }

    #[test]
    fn numbers_and_reserved_names_win_over_the_map() {
        let m = NameMap::new([(7, "LOCAL".to_string()), (8, "5".to_string())]);
        let n = Names {
            ports: Some(&m),
            tables: None,
        };
        assert_eq!(n.port("LOCAL"), Some(0xffff_fffe));
        assert_eq!(n.port("5"), Some(5));
    }

    #[test]
    fn names_bare_quoted_duplicate_and_unknown() {
        let m = ports();
        let n = Names {
            ports: Some(&m),
            tables: None,
        };
        assert_eq!(n.port("p1"), Some(1));
        assert_eq!(n.port("\"p1\""), Some(1));
        assert_eq!(n.port("\"p-2\""), Some(2));
        assert_eq!(n.port("p-2"), Some(2));
        assert_eq!(n.port("\"p\\u0031\""), Some(1));
        assert_eq!(n.port("dup"), None);
        assert_eq!(n.port("P1"), None);
        assert_eq!(n.port("\"p1"), None);
        assert_eq!(n.port("p9"), None);
        assert_eq!(Names::NONE.port("p1"), None);
        assert_eq!(n.port_text("br0"), "65534");
        assert_eq!(n.port_text("p1"), "1");
        assert_eq!(n.port_text("p9"), "p9");
        assert_eq!(m.name(1), Some("p1"));
        assert_eq!(m.name(3), None);
    }

    #[test]
    fn tables_by_number_or_name() {
        let t = NameMap::new([(3, "acl".to_string()), (4, String::new())]);
        let n = Names {
            ports: None,
            tables: Some(&t),
        };
        assert_eq!(n.table("acl"), Some(3));
        assert_eq!(n.table("3"), Some(3));
        assert_eq!(n.table(""), None);
        assert_eq!(Names::NONE.table("acl"), None);
    }

    /// Each place OVS takes a port or table name parses to the flow the
    /// numbers give; offline (no map) the names are refused with OVS's
    /// messages.
    #[test]
    fn flows_with_names_parse_as_with_numbers() {
        use crate::text::flow_mod::{Command, parse_flow_mod, parse_flow_mod_with};
        let p = ports();
        let t = NameMap::new([(3, "acl".to_string()), (5, "out".to_string())]);
        let names = Names::new(&p, &t);
        let cases = [
            (
                "in_port=p1,actions=output:p-2",
                "in_port=1,actions=output:2",
            ),
            ("in_port=\"p-2\",actions=p1", "in_port=2,actions=1"),
            ("in_port=br0,actions=drop", "in_port=LOCAL,actions=drop"),
            (
                "actset_output=p1,actions=drop",
                "actset_output=1,actions=drop",
            ),
            (
                "table=acl,actions=resubmit(p1,acl),goto_table:out",
                "table=3,actions=resubmit(1,3),goto_table:5",
            ),
            (
                "ip,actions=set_field:p1->in_port,enqueue:p-2:5,ct(table=acl)",
                "ip,actions=set_field:1->in_port,enqueue:2:5,ct(table=3)",
            ),
            (
                "actions=output(port=p1,max_len=100),clone(output:p-2)",
                "actions=output(port=1,max_len=100),clone(output:2)",
            ),
            (
                "actions=learn(table=acl,NXM_OF_VLAN_TCI[0..11])",
                "actions=learn(table=3,NXM_OF_VLAN_TCI[0..11])",
            ),
            (
                "actions=bundle(eth_src,0,hrw,ofport,members:p1,p-2)",
                "actions=bundle(eth_src,0,hrw,ofport,members:1,2)",
            ),
        ];
        for (named, numbered) in cases {
            assert_eq!(
                parse_flow_mod_with(named, Command::Add, names).unwrap(),
                parse_flow_mod(numbered, Command::Add).unwrap(),
                "{named}"
            );
        }
        assert_eq!(
            parse_flow_mod_with("out_port=p-2", Command::Delete, names)
                .unwrap()
                .out_port,
            2
        );
        let refused = [
            (
                "in_port=p1,actions=drop",
                "p1: invalid or unknown port for in_port",
            ),
            ("actions=output:p1", "p1: output to unknown port"),
            ("actions=p1", "unknown action p1"),
            ("actions=resubmit(p1,3)", "p1: resubmit to unknown port"),
            ("actions=resubmit(,acl)", "acl: resubmit to unknown table"),
            ("actions=goto_table:acl", "unknown table \"acl\""),
            ("table=acl,actions=drop", "unknown table \"acl\""),
            (
                "actions=set_field:p1->in_port",
                "p1: invalid or unknown port for in_port",
            ),
            ("actions=enqueue:p1:3", "p1: enqueue to unknown port"),
            ("ip,actions=ct(table=acl)", "unknown table acl"),
        ];
        for (text, msg) in refused {
            let e = parse_flow_mod(text, Command::Add).unwrap_err().to_string();
            assert!(e.starts_with(msg), "{text}: {e}");
            // With maps, an unknown or shared name is refused the same way.
            let unknown = text.replace("p1", "dup").replace("acl", "nope");
            let e = parse_flow_mod_with(&unknown, Command::Add, names)
                .unwrap_err()
                .to_string();
            let msg = msg.replace("p1", "dup").replace("acl", "nope");
            assert!(e.starts_with(&msg), "{unknown}: {e}");
        }
        assert!(parse_flow_mod("out_port=p1", Command::Delete).is_err());
    }

    #[test]
    fn action_lists_take_names() {
        let p = ports();
        let t = NameMap::default();
        let names = Names::new(&p, &t);
        assert_eq!(
            crate::action::parse_action_list_with("output:p1,p-2", names).unwrap(),
            crate::action::parse_action_list("output:1,2").unwrap()
        );
        assert!(crate::action::parse_action_list("output:p1").is_err());
    }
}
