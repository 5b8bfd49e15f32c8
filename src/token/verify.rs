//! The only way from an `UntrustedToken` to a `VerifiedToken`.

use super::algorithm::Rs256;
use super::{Claims, TokenError, UntrustedToken};
use crate::keys::RsaKey;
use crate::signature::SignatureVerifier;
use jwt_compact::alg::RsaSignature;
use jwt_compact::{Algorithm, AlgorithmSignature};

/// Claims whose RS256 signature was checked against a published key.
/// Fields are private: nothing outside this module can forge one.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    claims: Claims,
    kid: String,
}

impl VerifiedToken {
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }
}

/// Checks the signature with `key` (the caller found it by the token's kid)
/// and the key's own `issuer` binding, which Entra publishes per key.
pub fn verify(
    token: UntrustedToken<'_>,
    key: &RsaKey,
    verifier: &dyn SignatureVerifier,
) -> Result<VerifiedToken, TokenError> {
    if key.kid != token.kid() {
        return Err(TokenError::UnknownKey);
    }
    // `parse` admitted RS256 only; the claims were read (and their times
    // checked with jwt-compact's `TimeOptions`) before any key was touched.
    let (signed_data, signature) = token.signed();
    let signature =
        RsaSignature::try_from_slice(signature).map_err(|_| TokenError::BadSignature)?;
    if !Rs256(verifier).verify_signature(&signature, key, signed_data) {
        return Err(TokenError::BadSignature);
    }
    if let Some(template) = &key.issuer {
        let claims = token.unverified_claims();
        let expected = match &claims.tid {
            Some(tid) => template.replace("{tenantid}", tid),
            None => template.clone(),
        };
        if claims.iss.as_deref() != Some(expected.as_str()) && !is_v1_issuer(claims) {
            return Err(TokenError::Issuer);
        }
    }
    let kid = token.kid().to_string();
    Ok(VerifiedToken {
        claims: token.into_claims(),
        kid,
    })
}

/// Entra's JWKS publishes the v2 issuer on each key; v1 tokens signed by
/// the same key carry the `sts.windows.net` issuer, checked by `check_claims`.
fn is_v1_issuer(claims: &Claims) -> bool {
    claims
        .iss
        .as_deref()
        .is_some_and(|iss| !iss.ends_with("/v2.0"))
}
