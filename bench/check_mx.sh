#!/usr/bin/env bash
# bench/check_mx.sh: check_mx over 3 MX hosts, against the same three
# STARTTLS servers on loopback (bench/tls_server.py: Python, an ECDSA P-256
# certificate signed by a CA made here, for the three addresses and the
# names mx1..3.j.test). Prints markdown sections on stdout; run.sh appends
# them to docs/benchmarks.md.
#
#  (i) `check_mx -H` the three addresses against three sequential
#      `check_smtp -S -D 30` runs;
#  (j) (root only) `check_mx j.test` with DANE and MTA-STS against plain
#      `check_mx --no-dane --no-mta-sts j.test`, and against three
#      sequential `check_ssl_cert -P smtp --dane 311` runs
#      (monitoring-plugins-contrib), in a mount namespace whose resolv.conf
#      names the scripted DNS of bench/bench_dns.py (j.test signed: MX,
#      TLSA, MTA-STS and TLS-RPT records) and an HTTPS policy host on
#      127.0.0.24:443 (bench/j_services.py). No query leaves the machine.
#
#   bash bench/check_mx.sh [BINARY]
#
# Environment: BENCH_CHECK_MX_PORT (default 3629), BENCH_CHECK_MX_RUNS (30;
# runs per command per round), BENCH_CHECK_MX_ROUNDS (10; (j)'s rounds, order
# reversed every other one, ratios paired round by round),
# BENCH_CHECK_SSL_CERT_RUNS (10; check_ssl_cert is a long shell script).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh

BIN=$(realpath "${1:-target/release/smtpbox}")
PORT=${BENCH_CHECK_MX_PORT:-3629}
RUNS=${BENCH_CHECK_MX_RUNS:-30}
ROUNDS=${BENCH_CHECK_MX_ROUNDS:-10}
SSL_RUNS=${BENCH_CHECK_SSL_CERT_RUNS:-10}
PYTHON=/usr/bin/python3
HOSTS=(127.0.0.21 127.0.0.22 127.0.0.23)
# (j): the MX hosts' names (in the order of HOSTS) and the policy host.
J_NAMES=(mx1.j.test mx2.j.test mx3.j.test)
POLICY_ADDRESS=127.0.0.24
CHECK_SSL_CERT=/usr/lib/nagios/plugins/check_ssl_cert
IS_ROOT=false
if [ "$(id -u)" = 0 ]; then IS_ROOT=true; fi

missing=()
[ -x "$CHECK_SMTP" ] || missing+=(monitoring-plugins-standard)
command -v hyperfine >/dev/null || missing+=(hyperfine)
if $IS_ROOT; then # what (j) needs besides
    [ -x "$CHECK_SSL_CERT" ] || missing+=(monitoring-plugins-contrib)
    command -v dig >/dev/null || missing+=(bind9-dnsutils) # check_ssl_cert's TLSA lookup
    "$PYTHON" -c 'import dns.message' 2>/dev/null || missing+=(python3-dnspython)
