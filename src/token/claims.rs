//! The claims of an Entra access token, decoded from JSON that must be an
//! object with unique keys (a duplicated `aud` must not pick its own winner).

use super::TokenError;
use crate::json::{self, Object, Value};

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
    all: Object,
}

impl Claims {
    pub fn from_json(json: &[u8]) -> Result<Claims, TokenError> {
        let Ok(Value::Object(all)) = json::parse(json) else {
            return Err(TokenError::Malformed);
        };
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

fn string(all: &Object, name: &str) -> Result<Option<String>, TokenError> {
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

fn audience(all: &Object) -> Result<Audience, TokenError> {
    match all.get("aud") {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(v) => string_array(v),
    }
}

/// RFC 7519 NumericDate: an integer, or a non-negative decimal truncated to
/// seconds; strings, negatives and absurd years are malformed.
fn numeric_date(all: &Object, name: &str) -> Result<Option<u64>, TokenError> {
    let Some(v) = all.get(name) else {
        return Ok(None);
    };
    let secs = match v {
        Value::Number(n) => n.whole_part().ok_or(TokenError::Malformed)?,
        _ => return Err(TokenError::Malformed),
    };
    if secs > MAX_NUMERIC_DATE {
        return Err(TokenError::Malformed);
    }
    Ok(Some(secs))
}
