#!/usr/bin/env bash
# bench/run.sh: build smtpbox (release) and measure it against a C floor and
# check_smtp on loopback, then write docs/benchmarks.md (with the policy
# service's section from bench/policy.sh and check_mx's from
# bench/check_mx.sh appended).
#
#   bash bench/run.sh
#
# Environment (all optional):
#   BENCH_PORT=3625     port of the local servers (up on 127.0.0.1, silent on
#                       127.0.0.2 ... 127.0.0.11; only loopback is bound)
#   BENCH_ROUNDS=20     hyperfine rounds for the fast commands; each round runs
#                       every command (order reversed every other round), and
#                       ratios are taken round by round (paired)
#   BENCH_RUNS=30       timed runs per command per round (after 20 warm-ups)
#   BENCH_SILENT_RUNS=10  timed runs per silent-server scenario
#   BENCH_RSS_RUNS=7    GNU time runs per scenario for peak RSS (median)
#   BENCH_OUT=docs/benchmarks.md
#   BENCH_BASELINE=reference  the build smtpdcheck's (a) and (b) are held to
#                       (within 5 %): the commit REFERENCE_REV below, built once
#                       into target/bench-reference/ (needs the repository's
#                       history and the crates of its Cargo.lock). It is timed
#                       for (a) and (b) in the same rounds as this build and then
#                       run by run, taking turns with this build and the floor
#                       (bench/alternate.c), so a change is measured paired rather
#                       than against another hour's numbers.
#   BENCH_BASELINE=PATH another smtpbox build to compare with instead, e.g.
#                       git worktree add --detach /tmp/base REV &&
#                       (cd /tmp/base && cargo build --release) &&
#                       BENCH_BASELINE=/tmp/base/target/release/smtpbox bash bench/run.sh
#   BENCH_BASELINE=none no comparison with another build
#   BENCH_ALTERNATE_ROUNDS=2000  rounds of the run-by-run comparison (each runs
#                       the floor, (a) and (b) of both builds once, in turn)
#
# Needs gcc, cargo, python3; hyperfine, check_smtp (monitoring-plugins-standard),
# GNU time, strace and valgrind are installed with apt-get when missing and
# running as root (strace and valgrind only give the profile counts, which
# are left out without them); bench/policy.sh and bench/check_mx.sh install
# what they need besides (python3-dnspython; check_ssl_cert from
# monitoring-plugins-contrib and dig for (j)).
set -euo pipefail

cd "$(dirname "$0")/.."
# shellcheck source=bench/lib.sh
. bench/lib.sh
ROOT=$PWD
PORT=${BENCH_PORT:-3625}
ROUNDS=${BENCH_ROUNDS:-20}
RUNS=${BENCH_RUNS:-30}
WARMUP=20
SILENT_RUNS=${BENCH_SILENT_RUNS:-10}
RSS_RUNS=${BENCH_RSS_RUNS:-7}
OUT=${BENCH_OUT:-docs/benchmarks.md}
GNU_TIME=/usr/bin/time
COMMAND_LINE="bash bench/run.sh"
for v in BENCH_PORT BENCH_ROUNDS BENCH_RUNS BENCH_SILENT_RUNS BENCH_RSS_RUNS BENCH_OUT BENCH_BASELINE BENCH_ALTERNATE_ROUNDS; do
    if [ -n "${!v:-}" ]; then COMMAND_LINE="$v=${!v} $COMMAND_LINE"; fi
done

