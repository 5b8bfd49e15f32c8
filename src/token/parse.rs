//! Splitting and decoding a compact JWS without trusting any of it:
//! jwt-compact's `UntrustedToken` owns the structure (three base64url
//! parts, strictly decoded) and the JOSE header; the filter then checks
//! the header fields it acts on.

use super::claims::Claims;
use super::TokenError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::IgnoredAny;
use serde::Deserialize;

/// The token as jwt-compact parsed it, with the header extension below.
pub(super) type Jws<'a> = jwt_compact::UntrustedToken<'a, HeaderFields>;

/// A decoded token whose signature has not been checked. It exposes what
/// the cheap checks need, and nothing here can authorize a request.
#[derive(Debug)]
pub struct UntrustedToken<'a> {
    jws: Jws<'a>,
    kid: String,
    claims: Claims,
}

/// The JOSE header fields the filter acts on besides jwt-compact's own
/// (`alg`, `kid`, `typ`): only whether they are present (`null` counts as
/// absent). Unknown fields are ignored (RFC 7515 §4); a known one named
/// twice is refused by serde.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct HeaderFields {
    crit: Option<IgnoredAny>,
    nonce: Option<IgnoredAny>,
    /// A JWE or compressed token is not ours to read.
    enc: Option<IgnoredAny>,
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
        let jws = Jws::try_from(text).map_err(|_| TokenError::Malformed)?;
        let header = jws.header();
        let fields = &header.other_fields;
        if fields.enc.is_some() || fields.zip.is_some() {
            return Err(TokenError::Malformed);
        }
        if jws.algorithm() != "RS256" {
            return Err(TokenError::AlgorithmNotAllowed);
        }
        if fields.crit.is_some() {
            return Err(TokenError::CriticalHeader);
        }
        if fields.nonce.is_some() {
            return Err(TokenError::GraphToken);
        }
        if header
            .token_type
            .as_deref()
            .is_some_and(|t| !is_access_token_type(t))
        {
            return Err(TokenError::TokenType);
        }
        let kid = match &header.key_id {
            Some(kid) if !kid.is_empty() && kid.len() <= MAX_KID_BYTES => kid.clone(),
            Some(_) => return Err(TokenError::Malformed),
            None => return Err(TokenError::MissingKeyId),
        };
        // jwt-compact keeps the decoded claims private; the part was
        // already checked as base64url, so this decoding cannot differ.
        let claims_b64 = text.split('.').nth(1).ok_or(TokenError::Malformed)?;
        let claims_json = URL_SAFE_NO_PAD
            .decode(claims_b64)
            .map_err(|_| TokenError::Malformed)?;
        let claims = Claims::from_json(&claims_json)?;
        // Pre-check: jwt-compact takes an empty signature part as an empty
        // signature (a bad signature); an empty part is a malformed token.
        // Checked last, so that `alg: none` tokens (no signature) are told
        // their algorithm is not allowed.
        if jws.signature_bytes().is_empty() {
            return Err(TokenError::Malformed);
        }
        Ok(UntrustedToken { jws, kid, claims })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Claims for the cheap checks that run before the signature check.
    pub fn unverified_claims(&self) -> &Claims {
        &self.claims
    }

    pub(super) fn jws(&self) -> &Jws<'a> {
        &self.jws
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
