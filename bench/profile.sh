#!/usr/bin/env bash
# bench/profile.sh: where the time of one smtpdcheck probe goes.
#
#   bash bench/profile.sh [BINARY]      # default: target/release/smtpbox (not rebuilt)
#
# Starts bench/instant_server.c on loopback, then for the C floor, (a)
# smtpdcheck --no-cache, (b) smtpdcheck with a cache hit and check_smtp:
# strace -c -f (syscall counts), perf stat -r 50 (task-clock, page faults,
# context switches) and a perf record of 300 runs, reported per DSO and per
# symbol. Prints to stdout; writes nothing in the repository.
# Environment: BENCH_PORT (default 3626), PERF_RUNS (default 50).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
BIN=$(realpath "${1:-target/release/smtpbox}")
PORT=${BENCH_PORT:-3626}
PERF_RUNS=${PERF_RUNS:-50}

bench_tmp profile
build_helpers
mkdir -p "$TMP/bin" "$TMP/cache"
ln -s "$BIN" "$TMP/bin/smtpdcheck"
export XDG_CACHE_HOME=$TMP/cache
start_server "$TMP/instant_server" "$PORT" 127.0.0.1

declare -A CMD
NAMES=(floor smtpdcheck cache_hit check_smtp)
CMD[floor]="$TMP/floor 127.0.0.1 $PORT"
CMD[smtpdcheck]="$TMP/bin/smtpdcheck --no-cache --port $PORT 127.0.0.1"
CMD[cache_hit]="$TMP/bin/smtpdcheck --cache-ttl-up 86400 --port $PORT 127.0.0.1"
CMD[check_smtp]="$CHECK_SMTP -H 127.0.0.1 -p $PORT"
${CMD[cache_hit]} >/dev/null || true # warm the cache

echo "binary: $BIN ($(stat -c %s "$BIN") bytes); $(file -b "$BIN" | cut -d, -f1-2)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for name in "${NAMES[@]}"; do
    echo
    echo "=== $name: ${CMD[$name]//$TMP/\$T}"
    echo "--- strace -c -f"
    # shellcheck disable=SC2086
    strace -c -S calls -f -o "$TMP/strace.txt" ${CMD[$name]} >/dev/null 2>&1 || true
    sed -n '1p;3,14p' "$TMP/strace.txt"
    tail -n 1 "$TMP/strace.txt"
    if command -v perf >/dev/null; then
        echo "--- perf stat -r $PERF_RUNS"
        # shellcheck disable=SC2086
        perf stat -r "$PERF_RUNS" -e task-clock,page-faults,context-switches,cpu-migrations \
            ${CMD[$name]} 2>&1 >/dev/null | grep -E 'task-clock|page-faults|context|migrations|elapsed' || true
        echo "--- perf record (cpu-clock, 300 runs): share of samples per DSO"
        printf '%s\n' "for i in \$(seq 300); do ${CMD[$name]} >/dev/null; done" >"$TMP/loop.sh"
        perf record -q -e cpu-clock -F 20000 -o "$TMP/perf.data" -- sh "$TMP/loop.sh" >/dev/null 2>&1 || true
        comm=$(basename "${CMD[$name]%% *}")
        comm=${comm:0:15}
        # --comm filtering drops most samples in this perf; filter and renormalise here.
        perf report -i "$TMP/perf.data" --sort comm,dso --stdio 2>/dev/null | grep -v '^#' |
            awk -v c="$comm" '$2 == c { p = $1; sub("%", "", p); t += p; v[$3] = p }
                END { for (k in v) printf "  %6.1f%%  %s\n", 100 * v[k] / t, k }' | sort -rn || true
        echo "--- top symbols (share of the process's samples)"
        perf report -i "$TMP/perf.data" --sort comm,dso,sym --stdio 2>/dev/null | grep -v '^#' |
            awk -v c="$comm" '$2 == c { p = $1; sub("%", "", p); t += p; n++; l[n] = $0; q[n] = p }
                END { for (i = 1; i <= n && i <= 15; i++) { s = l[i]; sub(/^ *[0-9.]+% +[^ ]+ +/, "", s); printf "  %6.1f%%  %s\n", 100 * q[i] / t, s } }' || true
    fi
done
