use super::*;
use crate::testing::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn spki_der_matches_openssl() {
    let keys = parse_jwks(jwks_json().as_bytes()).unwrap().keys;
    let der = &keys[0].spki_der;
    assert_eq!(der.len(), 294);
    let digest = Sha256::digest(der);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "d3c07a1a13e5d7b456109a2a1da63c6c72620e5df0becbe4ce3b07e3a091542e"
    );
}

#[test]
fn jwks_keeps_only_strong_rsa_signing_keys() {
    let good = jwk(KEY_A, "good");
    let mut enc = jwk(KEY_B, "enc");
    enc["use"] = json!("enc");
    let mut ec = jwk(KEY_B, "ec");
    ec["kty"] = json!("EC");
    let mut e3 = jwk(KEY_B, "e3");
    e3["e"] = json!("Aw");
    let mut small = jwk(KEY_B, "small");
    small["n"] = json!("AQAB");
    let mut ps = jwk(KEY_B, "ps");
    ps["alg"] = json!("PS256");
    let mut nokid = jwk(KEY_B, "x");
    nokid.as_object_mut().unwrap().remove("kid");
    let dup = jwk(KEY_B, "good");
    let doc = json!({"keys": [good, enc, ec, e3, small, ps, nokid, dup, {"kty": 5}]});
    let parsed = parse_jwks(doc.to_string().as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed.keys.len(), 1);
    assert_eq!(parsed.keys[0].kid, "good");
    assert!(parsed.keys[0]
        .issuer
        .as_deref()
        .unwrap()
        .contains("{tenantid}"));
    assert_eq!(parsed.skipped.len(), 8, "{:?}", parsed.skipped);
}

