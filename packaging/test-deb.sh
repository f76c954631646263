#!/usr/bin/env bash
# Builds the Debian package and checks it the way an admin would use it:
# contents, install, manual pages, links, the boot unit, and coexistence
# with sendmail-base (whose /usr/sbin/etrn is diverted and given back).
# It installs and removes packages: run it as root on a throw-away machine
# (CI does). Without root or dpkg it says so and exits 0 (1 when
# SMTPBOX_NO_SKIP=1, as .ci/run sets it: CI fails on a skip).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ] || ! command -v dpkg >/dev/null || ! command -v apt-get >/dev/null; then
    echo "test-deb: needs root, dpkg and apt-get; skipped"
    [ "${SMTPBOX_NO_SKIP:-0}" != 1 ] || exit 1
    exit 0
fi

passed=0
failed=0
check() {
    local what=$1; shift
    if "$@" >/tmp/test-deb.out 2>&1; then
        passed=$((passed + 1)); echo "ok   $what"
    else
        failed=$((failed + 1)); echo "FAIL $what"; sed 's/^/     /' /tmp/test-deb.out | head -20
    fi
}

# cargo-deb 3.7.0 or later (symlink assets).
deb_version=$(cargo deb --version 2>/dev/null | awk '{print $2}' || true)
if [ -z "$deb_version" ] || [ "$(printf '%s\n3.7.0\n' "$deb_version" | sort -V | head -1)" != 3.7.0 ]; then
    cargo install cargo-deb --locked --version '^3.7'
fi
cargo deb
deb=$(ls -t target/debian/smtpbox_*.deb | head -1)
echo "package: $deb"

export DEBIAN_FRONTEND=noninteractive
apt-get -q -o DPkg::Lock::Timeout=300 update >/dev/null
apt-get -q -o DPkg::Lock::Timeout=300 install -y man-db systemd >/dev/null

contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for path in ./usr/bin/smtpbox ./usr/bin/smtpdcheck ./usr/sbin/etrn \
    ./usr/share/man/man1/smtpbox.1.gz ./usr/share/man/man1/smtpdcheck.1.gz \
    ./usr/share/man/man8/etrn.8.gz \
    ./usr/share/bash-completion/completions/smtpdcheck ./usr/share/bash-completion/completions/etrn \
    ./usr/share/zsh/vendor-completions/_smtpdcheck ./usr/share/zsh/vendor-completions/_etrn \
    ./usr/share/fish/vendor_completions.d/smtpdcheck.fish ./usr/share/fish/vendor_completions.d/etrn.fish \
    ./etc/default/smtpbox ./usr/share/doc/smtpbox/copyright ./usr/share/doc/smtpbox/changelog.Debian.gz \
    ./usr/lib/systemd/system/smtpbox-etrn.service \
    ./usr/lib/systemd/system/smtpbox-socketmap.socket ./usr/lib/systemd/system/smtpbox-socketmap.service \
    ./usr/share/doc/smtpbox/examples/sendmail.mc \
    ./usr/share/doc/smtpbox/examples/postfix-master.cf ./usr/share/doc/smtpbox/examples/postfix-main.cf \
    ./usr/share/doc/smtpbox/examples/exim-acl.conf ./usr/share/doc/smtpbox/examples/opensmtpd-smtpd.conf \
    ./usr/lib/nagios/plugins/check_mx ./usr/share/man/man1/check_mx.1.gz \
    ./usr/share/bash-completion/completions/check_mx \
    ./usr/share/doc/smtpbox/examples/check_mx-icinga2.conf ./usr/share/doc/smtpbox/examples/check_mx-nagios.cfg \
    ./usr/share/doc/smtpbox/examples/check_mx-prometheus.service ./usr/share/doc/smtpbox/examples/check_mx-prometheus.timer; do
    check "package contains $path" grep -qx -- "$path" <<<"$contents"
done
check "the unit is not started at install" sh -c "! dpkg-deb --ctrl-tarfile '$deb' | tar -xO ./postinst | grep -Eq 'deb-systemd-invoke +(start|restart) |systemctl +(start|restart) '"
check "/etc/default/smtpbox is a conffile" sh -c "dpkg-deb -f '$deb' >/dev/null && dpkg-deb --ctrl-tarfile '$deb' | tar -xO ./conffiles | grep -qx /etc/default/smtpbox"

