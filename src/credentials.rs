//! Finding the bearer token among all request headers (raw bytes: a header
//! value is client-controlled and need not be UTF-8).

use crate::headers::Header;

/// What the `Authorization` headers hold, as RFC 6750 §2.1 reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bearer<'a> {
    /// No `Authorization` header, or one with another scheme (`Basic`).
    Absent,
    /// One bearer credential: `b64token` (RFC 6750 §2.1), or empty (the
    /// token parser refuses it as malformed).
    Token(&'a [u8]),
    /// Two `Authorization` headers, or two credentials in one: a malformed
    /// request (`invalid_request`), never a guess at which one counts.
    Multiple,
    /// The bearer scheme followed by anything but spaces and a `b64token`
    /// (a tab, other whitespace or control bytes, bytes >= 0x80, junk
    /// around the credential): upstreams that split on "whitespace" would
    /// still read a token there, so it is refused (`invalid_request`),
    /// never taken for another scheme and forwarded.
    Malformed,
}

/// The token of the only `Authorization` header when it reads exactly
/// `Bearer <token>`, without validating anything: for the cache lookup,
/// whose hit proves the bytes are a verified token.
pub fn bearer_fast_path<'a>(headers: &[Header<'a>]) -> Option<&'a [u8]> {
    let value = authorization(headers).ok()??;
    let (scheme, token) = value.split_at_checked(7)?;
    // The usual spelling first: a byte-wise case-insensitive compare costs
    // more than the rest of a cache hit's header work.
    (scheme == b"Bearer " || scheme.eq_ignore_ascii_case(b"bearer ")).then_some(token)
}

/// A second `Authorization` header.
struct Repeated;

/// The one `Authorization` value, if any; a repeated header is never
/// resolved to either copy.
fn authorization<'a>(headers: &[Header<'a>]) -> Result<Option<&'a [u8]>, Repeated> {
    let mut found = None;
    for (name, value) in headers {
        if is_authorization(name) {
            if found.is_some() {
                return Err(Repeated);
            }
            found = Some(*value);
        }
    }
    Ok(found)
}

/// Proxies hand names over lowercase (Envoy always does); any other
/// spelling still counts, so that two copies are always seen as two.
#[inline]
fn is_authorization(name: &str) -> bool {
    name.len() == 13 && (name == "authorization" || name.eq_ignore_ascii_case("authorization"))
}

/// Scans every header: a repeated `Authorization` must not let one copy
/// be checked while the upstream trusts another.
///
/// A value is a bearer credential when, past its spaces and tabs, it starts
/// with `bearer` (any case) not followed by another token character (so
/// `Bearerx` is another scheme). It is then exactly `Bearer`, one or more
/// spaces and a `b64token`, or nothing after the scheme; anything else is
/// `Malformed`.
pub fn find_bearer<'a>(headers: &[Header<'a>]) -> Bearer<'a> {
    let value = match authorization(headers) {
        Err(Repeated) => return Bearer::Multiple,
        Ok(None) => return Bearer::Absent,
        Ok(Some(value)) => trim_ows(value),
    };
    // Envoy folds repeated `Authorization` lines into one comma-joined value
    // before filters see it: a bearer credential after a comma is a second
    // credential, whatever scheme comes first ("Basic x,Bearer y").
    if value
        .split(|b| *b == b',')
        .skip(1)
        .any(|part| has_bearer_scheme(trim_loose(part)))
    {
        return Bearer::Multiple;
    }
    let credential = trim_loose(value);
    if !has_bearer_scheme(credential) {
        return Bearer::Absent;
    }
    if credential.len() != value.len() {
        // Junk around it that only a lenient reader trims.
        return Bearer::Malformed;
    }
    let rest = &credential[6..];
    let token = &rest[rest.iter().take_while(|b| **b == b' ').count()..];
    if token.len() == rest.len() && !rest.is_empty() {
        return Bearer::Malformed;
    }
    if token.iter().any(|b| matches!(b, b' ' | b',')) {
        return Bearer::Multiple;
    }
    if token.is_empty() || is_b64token(token) {
        Bearer::Token(token)
    } else {
        Bearer::Malformed
    }
}

/// RFC 6750 §2.1: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &[u8]) -> bool {
    let body = token.len() - token.iter().rev().take_while(|b| **b == b'=').count();
    body > 0
        && token[..body]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(b))
}

