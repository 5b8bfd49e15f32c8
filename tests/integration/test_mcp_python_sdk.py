"""The official MCP Python SDK client (`mcp` on PyPI) through entra-guard in a real
Envoy, in front of the sample MCP server.

- with a token in hand (client credentials against the simulator, as against Entra),
  in both protocol generations: 2026-07-28 (Mcp-Method/Mcp-Name headers) and the
  initialize handshake of 2025-11-25 (the filter reads the JSON-RPC body);
- without one: the SDK's own `ClientCredentialsOAuthProvider`, unmodified, follows the
  401's `resource_metadata` to Entra's metadata and meets AADSTS9010010 exactly as
  with Entra (a negative control). Its sign-ins that succeed, directly and through the
  filter's own authorization-server metadata, are in test_mcp_sdk_direct_entra.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import httpx2
import pytest
from jwt_support import METRIC_PREFIX
from mcp import Client, MCPError
from mcp.client.auth import OAuthTokenError
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.client.streamable_http import streamable_http_client
from mcp_support import ADDER, DEFAULT_SCOPE, DIVIDER, access_token
from mcp_support import endpoint, issuer  # noqa: F401 - fixtures
from sdk_oauth_support import InMemoryTokenStorage, failures

TOOLS = ["add", "subtract", "multiply", "divide", "whoami"]
# Client(mode=...): "auto" negotiates 2026-07-28 (server/discover, Mcp-Method/Mcp-Name
# headers on every POST); "legacy" the initialize handshake (body only).
MODES = [pytest.param("auto", id="2026-07-28-headers"), pytest.param("legacy", id="2025-11-25-body")]


def wait_for_count(endpoint, name: str, at_least: int) -> int:
    """A filter counter once it reached `at_least` (counters are flushed on the 100 ms tick)."""
    return endpoint.envoy.wait_for_stat(METRIC_PREFIX + name, lambda value: value >= at_least, timeout=5)


@pytest.fixture
def upstream(mcp_server):
    start = len(mcp_server.requests)
    return lambda: mcp_server.requests[start:]


def run_session(url: str, body: Callable[[Client], Awaitable[Any]], *, mode: str = "auto",
                token: str | None = None, auth: httpx2.Auth | None = None) -> Any:
    """Connects the SDK client (over an httpx2 client carrying the token or the auth
    provider), runs `body(client)`, returns its result."""

    async def main() -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        async with httpx2.AsyncClient(headers=headers, auth=auth, timeout=20) as http:
            async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
                return await body(client)

    return asyncio.run(main())


async def list_and_add(client: Client) -> tuple[list[str], Any, dict]:
    tools = [tool.name for tool in (await client.list_tools()).tools]
    added = await client.call_tool("add", {"a": 2, "b": 3})
    whoami = await client.call_tool("whoami", {})
    return tools, added.structured_content, whoami.structured_content


@pytest.mark.parametrize("mode", MODES)
def test_sdk_client_with_a_token_lists_and_calls_tools(endpoint, issuer, upstream, mode):
    token = access_token(issuer, ADDER)
    tools, added, identity = run_session(endpoint.url, list_and_add, mode=mode, token=token)
    assert tools == TOOLS
    assert added == {"result": 5.0}
    assert identity["x-entra-client-id"] == ADDER[0]
    assert identity["x-entra-tid"] == issuer.tenant_id
    assert identity["x-entra-roles"] == "Calculator.Add"
    assert identity["x-entra-oid"]
    posts = [r for r in upstream() if r.method == "POST"]
    assert posts and all(r.header("authorization") == f"Bearer {token}" for r in posts)
    calls = [r for r in posts if r.header("mcp-method") == "tools/call"]
    if mode == "auto":  # the filter could decide on the headers; it checked them against the body
        assert [r.header("mcp-name") for r in calls] == ["add", "whoami"]
    else:
        assert not calls and all(r.header("mcp-method") is None for r in posts)


@pytest.mark.parametrize("mode", MODES)
def test_sdk_client_per_tool_authorization(endpoint, issuer, upstream, mode):
    async def divide_then_add(client: Client) -> tuple[str, Any]:
        with pytest.raises(MCPError) as denied:
            await client.call_tool("divide", {"a": 1, "b": 2})
        added = await client.call_tool("add", {"a": 1, "b": 2})  # the session survives the 403
        return str(denied.value), added.structured_content

    before = endpoint.envoy.stat(METRIC_PREFIX + "denied.scope")
    _, added = run_session(endpoint.url, divide_then_add, mode=mode, token=access_token(issuer, ADDER))
    assert added == {"result": 3.0}
    assert wait_for_count(endpoint, "denied.scope", before + 1) == before + 1
    assert all(r.header("mcp-name") != "divide" for r in upstream())

    async def divide(client: Client) -> Any:
        return (await client.call_tool("divide", {"a": 1, "b": 4})).structured_content

    assert run_session(endpoint.url, divide, mode=mode, token=access_token(issuer, DIVIDER)) == {"result": 0.25}


def test_unadapted_sdk_provider_meets_entras_resource_quirk(endpoint, issuer, upstream):
    """The stock provider sends RFC 8707 `resource` (the MCP URL) with the token request
    once it has discovered the metadata; while that URL is not an Application ID URI of
    the API app, Entra (and the simulator) answer AADSTS9010010. Everything before the
    token request is the discovery that real Entra meets: 401 → resource_metadata → the
    protected resource metadata (served by the filter) → Entra's discovery document."""
    issuer.reset_counters()
    served = endpoint.envoy.stat(METRIC_PREFIX + "metadata_served")
    missing = endpoint.envoy.stat(METRIC_PREFIX + "denied.missing")
    provider = ClientCredentialsOAuthProvider(endpoint.url, InMemoryTokenStorage(), ADDER[0], ADDER[1],
                                              scope=DEFAULT_SCOPE, issuer=endpoint.authorization_server)
    errors = failures(lambda: run_session(endpoint.url, list_and_add, auth=provider))
    token_errors = [e for e in errors if isinstance(e, OAuthTokenError)]
    assert token_errors and "AADSTS9010010" in str(token_errors[0]), errors
    tenant = issuer.tenant_id
    assert [(r.method, r.path) for r in issuer.requests()] == [
        # RFC 8414 and OpenID discovery URLs for the issuer `<authority>/<tenant>/v2.0`:
        # Entra (and the simulator) answer the last one.
        ("GET", f"/.well-known/oauth-authorization-server/{tenant}/v2.0"),
        ("GET", f"/.well-known/openid-configuration/{tenant}/v2.0"),
        ("GET", f"/{tenant}/v2.0/.well-known/openid-configuration"),
        ("POST", f"/{tenant}/oauth2/v2.0/token"),
    ]
    assert wait_for_count(endpoint, "denied.missing", missing + 1) == missing + 1  # the first POST
    assert wait_for_count(endpoint, "metadata_served", served + 1) == served + 1
    assert not upstream(), "nothing reached the MCP server"

