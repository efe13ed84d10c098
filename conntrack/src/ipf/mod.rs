//! # ipf — IPv4 and IPv6 fragment reassembly in front of the tracker
//!
//! What Open vSwitch's userspace `ipf` module does for `ct()`: fragments are held until
//! their datagram is complete; the reassembled datagram goes through the tracker once, and
//! its verdict (ct_state, zone, mark, label, original tuple — and any NAT rewrite, see
//! [`Datagram::propagate_rewrite`]) applies to every fragment, which then continue through
//! the actions after the `ct()` as they came.
//!
//! Sans-IO like the rest of the crate: [`Ipf::offer`] takes the frame, the caller's
//! per-packet context `T` (carried with a held fragment and handed back with it), the zone,
//! the recirculation id and `now_ns`; it answers [`Offer`]. Nothing here forwards packets.
//!
//! ```text
//!   ct() on a burst ──► fragment? ──no──► tracker (hot path: the caller tests its flow key)
//!                          │yes
//!                          ▼
//!   Ipf::offer ── malformed / too small / overlapping / over the limits ──► Invalid (+inv)
//!        │ held (list keyed by src,dst,id,proto,zone,recirc_id)
//!        ▼ last missing piece
//!   Offer::Complete(Datagram { frame, frags }) ─► caller: tracker on `frame`, verdict to
//!                                                 every fragment, fragments run on
//!   Ipf::expire(now_ns): lists older than 15 s are dropped (counted "expired")
//! ```
//!
//! ## As Open vSwitch 3.1 (`lib/ipf.c`)
//! * Both families enabled by default; minimum size of a non-last fragment (IP header
//!   included) 1200 (v4) / 1280 (v6), settable down to 400; at most 1000 fragments held in
//!   all (settable up to 5000); an IPv4 datagram has at most ⌈65,475 / (min − 60)⌉
//!   fragments (58 by default); lists time out after 15 s.
//! * The key: source, destination, identification (32 bits for IPv6), family, IP protocol
//!   (IPv4; 0 for IPv6), zone, recirc_id. So a datagram seen again after recirculation is
//!   reassembled again in its new context.
//! * Counters and texts of `dpctl/ipf-get-status [-m]` ([`format_status`]).
//!
//! ## Where rvs differs, on purpose
//! * Overlap means "shares at least one byte" (OVS tests only whether an end of the new
//!   fragment falls inside a held one, so a fragment covering a held one is accepted).
//!   Duplicates count as overlaps, as in OVS.
//! * Expired lists are dropped and counted; OVS sends their fragments on marked `+inv`
//!   through whichever `ct()` batch comes next. Malformed fragments (bad lengths, bad IPv4
//!   header checksum, empty or non-multiple-of-8 payload before the last, past 65,535
//!   bytes) are `+inv` without entering a list.
//! * The IPv6 reassembled frame has no fragment header (the Linux way; OVS keeps a zeroed
//!   one). A datagram too large to reassemble drops its fragments, counted as "purged".
//! * Fragments refused because of the global or per-datagram limit are `+inv` (as OVS,
//!   which leaves them to the tracker) and counted in [`IpfFamilyStatus::refused`], which
//!   OVS does not print.
//!
//! Memory is bounded: at most `max_nfrags` (≤ 5000) held frames.

mod frag;
mod list;

use std::collections::VecDeque;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

use hashbrown::HashMap;
use parking_lot::Mutex;

use crate::timeout::NS_PER_S;
pub use list::{Datagram, Fragment, ListState};

use frag::{FragKey, Parsed, Refusal};
use list::FragList;

