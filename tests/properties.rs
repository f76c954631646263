//! Property tests for every parser of the project: each one never panics on
//! arbitrary input and either round-trips what it accepts or rejects cleanly.
//!
//! The same properties are checked by the cargo-fuzz targets in `fuzz/`
//! (see `fuzz/README.md`); this file keeps them in `cargo test`, at 256
//! cases a property so the whole file runs in a few seconds.

use std::collections::{HashMap, HashSet};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};

use smtpbox::etrn::etrn_hosts::{self, Group};
use smtpbox::etrn::sendmail_cf::{merge_names, parse_cf, parse_class_file};
use smtpbox::etrn::shell_vars::{find_variable, parse_assignments};
use smtpbox::names::{EtrnArgument, HostName, MAX_NAME_OCTETS, ip_literal, same_name};
use smtpbox::smtp::reply::{LineCodeCheck, LineCodeError, MAX_REPLY_LEN, Reply, line_head};
use smtpbox::smtp::resolve::{Host, interleave_families};
use smtpbox::smtp::transcript::Transcript;
use smtpbox::smtp::wire::Wire;
use smtpbox::smtpdcheck::cache::{self, Entry};
use smtpbox::smtpdcheck::decide::{Availability, Board, StopMatch, Verdict};
use smtpbox::smtpdcheck::servers::parse_server;

/// 256 cases a property; no regression files are written into the tree (a
/// failing case is printed, minimised, in the test output instead).
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::with_cases(256)
    }
}

// ---------------------------------------------------------------------------
// Shared strategies
// ---------------------------------------------------------------------------

/// Text made of the given pieces: reaches deep into a parser far more often
/// than uniformly random characters do.
fn text_from(pieces: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(pieces), 0..max).prop_map(|v| v.concat())
}

/// Arbitrary text, line breaks included.
fn any_text() -> impl Strategy<Value = String> {
    "(?s).{0,200}"
}

/// A DNS-looking host name, mixed case, optionally with a trailing dot.
fn host_name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?){0,3}\\.?"
}

fn ip_addr() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<Ipv4Addr>().prop_map(IpAddr::V4),
        any::<Ipv6Addr>().prop_map(IpAddr::V6),
        // the interesting corners: loopback, mapped, unspecified
        prop::sample::select(vec![
            "::1",
            "::",
            "::ffff:192.0.2.1",
            "127.0.0.1",
            "0.0.0.0",
            "2001:db8::25",
        ])
        .prop_map(|s| s.parse().expect("literal")),
    ]
}

// ---------------------------------------------------------------------------
// smtpdcheck: servers.rs
// ---------------------------------------------------------------------------

/// Server names `parse_server` must accept: host names, bare and bracketed
/// IP literals.
fn server_name() -> impl Strategy<Value = String> {
    prop_oneof![
        host_name(),
        any::<Ipv4Addr>().prop_map(|ip| ip.to_string()),
        ip_addr().prop_map(|ip| ip.to_string()),
        ip_addr().prop_map(|ip| format!("[{ip}]")),
    ]
}

const SERVER_PIECES: &[&str] = &[
    "10",
    "0",
    "65535",
    "65536",
    "-1",
    "+5",
    ":",
    "::",
    "[",
    "]",
    "1",
    "a",
    "mx.example",
    ".",
    " ",
    "\t",
    "\r\n",
    "\0",
    "é",
    "2001:db8",
    "127.0.0.1",
    "::1",
    "[::1]",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_server_never_panics_and_keeps_its_promises(
        argument in prop_oneof![any_text(), text_from(SERVER_PIECES, 12)],
    ) {
        match parse_server(&argument) {
            Ok(server) => {
                prop_assert_eq!(HostName::parse(&server.name).map(|_| ()), Ok(()));
                prop_assert_eq!(server.name.ip(), ip_literal(&server.name));
                match server.prio {
                    None => prop_assert_eq!(&*server.name, argument.as_str()),
                    Some(prio) => {
                        let head = argument
                            .strip_suffix(&*server.name)
                            .and_then(|rest| rest.strip_suffix(':'));
                        prop_assert!(head.is_some(), "{:?} -> {:?}", argument, server);
                        prop_assert_eq!(head.map(str::parse::<u16>), Some(Ok(prio)));
                        prop_assert!(ip_literal(&argument).is_none());
                    }
                }
            }
            Err(bad) => {
                prop_assert_eq!(&bad.argument, &argument);
                prop_assert!(!bad.reason.to_string().is_empty());
                // the message escapes the argument: one harmless line
                let shown = bad.to_string();
                prop_assert!(!shown.chars().any(char::is_control), "{:?}", shown);
            }
        }
    }

    #[test]
    fn parse_server_round_trips_prio_and_name(
        prio in proptest::option::of(any::<u16>()),
        name in server_name(),
    ) {
        let argument = match prio {
            Some(prio) => format!("{prio}:{name}"),
            None => name.clone(),
        };
        let server = parse_server(&argument).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if prio.is_some() && ip_literal(&argument).is_some() {
            // `5:2001:db8::1` is a whole IPv6 address: never split (documented).
            prop_assert_eq!(server.prio, None);
            prop_assert_eq!(&*server.name, argument.as_str());
        } else {
            prop_assert_eq!(server.prio, prio);
            prop_assert_eq!(&*server.name, name.as_str());
        }
        prop_assert_eq!(server.name.ip(), ip_literal(&server.name));
    }

    #[test]
    fn check_name_is_exactly_its_rule(name in prop_oneof![any_text(), text_from(SERVER_PIECES, 200)]) {
        // The core's one rule for every server name (smtpdcheck's servers
        // and --stop, etrn's servers and --helo).
        let expected = !name.is_empty()
            && name.len() <= MAX_NAME_OCTETS
            && name.is_ascii()
            && !name.chars().any(|c| c.is_whitespace() || c.is_control())
            && match name.strip_prefix('[') {
                Some(rest) => rest
                    .strip_suffix(']')
                    .is_some_and(|inner| inner.parse::<IpAddr>().is_ok()),
                None => !name.contains(['[', ']']),
            };
        prop_assert_eq!(HostName::parse(&name).map(|_| ()).is_ok(), expected);
    }

    #[test]
    fn same_name_ignores_case_and_trailing_dots(a in host_name(), b in any_text()) {
        prop_assert!(same_name(&a, &a));
        prop_assert!(same_name(&a, &a.to_ascii_uppercase()));
        let dotted = format!("{a}.");
        prop_assert!(same_name(&a, &dotted));
        prop_assert_eq!(same_name(&a, &b), same_name(&b, &a));
        prop_assert!(same_name(&b, &b));
    }
}

