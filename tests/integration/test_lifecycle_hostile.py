"""What reaches the upstream, row by row of the contract's request lifecycle table
("What reaches the upstream" in the filter contract), at the Envoy level.

One row per situation observable over HTTP: the MCP body's Content-Type and
Content-Encoding, params.name vs params.uri, repeated or mismatching
Mcp-Method/Mcp-Name, case-folded paths, bodies of PUT/PATCH/lowercase `post`,
`_`-spelled identity headers, OPTIONS that are not preflights, a forged bearer
next to a valid subscription key, `?access_token=`, `Bearer<TAB>`, JOSE `typ`,
`upstream_authorization: "remove"`, and claims_to_headers naming a credential
header. The Envoy keeps its permissive defaults (headers with `_` pass) with
`allow_on_headers_stop_iteration` and HTTP/1.1 trailers on; the recording
upstream shows what got through.

Run: .venv/bin/pytest tests/integration/test_lifecycle_hostile.py -q
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from envoy_harness import EnvoyError
from filter_config import filter_config
from issuer import Issuer
from issuer.tokens import with_garbage_signature
from lifecycle_support import (
    ADD,
    DIVIDE,
    CLAIMS_TO_HEADERS,
    MARKER,
    PERMISSIVE_HCM,
    RecordingEcho,
    assert_forwarded_whole,
    assert_invalid_request,
    assert_nothing_forwarded,
    guard,
    identity_of,
    send,
    start_envoy,
)
from vm_health import assert_vms_healthy, vm_snapshot

pytestmark = pytest.mark.wasm  # every test here runs the built filter



@pytest.fixture(scope="module")
def recorder():
    with RecordingEcho() as server:
        yield server


SUBSCRIPTION_KEY = "lifecycle-suite-key-0123456789"
SUBSCRIPTION_NAME = "lifecycle-suite"
HOSTILE_RULES = [
    {"path_prefix": "/health", "require": "none"},
    {"path_prefix": "/mcp", "require": "none", "mcp_tools": ["add"]},
    {"path_prefix": "/mcp", "require": "none", "mcp_methods": ["resources/read"], "mcp_tools": ["calculator://about"]},
    {"path_prefix": "/mcp", "require": "jwt", "mcp_tools": ["divide"], "required_roles": ["Calculator.Divide"]},
    {"path_prefix": "/mcp", "require": "jwt"},
    {"path_prefix": "/either", "require": "jwt_or_subscription_key"},
    {"path_prefix": "/api", "require": "jwt"},
    {"path_prefix": "/", "require": "none"},  # everything else is public
]


def hostile_config(issuer: Issuer, **sections) -> dict:
    digest = hashlib.sha256(SUBSCRIPTION_KEY.encode()).hexdigest()
    base = {"rules": HOSTILE_RULES, "claims_to_headers": CLAIMS_TO_HEADERS,
            "subscription_keys": {"keys": [{"name": SUBSCRIPTION_NAME, "sha256": digest}]}}
    return filter_config(issuer, entra={"key_wait_ms": 500, "kid_miss_refetch_seconds": 1}, **{**base, **sections})


# Its own Envoy: a build that does not know the key refuses the whole configuration.
REMOVE_RULE = {"path_prefix": "/noauth", "require": "jwt", "upstream_authorization": "remove"}


class Hostile:
    """The Envoys of the hostile rows, started when first needed; a configuration
    the filter refuses fails the rows that need it (not the others)."""

    def __init__(self, factory, issuer: Issuer, recorder: RecordingEcho):
        self.factory, self.issuer, self.recorder = factory, issuer, recorder
        self.envoys: dict[str, tuple] = {}

    def envoy(self, target: str):
        name = "remove" if target.startswith("/noauth") else "main"
        if name not in self.envoys:
            rules = [REMOVE_RULE, *HOSTILE_RULES] if name == "remove" else HOSTILE_RULES
            try:
                envoy = start_envoy(self.factory, hostile_config(self.issuer, rules=rules), self.recorder,
                                    hcm=PERMISSIVE_HCM)
                self.envoys[name] = (envoy, vm_snapshot(envoy))
            except EnvoyError as refused:
                self.envoys[name] = (None, str(refused)[-600:])
        envoy, snapshot = self.envoys[name]
        if envoy is None:
            pytest.fail(f"the filter refused the configuration: {snapshot}", pytrace=False)
        return envoy, snapshot


@pytest.fixture(scope="module")
def hostile(module_envoy_factory, module_issuer, recorder):
    return Hostile(module_envoy_factory, module_issuer, recorder)


def rpc(method: str, **params) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}).encode()


def mcp_name_b64(name: str) -> str:
    return "=?base64?" + base64.b64encode(name.encode()).decode() + "?="


JSON = ("Content-Type", "application/json")
TOKENS: dict[str, Callable[[Issuer], str]] = {
    "valid": lambda i: i.tokens.v2(),  # no app role: `divide` answers 403
    "forged": lambda i: with_garbage_signature(i.tokens.v2()),
    "typ-JWS": lambda i: i.tokens.v2(header={"typ": "JWS"}),
    "typ-dpop": lambda i: i.tokens.v2(header={"typ": "dpop+jwt"}),
    "typ-at+jwt": lambda i: i.tokens.v2(header={"typ": "at+jwt"}),
    "typ-app-at+JWT": lambda i: i.tokens.v2(header={"typ": "application/at+JWT"}),
    "typ-jwt": lambda i: i.tokens.v2(header={"typ": "jwt"}),
}
KEY = ("Ocp-Apim-Subscription-Key", SUBSCRIPTION_KEY)


@dataclass(frozen=True)
class Refused:
    statuses: frozenset[int]
    error: str | None = None  # "invalid_request" / "invalid_token" (checked over HTTP/1.1)


@dataclass(frozen=True)
class Forwarded:
    identity: bool  # identity headers from the token (else none at all)
    authorization: str = "as-sent"  # or "absent"
    subscription_name: str | None = None


BAD_REQUEST = Refused(frozenset({400}), "invalid_request")
NO_TOKEN = Refused(frozenset({401}))
INVALID_TOKEN = Refused(frozenset({401}), "invalid_token")
INSUFFICIENT = Refused(frozenset({403}))
REFUSED = Refused(frozenset({400, 401}))

# id, protocol, method, target, headers ({token} → TOKENS[token]), body, expected
HOSTILE = [
    # The MCP body: application/json with no charset or utf-8, no Content-Encoding but identity.
    ("charset-latin1", "h1", "POST", "/mcp", [("Content-Type", "application/json; charset=iso-8859-1")], ADD, BAD_REQUEST),
    ("charset-utf16", "h1", "POST", "/mcp", [("Content-Type", "application/json; charset=utf-16")], ADD, BAD_REQUEST),
    ("content-type-text", "h1", "POST", "/mcp", [("Content-Type", "text/plain")], ADD, BAD_REQUEST),
    ("content-type-missing", "h1", "POST", "/mcp", [], ADD, BAD_REQUEST),
    ("content-encoding-gzip", "h1", "POST", "/mcp", [JSON, ("Content-Encoding", "gzip")], gzip.compress(DIVIDE), BAD_REQUEST),
    ("charset-utf8-any-case", "h1", "POST", "/mcp", [("Content-Type", "Application/JSON; Charset=UTF-8")], ADD, Forwarded(False)),
    ("content-encoding-identity", "h1", "POST", "/mcp", [JSON, ("Content-Encoding", "identity")], ADD, Forwarded(False)),
    # Which field a per-tool rule matches: params.name (tools/call), params.uri (resources/read).
    ("resources-read-public-uri", "h1", "POST", "/mcp", [JSON], rpc("resources/read", uri="calculator://about"), Forwarded(False)),
    ("resources-read-other-uri", "h1", "POST", "/mcp", [JSON], rpc("resources/read", uri="calculator://secret"), NO_TOKEN),
    ("resources-read-uri-and-name", "h1", "POST", "/mcp", [JSON], rpc("resources/read", uri="calculator://secret", name="add"), BAD_REQUEST),
    ("tools-call-name-and-uri", "h1", "POST", "/mcp", [JSON, ("Authorization", "Bearer {valid}")],
     rpc("tools/call", name="divide", uri="calculator://about", arguments={}), BAD_REQUEST),
    # Mcp-Method / Mcp-Name: at most one of each, equal to the body after decoding.
    ("mcp-name-repeated", "h1", "POST", "/mcp", [JSON, ("Mcp-Name", "add"), ("Mcp-Name", "add")], ADD, BAD_REQUEST),
    ("mcp-method-repeated", "h1", "POST", "/mcp", [JSON, ("Mcp-Method", "tools/call"), ("Mcp-Method", "tools/call")], ADD, BAD_REQUEST),
    ("mcp-name-mismatch", "h1", "POST", "/mcp", [JSON, ("Mcp-Name", "add"), ("Authorization", "Bearer {valid}")], DIVIDE, BAD_REQUEST),
    ("mcp-name-base64-matches", "h1", "POST", "/mcp", [JSON, ("Mcp-Name", mcp_name_b64("divide")), ("Authorization", "Bearer {valid}")], DIVIDE, INSUFFICIENT),
    # A path whose rule changes when case-folded.
    ("path-MCP-post", "h1", "POST", "/MCP", [JSON], DIVIDE, BAD_REQUEST),
    ("path-Mcp-get", "h1", "GET", "/Mcp", [], b"", BAD_REQUEST),
    ("path-MCP-h2", "h2", "POST", "/MCP", [JSON], DIVIDE, BAD_REQUEST),
    # The body is read whatever the method.
    ("method-PUT", "h1", "PUT", "/mcp", [JSON, ("Authorization", "Bearer {valid}")], DIVIDE, INSUFFICIENT),
    ("method-PATCH", "h1", "PATCH", "/mcp", [JSON, ("Authorization", "Bearer {valid}")], DIVIDE, INSUFFICIENT),
    ("method-h2-lowercase-post", "h2", "post", "/mcp", [JSON, ("Authorization", "Bearer {valid}")], DIVIDE, INSUFFICIENT),
    ("method-h2-PUT", "h2", "PUT", "/mcp", [JSON, ("Authorization", "Bearer {valid}")], DIVIDE, INSUFFICIENT),
    # Client copies of claims_to_headers / subscription name headers, in every spelling.
    ("identity-underscore-public", "h1", "GET", "/public",
     [("x_entra_oid", "forged"), ("X_ENTRA_OID", "forged"), ("X-Entra-Oid", "forged"), ("x_entra-tid", "forged"),
      ("X-Entra-Client_Id", "forged")], b"", Forwarded(False)),
    ("identity-underscore-token", "h1", "GET", "/api",
     [("Authorization", "Bearer {valid}"), ("x_entra_oid", "forged"), ("X_Entra_Tid", "forged"),
      ("x-entra_client-id", "forged")], b"", Forwarded(True)),
    ("identity-underscore-h2", "h2", "GET", "/api",
     [("authorization", "Bearer {valid}"), ("x_entra_oid", "forged"), ("x_entra_tid", "forged")], b"", Forwarded(True)),
    ("identity-underscore-public-mcp", "h1", "POST", "/mcp", [JSON, ("x_entra_oid", "forged")], ADD, Forwarded(False)),
    ("subscription-name-underscore", "h1", "GET", "/either",
     [KEY, ("x_apim_subscription_name", "forged"), ("X-APIM-Subscription_Name", "forged")], b"",
     Forwarded(False, subscription_name=SUBSCRIPTION_NAME)),
    # CORS preflight: OPTIONS with Origin and Access-Control-Request-Method, no body.
    ("options-no-origin", "h1", "OPTIONS", "/api", [("Access-Control-Request-Method", "POST")], b"", NO_TOKEN),
    ("options-with-body", "h1", "OPTIONS", "/api", [("Origin", "https://app.contoso.test"),
                                                   ("Access-Control-Request-Method", "POST")], b"{}", NO_TOKEN),
    ("options-preflight", "h1", "OPTIONS", "/api", [("Origin", "https://app.contoso.test"),
                                                   ("Access-Control-Request-Method", "POST")], b"", Forwarded(False, authorization="absent")),
    # jwt_or_subscription_key: a bearer token is still verified.
    ("either-forged-bearer-valid-key", "h1", "GET", "/either", [KEY, ("Authorization", "Bearer {forged}")], b"", INVALID_TOKEN),
    ("either-valid-key", "h1", "GET", "/either", [KEY], b"", Forwarded(False, subscription_name=SUBSCRIPTION_NAME)),
    # RFC 6750 §2.3 query tokens are refused (bearer_methods_supported: header).
    ("access-token-query", "h1", "GET", "/api?access_token={valid}", [], b"", BAD_REQUEST),
    ("access-token-query-and-header", "h1", "GET", "/api?access_token={valid}", [("Authorization", "Bearer {valid}")], b"", BAD_REQUEST),
    # `Bearer` + anything but spaces before the token.
    ("bearer-tab", "h1", "GET", "/api", [("Authorization", "Bearer\t{valid}")], b"", REFUSED),
    # JOSE typ: JWT or at+jwt (any case, application/ prefix allowed).
    ("typ-JWS", "h1", "GET", "/api", [("Authorization", "Bearer {typ-JWS}")], b"", INVALID_TOKEN),
    ("typ-dpop+jwt", "h1", "GET", "/api", [("Authorization", "Bearer {typ-dpop}")], b"", INVALID_TOKEN),
    ("typ-at+jwt", "h1", "GET", "/api", [("Authorization", "Bearer {typ-at+jwt}")], b"", Forwarded(True)),
    ("typ-application/at+JWT", "h1", "GET", "/api", [("Authorization", "Bearer {typ-app-at+JWT}")], b"", Forwarded(True)),
    ("typ-jwt-lowercase", "h1", "GET", "/api", [("Authorization", "Bearer {typ-jwt}")], b"", Forwarded(True)),
    # upstream_authorization: remove.
    ("authorization-removed", "h1", "GET", "/noauth", [("Authorization", "Bearer {valid}")], b"", Forwarded(True, "absent")),
    ("authorization-removed-h2", "h2", "POST", "/noauth", [("authorization", "Bearer {valid}")], b"data", Forwarded(True, "absent")),
    ("authorization-forwarded", "h1", "GET", "/api", [("Authorization", "Bearer {valid}")], b"", Forwarded(True)),
]


def _fill(value: str, tokens: dict[str, str]) -> str:
    for name, token in tokens.items():
        value = value.replace("{" + name + "}", token)
    return value


@pytest.mark.parametrize("row", HOSTILE, ids=[row[0] for row in HOSTILE])
def test_hostile_row(hostile, module_issuer, recorder, row):
    name, protocol, method, target, headers, body, expected = row
    envoy, snapshot = hostile.envoy(target)
    tokens = {key: mint(module_issuer) for key, mint in TOKENS.items()}
    headers = [(MARKER, name)] + [(k, _fill(v, tokens)) for k, v in headers]
    shape = ("data" if body else "headers")
    outcome = send(envoy.port, "h1-length" if protocol == "h1" else "h2", shape, method, _fill(target, tokens),
                   headers, body)
    time.sleep(0.2)  # a forwarded request still on its way
    received = recorder.of(name)
    if isinstance(expected, Refused):
        assert_nothing_forwarded(outcome, received, expected.statuses)
        if protocol == "h1" and expected.error == "invalid_request":
            assert_invalid_request(outcome)
        elif protocol == "h1" and expected.error:
            challenges = " ".join(outcome.header_values("www-authenticate"))
            assert f'error="{expected.error}"' in challenges, outcome
    else:
        token = next((v.split()[-1] for k, v in headers if k.lower() == "authorization"), None)
        identity = identity_of(token) if expected.identity else None
        got = assert_forwarded_whole(outcome, received, body, identity)
        authorization = got.values("authorization")
        sent = [f"Bearer {token}"] if token else []
        assert authorization == ([] if expected.authorization == "absent" else sent), got.headers
        names = got.values("x-apim-subscription-name")
        assert names == ([expected.subscription_name] if expected.subscription_name else []), got.headers
    assert_vms_healthy(envoy, snapshot)


@pytest.mark.parametrize("header", ["Authorization", "ocp-apim-subscription-key", "X-APIM-Subscription-Name"])
def test_claims_to_headers_naming_a_credential_header_is_refused(module_envoy_factory, module_issuer, header):
    config = hostile_config(module_issuer, claims_to_headers={"oid": header})
    try:
        rejection = module_envoy_factory(http_filters=[guard(config)], expect_rejection=True)
    except EnvoyError:
        pytest.fail(f"the filter accepted claims_to_headers naming {header}", pytrace=False)
    assert rejection.exited and rejection.returncode != 0, rejection.log[-2000:]
