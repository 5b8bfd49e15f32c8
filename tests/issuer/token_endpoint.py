"""The client-credentials grant of `POST /{tenant}/oauth2/v2.0/token`, like Entra's.

Only what a service client (or an MCP client after its own login) meets: client
authentication by secret (form or HTTP Basic), `scope=<resource>/.default`, and
Entra's error answers, including AADSTS9010010 for an RFC 8707 `resource`
parameter that is not one of the API app's identifier URIs.
"""

from __future__ import annotations

import base64
import binascii
import re
import threading
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .apps import Registry
from .documents import entra_error
from .tokens import TokenMinter

GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DEFAULT_SUFFIX = "/.default"


@dataclass
class Client:
    """A confidential client: its secret and the app roles granted to it.

    `roles` is one list for every API, or a dict from API app id to its list.
    """

    client_id: str
    secret: str
    roles: Sequence[str] | Mapping[str, Sequence[str]] = field(default_factory=list)

    def roles_for(self, app_id: str) -> list[str]:
        if isinstance(self.roles, Mapping):
            return list(self.roles.get(app_id, []))
        return list(self.roles)


class Directory:
    """The registered clients, and the token version each API app accepts.

    Entra issues v1 or v2 tokens after the API app's `accessTokenAcceptedVersion`,
    whatever endpoint the client called; v2 is the default here.
    """

    def __init__(self) -> None:
        self._clients: dict[str, Client] = {}
        self._token_versions: dict[str, int] = {}
        self._lock = threading.Lock()

    def register(self, client: Client) -> None:
        with self._lock:
            self._clients[client.client_id] = client

    def client(self, client_id: str) -> Client | None:
        with self._lock:
            return self._clients.get(client_id)

    def set_token_version(self, app_id: str, version: int) -> None:
        if version not in (1, 2):
            raise ValueError("token version must be 1 or 2")
        with self._lock:
            self._token_versions[app_id] = version

    def token_version(self, app_id: str) -> int:
        with self._lock:
            return self._token_versions.get(app_id, 2)

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "clients": {c.client_id: {"roles": c.roles} for c in self._clients.values()},
                "token_versions": dict(self._token_versions),
            }


class TokenError(Exception):
    """An Entra error answer: HTTP status and JSON body."""

    def __init__(self, status: int, error: str, code: int, description: str):
        super().__init__(f"AADSTS{code}")
        self.status = status
        self.body = entra_error(error, code, description)


def _missing(parameter: str) -> TokenError:
    return TokenError(400, "invalid_request", 900144,
                      f"The request body must contain the following parameter: '{parameter}'.")


def client_credentials(form: Mapping[str, Sequence[str]], authorization: str | None,
                       tenant: str, directory: Directory, minter: TokenMinter, registry: Registry | None = None) -> dict:
    """The token response for a client-credentials request, or raises `TokenError`."""
    values = {name: items[0] for name, items in form.items() if items}
    grant = values.get("grant_type")
    if grant is None:
        raise _missing("grant_type")
    if grant != "client_credentials":
        raise TokenError(400, "unsupported_grant_type", 70003,
                         f"The app requested an unsupported grant type '{grant}'.")
    client_id, secret = _client_authentication(values, authorization)
    scope = values.get("scope")
    if scope is None:
        raise _missing("scope")
    client = directory.client(client_id)
    if client is None:
        raise TokenError(400, "unauthorized_client", 700016,
                         f"Application with identifier '{client_id}' was not found in the directory "
                         f"'{tenant}'. This can happen if the application has not been installed by the "
                         "administrator of the tenant or consented to by any user in the tenant.")
    if secret is None:
        raise TokenError(401, "invalid_client", 7000218,
                         "The request body must contain the following parameter: 'client_assertion' or "
                         "'client_secret'.")
    if secret != client.secret:
        raise TokenError(401, "invalid_client", 7000215,
                         "Invalid client secret provided. Ensure the secret being sent in the request is the "
                         f"client secret value, not the client secret ID, for a secret added to app '{client_id}'.")
    if "resource" in values and values["resource"] not in _identifier_uris(scope, registry):
        raise TokenError(400, "invalid_target", 9010010,
                         "The resource parameter provided in the request doesn't match with the requested scopes.")
    resource, app_id = _resource(scope, tenant, registry)
    roles = client.roles_for(app_id)
    extra = {"roles": roles} if roles else {}
    if directory.token_version(app_id) == 1:
        token = minter.v1(tenant=tenant, aud=resource, appid=client_id, **extra)
    else:
        token = minter.v2(tenant=tenant, aud=app_id, azp=client_id, **extra)
    return {"token_type": "Bearer", "expires_in": minter.lifetime,
            "ext_expires_in": minter.lifetime, "access_token": token}


def _client_authentication(values: Mapping[str, str], authorization: str | None) -> tuple[str, str | None]:
    """(client_id, secret) from the form (client_secret_post) or HTTP Basic."""
    if authorization and authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise TokenError(401, "invalid_client", 7000216, "Malformed HTTP Basic credentials.") from exc
        client_id, _, secret = decoded.partition(":")
        return urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)
    client_id = values.get("client_id")
    if client_id is None:
        raise _missing("client_id")
    return client_id, values.get("client_secret")


def _identifier_uris(scope: str, registry: Registry | None) -> list[str]:
    """The identifier URIs of the API app the (first) scope names: RFC 8707 `resource`
    must be one of them. Checked before the scope itself, as the SDKs meet it; an app
    that is not registered has only `api://<app-id>`."""
    named = scope.split()[0].rpartition("/")[0] if scope.split() else ""
    app = registry.app_for(named) if registry is not None else None
    if app is not None:
        return app.identifier_uris
    app_id = named.removeprefix("api://")
    return [f"api://{app_id.lower()}" if GUID.match(app_id) else named]


def _resource(scope: str, tenant: str, registry: Registry | None = None) -> tuple[str, str]:
    """(resource as requested, API app id) from `scope=<resource>/.default`."""
    scopes = scope.split()
    if len(scopes) != 1 or not scopes[0].endswith(DEFAULT_SUFFIX):
        raise TokenError(400, "invalid_scope", 1002012,
                         f"The provided value for scope {scope} is not valid. Client credential flows must "
                         "have a scope value with /.default suffixed to the resource identifier "
                         "(application ID URI).")
    resource = scopes[0][: -len(DEFAULT_SUFFIX)]
    registered = registry.app_for(resource) if registry is not None else None
    if registered is not None:
        return resource, registered.app_id
    app = resource.removeprefix("api://")
    if GUID.match(app):
        return resource, app.lower()
    if resource.startswith("api://"):
        return resource, resource  # an identifier URI that is not a GUID: used as the audience
    raise TokenError(400, "invalid_resource", 500011,
                     f"The resource principal named {resource} was not found in the tenant named {tenant}.")
