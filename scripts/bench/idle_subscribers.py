"""Holds COUNT idle /api/v1/stream subscribers open for SECONDS while the caller measures the server's CPU, then posts
one event and reports how long it took to reach every subscriber. Prints "connected N" once all are subscribed
(the caller starts measuring then) and, at the end, "delivered N/COUNT max_ms P".
    python3 idle_subscribers.py BASE_URL ADMIN_KEY TOKEN_ID TOKEN COUNT SECONDS"""
import json
import selectors
import socket
import sys
import time
import urllib.parse
import urllib.request

base, admin_key, token_id, token, count, seconds = sys.argv[1:7]
count, seconds = int(count), float(seconds)
url = urllib.parse.urlparse(base)
selector = selectors.DefaultSelector()
buffers = {}
request = (f"GET /api/v1/stream?token_id={token_id}&env=dev HTTP/1.1\r\nHost: {url.hostname}\r\n"
           f"Authorization: Bearer {admin_key}\r\nAccept: text/event-stream\r\n\r\n").encode()
for _ in range(count):
    connection = socket.create_connection((url.hostname, url.port))
    connection.sendall(request)
    connection.setblocking(False)
    selector.register(connection, selectors.EVENT_READ)
    buffers[connection] = b""


def pump(until, done):
    """Reads what arrives until `until` (a monotonic time) or until done() holds."""
    while time.monotonic() < until and not done():
        for key, _ in selector.select(timeout=0.05):
            data = key.fileobj.recv(65536)
            if not data:
                raise SystemExit("a subscriber's connection closed")
            buffers[key.fileobj] += data


# Subscribed: every stream has answered (its headers and the `retry:` line).
pump(time.monotonic() + 60, lambda: all(b"retry:" in b for b in buffers.values()))
if not all(b"retry:" in b for b in buffers.values()):
    raise SystemExit("not every subscriber was answered within 60 s")
print(f"connected {count}", flush=True)
pump(time.monotonic() + seconds, lambda: False)  # idle: the caller measures the server's CPU meanwhile
for connection in buffers:
    buffers[connection] = b""

body = json.dumps({"event": "connection_test", "note": "idle subscribers"}).encode()
started = time.monotonic()
answer = urllib.request.urlopen(urllib.request.Request(f"{base}/webhooks/v1/pos/{token}?env=dev", data=body,
                                                       headers={"Content-Type": "application/json"}))
answer.read()
arrived = {}


def all_arrived():
    for connection, data in buffers.items():
        if connection not in arrived and b"data:" in data:
            arrived[connection] = time.monotonic() - started
    return len(arrived) == count


pump(started + 10, all_arrived)
all_arrived()
latest = max(arrived.values()) * 1000 if arrived else float("nan")
print(f"delivered {len(arrived)}/{count} max_ms {latest:.0f}", flush=True)
