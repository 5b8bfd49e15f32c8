//! Answers to requests the filter cannot decide as asked: they fail
//! closed, and say why without naming anything internal.

use super::challenge::bad_request_response;
use super::Response;
use std::rc::Rc;

/// Refused while the body is read: it would not fit the buffer bound.
pub fn body_too_large() -> Rc<Response> {
    let response = bad_request_response("the request body is too large to authorize");
    Rc::new(Response {
        status: 413,
        ..response
    })
}

/// Headers held for a body that never came (without Envoy's
/// `allow_on_headers_stop_iteration` the filter never sees it).
pub fn body_never_arrived() -> Rc<Response> {
    Rc::new(Response::plain(
        500,
        "the request body did not reach the authorization filter\n",
    ))
}

/// A request whose headers the host would not hand over, or that the
/// filter could not read.
pub fn unreadable_request() -> Rc<Response> {
    Rc::new(Response::plain(500, "authorization failed\n"))
}

/// A stream of a VM whose configuration was refused.
pub fn not_configured() -> Response {
    Response::plain(500, "entra-guard is not configured\n")
}
