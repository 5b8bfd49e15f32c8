# MCP clients that the MCP integration tests drive (tests/integration/test_mcp_*.py).
# Included by the main Makefile (`-include mk/*.mk`).
#
#   make mcp-client-deps   the official MCP TypeScript SDK client, pinned in
#                          tests/mcp_client_ts/package.json + package-lock.json,
#                          installed with `npm ci` into tests/mcp_client_ts/node_modules
#
# The Python side (the `mcp` SDK: sample server and Python client) is pinned in
# tests/requirements.txt and installed by `make venv`. test_mcp_ts_client.py runs
# the same `npm ci` itself when node_modules is missing.

MCP_CLIENT_TS := tests/mcp_client_ts

.PHONY: mcp-client-deps

mcp-client-deps: $(MCP_CLIENT_TS)/node_modules/.installed ## install the MCP TypeScript SDK client for the MCP tests (npm ci)

$(MCP_CLIENT_TS)/node_modules/.installed: $(MCP_CLIENT_TS)/package.json $(MCP_CLIENT_TS)/package-lock.json
	@command -v npm >/dev/null || { echo "mcp-client-deps: npm is missing (apt-get install npm)" >&2; exit 1; }
	cd $(MCP_CLIENT_TS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@
