//! The probing loop: every server is looked up at once, each is probed as
//! soon as it is known to come before the `--stop` server, results feed the
//! [`Board`], and the loop returns the moment the answer is determined
//! (pending probes are dropped, which closes their connections).
//!
//! A probe races the server's addresses (Happy Eyeballs) for one that
//! greets `220`; addresses with a fresh cached result are not contacted.
//!
//! The bookkeeping ([`Run`]) only queues network work as [`Job`]s; the
//! async driver runs them. So when IP literals and the cache settle the
//! answer, no runtime is started at all: a cache hit costs no more than
//! reading the cache file.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::cache::{self, Cache, Entry};
use super::decide::{Availability, Board, StopMatch, Verdict};
use super::servers::Server;
use crate::names::{HostName, same_name};
use crate::smtp::race::{CONNECTION_ATTEMPT_DELAY, race};
use crate::smtp::session::{Limits, lookup, most_telling};
use crate::smtp::transcript::Transcript;
use crate::smtp::{Error, Session};

/// What the loop needs besides the servers.
pub struct ProbeSettings {
    pub port: u16,
    /// Per server: lookup + connect + greeting. `None`: no limit.
    pub timeout: Option<Duration>,
    /// Only a list that holds the stop server has a server to report
    /// ([`Board::require_stop`]; the services).
    pub stop_required: bool,
}

/// What is known about one server, for `-v`.
#[derive(Debug, Default)]
pub enum ServerOutcome {
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
    pub outcomes: Vec<(ServerOutcome, Option<u128>)>,
    /// The names this run looked up, with their addresses (for a caller
    /// that keeps them).
    pub looked_up: Vec<(String, Vec<SocketAddr>)>,
}

/// Addresses a caller already knows for a server name (lower case), so
/// that it is not looked up again.
pub type KnownAddresses<'k> = &'k dyn Fn(&str) -> Option<Vec<SocketAddr>>;

/// Where the list of servers ends (the Mail Avenger `--stop` rule: the
/// first matching server, those after it and its same-prio peers do not
/// count).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stop {
    /// Every server counts.
    Nowhere,
    /// `--stop`: the server with this name, or with one of its addresses.
    At(HostName),
    /// The first server with one of these addresses (under `--mx`: this
    /// host's own).
    AtAddresses(Vec<IpAddr>),
}

/// Why a run has no answer (exit 2).
#[derive(Debug)]
pub enum CheckError {
    /// The async runtime could not start.
    Runtime(io::Error),
    /// `--stop` names a host that cannot be looked up.
    Stop(Error),
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckError::Runtime(err) => write!(f, "cannot start the async runtime: {err}"),
            CheckError::Stop(error) => write!(f, "--stop: {error}"),
        }
    }
}

impl std::error::Error for CheckError {}

/// Network work the answer waits for.
#[derive(Debug, PartialEq)]
enum Job {
    LookUpStop(String),
    /// The server at this index.
    LookUp(usize),
    Probe(usize, Vec<SocketAddr>),
}

/// A finished [`Job`].
enum Event {
    /// The `--stop` target's addresses, with its name.
    StopLooked(String, Result<Vec<SocketAddr>, Error>),
    Looked(usize, Result<Vec<SocketAddr>, Error>),
    Probed(usize, Result<SocketAddr, Vec<Error>>),
}

/// The checks as far as they go without the network: the report when IP
/// literals and the cache decide, else the work still to do.
pub fn start<'a>(
    servers: &'a [Server],
    stop: &Stop,
    settings: &'a ProbeSettings,
    cache: &Cache,
    known: KnownAddresses,
) -> Result<Report, Pending<'a>> {
    let mut run = Run::new(servers, stop, settings);
    run.use_known(known);
    match run.settle(cache) {
        Some(verdict) => Ok(run.into_report(verdict)),
        None => Err(Pending(Box::new(run))),
    }
}

/// Checks that need the network (see [`start`]).
pub struct Pending<'a>(Box<Run<'a>>);

impl Pending<'_> {
    /// Runs them on the caller's runtime; the `Err` only when `--stop`
    /// names a host that cannot be looked up. The cache is borrowed only
    /// between waits, so other checks may share it meanwhile.
    pub async fn finish(self, cache: &RefCell<Cache>) -> Result<Report, Error> {
        self.0.drive(cache).await
    }
}

/// `name` in lower case (names from DNS usually are already).
fn lower_case(name: &str) -> Cow<'_, str> {
    if name.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(name.to_ascii_lowercase())
    } else {
        Cow::Borrowed(name)
    }
}

/// An address as compared with `--stop`: `::ffff:192.0.2.1` (how a
/// dual-stack socket reports an IPv4 peer) is `192.0.2.1`.
fn canonical_ip(address: &SocketAddr) -> IpAddr {
    address.ip().to_canonical()
}

