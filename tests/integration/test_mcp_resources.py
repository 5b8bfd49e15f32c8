"""Several MCP servers behind one Envoy (`protected_resources`): each its own Entra
app (audience), metadata and scopes under its own path prefix. A token for one is
refused at the other, whether the filter's token cache has seen it or not; each
challenge names its own resource's metadata; the root metadata path answers 404
when only the resources describe themselves. Real Envoy, echo upstream."""

from __future__ import annotations

import pytest
from filter_config import filter_config
from jwt_support import AUDIENCE, assert_invalid_token, assert_no_credentials, bearer, echoed

pytestmark = pytest.mark.wasm

ORIGIN = "https://gw.contoso.test"
PRM = "/.well-known/oauth-protected-resource"
APP_A = "aaaaaaaa-0000-4000-8000-00000000000a"
APP_B = "bbbbbbbb-0000-4000-8000-00000000000b"
REFUSAL = "entra-guard: invalid configuration: "


def resource(name: str, app: str) -> dict:
    return {
        "path_prefix": f"/{name}",
        "audiences": [app, f"api://{name}"],
        "mcp": {"resource": f"{ORIGIN}/{name}/mcp",
                "resource_metadata_url": f"{ORIGIN}{PRM}/{name}/mcp",
                "scopes_supported": [f"api://{name}/tools.call"]},
        "rules": [{"path_prefix": f"/{name}/mcp", "require": "jwt", "required_scopes": ["tools.call"]}],
    }


def two_resources(issuer) -> dict:
    return filter_config(issuer, rules=[{"path_prefix": "/health", "require": "none"}],
                         protected_resources=[resource("a", APP_A), resource("b", APP_B)])


@pytest.fixture(scope="module")
def envoy(module_envoy_factory, module_issuer):
    return module_envoy_factory(two_resources(module_issuer))


def token(issuer, app: str) -> str:
    return issuer.tokens.v2(aud=app, scp="tools.call")


def test_a_token_for_a_passes_at_a_and_is_refused_at_b(envoy, module_issuer):
    a = token(module_issuer, APP_A)
    # Cold: B never saw the token, nor did the cache.
    assert_invalid_token(envoy.get("/b/mcp", bearer(a)), AUDIENCE[0], f"{ORIGIN}{PRM}/b/mcp")
    # Warm: verified and cached at A, then sent to B again, many times (both workers).
    for _ in range(3):
        assert echoed(envoy.get("/a/mcp", bearer(a))).path == "/a/mcp"
    for _ in range(6):
        assert_invalid_token(envoy.get("/b/mcp", bearer(a)), AUDIENCE[0], f"{ORIGIN}{PRM}/b/mcp")
    assert echoed(envoy.get("/b/mcp", bearer(token(module_issuer, APP_B)))).path == "/b/mcp"


def test_without_a_token_each_resource_names_its_metadata_and_scope(envoy):
    assert_no_credentials(envoy.get("/b/mcp"), scope="api://b/tools.call",
                          resource_metadata=f"{ORIGIN}{PRM}/b/mcp")
    assert_no_credentials(envoy.get("/a/mcp"), scope="api://a/tools.call",
                          resource_metadata=f"{ORIGIN}{PRM}/a/mcp")
    assert envoy.get("/health").status == 200
    assert_no_credentials(envoy.get("/elsewhere"))  # the top level: no mcp block


def test_each_resource_serves_its_metadata_and_the_root_answers_404(envoy, module_issuer):
    authority = f"{module_issuer.base_url}/{module_issuer.tenant_id}/v2.0"
    for name in ("a", "b"):
        response = envoy.get(f"{PRM}/{name}/mcp")
        assert response.status == 200, response
        assert response.header("access-control-allow-origin") == "*"
        assert response.json() == {
            "resource": f"{ORIGIN}/{name}/mcp",
            "authorization_servers": [authority],
            "scopes_supported": [f"api://{name}/tools.call"],
            "bearer_methods_supported": ["header"],
        }
    root = envoy.get(PRM)
    assert root.status == 404, root
    assert root.json()["error"] == "not_found"
    assert root.header("access-control-allow-origin") == "*"
    preflight = envoy.request("OPTIONS", PRM, {"Origin": "https://app.example",
                                               "Access-Control-Request-Method": "GET"})
    assert preflight.status == 204, preflight


def test_a_path_that_reads_as_two_resources_is_refused(envoy, module_issuer):
    a = token(module_issuer, APP_A)
    for path in ("/a/../b/mcp", "/A/mcp"):
        assert envoy.get(path, bearer(a)).status == 400, path


@pytest.mark.parametrize(("change", "reason"), [
    pytest.param(lambda rs: rs[1].update(path_prefix="/A/b", rules=[]),
                 "protected_resources[1].path_prefix: overlaps protected_resources[0].path_prefix "
                 "(letter case ignored)", id="overlapping-prefixes"),
    pytest.param(lambda rs: rs[1]["mcp"].update(resource=f"{ORIGIN}/a/mcp"),
                 "protected_resources[1].mcp.resource: is also protected_resources[0].mcp.resource",
                 id="same-resource"),
    pytest.param(lambda rs: rs[0]["rules"][0].update(path_prefix="/b/mcp"),
                 "protected_resources[0].rules[0].path_prefix: must be under the resource's path_prefix (/a)",
                 id="rule-outside-its-resource"),
])
def test_an_ambiguous_configuration_is_refused(envoy_factory, issuer, change, reason):
    config = two_resources(issuer)
    change(config["protected_resources"])
    rejection = envoy_factory(config, expect_rejection=True)
    assert rejection.exited and rejection.returncode != 0, rejection.log[-2000:]
    refusals = [line.split(REFUSAL, 1)[1] for line in rejection.log.splitlines() if REFUSAL in line]
    assert refusals == [reason]
    assert "configured: authority" not in rejection.log
