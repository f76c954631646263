//! The probing loop: every server is looked up at once, each is probed as
//! soon as it is known to come before the `--stop` server, results feed the
//! [`Board`], and the loop returns the moment the answer is determined
//! (pending probes are dropped, which closes their connections).
//!
//! A probe races the server's addresses (Happy Eyeballs) for one that
//! greets `220`; addresses with a fresh cached result are not contacted.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::cache::{self, Cache, Entry};
use super::decide::{Availability, Board, StopMatch, Verdict};
use super::servers::{Server, same_name};
use crate::smtp::race::{CONNECTION_ATTEMPT_DELAY, race};
use crate::smtp::session::{Limits, lookup};
use crate::smtp::transcript::Transcript;
use crate::smtp::{Error, Session};

/// What the loop needs besides the servers.
pub struct Settings {
    pub port: u16,
    /// Per server: lookup + connect + greeting. `None`: no limit.
    pub timeout: Option<Duration>,
}

/// What is known about one server, for `-v`.
#[derive(Debug, Default)]
pub enum Outcome {
    /// Not needed for the answer, or not finished when it was found.
    #[default]
    NotNeeded,
    /// At or after the `--stop` server, or its same-prio peer.
    Skipped,
    LookupFailed(Error),
    Up {
        address: SocketAddr,
        cached: bool,
    },
    Down {
        /// The most telling failure, `None` when known from the cache.
        error: Option<Error>,
    },
}

/// The answer and what led to it.
pub struct Report {
    pub verdict: Verdict,
    /// One per server, in list order, with milliseconds since the start.
    pub outcomes: Vec<(Outcome, Option<u128>)>,
}

enum Event {
    StopLooked(Result<Vec<SocketAddr>, Error>),
    Looked(usize, Result<Vec<SocketAddr>, Error>),
    Probed(usize, Result<SocketAddr, Vec<Error>>),
}

/// Runs the checks. `Err` only when `--stop` names a host that cannot be
/// looked up (exit 2).
pub async fn check(
    servers: &[Server],
    stop: Option<&str>,
    settings: &Settings,
    cache: &mut Cache,
) -> Result<Report, Error> {
    let start = Instant::now();
    let limits = Limits {
        overall: settings.timeout.and_then(|t| start.checked_add(t)),
        per_phase: None,
    };
    let prios = servers.iter().map(|s| s.prio).collect();
    let mut run = Run {
        servers,
        settings,
        limits,
        start,
        board: Board::new(prios, stop.is_some()),
        addresses: vec![None; servers.len()],
        stop_addresses: None,
        started: vec![false; servers.len()],
        outcomes: servers.iter().map(|_| (Outcome::NotNeeded, None)).collect(),
        tasks: JoinSet::new(),
    };
    run.begin(stop);
    loop {
        run.start_probes(cache);
        // An unresolvable --stop is an error (exit 2) whatever the servers
        // say, so no answer is given before its lookup has ended.
        let stop_known = stop.is_none() || run.stop_addresses.is_some();
        if let Some(verdict) = run.board.decide().filter(|_| stop_known) {
            run.mark_skipped();
            return Ok(Report {
                verdict,
                outcomes: run.outcomes,
            });
        }
        let Some(Ok(event)) = run.tasks.join_next().await else {
            // Every task ended and nothing decided: cannot happen, as each
            // server ends up up or down; count it as "none available".
            return Ok(Report {
                verdict: Verdict::NoneAvailable,
                outcomes: run.outcomes,
            });
        };
        run.apply(event, cache)?;
    }
}

/// An address as compared with `--stop`: `::ffff:192.0.2.1` (how a
/// dual-stack socket reports an IPv4 peer) is `192.0.2.1`.
fn canonical_ip(address: &SocketAddr) -> IpAddr {
    address.ip().to_canonical()
}

struct Run<'a> {
    servers: &'a [Server],
    settings: &'a Settings,
    limits: Limits,
    start: Instant,
    board: Board,
    addresses: Vec<Option<Vec<SocketAddr>>>,
    /// `Some` once the `--stop` target's addresses are known.
    stop_addresses: Option<Vec<IpAddr>>,
    started: Vec<bool>,
    outcomes: Vec<(Outcome, Option<u128>)>,
    tasks: JoinSet<Event>,
}

