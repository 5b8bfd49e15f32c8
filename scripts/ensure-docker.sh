#!/usr/bin/env bash
# Make sure a Docker engine answers and docker-compose is installed.
#
#   scripts/ensure-docker.sh            # idempotent; prints one line when all is there
#   scripts/ensure-docker.sh --compose-only   # docker-compose alone (`docker-compose config`
#                                             # needs no engine): installs it, starts nothing
#
# 1. `docker` or `docker-compose` missing: install Debian's docker.io (engine
#    20.10) and docker-compose (1.29) with apt-get (needs root).
# 2. No engine answers `docker info`: start one. With systemd: `systemctl start
#    docker`. Without (containers, CI runners): `dockerd` in the background as
#    root, its log in $DOCKERD_LOG (default /tmp/entra-guard-dockerd.log), and
#    wait until it answers (at most $DOCKER_WAIT_SECONDS, default 60).
# Never stops an engine: one started here keeps running for later calls.
set -euo pipefail

log() { printf 'ensure-docker: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

DOCKERD_LOG=${DOCKERD_LOG:-/tmp/entra-guard-dockerd.log}
DOCKER_WAIT_SECONDS=${DOCKER_WAIT_SECONDS:-60}
is_root() { [ "$(id -u)" = 0 ]; }
# apt-get waits (up to 10 min) for another apt-get holding the dpkg lock instead of failing.
engine_answers() { docker info >/dev/null 2>&1; }

if [ "${1:-}" = --compose-only ]; then
  if ! command -v docker-compose >/dev/null; then
    is_root || die "docker-compose is missing and only root can install it: sudo apt-get install -y docker-compose (or run this as root)"
    command -v apt-get >/dev/null || die "docker-compose is missing (install it with your package manager)"
    log "installing Debian's docker-compose (without the engine)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q -o DPkg::Lock::Timeout=600
    apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends docker-compose
  fi
  log "docker-compose $(docker-compose version --short 2>/dev/null || echo '?')"
  exit 0
fi

# An engine that already answers (local, or DOCKER_HOST) only needs docker-compose.
if ! command -v docker >/dev/null || ! command -v docker-compose >/dev/null \
   || { ! engine_answers && ! command -v dockerd >/dev/null; }; then
  is_root || die "docker/docker-compose missing; as root: apt-get install -y docker.io docker-compose"
  log "installing Debian's docker.io and docker-compose"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q -o DPkg::Lock::Timeout=600
  # With recommends (apparmor among them: an AppArmor kernel needs its parser to start containers).
  apt-get install -y -q -o DPkg::Lock::Timeout=600 docker.io docker-compose
fi

if engine_answers; then
  log "engine up: $(docker version --format 'server {{.Server.Version}}' 2>/dev/null), $(docker-compose version --short 2>/dev/null | sed 's/^/compose /')"
  exit 0
fi

is_root || die "no Docker engine answers and only root can start one (sudo $0, or start Docker yourself)"

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  log "starting the docker service (systemctl)"
  systemctl start docker || log "systemctl start docker failed; trying dockerd directly"
fi

if ! engine_answers; then
  if pgrep -x dockerd >/dev/null; then
    log "a dockerd is running but does not answer yet: waiting for it"
  else
    log "starting dockerd in the background (log: $DOCKERD_LOG)"
    # setsid: the engine outlives this script and make's process group.
    setsid nohup dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
  fi
fi

for ((i = 0; i < DOCKER_WAIT_SECONDS * 4; i++)); do
  if engine_answers; then
    log "engine up after $((i / 4))s: $(docker version --format 'server {{.Server.Version}}' 2>/dev/null)"
    exit 0
  fi
  sleep 0.25
done
tail -n 20 "$DOCKERD_LOG" >&2 2>/dev/null || true
die "no Docker engine answered within ${DOCKER_WAIT_SECONDS}s (see $DOCKERD_LOG)"
