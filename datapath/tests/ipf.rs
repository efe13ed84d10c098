//! Fragments through the real pipeline and the real tracker: held until complete, tracked
//! once as a datagram, every fragment forwarded unchanged with the datagram's verdict,
//! through the actions after the `ct()` and the recirculation that follows.

use std::sync::Arc;
use std::sync::mpsc::Receiver;
use std::time::Duration;

use datapath::actions::{CtAction, DpAction};
use datapath::key::{FlowKey, ct_state};
use datapath::{Datapath, DatapathConfig, Upcall, UpcallHandler, UpcallReply, UserspacePacket};
use etherparse::PacketBuilder;

const A: [u8; 4] = [10, 1, 1, 1];
const B: [u8; 4] = [10, 1, 1, 2];

/// An Ethernet + IPv4 + UDP frame with `len` bytes of data, checksums right.
fn udp_frame(src: [u8; 4], dst: [u8; 4], sp: u16, dp: u16, len: usize) -> Vec<u8> {
    let data: Vec<u8> = (0..len).map(|i| (i * 13) as u8).collect();
    let mut v = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv4(src, dst, 64)
        .udp(sp, dp)
        .write(&mut v, &data)
        .unwrap();
    v
}

/// Splits an unfragmented IPv4 frame (20-byte header at 14) into fragments of `step`
/// payload bytes, identification `id`.
fn fragment_v4(frame: &[u8], id: u16, step: usize) -> Vec<Vec<u8>> {
    let (l2, ip) = frame.split_at(14);
    let payload = &ip[20..];
    let mut out = Vec::new();
    let mut at = 0;
    while at < payload.len() {
        let end = (at + step).min(payload.len());
        let mut h = ip[..20].to_vec();
        h[2..4].copy_from_slice(&((20 + end - at) as u16).to_be_bytes());
        h[4..6].copy_from_slice(&id.to_be_bytes());
        let mf: u16 = if end < payload.len() { 0x2000 } else { 0 };
        h[6..8].copy_from_slice(&(mf | (at / 8) as u16).to_be_bytes());
        h[10] = 0;
        h[11] = 0;
        let c = conntrack::internet_checksum(&h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        let mut f = l2.to_vec();
        f.extend_from_slice(&h);
        f.extend_from_slice(&payload[at..end]);
        out.push(f);
        at = end;
    }
    out
}

/// An IPv6 UDP frame and its fragments (fragment header right after the IPv6 header).
fn fragment_v6(len: usize, id: u32, step: usize, reply: bool) -> Vec<Vec<u8>> {
    let (s, d) = ([0xfc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1u8], {
        let mut d = [0u8; 16];
        d[0] = 0xfc;
        d[15] = 2;
        d
    });
    let (s, d, sp, dp) = if reply {
        (d, s, 53, 4000)
    } else {
        (s, d, 4000, 53)
    };
    let data: Vec<u8> = (0..len).map(|i| (i * 5) as u8).collect();
    let mut v = Vec::new();
    PacketBuilder::ethernet2([2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2])
        .ipv6(s, d, 64)
        .udp(sp, dp)
        .write(&mut v, &data)
        .unwrap();
    let (l2, ip) = v.split_at(14);
    let payload = &ip[40..];
    let mut out = Vec::new();
    let mut at = 0;
    while at < payload.len() {
        let end = (at + step).min(payload.len());
        let mut h = ip[..40].to_vec();
        h[4..6].copy_from_slice(&((8 + end - at) as u16).to_be_bytes());
        h[6] = 44;
        let m = u16::from(end < payload.len());
        let mut f = l2.to_vec();
        f.extend_from_slice(&h);
        f.extend_from_slice(&[17, 0]);
        f.extend_from_slice(&(at as u16 | m).to_be_bytes());
        f.extend_from_slice(&id.to_be_bytes());
        f.extend_from_slice(&payload[at..end]);
        out.push(f);
        at = end;
    }
    out
}

/// recirc_id 0: `ct(commit,zone=9),userspace(1),recirc(1)`; recirc_id 1:
/// `userspace(2)`. Masks cover recirc_id, eth_type, nw_proto, nw_frag, ct_state.
struct Firewall;

impl UpcallHandler for Firewall {
    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply> {
        batch
            .iter()
            .map(|u| {
                let mut mask = FlowKey::default();
                mask.set_recirc_id(u32::MAX);
                mask.set_eth_type(u16::MAX);
                mask.set_nw_proto(0xff);
                mask.set_nw_frag(0xff);
                mask.set_ct_state(0xff);
                let actions: datapath::Actions = if u.key.recirc_id() == 0 {
                    [
                        DpAction::Ct(CtAction {
                            zone: 9,
                            commit: true,
                            ..Default::default()
                        }),
                        DpAction::Userspace { userdata: 1 },
                        DpAction::Recirc(1),
                    ]
                    .into_iter()
                    .collect()
                } else {
                    std::iter::once(DpAction::Userspace { userdata: 2 }).collect()
                };
                UpcallReply::install(mask, actions)
            })
            .collect()
    }
}

fn setup() -> (
    Datapath,
    Receiver<UserspacePacket>,
    Arc<conntrack::Conntrack>,
) {
    let ct = Arc::new(conntrack::Conntrack::new(conntrack::Config::default()));
    let cfg = DatapathConfig {
        n_threads: 1,
        ..Default::default()
    };
    let (dp, rx) = Datapath::new(cfg, Arc::new(Firewall), Some(ct.clone()));
    (dp, rx, ct)
}

fn drain(rx: &Receiver<UserspacePacket>) -> Vec<UserspacePacket> {
    let mut v = Vec::new();
    while let Ok(p) = rx.recv_timeout(Duration::from_millis(200)) {
        v.push(p);
    }
    v
}

/// The packets that reached the recirculation table (userspace(2)), with their ct_state.
fn after_recirc(v: &[UserspacePacket]) -> Vec<(u8, Vec<u8>)> {
    v.iter()
        .filter(|p| p.userdata == 2)
        .map(|p| (p.key.ct_state(), p.packet.clone()))
        .collect()
}

#[test]
fn fragmented_udp_is_tracked_new_then_reply_est_and_fragments_pass_unchanged() {
    let (dp, rx, ct) = setup();
    let orig = fragment_v4(&udp_frame(A, B, 4000, 53, 3000), 0x1111, 1480);
    assert_eq!(orig.len(), 3);
    dp.execute(&orig[0], 1, &[DpAction::Recirc(0)]);
    dp.execute(&orig[2], 1, &[DpAction::Recirc(0)]);
    assert!(drain(&rx).is_empty(), "incomplete: everything held");
    assert_eq!(dp.ipf().nfrag(), 2);
    dp.execute(&orig[1], 1, &[DpAction::Recirc(0)]);
    let out = drain(&rx);
    // Each fragment ran the action after the ct() (userspace 1) and the recirculation.
    assert_eq!(out.iter().filter(|p| p.userdata == 1).count(), 3);
    let seen = after_recirc(&out);
    assert_eq!(seen.len(), 3);
    for ((state, bytes), want) in seen.iter().zip(&orig) {
        assert_eq!(*state, ct_state::TRK | ct_state::NEW);
        assert_eq!(bytes, want, "forwarded as it came, in offset order");
    }
    let after = out.iter().find(|p| p.userdata == 2).unwrap();
    assert_eq!(after.key.ct_zone(), 9);
    assert_eq!(after.key.ct_nw_src(), u32::from_be_bytes(A));
    assert_eq!(after.key.ct_tp_src(), 4000);
    assert_eq!(ct.len(), 1, "one connection for the datagram");

    // The reply, fragmented too, out of order.
    let reply = fragment_v4(&udp_frame(B, A, 53, 4000, 2000), 0x2222, 1480);
    dp.execute(&reply[1], 2, &[DpAction::Recirc(0)]);
    dp.execute(&reply[0], 2, &[DpAction::Recirc(0)]);
    let seen = after_recirc(&drain(&rx));
    assert_eq!(seen.len(), 2);
    for ((state, bytes), want) in seen.iter().zip(&reply) {
        assert_eq!(*state, ct_state::TRK | ct_state::EST | ct_state::RPL);
        assert_eq!(bytes, want);
    }
    let s = dp.ipf().status();
    assert_eq!((s.nfrag, s.v4.accepted, s.v4.completed), (0, 5, 5));
}

#[test]
fn unfragmented_traffic_is_untouched_by_reassembly() {
    let (dp, rx, _ct) = setup();
    let f = udp_frame(A, B, 1, 2, 100);
    dp.execute(&f, 1, &[DpAction::Recirc(0)]);
    let seen = after_recirc(&drain(&rx));
    assert_eq!(seen, [(ct_state::TRK | ct_state::NEW, f)]);
    assert_eq!(dp.ipf().status().v4.accepted, 0);
}

#[test]
fn overlapping_and_too_small_fragments_go_on_invalid_and_are_counted() {
    let (dp, rx, _ct) = setup();
    let frags = fragment_v4(&udp_frame(A, B, 4000, 53, 3000), 7, 1480);
    dp.execute(&frags[0], 1, &[DpAction::Recirc(0)]);
    dp.execute(&frags[0], 1, &[DpAction::Recirc(0)]);
    let seen = after_recirc(&drain(&rx));
    assert_eq!(seen.len(), 1, "the duplicate went on at once");
    assert_eq!(seen[0].0, ct_state::TRK | ct_state::INV);
    let small = fragment_v4(&udp_frame(A, B, 4000, 53, 3000), 8, 800);
    dp.execute(&small[0], 1, &[DpAction::Recirc(0)]);
    let seen = after_recirc(&drain(&rx));
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, ct_state::TRK | ct_state::INV);
    let s = dp.ipf().status();
    assert_eq!((s.v4.overlapped, s.v4.too_small, s.nfrag), (1, 1, 1));
}

