//! Property: a megaflow produced by xlate, applied to any key it matches,
//! gives the same actions as translating that key directly.

mod common;

use common::*;
use datapath::key::FlowKey;
use ofproto::{Ofproto, XlateOptions};
use proptest::prelude::*;

const PIPELINE: &str = "
table=0,priority=200,arp,actions=NORMAL
table=0,priority=150,ip,nw_src=10.0.0.0/8,nw_dst=10.1.0.0/16,actions=resubmit(,3)
table=0,priority=100,ip,ct_state=-trk,actions=ct(table=1,zone=3)
table=0,priority=90,ipv6,actions=output:4
table=0,priority=1,actions=drop
table=1,priority=20,tcp,tp_dst=80,ct_state=+trk+new,actions=ct(commit),output:2
table=1,priority=20,tcp,tp_dst=0x1000/0xf000,actions=mod_tp_dst:8080,output:3
table=1,priority=15,ct_state=+trk+est,ip,actions=move:NXM_OF_IN_PORT[]->NXM_NX_REG0[0..15],resubmit(,2)
table=1,priority=10,udp,actions=dec_ttl,output:1
table=1,priority=5,icmp,icmp_type=8,actions=mod_nw_dst:10.9.9.9,output:2
table=2,priority=10,reg0=1,actions=output:2
table=2,priority=10,reg0=2,actions=output:1
table=2,priority=1,actions=output:4
table=3,priority=100,ip,nw_src=10.0.0.1,actions=conjunction(9,1/2)
table=3,priority=100,ip,nw_src=10.0.0.2,actions=conjunction(9,1/2)
table=3,priority=100,tcp,tp_src=22,actions=conjunction(9,2/2)
table=3,priority=100,conj_id=9,ip,actions=push_vlan:0x8100,set_field:5->vlan_vid,output:3
table=3,priority=1,actions=output:1
";

fn pipeline() -> Ofproto {
    let mut of = bridge(4);
    load(&mut of, PIPELINE);
    of
}

prop_compose! {
    fn arb_key()(
        in_port in 1u32..=4,
        eth_type in prop::sample::select(vec![0x0800u16, 0x0806, 0x86dd, 0x88cc]),
        proto in prop::sample::select(vec![1u8, 6, 17, 47]),
        src in prop::sample::select(vec![0x0a00_0001u32, 0x0a00_0002, 0x0a01_0001, 0x0b00_0001]),
        dst in prop::sample::select(vec![0x0a01_0005u32, 0x0a00_0001, 0xc0a8_0001]),
        tp_src in prop::sample::select(vec![22u16, 8, 1000]),
        tp_dst in prop::sample::select(vec![80u16, 0x1234, 53, 0]),
        ct_state in prop::sample::select(vec![0u8, 0x21, 0x22, 0x30]),
        recirc in prop::sample::select(vec![0u32, 0, 1]),
        ttl in prop::sample::select(vec![1u8, 64]),
        frag in prop::sample::select(vec![0u8, 1, 3]),
        dl_dst in prop::sample::select(vec![0xffff_ffff_ffffu64, 0x0000_0000_0002]),
    ) -> FlowKey {
        let mut k = FlowKey::default();
        k.set_in_port(in_port);
        k.set_eth_type(eth_type);
        k.set_eth_dst_u48(dl_dst);
        k.set_eth_src_u48(0x0000_0000_0001 + u64::from(in_port));
        if eth_type == 0x0800 || eth_type == 0x86dd {
            k.set_nw_proto(proto);
            k.set_nw_ttl(ttl);
            k.set_nw_frag(frag);
            if frag & 2 == 0 {
                k.set_tp_src(if proto == 1 { tp_src & 0xff } else { tp_src });
                k.set_tp_dst(if proto == 1 { 0 } else { tp_dst });
            }
        }
        if eth_type == 0x0800 || eth_type == 0x0806 {
            k.set_nw_src(src);
            k.set_nw_dst(dst);
        }
        k.set_ct_state(ct_state);
        k.set_recirc_id(recirc);
        k
    }
}

/// What packet extraction guarantees: later fragments carry no ports, ICMP
/// type/code are 8 bits, non-IP packets no L3/L4 fields.
fn canonical(mut k: FlowKey) -> FlowKey {
    let ip = matches!(k.eth_type(), 0x0800 | 0x86dd);
    if !ip {
        k.set_nw_ttl(0);
        k.set_nw_frag(0);
        k.set_tp_src(0);
        k.set_tp_dst(0);
        if k.eth_type() != 0x0806 {
            k.set_nw_proto(0);
            k.set_nw_src(0);
            k.set_nw_dst(0);
        }
    }
    if k.eth_type() == 0x86dd {
        k.set_nw_src(0);
        k.set_nw_dst(0);
    }
    if ip && k.nw_frag() & 2 != 0 {
        k.set_tp_src(0);
        k.set_tp_dst(0);
    }
    if ip && k.nw_proto() == 1 {
        k.set_tp_src(k.tp_src() & 0xff);
        k.set_tp_dst(k.tp_dst() & 0xff);
    }
    k
}

