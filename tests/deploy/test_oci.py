"""`make oci` (scripts/oci_image.py): the plugin image in the layout Istio and Envoy Gateway pull.

Reads the archive the way their fetchers do (go-containerregistry + the Wasm
image spec's *compat* variant): manifest -> last layer, media type
application/vnd.oci.image.layer.v1.tar+gzip -> the file plugin.wasm. A tiny
hand-made module stands in for the filter, so this needs no build.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import subprocess
import sys
import tarfile

import pytest
from shipped import REPO

SCRIPT = REPO / "scripts" / "oci_image.py"
MODULE = b"\0asm\x01\0\0\0" + b"\x00\x08\x04name\x02hi"  # header + a custom section


def build(tmp_path, name="out", wasm=MODULE, env=None):
    module = tmp_path / "plugin-input.wasm"
    module.write_bytes(wasm)
    out = tmp_path / name
    result = subprocess.run([sys.executable, str(SCRIPT), "--wasm", str(module), "--out", str(out),
                             "--tag", "9.9.9"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    return out


def read_archive(path) -> dict[str, bytes]:
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def blob(files, digest):
    data = files[f"blobs/sha256/{digest.split(':', 1)[1]}"]
    assert "sha256:" + hashlib.sha256(data).hexdigest() == digest, "blob content does not match its digest"
    return data


def test_archive_is_an_oci_layout_with_plugin_wasm_in_one_gzip_layer(tmp_path):
    out = build(tmp_path)
    files = read_archive(out / "entra-guard.tar")
    assert json.loads(files["oci-layout"]) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads(files["index.json"])
    [entry] = index["manifests"]
    assert entry["annotations"]["org.opencontainers.image.ref.name"] == "9.9.9"
    manifest = json.loads(blob(files, entry["digest"]))
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert (out / "digest").read_text().strip() == entry["digest"]

    [layer] = manifest["layers"]
    assert layer["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(files, layer["digest"])))) as tar:
        members = tar.getmembers()
        assert [m.name for m in members] == ["plugin.wasm"]
        assert tar.extractfile(members[0]).read() == MODULE
        assert (members[0].uid, members[0].gid, members[0].mode) == (0, 0, 0o644)

    config = json.loads(blob(files, manifest["config"]["digest"]))
    uncompressed = gzip.decompress(blob(files, layer["digest"]))
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(uncompressed).hexdigest()]


def test_archive_also_loads_with_docker(tmp_path):
    """Docker's manifest.json names the same config and layer blobs."""
    files = read_archive(build(tmp_path) / "entra-guard.tar")
    [image] = json.loads(files["manifest.json"])
    assert image["RepoTags"] == ["entra-guard:9.9.9"]
    assert image["Config"] in files and all(layer in files for layer in image["Layers"])


def test_unpacked_layout_matches_the_archive(tmp_path):
    out = build(tmp_path)
    files = read_archive(out / "entra-guard.tar")
    layout = {p.relative_to(out / "layout").as_posix(): p.read_bytes()
              for p in (out / "layout").rglob("*") if p.is_file()}
    assert layout == {k: v for k, v in files.items() if k != "manifest.json"}


def test_digest_is_reproducible(tmp_path):
    first = build(tmp_path, "one")
    second = build(tmp_path, "two")
    assert (first / "entra-guard.tar").read_bytes() == (second / "entra-guard.tar").read_bytes()
    other = build(tmp_path, "three", wasm=MODULE + b"\x00\x02\x01x")
    assert (other / "digest").read_text() != (first / "digest").read_text()


def test_refuses_a_file_that_is_not_wasm(tmp_path):
    module = tmp_path / "not.wasm"
    module.write_bytes(b"#!/bin/sh\n")
    result = subprocess.run([sys.executable, str(SCRIPT), "--wasm", str(module), "--out", str(tmp_path / "o")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "not a WebAssembly module" in result.stderr


@pytest.mark.parametrize("path", ["deploy/oci/Dockerfile"])
def test_dockerfile_variant_has_the_same_layout(path):
    lines = [line.split() for line in (REPO / path).read_text().splitlines() if line and not line.startswith("#")]
    assert lines == [["FROM", "scratch"], ["COPY", "entra_guard.wasm", "/plugin.wasm"]]
