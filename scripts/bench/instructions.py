#!/usr/bin/env python3
"""Instructions per request, counted by QEMU user mode with scripts/bench/insn_counter.c (see
scripts/bench-instructions.sh, which builds both and calls this).

    instructions.py PLUGIN EMILIA_BINARY WORKDIR [POSTS] [DATABASE_URL]

Starts `emilia serve` under qemu-x86_64 with the counting plugin, warms it up, then posts POSTS events (default
2,000) to the durable route, POSTS to the no-op route and POSTS to the unstored route (all but the store), each phase
between two snapshots taken once the server is idle again (so the folding and checkpoints a post causes count too).
Prints instructions per request for the three routes, then where the durable route's instructions go: by module (Swift module, or library for C code) and the top
functions by their own instructions (QEMU sees blocks, not calls: there is no inclusive cost).
"""
import bisect
import collections
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time

PLUGIN, BINARY, WORK = sys.argv[1], sys.argv[2], sys.argv[3]
POSTS = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
DATABASE_URL = sys.argv[5] if len(sys.argv) > 5 else ""
CLIENTS = 8
TOKENS = 20
ADMIN_KEY = "bench-admin-key-0123456789abcdefghij"

BODY = (
    '{"event":"session_complete","order_id":"ORD-INSN-%s","table_number":"Mesa 8","guests":4,'
    '"timestamp":"2025-11-24T20:15:00-03:00","session_start":"2025-11-24T18:30:00-03:00",'
    '"session_end":"2025-11-24T20:15:00-03:00","opened_by":{"id":72,"name":"Joao Silva"},'
    '"closed_by":{"id":96,"name":"Maria Santos"},"items":['
    '{"timestamp":"2025-11-24T18:35:00-03:00","employee_id":72,"name":"Focaccia","quantity":1,"price":19.00},'
    '{"timestamp":"2025-11-24T18:35:00-03:00","employee_id":72,"name":"Caipirinha","quantity":2,"price":28.00},'
    '{"timestamp":"2025-11-24T19:02:00-03:00","employee_id":72,"name":"Risoto de Cogumelos","quantity":2,"price":89.00},'
    '{"timestamp":"2025-11-24T19:02:00-03:00","employee_id":72,"name":"Picanha","quantity":1,"price":112.00},'
    '{"timestamp":"2025-11-24T19:48:00-03:00","employee_id":96,"name":"Pudim","quantity":2,"price":24.00}],'
    '"totals":{"subtotal":413.00,"tip":53.69,"tax":41.30,"total":507.99}}'
)


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(port, method, path, body=None, headers=None, timeout=120):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


SERVER = None  # the qemu process, once started


def check_server():
    if SERVER is not None and SERVER.poll() is not None:
        sys.exit(f"the server under qemu exited ({SERVER.returncode}): see server.log in the work directory")


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        check_server()
        if predicate():
            return
        time.sleep(0.2)
    sys.exit(f"timed out waiting for {what}")


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_idle(pid):
    """Until the server used under 5 % of a core over a second: its folding and checkpoints have run."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        check_server()
        before = cpu_seconds(pid)
        time.sleep(1)
        if cpu_seconds(pid) - before < 0.05:
            return
    sys.exit("the server did not go idle within 300 s")


def post_all(port, prefix, tokens, run, count):
    """`count` posts spread over CLIENTS keep-alive connections; every one must answer 200."""
    failures = []

    def client(number):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        try:
            for n in range(number, count, CLIENTS):
                check = n // 4  # four events per check, as a real check has
                token = tokens[check % len(tokens)]
                headers = {"Content-Type": "application/json", "Idempotency-Key": f"{run}-{n}"}
                connection.request("POST", f"{prefix}{token}?env=prod", body=BODY % f"{run}-{check}", headers=headers)
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(response.status)
        except OSError as error:  # every post must be answered: a lost one would skew the count per request
            failures.append(type(error).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        sys.exit(f"{len(failures)} posts to {prefix} were not answered 200: {collections.Counter(failures)}")


class Counter:
    """The plugin's control FIFO: each snapshot is cumulative instructions per block address."""

    def __init__(self, directory):
        self.fifo = os.path.join(directory, "control")
        self.prefix = os.path.join(directory, "snapshot")
        self.taken = 0
        os.mkfifo(self.fifo)

    def snapshot(self):
        number = self.taken
        self.taken += 1
        # Non-blocking: the open fails (ENXIO) rather than hang while the plugin's reader is not there.
        deadline = time.monotonic() + 60
        while True:
            check_server()
            try:
                descriptor = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("the counting plugin does not read its control FIFO")
                time.sleep(0.1)
        os.write(descriptor, b"snapshot\n")
        os.close(descriptor)
        done = f"{self.prefix}.{number}.done"
        wait_until(lambda: os.path.exists(done), 120, "the plugin's snapshot")
        blocks = collections.Counter()
        with open(f"{self.prefix}.{number}.blocks") as f:
            for line in f:
                address, instructions = line.split()
                blocks[int(address, 16)] += int(instructions)
        return blocks, open(f"{self.prefix}.{number}.maps").read()


