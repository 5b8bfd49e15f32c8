"""The sample MCP server on its own (no Envoy): the tools the MCP tests and the demo
rely on, `whoami`, and the CLI that `make demo` users may run by hand."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp_server.server import identity_headers
from paths import REPO_ROOT


def session(url: str, headers: dict[str, str] | None = None):
    async def main():
        async with httpx2.AsyncClient(headers=headers, timeout=10) as http:
            async with Client(streamable_http_client(url, http_client=http)) as client:
                tools = [t.name for t in (await client.list_tools()).tools]
                results = {}
                for name, arguments in [("add", {"a": 1, "b": 2}), ("subtract", {"a": 1, "b": 2}),
                                        ("multiply", {"a": 3, "b": 4}), ("divide", {"a": 1, "b": 4})]:
                    results[name] = (await client.call_tool(name, arguments)).structured_content["result"]
                by_zero = await client.call_tool("divide", {"a": 1, "b": 0})
                whoami = (await client.call_tool("whoami", {})).structured_content
                about = await client.read_resource("calculator://about")
                return tools, results, by_zero, whoami, about

    return asyncio.run(main())


def test_tools_and_resource(mcp_server):
    tools, results, by_zero, whoami, about = session(mcp_server.url, {
        "X-Entra-Oid": "oid-1", "x-apim-subscription-name": "contoso", "X-Other": "not identity"})
    assert tools == ["add", "subtract", "multiply", "divide", "whoami"]
    assert results == {"add": 3.0, "subtract": -1.0, "multiply": 12.0, "divide": 0.25}
    assert by_zero.is_error and "division by zero" in by_zero.content[0].text
    assert whoami == {"x-apim-subscription-name": "contoso", "x-entra-oid": "oid-1"}
    assert "entra-guard" in about.contents[0].text


def test_identity_headers_are_filtered_and_lowercased():
    assert identity_headers({"X-Entra-Tid": "t", "Authorization": "Bearer x", "x-apim-subscription-name": "n"}) == {
        "x-apim-subscription-name": "n", "x-entra-tid": "t"}


def test_cli_serves_until_stopped():
    process = subprocess.Popen([sys.executable, "tests/mcp_server/server.py", "--port", "0"], cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("calculator MCP server on http://127.0.0.1:"), line
        url = line.rsplit(" ", 1)[1].strip()
        tools, *_ = session(url)
        assert "whoami" in tools
    finally:
        process.terminate()
        process.wait(10)
