# make bench / make bench-smoke: entra-guard against Envoy's native jwt_authn,
# a pass-through wasm filter and no auth, on one Envoy (docs/performance.md).
# Included by the main Makefile (`include mk/*.mk`); uses its `wasm` and `venv`
# targets and $(VENV).
#
#   make bench                      full run (~4-6 min), writes bench/results/latest.json
#   make bench BENCH_SECONDS=10     longer cells (also BENCH_ROUNDS, BENCH_CONNECTIONS, BENCH_POOL)
#   make bench BENCH_ARGS='--listeners entra_guard,floor --scenarios repeated'
#   make bench-smoke                1 s cells: checks the harness works (never the numbers)

BENCH_VENV   := $(or $(VENV),.venv)
BENCH_PYTHON := $(BENCH_VENV)/bin/python
BENCH_ARGS   ?=

.PHONY: bench bench-smoke bench-tools bench-profile

bench: wasm venv bench-tools ## benchmark vs jwt_authn / wasm floor / no auth (BENCH_SECONDS per cell), table + bench/results/latest.json
	$(BENCH_PYTHON) bench/run.py $(BENCH_ARGS)

bench-smoke: wasm venv bench-tools ## tiny bench run (1 s cells): checks the bench harness, not the numbers
	$(BENCH_PYTHON) bench/run.py --smoke $(BENCH_ARGS)

# wrk (Debian package) drives the load; taskset (util-linux) pins it apart from Envoy.
bench-tools:
	@if ! command -v wrk >/dev/null 2>&1; then \
	  command -v apt-get >/dev/null 2>&1 || { echo "bench: wrk is missing (install it with your package manager)" >&2; exit 1; }; \
	  [ "$$(id -u)" = 0 ] || { echo "bench: wrk is missing: sudo apt-get install -y wrk" >&2; exit 1; }; \
	  echo "bench: installing wrk"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk; \
	fi

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
