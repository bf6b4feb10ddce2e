#!/usr/bin/env bash
# Ingest benchmark, everything on 127.0.0.1, each run wrk for DURATION (default 10 s).
#   scripts/bench.sh [sqlite]   (default) Emilia's durable ingest against three baselines measured in the same
#                               run — Emilia's own no-op route (the framework's ceiling: same server, no
#                               validation, no storage), its unstored route (all the durable route does but
#                               store: the request path's ceiling) and the FastAPI + SQLite peer in ../shared/peers
#                               (what a team would deploy otherwise); at 16 and 64 connections.
#   scripts/bench.sh postgres   a throwaway PostgreSQL cluster (scripts/postgres-cluster.sh): the FastAPI +
#                               PostgreSQL peer and Emilia on PostgreSQL with one node, taking turns for ROUNDS
#                               (default 3) rounds, then Emilia with three nodes sharing the database; at 64
#                               connections.
#   scripts/bench.sh subscribers  the server's CPU with no stream subscriber and with SUBSCRIBERS (1,000) idle ones,
#                               on SQLite and on PostgreSQL, and how long one new event takes to reach them all.
# CONNECTIONS overrides the connection counts; EMILIA_BIN a release binary built earlier.
# Needs wrk (installed when missing); the peer needs python3 + PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source scripts/postgres-cluster.sh  # pg_cluster_start / pg_cluster_stop
mode=${1:-sqlite}
case $mode in
  sqlite) connections=${CONNECTIONS:-"16 64"} ;;
  postgres) connections=${CONNECTIONS:-64} ;;
  subscribers) connections="" ;;
  *) echo "usage: scripts/bench.sh [sqlite|postgres|subscribers]" >&2; exit 2 ;;
esac
duration=${DURATION:-10s}
rounds=${ROUNDS:-3}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "ROUNDS must be a positive number" >&2; exit 2; }
peers=${PEERS_DIR:-$root/../shared/peers}
work=$(mktemp -d /tmp/emilia-bench.XXXXXX)
chmod 711 "$work"  # the PostgreSQL server runs as user postgres, in a directory under it
pids=()
cleanup() {
  for pid in "${pids[@]}"; do { kill -9 "$pid"; wait "$pid"; } 2>/dev/null || true; done
  pg_cluster_stop "$work/postgres"  # nothing to do in sqlite mode
  rm -rf "$work"
}
trap cleanup EXIT

if ! command -v wrk >/dev/null; then
  echo "Installing wrk"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wrk
fi
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

# One wrk run: prints "req/s p50 p99 non2xx requests".
run_wrk() {
  local url=$1 conns=$2 tokens=$3 prefix=$4
  local out
  out=$(RUN_ID=$(date +%s%N) TOKENS_FILE=$tokens PATH_PREFIX=$prefix wrk -t2 -c"$conns" -d"$duration" --latency -s scripts/bench/post_rotating.lua "$url")
  local rps p50 p99 bad
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  bad=$(awk '/Non-2xx/ {print $5}' <<<"$out"); bad=${bad:-0}
  total=$(awk '/requests in/ {print $1}' <<<"$out")
  echo "$rps $p50 $p99 $bad $total"
}

# Emilia's admin API: N tokens, one per line (each restaurant has its own token and rate limit).
create_tokens() {
  local port=$1 n=$2
  for i in $(seq 1 "$n"); do
    curl -s -X POST "http://127.0.0.1:$port/api/v1/tokens" -H "Authorization: Bearer $admin_key" \
      -H 'Content-Type: application/json' -d "{\"name\":\"Bench $i\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'
  done
}