fi
if [ ${#missing[@]} -gt 0 ]; then
    if $IS_ROOT; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
    else
        echo "(check_mx benchmark skipped: needs check_smtp and hyperfine)"
        exit 0
    fi
fi

bench_tmp check-mx
# A CA; the MX servers' certificate (the addresses for (i), the names for
# (j), bad.j.test for the DANE failure check); the policy host's
# certificate; and another key, whose TLSA record bad.j.test publishes.
new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
new_key "$TMP/ca-key.pem"
openssl req -x509 -new -key "$TMP/ca-key.pem" -days 90 -subj "/CN=smtpbox bench CA" \
    -addext "basicConstraints = critical, CA:TRUE" -addext "keyUsage = critical, keyCertSign" \
    -out "$TMP/ca.pem" 2>/dev/null
# sign NAME SAN: $TMP/NAME-key.pem and $TMP/NAME.pem, a 90-day server
# certificate for SAN signed by the CA.
sign() {
    new_key "$TMP/$1-key.pem"
    openssl req -new -key "$TMP/$1-key.pem" -subj "/CN=$1" -out "$TMP/$1.csr" 2>/dev/null
    printf 'subjectAltName = %s\nbasicConstraints = critical, CA:FALSE\nextendedKeyUsage = serverAuth\n' "$2" >"$TMP/$1.ext"
    openssl x509 -req -in "$TMP/$1.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca-key.pem" -CAcreateserial \
        -days 90 -extfile "$TMP/$1.ext" -out "$TMP/$1.pem" 2>/dev/null
}
SAN=$(printf 'IP:%s, ' "${HOSTS[@]}")$(printf 'DNS:%s, ' "${J_NAMES[@]}")DNS:bad.j.test
sign mx "$SAN"
sign mta-sts DNS:mta-sts.j.test
new_key "$TMP/other-key.pem"
# spki_sha256 KEY: the hex SHA-256 of the key's SubjectPublicKeyInfo, a
# TLSA 3 1 1 record's data (RFC 6698 section 2.1).
spki_sha256() {
    openssl pkey -in "$1" -pubout -outform DER | sha256sum | cut -d' ' -f1
}
start_server "$PYTHON" bench/tls_server.py "$TMP/mx.pem" "$TMP/mx-key.pem" "$PORT" 1800 "${HOSTS[@]}"

# --- (i): check_mx -H against three check_smtp runs ---------------------------
CHECK_MX="$BIN check_mx --helo bench.test --port $PORT --ca-file $TMP/ca.pem --require-tls --cert-warn 30"
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

"$PYTHON" - "$TMP/i.json" "$RUNS" <<'PY'
import json, statistics, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
med = {name: statistics.median(r["times"]) for name, r in results.items()}
ratio = med["check_mx"] / med["check_smtp"]
print("## check_mx over 3 MX hosts (i)\n")
print("`bench/check_mx.sh`: three STARTTLS servers on loopback (Python, an ECDSA P-256 "
      "certificate for the three addresses, signed by a CA made by the bench). "
      "`check_mx --require-tls --ca-file` checks the three "
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

# --- (j): DANE and MTA-STS over the same three servers, by name ----------------
echo
if ! $IS_ROOT; then
    echo "(check_mx (j) skipped: it needs root for port 53, port 443 and unshare -m)"
    exit 0
fi
start_server "$PYTHON" bench/j_services.py "$TMP/mta-sts.pem" "$TMP/mta-sts-key.pem" "$POLICY_ADDRESS" \
    "$PORT" "$(spki_sha256 "$TMP/mx-key.pem")" "$(spki_sha256 "$TMP/other-key.pem")" 1800 "${HOSTS[@]}"
# glibc passes the answers' AD bit on only with trust-ad: the scripted DNS
# plays a validating resolver on this (trusted, loopback) path.
printf 'nameserver 127.0.53.53\noptions timeout:1 attempts:1 trust-ad\n' >"$TMP/resolv.conf"
printf '127.0.0.1 localhost\n' >"$TMP/hosts"

J_CHECK_MX="$BIN check_mx --helo bench.test --port $PORT --ca-file $TMP/ca.pem --require-tls --cert-warn 30"
PLAIN="$J_CHECK_MX --no-dane --no-mta-sts j.test"
DANE_STS="$J_CHECK_MX j.test"
# ssl_cert HOST: check_ssl_cert over STARTTLS with DANE-EE SPKI SHA-256;
# the bench CA has no certificate transparency log, so no SCT check.
ssl_cert() {
    echo "$CHECK_SSL_CERT -H $1 -p $PORT -P smtp --dane 311 --rootcert-file $TMP/ca.pem --ignore-sct -w 30"
}
THREE_SSL_CERT=""
for h in "${J_NAMES[@]}"; do THREE_SSL_CERT="$THREE_SSL_CERT${THREE_SSL_CERT:+; }$(ssl_cert "$h")"; done

# expect_in_namespace STATUS PATTERN COMMAND-LINE: runs the command line
# (split at spaces; it holds no quoted words) in the namespace and stops
# the bench unless it exits STATUS with output matching PATTERN (grep -E).
expect_in_namespace() {
    local rc=0 out
    # shellcheck disable=SC2086 # split on purpose
    out=$(in_namespace $3 2>&1) || rc=$?
    if [ "$rc" != "$1" ] || ! grep -Eq "$2" <<<"$out"; then
        echo "bench: $3: exit $rc, expected $1 and /$2/: $out" >&2
        exit 1
    fi
}
# sanity: the plain check sees the three hosts by name; check_ssl_cert
# passes DANE on each and fails it where the TLSA record is another key's.
expect_in_namespace 0 '^MX OK - ' "$PLAIN"
for h in "${J_NAMES[@]}"; do expect_in_namespace 0 '^SSL_CERT OK' "$(ssl_cert "$h")"; done
expect_in_namespace 2 '^SSL_CERT CRITICAL.*no matching DANE TLSA records' "$(ssl_cert bad.j.test)"

# What this build of check_mx does with DANE and MTA-STS, from --json:
# "both", "dane", "mta-sts" or "none" (neither looked at: not measured);
# where it does one, it must see the TLSA match at every address and the
# enforce policy covering the three hosts, or the bench stops.
rc=0
# shellcheck disable=SC2086 # split on purpose
in_namespace $DANE_STS --json >"$TMP/j.json" || rc=$?
FEATURES=$("$PYTHON" - "$TMP/j.json" "$rc" "$PORT" <<'PY'
import json, sys
PORT = sys.argv[3]
def fail(why):
    sys.exit(f"check_mx j.test (exit {sys.argv[2]}): {why}")
try:
    report = json.load(open(sys.argv[1]))
except ValueError as e:
    fail(f"no JSON: {e}")
hosts = report.get("hosts") or []
if sorted(h.get("name") for h in hosts) != ["mx1.j.test", "mx2.j.test", "mx3.j.test"]:
    fail(f"not the three MX hosts: {[h.get('name') for h in hosts]}")
dane = any(h.get("dane") is not None for h in hosts)
sts = report.get("mta_sts") is not None
if dane:
    for h in hosts:
        d = h.get("dane") or {}
        if not d.get("validated") or d.get("error") or d.get("tlsa_name") != f"_{PORT}._tcp.{h['name']}":
            fail(f"{h['name']}: TLSA not validated: {d}")
        for a in h.get("addresses") or [None]:
            m = (a or {}).get("dane") or {}
            if m.get("matched") is not True:
                fail(f"{h['name']}: no DANE match at {(a or {}).get('address')}: {m}")
if sts:
    p = report["mta_sts"]
    if p.get("error") or p.get("mode") != "enforce" or p.get("uncovered") or p.get("mx") != ["*.j.test"]:
        fail(f"MTA-STS policy not as served: {p}")
    if not (p.get("policy_host") or {}).get("verified"):
        fail(f"MTA-STS policy host not verified: {p.get('policy_host')}")
    if (report.get("tls_rpt") or {}).get("rua") != ["mailto:tlsrpt@j.test"]:
        fail(f"TLS-RPT record not seen: {report.get('tls_rpt')}")
if int(sys.argv[2]) != 0:
    fail("not OK")
print("both" if dane and sts else "dane" if dane else "mta-sts" if sts else "none")
PY
) || exit 1

# Timing: (i') and (j) in rounds, order reversed every other round (the
# ratio is paired: the median of the rounds' ratios of medians); with both
# DANE and MTA-STS, each alone too (what each adds). check_ssl_cert once,
# fewer runs (each takes far longer).
j_names=(plain); J_CMD=("$PLAIN")
if [ "$FEATURES" = both ]; then
    j_names+=(dane_only sts_only); J_CMD+=("$J_CHECK_MX --no-mta-sts j.test" "$J_CHECK_MX --no-dane j.test")
fi
if [ "$FEATURES" != none ]; then j_names+=(dane_sts); J_CMD+=("$DANE_STS"); fi
for r in $(seq "$ROUNDS"); do
    args=()
    for k in "${!j_names[@]}"; do
        if [ $((r % 2)) -eq 0 ]; then k=$((${#j_names[@]} - 1 - k)); fi
        args+=(-n "${j_names[$k]}" "${J_CMD[$k]}")
    done
    in_namespace hyperfine --style basic --warmup 5 --runs "$RUNS" --export-json "$TMP/j_$r.json" "${args[@]}" >&2
done
in_namespace hyperfine --style basic --warmup 1 --runs "$SSL_RUNS" --export-json "$TMP/ssl.json" \
    -n check_ssl_cert "$THREE_SSL_CERT" >&2

"$PYTHON" - "$TMP" "$ROUNDS" "$RUNS" "$SSL_RUNS" "$FEATURES" "$("$CHECK_SSL_CERT" --version 2>&1 | head -1)" <<'PY'
import glob, json, os, statistics, sys
tmp, rounds, runs, ssl_runs, features, ssl_version = sys.argv[1:7]
per_round = [{r["command"]: r for r in json.load(open(f))["results"]}
             for f in sorted(glob.glob(os.path.join(tmp, "j_*.json")))]
ssl = json.load(open(os.path.join(tmp, "ssl.json")))["results"][0]
def times(name):
    return [t for rnd in per_round for t in rnd[name]["times"]]
def cpu(name):
    return statistics.median(rnd[name]["user"] + rnd[name]["system"] for rnd in per_round)
measured = features != "none"
print("## check_mx with DANE and MTA-STS over 3 MX hosts (j)\n")
print("`bench/check_mx.sh`, the same three STARTTLS servers as (i), by name this time: a scripted DNS "
      "(bench/bench_dns.py; it plays a validating resolver, so its j.test answers carry the AD bit, "
      "and the private resolv.conf says `options trust-ad`; after the warm-ups it answers from memory, "
      "as a resolver's cache would, not from 150 µs of Python per answer) serves `j.test` MX 10/20/30 "
      "mx1/mx2/mx3.j.test, `_PORT._tcp.mxN.j.test` TLSA 3 1 1 of the servers' key, "
      "`_mta-sts.j.test` and `_smtp._tls.j.test` TXT, and `mta-sts.j.test` on 127.0.0.24, where "
      "an HTTPS server (Python) serves an enforce policy for `*.j.test`; one CA file signs both "
      "certificates. Everything runs in a mount namespace with that resolv.conf. "
      "(i') is `check_mx --no-dane --no-mta-sts j.test`, (j) `check_mx j.test` (DANE and MTA-STS on, "
      "the default); both look the MX hosts up, so their ratio is what DANE and MTA-STS add. "
      f"Before timing, `--json` must show the TLSA match at every address and the policy in enforce "
      f"mode, and {ssl_version} `-P smtp --dane 311` must pass on mx1..3 and fail on bad.j.test "
      "(a TLSA record of another key). "
      f"hyperfine through a shell: (i') and (j) in {rounds} rounds of {runs} runs each after 5 warm-ups, "
      "with DANE alone and MTA-STS alone too, order reversed every other round, the ratios to (i') "
      "paired (median of the rounds' ratios, and their range); three "
      f"check_ssl_cert runs one after the other, {ssl_runs} times after 1 warm-up.\n")
if not measured:
    print("**(j) not measured: check_mx has no DANE yet** (nor MTA-STS): its `--json` has no "
          "`dane` per host and no `mta_sts`. (i') and check_ssl_cert are measured below.\n")
elif features != "both":
    missing = "MTA-STS" if features == "dane" else "DANE"
    print(f"**(j) measured without {missing}**: this build of check_mx does only {features.upper()}, "
          "so the targets are not judged.\n")
def to_plain(name):
    """The paired ratio to (i'): median over rounds, and its range."""
    ratios = [statistics.median(rnd[name]["times"]) / statistics.median(rnd["plain"]["times"])
              for rnd in per_round]
    return statistics.median(ratios), min(ratios), max(ratios)
rows = [("plain", "(i') `check_mx --no-dane --no-mta-sts j.test`"),
        ("dane_only", "DANE alone: `check_mx --no-mta-sts j.test`"),
        ("sts_only", "MTA-STS alone: `check_mx --no-dane j.test`"),
        ("dane_sts", "(j) `check_mx j.test`, DANE and MTA-STS")]
print("| (j) | wall median (min) | to (i'), paired | user+sys |")
print("|---|---|---|---|")
for name, label in rows:
    if name not in per_round[0]:
        continue
    t = times(name)
    ratio = "%.2f× (%.2f–%.2f)" % to_plain(name) if name != "plain" else "1"
    print(f"| {label} | {statistics.median(t) * 1e3:.1f} ms ({min(t) * 1e3:.1f} ms) | {ratio} | "
          f"{cpu(name) * 1e3:.1f} ms |")
print(f"| 3 × `check_ssl_cert -P smtp --dane 311`, one after the other | "
      f"{statistics.median(ssl['times']) * 1e3:.1f} ms ({min(ssl['times']) * 1e3:.1f} ms) | "
      f"— | {(ssl['user'] + ssl['system']) * 1e3:.1f} ms |")
print()
if measured:
    j_to_plain, low, high = to_plain("dane_sts")
    to_ssl = statistics.median(times("dane_sts")) / statistics.median(ssl["times"])
    judged = features == "both"
    def verdict(ok):
        return ("**met**" if ok else "**missed**") if judged else "not judged"
    print("| target | measured | |")
    print("|---|---|---|")
    print(f"| (j) ≤ 1.3× (i') | {j_to_plain:.2f}× (rounds {low:.2f}–{high:.2f}) | {verdict(j_to_plain <= 1.3)} |")
    print(f"| (j) ≤ 0.3× three check_ssl_cert --dane | {to_ssl:.3f}× | {verdict(to_ssl <= 0.3)} |")
else:
    print("| target | measured | |")
    print("|---|---|---|")
    print("| (j) ≤ 1.3× (i') | not measured: check_mx has no DANE yet | |")
    print("| (j) ≤ 0.3× three check_ssl_cert --dane | not measured: check_mx has no DANE yet | |")
    plain_to_ssl = statistics.median(times("plain")) / statistics.median(ssl["times"])
    print(f"\nFor scale: (i') takes {plain_to_ssl:.3f}× the three check_ssl_cert runs.")
PY
