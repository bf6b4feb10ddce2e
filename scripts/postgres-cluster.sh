# Throwaway PostgreSQL clusters for the tests and benchmarks. Meant to be sourced (bash):
#   pg_cluster_start DIR   initdb into DIR/pgdata, start it on 127.0.0.1:<free port>, export the
#                          EMILIA_TEST_* variables below and print the port
#   pg_cluster_stop DIR    immediate stop of that cluster; never fails
# Exported by pg_cluster_start:
#   EMILIA_TEST_POSTGRES_URL  postgres://postgres@127.0.0.1:PORT/postgres (trust auth, no password)
#   EMILIA_TEST_PG_PORT       PORT
#   EMILIA_TEST_PGDATA        DIR/pgdata
#   EMILIA_TEST_PG_CTL        a command line that ends in pg_ctl's options: append `stop -m immediate`,
#                             `start`, … and run it with sh -c
#   EMILIA_TEST_PG_RESTART    a command that restarts the cluster (fast mode) and returns once it
#                             accepts connections: sh -c "$EMILIA_TEST_PG_RESTART"
# The server runs as the `postgres` OS user when we are root (root cannot run postgres), so DIR is
# chowned to it and every parent of DIR must be traversable by it (chmod o+x). The socket lives in
# DIR; the server listens on 127.0.0.1 only. Needs python3 (to pick a free port).

# The directory holding initdb, pg_ctl and postgres (symlinks resolved), or nothing.
_pg_cluster_bindir() {
  local d
  if d=$(command -v initdb 2>/dev/null); then
    dirname "$(readlink -f "$d")"; return 0
  fi
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) /usr/local/bin; do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then dirname "$(readlink -f "$d/initdb")"; return 0; fi
  done
  return 1
}

# Single-quotes a word for sh -c.
_pg_cluster_quote() { printf "'%s'" "${1//\'/\'\\\'\'}"; }

# Runs a command as the cluster's owner: `postgres` when we are root, else ourselves.
_pg_cluster_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_cluster_start() {
  local dir=${1:?usage: pg_cluster_start DIR}
  local bin
  if ! bin=$(_pg_cluster_bindir); then
    echo "PostgreSQL server not found: installing Debian's postgresql package" >&2
    # Debian's package would otherwise create and start a system cluster on port 5432: not needed.
    mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/emilia-no-main-cluster.conf
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
    bin=$(_pg_cluster_bindir) || { echo "initdb still not found after installing postgresql" >&2; return 1; }
  fi

  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local pgdata="$dir/pgdata" log="$dir/postgres.log"
  local run="" # prefix of the commands handed to tests
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "no 'postgres' OS user to run the server as" >&2; return 1; }
    chown postgres: "$dir"
    if ! runuser -u postgres -- test -w "$dir"; then
      echo "user postgres cannot reach $dir: give its parent directories o+x" >&2; return 1
    fi
    run="runuser -u postgres -- "
  fi

  # Every server-side command runs from DIR (the caller's directory may be closed to postgres).
  ( cd "$dir" && _pg_cluster_as_owner "$bin/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 --locale=C \
      >"$dir/initdb.log" 2>&1 ) || { echo "initdb failed:" >&2; cat "$dir/initdb.log" >&2; return 1; }

  # A free port can be taken between the probe and the bind: try a few.
  local port attempt
  for attempt in 1 2 3 4 5; do
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    # Settings go to postgresql.conf (the last value of a setting wins), so a plain restart or
    # start keeps them. fsync and synchronous_commit stay on (the defaults): commits are real.
    cat >>"$pgdata/postgresql.conf" <<EOF

# --- throwaway test cluster (scripts/postgres-cluster.sh) ---
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
shared_buffers = 128MB
fsync = on
synchronous_commit = on
max_wal_size = 1GB
logging_collector = off
log_min_messages = warning
EOF
    if ( cd "$dir" && _pg_cluster_as_owner "$bin/pg_ctl" -w -t 60 -D "$pgdata" -l "$log" start >/dev/null ); then
      break
    fi
    if [ "$attempt" -eq 5 ] || ! grep -q 'could not bind\|Address already in use' "$log" 2>/dev/null; then
      echo "PostgreSQL did not start; its log ($log):" >&2; tail -n 30 "$log" >&2; return 1
    fi
  done

  local ctl
  ctl="cd $(_pg_cluster_quote "$dir") && ${run}$(_pg_cluster_quote "$bin/pg_ctl") -w -t 60 -D $(_pg_cluster_quote "$pgdata") -l $(_pg_cluster_quote "$log")"
  export EMILIA_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  export EMILIA_TEST_PG_PORT=$port
  export EMILIA_TEST_PGDATA=$pgdata
  export EMILIA_TEST_PG_CTL=$ctl
  export EMILIA_TEST_PG_RESTART="$ctl -m fast restart >/dev/null"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (data $pgdata, log $log)" >&2
  echo "$port"
}

pg_cluster_stop() {
  local dir=${1:?usage: pg_cluster_stop DIR}
  local bin
  [ -f "$dir/pgdata/postmaster.pid" ] || return 0
  bin=$(_pg_cluster_bindir) || return 0
  ( cd "$dir" && _pg_cluster_as_owner "$bin/pg_ctl" -w -t 30 -D "$dir/pgdata" -m immediate stop ) >/dev/null 2>&1 || true
}
