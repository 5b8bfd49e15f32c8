"""Every shipped Kubernetes manifest matches the model of its kind.

The models are the kubernetes-models npm packages' (Istio, Envoy Gateway,
Gateway API, core; pinned in manifests/package-lock.json), applied by
manifest_models.py: an unknown field, a wrong type or a value outside an enum
fails, and so does a manifest of a kind with no model. All the manifests of
this module (shipped, broken on purpose, examples) go through one node run.
"""

from __future__ import annotations

import copy
import re

import pytest
from manifest_models import ModelsUnavailable, model_errors
from shipped import MANIFESTS, manifests

# The kinds docs/deploy.md and the manifests may use: each must have a model.
PLANNED = [
    ("networking.istio.io/v1", ["ServiceEntry", "DestinationRule"]),
    ("networking.istio.io/v1alpha3", ["EnvoyFilter"]),  # EnvoyFilter has no v1
    ("extensions.istio.io/v1alpha1", ["WasmPlugin"]),
    ("security.istio.io/v1", ["AuthorizationPolicy", "RequestAuthentication"]),
    ("gateway.envoyproxy.io/v1alpha1", ["EnvoyExtensionPolicy", "EnvoyProxy", "Backend", "ClientTrafficPolicy",
                                        "SecurityPolicy", "BackendTrafficPolicy", "EnvoyPatchPolicy",
                                        "HTTPRouteFilter"]),
    ("gateway.networking.k8s.io/v1", ["Gateway", "HTTPRoute", "GatewayClass"]),
    ("v1", ["Secret", "ConfigMap"]),
]


def shipped(kind: str) -> dict | None:
    found = manifests(kind)
    return copy.deepcopy(found[0].doc) if found else None


def rename(node: dict, old: str, new: str) -> None:
    node[new] = node.pop(old)


def set_in(node: dict, path: list, value) -> None:
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value


def mutated(kind: str, mutate) -> dict | None:
    """The first shipped manifest of that kind, changed; None when there is none
    or it lacks the field to change (that case's test then fails)."""
    doc = shipped(kind)
    if doc is None:
        return None
    try:
        mutate(doc)
    except (KeyError, IndexError, TypeError):
        return None
    return doc


SECRET = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "mcp"},
          "type": "Opaque", "data": {"key": "c2VjcmV0"}, "stringData": {"other": "plain text"}}
CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
              "data": {"key": "value"}, "binaryData": {"wasm": "AGFzbQ=="}}
# EnvoyFilter patch values are Envoy config: the CRD preserves unknown fields there.
ENVOY_FILTER = {"apiVersion": "networking.istio.io/v1alpha3", "kind": "EnvoyFilter",
                "metadata": {"name": "f", "namespace": "mcp"},
                "spec": {"configPatches": [{"applyTo": "CLUSTER", "match": {"context": "SIDECAR_OUTBOUND"},
                                            "patch": {"operation": "ADD", "value": {"name": "entra", "any": [1]}}}]}}

# A typo inside a union member (the spec type is one of with/without `provider`),
# where TypeScript's own excess-property check looks no deeper than spec.
AUTHORIZATION_POLICY = {"apiVersion": "security.istio.io/v1", "kind": "AuthorizationPolicy",
                        "metadata": {"name": "a", "namespace": "mcp"},
                        "spec": {"action": "DENY", "rules": [{"from": [{"source": {"principal": ["x"]}}]}]}}

