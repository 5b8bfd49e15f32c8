#!/usr/bin/env python3
"""Deterministic per-request profile of a Proxy-Wasm filter: what it does, not how long.

Runs entra_guard.wasm and the bench floor in a minimal Proxy-Wasm host (wasmtime,
ABI 0.2.1, in this process) and reports, per scenario, for one request's whole
lifecycle (context create, request headers, response headers, log, done, delete):

  - wasm instructions executed in the guest (wasmtime fuel: ~1 per operator),
  - every host call the guest makes, with the bytes that cross the boundary.

Timing on a shared 2-core machine is noisy; these counts are exact and repeatable,
so they say where entra-guard's per-request cost comes from and whether a change to
it moved anything. Host-side costs (Envoy's work per host call, BoringSSL) are not
in the instruction count: the host-call list is what to multiply them by.

    .venv-or-any/bin/python bench/wasm_profile.py            # needs `pip install wasmtime cryptography`
    python bench/wasm_profile.py --json target/bench/wasm-profile.json

The signature check goes to a real `verify_signature` foreign function (Python
`cryptography`, like Envoy's BoringSSL one), the keys come from the test issuer's
documents, shared data and the clock behave like Envoy's.
"""

from __future__ import annotations

import argparse
import json
import struct
import sys
import time
from collections import Counter
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
sys.path[:0] = [str(REPO / "tests" / "integration"), str(REPO / "tests")]

try:
    import wasmtime
except ImportError:  # pragma: no cover - optional tool
    raise SystemExit("wasm_profile: needs the `wasmtime` Python package (pip install wasmtime)") from None
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding  # noqa: E402

from issuer import DEFAULT_API_APP_ID, DEFAULT_API_URI, DEFAULT_TENANT, KeyRing, TokenMinter  # noqa: E402
from issuer import documents  # noqa: E402
from issuer.keys import key_pool  # noqa: E402
from issuer.tokens import with_garbage_signature  # noqa: E402

AUTHORITY = "http://127.0.0.1:9000"
SEED = "entra-guard-bench"
GUARD_WASM = REPO / "target" / "wasm32-unknown-unknown" / "release" / "entra_guard.wasm"
FLOOR_WASM = REPO / "target" / "bench-floor" / "wasm32-unknown-unknown" / "release" / "bench_floor.wasm"

OK, NOT_FOUND, CAS_MISMATCH, UNIMPLEMENTED = 0, 1, 8, 12
MAP_REQUEST_HEADERS, MAP_RESPONSE_HEADERS, MAP_CALL_RESPONSE_HEADERS = 0, 2, 6
BUFFER_CALL_RESPONSE_BODY, BUFFER_VM_CONFIG, BUFFER_PLUGIN_CONFIG = 4, 6, 7
FUEL = 10**12


def serialize_map(pairs: list[tuple[bytes, bytes]]) -> bytes:
    out = struct.pack("<I", len(pairs))
    for k, v in pairs:
        out += struct.pack("<II", len(k), len(v))
    for k, v in pairs:
        out += k + b"\0" + v + b"\0"
    return out


def parse_map(data: bytes) -> list[tuple[bytes, bytes]]:
    (count,) = struct.unpack_from("<I", data, 0)
    sizes = [struct.unpack_from("<II", data, 4 + 8 * i) for i in range(count)]
    pos, pairs = 4 + 8 * count, []
    for ks, vs in sizes:
        k = data[pos:pos + ks]
        pos += ks + 1
        v = data[pos:pos + vs]
        pos += vs + 1
        pairs.append((k, v))
    return pairs


def read_protobuf(data: bytes) -> dict[int, bytes]:
    fields, i = {}, 0
    while i < len(data):
        tag, i = _varint(data, i)
        field, wire = tag >> 3, tag & 7
        if wire == 2:
            length, i = _varint(data, i)
            fields[field] = data[i:i + length]
            i += length
        elif wire == 0:
            value, i = _varint(data, i)
            fields[field] = value
        else:
            raise ValueError("unsupported wire type")
    return fields


