//! One datagram's fragments while it is incomplete, and the reassembled frame once it is.

use super::frag::{FragInfo, IP_MAX_LEN, Layout};
use crate::parse::internet_checksum;

/// Progress of a list, named as `dpctl/ipf-get-status -m` prints it (OVS's state names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListState {
    /// Only middle fragments so far.
    OtherSeen,
    /// The first fragment (offset 0) but not the last.
    FirstSeen,
    /// The last fragment (M clear) but not the first.
    LastSeen,
    /// Both ends, a hole in between.
    FirstLastSeen,
}

impl ListState {
    /// OVS's text for the state.
    pub fn name(self) -> &'static str {
        match self {
            ListState::OtherSeen => "other frag",
            ListState::FirstSeen => "first frag",
            ListState::LastSeen => "last frag",
            ListState::FirstLastSeen => "first/last frag",
        }
    }
}

/// One fragment as it arrived, with the caller's context.
#[derive(Debug)]
pub struct Fragment<T> {
    /// The frame, exactly as received (Ethernet padding included).
    pub frame: Vec<u8>,
    /// What the caller handed in with it (the datapath: the packet's metadata).
    pub ctx: T,
    pub(crate) info: FragInfo,
}

impl<T> Fragment<T> {
    /// Payload range `[start, end)` of this fragment in the datagram.
    pub fn range(&self) -> (u32, u32) {
        (self.info.start, self.info.end)
    }
}

pub(crate) struct FragList<T> {
    pub frags: Vec<Fragment<T>>,
    pub has_first: bool,
    pub has_last: bool,
    /// Payload bytes held (for the completeness test).
    pub bytes: u64,
    /// End of the datagram's payload, known once the last fragment is in.
    pub total: u32,
    pub expires_at_ns: u64,
    /// Tells this list apart from an older one under the same key in the expiry queue.
    pub serial: u64,
}

impl<T> FragList<T> {
    pub fn new(expires_at_ns: u64, serial: u64) -> Self {
        FragList {
            frags: Vec::with_capacity(4),
            has_first: false,
            has_last: false,
            bytes: 0,
            total: 0,
            expires_at_ns,
            serial,
        }
    }

    pub fn state(&self) -> ListState {
        match (self.has_first, self.has_last) {
            (false, false) => ListState::OtherSeen,
            (true, false) => ListState::FirstSeen,
            (false, true) => ListState::LastSeen,
            (true, true) => ListState::FirstLastSeen,
        }
    }

    /// True if `[start, end)` shares at least one byte with a held fragment, or lies past
    /// the known end of the datagram, or a second "last" fragment disagrees with the first.
    pub fn conflicts(&self, f: &FragInfo) -> bool {
        if self.has_last && (f.end > self.total || (f.last && f.end != self.total)) {
            return true;
        }
        if f.last && self.frags.iter().any(|h| h.info.end > f.end) {
            return true;
        }
        self.frags
            .iter()
            .any(|h| f.start < h.info.end && h.info.start < f.end)
    }

    pub fn push(&mut self, frag: Fragment<T>) {
        let i = &frag.info;
        self.has_first |= i.start == 0;
        if i.last {
            self.has_last = true;
            self.total = i.end;
        }
        self.bytes += u64::from(i.end - i.start);
        // Keep the list sorted by offset (usually in order: the insert point is the end).
        let at = self
            .frags
            .iter()
            .rposition(|h| h.info.start < i.start)
            .map_or(0, |p| p + 1);
        self.frags.insert(at, frag);
    }

    /// Without overlaps (refused on entry), both ends plus all the bytes means no hole.
    pub fn complete(&self) -> bool {
        self.has_first && self.has_last && self.bytes == u64::from(self.total)
    }
}

/// A datagram whose fragments all arrived: the frame to track, and the fragments to send on.
#[derive(Debug)]
pub struct Datagram<T> {
    /// The reassembled frame: the first fragment's L2 and IP headers (IPv6: without the
    /// fragment header), then the whole payload, lengths and IPv4 checksum fixed.
    pub frame: Vec<u8>,
    /// The fragments as they came, in offset order.
    pub frags: Vec<Fragment<T>>,
    /// IPv6 (else IPv4).
    pub v6: bool,
    /// Offset of the payload in [`Datagram::frame`].
    pub(crate) payload_ofs: usize,
}

