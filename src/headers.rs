//! Request headers as the core reads them: borrowed `(lowercase name, raw
//! value)` pairs, duplicates kept. The glue parses them straight out of
//! the buffer the proxy hands over, so a request costs one allocation for
//! its headers rather than two per header.

/// One request header: the name as the proxy lowercased it, the value as
/// the client sent it (not necessarily UTF-8).
pub type Header<'a> = (&'a str, &'a [u8]);

/// The value of the first header called `name` (already lowercase).
// Inlined: at opt-level s the call on every request cost 2% of a cache hit.
#[inline]
pub fn first<'a>(headers: &[Header<'a>], name: &str) -> Option<&'a [u8]> {
    headers.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

/// Whether an upstream may read two header names as one: ASCII case
/// folded and `_` read as `-` (CGI and WSGI turn both into `HTTP_X_Y`).
pub fn same_name(a: &str, b: &str) -> bool {
    let fold = |c: u8| match c {
        b'_' => b'-',
        c => c.to_ascii_lowercase(),
    };
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| fold(x) == fold(y))
}

/// `:method` and `:path` as text, in one pass over the headers.
pub struct PseudoHeaders<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// HTTP/2 lets bytes >= 0x80 through in `:path`: such a path cannot be
    /// matched against the rules one way only, so it is refused, never
    /// read as "".
    pub unreadable_path: bool,
}

