# check_mx's DANE end to end through a real validating resolver (sourced
# by run.sh; INTEROP_MTAS=dane runs this case alone). The zone dane.test is
# made and signed here and served on loopback with a validating Unbound in
# front of it (dnssec_env.sh): MX 10 mx1.dane.test (127.0.0.1) and MX 20
# mx2.dane.test (::1), both a Postfix on port $DN_PORT offering STARTTLS with
# the test certificate; _$DN_PORT._tcp.mx1 holds its TLSA 3 1 1 (SPKI
# SHA-256, from openssl), _$DN_PORT._tcp.mx2 a TLSA that matches nothing,
# and bad.dane.test a damaged signature. dig shows the resolver validating
# (AD on the TLSA answer, SERVFAIL for the damaged name); then check_mx, in
# a mount namespace whose resolv.conf names only that resolver, with
# "options trust-ad" must find mx1 matched (DANE-EE) and mx2 a CRITICAL
# mismatch, and without it (glibc then drops the AD bit) nothing validated.
#
# Uses from run.sh: STATE BIN HERE TLS, postfix_instance,
# stop_postfix_instance; from lib.sh: ok/fail/check/show/keep/note/run.

DN_PORT=2537
# outside 127.0.53.x, where the cargo tests' scripted DNS servers bind
DN_RESOLVER=127.0.55.1 DN_AUTH=127.0.55.2
DN_STARTED=0 DN_DNS_STARTED=0 DN_VERSION=""
. "$HERE/dnssec_env.sh"

# dane_zone TLSA-HEX: the unsigned zone dane.test, on stdout
dane_zone() {
    cat <<EOF
\$ORIGIN dane.test.
\$TTL 300
@   IN SOA  ns.dane.test. hostmaster.dane.test. 1 3600 600 86400 60
@   IN NS   ns
ns  IN A    $DN_AUTH
@   IN MX   10 mx1
@   IN MX   20 mx2
mx1 IN A    127.0.0.1
mx2 IN AAAA ::1
_$DN_PORT._tcp.mx1 IN TLSA 3 1 1 $1
_$DN_PORT._tcp.mx2 IN TLSA 3 1 1 $(printf '%064d' 0)
bad IN A    127.0.0.1
EOF
}

# dane_spki_sha256 CERT: the hex SHA-256 of CERT's SubjectPublicKeyInfo
# (DER), the data of a TLSA x 1 1 record (RFC 6698 §2.1.2, §2.1.3)
dane_spki_sha256() {
    openssl x509 -in "$1" -noout -pubkey | openssl pkey -pubin -outform DER |
        openssl dgst -sha256 -r | cut -d' ' -f1
}

# in_dane_namespace RESOLV-CONF CMD...: CMD in a private mount namespace
# whose resolv.conf is RESOLV-CONF (hosts and nsswitch.conf: files, then
# DNS; nscd hidden)
in_dane_namespace() {
    local resolv=$1
    shift
    unshare --mount --propagation private -- /bin/sh -ec '
        e=$1; r=$2; shift 2
        mount --bind "$r" /etc/resolv.conf
        for f in hosts nsswitch.conf; do mount --bind "$e/$f" "/etc/$f"; done
        [ ! -d /run/nscd ] || mount -t tmpfs tmpfs /run/nscd
        exec "$@"
    ' sh "$DN/etc" "$resolv" env -u RES_OPTIONS -u LOCALDOMAIN -u HOSTALIASES "$@"
}

