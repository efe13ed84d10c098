//! Hex in and out, as `ovs-ofctl` reads and writes it.

use std::fmt::Write as _;

/// Parses hex bytes the way `ovs-ofctl ofp-print` does: pairs of hex digits,
/// with spaces, tabs, newlines and dots allowed between pairs.
///
/// Returns the bytes, or the byte offset of the first character that is
/// neither a separator nor the start of a hex pair (OVS: "trailing garbage
/// following hex bytes").
pub fn parse_hex(text: &str) -> Result<Vec<u8>, usize> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len() / 2);
    let mut i = 0;
    loop {
        while i < b.len() && b" .\t\r\n".contains(&b[i]) {
            i += 1;
        }
        if i == b.len() {
            return Ok(out);
        }
        let pair = b.get(i..i + 2).and_then(|p| {
            let hi = (p[0] as char).to_digit(16)?;
            let lo = (p[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        });
        match pair {
            Some(byte) => out.push(byte),
            None => return Err(i),
        }
        i += 2;
    }
}

/// Formats `bytes` as Open vSwitch's `ds_put_hex_dump(…, ofs = 0, ascii =
/// true)` does (what `ovs-ofctl -mmmmm` prints under each message): 16 bytes a
/// line after an 8-digit offset and two spaces, each byte followed by a space
/// except the 8th, followed by `-`; short lines padded; then the printable
/// ASCII between bars. Every line ends with a newline.
pub fn hex_dump(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 5);
    for (line, chunk) in bytes.chunks(16).enumerate() {
        let _ = write!(s, "{:08x}  ", line * 16);
        for (i, b) in chunk.iter().enumerate() {
            let sep = if i == 7 { '-' } else { ' ' };
            let _ = write!(s, "{b:02x}{sep}");
        }
        for _ in chunk.len()..16 {
            s.push_str("   ");
        }
        s.push('|');
        for &b in chunk {
            s.push(if (32..127).contains(&b) {
                b as char
            } else {
                '.'
            });
        }
        for _ in chunk.len()..16 {
            s.push(' ');
        }
        s.push_str("|\n");
    }
    s
}

/// Plain lowercase hex without separators (`--hex=plain`).
pub fn plain_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_dump_matches_ovs_layout() {
        let bytes: Vec<u8> = (0x60u8..0x79).collect();
        assert_eq!(
            hex_dump(&bytes),
            "00000000  60 61 62 63 64 65 66 67-68 69 6a 6b 6c 6d 6e 6f |`abcdefghijklmno|\n\
             00000010  70 71 72 73 74 75 76 77-78                      |pqrstuvwx       |\n"
        );
        assert_eq!(hex_dump(&[]), "");
        // Taken from `ovs-ofctl -mmmmm parse-flows` output.
        assert_eq!(
            hex_dump(&[0, 0, 1, 0, 0, 0, 0, 0]),
            "00000000  00 00 01 00 00 00 00 00-                        |........        |\n"
        );
    }

    #[test]
    fn parse_hex_accepts_ovs_separators_and_rejects_garbage() {
        assert_eq!(parse_hex("04 0e\n00.68\t"), Ok(vec![4, 0x0e, 0, 0x68]));
        assert_eq!(parse_hex("0x"), Err(0));
        assert_eq!(parse_hex("040"), Err(2));
        assert_eq!(parse_hex(""), Ok(vec![]));
    }
}
