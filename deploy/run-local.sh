#!/usr/bin/env bash
# Starts one rt-router, one rt-gateway serving the chat example and one rt-signaling (the
# chat's video call), for trying things locally.
#   deploy/run-local.sh BUILD_DIR        (what `make run` calls)
# The router binds its ZeroMQ ports on 127.0.0.1 only; the gateway listens on 0.0.0.0:8080
# (RT_LISTEN=HOST:PORT in the environment changes the listen address).
# Ctrl-C or SIGTERM stops all three; if one dies on its own the others are stopped and we exit 1.
set -uo pipefail

BUILD_DIR=${1:?usage: $0 BUILD_DIR}
BIN=$BUILD_DIR/bin
ROOT=$(cd "$(dirname "$0")/.." && pwd)
for b in rt-router rt-gateway rt-signaling; do
  [ -x "$BIN/$b" ] || { echo "run-local: $BIN/$b not found (build first: make build)" >&2; exit 1; }
done

LISTEN=${RT_LISTEN:-0.0.0.0:8080}
PORT=${LISTEN##*:}
router_pid=""
gateway_pid=""
signaling_pid=""
stopping=0

# Stop the children by PID (SIGTERM, then SIGKILL after 10 s) and wait for them.
stop_all() {
  stopping=1
  for pid in $gateway_pid $signaling_pid $router_pid; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in $gateway_pid $signaling_pid $router_pid; do
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  gateway_pid=""
  signaling_pid=""
  router_pid=""
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

"$BIN/rt-router" \
  --ingress tcp://127.0.0.1:5555 --fanout tcp://127.0.0.1:5556 \
  --api tcp://127.0.0.1:5557 --events tcp://127.0.0.1:5558 --mesh-bind tcp://127.0.0.1:9090 &
router_pid=$!

"$BIN/rt-gateway" --listen "$LISTEN" --router tcp://127.0.0.1:5555 \
  --static "$ROOT/examples/chat" &
gateway_pid=$!

"$BIN/rt-signaling" --router-api tcp://127.0.0.1:5557 --router-events tcp://127.0.0.1:5558 &
signaling_pid=$!

# Wait until the gateway answers (or one of them dies at start).
for _ in $(seq 100); do
  if ! kill -0 "$router_pid" 2>/dev/null || ! kill -0 "$gateway_pid" 2>/dev/null ||
     ! kill -0 "$signaling_pid" 2>/dev/null; then
    break
  fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
    break
  fi
  sleep 0.1
done

echo "realtime-core is running: router pid $router_pid, gateway pid $gateway_pid, signaling pid $signaling_pid"
echo "  chat:     http://localhost:$PORT/"
echo "  clients:  ws://localhost:$PORT/realtime"
echo "  health:   http://localhost:$PORT/healthz   metrics: http://localhost:$PORT/metrics"
echo "Ctrl-C stops them all."

# wait -n returns when any child exits (or a trapped signal arrives).
wait -n "$router_pid" "$gateway_pid" "$signaling_pid"
rc=$?
if [ "$stopping" = 0 ]; then
  who=rt-gateway
  kill -0 "$router_pid" 2>/dev/null || who=rt-router
  kill -0 "$signaling_pid" 2>/dev/null || who=rt-signaling
  echo "run-local: $who exited (status $rc); stopping the others" >&2
  stop_all
  exit 1
fi
