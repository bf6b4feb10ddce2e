#!/usr/bin/env bash
# Ingest benchmark: Emilia's durable ingest against two baselines measured in the same run —
# Emilia's own no-op route (the framework's ceiling: same server, no validation, no storage) and the
# FastAPI + SQLite peer in ../shared/peers (what a team would deploy otherwise).
# Each run is wrk for DURATION (default 10 s) at 16 and 64 connections, all on 127.0.0.1.
# Usage: scripts/bench.sh            (needs wrk: apt-get install wrk; the peer needs python3 + PyPI)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
duration=${DURATION:-10s}
connections=${CONNECTIONS:-"16 64"}
peers=${PEERS_DIR:-$root/../shared/peers}
work=$(mktemp -d /tmp/emilia-bench.XXXXXX)
pids=()
cleanup() { for pid in "${pids[@]}"; do { kill -9 "$pid"; wait "$pid"; } 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk"; exit 1; }
if [ -n "${EMILIA_BIN:-}" ]; then
  emilia=$EMILIA_BIN   # a release binary built earlier
else
  echo "Building release…"
  swift build -c release --product emilia >/dev/null
  emilia="$root/.build/release/emilia"
fi

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 300); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1"; exit 1; }
rss_mb() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }

# One wrk run: prints "req/s p50 p99 non2xx".
run_wrk() {
  local url=$1 conns=$2 tokens=$3 prefix=$4
  local out
  out=$(TOKENS_FILE=$tokens PATH_PREFIX=$prefix wrk -t2 -c"$conns" -d"$duration" --latency -s scripts/bench/post_rotating.lua "$url")
  local rps p50 p99 bad
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $5}' <<<"$out"); bad=${bad:-0}
  echo "$rps $p50 $p99 $bad"
}

# --- Emilia (durable ingest and the no-op route in the same process) ---
port=$(free_port)
admin_key="bench-admin-key-$(date +%s)-0123456789"
EMILIA_ADMIN_KEY=$admin_key EMILIA_RATE_LIMIT=1000000 EMILIA_RATE_BURST=1000000 EMILIA_LOG_LEVEL=warning \
  "$emilia" serve --port "$port" --data-dir "$work/emilia-data" --bench-noop-route >"$work/emilia.log" 2>&1 &
emilia_pid=$!; pids+=("$emilia_pid")
wait_http "http://127.0.0.1:$port/health"
for i in $(seq 1 50); do
  curl -s -X POST "http://127.0.0.1:$port/api/v1/tokens" -H "Authorization: Bearer $admin_key" \
    -H 'Content-Type: application/json' -d "{\"name\":\"Bench $i\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
done >"$work/emilia-tokens"

# --- FastAPI peer ---
peer_port=$(free_port)
python3 -c 'import uuid; [print(uuid.uuid5(uuid.NAMESPACE_URL, f"peer-token-{i}")) for i in range(50)]' >"$work/peer-tokens"
bash "$peers/run-fastapi.sh" "$peer_port" >"$work/peer.log" 2>&1 &
peer_pid=$!; pids+=("$peer_pid")
wait_http "http://127.0.0.1:$peer_port/health"

declare -A result
printf '\n%-22s %6s %10s %9s %9s %8s %7s\n' target conns "req/s" "p50" "p99" "non-2xx" "RSS MB"
for c in $connections; do
  for target in emilia noop fastapi; do
    case $target in
      emilia)  r=$(run_wrk "http://127.0.0.1:$port" "$c" "$work/emilia-tokens" /webhooks/v1/pos/); pid=$emilia_pid ;;
      noop)    r=$(run_wrk "http://127.0.0.1:$port" "$c" "$work/emilia-tokens" /noop/webhooks/v1/pos/); pid=$emilia_pid ;;
      fastapi) r=$(run_wrk "http://127.0.0.1:$peer_port" "$c" "$work/peer-tokens" /webhooks/v1/pos/); pid=$(pgrep -f "uvicorn app:app --host 127.0.0.1 --port $peer_port" | head -1) ;;
    esac
    read -r rps p50 p99 bad <<<"$r"
    result[$target-$c]=$rps
    label=$target; [ "$target" = emilia ] && label="emilia (durable)"; [ "$target" = noop ] && label="emilia no-op route"; [ "$target" = fastapi ] && label="fastapi + sqlite peer"
    printf '%-22s %6s %10s %9s %9s %8s %7s\n' "$label" "$c" "$rps" "$p50" "$p99" "$bad" "$(rss_mb "$pid")"
  done
done

stored=$(sqlite3 "$work/emilia-data/emilia.sqlite3" 'SELECT count(*) FROM events' 2>/dev/null || echo "?")
echo
echo "Events stored by Emilia in this run: $stored"
for c in $connections; do
  python3 - "$c" "${result[emilia-$c]}" "${result[noop-$c]}" "${result[fastapi-$c]}" <<'PY'
import sys
c, durable, noop, peer = sys.argv[1], *map(float, sys.argv[2:])
print(f"{c} connections: durable ingest = {durable / noop:.0%} of the no-op route, {durable / peer:.1f}x the FastAPI peer")
PY
done
