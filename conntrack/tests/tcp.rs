//! TCP tracking: every state transition the tracker makes, window checks, pickup, RST, reuse.

mod common;
use common::*;

fn state_of(h: &H) -> String {
    let d = h.dump(None, true);
    assert_eq!(d.len(), 1, "{d:?}");
    d[0].clone()
}

/// SYN, SYN+ACK, ACK, data, FIN, ACK, FIN, ACK: ct_state, dump state and timeout at each step.
#[test]
fn tcp_handshake_and_close_walk_every_state_with_ovs_timeouts() {
    let h = H::new();
    assert_eq!(h.commit(&Tcp::new("S", 100, 0).build()), TRK | NEW);
    assert!(
        state_of(&h).ends_with("timeout=30,protoinfo=(state=SYN_SENT)"),
        "{}",
        state_of(&h)
    );

    assert_eq!(
        h.commit(&Tcp::reply("SA", 300, 101).build()),
        TRK | EST | RPL
    );
    // Original side ESTABLISHED, reply side SYN_SENT: still opening (tcp_syn_recv_s).
    assert!(
        state_of(&h).ends_with("timeout=30,protoinfo=(state=ESTABLISHED)"),
        "{}",
        state_of(&h)
    );

    assert_eq!(h.commit(&Tcp::new("A", 101, 301).build()), TRK | EST);
    assert!(state_of(&h).ends_with("timeout=86400,protoinfo=(state=ESTABLISHED)"));

    assert_eq!(
        h.commit(&Tcp::new("PA", 101, 301).len(10).build()),
        TRK | EST
    );
    assert_eq!(
        h.commit(&Tcp::reply("A", 301, 111).build()),
        TRK | EST | RPL
    );

    assert_eq!(h.commit(&Tcp::new("FA", 111, 301).build()), TRK | EST);
    assert!(
        state_of(&h).ends_with("timeout=900,protoinfo=(state=CLOSING)"),
        "{}",
        state_of(&h)
    );

    assert_eq!(
        h.commit(&Tcp::reply("A", 301, 112).build()),
        TRK | EST | RPL
    );
    // FIN_WAIT_2 is shown as TIME_WAIT, as OVS coalesces it.
    assert!(
        state_of(&h).ends_with("timeout=900,protoinfo=(state=TIME_WAIT)"),
        "{}",
        state_of(&h)
    );

    assert_eq!(
        h.commit(&Tcp::reply("FA", 301, 112).build()),
        TRK | EST | RPL
    );
    assert!(
        state_of(&h).ends_with("timeout=45,protoinfo=(state=TIME_WAIT)"),
        "{}",
        state_of(&h)
    );

    assert_eq!(h.commit(&Tcp::new("A", 112, 302).build()), TRK | EST);
    assert!(
        state_of(&h).ends_with("timeout=30,protoinfo=(state=TIME_WAIT)"),
        "{}",
        state_of(&h)
    );
}

#[test]
fn syn_on_fully_closed_connection_starts_a_new_one() {
    let h = H::new();
    for (f, s, a, r) in [
        ("S", 100, 0, false),
        ("SA", 300, 101, true),
        ("A", 101, 301, false),
        ("FA", 101, 301, false),
        ("FA", 301, 102, true),
        ("A", 102, 302, false),
    ] {
        let p = if r {
            Tcp::reply(f, s, a)
        } else {
            Tcp::new(f, s, a)
        };
        assert_eq!(h.commit(&p.build()) & INV, 0, "{f}");
    }
    assert_eq!(h.ct.stats().created, 1);
    assert_eq!(h.commit(&Tcp::new("S", 5000, 0).build()), TRK | NEW);
    assert_eq!(h.ct.stats().created, 2);
    assert_eq!(h.ct.len(), 1);
    assert!(state_of(&h).ends_with("protoinfo=(state=SYN_SENT)"));
}

#[test]
fn retransmitted_syn_stays_new_and_refreshes_deadline() {
    let mut h = H::new();
    assert_eq!(h.commit(&Tcp::new("S", 100, 0).build()), TRK | NEW);
    h.advance_s(20);
    assert_eq!(h.commit(&Tcp::new("S", 100, 0).build()), TRK | NEW);
    assert!(state_of(&h).contains("timeout=30,"), "{}", state_of(&h));
    h.advance_s(29);
    assert_eq!(
        h.lookup(&Tcp::reply("SA", 300, 101).build()),
        TRK | EST | RPL
    );
}

