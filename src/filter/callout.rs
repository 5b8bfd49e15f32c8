//! Reads the answer to a discovery or JWKS callout without trusting it.

use crate::engine::{CalloutFailure, CalloutResult};
use crate::keys::MAX_DOCUMENT_BYTES;
use proxy_wasm::hostcalls;
use proxy_wasm::types::{BufferType, MapType};

/// The callout's body if it answered 200 within the size bound. A failed
/// callout arrives with no headers at all: Envoy then has no response header
/// map, and `get_map_value_bytes` panics on the `BadArgument` it answers
/// (Envoy itself answers a timeout with a 504 and a connection failure or a
/// reset before any header with a 503).
pub fn read_response(num_headers: usize, body_size: usize) -> CalloutResult {
    if num_headers == 0 {
        return Err(CalloutFailure::NoResponse);
    }
    let status = hostcalls::get_map_value_bytes(MapType::HttpCallResponseHeaders, ":status")
        .ok()
        .flatten();
    match status.as_deref() {
        Some(b"200") => {}
        Some(other) => {
            let shown: String = String::from_utf8_lossy(other).chars().take(3).collect();
            return Err(CalloutFailure::Status(shown));
        }
        None => return Err(CalloutFailure::NoResponse),
    }
    if body_size > MAX_DOCUMENT_BYTES {
        return Err(CalloutFailure::TooLarge(body_size));
    }
    match hostcalls::get_buffer(BufferType::HttpCallResponseBody, 0, body_size) {
        Ok(Some(body)) => Ok(body),
        _ => Err(CalloutFailure::EmptyBody),
    }
}
