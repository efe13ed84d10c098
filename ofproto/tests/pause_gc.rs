//! Paused translations (`controller(pause)`) through a real datapath: a
//! paused state lives while megaflows send to its cookie and is freed a
//! grace period after, so the table stays bounded while connections with
//! packet-derived frozen state churn, and empties when traffic stops. A
//! continuation outlives its table entry: resuming reads only the
//! continuation.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;

use common::*;
use datapath::{Datapath, DatapathConfig, DpAction, UserspacePacket};
use ofp_codec::msg::PacketIn2;
use ofp_codec::msg::resume::{Paused, resume_for};
use ofproto::upcall::Handler;
use ofproto::xlate::PAUSE_COOKIE_BIT;
use ofproto::{PacketInEvent, XlateOptions};

/// Ethernet + IPv4 + TCP SYN from 10.0.0.1:`sport` to 10.0.0.2:80.
fn tcp_frame(sport: u16) -> Vec<u8> {
    let mut f = Vec::with_capacity(54);
    f.extend_from_slice(&[0x50, 0x54, 0, 0, 0, 2, 0x50, 0x54, 0, 0, 0, 1, 0x08, 0x00]);
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

/// A pause per connection: the frozen state holds the connection's source
/// port in reg0 (packet-derived, so every connection interns a new state).
const PAUSE: &str = "table=0,priority=10,tcp,actions=move:NXM_OF_TCP_SRC[]->NXM_NX_REG0[0..15],controller(pause),output:2";

struct Bed {
    dp: Datapath,
    rx: Receiver<UserspacePacket>,
    h: Arc<Handler>,
    now_ms: Arc<AtomicU64>,
}

impl Bed {
    fn new(max_idle_ms: u64, grace_ms: u64) -> Bed {
        let mut of = bridge(3);
        load(&mut of, PAUSE);
        of.set_recirc_grace_ms(grace_ms);
        let now_ms = Arc::new(AtomicU64::new(0));
        let n = now_ms.clone();
        let h = Arc::new(Handler::new(
            of,
            Arc::new(move || n.load(Ordering::Relaxed)),
        ));
        h.set_max_idle_ms(max_idle_ms);
        let cfg = DatapathConfig {
            n_threads: 1,
            ..DatapathConfig::default()
        };
        let (dp, rx) = Datapath::new(cfg, h.clone(), None);
        Bed { dp, rx, h, now_ms }
    }

    fn send(&self, sport: u16) {
        self.dp
            .execute(&tcp_frame(sport), 1, &[DpAction::Recirc(0)]);
    }

    /// The packet-ins of the packets the datapath sent up so far.
    fn packet_ins(&self) -> Vec<PacketInEvent> {
        let of = self.h.snapshot();
        self.rx
            .try_iter()
            .filter_map(|up| of.packet_in(&up))
            .collect()
    }

    fn n_paused(&self) -> usize {
        self.h.snapshot().n_paused_states()
    }

    /// What the switch does every tick: timeouts and id sweeps, then a pass.
    fn tick(&self, now_ms: u64) {
        self.now_ms.store(now_ms, Ordering::Relaxed);
        self.h.modify(|of| of.run(now_ms));
        self.h.revalidate_datapath(&self.dp);
    }

    /// The cookie of the userspace action of the only megaflow.
    fn cookie(&self) -> u64 {
        let flows = self.dp.flow_dump();
        assert_eq!(flows.len(), 1);
        flows[0]
            .actions
            .iter()
            .find_map(|a| match a {
                DpAction::Userspace { userdata } => Some(*userdata),
                _ => None,
            })
            .expect("a userspace action")
    }
}

/// What a controller echoing the packet-in sends back, decoded as the
/// switch decodes it.
fn resume_of(ev: &PacketInEvent) -> (PacketIn2, Paused) {
    let mut p2 = PacketIn2::from_packet_in(&ev.packet_in);
    p2.continuation.clone_from(&ev.continuation);
    let bytes = ofp_codec::Message::Resume(resume_for(&p2)).encode(1);
    ofp_codec::msg::resume::decode_resume(&bytes).unwrap()
}

const OPTS: XlateOptions = XlateOptions {
    now_ms: 0,
    side_effects: true,
    trace: false,
};

#[test]
fn a_paused_state_lives_with_its_megaflow_then_is_freed_after_the_grace() {
    let bed = Bed::new(10_000, 1_000);
    bed.send(1000);
    let cookie = bed.cookie();
    assert_ne!(cookie & PAUSE_COOKIE_BIT, 0);
    assert_eq!(bed.h.snapshot().paused_state_refs(cookie), Some(1));
    let pins = bed.packet_ins();
    assert_eq!(pins.len(), 1);
    assert!(!pins[0].continuation.is_empty());
    // The same connection again: same state, no new entry.
    bed.send(1000);
    bed.send(1001);
    assert_eq!(bed.n_paused(), 2);
    bed.tick(100);
    bed.tick(5_000);
    assert_eq!(bed.n_paused(), 2, "megaflows hold them");
    bed.dp.flow_flush();
    assert_eq!(bed.h.snapshot().paused_state_refs(cookie), Some(0));
    bed.tick(5_100);
    bed.tick(6_099);
    assert_eq!(bed.n_paused(), 2, "inside the grace");
    bed.tick(6_100);
    assert_eq!(bed.n_paused(), 0);
    assert_eq!(bed.h.snapshot().paused_state_refs(cookie), None);
    // The controller answers late: the continuation alone resumes it.
    let (pin, paused) = resume_of(&pins[0]);
    let t = bed
        .h
        .snapshot()
        .resume_translation(&pin, &paused, OPTS)
        .expect("resumed after the state was freed");
    assert_eq!(datapath::actions::format_actions(&t.actions), "2");
    // Traffic again: a fresh state that works.
    bed.send(1000);
    assert_eq!(bed.n_paused(), 1);
    assert_eq!(bed.packet_ins().len(), 1);
}

#[test]
fn the_paused_state_table_stays_bounded_while_connections_churn_and_empties_when_quiet() {
    let (max_idle, grace, tick, step) = (500u64, 1_000u64, 250u64, 10u64);
    let bed = Bed::new(max_idle, grace);
    let n_conns = 2_000u16;
    let mut peak = 0;
    let mut pins = 0;
    for i in 0..n_conns {
        let now = u64::from(i) * step;
        bed.now_ms.store(now, Ordering::Relaxed);
        bed.send(10_000 + i);
        if now % tick == 0 {
            bed.tick(now);
            pins += bed.packet_ins().len();
        }
        peak = peak.max(bed.n_paused());
    }
    pins += bed.packet_ins().len();
    assert_eq!(pins, usize::from(n_conns), "every packet paused once");
    let bound = ((max_idle + grace + 3 * tick) / step) as usize + 1;
    assert!(peak <= bound, "peak {peak} > {bound}");
    assert!(
        peak >= (max_idle / step) as usize,
        "peak {peak}: freed too early?"
    );
    // Quiet: the megaflows idle out and every state is freed.
    let end = u64::from(n_conns) * step;
    for t in 1..=12 {
        bed.tick(end + t * tick);
    }
    assert_eq!(bed.dp.flow_dump().len(), 0);
    assert_eq!(bed.n_paused(), 0);
    eprintln!("{n_conns} connections: peak {peak} paused states");
}