// ---------------------------------------------------------------------------
// smtpdcheck: decide.rs
// ---------------------------------------------------------------------------

fn prio() -> impl Strategy<Value = Option<u16>> {
    // few distinct prios, so peers of the stop server are common
    prop_oneof![
        Just(None),
        (0u16..3).prop_map(Some),
        any::<u16>().prop_map(Some)
    ]
}

fn stop_match() -> impl Strategy<Value = StopMatch> {
    prop::sample::select(vec![StopMatch::Unknown, StopMatch::Yes, StopMatch::No])
}

fn availability() -> impl Strategy<Value = Availability> {
    prop::sample::select(vec![
        Availability::Unknown,
        Availability::Up,
        Availability::Down,
    ])
}

/// A run: prios, whether `--stop` was given, the truth that will be learnt
/// (stop matches, up or down) and the order in which the 2n facts arrive.
#[derive(Clone, Debug)]
struct Run {
    prios: Vec<Option<u16>>,
    stop_given: bool,
    stop: Vec<bool>,
    up: Vec<bool>,
    order: Vec<usize>,
}

fn run() -> impl Strategy<Value = Run> {
    (0usize..8, any::<bool>())
        .prop_flat_map(|(n, stop_given)| {
            (
                prop::collection::vec(prio(), n),
                Just(stop_given),
                prop::collection::vec(prop::bool::weighted(0.25), n),
                prop::collection::vec(any::<bool>(), n),
                Just((0..2 * n).collect::<Vec<_>>()).prop_shuffle(),
            )
        })
        .prop_map(|(prios, stop_given, stop, up, order)| Run {
            stop: if stop_given {
                stop
            } else {
                vec![false; prios.len()]
            },
            prios,
            stop_given,
            up,
            order,
        })
}

/// The rule of the manual, written independently of `Board`: the first
/// server matching `--stop`, every server after it and its same-prio peers
/// before it do not count; the answer is the first counting server that
/// is up.
fn expected_verdict(prios: &[Option<u16>], stop: &[bool], up: &[bool]) -> Verdict {
    let stop_at = stop.iter().position(|&s| s);
    let excluded = |i: usize| match stop_at {
        None => false,
        Some(s) => i >= s || (prios[i].is_some() && prios[i] == prios[s]),
    };
    (0..prios.len())
        .find(|&i| !excluded(i) && up[i])
        .map_or(Verdict::NoneAvailable, Verdict::Available)
}

