//! commit/force, zones, mark/label, the original tuple, limits, timeout policies.

mod common;
use common::*;
use conntrack::{Config, CtMeta, CtOpts, CtState, TimeoutPolicy};
use std::net::{IpAddr, Ipv4Addr};

#[test]
fn without_commit_a_new_connection_is_reported_but_not_stored() {
    let h = H::new();
    let md = h.run(&udp_ab(), CtOpts::default());
    assert_eq!(md.state.0, TRK | NEW);
    // The original tuple is the packet's own.
    let o = md.orig.unwrap();
    assert_eq!(
        (o.src, o.dst, o.src_port, o.dst_port, o.proto),
        (
            IpAddr::V4(Ipv4Addr::new(10, 1, 1, 1)),
            IpAddr::V4(Ipv4Addr::new(10, 1, 1, 2)),
            1,
            2,
            17
        )
    );
    assert_eq!(h.ct.len(), 0);
    assert_eq!(h.lookup(&udp_ba()), TRK | NEW);
}

#[test]
fn reply_packets_report_the_original_tuple() {
    let h = H::new();
    h.commit(&udp_ab());
    let md = h.run(&udp_ba(), CtOpts::default());
    assert_eq!(md.state.0, TRK | EST | RPL);
    let o = md.orig.unwrap();
    assert_eq!((o.src_port, o.dst_port), (1, 2));
    assert_eq!(o.src, IpAddr::V4(Ipv4Addr::new(10, 1, 1, 1)));
}

#[test]
fn zones_keep_connections_apart() {
    let h = H::new();
    assert_eq!(h.run(&udp_ab(), commit(1)).state.0, TRK | NEW);
    assert_eq!(h.run(&udp_ab(), commit(2)).state.0, TRK | NEW);
    assert_eq!(h.run(&udp_ba(), commit(1)).state.0, TRK | EST | RPL);
    let md = h.run(
        &udp_ba(),
        CtOpts {
            zone: 3,
            ..CtOpts::default()
        },
    );
    assert_eq!((md.state.0, md.zone), (TRK | NEW, 3));
    assert_eq!(
        (h.ct.zone_count(1), h.ct.zone_count(2), h.ct.zone_count(3)),
        (1, 1, 0)
    );
    assert_eq!(h.dump(Some(2), false).len(), 1);
    assert!(h.dump(Some(2), false)[0].ends_with(",zone=2"));
}

#[test]
fn state_is_reset_when_entering_another_zone_and_kept_in_the_same() {
    let h = H::new();
    h.commit(&udp_ab());
    h.commit(&udp_ba());
    // Re-entering zone 0 with earlier bits: est is added to what was there.
    let prev = CtMeta {
        state: CtState(TRK | REL),
        zone: 0,
        ..CtMeta::default()
    };
    assert_eq!(
        h.run_md(&udp_ab(), CtOpts::default(), prev).state.0,
        TRK | EST | REL
    );
    // Entering zone 5 from zone 0 starts clean.
    let md = h.run_md(
        &udp_ab(),
        CtOpts {
            zone: 5,
            ..CtOpts::default()
        },
        prev,
    );
    assert_eq!(md.state.0, TRK | NEW);
}