impl<'a> PseudoHeaders<'a> {
    pub fn read(headers: &[Header<'a>]) -> PseudoHeaders<'a> {
        let (mut method, mut path) = (None, None);
        let mut unreadable_path = false;
        for (name, value) in headers {
            let slot = match *name {
                ":method" => &mut method,
                ":path" => &mut path,
                _ => continue,
            };
            match std::str::from_utf8(value) {
                Ok(text) => {
                    slot.get_or_insert(text);
                }
                Err(_) => unreadable_path |= *name == ":path",
            }
        }
        PseudoHeaders {
            method: method.unwrap_or(""),
            path: path.unwrap_or(""),
            unreadable_path,
        }
    }
}

/// Parses a Proxy-Wasm serialized header map: a little-endian `u32` count,
/// then a `(name length, value length)` `u32` pair per header, then each
/// name and value followed by a NUL. `None` for anything malformed or a
/// name that is not UTF-8: a request the filter cannot read is refused,
/// never read in part.
pub fn parse_map(bytes: &[u8]) -> Option<Vec<Header<'_>>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let count = read_u32(bytes, 0)?;
    // Each header takes at least 8 size bytes and 2 NULs: this bounds the
    // allocation by the buffer, whatever the count claims.
    if count > bytes.len() / 10 {
        return None;
    }
    let mut data = 4 + count * 8;
    let mut headers = Vec::with_capacity(count);
    for i in 0..count {
        let name_len = read_u32(bytes, 4 + i * 8)?;
        let value_len = read_u32(bytes, 8 + i * 8)?;
        let name = field(bytes, data, name_len)?;
        data += name_len + 1;
        let value = field(bytes, data, value_len)?;
        data += value_len + 1;
        headers.push((name_text(name)?, value));
    }
    Some(headers)
}

/// A header name as text. Envoy's names are lowercase ASCII tokens: those
/// skip the general UTF-8 check, which was half of parsing a header map.
#[inline]
fn name_text(name: &[u8]) -> Option<&str> {
    if all_ascii(name) {
        // SAFETY: every byte is ASCII, and ASCII is valid UTF-8.
        Some(unsafe { std::str::from_utf8_unchecked(name) })
    } else {
        std::str::from_utf8(name).ok()
    }
}

/// Whether no byte has its high bit set, a word at a time: the words
/// overlap at the end instead of looping over the last bytes one by one.
fn all_ascii(bytes: &[u8]) -> bool {
    const HIGH8: u64 = 0x8080_8080_8080_8080;
    const HIGH4: u32 = 0x8080_8080;
    let word8 = |w: &[u8; 8]| u64::from_ne_bytes(*w) & HIGH8 == 0;
    let word4 = |w: &[u8; 4]| u32::from_ne_bytes(*w) & HIGH4 == 0;
    if let Some(last) = bytes.last_chunk::<8>() {
        bytes.as_chunks::<8>().0.iter().all(word8) && word8(last)
    } else if let (Some(first), Some(last)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        word4(first) && word4(last)
    } else {
        bytes.iter().all(|b| *b < 0x80)
    }
}

fn read_u32(bytes: &[u8], at: usize) -> Option<usize> {
    let word = bytes.get(at..at.checked_add(4)?)?.first_chunk::<4>()?;
    usize::try_from(u32::from_le_bytes(*word)).ok()
}

/// `len` bytes at `at`, which must be followed by a NUL.
fn field(bytes: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    let end = at.checked_add(len)?;
    match bytes.get(end) {
        Some(0) => bytes.get(at..end),
        _ => None,
    }
}

/// The inverse of [`parse_map`]: the form local replies' headers take
/// on their way to the proxy.
pub fn serialize_map<'a, I>(headers: I) -> Vec<u8>
where
    I: IntoIterator<Item = (&'a str, &'a [u8])>,
    I::IntoIter: Clone,
{
    let headers = headers.into_iter();
    let (count, data) = headers
        .clone()
        .fold((0, 0), |(n, d), (k, v)| (n + 1, d + k.len() + v.len() + 2));
    let mut out = Vec::with_capacity(4 + count * 8 + data);
    out.extend_from_slice(&(count as u32).to_le_bytes());
    for (name, value) in headers.clone() {
        out.extend_from_slice(&(name.len() as u32).to_le_bytes());
        out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    }
    for (name, value) in headers {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(value);
        out.push(0);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn pseudo_headers_in_one_pass() {
        let h = |pairs: &[(&'static str, &'static [u8])]| pairs.to_vec();
        let read = |headers: &[Header<'static>]| {
            let p = PseudoHeaders::read(headers);
            (p.method, p.path, p.unreadable_path)
        };
        let plain = h(&[(":method", b"GET"), (":path", b"/mcp?x=1"), ("host", b"a")]);
        assert_eq!(read(&plain), ("GET", "/mcp?x=1", false));
        assert_eq!(read(&[]), ("", "", false));
        let bad_path = h(&[(":path", b"/\xff"), (":method", b"GET")]);
        assert_eq!(read(&bad_path), ("GET", "", true));
        let bad_second = h(&[(":path", b"/a"), (":path", b"/\xfe")]);
        assert_eq!(read(&bad_second), ("", "/a", true), "any unreadable copy");
        let bad_method = h(&[(":method", b"G\xffT"), (":path", b"/")]);
        assert_eq!(read(&bad_method), ("", "/", false));
    }

    #[test]
    fn names_must_be_utf8_whatever_their_length() {
        for len in 0..40 {
            for at in 0..len {
                let mut name = vec![b'a'; len];
                name[at] = 0xff;
                assert!(
                    !all_ascii(&name) && name_text(&name).is_none(),
                    "{len} {at}"
                );
                name[at] = 0xc3; // a valid two-byte sequence: not ASCII, still text
                if at + 1 < len {
                    name[at + 1] = 0xa9;
                    assert!(
                        !all_ascii(&name) && name_text(&name).is_some(),
                        "{len} {at}"
                    );
                }
            }
            let ascii = vec![b'z'; len];
            assert!(all_ascii(&ascii) && name_text(&ascii).is_some(), "{len}");
        }
    }

    #[test]
    fn round_trips_raw_values_and_duplicates() {
        let headers: Vec<Header> = vec![
            (":path", b"/mcp"),
            ("authorization", b"Bearer a"),
            ("authorization", b""),
            ("x-bin", &[0xff, 0x00, 0x80]),
        ];
        let wire = serialize_map(headers.iter().copied());
        assert_eq!(parse_map(&wire), Some(headers.clone()));
        assert_eq!(first(&headers, "authorization"), Some(&b"Bearer a"[..]));
        assert_eq!(first(&headers, "cookie"), None);
        assert_eq!(parse_map(&[]), Some(vec![]));
        assert_eq!(parse_map(&serialize_map([])), Some(vec![]));
    }

    #[test]
    fn refuses_what_it_cannot_read_exactly() {
        let wire = serialize_map([("a", &b"1"[..]), ("b", &b"22"[..])]);
        for cut in 1..wire.len() {
            assert_eq!(parse_map(&wire[..cut]), None, "truncated at {cut}");
        }
        let mut no_nul = wire.clone();
        let last = no_nul.len() - 1;
        no_nul[last] = b'x';
        assert_eq!(parse_map(&no_nul), None);
        let mut huge_count = wire.clone();
        huge_count[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse_map(&huge_count), None);
        let mut long_value = wire.clone();
        long_value[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse_map(&long_value), None);
        let mut bad_name = serialize_map([("a", &b"1"[..])]);
        bad_name[12] = 0xff;
        assert_eq!(parse_map(&bad_name), None);
    }
}
