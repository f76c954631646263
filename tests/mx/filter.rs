//! `smtpdcheck --opensmtpd-filter`: OpenSMTPD's filter protocol
//! (smtpd-filters(7)) on stdin and stdout, driven line by line as smtpd
//! drives it ([`FilterProcess`]). After `config|ready` it registers
//! exactly `rcpt-to` and the `link-connect`/`link-disconnect` reports; each
//! request gets exactly one answer, in its protocol version's field order:
//! `reject|451 4.7.1 ...` naming a more preferred MX that is up, else
//! `proceed` (every DNS failure and timeout included, within `--timeout`).
//! The stop is the local address of the session's `link-connect`, else
//! this host's. One domain's silent primary delays only its own answers.
//! Whatever arrives on stdin, the filter writes only lines smtpd accepts
//! and exits (0) only once stdin is closed and every answer is written.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::support::dns::*;
use crate::support::filter::*;
use crate::support::*;
use crate::*;

/// What `report` and `filter` lines carry as their time (smtpd's
/// `%lld.%06ld` of gettimeofday).
const TIMESTAMP: &str = "1576146008.006099";
/// The protocol version of OpenSMTPD 7.6, for the rows of one version.
const V: &str = "0.7";
/// A session id as smtpd writes it (16 hex digits).
const SESSION: u64 = 0x7641_df97_71b4_ed00;
/// The longest a quick answer may take (a DNS query on loopback and a
/// probe, on a machine shared with other tests).
const QUICK: Duration = Duration::from_secs(3);
/// How long the filter may take to exit once stdin is closed and nothing
/// is pending.
const EXIT_LIMIT: Duration = Duration::from_secs(5);

/// d.test's MX 10 (up in most tests).
const PRIMARY: &str = "127.0.0.2";
/// quiet.test's MX 10: accepts and never greets.
const SILENT: &str = "127.0.0.4";
/// refused.test's MX 10: nothing listens there.
const REFUSED: &str = "127.0.0.5";

/// The registration the filter must answer `config|ready` with.
const REGISTRATION: [&str; 4] = [
    "register|filter|smtp-in|rcpt-to",
    "register|report|smtp-in|link-connect",
    "register|report|smtp-in|link-disconnect",
    "register|ready",
];

/// What OpenSMTPD 6.6 to 7.5 write before `config|ready` (no `protocol`).
const CONFIG_6_8: [&str; 4] = [
    "config|smtpd-version|6.8.0p2",
    "config|smtp-session-timeout|300",
    "config|subsystem|smtp-in",
    "config|admd|mx2.d.test",
];

/// Domains hosted by one provider: MX 10 its mx.provider.test, whose
/// name server never answers, MX 20 this host.
const HOSTED: [&str; 10] = [
    "h0.test", "h1.test", "h2.test", "h3.test", "h4.test", "h5.test", "h6.test", "h7.test",
    "h8.test", "h9.test",
];

/// The zone: d.test (MX 10 on [`PRIMARY`], MX 20 this host), a null MX,
/// quiet.test and refused.test (MX 20 this host too), the [`HOSTED`]
/// domains, and names whose lookups fail.
fn filter_zone() -> Zone {
    let hosted = HOSTED.iter().fold(Zone::new(), |zone, domain| {
        zone.mx(domain, 10, "mx.provider.test")
            .mx(domain, 20, "mx2.provider.test")
    });
    hosted
        .behave("mx.provider.test", Behaviour::Silent)
        .a("mx2.provider.test", "127.0.0.1")
        .mx_at(DOMAIN, 10, "mx1.d.test", PRIMARY)
        .mx_at(DOMAIN, 20, "mx2.d.test", "127.0.0.1")
        .mx("null.test", 0, ".")
        .mx_at("quiet.test", 10, "mx1.quiet.test", SILENT)
        .mx_at("quiet.test", 20, "mx2.quiet.test", "127.0.0.1")
        .mx_at("refused.test", 10, "mx1.refused.test", REFUSED)
        .mx_at("refused.test", 20, "mx2.refused.test", "127.0.0.1")
        .behave("nx.test", Behaviour::NxDomain)
        .behave("servfail.test", Behaviour::ServFail)
        .behave("garbage.test", Behaviour::Garbage)
        .behave("silent.test", Behaviour::Silent)
}

