"""Composing with Envoy (README "Composing with Envoy"): the recipes of
envoy/recipes/identity.yaml in a real Envoy. The filter's decision reaches the
access log, the RBAC filter and local_ratelimit's descriptors through filter
state (`wasm.entra_guard.*`), which no client header can set.

The recipes' access log, RBAC and local_ratelimit blocks are taken from the
shipped file as they are; only the filter's Entra block (the simulator), its
subscription keys (the tests' keys), the RBAC client (a test client id) and the
rate-limit budgets (3 and 5 instead of 100 and 300) are swapped in.
"""

from __future__ import annotations

import copy
import json
import re
import time
import uuid
from pathlib import Path

import h2_raw
import pytest
import yaml
from filter_config import filter_config
from jwt_support import bearer, echoed
from subscription_support import CONTOSO, CONTOSO_PRIMARY, FABRIKAM, FABRIKAM_KEY, LONGEST, LONGEST_KEY, key_entries

from issuer.tokens import service_principal_oid

RECIPE = Path(__file__).resolve().parents[2] / "envoy" / "recipes" / "identity.yaml"
SHIPPED_ADMIN_CLIENT = "cccccccc-0000-0000-0000-00000000000a"
ADMIN_CLIENT = str(uuid.uuid4())
PER_SUBSCRIPTION = 3
PER_CLIENT = 5
KEY_HEADER = "ocp-apim-subscription-key"


def recipe_hcm() -> dict:
    config = yaml.safe_load(RECIPE.read_text())
    listener = config["static_resources"]["listeners"][0]
    return listener["filter_chains"][0]["filters"][0]["typed_config"]


def recipe_rules() -> list:
    wasm = recipe_hcm()["http_filters"][0]["typed_config"]["config"]
    return json.loads(wasm["configuration"]["value"])["rules"]


def composed_filters(guard: dict, wasm_path: Path) -> list[dict]:
    """The recipe's filter chain with the test's entra-guard and smaller budgets."""
    hcm = recipe_hcm()
    filters = copy.deepcopy(hcm["http_filters"])
    assert [f["name"] for f in filters] == [
        "envoy.filters.http.wasm", "envoy.filters.http.rbac", "envoy.filters.http.local_ratelimit",
        "envoy.filters.http.router"]
    wasm = filters[0]["typed_config"]["config"]
    wasm["configuration"]["value"] = json.dumps(guard)
    wasm["vm_config"]["code"]["local"]["filename"] = str(wasm_path)
    rbac = filters[1]["typed_config"]["rules"]["policies"]["admin-client-only"]
    match = rbac["principals"][0]["filter_state"]["string_match"]
    assert match == {"exact": SHIPPED_ADMIN_CLIENT}
    match["exact"] = ADMIN_CLIENT
    limits = filters[2]["typed_config"]
    budgets = {"subscription": PER_SUBSCRIPTION, "client_id": PER_CLIENT}
    for descriptor in limits["descriptors"]:
        n = budgets[descriptor["entries"][0]["key"]]
        descriptor["token_bucket"] = {"max_tokens": n, "tokens_per_fill": n, "fill_interval": "3600s"}
    return filters[:-1]  # the harness appends the router


@pytest.fixture(scope="module")
def composed(module_envoy_factory, module_issuer, wasm_path):
    guard = filter_config(module_issuer, subscription_keys={"keys": key_entries()}, rules=recipe_rules(),
                          filter_state="all")
    hcm = recipe_hcm()
    return module_envoy_factory(http_filters=composed_filters(guard, wasm_path),
                                hcm_options={"access_log": hcm["access_log"]})


def token(issuer, client: str) -> str:
    return issuer.tokens.v2(azp=client)


def access_log_line(envoy, marker: str, timeout: float = 10.0) -> dict[str, str]:
    """The access log line of the request whose path carries `marker`, as key=value pairs."""
    deadline = time.monotonic() + timeout
    while True:
        text = envoy.stdout_path.read_text(errors="replace")
        lines = [line for line in text.splitlines() if marker in line and "outcome=" in line]
        if lines:
            assert len(lines) == 1, lines
            fields = dict(re.findall(r"(\w+)=(\S+)", lines[0]))
            fields["status"] = lines[0].split('" ')[1].split()[0]
            return fields
        if time.monotonic() > deadline:
            raise AssertionError(f"no access log line for {marker}:\n{text[-2000:]}")
        time.sleep(0.05)


