//! JWKS parsing: RSA signing keys of at least 2048 bits with e = 65537;
//! everything else is skipped with a reason the glue logs.

use super::der::rsa_spki;
use super::MAX_DOCUMENT_BYTES;
use crate::json::{self, Value};
use crate::rs256::RsaModulus;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::fmt;

const MAX_KEYS: usize = 64;
const MIN_BITS: usize = 2048;
const MAX_BITS: usize = 4096;
const F4: [u8; 3] = [0x01, 0x00, 0x01];

/// A verified-usable RSA signing key.
#[derive(Clone)]
pub struct RsaKey {
    pub kid: String,
    /// Entra's per-key `issuer` (may hold the `{tenantid}` template).
    pub issuer: Option<String>,
    pub spki_der: Vec<u8>,
    /// For the pure-Rust verifier.
    pub modulus: RsaModulus,
}

impl fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaKey")
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct ParsedJwks {
    pub keys: Vec<RsaKey>,
    /// One line per skipped key (kid and reason), for the log.
    pub skipped: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwksError {
    TooLarge,
    NotJson,
    NoUsableKeys,
}

impl fmt::Display for JwksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            JwksError::TooLarge => "jwks document too large",
            JwksError::NotJson => "jwks document is not a JSON key set",
            JwksError::NoUsableKeys => "jwks document has no usable RSA signing keys",
        })
    }
}

struct RawJwk {
    kty: Option<String>,
    kid: Option<String>,
    use_: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
    issuer: Option<String>,
}

impl RawJwk {
    /// The members the filter reads, each a string or absent (`null`).
    fn from_value(value: &Value) -> Option<RawJwk> {
        let Value::Object(jwk) = value else {
            return None;
        };
        // A string, or absent (`null` too); anything else: not a JWK.
        let text = |name| match jwk.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s.clone())),
            Some(_) => None,
        };
        Some(RawJwk {
            kty: text("kty")?,
            kid: text("kid")?,
            use_: text("use")?,
            alg: text("alg")?,
            n: text("n")?,
            e: text("e")?,
            issuer: text("issuer")?,
        })
    }
}

pub fn parse_jwks(body: &[u8]) -> Result<ParsedJwks, JwksError> {
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(JwksError::TooLarge);
    }
    let Ok(Value::Object(doc)) = json::parse(body) else {
        return Err(JwksError::NotJson);
    };
    let Some(Value::Array(raw_keys)) = doc.get("keys") else {
        return Err(JwksError::NotJson);
    };
    let mut keys: Vec<RsaKey> = Vec::new();
    let mut skipped = Vec::new();
    for value in raw_keys.iter().take(MAX_KEYS) {
        let Some(jwk) = RawJwk::from_value(value) else {
            skipped.push("a key that is not a JWK object".to_string());
            continue;
        };
        let kid = jwk.kid.clone().unwrap_or_default();
        match usable_key(jwk) {
            Ok(key) if keys.iter().any(|k| k.kid == key.kid) => {
                skipped.push(format!("kid {}: duplicate kid", printable(&kid)));
            }
            Ok(key) => keys.push(key),
            Err(reason) => skipped.push(format!("kid {}: {reason}", printable(&kid))),
        }
    }
    if keys.is_empty() {
        return Err(JwksError::NoUsableKeys);
    }
    Ok(ParsedJwks { keys, skipped })
}

fn usable_key(jwk: RawJwk) -> Result<RsaKey, &'static str> {
    if jwk.kty.as_deref() != Some("RSA") {
        return Err("not an RSA key");
    }
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return Err("not a signing key");
    }
    if jwk.alg.as_deref().is_some_and(|a| a != "RS256") {
        return Err("algorithm is not RS256");
    }
    let kid = match jwk.kid {
        Some(kid) if !kid.is_empty() && kid.len() <= 256 => kid,
        _ => return Err("missing or oversized kid"),
    };
    let n = decode_uint(jwk.n.as_deref()).ok_or("bad modulus")?;
    let e = decode_uint(jwk.e.as_deref()).ok_or("bad exponent")?;
    if e != F4 {
        return Err("exponent is not 65537");
    }
    let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
    if !(MIN_BITS..=MAX_BITS).contains(&bits) {
        return Err("modulus is not 2048 to 4096 bits");
    }
    let modulus = RsaModulus::new(&n).ok_or("not an RSA modulus")?;
    Ok(RsaKey {
        kid,
        issuer: jwk.issuer,
        spki_der: rsa_spki(&n, &e),
        modulus,
    })
}

/// base64url big-endian unsigned integer, leading zero bytes stripped.
fn decode_uint(b64: Option<&str>) -> Option<Vec<u8>> {
    let bytes = URL_SAFE_NO_PAD.decode(b64?.trim_end_matches('=')).ok()?;
    let start = bytes.iter().position(|b| *b != 0)?;
    Some(bytes[start..].to_vec())
}

/// A kid from the network, safe to put in a log line.
fn printable(s: &str) -> String {
    s.chars()
        .take(64)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect()
}