/// What `decide` must respect on any board (partial or complete): an
/// `Available(i)` is up, counts, and every counting server before it is down.
fn check_decision(board: &Board, availability: &[Availability]) -> Result<(), TestCaseError> {
    let n = availability.len();
    for index in 0..n {
        // neither may panic on any state
        let _ = board.excluded(index);
        let _ = board.may_probe(index);
    }
    if let Some(Verdict::Available(i)) = board.decide() {
        prop_assert!(i < n);
        prop_assert_eq!(availability[i], Availability::Up);
        prop_assert!(!board.excluded(i), "reported server {} is excluded", i);
        for (j, known) in availability.iter().enumerate().take(i) {
            if !board.excluded(j) {
                prop_assert_eq!(*known, Availability::Down, "server {} before {}", j, i);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn decide_never_panics_on_any_board(
        (prios, stop, availability, stop_given) in (0usize..8).prop_flat_map(|n| (
            prop::collection::vec(prio(), n),
            prop::collection::vec(stop_match(), n),
            prop::collection::vec(availability(), n),
            any::<bool>(),
        )),
    ) {
        let mut board = Board::new(prios, stop_given);
        for (index, (m, a)) in stop.iter().zip(&availability).enumerate() {
            board.set_stop_match(index, *m);
            board.set_availability(index, *a);
            prop_assert_eq!(board.stop_match(index), *m);
        }
        check_decision(&board, &availability)?;
        let complete = !stop.contains(&StopMatch::Unknown)
            && !availability.contains(&Availability::Unknown);
        if complete {
            prop_assert!(board.decide().is_some(), "complete board undecided");
            if board.decide() == Some(Verdict::NoneAvailable) {
                for (i, a) in availability.iter().enumerate() {
                    prop_assert!(board.excluded(i) || *a == Availability::Down, "server {} up", i);
                }
            }
        }
    }

    #[test]
    fn decide_is_monotonic_and_matches_the_rule(run in run()) {
        let n = run.prios.len();
        let mut board = Board::new(run.prios.clone(), run.stop_given);
        let mut availability = vec![Availability::Unknown; n];
        let mut decided = board.decide();
        check_decision(&board, &availability)?;
        for &fact in &run.order {
            if fact < n {
                if !run.stop_given {
                    continue; // without --stop nothing is learnt about it
                }
                let m = if run.stop[fact] { StopMatch::Yes } else { StopMatch::No };
                board.set_stop_match(fact, m);
            } else {
                let index = fact - n;
                let a = if run.up[index] { Availability::Up } else { Availability::Down };
                availability[index] = a;
                board.set_availability(index, a);
            }
            check_decision(&board, &availability)?;
            let now = board.decide();
            if let Some(verdict) = decided {
                prop_assert_eq!(now, Some(verdict), "a determined verdict changed");
            }
            decided = now;
        }
        let expected = expected_verdict(&run.prios, &run.stop, &run.up);
        prop_assert_eq!(board.decide(), Some(expected));
    }
}

// ---------------------------------------------------------------------------
// smtpdcheck: cache.rs
// ---------------------------------------------------------------------------

/// The cache file's first line (private in cache.rs).
const CACHE_HEADER: &str = "# smtpbox smtpdcheck cache v1";
/// The most entries the cache keeps (private in cache.rs).
const CACHE_MAX_ENTRIES: usize = 1024;

/// Addresses as the resolver gives them: v4, v6 with or without a scope
/// (flowinfo is not part of the file format).
fn socket_addr() -> impl Strategy<Value = SocketAddr> {
    prop_oneof![
        (any::<Ipv4Addr>(), any::<u16>()).prop_map(SocketAddr::from),
        (
            any::<Ipv6Addr>(),
            any::<u16>(),
            prop_oneof![Just(0u32), any::<u32>()]
        )
            .prop_map(|(ip, port, scope)| SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope))),
    ]
}

fn entries(max: usize) -> impl Strategy<Value = HashMap<SocketAddr, Entry>> {
    prop::collection::hash_map(
        socket_addr(),
        (any::<bool>(), any::<u64>()).prop_map(|(up, at_ms)| Entry { up, at_ms }),
        0..max,
    )
}

const CACHE_PIECES: &[&str] = &[
    "127.0.0.1:25",
    "[::1]:25",
    "[fe80::1%2]:25",
    "1.2.3.4:99999",
    " ",
    "up",
    "down",
    "5",
    "18446744073709551615",
    "18446744073709551616",
    "-1",
    "\n",
    "\r\n",
    "#",
    "x",
];

/// Cache lines, mostly well formed, some damaged.
fn cache_body() -> impl Strategy<Value = String> {
    let address = prop_oneof![
        6 => socket_addr().prop_map(|a| a.to_string()),
        1 => prop::sample::select(vec!["1.2.3.4", "[::1]", "1.2.3.4:99999", "", "[fe80::1%x]:25"])
            .prop_map(str::to_owned),
    ];
    let state = prop_oneof![
        6 => prop::sample::select(vec!["up", "down"]),
        1 => prop::sample::select(vec!["Up", "sideways", ""]),
    ];
    let ms = prop_oneof![
        6 => any::<u64>().prop_map(|ms| ms.to_string()),
        1 => prop::sample::select(vec!["", "-1", "+7", "18446744073709551616", "1e3"])
            .prop_map(str::to_owned),
    ];
    let tail = prop_oneof![
        6 => prop::sample::select(vec!["", "\r"]),
        1 => prop::sample::select(vec![" ", " extra", "  "]),
    ];
    let line = prop_oneof![
        6 => (address, state, ms, tail)
            .prop_map(|(address, state, ms, tail)| format!("{address} {state} {ms}{tail}")),
        1 => text_from(CACHE_PIECES, 8),
        1 => Just(CACHE_HEADER.to_owned()),
    ];
    prop::collection::vec(line, 0..24).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn cache_render_then_parse_round_trips(entries in entries(40)) {
        let text = cache::render(&entries);
        prop_assert!(text.starts_with(CACHE_HEADER));
        prop_assert_eq!(cache::parse(&text), entries);
    }

    #[test]
    fn cache_parse_never_panics_and_is_stable(
        body in prop_oneof![any_text(), text_from(CACHE_PIECES, 60), cache_body()],
        with_header in any::<bool>(),
    ) {
        let text = if with_header { format!("{CACHE_HEADER}\n{body}") } else { body.clone() };
        let parsed = cache::parse(&text);
        prop_assert!(parsed.len() <= CACHE_MAX_ENTRIES);
        if !text.starts_with(CACHE_HEADER) {
            prop_assert!(parsed.is_empty());
        }
        // what was understood survives a rewrite unchanged
        prop_assert_eq!(cache::parse(&cache::render(&parsed)), parsed);
    }
}

proptest! {
    // Over a thousand entries a case: fewer cases.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::with_cases(16) })]

    #[test]
    fn cache_render_keeps_the_newest_entries(entries in entries(CACHE_MAX_ENTRIES + 80)) {
        let kept = cache::parse(&cache::render(&entries));
        prop_assert_eq!(kept.len(), entries.len().min(CACHE_MAX_ENTRIES));
        let oldest_kept = kept.values().map(|e| e.at_ms).min().unwrap_or(u64::MAX);
        for (address, entry) in &entries {
            match kept.get(address) {
                Some(found) => prop_assert_eq!(found, entry),
                None => prop_assert!(entry.at_ms <= oldest_kept),
            }
        }
    }
}

// ---------------------------------------------------------------------------
// etrn: etrn_hosts.rs
// ---------------------------------------------------------------------------

fn etrn_client() -> impl Strategy<Value = String> {
    prop_oneof![
        host_name(),
        host_name().prop_map(|h| format!("@{h}")),
        "#[A-Za-z0-9_.-]{1,12}",
        any::<Ipv4Addr>().prop_map(|ip| format!("[{ip}]")),
    ]
}

fn etrn_group() -> impl Strategy<Value = Group> {
    (
        prop_oneof![host_name(), ip_addr().prop_map(|ip| format!("[{ip}]"))],
        prop::collection::vec(etrn_client(), 0..4),
    )
        .prop_map(|(server, clients)| Group {
            server: HostName::parse(&server).expect("a generated valid name"),
            clients: clients
                .iter()
                .map(|client| EtrnArgument::parse(client).expect("a generated valid argument"))
                .collect(),
        })
}

/// A group as written in `ETRN_HOSTS`.
fn render_group(group: &Group) -> String {
    if group.clients.is_empty() {
        group.server.to_string()
    } else {
        format!("{}:{}", group.server, group.clients.join(","))
    }
}

const ETRN_PIECES: &[&str] = &[
    "s1",
    "mx.example",
    ":",
    ",",
    "[",
    "]",
    "::1",
    "192.0.2.1",
    "@",
    "#",
    "@dom",
    "#q",
    " ",
    "\t",
    "\n",
    "\r",
    "\0",
    "\u{7f}",
    "é",
    "\u{a0}",
    "\u{2028}",
    "a",
    ".",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn etrn_hosts_parse_never_panics_and_only_returns_valid_groups(
        value in prop_oneof![any_text(), text_from(ETRN_PIECES, 40)],
    ) {
        let (groups, malformed) = etrn_hosts::parse(&value);
        prop_assert_eq!(groups.len() + malformed.len(), value.split_whitespace().count());
        for group in &groups {
            prop_assert_eq!(HostName::parse(&group.server).map(|_| ()), Ok(()));
            for client in &group.clients {
                prop_assert_eq!(EtrnArgument::parse(client).map(|_| ()), Ok(()));
                prop_assert!(
                    !client.chars().any(|c| c.is_whitespace() || c.is_control()),
                    "{:?}", client
                );
            }
        }
        for bad in &malformed {
            prop_assert!(!bad.text.is_empty() && !bad.text.contains(char::is_whitespace));
            prop_assert!(!bad.reason.is_empty());
            let shown = bad.to_string();
            prop_assert!(!shown.chars().any(char::is_control), "{:?}", shown);
        }
        // what was accepted, written back, is read back the same
        let rewritten: Vec<String> = groups.iter().map(render_group).collect();
        let (again, rejected) = etrn_hosts::parse(&rewritten.join(" "));
        prop_assert_eq!(again, groups);
        prop_assert!(rejected.is_empty(), "{:?}", rejected);
    }

    #[test]
    fn etrn_hosts_round_trip_generated_groups(
        groups in prop::collection::vec(etrn_group(), 0..6),
        separators in prop::collection::vec(prop::sample::select(vec![" ", "\t", "\n", "  \r\n\t"]), 6),
    ) {
        let mut value = String::new();
        for (group, separator) in groups.iter().zip(&separators) {
            value.push_str(separator);
            value.push_str(&render_group(group));
        }
        let (parsed, malformed) = etrn_hosts::parse(&value);
        prop_assert!(malformed.is_empty(), "{:?}", malformed);
        prop_assert_eq!(parsed, groups);
    }

    #[test]
    fn etrn_validators_follow_their_rules(
        text in prop_oneof![any_text(), text_from(ETRN_PIECES, 8), etrn_client()],
    ) {
        let basic = !text.is_empty()
            && text.len() <= MAX_NAME_OCTETS
            && text.is_ascii()
            && !text.chars().any(|c| c.is_whitespace() || c.is_control());
        let argument_ok = basic
            && match text.strip_prefix(['@', '#']) {
                Some(rest) => !rest.is_empty() && !rest.starts_with(['@', '#']),
                None => true,
            };
        prop_assert_eq!(EtrnArgument::parse(&text).map(|_| ()).is_ok(), argument_ok, "{:?}", text);
        let server_ok = basic
            && match text.strip_prefix('[') {
                Some(rest) => rest
                    .strip_suffix(']')
                    .is_some_and(|inner| inner.parse::<IpAddr>().is_ok()),
                None => !text.contains(['[', ']']),
            };
        prop_assert_eq!(HostName::parse(&text).map(|_| ()).is_ok(), server_ok, "{:?}", text);
    }
}

// ---------------------------------------------------------------------------
// etrn: defaults.rs
// ---------------------------------------------------------------------------

const DEFAULTS_PIECES: &[&str] = &[
    "A",
    "ETRN_HOSTS",
    "_x1",
    "export",
    " ",
    "\t",
    "\n",
    "=",
    "'",
    "\"",
    "\\",
    "$",
    "$(",
    "`",
    "#",
    ";",
    "&",
    "|",
    "<",
    ">",
    "(",
    ")",
    "{",
    "}",
    "~",
    "if",
    "then",
    "fi",
    "\r",
    "\0",
    "\u{7f}",
    "é",
    "x",
    "1",
    "\\\n",
];

/// Lines that look like a defaults file, some of them wrong.
fn defaults_text() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        12 => prop::sample::select(vec![
            "'a b'",
            "\"x \\\" y\"",
            "plain",
            "\\ ",
            "\\\n",
            "'multi\nline'",
            "\"two\nlines\"",
            "\"\\q\"",
            "#",
            "é",
            "''",
            "'$x'",
        ]),
        1 => prop::sample::select(vec![
            "$x",
            "\"$(date)\"",
            "`",
            "~",
            ";",
            "\r",
            "'",
            "\"",
            "\\",
        ]),
    ];
    let value = prop::collection::vec(part, 0..4).prop_map(|parts| parts.concat());
    let equals = prop_oneof![
        12 => Just("="),
        1 => prop::sample::select(vec!["+=", " =", ""]),
    ];
    let suffix = prop_oneof![
        12 => prop::sample::select(vec!["", " # c", "\t#"]),
        1 => prop::sample::select(vec![" x", ";"]),
    ];
    let line = prop_oneof![
        12 => (
            prop::sample::select(vec!["", "", " ", "\t", "export ", "export\t"]),
            shell_name(),
            equals,
            value,
            suffix,
        )
            .prop_map(|(prefix, name, equals, value, suffix)| {
                format!("{prefix}{name}{equals}{value}{suffix}")
            }),
        2 => prop::sample::select(vec!["", "# c", "export A", "  "]).prop_map(str::to_owned),
        1 => prop::sample::select(vec!["if true; then", "echo hi", "fi"]).prop_map(str::to_owned),
        1 => text_from(DEFAULTS_PIECES, 8),
    ];
    prop::collection::vec(line, 0..8).prop_map(|lines| lines.join("\n"))
}

