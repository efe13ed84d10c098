//! Connection entries and the sharded table that holds them.
//!
//! The table is split into `n_shards` shards, each a `parking_lot::RwLock` around a
//! `hashbrown::HashTable<Arc<Conn>>`. A connection lives in the shard chosen by the high bits of
//! its direction-symmetric key hash, so both directions of a connection find the same entry with
//! one probe. Packets of existing connections take only their shard's *read* lock (plus the
//! entry's own small mutex for the state machine); creation and removal take the shard's write
//! lock, for the time of one insert or a bounded batch of removals. There is no global lock on
//! the packet path.
//!
//! Entries are `Arc`s: a lookup that holds an entry keeps it alive even if a sweep or a flush
//! unlinks it meanwhile, so no thread ever frees an entry another thread is using.
//!
//! Keys are unique in a shard. An entry past its deadline is treated as absent by every lookup
//! (lazy expiry) and is replaced in place when a packet creates a live connection with the same
//! key, so an expired entry can never hide a live one.
//!
//! NAT makes a connection's reply key differ from its reversed original key; such a connection
//! ([`Conn::nat`]) is linked under both keys (two slots, possibly in two shards: the primary
//! slot under the original key's hash, a second one under the reply key's), and
//! [`Conn::direction_of`] is the one place that decides which direction a key denotes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use hashbrown::HashTable;
use parking_lot::{Mutex, RwLock};

use crate::key::ConnKey;
use crate::proto::L4State;

/// Mutable part of a connection, behind the entry's mutex.
#[derive(Debug)]
pub(crate) struct ConnInner {
    pub mark: u32,
    /// `ct_label` as two halves (keeps the entry 8-byte aligned, hence small).
    pub label: [u64; 2],
    pub l4: L4State,
    /// ALG state (helper of a control connection, parent of a related one); `None` for the
    /// common connection (one pointer in the entry).
    pub alg: Option<Box<crate::alg::ConnAlg>>,
}

impl ConnInner {
    pub(crate) fn label(&self) -> u128 {
        (u128::from(self.label[0]) << 64) | u128::from(self.label[1])
    }

    pub(crate) fn set_label(&mut self, l: u128) {
        self.label = [(l >> 64) as u64, l as u64];
    }
}

/// The translation of a NATed connection: its reply key differs from the reversed original
/// key, and the entry is linked under both keys.
#[derive(Debug)]
pub(crate) struct NatBinding {
    /// Reply-direction key (what the translated replies carry).
    pub reply: ConnKey,
    /// Table hash of `reply`.
    pub reply_hash: u64,
    /// The entry has a second slot, under `reply_hash` (false when both keys hash alike: then
    /// the one slot serves both).
    pub two_slots: bool,
    /// `NAT_SRC` / `NAT_DST` bits: what the connection's original direction gets.
    pub kinds: u8,
}

/// [`NatBinding::kinds`]: source NAT.
pub(crate) const NAT_SRC: u8 = 1;
/// [`NatBinding::kinds`]: destination NAT.
pub(crate) const NAT_DST: u8 = 2;

/// One tracked connection.
#[derive(Debug)]
pub(crate) struct Conn {
    /// Original-direction key (includes the zone).
    pub key: ConnKey,
    /// NAT translation, set before the entry is first linked and never changed after.
    pub nat: Option<Box<NatBinding>>,
    /// Absolute deadline in ns; the entry is dead from this instant on.
    pub expires_at_ns: AtomicU64,
    pub inner: Mutex<ConnInner>,
}

impl Conn {
    pub(crate) fn new(key: ConnKey, l4: L4State, expires_at_ns: u64) -> Self {
        Conn {
            key,
            nat: None,
            expires_at_ns: AtomicU64::new(expires_at_ns),
            inner: Mutex::new(ConnInner {
                mark: 0,
                label: [0; 2],
                l4,
                alg: None,
            }),
        }
    }

    /// The reply-direction key. Without NAT it is the reversed original key.
    pub(crate) fn reply_key(&self) -> ConnKey {
        match &self.nat {
            Some(b) => b.reply,
            None => self.key.reverse(),
        }
    }

    /// `Some(false)` if `k` is this connection's original direction, `Some(true)` if it is the
    /// reply direction, else `None`.
    #[inline]
    pub(crate) fn direction_of(&self, k: &ConnKey) -> Option<bool> {
        if self.key == *k {
            Some(false)
        } else if match &self.nat {
            None => self.key.is_reverse_of(k),
            Some(b) => b.reply == *k,
        } {
            Some(true)
        } else {
            None
        }
    }

    #[inline]
    pub(crate) fn expired(&self, now_ns: u64) -> bool {
        now_ns >= self.expires_at_ns.load(Ordering::Relaxed)
    }

    #[inline]
    pub(crate) fn deadline_ns(&self) -> u64 {
        self.expires_at_ns.load(Ordering::Relaxed)
    }
}

/// A table slot: the entry and its key hash (kept so that growing, shrinking and sweeping the
/// table never has to touch the entries themselves).
pub(crate) struct Slot {
    pub hash: u64,
    pub conn: Arc<Conn>,
}

impl Slot {
    /// False for the second slot of a NAT entry (the one under its reply key). Every entry has
    /// exactly one primary slot: counting, dumps and accounting look at primary slots only.
    #[inline]
    pub(crate) fn is_primary(&self) -> bool {
        match &self.conn.nat {
            Some(b) => !(b.two_slots && self.hash == b.reply_hash),
            None => true,
        }
    }
}

pub(crate) type Map = HashTable<Slot>;

/// One shard, padded to its own cache lines so that threads on different shards never share one.
#[repr(align(128))]
pub(crate) struct Shard {
    pub map: RwLock<Map>,
}

impl Shard {
    pub(crate) fn new() -> Self {
        Shard {
            map: RwLock::new(HashTable::new()),
        }
    }
}

/// Finds the entry for `k` (live or not) and the direction `k` denotes.
#[inline]
pub(crate) fn find<'m>(map: &'m Map, hash: u64, k: &ConnKey) -> Option<(&'m Arc<Conn>, bool)> {
    map.find(hash, |s| s.hash == hash && s.conn.direction_of(k).is_some())
        .map(|s| (&s.conn, s.conn.key != *k))
}
