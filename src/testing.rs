//! Fixed keys and a token minter for unit tests (host and wasm32 alike:
//! no randomness, no clock).

use crate::keys::{parse_jwks, KeySet};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rsa::{BigUint, Pkcs1v15Sign, RsaPrivateKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const TENANT: &str = "11111111-2222-3333-4444-555555555555";
pub const OTHER_TENANT: &str = "99999999-2222-3333-4444-555555555555";
pub const AUDIENCE: &str = "api://calculator";
pub const CLIENT: &str = "cccccccc-0000-0000-0000-000000000001";
pub const NOW: u64 = 1_800_000_000;
pub const AUTHORITY: &str = "https://login.microsoftonline.com";

pub const KEY_A: [&str; 4] = [
    "9dacb82b69b63cef2de6babcc264ad40551d4740f9bd6697700687251b0cb5f3dc9f7f95dc7dfda8313dcd322994a7d50f3c76c625d34914e0b64d155317a483578b8c752f240837044819ac2533bc1fd4fec7c53d25b77ec96cfdb49c8816bc4de0ac1cda975450b16559689907505638544d51199ef58cacda51aef8e6c4852f78ff97226c16e0131c582e0d7cb3d2649ec83134ca2b52c1b298a297ac482a064963524c6bfbdad795e8a9eafc12ea2890ab7642086c492e7a39ef7fb09a9125d924bd91241d7da2fb692f2324b60893833f0d5588f00315419f8f1fe32bc1db43569c7ab4140aed921c30f8b20f850b06561c309481baa1bcc6602ff6bf0b",
    "1dbac45b032aa6609eb20381b5d18fcd327f3bc12795abb3601f0afa571855726ea5f0438c78810c6684759d40b3d3d55b73161e1461bb44e17dde18e83aebfd0bd3b71f1d4d58f32eae7d90b4cf0568a71b87054c9b40f6f9f9bff87f0f35e23978e45ae868623078d258425da0406891646bd39fd6160c79470ce1c5f295190fc25004ccbd5bcae2e124d5694fa760aebf9209e2cb8d0ccf7617e5635c776556e9068fdab046a6b15a4ab398112254fb235e13cc05ccbe0af423273b5eee16486d9fda294d742fb6431b76e3939bcc107ba25efd1f2d33209c7afc17f9eca6ee33c6cd2a123816ff83c2d2b2f710b1ad8009010d78580d1098f61b8f9c7b81",
    "d7256802b40e1291972e6248619e78a991acda6410da59ba928f6e0e4df842d6fef26a4964d90579c687f7d02f5d6e9e1d8ee4255ef8a30fed0495a6144e7d8355364cb861ee197673e35042641ddaf0575236a29529f7bc6f7a8643637e28d4b3481fba3af6024fe9f8c5835f40f237cb59d5d1e6cf484b3945365e24c10bc1",
    "bb9d8923425720b45b3ccb6fbf47506dc9cdb8524024f0b981d77580af2d97dc16054151a304d0e71b050809038e04bb7852c7105f44b90c041cddff28abd0aa7cac094f78ee18cdc4923035f590789ce15a8d82c5e0d68ada135883224d174b516691dfc3fdea6d05d2189f04dd48f5328b92454e671def6cfb991cd631adcb",
];
pub const KEY_B: [&str; 4] = [
    "cccd8365430ed17aa4d4bef738ee331adb18cc3f8d3dd1aff43e8c58bb520225a5641f7bc519af93b96b013ca8dea833a3f63d56e973c0ce51512e1e378791abd3fcac38698cf33477cd67359d7e88368b7aa95672d047c29564918a5f5961feefe458a670c3dd7d2f2a06a653965e4af437fd4d6840ba107265d05fba73af6b23ad588be6bff4815c8836f98365e88890d7c92893597dde86b95564e30d804a2b822cb26dc353c2f607915f32a8d2f91aaed1ff3eb5386f4c33c7b7cda60e8f5bf2b911c4fe2e0a81bae60c27204fc27bf7ab41710eee90b7430dc3cc49ef09d0a267dddf28922944c04f83164d710d0ccbf26e0f141a82aecf8d74697ce5cf",
    "ccb0fadfd27895005c8e1044a1d9dbaa13cbb7c2d78a84710aa46e914b6758f8aca7b7efc9bc8a5cbdb7d25caba073c1be8ba01da59128e5b725c94f84cb3284e78865235cc5f602e804f0b55d86818d97df83855640baa2cdbd88d92118accba892de7ce667b1e4d45179f9486c6ed715e52a7df09cab5a94d1131a6fb80006ed3623491859c91aca4fba6f945a8da1c85f8ee379ab64d97c0f2516f54566751bc9a5860ae7817ed752e9a01d96ae6a3bc8b3a60c947239247ad29f53b7ddd46f85605ca3bcce12317ebafad1c2bcc50eec3bcbf9de82509e28d312006e793602121cf638a27beb7185abc62165d1ad5276e5e1947649cd797c6eba01cd44d",
    "f3b31912b930e3b3808dd319ca8507f744f135b7ff8a97307deb27b425a91a93f6e2c8699dbe925d628e8140d96eb46bab3b898155a39aca95d2763670ab205a30e9b9bebb47dd98fee4fe46ca51c607a16da192331ff9602939ec45474276319fe86c879b9a3184f950f1f6737ba55e636bbd4a15c119f240f8c3fb9bfdb9fd",
    "d723d1f07212cbda9cf4abaf78e3699784122cbfa34a20d90862d35666cc500e18f238db3e161cae41d440d9eb69c900ef8f077bb08a21d3b0b495adc7522322b32ef494e6881b0b4817b189cd558d7b90f1724d32fda8545a68b28a006a5f42e93ad86bde37f30cdc272e7a75da6c714a41c601c7af1419fa82988666cf52bb",
];

pub fn private_key(which: [&str; 4]) -> RsaPrivateKey {
    let [n, d, p, q] = which.map(|h| BigUint::parse_bytes(h.as_bytes(), 16).unwrap());
    RsaPrivateKey::from_components(n, BigUint::from(65_537u32), d, vec![p, q]).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn jwk(which: [&str; 4], kid: &str) -> Value {
    let n = BigUint::parse_bytes(which[0].as_bytes(), 16).unwrap();
    json!({"kty": "RSA", "use": "sig", "kid": kid, "n": b64(&n.to_bytes_be()), "e": "AQAB",
           "issuer": format!("{AUTHORITY}/{{tenantid}}/v2.0")})
}

pub fn jwks_json() -> String {
    json!({"keys": [jwk(KEY_A, "key-a")]}).to_string()
}

pub fn keyset() -> KeySet {
    KeySet::new(
        parse_jwks(jwks_json().as_bytes()).unwrap().keys,
        NOW * 1000,
        1,
    )
}

/// A v2 token's claims, valid at `NOW` for `TENANT`/`AUDIENCE`/`CLIENT`.
pub fn v2_claims() -> Value {
    json!({
        "iss": format!("{AUTHORITY}/{TENANT}/v2.0"), "aud": AUDIENCE, "tid": TENANT,
        "azp": CLIENT, "oid": "o-1", "scp": "calculator.add calculator.read",
        "roles": ["Calculator.Admin"], "iat": NOW - 60, "nbf": NOW - 60, "exp": NOW + 3600,
        "ver": "2.0"
    })
}

pub fn v1_claims() -> Value {
    let mut c = v2_claims();
    let o = c.as_object_mut().unwrap();
    o.remove("azp");
    o.insert("appid".into(), json!(CLIENT));
    o.insert(
        "iss".into(),
        json!(format!("https://sts.windows.net/{TENANT}/")),
    );
    o.insert("ver".into(), json!("1.0"));
    c
}

pub fn header(kid: &str) -> Value {
    json!({"alg": "RS256", "typ": "JWT", "kid": kid})
}

/// Signs raw header and claims JSON text (so tests can write duplicates).
pub fn sign_raw(header: &str, claims: &str, which: [&str; 4]) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
    let digest = Sha256::digest(input.as_bytes());
    let sig = private_key(which)
        .sign(Pkcs1v15Sign::new::<Sha256>(), &digest)
        .unwrap();
    format!("{input}.{}", b64(&sig))
}

pub fn sign(header: &Value, claims: &Value) -> String {
    sign_raw(&header.to_string(), &claims.to_string(), KEY_A)
}

pub fn token() -> String {
    sign(&header("key-a"), &v2_claims())
}