/// What one test runs against: the MX hosts on one port (d.test's
/// primary playing `primary`, quiet.test's silent one) and the DNS.
struct Stage {
    servers: Vec<TestServer>,
    dns: DnsServer,
    port: String,
}

impl Stage {
    /// `None` (SKIPPED) where the addresses or port 53 cannot be bound.
    fn start(primary: Vec<Step>) -> Option<Stage> {
        let servers = same_port_or_skip(vec![(PRIMARY, primary), (SILENT, Vec::new())])?;
        let dns = DnsServer::start_or_skip(filter_zone())?;
        let port = servers[0].port().to_string();
        Some(Stage { servers, dns, port })
    }

    /// The filter probing this stage's port with `--timeout SECONDS`, no
    /// cache file and no "up" result kept (each rcpt-to probes again),
    /// resolv.conf `options`, and `extra` arguments.
    fn filter(&self, timeout: &str, options: &str, extra: &[&str]) -> Option<FilterProcess> {
        let fixed = ["--port", &self.port, "--timeout", timeout];
        let quiet = ["--no-cache", "--cache-ttl-up", "0"];
        let args = [&fixed[..], &quiet, extra].concat();
        FilterProcess::start(&self.dns, options, &args)
    }

    /// A stage whose primary plays `primary`, and its
    /// [`ready_filter`](Self::ready_filter); `None` (SKIPPED) where they
    /// cannot run here.
    fn ready(primary: Vec<Step>) -> Option<(Stage, FilterProcess)> {
        let stage = Stage::start(primary)?;
        let filter = stage.ready_filter()?;
        Some((stage, filter))
    }

    /// [`filter`](Self::filter) with `--timeout 2` and the quick resolver,
    /// after the 7.6 handshake.
    fn ready_filter(&self) -> Option<FilterProcess> {
        let mut filter = self.filter("2", QUICK_RESOLVER, &[])?;
        assert_eq!(filter.handshake(&CONFIG_7_6), REGISTRATION);
        Some(filter)
    }
}

/// `filter|VERSION|TIME|smtp-in|PHASE|SESSION|TOKEN|PARAMS`, as
/// lka_filter.c `filter_protocol_query` writes it.
fn request(version: &str, phase: &str, session: u64, token: u64, params: &str) -> String {
    format!("filter|{version}|{TIMESTAMP}|smtp-in|{phase}|{session:016x}|{token:016x}|{params}")
}

/// A protocol 0.7 `rcpt-to` request (smtpd sends the address without
/// its `<>`).
fn rcpt(session: u64, token: u64, address: &str) -> String {
    request(V, "rcpt-to", session, token, address)
}

/// `link-connect` of `session`, whose client reached `dest`.
fn link_connect(session: u64, dest: &str) -> String {
    format!(
        "report|{V}|{TIMESTAMP}|smtp-in|link-connect|{session:016x}|client.example|pass|\
         192.0.2.9:41234|{dest}"
    )
}

fn link_disconnect(session: u64) -> String {
    format!("report|{V}|{TIMESTAMP}|smtp-in|link-disconnect|{session:016x}")
}

/// The ids of an answer: session then token, token first before 0.5.
fn ids(token_first: bool, session: u64, token: u64) -> String {
    if token_first {
        format!("{token:016x}|{session:016x}")
    } else {
        format!("{session:016x}|{token:016x}")
    }
}

fn proceed_in(token_first: bool, session: u64, token: u64) -> String {
    format!("filter-result|{}|proceed", ids(token_first, session, token))
}

fn reject_in(token_first: bool, session: u64, token: u64, server: &str) -> String {
    format!(
        "filter-result|{}|reject|451 4.7.1 Service temporarily unavailable, please use {server}",
        ids(token_first, session, token)
    )
}

/// The protocol 0.7 answers.
fn proceed(session: u64, token: u64) -> String {
    proceed_in(false, session, token)
}

fn reject(session: u64, token: u64, server: &str) -> String {
    reject_in(false, session, token, server)
}

