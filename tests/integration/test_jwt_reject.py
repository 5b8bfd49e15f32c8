"""Every way a bearer token can be wrong: 401 invalid_token with the exact
description (and the matching denied.<reason> counter), 400 invalid_request for
two credentials, a bare challenge without credentials. Runs once per signature
backend. The filter has an `mcp` block, so challenges carry resource_metadata."""

from __future__ import annotations

import os
import time
import uuid

import pytest
from filter_config import filter_config, mcp_section
from issuer import DEFAULT_API_APP_ID, DEFAULT_CLIENT_ID, REMOVE
from issuer.tokens import forge_alg_none, forge_hmac_with_public_key, with_claims, with_garbage_signature
from jwt_support import (
    ALG, AUDIENCE, BAD_SIGNATURE, CLIENT, CRIT, EXPIRED, GRAPH, ISSUER, MALFORMED, MALFORMED_CREDENTIAL, NO_EXP,
    NO_KID, NOT_YET, METRIC_PREFIX, ONE_TOKEN, TENANT, TOO_LARGE, UNKNOWN_KEY, Metrics, assert_challenged,
    assert_invalid_token,
    assert_no_credentials, bearer, challenge, compact_json,
)

MCP = mcp_section()
METADATA = MCP["resource_metadata_url"]
OTHER_TENANT = "99999999-8888-7777-6666-555555555555"
OTHER_CLIENT = "c2c2c2c2-0000-4000-8000-000000000002"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"


@pytest.fixture(scope="module", params=["host", "rust"])
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def envoy(backend, module_envoy_factory, module_issuer):
    config = filter_config(
        module_issuer,
        entra={
            "signature_backend": backend,
            "client_application_ids": [DEFAULT_CLIENT_ID],
            "kid_miss_refetch_seconds": 1,
        },
        mcp=MCP,
    )
    envoy = module_envoy_factory(config)
    assert envoy.get("/", bearer(module_issuer.tokens.v2())).status == 200  # keys are in
    envoy.wait_for_stat(f"{METRIC_PREFIX}allowed", lambda n: n == 1)  # counted: tests compare deltas
    return envoy


@pytest.fixture
def metrics(envoy, backend):
    """Counter deltas, checked with the host backend only (counting does not depend
    on the backend; each check waits for a flush tick). Every test of this module
    ends with `metrics.expect`, so the next one starts from settled counters."""
    return Metrics(envoy, settle=False) if backend == "host" else _NoMetrics()


class _NoMetrics:
    def expect(self, *args, **kwargs) -> None:
        pass


def _now() -> int:
    return int(time.time())


def _duplicate_aud(i) -> str:
    claims = compact_json(i.tokens.claims_v2())[:-1] + b',"aud":"api://evil"}'
    return i.tokens.sign(claims)


