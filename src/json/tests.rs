//! The reader and writer against serde_json, the reference they replaced.

use super::*;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// Whether our value is the one serde_json reads from the same text.
pub fn same(ours: &Value, theirs: &serde_json::Value) -> bool {
    use serde_json::Value as J;
    match (ours, theirs) {
        (Value::Null, J::Null) => true,
        (Value::Bool(a), J::Bool(b)) => a == b,
        (Value::Number(n), J::Number(m)) => {
            serde_json::from_str::<J>(n.as_str()).ok() == Some(J::Number(m.clone()))
        }
        (Value::String(a), J::String(b)) => a == b,
        (Value::Array(a), J::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
        }
        (Value::Object(a), J::Object(b)) => {
            a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
        }
        _ => false,
    }
}

const VALID: &[&str] = &[
    "null",
    " true ",
    "false",
    "0",
    "-0",
    "12345678901234567890",
    "-1.5e+10",
    "2.5E-3",
    "1e400",
    r#""""#,
    r#""plain""#,
    r#""\"\\\/\b\f\n\r\t""#,
    r#""\u0000\u001f\u00e9\u20AC""#,
    r#""\ud83d\ude00 and 😀""#,
    "\"caf\u{e9} \u{7f}\"",
    "[]",
    "[ 1 , [2, [3]] ]",
    "{}",
    r#"{"a":1,"b":{"c":[true,null,"x"]},"":""}"#,
    "\t\r\n{ \"k\" :\n\"v\" }\n",
];

const INVALID: &[&str] = &[
    "",
    " ",
    "nul",
    "True",
    "01",
    "-",
    "1.",
    ".5",
    "1e",
    "+1",
    "0x10",
    "NaN",
    r#""open"#,
    r#""\x""#,
    r#""\u12""#,
    r#""\ud800""#,
    r#""\udc00""#,
    r#""\ud800\u0041""#,
    "\"tab\there\"",
    "[1,]",
    "[1 2]",
    "{\"a\":1,}",
    "{\"a\" 1}",
    "{a:1}",
    "{\"a\":1",
    "[",
    "1 2",
    "{} x",
    "\u{feff}{}",
];