fn xl(of: &Ofproto, k: &FlowKey) -> ofproto::Translation {
    of.translate(
        k,
        XlateOptions {
            now_ms: 0,
            side_effects: false,
            trace: false,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn megaflow_actions_hold_for_every_key_it_matches(a in arb_key(), b in arb_key()) {
        let of = pipeline();
        // Make recirc_id 1 exist (the ct(table=1,zone=3) fork).
        let mut seed = FlowKey::default();
        seed.set_in_port(1);
        seed.set_eth_type(0x0800);
        let _ = xl(&of, &seed);
        let a = canonical(a);
        let ta = xl(&of, &a);
        // b' = a's bits under the mask, b's bits elsewhere: a key the megaflow matches.
        let mut merged = FlowKey::default();
        for i in 0..merged.w.len() {
            merged.w[i] = (a.w[i] & ta.mask.w[i]) | (b.w[i] & !ta.mask.w[i]);
        }
        let merged = canonical(merged);
        prop_assume!(merged.matches(&a, &ta.mask));
        let tb = xl(&of, &merged);
        prop_assert_eq!(&ta.actions, &tb.actions, "mask {:?}\nkey a {:?}\nkey b {:?}", ta.mask, a, merged);
    }
}

prop_compose! {
    /// A random ACL rule over prefixes, protocol and port masks.
    fn arb_rule()(
        prio in 1u16..50,
        src in prop::sample::select(vec![0x0a00_0000u32, 0x0a00_0100, 0x0a01_0000, 0x0b00_0000]),
        src_len in prop::sample::select(vec![0u8, 8, 16, 24, 31, 32]),
        dst in prop::sample::select(vec![0xc0a8_0000u32, 0xc0a8_0001, 0xc0a8_0102]),
        dst_len in prop::sample::select(vec![0u8, 16, 30, 32]),
        proto in prop::sample::select(vec![None, Some("tcp"), Some("udp")]),
        port in prop::sample::select(vec![None, Some("80"), Some("0x1000/0xf000"), Some("0x50/0xfff0")]),
        out in 1u32..=4,
    ) -> String {
        let mut m = vec![format!("priority={prio}"), proto.unwrap_or("ip").to_string()];
        if src_len > 0 {
            m.push(format!("nw_src={}/{src_len}", std::net::Ipv4Addr::from(src)));
        }
        if dst_len > 0 {
            m.push(format!("nw_dst={}/{dst_len}", std::net::Ipv4Addr::from(dst)));
        }
        if let (Some(_), Some(p)) = (proto, port) {
            m.push(format!("tp_dst={p}"));
        }
        format!("{},actions=output:{out}", m.join(","))
    }
}

prop_compose! {
    fn arb_ip_key()(
        src in prop::sample::select(vec![0x0a00_0001u32, 0x0a00_0101, 0x0a01_0203, 0x0b00_0001, 0x0c00_0001]),
        dst in prop::sample::select(vec![0xc0a8_0000u32, 0xc0a8_0001, 0xc0a8_0102, 0xc0a8_0103, 0x0808_0808]),
        proto in prop::sample::select(vec![6u8, 17, 1]),
        tp_dst in prop::sample::select(vec![80u16, 0x1234, 0x55, 22]),
    ) -> FlowKey {
        let mut k = FlowKey::default();
        k.set_in_port(9);
        k.set_eth_type(0x0800);
        k.set_nw_src(src);
        k.set_nw_dst(dst);
        k.set_nw_proto(proto);
        k.set_tp_dst(if proto == 1 { 0 } else { tp_dst });
        k
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Random ACLs exercise staged lookup and the prefix and ports tries.
    #[test]
    fn random_acl_megaflows_are_sound(rules in prop::collection::vec(arb_rule(), 1..25), a in arb_ip_key(), bs in prop::collection::vec(arb_ip_key(), 8)) {
        let mut of = bridge(4);
        for r in &rules {
            let _ = of.handle_flow_mod(&add(r), 0);
        }
        let a = canonical(a);
        let ta = xl(&of, &a);
        for b in bs {
            let mut merged = FlowKey::default();
            for i in 0..merged.w.len() {
                merged.w[i] = (a.w[i] & ta.mask.w[i]) | (b.w[i] & !ta.mask.w[i]);
            }
            let merged = canonical(merged);
            if !merged.matches(&a, &ta.mask) {
                continue;
            }
            let tb = xl(&of, &merged);
            prop_assert_eq!(&ta.actions, &tb.actions, "rules {:?}\nmask {:?}\na {:?}\nb {:?}", rules, ta.mask, a, merged);
        }
    }
}
