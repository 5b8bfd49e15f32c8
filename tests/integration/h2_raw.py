"""A minimal HTTP/2 (prior knowledge, cleartext) client for one request per connection.

HTTP/1.1 parsers refuse bytes that HTTP/2 carries untouched: Envoy's HTTP/1 codec
answers `400` to a request target with a byte >= 0x80, while its HTTP/2 codec hands
the same `:path` to the filters. Security tests must reach the filter with those
bytes, and no HTTP/2 library would send them, so the frames are written here by
hand: the connection preface, an empty SETTINGS, one HEADERS frame (END_STREAM,
END_HEADERS), or (`h2_stream`) HEADERS, DATA frames and trailers as separate
events, whose HPACK blocks use only "literal without indexing, new name"
representations (no Huffman, no tables), so any header bytes go out as they are.

Only the response's `:status` is decoded (always the first field of the block,
and on a fresh connection Envoy encodes it with the static table or a literal
whose value may be Huffman-coded digits); DATA frames of stream 1 form the body.
"""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, GOAWAY = 0x0, 0x1, 0x3, 0x4, 0x7
END_STREAM, END_HEADERS = 0x1, 0x4
# HPACK static table entries 8..14 are `:status` 200, 204, 206, 304, 400, 404, 500.
STATIC_STATUS = {8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500}
# HPACK Huffman codes of the ten digits (RFC 7541 Appendix B): (code, bit length).
HUFFMAN_DIGITS = {(0x0, 5): "0", (0x1, 5): "1", (0x2, 5): "2", (0x19, 6): "3", (0x1A, 6): "4",
                  (0x1B, 6): "5", (0x1C, 6): "6", (0x1D, 6): "7", (0x1E, 6): "8", (0x1F, 6): "9"}


@dataclass
class H2Response:
    status: int | None  # None: the stream was reset or the connection closed first
    body: bytes
    reset: bool  # RST_STREAM or GOAWAY before a complete response

    def json(self):
        return json.loads(self.body)


def _hpack_int(value: int, prefix_bits: int, first: int = 0) -> bytes:
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = [first | limit]
    value -= limit
    while value >= 128:
        out.append((value & 127) | 128)
        value >>= 7
    out.append(value)
    return bytes(out)


def _literal(name: bytes, value: bytes) -> bytes:
    """Literal header field without indexing, new name, no Huffman (RFC 7541 §6.2.2)."""
    return b"\x00" + _hpack_int(len(name), 7) + name + _hpack_int(len(value), 7) + value


def _frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload


def _read_int(data: bytes, pos: int, prefix_bits: int) -> tuple[int, int]:
    limit = (1 << prefix_bits) - 1
    value = data[pos] & limit
    pos += 1
    if value < limit:
        return value, pos
    shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value += (byte & 127) << shift
        shift += 7
        if not byte & 128:
            return value, pos


def _huffman_digits(data: bytes) -> str:
    bits = "".join(f"{byte:08b}" for byte in data)
    out, pos = "", 0
    while pos + 5 <= len(bits):
        for length in (5, 6):
            code = int(bits[pos:pos + length], 2) if pos + length <= len(bits) else None
            if code is not None and (code, length) in HUFFMAN_DIGITS:
                out += HUFFMAN_DIGITS[(code, length)]
                pos += length
                break
        else:
            break  # padding (all ones) or not a digit
    return out


def _status(block: bytes) -> int | None:
    """`:status` from the first field of a response header block."""
    pos = 0
    while pos < len(block) and block[pos] & 0xE0 == 0x20:  # dynamic table size update
        _, pos = _read_int(block, pos, 5)
    if pos >= len(block):
        return None
    first = block[pos]
    if first & 0x80:  # indexed field
        index, _ = _read_int(block, pos, 7)
        return STATIC_STATUS.get(index)
    prefix = 6 if first & 0x40 else 4  # literal with incremental indexing, or without / never indexed
    index, pos = _read_int(block, pos, prefix)
    if index != 8 and index not in STATIC_STATUS:
        return None
    huffman = bool(block[pos] & 0x80)
    length, pos = _read_int(block, pos, 7)
    raw = block[pos:pos + length]
    text = _huffman_digits(raw) if huffman else raw.decode("ascii", "replace")
    return int(text) if text.isdigit() else None


