# shellcheck shell=bash
# bench/lib.sh: what run.sh, compare.sh and profile.sh share, sourced by them
# from the repository root (`. bench/lib.sh`): a private temporary
# directory that goes away on exit, with the local server stopped first,
# and the C helpers built into it.

# bench_tmp NAME: sets TMP to a new /tmp/smtpbox-NAME.XXXXXX and SERVER_PID
# to empty (a script sets it once it starts its server); on exit the server
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
