use super::*;
use crate::config::{self, Config, Requirement, Rule};
use crate::signature::RustVerifier;
use crate::testing::*;
use serde_json::{json, Value};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn config() -> Config {
    config::parse(
        json!({"entra": {"tenant_id": TENANT, "audiences": [AUDIENCE, "00000000-0000-0000-0000-0000000000aa"],
                         "client_application_ids": [CLIENT], "clock_skew_seconds": 300}})
        .to_string()
        .as_bytes(),
    )
    .unwrap()
}

/// Full pipeline as the authorizer runs it.
fn check(token: &str, cfg: &Config, now: u64) -> Result<VerifiedToken, TokenError> {
    let untrusted = UntrustedToken::parse(token.as_bytes(), cfg.entra.max_token_bytes)?;
    check_claims(untrusted.unverified_claims(), &cfg.entra, now)?;
    let keys = keyset();
    let key = keys.find(untrusted.kid()).ok_or(TokenError::UnknownKey)?;
    verify(untrusted, key, &RustVerifier)
}

fn with(mut claims: Value, key: &str, value: Value) -> Value {
    if value.is_null() {
        claims.as_object_mut().unwrap().remove(key);
    } else {
        claims[key] = value;
    }
    claims
}

#[test]
fn v2_and_v1_tokens_pass() {
    let cfg = config();
    let v = check(&token(), &cfg, NOW).unwrap();
    assert_eq!(v.claims().client_id(), Some(CLIENT));
    assert_eq!(v.kid(), "key-a");
    let v1 = sign(&header("key-a"), &v1_claims());
    assert_eq!(
        check(&v1, &cfg, NOW).unwrap().claims().client_id(),
        Some(CLIENT)
    );
    let arr = sign(
        &header("key-a"),
        &with(v2_claims(), "aud", json!(["x", AUDIENCE])),
    );
    assert!(check(&arr, &cfg, NOW).is_ok());
}

#[test]
fn claim_failures_are_classified() {
    let cfg = config();
    let iss_v2 = |t: &str| json!(format!("{AUTHORITY}/{t}/v2.0"));
    let cases: Vec<(Value, TokenError)> = vec![
        (
            with(v2_claims(), "exp", Value::Null),
            TokenError::MissingExpiry,
        ),
        (
            with(v2_claims(), "exp", json!(NOW - 301)),
            TokenError::Expired,
        ),
        (
            with(v2_claims(), "nbf", json!(NOW + 301)),
            TokenError::NotYetValid,
        ),
        (
            with(v2_claims(), "exp", json!("1900000000")),
            TokenError::Malformed,
        ),
        (
            with(v2_claims(), "exp", json!(1e300)),
            TokenError::Malformed,
        ),
        (with(v2_claims(), "exp", json!(-5)), TokenError::Malformed),
        (with(v2_claims(), "iss", Value::Null), TokenError::Issuer),
        (
            with(
                v2_claims(),
                "iss",
                json!(format!("{AUTHORITY}/{TENANT}/V2.0")),
            ),
            TokenError::Issuer,
        ),
        (
            with(
                v2_claims(),
                "iss",
                json!(format!("https://LOGIN.microsoftonline.com/{TENANT}/v2.0")),
            ),
            TokenError::Issuer,
        ),
        (
            with(
                v2_claims(),
                "iss",
                json!(format!("{AUTHORITY}/{TENANT}/v2.0/")),
            ),
            TokenError::Issuer,
        ),
        (
            with(
                with(v2_claims(), "iss", iss_v2(OTHER_TENANT)),
                "tid",
                json!(OTHER_TENANT),
            ),
            TokenError::Tenant,
        ),
        (
            with(v2_claims(), "tid", json!(OTHER_TENANT)),
            TokenError::Tenant,
        ),
        (
            with(v2_claims(), "aud", json!("api://other")),
            TokenError::Audience,
        ),
        (with(v2_claims(), "aud", json!([])), TokenError::Audience),
        (with(v2_claims(), "aud", Value::Null), TokenError::Audience),
        (with(v2_claims(), "aud", json!([1])), TokenError::Malformed),
        (
            with(v2_claims(), "azp", json!("someone-else")),
            TokenError::ClientApplication,
        ),
        (
            with(v2_claims(), "azp", Value::Null),
            TokenError::ClientApplication,
        ),
        (
            with(v2_claims(), "roles", json!("Calculator.Admin")),
            TokenError::Malformed,
        ),
    ];
    for (claims, want) in cases {
        let t = sign(&header("key-a"), &claims);
        assert_eq!(check(&t, &cfg, NOW).unwrap_err(), want, "{claims}");
    }
    // Skew is honoured on both sides.
    let t = sign(
        &header("key-a"),
        &with(v2_claims(), "exp", json!(NOW - 299)),
    );
    assert!(check(&t, &cfg, NOW).is_ok());
    let t = sign(
        &header("key-a"),
        &with(v2_claims(), "nbf", json!(NOW + 299)),
    );
    assert!(check(&t, &cfg, NOW).is_ok());
    let t = sign(
        &header("key-a"),
        &with(v2_claims(), "exp", json!((NOW + 10) as f64 + 0.5)),
    );
    assert!(check(&t, &cfg, NOW).is_ok());
}