def h2_request(port: int, headers: list[tuple[bytes, bytes]], *, host: str = "127.0.0.1",
               timeout: float = 10.0, body: bytes | None = None) -> H2Response:
    """Send one request (pseudo-headers first, exactly as given) on stream 1 of a new
    connection and read its response. A `body` follows in DATA frames (of at most
    16 384 bytes, the default SETTINGS_MAX_FRAME_SIZE), the last one ending the stream."""
    data: list[bytes] = []
    if body is not None:
        data = [body[i:i + 16384] for i in range(0, len(body), 16384)] or [b""]
    return h2_stream(port, headers, data, host=host, timeout=timeout)


def h2_stream(port: int, headers: list[tuple[bytes, bytes]], data: Sequence[bytes] = (),
              trailers: list[tuple[bytes, bytes]] | None = None, *, host: str = "127.0.0.1",
              pause: float = 0.0, timeout: float = 10.0) -> H2Response:
    """One request on stream 1 as separate events: HEADERS, then one DATA frame per
    item of `data`, then a trailing HEADERS frame with `trailers`. END_STREAM goes on
    the last frame sent (the HEADERS alone when there is neither data nor trailers).
    `pause` seconds between frames let Envoy see each one as its own event."""
    frames = [(HEADERS, _block(headers))]
    frames += [(DATA, chunk) for chunk in data]
    if trailers is not None:
        frames.append((HEADERS, _block(trailers)))
    wire = []
    for index, (kind, payload) in enumerate(frames):
        flags = END_STREAM if index == len(frames) - 1 else 0
        if kind == HEADERS:
            flags |= END_HEADERS
        wire.append(_frame(kind, flags, 1, payload))
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(PREFACE + _frame(SETTINGS, 0, 0, b"") + wire[0])
        for frame in wire[1:]:
            if pause:
                time.sleep(pause)
            try:
                sock.sendall(frame)
            except OSError:
                break  # Envoy answered and closed early: read what it sent
        return _read_response(sock)


def _block(headers: list[tuple[bytes, bytes]]) -> bytes:
    return b"".join(_literal(name, value) for name, value in headers)


def _read_response(sock: socket.socket) -> H2Response:
    """The response of stream 1 (`:status` and DATA), acknowledging SETTINGS."""
    status: int | None = None
    body = b""
    buffer = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return H2Response(status, body, reset=True)
        buffer += chunk
        while len(buffer) >= 9:
            length = int.from_bytes(buffer[:3], "big")
            if len(buffer) < 9 + length:
                break
            kind, flags = buffer[3], buffer[4]
            stream = int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
            payload, buffer = buffer[9:9 + length], buffer[9 + length:]
            if kind == SETTINGS and not flags & 0x1:
                try:
                    sock.sendall(_frame(SETTINGS, 0x1, 0, b""))  # ACK
                except OSError:
                    pass
            if kind == GOAWAY or (kind == RST_STREAM and stream == 1):
                return H2Response(status, body, reset=True)
            if stream != 1:
                continue
            if kind == HEADERS and status is None:
                status = _status(payload)
            elif kind == DATA:
                body += payload
            if kind in (HEADERS, DATA) and flags & END_STREAM:
                return H2Response(status, body, reset=False)


def get(port: int, path: bytes, headers: list[tuple[bytes, bytes]] = (), *, method: bytes = b"GET",
        authority: bytes = b"127.0.0.1") -> H2Response:
    """A GET with `:path` given as raw bytes."""
    pseudo = [(b":method", method), (b":scheme", b"http"), (b":authority", authority), (b":path", path)]
    return h2_request(port, pseudo + list(headers))
