//! Splitting ovs-ofctl text into `key`, `key=value`, `key:value` and
//! `key(value)` items, as Open vSwitch's parsers do.
//!
//! Items are separated by commas and white space. A value that follows `=` or
//! `:` runs to the next separator, skipping over balanced parentheses (so
//! `ct(commit,nat(src=1.1.1.1))` is one value); a value that follows `(` runs
//! to the matching `)`, and `(x)->y` keeps its `->y` tail. Each item carries the
//! byte offset of its key in the original text, for error positions.

/// One item of a comma-separated list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyValue<'a> {
    pub key: &'a str,
    /// Empty when the item had no value.
    pub value: &'a str,
    /// Byte offset of `key` in the text given to [`KeyValues::new`].
    pub key_pos: usize,
    /// Byte offset of `value`.
    pub value_pos: usize,
}

/// Iterator over the items of `text`.
#[derive(Clone, Debug)]
pub struct KeyValues<'a> {
    text: &'a str,
    pos: usize,
    base: usize,
}

const ITEM_SEPARATORS: &[u8] = b", \t\r\n";

impl<'a> KeyValues<'a> {
    pub fn new(text: &'a str) -> Self {
        KeyValues {
            text,
            pos: 0,
            base: 0,
        }
    }

    /// Like [`KeyValues::new`], but reported positions are shifted by `base`
    /// (the offset of `text` inside a longer line).
    pub fn with_base(text: &'a str, base: usize) -> Self {
        KeyValues { text, pos: 0, base }
    }
}

/// Length of a value starting at `s`, ending before the first byte in
/// `delimiters` that is not inside parentheses (or at the end of `s`).
fn value_len(s: &[u8], delimiters: &[u8]) -> usize {
    let mut n = 0;
    while n < s.len() && !delimiters.contains(&s[n]) {
        if s[n] == b'(' {
            let mut level = 0usize;
            loop {
                match s.get(n) {
                    None => return n,
                    Some(b'(') => level += 1,
                    Some(b')') => level -= 1,
                    Some(_) => {}
                }
                n += 1;
                if level == 0 {
                    break;
                }
            }
        } else {
            n += 1;
        }
    }
    n
}

impl<'a> Iterator for KeyValues<'a> {
    type Item = KeyValue<'a>;

    fn next(&mut self) -> Option<KeyValue<'a>> {
        let bytes = self.text.as_bytes();
        while self.pos < bytes.len() && ITEM_SEPARATORS.contains(&bytes[self.pos]) {
            self.pos += 1;
        }
        if self.pos >= bytes.len() {
            return None;
        }
        let key_start = self.pos;
        let key_len = bytes[key_start..]
            .iter()
            .position(|b| b":=(, \t\r\n".contains(b))
            .unwrap_or(bytes.len() - key_start);
        let key_end = key_start + key_len;
        let delim = bytes.get(key_end).copied();
        let key = &self.text[key_start..key_end];
        self.pos = key_end + usize::from(delim.is_some());
        let value_delims: &[u8] = match delim {
            Some(b':') | Some(b'=') => ITEM_SEPARATORS,
            Some(b'(') => b")",
            _ => {
                return Some(KeyValue {
                    key,
                    value: "",
                    key_pos: self.base + key_start,
                    value_pos: self.base + key_end,
                });
            }
        };
        let value_start = self.pos;
        let rest = &bytes[value_start..];
        let mut len = value_len(rest, value_delims);
        // `key(x)->y`: the value is `x)->y`, up to the next item separator.
        if delim == Some(b'(') && rest.get(len) == Some(&b')') && rest[len..].starts_with(b")->") {
            len += value_len(&rest[len..], ITEM_SEPARATORS);
        }
        let value_end = value_start + len;
        let consumed_delim = value_end < bytes.len();
        self.pos = value_end + usize::from(consumed_delim);
        Some(KeyValue {
            key,
            value: &self.text[value_start..value_end],
            key_pos: self.base + key_start,
            value_pos: self.base + value_start,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(s: &str) -> Vec<(&str, &str)> {
        KeyValues::new(s).map(|kv| (kv.key, kv.value)).collect()
    }

    #[test]
    fn splits_keys_values_and_parenthesized_values() {
        assert_eq!(
            items("ip, ct_state=-trk,tcp_dst:80 ct(commit,nat(src=1.1.1.1)),x"),
            vec![
                ("ip", ""),
                ("ct_state", "-trk"),
                ("tcp_dst", "80"),
                ("ct", "commit,nat(src=1.1.1.1)"),
                ("x", "")
            ]
        );
        assert_eq!(
            items("load:1->reg0[0..3],move(x)->y"),
            vec![("load", "1->reg0[0..3]"), ("move", "x)->y")]
        );
        assert_eq!(
            items("output(port=1,max_len=100)"),
            vec![("output", "port=1,max_len=100")]
        );
        assert_eq!(items("  ,, "), vec![]);
    }

    #[test]
    fn unbalanced_parentheses_end_at_end_of_text() {
        assert_eq!(items("ct(commit,nat(src"), vec![("ct", "commit,nat(src")]);
        assert_eq!(items("a=(b"), vec![("a", "(b")]);
        let kv = KeyValues::with_base("a=1, b", 10).nth(1).unwrap();
        assert_eq!((kv.key, kv.key_pos), ("b", 15));
    }
}
