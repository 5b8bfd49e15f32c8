"""Shared pieces of the MCP integration tests (tests/integration/test_mcp_*.py).

entra-guard in a real Envoy in front of the sample MCP server (tests/mcp_server).
The filter's `mcp` block names the address clients reach it at (the resource and
its metadata URL), and real MCP clients check that address against the URL they
connect to, so the listener's port is chosen before Envoy starts
(`start_mcp_envoy`). Tokens come from the simulator's client-credentials endpoint,
as a service client gets them from Entra.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from bootstrap import entra_guard_filter
from envoy_harness import Envoy, EnvoyError
from filter_config import filter_config
from issuer import DEFAULT_API_URI, Issuer

MCP_PATH = "/mcp"
PRM_PATH = "/.well-known/oauth-protected-resource/mcp"
ROOT_PRM_PATH = "/.well-known/oauth-protected-resource"
LEGACY_PROTOCOL = "2025-11-25"  # what clients without Mcp-Method/Mcp-Name send
MODERN_PROTOCOL = "2026-07-28"  # the transport with Mcp-Method/Mcp-Name headers
DEFAULT_SCOPE = f"{DEFAULT_API_URI}/.default"  # client credentials ask for the API's `.default`
DELEGATED_SCOPES = ("calculator.add", "calculator.multiply")
RESOURCE_NAME = "Calculator MCP (entra-guard tests)"
DOCUMENTATION = "https://docs.contoso.test/calculator-mcp"  # only ever a string in a document

# Per-tool policy: `divide` needs an app role, `multiply` a delegated scope; every
# other MCP request needs a valid token. First match wins.
DIVIDE_RULE = {"path_prefix": MCP_PATH, "require": "jwt", "mcp_tools": ["divide"],
               "required_roles": ["Calculator.Divide"]}
MULTIPLY_RULE = {"path_prefix": MCP_PATH, "require": "jwt", "mcp_tools": ["multiply"],
                 "required_scopes": ["calculator.multiply"]}
MCP_RULES = [DIVIDE_RULE, MULTIPLY_RULE, {"path_prefix": MCP_PATH, "require": "jwt"}]
CLAIM_HEADERS = {"oid": "x-entra-oid", "tid": "x-entra-tid", "azp": "x-entra-client-id",
                 "roles": "x-entra-roles"}

# Confidential clients the tests register with the simulator (id, secret, app roles).
ADDER = ("a0000000-0000-4000-8000-00000000add1", "adder-secret", ["Calculator.Add"])
DIVIDER = ("d0000000-0000-4000-8000-00000000d1d1", "divider-secret", ["Calculator.Add", "Calculator.Divide"])


@dataclass(frozen=True)
class McpEndpoint:
    """An Envoy running entra-guard in front of the MCP server, and its public URLs."""

    envoy: Envoy
    issuer: Issuer

    @property
    def port(self) -> int:
        return self.envoy.port

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The MCP endpoint, and the `resource` of the metadata."""
        return self.origin + MCP_PATH

    @property
    def resource_metadata_url(self) -> str:
        return self.origin + PRM_PATH

    @property
    def authorization_server(self) -> str:
        return f"{self.issuer.base_url}/{self.issuer.tenant_id}/v2.0"

    def post(self, body: bytes | str, headers: Mapping[str, str] | Sequence[tuple[str, str]] = ()):
        pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        return self.envoy.request("POST", MCP_PATH, pairs, body)


def mcp_block(origin: str, *, scopes: Sequence[str] = DELEGATED_SCOPES) -> dict:
    return {
        "resource": origin + MCP_PATH,
        "resource_metadata_url": origin + PRM_PATH,
        "scopes_supported": [f"{DEFAULT_API_URI}/{scope}" for scope in scopes],
        "resource_name": RESOURCE_NAME,
        "resource_documentation": DOCUMENTATION,
    }


