"""Valid Entra tokens are forwarded: v2 and v1, every audience form, claims turned
into headers, client-sent copies of those headers removed. Runs once per
signature backend (Envoy's verify_signature and the pure-Rust fallback)."""

from __future__ import annotations

import re
import time

import pytest
from filter_config import filter_config
from issuer import DEFAULT_API_APP_ID, DEFAULT_API_URI, DEFAULT_CLIENT_ID, REMOVE
from issuer.tokens import service_principal_oid
from jwt_support import BACKEND_LOG_LINES, assert_no_credentials, bearer, echoed, log_lines

CLAIM_HEADERS = {
    "oid": "x-entra-oid",
    "tid": "x-entra-tid",
    "azp": "x-entra-client-id",
    "appid": "x-entra-app-id",
    "roles": "x-entra-roles",
}
SPOOFED = [(name, "spoofed") for name in CLAIM_HEADERS.values()] + [("X-Entra-Oid", "spoofed-again")]
OID = service_principal_oid(DEFAULT_CLIENT_ID)


@pytest.fixture(scope="module", params=["host", "rust"])
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def envoy(module_envoy_factory, module_issuer, backend):
    config = filter_config(
        module_issuer,
        entra={"signature_backend": backend},
        rules=[{"path_prefix": "/public", "require": "none"}],
        claims_to_headers=CLAIM_HEADERS,
    )
    return module_envoy_factory(config)


@pytest.fixture
def issuer(module_issuer):
    return module_issuer


def test_the_configured_backend_verifies(envoy, backend):
    other = next(line for name, line in BACKEND_LOG_LINES.items() if name != backend)
    envoy.wait_for_log(re.escape(BACKEND_LOG_LINES[backend]))
    assert not log_lines(envoy, other)


def test_v2_token_is_forwarded_with_claim_headers(envoy, issuer):
    token = issuer.tokens.v2(roles=["Calculator.Add", "Calculator.Read"])
    seen = echoed(envoy.get("/api/add", bearer(token)))
    assert seen.header_values("authorization") == [f"Bearer {token}"]
    assert seen.header_values("x-entra-oid") == [OID]
    assert seen.header_values("x-entra-tid") == [issuer.tenant_id]
    assert seen.header_values("x-entra-client-id") == [DEFAULT_CLIENT_ID]
    assert seen.header_values("x-entra-roles") == ["Calculator.Add,Calculator.Read"]
    assert not seen.has_header("x-entra-app-id")  # v2 tokens carry azp, not appid


def test_v1_token_is_forwarded_with_claim_headers(envoy, issuer):
    token = issuer.tokens.v1(aud=DEFAULT_API_URI)
    seen = echoed(envoy.get("/api/add", bearer(token)))
    assert seen.header_values("authorization") == [f"Bearer {token}"]
    assert seen.header_values("x-entra-app-id") == [DEFAULT_CLIENT_ID]
    assert seen.header_values("x-entra-tid") == [issuer.tenant_id]
    assert not seen.has_header("x-entra-client-id")  # v1 tokens carry appid, not azp
    assert not seen.has_header("x-entra-roles")


@pytest.mark.parametrize("aud", [
    pytest.param(DEFAULT_API_APP_ID, id="guid"),
    pytest.param(DEFAULT_API_URI, id="api-uri"),
    pytest.param(["https://graph.microsoft.com", DEFAULT_API_APP_ID], id="array-guid"),
    pytest.param([DEFAULT_API_URI], id="array-api-uri"),
])
@pytest.mark.parametrize("version", [1, 2])
def test_audience_string_or_array(envoy, issuer, aud, version):
    mint = issuer.tokens.v1 if version == 1 else issuer.tokens.v2
    assert envoy.get("/", bearer(mint(aud=aud))).status == 200


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
def test_scheme_is_case_insensitive(envoy, issuer, scheme):
    token = issuer.tokens.v2()
    seen = echoed(envoy.get("/", bearer(token, scheme)))
    assert seen.header_values("authorization") == [f"{scheme} {token}"]  # passed through unchanged


def test_time_claims_within_the_clock_skew_are_accepted(envoy, issuer):
    now = int(time.time())
    # Default skew: 300 s. Expired a minute ago / valid from a minute from now.
    assert envoy.get("/", bearer(issuer.tokens.v2(now=now - 3660))).status == 200
    assert envoy.get("/", bearer(issuer.tokens.v2(nbf=now + 60))).status == 200
    assert envoy.get("/", bearer(issuer.tokens.v2(nbf=REMOVE))).status == 200


def test_client_copies_of_claim_headers_are_replaced(envoy, issuer):
    token = issuer.tokens.v2()
    seen = echoed(envoy.get("/api", [*SPOOFED, ("Authorization", f"Bearer {token}")]))
    assert seen.header_values("x-entra-oid") == [OID]
    assert seen.header_values("x-entra-tid") == [issuer.tenant_id]
    assert seen.header_values("x-entra-client-id") == [DEFAULT_CLIENT_ID]
    # Claims the token lacks: the client's copies are gone, nothing replaces them.
    assert not seen.has_header("x-entra-app-id")
    assert not seen.has_header("x-entra-roles")


def test_client_copies_are_removed_on_public_paths(envoy, issuer):
    for headers in (SPOOFED, [*SPOOFED, ("Authorization", f"Bearer {issuer.tokens.v2()}")]):
        seen = echoed(envoy.get("/public/status", headers))
        for name in CLAIM_HEADERS.values():
            assert not seen.has_header(name), seen.headers


def test_no_credentials_without_mcp_is_a_plain_bearer_challenge(envoy):
    assert_no_credentials(envoy.get("/api"))
    assert_no_credentials(envoy.get("/api", {"Authorization": "Basic dXNlcjpwYXNz"}))
