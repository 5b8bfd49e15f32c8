"""The unmodified MCP Python SDK OAuth providers signing in to Entra (the simulator):
directly against Entra's metadata (negative controls, as they meet real Entra today)
and, next to each, through the filter's own authorization-server metadata
(`mcp.authorization_server`), so the suite shows exactly what the filter fixes.

The MCP server is the sample server behind Envoy and entra-guard. Without
`mcp.authorization_server` the protected resource metadata names the simulator's v2
issuer (`<authority>/<tenant>/v2.0`), so the SDK reads Entra's own discovery document
(no registration endpoint, no `code_challenge_methods_supported`, only the OpenID
scopes). With it, the metadata names the filter's issuer (the listener's origin), whose
RFC 8414 document points at the simulator's endpoints, advertises S256 and the API's
scopes, and has a registration endpoint that hands out the configured public client
id. The user signs in by an HTTP client that follows the authorize URL (the test user
consents, see sign_in_support.py).

| client | directly against Entra | through the filter's metadata |
|---|---|---|
| `OAuthClientProvider`, no client id | `OAuthRegistrationError`: no registration endpoint | registers at the filter, gets the public client id, signs in |
| `OAuthClientProvider`, pre-registered | AADSTS9010010 while the MCP URL is not an identifier URI; ALREADY SUCCEEDS once it is (the SDK does not check `code_challenge_methods_supported` yet) | signs in; S256 advertised, the API's scopes from the metadata |
| `ClientCredentialsOAuthProvider`, `resource` = Application ID URI | AADSTS1002012 with delegated scopes; ALREADY SUCCEEDS when the metadata's only scope is `<resource>/.default` | succeeds with the filter's issuer and `<resource>/.default` |

What makes client credentials work: the SDK takes its scope from the challenge, else
from the protected resource metadata's `scopes_supported` (it appends `offline_access`
only for clients with a refresh-token grant), and Entra's client credentials take
exactly one scope, `<Application ID URI>/.default`. So the filter's `scopes_supported`
is `["<MCP URL>/.default"]` (the 2026 setup: the MCP URL is the Application ID URI, so
the RFC 8707 `resource` the SDK sends is accepted too); delegated sign-ins get every
consented scope with it.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator

import pytest
from issuer import DEFAULT_API_APP_ID, DEFAULT_API_URI
from issuer.constants import DEFAULT_API_SCOPES, DEFAULT_PUBLIC_CLIENT_ID
from jwt_support import METRIC_PREFIX
from mcp.client.auth import OAuthRegistrationError, OAuthTokenError
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp_support import ADDER, DIVIDER, McpEndpoint, endpoint, issuer  # noqa: F401 - fixtures
from mcp_support import start_mcp_envoy
from sdk_oauth_support import (AuthorizeFailed, HeadlessUser, InMemoryTokenStorage, authorization_server, failures,
                               user_provider)
from test_mcp_python_sdk import TOOLS, list_and_add, run_session

pytestmark = pytest.mark.wasm
REDIRECT = "http://127.0.0.1:33418/callback"  # the default public client allows any loopback port


def identifier_uris(issuer, *urls: str) -> None:  # noqa: F811
    issuer.register_api(DEFAULT_API_APP_ID, [DEFAULT_API_URI, *urls], list(DEFAULT_API_SCOPES))


@pytest.fixture
def mcp_url_is_an_identifier_uri(issuer, endpoint) -> Iterator[None]:
    """The 2026 setup: the MCP server's URL is an Application ID URI of the API app."""
    identifier_uris(issuer, endpoint.url)
    yield
    identifier_uris(issuer)


@pytest.fixture(autouse=True)
def headless_sign_in(issuer):
    issuer.set_sign_in("page")  # the HTTP client presses Accept like a person would
    yield


def test_without_a_registered_client_dynamic_registration_fails(endpoint, issuer):
    issuer.reset_counters()
    user = HeadlessUser()
    errors = failures(lambda: run_session(endpoint.url, list_and_add,
                                          auth=user_provider(endpoint.url, user, REDIRECT, pre_registered=False)))
    assert any(isinstance(e, OAuthRegistrationError) for e in errors), errors
    assert not user.urls, "never got as far as the sign-in"
    assert issuer.count("/register") == 0 and issuer.count("token") == 0


