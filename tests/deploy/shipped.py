"""What the checks of tests/deploy look at: the shipped YAML files, loaded once.

Every YAML file under envoy/, compose/ and deploy/ is loaded once here and
classified: an Envoy bootstrap, a docker-compose file, or Kubernetes manifests;
the filter configurations embedded in them are collected.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
YAML_ROOTS = ("envoy", "compose", "deploy")
WASM_FILTER_TYPE = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm"
INJECTOR_TYPE = "type.googleapis.com/envoy.extensions.filters.http.credential_injector.v3.CredentialInjector"
SHIPPED_WASM_PATH = "/etc/envoy/entra_guard.wasm"  # production and compose configs
BUILD_WASM_PATH = "target/wasm32-unknown-unknown/release/entra_guard.wasm"  # configs run from the repository root
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# Secrets (file-based SDS) of the recipes: where a deployment puts them, and the shipped
# examples (placeholders) that stand in for them when a config is validated.
SHIPPED_SECRETS_DIR = "/etc/envoy/secrets"
EXAMPLE_SECRETS_DIR = "envoy/recipes/secrets"
SECRET_TYPE = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"


@dataclass
class YamlFile:
    path: Path
    docs: list[Any]
    kind: str  # "envoy" | "compose" | "kubernetes" | "sds"

    @property
    def rel(self) -> str:
        return self.path.relative_to(REPO).as_posix()


@dataclass
class Manifest:
    file: YamlFile
    index: int
    doc: dict

    @property
    def api_version(self) -> str:
        return self.doc.get("apiVersion", "")

    @property
    def kind(self) -> str:
        return self.doc.get("kind", "")

    @property
    def name(self) -> str:
        return (self.doc.get("metadata") or {}).get("name", "")

    @property
    def namespace(self) -> str:
        return (self.doc.get("metadata") or {}).get("namespace", "default")

    @property
    def spec(self) -> dict:
        return self.doc.get("spec") or {}

    def __str__(self) -> str:
        return f"{self.file.rel}#{self.index} {self.kind}/{self.name}"


@dataclass
class FilterConfig:
    """A filter configuration embedded in a shipped file, and where."""

    where: str
    config: dict
    extra: dict = field(default_factory=dict)


def classify(path: Path, docs: list[Any]) -> str:
    docs = [d for d in docs if d is not None]
    if len(docs) == 1 and isinstance(docs[0], dict) and "static_resources" in docs[0]:
        return "envoy"
    if len(docs) == 1 and isinstance(docs[0], dict) and "services" in docs[0]:
        return "compose"
    if docs and all(isinstance(d, dict) and "apiVersion" in d and "kind" in d for d in docs):
        return "kubernetes"
    if len(docs) == 1 and isinstance(docs[0], dict) and set(docs[0]) == {"resources"}:
        return "sds"
    return "unknown"


def load_yaml_files() -> list[YamlFile]:
    files = []
    for root in YAML_ROOTS:
        for path in sorted((REPO / root).rglob("*")):
            if path.suffix in (".yaml", ".yml") and path.is_file():
                docs = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
                files.append(YamlFile(path, docs, classify(path, docs)))
    return files


YAML_FILES = load_yaml_files()
ENVOY_FILES = [f for f in YAML_FILES if f.kind == "envoy"]
COMPOSE_FILES = [f for f in YAML_FILES if f.kind == "compose"]
SDS_FILES = [f for f in YAML_FILES if f.kind == "sds"]
MANIFESTS = [Manifest(f, i, d) for f in YAML_FILES if f.kind == "kubernetes" for i, d in enumerate(f.docs)]


def manifests(kind: str) -> list[Manifest]:
    return [m for m in MANIFESTS if m.kind == kind]


def typed_configs(node: Any, type_url: str) -> list[dict]:
    """Every typed config of `type_url` anywhere in `node` (a bootstrap, a manifest)."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("@type") == type_url:
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(node)
    return found


def wasm_filters(envoy_config: dict) -> list[dict]:
    """The `config` of every Wasm HTTP filter anywhere in an Envoy bootstrap."""
    return [node["config"] for node in typed_configs(envoy_config, WASM_FILTER_TYPE)]


def clusters_of(envoy_config: dict) -> dict[str, dict]:
    return {c["name"]: c for c in (envoy_config.get("static_resources") or {}).get("clusters", [])}


def embedded_filter_configs() -> list[FilterConfig]:
    """Every filter JSON shipped: Envoy wasm filters, Istio pluginConfig, EG wasm config."""
    configs = []
    for file in ENVOY_FILES:
        for i, wasm in enumerate(wasm_filters(file.docs[0])):
            text = wasm["configuration"]["value"]
            configs.append(FilterConfig(f"{file.rel} wasm filter {i}", json.loads(text), {"envoy": file}))
    for plugin in manifests("WasmPlugin"):
        configs.append(FilterConfig(str(plugin), plugin.spec["pluginConfig"], {"manifest": plugin}))
    for policy in manifests("EnvoyExtensionPolicy"):
        for i, wasm in enumerate(policy.spec.get("wasm", [])):
            configs.append(FilterConfig(f"{policy} wasm[{i}]", wasm["config"], {"manifest": policy}))
    return configs


def credential_injectors() -> list[FilterConfig]:
    """Every credential_injector filter shipped (Envoy configs, Istio EnvoyFilter patches,
    Envoy Gateway EnvoyPatchPolicy values), with the filter configs of its file."""
    found = []
    for file in YAML_FILES:
        if file.kind not in ("envoy", "kubernetes"):
            continue
        guards = [c.config for c in embedded_filter_configs() if c.where.startswith(file.rel + " ") or (
            "manifest" in c.extra and c.extra["manifest"].file is file)]
        for i, injector in enumerate(typed_configs(file.docs, INJECTOR_TYPE)):
            found.append(FilterConfig(f"{file.rel} credential_injector {i}", injector, {"file": file, "guards": guards}))
    return found


# --- tools ----------------------------------------------------------------------------


def find_envoy() -> Path | None:
    for candidate in (os.environ.get("ENVOY_BIN"), REPO / ".venv" / "bin" / "envoy", shutil.which("envoy")):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def find_wasm() -> Path:
    return Path(os.environ.get("ENTRA_GUARD_WASM")
                or REPO / "target" / "wasm32-unknown-unknown" / "release" / "entra_guard.wasm")
