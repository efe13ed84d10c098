//! The fragment reassembler on its own: order, overlaps, duplicates, sizes, limits, expiry,
//! IPv6 extension headers, VLAN tags, status text.

use conntrack::internet_checksum;
use conntrack::ipf::{
    DEFAULT_MAX_NFRAGS, FRAG_LIST_TIMEOUT_NS, Ipf, IpfStatus, Offer, format_status,
};

const MAC: [u8; 12] = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
const SRC4: [u8; 4] = [10, 1, 1, 1];
const DST4: [u8; 4] = [10, 1, 1, 2];

fn eth(vlans: &[u16], eth_type: u16) -> Vec<u8> {
    let mut f = MAC.to_vec();
    for (i, vid) in vlans.iter().enumerate() {
        let tpid: u16 = if i + 1 < vlans.len() { 0x88a8 } else { 0x8100 };
        f.extend_from_slice(&tpid.to_be_bytes());
        f.extend_from_slice(&vid.to_be_bytes());
    }
    f.extend_from_slice(&eth_type.to_be_bytes());
    f
}

/// A UDP datagram payload (header + data) of `len` bytes with a correct IPv4 checksum.
fn udp4(len: usize) -> Vec<u8> {
    let mut u = vec![0u8; len];
    u[0..2].copy_from_slice(&5000u16.to_be_bytes());
    u[2..4].copy_from_slice(&6000u16.to_be_bytes());
    u[4..6].copy_from_slice(&(len as u16).to_be_bytes());
    for (i, b) in u[8..].iter_mut().enumerate() {
        *b = (i * 7) as u8;
    }
    let mut ph = Vec::new();
    ph.extend_from_slice(&SRC4);
    ph.extend_from_slice(&DST4);
    ph.extend_from_slice(&[0, 17]);
    ph.extend_from_slice(&(len as u16).to_be_bytes());
    ph.extend_from_slice(&u);
    let c = internet_checksum(&ph);
    u[6..8].copy_from_slice(&c.to_be_bytes());
    u
}

fn v4_packet(vlans: &[u16], id: u16, frag_off: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = eth(vlans, 0x0800);
    let mut h = [0u8; 20];
    h[0] = 0x45;
    h[2..4].copy_from_slice(&((20 + payload.len()) as u16).to_be_bytes());
    h[4..6].copy_from_slice(&id.to_be_bytes());
    h[6..8].copy_from_slice(&frag_off.to_be_bytes());
    h[8] = 64;
    h[9] = 17;
    h[12..16].copy_from_slice(&SRC4);
    h[16..20].copy_from_slice(&DST4);
    let c = internet_checksum(&h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&h);
    f.extend_from_slice(payload);
    f
}

/// Splits `dgram` (the IP payload) into IPv4 fragments of `step` payload bytes.
fn v4_frags(vlans: &[u16], id: u16, dgram: &[u8], step: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < dgram.len() {
        let end = (at + step).min(dgram.len());
        let mf = if end < dgram.len() { 0x2000 } else { 0 };
        out.push(v4_packet(vlans, id, mf | (at / 8) as u16, &dgram[at..end]));
        at = end;
    }
    out
}

/// A fragment with an arbitrary range (for overlaps).
fn v4_piece(id: u16, dgram: &[u8], start: usize, end: usize) -> Vec<u8> {
    let mf = if end < dgram.len() { 0x2000 } else { 0 };
    v4_packet(&[], id, mf | (start / 8) as u16, &dgram[start..end])
}

fn offer(ipf: &Ipf<u32>, f: &[u8], tag: u32) -> Offer<u32> {
    ipf.offer(f, tag, 9, 0, 1_000)
}

fn complete(o: Offer<u32>) -> conntrack::ipf::Datagram<u32> {
    match o {
        Offer::Complete(d) => d,
        other => panic!("expected a complete datagram, got {other:?}"),
    }
}

