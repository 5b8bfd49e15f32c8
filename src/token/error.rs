//! Why a token was refused. The variant decides the metric reason and the
//! `error_description`; descriptions help the caller and echo nothing.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    TooLarge,
    Malformed,
    AlgorithmNotAllowed,
    MissingKeyId,
    CriticalHeader,
    GraphToken,
    TokenType,
    UnknownKey,
    BadSignature,
    MissingExpiry,
    Expired,
    NotYetValid,
    Issuer,
    Audience,
    Tenant,
    ClientApplication,
}

impl TokenError {
    /// Every variant, so each denial can be prepared in advance.
    pub const ALL: [TokenError; 16] = [
        TokenError::TooLarge,
        TokenError::Malformed,
        TokenError::AlgorithmNotAllowed,
        TokenError::MissingKeyId,
        TokenError::CriticalHeader,
        TokenError::GraphToken,
        TokenError::TokenType,
        TokenError::UnknownKey,
        TokenError::BadSignature,
        TokenError::MissingExpiry,
        TokenError::Expired,
        TokenError::NotYetValid,
        TokenError::Issuer,
        TokenError::Audience,
        TokenError::Tenant,
        TokenError::ClientApplication,
    ];

    /// The `error_description` sent to the caller.
    pub fn description(self) -> &'static str {
        match self {
            TokenError::TooLarge => "the access token is too large",
            TokenError::Malformed => "the access token is malformed",
            TokenError::AlgorithmNotAllowed => "the token algorithm is not allowed (RS256 required)",
            TokenError::MissingKeyId => "the token header has no key id (kid)",
            TokenError::CriticalHeader => "the token header has unsupported critical parameters",
            TokenError::GraphToken => {
                "the token has a nonce header and cannot be verified (is it a Microsoft Graph token?)"
            }
            TokenError::TokenType => "the token type (typ) is not an access token (JWT or at+jwt)",
            TokenError::UnknownKey => "the token was signed with an unknown key",
            TokenError::BadSignature => "the token signature is invalid",
            TokenError::MissingExpiry => "the token has no expiry (exp)",
            TokenError::Expired => "the token has expired",
            TokenError::NotYetValid => "the token is not valid yet (nbf)",
            TokenError::Issuer => "the token issuer is not accepted",
            TokenError::Audience => "the token audience is not accepted",
            TokenError::Tenant => "the token tenant is not allowed",
            TokenError::ClientApplication => "the client application is not allowed",
        }
    }

    /// The counter of this denial.
    pub fn reason(self) -> crate::authorize::DenyReason {
        use crate::authorize::DenyReason;
        match self {
            TokenError::TooLarge
            | TokenError::Malformed
            | TokenError::AlgorithmNotAllowed
            | TokenError::MissingKeyId
            | TokenError::CriticalHeader
            | TokenError::GraphToken
            | TokenError::TokenType => DenyReason::Malformed,
            TokenError::UnknownKey | TokenError::BadSignature => DenyReason::Signature,
            TokenError::MissingExpiry | TokenError::Expired | TokenError::NotYetValid => {
                DenyReason::Expired
            }
            TokenError::Issuer => DenyReason::Issuer,
            TokenError::Audience => DenyReason::Audience,
            TokenError::Tenant => DenyReason::Tenant,
            TokenError::ClientApplication => DenyReason::Client,
        }
    }
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

impl std::error::Error for TokenError {}
