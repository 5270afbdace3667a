//! `string_enum!`: a string enum with an `Unknown(String)` fallback.

/// Declares a string enum whose unknown values decode into `Unknown(String)` instead of failing.
///
/// ```ignore
/// string_enum! {
///     /// Doc comment.
///     BranchState {
///         /// Being created.
///         Pending = "pending",
///         Ready = "ready",
///     }
/// }
/// ```
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this client does not know (yet), kept verbatim.
            Unknown(String),
        }

        impl $name {
            /// Every value this client knows, in declaration order.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $text, )+
                    $name::Unknown(other) => other,
                }
            }

            /// Whether the value was not recognised.
            pub fn is_unknown(&self) -> bool {
                matches!(self, $name::Unknown(_))
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                match value {
                    $( $text => $name::$variant, )+
                    other => $name::Unknown(other.to_owned()),
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = std::convert::Infallible;
            fn from_str(value: &str) -> Result<Self, Self::Err> {
                Ok($name::from(value))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Ok($name::from(text.as_ref()))
            }
        }
    };
}

#[cfg(test)]
mod tests {
    string_enum! {
        /// Test enum.
        Colour {
            Red = "red",
            DarkBlue = "dark_blue",
        }
    }

    #[test]
    fn known_values_round_trip() {
        for colour in Colour::KNOWN {
            let json = serde_json::to_string(colour).unwrap();
            assert_eq!(&serde_json::from_str::<Colour>(&json).unwrap(), colour);
        }
        assert_eq!(Colour::DarkBlue.to_string(), "dark_blue");
    }

    #[test]
    fn unknown_values_are_kept() {
        let colour: Colour = serde_json::from_str("\"ultraviolet\"").unwrap();
        assert_eq!(colour, Colour::Unknown("ultraviolet".into()));
        assert!(colour.is_unknown());
        assert_eq!(serde_json::to_string(&colour).unwrap(), "\"ultraviolet\"");
    }
}
