#!/usr/bin/env bash
# Runs Emilia's whole test suite from a clean checkout: installs what the tests need when it is
# missing (Debian packages), builds everything once, then runs every suite.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/postgres-cluster.sh  # pg_cluster_start / pg_cluster_stop

need_packages=()
[ -f /usr/include/sqlite3.h ] || need_packages+=(libsqlite3-dev)
[ -f /usr/include/zlib.h ] || need_packages+=(zlib1g-dev)  # gzip-compressed webhook bodies
python3 -c 'import ensurepip, venv' 2>/dev/null || need_packages+=(python3-venv)  # schemathesis (openapi-check.sh)
# The dashboard's browser tests drive Debian's headless Chromium through chromedriver.
[ -x /usr/bin/chromium ] || need_packages+=(chromium)
[ -x /usr/bin/chromedriver ] || need_packages+=(chromium-driver)
if [ ${#need_packages[@]} -gt 0 ]; then
  echo "Installing: ${need_packages[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_packages[@]}"
fi

# The tree stays formatted as .swift-format says (`swift format format -i -r Sources Tests Package.swift` fixes it).
swift format lint --strict --recursive Sources Tests Package.swift

swift build --build-tests

# Every temporary file and child process of the run lives under one directory, removed at the end (also when a
# test fails or the run is interrupted): the suite leaves nothing behind.
scratch=$(mktemp -d /tmp/emilia-test-run.XXXXXX)
chmod 711 "$scratch"  # the PostgreSQL server runs as user postgres, in a directory under it
cleanup() {
  pg_cluster_stop "$scratch/postgres"  # first: the pkill below would kill only its postmaster
  pkill -KILL -f -- "$scratch" 2>/dev/null || true  # emilia serve and chromium children (their paths are in it)
  pkill -KILL -f -- "chromedriver --port=0" 2>/dev/null || true  # the browser tests' driver
  grep -q " $scratch/" /proc/mounts 2>/dev/null && grep " $scratch/" /proc/mounts | awk '{print $2}' | xargs -r umount -l
  rm -rf "$scratch"
}
trap cleanup EXIT
export TMPDIR="$scratch"

# A throwaway PostgreSQL cluster for both phases: the PostgreSQL backend's tests read
# EMILIA_TEST_POSTGRES_URL (and EMILIA_TEST_PG_RESTART, EMILIA_TEST_PG_CTL, EMILIA_TEST_PGDATA).
pg_cluster_start "$scratch/postgres" >/dev/null

# Suites that load the machine (thousands of posts, a full disk, large bodies, real emilia serve processes) or
# measure wall-clock bounds run after the others, one at a time, so neither disturbs the rest.
heavy='LatencyBoundTests|MutatedPayloadTests|StorageFaultTests|CrashRecoveryTests|MultiNodeTests'
log="$scratch/swift-test.log"
swift test --skip-build --skip "$heavy" "$@" 2>&1 | tee "$log"
swift test --skip-build --no-parallel --filter "$heavy" "$@" 2>&1 | tee -a "$log"

# The suite checks itself: a run that found fewer tests than the floor kept in the repo fails (a filter passed
# to this script, a toolchain that skips Swift Testing, a test target that silently stopped compiling…).
ran=$(grep -oE 'Test run with [0-9]+ tests?' "$log" | grep -oE '[0-9]+' | awk '{ total += $1 } END { print total + 0 }')
floor=$(cat Tests/test-count-floor)
echo "Tests run: $ran (floor $floor)"
if [ $# -eq 0 ] && [ "$ran" -lt "$floor" ]; then
  echo "FAIL: $ran tests ran, fewer than the floor of $floor in Tests/test-count-floor" >&2
  exit 1
fi
bash scripts/fuzz.sh 20  # corpus replay + 20 s per fuzz target (Fuzz/README.md)
bash scripts/openapi-check.sh  # schemathesis against a real server, from its OpenAPI document
