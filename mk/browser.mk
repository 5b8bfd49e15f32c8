# Browser tests (tests/integration/test_browser_*.py): Debian's chromium driven by
# playwright-core, and the MCP Inspector, pinned in tests/browser/package.json +
# package-lock.json. No browser download works here: playwright-core has none and is
# pointed at /usr/bin/chromium. Included by the main Makefile (`-include mk/*.mk`).
#
#   make browser-deps   chromium (apt-get as root, when missing) + `npm ci` in tests/browser;
#                       `make test-integration` runs it first (a no-op once installed)

BROWSER_DIR := tests/browser
CHROMIUM    := /usr/bin/chromium

.PHONY: browser-deps chromium

browser-deps: chromium $(BROWSER_DIR)/node_modules/.installed ## install chromium (Debian) and playwright-core + the MCP Inspector (npm ci) for the browser tests

chromium: ## install Debian's chromium when missing (apt-get, needs root)
	@if [ -x $(CHROMIUM) ]; then \
	  echo "chromium: $$($(CHROMIUM) --version 2>/dev/null | head -1)"; \
	else \
	  [ "$$(id -u)" = 0 ] || { echo "chromium: $(CHROMIUM) is missing; need root for apt-get install chromium" >&2; exit 1; }; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; \
	fi

$(BROWSER_DIR)/node_modules/.installed: $(BROWSER_DIR)/package.json $(BROWSER_DIR)/package-lock.json
	@command -v npm >/dev/null || { echo "browser-deps: npm is missing (apt-get install npm)" >&2; exit 1; }
	cd $(BROWSER_DIR) && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
	@touch $@
