//! entra-guard: Entra ID authentication for Envoy as a Proxy-Wasm filter.
//!
//! Everything outside `filter` is pure logic over plain data with an injected
//! clock, unit-tested on the host; `filter` is the only module that talks to
//! the proxy.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod config;
pub mod keys;
pub mod rules;
pub mod signature;
pub mod token;
pub mod url;

#[cfg(test)]
mod testing;

#[cfg(target_arch = "wasm32")]
mod filter;
