//! The megaflow classifier against a linear-scan reference, and the EMC.

use std::sync::Arc;

use datapath::actions::{Actions, DpAction};
use datapath::classifier::{Classifier, InsertError};
use datapath::emc::Emc;
use datapath::key::{FlowKey, KEY_WORDS};
use proptest::prelude::*;

/// A small universe of masks over a few fields so keys collide often.
fn mask_from_bits(bits: u8) -> FlowKey {
    let mut m = FlowKey::default();
    if bits & 1 != 0 {
        m.set_in_port(u32::MAX);
    }
    if bits & 2 != 0 {
        m.set_eth_type(u16::MAX);
    }
    if bits & 4 != 0 {
        m.set_nw_src(0xffff_ff00);
    }
    if bits & 8 != 0 {
        m.set_tp_dst(u16::MAX);
    }
    if bits & 16 != 0 {
        m.set_nw_proto(0xff);
    }
    if bits & 32 != 0 {
        m.set_ipv6_dst(u128::MAX);
    }
    m
}

fn key_from(vals: (u8, u8, u8, u8, u8)) -> FlowKey {
    let mut k = FlowKey::default();
    k.set_in_port(vals.0 as u32 % 3);
    k.set_eth_type(if vals.1.is_multiple_of(2) {
        0x0800
    } else {
        0x86dd
    });
    k.set_nw_src(0x0a00_0000 | ((vals.2 as u32 % 4) << 8) | (vals.2 as u32 % 3));
    k.set_tp_dst(vals.3 as u16 % 4);
    k.set_nw_proto(if vals.4.is_multiple_of(2) { 6 } else { 17 });
    k.set_ipv6_dst(vals.4 as u128 % 3);
    k
}

fn acts(id: u32) -> Actions {
    std::iter::once(DpAction::Output(id)).collect()
}

#[derive(Debug, Clone)]
enum Op {
    Insert(u8, (u8, u8, u8, u8, u8)),
    Delete(usize),
    Lookup((u8, u8, u8, u8, u8)),
    Rerank,
}

