//! Finding the bearer token among all request headers (raw bytes: a header
//! value is client-controlled and need not be UTF-8).

use crate::headers::Header;

/// What the `Authorization` headers hold, as RFC 6750 §2.1 reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bearer<'a> {
    /// No `Authorization` header, or one with another scheme (`Basic`).
    Absent,
    /// One bearer credential (possibly empty or malformed; the token
    /// parser decides).
    Token(&'a [u8]),
    /// Two `Authorization` headers, or two credentials in one: a malformed
    /// request (`invalid_request`), never a guess at which one counts.
    Multiple,
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
        .any(|part| has_bearer_scheme(trim_ows(part)))
    {
        return Bearer::Multiple;
    }
    let (scheme, rest) = match value.iter().position(|b| *b == b' ' || *b == b'\t') {
        Some(i) => (&value[..i], trim_ows(&value[i..])),
        None => (value, &value[value.len()..]),
    };
    if !scheme.eq_ignore_ascii_case(b"bearer") {
        return Bearer::Absent;
    }
    if rest.iter().any(|b| matches!(b, b' ' | b'\t' | b',')) {
        return Bearer::Multiple;
    }
    Bearer::Token(rest)
}

fn has_bearer_scheme(credential: &[u8]) -> bool {
    credential.len() >= 6
        && credential[..6].eq_ignore_ascii_case(b"bearer")
        && matches!(credential.get(6), None | Some(b' ' | b'\t'))
}

fn trim_ows(bytes: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !is_ows(b)).unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|b| !is_ows(b))
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
                Bearer::Token(b"\xff\x00"),
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
        ];
        for (headers, want) in cases {
            assert_eq!(find_bearer(&headers), want, "{headers:?}");
        }
    }
}
