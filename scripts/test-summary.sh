#!/usr/bin/env bash
# Summarise the layers that scripts/test-layer.sh ran: one line per layer, then
# a total line. Exits 1 when a layer failed or did not run.
#   scripts/test-summary.sh LOG_DIR LAYER...
# Counts come from the runners' own closing lines: libtest's and
# wasm-bindgen-test-runner's "test result: ok. N passed; M failed; K ignored"
# (summed over test binaries) and pytest's "N passed, M skipped in 1.2s".
set -uo pipefail
dir=$1; shift
total_pass=0 total_fail=0 total_skip=0 bad=0

counts_cargo() {  # prints "passed failed skipped", or nothing
    grep -E '^test result: ' "$1" | awk '
        { for (i = 1; i <= NF; i++) {
            n = $i; w = $(i + 1); sub(/[;,]$/, "", w)
            if (w == "passed") p += n; else if (w == "failed") f += n; else if (w == "ignored") s += n } ; found = 1 }
        END { if (found) print p + 0, f + 0, s + 0 }'
}

counts_pytest() {
    grep -E '^=* ?[0-9]+ (passed|failed|skipped|errors?|xfailed|xpassed|deselected|warnings?)\b.* in [0-9.]+s' "$1" |
        tail -n 1 | awk '
        { gsub(/=/, ""); gsub(/,/, "")
          for (i = 1; i < NF; i++) {
            n = $i; w = $(i + 1)
            if (w == "passed" || w == "xpassed") p += n
            else if (w == "failed" || w == "error" || w == "errors") f += n
            else if (w == "skipped" || w == "xfailed") s += n }
          print p + 0, f + 0, s + 0 }'
}

echo
echo "================ entra-guard test summary ================"
for layer in "$@"; do
    desc=$(cat "$dir/$layer.desc" 2>/dev/null || echo "$layer")
    log=$dir/$layer.log
    read -r rc secs <"$dir/$layer.rc" 2>/dev/null || { rc=missing secs=0; }
    if [[ -e "$dir/$layer.skipped" && "$rc" == 0 ]]; then
        printf '%-12s skipped  %s: no tests yet\n' "$layer" "$desc"
        continue
    fi
    c=""
    [[ -f "$log" ]] && c=$(counts_cargo "$log")
    [[ -z "$c" && -f "$log" ]] && c=$(counts_pytest "$log")
    if [[ "$rc" == 0 ]]; then status=ok; else status=FAILED; bad=1; fi
    if [[ -n "$c" ]]; then
        read -r p f s <<<"$c"
        total_pass=$((total_pass + p)) total_fail=$((total_fail + f)) total_skip=$((total_skip + s))
        printf '%-12s %-7s  %s passed, %s failed, %s skipped/ignored  (%s, %ss)\n' "$layer" "$status" "$p" "$f" "$s" "$desc" "$secs"
    else
        printf '%-12s %-7s  no test counts found (exit %s; see %s)  (%s)\n' "$layer" "$status" "$rc" "$log" "$desc"
        [[ "$rc" == 0 ]] && printf '%-12s          warning: the layer ran no tests\n' ''
    fi
done
echo "=========================================================="
echo "total: $total_pass passed, $total_fail failed, $total_skip skipped"
((bad == 0 && total_fail == 0))
