//! DER SubjectPublicKeyInfo for an RSA key: the form Envoy's
//! `verify_signature` foreign function (BoringSSL) takes.

/// `SEQUENCE { SEQUENCE { rsaEncryption, NULL }, BIT STRING { RSAPublicKey } }`
pub fn rsa_spki(n: &[u8], e: &[u8]) -> Vec<u8> {
    const RSA_ALGORITHM: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let mut rsa_public_key = integer(n);
    rsa_public_key.extend(integer(e));
    let rsa_public_key = tlv(0x30, &rsa_public_key);
    let mut bit_string = vec![0u8];
    bit_string.extend(rsa_public_key);
    let mut body = RSA_ALGORITHM.to_vec();
    body.extend(tlv(0x03, &bit_string));
    tlv(0x30, &body)
}

/// A positive INTEGER from big-endian bytes (leading zeros stripped, a zero
/// byte prepended when the high bit is set).
fn integer(bytes: &[u8]) -> Vec<u8> {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    let digits = &bytes[start..];
    let mut content = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(digits);
    tlv(0x02, &content)
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let len_bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | len_bytes.len() as u8);
        out.extend(len_bytes);
    }
    out.extend_from_slice(content);
    out
}
