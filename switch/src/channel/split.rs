//! Splitting a multipart reply body across messages of at most 64 KiB.
//!
//! The bridge answers with one body holding every entry; OpenFlow's 16-bit
//! length means the channel must cut list bodies into pieces, each sent with
//! `OFPMPF_REPLY_MORE` except the last.

use ofp_codec::msg::multipart::MultipartReplyBody as B;
use ofp_codec::msg::{HEADER_LEN, WireBody};

/// Largest body (after the 16-byte multipart header) of one reply.
pub const MAX_BODY_LEN: usize = 0xffff - HEADER_LEN - 8;

fn chunks<T: WireBody>(v: Vec<T>, limit: usize) -> Vec<Vec<T>> {
    let mut out = Vec::new();
    let mut cur = Vec::new();
    let mut len = 0;
    for e in v {
        let l = e.encoded_len();
        if !cur.is_empty() && len + l > limit {
            out.push(std::mem::take(&mut cur));
            len = 0;
        }
        len += l;
        cur.push(e);
    }
    out.push(cur);
    out
}

/// Cuts `body` into bodies of at most `limit` bytes each (an entry larger
/// than `limit` stays alone in its piece). Never returns an empty list.
pub fn split_reply(body: B, limit: usize) -> Vec<B> {
    match body {
        B::Flow(v) => chunks(v, limit).into_iter().map(B::Flow).collect(),
        B::Table(v) => chunks(v, limit).into_iter().map(B::Table).collect(),
        B::PortStats(v) => chunks(v, limit).into_iter().map(B::PortStats).collect(),
        B::Queue(v) => chunks(v, limit).into_iter().map(B::Queue).collect(),
        B::Group(v) => chunks(v, limit).into_iter().map(B::Group).collect(),
        B::GroupDesc(v) => chunks(v, limit).into_iter().map(B::GroupDesc).collect(),
        B::Meter(v) => chunks(v, limit).into_iter().map(B::Meter).collect(),
        B::MeterConfig(v) => chunks(v, limit).into_iter().map(B::MeterConfig).collect(),
        B::TableFeatures(v) => chunks(v, limit).into_iter().map(B::TableFeatures).collect(),
        B::PortDesc(v) => chunks(v, limit).into_iter().map(B::PortDesc).collect(),
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ofp_codec::msg::multipart::TableStats;

    #[test]
    fn long_lists_are_cut_under_the_limit_and_keep_order() {
        let stats: Vec<TableStats> = (0..=253u8)
            .map(|t| TableStats {
                table_id: t,
                ..TableStats::default()
            })
            .collect();
        let one_len = stats[0].encoded_len();
        let pieces = split_reply(B::Table(stats), one_len * 100);
        assert_eq!(pieces.len(), 3);
        let mut ids = Vec::new();
        for p in pieces {
            let B::Table(v) = p else {
                panic!("kind changed")
            };
            assert!(v.len() <= 100);
            ids.extend(v.iter().map(|s| s.table_id));
        }
        assert_eq!(ids, (0..=253u8).collect::<Vec<_>>());
    }

    #[test]
    fn empty_list_gives_one_empty_piece() {
        assert_eq!(
            split_reply(B::Flow(Vec::new()), MAX_BODY_LEN),
            vec![B::Flow(Vec::new())]
        );
    }
}
