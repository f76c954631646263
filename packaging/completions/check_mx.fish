complete -c check_mx -s H -l host -d 'Check this host instead of the domain\'s MX hosts (repeatable)' -r
complete -c check_mx -s p -l port -d 'TCP port to check' -r
complete -c check_mx -s w -l warning -d 'A greeting slower than this many seconds is WARNING' -r
complete -c check_mx -s c -l critical -d 'A greeting slower than this many seconds is CRITICAL' -r
complete -c check_mx -l cert-warn -d 'A certificate with fewer days left is WARNING' -r
complete -c check_mx -l cert-crit -d 'A certificate with fewer days left (or expired) is CRITICAL' -r
complete -c check_mx -l min-up -d 'Fewer MX hosts up than this is CRITICAL (more, but not all, is WARNING)' -r
complete -c check_mx -l ca-file -d 'Trust only the CA certificates in this PEM file, instead of the system\'s trust store' -r -F
complete -c check_mx -l helo -d 'Name to send in EHLO (default: this host\'s name)' -r
complete -c check_mx -s t -l timeout -d 'Seconds for the whole run (lookups included); checks not done by then are CRITICAL' -r
complete -c check_mx -l prometheus-file -d 'Also write the Prometheus metrics to this file, atomically (for node_exporter\'s textfile collector); stdout stays as it is' -r -F
complete -c check_mx -s 4 -d 'Check IPv4 addresses only'
complete -c check_mx -s 6 -d 'Check IPv6 addresses only'
complete -c check_mx -l require-tls -d 'No STARTTLS, a refused or failed STARTTLS, or a certificate that does not verify is CRITICAL (else WARNING, and no STARTTLS is fine)'
complete -c check_mx -l no-dane -d 'Do not look up TLSA records or check DANE (RFC 7672)'
complete -c check_mx -l require-dane -d 'An MX host without DNSSEC-validated TLSA records is CRITICAL'
complete -c check_mx -l no-mta-sts -d 'Do not look up or fetch the domain\'s MTA-STS policy (RFC 8461)'
complete -c check_mx -l require-mta-sts -d 'A domain without a valid MTA-STS policy in enforce mode is CRITICAL'
complete -c check_mx -l json -d 'Print one JSON object (schema in check_mx(1)) instead of the plugin text'
complete -c check_mx -l prometheus -d 'Print Prometheus metrics (text format 0.0.4) instead of the plugin text'
complete -c check_mx -s v -l verbose -d 'After the detail lines, print each address\'s SMTP dialogue (server lines as received, ours as ">>> CMD"); may be given more than once'
complete -c check_mx -s h -l help -d 'Print help'
complete -c check_mx -s V -l version -d 'Print version'
