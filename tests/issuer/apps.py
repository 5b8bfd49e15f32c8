"""App registrations the user sign-in flow needs: API apps and public clients.

An API app has identifier URIs (`api://<app-id>`, or the 2026 way: the MCP server's
HTTPS URL) and delegated scopes; a public client has redirect URIs. Scope strings
are resolved as Entra resolves them: `<identifier URI>/<scope>` or `<app-id>/<scope>`,
`.default` for every consented scope, the OpenID scopes apart, one resource per
request. Errors are `GrantError`s carrying Entra's AADSTS codes and wording.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field

from .documents import entra_error

OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
DEFAULT_SUFFIX = ".default"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"  # what Entra answers `openid` alone with
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")


class GrantError(Exception):
    """An Entra error: HTTP status (token endpoint) or redirect (authorize), and body."""

    def __init__(self, status: int, error: str, code: int, description: str):
        super().__init__(f"AADSTS{code}: {description}")
        self.status = status
        self.error = error
        self.code = code
        self.body = entra_error(error, code, description)


@dataclass
class ApiApp:
    """An API app registration: identifier URIs, delegated scopes, the test user's app roles."""

    app_id: str
    identifier_uris: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    user_roles: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.app_id = self.app_id.lower()
        if not self.identifier_uris:
            self.identifier_uris = [f"api://{self.app_id}"]


@dataclass
class PublicClient:
    """A public client (no secret): its redirect URIs, those of the "Mobile and desktop"
    platform and those of the "Single-page application" (SPA) platform. Entra lets a
    browser redeem a code cross-origin only for an SPA redirect URI (AADSTS9002326),
    and an SPA's code only cross-origin (AADSTS9002327)."""

    client_id: str
    redirect_uris: list[str] = field(default_factory=list)
    name: str = "MCP client (test)"
    spa_redirect_uris: list[str] = field(default_factory=list)

    def allows(self, redirect_uri: str) -> bool:
        return any(redirect_matches(allowed, redirect_uri)
                   for allowed in (*self.redirect_uris, *self.spa_redirect_uris))

    def is_spa(self, redirect_uri: str) -> bool:
        return any(redirect_matches(allowed, redirect_uri) for allowed in self.spa_redirect_uris)


def redirect_matches(registered: str, requested: str) -> bool:
    """Exact match, except that a loopback `http://localhost/...` or `http://127.0.0.1/...`
    registered without a port matches any port, as Entra does for native clients."""
    if registered == requested:
        return True
    reg, req = urllib.parse.urlsplit(registered), urllib.parse.urlsplit(requested)
    try:
        reg_port = reg.port
        req_port = req.port
    except ValueError:
        return False
    return (reg.scheme == req.scheme == "http" and reg.hostname in LOOPBACK_HOSTS
            and reg_port is None and req.hostname == reg.hostname and req_port is not None
            and (reg.path or "/") == (req.path or "/") and reg.query == req.query and not req.fragment)


@dataclass(frozen=True)
class ScopeRequest:
    """A resolved scope string: the API app (None: Microsoft Graph), the delegated scope
    names granted, the OpenID scopes asked for, and the scope string to answer with."""

    app: ApiApp | None
    scp: tuple[str, ...]
    oidc: tuple[str, ...]
    granted: str

    @property
    def offline(self) -> bool:
        return "offline_access" in self.oidc

    def check_resource(self, resource: str | None) -> None:
        """RFC 8707 `resource`: accepted only when it is one of the API app's identifier URIs."""
        if resource is None:
            return
        if self.app is None or resource not in self.app.identifier_uris:
            raise GrantError(400, "invalid_target", 9010010,
                             "The resource parameter provided in the request doesn't match with the "
                             "requested scopes.")


class Registry:
    """The API apps and public clients of the simulated tenant."""

    def __init__(self) -> None:
        self._apps: dict[str, ApiApp] = {}
        self._public: dict[str, PublicClient] = {}
        self._lock = threading.Lock()

    def register_api(self, app: ApiApp) -> ApiApp:
        with self._lock:
            self._apps[app.app_id] = app
        return app

    def register_public_client(self, client: PublicClient) -> PublicClient:
        with self._lock:
            self._public[client.client_id] = client
        return client

    def public_client(self, client_id: str) -> PublicClient | None:
        with self._lock:
            return self._public.get(client_id)

    def app(self, app_id: str) -> ApiApp | None:
        with self._lock:
            return self._apps.get(app_id.lower())

    def app_for(self, resource: str) -> ApiApp | None:
        """The app a resource names: one of its identifier URIs, or its app id."""
        with self._lock:
            for app in self._apps.values():
                if resource in app.identifier_uris or resource.lower() == app.app_id:
                    return app
        return None

    def resolve(self, scope: str | None, tenant: str, client_id: str) -> ScopeRequest:
        """A delegated scope string as Entra reads it, or raises `GrantError`."""
        if not scope or not scope.strip():
            raise GrantError(400, "invalid_request", 900144,
                             "The request body must contain the following parameter: 'scope'.")
        items = scope.split()
        oidc = tuple(s for s in items if s in OIDC_SCOPES)
        named: dict[str, list[str]] = {}
        for item in (s for s in items if s not in OIDC_SCOPES):
            resource, slash, name = item.rpartition("/")
            if not slash or not resource or not name:
                raise GrantError(400, "invalid_scope", 70011,
                                 f"The provided value for the input parameter 'scope' is not valid. "
                                 f"The scope {item} is not valid.")
            named.setdefault(resource, []).append(name)
        if not named:
            return ScopeRequest(None, tuple(s for s in oidc if s != "offline_access"), oidc, " ".join(items))
        apps = {id(self.app_for(r)): (r, self.app_for(r)) for r in named}
        if len(named) > 1 and len(apps) > 1:
            raise GrantError(400, "invalid_scope", 28000,
                             "Provided value for the input parameter scope is not valid because it contains "
                             f"more than one resource. Scope {scope} is not valid.")
        resource = next(iter(named))
        app = self.app_for(resource)
        if app is None:
            raise GrantError(400, "invalid_resource", 500011,
                             f"The resource principal named {resource} was not found in the tenant named "
                             f"{tenant}. This can happen if the application has not been installed by the "
                             "administrator of the tenant or consented to by any user in the tenant. You might "
                             "have sent your authentication request to the wrong tenant.")
        names = [n for names in named.values() for n in names]
        if DEFAULT_SUFFIX in names:
            if len(names) > 1:
                raise GrantError(400, "invalid_scope", 70011,
                                 f"The provided value for the input parameter 'scope' is not valid. The scope "
                                 f"{scope} is not valid. .default scope can't be combined with resource-specific "
                                 "scopes.")
            scp = tuple(app.scopes)
        else:
            unknown = [n for n in names if n not in app.scopes]
            if unknown:
                raise GrantError(400, "invalid_client", 650053,
                                 f"The application '{client_id}' asked for scope '{unknown[0]}' that doesn't "
                                 f"exist on the resource '{app.app_id}'. Contact the app vendor.")
            scp = tuple(dict.fromkeys(names))
        granted = " ".join([f"{resource}/{n}" for n in scp] + [s for s in oidc])
        return ScopeRequest(app, scp, oidc, granted)

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "apps": {a.app_id: {"identifier_uris": a.identifier_uris, "scopes": a.scopes,
                                    "user_roles": a.user_roles} for a in self._apps.values()},
                "public_clients": {c.client_id: {"redirect_uris": c.redirect_uris, "spa_redirect_uris": c.spa_redirect_uris}
                                   for c in self._public.values()},
            }


def as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)
