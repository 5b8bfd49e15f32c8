//! The one JSON-RPC message in the body: its `method` and the two fields
//! that can name what a call runs. The rest of the body is only checked to
//! be JSON, never stored.

use super::{McpBodyError, McpCall};
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::marker::PhantomData;

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

/// The members of the message the filter reads; serde skips the others
/// (`jsonrpc`, `id`, `result`, ...) as `IgnoredAny`.
#[derive(Debug, Deserialize)]
pub(super) struct Message {
    /// A string or `null`; anything else makes the body unreadable.
    method: Option<String>,
    #[serde(default, deserialize_with = "object_or_null")]
    params: Params,
}

#[derive(Debug, Default, Deserialize)]
struct Params {
    #[serde(default)]
    name: Field,
    #[serde(default)]
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
            Target::Name => (&self.params.name, &self.params.uri),
            Target::Uri => (&self.params.uri, &self.params.name),
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
            Target::Name => self.params.name.text(),
            Target::Uri => self.params.uri.text(),
            Target::None => self.params.name.text().or(self.params.uri.text()),
        }
    }
}

/// The message and its `params` must be objects (an array read by position
/// would be something the server never sees), and a member the filter
/// reads may appear once (serde's derived structs refuse a repeated field
/// they name, after unescaping: `u\u0072i` is `uri`).
///
/// Members the filter does not read are skipped unread (`IgnoredAny`): at
/// any depth, since serde_json skips them without recursing and without
/// its recursion limit; their strings are not decoded, so a lone surrogate
/// escape there passes, as servers' own parsers (JavaScript, Python) let it.
/// The body must be UTF-8 as a whole: serde_json checks only the strings it
/// decodes, and `check_framing` promises the server UTF-8.
pub(super) fn read(body: &[u8]) -> Result<Message, McpBodyError> {
    let text = std::str::from_utf8(body).map_err(|_| McpBodyError::Unreadable)?;
    let mut reader = serde_json::Deserializer::from_str(text);
    let message = reader
        .deserialize_map(ObjectOnly::<Message>(PhantomData))
        .and_then(|message| reader.end().map(|()| message));
    // serde_json's messages quote the body: never shown to anyone.
    message.map_err(|_| McpBodyError::Unreadable)
}

/// `T` (a derived struct) read from a JSON object only: serde_json also
/// hands a derived struct an array, which it reads by position (found by
/// fuzzing: `["tools/list"]` passed as a call).
struct ObjectOnly<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectOnly<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

/// `params`: an object, or `null` as if absent.
fn object_or_null<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Params, D::Error> {
    struct OrNull;
    impl<'de> Visitor<'de> for OrNull {
        type Value = Params;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Params, E> {
            Ok(Params::default())
        }

        fn visit_some<D: Deserializer<'de>>(self, inner: D) -> Result<Params, D::Error> {
            inner.deserialize_map(ObjectOnly(PhantomData))
        }
    }
    deserializer.deserialize_option(OrNull)
}

/// A string is the field's text; any other value is only skipped (its
/// arrays and objects unread, so nothing nests on the stack).
impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Field, D::Error> {
        deserializer.deserialize_any(FieldVisitor)
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Field, E> {
        Ok(Field::Text(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Field, E> {
        Ok(Field::Text(v))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Field, E> {
        Ok(Field::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Field, E> {
        Ok(Field::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Field, E> {
        Ok(Field::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Field, E> {
        Ok(Field::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Field, E> {
        Ok(Field::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Field, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| Field::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Field, A::Error> {
        IgnoredAny.visit_map(map).map(|_| Field::Other)
    }
}

/// What serde_json does unasked, pinned: skipping at any depth, UTF-8.
#[cfg(test)]
mod tests {
    use crate::mcp::{read_call, McpBodyError, McpCall};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn read(body: &str) -> Result<McpCall, McpBodyError> {
        read_call(body.as_bytes(), &[])
    }

    fn call(method: &str, name: Option<&str>) -> McpCall {
        McpCall {
            method: Some(method.to_string()),
            name: name.map(str::to_string),
        }
    }

    /// Members the filter does not read are skipped at any depth, as the
    /// filter's own reader skipped them (serde_json's skipping neither recurses
    /// nor counts toward its 128-level limit); what is read stays shallow.
    #[test]
    fn deep_members_the_filter_skips_are_accepted() {
        let deep = |depth: usize| format!("{}1{}", "[{\"k\":".repeat(depth), "}]".repeat(depth));
        let arguments = format!(
            r#"{{"method":"tools/call","params":{{"name":"add","arguments":{}}},"id":{}}}"#,
            deep(50_000),
            deep(200)
        );
        assert_eq!(read(&arguments), Ok(call("tools/call", Some("add"))));
        // A target that is a deep array is skipped too, then refused as such.
        let target = format!(
            r#"{{"method":"tools/call","params":{{"name":{}}}}}"#,
            deep(50_000)
        );
        assert_eq!(read(&target), Err(McpBodyError::TargetNotString));
        let untargeted = format!(r#"{{"method":"ping","params":{{"uri":{}}}}}"#, deep(50_000));
        assert_eq!(read(&untargeted), Ok(call("ping", None)));
        // Still checked for syntax: one bracket short is refused.
        let short = format!(r#"{{"method":"ping","x":{}}}"#, &deep(300)[1..]);
        assert_eq!(read(&short), Err(McpBodyError::Unreadable));
    }

    /// The body is UTF-8 throughout, also in members the filter skips
    /// (serde_json checks only the strings it decodes); a lone surrogate escape
    /// is refused where the filter reads it, skipped elsewhere as servers'
    /// parsers (JavaScript, Python) accept it.
    #[test]
    fn the_body_is_utf8_and_read_strings_are_unicode() {
        for body in [
            &b"{\"method\":\"tools/list\",\"x\":\"\xff\"}"[..],
            b"{\"method\":\"tools/list\",\"\xc3\":1}",
            b"{\"method\":\"tools/list\"} \xff",
            br#"{"method":"tools/call","params":{"name":"\ud800"}}"#,
            br#"{"method":"tools/\udc00call","params":{"name":"a"}}"#,
        ] {
            assert_eq!(
                read_call(body, &[]),
                Err(McpBodyError::Unreadable),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        let skipped = br#"{"method":"tools/list","x":"\ud800","params":{"y":["\udfff"]}}"#;
        assert_eq!(read_call(skipped, &[]), Ok(call("tools/list", None)));
    }
}
