//! JWKS parsing: RSA signing keys (see `RsaKey::new` for the strength
//! rules); everything else is skipped with a reason the glue logs.

use super::{from_object, RsaKey, MAX_DOCUMENT_BYTES};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::IgnoredAny;
use serde::Deserialize;
use std::fmt;

const MAX_KEYS: usize = 64;

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

/// The document: only `keys` is read (a member named twice is refused).
#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<Entry>,
}

/// One element of `keys`: a JWK, or anything else (skipped, not fatal: one
/// odd entry must not cost every key). Arrays are matched first because
/// serde's derived structs would also read a JWK from an array.
#[derive(Deserialize)]
#[serde(untagged)]
enum Entry {
    List(#[allow(dead_code)] Vec<IgnoredAny>),
    Jwk(RawJwk),
    Other(IgnoredAny),
}

/// The members the filter reads, each a string or absent (`null` too);
/// another type, or a member named twice, makes the entry not a JWK.
#[derive(Deserialize)]
struct RawJwk {
    kty: Option<String>,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
    issuer: Option<String>,
}

pub fn parse_jwks(body: &[u8]) -> Result<ParsedJwks, JwksError> {
    if body.len() > MAX_DOCUMENT_BYTES {
        return Err(JwksError::TooLarge);
    }
    let raw: RawJwks = from_object(body).ok_or(JwksError::NotJson)?;
    let mut keys: Vec<RsaKey> = Vec::new();
    let mut skipped = Vec::new();
    for entry in raw.keys.into_iter().take(MAX_KEYS) {
        let Entry::Jwk(jwk) = entry else {
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
    RsaKey::new(kid, jwk.issuer, &n, &e)
}

/// base64url big-endian unsigned integer (trailing `=` tolerated, as some
/// issuers pad), leading zero bytes stripped; zero is no key material.
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
