//! Meters: token-bucket rate limiting behind the `meter(id)` datapath action,
//! with the semantics of Open vSwitch's userspace datapath meters.
//!
//! ```text
//!  megaflow actions: meter(3),output:2
//!        │  batch of packets of one megaflow (≤ 32)
//!        ▼
//!  MeterTable ──id──▶ Meter (one lock per meter)
//!                      ├ refill every band's bucket for the time elapsed
//!                      ├ each packet takes its cost from every band's bucket;
//!                      │   where a bucket is short, that band is exceeded
//!                      └ a packet that exceeded a band counts on the
//!                          exceeded band with the highest rate and is dropped
//!        ▼
//!  the packets that passed go on to output:2
//! ```
//!
//! Units, as OpenFlow 1.3 and OVS define them:
//! - `kbps` meters: a band's rate is in kilobits per second and its bucket in
//!   bits; a packet costs 8 × its length in bytes.
//! - `pktps` meters: the rate is in packets per second and the bucket in
//!   thousandths of a packet; a packet costs 1000.
//! - A band's bucket holds at most `burst_size × 1000` units (a burst of
//!   `burst_size` kilobits or packets); a band configured without a burst
//!   size gets `burst_size = rate` (one second's worth), as OVS does. A new
//!   meter starts with full buckets.
//!
//! Differences from OVS, on purpose: time is measured in nanoseconds and the
//! fraction of a unit a refill leaves over is carried to the next refill
//! (OVS refills in whole milliseconds, so very low rates refill a little
//! unevenly there). Only drop bands exist, as in OVS 3.1's userspace
//! datapath (ofproto refuses `dscp_remark` with `OFPMMFC_BAD_BAND`, like OVS).
//!
//! The core, [`Meter::run`], is sans-IO: it takes packet lengths and `now`
//! and says which packets to drop. A packet sent to a meter id that does not
//! exist passes, as in OVS.

use std::sync::Arc;

use hashbrown::HashMap;
use parking_lot::{Mutex, RwLock};

/// Nanoseconds per millisecond: a rate in units per millisecond times
/// elapsed nanoseconds, divided by this, gives units.
const NS_PER_MS: u128 = 1_000_000;

/// One band of a meter's configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BandConfig {
    /// Kilobits per second (kbps meters) or packets per second (pktps).
    pub rate: u32,
    /// Kilobits or packets; 0 means "as large as one second at `rate`".
    pub burst_size: u32,
}

/// A meter's configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MeterConfig {
    /// Rates in packets per second (otherwise kilobits per second).
    pub pktps: bool,
    /// Drop bands.
    pub bands: Vec<BandConfig>,
}

/// A meter's counters: packets and bytes in, and per band the packets and
/// bytes that exceeded it (and were dropped).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MeterCounts {
    pub packets: u64,
    pub bytes: u64,
    /// (packets, bytes) per band, in configuration order.
    pub bands: Vec<(u64, u64)>,
}

#[derive(Clone, Debug)]
struct Band {
    /// Units gained per millisecond (kbps → bits/ms, pktps → milli-packets/ms).
    rate_per_ms: u64,
    capacity: u64,
    bucket: u64,
    /// Refill remainder, in units × NS_PER_MS.
    frac: u128,
    packets: u64,
    bytes: u64,
}

/// One meter's state. See the module documentation.
#[derive(Clone, Debug)]
pub struct Meter {
    pktps: bool,
    bands: Vec<Band>,
    last_ns: u64,
    packets: u64,
    bytes: u64,
}

impl Meter {
    /// A meter with full buckets at `now_ns`. Bands with rate 0 (which
    /// OpenFlow forbids and ofproto refuses) never refill.
    pub fn new(cfg: &MeterConfig, now_ns: u64) -> Meter {
        let bands = cfg
            .bands
            .iter()
            .map(|b| {
                let burst = if b.burst_size == 0 {
                    b.rate
                } else {
                    b.burst_size
                };
                let capacity = u64::from(burst) * 1000;
                Band {
                    rate_per_ms: u64::from(b.rate),
                    capacity,
                    bucket: capacity,
                    frac: 0,
                    packets: 0,
                    bytes: 0,
                }
            })
            .collect();
        Meter {
            pktps: cfg.pktps,
            bands,
            last_ns: now_ns,
            packets: 0,
            bytes: 0,
        }
    }

