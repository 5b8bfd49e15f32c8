"""The Entra simulator behaves like Entra where the filter and the tests rely on it.

Tokens are checked with pyjwt against the published JWKS: an independent verifier
proves the simulator's keys, documents and minting agree before any filter test
trusts them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time

import jwt
import pytest
import requests
from cryptography import x509
from issuer import DEFAULT_API_APP_ID, DEFAULT_API_URI, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, REMOVE, Issuer
from issuer.keys import KeyPool
from issuer.tokens import (
    decode_unverified,
    forge_alg_none,
    forge_hmac_with_public_key,
    with_claims,
    with_garbage_signature,
)

SCOPE = f"{DEFAULT_API_URI}/.default"


def verify(issuer: Issuer, token: str, issuer_claim: str | None = None, audience: str = DEFAULT_API_APP_ID) -> dict:
    """pyjwt's verdict with the JWKS the simulator publishes right now."""
    keys = requests.get(issuer.jwks_url(), timeout=5).json()["keys"]
    kid = jwt.get_unverified_header(token).get("kid")
    matching = [k for k in keys if k["kid"] == kid]
    if not matching:
        raise jwt.InvalidTokenError(f"kid {kid!r} not published")
    return jwt.decode(token, jwt.PyJWK(matching[0]).key, algorithms=["RS256"], audience=audience,
                      issuer=issuer_claim or issuer.issuer_v2())


def client_credentials(issuer: Issuer, **form) -> requests.Response:
    data = {"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET, "scope": SCOPE, **form}
    return requests.post(issuer.token_url(), data={k: v for k, v in data.items() if v is not None}, timeout=5)


# --- documents ------------------------------------------------------------------------


def test_v2_discovery_names_the_tenant_issuer_and_jwks(issuer):
    doc = requests.get(issuer.discovery_url(), timeout=5).json()
    tid = issuer.tenant_id
    assert doc["issuer"] == f"{issuer.base_url}/{tid}/v2.0"
    assert doc["jwks_uri"] == f"{issuer.base_url}/{tid}/discovery/v2.0/keys"
    assert doc["token_endpoint"] == f"{issuer.base_url}/{tid}/oauth2/v2.0/token"
    assert doc["authorization_endpoint"] == f"{issuer.base_url}/{tid}/oauth2/v2.0/authorize"


def test_v1_discovery_uses_sts_issuer(issuer):
    doc = requests.get(issuer.discovery_url(version=1), timeout=5).json()
    assert doc["issuer"] == f"https://sts.windows.net/{issuer.tenant_id}/"
    assert doc["jwks_uri"] == f"{issuer.base_url}/{issuer.tenant_id}/discovery/keys"


@pytest.mark.parametrize("alias", ["common", "organizations"])
def test_multi_tenant_documents_publish_the_tenantid_template(issuer, alias):
    doc = requests.get(f"{issuer.base_url}/{alias}/v2.0/.well-known/openid-configuration", timeout=5).json()
    assert doc["issuer"] == f"{issuer.base_url}/{{tenantid}}/v2.0"
    assert doc["jwks_uri"] == f"{issuer.base_url}/{alias}/discovery/v2.0/keys"
    keys = requests.get(doc["jwks_uri"], timeout=5).json()["keys"]
    assert {k["issuer"] for k in keys} == {f"{issuer.base_url}/{{tenantid}}/v2.0"}


def test_unknown_tenant_is_answered_like_entra(issuer):
    response = requests.get(issuer.discovery_url("99999999-0000-0000-0000-000000000000"), timeout=5)
    assert response.status_code == 400
    assert response.json()["error_description"].startswith("AADSTS90002:")


def test_jwks_entries_are_shaped_like_entras(issuer):
    keys = requests.get(issuer.jwks_url(), timeout=5).json()["keys"]
    assert len(keys) == 1
    key = keys[0]
    assert {"kty", "use", "kid", "x5t", "n", "e", "x5c", "issuer"} <= key.keys()
    assert (key["kty"], key["use"], key["e"]) == ("RSA", "sig", "AQAB")
    assert key["kid"] == key["x5t"] == issuer.keys.signing.kid
    assert key["issuer"] == issuer.issuer_v2()
    modulus = int.from_bytes(base64.urlsafe_b64decode(key["n"] + "=="), "big")
    assert modulus.bit_length() == 2048
    cert = x509.load_der_x509_certificate(base64.b64decode(key["x5c"][0]))
    assert cert.public_key().public_numbers().n == modulus
    assert requests.get(issuer.jwks_url(version=1), timeout=5).json()["keys"][0]["kid"] == key["kid"]


# --- token endpoint -------------------------------------------------------------------


def test_client_credentials_issue_a_verifiable_app_only_v2_token(issuer):
    response = client_credentials(issuer)
    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 3600)
    claims = verify(issuer, body["access_token"])
    assert claims["aud"] == DEFAULT_API_APP_ID
    assert claims["azp"] == DEFAULT_CLIENT_ID
    assert claims["tid"] == issuer.tenant_id
    assert claims["ver"] == "2.0"
    assert claims["roles"] == ["Calculator.Add"]
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["oid"] == claims["sub"]


