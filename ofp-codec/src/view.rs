//! Zero-copy views over fixed-layout wire structures (STYLE §2, the first
//! layer; the owned `decode`/`encode` types are the second).
//!
//! A view `FooView<T: AsRef<[u8]>>` wraps a buffer without copying it. It
//! has one byte-range const per field
//! (`PacketOutView::<&[u8]>::BUFFER_ID` is `8..12`), a getter per field, a
//! setter per field when `T: AsMut<[u8]>`, `tail()` for the variable part
//! after the fixed fields, `into_inner()`, and a `Debug` that shows every
//! field. Each view sits next to its owned type, in that type's file
//! (`msg::packet_out::PacketOutView`, `flow_match::oxm::OxmView`, ...);
//! [`WireView`] lets code be generic over them.
//!
//! **Contract: once `new_checked` accepted a buffer, no getter of that view
//! panics.** `new_checked` checks that the buffer holds the fixed part
//! (`MIN_LEN` bytes) and, for a structure with a length field of its own,
//! that `MIN_LEN <= length <= buffer length`. Every field range lies inside
//! `MIN_LEN` (checked at compile time), so getters read in bounds. A view
//! accepts a buffer longer than the structure (a message at the front of a
//! stream buffer, an action followed by others): `tail()` stops at the
//! structure's own length. Getters and setters also never panic on a view
//! made with `new_unchecked` over a short buffer, or after a setter wrote a
//! nonsense length: a field that is out of bounds reads as zero and its
//! setter writes nothing; `tail()` is then empty. Those values are garbage,
//! not a crash. (All of this assumes the buffer's `as_ref()` keeps its
//! length, as every slice, array and `Vec` does.)
//!
//! A view checks layout only, not semantics: a known message type, a valid
//! port number or a length that is a multiple of 8 are the owned decoder's
//! business (it returns the exact error Open vSwitch would).
//!
//! Views are declared with [`view!`](crate::view!), one line per field:
//!
//! ```
//! ofp_codec::view! {
//!     /// Two fields after a 4-byte length-prefixed header.
//!     pub struct DemoView: sized(8, LENGTH, ofp_codec::OfpError::BAD_LEN) {
//!         KIND: 0..2 => kind, set_kind: u16;
//!         LENGTH: 2..4 => length, set_length: u16;
//!         VALUE: 4..8 => value, set_value: u32;
//!     }
//! }
//! let v = DemoView::new_checked([0u8, 1, 0, 10, 0, 0, 0, 7, 0xaa, 0xbb]).unwrap();
//! assert_eq!((v.kind(), v.value(), v.tail()), (1, 7, &[0xaa, 0xbb][..]));
//! assert!(DemoView::new_checked([0u8, 1, 0, 12, 0, 0, 0, 7]).is_err());
//! ```

use core::ops::Range;

/// The big-endian integers and byte arrays view fields are made of.
pub trait Wire: Sized {
    /// Width on the wire in bytes; a field's byte range has exactly this
    /// length (checked at compile time by [`view!`](crate::view!)).
    const WIDTH: usize;
    /// All zero bytes.
    fn zero() -> Self;
    /// Decodes from `bytes` (`WIDTH` long; a shorter slice reads as zero).
    fn get(bytes: &[u8]) -> Self;
    /// Encodes into `bytes` (`WIDTH` long; a shorter slice is left alone).
    fn put(self, bytes: &mut [u8]);
}

macro_rules! wire_ints {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            const WIDTH: usize = core::mem::size_of::<$t>();
            fn zero() -> Self {
                0
            }
            fn get(bytes: &[u8]) -> Self {
                bytes.first_chunk().map_or(0, |a| <$t>::from_be_bytes(*a))
            }
            fn put(self, bytes: &mut [u8]) {
                if let Some(a) = bytes.first_chunk_mut() {
                    *a = self.to_be_bytes();
                }
            }
        }
    )*};
}
wire_ints!(u8, u16, u32, u64, u128);

/// Byte strings: `hw_addr`, `name`, opaque ids.
impl<const N: usize> Wire for [u8; N] {
    const WIDTH: usize = N;
    fn zero() -> Self {
        [0; N]
    }
    fn get(bytes: &[u8]) -> Self {
        bytes.first_chunk().copied().unwrap_or([0; N])
    }
    fn put(self, bytes: &mut [u8]) {
        if let Some(a) = bytes.first_chunk_mut() {
            *a = self;
        }
    }
}

