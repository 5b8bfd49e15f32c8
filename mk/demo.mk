# make demo: entra-guard in a real Envoy (envoy/demo.yaml) in front of the sample
# calculator MCP server (tests/mcp_server) and the local Entra-compatible token
# issuer (tests/issuer), all on 127.0.0.1; prints copy-paste curl lines, a user
# sign-in page to follow in a browser (scripts/demo_sign_in.py), the MCP Inspector's
# settings and an mcp.json for VS Code, runs until Ctrl-C (scripts/demo.py).
# Included by the main Makefile (`-include mk/*.mk`); uses its `wasm` and `venv`
# targets and $(VENV).
#
#   make demo                      ports 9000 (issuer), 9001 (MCP server), 10000 (Envoy), 9901 (admin),
#                                  9002 (sign-in page)
#   make demo-check                start it, run every printed curl line and the sign-in page, check, stop
#   make demo DEMO_ARGS='--listener-port 18000'   other ports (0: a free one)

DEMO_ARGS ?=

.PHONY: demo demo-check

demo: wasm venv ## MCP demo: Envoy + entra-guard + sample MCP server + local Entra-like issuer; prints curl lines (Ctrl-C stops)
	$(VENV)/bin/python scripts/demo.py $(DEMO_ARGS)

demo-check: wasm venv ## start the MCP demo, run its curl lines, check every answer, stop
	$(VENV)/bin/python scripts/demo.py --check $(DEMO_ARGS)
