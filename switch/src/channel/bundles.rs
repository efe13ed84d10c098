//! Per-connection bundle storage (ONF bundle extension, as OVS implements
//! it for OpenFlow 1.3): open, add, close, commit, discard.
//!
//! A bundle lives on the connection that opened it and dies with it. Every
//! failure on a bundle other than "no such bundle" also discards it, as in
//! OVS (`ofp_bundle_remove__`).

use std::collections::BTreeMap;

use ofp_codec::OfpError;
use ofp_codec::msg::bundle::{OFPBF_ATOMIC, OFPBF_ORDERED};

use super::bridge::{BundleItem, StagedState};

/// Most bundles one connection may hold open.
pub const MAX_BUNDLES: usize = 64;
/// Most messages one bundle may hold. OVS has no cap; rvs keeps one, set
/// high enough that million-flow `ovs-ofctl --bundle add-flows` loads commit
/// (2^22 messages).
pub const MAX_BUNDLE_MSGS: usize = 1 << 22;
/// Most bytes of BUNDLE_ADD messages the open bundles of one connection may
/// hold together (1 GiB; a million-flow load is ~100-200 MiB). With
/// [`MAX_BUNDLES`] and [`MAX_BUNDLE_MSGS`] alone a controller could make a
/// connection hold terabytes; this is what bounds its memory (the decoded
/// items cost a small multiple of their bytes; a bundle the bridge stages
/// costs its rules instead, and a bridge stages one bundle at a time). An add past it fails with
/// `OFPBFC_MSG_TOO_MANY` and discards its bundle, as the message cap does.
///
/// OVS 3.1 caps neither messages nor bytes (`ofp_bundle_add_message` only
/// appends), so there is no OVS reply to match; a load OVS would take until
/// memory ran out is refused here instead. Of the bundle errors the spec
/// defines, `OFPBFC_MSG_TOO_MANY` ("can't handle this many messages in
/// bundle", ONF 2312 for OpenFlow 1.3) is the one that says the switch ran
/// out of room for the messages being added; `OFPBFC_OUT_OF_BUNDLES` is about
/// the number of bundles and `OFPBFC_MSG_BAD_LEN` about one malformed
/// message, neither of which is the case. OVS declares the code but never
/// sends it.
pub const MAX_BUNDLE_BYTES: usize = 1 << 30;

#[derive(Debug)]
struct Bundle {
    flags: u16,
    closed: bool,
    /// The items the bridge did not take for staging.
    items: Vec<BundleItem>,
    /// The raw BUNDLE_ADD message of each item, in order (error replies on
    /// commit refer to that message, and a commit whose staged copy went
    /// stale decodes the items again from them).
    raws: BundleRaws,
    /// The bridge's staged copy ([`super::bridge::Bridge::bundle_stage`]).
    staged: Option<StagedState>,
    /// How many items the bridge took.
    n_staged: usize,
    /// The bridge handed an item back: the staged copy (if any) was dropped
    /// and no later item is offered.
    stage_off: bool,
}

impl Bundle {
    fn new(flags: u16) -> Self {
        Bundle {
            flags,
            closed: false,
            items: Vec::new(),
            raws: BundleRaws::default(),
            staged: None,
            n_staged: 0,
            stage_off: false,
        }
    }
}

/// What a commit has to work with.
#[derive(Debug)]
pub enum CommitInput {
    /// Every item, decoded (none was staged).
    Items(Vec<BundleItem>),
    /// Every item was staged: the bridge's copy.
    Staged(StagedState),
    /// Some items were staged and some not: decode them all again from
    /// their raw messages.
    Redecode,
}

/// The raw messages of a bundle's items, stored end to end in one buffer
/// (one allocation for the whole bundle, not one per message).
#[derive(Debug, Default, PartialEq)]
pub struct BundleRaws {
    bytes: Vec<u8>,
    /// End offset in `bytes` of each message.
    ends: Vec<usize>,
}

impl BundleRaws {
    fn push(&mut self, raw: &[u8]) {
        self.bytes.extend_from_slice(raw);
        self.ends.push(self.bytes.len());
    }

