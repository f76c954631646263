# ETRN after SMTP AUTH (sourced by run.sh): Postfix with Cyrus SASL
# (sasldb) and `smtpd_etrn_restrictions = permit_sasl_authenticated,
# reject`, and Exim with plaintext and CRAM-MD5 authenticators and an
# acl_smtp_etrn that requires authentication. Each holds a deferred message
# for $DOMAIN and offers STARTTLS with the test certificate (AUTH only
# inside TLS). For each: ETRN without credentials is refused (the MTA logs
# the refusal), `etrn --netrc` with the right credentials authenticates
# inside TLS and flushes (a new delivery attempt follows), the wrong
# password is refused with no ETRN sent, and the password appears nowhere
# in the -v transcript.
#
# Uses from run.sh: STATE BIN TLS DOMAIN HELO ETRN, postfix_instance and
# stop_postfix_instance,
# start_exim/exim_setup, queue_deferred, ok/fail/check/keep/show,
# wait_log/logsize, and the evidence functions.

PA_PORT=2533 XA_PORT=2534
AUTH_USER=etrn-customer
AUTH_PASSWORD='s3cret pass#1' # a space and a '#': quoted in the netrc
PA_STARTED=0

stop_auth_mtas() {
    if [ "$PA_STARTED" = 1 ]; then
        stop_postfix_instance "$STATE/postfix-auth" $PA_PORT
        PA_STARTED=0
    fi
}

# netrc NAME LOGIN PASSWORD: a credentials file for 127.0.0.1, mode 0600
netrc() {
    printf 'machine 127.0.0.1\n  login %s\n  password "%s"\n' "$2" "$3" >"$STATE/auth/$1.netrc"
    chmod 600 "$STATE/auth/$1.netrc"
}

# auth_checks NAME PORT LOG EVIDENCE-FUNCTION REFUSAL-PATTERN: the four
# checks above; REFUSAL-PATTERN finds the MTA's log line of the refused
# unauthenticated ETRN
auth_checks() {
    local name=$1 port=$2 log=$3 evid=$4 refusal=$5 off
    off=$(logsize "$log")
    check "$name: etrn without credentials (TLS verified) is refused" 1 \
        "${ETRN[@]}" -v --starttls require --ca-file "$TLS/server.pem" --helo $HELO --port "$port" 127.0.0.1 $DOMAIN
    keep "$name.noauth"
    if wait_log "$log" "$off" 5 "$refusal"; then
        ok "$name: its log shows the unauthenticated ETRN refused"
    else
        fail "$name: no refusal of the unauthenticated ETRN in its log"
        show "$log"
    fi
    sleep 1.2 # Exim: smtp_etrn_serialize

    off=$(logsize "$log")
    check "$name: etrn --netrc (right password) flushes" 0 \
        "${ETRN[@]}" -v --netrc "$STATE/auth/right.netrc" --ca-file "$TLS/server.pem" \
        --helo $HELO --port "$port" 127.0.0.1 $DOMAIN
    keep "$name.auth"
    if awk '/^>>> STARTTLS/ { tls = 1 } /^>>> AUTH / && tls { auth = 1 }
            /^>>> ETRN / && auth { etrn = 1 } END { exit !etrn }' "$OUT"; then
        ok "$name: STARTTLS, then AUTH, then ETRN"
    else
        fail "$name: not STARTTLS, AUTH, ETRN in that order"
        show "$OUT" 30
    fi
    if $evid "$log" "$off"; then
        ok "$name: new delivery attempt for $DOMAIN after the authenticated ETRN"
    else
        fail "$name: no delivery attempt after the authenticated ETRN"
        show "$log"
    fi
    sleep 1.2

    check "$name: etrn --netrc (wrong password) is refused" 1 \
        "${ETRN[@]}" -v --netrc "$STATE/auth/wrong.netrc" --ca-file "$TLS/server.pem" \
        --helo $HELO --port "$port" 127.0.0.1 $DOMAIN
    keep "$name.badauth"
    if grep -q '^>>> ETRN' "$OUT"; then
        fail "$name: ETRN sent after a failed AUTH"
    elif grep -Eq '^535' "$OUT"; then
        ok "$name: AUTH answered 535, no ETRN sent"
    else
        fail "$name: no 535 to the wrong password"
        show "$OUT" 30
    fi
    if grep -qF -- "$AUTH_PASSWORD" "$STATE"/transcripts/"$name".*auth.txt ||
        grep -qF -- "$(printf '\0%s\0%s' "$AUTH_USER" "$AUTH_PASSWORD" | base64 -w0)" \
            "$STATE"/transcripts/"$name".*auth.txt; then
        fail "$name: the password is in a -v transcript"
    else
        ok "$name: the password (plain or base64) is in no -v transcript"
    fi
    sleep 1.2
}

