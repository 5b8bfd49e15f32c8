"""The simulator's user sign-in flow behaves like Entra's v2 endpoints: authorization
code + PKCE S256 (required), a test user who consents, refresh tokens with
`offline_access`, scopes mapped into `scp`/`roles`, AADSTS9010010 for a `resource` that
is not an identifier URI of the API app, loopback redirect URIs on any port, and a
discovery document that stays Entra's (nothing a strict MCP client wants)."""

from __future__ import annotations

import pytest
import requests
from issuer import DEFAULT_API_APP_ID, DEFAULT_API_URI, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET
from issuer.constants import DEFAULT_PUBLIC_CLIENT_ID
from issuer.user_grants import USER_OID
from sign_in_support import Redirect, authorize_url, follow_authorize, pkce
from test_issuer_simulator import verify

REDIRECT = "http://127.0.0.1:53682/callback"  # registered as http://127.0.0.1/callback: any port
MCP_URI = "https://mcp.contoso.test/mcp"  # the 2026 way: the MCP server's URL as Application ID URI


def sign_in(issuer, scope: str = f"{DEFAULT_API_URI}/calculator.add", **extra) -> tuple[Redirect, str]:
    verifier, challenge = pkce()
    params = {"client_id": DEFAULT_PUBLIC_CLIENT_ID, "response_type": "code", "redirect_uri": REDIRECT,
              "scope": scope, "state": "st-1", "code_challenge": challenge, "code_challenge_method": "S256",
              **extra}
    redirect = follow_authorize(authorize_url(issuer, **{k: v for k, v in params.items() if v is not None}))
    assert isinstance(redirect, Redirect), redirect.text
    return redirect, verifier


def redeem(issuer, code: str, verifier: str | None, **extra) -> requests.Response:
    form = {"grant_type": "authorization_code", "client_id": DEFAULT_PUBLIC_CLIENT_ID, "code": code,
            "redirect_uri": REDIRECT, "code_verifier": verifier, **extra}
    return requests.post(issuer.token_url(), data={k: v for k, v in form.items() if v is not None}, timeout=5)


def aadsts(body: dict) -> int:
    return body["error_codes"][0]


