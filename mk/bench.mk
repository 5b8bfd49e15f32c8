# make bench / make bench-smoke: entra-guard against Envoy's native jwt_authn,
# a pass-through wasm filter and no auth, on one Envoy (docs/performance.md).
# Included by the main Makefile (`include mk/*.mk`); uses its `wasm` and `venv`
# targets and $(VENV).
#
#   make bench                      full run (~6-8 min), writes bench/results/latest.json
#   make bench BENCH_SECONDS=10     longer cells (also BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_POOL)
#   make bench BENCH_ARGS='--listeners entra_guard,floor --scenarios repeated'
#   make bench BENCH_ONLY=scale,memory   only the scale / memory / configure-time rows (issue 17)
#   make bench-smoke                1 s cells: checks the harness works (never the numbers)
#   make bench-compare REF=main     this build against REF's, same Envoy, all four scenarios
#   make bench-compare REF=main BENCH_ROUNDS=3     ... with a within-noise verdict (needs >= 3 rounds)

BENCH_VENV   := $(or $(VENV),.venv)
BENCH_PYTHON := $(BENCH_VENV)/bin/python
BENCH_ARGS   ?=

.PHONY: bench bench-smoke bench-tools bench-profile bench-compare wasm-sizes

bench: wasm venv bench-tools ## benchmark vs jwt_authn / wasm floor / no auth (BENCH_SECONDS per cell), table + bench/results/latest.json
	$(BENCH_PYTHON) bench/run.py $(BENCH_ARGS)

bench-smoke: wasm venv bench-tools ## tiny bench run (1 s cells): checks the bench harness, not the numbers
	$(BENCH_PYTHON) bench/run.py --smoke $(BENCH_ARGS)

# The other build lives in a detached git worktree under target/bench/ref-<sha>
# (made once, then reused: `make wasm` there is incremental). A directory that was
# deleted while git still lists it is re-added with -f; nothing else is removed.
REF ?=
BENCH_REF_ROOT  := target/bench
# Evaluated only by bench-compare's recipe (recursive variables).
BENCH_REF_SHA    = $(if $(REF),$(shell git rev-parse --verify --quiet '$(REF)^{commit}'))
BENCH_REF_SHORT  = $(shell git rev-parse --short=7 $(BENCH_REF_SHA))
BENCH_REF_DIR    = $(BENCH_REF_ROOT)/ref-$(BENCH_REF_SHORT)
BENCH_REF_LABEL  = $(if $(filter $(BENCH_REF_SHORT),$(REF)),$(REF),$(REF) ($(BENCH_REF_SHORT)))

# One step per recipe line: `make -n` runs only the line with $(MAKE), as make does.
bench-compare: wasm venv bench-tools ## REF=<git ref>: this build against REF's, one Envoy, req/s + CPU/request, current/ref (BENCH_ROUNDS>=3 for a verdict)
	@[ -n "$(REF)" ] || { echo "bench-compare: say which build to compare with: make bench-compare REF=<git ref>" >&2; exit 1; }
	@[ -n "$(BENCH_REF_SHA)" ] || { echo "bench-compare: $(REF) is not a commit here" >&2; exit 1; }
	@if [ -e "$(BENCH_REF_DIR)/.git" ]; then \
	  [ "$$(git -C "$(BENCH_REF_DIR)" rev-parse HEAD)" = "$(BENCH_REF_SHA)" ] || { echo "bench-compare: $(BENCH_REF_DIR) is not at $(BENCH_REF_SHA) (moved by hand?): git worktree remove it" >&2; exit 1; }; \
	  echo "bench-compare: reusing $(BENCH_REF_DIR)"; \
	else \
	  mkdir -p $(BENCH_REF_ROOT) && git worktree add -f --detach "$(BENCH_REF_DIR)" $(BENCH_REF_SHA); \
	fi
	$(MAKE) -C "$(BENCH_REF_DIR)" wasm
	$(BENCH_PYTHON) bench/run.py --ref-wasm "$(BENCH_REF_DIR)/$(WASM)" --ref-label "$(BENCH_REF_LABEL)" $(BENCH_ARGS)

# wrk (Debian package, the Makefile's tools-wrk) drives the load; taskset (util-linux)
# pins it apart from Envoy.
bench-tools: tools-wrk

# Deterministic profile (no timing): wasm instructions and host calls per request of
# entra_guard.wasm and the floor, in a minimal Proxy-Wasm host on wasmtime. Needs
# the `wasmtime` Python package, kept out of the project's .venv.
BENCH_PROFILE_VENV := target/bench/venv-profile

bench-profile: wasm venv ## wasm instructions + host calls per request (exact, noise-free), see docs/performance.md
	@$(BENCH_PYTHON) bench/run.py --build-floor-only >/dev/null
	@if ! $(BENCH_PROFILE_VENV)/bin/python -c 'import wasmtime, cryptography' 2>/dev/null; then \
	  rm -rf $(BENCH_PROFILE_VENV); $(or $(PYTHON),python3) -m venv $(BENCH_PROFILE_VENV); \
	  $(BENCH_PROFILE_VENV)/bin/python -m pip install -q --disable-pip-version-check wasmtime cryptography; \
	fi
	$(BENCH_PROFILE_VENV)/bin/python bench/wasm_profile.py --json target/bench/wasm-profile.json $(BENCH_PROFILE_ARGS)

# Code size by crate (docs/performance.md): an unstripped release build in its
# own target directory (the shipped artifact is not touched), before wasm-opt.
WASM_SIZES_DIR := target/unstripped

wasm-sizes: ## wasm code size by crate (unstripped release build, before wasm-opt)
	CARGO_TARGET_DIR=$(WASM_SIZES_DIR) CARGO_PROFILE_RELEASE_STRIP=false $(WASM_CARGO) build --release --lib
	python3 bench/wasm_sizes.py $(WASM_SIZES_DIR)/wasm32-unknown-unknown/release/entra_guard.wasm
