"""`make demo`: envoy/demo.yaml is a complete Envoy configuration, its filter JSON is
envoy/demo-filter.json, and scripts/demo.py comes up, answers every curl line it
prints, and its sign-in page takes a person through the user sign-in (authorization
code + PKCE at the issuer's sign-in page) to tools answering with the user's token (run
on free ports so it never collides with a demo someone is running)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import yaml
from paths import REPO_ROOT, find_envoy

DEMO_YAML = REPO_ROOT / "envoy" / "demo.yaml"
DEMO_FILTER = REPO_ROOT / "envoy" / "demo-filter.json"


def plugin_config() -> dict:
    config = yaml.safe_load(DEMO_YAML.read_text())
    (listener,) = config["static_resources"]["listeners"]
    hcm = listener["filter_chains"][0]["filters"][0]["typed_config"]
    wasm = next(f for f in hcm["http_filters"] if f["name"] == "envoy.filters.http.wasm")
    return wasm["typed_config"]["config"]


def test_demo_yaml_validates_from_the_repository_root(wasm_path):
    done = subprocess.run([str(find_envoy()), "--mode", "validate", "-c", "envoy/demo.yaml"], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "configuration 'envoy/demo.yaml' OK" in done.stdout + done.stderr


def test_demo_yaml_embeds_demo_filter_json():
    plugin = plugin_config()
    assert json.loads(plugin["configuration"]["value"]) == json.loads(DEMO_FILTER.read_text())
    assert plugin["vm_config"]["code"]["local"]["filename"] == "target/wasm32-unknown-unknown/release/entra_guard.wasm"
    assert plugin["allow_on_headers_stop_iteration"] is True  # the per-tool rule reads the body
    assert plugin["failure_policy"] == "FAIL_CLOSED"


def test_demo_runs_and_every_printed_line_works(wasm_path):
    ports = [arg for name in ("issuer", "mcp", "listener", "admin", "page") for arg in (f"--{name}-port", "0")]
    done = subprocess.run([sys.executable, "scripts/demo.py", "--check", *ports], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=150)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"demo check: (\d+) of \1 steps ok", done.stdout), done.stdout
    assert re.search(r"ok   \d+\. User sign-in in a browser", done.stdout), done.stdout