@pytest.mark.parametrize("mode", ["page", "auto"])
def test_code_flow_with_pkce_issues_a_delegated_v2_token(issuer, mode):
    issuer.set_sign_in(mode)
    redirect, verifier = sign_in(issuer, f"{DEFAULT_API_URI}/calculator.add openid offline_access")
    assert redirect.target == REDIRECT and redirect.params["state"] == "st-1"
    response = redeem(issuer, redirect.params["code"], verifier)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"].split() == [f"{DEFAULT_API_URI}/calculator.add", "openid", "offline_access"]
    claims = verify(issuer, body["access_token"])
    assert (claims["aud"], claims["azp"], claims["ver"]) == (DEFAULT_API_APP_ID, DEFAULT_PUBLIC_CLIENT_ID, "2.0")
    assert (claims["scp"], claims["oid"], claims["azpacr"]) == ("calculator.add", USER_OID, "0")
    assert "idtyp" not in claims and "roles" not in claims
    assert verify(issuer, body["id_token"], audience=DEFAULT_PUBLIC_CLIENT_ID)["oid"] == USER_OID
    assert body["refresh_token"]

    again = redeem(issuer, redirect.params["code"], verifier)  # a code is single use
    assert (again.status_code, aadsts(again.json())) == (400, 54005)

    refreshed = requests.post(issuer.token_url(), timeout=5, data={
        "grant_type": "refresh_token", "client_id": DEFAULT_PUBLIC_CLIENT_ID,
        "refresh_token": body["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    assert verify(issuer, refreshed.json()["access_token"])["scp"] == "calculator.add"


def test_no_refresh_token_without_offline_access_and_default_maps_scopes_and_roles(issuer):
    issuer.register_api(DEFAULT_API_APP_ID, [DEFAULT_API_URI], ["calculator.add", "calculator.divide"],
                        user_roles=["Calculator.Divide"])
    redirect, verifier = sign_in(issuer, f"{DEFAULT_API_URI}/.default")
    body = redeem(issuer, redirect.params["code"], verifier).json()
    assert "refresh_token" not in body and "id_token" not in body
    claims = verify(issuer, body["access_token"])
    assert (claims["scp"], claims["roles"]) == ("calculator.add calculator.divide", ["Calculator.Divide"])


def test_resource_must_be_an_identifier_uri_of_the_api_app(issuer):
    """AADSTS9010010 for a URL that is not registered (or differs by a trailing slash);
    accepted once the MCP server's URL is an identifier URI of the app."""
    for resource in (MCP_URI, DEFAULT_API_URI + "/"):
        redirect, _ = sign_in(issuer, resource=resource)
        assert redirect.params["error"] == "invalid_target", redirect.params
        assert redirect.params["error_description"].startswith(
            "AADSTS9010010: The resource parameter provided in the request doesn't match with the requested scopes.")
        assert redirect.params["state"] == "st-1"

    issuer.register_api(DEFAULT_API_APP_ID, [DEFAULT_API_URI, MCP_URI], ["calculator.add"])
    redirect, verifier = sign_in(issuer, f"{MCP_URI}/calculator.add", resource=MCP_URI)
    response = redeem(issuer, redirect.params["code"], verifier, resource=MCP_URI)
    assert verify(issuer, response.json()["access_token"])["aud"] == DEFAULT_API_APP_ID
    wrong = redeem(issuer, sign_in(issuer, f"{MCP_URI}/calculator.add")[0].params["code"], None)
    assert aadsts(wrong.json()) == 501481  # no code_verifier


@pytest.mark.parametrize(("extra", "code"), [
    ({"code_challenge": None, "code_challenge_method": None}, 9002325),
    ({"code_challenge_method": "plain"}, 9002325),
    ({"code_challenge": "short"}, 501491),
    ({"scope": "calculator.add"}, 70011),
    ({"scope": f"{DEFAULT_API_URI}/calculator.nope"}, 650053),
    ({"scope": "api://unknown-app/x"}, 500011),
    ({"scope": f"{DEFAULT_API_URI}/.default {DEFAULT_API_URI}/calculator.add"}, 70011),
    ({"response_type": "token"}, 700051),
])
def test_authorize_errors_go_back_to_the_redirect_uri(issuer, extra, code):
    redirect, _ = sign_in(issuer, **extra)
    assert redirect.target == REDIRECT
    assert redirect.params["error_description"].startswith(f"AADSTS{code}:"), redirect.params


def test_unknown_client_or_redirect_uri_stay_on_an_error_page(issuer):
    verifier, challenge = pkce()
    base = {"client_id": DEFAULT_PUBLIC_CLIENT_ID, "response_type": "code", "scope": "openid",
            "code_challenge": challenge, "code_challenge_method": "S256"}
    for params, code in (({"redirect_uri": "http://evil.test/callback"}, 50011),
                         ({"redirect_uri": "http://127.0.0.1:9/other"}, 50011),
                         ({"redirect_uri": REDIRECT, "client_id": "unknown"}, 700016)):
        response = follow_authorize(authorize_url(issuer, **{**base, **params}))
        assert response.status_code == 400 and f"AADSTS{code}:" in response.text


def test_token_endpoint_checks_client_redirect_and_verifier(issuer):
    redirect, verifier = sign_in(issuer)
    bad = redeem(issuer, redirect.params["code"], verifier + "x")
    assert (bad.status_code, aadsts(bad.json())) == (400, 501481)
    redirect, verifier = sign_in(issuer)
    secret = redeem(issuer, redirect.params["code"], verifier, client_secret="s")
    assert (secret.status_code, aadsts(secret.json())) == (401, 700025)
    redirect, verifier = sign_in(issuer)
    other = redeem(issuer, redirect.params["code"], verifier, redirect_uri="http://127.0.0.1:1/callback")
    assert aadsts(other.json()) == 500112


def test_cancel_on_the_consent_page_is_access_denied(issuer):
    verifier, challenge = pkce()
    url = authorize_url(issuer, client_id=DEFAULT_PUBLIC_CLIENT_ID, response_type="code", redirect_uri=REDIRECT,
                        scope="openid", code_challenge=challenge, code_challenge_method="S256")
    redirect = follow_authorize(url, accept=False)
    assert redirect.params["error"] == "access_denied"


def test_client_credentials_accept_the_application_id_uri_as_resource(issuer):
    form = {"grant_type": "client_credentials", "client_id": DEFAULT_CLIENT_ID,
            "client_secret": DEFAULT_CLIENT_SECRET, "scope": f"{DEFAULT_API_URI}/.default"}
    ok = requests.post(issuer.token_url(), data={**form, "resource": DEFAULT_API_URI}, timeout=5)
    assert ok.status_code == 200, ok.text
    slash = requests.post(issuer.token_url(), data={**form, "resource": DEFAULT_API_URI + "/"}, timeout=5)
    assert aadsts(slash.json()) == 9010010


def test_discovery_stays_entras(issuer):
    doc = requests.get(issuer.discovery_url(), timeout=5).json()
    assert "code_challenge_methods_supported" not in doc and "registration_endpoint" not in doc
    assert doc["scopes_supported"] == ["openid", "profile", "email", "offline_access"]


SPA_CLIENT_ID = "5ba00000-0000-4000-8000-000000000003"
SPA_REDIRECT = "http://localhost:6274/oauth/callback"
ORIGIN = "http://localhost:6274"


def test_browser_code_redemption_needs_an_spa_redirect_uri(issuer):
    """Entra: a browser (`Origin`) redeems a code only for an SPA redirect URI
    (AADSTS9002326), an SPA redirect URI's code only from a browser (AADSTS9002327)."""
    issuer.set_sign_in("auto")
    redirect, verifier = sign_in(issuer)
    refused = requests.post(issuer.token_url(), timeout=5, headers={"Origin": ORIGIN}, data={
        "grant_type": "authorization_code", "client_id": DEFAULT_PUBLIC_CLIENT_ID,
        "code": redirect.params["code"], "redirect_uri": REDIRECT, "code_verifier": verifier})
    assert refused.status_code == 400 and aadsts(refused.json()) == 9002326, refused.text
    assert f"Request origin: '{ORIGIN}'" in refused.json()["error_description"]
    assert refused.headers["Access-Control-Allow-Origin"] == "*"  # the browser reads why

    issuer.register_public_client(SPA_CLIENT_ID, [], spa_redirect_uris=[SPA_REDIRECT])
    for origin, code in ((None, 9002327), (ORIGIN, None)):
        redirect, verifier = sign_in(issuer, client_id=SPA_CLIENT_ID, redirect_uri=SPA_REDIRECT)
        answer = requests.post(issuer.token_url(), timeout=5, headers={"Origin": origin} if origin else {},
                               data={"grant_type": "authorization_code", "client_id": SPA_CLIENT_ID,
                                     "code": redirect.params["code"], "redirect_uri": SPA_REDIRECT,
                                     "code_verifier": verifier})
        if code is None:
            assert answer.status_code == 200 and answer.json()["access_token"], answer.text
        else:
            assert answer.status_code == 400 and aadsts(answer.json()) == code, answer.text


def test_cors_as_entra_discovery_keys_token_not_unknown_paths(issuer):
    preflight = {"Origin": ORIGIN, "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "mcp-protocol-version"}
    for url in (issuer.discovery_url(), issuer.jwks_url(), issuer.token_url()):
        answer = requests.options(url, headers=preflight, timeout=5)
        assert answer.status_code == 204, url
        assert (answer.headers["Access-Control-Allow-Origin"], answer.headers["Access-Control-Allow-Methods"],
                answer.headers["Access-Control-Allow-Headers"]) == ("*", "GET", "mcp-protocol-version")
    assert requests.get(issuer.discovery_url(), timeout=5).headers["Access-Control-Allow-Origin"] == "*"
    unknown = f"{issuer.base_url}/.well-known/oauth-authorization-server/{issuer.tenant_id}/v2.0"
    assert requests.options(unknown, headers=preflight, timeout=5).status_code == 404
    answer = requests.get(unknown, timeout=5)
    assert answer.status_code == 404 and "Access-Control-Allow-Origin" not in answer.headers
    assert "Access-Control-Allow-Origin" not in requests.get(f"{issuer.base_url}/_admin/requests", timeout=5).headers
