#!/usr/bin/env python3
"""Code size of a wasm module by Rust crate: `python bench/wasm_sizes.py MODULE.wasm`.

Reads the function bodies (code section) and their names (the `name` custom
section, so the module must not be stripped: `make wasm-sizes` builds one) and
sums the body sizes by the crate of each (mangled) function name. Data
segments are reported as one line. Sizes are before `wasm-opt`, so they add up
to more than the shipped module; the proportions are what they show.
"""
from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path


def leb(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def sections(data: bytes):
    pos = 8
    while pos < len(data):
        kind = data[pos]
        size, pos = leb(data, pos + 1)
        yield kind, data[pos:pos + size]
        pos += size


def crate_of(name: str) -> str:
    # Legacy mangling: _ZN<len><crate>... ; generic impls <T as crate::...>
    match = re.match(r"_ZN(\d+)", name)
    if match:
        n = int(match.group(1))
        start = match.end()
        crate = name[start:start + n]
        if crate.startswith("_$LT$"):
            inner = re.search(r"_\$LT\$([a-z0-9_]+)\.\.", crate + name[start + n:])
            return inner.group(1) if inner else "(generic)"
        return crate
    if name.startswith("_R"):
        # v0 mangling: the first crate root, C[s<disambiguator>_]<len><name>.
        match = re.search(r"C(?:s[0-9A-Za-z]*_)?(\d+)", name)
        if match:
            n = int(match.group(1))
            return name[match.end():match.end() + n] or "(v0)"
        return "(v0)"
    return name.split("::")[0] if "::" in name else "(other)"


def main(path: str) -> int:
    data = Path(path).read_bytes()
    imported = 0
    bodies: list[int] = []
    names: dict[int, str] = {}
    data_bytes = 0
    for kind, body in sections(data):
        if kind == 2:  # imports: functions come first in the index space
            count, pos = leb(body, 0)
            for _ in range(count):
                for _ in range(2):
                    length, pos = leb(body, pos)
                    pos += length
                desc = body[pos]
                pos += 1
                if desc == 0:
                    _, pos = leb(body, pos)
                    imported += 1
                elif desc == 1:
                    pos += 1
                    flags, pos = leb(body, pos)
                    _, pos = leb(body, pos)
                    if flags & 1:
                        _, pos = leb(body, pos)
                elif desc == 2:
                    flags, pos = leb(body, pos)
                    _, pos = leb(body, pos)
                    if flags & 1:
                        _, pos = leb(body, pos)
                else:
                    pos += 2
        elif kind == 10:
            count, pos = leb(body, 0)
            for _ in range(count):
                size, pos = leb(body, pos)
                bodies.append(size)
                pos += size
        elif kind == 11:
            data_bytes = len(body)
        elif kind == 0:
            length, pos = leb(body, 0)
            if body[pos:pos + length] != b"name":
                continue
            pos += length
            while pos < len(body):
                sub = body[pos]
                size, pos = leb(body, pos + 1)
                if sub == 1:
                    count, p = leb(body, pos)
                    for _ in range(count):
                        index, p = leb(body, p)
                        n, p = leb(body, p)
                        names[index] = body[p:p + n].decode("utf-8", "replace")
                        p += n
                pos += size
    if not names:
        print("no name section: build unstripped (make wasm-sizes)", file=sys.stderr)
        return 1
    by_crate: Counter[str] = Counter()
    for i, size in enumerate(bodies):
        by_crate[crate_of(names.get(imported + i, "(unnamed)"))] += size
    total = sum(bodies)
    print(f"code {total:,} bytes in {len(bodies):,} functions; data {data_bytes:,} bytes")
    for crate, size in by_crate.most_common(20):
        print(f"  {crate:<24} {size:>9,}  {100 * size / total:5.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