class Symbolizer:
    """Guest address -> (module, function), from the process map and each file's symbol table."""

    def __init__(self, maps):
        self.regions = []  # (start, end, file offset, path)
        for line in maps.splitlines():
            parts = line.split(None, 5)
            if len(parts) == 6 and parts[5].startswith("/"):
                start, end = (int(x, 16) for x in parts[0].split("-"))
                self.regions.append((start, end, int(parts[2], 16), parts[5]))
        self.regions.sort()
        self.starts = [r[0] for r in self.regions]
        self.files = {}

    def _file(self, path):
        """The file's load segments and sorted function symbols: from its separate debug file when one is installed
        (libc), else its own table; a stripped library has only its exported symbols, and those names are marked "~"
        (a static function is counted under the exported one before it)."""
        if path not in self.files:
            segments = []
            for line in subprocess.run(["readelf", "-lW", path], capture_output=True, text=True).stdout.splitlines():
                fields = line.split()
                if fields[:1] == ["LOAD"]:
                    segments.append((int(fields[1], 16), int(fields[2], 16), int(fields[4], 16)))
            notes = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
            build_id = re.search(r"Build ID: ([0-9a-f]+)", notes)
            debug_file = build_id and f"/usr/lib/debug/.build-id/{build_id[1][:2]}/{build_id[1][2:]}.debug"
            symbols = {}
            for source, flags, mark in ((debug_file, [], ""), (path, [], ""), (path, ["-D"], "~")):
                if symbols or not source or not os.path.exists(source):
                    continue
                out = subprocess.run(["nm", *flags, "-n", "--defined-only", source], capture_output=True, text=True).stdout
                for line in out.splitlines():
                    fields = line.split()
                    if len(fields) == 3 and fields[1] in "TtWw":
                        symbols.setdefault(int(fields[0], 16), mark + fields[2])
            addresses = sorted(symbols)
            self.files[path] = (segments, addresses, [symbols[a] for a in addresses])
        return self.files[path]

    def __call__(self, address):
        index = bisect.bisect_right(self.starts, address) - 1
        if index < 0 or address >= self.regions[index][1]:
            return "?", "?"
        start, _, offset, path = self.regions[index]
        segments, addresses, names = self._file(path)
        file_offset = address - start + offset
        elf_address = next((file_offset - o + v for o, v, size in segments if o <= file_offset < o + size), file_offset)
        at = bisect.bisect_right(addresses, elf_address) - 1
        return os.path.basename(path), names[at] if at >= 0 else "?"


def demangle(names):
    """Readable names, Swift's and C++'s; a "~" mark stays in front."""
    bare = [name.lstrip("~") for name in names]
    swift = subprocess.run(
        ["swift", "demangle", "--simplified", "--compact"], input="\n".join(bare), capture_output=True, text=True
    ).stdout.splitlines()
    if len(swift) != len(bare):
        swift = bare
    plain = subprocess.run(["c++filt"], input="\n".join(swift), capture_output=True, text=True).stdout.splitlines()
    return {name: ("~" if name.startswith("~") else "") + shown for name, shown in zip(names, plain)}


def module_of(mangled, library):
    """The Swift module a function belongs to (its mangled name starts with it), else its library (C code: SQLite,
    libc, the Swift runtime)."""
    match = re.match(r"_?\$s(\d+)([A-Za-z_]\w*)", mangled)
    return match.group(2)[: int(match.group(1))] if match else library