fn held(o: &Offer<u32>) -> bool {
    matches!(o, Offer::Held)
}

#[test]
fn in_order_fragments_reassemble_to_the_original_packet() {
    let ipf = Ipf::new();
    let d = udp4(3208);
    let frags = v4_frags(&[], 77, &d, 1480);
    assert_eq!(frags.len(), 3);
    assert!(held(&offer(&ipf, &frags[0], 0)));
    assert!(held(&offer(&ipf, &frags[1], 1)));
    assert_eq!(ipf.nfrag(), 2);
    let dg = complete(offer(&ipf, &frags[2], 2));
    assert_eq!(dg.frame, v4_packet(&[], 77, 0, &d));
    assert!(!dg.v6);
    let tags: Vec<u32> = dg.frags.iter().map(|f| f.ctx).collect();
    assert_eq!(tags, [0, 1, 2]);
    for (f, orig) in dg.frags.iter().zip(&frags) {
        assert_eq!(&f.frame, orig, "fragments come back as they came");
    }
    let s = ipf.status();
    assert_eq!((s.nfrag, s.v4.accepted, s.v4.completed), (0, 3, 3));
}

#[test]
fn out_of_order_fragments_reassemble_and_come_back_in_offset_order() {
    let ipf = Ipf::new();
    let d = udp4(4000);
    let frags = v4_frags(&[], 5, &d, 1200);
    assert_eq!(frags.len(), 4);
    assert!(held(&offer(&ipf, &frags[3], 3)));
    assert!(held(&offer(&ipf, &frags[1], 1)));
    assert!(held(&offer(&ipf, &frags[0], 0)));
    let dg = complete(offer(&ipf, &frags[2], 2));
    assert_eq!(dg.frame, v4_packet(&[], 5, 0, &d));
    let tags: Vec<u32> = dg.frags.iter().map(|f| f.ctx).collect();
    assert_eq!(tags, [0, 1, 2, 3]);
}

#[test]
fn fragments_overlapping_by_one_octet_are_invalid_and_counted() {
    let ipf = Ipf::new();
    let d = udp4(3000);
    // [0,1480) then [1472,2960) overlaps by 8 bytes; a last piece [1479, 3000) is not
    // 8-aligned at the start, so use offsets that are: [1480-8, ...) shares 8 bytes.
    assert!(held(&offer(&ipf, &v4_piece(1, &d, 0, 1480), 0)));
    // Last fragment starting 1 octet-block before the end of the first: shares bytes.
    let o = offer(&ipf, &v4_piece(1, &d, 1472, 3000), 1);
    assert!(matches!(o, Offer::Invalid), "{o:?}");
    assert_eq!(ipf.status().v4.overlapped, 1);
    // The correct one still completes the datagram.
    let dg = complete(offer(&ipf, &v4_piece(1, &d, 1480, 3000), 2));
    assert_eq!(dg.frame, v4_packet(&[], 1, 0, &d));
}

#[test]
fn a_last_fragment_reaching_one_byte_into_the_first_is_an_overlap_out_of_order_too() {
    let ipf = Ipf::new();
    let d = udp4(2961);
    // Last piece first: [1480, 2961); then a first piece [0, 1488) reaching 8 bytes in.
    assert!(held(&offer(&ipf, &v4_piece(2, &d, 1480, 2961), 0)));
    let o = offer(&ipf, &v4_piece(2, &d, 0, 1488), 1);
    assert!(matches!(o, Offer::Invalid));
    // A fragment covering a held one entirely is an overlap as well (OVS misses this one).
    let ipf = Ipf::new();
    assert!(held(&offer(&ipf, &v4_piece(3, &d, 1480, 2961), 0)));
    let cover = v4_packet(&[], 3, 1472 / 8, &d[1472..]);
    assert!(matches!(offer(&ipf, &cover, 1), Offer::Invalid));
    assert_eq!(ipf.status().v4.overlapped, 1);
}

