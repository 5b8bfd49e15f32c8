//! The little URL handling the filter needs: absolute http(s) URLs from
//! configuration and discovery documents, split into authority and path.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsoluteUrl<'a> {
    pub scheme: &'a str,
    /// `host` or `host:port`, as written.
    pub authority: &'a str,
    /// Starts with `/`; `/` when the URL has no path. Includes no query.
    pub path: &'a str,
    pub query: Option<&'a str>,
}

/// Splits an absolute `http`/`https` URL. Userinfo, fragments, whitespace
/// and control characters are refused: none belong in the URLs we handle.
pub fn parse_absolute(url: &str) -> Option<AbsoluteUrl<'_>> {
    if url.bytes().any(|b| b <= b' ' || b == 0x7f || b == b'#') {
        return None;
    }
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return None;
    }
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    if !valid_authority(authority) {
        return None;
    }
    let (path, query) = match tail.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (tail, None),
    };
    let path = if path.is_empty() { "/" } else { path };
    Some(AbsoluteUrl {
        scheme,
        authority,
        path,
        query,
    })
}

fn valid_authority(authority: &str) -> bool {
    let (host_ok, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        match bracketed.split_once(']') {
            Some((ip6, after)) => (
                !ip6.is_empty() && ip6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'),
                after
                    .strip_prefix(':')
                    .or(if after.is_empty() { None } else { Some("x") }),
            ),
            None => (false, None),
        }
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
        (ok, port)
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    host_ok && port_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn splits_urls() {
        let u = parse_absolute("https://login.microsoftonline.com/t/v2.0?x=1").unwrap();
        assert_eq!(u.authority, "login.microsoftonline.com");
        assert_eq!(u.path, "/t/v2.0");
        assert_eq!(u.query, Some("x=1"));
        let u = parse_absolute("http://127.0.0.1:8080").unwrap();
        assert_eq!((u.authority, u.path), ("127.0.0.1:8080", "/"));
    }

    #[test]
    fn refuses_odd_urls() {
        for bad in [
            "ftp://x/",
            "https://",
            "https://user@host/",
            "https://host/a b",
            "https://host/#frag",
            "https://host:99999999/",
            "https://host:/",
            "//host/",
            "https://ho\u{e9}st/",
        ] {
            assert!(parse_absolute(bad).is_none(), "{bad}");
        }
    }
}
