#!/usr/bin/env python3
"""Many-connection load: N connections held open, each sending one request per second.

Opens N (default 10,000) TCP connections to a Redis-protocol server, keeps them all open, lets
them sit idle, then has every connection send one request per second for D seconds (default 20),
spread evenly over each second. Reports connect failures, request failures (error replies,
timeouts, closed connections), latency percentiles, and -- given the server's --pid -- the
server's RSS before connecting, with every connection idle, and per idle connection.

Single process, single thread, epoll via the selectors module, non-blocking sockets, Python 3
standard library only. Loopback only: the host must be a loopback address.

    scripts/conn_load.py --port 6379 --pid "$(pidof redis-server)"
    scripts/conn_load.py --port 6380 -n 2000 -d 5 --command set --json out.json

Latency is measured from just before send() to the loop iteration that reads the complete reply,
so it includes this client's own scheduling delay (the same for every server measured).
"""

import argparse
import errno
import ipaddress
import json
import math
import os
import resource
import selectors
import socket
import sys
import time

PING = b"*1\r\n$4\r\nPING\r\n"


def rss_kib(pid):
    """VmRSS of a process in KiB, or None."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def resp_command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def reply_length(buf):
    """Length of the first complete simple/error/integer/bulk reply in buf, 0 if incomplete,
    -1 if it is not one of those (this tool only sends commands answered by those types)."""
    if not buf:
        return 0
    end = buf.find(b"\r\n")
    if end < 0:
        return 0
    kind = buf[:1]
    if kind in (b"+", b"-", b":", b"_"):
        return end + 2
    if kind == b"$":
        try:
            n = int(buf[1:end])
        except ValueError:
            return -1
        if n < 0:
            return end + 2
        total = end + 2 + n + 2
        return total if len(buf) >= total else 0
    return -1


class Conn:
    __slots__ = ("idx", "sock", "state", "buf", "sent_at", "request", "expect_prefix", "error")

    def __init__(self, idx, sock, request, expect_prefix):
        self.idx = idx
        self.sock = sock
        self.state = "connecting"  # connecting | open | failed
        self.buf = b""
        self.sent_at = None  # monotonic time of the outstanding request, or None
        self.request = request
        self.expect_prefix = expect_prefix
        self.error = None


class Load:
    def __init__(self, args):
        self.a = args
        self.sel = selectors.DefaultSelector()
        self.conns = []
        self.stats = {
            "connect_ok": 0,
            "connect_failed": 0,
            "connect_errors": {},
            "closed_by_server": 0,
            "unexpected_data_while_idle": 0,
            "requests_sent": 0,
            "replies_ok": 0,
            "error_replies": 0,
            "error_samples": [],
            "timeouts": 0,
            "skipped_sends_reply_pending": 0,
        }
        self.latencies = []
        self.samples = []  # (send time, latency), for --samples

    # -- helpers ----------------------------------------------------------------------------
    def fail(self, c, reason, counter):
        if c.state == "failed":
            return
        if c.state == "open" or c.state == "connecting":
            try:
                self.sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
        c.sock.close()
        c.state = "failed"
        c.error = reason
        c.sent_at = None
        if counter == "connect":
            self.stats["connect_failed"] += 1
            errs = self.stats["connect_errors"]
            errs[reason] = errs.get(reason, 0) + 1
        elif counter:
            self.stats[counter] += 1

    def request_for(self, i):
        cmd = self.a.command
        key = b"conn-load:%d" % i
        if cmd == "ping":
            return PING, b"+PONG\r\n"
        if cmd == "set":
            return resp_command(b"SET", key, b"x" * self.a.value_size), b"+OK\r\n"
        if cmd == "get":
            return resp_command(b"GET", key), b"$"
        raise ValueError(cmd)

    # -- phase 1: connect -------------------------------------------------------------------
    def connect_all(self):
        a = self.a
        addr = (a.host, a.port)
        pending = {}  # fd -> (conn, started)
        next_idx = 0
        t0 = time.monotonic()
        while next_idx < a.connections or pending:
            while next_idx < a.connections and len(pending) < a.connect_batch:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                req, exp = self.request_for(next_idx)
                c = Conn(next_idx, s, req, exp)
                self.conns.append(c)
                next_idx += 1
                rc = s.connect_ex(addr)
                if rc not in (0, errno.EINPROGRESS):
                    self.fail(c, errno.errorcode.get(rc, str(rc)), "connect")
                    continue
                self.sel.register(s, selectors.EVENT_WRITE, c)
                pending[s.fileno()] = (c, time.monotonic())
            for key, _ in self.sel.select(timeout=0.05):
                c = key.data
                if c.state != "connecting":
                    continue
                pending.pop(c.sock.fileno(), None)
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    self.fail(c, errno.errorcode.get(err, str(err)), "connect")
                    continue
                c.state = "open"
                self.stats["connect_ok"] += 1
                self.sel.modify(c.sock, selectors.EVENT_READ, c)
            now = time.monotonic()
            for fd, (c, started) in list(pending.items()):
                if now - started > a.connect_timeout:
                    del pending[fd]
                    self.fail(c, "connect timeout", "connect")
        return time.monotonic() - t0

    # -- reading ----------------------------------------------------------------------------
    def on_readable(self, c, now, idle):
        try:
            data = c.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self.fail(c, e.strerror or str(e), "closed_by_server")
            return
        if not data:
            self.fail(c, "closed by server", "closed_by_server")
            return
        if idle or c.sent_at is None:
            # The server spoke unprompted: e.g. "-ERR max number of clients reached" then close.
            self.stats["unexpected_data_while_idle"] += 1
            if len(self.stats["error_samples"]) < 5:
                self.stats["error_samples"].append(data[:200].decode("latin-1"))
            self.fail(c, "unexpected data", None)
            return
        c.buf += data
        n = reply_length(c.buf)
        if n == 0:
            return
        reply, c.buf = c.buf[: max(n, 0)], c.buf[max(n, 0):]
        self.latencies.append(now - c.sent_at)
        if self.a.samples:
            self.samples.append((c.sent_at, now - c.sent_at))
        c.sent_at = None
        if n > 0 and reply.startswith(c.expect_prefix):
            self.stats["replies_ok"] += 1
        else:
            self.stats["error_replies"] += 1
            if len(self.stats["error_samples"]) < 5:
                self.stats["error_samples"].append((reply or data[:200]).decode("latin-1"))
            if n < 0:
                self.fail(c, "unparsable reply", None)

    def pump(self, timeout, idle=False):
        for key, _ in self.sel.select(timeout=timeout):
            c = key.data
            if c.state == "open":
                self.on_readable(c, time.monotonic(), idle)

    # -- phase 2: idle ----------------------------------------------------------------------
    def idle(self, seconds):
        end = time.monotonic() + seconds
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return
            self.pump(min(left, 0.2), idle=True)

    # -- phase 3: load ----------------------------------------------------------------------
    def load(self):
        a = self.a
        conns = [c for c in self.conns if c.state == "open"]
        n = len(conns)
        if n == 0:
            return 0.0
        start = time.monotonic() + 0.1
        total_sends = n * a.duration
        k = 0  # index of the next send in the global schedule
        while True:
            now = time.monotonic()
            # Send everything that is due: send k goes to conns[k % n] at start + k / n seconds.
            while k < total_sends and start + k / n <= now:
                c = conns[k % n]
                k += 1
                if c.state != "open":
                    continue
                if c.sent_at is not None:
                    if now - c.sent_at > a.timeout:
                        self.fail(c, "request timeout", "timeouts")
                    else:
                        self.stats["skipped_sends_reply_pending"] += 1
                    continue
                try:
                    c.sent_at = time.monotonic()
                    sent = c.sock.send(c.request)
                    if sent != len(c.request):
                        # A 14-byte PING on a fresh socket buffer cannot be partial; treat it as a failure.
                        self.fail(c, "short write", "closed_by_server")
                        continue
                    self.stats["requests_sent"] += 1
                except (BlockingIOError, InterruptedError):
                    c.sent_at = None
                    self.stats["skipped_sends_reply_pending"] += 1
                except OSError as e:
                    self.fail(c, e.strerror or str(e), "closed_by_server")
            if k >= total_sends:
                break
            wait = start + k / n - time.monotonic()
            self.pump(max(0.0, min(wait, 0.05)))
        # Drain: wait for outstanding replies, then count what is still missing as timeouts.
        deadline = time.monotonic() + a.timeout
        while time.monotonic() < deadline and any(c.sent_at is not None for c in conns if c.state == "open"):
            self.pump(0.05)
        for c in conns:
            if c.state == "open" and c.sent_at is not None:
                self.fail(c, "request timeout", "timeouts")
        return time.monotonic() - start

    def close_all(self):
        for c in self.conns:
            if c.state != "failed":
                try:
                    self.sel.unregister(c.sock)
                except (KeyError, ValueError):
                    pass
                c.sock.close()
        self.sel.close()


def percentile(sorted_vals, p):
    if not sorted_vals:
        return None
    # Nearest rank: the smallest value with at least p% of the samples at or below it.
    i = min(len(sorted_vals) - 1, max(0, math.ceil(p / 100.0 * len(sorted_vals)) - 1))
    return sorted_vals[i]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=6379)
    ap.add_argument("-n", "--connections", type=int, default=10000)
    ap.add_argument("-d", "--duration", type=int, default=20, help="seconds of load (one request per connection per second)")
    ap.add_argument("--pid", type=int, help="server pid, for RSS from /proc/PID/status")
    ap.add_argument("--command", choices=["ping", "set", "get"], default="ping")
    ap.add_argument("--value-size", type=int, default=16, help="SET value size in bytes")
    ap.add_argument("--settle", type=float, default=3.0, help="idle seconds before each RSS reading")
    ap.add_argument("--connect-batch", type=int, default=256, help="connects in flight at once")
    ap.add_argument("--connect-timeout", type=float, default=10.0)
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds before a request counts as failed")
    ap.add_argument("--label", default="server")
    ap.add_argument("--json", help="also write the results to this file as JSON")
    ap.add_argument("--samples", help="write every request's send time (s, from the first) and latency (ms) to this file")
    a = ap.parse_args()

    if not ipaddress.ip_address(socket.gethostbyname(a.host)).is_loopback:
        sys.exit("conn_load: loopback hosts only")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.connections + 100
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(want, soft)), hard))
        except (ValueError, OSError):
            pass
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft < want:
            sys.exit(f"conn_load: open-file limit {soft} < {want}; raise it (ulimit -n {want})")

    L = Load(a)
    r = {"label": a.label, "connections": a.connections, "duration_s": a.duration, "command": a.command}
    r["rss_before_kib"] = rss_kib(a.pid)
    r["connect_seconds"] = round(L.connect_all(), 3)
    L.idle(a.settle)
    r["rss_idle_connected_kib"] = rss_kib(a.pid)
    r["load_seconds"] = round(L.load(), 3)
    r["rss_after_load_kib"] = rss_kib(a.pid)
    L.idle(a.settle)
    r["rss_idle_after_load_kib"] = rss_kib(a.pid)
    open_at_end = sum(1 for c in L.conns if c.state == "open")
    L.close_all()

    r.update(L.stats)
    r["open_at_end"] = open_at_end
    lat = sorted(L.latencies)
    r["latency_samples"] = len(lat)
    for name, p in (("p50", 50), ("p99", 99), ("p999", 99.9)):
        v = percentile(lat, p)
        r[f"{name}_ms"] = None if v is None else round(v * 1000, 3)
    r["max_ms"] = round(lat[-1] * 1000, 3) if lat else None
    r["failures"] = r["connect_failed"] + r["closed_by_server"] + r["unexpected_data_while_idle"] + r["error_replies"] + r["timeouts"]
    ok = r["connect_ok"]
    if r["rss_before_kib"] is not None and r["rss_idle_connected_kib"] is not None and ok:
        r["per_conn_idle_bytes"] = round((r["rss_idle_connected_kib"] - r["rss_before_kib"]) * 1024 / ok)
        r["per_conn_idle_after_load_bytes"] = round((r["rss_idle_after_load_kib"] - r["rss_before_kib"]) * 1024 / ok)
    else:
        r["per_conn_idle_bytes"] = r["per_conn_idle_after_load_bytes"] = None

    print(f"[{a.label}] {a.connections} connections to {a.host}:{a.port}, {a.command} once a second for {a.duration} s")
    print(f"  connect: {r['connect_ok']} ok, {r['connect_failed']} failed {r['connect_errors'] or ''} in {r['connect_seconds']} s")
    print(
        f"  requests: {r['requests_sent']} sent, {r['replies_ok']} ok, {r['error_replies']} error replies, "
        f"{r['timeouts']} timeouts, {r['closed_by_server']} closed by server, "
        f"{r['unexpected_data_while_idle']} unprompted replies, {r['skipped_sends_reply_pending']} sends skipped (reply pending)"
    )
    if r["error_samples"]:
        print(f"  error samples: {r['error_samples']}")
    print(f"  latency ms: p50 {r['p50_ms']}  p99 {r['p99_ms']}  p99.9 {r['p999_ms']}  max {r['max_ms']}  ({len(lat)} samples)")
    if a.pid:
        print(
            f"  server RSS KiB: before {r['rss_before_kib']}, all idle {r['rss_idle_connected_kib']}, "
            f"after load {r['rss_after_load_kib']}, idle after load {r['rss_idle_after_load_kib']}"
        )
        print(
            f"  RSS per idle connection: {r['per_conn_idle_bytes']} B (before any request), "
            f"{r['per_conn_idle_after_load_bytes']} B (idle again after the load)"
        )
    print(f"  failures total: {r['failures']}; connections still open at the end: {open_at_end}")
    if a.samples and L.samples:
        t0 = min(t for t, _ in L.samples)
        with open(a.samples, "w") as f:
            for t, lat_s in sorted(L.samples):
                f.write(f"{t - t0:.6f} {lat_s * 1000:.3f}\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=1)
    return 0 if r["failures"] == 0 and ok == a.connections else 1


if __name__ == "__main__":
    sys.exit(main())
