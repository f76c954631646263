//! What `parse_server`, `Host::parse` and the decision `Board` promise
//! (server names follow the core's rules, checked by `names.rs` beside
//! this file), checked once for the `server_args` fuzz target (which includes
//! this file by path) and the property tests `servers`, `resolve` and
//! `board`. Proptest-free: plain `assert!`s.

use smtpbox::names::{HostName, ip_literal};
use smtpbox::smtp::resolve::Host;
use smtpbox::smtpdcheck::decide::{Availability, Board, StopMatch, Verdict};
use smtpbox::smtpdcheck::servers::{Server, parse_server};

/// `Host::parse` reads IP literals (bare or bracketed) as addresses, which
/// print back as literals, and keeps anything else as the name given.
pub fn check_host(text: &str) {
    match Host::parse(text) {
        Host::Ip(ip) => {
            assert_eq!(ip_literal(text), Some(ip));
            assert_eq!(ip_literal(&ip.to_string()), Some(ip));
            assert_eq!(ip_literal(&format!("[{ip}]")), Some(ip));
        }
        Host::Name(name) => {
            assert_eq!(ip_literal(text), None);
            assert_eq!(name, text);
        }
    }
}

/// Parses one `[prio:]server` argument and checks what `parse_server`
/// promises: a valid name, its `Host`, the prio text in front of it, and a
/// canonical rewrite that reads back the same; or a clean refusal.
pub fn check_parse_server(argument: &str) -> Option<Server> {
    let server = match parse_server(argument) {
        Ok(server) => server,
        Err(bad) => {
            assert_eq!(bad.argument, argument);
            assert!(!bad.reason.to_string().is_empty());
            // the message escapes the argument: one harmless line
            let shown = bad.to_string();
            assert!(!shown.chars().any(char::is_control), "{shown:?}");
            return None;
        }
    };
    assert_eq!(HostName::parse(&server.name).as_ref(), Ok(&server.name));
    assert_eq!(server.name.ip(), ip_literal(&server.name));
    match server.prio {
        None => assert_eq!(server.name, argument),
        Some(prio) => {
            let head = argument
                .strip_suffix(&*server.name)
                .and_then(|rest| rest.strip_suffix(':'));
            let head = head.unwrap_or_else(|| panic!("{argument:?} -> {server:?}"));
            assert_eq!(head.parse::<u16>(), Ok(prio));
            assert!(ip_literal(argument).is_none());
            // Written canonically it reads back the same, unless the
            // canonical form happens to be a whole IPv6 address.
            let canonical = format!("{prio}:{}", server.name);
            let again = parse_server(&canonical).expect("canonical form parses");
            if ip_literal(&canonical).is_none() {
                assert_eq!(again, server);
            } else {
                assert_eq!((again.prio, &*again.name), (None, canonical.as_str()));
            }
        }
    }
    Some(server)
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
pub fn check_decision(board: &Board, availability: &[Availability]) {
    let n = availability.len();
    for index in 0..n {
        // neither may panic on any state
        let _ = board.excluded(index);
        let _ = board.may_probe(index);
    }
    if let Some(Verdict::Available(i)) = board.decide() {
        assert!(i < n);
        assert_eq!(availability[i], Availability::Up);
        assert!(!board.excluded(i), "reported server {i} is excluded");
        for (j, known) in availability.iter().enumerate().take(i) {
            if !board.excluded(j) {
                assert_eq!(*known, Availability::Down, "server {j} before {i}");
            }
        }
    }
}

/// A board for `prios` learns the truth (`stop[i]`: server `i` matches
/// `--stop`, all false without it; `up[i]`: it is up) one fact at a time, in
/// `order` (fact `i < n` is server `i`'s stop match, `n + i` its
/// availability): every step respects [`check_decision`], a determined
/// verdict never changes, and the end is the manual's rule.
pub fn check_run(
    prios: &[Option<u16>],
    stop_given: bool,
    stop: &[bool],
    up: &[bool],
    order: &[usize],
) {
    let n = prios.len();
    let mut board = Board::new(prios.to_vec(), stop_given);
    let mut availability = vec![Availability::Unknown; n];
    let mut decided = board.decide();
    check_decision(&board, &availability);
    for &fact in order {
        if fact < n {
            if !stop_given {
                continue; // without --stop nothing is learnt about it
            }
            let m = if stop[fact] {
                StopMatch::Yes
            } else {
                StopMatch::No
            };
            board.set_stop_match(fact, m);
        } else {
            let index = fact - n;
            availability[index] = if up[index] {
                Availability::Up
            } else {
                Availability::Down
            };
            board.set_availability(index, availability[index]);
        }
        check_decision(&board, &availability);
        let now = board.decide();
        if let Some(verdict) = decided {
            assert_eq!(now, Some(verdict), "a determined verdict changed");
        }
        decided = now;
    }
    assert_eq!(board.decide(), Some(expected_verdict(prios, stop, up)));
}
