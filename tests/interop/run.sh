#!/usr/bin/env bash
# Interop tests of `smtpbox etrn` and `smtpbox smtpdcheck` against real MTAs
# from Debian packages: Postfix (port 2525), Exim (2526), Sendmail (2527) and,
# as the "ETRN not supported" case, OpenSMTPD (2528); Postfix (2533) and Exim
# (2534) allowing ETRN only after SMTP AUTH (auth.sh); then Postfix (2530)
# Exim (2531) and Sendmail (2535) as secondary MX with smtpdcheck's recipes
# (secondary_mx.sh), and OpenSMTPD (2536) as one with its filter
# (opensmtpd_smx.sh); and check_mx's DANE through a validating Unbound over a
# zone signed in the test, against a Postfix on port 2537 (dane_unbound.sh).
# Everything listens on loopback only and lives in a private state directory
# under /tmp; names resolve through a scripted DNS server on loopback.
#
# Usage: tests/interop/run.sh            (as root, Debian 12 with apt-get)
# Environment:
#   INTEROP_MTAS="postfix exim sendmail opensmtpd dane"   which MTAs to test
#                          ("dane": the DANE case alone; when set,
#                          docs/interop.md is not rewritten)
#   INTEROP_KEEP_STATE=1   keep the state directory even when all checks pass
#   INTEROP_NO_DOCS=1      do not (re)write docs/interop.md
#
# Prints one "ok"/"FAIL" line per check and "N passed, N failed" at the end;
# exits 1 when a check failed.  Skips (exit 0) when not root or without apt-get.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=$ROOT/target/release/smtpbox
MTAS=${INTEROP_MTAS:-postfix exim sendmail opensmtpd dane}
START_TIME=$(date +%s)

# skipped REASON: says so and exits 0, or 1 when SMTPBOX_NO_SKIP=1 (as
# .ci/run sets it: CI fails on a skip)
skipped() {
    echo "interop: skipped: $1"
    [ "${SMTPBOX_NO_SKIP:-0}" != 1 ] || exit 1
    exit 0
}
[ "$(id -u)" = 0 ] || skipped "needs root (installs packages, starts MTAs)"
if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg >/dev/null 2>&1; then
    skipped "needs apt-get and dpkg (Debian)"
fi

PY=/usr/bin/python3
P_PORT=2525 X_PORT=2526 S_PORT=2527 O_PORT=2528 X2_PORT=2529
DOMAIN=client.test
HELO=etrn-client.test

# ------------------------------------------------ reporting and waiting
. "$HERE/lib.sh"
. "$HERE/secondary_mx.sh"
. "$HERE/opensmtpd_smx.sh"
. "$HERE/auth.sh"
. "$HERE/dane_unbound.sh"

# ------------------------------------------------------------------ cleanup
POSTFIX_STARTED=0 EXIM_PIDFILES="" SENDMAIL_PIDFILE="" SYSLOG_PID="" OPENSMTPD_PID=""

# kill_ours PID EXPECT: signal PID only if it is still our process (its
# exe or cmdline mentions EXPECT)
kill_ours() {
    local pid=$1 expect=$2
    [ -n "$pid" ] && [ -d "/proc/$pid" ] || return 0
    if readlink "/proc/$pid/exe" 2>/dev/null | grep -qF -- "$expect" ||
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$expect"; then
        kill "$pid" 2>/dev/null || true
        local i
        for ((i = 0; i < 50; i++)); do [ -d "/proc/$pid" ] || return 0; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
    fi
}

