//! Splitting a long multipart reply across messages.
//!
//! An OpenFlow message is at most 65535 bytes. A reply with more entries is
//! sent as several messages, all but the last flagged `OFPMPF_REPLY_MORE`,
//! each holding whole entries (OVS does the same in `ofpmp_postappend`).

use super::{MultipartReply, MultipartReplyBody as B, OFPMPF_MORE};
use crate::msg::WireBody;
use crate::msg::header::MULTIPART_HEADER_LEN;

/// Largest body that fits one message.
pub const MAX_REPLY_BODY: usize = 0xffff - MULTIPART_HEADER_LEN;

fn chunks<T: WireBody + Clone>(v: Vec<T>, max_body: usize, wrap: fn(Vec<T>) -> B) -> Vec<B> {
    let mut out = Vec::new();
    let mut cur: Vec<T> = Vec::new();
    let mut cur_len = 0;
    for e in v {
        let n = e.encoded_len();
        if !cur.is_empty() && cur_len + n > max_body {
            out.push(wrap(std::mem::take(&mut cur)));
            cur_len = 0;
        }
        cur_len += n;
        cur.push(e);
    }
    out.push(wrap(cur));
    out
}

impl MultipartReply {
    /// Splits `body` into replies whose bodies are at most `max_body` bytes
    /// (use [`MAX_REPLY_BODY`]); every reply but the last has
    /// `OFPMPF_REPLY_MORE`. Single-object bodies (desc, aggregate, features)
    /// are returned whole. An entry larger than `max_body` gets a message of
    /// its own. Always returns at least one reply.
    pub fn split(body: B, max_body: usize) -> Vec<MultipartReply> {
        let bodies = match body {
            B::Flow(v) => chunks(v, max_body, B::Flow),
            B::Table(v) => chunks(v, max_body, B::Table),
            B::PortStats(v) => chunks(v, max_body, B::PortStats),
            B::Queue(v) => chunks(v, max_body, B::Queue),
            B::Group(v) => chunks(v, max_body, B::Group),
            B::GroupDesc(v) => chunks(v, max_body, B::GroupDesc),
            B::Meter(v) => chunks(v, max_body, B::Meter),
            B::MeterConfig(v) => chunks(v, max_body, B::MeterConfig),
            B::TableFeatures(v) => chunks(v, max_body, B::TableFeatures),
            B::PortDesc(v) => chunks(v, max_body, B::PortDesc),
            other => vec![other],
        };
        let n = bodies.len();
        bodies
            .into_iter()
            .enumerate()
            .map(|(i, body)| MultipartReply {
                flags: if i + 1 < n { OFPMPF_MORE } else { 0 },
                body,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::msg::multipart::TableStats;

    #[test]
    fn long_replies_split_on_entry_boundaries_with_more_flags() {
        let tables: Vec<TableStats> = (0..=254)
            .map(|t| TableStats {
                table_id: t,
                ..Default::default()
            })
            .collect();
        let parts = MultipartReply::split(B::Table(tables.clone()), 24 * 100);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts.iter().map(|p| p.flags).collect::<Vec<_>>(), [1, 1, 0]);
        let back: Vec<TableStats> = parts
            .into_iter()
            .flat_map(|p| match p.body {
                B::Table(v) => v,
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(back, tables);
        let one = MultipartReply::split(B::Table(vec![]), MAX_REPLY_BODY);
        assert_eq!(one.len(), 1);
        assert_eq!(one[0].flags, 0);
    }
}
