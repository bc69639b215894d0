#!/usr/bin/env bash
# The Compose stack for real (`make test-compose`): docker-compose.yml built and started on a
# Docker engine, then checked from outside through the load balancer (tests/compose/check.py).
#   1. installs what is missing (deploy/install-deps.sh --compose)
#   2. uses the running engine, or starts a private one in a temporary folder (stopped at exit)
#   3. makes debian:bookworm-slim with debootstrap + docker import when it can be neither found
#      nor pulled (no registry is reachable on the test machines)
#   4. builds, starts the stack with the LB on a free 127.0.0.1 port, waits for health
#   5. check.py: chat, presence, the Python service, signaling, --scale gateway=3, a gateway stopped
#   6. the same stack updated with deploy/compose.curve.yml (a key pair from rt-keygen): plain
#      service-API clients refused, chat, the Python service and signaling still work
#   7. down -v; the private engine stopped and its folder removed
# Sandbox-only settings live in deploy/compose.test.yml (builds on the host network).
# Environment: RT_COMPOSE="docker compose" picks Compose v2 (default: docker-compose if present).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
T0=$SECONDS
phase() { printf '[compose %4ds] %s\n' $((SECONDS - T0)) "$*"; }
fail() { printf '[compose %4ds] FAILED: %s\n' $((SECONDS - T0)) "$*" >&2; exit 1; }

phase "installing what is missing"
deploy/install-deps.sh --compose

WORK=""          # temporary folder of a private engine ("" = an engine was already running)
ENGINE_PID=""
COMPOSE_UP=0
PROJECT=rtcompose$$
if [ -n "${RT_COMPOSE:-}" ]; then
  read -r -a COMPOSE_CMD <<<"$RT_COMPOSE"
elif command -v docker-compose >/dev/null; then
  COMPOSE_CMD=(docker-compose)
else
  COMPOSE_CMD=(docker compose)
fi
C=("${COMPOSE_CMD[@]}" -p "$PROJECT" -f docker-compose.yml -f deploy/compose.test.yml)