def identity(issuer, client: str) -> dict[str, str]:
    return {"oid": service_principal_oid(client), "tid": issuer.tenant_id, "client": client}


# --- 1. access log ----------------------------------------------------------------------


def test_access_log_names_the_caller_a_token_admitted(composed, module_issuer):
    client = str(uuid.uuid4())
    marker = uuid.uuid4().hex
    # A client's own identity headers change nothing: filter state is not a header.
    forged = {"x-entra-oid": "forged", "wasm.entra_guard.oid": "forged", "x-apim-subscription-name": "forged"}
    response = composed.get(f"/api/{marker}", {**bearer(token(module_issuer, client)), **forged})
    assert response.status == 200
    assert access_log_line(composed, marker) == {
        "status": "200", "outcome": "allowed", "reason": "jwt", **identity(module_issuer, client),
        "subscription": "-", "rule": "2",
    }


def test_access_log_names_the_subscription_a_key_admitted(composed):
    marker = uuid.uuid4().hex
    response = composed.get(f"/api/{marker}", {KEY_HEADER: CONTOSO_PRIMARY, "x-apim-subscription-name": FABRIKAM})
    assert response.status == 200
    assert echoed(response).header("x-apim-subscription-name") == CONTOSO
    assert access_log_line(composed, marker) == {
        "status": "200", "outcome": "allowed", "reason": "subscription_key", "oid": "-", "tid": "-",
        "client": "-", "subscription": CONTOSO, "rule": "2",
    }


def test_access_log_says_why_a_request_was_denied(composed, module_issuer):
    marker = uuid.uuid4().hex
    assert composed.get(f"/api/{marker}").status == 401
    assert access_log_line(composed, marker) == {
        "status": "401", "outcome": "denied", "reason": "missing", "oid": "-", "tid": "-", "client": "-",
        "subscription": "-", "rule": "-",
    }
    marker = uuid.uuid4().hex
    expired = module_issuer.tokens.v2(azp=str(uuid.uuid4()), lifetime=-3600)
    assert composed.get(f"/admin/{marker}", bearer(expired)).status == 401
    line = access_log_line(composed, marker)
    assert (line["outcome"], line["reason"], line["oid"]) == ("denied", "expired", "-")


def test_access_log_over_http2(composed, module_issuer):
    client = str(uuid.uuid4())
    marker = uuid.uuid4().hex
    auth = bearer(token(module_issuer, client))["Authorization"].encode()
    response = h2_raw.h2_request(composed.port, [
        (b":method", b"GET"), (b":scheme", b"http"), (b":authority", b"api.test"),
        (b":path", f"/api/{marker}".encode()), (b"authorization", auth)])
    assert response.status == 200
    line = access_log_line(composed, marker)
    assert line["outcome"] == "allowed" and line["client"] == client
    assert line["oid"] == service_principal_oid(client)


def test_a_request_held_for_keys_is_logged_with_its_caller(envoy_factory, issuer, wasm_path):
    """Decided on resume (from the root context, as that stream): the state lands on it."""
    issuer.set_fault("jwks", "slow", delay=1.0)
    guard = filter_config(issuer, subscription_keys={"keys": key_entries()}, rules=recipe_rules(),
                          filter_state="all")
    envoy = envoy_factory(http_filters=composed_filters(guard, wasm_path),
                          hcm_options={"access_log": recipe_hcm()["access_log"]})
    client, marker = str(uuid.uuid4()), uuid.uuid4().hex
    response = envoy.get(f"/api/{marker}", bearer(token(issuer, client)))
    assert response.status == 200
    assert envoy.wait_for_stat("wasmcustom.entra_guard.requests_waited_for_keys", lambda n: n == 1) == 1
    line = access_log_line(envoy, marker)
    assert (line["outcome"], line["client"], line["oid"]) == ("allowed", client, service_principal_oid(client))


