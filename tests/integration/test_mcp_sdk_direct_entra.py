"""Negative controls: the unmodified MCP Python SDK OAuth providers against the Entra
simulator directly, as they meet real Entra today.

The MCP server is the sample server behind Envoy and entra-guard without
`mcp.authorization_server`: its protected resource metadata names the simulator's v2
issuer (`<authority>/<tenant>/v2.0`), so the SDK reads Entra's own discovery document
(no registration endpoint, no `code_challenge_methods_supported`, only the OpenID
scopes). The user signs in by an HTTP client that follows the authorize URL (the
test user consents, see sign_in_support.py). What each test shows:

- no pre-registered client: the SDK falls back to dynamic client registration, which
  Entra does not have → `OAuthRegistrationError`;
- a pre-registered public client: the SDK sends RFC 8707 `resource` = the MCP URL,
  which is not an identifier URI of the API app → AADSTS9010010 on the redirect;
- ALREADY SUCCEEDS: the same client once the MCP URL is an identifier URI of the API
  app (the 2026 setup): sign-in, code + PKCE S256 (the SDK does not check
  `code_challenge_methods_supported`), tokens that entra-guard accepts;
- `ClientCredentialsOAuthProvider` with `resource` = the Application ID URI (the MCP
  URL) succeeds when the scope it picks is `<resource>/.default`, and meets
  AADSTS1002012 with the delegated scopes the metadata lists.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator

import pytest
from entra_mcp_oauth import InMemoryTokenStorage
from issuer import DEFAULT_API_APP_ID, DEFAULT_API_URI
from issuer.constants import DEFAULT_API_SCOPES, DEFAULT_PUBLIC_CLIENT_ID
from mcp.client.auth import OAuthClientProvider, OAuthRegistrationError, OAuthTokenError
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata
from mcp_support import ADDER, endpoint, issuer  # noqa: F401 - fixtures
from mcp_support import start_mcp_envoy
from sign_in_support import Redirect, follow_authorize
from test_mcp_python_sdk import TOOLS, _flatten, list_and_add, run_session

pytestmark = pytest.mark.wasm
REDIRECT = "http://127.0.0.1:33418/callback"  # the default public client allows any loopback port


class AuthorizeFailed(Exception):
    """The authorize endpoint sent the browser back with an error (or stayed on a page)."""


class HeadlessUser:
    """The SDK's redirect and callback handlers: follow the authorize URL with an HTTP
    client (the test user consents), hand the code back."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.redirect: Redirect | None = None

    async def redirect_handler(self, url: str) -> None:
        self.urls.append(url)
        result = await asyncio.to_thread(follow_authorize, url)
        if not isinstance(result, Redirect):
            raise AuthorizeFailed(f"HTTP {result.status_code}: {result.text[:300]}")
        self.redirect = result

    async def callback_handler(self) -> AuthorizationCodeResult:
        params = self.redirect.params if self.redirect else {}
        if "code" not in params:
            raise AuthorizeFailed(params.get("error_description", "no redirect"))
        return AuthorizationCodeResult(code=params["code"], state=params.get("state"))


def user_provider(url: str, user: HeadlessUser, *, pre_registered: bool) -> OAuthClientProvider:
    metadata = OAuthClientMetadata(client_name="entra-guard tests", redirect_uris=[REDIRECT],
                                   grant_types=["authorization_code", "refresh_token"], response_types=["code"],
                                   token_endpoint_auth_method="none")
    storage = InMemoryTokenStorage()
    if pre_registered:
        storage.client_info = OAuthClientInformationFull(client_id=DEFAULT_PUBLIC_CLIENT_ID, redirect_uris=[REDIRECT],
                                                         grant_types=["authorization_code", "refresh_token"],
                                                         token_endpoint_auth_method="none")
    return OAuthClientProvider(url, metadata, storage, user.redirect_handler, user.callback_handler)


def failures(run) -> list[BaseException]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(BaseException) as failure:
            run()
    errors = failure.value.exceptions if isinstance(failure.value, BaseExceptionGroup) else [failure.value]
    return _flatten(errors)


@pytest.fixture
def mcp_url_is_an_identifier_uri(issuer, endpoint) -> Iterator[None]:
    """The 2026 setup: the MCP server's URL is an Application ID URI of the API app."""
    issuer.register_api(DEFAULT_API_APP_ID, [DEFAULT_API_URI, endpoint.url], list(DEFAULT_API_SCOPES))
    yield
    issuer.register_api(DEFAULT_API_APP_ID, [DEFAULT_API_URI], list(DEFAULT_API_SCOPES))


@pytest.fixture(autouse=True)
def headless_sign_in(issuer):
    issuer.set_sign_in("page")  # the HTTP client presses Accept like a person would
    yield


def test_without_a_registered_client_dynamic_registration_fails(endpoint, issuer):
    issuer.reset_counters()
    user = HeadlessUser()
    errors = failures(lambda: run_session(endpoint.url, list_and_add,
                                          auth=user_provider(endpoint.url, user, pre_registered=False)))
    assert any(isinstance(e, OAuthRegistrationError) for e in errors), errors
    assert not user.urls, "never got as far as the sign-in"
    assert issuer.count("/register") == 0 and issuer.count("token") == 0


def test_pre_registered_client_meets_aadsts9010010_for_the_mcp_url_as_resource(endpoint, issuer):
    user = HeadlessUser()
    errors = failures(lambda: run_session(endpoint.url, list_and_add,
                                          auth=user_provider(endpoint.url, user, pre_registered=True)))
    refused = [e for e in errors if isinstance(e, AuthorizeFailed)]
    assert refused and "AADSTS9010010" in str(refused[0]), errors
    assert f"resource={endpoint.url.replace(':', '%3A').replace('/', '%2F')}" in user.urls[0]
    assert "code_challenge_method=S256" in user.urls[0]


@pytest.mark.usefixtures("mcp_url_is_an_identifier_uri")
def test_already_succeeds_once_the_mcp_url_is_an_identifier_uri(endpoint, issuer):
    user = HeadlessUser()
    provider = user_provider(endpoint.url, user, pre_registered=True)
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
    issuer.register_api(DEFAULT_API_APP_ID, [DEFAULT_API_URI, default_only.url], list(DEFAULT_API_SCOPES))
    issuer.reset_counters()
    tools, added, identity = run_session(default_only.url, list_and_add, auth=provider(default_only.url))
    assert (tools, added, identity["x-entra-client-id"]) == (TOOLS, {"result": 5.0}, ADDER[0])
    token_request = [r for r in issuer.requests() if r.kind == "token"]
    assert len(token_request) == 1
