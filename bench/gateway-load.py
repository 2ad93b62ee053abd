#!/usr/bin/env python3
"""A bounded-rate load client for event-gateway's POST /ingest.

  gateway-load.py --url http://127.0.0.1:8080/ingest --rate 1000 --duration 60
                  [--workers 8] [--processes 1] [--tenants 4]
                  [--tenant-prefix load-]
                  [--run-id ID] [--text-share 0.5] [--api-key KEY]
                  [--accepted FILE] [--summary FILE] [--timeout 10]
                  [--fail-on-error]

Open loop: request i is due at start + i * 60 / RATE seconds, whatever the
answers to the earlier ones took, so a slow gateway meets the same offered
load instead of a politely slowed-down client (no coordinated omission).
WORKERS threads each keep one HTTP/1.1 keep-alive connection and take the
next due request; a worker that starts one late counts it as late. With
--processes P, P processes (WORKERS threads each) share the schedule, each
taking every P-th request: one Python process sends a few hundred requests
a second at most.

Every request is checkable: request i goes to tenant PREFIX<i % TENANTS>,
as JSON with the log_id RUNID-<i> ({"tenant_id", "log_id", "text"}, or a
full event with tenant_id and log_id) or as text/plain (X-Tenant-ID; the
gateway makes its log id), its text "load RUNID-<i>: ..." holding two phone
numbers and an e-mail address. A 202 counts as accepted when its body is
{"status": "accepted", ...} naming that tenant (and, for JSON, that
log_id); the accepted pairs go to --accepted FILE as lines "TENANT LOG_ID"
(the log_id as the 202 gave it).

Prints the latency of each request (from writing it to reading the whole
answer) as p50, p99, p99.9 and max, how far behind schedule requests
started, and the count of each status (0: no answer: refused, reset, or
--timeout). --summary FILE gets the same as one JSON object. Exits 1 when
--fail-on-error is given and any request was not accepted, 2 on bad usage,
else 0. Python standard library only.
"""
import argparse
import http.client
import json
import math
import multiprocessing
import sys
import threading
import time
import urllib.parse
import uuid
from datetime import datetime, timezone

# How a kept-alive connection the server has closed fails.
STALE = (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected)
LEVELS = ["DEBUG", "INFO", "WARN", "ERROR", "FATAL"]
SERVICES = ["auth-service", "payment-service", "search-service", "api-gateway"]


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Bounded-rate, open-loop load on POST /ingest.")
    p.add_argument("--url", required=True,
                   help="the gateway's ingest URL, http://HOST:PORT/ingest")
    p.add_argument("--rate", type=float, required=True,
                   help="requests per minute")
    p.add_argument("--duration", type=float, required=True,
                   help="seconds of load")
    p.add_argument("--workers", type=int, default=8,
                   help="threads per process, one keep-alive connection "
                        "each (default 8)")
    p.add_argument("--processes", type=int, default=1,
                   help="processes sharing the schedule (default 1)")
    p.add_argument("--tenants", type=int, default=4,
                   help="distinct tenants (default 4)")
    p.add_argument("--tenant-prefix", default="load-",
                   help="tenant ids are PREFIX0, PREFIX1... (default load-)")
    p.add_argument("--run-id", default=None,
                   help="log ids are RUNID-N (default: a fresh random id)")
    p.add_argument("--text-share", type=float, default=0.5,
                   help="share of text/plain requests, 0 to 1 (default 0.5)")
    p.add_argument("--api-key", default=None,
                   help="sent as Authorization: Bearer KEY")
    p.add_argument("--accepted", default=None,
                   help="write the accepted 'TENANT LOG_ID' pairs here")
    p.add_argument("--summary", default=None,
                   help="write the results as one JSON object here")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds to wait for each answer (default 10)")
    p.add_argument("--fail-on-error", action="store_true",
                   help="exit 1 if any request was not accepted")
    a = p.parse_args(argv)
    u = urllib.parse.urlsplit(a.url)
    if u.scheme != "http" or not u.hostname:
        p.error("--url must be http://HOST:PORT/PATH")
    if a.rate <= 0 or a.duration <= 0 or a.workers < 1 or a.tenants < 1 \
            or a.processes < 1:
        p.error("--rate and --duration must be > 0, --workers, "
                "--processes and --tenants >= 1")
    if not 0 <= a.text_share <= 1:
        p.error("--text-share must be between 0 and 1")
    if a.run_id is None:
        a.run_id = uuid.uuid4().hex[:12]
    a.total = int(round(a.rate * a.duration / 60.0))
    if a.total < 1:
        p.error("--rate x --duration gives no request")
    a.host, a.port = u.hostname, u.port or 80
    a.path = (u.path or "/") + ("?" + u.query if u.query else "")
    return a


