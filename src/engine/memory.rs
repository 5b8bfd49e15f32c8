//! The engine's host traits over plain memory, for the host tests, the
//! fuzz targets and `entra-guard` tools: shared data with CAS, recorded
//! callouts and logs, and a request whose body grows as events arrive.

use super::host::{KeyHost, Level, RequestSource};
use crate::headers::serialize_map;
use std::collections::HashMap;

/// One callout the engine started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatched {
    pub token: u32,
    pub cluster: String,
    pub authority: String,
    pub path: String,
    pub timeout_ms: u64,
}

#[derive(Debug, Default)]
pub struct MemoryHost {
    /// key -> (value, cas)
    shared: HashMap<String, (Vec<u8>, u32)>,
    next_cas: u32,
    next_token: u32,
    pub dispatched: Vec<Dispatched>,
    pub logs: Vec<(Level, String)>,
    /// Callouts fail to start (no such cluster).
    pub refuse_dispatch: bool,
}

impl MemoryHost {
    pub fn new() -> MemoryHost {
        MemoryHost::default()
    }

    /// The callout of `path` started last, if any.
    pub fn last_dispatch(&self, path_contains: &str) -> Option<&Dispatched> {
        self.dispatched
            .iter()
            .rev()
            .find(|d| d.path.contains(path_contains))
    }

    pub fn shared_value(&self, key_suffix: &str) -> Option<&[u8]> {
        self.shared
            .iter()
            .find(|(k, _)| k.ends_with(key_suffix))
            .map(|(_, (v, _))| v.as_slice())
    }
}

impl KeyHost for MemoryHost {
    fn shared_get(&self, key: &str) -> (Option<Vec<u8>>, Option<u32>) {
        match self.shared.get(key) {
            Some((value, cas)) => (Some(value.clone()), Some(*cas)),
            None => (None, None),
        }
    }

    fn shared_set(&mut self, key: &str, value: &[u8], cas: Option<u32>) -> bool {
        let current = self.shared.get(key).map(|(_, c)| *c);
        if cas.is_some() && cas != current {
            return false;
        }
        self.next_cas += 1;
        self.shared
            .insert(key.to_string(), (value.to_vec(), self.next_cas));
        true
    }

    fn dispatch_get(
        &mut self,
        cluster: &str,
        authority: &str,
        path: &str,
        timeout_ms: u64,
    ) -> Result<u32, String> {
        if self.refuse_dispatch {
            return Err("BadArgument".into());
        }
        self.next_token += 1;
        self.dispatched.push(Dispatched {
            token: self.next_token,
            cluster: cluster.into(),
            authority: authority.into(),
            path: path.into(),
            timeout_ms,
        });
        Ok(self.next_token)
    }

    fn log(&mut self, level: Level, message: &str) {
        self.logs.push((level, message.to_string()));
    }
}

/// A request as the proxy holds it: headers, and the body received so far.
#[derive(Debug, Clone, Default)]
pub struct MemoryRequest {
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl MemoryRequest {
    pub fn new(method: &str, path: &str, headers: &[(&str, &[u8])]) -> MemoryRequest {
        let mut all = vec![
            (":method".to_string(), method.as_bytes().to_vec()),
            (":path".to_string(), path.as_bytes().to_vec()),
            (":authority".to_string(), b"api.example".to_vec()),
        ];
        all.extend(
            headers
                .iter()
                .map(|(n, v)| (n.to_ascii_lowercase(), v.to_vec())),
        );
        MemoryRequest {
            headers: all,
            body: Vec::new(),
        }
    }
}

impl RequestSource for MemoryRequest {
    fn header_map(&self) -> Option<Vec<u8>> {
        Some(serialize_map(
            self.headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())),
        ))
    }

    fn body(&self, max: usize) -> Option<Vec<u8>> {
        Some(self.body[..self.body.len().min(max)].to_vec())
    }
}

/// The discovery document the authority of `config` would serve.
pub fn discovery_for(config: &crate::config::Config) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct Discovery<'a> {
        issuer: &'a str,
        jwks_uri: String,
    }
    let e = &config.entra;
    crate::replies::to_json(&Discovery {
        issuer: &e.discovery_issuer,
        jwks_uri: format!("{}/{}/discovery/v2.0/keys", e.authority, e.discovery_tenant),
    })
}

/// Runs the engine's first key fetch to its end against `jwks`, as the
/// authority would answer it: whether the engine then has keys.
pub fn load_keys(engine: &mut super::Engine, host: &mut MemoryHost, jwks: &[u8], now: u64) -> bool {
    let start = host.dispatched.len();
    engine.on_tick(now, host);
    let mut answered = start;
    while let Some(call) = host.dispatched.get(answered).cloned() {
        answered += 1;
        let body = if call.path.contains("openid-configuration") {
            discovery_for(engine.config())
        } else {
            jwks.to_vec()
        };
        engine.on_callout(call.token, Ok(body), now, host);
    }
    !engine.keys().is_empty()
}
