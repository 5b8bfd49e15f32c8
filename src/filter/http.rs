//! Per-request glue: each callback hands the event to the engine and
//! applies the `Step` it returns; held streams are resumed from the root.

use super::abi::{self, now_ms};
use super::host::HostRequest;
use super::metrics::Metrics;
use crate::config::StateEntries;
use crate::engine::{filter_state, Engine, Step};
use crate::replies::failures;
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext};
use proxy_wasm::types::{Action, MapType};
use std::cell::RefCell;
use std::rc::Rc;

/// Everything one worker VM keeps: the engine and its host metric ids.
pub struct Vm {
    pub engine: Engine,
    pub metrics: Metrics,
}

pub struct Http {
    context_id: u32,
    vm: Rc<RefCell<Vm>>,
}

impl Http {
    pub fn new(context_id: u32, vm: Rc<RefCell<Vm>>) -> Http {
        Http { context_id, vm }
    }

    /// Runs one engine event; a VM that cannot be borrowed (re-entered)
    /// fails closed.
    fn step(&self, event: impl FnOnce(&mut Engine, u32) -> Step) -> Action {
        let (step, state) = match self.vm.try_borrow_mut() {
            Ok(mut vm) => (
                event(&mut vm.engine, self.context_id),
                vm.engine.filter_state(),
            ),
            Err(_) => (
                Step::Reply(failures::unreadable_request(), None),
                StateEntries::default(),
            ),
        };
        apply(step, state, false)
    }
}

impl Context for Http {}

impl HttpContext for Http {
    fn on_http_request_headers(&mut self, _headers: usize, end_of_stream: bool) -> Action {
        self.step(|e, id| e.on_request_headers(id, &HostRequest, end_of_stream, now_ms()))
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        self.step(|e, id| e.on_request_body(id, &HostRequest, body_size, end_of_stream, now_ms()))
    }

    /// The SDK's default continues the stream: a held request would go
    /// upstream undecided.
    fn on_http_request_trailers(&mut self, _trailers: usize) -> Action {
        self.step(|e, id| e.on_request_trailers(id, &HostRequest, now_ms()))
    }
}

impl Drop for Http {
    fn drop(&mut self) {
        if let Ok(mut vm) = self.vm.try_borrow_mut() {
            vm.engine.on_stream_done(self.context_id);
        }
    }
}

/// Decides each held stream that `due` names, as that stream, then makes
/// the root context current again.
pub fn resume(vm: &Rc<RefCell<Vm>>, due: &[u32], now: u64, root_context_id: u32) {
    for &id in due {
        if hostcalls::set_effective_context(id).is_err() {
            continue;
        }
        let (step, state) = match vm.try_borrow_mut() {
            Ok(mut vm) => (
                vm.engine.on_resume(id, &HostRequest, now),
                vm.engine.filter_state(),
            ),
            Err(_) => continue,
        };
        apply(step, state, true);
    }
    let _ = hostcalls::set_effective_context(root_context_id);
}

/// Applies a step to the current stream; `resumed`: the stream was paused
/// in an earlier callback and must be continued explicitly.
fn apply(step: Step, state: StateEntries, resumed: bool) -> Action {
    // Before the reply or the forward: the access log, RBAC and rate
    // limits of this stream read it. A value the host refused (another
    // plugin made the name read-only) could leave someone else's identity
    // there: such a request is not forwarded.
    let state_set = filter_state::set_all(&step, state, abi::set_property);
    let step = match step {
        Step::Forward(_) if !state_set => Step::Reply(failures::unreadable_request(), None),
        step => step,
    };
    match step {
        Step::Forward(allowed) => {
            for name in &allowed.remove_headers {
                let _ = hostcalls::remove_map_value(MapType::HttpRequestHeaders, name);
            }
            for (name, value) in &allowed.set_headers {
                let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, name, Some(value));
            }
            if let Some(path) = &allowed.new_path {
                let _ = hostcalls::set_map_value(MapType::HttpRequestHeaders, ":path", Some(path));
            }
            if resumed {
                abi::resume_request();
            }
            Action::Continue
        }
        Step::Pass => Action::Continue,
        Step::Reply(response, _) => {
            abi::send_local_response(response.status, response.header_map(), &response.body);
            Action::Pause
        }
        Step::Pause => Action::Pause,
    }
}

/// Stands in if Envoy ever creates a stream for a VM whose configuration
/// was refused: fail closed rather than panic in the SDK.
pub struct Unconfigured;

impl Context for Unconfigured {}

impl HttpContext for Unconfigured {
    fn on_http_request_headers(&mut self, _headers: usize, _end_of_stream: bool) -> Action {
        let response = failures::not_configured();
        abi::send_local_response(response.status, response.header_map(), &response.body);
        Action::Pause
    }

    fn on_http_request_body(&mut self, _body_size: usize, _end_of_stream: bool) -> Action {
        Action::Pause
    }

    fn on_http_request_trailers(&mut self, _trailers: usize) -> Action {
        Action::Pause
    }
}
