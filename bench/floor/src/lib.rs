//! Pass-through Proxy-Wasm HTTP filter: reads the `authorization` request
//! header (the one header an authentication filter cannot avoid reading) and
//! lets the request continue. It measures what any wasm filter costs in Envoy:
//! creating an HTTP context, one `on_http_request_headers` call into the VM,
//! one header read across the host boundary.
//!
//! With an empty plugin configuration that is all it does (the `floor`
//! listener of `make bench`). For the bench's profile section, the
//! configuration can name extra host work, comma-separated, so that the cost
//! of each kind of host call shows up as a req/s difference:
//!   `map`      read all request headers (`proxy_get_header_map_pairs`)
//!              instead of one
//!   `time`     read the host clock once
//!   `metrics`  increment three counters (define_metric at configure time)
//!   `reply`    answer 401 locally with a ~200-byte `WWW-Authenticate`
//!   `challenge` answer instead with entra-guard's no-token reply in the
//!              bench (its five headers and JSON body, byte for byte)

use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType, MetricType};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Warn);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(FloorRoot::default()) });
}}

#[derive(Clone, Copy, Default)]
struct Work {
    all_headers: bool,
    time: bool,
    metrics: Option<[u32; 3]>,
    reply: bool,
    challenge: bool,
}

#[derive(Default)]
struct FloorRoot {
    work: Work,
}

impl Context for FloorRoot {}

impl RootContext for FloorRoot {
    fn on_configure(&mut self, _size: usize) -> bool {
        let config = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
            .ok()
            .flatten()
            .unwrap_or_default();
        let config = String::from_utf8_lossy(&config);
        let mut work = Work::default();
        for item in config.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match item {
                "map" => work.all_headers = true,
                "time" => work.time = true,
                "reply" => work.reply = true,
                "challenge" => work.challenge = true,
                "metrics" => {
                    let mut ids = [0u32; 3];
                    for (i, name) in ["a", "b", "c"].iter().enumerate() {
                        match hostcalls::define_metric(MetricType::Counter, &format!("bench_floor.{name}")) {
                            Ok(id) => ids[i] = id,
                            Err(_) => return false,
                        }
                    }
                    work.metrics = Some(ids);
                }
                _ => return false,
            }
        }
        self.work = work;
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Floor { work: self.work }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

struct Floor {
    work: Work,
}

impl Context for Floor {}

impl HttpContext for Floor {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let work = self.work;
        // The bytes variants: a non-UTF-8 value must not panic the VM.
        let seen = if work.all_headers {
            hostcalls::get_map_bytes(MapType::HttpRequestHeaders).map_or(0, |h| h.len())
        } else {
            hostcalls::get_map_value_bytes(MapType::HttpRequestHeaders, "authorization")
                .ok()
                .flatten()
                .map_or(0, |v| v.len())
        };
        core::hint::black_box(seen);
        if work.time {
            core::hint::black_box(hostcalls::get_current_time().ok());
        }
        if let Some(ids) = work.metrics {
            for id in ids {
                let _ = hostcalls::increment_metric(id, 1);
            }
        }
        if work.challenge {
            // What entra-guard sends in the bench's no-token cell (the MCP
            // challenge, a JSON body for humans, CORS for browser clients).
            let challenge = "Bearer resource_metadata=\"https://mcp.contoso.test/.well-known/oauth-protected-resource/mcp\"";
            let _ = hostcalls::send_http_response(
                401,
                vec![
                    ("content-type", "application/json"),
                    ("cache-control", "no-store"),
                    ("www-authenticate", challenge),
                    ("access-control-allow-origin", "*"),
                    ("access-control-expose-headers", "WWW-Authenticate"),
                ],
                Some(br#"{"error":"unauthorized","error_description":"a bearer token is required"}"#),
            );
            return Action::Pause;
        }
        if work.reply {
            let challenge = "Bearer resource_metadata=\"https://mcp.contoso.test/.well-known/oauth-protected-resource/mcp\", error=\"invalid_token\", error_description=\"bench floor reply\"";
            let _ = hostcalls::send_http_response(
                401,
                vec![("www-authenticate", challenge), ("content-type", "text/plain")],
                Some(b"unauthorized\n"),
            );
            return Action::Pause;
        }
        Action::Continue
    }
}
