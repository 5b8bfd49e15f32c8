//! An RS256 verification key from a JWK: the `rsa` crate's public key,
//! accepted only when strong (jwt-compact's `StrongKey`: a 2048-, 3072- or
//! 4096-bit modulus) and with e = 65537, plus its DER SubjectPublicKeyInfo
//! for the host verifier (Envoy's `verify_signature` takes that form).

use jwt_compact::alg::{RsaPublicKey, StrongKey};
use rsa::pkcs8::EncodePublicKey;
use rsa::traits::PublicKeyParts;
use rsa::BigUint;
use std::fmt;

/// The only public exponent accepted: the `rsa` crate alone would take
/// e = 3, and Entra publishes nothing else.
const F4: u32 = 65_537;
const WEAK: &str = "modulus is not 2048, 3072 or 4096 bits";

/// A verification-ready RSA signing key.
#[derive(Clone)]
pub struct RsaKey {
    pub kid: String,
    /// Entra's per-key `issuer` (may hold the `{tenantid}` template).
    pub issuer: Option<String>,
    /// DER SubjectPublicKeyInfo, for the host verifier.
    pub spki_der: Vec<u8>,
    /// For the in-VM verifier (jwt-compact's RSA).
    pub public: StrongKey<RsaPublicKey>,
}

impl RsaKey {
    /// From a JWK's decoded `n` and `e` (big-endian); the reason when the
    /// key is weak or not an RSA public key.
    pub fn new(
        kid: String,
        issuer: Option<String>,
        n: &[u8],
        e: &[u8],
    ) -> Result<RsaKey, &'static str> {
        let e = BigUint::from_bytes_be(e);
        if e != BigUint::from(F4) {
            return Err("exponent is not 65537");
        }
        // The rsa crate refuses an even modulus, or one not above e, or
        // over 4096 bits; StrongKey then keeps the three standard sizes.
        let public = match RsaPublicKey::new(BigUint::from_bytes_be(n), e) {
            Ok(public) => public,
            Err(rsa::Error::ModulusTooLarge) => return Err(WEAK),
            Err(_) => return Err("not an RSA modulus"),
        };
        let public = StrongKey::try_from(public).map_err(|_| WEAK)?;
        let spki_der = public
            .as_ref()
            .to_public_key_der()
            .map_err(|_| "not an RSA public key")?
            .into_vec();
        Ok(RsaKey {
            kid,
            issuer,
            spki_der,
            public,
        })
    }

    /// The modulus, big-endian, without leading zero bytes.
    pub fn modulus(&self) -> Vec<u8> {
        self.public.as_ref().n().to_bytes_be()
    }
}

impl fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaKey")
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}
