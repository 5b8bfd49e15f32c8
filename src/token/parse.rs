//! Splitting and decoding a compact JWS without trusting any of it.

use super::claims::Claims;
use super::TokenError;
use crate::json::{set_once, JsonError, Reader};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// A decoded token whose signature has not been checked. It exposes what
/// the cheap checks need, and nothing here can authorize a request.
#[derive(Debug)]
pub struct UntrustedToken<'a> {
    signing_input: &'a [u8],
    signature: Vec<u8>,
    kid: String,
    claims: Claims,
}

/// The JOSE header fields the filter acts on. Unknown fields are ignored
/// (RFC 7515 §4), but a field that appears twice is malformed.
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    crit: bool,
    nonce: bool,
    enc: bool,
    zip: bool,
}

impl Header {
    /// Read member by member: an unknown member is skipped however deep it
    /// goes, as serde's derived reader did before.
    fn from_json(bytes: &[u8]) -> Result<Header, TokenError> {
        Header::read(bytes).map_err(|_| TokenError::Malformed)
    }

    fn read(bytes: &[u8]) -> Result<Header, JsonError> {
        let mut reader = Reader::new(bytes);
        let mut members = reader.object()?.ok_or(JsonError::ExpectedValue)?;
        let (mut alg, mut kid, mut typ) = (None, None, None);
        let mut flags = [
            ("crit", None),
            ("nonce", None),
            ("enc", None),
            ("zip", None),
        ];
        while let Some(key) = reader.next_key(&mut members)? {
            match key.as_str() {
                "alg" => set_once(&mut alg, &key, reader.string_or_null()?)?,
                "kid" => set_once(&mut kid, &key, reader.string_or_null()?)?,
                "typ" => set_once(&mut typ, &key, reader.string_or_null()?)?,
                _ => match flags.iter_mut().find(|(name, _)| *name == key) {
                    // `null` counts as absent, as it did for the serde fields.
                    Some((_, slot)) => {
                        let present = !reader.at_null();
                        reader.skip()?;
                        set_once(slot, &key, present)?;
                    }
                    None => reader.skip()?,
                },
            }
        }
        reader.end()?;
        let [crit, nonce, enc, zip] = flags.map(|(_, present)| present == Some(true));
        Ok(Header {
            alg: alg.flatten().ok_or(JsonError::ExpectedValue)?,
            kid: kid.flatten(),
            typ: typ.flatten(),
            crit,
            nonce,
            enc,
            zip,
        })
    }
}

const MAX_KID_BYTES: usize = 256;

impl<'a> UntrustedToken<'a> {
    /// Structural parse: exactly three base64url parts, an RS256 header with
    /// a `kid`, no `crit`, no `nonce`, a `typ` (if any) of an access token,
    /// and a JSON object of claims.
    pub fn parse(token: &'a [u8], max_bytes: usize) -> Result<Self, TokenError> {
        if token.len() > max_bytes {
            return Err(TokenError::TooLarge);
        }
        // Every byte is checked by the strict base64url decoding of each part.
        let mut parts = token.split(|b| *b == b'.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header_json = decode(header_b64)?;
        let header = Header::from_json(&header_json)?;
        if header.enc || header.zip {
            return Err(TokenError::Malformed);
        }
        if header.alg != "RS256" {
            return Err(TokenError::AlgorithmNotAllowed);
        }
        if header.crit {
            return Err(TokenError::CriticalHeader);
        }
        if header.nonce {
            return Err(TokenError::GraphToken);
        }
        if header
            .typ
            .as_deref()
            .is_some_and(|t| !is_access_token_type(t))
        {
            return Err(TokenError::TokenType);
        }
        let kid = match header.kid {
            Some(kid) if !kid.is_empty() && kid.len() <= MAX_KID_BYTES => kid,
            Some(_) => return Err(TokenError::Malformed),
            None => return Err(TokenError::MissingKeyId),
        };
        let claims = Claims::from_json(&decode(claims_b64)?)?;
        let signature = decode(signature_b64)?;
        if signature.is_empty() {
            return Err(TokenError::BadSignature);
        }
        let signing_input = &token[..header_b64.len() + 1 + claims_b64.len()];
        Ok(UntrustedToken {
            signing_input,
            signature,
            kid,
            claims,
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Claims for the cheap checks that run before the signature check.
    pub fn unverified_claims(&self) -> &Claims {
        &self.claims
    }

    pub(super) fn signing_input(&self) -> &[u8] {
        self.signing_input
    }

    pub(super) fn signature(&self) -> &[u8] {
        &self.signature
    }

    pub(super) fn into_claims(self) -> Claims {
        self.claims
    }
}

/// `JWT` or `at+jwt` (RFC 9068), in any ASCII case, optionally with the
/// `application/` prefix (RFC 7515 §4.1.9): an ID token, a logout token or
/// any other typed JWT is not an access token.
fn is_access_token_type(typ: &str) -> bool {
    let media = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    };
    media.eq_ignore_ascii_case("jwt") || media.eq_ignore_ascii_case("at+jwt")
}

fn decode(part: &[u8]) -> Result<Vec<u8>, TokenError> {
    if part.is_empty() {
        return Err(TokenError::Malformed);
    }
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed)
}