#[test]
fn mark_and_label_are_set_at_commit_and_read_afterwards() {
    let h = H::new();
    let opts = CtOpts {
        set_mark: Some((0x12, 0xff)),
        set_label: Some((1u128 << 100 | 5, u128::MAX)),
        ..commit(1)
    };
    let md = h.run(&udp_ab(), opts);
    assert_eq!((md.mark, md.label), (0x12, 1u128 << 100 | 5));
    let md = h.run(
        &udp_ba(),
        CtOpts {
            zone: 1,
            ..CtOpts::default()
        },
    );
    assert_eq!(
        (md.state.0, md.mark, md.label),
        (TRK | EST | RPL, 0x12, 1u128 << 100 | 5)
    );
    // Masked update keeps the other bits.
    let md = h.run(
        &udp_ab(),
        CtOpts {
            set_mark: Some((0x300, 0xf00)),
            ..commit(1)
        },
    );
    assert_eq!(md.mark, 0x312);
    assert_eq!(
        h.dump(None, false),
        vec![
            "udp,orig=(src=10.1.1.1,dst=10.1.1.2,sport=1,dport=2),reply=(src=10.1.1.2,dst=10.1.1.1,sport=2,dport=1),zone=1,mark=786,labels=0x10000000000000000000000005"
        ]
    );
    // A packet without a connection carries mark 0 and no label.
    let md = h.run(&udp4(A, B, 9, 9, b""), CtOpts::default());
    assert_eq!((md.mark, md.label), (0, 0));
}

#[test]
fn force_deletes_reply_direction_connection_and_starts_new() {
    let h = H::new();
    h.run(
        &udp_ab(),
        CtOpts {
            set_mark: Some((1, u32::MAX)),
            ..commit(0)
        },
    );
    assert_eq!(h.ct.stats().created, 1);
    let force = CtOpts {
        force: true,
        ..commit(0)
    };
    // Original direction: nothing special.
    assert_eq!(h.run(&udp_ab(), force).state.0, TRK | NEW);
    assert_eq!(h.ct.stats().created, 1);
    // Reply direction: the old connection goes, the packet starts a new one (B is now originator).
    let md = h.run(&udp_ba(), force);
    assert_eq!((md.state.0, md.mark), (TRK | NEW, 0));
    assert_eq!(h.ct.stats().created, 2);
    assert_eq!(h.ct.len(), 1);
    assert_eq!(
        h.dump(None, false),
        vec![
            "udp,orig=(src=10.1.1.2,dst=10.1.1.1,sport=2,dport=1),reply=(src=10.1.1.1,dst=10.1.1.2,sport=1,dport=2)"
        ]
    );
    // force without commit deletes but cannot create.
    let md = h.run(
        &udp_ab(),
        CtOpts {
            force: true,
            ..CtOpts::default()
        },
    );
    assert_eq!(md.state.0, TRK | NEW);
    assert_eq!(h.ct.len(), 0);
}

#[test]
fn global_limit_full_marks_new_not_committed_and_established_keeps_flowing() {
    let h = H::with(Config {
        max_conns: 2,
        ..Config::default()
    });
    assert_eq!(h.commit(&udp4(A, B, 1, 1, b"")), TRK | NEW);
    assert_eq!(h.commit(&udp4(A, B, 2, 2, b"")), TRK | NEW);
    // Full: OVS still reports +trk+new but commits nothing.
    let md = h.run(&udp4(A, B, 3, 3, b""), commit(0));
    assert_eq!(md.state.0, TRK | NEW);
    assert_eq!(h.ct.len(), 2);
    assert_eq!(h.ct.stats().full, 1);
    assert_eq!(h.lookup(&udp4(B, A, 1, 1, b"")), TRK | EST | RPL);
    h.ct.set_max_conns(3);
    assert_eq!(h.commit(&udp4(A, B, 3, 3, b"")), TRK | NEW);
    assert_eq!(h.ct.len(), 3);
    assert_eq!(conntrack::DEFAULT_MAX_CONNS, 3_000_000);
    assert_eq!(
        conntrack::Conntrack::new(Config::default()).max_conns(),
        3_000_000
    );
}

