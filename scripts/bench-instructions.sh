#!/usr/bin/env bash
# Instructions per request under valgrind's callgrind: counts of executed instructions, which do not move with the
# noise of a shared machine (unlike req/s). One release `emilia serve --bench-noop-route` runs under callgrind; REQUESTS
# posts of the benchmark payload (scripts/bench/post_rotating.lua's: 1.1 KB session_complete, 4 events a check,
# unique keys, 16 connections) go to the durable route, then as many to the no-op route, the counters zeroed
# before and dumped after each. Prints instructions per request for both, their ratio, and the durable route's
# top functions by inclusive cost. docs/performance.md keeps the figures.
#   scripts/bench-instructions.sh [REQUESTS]   (default 2000; EMILIA_BIN a release binary built earlier)
set -euo pipefail
cd "$(dirname "$0")/.."
requests=${1:-2000}
connections=${CONNECTIONS:-16}
command -v valgrind >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind; }
if [ -n "${EMILIA_BIN:-}" ]; then emilia=$EMILIA_BIN; else swift build -c release --product emilia >/dev/null; emilia=.build/release/emilia; fi
work=$(mktemp -d /tmp/emilia-callgrind.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
admin_key="callgrind-$(date +%s)-0123456789abcdef"
EMILIA_ADMIN_KEY=$admin_key EMILIA_RATE_LIMIT=0 EMILIA_LOG_LEVEL=warning \
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
  "$emilia" serve --port "$port" --data-dir "$work/data" --bench-noop-route >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 1200); do curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.25; done
for i in $(seq 1 50); do
  curl -s -X POST "http://127.0.0.1:$port/api/v1/tokens" -H "Authorization: Bearer $admin_key" -H 'Content-Type: application/json' \
    -d "{\"name\":\"Bench $i\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
done >"$work/tokens"
# A warm-up, so that caches, pools and lazily built state are not counted.
python3 scripts/bench/post_load.py "http://127.0.0.1:$port" /webhooks/v1/pos/ "$work/tokens" 200 "$connections"

# Instructions per request of one phase: zero, post, dump; the dump's total over the requests.
phase() {
  local name=$1 prefix=$2
  callgrind_control --zero "$server" >/dev/null
  python3 scripts/bench/post_load.py "http://127.0.0.1:$port" "$prefix" "$work/tokens" "$requests" "$connections"
  callgrind_control --dump="$name" "$server" >/dev/null
  local file
  file=$(ls -t "$work"/callgrind.out.* | head -1)  # the dump just written
  echo "$file" >"$work/$name.file"
  callgrind_annotate "$file" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' >"$work/$name.total"
}
phase durable /webhooks/v1/pos/
phase noop /noop/webhooks/v1/pos/
durable=$(cat "$work/durable.total"); noop=$(cat "$work/noop.total")
python3 - "$durable" "$noop" "$requests" <<'PY'
import sys
durable, noop, requests = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
print(f"durable route: {durable / requests:,.0f} instructions per request")
print(f"no-op route:   {noop / requests:,.0f} instructions per request")
print(f"durable / no-op: {durable / noop:.2f}x the instructions (a no-op share of {noop / durable:.0%})")
PY
echo
echo "Durable route, top functions by inclusive instructions (whole process, $requests requests):"
callgrind_annotate --inclusive=yes "$(cat "$work/durable.file")" 2>/dev/null | sed -n '/Ir/,$p' | head -45 | cut -c1-160