/// Closes stdin; the filter must exit 0 within [`EXIT_LIMIT`] having
/// written nothing on stderr; what it wrote over the whole run.
fn finish(filter: FilterProcess) -> Finished {
    let finished = filter.finish(EXIT_LIMIT);
    assert_eq!(finished.status, Some(0), "{finished:#?}");
    assert_eq!(finished.stderr, "", "{finished:#?}");
    finished
}

/// Every `filter-result` line of `lines` counted by its two ids.
fn answers_by_ids(lines: &[String]) -> HashMap<(u64, u64), usize> {
    let mut counts = HashMap::new();
    for (first, second) in lines.iter().filter_map(|l| answer_ids(l)) {
        *counts.entry((first, second)).or_default() += 1;
    }
    counts
}

#[test]
fn the_output_checker_knows_what_smtpd_accepts() {
    let good = [
        "register|ready",
        "register|filter|smtp-in|rcpt-to",
        "register|report|smtp-in|link-disconnect",
        "filter-result|7641df9771b4ed00|1ef1c203cc576e5d|proceed",
        "filter-result|1|2|reject|451 4.7.1 please use mx1.d.test",
        "filter-dataline|7641df9771b4ed00|1ef1c203cc576e5d|a line",
    ];
    for line in good {
        assert_eq!(check_output_line(format!("{line}\n").as_bytes()), Ok(()));
    }
    let long = format!("filter-result|1|2|reject|451 {}", "x".repeat(2048));
    let bad = [
        "register|ready",                     // no newline: checked below
        "register|filter|smtp-out|rcpt-to\n", // lka_filter.c: smtp-in only
        "register|filter|smtp-in|recipient\n",
        "register|report|smtp-in|link-nothing\n",
        "register|now\n",
        "filter-result|7641df9771b4ed00|proceed\n",
        "filter-result|x|1|proceed\n",
        "filter-result|1|2|reject\n",
        "filter-result|1|2|reject|please use mx1\n",
        "filter-result|1|2|reject|251 ok\n",
        "filter-result|1|2|reject|451 a|b\n",
        "filter-result|1|2|go\n",
        "filter-result|1|2|proceed\r\n",
        "filter-dataline|1|2\n",
        "proceed\n",
        "\n",
    ];
    for line in bad.iter().map(|l| l.as_bytes()).chain([long.as_bytes()]) {
        let shown = String::from_utf8_lossy(line);
        assert!(check_output_line(line).is_err(), "{shown:?}");
    }
    assert!(check_output_line(b"filter-result|1|2|reject|451 \xff\n").is_err());
    assert_eq!(
        answer_ids("filter-result|00000000000000ff|1|proceed"),
        Some((255, 1))
    );
}

#[test]
fn config_ready_is_answered_with_exactly_the_registration() {
    let configs: [(&str, &[&str]); 3] = [
        ("OpenSMTPD 7.6 (protocol 0.7)", &CONFIG_7_6),
        ("OpenSMTPD 6.8 (no protocol line)", &CONFIG_6_8),
        ("config|ready alone", &[]),
    ];
    let Some(dns) = DnsServer::start_or_skip(filter_zone()) else {
        return;
    };
    for (case, config) in configs {
        eprintln!("row: {case}");
        let Some(mut filter) = FilterProcess::start(&dns, QUICK_RESOLVER, &["--no-cache"]) else {
            return;
        };
        // Nothing may come before the registration: the first four lines
        // are it, and nothing follows.
        assert_eq!(filter.handshake(config), REGISTRATION, "{case}");
        let finished = finish(filter);
        assert_eq!(finished.lines, REGISTRATION, "{case}");
    }
    assert!(dns.asked().is_empty(), "no request, no query");
}