#[test]
fn duplicate_fragments_are_counted_as_overlaps_and_do_not_complete_twice() {
    let ipf = Ipf::new();
    let d = udp4(2500);
    let frags = v4_frags(&[], 9, &d, 1480);
    assert!(held(&offer(&ipf, &frags[0], 0)));
    assert!(matches!(offer(&ipf, &frags[0], 1), Offer::Invalid));
    assert_eq!(ipf.status().v4.overlapped, 1);
    let dg = complete(offer(&ipf, &frags[1], 2));
    assert_eq!(dg.frags.len(), 2);
    assert_eq!(ipf.nfrag(), 0);
}

#[test]
fn too_small_non_last_fragments_are_invalid_and_counted_last_ones_are_not() {
    let ipf = Ipf::new();
    let d = udp4(1600);
    // 1000-byte first fragment (1020 with the header) < 1200.
    let frags = v4_frags(&[], 4, &d, 1000);
    assert!(matches!(offer(&ipf, &frags[0], 0), Offer::Invalid));
    assert_eq!(ipf.status().v4.too_small, 1);
    // The last fragment may be small.
    assert!(held(&offer(&ipf, &frags[1], 1)));
    // Lowering the minimum (as OVS's tests do) lets the first one in.
    assert!(ipf.set_min_frag(false, 1000));
    complete(offer(&ipf, &frags[0], 0));
    assert!(!ipf.set_min_frag(false, 399), "below 400 is refused");
    assert!(ipf.set_min_frag(true, 400));
    assert_eq!(ipf.status().v6.min_frag_size, 400);
}

#[test]
fn more_than_max_nfrags_held_are_refused_and_memory_stays_bounded() {
    let ipf = Ipf::new();
    assert_eq!(ipf.status().nfrag_max, DEFAULT_MAX_NFRAGS);
    assert!(!ipf.set_max_nfrags(5001));
    assert!(ipf.set_max_nfrags(3));
    let d = udp4(3000);
    for id in 0..3u16 {
        assert!(held(&offer(&ipf, &v4_frags(&[], id, &d, 1480)[0], 0)));
    }
    let o = offer(&ipf, &v4_frags(&[], 100, &d, 1480)[0], 0);
    assert!(matches!(o, Offer::Invalid));
    assert_eq!(ipf.nfrag(), 3);
    assert_eq!(ipf.status().v4.refused, 1);
    // Completing frees room (each fragment needs room when it arrives).
    assert!(ipf.set_max_nfrags(5));
    let f = v4_frags(&[], 0, &d, 1480);
    assert!(held(&offer(&ipf, &f[1], 1)));
    complete(offer(&ipf, &f[2], 2));
    assert_eq!(ipf.nfrag(), 2);
}

#[test]
fn incomplete_lists_expire_after_15_seconds_and_are_counted() {
    let ipf: Ipf<u32> = Ipf::new();
    let d = udp4(3000);
    let f = v4_frags(&[], 1, &d, 1480);
    assert!(held(&ipf.offer(&f[0], 0, 9, 0, 1_000)));
    assert_eq!(ipf.expire(1_000 + FRAG_LIST_TIMEOUT_NS - 1, 16), 0);
    assert_eq!(ipf.nfrag(), 1);
    assert_eq!(ipf.expire(1_000 + FRAG_LIST_TIMEOUT_NS, 16), 1);
    let s = ipf.status();
    assert_eq!((s.nfrag, s.v4.expired, s.v4.completed), (0, 1, 0));
    // The rest of the datagram now starts a new list (and does not complete).
    assert!(held(&ipf.offer(&f[1], 1, 9, 0, 2 * FRAG_LIST_TIMEOUT_NS)));
    assert!(held(&ipf.offer(&f[2], 2, 9, 0, 2 * FRAG_LIST_TIMEOUT_NS)));
    assert_eq!(ipf.dump_lists().len(), 1);
    // Offering expires old lists too, without an explicit call.
    let g = v4_frags(&[], 2, &d, 1480);
    assert!(held(&ipf.offer(&g[0], 0, 9, 0, 4 * FRAG_LIST_TIMEOUT_NS)));
    assert_eq!(ipf.status().v4.expired, 3);
    assert_eq!(ipf.nfrag(), 1);
}

