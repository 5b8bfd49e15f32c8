use super::*;
use crate::authorize::DenyReason;
use crate::config::SubscriptionKey;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const PRIMARY: &str = "0123456789abcdef0123456789abcdef";
const SECONDARY: &str = "fedcba9876543210fedcba9876543210";
const OTHER: &str = "a+b/c=d~e!f";

fn digest(key: &[u8]) -> [u8; 32] {
    Sha256::digest(key).into()
}

fn entry(name: &str, key: &[u8]) -> SubscriptionKey {
    SubscriptionKey {
        name: name.into(),
        sha256: digest(key),
    }
}

fn cfg() -> SubscriptionConfig {
    SubscriptionConfig {
        header: "ocp-apim-subscription-key".into(),
        query: Some("subscription-key".into()),
        keys: vec![
            entry("contoso", PRIMARY.as_bytes()),
            entry("contoso", SECONDARY.as_bytes()),
            entry("fabrikam", OTHER.as_bytes()),
            entry("longest", "A".repeat(MAX_KEY_BYTES).as_bytes()),
        ],
        name_header: "x-apim-subscription-name".into(),
        realm: "entra-guard".into(),
    }
}

fn headers<'a>(list: &[(&'a str, &'a [u8])]) -> Vec<crate::headers::Header<'a>> {
    list.to_vec()
}

/// What `find_key` returned, flattened for table comparisons.
#[derive(Debug, PartialEq)]
enum Found {
    Absent,
    Present(Vec<u8>),
    Ambiguous,
}

fn find(c: &SubscriptionConfig, h: &[(&str, &[u8])], path: &str) -> Found {
    match find_key(c, &headers(h), path) {
        KeyPresence::Absent => Found::Absent,
        KeyPresence::Present(k) => Found::Present(k.to_vec()),
        KeyPresence::Ambiguous => Found::Ambiguous,
    }
}

fn present(bytes: &[u8]) -> Found {
    Found::Present(bytes.to_vec())
}

const H: &str = "ocp-apim-subscription-key";

type Headers<'a> = &'a [(&'a str, &'a [u8])];

#[test]
fn finds_keys_with_apim_precedence() {
    let cases: Vec<(Headers, &str, Found)> = vec![
        (&[], "/p", Found::Absent),
        (&[], "/p?", Found::Absent),
        (&[("x", b"1")], "/p?a=1", Found::Absent),
        (&[(H, b"k1")], "/p", present(b"k1")),
        (
            &[("Ocp-Apim-Subscription-Key", b"k1")],
            "/p",
            present(b"k1"),
        ),
        (&[(H, b"")], "/p", present(b"")),
        (&[(H, b"k1")], "/p?subscription-key=k2", present(b"k1")),
        (&[(H, b"")], "/p?subscription-key=k2", present(b"")),
        (
            &[(H, b"k1")],
            "/p?subscription-key=a&subscription-key=b",
            present(b"k1"),
        ),
        (
            &[(H, b"k1"), ("x", b"y"), (H, b"k1")],
            "/p",
            Found::Ambiguous,
        ),
        (
            &[(H, b"k1"), (H, b"")],
            "/p?subscription-key=k2",
            Found::Ambiguous,
        ),
        (&[(H, &[0xff, 0xfe])], "/p", present(&[0xff, 0xfe])),
        (
            &[("ocp-apim-subscription-key2", b"k1")],
            "/p",
            Found::Absent,
        ),
        (&[], "/p?subscription-key=k2", present(b"k2")),
        (&[], "/p?a=1&subscription-key=k2&b=2", present(b"k2")),
        (
            &[],
            "/p?subscription-key=a&subscription-key=b",
            Found::Ambiguous,
        ),
        (
            &[],
            "/p?subscription-key=a&subscription-key=a",
            Found::Ambiguous,
        ),
        (
            &[],
            "/p?subscription-key=a&subscription%2Dkey=b",
            Found::Ambiguous,
        ),
        (&[], "/p?subscription-key2=k", Found::Absent),
        (&[], "/p?my-subscription-key=k", Found::Absent),
        (&[], "/p%3Fsubscription-key=k", Found::Absent),
        (&[], "/p?subscription%2Dkey=k", present(b"k")),
        (&[], "/p?subscription-key", present(b"")),
        (&[], "/p?subscription-key=%41%42%43", present(b"ABC")),
        (&[], "/p?subscription-key=%2541", present(b"%41")),
        (&[], "/p?subscription-key=a+b", present(b"a+b")),
        (&[], "/p?subscription-key=a%2Bb", present(b"a+b")),
        (&[], "/p?subscription-key=a%20b", present(b"a b")),
        (&[], "/p?subscription-key=%zz", present(b"%zz")),
        (&[], "/p?subscription-key=%FF", present(&[0xff])),
        (&[], "/p?subscription-key=k#f", present(b"k#f")),
    ];
    let c = cfg();
    for (h, path, want) in cases {
        assert_eq!(find(&c, h, path), want, "{h:?} {path}");
    }
}