#[test]
fn answers_name_session_and_token_in_the_order_of_each_protocol_version() {
    // (version, token first in answers, the configuration smtpd sends)
    let versions: [(&str, bool, &[&str]); 4] = [
        ("0.4", true, &CONFIG_6_8),
        ("0.5", false, &CONFIG_6_8),
        ("0.6", false, &CONFIG_6_8),
        ("0.7", false, &CONFIG_7_6),
    ];
    let Some(stage) = Stage::start(up()) else {
        return;
    };
    for (version, token_first, config) in versions {
        eprintln!("row: protocol {version}");
        let Some(mut filter) = stage.filter("2", QUICK_RESOLVER, &[]) else {
            return;
        };
        assert_eq!(filter.handshake(config), REGISTRATION);
        let (session, cases) = (
            SESSION + 1,
            [
                (
                    "rcpt-to",
                    "u@d.test",
                    reject_in(token_first, SESSION + 1, 1, "mx1.d.test"),
                ),
                (
                    "rcpt-to",
                    "u@null.test",
                    proceed_in(token_first, SESSION + 1, 2),
                ),
                (
                    "mail-from",
                    "s@example.org",
                    proceed_in(token_first, SESSION + 1, 3),
                ),
            ],
        );
        for (token, (phase, param, expected)) in (1..).zip(cases) {
            filter.send_lines(&[&request(version, phase, session, token, param)]);
            assert_eq!(
                filter.texts(1, QUICK),
                [expected],
                "{version} {phase} {param}"
            );
        }
        let finished = finish(filter);
        assert_eq!(finished.after_close, Vec::<String>::new());
    }
}

#[test]
fn a_primary_that_is_up_rejects_and_once_it_stops_the_filter_proceeds() {
    let Some((mut stage, mut filter)) = Stage::ready(up()) else {
        return;
    };
    filter.send_lines(&[&rcpt(SESSION, 1, "u@d.test")]);
    assert_eq!(filter.texts(1, QUICK), [reject(SESSION, 1, "mx1.d.test")]);
    filter.send_lines(&[&rcpt(SESSION, 2, "other@D.TEST.")]);
    assert_eq!(filter.texts(1, QUICK), [reject(SESSION, 2, "mx1.d.test")]);
    // The primary stops: its port is refused from now on.
    drop(stage.servers.remove(0));
    filter.send_lines(&[&rcpt(SESSION, 3, "u@d.test")]);
    assert_eq!(filter.texts(1, QUICK), [proceed(SESSION, 3)]);
    let asked = stage.dns.asked_lines();
    assert!(asked.contains(&"udp MX d.test".to_owned()), "{asked:#?}");
    finish(filter);
}

/// Sends an rcpt-to for each of `recipients` at once (tokens 1, 2, ...)
/// and checks that each is answered `proceed`, in any order.
fn assert_all_proceed(filter: &mut FilterProcess, recipients: &[String]) {
    let requests: Vec<String> = (1..)
        .zip(recipients)
        .map(|(token, recipient)| rcpt(SESSION, token, recipient))
        .collect();
    let lines: Vec<&str> = requests.iter().map(String::as_str).collect();
    filter.send_lines(&lines);
    let mut answers = filter.texts(recipients.len(), QUICK);
    answers.sort();
    let mut expected: Vec<String> = (1..=recipients.len() as u64)
        .map(|token| proceed(SESSION, token))
        .collect();
    expected.sort();
    assert_eq!(answers, expected);
}

#[test]
fn recipients_of_one_domain_waiting_on_its_primary_share_one_probe() {
    // Five recipients of quiet.test at once, whose primary accepts and
    // never greets: one decision probes it, the four others wait for its
    // result (one connection, not five), and all proceed at --timeout.
    let Some((stage, mut filter)) = Stage::ready(up()) else {
        return;
    };
    let recipients: Vec<String> = (1..=5).map(|n| format!("r{n}@quiet.test")).collect();
    assert_all_proceed(&mut filter, &recipients);
    assert_eq!(stage.servers[1].connections_settled(), 1);
    finish(filter);
}

#[test]
fn domains_whose_mx_hosts_are_the_same_ask_dns_for_them_once() {
    // Ten new domains at once, all hosted by one provider whose MX host's
    // lookup takes the resolver's whole second: ten MX lookups, but one
    // lookup of that host, which the ten decisions wait for together
    // (then each proceeds: the host is down, and MX 20 is this host).
    let Some((stage, mut filter)) = Stage::ready(up()) else {
        return;
    };
    let recipients: Vec<String> = HOSTED.iter().map(|domain| format!("u@{domain}")).collect();
    assert_all_proceed(&mut filter, &recipients);
    let asked = stage.dns.asked_lines();
    let times = asked
        .iter()
        .filter(|l| *l == "udp A mx.provider.test")
        .count();
    assert_eq!(times, 1, "{asked:#?}");
    finish(filter);
}