#[test]
fn simultaneous_open_is_tracked_without_invalid_segments() {
    let h = H::new();
    assert_eq!(h.commit(&Tcp::new("S", 100, 0).build()), TRK | NEW);
    // The peer's own SYN crosses ours: still not established.
    assert_eq!(h.commit(&Tcp::reply("S", 300, 0).build()), TRK | NEW);
    assert_eq!(h.commit(&Tcp::new("SA", 100, 301).build()), TRK | EST);
    assert_eq!(
        h.commit(&Tcp::reply("SA", 300, 101).build()),
        TRK | EST | RPL
    );
    assert_eq!(h.commit(&Tcp::new("A", 101, 301).build()), TRK | EST);
    assert!(
        state_of(&h).ends_with("timeout=86400,protoinfo=(state=ESTABLISHED)"),
        "{}",
        state_of(&h)
    );
}

fn established(h: &H) {
    assert_eq!(h.commit(&Tcp::new("S", 100, 0).build()), TRK | NEW);
    assert_eq!(
        h.commit(&Tcp::reply("SA", 300, 101).build()),
        TRK | EST | RPL
    );
    assert_eq!(h.commit(&Tcp::new("A", 101, 301).build()), TRK | EST);
}

#[test]
fn rst_in_window_closes_the_connection() {
    let h = H::new();
    established(&h);
    assert_eq!(h.commit(&Tcp::reply("R", 301, 0).build()), TRK | EST | RPL);
    assert!(
        state_of(&h).ends_with("timeout=30,protoinfo=(state=TIME_WAIT)"),
        "{}",
        state_of(&h)
    );
}

#[test]
fn rst_out_of_window_is_inv_and_state_unchanged() {
    let h = H::new();
    established(&h);
    let before = h.dump(None, true);
    assert_eq!(h.commit(&Tcp::reply("R", 301 + 5000, 0).build()), TRK | INV);
    assert_eq!(h.dump(None, true), before);
}

#[test]
fn out_of_window_segment_is_inv() {
    let h = H::new();
    established(&h);
    let before = h.dump(None, true);
    // Data far beyond what the receiver's window allows.
    assert_eq!(
        h.commit(&Tcp::new("PA", 101 + 1_000_000, 301).len(10).build()),
        TRK | INV
    );
    // Data a whole window behind (not a plausible retransmission).
    assert_eq!(
        h.commit(
            &Tcp::new("PA", 101u32.wrapping_sub(200_000), 301)
                .len(10)
                .build()
        ),
        TRK | INV
    );
    // Acknowledging data never sent.
    assert_eq!(
        h.commit(&Tcp::new("A", 101, 301 + 1_000_000).build()),
        TRK | INV
    );
    assert_eq!(h.dump(None, true), before);
    // In-window traffic still passes.
    assert_eq!(h.commit(&Tcp::new("A", 101, 301).build()), TRK | EST);
}

/// Seed review: an invalid packet for an existing connection is `+trk+inv`, creates nothing and
/// leaves the connection (state, timeout, mark) as it was.
#[test]
fn invalid_packet_on_existing_conn_is_marked_inv_and_state_unchanged() {
    let h = H::new();
    established(&h);
    let mut opts = commit(0);
    opts.set_mark = Some((7, u32::MAX));
    h.run(&Tcp::new("A", 101, 301).build(), opts);
    let before = h.dump(None, true);

    // Bad flag combinations.
    for flags in ["SF", "SR", "F", "P", ""] {
        let md = h.run(&Tcp::new(flags, 101, 301).build(), commit(0));
        assert_eq!(md.state.0, TRK | INV, "flags {flags:?}");
        assert_eq!(md.mark, 7, "the packet still reports the connection's mark");
    }
    // Out of window.
    assert_eq!(
        h.commit(&Tcp::new("PA", 101 + 3_000_000, 301).len(5).build()),
        TRK | INV
    );
    // Bad TCP checksum.
    let mut bad = Tcp::new("A", 101, 301).build();
    let n = bad.len();
    bad[n - 1] ^= 0xff;
    let md = h.run(&bad, commit(0));
    assert_eq!(md.state.0, TRK | INV);
    assert_eq!(md.orig, None);
    assert_eq!(h.dump(None, true), before);
    assert_eq!(h.ct.len(), 1);
    assert_eq!(h.ct.stats().created, 1);
}

