//! Groups during translation: all, select (hash), indirect, fast-failover.

use ofp_codec::Field;
use ofp_codec::msg::group_mod::GroupType;

use super::{MAX_DEPTH, Xlate, XlateError};
use crate::trace::NodeKind;

/// Fields the default select hash reads (OVS's symmetric L4 hash).
const HASH_FIELDS: [Field; 7] = [
    Field::EthSrc,
    Field::EthDst,
    Field::EthType,
    Field::Ipv4Src,
    Field::Ipv4Dst,
    Field::IpProto,
    Field::TcpSrc,
];

fn mix(h: u64, v: u64) -> u64 {
    (h ^ v).wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(31)
}

impl Xlate<'_> {
    pub(crate) fn group(&mut self, group_id: u32) {
        let Some(group) = self.of.groups.get(&group_id) else {
            self.report(
                NodeKind::Warn,
                format!("output to nonexistent group {group_id}"),
            );
            return;
        };
        if self.pipe.depth >= MAX_DEPTH {
            self.out.error = Some(XlateError::RecursionTooDeep);
            return;
        }
        self.pipe.depth += 1;
        match group.group_type {
            GroupType::ALL => {
                for i in 0..group.buckets.len() {
                    self.bucket(group_id, i);
                }
            }
            GroupType::INDIRECT => self.bucket(group_id, 0),
            GroupType::SELECT => {
                if let Some(i) = self.select_bucket(group_id) {
                    self.report(NodeKind::Detail, format!("using bucket {i}"));
                    self.bucket(group_id, i);
                }
            }
            GroupType::FF => {
                let live = group
                    .buckets
                    .iter()
                    .position(|b| self.watch_live(b.watch_port, b.watch_group));
                match live {
                    Some(i) => {
                        self.report(NodeKind::Detail, format!("using bucket {i}"));
                        self.bucket(group_id, i);
                    }
                    None => self.report(NodeKind::Detail, "no live bucket".into()),
                }
            }
            _ => {}
        }
        self.pipe.depth -= 1;
    }

    fn watch_live(&self, port: u32, group: u32) -> bool {
        let port_ok = port != ofp_codec::action::port::OFPP_ANY
            && self.of.ports.get(&port).is_some_and(|p| p.live);
        let group_ok = group != crate::rule::OFPG_ANY && self.of.groups.contains_key(&group);
        port_ok || group_ok
    }

    /// Highest weighted score wins, from a hash of the flow's addresses.
    fn select_bucket(&mut self, group_id: u32) -> Option<usize> {
        let group = self.of.groups.get(&group_id)?;
        let mut h = 0u64;
        let (mut a, mut b) = (0u128, 0u128);
        for f in HASH_FIELDS {
            self.pkt.wc.unwildcard(f);
        }
        self.pkt.wc.unwildcard(Field::TcpDst);
        let k = &self.pkt.flow;
        // Symmetric: sort each src/dst pair so both directions pick alike.
        for (s, d) in [
            (Field::EthSrc, Field::EthDst),
            (Field::Ipv4Src, Field::Ipv4Dst),
            (Field::TcpSrc, Field::TcpDst),
        ] {
            let (x, y) = (k.get(s), k.get(d));
            a ^= x.min(y);
            b ^= x.max(y);
            h = mix(mix(h, x.min(y) as u64), x.max(y) as u64);
        }
        h = mix(
            mix(h, k.get(Field::EthType) as u64),
            k.get(Field::IpProto) as u64,
        );
        let _ = (a, b);
        group
            .buckets
            .iter()
            .enumerate()
            .filter(|(_, bk)| bk.weight > 0)
            .max_by_key(|(i, bk)| ((mix(h, *i as u64) >> 48) & 0xffff) * u64::from(bk.weight))
            .map(|(i, _)| i)
    }

    fn bucket(&mut self, group_id: u32, i: usize) {
        let Some(bucket) = self.of.groups.get(&group_id).and_then(|g| g.buckets.get(i)) else {
            return;
        };
        let acts = bucket.actions.clone();
        self.out.buckets.push((group_id, i));
        self.node_open(NodeKind::Bucket, format!("bucket {i}"));
        // Each bucket acts on its own copy of the packet (OVS clones). The
        // pipeline's action set is not restored: a bucket's resubmit into a
        // table with write_actions adds to it, as in OVS's
        // xlate_group_bucket (review finding L4).
        let saved_flow = self.pkt.flow;
        // A bucket runs as an action set, as OVS's xlate_group_bucket:
        // stack actions, controller(), learn, ... in it are ignored and
        // only its last output (or group) is taken.
        self.execute_action_set(&acts);
        // A pause inside ends at the bucket, as in OVS (`pause.rs`), and so
        // does an `exit` reached through the bucket's resubmit: the other
        // buckets, the actions after the group and the action set still
        // run, as OVS's xlate_group_bucket clears its exit flag.
        self.pause_boundary();
        self.pipe.exit = false;
        self.pkt.flow = saved_flow;
        self.node_close();
    }
}
