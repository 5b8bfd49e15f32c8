#!/usr/bin/env bash
# Run one layer of `make test`, keeping its output for the summary:
#   scripts/test-layer.sh NAME "DESCRIPTION" COMMAND [ARGS...]
# writes $TEST_LOGS/NAME.{log,rc,desc} (TEST_LOGS defaults to target/test-logs)
# and exits with the command's status.
set -uo pipefail
(($# >= 3)) || { echo "usage: $0 NAME DESCRIPTION COMMAND [ARGS...]" >&2; exit 2; }
name=$1 desc=$2; shift 2
logs=${TEST_LOGS:-target/test-logs}
mkdir -p "$logs"
printf '%s\n' "$desc" >"$logs/$name.desc"
printf '\n===== %s: %s =====\n' "$name" "$desc"
start=$SECONDS
"$@" 2>&1 | tee "$logs/$name.log"
rc=${PIPESTATUS[0]}
echo "$rc $((SECONDS - start))" >"$logs/$name.rc"
printf '===== %s: exit %s after %ss =====\n' "$name" "$rc" "$((SECONDS - start))"
exit "$rc"