    /// Meters a batch of packets that arrive together at `now_ns`:
    /// `lens[k]` is the length in bytes of the packet in slot `slots[k]`.
    /// Returns the mask of slots to drop. Counts every packet in, and each
    /// dropped packet on the band with the highest rate it exceeded.
    pub fn run(&mut self, slots: &[u8], lens: &[u32], now_ns: u64) -> u32 {
        let n = slots.len().min(lens.len()).min(32);
        // Racing threads may bring a slightly older `now`: no refill then.
        let elapsed_ns = now_ns.saturating_sub(self.last_ns);
        self.last_ns = self.last_ns.max(now_ns);
        self.packets += n as u64;
        self.bytes += lens[..n].iter().map(|&l| u64::from(l)).sum::<u64>();
        // Per packet: the exceeded band with the highest rate, as
        // (band index, rate).
        let mut worst: [Option<(usize, u64)>; 32] = [None; 32];
        for (bi, band) in self.bands.iter_mut().enumerate() {
            band.refill(elapsed_ns);
            for (k, w) in worst.iter_mut().enumerate().take(n) {
                let cost = if self.pktps {
                    1000
                } else {
                    u64::from(lens[k]) * 8
                };
                if band.bucket >= cost {
                    band.bucket -= cost;
                } else if w.is_none_or(|(_, rate)| band.rate_per_ms > rate) {
                    *w = Some((bi, band.rate_per_ms));
                }
            }
        }
        let mut drop = 0u32;
        for (k, w) in worst.iter().enumerate().take(n) {
            if let Some((bi, _)) = *w {
                let band = &mut self.bands[bi];
                band.packets += 1;
                band.bytes += u64::from(lens[k]);
                drop |= 1 << (slots[k] & 31);
            }
        }
        drop
    }

    /// The counters so far.
    pub fn counts(&self) -> MeterCounts {
        MeterCounts {
            packets: self.packets,
            bytes: self.bytes,
            bands: self.bands.iter().map(|b| (b.packets, b.bytes)).collect(),
        }
    }
}

impl Band {
    fn refill(&mut self, elapsed_ns: u64) {
        if self.rate_per_ms == 0 || self.bucket >= self.capacity {
            self.frac = 0;
            return;
        }
        let acc = self.frac + u128::from(elapsed_ns) * u128::from(self.rate_per_ms);
        let gained = acc / NS_PER_MS;
        let room = u128::from(self.capacity - self.bucket);
        if gained >= room {
            self.bucket = self.capacity;
            self.frac = 0;
        } else {
            self.bucket += gained as u64;
            self.frac = acc % NS_PER_MS;
        }
    }
}

/// The datapath's meters, by datapath meter id. Shared by all forwarding
/// threads; each meter has its own lock, held for one batch.
#[derive(Debug, Default)]
pub struct MeterTable {
    meters: RwLock<HashMap<u32, Arc<Mutex<Meter>>>>,
}

impl MeterTable {
    /// Creates or replaces meter `id` (a replaced meter starts over with
    /// full buckets and zero counters, as OVS's userspace datapath does).
    pub fn set(&self, id: u32, cfg: &MeterConfig, now_ns: u64) {
        let m = Arc::new(Mutex::new(Meter::new(cfg, now_ns)));
        self.meters.write().insert(id, m);
    }

    /// Removes meter `id`; returns its final counters.
    pub fn remove(&self, id: u32) -> Option<MeterCounts> {
        let m = self.meters.write().remove(&id)?;
        let c = m.lock().counts();
        Some(c)
    }

