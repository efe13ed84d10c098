//! `controller(pause)` and `NXT_RESUME`: Open vSwitch's continuations.
//!
//! A `controller(pause)` action sends the packet to the controllers and
//! freezes translation: nothing after it runs. What was left is recorded
//! instead, level by level as the nested lookups unwind (innermost rule
//! first), as OVS's `freeze_unroll_actions` records it: one list in which
//! an `unroll_xlate(table, cookie)` of the running rule precedes each
//! action that needs it (outputs, controller, group, dec_ttl, resubmit to
//! the current table) unless the last one says the same; leading actions
//! that need none form a group of table 0, cookie 0. The action set and
//! whether the packet was conntracked are recorded too. The datapath gets
//! the actions up to the pause and a `userspace` action whose cookie names
//! the frozen state here; the packet-in built from it carries that state
//! as an `NXT_PACKET_IN2` continuation
//! ([`ofp_codec::msg::resume::Paused`], OVS's `NXCPT_*` properties, so
//! `ovs-ofctl` prints it as OVS's). As OVS's, that packet-in reports
//! table 0 and the action's own reason; traces emit nothing for a pause.
//!
//! ```text
//!  rule A (cookie 5): resubmit(,1), output:3
//!  rule B (table 1, cookie 7): controller(pause), set_field:1->reg1, output:2
//!  ─▶ datapath: userspace(pause id)
//!     continuation: unroll(0,0) set_field ; unroll(1,7) output:2 ; unroll(0,5) output:3
//!  controller ── NXT_RESUME(packet, metadata, continuation) ──▶ resume_translation
//!  ─▶ set_field, output:2, output:3 on the (possibly modified) packet, once
//! ```
//!
//! Resuming ([`Ofproto::resume_translation`]) checks the continuation was
//! made by this bridge instance (a random id, as OVS's bridge UUID;
//! otherwise `NXR_STALE`), rebuilds the flow from the packet and the
//! packet-in metadata (in_port, registers, metadata, ct fields when
//! conntracked), runs the groups in order and then the action set. The
//! result is a translation whose actions the caller executes on the
//! packet, as a packet-out's; nothing is installed in the datapath.
//!
//! A pause inside a `clone` or a group bucket ends there, as in OVS (which
//! finishes freezing at those boundaries): the packet-in is emitted with
//! what the clone or bucket had left, and the actions after the clone or
//! group go on at once on the packet as it was before it.
//!
//! Frozen states are interned (identical ones share an id) and freed as
//! recirculation ids are ([`PauseTable`]): a grace period after no megaflow
//! uses them. The controller may still send a continuation back at any
//! time: resuming needs only the continuation. Instructions after the paused `apply_actions` are frozen as
//! actions (`write_metadata` as a masked `set_field`, `goto_table` as
//! `resubmit`, as OVS); `write_actions`/`clear_actions` are applied to the
//! frozen action set at once (OVS copies them into the frozen action list,
//! where they do not decode back as actions). The `push:`/`pop:` field
//! stack is frozen as it is at the pause (inside a `clone`, the clone's
//! copy) into `NXCPT_STACK` properties, top first, as OVS writes them, and
//! an `NXT_RESUME` restores it before the frozen actions run. Not
//! modelled: mirrors (rvs has none) and `odp_port` (rvs resumes on the
//! metadata's `in_port`) are never written.

use std::hash::{BuildHasher, Hasher};

use datapath::DpAction;
use datapath::extract::{PacketMeta, extract};
use ofp_codec::action::SetField;
use ofp_codec::msg::PacketIn2;
use ofp_codec::msg::packet_in::PacketIn;
use ofp_codec::msg::resume::{NXR_STALE, Paused, UnrollGroup};
use ofp_codec::{Action, Field, Instruction, OfpError};

use super::{
    FieldStack, OfFlow, PacketInEvent, Translation, Xlate, XlateOptions, write_action_set,
};
use crate::ofproto::Ofproto;
use crate::packet_in::packet_in_metadata;
use crate::recirc::{IdTable, PinContext, RECIRC_GRACE_MS, RecircStats};

/// Set in a `userspace` cookie that names a paused state (packet-in
/// context ids of `PinTable` count up from 1 and never reach it).
pub const PAUSE_COOKIE_BIT: u64 = 1 << 63;

/// `OFP_NO_BUFFER`.
const NO_BUFFER: u32 = u32::MAX;

