//! Which server to report, decided in list order as soon as it is
//! determined (pure; the probing loop feeds it).
//!
//! The `--stop` rule (Mail Avenger smtpdcheck(1)): the first server whose
//! name or address matches the stop target, and every server after it, do
//! not count; when that server has a prio, the servers before it with the
//! same prio are its peers and do not count either. A server that counts is
//! reported only when every counting server before it is known to be down;
//! an up server first in order ends the run at once.
//!
//! A service deciding for a recipient's domain also requires the stop
//! server to be in the list ([`Board::require_stop`]): when this host is
//! no MX of the domain, no server is "more preferred" than it, and mail
//! it relays (or receives as another domain's final host) must never be
//! deferred because that domain's own MX is up.

/// Whether a server matches `--stop`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopMatch {
    /// Not known yet (its addresses are still being looked up).
    Unknown,
    Yes,
    No,
}

/// What is known of a server's availability.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Availability {
    Unknown,
    Up,
    Down,
}

/// The answer of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The server at this index is up: print it, exit 1.
    Available(usize),
    /// No counting server is up: exit 0.
    NoneAvailable,
}

/// Whether a server counts towards the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Counts {
    Unknown,
    Yes,
    /// A peer of the stop server: skipped, look further.
    Peer,
    /// The stop server, or after it: the list ends here.
    Stop,
}

/// The state of a run: one entry per server, in list order.
#[derive(Clone, Debug)]
pub struct Board {
    prios: Vec<Option<u16>>,
    stop: Vec<StopMatch>,
    availability: Vec<Availability>,
    /// Only a list that holds the stop server has a server to report.
    stop_required: bool,
}

impl Board {
    /// A board for servers with these prios; without `--stop`, no server
    /// matches it.
    pub fn new(prios: Vec<Option<u16>>, stop_given: bool) -> Board {
        let initial = if stop_given {
            StopMatch::Unknown
        } else {
            StopMatch::No
        };
        Board {
            stop: vec![initial; prios.len()],
            availability: vec![Availability::Unknown; prios.len()],
            prios,
            stop_required: false,
        }
    }

    /// From now on a server is reported only once a server after it is
    /// known to match the stop; a list without the stop server has none
    /// available.
    pub fn require_stop(&mut self) {
        self.stop_required = true;
    }

    pub fn set_stop_match(&mut self, index: usize, matches: StopMatch) {
        self.stop[index] = matches;
    }

    pub fn set_availability(&mut self, index: usize, availability: Availability) {
        self.availability[index] = availability;
    }

    pub fn stop_match(&self, index: usize) -> StopMatch {
        self.stop[index]
    }

    /// Whether the server is known to come before the stop server, so
    /// probing it cannot mean contacting the stop server (this host).
    pub fn may_probe(&self, index: usize) -> bool {
        self.stop[..=index].iter().all(|m| *m == StopMatch::No)
    }

    /// Whether the server is known not to count: the stop server, a server
    /// after it, or a same-prio peer of it.
    pub fn excluded(&self, index: usize) -> bool {
        let Some(stop) = self.stop.iter().position(|m| *m == StopMatch::Yes) else {
            return false;
        };
        if self.stop[..stop].contains(&StopMatch::Unknown) {
            return false;
        }
        index >= stop || (self.prios[index].is_some() && self.prios[index] == self.prios[stop])
    }

    /// The answer, once it is determined.
    pub fn decide(&self) -> Option<Verdict> {
        if self.stop_required && self.stop.iter().all(|m| *m == StopMatch::No) {
            return Some(Verdict::NoneAvailable); // no probe needed
        }
        for index in 0..self.prios.len() {
            match self.counts(index) {
                Counts::Unknown => return None,
                Counts::Stop => return Some(Verdict::NoneAvailable),
                Counts::Peer => continue,
                Counts::Yes => match self.availability[index] {
                    Availability::Up => return self.available(index),
                    Availability::Down => continue,
                    Availability::Unknown => return None,
                },
            }
        }
        Some(Verdict::NoneAvailable)
    }

    /// The answer when the server at `index` counts and is up.
    fn available(&self, index: usize) -> Option<Verdict> {
        if !self.stop_required {
            return Some(Verdict::Available(index));
        }
        let after = &self.stop[index + 1..];
        if after.contains(&StopMatch::Yes) {
            Some(Verdict::Available(index))
        } else if after.contains(&StopMatch::Unknown) {
            None
        } else {
            Some(Verdict::NoneAvailable)
        }
    }

    /// Called in list order, so every server before `index` matches `No`.
    fn counts(&self, index: usize) -> Counts {
        match self.stop[index] {
            StopMatch::Unknown => return Counts::Unknown,
            StopMatch::Yes => return Counts::Stop,
            StopMatch::No => {}
        }
        let Some(prio) = self.prios[index] else {
            return Counts::Yes;
        };
        // A later server of the same prio may turn out to be the stop
        // server, which would make this one its peer.
        for later in index + 1..self.prios.len() {
            match self.stop[later] {
                StopMatch::Yes if self.prios[later] == Some(prio) => return Counts::Peer,
                StopMatch::Yes => return Counts::Yes,
                StopMatch::Unknown if self.same_prio_from(later, prio) => return Counts::Unknown,
                StopMatch::Unknown => return Counts::Yes,
                StopMatch::No => {}
            }
        }
        Counts::Yes
    }

