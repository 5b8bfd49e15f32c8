# The docker-compose stack and the checks of the shipped deployment files.
# Included by the main Makefile (`-include mk/*.mk`); uses its `wasm` and `venv`.
#
#   make compose-test                  engine up, images, stack up, tests/compose, stack down
#   make compose-test STACK_IMAGES=official   pull envoyproxy/envoy + python from Docker Hub
#   make compose-up / compose-down     the stack for a person (ports 10000, 9901, 9000 on 127.0.0.1)
#   make test-deploy                   YAML of envoy/ compose/ deploy/: fields, filter JSON, envoy --mode validate

STACK_IMAGES ?= local
COMPOSE_FILE := compose/docker-compose.yml
COMPOSE_UP_PROJECT := entraguard
COMPOSE_ENV_FILE = $(if $(filter local,$(STACK_IMAGES)),--env-file compose/local.env)

.PHONY: compose-test compose-images compose-up compose-down test-deploy deploy-tools

compose-test: wasm venv ## docker-compose stack: build, up, end-to-end tests (tests/compose), down (always)
	STACK_IMAGES=$(STACK_IMAGES) VENV=$(VENV) scripts/compose-test.sh

compose-images: venv ## base images FROM scratch for the stack where no registry is reachable (entra-guard-local/*)
	scripts/ensure-docker.sh
	$(VENV)/bin/python compose/local_images.py

compose-up: wasm venv $(if $(filter local,$(STACK_IMAGES)),compose-images) ## start the stack and leave it running (127.0.0.1:10000, admin :9901, issuer :9000)
	scripts/ensure-docker.sh
	docker-compose -p $(COMPOSE_UP_PROJECT) -f $(COMPOSE_FILE) $(COMPOSE_ENV_FILE) up -d --build
	@echo "stack up: curl -i http://127.0.0.1:10000/mcp ; tokens: curl -s -XPOST http://127.0.0.1:9000/_admin/mint -d '{\"claims\":{\"scp\":\"calculator.add\"}}'"

compose-down: ## stop and remove the stack started by compose-up
	docker-compose -p $(COMPOSE_UP_PROJECT) -f $(COMPOSE_FILE) down -v --remove-orphans

# docker-compose for test-deploy's `docker-compose config` check (no engine needed):
# installed as root from Debian when missing; without root, a message and a failure.
deploy-tools:
	@scripts/ensure-docker.sh --compose-only

test-deploy: wasm venv deploy-tools deploy-deps ## shipped configs: manifests against their kinds' models, YAML fields, embedded filter JSON (entra-guard check), envoy --mode validate
	$(VENV)/bin/pytest tests/deploy $(PYTEST_ARGS)
