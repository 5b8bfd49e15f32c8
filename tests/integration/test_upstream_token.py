"""The recipe envoy/recipes/credential-injector.yaml in real Envoy: entra-guard checks
the client's token and removes it (`upstream_authorization: "remove"`), then Envoy's
credential_injector gives the upstream a token of its own, fetched from the test
issuer (playing Entra) with the client-credentials grant, secret through file-based SDS.

The injector block and the guarded rule are read from the shipped recipe; only the
token endpoint's address and the SDS path change. The issuer registers the recipe's
placeholder ids (the gateway's client, the upstream API), so the same values run here.
A second Envoy runs the injector with `overwrite: false`: it injects only where the
client's `Authorization` is gone, so there entra-guard's removal alone is what keeps
the client's token from the upstream (with `overwrite: true` the injector would hide a
failed removal). Contrasts: a `forward` rule, and an Envoy without the injector.

Run: .venv/bin/pytest tests/integration/test_upstream_token.py -q
"""

from __future__ import annotations

import copy
import json
import os
import time
from pathlib import Path

import jwt
import pytest
import yaml
from filter_config import filter_config
from issuer import DEFAULT_API_APP_ID, Issuer
from issuer.tokens import decode_unverified
from lifecycle_support import MARKER, Outcome, RecordingEcho, guard, send
from paths import REPO_ROOT

pytestmark = pytest.mark.wasm  # every test here runs the built filter

RECIPE = REPO_ROOT / "envoy" / "recipes" / "credential-injector.yaml"
INJECTOR = "envoy.filters.http.credential_injector"
SECRET = "gateway-client-secret-value"
SECRET_NAME = "entra-client-secret"
STAT = "http.main.credential_injector."
FETCHED = STAT + "oauth2.token_fetched"
REFUSED = b"Failed to inject credential."


def _recipe_filters() -> tuple[dict, dict]:
    """(entra-guard's JSON, the credential_injector filter) of the shipped recipe."""
    config = yaml.safe_load(RECIPE.read_text())
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    by_name = {f["name"]: f for f in hcm["http_filters"]}
    names = [f["name"] for f in hcm["http_filters"]]
    assert names == ["envoy.filters.http.wasm", INJECTOR, "envoy.filters.http.router"], names
    guard_json = json.loads(by_name["envoy.filters.http.wasm"]["typed_config"]["config"]["configuration"]["value"])
    return guard_json, by_name[INJECTOR]


GUARD_JSON, RECIPE_INJECTOR = _recipe_filters()
OAUTH2 = RECIPE_INJECTOR["typed_config"]["credential"]["typed_config"]
GATEWAY_CLIENT = OAUTH2["client_credentials"]["client_id"]
(SCOPE,) = OAUTH2["scopes"]
UPSTREAM_URI = SCOPE.removesuffix("/.default")
UPSTREAM_APP_ID = UPSTREAM_URI.removeprefix("api://")
UPSTREAM_ROLES = ["Upstream.Call"]
MCP_RULE = next(r for r in GUARD_JSON["rules"] if r["path_prefix"] == "/mcp")
RULES = [
    MCP_RULE,  # jwt, calculator.add, upstream_authorization: remove
    {"path_prefix": "/anon", "require": "none", "upstream_authorization": "remove"},
    {"path_prefix": "/forward", "require": "jwt"},  # forward: the default
]


def injector(issuer: Issuer, sds_path: Path, *, overwrite: bool | None = None) -> dict:
    """The recipe's injector, pointed at the issuer's token endpoint and `sds_path`."""
    block = copy.deepcopy(RECIPE_INJECTOR)
    oauth2 = block["typed_config"]["credential"]["typed_config"]
    oauth2["token_endpoint"]["uri"] = issuer.token_url()
    source = oauth2["client_credentials"]["client_secret"]["sds_config"]["path_config_source"]
    source["path"], source["watched_directory"]["path"] = str(sds_path), str(sds_path.parent)
    if overwrite is not None:
        block["typed_config"]["overwrite"] = overwrite
    return block


def write_sds(directory: Path, secret: str) -> Path:
    """The SDS file, replaced by a rename as the recipe says to rotate it (Envoy
    watches for moves, not for writes)."""
    directory.mkdir(parents=True, exist_ok=True)
    path, fresh = directory / "entra-client-secret.yaml", directory / "entra-client-secret.yaml.new"
    fresh.write_text(json.dumps({"resources": [{
        "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret",
        "name": SECRET_NAME, "generic_secret": {"secret": {"inline_string": secret}}}]}))
    os.replace(fresh, path)
    return path


@pytest.fixture(scope="module")
def recorder():
    with RecordingEcho() as server:
        yield server


@pytest.fixture(scope="module")
def idp(module_issuer: Issuer) -> Issuer:
    """The test issuer with the recipe's gateway client and upstream API registered."""
    module_issuer.register_api(UPSTREAM_APP_ID, [UPSTREAM_URI])
    module_issuer.register_client(GATEWAY_CLIENT, SECRET, {UPSTREAM_APP_ID: UPSTREAM_ROLES})
    return module_issuer