def test_pre_registered_client_meets_aadsts9010010_for_the_mcp_url_as_resource(endpoint, issuer):
    user = HeadlessUser()
    errors = failures(lambda: run_session(endpoint.url, list_and_add,
                                          auth=user_provider(endpoint.url, user, REDIRECT, pre_registered=True)))
    refused = [e for e in errors if isinstance(e, AuthorizeFailed)]
    assert refused and "AADSTS9010010" in str(refused[0]), errors
    assert f"resource={endpoint.url.replace(':', '%3A').replace('/', '%2F')}" in user.urls[0]
    assert "code_challenge_method=S256" in user.urls[0]


@pytest.mark.usefixtures("mcp_url_is_an_identifier_uri")
def test_already_succeeds_once_the_mcp_url_is_an_identifier_uri(endpoint, issuer):
    user = HeadlessUser()
    provider = user_provider(endpoint.url, user, REDIRECT, pre_registered=True)
    tools, added, identity = run_session(endpoint.url, list_and_add, auth=provider)
    assert (tools, added) == (TOOLS, {"result": 5.0})
    assert identity["x-entra-client-id"] == DEFAULT_PUBLIC_CLIENT_ID
    tokens = provider.context.current_tokens
    assert tokens is not None and tokens.refresh_token, "the SDK added offline_access (Entra lists it)"
    assert "offline_access" in user.urls[0] and "prompt=consent" in user.urls[0]


@pytest.mark.usefixtures("mcp_url_is_an_identifier_uri")
def test_client_credentials_with_the_application_id_uri_as_resource(module_envoy_factory, endpoint, issuer,
                                                                    mcp_server):
    def provider(url: str) -> ClientCredentialsOAuthProvider:
        return ClientCredentialsOAuthProvider(url, InMemoryTokenStorage(), ADDER[0], ADDER[1],
                                              issuer=endpoint.authorization_server)

    # The metadata's delegated scopes: Entra's client credentials take only `.default`.
    errors = failures(lambda: run_session(endpoint.url, list_and_add, auth=provider(endpoint.url)))
    token_errors = [e for e in errors if isinstance(e, OAuthTokenError)]
    assert token_errors and "AADSTS1002012" in str(token_errors[0]), errors

    # Metadata whose only scope is `<Application ID URI>/.default`: the stock provider succeeds.
    default_only = start_mcp_envoy(module_envoy_factory, issuer, mcp_server, scopes=[".default"])
    identifier_uris(issuer, default_only.url)
    issuer.reset_counters()
    tools, added, identity = run_session(default_only.url, list_and_add, auth=provider(default_only.url))
    assert (tools, added, identity["x-entra-client-id"]) == (TOOLS, {"result": 5.0}, ADDER[0])
    token_request = [r for r in issuer.requests() if r.kind == "token"]
    assert len(token_request) == 1


# --- through the filter's authorization-server metadata (mcp.authorization_server) -----------


@pytest.fixture(scope="module")
def through_filter(module_envoy_factory, issuer, mcp_server) -> McpEndpoint:  # noqa: F811
    """The 2026 setup behind the filter: its own metadata under its origin, static
    registration of the default public client for loopback redirects, and
    `scopes_supported: ["<MCP URL>/.default"]`."""
    return start_mcp_envoy(module_envoy_factory, issuer, mcp_server,
                           mcp_extra=authorization_server(scopes=[".default"]))


@pytest.fixture
def filtered(through_filter, issuer) -> Iterator[McpEndpoint]:  # noqa: F811
    """`through_filter`, with its MCP URL an Application ID URI of the API app."""
    identifier_uris(issuer, through_filter.url)
    issuer.reset_counters()
    yield through_filter
    identifier_uris(issuer)


def read_entras_discovery(issuer) -> list[str]:  # noqa: F811
    """RFC 8414 / OpenID discovery requests a client sent to the simulator (the filter's
    own key fetches use the tenant's discovery path, never these)."""
    return [r.path for r in issuer.requests() if r.path.startswith("/.well-known/")]


