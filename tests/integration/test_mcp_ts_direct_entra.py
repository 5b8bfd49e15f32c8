"""Negative controls: the unmodified MCP TypeScript SDK client (`@modelcontextprotocol/sdk`,
pinned in tests/mcp_client_ts) signing a user in against the Entra simulator directly
(entra-guard without `mcp.authorization_server`: its metadata names the simulator's v2
issuer, whose discovery document is Entra's). tests/mcp_client_ts/oauth.mjs drives it.

- no pre-registered client: "does not support dynamic client registration";
- a pre-registered public client: RFC 8707 `resource` = the MCP URL → AADSTS9010010;
- ALREADY SUCCEEDS once the MCP URL is an identifier URI of the API app. The pinned
  SDK's PKCE check refuses only a `code_challenge_methods_supported` without S256; it
  accepts Entra's document, which has none (MCP 2025-11-25 tells clients to refuse it:
  a stricter SDK release would fail here; the filter's own metadata fixes that).
"""

from __future__ import annotations

import json
import subprocess

import pytest
from issuer import DEFAULT_API_APP_ID, DEFAULT_API_URI
from issuer.constants import DEFAULT_API_SCOPES, DEFAULT_PUBLIC_CLIENT_ID
from mcp_support import endpoint, issuer  # noqa: F401 - fixtures
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