def test_client_secret_basic_and_per_api_roles(issuer):
    issuer.register_client("client-b", "s3cret", {DEFAULT_API_APP_ID: ["Reader"], "other": ["Writer"]})
    basic = base64.b64encode(b"client-b:s3cret").decode()
    response = requests.post(issuer.token_url(), headers={"Authorization": f"Basic {basic}"},
                             data={"grant_type": "client_credentials", "scope": f"{DEFAULT_API_APP_ID}/.default"},
                             timeout=5)
    assert response.status_code == 200, response.text
    assert verify(issuer, response.json()["access_token"])["roles"] == ["Reader"]


def test_token_version_follows_the_api_app(issuer):
    issuer.set_token_version(DEFAULT_API_APP_ID, 1)
    token = client_credentials(issuer).json()["access_token"]
    claims = verify(issuer, token, issuer_claim=issuer.issuer_v1(), audience=DEFAULT_API_URI)
    assert (claims["ver"], claims["appid"]) == ("1.0", DEFAULT_CLIENT_ID)
    assert "azp" not in claims


@pytest.mark.parametrize(
    ("form", "status", "code"),
    [
        ({"client_secret": "wrong"}, 401, 7000215),
        ({"client_id": "unknown-client"}, 400, 700016),
        ({"resource": "https://mcp.contoso.test/mcp"}, 400, 9010010),
        ({"scope": f"{DEFAULT_API_URI}/calculator.add"}, 400, 1002012),
        ({"scope": None}, 400, 900144),
        ({"grant_type": "password"}, 400, 70003),
        ({"client_secret": None}, 401, 7000218),
    ],
)
def test_token_errors_carry_aadsts_codes(issuer, form, status, code):
    response = client_credentials(issuer, **form)
    assert response.status_code == status
    body = response.json()
    assert body["error_description"].startswith(f"AADSTS{code}:")
    assert body["error_codes"] == [code]


# --- minting --------------------------------------------------------------------------


def test_minted_v2_and_v1_tokens_verify(issuer):
    v2 = verify(issuer, issuer.tokens.v2(roles=["A"], scp="calculator.add"))
    assert (v2["ver"], v2["azp"], v2["roles"], v2["scp"]) == ("2.0", DEFAULT_CLIENT_ID, ["A"], "calculator.add")
    token = issuer.tokens.v1()
    v1 = verify(issuer, token, issuer_claim=f"https://sts.windows.net/{issuer.tenant_id}/")
    assert (v1["ver"], v1["appid"]) == ("1.0", DEFAULT_CLIENT_ID)
    assert decode_unverified(token)[0]["x5t"] == issuer.keys.signing.kid


def test_overrides_set_and_remove_claims_and_header_fields(issuer):
    token = issuer.tokens.v2(exp=REMOVE, tid="other", claims={"xms-odd-name": 1},
                             header={"typ": REMOVE, "crit": ["exp"], "nonce": "n"})
    header, claims = decode_unverified(token)
    assert "exp" not in claims and claims["tid"] == "other" and claims["xms-odd-name"] == 1
    assert "typ" not in header and header["crit"] == ["exp"] and header["nonce"] == "n"


def test_tenant_switch_moves_tid_and_issuer_together(issuer):
    claims = decode_unverified(issuer.tokens.v2(tenant="22222222-0000-0000-0000-000000000000"))[1]
    assert claims["tid"] == "22222222-0000-0000-0000-000000000000"
    assert claims["iss"] == f"{issuer.base_url}/22222222-0000-0000-0000-000000000000/v2.0"


