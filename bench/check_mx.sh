#!/usr/bin/env bash
# bench/check_mx.sh: (i) `check_mx` over 3 MX hosts against three
# sequential `check_smtp -S -D 30` runs, side by side, against the same
# three STARTTLS servers on loopback (bench/tls_server.py: Python, an ECDSA
# P-256 certificate made here for the three addresses). Prints a markdown
# section on stdout; run.sh appends it to docs/benchmarks.md.
#
#   bash bench/check_mx.sh [BINARY]
#
# Environment: BENCH_CHECK_MX_PORT (default 3629), BENCH_CHECK_MX_RUNS (30).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

BIN=$(realpath "${1:-target/release/smtpbox}")
PORT=${BENCH_CHECK_MX_PORT:-3629}
RUNS=${BENCH_CHECK_MX_RUNS:-30}
HOSTS=(127.0.0.21 127.0.0.22 127.0.0.23)
if [ ! -x "$CHECK_SMTP" ] || ! command -v hyperfine >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q monitoring-plugins-standard hyperfine >&2
    else
        echo "(check_mx benchmark skipped: needs check_smtp and hyperfine)"
        exit 0
    fi
fi

bench_tmp check-mx
SAN=$(printf 'IP:%s, ' "${HOSTS[@]}")
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 90 \
    -subj "/CN=${HOSTS[0]}" -keyout "$TMP/key.pem" -out "$TMP/cert.pem" \
    -addext "subjectAltName = ${SAN%, }" \
    -addext "basicConstraints = critical, CA:FALSE" 2>/dev/null
start_server /usr/bin/python3 bench/tls_server.py "$TMP/cert.pem" "$TMP/key.pem" "$PORT" 900 "${HOSTS[@]}"

CHECK_MX="$BIN check_mx --helo bench.test --port $PORT --ca-file $TMP/cert.pem --require-tls --cert-warn 30"
THREE_CHECK_SMTP=""
for h in "${HOSTS[@]}"; do
    CHECK_MX="$CHECK_MX -H $h"
    THREE_CHECK_SMTP="$THREE_CHECK_SMTP${THREE_CHECK_SMTP:+; }$CHECK_SMTP -H $h -p $PORT -S -D 30"
done

# sanity: both see three healthy servers
out=$($CHECK_MX) || { echo "check_mx: exit $?: $out" >&2; exit 1; }
grep -q '^MX OK - ' <<<"$out" || { echo "check_mx: $out" >&2; exit 1; }
for h in "${HOSTS[@]}"; do
    "$CHECK_SMTP" -H "$h" -p "$PORT" -S -D 30 >"$TMP/cs" || { echo "check_smtp $h: $(cat "$TMP/cs")" >&2; exit 1; }
done

hyperfine --style basic --warmup 5 --runs "$RUNS" --export-json "$TMP/i.json" \
    -n check_mx "$CHECK_MX" -n check_smtp "$THREE_CHECK_SMTP" >&2

/usr/bin/python3 - "$TMP/i.json" "$RUNS" <<'PY'
import json, statistics, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
med = {name: statistics.median(r["times"]) for name, r in results.items()}
ratio = med["check_mx"] / med["check_smtp"]
print("## check_mx over 3 MX hosts (i)\n")
print("`bench/check_mx.sh`: three STARTTLS servers on loopback (Python, an ECDSA P-256 "
      "certificate for the three addresses). `check_mx --require-tls --ca-file` checks the three "
      "hosts in one run (greeting, EHLO, STARTTLS, verified certificate and its days left, EHLO, "
      "QUIT, all at once); `check_smtp -S -D 30` checks one host, so three run one after the "
      f"other, as three service checks would. hyperfine, {sys.argv[2]} runs each after 5 warm-ups, "
      "through a shell whose start-up hyperfine subtracts.\n")
print("| (i) | wall median (min) | user+sys (mean) |")
print("|---|---|---|")
for name, label in (("check_mx", "`check_mx`, 3 hosts at once"),
                    ("check_smtp", "3 × `check_smtp -S -D 30`, one after the other")):
    r = results[name]
    print(f"| {label} | {med[name] * 1e3:.1f} ms ({min(r['times']) * 1e3:.1f} ms) | "
          f"{(r['user'] + r['system']) * 1e3:.1f} ms |")
print(f"\ncheck_mx takes {ratio:.2f}× the time of the three check_smtp runs.")
PY