class Envoys:
    """The module's Envoys, started when first needed."""

    def __init__(self, factory, issuer: Issuer, recorder: RecordingEcho, workdir: Path):
        self.factory, self.issuer, self.recorder, self.workdir = factory, issuer, recorder, workdir
        self.started: dict[str, object] = {}

    def get(self, name: str):
        if name not in self.started:
            filters = [guard(filter_config(self.issuer, rules=RULES))]
            if name != "no-injector":
                sds = write_sds(self.workdir / name, SECRET)
                filters.append(injector(self.issuer, sds, overwrite=False if name == "strict" else None))
            envoy = self.factory(http_filters=filters, upstream_port=self.recorder.port)
            if name != "no-injector":
                assert envoy.wait_for_stat(FETCHED, lambda n: n >= 1) >= 1, envoy.log_tail()
            self.started[name] = envoy
        return self.started[name]


@pytest.fixture(scope="module")
def envoys(module_envoy_factory, idp, recorder, tmp_path_factory):
    return Envoys(module_envoy_factory, idp, recorder, tmp_path_factory.mktemp("sds"))


def client_token(issuer: Issuer) -> str:
    """The MCP client's token: for the MCP resource (the default API), with the scope
    the recipe's rule requires."""
    return issuer.tokens.v2(scp="calculator.add")


def call(envoy, case: str, path: str, headers: list[tuple[str, str]], protocol: str = "h1") -> Outcome:
    wire = "h1-length" if protocol == "h1" else "h2"
    return send(envoy.port, wire, "headers", "GET", path, [(MARKER, case), *headers])


def received_authorization(recorder: RecordingEcho, case: str, outcome: Outcome) -> list[str]:
    time.sleep(0.1)  # a forwarded request still on its way
    got = recorder.of(case)
    assert outcome.status == 200 and len(got) == 1, f"{outcome}; upstream received {got}"
    return got[0].values("authorization")