fn shell_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec!["A", "B", "ETRN_HOSTS", "export", "if", "_"])
            .prop_map(str::to_owned),
        "[A-Za-z_][A-Za-z0-9_]{0,8}",
    ]
}

/// A value without control characters other than tab and newline (the
/// only ones a defaults file may carry).
fn shell_value() -> impl Strategy<Value = String> {
    "[^\\x00-\\x08\\x0B-\\x1F\\x7F-\\x9F]{0,24}"
}

/// How one assignment is written.
#[derive(Clone, Debug)]
enum Quoting {
    Single,
    Double,
    Bare,
}

fn double_quote(value: &str) -> String {
    let mut quoted = String::from("\"");
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            quoted.push('\\');
        }
        quoted.push(c);
    }
    quoted.push('"');
    quoted
}

/// (name, value, how it is written, what precedes it on its line, what follows it).
type Line = (String, String, Quoting, &'static str, &'static str);

fn assignment_line() -> impl Strategy<Value = Line> {
    let quoted = (
        shell_name(),
        shell_value(),
        prop_oneof![Just(Quoting::Single), Just(Quoting::Double)],
    );
    let bare = (
        shell_name(),
        "[A-Za-z0-9_.,:/@%+=!-][A-Za-z0-9_.,:/@%+=!#-]{0,12}",
        Just(Quoting::Bare),
    );
    (
        prop_oneof![quoted, bare],
        prop::sample::select(vec!["", "  ", "\t", "export ", " export\t"]),
        prop::sample::select(vec!["", " ", " # comment", "\t#c 'x' \"y\" $z"]),
    )
        .prop_map(|((name, value, quoting), prefix, suffix)| {
            // single quotes cannot hold a single quote
            let quoting = match quoting {
                Quoting::Single if value.contains('\'') => Quoting::Double,
                q => q,
            };
            (name, value, quoting, prefix, suffix)
        })
}

