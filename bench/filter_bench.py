"""(k), (l) and the peak RSS of `smtpdcheck --opensmtpd-filter`, run by
bench/policy.sh inside its mount namespace (DNS: bench/bench_dns.py on
127.0.53.53; the instant server greets on 127.0.0.2 and is silent on
127.0.0.3; nothing listens on 127.0.0.4). The filter is driven as smtpd
drives it: the 7.6 handshake, then `filter|0.7|...|rcpt-to|...` lines on
its stdin, one `filter-result` line per request back. Prints a markdown
section.

  filter_bench.py BINARY PORT TMP
"""
import os
import queue
import statistics
import subprocess
import sys
import threading
import time

import bench_dns

BIN, PORT, TMP = sys.argv[1], sys.argv[2], sys.argv[3]
FILTER = [BIN, "smtpdcheck", "--opensmtpd-filter", "--port", PORT, "--no-cache"]
CONFIG = (b"config|smtpd-version|7.6.0\nconfig|protocol|0.7\nconfig|smtp-session-timeout|300\n"
          b"config|subsystem|smtp-in\nconfig|admd|mx2.d.test\nconfig|ready\n")
REGISTRATION = (b"register|filter|smtp-in|rcpt-to\nregister|report|smtp-in|link-connect\n"
                b"register|report|smtp-in|link-disconnect\nregister|ready\n")
SESSION = 0x7641df9771b4ed00
bench_dns.start()


def rcpt(token, domain, session=SESSION):
    return (f"filter|0.7|1576146008.006099|smtp-in|rcpt-to|{session:016x}|{token:016x}|"
            f"u@{domain}\n").encode()


