"""Posts REQUESTS webhooks over CONNECTIONS keep-alive connections (threads), like bench/post_rotating.lua: a ~1.1 KB
session_complete, tokens rotating per check (4 events a check), a fresh Idempotency-Key each. Exits 1 on any non-200.
    python3 post_load.py BASE_URL PATH_PREFIX TOKENS_FILE REQUESTS CONNECTIONS"""
import http.client
import sys
import threading
import urllib.parse

base, prefix, tokens_file, requests, connections = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
tokens = [line.strip() for line in open(tokens_file) if line.strip()]
with open(__file__.replace("post_load.py", "post_rotating.lua")) as lua:
    source = lua.read()
head = source.split('local head = [[')[1].split(']]')[0]
body = source.split('local body = [[')[1].split(']]')[0]
url = urllib.parse.urlparse(base)
failures = []


def worker(index):
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=120)
    for n in range(index, requests, connections):
        check = n // 4
        token = tokens[check % len(tokens)]
        payload = (head + f"{index}-{check}" + body).encode()
        connection.request("POST", f"{prefix}{token}?env=prod", payload,
                           {"Content-Type": "application/json", "Idempotency-Key": f"{index}-{n}"})
        answer = connection.getresponse()
        answer.read()
        if answer.status != 200:
            failures.append(answer.status)


threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
if failures:
    print(f"{len(failures)} answers were not 200: {sorted(set(failures))}", file=sys.stderr)
    sys.exit(1)
