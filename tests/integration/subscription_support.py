"""Shared pieces of the subscription-key integration tests (test_subscription_*.py).

The expected bodies and challenges are written out here from the README
("HTTP behaviour", "Subscription keys") and APIM's messages, word for word, so a
test compares whole values, never substrings. Keys are plaintext only in the
tests; the filter configuration holds their SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import json

from http_client import HttpResponse
from jwt_support import echoed
from upstream.echo import EchoedRequest

# Two subscriptions; contoso has a primary and a secondary key (same name).
CONTOSO = "contoso-app"
FABRIKAM = "fabrikam.prod"  # the dot becomes `_` in its metric name
CONTOSO_PRIMARY = "test-primary-key-0001"
CONTOSO_SECONDARY = "test-secondary-key-0002"
# Visible ASCII that needs percent-encoding in a query (`+`, `&`, `=`, `%`).
FABRIKAM_KEY = "Fab+r1k&am=K%ey~!"
# The longest acceptable key: 256 visible ASCII characters.
LONGEST_KEY = ("L0ng-Key_" * 29)[:256]
LONGEST = "longest"
UNKNOWN_KEY = "test-unknown-key-0003"

MISSING_MESSAGE = ("Access denied due to missing subscription key. "
                   "Make sure to include subscription key when making requests to an API.")
INVALID_MESSAGE = ("Access denied due to invalid subscription key. "
                   "Make sure to provide a valid key for an active subscription.")
TWO_KEYS = "send exactly one subscription key"

DEFAULT_HEADER = "ocp-apim-subscription-key"
DEFAULT_NAME_HEADER = "x-apim-subscription-name"


def sha256_hex(key: str | bytes) -> str:
    return hashlib.sha256(key.encode("ascii") if isinstance(key, str) else key).hexdigest()


def key_entries() -> list[dict]:
    """The `keys` of a `subscription_keys` block (digests only)."""
    return [
        {"name": CONTOSO, "sha256": sha256_hex(CONTOSO_PRIMARY)},
        {"name": FABRIKAM, "sha256": sha256_hex(FABRIKAM_KEY)},
        {"name": CONTOSO, "sha256": sha256_hex(CONTOSO_SECONDARY)},
        {"name": LONGEST, "sha256": sha256_hex(LONGEST_KEY)},
    ]


def encode_all(value: str | bytes) -> str:
    """Every byte percent-encoded (`%74%65...`)."""
    data = value.encode("ascii") if isinstance(value, str) else value
    return "".join(f"%{b:02X}" for b in data)


def apim_challenge(header: str = DEFAULT_HEADER, realm: str = "entra-guard") -> str:
    return f'AzureApiManagementKey realm="{realm}", name="{header}", type="header"'


def apim_body(message: str) -> bytes:
    """APIM's body, byte for byte (`statusCode` first, compact JSON)."""
    return json.dumps({"statusCode": 401, "message": message}, separators=(",", ":")).encode()


def assert_not_forwarded(response: HttpResponse) -> None:
    assert response.header("x-envoy-upstream-service-time") is None, f"reached the upstream: {response}"


def assert_apim_denial(response: HttpResponse, message: str, challenges: list[str] | None = None) -> None:
    """The APIM 401: exact body and content type, exactly the expected challenges."""
    assert response.status == 401, f"status {response.status}, expected 401: {response}"
    assert response.header("content-type") == "application/json", response
    assert response.body == apim_body(message), f"body {response.body!r}"
    assert response.json() == {"statusCode": 401, "message": message}
    expected = challenges if challenges is not None else [apim_challenge()]
    assert response.header_values("www-authenticate") == expected, response
    assert_not_forwarded(response)


def assert_missing(response: HttpResponse, challenges: list[str] | None = None) -> None:
    assert_apim_denial(response, MISSING_MESSAGE, challenges)


def assert_invalid(response: HttpResponse, challenges: list[str] | None = None) -> None:
    assert_apim_denial(response, INVALID_MESSAGE, challenges)


def assert_two_keys(response: HttpResponse) -> None:
    """400 `invalid_request` (JSON), no challenge: one key must be sent, not two."""
    assert response.status == 400, f"status {response.status}, expected 400: {response}"
    assert response.header("content-type") == "application/json", response
    assert response.json() == {"error": "invalid_request", "error_description": TWO_KEYS}
    assert response.header_values("www-authenticate") == []
    assert_not_forwarded(response)


def forwarded(response: HttpResponse, *, path: str, name: str | None,
              name_header: str = DEFAULT_NAME_HEADER, key_header: str = DEFAULT_HEADER) -> EchoedRequest:
    """The request reached the upstream at exactly `path`, without the key header,
    with exactly one `name_header` carrying `name` (none when `name` is None)."""
    seen = echoed(response)
    assert seen.path == path, f"upstream saw {seen.path!r}, expected {path!r}"
    assert seen.header_values(key_header) == [], f"key header forwarded: {seen.headers}"
    assert seen.header_values(name_header) == ([] if name is None else [name]), seen.headers
    return seen
