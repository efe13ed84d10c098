//! A bridge behind a real datapath with a virtual clock: packets go in
//! through `execute`, megaflows and userspace packets come out.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::Receiver;

use datapath::{Datapath, DatapathConfig, DpAction, UserspacePacket};
use ofp_codec::msg::PacketIn2;
use ofp_codec::msg::resume::{Paused, resume_for};
use ofproto::PacketInEvent;
use ofproto::upcall::Handler;

use super::{bridge, load};

/// Ethernet + IPv4 + TCP SYN from 10.0.0.1:`sport` to 10.0.0.2:80.
pub fn tcp_frame(sport: u16) -> Vec<u8> {
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

/// What a controller echoing the packet-in sends back, decoded as the
/// switch decodes it.
pub fn resume_of(ev: &PacketInEvent) -> (PacketIn2, Paused) {
    let mut p2 = PacketIn2::from_packet_in(&ev.packet_in);
    p2.continuation.clone_from(&ev.continuation);
    let bytes = ofp_codec::Message::Resume(resume_for(&p2)).encode(1);
    ofp_codec::msg::resume::decode_resume(&bytes).unwrap()
}

/// The schedule of [`Bed::churn`]: one new connection every
/// `CHURN_STEP_MS`, one packet each, a tick every `CHURN_TICK_MS`;
/// megaflows idle out after `CHURN_MAX_IDLE_MS` and entries are freed
/// `CHURN_GRACE_MS` after their last megaflow.
pub const CHURN_MAX_IDLE_MS: u64 = 500;
pub const CHURN_GRACE_MS: u64 = 1_000;
pub const CHURN_TICK_MS: u64 = 250;
pub const CHURN_STEP_MS: u64 = 10;

/// A one-thread datapath (no ports) whose upcalls a [`Handler`] on
/// `bridge(3)` answers; the handler's clock is `now_ms`, starting at 0.
pub struct Bed {
    pub dp: Datapath,
    /// The packets of userspace actions.
    pub rx: Receiver<UserspacePacket>,
    pub h: Arc<Handler>,
    pub now_ms: Arc<AtomicU64>,
}

impl Bed {
    /// `flows` installed, with the default idle and grace times.
    pub fn new(flows: &str) -> Bed {
        Bed::build(flows, None)
    }

    /// `flows` installed; megaflows idle out after `max_idle_ms` and
    /// recirculation ids (and the like) are freed `grace_ms` after their
    /// last use.
    pub fn with_timeouts(flows: &str, max_idle_ms: u64, grace_ms: u64) -> Bed {
        Bed::build(flows, Some((max_idle_ms, grace_ms)))
    }

    fn build(flows: &str, timeouts: Option<(u64, u64)>) -> Bed {
        let mut of = bridge(3);
        load(&mut of, flows);
        if let Some((_, grace_ms)) = timeouts {
            of.set_recirc_grace_ms(grace_ms);
        }
        let now_ms = Arc::new(AtomicU64::new(0));
        let n = now_ms.clone();
        let h = Arc::new(Handler::new(
            of,
            Arc::new(move || n.load(Ordering::Relaxed)),
        ));
        if let Some((max_idle_ms, _)) = timeouts {
            h.set_max_idle_ms(max_idle_ms);
        }
        let cfg = DatapathConfig {
            n_threads: 1,
            ..DatapathConfig::default()
        };
        let (dp, rx) = Datapath::new(cfg, h.clone(), None);
        Bed { dp, rx, h, now_ms }
    }

    /// `flows` installed, with the timeouts of [`Bed::churn`].
    pub fn for_churn(flows: &str) -> Bed {
        Bed::with_timeouts(flows, CHURN_MAX_IDLE_MS, CHURN_GRACE_MS)
    }

    /// Connections from source ports 10 000 on come and go as the churn
    /// schedule says; `each(bed, ticked)` runs after every connection's
    /// packet (and the tick, if there was one). Returns the peak of
    /// `count`, checked against the schedule: at least the connections of
    /// an idle period, at most those of an idle period, the grace and
    /// three ticks (to release, to free, and rounding). Then traffic stops:
    /// every megaflow idles out and `count` drops to 0.
    pub fn churn(
        &self,
        n_conns: u16,
        count: impl Fn(&Bed) -> usize,
        mut each: impl FnMut(&Bed, bool),
    ) -> usize {
        let (max_idle, grace) = (CHURN_MAX_IDLE_MS, CHURN_GRACE_MS);
        let (tick, step) = (CHURN_TICK_MS, CHURN_STEP_MS);
        let mut peak = 0;
        for i in 0..n_conns {
            let now = u64::from(i) * step;
            self.set_now(now);
            self.send(10_000 + i);
            let ticked = now % tick == 0;
            if ticked {
                self.tick(now);
            }
            each(self, ticked);
            peak = peak.max(count(self));
        }
        let bound = ((max_idle + grace + 3 * tick) / step) as usize + 1;
        assert!(peak <= bound, "peak {peak} > {bound}");
        assert!(
            peak >= (max_idle / step) as usize,
            "peak {peak}: freed too early?"
        );
        // Quiet: everything idles out and is freed.
        let end = u64::from(n_conns) * step;
        for t in 1..=12 {
            self.tick(end + t * tick);
        }
        assert_eq!(self.dp.flow_dump().len(), 0);
        assert_eq!(count(self), 0);
        peak
    }

    /// Sets the virtual clock.
    pub fn set_now(&self, now_ms: u64) {
        self.now_ms.store(now_ms, Ordering::Relaxed);
    }

    /// One packet of connection `sport` in at port 1, through table 0 (a
    /// `recirc(0)` PACKET_OUT, as `output:TABLE` is executed).
    pub fn send(&self, sport: u16) {
        self.dp
            .execute(&tcp_frame(sport), 1, &[DpAction::Recirc(0)]);
    }

    /// What the switch does every tick: timeouts and id sweeps, then a
    /// revalidation pass.
    pub fn tick(&self, now_ms: u64) {
        self.set_now(now_ms);
        self.h.modify(|of| of.run(now_ms));
        self.h.revalidate_datapath(&self.dp);
    }
}
