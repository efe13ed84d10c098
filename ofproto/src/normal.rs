//! The MAC learning table behind the `NORMAL` action.
//!
//! Entries are keyed by (MAC, VLAN) and age out `aging_ms` after they were
//! last refreshed (OVS's default is 300 s). When the table is full, the entry
//! closest to expiry is evicted, as OVS's `mac_learning` does with its LRU.

use hashbrown::HashMap;

/// A learned MAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacEntry {
    pub port: u32,
    pub expires_ms: u64,
}

/// See the module documentation.
#[derive(Clone, Debug)]
pub struct MacTable {
    entries: HashMap<(u64, u16), MacEntry>,
    max: usize,
    aging_ms: u64,
}

impl MacTable {
    pub fn new(max: usize, aging_ms: u64) -> Self {
        MacTable {
            entries: HashMap::new(),
            max: max.max(1),
            aging_ms,
        }
    }

    /// Learns that `mac` on `vlan` is behind `port`. Returns true if this is
    /// new information (a new entry or a move).
    pub fn learn(&mut self, mac: u64, vlan: u16, port: u32, now_ms: u64) -> bool {
        let expires_ms = now_ms + self.aging_ms;
        if let Some(e) = self.entries.get_mut(&(mac, vlan)) {
            let moved = e.port != port;
            *e = MacEntry { port, expires_ms };
            return moved;
        }
        if self.entries.len() >= self.max
            && let Some(victim) = self
                .entries
                .iter()
                .min_by_key(|(_, e)| e.expires_ms)
                .map(|(k, _)| *k)
        {
            self.entries.remove(&victim);
        }
        self.entries
            .insert((mac, vlan), MacEntry { port, expires_ms });
        true
    }

    /// The port `mac` on `vlan` was learned on, if it has not aged out.
    pub fn lookup(&self, mac: u64, vlan: u16, now_ms: u64) -> Option<u32> {
        self.entries
            .get(&(mac, vlan))
            .filter(|e| e.expires_ms > now_ms)
            .map(|e| e.port)
    }

    /// Drops aged-out entries.
    pub fn expire(&mut self, now_ms: u64) {
        self.entries.retain(|_, e| e.expires_ms > now_ms);
    }

    /// The live entries as `fdb/show` lists them: (port, VLAN, MAC, age in
    /// seconds since last learned), least recently refreshed first (OVS
    /// walks its LRU list).
    pub fn dump(&self, now_ms: u64) -> Vec<(u32, u16, u64, u64)> {
        let mut v: Vec<(u64, u32, u16, u64)> = self
            .entries
            .iter()
            .filter(|(_, e)| e.expires_ms > now_ms)
            .map(|(&(mac, vlan), e)| (e.expires_ms, e.port, vlan, mac))
            .collect();
        v.sort_unstable();
        v.into_iter()
            .map(|(exp, port, vlan, mac)| {
                let learned_ms = exp.saturating_sub(self.aging_ms);
                (port, vlan, mac, now_ms.saturating_sub(learned_ms) / 1000)
            })
            .collect()
    }

    /// Forgets every MAC learned on `port`.
    pub fn flush_port(&mut self, port: u32) {
        self.entries.retain(|_, e| e.port != port);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_age_out_and_move() {
        let mut t = MacTable::new(2, 1000);
        assert!(t.learn(0xaa, 0, 1, 0));
        assert!(!t.learn(0xaa, 0, 1, 10));
        assert_eq!(t.lookup(0xaa, 0, 500), Some(1));
        assert_eq!(t.lookup(0xaa, 5, 500), None, "VLANs are separate");
        assert!(t.learn(0xaa, 0, 2, 600), "a move is news");
        assert_eq!(t.lookup(0xaa, 0, 1599), Some(2));
        assert_eq!(t.lookup(0xaa, 0, 1600), None);
        t.learn(0xbb, 0, 1, 0);
        t.learn(0xcc, 0, 1, 100);
        assert_eq!(t.len(), 2, "full table evicts the oldest");
        t.flush_port(1);
        assert_eq!(t.len(), 1);
        t.flush_port(2);
        assert!(t.is_empty());
    }
}