/// Default minimum IPv4 fragment size (bytes, IP header included), as OVS.
pub const DEFAULT_MIN_FRAG_V4: u32 = 1200;
/// Default minimum IPv6 fragment size, as OVS.
pub const DEFAULT_MIN_FRAG_V6: u32 = 1280;
/// Smallest value `ipf-set-min-frag` accepts (both families), as OVS.
pub const MIN_FRAG_LOWER_BOUND: u32 = 400;
/// Default limit of fragments held at once, as OVS.
pub const DEFAULT_MAX_NFRAGS: u32 = 1000;
/// Largest value `ipf-set-max-nfrags` accepts, as OVS.
pub const MAX_NFRAGS_UPPER_BOUND: u32 = 5000;
/// An incomplete list is dropped this long after its first fragment arrived (OVS: 15 s).
pub const FRAG_LIST_TIMEOUT_NS: u64 = 15 * NS_PER_S;
/// Expired lists dropped per [`Ipf::offer`] call (the rest wait for [`Ipf::expire`]).
const EXPIRE_PER_OFFER: usize = 4;

const IPV4_MAX_HDR_LEN: u32 = 60;
const IPV4_MAX_LEN: u32 = 65_535;
/// IPv6 has no useful per-datagram bound (extension headers vary): the global one applies.
const IPV6_MAX_FRAGS_PER_LIST: usize = 65_535;

/// What [`Ipf::offer`] decided for one packet.
#[derive(Debug)]
pub enum Offer<T> {
    /// Not a fragment, or reassembly of its family is disabled: track it as it is.
    Pass,
    /// A fragment refused (malformed, too small, overlapping, over a limit): the caller
    /// marks it invalid and lets it continue, as OVS does (`ct_state=+trk+inv`).
    Invalid,
    /// Kept: the packet leaves the caller's batch.
    Held,
    /// Kept, and its datagram is now complete: track [`Datagram::frame`], then send every
    /// fragment on with the verdict.
    Complete(Datagram<T>),
}

/// Counters of one family, as `ipf-get-status` names them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpfFamilyStatus {
    /// Reassembly on (`ipf-set-enabled`).
    pub enabled: bool,
    /// Smallest non-last fragment accepted, IP header included (bytes).
    pub min_frag_size: u32,
    /// Fragments held (entered a list).
    pub accepted: u64,
    /// Fragments handed back in a complete datagram.
    pub completed: u64,
    /// Fragments of lists that timed out (dropped).
    pub expired: u64,
    /// Non-last fragments under the minimum size.
    pub too_small: u64,
    /// Fragments sharing bytes with a held one (duplicates included).
    pub overlapped: u64,
    /// Fragments dropped because their datagram could not be reassembled (too large).
    pub purged: u64,
    /// rvs only: fragments refused by the global or per-datagram limit, or malformed.
    pub refused: u64,
}

/// A snapshot for `dpctl/ipf-get-status`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IpfStatus {
    /// Fragments held now.
    pub nfrag: u32,
    /// Limit of fragments held at once (`ipf-set-max-nfrags`).
    pub nfrag_max: u32,
    /// IPv4 settings and counters.
    pub v4: IpfFamilyStatus,
    /// IPv6 settings and counters.
    pub v6: IpfFamilyStatus,
}

#[derive(Default)]
struct Counters {
    accepted: AtomicU64,
    completed: AtomicU64,
    expired: AtomicU64,
    too_small: AtomicU64,
    overlapped: AtomicU64,
    purged: AtomicU64,
    refused: AtomicU64,
}

struct Family {
    enabled: AtomicBool,
    min_frag: AtomicU32,
    c: Counters,
}

impl Family {
    fn new(min: u32) -> Self {
        Family {
            enabled: AtomicBool::new(true),
            min_frag: AtomicU32::new(min),
            c: Counters::default(),
        }
    }

    fn status(&self) -> IpfFamilyStatus {
        let l = |a: &AtomicU64| a.load(Ordering::Relaxed);
        IpfFamilyStatus {
            enabled: self.enabled.load(Ordering::Relaxed),
            min_frag_size: self.min_frag.load(Ordering::Relaxed),
            accepted: l(&self.c.accepted),
            completed: l(&self.c.completed),
            expired: l(&self.c.expired),
            too_small: l(&self.c.too_small),
            overlapped: l(&self.c.overlapped),
            purged: l(&self.c.purged),
            refused: l(&self.c.refused),
        }
    }
}

