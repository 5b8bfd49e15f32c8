"""The shipped credential_injector recipes (envoy/recipes, deploy/*/recipes): the
upstream gets a token of its own, never the client's, and never a request without one.

Every credential_injector filter shipped must overwrite, refuse requests it has no
token for, ask Entra's v2.0 token endpoint of the tenant entra-guard checks for one
`.default` resource, read the client secret through file-based SDS from the shipped
secrets directory, and sit behind an entra-guard whose JWT rules remove the client's
token. Its cluster must exist where the deployment puts it, and Envoy must accept it
(checked in a minimal bootstrap for the Kubernetes ones; the Envoy recipe is
validated whole by test_manifests.py). The example secrets hold placeholders only.
"""

from __future__ import annotations

import posixpath
import re

import pytest
import yaml
from shipped import (
    EXAMPLE_SECRETS_DIR,
    REPO,
    SDS_FILES,
    SECRET_TYPE,
    SHIPPED_SECRETS_DIR,
    clusters_of,
    credential_injectors,
    manifests,
)

INJECTORS = credential_injectors()
OAUTH2_TYPE = "type.googleapis.com/envoy.extensions.http.injected_credentials.oauth2.v3.OAuth2"
TOKEN_URI = re.compile(r"https://login\.microsoftonline\.com/([0-9a-f-]{36})/oauth2/v2\.0/token")
PLACEHOLDER = "REPLACE-WITH-THE-CLIENT-SECRET-VALUE"
ROUTER = "envoy.filters.http.router"


def ids(items):
    return [item.where for item in items]


def oauth2(injector) -> dict:
    credential = injector.config["credential"]
    assert credential["name"] == "envoy.http.injected_credentials.oauth2"
    assert credential["typed_config"]["@type"] == OAUTH2_TYPE
    return credential["typed_config"]


def sds_source(injector) -> tuple[str, dict]:
    secret = oauth2(injector)["client_credentials"]["client_secret"]
    return secret["name"], secret["sds_config"]["path_config_source"]


def test_there_are_recipes():
    assert {i.extra["file"].rel for i in INJECTORS} >= {
        "envoy/recipes/credential-injector.yaml", "deploy/istio/recipes/credential-injector.yaml",
        "deploy/envoy-gateway/recipes/credential-injector.yaml"}


@pytest.mark.parametrize("injector", INJECTORS, ids=ids(INJECTORS))
def test_injector_replaces_and_never_passes_without_a_token(injector):
    assert injector.config["overwrite"] is True
    assert injector.config["allow_request_without_credential"] is False
    config = oauth2(injector)
    match = TOKEN_URI.fullmatch(config["token_endpoint"]["uri"])
    assert match, config["token_endpoint"]
    tenants = {guard["entra"]["tenant_id"] for guard in injector.extra["guards"]}
    assert tenants == {match.group(1)}, "the token endpoint of the tenant entra-guard checks"
    (scope,) = config["scopes"]
    assert scope.endswith("/.default"), "client credentials ask for <resource>/.default"
    audiences = {a for guard in injector.extra["guards"] for a in guard["entra"]["audiences"]}
    assert scope.removesuffix("/.default") not in audiences, "the upstream's own audience, not the MCP resource's"
    assert config["client_credentials"]["auth_type"] == "URL_ENCODED_BODY"


@pytest.mark.parametrize("injector", INJECTORS, ids=ids(INJECTORS))
def test_guard_removes_the_clients_token_on_jwt_rules(injector):
    assert injector.extra["guards"], "no entra-guard in front of the injector"
    for guard in injector.extra["guards"]:
        for rule in guard["rules"]:
            if rule["require"] != "none":
                assert rule.get("upstream_authorization") == "remove", rule


@pytest.mark.parametrize("injector", INJECTORS, ids=ids(INJECTORS))
def test_secret_comes_from_a_shipped_sds_file(injector):
    name, source = sds_source(injector)
    directory, filename = posixpath.split(source["path"])
    assert directory == SHIPPED_SECRETS_DIR and source["watched_directory"]["path"] == directory
    example = REPO / EXAMPLE_SECRETS_DIR / filename
    assert example.is_file(), f"no example {example.relative_to(REPO)} for {source['path']}"
    (resource,) = yaml.safe_load(example.read_text())["resources"]
    assert resource["name"] == name


@pytest.mark.parametrize("file", SDS_FILES, ids=[f.rel for f in SDS_FILES])
def test_example_secrets_are_placeholders(file):
    for resource in file.docs[0]["resources"]:
        assert resource["@type"] == SECRET_TYPE
        assert resource["generic_secret"]["secret"] == {"inline_string": PLACEHOLDER}, "never a real secret"


KUBERNETES = [i for i in INJECTORS if i.extra["file"].kind == "kubernetes"]