#[test]
fn zone_and_recirc_id_and_id_separate_datagrams() {
    let ipf: Ipf<u32> = Ipf::new();
    let d = udp4(2000);
    let f = v4_frags(&[], 1, &d, 1480);
    assert!(held(&ipf.offer(&f[0], 0, 1, 0, 0)));
    assert!(held(&ipf.offer(&f[1], 1, 2, 0, 0)), "other zone");
    assert!(held(&ipf.offer(&f[1], 1, 1, 7, 0)), "other recirc_id");
    assert!(matches!(ipf.offer(&f[1], 1, 1, 0, 0), Offer::Complete(_)));
    assert_eq!(ipf.nfrag(), 2);
}

#[test]
fn vlan_and_double_tagged_frames_reassemble_with_their_tags() {
    for vlans in [&[100u16][..], &[200, 300][..]] {
        let ipf = Ipf::new();
        let d = udp4(3100);
        let f = v4_frags(vlans, 3, &d, 1480);
        assert!(held(&offer(&ipf, &f[2], 2)));
        assert!(held(&offer(&ipf, &f[0], 0)));
        let dg = complete(offer(&ipf, &f[1], 1));
        assert_eq!(dg.frame, v4_packet(vlans, 3, 0, &d));
    }
}

#[test]
fn disabled_family_passes_fragments_untouched() {
    let ipf = Ipf::new();
    ipf.set_enabled(false, false);
    let d = udp4(3000);
    let f = v4_frags(&[], 1, &d, 1480);
    assert!(matches!(offer(&ipf, &f[0], 0), Offer::Pass));
    assert_eq!(ipf.status().v4.accepted, 0);
    ipf.set_enabled(false, true);
    assert!(held(&offer(&ipf, &f[0], 0)));
    // Non-fragments always pass.
    assert!(matches!(
        offer(&ipf, &v4_packet(&[], 1, 0x4000, &d[..100]), 0),
        Offer::Pass
    ));
}

#[test]
fn malformed_fragments_are_invalid_never_a_panic() {
    let ipf = Ipf::new();
    let d = udp4(3000);
    let mut bad_csum = v4_frags(&[], 1, &d, 1480)[0].clone();
    bad_csum[14 + 10] ^= 0xff;
    assert!(matches!(offer(&ipf, &bad_csum, 0), Offer::Invalid));
    // Not a multiple of 8 before the last.
    let odd = v4_packet(&[], 1, 0x2000, &d[..1401]);
    assert!(matches!(offer(&ipf, &odd, 0), Offer::Invalid));
    // Past 65,535 bytes.
    let far = v4_packet(&[], 1, 0x1fff, &d[..1480]);
    assert!(matches!(offer(&ipf, &far, 0), Offer::Invalid));
    // Truncated and garbage frames.
    let good = v4_frags(&[], 1, &d, 1480)[1].clone();
    for n in 0..good.len().min(80) {
        let _ = offer(&ipf, &good[..n], 0);
    }
    assert_eq!(ipf.nfrag(), 0);
}

// ---------------------------------------------------------------- IPv6

