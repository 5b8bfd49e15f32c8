"""A minimal Proxy-Wasm module, assembled here, for testing the harness itself.

The harness must handle a Wasm filter that Envoy loads and one whose
`on_configure` refuses its configuration, before (and independently of) the real
filter being built. This module does only that: `proxy_on_configure` logs one line
through `proxy_log` and answers a fixed result. No toolchain is needed: the bytes
are written directly in the WebAssembly binary format.
"""

from __future__ import annotations

from pathlib import Path

I32 = 0x7F
LOG_ERROR = 4  # proxy-wasm log level "error"
MESSAGE_OFFSET = 16
ALLOCATION_OFFSET = 4096  # everything Envoy asks to allocate lands here (tests only)


def _uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        done = (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40)
        out.append(byte | (0 if done else 0x80))
        if done:
            return bytes(out)


def _vec(items: list[bytes]) -> bytes:
    return _uleb(len(items)) + b"".join(items)


def _name(text: str) -> bytes:
    return _vec([bytes([b]) for b in text.encode()])


def _section(section_id: int, content: bytes) -> bytes:
    return bytes([section_id]) + _uleb(len(content)) + content


def _functype(params: int, results: int) -> bytes:
    return b"\x60" + _vec([bytes([I32])] * params) + _vec([bytes([I32])] * results)


def _const(value: int) -> bytes:
    return b"\x41" + _sleb(value)


def _body(code: bytes) -> bytes:
    body = _vec([]) + code + b"\x0b"  # no locals; `end`
    return _uleb(len(body)) + body


def build(configure_result: bool, log_message: str = "") -> bytes:
    """The module bytes: `proxy_on_configure` logs `log_message` (if any) at error
    level and returns `configure_result`."""
    message = log_message.encode()
    types = [_functype(3, 1), _functype(0, 0), _functype(1, 1), _functype(2, 0), _functype(2, 1)]
    # function index 0 is the import; defined functions follow.
    defined = [  # (export name, type index, code)
        ("proxy_abi_version_0_2_1", 1, b""),
        ("proxy_on_memory_allocate", 2, _const(ALLOCATION_OFFSET)),
        ("proxy_on_context_create", 3, b""),
        ("proxy_on_vm_start", 4, _const(1)),
        ("proxy_on_configure", 4,
         (_const(LOG_ERROR) + _const(MESSAGE_OFFSET) + _const(len(message)) + b"\x10\x00\x1a" if message else b"")
         + _const(1 if configure_result else 0)),
    ]
    imports = [_name("env") + _name("proxy_log") + b"\x00" + _uleb(0)]
    exports = [_name("memory") + b"\x02" + _uleb(0)]
    exports += [_name(name) + b"\x00" + _uleb(index + 1) for index, (name, _, _) in enumerate(defined)]
    data = [b"\x00" + _const(MESSAGE_OFFSET) + b"\x0b" + _vec([bytes([b]) for b in message])]
    return b"".join([
        b"\x00asm\x01\x00\x00\x00",
        _section(1, _vec(types)),
        _section(2, _vec(imports)),
        _section(3, _vec([_uleb(type_index) for _, type_index, _ in defined])),
        _section(5, _vec([b"\x00" + _uleb(2)])),  # memory: 2 pages, no maximum
        _section(7, _vec(exports)),
        _section(10, _vec([_body(code) for _, _, code in defined])),
        _section(11, _vec(data)),
    ])


def write(path: Path, configure_result: bool, log_message: str = "") -> Path:
    path.write_bytes(build(configure_result, log_message))
    return path
