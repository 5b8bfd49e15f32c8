//! The proxy-wasm glue: the only module that knows it runs inside a proxy.
//! Callbacks read from the host, call the engine, and apply the result.

mod abi;
mod callout;
mod host;
mod http;
mod metrics;
mod root;

use proxy_wasm::types::LogLevel;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|context_id| Box::new(root::Root::new(context_id)));
}}
