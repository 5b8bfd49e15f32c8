"""Pieces of the hostile-input suite (test_hostile_inputs.py): the filter
configuration it attacks, the expected answers written out in full, and token
builders for what a careful library would refuse to produce.

Every expectation compares the whole status, the whole challenge list and the
whole body, and checks that the request never reached the upstream (or, for
`Forwarded`, that it did, exactly as sent).
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from filter_config import filter_config, mcp_section
from http_client import HttpResponse
from issuer import Issuer
from issuer.keys import b64url
from issuer.tokens import json_segment
from jwt_support import INSUFFICIENT, MALFORMED_CREDENTIAL, ONE_TOKEN, Metrics, assert_challenged, assert_invalid_token, challenge, echoed

# A tenant with hex letters, so that changing its case changes the issuer and tid.
TENANT = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
SUBSCRIPTION_KEY = "hostile-suite-key-0123456789"
SUBSCRIPTION_HEADER = "Ocp-Apim-Subscription-Key"
MCP = mcp_section()
METADATA = MCP["resource_metadata_url"]
ROLE = "Calculator.Admin"

# What the attacked Envoy enforces: a public prefix next to protected ones (the
# traversal target), a stricter rule inside a protected prefix (a role only an
# exact path may skip), and a path where a subscription key is enough.
RULES = [
    {"path_prefix": "/health", "require": "none"},
    {"path_prefix": "/either", "require": "jwt_or_subscription_key"},
    {"path_prefix": "/mcp/admin", "require": "jwt", "required_roles": [ROLE]},
    {"path_prefix": "/mcp", "require": "jwt"},
]

APIM_REALM_CHALLENGE = ('AzureApiManagementKey realm="entra-guard", name="ocp-apim-subscription-key", '
                        'type="header"')
APIM_MISSING = ("Access denied due to missing subscription key. "
                "Make sure to include subscription key when making requests to an API.")
APIM_INVALID = ("Access denied due to invalid subscription key. "
                "Make sure to provide a valid key for an active subscription.")
ONE_KEY = "send exactly one subscription key"
AMBIGUOUS_PATH = "the request path is ambiguous"


def hostile_config(issuer: Issuer, **entra) -> dict:
    digest = hashlib.sha256(SUBSCRIPTION_KEY.encode()).hexdigest()
    return filter_config(
        issuer,
        # A refused kid waits at most 300 ms for a (rate-limited) re-fetch.
        entra={"kid_miss_refetch_seconds": 1, "key_wait_ms": 300, **entra},
        subscription_keys={"keys": [{"name": "hostile-suite", "sha256": digest}]},
        rules=RULES,
        mcp=MCP,
    )


# --- requests ------------------------------------------------------------------------

Header = tuple[str, str | bytes]


@dataclass(frozen=True)
class Req:
    """One HTTP/1.1 request: target and header lines as bytes on the wire."""

    target: str | bytes = "/mcp"
    headers: Sequence[Header] = ()


def bearer_req(token: str | bytes, target: str | bytes = "/mcp") -> Req:
    raw = token if isinstance(token, bytes) else token.encode("utf-8")
    return Req(target, [("Authorization", b"Bearer " + raw)])


# --- expected answers ----------------------------------------------------------------


class Expect:
    """What a hostile request must get; `check` raises AssertionError otherwise."""

    envoy_level = False  # answered by Envoy itself: the filter must not even count it

    def check(self, response: HttpResponse, sent: Req) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class InvalidToken(Expect):
    description: str

    def check(self, response, sent):
        assert_invalid_token(response, self.description, METADATA)


@dataclass(frozen=True)
class NoCredentials(Expect):
    def check(self, response, sent):
        assert_challenged(response, 401, challenge(resource_metadata=METADATA), "unauthorized",
                          "a bearer token is required")


@dataclass(frozen=True)
class OneToken(Expect):
    def check(self, response, sent):
        assert_challenged(response, 400, challenge("invalid_request", ONE_TOKEN, resource_metadata=METADATA),
                          "invalid_request", ONE_TOKEN)


@dataclass(frozen=True)
class MalformedCredential(Expect):
    """`Bearer` followed by anything but spaces and a `b64token` (RFC 6750 §2.1)."""

    def check(self, response, sent):
        assert_challenged(response, 400,
                          challenge("invalid_request", MALFORMED_CREDENTIAL, resource_metadata=METADATA),
                          "invalid_request", MALFORMED_CREDENTIAL)


@dataclass(frozen=True)
class Insufficient(Expect):
    def check(self, response, sent):
        assert_challenged(response, 403, challenge("insufficient_scope", INSUFFICIENT, resource_metadata=METADATA),
                          "insufficient_scope", INSUFFICIENT)


def _assert_local_json(response: HttpResponse, status: int, body: dict, challenges: list[str]) -> None:
    assert response.status == status, f"status {response.status}, expected {status}: {response}"
    assert response.header_values("www-authenticate") == challenges, response
    assert response.header("content-type") == "application/json", response
    assert response.json() == body, f"body {response.body!r}, expected {body}"
    assert response.header("x-envoy-upstream-service-time") is None, "reached the upstream"


@dataclass(frozen=True)
class BadRequest(Expect):
    """400 JSON `invalid_request` without a challenge (ambiguous path, two keys)."""

    description: str

    def check(self, response, sent):
        _assert_local_json(response, 400, {"error": "invalid_request", "error_description": self.description}, [])


@dataclass(frozen=True)
class KeyInvalid(Expect):
    def check(self, response, sent):
        _assert_local_json(response, 401, {"statusCode": 401, "message": APIM_INVALID}, [APIM_REALM_CHALLENGE])


@dataclass(frozen=True)
class KeyMissing(Expect):
    """Neither credential on a `jwt_or_subscription_key` path: both challenges."""

    def check(self, response, sent):
        _assert_local_json(response, 401, {"statusCode": 401, "message": APIM_MISSING},
                           [challenge(resource_metadata=METADATA), APIM_REALM_CHALLENGE])


@dataclass(frozen=True)
class Forwarded(Expect):
    """Accepted: the upstream saw the request, at `path` (default: as sent)."""

    path: str | None = None
    same_authorization: bool = False  # upstream's Authorization lines = the non-empty ones sent

    def check(self, response, sent):
        seen = echoed(response)
        target = sent.target.decode("latin-1") if isinstance(sent.target, bytes) else sent.target
        assert seen.path == (self.path or target), seen
        if self.same_authorization:
            values = [v.decode("latin-1") if isinstance(v, bytes) else v
                      for n, v in sent.headers if n.lower() == "authorization" and v]
            assert seen.header_values("authorization") == values, seen


@dataclass(frozen=True)
class EnvoyReply(Expect):
    """Envoy's own codec refuses the request before any filter runs."""

    status: int
    body: bytes
    envoy_level = True

    def check(self, response, sent):
        assert response.status == self.status, f"status {response.status}, expected {self.status}: {response}"
        assert response.body == self.body, response
        assert response.header_values("www-authenticate") == [], response
        assert response.header("x-envoy-upstream-service-time") is None, "reached the upstream"


