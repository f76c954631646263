#!/usr/bin/env bash
# bench/policy.sh: (g) the Postfix policy service and (h) one `smtpdcheck
# --mx` process per request (bench/policy_bench.py), then (k), (l) and the
# peak RSS of the OpenSMTPD filter (bench/filter_bench.py), against a
# scripted DNS server on loopback (bench/bench_dns.py) that smtpdcheck
# reaches through a private /etc/resolv.conf in a mount namespace (the
# machine's own resolver files are never changed; no query leaves the
# machine). Prints two markdown sections on stdout; run.sh appends them to
# docs/benchmarks.md.
#
#   bash bench/policy.sh [BINARY]      (as root: port 53, unshare -m)
#
# Environment: BENCH_POLICY_PORT (default 3626).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

BIN=$(realpath "${1:-target/release/smtpbox}")
PORT=${BENCH_POLICY_PORT:-3626}
PYTHON=/usr/bin/python3
if [ "$(id -u)" != 0 ]; then
    echo "(policy benchmarks skipped: they need root for port 53 and unshare -m)"
    exit 0
fi
if ! "$PYTHON" -c 'import dns.message' 2>/dev/null; then
    apt-get install -y -q python3-dnspython >/dev/null
fi

bench_tmp policy
build_helpers
# Up on 127.0.0.2; on 127.0.0.3 it accepts and never greets (the filter's
# silent primary); nothing listens on 127.0.0.4.
start_server "$TMP/instant_server" "$PORT" 127.0.0.2 127.0.0.3

printf 'nameserver 127.0.53.53\noptions timeout:1 attempts:1\n' >"$TMP/resolv.conf"
printf '127.0.0.1 localhost\n' >"$TMP/hosts"
# The namespace's /dev is private too: deferrals are timed with and
# without a syslog receiver on /dev/log.
in_namespace --private-dev "$PYTHON" bench/policy_bench.py "$BIN" "$PORT" "$TMP"
echo
in_namespace --private-dev "$PYTHON" bench/filter_bench.py "$BIN" "$PORT" "$TMP"