/// Translation state while pausing.
#[derive(Clone, Debug)]
pub(crate) struct Pausing {
    pub ctx: PinContext,
    pub conntracked: bool,
    /// Frozen actions, innermost level first, cut where OVS puts an
    /// `unroll_xlate` (see [`Xlate::freeze_rest`]).
    pub groups: Vec<UnrollGroup>,
    /// An `unroll_xlate` was put (the last group is not the leading
    /// group of actions that need none).
    pub unrolled: bool,
}

/// Actions that may send a message naming the table and cookie, or that
/// depend on the current table: OVS puts an `unroll_xlate` before them
/// (`freeze_unroll_actions`).
fn needs_unroll(a: &Action) -> bool {
    match a {
        Action::Output { .. }
        | Action::OutputReg { .. }
        | Action::OutputTrunc { .. }
        | Action::Group(_)
        | Action::Controller(_)
        | Action::DecTtl { .. }
        | Action::DecMplsTtl => true,
        Action::Resubmit(r) => r.table == 0xff,
        _ => false,
    }
}

/// Interned paused states and this bridge instance's id.
///
/// Same lifetime as recirculation ids and packet-in contexts (one
/// [`IdTable`] engine, `crate::recirc`): a megaflow whose actions end in
/// the pause's `userspace` action holds a reference on its cookie, an
/// intern marks it touched, and a state is freed a grace period after both
/// stopped (so a packet already on its way to userspace still finds it).
/// Freeing never breaks an `NXT_RESUME`: the packet-in carries the whole
/// frozen state in its continuation and resuming reads only that and the
/// bridge id, never this table (as OVS, whose continuations are
/// self-contained too).
#[derive(Debug)]
pub struct PauseTable {
    /// Ids below [`PAUSE_COOKIE_BIT`]; the cookie is the id with the bit.
    ids: IdTable<(PinContext, Paused)>,
    bridge: [u8; 16],
}

impl Default for PauseTable {
    fn default() -> Self {
        PauseTable::new(random_id())
    }
}

/// 16 random bytes (std's per-process random hash keys, the clock and the
/// process id), the bridge instance id continuations carry.
fn random_id() -> [u8; 16] {
    let rs = std::collections::hash_map::RandomState::new();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut out = [0u8; 16];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let mut h = rs.build_hasher();
        h.write_u128(now);
        h.write_u32(std::process::id());
        h.write_usize(i);
        chunk.copy_from_slice(&h.finish().to_be_bytes());
    }
    out
}

impl PauseTable {
    /// An empty table for a bridge instance named `bridge`.
    pub fn new(bridge: [u8; 16]) -> Self {
        PauseTable {
            ids: IdTable::new(PAUSE_COOKIE_BIT - 1, RECIRC_GRACE_MS),
            bridge,
        }
    }

    /// The bridge instance id continuations must carry.
    pub fn bridge(&self) -> [u8; 16] {
        self.bridge
    }

    pub fn set_grace_ms(&mut self, grace_ms: u64) {
        self.ids.set_grace_ms(grace_ms);
    }

    /// The `userspace` cookie of a paused state (with [`PAUSE_COOKIE_BIT`]),
    /// allocating one if it is new; marks it touched.
    pub fn intern(&mut self, ctx: PinContext, paused: Paused) -> u64 {
        PAUSE_COOKIE_BIT | self.ids.intern((ctx, paused))
    }

    /// The state behind `cookie`, if allocated.
    pub fn get(&self, cookie: u64) -> Option<&(PinContext, Paused)> {
        let id = Self::id(cookie)?;
        self.ids.get(id)
    }

    /// A megaflow started sending to userspace with `cookie`. False (and
    /// nothing counted) if `cookie` names no allocated state.
    pub fn acquire(&mut self, cookie: u64) -> bool {
        Self::id(cookie).is_some_and(|id| self.ids.acquire(id))
    }

    /// A megaflow that used `cookie` is gone. Unknown cookies and extra
    /// releases are ignored.
    pub fn release(&mut self, cookie: u64) {
        if let Some(id) = Self::id(cookie) {
            self.ids.release(id);
        }
    }

    /// Megaflow references on `cookie`, if allocated.
    pub fn refs(&self, cookie: u64) -> Option<u32> {
        self.ids.refs(Self::id(cookie)?)
    }

    /// Frees the states unreferenced and untouched for the grace period
    /// (linear in the allocated states); returns how many.
    pub fn sweep(&mut self, now_ms: u64) -> usize {
        self.ids.sweep(now_ms).len()
    }

    pub fn stats(&self) -> RecircStats {
        self.ids.stats()
    }

