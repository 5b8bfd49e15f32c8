"""Did any Wasm VM of an Envoy fail? Stats and log, compared with a snapshot.

A panic in the filter (a Rust `panic!`, e.g. an SDK host call answering an
unexpected status) traps the VM. What shows it depends on the failure policy:
with `FAIL_RELOAD` Envoy creates a new VM (`wasm.<plugin>.vm_reload*` and
`wasm.envoy.wasm.runtime.v8.created` move); with `FAIL_CLOSED`, which the tests
and the shipped configs use, no stat moves at all: the VM stays dead, its
requests get Envoy's bare 503 or hang, and only the log says so
("panicked at ...", "Function: proxy_on_... failed: Uncaught RuntimeError").
So both are checked.
"""

from __future__ import annotations

import re

from envoy_harness import Envoy

# `wasm.*` holds the VM lifecycle stats; `wasmcustom.*` (the filter's own counters) is left out.
_VM_STAT_PREFIX = "wasm."
CRASH_LINE = re.compile(r"panicked at|Uncaught \w*Error|Function: proxy_\w+ failed|wasm trap")


def vm_snapshot(envoy: Envoy) -> dict[str, int | float]:
    """Every `wasm.*` stat: VMs created and active, reloads, reload failures."""
    return envoy.stats(_VM_STAT_PREFIX)


def crash_lines(envoy: Envoy) -> list[str]:
    return [line for line in envoy.log_text().splitlines() if CRASH_LINE.search(line)]


def assert_vms_healthy(envoy: Envoy, snapshot: dict[str, int | float]) -> None:
    """Same process, same VMs as at `snapshot`, no VM failure in the log."""
    assert envoy.running, f"{envoy.name} exited with {envoy.process.returncode}"
    crashes = crash_lines(envoy)
    assert not crashes, "a Wasm VM failed:\n" + "\n".join(crashes[:10])
    now = vm_snapshot(envoy)
    moved = {name: (snapshot.get(name), value) for name, value in now.items() if snapshot.get(name) != value}
    assert not moved, f"Wasm VM stats moved (before, now): {moved}"
    assert now.get("wasm.envoy.wasm.runtime.v8.active", 0) >= 2, now  # main thread + workers
