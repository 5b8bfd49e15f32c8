use super::*;
use crate::testing::{private_key, KEY_A, KEY_B};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, Pkcs1v15Sign, RsaPrivateKey};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// Deterministic bytes (no entropy on wasm32 and none needed).
struct XorShift(u64);

impl XorShift {
    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0 as u8
            })
            .collect()
    }
}

fn modulus_of(key: &RsaPrivateKey) -> RsaModulus {
    RsaModulus::new(&key.n().to_bytes_be()).unwrap()
}

fn sign(key: &RsaPrivateKey, message: &[u8]) -> Vec<u8> {
    let digest = Sha256::digest(message);
    key.sign(Pkcs1v15Sign::new::<Sha256>(), &digest).unwrap()
}

#[test]
fn accepts_exactly_the_signatures_the_rsa_crate_makes() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for which in [KEY_A, KEY_B] {
        let key = private_key(which);
        let modulus = modulus_of(&key);
        assert_eq!(modulus.byte_len(), 256);
        assert_eq!(modulus.to_be_bytes(), key.n().to_bytes_be());
        for len in [0, 1, 55, 64, 1000] {
            let message = rng.bytes(len);
            let signature = sign(&key, &message);
            assert!(verify_pkcs1v15_sha256(&modulus, &message, &signature));
            let mut other = message.clone();
            other.push(0);
            assert!(!verify_pkcs1v15_sha256(&modulus, &other, &signature));
            for bit in [0, 7, 8 * 128 + 3, 8 * 255 + 7] {
                let mut tampered = signature.clone();
                tampered[bit / 8] ^= 1 << (bit % 8);
                assert!(
                    !verify_pkcs1v15_sha256(&modulus, &message, &tampered),
                    "bit {bit}"
                );
            }
        }
    }
}

#[test]
fn refuses_out_of_range_and_misshapen_signatures() {
    let key = private_key(KEY_A);
    let modulus = modulus_of(&key);
    let message = b"header.payload";
    let signature = sign(&key, message);
    let n = key.n().to_bytes_be();
    let n_plus_s = (key.n() + BigUint::from_bytes_be(&signature)).to_bytes_be();
    for bad in [
        &n[..],                                   // s = n
        &[0xff; 256][..],                         // s > n
        &[0u8; 256][..],                          // 0^e = 0
        &signature[1..],                          // short
        &[&[0][..], &signature[..]].concat()[..], // long, same value
        &n_plus_s[..],                            // s + n: same residue, out of range
        &[][..],
    ] {
        assert!(
            !verify_pkcs1v15_sha256(&modulus, message, bad),
            "{} bytes",
            bad.len()
        );
    }
    // The other key's signature over the same message.
    let other = sign(&private_key(KEY_B), message);
    assert!(!verify_pkcs1v15_sha256(&modulus, message, &other));
}

/// The Montgomery exponentiation against num-bigint's, on odd moduli of
/// every size the JWKS reader admits (primality does not matter here).
#[test]
fn public_operation_matches_modpow() {
    let mut rng = XorShift(42);
    let e = BigUint::from(65_537u32);
    for bits in [512, 1024, 2048, 3072, 4096] {
        for _ in 0..4 {
            let mut n = rng.bytes(bits / 8);
            n[0] |= 0x80;
            *n.last_mut().unwrap() |= 1;
            let modulus = RsaModulus::new(&n).unwrap();
            let n_big = BigUint::from_bytes_be(&n);
            for _ in 0..3 {
                let mut s = rng.bytes(bits / 8);
                s[0] &= 0x7f;
                let want = BigUint::from_bytes_be(&s).modpow(&e, &n_big).to_bytes_be();
                let got = modulus.public_op(&s).unwrap();
                let start = got.iter().position(|b| *b != 0).unwrap_or(got.len());
                assert_eq!(&got[start..], &want[..], "{bits}-bit modulus");
            }
        }
    }
}

#[test]
fn only_odd_moduli_of_512_bits_or_more() {
    let mut n = vec![0xc5; 256];
    assert!(RsaModulus::new(&n).is_some());
    n[255] = 0xc4;
    assert!(RsaModulus::new(&n).is_none(), "even");
    assert!(RsaModulus::new(&[0xc5; 63]).is_none(), "short");
    assert!(
        RsaModulus::new(&[&[0][..], &[0xc5; 256][..]].concat()).is_none(),
        "leading zero"
    );
    assert!(RsaModulus::new(&[]).is_none());
    assert_eq!(inverse_mod_2_32(3).wrapping_mul(3), 1);
    assert_eq!(inverse_mod_2_32(0xffff_ffff).wrapping_mul(0xffff_ffff), 1);
}