def assert_filter_never_saw(metrics: Metrics, wait: float = 0.3) -> None:
    """No counter of the filter moved within a few flush ticks (100 ms each)."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        moved = metrics.delta()
        assert not moved, f"the filter counted a request Envoy should have refused: {moved}"
        time.sleep(0.05)


# --- token builders ------------------------------------------------------------------

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def parts(token: str) -> list[str]:
    return token.split(".")


def with_signature(token: str, signature: str) -> str:
    head, payload, _ = parts(token)
    return f"{head}.{payload}.{signature}"


def non_canonical_last_char(segment: str) -> str:
    """The same bytes with the unused low bits of the last character set: a second
    spelling of one signature that a lax base64 decoder would accept."""
    assert len(segment) % 4 in (2, 3), "a segment whose last character has unused bits"
    last = B64URL.index(segment[-1])
    return segment[:-1] + B64URL[last | 1]


def sign_raw(issuer: Issuer, header: bytes, payload: bytes, key: str = "signing") -> str:
    """A correctly signed RS256 token whose header and payload JSON are given byte for byte."""
    signer = issuer.keys.resolve(key)
    signing_input = f"{b64url(header)}.{b64url(payload)}"
    return f"{signing_input}.{b64url(signer.sign(signing_input.encode('ascii')))}"


def json_bytes(value) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def claims_with(issuer: Issuer, extra: bytes, **overrides) -> bytes:
    """The JSON of valid v2 claims with `extra` (raw JSON members) appended, so a test
    can repeat a member or write what json.dumps cannot (5000-deep arrays, 1e400)."""
    base = json_bytes(issuer.tokens.claims_v2(**overrides))
    return base[:-1] + b"," + extra + b"}"


def default_header(issuer: Issuer, **fields) -> dict:
    return {"typ": "JWT", "alg": "RS256", "kid": issuer.keys.signing.kid, **fields}


def token_of_length(issuer: Issuer, length: int) -> str:
    """A valid, signed token of exactly `length` bytes (a padding claim and, to reach
    lengths base64 cannot end on, a padding header field)."""
    claims = issuer.tokens.claims_v2()
    for header_pad in range(4):
        header = default_header(issuer, **({"xpad": "x" * header_pad} if header_pad else {}))
        fixed = len(json_segment(header)) + 2 + 342  # two dots, 256-byte signature
        base = len(json_segment({**claims, "xms_pad": ""}))
        for pad in range(max(0, (length - fixed - base) * 3 // 4 - 4), (length - fixed - base) * 3 // 4 + 4):
            body = {**claims, "xms_pad": "x" * pad}
            if fixed + len(json_segment(body)) == length:
                token = issuer.tokens.sign(body, header=header)
                assert len(token) == length
                return token
    raise AssertionError(f"no token of exactly {length} bytes")


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def random_segment(size: int) -> str:
    return b64url(os.urandom(size))


@dataclass(frozen=True)
class Case:
    """One row of the table: how to build the request, what it must get."""

    id: str
    make: Callable[[Issuer], Req]
    expect: Expect
    tags: frozenset[str] = field(default_factory=frozenset)