/// What every view declared with [`view!`](crate::view!) has, for code
/// generic over views (tests, fuzzing). `Debug` shows every field.
pub trait WireView<T: AsRef<[u8]>>: Sized + core::fmt::Debug {
    /// Size of the fixed part in bytes.
    const MIN_LEN: usize;
    /// The length field's range and bias, if the structure has one.
    const LENGTH_FIELD: Option<(Range<usize>, usize)>;
    /// See each view's inherent `new_checked`.
    fn new_checked(buf: T) -> Result<Self, crate::OfpError>;
    /// See each view's inherent `new_unchecked`.
    fn new_unchecked(buf: T) -> Self;
    /// The structure's length.
    fn total_len(&self) -> usize;
    /// The variable part after the fixed fields.
    fn tail(&self) -> &[u8];
}

/// Reads the field at `range` of `buf`; zero if it is out of bounds.
#[inline]
pub fn read<F: Wire>(buf: &[u8], range: Range<usize>) -> F {
    buf.get(range).map_or_else(F::zero, F::get)
}

/// Writes `value` at `range` of `buf`; nothing if it is out of bounds.
#[inline]
pub fn write<F: Wire>(buf: &mut [u8], range: Range<usize>, value: F) {
    if let Some(bytes) = buf.get_mut(range) {
        value.put(bytes);
    }
}

/// The unsigned big-endian number in the bytes at `range` of `buf` (a
/// length field of 1 to 8 bytes); `None` if out of bounds.
#[inline]
pub fn read_len(buf: &[u8], range: Range<usize>) -> Option<usize> {
    let bytes = buf.get(range)?;
    Some(
        bytes
            .iter()
            .fold(0usize, |n, &b| n.wrapping_shl(8) | usize::from(b)),
    )
}