struct Run<'a> {
    servers: &'a [Server],
    settings: &'a ProbeSettings,
    limits: Limits,
    start: Instant,
    board: Board,
    addresses: Vec<Option<Vec<SocketAddr>>>,
    stop_given: bool,
    /// `Some` once the `--stop` target's addresses are known.
    stop_addresses: Option<Vec<IpAddr>>,
    started: Vec<bool>,
    outcomes: Vec<(ServerOutcome, Option<u128>)>,
    looked_up: Vec<(String, Vec<SocketAddr>)>,
    /// Queued, not yet started.
    jobs: Vec<Job>,
}

impl<'a> Run<'a> {
    /// Takes IP literals as looked up and queues every other lookup, the
    /// `--stop` target's too.
    fn new(servers: &'a [Server], stop: &Stop, settings: &'a ProbeSettings) -> Run<'a> {
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
            board: Board::new(prios, *stop != Stop::Nowhere),
            addresses: vec![None; servers.len()],
            stop_given: *stop != Stop::Nowhere,
            stop_addresses: None,
            started: vec![false; servers.len()],
            looked_up: Vec::new(),
            outcomes: servers
                .iter()
                .map(|_| (ServerOutcome::NotNeeded, None))
                .collect(),
            jobs: Vec::new(),
        };
        match stop {
            Stop::Nowhere => {}
            Stop::At(stop) => {
                for (index, server) in servers.iter().enumerate() {
                    if same_name(&server.name, stop) {
                        run.board.set_stop_match(index, StopMatch::Yes);
                    }
                }
                match stop.ip() {
                    Some(ip) => run.stop_addresses = Some(vec![ip.to_canonical()]),
                    None => run.jobs.push(Job::LookUpStop(stop.to_string())),
                }
            }
            Stop::AtAddresses(addresses) => {
                let canonical = addresses.iter().map(IpAddr::to_canonical).collect();
                run.stop_addresses = Some(canonical);
            }
        }
        for (index, server) in servers.iter().enumerate() {
            match server.name.ip() {
                Some(ip) => run.addresses[index] = Some(vec![SocketAddr::new(ip, settings.port)]),
                None => run.jobs.push(Job::LookUp(index)),
            }
        }
        if settings.stop_required {
            run.board.require_stop();
        }
        run.update_stop_matches();
        run
    }

    /// Answers what the cache can, queues the probes that are needed now,
    /// and returns the verdict once it is determined.
    fn settle(&mut self, cache: &Cache) -> Option<Verdict> {
        self.start_probes(cache);
        // An unresolvable --stop is an error (exit 2) whatever the servers
        // say, so no answer is given before its lookup has ended.
        let stop_known = !self.stop_given || self.stop_addresses.is_some();
        self.board.decide().filter(|_| stop_known)
    }

    /// Runs the queued jobs, and those that their results call for, until
    /// the verdict is determined.
    /// Pending tasks are dropped with their set when it returns.
    async fn drive(mut self, cache: &RefCell<Cache>) -> Result<Report, Error> {
        let mut tasks = JoinSet::new();
        loop {
            self.spawn_jobs(&mut tasks);
            let Some(Ok(event)) = tasks.join_next().await else {
                // Every task ended and nothing decided: cannot happen, as
                // each server ends up up or down; count it as "none available".
                return Ok(self.into_report(Verdict::NoneAvailable));
            };
            self.apply(event, &mut cache.borrow_mut())?;
            if let Some(verdict) = self.settle(&cache.borrow()) {
                return Ok(self.into_report(verdict));
            }
        }
    }

    fn spawn_jobs(&mut self, tasks: &mut JoinSet<Event>) {
        let (port, limits) = (self.settings.port, self.limits);
        for job in self.jobs.drain(..) {
            match job {
                Job::LookUpStop(stop) => tasks.spawn(async move {
                    let found = lookup(&stop, port, limits).await;
                    Event::StopLooked(stop, found)
                }),
                Job::LookUp(index) => {
                    let name = self.servers[index].name.to_string();
                    tasks.spawn(
                        async move { Event::Looked(index, lookup(&name, port, limits).await) },
                    )
                }
                Job::Probe(index, addresses) => {
                    let name = self.servers[index].name.to_string();
                    tasks.spawn(probe(index, name, addresses, limits))
                }
            };
        }
    }

    /// Takes the addresses `known` has for names (the servers' and the
    /// `--stop` target's) as looked up, dropping their lookup jobs.
    fn use_known(&mut self, known: KnownAddresses) {
        let (servers, addresses) = (self.servers, &mut self.addresses);
        let stop_addresses = &mut self.stop_addresses;
        self.jobs.retain(|job| match job {
            Job::LookUp(index) => match known(&lower_case(&servers[*index].name)) {
                Some(found) => {
                    addresses[*index] = Some(found);
                    false
                }
                None => true,
            },
            Job::LookUpStop(stop) => match known(&lower_case(stop)) {
                Some(found) => {
                    *stop_addresses = Some(found.iter().map(canonical_ip).collect());
                    false
                }
                None => true,
            },
            Job::Probe(..) => true,
        });
        self.update_stop_matches();
    }

    fn into_report(mut self, verdict: Verdict) -> Report {
        self.mark_skipped();
        Report {
            verdict,
            outcomes: self.outcomes,
            looked_up: self.looked_up,
        }
    }

    fn apply(&mut self, event: Event, cache: &mut Cache) -> Result<(), Error> {
        match event {
            Event::StopLooked(_, Err(error)) => return Err(error),
            Event::StopLooked(stop, Ok(addresses)) => {
                self.stop_addresses = Some(addresses.iter().map(canonical_ip).collect());
                // A caller that keeps addresses spares the next run this lookup.
                self.looked_up.push((stop.to_ascii_lowercase(), addresses));
            }
            Event::Looked(index, Ok(addresses)) => {
                let name = self.servers[index].name.to_ascii_lowercase();
                self.looked_up.push((name, addresses.clone()));
                self.addresses[index] = Some(addresses);
            }
            Event::Looked(index, Err(error)) => {
                self.addresses[index] = Some(Vec::new());
                self.board.set_availability(index, Availability::Down);
                self.record(index, ServerOutcome::LookupFailed(error));
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

    /// Queues a probe of every looked-up server that is known to precede
    /// the stop server, answering from the cache where it can.
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
                    ServerOutcome::Up {
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
                self.record(index, ServerOutcome::Down { error: None });
                continue;
            }
            self.jobs.push(Job::Probe(index, to_probe));
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
                    ServerOutcome::Up {
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
                let error = most_telling(failures);
                self.record(index, ServerOutcome::Down { error: Some(error) });
            }
        }
    }

    fn record(&mut self, index: usize, outcome: ServerOutcome) {
        self.outcomes[index] = (outcome, Some(self.start.elapsed().as_millis()));
    }

    /// Marks the servers that did not count for the answer.
    fn mark_skipped(&mut self) {
        for index in 0..self.servers.len() {
            if self.board.excluded(index) {
                self.outcomes[index].0 = ServerOutcome::Skipped;
            }
        }
    }
}

