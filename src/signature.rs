//! RS256 signature backends. The filter prefers the host's BoringSSL (Envoy's
//! `verify_signature` foreign function, ~30x faster than RSA in wasm) and
//! falls back to pure Rust where the host lacks it. Either one is called by
//! the token's jwt-compact `Algorithm` (`crate::token`).

use crate::keys::RsaKey;
use jwt_compact::alg::{Rsa, RsaSignature, StrongAlg};
use jwt_compact::{Algorithm, AlgorithmSignature};

pub trait SignatureVerifier {
    /// RSASSA-PKCS1-v1_5 with SHA-256 over `message`.
    fn verify_rs256(&self, key: &RsaKey, message: &[u8], signature: &[u8]) -> bool;
}

/// Pure-Rust verification in the VM: jwt-compact's RS256 (the `rsa`
/// crate) with the key's `StrongKey`.
#[derive(Debug, Default, Clone, Copy)]
pub struct RustVerifier;

impl SignatureVerifier for RustVerifier {
    fn verify_rs256(&self, key: &RsaKey, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = RsaSignature::try_from_slice(signature) else {
            return false;
        };
        StrongAlg(Rsa::rs256()).verify_signature(&signature, &key.public, message)
    }
}

/// Encodes Envoy's `VerifySignatureArguments` protobuf: hash_function = 1,
/// public_key = 2 (DER SPKI), signature = 3, text = 4.
pub fn encode_host_arguments(key: &RsaKey, message: &[u8], signature: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(key.spki_der.len() + message.len() + signature.len() + 24);
    for (field, bytes) in [
        (1u8, &b"sha256"[..]),
        (2, &key.spki_der[..]),
        (3, signature),
        (4, message),
    ] {
        out.push(field << 3 | 2);
        let mut len = bytes.len();
        while len >= 0x80 {
            out.push((len as u8) | 0x80);
            len >>= 7;
        }
        out.push(len as u8);
        out.extend_from_slice(bytes);
    }
    out
}

/// Reads `VerifySignatureResult.result` (field 1, varint) from the reply.
pub fn decode_host_result(reply: &[u8]) -> bool {
    let mut i = 0;
    while i < reply.len() {
        let tag = reply[i];
        i += 1;
        match (tag >> 3, tag & 7) {
            (1, 0) => return reply.get(i).is_some_and(|v| *v == 1),
            (_, 0) => {
                while reply.get(i).is_some_and(|b| b & 0x80 != 0) {
                    i += 1;
                }
                i += 1;
            }
            (_, 2) => {
                let (len, used) = varint(&reply[i..]);
                i += used + len;
            }
            _ => return false,
        }
    }
    false
}

fn varint(bytes: &[u8]) -> (usize, usize) {
    let mut value = 0usize;
    for (i, b) in bytes.iter().enumerate().take(5) {
        value |= ((b & 0x7f) as usize) << (7 * i);
        if b & 0x80 == 0 {
            return (value, i + 1);
        }
    }
    (usize::MAX / 2, bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn rust_verifier_checks_rs256() {
        let t = token();
        let (input, sig) = t.rsplit_once('.').unwrap();
        use base64::Engine;
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sig)
            .unwrap();
        let ks = keyset();
        let key = ks.find("key-a").unwrap();
        assert!(RustVerifier.verify_rs256(key, input.as_bytes(), &sig));
        assert!(!RustVerifier.verify_rs256(key, b"other", &sig));
        assert!(!RustVerifier.verify_rs256(key, input.as_bytes(), &sig[1..]));
        assert!(!RustVerifier.verify_rs256(key, input.as_bytes(), &[]));
    }

    #[test]
    fn host_arguments_and_result_encoding() {
        let ks = keyset();
        let key = ks.find("key-a").unwrap();
        let args = encode_host_arguments(key, b"text", &[9; 256]);
        assert_eq!(&args[..8], b"\x0a\x06sha256");
        assert_eq!(&args[8..11], &[0x12, 0xa6, 0x02]); // 294-byte key, varint length
        assert!(args.ends_with(b"\x22\x04text"));
        assert!(decode_host_result(&[8, 1]));
        assert!(!decode_host_result(&[8, 0]));
        assert!(!decode_host_result(&[]));
        assert!(decode_host_result(&[0x12, 2, b'o', b'k', 8, 1]));
        assert!(!decode_host_result(&[0x12, 0xff]));
    }
}
