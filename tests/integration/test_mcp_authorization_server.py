"""`mcp.authorization_server` on the wire (the contract's "Authorization-server metadata
for Entra"): the filter's RFC 8414 document at its three discovery paths, the protected
resource metadata naming the filter's issuer, static RFC 7591 registration against the
redirect URI allowlist (loopback entries match any port), and CORS preflights of every
path the filter answers itself, while preflights of other paths still reach the MCP
server. Real Envoy, entra-guard, the sample MCP server behind it; raw HTTP."""

from __future__ import annotations

import json

import pytest
from issuer import DEFAULT_API_URI
from mcp_support import (
    DELEGATED_SCOPES,
    MCP_PATH,
    PRM_PATH,
    ROOT_PRM_PATH,
    issuer,  # noqa: F401 - fixture
    start_mcp_envoy,
)

pytestmark = pytest.mark.wasm

CLIENT_ID = "5c0de000-0000-4000-8000-0000000000c1"
ISSUER_PATH = "/entra"
ALLOWED = ["http://127.0.0.1/callback", "http://localhost:6274/oauth/callback", "https://vscode.dev/redirect"]
ORIGIN = "http://localhost:6274"
METRIC = "wasmcustom.entra_guard."


def server_block(origin: str) -> dict:
    return {"authorization_server": {"issuer": origin + ISSUER_PATH, "client_id": CLIENT_ID,
                                     "redirect_uris": ALLOWED}}


@pytest.fixture(scope="module")
def endpoint(module_envoy_factory, issuer, mcp_server):  # noqa: F811
    return start_mcp_envoy(module_envoy_factory, issuer, mcp_server, mcp_extra=server_block)


@pytest.fixture(scope="module")
def root_endpoint(module_envoy_factory, issuer, mcp_server):  # noqa: F811
    """An issuer without a path and without a client id: documents only."""
    return start_mcp_envoy(module_envoy_factory, issuer, mcp_server,
                           mcp_extra=lambda origin: {"authorization_server": {"issuer": origin}})


@pytest.fixture
def upstream(mcp_server):
    start = len(mcp_server.requests)

    class Upstream:
        @property
        def seen(self):
            return mcp_server.requests[start:]

    return Upstream()


DOC_PATHS = [f"/.well-known/oauth-authorization-server{ISSUER_PATH}",
             f"/.well-known/openid-configuration{ISSUER_PATH}",
             f"{ISSUER_PATH}/.well-known/openid-configuration"]


def expected_document(endpoint, *, registration: bool, issuer_path: str = ISSUER_PATH) -> dict:
    tenant = f"{endpoint.issuer.base_url}/{endpoint.issuer.tenant_id}"
    doc = {
        "issuer": endpoint.origin + issuer_path,
        "authorization_endpoint": f"{tenant}/oauth2/v2.0/authorize",
        "token_endpoint": f"{tenant}/oauth2/v2.0/token",
        "jwks_uri": f"{tenant}/discovery/v2.0/keys",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic",
                                                  "private_key_jwt"],
        "scopes_supported": [f"{DEFAULT_API_URI}/{s}" for s in DELEGATED_SCOPES] + ["offline_access"],
    }
    if registration:
        doc["registration_endpoint"] = endpoint.origin + issuer_path + "/register"
    return doc


@pytest.mark.parametrize("path", DOC_PATHS)
@pytest.mark.parametrize("credentials", [{}, {"Authorization": "Bearer not-a-token"}])
def test_the_document_is_served_at_each_discovery_path(endpoint, upstream, path, credentials):
    response = endpoint.envoy.get(path + "?x=1", credentials)
    assert response.status == 200, response
    assert response.header("content-type") == "application/json"
    assert response.header("access-control-allow-origin") == "*"
    assert response.json() == expected_document(endpoint, registration=True)
    assert list(response.json()) == list(expected_document(endpoint, registration=True)), "member order"
    head = endpoint.envoy.request("HEAD", path)
    assert head.status == 200 and head.body == b""
    assert not upstream.seen


def test_an_issuer_without_a_path_or_client_id(root_endpoint, upstream):
    for path in ("/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"):
        response = root_endpoint.envoy.get(path)
        assert response.status == 200, response
        assert response.json() == expected_document(root_endpoint, registration=False, issuer_path="")
    response = root_endpoint.envoy.request("POST", "/register", {"Content-Type": "application/json"},
                                           json.dumps({"redirect_uris": ["http://127.0.0.1/callback"]}))
    assert response.status == 401, "no client id: no registration endpoint, the rules apply"
    assert not upstream.seen


@pytest.mark.parametrize("path", [PRM_PATH, ROOT_PRM_PATH])
def test_the_protected_resource_metadata_names_the_filters_issuer(endpoint, path):
    response = endpoint.envoy.get(path)
    assert response.status == 200, response
    assert response.json()["authorization_servers"] == [endpoint.origin + ISSUER_PATH]


def test_other_paths_and_methods_follow_the_rules(endpoint, upstream):
    for method, path in (("POST", DOC_PATHS[0]), ("GET", "/.well-known/oauth-authorization-server"),
                         ("GET", f"{ISSUER_PATH}/register"), ("DELETE", f"{ISSUER_PATH}/register")):
        response = endpoint.envoy.request(method, path)
        assert response.status == 401, (method, path, response)
    assert not upstream.seen


