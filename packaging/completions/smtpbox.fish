# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_smtpbox_global_optspecs
    string join \n list list-full version install= h/help
end

function __fish_smtpbox_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_smtpbox_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_smtpbox_using_subcommand
    set -l cmd (__fish_smtpbox_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c smtpbox -n "__fish_smtpbox_needs_command" -l install -r
complete -c smtpbox -n "__fish_smtpbox_needs_command" -l list
complete -c smtpbox -n "__fish_smtpbox_needs_command" -l list-full
complete -c smtpbox -n "__fish_smtpbox_needs_command" -l version
complete -c smtpbox -n "__fish_smtpbox_needs_command" -s h -l help -d 'Print help'
complete -c smtpbox -n "__fish_smtpbox_needs_command" -f -a "check_mx" -d 'Check every MX host of a domain: greeting, STARTTLS, certificate (a monitoring plugin)'
complete -c smtpbox -n "__fish_smtpbox_needs_command" -f -a "etrn" -d 'Ask a mail server to start delivering its queue for some hosts (RFC 1985)'
complete -c smtpbox -n "__fish_smtpbox_needs_command" -f -a "smtpdcheck" -d 'Check whether a more preferred SMTP server is available'
complete -c smtpbox -n "__fish_smtpbox_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -s H -l host -d 'Check this host instead of the domain\'s MX hosts (repeatable)' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -s p -l port -d 'TCP port to check' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -s w -l warning -d 'A greeting slower than this many seconds is WARNING' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -s c -l critical -d 'A greeting slower than this many seconds is CRITICAL' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -l cert-warn -d 'A certificate with fewer days left is WARNING' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -l cert-crit -d 'A certificate with fewer days left (or expired) is CRITICAL' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -l min-up -d 'Fewer MX hosts up than this is CRITICAL (more, but not all, is WARNING)' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -l ca-file -d 'Trust only the CA certificates in this PEM file, instead of the system\'s trust store' -r -F
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -l helo -d 'Name to send in EHLO (default: this host\'s name)' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -s t -l timeout -d 'Seconds for the whole run (lookups included); checks not done by then are CRITICAL' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -l prometheus-file -d 'Also write the Prometheus metrics to this file, atomically (for node_exporter\'s textfile collector); stdout stays as it is' -r -F
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -s 4 -d 'Check IPv4 addresses only'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -s 6 -d 'Check IPv6 addresses only'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -l require-tls -d 'No STARTTLS, a refused or failed STARTTLS, or a certificate that does not verify is CRITICAL (else WARNING, and no STARTTLS is fine)'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -l no-dane -d 'Do not look up TLSA records or check DANE (RFC 7672)'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -l require-dane -d 'An MX host without DNSSEC-validated TLSA records is CRITICAL'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -l no-mta-sts -d 'Do not look up or fetch the domain\'s MTA-STS policy (RFC 8461)'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -l require-mta-sts -d 'A domain without a valid MTA-STS policy in enforce mode is CRITICAL'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -l json -d 'Print one JSON object (schema in check_mx(1)) instead of the plugin text'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -l prometheus -d 'Print Prometheus metrics (text format 0.0.4) instead of the plugin text'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -s v -l verbose -d 'After the detail lines, print each address\'s SMTP dialogue (server lines as received, ours as ">>> CMD"); may be given more than once'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand check_mx" -s h -l help -d 'Print help'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand etrn" -l port -d 'TCP port of the servers' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand etrn" -l timeout -d 'Seconds each phase may take (connect, greeting, each reply, TLS handshake); fractions allowed; 0 means no limit' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand etrn" -l helo -d 'Name to send in EHLO (default: this host\'s canonical name)' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand etrn" -l sendmail-cf -d 'sendmail configuration that lists the accepted names' -r -F
complete -c smtpbox -n "__fish_smtpbox_using_subcommand etrn" -l local-port -d 'Port of the local MTA for -b' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand etrn" -l starttls -d 'When to use STARTTLS' -r -f -a "off\t'never use STARTTLS'
opportunistic\t'use it when offered, without certificate checks; fall back to plaintext'
require\t'always; fail unless the certificate verifies for the server name'"
complete -c smtpbox -n "__fish_smtpbox_using_subcommand etrn" -l ca-file -d 'Trust only the CA certificates in this PEM file (with --starttls require, or for the servers --netrc has credentials for)' -r -F
complete -c smtpbox -n "__fish_smtpbox_using_subcommand etrn" -l netrc -d 'Credentials for SMTP AUTH, per server, in netrc(5) format (must be private: mode 600); with --etrn-hosts the default is /etc/smtpbox/netrc when it exists' -r -F
complete -c smtpbox -n "__fish_smtpbox_using_subcommand etrn" -l defaults -d 'Where to read ETRN_HOSTS when it is not in the environment' -r -F
complete -c smtpbox -n "__fish_smtpbox_using_subcommand etrn" -l retry-for -d 'With --etrn-hosts: keep retrying unreachable or 4xx servers this long' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand etrn" -s b -d 'Boot: first make sure the local MTA accepts SMTP (greets 220)'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand etrn" -s v -l verbose -d 'Show the SMTP dialogue and one result line per client on stdout'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand etrn" -l json -d 'Print each server\'s outcome and each client\'s reply as one JSON object on stdout; same exit status (not with -v, whose dialogue also goes to stdout)'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand etrn" -l auth-plaintext -d 'Allow AUTH without verified TLS (STARTTLS as --starttls says): the password may cross the network readable'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand etrn" -l etrn-hosts -d 'Kick every server in ETRN_HOSTS (boot time; implies -b)'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand etrn" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand smtpdcheck" -l stop -d 'Stop before the server with this address or name; servers listed before it with the same prio do not count either' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand smtpdcheck" -l timeout -d 'Seconds to spend on each server (lookup, connect and greeting); fractions allowed; 0 means no limit [default: 10]' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand smtpdcheck" -l port -d 'TCP port to probe [default: 25]' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand smtpdcheck" -l cache-dir -d 'Keep the result cache in DIR (mode 0700, owned by this user; e.g. a system-wide /var/cache/smtpbox) instead of the user\'s cache directory' -r -F
complete -c smtpbox -n "__fish_smtpbox_using_subcommand smtpdcheck" -l cache-ttl -d 'Seconds a "down" result stays in the cache (0: never cached) [default: 60]' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand smtpdcheck" -l cache-ttl-up -d 'Seconds an "up" result stays in the cache (0: never cached) [default: 10]' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand smtpdcheck" -l mx -d 'Check DOMAIN\'s MX hosts instead of a server list; without --stop, the first MX host that is this host ends the list' -r
complete -c smtpbox -n "__fish_smtpbox_using_subcommand smtpdcheck" -l no-cache -d 'Neither use nor update the result cache'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand smtpdcheck" -s v -l verbose -d 'Print one line per server on stderr: address, outcome, milliseconds'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand smtpdcheck" -l json -d 'Print the answer and what was found about each server as one JSON object on stdout (instead of the server\'s name); same exit status'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand smtpdcheck" -l postfix-policy -d 'Serve Postfix\'s policy protocol on stdin/stdout (spawn(8)): each RCPT gets DEFER_IF_PERMIT while a more preferred MX of its domain is up, else DUNNO; logs to syslog (mail), never to stderr'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand smtpdcheck" -l opensmtpd-filter -d 'Serve as an OpenSMTPD filter (smtpd-filters(7), proc-exec) on stdin/stdout: each rcpt-to gets "reject|451 4.7.1 ..." while a more preferred MX of its domain is up, else proceed; logs to syslog (mail)'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand smtpdcheck" -l sendmail-socketmap -d 'Serve Sendmail\'s socket map protocol on the socket systemd passes (LISTEN_FDS) or on stdin: a domain gets "OK MX" while a more preferred MX of it is up, else NOTFOUND; logs to syslog (mail)'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand smtpdcheck" -s h -l help -d 'Print help'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand help; and not __fish_seen_subcommand_from check_mx etrn smtpdcheck help" -f -a "check_mx" -d 'Check every MX host of a domain: greeting, STARTTLS, certificate (a monitoring plugin)'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand help; and not __fish_seen_subcommand_from check_mx etrn smtpdcheck help" -f -a "etrn" -d 'Ask a mail server to start delivering its queue for some hosts (RFC 1985)'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand help; and not __fish_seen_subcommand_from check_mx etrn smtpdcheck help" -f -a "smtpdcheck" -d 'Check whether a more preferred SMTP server is available'
complete -c smtpbox -n "__fish_smtpbox_using_subcommand help; and not __fish_seen_subcommand_from check_mx etrn smtpdcheck help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
