//! The one JSON-RPC message in the body: its `method` and the two fields
//! that can name what a call runs. The rest of the body is only checked to
//! be JSON, never stored.

use super::{McpBodyError, McpCall};
use crate::json::{set_once, JsonError, ObjectCursor, Reader};

/// A member of `params` the filter reads.
#[derive(Debug, Default)]
enum Field {
    #[default]
    Absent,
    Text(String),
    /// Present with another JSON value, `null` included.
    Other,
}

impl Field {
    fn text(&self) -> Option<&str> {
        match self {
            Field::Text(s) => Some(s),
            Field::Absent | Field::Other => None,
        }
    }
}

#[derive(Debug)]
pub(super) struct Message {
    method: Option<String>,
    name: Field,
    uri: Field,
}

/// Which member of `params` names what a method runs or reads.
enum Target {
    Name,
    Uri,
    /// Nothing: the method runs no tool, prompt or resource the client
    /// names (`initialize`, `ping`, the `*/list` methods, `logging/setLevel`,
    /// `completion/complete`, whose `params.ref` only says which prompt's
    /// arguments to complete). A `params.name` there is not something the
    /// server executes, so a per-tool rule must not match on it; the
    /// specification defines `Mcp-Name` only for the methods above.
    None,
}

/// As the MCP schema (2025-03-26 to 2026-07-28) defines the requests:
/// `CallToolRequest` and `GetPromptRequest` carry `name`, the resource
/// requests `uri`. Servers dispatch on that field alone, so a body that
/// carries the other one too is refused rather than read one way.
fn target_of(method: &str) -> Target {
    match method {
        "tools/call" | "prompts/get" => Target::Name,
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => Target::Uri,
        _ => Target::None,
    }
}

impl Message {
    pub(super) fn call(&self) -> Result<McpCall, McpBodyError> {
        let target = self.method.as_deref().map_or(Target::None, target_of);
        let (field, other) = match target {
            Target::Name => (&self.name, &self.uri),
            Target::Uri => (&self.uri, &self.name),
            Target::None => {
                return Ok(McpCall {
                    method: self.method.clone(),
                    name: None,
                })
            }
        };
        if !matches!(other, Field::Absent) {
            return Err(McpBodyError::AmbiguousTarget);
        }
        if matches!(field, Field::Other) {
            return Err(McpBodyError::TargetNotString);
        }
        Ok(McpCall {
            method: self.method.clone(),
            name: field.text().map(str::to_string),
        })
    }

    /// What an `Mcp-Name` header must equal: the target; for a method
    /// without one, `params.name` else `params.uri`, as the SDK clients
    /// (TypeScript, Python) fill the header, so that no header the filter
    /// lets through disagrees with the body.
    pub(super) fn mirrored_name(&self) -> Option<&str> {
        match self.method.as_deref().map_or(Target::None, target_of) {
            Target::Name => self.name.text(),
            Target::Uri => self.uri.text(),
            Target::None => self.name.text().or(self.uri.text()),
        }
    }
}

/// The message and its `params` must be objects (an array read by position
/// would be something the server never sees), and a member the filter
/// reads may appear once.
pub(super) fn read(body: &[u8]) -> Result<Message, McpBodyError> {
    read_message(body).map_err(|_| McpBodyError::Unreadable)
}

fn read_message(body: &[u8]) -> Result<Message, JsonError> {
    let mut reader = Reader::new(body);
    let mut message = reader.object()?.ok_or(JsonError::ExpectedValue)?;
    let (mut method, mut params) = (None, None);
    while let Some(key) = reader.next_key(&mut message)? {
        match key.as_str() {
            "method" => set_once(&mut method, &key, reader.string_or_null()?)?,
            "params" => set_once(&mut params, &key, read_params(&mut reader)?)?,
            _ => reader.skip()?,
        }
    }
    reader.end()?;
    let (name, uri) = params.unwrap_or_default();
    Ok(Message {
        method: method.flatten(),
        name,
        uri,
    })
}

/// An object (or `null`): its `name` and `uri` members.
fn read_params(reader: &mut Reader<'_>) -> Result<(Field, Field), JsonError> {
    if reader.at_null() {
        return reader.skip().map(|()| Default::default());
    }
    let mut params: ObjectCursor = reader.object()?.ok_or(JsonError::ExpectedValue)?;
    let (mut name, mut uri) = (None, None);
    while let Some(key) = reader.next_key(&mut params)? {
        match key.as_str() {
            "name" => set_once(&mut name, &key, read_field(reader)?)?,
            "uri" => set_once(&mut uri, &key, read_field(reader)?)?,
            _ => reader.skip()?,
        }
    }
    Ok((name.unwrap_or_default(), uri.unwrap_or_default()))
}

fn read_field(reader: &mut Reader<'_>) -> Result<Field, JsonError> {
    if !reader.at_string() {
        return reader.skip().map(|()| Field::Other);
    }
    Ok(reader.string_or_null()?.map_or(Field::Other, Field::Text))
}