cleanup() {
  local rc=$?
  set +e
  if [ "$COMPOSE_UP" = 1 ]; then
    if [ "$rc" != 0 ]; then
      echo "---- containers and their last log lines" >&2
      "${C[@]}" ps >&2
      "${C[@]}" logs --no-color --tail 40 >&2
    fi
    phase "down -v"
    "${C[@]}" down -v --remove-orphans >/dev/null 2>&1 || echo "compose down failed" >&2
  fi
  if [ -n "$ENGINE_PID" ]; then
    phase "stopping the private engine (pid $ENGINE_PID)"
    kill -TERM "$ENGINE_PID" 2>/dev/null
    for _ in $(seq 60); do kill -0 "$ENGINE_PID" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$ENGINE_PID" 2>/dev/null && kill -KILL "$ENGINE_PID"
    wait "$ENGINE_PID" 2>/dev/null
  fi
  [ -n "${KEYS_DIR:-}" ] && rm -rf "$KEYS_DIR"
  if [ -n "$WORK" ]; then
    # the engine leaves its network-namespace mounts behind (innermost first)
    mount | awk -v w="$WORK" 'index($3, w) == 1 {print $3}' | sort -r | xargs -r -n1 umount -l
    rm -rf "$WORK"
  fi
  if [ "$rc" = 0 ]; then
    phase "passed"
  else
    phase "FAILED (exit $rc)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits until every container of the project runs and each one with a health check is healthy.
wait_healthy() {
  phase "waiting for every health check"
  local deadline=$((SECONDS + 120)) cid st name status health waiting
  while :; do
    waiting=()
    for cid in $("${C[@]}" ps -q); do
      st=$(docker inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{else}}-{{end}}' "$cid")
      read -r name status health <<<"$st"
      if [ "$status" != running ] || { [ "$health" != healthy ] && [ "$health" != - ]; }; then
        waiting+=("${name#/}:$status/$health")
      fi
    done
    [ ${#waiting[@]} -eq 0 ] && [ -n "$("${C[@]}" ps -q)" ] && break
    [ $SECONDS -lt $deadline ] || fail "not healthy after 120 s: ${waiting[*]}"
    sleep 1
  done
  phase "all services running and healthy"
}

if docker info >/dev/null 2>&1; then
  phase "using the running Docker engine ${DOCKER_HOST:-(default socket)}"
else
  WORK=$(mktemp -d /tmp/rt-compose.XXXXXX)
  D=$WORK/engine
  mkdir -p "$D"
  export DOCKER_HOST=unix://$D/docker.sock
  # No firewall rules and no docker0 bridge on the host; published ports go through the
  # userland proxy (/work/shared/DOCKER.md has the tested recipe).
  dockerd --data-root "$D/data" --exec-root "$D/exec" --pidfile "$D/pid" -H "$DOCKER_HOST" \
    --iptables=false --bridge=none >"$D/dockerd.log" 2>&1 &
  ENGINE_PID=$!
  for _ in $(seq 120); do
    docker info >/dev/null 2>&1 && break
    kill -0 "$ENGINE_PID" 2>/dev/null || { cat "$D/dockerd.log" >&2; fail "dockerd exited"; }
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { tail -20 "$D/dockerd.log" >&2; fail "dockerd not ready in 60 s"; }
  phase "private Docker engine up (pid $ENGINE_PID, $WORK)"
fi

BASE=debian:bookworm-slim   # the FROM of deploy/Dockerfile and deploy/lb/Dockerfile
if docker image inspect "$BASE" >/dev/null 2>&1; then
  phase "$BASE is there"
elif timeout 60 docker pull -q "$BASE" >/dev/null 2>&1; then
  phase "$BASE pulled"
else
  phase "$BASE cannot be pulled: making it with debootstrap"
  R=$(mktemp -d /tmp/rt-rootfs.XXXXXX)
  MIRROR=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  debootstrap --variant=minbase bookworm "$R/rootfs" "${MIRROR:-http://deb.debian.org/debian}" \
    >"$R/debootstrap.log" 2>&1 || { tail -20 "$R/debootstrap.log" >&2; rm -rf "$R"; fail "debootstrap"; }
  rm -rf "$R"/rootfs/var/cache/apt/archives/*.deb "$R"/rootfs/var/lib/apt/lists/*
  : >"$R/rootfs/etc/resolv.conf"
  rm -f "$R/rootfs/etc/hostname"
  tar -C "$R/rootfs" -c . | docker import -c 'CMD ["bash"]' - "$BASE" >/dev/null
  rm -rf "$R"
  phase "$BASE imported"
fi

PORT=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export RT_HTTP_PORT=127.0.0.1:$PORT   # the LB's published port (docker-compose.yml)

phase "building the images (${COMPOSE_CMD[*]})"
"${C[@]}" build >"${WORK:-/tmp}/compose-build-$PROJECT.log" 2>&1 ||
  { tail -40 "${WORK:-/tmp}/compose-build-$PROJECT.log" >&2; fail "build"; }
rm -f "/tmp/compose-build-$PROJECT.log"

phase "up -d (load balancer on $RT_HTTP_PORT)"
COMPOSE_UP=1
"${C[@]}" up -d --no-build >/dev/null 2>&1 || { "${C[@]}" up -d --no-build; fail "up"; }

wait_healthy
phase "end-to-end checks through the load balancer"
/usr/bin/python3 tests/compose/check.py --port "$PORT" --compose "${C[*]}" ||
  fail "end-to-end checks"

# CURVE (deploy/compose.curve.yml): a key pair made with the image's rt-keygen, the stack
# updated in place; plain clients of the service API get no answer, keyed ones do.
phase "CURVE: a key pair, then up -d with deploy/compose.curve.yml"
KEYS=$(mktemp -d /tmp/rt-keys.XXXXXX)
KEYS_DIR=$KEYS
docker run --rm --user 0 -v "$KEYS:/keys" "realtime-core:${RT_TAG:-latest}" bash -c \
  'rt-keygen /keys/cluster >/dev/null && mkdir /keys/allow && mv /keys/cluster /keys/allow/ &&
   chown -R 10001:10001 /keys' || fail "rt-keygen in the image"
export RT_KEYS=$KEYS
C+=(-f deploy/compose.curve.yml)
"${C[@]}" up -d --no-build --scale gateway=2 >/dev/null 2>&1 ||
  { "${C[@]}" up -d --no-build --scale gateway=2; fail "up with CURVE"; }
wait_healthy
for r in router-1 router-2; do
  cid=$("${C[@]}" ps -q "$r")
  docker logs "$cid" 2>&1 | grep -q "without CURVE" && fail "$r still warns about a plain service API"
done
NET=$(docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}' "$cid")
rc=0
docker run --rm --network "$NET" "realtime-core:${RT_TAG:-latest}" \
  rtctl --api tcp://router-1:5557 --timeout 1500 stats >/dev/null 2>&1 || rc=$?
[ "$rc" = 3 ] || fail "a plain rtctl got an answer from the CURVE service API (exit $rc, expected 3)"
docker run --rm --network "$NET" -v "$KEYS:/run/rt-keys:ro" "realtime-core:${RT_TAG:-latest}" \
  rtctl --api tcp://router-2:5557 --curve-secret-key /run/rt-keys/cluster_secret stats >/dev/null ||
  fail "rtctl with the cluster key got no answer"
phase "plain rtctl refused (exit 3), keyed rtctl answered"
/usr/bin/python3 tests/compose/check.py --port "$PORT" --compose "${C[*]}" --phase curve ||
  fail "end-to-end checks with CURVE"