const SRC6: [u8; 16] = [0xfc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const DST6: [u8; 16] = [0xfc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2];

fn udp6(len: usize) -> Vec<u8> {
    let mut u = vec![0u8; len];
    u[0..2].copy_from_slice(&5000u16.to_be_bytes());
    u[2..4].copy_from_slice(&6000u16.to_be_bytes());
    u[4..6].copy_from_slice(&(len as u16).to_be_bytes());
    for (i, b) in u[8..].iter_mut().enumerate() {
        *b = (i * 3) as u8;
    }
    let mut ph = Vec::new();
    ph.extend_from_slice(&SRC6);
    ph.extend_from_slice(&DST6);
    ph.extend_from_slice(&(len as u32).to_be_bytes());
    ph.extend_from_slice(&[0, 0, 0, 17]);
    ph.extend_from_slice(&u);
    let c = internet_checksum(&ph);
    u[6..8].copy_from_slice(&c.to_be_bytes());
    u
}

/// An 8-byte extension header (hop-by-hop or destination options: PadN).
fn ext(next: u8) -> Vec<u8> {
    vec![next, 0, 1, 4, 0, 0, 0, 0]
}

/// IPv6 packet: `before` extension headers (types), then `body` whose first header type is
/// `body_nh`.
fn v6_packet(vlans: &[u16], before: &[u8], body_nh: u8, body: &[u8]) -> Vec<u8> {
    let mut f = eth(vlans, 0x86dd);
    let mut exts = Vec::new();
    for (i, _) in before.iter().enumerate() {
        let next = before.get(i + 1).copied().unwrap_or(body_nh);
        exts.extend_from_slice(&ext(next));
    }
    let plen = exts.len() + body.len();
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&(plen as u16).to_be_bytes());
    f.push(before.first().copied().unwrap_or(body_nh));
    f.push(64);
    f.extend_from_slice(&SRC6);
    f.extend_from_slice(&DST6);
    f.extend_from_slice(&exts);
    f.extend_from_slice(body);
    f
}

/// IPv6 fragments of `dgram` (UDP), `before` extension headers in front of the fragment
/// header in each one.
fn v6_frags(vlans: &[u16], before: &[u8], id: u32, dgram: &[u8], step: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < dgram.len() {
        let end = (at + step).min(dgram.len());
        let m = u16::from(end < dgram.len());
        let mut body = vec![17, 0];
        body.extend_from_slice(&(at as u16 | m).to_be_bytes());
        body.extend_from_slice(&id.to_be_bytes());
        body.extend_from_slice(&dgram[at..end]);
        out.push(v6_packet(vlans, before, 44, &body));
        at = end;
    }
    out
}

#[test]
fn ipv6_fragments_reassemble_without_the_fragment_header() {
    let ipf = Ipf::new();
    let d = udp6(3000);
    let f = v6_frags(&[], &[], 0x1234_5678, &d, 1448);
    assert_eq!(f.len(), 3);
    assert!(held(&offer(&ipf, &f[1], 1)));
    assert!(held(&offer(&ipf, &f[0], 0)));
    let dg = complete(offer(&ipf, &f[2], 2));
    assert!(dg.v6);
    assert_eq!(dg.frame, v6_packet(&[], &[], 17, &d));
    assert_eq!(ipf.status().v6.completed, 3);
}

#[test]
fn ipv6_fragments_after_several_extension_headers_reassemble() {
    // Hop-by-hop, destination options, routing-less chain: 0 then 60 before the fragment
    // header; out of order, VLAN tagged.
    for vlans in [&[][..], &[42u16][..]] {
        let ipf = Ipf::new();
        let d = udp6(2900);
        let f = v6_frags(vlans, &[0, 60], 7, &d, 1440);
        assert!(held(&offer(&ipf, &f[2], 2)));
        assert!(held(&offer(&ipf, &f[0], 0)));
        let dg = complete(offer(&ipf, &f[1], 1));
        assert_eq!(dg.frame, v6_packet(vlans, &[0, 60], 17, &d));
    }
}