def _varint(data: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return value, i


class Host:
    """One VM of one plugin, with the host side of the ABI calls the SDK makes."""

    def __init__(self, wasm: Path, configuration: bytes, documents_for: dict[str, bytes] | None = None,
                 perfmap: bool = False):
        config = wasmtime.Config()
        config.consume_fuel = not perfmap
        if perfmap:  # /tmp/perf-PID.map names the JIT code for `perf report`
            config.profiler = "perfmap"
        self.engine = wasmtime.Engine(config)
        self.store = wasmtime.Store(self.engine)
        self.metered = not perfmap
        if self.metered:
            self.store.set_fuel(FUEL)
        self.module = wasmtime.Module.from_file(self.engine, str(wasm))
        self.configuration = configuration
        self.documents = documents_for or {}
        self.calls: Counter[str] = Counter()
        self.bytes_in: Counter[str] = Counter()  # host -> guest
        self.bytes_out: Counter[str] = Counter()  # guest -> host
        self.request_headers: list[tuple[bytes, bytes]] = []
        self.response_headers: list[tuple[bytes, bytes]] = []
        self.local_response: tuple[int, list, bytes] | None = None
        self.shared: dict[bytes, tuple[bytes, int]] = {}
        self.pending_calls: list[tuple[int, bytes]] = []
        self.next_token = 1
        self.logs: list[str] = []
        self.now_ns = time.time_ns()
        linker = wasmtime.Linker(self.engine)
        for imp in self.module.imports:
            handler = getattr(self, imp.name, None) or self._unimplemented(imp.name)
            linker.define_func(imp.module, imp.name, imp.type, self._counted(imp.name, handler), access_caller=True)
        self.instance = linker.instantiate(self.store, self.module)
        self.exports = self.instance.exports(self.store)
        self.memory = self.exports["memory"]

    # --- plumbing -------------------------------------------------------------------

    def _counted(self, name, handler):
        def call(caller, *args):
            self.calls[name] += 1
            return handler(caller, *args)
        return call

    def _unimplemented(self, name):
        def call(caller, *args):
            return UNIMPLEMENTED
        return call

    def call(self, name: str, *args):
        return self.exports[name](self.store, *args)

    def read(self, caller, ptr: int, size: int) -> bytes:
        return bytes(self.memory.read(caller, ptr, ptr + size)) if size else b""

    def give(self, caller, name: str, data: bytes, data_ptr_ptr: int, size_ptr: int) -> int:
        """Copy `data` into guest memory allocated by the guest's own malloc (as
        Envoy does) and store pointer and size at the given addresses."""
        ptr = self.exports["malloc"](caller, len(data)) if data else 0
        if data:
            self.memory.write(caller, data, ptr)
        self.memory.write(caller, struct.pack("<I", ptr), data_ptr_ptr)
        self.memory.write(caller, struct.pack("<I", len(data)), size_ptr)
        self.bytes_in[name] += len(data)
        return OK

    def fuel_used(self, fn) -> int:
        if not self.metered:
            fn()
            return 0
        before = self.store.get_fuel()
        fn()
        return before - self.store.get_fuel()

    # --- the ABI --------------------------------------------------------------------

    def proxy_log(self, caller, level, ptr, size):
        message = self.read(caller, ptr, size)
        self.bytes_out["proxy_log"] += size
        self.logs.append(f"[{level}] {message.decode('utf-8', 'replace')}")
        return OK

    def proxy_get_current_time_nanoseconds(self, caller, ptr):
        self.memory.write(caller, struct.pack("<Q", self.now_ns), ptr)
        return OK

    def proxy_set_tick_period_milliseconds(self, caller, period):
        return OK

    def proxy_get_buffer_bytes(self, caller, buffer_type, start, max_size, data_ptr, size_ptr):
        source = {BUFFER_PLUGIN_CONFIG: self.configuration, BUFFER_VM_CONFIG: b"",
                  BUFFER_CALL_RESPONSE_BODY: getattr(self, "call_body", b"")}.get(buffer_type)
        if source is None:
            return NOT_FOUND
        start, max_size = start & 0xFFFFFFFF, max_size & 0xFFFFFFFF  # i32 on the wire, u32 in the ABI
        return self.give(caller, "proxy_get_buffer_bytes", source[start:start + max_size], data_ptr, size_ptr)

    def _map(self, map_type):
        return {MAP_REQUEST_HEADERS: self.request_headers, MAP_RESPONSE_HEADERS: self.response_headers,
                MAP_CALL_RESPONSE_HEADERS: getattr(self, "call_headers", [])}.get(map_type)

    def proxy_get_header_map_pairs(self, caller, map_type, data_ptr, size_ptr):
        pairs = self._map(map_type)
        return self.give(caller, "proxy_get_header_map_pairs", serialize_map(pairs or []), data_ptr, size_ptr)

    def proxy_get_header_map_value(self, caller, map_type, key_ptr, key_size, data_ptr, size_ptr):
        key = self.read(caller, key_ptr, key_size).lower()
        self.bytes_out["proxy_get_header_map_value"] += key_size
        for k, v in self._map(map_type) or []:
            if k == key:
                return self.give(caller, "proxy_get_header_map_value", v, data_ptr, size_ptr)
        return NOT_FOUND

    def proxy_replace_header_map_value(self, caller, map_type, key_ptr, key_size, value_ptr, value_size):
        self.bytes_out["proxy_replace_header_map_value"] += key_size + value_size
        return OK

    def proxy_add_header_map_value(self, caller, map_type, key_ptr, key_size, value_ptr, value_size):
        self.bytes_out["proxy_add_header_map_value"] += key_size + value_size
        return OK

    def proxy_remove_header_map_value(self, caller, map_type, key_ptr, key_size):
        self.bytes_out["proxy_remove_header_map_value"] += key_size
        return OK

    def proxy_send_local_response(self, caller, status, details_ptr, details_size, body_ptr, body_size,
                                  headers_ptr, headers_size, grpc_status):
        body = self.read(caller, body_ptr, body_size)
        headers = parse_map(self.read(caller, headers_ptr, headers_size)) if headers_size else []
        self.bytes_out["proxy_send_local_response"] += details_size + body_size + headers_size
        self.local_response = (status, headers, body)
        return OK

    def proxy_get_shared_data(self, caller, key_ptr, key_size, data_ptr, size_ptr, cas_ptr):
        key = self.read(caller, key_ptr, key_size)
        self.bytes_out["proxy_get_shared_data"] += key_size
        if key not in self.shared:
            return NOT_FOUND
        value, cas = self.shared[key]
        self.memory.write(caller, struct.pack("<I", cas), cas_ptr)
        return self.give(caller, "proxy_get_shared_data", value, data_ptr, size_ptr)

    def proxy_set_shared_data(self, caller, key_ptr, key_size, value_ptr, value_size, cas):
        key = self.read(caller, key_ptr, key_size)
        value = self.read(caller, value_ptr, value_size)
        self.bytes_out["proxy_set_shared_data"] += key_size + value_size
        current = self.shared.get(key)
        if cas and current and current[1] != cas:
            return CAS_MISMATCH
        self.shared[key] = (value, (current[1] + 1) if current else 1)
        return OK

    def proxy_http_call(self, caller, up_ptr, up_size, h_ptr, h_size, b_ptr, b_size, t_ptr, t_size, timeout, token_ptr):
        headers = dict(parse_map(self.read(caller, h_ptr, h_size)))
        token = self.next_token
        self.next_token += 1
        self.pending_calls.append((token, headers.get(b":path", b"")))
        self.memory.write(caller, struct.pack("<I", token), token_ptr)
        return OK

    def proxy_define_metric(self, caller, metric_type, name_ptr, name_size, id_ptr):
        self.memory.write(caller, struct.pack("<I", self.calls["proxy_define_metric"]), id_ptr)
        return OK

    def proxy_increment_metric(self, caller, metric_id, offset):
        return OK

    def proxy_set_effective_context(self, caller, context_id):
        return OK

    def proxy_continue_stream(self, caller, stream_type):
        return OK

    def proxy_get_property(self, caller, path_ptr, path_size, data_ptr, size_ptr):
        return NOT_FOUND

    def proxy_set_property(self, caller, path_ptr, path_size, value_ptr, value_size):
        # Envoy stores it as filter state; here only the bytes crossing count.
        self.bytes_out["proxy_set_property"] += path_size + value_size
        return OK

    def proxy_call_foreign_function(self, caller, name_ptr, name_size, args_ptr, args_size, data_ptr, size_ptr):
        name = self.read(caller, name_ptr, name_size)
        args = self.read(caller, args_ptr, args_size)
        self.bytes_out["proxy_call_foreign_function"] += name_size + args_size
        if name != b"verify_signature":
            return NOT_FOUND
        fields = read_protobuf(args)
        try:
            key = serialization.load_der_public_key(fields[2])
            key.verify(fields[3], fields[4], padding.PKCS1v15(), hashes.SHA256())
            reply = b"\x08\x01"
        except Exception:  # noqa: BLE001 - any failure is "not verified", like Envoy's
            reply = b"\x08\x00\x12\x00"
        return self.give(caller, "proxy_call_foreign_function", reply, data_ptr, size_ptr)

    # --- driving --------------------------------------------------------------------

    def start(self) -> None:
        if "_initialize" in self.exports:
            self.call("_initialize")
        self.call("proxy_on_context_create", 1, 0)
        if not self.call("proxy_on_vm_start", 1, 0):
            raise RuntimeError("proxy_on_vm_start failed")
        if not self.call("proxy_on_configure", 1, len(self.configuration)):
            raise RuntimeError("proxy_on_configure refused the configuration:\n" + "\n".join(self.logs))
        for _ in range(10):  # ticks: the filter fetches discovery, then JWKS
            self.now_ns += 100_000_000
            self.call("proxy_on_tick", 1)
            while self.pending_calls:
                token, path = self.pending_calls.pop(0)
                body = self.documents.get(path.decode(), b"")
                self.call_headers = [(b":status", b"200" if body else b"404")]
                self.call_body = body
                self.call("proxy_on_http_call_response", 1, token, 1, len(body), 0)

    def request(self, context_id: int, headers: list[tuple[bytes, bytes]]) -> dict:
        """One request's lifecycle, as Envoy drives it; fuel and host calls of it."""
        self.request_headers = headers
        self.response_headers = [(b":status", b"200"), (b"content-length", b"0")]
        self.local_response = None
        self.calls.clear()
        self.bytes_in.clear()
        self.bytes_out.clear()
        self.now_ns += 1_000_000
        phases = {}
        phases["create"] = self.fuel_used(lambda: self.call("proxy_on_context_create", context_id, 1))
        action = []
        phases["request_headers"] = self.fuel_used(
            lambda: action.append(self.call("proxy_on_request_headers", context_id, len(headers), 1)))
        if self.local_response:
            status, local_headers, _ = self.local_response
            self.response_headers = [(b":status", str(status).encode()), *local_headers]
        phases["response_headers"] = self.fuel_used(
            lambda: self.call("proxy_on_response_headers", context_id, len(self.response_headers), 1))
        phases["log+done+delete"] = self.fuel_used(lambda: (self.call("proxy_on_log", context_id),
                                                            self.call("proxy_on_done", context_id),
                                                            self.call("proxy_on_delete", context_id)))
        return {
            "status": self.local_response[0] if self.local_response else 200,
            "instructions": sum(phases.values()), "phases": phases,
            "host_calls": dict(self.calls), "bytes_to_guest": dict(self.bytes_in),
            "bytes_from_guest": dict(self.bytes_out),
        }


def request_headers(port: int, token: str | None) -> list[tuple[bytes, bytes]]:
    """What Envoy hands a filter for `wrk`'s request: pseudo-headers, host, auth."""
    headers = [(b":authority", f"127.0.0.1:{port}".encode()), (b":path", b"/"), (b":method", b"GET"),
               (b":scheme", b"http")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    headers += [(b"x-forwarded-proto", b"http"), (b"x-request-id", b"3b4e1f0c-9c7a-4a55-8d2e-0f6c7c1a2b3d")]
    return headers


def guard_configuration() -> bytes:
    return json.dumps({
        "entra": {"tenant_id": DEFAULT_TENANT, "authority": AUTHORITY, "cluster": "entra",
                  "audiences": [DEFAULT_API_URI, DEFAULT_API_APP_ID]},
        "mcp": {"resource": "https://mcp.contoso.test/mcp",
                "resource_metadata_url": "https://mcp.contoso.test/.well-known/oauth-protected-resource/mcp",
                "scopes_supported": [], "resource_name": "entra-guard test MCP server"},
    }).encode()


def setup(requests: int):
    keys = KeyRing(key_pool(SEED))
    minter = TokenMinter(AUTHORITY, DEFAULT_TENANT, keys)
    docs = {
        f"/{DEFAULT_TENANT}/v2.0/.well-known/openid-configuration":
            json.dumps(documents.discovery_v2(AUTHORITY, DEFAULT_TENANT)).encode(),
        f"/{DEFAULT_TENANT}/discovery/v2.0/keys":
            json.dumps(documents.jwks(AUTHORITY, DEFAULT_TENANT, keys.published())).encode(),
    }
    repeated = minter.v2()
    unique = minter.mint_many(requests)
    invalid = [with_garbage_signature(t) for t in minter.mint_many(requests)]
    scenarios = {
        "repeated": lambda i: repeated,
        "unique": lambda i: unique[i % len(unique)],
        "invalid": lambda i: invalid[i % len(invalid)],
        "forged": lambda i: invalid[0],  # one forged token flooded: the rejected-token cache
        "none": lambda i: None,
    }
    return docs, scenarios


def perf_loop(wasm: Path, plugin: str, scenario: str, count: int, pool: int) -> None:
    """Runs one scenario `count` times with JIT symbols for `perf record -p PID`."""
    docs, scenarios = setup(pool)
    config = guard_configuration() if plugin == "entra_guard" else b""
    host = Host(wasm, config, docs, perfmap=True)
    host.start()
    token_of = scenarios[scenario]
    print(f"wasm_profile: pid {__import__('os').getpid()} looping {count} x {plugin}/{scenario}", flush=True)
    started = time.perf_counter()
    for i in range(count):
        host.request(100 + i, request_headers(10000, token_of(i)))
    elapsed = time.perf_counter() - started
    print(f"wasm_profile: {count / elapsed:,.0f} requests/s in wasmtime (with the Python host)", flush=True)


def profile(guard_wasm: Path, floor_wasm: Path, requests: int) -> dict:
    docs, scenarios = setup(requests)
    result = {}
    for plugin, wasm, config in (("floor", floor_wasm, b""), ("entra_guard", guard_wasm, guard_configuration())):
        host = Host(wasm, config, docs)
        host.start()
        if plugin == "entra_guard" and not any("signing keys updated" in line for line in host.logs):
            raise RuntimeError("entra-guard did not load its keys:\n" + "\n".join(host.logs))
        per_scenario = {}
        context = 100
        for scenario, token_of in scenarios.items():
            if scenario in ("repeated", "forged"):  # first use fills the cache; measure the hits
                host.request(context, request_headers(10000, token_of(0)))
                context += 1
            samples = []
            for i in range(requests):
                samples.append(host.request(context, request_headers(10000, token_of(i))))
                context += 1
            last = samples[-1]
            instructions = sorted(s["instructions"] for s in samples)
            per_scenario[scenario] = {
                "status": last["status"],
                "instructions_median": instructions[len(instructions) // 2],
                # The mean counts what the median hides: the token cache's
                # evictions, every few hundred requests (--requests > 1024).
                "instructions_mean": round(sum(instructions) / len(instructions)),
                "instructions_min": instructions[0], "instructions_max": instructions[-1],
                "phases": last["phases"], "host_calls": last["host_calls"],
                "bytes_to_guest": last["bytes_to_guest"], "bytes_from_guest": last["bytes_from_guest"],
            }
        if plugin == "entra_guard":
            per_scenario["cache_hit_cost_per_token_byte"] = _per_byte_slope(host, context, token_of=scenarios["repeated"])
        result[plugin] = per_scenario
    return result


def _per_byte_slope(host: Host, context: int, token_of) -> dict:
    """Cache-hit instructions for the bench token and for one 2 KiB longer: how much
    of the hit path scales with the token's length (scans, hashing, comparison)."""
    keys = KeyRing(key_pool(SEED))
    long_token = TokenMinter(AUTHORITY, DEFAULT_TENANT, keys).v2(claims={"pad": "x" * 2048})
    short_token = token_of(0)
    counts = []
    for token in (short_token, long_token):
        host.request(context, request_headers(10000, token))  # fills the cache
        counts.append(host.request(context + 1, request_headers(10000, token))["instructions"])
        context += 2
    per_byte = (counts[1] - counts[0]) / (len(long_token) - len(short_token))
    return {"token_bytes": len(short_token), "instructions": counts[0],
            "long_token_bytes": len(long_token), "long_instructions": counts[1],
            "instructions_per_byte": round(per_byte, 1),
            "length_independent_instructions": round(counts[0] - per_byte * len(short_token))}


def render(result: dict) -> str:
    lines = ["wasm instructions per request (whole lifecycle; median over the sampled requests) and host calls"]
    slope = result["entra_guard"].get("cache_hit_cost_per_token_byte")
    for scenario in ("repeated", "unique", "invalid", "forged", "none"):
        lines.append(f"  {scenario}:")
        for plugin in ("floor", "entra_guard"):
            r = result[plugin][scenario]
            calls = ", ".join(f"{k.removeprefix('proxy_')} x{v}" for k, v in sorted(r["host_calls"].items()))
            moved = sum(r["bytes_to_guest"].values()) + sum(r["bytes_from_guest"].values())
            phases = " / ".join(f"{k} {v:,}" for k, v in r["phases"].items())
            lines.append(f"    {plugin:<12} {r['status']}  {r['instructions_median']:>9,} instr (mean {r['instructions_mean']:,})  "
                         f"({phases})")
            lines.append(f"    {'':<12}      host calls: {calls}; {moved:,} bytes across the boundary")
    if slope:
        lines.append(f"  entra_guard cache hit: {slope['instructions_per_byte']} instructions per token byte "
                     f"({slope['token_bytes']}-byte token: {slope['instructions']:,}; "
                     f"{slope['long_token_bytes']} bytes: {slope['long_instructions']:,}); "
                     f"length-independent part ~{slope['length_independent_instructions']:,}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wasm", type=Path, default=GUARD_WASM)
    parser.add_argument("--floor", type=Path, default=FLOOR_WASM)
    parser.add_argument("--requests", type=int, default=50, help="requests sampled per scenario")
    parser.add_argument("--json", type=Path, help="write the result here too")
    parser.add_argument("--perf-loop", metavar="PLUGIN/SCENARIO",
                        help="instead: loop one scenario (e.g. entra_guard/repeated) for `perf record`; "
                             "use an unstripped build (--wasm) to see function names")
    parser.add_argument("--count", type=int, default=200_000, help="requests of --perf-loop")
    args = parser.parse_args(argv)
    if args.perf_loop:
        plugin, _, scenario = args.perf_loop.partition("/")
        perf_loop(args.wasm if plugin == "entra_guard" else args.floor, plugin, scenario, args.count, args.requests)
        return 0
    result = profile(args.wasm, args.floor, args.requests)
    print(render(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
