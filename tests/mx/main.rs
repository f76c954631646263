//! Integration tests of `smtpdcheck --mx DOMAIN`: the built binary in a
//! private mount namespace whose resolver knows only a scripted DNS server
//! on loopback (`support::dns`), probing scripted SMTP servers that share
//! one port on 127.0.0.x.
//!
//! Contract under test: DOMAIN's MX records, ordered by preference, are
//! decided as `prio:exchange` arguments would be (the exchange printed
//! without its trailing dot); no MX means the domain itself at preference
//! 0; a null MX (`0 .`) means none available (exit 0); a CNAME is
//! followed; a truncated UDP answer is asked again over TCP; NXDOMAIN,
//! SERVFAIL, silence (bounded by --timeout) and a malformed answer exit 2
//! with one stderr line naming the domain. Without --stop, the first MX
//! with an address of this host (127.0.0.1, never 127.0.0.10) ends the list
//! with its same-preference peers; with --stop, --stop decides.
//!
//! Needs root (port 53, `unshare -m`): elsewhere every test says SKIPPED.
//! No query leaves the machine: resolv.conf names only the test server.

#[path = "../support/mod.rs"]
mod support;

/// One `#[test]` a row, played by [`check_row`] under the row's name:
/// `name: zone => expect`, then the [`Row`] methods that complete it
/// (`host(ip, script)`, `args(...)`, `asked(query)`...).
macro_rules! mx_rows {
    ($($(#[$doc:meta])* $name:ident: $zone:expr => $expect:expr
        $(, $method:ident($($arg:expr),*))*;)*) => {$(
        $(#[$doc])*
        #[test]
        fn $name() {
            check_row(Row::new(stringify!($name), $zone, $expect)$(.$method($($arg),*))*);
        }
    )*};
}

mod answers;
mod errors;
mod filter;
mod policy;
mod selftest;
mod socketmap;
mod this_host;

use std::time::Duration;

use support::dns::*;
use support::*;

/// The domain most rows look up.
const DOMAIN: &str = "d.test";
/// A run's `--timeout` unless the row says otherwise, in seconds.
const TIMEOUT: u64 = 2;
/// How long the harness lets one run take before killing it.
const RUN_LIMIT: Duration = Duration::from_secs(8);

/// What a row expects of smtpdcheck.
#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Exit 1, this name on stdout.
    Available(&'static str),
    /// Exit 0, nothing on stdout.
    NoneAvailable,
    /// Exit 2, nothing on stdout, one `smtpdcheck: ...` stderr line that
    /// names this domain.
    Fails(&'static str),
    /// Exit 2 (a usage error: clap's message may take several lines).
    Usage,
}

/// One case: the DNS zone, the SMTP servers, the arguments and what must
/// happen.
struct Row {
    name: &'static str,
    zone: Zone,
    /// SMTP servers on one shared port: (127.0.0.x, script).
    hosts: Vec<(&'static str, Vec<Step>)>,
    /// resolv.conf options (default [`QUICK_RESOLVER`]).
    resolver: &'static str,
    /// `--timeout`, in seconds: the run must end within it + 1 s.
    timeout: u64,
    /// A tighter bound on the run's time, when the row has one.
    within: Option<Duration>,
    /// Arguments after `--port PORT --timeout SECONDS`.
    args: Vec<&'static str>,
    expect: Expect,
    /// Queries the DNS server must have seen (`udp MX d.test`).
    asked: Vec<&'static str>,
}

impl Row {
    /// A row running `smtpdcheck --mx d.test`.
    fn new(name: &'static str, zone: Zone, expect: Expect) -> Row {
        Row {
            name,
            zone,
            hosts: Vec::new(),
            resolver: QUICK_RESOLVER,
            timeout: TIMEOUT,
            within: None,
            args: vec!["--mx", DOMAIN],
            expect,
            asked: Vec::new(),
        }
    }

    /// Adds an SMTP server at `ip` playing `script`.
    fn host(mut self, ip: &'static str, script: Vec<Step>) -> Row {
        self.hosts.push((ip, script));
        self
    }

    /// Replaces the arguments (after `--port PORT --timeout SECONDS`).
    fn args(mut self, args: &[&'static str]) -> Row {
        self.args = args.to_vec();
        self
    }

    /// `--stop server --mx d.test` as the arguments.
    fn stop(self, server: &'static str) -> Row {
        self.args(&["--stop", server, "--mx", DOMAIN])
    }

    fn resolver(mut self, options: &'static str) -> Row {
        self.resolver = options;
        self
    }

    /// `--timeout seconds`.
    fn timeout(mut self, seconds: u64) -> Row {
        self.timeout = seconds;
        self
    }

    /// The run must end within `limit`.
    fn within(mut self, limit: Duration) -> Row {
        self.within = Some(limit);
        self
    }

    /// The DNS server must have seen this query (`TRANSPORT TYPE NAME`).
    fn asked(mut self, query: &'static str) -> Row {
        self.asked.push(query);
        self
    }
}

/// The zone of the services' cases: d.test's MX 10 on 127.0.0.2, MX 20
/// this host; other.test's only MX the same primary (this host is no MX
/// of it).
fn backup_zone() -> Zone {
    Zone::new()
        .mx_at(DOMAIN, 10, "mx1.d.test", "127.0.0.2")
        .mx_at(DOMAIN, 20, "mx2.d.test", "127.0.0.1")
        .mx_at("other.test", 10, "mx1.other.test", "127.0.0.2")
        .mx("null.test", 0, ".")
        .behave("nx.test", Behaviour::NxDomain)
        .behave("silent.test", Behaviour::Silent)
}

/// A server on `ip` playing `script`, the scripted DNS serving `zone`,
/// and the server's port as an argument; `None` (SKIPPED) where either
/// cannot run here.
fn server_and_dns(
    ip: &str,
    script: Vec<Step>,
    zone: Zone,
) -> Option<(TestServer, DnsServer, String)> {
    let server = same_port_or_skip(vec![(ip, script)])?.remove(0);
    let dns = DnsServer::start_or_skip(zone)?;
    let port = server.port().to_string();
    Some((server, dns, port))
}

/// A server that greets: up.
fn up() -> Vec<Step> {
    vec![line("220 mx.test ESMTP ready")]
}

/// A server that refuses service in its greeting: down.
fn down() -> Vec<Step> {
    vec![line("554 mx.test no service here"), Step::Close]
}

/// Runs `smtpbox smtpdcheck ARGS` against `dns` in the private namespace.
fn smtpdcheck(resolv_conf: &str, args: &[&str]) -> Option<Run> {
    let binary = smtpbox_bin();
    let argv = [&[path_arg(&binary), "smtpdcheck"], args].concat();
    run_with_resolver(resolv_conf, &argv, None, RUN_LIMIT)
}

/// Plays every row (in order, each with its own servers), failing with
/// the row's name. Returns early, SKIPPED, where root powers are missing.
fn check_rows(rows: Vec<Row>) {
    for row in rows {
        eprintln!("row: {}", row.name);
        if !check_row(row) {
            return;
        }
    }
}

/// One row; false when it had to be skipped.
fn check_row(row: Row) -> bool {
    // The zone's addresses without a server are held on the servers'
    // port (refused, whatever other tests bind meanwhile).
    let down: Vec<String> = row
        .zone
        .ipv4_addresses()
        .into_iter()
        .filter(|ip| ip.starts_with("127.") && !row.hosts.iter().any(|(host, _)| host == ip))
        .collect();
    let down: Vec<&str> = down.iter().map(String::as_str).collect();
    let Some((servers, held)) = same_port_refusing_or_skip(row.hosts.clone(), &down) else {
        return false;
    };
    let Some(dns) = DnsServer::start_or_skip(row.zone.clone()) else {
        return false;
    };
    let port = match (servers.first(), held.first()) {
        (Some(server), _) => server.port(),
        (None, Some(hold)) => hold.addr().port(),
        (None, None) => free_port(),
    };
    let (port, timeout) = (port.to_string(), row.timeout.to_string());
    let args = [&["--port", &port, "--timeout", &timeout], &row.args[..]].concat();
    let Some(run) = smtpdcheck(&dns.resolv_conf(row.resolver), &args) else {
        return false;
    };
    let name = row.name;
    let asked = dns.asked_lines();
    let context = format!("row {name:?}: {run:#?}\nDNS queries: {asked:#?}");
    let limit = row.within.unwrap_or(Duration::from_secs(row.timeout + 1));
    assert!(run.elapsed < limit, "slower than {limit:?}: {context}");
    match row.expect {
        Expect::Available(server) => {
            assert_eq!(run.status, Some(1), "{context}");
            assert_eq!(run.stdout, format!("{server}\n"), "{context}");
        }
        Expect::NoneAvailable => {
            assert_eq!(run.status, Some(0), "{context}");
            assert_eq!(run.stdout, "", "{context}");
        }
        Expect::Fails(domain) => assert_fails(&run, domain, &context),
        Expect::Usage => {
            assert_eq!(run.status, Some(2), "{context}");
            assert!(asked.is_empty(), "a usage error asks no DNS: {context}");
        }
    }
    assert!(!run.stderr.contains("panicked"), "{context}");
    for query in &row.asked {
        assert!(asked.iter().any(|q| q == query), "no {query:?}: {context}");
    }
    true
}

/// Exit 2, nothing on stdout, one stderr line `smtpdcheck: ...` naming
/// `domain`.
fn assert_fails(run: &Run, domain: &str, context: &str) {
    assert_eq!(run.status, Some(2), "{context}");
    assert_eq!(run.stdout, "", "{context}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one stderr line: {context}");
    assert!(lines[0].starts_with("smtpdcheck: "), "{context}");
    assert!(
        lines[0].contains(domain),
        "the line names {domain}: {context}"
    );
}
