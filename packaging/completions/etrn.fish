complete -c etrn -l port -d 'TCP port of the servers' -r
complete -c etrn -l timeout -d 'Seconds each phase may take (connect, greeting, each reply, TLS handshake); fractions allowed; 0 means no limit' -r
complete -c etrn -l helo -d 'Name to send in EHLO (default: this host\'s canonical name)' -r
complete -c etrn -l sendmail-cf -d 'sendmail configuration that lists the accepted names' -r -F
complete -c etrn -l local-port -d 'Port of the local MTA for -b' -r
complete -c etrn -l starttls -d 'When to use STARTTLS' -r -f -a "off\t'never use STARTTLS'
opportunistic\t'use it when offered, without certificate checks; fall back to plaintext'
require\t'always; fail unless the certificate verifies for the server name'"
complete -c etrn -l ca-file -d 'Trust only the CA certificates in this PEM file (with --starttls require, or for the servers --netrc has credentials for)' -r -F
complete -c etrn -l netrc -d 'Credentials for SMTP AUTH, per server, in netrc(5) format (must be private: mode 600); with --etrn-hosts the default is /etc/smtpbox/netrc when it exists' -r -F
complete -c etrn -l defaults -d 'Where to read ETRN_HOSTS when it is not in the environment' -r -F
complete -c etrn -l retry-for -d 'With --etrn-hosts: keep retrying unreachable or 4xx servers this long' -r
complete -c etrn -s b -d 'Boot: first make sure the local MTA accepts SMTP (greets 220)'
complete -c etrn -s v -l verbose -d 'Show the SMTP dialogue and one result line per client on stdout'
complete -c etrn -l json -d 'Print each server\'s outcome and each client\'s reply as one JSON object on stdout; same exit status (not with -v, whose dialogue also goes to stdout)'
complete -c etrn -l auth-plaintext -d 'Allow AUTH without verified TLS (STARTTLS as --starttls says): the password may cross the network readable'
complete -c etrn -l etrn-hosts -d 'Kick every server in ETRN_HOSTS (boot time; implies -b)'
complete -c etrn -s h -l help -d 'Print help (see more with \'--help\')'
complete -c etrn -s V -l version -d 'Print version'
