# Helpers of tests/interop/run.sh (sourced): one ok/FAIL line per check,
# commands whose output is kept, and bounded waits for logs and ports.
# Uses MTAS and STATE from run.sh.
# ---------------------------------------------------------------- reporting
PASSED=0 FAILED=0
STATE=""
ok() { PASSED=$((PASSED + 1)); echo "ok   - $*"; }
fail() { FAILED=$((FAILED + 1)); echo "FAIL - $*"; }
note() { echo "# $*"; }
want_mta() { case " $MTAS " in *" $1 "*) return 0 ;; esac; return 1; }

# show the last lines of a file, indented (for FAIL diagnostics)
show() { [ -f "$1" ] && tail -n "${2:-15}" "$1" | sed 's/^/    | /' || true; }

# run CMD..., store its stdout+stderr in $OUT, set RC (never aborts)
OUTN=0
run() {
    OUTN=$((OUTN + 1))
    OUT=$STATE/out/$OUTN.txt
    RC=0
    "$@" >"$OUT" 2>&1 </dev/null || RC=$?
    printf '$ %s\n' "$*" >"$OUT.cmd"
    echo "$RC" >"$OUT.rc"
}
# keep NAME: keep the last command's output (and exit status) for the docs
keep() { cp "$OUT" "$STATE/transcripts/$1.txt"; cp "$OUT.rc" "$STATE/transcripts/$1.txt.rc"; }

# check NAME WANT-RC CMD...: one ok/FAIL line
check() {
    local name=$1 want=$2
    shift 2
    run "$@"
    if [ "$RC" = "$want" ]; then
        ok "$name (exit $RC)"
    else
        fail "$name (exit $RC, expected $want)"
        cat "$OUT.cmd" | sed 's/^/    | /'
        show "$OUT" 25
    fi
}

logsize() { if [ -f "$1" ]; then stat -c %s "$1"; else echo 0; fi; }

# wait_log FILE OFFSET SECONDS PATTERN...: every extended regex PATTERN must
# appear in FILE after byte OFFSET within SECONDS
wait_log() {
    local file=$1 off=$2 secs=$3
    shift 3
    local deadline=$(($(date +%s) + secs)) p missing
    while :; do
        missing=0
        for p in "$@"; do
            if ! tail -c +"$((off + 1))" "$file" 2>/dev/null | grep -Eq -- "$p"; then
                missing=1
                break
            fi
        done
        [ "$missing" = 0 ] && return 0
        [ "$(date +%s)" -ge "$deadline" ] && return 1
        sleep 0.3
    done
}

# port_open PORT [ADDRESS]: something accepts TCP on ADDRESS (127.0.0.1):PORT
port_open() { (exec 3<>"/dev/tcp/${2:-127.0.0.1}/$1") 2>/dev/null; }

# wait_port PORT open|closed SECONDS [ADDRESS]
wait_port() {
    local i
    for ((i = 0; i < $3 * 5; i++)); do
        if port_open "$1" "${4:-}"; then [ "$2" = open ] && return 0; else [ "$2" = closed ] && return 0; fi
        sleep 0.2
    done
    return 1
}
