//! Coalesced revalidation: flow-mods mark the bridge's megaflows for
//! revalidation, and one pass runs where correctness needs it (barrier,
//! packet-out, stats, bundle commit, end of a batch of messages, tick).
//!
//! The bed is a real datapath (no ports: packets enter through
//! `Datapath::execute` and leave nowhere) behind the real `OfBridge`, fed
//! through the channel's connection state machine or its tokio hub.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::BytesMut;
use datapath::{Datapath, DatapathConfig, DpAction};
use ofp_codec::msg::multipart::MultipartRequest;
use ofp_codec::msg::{Echo, Frame, Hello, Message, MultipartRequestBody, OFP13_VERSION, frame_len};
use ofp_codec::text::{Command, parse_flow_mod};
use ofproto::upcall::Handler;
use ofproto::{Config, Ofproto, Port};
use switch::channel::{Conn, ConnConfig, ConnKind, Hub, Shared};
use switch::daemon::ofbridge::OfBridge;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Ethernet + IPv4 + TCP SYN from 10.0.0.1:`sport` to 10.0.0.2:80.
fn tcp_frame(sport: u16) -> Vec<u8> {
    let mut f = Vec::with_capacity(54);
    f.extend_from_slice(&[0x50, 0x54, 0, 0, 0, 2]);
    f.extend_from_slice(&[0x50, 0x54, 0, 0, 0, 1]);
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip = [
        0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    let mut sum: u32 = ip
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&80u16.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    f
}

fn flow_mod(cmd: Command, line: &str) -> Message {
    Message::FlowMod(
        parse_flow_mod(line, cmd)
            .unwrap_or_else(|e| panic!("{line}: {e}"))
            .to_flow_mod(),
    )
}

fn add(line: &str) -> Message {
    flow_mod(Command::Add, line)
}

/// The base pipeline: every TCP packet to port 2, its source port read (so
/// that each source port gets a megaflow of its own).
const BASE: &str = "priority=10,tcp,actions=move:NXM_OF_TCP_SRC[]->NXM_NX_REG0[0..15],output:2";

struct Bed {
    dp: Arc<Datapath>,
    h: Arc<Handler>,
    now_ms: Arc<AtomicU64>,
}

impl Bed {
    fn new() -> Bed {
        let mut of = Ofproto::new(Config::default());
        for p in 1..=3 {
            of.port_add(Port::new(p, format!("p{p}")));
        }
        let now_ms = Arc::new(AtomicU64::new(0));
        let n = now_ms.clone();
        let h = Arc::new(Handler::new(
            of,
            Arc::new(move || n.load(Ordering::Relaxed)),
        ));
        let cfg = DatapathConfig {
            n_threads: 1,
            ..DatapathConfig::default()
        };
        let (dp, _rx) = Datapath::new(cfg, h.clone(), None);
        Bed {
            dp: Arc::new(dp),
            h,
            now_ms,
        }
    }

    fn bridge(&self) -> OfBridge {
        OfBridge::new(self.h.clone(), Some(self.dp.clone()), 1)
    }

    /// One packet from source port `sport`, through table 0.
    fn send(&self, sport: u16) {
        self.dp
            .execute(&tcp_frame(sport), 1, &[DpAction::Recirc(0)]);
    }

    /// The actions of the megaflow of source port `sport`, if one is installed.
    fn megaflow_actions(&self, sport: u16) -> Option<Vec<DpAction>> {
        self.dp
            .flow_dump()
            .iter()
            .find(|f| f.orig.tp_src() == sport && f.orig.eth_type() == 0x0800)
            .map(|f| f.actions.to_vec())
    }

    fn passes(&self) -> u64 {
        self.h.reval_stats().passes
    }
}

/// A bridge behind one OpenFlow connection's state machine (virtual clock).
struct Chan {
    shared: Shared<OfBridge>,
    conn: Conn,
    xid: u32,
}

impl Chan {
    fn open(bed: &Bed) -> Chan {
        let mut shared = Shared::new(bed.bridge());
        let mut conn = Conn::new(ConnConfig::new(ConnKind::Service), &mut shared, 0);
        let hello = Message::Hello(Hello::with_versions(1 << OFP13_VERSION)).encode(1);
        conn.handle_frame(&hello, &mut shared, 0);
        assert!(conn.is_open());
        while conn.poll_transmit().is_some() {}
        Chan {
            shared,
            conn,
            xid: 1,
        }
    }

    /// Feeds `msg`; returns what the switch answered.
    fn send(&mut self, msg: Message) -> Vec<Message> {
        self.xid += 1;
        let frame = msg.encode(self.xid);
        self.conn.handle_frame(&frame, &mut self.shared, 0);
        let mut out = Vec::new();
        while let Some(b) = self.conn.poll_transmit() {
            let (_, m) = Message::decode(&b).unwrap();
            assert!(!matches!(m, Message::Error(_)), "{m:?}");
            out.push(m);
        }
        out
    }

    fn barrier(&mut self) {
        let out = self.send(Message::BarrierRequest);
        assert!(matches!(out.as_slice(), [Message::BarrierReply]), "{out:?}");
    }
}

#[test]
fn n_flow_mods_then_a_barrier_cost_one_pass_and_leave_no_stale_megaflow() {
    let bed = Bed::new();
    let mut ch = Chan::open(&bed);
    ch.send(add(BASE));
    ch.barrier();
    let n_conns: u16 = 50;
    for sport in 1..=n_conns {
        bed.send(sport);
    }
    assert_eq!(bed.dp.flow_dump().len(), usize::from(n_conns));
    for sport in 1..=n_conns {
        assert_eq!(bed.megaflow_actions(sport), Some(vec![DpAction::Output(2)]));
    }
    // N flow-mods, each overriding one connection's path (and some no
    // connection uses): no pass while they arrive.
    let n_mods: u16 = 300;
    let before = bed.passes();
    for sport in 1..=n_mods {
        ch.send(add(&format!(
            "priority=20,tcp,tp_src={sport},actions=output:3"
        )));
    }
    assert_eq!(bed.passes(), before, "no pass per flow-mod");
    ch.barrier();
    assert_eq!(bed.passes(), before + 1, "one pass for the batch");
    // After the barrier reply no megaflow forwards by the old table.
    for sport in 1..=n_conns {
        let a = bed.megaflow_actions(sport);
        assert!(
            a.is_none() || a == Some(vec![DpAction::Output(3)]),
            "sport {sport}: {a:?}"
        );
    }
    // Traffic again: the new flows.
    for sport in 1..=n_conns {
        bed.send(sport);
        assert_eq!(bed.megaflow_actions(sport), Some(vec![DpAction::Output(3)]));
    }
    // A second barrier with nothing changed costs nothing.
    ch.barrier();
    assert_eq!(bed.passes(), before + 1);
    // Deleting the overrides: again one pass, and the old path is back.
    ch.send(flow_mod(Command::DeleteStrict, "priority=20,tcp,tp_src=1"));
    ch.send(flow_mod(Command::Delete, "tcp,tp_src=2"));
    ch.barrier();
    assert_eq!(bed.passes(), before + 2);
    for sport in 1..=2 {
        let a = bed.megaflow_actions(sport);
        assert!(
            a.is_none() || a == Some(vec![DpAction::Output(2)]),
            "sport {sport}: {a:?}"
        );
    }
    assert_eq!(bed.megaflow_actions(3), Some(vec![DpAction::Output(3)]));
}

#[test]
fn statistics_requests_see_pending_changes_and_cost_nothing_when_clean() {
    let bed = Bed::new();
    let mut ch = Chan::open(&bed);
    ch.send(add(BASE));
    ch.barrier();
    bed.send(7);
    let stats = |ch: &mut Chan| {
        ch.send(Message::MultipartRequest(MultipartRequest {
            flags: 0,
            body: MultipartRequestBody::Flow(Default::default()),
        }))
    };
    let p0 = bed.passes();
    stats(&mut ch);
    assert_eq!(bed.passes(), p0, "nothing changed: no pass");
    ch.send(add("priority=20,tcp,tp_src=7,actions=drop"));
    assert_eq!(bed.passes(), p0);
    stats(&mut ch);
    assert_eq!(bed.passes(), p0 + 1, "a change is pending: one pass first");
    assert_eq!(
        bed.megaflow_actions(7).as_deref().unwrap_or(&[]),
        &[] as &[DpAction]
    );
}

#[test]
fn the_periodic_tick_always_makes_a_full_pass() {
    use switch::channel::Bridge;
    let bed = Bed::new();
    let mut b = bed.bridge();
    let Message::FlowMod(fm) = add(BASE) else {
        unreachable!()
    };
    b.flow_mod(&fm, 0).unwrap();
    bed.send(9);
    let p0 = bed.passes();
    b.run(250);
    b.run(500);
    assert_eq!(bed.passes(), p0 + 2, "a pass per tick (it credits traffic)");
    assert!(!bed.h.needs_revalidation());
}

/// Messages from the switch's side of a stream, decoded.
fn decode_all(buf: &mut BytesMut) -> Vec<(u32, Message)> {
    let mut out = Vec::new();
    while let Ok(Frame::Complete(n)) = frame_len(buf) {
        let f = buf.split_to(n);
        if let Ok((h, m)) = Message::decode(&f) {
            out.push((h.xid, m));
        }
    }
    out
}

/// Flow-mods per second through the hub (one stream, then a barrier), with
/// `n_megaflows` megaflows installed. Run with
/// `cargo test --release -p switch --test reval_coalesce -- --ignored --nocapture`.
#[test]
#[ignore = "timing; run in release"]
fn flow_mod_rate_with_many_megaflows_installed() {
    let n_megaflows: u16 = 5_000;
    let n_mods: usize = std::env::var("RVS_REVAL_MODS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5_000);
    let bed = Bed::new();
    let hub = Hub::new(bed.bridge());
    hub.with_bridge(|b, now| {
        use switch::channel::Bridge;
        let Message::FlowMod(fm) = add(BASE) else {
            unreachable!()
        };
        b.flow_mod(&fm, now).unwrap();
    });
    for sport in 1..=n_megaflows {
        bed.send(sport);
    }
    assert_eq!(bed.dp.flow_dump().len(), usize::from(n_megaflows));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let passes0 = bed.passes();
    let elapsed = rt.block_on(async {
        let (client, server) = tokio::io::duplex(1 << 16);
        tokio::spawn(
            hub.clone()
                .serve(server, ConnConfig::new(ConnKind::Service)),
        );
        let mut msgs = BytesMut::new();
        Message::Hello(Hello::with_versions(1 << OFP13_VERSION)).encode_into(1, &mut msgs);
        for i in 0..n_mods {
            add(&format!("priority=5,udp,tp_dst={},actions=drop", i + 1))
                .encode_into(2 + i as u32, &mut msgs);
        }
        let barrier_xid = 0xbabe;
        Message::BarrierRequest.encode_into(barrier_xid, &mut msgs);
        let t0 = Instant::now();
        let writer = tokio::spawn(async move {
            let (mut rd, mut wr) = tokio::io::split(client);
            wr.write_all(&msgs).await.unwrap();
            let mut buf = BytesMut::with_capacity(1 << 16);
            loop {
                assert!(rd.read_buf(&mut buf).await.unwrap() > 0, "stream closed");
                for (xid, m) in decode_all(&mut buf) {
                    assert!(!matches!(m, Message::Error(_)), "{m:?}");
                    if xid == barrier_xid && matches!(m, Message::BarrierReply) {
                        return;
                    }
                }
            }
        });
        writer.await.unwrap();
        t0.elapsed()
    });
    let rate = n_mods as f64 / elapsed.as_secs_f64();
    eprintln!(
        "{n_mods} flow-mods + barrier with {n_megaflows} megaflows: {:.1} ms, {rate:.0} flow-mods/s, {} revalidation passes",
        elapsed.as_secs_f64() * 1e3,
        bed.passes() - passes0
    );
    let _ = &bed.now_ms;
}

#[test]
fn a_batch_without_barrier_is_revalidated_before_its_replies_are_sent() {
    let bed = Bed::new();
    let hub = Hub::new(bed.bridge());
    hub.with_bridge(|b, now| {
        use switch::channel::Bridge;
        let Message::FlowMod(fm) = add(BASE) else {
            unreachable!()
        };
        b.flow_mod(&fm, now).unwrap();
        b.sync(now);
    });
    for sport in 1..=20 {
        bed.send(sport);
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let p0 = bed.passes();
    rt.block_on(async {
        let (client, server) = tokio::io::duplex(1 << 16);
        tokio::spawn(
            hub.clone()
                .serve(server, ConnConfig::new(ConnKind::Service)),
        );
        let (mut rd, mut wr) = tokio::io::split(client);
        let mut msgs = BytesMut::new();
        Message::Hello(Hello::with_versions(1 << OFP13_VERSION)).encode_into(1, &mut msgs);
        for sport in 1..=20u32 {
            add(&format!("priority=20,tcp,tp_src={sport},actions=output:3"))
                .encode_into(1 + sport, &mut msgs);
        }
        // An echo, not a barrier: its reply leaves after the batch ends.
        Message::EchoRequest(Echo::default()).encode_into(0xec40, &mut msgs);
        wr.write_all(&msgs).await.unwrap();
        let mut buf = BytesMut::new();
        'read: loop {
            assert!(rd.read_buf(&mut buf).await.unwrap() > 0);
            for (xid, m) in decode_all(&mut buf) {
                assert!(!matches!(m, Message::Error(_)), "{m:?}");
                if xid == 0xec40 {
                    break 'read;
                }
            }
        }
    });
    let passes = bed.passes() - p0;
    assert!((1..=2).contains(&passes), "{passes} passes for one batch");
    for sport in 1..=20 {
        let a = bed.megaflow_actions(sport);
        assert!(
            a.is_none() || a == Some(vec![DpAction::Output(3)]),
            "sport {sport}: {a:?}"
        );
    }
}

/// Writes `msgs` through a hub connection and waits for the reply with
/// `xid`; returns the time from the first byte written to that reply.
async fn transact(hub: &Arc<Hub<OfBridge>>, msgs: BytesMut, xid: u32) -> std::time::Duration {
    let (client, server) = tokio::io::duplex(1 << 16);
    tokio::spawn(
        hub.clone()
            .serve(server, ConnConfig::new(ConnKind::Service)),
    );
    let (mut rd, mut wr) = tokio::io::split(client);
    let t0 = Instant::now();
    tokio::spawn(async move { wr.write_all(&msgs).await.unwrap() });
    let mut buf = BytesMut::with_capacity(1 << 16);
    loop {
        assert!(rd.read_buf(&mut buf).await.unwrap() > 0, "stream closed");
        for (x, m) in decode_all(&mut buf) {
            assert!(!matches!(m, Message::Error(_)), "{m:?}");
            if x == xid && !matches!(m, Message::Hello(_)) {
                return t0.elapsed();
            }
        }
    }
}

/// `n` flow-mods of `cmd` for the bench's flows in one ONF bundle (as
/// `ovs-ofctl --bundle` sends them: open, adds, commit).
fn bundle_of(cmd: Command, n: u32, commit_xid: u32) -> BytesMut {
    use ofp_codec::msg::bundle::{BundleCtrlType, OFPBF_ATOMIC};
    use ofp_codec::msg::{BundleAdd, BundleControl};
    let mut msgs = BytesMut::new();
    Message::Hello(Hello::with_versions(1 << OFP13_VERSION)).encode_into(1, &mut msgs);
    let ctrl = |t| {
        Message::BundleControl(BundleControl {
            bundle_id: 7,
            ctrl_type: t,
            flags: OFPBF_ATOMIC,
            properties: Vec::new(),
        })
    };
    ctrl(BundleCtrlType::OPEN_REQUEST).encode_into(2, &mut msgs);
    for i in 0..n {
        let mut line = format!(
            "priority=10,ip,nw_src=10.{}.{}.{}",
            1 + (i >> 16),
            (i >> 8) & 0xff,
            i & 0xff
        );
        if matches!(cmd, Command::Add) {
            line.push_str(",actions=output:2");
        }
        let inner = flow_mod(cmd, &line).encode(3 + i);
        Message::BundleAdd(BundleAdd {
            bundle_id: 7,
            flags: OFPBF_ATOMIC,
            message: inner.to_vec(),
            properties: Vec::new(),
        })
        .encode_into(3 + i, &mut msgs);
    }
    ctrl(BundleCtrlType::COMMIT_REQUEST).encode_into(commit_xid, &mut msgs);
    msgs
}

/// Bundled ADD then bundled DELETE_STRICT of `RVS_BUNDLE_FLOWS` (100,000)
/// flows through the hub, switch side only (no ovs-ofctl). Run with
/// `cargo test --release -p switch --test reval_coalesce -- --ignored --nocapture bundled`.
#[test]
#[ignore = "timing; run in release"]
fn bundled_add_and_delete_rate() {
    let n: u32 = std::env::var("RVS_BUNDLE_FLOWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let bed = Bed::new();
    let hub = Hub::new(bed.bridge());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let commit = 0xc0_0000;
    let add = bundle_of(Command::Add, n, commit);
    let del = bundle_of(Command::DeleteStrict, n, commit);
    let t_add = rt.block_on(transact(&hub, add, commit));
    assert_eq!(bed.h.snapshot().n_flows(), n as usize);
    let t_del = rt.block_on(transact(&hub, del, commit));
    assert_eq!(bed.h.snapshot().n_flows(), 0);
    let rate = |t: std::time::Duration| f64::from(n) / t.as_secs_f64();
    eprintln!(
        "bundle of {n}: add {:.0} ms ({:.0} flows/s), delete_strict {:.0} ms ({:.0} flows/s)",
        t_add.as_secs_f64() * 1e3,
        rate(t_add),
        t_del.as_secs_f64() * 1e3,
        rate(t_del)
    );
}
