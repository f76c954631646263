# Secondary MX with the shipped recipes (sourced by run.sh): Postfix with
# smtpdcheck as its policy service (packaging/examples/postfix-*.cf), Exim
# with the RCPT ACL (packaging/examples/exim-acl.conf) and Sendmail with
# the socket map and Local_check_rcpt of packaging/examples/sendmail.mc,
# each a backup MX (MX 20, 127.0.0.1) for d.test, whose MX 10 is a scripted
# primary on 127.0.0.10. An SMTP client's RCPT TO:<u@d.test> must get a 4xx
# naming the primary while it greets, and 250 once it is down; Sendmail's
# must also get 250 whenever its socket map service is not running or
# answers anything but OK (the recipe fails open).
#
# Names resolve through a scripted DNS server (dnsd.py) on $SMX_DNS: both
# MTAs run in a private mount namespace whose /etc/resolv.conf names only
# it (and whose hosts and nsswitch.conf send nothing elsewhere), so no query
# leaves the machine. Postfix's namespace also has a private /dev whose
# "log" is a syslog receiver, to read what smtpdcheck logs.
#
# Uses from run.sh: STATE BIN PY HERE ROOT X_BIN S_ROOT, stop_postfix_instance,
# check_mx_checks, ok/fail/check/show,
# wait_port/wait_log/kill_ours.

SMX_DNS=127.0.54.1
SMX_PRIMARY=127.0.0.10
SMX_PRIMARY_PORT=2532
PM_PORT=2530 XM_PORT=2531 SM_PORT=2535
SMX_EXAMPLES=$ROOT/packaging/examples
SMX_PIDS="" PM_STARTED=0 XM_PIDFILE="" SM_PIDFILE="" SM_SOCKETMAP_PID=""
# how long the recipes' smtpdcheck keeps an "up" result (the default of
# --cache-ttl-up): after the primary stops, wait this long
SMX_UP_TTL=10

# The socket map service of Sendmail's recipe, run as the socket unit
# runs it (a listening socket passed as fd 3, as _smtpbox). The test double
# socketmapd.py plays the scripted replies of the fail-open checks.
sm_socketmap_service() { echo "$SMX/bin/smtpdcheck" --sendmail-socketmap --port $SMX_PRIMARY_PORT --cache-dir "$SM/cache"; }

# ------------------------------------------------------------- set-up