def request_for(a, i):
    """(tenant, log_id, content type, extra headers, body) of request i."""
    tenant = "%s%d" % (a.tenant_prefix, i % a.tenants)
    log_id = "%s-%07d" % (a.run_id, i)
    text = ("load %s: call +1 555 %03d %04d or (555) %03d-%04d, mail "
            "user%d@example.com" % (log_id, 200 + i % 700, i % 10000,
                                    899 - i % 700, i % 10000, i))
    headers = {}
    # The share of text/plain spread evenly over the run.
    if math.floor((i + 1) * a.text_share) > math.floor(i * a.text_share):
        headers["X-Tenant-ID"] = tenant
        return tenant, log_id, "text/plain", headers, text.encode()
    if i % 2:
        body = {"tenant_id": tenant, "log_id": log_id, "text": text}
    else:
        # A full event: the gateway keeps its fields.
        now = datetime.now(timezone.utc)
        body = {"timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.")
                + "%03dZ" % (now.microsecond // 1000),
                "service_name": SERVICES[i % len(SERVICES)],
                "level": LEVELS[i % len(LEVELS)], "message": text,
                "tenant_id": tenant, "log_id": log_id, "seq": i}
    return (tenant, log_id, "application/json", headers,
            json.dumps(body, separators=(",", ":")).encode())


def accepted(answer, tenant, log_id, content_type):
    """The log_id the 202 body gives, or None when it is not the body the
    contract promises for this request."""
    try:
        b = json.loads(answer)
    except ValueError:
        return None
    if (not isinstance(b, dict) or b.get("status") != "accepted"
            or b.get("tenant_id") != tenant
            or not isinstance(b.get("log_id"), str) or not b["log_id"]
            or not isinstance(b.get("message_id"), str)
            or not b["message_id"]):
        return None
    if content_type == "application/json" and b["log_id"] != log_id:
        return None
    return b["log_id"]