/// `bearer` in any case, then the end or a byte that cannot continue an
/// auth-scheme name (RFC 9110 `token`).
fn has_bearer_scheme(credential: &[u8]) -> bool {
    credential.len() >= 6
        && credential[..6].eq_ignore_ascii_case(b"bearer")
        && credential.get(6).is_none_or(|b| !is_tchar(*b))
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn trim_ows(bytes: &[u8]) -> &[u8] {
    trim(bytes, |b| b == b' ' || b == b'\t')
}

/// Trims what a lenient reader may take for whitespace: controls, space,
/// DEL and every byte >= 0x80 (Latin-1 NBSP and NEL among them).
fn trim_loose(bytes: &[u8]) -> &[u8] {
    trim(bytes, |b| b <= b' ' || b >= 0x7f)
}

fn trim(bytes: &[u8], strip: impl Fn(u8) -> bool) -> &[u8] {
    let start = bytes.iter().position(|b| !strip(*b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !strip(*b))
        .map_or(start, |i| i + 1);
    &bytes[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn h<'a>(pairs: &[(&'a str, &'a [u8])]) -> Vec<Header<'a>> {
        pairs.to_vec()
    }

    #[test]
    fn fast_path_takes_one_exact_bearer_in_any_case() {
        let fast = |pairs: &[Header<'static>]| bearer_fast_path(pairs).map(<[u8]>::to_vec);
        let abc = Some(b"abc".to_vec());
        assert_eq!(fast(&[("authorization", b"Bearer abc")]), abc);
        assert_eq!(fast(&[("Authorization", b"bEaReR abc")]), abc);
        assert_eq!(fast(&[("authorization", b"Basic abc")]), None);
        assert_eq!(fast(&[("authorization", b"Bearer")]), None);
        let two: [Header<'static>; 2] = [
            ("authorization", b"Bearer a"),
            ("AUTHORIZATION", b"Bearer a"),
        ];
        assert_eq!(fast(&two), None);
    }

    #[test]
    fn only_spaces_and_a_b64token_follow_the_scheme() {
        for value in [
            &b"Bearer\tabc"[..],
            b"Bearer \tabc",
            b"Bearer\x0babc",
            b"Bearer\x0cabc",
            b"Bearer\xa0abc",
            b"Bearer\x85abc",
            b"Bearer\x00abc",
            b"Bearer\x1fabc",
            b"Bearer abc\tdef",
            b"Bearer abc\x0b",
            b"Bearer abc\xa0",
            b"\x0bBearer abc",
            b"\xa0bearer abc",
            b"Bearer \"abc\"",
            b"Bearer abc;x",
            b"Bearer a%2Eb",
            b"Bearer ==",
            b"Bearer a=b",
            b"Bearer caf\xc3\xa9",
            b"Bearer\"abc\"",
            b"Bearer:abc",
        ] {
            let headers = h(&[("authorization", value)]);
            assert_eq!(
                find_bearer(&headers),
                Bearer::Malformed,
                "{:?}",
                String::from_utf8_lossy(value)
            );
        }
        for (value, want) in [
            (&b"Bearer  abc"[..], Bearer::Token(b"abc")),
            (b"\tBearer abc\t ", Bearer::Token(b"abc")),
            (b"Bearer abc=", Bearer::Token(b"abc=")),
            (b"Bearer-x abc", Bearer::Absent),
            (b"Bearer_x abc", Bearer::Absent),
            (b"Basic\x0babc", Bearer::Absent),
            (b"Basic x,\xa0Bearer y", Bearer::Multiple),
            (b"Bearer a \tb", Bearer::Multiple),
        ] {
            let headers = h(&[("authorization", value)]);
            assert_eq!(
                find_bearer(&headers),
                want,
                "{:?}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn bearer_extraction_table() {
        type Headers<'a> = Vec<Header<'a>>;
        let cases: Vec<(Headers, Bearer)> = vec![
            (h(&[]), Bearer::Absent),
            (h(&[("x-other", b"Bearer a")]), Bearer::Absent),
            (
                h(&[("authorization", b"Bearer abc")]),
                Bearer::Token(b"abc"),
            ),
            (
                h(&[("authorization", b"bearer abc")]),
                Bearer::Token(b"abc"),
            ),
            (
                h(&[("authorization", b"BEARER   abc \t")]),
                Bearer::Token(b"abc"),
            ),
            (h(&[("authorization", b"Bearer")]), Bearer::Token(b"")),
            (
                h(&[("authorization", b"Basic dXNlcjpwYXNz")]),
                Bearer::Absent,
            ),
            (h(&[("authorization", b"Bearerabc")]), Bearer::Absent),
            (h(&[("authorization", b"Bearer a b")]), Bearer::Multiple),
            (
                h(&[("authorization", b"Bearer a, Bearer b")]),
                Bearer::Multiple,
            ),
            (
                h(&[
                    ("authorization", b"Bearer a"),
                    ("Authorization", b"Bearer a"),
                ]),
                Bearer::Multiple,
            ),
            (
                h(&[
                    ("authorization", b"Basic x"),
                    ("authorization", b"Bearer a"),
                ]),
                Bearer::Multiple,
            ),
            (
                h(&[("authorization", b"Bearer \xff\x00")]),
                Bearer::Malformed,
            ),
            // Envoy folds repeated lines into one value joined by commas.
            (
                h(&[("authorization", b"Bearer a,Bearer b")]),
                Bearer::Multiple,
            ),
            (
                h(&[("authorization", b"Basic x,Bearer b")]),
                Bearer::Multiple,
            ),
            (
                h(&[("authorization", b"Basic x, bearer")]),
                Bearer::Multiple,
            ),
            (h(&[("authorization", b"Basic x,Basic y")]), Bearer::Absent),
            (
                h(&[("authorization", b"Digest realm=\"a\", nonce=\"b\"")]),
                Bearer::Absent,
            ),
            (
                h(&[("authorization", b"Basic x,Bearerish y")]),
                Bearer::Absent,
            ),
            (
                h(&[("authorization", b"Bearer a+/b.c_d-e~f==")]),
                Bearer::Token(b"a+/b.c_d-e~f=="),
            ),
        ];
        for (headers, want) in cases {
            assert_eq!(find_bearer(&headers), want, "{headers:?}");
        }
    }
}
