#!/usr/bin/env bash
# Shrink the filter with binaryen's wasm-opt -Oz, in place (a new file, so
# cargo's hard link in deps/ keeps the unoptimised copy it tracks).
#
#   scripts/wasm-opt.sh target/wasm32-unknown-unknown/release/entra_guard.wasm
#
# wasm-opt comes from Debian's `binaryen` package, installed when missing and
# this is a Debian machine run as root; elsewhere (no apt, not root) the file is
# left as cargo built it, with a note: it is valid either way, only larger.
# The enabled features are those rustc emits for wasm32 by default and Envoy's
# V8 runs; wasm-opt validates the module against them before writing it.
set -euo pipefail

WASM=${1:?usage: wasm-opt.sh FILE.wasm}
FEATURES=(--enable-bulk-memory --enable-sign-ext --enable-mutable-globals --enable-nontrapping-float-to-int)

say() { printf 'wasm-opt: %s\n' "$*" >&2; }

if ! command -v wasm-opt >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
        say "installing Debian's binaryen"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >&2
        apt-get install -y -q --no-install-recommends binaryen >&2
    else
        say "not found (Debian: apt-get install binaryen); $WASM stays unoptimised"
        exit 0
    fi
fi

before=$(wc -c <"$WASM")
tmp="$WASM.opt.tmp"
trap 'rm -f "$tmp"' EXIT
wasm-opt "${FEATURES[@]}" -Oz "$WASM" -o "$tmp"
mv -f "$tmp" "$WASM"
say "$before -> $(wc -c <"$WASM") bytes"
