//! The query-string side of subscription keys: finding the parameter and
//! removing it. Both go through `name_matches`, so the filter strips exactly
//! what it checked, never more and never less.
//!
//! How a query is read (RFC 3986, not HTML forms):
//! - the query is everything after the first `?`; a `:path` that reaches a
//!   filter has no fragment (Envoy strips or rejects it), so `#` is just a
//!   byte here, read and stripped like any other;
//! - parameters are separated by `&`; a name is what precedes the first `=`
//!   (the whole parameter when there is none, which makes an empty value);
//! - names and values are percent-decoded exactly once, so a key encoded
//!   twice arrives as `%41...` and is simply invalid; a `%` without two hex
//!   digits after it stays as it is (as WHATWG URL parsers do);
//! - `+` stays `+`: keys never contain spaces (see `is_acceptable_key`), so
//!   reading `+` as a space could only break a key that really has a `+`.

use std::borrow::Cow;

/// The query of a `:path`, if it has a `?`.
pub(super) fn query(raw_path: &str) -> Option<&str> {
    raw_path.split_once('?').map(|(_, q)| q)
}

/// `param` occurs more than once in the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Repeated;

/// The raw (still encoded) value of `param` when it occurs exactly once.
pub(super) fn single_value<'q>(query: &'q str, param: &str) -> Result<Option<&'q str>, Repeated> {
    let mut found = None;
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name_matches(name, param) {
            if found.is_some() {
                return Err(Repeated);
            }
            found = Some(value);
        }
    }
    Ok(found)
}

/// Whether the query of `raw_path` holds `param` at least once, its name
/// read as `single_value` reads names (decoded once, case-sensitive).
pub fn has_query_param(raw_path: &str, param: &str) -> bool {
    query(raw_path).is_some_and(|q| {
        q.split('&')
            .any(|pair| name_matches(pair.split_once('=').map_or(pair, |(n, _)| n), param))
    })
}

/// Percent-decodes `raw` unless it could only decode to more than
/// `max_decoded` bytes: such a value is refused by length either way, and
/// leaving it encoded keeps it too long while allocating nothing.
pub(super) fn decode_bounded(raw: &str, max_decoded: usize) -> Cow<'_, [u8]> {
    let could_fit = raw.len() <= max_decoded.saturating_mul(3);
    if could_fit && raw.contains('%') {
        Cow::Owned(Decoded(raw.as_bytes()).collect())
    } else {
        Cow::Borrowed(raw.as_bytes())
    }
}

/// Returns `raw_path` without any occurrence of `param` in its query, every
/// other byte (path, other parameters, their order and encoding, empty
/// parameters) as it was, and without the `?` when nothing is left after it.
/// `None` when the query holds no such parameter.
pub fn strip_query_param(raw_path: &str, param: &str) -> Option<String> {
    let (path, query) = raw_path.split_once('?')?;
    let mut kept = String::with_capacity(query.len());
    let mut removed = false;
    let mut first = true;
    for pair in query.split('&') {
        let name = pair.split_once('=').map_or(pair, |(n, _)| n);
        if name_matches(name, param) {
            removed = true;
            continue;
        }
        if !first {
            kept.push('&');
        }
        kept.push_str(pair);
        first = false;
    }
    if !removed {
        return None;
    }
    let mut out = String::with_capacity(raw_path.len());
    out.push_str(path);
    if !kept.is_empty() {
        out.push('?');
        out.push_str(&kept);
    }
    Some(out)
}

/// Exact, case-sensitive comparison of the decoded name; decoding streams,
/// so a long name costs no allocation.
fn name_matches(raw_name: &str, param: &str) -> bool {
    !param.is_empty() && Decoded(raw_name.as_bytes()).eq(param.bytes())
}

/// Percent-decoding, one pass, malformed escapes kept literally.
struct Decoded<'a>(&'a [u8]);