#[test]
fn the_stop_is_the_local_address_each_session_reached() {
    // (case, reports sent first, the session of the rcpt-to, the answer:
    // None proceed, Some(server) reject naming it)
    let mut rows: Vec<(&str, Vec<String>, u64, Option<&str>)> = vec![
        (
            "the client reached MX 10 itself",
            vec![link_connect(SESSION + 1, "127.0.0.2:25")],
            SESSION + 1,
            None,
        ),
        (
            "MX 10 reached over a dual-stack socket",
            vec![link_connect(SESSION + 2, "[::ffff:127.0.0.2]:25")],
            SESSION + 2,
            None,
        ),
        (
            "the client reached the backup (MX 20)",
            vec![link_connect(SESSION + 3, "127.0.0.1:25")],
            SESSION + 3,
            Some("mx1.d.test"),
        ),
        (
            "no link-connect: this host's addresses (127.0.0.1 is MX 20)",
            vec![],
            SESSION + 4,
            Some("mx1.d.test"),
        ),
        (
            "after link-disconnect the reached address is forgotten",
            vec![
                link_connect(SESSION + 5, "127.0.0.2:25"),
                link_disconnect(SESSION + 5),
            ],
            SESSION + 5,
            Some("mx1.d.test"),
        ),
        (
            "the local socket: this host's addresses",
            vec![link_connect(SESSION + 6, "unix:/var/run/smtpd.sock")],
            SESSION + 6,
            Some("mx1.d.test"),
        ),
    ];
    // Sessions are independent: a second session to MX 10 after all that.
    rows.push((
        "another session to MX 10",
        vec![link_connect(SESSION + 7, "127.0.0.2:25")],
        SESSION + 7,
        None,
    ));
    let Some((_stage, mut filter)) = Stage::ready(up()) else {
        return;
    };
    for (token, (case, reports, session, answer)) in (1..).zip(rows) {
        eprintln!("row: {case}");
        let reports: Vec<&str> = reports.iter().map(String::as_str).collect();
        filter.send_lines(&reports);
        filter.send_lines(&[&rcpt(session, token, "u@d.test")]);
        let expected = match answer {
            None => proceed(session, token),
            Some(server) => reject(session, token, server),
        };
        assert_eq!(filter.texts(1, QUICK), [expected], "{case}");
    }
    finish(filter);
}

