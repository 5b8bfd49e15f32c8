//! The engine driven as the proxy drives it: request events, ticks and
//! callout answers in every order, with the in-memory host.

mod large;
mod lifecycle;
mod refresh;
mod rejected;
mod served;

use super::memory::{MemoryHost, MemoryRequest};
use super::*;
use crate::config;
use crate::signature::RustVerifier;
use crate::testing::*;
use serde_json::json;

pub const KEY_WAIT_MS: u64 = 2_000;

pub fn config_json() -> serde_json::Value {
    json!({
        "entra": {"tenant_id": TENANT, "audiences": [AUDIENCE], "key_wait_ms": KEY_WAIT_MS,
                  "kid_miss_refetch_seconds": 1, "fetch_timeout_ms": 500,
                  "signature_backend": "rust"},
        "rules": [
            {"path_prefix": "/health", "require": "none"},
            {"path_prefix": "/mcp", "require": "none", "mcp_tools": ["add"]},
            {"path_prefix": "/mcp", "require": "jwt"}
        ],
        "claims_to_headers": {"oid": "x-entra-oid"}
    })
}

pub fn discovery_json() -> String {
    json!({
        "issuer": format!("{AUTHORITY}/{TENANT}/v2.0"),
        "jwks_uri": format!("{AUTHORITY}/{TENANT}/discovery/v2.0/keys"),
    })
    .to_string()
}

pub fn jwks_a() -> Vec<u8> {
    jwks_json().into_bytes()
}

pub fn jwks_ab() -> Vec<u8> {
    json!({"keys": [jwk(KEY_A, "key-a"), jwk(KEY_B, "key-b")]})
        .to_string()
        .into_bytes()
}

/// A valid token signed with key B, which the first key set lacks.
pub fn token_b() -> String {
    sign_raw(
        &header("key-b").to_string(),
        &v2_claims().to_string(),
        KEY_B,
    )
}

/// One Envoy worker: the engine, its host, and a clock.
pub struct World {
    pub engine: Engine,
    pub host: MemoryHost,
    pub now: u64,
    /// Callouts answered so far (a prefix of `host.dispatched`).
    answered: usize,
}

impl World {
    pub fn new() -> World {
        World::with_config(config_json())
    }

    pub fn with_config(json: serde_json::Value) -> World {
        World::with_verifier(json, Box::new(RustVerifier))
    }

    pub fn with_verifier(json: serde_json::Value, verifier: Box<dyn SignatureVerifier>) -> World {
        let config = config::parse(json.to_string().as_bytes()).unwrap();
        let mut engine = Engine::new(config, verifier, 7);
        let mut host = MemoryHost::new();
        engine.on_configure(&mut host);
        World {
            engine,
            host,
            now: NOW * 1000,
            answered: 0,
        }
    }

    /// Ticks; returns the streams due.
    pub fn tick(&mut self) -> Vec<u32> {
        self.engine.on_tick(self.now, &mut self.host)
    }

    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
    }

    /// Ticks, then answers every callout not answered yet (the fetch in
    /// flight, and the JWKS call its discovery answer starts): with the
    /// JWKS `jwks`, or with the failure of discovery.
    pub fn fetch(&mut self, jwks: Result<Vec<u8>, CalloutFailure>) -> Vec<u32> {
        let mut due = self.tick();
        while let Some(call) = self.host.dispatched.get(self.answered).cloned() {
            self.answered += 1;
            let response = match (&jwks, call.path.contains("openid-configuration")) {
                (Err(failure), _) => Err(failure.clone()),
                (Ok(_), true) => Ok(discovery_json().into_bytes()),
                (Ok(jwks), false) => Ok(jwks.clone()),
            };
            due = self
                .engine
                .on_callout(call.token, response, self.now, &mut self.host);
        }
        due
    }

    pub fn with_keys() -> World {
        let mut world = World::new();
        world.fetch(Ok(jwks_a()));
        assert_eq!(world.engine.keys().len(), 1);
        world
    }

    /// Decides the due streams as the glue does, in order.
    pub fn resume(&mut self, due: &[u32], request: &MemoryRequest) -> Vec<(u32, Step)> {
        due.iter()
            .map(|&id| (id, self.engine.on_resume(id, request, self.now)))
            .collect()
    }
}

pub fn bearer(token: &str) -> Vec<u8> {
    format!("Bearer {token}").into_bytes()
}

pub fn status(step: &Step) -> Option<u32> {
    match step {
        Step::Reply(response, _) => Some(response.status),
        _ => None,
    }
}