CASES = [
    # signature and key
    ("garbage-signature", lambda i: with_garbage_signature(i.tokens.v2()), BAD_SIGNATURE),
    ("tampered-claims", lambda i: with_claims(i.tokens.v2(), roles=["Calculator.Admin"]), BAD_SIGNATURE),
    ("other-key-published-kid", lambda i: i.tokens.v2(key="unpublished", header={"kid": i.keys.signing.kid}),
     BAD_SIGNATURE),
    ("unknown-kid", lambda i: i.tokens.v2(key="unpublished"), UNKNOWN_KEY),
    ("retired-key", lambda i: i.tokens.v2(key="retired"), UNKNOWN_KEY),
    # algorithm and header
    ("alg-none", lambda i: forge_alg_none(i.tokens.claims_v2(), header={"kid": i.keys.signing.kid}), ALG),
    ("alg-none-with-signature", lambda i: forge_alg_none(i.tokens.claims_v2(), {"kid": i.keys.signing.kid}, "AAAA"),
     ALG),
    ("hs256-public-key-pem", lambda i: forge_hmac_with_public_key(i.tokens.claims_v2(), i.keys.signing), ALG),
    ("hs256-public-key-jwk", lambda i: forge_hmac_with_public_key(i.tokens.claims_v2(), i.keys.signing,
                                                                  key_form="jwk"), ALG),
    ("rs384", lambda i: i.tokens.v2(header={"alg": "RS384"}), ALG),
    ("ps256", lambda i: i.tokens.v2(header={"alg": "PS256"}), ALG),
    ("missing-kid", lambda i: i.tokens.v2(header={"kid": REMOVE}), NO_KID),
    ("crit-header", lambda i: i.tokens.v2(header={"crit": ["exp"]}), CRIT),
    ("nonce-header-graph-token", lambda i: i.tokens.v2(aud=GRAPH_APP_ID, header={"nonce": "c2lnbmVkIGJ5IGdyYXBo"}),
     GRAPH),
    # structure
    ("not-a-jwt", lambda i: "not-a-jwt", MALFORMED),
    ("five-parts", lambda i: i.tokens.v2() + ".AAAA.AAAA", MALFORMED),
    ("two-parts", lambda i: i.tokens.v2().rsplit(".", 1)[0], MALFORMED),
    ("base64-garbage", lambda i: "e30.e30.~~~", MALFORMED),  # b64token, not base64url
    ("claims-not-json", lambda i: i.tokens.sign(b"not json"), MALFORMED),
    ("duplicate-aud-claim", _duplicate_aud, MALFORMED),
    ("exp-as-string", lambda i: i.tokens.v2(exp=str(_now() + 3600)), MALFORMED),
    ("too-large", lambda i: i.tokens.v2(claims={"xms_pad": "x" * 17000}), TOO_LARGE),
    # lifetime (default skew 300 s)
    ("expired-beyond-skew", lambda i: i.tokens.v2(now=_now() - 3600 - 301 - 5), EXPIRED),
    ("nbf-beyond-skew", lambda i: i.tokens.v2(nbf=_now() + 301 + 5), NOT_YET),
    ("missing-exp", lambda i: i.tokens.v2(exp=REMOVE), NO_EXP),
    # issuer and tenant
    ("issuer-of-real-entra", lambda i: i.tokens.v2(iss=f"https://login.microsoftonline.com/{i.tenant_id}/v2.0"),
     ISSUER),
    ("issuer-version-upper-case", lambda i: i.tokens.v2(iss=i.issuer_v2().replace("/v2.0", "/V2.0")), ISSUER),
    ("issuer-scheme-upper-case", lambda i: i.tokens.v2(iss=i.issuer_v2().replace("http://", "HTTP://")), ISSUER),
    ("v1-issuer-host-upper-case", lambda i: i.tokens.v1(iss=f"https://STS.windows.net/{i.tenant_id}/"), ISSUER),
    ("issuer-without-version", lambda i: i.tokens.v2(iss=f"{i.base_url}/{i.tenant_id}"), ISSUER),
    ("v1-issuer-without-slash", lambda i: i.tokens.v1(iss=f"https://sts.windows.net/{i.tenant_id}"), ISSUER),
    ("issuer-of-other-tenant", lambda i: i.tokens.v2(iss=i.issuer_v2(OTHER_TENANT)), ISSUER),
    ("missing-issuer", lambda i: i.tokens.v2(iss=REMOVE), ISSUER),
    ("other-tenant-v2", lambda i: i.tokens.v2(tenant=OTHER_TENANT), TENANT),
    ("other-tenant-v1", lambda i: i.tokens.v1(tenant=OTHER_TENANT), TENANT),
    # audience
    ("other-audience", lambda i: i.tokens.v2(aud="api://someone-else"), AUDIENCE),
    ("audience-array-without-match", lambda i: i.tokens.v2(aud=["api://a", "b"]), AUDIENCE),
    ("audience-case-differs", lambda i: i.tokens.v2(aud=DEFAULT_API_APP_ID.upper()), AUDIENCE),
    ("missing-audience", lambda i: i.tokens.v2(aud=REMOVE), AUDIENCE),
    ("graph-audience", lambda i: i.tokens.v2(aud=GRAPH_APP_ID), AUDIENCE),
    # client application allowlist
    ("other-client-v2", lambda i: i.tokens.v2(azp=OTHER_CLIENT), CLIENT),
    ("other-client-v1", lambda i: i.tokens.v1(appid=OTHER_CLIENT), CLIENT),
    ("no-client-claim", lambda i: i.tokens.v2(azp=REMOVE), CLIENT),
]


