"""`make bench-compare`: the current build against another build, in one Envoy.

bench/run.py --ref-wasm PATH adds the listener `entra_guard_ref`: the same filter
configuration as `entra_guard`, the other build's module, its own VM (vm_id and
root_id `entra_guard_ref`, so neither shares a VM, a token cache or shared data
with the other). Both are measured in the same rounds, one right after the other
in every scenario, so a slow phase of the machine hits both alike.

The verdict per scenario and measure (req/s, Envoy CPU time per request):

- the ratio is current ÷ ref of the two cells' medians over the rounds;
- the noise band is the larger relative spread ((max - min) / median) of either
  listener's own rounds: how far two measurements of one build moved apart here;
- "within noise" when |ratio - 1| <= the band, or when the per-round ratios
  (each round's current ÷ the same round's ref) fall on both sides of 1;
  otherwise "faster" / "slower" by the ratio;
- with fewer than 3 rounds there is no spread to judge by: the verdict is "n/a".
"""

from __future__ import annotations

REF_LISTENER = "entra_guard_ref"
CURRENT_LISTENER = "entra_guard"
MIN_ROUNDS = 3


def spread(values: list[float]) -> float | None:
    """(max - min) / median of one listener's rounds."""
    if len(values) < 2:
        return None
    ordered = sorted(values)
    median = ordered[(len(ordered) - 1) // 2]
    return (ordered[-1] - ordered[0]) / median if median else None


def median(values: list[float]) -> float | None:
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2] if ordered else None


def judge(current: list[float], ref: list[float], *, higher_is_better: bool) -> dict:
    """Ratio, noise band and verdict of one measure in one scenario."""
    cur_m, ref_m = median(current), median(ref)
    ratio = cur_m / ref_m if cur_m and ref_m else None
    spreads = [s for s in (spread(current), spread(ref)) if s is not None]
    band = max(spreads) if spreads else None
    paired = [c / r for c, r in zip(current, ref) if r]
    result = {"current": cur_m, "ref": ref_m, "ratio": ratio, "noise": band,
              "round_ratios": [round(p, 4) for p in paired]}
    if ratio is None or band is None or min(len(current), len(ref)) < MIN_ROUNDS:
        result["verdict"] = "n/a"
        return result
    straddles = min(paired) <= 1.0 <= max(paired) if paired else True
    if abs(ratio - 1) <= band or straddles:
        result["verdict"] = "within noise"
    else:
        better = ratio > 1 if higher_is_better else ratio < 1
        result["verdict"] = "faster" if better else "slower"
    return result


def comparison(cells: list[dict], scenarios: list[str]) -> dict:
    """Per scenario: req/s and CPU µs per request, current against ref (report JSON)."""
    by_key = {(c["listener"], c["scenario"]): c for c in cells}
    out = {}
    for scenario in scenarios:
        cur, ref = by_key.get((CURRENT_LISTENER, scenario)), by_key.get((REF_LISTENER, scenario))
        if cur is None or ref is None:
            continue
        out[scenario] = {
            "rounds": min(len(cur["rounds"]), len(ref["rounds"])),
            "rps": judge([r["rps"] for r in cur["rounds"]], [r["rps"] for r in ref["rounds"]],
                         higher_is_better=True),
            "cpu_us": judge([r["cpu_us"] for r in cur["rounds"]], [r["cpu_us"] for r in ref["rounds"]],
                            higher_is_better=False),
        }
    return out


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _verdict(m: dict) -> str:
    noise = "" if m["noise"] is None else f" (noise ±{m['noise'] * 100:.0f}%)"
    return m["verdict"] + noise


def render_comparison(report: dict, titles: dict[str, str]) -> str:
    compare = report.get("compare") or {}
    meta = report["meta"]
    wasm = report["wasm"]
    lines = [f"current build ({wasm['entra_guard_bytes']:,} bytes) against {meta.get('ref_label') or 'ref'} "
             f"({wasm.get('ref_bytes', 0):,} bytes), same Envoy, {meta['rounds']} round(s) of "
             f"{meta['seconds']} s, each cell the median round",
             "ratio = current ÷ ref: req/s above 1 and CPU µs/request below 1 mean the current build is faster",
             "",
             f"| {'scenario':<27} | {'ref req/s':>9} | {'cur req/s':>9} | {'ratio':>5} | {'verdict (req/s)':<26} "
             f"| {'ref µs/req':>10} | {'cur µs/req':>10} | {'ratio':>5} | {'verdict (CPU per request)':<26} |",
             "|" + "|".join("-" * w for w in (29, 11, 11, 7, 28, 12, 12, 7, 28)) + "|"]
    for scenario, row in compare.items():
        rps, cpu = row["rps"], row["cpu_us"]
        lines.append(f"| {titles.get(scenario, scenario):<27} | {_num(rps['ref'], ',.0f'):>9} | "
                     f"{_num(rps['current'], ',.0f'):>9} | {_num(rps['ratio'], '.3f'):>5} | {_verdict(rps):<26} | "
                     f"{_num(cpu['ref'], '.1f'):>10} | {_num(cpu['current'], '.1f'):>10} | "
                     f"{_num(cpu['ratio'], '.3f'):>5} | {_verdict(cpu):<26} |")
    lines.append("noise: the larger (max - min) / median of either listener's rounds; within noise when "
                 "|ratio - 1| is inside it or the per-round ratios straddle 1; n/a below "
                 f"{MIN_ROUNDS} rounds (BENCH_ROUNDS)")
    load = meta.get("loadavg_before")
    if load and load[0] > 0.5:
        lines.append(f"note: load average {load[0]:.2f} before the run: the machine was busy; "
                     "CPU per request is the steadier measure")
    return "\n".join(lines)
