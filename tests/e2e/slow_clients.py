"""Holds 500 idle or slow connections to a vault and times GET /v1/health.

Used by vault_slow_clients_test.sh. Opens, in this order: IDLE TCP
connections that send nothing, HALF connections that send a TLS
ClientHello and never finish the handshake, BODY connections that send the
headers of a PUT and then one body byte a second, and HEADER connections
(slowloris) that send a request line and then one header line every 3 s.
Then it times fresh GET /v1/health requests, and keeps feeding the slow
ones until every connection is closed by the vault or LIMIT seconds pass.
Prints one JSON object: health latencies, and per kind how many were cut
and the longest time from a connection's first byte to its cut.
Usage: slow_clients.py PORT CA TOKEN LIMIT
"""
import json
import select
import socket
import ssl
import sys
import time

IDLE, HALF, BODY, HEADER = 200, 100, 100, 100

port, ca, token, limit = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
ctx = ssl.create_default_context(cafile=ca)


def tcp():
    return socket.create_connection(("127.0.0.1", port))


conns = []  # dicts: kind, sock (raw socket to watch), tls (to write to), start, next, cut
for _ in range(IDLE):
    conns.append({"kind": "idle", "sock": tcp(), "start": time.monotonic()})
for _ in range(HALF):
    raw = tcp()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname="127.0.0.1")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    raw.sendall(outgoing.read())  # the ClientHello; the server's answer is never read
    conns.append({"kind": "half", "sock": raw, "start": time.monotonic(), "keep": obj})
for _ in range(BODY):
    s = ctx.wrap_socket(tcp(), server_hostname="127.0.0.1")
    s.sendall((f"PUT /v1/repos/acme/main/data/{'a' * 64} HTTP/1.1\r\nHost: x\r\n"
               f"Authorization: Bearer {token}\r\nContent-Length: 100000\r\n\r\n").encode())
    conns.append({"kind": "body", "sock": s, "start": time.monotonic(), "every": 1.0,
                  "piece": b"x"})
for _ in range(HEADER):
    s = ctx.wrap_socket(tcp(), server_hostname="127.0.0.1")
    s.sendall(b"GET /v1/health HTTP/1.1\r\n")
    conns.append({"kind": "header", "sock": s, "start": time.monotonic(), "every": 3.0,
                  "piece": b"X-Slow: 1\r\n"})
for c in conns:
    c["sock"].setblocking(False)
    c["next"] = c["start"] + c.get("every", 0)
    c["cut"] = None


def watch(now):
    """Marks the connections the vault closed; feeds the slow ones."""
    live = [c for c in conns if c["cut"] is None]
    readable, _, _ = select.select([c["sock"] for c in live], [], [], 0)
    ready = set(readable)
    for c in live:
        if c["sock"] in ready:
            try:
                data = c["sock"].recv(65536)
                if not data:
                    c["cut"] = now
            except (ssl.SSLWantReadError, BlockingIOError):
                pass
            except (OSError, ssl.SSLError):
                c["cut"] = now
        if c["cut"] is None and "every" in c and now >= c["next"]:
            try:
                c["sock"].send(c["piece"])
            except (ssl.SSLWantWriteError, BlockingIOError):
                pass
            except (OSError, ssl.SSLError):
                c["cut"] = now
            c["next"] = now + c["every"]


def health():
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            got = b""
            while True:
                piece = s.recv(4096)
                if not piece:
                    break
                got += piece
    if not got.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"health answered {got[:60]!r}")
    return time.monotonic() - start


watch(time.monotonic())
open_at_health = sum(1 for c in conns if c["cut"] is None)
latencies = []
for _ in range(10):
    latencies.append(health())
    watch(time.monotonic())
    time.sleep(0.1)
end = time.monotonic() + limit
while time.monotonic() < end and any(c["cut"] is None for c in conns):
    watch(time.monotonic())
    time.sleep(0.05)
kinds = {}
for c in conns:
    k = kinds.setdefault(c["kind"], {"count": 0, "cut": 0, "longest_s": 0.0})
    k["count"] += 1
    if c["cut"] is not None:
        k["cut"] += 1
        k["longest_s"] = round(max(k["longest_s"], c["cut"] - c["start"]), 2)
print(json.dumps({"open_at_health": open_at_health,
                  "health_ms": [round(x * 1000, 1) for x in latencies],
                  "kinds": kinds}))