# Postfix: Cyrus SASL with a sasldb of one user (PLAIN, LOGIN, CRAM-MD5).
# Debian's Postfix reads smtpd.conf from $config_directory/sasl whatever
# cyrus_sasl_config_path says: the set-up lives there.
start_postfix_auth() {
    local dir=$STATE/postfix-auth
    local sasl=$dir/conf/sasl
    mkdir -p "$sasl"
    printf '%s' "$AUTH_PASSWORD" |
        saslpasswd2 -p -c -f "$sasl/sasldb2" -u postfix-auth.mta.test "$AUTH_USER" || return 1
    chown postfix "$sasl/sasldb2"
    chmod 600 "$sasl/sasldb2"
    cat >"$sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN CRAM-MD5
sasldb_path: $sasl/sasldb2
EOF
    chmod 755 "$sasl"
    PA_STARTED=1
    postfix_instance "$dir" $PA_PORT postfix-auth.mta.test "
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $sasl
smtpd_sasl_local_domain = postfix-auth.mta.test
smtpd_tls_auth_only = yes
smtpd_etrn_restrictions = permit_sasl_authenticated, reject"
}

auth_mta_checks() {
    mkdir -p "$STATE/auth"
    netrc right "$AUTH_USER" "$AUTH_PASSWORD"
    netrc wrong "$AUTH_USER" "not the password"
    if want_mta postfix; then
        if start_postfix_auth; then
            ok "postfix-auth: started on 127.0.0.1:$PA_PORT (Cyrus SASL, ETRN only after AUTH)"
            queue_deferred postfix-auth $PA_PORT "$STATE/postfix-auth" "$STATE/postfix-auth/maillog" postfix_evidence
            auth_checks postfix-auth $PA_PORT "$STATE/postfix-auth/maillog" postfix_evidence \
                'reject: ETRN from .*Access denied'
        else
            fail "postfix-auth: start on 127.0.0.1:$PA_PORT"
            show "$STATE/postfix-auth/start.log"
            show "$STATE/postfix-auth/maillog"
        fi
        stop_auth_mtas
    fi
    if want_mta exim; then
        local acl authenticators
        acl='  accept authenticated = *
  deny   message = authentication required'
        authenticators="
begin authenticators
plain_server:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = \${if and {{eq{\$auth2}{$AUTH_USER}}{eq{\$auth3}{$AUTH_PASSWORD}}}}
  server_set_id = \$auth2
  server_advertise_condition = \${if def:tls_in_cipher}
cram_server:
  driver = cram_md5
  public_name = CRAM-MD5
  server_secret = \${if eq{\$auth1}{$AUTH_USER}{$AUTH_PASSWORD}fail}
  server_set_id = \$auth1
  server_advertise_condition = \${if def:tls_in_cipher}"
        if exim_setup exim-auth "$STATE/exim-auth" $XA_PORT 1 "$acl" "$authenticators"; then
            auth_checks exim-auth $XA_PORT "$STATE/exim-auth/log/mainlog" exim_evidence \
                'rejected ETRN'
        fi
    fi
}
