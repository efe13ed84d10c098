//! `open_enum!`: open newtypes for protocol numbers (STYLE §3).
//!
//! A protocol number is a newtype over its wire integer with associated consts
//! for the known values. Unknown values are representable and round-trip;
//! `Debug` names known values and prints unknown ones in hex.

/// Declares `pub struct $name(pub $repr)` with one associated const per row
/// and `name()` returning the spelling used by Open vSwitch, if known.
#[macro_export]
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($repr:ty) {
            $( $(#[$vmeta:meta])* $konst:ident = $value:expr => $text:expr ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        $vis struct $name(pub $repr);

        #[allow(dead_code)]
        impl $name {
            $( $(#[$vmeta])* pub const $konst: $name = $name($value); )*

            /// Every known value, in declaration order.
            pub const KNOWN: &'static [$name] = &[$($name($value)),*];

            /// The name Open vSwitch uses for this value, if it is known.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( v if v == $value => Some($text), )*
                    _ => None,
                }
            }

            /// Looks a value up by its name.
            pub fn from_name(name: &str) -> Option<$name> {
                match name {
                    $( $text => Some($name($value)), )*
                    _ => None,
                }
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{}({:#x})", stringify!($name), self.0),
                }
            }
        }

        impl From<$repr> for $name {
            fn from(v: $repr) -> Self { $name(v) }
        }

        impl From<$name> for $repr {
            fn from(v: $name) -> Self { v.0 }
        }
    };
}

#[cfg(test)]
mod tests {
    open_enum! {
        pub struct Colour(u8) {
            RED = 1 => "red",
            BLUE = 2 => "blue",
        }
    }

    #[test]
    fn known_values_are_named_and_unknown_round_trip() {
        assert_eq!(format!("{:?}", Colour::RED), "red");
        assert_eq!(format!("{:?}", Colour(9)), "Colour(0x9)");
        assert_eq!(Colour::from_name("blue"), Some(Colour::BLUE));
        assert_eq!(u8::from(Colour(200)), 200);
    }
}