@pytest.mark.parametrize("injector", KUBERNETES, ids=ids(KUBERNETES))
def test_kubernetes_secret_is_the_sds_file(injector):
    name, source = sds_source(injector)
    filename = posixpath.basename(source["path"])
    secrets = [m for m in manifests("Secret") if m.file is injector.extra["file"]]
    assert [s.name for s in secrets] == [name]
    example = yaml.safe_load((REPO / EXAMPLE_SECRETS_DIR / filename).read_text())
    assert yaml.safe_load(secrets[0].doc["stringData"][filename]) == example


@pytest.mark.parametrize("injector", KUBERNETES, ids=ids(KUBERNETES))
def test_kubernetes_injector_is_valid_envoy_config(injector, validate_envoy):
    cluster = oauth2(injector)["token_endpoint"]["cluster"]
    filters = [{"name": "envoy.filters.http.credential_injector", "typed_config": injector.config},
               {"name": ROUTER, "typed_config": {
                   "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}]
    hcm = {"@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3"
                    ".HttpConnectionManager",
           "stat_prefix": "check", "route_config": {}, "http_filters": filters}
    bootstrap = {
        "node": {"id": "check", "cluster": "check"},
        "static_resources": {
            "listeners": [{"name": "check", "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
                           "filter_chains": [{"filters": [{"name": "hcm", "typed_config": hcm}]}]}],
            "clusters": [{"name": cluster, "type": "STATIC", "load_assignment": {"cluster_name": cluster}}],
        },
    }
    ok, output = validate_envoy(bootstrap, f"injector-{injector.extra['file'].rel}")
    assert ok, output


def test_istio_injector_runs_after_entra_guard_and_reaches_entra():
    (envoy_filter,) = [m for m in manifests("EnvoyFilter") if m.file.rel.startswith("deploy/istio/recipes/")]
    (plugin,) = [m for m in manifests("WasmPlugin") if m.file is envoy_filter.file]
    assert envoy_filter.spec["workloadSelector"]["labels"] == plugin.spec["selector"]["matchLabels"]
    (patch,) = envoy_filter.spec["configPatches"]
    assert patch["applyTo"] == "HTTP_FILTER" and patch["match"]["context"] == "SIDECAR_INBOUND"
    assert patch["match"]["listener"]["filterChain"]["filter"]["subFilter"]["name"] == ROUTER
    assert patch["patch"]["operation"] == "INSERT_BEFORE"
    cluster = patch["patch"]["value"]["typed_config"]["credential"]["typed_config"]["token_endpoint"]["cluster"]
    assert cluster == plugin.spec["pluginConfig"]["entra"]["cluster"], "the ServiceEntry's TLS-originated cluster"


def test_envoy_gateway_injector_runs_after_entra_guard_and_reaches_entra():
    (policy,) = [m for m in manifests("EnvoyPatchPolicy") if m.file.rel.startswith("deploy/envoy-gateway/recipes/")]
    ref = policy.spec["targetRef"]
    gateway = next(m for m in manifests("Gateway") if m.name == ref["name"] and m.namespace == policy.namespace)
    assert ref["kind"] == "Gateway" and policy.spec["type"] == "JSONPatch"
    (patch,) = policy.spec["jsonPatches"]
    listeners = {f"{gateway.namespace}/{gateway.name}/{listener['name']}" for listener in gateway.spec["listeners"]}
    assert patch["name"] in listeners, "Envoy Gateway's listener name <namespace>/<gateway>/<listener>"
    operation = patch["operation"]
    assert operation["op"] == "add" and "path" not in operation
    assert operation["jsonPath"] == f"..http_filters[?(@.name=='{ROUTER}')]", "inserted in front of the router"
    cluster = operation["value"]["typed_config"]["credential"]["typed_config"]["token_endpoint"]["cluster"]
    (proxy,) = [m for m in manifests("EnvoyProxy") if m.file is policy.file]
    assert cluster in clusters_of(yaml.safe_load(proxy.spec["bootstrap"]["value"]))
    deployment = proxy.spec["provider"]["kubernetes"]["envoyDeployment"]
    (volume,) = deployment["pod"]["volumes"]
    (mount,) = deployment["container"]["volumeMounts"]
    (secret,) = [m for m in manifests("Secret") if m.file is policy.file]
    assert volume["secret"]["secretName"] == secret.name and mount["name"] == volume["name"]
    assert mount["mountPath"] == SHIPPED_SECRETS_DIR and mount.get("readOnly") is True


def test_envoy_recipe_injector_follows_entra_guard():
    (injector,) = [i for i in INJECTORS if i.extra["file"].kind == "envoy"]
    config = injector.extra["file"].docs[0]
    hcm = config["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    assert [f["name"] for f in hcm["http_filters"]] == [
        "envoy.filters.http.wasm", "envoy.filters.http.credential_injector", ROUTER]
    assert oauth2(injector)["token_endpoint"]["cluster"] in clusters_of(config)
    assert config["node"]["id"] and config["node"]["cluster"], "file-based SDS needs them"
