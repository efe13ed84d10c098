//! A bounds-checked cursor over untrusted bytes.
//!
//! Every decoder in this crate reads through [`Reader`]; none indexes a slice
//! directly. A short read returns the error the caller names (usually
//! `OFPBRC_BAD_LEN`), never a panic.

use crate::error::OfpError;

/// Cursor over a byte slice. Reads consume from the front.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    /// Offset of `buf[0]` from the start of the outermost reader, for messages.
    offset: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, offset: 0 }
    }

    /// Bytes not yet consumed.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Position relative to where the outermost reader started.
    pub fn position(&self) -> usize {
        self.offset
    }

    /// The unconsumed bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        self.buf
    }

    /// Looks at the next `n` bytes without consuming them.
    pub fn peek(&self, n: usize) -> Option<&'a [u8]> {
        self.buf.get(..n)
    }

    /// Consumes `n` bytes, or fails with `err` leaving the reader unchanged.
    pub fn take_or(&mut self, n: usize, err: OfpError) -> Result<&'a [u8], OfpError> {
        if n > self.buf.len() {
            return Err(err);
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        self.offset += n;
        Ok(head)
    }

    /// Consumes `n` bytes; a short buffer is `OFPBRC_BAD_LEN`.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], OfpError> {
        self.take_or(n, OfpError::BAD_LEN)
    }

    pub fn take_array<const N: usize>(&mut self) -> Result<[u8; N], OfpError> {
        let s = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(s);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8, OfpError> {
        Ok(self.take_array::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16, OfpError> {
        Ok(u16::from_be_bytes(self.take_array()?))
    }

    pub fn u32(&mut self) -> Result<u32, OfpError> {
        Ok(u32::from_be_bytes(self.take_array()?))
    }

    pub fn u64(&mut self) -> Result<u64, OfpError> {
        Ok(u64::from_be_bytes(self.take_array()?))
    }

    pub fn u128(&mut self) -> Result<u128, OfpError> {
        Ok(u128::from_be_bytes(self.take_array()?))
    }

    /// Skips `n` bytes of padding (their value is not checked).
    pub fn skip(&mut self, n: usize) -> Result<(), OfpError> {
        self.take(n).map(|_| ())
    }

    /// Splits off a sub-reader over the next `len` bytes; `err` if short.
    pub fn sub_or(&mut self, len: usize, err: OfpError) -> Result<Reader<'a>, OfpError> {
        let offset = self.offset;
        let buf = self.take_or(len, err)?;
        Ok(Reader { buf, offset })
    }

    /// Splits off a sub-reader over the next `len` bytes; `OFPBRC_BAD_LEN` if short.
    pub fn sub(&mut self, len: usize) -> Result<Reader<'a>, OfpError> {
        self.sub_or(len, OfpError::BAD_LEN)
    }

    /// Succeeds only if every byte was consumed.
    pub fn finish(self) -> Result<(), OfpError> {
        self.finish_or(OfpError::BAD_LEN)
    }

    /// Succeeds only if every byte was consumed; otherwise `err`.
    pub fn finish_or(self, err: OfpError) -> Result<(), OfpError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_and_refuses_short_input() {
        let mut r = Reader::new(&[0x01, 0x02, 0x03, 0x04, 0x05]);
        assert_eq!(r.u16().unwrap(), 0x0102);
        assert_eq!(r.position(), 2);
        assert_eq!(r.u32(), Err(OfpError::BAD_LEN));
        assert_eq!(r.remaining(), 3, "a failed read consumes nothing");
        let mut s = r.sub(2).unwrap();
        assert_eq!(s.position(), 2);
        assert_eq!(s.u8().unwrap(), 3);
        assert!(s.finish().is_err());
        assert_eq!(r.u8().unwrap(), 5);
        assert!(r.finish().is_ok());
    }
}