    /// Meter `id`'s counters.
    pub fn counts(&self, id: u32) -> Option<MeterCounts> {
        let m = self.meters.read().get(&id).cloned()?;
        let c = m.lock().counts();
        Some(c)
    }

    /// Number of meters.
    pub fn len(&self) -> usize {
        self.meters.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs meter `id` on a batch (see [`Meter::run`]); returns the mask of
    /// slots to drop. An unknown meter drops nothing.
    pub fn run(&self, id: u32, slots: &[u8], lens: &[u32], now_ns: u64) -> u32 {
        let Some(m) = self.meters.read().get(&id).cloned() else {
            return 0;
        };
        let mut m = m.lock();
        m.run(slots, lens, now_ns)
    }
}

/// Runs meter `id` on the packets of `pkts` whose slot bit is set in `set`
/// (the pipeline's batch form); returns the slots to drop.
pub(crate) fn run_batch(
    table: &MeterTable,
    id: u32,
    pkts: &[crate::packet::Packet],
    set: u32,
    now_ns: u64,
) -> u32 {
    let mut slots = [0u8; 32];
    let mut lens = [0u32; 32];
    let mut n = 0;
    for (i, p) in pkts.iter().enumerate().take(32) {
        if set & (1 << i) != 0 {
            slots[n] = i as u8;
            lens[n] = p.len() as u32;
            n += 1;
        }
    }
    table.run(id, &slots[..n], &lens[..n], now_ns)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn kbps(rate: u32, burst_size: u32) -> MeterConfig {
        MeterConfig {
            pktps: false,
            bands: vec![BandConfig { rate, burst_size }],
        }
    }

    fn run(m: &mut Meter, lens: &[u32], now_ns: u64) -> u32 {
        let slots: Vec<u8> = (0..lens.len() as u8).collect();
        m.run(&slots, lens, now_ns)
    }

    #[test]
    fn pktps_meter_passes_its_burst_then_drops_until_refilled() {
        // 10 packets/s, burst 5: a full bucket of 5 packets.
        let cfg = MeterConfig {
            pktps: true,
            bands: vec![BandConfig {
                rate: 10,
                burst_size: 5,
            }],
        };
        let mut m = Meter::new(&cfg, 0);
        let drop = run(&mut m, &[60; 8], 0);
        assert_eq!(drop, 0b1110_0000, "packets 6..8 exceed the burst");
        // 100 ms later one packet's worth (10/s × 0.1 s) has come back.
        assert_eq!(run(&mut m, &[60; 2], 100 * MS), 0b10);
        // Refill in small steps is not lost: 20 × 5 ms = 100 ms = 1 packet.
        for i in 1..=19 {
            assert_eq!(run(&mut m, &[], (100 + 5 * i) * MS), 0);
        }
        assert_eq!(run(&mut m, &[60], 200 * MS), 0);
        assert_eq!(run(&mut m, &[60], 200 * MS), 1);
        let c = m.counts();
        assert_eq!((c.packets, c.bytes), (12, 720));
        assert_eq!(c.bands, vec![(5, 300)]);
    }

    #[test]
    fn kbps_meter_charges_bits_and_drops_only_what_does_not_fit() {
        // 1000 kbps = 1000 bits/ms, burst 10 kbit = 10_000 bits.
        let mut m = Meter::new(&kbps(1000, 10), 0);
        // 1000-byte packets cost 8000 bits: one fits, the second does not,
        // but a small one after it still fits in what is left.
        assert_eq!(run(&mut m, &[1000, 1000, 200], 0), 0b010);
        // 2000 bits were left, minus 1600; 7 ms bring 7000 bits → 7400.
        assert_eq!(run(&mut m, &[1000], 7 * MS), 0b1);
        assert_eq!(run(&mut m, &[1000], 8 * MS), 0);
        assert_eq!(m.counts().bands, vec![(2, 2000)]);
    }

    #[test]
    fn no_burst_size_means_one_second_at_the_rate() {
        let mut m = Meter::new(&kbps(8, 0), 0);
        // 8 kbit bucket = 1000 bytes.
        assert_eq!(run(&mut m, &[500, 500, 1], 0), 0b100);
    }

    #[test]
    fn a_dropped_packet_counts_on_the_exceeded_band_with_the_highest_rate() {
        let cfg = MeterConfig {
            pktps: true,
            bands: vec![
                BandConfig {
                    rate: 100,
                    burst_size: 2,
                },
                BandConfig {
                    rate: 1000,
                    burst_size: 3,
                },
            ],
        };
        let mut m = Meter::new(&cfg, 0);
        // Packet 3 exceeds band 0 only; packet 4 exceeds both.
        assert_eq!(run(&mut m, &[1, 1, 1, 1], 0), 0b1100);
        assert_eq!(m.counts().bands, vec![(1, 1), (1, 1)]);
    }

    #[test]
    fn buckets_never_exceed_their_capacity_after_a_long_idle_time() {
        let mut m = Meter::new(&kbps(1000, 1), 0);
        // An hour idle refills to 1000 bits only: 125 bytes.
        let hour = 3_600_000 * MS;
        assert_eq!(run(&mut m, &[125, 1], hour), 0b10);
    }

    #[test]
    fn an_older_timestamp_from_another_thread_refills_nothing() {
        let mut m = Meter::new(&kbps(8, 1), 10 * MS);
        assert_eq!(run(&mut m, &[125], 10 * MS), 0);
        assert_eq!(run(&mut m, &[1], 5 * MS), 1);
    }

    #[test]
    fn table_set_replaces_with_fresh_state_and_unknown_ids_pass() {
        let t = MeterTable::default();
        assert_eq!(t.run(7, &[0], &[100], 0), 0, "no meter 7: passes");
        t.set(7, &kbps(8, 1), 0);
        assert_eq!(t.run(7, &[3, 5], &[125, 125], 0), 1 << 5);
        assert_eq!(t.counts(7).unwrap().bands, vec![(1, 125)]);
        t.set(7, &kbps(8, 1), 0);
        assert_eq!(
            t.counts(7).unwrap(),
            MeterCounts {
                packets: 0,
                bytes: 0,
                bands: vec![(0, 0)]
            }
        );
        assert_eq!(t.remove(7).map(|c| c.packets), Some(0));
        assert!(t.is_empty());
    }

    /// A handler that never gets called (packet-outs here need no upcall).
    struct NoUpcalls;

    impl crate::dp::UpcallHandler for NoUpcalls {
        fn upcall(&self, batch: &[crate::dp::Upcall]) -> Vec<crate::dp::UpcallReply> {
            assert!(batch.is_empty(), "no upcall expected");
            Vec::new()
        }
    }

    #[test]
    fn the_meter_action_drops_what_exceeds_and_lets_the_rest_reach_the_next_action() {
        use crate::actions::DpAction;
        let cfg = crate::dp::DatapathConfig {
            n_threads: 1,
            ..Default::default()
        };
        let (dp, _rx) = crate::dp::Datapath::new(cfg, Arc::new(NoUpcalls), None);
        // 2 packets per second, burst 3: of 5 back-to-back packets, 3 pass.
        dp.meters().set(
            4,
            &MeterConfig {
                pktps: true,
                bands: vec![BandConfig {
                    rate: 2,
                    burst_size: 3,
                }],
            },
            0,
        );
        // Output to a port that does not exist: counted as tx_unknown_port.
        let acts = [DpAction::Meter(4), DpAction::Output(77)];
        for _ in 0..5 {
            dp.execute(&[0u8; 64], 1, &acts);
        }
        assert_eq!(dp.stats().tx_unknown_port, 3);
        let c = dp.meters().counts(4).unwrap();
        assert_eq!(
            (c.packets, c.bytes, c.bands.clone()),
            (5, 320, vec![(2, 128)])
        );
        assert_eq!(DpAction::Meter(4).to_string(), "meter(4)");
    }
}