struct Lists<T> {
    map: HashMap<FragKey, FragList<T>>,
    /// (key, serial) in creation order = deadline order (one timeout for all).
    order: VecDeque<(FragKey, u64)>,
    next_serial: u64,
}

/// The reassembler: one per datapath, shared by its threads (`Send + Sync` when `T: Send`).
/// Settings and counters are atomics; the lists sit behind one mutex, taken only for
/// fragments.
pub struct Ipf<T> {
    v4: Family,
    v6: Family,
    nfrag_max: AtomicU32,
    /// Fragments held now (read without the lock to skip work when zero).
    nfrag: AtomicU32,
    lists: Mutex<Lists<T>>,
}

impl<T> Default for Ipf<T> {
    fn default() -> Self {
        Ipf::new()
    }
}

impl<T> std::fmt::Debug for Ipf<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ipf")
            .field("status", &self.status())
            .finish()
    }
}

impl<T> Ipf<T> {
    /// A reassembler with OVS's defaults (both families enabled).
    pub fn new() -> Self {
        Ipf {
            v4: Family::new(DEFAULT_MIN_FRAG_V4),
            v6: Family::new(DEFAULT_MIN_FRAG_V6),
            nfrag_max: AtomicU32::new(DEFAULT_MAX_NFRAGS),
            nfrag: AtomicU32::new(0),
            lists: Mutex::new(Lists {
                map: HashMap::new(),
                order: VecDeque::new(),
                next_serial: 0,
            }),
        }
    }

    fn family(&self, v6: bool) -> &Family {
        if v6 { &self.v6 } else { &self.v4 }
    }

    /// `ipf-set-enabled` / `ipf-set-disabled`. Lists already held stay until they complete
    /// or expire.
    pub fn set_enabled(&self, v6: bool, on: bool) {
        self.family(v6).enabled.store(on, Ordering::Relaxed);
    }

    /// `ipf-set-min-frag`: refused (false) below [`MIN_FRAG_LOWER_BOUND`].
    pub fn set_min_frag(&self, v6: bool, bytes: u32) -> bool {
        if bytes < MIN_FRAG_LOWER_BOUND {
            return false;
        }
        self.family(v6).min_frag.store(bytes, Ordering::Relaxed);
        true
    }

    /// `ipf-set-max-nfrags`: refused (false) above [`MAX_NFRAGS_UPPER_BOUND`].
    pub fn set_max_nfrags(&self, n: u32) -> bool {
        if n > MAX_NFRAGS_UPPER_BOUND {
            return false;
        }
        self.nfrag_max.store(n, Ordering::Relaxed);
        true
    }

    /// Fragments held now.
    pub fn nfrag(&self) -> u32 {
        self.nfrag.load(Ordering::Relaxed)
    }

    /// Settings and counters.
    pub fn status(&self) -> IpfStatus {
        IpfStatus {
            nfrag: self.nfrag(),
            nfrag_max: self.nfrag_max.load(Ordering::Relaxed),
            v4: self.v4.status(),
            v6: self.v6.status(),
        }
    }

    /// Largest IPv4 list, from the current minimum size (OVS's formula).
    fn max_v4_list(&self) -> usize {
        let min = self
            .v4
            .min_frag
            .load(Ordering::Relaxed)
            .max(MIN_FRAG_LOWER_BOUND);
        (IPV4_MAX_LEN - IPV4_MAX_HDR_LEN).div_ceil(min - IPV4_MAX_HDR_LEN) as usize
    }

