//! What the controller channel needs from a bridge.
//!
//! The channel decodes messages, enforces roles, bundles and async filters,
//! and calls a [`Bridge`] for everything that touches tables, ports or
//! packets. The bridge is sans-IO: every call takes `now_ms` and returns data.
//! Events the bridge produces on its own (packet-ins from the datapath,
//! flow expiry, port changes) are published to the connections through the
//! channel's hub, not returned here.

use ofp_codec::OfpError;
use ofp_codec::flow_match::Match;
use ofp_codec::msg::{
    FlowMod, FlowRemoved, GroupMod, MeterMod, MultipartReplyBody, MultipartRequestBody,
    PacketInReason, PacketOut, PortMod, PortStatus, SwitchFeatures, TableMod,
};

/// One message inside a bundle, decoded when it was added.
#[derive(Clone, Debug, PartialEq)]
pub enum BundleItem {
    FlowMod(FlowMod),
    GroupMod(GroupMod),
    PortMod(PortMod),
    PacketOut(PacketOut),
}

/// A packet the pipeline sends to the controllers.
#[derive(Clone, Debug, PartialEq)]
pub struct PacketInEvent {
    pub reason: PacketInReason,
    pub table_id: u8,
    pub cookie: u64,
    /// Pipeline metadata (in_port, registers, ct fields) as OVS puts it in
    /// the packet-in match.
    pub match_: Match,
    /// The frame (possibly already cut by the pipeline).
    pub packet: Vec<u8>,
    /// Length of the frame before any cut.
    pub total_len: usize,
    /// `max_len` of the `controller` action; `None` for a table miss, where
    /// each connection's `miss_send_len` applies. 0xffff: the whole frame.
    pub max_len: Option<u16>,
    /// `controller(userdata=...)`: sent in `NXT_PACKET_IN2` only.
    pub userdata: Vec<u8>,
    /// `controller(id=N)`: only connections with that controller id get it
    /// (OVS); rvs's connections all have id 0 (no `NXT_SET_CONTROLLER_ID`).
    pub controller_id: u16,
    /// `controller(pause)`: the raw continuation, sent in `NXT_PACKET_IN2`
    /// only (empty: none).
    pub continuation: Vec<u8>,
}

/// An asynchronous message to fan out to the connections.
#[derive(Clone, Debug, PartialEq)]
pub enum BridgeEvent {
    PacketIn(PacketInEvent),
    FlowRemoved(FlowRemoved),
    PortStatus(PortStatus),
}

/// A bridge's state for a bundle staged ahead of its commit
/// ([`Bridge::bundle_stage`]), held by the channel with the bundle.
pub type StagedState = Box<dyn std::any::Any + Send>;

