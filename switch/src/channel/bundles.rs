//! Per-connection bundle storage (ONF bundle extension, as OVS implements
//! it for OpenFlow 1.3): open, add, close, commit, discard.
//!
//! A bundle lives on the connection that opened it and dies with it. Every
//! failure on a bundle other than "no such bundle" also discards it, as in
//! OVS (`ofp_bundle_remove__`).

use std::collections::BTreeMap;

use ofp_codec::OfpError;
use ofp_codec::msg::bundle::{OFPBF_ATOMIC, OFPBF_ORDERED};

use super::bridge::BundleItem;

/// Most bundles one connection may hold open.
pub const MAX_BUNDLES: usize = 64;
/// Most messages one bundle may hold. OVS has no cap; rvs keeps one so a
/// controller cannot grow memory without bound, set high enough that
/// million-flow `ovs-ofctl --bundle add-flows` loads commit (2^22 messages).
pub const MAX_BUNDLE_MSGS: usize = 1 << 22;

#[derive(Debug)]
struct Bundle {
    flags: u16,
    closed: bool,
    /// Each item with the raw BUNDLE_ADD message that carried it (error
    /// replies on commit refer to that message).
    items: Vec<(BundleItem, Vec<u8>)>,
}

/// The bundles of one connection.
#[derive(Debug, Default)]
pub struct Bundles {
    map: BTreeMap<u32, Bundle>,
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
        self.map.insert(
            id,
            Bundle {
                flags,
                closed: false,
                items: Vec::new(),
            },
        );
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

    /// ADD_MESSAGE with an already validated item. Adding to an id that does
    /// not exist opens it implicitly (OVS).
    pub fn add(
        &mut self,
        id: u32,
        flags: u16,
        item: BundleItem,
        raw: &[u8],
    ) -> Result<(), OfpError> {
        check_flags(flags)?;
        if !self.map.contains_key(&id) && self.map.len() >= MAX_BUNDLES {
            return Err(OfpError::OFPBFC_OUT_OF_BUNDLES);
        }
        let b = self.map.entry(id).or_insert(Bundle {
            flags,
            closed: false,
            items: Vec::new(),
        });
        if b.closed {
            self.map.remove(&id);
            return Err(OfpError::OFPBFC_BUNDLE_CLOSED);
        }
        if b.flags != flags {
            self.map.remove(&id);
            return Err(OfpError::OFPBFC_BAD_FLAGS);
        }
        if b.items.len() >= MAX_BUNDLE_MSGS {
            self.map.remove(&id);
            return Err(OfpError::vendor(ofp_codec::error::ONF_VENDOR_ID, 2312)); // OFPBFC_MSG_TOO_MANY
        }
        b.items.push((item, raw.to_vec()));
        Ok(())
    }

    /// COMMIT_REQUEST: removes the bundle (it is gone whatever the outcome)
    /// and returns its flags and items, or the error to send.
    pub fn take_for_commit(
        &mut self,
        id: u32,
        flags: u16,
    ) -> Result<Vec<(BundleItem, Vec<u8>)>, OfpError> {
        let b = self.map.remove(&id).ok_or(OfpError::OFPBFC_BAD_ID)?;
        if b.flags != flags {
            return Err(OfpError::OFPBFC_BAD_FLAGS);
        }
        Ok(b.items)
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
        assert_eq!(
            b.take_for_commit(7, OFPBF_ATOMIC),
            Err(OfpError::OFPBFC_BAD_ID)
        );
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
        let items = b.take_for_commit(3, 0).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].1, vec![9]);
        assert_eq!(b.take_for_commit(3, 0), Err(OfpError::OFPBFC_BAD_ID));
        assert_eq!(b.discard(3), Err(OfpError::OFPBFC_BAD_ID));
    }

    #[test]
    fn unknown_flag_bits_are_refused() {
        let mut b = Bundles::default();
        assert_eq!(b.open(1, 4), Err(OfpError::OFPBFC_BAD_FLAGS));
    }
}
