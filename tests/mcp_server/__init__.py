"""Sample MCP server (official MCP Python SDK) that entra-guard protects in the
integration tests and in `make demo`. See server.py."""

from .server import IDENTITY_HEADERS, Execution, McpServerThread, build_server

__all__ = ["IDENTITY_HEADERS", "Execution", "McpServerThread", "build_server"]
