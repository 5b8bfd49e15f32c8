# Models of the Kubernetes kinds the deploy tests check the manifests against
# (tests/deploy/test_manifest_schemas.py): the kubernetes-models npm packages
# (Istio, Envoy Gateway, Gateway API, core) and TypeScript, pinned in
# tests/deploy/manifests/package.json + package-lock.json. Included by the main
# Makefile (`-include mk/*.mk`).
#
#   make deploy-deps   `npm ci` in tests/deploy/manifests; `make test-deploy` runs it
#                      first (a no-op once installed)

MANIFEST_MODELS := tests/deploy/manifests

.PHONY: deploy-deps

deploy-deps: $(MANIFEST_MODELS)/node_modules/.installed ## install the models of the manifests' kinds for test-deploy (npm ci)

# The packages declare engines node >=22 but run on Debian's node 20 (checked by
# test-deploy itself); npm ci only warns about it.
$(MANIFEST_MODELS)/node_modules/.installed: $(MANIFEST_MODELS)/package.json $(MANIFEST_MODELS)/package-lock.json
	@command -v npm >/dev/null || { echo "deploy-deps: npm is missing (apt-get install npm)" >&2; exit 1; }
	cd $(MANIFEST_MODELS) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@