#[test]
fn with_reassembly_disabled_fragments_are_invalid_at_once() {
    let (dp, rx, _ct) = setup();
    dp.ipf().set_enabled(false, false);
    let frags = fragment_v4(&udp_frame(A, B, 4000, 53, 3000), 7, 1480);
    dp.execute(&frags[0], 1, &[DpAction::Recirc(0)]);
    let seen = after_recirc(&drain(&rx));
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].0, ct_state::TRK | ct_state::INV);
}

#[test]
fn fragmented_ipv6_udp_is_tracked_and_forwarded_unchanged() {
    let (dp, rx, ct) = setup();
    let orig = fragment_v6(3000, 0xabcd, 1448, false);
    assert_eq!(orig.len(), 3);
    for f in [&orig[2], &orig[0], &orig[1]] {
        dp.execute(f, 1, &[DpAction::Recirc(0)]);
    }
    let seen = after_recirc(&drain(&rx));
    assert_eq!(seen.len(), 3);
    for ((state, bytes), want) in seen.iter().zip(&orig) {
        assert_eq!(*state, ct_state::TRK | ct_state::NEW);
        assert_eq!(bytes, want);
    }
    assert_eq!(ct.len(), 1);
    let reply = fragment_v6(2000, 0xabce, 1448, true);
    for f in &reply {
        dp.execute(f, 2, &[DpAction::Recirc(0)]);
    }
    let seen = after_recirc(&drain(&rx));
    assert_eq!(seen.len(), 2);
    assert!(
        seen.iter()
            .all(|(s, _)| *s == ct_state::TRK | ct_state::EST | ct_state::RPL)
    );
    assert_eq!(dp.ipf().status().v6.completed, 5);
}

