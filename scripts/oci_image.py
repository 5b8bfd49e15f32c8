#!/usr/bin/env python3
"""The Wasm plugin as an OCI image, written without Docker: `make oci`.

    python3 scripts/oci_image.py [--wasm FILE] [--out target/oci] [--name entra-guard] [--tag VERSION]

Layout: the *compat* variant of the Wasm image specification that Istio
(WasmPlugin `url: oci://...`) and Envoy Gateway (EnvoyExtensionPolicy
`code.type: Image`) pull: one `application/vnd.oci.image.layer.v1.tar+gzip` layer
holding a single file, `plugin.wasm`, at its root -- the image `FROM scratch` +
`COPY entra_guard.wasm /plugin.wasm` (deploy/oci/Dockerfile) would give.

Writes, under --out:
  entra-guard.tar   OCI image layout (oci-layout, index.json, blobs/sha256/...) that
                    also carries Docker's manifest.json, so all of these read it:
                      skopeo copy oci-archive:target/oci/entra-guard.tar docker://REGISTRY/entra-guard:TAG
                      crane push target/oci/entra-guard.tar REGISTRY/entra-guard:TAG
                      docker load -i target/oci/entra-guard.tar
  layout/           the same layout unpacked (skopeo copy oci:target/oci/layout:TAG ...)
  digest            sha256:<manifest digest>; registries keep it when the manifest is
                    pushed unchanged (skopeo, crane, oras); `docker push` after
                    `docker load` re-encodes it as a Docker manifest (new digest).

Reproducible: fixed timestamps ($SOURCE_DATE_EPOCH, default 0), owner 0:0,
gzip without name or time, sorted JSON. The same plugin.wasm always gives the
same digest.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WASM = REPO / "target" / "wasm32-unknown-unknown" / "release" / "entra_guard.wasm"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
PLUGIN_FILE = "plugin.wasm"


def canonical_json(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def tar_bytes(members: list[tuple[str, bytes, int]], mtime: int) -> bytes:
    """A tar of (name, content, mode) members, byte-for-byte reproducible."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, content, mode in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), mode, mtime
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(content))
    return out.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0) as gz:
        gz.write(data)
    return out.getvalue()


def cargo_version() -> str:
    match = re.search(r'^version\s*=\s*"([^"]+)"', (REPO / "Cargo.toml").read_text(), re.MULTILINE)
    return match.group(1) if match else "0.0.0"


def build(wasm: bytes, name: str, tag: str, epoch: int) -> tuple[dict[str, bytes], dict]:
    """The blobs (digest -> bytes) and the facts of the image."""
    if wasm[:4] != b"\0asm":
        raise SystemExit("oci-image: the input is not a WebAssembly module (no \\0asm header)")
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))
    layer_tar = tar_bytes([(PLUGIN_FILE, wasm, 0o644)], epoch)
    layer = gzip_bytes(layer_tar)
    labels = {
        "org.opencontainers.image.title": name,
        "org.opencontainers.image.version": tag,
        "org.opencontainers.image.description": "entra-guard Proxy-Wasm filter (Entra ID JWT validation) for Envoy, Istio, Envoy Gateway",
        "org.opencontainers.image.licenses": "Apache-2.0",
    }
    config = canonical_json({
        # Istio and Envoy Gateway read only the layer; amd64/linux keeps
        # `docker load` and registries that expect a platform content.
        "architecture": "amd64",
        "os": "linux",
        "created": created,
        "config": {"Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": [sha256(layer_tar)]},
        "history": [{"created": created, "created_by": f"COPY entra_guard.wasm /{PLUGIN_FILE}"}],
    })
    manifest = canonical_json({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": sha256(config), "size": len(config)},
        "layers": [{"mediaType": OCI_LAYER_GZIP, "digest": sha256(layer), "size": len(layer)}],
        "annotations": {**labels, "org.opencontainers.image.created": created},
    })
    blobs = {sha256(b): b for b in (layer, config, manifest)}
    facts = {
        "manifest_digest": sha256(manifest),
        "manifest_size": len(manifest),
        "config_digest": sha256(config),
        "layer_digest": sha256(layer),
        "wasm_sha256": hashlib.sha256(wasm).hexdigest(),
        "created": created,
    }
    return blobs, facts


def layout_files(blobs: dict[str, bytes], facts: dict, name: str, tag: str) -> list[tuple[str, bytes, int]]:
    """The files of the OCI image layout (+ Docker's manifest.json), in tar order."""
    index = canonical_json({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{
            "mediaType": OCI_MANIFEST,
            "digest": facts["manifest_digest"],
            "size": facts["manifest_size"],
            "annotations": {
                "org.opencontainers.image.ref.name": tag,
                "io.containerd.image.name": f"docker.io/library/{name}:{tag}",
            },
        }],
    })
    docker_manifest = canonical_json([{
        "Config": "blobs/sha256/" + facts["config_digest"].split(":", 1)[1],
        "RepoTags": [f"{name}:{tag}"],
        "Layers": ["blobs/sha256/" + facts["layer_digest"].split(":", 1)[1]],
    }])
    files = [("oci-layout", canonical_json({"imageLayoutVersion": "1.0.0"}), 0o644),
             ("index.json", index, 0o644),
             ("manifest.json", docker_manifest, 0o644)]
    files += [(f"blobs/sha256/{digest.split(':', 1)[1]}", data, 0o644) for digest, data in sorted(blobs.items())]
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wasm", type=Path, default=Path(os.environ.get("ENTRA_GUARD_WASM") or DEFAULT_WASM))
    parser.add_argument("--out", type=Path, default=REPO / "target" / "oci")
    parser.add_argument("--name", default="entra-guard")
    parser.add_argument("--tag", default=None, help="default: the version in Cargo.toml")
    args = parser.parse_args()
    if not args.wasm.is_file():
        raise SystemExit(f"oci-image: {args.wasm} not found: run `make wasm` first")
    tag = args.tag or cargo_version()
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))

    blobs, facts = build(args.wasm.read_bytes(), args.name, tag, epoch)
    files = layout_files(blobs, facts, args.name, tag)

    args.out.mkdir(parents=True, exist_ok=True)
    archive = args.out / f"{args.name}.tar"
    archive.write_bytes(tar_bytes([(n, d, m) for n, d, m in files], epoch))
    layout = args.out / "layout"
    shutil.rmtree(layout, ignore_errors=True)
    for relative, data, _mode in files:
        if relative == "manifest.json":
            continue  # Docker's file: only in the archive
        path = layout / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (args.out / "digest").write_text(facts["manifest_digest"] + "\n")

    size = archive.stat().st_size
    print(f"oci-image: {archive.relative_to(REPO) if archive.is_relative_to(REPO) else archive} "
          f"({size} bytes), {args.name}:{tag}")
    print(f"oci-image: manifest digest {facts['manifest_digest']}")
    print(f"oci-image: plugin.wasm sha256 {facts['wasm_sha256']}")
    print(f"oci-image: push: skopeo copy oci-archive:{archive.relative_to(REPO) if archive.is_relative_to(REPO) else archive} "
          f"docker://<registry>/{args.name}:{tag}")


if __name__ == "__main__":
    sys.exit(main())
