"""Shared pieces of the JWT integration tests (tests/integration/test_jwt_*.py).

The expected challenges and bodies are written out here from
shared/spec/filter-contract.md and the filter's fixed descriptions, so a test
compares whole header values, never substrings.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

from envoy_harness import Envoy
from http_client import HttpResponse
from upstream.echo import EchoedRequest

METRIC_PREFIX = "wasmcustom.entra_guard."
BACKEND_LOG_LINES = {
    "host": "signature backend host (envoy verify_signature)",
    "rust": "signature backend rust (in the VM)",
}

# error_description of each rejection (src/token/error.rs) and its metric reason.
TOO_LARGE = ("the access token is too large", "malformed")
MALFORMED = ("the access token is malformed", "malformed")
ALG = ("the token algorithm is not allowed (RS256 required)", "malformed")
NO_KID = ("the token header has no key id (kid)", "malformed")
CRIT = ("the token header has unsupported critical parameters", "malformed")
GRAPH = ("the token has a nonce header and cannot be verified (is it a Microsoft Graph token?)", "malformed")
UNKNOWN_KEY = ("the token was signed with an unknown key", "signature")
BAD_SIGNATURE = ("the token signature is invalid", "signature")
NO_EXP = ("the token has no expiry (exp)", "expired")
EXPIRED = ("the token has expired", "expired")
NOT_YET = ("the token is not valid yet (nbf)", "expired")
ISSUER = ("the token issuer is not accepted", "issuer")
AUDIENCE = ("the token audience is not accepted", "audience")
TENANT = ("the token tenant is not allowed", "tenant")
CLIENT = ("the client application is not allowed", "client")
INSUFFICIENT = "the token lacks a scope, role or claim this operation requires"
ONE_TOKEN = "send exactly one bearer token"
MALFORMED_CREDENTIAL = "the bearer credential is malformed: send Bearer, a space and the token"


def bearer(token: str, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


def challenge(error: str | None = None, description: str | None = None, *,
              scope: str | None = None, resource_metadata: str | None = None) -> str:
    """The WWW-Authenticate value the contract prescribes (RFC 6750 + RFC 9728)."""
    params = []
    if error is not None:
        params += [f'error="{error}"', f'error_description="{description}"']
    if scope is not None:
        params.append(f'scope="{scope}"')
    if resource_metadata is not None:
        params.append(f'resource_metadata="{resource_metadata}"')
    return "Bearer " + ", ".join(params) if params else "Bearer"


def assert_challenged(response: HttpResponse, status: int, expected_challenge: str,
                      error: str, description: str) -> None:
    """A local denial: exact status, one exact challenge, the JSON body repeating it."""
    assert response.status == status, f"status {response.status}, expected {status}: {response}"
    challenges = response.header_values("www-authenticate")
    assert challenges == [expected_challenge], f"WWW-Authenticate {challenges}, expected [{expected_challenge!r}]"
    assert response.header("content-type") == "application/json", response
    body = {"error": error, "error_description": description}
    assert response.json() == body, f"body {response.body!r}, expected {body}"
    assert response.header("x-envoy-upstream-service-time") is None, "reached the upstream"


def assert_invalid_token(response: HttpResponse, description: str, resource_metadata: str | None = None) -> None:
    assert_challenged(response, 401, challenge("invalid_token", description, resource_metadata=resource_metadata),
                      "invalid_token", description)


def assert_no_credentials(response: HttpResponse, *, scope: str | None = None,
                          resource_metadata: str | None = None) -> None:
    assert_challenged(response, 401, challenge(scope=scope, resource_metadata=resource_metadata),
                      "unauthorized", "a bearer token is required")


def echoed(response: HttpResponse) -> EchoedRequest:
    """What the upstream received (the request must have been forwarded)."""
    assert response.status == 200, f"not forwarded: {response}"
    return EchoedRequest.parse(response.body)


class Metrics:
    """The filter's counters (`wasmcustom.entra_guard.*`), read as deltas from a snapshot.

    Each worker buffers its increments and flushes them on its 100 ms tick, so a
    request's counts show up shortly after its response: `expect` polls.
    """

    def __init__(self, envoy: Envoy, settle: bool = True):
        """`settle` first waits for counts of earlier requests to land (two reads a
        flush tick apart agree); a module whose every test ends with `expect`
        does not need it."""
        self.envoy = envoy
        self.base = self.read()
        while settle:
            time.sleep(0.12)
            now = self.read()
            settle, self.base = now != self.base, now

    def read(self) -> dict[str, int]:
        return {name[len(METRIC_PREFIX):]: value for name, value in self.envoy.stats(METRIC_PREFIX).items()}

    def delta(self, ignore: Iterable[str] = ()) -> dict[str, int]:
        """Counters that moved since the snapshot, and by how much (minus `ignore`d
        names and name prefixes ending in '.')."""
        now = self.read()
        skip = tuple(ignore)
        return {name: now[name] - self.base.get(name, 0) for name in now
                if now[name] != self.base.get(name, 0) and not name.startswith(skip)}

    def expect(self, expected: dict[str, int], ignore: Iterable[str] = (), timeout: float = 3.0) -> None:
        """Waits until exactly the `expected` counters moved by exactly these amounts.

        One request's increments are buffered by one worker and flushed together,
        so a counter that should not have moved shows up with the expected ones."""
        skip = tuple(ignore)
        deadline = time.monotonic() + timeout
        while (moved := self.delta(skip)) != expected and time.monotonic() < deadline:
            time.sleep(0.03)
        assert moved == expected, f"counters moved by {moved}, expected {expected}"


def concurrently(call: Callable[[int], HttpResponse], count: int, workers: int = 64) -> list[HttpResponse]:
    """`call(i)` for i in range(count) on `workers` threads; results in order."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(call, range(count)))


class KeepAlive:
    """Several requests on one connection: Envoy keeps a connection on one worker,
    so per-worker state (the token cache) is observable."""

    def __init__(self, port: int):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)

    def get(self, path: str, headers: dict[str, str] | None = None) -> HttpResponse:
        self.connection.request("GET", path, headers=headers or {})
        response = self.connection.getresponse()
        body = response.read()
        return HttpResponse(response.status, response.reason, response.getheaders(), body)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> KeepAlive:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def log_lines(envoy: Envoy, needle: str) -> list[str]:
    return [line for line in envoy.log_text().splitlines() if needle in line]


def compact_json(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def all_statuses(responses: Iterable[HttpResponse]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for response in responses:
        counts[response.status] = counts.get(response.status, 0) + 1
    return counts