    /// Number of messages.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Sum of the messages' lengths.
    pub fn total_len(&self) -> usize {
        self.bytes.len()
    }

    /// The raw message of item `i`.
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.bytes.get(start..end)
    }
}

/// The bundles of one connection.
#[derive(Debug)]
pub struct Bundles {
    map: BTreeMap<u32, Bundle>,
    /// [`MAX_BUNDLE_BYTES`], lower in tests.
    max_bytes: usize,
    /// [`MAX_BUNDLE_MSGS`], lower in tests.
    max_msgs: usize,
}

impl Default for Bundles {
    fn default() -> Self {
        Bundles {
            map: BTreeMap::new(),
            max_bytes: MAX_BUNDLE_BYTES,
            max_msgs: MAX_BUNDLE_MSGS,
        }
    }
}

/// `OFPBFC_MSG_TOO_MANY` (ONF experimenter error 2312).
fn msg_too_many() -> OfpError {
    OfpError::vendor(ofp_codec::error::ONF_VENDOR_ID, 2312)
}

fn check_flags(flags: u16) -> Result<(), OfpError> {
    if flags & !(OFPBF_ATOMIC | OFPBF_ORDERED) != 0 {
        return Err(OfpError::OFPBFC_BAD_FLAGS);
    }
    Ok(())
}

impl Bundles {
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// OPEN_REQUEST. Opening an id that exists discards it and fails.
    pub fn open(&mut self, id: u32, flags: u16) -> Result<(), OfpError> {
        check_flags(flags)?;
        if self.map.remove(&id).is_some() {
            return Err(OfpError::OFPBFC_BAD_ID);
        }
        if self.map.len() >= MAX_BUNDLES {
            return Err(OfpError::OFPBFC_OUT_OF_BUNDLES);
        }
        self.map.insert(id, Bundle::new(flags));
        Ok(())
    }

    /// CLOSE_REQUEST.
    pub fn close(&mut self, id: u32, flags: u16) -> Result<(), OfpError> {
        let b = self.map.get_mut(&id).ok_or(OfpError::OFPBFC_BAD_ID)?;
        if b.closed {
            self.map.remove(&id);
            return Err(OfpError::OFPBFC_BUNDLE_CLOSED);
        }
        if b.flags != flags {
            self.map.remove(&id);
            return Err(OfpError::OFPBFC_BAD_FLAGS);
        }
        b.closed = true;
        Ok(())
    }

    /// DISCARD_REQUEST.
    pub fn discard(&mut self, id: u32) -> Result<(), OfpError> {
        self.map
            .remove(&id)
            .map(|_| ())
            .ok_or(OfpError::OFPBFC_BAD_ID)
    }

    /// ADD_MESSAGE with an already validated item, never staged (the
    /// tests' shorthand for [`Bundles::add_staged`]).
    #[cfg(test)]
    pub fn add(
        &mut self,
        id: u32,
        flags: u16,
        item: BundleItem,
        raw: &[u8],
    ) -> Result<(), OfpError> {
        self.add_staged(id, flags, item, raw, |_, item| Some(item))
    }

