#!/usr/bin/env bash
# Check the plugin image with a Docker engine: `docker load` reads the archive
# scripts/oci_image.py wrote, and both it and a `docker build` of
# deploy/oci/Dockerfile hold exactly the built module as /plugin.wasm.
#   scripts/oci-check.sh target/oci/entra-guard.tar target/wasm32-unknown-unknown/release/entra_guard.wasm
set -euo pipefail
archive=$1 wasm=$2
work=$(mktemp -d)
containers=()
built=entra-guard-oci-check:dockerfile
cleanup() {
  for c in "${containers[@]}"; do docker rm -f "$c" >/dev/null 2>&1 || true; done
  docker rmi "$built" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

plugin_of() {  # plugin_of IMAGE OUT: copy /plugin.wasm out of an image
  local id
  id=$(docker create "$1" /plugin.wasm)
  containers+=("$id")
  docker cp "$id:/plugin.wasm" "$2"
}

loaded=$(docker load -i "$archive" | sed -n 's/^Loaded image: //p' | head -1)
[ -n "$loaded" ] || { echo "oci-check: docker load named no image" >&2; exit 1; }
plugin_of "$loaded" "$work/loaded.wasm"
cmp "$work/loaded.wasm" "$wasm"
layers=$(docker image inspect -f '{{len .RootFS.Layers}}' "$loaded")
[ "$layers" = 1 ] || { echo "oci-check: $loaded has $layers layers, want 1" >&2; exit 1; }
echo "oci-check: docker load $archive -> $loaded: one layer, /plugin.wasm = $wasm"

cp "$wasm" "$work/entra_guard.wasm"
DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0} docker build -q -f deploy/oci/Dockerfile -t "$built" "$work" >/dev/null 2>&1 \
  || DOCKER_BUILDKIT=${DOCKER_BUILDKIT:-0} docker build -f deploy/oci/Dockerfile -t "$built" "$work"
plugin_of "$built" "$work/built.wasm"
cmp "$work/built.wasm" "$wasm"
echo "oci-check: docker build deploy/oci/Dockerfile -> $built: /plugin.wasm = $wasm"