/// Races `addresses` for a `220` greeting; on success says goodbye
/// politely, but never waits for the reply.
async fn probe(index: usize, name: String, addresses: Vec<SocketAddr>, limits: Limits) -> Event {
    let attempts = race(&addresses, CONNECTION_ATTEMPT_DELAY, |address| {
        Session::greet(&name, address, limits, Transcript::off())
    });
    let result = match attempts.await {
        Ok(session) => {
            let address = session.address();
            session.send_quit().await;
            Ok(address)
        }
        Err(failures) => Err(failures),
    };
    Event::Probed(index, result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtpdcheck::servers::parse_server;
    use std::collections::HashMap;

    const SETTINGS: ProbeSettings = ProbeSettings {
        port: 25,
        timeout: None,
        stop_required: false,
    };

    fn servers(arguments: &[&str]) -> Vec<Server> {
        arguments
            .iter()
            .map(|a| parse_server(a).expect("a valid server"))
            .collect()
    }

    fn at25(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().expect("an IP"), 25)
    }

    /// A cache that remembers these addresses (on port 25) as up or down.
    fn cache(known: &[(&str, bool)]) -> Cache {
        let at_ms = cache::now_ms();
        let entries: HashMap<SocketAddr, Entry> = known
            .iter()
            .map(|(ip, up)| (at25(ip), Entry { up: *up, at_ms }))
            .collect();
        Cache::new(cache::DEFAULT_TTL_UP, cache::DEFAULT_TTL_DOWN).with_entries(entries)
    }

    #[test]
    fn a_cached_up_literal_is_answered_without_network_work() {
        let list = servers(&["127.0.0.1"]);
        let mut run = Run::new(&list, &Stop::Nowhere, &SETTINGS);
        assert_eq!(
            run.settle(&cache(&[("127.0.0.1", true)])),
            Some(Verdict::Available(0))
        );
        assert_eq!(run.jobs, []);
        let report = run.into_report(Verdict::Available(0));
        assert!(matches!(
            report.outcomes[0].0,
            ServerOutcome::Up { cached: true, .. }
        ));
    }

    #[test]
    fn cached_results_lead_down_the_list() {
        let list = servers(&["10:127.0.0.2", "20:[::1]", "30:127.0.0.4"]);
        let mut run = Run::new(&list, &Stop::Nowhere, &SETTINGS);
        let known = cache(&[("127.0.0.2", false), ("::1", true)]);
        assert_eq!(run.settle(&known), Some(Verdict::Available(1)));
        // Every server is probed at once; this probe is queued, but the
        // answer is known, so it is never started.
        assert_eq!(run.jobs, [Job::Probe(2, vec![at25("127.0.0.4")])]);
    }

    #[test]
    fn an_uncached_literal_is_probed_without_a_lookup() {
        let list = servers(&["127.0.0.1"]);
        let mut run = Run::new(&list, &Stop::Nowhere, &SETTINGS);
        assert_eq!(run.settle(&cache(&[])), None);
        assert_eq!(run.jobs, [Job::Probe(0, vec![at25("127.0.0.1")])]);
    }

    #[test]
    fn known_addresses_spare_the_lookup() {
        // The policy service keeps the addresses it looked up: a name it
        // knows is probed (or answered from the cache) with no lookup.
        let list = servers(&["10:mx.test", "20:127.0.0.1"]);
        let known = |name: &str| (name == "mx.test").then(|| vec![at25("127.0.0.2")]);
        let report = start(
            &list,
            &Stop::Nowhere,
            &SETTINGS,
            &cache(&[("127.0.0.2", true)]),
            &known,
        );
        let report = report
            .map_err(|_| "needed the network")
            .expect("settled at once");
        assert_eq!(report.verdict, Verdict::Available(0));
        assert!(report.looked_up.is_empty());
    }

    #[test]
    fn a_name_is_looked_up_before_anything_else() {
        let list = servers(&["10:mx.test", "20:127.0.0.1"]);
        let mut run = Run::new(&list, &Stop::Nowhere, &SETTINGS);
        // The second server is up, but the first one comes first.
        assert_eq!(run.settle(&cache(&[("127.0.0.1", true)])), None);
        assert_eq!(run.jobs, [Job::LookUp(0)]);
    }

    #[test]
    fn a_literal_stop_matches_by_address_at_once() {
        // `::ffff:127.0.0.1` is how a dual-stack socket writes 127.0.0.1.
        let list = servers(&["10:127.0.0.2", "20:127.0.0.1", "30:127.0.0.3"]);
        let stop = HostName::parse("::ffff:127.0.0.1").expect("a literal");
        let mut run = Run::new(&list, &Stop::At(stop), &SETTINGS);
        let known = cache(&[("127.0.0.2", false)]);
        assert_eq!(run.settle(&known), Some(Verdict::NoneAvailable));
        assert_eq!(run.jobs, []);
        let report = run.into_report(Verdict::NoneAvailable);
        assert!(matches!(report.outcomes[1].0, ServerOutcome::Skipped));
        assert!(matches!(report.outcomes[2].0, ServerOutcome::Skipped));
    }

    #[test]
    fn this_hosts_addresses_end_the_list_with_their_peers() {
        // Under --mx: 127.0.0.1 is this host; its same-prio peer does not
        // count either, and the answer needs no more network work.
        let list = servers(&["10:127.0.0.2", "20:127.0.0.3", "20:127.0.0.1"]);
        let here = Stop::AtAddresses(vec!["127.0.0.1".parse().expect("ip")]);
        let mut run = Run::new(&list, &here, &SETTINGS);
        let known = cache(&[("127.0.0.2", false), ("127.0.0.3", true)]);
        assert_eq!(run.settle(&known), Some(Verdict::NoneAvailable));
        assert_eq!(run.jobs, []);
    }

    #[test]
    fn a_stop_name_is_looked_up_before_any_answer() {
        // An unresolvable --stop is exit 2 even when a server is up.
        let list = servers(&["127.0.0.1"]);
        let stop = HostName::parse("mx.test").expect("a name");
        let mut run = Run::new(&list, &Stop::At(stop), &SETTINGS);
        assert_eq!(run.settle(&cache(&[("127.0.0.1", true)])), None);
        assert_eq!(run.jobs, [Job::LookUpStop("mx.test".to_owned())]);
    }

    #[test]
    fn a_stop_name_whose_addresses_are_known_is_not_looked_up() {
        // A service remembers the --stop target's addresses as an MX
        // host's: the next decision settles from memory.
        let list = servers(&["10:127.0.0.1", "20:127.0.0.2"]);
        let stop = HostName::parse("MX2.test").expect("a name");
        let mut run = Run::new(&list, &Stop::At(stop), &SETTINGS);
        let known = |name: &str| (name == "mx2.test").then(|| vec![at25("127.0.0.2")]);
        run.use_known(&known);
        assert_eq!(run.jobs, []);
        let verdict = run.settle(&cache(&[("127.0.0.1", true)]));
        assert_eq!(verdict, Some(Verdict::Available(0)));
    }
}