    /// ADD_MESSAGE with an already validated item. Adding to an id that does
    /// not exist opens it implicitly (OVS). Once the add is accepted the
    /// item is offered to `stage` (the bridge's
    /// [`super::bridge::Bridge::bundle_stage`]), which takes it or hands
    /// it back to be kept.
    pub fn add_staged(
        &mut self,
        id: u32,
        flags: u16,
        item: BundleItem,
        raw: &[u8],
        stage: impl FnOnce(&mut Option<StagedState>, BundleItem) -> Option<BundleItem>,
    ) -> Result<(), OfpError> {
        check_flags(flags)?;
        if !self.map.contains_key(&id) && self.map.len() >= MAX_BUNDLES {
            return Err(OfpError::OFPBFC_OUT_OF_BUNDLES);
        }
        let held: usize = self.map.values().map(|b| b.raws.total_len()).sum();
        let b = self.map.entry(id).or_insert_with(|| Bundle::new(flags));
        if b.closed {
            self.map.remove(&id);
            return Err(OfpError::OFPBFC_BUNDLE_CLOSED);
        }
        if b.flags != flags {
            self.map.remove(&id);
            return Err(OfpError::OFPBFC_BAD_FLAGS);
        }
        if b.raws.len() >= self.max_msgs || held.saturating_add(raw.len()) > self.max_bytes {
            self.map.remove(&id);
            return Err(msg_too_many());
        }
        b.raws.push(raw);
        if b.stage_off {
            b.items.push(item);
            return Ok(());
        }
        match stage(&mut b.staged, item) {
            None => b.n_staged += 1,
            Some(item) => {
                // The bridge kept this one: staging the rest would be
                // wasted, since the commit then decodes all items again.
                b.items.push(item);
                b.staged = None;
                b.stage_off = true;
            }
        }
        Ok(())
    }

