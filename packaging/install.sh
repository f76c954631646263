#!/bin/sh
# Installs smtpbox where dpkg is not used: the binary, the applet links,
# manual pages, shell completions, the MTA and monitoring examples
# (share/doc/smtpbox/examples), the boot unit, the sendmail socket map
# units (not enabled) and /etc/default/smtpbox.
#
#   packaging/install.sh [--uninstall]
#   PREFIX=/usr/local (default)  DESTDIR= (staging root, default none)
#   SMTPBOX_BINARY=target/release/smtpbox (built with cargo if missing)
#
# Every file and directory it creates is listed in
# $PREFIX/share/smtpbox/install-manifest; --uninstall removes exactly those
# (an existing /etc/default/smtpbox is never overwritten nor removed).
set -eu

PREFIX=${PREFIX:-/usr/local}
DESTDIR=${DESTDIR:-}
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
binary=${SMTPBOX_BINARY:-$top/target/release/smtpbox}
root="$DESTDIR"
manifest_rel="$PREFIX/share/smtpbox/install-manifest"
manifest="$root$manifest_rel"

uninstall() {
    if [ ! -f "$manifest" ]; then
        echo "install.sh: nothing to uninstall ($manifest not found)" >&2
        exit 1
    fi
    # Files first, then the directories it made, deepest first, each only
    # if empty (something else may have been put there since).
    dirs=$(grep '^d ' "$manifest.dirs" 2>/dev/null | cut -c3- | sort -r || true)
    grep '^f ' "$manifest" | cut -c3- | while IFS= read -r path; do
        rm -f "$root$path"
    done
    rm -f "$manifest" "$manifest.dirs"
    for dir in $dirs; do
        rmdir "$root$dir" 2>/dev/null || true
    done
    echo "smtpbox uninstalled from $root$PREFIX"
}

# mkdir -p that records every directory it creates.
make_dir() {
    missing=""
    d=$1
    while [ ! -d "$root$d" ]; do
        missing="$d $missing"
        d=$(dirname "$d")
    done
    for d in $missing; do
        mkdir -m 755 "$root$d"
        echo "d $d" >> "$dirs_tmp"
    done
}

# put MODE SOURCE DEST: installs a file and records it.
put() {
    make_dir "$(dirname "$3")"
    install -m "$1" "$2" "$root$3"
    echo "f $3" >> "$files_tmp"
}

# link TARGET DEST: a relative symbolic link, recorded.
link() {
    make_dir "$(dirname "$2")"
    ln -sfn "$1" "$root$2"
    echo "f $2" >> "$files_tmp"
}

install_all() {
    if [ ! -x "$binary" ]; then
        (cd "$top" && cargo build --release)
    fi
    files_tmp=$(mktemp)
    dirs_tmp=$(mktemp)
    trap 'rm -f "$files_tmp" "$dirs_tmp"' EXIT

    put 755 "$binary" "$PREFIX/bin/smtpbox"
    link smtpbox "$PREFIX/bin/smtpdcheck"
    link ../bin/smtpbox "$PREFIX/sbin/etrn"
    link ../../../bin/smtpbox "$PREFIX/lib/nagios/plugins/check_mx"
    put 644 "$here/man/smtpbox.1" "$PREFIX/share/man/man1/smtpbox.1"
    put 644 "$here/man/smtpdcheck.1" "$PREFIX/share/man/man1/smtpdcheck.1"
    put 644 "$here/man/etrn.8" "$PREFIX/share/man/man8/etrn.8"
    put 644 "$here/man/check_mx.1" "$PREFIX/share/man/man1/check_mx.1"
    for name in smtpbox smtpdcheck etrn check_mx; do
        put 644 "$here/completions/$name.bash" "$PREFIX/share/bash-completion/completions/$name"
        put 644 "$here/completions/_$name" "$PREFIX/share/zsh/site-functions/_$name"
        put 644 "$here/completions/$name.fish" "$PREFIX/share/fish/vendor_completions.d/$name.fish"
    done
    for example in "$here"/examples/*; do
        put 644 "$example" "$PREFIX/share/doc/smtpbox/examples/$(basename "$example")"
    done
    unit_tmp=$(mktemp)
    sed "s|/usr/sbin/etrn|$PREFIX/sbin/etrn|" "$here/systemd/smtpbox-etrn.service" > "$unit_tmp"
    put 644 "$unit_tmp" "/etc/systemd/system/smtpbox-etrn.service"
    # the sendmail socket map: installed, not enabled (see sendmail.mc)
    sed "s|/usr/bin/smtpdcheck|$PREFIX/bin/smtpdcheck|" "$here/systemd/smtpbox-socketmap.service" > "$unit_tmp"
    put 644 "$unit_tmp" "/etc/systemd/system/smtpbox-socketmap.service"
    put 644 "$here/systemd/smtpbox-socketmap.socket" "/etc/systemd/system/smtpbox-socketmap.socket"
    rm -f "$unit_tmp"
    if [ ! -e "$root/etc/default/smtpbox" ]; then
        put 644 "$here/default/smtpbox" "/etc/default/smtpbox"
    fi

    make_dir "$PREFIX/share/smtpbox"
    # The manifest lists itself last; the directory list is kept beside it.
    cp "$files_tmp" "$manifest"
    echo "f $manifest_rel" >> "$manifest"
    cp "$dirs_tmp" "$manifest.dirs"
    echo "smtpbox installed into $root$PREFIX (manifest: $manifest)"
}

case "${1:-}" in
    --uninstall) uninstall ;;
    "") install_all ;;
    *) echo "usage: $0 [--uninstall]" >&2; exit 2 ;;
esac