def register(endpoint, body: bytes | str, content_type: str = "application/json"):
    return endpoint.envoy.request("POST", f"{ISSUER_PATH}/register",
                                  {"Content-Type": content_type, "Origin": ORIGIN}, body)


@pytest.mark.parametrize("uris", [
    ["http://127.0.0.1:53682/callback"],
    ["http://127.0.0.1/callback", "http://127.0.0.1:1/callback", "http://127.0.0.1:65535/callback"],
    ["http://localhost:6274/oauth/callback"],
    ["https://vscode.dev/redirect", "http://127.0.0.1:33418/callback"],
])
def test_registration_grants_the_configured_client_for_allowed_redirect_uris(endpoint, upstream, uris):
    accepted = endpoint.envoy.stat(METRIC + "registration.accepted")
    response = register(endpoint, json.dumps({"client_name": "test", "redirect_uris": uris,
                                              "grant_types": ["authorization_code"],
                                              "token_endpoint_auth_method": "client_secret_post"}))
    assert response.status == 201, response
    assert response.header("access-control-allow-origin") == "*"
    assert response.header("cache-control") == "no-store"
    assert response.json() == {"client_id": CLIENT_ID, "token_endpoint_auth_method": "none",
                               "grant_types": ["authorization_code", "refresh_token"],
                               "response_types": ["code"], "redirect_uris": uris}
    endpoint.envoy.wait_for_stat(METRIC + "registration.accepted", lambda v: v == accepted + 1)
    assert not upstream.seen


@pytest.mark.parametrize("uris", [
    ["https://evil.example/callback"],
    ["http://127.0.0.1:53682/callback", "https://evil.example/callback"],
    ["http://127.0.0.1:53682/callback/x"],
    ["http://localhost:6275/oauth/callback"],  # a loopback entry with a port matches only that port
    ["http://localhost:53682/callback"],        # 127.0.0.1 and localhost are different entries
    ["http://127.0.0.1:65536/callback"],
    ["https://vscode.dev/redirect#x"],
    [],
])
def test_registration_refuses_any_redirect_uri_not_allowed(endpoint, upstream, uris):
    refused = endpoint.envoy.stat(METRIC + "registration.refused")
    response = register(endpoint, json.dumps({"redirect_uris": uris}))
    assert response.status == 400, response
    assert response.json()["error"] == "invalid_redirect_uri"
    assert response.header("access-control-allow-origin") == "*"
    endpoint.envoy.wait_for_stat(METRIC + "registration.refused", lambda v: v == refused + 1)
    assert not upstream.seen


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"redirect_uris": "http://127.0.0.1/callback"}',
                                  b'{"redirect_uris": [1]}', b""])
def test_unreadable_client_metadata_is_refused(endpoint, upstream, body):
    response = register(endpoint, body)
    assert response.status == 400, response
    assert response.json()["error"] == "invalid_client_metadata"
    assert not upstream.seen


def test_a_registration_body_in_pieces_over_http2(endpoint, upstream):
    from h2_raw import h2_stream  # noqa: PLC0415 - only this test needs it
    body = json.dumps({"redirect_uris": ["http://127.0.0.1:4000/callback"]}).encode()
    pseudo = [(b":method", b"POST"), (b":scheme", b"http"), (b":authority", b"127.0.0.1"),
              (b":path", f"{ISSUER_PATH}/register".encode()), (b"content-type", b"application/json")]
    response = h2_stream(endpoint.port, pseudo, [body[:10], body[10:]], pause=0.05)
    assert response.status == 201, response
    assert response.json()["client_id"] == CLIENT_ID
    assert not upstream.seen


def preflight(endpoint, path: str, method: str, headers: str | None = "content-type, mcp-protocol-version"):
    pairs = {"Origin": ORIGIN, "Access-Control-Request-Method": method}
    if headers is not None:
        pairs["Access-Control-Request-Headers"] = headers
    return endpoint.envoy.request("OPTIONS", path, pairs)


@pytest.mark.parametrize(("path", "method"), [
    (PRM_PATH, "GET"), (ROOT_PRM_PATH, "GET"),
    (DOC_PATHS[0], "GET"), (DOC_PATHS[1], "GET"), (DOC_PATHS[2], "GET"),
    (f"{ISSUER_PATH}/register", "POST"),
])
def test_preflights_of_the_filters_own_paths_are_answered(endpoint, upstream, path, method):
    response = preflight(endpoint, path, method)
    assert response.status == 204, response
    assert response.header("access-control-allow-origin") == "*"
    assert response.header("access-control-allow-methods") == method
    assert response.header("access-control-allow-headers") == "content-type, mcp-protocol-version"
    assert not upstream.seen


def test_preflight_headers_are_echoed_sanitised(endpoint):
    response = preflight(endpoint, f"{ISSUER_PATH}/register", "POST", "X-Ok, bad name, x-\u00e9, authorization")
    assert response.status == 204, response
    assert response.header("access-control-allow-headers") == "x-ok, authorization"
    assert all(32 <= ord(c) < 127 for _, v in response.headers for c in v)


@pytest.mark.parametrize("path", [MCP_PATH, "/register", "/elsewhere"])
def test_preflights_of_other_paths_are_forwarded(endpoint, upstream, path):
    response = preflight(endpoint, path, "POST")
    assert response.header("x-envoy-upstream-service-time") is not None or upstream.seen, response
    assert [r.method for r in upstream.seen] == ["OPTIONS"]
