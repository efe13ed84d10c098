//! Frozen continuations behind recirculation ids, and packet-in contexts
//! behind `userspace` action cookies.
//!
//! `ct(table=N)` forks the packet as Open vSwitch does: the datapath runs
//! `ct(...)` then `recirc(id)`, and `id` names a [`FrozenState`] holding what
//! the OpenFlow pipeline knew that the datapath key does not carry
//! (registers, metadata, the action set) and the table to resume at.
//! Identical states share one id (OVS's `recirc_alloc_id_ctx`), so the
//! megaflows of many connections can share their recirculated megaflows.

use hashbrown::HashMap;
use ofp_codec::Action;

/// What translation resumes from after a recirculation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FrozenState {
    pub table_id: u8,
    pub regs: [u32; 16],
    pub metadata: u64,
    /// Actions still to run before the table lookup (empty for `ct` forks,
    /// which resume with a lookup in `table_id`).
    pub actions: Vec<Action>,
    /// The OpenFlow action set at the time of freezing.
    pub action_set: Vec<Action>,
}

/// Interned frozen states, ids from 1 (0 means "not recirculated").
#[derive(Debug, Default)]
pub struct RecircTable {
    by_state: HashMap<FrozenState, u32>,
    by_id: HashMap<u32, FrozenState>,
    next: u32,
}

impl RecircTable {
    /// The id of `state`, allocating one if it is new.
    pub fn intern(&mut self, state: FrozenState) -> u32 {
        if let Some(&id) = self.by_state.get(&state) {
            return id;
        }
        self.next = self.next.wrapping_add(1).max(1);
        let id = self.next;
        self.by_id.insert(id, state.clone());
        self.by_state.insert(state, id);
        id
    }

    pub fn get(&self, id: u32) -> Option<&FrozenState> {
        self.by_id.get(&id)
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// What a `controller(...)` (or output:CONTROLLER, dec_ttl expiry) needs to
/// build the packet-in when the datapath hands the packet up.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PinContext {
    /// `OFPR_*`.
    pub reason: u8,
    pub table_id: u8,
    pub cookie: u64,
    pub controller_id: u16,
    pub max_len: u16,
    pub userdata: Vec<u8>,
    /// Pipeline fields at the time (in_port comes from the packet).
    pub regs: [u32; 16],
    pub metadata: u64,
}

/// Interned packet-in contexts; the id is the datapath `userspace` cookie.
#[derive(Debug, Default)]
pub struct PinTable {
    by_ctx: HashMap<PinContext, u64>,
    by_id: HashMap<u64, PinContext>,
    next: u64,
}

impl PinTable {
    pub fn intern(&mut self, ctx: PinContext) -> u64 {
        if let Some(&id) = self.by_ctx.get(&ctx) {
            return id;
        }
        self.next += 1;
        self.by_id.insert(self.next, ctx.clone());
        self.by_ctx.insert(ctx, self.next);
        self.next
    }

    pub fn get(&self, id: u64) -> Option<&PinContext> {
        self.by_id.get(&id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_states_share_an_id() {
        let mut t = RecircTable::default();
        let s = FrozenState {
            table_id: 1,
            regs: [0; 16],
            metadata: 0,
            actions: vec![],
            action_set: vec![],
        };
        let a = t.intern(s.clone());
        assert_eq!(t.intern(s.clone()), a);
        let mut s2 = s;
        s2.regs[3] = 7;
        let b = t.intern(s2.clone());
        assert_ne!(a, b);
        assert_eq!(t.get(b), Some(&s2));
        assert!(a >= 1);
    }
}
