#!/usr/bin/env bash
# Benchmarks of issue #2 (not a test): fan-out throughput/latency and idle memory per connection.
#   bench/run.sh [BUILD_DIR]      (default build; run `make build` first)
# Server processes are pinned to core 0, the load generator to core 1 (2-core machines).
# Knobs: SUBS (1000) RATE (messages/s, 200) SECS (10) PAYLOAD (100) IDLE (10000).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BIN=${1:-$here/../build}/bin
SUBS=${SUBS:-1000}; RATE=${RATE:-200}; SECS=${SECS:-10}; PAYLOAD=${PAYLOAD:-100}; IDLE=${IDLE:-10000}
work=$(mktemp -d)
gcc -O2 -o "$work/wsload" "$here/wsload.c"
ulimit -n 20000 || true

pids=()
cleanup() { for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { /usr/bin/python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
rss_kib() { awk '/VmRSS/{print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

start_stack() {
  P1=$(free_port); P2=$(free_port); P3=$(free_port)
  taskset -c 0 "$BIN/rt-router" --ingress "tcp://127.0.0.1:$P1" --fanout "tcp://127.0.0.1:$P2" \
      --log-level warn 2>"$work/router.log" & RPID=$!; pids+=($RPID)
  taskset -c 0 "$BIN/rt-gateway" --listen "127.0.0.1:$P3" --router "tcp://127.0.0.1:$P1" \
      --rate-limit 0 --max-queue 8M --log-level warn 2>"$work/gateway.log" & GPID=$!; pids+=($GPID)
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$P3/healthz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "stack did not come up"; cat "$work"/*.log; exit 1
}
stop_stack() { kill -TERM "$GPID" "$RPID"; wait "$GPID" "$RPID" 2>/dev/null || true; pids=(); }

echo "== fan-out: one gateway, $SUBS subscribers in one room, one publisher, $RATE msg/s, ${PAYLOAD}-byte pad, ${SECS}s"
start_stack
g0=$(cpu_ticks $GPID); r0=$(cpu_ticks $RPID)
taskset -c 1 "$work/wsload" fanout 127.0.0.1 "$P3" /realtime "$SUBS" "$RATE" "$SECS" "$PAYLOAD" || true
g1=$(cpu_ticks $GPID); r1=$(cpu_ticks $RPID); hz=$(getconf CLK_TCK)
echo "gateway CPU $(( (g1-g0)*100/hz/SECS ))% of a core, router CPU $(( (r1-r0)*100/hz/SECS ))% (averaged over ${SECS}s)"
stop_stack

echo "== idle memory: $IDLE connections, each joined to a room of its own"
start_stack
base=$(rss_kib $GPID); rbase=$(rss_kib $RPID)
taskset -c 1 "$work/wsload" idle 127.0.0.1 "$P3" /realtime "$IDLE" 5 &
LP=$!
sleep 1
while kill -0 $LP 2>/dev/null; do peak=$(rss_kib $GPID); rpeak=$(rss_kib $RPID); sleep 0.5; done
wait $LP || { echo "idle load failed"; }
echo "gateway RSS $base KiB -> $peak KiB: $(( (peak-base)*1024/IDLE )) bytes per idle connection"
echo "router  RSS $rbase KiB -> $rpeak KiB: $(( (rpeak-rbase)*1024/IDLE )) bytes per connection"
stop_stack