#[test]
fn header_and_structure_failures() {
    let cfg = config();
    let claims = v2_claims().to_string();
    let signed = |h: Value| sign_raw(&h.to_string(), &claims, KEY_A);
    let good = token();
    let (head, rest) = good.split_once('.').unwrap();
    let (body, sig) = rest.split_once('.').unwrap();
    let cases: Vec<(String, TokenError)> = vec![
        (
            signed(json!({"alg": "none", "kid": "key-a"})),
            TokenError::AlgorithmNotAllowed,
        ),
        (
            signed(json!({"alg": "HS256", "kid": "key-a"})),
            TokenError::AlgorithmNotAllowed,
        ),
        (
            signed(json!({"alg": "rs256", "kid": "key-a"})),
            TokenError::AlgorithmNotAllowed,
        ),
        (signed(json!({"alg": "RS256"})), TokenError::MissingKeyId),
        (
            signed(json!({"alg": "RS256", "kid": ""})),
            TokenError::Malformed,
        ),
        (
            signed(json!({"alg": "RS256", "kid": "key-a", "crit": ["exp"]})),
            TokenError::CriticalHeader,
        ),
        (
            signed(json!({"alg": "RS256", "kid": "key-a", "nonce": "abc"})),
            TokenError::GraphToken,
        ),
        (
            signed(json!({"alg": "RS256", "kid": "key-a", "enc": "A128GCM"})),
            TokenError::Malformed,
        ),
        (
            sign_raw(
                r#"{"alg":"RS256","alg":"none","kid":"key-a"}"#,
                &claims,
                KEY_A,
            ),
            TokenError::Malformed,
        ),
        (
            sign_raw(
                r#"{"alg":"RS256","kid":"key-a"}"#,
                r#"{"aud":"x","aud":"api://calculator"}"#,
                KEY_A,
            ),
            TokenError::Malformed,
        ),
        (
            signed(json!({"alg": "RS256", "kid": "key-b"})),
            TokenError::UnknownKey,
        ),
        (
            sign_raw(&header("key-a").to_string(), &claims, KEY_B),
            TokenError::BadSignature,
        ),
        (format!("{head}.{body}."), TokenError::Malformed),
        (format!("{head}.{body}"), TokenError::Malformed),
        (format!("{head}.{body}.{sig}.x.y"), TokenError::Malformed),
        (
            format!("{head}.{body}.{}", &sig[..sig.len() - 4]),
            TokenError::Malformed,
        ),
        (
            format!("{head}.{body}.{}", &sig[..sig.len() - 6]),
            TokenError::BadSignature,
        ),
        (format!("{head}=.{body}.{sig}"), TokenError::Malformed),
        (format!("{head}.{body}.{sig}\0"), TokenError::Malformed),
        (
            format!("{head}.{}.{sig}", URL_SAFE_NO_PAD_ENCODE("[1,2]")),
            TokenError::Malformed,
        ),
        (
            format!("{head}.{}.{sig}", URL_SAFE_NO_PAD_ENCODE(&"[".repeat(500))),
            TokenError::Malformed,
        ),
        ("a".repeat(20_000), TokenError::TooLarge),
        (String::new(), TokenError::Malformed),
    ];
    for (t, want) in cases {
        assert_eq!(check(&t, &cfg, NOW).unwrap_err(), want, "{t:.80}");
    }
}

#[allow(non_snake_case)]
fn URL_SAFE_NO_PAD_ENCODE(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
}