# (what, kind it is derived from, mutation, error prefixes that must all appear)
BROKEN = [
    ("misspelled spec field", "WasmPlugin",
     lambda d: rename(d["spec"], "failStrategy", "failStratgy"), ["fields spec.failStratgy:", "types spec.failStratgy:"]),
    ("misspelled nested field", "DestinationRule",
     lambda d: rename(d["spec"]["trafficPolicy"]["portLevelSettings"][0]["tls"], "sni", "snl"),
     ["fields spec.trafficPolicy.portLevelSettings.0.tls.snl:"]),
    ("misspelled top-level field", "EnvoyExtensionPolicy", lambda d: rename(d, "spec", "spce"),
     ["fields spce:", "schema (top): must have required property spec"]),
    ("misspelled metadata field", "ServiceEntry",
     lambda d: rename(d["metadata"], "namespace", "namepsace"), ["fields metadata.namepsace:"]),
    ("metadata name not RFC 1123", "ServiceEntry",
     lambda d: set_in(d, ["metadata", "name"], "Entra_Login"), ["metadata metadata.name:"]),
    ("port as a string", "ServiceEntry", lambda d: set_in(d, ["spec", "ports", 0, "number"], "443"),
     ["schema spec.ports.0.number: must be integer", "types spec.ports.0.number:"]),
    ("value outside the enum", "WasmPlugin", lambda d: set_in(d, ["spec", "phase"], "AUTH"),
     ["schema spec.phase: must be equal to one of the allowed values", "types spec.phase:"]),
    ("list given as a string", "Backend", lambda d: set_in(d, ["spec", "endpoints"], "login"),
     ["schema spec.endpoints: must be array", "types spec.endpoints:"]),
    ("Envoy Gateway nested typo", "EnvoyExtensionPolicy",
     lambda d: rename(d["spec"]["wasm"][0]["code"]["image"], "url", "uri"), ["fields spec.wasm.0.code.image.uri:"]),
    ("Envoy Gateway enum", "ClientTrafficPolicy",
     lambda d: set_in(d, ["spec", "path", "escapedSlashesAction"], "Reject"),
     ["schema spec.path.escapedSlashesAction: must be equal to one of the allowed values"]),
    ("Gateway API field typo", "HTTPRoute", lambda d: rename(d["spec"], "parentRefs", "parentRef"),
     ["fields spec.parentRef:"]),
    ("Gateway API wrong type", "Gateway", lambda d: set_in(d, ["spec", "listeners", 0, "port"], "80"),
     ["schema spec.listeners.0.port: must be integer", "types spec.listeners.0.port:"]),
    ("required field missing", "WasmPlugin", lambda d: d["spec"].pop("url"),
     ["schema spec: must have required property url"]),
    ("unknown apiVersion", "WasmPlugin", lambda d: set_in(d, ["apiVersion"], "extensions.istio.io/v1beta9"),
     ["model (top): no model for extensions.istio.io/v1beta9 WasmPlugin"]),
    ("unknown kind", "WasmPlugin", lambda d: set_in(d, ["kind"], "WasmPlugins"),
     ["model (top): no model for extensions.istio.io/v1alpha1 WasmPlugins"]),
    ("type that is not a kind", "Backend", lambda d: set_in(d, ["kind"], "BackendSpec"),
     ["model (top): no model"]),
]


# Where the CRDs keep unknown fields (the filter's configuration, Envoy config
# patched in by EnvoyFilter / EnvoyPatchPolicy, which `envoy --mode validate`
# checks instead) and string maps (labels, a Secret's data).
OPEN = re.compile(r"^spec\.(pluginConfig|wasm\.\d+\.config|configPatches\.\d+\.patch\.value"
                  r"|jsonPatches\.\d+\.operation\.value)(\.|$)"
                  r"|(^|\.)(matchLabels|labels)$|^(stringData|data)$")


def object_paths(node, path: tuple = ()):
    """The path of every object in a manifest, the manifest included."""
    if isinstance(node, dict):
        yield path
        for key, value in node.items():
            yield from object_paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from object_paths(value, (*path, index))


def with_unknown_field(doc: dict, path: tuple) -> dict:
    doc = copy.deepcopy(doc)
    node = doc
    for part in path:
        node = node[part]
    node["unknownField"] = "x"
    return doc


def sweep_key(manifest, path: tuple) -> str:
    return f"sweep:{manifest}|{'.'.join(map(str, (*path, 'unknownField')))}"


def sweep() -> dict[str, dict]:
    return {sweep_key(m, path): with_unknown_field(m.doc, path) for m in MANIFESTS for path in object_paths(m.doc)}


def open_fields() -> dict | None:
    plugin = mutated("WasmPlugin", lambda d: set_in(d, ["spec", "pluginConfig", "anything"], {"goes": [1, "x"]}))
    policy = mutated("EnvoyExtensionPolicy", lambda d: set_in(d, ["spec", "wasm", 0, "config", "anything"], True))
    return {"open:WasmPlugin": plugin, "open:EnvoyExtensionPolicy": policy, "open:EnvoyFilter": ENVOY_FILTER}


def secret_with(mutate) -> dict:
    doc = copy.deepcopy(SECRET)
    mutate(doc)
    return doc


