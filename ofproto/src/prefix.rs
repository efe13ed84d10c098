//! Prefix sets with the lookup semantics of OVS's classifier tries.
//!
//! OVS keeps a binary trie of the IPv4 source and destination prefixes of a
//! table's rules (and, per subtable, of their transport ports). A lookup of
//! a packet's value answers two questions: which prefix lengths have a rule
//! prefix the value falls in (`plens`), and how many leading bits of the
//! value had to be examined to know that (`maskbits`) — only those bits go
//! into the megaflow when the trie rules a subtable out.
//!
//! This is the same answer computed from the prefixes grouped by length
//! (sorted sets), without building the trie: with `M` the longest common
//! prefix between the value and any stored prefix (capped at that prefix's
//! length), `maskbits` is 32 if `M` is 32, `M + 1` if a longer stored prefix
//! shares the value's first `M` bits (the first differing bit had to be
//! read), and `M` otherwise.

use std::collections::BTreeMap;

/// A multiset of 32-bit prefixes.
#[derive(Clone, Debug, Default)]
pub struct PrefixSet {
    /// Prefix length → masked value → number of rules.
    by_len: BTreeMap<u8, BTreeMap<u32, u32>>,
}

fn prefix_mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

fn lcp(a: u32, b: u32) -> u8 {
    (a ^ b).leading_zeros() as u8
}

impl PrefixSet {
    pub fn insert(&mut self, value: u32, len: u8) {
        *self
            .by_len
            .entry(len)
            .or_default()
            .entry(value & prefix_mask(len))
            .or_default() += 1;
    }

    pub fn remove(&mut self, value: u32, len: u8) {
        if let Some(set) = self.by_len.get_mut(&len) {
            let v = value & prefix_mask(len);
            if let Some(n) = set.get_mut(&v) {
                *n -= 1;
                if *n == 0 {
                    set.remove(&v);
                }
            }
            if set.is_empty() {
                self.by_len.remove(&len);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_len.is_empty()
    }

    /// `(maskbits, plens)`: bits examined, and a bitmap with bit `len - 1`
    /// set for every stored prefix length that contains `x`.
    pub fn lookup(&self, x: u32) -> (u8, u64) {
        let mut plens = 0u64;
        let mut m = 0u8;
        for (&len, set) in &self.by_len {
            let mask = prefix_mask(len);
            if len > 0 && set.contains_key(&(x & mask)) {
                plens |= 1 << (len - 1);
            }
            let key = x & mask;
            let below = set.range(..=key).next_back().map(|(v, _)| *v);
            let above = set.range(key..).next().map(|(v, _)| *v);
            for v in [below, above].into_iter().flatten() {
                m = m.max(lcp(x, v).min(len));
            }
        }
        if self.by_len.is_empty() {
            return (0, 0);
        }
        if m >= 32 {
            return (32, plens);
        }
        let head = x & prefix_mask(m);
        let tail = !prefix_mask(m);
        let longer = self
            .by_len
            .range(m + 1..)
            .any(|(_, set)| set.range(head..=(head | tail)).next().is_some());
        (if longer { m + 1 } else { m }, plens)
    }
}

/// `len` if `mask` is a CIDR prefix mask of that length, else None.
pub fn prefix_len(mask: u32) -> Option<u8> {
    let len = mask.leading_ones();
    (mask == prefix_mask(len as u8)).then_some(len as u8)
}

/// The first `bits` bits of a 32-bit value.
pub fn bits_mask(bits: u8) -> u32 {
    prefix_mask(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_route_miss_needs_bits_up_to_the_first_difference() {
        let mut s = PrefixSet::default();
        s.insert(0x0a00_0001, 32);
        // 10.0.0.2 differs from 10.0.0.1 at bit 30: 31 bits examined.
        assert_eq!(s.lookup(0x0a00_0002), (31, 0));
        assert_eq!(s.lookup(0x0a00_0001), (32, 1 << 31));
        assert_eq!(s.lookup(0x0b00_0000).0, 8, "differs at bit 7");
    }

    #[test]
    fn nested_prefixes_report_every_matching_length() {
        let mut s = PrefixSet::default();
        s.insert(0x0a00_0000, 8);
        s.insert(0x0a01_0000, 16);
        let (bits, plens) = s.lookup(0x0a01_0203);
        assert_eq!(plens, (1 << 7) | (1 << 15));
        assert_eq!(bits, 16, "the /16 is a leaf: nothing longer to rule out");
        let (bits, plens) = s.lookup(0x0a02_0000);
        assert_eq!(plens, 1 << 7);
        assert_eq!(bits, 15, "first bit where the /16 differs must be read");
        s.remove(0x0a01_0000, 16);
        assert_eq!(s.lookup(0x0a02_0000), (8, 1 << 7));
        assert_eq!(prefix_len(0xffff_ff00), Some(24));
        assert_eq!(prefix_len(0xff00_ff00), None);
    }
}
