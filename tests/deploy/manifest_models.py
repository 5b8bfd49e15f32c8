"""Kubernetes manifests checked against the models of their kinds.

The models are those of the kubernetes-models npm packages (Istio, Envoy
Gateway, Gateway API, core), pinned in manifests/package.json and
package-lock.json and installed by `make deploy-deps` (`npm ci`). The node
program manifests/validate.mjs runs two checks per manifest: the model's
validate() (ajv code compiled from the kind's OpenAPI schema: types, enums,
patterns, required fields) and a TypeScript --strict check of the manifest
as an object literal of the model's closed type (an unknown field is an error,
except where the CRD preserves unknown fields). A manifest whose apiVersion and
kind have no model fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

NODE_DIR = Path(__file__).resolve().parent / "manifests"
VALIDATOR = NODE_DIR / "validate.mjs"
INSTALLED = NODE_DIR / "node_modules" / ".installed"


class ModelsUnavailable(RuntimeError):
    """node or the npm packages are missing."""


def model_errors(docs: dict[str, dict]) -> dict[str, list[str]]:
    """Why each manifest does not match its kind's model ([] when it does), by id.

    One node run for all of them: the TypeScript program is compiled once.
    """
    node = shutil.which("node")
    if node is None:
        raise ModelsUnavailable("node is missing (apt-get install nodejs npm)")
    if not INSTALLED.is_file():
        raise ModelsUnavailable(f"{NODE_DIR.name}/node_modules missing: run `make deploy-deps` (npm ci)")
    payload = json.dumps([{"id": key, "doc": doc} for key, doc in docs.items()])
    result = subprocess.run([node, str(VALIDATOR)], input=payload, capture_output=True, text=True,
                            cwd=NODE_DIR, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"{VALIDATOR.name} failed ({result.returncode}):\n{result.stderr.strip()}")
    found = json.loads(result.stdout)
    return {key: [f"{e['check']} {e['path'] or '(top)'}: {e['message']}" for e in errors]
            for key, errors in found.items()}
