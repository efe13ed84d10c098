//! Committing header changes as datapath actions (OVS's `commit_odp_actions`).
//!
//! Set-field actions only change the flow; before anything that sends the
//! packet somewhere (output, ct, recirc, userspace) the differences between
//! the flow and what the packet already carries (`base`) become masked
//! `set(...)` actions, and VLAN changes become `pop_vlan`/`push_vlan`, in
//! OVS's order: Ethernet, IP (and ND or ARP), L4 ports, ICMP, then VLAN.

use datapath::{DpAction, SetAction};

use ofp_codec::Field;

use super::Xlate;
use crate::flow::KeyExt;

fn m48(a: u64, b: u64) -> [u8; 6] {
    if a != b { [0xff; 6] } else { [0; 6] }
}

/// The value where it is written, zero elsewhere, so that equal rewrites
/// compare equal whatever the untouched bits were.
fn v48(a: u64, b: u64) -> [u8; 6] {
    if a != b {
        datapath::key::u48_to_mac(a)
    } else {
        [0; 6]
    }
}

impl Xlate<'_> {
    pub(crate) fn commit(&mut self) {
        let f = self.pkt.flow.key();
        let b = self.pkt.base;
        if f.eth_src_u48() != b.eth_src_u48() || f.eth_dst_u48() != b.eth_dst_u48() {
            self.emit(DpAction::Set(SetAction::Eth {
                src: v48(f.eth_src_u48(), b.eth_src_u48()),
                src_mask: m48(f.eth_src_u48(), b.eth_src_u48()),
                dst: v48(f.eth_dst_u48(), b.eth_dst_u48()),
                dst_mask: m48(f.eth_dst_u48(), b.eth_dst_u48()),
            }));
        }
        let full32 = |x: u32, y: u32| if x != y { u32::MAX } else { 0 };
        // As OVS's commit_set_ipv4_action / commit_set_ipv6_action: a field
        // that changed is written under its wildcard mask (what the flow
        // matched or set: the whole DSCP for mod_nw_tos), a field that did not
        // change is not written. The changed bits are always included.
        let wc = self.pkt.wc;
        let mask_of = |field: Field, changed: u128| {
            if changed == 0 {
                0
            } else {
                wc.get(field) | changed
            }
        };
        let tos_wc = (wc.get(Field::IpDscp) << 2) | wc.get(Field::IpEcn);
        let tos_mask = if f.nw_tos() != b.nw_tos() {
            (tos_wc as u8) | (f.nw_tos() ^ b.nw_tos())
        } else {
            0
        };
        let ttl_mask = mask_of(Field::NwTtl, u128::from(f.nw_ttl() ^ b.nw_ttl())) as u8;
        let v4_diff = f.eth_type() == 0x0800
            && (f.nw_src(), f.nw_dst(), f.nw_tos(), f.nw_ttl())
                != (b.nw_src(), b.nw_dst(), b.nw_tos(), b.nw_ttl());
        let v6_diff = f.eth_type() == 0x86dd
            && (
                f.ipv6_src(),
                f.ipv6_dst(),
                f.nw_tos(),
                f.ipv6_label(),
                f.nw_ttl(),
            ) != (
                b.ipv6_src(),
                b.ipv6_dst(),
                b.nw_tos(),
                b.ipv6_label(),
                b.nw_ttl(),
            );
        if v4_diff || v6_diff {
            // As OVS: an IP header rewrite depends on the packet really
            // having an L3 header (nw_proto != 0); nw_proto 0 rewrites nothing.
            self.pkt.wc.unwildcard(Field::IpProto);
        }
        let l3 = f.nw_proto() != 0;
        if l3 && v4_diff {
            let src_mask = mask_of(Field::Ipv4Src, u128::from(f.nw_src() ^ b.nw_src())) as u32;
            let dst_mask = mask_of(Field::Ipv4Dst, u128::from(f.nw_dst() ^ b.nw_dst())) as u32;
            self.emit(DpAction::Set(SetAction::Ipv4 {
                src: f.nw_src() & src_mask,
                src_mask,
                dst: f.nw_dst() & dst_mask,
                dst_mask,
                tos: f.nw_tos() & tos_mask,
                tos_mask,
                ttl: f.nw_ttl() & ttl_mask,
                ttl_mask,
            }));
        }
        if l3 && v6_diff {
            let src_mask = mask_of(Field::Ipv6Src, f.ipv6_src() ^ b.ipv6_src());
            let dst_mask = mask_of(Field::Ipv6Dst, f.ipv6_dst() ^ b.ipv6_dst());
            let label_mask = mask_of(
                Field::Ipv6Label,
                u128::from((f.ipv6_label() ^ b.ipv6_label()) & 0x000f_ffff),
            ) as u32
                & 0x000f_ffff;
            self.emit(DpAction::Set(SetAction::Ipv6 {
                src: f.ipv6_src() & src_mask,
                src_mask,
                dst: f.ipv6_dst() & dst_mask,
                dst_mask,
                tclass: f.nw_tos() & tos_mask,
                tclass_mask: tos_mask,
                label: f.ipv6_label() & label_mask,
                label_mask,
                hlimit: f.nw_ttl() & ttl_mask,
                hlimit_mask: ttl_mask,
            }));
        }
        // Neighbour discovery, committed for any ICMPv6 packet as OVS does
        // (the fields can only have changed on an NS/NA).
        if l3
            && f.eth_type() == 0x86dd
            && f.nw_proto() == 58
            && (f.nd_target(), f.arp_sha_u48(), f.arp_tha_u48())
                != (b.nd_target(), b.arp_sha_u48(), b.arp_tha_u48())
        {
            let target_mask = mask_of(Field::NdTarget, f.nd_target() ^ b.nd_target());
            let sll_mask =
                mask_of(Field::NdSll, u128::from(f.arp_sha_u48() ^ b.arp_sha_u48())) as u64;
            let tll_mask =
                mask_of(Field::NdTll, u128::from(f.arp_tha_u48() ^ b.arp_tha_u48())) as u64;
            let mac = datapath::key::u48_to_mac;
            self.emit(DpAction::Set(SetAction::Nd {
                target: f.nd_target() & target_mask,
                target_mask,
                sll: mac(f.arp_sha_u48() & sll_mask),
                sll_mask: mac(sll_mask),
                tll: mac(f.arp_tha_u48() & tll_mask),
                tll_mask: mac(tll_mask),
            }));
        }
        let arp = f.eth_type() == 0x0806 || f.eth_type() == 0x8035;
        if arp
            && (
                f.nw_proto(),
                f.nw_src(),
                f.nw_dst(),
                f.arp_sha_u48(),
                f.arp_tha_u48(),
            ) != (
                b.nw_proto(),
                b.nw_src(),
                b.nw_dst(),
                b.arp_sha_u48(),
                b.arp_tha_u48(),
            )
        {
            let op_mask = if f.nw_proto() != b.nw_proto() {
                0xffff
            } else {
                0
            };
            self.emit(DpAction::Set(SetAction::Arp {
                op: u16::from(f.nw_proto()) & op_mask,
                op_mask,
                sip: f.nw_src() & full32(f.nw_src(), b.nw_src()),
                sip_mask: full32(f.nw_src(), b.nw_src()),
                tip: f.nw_dst() & full32(f.nw_dst(), b.nw_dst()),
                tip_mask: full32(f.nw_dst(), b.nw_dst()),
                sha: v48(f.arp_sha_u48(), b.arp_sha_u48()),
                sha_mask: m48(f.arp_sha_u48(), b.arp_sha_u48()),
                tha: v48(f.arp_tha_u48(), b.arp_tha_u48()),
                tha_mask: m48(f.arp_tha_u48(), b.arp_tha_u48()),
            }));
        }
        let l4 = f.is_ip_any() && matches!(f.nw_proto(), 6 | 17 | 132);
        if l4 && (f.tp_src(), f.tp_dst()) != (b.tp_src(), b.tp_dst()) {
            // Under the wildcard mask too, as OVS's commit_set_port_action: a
            // load into part of a port writes that part only (the megaflow
            // matches only that part of the port).
            let (sf, df) = match f.nw_proto() {
                6 => (Field::TcpSrc, Field::TcpDst),
                17 => (Field::UdpSrc, Field::UdpDst),
                _ => (Field::SctpSrc, Field::SctpDst),
            };
            let src_mask = mask_of(sf, u128::from(f.tp_src() ^ b.tp_src())) as u16;
            let dst_mask = mask_of(df, u128::from(f.tp_dst() ^ b.tp_dst())) as u16;
            self.emit(DpAction::Set(SetAction::L4 {
                proto: f.nw_proto(),
                src: f.tp_src() & src_mask,
                src_mask,
                dst: f.tp_dst() & dst_mask,
                dst_mask,
            }));
        }
        // ICMP type and code (tp_src / tp_dst), an unmasked set as in OVS.
        let icmp = (f.eth_type() == 0x0800 && f.nw_proto() == 1)
            || (f.eth_type() == 0x86dd && f.nw_proto() == 58);
        if icmp && (f.tp_src(), f.tp_dst()) != (b.tp_src(), b.tp_dst()) {
            // The set writes type and code whole, so the megaflow must match
            // both (OVS: put_icmp_key into the wildcards).
            let (tf, cf) = if f.eth_type() == 0x86dd {
                (Field::Icmpv6Type, Field::Icmpv6Code)
            } else {
                (Field::Icmpv4Type, Field::Icmpv4Code)
            };
            self.pkt.wc.unwildcard(tf);
            self.pkt.wc.unwildcard(cf);
            self.emit(DpAction::Set(SetAction::Icmp {
                v6: f.eth_type() == 0x86dd,
                icmp_type: f.tp_src() as u8,
                code: f.tp_dst() as u8,
            }));
        }
        // As OVS's commit_odp_actions: VLAN changes come after the L2-L4 sets.
        // As its commit_vlan_action: the tags both have in common, counted
        // from the innermost, stay; the packet's tags outside them are popped
        // and the flow's pushed (innermost first). So a push onto a tagged
        // packet only pushes, and a pop of a double-tagged one only pops.
        let tags = |k: &datapath::key::FlowKey| {
            let norm = |tpid: u16| if tpid == 0 { 0x8100 } else { tpid };
            let t = [
                (norm(k.vlan0_tpid()), k.vlan0_tci()),
                (norm(k.vlan1_tpid()), k.vlan1_tci()),
            ];
            let n = t.iter().take_while(|(_, tci)| tci & 0x1000 != 0).count();
            (t, n)
        };
        let ((ft, mut fnum), (bt, mut bnum)) = (tags(&f), tags(&b));
        while fnum > 0 && bnum > 0 && ft[fnum - 1] == bt[bnum - 1] {
            fnum -= 1;
            bnum -= 1;
        }
        for _ in 0..bnum {
            self.emit(DpAction::PopVlan);
        }
        for &(tpid, tci) in ft[..fnum].iter().rev() {
            self.emit(DpAction::PushVlan {
                tpid,
                tci: tci & !0x1000,
            });
        }
        self.pkt.base = f;
    }
}
