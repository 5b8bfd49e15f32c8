"""End-to-end: the filter in the containerised Envoy, the simulator as Entra, the echo upstream.

What it proves beyond tests/integration: the shipped image layout works (the
filter loads from /etc/envoy/entra_guard.wasm, the callouts reach the authority
through the `entra` cluster by DNS name), the ports are published on 127.0.0.1,
and a key rotation at the authority is picked up without restarting Envoy.
The stack's filter config is compose/envoy.yaml.
"""

from __future__ import annotations

import re
import time

import requests
from upstream.echo import EchoedRequest

TENANT = "11111111-2222-3333-4444-555555555555"
AUTHORITY = "http://issuer:9000"  # the simulator's base URL inside the stack
PRM_URL = "http://localhost:10000/.well-known/oauth-protected-resource/mcp"
SCOPE = "calculator.add"
# Challenges name the scope as Entra issues it (the `scopes_supported` entry).
REQUESTABLE_SCOPE = f"api://aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/{SCOPE}"
SUBSCRIPTION_KEY = "compose-test-key"
PARAM = re.compile(r'([a-z_]+)="([^"]*)"')


def params(challenge: str) -> dict[str, str]:
    assert challenge.startswith("Bearer"), challenge
    return dict(PARAM.findall(challenge))


def get(stack, path: str, token: str | None = None, **kwargs) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(f"{stack.envoy}{path}", headers=headers, timeout=10, **kwargs)


def test_public_path_needs_no_credentials(stack):
    answer = get(stack, "/health")
    assert answer.status_code == 200, answer.text
    assert EchoedRequest.parse(answer.text).path == "/health"


def test_accepted_token_is_forwarded_with_claim_headers(stack):
    token = stack.mint(claims={"scp": SCOPE})
    answer = get(stack, "/mcp", token, headers={"x-entra-tid": "spoofed"})
    assert answer.status_code == 200, (answer.status_code, answer.headers, answer.text)
    seen = EchoedRequest.parse(answer.text)
    assert seen.header_values("authorization") == [f"Bearer {token}"]
    assert seen.header_values("x-entra-tid") == [TENANT]
    assert seen.header_values("x-entra-client-id") and seen.header_values("x-entra-oid")


def test_no_credentials_is_challenged_with_resource_metadata(stack):
    answer = get(stack, "/mcp")
    assert answer.status_code == 401
    challenge = answer.headers["WWW-Authenticate"]
    assert params(challenge) == {"scope": REQUESTABLE_SCOPE, "resource_metadata": PRM_URL}, challenge
    assert "error=" not in challenge


def test_invalid_token_is_401_invalid_token(stack):
    wrong_audience = stack.mint(claims={"scp": SCOPE, "aud": "api://someone-else"})
    for token in (wrong_audience, "not.a.jwt"):
        answer = get(stack, "/mcp", token)
        assert answer.status_code == 401, answer.text
        found = params(answer.headers["WWW-Authenticate"])
        assert found["error"] == "invalid_token", found
        assert found["resource_metadata"] == PRM_URL


def test_missing_scope_is_403_insufficient_scope(stack):
    answer = get(stack, "/mcp", stack.mint(claims={"scp": "calculator.subtract"}))
    assert answer.status_code == 403, answer.text
    found = params(answer.headers["WWW-Authenticate"])
    assert found["error"] == "insufficient_scope"
    assert found["scope"] == REQUESTABLE_SCOPE
    assert found["resource_metadata"] == PRM_URL


def test_protected_resource_metadata_is_served(stack):
    answer = get(stack, "/.well-known/oauth-protected-resource/mcp")
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    document = answer.json()
    assert document["resource"] == "http://localhost:10000/mcp"
    assert document["authorization_servers"] == [f"{AUTHORITY}/{TENANT}/v2.0"]
    assert document["bearer_methods_supported"] == ["header"]
    assert document["scopes_supported"] == [f"api://aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee/{SCOPE}"]


def test_subscription_key(stack):
    missing = get(stack, "/apim/orders")
    assert missing.status_code == 401
    assert missing.json()["statusCode"] == 401 and "missing" in missing.json()["message"].lower()
    wrong = get(stack, "/apim/orders", headers={"Ocp-Apim-Subscription-Key": "nope"})
    assert wrong.status_code == 401 and "invalid" in wrong.json()["message"].lower()
    good = get(stack, "/apim/orders", headers={"Ocp-Apim-Subscription-Key": SUBSCRIPTION_KEY})
    assert good.status_code == 200, good.text
    assert not EchoedRequest.parse(good.text).has_header("ocp-apim-subscription-key")


def test_key_rotation_is_picked_up_without_restart(stack):
    envoy_started = stack.inspect("envoy")["State"]["StartedAt"]
    assert get(stack, "/mcp", stack.mint(claims={"scp": SCOPE})).status_code == 200
    old_kid = stack.admin_get("state")["keys"]["signing"]
    fetches = stack.admin_get("counters")["kinds"].get("jwks", 0)

    # Entra rolls its keys: a new signing key, the old one unpublished at once.
    new_kid = stack.admin_post("rotate", keep_old=False, switch_signing=True)["kid"]
    assert new_kid != old_kid
    fresh = stack.mint(claims={"scp": SCOPE})
    deadline, answer = time.monotonic() + 20, None
    while time.monotonic() < deadline:  # unknown kid -> bounded re-fetch (1 s in the stack)
        answer = get(stack, "/mcp", fresh)
        if answer.status_code == 200:
            break
        time.sleep(0.25)
    assert answer is not None and answer.status_code == 200, (answer.status_code, answer.headers)
    assert stack.admin_get("counters")["kinds"].get("jwks", 0) > fetches

    # A token signed by the unpublished key is refused from now on.
    stale = stack.mint(claims={"scp": SCOPE}, key=old_kid)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        answer = get(stack, "/mcp", stale)
        if answer.status_code == 401:
            break
        time.sleep(0.25)
    assert answer.status_code == 401 and params(answer.headers["WWW-Authenticate"])["error"] == "invalid_token"

    assert stack.inspect("envoy")["State"]["StartedAt"] == envoy_started, "Envoy was restarted"
    assert stack.stat("wasmcustom.entra_guard.jwks_fetch.kid_miss") >= 1
