complete -c smtpdcheck -l stop -d 'Stop before the server with this address or name; servers listed before it with the same prio do not count either' -r
complete -c smtpdcheck -l timeout -d 'Seconds to spend on each server (lookup, connect and greeting); fractions allowed; 0 means no limit [default: 10]' -r
complete -c smtpdcheck -l port -d 'TCP port to probe [default: 25]' -r
complete -c smtpdcheck -l cache-dir -d 'Keep the result cache in DIR (mode 0700, owned by this user; e.g. a system-wide /var/cache/smtpbox) instead of the user\'s cache directory' -r -F
complete -c smtpdcheck -l cache-ttl -d 'Seconds a "down" result stays in the cache (0: never cached) [default: 60]' -r
complete -c smtpdcheck -l cache-ttl-up -d 'Seconds an "up" result stays in the cache (0: never cached) [default: 10]' -r
complete -c smtpdcheck -l mx -d 'Check DOMAIN\'s MX hosts instead of a server list; without --stop, the first MX host that is this host ends the list' -r
complete -c smtpdcheck -l no-cache -d 'Neither use nor update the result cache'
complete -c smtpdcheck -s v -l verbose -d 'Print one line per server on stderr: address, outcome, milliseconds'
complete -c smtpdcheck -l json -d 'Print the answer and what was found about each server as one JSON object on stdout (instead of the server\'s name); same exit status'
complete -c smtpdcheck -l postfix-policy -d 'Serve Postfix\'s policy protocol on stdin/stdout (spawn(8)): each RCPT gets DEFER_IF_PERMIT while a more preferred MX of its domain is up, else DUNNO; logs to syslog (mail), never to stderr'
complete -c smtpdcheck -l opensmtpd-filter -d 'Serve as an OpenSMTPD filter (smtpd-filters(7), proc-exec) on stdin/stdout: each rcpt-to gets "reject|451 4.7.1 ..." while a more preferred MX of its domain is up, else proceed; logs to syslog (mail)'
complete -c smtpdcheck -s h -l help -d 'Print help'
complete -c smtpdcheck -s V -l version -d 'Print version'