#[test]
fn query_form_can_be_disabled() {
    let mut c = cfg();
    c.query = None;
    assert_eq!(find(&c, &[], "/p?subscription-key=k"), Found::Absent);
    assert_eq!(
        find(&c, &[(H, b"k")], "/p?subscription-key=j"),
        present(b"k")
    );
}

#[test]
fn other_names_are_configurable() {
    let mut c = cfg();
    c.header = "x-api-key".into();
    c.query = Some("code".into());
    assert_eq!(find(&c, &[(H, b"k")], "/p"), Found::Absent);
    assert_eq!(find(&c, &[("x-api-key", b"k")], "/p"), present(b"k"));
    assert_eq!(find(&c, &[], "/p?subscription-key=k&code=j"), present(b"j"));
}

#[test]
fn url_encoded_keys_match_once_decoded() {
    let c = cfg();
    let encoded: String = PRIMARY.bytes().map(|b| format!("%{b:02X}")).collect();
    let twice: String = PRIMARY.bytes().map(|b| format!("%25{b:02X}")).collect();
    let cases = [
        (format!("/p?subscription-key={PRIMARY}"), Some("contoso")),
        (format!("/p?subscription-key={encoded}"), Some("contoso")),
        (format!("/p?subscription-key={twice}"), None),
        (
            "/p?subscription-key=a%2Bb/c%3Dd~e!f".to_string(),
            Some("fabrikam"),
        ),
        (
            "/p?subscription-key=a+b/c=d~e!f".to_string(),
            Some("fabrikam"),
        ),
        ("/p?subscription-key=a%20b/c=d~e!f".to_string(), None),
        (
            format!("/p?subscription-key={}", "%41".repeat(MAX_KEY_BYTES)),
            Some("longest"),
        ),
        (
            format!("/p?subscription-key={}", "%41".repeat(MAX_KEY_BYTES + 1)),
            None,
        ),
        (
            format!("/p?subscription-key={}", "%41".repeat(10_000)),
            None,
        ),
    ];
    for (path, want) in cases {
        let KeyPresence::Present(k) = find_key(&c, &[], &path) else {
            panic!("no key in {path}");
        };
        let got = match check_key(&c, &KeyIndex::new(&c), k) {
            KeyCheck::Valid { name } => Some(name),
            KeyCheck::Invalid => None,
        };
        assert_eq!(got, want, "{path}");
    }
}

#[test]
fn every_configured_key_matches_with_its_name() {
    let c = cfg();
    let long = "A".repeat(MAX_KEY_BYTES);
    let cases = [
        (PRIMARY, "contoso"),
        (SECONDARY, "contoso"),
        (OTHER, "fabrikam"),
        (long.as_str(), "longest"),
    ];
    for (key, name) in cases {
        assert_eq!(
            check_key(&c, &KeyIndex::new(&c), key.as_bytes()),
            KeyCheck::Valid { name },
            "{key}"
        );
        let owned = Candidate(Cow::Owned(key.as_bytes().to_vec()));
        assert_eq!(
            check_key(&c, &KeyIndex::new(&c), owned),
            KeyCheck::Valid { name }
        );
    }
}

#[test]
fn wrong_keys_are_invalid_whatever_their_length() {
    let c = cfg();
    let mut same_length = PRIMARY.as_bytes().to_vec();
    same_length[31] ^= 1;
    let long = "A".repeat(MAX_KEY_BYTES + 1);
    let cases: &[&[u8]] = &[
        &same_length,
        b"0123456789abcdef0123456789abcde",
        b"0123456789abcdef0123456789abcdef0",
        b"0123456789ABCDEF0123456789ABCDEF",
        b"x",
        b"",
        long.as_bytes(),
        b"0123456789abcdef 123456789abcdef",
        b"0123456789abcdef\t123456789abcdef",
        b" 0123456789abcdef0123456789abcdef",
        b"0123456789abcdef0123456789abcdef\n",
        &[0xff, 0x41],
        "caf\u{e9}".as_bytes(),
        b"\0",
    ];
    for key in cases {
        assert_eq!(
            check_key(&c, &KeyIndex::new(&c), key),
            KeyCheck::Invalid,
            "{key:?}"
        );
        assert_eq!(
            KeyCheck::Invalid.reason(),
            Some(DenyReason::SubscriptionInvalid)
        );
    }
}