/// Review s6: a zone at its limit refuses connections while its dead entries hold its
/// slots, however empty the table is: the sweep after a refusal says near_limit (so a paced
/// sweeper does not back off), and the one after that, with no new refusal, does not.
#[test]
fn a_zone_limit_refusal_makes_the_next_sweep_near_limit() {
    let h = H::new();
    let now = 1_000_000_000;
    assert!(!h.ct.sweep(now, 64).near_limit, "empty table, no refusal");
    h.ct.set_zone_limit(7, Some(1));
    h.run(&udp4(A, B, 1, 1, b""), commit(7));
    assert!(
        !h.ct.sweep(now, 64).near_limit,
        "zone 7 full, nothing refused yet"
    );
    h.run(&udp4(A, B, 2, 2, b""), commit(7));
    assert_eq!(h.ct.stats().zone_full, 1);
    assert!(
        h.ct.sweep(now, 64).near_limit,
        "a refusal since the last sweep"
    );
    assert!(!h.ct.sweep(now, 64).near_limit, "no refusal since");
}

#[test]
fn zone_limit_applies_per_zone_and_default() {
    let h = H::new();
    h.ct.set_zone_limit(7, Some(1));
    assert_eq!(h.run(&udp4(A, B, 1, 1, b""), commit(7)).state.0, TRK | NEW);
    assert_eq!(h.run(&udp4(A, B, 2, 2, b""), commit(7)).state.0, TRK | NEW);
    assert_eq!(h.ct.zone_count(7), 1);
    assert_eq!(h.ct.stats().zone_full, 1);
    // Other zones are not limited.
    h.run(&udp4(A, B, 2, 2, b""), commit(8));
    h.run(&udp4(A, B, 3, 3, b""), commit(8));
    assert_eq!(h.ct.zone_count(8), 2);
    h.ct.set_default_zone_limit(Some(2));
    h.run(&udp4(A, B, 4, 4, b""), commit(8));
    assert_eq!(h.ct.zone_count(8), 2);
    assert_eq!(h.ct.zone_limit(9), Some(2));
    h.ct.set_zone_limit(7, None);
    assert_eq!(h.ct.zone_limit(7), Some(2));
    // The established connection in the full zone keeps working.
    assert_eq!(
        h.run(
            &udp4(B, A, 1, 1, b""),
            CtOpts {
                zone: 7,
                ..CtOpts::default()
            }
        )
        .state
        .0,
        TRK | EST | RPL
    );
}

/// Seed review: timeouts are defined in one place with their unit and can be set per zone.
#[test]
fn timeouts_defined_once_with_units_and_per_zone_policy() {
    let d = TimeoutPolicy::default();
    assert_eq!(
        [
            d.tcp_syn_sent_s,
            d.tcp_syn_recv_s,
            d.tcp_established_s,
            d.tcp_fin_wait_s,
            d.tcp_time_wait_s,
            d.tcp_close_s,
            d.udp_first_s,
            d.udp_single_s,
            d.udp_multiple_s,
            d.icmp_first_s,
            d.icmp_reply_s
        ],
        [30, 30, 86_400, 900, 45, 30, 60, 60, 30, 60, 30]
    );
    let mut h = H::new();
    h.ct.set_zone_timeout_policy(
        4,
        Some(TimeoutPolicy {
            udp_first_s: 5,
            ..d
        }),
    );
    h.run(&udp_ab(), commit(4));
    h.run(&udp_ab(), commit(0));
    assert_eq!(h.ct.timeout_policy(4).udp_first_s, 5);
    assert_eq!(h.ct.timeout_policy(0).udp_first_s, 60);
    h.advance_s(5);
    // Zone 4's connection died at 5 s, zone 0's lives.
    assert_eq!(
        h.run(
            &udp_ba(),
            CtOpts {
                zone: 4,
                ..CtOpts::default()
            }
        )
        .state
        .0,
        TRK | NEW
    );
    assert_eq!(h.lookup(&udp_ba()), TRK | EST | RPL);
    // The default policy can be changed too.
    h.ct.set_default_timeout_policy(TimeoutPolicy {
        udp_multiple_s: 1,
        ..d
    });
    h.commit(&udp_ba());
    h.advance_s(1);
    assert_eq!(h.lookup(&udp_ab()), TRK | NEW);
}
