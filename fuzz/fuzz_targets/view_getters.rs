//! Any bytes, every zero-copy view: `new_checked` never panics; when it
//! accepts, the view's lengths are consistent (`MIN_LEN <= total_len <=
//! buffer`, `tail` is exactly `MIN_LEN..total_len`) and every getter (all
//! of them run through the view's `Debug`) and extra accessor returns
//! without panicking. Views over unchecked buffers must not panic either.
//!
//! `ActionView` and `InstructionView` live in private modules
//! (`action::wire`, `action::instruction`); they are reached through
//! `decode_actions` / `decode_instructions`, which read every action and
//! instruction header through them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ofp_codec::Reader;
use ofp_codec::action::{decode_actions, decode_instructions};
use ofp_codec::flow_match::oxm::{MatchView, OxmView};
use ofp_codec::msg::async_config::{AsyncConfigPropView, AsyncConfigView};
use ofp_codec::msg::bundle::{BundleAddView, BundleCtrlView};
use ofp_codec::msg::config::SwitchConfigView;
use ofp_codec::msg::error_msg::ErrorMsgView;
use ofp_codec::msg::features::SwitchFeaturesView;
use ofp_codec::msg::flow_mod::FlowModView;
use ofp_codec::msg::flow_removed::FlowRemovedView;
use ofp_codec::msg::flow_stats::FlowStatsView;
use ofp_codec::msg::group_mod::{BucketView, GroupModView};
use ofp_codec::msg::header::HeaderView;
use ofp_codec::msg::hello::HelloElemView;
use ofp_codec::msg::meter_mod::{MeterBandView, MeterModView};
use ofp_codec::msg::multipart::MultipartHeaderView;
use ofp_codec::msg::multipart::port_stats::PortStatsView;
use ofp_codec::msg::multipart::table::TableStatsView;
use ofp_codec::msg::packet_out::PacketOutView;
use ofp_codec::msg::port::PortView;
use ofp_codec::msg::port_mod::PortModView;
use ofp_codec::msg::port_status::PortStatusView;
use ofp_codec::msg::role::RoleView;
use ofp_codec::msg::table_mod::TableModView;
use ofp_codec::view::WireView;

/// Checks one view type over `data`; `extra` calls its hand-written accessors.
fn probe<'a, V: WireView<&'a [u8]>>(data: &'a [u8], extra: impl Fn(&V) -> usize) -> usize {
    let mut sink = format!("{:?}", V::new_unchecked(data)).len();
    sink += extra(&V::new_unchecked(data));
    if let Ok(v) = V::new_checked(data) {
        let total = v.total_len();
        assert!(V::MIN_LEN <= total && total <= data.len(), "{v:?}");
        assert_eq!(v.tail().len(), total - V::MIN_LEN, "{v:?}");
        assert_eq!(v.tail(), &data[V::MIN_LEN..total]);
        sink += format!("{v:?}").len() + extra(&v);
    } else if data.len() >= V::MIN_LEN && V::LENGTH_FIELD.is_none() {
        // A fixed-size structure is refused only when the buffer is short.
        panic!("{} refused {data:02x?}", core::any::type_name::<V>());
    }
    sink
}

fn none<V>(_: &V) -> usize {
    0
}

/// Runs [`probe`] on each listed view type, with no extra accessors.
macro_rules! probe_plain {
    ($data:expr; $($view:ident),* $(,)?) => {
        0 $( + probe::<$view<_>>($data, none) )*
    };
}

fuzz_target!(|data: &[u8]| {
    let mut n = probe_plain!(data;
        HeaderView, HelloElemView, ErrorMsgView, SwitchFeaturesView, SwitchConfigView,
        FlowModView, FlowRemovedView, PortModView, GroupModView, BucketView, TableModView,
        MeterModView, MultipartHeaderView, FlowStatsView, PortStatsView, TableStatsView,
        RoleView, AsyncConfigView, AsyncConfigPropView, BundleCtrlView, MatchView,
    );
    n += probe::<PortStatusView<_>>(data, |v| format!("{:?}", v.desc().to_port()).len());
    n += probe::<PortView<_>>(data, |v| v.to_port().name_str().len());
    n += probe::<PacketOutView<_>>(data, |v| {
        // The actions and the frame split the tail exactly.
        assert_eq!(v.actions().len() + v.data().len(), v.tail().len());
        v.actions().len()
    });
    n += probe::<MeterBandView<_>>(data, |v| usize::from(v.prec_level()));
    n += probe::<BundleAddView<_>>(data, |v| v.message().len());
    n += probe::<OxmView<_>>(data, |v| {
        usize::from(v.field()) + usize::from(v.has_mask()) + v.header() as usize
    });
    // Action and instruction headers are read through their views here.
    let _ = decode_actions(&mut Reader::new(data));
    let _ = decode_instructions(&mut Reader::new(data));
    core::hint::black_box(n);
});