def main():
    os.makedirs(WORK, exist_ok=True)
    counter = Counter(WORK)
    port = free_port()
    env = dict(os.environ, EMILIA_ADMIN_KEY=ADMIN_KEY, EMILIA_RATE_LIMIT="1000000", EMILIA_RATE_BURST="1000000",
               EMILIA_LOG_LEVEL="warning")
    if DATABASE_URL:
        env["EMILIA_DATABASE_URL"] = DATABASE_URL
    log = open(os.path.join(WORK, "server.log"), "w")
    global SERVER
    server = SERVER = subprocess.Popen(
        ["qemu-x86_64", "-plugin", f"{PLUGIN},control={counter.fifo},output={counter.prefix}", BINARY, "serve",
         "--port", str(port), "--data-dir", os.path.join(WORK, "data"), "--bench-routes"],
        stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        def up():
            try:
                return request(port, "GET", "/health", timeout=5)[0] == 200
            except OSError:
                return False

        wait_until(up, 300, "the server under qemu")
        tokens = []
        for i in range(TOKENS):
            status, body = request(port, "POST", "/api/v1/tokens", body=json.dumps({"name": f"Insn {i}"}),
                                   headers={"Authorization": f"Bearer {ADMIN_KEY}", "Content-Type": "application/json"})
            if status != 201 and status != 200:
                sys.exit(f"token creation answered {status}: {body[:200]!r}")
            tokens.append(json.loads(body)["token"])
        run = str(time.time_ns())
        warm_up = max(POSTS // 4, 200)
        post_all(port, "/webhooks/v1/pos/", tokens, run + "w", warm_up)
        post_all(port, "/noop/webhooks/v1/pos/", tokens, run + "w", warm_up)
        post_all(port, "/unstored/webhooks/v1/pos/", tokens, run + "w", warm_up)
        phases = []
        wait_idle(server.pid)
        before, _ = counter.snapshot()
        routes = (("durable", "/webhooks/v1/pos/"), ("no-op", "/noop/webhooks/v1/pos/"),
                  ("unstored", "/unstored/webhooks/v1/pos/"))
        for name, prefix in routes:
            started = time.monotonic()
            post_all(port, prefix, tokens, run + name, POSTS)
            seconds = time.monotonic() - started
            wait_idle(server.pid)
            after, maps = counter.snapshot()
            phases.append((name, after - before, maps, seconds))
            before = after
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()

    print(f"\n{POSTS} posts per route, {CLIENTS} connections, under qemu-x86_64 (user mode, TCG plugin)")
    totals = {name: sum(delta.values()) / POSTS for name, delta, _, _ in phases}
    for name, delta, _, seconds in phases:
        print(f"  {name:8} {totals[name]:>12,.0f} instructions per request   ({POSTS / seconds:.0f} req/s under emulation)")
    print(f"  durable / no-op: {totals['durable'] / totals['no-op']:.2f}x; unstored (all but the store) / no-op: "
          f"{totals['unstored'] / totals['no-op']:.2f}x; the store's share of a durable request: "
          f"{1 - totals['unstored'] / totals['durable']:.0%}")

    symbolize = Symbolizer("".join(maps for _, _, maps, _ in phases))
    names = {}
    by_module = {}
    by_function = {}
    for name, delta, _, _ in phases:
        functions = collections.Counter()
        modules = collections.Counter()
        for address, instructions in delta.items():
            library, function = symbolize(address)
            functions[function] += instructions
            modules[module_of(function.lstrip("~"), library)] += instructions
        by_function[name] = functions
        by_module[name] = modules
        unresolved = functions["?"] / max(sum(delta.values()), 1)
        if unresolved > 0.05:  # guest addresses no longer match the host's map (a guest base, -B)
            sys.exit(f"{unresolved:.0%} of the {name} route's instructions are outside every mapped file")
    names = demangle(list(set().union(*by_function.values())))
    if os.environ.get("DUMP"):  # every function's instructions per request on both routes, for diffs between builds
        with open(os.environ["DUMP"], "w") as dump:
            json.dump({route: {names.get(f, f): n / POSTS for f, n in functions.items()}
                       for route, functions in by_function.items()}, dump)
    print("\nBy module, instructions per request (a function's own instructions; C code under its library):")
    print(f"  {'durable':>10} {'unstored':>10} {'no-op':>10} {'extra':>10}  module (extra: durable - no-op)")
    for module, instructions in by_module["durable"].most_common(18):
        noop, unstored = by_module["no-op"][module], by_module["unstored"][module]
        print(f"  {instructions / POSTS:>10,.0f} {unstored / POSTS:>10,.0f} {noop / POSTS:>10,.0f} "
              f"{(instructions - noop) / POSTS:>10,.0f}  {module}")
    print("\nDurable route, top functions by their own instructions per request (~: a stripped library's nearest")
    print("exported symbol, which may stand for static functions after it):")
    total = sum(by_function["durable"].values())
    for function, instructions in by_function["durable"].most_common(int(os.environ.get("TOP", "30"))):
        shown = names.get(function, function)
        shown = shown if len(shown) <= 110 else shown[:107] + "..."
        print(f"  {instructions / POSTS:>10,.0f}  {instructions / total:5.1%}  {shown}")

main()
