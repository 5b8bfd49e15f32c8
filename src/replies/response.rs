//! What the filter sends instead of forwarding a request.

use crate::headers::serialize_map;
use std::cell::OnceCell;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u32,
    /// Lowercase names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// `headers` as the proxy takes them, serialized on the first send and
    /// kept: a prepared denial is sent again and again, unchanged (it sits
    /// behind an `Rc`, so nothing can edit it once shared).
    pub wire: WireHeaders,
}

impl Response {
    pub fn new(status: u32, headers: Vec<(String, String)>, body: Vec<u8>) -> Response {
        Response {
            status,
            headers,
            body,
            wire: WireHeaders::default(),
        }
    }

    pub fn json(status: u32, body: Vec<u8>) -> Response {
        Response::new(
            status,
            vec![
                ("content-type".into(), "application/json".into()),
                ("cache-control".into(), "no-store".into()),
            ],
            body,
        )
    }

    /// A short plain-text reply (failures of the filter itself).
    pub fn plain(status: u32, body: &str) -> Response {
        Response::new(
            status,
            vec![("content-type".into(), "text/plain".into())],
            body.as_bytes().to_vec(),
        )
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Response {
        self.headers.push((name.to_string(), value.into()));
        self.wire = WireHeaders::default();
        self
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The headers as a Proxy-Wasm serialized map (`headers::serialize_map`).
    pub fn header_map(&self) -> &[u8] {
        self.wire.0.get_or_init(|| {
            serialize_map(self.headers.iter().map(|(n, v)| (n.as_str(), v.as_bytes())))
        })
    }
}

/// A cache, not part of the reply: equal and printed as nothing.
#[derive(Clone, Default)]
pub struct WireHeaders(OnceCell<Vec<u8>>);

impl PartialEq for WireHeaders {
    fn eq(&self, _: &WireHeaders) -> bool {
        true
    }
}

impl Eq for WireHeaders {}

impl fmt::Debug for WireHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("..")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::headers::parse_map;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn header_map_follows_the_headers() {
        let response = Response::json(401, b"{}".to_vec());
        let before = response.header_map().to_vec();
        let response = response.with_header("www-authenticate", "Bearer");
        let map = response.header_map();
        assert_ne!(map, &before[..]);
        let parsed = parse_map(map).unwrap();
        assert_eq!(
            parsed,
            [
                ("content-type", &b"application/json"[..]),
                ("cache-control", b"no-store"),
                ("www-authenticate", b"Bearer"),
            ]
        );
        assert_eq!(response.header_map().as_ptr(), map.as_ptr(), "kept");
    }
}
