//! The claims of an Entra access token: a JSON object with unique keys (a
//! duplicated `aud` must not pick its own winner), read into jwt-compact's
//! `Claims` (the registered times) around a typed struct of the claims
//! the filter checks.

use super::TokenError;
use chrono::{DateTime, Utc};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};
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
    /// `exp`, `nbf` and `iat` as jwt-compact read them, for `TimeOptions`.
    pub(super) times: jwt_compact::Claims<jwt_compact::Empty>,
    /// Every claim, for `required_claims` and claim headers.
    all: Map<String, Value>,
}

/// The claims the filter checks. Each is absent or of its type: `null`
/// is malformed, as any other wrong type.
#[derive(Deserialize)]
struct Checked {
    #[serde(default, deserialize_with = "present")]
    iss: Option<String>,
    #[serde(default, deserialize_with = "present")]
    aud: Option<OneOrMany>,
    #[serde(default, deserialize_with = "present")]
    tid: Option<String>,
    #[serde(default, deserialize_with = "present")]
    azp: Option<String>,
    #[serde(default, deserialize_with = "present")]
    appid: Option<String>,
    #[serde(default, deserialize_with = "present")]
    scp: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
}

/// `aud`: one string or an array of strings (RFC 7519 §4.1.3).
#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl Claims {
    /// The claims of a parsed token, read by jwt-compact: its `Claims` owns
    /// `exp`, `nbf` and `iat` (refusing any of them twice), and every other
    /// claim lands, once, in the map `required_claims` and claim headers
    /// read.
    pub(super) fn from_token<H>(
        jws: &jwt_compact::UntrustedToken<'_, H>,
    ) -> Result<Claims, TokenError> {
        let claims = jws
            .deserialize_claims_unchecked::<UniqueObject>()
            .map_err(|_| TokenError::Malformed)?;
        let mut all = claims.custom.0;
        // jwt-compact's times, as it read them (whole seconds), for
        // `required_claims` and claim headers.
        for (name, time) in [
            ("exp", claims.expiration),
            ("nbf", claims.not_before),
            ("iat", claims.issued_at),
        ] {
            if let Some(time) = time {
                all.insert(name.to_string(), Value::from(time.timestamp()));
            }
        }
        let checked = Checked::deserialize(&all).map_err(|_| TokenError::Malformed)?;
        let mut times = jwt_compact::Claims::empty();
        times.expiration = claims.expiration;
        times.not_before = claims.not_before;
        times.issued_at = claims.issued_at;
        Ok(Claims {
            iss: checked.iss,
            aud: match checked.aud {
                None => Vec::new(),
                Some(OneOrMany::One(aud)) => vec![aud],
                Some(OneOrMany::Many(aud)) => aud,
            },
            exp: numeric_date(times.expiration)?,
            nbf: numeric_date(times.not_before)?,
            tid: checked.tid,
            azp: checked.azp,
            appid: checked.appid,
            scp: checked.scp,
            roles: checked.roles,
            times,
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

/// Pre-check on jwt-compact's reading of RFC 7519 NumericDate (it takes
/// negative numbers and any year chrono can hold): a date before 1970 or
/// after 9999 is malformed. jwt-compact truncates decimals toward zero, so
/// a value between -1 and 0 reads as 1970 itself (an `exp` long past).
fn numeric_date(time: Option<DateTime<Utc>>) -> Result<Option<u64>, TokenError> {
    let Some(time) = time else {
        return Ok(None);
    };
    u64::try_from(time.timestamp())
        .ok()
        .filter(|secs| *secs <= MAX_NUMERIC_DATE)
        .map(Some)
        .ok_or(TokenError::Malformed)
}

/// Pre-check for what serde leaves to the last writer: the claims other
/// than jwt-compact's own must have distinct keys (serde_json's `Map` keeps
/// the last of two equal keys; a derived struct refuses only the fields it
/// knows). Values inside are read as serde_json reads them.
struct UniqueObject(Map<String, Value>);

impl<'de> Deserialize<'de> for UniqueObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Unique;
        impl<'de> Visitor<'de> for Unique {
            type Value = UniqueObject;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object with distinct keys")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UniqueObject, A::Error> {
                let mut all = Map::new();
                while let Some((key, value)) = map.next_entry::<String, Value>()? {
                    if all.contains_key(&key) {
                        return Err(de::Error::custom("duplicate key"));
                    }
                    all.insert(key, value);
                }
                Ok(UniqueObject(all))
            }
        }
        d.deserialize_map(Unique)
    }
}