#[test]
fn ipv6_too_small_overlap_and_atomic_fragments() {
    let ipf = Ipf::new();
    let d = udp6(3000);
    let small = v6_frags(&[], &[], 1, &d, 1000);
    assert!(matches!(offer(&ipf, &small[0], 0), Offer::Invalid));
    assert_eq!(ipf.status().v6.too_small, 1);
    let f = v6_frags(&[], &[], 2, &d, 1448);
    assert!(held(&offer(&ipf, &f[0], 0)));
    assert!(matches!(offer(&ipf, &f[0], 0), Offer::Invalid));
    assert_eq!(ipf.status().v6.overlapped, 1);
    // Offset 0, M clear: an atomic fragment is not held.
    let mut body = vec![17, 0, 0, 0, 0, 0, 0, 9];
    body.extend_from_slice(&udp6(100));
    assert!(matches!(
        offer(&ipf, &v6_packet(&[], &[], 44, &body), 0),
        Offer::Pass
    ));
}

// ---------------------------------------------------------------- rewrite, text

#[test]
fn a_rewrite_of_the_reassembled_frame_reaches_the_fragments() {
    let ipf = Ipf::new();
    let d = udp4(3000);
    let f = v4_frags(&[], 8, &d, 1480);
    offer(&ipf, &f[0], 0);
    offer(&ipf, &f[1], 1);
    let mut dg = complete(offer(&ipf, &f[2], 2));
    assert_eq!(dg.propagate_rewrite(), 0, "nothing changed");
    // SNAT to 192.168.0.9, source port 7777 (UDP checksum fixed by hand here).
    let l3 = 14;
    dg.frame[l3 + 12..l3 + 16].copy_from_slice(&[192, 168, 0, 9]);
    dg.frame[l3 + 10..l3 + 12].copy_from_slice(&[0, 0]);
    let c = internet_checksum(&dg.frame[l3..l3 + 20]);
    dg.frame[l3 + 10..l3 + 12].copy_from_slice(&c.to_be_bytes());
    dg.frame[l3 + 20..l3 + 22].copy_from_slice(&7777u16.to_be_bytes());
    assert_eq!(dg.propagate_rewrite(), 3);
    for (k, fr) in dg.frags.iter().enumerate() {
        assert_eq!(&fr.frame[l3 + 12..l3 + 16], &[192, 168, 0, 9]);
        assert_eq!(
            internet_checksum(&fr.frame[l3..l3 + 20]),
            0,
            "header checksum"
        );
        let port = u16::from_be_bytes([fr.frame[l3 + 20], fr.frame[l3 + 21]]);
        if k == 0 {
            assert_eq!(port, 7777);
        } else {
            assert_ne!(
                &fr.frame[l3 + 20..],
                &dg.frame[l3 + 20..l3 + 20 + fr.frame.len() - 34]
            );
        }
    }
}

#[test]
fn status_text_is_ovs_text() {
    let ipf: Ipf<u32> = Ipf::new();
    ipf.set_min_frag(false, 1000);
    ipf.set_max_nfrags(500);
    let want = "        Fragmentation Module Status
        ---------------------------
        v4 enabled: 1
        v6 enabled: 1
        max num frags (v4/v6): 500
        num frag: 0
        min v4 frag size: 1000
        v4 frags accepted: 0
        v4 frags completed: 0
        v4 frags expired: 0
        v4 frags too small: 0
        v4 frags overlapped: 0
        v4 frags purged: 0
        min v6 frag size: 1280
        v6 frags accepted: 0
        v6 frags completed: 0
        v6 frags expired: 0
        v6 frags too small: 0
        v6 frags overlapped: 0
        v6 frags purged: 0
";
    assert_eq!(format_status(&ipf.status(), None), want);
    let d = udp4(3000);
    ipf.offer(&v4_frags(&[], 31, &d, 1480)[0], 0, 9, 3, 0);
    let lists = ipf.dump_lists();
    assert_eq!(
        lists,
        [
            "(src=10.1.1.1,dst=10.1.1.2,recirc_id=3,ip_id=31,dl_type=0x800,zone=9,nw_proto=17,num_fragments=1,state=first frag)"
        ]
    );
    let m = format_status(&ipf.status(), Some(&lists));
    assert!(m.ends_with("        v6 frags purged: 0\n\n        Fragment Lists:\n\n(src=10.1.1.1,dst=10.1.1.2,recirc_id=3,ip_id=31,dl_type=0x800,zone=9,nw_proto=17,num_fragments=1,state=first frag)\n"));
    let v6 = v6_frags(&[], &[], 99, &udp6(3000), 1448);
    ipf.offer(&v6[2], 0, 0, 0, 0);
    assert_eq!(
        ipf.dump_lists()[1],
        "(src=fc00::1,dst=fc00::2,recirc_id=0,ip_id=99,dl_type=0x86dd,zone=0,nw_proto=0,num_fragments=1,state=last frag)"
    );
    let s: IpfStatus = ipf.status();
    assert_eq!((s.nfrag, s.v4.accepted, s.v6.accepted), (2, 1, 1));
}