def check_user_sign_in(filtered: McpEndpoint, issuer, user: HeadlessUser, provider) -> None:  # noqa: F811
    tools, added, identity = run_session(filtered.url, list_and_add, auth=provider)
    assert (tools, added) == (TOOLS, {"result": 5.0})
    assert identity["x-entra-client-id"] == DEFAULT_PUBLIC_CLIENT_ID
    metadata = provider.context.oauth_metadata
    assert str(metadata.issuer).rstrip("/") == filtered.origin, "the filter's issuer, not Entra's"
    assert metadata.code_challenge_methods_supported == ["S256"]
    (url,) = user.urls
    sign_in = urllib.parse.urlsplit(url)
    params = dict(urllib.parse.parse_qsl(sign_in.query))
    assert f"{sign_in.scheme}://{sign_in.netloc}{sign_in.path}" == issuer.authorize_url(), "Entra's endpoint"
    assert (params["client_id"], params["code_challenge_method"], params["resource"]) == (
        DEFAULT_PUBLIC_CLIENT_ID, "S256", filtered.url)
    assert params["scope"].split() == [f"{filtered.url}/.default", "offline_access"]
    assert provider.context.current_tokens.refresh_token
    assert read_entras_discovery(issuer) == [], "the SDK read the filter's metadata"
    assert issuer.count("/register") == 0


def test_through_the_filter_registration_gives_the_public_client_id(filtered, issuer):  # noqa: F811
    """No client id configured in the client: the SDK registers at the filter's
    `registration_endpoint` (RFC 7591) and gets the configured public client id."""
    user = HeadlessUser()
    provider = user_provider(filtered.url, user, REDIRECT, pre_registered=False)
    check_user_sign_in(filtered, issuer, user, provider)
    assert str(provider.context.oauth_metadata.registration_endpoint) == f"{filtered.origin}/register"
    info = provider.context.client_info
    assert (info.client_id, info.token_endpoint_auth_method) == (DEFAULT_PUBLIC_CLIENT_ID, "none")
    assert [str(uri) for uri in info.redirect_uris] == [REDIRECT]


def test_through_the_filter_pre_registered_client_signs_in(filtered, issuer):  # noqa: F811
    user = HeadlessUser()
    check_user_sign_in(filtered, issuer, user, user_provider(filtered.url, user, REDIRECT, pre_registered=True))


def test_through_the_filter_client_credentials(filtered, issuer, mcp_server):  # noqa: F811
    """`ClientCredentialsOAuthProvider`, unmodified, `issuer` = the filter's issuer: 401
    → the protected resource metadata → the filter's RFC 8414 document → Entra's token
    endpoint with `resource` = the MCP URL (an Application ID URI) and its `.default`."""
    served = filtered.envoy.stat(METRIC_PREFIX + "metadata_served")

    def provider(client) -> ClientCredentialsOAuthProvider:
        return ClientCredentialsOAuthProvider(filtered.url, InMemoryTokenStorage(), client[0], client[1],
                                              issuer=filtered.origin)

    adder = provider(ADDER)
    start = len(mcp_server.requests)
    tools, added, identity = run_session(filtered.url, list_and_add, auth=adder)
    assert (tools, added, identity["x-entra-client-id"]) == (TOOLS, {"result": 5.0}, ADDER[0])
    assert adder.context.current_tokens.scope == f"{filtered.url}/.default"
    assert read_entras_discovery(issuer) == [], "the SDK read the filter's metadata"
    assert [(r.method, r.path) for r in issuer.requests() if r.kind not in ("jwks", "discovery")] == [
        ("POST", f"/{issuer.tenant_id}/oauth2/v2.0/token")], "only the token request reaches Entra"
    seen = mcp_server.requests[start:]
    assert seen and all(r.header("authorization") for r in seen), "only authorized requests reach the server"
    filtered.envoy.wait_for_stat(METRIC_PREFIX + "metadata_served", lambda value: value > served, timeout=5)

    async def divide(client) -> dict:
        return (await client.call_tool("divide", {"a": 1, "b": 8})).structured_content

    assert run_session(filtered.url, divide, auth=provider(DIVIDER)) == {"result": 0.125}
