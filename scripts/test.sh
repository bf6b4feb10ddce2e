#!/usr/bin/env bash
# Runs Emilia's whole test suite from a clean checkout: installs what the tests need when it is
# missing (Debian packages), builds everything once, then runs every suite.
set -euo pipefail
cd "$(dirname "$0")/.."

need_packages=()
[ -f /usr/include/sqlite3.h ] || need_packages+=(libsqlite3-dev)
# The dashboard's browser tests drive Debian's headless Chromium through chromedriver.
[ -x /usr/bin/chromium ] || need_packages+=(chromium)
[ -x /usr/bin/chromedriver ] || need_packages+=(chromium-driver)
if [ ${#need_packages[@]} -gt 0 ]; then
  echo "Installing: ${need_packages[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_packages[@]}"
fi

swift build --build-tests
# Suites that load the machine (thousands of posts, a full disk, large bodies) or measure wall-clock bounds run
# after the others, one at a time, so neither disturbs the rest.
heavy='LatencyBoundTests|MutatedPayloadTests|StorageFaultTests'
swift test --skip-build --skip "$heavy" "$@"
swift test --skip-build --no-parallel --filter "$heavy" "$@"
