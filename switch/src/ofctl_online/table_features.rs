//! `dump-table-features` printed as ovs-ofctl prints it: the tables of
//! every reply message in one listing (no reply headers), each table
//! compared with the one before it across message boundaries, so runs of
//! identical tables collapse into one `tables A...B: ditto` line.
//!
//! The table printer (ofp-codec's, OVS's `ofputil_table_features_format`)
//! works on one message. The tables of all replies are printed in chunks
//! small enough to encode as one message, each chunk after the first with
//! the previous chunk's last table put in front, so that its first tables
//! are compared with their real predecessor; that extra table's block is
//! then dropped and a `ditto` run that crosses a chunk boundary is joined.

use anyhow::{Result, anyhow};
use ofp_codec::msg::multipart::{MultipartReply, TableFeatures};
use ofp_codec::msg::print::ofp_to_string;
use ofp_codec::msg::{Message, MultipartReplyBody};

/// The listing for the reply messages `msgs` of one request.
pub(super) fn print(msgs: &[Vec<u8>]) -> Result<String> {
    let mut body = String::new();
    let mut all: Vec<TableFeatures> = Vec::new();
    for m in msgs {
        let (_, msg) = Message::decode(m).map_err(|e| anyhow!("bad reply: {e:?}"))?;
        match msg {
            Message::MultipartReply(MultipartReply {
                body: MultipartReplyBody::TableFeatures(tables),
                ..
            }) => all.extend(tables),
            // An error or another reply: printed as it is.
            _ => {
                body.push('\n');
                body.push_str(&ofp_to_string(m, 1));
            }
        }
    }
    // Chunks of tables, each printed after its predecessor (whose block is
    // then dropped), small enough to encode as one message.
    let mut prev: Option<&TableFeatures> = None;
    let mut i = 0;
    while i < all.len() {
        let mut n = CHUNK.min(all.len() - i);
        let text = loop {
            let mut chunk: Vec<TableFeatures> = prev.into_iter().cloned().collect();
            chunk.extend(all[i..i + n].iter().cloned());
            let reply = Message::MultipartReply(MultipartReply {
                flags: 0,
                body: MultipartReplyBody::TableFeatures(chunk),
            });
            match reply.try_encode(0) {
                Ok(bytes) => {
                    let t = tables_text(&ofp_to_string(&bytes, 1));
                    break if prev.is_some() {
                        drop_first_table(&t)
                    } else {
                        t
                    };
                }
                Err(_) if n > 1 => n /= 2,
                Err(e) => return Err(anyhow!("table features too large to print: {e}")),
            }
        };
        join(&mut body, &text);
        prev = all.get(i + n - 1);
        i += n;
    }
    // ovs-ofctl: the listing without its first newline, then a newline.
    let body = body.strip_prefix('\n').unwrap_or(&body);
    Ok(format!("{body}\n"))
}

/// Tables printed per chunk (halved while a chunk is too large to encode).
const CHUNK: usize = 8;

/// A reply's printed text without its header line, starting with `\n`
/// before the first table as in OVS's listing.
fn tables_text(printed: &str) -> String {
    let rest = printed.split_once('\n').map_or("", |(_, r)| r);
    format!("\n{rest}")
}

/// `text` (blocks each starting with `\n  table`) without its first block.
fn drop_first_table(text: &str) -> String {
    match text[1..].find("\n\n  table") {
        Some(i) => text[i + 2..].to_string(),
        None => String::new(),
    }
}

/// A `ditto` line: (first table, last table).
fn ditto(line: &str) -> Option<(u32, u32)> {
    let rest = line.strip_prefix("  table")?.strip_suffix(": ditto")?;
    if let Some(one) = rest.strip_prefix(' ') {
        let n = one.parse().ok()?;
        return Some((n, n));
    }
    let (a, b) = rest.strip_prefix("s ")?.split_once("...")?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn ditto_line(a: u32, b: u32) -> String {
    if a == b {
        format!("  table {a}: ditto")
    } else {
        format!("  tables {a}...{b}: ditto")
    }
}

/// Appends `next` to `body`, joining a `ditto` run at the end of `body`
/// with one at the start of `next` when the tables follow each other.
fn join(body: &mut String, next: &str) {
    let tail = body.trim_end_matches('\n');
    let last_line = tail.rsplit('\n').next().unwrap_or("");
    let first_line = next
        .trim_start_matches('\n')
        .split('\n')
        .next()
        .unwrap_or("");
    if let (Some((a, b)), Some((c, d))) = (ditto(last_line), ditto(first_line))
        && c == b + 1
    {
        let keep = tail.len() - last_line.len();
        body.truncate(keep);
        body.push_str(&ditto_line(a, d));
        let after = next.trim_start_matches('\n');
        body.push_str(&after[first_line.len()..]);
        return;
    }
    body.push_str(next);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ditto_lines_parse_and_print() {
        assert_eq!(ditto("  tables 1...11: ditto"), Some((1, 11)));
        assert_eq!(ditto("  table 7: ditto"), Some((7, 7)));
        assert_eq!(ditto("  table 7:"), None);
        assert_eq!(ditto_line(3, 3), "  table 3: ditto");
        assert_eq!(ditto_line(3, 9), "  tables 3...9: ditto");
    }

    #[test]
    fn runs_across_messages_are_joined() {
        let mut body = "\n  table 0:\n    x\n\n  tables 1...11: ditto\n".to_string();
        join(
            &mut body,
            "\n  tables 12...23: ditto\n\n  table 24:\n    y\n",
        );
        assert_eq!(
            body,
            "\n  table 0:\n    x\n\n  tables 1...23: ditto\n\n  table 24:\n    y\n"
        );
        let mut body = "\n  table 0:\n    x\n".to_string();
        join(&mut body, "\n  table 1: ditto\n");
        assert_eq!(body, "\n  table 0:\n    x\n\n  table 1: ditto\n");
    }

    #[test]
    fn the_first_block_is_dropped() {
        let t = "\n  table 11:\n    x\n\n  tables 12...23: ditto\n";
        assert_eq!(drop_first_table(t), "\n  tables 12...23: ditto\n");
        assert_eq!(drop_first_table("\n  table 11:\n    x\n"), "");
    }
}
