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

/// jwt-compact truncates a NumericDate toward zero: between -1 and 0 it
/// reads as 1970 itself, an `exp` long past and an `nbf` that holds
/// nothing back.
#[test]
fn numeric_dates_just_below_zero_read_as_1970() {
    let cfg = config();
    let t = sign(&header("key-a"), &with(v2_claims(), "exp", json!(-0.5)));
    assert_eq!(check(&t, &cfg, NOW).unwrap_err(), TokenError::Expired);
    let t = sign(&header("key-a"), &with(v2_claims(), "nbf", json!(-0.25)));
    assert!(check(&t, &cfg, NOW).is_ok());
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

/// A header member the filter does not read is ignored; serde buffers it
/// (jwt-compact's `Header` flattens its extension fields), so one nested
/// deeper than serde_json's recursion limit makes the header malformed,
/// like the claims, without recursing further. A member named twice is
/// refused.
#[test]
fn unknown_header_members_are_ignored_to_serde_json_depth() {
    let cfg = config();
    let nested = |depth: usize| format!("{}1{}", "[".repeat(depth), "]".repeat(depth));
    let header = |depth| {
        format!(
            r#"{{"alg":"RS256","typ":"JWT","kid":"key-a","x":{}}}"#,
            nested(depth)
        )
    };
    let t = sign_raw(&header(100), &v2_claims().to_string(), KEY_A);
    assert!(check(&t, &cfg, NOW).is_ok());
    let t = sign_raw(&header(5000), &v2_claims().to_string(), KEY_A);
    assert_eq!(check(&t, &cfg, NOW).unwrap_err(), TokenError::Malformed);
    let twice = r#"{"alg":"RS256","kid":"key-a","kid":"key-b"}"#;
    let t = sign_raw(twice, &v2_claims().to_string(), KEY_A);
    assert_eq!(check(&t, &cfg, NOW).unwrap_err(), TokenError::Malformed);
}

/// jwt-compact reads the certificate members of the header: Entra's `x5t`
/// (a base64url SHA-1 thumbprint) passes; another form is malformed.
#[test]
fn certificate_header_members_are_read_by_jwt_compact() {
    let cfg = config();
    let claims = v2_claims().to_string();
    let entra = r#"{"typ":"JWT","alg":"RS256","x5t":"nOo3ZDrODXEK1jKWhXslHR_KXEg","kid":"key-a"}"#;
    assert!(check(&sign_raw(entra, &claims, KEY_A), &cfg, NOW).is_ok());
    for bad in [
        r#"{"alg":"RS256","x5t":5,"kid":"key-a"}"#,
        r#"{"alg":"RS256","x5t":"not base64!","kid":"key-a"}"#,
        r#"{"alg":"RS256","jku":["https://evil"],"kid":"key-a"}"#,
    ] {
        let t = sign_raw(bad, &claims, KEY_A);
        assert_eq!(
            check(&t, &cfg, NOW).unwrap_err(),
            TokenError::Malformed,
            "{bad}"
        );
    }
}