/// Declares a zero-copy view (see the [module docs](mod@crate::view)).
///
/// ```text
/// view! {
///     /// doc
///     pub struct NameView: LAYOUT {
///         /// field doc
///         CONST: start..end => getter, setter: WireType [as NewType];
///         ...
///     }
/// }
/// ```
///
/// `WireType` is `u8`, `u16`, `u32`, `u64`, `u128` or `[u8; N]`; `as
/// NewType` converts with `From` both ways (the `open_enum!` newtypes).
/// `LAYOUT` is one of:
/// - `message(MIN)`: an OpenFlow message; the `ofp_header` fields
///   (`VERSION`, `MSG_TYPE`, `LENGTH`, `XID`) come first and `LENGTH` is
///   the structure's length. Errors are `OFPBRC_BAD_LEN`.
/// - `multipart(MIN)`: a message with the multipart header (`MP_TYPE`,
///   `FLAGS` at 8..12 after the `ofp_header` fields).
/// - `experimenter(MIN)`: a message with the experimenter header
///   (`EXPERIMENTER`, `EXP_TYPE` at 8..16 after the `ofp_header` fields).
/// - `sized(MIN, LENFIELD, ERROR)` or `sized(MIN, LENFIELD + BIAS, ERROR)`:
///   a structure whose own length is the value of field `LENFIELD` (plus
///   `BIAS`, for OXM's payload-only length).
/// - `fixed(MIN, ERROR)`: a structure of `MIN` bytes with no length field.
///
/// Any layout may be followed by `check(path)`: `new_checked` then also
/// calls `path(&view) -> Result<(), OfpError>` after the length checks
/// (for inner lengths such as `packet_out.actions_len`); the function may
/// rely on the fixed part being present.
#[macro_export]
macro_rules! view {
    ($(#[$m:meta])* $vis:vis struct $name:ident: message($min:expr) $(check($chk:path))?
        { $($f:tt)* }) => {
        $crate::view!(@impl [$(#[$m])*] $vis $name, $min,
            $crate::OfpError::OFPBRC_BAD_LEN, [LENGTH 0], [$($chk)?] {
            /// `ofp_header.version` (4 for OpenFlow 1.3).
            VERSION: 0..1 => version, set_version: u8;
            /// `ofp_header.type`.
            MSG_TYPE: 1..2 => msg_type, set_msg_type: u8 as $crate::msg::MsgType;
            /// `ofp_header.length`: the whole message, header included.
            LENGTH: 2..4 => length, set_length: u16;
            /// `ofp_header.xid`.
            XID: 4..8 => xid, set_xid: u32;
            $($f)*
        });
    };
    ($(#[$m:meta])* $vis:vis struct $name:ident: multipart($min:expr) $(check($chk:path))?
        { $($f:tt)* }) => {
        $crate::view!($(#[$m])* $vis struct $name: message($min) $(check($chk))? {
            /// `ofp_multipart_request`/`_reply.type`.
            MP_TYPE: 8..10 => mp_type, set_mp_type: u16 as $crate::msg::MultipartType;
            /// `OFPMPF_*` flags.
            FLAGS: 10..12 => flags, set_flags: u16;
            $($f)*
        });
    };
    ($(#[$m:meta])* $vis:vis struct $name:ident: experimenter($min:expr) $(check($chk:path))?
        { $($f:tt)* }) => {
        $crate::view!($(#[$m])* $vis struct $name: message($min) $(check($chk))? {
            /// Experimenter (vendor) id.
            EXPERIMENTER: 8..12 => experimenter, set_experimenter: u32;
            /// Experimenter message subtype.
            EXP_TYPE: 12..16 => exp_type, set_exp_type: u32;
            $($f)*
        });
    };
    ($(#[$m:meta])* $vis:vis struct $name:ident:
        sized($min:expr, $lenf:ident + $bias:literal, $err:expr) $(check($chk:path))?
        { $($f:tt)* }) => {
        $crate::view!(@impl [$(#[$m])*] $vis $name, $min, $err, [$lenf $bias], [$($chk)?]
            { $($f)* });
    };
    ($(#[$m:meta])* $vis:vis struct $name:ident:
        sized($min:expr, $lenf:ident, $err:expr) $(check($chk:path))? { $($f:tt)* }) => {
        $crate::view!(@impl [$(#[$m])*] $vis $name, $min, $err, [$lenf 0], [$($chk)?]
            { $($f)* });
    };
    ($(#[$m:meta])* $vis:vis struct $name:ident: fixed($min:expr, $err:expr)
        $(check($chk:path))? { $($f:tt)* }) => {
        $crate::view!(@impl [$(#[$m])*] $vis $name, $min, $err, [], [$($chk)?] { $($f)* });
    };
    (@impl [$(#[$m:meta])*] $vis:vis $name:ident, $min:expr, $err:expr,
        [$($lenf:ident $bias:literal)?], [$($chk:path)?] {
        $( $(#[$fm:meta])* $konst:ident: $range:expr => $get:ident, $set:ident: $wire:ty
            $(as $nt:ty)?; )*
    }) => {
        $(#[$m])*
        ///
        /// A zero-copy view: see the `ofp_codec::view` module for its contract.
        #[derive(Clone, Copy, PartialEq, Eq)]
        $vis struct $name<T: AsRef<[u8]>> {
            buf: T,
        }

        // Every field lies inside the fixed part and is as wide as its type.
        $( const _: () = {
            let r: ::core::ops::Range<usize> = $range;
            assert!(r.start < r.end && r.end <= $min);
            assert!(r.end - r.start == <$wire as $crate::view::Wire>::WIDTH);
        }; )*

        #[allow(dead_code)]
        impl<T: AsRef<[u8]>> $name<T> {
            /// Size of the fixed part in bytes.
            pub const MIN_LEN: usize = $min;
            $( $(#[$fm])* pub const $konst: ::core::ops::Range<usize> = $range; )*

            /// Wraps `buf` without checking it (getters then read zeros
            /// where it is short, and never panic).
            pub const fn new_unchecked(buf: T) -> Self {
                $name { buf }
            }

            /// Wraps `buf` after [`check_len`](Self::check_len).
            pub fn new_checked(buf: T) -> Result<Self, $crate::OfpError> {
                let view = $name { buf };
                view.check_len()?;
                Ok(view)
            }

            /// The buffer holds the fixed part and, if the structure has a
            /// length field, that length is at least the fixed part and
            /// fits in the buffer.
            pub fn check_len(&self) -> Result<(), $crate::OfpError> {
                let have = self.buf.as_ref().len();
                if have < Self::MIN_LEN {
                    return Err($err);
                }
                if let Some(len) = self.declared_len()
                    && (len < Self::MIN_LEN || len > have)
                {
                    return Err($err);
                }
                $( $chk(self)?; )?
                Ok(())
            }

            /// The structure's own length field (plus its bias), if it has one.
            /// The length field's range and the bias added to its value to
            /// get the structure's length, if the structure has one.
            pub const LENGTH_FIELD: Option<(::core::ops::Range<usize>, usize)> =
                $crate::view!(@lenf $($lenf $bias)?);

            fn declared_len(&self) -> Option<usize> {
                let (range, bias) = Self::LENGTH_FIELD?;
                $crate::view::read_len(self.buf.as_ref(), range).map(|n| n.saturating_add(bias))
            }

            /// Length of the structure: its length field, or the whole
            /// buffer for a structure without one.
            pub fn total_len(&self) -> usize {
                self.declared_len().unwrap_or(self.buf.as_ref().len())
            }

            /// The structure's bytes (`0..total_len()`); empty if the view
            /// is inconsistent.
            pub fn as_bytes(&self) -> &[u8] {
                self.buf.as_ref().get(..self.total_len()).unwrap_or(&[])
            }

            /// The variable part after the fixed fields
            /// (`MIN_LEN..total_len()`); empty if the view is inconsistent.
            pub fn tail(&self) -> &[u8] {
                self.buf
                    .as_ref()
                    .get(Self::MIN_LEN..self.total_len())
                    .unwrap_or(&[])
            }

            /// The wrapped buffer, back.
            pub fn into_inner(self) -> T {
                self.buf
            }

            $(
                $(#[$fm])*
                #[inline]
                pub fn $get(&self) -> $crate::view!(@ty $wire $(as $nt)?) {
                    let v: $wire = $crate::view::read(self.buf.as_ref(), Self::$konst);
                    $( let v = <$nt>::from(v); )?
                    v
                }
            )*
        }

        /// Shows every field through its getter, then the tail's length.
        impl<T: AsRef<[u8]>> ::core::fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(stringify!($name))
                    $( .field(stringify!($get), &self.$get()) )*
                    .field("tail_len", &self.tail().len())
                    .finish()
            }
        }

        impl<T: AsRef<[u8]>> $crate::view::WireView<T> for $name<T> {
            const MIN_LEN: usize = $min;
            const LENGTH_FIELD: Option<(::core::ops::Range<usize>, usize)> =
                $crate::view!(@lenf $($lenf $bias)?);
            fn new_checked(buf: T) -> Result<Self, $crate::OfpError> {
                $name::new_checked(buf)
            }
            fn new_unchecked(buf: T) -> Self {
                $name::new_unchecked(buf)
            }
            fn total_len(&self) -> usize {
                $name::total_len(self)
            }
            fn tail(&self) -> &[u8] {
                $name::tail(self)
            }
        }

        #[allow(dead_code)]
        impl<T: AsRef<[u8]> + AsMut<[u8]>> $name<T> {
            $(
                $(#[$fm])*
                #[inline]
                pub fn $set(&mut self, value: $crate::view!(@ty $wire $(as $nt)?)) {
                    $( let value: $wire = <$wire as From<$nt>>::from(value); )?
                    $crate::view::write(self.buf.as_mut(), Self::$konst, value);
                }
            )*

            /// The variable part after the fixed fields, writable.
            pub fn tail_mut(&mut self) -> &mut [u8] {
                let end = self.total_len();
                self.buf.as_mut().get_mut(Self::MIN_LEN..end).unwrap_or(&mut [])
            }
        }
    };
    (@ty $wire:ty as $nt:ty) => { $nt };
    (@ty $wire:ty) => { $wire };
    (@lenf $l:ident $b:literal) => { Some((Self::$l, $b)) };
    (@lenf) => { None };
}

/// Shared test helpers for the views of each wire type's file.
#[cfg(test)]
pub(crate) mod testing {
    use super::WireView;
    use crate::msg::MsgType;

    /// `body` behind an OpenFlow 1.3 header of type `t`, xid 0x01020304.
    pub(crate) fn framed(t: MsgType, body: &[u8]) -> Vec<u8> {
        let len = u16::try_from(8 + body.len()).expect("test message fits");
        let mut out = vec![4, t.0];
        out.extend(len.to_be_bytes());
        out.extend([1, 2, 3, 4]);
        out.extend(body);
        out
    }

    /// `body` encoded behind an OpenFlow 1.3 header of type `t`.
    pub(crate) fn framed_body<B: crate::msg::WireBody>(t: MsgType, body: &B) -> Vec<u8> {
        let mut out = bytes::BytesMut::new();
        body.encode(&mut out);
        framed(t, &out)
    }

    /// Overwrites the big-endian field at `range` with `n`; false if `n`
    /// does not fit.
    fn put_len(buf: &mut [u8], range: core::ops::Range<usize>, n: usize) -> bool {
        let width = range.len();
        if width < 8 && n >> (8 * width) != 0 {
            return false;
        }
        for (i, b) in buf[range].iter_mut().rev().enumerate() {
            *b = (n >> (8 * i)) as u8;
        }
        true
    }

    /// `V` accepts exactly `bytes` (one whole structure), refuses every
    /// truncation of it, and refuses a length field below the fixed part
    /// or beyond the buffer.
    pub(crate) fn assert_len_checks<V: WireView<Vec<u8>>>(bytes: &[u8]) {
        let v = V::new_checked(Vec::from(bytes)).expect("the whole structure is accepted");
        let whole = v.total_len();
        assert!(whole <= bytes.len());
        let shortest = if V::LENGTH_FIELD.is_some() {
            whole
        } else {
            V::MIN_LEN
        };
        for n in 0..shortest {
            assert!(
                V::new_checked(Vec::from(&bytes[..n])).is_err(),
                "{} accepted {n} of {} bytes",
                core::any::type_name::<V>(),
                bytes.len()
            );
        }
        if let Some((range, bias)) = V::LENGTH_FIELD {
            for bad in [
                V::MIN_LEN.checked_sub(bias + 1),
                Some(bytes.len() + 1 - bias),
            ] {
                let mut b = bytes.to_vec();
                if let Some(bad) = bad
                    && put_len(&mut b, range.clone(), bad)
                {
                    assert!(V::new_checked(b).is_err(), "length {bad} accepted");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::OfpError;
    use crate::msg::MsgType;

    crate::view! {
        /// A message with one extra field.
        struct TestMsgView: message(12) {
            /// A 32-bit field.
            VALUE: 8..12 => value, set_value: u32;
        }
    }

    crate::view! {
        /// An OXM-like header whose length counts only the payload.
        struct TestTlvView: sized(4, LEN + 4, OfpError::OFPBMC_BAD_LEN) {
            CLASS: 0..2 => class, set_class: u16;
            KIND: 2..3 => kind, set_kind: u8;
            LEN: 3..4 => len, set_len: u8;
        }
    }

    crate::view! {
        struct TestFixedView: fixed(8, OfpError::OFPBRC_BAD_LEN) {
            ADDR: 0..6 => addr, set_addr: [u8; 6];
            PORT: 6..8 => port, set_port: u16;
        }
    }

    crate::view! {
        /// A TLV whose inner length must fit.
        struct TestCheckedView: sized(4, LEN, OfpError::OFPBAC_BAD_LEN) check(inner_fits) {
            LEN: 0..2 => len, set_len: u16;
            INNER: 2..4 => inner, set_inner: u16;
        }
    }

    fn inner_fits<T: AsRef<[u8]>>(v: &TestCheckedView<T>) -> Result<(), OfpError> {
        if usize::from(v.inner()) <= v.tail().len() {
            Ok(())
        } else {
            Err(OfpError::OFPBAC_BAD_ARGUMENT)
        }
    }

    #[test]
    fn a_check_hook_runs_after_the_length_checks() {
        assert!(TestCheckedView::new_checked([0u8, 6, 0, 2, 9, 9]).is_ok());
        assert_eq!(
            TestCheckedView::new_checked([0u8, 6, 0, 3, 9, 9]).err(),
            Some(OfpError::OFPBAC_BAD_ARGUMENT)
        );
        assert_eq!(
            TestCheckedView::new_checked([0u8, 7, 0, 0, 9, 9]).err(),
            Some(OfpError::OFPBAC_BAD_LEN)
        );
    }

    #[test]
    fn message_view_reads_header_fields_and_stops_at_its_length() {
        let bytes = [4u8, 0x0e, 0, 12, 0, 0, 0, 9, 0, 0, 1, 2, 0xee];
        let v = TestMsgView::new_checked(&bytes[..]).unwrap();
        assert_eq!(v.msg_type(), MsgType::FLOW_MOD);
        assert_eq!((v.version(), v.length(), v.xid()), (4, 12, 9));
        assert_eq!(v.value(), 0x102);
        assert_eq!(v.as_bytes(), &bytes[..12]);
        assert!(v.tail().is_empty());
        assert_eq!(TestMsgView::<&[u8]>::VALUE, 8..12);
    }

    #[test]
    fn new_checked_refuses_short_buffers_and_inconsistent_lengths() {
        let good = [4u8, 0x0e, 0, 12, 0, 0, 0, 9, 0, 0, 1, 2];
        for n in 0..good.len() {
            assert_eq!(
                TestMsgView::new_checked(&good[..n]).err(),
                Some(OfpError::OFPBRC_BAD_LEN),
                "{n} bytes"
            );
        }
        let mut long = good;
        long[3] = 13; // longer than the buffer
        assert!(TestMsgView::new_checked(long).is_err());
        long[3] = 11; // shorter than the fixed part
        assert!(TestMsgView::new_checked(long).is_err());
        assert_eq!(
            TestTlvView::new_checked([0u8, 1, 2, 3, 0xa, 0xb]).err(),
            Some(OfpError::OFPBMC_BAD_LEN)
        );
    }

    #[test]
    fn the_shared_length_checks_hold_for_each_layout() {
        super::testing::assert_len_checks::<TestMsgView<_>>(&super::testing::framed(
            MsgType::HELLO,
            &[1, 2, 3, 4],
        ));
        super::testing::assert_len_checks::<TestTlvView<_>>(&[0x80, 0, 2, 2, 0xab, 0xcd]);
        super::testing::assert_len_checks::<TestFixedView<_>>(&[1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            format!("{:?}", TestTlvView::new_unchecked([0x80u8, 0, 2, 0])),
            "TestTlvView { class: 32768, kind: 2, len: 0, tail_len: 0 }"
        );
    }

    #[test]
    fn biased_length_counts_the_header() {
        let v = TestTlvView::new_checked([0x80u8, 0, 0x0a, 2, 0x12, 0x34, 0xff]).unwrap();
        assert_eq!(
            (v.class(), v.kind(), v.len(), v.total_len()),
            (0x8000, 10, 2, 6)
        );
        assert_eq!(v.tail(), &[0x12, 0x34]);
    }

    #[test]
    fn setters_write_big_endian_and_newtypes_round_trip() {
        let mut v = TestMsgView::new_unchecked([0u8; 12]);
        v.set_length(12);
        v.set_msg_type(MsgType::PACKET_OUT);
        v.set_value(0xdead_beef);
        let bytes = v.into_inner();
        assert_eq!(bytes, [0, 13, 0, 12, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef]);
        let mut f = TestFixedView::new_checked(vec![0u8; 8]).unwrap();
        f.set_addr([1, 2, 3, 4, 5, 6]);
        f.set_port(0xfffe);
        assert_eq!(f.addr(), [1, 2, 3, 4, 5, 6]);
        assert_eq!(f.into_inner(), vec![1, 2, 3, 4, 5, 6, 0xff, 0xfe]);
    }

    #[test]
    fn unchecked_short_views_and_bad_lengths_read_zero_without_panicking() {
        let mut v = TestMsgView::new_unchecked([4u8, 0x0e, 0, 0xff, 0, 0]);
        assert_eq!((v.version(), v.xid(), v.value()), (4, 0, 0));
        v.set_value(7); // out of bounds: nothing written
        assert!(v.tail().is_empty() && v.as_bytes().is_empty());
        assert!(v.tail_mut().is_empty());
        let mut ok = TestMsgView::new_checked([4u8, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        ok.set_length(2);
        assert!(ok.tail().is_empty());
        assert_eq!(ok.value(), 0);
    }
}