installed_checks() {
    check "man -w smtpdcheck" man -w smtpdcheck
    check "man -w etrn finds ours" sh -c 'man -w etrn | grep -q "/man8/etrn.8.gz"'
    check "man pages render without warnings" sh -c \
        'for p in smtpbox smtpdcheck etrn check_mx; do out=$(man --warnings -l "$(man -w $p)" 2>&1 >/dev/null); [ -z "$out" ] || { echo "$p: $out"; exit 1; }; done'
    check "/usr/bin/smtpdcheck --version" /usr/bin/smtpdcheck --version
    check "etrn --help through /usr/sbin/etrn" /usr/sbin/etrn --help
    check "etrn is smtpbox's" sh -c '/usr/sbin/etrn --version | grep -q "^etrn "'
    check "/usr/lib/nagios/plugins/check_mx --version" sh -c '/usr/lib/nagios/plugins/check_mx --version | grep -q "^check_mx "'
    check "check_mx usage error is UNKNOWN (3)" sh -c '/usr/lib/nagios/plugins/check_mx --no-such-option >/dev/null 2>&1; [ $? = 3 ]'
    check "systemd-analyze verify the unit" systemd-analyze verify /usr/lib/systemd/system/smtpbox-etrn.service
    check "unit enabled at install" test -L /etc/systemd/system/multi-user.target.wants/smtpbox-etrn.service
    # the sendmail socket map: verified (with the socket's group, which
    # sendmail-base creates, when it is there), installed, not enabled
    check "systemd-analyze verify the socket map units" systemd-analyze verify \
        /usr/lib/systemd/system/smtpbox-socketmap.socket /usr/lib/systemd/system/smtpbox-socketmap.service
    check "socket map socket not enabled at install" sh -c \
        '! ls /etc/systemd/system/*.wants/smtpbox-socketmap.* >/dev/null 2>&1'
    # (the service is "indirect": enabling it enables the socket, Also=)
    check "socket map units disabled (systemctl is-enabled)" sh -c \
        '[ "$(systemctl is-enabled smtpbox-socketmap.socket)" = disabled ] && [ "$(systemctl is-enabled smtpbox-socketmap.service)" = indirect ]'
    check "system user _smtpbox" getent passwd _smtpbox
    check "/var/cache/smtpbox is _smtpbox's, mode 0700" sh -c \
        '[ "$(stat -c %U:%G:%a /var/cache/smtpbox)" = _smtpbox:_smtpbox:700 ]'
    check "smtpdcheck caches in /var/cache/smtpbox as _smtpbox" sh -c \
        'runuser -u _smtpbox -- /usr/bin/smtpdcheck --cache-dir /var/cache/smtpbox --timeout 1 --port 9 127.0.0.1; [ $? = 0 ] && [ -f /var/cache/smtpbox/smtpdcheck ]'
    check "empty ETRN_HOSTS: exit 0, one line" sh -c \
        'out=$(env -u ETRN_HOSTS /usr/sbin/etrn --etrn-hosts --helo x.test 2>&1); [ $? = 0 ] && [ $(printf "%s\n" "$out" | wc -l) = 1 ]'
}

echo "== without sendmail-base"
# Start from a known state, also when run again on the same machine.
dpkg -P smtpbox >/dev/null 2>&1 || true
if dpkg -s sendmail-base >/dev/null 2>&1; then
    apt-get -q -o DPkg::Lock::Timeout=300 purge -y sendmail-base >/dev/null
fi
dpkg -i "$deb" >/dev/null
installed_checks
dpkg -r smtpbox >/dev/null
check "no diversion left after remove" sh -c '! dpkg-divert --list | grep -q smtpbox'
check "links gone after remove" sh -c '[ ! -e /usr/bin/smtpdcheck ] && [ ! -e /usr/sbin/etrn ]'
dpkg -P smtpbox >/dev/null
check "purge removes /var/cache/smtpbox" test ! -e /var/cache/smtpbox

echo "== with sendmail-base installed first"
apt-get -q -o DPkg::Lock::Timeout=300 install -y --no-install-recommends sendmail-base >/dev/null
sendmail_etrn=$(sha256sum /usr/sbin/etrn | cut -d' ' -f1)
dpkg -i "$deb" >/dev/null
installed_checks
check "sendmail's etrn diverted to etrn.sendmail" sh -c "[ \"\$(sha256sum /usr/sbin/etrn.sendmail | cut -d' ' -f1)\" = $sendmail_etrn ]"
check "sendmail's etrn.8 diverted" test -e /usr/share/man/man8/etrn.sendmail.8.gz
dpkg -r smtpbox >/dev/null
check "sendmail's etrn is back after remove" sh -c "[ \"\$(sha256sum /usr/sbin/etrn | cut -d' ' -f1)\" = $sendmail_etrn ]"
check "sendmail's etrn.8 is back" test -e /usr/share/man/man8/etrn.8.gz
check "no diversion left" sh -c '! dpkg-divert --list | grep -q smtpbox'
dpkg -P smtpbox >/dev/null

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
