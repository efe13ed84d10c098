//! The NORMAL action: a MAC-learning L2 switch with VLANs (OVS's
//! `xlate_normal`, without bonds, mirrors or multicast snooping).
//!
//! Input VLAN: an access port's packets belong to its VLAN and must be
//! untagged (VID 0 tolerated); a trunk port's packets to their tag's VLAN
//! (0 = untagged), which must be one it carries. The source MAC is learned
//! on (VLAN, in_port) unless it is multicast. A known unicast destination
//! goes to its port (dropped if that is the input port); anything else is
//! flooded to every other port carrying the VLAN. Output re-tags per port:
//! untagged on access ports, tagged with the VLAN on trunks (untagged for
//! VLAN 0).

use ofp_codec::Field;

use super::Xlate;
use crate::ofproto::VlanMode;
use crate::trace::NodeKind;

/// The VID and tag-present (CFI) bits of a VLAN TCI.
const VLAN_VID_CFI: u16 = 0x1fff;

fn carries(mode: &VlanMode, vlan: u16) -> bool {
    match mode {
        VlanMode::Access(tag) => *tag == vlan,
        VlanMode::Trunk => true,
        VlanMode::TrunkOf(list) => list.contains(&vlan),
    }
}

impl Xlate<'_> {
    pub(crate) fn normal(&mut self) {
        let in_port = self.pkt.flow.get(Field::InPort) as u32;
        // As OVS's xlate_normal: both MACs and the outer tag's VID and
        // presence bit, not its PCP (`finish` drops the VLAN bits again
        // when the packet arrived untagged, as OVS's xlate_wc_finish).
        self.pkt
            .wc
            .or_field(Field::VlanTci, u128::from(VLAN_VID_CFI));
        self.pkt.wc.unwildcard(Field::EthSrc);
        self.pkt.wc.unwildcard(Field::EthDst);
        let Some(port) = self.of.ports.get(&in_port) else {
            self.report(NodeKind::Warn, "no input bundle, dropping".into());
            return;
        };
        let tci = self.pkt.flow.get(Field::VlanTci) as u16;
        let tag = if tci & 0x1000 != 0 { tci & 0x0fff } else { 0 };
        let vlan = match &port.vlan {
            VlanMode::Access(v) => {
                if tag != 0 {
                    self.report(
                        NodeKind::Warn,
                        format!("dropping VLAN {tag} tagged packet received on port {} configured as VLAN {v} access port", port.name),
                    );
                    return;
                }
                *v
            }
            mode => {
                if !carries(mode, tag) {
                    self.report(
                        NodeKind::Warn,
                        format!("dropping VLAN {tag} packet received on port {} not configured for trunking VLAN {tag}", port.name),
                    );
                    return;
                }
                tag
            }
        };
        self.gratuitous_arp_unwildcard();
        let src = self.pkt.flow.get(Field::EthSrc) as u64;
        let dst = self.pkt.flow.get(Field::EthDst) as u64;
        let now = self.opts.now_ms;
        if src & (1 << 40) == 0 && self.opts.side_effects {
            let mut mac = self.of.mac.lock();
            if mac.learn(src, vlan, in_port, now) {
                drop(mac);
                self.report(
                    NodeKind::Detail,
                    format!(
                        "learned that {} is on port {} in VLAN {vlan}",
                        fmt_mac(src),
                        port.name
                    ),
                );
            }
        }
        let learned = if dst & (1 << 40) == 0 {
            self.of.mac.lock().lookup(dst, vlan, now)
        } else {
            None
        };
        match learned {
            Some(p) if p == in_port => {
                self.report(
                    NodeKind::Detail,
                    "learned port is input port, dropping".into(),
                );
            }
            Some(p) => {
                self.report(NodeKind::Detail, "forwarding to learned port".into());
                self.normal_output(p, vlan);
            }
            None => {
                // Multicast and broadcast too: OVS says "multicast traffic"
                // only under multicast snooping, which rvs does not do.
                self.report(
                    NodeKind::Detail,
                    "no learned MAC for destination, flooding".into(),
                );
                let ports: Vec<u32> = self
                    .of
                    .ports
                    .values()
                    .filter(|p| p.ofp_port != in_port && !p.no_flood && carries(&p.vlan, vlan))
                    .map(|p| p.ofp_port)
                    .collect();
                for p in ports {
                    self.normal_output(p, vlan);
                }
            }
        }
    }

    /// Un-wildcards what OVS's `is_gratuitous_arp` looks at, which its
    /// xlate_normal asks for every admitted packet: for ARP, the
    /// destination MAC; if that is broadcast, the opcode; for a request,
    /// also the sender and target protocol addresses. (OVS uses the answer
    /// only to lock learning against bond reflections; rvs has no bonds,
    /// but the megaflow must depend on the same fields as OVS's.)
    fn gratuitous_arp_unwildcard(&mut self) {
        if self.pkt.flow.get(Field::EthType) != 0x0806 {
            return;
        }
        self.pkt.wc.unwildcard(Field::EthDst);
        if self.pkt.flow.get(Field::EthDst) != 0xffff_ffff_ffff {
            return;
        }
        self.pkt.wc.unwildcard(Field::ArpOp);
        if self.pkt.flow.get(Field::ArpOp) == 1 {
            self.pkt.wc.unwildcard(Field::ArpSpa);
            self.pkt.wc.unwildcard(Field::ArpTpa);
        }
    }

    /// Outputs with the tagging `port` wants, then restores the flow's VLAN.
    fn normal_output(&mut self, port: u32, vlan: u16) {
        let Some(p) = self.of.ports.get(&port) else {
            return;
        };
        let want = match p.vlan {
            VlanMode::Access(_) => 0,
            _ if vlan == 0 => 0,
            _ => 0x1000 | vlan,
        };
        let saved = self.pkt.flow;
        let cur = self.pkt.flow.get(Field::VlanTci) as u16;
        let keep_pcp = if want != 0 && cur & 0x1000 != 0 {
            cur & 0xe000
        } else {
            0
        };
        let mut k = self.pkt.flow.key();
        if want != 0 && k.vlan0_tci() & 0x1000 == 0 {
            k.set_vlan0_tpid(0x8100);
        }
        if want == 0 {
            k.set_vlan0_tpid(0);
        }
        k.set_vlan0_tci(if want == 0 { 0 } else { want | keep_pcp });
        self.set_key(&k);
        self.emit_output(port);
        self.pkt.flow = saved;
    }
}

fn fmt_mac(v: u64) -> String {
    let b = v.to_be_bytes();
    format!(
        "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
        b[2], b[3], b[4], b[5], b[6], b[7]
    )
}
