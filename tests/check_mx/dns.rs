//! `check_mx DOMAIN`: the MX hosts from the scripted DNS server, in a
//! private mount namespace whose resolver knows only it (root needed:
//! elsewhere every row says SKIPPED). SMTP servers share one port on
//! 127.0.0.x; an MX host on an address where nothing listens is down.

use support::dns::*;

use super::*;

pub(super) const DOMAIN: &str = "d.test";

/// How long the harness lets one run take before killing it.
pub(super) const RUN_LIMIT: Duration = Duration::from_secs(10);

/// The addresses the zones here give MX hosts. Where a row has no server,
/// the servers' port is held there, so such a host is reliably down.
const MX_ADDRESSES: [&str; 2] = ["127.0.0.2", "127.0.0.3"];

/// MX 10 mx1.d.test (127.0.0.2), MX 20 mx2.d.test (127.0.0.3), the worse
/// one first in the answer.
pub(super) fn two_mx() -> Zone {
    Zone::new()
        .mx_at(DOMAIN, 20, "mx2.d.test", "127.0.0.3")
        .mx_at(DOMAIN, 10, "mx1.d.test", "127.0.0.2")
}

/// `check_mx --port PORT -t SECONDS --helo client.test ARGS` in a mount
/// namespace whose resolv.conf names only `dns`, with `options`; `None`
/// (SKIPPED) where the namespace cannot be made.
pub(super) fn check_mx_via(
    dns: &DnsServer,
    options: &str,
    port: &str,
    seconds: &str,
    args: &[&str],
) -> Option<Run> {
    let binary = smtpbox_bin();
    let base = [path_arg(&binary), "check_mx", "--port", port, "-t", seconds];
    let argv = [&base[..], &["--helo", "client.test"], args].concat();
    run_with_resolver(&dns.resolv_conf(options), &argv, None, RUN_LIMIT)
}

/// A server that greets and answers EHLO without STARTTLS.
pub(super) fn up() -> Vec<Step> {
    vec![
        line("220 mx.test ESMTP"),
        serve(&[("EHLO", "250-mx.test\n250 8BITMIME")]),
    ]
}

/// One case: the zone, the SMTP servers, the options, what must happen.
struct Row {
    name: &'static str,
    zone: Zone,
    /// SMTP servers on one shared port: (127.0.0.x, script).
    hosts: Vec<(&'static str, Vec<Step>)>,
    /// Options before DOMAIN (after `--port P -t T --helo client.test`).
    args: &'static [&'static str],
    status: i32,
    summary: &'static str,
    /// Metrics with a value.
    measured: &'static [&'static str],
}

fn row(name: &'static str, zone: Zone, status: i32, summary: &'static str) -> Row {
    Row {
        name,
        zone,
        hosts: vec![("127.0.0.2", up())],
        args: &[],
        status,
        summary,
        measured: &[],
    }
}

/// Plays every row; returns early, SKIPPED, without root powers.
fn check_rows(rows: Vec<Row>) {
    for row in rows {
        eprintln!("row: {}", row.name);
        let served = |ip: &&str| row.hosts.iter().any(|(host, _)| host == ip);
        let down: Vec<&str> = MX_ADDRESSES.into_iter().filter(|ip| !served(ip)).collect();
        let Some((servers, held)) = same_port_refusing_or_skip(row.hosts, &down) else {
            return;
        };
        let Some(dns) = DnsServer::start_or_skip(row.zone) else {
            return;
        };
        let port = servers
            .first()
            .map_or_else(|| held[0].addr().port(), TestServer::port);
        let port = port.to_string();
        let args = [row.args, &[DOMAIN]].concat();
        let Some(run) = check_mx_via(&dns, QUICK_RESOLVER, &port, "3", &args) else {
            return;
        };
        let output = assert_plugin(&run, row.status, row.summary);
        for label in row.measured {
            assert!(output.metric(label).is_some(), "{label}: {run:#?}");
        }
        assert!(
            dns.asked_lines().iter().any(|q| q == "udp MX d.test"),
            "{:?}",
            dns.asked_lines()
        );
    }
}

#[test]
fn the_mx_hosts_of_a_domain() {
    check_rows(vec![
        Row {
            hosts: vec![("127.0.0.2", up()), ("127.0.0.3", up())],
            measured: &[
                "mx1.d.test[127.0.0.2] greeting",
                "mx2.d.test[127.0.0.3] greeting",
            ],
            ..row(
                "both up",
                two_mx(),
                0,
                "2 of 2 MX hosts of d.test up, 2 addresses, 0 with TLS",
            )
        },
        Row {
            measured: &["mx1.d.test[127.0.0.2] greeting"],
            ..row(
                "one of two down: WARNING, the down host named first",
                two_mx(),
                1,
                "mx2.d.test[127.0.0.3] down at connect: Connection refused",
            )
        },
        Row {
            args: &["--min-up", "2"],
            ..row(
                "one of two down with --min-up 2: CRITICAL",
                two_mx(),
                2,
                "mx2.d.test[127.0.0.3] down at connect",
            )
        },
        row(
            "an MX host without an address is down",
            Zone::new()
                .mx_at(DOMAIN, 10, "mx1.d.test", "127.0.0.2")
                .mx(DOMAIN, 20, "ghost.d.test"),
            1,
            "ghost.d.test down at lookup",
        ),
        Row {
            measured: &["d.test[127.0.0.2] greeting"],
            ..row(
                "no MX record: the domain itself",
                Zone::new().a(DOMAIN, "127.0.0.2"),
                0,
                "1 of 1 MX host of d.test up",
            )
        },
        row(
            "a null MX: UNKNOWN, nothing to check",
            Zone::new().mx(DOMAIN, 0, ".").a(DOMAIN, "127.0.0.2"),
            3,
            "d.test has a null MX (RFC 7505): it accepts no mail",
        ),
        row(
            "NXDOMAIN: UNKNOWN",
            Zone::new().behave(DOMAIN, Behaviour::NxDomain),
            3,
            "d.test: MX lookup: no such domain (NXDOMAIN)",
        ),
        row(
            "SERVFAIL: UNKNOWN",
            Zone::new().behave(DOMAIN, Behaviour::ServFail),
            3,
            "d.test: MX lookup: no answer",
        ),
    ]);
}
