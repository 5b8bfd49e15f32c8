//! The proxy-wasm glue: the only module that knows it runs inside a proxy.
//! Callbacks read from the host, call the pure core, and apply the result.

mod abi;
mod fetch;
mod host;
mod http;
mod metrics;
mod root;
mod state;
mod waiters;

use proxy_wasm::types::LogLevel;

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|context_id| Box::new(root::Root::new(context_id)));
}}