# smx_etc: the private /etc files of the namespaces
smx_etc() {
    mkdir -p "$SMX/etc"
    printf 'nameserver %s\noptions timeout:1 attempts:2\n' "$SMX_DNS" >"$SMX/etc/resolv.conf"
    printf '127.0.0.1 localhost\n::1 localhost\n' >"$SMX/etc/hosts"
    printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' >"$SMX/etc/nsswitch.conf"
    chmod 644 "$SMX/etc"/*
}

# in_smx_namespace SETUP-EXTRA CMD...: CMD in a private mount namespace
# with the private /etc files (nscd hidden), after the shell commands
# SETUP-EXTRA
in_smx_namespace() {
    local extra=$1
    shift
    unshare --mount --propagation private -- /bin/sh -ec '
        e=$1; extra=$2; shift 2
        for f in resolv.conf hosts nsswitch.conf; do mount --bind "$e/$f" "/etc/$f"; done
        [ ! -d /run/nscd ] || mount -t tmpfs tmpfs /run/nscd
        eval "$extra"
        exec "$@"
    ' sh "$SMX/etc" "$extra" "$@"
}

# the private /dev of Postfix's namespace: device nodes and "log"
SMX_DEV='mount -t tmpfs -o mode=755 smx-dev /dev
        mknod -m 666 /dev/null c 1 3; mknod -m 666 /dev/zero c 1 5
        mknod -m 666 /dev/random c 1 8; mknod -m 666 /dev/urandom c 1 9
        ln -s "$SMTPBOX_SYSLOG" /dev/log'

start_smx_dns() {
    cat >"$SMX/d.test.zone" <<EOF
\$ORIGIN d.test.
\$TTL 300
@   IN SOA ns.d.test. hostmaster.d.test. 1 3600 600 86400 60
@   IN NS  ns
@   IN MX  10 mx1
@   IN MX  20 mx2
mx1 IN A   $SMX_PRIMARY
mx2 IN A   127.0.0.1
ns  IN A   $SMX_DNS
EOF
    $PY "$HERE/dnsd.py" "$SMX_DNS" "$SMX/d.test.zone" 1800 >"$SMX/dnsd.log" 2>&1 &
    SMX_PIDS="$SMX_PIDS $!"
    wait_port 53 open 5 "$SMX_DNS" # its TCP side
}

start_smx_primary() {
    (cd "$SMX" && exec $PY "$HERE/greeter.py" $SMX_PRIMARY $SMX_PRIMARY_PORT mx1.d.test 1800) \
        >"$SMX/greeter.log" 2>&1 &
    SMX_PRIMARY_PID=$!
    wait_port $SMX_PRIMARY_PORT open 5 $SMX_PRIMARY
}

# smtpdcheck as installed: a copy every user may run, and its link
smx_install_binary() {
    mkdir -p "$SMX/bin"
    install -m 755 "$BIN" "$SMX/bin/smtpbox"
    ln -sf smtpbox "$SMX/bin/smtpdcheck"
    chmod 755 "$SMX" "$SMX/bin"
    getent passwd _smtpbox >/dev/null ||
        adduser --system --group --quiet --no-create-home --home /var/cache/smtpbox _smtpbox >/dev/null
}

# Postfix, a backup MX for d.test with the recipe: the example lines, with
# the test's binary, cache directory and primary port
start_postfix_mx() {
    mkdir -p "$PM/conf" "$PM/spool" "$PM/data" "$PM/cache"
    chown postfix "$PM/data"
    chown _smtpbox:_smtpbox "$PM/cache"
    chmod 700 "$PM/cache"
    local recipe_sed="s|/usr/bin/smtpdcheck|$SMX/bin/smtpdcheck|; s|/var/cache/smtpbox|$PM/cache|; s|--postfix-policy|--postfix-policy --port $SMX_PRIMARY_PORT|"
    {
        awk '$1 == "smtp" && $2 == "inet" {
                 print "127.0.0.1:'$PM_PORT' inet n - n - - smtpd"
                 print "[::1]:'$PM_PORT' inet n - n - - smtpd"; next }
             /^[^#[:space:]]/ && NF >= 8 { $5 = "n" } { print }' /usr/share/postfix/master.cf.dist
        sed "$recipe_sed" "$SMX_EXAMPLES/postfix-master.cf"
    } >"$PM/conf/master.cf"
    cat >"$PM/conf/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $PM/spool
data_directory = $PM/data
myhostname = mx2.d.test
mydomain = mta.test
myorigin = mta.test
mydestination =
inet_interfaces = 127.0.0.1, [::1]
inet_protocols = all
# the test client connects from 127.0.0.2: not a trusted network
mynetworks = 127.0.0.1/32
relay_domains = d.test, nx.test
alias_maps =
alias_database =
local_recipient_maps =
smtpd_client_restrictions =
maillog_file_prefixes = $STATE
maillog_file = $PM_LOG
EOF
    sed "$recipe_sed" "$SMX_EXAMPLES/postfix-main.cf" >>"$PM/conf/main.cf"
    : >"$PM_LOG"
    start_syslogd "$PM/syslog.sock" "$PM/syslog.log"
    SMX_PIDS="$SMX_PIDS $!"
    PM_STARTED=1
    SMTPBOX_SYSLOG=$PM/syslog.sock in_smx_namespace "$SMX_DEV" \
        postfix -c "$PM/conf" start >"$PM/start.log" 2>&1 || return 1
    wait_port $PM_PORT open 20
}

# Exim, a backup MX for d.test with the recipe's ACL statements
start_exim_mx() {
    getent passwd Debian-exim >/dev/null ||
        adduser --system --group --quiet --home /var/spool/exim4 --no-create-home \
            --disabled-login --force-badname Debian-exim >/dev/null 2>&1 || return 1
    mkdir -p "$XM/spool" "$XM/log"
    chown -R Debian-exim:Debian-exim "$XM/spool" "$XM/log"
    chmod 755 "$XM"
    local acl
    acl=$(sed -e '/^#/d' -e "s|/usr/bin/smtpdcheck|$SMX/bin/smtpdcheck|" \
        -e "s|/var/spool/exim4|$XM/spool|" -e "s|--mx \$domain|--mx \$domain --port $SMX_PRIMARY_PORT|" \
        "$SMX_EXAMPLES/exim-acl.conf")
    cat >"$XM/exim.conf" <<EOF
# generated by tests/interop/secondary_mx.sh
exim_path = $X_BIN
primary_hostname = mx2.d.test
qualify_domain = mta.test
daemon_smtp_ports = $XM_PORT
local_interfaces = <; 127.0.0.1.$XM_PORT
spool_directory = $XM/spool
log_file_path = $XM/log/%slog
pid_file_path = $XM/exim.pid
keep_environment =
tls_advertise_hosts =
host_lookup =
rfc1413_hosts =
domainlist relay_to_domains = d.test : nx.test
acl_smtp_rcpt = acl_check_rcpt

begin acl
acl_check_rcpt:
$acl
  accept domains   = +relay_to_domains
  deny   message   = relay not permitted
EOF
    chmod 644 "$XM/exim.conf"
    XM_PIDFILE=$XM/exim.pid
    in_smx_namespace : "$X_BIN" -C "$XM/exim.conf" -bd >"$XM/start.log" 2>&1 || return 1
    wait_port $XM_PORT open 20
}

# Sendmail, a backup MX for d.test with the recipe of sendmail.mc as
# shipped, in the private namespace of the others plus a UTS namespace
# (host name mx2.d.test), a private /dev whose "log" is a syslog receiver,
# and $SM/run as /run (the recipe's socket is /run/smtpbox/socketmap)
start_sendmail_mx() {
    mkdir -p "$SM/run/smtpbox" "$SM/cache" "$SM/socketmap"
    chmod 755 "$SM" "$SM/run" "$SM/run/smtpbox" # sendmail's safe-file checks
    chown _smtpbox:_smtpbox "$SM/cache" "$SM/socketmap" # the service's
    chmod 700 "$SM/cache"
    {
        sendmail_mc_head "$SM" 'files dns'
        cat <<EOF
FEATURE(\`no_default_msa')dnl
FEATURE(\`accept_unresolvable_domains')dnl
RELAY_DOMAIN(\`d.test')dnl
RELAY_DOMAIN(\`nx.test')dnl
DAEMON_OPTIONS(\`Port=$SM_PORT, Addr=127.0.0.1, Name=MTA')dnl
MAILER(\`smtp')dnl
EOF
        cat "$SMX_EXAMPLES/sendmail.mc"
    } >"$SM/sendmail.mc"
    m4 -D_CF_DIR_="$S_ROOT/usr/share/sendmail/cf/" "$S_ROOT/usr/share/sendmail/cf/m4/cf.m4" \
        "$SM/sendmail.mc" >"$SM/sendmail.cf" 2>"$SM/m4.log" || return 1
    chmod 644 "$SM/sendmail.cf"
    start_syslogd "$SM/syslog.sock" "$SM_LOG"
    SMX_PIDS="$SMX_PIDS $!"
    SM_PIDFILE=$SM/sendmail.pid
    SMTPBOX_SYSLOG=$SM/syslog.sock in_smx_namespace "$SMX_DEV
        mount --bind $SM/run /run" \
        unshare --uts -- /bin/sh -c 'hostname mx2.d.test && exec "$@"' sh \
        "$S_ROOT/usr/libexec/sendmail/sendmail" -C "$SM/sendmail.cf" -bd >"$SM/start.log" 2>&1 || return 1
    wait_port $SM_PORT open 20
}

# start_socketmap [MODE ARG...]: the recipe's socket map service
# (sm_socketmap_service), or socketmapd.py in MODE, on
# $SM/run/smtpbox/socketmap: the socket created by root with the socket
# unit's mode, the service run as _smtpbox; replaces the one running
start_socketmap() {
    stop_socketmap
    local cmd
    if [ $# = 0 ]; then
        read -ra cmd <<<"$(sm_socketmap_service)"
    else
        cmd=($PY "$HERE/socketmapd.py" "$SM/socketmap/requests.log" "$@")
    fi
    in_smx_namespace : systemd-socket-activate -l "$SM/run/smtpbox/socketmap" \
        setpriv --reuid _smtpbox --regid _smtpbox --clear-groups -- "${cmd[@]}" >>"$SM/socketmap.out" 2>&1 &
    SM_SOCKETMAP_PID=$!
    local i
    for ((i = 0; i < 50; i++)); do [ -S "$SM/run/smtpbox/socketmap" ] && break; sleep 0.1; done
    chmod 660 "$SM/run/smtpbox/socketmap" 2>/dev/null # SocketMode= of the socket unit
}
stop_socketmap() {
    if [ -n "$SM_SOCKETMAP_PID" ]; then
        # the subshell of in_smx_namespace; the service runs under it
        local p
        for p in $(pgrep -P "$SM_SOCKETMAP_PID" 2>/dev/null || true); do kill_ours "$p" socketmap; done
        wait "$SM_SOCKETMAP_PID" 2>/dev/null || true
    fi
    SM_SOCKETMAP_PID=""
    rm -f "$SM/run/smtpbox/socketmap"
}

stop_secondary_mx() {
    if [ "$PM_STARTED" = 1 ]; then
        stop_postfix_instance "$PM" $PM_PORT
        PM_STARTED=0
    fi
    if [ -n "$XM_PIDFILE" ] && [ -f "$XM_PIDFILE" ]; then
        kill_ours "$(head -n1 "$XM_PIDFILE")" "$STATE/roots/exim"
        wait_port $XM_PORT closed 10 || true
    fi
    XM_PIDFILE=""
    if [ -n "$SM_PIDFILE" ] && [ -f "$SM_PIDFILE" ]; then
        kill_ours "$(head -n1 "$SM_PIDFILE")" "$STATE/roots/sendmail"
        wait_port $SM_PORT closed 10 || true
    fi
    SM_PIDFILE=""
    [ -z "${SM:-}" ] || stop_socketmap
    local p
    for p in $SMX_PIDS ${SMX_PRIMARY_PID:-}; do kill_ours "$p" python3; done
    SMX_PIDS="" SMX_PRIMARY_PID=""
}

# ------------------------------------------------------------- checks

# rcpt_check NAME PORT RECIPIENT CODE [PATTERN]: RCPT TO:<RECIPIENT> from
# 127.0.0.2 gets a reply whose code matches CODE (a pattern: Exim defers
# with 451, Postfix with 450) and whose text matches PATTERN
rcpt_check() {
    local name=$1 port=$2 rcpt=$3 code=$4 pattern=${5:-}
    run $PY "$HERE/rcpt.py" 127.0.0.1 "$port" 127.0.0.2 "$rcpt"
    local reply
    reply=$(head -n1 "$OUT")
    if [ "$RC" = 0 ] && [[ ${reply:0:3} == $code ]] &&
        { [ -z "$pattern" ] || grep -Eq -- "$pattern" <<<"$reply"; }; then
        ok "$name: RCPT TO:<$rcpt> answered $reply"
    else
        fail "$name: RCPT TO:<$rcpt>: expected ${code//\[0-9\]/x}${pattern:+ matching /$pattern/}, got: $reply"
        show "$OUT"
    fi
}

secondary_mx_checks() {
    SMX=$STATE/secondary-mx
    PM=$SMX/postfix PM_LOG=$SMX/postfix/maillog
    XM=$SMX/exim XM_LOG=$SMX/exim/log/mainlog
    SM=$SMX/sendmail SM_LOG=$SMX/sendmail/maillog
    mkdir -p "$SMX"
    chmod 755 "$SMX"
    smx_etc
    smx_install_binary
    if ! start_smx_dns; then
        fail "secondary MX: scripted DNS server on $SMX_DNS:53"
        show "$SMX/dnsd.log"
        return 0
    fi
    if ! start_smx_primary; then
        fail "secondary MX: scripted primary on $SMX_PRIMARY:$SMX_PRIMARY_PORT"
        show "$SMX/greeter.log"
        return 0
    fi
    ok "secondary MX: scripted DNS (d.test MX 10 mx1 = $SMX_PRIMARY, MX 20 mx2 = 127.0.0.1) and primary up"

    # smtpdcheck --mx by hand, through the same private resolver
    check "secondary MX: smtpdcheck --mx d.test names the primary (this host is MX 20)" 1 \
        in_smx_namespace : "$SMX/bin/smtpdcheck" --no-cache --timeout 5 --port $SMX_PRIMARY_PORT --mx d.test
    grep -qx mx1.d.test "$OUT" && ok "secondary MX: smtpdcheck printed mx1.d.test" ||
        { fail "secondary MX: smtpdcheck did not print mx1.d.test"; show "$OUT"; }

    local postfix_up=0 exim_up=0 sendmail_up=0
    if want_mta postfix; then
        if start_postfix_mx; then
            ok "postfix-mx: started on 127.0.0.1:$PM_PORT with the recipe of postfix-master.cf and postfix-main.cf"
            postfix_up=1
            check_mx_checks postfix-mx $PM_PORT no # this Postfix offers no STARTTLS
        else
            fail "postfix-mx: start on 127.0.0.1:$PM_PORT"
            show "$PM/start.log"
            show "$PM_LOG"
        fi
    fi
    if want_mta exim; then
        if start_exim_mx; then
            ok "exim-mx: started on 127.0.0.1:$XM_PORT with the ACL of exim-acl.conf"
            exim_up=1
        else
            fail "exim-mx: start on 127.0.0.1:$XM_PORT"
            show "$XM/start.log"
            show "$XM/log/paniclog"
        fi
    fi

    if want_mta sendmail; then
        if start_sendmail_mx; then
            ok "sendmail-mx: started on 127.0.0.1:$SM_PORT with the recipe of sendmail.mc"
            sendmail_up=1
        else
            fail "sendmail-mx: start on 127.0.0.1:$SM_PORT"
            show "$SM/m4.log"
            show "$SM/start.log"
            show "$SM_LOG"
        fi
    fi

    # primary up: all defer, naming it
    local off_syslog=0
    if [ "$postfix_up" = 1 ]; then
        rcpt_check postfix-mx $PM_PORT u@d.test '4[0-9][0-9]' 'please use mx1\.d\.test'
        keep postfix-mx.defer
        rcpt_check postfix-mx $PM_PORT u@nx.test 250 # lookup fails: DUNNO
        if wait_log "$PM/syslog.log" 0 5 'smtpdcheck.*u@d\.test.*DEFER_IF_PERMIT.*mx1\.d\.test'; then
            ok "postfix-mx: smtpdcheck logged the deferral to syslog"
        else
            fail "postfix-mx: no deferral line from smtpdcheck in syslog"
            show "$PM/syslog.log"
        fi
        if grep -Eq 'problem talking to server|policy.*(timeout|error)' "$PM_LOG"; then
            fail "postfix-mx: smtpd had trouble with the policy service"
            show "$PM_LOG"
        else
            ok "postfix-mx: smtpd logged no trouble with the policy service"
        fi
        off_syslog=$(logsize "$PM/syslog.log")
    fi
    if [ "$exim_up" = 1 ]; then
        rcpt_check exim-mx $XM_PORT u@d.test '4[0-9][0-9]' 'please use mx1\.d\.test'
        keep exim-mx.defer
        rcpt_check exim-mx $XM_PORT u@nx.test 250 # lookup fails: exit 2, accepted
    fi

    [ "$sendmail_up" = 0 ] || sendmail_mx_primary_up_checks

    # primary down: all accept once the "up" result expired
    kill_ours "$SMX_PRIMARY_PID" python3
    wait "$SMX_PRIMARY_PID" 2>/dev/null || true
    SMX_PRIMARY_PID=""
    note "primary stopped; waiting ${SMX_UP_TTL}s for its cached \"up\" to expire"
    sleep $((SMX_UP_TTL + 1))
    if [ "$postfix_up" = 1 ]; then
        rcpt_check postfix-mx $PM_PORT u@d.test 250
        keep postfix-mx.accept
        if tail -c +"$((off_syslog + 1))" "$PM/syslog.log" | grep -q DEFER_IF_PERMIT; then
            fail "postfix-mx: smtpdcheck logged a deferral after the primary stopped"
        else
            ok "postfix-mx: no deferral logged after the primary stopped"
        fi
    fi
    if [ "$exim_up" = 1 ]; then
        rcpt_check exim-mx $XM_PORT u@d.test 250
        keep exim-mx.accept
    fi
    if [ "$sendmail_up" = 1 ]; then
        rcpt_check sendmail-mx $SM_PORT u@d.test 250
        keep sendmail-mx.accept
    fi
    if grep -q '^d\.test\. MX' "$SMX/d.test.zone.log"; then
        ok "secondary MX: the MX lookups went to the scripted DNS server"
    else
        fail "secondary MX: the scripted DNS server saw no MX query"
        show "$SMX/d.test.zone.log"
    fi
    stop_secondary_mx
}

# Sendmail with the primary up. The service starts after sendmail (not
# running: 250), then d.test gets 451 naming the primary, from a client
# that may not relay only; every way the service can fail lets the mail
# through (250)
sendmail_mx_primary_up_checks() {
    rcpt_check "sendmail-mx (socket map service not running)" $SM_PORT u@d.test 250
    if start_socketmap; then
        ok "sendmail-mx: socket map service on /run/smtpbox/socketmap: $(sm_socketmap_service | tr ' ' '\n' | grep -m1 -E 'socketmapd|smtpdcheck' | xargs basename)"
    else
        fail "sendmail-mx: start the socket map service"
        show "$SM/socketmap.out"
        return 0
    fi
    rcpt_check sendmail-mx $SM_PORT u@d.test 451 'please use mx1\.d\.test'
    keep sendmail-mx.defer
    rcpt_check "sendmail-mx (a domain it does not relay for)" $SM_PORT u@other.test '[45][0-9][0-9]' 'Relaying'
    rcpt_check "sendmail-mx (lookup fails)" $SM_PORT u@nx.test 250
    # a client that may relay (127.0.0.1: "originated locally") is not asked
    run $PY "$HERE/rcpt.py" 127.0.0.1 $SM_PORT 127.0.0.1 u@d.test
    if [ "$RC" = 0 ] && [[ $(head -n1 "$OUT") == 250* ]]; then
        ok "sendmail-mx: a client that may relay gets 250 while the primary is up"
    else
        fail "sendmail-mx: RCPT from 127.0.0.1: expected 250, got: $(head -n1 "$OUT")"
    fi
    # fail open: any well-formed answer but OK, a connection closed
    # unanswered. A malformed reply or none within the map's -d timeout is
    # a different matter: sendmail itself answers 451 4.3.0 (temporary,
    # but not open), so the service must always answer, and in time.
    local mode m arg code pattern
    for mode in "reply|NOTFOUND |250" "reply|NOTFOUND|250" "reply|TEMP scripted failure|250" \
        "reply|TIMEOUT scripted|250" "reply|PERM scripted|250" "reply|BOGUS x|250" "close||250" \
        "raw|99:OK mx1.d.test|451|4\.3\.0 .*received only" "raw|x|451|4\.3\.0 .*length" \
        "hang||451|4\.3\.0 .*read timeout"; do
        IFS='|' read -r m arg code pattern <<<"$mode"
        if start_socketmap "$m" "$arg"; then
            rcpt_check "sendmail-mx (socket map: $m${arg:+ '$arg'})" $SM_PORT u@d.test "$code" "$pattern"
        else
            fail "sendmail-mx: start socketmapd.py $m"
        fi
    done
    stop_socketmap
    rcpt_check "sendmail-mx (socket map service stopped)" $SM_PORT u@d.test 250
    if grep -q 'other\.test' "$SM/socketmap/requests.log" 2>/dev/null; then
        fail "sendmail-mx: the recipe asked the socket map about other.test (not relayed)"
    fi
    grep -E 'socket_map|socket map' "$SM_LOG" | sed -E 's/^[A-Z][a-z]{2} [ 0-9]{2} [0-9:]{8} //' |
        sort -u >"$STATE/transcripts/sendmail-mx.socketmap-log.txt" || true
    start_socketmap || fail "sendmail-mx: restart the socket map service"
}
