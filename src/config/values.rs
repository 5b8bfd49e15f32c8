//! Value types shared by the configuration blocks. Each checks itself while
//! it is read, so an error carries the path of the key that holds it and
//! the rule lives with the type, not with every key that uses it.

use crate::url::parse_absolute;
use serde::de::{Deserializer, Error};
use serde::Deserialize;

/// An unsigned integer within `MIN..=MAX`; absent or `null` is `DEFAULT`.
#[derive(Debug, Clone, Copy)]
pub struct Bounded<const MIN: u64, const MAX: u64, const DEFAULT: u64>(pub u64);

impl<const MIN: u64, const MAX: u64, const DEFAULT: u64> Default for Bounded<MIN, MAX, DEFAULT> {
    fn default() -> Self {
        Self(DEFAULT)
    }
}

impl<'de, const MIN: u64, const MAX: u64, const DEFAULT: u64> Deserialize<'de>
    for Bounded<MIN, MAX, DEFAULT>
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Option::<u64>::deserialize(d)? {
            None => Ok(Self(DEFAULT)),
            Some(v) if (MIN..=MAX).contains(&v) => Ok(Self(v)),
            Some(_) => Err(D::Error::custom(format_args!(
                "must be between {MIN} and {MAX}"
            ))),
        }
    }
}

impl<const MIN: u64, const MAX: u64, const DEFAULT: u64> Bounded<MIN, MAX, DEFAULT> {
    pub fn usize(self) -> usize {
        // MAX is far below usize::MAX on every target (wasm32 included).
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

/// For `#[serde(default, deserialize_with = "or_default")]`: `null` reads as
/// an absent key, as it always has.
pub fn or_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// A list with at least one item.
#[derive(Debug, Clone)]
pub struct NonEmptyList<T>(pub Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for NonEmptyList<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Vec::<T>::deserialize(d)?;
        if items.is_empty() {
            return Err(D::Error::custom("must not be empty"));
        }
        Ok(Self(items))
    }
}

/// Declares a string newtype whose `check` refuses what the key may not hold.
macro_rules! checked_string {
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
        #[serde(try_from = "String")]
        pub struct $name(pub String);

        impl TryFrom<String> for $name {
            type Error = &'static str;
            fn try_from(s: String) -> ::std::result::Result<Self, &'static str> {
                let check: fn(String) -> ::std::result::Result<String, &'static str> = $check;
                check(s).map($name)
            }
        }

        impl From<$name> for String {
            fn from(v: $name) -> String {
                v.0
            }
        }
    };
}
pub(crate) use checked_string;

checked_string!(
    /// Any string but the empty one.
    NonEmpty,
    |s| if s.is_empty() { Err("must not be empty") } else { Ok(s) }
);

checked_string!(
    /// A tenant GUID, lowercased.
    Guid,
    |s| {
        let b = s.as_bytes();
        let ok = b.len() == 36
            && b.iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            });
        if ok {
            Ok(s.to_ascii_lowercase())
        } else {
            Err("must be a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)")
        }
    }
);

checked_string!(
    /// `scheme://host[:port]` with no path; a trailing `/` is dropped.
    Origin,
    |s| {
        let trimmed = s.trim_end_matches('/');
        match parse_absolute(trimmed) {
            Some(u) if u.path == "/" && u.query.is_none() && !trimmed.ends_with('?') => {
                Ok(trimmed.to_string())
            }
            _ => Err("must be an http(s) origin like https://login.microsoftonline.com"),
        }
    }
);

checked_string!(
    /// An absolute http(s) URL.
    AbsoluteUrl,
    |s| match parse_absolute(&s) {
        Some(_) => Ok(s),
        None => Err("must be an absolute http(s) URL"),
    }
);

checked_string!(
    /// A request header name the filter may read or set, lowercased.
    HeaderName,
    |s| header_name(&s)
);

checked_string!(
    /// Printable ASCII (space included), for names and realms.
    Printable,
    |s| if s.bytes().all(|b| (b' '..0x7f).contains(&b)) {
        Ok(s)
    } else {
        Err("must be printable ASCII")
    }
);

impl AbsoluteUrl {
    /// The URL's path (`/` when it has none).
    pub fn path(&self) -> String {
        parse_absolute(&self.0).map_or_else(|| "/".into(), |u| u.path.to_string())
    }
}

/// A plain header name (token characters) that the filter does not own.
pub fn header_name(value: &str) -> Result<String, &'static str> {
    const TCHAR: &[u8] = b"!#$%&'*+-.^_`|~";
    const RESERVED: &[&str] = &[
        "authorization",
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "te",
    ];
    let ok = !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || TCHAR.contains(&b));
    let lower = value.to_ascii_lowercase();
    if !ok {
        Err("must be an HTTP header name")
    } else if RESERVED.contains(&lower.as_str()) {
        Err("must not be a reserved header")
    } else {
        Ok(lower)
    }
}

/// Values that end up inside a quoted auth-param: no quotes, backslashes or
/// controls.
pub fn quotable(value: &str) -> Result<(), &'static str> {
    if value
        .bytes()
        .any(|b| b < b' ' || b == 0x7f || b == b'"' || b == b'\\')
    {
        Err("must not contain quotes, backslashes or control characters")
    } else {
        Ok(())
    }
}

/// Unwraps a list of checked strings.
pub fn strings<T: Into<String>>(items: Vec<T>) -> Vec<String> {
    items.into_iter().map(Into::into).collect()
}
