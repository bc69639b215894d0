#!/usr/bin/env bash
# Benchmarks (not tests): fan-out throughput/latency, on one node and across the mesh, and idle
# memory per connection.
#   bench/run.sh [BUILD_DIR]      (default build; run `make build` first)
# Server processes are pinned to core 0, the load generator to core 1 (2-core machines).
# Knobs: SUBS (1000) RATE (messages/s, 200) SECS (10) PAYLOAD (100) IDLE (10000)
#        ONLY (all | single | mesh | idle): which parts run.
# mesh: two routers joined by the mesh, one gateway each; the publisher is on node 1 and
# "cross" puts every subscriber on node 2 (each event crosses the mesh once), "split" puts half
# of them on each node.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-$here/../build}/bin
SUBS=${SUBS:-1000}; RATE=${RATE:-200}; SECS=${SECS:-10}; PAYLOAD=${PAYLOAD:-100}; IDLE=${IDLE:-10000}
ONLY=${ONLY:-all}
work=$(mktemp -d)
gcc -O2 -o "$work/wsload" "$here/wsload.c"
ulimit -n 20000 || true

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
rss_kib() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

# start_node N [MESH_PEERS MESH_PORT]: router N and its gateway, pinned to core 0.
# Sets RPID[N], GPID[N], GPORT[N].
declare -a RPID GPID GPORT
start_node() {
  local n=$1 ing fan api ev mesh=()
  ing=$(free_port); fan=$(free_port); api=$(free_port); ev=$(free_port); GPORT[$n]=$(free_port)
  [ $# -ge 3 ] && mesh=(--node-id "n$n" --mesh-bind "tcp://127.0.0.1:$3" --mesh-peers "$2")
  taskset -c 0 "$BIN/rt-router" --ingress "tcp://127.0.0.1:$ing" --fanout "tcp://127.0.0.1:$fan" \
      --api "tcp://127.0.0.1:$api" --events "tcp://127.0.0.1:$ev" "${mesh[@]}" \
      --log-level warn 2>"$work/router$n.log" & RPID[$n]=$!; pids+=($!)
  taskset -c 0 "$BIN/rt-gateway" --listen "127.0.0.1:${GPORT[$n]}" --router "tcp://127.0.0.1:$ing" \
      --rate-limit 0 --max-queue 8M --log-level warn 2>"$work/gateway$n.log" & GPID[$n]=$!; pids+=($!)
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:${GPORT[$n]}/healthz" >/dev/null 2>&1 && return 0; sleep 0.1
  done
  echo "node $n did not come up"; cat "$work"/*.log; exit 1
}
stop_all() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; pids=(); }
cpu_sum() { local t=0 p; for p in "$@"; do t=$(( t + $(cpu_ticks "$p") )); done; echo $t; }

# fanout LABEL PORTS PIDS...: one wsload fan-out run, then the servers' CPU.
fanout() {
  local label=$1 ports=$2; shift 2
  echo "== fan-out ($label): $SUBS subscribers in one room, one publisher, $RATE msg/s, ${PAYLOAD}-byte pad, ${SECS}s"
  local c0 c1 hz; c0=$(cpu_sum "$@"); hz=$(getconf CLK_TCK)
  taskset -c 1 "$work/wsload" fanout 127.0.0.1 "$ports" /realtime "$SUBS" "$RATE" "$SECS" "$PAYLOAD" || true
  c1=$(cpu_sum "$@")
  echo "server CPU (routers + gateways) $(( (c1-c0)*100/hz/SECS ))% of a core (averaged over ${SECS}s)"
}

if [ "$ONLY" = all ] || [ "$ONLY" = single ]; then
  start_node 1
  fanout "one node" "${GPORT[1]}" "${RPID[1]}" "${GPID[1]}"
  stop_all
fi

if [ "$ONLY" = all ] || [ "$ONLY" = mesh ]; then
  m1=$(free_port); m2=$(free_port); peers="tcp://127.0.0.1:$m1,tcp://127.0.0.1:$m2"
  start_node 1 "$peers" "$m1"
  start_node 2 "$peers" "$m2"
  sleep 2   # the mesh handshake (first heartbeats, snapshots)
  all=("${RPID[1]}" "${GPID[1]}" "${RPID[2]}" "${GPID[2]}")
  fanout "cross-node: publisher on node 1, subscribers on node 2" "${GPORT[1]}/${GPORT[2]}" "${all[@]}"
  fanout "split: publisher on node 1, subscribers half on each node" \
      "${GPORT[1]}/${GPORT[1]},${GPORT[2]}" "${all[@]}"
  stop_all
fi

if [ "$ONLY" = all ] || [ "$ONLY" = idle ]; then
  echo "== idle memory: $IDLE connections, each joined to a room of its own"
  start_node 1
  base=$(rss_kib "${GPID[1]}"); rbase=$(rss_kib "${RPID[1]}")
  taskset -c 1 "$work/wsload" idle 127.0.0.1 "${GPORT[1]}" /realtime "$IDLE" 5 &
  LP=$!
  sleep 1
  while kill -0 $LP 2>/dev/null; do peak=$(rss_kib "${GPID[1]}"); rpeak=$(rss_kib "${RPID[1]}"); sleep 0.5; done
  wait $LP || { echo "idle load failed"; }
  echo "gateway RSS $base KiB -> $peak KiB: $(( (peak-base)*1024/IDLE )) bytes per idle connection"
  echo "router  RSS $rbase KiB -> $rpeak KiB: $(( (rpeak-rbase)*1024/IDLE )) bytes per connection"
  stop_all
fi
