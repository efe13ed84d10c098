//! Expectations: data connections an ALG helper has announced, waiting for their first packet.
//!
//! An expectation is a connection key with the source port left open (a data connection comes
//! from any port): protocol, zone, source and destination address, destination port. When a
//! packet finds no connection, the tracker looks its key up here (only when the table is not
//! empty: one atomic load otherwise); a match makes the packet `+new+rel`, gives it the parent's
//! mark and label, and, if the packet commits a connection, the expectation is consumed.
//!
//! Lifetime: an expectation lives as long as its parent connection (Open vSwitch removes a
//! parent's expectations when the parent goes). Here the entry holds a weak reference to the
//! parent, and an expectation whose parent has been freed or has passed its deadline is dead:
//! ignored by lookups and purged when the table is full. A parent keeps at most
//! [`MAX_PER_PARENT`] expectations (a newer one evicts its oldest), and the table holds at
//! most [`MAX_EXPECTATIONS`]; beyond that new ones are refused and counted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};

use parking_lot::RwLock;

use crate::key::ConnKey;
use crate::table::Conn;

/// Most live expectations one parent connection keeps.
pub const MAX_PER_PARENT: usize = 4;
/// Most expectations in the whole table.
pub const MAX_EXPECTATIONS: usize = 16_384;

/// The key an expectation is stored under: `k` with its source port cleared (0 is never a valid
/// TCP/UDP port, so it cannot collide with a real key).
pub(crate) fn wildcard_key(k: &ConnKey) -> Option<ConnKey> {
    use std::net::IpAddr;
    let key = match (k.src_addr(), k.dst_addr()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => ConnKey::ipv4(s, d, k.proto(), 0, k.dst_port()),
        (IpAddr::V6(s), IpAddr::V6(d)) => ConnKey::ipv6(s, d, k.proto(), 0, k.dst_port()),
        _ => return None,
    };
    Some(key.with_zone(k.zone()))
}

/// What a matching packet inherits.
#[derive(Clone, Debug)]
pub(crate) struct Expectation {
    /// The connection that announced it.
    pub parent: Weak<Conn>,
    /// The parent's original-direction key (the related connection reports it as its
    /// original tuple, as Open vSwitch does).
    pub parent_key: ConnKey,
    /// The parent's `ct_mark` and `ct_label` when the expectation was made.
    pub mark: u32,
    pub label: u128,
    /// With NAT on the parent: the translation the data connection gets if it is committed
    /// with `nat`.
    pub nat: Option<super::DataNat>,
}

impl Expectation {
    fn alive(&self, now_ns: u64) -> bool {
        self.parent.upgrade().is_some_and(|c| !c.expired(now_ns))
    }
}

/// The expectation table (one per tracker). Lookups take a read lock, changes a write lock; the
/// lock is a leaf: nothing else is locked while it is held.
#[derive(Default)]
pub(crate) struct Expectations {
    len: AtomicUsize,
    map: RwLock<HashMap<ConnKey, Expectation>>,
    /// Expectations not stored because the table was full of live ones.
    pub refused: AtomicU64,
}

impl Expectations {
    /// True when there is nothing to look up (the common case: no ALG in use).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len.load(Ordering::Relaxed) == 0
    }

    /// Number of stored expectations (live or not yet purged).
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// The live expectation a new connection with key `k` matches, if any.
    #[inline]
    pub fn lookup(&self, k: &ConnKey, now_ns: u64) -> Option<(ConnKey, Expectation)> {
        if self.is_empty() {
            return None;
        }
        self.lookup_slow(k, now_ns)
    }

    #[inline(never)]
    fn lookup_slow(&self, k: &ConnKey, now_ns: u64) -> Option<(ConnKey, Expectation)> {
        let wk = wildcard_key(k)?;
        let map = self.map.read();
        let e = map.get(&wk)?;
        e.alive(now_ns).then(|| (wk, e.clone()))
    }

    /// Stores `exp` under `wk`. An existing live expectation of another parent is kept (the
    /// first announcement wins, as in Open vSwitch); a dead one or the same parent's is
    /// replaced. Returns true if stored (or already present for this parent).
    pub fn insert(&self, wk: ConnKey, exp: Expectation, now_ns: u64) -> bool {
        // Helpers announce the same expectation again and again (every TFTP request, a
        // retransmitted PORT): settle that under the read lock.
        if let Some(old) = self.map.read().get(&wk) {
            if Weak::ptr_eq(&old.parent, &exp.parent) {
                return true;
            }
            if old.alive(now_ns) {
                return false;
            }
        }
        let mut map = self.map.write();
        if let Some(old) = map.get(&wk) {
            if old.alive(now_ns) && !Weak::ptr_eq(&old.parent, &exp.parent) {
                return false;
            }
            map.insert(wk, exp);
            return true;
        }
        if map.len() >= MAX_EXPECTATIONS {
            map.retain(|_, e| e.alive(now_ns));
            if map.len() >= MAX_EXPECTATIONS {
                self.len.store(map.len(), Ordering::Relaxed);
                self.refused.fetch_add(1, Ordering::Relaxed);
                return false;
            }
        }
        map.insert(wk, exp);
        self.len.store(map.len(), Ordering::Relaxed);
        true
    }

    /// Removes the expectation under `wk` if it belongs to `parent`.
    pub fn remove_if_parent(&self, wk: &ConnKey, parent: &Weak<Conn>) {
        let mut map = self.map.write();
        if map.get(wk).is_some_and(|e| Weak::ptr_eq(&e.parent, parent)) {
            map.remove(wk);
            self.len.store(map.len(), Ordering::Relaxed);
        }
    }
}

/// The expectations one parent has made, oldest first out (kept in the parent's ALG state).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Recent {
    keys: [Option<ConnKey>; MAX_PER_PARENT],
    next: u8,
}

impl Recent {
    /// Remembers `wk`; returns the key it displaces (the parent's oldest), if any, which the
    /// caller removes from the table. A key already remembered is not added twice.
    pub fn push(&mut self, wk: ConnKey) -> Option<ConnKey> {
        if self.keys.contains(&Some(wk)) {
            return None;
        }
        let slot = &mut self.keys[usize::from(self.next) % MAX_PER_PARENT];
        self.next = ((usize::from(self.next) + 1) % MAX_PER_PARENT) as u8;
        slot.replace(wk)
    }
}

/// Announces an expectation `wk` made by `parent` (whose recent list is `recent`, inside its
/// locked state): stores it and evicts the parent's oldest if it already has
/// [`MAX_PER_PARENT`].
pub(crate) fn announce(
    table: &Expectations,
    parent: &Arc<Conn>,
    recent: &mut Recent,
    wk: ConnKey,
    inherit: (u32, u128),
    nat: Option<super::DataNat>,
    now_ns: u64,
) -> bool {
    let weak = Arc::downgrade(parent);
    let exp = Expectation {
        parent: weak.clone(),
        parent_key: parent.key,
        mark: inherit.0,
        label: inherit.1,
        nat,
    };
    if !table.insert(wk, exp, now_ns) {
        return false;
    }
    if let Some(old) = recent.push(wk).filter(|o| *o != wk) {
        table.remove_if_parent(&old, &weak);
    }
    true
}
