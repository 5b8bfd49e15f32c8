//! How the document is read: repeated keys, `null`, syntax and type errors.

use super::super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// serde's maps keep the last of two equal keys and its derived structs
/// refuse a second copy of a field: either way, a repeated key must stop
/// the filter, at every level, naming the key.
#[test]
fn repeated_keys_are_refused_everywhere() {
    let entra = r#""entra":{"tenant_id":"11111111-2222-3333-4444-555555555555","audiences":["a"]}"#;
    for (json, key) in [
        (format!("{{{entra},{entra}}}"), "entra"),
        (
            format!(r#"{{{entra},"claims_to_headers":{{"oid":"x-a","oid":"x-b"}}}}"#),
            "claims_to_headers.oid",
        ),
        (
            format!(
                r#"{{{entra},"rules":[{{"path_prefix":"/","path_prefix":"/a","require":"jwt"}}]}}"#
            ),
            "rules[0].path_prefix",
        ),
        (format!(r#"{{{entra},"mcp":null,"mcp":null}}"#), "mcp"),
    ] {
        let err = parse(json.as_bytes()).expect_err(&json);
        assert_eq!(
            (err.key.as_str(), err.reason.as_str()),
            (key, "duplicate key"),
            "{json}"
        );
    }
}

/// `null` reads as an absent key, as it did before serde.
#[test]
fn null_is_an_absent_key() {
    let c = parse(
        br#"{"entra":{"tenant_id":"11111111-2222-3333-4444-555555555555","audiences":["a"],
             "clock_skew_seconds":null,"client_application_ids":null,"signature_backend":null},
             "rules":null,"claims_to_headers":null,"mcp":null,"subscription_keys":null}"#,
    )
    .unwrap();
    assert_eq!(c.entra.clock_skew_seconds, 300);
    assert_eq!(c.entra.signature_backend, SignatureBackend::Auto);
    assert!(c.rules.is_empty() && c.claims_to_headers.is_empty());
}

#[test]
fn syntax_errors_give_line_and_column() {
    let err = parse(b"{\n  \"entra\": x}").unwrap_err();
    assert_eq!(err.key, "(root)");
    assert!(err.reason.starts_with("not valid JSON: "), "{err}");
    assert!(err.reason.ends_with("(line 2, column 12)"), "{err}");
    let err = parse(b"").unwrap_err();
    assert!(err.reason.ends_with("(line 1, column 1)"), "{err}");
}

/// serde's messages echo the value found; the reason keeps only what the
/// key must be.
#[test]
fn type_errors_do_not_echo_the_value() {
    let tid = r#""tenant_id":"11111111-2222-3333-4444-555555555555""#;
    for (field, value, key, reason) in [
        (
            "audiences",
            r#""s3cr3t""#,
            "entra.audiences",
            "must be an array",
        ),
        (
            "audiences",
            r#"["a",{"s3cr3t":1}]"#,
            "entra.audiences[1]",
            "must be a string",
        ),
        (
            "clock_skew_seconds",
            r#""s3cr3t""#,
            "entra.clock_skew_seconds",
            "must be a non-negative integer",
        ),
        (
            "clock_skew_seconds",
            "-1",
            "entra.clock_skew_seconds",
            "must be a non-negative integer",
        ),
        (
            "clock_skew_seconds",
            "1.0",
            "entra.clock_skew_seconds",
            "must be a non-negative integer",
        ),
        (
            "clock_skew_seconds",
            "1e2",
            "entra.clock_skew_seconds",
            "must be a non-negative integer",
        ),
        (
            "clock_skew_seconds",
            "18446744073709551616",
            "entra.clock_skew_seconds",
            "must be a non-negative integer",
        ),
        (
            "required_claims",
            r#"["s3cr3t"]"#,
            "entra.required_claims[0]",
            "must be a JSON object",
        ),
    ] {
        let json = format!(r#"{{"entra":{{{tid},"audiences":["a"],"{field}":{value}}}}}"#)
            .replacen(r#""audiences":["a"],"audiences""#, r#""audiences""#, 1);
        let err = parse(json.as_bytes()).expect_err(&json);
        assert_eq!(
            (err.key.as_str(), err.reason.as_str()),
            (key, reason),
            "{json}"
        );
    }
}

/// 10,000 subscriptions with a primary and a secondary key are about
/// 1.9 MB of JSON: such a configuration starts, and the bound still holds
/// just above 4 MiB.
#[test]
fn ten_thousand_subscriptions_fit_and_the_size_stays_bounded() {
    let key = |i: usize, slot: u8| {
        format!(
            r#"{{"name":"subscription-{i:05}","sha256":"{:064x}"}}"#,
            i * 2 + usize::from(slot)
        )
    };
    let keys: Vec<String> = (0..10_000).flat_map(|i| [key(i, 0), key(i, 1)]).collect();
    let json = format!(
        r#"{{"entra":{{"tenant_id":"11111111-2222-3333-4444-555555555555","audiences":["a"]}},
            "subscription_keys":{{"keys":[{}]}}}}"#,
        keys.join(",")
    );
    assert!(json.len() > 1 << 20, "{}", json.len());
    let c = parse(json.as_bytes()).expect("10,000 subscriptions");
    assert_eq!(c.subscription.map(|s| s.keys.len()), Some(20_000));

    let mut padded = json.into_bytes();
    padded.resize(MAX_CONFIG_BYTES + 1, b' ');
    let err = parse(&padded).expect_err("over the bound");
    assert_eq!(err.reason, "configuration larger than 4 MiB");
}
