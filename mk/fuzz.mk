# make fuzz / make fuzz-smoke: the cargo-fuzz targets in fuzz/ (fuzz/README.md).
# Included by the main Makefile (every mk/*.mk). Needs the nightly toolchain
# (installed through rustup if missing) and cargo-fuzz (installed if missing).
#
#   make fuzz                          every target for FUZZ_SECONDS (600) each
#   make fuzz FUZZ_SECONDS=60 FUZZ_TARGETS="token jwks"
#   make fuzz-smoke                    every target for FUZZ_SMOKE_SECONDS (15) each
#
# Each prints the executions per target; any crash fails the run and leaves
# its input in fuzz/artifacts/<target>/.

FUZZ_SECONDS       ?= 600
FUZZ_SMOKE_SECONDS ?= 15
FUZZ_TARGETS       ?= token config jwks headers mcp_body lifecycle

.PHONY: fuzz fuzz-smoke

fuzz: ## run each fuzz target for FUZZ_SECONDS (default 600; nightly + cargo-fuzz, installed if missing)
	fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-smoke: ## run each fuzz target briefly (FUZZ_SMOKE_SECONDS, default 15) so they never rot
	fuzz/run.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)
