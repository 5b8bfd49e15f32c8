//! What the filter answers itself, before any rule: the protected resource
//! metadata, the authorization-server metadata, static registration, and
//! CORS preflights of those. All of it is public: served without
//! credentials, whatever the rules say about the path. With
//! `protected_resources`, each resource's documents at its own paths.

use super::request::is_preflight;
use super::{respond, respond_with, Decision, Reason, Request};
use crate::policy::Policy;
use crate::replies::authorization_server::{served_path, Served};
use crate::replies::cors::preflight_response;
use crate::replies::metadata;
use crate::replies::registration::{register, Refusal};
use std::rc::Rc;

/// The filter's own answer for `path` (without its query), or `None` when
/// the request goes on to the rules: other methods of these paths, every
/// other path.
pub(super) fn served(req: &Request<'_>, policy: &Policy, path: &str) -> Option<Decision> {
    if let Some(mcp) = policy.config.mcp.as_ref() {
        let decision = served_by(req, policy, path, metadata::is_metadata_path(mcp, path));
        if decision.is_some() {
            return decision;
        }
    }
    for resource in &policy.resources {
        let scoped = &resource.policy;
        let is_metadata =
            scoped.config.mcp.as_ref().is_some_and(|m| {
                path == m.resource_metadata_path || path == resource.well_known_path
            });
        let decision = served_by(req, scoped, path, is_metadata);
        if decision.is_some() {
            return decision;
        }
    }
    match (&policy.per_resource_root, req.method) {
        (Some(_), _) if path != metadata::ROOT_METADATA_PATH => None,
        (Some(_), _) if is_preflight(req) => {
            Some(respond(preflight_response(req.headers), Reason::Served))
        }
        (Some(not_found), "GET" | "HEAD") => {
            Some(respond_with(Rc::clone(not_found), Reason::Served))
        }
        _ => None,
    }
}

/// What `policy` (the top-level one or a resource's, with its `mcp` block)
/// serves at `path`; `is_metadata`: the path is one of its protected
/// resource metadata paths.
fn served_by(
    req: &Request<'_>,
    policy: &Policy,
    path: &str,
    is_metadata: bool,
) -> Option<Decision> {
    let mcp = policy.config.mcp.as_ref()?;
    let server = mcp.authorization_server.as_ref();
    // `None`: the protected resource metadata.
    let what = if is_metadata {
        None
    } else {
        Some(server.and_then(|s| served_path(s, path))?)
    };
    if is_preflight(req) {
        return Some(respond(preflight_response(req.headers), Reason::Served));
    }
    match (what, req.method) {
        (None, "GET" | "HEAD") => Some(respond_with(policy.metadata(mcp), Reason::Served)),
        (Some(Served::Document), "GET" | "HEAD") => {
            Some(respond_with(policy.server_metadata()?, Reason::Served))
        }
        (Some(Served::Register), "POST") => {
            let server = server?;
            if !req.has_body {
                let refusal = Refusal::InvalidClientMetadata;
                return Some(respond_with(
                    policy.registration_refused(refusal),
                    Reason::Registration { accepted: false },
                ));
            }
            // Read through the one decision loop, like an MCP call's body.
            let Some(body) = req.body else {
                return Some(Decision::NeedBody);
            };
            Some(match register(server, body) {
                Ok(response) => respond(response, Reason::Registration { accepted: true }),
                Err(refusal) => respond_with(
                    policy.registration_refused(refusal),
                    Reason::Registration { accepted: false },
                ),
            })
        }
        _ => None,
    }
}
