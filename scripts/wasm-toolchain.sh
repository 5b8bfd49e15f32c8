#!/usr/bin/env bash
# Pick (and if needed install) the toolchain that builds entra-guard for
# wasm32-unknown-unknown, and run cargo with it.
#
#   scripts/wasm-toolchain.sh detect          which toolchain, and why (one line)
#   scripts/wasm-toolchain.sh ensure [clippy] install what that toolchain lacks
#   scripts/wasm-toolchain.sh env             shell lines to eval for a wasm32 cargo command
#   scripts/wasm-toolchain.sh cargo SUB ARGS  ensure, then run
#                                             `cargo SUB --target wasm32-unknown-unknown [-Zbuild-std=...] ARGS`
#
# Two toolchains, chosen in this order:
#   native  the `rustc` on PATH (usually rustup's) has the wasm32-unknown-unknown
#           std installed: `$(rustc --print sysroot)/lib/rustlib/wasm32-unknown-unknown`
#           exists. Plain cargo, nothing else.
#   debian  otherwise: Debian's rustc-web (/usr/bin/cargo, /usr/bin/rustc) builds the
#           standard library itself from rust-web-src with RUSTC_BOOTSTRAP=1 and
#           -Zbuild-std=std,panic_abort; /usr/bin goes first on PATH for that command
#           only. rustup's wasm32 std cannot be downloaded on the project's machines
#           (shared/toolchain.md), Debian's packages can.
# WASM_TOOLCHAIN=native|debian overrides the choice.
set -euo pipefail

TARGET=wasm32-unknown-unknown
BUILD_STD=-Zbuild-std=std,panic_abort
# /usr/bin/rust-lld (rust-web-llvm) links to lld-22.
DEBIAN_PKGS=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22)
DEBIAN_CLIPPY_PKGS=(rust-web-clippy)

say() { printf 'wasm-toolchain: %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

native_sysroot() {
    command -v rustc >/dev/null 2>&1 || return 1
    local sysroot
    sysroot=$(rustc --print sysroot 2>/dev/null) || return 1
    [[ -d "$sysroot/lib/rustlib/$TARGET" ]] || return 1
    printf '%s\n' "$sysroot"
}

choose() {
    case "${WASM_TOOLCHAIN:-}" in
        native)
            native_sysroot >/dev/null ||
                die "WASM_TOOLCHAIN=native but \`rustc --print sysroot\` has no lib/rustlib/$TARGET (try: rustup target add $TARGET)"
            echo native ;;
        debian) echo debian ;;
        "") if native_sysroot >/dev/null; then echo native; else echo debian; fi ;;
        *) die "WASM_TOOLCHAIN must be native or debian, not '$WASM_TOOLCHAIN'" ;;
    esac
}

pkg_installed() {
    [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

# Install Debian packages that are missing; with apt-get update once per call.
apt_install() {
    local missing=() p
    for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
    ((${#missing[@]})) || return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        die "missing Debian packages: ${missing[*]}; this machine has no apt-get. Install a Rust toolchain with the $TARGET target instead (rustup target add $TARGET)."
    fi
    if [[ $(id -u) -ne 0 ]]; then
        die "missing Debian packages: ${missing[*]}; installing them needs root: sudo apt-get update && sudo apt-get install -y ${missing[*]} (or: rustup target add $TARGET)"
    fi
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >&2
    apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
}

ensure() {
    local want_clippy=${1:-}
    case "$TC" in
        native)
            if [[ "$want_clippy" == clippy ]] && ! cargo clippy --version >/dev/null 2>&1; then
                die "cargo clippy is missing for the native toolchain (rustup component add clippy)"
            fi ;;
        debian)
            local pkgs=("${DEBIAN_PKGS[@]}")
            [[ "$want_clippy" == clippy ]] && pkgs+=("${DEBIAN_CLIPPY_PKGS[@]}")
            apt_install "${pkgs[@]}"
            [[ -x /usr/bin/cargo && -x /usr/bin/rustc ]] || die "/usr/bin/cargo or /usr/bin/rustc missing after installing ${pkgs[*]}"
            [[ -d /usr/lib/rustlib/src/rust/library ]] || die "Rust std sources missing (/usr/lib/rustlib/src/rust/library, package rust-web-src)"
            ;;
    esac
}

describe() {
    case "$TC" in
        native) echo "native: $(rustc --version) with its $TARGET std ($(native_sysroot))" ;;
        debian)
            local v="not installed yet"
            [[ -x /usr/bin/rustc ]] && v=$(/usr/bin/rustc --version)
            echo "debian: rustc-web ($v), std built from source with $BUILD_STD (no $TARGET std in $(rustc --print sysroot 2>/dev/null || echo 'any rustc on PATH'))" ;;
    esac
}

# The environment and the extra cargo flags, as shell assignments.
print_env() {
    case "$TC" in
        native)
            echo "export WASM_TOOLCHAIN=native"
            echo "WASM_CARGO_FLAGS='--target $TARGET'" ;;
        debian)
            echo "export WASM_TOOLCHAIN=debian"
            # shellcheck disable=SC2016
            echo 'export PATH="/usr/bin:$PATH"'
            echo "export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1"
            echo "unset RUSTUP_TOOLCHAIN RUSTC_WRAPPER"
            echo "WASM_CARGO_FLAGS='--target $TARGET $BUILD_STD'" ;;
    esac
}

# Panic locations name source files: keep the build machine's directories
# (home, checkout, toolchain) out of the wasm. A directory with a space in it
# cannot go through RUSTFLAGS and is left as it is.
remap_paths() {
    local repo sysroot
    repo=$(cd "$(dirname "$0")/.." && pwd)
    sysroot=$("${RUSTC:-rustc}" --print sysroot 2>/dev/null || true)
    local -a maps=("$repo=entra-guard" "${CARGO_HOME:-$HOME/.cargo}/registry/src=crates")
    [[ -n "$sysroot" ]] && maps+=("$sysroot/lib/rustlib/src/rust=rust")
    local map flags=""
    for map in "${maps[@]}"; do
        [[ "$map" == *" "* ]] || flags+=" --remap-path-prefix=$map"
    done
    export RUSTFLAGS="${RUSTFLAGS:-}$flags"
}

run_cargo() {
    (($#)) || die "usage: $0 cargo SUBCOMMAND [ARGS...]"
    local sub=$1; shift
    if [[ "$sub" == clippy ]]; then ensure clippy; else ensure; fi
    say "$(describe)"
    local WASM_CARGO_FLAGS
    eval "$(print_env)"
    # shellcheck disable=SC2206
    local flags=($WASM_CARGO_FLAGS)
    local cargo_bin=cargo
    [[ "$TC" == debian ]] && cargo_bin=/usr/bin/cargo
    remap_paths
    if [[ "$TC" == debian ]]; then
        say "+ PATH=/usr/bin:\$PATH RUSTC_BOOTSTRAP=1 $cargo_bin $sub ${flags[*]} $*"
    else
        say "+ $cargo_bin $sub ${flags[*]} $*"
    fi
    exec "$cargo_bin" "$sub" "${flags[@]}" "$@"
}

case "${1:-}" in
    detect | ensure | env | cargo) TC=$(choose) || exit 1 ;;
esac
case "${1:-}" in
    detect) describe ;;
    ensure) shift; ensure "${1:-}"; say "ready: $(describe)" ;;
    env) print_env ;;
    cargo) shift; run_cargo "$@" ;;
    *) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