#[test]
fn hostile_input_never_ends_the_filter_nor_gets_an_answer_smtpd_cannot_read() {
    let overlong = rcpt(SESSION, 90, &format!("{}@null.test", "x".repeat(67 * 1024)));
    let not_utf8 = [
        &rcpt(SESSION, 91, "u@null.test").into_bytes()[..],
        b"\xff\xfe\x80",
    ]
    .concat();
    let nul_in_id = request(V, "rcpt-to", SESSION, 92, "u@null.test").replacen("|0000", "|\0\0", 1);
    // (case, bytes sent, the one answer due, if any)
    let rows: Vec<(&str, Vec<u8>, Option<String>)> = vec![
        ("garbage", b"garbage\n".to_vec(), None),
        ("an empty line", b"\n".to_vec(), None),
        ("a lone separator", b"|\n".to_vec(), None),
        ("not UTF-8", b"\xff\xfe\x80|\xc3\n".to_vec(), None),
        ("a request ending in bytes not UTF-8", [&not_utf8[..], b"\n"].concat(), Some(proceed(SESSION, 91))),
        ("NUL bytes in the token", format!("{nul_in_id}\n").into(), None),
        ("NUL bytes in the address", format!("{}\n", rcpt(SESSION, 1, "u\0\0@d.test")).into(), Some(proceed(SESSION, 1))),
        ("a '|' in the local part", format!("{}\n", rcpt(SESSION, 2, "a|b@null.test")).into(), Some(proceed(SESSION, 2))),
        ("a '|' after the domain", format!("{}\n", rcpt(SESSION, 3, "u@null.test|x")).into(), Some(proceed(SESSION, 3))),
        ("a CRLF line end", format!("{}\r\n", rcpt(SESSION, 4, "u@d.test")).into(), Some(proceed(SESSION, 4))),
        ("no address", format!("{}\n", request(V, "rcpt-to", SESSION, 5, "")).into(), Some(proceed(SESSION, 5))),
        ("an address without a domain", format!("{}\n", rcpt(SESSION, 6, "postmaster")).into(), Some(proceed(SESSION, 6))),
        ("a line over 66 KiB (dropped whole)", format!("{overlong}\n").into(), None),
        ("an unknown phase", format!("{}\n", request(V, "frobnicate", SESSION, 7, "x")).into(), Some(proceed(SESSION, 7))),
        ("an unregistered phase", format!("{}\n", request(V, "mail-from", SESSION, 8, "s@example.org")).into(), Some(proceed(SESSION, 8))),
        ("an unregistered phase without parameters", format!("{}\n", request(V, "data", SESSION, 9, "")).into(), Some(proceed(SESSION, 9))),
        ("an unregistered report", format!("report|{V}|{TIMESTAMP}|smtp-in|tx-rcpt|{SESSION:016x}|ae3f|ok|u@d.test\n").into(), None),
        ("a report of an unknown kind", format!("report|{V}|{TIMESTAMP}|smtp-in|frobnicated|{SESSION:016x}\n").into(), None),
        ("a link-connect without addresses", format!("report|{V}|{TIMESTAMP}|smtp-in|link-connect|{SESSION:016x}\n").into(), None),
        ("a link-connect of another subsystem", format!("report|{V}|{TIMESTAMP}|smtp-out|link-connect|{SESSION:016x}|a|pass|127.0.0.9:1|127.0.0.2:25\n").into(), None),
        ("a request without a token", format!("filter|{V}|{TIMESTAMP}|smtp-in|rcpt-to|{SESSION:016x}\n").into(), None),
        ("a request with an unknown version", format!("{}\n", request("x.y", "rcpt-to", SESSION, 10, "u@d.test")).into(), None),
        ("the filter's own answer echoed", format!("{}\n", proceed(SESSION, 11)).into(), None),
        ("a config line after config|ready", b"config|admd|x\n".to_vec(), None),
    ];
    let Some((_stage, mut filter)) = Stage::ready(up()) else {
        return;
    };
    let mut expected: Vec<String> = REGISTRATION.iter().map(|l| l.to_string()).collect();
    for (case, bytes, answer) in rows {
        eprintln!("row: {case}");
        filter.send(bytes);
        if let Some(answer) = answer {
            assert_eq!(
                filter.texts(1, QUICK),
                std::slice::from_ref(&answer),
                "{case}"
            );
            expected.push(answer);
        }
    }
    // Everything above was read: a request sent now is answered, and the
    // process is still there.
    filter.send_lines(&[&request(V, "helo", SESSION, 12, "client.example")]);
    assert_eq!(filter.texts(1, QUICK), [proceed(SESSION, 12)]);
    expected.push(proceed(SESSION, 12));
    assert!(filter.running(), "the filter exited while stdin was open");
    let finished = finish(filter);
    assert_eq!(finished.lines, expected, "nothing else was written");
    let counts = answers_by_ids(&finished.lines);
    assert!(counts.values().all(|&n| n == 1), "{counts:?}");
    assert!(
        !counts.contains_key(&(SESSION, 90)),
        "the overlong line is dropped"
    );
}

#[test]
fn stdin_closed_ends_the_filter_only_after_the_pending_answers() {
    let Some((_stage, filter)) = Stage::ready(up()) else {
        return;
    };
    // quiet.test's primary never greets: its answer comes at --timeout (2 s).
    filter.send_lines(&[
        &rcpt(SESSION, 1, "u@quiet.test"),
        &rcpt(SESSION, 2, "u@null.test"),
        &rcpt(SESSION, 3, "u@d.test"),
    ]);
    let closed = Instant::now();
    let finished = finish(filter);
    let waited = closed.elapsed();
    assert!(
        finished.after_close.contains(&proceed(SESSION, 1)),
        "quiet.test answered after stdin closed: {finished:#?}"
    );
    assert!(
        waited >= Duration::from_millis(1500),
        "exited after {waited:?}"
    );
    let counts = answers_by_ids(&finished.lines);
    for token in 1..=3 {
        assert_eq!(counts.get(&(SESSION, token)), Some(&1), "{finished:#?}");
    }
    assert!(finished.lines.contains(&reject(SESSION, 3, "mx1.d.test")));
    assert!(finished.lines.contains(&proceed(SESSION, 2)));
}

