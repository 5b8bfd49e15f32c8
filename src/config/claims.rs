//! Claims: `entra.required_claims` (what every token must carry) and
//! `claims_to_headers` (which claims reach the upstream, as which headers).

use super::error::{ConfigError, Result, DUPLICATE_KEY};
use super::subscription::SubscriptionConfig;
use super::values::{header_name, strings, NonEmpty, NonEmptyList};
use crate::headers;
use serde::de::{DeserializeSeed, Deserializer, Error, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum ClaimMatch {
    Any,
    #[default]
    All,
}

impl TryFrom<String> for ClaimMatch {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        match s.as_str() {
            "all" => Ok(Self::All),
            "any" => Ok(Self::Any),
            other => Err(format!("must be \"any\" or \"all\", not \"{other}\"")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequiredClaim {
    pub name: String,
    pub match_mode: ClaimMatch,
    pub values: Vec<String>,
    /// Splits a string claim into values (`scp` is space separated).
    pub separator: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRequiredClaim {
    name: NonEmpty,
    #[serde(rename = "match", default)]
    match_mode: Option<ClaimMatch>,
    values: NonEmptyList<NonEmpty>,
    separator: Option<NonEmpty>,
}

impl RawRequiredClaim {
    pub fn validate(self) -> RequiredClaim {
        RequiredClaim {
            name: self.name.0,
            match_mode: self.match_mode.unwrap_or_default(),
            values: strings(self.values.0),
            separator: self.separator.map(String::from),
        }
    }

    /// A `required_claims` list (of `entra` or of a protected resource).
    pub fn validate_all(raw: Vec<RawRequiredClaim>) -> Vec<RequiredClaim> {
        raw.into_iter().map(RawRequiredClaim::validate).collect()
    }
}

/// `claims_to_headers` as written, in document order. serde's maps keep
/// the last of two equal keys; this one refuses the second, as for every
/// other object of the configuration.
#[derive(Default)]
pub struct RawClaimsToHeaders(Vec<(String, String)>);

impl<'de> Deserialize<'de> for RawClaimsToHeaders {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_option(Pairs)
    }
}

struct Pairs;

impl<'de> Visitor<'de> for Pairs {
    type Value = RawClaimsToHeaders;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map")
    }

    /// `null` reads as an absent key, as everywhere in the configuration.
    fn visit_none<E: Error>(self) -> std::result::Result<Self::Value, E> {
        Ok(RawClaimsToHeaders::default())
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        while let Some(claim) = map.next_key::<String>()? {
            if pairs.iter().any(|(c, _)| *c == claim) {
                // Refused as its value is read, so the error's path ends
                // with the repeated key.
                return map
                    .next_value_seed(Repeated)
                    .map(|()| RawClaimsToHeaders(pairs));
            }
            let header = map.next_value::<String>()?;
            pairs.push((claim, header));
        }
        Ok(RawClaimsToHeaders(pairs))
    }
}

/// The value of a repeated key: never read, always refused.
struct Repeated;

impl<'de> DeserializeSeed<'de> for Repeated {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, _: D) -> std::result::Result<(), D::Error> {
        Err(D::Error::custom(DUPLICATE_KEY))
    }
}

/// Credentials: an upstream would take a claim written there for one.
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie"];

/// Headers that steer routing in Envoy or in the upstream.
const ROUTING_HEADERS: &[&str] = &[
    "host",
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-prefix",
    "x-original-url",
    "x-rewrite-url",
    "x-http-method-override",
];

impl RawClaimsToHeaders {
    /// (claim, lowercase header) pairs; the refusals depend on the
    /// subscription block, so they run once it is read.
    pub fn validate(self, sub: Option<&SubscriptionConfig>) -> Result<Vec<(String, String)>> {
        let mut out: Vec<(String, String)> = Vec::new();
        for (claim, header) in self.0 {
            let key = format!(
                "claims_to_headers.{}",
                if claim.is_empty() { "\"\"" } else { &claim }
            );
            if claim.is_empty() {
                return Err(ConfigError::new(key, "claim name must not be empty"));
            }
            let header = claim_header(&header, sub).map_err(|r| ConfigError::new(&key, r))?;
            if out.iter().any(|(_, h)| headers::same_name(h, &header)) {
                return Err(ConfigError::new(
                    key,
                    "header is already used by another claim",
                ));
            }
            out.push((claim, header));
        }
        Ok(out)
    }
}

/// A plain header name that is not a pseudo-header, a credential, the
/// subscription name header or a routing header, compared as an upstream
/// reads names (any case, `_` for `-`).
fn claim_header(
    value: &str,
    sub: Option<&SubscriptionConfig>,
) -> std::result::Result<String, &'static str> {
    let is = |h: &str| headers::same_name(h, value);
    if value.starts_with(':') {
        Err("must not be a pseudo-header (:path, :authority, ...)")
    } else if CREDENTIAL_HEADERS.iter().any(|h| is(h)) || sub.is_some_and(|s| is(&s.header)) {
        Err("must not be a credential header (Authorization, Cookie, the subscription key header)")
    } else if sub.is_some_and(|s| is(&s.name_header)) {
        Err("must not be subscription_keys.name_header (the filter sets it)")
    } else if ROUTING_HEADERS.iter().any(|h| is(h))
        || value
            .get(..8)
            .is_some_and(|p| headers::same_name(p, "x-envoy-"))
    {
        Err("must not be a header that steers routing (Host, Forwarded, X-Forwarded-*, X-Envoy-*, ...)")
    } else {
        header_name(value)
    }
}