#[test]
fn jwks_failures() {
    assert_eq!(parse_jwks(b"<html>").unwrap_err(), JwksError::NotJson);
    assert_eq!(
        parse_jwks(br#"{"keys": []}"#).unwrap_err(),
        JwksError::NoUsableKeys
    );
    assert_eq!(
        parse_jwks(br#"{"keys": [{"kty":"oct","k":"AAAA"}]}"#).unwrap_err(),
        JwksError::NoUsableKeys
    );
    let huge = vec![b' '; MAX_DOCUMENT_BYTES + 1];
    assert_eq!(parse_jwks(&huge).unwrap_err(), JwksError::TooLarge);
    let truncated = &jwks_json()[..100];
    assert_eq!(
        parse_jwks(truncated.as_bytes()).unwrap_err(),
        JwksError::NotJson
    );
}

#[test]
fn discovery_keeps_jwks_on_trusted_hosts() {
    let hosts = vec!["login.microsoftonline.com".to_string()];
    let issuer = "https://login.microsoftonline.com/{tenantid}/v2.0";
    let doc = |uri: &str| json!({"issuer": issuer, "jwks_uri": uri}).to_string();
    let d = parse_discovery(
        doc("https://login.microsoftonline.com/common/discovery/v2.0/keys?appid=x").as_bytes(),
        issuer,
        &hosts,
    )
    .unwrap();
    assert_eq!(d.jwks_host, "login.microsoftonline.com");
    assert_eq!(d.jwks_path, "/common/discovery/v2.0/keys?appid=x");
    assert!(d.issuer.contains("{tenantid}"));
    assert_eq!(
        parse_discovery(doc("https://evil.example/keys").as_bytes(), issuer, &hosts).unwrap_err(),
        DiscoveryError::ForeignJwksHost("evil.example".into())
    );
    assert_eq!(
        parse_discovery(doc("file:///etc/passwd").as_bytes(), issuer, &hosts).unwrap_err(),
        DiscoveryError::BadJwksUri
    );
    assert_eq!(
        parse_discovery(b"{}", issuer, &hosts).unwrap_err(),
        DiscoveryError::NotJson
    );
}

#[test]
fn discovery_must_be_the_tenants() {
    let hosts = vec!["login.microsoftonline.com".to_string()];
    let ours = format!("{AUTHORITY}/{TENANT}/v2.0");
    let doc = |issuer: &str| {
        json!({"issuer": issuer, "jwks_uri": format!("{AUTHORITY}/{TENANT}/discovery/v2.0/keys")})
            .to_string()
    };
    assert!(parse_discovery(doc(&ours).as_bytes(), &ours, &hosts).is_ok());
    for foreign in [
        format!("{AUTHORITY}/{OTHER_TENANT}/v2.0"),
        format!("{AUTHORITY}/{{tenantid}}/v2.0"),
        format!("{AUTHORITY}/{TENANT}/v2.0/"),
        format!("{}/{TENANT}/v2.0", AUTHORITY.to_uppercase()),
        format!("https://evil.example/{TENANT}/v2.0"),
        format!("https://sts.windows.net/{TENANT}/"),
        String::new(),
    ] {
        assert_eq!(
            parse_discovery(doc(&foreign).as_bytes(), &ours, &hosts).unwrap_err(),
            DiscoveryError::ForeignIssuer,
            "{foreign}"
        );
    }
    // Multi-tenant: the template only, never one tenant's document.
    let template = format!("{AUTHORITY}/{{tenantid}}/v2.0");
    assert!(parse_discovery(doc(&template).as_bytes(), &template, &hosts).is_ok());
    assert_eq!(
        parse_discovery(doc(&ours).as_bytes(), &template, &hosts).unwrap_err(),
        DiscoveryError::ForeignIssuer
    );
}

const POLICY: RefreshPolicy = RefreshPolicy {
    interval_ms: 3_600_000,
    kid_miss_cooldown_ms: 10_000,
    fetch_timeout_ms: 2_000,
};

fn reason(state: RefreshState) -> Option<FetchReason> {
    match state {
        RefreshState::Fetch { reason, .. } => Some(reason),
        _ => None,
    }
}

#[test]
fn refresh_plan_table() {
    let t = 1_000_000u64;
    let fresh = SharedStatus {
        generation: 1,
        fetched_at: t,
        attempted_at: t,
        failures: 0,
        lease_until: 0,
    };
    let cases = [
        (
            SharedStatus::default(),
            t,
            false,
            Some(FetchReason::Initial),
        ),
        (
            SharedStatus {
                lease_until: t + 1,
                ..Default::default()
            },
            t,
            false,
            None,
        ),
        (
            SharedStatus {
                failures: 1,
                attempted_at: t,
                ..Default::default()
            },
            t + 999,
            false,
            None,
        ),
        (
            SharedStatus {
                failures: 1,
                attempted_at: t,
                ..Default::default()
            },
            t + 1_000,
            false,
            Some(FetchReason::Retry),
        ),
        (
            SharedStatus {
                failures: 3,
                attempted_at: t,
                ..Default::default()
            },
            t + 3_999,
            false,
            None,
        ),
        (
            SharedStatus {
                failures: 30,
                attempted_at: t,
                ..Default::default()
            },
            t + 30_000,
            false,
            Some(FetchReason::Retry),
        ),
        (fresh.clone(), t + 1, false, None),
        (fresh.clone(), t + 9_999, true, None),
        (fresh.clone(), t + 10_000, true, Some(FetchReason::KidMiss)),
        (
            fresh.clone(),
            t + 3_600_000,
            false,
            Some(FetchReason::Periodic),
        ),
        (
            SharedStatus {
                failures: 2,
                attempted_at: t + 3_600_000,
                ..fresh.clone()
            },
            t + 3_601_000,
            false,
            None,
        ),
        (
            SharedStatus {
                failures: 2,
                attempted_at: t + 3_600_000,
                ..fresh.clone()
            },
            t + 3_602_000,
            false,
            Some(FetchReason::Periodic),
        ),
    ];
    for (i, (status, now, kid_miss, want)) in cases.into_iter().enumerate() {
        assert_eq!(
            reason(POLICY.plan(&status, now, kid_miss, 0)),
            want,
            "case {i}"
        );
    }
    // Jitter brings the periodic refresh forward by less than a tenth.
    assert_eq!(
        reason(POLICY.plan(&fresh, t + 3_600_000 - 5_000, false, 5_000)),
        Some(FetchReason::Periodic)
    );
    assert_eq!(
        reason(POLICY.plan(&fresh, t + 3_200_000, false, 999_999_999)),
        None
    );
}

#[test]
fn lease_and_outcomes() {
    let RefreshState::Fetch { lease, .. } = POLICY.plan(&SharedStatus::default(), 5_000, false, 0)
    else {
        panic!("should fetch")
    };
    assert_eq!((lease.attempted_at, lease.lease_until), (5_000, 10_000));
    assert_eq!(POLICY.plan(&lease, 6_000, true, 0), RefreshState::InFlight);
    let ok = RefreshPolicy::succeeded(&lease, 7_000, true);
    assert_eq!(
        (ok.generation, ok.fetched_at, ok.failures, ok.lease_until),
        (1, 7_000, 0, 0)
    );
    let bad = RefreshPolicy::failed(&RefreshPolicy::failed(&lease));
    assert_eq!((bad.failures, bad.lease_until, bad.generation), (2, 0, 0));
    assert_eq!(refresh::backoff_ms(1), 1_000);
    assert_eq!(refresh::backoff_ms(5), 16_000);
    assert_eq!(refresh::backoff_ms(6), 30_000);
    assert_eq!(refresh::backoff_ms(u32::MAX), 30_000);
    assert_eq!(RefreshPolicy::retry_after_seconds(&bad, 5_500), 2);
    assert_eq!(POLICY.kid_miss_allowed_at(&ok), 5_000 + 10_000);
    assert_eq!(
        POLICY.kid_miss_allowed_at(&RefreshPolicy::failed(&ok)),
        15_000
    );
    assert_eq!(RefreshPolicy::retry_after_seconds(&bad, 60_000), 1);
}

#[test]
fn shared_records_round_trip() {
    let s = SharedStatus {
        generation: 3,
        fetched_at: 9,
        attempted_at: 8,
        failures: 1,
        lease_until: 7,
    };
    assert_eq!(SharedStatus::decode(Some(&s.encode())), s);
    assert_eq!(
        SharedStatus::decode(Some(b"garbage")),
        SharedStatus::default()
    );
    assert_eq!(SharedStatus::decode(None), SharedStatus::default());
    let k = SharedKeys {
        generation: 3,
        fetched_at: 9,
        jwks: jwks_json(),
    };
    assert_eq!(SharedKeys::decode(&k.encode()), Some(k));
}

#[test]
fn keyset_ages_out() {
    let ks = keyset();
    assert!(ks.is_usable(NOW * 1000));
    assert!(!ks.is_usable(NOW * 1000 + keyset::MAX_KEY_AGE_MS + 1));
    assert!(!KeySet::default().is_usable(0));
    assert!(ks.find("key-a").is_some() && ks.find("nope").is_none());
}

#[test]
fn documents_must_be_objects_and_keys_strong() {
    let hosts = vec!["login.microsoftonline.com".to_string()];
    // serde's derived structs read an array by position: not a document.
    let array = br#"["X", "https://login.microsoftonline.com/keys"]"#;
    assert_eq!(
        parse_discovery(array, "X", &hosts).unwrap_err(),
        DiscoveryError::NotJson
    );
    let good = jwk(KEY_A, "good");
    let as_array = json!(["RSA", "arr", "sig", "RS256", good["n"], "AQAB", null]);
    assert_eq!(
        parse_jwks(json!([good]).to_string().as_bytes()).unwrap_err(),
        JwksError::NotJson
    );
    let twice = format!(
        r#"{{"kty":"RSA","kid":"twice","n":{},"e":"AQAB","e":"Aw"}}"#,
        good["n"]
    );
    let hex_n = |hex: &str| URL_SAFE_NO_PAD.encode(hex_bytes(hex));
    let mut weak = jwk(KEY_B, "1024");
    weak["n"] = json!(hex_n(KEY_B[2])); // a 1024-bit prime: odd, too small
    let mut odd_size = jwk(KEY_B, "2056");
    odd_size["n"] = json!(hex_n(&format!("ff{}", KEY_B[0])));
    let mut even = jwk(KEY_B, "even");
    even["n"] = json!(hex_n(&format!("{}0", &KEY_B[0][..KEY_B[0].len() - 1])));
    let doc = format!(r#"{{"keys":[{good},{as_array},{twice},{weak},{odd_size},{even}]}}"#);
    let parsed = parse_jwks(doc.as_bytes()).unwrap();
    assert_eq!(parsed.keys.len(), 1);
    assert_eq!(
        parsed.skipped,
        vec![
            "a key that is not a JWK object",
            "a key that is not a JWK object",
            "kid 1024: modulus is not 2048, 3072 or 4096 bits",
            "kid 2056: modulus is not 2048, 3072 or 4096 bits",
            "kid even: not an RSA modulus",
        ]
    );
    assert_eq!(parsed.keys[0].modulus(), hex_bytes(KEY_A[0]));
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

#[test]
fn shared_records_keep_the_previous_builds_shape() {
    let s = SharedStatus {
        generation: 3,
        fetched_at: 9,
        attempted_at: 8,
        failures: 1,
        lease_until: 7,
    };
    let old = br#"{"generation":3,"fetched_at":9,"attempted_at":8,"failures":1,"lease_until":7}"#;
    assert_eq!(s.encode(), old.to_vec());
    assert_eq!(SharedStatus::decode(Some(old)), s);
    let k = SharedKeys {
        generation: 3,
        fetched_at: 9,
        jwks: "{\"keys\":[]}".into(),
    };
    let old = br#"{"generation":3,"fetched_at":9,"jwks":"{\"keys\":[]}"}"#;
    assert_eq!(k.encode(), old.to_vec());
    assert_eq!(SharedKeys::decode(old), Some(k));
    // A later build may add members; a record that is not an object is none.
    let more = br#"{"generation":3,"fetched_at":9,"jwks":"","version":2}"#;
    assert!(SharedKeys::decode(more).is_some());
    assert_eq!(SharedKeys::decode(b"[3, 9, \"\"]"), None);
}
