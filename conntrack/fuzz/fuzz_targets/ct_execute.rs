//! Fuzzes the packet input of `Conntrack::execute`: arbitrary bytes with arbitrary (caller-given)
//! L3 type, L4 protocol and offsets, and the same bytes with the types derived, through one
//! long-lived tracker, with time moving and sweeps/dumps in between. Oracles: no panic; every
//! packet comes out `+trk`; `+inv` never comes with other bits; the table's count matches a dump.
#![no_main]

use std::sync::OnceLock;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use conntrack::{Alg, Config, Conntrack, CtOpts, CtPacket, FlushFilter, L3, NatConfig, NatKind};
use libfuzzer_sys::fuzz_target;

static CT: OnceLock<Conntrack> = OnceLock::new();

fuzz_target!(|input: &[u8]| {
    let ct = CT.get_or_init(|| {
        Conntrack::new(Config {
            n_shards: 8,
            max_conns: 10_000,
            ..Config::default()
        })
    });
    let mut now_ns = 1_000_000_000_000u64;
    let mut rest = input;
    // Records: [len][ctl][proto][l3_ofs][l4_ofs][len bytes of packet].
    while rest.len() >= 5 {
        let (len, ctl, proto, l3_ofs, l4_ofs) =
            (rest[0] as usize, rest[1], rest[2], rest[3], rest[4]);
        rest = &rest[5..];
        let data = &rest[..len.min(rest.len())];
        rest = &rest[data.len()..];
        let opts = CtOpts {
            zone: u16::from(ctl >> 6),
            commit: ctl & 1 != 0,
            force: ctl & 2 != 0,
            set_mark: (ctl & 4 != 0).then_some((u32::from(proto), 0xff)),
            set_label: (ctl & 8 != 0).then_some((u128::from(l4_ofs) << 64, u128::MAX)),
            // NAT and ALG choices from the protocol byte's high bits: none, bare nat,
            // SNAT to a small v4 pool, DNAT to a v6 address; FTP or TFTP helper.
            nat: match proto >> 6 {
                0 => None,
                1 => Some(NatConfig::REVERSE),
                2 => Some(NatConfig {
                    kind: Some(NatKind::Src),
                    addr_min: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))),
                    addr_max: Some(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2))),
                    port_min: 1000,
                    port_max: 1003,
                    persistent: l3_ofs & 1 != 0,
                    proto_hash: l3_ofs & 2 != 0,
                    proto_random: false,
                }),
                _ => Some(NatConfig {
                    kind: Some(NatKind::Dst),
                    addr_min: Some(IpAddr::V6(Ipv6Addr::LOCALHOST)),
                    addr_max: None,
                    port_min: 0,
                    port_max: 0,
                    persistent: false,
                    proto_hash: false,
                    proto_random: l3_ofs & 4 != 0,
                }),
            },
            alg: match (proto >> 4) & 3 {
                1 => Some(Alg::Ftp),
                2 => Some(Alg::Tftp),
                _ => None,
            },
        };
        let given = CtPacket {
            data,
            l3: match ctl & 0x30 {
                0x00 => L3::Ipv4,
                0x10 => L3::Ipv6,
                _ => L3::Other,
            },
            l4_proto: proto,
            l3_ofs: u16::from(l3_ofs),
            l4_ofs: u16::from(l4_ofs),
            hash: 0,
            checksum_ok: ctl & 0x20 != 0,
            md: Default::default(),
            rewrite: Default::default(),
        };
        let derived = CtPacket::derive(data);
        let mut batch = [given, derived];
        ct.execute(&mut batch, &opts, now_ns);
        for p in &batch {
            let s = p.md.state.0;
            assert!(s & 0x20 != 0, "not +trk");
            assert!(s & 0x10 == 0 || s == 0x30, "+inv with other bits: {s:#x}");
            // Applying the decided rewrite to a copy never panics.
            let mut copy = p.data.to_vec();
            let _ = p.rewrite.apply(&mut copy);
        }
        now_ns += u64::from(proto) * 1_000_000_000;
        if ctl == 0xff {
            ct.sweep(now_ns, 64);
            let _ = ct.dump(None, conntrack::DumpCursor::START, 16, now_ns);
        }
        if ctl == 0xfe {
            ct.flush(FlushFilter::Zone(3));
        }
    }
    assert_eq!(ct.len(), ct.dump_all(None, 0).len());
});
