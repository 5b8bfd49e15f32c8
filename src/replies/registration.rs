//! Static client registration (RFC 7591) for Entra, which has none: every
//! request gets the one configured public client, if the redirect URIs it
//! asks for are all on the allowlist. Nothing is stored, so the endpoint
//! needs no credentials and grants nothing a client could not read from
//! the configuration.

use crate::config::{is_loopback, AuthorizationServerConfig};
use crate::replies::{to_json, Response};
use crate::url::parse_absolute;
use serde::{Deserialize, Serialize};

/// Largest client metadata document read (real ones are well under 2 KiB).
pub const MAX_REGISTRATION_BYTES: usize = 64 << 10;
/// Most redirect URIs one registration may ask for.
const MAX_REQUESTED: usize = 64;

/// Why a registration is refused (RFC 7591 §3.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    InvalidRedirectUri,
    InvalidClientMetadata,
}

/// The one member read; RFC 7591 §2 lets a server ignore the others.
#[derive(Deserialize)]
struct ClientMetadata {
    #[serde(default)]
    redirect_uris: Option<Vec<String>>,
}

#[derive(Serialize)]
struct Registered<'a> {
    client_id: &'a str,
    token_endpoint_auth_method: &'static str,
    grant_types: [&'static str; 2],
    response_types: [&'static str; 1],
    redirect_uris: &'a [String],
}

/// The registration answer for `body`: 201 with the configured client, or
/// why not.
pub fn register(server: &AuthorizationServerConfig, body: &[u8]) -> Result<Response, Refusal> {
    let client_id = server
        .client_id
        .as_deref()
        .ok_or(Refusal::InvalidClientMetadata)?;
    let requested = requested_redirect_uris(body)?;
    if requested.is_empty()
        || requested.len() > MAX_REQUESTED
        || !requested
            .iter()
            .all(|uri| server.redirect_uris.iter().any(|a| allows(a, uri)))
    {
        return Err(Refusal::InvalidRedirectUri);
    }
    let body = to_json(&Registered {
        client_id,
        token_endpoint_auth_method: "none",
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
        redirect_uris: &requested,
    });
    Ok(with_cors(Response::json(201, body)))
}

fn requested_redirect_uris(body: &[u8]) -> Result<Vec<String>, Refusal> {
    // serde reads a struct from a JSON array too; client metadata is an object.
    if body.len() > MAX_REGISTRATION_BYTES || body.trim_ascii_start().first() != Some(&b'{') {
        return Err(Refusal::InvalidClientMetadata);
    }
    let metadata: ClientMetadata =
        serde_json::from_slice(body).map_err(|_| Refusal::InvalidClientMetadata)?;
    Ok(metadata.redirect_uris.unwrap_or_default())
}

/// Whether the allowlist entry `allowed` admits `requested`: the same
/// string, or for a loopback `http` entry without a port, the same URI
/// with any port (RFC 8252 §7.3: native apps listen on an ephemeral port).
pub fn allows(allowed: &str, requested: &str) -> bool {
    if allowed == requested {
        return true;
    }
    let Some(url) = parse_absolute(allowed) else {
        return false;
    };
    let has_port = match url.authority.strip_prefix('[') {
        Some(rest) => rest
            .split_once(']')
            .is_none_or(|(_, after)| !after.is_empty()),
        None => url.authority.contains(':'),
    };
    if url.scheme != "http" || !is_loopback(url.authority) || has_port {
        return false;
    }
    let head = format!("http://{}", url.authority);
    let Some(rest) = allowed.get(head.len()..) else {
        return false;
    };
    let Some(port_and_rest) = requested
        .strip_prefix(head.as_str())
        .and_then(|r| r.strip_prefix(':'))
    else {
        return false;
    };
    let digits = port_and_rest.bytes().take_while(u8::is_ascii_digit).count();
    let (port, tail) = port_and_rest.split_at(digits);
    let port_ok =
        (1..=5).contains(&port.len()) && !port.starts_with('0') && port.parse::<u16>().is_ok();
    port_ok && tail == rest
}

/// 400 with RFC 7591's error code; prepared once per configuration.
pub fn refusal_response(refusal: Refusal) -> Response {
    #[derive(Serialize)]
    struct Error {
        error: &'static str,
        error_description: &'static str,
    }
    let error = match refusal {
        Refusal::InvalidRedirectUri => Error {
            error: "invalid_redirect_uri",
            error_description: "every redirect_uris entry must be one this server allows",
        },
        Refusal::InvalidClientMetadata => Error {
            error: "invalid_client_metadata",
            error_description: "the body must be a JSON client metadata object",
        },
    };
    with_cors(Response::json(400, to_json(&error)))
}

fn with_cors(response: Response) -> Response {
    response.with_header("access-control-allow-origin", "*")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn server() -> AuthorizationServerConfig {
        AuthorizationServerConfig {
            issuer: "https://mcp.example".into(),
            issuer_path: String::new(),
            client_id: Some("client-1".into()),
            redirect_uris: vec![
                "http://127.0.0.1/callback".into(),
                "http://localhost".into(),
                "http://[::1]/cb?x=1".into(),
                "http://localhost:3000/fixed".into(),
                "https://vscode.dev/redirect".into(),
                "ms-app://s-1/cb".into(),
            ],
        }
    }

    fn ask(uris: Value) -> Result<Response, Refusal> {
        register(
            &server(),
            json!({"client_name": "x", "redirect_uris": uris})
                .to_string()
                .as_bytes(),
        )
    }

    #[test]
    fn registers_allowed_redirect_uris() {
        let uris = json!([
            "http://127.0.0.1:53682/callback",
            "https://vscode.dev/redirect"
        ]);
        let r = ask(uris.clone()).unwrap();
        assert_eq!(r.status, 201);
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        assert_eq!(r.header("cache-control"), Some("no-store"));
        let doc: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            doc,
            json!({"client_id": "client-1", "token_endpoint_auth_method": "none",
                   "grant_types": ["authorization_code", "refresh_token"],
                   "response_types": ["code"], "redirect_uris": uris})
        );
    }

    #[test]
    fn loopback_entries_without_a_port_match_any_port() {
        let server = server();
        let ok = |a: &str, r: &str| allows(a, r);
        assert!(ok(
            "http://127.0.0.1/callback",
            "http://127.0.0.1:1/callback"
        ));
        assert!(ok(
            "http://127.0.0.1/callback",
            "http://127.0.0.1:65535/callback"
        ));
        assert!(ok("http://127.0.0.1/callback", "http://127.0.0.1/callback"));
        assert!(ok("http://localhost", "http://localhost:8080"));
        assert!(ok("http://[::1]/cb?x=1", "http://[::1]:9/cb?x=1"));
        for (allowed, requested) in [
            (
                "http://127.0.0.1/callback",
                "http://127.0.0.1:65536/callback",
            ),
            ("http://127.0.0.1/callback", "http://127.0.0.1:0/callback"),
            ("http://127.0.0.1/callback", "http://127.0.0.1:/callback"),
            ("http://127.0.0.1/callback", "http://127.0.0.1:080/callback"),
            (
                "http://127.0.0.1/callback",
                "http://127.0.0.1:8080/callback/x",
            ),
            (
                "http://127.0.0.1/callback",
                "http://127.0.0.1:8080/Callback",
            ),
            (
                "http://127.0.0.1/callback",
                "http://127.0.0.1:8080@evil.example/callback",
            ),
            (
                "http://127.0.0.1/callback",
                "http://127.0.0.1.evil.example:80/callback",
            ),
            (
                "http://127.0.0.1/callback",
                "https://127.0.0.1:8080/callback",
            ),
            (
                "http://127.0.0.1/callback",
                "http://localhost:8080/callback",
            ),
            ("http://localhost", "http://localhost:8080/x"),
            ("http://localhost:3000/fixed", "http://localhost:3001/fixed"),
            (
                "https://vscode.dev/redirect",
                "https://vscode.dev:444/redirect",
            ),
            (
                "https://vscode.dev/redirect",
                "https://vscode.dev/redirect/",
            ),
        ] {
            assert!(!ok(allowed, requested), "{allowed} admitted {requested}");
        }
        assert!(server
            .redirect_uris
            .iter()
            .any(|a| allows(a, "ms-app://s-1/cb")));
    }

    #[test]
    fn any_uri_not_allowed_refuses_the_whole_registration() {
        for uris in [
            json!(["http://127.0.0.1:5/callback", "https://evil.example/cb"]),
            json!(["https://vscode.dev/redirect#x"]),
            json!([]),
            json!(null),
        ] {
            assert_eq!(
                ask(uris.clone()).err(),
                Some(Refusal::InvalidRedirectUri),
                "{uris}"
            );
        }
        let many: Vec<&str> = vec!["https://vscode.dev/redirect"; MAX_REQUESTED + 1];
        assert_eq!(ask(json!(many)).err(), Some(Refusal::InvalidRedirectUri));
        let r = refusal_response(Refusal::InvalidRedirectUri);
        assert_eq!(r.status, 400);
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        let doc: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(doc["error"], "invalid_redirect_uri");
    }

    #[test]
    fn unreadable_metadata_is_refused() {
        let s = server();
        let big = format!(
            r#"{{"redirect_uris":["https://vscode.dev/redirect"],"x":"{}"}}"#,
            "a".repeat(MAX_REGISTRATION_BYTES)
        );
        for body in [
            &b""[..],
            b"not json",
            b"[[\"https://vscode.dev/redirect\"]]",
            br#"{"redirect_uris":"https://vscode.dev/redirect"}"#,
            br#"{"redirect_uris":[1]}"#,
            br#"{"redirect_uris":["https://vscode.dev/redirect"],"redirect_uris":[]}"#,
            br#"{"redirect_uris":["https://vscode.dev/redirect"]} x"#,
            big.as_bytes(),
        ] {
            assert_eq!(
                register(&s, body).err(),
                Some(Refusal::InvalidClientMetadata),
                "{}",
                String::from_utf8_lossy(&body[..body.len().min(80)])
            );
        }
        let doc: Value =
            serde_json::from_slice(&refusal_response(Refusal::InvalidClientMetadata).body).unwrap();
        assert_eq!(doc["error"], "invalid_client_metadata");
    }
}