@pytest.mark.parametrize("listed, logged", [
    (None, set()),  # off unless configured: no filter-state host call on the hot path
    (["outcome", "client_id"], {"outcome", "client"}),
])
def test_only_the_configured_filter_state_is_set(envoy_factory, issuer, wasm_path, listed, logged):
    guard = filter_config(issuer, subscription_keys={"keys": key_entries()}, rules=recipe_rules(),
                          filter_state=listed)
    envoy = envoy_factory(http_filters=composed_filters(guard, wasm_path),
                          hcm_options={"access_log": recipe_hcm()["access_log"]})
    client, marker = str(uuid.uuid4()), uuid.uuid4().hex
    assert envoy.get(f"/api/{marker}", bearer(token(issuer, client))).status == 200
    line = access_log_line(envoy, marker)
    set_fields = {name for name in ("outcome", "reason", "oid", "client", "subscription", "rule")
                  if line.get(name, "-") != "-"}
    assert set_fields == logged, line


# --- 2. RBAC on a claim ------------------------------------------------------------------


def test_rbac_lets_only_the_named_client_application_call_admin(composed, module_issuer):
    allowed = composed.get("/admin/users", bearer(token(module_issuer, ADMIN_CLIENT)))
    assert allowed.status == 200
    other = composed.get("/admin/users", bearer(token(module_issuer, str(uuid.uuid4()))))
    assert (other.status, other.body) == (403, b"RBAC: access denied")
    # Elsewhere every admitted caller goes on.
    assert composed.get("/api/x", bearer(token(module_issuer, str(uuid.uuid4())))).status == 200


def test_rbac_cannot_be_talked_into_it_by_headers(composed, module_issuer):
    forged = {"x-entra-client-id": ADMIN_CLIENT, "wasm.entra_guard.client_id": ADMIN_CLIENT,
              "x-envoy-peer-metadata": ADMIN_CLIENT}
    response = composed.get("/admin/users", {**bearer(token(module_issuer, str(uuid.uuid4()))), **forged})
    assert response.status == 403
    # Without a token entra-guard answers first: RBAC never sees the request.
    response = composed.get("/admin/users", forged)
    assert response.status == 401


# --- 3. rate limits per subscription and per client ---------------------------------------


def statuses(envoy, n: int, path: str, headers: dict[str, str]) -> list[int]:
    return [envoy.get(path, headers).status for _ in range(n)]


def test_rate_limit_per_subscription_key(composed):
    # FABRIKAM and LONGEST are only used here: their buckets are full.
    got = statuses(composed, PER_SUBSCRIPTION + 2, "/api/orders", {KEY_HEADER: FABRIKAM_KEY})
    assert got == [200] * PER_SUBSCRIPTION + [429, 429]
    limited = composed.get("/api/orders", {KEY_HEADER: FABRIKAM_KEY})
    assert (limited.status, limited.body) == (429, b"local_rate_limited")
    # Another subscription is unaffected, and so is a caller with a token.
    assert composed.get("/api/orders", {KEY_HEADER: LONGEST_KEY}).status == 200
    # Naming another subscription in a header does not move the count.
    spoofed = {KEY_HEADER: FABRIKAM_KEY, "x-apim-subscription-name": LONGEST}
    assert composed.get("/api/orders", spoofed).status == 429
    got = statuses(composed, PER_SUBSCRIPTION - 1, "/api/orders", {KEY_HEADER: LONGEST_KEY})
    assert got == [200] * (PER_SUBSCRIPTION - 1)
    assert composed.get("/api/orders", {KEY_HEADER: LONGEST_KEY}).status == 429


def test_rate_limit_per_client_application(composed, module_issuer):
    busy, quiet = str(uuid.uuid4()), str(uuid.uuid4())
    # A new token each time: the budget follows the client, not the token.
    got = [composed.get("/api/orders", bearer(token(module_issuer, busy))).status for _ in range(PER_CLIENT + 1)]
    assert got == [200] * PER_CLIENT + [429]
    assert composed.get("/api/orders", bearer(token(module_issuer, quiet))).status == 200
    forged = {"x-entra-client-id": quiet, "wasm.entra_guard.client_id": quiet}
    assert composed.get("/api/orders", {**bearer(token(module_issuer, busy)), **forged}).status == 429
    # Requests that name no client (no token) are not counted against any.
    assert composed.get("/health").status == 200