    /// Allocated states (live or in their grace period).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.len() == 0
    }

    fn id(cookie: u64) -> Option<u64> {
        (cookie & PAUSE_COOKIE_BIT != 0).then_some(cookie & !PAUSE_COOKIE_BIT)
    }
}

impl Xlate<'_> {
    /// True once a `controller(pause)` ran: every action list stops and
    /// freezes what it had left.
    pub(crate) fn pausing(&self) -> bool {
        self.paused.is_some()
    }

    /// `controller(pause)`: commits the headers, starts freezing. The
    /// packet-in says table 0 wherever the pause ran, as OVS's (it reports
    /// the table of the frozen state, which a pause resumes at 0), and the
    /// action's own `reason` even in a table-miss flow (OVS turns `action`
    /// into a table miss only for plain `controller` actions).
    pub(crate) fn pause(&mut self, mut ctx: PinContext, reason: u8) {
        ctx.table_id = 0;
        ctx.reason = reason;
        self.commit();
        // The continuation says whether the packet was tracked; the
        // megaflow must not mix tracked and untracked packets. (Not in
        // traces, which emit nothing for a pause, as OVS's.)
        if !self.opts.trace {
            self.pkt.wc.unwildcard(Field::CtState);
        }
        let trk = self.pkt.flow.get(Field::CtState) & u128::from(datapath::key::ct_state::TRK);
        self.paused = Some(Pausing {
            ctx,
            conntracked: trk != 0,
            groups: Vec::new(),
            unrolled: false,
        });
        self.pipe.exit = true;
    }

    /// Records `rest`, the actions a list had left when it paused, as
    /// OVS's `freeze_unroll_actions`: one flat list in which an
    /// `unroll_xlate(table, cookie)` of the running rule comes before each
    /// action that needs it, unless the last one already says the same;
    /// each `unroll_xlate` starts a group. Notes and conjunctions are
    /// dropped.
    pub(crate) fn freeze_rest(&mut self, rest: &[Action]) {
        let (table_id, cookie) = (self.pipe.table_id, self.pipe.cookie);
        let Some(p) = &mut self.paused else {
            return;
        };
        for a in rest {
            if matches!(a, Action::Note(_) | Action::Conjunction { .. }) {
                continue;
            }
            let same = p
                .groups
                .last()
                .is_some_and(|g| g.table_id == table_id && g.cookie == cookie);
            if needs_unroll(a) && !(p.unrolled && same) {
                p.groups.push(UnrollGroup {
                    table_id,
                    cookie,
                    actions: Vec::new(),
                });
                p.unrolled = true;
            }
            match p.groups.last_mut() {
                Some(g) => g.actions.push(a.clone()),
                // The leading actions, before any unroll_xlate.
                None => p.groups.push(UnrollGroup {
                    table_id: 0,
                    cookie: 0,
                    actions: vec![a.clone()],
                }),
            }
        }
    }

    /// Records the instructions a rule had left after a paused
    /// `apply_actions` (module documentation).
    pub(crate) fn freeze_instructions(&mut self, rest: &[&Instruction]) {
        let mut acts = Vec::new();
        for inst in rest {
            match inst {
                Instruction::ClearActions => self.pipe.action_set.clear(),
                Instruction::WriteActions(w) => {
                    for a in w {
                        write_action_set(&mut self.pipe.action_set, a);
                    }
                }
                Instruction::WriteMetadata { metadata, mask } => {
                    acts.push(Action::SetField(SetField {
                        field: Field::Metadata,
                        value: metadata.to_be_bytes().to_vec(),
                        mask: mask.to_be_bytes().to_vec(),
                        form: Default::default(),
                    }));
                }
                Instruction::GotoTable(t) => {
                    acts.push(Action::Resubmit(ofp_codec::action::Resubmit {
                        in_port: ofp_codec::action::port::OFPP_IN_PORT,
                        table: *t,
                        with_ct_orig: false,
                        legacy: false,
                    }))
                }
                Instruction::Meter(_) | Instruction::ApplyActions(_) => {}
            }
        }
        // Copied as they are (they name their table), as in OVS.
        if let Some(p) = &mut self.paused {
            match p.groups.last_mut() {
                Some(g) => g.actions.extend(acts),
                None if acts.is_empty() => {}
                None => p.groups.push(UnrollGroup {
                    table_id: 0,
                    cookie: 0,
                    actions: acts,
                }),
            }
        }
    }

    /// At the end of a paused translation: interns the frozen state and
    /// emits the `userspace` action that sends the packet-in.
    pub(crate) fn finish_pause(&mut self) {
        let Some(p) = self.paused.take() else {
            return;
        };
        // OVS's trace (no side effects, no cache) freezes but emits nothing.
        if self.out.error.is_some() || self.opts.trace {
            return;
        }
        let mut pauses = self.of.pauses.lock();
        let paused = Paused {
            bridge: pauses.bridge(),
            conntracked: p.conntracked,
            groups: p
                .groups
                .into_iter()
                .filter(|g| !g.actions.is_empty())
                .collect(),
            action_set: self.pipe.action_set.clone(),
            stack: self.pipe.stack.top_first(),
            ..Paused::default()
        };
        let userdata = pauses.intern(p.ctx, paused);
        drop(pauses);
        self.emit(DpAction::Userspace { userdata });
    }
}

