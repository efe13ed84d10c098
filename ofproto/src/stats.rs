//! Flow, aggregate and table statistics (OFPMP_FLOW, _AGGREGATE, _TABLE).

use std::sync::atomic::Ordering;

use ofp_codec::msg::flow_stats::{AggregateStats, FlowStats, FlowStatsRequest};
use ofp_codec::msg::multipart::table::TableStats;

use crate::ofproto::Ofproto;
use crate::rule::{Rule, loose_match};

impl Ofproto {
    fn stats_rules<'a>(&'a self, req: &'a FlowStatsRequest) -> impl Iterator<Item = &'a Rule> + 'a {
        self.table_ids(req.table_id).flat_map(move |t| {
            self.tables[t].rules.values().filter(move |r| {
                loose_match(&r.match_, &req.match_)
                    && (r.cookie ^ req.cookie) & req.cookie_mask == 0
                    && r.has_out_port(req.out_port)
                    && r.has_out_group(req.out_group)
            })
        })
    }

    /// OFPMP_FLOW: matching rules in (table, priority desc, match) order.
    pub fn flow_stats(&self, req: &FlowStatsRequest, now_ms: u64) -> Vec<FlowStats> {
        let mut rules: Vec<&Rule> = self.stats_rules(req).collect();
        rules.sort_by(|a, b| {
            (a.table_id, std::cmp::Reverse(a.priority), a.id).cmp(&(
                b.table_id,
                std::cmp::Reverse(b.priority),
                b.id,
            ))
        });
        rules
            .into_iter()
            .map(|r| {
                let age = now_ms.saturating_sub(r.created_ms);
                FlowStats {
                    table_id: r.table_id,
                    duration_sec: (age / 1000) as u32,
                    duration_nsec: ((age % 1000) * 1_000_000) as u32,
                    priority: r.priority,
                    idle_timeout: r.idle_timeout,
                    hard_timeout: r.hard_timeout,
                    flags: r.flags,
                    cookie: r.cookie,
                    packet_count: r.counters.packets(),
                    byte_count: r.counters.bytes(),
                    match_: r.match_.clone(),
                    instructions: r.instructions.to_vec(),
                }
            })
            .collect()
    }

    /// OFPMP_AGGREGATE over the same selection as [`Ofproto::flow_stats`].
    pub fn aggregate_stats(&self, req: &FlowStatsRequest) -> AggregateStats {
        let mut a = AggregateStats {
            packet_count: 0,
            byte_count: 0,
            flow_count: 0,
        };
        for r in self.stats_rules(req) {
            a.packet_count += r.counters.packets();
            a.byte_count += r.counters.bytes();
            a.flow_count += 1;
        }
        a
    }

    /// OFPMP_TABLE: one entry per table.
    pub fn table_stats(&self) -> Vec<TableStats> {
        self.tables
            .iter()
            .enumerate()
            .map(|(i, t)| TableStats {
                table_id: i as u8,
                active_count: t.len() as u32,
                lookup_count: t.lookup_count.load(Ordering::Relaxed),
                matched_count: t.matched_count.load(Ordering::Relaxed),
            })
            .collect()
    }
}
