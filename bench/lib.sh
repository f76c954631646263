# shellcheck shell=bash
# bench/lib.sh: what the bench scripts share, sourced by them from the
# repository root (`. bench/lib.sh`): a private temporary directory that
# goes away on exit, with the local servers stopped first, the C helpers
# built into it, the start of those servers, and commands run in a mount
# namespace with a private resolv.conf.

# The Monitoring Plugins' check_smtp, where Debian's
# monitoring-plugins-standard installs it: the comparison for smtpdcheck
# and check_mx.
# shellcheck disable=SC2034 # used by the scripts that source this file
CHECK_SMTP=/usr/lib/nagios/plugins/check_smtp

# bench_tmp NAME: sets TMP to a new /tmp/smtpbox-NAME.XXXXXX and
# SERVER_PIDS to none (start_server adds to it); on exit the servers are
# stopped and TMP removed.
bench_tmp() {
    TMP=$(mktemp -d "/tmp/smtpbox-$1.XXXXXX")
    SERVER_PIDS=()
    trap bench_cleanup EXIT
}

bench_cleanup() {
    local pid
    for pid in "${SERVER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
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

# start_server COMMAND [ARG...]: runs a local server in the background,
# stdout to $TMP/server-N.out and stderr to $TMP/server-N.err (N counts the
# servers from 1), adds its pid to SERVER_PIDS and waits up to 5 s for it
# to print "ready"; exits 1 with its stderr if it does not (or dies first).
start_server() {
    local n=$((${#SERVER_PIDS[@]} + 1)) _
    "$@" >"$TMP/server-$n.out" 2>"$TMP/server-$n.err" &
    SERVER_PIDS+=($!)
    for _ in $(seq 100); do
        grep -q ready "$TMP/server-$n.out" 2>/dev/null && return 0
        kill -0 "${SERVER_PIDS[$n - 1]}" 2>/dev/null || break
        sleep 0.05
    done
    echo "bench: $(basename "$1") not ready: $(cat "$TMP/server-$n.err")" >&2
    exit 1
}

# in_namespace [--private-dev] COMMAND...: runs it in a new mount
# namespace with $TMP/resolv.conf as /etc/resolv.conf and $TMP/hosts as
# /etc/hosts (the machine's own files are never changed; root only). With
# --private-dev, /dev is a tmpfs with the usual device nodes too, so the
# bench can make /dev/log appear and disappear.
# shellcheck disable=SC2016 # $1, $2 and $@ are the inner shell's
in_namespace() {
    local dev=false
    if [ "$1" = --private-dev ]; then dev=true; shift; fi
    unshare -m --propagation private sh -c '
        mount --bind "$1/resolv.conf" /etc/resolv.conf
        mount --bind "$1/hosts" /etc/hosts
        if [ "$2" = true ]; then
            mount -t tmpfs -o mode=755 bench-dev /dev
            mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/zero c 1 5
            mknod -m 666 /dev/random c 1 8; mknod -m 666 /dev/urandom c 1 9
        fi
        shift 2; exec "$@"' \
        sh "$TMP" "$dev" "$@"
}
