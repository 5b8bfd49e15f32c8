//! RSASSA-PKCS1-v1_5 / SHA-256 verification (RFC 8017 §8.2.2) for the
//! pure-Rust backend: only the public operation with e = 65537, the one
//! exponent the JWKS reader accepts. Everything here is public data (key,
//! signature, message), so nothing needs to be constant-time.
//!
//! The check never parses the decrypted block: it builds the one valid
//! encoding of the message's digest and compares all of it, which leaves no
//! room for the padding-parsing flaws of RSA signature verifiers.

use sha2::{Digest, Sha256};

/// DER `DigestInfo` prefix for SHA-256 (RFC 8017 §9.2, note 1).
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// A public modulus, prepared for Montgomery arithmetic once per key.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaModulus {
    /// Little-endian 32-bit limbs.
    n: Vec<u32>,
    /// -n⁻¹ mod 2³².
    n0_inv: u32,
    /// R² mod n, R = 2^(32·limbs): turns a number into Montgomery form.
    r2: Vec<u32>,
    /// The modulus length in bytes: the length of a signature.
    byte_len: usize,
}

impl RsaModulus {
    /// `None` unless `n_be` (big-endian, no leading zero byte) is odd and
    /// at least 512 bits: anything else is not an RSA modulus.
    pub fn new(n_be: &[u8]) -> Option<RsaModulus> {
        if n_be.first() == Some(&0) || n_be.len() < 64 || n_be.last()? & 1 == 0 {
            return None;
        }
        let n = limbs(n_be, n_be.len().div_ceil(4));
        let n0_inv = inverse_mod_2_32(n[0]).wrapping_neg();
        let r2 = r_squared(&n);
        Some(RsaModulus {
            n,
            n0_inv,
            r2,
            byte_len: n_be.len(),
        })
    }

    pub fn byte_len(&self) -> usize {
        self.byte_len
    }

    /// The modulus, big-endian, without leading zero bytes.
    pub fn to_be_bytes(&self) -> Vec<u8> {
        to_bytes(&self.n, self.byte_len)
    }

    /// s^65537 mod n, big-endian, `byte_len` bytes; `None` if s ≥ n.
    fn public_op(&self, signature: &[u8]) -> Option<Vec<u8>> {
        let s = limbs(signature, self.n.len());
        if !less_than(&s, &self.n) {
            return None;
        }
        let s_mont = self.mul(&s, &self.r2);
        let mut x = s_mont.clone();
        for _ in 0..16 {
            x = self.mul(&x, &x);
        }
        x = self.mul(&x, &s_mont);
        let mut one = vec![0; self.n.len()];
        one[0] = 1;
        let plain = self.mul(&x, &one);
        Some(to_bytes(&plain, self.byte_len))
    }

    /// Montgomery product a·b·R⁻¹ mod n of two numbers below n (CIOS).
    fn mul(&self, a: &[u32], b: &[u32]) -> Vec<u32> {
        let (n, k) = (&self.n, self.n.len());
        let mut t = vec![0u32; k + 2];
        for &ai in a {
            let mut carry = 0u64;
            for (tj, &bj) in t.iter_mut().zip(b) {
                let sum = u64::from(*tj) + u64::from(ai) * u64::from(bj) + carry;
                *tj = sum as u32;
                carry = sum >> 32;
            }
            let sum = u64::from(t[k]) + carry;
            t[k] = sum as u32;
            t[k + 1] = (sum >> 32) as u32;

            let m = t[0].wrapping_mul(self.n0_inv);
            let mut carry = (u64::from(t[0]) + u64::from(m) * u64::from(n[0])) >> 32;
            for j in 1..k {
                let sum = u64::from(t[j]) + u64::from(m) * u64::from(n[j]) + carry;
                t[j - 1] = sum as u32;
                carry = sum >> 32;
            }
            let sum = u64::from(t[k]) + carry;
            t[k - 1] = sum as u32;
            let sum = u64::from(t[k + 1]) + (sum >> 32);
            t[k] = sum as u32;
            t[k + 1] = 0;
        }
        // t < 2n here: one conditional subtraction brings it below n.
        if t[k] != 0 || !less_than(&t[..k], n) {
            subtract_in_place(&mut t[..k], n);
        }
        t.truncate(k);
        t
    }
}

/// RSASSA-PKCS1-v1_5 with SHA-256: true only for the exact encoding of
/// `message`'s digest under `modulus` and e = 65537.
pub fn verify_pkcs1v15_sha256(modulus: &RsaModulus, message: &[u8], signature: &[u8]) -> bool {
    let k = modulus.byte_len();
    let t_len = SHA256_DIGEST_INFO.len() + 32;
    // RFC 8017 §8.2.2 step 1 and §9.2 step 3 (at least 8 bytes of 0xff).
    if signature.len() != k || k < t_len + 11 {
        return false;
    }
    let Some(encoded) = modulus.public_op(signature) else {
        return false;
    };
    let mut expected = vec![0xff; k];
    expected[0] = 0x00;
    expected[1] = 0x01;
    expected[k - t_len - 1] = 0x00;
    expected[k - t_len..k - 32].copy_from_slice(&SHA256_DIGEST_INFO);
    expected[k - 32..].copy_from_slice(&Sha256::digest(message));
    encoded == expected
}

/// Big-endian bytes as `count` little-endian limbs (zero-extended; a
/// longer input keeps its low limbs, which the callers rule out).
fn limbs(be: &[u8], count: usize) -> Vec<u32> {
    let mut out = vec![0u32; count];
    for (i, byte) in be.iter().rev().enumerate().take(count * 4) {
        out[i / 4] |= u32::from(*byte) << (8 * (i % 4));
    }
    out
}

fn to_bytes(limbs: &[u32], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    for (i, byte) in out.iter_mut().rev().enumerate() {
        *byte = limbs.get(i / 4).map_or(0, |l| (l >> (8 * (i % 4))) as u8);
    }
    out
}

fn less_than(a: &[u32], b: &[u32]) -> bool {
    for (x, y) in a.iter().zip(b).rev() {
        if x != y {
            return x < y;
        }
    }
    false
}

/// a -= b (mod 2^(32·len)).
fn subtract_in_place(a: &mut [u32], b: &[u32]) {
    let mut borrow = 0u64;
    for (x, &y) in a.iter_mut().zip(b) {
        let diff = u64::from(*x)
            .wrapping_sub(u64::from(y))
            .wrapping_sub(borrow);
        *x = diff as u32;
        borrow = (diff >> 63) & 1;
    }
}

/// x⁻¹ mod 2³² for odd x (Newton's iteration doubles the correct bits).
fn inverse_mod_2_32(x: u32) -> u32 {
    let mut inv = x; // correct to 3 bits for odd x
    for _ in 0..4 {
        inv = inv.wrapping_mul(2u32.wrapping_sub(x.wrapping_mul(inv)));
    }
    inv
}

/// R² mod n by doubling 1 modulo n, 2·32·limbs times.
fn r_squared(n: &[u32]) -> Vec<u32> {
    let mut x = vec![0u32; n.len()];
    x[0] = 1;
    for _ in 0..2 * 32 * n.len() {
        let mut carry = 0u32;
        for limb in x.iter_mut() {
            let next = *limb >> 31;
            *limb = (*limb << 1) | carry;
            carry = next;
        }
        if carry != 0 || !less_than(&x, n) {
            subtract_in_place(&mut x, n);
        }
    }
    x
}

#[cfg(test)]
mod tests;