    /// COMMIT_REQUEST: removes the bundle (it is gone whatever the outcome)
    /// and returns its items and their raw messages, or the error to send.
    pub fn take_for_commit(
        &mut self,
        id: u32,
        flags: u16,
    ) -> Result<(CommitInput, BundleRaws), OfpError> {
        let b = self.map.remove(&id).ok_or(OfpError::OFPBFC_BAD_ID)?;
        if b.flags != flags {
            return Err(OfpError::OFPBFC_BAD_FLAGS);
        }
        let input = match b.staged {
            _ if b.n_staged == 0 => CommitInput::Items(b.items),
            Some(st) if b.items.is_empty() => CommitInput::Staged(st),
            _ => CommitInput::Redecode,
        };
        Ok((input, b.raws))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ofp_codec::msg::FlowMod;

    fn item() -> BundleItem {
        BundleItem::FlowMod(FlowMod::default())
    }

    #[test]
    fn reopening_an_open_bundle_discards_it_and_fails() {
        let mut b = Bundles::default();
        b.open(1, OFPBF_ATOMIC).unwrap();
        assert_eq!(b.open(1, OFPBF_ATOMIC), Err(OfpError::OFPBFC_BAD_ID));
        assert!(b.is_empty());
    }

    #[test]
    fn add_with_other_flags_discards_the_bundle() {
        let mut b = Bundles::default();
        b.add(7, OFPBF_ATOMIC, item(), &[]).unwrap();
        assert_eq!(b.add(7, 0, item(), &[]), Err(OfpError::OFPBFC_BAD_FLAGS));
        assert!(matches!(
            b.take_for_commit(7, OFPBF_ATOMIC),
            Err(OfpError::OFPBFC_BAD_ID)
        ));
    }

    #[test]
    fn closed_bundle_refuses_adds_and_commit_takes_items_once() {
        let mut b = Bundles::default();
        b.open(2, OFPBF_ORDERED).unwrap();
        b.add(2, OFPBF_ORDERED, item(), &[1, 2]).unwrap();
        b.close(2, OFPBF_ORDERED).unwrap();
        assert_eq!(
            b.add(2, OFPBF_ORDERED, item(), &[]),
            Err(OfpError::OFPBFC_BUNDLE_CLOSED)
        );
        b.open(3, 0).unwrap();
        b.add(3, 0, item(), &[9]).unwrap();
        b.add(3, 0, item(), &[]).unwrap();
        b.add(3, 0, item(), &[7, 8]).unwrap();
        let (items, raws) = b.take_for_commit(3, 0).unwrap();
        assert!(matches!(items, CommitInput::Items(v) if v.len() == 3));
        assert_eq!(raws.get(0), Some(&[9u8][..]));
        assert_eq!(raws.get(1), Some(&[][..]));
        assert_eq!(raws.get(2), Some(&[7u8, 8][..]));
        assert_eq!(raws.get(3), None);
        assert!(matches!(
            b.take_for_commit(3, 0),
            Err(OfpError::OFPBFC_BAD_ID)
        ));
        assert_eq!(b.discard(3), Err(OfpError::OFPBFC_BAD_ID));
    }

    #[test]
    fn the_bytes_held_by_a_connections_bundles_are_capped() {
        let mut b = Bundles {
            max_bytes: 100,
            ..Bundles::default()
        };
        b.add(1, 0, item(), &[0; 60]).unwrap();
        b.add(2, 0, item(), &[0; 40]).unwrap();
        // Over the cap across bundles: bundle 2 is discarded, 1 stays.
        assert_eq!(b.add(2, 0, item(), &[0; 1]), Err(msg_too_many()));
        assert_eq!(b.len(), 1);
        b.add(3, 0, item(), &[0; 40]).unwrap();
        assert_eq!(b.add(1, 0, item(), &[0; 1]), Err(msg_too_many()));
        // Bundles gone (discarded, committed) no longer count.
        b.add(4, 0, item(), &[0; 60]).unwrap();
        assert!(matches!(
            b.take_for_commit(4, 0),
            Ok((CommitInput::Items(v), _)) if v.len() == 1
        ));
        b.discard(3).unwrap();
        b.add(5, 0, item(), &[0; 100]).unwrap();
    }

    /// A stage function that takes flow-mods (counting them in its state)
    /// and hands anything else back.
    fn stage(st: &mut Option<StagedState>, it: BundleItem) -> Option<BundleItem> {
        match it {
            BundleItem::FlowMod(_) => {
                let n = st.get_or_insert_with(|| Box::new(0usize));
                *n.downcast_mut::<usize>().unwrap() += 1;
                None
            }
            other => Some(other),
        }
    }

    fn other_item() -> BundleItem {
        BundleItem::PortMod(ofp_codec::msg::port_mod::PortMod::default())
    }

    #[test]
    fn a_bundle_whose_items_were_all_staged_commits_the_staged_state() {
        let mut b = Bundles::default();
        for raw in [[1u8], [2], [3]] {
            b.add_staged(1, 0, item(), &raw, stage).unwrap();
        }
        let (input, raws) = b.take_for_commit(1, 0).unwrap();
        let CommitInput::Staged(st) = input else {
            panic!("not staged")
        };
        assert_eq!(st.downcast_ref::<usize>(), Some(&3));
        assert_eq!(raws.get(2), Some(&[3u8][..]));
    }

    #[test]
    fn an_item_handed_back_after_staged_ones_makes_the_commit_decode_all() {
        let mut b = Bundles::default();
        b.add_staged(1, 0, item(), &[1], stage).unwrap();
        b.add_staged(1, 0, other_item(), &[2], stage).unwrap();
        // No further item is offered once staging stopped.
        b.add_staged(1, 0, item(), &[3], |_, _| panic!("offered"))
            .unwrap();
        let (input, raws) = b.take_for_commit(1, 0).unwrap();
        assert!(matches!(input, CommitInput::Redecode));
        assert_eq!(raws.get(2), Some(&[3u8][..]));
        // Handed back first: nothing is staged, the items themselves.
        b.add_staged(2, 0, other_item(), &[1], stage).unwrap();
        b.add_staged(2, 0, item(), &[2], |_, _| panic!("offered"))
            .unwrap();
        let (input, _) = b.take_for_commit(2, 0).unwrap();
        assert!(matches!(input, CommitInput::Items(v) if v.len() == 2));
    }

    #[test]
    fn the_message_cap_counts_staged_items_too() {
        let mut b = Bundles {
            max_msgs: 3,
            ..Bundles::default()
        };
        for raw in [[1u8], [2], [3]] {
            b.add_staged(1, 0, item(), &raw, stage).unwrap();
        }
        assert_eq!(b.add_staged(1, 0, item(), &[4], stage), Err(msg_too_many()));
        assert!(b.is_empty(), "the bundle is discarded");
    }

    #[test]
    fn unknown_flag_bits_are_refused() {
        let mut b = Bundles::default();
        assert_eq!(b.open(1, 4), Err(OfpError::OFPBFC_BAD_FLAGS));
    }
}
