"""The MCP Inspector (npm `@modelcontextprotocol/inspector`, pinned in tests/browser)
in headless chromium, in its Direct connection mode: the browser itself fetches the
MCP endpoint, the protected resource metadata, the authorization server's metadata,
registers and redeems the code, so every answer it needs must carry CORS headers.
Connect → sign in at the Entra simulator → tools/list → tools/call, through Envoy and
entra-guard; screenshots of each step under target/test-logs/browser/inspector-*/.

The sample MCP server answers CORS itself for the Inspector's origin (preflights of
/mcp are forwarded to it); the simulator answers CORS as Entra does (discovery, keys,
token endpoint) and redeems a browser's code only for an SPA redirect URI.

- Negative control (today's filter, metadata naming the simulator directly): the
  Inspector reads the protected resource metadata and the simulator's discovery
  document, and fails because Entra has no registration endpoint (the SDK's
  "does not support dynamic client registration"), before any sign-in page. With a
  client id typed by hand it signs in, and the token exchange succeeds only for a
  client whose callback is registered as an SPA redirect URI.
- Positive (`mcp.authorization_server`): the filter's
  own metadata and registration; the unmodified Inspector, no client id typed,
  completes the flow.
"""

from __future__ import annotations

import urllib.parse

import pytest
from browser_support import SHOTS, browser_node, run_script  # noqa: F401 - fixture
from issuer import DEFAULT_API_APP_ID, DEFAULT_API_URI
from issuer.constants import DEFAULT_API_SCOPES
from mcp_support import MCP_PATH, PRM_PATH, McpEndpoint, reserve_port, start_mcp_envoy

pytestmark = pytest.mark.wasm

INSPECTOR_CLIENT_ID = "1a5ec700-0000-4000-8000-00000000a001"  # a public client, SPA platform
STEPS = ["direct", "sign-in", "connected", "tools-list", "tools-call"]
TOOLS = ["add", "subtract", "multiply", "divide", "whoami"]


@pytest.fixture(scope="module")
def inspector_port() -> int:
    return reserve_port()


@pytest.fixture(scope="module")
def inspector_origin(inspector_port) -> str:
    return f"http://localhost:{inspector_port}"


@pytest.fixture(scope="module")
def cors_mcp_server(inspector_origin):
    """The sample MCP server answering CORS for the Inspector's origin."""
    from mcp_server import McpServerThread

    with McpServerThread(cors_origins=[inspector_origin]) as server:
        yield server


@pytest.fixture(scope="module")
def issuer(module_issuer, inspector_origin):
    """The simulator with the Inspector registered as a public client whose callback
    is an SPA redirect URI (what a browser-based client needs at Entra)."""
    module_issuer.register_public_client(INSPECTOR_CLIENT_ID, [], "MCP Inspector (test)",
                                         spa_redirect_uris=[f"{inspector_origin}/oauth/callback"])
    return module_issuer


def identifier_uri(issuer, endpoint: McpEndpoint) -> None:
    """The 2026 Entra setup: the MCP server's URL is an Application ID URI of the API app,
    so the RFC 8707 `resource` the SDK sends (the metadata's `resource`) is accepted."""
    issuer.register_api(DEFAULT_API_APP_ID, [DEFAULT_API_URI, endpoint.url], list(DEFAULT_API_SCOPES))


def inspect(node: str, endpoint: McpEndpoint, port: int, name: str, *extra: str) -> dict:
    return run_script(node, "inspector.mjs", "--port", str(port), "--server-url", endpoint.url,
                      "--shots", str(SHOTS / f"inspector-{name}"),
                      *extra, timeout=240)


def fetched(out: dict, path: str) -> list[dict]:
    return [r for r in out["requests"] if urllib.parse.urlsplit(r["url"]).path == path]


def statuses(out: dict, path: str) -> list[int | None]:
    """The statuses of the finished requests to `path`. A request the page aborted
    (it navigates away to the sign-in page while a fetch is pending) has no status."""
    return [r["status"] for r in fetched(out, path) if "status" in r]


def shot_names(out: dict) -> list[str]:
    return [p.rsplit("/", 1)[1].split("-", 1)[1].removesuffix(".png") for p in out["screenshots"]]



@pytest.fixture(scope="module")
def today(module_envoy_factory, issuer, cors_mcp_server) -> McpEndpoint:
    """Today's filter: its protected resource metadata names the simulator directly."""
    endpoint = start_mcp_envoy(module_envoy_factory, issuer, cors_mcp_server)
    identifier_uri(issuer, endpoint)
    return endpoint


def discovery_path(issuer) -> str:
    return f"/{issuer.tenant_id}/v2.0/.well-known/openid-configuration"


