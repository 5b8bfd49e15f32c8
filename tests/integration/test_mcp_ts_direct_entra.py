"""The unmodified MCP TypeScript SDK client (`@modelcontextprotocol/sdk`, pinned in
tests/mcp_client_ts) signing a user in (authorization code + PKCE): directly against
the Entra simulator (negative controls: entra-guard without `mcp.authorization_server`,
its metadata names the simulator's v2 issuer, whose discovery document is Entra's), and
through the filter's own authorization-server metadata next to them.
tests/mcp_client_ts/oauth.mjs drives it.

| client | directly against Entra | through the filter's metadata |
|---|---|---|
| no client id | "does not support dynamic client registration" | registers at the filter, gets the public client id, signs in |
| pre-registered public client | AADSTS9010010 while the MCP URL is not an identifier URI; ALREADY SUCCEEDS once it is | signs in; the PKCE check sees S256 advertised |

The SDK's PKCE check: the pinned release refuses a `code_challenge_methods_supported`
without S256 and accepts Entra's document, which has none (MCP 2025-11-25 tells clients
to refuse it: a stricter release would fail the direct sign-in; the filter's metadata
advertises `["S256"]`, which passes either way).
"""

from __future__ import annotations

import json
import subprocess
import urllib.parse
from collections.abc import Iterator

import pytest
from issuer import DEFAULT_API_APP_ID, DEFAULT_API_URI
from issuer.constants import DEFAULT_API_SCOPES, DEFAULT_PUBLIC_CLIENT_ID
from mcp_support import McpEndpoint, endpoint, issuer  # noqa: F401 - fixtures
from mcp_support import start_mcp_envoy
from sdk_oauth_support import authorization_server
from test_mcp_python_sdk import TOOLS
from test_mcp_ts_client import CLIENT_DIR, node_client  # noqa: F401 - fixture

pytestmark = pytest.mark.wasm
REDIRECT = "http://127.0.0.1:33419/callback"


def sign_in(node_client: list[str], url: str, client_id: str | None) -> dict:  # noqa: F811
    command = [node_client[0], str(CLIENT_DIR / "oauth.mjs"), "--url", url, "--redirect", REDIRECT]
    if client_id is not None:
        command += ["--client-id", client_id]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(autouse=True)
def consent_page(issuer):  # noqa: F811
    issuer.set_sign_in("page")


def test_without_a_registered_client_dynamic_registration_fails(node_client, endpoint, issuer):  # noqa: F811
    out = sign_in(node_client, endpoint.url, None)
    assert not out["connected"]
    assert "does not support dynamic client registration" in out["error"]["message"], out
    assert out["authorizeUrls"] == []


def test_pre_registered_client_meets_aadsts9010010(node_client, endpoint, issuer):  # noqa: F811
    out = sign_in(node_client, endpoint.url, DEFAULT_PUBLIC_CLIENT_ID)
    assert not out["connected"]
    assert out["error"]["message"].startswith("AADSTS9010010:"), out
    (redirect,) = out["redirects"]
    assert redirect["params"]["error"] == "invalid_target"
    assert "code_challenge_method=S256" in out["authorizeUrls"][0]


def test_already_succeeds_once_the_mcp_url_is_an_identifier_uri(node_client, endpoint, issuer):  # noqa: F811
    issuer.register_api(DEFAULT_API_APP_ID, [DEFAULT_API_URI, endpoint.url], list(DEFAULT_API_SCOPES))
    try:
        out = sign_in(node_client, endpoint.url, DEFAULT_PUBLIC_CLIENT_ID)
    finally:
        issuer.register_api(DEFAULT_API_APP_ID, [DEFAULT_API_URI], list(DEFAULT_API_SCOPES))
    assert out["connected"], out
    assert out["tools"] == TOOLS and out["added"] == {"result": 5}
    assert out["whoami"]["x-entra-client-id"] == DEFAULT_PUBLIC_CLIENT_ID
    # Unlike the Python SDK, this release asks only for the metadata's scopes: no
    # offline_access, so Entra (and the simulator) give no refresh token.
    assert "offline_access" not in out["authorizeUrls"][0] and not out["tokenResponse"]["refresh"]
    assert out["discovery"]["codeChallengeMethods"] is None, "Entra's document has none"


# --- through the filter's authorization-server metadata (mcp.authorization_server) -----------


@pytest.fixture(scope="module")
def through_filter(module_envoy_factory, issuer, mcp_server) -> McpEndpoint:  # noqa: F811
    """The filter's own metadata under its origin, static registration of the default
    public client for loopback redirects; the API's `api://<app>/<scope>` scopes."""
    return start_mcp_envoy(module_envoy_factory, issuer, mcp_server, mcp_extra=authorization_server())


@pytest.fixture
def filtered(through_filter, issuer) -> Iterator[McpEndpoint]:  # noqa: F811
    """`through_filter`, with its MCP URL an Application ID URI of the API app."""
    issuer.register_api(DEFAULT_API_APP_ID, [DEFAULT_API_URI, through_filter.url], list(DEFAULT_API_SCOPES))
    issuer.reset_counters()
    yield through_filter
    issuer.register_api(DEFAULT_API_APP_ID, [DEFAULT_API_URI], list(DEFAULT_API_SCOPES))


def check_through_the_filter(out: dict, filtered: McpEndpoint, issuer) -> None:  # noqa: F811
    assert out["connected"], out
    assert out["tools"] == TOOLS and out["added"] == {"result": 5}
    assert out["whoami"]["x-entra-client-id"] == DEFAULT_PUBLIC_CLIENT_ID
    discovery = out["discovery"]
    assert discovery["issuer"] == filtered.origin and discovery["codeChallengeMethods"] == ["S256"], discovery
    (url,) = out["authorizeUrls"]
    sign_in = urllib.parse.urlsplit(url)
    params = dict(urllib.parse.parse_qsl(sign_in.query))
    assert f"{sign_in.scheme}://{sign_in.netloc}{sign_in.path}" == issuer.authorize_url(), "Entra's endpoint"
    assert (params["client_id"], params["code_challenge_method"], params["resource"]) == (
        DEFAULT_PUBLIC_CLIENT_ID, "S256", filtered.url)
    assert params["scope"].split() == [f"{DEFAULT_API_URI}/{name}" for name in ("calculator.add", "calculator.multiply")]
    assert not [r for r in issuer.requests() if r.path.startswith("/.well-known/")], "the filter's metadata was read"
    assert issuer.count("/register") == 0


def test_through_the_filter_registration_gives_the_public_client_id(node_client, filtered, issuer):  # noqa: F811
    out = sign_in(node_client, filtered.url, None)
    check_through_the_filter(out, filtered, issuer)
    assert out["discovery"]["registrationEndpoint"] == f"{filtered.origin}/register"
    assert out["clientId"] == DEFAULT_PUBLIC_CLIENT_ID


def test_through_the_filter_pre_registered_client_signs_in(node_client, filtered, issuer):  # noqa: F811
    check_through_the_filter(sign_in(node_client, filtered.url, DEFAULT_PUBLIC_CLIENT_ID), filtered, issuer)
