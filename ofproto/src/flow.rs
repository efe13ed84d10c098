//! `OfFlow`: the flow xlate works on, and its masks.
//!
//! An [`OfFlow`] is the datapath [`FlowKey`] (its `KEY_WORDS` words first,
//! unchanged) followed by the OpenFlow-only state that the datapath does not
//! carry: the sixteen 32-bit registers, `conj_id`, `pkt_mark` and `tun_id`.
//! The same type is used for values and for masks (a 1 bit = "this bit
//! matters"), so masking, comparing and OR-ing masks are word loops.
//!
//! Every codec [`Field`] that rvs can represent has a [`Slot`]: a bit range
//! in one word (or two words for 128-bit fields), and a shift between the
//! field's OpenFlow value and the stored bits (`ip_dscp` is the TOS byte's
//! top six bits, `vlan_pcp` the TCI's top three). Fields the datapath has no
//! room for (MPLS, most tunnel fields, `actset_output`) have no slot: they
//! read as 0, and a match that requires them to be nonzero never matches
//! (see [`crate::classifier`]).

use datapath::key::{FlowKey, KEY_WORDS};
use ofp_codec::Field;

/// Words of an [`OfFlow`]: the datapath key, 8 register words, then
/// `conj_id | pkt_mark << 32`, then `tun_id`.
pub const OF_WORDS: usize = KEY_WORDS + 10;
const REG_WORD: usize = KEY_WORDS;
const CONJ_WORD: usize = KEY_WORDS + 8;
const TUN_WORD: usize = KEY_WORDS + 9;

/// A flow value or mask; see the module documentation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OfFlow {
    pub w: [u64; OF_WORDS],
}

impl Default for OfFlow {
    fn default() -> Self {
        OfFlow { w: [0; OF_WORDS] }
    }
}

impl std::fmt::Debug for OfFlow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OfFlow{{key={:?}, regs={:x?}}}", self.key(), self.regs())
    }
}

/// Where a field lives in an [`OfFlow`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// First (most significant) word.
    pub word: u8,
    /// Bit position of the stored bits' least significant bit (narrow slots).
    pub shift: u8,
    /// Stored bits: up to 64 in one word, or 128 over `word`, `word + 1`.
    pub bits: u8,
    /// The field's OpenFlow value is the stored bits shifted left by this.
    pub vshift: u8,
}