impl Run<'_> {
    /// Starts every lookup, and the `--stop` target's.
    fn begin(&mut self, stop: Option<&str>) {
        let (port, limits) = (self.settings.port, self.limits);
        if let Some(stop) = stop {
            for (index, server) in self.servers.iter().enumerate() {
                if same_name(&server.name, stop) {
                    self.board.set_stop_match(index, StopMatch::Yes);
                }
            }
            let stop = stop.to_owned();
            self.tasks
                .spawn(async move { Event::StopLooked(lookup(&stop, port, limits).await) });
        }
        for (index, server) in self.servers.iter().enumerate() {
            let name = server.name.clone();
            self.tasks
                .spawn(async move { Event::Looked(index, lookup(&name, port, limits).await) });
        }
    }

    fn apply(&mut self, event: Event, cache: &mut Cache) -> Result<(), Error> {
        match event {
            Event::StopLooked(Err(error)) => return Err(error),
            Event::StopLooked(Ok(addresses)) => {
                self.stop_addresses = Some(addresses.iter().map(canonical_ip).collect());
            }
            Event::Looked(index, Ok(addresses)) => self.addresses[index] = Some(addresses),
            Event::Looked(index, Err(error)) => {
                self.addresses[index] = Some(Vec::new());
                self.board.set_availability(index, Availability::Down);
                self.record(index, Outcome::LookupFailed(error));
            }
            Event::Probed(index, result) => self.finish_probe(index, result, cache),
        }
        self.update_stop_matches();
        Ok(())
    }

    /// A server matches `--stop` by name (checked at the start) or by
    /// address, once both address lists are known.
    fn update_stop_matches(&mut self) {
        let Some(stop_addresses) = &self.stop_addresses else {
            return;
        };
        for (index, addresses) in self.addresses.iter().enumerate() {
            if self.board.stop_match(index) != StopMatch::Unknown {
                continue;
            }
            if let Some(addresses) = addresses {
                let hit = addresses
                    .iter()
                    .any(|a| stop_addresses.contains(&canonical_ip(a)));
                let matches = if hit { StopMatch::Yes } else { StopMatch::No };
                self.board.set_stop_match(index, matches);
            }
        }
    }

    /// Probes every looked-up server that is known to precede the stop
    /// server, answering from the cache where it can.
    fn start_probes(&mut self, cache: &Cache) {
        for index in 0..self.servers.len() {
            if self.started[index] || !self.board.may_probe(index) {
                continue;
            }
            let Some(addresses) = &self.addresses[index] else {
                continue;
            };
            self.started[index] = true;
            if addresses.is_empty() {
                continue; // lookup failed: already down
            }
            let now = cache::now_ms();
            let fresh = |a: &SocketAddr| cache.fresh(a, now);
            if let Some(up) = addresses.iter().find(|a| fresh(a).is_some_and(|e| e.up)) {
                self.board.set_availability(index, Availability::Up);
                self.record(
                    index,
                    Outcome::Up {
                        address: *up,
                        cached: true,
                    },
                );
                continue;
            }
            let to_probe: Vec<SocketAddr> = addresses
                .iter()
                .copied()
                .filter(|a| fresh(a).is_none())
                .collect();
            if to_probe.is_empty() {
                self.board.set_availability(index, Availability::Down);
                self.record(index, Outcome::Down { error: None });
                continue;
            }
            let (name, limits) = (self.servers[index].name.clone(), self.limits);
            self.tasks.spawn(async move {
                let attempts = race(&to_probe, CONNECTION_ATTEMPT_DELAY, |address| {
                    Session::greet(&name, address, limits, Transcript::off())
                });
                let result = match attempts.await {
                    Ok(session) => {
                        let address = session.address();
                        // Say goodbye politely, but never wait for the reply.
                        session.send_quit().await;
                        Ok(address)
                    }
                    Err(failures) => Err(failures),
                };
                Event::Probed(index, result)
            });
        }
    }

    fn finish_probe(
        &mut self,
        index: usize,
        result: Result<SocketAddr, Vec<Error>>,
        cache: &mut Cache,
    ) {
        let at_ms = cache::now_ms();
        match result {
            Ok(address) => {
                cache.learn(address, Entry { up: true, at_ms });
                self.board.set_availability(index, Availability::Up);
                self.record(
                    index,
                    Outcome::Up {
                        address,
                        cached: false,
                    },
                );
            }
            Err(failures) => {
                for failure in &failures {
                    if let Some(address) = failure.address {
                        cache.learn(address, Entry { up: false, at_ms });
                    }
                }
                self.board.set_availability(index, Availability::Down);
                let error = crate::smtp::session::most_telling(failures);
                self.record(index, Outcome::Down { error: Some(error) });
            }
        }
    }

    fn record(&mut self, index: usize, outcome: Outcome) {
        self.outcomes[index] = (outcome, Some(self.start.elapsed().as_millis()));
    }

    /// Marks the servers that did not count for the answer.
    fn mark_skipped(&mut self) {
        for index in 0..self.servers.len() {
            if self.board.excluded(index) {
                self.outcomes[index].0 = Outcome::Skipped;
            }
        }
    }
}
