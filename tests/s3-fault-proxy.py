#!/usr/bin/env python3
"""tests/s3-fault-proxy.py: an HTTP proxy between llmunixfs and s3rver that
makes a share of the requests fail, for tests/t-s3.sh.

Usage: s3-fault-proxy.py UPSTREAM_PORT CONTROL_FILE PORT_FILE LOG_FILE

Listens on a free loopback port (written to PORT_FILE) and forwards each
request unchanged (Host and signed headers included) to 127.0.0.1:
UPSTREAM_PORT. Before each request it reads CONTROL_FILE, one line
"RATE MODE[,MODE...] [STALL_SECONDS]", and fails that share of requests
(exactly: the n-th request fails when floor(n * RATE) grows), taking the
modes in turn:
  500     answers 500 InternalError without forwarding
  503     answers 503 SlowDown with Retry-After: 1 without forwarding
  reset   resets the connection, half the time after forwarding (the
          server did the work, the client never hears of it)
  stall   waits STALL_SECONDS, then closes without an answer
Each injected fault is appended to LOG_FILE as "MODE METHOD PATH".
A request whose body ends before its Content-Length (its client died) is
not forwarded, as S3 stores nothing of it; s3rver would keep what came.

It also checks every request's SigV4 signature (scripts/s3sig.py), which
s3rver does not: a request signed wrong gets 403 SignatureDoesNotMatch
and a line "badsig WHY METHOD PATH"; a right one a line "signed METHOD".
"""
import http.client
import os
import random
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "scripts"))
import s3sig  # noqa: E402

SECRETS = {"S3RVER": "S3RVER"}
UPSTREAM, CONTROL, PORT_FILE, LOG = (int(sys.argv[1]), sys.argv[2],
                                     sys.argv[3], sys.argv[4])
log_lock = threading.Lock()
count = {"requests": 0, "faults": 0}


def control():
    try:
        with open(CONTROL) as f:
            parts = f.read().split()
        return float(parts[0]), parts[1].split(","), float(parts[2]) \
            if len(parts) > 2 else 5.0
    except (OSError, ValueError, IndexError):
        return 0.0, [], 5.0


def note(mode, method, path):
    with log_lock, open(LOG, "a") as f:
        f.write("%s %s %s\n" % (mode, method, path))


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reset(self):
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                   struct.pack("ii", 1, 0))
        self.close_connection = True

    def answer(self, status, reason, extra=()):
        body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s'
                b'</Code><Message>injected by the test proxy</Message>'
                b'</Error>' % reason.encode())
        self.send_response(status, reason)
        for k, v in extra:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def forward(self, body):
        up = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=60)
        up.putrequest(self.command, self.path, skip_host=True,
                      skip_accept_encoding=True)
        for k, v in self.headers.items():
            up.putheader(k, v)
        up.endheaders(body)
        r = up.getresponse()
        data = r.read()
        return r, data

    def handle_one(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        if body is not None and len(body) < length:
            # The client went away mid-body: S3 stores nothing of it
            # (IncompleteBody), where s3rver would keep what came.
            note("incomplete", self.command, self.path)
            self.close_connection = True
            return None
        why = s3sig.check(self.command, self.path,
                          {k.lower(): v for k, v in self.headers.items()},
                          body, SECRETS)
        if why:
            note("badsig", why.replace(" ", "_"), self.command + " " +
                 self.path)
            return self.answer(403, "SignatureDoesNotMatch")
        note("signed", self.command, "-")
        rate, modes, stall = control()
        mode = None
        with log_lock:
            n = count["requests"] = count["requests"] + 1
            if modes and int(n * rate) > int((n - 1) * rate):
                mode = modes[count["faults"] % len(modes)]
                count["faults"] += 1
        if mode:
            note(mode, self.command, self.path)
        if mode == "500":
            return self.answer(500, "InternalError")
        if mode == "503":
            return self.answer(503, "SlowDown", [("Retry-After", "1")])
        if mode == "stall":
            time.sleep(stall)
            self.close_connection = True
            return None
        if mode == "reset" and random.random() < 0.5:
            return self.reset()
        r, data = self.forward(body)
        if mode == "reset":
            return self.reset()
        self.send_response(r.status, r.reason)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "transfer-encoding",
                                 "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        return None

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_one


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Proxy)
    srv.daemon_threads = True
    with open(PORT_FILE + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(PORT_FILE + ".tmp", PORT_FILE)
    srv.serve_forever()


if __name__ == "__main__":
    main()
