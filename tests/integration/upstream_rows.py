"""The corpus of test_upstream_differential.py: crafted MCP requests, most without
a credential, that try to make the upstream execute something protected while the
filter authorizes something public.

Policy (RULES): on `/mcp`, `tools/call add`, `prompts/get explain` and
`resources/read calculator://public` need nothing; anything else on `/mcp` needs a
token; every other path is public (a catch-all `/` rule). A row names what the
contract ("What reaches the upstream") fixes for the filter's answer (`contract`,
None where the contract leaves it to the upstream) and, for positive controls, what
the upstream must execute (`executes`).
"""

from __future__ import annotations

import base64
import gzip
import json
import zlib
from dataclasses import dataclass, field

from mcp_support import LEGACY_PROTOCOL

MCP = "/mcp"
PUBLIC_TOOL, PUBLIC_PROMPT, PUBLIC_RESOURCE = "add", "explain", "calculator://public"
SECRET_TOOL, SECRET_PROMPT, SECRET_RESOURCE = "divide", "audit", "calculator://secret"
PUBLIC = {("tool", PUBLIC_TOOL), ("prompt", PUBLIC_PROMPT), ("resource", PUBLIC_RESOURCE)}
RULES = [
    {"path_prefix": MCP, "require": "none", "mcp_methods": ["tools/call", "prompts/get", "resources/read"],
     "mcp_tools": [PUBLIC_TOOL, PUBLIC_PROMPT, PUBLIC_RESOURCE]},
    {"path_prefix": MCP, "require": "jwt"},
    {"path_prefix": "/", "require": "none"},
]
SPOOF = "spoofed-by-the-client"

JSON = "application/json"
ACCEPT = ("Accept", "application/json, text/event-stream")


def rpc(method: str, params: dict, request_id: int = 1) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params},
                      separators=(",", ":"))


def tool(name: str) -> str:
    return rpc("tools/call", {"name": name, "arguments": {"a": 6, "b": 3}})


ADD, DIVIDE = tool(PUBLIC_TOOL), tool(SECRET_TOOL)
HEAD = '{"jsonrpc":"2.0","id":1,'  # a message's start, for hand-written members


def utf7(text: str) -> str:
    """`text` as one UTF-7 base64 run (RFC 2152): plain ASCII letters to a UTF-8 reader."""
    return "+" + base64.b64encode(text.encode("utf-16-be")).decode().rstrip("=") + "-"


# UTF-8 reading: params {name: add, arguments, _: "+ACIALAAi..."}; UTF-7 reading: the
# run closes the `_` string and adds `"name":"divide"`, which a last-wins parser keeps.
UTF7_SMUGGLE = (HEAD + '"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2},"_":"'
                + utf7('","name":"divide","arguments":{"a":6,"b":3},"__":"') + '"}}')

# The same for resources/read: calculator://public to a UTF-8 reader, the secret to UTF-7.
UTF7_SMUGGLE_RESOURCE = (HEAD + '"method":"resources/read","params":{"uri":"calculator://public","_":"'
                         + utf7('","uri":"calculator://secret","__":"') + '"}}')


@dataclass(frozen=True)
class Row:
    id: str
    body: bytes | None
    content_type: str | None = JSON
    headers: tuple[tuple[str, str], ...] = ()
    method: str = "POST"
    path: str = MCP
    token: bool = False
    h2: bool = False
    contract: int | None = None  # the filter's answer the contract fixes
    executes: tuple[tuple[str, str], ...] | None = None  # a positive control: exactly these run
    note: str = field(default="", compare=False)

    def header_list(self) -> list[tuple[str, str]]:
        base = [ACCEPT, ("MCP-Protocol-Version", LEGACY_PROTOCOL)]
        if self.content_type is not None:
            base.insert(0, ("Content-Type", self.content_type))
        return base + list(self.headers)


def row(id: str, body: str | bytes | None, **kw) -> Row:
    return Row(id, body.encode() if isinstance(body, str) else body, **kw)


def mcp_headers(method: str, name: str) -> tuple[tuple[str, str], ...]:
    """Mcp-Method/Mcp-Name (the filter checks them whatever MCP-Protocol-Version says;
    the TypeScript SDK 1.32 refuses the 2026-07-28 version that introduces them)."""
    return (("Mcp-Method", method), ("Mcp-Name", name))