@pytest.mark.parametrize(("make", "expected"), [pytest.param(make, expected, id=name) for name, make, expected in CASES])
def test_invalid_token(envoy, module_issuer, metrics, make, expected):
    description, reason = expected
    response = envoy.get("/api", bearer(make(module_issuer)))
    assert_invalid_token(response, description, METADATA)
    # Only an unknown kid may wait for (and cause) a key fetch.
    key_activity = ("jwks_fetch.", "requests_waited_for_keys") if expected == UNKNOWN_KEY else ()
    metrics.expect({"denied": 1, f"denied.{reason}": 1}, ignore=key_activity)


def test_a_forged_token_stays_refused_when_repeated(envoy, module_issuer, metrics, backend):
    """No negative result is cached into a positive one, on either worker; each
    worker verifies the forged token once and answers its repeats from its cache
    of rejected tokens, with the same reply."""
    token = with_garbage_signature(module_issuer.tokens.v2())
    for _ in range(4):
        assert_invalid_token(envoy.get("/api", bearer(token)), BAD_SIGNATURE[0], METADATA)
    metrics.expect({"denied": 4, "denied.signature": 4}, ignore=("token_cache.rejected_hit",))
    if backend == "host":  # counters are checked with one backend (see `metrics`)
        workers = int(os.environ.get("ENVOY_CONCURRENCY", "2"))
        hits = metrics.delta().get("token_cache.rejected_hit", 0)
        assert max(0, 4 - workers) <= hits <= 3, hits


@pytest.mark.parametrize("headers", [
    pytest.param("two-lines", id="two-authorization-lines"),
    pytest.param([("Authorization", "Bearer a, Bearer b")], id="two-tokens-one-line"),
    pytest.param([("Authorization", "Bearer a b")], id="token-with-space"),
    pytest.param("basic-then-bearer", id="basic-and-bearer-lines"),
])
def test_more_than_one_credential_is_invalid_request(envoy, module_issuer, metrics, headers):
    token = module_issuer.tokens.v2()
    if headers == "two-lines":  # both valid: still refused, never "the first one wins"
        headers = [("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")]
    elif headers == "basic-then-bearer":
        headers = [("Authorization", "Basic dXNlcjpwYXNz"), ("Authorization", f"Bearer {token}")]
    response = envoy.get("/api", headers)
    assert_challenged(response, 400, challenge("invalid_request", ONE_TOKEN, resource_metadata=METADATA),
                      "invalid_request", ONE_TOKEN)
    metrics.expect({"denied": 1, "denied.invalid_request": 1})


@pytest.mark.parametrize("headers", [
    pytest.param({}, id="no-authorization"),
    pytest.param({"Authorization": "Basic dXNlcjpwYXNz"}, id="basic-scheme"),
    pytest.param({"Authorization": "Bearertoken"}, id="no-space-after-scheme"),
])
def test_no_bearer_credentials_get_a_bare_challenge(envoy, metrics, headers):
    assert_no_credentials(envoy.get("/api", headers), resource_metadata=METADATA)
    metrics.expect({"denied": 1, "denied.missing": 1})


def test_empty_bearer_is_malformed(envoy, metrics):
    assert_invalid_token(envoy.get("/api", {"Authorization": "Bearer "}), MALFORMED[0], METADATA)
    metrics.expect({"denied": 1, "denied.malformed": 1})


def test_non_utf8_token_is_a_malformed_credential(envoy, metrics):
    response = envoy.get("/api", [("Authorization", b"Bearer e30.\xff\xfe.e30")])
    assert_challenged(response, 400, challenge("invalid_request", MALFORMED_CREDENTIAL, resource_metadata=METADATA),
                      "invalid_request", MALFORMED_CREDENTIAL)
    metrics.expect({"denied": 1, "denied.invalid_request": 1})


def test_unknown_tenant_token_signed_by_the_right_key_is_still_refused(envoy, module_issuer, metrics):
    """A tenant the filter does not serve, signed by a key it trusts (Entra's keys
    are shared by all tenants): the tid decides, not the signature."""
    token = module_issuer.tokens.v2(tenant=str(uuid.UUID(int=1)))
    assert_invalid_token(envoy.get("/api", bearer(token)), TENANT[0], METADATA)
    metrics.expect({"denied": 1, "denied.tenant": 1})
