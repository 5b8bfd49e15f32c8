"""The scale section of `make bench` (issue #17), run by bench/run.py.

1. Throughput: one Envoy (`--concurrency 1`, pinned like the main run) with two
   entra-guard listeners, `eg_small` (1 subscription key, 1 rule, 1 allowed
   tenant) and `eg_large` (`large_config`: 10,000 subscriptions of two keys,
   1,000 rules, 200 allowed tenants; the request matches its rule, key and
   tenant only at the end of each list). Both answer a subscription key, a
   repeated valid token and a request without credentials; the cost of the large
   configuration is large ÷ small per request (target <= 1.05x). `eg_small` also
   answers one forged token repeated (against the cached valid token: target
   <= 1.05x) and unique forged against unique valid tokens (informational).
2. Memory and configuration time: one Envoy per configuration and worker count
   (`--concurrency 1` and 4), with Envoy's RSS and every entra-guard VM's linear
   memory (bench/run.py's `wasm_memory`), idle and again after enough unique
   valid tokens to fill every worker's token cache; on_configure's time comes
   from the filter's own `configured: ..., in N ms` log line.

`h` is bench/run.py's module (its harness: Envoy, wrk, cells, memory).
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

from large_config import large_config

SUBSCRIPTION_HEADER = "Ocp-Apim-Subscription-Key"
BENCH_KEY = "bench-subscription-key"  # base's one key: the last of the large configuration's 20,001
SCALE_LISTENERS = ["eg_small", "eg_large"]
# scenario: listeners that run it (the forged-token rows need only one configuration).
SCALE_CELLS = {"key": SCALE_LISTENERS, "repeated": SCALE_LISTENERS, "none": SCALE_LISTENERS,
               "forged": ["eg_small"], "unique": ["eg_small"], "invalid": ["eg_small"]}
SCALE_TITLES = {"key": "subscription key", "repeated": "repeated valid token", "none": "no credential",
                "forged": "one forged token repeated", "unique": "unique valid tokens",
                "invalid": "unique forged tokens"}
SCALE_LIMIT = 1.05
# Memory: configurations apart so the growth per key, rule and tenant can be told apart.
MEMORY_VARIANTS = {"small": (0, 1, 1), "keys": (10_000, 1, 1), "rules": (0, 1_000, 1),
                   "tenants": (0, 1, 200), "large": (10_000, 1_000, 200)}
SMOKE_MEMORY = [("small", 1), ("large", 1)]
FULL_MEMORY = [(v, 1) for v in MEMORY_VARIANTS] + [("small", 4), ("large", 4)]
FILLED = {"small", "large"}  # the variants measured again with full token caches
CONFIGURED = re.compile(r"configured: [^\n]*?, in ([0-9.]+) ms")


def base_config(h, issuer) -> dict:
    """The small configuration: 1 key, 1 rule accepting a token or the key, 1 allowed
    tenant (`allowed_tenants`, so both sizes check tenants the same way)."""
    config = h.filter_config(
        issuer, mcp=h.mcp_section(),
        subscription_keys={"keys": [{"name": "bench", "sha256": hashlib.sha256(BENCH_KEY.encode()).hexdigest()}]},
        rules=[{"path_prefix": "/", "require": "jwt_or_subscription_key"}])
    return variant_config(config, "small")


def variant_config(base: dict, variant: str) -> dict:
    subscriptions, rules, tenants = MEMORY_VARIANTS[variant]
    return large_config(base, subscriptions=subscriptions, rules=rules, tenants=tenants)


def write_extra_pools(h, pools: dict[str, Path]) -> dict[str, Path]:
    """The key pool (one plaintext key) and the forged pool (one forged token)."""
    extra = {"key": [BENCH_KEY], "forged": pools["invalid"].read_text().split()[:1]}
    out = dict(pools)
    for scenario, lines in extra.items():
        path = h.WORK / f"tokens-{scenario}.txt"
        path.write_text("".join(f"{line}\n" for line in lines))
        out[scenario] = path
    return out


def scale_bootstrap(h, issuer, guard_wasm: Path, base: dict) -> dict:
    configs = {"eg_small": base, "eg_large": variant_config(base, "large")}
    listeners = [h.http_listener(name, [h.entra_guard_filter(configs[name], guard_wasm, name=name, root_id=name,
                                                               vm_id=name)],
                                 route_config=h.direct_response_routes()) for name in SCALE_LISTENERS]
    return h.bootstrap(listeners=listeners, clusters=[h.static_cluster(h.ENTRA_CLUSTER, issuer.port)])


def run_throughput(h, issuer, guard_wasm: Path, pools: dict[str, Path], load: dict, envoy_cpus) -> list:
    base = base_config(h, issuer)
    envoy = h.PinnedEnvoy(scale_bootstrap(h, issuer, guard_wasm, base), h.WORK, name="envoy-scale", concurrency=1,
                          log_level="warning", cpus=envoy_cpus)
    with envoy:
        h.log(f"scale envoy up (pid {envoy.process.pid}); listeners {', '.join(SCALE_LISTENERS)}")
        for scenario, listeners in SCALE_CELLS.items():
            h.check_statuses(envoy, listeners, {scenario: pools[scenario]})
        cells = [h.Cell(listener, s) for s, listeners in SCALE_CELLS.items() for listener in listeners]
        h.measure(envoy, h.find_wrk(), cells, pools, **load)
    return cells


def scale_targets(cells: dict) -> list[dict]:
    """large ÷ small per request for each scenario, and forged ÷ valid; values are
    cost ratios (time per request from req/s, and Envoy CPU time per request)."""
    targets = []

    def add(name, slow, fast, detail, limit=SCALE_LIMIT):
        if slow is None or fast is None:
            return
        value, cpu = h_ratio(fast.rps, slow.rps), h_ratio(slow.cpu_us, fast.cpu_us)
        judge = (lambda v: "n/a" if v is None else ("PASS" if v <= limit else "MISS")) if limit else (lambda v: "info")
        targets.append({"target": name, "value": value, "status": judge(value), "cpu_value": cpu,
                        "cpu_status": judge(cpu), "threshold": limit, "detail": detail})

    for scenario in ("key", "repeated", "none"):
        add(f"scale: {SCALE_TITLES[scenario]} large/small <= 1.05x", cells.get(("eg_large", scenario)),
            cells.get(("eg_small", scenario)),
            "cost per request, 20,000 keys / 1,000 rules / 200 tenants against 1 / 1 / 1")
    add("forged token repeated <= 1.05x cached valid", cells.get(("eg_small", "forged")),
        cells.get(("eg_small", "repeated")), "cost per request, one forged token flooded / one valid token repeated")
    add("unique forged / unique valid (informational)", cells.get(("eg_small", "invalid")),
        cells.get(("eg_small", "unique")), "cost per request; both pay a signature check", limit=None)
    return targets


def h_ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


# --- memory and configuration time ------------------------------------------------------


def run_memory(h, issuer, guard_wasm: Path, pools: dict[str, Path], smoke: bool, fill_seconds: int) -> list[dict]:
    base = base_config(h, issuer)
    rows = []
    for variant, concurrency in (SMOKE_MEMORY if smoke else FULL_MEMORY):
        config = variant_config(base, variant)
        bootstrap = h.bootstrap(listeners=[h.http_listener("entra_guard", [h.entra_guard_filter(config, guard_wasm)],
                                                           route_config=h.direct_response_routes())],
                                clusters=[h.static_cluster(h.ENTRA_CLUSTER, issuer.port)])
        envoy = h.Envoy(bootstrap, h.WORK, name=f"envoy-memory-{variant}-c{concurrency}", concurrency=concurrency,
                        log_level="warning", component_log_level="wasm:info")
        started = time.monotonic()
        with envoy:
            ready_s = time.monotonic() - started
            h.check_statuses(envoy, ["entra_guard"], {"repeated": pools["repeated"]})
            configure_ms = sorted(float(m) for m in CONFIGURED.findall(envoy.log_text()))
            row = {"variant": variant, "concurrency": concurrency, "config_bytes": len(h.json.dumps(config)),
                   "subscriptions_keys_rules_tenants": [len(config["subscription_keys"]["keys"]), len(config["rules"]),
                                                        len(config["entra"].get("allowed_tenants") or [])],
                   "envoy_ready_s": round(ready_s, 2), "configure_ms": configure_ms,
                   "idle": memory_summary(h.wasm_memory(envoy), concurrency)}
            if variant in FILLED:
                # Two connections per worker at least (Envoy balances connections, not requests).
                h.run_wrk(h.find_wrk(), envoy.url("/", listener="entra_guard"), pools["unique"], fill_seconds,
                          4 * concurrency, 1, None)
                misses = envoy.stat("wasmcustom.entra_guard.token_cache.miss")
                workers = {k: v for k, v in envoy.stats("listener.").items()
                           if re.match(r"listener\.[^ ]+\.worker_\d+\.downstream_cx_total$", k)}
                row["full"] = memory_summary(h.wasm_memory(envoy), concurrency)
                row["fill"] = {"token_cache_misses": misses, "pool": len(pools["unique"].read_text().split()),
                               "connections_per_worker": sorted(workers.values())}
        rows.append(row)
        h.log(f"memory {variant} c{concurrency}: rss {row['idle']['rss_kib']} KiB, largest VM "
              f"{row['idle']['vm_max_kib']} KiB, configure {configure_ms} ms")
    return rows


def memory_summary(memory: dict, concurrency: int) -> dict:
    vms = sorted((m for m in memory.get("wasm_linear_memories", []) if m["module"] == "entra_guard"),
                 key=lambda m: m["size_kib"], reverse=True)
    workers = vms[:concurrency]  # a worker VM is at least as large as the main thread's
    return {"rss_kib": memory.get("process_rss_kib"),
            "tcmalloc_allocated_kib": int((memory.get("admin_memory") or {}).get("allocated", 0)) // 1024,
            "vms": len(vms), "vm_sizes_kib": [m["size_kib"] for m in vms],
            "vm_resident_kib": [m["rss_kib"] for m in vms],
            "vm_max_kib": vms[0]["size_kib"] if vms else None,
            "worker_resident_kib": max((m["rss_kib"] for m in workers), default=None)}


def growth(rows: list[dict]) -> dict:
    """Bytes per key, rule, tenant (largest VM's resident linear memory and Envoy's
    RSS, idle, --concurrency 1) and per cached token (small configuration)."""
    by = {(r["variant"], r["concurrency"]): r for r in rows}
    small = by.get(("small", 1))
    out: dict = {}
    if not small:
        return out
    for variant, count, unit in (("keys", 20_000, "key"), ("rules", 999, "rule"), ("tenants", 199, "tenant")):
        row = by.get((variant, 1))
        if not row:
            continue
        out[f"per_{unit}"] = {
            "vm_resident_bytes": round((row["idle"]["worker_resident_kib"] - small["idle"]["worker_resident_kib"])
                                       * 1024 / count),
            "envoy_rss_bytes": round((row["idle"]["rss_kib"] - small["idle"]["rss_kib"]) * 1024 / count)}
    capacity = 1024  # entra.token_cache_size's default
    if small.get("full"):
        filled = min(capacity, small["fill"]["pool"])
        out["per_cached_token"] = {
            "tokens": filled,
            "vm_resident_bytes": round((small["full"]["worker_resident_kib"] - small["idle"]["worker_resident_kib"])
                                       * 1024 / filled),
            "envoy_rss_bytes": round((small["full"]["rss_kib"] - small["idle"]["rss_kib"]) * 1024 / filled)}
    return out


# --- report -------------------------------------------------------------------------------


def render_scale(report: dict) -> list[str]:
    lines = []
    cells = {(c["listener"], c["scenario"]): c for c in report.get("scale_cells", [])}
    if cells:
        lines += ["", "scale (issue 17): entra-guard, small (1 key, 1 rule, 1 tenant) and large (20,000 keys, "
                  "1,000 rules, 200 tenants) configuration, one Envoy --concurrency 1",
                  f"  {'scenario':<26} {'small req/s':>11} {'cpu us':>7}   {'large req/s':>11} {'cpu us':>7}"]
        for scenario in SCALE_CELLS:
            small, large = cells.get(("eg_small", scenario)), cells.get(("eg_large", scenario))
            if not small:
                continue
            text = f"  {SCALE_TITLES[scenario]:<26} {h_fmt(small['rps']):>11} {small['cpu_us_per_request']:>7.1f}"
            if large:
                text += f"   {h_fmt(large['rps']):>11} {large['cpu_us_per_request']:>7.1f}"
            lines.append(text)
    memory = report.get("scale_memory") or []
    if memory:
        lines += ["", "memory and configuration time (one Envoy each; KiB; VM = an entra-guard linear memory: "
                  "size / resident; configure = on_configure per VM, ms):"]
        for r in memory:
            for phase in ("idle", "full"):
                m = r.get(phase)
                if not m:
                    continue
                counts = "/".join(f"{n:,}" for n in r["subscriptions_keys_rules_tenants"])
                vms = ", ".join(f"{s:,}/{x:,}" for s, x in zip(m["vm_sizes_kib"], m["vm_resident_kib"]))
                extra = (f"configure {', '.join(f'{t:.1f}' for t in r['configure_ms'])}" if phase == "idle"
                         else f"after {r['fill']['token_cache_misses']:,} cache misses")
                lines.append(f"  {r['variant']:<7} c{r['concurrency']} {phase:<4} keys/rules/tenants {counts:<17} "
                             f"RSS {m['rss_kib']:>9,}  VMs {vms}  {extra}")
        for unit, g in (report.get("scale_growth") or {}).items():
            lines.append(f"  growth {unit}: {g['vm_resident_bytes']:,} bytes of VM memory (resident), "
                         f"{g['envoy_rss_bytes']:,} bytes of Envoy RSS" + (f" ({g['tokens']} tokens)" if "tokens" in g else ""))
    return lines


def h_fmt(v: float) -> str:
    return f"{v:,.0f}"
