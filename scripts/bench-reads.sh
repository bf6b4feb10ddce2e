#!/usr/bin/env bash
# Read benchmark: loads a data dir with generated history (default ~1M events: 50 restaurants × 90 days,
# ≈300k sessions) through the real store and writer, then times the day's session list and the day's
# analytics over random restaurant-days against /health (the HTTP floor) measured in the same run.
# Targets on a 2-core machine: session list median ≤ 50 ms, analytics median ≤ 200 ms.
# Usage: scripts/bench-reads.sh [RESTAURANTS] [DAYS] [SESSIONS_PER_DAY]   (KEEP_DATA=dir reuses a loaded dir)
set -euo pipefail
cd "$(dirname "$0")/.."
restaurants=${1:-50}
days=${2:-90}
per_day=${3:-67}
if [ -n "${EMILIA_BIN:-}" ]; then emilia=$EMILIA_BIN; else
  swift build -c release --product emilia >/dev/null; emilia=.build/release/emilia; fi
data=${KEEP_DATA:-$(mktemp -d /tmp/emilia-reads.XXXXXX)}
pid=""
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true; [ -z "${KEEP_DATA:-}" ] && rm -rf "$data"; }
trap cleanup EXIT

if [ ! -f "$data/emilia.sqlite3" ]; then
  echo "Loading $restaurants restaurants × $days days × ~$per_day sessions into $data …"
  /usr/bin/time -f "load: %e s, max RSS %M KB" "$emilia" seed --data-dir "$data" --restaurants "$restaurants" \
    --days "$days" --sessions-per-day "$per_day"
fi
ls -l "$data/emilia.sqlite3" | awk '{printf "database: %.0f MB\n", $5/1048576}'

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
key="reads-bench-admin-key-0123456789"
EMILIA_ADMIN_KEY=$key EMILIA_LOG_LEVEL=warning "$emilia" serve --port "$port" --data-dir "$data" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/health" && break; sleep 0.1; done

python3 - "$port" "$key" "$days" <<'PY'
import json, random, statistics, sys, time, urllib.request
port, key, days = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = f"http://127.0.0.1:{port}"
def get(path):
    request = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {key}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request) as response:
        body = response.read()
    return (time.perf_counter() - started) * 1000, body
tokens = json.loads(get("/api/v1/tokens")[1])["tokens"]
random.seed(7)
def sample():
    token = random.choice(tokens)["id"]
    day = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400 * random.randint(1, days)))
    return token, day
def measure(label, make_path, runs=200):
    times, sizes = [], []
    for _ in range(runs):
        elapsed, body = get(make_path())
        times.append(elapsed); sizes.append(len(body))
    times.sort()
    median, p95 = statistics.median(times), times[int(len(times) * 0.95) - 1]
    print(f"{label:<28} median {median:7.2f} ms   p95 {p95:7.2f} ms   answer ~{statistics.median(sizes)/1024:.0f} KB")
    return median
for _ in range(20): get("/health")
floor = measure("GET /health (floor)", lambda: "/health")
def sessions_path():
    token, day = sample(); return f"/api/v1/sessions?token_id={token}&env=prod&date={day}"
def analytics_path():
    token, day = sample(); return f"/api/v1/analytics?token_id={token}&env=prod&date={day}"
token, day = sample()
count = len(json.loads(get(sessions_path())[1])["sessions"])
sessions = measure("GET /api/v1/sessions (day)", sessions_path)
analytics = measure("GET /api/v1/analytics (day)", analytics_path)
print(f"sessions in a sampled day: {count}")
print(f"session list: {sessions:.1f} ms median (target ≤ 50): {sessions / floor:.1f}x the /health floor")
print(f"analytics:    {analytics:.1f} ms median (target ≤ 200): {analytics / floor:.1f}x the /health floor")
PY
