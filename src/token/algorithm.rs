//! RS256 as a jwt-compact `Algorithm` whose verification is one of the
//! filter's `SignatureVerifier` backends: Envoy's `verify_signature`
//! foreign function (the fast path) or jwt-compact's own RSA in the VM.

use crate::keys::RsaKey;
use crate::signature::SignatureVerifier;
use jwt_compact::alg::RsaSignature;
use jwt_compact::{Algorithm, AlgorithmSignature};
use std::borrow::Cow;

/// The filter only verifies: there is no signing key.
#[derive(Debug)]
pub(super) enum NoSigningKey {}

pub(super) struct Rs256<'v>(pub &'v dyn SignatureVerifier);

impl Algorithm for Rs256<'_> {
    type SigningKey = NoSigningKey;
    type VerifyingKey = RsaKey;
    type Signature = RsaSignature;

    /// The validator refuses a token whose header names anything else.
    fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed("RS256")
    }

    fn sign(&self, signing_key: &NoSigningKey, _message: &[u8]) -> RsaSignature {
        match *signing_key {}
    }

    fn verify_signature(&self, signature: &RsaSignature, key: &RsaKey, message: &[u8]) -> bool {
        self.0.verify_rs256(key, message, &signature.as_bytes())
    }
}