BOM = b"\xef\xbb\xbf"
ROWS: list[Row] = [
    # --- positive controls and the plain policy
    row("public-tool", ADD, executes=(("tool", "add"),)),
    row("public-prompt", rpc("prompts/get", {"name": "explain"}), executes=(("prompt", "explain"),)),
    row("public-resource", rpc("resources/read", {"uri": PUBLIC_RESOURCE}),
        executes=(("resource", PUBLIC_RESOURCE),)),
    row("secret-tool", DIVIDE, contract=401),
    row("secret-prompt", rpc("prompts/get", {"name": "audit"}), contract=401),
    row("secret-resource", rpc("resources/read", {"uri": SECRET_RESOURCE}), contract=401),
    row("token-secret-tool", DIVIDE, token=True, executes=(("tool", "divide"),)),
    row("token-secret-prompt", rpc("prompts/get", {"name": "audit"}), token=True, executes=(("prompt", "audit"),)),
    row("token-secret-resource", rpc("resources/read", {"uri": SECRET_RESOURCE}), token=True,
        executes=(("resource", SECRET_RESOURCE),)),
    row("charset-utf-8-explicit", ADD, content_type="application/json; charset=UTF-8", executes=(("tool", "add"),)),
    row("content-encoding-identity", ADD, headers=(("Content-Encoding", "identity"),), executes=(("tool", "add"),)),
    row("modern-headers-agree", ADD, headers=mcp_headers("tools/call", "add"), executes=(("tool", "add"),)),
    # --- charsets: the filter reads UTF-8, body-parser decodes the declared charset
    row("utf-7-smuggle", UTF7_SMUGGLE, content_type="application/json; charset=utf-7", contract=400),
    row("utf-7-smuggle-upper-quoted", UTF7_SMUGGLE, content_type='application/json; charset="UTF-7"', contract=400),
    row("utf-7-smuggle-no-space", UTF7_SMUGGLE, content_type="application/json;charset=utf-7", contract=400),
    row("utf-7-smuggle-second-charset", UTF7_SMUGGLE, content_type="application/json; charset=utf-8; charset=utf-7",
        contract=400),
    row("utf-7-smuggle-two-content-types", UTF7_SMUGGLE,
        headers=(("Content-Type", "application/json; charset=utf-7"),), contract=400),
    row("utf-7-smuggle-upper-type", UTF7_SMUGGLE, content_type="APPLICATION/JSON; CHARSET=UTF-7", contract=400),
    row("utf-7-smuggle-resource", UTF7_SMUGGLE_RESOURCE, content_type="application/json; charset=utf-7",
        contract=400),
    row("utf-7-smuggle-token", UTF7_SMUGGLE, content_type="application/json; charset=utf-7", token=True, contract=400),
    row("utf-16le-secret", DIVIDE.encode("utf-16-le"), content_type="application/json; charset=utf-16le", contract=400),
    row("utf-16be-bom-secret", b"\xfe\xff" + DIVIDE.encode("utf-16-be"), content_type="application/json; charset=utf-16",
        contract=400),
    row("utf-32le-secret", DIVIDE.encode("utf-32-le"), content_type="application/json; charset=utf-32le", contract=400),
    row("utf-16le-public", ADD.encode("utf-16-le"), content_type="application/json; charset=utf-16le", contract=400),
    row("latin1-public", ADD, content_type="application/json; charset=iso-8859-1", contract=400),
    row("utf-8-bom-secret", BOM + DIVIDE.encode()),
    row("utf-8-bom-public", BOM + ADD.encode()),
    # --- content encodings
    row("gzip-secret", gzip.compress(DIVIDE.encode()), headers=(("Content-Encoding", "gzip"),), contract=400),
    row("deflate-secret", zlib.compress(DIVIDE.encode()), headers=(("Content-Encoding", "deflate"),), contract=400),
    row("gzip-upper-secret", gzip.compress(DIVIDE.encode()), headers=(("Content-Encoding", "GZIP"),), contract=400),
    row("gzip-public", gzip.compress(ADD.encode()), headers=(("Content-Encoding", "gzip"),), contract=400),
    # --- content types
    row("no-content-type-secret", DIVIDE, content_type=None, contract=400),
    row("no-content-type-public", ADD, content_type=None, contract=400),
    row("text-plain-secret", DIVIDE, content_type="text/plain", contract=400),
    row("listed-content-types-secret", DIVIDE, content_type="text/plain, application/json", contract=400),
    row("json-suffix-secret", DIVIDE, content_type="application/vnd.api+json", contract=400),
    # --- paths an upstream may route to /mcp
    row("path-upper", DIVIDE, path="/MCP", contract=400),
    row("path-mixed", DIVIDE, path="/Mcp", contract=400),
    row("path-upper-resource", rpc("resources/read", {"uri": SECRET_RESOURCE}), path="/MCP", contract=400),
    row("path-trailing-slash", DIVIDE, path="/mcp/", contract=401),
    row("path-upper-trailing-slash", DIVIDE, path="/MCP/", contract=400),
    row("path-double-slash", DIVIDE, path="//mcp"),
    row("path-percent-encoded", DIVIDE, path="/%6Dcp"),
    row("path-query", DIVIDE, path="/mcp?x=1", contract=401),
    # --- methods: the body is read whatever the method
    row("put-secret", DIVIDE, method="PUT", contract=401),
    row("patch-secret", DIVIDE, method="PATCH", contract=401),
    row("get-with-body-secret", DIVIDE, method="GET", contract=401),
    row("h2-post-secret", DIVIDE, h2=True, contract=401),
    row("h2-lowercase-post-secret", DIVIDE, method="post", h2=True, contract=401),
    row("h2-lowercase-post-public", ADD, method="post", h2=True),
    row("h2-utf-7-smuggle", UTF7_SMUGGLE, content_type="application/json; charset=utf-7", h2=True, contract=400),
    row("h2-path-upper", DIVIDE, path="/MCP", h2=True, contract=400),
    # --- duplicated members (last wins in JSON.parse and pydantic)
    row("name-twice", HEAD + '"method":"tools/call","params":{"name":"add","name":"divide","arguments":{"a":6,"b":3}}}'),
    row("name-twice-escaped-key", HEAD + '"method":"tools/call","params":{"name":"add","n\\u0061me":"divide",'
        '"arguments":{"a":6,"b":3}}}'),
    # first method: tools/call add (public); last: resources/read of the uri (secret)
    row("method-twice", HEAD + '"method":"tools/call","params":{"name":"add","uri":"calculator://secret"},'
        '"method":"resources/read"}'),
    row("method-twice-escaped-key", HEAD + '"method":"tools/call","params":{"name":"add","uri":"calculator://secret"},'
        '"m\\u0065thod":"resources/read"}'),
    row("params-twice", HEAD + '"method":"tools/call","params":{"name":"add"},'
        '"params":{"name":"divide","arguments":{"a":6,"b":3}}}'),
    row("uri-twice-escaped-key", HEAD + '"method":"resources/read","params":{"uri":"calculator://public",'
        '"\\u0075ri":"calculator://secret"}}'),
    # --- a name in another spelling
    row("escaped-secret-name", HEAD + '"method":"tools/call","params":{"name":"di\\u0076ide","arguments":{"a":6,"b":3}}}',
        contract=401),
    row("escaped-public-name", HEAD + '"method":"tools/call","params":{"name":"\\u0061dd","arguments":{"a":6,"b":3}}}',
        executes=(("tool", "add"),)),
    row("escaped-secret-uri", HEAD + '"method":"resources/read","params":{"uri":"calculator://\\u0073ecret"}}',
        contract=401),
    # --- name and uri together
    row("read-public-name-secret-uri", rpc("resources/read", {"name": PUBLIC_RESOURCE, "uri": SECRET_RESOURCE}),
        contract=400),
    row("read-secret-uri-public-name", rpc("resources/read", {"uri": SECRET_RESOURCE, "name": PUBLIC_RESOURCE}),
        contract=400),
    row("tool-with-uri", rpc("tools/call", {"name": "add", "uri": SECRET_RESOURCE, "arguments": {"a": 6, "b": 3}}),
        contract=400),
    # --- batches
    row("batch-public-secret", f"[{ADD},{tool('divide').replace(':1,', ':2,', 1)}]"),
    row("batch-secret-only", f"[{DIVIDE}]"),
    # --- Mcp-Method / Mcp-Name headers
    row("mcp-name-twice", ADD, headers=mcp_headers("tools/call", "add") + (("Mcp-Name", "add"),), contract=400),
    row("mcp-method-twice", ADD, headers=mcp_headers("tools/call", "add") + (("Mcp-Method", "tools/call"),),
        contract=400),
    row("mcp-name-disagrees", ADD, headers=mcp_headers("tools/call", "divide"), contract=400),
    row("mcp-name-base64-disagrees", ADD, headers=mcp_headers("tools/call", "=?base64?ZGl2aWRl?="), contract=400),
    # --- trailing bytes after the message
    row("trailing-garbage", ADD + "garbage"),
    row("trailing-second-message", ADD + DIVIDE),
    row("trailing-newline-message", ADD + "\n" + DIVIDE),
    row("chunked-secret", b"%x\r\n%s\r\n0\r\n\r\n" % (len(DIVIDE), DIVIDE.encode()),
        headers=(("Transfer-Encoding", "chunked"),), contract=401),
    row("chunked-trailers-secret", b"%x\r\n%s\r\n0\r\nx-trailer: 1\r\n\r\n" % (len(DIVIDE), DIVIDE.encode()),
        headers=(("Transfer-Encoding", "chunked"),), contract=401),
    # --- identity headers the client sends (claims_to_headers: x-entra-*)
    row("spoof-identity-dash", ADD, headers=(("x-entra-oid", SPOOF),), executes=(("tool", "add"),)),
    row("spoof-identity-mixed-case", ADD, headers=(("X-Entra-Client-Id", SPOOF), ("X-ENTRA-TID", SPOOF)),
        executes=(("tool", "add"),)),
    row("spoof-identity-underscore", ADD, headers=(("x_entra_oid", SPOOF),), executes=(("tool", "add"),)),
    row("spoof-identity-underscore-mixed", ADD, headers=(("X_Entra_Client_Id", SPOOF), ("x-entra_tid", SPOOF)),
        executes=(("tool", "add"),)),
    row("token-spoof-identity", DIVIDE, token=True, executes=(("tool", "divide"),),
        headers=(("X-Entra-Client-Id", SPOOF), ("x_entra_client_id", SPOOF), ("X_ENTRA_TID", SPOOF))),
]