#[test]
fn multi_tenant_issuer_follows_tid() {
    let cfg = config::parse(
        json!({"entra": {"allowed_tenants": [TENANT, OTHER_TENANT], "audiences": [AUDIENCE]}})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    let other = with(
        with(v2_claims(), "tid", json!(OTHER_TENANT)),
        "iss",
        json!(format!("{AUTHORITY}/{OTHER_TENANT}/v2.0")),
    );
    assert!(check(&sign(&header("key-a"), &other), &cfg, NOW).is_ok());
    let mismatch = with(other.clone(), "tid", json!(TENANT));
    assert_eq!(
        check(&sign(&header("key-a"), &mismatch), &cfg, NOW).unwrap_err(),
        TokenError::Issuer
    );
    let stranger = with(
        with(
            other.clone(),
            "tid",
            json!("12345678-1234-1234-1234-123456789012"),
        ),
        "iss",
        json!(format!(
            "{AUTHORITY}/12345678-1234-1234-1234-123456789012/v2.0"
        )),
    );
    assert_eq!(
        check(&sign(&header("key-a"), &stranger), &cfg, NOW).unwrap_err(),
        TokenError::Tenant
    );
    let no_tid = with(other, "tid", Value::Null);
    assert_eq!(
        check(&sign(&header("key-a"), &no_tid), &cfg, NOW).unwrap_err(),
        TokenError::Tenant
    );
}

#[test]
fn long_allowlists_hold_their_members_in_any_order() {
    let guid = |i: u32| format!("{i:08x}-0000-4000-8000-000000000000");
    // Written in descending order, the members of interest inside and last.
    let mut tenants: Vec<String> = (0..200).rev().map(guid).collect();
    tenants.insert(100, TENANT.into());
    let mut audiences: Vec<String> = (0..100).rev().map(|i| format!("api://app-{i}")).collect();
    audiences.push(AUDIENCE.into());
    let mut clients: Vec<String> = (0..100).rev().map(guid).collect();
    clients.push(CLIENT.into());
    clients.push(CLIENT.into());
    let cfg = config::parse(
        json!({"entra": {"tenant_id": TENANT, "allowed_tenants": tenants, "audiences": audiences,
                         "client_application_ids": clients}})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        cfg.entra.client_application_ids.len(),
        101,
        "repeats dropped"
    );
    assert!(check(&token(), &cfg, NOW).is_ok());
    let signed = |claims: Value| sign(&header("key-a"), &claims);
    let cases = [
        (
            with(
                with(v2_claims(), "tid", json!(OTHER_TENANT)),
                "iss",
                json!(format!("{AUTHORITY}/{OTHER_TENANT}/v2.0")),
            ),
            TokenError::Tenant,
        ),
        (
            with(v2_claims(), "aud", json!("api://app-100")),
            TokenError::Audience,
        ),
        (
            with(v2_claims(), "azp", json!(guid(100))),
            TokenError::ClientApplication,
        ),
    ];
    for (claims, want) in cases {
        assert_eq!(check(&signed(claims), &cfg, NOW).unwrap_err(), want);
    }
    for i in [0, 199] {
        let member = with(
            with(v2_claims(), "tid", json!(guid(i))),
            "iss",
            json!(format!("{AUTHORITY}/{}/v2.0", guid(i))),
        );
        assert!(check(&signed(member), &cfg, NOW).is_ok(), "{i}");
    }
}

fn rule(scopes: &[&str], roles: &[&str]) -> Rule {
    Rule {
        path_prefix: "/".into(),
        require: Requirement::Jwt,
        required_scopes: scopes.iter().map(|s| s.to_string()).collect(),
        required_roles: roles.iter().map(|s| s.to_string()).collect(),
        ..Rule::DEFAULT_JWT
    }
}

#[test]
fn permissions_need_every_scope_and_role() {
    let cfg = config();
    let v = check(&token(), &cfg, NOW).unwrap();
    let c = v.claims();
    assert!(check_permissions(c, &[], &rule(&["calculator.add"], &[])).is_ok());
    assert!(check_permissions(
        c,
        &[],
        &rule(
            &["calculator.add", "calculator.read"],
            &["Calculator.Admin"]
        )
    )
    .is_ok());
    let err =
        check_permissions(c, &[], &rule(&["calculator.add", "calculator.sub"], &[])).unwrap_err();
    assert_eq!(err.needed, vec!["calculator.add", "calculator.sub"]);
    assert!(
        check_permissions(c, &[], &rule(&["Calculator.Add"], &[])).is_err(),
        "case-sensitive"
    );
    assert!(
        check_permissions(c, &[], &rule(&["calculator"], &[])).is_err(),
        "whole words"
    );
    let err = check_permissions(c, &[], &rule(&[], &["Calculator.Root"])).unwrap_err();
    assert!(err.needed.is_empty(), "roles are not requestable scopes");
}

#[test]
fn required_claims_follow_apim_semantics() {
    use crate::config::{ClaimMatch, RequiredClaim};
    let v = check(&token(), &config(), NOW).unwrap();
    let rc = |name: &str, m: ClaimMatch, values: &[&str], sep: Option<&str>| RequiredClaim {
        name: name.into(),
        match_mode: m,
        values: values.iter().map(|s| s.to_string()).collect(),
        separator: sep.map(str::to_string),
    };
    let ok = |r: RequiredClaim| check_permissions(v.claims(), &[r], &rule(&[], &[])).is_ok();
    assert!(ok(rc(
        "roles",
        ClaimMatch::Any,
        &["x", "Calculator.Admin"],
        None
    )));
    assert!(!ok(rc(
        "roles",
        ClaimMatch::All,
        &["x", "Calculator.Admin"],
        None
    )));
    assert!(ok(rc(
        "scp",
        ClaimMatch::All,
        &["calculator.add", "calculator.read"],
        Some(" ")
    )));
    assert!(
        !ok(rc("scp", ClaimMatch::All, &["calculator.add"], None)),
        "no separator: whole string"
    );
    assert!(ok(rc("ver", ClaimMatch::Any, &["2.0"], None)));
    assert!(ok(rc(
        "exp",
        ClaimMatch::Any,
        &[&(NOW + 3600).to_string()],
        None
    )));
    assert!(!ok(rc("missing", ClaimMatch::Any, &["x"], None)));
    let scp = rc(
        "scp",
        ClaimMatch::All,
        &["calculator.add", "calculator.pow"],
        Some(" "),
    );
    let err = check_permissions(v.claims(), &[scp], &rule(&["calculator.read"], &[])).unwrap_err();
    assert_eq!(
        err.needed,
        vec!["calculator.read", "calculator.add", "calculator.pow"]
    );
}

#[test]
fn header_values_are_safe() {
    let claims = with(v2_claims(), "name", json!("line\r\nbreak"));
    let v = check(&sign(&header("key-a"), &claims), &config(), NOW).unwrap();
    assert_eq!(v.claims().header_value("oid").as_deref(), Some("o-1"));
    assert_eq!(
        v.claims().header_value("roles").as_deref(),
        Some("Calculator.Admin")
    );
    assert_eq!(v.claims().header_value("name"), None);
    assert_eq!(v.claims().header_value("absent"), None);
}

#[test]
fn only_access_token_types_are_accepted() {
    let cfg = config();
    let claims = v2_claims().to_string();
    let typed = |typ: Value| {
        let h = json!({"alg": "RS256", "kid": "key-a", "typ": typ});
        sign_raw(&h.to_string(), &claims, KEY_A)
    };
    for typ in [
        "JWT",
        "jwt",
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/JWT",
    ] {
        assert!(check(&typed(json!(typ)), &cfg, NOW).is_ok(), "{typ}");
    }
    assert!(check(&typed(Value::Null), &cfg, NOW).is_ok());
    for typ in [
        "id+jwt",
        "logout+jwt",
        "JWS",
        "",
        "application/",
        "application/id+jwt",
        "text/jwt",
        "at+jwt ",
        "xapplication/jwt",
        "application/application/jwt",
        "secevent+jwt",
    ] {
        assert_eq!(
            check(&typed(json!(typ)), &cfg, NOW).unwrap_err(),
            TokenError::TokenType,
            "{typ:?}"
        );
    }
    assert_eq!(
        check(&typed(json!(1)), &cfg, NOW).unwrap_err(),
        TokenError::Malformed
    );
    let twice = sign_raw(
        r#"{"alg":"RS256","kid":"key-a","typ":"JWT","typ":"id+jwt"}"#,
        &claims,
        KEY_A,
    );
    assert_eq!(check(&twice, &cfg, NOW).unwrap_err(), TokenError::Malformed);
    assert_eq!(TokenError::TokenType.reason().name(), "malformed");
}

mod prechecks;
