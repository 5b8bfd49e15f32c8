"""An Entra ID simulator: OIDC discovery, JWKS, client-credentials tokens, faults, and the
user sign-in flow (authorization code + PKCE S256, a test user who consents, refresh
tokens) of registered public clients for registered API apps.

Its base URL plays the Entra authority (`http://127.0.0.1:PORT` instead of
`https://login.microsoftonline.com`). In tests::

    with Issuer() as issuer:                      # port 0: a free port
        token = issuer.tokens.v2(roles=["Calculator.Add"])
        issuer.set_fault("jwks", "status", status=503, count=2)
        issuer.wait_for_count("jwks", 3)

As a process (demo scripts, benchmarks)::

    python tests/issuer/issuer.py --port 9000 --tenant <tid> [--seed demo]

The same controls are then reachable under `/_admin/` (see admin.py).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the package, not this file
    sys.path[0] = str(Path(__file__).resolve().parents[1])
    __package__ = "issuer"  # noqa: A001 - makes the relative imports below work

from . import documents
from .apps import ApiApp, PublicClient, Registry, as_list
from .authorize import SIGN_IN_MODES
from .constants import (
    DEFAULT_API_APP_ID,
    DEFAULT_API_SCOPES,
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_ROLES,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_PUBLIC_CLIENT_ID,
    DEFAULT_REDIRECT_URIS,
    DEFAULT_TENANT,
    MULTI_TENANT_ALIASES,
    TOKEN_LIFETIME_SECONDS,
)
from .counters import Counters, RequestRecord
from .faults import Fault, FaultBoard
from .handler import IssuerHandler
from .keys import KeyPair, KeyRing, key_pool
from .token_endpoint import Client, Directory
from .tokens import TokenMinter
from .user_grants import Grants
from support.background import BackgroundServer  # noqa: E402 - `tests/` is on sys.path


class Issuer:
    """The simulator; every control is a method here and an endpoint under `/_admin/`."""

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        tenants: Sequence[str] = (DEFAULT_TENANT,),
        seed: str | None = None,
        clients: Iterable[Client] | None = None,
        lifetime: int = TOKEN_LIFETIME_SECONDS,
        clock: Callable[[], float] = time.time,
        verbose: bool = False,
        sign_in: str = "page",
    ):
        if not tenants:
            raise ValueError("at least one tenant")
        self.tenants = list(tenants)
        self.keys = KeyRing(key_pool(seed))
        self.directory = Directory()
        for client in clients if clients is not None else [_default_client()]:
            self.directory.register(client)
        self.registry = Registry()
        self.registry.register_api(ApiApp(DEFAULT_API_APP_ID, scopes=list(DEFAULT_API_SCOPES)))
        self.registry.register_public_client(PublicClient(DEFAULT_PUBLIC_CLIENT_ID, list(DEFAULT_REDIRECT_URIS)))
        self.grants = Grants(clock)
        self.sign_in = "page"
        self.set_sign_in(sign_in)
        self.fault_board = FaultBoard()
        self.request_counters = Counters()
        self.lifetime = lifetime
        self.clock = clock
        self.verbose = verbose
        self._server = BackgroundServer(IssuerHandler, app=self, host=host, port=port)

    # --- lifecycle ----------------------------------------------------------------

    def start(self) -> Issuer:
        self._server.start()
        return self

    def stop(self) -> None:
        """Stop answering: the port is closed and pooled connections are cut."""
        self.fault_board.clear()  # releases requests held by a `timeout` fault
        self._server.stop()

    def __enter__(self) -> Issuer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def base_url(self) -> str:
        """The authority: what the filter config names as `entra.authority`."""
        return self._server.base_url

    authority = base_url

    @property
    def tenant_id(self) -> str:
        return self.tenants[0]

    def knows_tenant(self, tenant: str, for_tokens: bool = False) -> bool:
        """Served tenants; `common`/`organizations` only for documents, not tokens."""
        return tenant in self.tenants or (not for_tokens and tenant in MULTI_TENANT_ALIASES)

    def add_tenant(self, tenant: str) -> None:
        if tenant not in self.tenants:
            self.tenants.append(tenant)

    # --- URLs and documents ---------------------------------------------------------

    def discovery_url(self, tenant: str | None = None, version: int = 2) -> str:
        middle = "/v2.0" if version == 2 else ""
        return f"{self.base_url}/{tenant or self.tenant_id}{middle}/.well-known/openid-configuration"

    def jwks_url(self, tenant: str | None = None, version: int = 2) -> str:
        middle = "/v2.0" if version == 2 else ""
        return f"{self.base_url}/{tenant or self.tenant_id}/discovery{middle}/keys"

    def token_url(self, tenant: str | None = None) -> str:
        return f"{self.base_url}/{tenant or self.tenant_id}/oauth2/v2.0/token"

    def authorize_url(self, tenant: str | None = None) -> str:
        return f"{self.base_url}/{tenant or self.tenant_id}/oauth2/v2.0/authorize"

    def issuer_v2(self, tenant: str | None = None) -> str:
        return documents.v2_issuer(self.base_url, tenant or self.tenant_id)

    def issuer_v1(self, tenant: str | None = None) -> str:
        return documents.v1_issuer(tenant or self.tenant_id)

    def jwks(self, tenant: str | None = None) -> dict:
        """The key set as served right now (without faults)."""
        return documents.jwks(self.base_url, tenant or self.tenant_id, self.keys.published())

    # --- tokens ---------------------------------------------------------------------

    def minter(self, tenant: str | None = None, **defaults) -> TokenMinter:
        """A minter for this authority and key ring; `defaults` as in `TokenMinter`."""
        defaults.setdefault("lifetime", self.lifetime)
        defaults.setdefault("clock", self.clock)
        return TokenMinter(self.base_url, tenant or self.tenant_id, self.keys, **defaults)

    @property
    def tokens(self) -> TokenMinter:
        """The default minter (default tenant, API and client)."""
        return self.minter()

    def register_client(self, client_id: str, secret: str, roles=()) -> Client:
        client = Client(client_id, secret, roles if isinstance(roles, dict) else list(roles))
        self.directory.register(client)
        return client

    def register_api(self, app_id: str, identifier_uris: str | Sequence[str] | None = None,
                     scopes: Sequence[str] = (), user_roles: Sequence[str] = ()) -> ApiApp:
        """Register (or replace) an API app: its identifier URIs (`api://<app-id>` when
        none; the 2026 way adds the MCP server's HTTPS URL), delegated scopes, and the app
        roles assigned to the test user."""
        return self.registry.register_api(ApiApp(app_id, as_list(identifier_uris), list(scopes), list(user_roles)))

    def api(self, app_id: str = DEFAULT_API_APP_ID) -> ApiApp | None:
        return self.registry.app(app_id)

    def register_public_client(self, client_id: str, redirect_uris: str | Sequence[str],
                               name: str = "MCP client (test)",
                               spa_redirect_uris: str | Sequence[str] = ()) -> PublicClient:
        """A public client for the user sign-in flow; a loopback redirect URI without a
        port (`http://127.0.0.1/callback`) matches any port. `spa_redirect_uris`: the
        "Single-page application" platform's, the only ones a browser may redeem a code
        for cross-origin (a browser-based client such as the MCP Inspector)."""
        return self.registry.register_public_client(
            PublicClient(client_id, as_list(redirect_uris), name, as_list(spa_redirect_uris)))

    def set_sign_in(self, mode: str) -> None:
        """`page`: the authorize endpoint shows a consent page (one click on Accept);
        `auto`: it redirects with a code at once (HTTP clients without a browser)."""
        if mode not in SIGN_IN_MODES:
            raise ValueError(f"sign-in mode must be one of {', '.join(SIGN_IN_MODES)}")
        self.sign_in = mode

    def set_token_version(self, app_id: str, version: int) -> None:
        """Make the token endpoint issue v1 or v2 tokens for the API `app_id`."""
        self.directory.set_token_version(app_id, version)

    # --- keys -----------------------------------------------------------------------

    def rotate_keys(self, keep_old: bool = True, switch_signing: bool = True) -> KeyPair:
        """Publish a new key. `keep_old=False` unpublishes the old ones at once;
        `switch_signing=False` publishes ahead of use, as Entra does."""
        return self.keys.rotate(keep_old=keep_old, switch_signing=switch_signing)

    def retire_key(self, kid: str) -> KeyPair:
        return self.keys.retire(kid)

    def sign_with(self, kid: str) -> KeyPair:
        return self.keys.use_for_signing(kid)

    # --- faults ---------------------------------------------------------------------

    def set_fault(self, target: str, mode: str, **params) -> None:
        """Fault `target` (`discovery`, `jwks`, `token` or `all`); see faults.MODES.

        Parameters: status, delay, size, location, body, content_type, and count
        (only the next `count` requests, then the fault clears itself).
        """
        self.fault_board.set(target, Fault(mode, **params))

    def clear_faults(self, target: str | None = None) -> None:
        self.fault_board.clear(target)

    def faults(self) -> dict:
        return self.fault_board.snapshot()

    # --- counters -------------------------------------------------------------------

    def counters(self) -> dict:
        """{"paths": {path: n}, "kinds": {"discovery"|"jwks"|"token"|"other": n}}."""
        return self.request_counters.snapshot()

    def count(self, key: str) -> int:
        """Requests of a kind (`"jwks"`) or to a path (starting with `/`)."""
        return self.request_counters.count(key)

    def wait_for_count(self, key: str, at_least: int, timeout: float = 10.0) -> int:
        """Wait (without polling) until `count(key) >= at_least`; returns the count,
        which is below `at_least` on timeout so the caller's assert shows it."""
        return self.request_counters.wait_for(key, at_least, timeout)

    def reset_counters(self) -> None:
        self.request_counters.reset()

    def requests(self, kind: str | None = None) -> list[RequestRecord]:
        """The last requests (method, path, kind, headers), oldest first."""
        return self.request_counters.recent(kind)

    def state(self) -> dict:
        return {
            "base_url": self.base_url,
            "tenants": list(self.tenants),
            "keys": self.keys.snapshot(),
            "faults": self.faults(),
            "directory": self.directory.snapshot(),
            "registry": self.registry.snapshot(),
            "grants": self.grants.snapshot(),
            "sign_in": self.sign_in,
            "counters": self.counters(),
        }


def _default_client() -> Client:
    return Client(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, list(DEFAULT_CLIENT_ROLES))


def _split_api(rest: str) -> tuple[list[str], list[str]]:
    """`URI[,URI]:SCOPE[,SCOPE]` where the URIs contain colons themselves: the scopes are
    after the last colon."""
    uris, _, scopes = rest.rpartition(":")
    return [u for u in uris.split(",") if u], [s for s in scopes.split(",") if s]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Entra ID simulator for entra-guard tests and demos.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed at start)")
    parser.add_argument("--tenant", action="extend", nargs="+", help="tenant id(s) to serve; the first is the default")
    parser.add_argument("--seed", help="derive keys from this seed (same keys in every run)")
    parser.add_argument("--client", action="append", default=[], metavar="ID:SECRET[:ROLE,ROLE]",
                        help="register a confidential client (repeatable; a default one always exists)")
    parser.add_argument("--api", action="append", default=[], metavar="APP_ID:URI[,URI]:SCOPE[,SCOPE]",
                        help="register an API app with identifier URIs and delegated scopes (repeatable)")
    parser.add_argument("--public-client", action="append", default=[], metavar="ID=REDIRECT[,REDIRECT]",
                        help="register a public client with redirect URIs (repeatable; a default one exists)")
    parser.add_argument("--sign-in", choices=SIGN_IN_MODES, default="page",
                        help="page: consent page with an Accept button; auto: redirect with a code at once")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)

    issuer = Issuer(port=args.port, host=args.host, tenants=args.tenant or [DEFAULT_TENANT],
                    seed=args.seed, verbose=args.verbose, sign_in=args.sign_in)
    for spec in args.client:
        client_id, secret, roles = (spec.split(":", 2) + [""])[:3]
        issuer.register_client(client_id, secret, [r for r in roles.split(",") if r])
    for spec in args.api:
        app_id, uris, scopes = (spec.split(":", 1)[0], *_split_api(spec.split(":", 1)[1] if ":" in spec else ""))
        issuer.register_api(app_id, uris or None, scopes)
    for spec in args.public_client:
        client_id, _, redirects = spec.partition("=")
        issuer.register_public_client(client_id, [r for r in redirects.split(",") if r])
    issuer.start()
    print(f"entra simulator on {issuer.base_url} tenants={','.join(issuer.tenants)} "
          f"signing kid={issuer.keys.signing.kid}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        issuer.stop()


if __name__ == "__main__":
    main()
