//! `[prio:]server` arguments, `--stop` names and the decision board.
//!
//! Input: lines; the first is the `--stop` target (empty: no `--stop`), the
//! others are server arguments. Every argument must parse or be refused
//! cleanly; the parsed servers then go through a `Board`, learning their
//! stop matches and availabilities in an input-driven order: `decide()`
//! never panics, never changes a determined verdict, and ends on the
//! manual's rule.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpbox::smtpdcheck::decide::{Availability, Board, StopMatch, Verdict};
use smtpbox::smtpdcheck::servers::{
    MAX_NAME_LEN, Server, check_name, parse_server, same_name,
};
use smtpbox::smtp::resolve::{Host, ip_literal};

/// Most servers put on one board.
const MAX_SERVERS: usize = 24;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check_argument(&text);
    let mut lines = text.split('\n');
    let stop = lines.next().unwrap_or_default();
    check_argument(stop);
    let servers: Vec<Server> = lines.filter_map(check_argument).take(MAX_SERVERS).collect();
    check_board(&servers, stop, data);
});

/// Parses one argument and checks what `parse_server` promises.
fn check_argument(argument: &str) -> Option<Server> {
    let name_ok = !argument.is_empty()
        && argument.len() <= MAX_NAME_LEN
        && !argument
            .chars()
            .any(|c| c.is_whitespace() || c.is_control());
    assert_eq!(check_name(argument).is_ok(), name_ok, "{argument:?}");
    assert!(same_name(argument, argument));
    match Host::parse(argument) {
        Host::Ip(ip) => {
            assert_eq!(ip_literal(argument), Some(ip));
            assert_eq!(ip_literal(&ip.to_string()), Some(ip));
            assert_eq!(ip_literal(&format!("[{ip}]")), Some(ip));
        }
        Host::Name(name) => {
            assert_eq!(ip_literal(argument), None);
            assert_eq!(name, argument);
        }
    }
    let server = match parse_server(argument) {
        Ok(server) => server,
        Err(bad) => {
            assert_eq!(bad.argument, argument);
            let shown = bad.to_string();
            assert!(!shown.chars().any(char::is_control), "{shown:?}");
            return None;
        }
    };
    assert_eq!(check_name(&server.name), Ok(()), "{argument:?}");
    assert_eq!(server.host, Host::parse(&server.name));
    match server.prio {
        None => assert_eq!(server.name, argument),
        Some(prio) => {
            let head = argument
                .strip_suffix(server.name.as_str())
                .and_then(|rest| rest.strip_suffix(':'))
                .expect("prio text, ':' and the name");
            assert_eq!(head.parse::<u16>(), Ok(prio));
            assert!(ip_literal(argument).is_none());
            // Written canonically it reads back the same, unless the
            // canonical form happens to be a whole IPv6 address.
            let canonical = format!("{prio}:{}", server.name);
            let again = parse_server(&canonical).expect("canonical form parses");
            if ip_literal(&canonical).is_none() {
                assert_eq!(again, server);
            } else {
                assert_eq!(
                    (again.prio, again.name.as_str()),
                    (None, canonical.as_str())
                );
            }
        }
    }
    Some(server)
}

/// A small PRNG seeded by the input, to pick the order facts arrive in.
struct Rng(u64);

impl Rng {
    fn new(data: &[u8]) -> Rng {
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        for byte in data {
            hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
        }
        Rng(hash | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn check_board(servers: &[Server], stop: &str, data: &[u8]) {
    let n = servers.len();
    let prios: Vec<Option<u16>> = servers.iter().map(|s| s.prio).collect();
    let stop_given = !stop.is_empty();
    let matches: Vec<bool> = servers
        .iter()
        .map(|s| stop_given && same_name(&s.name, stop))
        .collect();
    let mut rng = Rng::new(data);
    let up: Vec<bool> = (0..n).map(|_| rng.next() & 1 == 1).collect();
    let mut order: Vec<usize> = (0..2 * n).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i + 1));
    }

    let mut board = Board::new(prios.clone(), stop_given);
    let mut availability = vec![Availability::Unknown; n];
    let mut decided = board.decide();
    check_decision(&board, &availability);
    for fact in order {
        if fact < n {
            if !stop_given {
                continue;
            }
            let m = if matches[fact] {
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
    assert_eq!(board.decide(), Some(expected(&prios, &matches, &up)));
}

/// The manual's rule, independently of `Board`.
fn expected(prios: &[Option<u16>], stop: &[bool], up: &[bool]) -> Verdict {
    let stop_at = stop.iter().position(|&s| s);
    let excluded = |i: usize| match stop_at {
        None => false,
        Some(s) => i >= s || (prios[i].is_some() && prios[i] == prios[s]),
    };
    (0..prios.len())
        .find(|&i| !excluded(i) && up[i])
        .map_or(Verdict::NoneAvailable, Verdict::Available)
}

fn check_decision(board: &Board, availability: &[Availability]) {
    for index in 0..availability.len() {
        let _ = board.excluded(index);
        let _ = board.may_probe(index);
    }
    if let Some(Verdict::Available(i)) = board.decide() {
        assert_eq!(availability[i], Availability::Up);
        assert!(!board.excluded(i));
        for (j, known) in availability.iter().enumerate().take(i) {
            if !board.excluded(j) {
                assert_eq!(*known, Availability::Down, "server {j} before {i}");
            }
        }
    }
}