def test_negative_control_no_registration_at_entra(browser_node, today, issuer, inspector_port):  # noqa: F811
    """The unmodified Inspector against Entra's metadata: it gets the challenge and the
    protected resource metadata (CORS from the filter), finds the simulator's discovery
    document (its RFC 8414 paths are 404s without CORS, then the OpenID path answers),
    and stops before any sign-in page: no registration endpoint."""
    issuer.set_sign_in("page")
    out = inspect(browser_node, today, inspector_port, "negative")
    assert not out["ok"] and out["step"] == "connect", out
    assert shot_names(out) == ["direct", "connect-failed"]
    assert any("does not support dynamic client registration" in t for t in out["toasts"]), out["toasts"]
    assert statuses(out, MCP_PATH) == [401]
    assert statuses(out, PRM_PATH) == [200]
    assert statuses(out, discovery_path(issuer)) == [200]
    assert all(r.get("failure") for r in fetched(out, f"/.well-known/oauth-authorization-server/{issuer.tenant_id}/v2.0"))
    assert not fetched(out, f"/{issuer.tenant_id}/oauth2/v2.0/authorize")
    assert not [r for r in out["requests"] if r["url"].endswith("/register")]


def test_negative_control_succeeds_with_a_client_id_typed_by_hand(browser_node, today, issuer, cors_mcp_server,
                                                                   inspector_port):  # noqa: F811
    """What already works without the filter's metadata: a person who knows the public
    client's id (an SPA redirect URI registered for the Inspector's callback) types it in
    the Authentication section; the browser then signs in, redeems the code at the
    simulator's token endpoint (CORS, as Entra's) and calls the tools through the filter."""
    issuer.set_sign_in("page")
    before = len(cors_mcp_server.executions)
    out = inspect(browser_node, today, inspector_port, "typed-client-id", "--client-id", INSPECTOR_CLIENT_ID)
    assert out["ok"], out
    assert shot_names(out) == STEPS
    sign_in = urllib.parse.urlsplit(out["signInUrl"])
    params = dict(urllib.parse.parse_qsl(sign_in.query))
    assert sign_in.path == f"/{issuer.tenant_id}/oauth2/v2.0/authorize"
    assert (params["client_id"], params["code_challenge_method"], params["resource"]) == (
        INSPECTOR_CLIENT_ID, "S256", today.url)
    assert statuses(out, f"/{issuer.tenant_id}/oauth2/v2.0/token") == [200]
    assert out["tools"] == TOOLS
    assert "Tool Result: Success" in out["toolResult"] and "5" in out["toolResult"]
    assert [(e.kind, e.name) for e in cors_mcp_server.executions[before:]] == [("tool", "add")]


def authorization_server(inspector_port: int):
    def block(origin: str) -> dict:
        return {"authorization_server": {
            "issuer": origin, "client_id": INSPECTOR_CLIENT_ID,
            # The Inspector registers its debug callback too, and a registration is
            # granted only if every redirect URI it asks for is allowed.
            "redirect_uris": [f"http://localhost:{inspector_port}/oauth/callback",
                              f"http://localhost:{inspector_port}/oauth/callback/debug",
                              "http://127.0.0.1/oauth/callback"],
        }}
    return block


def test_inspector_signs_in_through_the_filter_unmodified(browser_node, module_envoy_factory, issuer,
                                                         cors_mcp_server, inspector_port):  # noqa: F811
    """The filter's own authorization-server metadata (S256, the API's scopes, a
    registration endpoint) and static registration, read and used by the browser (CORS):
    the Inspector, nothing typed, completes connect → sign-in → tools/list → tools/call."""
    endpoint = start_mcp_envoy(module_envoy_factory, issuer, cors_mcp_server,
                               mcp_extra=authorization_server(inspector_port))
    identifier_uri(issuer, endpoint)
    issuer.set_sign_in("page")
    before = len(cors_mcp_server.executions)
    out = inspect(browser_node, endpoint, inspector_port, "through-filter")
    assert out["ok"], out
    assert shot_names(out) == STEPS
    assert 200 in statuses(out, "/.well-known/oauth-authorization-server")
    assert statuses(out, "/register") == [201]
    params = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(out["signInUrl"]).query))
    assert (params["client_id"], params["code_challenge_method"]) == (INSPECTOR_CLIENT_ID, "S256")
    assert f"{DEFAULT_API_URI}/calculator.add" in params["scope"].split()
    assert statuses(out, f"/{issuer.tenant_id}/oauth2/v2.0/token") == [200]
    assert out["tools"] == TOOLS and "Tool Result: Success" in out["toolResult"]
    assert [(e.kind, e.name) for e in cors_mcp_server.executions[before:]] == [("tool", "add")]
