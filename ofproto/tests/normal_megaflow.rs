//! NORMAL's megaflow masks: the fields OVS's xlate_normal un-wildcards (both
//! MACs; the outer tag's VID and presence bit; for ARP, what its
//! is_gratuitous_arp reads), with the VLAN bits of a packet that arrived
//! untagged dropped again as OVS's xlate_wc_finish does, while the
//! datapath flow still matches only untagged packets (by the TPID).

mod common;

use common::*;
use datapath::key::FlowKey;
use ofproto::{Ofproto, Translation, XlateOptions};

fn tagged(desc: &str) -> FlowKey {
    let mut k = key(desc);
    if k.vlan0_tci() & 0x1000 != 0 {
        k.set_vlan0_tpid(0x8100);
    }
    k
}

fn translate(of: &Ofproto, k: &FlowKey) -> Translation {
    of.translate(
        k,
        XlateOptions {
            now_ms: 0,
            side_effects: false,
            trace: false,
        },
    )
}

fn normal_bridge() -> Ofproto {
    let mut of = bridge(3);
    load(&mut of, "actions=NORMAL");
    of
}

#[test]
fn untagged_megaflow_matches_only_untagged_packets() {
    let of = normal_bridge();
    let untagged = key("in_port=1,arp,dl_src=00:00:00:00:00:01,dl_dst=00:00:00:00:00:02");
    let t = translate(&of, &untagged);
    assert_eq!(t.mask.vlan0_tci(), 0, "no VLAN bits, as OVS's megaflow");
    assert_eq!(t.mask.vlan0_tpid(), 0xffff, "but the absence is matched");
    assert_eq!(t.mask.eth_src_u48(), 0xffff_ffff_ffff);
    assert_eq!(t.mask.eth_dst_u48(), 0xffff_ffff_ffff);
    // Not broadcast: is_gratuitous_arp stops at dl_dst.
    assert_eq!(t.mask.nw_proto(), 0);
    assert_eq!((t.mask.nw_src(), t.mask.nw_dst()), (0, 0));
    let mut vlan5 = untagged;
    vlan5.set_vlan0_tpid(0x8100);
    vlan5.set_vlan0_tci(0x1005);
    assert!(untagged.matches(&untagged, &t.mask));
    assert!(
        !vlan5.matches(&untagged, &t.mask),
        "a tagged packet must miss the untagged megaflow"
    );
}

#[test]
fn tagged_megaflow_matches_vid_and_presence_not_pcp() {
    let of = normal_bridge();
    let k = tagged("in_port=1,dl_vlan=5,dl_vlan_pcp=3,arp,dl_src=00:00:00:00:00:01");
    let t = translate(&of, &k);
    assert_eq!(t.mask.vlan0_tci(), 0x1fff);
    let mut other_pcp = k;
    other_pcp.set_vlan0_tci(0x1005 | (6 << 13));
    assert!(other_pcp.matches(&k, &t.mask));
    let mut other_vid = k;
    other_vid.set_vlan0_tci(0x1006 | (3 << 13));
    assert!(!other_vid.matches(&k, &t.mask));
}

#[test]
fn broadcast_arp_megaflow_names_what_is_gratuitous_arp_reads() {
    let of = normal_bridge();
    let request =
        key("in_port=1,arp,dl_dst=ff:ff:ff:ff:ff:ff,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.2");
    let t = translate(&of, &request);
    assert_eq!(t.mask.nw_proto(), 0xff, "arp_op");
    assert_eq!((t.mask.nw_src(), t.mask.nw_dst()), (u32::MAX, u32::MAX));
    let reply = key("in_port=1,arp,dl_dst=ff:ff:ff:ff:ff:ff,arp_op=2,arp_spa=10.0.0.1");
    let t = translate(&of, &reply);
    assert_eq!(t.mask.nw_proto(), 0xff, "arp_op");
    assert_eq!(
        (t.mask.nw_src(), t.mask.nw_dst()),
        (0, 0),
        "a reply stops there"
    );
    let ip = key("in_port=1,ip,dl_dst=ff:ff:ff:ff:ff:ff,nw_proto=17");
    let t = translate(&of, &ip);
    assert_eq!(t.mask.nw_proto(), 0, "not ARP: nothing beyond L2");
}