def assert_upstream_token(issuer: Issuer, value: str) -> dict:
    """A bearer token the issuer signed, for the upstream's own audience, issued to
    the gateway's client by the client-credentials grant; returns its claims."""
    scheme, _, token = value.partition(" ")
    assert scheme == "Bearer" and token, value
    header, _ = decode_unverified(token)
    key = next(k for k in issuer.jwks()["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["RS256"], audience=UPSTREAM_APP_ID,
                        issuer=issuer.issuer_v2())
    assert claims["azp"] == GATEWAY_CLIENT and claims["idtyp"] == "app", claims
    assert claims["roles"] == UPSTREAM_ROLES and "scp" not in claims, claims
    return claims


# --- the upstream gets its own token ----------------------------------------------------


@pytest.mark.parametrize("protocol", ["h1", "h2"])
def test_upstream_receives_a_token_for_its_own_audience_never_the_clients(envoys, idp, recorder, protocol):
    envoy = envoys.get("recipe")
    mine = client_token(idp)
    case = f"own-token-{protocol}"
    outcome = call(envoy, case, "/mcp", [("Authorization", f"Bearer {mine}")], protocol)
    (value,) = received_authorization(recorder, case, outcome)
    assert mine not in value
    claims = assert_upstream_token(idp, value)
    assert decode_unverified(mine)[1]["aud"] == DEFAULT_API_APP_ID != claims["aud"]


def test_the_token_is_fetched_once_and_reused(envoys, idp, recorder):
    envoy = envoys.get("recipe")
    before = (idp.count("token"), envoy.stat(FETCHED))
    values = []
    for i in range(5):
        case = f"reuse-{i}"
        outcome = call(envoy, case, "/mcp", [("Authorization", f"Bearer {client_token(idp)}")])
        values += received_authorization(recorder, case, outcome)
    assert len(set(values)) == 1, "one cached token for every request"
    assert (idp.count("token"), envoy.stat(FETCHED)) == before, "no token request per client request"
    assert envoy.stat(STAT + "injected") >= 5


def test_a_request_the_filter_refuses_gets_no_token(envoys, idp, recorder):
    envoy = envoys.get("recipe")
    outcome = call(envoy, "refused-no-token", "/mcp", [])
    time.sleep(0.1)
    assert outcome.status == 401 and not recorder.of("refused-no-token"), outcome


# --- entra-guard's removal alone (injector with overwrite: false) ---------------------------

TWO = "Bearer {token}"
VARIANTS = [
    # (case, protocol, path, header lines): forwarded with only the injected token.
    ("h1-one", "h1", "/mcp", [("Authorization", TWO)]),
    ("h2-lowercase", "h2", "/mcp", [("authorization", TWO)]),
    ("h1-two-spellings-public", "h1", "/anon", [("Authorization", TWO), ("AUTHORIZATION", "Basic Zm9vOmJhcg==")]),
    ("h2-two-public", "h2", "/anon", [("authorization", TWO), ("authorization", "Basic Zm9vOmJhcg==")]),
]


@pytest.mark.parametrize("case,protocol,path,lines", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_removed_client_authorization_leaves_only_the_injected_token(envoys, idp, recorder, case, protocol, path,
                                                                     lines):
    envoy = envoys.get("strict")
    mine = client_token(idp)
    outcome = call(envoy, case, path, [(k, v.format(token=mine)) for k, v in lines], protocol)
    (value,) = received_authorization(recorder, case, outcome)
    assert mine not in value and "Basic" not in value
    assert_upstream_token(idp, value)


@pytest.mark.parametrize("protocol", ["h1", "h2"])
def test_two_bearer_tokens_on_a_jwt_rule_are_refused(envoys, idp, recorder, protocol):
    envoy = envoys.get("strict")
    case = f"two-bearers-{protocol}"
    names = ("Authorization", "authorization") if protocol == "h1" else ("authorization", "authorization")
    lines = [(name, f"Bearer {client_token(idp)}") for name in names]
    outcome = call(envoy, case, "/mcp", lines, protocol)
    time.sleep(0.1)
    assert outcome.status in (400, 401) and not recorder.of(case), outcome


def test_forward_rule_keeps_the_clients_token_and_the_injector_does_not_overwrite(envoys, idp, recorder):
    """Contrast: without `remove`, an injector with overwrite: false leaves the client's
    token in place (the recipe sets overwrite: true to replace it)."""
    envoy = envoys.get("strict")
    mine = client_token(idp)
    before = envoy.stat(STAT + "already_exists")
    outcome = call(envoy, "forward-strict", "/forward", [("Authorization", f"Bearer {mine}")])
    assert received_authorization(recorder, "forward-strict", outcome) == [f"Bearer {mine}"]
    assert envoy.stat(STAT + "already_exists") == before + 1


def test_recipe_overwrites_a_forwarded_client_token(envoys, idp, recorder):
    envoy = envoys.get("recipe")
    mine = client_token(idp)
    outcome = call(envoy, "forward-recipe", "/forward", [("Authorization", f"Bearer {mine}")])
    (value,) = received_authorization(recorder, "forward-recipe", outcome)
    assert mine not in value
    assert_upstream_token(idp, value)


@pytest.mark.parametrize("path", ["/forward", "/mcp"])
def test_without_the_injector(envoys, idp, recorder, path):
    """Contrast: `forward` passes the client's token unchanged, `remove` passes none."""
    envoy = envoys.get("no-injector")
    mine = client_token(idp)
    case = f"no-injector{path.replace('/', '-')}"
    outcome = call(envoy, case, path, [("Authorization", f"Bearer {mine}")])
    expected = [f"Bearer {mine}"] if path == "/forward" else []
    assert received_authorization(recorder, case, outcome) == expected


# --- when the token endpoint fails ------------------------------------------------------------


@pytest.mark.parametrize("failure", ["token-endpoint-503", "wrong-secret"])
def test_no_token_means_401_and_nothing_forwarded_until_a_fetch_succeeds(module_envoy_factory, idp, recorder,
                                                                        tmp_path, failure):
    sds = write_sds(tmp_path / "sds", SECRET if failure == "token-endpoint-503" else "not-the-secret")
    if failure == "token-endpoint-503":
        idp.set_fault("token", "status", status=503)
    try:
        envoy = module_envoy_factory(http_filters=[guard(filter_config(idp, rules=RULES)), injector(idp, sds)],
                                     upstream_port=recorder.port)
        bad = "oauth2.token_fetch_failed_on_bad_response_code"
        assert envoy.wait_for_stat(STAT + bad, lambda n: n >= 1) >= 1, envoy.log_tail()
        for protocol in ("h1", "h2"):
            case = f"{failure}-{protocol}"
            outcome = call(envoy, case, "/mcp", [("Authorization", f"Bearer {client_token(idp)}")], protocol)
            time.sleep(0.1)
            assert outcome.status == 401 and not recorder.of(case), outcome
            assert protocol == "h2" or outcome.body == REFUSED, outcome
        # Anonymous requests are still the filter's to refuse (its challenge, not the injector's).
        anonymous = call(envoy, f"{failure}-anonymous", "/mcp", [])
        assert anonymous.status == 401 and anonymous.header_values("www-authenticate"), anonymous
        assert envoy.stat(FETCHED) == 0
    finally:
        idp.clear_faults("token")
    if failure == "wrong-secret":
        write_sds(tmp_path / "sds", SECRET)  # rotated: the next retry uses the new secret
    assert envoy.wait_for_stat(FETCHED, lambda n: n >= 1) >= 1, envoy.log_tail()
    case = f"{failure}-recovered"
    outcome = call(envoy, case, "/mcp", [("Authorization", f"Bearer {client_token(idp)}")])
    (value,) = received_authorization(recorder, case, outcome)
    assert_upstream_token(idp, value)
