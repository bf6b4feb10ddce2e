#!/usr/bin/env bash
# Fuzzes EmiliaModel with libFuzzer: builds one instrumented binary for all harnesses, replays the committed
# inputs (Fuzz/corpus/, Fuzz/regressions/ and Fuzz/large/<target>/, which must all pass), then fuzzes each target
# for SECONDS (default 60). Exits non-zero on any failure, printing the input that reproduces it.
#
#   bash scripts/fuzz.sh [SECONDS]            # CI: bash scripts/fuzz.sh 20
#   EMILIA_FUZZ_TARGETS="money json" bash scripts/fuzz.sh 120
#   bash scripts/fuzz.sh 0                    # build + replay only
#
# Everything it writes goes under .build/fuzz/ (git-ignored): the binary, logs, the growing scratch corpus
# (.build/fuzz/corpus/<target>/, reused by the next run) and crash reproducers (.build/fuzz/artifacts/<target>/).
# See Fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "usage: $0 [SECONDS]" >&2; exit 2; }
targets=(${EMILIA_FUZZ_TARGETS:-json validator fold money})
out=.build/fuzz
binary="$out/emilia-fuzz"
# Swift's crash backtracer can hang for minutes on an ASan binary; libFuzzer prints the stack itself.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}handle_abort=1"
mkdir -p "$out/logs"

max_len() { case "$1" in money) echo 512 ;; *) echo 65536 ;; esac; }
dict() { case "$1" in money) echo Fuzz/dict/money.dict ;; *) echo Fuzz/dict/json.dict ;; esac; }

# --- Build (skipped when the binary is newer than every source) -------------------------------------------
sources=(Sources/EmiliaModel/*.swift Fuzz/Sources/*.swift Tests/EmiliaModelTests/FuzzRegressionTests.swift)
if [ ! -x "$binary" ] || [ -n "$(find "${sources[@]}" scripts/fuzz.sh -newer "$binary" 2>/dev/null | head -1)" ]; then
  echo "Building $binary ..."
  started=$(date +%s)
  # Whole-module -O build of the model plus the harness, with libFuzzer and AddressSanitizer. lld, because
  # gold prints hundreds of harmless "Cannot export local symbol" warnings for ASan's symbols.
  if ! swiftc -swift-version 6 -parse-as-library -O -g -sanitize=fuzzer,address -use-ld=lld \
      -D EMILIA_FUZZ -module-name EmiliaFuzz "${sources[@]}" -o "$binary.tmp" >"$out/logs/build.log" 2>&1; then
    cat "$out/logs/build.log" >&2
    echo "fuzz: build failed (if Sources/EmiliaModel is being edited, retry in a minute)" >&2
    exit 2
  fi
  mv "$binary.tmp" "$binary"
  echo "Built in $(( $(date +%s) - started ))s."
fi

# libFuzzer options shared by replay and fuzzing: bounded time per input and memory.
common=(-timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
failures=()

# --- Replay the committed inputs: every one must pass --------------------------------------------------
# Fuzz/large/<target>/ holds inputs too slow to fuzz from (e.g. past the fold's 1,000-line item cap): replayed only.
for target in "${targets[@]}"; do
  inputs=()
  for directory in "Fuzz/corpus/$target" "Fuzz/regressions/$target" "Fuzz/large/$target"; do
    [ -d "$directory" ] && while IFS= read -r file; do inputs+=("$file"); done < <(find "$directory" -type f ! -name '.*' | sort)
  done
  if [ ${#inputs[@]} -eq 0 ]; then echo "replay $target: no inputs"; continue; fi
  log="$out/logs/replay-$target.log"
  if EMILIA_FUZZ_TARGET="$target" "$binary" "${common[@]}" "${inputs[@]}" >"$log" 2>&1; then
    echo "replay $target: ${#inputs[@]} inputs pass"
  else
    culprit=$(grep '^Running: ' "$log" | tail -1 | sed 's/^Running: //')
    echo "replay $target: FAILED on $culprit"
    grep -E 'Fatal error|ERROR: |SUMMARY' "$log" | head -5 | sed 's/^/    /'
    failures+=("$target: committed input $culprit (log: $log)")
  fi
done

# --- Fuzz each target for $seconds ------------------------------------------------------------------------
if [ "$seconds" -gt 0 ]; then
  printf '\n%-10s %12s %8s %8s %8s  %s\n' target executions cov ft corpus result
  for target in "${targets[@]}"; do
    corpus="$out/corpus/$target"
    artifacts="$out/artifacts/$target/"
    mkdir -p "$corpus" "$artifacts"
    seeds=("Fuzz/corpus/$target")
    [ -d "Fuzz/regressions/$target" ] && seeds+=("Fuzz/regressions/$target")
    log="$out/logs/fuzz-$target.log"
    status=0
    # New interesting inputs go to the first directory (the scratch corpus); the committed ones are only read.
    # In CI a fixed seed (EMILIA_FUZZ_SEED, 1 by default there) makes a failing run repeat; elsewhere 0 (random).
    EMILIA_FUZZ_TARGET="$target" "$binary" "${common[@]}" -seed="${EMILIA_FUZZ_SEED:-$([ -n "${CI:-}" ] && echo 1 || echo 0)}" \
      -max_total_time="$seconds" -max_len="$(max_len "$target")" \
      -dict="$(dict "$target")" -artifact_prefix="$artifacts" "$corpus" "${seeds[@]}" >"$log" 2>&1 || status=$?
    executions=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    progress=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$progress")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$progress")
    units=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$progress")
    if [ "$status" -eq 0 ]; then
      result="ok, no crash"
    else
      reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
      result="CRASH: ${reproducer:-see $log}"
      failures+=("$target: ${reproducer:-no reproducer written} (log: $log)")
    fi
    printf '%-10s %12s %8s %8s %8s  %s\n' "$target" "${executions:-?}" "${cov:-?}" "${ft:-?}" "${units:-?}" "$result"
    if [ "$status" -ne 0 ]; then
      grep -E 'Fatal error|ERROR: (libFuzzer|AddressSanitizer)|SUMMARY' "$log" | head -4 | sed 's/^/    /'
    fi
  done
fi

if [ ${#failures[@]} -gt 0 ]; then
  echo
  echo "fuzz: ${#failures[@]} failure(s):"
  printf '  %s\n' "${failures[@]}"
  echo "Reproduce with: EMILIA_FUZZ_TARGET=<target> $binary <input>"
  echo "Then save the input as Fuzz/regressions/<target>/<short-name> (see Fuzz/README.md)."
  exit 1
fi
echo
echo "fuzz: all targets pass."
