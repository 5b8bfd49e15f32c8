//! Splitting and decoding a compact JWS without trusting any of it; the
//! filter then checks the JOSE header fields it acts on.
//!
//! Why not `jwt_compact::UntrustedToken` itself: it decodes the three parts
//! with base64ct, a constant-time decoder made for secrets. A token is not
//! secret, and base64ct was 54 % of all instructions of parsing a token
//! (`make bench-profile`: a unique token cost 496k wasm instructions with
//! it, against 184k before jwt-compact), which would have halved the
//! unique-token throughput. The `base64` crate decodes the same strict
//! form (no padding, canonical trailing bits) at a fraction of the cost.

use super::claims::Claims;
use super::TokenError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::IgnoredAny;
use serde::Deserialize;

/// A decoded token whose signature has not been checked. It exposes what
/// the cheap checks need, and nothing here can authorize a request.
#[derive(Debug)]
pub struct UntrustedToken<'a> {
    /// `<header>.<claims>`, the bytes the signature covers.
    signed_data: &'a [u8],
    signature: Vec<u8>,
    kid: String,
    claims: Claims,
}

/// The JOSE header members the filter acts on, each absent or `null`
/// (absent) or of its type; a member named twice is refused by serde.
/// Unknown members are skipped (RFC 7515 §4) without being read, however
/// deep: jwt-compact's `Header` flattens its extension fields, and serde
/// buffers every unknown member of a flattened struct, so a deeply nested
/// one would be refused there.
#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    #[serde(default)]
    cty: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    crit: Option<IgnoredAny>,
    /// Microsoft Graph tokens carry one: no one but Graph can verify them.
    #[serde(default)]
    nonce: Option<IgnoredAny>,
    /// A JWE or compressed token is not ours to read.
    #[serde(default)]
    enc: Option<IgnoredAny>,
    #[serde(default)]
    zip: Option<IgnoredAny>,
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
        let text = std::str::from_utf8(token).map_err(|_| TokenError::Malformed)?;
        let mut parts = text.splitn(4, '.');
        let (Some(header_b64), Some(claims_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let decode = |part: &str| {
            URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|_| TokenError::Malformed)
        };
        let header_json = decode(header_b64)?;
        let claims_json = decode(claims_b64)?;
        let signature = decode(signature_b64)?;
        let jose: JoseHeader =
            serde_json::from_slice(&header_json).map_err(|_| TokenError::Malformed)?;
        if jose
            .cty
            .as_deref()
            .is_some_and(|cty| !cty.eq_ignore_ascii_case("json"))
        {
            return Err(TokenError::Malformed);
        }
        if jose.enc.is_some() || jose.zip.is_some() {
            return Err(TokenError::Malformed);
        }
        if jose.alg != "RS256" {
            return Err(TokenError::AlgorithmNotAllowed);
        }
        if jose.crit.is_some() {
            return Err(TokenError::CriticalHeader);
        }
        if jose.nonce.is_some() {
            return Err(TokenError::GraphToken);
        }
        if jose
            .typ
            .as_deref()
            .is_some_and(|t| !is_access_token_type(t))
        {
            return Err(TokenError::TokenType);
        }
        let kid = match jose.kid {
            Some(kid) if !kid.is_empty() && kid.len() <= MAX_KID_BYTES => kid,
            Some(_) => return Err(TokenError::Malformed),
            None => return Err(TokenError::MissingKeyId),
        };
        let claims = Claims::from_json(&claims_json)?;
        // An empty signature part is a malformed token, not a bad signature.
        // Checked last, so that `alg: none` tokens (no signature) are told
        // their algorithm is not allowed.
        if signature.is_empty() {
            return Err(TokenError::Malformed);
        }
        let signed_data = &token[..header_b64.len() + 1 + claims_b64.len()];
        Ok(UntrustedToken {
            signed_data,
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

    /// The signing input and the signature bytes (not yet checked).
    pub(super) fn signed(&self) -> (&[u8], &[u8]) {
        (self.signed_data, &self.signature)
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
