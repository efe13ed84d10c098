//! The fixed-size flow key.
//!
//! A [`FlowKey`] is `KEY_WORDS` 64-bit words. Every field lives at a fixed
//! (word, bit shift, width) position, so masking a key is a word-wise AND,
//! comparing is a word-wise compare, and hashing folds words. A megaflow
//! mask is a `FlowKey` too: a 1 bit means "this bit of the key matters".
//!
//! Field encodings follow Open vSwitch's `struct flow`:
//! - VLAN TCIs carry `VLAN_CFI` (0x1000) as a "tag present" marker;
//! - for ARP, `nw_proto` is the opcode (0 if it does not fit in 8 bits),
//!   `nw_src`/`nw_dst` the sender/target protocol addresses and
//!   `arp_sha`/`arp_tha` the hardware addresses;
//! - for ICMP/ICMPv6, `tp_src` is the type and `tp_dst` the code;
//!   for neighbour discovery `nd_target` is the target and `arp_sha`/`arp_tha`
//!   the source/target link-layer address options;
//! - `nw_frag` uses [`FRAG_ANY`] and [`FRAG_LATER`].
//!
//! The registers of OpenFlow are not in the key: ofproto restores them from
//! the frozen state of a `recirc_id` (DESIGN.md, step 6). `metadata` is carried.

/// Number of 64-bit words in a [`FlowKey`].
pub const KEY_WORDS: usize = 25;

/// `nw_frag`: the packet is a fragment.
pub const FRAG_ANY: u8 = 0x01;
/// `nw_frag`: the packet is a fragment other than the first one.
pub const FRAG_LATER: u8 = 0x02;
/// Marker bit in a VLAN TCI field of the key: a tag is present.
pub const VLAN_CFI: u16 = 0x1000;

/// `ct_state` bits, as Open vSwitch numbers them.
pub mod ct_state {
    pub const NEW: u8 = 0x01;
    pub const EST: u8 = 0x02;
    pub const REL: u8 = 0x04;
    pub const RPL: u8 = 0x08;
    pub const INV: u8 = 0x10;
    pub const TRK: u8 = 0x20;
    pub const SNAT: u8 = 0x40;
    pub const DNAT: u8 = 0x80;
}

/// A flow key or a flow mask; see the module documentation.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FlowKey {
    pub w: [u64; KEY_WORDS],
}

impl Default for FlowKey {
    fn default() -> Self {
        FlowKey { w: [0; KEY_WORDS] }
    }
}

impl std::hash::Hash for FlowKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash64());
    }
}

impl std::fmt::Debug for FlowKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::dump::format_key(self, &FlowKey::exact()))
    }
}