impl Xlate<'_> {
    /// The end of a `clone` or a group bucket: a pause inside it is
    /// finished here and the enclosing actions go on.
    pub(crate) fn pause_boundary(&mut self) {
        if self.pausing() {
            self.finish_pause();
            self.pipe.exit = false;
        }
    }
}

impl Ofproto {
    /// Paused states allocated (live or in their grace period).
    pub fn n_paused_states(&self) -> usize {
        self.pauses.lock().len()
    }

    /// Megaflow references on the paused state behind `cookie`, if allocated.
    pub fn paused_state_refs(&self, cookie: u64) -> Option<u32> {
        self.pauses.lock().refs(cookie)
    }

    /// The packet-in for a packet the datapath sent up from a paused
    /// translation (None if `up`'s cookie names no paused state), with its
    /// continuation.
    pub fn paused_packet_in(&self, up: &datapath::UserspacePacket) -> Option<PacketInEvent> {
        if up.userdata & PAUSE_COOKIE_BIT == 0 {
            return None;
        }
        let (ctx, paused) = self.pauses.lock().get(up.userdata)?.clone();
        // As for plain packet-ins: ct fields only while the packet is tracked.
        let mut key = up.key;
        if !paused.conntracked {
            key.set_ct_state(0);
        }
        Some(PacketInEvent {
            packet_in: PacketIn {
                buffer_id: NO_BUFFER,
                total_len: up.packet.len().min(0xffff) as u16,
                reason: ofp_codec::msg::packet_in::PacketInReason(ctx.reason),
                table_id: ctx.table_id,
                cookie: ctx.cookie,
                match_: packet_in_metadata(&key, ctx.metadata, &ctx.regs),
                data: up.packet.clone(),
            },
            userdata: ctx.userdata,
            controller_id: ctx.controller_id,
            continuation: paused.encode(),
        })
    }

    /// Translates an `NXT_RESUME` (module documentation): the actions to
    /// execute on `pin.packet`, entering on the metadata's `in_port`.
    /// `NXR_STALE` if another bridge instance made the continuation.
    pub fn resume_translation(
        &self,
        pin: &PacketIn2,
        paused: &Paused,
        opts: XlateOptions,
    ) -> Result<Translation, OfpError> {
        if paused.bridge != self.pauses.lock().bridge() {
            return Err(NXR_STALE);
        }
        let in_port = pin.metadata.value(Field::InPort).unwrap_or(0) as u32;
        let meta = PacketMeta {
            in_port,
            ..PacketMeta::default()
        };
        let mut flow = OfFlow::from_key(&extract(&meta, &pin.packet));
        for e in pin.metadata.iter() {
            let is_ct = matches!(
                e.field,
                Field::CtState
                    | Field::CtZone
                    | Field::CtMark
                    | Field::CtLabel
                    | Field::CtNwSrc
                    | Field::CtNwDst
                    | Field::CtIpv6Src
                    | Field::CtIpv6Dst
                    | Field::CtNwProto
                    | Field::CtTpSrc
                    | Field::CtTpDst
            );
            if is_ct && !paused.conntracked {
                continue;
            }
            flow.set_masked(e.field, e.value_u128(), e.mask_u128());
        }
        let mut x = Xlate::new(self, &flow, opts);
        x.pipe.action_set = paused.action_set.clone();
        x.pipe.stack = FieldStack::from_top_first(&paused.stack);
        for (i, g) in paused.groups.iter().enumerate() {
            if x.pipe.exit || x.out.error.is_some() {
                // A pause again: the groups not yet run stay frozen.
                if let Some(p) = &mut x.paused {
                    p.groups.extend(paused.groups[i..].iter().cloned());
                    p.unrolled = true;
                }
                break;
            }
            x.pipe.table_id = g.table_id;
            x.pipe.cookie = g.cookie;
            x.do_actions(&g.actions);
        }
        x.run_pipeline_action_set();
        Ok(x.finish())
    }
}
