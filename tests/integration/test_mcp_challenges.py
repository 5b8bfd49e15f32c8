"""MCP authorization on the wire: protected resource metadata (RFC 9728), the
challenges (RFC 6750 + `resource_metadata`), CORS, and per-tool rules matched on
the Mcp-Method/Mcp-Name headers and on the JSON-RPC body. Real Envoy, entra-guard,
the sample MCP server behind it; raw HTTP so every header is checked exactly.
One Envoy for the module."""

from __future__ import annotations

import json

import pytest
import requests
from issuer import DEFAULT_API_URI
from issuer.tokens import forge_alg_none
from jwt_support import INSUFFICIENT, challenge
from mcp_support import (
    ADDER,
    DIVIDER,
    DOCUMENTATION,
    MCP_PATH,
    MODERN_PROTOCOL,
    PRM_PATH,
    RESOURCE_NAME,
    ROOT_PRM_PATH,
    VIA_BODY,
    VIA_HEADERS,
    access_token,
    call_tool,
    endpoint,  # noqa: F401 - fixture
    issuer,  # noqa: F401 - fixture
    jsonrpc,
    mcp_headers,
    rpc_result,
    tool_call,
)

VIAS = [VIA_HEADERS, VIA_BODY]
INVALID_BODY = "the request body is not a single JSON-RPC message"
HEADER_MISMATCH = "the Mcp-Method or Mcp-Name header does not match the request body"


@pytest.fixture(scope="module")
def adder_token(issuer) -> str:
    """App-only token of a client granted Calculator.Add (not Calculator.Divide)."""
    return access_token(issuer, ADDER)


@pytest.fixture(scope="module")
def divider_token(issuer) -> str:
    return access_token(issuer, DIVIDER)


@pytest.fixture
def upstream(mcp_server):
    """Counts what reaches the MCP server during one test."""

    class Upstream:
        start = len(mcp_server.requests)

        @property
        def seen(self):
            return mcp_server.requests[self.start:]

    return Upstream()


def assert_denied(response, status: int, www_authenticate: str, error: str, description: str) -> None:
    """A local denial with the challenge, readable by browser clients (CORS)."""
    assert response.status == status, response
    assert response.header_values("www-authenticate") == [www_authenticate], response
    assert response.header("access-control-allow-origin") == "*", response
    assert response.header("access-control-expose-headers") == "WWW-Authenticate", response
    assert response.header("content-type") == "application/json", response
    assert response.json() == {"error": error, "error_description": description}, response
    assert response.header("x-envoy-upstream-service-time") is None, "reached the MCP server"


def assert_bad_request(response, description: str) -> None:
    assert response.status == 400, response
    assert response.json() == {"error": "invalid_request", "error_description": description}, response
    assert response.header("x-envoy-upstream-service-time") is None, "reached the MCP server"


# --- protected resource metadata -------------------------------------------------------------


@pytest.mark.parametrize("path", [PRM_PATH, ROOT_PRM_PATH, PRM_PATH + "?probe=1"])
def test_metadata_document_is_served_without_credentials(endpoint, issuer, upstream, path):
    response = endpoint.envoy.get(path)
    assert response.status == 200, response
    assert response.json() == {
        "resource": endpoint.url,
        "authorization_servers": [f"{issuer.base_url}/{issuer.tenant_id}/v2.0"],
        "scopes_supported": [f"{DEFAULT_API_URI}/calculator.add", f"{DEFAULT_API_URI}/calculator.multiply"],
        "bearer_methods_supported": ["header"],
        "resource_name": RESOURCE_NAME,
        "resource_documentation": DOCUMENTATION,
    }
    assert response.header("content-type") == "application/json"
    assert response.header("cache-control") == "public, max-age=3600"
    assert response.header("access-control-allow-origin") == "*"
    assert response.header("www-authenticate") is None
    assert not upstream.seen, "the filter serves the document itself"


def test_metadata_ignores_credentials(endpoint, adder_token):
    for headers in ({"Authorization": f"Bearer {adder_token}"}, {"Authorization": "Bearer not-a-token"}):
        response = endpoint.envoy.get(PRM_PATH, headers)
        assert response.status == 200, response
        assert response.json()["resource"] == endpoint.url