#[test]
fn dns_failures_and_timeouts_proceed_within_the_timeout() {
    const SLOW_RESOLVER: &str = "options timeout:5 attempts:2";
    // (domain, resolv.conf options, --timeout, the answer's delay: at
    // least, less than)
    let rows: [(&str, &str, &str, u64, u64); 6] = [
        ("nx.test", QUICK_RESOLVER, "2", 0, 1000),
        ("servfail.test", QUICK_RESOLVER, "2", 0, 1000),
        ("refused.test", QUICK_RESOLVER, "2", 0, 1000),
        ("garbage.test", QUICK_RESOLVER, "2", 0, 2500),
        // The resolver would wait 10 s; --timeout cuts it at 2.
        ("silent.test", SLOW_RESOLVER, "2", 1800, 2800),
        // The primary accepts and never greets.
        ("quiet.test", QUICK_RESOLVER, "2", 1800, 2800),
    ];
    let Some(stage) = Stage::start(up()) else {
        return;
    };
    for (domain, options, timeout, at_least, below) in rows {
        eprintln!("row: {domain}");
        let Some(mut filter) = stage.filter(timeout, options, &[]) else {
            return;
        };
        assert_eq!(filter.handshake(&CONFIG_7_6), REGISTRATION);
        let sent = filter.send_lines(&[&rcpt(SESSION, 1, &format!("u@{domain}"))]);
        let answer = filter
            .lines(1, Duration::from_millis(below + 1000))
            .remove(0);
        let took = answer.at - sent;
        assert_eq!(answer.text(), proceed(SESSION, 1), "{domain}");
        let range = Duration::from_millis(at_least)..Duration::from_millis(below);
        assert!(
            range.contains(&took),
            "{domain}: answered after {took:?}, not in {range:?}"
        );
        finish(filter);
    }
}

#[test]
fn one_domain_s_silent_primary_delays_only_its_own_answers() {
    let Some(stage) = Stage::start(up()) else {
        return;
    };
    let Some(mut filter) = stage.filter("3", QUICK_RESOLVER, &[]) else {
        return;
    };
    assert_eq!(filter.handshake(&CONFIG_7_6), REGISTRATION);
    let slow = filter.send_lines(&[&rcpt(SESSION, 1, "u@quiet.test")]);
    // Written after quiet.test's request, answered long before it.
    let quick = [
        (rcpt(SESSION + 1, 2, "u@null.test"), proceed(SESSION + 1, 2)),
        (
            rcpt(SESSION + 2, 3, "u@refused.test"),
            proceed(SESSION + 2, 3),
        ),
        (rcpt(SESSION + 3, 4, "u@nx.test"), proceed(SESSION + 3, 4)),
        (
            rcpt(SESSION + 4, 5, "u@d.test"),
            reject(SESSION + 4, 5, "mx1.d.test"),
        ),
        (
            request(V, "mail-from", SESSION + 5, 6, "s@example.org"),
            proceed(SESSION + 5, 6),
        ),
    ];
    let mut sent_at = HashMap::new();
    for (line, answer) in &quick {
        sent_at.insert(answer.clone(), filter.send_lines(&[line]));
    }
    let mut lines = filter.lines(quick.len() + 1, Duration::from_secs(6));
    let last = lines.pop().expect("quiet.test's answer");
    assert_eq!(
        last.text(),
        proceed(SESSION, 1),
        "quiet.test is answered last"
    );
    let waited = last.at - slow;
    assert!(
        (Duration::from_millis(2700)..Duration::from_millis(4000)).contains(&waited),
        "quiet.test answered after {waited:?}, --timeout is 3 s"
    );
    let mut got: Vec<String> = lines.iter().map(OutputLine::text).collect();
    got.sort();
    let mut due: Vec<String> = quick.iter().map(|(_, answer)| answer.clone()).collect();
    due.sort();
    assert_eq!(got, due);
    for line in &lines {
        let took = line.at - sent_at[&line.text()];
        assert!(
            took < Duration::from_secs(1),
            "{} after {took:?}",
            line.text()
        );
    }
    finish(filter);
}