say() { printf 'bench: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
DATE_AT_START=$(date -u '+%Y-%m-%d %H:%M:%S UTC')

# --- tools -------------------------------------------------------------------
missing=()
command -v hyperfine >/dev/null || missing+=(hyperfine)
[ -x "$CHECK_SMTP" ] || missing+=(monitoring-plugins-standard)
[ -x "$GNU_TIME" ] || missing+=(time)
optional=() # only for the profile counts
command -v strace >/dev/null || optional+=(strace)
command -v valgrind >/dev/null || optional+=(valgrind)
apt_install() {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2 ||
        { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >&2; }
}
can_apt=false
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then can_apt=true; fi
if [ ${#missing[@]} -gt 0 ]; then
    $can_apt || die "missing: ${missing[*]} (install them, or run as root to let this script apt-get them)"
    say "installing ${missing[*]}"
    apt_install "${missing[@]}"
fi
if [ ${#optional[@]} -gt 0 ]; then
    if $can_apt; then
        say "installing ${optional[*]}"
        apt_install "${optional[@]}" || say "could not install ${optional[*]}: fewer profile counts"
    else
        say "without ${optional[*]}: fewer profile counts"
    fi
fi
PYTHON=$(command -v /usr/bin/python3 || command -v python3) || die "python3 is needed"
command -v gcc >/dev/null || die "gcc is needed"

# --- build -------------------------------------------------------------------
say "cargo build --release"
cargo build --release >&2
BIN=$ROOT/target/release/smtpbox
[ -x "$BIN" ] || die "no $BIN"

# The reference for "does new code slow smtpdcheck's hot path": the build
# of 2026-11-23 whose (a) and (b) figures (about 1.3x and 1.03x the floor)
# were still the current ones on 2026-11-29, when check_mx and --json were
# to stay within 5 % of them. Ratios to the floor drift with this machine's
# load from hour to hour, so the two builds are compared in the same run.
REFERENCE_REV=8bfe8df59db4c40dbd4e4d2e0fadd36ab5c78530

# reference_build: prints the path of the reference build, building it
# from git history on first use (its own tree and target directory under
# target/bench-reference/, its Cargo.lock, the same release profile).
reference_build() {
    local dir=$ROOT/target/bench-reference/$REFERENCE_REV
    local bin=$dir/target/release/smtpbox
    if [ ! -x "$bin" ]; then
        git -C "$ROOT" cat-file -e "$REFERENCE_REV^{commit}" 2>/dev/null ||
            { say "the reference build needs commit $REFERENCE_REV: a clone with its history"; return 1; }
        say "building the reference $REFERENCE_REV into $dir (once)"
        rm -rf "$dir/tree" && mkdir -p "$dir/tree"
        git -C "$ROOT" archive "$REFERENCE_REV" | tar -x -C "$dir/tree" || return 1
        (cd "$dir/tree" && CARGO_TARGET_DIR=$dir/target cargo build --release --locked >&2) || return 1
    fi
    echo "$bin"
}

bench_tmp bench

build_helpers -Wall
mkdir -p "$TMP/bin" "$TMP/cache"
ln -s "$BIN" "$TMP/bin/smtpdcheck"
ln -s "$BIN" "$TMP/bin/etrn"
# Cache hits read $XDG_CACHE_HOME/smtpbox; --no-cache runs never touch it.
export XDG_CACHE_HOME=$TMP/cache
case ${BENCH_BASELINE:-reference} in
none) BASELINE= ;;
reference) BASELINE=$(reference_build) || die "no reference build (BENCH_BASELINE=PATH or none to do without)" ;;
*) BASELINE=$(realpath "$BENCH_BASELINE") && [ -x "$BASELINE" ] || die "BENCH_BASELINE: no executable ${BENCH_BASELINE}" ;;
esac
if [ -n "$BASELINE" ]; then
    mkdir -p "$TMP/baseline"
    ln -s "$BASELINE" "$TMP/baseline/smtpdcheck"
fi

# --- servers -------------------------------------------------------------------
SILENT_ADDRS=(127.0.0.{2..11})
start_server "$TMP/instant_server" "$PORT" 127.0.0.1 "${SILENT_ADDRS[@]}"

# --- the commands ------------------------------------------------------------
hosts() { local i; for i in $(seq "$1"); do printf ' h%d.test' "$i"; done; }
silent() { local i; for i in $(seq "$1"); do printf ' %s' "${SILENT_ADDRS[$((i - 1))]}"; done; }

declare -A CMD
NAMES=(true floor smtpdcheck cache_hit check_smtp etrn_1 etrn_10 etrn_100)
CMD[true]="/bin/true"
CMD[floor]="$TMP/floor 127.0.0.1 $PORT"
CMD[smtpdcheck]="$TMP/bin/smtpdcheck --no-cache --port $PORT 127.0.0.1"
# A long up-TTL keeps the warmed entry fresh for the whole run (default 10 s).
CMD[cache_hit]="$TMP/bin/smtpdcheck --cache-ttl-up 86400 --port $PORT 127.0.0.1"
CMD[check_smtp]="$CHECK_SMTP -H 127.0.0.1 -p $PORT"
for n in 1 10 100; do
    CMD[etrn_$n]="$TMP/bin/etrn --starttls off --helo bench.test --port $PORT 127.0.0.1$(hosts $n)"
done
PROFILED=(true floor smtpdcheck cache_hit check_smtp etrn_10)
if [ -n "$BASELINE" ]; then
    # The same two commands through the baseline's link (the same cache file).
    NAMES+=(baseline_smtpdcheck baseline_cache_hit)
    PROFILED+=(baseline_smtpdcheck baseline_cache_hit)
    CMD[baseline_smtpdcheck]="$TMP/baseline/smtpdcheck --no-cache --port $PORT 127.0.0.1"
    CMD[baseline_cache_hit]="$TMP/baseline/smtpdcheck --cache-ttl-up 86400 --port $PORT 127.0.0.1"
fi
SILENT_NAMES=(silent_1 silent_3 silent_10)
for n in 1 3 10; do
    CMD[silent_$n]="$TMP/bin/smtpdcheck --no-cache --timeout 1 --port $PORT$(silent $n) 127.0.0.1"
done

# --- sanity: every command does what it is measured for ----------------------
expect() { # name, expected status, expected stdout pattern (grep -E), [stderr pattern]
    local name=$1 status=$2 pattern=$3 errpat=${4:-} rc=0
    ${CMD[$name]} >"$TMP/o" 2>"$TMP/e" || rc=$?
    [ "$rc" -eq "$status" ] || die "$name: exit $rc, expected $status: $(cat "$TMP/o" "$TMP/e")"
    if [ -z "$pattern" ]; then
        [ ! -s "$TMP/o" ] || die "$name: unexpected output: $(cat "$TMP/o")"
    elif [ "$pattern" != any ]; then
        grep -Eq "$pattern" "$TMP/o" || die "$name: unexpected output: $(cat "$TMP/o")"
    fi
    if [ -n "$errpat" ]; then grep -Eq "$errpat" "$TMP/e" || die "$name: unexpected stderr: $(cat "$TMP/e")"; fi
}
say "sanity checks"
expect floor 0 ''
expect smtpdcheck 1 '^127\.0\.0\.1$'
[ ! -e "$XDG_CACHE_HOME/smtpbox" ] || die "--no-cache wrote a cache"
expect cache_hit 1 '^127\.0\.0\.1$'                        # warms the cache
[ -e "$XDG_CACHE_HOME/smtpbox" ] || die "the cache was not written to $XDG_CACHE_HOME/smtpbox"
CMD[cache_hit_v]="${CMD[cache_hit]/--port/-v --port}"
expect cache_hit_v 1 '^127\.0\.0\.1$' 'up, cached'          # and it is a hit
expect check_smtp 0 '^SMTP OK'
for n in 1 10 100; do
    expect etrn_$n 0 ''                                     # quiet without -v
    CMD[etrn_${n}_v]="${CMD[etrn_$n]/--starttls/-v --starttls}"
    expect etrn_${n}_v 0 any
    [ "$(grep -c 'accepted (250 Queuing started)' "$TMP/o" "$TMP/e" | awk -F: '{s+=$2} END {print s}')" -eq "$n" ] ||
        die "etrn_$n: not $n accepted ETRNs: $(cat "$TMP/o" "$TMP/e")"
done
if [ -n "$BASELINE" ]; then
    expect baseline_smtpdcheck 1 '^127\.0\.0\.1$'
    CMD[baseline_cache_hit_v]="${CMD[baseline_cache_hit]/--port/-v --port}"
    expect baseline_cache_hit_v 1 '^127\.0\.0\.1$' 'up, cached'
fi
CMD[silent_1_v]="${CMD[silent_1]/--no-cache/-v --no-cache}"
expect silent_1_v 1 '^127\.0\.0\.1$' 'timed out'

# --- timing ------------------------------------------------------------------
hf_args() { # names... -> -n NAME CMD pairs
    local name
    for name in "$@"; do printf '%s\0%s\0%s\0' -n "$name" "${CMD[$name]}"; done
}
for r in $(seq "$ROUNDS"); do
    order=("${NAMES[@]}")
    if [ $((r % 2)) -eq 0 ]; then
        order=(); for ((i = ${#NAMES[@]} - 1; i >= 0; i--)); do order+=("${NAMES[$i]}"); done
    fi
    say "round $r/$ROUNDS: ${order[*]}"
    mapfile -d '' args < <(hf_args "${order[@]}")
    hyperfine -N -i --style basic --warmup "$WARMUP" --runs "$RUNS" \
        --export-json "$TMP/fast_$r.json" "${args[@]}" >&2
done
if [ -n "$BASELINE" ]; then
    ALTERNATE_ROUNDS=${BENCH_ALTERNATE_ROUNDS:-2000}
    say "run by run against the baseline: $ALTERNATE_ROUNDS rounds"
    alternating=()
    for name in floor smtpdcheck baseline_smtpdcheck cache_hit baseline_cache_hit; do
        # shellcheck disable=SC2206 # the commands hold no quoted words
        alternating+=(-- "$name" ${CMD[$name]})
    done
    "$TMP/alternate" 50 "$ALTERNATE_ROUNDS" "$TMP/alternate.txt" "${alternating[@]}" ||
        die "the run-by-run comparison failed"
fi
say "silent servers (each run takes about 1 s)"
mapfile -d '' args < <(hf_args "${SILENT_NAMES[@]}")
hyperfine -N -i --style basic --warmup 1 --runs "$SILENT_RUNS" --export-json "$TMP/silent.json" "${args[@]}" >&2

# --- peak RSS ----------------------------------------------------------------
say "peak RSS (GNU time %M, $RSS_RUNS runs each)"
: >"$TMP/rss.tsv"
for name in "${NAMES[@]}" "${SILENT_NAMES[@]}"; do
    runs=$RSS_RUNS
    case $name in silent_*) runs=3 ;; esac
    for _ in $(seq "$runs"); do
        # shellcheck disable=SC2086
        "$GNU_TIME" -f "$name	%M" -a -o "$TMP/rss.tsv" ${CMD[$name]} >/dev/null 2>&1 || true
    done
done

# --- profile counts: repeatable numbers that explain the times ----------------
# Minor page faults (GNU time %R, median of the RSS runs' count), system calls
# (strace -f -c) and instructions (callgrind; the same for the same binary
# and input whatever else the machine does).
say "profile counts"
: >"$TMP/counts.tsv"
for name in "${PROFILED[@]}"; do
    for _ in 1 2 3 4 5; do
        # shellcheck disable=SC2086
        "$GNU_TIME" -f "$name	faults	%R" -a -o "$TMP/counts.tsv" ${CMD[$name]} >/dev/null 2>&1 || true
    done
    if command -v strace >/dev/null; then
        rm -f "$TMP/strace.txt"
        # shellcheck disable=SC2086
        strace -f -c -o "$TMP/strace.txt" ${CMD[$name]} >/dev/null 2>&1 || true
        printf '%s\tsyscalls\t%s\n' "$name" "$(awk '$NF == "total" {print $4}' "$TMP/strace.txt")" >>"$TMP/counts.tsv"
    fi
    if command -v valgrind >/dev/null; then
        # shellcheck disable=SC2086
        instructions=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null ${CMD[$name]} 2>&1 >/dev/null |
            sed -n 's/.*Collected : *\([0-9]*\).*/\1/p') || true # the command's own status
        printf '%s\tinstructions\t%s\n' "$name" "$instructions" >>"$TMP/counts.tsv"
    fi
done

# --- report --------------------------------------------------------------------
{
    echo "date=$DATE_AT_START"
    echo "load=$LOAD_AT_START"
    echo "nproc=$(nproc)"
    echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "kernel=$(uname -sr)"
    echo "os=$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
    echo "rustc=$(rustc --version)"
    echo "gcc=$(gcc --version | head -1)"
    echo "hyperfine=$(hyperfine --version)"
    echo "check_smtp=$("$CHECK_SMTP" -V 2>&1 | head -1)"
    echo "binsize=$(stat -c %s "$BIN")"
    echo "baseline=${BASELINE:+$(stat -c %s "$BASELINE")}"
    case ${BENCH_BASELINE:-reference} in
    reference) echo "baseline_name=the reference build (${REFERENCE_REV:0:7}, 2026-11-23)" ;;
    *) echo "baseline_name=the \`BENCH_BASELINE\` build" ;;
    esac
    echo "needed=$(readelf -d "$BIN" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | paste -sd ' ')"
    echo "elf=$(file -b "$BIN" | cut -d, -f1-2)"
    echo "command=$COMMAND_LINE"
    echo "port=$PORT"
    echo "rounds=$ROUNDS"
    echo "runs=$RUNS"
    echo "warmup=$WARMUP"
    echo "silent_runs=$SILENT_RUNS"
    echo "rss_runs=$RSS_RUNS"
    echo "load_end=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$TMP/meta.txt"
for name in "${NAMES[@]}" "${SILENT_NAMES[@]}"; do
    c=${CMD[$name]//$TMP/\$BENCH}
    case $name in etrn_10 | etrn_100) c="${c%% h1.test *} h1.test h2.test ... h${name#etrn_}.test" ;; esac
    printf '%s\t%s\n' "$name" "$c"
done >"$TMP/commands.tsv"

mkdir -p "$(dirname "$OUT")"
"$PYTHON" - "$TMP" "$OUT" <<'PY'
import json, statistics, sys, glob, os

tmp, out = sys.argv[1], sys.argv[2]
meta = dict(line.rstrip("\n").split("=", 1) for line in open(os.path.join(tmp, "meta.txt")))
commands = dict(line.rstrip("\n").split("\t", 1) for line in open(os.path.join(tmp, "commands.tsv")))
MIB = 1024 * 1024

rounds = []
cpu = {}
for path in sorted(glob.glob(os.path.join(tmp, "fast_*.json"))):
    data = json.load(open(path))
    rounds.append({r["command"]: r["times"] for r in data["results"]})
    for r in data["results"]:
        cpu.setdefault(r["command"], []).append(r["user"] + r["system"])
sdata = json.load(open(os.path.join(tmp, "silent.json")))["results"]
silent = {r["command"]: r["times"] for r in sdata}
for r in sdata:
    cpu.setdefault(r["command"], []).append(r["user"] + r["system"])

counts = {}
for line in open(os.path.join(tmp, "counts.tsv")):
    parts = line.rstrip("\n").split("\t")
    if len(parts) == 3 and parts[2].isdigit():
        counts.setdefault((parts[0], parts[1]), []).append(int(parts[2]))

def count(name, what):
    v = counts.get((name, what))
    return f"{int(statistics.median(v)):,}" if v else "—"

rss = {}
for line in open(os.path.join(tmp, "rss.tsv")):
    parts = line.rstrip("\n").split("\t")
    if len(parts) == 2 and parts[1].isdigit():
        rss.setdefault(parts[0], []).append(int(parts[1]))

def all_times(name):
    if name in silent:
        return silent[name]
    return [t for r in rounds for t in r[name]]

def med(name):
    return statistics.median(all_times(name))

def paired(a, b):
    """Median (min-max) over rounds of median(a)/median(b) within the round."""
    ratios = [statistics.median(r[a]) / statistics.median(r[b]) for r in rounds]
    return statistics.median(ratios), min(ratios), max(ratios)

def ms(seconds):
    return f"{seconds * 1000:.3f} ms" if seconds < 0.1 else f"{seconds:.3f} s"

def rss_mib(name):
    v = rss.get(name)
    return statistics.median(v) * 1024 / MIB if v else None

def verdict(ok):
    return "**met**" if ok else "**NOT met**"

def fmt_ratio(t):
    return f"{t[0]:.2f} ({t[1]:.2f}–{t[2]:.2f})"

labels = {
    "true": "`/bin/true` (fork+exec+exit only, reference)",
    "floor": "(c) C floor `floor` (getaddrinfo, connect, read one line)",
    "smtpdcheck": "(a) `smtpdcheck --no-cache`, one up server",
    "cache_hit": "(b) `smtpdcheck`, cache hit",
    "check_smtp": "(d) `check_smtp`",
    "etrn_1": "(e) `etrn`, 1 client host",
    "etrn_10": "(e) `etrn`, 10 client hosts",
    "etrn_100": "(e) `etrn`, 100 client hosts",
    "silent_1": "(f) `smtpdcheck --timeout 1`, 1 silent + 1 up",
    "silent_3": "(f) `smtpdcheck --timeout 1`, 3 silent + 1 up",
    "silent_10": "(f) `smtpdcheck --timeout 1`, 10 silent + 1 up",
    "baseline_smtpdcheck": f"(a) the same, {meta.get('baseline_name', '')}",
    "baseline_cache_hit": f"(b) the same, {meta.get('baseline_name', '')}",
}
baseline = "baseline_smtpdcheck" in rounds[0]
base_names = ["baseline_smtpdcheck", "baseline_cache_hit"] if baseline else []
if baseline:
    r_base_a = paired("smtpdcheck", "baseline_smtpdcheck")
    r_base_b = paired("cache_hit", "baseline_cache_hit")
    # Run by run (bench/alternate.c): per round, one run of each command.
    by_round = {}
    for line in open(os.path.join(tmp, "alternate.txt")):
        number, name, ns = line.split()
        by_round.setdefault(int(number), {})[name] = int(ns)
    alt_rounds = [r for r in by_round.values() if len(r) == 5]

    def run_by_run(a, b):
        """Median and quartiles over rounds of a/b, and median(a)/median(b)."""
        ratios = sorted(r[a] / r[b] for r in alt_rounds)
        q = statistics.quantiles(ratios, n=4)
        of_medians = statistics.median(r[a] for r in alt_rounds) / statistics.median(r[b] for r in alt_rounds)
        return statistics.median(ratios), q[0], q[2], of_medians

    alt_base_a = run_by_run("smtpdcheck", "baseline_smtpdcheck")
    alt_base_b = run_by_run("cache_hit", "baseline_cache_hit")

targets = {}
r_floor_a, r_cs_a, r_floor_b = paired("smtpdcheck", "floor"), paired("smtpdcheck", "check_smtp"), paired("cache_hit", "floor")
targets["smtpdcheck"] = (f"≤ 1.3× floor: {verdict(r_floor_a[0] <= 1.3)}; ≤ 0.6× check_smtp: {verdict(r_cs_a[0] <= 0.6)}")
targets["cache_hit"] = f"≤ 1.0× floor: {verdict(r_floor_b[0] <= 1.0)}"
targets["etrn_10"] = f"≤ 10 ms: {verdict(med('etrn_10') <= 0.010)}"
targets["etrn_100"] = f"≤ 40 ms: {verdict(med('etrn_100') <= 0.040)}"
for n in ("silent_1", "silent_3", "silent_10"):
    targets[n] = f"≤ 1.1 s: {verdict(med(n) <= 1.1)}"

smtpbox_scenarios = ["smtpdcheck", "cache_hit", "etrn_1", "etrn_10", "etrn_100", "silent_1", "silent_3", "silent_10"]
binsize = int(meta["binsize"])
n_fast = len(rounds) * len(rounds[0]["floor"])

L = []
L.append("# Benchmarks")
L.append("")
L.append(f"Written by `{meta['command']}` on {meta['date']}. Do not edit by hand; run the script again.")
L.append("")
L.append("## Machine")
L.append("")
L.append(f"* CPUs (`nproc`): {meta['nproc']}; CPU: {meta['cpu']}")
L.append(f"* Kernel: {meta['kernel']}; OS: {meta['os']}")
L.append(f"* Load average (1/5/15 min) at start: {meta['load']}; at the end: {meta['load_end']}")
L.append(f"* {meta['rustc']}; {meta['gcc']}; {meta['hyperfine']}; check_smtp: {meta['check_smtp']}")
L.append("")
L.append("## Method")
L.append("")
L.append(f"* Servers: `bench/instant_server.c` (epoll, one thread) on loopback port {meta['port']}: it greets "
         "`220 bench ESMTP` at once on 127.0.0.1 and answers EHLO, HELO, ETRN and QUIT at once; on "
         "127.0.0.2–127.0.0.11 it accepts and never sends a byte (silent servers).")
L.append(f"* Wall time of the whole process, hyperfine `-N` (no shell), failures ignored (smtpdcheck exits 1 "
         f"when a server is up; every command's status and output are checked once before timing). Fast "
         f"commands: {meta['rounds']} rounds × {meta['runs']} runs after {meta['warmup']} warm-ups "
         f"({n_fast} runs each), all commands in each round, order reversed every other round. Medians over "
         f"all runs; user+sys is hyperfine's mean per run (median over rounds); **ratios are paired**: the median over rounds of the per-round ratio of medians, with "
         f"min–max over rounds. Silent-server scenarios: {meta['silent_runs']} runs each.")
L.append(f"* Peak RSS: GNU time `%M`, median of {meta['rss_runs']} runs (3 for the silent scenarios). "
         "It includes what the process inherited at fork from `time` itself, so `/bin/true` shows the tool's floor.")
L.append("* (b) uses the default cache location with `XDG_CACHE_HOME` set to a bench temp dir, warmed by one "
         "run before timing; `--cache-ttl-up 86400` keeps the warmed entry fresh for the whole run "
         "(default 10 s), and a `-v` run checks it is answered `up, cached`.")
if baseline:
    L.append(f"* Baseline: {meta['baseline_name']} ({int(meta['baseline']):,} bytes; `BENCH_BASELINE` in the script) "
             "runs (a) and (b) in the same rounds, through its own link and the same cache file; its "
             "rows and the ratios \"to the baseline\" compare the two builds paired, round by round. "
             "Then `bench/alternate.c` runs the floor, (a) and (b) of both builds one run each per round, "
             "taking turns, so that two runs compared are at most a few milliseconds apart; the targets "
             "below use these run-by-run ratios.")
L.append("")
L.append("## Results")
L.append("")
L.append("| scenario | wall median (min) | ratio to floor (paired) | user+sys | peak RSS | target |")
L.append("|---|---|---|---|---|---|")
for name in ["floor", "smtpdcheck", "cache_hit", *base_names, "check_smtp", "etrn_1", "etrn_10",
             "etrn_100", "silent_1", "silent_3", "silent_10", "true"]:
    times = all_times(name)
    ratio = fmt_ratio(paired(name, "floor")) if name not in silent else "—"
    if name == "smtpdcheck":
        ratio += f"; to check_smtp: {fmt_ratio(r_cs_a)}"
    if baseline and name in ("smtpdcheck", "cache_hit"):
        ratio += f"; to the baseline: {fmt_ratio(r_base_a if name == 'smtpdcheck' else r_base_b)}"
    r = rss_mib(name)
    rss_s = f"{r:.2f} MiB" if r is not None else "—"
    target = targets.get(name, "")
    if name in smtpbox_scenarios and r is not None:
        target = (target + "; " if target else "") + f"RSS ≤ 6 MiB: {verdict(r <= 6)}"
    L.append(f"| {labels[name]} | {ms(statistics.median(times))} ({ms(min(times))}) | {ratio} | "
             f"{ms(statistics.median(cpu[name]))} | {rss_s} | {target} |")
L.append("")
L.append(f"Stripped binary `target/release/smtpbox`: **{binsize:,} bytes** ({binsize / MIB:.2f} MiB); "
         f"target ≤ 4 MiB (the budget since DANE and MTA-STS in check_mx): {verdict(binsize <= 4 * MIB)}. Format: {meta['elf']}; shared libraries: {meta['needed']}."
         + (f" The baseline, {meta['baseline_name']}: {int(meta['baseline']):,} bytes." if baseline else ""))
L.append("")
if baseline:
    L.append(f"## This build against {meta['baseline_name']}, run by run")
    L.append("")
    L.append(f"`bench/alternate.c`, {len(alt_rounds)} rounds after 50 warm-up rounds; each round runs the floor, "
             "(a) and (b) of both builds once, in turn (the first command of a round moves on by one each round).")
    L.append("")
    L.append("| ratio | median over rounds (quartiles) | ratio of the medians |")
    L.append("|---|---|---|")
    for label, alt in (("(a) this build / the baseline", alt_base_a), ("(b) this build / the baseline", alt_base_b)):
        L.append(f"| {label} | {alt[0]:.3f} ({alt[1]:.3f}–{alt[2]:.3f}) | {alt[3]:.3f} |")
    for name in ("smtpdcheck", "baseline_smtpdcheck", "cache_hit", "baseline_cache_hit"):
        alt = run_by_run(name, "floor")
        L.append(f"| {labels[name]} / floor | {alt[0]:.3f} ({alt[1]:.3f}–{alt[2]:.3f}) | {alt[3]:.3f} |")
    L.append("")
L.append("## Profile counts")
L.append("")
L.append("Repeatable numbers that explain the times: minor page faults (GNU time `%R`, median of 5 runs), "
         "system calls (`strace -f -c`) and instructions in user space (`valgrind --tool=callgrind`; "
         "the same for the same binary and input, whatever the machine is doing). "
         "docs/performance.md tells what they showed and what was changed.")
L.append("")
L.append("| command | page faults | system calls | instructions |")
L.append("|---|---|---|---|")
for name in ["true", "floor", "smtpdcheck", "cache_hit", *base_names, "check_smtp", "etrn_10"]:
    L.append(f"| {labels[name]} | {count(name, 'faults')} | {count(name, 'syscalls')} | {count(name, 'instructions')} |")
L.append("")
rss_ok = all(rss_mib(n) is not None and rss_mib(n) <= 6 for n in smtpbox_scenarios)
L.append("## Targets")
L.append("")
L.append("| target | measured | |")
L.append("|---|---|---|")
L.append(f"| smtpdcheck, one up server ≤ 1.3× floor | {r_floor_a[0]:.3f}× | {verdict(r_floor_a[0] <= 1.3)} |")
L.append(f"| smtpdcheck, one up server ≤ 0.6× check_smtp | {r_cs_a[0]:.3f}× | {verdict(r_cs_a[0] <= 0.6)} |")
L.append(f"| cache hit ≤ 1.0× floor | {r_floor_b[0]:.3f}× | {verdict(r_floor_b[0] <= 1.0)} |")
if baseline:
    for label, alt in (("(a)", alt_base_a), ("(b)", alt_base_b)):
        L.append(f"| {label} within 5 % of {meta['baseline_name']} (run by run, {len(alt_rounds)} rounds) | "
                 f"{alt[0]:.3f}× | {verdict(alt[0] <= 1.05)} |")
for n in (1, 3, 10):
    L.append(f"| {n} silent + up, `--timeout 1` ≤ 1.1 s | {ms(med(f'silent_{n}'))} | {verdict(med(f'silent_{n}') <= 1.1)} |")
L.append(f"| etrn, 10 hosts ≤ 10 ms | {ms(med('etrn_10'))} | {verdict(med('etrn_10') <= 0.010)} |")
L.append(f"| etrn, 100 hosts ≤ 40 ms | {ms(med('etrn_100'))} | {verdict(med('etrn_100') <= 0.040)} |")
L.append(f"| stripped binary ≤ 4 MiB | {binsize / MIB:.2f} MiB | {verdict(binsize <= 4 * MIB)} |")
worst = max(rss_mib(n) or 0 for n in smtpbox_scenarios)
L.append(f"| peak RSS ≤ 6 MiB in every scenario | max {worst:.2f} MiB | {verdict(rss_ok)} |")
L.append("")
L.append("## Exact commands")
L.append("")
L.append("`$BENCH` is the script's temporary directory; `$BENCH/bin/smtpdcheck` and `$BENCH/bin/etrn` are "
         "symbolic links to `target/release/smtpbox`; the etrn host lists "
         "`h1.test h2.test ... hN.test` are written out in full on the real command lines.")
L.append("")
L.append("```")
L.append(f"{meta['command']}")
for name, cmd in commands.items():
    L.append(f"{name}: {cmd}")
L.append("```")
L.append("")
open(out, "w").write("\n".join(L))
print("\n".join(L))
PY
# (g) and (h): the policy service and --mx, then (k), (l) and the peak RSS of
# the OpenSMTPD filter, in their own script (root only);
# (i): check_mx against check_smtp, and (j): with DANE and MTA-STS against
# plain check_mx and check_ssl_cert --dane (root only), in their own.
{ echo; bash bench/policy.sh "$BIN"; } >>"$OUT"
{ echo; bash bench/check_mx.sh "$BIN"; } >>"$OUT"
say "wrote $OUT"
