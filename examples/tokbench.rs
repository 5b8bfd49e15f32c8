use entra_guard::config;
use entra_guard::keys::{parse_jwks, KeySet, RsaKey};
use entra_guard::signature::SignatureVerifier;
use entra_guard::token::{check_claims, verify, UntrustedToken};

struct Yes;
impl SignatureVerifier for Yes {
    fn verify_rs256(&self, _k: &RsaKey, _m: &[u8], _s: &[u8]) -> bool {
        true
    }
}

fn main() {
    let dir = std::path::Path::new("fuzz/fixtures");
    let jwks = std::fs::read(dir.join("jwks.json")).unwrap();
    let keys = KeySet::new(parse_jwks(&jwks).unwrap().keys, 1_800_000_000_000, 1);
    let cfg = config::parse(&std::fs::read(dir.join("config-single.json")).unwrap()).unwrap();
    let tokens: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(dir.join("tokens.json")).unwrap()).unwrap();
    let tok = tokens.iter().find(|t| t["single"] == "ok").unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ok = 0;
    for _ in 0..2000 {
        let u = UntrustedToken::parse(tok.as_bytes(), 16384).unwrap();
        check_claims(u.unverified_claims(), &cfg.entra, 1_800_000_000).unwrap();
        let key = keys.find(u.kid()).unwrap();
        if verify(u, key, &Yes).is_ok() {
            ok += 1;
        }
    }
    println!("{ok}");
}