# dane_dig_checks: the resolver validates: AD on the MX and TLSA answers
# (not from the authoritative server, which only signs), SERVFAIL for the
# damaged signature whose data is there all the same (+cd)
dane_dig_checks() {
    local tlsa=_$DN_PORT._tcp.mx1.dane.test hex=$1
    run dnssec_dig $DN_RESOLVER "$tlsa" TLSA
    keep dane.dig
    if grep -Eq '^;; flags:.* ad[ ;]' "$OUT" && grep -q 'status: NOERROR' "$OUT" &&
        tr -d ' \t' <"$OUT" | grep -qi "TLSA311$hex"; then
        ok "dane: dig +dnssec @$DN_RESOLVER $tlsa TLSA: the record, with the AD bit"
    else
        fail "dane: dig @$DN_RESOLVER $tlsa TLSA: no validated (AD) answer with the record"
        show "$OUT" 25
    fi
    run dnssec_dig $DN_RESOLVER dane.test MX
    if grep -Eq '^;; flags:.* ad[ ;]' "$OUT" && grep -q 'MX.*20 mx2\.dane\.test\.' "$OUT"; then
        ok "dane: dig @$DN_RESOLVER dane.test MX: both MX, with the AD bit"
    else
        fail "dane: dig @$DN_RESOLVER dane.test MX: no validated (AD) answer"
        show "$OUT" 25
    fi
    run dnssec_dig $DN_AUTH +norec "$tlsa" TLSA
    if grep -Eq '^;; flags:.* aa[ ;]' "$OUT" && grep -q 'RRSIG.*TLSA 13 ' "$OUT" &&
        ! grep -Eq '^;; flags:.* ad[ ;]' "$OUT"; then
        ok "dane: the authoritative server on $DN_AUTH serves the TLSA with its RRSIG (ECDSAP256SHA256), no AD"
    else
        fail "dane: the authoritative server's TLSA answer"
        show "$OUT" 25
    fi
    run dnssec_dig $DN_RESOLVER bad.dane.test A
    if grep -q 'status: SERVFAIL' "$OUT"; then
        ok "dane: dig @$DN_RESOLVER bad.dane.test (damaged RRSIG): SERVFAIL"
    else
        fail "dane: bad.dane.test (damaged RRSIG) was not SERVFAIL"
        show "$OUT" 25
    fi
    run dnssec_dig $DN_RESOLVER +cd bad.dane.test A
    if grep -q 'status: NOERROR' "$OUT" && grep -q '^bad\.dane\.test\..*A.*127\.0\.0\.1' "$OUT" &&
        grep -q 'signature crypto failed' "$DN/dns/resolver.log"; then
        ok "dane: bad.dane.test answers with checking disabled (+cd): only its signature fails (Unbound logged it)"
    else
        fail "dane: bad.dane.test with +cd, or no validation failure in the resolver's log"
        show "$OUT" 25
        show "$DN/dns/resolver.log"
    fi
}

# dane_loopback_check: both Unbound instances listen (UDP and TCP) on
# their own loopback address only
dane_loopback_check() {
    local role pid socks
    for role in auth:$DN_AUTH resolver:$DN_RESOLVER; do
        pid=$(cat "$DN/dns/${role%%:*}.pid")
        socks=$(ss -lnupH 2>/dev/null; ss -lntpH 2>/dev/null)
        socks=$(grep -F "pid=$pid," <<<"$socks" | awk '{ print $4 }' | sort -u | tr '\n' ' ')
        if [ "$socks" = "${role#*:}:53 " ]; then
            ok "dane: the Unbound ${role%%:*} listens on ${role#*:}:53 only (UDP and TCP)"
        else
            fail "dane: the Unbound ${role%%:*} listens on: ${socks:-nothing}"
        fi
    done
}