// ---------------------------------------------------------------- OVS's hand-made packets

// The fragments of OVS's system-traffic.at scenarios "IPv4/IPv6 fragmentation with fragments
// specified", "out of order", "overlapping fragments by 1 octet", "multiple extension
// headers" (data from there), through `ct(commit)` with the minimum sizes at 400 as OVS's
// DPCTL_SET_MIN_FRAG_SIZE sets them.
const V4_FIRST: &str = "50540000000a5054000000090800450001a400012000001183440a0101010a01010200010002000800000304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809";
const V4_LAST: &str = "50540000000a505400000009080045000030000100320011a4860a0101010a01010200010002000800000010203040506070809000010203040506070809";
const V4_LAST_OVERLAP: &str = "50540000000a505400000009080045000030000100310011a4870a0101010a01010200010002000800000010203040506070809000010203040506070809";
const V6_FIRST: &str = "50540000000a50540000000986dd6000000005002cfffc000000000000000000000000000001fc0000000000000000000000000000021100000100000001000100020008267100010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090010203040506070809001020304050607080900102030405060708090010203040506070809001020304050607080900102030405060708090010203040506070";
const V6_LAST: &str = "50540000000a50540000000986dd6000000000242cfffc000000000000000000000000000001fc000000000000000000000000000002110004f80000000100010002000800000001020304050607080900010203040506070809";
const V6_EH_FIRST: &str = "50540000000a50540000000986dd60000000050800fffc000000000000000000000000000001fc0000000000000000000000000000022c000000000000001100000100000001000100020008267100010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090010203040506070809001020304050607080900102030405060708090010203040506070809001020304050607080900102030405060708090010203040506070";
const V6_EH_LAST: &str = "50540000000a50540000000986dd60000000002c00fffc000000000000000000000000000001fc0000000000000000000000000000022c00000000000000110004f80000000100010002000800000001020304050607080900010203040506070809";
const V6_EH2_FIRST: &str = "50540000000a50540000000986dd60000000050800fffc000000000000000000000000000001fc0000000000000000000000000000022c000000050200001100000100000001000100020008267100010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090001020304050607080900010203040506070809000102030405060708090010203040506070809001020304050607080900102030405060708090010203040506070809001020304050607080900102030405060708090010203040506070";
const V6_EH2_LAST: &str = "50540000000a50540000000986dd60000000002c00fffc000000000000000000000000000001fc0000000000000000000000000000022c00000005020000110004f80000000100010002000800000001020304050607080900010203040506070809";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Sends `frames` through `ct(commit)` (no recirculation) and returns the number of
/// connections.
fn commit_all(frames: &[&str]) -> (usize, Datapath) {
    let (dp, _rx, ct) = setup();
    dp.ipf().set_min_frag(false, 400);
    dp.ipf().set_min_frag(true, 400);
    let commit = DpAction::Ct(CtAction {
        commit: true,
        ..Default::default()
    });
    for f in frames {
        dp.execute(&hex(f), 1, &[commit]);
    }
    (ct.len(), dp)
}