    /// Offers one packet seen by `ct(zone=…)` with recirculation id `recirc_id`. `frame` is
    /// copied when held; `ctx` is kept with it and handed back in [`Offer::Complete`].
    pub fn offer(&self, frame: &[u8], ctx: T, zone: u16, recirc_id: u32, now_ns: u64) -> Offer<T> {
        if !self.v4.enabled.load(Ordering::Relaxed) && !self.v6.enabled.load(Ordering::Relaxed) {
            return Offer::Pass;
        }
        let parsed = frag::parse(
            frame,
            self.v4.min_frag.load(Ordering::Relaxed),
            self.v6.min_frag.load(Ordering::Relaxed),
        );
        let mut info = match parsed {
            Parsed::NotFragment => return Offer::Pass,
            Parsed::Refused { v6, why } => {
                let f = self.family(v6);
                if !f.enabled.load(Ordering::Relaxed) {
                    return Offer::Pass;
                }
                match why {
                    Refusal::TooSmall => f.c.too_small.fetch_add(1, Ordering::Relaxed),
                    Refusal::Malformed => f.c.refused.fetch_add(1, Ordering::Relaxed),
                };
                return Offer::Invalid;
            }
            Parsed::Fragment(i) => i,
        };
        let v6 = info.key.v6;
        let fam = self.family(v6);
        if !fam.enabled.load(Ordering::Relaxed) {
            return Offer::Pass;
        }
        info.key.zone = zone;
        info.key.recirc_id = recirc_id;
        let mut g = self.lists.lock();
        self.expire_locked(&mut g, now_ns, EXPIRE_PER_OFFER);
        if self.nfrag.load(Ordering::Relaxed) >= self.nfrag_max.load(Ordering::Relaxed) {
            fam.c.refused.fetch_add(1, Ordering::Relaxed);
            return Offer::Invalid;
        }
        let max_list = if v6 {
            IPV6_MAX_FRAGS_PER_LIST
        } else {
            self.max_v4_list()
        };
        let lists = &mut *g;
        let list = match lists.map.get_mut(&info.key) {
            Some(l) => l,
            None => {
                let serial = lists.next_serial;
                lists.next_serial += 1;
                lists.order.push_back((info.key, serial));
                lists.map.entry(info.key).or_insert_with(|| {
                    FragList::new(now_ns.saturating_add(FRAG_LIST_TIMEOUT_NS), serial)
                })
            }
        };
        if list.conflicts(&info) {
            fam.c.overlapped.fetch_add(1, Ordering::Relaxed);
            return Offer::Invalid;
        }
        if list.frags.len() >= max_list {
            fam.c.refused.fetch_add(1, Ordering::Relaxed);
            return Offer::Invalid;
        }
        list.push(Fragment {
            frame: frame.to_vec(),
            ctx,
            info,
        });
        self.nfrag.fetch_add(1, Ordering::Relaxed);
        fam.c.accepted.fetch_add(1, Ordering::Relaxed);
        if !list.complete() {
            return Offer::Held;
        }
        let Some(list) = lists.map.remove(&info.key) else {
            return Offer::Held;
        };
        // Its entry in `order` goes stale (serial no longer in the map) and is skipped.
        let n = list.frags.len();
        self.nfrag.fetch_sub(n as u32, Ordering::Relaxed);
        match list::reassemble(list.frags, v6) {
            Ok(d) => {
                fam.c.completed.fetch_add(n as u64, Ordering::Relaxed);
                Offer::Complete(d)
            }
            Err(_) => {
                fam.c.purged.fetch_add(n as u64, Ordering::Relaxed);
                Offer::Held
            }
        }
    }

    /// Drops lists whose 15 s are up (at most `budget` of them); returns how many. Call it
    /// now and then (the datapath does every 100 ms) so that lists expire without traffic.
    pub fn expire(&self, now_ns: u64, budget: usize) -> usize {
        if self.nfrag() == 0 {
            return 0;
        }
        let mut g = self.lists.lock();
        self.expire_locked(&mut g, now_ns, budget)
    }