fn render_line((name, value, quoting, prefix, suffix): &Line) -> String {
    let written = match quoting {
        Quoting::Single => format!("'{value}'"),
        Quoting::Double => double_quote(value),
        Quoting::Bare => value.clone(),
    };
    format!("{prefix}{name}={written}{suffix}\n")
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn defaults_never_panic_and_results_are_sane(
        text in prop_oneof![any_text(), text_from(DEFAULTS_PIECES, 60), defaults_text(), defaults_text()],
        wanted in shell_name(),
    ) {
        let parsed = parse_assignments(&text);
        match &parsed {
            Ok(assignments) => {
                let lines = text.matches('\n').count() + 1;
                let mut previous_line = 0;
                for (name, value, line) in assignments {
                    let mut chars = name.chars();
                    prop_assert!(chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_'));
                    prop_assert!(chars.all(|c| c.is_ascii_alphanumeric() || c == '_'), "{:?}", name);
                    prop_assert!(
                        !value.chars().any(|c| c.is_control() && c != '\t' && c != '\n'),
                        "{:?}", value
                    );
                    prop_assert!(*line > previous_line && *line <= lines, "line {}", line);
                    previous_line = *line;
                }
                // written back in double quotes, the same values are read
                let rewritten: String = assignments
                    .iter()
                    .map(|(name, value, _)| format!("{name}={}\n", double_quote(value)))
                    .collect();
                let again = parse_assignments(&rewritten)
                    .map_err(|e| TestCaseError::fail(format!("rewritten {rewritten:?}: {e}")))?;
                let strip = |list: &[(String, String, usize)]| {
                    list.iter().map(|(n, v, _)| (n.clone(), v.clone())).collect::<Vec<_>>()
                };
                prop_assert_eq!(strip(&again), strip(assignments));
            }
            Err(err) => {
                prop_assert!(err.line.is_none_or(|line| line >= 1 && line <= text.matches('\n').count() + 1));
                let _ = err.to_string();
            }
        }
        let found = find_variable(&text, &wanted);
        let expected = parsed.map(|list| {
            list.into_iter().rev().find(|(n, _, _)| *n == wanted).map(|(_, v, _)| v)
        });
        prop_assert_eq!(found, expected);
    }

    #[test]
    fn defaults_generated_assignments_round_trip(
        lines in prop::collection::vec(
            prop_oneof![
                4 => assignment_line().prop_map(Some),
                1 => Just(None),
            ],
            0..10,
        ),
        filler in prop::sample::select(vec!["", "# comment", "   ", "\t# 'x\"", "export FOO"]),
    ) {
        let mut text = String::new();
        let mut expected = Vec::new();
        for line in &lines {
            match line {
                Some(line) => {
                    let starts_on = text.matches('\n').count() + 1;
                    expected.push((line.0.clone(), line.1.clone(), starts_on));
                    text.push_str(&render_line(line));
                }
                None => {
                    text.push_str(filler);
                    text.push('\n');
                }
            }
        }
        let parsed = parse_assignments(&text)
            .map_err(|e| TestCaseError::fail(format!("{text:?}: {e}")))?;
        prop_assert_eq!(&parsed, &expected, "{:?}", text);
        // the last assignment wins
        for (name, _, _) in &expected {
            let last = expected.iter().rev().find(|(n, _, _)| n == name).map(|(_, v, _)| v.clone());
            prop_assert_eq!(find_variable(&text, name), Ok(last));
        }
        prop_assert_eq!(find_variable(&text, "NOT_THERE_9"), Ok(None));
    }
}

// ---------------------------------------------------------------------------
// etrn: sendmail_cf.rs
// ---------------------------------------------------------------------------

const CF_PIECES: &[&str] = &[
    "C",
    "F",
    "w",
    "{w}",
    "{W}",
    "m",
    "-o",
    " ",
    "\t",
    "\n",
    "\r\n",
    "#",
    "\\#",
    "$",
    "$w",
    "$#",
    "/etc/mail/x",
    "localhost",
    "LocalHost.",
    "Foo.",
    "foo",
    "a.b",
    "[1.2.3.4]",
    "@x",
    "#q",
    "|prog",
    "%[^\\#]",
    "\0",
    "é",
    ".",
];

/// Lines that look like sendmail.cf, class `w` and others.
fn cf_text() -> impl Strategy<Value = String> {
    let word = prop::sample::select(vec![
        "localhost",
        "a.b",
        "FOO.",
        "$w",
        "$m.x",
        "/etc/mail/x",
        "-o",
        "%[^\\#]",
        "[1.2.3.4]",
        "@x",
        "#q",
        "\\#",
        "é",
        "x\0",
        "|/bin/p",
        "rel/file",
    ]);
    let head = prop_oneof![
        3 => prop::sample::select(vec![
            "Cw", "C{w}", "Cw ", "Fw", "F{w}", "Fw-o ", "F{w} -o ", "Fw ",
        ]),
        1 => prop::sample::select(vec!["Cm", "CW", "C{wx}", " ", "\t", "#", "Dw", "Fw|"]),
    ];
    let line = prop_oneof![
        4 => (
            head,
            prop::collection::vec(word, 0..4),
            prop::sample::select(vec![" ", "\t", "  "]),
            prop::sample::select(vec!["", "", " # c", "\\#x", "\r", "#"]),
        )
            .prop_map(|(head, words, gap, tail)| format!("{head}{}{tail}", words.join(gap))),
        1 => text_from(CF_PIECES, 10),
    ];
    prop::collection::vec(line, 0..10).prop_map(|lines| lines.join("\n"))
}

const NAME_POOL: &[&str] = &[
    "localhost",
    "LOCALHOST",
    "localhost.",
    "localhost..",
    "localhost.localdomain",
    "LocalHost.LocalDomain.",
    "mail.example.org",
    "Mail.Example.ORG.",
    "mail.example.org..",
    "foo",
    "FOO.",
    "[127.0.0.1]",
    "[IPv6:::1]",
    "@dom.example",
    "#queue",
    ".",
    "..",
    "",
    "a b",
    "x\0",
    "café.example",
    "-",
];

fn cf_name() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(NAME_POOL).prop_map(str::to_owned),
        host_name(),
        any_text(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_cf_never_panics_and_results_are_sane(
        text in prop_oneof![any_text(), text_from(CF_PIECES, 60), cf_text(), cf_text()],
    ) {
        let accepted = parse_cf(&text);
        let lines = text.lines().count();
        for name in &accepted.names {
            prop_assert!(!name.is_empty());
            prop_assert!(!name.contains(|c: char| c.is_ascii_whitespace() || c == '$'), "{:?}", name);
        }
        for file in &accepted.files {
            prop_assert!(file.path.starts_with('/'), "{:?}", file);
            prop_assert!(!file.path.contains(|c: char| c.is_ascii_whitespace()));
            prop_assert!(file.line >= 1 && file.line <= lines);
        }
        for (line, why) in &accepted.unsupported {
            prop_assert!(*line >= 1 && *line <= lines);
            prop_assert!(!why.is_empty());
        }
    }

    #[test]
    fn parse_class_file_never_panics_and_yields_words(
        text in prop_oneof![any_text(), text_from(CF_PIECES, 60), cf_text()],
        all_words in any::<bool>(),
    ) {
        let names = parse_class_file(&text, all_words);
        if !all_words {
            prop_assert!(names.len() <= text.lines().count());
        }
        for name in &names {
            prop_assert!(!name.is_empty());
            prop_assert!(!name.contains(|c: char| c.is_ascii_whitespace() || c == '#'), "{:?}", name);
        }
    }

    #[test]
    fn merge_names_has_no_duplicates_and_no_localhost(
        canonical in cf_name(),
        cf in prop::collection::vec(cf_name(), 0..8),
        file in prop::collection::vec(cf_name(), 0..8),
    ) {
        let merged = merge_names(&canonical, &cf, &file);
        let mut seen = HashSet::new();
        let candidates: Vec<&String> = std::iter::once(&canonical).chain(&cf).chain(&file).collect();
        let mut last_source = 0;
        for name in &merged {
            prop_assert!(seen.insert(name.to_ascii_lowercase()), "duplicate {:?} in {:?}", name, merged);
            prop_assert!(!name.eq_ignore_ascii_case("localhost"), "{:?}", merged);
            prop_assert!(!name.eq_ignore_ascii_case("localhost.localdomain"), "{:?}", merged);
            prop_assert_eq!(EtrnArgument::parse(name).map(|_| ()), Ok(()));
            prop_assert!(!name.starts_with(['[', '@', '#']), "{:?}", name);
            // every name comes from the input, in input order
            let source = candidates
                .iter()
                .skip(last_source)
                .position(|c| c.trim_end_matches('.') == &**name);
            prop_assert!(source.is_some(), "{:?} not from {:?}", name, candidates);
            last_source += source.unwrap_or_default();
        }
    }

    /// Stricter than the documented rule: DNS names are the same whatever
    /// their case and however many trailing dots they carry.
    #[test]
    fn merge_names_ignores_every_trailing_dot(
        canonical in cf_name(),
        cf in prop::collection::vec(cf_name(), 0..8),
        file in prop::collection::vec(cf_name(), 0..8),
    ) {
        let merged = merge_names(&canonical, &cf, &file);
        let mut seen = HashSet::new();
        for name in &merged {
            let bare = name.trim_end_matches('.').to_ascii_lowercase();
            prop_assert!(bare != "localhost" && bare != "localhost.localdomain", "{:?}", merged);
            prop_assert!(seen.insert(bare), "duplicate {:?} in {:?}", name, merged);
        }
    }
}

// ---------------------------------------------------------------------------
// smtp: reply.rs
// ---------------------------------------------------------------------------

/// The widest `Reply` display: 5 digits, a space, 200 characters each shown
/// as at most 3 (`\n` as ` / `), then `...`.
const MAX_DISPLAY_CHARS: usize = 5 + 1 + 200 * 3 + 3;

fn check_display(reply: &Reply) -> Result<(), TestCaseError> {
    let shown = reply.to_string();
    prop_assert!(!shown.contains('\n'), "{:?}", shown);
    prop_assert!(!shown.chars().any(char::is_control), "{:?}", shown);
    prop_assert!(
        shown.chars().count() <= MAX_DISPLAY_CHARS,
        "{} chars",
        shown.chars().count()
    );
    prop_assert!(shown.starts_with(&reply.code.to_string()));
    Ok(())
}

fn line_code_oracle(lines: &[Vec<u8>]) -> Result<(), LineCodeError> {
    let mut first = None;
    for line in lines {
        let head = line_head(line);
        let shaped = head[..3].iter().all(u8::is_ascii_digit)
            && matches!(head[3], b' ' | b'-' | b'\r' | b'\n');
        if !shaped {
            return Err(LineCodeError::NotACode);
        }
        let code = head[..3]
            .iter()
            .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
        match first {
            None => first = Some(code),
            Some(f) if f != code => {
                return Err(LineCodeError::MixedCodes {
                    first: f,
                    other: code,
                });
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn reply_line() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..8),
        (
            prop::sample::select(vec!["220", "250", "554", "000", "999"]),
            prop::sample::select(vec![" ", "-", "\r\n", "\n", "", "x"]),
            "[ -~]{0,6}",
        )
            .prop_map(|(code, sep, text)| format!("{code}{sep}{text}").into_bytes()),
    ]
}

/// What `Reply`'s Display replaces with `?` (besides turning line breaks
/// into ` / `): control characters and invisible format characters.
fn is_replaced(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn line_head_pads_with_line_ends(line in prop::collection::vec(any::<u8>(), 0..10)) {
        let head = line_head(&line);
        for (i, byte) in head.iter().enumerate() {
            prop_assert_eq!(*byte, line.get(i).copied().unwrap_or(b'\n'));
        }
    }

    #[test]
    fn line_code_check_matches_the_rule(
        replies in prop::collection::vec(prop::collection::vec(reply_line(), 0..5), 1..4),
    ) {
        // one checker over several replies: finish() resets it
        let mut check = LineCodeCheck::default();
        for lines in &replies {
            prop_assert!(!check.started());
            for line in lines {
                check.push(line_head(line));
                prop_assert!(check.started());
            }
            prop_assert_eq!(check.finish(), line_code_oracle(lines));
        }
    }

    #[test]
    fn reply_display_hides_bidi_and_zero_width_characters(
        before in "[a-z]{1,5}",
        hidden in prop::sample::select(vec!['\u{200B}', '\u{200F}', '\u{2028}', '\u{2029}', '\u{202E}', '\u{2066}', '\u{2069}', '\u{FEFF}']),
        after in "[a-z]{1,5}",
    ) {
        let reply = Reply { code: 250, text: format!("{before}{hidden}{after}") };
        prop_assert_eq!(reply.to_string(), format!("250 {before}?{after}"));
    }

    #[test]
    fn reply_display_is_one_bounded_harmless_line(
        code in any::<u16>(),
        text in prop_oneof![any_text(), "(?s).{190,420}", text_from(&["\n", "\r", "\u{1b}[2J", "\u{85}", " ", "x", "é"], 300)],
    ) {
        let reply = Reply { code, text: text.clone() };
        check_display(&reply)?;
        let shown = reply.to_string();
        let trimmed = text.trim();
        if trimmed.is_empty() {
            prop_assert_eq!(shown, code.to_string());
        } else if trimmed.chars().count() <= 200 && !trimmed.chars().any(is_replaced) {
            prop_assert_eq!(shown, format!("{code} {trimmed}"));
        }
    }
}

// ---------------------------------------------------------------------------
// smtp: resolve.rs
// ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(config())]

    #[test]
    fn host_parse_reads_literals_and_keeps_names(text in prop_oneof![any_text(), server_name(), text_from(SERVER_PIECES, 6)]) {
        match Host::parse(&text) {
            Host::Ip(ip) => prop_assert_eq!(ip_literal(&text), Some(ip)),
            Host::Name(name) => {
                prop_assert_eq!(ip_literal(&text), None);
                prop_assert_eq!(name, text);
            }
        }
    }

    #[test]
    fn ip_literals_round_trip(ip in ip_addr()) {
        prop_assert_eq!(ip_literal(&ip.to_string()), Some(ip));
        prop_assert_eq!(ip_literal(&format!("[{ip}]")), Some(ip));
        prop_assert_eq!(Host::parse(&format!("[{ip}]")), Host::Ip(ip));
        prop_assert_eq!(ip_literal(&format!("[{ip}")), None);
        prop_assert_eq!(ip_literal(&format!("[[{ip}]]")), None);
    }

    #[test]
    fn interleave_families_alternates_a_permutation(
        input in prop::collection::vec(
            prop_oneof![
                (any::<Ipv4Addr>(), 0u16..3).prop_map(SocketAddr::from),
                (any::<Ipv6Addr>(), 0u16..3).prop_map(SocketAddr::from),
                Just(SocketAddr::from(([127, 0, 0, 1], 25))),
            ],
            0..12,
        ),
    ) {
        let output = interleave_families(&input);
        let mut sorted_in = input.clone();
        let mut sorted_out = output.clone();
        sorted_in.sort();
        sorted_out.sort();
        prop_assert_eq!(sorted_out, sorted_in, "not a permutation");
        let family = |v6: bool| -> Vec<SocketAddr> {
            input.iter().filter(|a| a.is_ipv6() == v6).copied().collect()
        };
        let of_output = |v6: bool| -> Vec<SocketAddr> {
            output.iter().filter(|a| a.is_ipv6() == v6).copied().collect()
        };
        prop_assert_eq!(of_output(true), family(true), "v6 order changed");
        prop_assert_eq!(of_output(false), family(false), "v4 order changed");
        if let Some(first) = input.first() {
            let both = family(true).len().min(family(false).len());
            for (i, address) in output.iter().take(2 * both).enumerate() {
                let expected_v6 = (i % 2 == 0) == first.is_ipv6();
                prop_assert_eq!(address.is_ipv6(), expected_v6, "position {}", i);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// smtp: wire.rs + mail-send's SmtpClient, over an in-memory stream
// ---------------------------------------------------------------------------

/// Counts the bytes read through it, so the test can see how much the
/// wire holds: read from the server minus handed to the parser.
struct Tap<S> {
    inner: S,
    read: usize,
}

impl<S> Tap<S> {
    fn new(inner: S) -> Tap<S> {
        Tap { inner, read: 0 }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tap<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            this.read += buf.filled().len() - before;
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tap<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// How a fake server sends its bytes.
#[derive(Clone, Debug)]
struct Feed {
    bytes: Vec<u8>,
    /// Chunk lengths, cycled (each chunk is a separate write).
    chunks: Vec<usize>,
    /// The duplex pipe's capacity (small ones make the writer wait).
    capacity: usize,
    /// Whether the server keeps its side open after the bytes.
    keep_open: bool,
}

fn chunks_of(feed: &Feed) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = feed.bytes.as_slice();
    for &size in feed.chunks.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (chunk, tail) = rest.split_at(size.clamp(1, rest.len()));
        out.push(chunk.to_vec());
        rest = tail;
    }
    out
}

/// What reading replies from a fake server gave.
#[derive(Debug, Default)]
struct Outcome {
    replies: Vec<(Reply, Result<(), LineCodeError>)>,
    /// The last read's failure (or time-out), if it failed.
    failed: Option<String>,
}

/// Feeds `feed` to `SmtpClient::read` over a [`Wire`] and reads up to
/// `max_replies` replies, each under a 200 ms limit (virtual time: the
/// runtime starts paused, so a stalled read costs no real time).
fn read_replies(feed: &Feed, max_replies: usize) -> Result<Outcome, TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    runtime.block_on(async {
        let (mut server, client_side) = tokio::io::duplex(feed.capacity);
        let chunks = chunks_of(feed);
        let keep_open = feed.keep_open;
        let writer = tokio::spawn(async move {
            for chunk in chunks {
                if server.write_all(&chunk).await.is_err() {
                    return;
                }
                tokio::task::yield_now().await;
            }
            if keep_open {
                std::future::pending::<()>().await;
            }
        });
        let limit = Duration::from_millis(200);
        let mut client = mail_send::SmtpClient {
            stream: Tap::new(Wire::new(Tap::new(client_side), Transcript::off())),
            timeout: limit,
        };
        let mut outcome = Outcome::default();
        for _ in 0..max_replies {
            let read = tokio::time::timeout(limit, client.read()).await;
            let wire = &mut client.stream.inner;
            let codes = wire.finish_reply();
            let held = wire.inner().read - client.stream.read;
            prop_assert!(held <= 2 * MAX_REPLY_LEN, "the wire holds {} bytes", held);
            match read {
                Ok(Ok(response)) => {
                    let reply = Reply::from_response(response);
                    check_display(&reply)?;
                    outcome.replies.push((reply, codes));
                }
                Ok(Err(err)) => {
                    outcome.failed = Some(err.to_string());
                    break;
                }
                Err(_) => {
                    outcome.failed = Some("timed out".to_owned());
                    break;
                }
            }
        }
        writer.abort();
        Ok(outcome)
    })
}

fn feed(bytes: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Feed> {
    (
        bytes,
        prop::collection::vec(1usize..64, 1..8),
        prop::sample::select(vec![1usize, 7, 64, 4096, 1 << 16]),
        any::<bool>(),
    )
        .prop_map(|(bytes, chunks, capacity, keep_open)| Feed {
            bytes,
            chunks,
            capacity,
            keep_open,
        })
}

const WIRE_PIECES: &[&str] = &[
    "220", "250", "554", "-", " ", "\r\n", "\n", "\r", "2.0.0 ", "5.7.1", "x", "hello", ".", "\0",
    "\u{ff}",
];

fn wire_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        text_from(WIRE_PIECES, 80).prop_map(String::into_bytes),
        // over-long lines and replies
        (
            prop::sample::select(vec!["220-", "220 ", ""]),
            4000usize..9000,
            any::<bool>()
        )
            .prop_map(|(head, len, multi)| {
                let mut bytes = head.as_bytes().to_vec();
                if multi {
                    while bytes.len() < len {
                        bytes.extend_from_slice(b"220-0123456789abcdef\r\n");
                    }
                } else {
                    bytes.resize(len, b'x');
                }
                bytes.extend_from_slice(b"\r\n");
                bytes
            }),
    ]
}

/// A well-formed reply: (code, lines of text).
fn good_reply() -> impl Strategy<Value = (u16, Vec<String>)> {
    (
        100u16..600,
        prop::collection::vec("[A-Za-z][A-Za-z0-9 .,:<>@-]{0,40}", 1..5),
    )
}

fn render_reply((code, lines): &(u16, Vec<String>)) -> Vec<u8> {
    let mut bytes = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let separator = if i + 1 == lines.len() { ' ' } else { '-' };
        bytes.extend_from_slice(format!("{code}{separator}{line}\r\n").as_bytes());
    }
    bytes
}

/// Good replies with damage between them.
fn mixed_replies() -> impl Strategy<Value = Vec<u8>> {
    let part = prop_oneof![
        3 => good_reply().prop_map(|reply| render_reply(&reply)),
        1 => text_from(WIRE_PIECES, 6).prop_map(String::into_bytes),
        1 => prop::collection::vec(any::<u8>(), 0..10),
    ];
    prop::collection::vec(part, 0..6).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn reply_stream_never_panics_and_terminates(
        feed in feed(prop_oneof![wire_bytes(), mixed_replies(), mixed_replies()]),
    ) {
        let outcome = read_replies(&feed, 4)?;
        prop_assert!(outcome.replies.len() <= 4);
    }

    #[test]
    fn reply_stream_reads_well_formed_replies_back(
        replies in prop::collection::vec(good_reply(), 1..4),
        chunks in prop::collection::vec(1usize..64, 1..8),
        capacity in prop::sample::select(vec![1usize, 7, 64, 4096]),
        keep_open in any::<bool>(),
    ) {
        let bytes: Vec<u8> = replies.iter().flat_map(render_reply).collect();
        let feed = Feed { bytes, chunks, capacity, keep_open };
        let outcome = read_replies(&feed, replies.len())?;
        prop_assert_eq!(outcome.failed, None);
        prop_assert_eq!(outcome.replies.len(), replies.len());
        for ((reply, codes), (code, lines)) in outcome.replies.iter().zip(&replies) {
            prop_assert_eq!(reply.code, *code);
            prop_assert_eq!(codes, &Ok(()));
            prop_assert_eq!(&reply.text, &lines.join("\n"));
        }
    }
}

/// The exact client type of `Session` (`SmtpClient<Wire<_>>`), without taps:
/// a bare-`220` greeting split across writes, then EOF mid-reply.
#[test]
fn plain_wire_client_reads_a_split_greeting_then_reports_eof() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let (mut server, client_side) = tokio::io::duplex(64);
        let mut client = mail_send::SmtpClient {
            stream: Wire::new(client_side, Transcript::off()),
            timeout: Duration::from_millis(200),
        };
        let writer = tokio::spawn(async move {
            for chunk in [&b"22"[..], b"0-a\r", b"\n220 b\r\n250-cut"] {
                server.write_all(chunk).await.expect("write");
                tokio::task::yield_now().await;
            }
        });
        let limit = Duration::from_millis(200);
        let reply = tokio::time::timeout(limit, client.read())
            .await
            .expect("in time")
            .expect("a reply");
        assert_eq!((reply.code, reply.message.as_str()), (220, "a\nb"));
        assert_eq!(client.stream.finish_reply(), Ok(()));
        let cut = tokio::time::timeout(limit, client.read())
            .await
            .expect("in time");
        assert!(cut.is_err(), "{cut:?}");
        assert!(client.stream.at_eof() && client.stream.reply_started());
        assert_eq!(client.stream.finish_reply(), Ok(()));
        writer.await.expect("writer");
    });
}
