//! Small adapters over proxy-wasm hostcalls that never panic on our side:
//! the engine's host traits (request, shared data, callouts, logging) and
//! the host's signature verifier (the clock is in `abi`).

use super::abi;
use crate::config::SignatureBackend;
use crate::engine::{KeyHost, Level, RequestSource};
use crate::keys::{parse_jwks, RsaKey};
use crate::signature::{
    decode_host_result, encode_host_arguments, RustVerifier, SignatureVerifier,
};
use proxy_wasm::hostcalls;
use proxy_wasm::types::LogLevel;
use std::time::Duration;

pub fn log(level: LogLevel, message: &str) {
    let _ = hostcalls::log(level, &format!("entra-guard: {message}"));
}

/// The request of the current (effective) stream.
pub struct HostRequest;

impl RequestSource for HostRequest {
    fn header_map(&self) -> Option<Vec<u8>> {
        abi::request_header_map()
    }

    fn body(&self, max: usize) -> Option<Vec<u8>> {
        abi::request_body(max)
    }
}

/// Shared data, callouts and logs, from the root context (callout answers
/// come back to the context that was current when they were sent).
pub struct HostKeys;

impl KeyHost for HostKeys {
    fn shared_get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        hostcalls::get_shared_data(key).unwrap_or((None, None))
    }

    fn shared_set(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        hostcalls::set_shared_data(key, Some(value), cas).is_ok()
    }

    fn dispatch_get(
        &mut self,
        cluster: &str,
        authority: &str,
        path: &str,
        timeout_ms: u64,
    ) -> Result<u32, String> {
        let headers = vec![
            (":method", "GET"),
            (":path", path),
            (":authority", authority),
            ("accept", "application/json"),
            ("user-agent", "entra-guard"),
        ];
        let timeout = Duration::from_millis(timeout_ms.max(1));
        hostcalls::dispatch_http_call(cluster, headers, None, vec![], timeout)
            .map_err(|status| format!("{status:?}"))
    }

    fn log(&mut self, level: Level, message: &str) {
        let level = match level {
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        log(level, message);
    }
}

/// Envoy's `verify_signature` foreign function (BoringSSL in the host).
pub struct HostVerifier;

impl SignatureVerifier for HostVerifier {
    fn verify_rs256(&self, key: &RsaKey, message: &[u8], signature: &[u8]) -> bool {
        let args = encode_host_arguments(key, message, signature);
        match hostcalls::call_foreign_function("verify_signature", Some(&args)) {
            Ok(Some(reply)) => decode_host_result(&reply),
            _ => false,
        }
    }
}

/// A known-good RS256 vector: the host verifier is used only if it accepts
/// this and rejects a tampered copy; otherwise we verify in Rust.
const PROBE_JWKS: &str = include_str!("probe_jwks.json");
const PROBE_TOKEN: &str = include_str!("probe_token.txt");

pub enum Backend {
    Host(HostVerifier),
    Rust(RustVerifier),
}

impl Backend {
    /// `None` when the configuration demands the host verifier and the
    /// host has none.
    pub fn select(wanted: SignatureBackend) -> Option<Backend> {
        match (wanted, Backend::detect()) {
            (SignatureBackend::Rust, _) => Some(Backend::Rust(RustVerifier)),
            (SignatureBackend::Host, Backend::Rust(_)) => None,
            (_, detected) => Some(detected),
        }
    }

    fn detect() -> Backend {
        let Ok(parsed) = parse_jwks(PROBE_JWKS.as_bytes()) else {
            return Backend::Rust(RustVerifier);
        };
        let Some(key) = parsed.keys.first() else {
            return Backend::Rust(RustVerifier);
        };
        let token = PROBE_TOKEN.trim();
        let Some((input, sig_b64)) = token.rsplit_once('.') else {
            return Backend::Rust(RustVerifier);
        };
        use base64::Engine;
        let Ok(sig) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig_b64) else {
            return Backend::Rust(RustVerifier);
        };
        let host = HostVerifier;
        let good = host.verify_rs256(key, input.as_bytes(), &sig);
        let tampered = host.verify_rs256(key, &input.as_bytes()[1..], &sig);
        if good && !tampered {
            Backend::Host(host)
        } else {
            Backend::Rust(RustVerifier)
        }
    }

    fn verifier(&self) -> &dyn SignatureVerifier {
        match self {
            Backend::Host(v) => v,
            Backend::Rust(v) => v,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Host(_) => "host (envoy verify_signature)",
            Backend::Rust(_) => "rust (in the VM)",
        }
    }
}

impl SignatureVerifier for Backend {
    fn verify_rs256(&self, key: &RsaKey, message: &[u8], signature: &[u8]) -> bool {
        self.verifier().verify_rs256(key, message, signature)
    }
}
