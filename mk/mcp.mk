# MCP clients and servers that the MCP integration tests drive (tests/integration/test_mcp_*.py,
# test_upstream_differential.py). Included by the main Makefile (`-include mk/*.mk`).
#
#   make mcp-client-deps   the official MCP TypeScript SDK client, pinned in
#                          tests/mcp_client_ts/package.json + package-lock.json,
#                          installed with `npm ci` into tests/mcp_client_ts/node_modules
#   make mcp-server-deps   the same SDK's server over Express (the upstream of the
#                          differential suite), pinned in tests/mcp_server_ts/, `npm ci`;
#                          `make test-integration` runs it first (a stamp makes it a no-op
#                          once installed)
#
# The Python side (the `mcp` SDK: sample server and Python client) is pinned in
# tests/requirements.txt and installed by `make venv`. test_mcp_ts_client.py and
# test_upstream_differential.py run the same `npm ci` themselves when node_modules is missing.

MCP_CLIENT_TS := tests/mcp_client_ts
MCP_SERVER_TS := tests/mcp_server_ts

.PHONY: mcp-client-deps mcp-server-deps

mcp-client-deps: $(MCP_CLIENT_TS)/node_modules/.installed ## install the MCP TypeScript SDK client for the MCP tests (npm ci)

$(MCP_CLIENT_TS)/node_modules/.installed: $(MCP_CLIENT_TS)/package.json $(MCP_CLIENT_TS)/package-lock.json
	@command -v npm >/dev/null || { echo "mcp-client-deps: npm is missing (apt-get install npm)" >&2; exit 1; }
	cd $(MCP_CLIENT_TS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

mcp-server-deps: $(MCP_SERVER_TS)/node_modules/.installed ## install the MCP TypeScript SDK server of the upstream differential suite (npm ci)

$(MCP_SERVER_TS)/node_modules/.installed: $(MCP_SERVER_TS)/package.json $(MCP_SERVER_TS)/package-lock.json
	@command -v npm >/dev/null || { echo "mcp-server-deps: npm is missing (apt-get install npm)" >&2; exit 1; }
	cd $(MCP_SERVER_TS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@
