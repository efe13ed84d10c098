//! Packet buffers: a reused heap buffer with headroom for VLAN pushes.

use crate::extract::PacketMeta;

/// Bytes kept free in front of a received frame (room for pushed tags).
pub const HEADROOM: usize = 64;
/// Largest frame a port receives (jumbo); bigger frames are dropped (see
/// [`Packet::rx_area`]).
pub const MAX_FRAME: usize = 9216;
/// Bursts are at most this many packets.
pub const BURST: usize = 32;

/// One frame plus its metadata. The buffer is allocated once and reused.
#[derive(Clone)]
pub struct Packet {
    buf: Box<[u8]>,
    head: usize,
    len: usize,
    pub meta: PacketMeta,
}

impl Default for Packet {
    fn default() -> Self {
        Packet::new()
    }
}

impl std::fmt::Debug for Packet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packet")
            .field("len", &self.len)
            .field("meta", &self.meta)
            .finish()
    }
}

impl Packet {
    /// An empty packet with a full-size buffer.
    pub fn new() -> Self {
        Packet {
            buf: vec![0u8; HEADROOM + MAX_FRAME + 1].into_boxed_slice(),
            head: HEADROOM,
            len: 0,
            meta: PacketMeta::default(),
        }
    }

    /// A packet holding a copy of `frame` (truncated to [`MAX_FRAME`]).
    pub fn from_bytes(frame: &[u8]) -> Self {
        let mut p = Packet::new();
        p.set_data(frame);
        p
    }

    /// Replaces the frame by a copy of `frame` (truncated to [`MAX_FRAME`]).
    pub fn set_data(&mut self, frame: &[u8]) {
        let n = frame.len().min(MAX_FRAME);
        self.head = HEADROOM;
        self.len = n;
        self.buf[HEADROOM..HEADROOM + n].copy_from_slice(&frame[..n]);
    }

    pub fn data(&self) -> &[u8] {
        &self.buf[self.head..self.head + self.len]
    }

    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.head..self.head + self.len]
    }

    /// The frame and the metadata, borrowed together.
    pub fn split(&mut self) -> (&[u8], &mut PacketMeta) {
        (&self.buf[self.head..self.head + self.len], &mut self.meta)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The receive area: the whole buffer past the headroom, one byte more
    /// than [`MAX_FRAME`], so that a read that fills it shows a frame too big
    /// even where the kernel reports only what it copied (a tap read returns
    /// at most the buffer's length). After filling it, call
    /// [`Packet::set_received`].
    pub fn rx_area(&mut self) -> &mut [u8] {
        &mut self.buf[HEADROOM..]
    }

    /// Marks `len` bytes of the receive area as the frame; a length above
    /// [`MAX_FRAME`] marks a frame that did not fit, which becomes empty (the
    /// port drops and counts empty frames).
    pub fn set_received(&mut self, len: usize) {
        self.head = HEADROOM;
        self.len = if len > MAX_FRAME { 0 } else { len };
    }

    /// Shortens the frame to `len` bytes (no-op if already shorter).
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Inserts `n` bytes at offset `at` (zero-filled), using headroom.
    /// Returns false (packet unchanged) if there is no headroom or `at` is out of range.
    pub fn insert_gap(&mut self, at: usize, n: usize) -> bool {
        if n > self.head || at > self.len {
            return false;
        }
        let old = self.head;
        self.head -= n;
        self.buf.copy_within(old..old + at, self.head);
        self.buf[self.head + at..self.head + at + n].fill(0);
        self.len += n;
        true
    }

    /// Removes `n` bytes at offset `at`. Returns false if out of range.
    pub fn remove_gap(&mut self, at: usize, n: usize) -> bool {
        if at + n > self.len {
            return false;
        }
        let h = self.head;
        self.buf.copy_within(h..h + at, h + n);
        self.head += n;
        self.len -= n;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gap_insert_and_remove_round_trip() {
        let mut p = Packet::from_bytes(&[1, 2, 3, 4, 5, 6]);
        assert!(p.insert_gap(2, 3));
        assert_eq!(p.data(), &[1, 2, 0, 0, 0, 3, 4, 5, 6]);
        assert!(p.remove_gap(2, 3));
        assert_eq!(p.data(), &[1, 2, 3, 4, 5, 6]);
        assert!(!p.remove_gap(5, 3));
        assert!(!p.insert_gap(7, 1));
        assert!(!p.insert_gap(0, HEADROOM + 1));
    }
}