def reserve_port() -> int:
    """A port free right now (Envoy binds it a moment later; see `start_mcp_envoy`)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_mcp_envoy(factory, issuer: Issuer, mcp_server, *, rules: Sequence[Mapping] = MCP_RULES,
                    claims_to_headers: Mapping[str, str] = CLAIM_HEADERS, attempts: int = 3,
                    scopes: Sequence[str] = DELEGATED_SCOPES,
                    mcp_extra: Callable[[str], Mapping[str, Any]] | None = None, **sections: Any) -> McpEndpoint:
    """Envoy + entra-guard (`mcp` block naming its own address) → the MCP server.

    The port is reserved before Envoy starts because the filter configuration must
    name it; if another process takes it in between, Envoy fails to bind and this
    tries again with a new one. `mcp_extra(origin)`: more keys of the `mcp` block, built
    from the listener's origin (e.g. `authorization_server`, whose issuer is that origin)."""
    for attempt in range(attempts):
        port = reserve_port()
        origin = f"http://127.0.0.1:{port}"
        block = {**mcp_block(origin, scopes=scopes), **(mcp_extra(origin) if mcp_extra else {})}
        config = filter_config(issuer, mcp=block, rules=list(rules),
                               claims_to_headers=dict(claims_to_headers), **sections)
        # allow_on_headers_stop_iteration: the per-tool rules read the JSON-RPC body
        # while the headers wait (see bootstrap.wasm_filter).
        guard = entra_guard_filter(config, allow_on_headers_stop_iteration=True)
        try:
            envoy = factory(http_filters=[guard], upstream_port=mcp_server.port, listener_port=port)
        except EnvoyError:
            if attempt == attempts - 1:
                raise
            continue
        return McpEndpoint(envoy, issuer)
    raise AssertionError("unreachable")


def register_clients(issuer: Issuer) -> None:
    for client_id, secret, roles in (ADDER, DIVIDER):
        issuer.register_client(client_id, secret, roles)


# The MCP test modules share one simulator (with the two service clients) and
# one Envoy per module: they import these two fixtures by name.
@pytest.fixture(scope="module")
def issuer(module_issuer):
    register_clients(module_issuer)
    return module_issuer


@pytest.fixture(scope="module")
def endpoint(module_envoy_factory, issuer, mcp_server):
    return start_mcp_envoy(module_envoy_factory, issuer, mcp_server)


def client_credentials(issuer: Issuer, client: tuple[str, str, list[str]] = ADDER,
                       scope: str = DEFAULT_SCOPE, **extra: str) -> requests.Response:
    """POST to the simulator's token endpoint, as a service does with Entra's."""
    client_id, secret, _ = client
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
            "scope": scope, **extra}
    return requests.post(issuer.token_url(), data=form, timeout=10)


def access_token(issuer: Issuer, client: tuple[str, str, list[str]] = ADDER) -> str:
    response = client_credentials(issuer, client)
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


# --- raw JSON-RPC over Streamable HTTP ----------------------------------------------------


MODERN_META = {"io.modelcontextprotocol/protocolVersion": MODERN_PROTOCOL,
               "io.modelcontextprotocol/clientCapabilities": {}}


def jsonrpc(method: str, params: Mapping | None = None, request_id: int = 1, *, modern: bool = False) -> bytes:
    """A JSON-RPC request; `modern` adds the `_meta` a 2026-07-28 server wants in every request."""
    message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None or modern:
        message["params"] = dict(params or {})
    if modern:
        message["params"]["_meta"] = MODERN_META
    return json.dumps(message).encode()


def tool_call(name: str, *, modern: bool = False, **arguments: Any) -> bytes:
    return jsonrpc("tools/call", {"name": name, "arguments": arguments}, modern=modern)


def mcp_headers(token: str | None = None, *, method: str | None = None, name: str | None = None,
                protocol: str = LEGACY_PROTOCOL, extra: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """Streamable HTTP request headers; `method`/`name` become Mcp-Method/Mcp-Name."""
    headers = [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream"),
               ("MCP-Protocol-Version", protocol)]
    if method is not None:
        headers.append(("Mcp-Method", method))
    if name is not None:
        headers.append(("Mcp-Name", name))
    if token is not None:
        headers.append(("Authorization", f"Bearer {token}"))
    return headers + list(extra)


def rpc_result(response) -> dict:
    """The JSON-RPC result of a Streamable HTTP answer (JSON or a one-event SSE stream)."""
    assert response.status == 200, response
    text = response.text
    if (response.header("content-type") or "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
        messages = [json.loads(d) for d in data if d]
        assert messages, response
        message = messages[-1]
    else:
        message = json.loads(text)
    assert "result" in message, message
    return message["result"]


# How a client names the MCP operation: the 2026-07-28 Mcp-Method/Mcp-Name headers
# (plus the body), or the JSON-RPC body alone (earlier protocol versions).
VIA_HEADERS = "headers"
VIA_BODY = "body"


def call_tool(endpoint: McpEndpoint, via: str, name: str, token: str | None = None,
              extra: Sequence[tuple[str, str]] = (), **arguments: Any):
    """POST one tools/call, the way `via` says."""
    if via == VIA_HEADERS:
        headers = mcp_headers(token, method="tools/call", name=name, protocol=MODERN_PROTOCOL, extra=extra)
        return endpoint.post(tool_call(name, modern=True, **arguments), headers)
    return endpoint.post(tool_call(name, **arguments), mcp_headers(token, extra=extra))
