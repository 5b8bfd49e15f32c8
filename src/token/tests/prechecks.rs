//! What jwt-compact and serde alone would accept and the filter refuses
//! (the pre-checks of `parse` and `claims`), and what they refuse on their
//! own that the filter relies on.

use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn claims_text(extra: &str) -> String {
    let base = v2_claims().to_string();
    format!("{{{extra},{}", &base[1..])
}

#[test]
fn a_claim_named_twice_is_malformed_whatever_the_claim() {
    let cfg = config();
    // `oid` is no field of the typed claims: serde_json's Map would keep
    // the last one, and claim headers or required_claims would read it.
    for extra in [r#""oid":"o-2""#, r#""exp":1"#, r#""iss":"x""#] {
        let t = sign_raw(&header("key-a").to_string(), &claims_text(extra), KEY_A);
        assert_eq!(
            check(&t, &cfg, NOW).unwrap_err(),
            TokenError::Malformed,
            "{extra}"
        );
    }
    let once = sign_raw(
        &header("key-a").to_string(),
        &claims_text(r#""x":1"#),
        KEY_A,
    );
    assert!(check(&once, &cfg, NOW).is_ok());
}

#[test]
fn numeric_dates_stay_between_1970_and_9999() {
    let cfg = config();
    for (name, value) in [
        ("exp", json!(253_402_300_800u64)),
        ("exp", json!(-1)),
        ("nbf", json!(-5)),
        // jwt-compact truncates toward zero: -0.5 would read as 1970.
        ("exp", json!(-0.5)),
        ("nbf", json!(-0.25)),
        ("nbf", json!(253_402_300_800u64)),
        ("iat", json!("yesterday")),
    ] {
        let t = sign(&header("key-a"), &with(v2_claims(), name, value.clone()));
        assert_eq!(
            check(&t, &cfg, NOW).unwrap_err(),
            TokenError::Malformed,
            "{name}={value}"
        );
    }
    let far = sign(
        &header("key-a"),
        &with(v2_claims(), "exp", json!(253_402_300_799u64)),
    );
    assert!(check(&far, &cfg, NOW).is_ok());
}

#[test]
fn checked_claims_may_be_absent_but_not_null() {
    let cfg = config();
    for name in ["iss", "aud", "tid", "azp", "appid", "scp", "roles"] {
        let claims = with(v2_claims(), name, Value::Null).to_string();
        let text = format!("{{\"{name}\":null,{}", &claims[1..]);
        let t = sign_raw(&header("key-a").to_string(), &text, KEY_A);
        assert_eq!(
            check(&t, &cfg, NOW).unwrap_err(),
            TokenError::Malformed,
            "{name}"
        );
    }
}

#[test]
fn header_flags_null_is_absent_and_cbor_is_refused() {
    let cfg = config();
    let claims = v2_claims().to_string();
    let signed = |h: Value| sign_raw(&h.to_string(), &claims, KEY_A);
    let ok = signed(json!({"alg": "RS256", "kid": "key-a", "crit": null, "nonce": null}));
    assert!(check(&ok, &cfg, NOW).is_ok());
    let cases = [
        (
            json!({"alg": "RS256", "kid": "key-a", "cty": "CBOR"}),
            TokenError::Malformed,
        ),
        (
            json!({"alg": "RS256", "kid": "key-a", "zip": "DEF"}),
            TokenError::Malformed,
        ),
        (json!({"alg": "RS256", "kid": 7}), TokenError::Malformed),
        (json!({"alg": null, "kid": "key-a"}), TokenError::Malformed),
        (json!(["RS256", "key-a"]), TokenError::Malformed),
    ];
    for (h, want) in cases {
        assert_eq!(
            check(&signed(h.clone()), &cfg, NOW).unwrap_err(),
            want,
            "{h}"
        );
    }
    let crit_twice = sign_raw(
        r#"{"alg":"RS256","kid":"key-a","nonce":null,"nonce":"n"}"#,
        &claims,
        KEY_A,
    );
    assert_eq!(
        check(&crit_twice, &cfg, NOW).unwrap_err(),
        TokenError::Malformed
    );
}

#[test]
fn bytes_that_are_not_a_compact_jws_are_malformed() {
    let good = token();
    let (head, rest) = good.split_once('.').unwrap();
    let (body, sig) = rest.split_once('.').unwrap();
    let mut latin1 = good.clone().into_bytes();
    latin1[3] = 0xe9;
    for t in [
        format!(".{body}.{sig}"),
        format!("{head}..{sig}"),
        format!("{head}.{body}.{sig}."),
        format!("{head}.{body}.{sig}=="),
        format!("{head}.{body}.+{}", &sig[1..]),
    ] {
        assert_eq!(
            UntrustedToken::parse(t.as_bytes(), 16_384).unwrap_err(),
            TokenError::Malformed,
            "{t:.80}"
        );
    }
    assert_eq!(
        UntrustedToken::parse(&latin1, 16_384).unwrap_err(),
        TokenError::Malformed
    );
}

#[test]
fn an_unsigned_token_is_told_its_algorithm_first() {
    let cfg = config();
    let claims = URL_SAFE_NO_PAD_ENCODE(&v2_claims().to_string());
    let none = URL_SAFE_NO_PAD_ENCODE(r#"{"alg":"none","kid":"key-a"}"#);
    let rs256 = URL_SAFE_NO_PAD_ENCODE(r#"{"alg":"RS256","kid":"key-a"}"#);
    assert_eq!(
        check(&format!("{none}.{claims}."), &cfg, NOW).unwrap_err(),
        TokenError::AlgorithmNotAllowed
    );
    assert_eq!(
        check(&format!("{rs256}.{claims}."), &cfg, NOW).unwrap_err(),
        TokenError::Malformed
    );
}

/// A header member the filter does not read is skipped unread, however
/// deep (jwt-compact's `Header` flattens its extension, which buffers it
/// and refused this token at serde_json's depth limit).
#[test]
fn unknown_header_members_are_skipped_however_deep() {
    let cfg = config();
    let deep = format!("{}1{}", "[".repeat(5000), "]".repeat(5000));
    let header = format!(r#"{{"alg":"RS256","typ":"JWT","kid":"key-a","x":{deep}}}"#);
    let t = sign_raw(&header, &v2_claims().to_string(), KEY_A);
    assert!(check(&t, &cfg, NOW).is_ok());
    let twice = r#"{"alg":"RS256","kid":"key-a","kid":"key-b"}"#;
    let t = sign_raw(twice, &v2_claims().to_string(), KEY_A);
    assert_eq!(check(&t, &cfg, NOW).unwrap_err(), TokenError::Malformed);
}
