//! Root context: configuration, the tick that keeps keys fresh across
//! workers, and the callouts that fetch them. Each callback reads the
//! host, calls the engine once, and applies what it returns.

use super::abi::now_ms;
use super::callout;
use super::host::{log, Backend, HostKeys};
use super::http::{self, resume, Http, Vm};
use super::metrics::Metrics;
use crate::config;
use crate::engine::Engine;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{BufferType, ContextType, LogLevel};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

const TICK: Duration = Duration::from_millis(100);

pub struct Root {
    context_id: u32,
    vm: Option<Rc<RefCell<Vm>>>,
}

impl Root {
    pub fn new(context_id: u32) -> Root {
        Root {
            context_id,
            vm: None,
        }
    }
}

impl Context for Root {
    fn on_http_call_response(
        &mut self,
        token_id: u32,
        num_headers: usize,
        body_size: usize,
        _trailers: usize,
    ) {
        let Some(vm) = &self.vm else { return };
        let response = callout::read_response(num_headers, body_size);
        let now = now_ms();
        let due = match vm.try_borrow_mut() {
            Ok(mut vm) => vm.engine.on_callout(token_id, response, now, &mut HostKeys),
            Err(_) => return,
        };
        resume(vm, &due, now, self.context_id);
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, _size: usize) -> bool {
        let started = hostcalls::get_current_time().ok();
        let bytes = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX)
            .ok()
            .flatten()
            .unwrap_or_default();
        let config = match config::parse(&bytes) {
            Ok(c) => c,
            Err(e) => {
                log(LogLevel::Error, &e.to_string());
                return false;
            }
        };
        let Some(backend) = Backend::select(config.entra.signature_backend) else {
            log(
                LogLevel::Error,
                "invalid configuration: entra.signature_backend: \"host\" but this host has no verify_signature foreign function",
            );
            return false;
        };
        let summary = format!(
            "configured: authority {}, {} rule(s), signature backend {}",
            config.entra.authority,
            config.rules.len(),
            backend.name()
        );
        let mut engine = Engine::new(config, Box::new(backend), u64::from(self.context_id));
        engine.on_configure(&mut HostKeys);
        let metrics = Metrics::define(engine.counts());
        self.vm = Some(Rc::new(RefCell::new(Vm { engine, metrics })));
        log(LogLevel::Info, &format!("{summary}{}", elapsed(started)));
        let _ = hostcalls::set_tick_period(TICK);
        true
    }

    fn on_tick(&mut self) {
        let Some(vm) = &self.vm else { return };
        let now = now_ms();
        let due = match vm.try_borrow_mut() {
            Ok(mut vm) => {
                let vm = &mut *vm;
                let due = vm.engine.on_tick(now, &mut HostKeys);
                vm.metrics.flush(vm.engine.counts());
                due
            }
            Err(_) => return,
        };
        resume(vm, &due, now, self.context_id);
    }

    fn create_http_context(&self, context_id: u32) -> Option<Box<dyn HttpContext>> {
        match &self.vm {
            Some(vm) => Some(Box::new(Http::new(context_id, vm.clone()))),
            None => Some(Box::new(http::Unconfigured)),
        }
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// `, in 12.345 ms`: the host clock around on_configure (`make bench`
/// reads it for large configurations); empty if the host has no clock.
fn elapsed(started: Option<SystemTime>) -> String {
    let now = hostcalls::get_current_time().ok();
    match (started, now) {
        (Some(a), Some(b)) => {
            let micros = b.duration_since(a).unwrap_or_default().as_micros();
            format!(", in {}.{:03} ms", micros / 1000, micros % 1000)
        }
        _ => String::new(),
    }
}
