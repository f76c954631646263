#!/usr/bin/env bash
# bench/compare.sh: compare smtpbox builds on (a) one up server (--no-cache)
# and (b) a cache hit, paired against the C floor, in alternating rounds.
#
#   bash bench/compare.sh LABEL=BINARY [LABEL=BINARY...]
#
# e.g. bash bench/compare.sh dynamic=target/release/smtpbox \
#          static=/tmp/x/target/x86_64-unknown-linux-gnu/release/smtpbox
# Prints a table (stdout); writes nothing in the repository.
# Environment: BENCH_PORT (default 3627), BENCH_ROUNDS (20), BENCH_RUNS (30).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
PORT=${BENCH_PORT:-3627}
ROUNDS=${BENCH_ROUNDS:-20}
RUNS=${BENCH_RUNS:-30}
PYTHON=$(command -v /usr/bin/python3 || command -v python3)
[ $# -ge 1 ] || { echo "usage: $0 LABEL=BINARY..." >&2; exit 2; }

bench_tmp compare
build_helpers
start_server "$TMP/instant_server" "$PORT" 127.0.0.1

declare -A CMD
NAMES=(floor)
CMD[floor]="$TMP/floor 127.0.0.1 $PORT"
for spec in "$@"; do
    label=${spec%%=*}
    bin=$(realpath "${spec#*=}")
    mkdir -p "$TMP/$label/bin"
    ln -s "$bin" "$TMP/$label/bin/smtpdcheck"
    CMD[$label:a]="$TMP/$label/bin/smtpdcheck --no-cache --port $PORT 127.0.0.1"
    # hyperfine -N cannot set a per-command environment: all builds share one cache (warmed below).
    CMD[$label:b]="$TMP/$label/bin/smtpdcheck --cache-ttl-up 86400 --port $PORT 127.0.0.1"
    NAMES+=("$label:a" "$label:b")
    echo "$label: $bin ($(stat -c %s "$bin") bytes; $(file -b "$bin" | cut -d, -f1-2))" >&2
done
export XDG_CACHE_HOME=$TMP/cache
mkdir -p "$XDG_CACHE_HOME"
for name in "${NAMES[@]}"; do
    rc=0; ${CMD[$name]} >/dev/null 2>&1 || rc=$?
    case $name in floor) [ $rc -eq 0 ] ;; *) [ $rc -eq 1 ] ;; esac || { echo "$name: exit $rc" >&2; exit 1; }
done

for r in $(seq "$ROUNDS"); do
    order=("${NAMES[@]}")
    if [ $((r % 2)) -eq 0 ]; then
        order=(); for ((i = ${#NAMES[@]} - 1; i >= 0; i--)); do order+=("${NAMES[$i]}"); done
    fi
    args=()
    for name in "${order[@]}"; do args+=(-n "$name" "${CMD[$name]}"); done
    hyperfine -N -i --style none --warmup 20 --runs "$RUNS" --export-json "$TMP/r_$r.json" "${args[@]}" >/dev/null 2>&1
    echo "round $r/$ROUNDS done" >&2
done

"$PYTHON" - "$TMP" "$1" <<'PY'
import glob, json, os, statistics, sys
tmp, first = sys.argv[1], sys.argv[2].split("=", 1)[0]
rounds = []
for p in sorted(glob.glob(os.path.join(tmp, "r_*.json"))):
    rounds.append({r["command"]: (r["times"], r["user"] + r["system"]) for r in json.load(open(p))["results"]})
names = list(rounds[0])
def paired(a, b):
    v = [statistics.median(r[a][0]) / statistics.median(r[b][0]) for r in rounds]
    return f"{statistics.median(v):.2f} ({min(v):.2f}–{max(v):.2f})"
print(f"load average now: {open('/proc/loadavg').read().split()[:3]}; {len(rounds)} rounds × {len(rounds[0]['floor'][0])} runs")
print("| command | wall median | user+sys | ratio to floor (paired) | ratio to the first build (paired) |")
print("|---|---|---|---|---|")
order = ["floor"] + sorted((n for n in names if n != "floor"), key=lambda n: (n.split(":")[1], n))
for n in order:
    t = [x for r in rounds for x in r[n][0]]
    cpu = statistics.median(r[n][1] for r in rounds)
    rel = paired(n, f"{first}:{n.split(':')[1]}") if n != "floor" else "—"
    print(f"| {n} | {statistics.median(t)*1000:.3f} ms | {cpu*1000:.3f} ms | {paired(n, 'floor')} | {rel} |")
PY
