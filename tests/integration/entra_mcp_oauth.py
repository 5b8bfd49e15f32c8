"""The MCP Python SDK's client-credentials OAuth provider, adapted to Entra ID.

`mcp.client.auth.extensions.client_credentials.ClientCredentialsOAuthProvider` does
the whole MCP discovery on its own: the 401's `resource_metadata`, the protected
resource metadata (RFC 9728), the authorization server's metadata (it tries RFC 8414
and OpenID discovery URLs, and Entra answers the OpenID one), then the token
request. Two things in that token request break against Entra:

- it sends the RFC 8707 `resource` parameter whenever metadata was discovered;
  Entra refuses it (AADSTS9010010: the resource is named by the scope instead);
- it asks for the scopes the challenge or the metadata lists (delegated scopes such
  as `api://<app>/calculator.add`); client credentials in Entra take exactly one
  scope, `<Application ID URI>/.default` (AADSTS1002012 otherwise), and the token
  then carries the app roles granted to the client.

`EntraClientCredentialsProvider` changes only the token request: no `resource`, and
the `.default` scope. Everything before it stays the SDK's.

It can go once the stock provider's two choices are right (test_mcp_sdk_direct_entra.py
shows both): its `resource` (the protected resource metadata's `resource`, i.e. the
MCP URL) is an identifier URI of the API app, and the scope it picks (the challenge's,
else the metadata's `scopes_supported`) is `<that URI>/.default`.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx2
from mcp.client.auth.extensions.client_credentials import ClientCredentialsOAuthProvider
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken


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


def entra_default_scope(application_id_uri: str) -> str:
    return f"{application_id_uri.rstrip('/')}/.default"


class EntraClientCredentialsProvider(ClientCredentialsOAuthProvider):
    """`ClientCredentialsOAuthProvider` whose token request Entra accepts.

    `application_id_uri` is the API's Application ID URI (`api://<app-id>`); `issuer`
    the tenant's v2 issuer (`https://login.microsoftonline.com/<tenant>/v2.0`), which
    is also what entra-guard's metadata lists in `authorization_servers`.
    """

    def __init__(self, server_url: str, client_id: str, client_secret: str, *, application_id_uri: str,
                 issuer: str, storage: InMemoryTokenStorage | None = None) -> None:
        self.entra_scope = entra_default_scope(application_id_uri)
        super().__init__(server_url, storage or InMemoryTokenStorage(), client_id, client_secret,
                         token_endpoint_auth_method="client_secret_post", scope=self.entra_scope,
                         issuer=issuer)

    async def _perform_authorization(self) -> httpx2.Request:
        # The SDK replaced the scope with the challenge's or the metadata's list.
        self.context.client_metadata.scope = self.entra_scope
        request = await super()._perform_authorization()
        form = {name: value for name, value in parse_qsl(request.content.decode("ascii"))
                if name != "resource"}
        headers = {name: value for name, value in request.headers.items()
                   if name.lower() not in ("content-length", "content-type")}
        return httpx2.Request(request.method, request.url, data=form, headers=headers)