proptest::proptest! {
    #[test]
    fn any_bytes_never_panic_and_never_leak(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
                                            tag in 0u16..4) {
        let ipf: Ipf<u32> = Ipf::new();
        ipf.set_min_frag(false, 400);
        let mut f = bytes.clone();
        // Often make it look like IPv4 or IPv6 so the parsers are exercised.
        if f.len() > 14 {
            let t: u16 = [0x0800, 0x86dd, 0x8100, 0x0806][tag as usize];
            f[12..14].copy_from_slice(&t.to_be_bytes());
        }
        let _ = ipf.offer(&f, 0, 0, 0, 0);
        ipf.expire(FRAG_LIST_TIMEOUT_NS, 100);
        proptest::prop_assert_eq!(ipf.nfrag(), 0);
    }
}

proptest::proptest! {
    /// Any split of a datagram into 8-aligned pieces, offered in any order with duplicates
    /// mixed in, reassembles to the unfragmented packet, and nothing stays held past expiry.
    #[test]
    fn any_order_with_duplicates_reassembles_to_the_original(
        len in 1200usize..6000,
        cuts in proptest::collection::vec(1usize..8, 1..6),
        order_seed in proptest::prelude::any::<u64>(),
        dups in proptest::collection::vec(0usize..8, 0..3),
    ) {
        let ipf: Ipf<u32> = Ipf::new();
        ipf.set_min_frag(false, 400);
        let d = udp4(len);
        // Piece boundaries: multiples of 8, each piece >= 400 bytes except the last.
        let mut bounds = vec![0usize];
        for c in &cuts {
            let next = bounds.last().unwrap() + 400 + c * 8 * 16;
            if next + 8 >= d.len() {
                break;
            }
            bounds.push(next);
        }
        if bounds.len() == 1 {
            bounds.push(400); // at least two pieces: a whole datagram is not a fragment
        }
        bounds.push(d.len());
        let mut frags: Vec<Vec<u8>> = bounds
            .windows(2)
            .map(|w| v4_piece(11, &d, w[0], w[1]))
            .collect();
        for &i in &dups {
            let f = frags[i % frags.len()].clone();
            frags.push(f);
        }
        // Deterministic shuffle.
        let mut s = order_seed | 1;
        for i in (1..frags.len()).rev() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            frags.swap(i, (s % (i as u64 + 1)) as usize);
        }
        let mut done = Vec::new();
        for f in &frags {
            if let Offer::Complete(dg) = ipf.offer(f, 0, 0, 0, 0) {
                done.push(dg.frame);
            }
        }
        // Duplicates arriving after a completion may form the datagram again (a new list).
        proptest::prop_assert!(!done.is_empty() && done.len() <= 1 + dups.len());
        for frame in &done {
            proptest::prop_assert_eq!(frame, &v4_packet(&[], 11, 0, &d));
        }
        // A duplicate arriving after completion starts a list that only expiry removes.
        ipf.expire(FRAG_LIST_TIMEOUT_NS, 100);
        proptest::prop_assert_eq!(ipf.nfrag(), 0);
    }
}
