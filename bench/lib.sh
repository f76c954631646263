# shellcheck shell=bash
# bench/lib.sh: what the bench scripts share, sourced by them from the
# repository root (`. bench/lib.sh`): a private temporary directory that
# goes away on exit, with the local server stopped first, the C helpers
# built into it, and the start of that server.

# The Monitoring Plugins' check_smtp, where Debian's
# monitoring-plugins-standard installs it: the comparison for smtpdcheck
# and check_mx.
# shellcheck disable=SC2034 # used by the scripts that source this file
CHECK_SMTP=/usr/lib/nagios/plugins/check_smtp

# bench_tmp NAME: sets TMP to a new /tmp/smtpbox-NAME.XXXXXX and SERVER_PID
# to empty (start_server sets it); on exit the server
# is stopped and TMP removed.
bench_tmp() {
    TMP=$(mktemp -d "/tmp/smtpbox-$1.XXXXXX")
    SERVER_PID=
    trap bench_cleanup EXIT
}

bench_cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$TMP"
}

# build_helpers [GCC-FLAG...]: the C floor client ($TMP/floor), the
# loopback SMTP server ($TMP/instant_server), the syslog receiver
# ($TMP/syslog_sink) and the run-by-run timer ($TMP/alternate), built with
# -O2 and the flags.
build_helpers() {
    gcc -O2 "$@" -o "$TMP/floor" bench/floor.c
    gcc -O2 "$@" -o "$TMP/instant_server" bench/instant_server.c
    gcc -O2 "$@" -o "$TMP/syslog_sink" bench/syslog_sink.c
    gcc -O2 "$@" -o "$TMP/alternate" bench/alternate.c
}

# start_server COMMAND [ARG...]: runs the local server in the background,
# stdout to $TMP/server.out and stderr to $TMP/server.err, sets SERVER_PID
# and waits up to 5 s for it to print "ready"; exits 1 with its stderr if
# it does not (or dies first).
start_server() {
    "$@" >"$TMP/server.out" 2>"$TMP/server.err" &
    SERVER_PID=$!
    local _
    for _ in $(seq 100); do
        grep -q ready "$TMP/server.out" 2>/dev/null && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "bench: $(basename "$1") not ready: $(cat "$TMP/server.err")" >&2
    exit 1
}