#[test]
fn ovs_ipv4_fragments_specified_and_out_of_order_make_one_connection() {
    for order in [[V4_FIRST, V4_LAST], [V4_LAST, V4_FIRST]] {
        let (n, dp) = commit_all(&order);
        assert_eq!(n, 1);
        assert_eq!(dp.ipf().status().v4.completed, 2);
    }
}

#[test]
fn ovs_ipv4_fragments_overlapping_by_one_unit_make_no_connection() {
    for order in [[V4_FIRST, V4_LAST_OVERLAP], [V4_LAST_OVERLAP, V4_FIRST]] {
        let (n, dp) = commit_all(&order);
        assert_eq!(n, 0);
        let s = dp.ipf().status();
        assert_eq!((s.v4.overlapped, s.nfrag), (1, 1));
    }
}

#[test]
fn ovs_ipv4_incomplete_datagram_stays_held() {
    let (n, dp) = commit_all(&[V4_FIRST]);
    assert_eq!(n, 0);
    assert_eq!(
        dp.ipf().dump_lists(),
        [
            "(src=10.1.1.1,dst=10.1.1.2,recirc_id=0,ip_id=1,dl_type=0x800,zone=0,nw_proto=17,num_fragments=1,state=first frag)"
        ]
    );
}

/// These UDP datagrams say `udp_len=8` but carry a checksum computed over the whole
/// 1,300-byte payload: OVS's tracker sums the whole L4 payload and commits them; rvs's sums
/// `udp_len` bytes (RFC 768) and marks them `+inv` — a conntrack difference, not a
/// reassembly one. So this checks the reassembly (both fragments completed, none held).
#[test]
fn ovs_ipv6_fragments_with_and_without_extension_headers_reassemble() {
    for pair in [
        [V6_FIRST, V6_LAST],
        [V6_LAST, V6_FIRST],
        [V6_EH_FIRST, V6_EH_LAST],
        [V6_EH_LAST, V6_EH_FIRST],
        [V6_EH2_FIRST, V6_EH2_LAST],
        [V6_EH2_LAST, V6_EH2_FIRST],
    ] {
        let (_, dp) = commit_all(&pair);
        let s = dp.ipf().status();
        assert_eq!((s.v6.completed, s.nfrag), (2, 0), "{}", &pair[0][..120]);
    }
}