class Filter:
    """One filter process: lines written by a thread (so neither pipe can
    fill while the other waits), answers read in big chunks."""

    def __init__(self, *args):
        self.process = subprocess.Popen([*FILTER, *args], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE)
        self.out = self.process.stdout.fileno()
        self.buffer = b""
        self.sent = queue.Queue()
        threading.Thread(target=self._write, daemon=True).start()
        self.send(CONFIG)
        assert self.lines(4) == REGISTRATION.splitlines(), "the registration"

    def _write(self):
        while (data := self.sent.get()) is not None:
            self.process.stdin.write(data)
            self.process.stdin.flush()
            self.sent.task_done()
        self.process.stdin.close()

    def send(self, data):
        self.sent.put(data)

    def written(self):
        """Waits until everything sent is in the pipe."""
        self.sent.join()

    def lines(self, n):
        """The next n answer lines (without newlines)."""
        while self.buffer.count(b"\n") < n:
            chunk = os.read(self.out, 1 << 20)
            assert chunk, "the filter closed stdout"
            self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n", n)
        return lines

    def round_trip(self, line):
        """Seconds from writing `line` (directly: no hand-over to the
        writer thread in the time; call `written` first) to its answer."""
        start = time.perf_counter()
        os.write(self.process.stdin.fileno(), line)
        answer = self.lines(1)[0]
        return time.perf_counter() - start, answer

    def peak_rss_kib(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM")

    def close(self):
        """Closes stdin; the remaining answers once it exited 0."""
        self.send(None)
        rest = self.buffer + self.process.stdout.read()
        assert self.process.wait(timeout=30) == 0, "exit status"
        return rest.splitlines()


PROCEED = b"|proceed"
REJECT = b"|reject|451 4.7.1 Service temporarily unavailable, please use mx1.d.test"


def check(answers, first_token, kind):
    """Each answer is `kind` and answers its own token, in order."""
    for token, answer in enumerate(answers, first_token):
        expected = f"filter-result|{SESSION:016x}|{token:016x}".encode() + kind
        assert answer == expected, (answer, expected)


# (k) 10,000 requests for one domain written at once, answered from memory:
# the first request of a round resolves it through DNS (and probes).
def from_memory(domain, kind, *args):
    filter = Filter(*args)
    per_request, token = [], 0
    for _ in range(5):
        token += 1
        filter.send(rcpt(token, domain))
        check(filter.lines(1), token, kind)
        batch = b"".join(rcpt(token + 1 + i, domain) for i in range(10_000))
        start = time.perf_counter()
        filter.send(batch)
        answers = filter.lines(10_000)
        per_request.append((time.perf_counter() - start) / 10_000)
        check(answers, token + 1, kind)
        token += 10_000
    assert filter.close() == []
    return statistics.median(per_request)


null_mx = from_memory("n1.test", PROCEED)
down_cached = from_memory("r1.test", PROCEED, "--timeout", "1")
up_cached = from_memory("d1.test", REJECT, "--cache-ttl-up", "86400")

# (l) other domains' answers while 100 domains wait on a primary that
# accepts and never greets (--timeout 10): one request at a time, each
# answered from memory.
filter = Filter("--timeout", "10")
warm = ["n1.test", "r1.test"]
for token, domain in enumerate(warm, 1):
    filter.send(rcpt(token, domain))
    check(filter.lines(1), token, PROCEED)
waiting = 100
filter.send(b"".join(rcpt(1_000_000 + i, f"q{i}.test") for i in range(waiting)))
filter.written()
trips = []
started = time.perf_counter()
for token in range(10, 2010):
    seconds, answer = filter.round_trip(rcpt(token, warm[token % 2]))
    check([answer], token, PROCEED)
    trips.append(seconds)
window = time.perf_counter() - started
assert window < 10, "the silent primaries' answers came during the measurement"
rest = filter.close()
assert len(rest) == waiting and all(a.endswith(PROCEED) for a in rest), rest[:3]
trips.sort()
p50, p99, worst = trips[len(trips) // 2], trips[int(len(trips) * 0.99)], trips[-1]

# Peak RSS after 100,000 distinct domains (dN.test: an MX query each; the
# MX hosts' addresses and the probe result are shared), 100 requests at a
# time so that every one is decided, not answered "proceed" for want of
# room among the waiting decisions. Every request gets its answer; a
# few are "proceed" when a burst of lookups outruns the Python DNS server
# (1 s resolver timeout): they are counted, not failed.
filter = Filter()
domains, batch, rejected = 100_000, 100, 0
start = time.perf_counter()
for first in range(0, domains, batch):
    filter.send(b"".join(rcpt(first + i, f"d{first + i}.test") for i in range(batch)))
    answers = filter.lines(batch)
    assert all(a.endswith(REJECT) or a.endswith(PROCEED) for a in answers), answers[:3]
    rejected += sum(a.endswith(REJECT) for a in answers)
seconds = time.perf_counter() - start
peak = filter.peak_rss_kib()
assert filter.close() == []


def verdict(ok):
    return "**met**" if ok else "**NOT met**"


us = 1e6
print("## OpenSMTPD filter (k), (l)\n")
print("`bench/filter_bench.py`, run by `bench/policy.sh` in the same namespace and with the same "
      "scripted DNS (`bench/bench_dns.py`). `smtpdcheck --opensmtpd-filter --no-cache` is driven "
      "as smtpd drives it: OpenSMTPD 7.6's configuration lines and `config|ready`, then protocol "
      "0.7 `rcpt-to` requests on stdin, `filter-result` lines read back (every answer checked "
      "against its token). (k): a round is one request that fills memory (DNS and probe), then "
      "10,000 requests for the same domain written at once, timed from the write to the last "
      "answer read; median of 5 rounds. A rejection logs one syslog line (no syslog daemon on "
      "/dev/log here). (l): 100 requests for domains whose primary accepts and never greets "
      "wait (`--timeout 10`) while 2,000 requests for other domains are sent one at a time, "
      "each answered from memory; the round trip of each. RSS: `VmHWM` of /proc/PID/status "
      "after 100,000 requests for distinct domains (100 written at a time), before stdin is "
      "closed.\n")
print("| target | measured | |")
print("|---|---|---|")
print(f"| (k) 10,000 rcpt-to at once, from memory: ≤ 5 µs each (null MX: proceed) | "
      f"{null_mx * us:.1f} µs | {verdict(null_mx <= 5e-6)} |")
print(f"| (k) the same, the primary's refusal cached (proceed) | {down_cached * us:.1f} µs | "
      f"{verdict(down_cached <= 5e-6)} |")
print(f"| (k) the same, the primary up, cached (reject, one syslog line each) | "
      f"{up_cached * us:.1f} µs | {verdict(up_cached <= 5e-6)} |")
print(f"| (l) other domains while 100 wait on a silent primary: p99 < 1 ms | {p99 * us:.0f} µs "
      f"(median {p50 * us:.0f} µs, worst {worst * us:.0f} µs) | {verdict(p99 < 1e-3)} |")
print(f"| filter peak RSS after 100,000 distinct domains ≤ 16 MiB | {peak / 1024:.1f} MiB "
      f"({seconds:.1f} s; {rejected:,} rejected, the rest proceed) | {verdict(peak <= 16 * 1024)} |")