#[test]
fn reads_what_serde_json_reads() {
    for text in VALID {
        let theirs: serde_json::Value =
            serde_json::from_str(text).unwrap_or(serde_json::Value::Null);
        let ours = parse(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"));
        if *text != "1e400" {
            assert!(same(&ours, &theirs), "{text}: {ours:?} vs {theirs:?}");
        }
        Reader::new(text.as_bytes()).skip().unwrap();
    }
}

#[test]
fn refuses_what_serde_json_refuses() {
    for text in INVALID {
        assert!(
            serde_json::from_str::<serde_json::Value>(text).is_err(),
            "{text}"
        );
        assert!(parse(text.as_bytes()).is_err(), "{text}");
        let mut reader = Reader::new(text.as_bytes());
        assert!(reader.skip().and_then(|()| reader.end()).is_err(), "{text}");
    }
    assert_eq!(parse(b"\"\xff\""), Err(JsonError::InvalidUtf8));
    assert_eq!(parse(b"\"\xc3\""), Err(JsonError::InvalidUtf8));
}

#[test]
fn repeated_keys_are_errors_at_any_depth_and_size() {
    let err = parse(br#"{"aud":"a","aud":"b"}"#).unwrap_err();
    assert_eq!(err.to_string(), "duplicate key `aud`");
    assert!(parse(br#"[{"x":{"y":1,"y":1}}]"#).is_err());
    assert_eq!(Reader::new(br#"{"x":{"y":1,"y":1}}"#).skip(), Ok(()));
    let many: Vec<String> = (0..500).map(|i| format!("\"k{i}\":{i}")).collect();
    let ok = format!("{{{}}}", many.join(","));
    assert_eq!(parse(ok.as_bytes()).map(|_| ()), Ok(()));
    let repeated = format!("{{{},\"k250\":0}}", many.join(","));
    assert_eq!(
        parse(repeated.as_bytes()),
        Err(JsonError::DuplicateKey("k250".into()))
    );
}

#[test]
fn nesting_stops_where_serde_json_stops() {
    let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    for depth in [MAX_DEPTH, MAX_DEPTH + 1] {
        let text = nested(depth);
        let theirs = serde_json::from_str::<serde_json::Value>(&text).is_ok();
        assert_eq!(parse(text.as_bytes()).is_ok(), theirs, "{depth}");
    }
    assert_eq!(
        parse(nested(MAX_DEPTH + 1).as_bytes()),
        Err(JsonError::TooDeep)
    );
    assert_eq!(parse(&vec![b'['; 100_000]), Err(JsonError::TooDeep));
    // Skipping keeps no tree and does not recurse: any depth is fine.
    let deep = format!("{}1{}", "[{\"k\":".repeat(50_000), "}]".repeat(50_000));
    assert_eq!(Reader::new(deep.as_bytes()).skip(), Ok(()));
    let open = "[{\"k\":".repeat(50_000);
    assert_eq!(
        Reader::new(open.as_bytes()).skip(),
        Err(JsonError::UnexpectedEnd)
    );
}

#[test]
fn numbers_keep_their_text() {
    let n = |t: &str| match parse(t.as_bytes()) {
        Ok(Value::Number(n)) => n,
        other => panic!("{t}: {other:?}"),
    };
    assert_eq!(n("1700000000").as_u64(), Some(1_700_000_000));
    assert_eq!(n("18446744073709551615").as_u64(), Some(u64::MAX));
    assert_eq!(n("18446744073709551616").as_u64(), None);
    for t in ["-1", "1.0", "1e3", "-0"] {
        assert_eq!(n(t).as_u64(), None, "{t}");
    }
    assert_eq!(n("2.5E-3").to_string(), "2.5E-3");
}

#[test]
fn whole_part_truncates_exactly() {
    let w = |t: &str| match parse(t.as_bytes()) {
        Ok(Value::Number(n)) => n.whole_part(),
        other => panic!("{t}: {other:?}"),
    };
    let cases: &[(&str, Option<u64>)] = &[
        ("0", Some(0)),
        ("-0", Some(0)),
        ("-0.0e5", Some(0)),
        ("1700000000", Some(1_700_000_000)),
        ("1700000000.999", Some(1_700_000_000)),
        ("1.7e9", Some(1_700_000_000)),
        ("17E+8", Some(1_700_000_000)),
        ("0.000123e5", Some(12)),
        ("1.5e-3", Some(0)),
        ("1e-99999999999999999999", Some(0)),
        ("0e99999999999999999999", Some(0)),
        ("18446744073709551615.9", Some(u64::MAX)),
        ("18446744073709551616", None),
        ("1e20", None),
        ("1e99999999999999999999", None),
        ("-1", None),
        ("-0.5", None),
    ];
    for (text, want) in cases {
        assert_eq!(w(text), *want, "{text}");
    }
}

#[test]
fn members_can_be_read_one_by_one() {
    let text = br#" {"skip":[1,{"a":[]}],"method":"tools/call","params":{"name":"add"}} "#;
    let mut reader = Reader::new(text);
    let mut cursor = reader.object().unwrap().unwrap();
    let mut seen = Vec::new();
    while let Some(key) = reader.next_key(&mut cursor).unwrap() {
        if key == "method" {
            assert_eq!(reader.value().unwrap(), Value::String("tools/call".into()));
        } else if key == "params" {
            let mut inner = reader.object().unwrap().unwrap();
            assert_eq!(
                reader.next_key(&mut inner).unwrap().as_deref(),
                Some("name")
            );
            reader.skip().unwrap();
            assert_eq!(reader.next_key(&mut inner).unwrap(), None);
        } else {
            reader.skip().unwrap();
        }
        seen.push(key);
    }
    reader.end().unwrap();
    assert_eq!(seen, ["skip", "method", "params"]);
    assert!(Reader::new(b"[1]").object().unwrap().is_none());
    assert!(Reader::new(b" null").at_null());
}

#[test]
fn writes_what_serde_json_writes() {
    let samples = [
        "",
        "plain",
        "quote \" backslash \\ slash /",
        "\u{0}\u{1}\u{8}\u{c}\n\r\t\u{1f}\u{7f}",
        "café 😀",
    ];
    for s in samples {
        let mut ours = String::new();
        push_string(&mut ours, s);
        assert_eq!(ours, serde_json::to_string(s).unwrap());
    }
    let doc = ObjectWriter::new()
        .string("error", "invalid_token")
        .strings("list", &["a", "b\"c"])
        .strings::<&str>("none", &[])
        .number("statusCode", 401)
        .finish();
    assert_eq!(
        doc,
        r#"{"error":"invalid_token","list":["a","b\"c"],"none":[],"statusCode":401}"#
    );
    assert_eq!(ObjectWriter::new().finish(), "{}");
}
