//! The few Proxy-Wasm calls of the request path, made directly: the SDK's
//! wrappers copy every header into its own `String`/`Vec` (half of a
//! cache hit's instructions) and panic on a status they do not expect,
//! which would take every request of the worker down with it.

use std::ptr::null_mut;

const OK: u32 = 0;
const REQUEST_HEADERS: u32 = 0;
const REQUEST_BODY: u32 = 0;
const STREAM_REQUEST: u32 = 0;

#[link(wasm_import_module = "env")]
extern "C" {
    fn proxy_get_header_map_pairs(map_type: u32, data: *mut *mut u8, size: *mut usize) -> u32;
    fn proxy_get_buffer_bytes(
        buffer_type: u32,
        start: usize,
        max_size: usize,
        data: *mut *mut u8,
        size: *mut usize,
    ) -> u32;
    fn proxy_get_current_time_nanoseconds(time: *mut u64) -> u32;
    fn proxy_send_local_response(
        status: u32,
        details: *const u8,
        details_size: usize,
        body: *const u8,
        body_size: usize,
        headers: *const u8,
        headers_size: usize,
        grpc_status: i32,
    ) -> u32;
    fn proxy_continue_stream(stream_type: u32) -> u32;
    fn proxy_set_property(
        path: *const u8,
        path_size: usize,
        value: *const u8,
        value_size: usize,
    ) -> u32;
}

/// Takes ownership of a buffer the host filled: it allocated it through
/// the SDK's `proxy_on_memory_allocate`, a boxed `[u8]` of exactly `size`.
fn adopt(data: *mut u8, size: usize) -> Vec<u8> {
    if data.is_null() {
        return Vec::new();
    }
    // SAFETY: `data` is the start of a live, unaliased allocation of
    // `size` bytes with alignment 1, handed over to us by the host.
    unsafe { Vec::from_raw_parts(data, size, size) }
}

/// The serialized request header map (see `crate::headers::parse_map`).
pub fn request_header_map() -> Option<Vec<u8>> {
    let (mut data, mut size) = (null_mut(), 0);
    // SAFETY: both out-pointers are valid for one write each.
    let status = unsafe { proxy_get_header_map_pairs(REQUEST_HEADERS, &mut data, &mut size) };
    let bytes = adopt(data, size);
    (status == OK).then_some(bytes)
}

/// Up to `max` bytes of the buffered request body.
pub fn request_body(max: usize) -> Option<Vec<u8>> {
    let (mut data, mut size) = (null_mut(), 0);
    // SAFETY: as above.
    let status = unsafe { proxy_get_buffer_bytes(REQUEST_BODY, 0, max, &mut data, &mut size) };
    let bytes = adopt(data, size);
    (status == OK).then_some(bytes)
}

/// The host's wall clock in milliseconds (0 if it will not say: every
/// token then looks not yet valid, which fails closed).
pub fn now_ms() -> u64 {
    let mut nanos = 0u64;
    // SAFETY: a valid out-pointer for one u64.
    let status = unsafe { proxy_get_current_time_nanoseconds(&mut nanos) };
    if status == OK {
        nanos / 1_000_000
    } else {
        0
    }
}

/// Answers the current stream locally; `headers` is a serialized map.
pub fn send_local_response(status: u32, headers: &[u8], body: &[u8]) -> bool {
    // No response-code details: Envoy 1.40 spent measurably more per local
    // reply with them set (5-10 µs with "entra_guard" in `make bench`'s
    // no-token cell), and a denial is what an attacker repeats. The access
    // log still has the status and the challenge.
    let details = b"";
    // SAFETY: every pointer/length pair describes a live slice.
    let result = unsafe {
        proxy_send_local_response(
            status,
            details.as_ptr(),
            details.len(),
            body.as_ptr(),
            body.len(),
            headers.as_ptr(),
            headers.len(),
            -1,
        )
    };
    result == OK
}

/// Lets the current (paused) request go on.
pub fn resume_request() -> bool {
    // SAFETY: no pointers.
    unsafe { proxy_continue_stream(STREAM_REQUEST) == OK }
}

/// Sets a one-segment property of the current stream; Envoy keeps it as
/// filter state `wasm.<name>`. The SDK's `set_property` panics on any
/// status but Ok (no stream info, a read-only value set before).
pub fn set_property(name: &str, value: &[u8]) -> bool {
    // SAFETY: both pointer/length pairs describe live slices.
    let status =
        unsafe { proxy_set_property(name.as_ptr(), name.len(), value.as_ptr(), value.len()) };
    status == OK
}