// ---------------------------------------------------------------- bursts and recirculation

#[test]
fn a_datagram_of_more_fragments_than_a_burst_comes_out_whole() {
    let (dp, rx, ct) = setup();
    assert!(dp.ipf().set_min_frag(false, 400));
    let orig = fragment_v4(&udp_frame(A, B, 4000, 53, 20_000), 0x3333, 400);
    assert_eq!(orig.len(), 51);
    for f in orig.iter().rev() {
        dp.execute(f, 1, &[DpAction::Recirc(0)]);
    }
    let out = drain(&rx);
    let seen = after_recirc(&out);
    assert_eq!(seen.len(), 51, "two bursts: 32 then 19");
    for ((state, bytes), want) in seen.iter().zip(&orig) {
        assert_eq!(*state, ct_state::TRK | ct_state::NEW);
        assert_eq!(bytes, want);
    }
    assert_eq!(ct.len(), 1);
    assert_eq!(dp.ipf().nfrag(), 0);
}

/// recirc_id 0: `ct(zone=1),recirc(1)`; recirc_id 1: `ct(commit,zone=2),userspace(2)`.
struct TwoZones;

impl UpcallHandler for TwoZones {
    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply> {
        batch
            .iter()
            .map(|u| {
                let mut mask = FlowKey::default();
                mask.set_recirc_id(u32::MAX);
                mask.set_eth_type(u16::MAX);
                mask.set_nw_frag(0xff);
                mask.set_ct_state(0xff);
                mask.set_ct_zone(0xffff);
                let actions: datapath::Actions = if u.key.recirc_id() == 0 {
                    [
                        DpAction::Ct(CtAction {
                            zone: 1,
                            ..Default::default()
                        }),
                        DpAction::Recirc(1),
                    ]
                    .into_iter()
                    .collect()
                } else {
                    [
                        DpAction::Ct(CtAction {
                            zone: 2,
                            commit: true,
                            ..Default::default()
                        }),
                        DpAction::Userspace { userdata: 2 },
                    ]
                    .into_iter()
                    .collect()
                };
                UpcallReply::install(mask, actions)
            })
            .collect()
    }
}

#[test]
fn after_recirculation_a_second_ct_reassembles_again_in_its_zone() {
    let ct = Arc::new(conntrack::Conntrack::new(conntrack::Config::default()));
    let cfg = DatapathConfig {
        n_threads: 1,
        ..Default::default()
    };
    let (dp, rx) = Datapath::new(cfg, Arc::new(TwoZones), Some(ct.clone()));
    let orig = fragment_v4(&udp_frame(A, B, 4000, 53, 3000), 0x4444, 1480);
    for f in &orig {
        dp.execute(f, 1, &[DpAction::Recirc(0)]);
    }
    let out = drain(&rx);
    let seen: Vec<_> = out.iter().filter(|p| p.userdata == 2).collect();
    assert_eq!(seen.len(), 3);
    for (p, want) in seen.iter().zip(&orig) {
        assert_eq!(p.key.ct_state(), ct_state::TRK | ct_state::NEW);
        assert_eq!(p.key.ct_zone(), 2);
        assert_eq!(&p.packet, want);
    }
    assert_eq!(ct.len(), 1, "committed in zone 2 only");
    let s = dp.ipf().status();
    assert_eq!((s.v4.accepted, s.v4.completed, s.nfrag), (6, 6, 0));
}

// ---------------------------------------------------------------- NAT

const X: [u8; 4] = [192, 168, 0, 9];

/// Port 1: `ct(commit,zone=1,nat(src=192.168.0.9:7777)),recirc(1)`; other ports:
/// `ct(zone=1,nat),recirc(1)`; recirc_id 1: `userspace(2)`.
struct SnatFlows;