# stop_postfix_instance DIR PORT: a postfix_instance, stopped and gone
stop_postfix_instance() {
    postfix -c "$1/conf" stop >/dev/null 2>&1 || true
    wait_port "$2" closed 10 || true
}
stop_postfix() {
    if [ "$POSTFIX_STARTED" = 1 ]; then
        stop_postfix_instance "$STATE/postfix" $P_PORT
        POSTFIX_STARTED=0
    fi
}
stop_exim() {
    local f
    for f in $EXIM_PIDFILES; do
        [ -f "$f" ] && kill_ours "$(head -n1 "$f")" "$STATE/roots/exim"
    done
    EXIM_PIDFILES=""
    wait_port $X_PORT closed 10 || true
    wait_port $X2_PORT closed 10 || true
}
stop_sendmail() {
    if [ -n "$SENDMAIL_PIDFILE" ] && [ -f "$SENDMAIL_PIDFILE" ]; then
        kill_ours "$(head -n1 "$SENDMAIL_PIDFILE")" "$STATE/roots/sendmail"
    fi
    SENDMAIL_PIDFILE=""
    wait_port $S_PORT closed 10 || true
}
stop_opensmtpd() {
    if [ -n "$OPENSMTPD_PID" ]; then
        # the unshare process; smtpd runs in the foreground under it
        local p
        for p in $(pgrep -P "$OPENSMTPD_PID" 2>/dev/null || true); do
            kill_ours "$p" "$STATE/roots/opensmtpd"
        done
        kill_ours "$OPENSMTPD_PID" unshare
        wait "$OPENSMTPD_PID" 2>/dev/null || true
    fi
    OPENSMTPD_PID=""
    wait_port $O_PORT closed 10 || true
}
cleanup() {
    local rc=$?
    set +e
    [ -n "$STATE" ] || exit $rc
    stop_postfix
    stop_exim
    stop_sendmail
    stop_opensmtpd
    stop_opensmtpd_mx
    stop_secondary_mx
    stop_auth_mtas
    stop_dane
    if [ -n "$SYSLOG_PID" ]; then kill_ours "$SYSLOG_PID" syslogd.py; wait "$SYSLOG_PID" 2>/dev/null; fi
    if [ "$rc" = 0 ] && [ "$FAILED" = 0 ] && [ -z "${INTEROP_KEEP_STATE:-}" ]; then
        rm -rf "$STATE"
    else
        echo "# state kept in $STATE"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ----------------------------------------------------------------- install
for pkg in $(dpkg-query -W -f='${Package}\t${db:Status-Abbrev}\t${Provides}\n' 2>/dev/null |
    awk -F'\t' '$2 ~ /^ii/ && $3 ~ /mail-transport-agent/ && $1 != "postfix" {print $1}'); do
    # Installing postfix would remove the machine's own MTA: not on a
    # machine someone uses. Say so and skip, like the non-root case.
    skipped "$pkg is this machine's MTA and installing postfix would remove it"
done
for p in $P_PORT $X_PORT $S_PORT $O_PORT $X2_PORT $PM_PORT $XM_PORT $SM_PORT $PA_PORT $XA_PORT $OM_PORT $DN_PORT; do
    if port_open $p; then
        echo "interop: port 127.0.0.1:$p is already in use (a previous run still going?)"
        echo "0 passed, 1 failed"
        exit 1
    fi
done
for a in $DN_RESOLVER $DN_AUTH; do
    if want_mta dane && port_open 53 "$a"; then
        echo "interop: port $a:53 is already in use (a previous run still going?)"
        echo "0 passed, 1 failed"
        exit 1
    fi
done

STATE=$(mktemp -d /tmp/smtpbox-interop.XXXXXX)
chmod 711 "$STATE" # the MTAs' unprivileged users must reach their dirs
mkdir -p "$STATE/out" "$STATE/debs" "$STATE/roots" "$STATE/transcripts"
note "state directory $STATE"

# Always: a binary left from older sources would test those.
note "building $BIN"
(cd "$ROOT" && cargo build --release --quiet) || { fail "cargo build --release"; exit 1; }

export DEBIAN_FRONTEND=noninteractive
note "installing postfix, downloading exim4-daemon-light, sendmail-bin, sendmail-cf, opensmtpd"
if ! dpkg-query -W -f='${db:Status-Abbrev}' postfix 2>/dev/null | grep -q '^ii'; then
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
fi
APT_LOG=$STATE/apt.log
DL_PKGS="exim4-daemon-light sendmail-bin sendmail-cf"
want_mta opensmtpd && DL_PKGS="$DL_PKGS opensmtpd"
# the DANE case: unbound unpacked (no service started, nothing in /etc),
# the signing tools, dig and jq installed
APT_EXTRA=""
want_mta dane && DL_PKGS="$DL_PKGS unbound" APT_EXTRA="bind9-utils bind9-dnsutils jq"
fetch_packages() {
    local libs
    apt-get install -y -q --no-remove postfix m4 openssl iproute2 procps adduser python3 python3-dnspython sasl2-bin libsasl2-modules systemd util-linux $APT_EXTRA || return 1
    rm -f "$STATE"/debs/*.deb
    (cd "$STATE/debs" && apt-get -o APT::Sandbox::User=root download $DL_PKGS) || return 1
    # shared-library dependencies of the unpacked packages, installed normally
    libs=$(for d in "$STATE"/debs/*.deb; do dpkg-deb -f "$d" Depends; done | tr ',' '\n' |
        sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g' | grep -E '^lib' | sort -u | tr '\n' ' ')
    apt-get install -y -q --no-remove $libs || return 1
}
apt_ok=1
if ! fetch_packages >"$APT_LOG" 2>&1; then
    # stale or missing package lists (fresh machine): update once, retry
    apt-get update -q >>"$APT_LOG" 2>&1 || true
    fetch_packages >>"$APT_LOG" 2>&1 || apt_ok=0
fi
if [ "$apt_ok" = 1 ]; then
    for d in "$STATE"/debs/*.deb; do
        name=$(dpkg-deb -f "$d" Package)
        case $name in
            exim4-daemon-light) dpkg -x "$d" "$STATE/roots/exim" ;;
            sendmail-bin | sendmail-cf) dpkg -x "$d" "$STATE/roots/sendmail" ;;
            opensmtpd) dpkg -x "$d" "$STATE/roots/opensmtpd" ;;
            unbound) dpkg -x "$d" "$STATE/roots/unbound" ;;
        esac
    done
    ok "install postfix and unpack exim4-daemon-light, sendmail-bin, sendmail-cf${DL_PKGS##*sendmail-cf}"
else
    fail "install packages (see $APT_LOG)"
    show "$APT_LOG"
    exit 1
fi
pkgver() { dpkg-deb -f "$(ls "$STATE"/debs/"$1"_*.deb | head -n1)" Version; }

# -------------------------------------------------------- smtp injection
# inject PORT LOG: submit one message for someone@client.test over SMTP
inject() {
    local port=$1 log=$2 cmd line code
    exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
    _reply() {
        code=""
        while IFS= read -r -t 30 line <&3; do
            line=${line%$'\r'}
            echo "S: $line" >>"$log"
            if [[ $line =~ ^[0-9]{3}\ |^[0-9]{3}$ ]]; then code=${line:0:3}; return 0; fi
        done
        return 1
    }
    _reply && [ "$code" = 220 ] || { exec 3>&-; return 1; }
    for cmd in "EHLO injector.mta.test" "MAIL FROM:<tester@mta.test>" "RCPT TO:<someone@$DOMAIN>" "DATA"; do
        echo "C: $cmd" >>"$log"
        printf '%s\r\n' "$cmd" >&3
        _reply || { exec 3>&-; return 1; }
        case $code in 2* | 354) ;; *) exec 3>&-; return 1 ;; esac
    done
    printf 'From: <tester@mta.test>\r\nTo: <someone@%s>\r\nSubject: smtpbox interop\r\nDate: %s\r\nMessage-ID: <%s.%s@mta.test>\r\n\r\nqueued for ETRN tests\r\n.\r\n' \
        "$DOMAIN" "$(LC_ALL=C date -R)" "$(date +%s)" "$port" >&3
    _reply && [ "$code" = 250 ] || { exec 3>&-; return 1; }
    printf 'QUIT\r\n' >&3
    _reply || true
    exec 3>&-
    return 0
}

# queue_deferred NAME PORT DIR LOG EVIDENCE-FUNCTION: queue a message for
# someone@$DOMAIN through PORT (the dialogue goes to DIR/inject.log) and
# wait for EVIDENCE-FUNCTION to find its deferral in LOG
queue_deferred() {
    local name=$1 port=$2 dir=$3 log=$4 evid=$5 off
    off=$(logsize "$log")
    if inject "$port" "$dir/inject.log" && $evid "$log" "$off"; then
        ok "$name: message for someone@$DOMAIN queued and deferred"
        # the "deferred" line is logged before the delivery agent has
        # finished with the queue file (sendmail: still locked, so an
        # ETRN run at once skips it; Postfix: flush log): let it settle
        sleep 2
    else
        fail "$name: queue a deferred message for $DOMAIN"
        show "$dir/inject.log"
        show "$log"
    fi
}

# mta_checks NAME PORT DIR LOG EVIDENCE-FUNCTION MORE-CHECKS EXPECT...:
# start_NAME; once it is up, queue_deferred, etrn_checks with the EXPECTed
# replies, tls_checks, v6_checks, then the MTA's own MORE-CHECKS (Exim, which needs more set-up,
# has exim_setup); a failed start is one FAIL with the logs of DIR and LOG
mta_checks() {
    local name=$1 port=$2 dir=$3 log=$4 evid=$5 more=$6
    if "start_$name"; then
        ok "$name: started on 127.0.0.1:$port"
        queue_deferred "$name" "$port" "$dir" "$log" "$evid"
        etrn_checks "$name" "$port" "$log" "$evid" "${@:7}"
        tls_checks "$name" "$port" "$log" "$evid"
        v6_checks "$name" "$port" "$log" "$evid" 0
        check_mx_checks "$name" "$port" yes
        "$more"
    else
        fail "$name: start on 127.0.0.1:$port"
        show "$dir/m4.log" # sendmail's .mc -> .cf step; show skips a missing file
        show "$dir/start.log"
        show "$log"
    fi
}

# --------------------------------------------------------- common checks
ETRN=("$BIN" etrn)
declare -A VERSION EHLO_FILE

# etrn_checks NAME PORT LOG EVIDENCE-FUNCTION EXPECT-unknown EXPECT-@ EXPECT-#somequeue EXPECT-#client.test
etrn_checks() {
    local name=$1 port=$2 log=$3 evid=$4 e_unknown=$5 e_at=$6 e_hash=$7 e_hashdom=$8 off

    check "$name: smtpdcheck reports 127.0.0.1:$port available" 1 \
        "$BIN" smtpdcheck --no-cache --timeout 5 --port "$port" 127.0.0.1
    if [ "$RC" = 1 ] && ! grep -qx 127.0.0.1 "$OUT"; then
        fail "$name: smtpdcheck prints the available server's name"
    fi

    off=$(logsize "$log")
    check "$name: etrn $DOMAIN accepted" 0 \
        "${ETRN[@]}" -v --helo $HELO --port "$port" 127.0.0.1 $DOMAIN
    keep "$name.name"
    EHLO_FILE[$name]=$STATE/transcripts/$name.name.txt
    if $evid "$log" "$off"; then
        ok "$name: new delivery attempt for $DOMAIN logged after ETRN $DOMAIN"
        # the MTA's log lines after the ETRN, for docs/interop.md
        tail -c +"$((off + 1))" "$log" | grep -E "$DOMAIN|queue run|ETRN" |
            grep -v 'did not issue' | head -n 8 >"$STATE/transcripts/$name.evidence.txt" || true
    else
        fail "$name: no new delivery attempt for $DOMAIN in $log after ETRN $DOMAIN"
        show "$log"
    fi

    sleep 1.2 # Exim: smtp_etrn_serialize
    off=$(logsize "$log")
    check "$name: etrn @$DOMAIN" "$e_at" \
        "${ETRN[@]}" -v --helo $HELO --port "$port" 127.0.0.1 "@$DOMAIN"
    keep "$name.at"
    if [ "$e_at" = 0 ]; then
        if $evid "$log" "$off"; then
            ok "$name: new delivery attempt for $DOMAIN logged after ETRN @$DOMAIN"
        else
            fail "$name: no new delivery attempt for $DOMAIN in $log after ETRN @$DOMAIN"
            show "$log"
        fi
    fi

    sleep 1.2
    check "$name: etrn unknown.test" "$e_unknown" \
        "${ETRN[@]}" -v --helo $HELO --port "$port" 127.0.0.1 unknown.test
    keep "$name.unknown"

    sleep 1.2
    check "$name: etrn #somequeue" "$e_hash" \
        "${ETRN[@]}" -v --helo $HELO --port "$port" 127.0.0.1 "#somequeue"
    keep "$name.queue"
    sleep 1.2

    off=$(logsize "$log")
    check "$name: etrn #$DOMAIN" "$e_hashdom" \
        "${ETRN[@]}" -v --helo $HELO --port "$port" 127.0.0.1 "#$DOMAIN"
    keep "$name.hash"
    local form
    for form in name at unknown queue; do reply_check "$name" "$name.$form"; done
    if [ "$e_hashdom" = 0 ]; then
        if $evid "$log" "$off"; then
            ok "$name: new delivery attempt for $DOMAIN logged after ETRN #$DOMAIN"
        else
            fail "$name: no new delivery attempt for $DOMAIN in $log after ETRN #$DOMAIN"
            show "$log"
        fi
    fi
    sleep 1.2
}

# reply_check NAME TRANSCRIPT [CODE]: the transcript's ETRN got a reply (CODE
# when given) and etrn's exit status matches it (2xx -> 0, 4xx/5xx -> 1)
reply_check() {
    local name=$1 f=$STATE/transcripts/$2.txt want=${3:-} arg reply code rc exp
    arg=$(sed -n 's/^>>> ETRN //p' "$f" | head -n1)
    reply=$(awk '$0 ~ /^>>> ETRN / { getline; print; exit }' "$f")
    code=${reply:0:3}
    rc=$(cat "$f.rc")
    case $code in
        2??) exp=0 ;;
        [45]??) exp=1 ;;
        *)
            fail "$name: no reply to ETRN in $f"
            return 0
            ;;
    esac
    if [ -n "$want" ] && [ "$code" != "$want" ]; then
        fail "$name: ETRN $arg answered $code, expected $want ($reply)"
    elif [ "$rc" = "$exp" ]; then
        ok "$name: ETRN $arg answered ${want:+the expected }$code, exit status $rc matches"
    else
        fail "$name: ETRN $arg answered $code but exit status is $rc"
    fi
}

# v6_checks NAME PORT LOG EVIDENCE-FUNCTION EXPECT: both applets reach the
# MTA over [::1]; `etrn client.test` exits EXPECT (0: a new delivery
# attempt must follow)
v6_checks() {
    local name=$1 port=$2 log=$3 evid=$4 expect=$5 off
    check "$name: smtpdcheck reports [::1]:$port available" 1 \
        "$BIN" smtpdcheck --no-cache --timeout 5 --port "$port" ::1
    off=$(logsize "$log")
    check "$name: etrn over [::1]" "$expect" \
        "${ETRN[@]}" -v --helo $HELO --port "$port" ::1 $DOMAIN
    keep "$name.v6"
    if [ "$expect" = 0 ] && ! grep -q "^>>> ETRN $DOMAIN" "$OUT"; then
        fail "$name: no ETRN in the transcript of the [::1] session"
        show "$OUT"
    elif [ "$log" != /dev/null ] && ! wait_log "$log" "$off" 5 '::1|IPv6:0:0:0:0:0:0:0:1'; then
        fail "$name: its log does not show the client at ::1"
        show "$log"
    elif [ "$expect" = 0 ]; then
        if $evid "$log" "$off"; then
            ok "$name: new delivery attempt for $DOMAIN logged after ETRN over [::1]"
        else
            fail "$name: no new delivery attempt after ETRN over [::1]"
            show "$log"
        fi
    fi
    sleep 1.2 # Exim: smtp_etrn_serialize
}

# tls_checks NAME PORT LOG EVIDENCE-FUNCTION: STARTTLS, required and
# verified against the test certificate (--ca-file), then a flush; another
# certificate as the CA fails (exit 3) without an ETRN
tls_checks() {
    local name=$1 port=$2 log=$3 evid=$4 off
    off=$(logsize "$log")
    check "$name: etrn --starttls require --ca-file server.pem" 0 \
        "${ETRN[@]}" -v --starttls require --ca-file "$TLS/server.pem" --helo $HELO --port "$port" 127.0.0.1 $DOMAIN
    keep "$name.tls-require-ca"
    out_has "$name: STARTTLS, then ETRN inside TLS" "$name: no STARTTLS before the ETRN" \
        '^>>> STARTTLS' "^>>> ETRN $DOMAIN"
    $evid "$log" "$off" && ok "$name: new delivery attempt after ETRN over TLS" ||
        { fail "$name: no delivery attempt after ETRN over TLS"; show "$log"; }
    sleep 1.2
    check "$name: etrn --starttls require --ca-file other.pem fails" 3 \
        "${ETRN[@]}" -v --starttls require --ca-file "$TLS/other.pem" --helo $HELO --port "$port" 127.0.0.1 $DOMAIN
    keep "$name.tls-require-other"
    if grep -q '^>>> ETRN' "$OUT"; then fail "$name: ETRN sent without a verified TLS session"; fi
    sleep 1.2
}

# check_mx_checks NAME PORT TLS(yes|no): check_mx on 127.0.0.1 and [::1]
# at once, certificates verified with --ca-file: OK with --require-tls when
# the MTA offers STARTTLS; without it OK, and CRITICAL with --require-tls
check_mx_checks() {
    local name=$1 port=$2 tls=$3
    local cmx=("$BIN" check_mx --helo $HELO --port "$port" -t 10 --ca-file "$TLS/server.pem" -H 127.0.0.1 -H ::1)
    if [ "$tls" = yes ]; then
        check "$name: check_mx --require-tls on 127.0.0.1 and [::1] is OK" 0 "${cmx[@]}" --require-tls
    else
        check "$name: check_mx on 127.0.0.1 and [::1] is OK (no STARTTLS offered)" 0 "${cmx[@]}"
    fi
    keep "$name.check_mx"
    if head -n1 "$OUT" | grep -q '^MX OK - ' && grep -q "'mx_up'=2;" "$OUT" &&
        grep -q '127\.0\.0\.1' "$OUT" && grep -q '::1' "$OUT"; then
        ok "$name: check_mx says MX OK, both addresses up"
    else
        fail "$name: check_mx output"
        show "$OUT"
    fi
    if [ "$tls" = yes ]; then
        if grep -Eq "'127\.0\.0\.1 cert_days'=[0-9]" "$OUT" && grep -Eq "'::1 cert_days'=[0-9]" "$OUT"; then
            ok "$name: check_mx read the certificate's days left"
        else
            fail "$name: no certificate days in check_mx's perfdata"
            show "$OUT"
        fi
    else
        check "$name: check_mx --require-tls is CRITICAL without STARTTLS" 2 "${cmx[@]}" --require-tls
    fi
    # -v: each address's dialogue with the real MTA, after the details.
    check "$name: check_mx -v is OK" 0 "${cmx[@]}" -v
    local dialogues
    dialogues=$(grep -c '^dialogue with ' "$OUT" || true)
    if [ "$dialogues" = 2 ] && grep -q "^  >>> EHLO $HELO\$" "$OUT" && grep -q '^  >>> QUIT$' "$OUT" &&
        { [ "$tls" = no ] || grep -q '^  >>> STARTTLS$' "$OUT"; }; then
        ok "$name: check_mx -v shows both addresses' dialogues"
    else
        fail "$name: check_mx -v dialogue"
        show "$OUT"
    fi
}

# the smtpdcheck "down" check, after the MTA was stopped
down_check() {
    check "$1: smtpdcheck reports 127.0.0.1:$2 not available once stopped" 0 \
        "$BIN" smtpdcheck --no-cache --timeout 5 --port "$2" 127.0.0.1
}

# ------------------------------------------------------------- TLS material
TLS=$STATE/tls
mkdir -p "$TLS"
# mkcert NAME CN SAN: self-signed end-entity certificate (CA:FALSE, since
# rustls/webpki refuses a CA certificate as the server's own)
mkcert() {
    cat >"$TLS/$1.cnf" <<EOF
[req]
distinguished_name = dn
x509_extensions = ext
prompt = no
[dn]
CN = $2
[ext]
basicConstraints = critical, CA:FALSE
subjectAltName = $3
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
EOF
    openssl req -x509 -newkey rsa:2048 -nodes -days 60 -config "$TLS/$1.cnf" \
        -keyout "$TLS/$1.key" -out "$TLS/$1.pem" >/dev/null 2>&1
}
if mkcert server 127.0.0.1 "IP:127.0.0.1, IP:::1" && mkcert other 127.0.0.1 "IP:127.0.0.1, IP:::1"; then
    chmod 644 "$TLS"/*.pem
    chmod 600 "$TLS"/*.key
    ok "openssl: self-signed certificates for 127.0.0.1 and ::1 (IP SANs, 60 days)"
else
    fail "openssl: self-signed certificates"
fi

# ================================================================= Postfix
P=$STATE/postfix
P_LOG=$P/maillog
postfix_evidence() {
    wait_log "$1" "$2" 10 "to=<someone@$DOMAIN>.*status=deferred"
}
start_postfix() {
    POSTFIX_STARTED=1 # from now on "postfix stop" at exit (harmless if not up)
    postfix_instance "$P" $P_PORT postfix.mta.test ""
}
# postfix_instance DIR PORT HOSTNAME MORE-MAIN-CF: an ETRN-ready Postfix
# (a relay for $DOMAIN routed to the closed port 9, STARTTLS offered) on
# 127.0.0.1 and [::1], logging to DIR/maillog; MORE-MAIN-CF is appended
postfix_instance() {
    local dir=$1 port=$2 name=$3 more=$4
    mkdir -p "$dir/conf" "$dir/spool" "$dir/data"
    chown postfix "$dir/data"
    awk '$1 == "smtp" && $2 == "inet" {
             print "127.0.0.1:'$port' inet n - n - - smtpd"
             print "[::1]:'$port' inet n - n - - smtpd"; next }
         /^[^#[:space:]]/ && NF >= 8 { $5 = "n" } { print }' /usr/share/postfix/master.cf.dist >"$dir/conf/master.cf"
    cat >"$dir/conf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/data
myhostname = $name
mydomain = mta.test
myorigin = mta.test
mydestination =
inet_interfaces = 127.0.0.1, [::1]
inet_protocols = all
mynetworks = 127.0.0.0/8, [::1]/128
relay_domains = $DOMAIN
fast_flush_domains = $DOMAIN
transport_maps = inline:{$DOMAIN=smtp:[127.0.0.1]:9}
alias_maps =
alias_database =
local_recipient_maps =
smtpd_relay_restrictions = permit_mynetworks, reject
queue_run_delay = 3600s
minimal_backoff_time = 3600s
maximal_backoff_time = 3600s
smtp_connect_timeout = 5s
maillog_file_prefixes = $STATE
maillog_file = $dir/maillog
smtpd_tls_security_level = may
smtpd_tls_cert_file = $TLS/server.pem
smtpd_tls_key_file = $TLS/server.key
smtp_tls_security_level = none
$more
EOF
    : >"$dir/maillog"
    postfix -c "$dir/conf" start >"$dir/start.log" 2>&1 || return 1
    wait_port "$port" open 20
}

# Postfix's own checks: its quirk, and every STARTTLS mode
postfix_checks() {
    # quirk: a domain outside fast_flush_domains gets 459
    reply_check "postfix (quirk: outside fast_flush_domains)" postfix.unknown 459

    # STARTTLS
    off=$(logsize "$P_LOG")
    check "postfix: etrn --starttls opportunistic" 0 \
        "${ETRN[@]}" -v --starttls opportunistic --helo $HELO --port $P_PORT 127.0.0.1 $DOMAIN
    keep "postfix.tls"
    out_has "postfix: opportunistic STARTTLS was used" "postfix: opportunistic STARTTLS was not used" \
        '^>>> STARTTLS' '^220 .*([Rr]eady|TLS|tls)'
    postfix_evidence "$P_LOG" "$off" && ok "postfix: new delivery attempt after ETRN over TLS" ||
        fail "postfix: no delivery attempt after ETRN over TLS"
    check "postfix: etrn --starttls require (system CAs) fails" 3 \
        "${ETRN[@]}" -v --starttls require --helo $HELO --port $P_PORT 127.0.0.1 $DOMAIN
    keep postfix.tls-require-system
    check "postfix: etrn --starttls off" 0 \
        "${ETRN[@]}" -v --starttls off --helo $HELO --port $P_PORT 127.0.0.1 $DOMAIN
    keep postfix.tls-off
    if grep -q '^>>> STARTTLS' "$OUT"; then
        fail "postfix: --starttls off still sent STARTTLS"
    else
        ok "postfix: --starttls off sent no STARTTLS"
    fi
}

if want_mta postfix; then
    VERSION[postfix]="Postfix $(postconf -d -h mail_version 2>/dev/null) (Debian package postfix $(dpkg-query -W -f='${Version}' postfix))"
    mta_checks postfix $P_PORT "$P" "$P_LOG" postfix_evidence postfix_checks 1 0 1 0
fi

# ================================================================ Sendmail
S=$STATE/sendmail
S_ROOT=$STATE/roots/sendmail
S_LOG=$S/maillog
S_CF=$S/sendmail.cf
sendmail_evidence() {
    wait_log "$1" "$2" 10 "to=<someone@$DOMAIN>.*stat=Deferred"
}
start_sendmail() {
    mkdir -p "$S"
    {
        sendmail_mc_head "$S" files
        cat <<EOF
define(\`confTO_CONNECT', \`5s')dnl
define(\`confTO_ICONNECT', \`5s')dnl
define(\`SMART_HOST', \`relay:[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h 9')dnl
FEATURE(\`no_default_msa')dnl
FEATURE(\`accept_unresolvable_domains')dnl
RELAY_DOMAIN(\`$DOMAIN')dnl
DAEMON_OPTIONS(\`Port=$S_PORT, Addr=127.0.0.1, Name=MTA')dnl
DAEMON_OPTIONS(\`Port=$S_PORT, Addr=::1, Name=MTA-v6, Family=inet6')dnl
define(\`confCACERT_PATH', \`$TLS')dnl
define(\`confCACERT', \`$TLS/server.pem')dnl
define(\`confSERVER_CERT', \`$TLS/server.pem')dnl
define(\`confSERVER_KEY', \`$TLS/server.key')dnl
define(\`confDONT_BLAME_SENDMAIL', \`TrustStickyBit')dnl
MAILER(\`smtp')dnl
EOF
    } >"$S/sendmail.mc"
    m4 -D_CF_DIR_="$S_ROOT/usr/share/sendmail/cf/" "$S_ROOT/usr/share/sendmail/cf/m4/cf.m4" \
        "$S/sendmail.mc" >"$S_CF" 2>"$S/m4.log" || return 1
    chmod 644 "$S_CF"
    start_syslogd "$S/syslog.sock" "$S_LOG"
    SYSLOG_PID=$!
    SENDMAIL_PIDFILE=$S/sendmail.pid
    # a mount + UTS namespace: FQDN host name, and a private /dev whose
    # "log" is our syslog receiver's socket
    unshare --mount --uts --fork -- /bin/sh -ec '
        hostname sendmail.mta.test
        mount -t tmpfs -o mode=755 sm-dev /dev
        mknod -m 666 /dev/null c 1 3
        mknod -m 666 /dev/zero c 1 5
        mknod -m 666 /dev/random c 1 8
        mknod -m 666 /dev/urandom c 1 9
        ln -s "$1" /dev/log
        exec "$2" -C "$3" -bd
    ' sh "$S/syslog.sock" "$S_ROOT/usr/libexec/sendmail/sendmail" "$S_CF" >"$S/start.log" 2>&1 || return 1
    wait_port $S_PORT open 20
}

# Sendmail's own checks: its quirks and its exact version
sendmail_checks() {
    # quirk: "#group" with an unknown queue group gets 459
    reply_check "sendmail (quirk: unknown queue group)" sendmail.queue 459
    reply_check "sendmail (quirk: unknown queue group)" sendmail.hash 459
    v=$(grep -Eo 'Sendmail [0-9][0-9.]*' "${EHLO_FILE[sendmail]}" | head -n1 || true)
    if [ -n "$v" ]; then VERSION[sendmail]="$v (Debian package sendmail-bin $(pkgver sendmail-bin))"; fi
}

if want_mta sendmail; then
    VERSION[sendmail]="Sendmail (Debian package sendmail-bin $(pkgver sendmail-bin))"
    mta_checks sendmail $S_PORT "$S" "$S_LOG" sendmail_evidence sendmail_checks 0 0 1 1
fi

# no client hosts: names from sendmail.cf (+ the --helo name); -b implied
if want_mta postfix && want_mta sendmail && [ "$POSTFIX_STARTED" = 1 ] && [ -f "$S_CF" ]; then
    off=$(logsize "$P_LOG")
    check "postfix: etrn without client hosts (--sendmail-cf, --local-port $P_PORT, --helo $DOMAIN)" 0 \
        "${ETRN[@]}" -v --helo $DOMAIN --sendmail-cf "$S_CF" --local-port $P_PORT --port $P_PORT 127.0.0.1
    keep "postfix.nohosts"
    if grep -q "ETRN $DOMAIN" "$OUT" && postfix_evidence "$P_LOG" "$off"; then
        ok "postfix: ETRN $DOMAIN sent for the --helo name, new delivery attempt logged"
    else
        fail "postfix: no-client-hosts ETRN did not flush $DOMAIN"
        show "$OUT"
    fi
    check "postfix: etrn without client hosts, canonical name not flushable (459)" 1 \
        "${ETRN[@]}" -v --helo $HELO --sendmail-cf "$S_CF" --local-port $P_PORT --port $P_PORT 127.0.0.1
    check "etrn without client hosts: -b fails when the local MTA port is closed" 3 \
        "${ETRN[@]}" -v --timeout 2 --helo $DOMAIN --sendmail-cf "$S_CF" --local-port 9 --port $P_PORT 127.0.0.1
fi

# ==================================================================== Exim
X=$STATE/exim
X_ROOT=$STATE/roots/exim
X_BIN=$X_ROOT/usr/sbin/exim4
X_LOG=$X/log/mainlog
X2=$STATE/exim-plain # second daemon: no smtp_etrn_command (only "#name")
X2_LOG=$X2/log/mainlog
exim_evidence() {
    wait_log "$1" "$2" 10 "Start queue run: .*-R $DOMAIN" "someone@$DOMAIN .*defer"
}
# start_exim DIR PORT WITH-ETRN-COMMAND(1|0) [ETRN-ACL [MORE-CONFIG]]: the
# ETRN ACL's statements (default: accept) and configuration appended at the
# end (auth.sh's authenticators)
start_exim() {
    local x=$1 port=$2 with_cmd=$3 etrn_acl=${4:-"  accept"} more=${5:-} cmd=""
    if ! getent passwd Debian-exim >/dev/null; then
        adduser --system --group --quiet --home /var/spool/exim4 --no-create-home \
            --disabled-login --force-badname Debian-exim >/dev/null 2>&1 || return 1
    fi
    mkdir -p "$x/spool" "$x/log" "$x/etrn-domains"
    : >"$x/etrn-domains/$DOMAIN"
    install -m 600 -o Debian-exim "$TLS/server.key" "$x/tls.key" # read as the Exim user
    chown -R Debian-exim:Debian-exim "$x/spool" "$x/log"
    chmod 755 "$x" "$x/etrn-domains"
    if [ "$with_cmd" = 1 ]; then
        # the ETRN argument is tainted: map it to a file name in etrn-domains
        # (dsearch de-taints); "#x" and "@x" mean x; anything else runs a
        # queue for a node that matches nothing
        cmd="smtp_etrn_command = $X_BIN -C $x/exim.conf -R \\
  \"\${if match{\$domain}{/}{no-such-etrn-node.invalid}{\${lookup{\${sg{\$domain}{^[#@]}{}}}dsearch{$x/etrn-domains}{\$value}{no-such-etrn-node.invalid}}}}\""
    fi
    cat >"$x/exim.conf" <<EOF
# generated by tests/interop/run.sh
exim_path = $X_BIN
primary_hostname = exim.mta.test
qualify_domain = mta.test
daemon_smtp_ports = $port
local_interfaces = <; 127.0.0.1.$port ; ::1.$port
spool_directory = $x/spool
log_file_path = $x/log/%slog
pid_file_path = $x/exim.pid
keep_environment =
tls_advertise_hosts = *
tls_certificate = $TLS/server.pem
tls_privatekey = $x/tls.key
host_lookup =
rfc1413_hosts =
acl_smtp_rcpt = acl_check_rcpt
acl_smtp_etrn = acl_check_etrn
$cmd

begin acl
acl_check_rcpt:
  accept hosts = <; 127.0.0.1 ; ::1
         domains = $DOMAIN
  deny   message = relay not permitted
acl_check_etrn:
$etrn_acl

begin routers
dead_end:
  driver = manualroute
  domains = $DOMAIN
  route_list = * 127.0.0.1
  self = send
  transport = dead_smtp
  no_more

begin transports
dead_smtp:
  driver = smtp
  port = 9
  allow_localhost
  connect_timeout = 5s

begin retry
* * F,7d,1s
$more
EOF
    chmod 644 "$x/exim.conf"
    "$X_BIN" -C "$x/exim.conf" -bV >"$x/version.txt" 2>&1 || return 1
    EXIM_PIDFILES="$EXIM_PIDFILES $x/exim.pid"
    "$X_BIN" -C "$x/exim.conf" -bd >"$x/start.log" 2>&1 || return 1
    wait_port "$port" open 20
}
# exim_setup NAME DIR PORT WITH-ETRN-COMMAND [ETRN-ACL [MORE-CONFIG]]: start,
# queue a deferred message
exim_setup() {
    local name=$1 x=$2 port=$3 off
    if start_exim "$x" "$port" "$4" "${5:-}" "${6:-}"; then
        ok "$name: started on 127.0.0.1:$port"
        off=$(logsize "$x/log/mainlog")
        if inject "$port" "$x/inject.log" &&
            wait_log "$x/log/mainlog" "$off" 10 "someone@$DOMAIN .*defer"; then
            ok "$name: message for someone@$DOMAIN queued and deferred"
        else
            fail "$name: queue a deferred message for $DOMAIN"
            show "$x/inject.log"
            show "$x/log/mainlog"
        fi
        sleep 2 # retry rule F,7d,1s, and let the delivery process finish
        return 0
    fi
    fail "$name: start on 127.0.0.1:$port"
    show "$x/version.txt"
    show "$x/start.log"
    show "$x/log/paniclog"
    show "$x/log/mainlog"
    return 1
}

if want_mta exim; then
    if exim_setup exim "$X" $X_PORT 1; then
        VERSION[exim]="$(grep -m1 '^Exim version' "$X/version.txt" | sed 's/ #.*//') (Debian package exim4-daemon-light $(pkgver exim4-daemon-light))"
        etrn_checks exim $X_PORT "$X_LOG" exim_evidence 0 0 0 0
        tls_checks exim $X_PORT "$X_LOG" exim_evidence
        v6_checks exim $X_PORT "$X_LOG" exim_evidence 0
        check_mx_checks exim $X_PORT yes
        # quirk: with smtp_etrn_command Exim says 250 to anything
        reply_check "exim (quirk: smtp_etrn_command)" exim.unknown 250
        reply_check "exim (quirk: smtp_etrn_command)" exim.queue 250
        off=$(logsize "$X_LOG")
        check "exim: etrn unknown.test: nothing delivered" 0 \
            "${ETRN[@]}" -v --helo $HELO --port $X_PORT 127.0.0.1 unknown.test
        if wait_log "$X_LOG" "$off" 10 "End queue run: .*-R no-such-etrn-node.invalid" &&
            ! tail -c +"$((off + 1))" "$X_LOG" | grep -q "someone@$DOMAIN"; then
            ok "exim: ETRN unknown.test ran an empty queue run, no delivery attempt"
        else
            fail "exim: ETRN unknown.test: unexpected queue run"
            show "$X_LOG"
        fi
        sleep 1.2
    fi
    # Exim without smtp_etrn_command: only "ETRN #name" (runs exim -R name)
    if exim_setup exim-plain "$X2" $X2_PORT 0; then
        check "exim-plain (no smtp_etrn_command): etrn $DOMAIN refused (501)" 1 \
            "${ETRN[@]}" -v --helo $HELO --port $X2_PORT 127.0.0.1 $DOMAIN
        keep exim-plain.name
        EHLO_FILE[exim-plain]=$STATE/transcripts/exim-plain.name.txt
        VERSION[exim-plain]=${VERSION[exim]:-Exim}
        if grep -q '^501 ' "$OUT"; then ok "exim-plain: the reply was 501"; else fail "exim-plain: the reply was not 501"; show "$OUT"; fi
        check "exim-plain: etrn @$DOMAIN refused (501)" 1 \
            "${ETRN[@]}" -v --helo $HELO --port $X2_PORT 127.0.0.1 "@$DOMAIN"
        keep exim-plain.at
        check "exim-plain: etrn unknown.test refused (501)" 1 \
            "${ETRN[@]}" -v --helo $HELO --port $X2_PORT 127.0.0.1 unknown.test
        keep exim-plain.unknown
        check "exim-plain: etrn #somequeue accepted" 0 \
            "${ETRN[@]}" -v --helo $HELO --port $X2_PORT 127.0.0.1 "#somequeue"
        keep exim-plain.queue
        reply_check "exim-plain (quirk: only #name)" exim-plain.name 501
        reply_check "exim-plain (quirk: only #name)" exim-plain.at 501
        reply_check "exim-plain" exim-plain.queue 250
        sleep 1.2
        off=$(logsize "$X2_LOG")
        check "exim-plain: etrn #$DOMAIN accepted" 0 \
            "${ETRN[@]}" -v --helo $HELO --port $X2_PORT 127.0.0.1 "#$DOMAIN"
        keep exim-plain.hash
        reply_check "exim-plain" exim-plain.hash 250
        if exim_evidence "$X2_LOG" "$off"; then
            ok "exim-plain: new delivery attempt for $DOMAIN logged after ETRN #$DOMAIN"
        else
            fail "exim-plain: no new delivery attempt after ETRN #$DOMAIN"
            show "$X2_LOG"
        fi
    fi
fi

# =============================================================== OpenSMTPD
O=$STATE/opensmtpd
O_ROOT=$STATE/roots/opensmtpd
# opensmtpd_users: smtpd's system users, as Debian's maintainer scripts
# create them
opensmtpd_users() {
    local u
    for u in opensmtpd opensmtpq; do
        getent passwd $u >/dev/null ||
            adduser --system --group --quiet --home /var/lib/opensmtpd --no-create-home \
                --disabled-login $u >/dev/null 2>&1 || return 1
    done
}
start_opensmtpd() {
    opensmtpd_users || return 1
    mkdir -p "$O/spool" "$O/lib/opensmtpd/empty" "$O/run"
    chmod 711 "$O/spool"
    cat >"$O/smtpd.conf" <<EOF
# generated by tests/interop/run.sh
listen on 127.0.0.1 port $O_PORT hostname opensmtpd.mta.test
listen on ::1 port $O_PORT hostname opensmtpd.mta.test
action "relay" relay host smtp://127.0.0.1:9
match from src 127.0.0.1 for domain "$DOMAIN" action "relay"
EOF
    chmod 644 "$O/smtpd.conf"
    # compiled-in /var/spool/smtpd, /var/lib/opensmtpd/empty and /run: bind ours
    unshare --mount --uts --fork -- /bin/sh -ec '
        hostname opensmtpd.mta.test
        mount --bind "$1/spool" /var/spool
        mount --bind "$1/lib" /var/lib
        mount --bind "$1/run" /run
        exec "$2" -d -f "$1/smtpd.conf"
    ' sh "$O" "$O_ROOT/usr/sbin/smtpd" >"$O/smtpd.log" 2>&1 &
    OPENSMTPD_PID=$!
    wait_port $O_PORT open 20
}
if want_mta opensmtpd; then
    if start_opensmtpd; then
        VERSION[opensmtpd]="$(grep -Eo 'OpenSMTPD [0-9][^ ]*' "$O/smtpd.log" | head -n1) (Debian package opensmtpd $(pkgver opensmtpd))"
        ok "opensmtpd: started on 127.0.0.1:$O_PORT"
        check "opensmtpd: smtpdcheck reports 127.0.0.1:$O_PORT available" 1 \
            "$BIN" smtpdcheck --no-cache --timeout 5 --port $O_PORT 127.0.0.1
        check "opensmtpd: etrn $DOMAIN: ETRN not supported" 1 \
            "${ETRN[@]}" -v --helo $HELO --port $O_PORT 127.0.0.1 $DOMAIN
        keep "opensmtpd.name"
        if grep -qi 'not supported' "$OUT"; then
            ok "opensmtpd: etrn says ETRN is not supported"
        else
            fail "opensmtpd: etrn did not say ETRN is not supported"
            show "$OUT"
        fi
        EHLO_FILE[opensmtpd]=$STATE/transcripts/opensmtpd.name.txt
        v6_checks opensmtpd $O_PORT /dev/null true 1
        check_mx_checks opensmtpd $O_PORT no
        for form in at:@$DOMAIN unknown:unknown.test queue:#somequeue hash:#$DOMAIN; do
            run "${ETRN[@]}" -v --helo $HELO --port $O_PORT 127.0.0.1 "${form#*:}"
            keep "opensmtpd.${form%%:*}"
        done
    else
        fail "opensmtpd: start on 127.0.0.1:$O_PORT"
        show "$O/smtpd.log"
    fi
fi

# ================================================ ETRN after SMTP AUTH
if want_mta postfix || want_mta exim; then auth_mta_checks; fi

# ============================================ secondary MX with the recipes
if want_mta postfix || want_mta exim || want_mta sendmail; then secondary_mx_checks; fi
if want_mta opensmtpd; then opensmtpd_smx_checks; fi

# ================================= check_mx's DANE through a real resolver
if want_mta dane; then dane_checks; fi

# ======================================= loopback only, then stop, "down"
if command -v ss >/dev/null 2>&1; then
    wide=$(ss -ltnpH 2>/dev/null | grep -E 'users:\(\("(master|exim4|sendmail|smtpd)"' |
        awk '$4 !~ /^127\.0\.0\.1:/ && $4 !~ /^\[::1\]:/' || true)
    if [ -z "$wide" ]; then
        ok "all started MTAs listen on loopback only"
    else
        fail "an MTA listens on something else than loopback"
        echo "$wide" | sed 's/^/    | /'
    fi
fi
if want_mta postfix && [ "$POSTFIX_STARTED" = 1 ]; then stop_postfix; down_check postfix $P_PORT; fi
if want_mta exim && [ -n "$EXIM_PIDFILES" ]; then stop_exim; down_check exim $X_PORT; down_check exim-plain $X2_PORT; fi
if want_mta sendmail && [ -n "$SENDMAIL_PIDFILE" ]; then stop_sendmail; down_check sendmail $S_PORT; fi
if want_mta opensmtpd && [ -n "$OPENSMTPD_PID" ]; then stop_opensmtpd; down_check opensmtpd $O_PORT; fi

# ================================================================ the doc
. "$HERE/docs.sh"
# docs only from a run with every MTA (a partial run would drop sections)
if [ -z "${INTEROP_NO_DOCS:-}" ] && [ -z "${INTEROP_MTAS:-}" ]; then
    write_docs || fail "write docs/interop.md"
fi

echo "$PASSED passed, $FAILED failed ($(($(date +%s) - START_TIME)) s)"
[ "$FAILED" = 0 ]