#[test]
fn the_first_entry_of_a_shared_digest_names_the_match() {
    let mut c = cfg();
    c.keys = vec![
        entry("a", b"other"),
        entry("first", b"shared"),
        entry("second", b"shared"),
        entry("z", b"last"),
    ];
    assert_eq!(
        check_key(&c, &KeyIndex::new(&c), b"shared"),
        KeyCheck::Valid { name: "first" }
    );
    assert_eq!(
        check_key(&c, &KeyIndex::new(&c), b"last"),
        KeyCheck::Valid { name: "z" }
    );
    assert_eq!(check_key(&c, &KeyIndex::new(&c), b"a"), KeyCheck::Invalid);
    c.keys.clear();
    assert_eq!(
        check_key(&c, &KeyIndex::new(&c), b"shared"),
        KeyCheck::Invalid
    );
}

#[test]
fn twenty_thousand_keys_each_find_their_own_subscription() {
    let mut c = cfg();
    c.keys = (0..10_000)
        .flat_map(|i| {
            let name = format!("sub-{i}");
            [
                entry(&name, format!("key-{i}-primary").as_bytes()),
                entry(&name, format!("key-{i}-secondary").as_bytes()),
            ]
        })
        .collect();
    let index = KeyIndex::new(&c);
    for i in [0, 1, 4_999, 9_999] {
        let name = format!("sub-{i}");
        for which in ["primary", "secondary"] {
            let key = format!("key-{i}-{which}");
            assert_eq!(
                check_key(&c, &index, key.as_bytes()),
                KeyCheck::Valid { name: &name },
                "{key}"
            );
        }
    }
    assert_eq!(
        check_key(&c, &index, b"key-10000-primary"),
        KeyCheck::Invalid
    );
    assert_eq!(check_key(&c, &index, b"key-1-tertiary"), KeyCheck::Invalid);
}

#[test]
fn an_index_of_other_keys_never_admits_a_key() {
    // The entry the index points at is compared with the candidate's
    // digest: a stale index cannot turn a lookup into a match.
    let old = cfg();
    let index = KeyIndex::new(&old);
    let mut new = cfg();
    new.keys[0] = entry("contoso", b"rotated-primary");
    assert_eq!(check_key(&new, &index, PRIMARY), KeyCheck::Invalid);
    assert_eq!(
        check_key(&new, &index, SECONDARY),
        KeyCheck::Valid { name: "contoso" }
    );
}

#[test]
fn acceptable_keys_are_visible_ascii_up_to_256_bytes() {
    assert!(is_acceptable_key(b"!"));
    assert!(is_acceptable_key(b"~"));
    assert!(is_acceptable_key("k".repeat(MAX_KEY_BYTES).as_bytes()));
    assert!(!is_acceptable_key("k".repeat(MAX_KEY_BYTES + 1).as_bytes()));
    assert!(!is_acceptable_key(b""));
    assert!(!is_acceptable_key(b" "));
    assert!(!is_acceptable_key(&[0x7f]));
}

#[test]
fn digests_are_lowercase_hex() {
    assert_eq!(
        key_digest_hex(b"test"),
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    );
}

#[test]
fn reasons_name_the_failure() {
    let c = cfg();
    let h = headers(&[(H, b"k")]);
    assert_eq!(
        find_key(&c, &[], "/p").reason(),
        Some(DenyReason::SubscriptionMissing)
    );
    assert_eq!(find_key(&c, &h, "/p").reason(), None);
    assert_eq!(
        KeyPresence::Ambiguous.reason(),
        Some(DenyReason::InvalidRequest)
    );
    assert_eq!(KeyCheck::Valid { name: "n" }.reason(), None);
    assert_eq!(
        DenyReason::SubscriptionMissing.name(),
        "subscription_missing"
    );
    assert_eq!(
        DenyReason::SubscriptionInvalid.name(),
        "subscription_invalid"
    );
}

#[test]
fn debug_output_never_shows_the_key() {
    let c = cfg();
    let h = headers(&[(H, PRIMARY.as_bytes())]);
    let shown = format!("{:?}", find_key(&c, &h, "/p"));
    assert!(!shown.contains(PRIMARY), "{shown}");
    assert!(shown.contains("32 bytes"), "{shown}");
    let shown = format!("{:?}", find_key(&c, &[], "/p?subscription-key=secret"));
    assert!(!shown.contains("secret"), "{shown}");
}