    fn expire_locked(&self, lists: &mut Lists<T>, now_ns: u64, budget: usize) -> usize {
        let mut dropped = 0;
        while dropped < budget {
            let Some(&(key, serial)) = lists.order.front() else {
                break;
            };
            let live = lists.map.get(&key).filter(|l| l.serial == serial);
            match live {
                None => {
                    lists.order.pop_front();
                }
                Some(l) if l.expires_at_ns <= now_ns => {
                    lists.order.pop_front();
                    if let Some(l) = lists.map.remove(&key) {
                        let n = l.frags.len();
                        self.nfrag.fetch_sub(n as u32, Ordering::Relaxed);
                        self.family(key.v6)
                            .c
                            .expired
                            .fetch_add(n as u64, Ordering::Relaxed);
                    }
                    dropped += 1;
                }
                Some(_) => break,
            }
        }
        // Stale entries (completed lists) must not pile up in front of a live one.
        if lists.order.len() > 2 * lists.map.len() + 64 {
            let map = &lists.map;
            lists
                .order
                .retain(|(k, s)| map.get(k).is_some_and(|l| l.serial == *s));
        }
        dropped
    }

    /// Drops every held fragment (not counted). For tests and shutdown.
    pub fn clear(&self) {
        let mut g = self.lists.lock();
        g.map.clear();
        g.order.clear();
        self.nfrag.store(0, Ordering::Relaxed);
    }

    /// One line per incomplete list, as `ipf-get-status -m` prints them (OVS's format), in
    /// arrival order.
    pub fn dump_lists(&self) -> Vec<String> {
        let g = self.lists.lock();
        g.order
            .iter()
            .filter_map(|(k, s)| {
                let l = g.map.get(k).filter(|l| l.serial == *s)?;
                Some(format_list(k, l.frags.len(), l.state()))
            })
            .collect()
    }
}

fn format_list(k: &FragKey, n: usize, state: ListState) -> String {
    let (src, dst) = if k.v6 {
        (
            Ipv6Addr::from(k.src).to_string(),
            Ipv6Addr::from(k.dst).to_string(),
        )
    } else {
        (
            Ipv4Addr::from(k.src as u32).to_string(),
            Ipv4Addr::from(k.dst as u32).to_string(),
        )
    };
    format!(
        "(src={src},dst={dst},recirc_id={},ip_id={},dl_type=0x{:x},zone={},nw_proto={},num_fragments={n},state={})",
        k.recirc_id,
        k.id,
        if k.v6 { 0x86dd } else { 0x0800 },
        k.zone,
        k.proto,
        state.name()
    )
}

/// `dpctl/ipf-get-status` text, as OVS 3.1 prints it; with `lists` (the `-m` form) the
/// "Fragment Lists" section follows.
pub fn format_status(s: &IpfStatus, lists: Option<&[String]>) -> String {
    let mut o = String::new();
    let mut line = |t: String| {
        o.push_str("        ");
        o.push_str(&t);
        o.push('\n');
    };
    line("Fragmentation Module Status".into());
    line("---------------------------".into());
    line(format!("v4 enabled: {}", u8::from(s.v4.enabled)));
    line(format!("v6 enabled: {}", u8::from(s.v6.enabled)));
    line(format!("max num frags (v4/v6): {}", s.nfrag_max));
    line(format!("num frag: {}", s.nfrag));
    for (name, f) in [("v4", &s.v4), ("v6", &s.v6)] {
        line(format!("min {name} frag size: {}", f.min_frag_size));
        line(format!("{name} frags accepted: {}", f.accepted));
        line(format!("{name} frags completed: {}", f.completed));
        line(format!("{name} frags expired: {}", f.expired));
        line(format!("{name} frags too small: {}", f.too_small));
        line(format!("{name} frags overlapped: {}", f.overlapped));
        line(format!("{name} frags purged: {}", f.purged));
    }
    if let Some(lists) = lists {
        o.push_str("\n        Fragment Lists:\n\n");
        for l in lists {
            o.push_str(l);
            o.push('\n');
        }
    }
    o
}
