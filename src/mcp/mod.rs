//! What MCP operation a request performs: the JSON-RPC `method` and the
//! call's target (the tool, prompt or resource it runs or reads), from the
//! body, cross-checked with the `Mcp-Method` / `Mcp-Name` headers of the
//! 2026-07-28 transport. The body is read only in the one encoding the
//! filter reads it in (`framing`).

mod body;
mod framing;
mod mirror;

#[cfg(test)]
mod tests;

pub use framing::check_framing;

use crate::headers::Header;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpCall {
    /// `None` for a JSON-RPC response or a message without a method.
    pub method: Option<String>,
    /// What the call runs or reads: `params.name` for `tools/call` and
    /// `prompts/get`, `params.uri` for `resources/read`,
    /// `resources/subscribe` and `resources/unsubscribe`; `None` for every
    /// other method.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpBodyError {
    /// Not a single JSON-RPC object (batches included): the filter would
    /// have to guess what the server reads.
    Unreadable,
    /// A call that names its target in both `params.name` and `params.uri`:
    /// a server might run the one the rules did not match.
    AmbiguousTarget,
    /// The target field is there but is not a string.
    TargetNotString,
    /// `Mcp-Method`/`Mcp-Name` say something else than the body.
    HeaderMismatch,
    /// Two `Mcp-Method` or two `Mcp-Name` headers.
    RepeatedHeader,
    /// A `Content-Type` the filter does not read the body as.
    ContentType,
    /// A `Content-Encoding` other than `identity`.
    ContentEncoding,
}

impl McpBodyError {
    pub fn description(self) -> &'static str {
        match self {
            McpBodyError::Unreadable => "the request body is not a single JSON-RPC message",
            McpBodyError::AmbiguousTarget => {
                "the request names its target in both params.name and params.uri"
            }
            McpBodyError::TargetNotString => {
                "the request's params.name or params.uri is not a string"
            }
            McpBodyError::HeaderMismatch => {
                "the Mcp-Method or Mcp-Name header does not match the request body"
            }
            McpBodyError::RepeatedHeader => "send at most one Mcp-Method and one Mcp-Name header",
            McpBodyError::ContentType => {
                "send the request body as Content-Type: application/json (charset utf-8, if any)"
            }
            McpBodyError::ContentEncoding => "send the request body without a Content-Encoding",
        }
    }
}

/// Reads the call from the body and checks it against the headers (each
/// header, when present, must equal what the body says). `Content-Type`
/// and `Content-Encoding` are `check_framing`'s.
pub fn read_call(body: &[u8], headers: &[Header<'_>]) -> Result<McpCall, McpBodyError> {
    let message = body::read(body)?;
    let call = message.call()?;
    mirror::check(headers, call.method.as_deref(), message.mirrored_name())?;
    Ok(call)
}