def test_metadata_cors_preflight(endpoint, upstream):
    response = endpoint.envoy.request("OPTIONS", PRM_PATH, {
        "Origin": "https://app.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "mcp-protocol-version"})
    assert response.status == 204, response
    assert response.header("access-control-allow-origin") == "*"
    assert response.header("access-control-allow-methods") == "GET"
    assert response.header("access-control-allow-headers") == "mcp-protocol-version"
    assert response.header("access-control-max-age") == "86400"
    assert not upstream.seen


# --- challenges -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
def test_no_credentials_get_the_resource_metadata_challenge(endpoint, upstream, method):
    body = jsonrpc("tools/list") if method == "POST" else None
    response = endpoint.envoy.request(method, MCP_PATH, mcp_headers(), body)
    assert_denied(response, 401, f'Bearer resource_metadata="{endpoint.resource_metadata_url}"',
                  "unauthorized", "a bearer token is required")
    assert not upstream.seen


@pytest.mark.parametrize("via", VIAS)
def test_no_credentials_for_a_scoped_tool_hint_the_scope(endpoint, via):
    response = call_tool(endpoint, via, "multiply", a=2, b=3)
    assert_denied(response, 401,
                  f'Bearer scope="{DEFAULT_API_URI}/calculator.multiply", '
                  f'resource_metadata="{endpoint.resource_metadata_url}"',
                  "unauthorized", "a bearer token is required")


@pytest.mark.parametrize("method", ["POST", "GET", "DELETE"])
@pytest.mark.parametrize("token", ["forged", "garbage"])
def test_invalid_token_challenge(endpoint, issuer, upstream, method, token):
    value, description = {
        "forged": (forge_alg_none(issuer.tokens.claims_v2()),
                   "the token algorithm is not allowed (RS256 required)"),
        "garbage": ("not.a.token", "the access token is malformed"),
    }[token]
    body = jsonrpc("tools/list") if method == "POST" else None
    response = endpoint.envoy.request(method, MCP_PATH, mcp_headers(value), body)
    expected = challenge("invalid_token", description, resource_metadata=endpoint.resource_metadata_url)
    assert_denied(response, 401, expected, "invalid_token", description)
    assert not upstream.seen


def test_cors_preflight_is_not_challenged(endpoint, upstream):
    origin = f"http://127.0.0.1:{endpoint.port}"
    response = endpoint.envoy.request("OPTIONS", MCP_PATH, {
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type, mcp-protocol-version"})
    assert response.header("www-authenticate") is None, response
    assert response.status != 401, response
    assert [r.method for r in upstream.seen] == ["OPTIONS"], "the preflight goes to the MCP server"


def test_options_without_preflight_headers_is_challenged(endpoint, upstream):
    response = endpoint.envoy.request("OPTIONS", MCP_PATH, {"Origin": "https://app.example"})
    assert_denied(response, 401, f'Bearer resource_metadata="{endpoint.resource_metadata_url}"',
                  "unauthorized", "a bearer token is required")
    assert not upstream.seen


def test_following_the_challenge_by_hand(endpoint, issuer):
    """What an MCP client does after a 401, step by step: the metadata, the
    authorization server's OpenID configuration, a client-credentials token."""
    first = endpoint.post(tool_call("add", a=2, b=3), mcp_headers())
    assert first.status == 401
    params = first.header("www-authenticate").removeprefix("Bearer ")
    metadata_url = params.split("resource_metadata=", 1)[1].strip('"')
    assert metadata_url == endpoint.resource_metadata_url
    metadata = requests.get(metadata_url, timeout=10).json()
    assert metadata["resource"] == endpoint.url
    (authorization_server,) = metadata["authorization_servers"]
    openid = requests.get(f"{authorization_server}/.well-known/openid-configuration", timeout=10).json()
    assert openid["issuer"] == authorization_server
    token = requests.post(openid["token_endpoint"], timeout=10, data={
        "grant_type": "client_credentials", "client_id": ADDER[0], "client_secret": ADDER[1],
        "scope": f"{DEFAULT_API_URI}/.default"}).json()["access_token"]
    second = endpoint.post(tool_call("add", a=2, b=3), mcp_headers(token))
    assert rpc_result(second)["structuredContent"] == {"result": 5.0}


def test_the_resource_parameter_is_refused_like_entra(issuer):
    """Why MCP clients need care with Entra: RFC 8707 `resource` → AADSTS9010010."""
    response = requests.post(issuer.token_url(), timeout=10, data={
        "grant_type": "client_credentials", "client_id": ADDER[0], "client_secret": ADDER[1],
        "scope": f"{DEFAULT_API_URI}/.default", "resource": "http://127.0.0.1/mcp"})
    assert response.status_code == 400
    assert response.json()["error_codes"] == [9010010]


# --- per-tool authorization ------------------------------------------------------------------


@pytest.mark.parametrize("via", VIAS)
def test_tool_without_its_role_is_403_without_a_scope_hint(endpoint, adder_token, upstream, via):
    # App roles cannot be requested as scopes, so the challenge names none.
    response = call_tool(endpoint, via, "divide", adder_token, a=1, b=2)
    expected = challenge("insufficient_scope", INSUFFICIENT,
                         resource_metadata=endpoint.resource_metadata_url)
    assert_denied(response, 403, expected, "insufficient_scope", INSUFFICIENT)
    assert not upstream.seen


@pytest.mark.parametrize("via", VIAS)
def test_same_token_may_call_other_tools(endpoint, adder_token, via):
    assert rpc_result(call_tool(endpoint, via, "add", adder_token, a=2, b=3))["structuredContent"] == {"result": 5.0}
    assert rpc_result(call_tool(endpoint, via, "subtract", adder_token, a=2, b=3))["structuredContent"] == {
        "result": -1.0}


@pytest.mark.parametrize("via", VIAS)
def test_tool_with_its_role_is_allowed(endpoint, divider_token, via):
    assert rpc_result(call_tool(endpoint, via, "divide", divider_token, a=1, b=4))["structuredContent"] == {
        "result": 0.25}


@pytest.mark.parametrize("via", VIAS)
def test_tool_with_a_delegated_scope(endpoint, issuer, adder_token, via):
    # The hint is the scope as Entra issues it (the `scopes_supported` entry).
    expected = challenge("insufficient_scope", INSUFFICIENT, scope=f"{DEFAULT_API_URI}/calculator.multiply",
                         resource_metadata=endpoint.resource_metadata_url)
    assert_denied(call_tool(endpoint, via, "multiply", adder_token, a=2, b=3), 403, expected,
                  "insufficient_scope", INSUFFICIENT)
    wrong = issuer.tokens.v2(scp="calculator.add calculator.multiplyx")  # whole words only
    assert call_tool(endpoint, via, "multiply", wrong, a=2, b=3).status == 403
    user = issuer.tokens.v2(scp="calculator.add calculator.multiply")
    assert rpc_result(call_tool(endpoint, via, "multiply", user, a=2, b=3))["structuredContent"] == {"result": 6.0}


def test_listing_tools_needs_only_a_valid_token(endpoint, adder_token):
    tools = rpc_result(endpoint.post(jsonrpc("tools/list"), mcp_headers(adder_token)))["tools"]
    assert sorted(t["name"] for t in tools) == ["add", "divide", "multiply", "subtract", "whoami"]


@pytest.mark.parametrize(("body_tool", "method_header", "name_header"), [
    pytest.param("divide", "tools/call", "add", id="name-hides-a-protected-tool"),
    pytest.param("add", "tools/call", "divide", id="name-claims-another-tool"),
    pytest.param("divide", "tools/list", None, id="method-hides-a-tool-call"),
    pytest.param("divide", None, "add", id="name-alone"),
])
def test_headers_that_disagree_with_the_body_are_refused(endpoint, divider_token, upstream, body_tool,
                                                         method_header, name_header):
    headers = mcp_headers(divider_token, method=method_header, name=name_header, protocol=MODERN_PROTOCOL)
    response = endpoint.post(tool_call(body_tool, modern=True, a=1, b=2), headers)
    assert_bad_request(response, HEADER_MISMATCH)
    assert not upstream.seen


# A POST with `Content-Length: 0` has no body at all (Envoy ends the stream with
# its headers): it carries no call and is decided on its headers like a GET. An
# empty body after a body was announced (trailers only) is refused: see
# test_lifecycle.py.
@pytest.mark.parametrize("body", [
    pytest.param(b"{not json", id="not-json"),
    pytest.param(json.dumps([json.loads(tool_call("divide", a=1, b=2))]).encode(), id="batch"),
    pytest.param(b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","name":"divide"}}',
                 id="duplicate-name"),
])
def test_bodies_the_filter_cannot_read_one_way_are_refused(endpoint, divider_token, upstream, body):
    assert_bad_request(endpoint.post(body, mcp_headers(divider_token)), INVALID_BODY)
    assert not upstream.seen


def test_identity_headers_reach_the_mcp_server_and_spoofs_do_not(endpoint, adder_token, upstream):
    spoofed = [("X-Entra-Oid", "spoofed"), ("x-entra-client-id", "spoofed"), ("X-Entra-Roles", "Calculator.Divide")]
    result = rpc_result(endpoint.post(tool_call("whoami"), mcp_headers(adder_token, extra=spoofed)))
    identity = result["structuredContent"]
    assert identity["x-entra-client-id"] == ADDER[0]
    assert identity["x-entra-roles"] == "Calculator.Add"
    assert identity["x-entra-tid"] == endpoint.issuer.tenant_id
    assert identity["x-entra-oid"] not in ("spoofed", "")
    (seen,) = upstream.seen
    assert seen.header("authorization") == f"Bearer {adder_token}"  # passed through unchanged


def test_bodies_over_the_inspection_limit_are_refused(endpoint, divider_token, upstream):
    """The filter buffers at most mcp.max_body_bytes (default 512 KiB) to read the call."""
    # Over the filter's limit but under Envoy's own 1 MiB buffer limit, so
    # the answer is always the filter's (Envoy's 413 would race it).
    padding = "x" * (700 << 10)
    response = endpoint.post(tool_call("add", a=1, b=2, note=padding), mcp_headers(divider_token))
    assert response.status == 413, response
    assert response.json() == {"error": "invalid_request",
                               "error_description": "the request body is too large to authorize"}
    assert not upstream.seen
