//! entra-guard: Entra ID authentication for Envoy as a Proxy-Wasm filter.
//!
//! Everything outside `filter` is pure logic over plain data with an injected
//! clock, unit-tested on the host; `filter` is the only module that talks to
//! the proxy.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod authorize;
pub mod cache;
pub mod config;
pub mod credentials;
pub mod engine;
pub mod headers;
pub mod keys;
pub mod mcp;
pub mod policy;
pub mod replies;
pub mod rules;
pub mod signature;
pub mod subscription;
pub mod token;
pub mod url;

#[cfg(test)]
mod testing;

// Not in the wasm32 unit-test build: that runs under node (wasm-bindgen-test),
// which cannot satisfy the proxy's "env" imports nor call the proxy_on_* exports.
#[cfg(all(target_arch = "wasm32", not(test)))]
mod filter;

/// wasm32-unknown-unknown has no entropy source; nothing here needs one
/// (signature verification is deterministic), so any request for it fails.
#[cfg(target_arch = "wasm32")]
fn no_randomness(_buf: &mut [u8]) -> Result<(), getrandom::Error> {
    Err(getrandom::Error::UNSUPPORTED)
}

#[cfg(target_arch = "wasm32")]
getrandom::register_custom_getrandom!(no_randomness);