def test_lifetime_and_clock_control_time_claims(issuer):
    claims = decode_unverified(issuer.tokens.v2(now=1_700_000_000, lifetime=-60))[1]
    assert (claims["iat"], claims["nbf"], claims["exp"]) == (1_700_000_000, 1_700_000_000, 1_699_999_940)


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda i: i.tokens.v2(key="unpublished"), id="unpublished-key"),
        pytest.param(lambda i: i.tokens.v2(key="retired"), id="retired-key"),
        pytest.param(lambda i: with_garbage_signature(i.tokens.v2()), id="garbage-signature"),
        pytest.param(lambda i: with_claims(i.tokens.v2(), aud="tampered"), id="tampered-claims"),
        pytest.param(lambda i: forge_alg_none(i.tokens.claims_v2()), id="alg-none"),
        pytest.param(lambda i: forge_hmac_with_public_key(i.tokens.claims_v2(), i.keys.signing), id="hs256-pem"),
        pytest.param(lambda i: i.tokens.v2(header={"kid": "not-a-published-kid"}), id="unknown-kid"),
        pytest.param(lambda i: i.tokens.v2(header={"alg": "RS384"}), id="rs384"),
        pytest.param(lambda i: i.tokens.sign(i.tokens.claims_v2(), header={"alg": "RS512"}, sign_alg="RS256"),
                     id="alg-lies"),
    ],
)
def test_forgeries_fail_an_independent_verifier(issuer, forge):
    token = forge(issuer)
    with pytest.raises(jwt.InvalidTokenError):
        verify(issuer, token)


def test_mint_many_gives_distinct_tokens(issuer):
    tokens = issuer.tokens.mint_many(200)
    assert len(set(tokens)) == 200
    assert len({decode_unverified(t)[1]["uti"] for t in tokens}) == 200
    verify(issuer, tokens[-1])


# --- keys -----------------------------------------------------------------------------


def test_rotation_with_overlap_then_without(issuer):
    first = issuer.keys.signing.kid
    second = issuer.rotate_keys(keep_old=True).kid
    assert [k["kid"] for k in issuer.jwks()["keys"]] == [second, first]
    verify(issuer, issuer.tokens.v2())  # signed by the new key
    third = issuer.rotate_keys(keep_old=False).kid
    assert [k["kid"] for k in issuer.jwks()["keys"]] == [third]
    assert issuer.keys.resolve("retired").kid == second


def test_publish_ahead_of_use(issuer):
    current = issuer.keys.signing.kid
    upcoming = issuer.rotate_keys(keep_old=True, switch_signing=False).kid
    assert decode_unverified(issuer.tokens.v2())[0]["kid"] == current
    issuer.sign_with(upcoming)
    assert decode_unverified(issuer.tokens.v2())[0]["kid"] == upcoming


def test_seeded_keys_are_reproducible():
    """The same seed gives the same key in every process and on every machine: a
    demo issuer and a minter started with one --seed agree without talking."""
    modulus = KeyPool("repro").key(0).public_key.public_numbers().n
    assert hashlib.sha256(str(modulus).encode()).hexdigest() == (
        "3958dd93b6a5a459bca04cd5f193e4a1170817438f90d14374635d700cedcee0"
    )


# --- faults and counters --------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "params", "check"),
    [
        ("status", {"status": 503}, lambda r: r.status_code == 503),
        ("status", {"status": 404}, lambda r: r.status_code == 404),
        ("html", {}, lambda r: r.headers["Content-Type"].startswith("text/html")),
        ("garbage", {}, lambda r: r.status_code == 200 and len(r.content) == 512),
        ("cut_json", {}, lambda r: r.status_code == 200 and not _is_json(r.content)),
        ("huge", {"size": 2_000_000}, lambda r: len(r.content) == 2_000_000 and "keys" in r.json()),
        ("redirect", {}, lambda r: r.status_code == 302 and "redirected=1" in r.headers["Location"]),
        ("body", {"body": {"keys": []}}, lambda r: r.json() == {"keys": []}),
    ],
)
def test_jwks_fault_modes(issuer, mode, params, check):
    issuer.set_fault("jwks", mode, **params)
    response = requests.get(issuer.jwks_url(), allow_redirects=False, timeout=5)
    assert check(response), response.content[:200]


