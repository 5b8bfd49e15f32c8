//! Splitting and decoding a compact JWS without trusting any of it.

use super::claims::Claims;
use super::TokenError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;

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
#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    crit: Option<serde::de::IgnoredAny>,
    nonce: Option<serde::de::IgnoredAny>,
    enc: Option<serde::de::IgnoredAny>,
    zip: Option<serde::de::IgnoredAny>,
}

const MAX_KID_BYTES: usize = 256;

impl<'a> UntrustedToken<'a> {
    /// Structural parse: exactly three base64url parts, an RS256 header with
    /// a `kid`, no `crit`, no `nonce`, and a JSON object of claims.
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
        let header: Header =
            serde_json::from_slice(&header_json).map_err(|_| TokenError::Malformed)?;
        if header.enc.is_some() || header.zip.is_some() {
            return Err(TokenError::Malformed);
        }
        if header.alg != "RS256" {
            return Err(TokenError::AlgorithmNotAllowed);
        }
        if header.crit.is_some() {
            return Err(TokenError::CriticalHeader);
        }
        if header.nonce.is_some() {
            return Err(TokenError::GraphToken);
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

fn decode(part: &[u8]) -> Result<Vec<u8>, TokenError> {
    if part.is_empty() {
        return Err(TokenError::Malformed);
    }
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Malformed)
}