fn op() -> impl Strategy<Value = Op> {
    let key = (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
    );
    prop_oneof![
        3 => (0u8..64, key).prop_map(|(m, k)| Op::Insert(m, k)),
        1 => any::<usize>().prop_map(Op::Delete),
        4 => key.prop_map(Op::Lookup),
        1 => Just(Op::Rerank),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn classifier_agrees_with_linear_scan(ops in proptest::collection::vec(op(), 1..120)) {
        let mut cls = Classifier::new();
        // Reference: (id, masked key, mask).
        let mut reference: Vec<(u64, FlowKey, FlowKey)> = Vec::new();
        for op in ops {
            match op {
                Op::Insert(mb, kv) => {
                    let mask = mask_from_bits(mb);
                    let key = key_from(kv);
                    let covering = reference.iter().find(|(_, k, m)| key.matches(k, m)).map(|e| e.0);
                    match cls.insert(&key, &mask, acts(mb as u32)) {
                        Ok(f) => {
                            prop_assert!(covering.is_none(), "inserted although {covering:?} matches");
                            reference.push((f.id, key.masked(&mask), mask));
                        }
                        Err(InsertError::Exists(f)) => {
                            prop_assert!(covering.is_some());
                            prop_assert!(key.matches(&f.key, &f.mask));
                        }
                    }
                }
                Op::Delete(i) => {
                    if !reference.is_empty() {
                        let (id, _, _) = reference.remove(i % reference.len());
                        let f = cls.delete(id);
                        prop_assert!(f.is_some());
                        prop_assert!(f.unwrap().is_dead());
                    } else {
                        prop_assert!(cls.delete(12345).is_none());
                    }
                }
                Op::Lookup(kv) => {
                    let key = key_from(kv);
                    let want: Vec<u64> = reference.iter().filter(|(_, k, m)| key.matches(k, m)).map(|e| e.0).collect();
                    match cls.lookup(&key) {
                        Some(f) => {
                            prop_assert!(want.contains(&f.id), "got {} want one of {want:?}", f.id);
                            prop_assert!(key.matches(&f.key, &f.mask));
                        }
                        None => prop_assert!(want.is_empty()),
                    }
                }
                Op::Rerank => cls.rerank(),
            }
            prop_assert_eq!(cls.len(), reference.len());
            let masks: std::collections::HashSet<[u64; KEY_WORDS]> = reference.iter().map(|e| e.2.w).collect();
            prop_assert_eq!(cls.n_masks(), masks.len());
        }
    }
}

#[test]
fn retain_modify_and_flush() {
    let mut cls = Classifier::new();
    let a = cls
        .insert(&key_from((0, 0, 0, 0, 0)), &mask_from_bits(1), acts(1))
        .unwrap();
    let b = cls
        .insert(&key_from((1, 0, 0, 0, 0)), &mask_from_bits(3), acts(2))
        .unwrap();
    a.hit(3, 300, 5, 0x12);
    assert!(cls.modify(a.id, acts(9)));
    assert!(a.is_dead(), "the old megaflow is dead after modify");
    let a2 = cls.lookup(&key_from((0, 0, 0, 0, 0))).unwrap().clone();
    assert_eq!(a2.id, a.id);
    assert_eq!(a2.actions[0], DpAction::Output(9));
    assert_eq!(a2.stats().packets, 3);
    assert_eq!(a2.stats().tcp_flags, 0x12);
    assert_eq!(cls.retain(|f| f.id != b.id), 1);
    assert!(b.is_dead());
    assert_eq!(cls.len(), 1);
    cls.flush();
    assert!(a2.is_dead());
    assert!(cls.is_empty());
    assert_eq!(cls.n_masks(), 0);
}

#[test]
fn masks_are_ranked_by_hits() {
    let mut cls = Classifier::new();
    let k1 = key_from((0, 0, 0, 0, 0));
    let k2 = key_from((1, 1, 1, 1, 1));
    cls.insert(&k1, &mask_from_bits(1 | 2), acts(1)).unwrap();
    let f2 = cls.insert(&k2, &mask_from_bits(1 | 8), acts(2)).unwrap();
    for _ in 0..10 {
        cls.lookup(&k2);
    }
    cls.rerank();
    // Correctness is unchanged by the order.
    assert!(Arc::ptr_eq(cls.lookup(&k2).unwrap(), &f2));
    assert_eq!(cls.lookup(&k1).unwrap().actions[0], DpAction::Output(1));
}

#[test]
fn emc_hits_only_live_megaflows_that_match() {
    let mut cls = Classifier::new();
    let k = key_from((0, 0, 0, 0, 0));
    let f = cls.insert(&k, &mask_from_bits(1), acts(1)).unwrap();
    let mut emc = Emc::new();
    let h = k.hash64();
    emc.insert(&k, h, &f);
    assert!(Arc::ptr_eq(emc.lookup(&k, h).unwrap(), &f));
    let mut other = k;
    other.set_tp_src(99);
    assert!(emc.lookup(&other, other.hash64()).is_none());
    // A forged equal hash never hits a megaflow whose mask the key fails (in_port)...
    let mut other_port = k;
    other_port.set_in_port(2);
    assert!(emc.lookup(&other_port, h).is_none());
    // ...and hits one it matches (tp_src is outside the mask): a correct answer.
    assert!(Arc::ptr_eq(emc.lookup(&other, h).unwrap(), &f));
    cls.delete(f.id);
    assert!(emc.lookup(&k, h).is_none());
}

#[test]
fn emc_set_holds_four_ways_and_evicts_beyond() {
    let mut cls = Classifier::new();
    let mut emc = Emc::new();
    // Five megaflows (exact in_port), all forced into one set by one hash.
    let flows: Vec<_> = (0..5u32)
        .map(|p| {
            let mut k = FlowKey::default();
            k.set_in_port(p);
            (k, cls.insert(&k, &mask_from_bits(1), acts(p)).unwrap())
        })
        .collect();
    let h = 0x1234_5678_0000_0040u64;
    for (k, f) in &flows[..4] {
        emc.insert(k, h, f);
    }
    for (k, f) in &flows[..4] {
        assert!(Arc::ptr_eq(emc.lookup(k, h).unwrap(), f));
    }
    emc.insert(&flows[4].0, h, &flows[4].1);
    assert!(Arc::ptr_eq(
        emc.lookup(&flows[4].0, h).unwrap(),
        &flows[4].1
    ));
    let kept = flows[..4]
        .iter()
        .filter(|(k, f)| emc.lookup(k, h).is_some_and(|g| Arc::ptr_eq(g, f)))
        .count();
    assert_eq!(kept, 3, "one way evicted");
    // A dead way is reused before any live one.
    cls.delete(flows[4].1.id);
    let mut k5 = FlowKey::default();
    k5.set_in_port(5);
    let f5 = cls.insert(&k5, &mask_from_bits(1), acts(5)).unwrap();
    emc.insert(&k5, h, &f5);
    let kept_after = flows[..4]
        .iter()
        .filter(|(k, f)| emc.lookup(k, h).is_some_and(|g| Arc::ptr_eq(g, f)))
        .count();
    assert_eq!(kept_after, 3);
    emc.clear();
    assert!(emc.lookup(&k5, h).is_none());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 100, ..ProptestConfig::default() })]
    /// With hashes squeezed into 3 bits (constant collisions), every EMC hit is a live
    /// megaflow that matches the key, as a classifier lookup would be.
    #[test]
    fn emc_hits_always_match_under_collisions(
        ops in proptest::collection::vec((0u8..64, any::<(u8, u8, u8, u8, u8)>(), 0u8..4), 1..200)
    ) {
        let mut cls = Classifier::new();
        let mut emc = Emc::new();
        for (bits, kv, what) in ops {
            let key = key_from(kv);
            let h = key.hash64() & 7;
            match what {
                0 => { let _ = cls.insert(&key, &mask_from_bits(bits), acts(1)); }
                1 => {
                    if let Some(f) = cls.lookup(&key).cloned() {
                        if bits & 1 == 0 { cls.delete(f.id); } else { emc.insert(&key, h, &f); }
                    }
                }
                _ => {
                    if let Some(f) = emc.lookup(&key, h) {
                        prop_assert!(!f.is_dead());
                        prop_assert!(key.matches(&f.key, &f.mask));
                    }
                }
            }
        }
    }
}
