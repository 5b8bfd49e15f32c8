//! The `subscription_keys` block: APIM-style keys, stored as SHA-256.

use super::error::{ConfigError, Result};
use super::values::{checked_string, HeaderName, NonEmptyList, Printable};
use serde::{Deserialize, Deserializer};

pub const DEFAULT_SUBSCRIPTION_HEADER: &str = "ocp-apim-subscription-key";
pub const DEFAULT_SUBSCRIPTION_QUERY: &str = "subscription-key";
pub const DEFAULT_SUBSCRIPTION_NAME_HEADER: &str = "x-apim-subscription-name";
const DEFAULT_REALM: &str = "entra-guard";

#[derive(Debug, Clone)]
pub struct SubscriptionConfig {
    /// Lowercase header name.
    pub header: String,
    pub query: Option<String>,
    pub keys: Vec<SubscriptionKey>,
    /// Lowercase header that carries the subscription name upstream.
    pub name_header: String,
    pub realm: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionKey {
    pub name: String,
    pub sha256: [u8; 32],
}

checked_string!(
    /// A plain query parameter name.
    QueryName,
    |s| {
        let ok = !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'));
        if ok {
            Ok(s)
        } else {
            Err("must be a plain query parameter name (letters, digits, - _ . ~) or null")
        }
    }
);

checked_string!(
    /// A key's name, sent upstream in a header.
    KeyName,
    |s| {
        if s.is_empty() || s.bytes().any(|b| !(b' '..0x7f).contains(&b)) {
            Err("must be non-empty printable ASCII")
        } else {
            Ok(s)
        }
    }
);

/// 64 hexadecimal digits.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct Sha256Hex([u8; 32]);

impl TryFrom<String> for Sha256Hex {
    type Error = &'static str;
    fn try_from(s: String) -> std::result::Result<Self, &'static str> {
        const WHY: &str = "must be 64 hexadecimal digits (the SHA-256 of the key)";
        let b = s.as_bytes();
        if b.len() != 64 {
            return Err(WHY);
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
            let digit = |c: u8| (c as char).to_digit(16).ok_or(WHY);
            *o = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
        }
        Ok(Self(out))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSubscriptionKeys {
    header: Option<HeaderName>,
    /// `None`: key absent (default name); `Some(None)`: explicitly `null`,
    /// which disables the query form.
    #[serde(default, deserialize_with = "present_or_null")]
    query: Option<Option<QueryName>>,
    keys: NonEmptyList<RawSubscriptionKey>,
    name_header: Option<HeaderName>,
    realm: Option<Printable>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSubscriptionKey {
    name: KeyName,
    sha256: Sha256Hex,
}

fn present_or_null<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<QueryName>>, D::Error> {
    Option::<QueryName>::deserialize(d).map(Some)
}

impl RawSubscriptionKeys {
    pub fn validate(self) -> Result<SubscriptionConfig> {
        let header = self
            .header
            .map_or_else(|| DEFAULT_SUBSCRIPTION_HEADER.into(), String::from);
        let name_header = self
            .name_header
            .map_or_else(|| DEFAULT_SUBSCRIPTION_NAME_HEADER.into(), String::from);
        if name_header == header {
            return Err(ConfigError::new(
                "subscription_keys.name_header",
                "must differ from subscription_keys.header",
            ));
        }
        Ok(SubscriptionConfig {
            header,
            query: match self.query {
                None => Some(DEFAULT_SUBSCRIPTION_QUERY.into()),
                Some(q) => q.map(String::from),
            },
            keys: self
                .keys
                .0
                .into_iter()
                .map(|k| SubscriptionKey {
                    name: k.name.0,
                    sha256: k.sha256.0,
                })
                .collect(),
            name_header,
            realm: self
                .realm
                .map_or_else(|| DEFAULT_REALM.into(), String::from),
        })
    }
}
