//! The 401s APIM clients already know how to read: APIM's JSON body and
//! messages, word for word, and its `AzureApiManagementKey` challenge.

use crate::config::SubscriptionConfig;
use crate::replies::challenge::quote;
use crate::replies::{to_json, Response};
use serde::Serialize;

pub(crate) const MISSING_MESSAGE: &str = "Access denied due to missing subscription key. \
     Make sure to include subscription key when making requests to an API.";
pub(crate) const INVALID_MESSAGE: &str = "Access denied due to invalid subscription key. \
     Make sure to provide a valid key for an active subscription.";

pub fn missing_key_response(cfg: &SubscriptionConfig) -> Response {
    denial(cfg, MISSING_MESSAGE)
}

pub fn invalid_key_response(cfg: &SubscriptionConfig) -> Response {
    denial(cfg, INVALID_MESSAGE)
}

/// `AzureApiManagementKey realm="...", name="<header>", type="header"`. The
/// header name is the configured one, lowercased (HTTP names are
/// case-insensitive and the configuration keeps only the lowercase form).
pub fn challenge(cfg: &SubscriptionConfig) -> String {
    format!(
        "AzureApiManagementKey realm=\"{}\", name=\"{}\", type=\"header\"",
        quote(&cfg.realm),
        quote(&cfg.header)
    )
}

/// APIM's body, members in its order (`statusCode` first).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApimBody<'a> {
    status_code: u16,
    message: &'a str,
}

fn denial(cfg: &SubscriptionConfig, message: &str) -> Response {
    let body = to_json(&ApimBody {
        status_code: 401,
        message,
    });
    Response::json(401, body)
        .with_header("www-authenticate", challenge(cfg))
        .with_header("access-control-allow-origin", "*")
        .with_header("access-control-expose-headers", "WWW-Authenticate")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn cfg(realm: &str) -> SubscriptionConfig {
        SubscriptionConfig {
            header: "ocp-apim-subscription-key".into(),
            query: Some("subscription-key".into()),
            keys: Vec::new(),
            name_header: "x-apim-subscription-name".into(),
            realm: realm.into(),
        }
    }

    #[test]
    fn bodies_are_apims_word_for_word() {
        let cases = [
            (
                missing_key_response(&cfg("entra-guard")),
                "{\"statusCode\":401,\"message\":\"Access denied due to missing subscription key. \
                 Make sure to include subscription key when making requests to an API.\"}",
            ),
            (
                invalid_key_response(&cfg("entra-guard")),
                "{\"statusCode\":401,\"message\":\"Access denied due to invalid subscription key. \
                 Make sure to provide a valid key for an active subscription.\"}",
            ),
        ];
        for (response, body) in cases {
            assert_eq!(response.status, 401);
            assert_eq!(String::from_utf8(response.body.clone()).unwrap(), body);
            let parsed: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
            assert_eq!(parsed["statusCode"], 401);
            assert_eq!(response.header("content-type"), Some("application/json"));
            assert_eq!(
                response.header("www-authenticate"),
                Some(
                    "AzureApiManagementKey realm=\"entra-guard\", \
                     name=\"ocp-apim-subscription-key\", type=\"header\""
                )
            );
            assert_eq!(
                response
                    .headers
                    .iter()
                    .filter(|(n, _)| n == "www-authenticate")
                    .count(),
                1
            );
        }
    }

    #[test]
    fn realm_is_quoted() {
        let c = cfg(r#"a "b" \c"#);
        assert_eq!(
            challenge(&c),
            r#"AzureApiManagementKey realm="a \"b\" \\c", name="ocp-apim-subscription-key", type="header""#
        );
        let r = missing_key_response(&cfg("x\u{7}y"));
        assert!(r
            .header("www-authenticate")
            .unwrap()
            .starts_with("AzureApiManagementKey realm=\"xy\""));
    }
}
