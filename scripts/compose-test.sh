#!/usr/bin/env bash
# End-to-end test of the docker-compose stack (what `make compose-test` runs):
# engine up (scripts/ensure-docker.sh), images built, stack up, pytest
# tests/compose against it, stack removed -- always, also on failure or Ctrl-C.
#
#   STACK_IMAGES=local     (default) base images built FROM scratch from this
#                          machine's files (compose/local_images.py): no registry
#   STACK_IMAGES=official  envoyproxy/envoy:v1.40.0 and python:3.11.13-slim-bookworm
#                          pulled from Docker Hub (the compose file's defaults)
#   PYTEST_ARGS            extra pytest arguments (default -q)
#   KEEP_STACK=1           leave the stack running after the tests (for debugging;
#                          remove it with the `docker-compose ... down` line printed)
# Needs the built filter (make wasm) and the project's .venv (make venv).
set -euo pipefail
cd "$(dirname "$0")/.."

STACK_IMAGES=${STACK_IMAGES:-local}
VENV=${VENV:-.venv}
COMPOSE_FILE=compose/docker-compose.yml
PROJECT=${ENTRA_GUARD_COMPOSE_PROJECT:-entraguard-test-$$}
WASM=target/wasm32-unknown-unknown/release/entra_guard.wasm
# Empty host ports: Docker picks free ones on 127.0.0.1 (the tests look them up),
# so the run never collides with a demo or another stack on 10000/9901/9000.
export ENVOY_PORT='' ENVOY_ADMIN_PORT='' ISSUER_PORT=''

phase_start=$SECONDS
phase() {  # phase NAME: report the previous phase's duration, start a new one
  local now=$SECONDS
  if [ -n "${phase_name:-}" ]; then
    printf 'compose-test: %-22s %3ss\n' "$phase_name" "$((now - phase_start))" >&2
  fi
  phase_name=$1 phase_start=$now
}
total_start=$SECONDS

[ -f "$WASM" ] || { echo "compose-test: $WASM missing: run make wasm" >&2; exit 1; }
[ -x "$VENV/bin/pytest" ] || { echo "compose-test: $VENV/bin/pytest missing: run make venv" >&2; exit 1; }

phase "docker engine"
scripts/ensure-docker.sh

compose_args=(-p "$PROJECT" -f "$COMPOSE_FILE")
case $STACK_IMAGES in
  local)
    phase "local base images"
    "$VENV/bin/python" compose/local_images.py 2> >(grep -v -e 'legacy builder' -e 'buildx' -e '^ *$' >&2)
    compose_args+=(--env-file compose/local.env) ;;
  official) ;;
  *) echo "compose-test: STACK_IMAGES must be local or official, not '$STACK_IMAGES'" >&2; exit 2 ;;
esac
COMPOSE=(docker-compose "${compose_args[@]}")

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ "$rc" != 0 ]; then
    echo "compose-test: FAILED (exit $rc); last log lines of the stack:" >&2
    "${COMPOSE[@]}" logs --no-color --tail 40 >&2 2>/dev/null || true
  fi
  if [ "${KEEP_STACK:-}" = 1 ]; then
    phase ""
    echo "compose-test: stack kept; remove it with: docker-compose ${compose_args[*]} down -v" >&2
  else
    phase "down"
    "${COMPOSE[@]}" down -v --remove-orphans --timeout 5 >/dev/null 2>&1 || true
    phase ""
  fi
  printf 'compose-test: %-22s %3ss\n' "total" "$((SECONDS - total_start))" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

phase "build stack images"
"${COMPOSE[@]}" build --quiet 2> >(grep -v -e 'legacy builder' -e 'buildx' -e '^ *$' >&2)

# `up -d` returns once issuer and upstream are healthy (depends_on conditions);
# the tests then wait for Envoy's own health check.
phase "up"
"${COMPOSE[@]}" up -d --no-build

phase "tests"
# shellcheck disable=SC2086
ENTRA_GUARD_COMPOSE_PROJECT=$PROJECT ENTRA_GUARD_COMPOSE_FILE=$COMPOSE_FILE \
  "$VENV/bin/pytest" tests/compose ${PYTEST_ARGS:--q}  # word-split on purpose: several arguments