if [ "$mode" = subscribers ]; then
  ulimit -n 65536 2>/dev/null || true  # a socket per subscriber, on both ends
  subscribers=${SUBSCRIBERS:-1000}
  window=${WINDOW:-10}
  # The server's CPU over `window` seconds, in % of one core.
  cpu_percent() {
    local pid=$1 before after ticks
    ticks=$(getconf CLK_TCK)
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    sleep "$window"
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    python3 -c "print(f'{100 * ($after - $before) / ($ticks * $window):.1f}')"
  }
  # One backend: serve NAME [DATABASE_URL]; prints its row.
  measure() {
    local name=$1 database=${2:-} port pid created token_id token out
    port=$(free_port)
    EMILIA_DATABASE_URL=$database EMILIA_ADMIN_KEY=$admin_key EMILIA_LOG_LEVEL=warning \
      "$emilia" serve --port "$port" --data-dir "$work/$name-data" >"$work/$name.log" 2>&1 &
    pid=$!; pids+=("$pid")
    wait_http "http://127.0.0.1:$port/health"
    created=$(curl -s -X POST "http://127.0.0.1:$port/api/v1/tokens" -H "Authorization: Bearer $admin_key" \
      -H 'Content-Type: application/json' -d '{"name":"Subscribers"}')
    token_id=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["id"])' "$created")
    token=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["token"])' "$created")
    local idle; idle=$(cpu_percent "$pid")
    out="$work/$name-subscribers.out"
    python3 scripts/bench/idle_subscribers.py "http://127.0.0.1:$port" "$admin_key" "$token_id" "$token" "$subscribers" \
      "$((window + 2))" >"$out" 2>&1 &
    local client=$!
    for _ in $(seq 1 600); do grep -q '^connected' "$out" && break; kill -0 "$client" 2>/dev/null || break; sleep 0.1; done
    grep -q '^connected' "$out" || { echo "--- $name:"; cat "$out"; exit 1; }
    local busy; busy=$(cpu_percent "$pid")
    wait "$client" || { echo "--- $name:"; cat "$out"; exit 1; }
    local delivered; delivered=$(awk '/^delivered/ {print $2 " in " $4 " ms"}' "$out")
    printf '%-12s %14s %22s %24s\n' "$name" "$idle %" "$busy %" "$delivered"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  }
  admin_key="bench-admin-key-$(date +%s)-0123456789"
  pg_cluster_start "$work/postgres" >/dev/null
  printf '\n%-12s %14s %22s %24s\n' backend "CPU, none" "CPU, $subscribers idle" "one event reached"
  measure sqlite
  measure postgres "$EMILIA_TEST_POSTGRES_URL"
  echo "CPU in % of one core over $window s; the target is under 5 % with $subscribers idle subscribers, and every one"
  echo "of them getting a new event within 1 s."
  exit 0
fi