class Run:
    """The requests i of the schedule with i % procs == proc, sent by
    a.workers threads; results[i] is (status, latency, start lag, tenant,
    accepted log_id or None, note) once request i is done."""

    def __init__(self, a, start, proc=0, procs=1):
        self.a = a
        self.total = a.total
        self.interval = 60.0 / a.rate
        self.next = proc
        self.step = procs
        self.lock = threading.Lock()
        self.results = {}
        self.start = start

    def take(self):
        with self.lock:
            i = self.next
            self.next += self.step
        return i if i < self.total else None

    def worker(self):
        a = self.a
        conn = None
        while True:
            i = self.take()
            if i is None:
                break
            due = self.start + i * self.interval
            ahead = due - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
            tenant, log_id, ctype, headers, body = request_for(a, i)
            headers["Content-Type"] = ctype
            if a.api_key:
                headers["Authorization"] = "Bearer " + a.api_key
            began = time.perf_counter()
            status, answer, note = 0, b"", ""
            # A kept-alive connection the server closed while it was idle
            # fails at once, closed or reset, before the request was read:
            # it is sent again on a new connection, as browsers do. Any
            # other failure, or one on a fresh connection, is the result.
            for _ in range(2):
                reused = conn is not None
                if conn is None:
                    conn = http.client.HTTPConnection(a.host, a.port,
                                                      timeout=a.timeout)
                try:
                    conn.request("POST", a.path, body=body, headers=headers)
                    r = conn.getresponse()
                    answer = r.read()
                    status = r.status
                    if r.will_close:
                        conn.close()
                        conn = None
                    break
                except (OSError, http.client.HTTPException) as e:
                    conn.close()
                    conn = None
                    note = "%s: %s" % (type(e).__name__, e)
                    if not reused or not isinstance(e, STALE):
                        break
            ended = time.perf_counter()
            got = None
            if status == 202:
                got = accepted(answer, tenant, log_id, ctype)
                if got is None:
                    note = "an unexpected body: %r" % answer[:200]
            elif status:
                note = answer[:200].decode("utf-8", "replace")
            self.results[i] = (status, ended - began, began - due, tenant,
                               got, note)
        if conn is not None:
            conn.close()

    def go(self):
        threads = [threading.Thread(target=self.worker, daemon=True)
                   for _ in range(self.a.workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return self.results


def child(a, start, proc, conn):
    """One of --processes: its share of the schedule, results back through
    conn (perf_counter is the system's monotonic clock, the same in every
    process, so start means the same instant everywhere)."""
    conn.send(Run(a, start, proc, a.processes).go())
    conn.close()


def run_all(a):
    """Every request's result, in schedule order, and the seconds from the
    first one due to the last one done."""
    start = time.perf_counter() + 0.05 + 0.1 * (a.processes - 1)
    if a.processes == 1:
        results = Run(a, start).go()
    else:
        ctx = multiprocessing.get_context("fork")
        pipes, procs = [], []
        for proc in range(a.processes):
            mine, theirs = ctx.Pipe(duplex=False)
            pr = ctx.Process(target=child, args=(a, start, proc, theirs))
            pr.start()
            theirs.close()
            pipes.append(mine)
            procs.append(pr)
        results = {}
        for mine in pipes:
            results.update(mine.recv())
        for pr in procs:
            pr.join()
    return [results[i] for i in range(a.total)], time.perf_counter() - start


def percentile(sorted_values, q):
    """Nearest rank: the smallest value at or above fraction q of them."""
    if not sorted_values:
        return 0.0
    k = max(0, math.ceil(q * len(sorted_values)) - 1)
    return sorted_values[k]


def main(argv):
    a = parse_args(argv)
    total = a.total
    results, elapsed = run_all(a)
    by_status = {}
    latencies = []
    lags = []
    pairs = []
    errors = []
    for status, latency, lag, tenant, got, note in results:
        key = "202" if got is not None else (
            "202-bad-body" if status == 202 else str(status))
        by_status[key] = by_status.get(key, 0) + 1
        if status:
            latencies.append(latency)
        lags.append(lag)
        if got is not None:
            pairs.append((tenant, got))
        elif len(errors) < 5:
            errors.append("%s %s" % (status, note))
    latencies.sort()
    lags.sort()
    ms = lambda s: round(s * 1000.0, 3)  # noqa: E731
    late = sum(1 for x in lags if x > 0.010)
    summary = {
        "url": a.url, "rate_per_min": a.rate, "duration_s": a.duration,
        "workers": a.workers, "processes": a.processes, "requests": total,
        "accepted": len(pairs), "errors": total - len(pairs),
        "by_status": by_status,
        "elapsed_s": round(elapsed, 3),
        "achieved_per_min": round(total * 60.0 / elapsed, 1),
        "latency_ms": {"p50": ms(percentile(latencies, 0.50)),
                       "p99": ms(percentile(latencies, 0.99)),
                       "p99.9": ms(percentile(latencies, 0.999)),
                       "max": ms(latencies[-1] if latencies else 0.0)},
        "start_lag_ms": {"p99": ms(percentile(lags, 0.99)),
                         "max": ms(lags[-1] if lags else 0.0)},
        "late_starts": late,
        "run_id": a.run_id,
    }
    if a.accepted:
        with open(a.accepted, "w") as f:
            f.writelines("%s %s\n" % p for p in pairs)
    if a.summary:
        with open(a.summary, "w") as f:
            json.dump(summary, f)
            f.write("\n")
    lat = summary["latency_ms"]
    print("gateway-load: %d requests in %.1f s (%.0f/min offered, %.0f/min "
          "achieved), %d workers x %d processes" % (
              total, elapsed, a.rate, summary["achieved_per_min"], a.workers,
              a.processes))
    print("  status: " + ", ".join(
        "%s=%d" % kv for kv in sorted(by_status.items())))
    print("  latency ms: p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f" % (
        lat["p50"], lat["p99"], lat["p99.9"], lat["max"]))
    print("  started late (>10 ms behind schedule): %d; start lag ms p99 "
          "%.3f, max %.3f" % (late, summary["start_lag_ms"]["p99"],
                              summary["start_lag_ms"]["max"]))
    for e in errors:
        print("  not accepted: " + e, file=sys.stderr)
    if a.fail_on_error and summary["errors"]:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
