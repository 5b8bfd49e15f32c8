//! The claims of an Entra access token, decoded from JSON that must be an
//! object with unique keys (a duplicated `aud` must not pick its own winner).

use super::TokenError;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// Latest NumericDate accepted: 9999-12-31T23:59:59Z.
const MAX_NUMERIC_DATE: u64 = 253_402_300_799;

pub type Audience = Vec<String>;

#[derive(Debug, Clone, PartialEq)]
pub struct Claims {
    pub iss: Option<String>,
    pub aud: Audience,
    pub exp: Option<u64>,
    pub nbf: Option<u64>,
    pub tid: Option<String>,
    pub azp: Option<String>,
    pub appid: Option<String>,
    pub scp: Option<String>,
    pub roles: Vec<String>,
    all: BTreeMap<String, Value>,
}

impl Claims {
    pub fn from_json(json: &[u8]) -> Result<Claims, TokenError> {
        let UniqueMap(all) = serde_json::from_slice(json).map_err(|_| TokenError::Malformed)?;
        Ok(Claims {
            iss: string(&all, "iss")?,
            aud: audience(&all)?,
            exp: numeric_date(&all, "exp")?,
            nbf: numeric_date(&all, "nbf")?,
            tid: string(&all, "tid")?,
            azp: string(&all, "azp")?,
            appid: string(&all, "appid")?,
            scp: string(&all, "scp")?,
            roles: match all.get("roles") {
                None => Vec::new(),
                Some(v) => string_array(v)?,
            },
            all,
        })
    }

    /// The client application: `azp` (v2) or `appid` (v1).
    pub fn client_id(&self) -> Option<&str> {
        self.azp.as_deref().or(self.appid.as_deref())
    }

    /// Delegated scopes: `scp` split on spaces.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scp
            .as_deref()
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
    }

    /// Values of any claim for `required_claims`: a string (split on the
    /// separator when one is given), an array of strings, or a scalar's text.
    pub fn values(&self, name: &str, separator: Option<&str>) -> Vec<String> {
        match self.all.get(name) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::String(s)) => match separator {
                Some(sep) => s
                    .split(sep)
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect(),
                None => vec![s.clone()],
            },
            Some(Value::Array(items)) => items.iter().filter_map(scalar_text).collect(),
            Some(other) => scalar_text(other).into_iter().collect(),
        }
    }

    /// A claim rendered as a header value (arrays joined with `,`), or
    /// `None` when absent or when it holds bytes a header must not carry.
    pub fn header_value(&self, name: &str) -> Option<String> {
        let text = match self.all.get(name)? {
            Value::Array(items) => items
                .iter()
                .filter_map(scalar_text)
                .collect::<Vec<_>>()
                .join(","),
            other => scalar_text(other)?,
        };
        let clean = !text.is_empty() && text.bytes().all(|b| (b' '..0x7f).contains(&b));
        clean.then_some(text)
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn string(all: &BTreeMap<String, Value>, name: &str) -> Result<Option<String>, TokenError> {
    match all.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(TokenError::Malformed),
    }
}

fn string_array(v: &Value) -> Result<Vec<String>, TokenError> {
    match v {
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string).ok_or(TokenError::Malformed))
            .collect(),
        _ => Err(TokenError::Malformed),
    }
}

fn audience(all: &BTreeMap<String, Value>) -> Result<Audience, TokenError> {
    match all.get("aud") {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(v) => string_array(v),
    }
}

/// RFC 7519 NumericDate: an integer, or a non-negative float truncated to
/// seconds; strings, negatives and absurd years are malformed.
fn numeric_date(all: &BTreeMap<String, Value>, name: &str) -> Result<Option<u64>, TokenError> {
    let Some(v) = all.get(name) else {
        return Ok(None);
    };
    let secs = match v {
        Value::Number(n) => match (n.as_u64(), n.as_f64()) {
            (Some(u), _) => u,
            (None, Some(f)) if f.is_finite() && f >= 0.0 && f <= MAX_NUMERIC_DATE as f64 => {
                f as u64
            }
            _ => return Err(TokenError::Malformed),
        },
        _ => return Err(TokenError::Malformed),
    };
    if secs > MAX_NUMERIC_DATE {
        return Err(TokenError::Malformed);
    }
    Ok(Some(secs))
}

/// A JSON object whose keys must be unique.
struct UniqueMap(BTreeMap<String, Value>);

impl<'de> Deserialize<'de> for UniqueMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UniqueVisitor;
        impl<'de> Visitor<'de> for UniqueVisitor {
            type Value = UniqueMap;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object with unique keys")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueMap, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((key, value)) = map.next_entry::<String, Value>()? {
                    if out.insert(key, value).is_some() {
                        return Err(serde::de::Error::custom("duplicate claim"));
                    }
                }
                Ok(UniqueMap(out))
            }
        }
        deserializer.deserialize_map(UniqueVisitor)
    }
}