impl Iterator for Decoded<'_> {
    type Item = u8;

    fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        if first == b'%' {
            if let [hi, lo, after @ ..] = rest {
                if let (Some(hi), Some(lo)) = (hex(*hi), hex(*lo)) {
                    self.0 = after;
                    return Some(hi << 4 | lo);
                }
            }
        }
        self.0 = rest;
        Some(first)
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const P: &str = "subscription-key";

    #[test]
    fn decodes_once_and_keeps_malformed_escapes() {
        let cases: &[(&str, &[u8])] = &[
            ("abc", b"abc"),
            ("%41%42c", b"ABc"),
            ("%4a%4A", b"JJ"),
            ("%2541", b"%41"),
            ("a+b", b"a+b"),
            ("%20", b" "),
            ("%zz", b"%zz"),
            ("%4", b"%4"),
            ("%", b"%"),
            ("%%41", b"%A"),
            ("%ff%00", &[0xff, 0x00]),
            ("", b""),
        ];
        for (raw, want) in cases {
            assert_eq!(&*decode_bounded(raw, 256), *want, "{raw}");
        }
    }

    #[test]
    fn long_values_stay_encoded() {
        let fits = "%41".repeat(256);
        assert_eq!(&*decode_bounded(&fits, 256), "A".repeat(256).as_bytes());
        let too_long = format!("{fits}A");
        let out = decode_bounded(&too_long, 256);
        assert!(matches!(out, Cow::Borrowed(_)));
        assert_eq!(out.len(), too_long.len());
    }

    #[test]
    fn finds_single_values() {
        let cases: &[(&str, Result<Option<&str>, Repeated>)] = &[
            ("", Ok(None)),
            ("a=1", Ok(None)),
            ("subscription-key=k", Ok(Some("k"))),
            ("a=1&subscription-key=k&b=2", Ok(Some("k"))),
            ("subscription-key", Ok(Some(""))),
            ("subscription-key=", Ok(Some(""))),
            ("subscription-key=a=b", Ok(Some("a=b"))),
            ("subscription-key=k%26a=1", Ok(Some("k%26a=1"))),
            ("subscription%2Dkey=k", Ok(Some("k"))),
            ("%73ubscription-key=k", Ok(Some("k"))),
            ("subscription-key2=k", Ok(None)),
            ("xsubscription-key=k", Ok(None)),
            ("Subscription-Key=k", Ok(None)),
            ("subscription-key%3Dk", Ok(None)),
            ("subscription%252Dkey=k", Ok(None)),
            ("a=subscription-key", Ok(None)),
            ("subscription-key=k&subscription-key=k", Err(Repeated)),
            ("subscription-key=k&subscription%2dkey=j", Err(Repeated)),
            ("subscription-key&subscription-key", Err(Repeated)),
        ];
        for (query, want) in cases {
            assert_eq!(single_value(query, P), *want, "{query}");
        }
        assert_eq!(single_value("&&=x&", ""), Ok(None));
    }

    #[test]
    fn strips_byte_for_byte() {
        let cases: &[(&str, Option<&str>)] = &[
            ("/p", None),
            ("/p?", None),
            ("/p?a=1", None),
            ("/p?a&&b", None),
            ("/p?subscription-key2=k", None),
            ("/p?xsubscription-key=k", None),
            ("/p?SUBSCRIPTION-KEY=k", None),
            ("/p?a=subscription-key", None),
            ("/p/subscription-key=k?x=1", None),
            ("/a?b=c?subscription-key=k", None),
            ("/p?subscription-key=k", Some("/p")),
            ("/?subscription-key=k", Some("/")),
            ("/p?subscription-key", Some("/p")),
            ("/p?subscription-key=", Some("/p")),
            ("/p?subscription-key=k&a=1", Some("/p?a=1")),
            ("/p?a=1&subscription-key=k", Some("/p?a=1")),
            ("/p?a=1&subscription-key=k&b=2", Some("/p?a=1&b=2")),
            ("/p?subscription-key=k&subscription-key=j", Some("/p")),
            (
                "/p?subscription-key2=k&subscription-key=j",
                Some("/p?subscription-key2=k"),
            ),
            ("/p?subscription%2Dkey=k&a=%20+x", Some("/p?a=%20+x")),
            ("/p?%73ubscription-key=k&a=1", Some("/p?a=1")),
            ("/p?subscription-key=k%26a=1", Some("/p")),
            ("/p?a&&subscription-key=k&b=", Some("/p?a&&b=")),
            ("/p?subscription-key=k&", Some("/p")),
            ("/p?&subscription-key=k", Some("/p")),
            ("/p?a=1&&subscription-key=k", Some("/p?a=1&")),
            ("/p?&&subscription-key=k&&", Some("/p?&&&")),
            (
                "/a%2Fb/c?x=%2F&y=caf%C3%A9&subscription-key=k&z=d+e&w&v=",
                Some("/a%2Fb/c?x=%2F&y=caf%C3%A9&z=d+e&w&v="),
            ),
            (
                "/p?b=2&subscription-key=k&a=1&subscription-key=j&c",
                Some("/p?b=2&a=1&c"),
            ),
        ];
        for (path, want) in cases {
            assert_eq!(strip_query_param(path, P).as_deref(), *want, "{path}");
        }
    }

    #[test]
    fn strip_and_find_agree() {
        for path in [
            "/p",
            "/p?subscription-key=k",
            "/p?a=1&subscription%2Dkey=k",
            "/p?subscription-key2=k",
            "/p?subscription-key&subscription-key=j",
            "/p?a&&b",
            "/p?%zz=1&subscription-key=%zz",
        ] {
            let found = query(path).map(|q| single_value(q, P));
            let present = !matches!(found, None | Some(Ok(None)));
            assert_eq!(strip_query_param(path, P).is_some(), present, "{path}");
        }
    }

    #[test]
    fn finds_names_as_query_parsers_read_them() {
        for (path, want) in [
            ("/p", false),
            ("/p?", false),
            ("/p?access_token=x", true),
            ("/p?a=1&access_token", true),
            ("/p?access%5Ftoken=x", true),
            ("/p?%61ccess_token=x", true),
            ("/p?access_token=x&access_token=y", true),
            ("/p?access_tokens=x", false),
            ("/p?Access_Token=x", false),
            ("/p?x=access_token", false),
            ("/p?access%255Ftoken=x", false),
            ("/access_token?x=1", false),
        ] {
            assert_eq!(has_query_param(path, "access_token"), want, "{path}");
        }
    }

    #[test]
    fn empty_param_names_match_nothing() {
        assert_eq!(strip_query_param("/p?&a&=x", ""), None);
    }
}