    fn same_prio_from(&self, start: usize, prio: u16) -> bool {
        self.prios[start..].contains(&Some(prio))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Availability::{Down, Up};
    use StopMatch::{No, Yes};

    /// A board with every stop match and availability known.
    fn board(prios: &[Option<u16>], stop: &[StopMatch], up: &[Availability]) -> Board {
        let mut board = Board::new(prios.to_vec(), true);
        for (index, (m, a)) in stop.iter().zip(up).enumerate() {
            board.set_stop_match(index, *m);
            board.set_availability(index, *a);
        }
        board
    }

    #[test]
    fn manual_example_same_prio_peer_always_succeeds() {
        // smtpdcheck --stop s2.domain.com 10:s1 10:s2 20:s3
        let prios = [Some(10), Some(10), Some(20)];
        for s1 in [Up, Down] {
            let b = board(&prios, &[No, Yes, No], &[s1, Up, Up]);
            assert_eq!(b.decide(), Some(Verdict::NoneAvailable));
        }
    }

    #[test]
    fn manual_example_lower_prio_reports_s1() {
        // smtpdcheck --stop s2.domain.com 10:s1 20:s2 30:s3
        let prios = [Some(10), Some(20), Some(30)];
        let b = board(&prios, &[No, Yes, No], &[Up, Up, Up]);
        assert_eq!(b.decide(), Some(Verdict::Available(0)));
        let b = board(&prios, &[No, Yes, No], &[Down, Up, Up]);
        assert_eq!(b.decide(), Some(Verdict::NoneAvailable));
    }

    #[test]
    fn stop_host_absent_checks_everything() {
        let prios = [Some(10), Some(20)];
        let b = board(&prios, &[No, No], &[Down, Up]);
        assert_eq!(b.decide(), Some(Verdict::Available(1)));
        let b = board(&prios, &[No, No], &[Down, Down]);
        assert_eq!(b.decide(), Some(Verdict::NoneAvailable));
    }

    #[test]
    fn no_prios_at_all() {
        let prios = [None, None, None];
        let b = board(&prios, &[No, Yes, No], &[Down, Up, Up]);
        assert_eq!(b.decide(), Some(Verdict::NoneAvailable));
        let b = board(&prios, &[No, Yes, No], &[Up, Up, Up]);
        assert_eq!(b.decide(), Some(Verdict::Available(0)));
        let mut b = Board::new(prios.to_vec(), false);
        b.set_availability(1, Up);
        assert_eq!(b.decide(), None, "server 0 still unknown");
        b.set_availability(0, Down);
        assert_eq!(b.decide(), Some(Verdict::Available(1)));
    }

    #[test]
    fn an_up_server_first_in_order_decides_at_once() {
        let b = Board::new(vec![Some(10), Some(20)], false);
        let mut b = b;
        b.set_availability(0, Up);
        assert_eq!(b.decide(), Some(Verdict::Available(0)));
    }

    #[test]
    fn an_unknown_same_prio_server_may_still_be_the_stop() {
        let mut b = Board::new(vec![Some(10), Some(10)], true);
        b.set_stop_match(0, No);
        b.set_availability(0, Up);
        assert_eq!(b.decide(), None);
        b.set_stop_match(1, Yes);
        assert_eq!(b.decide(), Some(Verdict::NoneAvailable));
        assert!(b.excluded(0) && b.excluded(1));
    }

    #[test]
    fn an_unknown_server_of_another_prio_does_not_hold_up_the_answer() {
        let mut b = Board::new(vec![Some(10), Some(20)], true);
        b.set_stop_match(0, No);
        b.set_availability(0, Up);
        assert_eq!(b.decide(), Some(Verdict::Available(0)));
    }

    #[test]
    fn a_required_stop_must_be_in_the_list() {
        let prios = [Some(10), Some(20)];
        let mut b = board(&prios, &[No, StopMatch::Unknown], &[Up, Down]);
        b.require_stop();
        assert_eq!(b.decide(), None, "this host may still be MX 20");
        b.set_stop_match(1, Yes);
        assert_eq!(b.decide(), Some(Verdict::Available(0)));
        b.set_stop_match(1, No);
        assert_eq!(b.decide(), Some(Verdict::NoneAvailable), "no MX of it");
        // known before any probe
        let mut b = Board::new(prios.to_vec(), true);
        b.require_stop();
        b.set_stop_match(0, No);
        b.set_stop_match(1, No);
        assert_eq!(b.decide(), Some(Verdict::NoneAvailable));
        // without the requirement, the same list reports the up server
        let b = board(&prios, &[No, No], &[Up, Down]);
        assert_eq!(b.decide(), Some(Verdict::Available(0)));
    }

    #[test]
    fn probing_waits_until_the_server_is_known_to_precede_the_stop() {
        let mut b = Board::new(vec![None, None], true);
        assert!(!b.may_probe(0));
        b.set_stop_match(0, No);
        assert!(b.may_probe(0));
        assert!(!b.may_probe(1));
        b.set_stop_match(1, Yes);
        assert!(!b.may_probe(1));
    }
}