impl UpcallHandler for SnatFlows {
    fn upcall(&self, batch: &[Upcall]) -> Vec<UpcallReply> {
        use datapath::actions::{NatKind, NatSpec};
        batch
            .iter()
            .map(|u| {
                let mut mask = FlowKey::default();
                mask.set_recirc_id(u32::MAX);
                mask.set_in_port(u32::MAX);
                mask.set_eth_type(u16::MAX);
                mask.set_nw_frag(0xff);
                mask.set_ct_state(0xff);
                let nat = if u.key.in_port() == 1 {
                    NatSpec::to_addr(NatKind::Src, std::net::IpAddr::from(X)).with_ports(7777, 7777)
                } else {
                    NatSpec::REVERSE
                };
                let actions: datapath::Actions = if u.key.recirc_id() == 0 {
                    [
                        DpAction::Ct(CtAction {
                            zone: 1,
                            commit: u.key.in_port() == 1,
                            nat: Some(nat),
                            ..Default::default()
                        }),
                        DpAction::Recirc(1),
                    ]
                    .into_iter()
                    .collect()
                } else {
                    std::iter::once(DpAction::Userspace { userdata: 2 }).collect()
                };
                UpcallReply::install(mask, actions)
            })
            .collect()
    }
}

/// Reassembles IPv4 fragments (20-byte headers at 14) into (IP header of the first, payload).
fn join_v4(frags: &[Vec<u8>]) -> (Vec<u8>, Vec<u8>) {
    let mut payload = Vec::new();
    for f in frags {
        payload.extend_from_slice(&f[34..]);
    }
    (frags[0][14..34].to_vec(), payload)
}

fn udp_checksum_ok(ip: &[u8], udp: &[u8]) -> bool {
    let mut ph = Vec::new();
    ph.extend_from_slice(&ip[12..20]);
    ph.extend_from_slice(&[0, 17]);
    ph.extend_from_slice(&(udp.len() as u16).to_be_bytes());
    ph.extend_from_slice(udp);
    conntrack::internet_checksum(&ph) == 0
}

#[test]
fn snat_of_a_fragmented_datagram_rewrites_every_fragment_and_the_reply_is_unnated() {
    let ct = Arc::new(conntrack::Conntrack::new(conntrack::Config::default()));
    let cfg = DatapathConfig {
        n_threads: 1,
        ..Default::default()
    };
    let (dp, rx) = Datapath::new(cfg, Arc::new(SnatFlows), Some(ct.clone()));
    let orig = fragment_v4(&udp_frame(A, B, 4000, 53, 3000), 0x5555, 1480);
    for f in &orig {
        dp.execute(f, 1, &[DpAction::Recirc(0)]);
    }
    let seen = after_recirc(&drain(&rx));
    assert_eq!(seen.len(), 3);
    let out: Vec<Vec<u8>> = seen.iter().map(|(_, b)| b.clone()).collect();
    for (f, o) in out.iter().zip(&orig) {
        assert_eq!(&f[26..30], &X, "source translated in every fragment");
        assert_eq!(&f[30..34], &B);
        assert_eq!(
            conntrack::internet_checksum(&f[14..34]),
            0,
            "IPv4 header checksum"
        );
        assert_eq!(f.len(), o.len());
        assert_eq!(&f[18..22], &o[18..22], "id and fragment offset unchanged");
    }
    let (ip, udp) = join_v4(&out);
    assert_eq!(
        u16::from_be_bytes([udp[0], udp[1]]),
        7777,
        "source port translated"
    );
    assert!(
        udp_checksum_ok(&ip, &udp),
        "UDP checksum right for the whole datagram"
    );
    assert!(
        seen.iter()
            .all(|(s, _)| *s == ct_state::TRK | ct_state::NEW | ct_state::SNAT)
    );

    // The reply to 192.168.0.9:7777, fragmented: un-NATed back to 10.1.1.1:4000.
    let reply = fragment_v4(&udp_frame(B, X, 53, 7777, 2500), 0x6666, 1480);
    for f in &reply {
        dp.execute(f, 2, &[DpAction::Recirc(0)]);
    }
    let seen = after_recirc(&drain(&rx));
    assert_eq!(seen.len(), 2);
    let out: Vec<Vec<u8>> = seen.iter().map(|(_, b)| b.clone()).collect();
    for f in &out {
        assert_eq!(&f[30..34], &A, "destination restored in every fragment");
        assert_eq!(conntrack::internet_checksum(&f[14..34]), 0);
    }
    let (ip, udp) = join_v4(&out);
    assert_eq!(u16::from_be_bytes([udp[2], udp[3]]), 4000);
    assert!(udp_checksum_ok(&ip, &udp));
    assert!(seen.iter().all(|(s, _)| *s & ct_state::EST != 0));
}
