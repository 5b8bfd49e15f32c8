"""What the MCP Python SDK's OAuth providers need from a test, and nothing they do
themselves: token storage in memory, a "user" that follows the authorize URL with an
HTTP client (the simulator's test user consents, see sign_in_support.py), and the
filter's `mcp.authorization_server` block for `start_mcp_envoy(mcp_extra=...)`.

The providers stay the SDK's own classes, unmodified.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Callable, Sequence

import pytest
from issuer.constants import DEFAULT_PUBLIC_CLIENT_ID
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from mcp_support import MCP_PATH
from sign_in_support import Redirect, follow_authorize

USER_GRANTS = ["authorization_code", "refresh_token"]


class InMemoryTokenStorage:
    """`mcp.client.auth.TokenStorage` kept in memory (one client run)."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


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


def user_provider(url: str, user: HeadlessUser, redirect: str, *, pre_registered: bool) -> OAuthClientProvider:
    """The SDK's `OAuthClientProvider` (authorization code + PKCE) for a public client;
    `pre_registered`: the client id is known (the default public client), otherwise
    the SDK registers one itself (RFC 7591)."""
    metadata = OAuthClientMetadata(client_name="entra-guard tests", redirect_uris=[redirect], grant_types=USER_GRANTS,
                                   response_types=["code"], token_endpoint_auth_method="none")
    storage = InMemoryTokenStorage()
    if pre_registered:
        storage.client_info = OAuthClientInformationFull(client_id=DEFAULT_PUBLIC_CLIENT_ID, redirect_uris=[redirect],
                                                         grant_types=USER_GRANTS, token_endpoint_auth_method="none")
    return OAuthClientProvider(url, metadata, storage, user.redirect_handler, user.callback_handler)


def flatten(errors) -> list[BaseException]:
    flat = []
    for error in errors:
        if isinstance(error, BaseExceptionGroup):
            flat += flatten(error.exceptions)
        else:
            flat.append(error)
    return flat


def failures(run: Callable[[], object]) -> list[BaseException]:
    """The exceptions `run()` fails with (task groups unwrapped); fails the test if it succeeds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(BaseException) as failure:
            run()
    errors = failure.value.exceptions if isinstance(failure.value, BaseExceptionGroup) else [failure.value]
    return flatten(errors)


def authorization_server(client_id: str | None = DEFAULT_PUBLIC_CLIENT_ID,
                         redirect_uris: Sequence[str] = ("http://127.0.0.1/callback",),
                         scopes: Sequence[str] | None = None) -> Callable[[str], dict]:
    """`mcp_extra` for `start_mcp_envoy`: the filter's own authorization-server metadata
    under the listener's origin, with static registration of `client_id` for
    `redirect_uris` (a loopback entry without a port matches any port).

    `scopes`: the protected resource metadata's `scopes_supported` as names under the
    MCP URL (the 2026 Entra setup: the Application ID URI is the MCP server's URL), e.g.
    `[".default"]`; None keeps `api://<app>/<scope>`."""

    def block(origin: str) -> dict:
        server: dict = {"issuer": origin}
        if client_id is not None:
            server |= {"client_id": client_id, "redirect_uris": list(redirect_uris)}
        extra: dict = {"authorization_server": server}
        if scopes is not None:
            extra["scopes_supported"] = [f"{origin}{MCP_PATH}/{name}" for name in scopes]
        return extra

    return block