impl<T> Datagram<T> {
    /// Propagates what the tracker changed in [`Datagram::frame`] (NAT) to the fragments, as
    /// Open vSwitch does: every fragment gets the frame's IP addresses (IPv4 header checksum
    /// updated), and the first fragment gets the frame's first payload bytes (the L4
    /// header, whose checksum covers the whole datagram). Returns how many fragments
    /// changed. A frame whose length changed is left alone (then nothing is propagated).
    pub fn propagate_rewrite(&mut self) -> usize {
        let Some(f0) = self.frags.first() else {
            return 0;
        };
        let l0 = f0.info.layout;
        let reass_len = self.payload_ofs + f0.info.end as usize;
        let whole = self.frags.last().map_or(0, |f| f.info.end as usize);
        if self.frame.len() != self.payload_ofs + whole || reass_len > self.frame.len() {
            return 0;
        }
        let (addr_at, addr_len) = if self.v6 { (8, 32) } else { (12, 8) };
        let Some(addrs) = self
            .frame
            .get(l0.l3_ofs + addr_at..l0.l3_ofs + addr_at + addr_len)
        else {
            return 0;
        };
        let addrs: Vec<u8> = addrs.to_vec();
        let mut changed = 0;
        for (k, f) in self.frags.iter_mut().enumerate() {
            let l = f.info.layout;
            let mut touched = false;
            if let Some(a) = f
                .frame
                .get_mut(l.l3_ofs + addr_at..l.l3_ofs + addr_at + addr_len)
                && *a != addrs[..]
            {
                a.copy_from_slice(&addrs);
                touched = true;
            }
            if k == 0 {
                let src = &self.frame[self.payload_ofs..reass_len];
                if let Some(dst) = f.frame.get_mut(l.payload_ofs..l.payload_ofs + src.len())
                    && dst != src
                {
                    dst.copy_from_slice(src);
                    touched = true;
                }
            }
            if touched {
                if !self.v6 {
                    fix_v4_checksum(&mut f.frame, l);
                }
                changed += 1;
            }
        }
        changed
    }
}

fn fix_v4_checksum(frame: &mut [u8], l: Layout) {
    let Some(h) = frame.get_mut(l.l3_ofs..l.payload_ofs) else {
        return;
    };
    if h.len() < 20 {
        return;
    }
    h[10] = 0;
    h[11] = 0;
    let c = internet_checksum(h);
    h[10..12].copy_from_slice(&c.to_be_bytes());
}

/// Builds the reassembled frame of a complete, sorted list. `None` if the datagram would
/// be larger than its length field can say.
pub(crate) fn reassemble<T>(
    frags: Vec<Fragment<T>>,
    v6: bool,
) -> Result<Datagram<T>, Vec<Fragment<T>>> {
    let (Some(first), Some(last)) = (frags.first(), frags.last()) else {
        return Err(frags);
    };
    let l = first.info.layout;
    let total = last.info.end as usize;
    let mut frame: Vec<u8>;
    let payload_ofs;
    if v6 {
        // Unfragmentable part: everything before the fragment header.
        let unfrag = l.frag_hdr_ofs - l.l3_ofs - 40;
        if unfrag + total > IP_MAX_LEN {
            return Err(frags);
        }
        payload_ofs = l.frag_hdr_ofs;
        frame = Vec::with_capacity(payload_ofs + total);
        frame.extend_from_slice(&first.frame[..l.frag_hdr_ofs]);
        let nh = first.frame[l.frag_hdr_ofs];
        frame[l.prev_nh_ofs] = nh;
        let plen = (unfrag + total) as u16;
        frame[l.l3_ofs + 4..l.l3_ofs + 6].copy_from_slice(&plen.to_be_bytes());
    } else {
        let ihl = l.payload_ofs - l.l3_ofs;
        if ihl + total > IP_MAX_LEN {
            return Err(frags);
        }
        payload_ofs = l.payload_ofs;
        frame = Vec::with_capacity(payload_ofs + total);
        frame.extend_from_slice(&first.frame[..l.payload_ofs]);
        let h = &mut frame[l.l3_ofs..];
        h[2..4].copy_from_slice(&((ihl + total) as u16).to_be_bytes());
        // Clear MF and the offset; keep DF and the reserved bit.
        h[6] &= 0x40 | 0x80;
        h[7] = 0;
    }
    for f in &frags {
        let fl = f.info.layout;
        frame.extend_from_slice(&f.frame[fl.payload_ofs..fl.l3_end]);
    }
    if !v6 {
        fix_v4_checksum(&mut frame, l);
    }
    Ok(Datagram {
        frame,
        frags,
        v6,
        payload_ofs,
    })
}