const fn s(word: usize, shift: u8, bits: u8) -> Option<Slot> {
    Some(Slot {
        word: word as u8,
        shift,
        bits,
        vshift: 0,
    })
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Position of a scalar datapath key field, by its `SCALAR_FIELDS` name.
/// Evaluated at compile time (see `slot`), so lookups cost nothing.
const fn key_field(name: &str) -> (usize, u8, u8) {
    let f = datapath::key::SCALAR_FIELDS;
    let mut i = 0;
    while i < f.len() {
        if str_eq(f[i].0, name) {
            return (f[i].1, f[i].2 as u8, f[i].3 as u8);
        }
        i += 1;
    }
    panic!("unknown datapath key field")
}

const fn wide_field(name: &str) -> usize {
    let f = datapath::key::WIDE_FIELDS;
    let mut i = 0;
    while i < f.len() {
        if str_eq(f[i].0, name) {
            return f[i].1;
        }
        i += 1;
    }
    panic!("unknown datapath key field")
}

const fn kf(name: &str) -> Option<Slot> {
    let (w, sh, b) = key_field(name);
    s(w, sh, b)
}

/// `kf` narrowed to `bits` bits at `off` within the key field.
const fn kf_part(name: &str, off: u8, bits: u8) -> Option<Slot> {
    let (w, sh, _) = key_field(name);
    s(w, sh + off, bits)
}

const fn wide(name: &str) -> Option<Slot> {
    s(wide_field(name), 0, 128)
}

/// The slot of `field`, or None if rvs does not carry it (always 0).
pub fn slot(field: Field) -> Option<Slot> {
    use Field as F;
    match field {
        F::InPort => const { kf("in_port") },
        F::RecircId => const { kf("recirc_id") },
        F::DpHash => const { kf("dp_hash") },
        F::ConjId => s(CONJ_WORD, 0, 32),
        F::PktMark => s(CONJ_WORD, 32, 32),
        F::TunId => s(TUN_WORD, 0, 64),
        F::Reg(n) => {
            let n = (n & 15) as usize;
            s(
                REG_WORD + n / 2,
                if n.is_multiple_of(2) { 32 } else { 0 },
                32,
            )
        }
        F::XReg(n) => s(REG_WORD + (n & 7) as usize, 0, 64),
        F::XXReg(n) => s(REG_WORD + 2 * (n & 3) as usize, 0, 128),
        F::Metadata => const { kf("metadata") },
        F::EthSrc => const { kf("eth_src_u48") },
        F::EthDst => const { kf("eth_dst_u48") },
        F::EthType => const { kf("eth_type") },
        F::VlanTci => const { kf("vlan0_tci") },
        F::VlanVid => const { kf_part("vlan0_tci", 0, 13) },
        F::VlanPcp => const { kf_part("vlan0_tci", 13, 3) },
        F::Ipv4Src | F::ArpSpa => const { kf("nw_src") },
        F::Ipv4Dst | F::ArpTpa => const { kf("nw_dst") },
        F::Ipv6Src => const { wide("ipv6_src") },
        F::Ipv6Dst => const { wide("ipv6_dst") },
        F::Ipv6Label => const { kf_part("ipv6_label", 0, 20) },
        F::IpFrag => const { kf_part("nw_frag", 0, 2) },
        F::IpDscp => const { kf_part("nw_tos", 2, 6) },
        F::IpEcn => const { kf_part("nw_tos", 0, 2) },
        F::NwTos => const { kf_part("nw_tos", 2, 6) }.map(|sl| Slot { vshift: 2, ..sl }),
        F::NwTtl => const { kf("nw_ttl") },
        F::IpProto => const { kf("nw_proto") },
        F::ArpOp => const { kf("nw_proto") },
        F::TcpSrc | F::UdpSrc | F::SctpSrc => const { kf("tp_src") },
        F::TcpDst | F::UdpDst | F::SctpDst => const { kf("tp_dst") },
        F::TcpFlags => const { kf_part("tcp_flags", 0, 12) },
        F::Icmpv4Type | F::Icmpv6Type => const { kf_part("tp_src", 0, 8) },
        F::Icmpv4Code | F::Icmpv6Code => const { kf_part("tp_dst", 0, 8) },
        F::NdTarget => const { wide("nd_target") },
        F::ArpSha | F::NdSll => const { kf("arp_sha_u48") },
        F::ArpTha | F::NdTll => const { kf("arp_tha_u48") },
        F::CtState => const { kf("ct_state") },
        F::CtZone => const { kf("ct_zone") },
        F::CtMark => const { kf("ct_mark") },
        F::CtLabel => const { wide("ct_label") },
        F::CtNwSrc => const { kf("ct_nw_src") },
        F::CtNwDst => const { kf("ct_nw_dst") },
        F::CtIpv6Src => const { wide("ct_ipv6_src") },
        F::CtIpv6Dst => const { wide("ct_ipv6_dst") },
        F::CtNwProto => const { kf("ct_nw_proto") },
        F::CtTpSrc => const { kf("ct_tp_src") },
        F::CtTpDst => const { kf("ct_tp_dst") },
        _ => None,
    }
}

fn ones(bits: u8) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

impl OfFlow {
    /// A flow holding `key` and zero OpenFlow-only state.
    pub fn from_key(key: &FlowKey) -> Self {
        let mut f = OfFlow::default();
        f.w[..KEY_WORDS].copy_from_slice(&key.w);
        f
    }

    /// A mask with every bit significant.
    pub fn exact() -> Self {
        OfFlow {
            w: [u64::MAX; OF_WORDS],
        }
    }

    /// The datapath part.
    pub fn key(&self) -> FlowKey {
        let mut k = FlowKey::default();
        k.w.copy_from_slice(&self.w[..KEY_WORDS]);
        k
    }

    pub fn regs(&self) -> [u32; 16] {
        std::array::from_fn(|i| self.get(Field::Reg(i as u8)) as u32)
    }

    pub fn set_regs(&mut self, regs: &[u32; 16]) {
        for (i, r) in regs.iter().enumerate() {
            self.set(Field::Reg(i as u8), u128::from(*r));
        }
    }

    /// Stored bits of a slot (unshifted by `vshift`).
    fn get_slot(&self, sl: Slot) -> u128 {
        let w = sl.word as usize;
        if sl.bits == 128 {
            (u128::from(self.w[w]) << 64) | u128::from(self.w[w + 1])
        } else {
            u128::from((self.w[w] >> sl.shift) & ones(sl.bits))
        }
    }

    fn put_slot(&mut self, sl: Slot, v: u128) {
        let w = sl.word as usize;
        if sl.bits == 128 {
            self.w[w] = (v >> 64) as u64;
            self.w[w + 1] = v as u64;
        } else {
            let m = ones(sl.bits) << sl.shift;
            self.w[w] = (self.w[w] & !m) | (((v as u64) << sl.shift) & m);
        }
    }

    /// The value of `field` (0 for fields rvs does not carry).
    pub fn get(&self, field: Field) -> u128 {
        slot(field).map_or(0, |sl| self.get_slot(sl) << sl.vshift)
    }

    /// Sets `field` to `value` (bits beyond the slot are dropped). Returns
    /// false if rvs does not carry the field.
    pub fn set(&mut self, field: Field, value: u128) -> bool {
        match slot(field) {
            Some(sl) => {
                self.put_slot(sl, value >> sl.vshift);
                true
            }
            None => false,
        }
    }

    /// Sets the bits of `field` under `mask` to those of `value`.
    pub fn set_masked(&mut self, field: Field, value: u128, mask: u128) -> bool {
        let old = self.get(field);
        self.set(field, (old & !mask) | (value & mask))
    }

    /// ORs `mask` into the bits of `field` (for masks: un-wildcard them).
    pub fn or_field(&mut self, field: Field, mask: u128) {
        let old = self.get(field);
        self.set(field, old | mask);
    }

    /// Un-wildcards all of `field`.
    pub fn unwildcard(&mut self, field: Field) {
        if let Some(sl) = slot(field) {
            let all = if sl.bits == 128 {
                u128::MAX
            } else {
                u128::from(ones(sl.bits))
            };
            self.put_slot(sl, all);
        }
    }

    /// `self |= other`.
    #[inline]
    pub fn or_with(&mut self, other: &OfFlow) {
        for i in 0..OF_WORDS {
            self.w[i] |= other.w[i];
        }
    }

    /// `self & mask`.
    #[inline]
    pub fn masked(&self, mask: &OfFlow) -> OfFlow {
        let mut out = OfFlow::default();
        for i in 0..OF_WORDS {
            out.w[i] = self.w[i] & mask.w[i];
        }
        out
    }

    /// Whether every set bit of `self` is set in `other`.
    pub fn is_subset_of(&self, other: &OfFlow) -> bool {
        (0..OF_WORDS).all(|i| self.w[i] & !other.w[i] == 0)
    }

    pub fn is_zero(&self) -> bool {
        self.w.iter().all(|&w| w == 0)
    }

    /// The all-ones mask of `field` (0 if rvs does not carry it).
    pub fn field_mask(field: Field) -> OfFlow {
        let mut m = OfFlow::default();
        m.unwildcard(field);
        m
    }
}

/// Packet-type questions about a datapath key.
pub trait KeyExt {
    /// IPv4 or IPv6.
    fn is_ip_any(&self) -> bool;
}

impl KeyExt for FlowKey {
    fn is_ip_any(&self) -> bool {
        matches!(self.eth_type(), 0x0800 | 0x86dd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_share_storage_with_the_datapath_key() {
        let mut k = FlowKey::default();
        k.set_nw_src(0x0a00_0001);
        k.set_nw_tos(0xb9);
        k.set_vlan0_tci(0x1000 | 0xa000 | 10);
        k.set_tp_src(0x0308);
        let f = OfFlow::from_key(&k);
        assert_eq!(f.get(Field::Ipv4Src), 0x0a00_0001);
        assert_eq!(f.get(Field::IpDscp), 0xb9 >> 2);
        assert_eq!(f.get(Field::IpEcn), 1);
        assert_eq!(f.get(Field::NwTos), 0xb8);
        assert_eq!(f.get(Field::VlanVid), 0x1000 | 10);
        assert_eq!(f.get(Field::VlanPcp), 5);
        assert_eq!(f.get(Field::Icmpv4Type), 8);
        assert_eq!(f.get(Field::MplsLabel), 0);
    }

    #[test]
    fn registers_and_xregs_alias() {
        let mut f = OfFlow::default();
        f.set(Field::Reg(0), 0x1111_2222);
        f.set(Field::Reg(1), 0x3333_4444);
        assert_eq!(f.get(Field::XReg(0)), 0x1111_2222_3333_4444);
        f.set(Field::XXReg(1), 0xaaaa_bbbb_cccc_dddd_eeee_ffff_0000_1111);
        assert_eq!(f.get(Field::Reg(4)), 0xaaaa_bbbb);
        assert_eq!(f.get(Field::Reg(7)), 0x0000_1111);
        f.set(Field::Reg(15), 7);
        assert_eq!(f.regs()[15], 7);
        assert_eq!(
            f.key(),
            FlowKey::default(),
            "registers are not in the datapath key"
        );
    }

    #[test]
    fn masked_set_keeps_other_bits() {
        let mut f = OfFlow::default();
        f.set(Field::Reg(2), 0xffff_0000);
        f.set_masked(Field::Reg(2), 0x0000_00ab, 0x0000_00ff);
        assert_eq!(f.get(Field::Reg(2)), 0xffff_00ab);
        let mut m = OfFlow::default();
        m.or_field(Field::TcpDst, 0xff00);
        assert_eq!(m.get(Field::TcpDst), 0xff00);
        m.unwildcard(Field::TcpDst);
        assert_eq!(m.get(Field::TcpDst), 0xffff);
    }
}
