//! Entra access tokens: from untrusted bytes to verified, validated claims.
//!
//! `UntrustedToken` can be inspected but never authorizes anything; only
//! `verify` turns it into a `VerifiedToken`, after the signature check.

mod algorithm;
mod claims;
mod error;
mod parse;
mod validate;
mod verify;

#[cfg(test)]
mod tests;

pub use claims::{Audience, Claims};
pub use error::TokenError;
pub use parse::UntrustedToken;
pub use validate::{check_audience, check_claims, check_permissions, Permissions};
pub use verify::{verify, VerifiedToken};