/// Seed review: TCP tracking picks up established connections mid-stream; a SYN+ACK may not
/// create a connection.
#[test]
fn midstream_tcp_is_picked_up_syn_ack_does_not_create() {
    let h = H::new();
    assert_eq!(h.commit(&Tcp::reply("SA", 300, 101).build()), TRK | INV);
    assert_eq!(h.ct.len(), 0);

    assert_eq!(
        h.commit(&Tcp::new("PA", 5000, 9000).len(100).build()),
        TRK | NEW
    );
    assert_eq!(h.ct.len(), 1);
    assert_eq!(
        h.commit(&Tcp::reply("A", 9000, 5100).build()),
        TRK | EST | RPL
    );
    assert_eq!(
        h.commit(&Tcp::new("PA", 5100, 9000).len(100).build()),
        TRK | EST
    );
    let d = state_of(&h);
    assert!(
        d.ends_with("timeout=86400,protoinfo=(state=ESTABLISHED)"),
        "{d}"
    );
}

#[test]
fn tcp_seq_check_off_accepts_out_of_window() {
    let h = H::new();
    established(&h);
    h.ct.set_tcp_seq_check(false);
    assert_eq!(
        h.commit(&Tcp::new("PA", 101 + 1_000_000, 301).len(10).build()),
        TRK | EST
    );
}

#[test]
fn window_scaling_allows_data_beyond_unscaled_window() {
    let h = H::new();
    assert_eq!(
        h.commit(&Tcp::new("S", 100, 0).win(1000).ws(7).build()),
        TRK | NEW
    );
    assert_eq!(
        h.commit(&Tcp::reply("SA", 300, 101).win(1000).ws(7).build()),
        TRK | EST | RPL
    );
    assert_eq!(
        h.commit(&Tcp::new("A", 101, 301).win(1000).build()),
        TRK | EST
    );
    // After the handshake windows are scaled: the reply side now offers 1000 << 7 bytes.
    assert_eq!(
        h.commit(&Tcp::reply("A", 301, 101).win(1000).build()),
        TRK | EST | RPL
    );
    // The reply side advertised 1000 << 7 = 128000 bytes: a segment ending 100 kB ahead fits.
    assert_eq!(
        h.commit(
            &Tcp::new("PA", 101 + 99_000, 301)
                .win(1000)
                .len(1000)
                .build()
        ),
        TRK | EST
    );
    // Without scaling it would not: 200 kB ahead is out.
    assert_eq!(
        h.commit(
            &Tcp::new("PA", 101 + 200_000, 301)
                .win(1000)
                .len(1000)
                .build()
        ),
        TRK | INV
    );
}

#[test]
fn tcp_over_ipv6_handshake() {
    let h = H::new();
    assert_eq!(h.commit(&Tcp::new("S", 100, 0).build6()), TRK | NEW);
    assert_eq!(
        h.commit(&Tcp::reply("SA", 300, 101).build6()),
        TRK | EST | RPL
    );
    assert_eq!(h.commit(&Tcp::new("A", 101, 301).build6()), TRK | EST);
    assert_eq!(
        h.dump(None, false),
        vec![
            "tcp,orig=(src=fe80::1,dst=fe80::2,sport=1234,dport=80),reply=(src=fe80::2,dst=fe80::1,sport=80,dport=1234),protoinfo=(state=ESTABLISHED)"
        ]
    );
}

#[test]
fn syn_after_timeout_creates_fresh_connection() {
    let mut h = H::new();
    assert_eq!(h.commit(&Tcp::new("S", 100, 0).build()), TRK | NEW);
    h.advance_s(30);
    // The half-open entry is dead at exactly its deadline: the SYN+ACK has nothing to match.
    assert_eq!(h.lookup(&Tcp::reply("SA", 300, 101).build()), TRK | INV);
    assert_eq!(h.commit(&Tcp::new("S", 100, 0).build()), TRK | NEW);
    assert_eq!(h.ct.len(), 1);
}