# dane_json_checks FILTER-TEXT...: each "jq filter|what it says" (split at
# the last "|") is true of the JSON in $OUT
dane_json_checks() {
    local item filter what
    for item in "$@"; do
        filter=${item%|*} what=${item##*|}
        if jq -e "$filter" "$OUT" >/dev/null 2>&1; then
            ok "dane: check_mx --json: $what"
        else
            fail "dane: check_mx --json: $what ($filter)"
            jq -c '[.hosts[] | {name, dane, addresses: [.addresses[] | {address, dane}]}]' "$OUT" 2>&1 |
                head -c 2000 | sed 's/^/    | /'
        fi
    done
}

# dane_check_mx_checks: check_mx through the validating resolver, with
# and without "options trust-ad"
dane_check_mx_checks() {
    local cmx=("$BIN" check_mx --port "$DN_PORT" -t 10 --ca-file "$TLS/server.pem")
    local ad=$DN/etc/resolv.conf.trust-ad plain=$DN/etc/resolv.conf.plain
    printf 'nameserver %s\noptions trust-ad timeout:2 attempts:2\n' $DN_RESOLVER >"$ad"
    printf 'nameserver %s\noptions timeout:2 attempts:2\n' $DN_RESOLVER >"$plain"

    check "dane: check_mx dane.test (trust-ad) is CRITICAL: mx2's TLSA matches nothing" 2 \
        in_dane_namespace "$ad" "${cmx[@]}" dane.test
    keep dane.check_mx
    if head -n1 "$OUT" | grep -Eq '^MX CRITICAL - .*mx2\.dane\.test\[::1\].*DANE'; then
        ok "dane: the first line names mx2.dane.test[::1] and DANE"
    else
        fail "dane: the first line does not name mx2.dane.test[::1]'s DANE mismatch"
        show "$OUT"
    fi
    # its summary, before the performance data
    if head -n1 "$OUT" | sed 's/ | .*//' | grep -q 'mx1\.dane\.test\[127\.0\.0\.1\]'; then
        fail "dane: the first line names mx1.dane.test, whose TLSA matches"
        show "$OUT"
    else
        ok "dane: the first line does not name mx1.dane.test, whose TLSA matches"
    fi

    check "dane: check_mx --json dane.test (trust-ad)" 2 \
        in_dane_namespace "$ad" "${cmx[@]}" --json dane.test
    keep dane.check_mx-json
    dane_json_checks \
        '.hosts[0].name == "mx1.dane.test" and .hosts[1].name == "mx2.dane.test"|hosts mx1.dane.test, mx2.dane.test' \
        '.hosts[0].dane.tlsa_name == "_'$DN_PORT'._tcp.mx1.dane.test"|tlsa_name _'$DN_PORT'._tcp.mx1.dane.test' \
        '.hosts[0].dane.validated == true and .hosts[0].dane.mx_validated == true|mx1: TLSA and MX answers validated (AD)' \
        '.hosts[0].dane.records[0] | .usage == 3 and .selector == 1 and .matching_type == 1 and .usable == true|mx1: one usable 3 1 1 record' \
        '.hosts[0].addresses[0].address == "127.0.0.1" and .hosts[0].addresses[0].dane.matched == true and .hosts[0].addresses[0].dane.trust == "dane-ee"|mx1[127.0.0.1]: matched, trust dane-ee' \
        '.hosts[1].dane.validated == true|mx2: TLSA validated (AD)' \
        '.hosts[1].addresses[0].address == "::1" and .hosts[1].addresses[0].dane.matched == false|mx2[::1]: not matched'

    check "dane: check_mx --json dane.test without trust-ad is WARNING (glibc drops AD)" 1 \
        in_dane_namespace "$plain" "${cmx[@]}" --json dane.test
    keep dane.check_mx-noad
    dane_json_checks \
        '.hosts[0].dane.validated == false and .hosts[1].dane.validated == false|without trust-ad: nothing validated' \
        '.hosts[0].dane.records | length == 1|without trust-ad: the TLSA record is still read'
    run in_dane_namespace "$plain" "${cmx[@]}" dane.test
    keep dane.check_mx-noad-text
    out_has "dane: without trust-ad, check_mx says DNSSEC did not validate" \
        "dane: without trust-ad, check_mx does not say the TLSA records were not validated" \
        '^MX WARNING - ' 'not validated'
}

# dane_checks: the whole case
dane_checks() {
    DN=$STATE/dane
    mkdir -p "$DN/etc"
    printf '127.0.0.1 localhost\n::1 localhost\n' >"$DN/etc/hosts"
    printf 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n' >"$DN/etc/nsswitch.conf"
    chmod 755 "$DN" "$DN/etc"
    chmod 644 "$DN/etc"/*

    DN_STARTED=1
    if postfix_instance "$DN/postfix" $DN_PORT mx1.dane.test ""; then
        ok "dane: postfix (STARTTLS, the test certificate) on 127.0.0.1 and [::1] port $DN_PORT"
    else
        fail "dane: start postfix on port $DN_PORT"
        show "$DN/postfix/start.log"
        show "$DN/postfix/maillog"
        return 0
    fi

    local hex
    hex=$(dane_spki_sha256 "$TLS/server.pem")
    dane_zone "$hex" >"$DN/dane.test.zone"
    DN_DNS_STARTED=1
    if DNSSEC_UNBOUND=$STATE/roots/unbound/usr/sbin/unbound DNSSEC_CORRUPT=bad.dane.test. \
        dnssec_start "$DN/dns" "$DN/dane.test.zone" dane.test. $DN_RESOLVER $DN_AUTH >"$DN/dns.out" 2>&1; then
        ok "dane: dane.test signed (KSK + ZSK, ECDSAP256SHA256), served by Unbound on $DN_AUTH, validated by Unbound on $DN_RESOLVER (trust anchor: its DS)"
    else
        fail "dane: signed zone and validating resolver"
        show "$DN/dns.out"
        show "$DN/dns/sign.log"
        show "$DN/dns/auth.log"
        show "$DN/dns/resolver.log"
        return 0
    fi
    DN_VERSION="Unbound $("$STATE/roots/unbound/usr/sbin/unbound" -V 2>/dev/null | sed -n '1s/^Version //p') (Debian package unbound $(pkgver unbound))"

    dane_loopback_check
    dane_dig_checks "$hex"
    dane_check_mx_checks
    stop_dane
}

# stop_dane: the case's Postfix and Unbound instances, stopped
stop_dane() {
    if [ "$DN_DNS_STARTED" = 1 ]; then
        dnssec_stop "$DN/dns"
        DN_DNS_STARTED=0
    fi
    if [ "$DN_STARTED" = 1 ]; then
        stop_postfix_instance "$DN/postfix" $DN_PORT
        DN_STARTED=0
    fi
}
