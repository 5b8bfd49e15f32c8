//! Which requests carry an MCP call the rules must see, and which are
//! CORS preflights: the parts of the decision that depend on the request's
//! framing rather than its credentials.

use super::{bad_request_response, respond, Decision, Request};
use super::{DenyReason, Reason};
use crate::policy::Policy;
use crate::{headers, mcp};

/// The call a per-tool rule matches. On a path where the rule depends on
/// it, a request with a body is read as one JSON-RPC message whatever its
/// method (`PUT`, `PATCH`, HTTP/2 `post`): servers read the body of any
/// method, so none may carry a call the rules never saw. Without a body
/// there is no call. A body that is there but empty (the stream ended with
/// trailers only) is unreadable, like any other non-message.
pub(super) fn mcp_call(
    req: &Request<'_>,
    policy: &Policy,
) -> Result<Option<mcp::McpCall>, Decision> {
    if !req.has_body || !policy.rule_index.needs_mcp_call(req.path) {
        return Ok(None);
    }
    let refuse = |e: mcp::McpBodyError| {
        respond(
            bad_request_response(e.description()),
            Reason::Denied(DenyReason::InvalidRequest),
        )
    };
    // Checked before the body is buffered: no use waiting for one that
    // cannot be read.
    mcp::check_framing(req.headers).map_err(refuse)?;
    let Some(body) = req.body else {
        return Err(Decision::NeedBody);
    };
    mcp::read_call(body, req.headers).map(Some).map_err(refuse)
}

/// A CORS preflight (Fetch standard): `OPTIONS` with both `Origin` and
/// `Access-Control-Request-Method`, and no body. Any other `OPTIONS` is a
/// request like the others, since an upstream may act on it.
pub(super) fn is_preflight(req: &Request<'_>) -> bool {
    req.method == "OPTIONS"
        && !req.has_body
        && headers::first(req.headers, "origin").is_some()
        && headers::first(req.headers, "access-control-request-method").is_some()
}