if [ "$mode" = postgres ]; then
  # One wrk per URL (one per node), all at once, CONNS and the tokens split between them. The token sets are
  # disjoint, so the runs' idempotency keys and order ids never collide (dedup is per token). Prints
  # "req/s p50 p99 non2xx": the sum of req/s and non-2xx, the largest p50 and p99 (the percentile of the
  # combined load is at most the largest of the parts).
  run_wrk_parallel() {
    local conns=$1 tokens=$2; shift 2
    local n=$# i=0 url wrk_pids=() run_id
    run_id=$(date +%s%N)
    for url in "$@"; do
      awk -v n="$n" -v i="$i" '(NR - 1) % n == i' "$tokens" >"$work/tokens-part-$i"
      RUN_ID=$run_id TOKENS_FILE="$work/tokens-part-$i" PATH_PREFIX=/webhooks/v1/pos/ \
        wrk -t1 -c"$((conns / n + (i < conns % n ? 1 : 0)))" -d"$duration" --latency \
        -s scripts/bench/post_rotating.lua "$url" >"$work/wrk-part-$i.out" &
      wrk_pids+=($!); i=$((i + 1))
    done
    local failed=0
    for pid in "${wrk_pids[@]}"; do wait "$pid" || failed=1; done
    [ "$failed" -eq 0 ] || { echo "wrk failed" >&2; return 1; }
    cat "$work"/wrk-part-*.out | awk -v n="$n" '
      function ms(v) { x = v + 0; if (v ~ /us$/) return x / 1000; if (v ~ /ms$/) return x; if (v ~ /s$/) return x * 1000; if (v ~ /m$/) return x * 60000; return x }
      /Requests\/sec/ { rps += $2; runs++ }
      $1 == "50%" && ms($2) > p50 { p50 = ms($2) }
      $1 == "99%" && ms($2) > p99 { p99 = ms($2) }
      /Non-2xx/ { bad += $5 }
      END { if (runs != n) exit 1; printf "%.2f %.2fms %.2fms %d\n", rps, p50, p99, bad }'
  }
  # wait_http, showing the server's log when it never answers (the work dir goes at exit).
  wait_up() { (wait_http "$1") || { echo "--- $2:"; tail -n 30 "$2"; exit 1; }; }
  # A node of Emilia on the shared database: serve PORT NAME (its log and data dir are named after it).
  start_emilia_node() {
    EMILIA_DATABASE_URL=$emilia_db EMILIA_ADMIN_KEY=$admin_key EMILIA_RATE_LIMIT=1000000 EMILIA_RATE_BURST=1000000 \
      EMILIA_LOG_LEVEL=warning "$emilia" serve --port "$1" --data-dir "$work/$2-data" >"$work/$2.log" 2>&1 &
    pids+=($!)
    wait_up "http://127.0.0.1:$1/health" "$work/$2.log"
  }
  psql_bin=$(command -v psql || echo "$(_pg_cluster_bindir)/psql")
  psql_q() { "$psql_bin" "${EMILIA_TEST_POSTGRES_URL%/*}/$1" -X -q -At -v ON_ERROR_STOP=1 -c "$2"; }
  # Same state before every measurement: dirty pages written out, not flushed during someone else's run.
  checkpoint() { psql_q postgres CHECKPOINT; }
  row() { printf '%-26s %6s %10s %9s %9s %8s\n' "$@"; }

  pg_cluster_start "$work/postgres" >/dev/null
  psql_q postgres 'CREATE DATABASE emilia_bench'
  psql_q postgres 'CREATE DATABASE peer_bench'
  emilia_db="${EMILIA_TEST_POSTGRES_URL%/*}/emilia_bench"
  admin_key="bench-admin-key-$(date +%s)-0123456789"
  declare -A result

  # --- FastAPI + PostgreSQL peer (its run script creates the venv; an older venv may lack asyncpg) ---
  peers_home=${PEERS_HOME:-/tmp/emilia-peers}
  if [ -x "$peers_home/venv/bin/python" ] && ! "$peers_home/venv/bin/python" -c 'import asyncpg' 2>/dev/null; then
    "$peers_home/venv/bin/pip" install -q -r "$peers/requirements.txt"
  fi
  peer_port=$(free_port)
  python3 -c 'import uuid; [print(uuid.uuid5(uuid.NAMESPACE_URL, f"peer-token-{i}")) for i in range(50)]' >"$work/peer-tokens"
  bash "$peers/run-fastapi-postgres.sh" "$peer_port" "${EMILIA_TEST_POSTGRES_URL%/*}/peer_bench" >"$work/peer.log" 2>&1 &
  peer_pid=$!; pids+=("$peer_pid")
  wait_up "http://127.0.0.1:$peer_port/health" "$work/peer.log"

  # --- Emilia on PostgreSQL, one node: started beside the (idle) peer, so the two can take turns ---
  ports=("$(free_port)")
  start_emilia_node "${ports[0]}" emilia-1
  create_tokens "${ports[0]}" 50 >"$work/emilia-tokens"
  # A binary without the PostgreSQL backend would ignore EMILIA_DATABASE_URL and measure SQLite: refuse.
  tables=$(psql_q emilia_bench "SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
  if [ "$tables" -eq 0 ]; then
    echo "emilia serve created no table in emilia_bench: does $emilia have the PostgreSQL backend?" >&2; exit 1
  fi

  # ROUNDS turns of the peer then one node, so a slow spell of this shared machine hits both; the summary takes
  # the medians.
  printf '\n'; row target conns "req/s" p50 p99 non-2xx
  for _ in $(seq 1 "$rounds"); do
    for c in $connections; do
      checkpoint
      r=$(run_wrk "http://127.0.0.1:$peer_port" "$c" "$work/peer-tokens" /webhooks/v1/pos/)
      read -r rps p50 p99 bad _ <<<"$r"
      result[peer-$c]+="$rps "; row "fastapi + postgres peer" "$c" "$rps" "$p50" "$p99" "$bad"
      checkpoint
      r=$(run_wrk "http://127.0.0.1:${ports[0]}" "$c" "$work/emilia-tokens" /webhooks/v1/pos/)
      read -r rps p50 p99 bad _ <<<"$r"
      result[emilia1-$c]+="$rps "; row "emilia postgres, 1 node" "$c" "$rps" "$p50" "$p99" "$bad"
    done
  done
  peer_stored=$(psql_q peer_bench 'SELECT count(*) FROM webhook_events')
  { kill -9 "$peer_pid"; wait "$peer_pid"; } 2>/dev/null || true  # its CPU and connections go back to the rest

  # --- then three nodes on the same database ---
  for n in 2 3; do  # one at a time: each has started (and checked the schema) before the next
    ports+=("$(free_port)")
    start_emilia_node "${ports[n - 1]}" "emilia-$n"
  done
  urls=(); for p in "${ports[@]}"; do urls+=("http://127.0.0.1:$p"); done
  for c in $connections; do
    checkpoint
    r=$(run_wrk_parallel "$c" "$work/emilia-tokens" "${urls[@]}")
    read -r rps p50 p99 bad _ <<<"$r"
    result[emilia3-$c]=$rps; row "emilia postgres, 3 nodes*" "$c" "$rps" "$p50" "$p99" "$bad"
  done
  echo "* three wrk at once, one per node, the connections split between them: req/s and non-2xx summed,"
  echo "  p50/p99 the largest of the three (the combined percentile is at most that)"

  emilia_stored=$(psql_q emilia_bench 'SELECT count(*) FROM events' 2>/dev/null || echo "?")
  echo
  echo "Rows stored in this run: peer $peer_stored, Emilia $emilia_stored (PostgreSQL, synchronous_commit on)"
  for c in $connections; do
    python3 - "$c" "${result[emilia1-$c]}" "${result[emilia3-$c]}" "${result[peer-$c]}" <<'PY'
import statistics, sys
c, one, three, peer = sys.argv[1], [float(x) for x in sys.argv[2].split()], float(sys.argv[3]), [float(x) for x in sys.argv[4].split()]
if not one or len(one) != len(peer):
    sys.exit(f"{c} connections: {len(one)} runs of Emilia against {len(peer)} of the peer (a wrk run failed?)")
ratios = [o / p for o, p in zip(one, peer)]
median_one, median_peer = statistics.median(one), statistics.median(peer)
print(f"{c} connections, {len(ratios)} rounds: Emilia on PostgreSQL with 1 node = {statistics.median(ratios):.1f}x the "
      f"FastAPI + PostgreSQL peer (median of the rounds' ratios, {min(ratios):.1f}x to {max(ratios):.1f}x; medians "
      f"{median_one:.0f} and {median_peer:.0f} req/s); 3 nodes {three:.0f} req/s = {three / median_peer:.1f}x the peer "
      f"({three / median_one:.2f}x one node; measured last, on the largest tables)")
PY
  done
  exit 0
fi

# --- Emilia (durable ingest and the no-op route in the same process) ---
port=$(free_port)
admin_key="bench-admin-key-$(date +%s)-0123456789"
EMILIA_ADMIN_KEY=$admin_key EMILIA_RATE_LIMIT=1000000 EMILIA_RATE_BURST=1000000 EMILIA_LOG_LEVEL=warning \
  "$emilia" serve --port "$port" --data-dir "$work/emilia-data" --bench-routes >"$work/emilia.log" 2>&1 &
emilia_pid=$!; pids+=("$emilia_pid")
wait_http "http://127.0.0.1:$port/health"
create_tokens "$port" 50 >"$work/emilia-tokens"

# --- FastAPI peer ---
peer_port=$(free_port)
python3 -c 'import uuid; [print(uuid.uuid5(uuid.NAMESPACE_URL, f"peer-token-{i}")) for i in range(50)]' >"$work/peer-tokens"
bash "$peers/run-fastapi.sh" "$peer_port" >"$work/peer.log" 2>&1 &
peer_pid=$!; pids+=("$peer_pid")
wait_http "http://127.0.0.1:$peer_port/health"

declare -A result
sent=0  # durable requests answered 2xx: each a new event (its key unique in the run)
printf '\n%-22s %6s %10s %9s %9s %8s %7s\n' target conns "req/s" "p50" "p99" "non-2xx" "RSS MB"
for c in $connections; do
  for target in emilia unstored noop fastapi; do
    case $target in
      emilia)  r=$(run_wrk "http://127.0.0.1:$port" "$c" "$work/emilia-tokens" /webhooks/v1/pos/); pid=$emilia_pid ;;
      unstored) r=$(run_wrk "http://127.0.0.1:$port" "$c" "$work/emilia-tokens" /unstored/webhooks/v1/pos/); pid=$emilia_pid ;;
      noop)    r=$(run_wrk "http://127.0.0.1:$port" "$c" "$work/emilia-tokens" /noop/webhooks/v1/pos/); pid=$emilia_pid ;;
      fastapi) r=$(run_wrk "http://127.0.0.1:$peer_port" "$c" "$work/peer-tokens" /webhooks/v1/pos/); pid=$(pgrep -f "uvicorn app:app --host 127.0.0.1 --port $peer_port" | head -1) ;;
    esac
    read -r rps p50 p99 bad total <<<"$r"
    result[$target-$c]=$rps
    [ "$target" = emilia ] && sent=$((sent + total - bad))
    label=$target; [ "$target" = emilia ] && label="emilia (durable)"; [ "$target" = noop ] && label="emilia no-op route"; [ "$target" = unstored ] && label="emilia unstored route"; [ "$target" = fastapi ] && label="fastapi + sqlite peer"
    printf '%-22s %6s %10s %9s %9s %8s %7s\n' "$label" "$c" "$rps" "$p50" "$p99" "$bad" "$(rss_mb "$pid")"
  done
done

stored=$(sqlite3 "$work/emilia-data/emilia.sqlite3" 'SELECT count(*) FROM events' 2>/dev/null || echo "?")
echo
echo "Events stored by Emilia in this run: $stored, of $sent durable requests answered (each a new event: no duplicates)"
for c in $connections; do
  python3 - "$c" "${result[emilia-$c]}" "${result[noop-$c]}" "${result[fastapi-$c]}" "${result[unstored-$c]}" <<'PY'
import sys
c, durable, noop, peer, unstored = sys.argv[1], *map(float, sys.argv[2:])
print(f"{c} connections: durable ingest = {durable / noop:.0%} of the no-op route, {durable / peer:.1f}x the FastAPI peer; "
      f"the unstored route (all but the store) = {unstored / noop:.0%} of the no-op route")
PY
done