macro_rules! scalar_fields {
    ($( $(#[$doc:meta])* $get:ident, $set:ident, $word:expr, $shift:expr, $bits:expr, $ty:ty; )*) => {
        impl FlowKey {
            $(
                $(#[$doc])*
                #[inline]
                pub fn $get(&self) -> $ty {
                    ((self.w[$word] >> $shift) & (u64::MAX >> (64 - $bits))) as $ty
                }
                #[inline]
                pub fn $set(&mut self, v: $ty) {
                    let m: u64 = (u64::MAX >> (64 - $bits)) << $shift;
                    self.w[$word] = (self.w[$word] & !m) | (((v as u64) << $shift) & m);
                }
            )*
        }
        /// (name, word, shift, bits) of every scalar field; used by tests and the dump.
        pub const SCALAR_FIELDS: &[(&str, usize, u32, u32)] = &[$((stringify!($get), $word, $shift, $bits)),*];
    };
}

scalar_fields! {
    /// Datapath port number the packet arrived on.
    in_port, set_in_port, 0, 0, 32, u32;
    recirc_id, set_recirc_id, 0, 32, 32, u32;
    dp_hash, set_dp_hash, 1, 0, 32, u32;
    ct_state, set_ct_state, 1, 32, 8, u8;
    /// IP protocol of the connection's original direction.
    ct_nw_proto, set_ct_nw_proto, 1, 40, 8, u8;
    ct_zone, set_ct_zone, 1, 48, 16, u16;
    ct_mark, set_ct_mark, 2, 0, 32, u32;
    ct_tp_src, set_ct_tp_src, 2, 32, 16, u16;
    ct_tp_dst, set_ct_tp_dst, 2, 48, 16, u16;
    ct_nw_src, set_ct_nw_src, 5, 0, 32, u32;
    ct_nw_dst, set_ct_nw_dst, 5, 32, 32, u32;
    metadata, set_metadata, 10, 0, 64, u64;
    /// Destination MAC as a big-endian 48-bit number.
    eth_dst_u48, set_eth_dst_u48, 11, 0, 48, u64;
    eth_type, set_eth_type, 11, 48, 16, u16;
    eth_src_u48, set_eth_src_u48, 12, 0, 48, u64;
    nw_proto, set_nw_proto, 12, 48, 8, u8;
    nw_frag, set_nw_frag, 12, 56, 8, u8;
    vlan0_tpid, set_vlan0_tpid, 13, 0, 16, u16;
    vlan0_tci, set_vlan0_tci, 13, 16, 16, u16;
    vlan1_tpid, set_vlan1_tpid, 13, 32, 16, u16;
    vlan1_tci, set_vlan1_tci, 13, 48, 16, u16;
    nw_src, set_nw_src, 14, 0, 32, u32;
    nw_dst, set_nw_dst, 14, 32, 32, u32;
    ipv6_label, set_ipv6_label, 19, 0, 32, u32;
    nw_tos, set_nw_tos, 19, 32, 8, u8;
    nw_ttl, set_nw_ttl, 19, 40, 8, u8;
    tcp_flags, set_tcp_flags, 19, 48, 16, u16;
    tp_src, set_tp_src, 20, 0, 16, u16;
    tp_dst, set_tp_dst, 20, 16, 16, u16;
    arp_sha_u48, set_arp_sha_u48, 21, 0, 48, u64;
    arp_tha_u48, set_arp_tha_u48, 22, 0, 48, u64;
}

macro_rules! wide_fields {
    ($( $get:ident, $set:ident, $word:expr; )*) => {
        impl FlowKey {
            $(
                #[inline]
                pub fn $get(&self) -> u128 {
                    ((self.w[$word] as u128) << 64) | self.w[$word + 1] as u128
                }
                #[inline]
                pub fn $set(&mut self, v: u128) {
                    self.w[$word] = (v >> 64) as u64;
                    self.w[$word + 1] = v as u64;
                }
            )*
        }
        /// (name, first word) of every 128-bit field.
        pub const WIDE_FIELDS: &[(&str, usize)] = &[$((stringify!($get), $word)),*];
    };
}

wide_fields! {
    ct_label, set_ct_label, 3;
    ct_ipv6_src, set_ct_ipv6_src, 6;
    ct_ipv6_dst, set_ct_ipv6_dst, 8;
    ipv6_src, set_ipv6_src, 15;
    ipv6_dst, set_ipv6_dst, 17;
    nd_target, set_nd_target, 23;
}

/// Converts 6 MAC bytes to the 48-bit number stored in the key.
#[inline]
pub fn mac_to_u48(m: [u8; 6]) -> u64 {
    u64::from_be_bytes([0, 0, m[0], m[1], m[2], m[3], m[4], m[5]])
}

/// Converts a 48-bit key number back to MAC bytes.
#[inline]
pub fn u48_to_mac(v: u64) -> [u8; 6] {
    let b = v.to_be_bytes();
    [b[2], b[3], b[4], b[5], b[6], b[7]]
}

const HASH_K: u64 = 0x9e37_79b9_7f4a_7c15;

#[inline]
fn mix(h: u64, w: u64) -> u64 {
    (h ^ w).wrapping_mul(HASH_K).rotate_left(29)
}

#[inline]
fn finish(h: u64) -> u64 {
    let h = h ^ (h >> 32);
    h.wrapping_mul(0xd6e8_feb8_6659_fd93) ^ (h >> 29)
}

impl FlowKey {
    /// A mask with every bit significant.
    pub fn exact() -> Self {
        FlowKey {
            w: [u64::MAX; KEY_WORDS],
        }
    }

    pub fn eth_src(&self) -> [u8; 6] {
        u48_to_mac(self.eth_src_u48())
    }
    pub fn eth_dst(&self) -> [u8; 6] {
        u48_to_mac(self.eth_dst_u48())
    }
    pub fn set_eth_src(&mut self, m: [u8; 6]) {
        self.set_eth_src_u48(mac_to_u48(m))
    }
    pub fn set_eth_dst(&mut self, m: [u8; 6]) {
        self.set_eth_dst_u48(mac_to_u48(m))
    }

    /// Hash of all words; stable within one process.
    #[inline]
    pub fn hash64(&self) -> u64 {
        // Four independent chains for instruction-level parallelism.
        let mut l = [
            0u64,
            0x2545_f491_4f6c_dd1d,
            0x9e6c_63d0_676a_9a99,
            0x5851_f42d_4c95_7f2d,
        ];
        for (i, &w) in self.w.iter().enumerate() {
            l[i & 3] = mix(l[i & 3], w);
        }
        finish(l[0] ^ l[1].rotate_left(16) ^ l[2].rotate_left(32) ^ l[3].rotate_left(48))
    }

    /// `self & mask`.
    #[inline]
    pub fn masked(&self, mask: &FlowKey) -> FlowKey {
        let mut out = FlowKey::default();
        for i in 0..KEY_WORDS {
            out.w[i] = self.w[i] & mask.w[i];
        }
        out
    }

    /// Whether `self` (a key) matches `key` under `mask`: `self & mask == key & mask`.
    #[inline]
    pub fn matches(&self, key: &FlowKey, mask: &FlowKey) -> bool {
        // No early exit: the folded form compiles to straight vector code,
        // which beats a branch per word when (as on an EMC hit) all match.
        let mut diff = 0u64;
        for i in 0..KEY_WORDS {
            diff |= (self.w[i] ^ key.w[i]) & mask.w[i];
        }
        diff == 0
    }

    /// Number of set bits (a mask's specificity).
    pub fn count_ones(&self) -> u32 {
        self.w.iter().map(|w| w.count_ones()).sum()
    }
}

/// Hash of `key & mask` over only the words listed in `words` (the nonzero
/// words of the mask); the classifier's subtable hash.
#[inline]
pub fn masked_hash(key: &FlowKey, mask: &FlowKey, words: &[u8]) -> u64 {
    let mut h = 0u64;
    for &i in words {
        let i = i as usize;
        h = mix(h, key.w[i] & mask.w[i]);
    }
    finish(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_do_not_overlap() {
        let mut seen = [0u64; KEY_WORDS];
        for &(name, word, shift, bits) in SCALAR_FIELDS {
            let m = (u64::MAX >> (64 - bits)) << shift;
            assert_eq!(seen[word] & m, 0, "{name} overlaps");
            seen[word] |= m;
        }
        for &(name, word) in WIDE_FIELDS {
            assert_eq!(seen[word] | seen[word + 1], 0, "{name} overlaps");
            seen[word] = u64::MAX;
            seen[word + 1] = u64::MAX;
        }
    }

    #[test]
    fn setters_round_trip_and_leave_neighbours_alone() {
        let mut k = FlowKey::default();
        k.set_eth_type(0x86dd);
        k.set_eth_dst([1, 2, 3, 4, 5, 6]);
        k.set_nw_proto(17);
        k.set_nw_frag(FRAG_ANY);
        k.set_ipv6_src(0x2001_0db8 << 96 | 1);
        assert_eq!(k.eth_type(), 0x86dd);
        assert_eq!(k.eth_dst(), [1, 2, 3, 4, 5, 6]);
        assert_eq!(k.nw_proto(), 17);
        assert_eq!(k.nw_frag(), FRAG_ANY);
        assert_eq!(k.ipv6_src(), 0x2001_0db8 << 96 | 1);
        k.set_tp_src(0xffff);
        assert_eq!(k.tp_dst(), 0);
    }

    #[test]
    fn masked_hash_equals_for_keys_equal_under_mask() {
        let mut a = FlowKey::default();
        let mut b = FlowKey::default();
        a.set_nw_src(0x0a00_0001);
        b.set_nw_src(0x0a00_0002);
        a.set_tp_dst(80);
        b.set_tp_dst(80);
        let mut m = FlowKey::default();
        m.set_tp_dst(0xffff);
        let words: Vec<u8> = (0..KEY_WORDS as u8)
            .filter(|&i| m.w[i as usize] != 0)
            .collect();
        assert_eq!(masked_hash(&a, &m, &words), masked_hash(&b, &m, &words));
        assert!(a.matches(&b, &m));
        m.set_nw_src(u32::MAX);
        assert!(!a.matches(&b, &m));
    }
}