@pytest.mark.parametrize("mode", ["truncated", "reset"])
def test_connection_level_faults_break_the_response(issuer, mode):
    issuer.set_fault("discovery", mode)
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(issuer.discovery_url(), timeout=5)


def test_slow_and_timeout_faults(issuer):
    issuer.set_fault("jwks", "slow", delay=0.3)
    started = time.monotonic()
    assert requests.get(issuer.jwks_url(), timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.3
    issuer.set_fault("jwks", "timeout")
    with pytest.raises(requests.exceptions.Timeout):
        requests.get(issuer.jwks_url(), timeout=0.3)


def test_clearing_a_timeout_fault_releases_held_requests(issuer):
    issuer.set_fault("jwks", "timeout")
    errors: list[Exception] = []

    def fetch() -> None:
        try:
            requests.get(issuer.jwks_url(), timeout=10)
        except requests.exceptions.RequestException as exc:
            errors.append(exc)

    worker = threading.Thread(target=fetch)
    worker.start()
    assert issuer.wait_for_count("jwks", 1, timeout=5) == 1
    issuer.clear_faults()
    worker.join(timeout=5)
    assert not worker.is_alive() and errors  # the held request ended without an answer


def test_counted_fault_clears_itself_and_counters_count_everything(issuer):
    issuer.set_fault("jwks", "status", status=500, count=2)
    statuses = [requests.get(issuer.jwks_url(), timeout=5).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    requests.get(issuer.discovery_url(), timeout=5)
    counters = issuer.counters()
    assert counters["kinds"] == {"jwks": 3, "discovery": 1}
    assert counters["paths"][f"/{issuer.tenant_id}/discovery/v2.0/keys"] == 3
    assert issuer.count(f"/{issuer.tenant_id}/discovery/v2.0/keys") == 3
    issuer.reset_counters()
    assert issuer.counters() == {"paths": {}, "kinds": {}}


def test_stopped_issuer_cuts_kept_alive_connections(issuer):
    session = requests.Session()
    assert session.get(issuer.jwks_url(), timeout=5).status_code == 200
    issuer.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        session.get(issuer.jwks_url(), timeout=5)
    issuer.start()  # same port again
    assert session.get(issuer.jwks_url(), timeout=5).status_code == 200


# --- admin API ------------------------------------------------------------------------


def test_admin_api_mirrors_the_python_controls(issuer):
    admin = f"{issuer.base_url}/_admin"
    rotated = requests.post(f"{admin}/rotate", json={"keep_old": False}, timeout=5).json()
    assert rotated["keys"]["published"] == [rotated["kid"]] == [issuer.keys.signing.kid]
    assert requests.post(f"{admin}/fault", json={"target": "jwks", "mode": "status", "status": 502},
                         timeout=5).status_code == 200
    assert requests.get(issuer.jwks_url(), timeout=5).status_code == 502
    requests.post(f"{admin}/faults/clear", json={}, timeout=5)
    assert requests.get(f"{admin}/counters", timeout=5).json()["kinds"] == {"jwks": 1}
    requests.post(f"{admin}/counters/reset", timeout=5)
    assert requests.get(f"{admin}/counters", timeout=5).json()["kinds"] == {}
    minted = requests.post(f"{admin}/mint", json={"claims": {"roles": ["X"]}, "remove": ["nbf"]}, timeout=5)
    claims = verify(issuer, minted.json()["token"])
    assert claims["roles"] == ["X"] and "nbf" not in claims


def test_admin_api_rejects_bad_requests(issuer):
    admin = f"{issuer.base_url}/_admin"
    assert requests.get(f"{admin}/nope", timeout=5).status_code == 404
    assert requests.post(f"{admin}/fault", json={"target": "jwks", "mode": "bogus"}, timeout=5).status_code == 400
    assert requests.post(f"{admin}/fault", data=b"{not json", timeout=5).status_code == 400
    assert requests.post(f"{admin}/retire", json={"kid": "missing"}, timeout=5).status_code == 400


def _is_json(data: bytes) -> bool:
    try:
        json.loads(data)
    except ValueError:
        return False
    return True
