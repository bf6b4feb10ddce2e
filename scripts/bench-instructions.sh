#!/usr/bin/env bash
# Instructions per request, repeatable on a shared machine: the release server runs under QEMU user mode with a
# counting plugin (scripts/bench/insn_counter.c; callgrind crashes on Swift's lib_FoundationICU.so here). A fixed
# number of posts to the durable route, then to the no-op route, then to the unstored route (all but the store), each
# counted between two snapshots taken when the server is idle again. Prints instructions per request for the three,
# by module, and the top functions.
#   scripts/bench-instructions.sh [sqlite]     (default) SQLite in a temp data dir
#   scripts/bench-instructions.sh postgres     a throwaway PostgreSQL cluster; PostgreSQL's own instructions are
#                                              not counted (another process), only Emilia's
# POSTS (default 2000) per route; EMILIA_BIN a release binary built earlier; TOP how many functions to list; DUMP a
# file to write every function's instructions per request to, by route (JSON, for diffs between builds).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
source scripts/postgres-cluster.sh  # pg_cluster_start / pg_cluster_stop
mode=${1:-sqlite}
case $mode in sqlite | postgres) ;; *) echo "usage: scripts/bench-instructions.sh [sqlite|postgres]" >&2; exit 2 ;; esac
work=$(mktemp -d /tmp/emilia-instructions.XXXXXX)
chmod 711 "$work"  # the PostgreSQL server runs as user postgres, in a directory under it
trap 'pg_cluster_stop "$work/postgres"; rm -rf "$work"' EXIT

if ! command -v qemu-x86_64 >/dev/null; then
  echo "Installing qemu-user"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-user
fi
if [ -n "${EMILIA_BIN:-}" ]; then
  emilia=$EMILIA_BIN
else
  echo "Building release…"
  swift build -c release --product emilia >/dev/null
  emilia="$root/.build/release/emilia"
fi
cc -O2 -shared -fPIC -fvisibility=hidden -o "$work/insn_counter.so" scripts/bench/insn_counter.c -lpthread

database_url=""
if [ "$mode" = postgres ]; then
  pg_cluster_start "$work/postgres" >/dev/null
  database_url=$EMILIA_TEST_POSTGRES_URL
fi
python3 scripts/bench/instructions.py "$work/insn_counter.so" "$emilia" "$work/run" "${POSTS:-2000}" "$database_url"