/// The switch behind a controller channel. Errors are the exact OpenFlow
/// errors to send back; on error the bridge must not have changed.
pub trait Bridge: Send + 'static {
    /// FEATURES_REPLY contents (`auxiliary_id` is filled by the channel).
    fn features(&self) -> SwitchFeatures;

    fn flow_mod(&mut self, fm: &FlowMod, now_ms: u64) -> Result<(), OfpError>;

    /// [`Bridge::flow_mod`] with the message handed over (a bridge may keep
    /// its match and instructions without copying them).
    fn flow_mod_owned(&mut self, fm: FlowMod, now_ms: u64) -> Result<(), OfpError> {
        self.flow_mod(&fm, now_ms)
    }

    fn group_mod(&mut self, gm: &GroupMod, now_ms: u64) -> Result<(), OfpError>;

    fn meter_mod(&mut self, mm: &MeterMod, now_ms: u64) -> Result<(), OfpError>;

    fn port_mod(&mut self, pm: &PortMod, now_ms: u64) -> Result<(), OfpError>;

    fn table_mod(&mut self, tm: &TableMod) -> Result<(), OfpError>;

    /// Runs `po`'s actions on its packet (`OFPP_TABLE` resubmits to table 0).
    fn packet_out(&mut self, po: &PacketOut, now_ms: u64) -> Result<(), OfpError>;

    /// `NXT_RESUME`: runs the rest of a paused pipeline on `pin`'s packet
    /// (`NXR_STALE` if this bridge did not make `paused`). Bridges that
    /// cannot resume answer `NXR_NOT_SUPPORTED`, as OVS's.
    fn resume(
        &mut self,
        pin: &ofp_codec::msg::PacketIn2,
        paused: &ofp_codec::msg::resume::Paused,
        now_ms: u64,
    ) -> Result<(), OfpError> {
        let _ = (pin, paused, now_ms);
        Err(ofp_codec::msg::resume::NXR_NOT_SUPPORTED)
    }

    /// Answers a multipart request. The channel splits long bodies across
    /// messages (`OFPMPF_REPLY_MORE`), so a reply may hold any number of
    /// entries.
    fn multipart(
        &mut self,
        req: &MultipartRequestBody,
        now_ms: u64,
    ) -> Result<MultipartReplyBody, OfpError>;

    /// Checks a message when it is added to a bundle (OVS decodes and
    /// validates flow-mods at that point, so `ct()` without IP fails at
    /// add time).
    fn validate_bundle_item(&self, item: &BundleItem) -> Result<(), OfpError>;

    /// Applies `items` in order. With `atomic`, all or nothing: on the first
    /// failure nothing has changed and the failing index is returned. The
    /// items are handed over (a bridge keeps what it needs without copying).
    fn bundle_commit(
        &mut self,
        items: Vec<BundleItem>,
        atomic: bool,
        now_ms: u64,
    ) -> Result<(), (usize, OfpError)>;

    /// Offers the next item of an open bundle (already validated) to be
    /// applied ahead of the commit on the bridge's own copy of its tables,
    /// kept in `staged` (the bridge's, opaque to the channel; `None` before
    /// the bundle's first item). The bridge takes the item (`None`) or
    /// hands it back (`Some`) for the channel to keep until the commit.
    /// Default: never takes it.
    fn bundle_stage(
        &mut self,
        staged: &mut Option<StagedState>,
        item: BundleItem,
        now_ms: u64,
    ) -> Option<BundleItem> {
        let _ = (staged, now_ms);
        Some(item)
    }

    /// Commits a bundle every item of which the bridge took in
    /// [`Bridge::bundle_stage`]. `None`: the bridge could not use its
    /// staged copy (its tables changed meanwhile); nothing happened, and
    /// the channel commits the items (decoded again) with
    /// [`Bridge::bundle_commit`].
    fn bundle_commit_staged(
        &mut self,
        staged: StagedState,
        now_ms: u64,
    ) -> Option<Result<(), (usize, OfpError)>> {
        let _ = (staged, now_ms);
        None
    }

    /// Events produced by the calls above (e.g. FLOW_REMOVED for deleted
    /// flows), drained after each message.
    fn take_events(&mut self) -> Vec<BridgeEvent>;

    /// Makes every change applied so far show in forwarding (a bridge that
    /// revalidates lazily does it now if anything changed). The channel
    /// calls it before a BARRIER reply and after each batch of messages
    /// read from a connection. Default: nothing (changes are immediate).
    fn sync(&mut self, now_ms: u64) {
        let _ = now_ms;
    }

    /// Periodic work (flow expiry); returns events it produced.
    fn run(&mut self, now_ms: u64) -> Vec<BridgeEvent>;

    /// `NXT_CT_FLUSH` / `NXT_CT_FLUSH_ZONE`: flushes the bridge's connection tracker as
    /// OVS's `ct_dpif_flush` (`zone` `None`: every zone, or zone 0 for an exact original
    /// tuple). As OVS, the outcome of the flush itself is not reported. A bridge without a
    /// connection tracker refuses it (the default).
    fn ct_flush(
        &mut self,
        zone: Option<u16>,
        m: &ofp_codec::msg::CtMatch,
        now_ms: u64,
    ) -> Result<(), OfpError> {
        let _ = (zone, m, now_ms);
        Err(OfpError::OFPBRC_BAD_SUBTYPE)
    }
}