def cases() -> dict[str, dict | None]:
    docs = {f"shipped:{m}": m.doc for m in MANIFESTS}
    docs |= {f"broken:{what}": mutated(kind, mutate) for what, kind, mutate, _ in BROKEN}
    docs |= open_fields()
    docs |= sweep()
    docs["broken:typo in a union member"] = AUTHORIZATION_POLICY
    docs |= {f"planned:{api_version} {kind}": {"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}}
             for api_version, kinds in PLANNED for kind in kinds}
    docs |= {"core:Secret": SECRET, "core:ConfigMap": CONFIG_MAP,
             "core:Secret data not base64": secret_with(lambda d: set_in(d, ["data", "key"], "not base64!")),
             "core:Secret misspelled stringData": secret_with(lambda d: rename(d, "stringData", "stringdata"))}
    return docs


@pytest.fixture(scope="session")
def results() -> dict[str, list[str] | None]:
    docs = cases()
    try:
        found = model_errors({key: doc for key, doc in docs.items() if doc is not None})
    except ModelsUnavailable as error:
        pytest.fail(str(error), pytrace=False)
    return {key: found.get(key) for key in docs}


def errors_of(results: dict, key: str) -> list[str]:
    errors = results[key]
    assert errors is not None, f"{key}: no shipped manifest of that kind with that field to derive it from"
    return errors


@pytest.mark.parametrize("manifest", MANIFESTS, ids=[str(m) for m in MANIFESTS])
def test_manifest_matches_its_model(results, manifest):
    errors = errors_of(results, f"shipped:{manifest}")
    assert not errors, f"{manifest}:\n  " + "\n  ".join(errors)


@pytest.mark.parametrize("api_version,kind", [(a, k) for a, kinds in PLANNED for k in kinds])
def test_every_planned_kind_has_a_model(results, api_version, kind):
    errors = errors_of(results, f"planned:{api_version} {kind}")
    assert not [e for e in errors if e.startswith("model ")], errors


# --- the check can fail -----------------------------------------------------------------------


@pytest.mark.parametrize("what,kind,expected", [(b[0], b[1], b[3]) for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_model_check_refuses_a_broken_manifest(results, what, kind, expected):
    source = manifests(kind)
    assert source and errors_of(results, f"shipped:{source[0]}") == [], "the source must pass before it is broken"
    errors = errors_of(results, f"broken:{what}")
    missing = [prefix for prefix in expected if not any(e.startswith(prefix) for e in errors)]
    assert not missing, f"{what}: expected {missing} in {errors}"


def test_typo_in_a_union_member_is_refused(results):
    errors = errors_of(results, "broken:typo in a union member")
    assert any(e.startswith("fields spec.rules.0.from.0.source.principal:") for e in errors), errors


@pytest.mark.parametrize("manifest", MANIFESTS, ids=[str(m) for m in MANIFESTS])
def test_every_object_of_a_shipped_manifest_refuses_an_unknown_field(results, manifest):
    """An unknown field is refused in every object of the manifest, except where
    the CRD keeps unknown fields (OPEN): checks the closed types reach every
    field the shipped manifests use, and the open places stay open."""
    wrong = []
    for path in object_paths(manifest.doc):
        where = ".".join(map(str, (*path, "unknownField")))
        refused = any(e.startswith(f"fields {where}:") for e in errors_of(results, sweep_key(manifest, path)))
        if refused == bool(OPEN.search(".".join(map(str, path)))):
            wrong.append(f"{where}: {'refused' if refused else 'accepted'}")
    assert not wrong, f"{manifest}:\n  " + "\n  ".join(wrong)


@pytest.mark.parametrize("key", ["open:WasmPlugin", "open:EnvoyExtensionPolicy", "open:EnvoyFilter"])
def test_model_check_keeps_preserved_fields_open(results, key):
    """Fields under x-kubernetes-preserve-unknown-fields (the filter's own
    configuration, Envoy config patches) are not the CRD's to check."""
    assert errors_of(results, key) == []


def test_core_kinds(results):
    assert results["core:Secret"] == [] and results["core:ConfigMap"] == []
    plain = errors_of(results, "core:Secret data not base64")
    assert any(e.startswith("schema data.key: must match format \"byte\"") for e in plain), plain
    typo = errors_of(results, "core:Secret misspelled stringData")
    assert any(e.startswith("fields stringdata:") for e in typo), typo
