#!/usr/bin/env python3
"""`make bench`: entra-guard side by side with Envoy's native jwt_authn, in one run.

One Envoy (release build from .venv, `--concurrency 1`, pinned to one core) serves
one listener per contender, every route a `direct_response` 200 so the upstream
costs nothing:

    noauth              no HTTP filter but the router
    floor               a pass-through wasm filter (bench/floor: one header read)
    jwt_local           jwt_authn, inline local_jwks, no jwt_cache_config (its default)
    jwt_local_cache     jwt_authn, inline local_jwks, jwt_cache_config on
    jwt_remote          jwt_authn, remote_jwks from the issuer, no jwt_cache_config
    jwt_remote_cache    jwt_authn, remote_jwks from the issuer, jwt_cache_config on
    entra_guard         the filter under test (target/.../entra_guard.wasm)

wrk (pinned to the other core) drives every listener in every scenario at the same
connections and duration:

    repeated    one valid token repeated (the verified-token cache path)
    unique      a pool of >= 10,000 distinct valid tokens (a signature check each)
    invalid     the same pool with garbage signatures (the attack path)
    none        no Authorization header (the challenge path)

Besides wrk's req/s, p50 and p99, every cell records Envoy's CPU time per request
(less disturbed than req/s when other processes share the machine). Then: wasm
size, memory of the wasm VMs after the run, the number of JWKS fetches made by a
separate Envoy with `--concurrency 2` (the issuer's counters), and a profile run in
a second Envoy (the floor doing more of entra-guard's host work, entra-guard on a
public path). Writes bench/results/latest.json (or --out) and prints the table, the
ratios and PASS/MISS per target of the issue. Exit status: 0 when the harness worked (whatever
the numbers), 1 when it did not (Envoy down, wrk failed, wrong status codes), 2 on
MISS only with --strict.

    python bench/run.py                       # full run (BENCH_SECONDS per cell, default 5)
    python bench/run.py --smoke               # 1 s per cell, a few cells: checks the harness
    python bench/run.py --listeners entra_guard,floor --scenarios repeated
    python bench/run.py --show bench/results/latest.json [--markdown]
    python bench/run.py --ref-wasm OTHER.wasm [--ref-label REF] [--smoke]   # `make bench-compare`

With --ref-wasm, the run compares two builds (bench/compare.py): `entra_guard` and
`entra_guard_ref` (the same configuration, the other module, its own VM) in all
four scenarios, and prints current ÷ ref with a within-noise verdict.

Then the scale section (bench/scale.py, issue 17): entra-guard with a small and a large
configuration (cost per request of a key, a repeated token, no credential), forged tokens
against valid ones, and memory and on_configure time per configuration at
`--concurrency` 1 and 4. `--only` (BENCH_ONLY) picks parts: main, profile, fetch, scale, memory.

    python bench/run.py --only scale,memory   # just the issue-17 rows

Environment: BENCH_SECONDS, BENCH_WARMUP_SECONDS, BENCH_CONNECTIONS, BENCH_THREADS,
BENCH_POOL, BENCH_ROUNDS, BENCH_AGGREGATE, BENCH_ONLY, ENVOY_BIN, ENTRA_GUARD_WASM, BENCH_FLOOR_WASM (skips the
floor build), WASM_TOOLCHAIN (as for `make wasm`).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path[:0] = [str(REPO / "tests" / "integration"), str(REPO / "tests")]

from bootstrap import (  # noqa: E402 - after the sys.path setup above
    ENTRA_CLUSTER,
    bootstrap,
    entra_guard_filter,
    http_listener,
    static_cluster,
    wasm_filter,
)
from envoy_harness import Envoy  # noqa: E402
from filter_config import filter_config, mcp_section  # noqa: E402
from issuer import DEFAULT_API_APP_ID, DEFAULT_API_URI, Issuer  # noqa: E402
from issuer.tokens import with_garbage_signature  # noqa: E402
from paths import find_envoy, find_wasm  # noqa: E402

from compare import REF_LISTENER, comparison, render_comparison  # noqa: E402
import scale  # noqa: E402

WORK = REPO / "target" / "bench"  # scratch: tokens, Envoy configs and logs
FLOOR_CRATE = BENCH_DIR / "floor"
FLOOR_TARGET_DIR = REPO / "target" / "bench-floor"
FLOOR_WASM = FLOOR_TARGET_DIR / "wasm32-unknown-unknown" / "release" / "bench_floor.wasm"
WRK_SCRIPT = BENCH_DIR / "wrk" / "pool.lua"
DEFAULT_OUT = BENCH_DIR / "results" / "latest.json"
SEED = "entra-guard-bench"  # deterministic issuer keys: same JWKS in every run

JWT_AUTHN_TYPE = "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication"
WASM_SIZE_LIMIT = 1 << 20  # the budget: 1 MiB
JWT_CACHE_SIZE = 1024  # jwt_authn's cache when on; entra-guard's default token_cache_size is 1024 too

LISTENERS = ["noauth", "floor", "jwt_local", "jwt_local_cache", "jwt_remote", "jwt_remote_cache", "entra_guard"]
# The profile section: the floor doing more of the host work entra-guard does, and
# entra-guard on a public path (its glue without any JWT work). Differences of
# time per request between these listeners attribute entra-guard's cost.
FLOOR_WORK = {"floor": "", "floor_map": "map", "floor_glue": "map,time", "floor_reply": "map,time,reply",
              "floor_challenge": "map,time,challenge"}
PROFILE_LISTENERS = ["floor", "floor_map", "floor_glue", "floor_reply", "floor_challenge", "entra_guard_public",
                     "entra_guard"]
PROFILE_SCENARIOS = ["repeated", "none"]
ALL_LISTENERS = LISTENERS + PROFILE_LISTENERS
JWT_LISTENERS = [name for name in LISTENERS if name.startswith("jwt_")]
SCENARIOS = ["repeated", "unique", "invalid", "none"]
SCENARIO_TITLES = {
    "repeated": "1. one valid token repeated",
    "unique": "2. unique valid tokens",
    "invalid": "3. invalid signatures",
    "none": "4. no token",
}
# Which listeners must refuse (non-2xx) every request of a scenario; the others must
# accept every one. A cell that does not is a broken harness, not a slow filter.
AUTH_LISTENERS = {"jwt_local", "jwt_local_cache", "jwt_remote", "jwt_remote_cache", "entra_guard", REF_LISTENER,
                  *scale.SCALE_LISTENERS}
REFUSED_SCENARIOS = {"invalid", "none", "forged"}
# Pools sent in another header than `Authorization: Bearer` (bench/wrk/pool.lua's HEADER).
POOL_HEADERS = {"key": scale.SUBSCRIPTION_HEADER}
# Parts of a run (--only, BENCH_ONLY): the main table, the profile Envoy, the JWKS
# fetch count, the scale rows (issue 17) and memory / configuration time.
SECTIONS = ["main", "profile", "fetch", "scale", "memory"]
ALWAYS_REFUSING = {"floor_reply", "floor_challenge"}

SMOKE_LISTENERS = ["noauth", "floor", "jwt_local", "jwt_remote_cache", "entra_guard"]
SMOKE_SCENARIOS = ["repeated", "invalid", "none"]


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


class HarnessError(RuntimeError):
    """The bench itself did not work (as opposed to: the numbers are bad)."""


def env_number(name: str, default: float, kind=float):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise SystemExit(f"bench: {name}={raw!r} is not a number") from None


# --- artifacts ----------------------------------------------------------------------


def build_floor() -> Path:
    """Builds bench/floor with the same toolchain logic as `make wasm`."""
    override = os.environ.get("BENCH_FLOOR_WASM")
    if override:
        path = Path(override)
        if not path.is_file():
            raise HarnessError(f"BENCH_FLOOR_WASM={override} does not exist")
        return path
    manifest = ["--release", "--manifest-path", str(FLOOR_CRATE / "Cargo.toml")]
    env = dict(os.environ, CARGO_TARGET_DIR=str(FLOOR_TARGET_DIR))
    script = REPO / "scripts" / "wasm-toolchain.sh"
    if script.is_file():
        cmd = [str(script), "cargo", "build", *manifest]
    else:  # no Makefile toolchain script: Debian's rustc-web with build-std (shared/toolchain.md)
        env.update(PATH=f"/usr/bin:{env.get('PATH', '')}", RUSTC_BOOTSTRAP="1")
        cmd = ["/usr/bin/cargo", "build", "--target", "wasm32-unknown-unknown",
               "-Zbuild-std=std,panic_abort", *manifest]
    log("building the wasm floor (bench/floor): " + " ".join(Path(c).name if i == 0 else c for i, c in enumerate(cmd)))
    result = subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0 or not FLOOR_WASM.is_file():
        raise HarnessError(f"building bench/floor failed:\n{result.stdout[-4000:]}")
    return FLOOR_WASM


def find_wrk() -> str:
    wrk = shutil.which("wrk")
    if not wrk:
        raise HarnessError("wrk is not installed (Debian: apt-get install wrk; `make bench` installs it)")
    return wrk


# --- Envoy configuration ------------------------------------------------------------


def direct_response_routes() -> dict:
    return {
        "name": "bench",
        "virtual_hosts": [{
            "name": "all",
            "domains": ["*"],
            "routes": [{"match": {"prefix": "/"}, "direct_response": {"status": 200}}],
        }],
    }


def jwt_authn_filter(issuer: Issuer, *, remote: bool, cache: bool) -> dict:
    """jwt_authn checking what entra-guard checks: the v2 issuer, the same audiences,
    the same keys. `forward: true` passes Authorization upstream unchanged, as
    entra-guard does (jwt_authn's default strips it)."""
    provider: dict = {
        "issuer": issuer.issuer_v2(),
        "audiences": [DEFAULT_API_URI, DEFAULT_API_APP_ID],
        "forward": True,
    }
    if remote:
        provider["remote_jwks"] = {
            "http_uri": {"uri": issuer.jwks_url(), "cluster": ENTRA_CLUSTER, "timeout": "5s"},
            "cache_duration": "3600s",
        }
    else:
        provider["local_jwks"] = {"inline_string": json.dumps(issuer.jwks())}
    if cache:
        provider["jwt_cache_config"] = {"jwt_cache_size": JWT_CACHE_SIZE}
    return {
        "name": "envoy.filters.http.jwt_authn",
        "typed_config": {
            "@type": JWT_AUTHN_TYPE,
            "providers": {"entra": provider},
            "rules": [{"match": {"prefix": "/"}, "requires": {"provider_name": "entra"}}],
        },
    }


def guard_configuration(issuer: Issuer) -> dict:
    """entra-guard's configuration: one tenant, the API's two audiences, every path
    needs a JWT, and an `mcp` block so that the no-token path answers the full MCP
    challenge (`resource_metadata`). No claims_to_headers: jwt_authn adds no headers
    either."""
    return filter_config(issuer, mcp=mcp_section())


def listener_filters(name: str, issuer: Issuer, floor_wasm: Path, guard_wasm: Path,
                     ref_wasm: Path | None = None) -> list[dict]:
    if name == "noauth":
        return []
    if name in FLOOR_WORK:
        # One VM per variant (vm_id), as a separate plugin would have.
        return [wasm_filter(FLOOR_WORK[name], floor_wasm, name=f"bench_{name}", root_id="", vm_id=f"bench_{name}")]
    if name == "entra_guard":
        return [entra_guard_filter(guard_configuration(issuer), guard_wasm)]
    if name == REF_LISTENER:
        if ref_wasm is None:
            raise HarnessError(f"{REF_LISTENER} needs --ref-wasm")
        # entra_guard's configuration, the other build, a VM of its own.
        return [entra_guard_filter(guard_configuration(issuer), ref_wasm, name=REF_LISTENER,
                                   root_id=REF_LISTENER, vm_id=REF_LISTENER)]
    if name == "entra_guard_public":
        config = guard_configuration(issuer)
        config["rules"] = [{"path_prefix": "/", "require": "none"}]
        return [entra_guard_filter(config, guard_wasm, name="entra_guard_public", root_id="entra_guard",
                                   vm_id="entra_guard_public")]
    return [jwt_authn_filter(issuer, remote="remote" in name, cache=name.endswith("_cache"))]


def bench_bootstrap(listeners: list[str], issuer: Issuer, floor_wasm: Path, guard_wasm: Path,
                    ref_wasm: Path | None = None) -> dict:
    return bootstrap(
        listeners=[
            http_listener(name, listener_filters(name, issuer, floor_wasm, guard_wasm, ref_wasm),
                          route_config=direct_response_routes())
            for name in listeners
        ],
        clusters=[static_cluster(ENTRA_CLUSTER, issuer.port)],
    )


class PinnedEnvoy(Envoy):
    """The harness's Envoy, started under `taskset -c <cpus>` when `cpus` is set."""

    def __init__(self, *args, cpus: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.cpus = cpus

    def command(self) -> list[str]:
        base = super().command()
        return ["taskset", "-c", self.cpus, *base] if self.cpus else base


# --- tokens -------------------------------------------------------------------------


def write_pools(issuer: Issuer, pool_size: int) -> dict[str, Path]:
    """Token files, one token a line: repeated (1), unique (pool), invalid (pool), none (empty)."""
    WORK.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    minter = issuer.minter()
    tokens = minter.mint_many(pool_size + 1, workers=max(2, os.cpu_count() or 2))
    if len(set(tokens)) != len(tokens):
        raise HarnessError("the minter produced duplicate tokens")
    log(f"minted {len(tokens)} distinct tokens in {time.monotonic() - started:.1f}s")
    files = {
        "repeated": tokens[:1],
        "unique": tokens[1:],
        "invalid": [with_garbage_signature(t) for t in tokens[1:]],
        "none": [],
    }
    paths = {}
    for scenario, lines in files.items():
        path = WORK / f"tokens-{scenario}.txt"
        path.write_text("".join(f"{line}\n" for line in lines))
        paths[scenario] = path
    return paths


# --- load ---------------------------------------------------------------------------


@dataclass
class Cell:
    listener: str
    scenario: str
    rps: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    cpu_us: float = 0.0  # Envoy CPU time per request (all its threads), microseconds
    requests: int = 0
    non2xx: int = 0
    socket_errors: int = 0
    rounds: list[dict] = field(default_factory=list)
    problem: str | None = None

    def as_json(self) -> dict:
        return {
            "listener": self.listener, "scenario": self.scenario, "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3), "p99_ms": round(self.p99_ms, 3),
            "cpu_us_per_request": round(self.cpu_us, 2), "requests": self.requests, "non2xx": self.non2xx, "socket_errors": self.socket_errors,
            "problem": self.problem, "rounds": self.rounds,
        }


def run_wrk(wrk: str, url: str, tokens: Path, seconds: int, connections: int, threads: int,
            cpus: str | None, header: str | None = None) -> dict:
    cmd = [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
           "-s", str(WRK_SCRIPT), url, "--", str(tokens) if tokens.stat().st_size else "-", *filter(None, [header])]
    if cpus:
        cmd = ["taskset", "-c", cpus, *cmd]
    result = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            timeout=seconds + 60)
    match = re.search(r"^BENCH_JSON (\{.*\})$", result.stdout, re.M)
    if result.returncode != 0 or not match:
        raise HarnessError(f"wrk failed (exit {result.returncode}): {' '.join(cmd)}\n"
                           f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return json.loads(match.group(1))


def expected_refused(listener: str, scenario: str) -> bool:
    return listener in ALWAYS_REFUSING or (listener in AUTH_LISTENERS and scenario in REFUSED_SCENARIOS)


def envoy_cpu_ns(envoy: Envoy) -> int:
    """CPU time of all of Envoy's threads so far (ns, from /proc/PID/task/*/schedstat)."""
    total = 0
    for task in Path(f"/proc/{envoy.process.pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that just ended
    return total


def measure(envoy: Envoy, wrk: str, cells: list[Cell], pools: dict[str, Path], *, seconds: int,
            warmup: int, rounds: int, connections: int, threads: int, wrk_cpus: str | None,
            aggregate: str = "median") -> None:
    """Every cell `rounds` times, round-robin (a slow phase of the machine then hits
    all listeners alike); a cell's numbers are its median (or best) round by req/s.

    Besides wrk's numbers, each round records Envoy's CPU time per request: with
    Envoy's one worker saturated it is 1/(req/s) on a quiet machine, and it stays
    meaningful when other processes share Envoy's core (they lower req/s, not the
    CPU time Envoy spends per request)."""
    total = len(cells) * rounds
    done = 0
    for round_no in range(rounds):
        for cell in cells:
            url = envoy.url("/", listener=cell.listener)
            pool, header = pools[cell.scenario], POOL_HEADERS.get(cell.scenario)
            if warmup > 0 and round_no == 0:
                run_wrk(wrk, url, pool, warmup, connections, threads, wrk_cpus, header)
            connections_stat = f"http.{cell.listener}.downstream_cx_total"
            cx_before = envoy.stat(connections_stat)
            cpu_before = envoy_cpu_ns(envoy)
            raw = run_wrk(wrk, url, pool, seconds, connections, threads, wrk_cpus, header)
            cpu_ns = envoy_cpu_ns(envoy) - cpu_before
            opened = envoy.stat(connections_stat) - cx_before
            done += 1
            seconds_run = raw["duration_us"] / 1e6
            sample = {
                "rps": raw["requests"] / seconds_run if seconds_run else 0.0,
                "p50_ms": raw["p50_us"] / 1000, "p99_ms": raw["p99_us"] / 1000,
                "cpu_us": cpu_ns / 1000 / raw["requests"] if raw["requests"] else 0.0,
                "requests": raw["requests"], "non2xx": raw["errors"]["status"],
                "socket_errors": sum(v for k, v in raw["errors"].items() if k != "status"),
                # wrk keeps its connections open; more than it has means Envoy
                # closed some (a local reply it will not keep the connection for).
                "connections_opened": opened,
            }
            cell.rounds.append({k: round(v, 3) if isinstance(v, float) else v for k, v in sample.items()})
            log(f"[{done}/{total}] {cell.listener:<18} {cell.scenario:<9} {sample['rps']:>8.0f} req/s  "
                f"p50 {sample['p50_ms']:.2f} ms  p99 {sample['p99_ms']:.2f} ms  "
                f"cpu {sample['cpu_us']:.1f} us/req  non-2xx {sample['non2xx']}  connections {opened}")
    for cell in cells:
        ranked = sorted(cell.rounds, key=lambda r: r["rps"])
        chosen = ranked[-1] if aggregate == "best" else ranked[(len(ranked) - 1) // 2]
        cell.rps, cell.p50_ms, cell.p99_ms = chosen["rps"], chosen["p50_ms"], chosen["p99_ms"]
        cpus = sorted(r["cpu_us"] for r in cell.rounds)
        cell.cpu_us = cpus[0] if aggregate == "best" else cpus[(len(cpus) - 1) // 2]
        cell.requests = sum(r["requests"] for r in cell.rounds)
        cell.non2xx = sum(r["non2xx"] for r in cell.rounds)
        cell.socket_errors = sum(r["socket_errors"] for r in cell.rounds)
        refused = expected_refused(cell.listener, cell.scenario)
        if cell.requests == 0:
            cell.problem = "no requests completed"
        elif refused and cell.non2xx != cell.requests:
            cell.problem = f"{cell.requests - cell.non2xx} of {cell.requests} requests were accepted; all must be refused"
        elif not refused and cell.non2xx:
            cell.problem = f"{cell.non2xx} of {cell.requests} requests were refused; all must be accepted"
        elif cell.socket_errors:
            cell.problem = f"{cell.socket_errors} socket errors"


def check_statuses(envoy: Envoy, listeners: list[str], pools: dict[str, Path]) -> None:
    """One request per cell before the load, with the status each must answer."""
    for scenario, path in pools.items():
        lines = path.read_text().split()
        header = POOL_HEADERS.get(scenario)
        headers = ({header: lines[0]} if header else {"Authorization": f"Bearer {lines[0]}"}) if lines else {}
        for listener in listeners:
            deadline = time.monotonic() + 10
            while True:
                status = envoy.get("/", headers, listener=listener).status
                want_refused = expected_refused(listener, scenario)
                if (status == 200) != want_refused:
                    break
                if time.monotonic() > deadline:  # keys may still be on their way (remote JWKS)
                    raise HarnessError(f"{listener} answered {status} to scenario {scenario} "
                                       f"(expected {'a refusal' if want_refused else '200'})")
                time.sleep(0.1)


# --- memory -------------------------------------------------------------------------

# Strings from each module's data segment, which V8 copies into the module's linear
# memory at instantiation: they tell whose VM a linear memory is.
MEMORY_MARKERS = {"entra_guard": b"entra-guard is not configured", "floor": b"bench floor reply"}


def wasm_memory(envoy: Envoy) -> dict:
    """What Envoy tells about its wasm VMs after the run, plus the process's view.

    Envoy 1.40 has no per-VM memory stat (`wasm.envoy.wasm.runtime.v8.{created,active}`
    count VMs; `/memory` is tcmalloc's heap, which does not hold wasm memories). V8
    puts each wasm linear memory at the start of its own ~8 GiB virtual reservation
    (the rest is PROT_NONE guard), so in /proc/PID/smaps a linear memory is the
    read-write mapping that ends where such a reservation begins: its size is the
    VM's `memory.size`, its Rss the pages really touched. The module a memory belongs
    to is recognised by a string of its data segment (read through /proc/PID/mem).
    """
    stats = {name: value for name, value in envoy.stats().items()
             if name.startswith(("wasm.", "wasm_vm.", "wasmcustom."))}
    result: dict = {"stats": stats}
    try:
        result["admin_memory"] = envoy.admin("/memory").json()
    except (OSError, ValueError):
        result["admin_memory"] = None
    pid = envoy.process.pid if envoy.process else None
    memories: list[dict] = []
    if pid:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            rss = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
            result["process_rss_kib"] = int(rss.group(1)) if rss else None
            memories = _linear_memories(pid)
        except OSError as error:
            result["linear_memory_error"] = str(error)
    result["wasm_linear_memories"] = memories
    per_module: dict[str, dict] = {}
    for memory in memories:
        entry = per_module.setdefault(memory["module"], {"vms": 0, "size_kib": 0, "rss_kib": 0})
        entry["vms"] += 1
        entry["size_kib"] += memory["size_kib"]
        entry["rss_kib"] += memory["rss_kib"]
    result["wasm_linear_memory_by_module"] = per_module
    return result


def _linear_memories(pid: int) -> list[dict]:
    maps = []  # [start, end, perms, name, rss_kib]
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        head = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$", line)
        if head:
            maps.append([int(head.group(1), 16), int(head.group(2), 16), head.group(3), head.group(4), 0])
        elif maps and line.startswith("Rss:"):
            maps[-1][4] = int(line.split()[1])
    memories = []
    for before, reservation in zip(maps, maps[1:]):
        start, end, perms, name, rss = before
        if (reservation[2] == "---p" and reservation[3] == "" and reservation[1] - reservation[0] >= 4 * 2**30
                and perms.startswith("rw") and name == "" and end == reservation[0]):
            memories.append({"module": _module_of(pid, start, end), "size_kib": (end - start) // 1024,
                             "rss_kib": rss})
    return memories


def _module_of(pid: int, start: int, end: int) -> str:
    try:
        with open(f"/proc/{pid}/mem", "rb") as mem:
            mem.seek(start)
            data = mem.read(min(end - start, 64 * 2**20))
    except OSError:
        return "unknown"
    for module, marker in MEMORY_MARKERS.items():
        if marker in data:
            return module
    return "unknown"


# --- JWKS fetches with --concurrency 2 ---------------------------------------------------


def count_fetches(issuer: Issuer, listener: str, floor_wasm: Path, guard_wasm: Path, pools: dict[str, Path],
                  wrk: str, seconds: int) -> dict:
    """A separate Envoy with 2 workers and one listener; the issuer's counters tell how
    often it fetched discovery and JWKS while both workers served requests."""
    config = bench_bootstrap([listener], issuer, floor_wasm, guard_wasm)
    envoy = PinnedEnvoy(config, WORK, name=f"envoy-c2-{listener}", concurrency=2, log_level="warning")
    issuer.reset_counters()
    with envoy:
        check_statuses(envoy, [listener], {"unique": pools["unique"]})
        # Two connections per worker at least: Envoy balances connections, not requests.
        run_wrk(wrk, envoy.url("/", listener=listener), pools["unique"], seconds, 16, 2, None)
        time.sleep(0.3)  # a tick for anything still in flight
        counts = issuer.counters()["kinds"]
        per_worker = {k: v for k, v in envoy.stats("listener.").items()
                      if re.match(r"listener\.[^ ]+\.worker_\d+\.downstream_cx_total$", k)}
    return {"listener": listener, "concurrency": 2, "jwks": counts.get("jwks", 0),
            "discovery": counts.get("discovery", 0), "connections_per_worker": sorted(per_worker.values())}


# --- report -------------------------------------------------------------------------


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a and b else None


def compare(guard, ref) -> dict | None:
    """entra-guard against one reference cell: req/s ratio, and the same ratio from
    Envoy's CPU time per request (reference µs ÷ entra-guard µs), which other load
    on the machine disturbs far less."""
    if guard is None or ref is None:
        return None
    return {"vs": ref.listener, "ratio": ratio(guard.rps, ref.rps), "cpu_ratio": ratio(ref.cpu_us, guard.cpu_us)}


def strongest(cells: dict, scenario: str, names: list[str]):
    present = [cells[(n, scenario)] for n in names if (n, scenario) in cells]
    return max(present, key=lambda c: c.rps) if present else None


def compute_ratios(cells: dict) -> dict:
    """entra-guard ÷ each reference, per scenario. `jwt_authn_default` is the faster
    (by req/s) of jwt_local / jwt_remote, both without jwt_cache_config (jwt_authn's
    default); `jwt_authn_cached` the faster of the two *_cache listeners: the
    targets compare with the stronger native contender."""
    out = {}
    for scenario in SCENARIOS:
        guard = cells.get(("entra_guard", scenario))
        if guard is None:
            continue
        row = {
            "jwt_authn_default": compare(guard, strongest(cells, scenario, ["jwt_local", "jwt_remote"])),
            "jwt_authn_cached": compare(guard, strongest(cells, scenario, ["jwt_local_cache", "jwt_remote_cache"])),
        }
        for name in JWT_LISTENERS + ["floor", "noauth"]:
            row[name] = compare(guard, cells.get((name, scenario)))
        out[scenario] = {k: v for k, v in row.items() if v is not None}
    return out


def evaluate_targets(cells: dict, ratios: dict, wasm_bytes: int, fetches: dict | None,
                     profile_cells: dict | None = None) -> list[dict]:
    """PASS/MISS per target of the issue, judged on req/s (the issue's measure);
    `cpu_status` judges the same target on Envoy CPU time per request. Targets
    whose cells were not measured (a section left out) are not listed."""
    targets = []

    def add(name, comparison, threshold, detail, strict_greater=False):
        def judge(value):
            if value is None:
                return "n/a"
            return "PASS" if (value > threshold if strict_greater else value >= threshold) else "MISS"
        comparison = comparison or {}
        targets.append({"target": name, "value": comparison.get("ratio"), "status": judge(comparison.get("ratio")),
                        "cpu_value": comparison.get("cpu_ratio"), "cpu_status": judge(comparison.get("cpu_ratio")),
                        "threshold": threshold, "detail": detail})

    r = ratios.get("repeated", {})
    add("repeated token >= 0.95x wasm floor", r.get("floor"), 0.95, "entra_guard / floor, scenario repeated")
    d = r.get("jwt_authn_default")
    add("repeated token > jwt_authn default", d, 1.0,
        f"entra_guard / {(d or {}).get('vs')} (the faster jwt_authn without jwt_cache_config)", strict_greater=True)
    u = ratios.get("unique", {}).get("jwt_authn_default")
    add("unique tokens >= 0.85x jwt_authn", u, 0.85,
        f"entra_guard / {(u or {}).get('vs')} (the faster jwt_authn without jwt_cache_config), scenario unique")
    inv, uniq = cells.get(("entra_guard", "invalid")), cells.get(("entra_guard", "unique"))
    comparison = None
    if inv and uniq:
        comparison = {"ratio": ratio(inv.rps, uniq.rps), "cpu_ratio": ratio(uniq.cpu_us, inv.cpu_us)}
    add("invalid signatures no worse than unique tokens", comparison, 0.97,
        "entra_guard invalid / entra_guard unique; >= 0.97 passes (3% allowance for run-to-run noise)")
    add("no token >= 0.95x wasm floor", ratios.get("none", {}).get("floor"), 0.95, "entra_guard / floor, scenario none")
    profile_cells = profile_cells or {}
    add("floor_challenge: no token >= 0.95x floor_challenge",
        compare(profile_cells.get(("entra_guard", "none")), profile_cells.get(("floor_challenge", "none"))), 0.95,
        "entra_guard / floor_challenge (a wasm floor sending entra-guard's own reply byte for byte), "
        "scenario none, profile Envoy")
    targets[:] = [t for t in targets if t["status"] != "n/a"]
    size_ok = "PASS" if wasm_bytes <= WASM_SIZE_LIMIT else "MISS"
    targets.append({"target": "wasm <= 1 MiB", "value": wasm_bytes, "status": size_ok, "cpu_value": None,
                    "cpu_status": None, "threshold": WASM_SIZE_LIMIT,
                    "detail": f"{wasm_bytes} bytes = {wasm_bytes / 1024:.0f} KiB; limit {WASM_SIZE_LIMIT} bytes (1 MiB)"})
    if fetches is not None:
        targets.append({"target": "JWKS fetches = 1 per Envoy (--concurrency 2)", "value": fetches["jwks"],
                        "status": "PASS" if fetches["jwks"] == 1 else "MISS", "cpu_value": None, "cpu_status": None,
                        "threshold": 1,
                        "detail": f"issuer counted {fetches['jwks']} JWKS and {fetches['discovery']} discovery requests"})
    return targets


def fmt_rps(v: float | None) -> str:
    return "-" if v is None else f"{v:,.0f}"


def fmt_ratio(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}x"


def render_ratios(report: dict, scenarios: list[str]) -> list[str]:
    lines = ["entra-guard ÷ reference: req/s ratio (and the same ratio from Envoy CPU time per request)"]
    refs = [("jwt_authn default", "jwt_authn_default"), ("jwt_authn cached", "jwt_authn_cached"),
            ("jwt_local", "jwt_local"), ("jwt_local_cache", "jwt_local_cache"), ("jwt_remote", "jwt_remote"),
            ("jwt_remote_cache", "jwt_remote_cache"), ("wasm floor", "floor"), ("no auth", "noauth")]
    lines.append(f"| {'reference':<22} |" + "".join(f" {s:<17} |" for s in scenarios))
    lines.append("|" + "-" * 24 + "|" + "".join("-" * 19 + "|" for _ in scenarios))
    for title, key in refs:
        row, any_value = f"| {title:<22} |", False
        for s in scenarios:
            value = report["ratios"].get(s, {}).get(key)
            if value:
                any_value = True
                row += f" {fmt_ratio(value['ratio']):>6} ({fmt_ratio(value['cpu_ratio']):>6}) |"
            else:
                row += f" {'':17} |"
        if any_value:
            lines.append(row)
    lines.append("(jwt_authn default / cached = the faster of its local- and remote-JWKS listeners, "
                 "without / with jwt_cache_config)")
    lines.append("")
    return lines


def render(report: dict) -> str:
    cells = {(c["listener"], c["scenario"]): c for c in report["cells"]}
    listeners = [n for n in LISTENERS + [REF_LISTENER] if any(k[0] == n for k in cells)]
    scenarios = [s for s in SCENARIOS if any(k[1] == s for k in cells)]
    lines = []
    meta = report["meta"]
    lines.append(f"entra-guard bench  {meta['date']}  envoy {meta['envoy_version']} --concurrency 1  "
                 f"wrk -t{meta['threads']} -c{meta['connections']} -d{meta['seconds']}s "
                 f"x{meta['rounds']} round(s) ({meta['aggregate']}), pool {meta['pool']} tokens, "
                 f"cpus: envoy {meta['envoy_cpus'] or 'any'} / wrk {meta['wrk_cpus'] or 'any'}, "
                 f"load average before {meta['loadavg_before']}")
    lines.append("")
    width = 40
    header = f"| {'listener':<17} |" + "".join(f" {SCENARIO_TITLES[s]:<{width - 2}} |" for s in scenarios)
    sub = f"| {'':<17} |" + "".join(f" {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'cpu us':>12} |" for _ in scenarios)
    if scenarios:
        lines += [header, sub, "|" + "-" * 19 + "|" + "".join("-" * width + "|" for _ in scenarios)]
    for name in listeners:
        row = f"| {name:<17} |"
        for s in scenarios:
            c = cells.get((name, s))
            if c is None:
                row += " " * width + "|"
            else:
                flag = "!" if c["problem"] else " "
                row += (f" {fmt_rps(c['rps']):>7}{flag} {c['p50_ms']:>7.2f} {c['p99_ms']:>7.2f} "
                        f"{c['cpu_us_per_request']:>12.1f} |")
        lines.append(row)
    if scenarios:
        lines.append("(cpu us = Envoy CPU time per request, all threads; noise from other processes barely moves it)")
    for c in report["cells"] + report.get("profile_cells", []) + report.get("scale_cells", []):
        if c["problem"]:
            lines.append(f"  ! {c['listener']} / {c['scenario']}: {c['problem']}")
    comparing = bool(meta.get("ref_label"))
    lines.append("")
    if not comparing and scenarios:
        lines += render_ratios(report, scenarios)
    wasm = report["wasm"]
    mem = report.get("memory") or {}
    lines.append(f"wasm: entra_guard.wasm {wasm['entra_guard_bytes']:,} bytes ({wasm['entra_guard_bytes'] / 1024:.0f} KiB)"
                 + (f"; floor {wasm['floor_bytes']:,} bytes" if wasm.get("floor_bytes") else "")
                 + (f"; ref {wasm['ref_bytes']:,} bytes" if wasm.get("ref_bytes") else ""))
    if mem:
        lines.append("wasm VM memory after the run (linear memory: memory.size / resident, per module and per VM):")
        for module, m in sorted((mem.get("wasm_linear_memory_by_module") or {}).items()):
            sizes = ", ".join(f"{x['size_kib']:,}/{x['rss_kib']:,}" for x in mem["wasm_linear_memories"]
                              if x["module"] == module)
            lines.append(f"  {module:<12} {m['vms']} VMs: {m['size_kib']:,} KiB / {m['rss_kib']:,} KiB resident "
                         f"(per VM, KiB: {sizes})")
        admin = mem.get("admin_memory") or {}
        stats = mem.get("stats", {})
        lines.append(f"  Envoy: RSS {mem.get('process_rss_kib') or 0:,} KiB, /memory allocated "
                     f"{int(admin.get('allocated', 0)) // 1024:,} KiB, heap {int(admin.get('heap_size', 0)) // 1024:,} KiB; "
                     f"wasm.envoy.wasm.runtime.v8.active={stats.get('wasm.envoy.wasm.runtime.v8.active', '?')}, "
                     f"created={stats.get('wasm.envoy.wasm.runtime.v8.created', '?')}")
    for f in report.get("fetches", []):
        lines.append(f"JWKS fetches by a separate Envoy --concurrency 2, listener {f['listener']}: "
                     f"jwks={f['jwks']} discovery={f['discovery']} (connections per worker {f['connections_per_worker']})")
    profile = report.get("profile")
    if profile:
        lines.append("")
        lines += render_profile(profile)
    lines += scale.render_scale(report)
    lines.append("")
    # The targets compare with jwt_authn and the floor, absent from a comparison of builds.
    targets = [] if comparing else report["targets"]
    if targets:
        lines.append("targets (issues 8 and 17), judged on req/s; [cpu] = the same target judged on Envoy CPU time "
                     "per request (scale and forged rows: cost ratios, lower is better):")
    for t in targets:
        value = t["value"]
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        cpu = "" if t.get("cpu_status") is None else f"[cpu {t['cpu_status']} {t['cpu_value'] if t['cpu_value'] is not None else '-'}]"
        lines.append(f"  {t['status']:<4}  {t['target']:<52} {shown:>8} {cpu:<18}  {t['detail']}")
    bound = report.get("reply_bound")
    if bound:
        lines.append(f"  note  no token: a wasm floor that answers the same kind of 401 itself reaches "
                     f"{bound['floor_reply_vs_floor']:.2f}x the forwarding floor (CPU, profile Envoy); "
                     f"entra-guard is {bound['entra_guard_vs_floor_reply']:.2f}x that replying floor")
        if "floor_challenge_vs_floor" in bound:
            lines.append(f"  note  no token: the floor sending entra-guard's own reply (5 headers, JSON body) reaches "
                         f"{bound['floor_challenge_vs_floor']:.2f}x the forwarding floor; "
                         f"entra-guard is {bound['entra_guard_vs_floor_challenge']:.2f}x that")
    if meta.get("smoke"):
        lines.append("(smoke run: 1 s cells, often on a busy machine: only shows that the harness works)")
    return "\n".join(lines)


def render_markdown(report: dict) -> str:
    """The headline table and the target list, as Markdown (docs/performance.md)."""
    cells = {(c["listener"], c["scenario"]): c for c in report["cells"]}
    scenarios = [s for s in SCENARIOS if any(k[1] == s for k in cells)]
    listeners = [n for n in LISTENERS if any(k[0] == n for k in cells)]
    out = ["| listener | " + " | ".join(SCENARIO_TITLES[s] + " req/s · p50 · p99 ms" for s in scenarios) + " |",
           "|---|" + "---|" * len(scenarios)]
    for name in listeners:
        row = [f"`{name}`"]
        for s in scenarios:
            c = cells.get((name, s))
            row.append("" if c is None else f"{fmt_rps(c['rps'])} · {c['p50_ms']:.1f} · {c['p99_ms']:.1f}")
        out.append("| " + " | ".join(row) + " |")
    out += ["", "| entra-guard ÷ | " + " | ".join(scenarios) + " |", "|---|" + "---|" * len(scenarios)]
    for title, key in [("jwt_authn, default (no cache)", "jwt_authn_default"),
                       ("jwt_authn, jwt_cache_config on", "jwt_authn_cached"),
                       ("wasm floor", "floor"), ("no auth", "noauth")]:
        row = [title]
        for s in scenarios:
            v = report["ratios"].get(s, {}).get(key)
            row.append("" if not v else f"{fmt_ratio(v['ratio'])} ({fmt_ratio(v['cpu_ratio'])} by CPU)")
        out.append("| " + " | ".join(row) + " |")
    out += ["", "| target | value | result | by CPU time |", "|---|---|---|---|"]
    for t in report["targets"]:
        value = t["value"]
        shown = f"{value:.2f}" if isinstance(value, float) else (f"{value:,}" if isinstance(value, int) else "–")
        cpu = "" if t.get("cpu_status") is None else f"{t['cpu_status']} ({t['cpu_value']})"
        out.append(f"| {t['target']} | {shown} | **{t['status']}** | {cpu} |")
    return "\n".join(out)


# --- profile ------------------------------------------------------------------------

PROFILE_ROWS = {  # scenario: (listeners, measured in the "profile" Envoy or the "main" one)
    "repeated": (["floor", "floor_map", "floor_glue", "entra_guard_public", "entra_guard"], "profile"),
    "none": (["floor", "floor_map", "floor_glue", "floor_reply", "floor_challenge", "entra_guard_public", "entra_guard"],
             "profile"),
    "unique": (["noauth", "floor", "entra_guard", "jwt_local", "jwt_remote"], "main"),
    "invalid": (["noauth", "floor", "entra_guard", "jwt_local", "jwt_remote"], "main"),
}
PROFILE_NOTES = {
    "noauth": "no filter",
    "floor": "1 VM call + 1 header read",
    "floor_map": "floor reading all headers instead of one",
    "floor_glue": "floor_map + clock read (entra-guard's host calls on a cache hit)",
    "floor_reply": "floor_glue + local 401 with a challenge (entra-guard's host calls on a denial)",
    "floor_challenge": "floor_glue + entra-guard's own no-token reply, byte for byte (5 headers, JSON body)",
    "entra_guard_public": "entra-guard, rule require: none (its glue, no JWT work)",
    "entra_guard": "entra-guard",
    "jwt_local": "jwt_authn, local JWKS, no cache",
    "jwt_remote": "jwt_authn, remote JWKS, no cache",
}


def build_profile(profile_cells: dict, main_cells: dict) -> dict:
    """Envoy CPU time per request per listener, and its difference to the floor."""
    out = {}
    for scenario, (rows, source) in PROFILE_ROWS.items():
        cells = profile_cells if source == "profile" else main_cells
        floor = cells.get(("floor", scenario))
        if floor is None or not floor.cpu_us:
            continue
        entries = []
        for name in rows:
            cell = cells.get((name, scenario))
            if cell is None or not cell.cpu_us:
                continue
            entries.append({"listener": name, "cpu_us_per_request": round(cell.cpu_us, 2),
                            "vs_floor_us": round(cell.cpu_us - floor.cpu_us, 2), "rps": round(cell.rps, 1),
                            "note": PROFILE_NOTES.get(name, "")})
        out[scenario] = {"envoy": source, "rows": entries}
    return out


def reply_bound(profile: dict | None) -> dict | None:
    """What the no-token target is up against: the floor answering the same kind of
    401 itself (floor_reply) against the floor forwarding, and entra-guard against
    that replying floor, all from one Envoy's CPU time per request. No filter that
    must answer locally can beat floor_reply."""
    rows = {e["listener"]: e["cpu_us_per_request"] for e in ((profile or {}).get("none") or {}).get("rows", [])}
    if not all(rows.get(k) for k in ("floor", "floor_reply", "entra_guard")):
        return None
    bound = {"floor_reply_vs_floor": round(rows["floor"] / rows["floor_reply"], 3),
             "entra_guard_vs_floor_reply": round(rows["floor_reply"] / rows["entra_guard"], 3)}
    if rows.get("floor_challenge"):
        # The same floor sending entra-guard's own reply: what is left is entra-guard's work.
        bound["floor_challenge_vs_floor"] = round(rows["floor"] / rows["floor_challenge"], 3)
        bound["entra_guard_vs_floor_challenge"] = round(rows["floor_challenge"] / rows["entra_guard"], 3)
    return bound


def render_profile(profile: dict) -> list[str]:
    lines = ["profile: Envoy CPU time per request, and the difference to the wasm floor"]
    for scenario, section in profile.items():
        lines.append(f"  {SCENARIO_TITLES[scenario]} ({section['envoy']} Envoy)")
        for e in section["rows"]:
            lines.append(f"    {e['listener']:<19} {e['cpu_us_per_request']:>7.1f} us  {e['vs_floor_us']:>+7.1f} us  "
                         f"{e['note']}")
    return lines


# --- main ---------------------------------------------------------------------------


def envoy_version_of(envoy_bin: Path) -> str:
    """`1.40.0/RELEASE/BoringSSL` from `envoy --version`."""
    text = subprocess.run([str(envoy_bin), "--version"], stdout=subprocess.PIPE, text=True).stdout
    match = re.search(r"version: [0-9a-f]+/([^/\s]+)/[^/\s]+/([^/\s]+)/([^/\s]+)", text)
    return "/".join(match.groups()) if match else text.strip()


def cpu_plan(disable: bool) -> tuple[str | None, str | None]:
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if disable or len(cpus) < 2 or not shutil.which("taskset"):
        return None, None
    return str(cpus[0]), ",".join(str(c) for c in cpus[1:])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--smoke", action="store_true", help="tiny run that checks the harness, not the numbers")
    p.add_argument("--seconds", type=int, default=None, help="seconds per cell (BENCH_SECONDS, default 5; smoke 1)")
    p.add_argument("--warmup", type=int, default=None, help="unrecorded seconds before each cell (BENCH_WARMUP_SECONDS, default 1)")
    p.add_argument("--rounds", type=int, default=None, help="measure every cell this often, report the median (BENCH_ROUNDS, default 1)")
    p.add_argument("--connections", type=int, default=None, help="wrk -c (BENCH_CONNECTIONS, default 32)")
    p.add_argument("--threads", type=int, default=None, help="wrk -t (BENCH_THREADS, default 1)")
    p.add_argument("--pool", type=int, default=None, help="distinct tokens for unique/invalid (BENCH_POOL, default 10000)")
    p.add_argument("--listeners", help=f"comma-separated subset of {','.join(LISTENERS)}")
    p.add_argument("--scenarios", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    p.add_argument("--only", default=None,
                   help=f"comma-separated parts to run (BENCH_ONLY; default all): {','.join(SECTIONS)}")
    p.add_argument("--no-fetch-count", action="store_true", help="skip the --concurrency 2 JWKS fetch count")
    p.add_argument("--no-profile", action="store_true", help="skip the profile listeners (floor variants, public path)")
    p.add_argument("--no-pin", action="store_true", help="do not pin Envoy and wrk to separate cores")
    p.add_argument("--out", type=Path, default=None, help=f"JSON report (default {DEFAULT_OUT.relative_to(REPO)}; smoke: target/bench/smoke.json)")
    p.add_argument("--aggregate", choices=["median", "best"], default=None,
                   help="with several rounds, report each cell's median round or its best (BENCH_AGGREGATE, default median)")
    p.add_argument("--strict", action="store_true", help="exit 2 when a target is missed")
    p.add_argument("--build-floor-only", action="store_true", help="build bench/floor, print its path, exit")
    p.add_argument("--ref-wasm", type=Path, default=None,
                   help=f"compare with another build: adds {REF_LISTENER} (its module, entra_guard's configuration)")
    p.add_argument("--ref-label", default=None, help="what --ref-wasm was built from, for the table (e.g. a commit)")
    p.add_argument("--show", type=Path, metavar="REPORT_JSON", help="print a saved report again (no run)")
    p.add_argument("--markdown", action="store_true", help="with --show: the Markdown tables for docs/performance.md")
    return p.parse_args(argv)


def subset(text: str | None, allowed: list[str], default: list[str]) -> list[str]:
    if not text:
        return default
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise SystemExit(f"bench: unknown {unknown}; choose from {allowed}")
    return [n for n in allowed if n in names]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.show:
        saved = json.loads(args.show.read_text())
        print(render_markdown(saved) if args.markdown else render(saved))
        if saved.get("compare") and not args.markdown:
            print("\n" + render_comparison(saved, SCENARIO_TITLES))
        return 0
    if args.build_floor_only:
        try:
            print(build_floor().relative_to(REPO))
        except HarnessError as error:
            log(f"error: {error}")
            return 1
        return 0
    smoke = args.smoke
    seconds = args.seconds or env_number("BENCH_SECONDS", 1 if smoke else 5, int)
    warmup = args.warmup if args.warmup is not None else env_number("BENCH_WARMUP_SECONDS", 0 if smoke else 1, int)
    rounds = args.rounds or env_number("BENCH_ROUNDS", 1, int)
    aggregate = args.aggregate or os.environ.get("BENCH_AGGREGATE", "median")
    if aggregate not in ("median", "best"):
        raise SystemExit(f"bench: BENCH_AGGREGATE={aggregate!r}: median or best")
    connections = args.connections or env_number("BENCH_CONNECTIONS", 32, int)
    threads = args.threads or env_number("BENCH_THREADS", 1, int)
    pool_size = args.pool or env_number("BENCH_POOL", 200 if smoke else 10_000, int)
    ref_wasm = args.ref_wasm
    if ref_wasm is None:
        listeners = subset(args.listeners, LISTENERS, SMOKE_LISTENERS if smoke else LISTENERS)
        scenarios = subset(args.scenarios, SCENARIOS, SMOKE_SCENARIOS if smoke else SCENARIOS)
        out = args.out or (WORK / "smoke.json" if smoke else DEFAULT_OUT)
    else:
        # A comparison of two builds: both entra-guard listeners (plus any asked for)
        # in all four scenarios, smoke or not; no profile, no fetch count.
        if not ref_wasm.is_file():
            log(f"error: --ref-wasm {ref_wasm} does not exist")
            return 1
        listeners = subset(",".join(filter(None, [args.listeners, "entra_guard", REF_LISTENER])),
                           LISTENERS + [REF_LISTENER], [])
        scenarios = subset(args.scenarios, SCENARIOS, SCENARIOS)
        out = args.out or (WORK / ("compare-smoke.json" if smoke else "compare.json"))
        args.no_fetch_count = True
    only = subset(args.only or os.environ.get("BENCH_ONLY"), SECTIONS, SECTIONS)
    # A comparison of builds, or a chosen subset of listeners or scenarios, is the main table alone.
    extras = not args.listeners and not args.scenarios and ref_wasm is None
    running_main = "main" in only or ref_wasm is not None
    scaling = extras and "scale" in only
    memory_rows = extras and "memory" in only
    args.no_fetch_count = args.no_fetch_count or "fetch" not in only
    profiling = not args.no_profile and extras and "profile" in only
    profile_listeners = PROFILE_LISTENERS if profiling else []
    profile_scenarios = (["none"] if smoke else PROFILE_SCENARIOS) if profiling else []
    if seconds < 1 or rounds < 1 or pool_size < 1 or connections < threads:
        raise SystemExit("bench: seconds, rounds and pool must be >= 1, connections >= threads")
    if not smoke and pool_size < 10_000 and "unique" in scenarios:
        log(f"note: a pool of {pool_size} tokens is below the issue's 10,000")

    started = time.monotonic()
    try:
        wrk = find_wrk()
        envoy_bin = find_envoy()
        guard_wasm = find_wasm()
        # A comparison of two builds needs no floor (a first floor build takes minutes).
        needs_floor = profiling or (running_main and any(name in FLOOR_WORK for name in listeners))
        floor_wasm = build_floor() if needs_floor else None
    except Exception as error:  # noqa: BLE001 - any missing artifact is a harness failure
        log(f"error: {error}")
        return 1
    envoy_cpus, wrk_cpus = cpu_plan(args.no_pin)
    envoy_version = envoy_version_of(envoy_bin)
    loadavg = os.getloadavg() if hasattr(os, "getloadavg") else None
    if loadavg and loadavg[0] > 0.5:
        log(f"note: load average {loadavg[0]:.2f} before the run: other work on this machine makes the numbers noisy")

    report: dict = {
        "meta": {
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "smoke": smoke, "seconds": seconds, "warmup_seconds": warmup, "rounds": rounds, "aggregate": aggregate,
            "connections": connections, "threads": threads, "pool": pool_size,
            "envoy_version": envoy_version,
            "envoy_concurrency": 1, "envoy_cpus": envoy_cpus, "wrk_cpus": wrk_cpus,
            "cpus_online": os.cpu_count(), "machine": platform.machine(),
            "loadavg_before": [round(x, 2) for x in loadavg] if loadavg else None,
            "jwt_authn_cache_size": JWT_CACHE_SIZE,
            "listeners": listeners, "scenarios": scenarios,
            "profile_listeners": profile_listeners, "profile_scenarios": profile_scenarios,
            "sections": [name for name, on in (("main", running_main), ("profile", profiling),
                                               ("fetch", not args.no_fetch_count), ("scale", scaling),
                                               ("memory", memory_rows)) if on],
        },
        "wasm": {"entra_guard_bytes": guard_wasm.stat().st_size, "floor_bytes": floor_wasm.stat().st_size if floor_wasm else None},
    }
    if ref_wasm is not None:
        report["meta"].update(ref_label=args.ref_label or ref_wasm.name, ref_wasm=str(ref_wasm))
        report["wasm"]["ref_bytes"] = ref_wasm.stat().st_size
    try:
        with Issuer(seed=SEED) as issuer:
            pools = write_pools(issuer, pool_size)
            load = dict(seconds=seconds, warmup=warmup, rounds=rounds, connections=connections,
                        threads=threads, wrk_cpus=wrk_cpus, aggregate=aggregate)
            cells = []
            if running_main:
                config = bench_bootstrap(listeners, issuer, floor_wasm, guard_wasm, ref_wasm)
                envoy = PinnedEnvoy(config, WORK, name="envoy-bench", concurrency=1, log_level="warning",
                                    cpus=envoy_cpus)
                with envoy:
                    log(f"envoy up (pid {envoy.process.pid}, cpu {envoy_cpus or 'any'}); "
                        f"listeners {', '.join(listeners)}")
                    check_statuses(envoy, listeners, {s: pools[s] for s in scenarios})
                    cells = [Cell(listener, scenario) for scenario in scenarios for listener in listeners]
                    measure(envoy, wrk, cells, pools, **load)
                    # Memory of exactly one floor and one entra-guard plugin: the profile's
                    # variants run in their own Envoy below.
                    report["memory"] = wasm_memory(envoy)
                    report["issuer_counters_main_run"] = issuer.counters()
            report["cells"] = [c.as_json() for c in cells]
            profile_cells = []
            if profiling:
                config = bench_bootstrap(profile_listeners, issuer, floor_wasm, guard_wasm)
                envoy = PinnedEnvoy(config, WORK, name="envoy-profile", concurrency=1, log_level="warning",
                                    cpus=envoy_cpus)
                with envoy:
                    log(f"profile envoy up (pid {envoy.process.pid}); listeners {', '.join(profile_listeners)}")
                    check_statuses(envoy, profile_listeners, {s: pools[s] for s in profile_scenarios})
                    profile_cells = [Cell(listener, scenario) for scenario in profile_scenarios
                                     for listener in profile_listeners
                                     if not (listener in ALWAYS_REFUSING and scenario != "none")]
                    measure(envoy, wrk, profile_cells, pools, **load)
                report["profile_cells"] = [c.as_json() for c in profile_cells]
            fetches = []
            if not args.no_fetch_count:
                fetch_listeners = ["entra_guard"] + (["jwt_remote"] if "jwt_remote" in listeners or not smoke else [])
                for name in fetch_listeners:
                    fetches.append(count_fetches(issuer, name, floor_wasm, guard_wasm, pools, wrk,
                                                 1 if smoke else 2))
            report["fetches"] = fetches
            scale_cells = []
            if scaling or memory_rows:
                pools = scale.write_extra_pools(sys.modules[__name__], pools)
            if scaling:
                scale_cells = scale.run_throughput(sys.modules[__name__], issuer, guard_wasm, pools, load, envoy_cpus)
                report["scale_cells"] = [c.as_json() for c in scale_cells]
            if memory_rows:
                report["scale_memory"] = scale.run_memory(sys.modules[__name__], issuer, guard_wasm, pools, smoke,
                                                          1 if smoke else 3)
                report["scale_growth"] = scale.growth(report["scale_memory"])
    except HarnessError as error:
        log(f"error: {error}")
        return 1

    by_key = {(c.listener, c.scenario): c for c in cells}
    report["ratios"] = compute_ratios(by_key)
    if profiling:
        report["profile"] = build_profile({(c.listener, c.scenario): c for c in profile_cells}, by_key)
    guard_fetch = next((f for f in report["fetches"] if f["listener"] == "entra_guard"), None)
    report["targets"] = evaluate_targets(by_key, report["ratios"], report["wasm"]["entra_guard_bytes"], guard_fetch,
                                         {(c.listener, c.scenario): c for c in profile_cells})
    report["targets"] += scale.scale_targets({(c.listener, c.scenario): c for c in scale_cells})
    report["reply_bound"] = reply_bound(report.get("profile"))
    if ref_wasm is not None:
        report["compare"] = comparison(report["cells"], scenarios)
    report["meta"]["elapsed_seconds"] = round(time.monotonic() - started, 1)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(render(report))
    if ref_wasm is not None:
        print("\n" + render_comparison(report, SCENARIO_TITLES))
    shown = out.relative_to(REPO) if out.is_relative_to(REPO) else out
    print(f"\nreport: {shown} ({report['meta']['elapsed_seconds']} s)")
    if any(c.problem for c in cells + profile_cells + scale_cells):
        log("error: some cells did not behave as expected (see '!' above): the harness is broken")
        return 1
    if args.strict and any(t["status"] == "MISS" for t in report["targets"]):
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
