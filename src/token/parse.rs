//! A compact JWS read by `jwt_compact::UntrustedToken` (structure, base64url,
//! JOSE header, content type), then the header members the filter acts on.
//! Nothing here has checked a signature, and nothing here can authorize a
//! request: only `verify` turns it into a `VerifiedToken`.

use super::claims::Claims;
use super::TokenError;
use serde::de::IgnoredAny;
use serde::Deserialize;

/// The JOSE header members jwt-compact leaves to its user
/// (`Header::other_fields`): each absent or `null` (absent) or present.
/// jwt-compact itself reads `alg`, `cty`, `kid`, `typ`, `jku`, `x5u`, `x5t`
/// and `x5t#S256`; a member named twice is refused by serde. Other members
/// are buffered by serde's `flatten` and then ignored (RFC 7515 §4); one
/// nested deeper than serde_json's recursion limit makes the header
/// malformed, as it does the claims.
#[derive(Debug, Deserialize)]
struct JoseExtensions {
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

type JwsToken<'a> = jwt_compact::UntrustedToken<'a, JoseExtensions>;

/// A decoded token whose signature has not been checked. It exposes what
/// the cheap checks need.
#[derive(Debug)]
pub struct UntrustedToken<'a> {
    jws: JwsToken<'a>,
    /// `<header>.<claims>`, the bytes the signature covers.
    signed_data: &'a [u8],
    claims: Claims,
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
        // Base64url errors, a header that is not a JSON object and a `cty`
        // other than JSON are all one thing to the caller: malformed.
        let jws = JwsToken::try_from(text).map_err(|_| TokenError::Malformed)?;
        let header = jws.header();
        let ext = &header.other_fields;
        if ext.enc.is_some() || ext.zip.is_some() {
            return Err(TokenError::Malformed);
        }
        if jws.algorithm() != "RS256" {
            return Err(TokenError::AlgorithmNotAllowed);
        }
        if ext.crit.is_some() {
            return Err(TokenError::CriticalHeader);
        }
        if ext.nonce.is_some() {
            return Err(TokenError::GraphToken);
        }
        if header
            .token_type
            .as_deref()
            .is_some_and(|t| !is_access_token_type(t))
        {
            return Err(TokenError::TokenType);
        }
        match header.key_id.as_deref() {
            Some(kid) if !kid.is_empty() && kid.len() <= MAX_KID_BYTES => {}
            Some(_) => return Err(TokenError::Malformed),
            None => return Err(TokenError::MissingKeyId),
        }
        let claims = Claims::from_token(&jws)?;
        // An empty signature part is a malformed token, not a bad signature.
        // Checked last, so that `alg: none` tokens (no signature) are told
        // their algorithm is not allowed.
        let Some((signed, signature)) = text.rsplit_once('.') else {
            return Err(TokenError::Malformed);
        };
        if signature.is_empty() {
            return Err(TokenError::Malformed);
        }
        Ok(UntrustedToken {
            jws,
            signed_data: signed.as_bytes(),
            claims,
        })
    }

    pub fn kid(&self) -> &str {
        self.jws.header().key_id.as_deref().unwrap_or_default()
    }

    /// Claims for the cheap checks that run before the signature check.
    pub fn unverified_claims(&self) -> &Claims {
        &self.claims
    }

    /// The signing input and the signature bytes (not yet checked).
    pub(super) fn signed(&self) -> (&[u8], &[u8]) {
        (self.signed_data, self.jws.signature_bytes())
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
