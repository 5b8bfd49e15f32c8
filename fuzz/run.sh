#!/usr/bin/env bash
# Runs the cargo-fuzz targets for a bounded time each and reports how many
# executions each one made. Used by mk/fuzz.mk (`make fuzz`, `make fuzz-smoke`).
#
#   fuzz/run.sh SECONDS [TARGET...]      (default: every target)
#
# Installs what it needs: the nightly toolchain (rustup) and cargo-fuzz.
# Seeds are read from fuzz/corpus/<target> and never written: what the
# fuzzer finds goes to a scratch corpus, fuzz/target/corpus/<target>, kept
# between runs. Crashes land in fuzz/artifacts/<target>/; the run fails.
# Extra libFuzzer flags: FUZZ_FLAGS="-jobs=2 ..." in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
if ((${#targets[@]} == 0)); then
  targets=(token config jwks headers mcp_body lifecycle)
fi

if ! rustup toolchain list | grep -q '^nightly'; then
  echo "fuzz: installing the nightly toolchain (rustup)"
  rustup toolchain install nightly --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz: installing cargo-fuzz (takes ~2 min)"
  cargo install --locked cargo-fuzz || cargo install cargo-fuzz
fi

# Rust panics are the crash reports; ASan's allocation stacks only cost time.
export ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=0}

logs=fuzz/target/logs
mkdir -p "$logs"
echo "fuzz: building the targets (nightly, address sanitizer; log: $logs/build.log)"
if ! cargo +nightly fuzz build >"$logs/build.log" 2>&1; then
  tail -40 "$logs/build.log" >&2
  echo "fuzz: build failed" >&2
  exit 1
fi
failed=()
summary=()
for t in "${targets[@]}"; do
  scratch=fuzz/target/corpus/$t
  mkdir -p "$scratch"
  dict=()
  [[ -f fuzz/dicts/$t.dict ]] && dict=(-dict="fuzz/dicts/$t.dict")
  echo "fuzz: $t for ${seconds}s (log: $logs/$t.log)"
  rc=0
  # shellcheck disable=SC2086
  cargo +nightly fuzz run "$t" "$scratch" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -print_final_stats=1 -timeout=30 -rss_limit_mb=2048 \
    "${dict[@]}" ${FUZZ_FLAGS:-} >"$logs/$t.log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$t.log" | tail -1)
  units=$(find "$scratch" -type f | wc -l)
  if ((rc == 0)); then
    line="$t: ${execs:-?} executions in ${seconds}s (${rate:-?}/s), scratch corpus $units inputs, no crash"
  else
    failed+=("$t")
    artifact=$(grep -o 'fuzz/artifacts/[^ ]*' "$logs/$t.log" | tail -1 || true)
    line="$t: FAILED after ${execs:-?} executions (exit $rc) ${artifact:+artifact $artifact}"
    grep -m1 -A4 'panicked at' "$logs/$t.log" | sed 's/^/    /' || tail -20 "$logs/$t.log"
  fi
  echo "fuzz: $line"
  summary+=("$line")
done

echo
echo "fuzz summary (${seconds}s per target):"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]})); then
  echo "fuzz: crashes in ${failed[*]}: reproduce with cargo +nightly fuzz run <target> <artifact>" >&2
  exit 1
fi
