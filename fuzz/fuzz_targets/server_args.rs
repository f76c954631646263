//! `[prio:]server` arguments, `--stop` names and the decision board.
//!
//! Input: lines; the first is the `--stop` target (empty: no `--stop`), the
//! others are server arguments. Every argument must parse or be refused
//! cleanly; the parsed servers then go through a `Board`, learning their
//! stop matches and availabilities in an input-driven order: `decide()`
//! never panics, never changes a determined verdict, and ends on the
//! manual's rule. The checks are the property tests'
//! (`tests/properties/checks/`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use smtpbox::names::same_name;
use smtpbox::smtpdcheck::servers::Server;

#[path = "../../tests/properties/checks/server_args.rs"]
mod checks;
#[path = "../../tests/properties/checks/names.rs"]
mod names;

use checks::{check_host, check_parse_server, check_run};
use names::check_name_rules;

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

/// Checks one argument as a name, a host and a `[prio:]server`.
fn check_argument(argument: &str) -> Option<Server> {
    check_name_rules(argument);
    assert!(same_name(argument, argument));
    check_host(argument);
    check_parse_server(argument)
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

/// The servers on a board, `--stop` matching by `same_name`, up or down
/// and the order of the facts drawn from the input.
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
    check_run(&prios, stop_given, &matches, &up, &order);
}
