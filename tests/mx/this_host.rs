//! Where the list ends: without --stop, at the first MX that has an
//! address of this host (127.0.0.1, matched exactly: 127.0.0.10 is
//! another host), with its same-preference peers; with --stop, where
//! --stop says, as for servers given as arguments.
//!
//! 127.0.0.1 always greets here, so a run that wrongly probes this host
//! reports it.

use super::*;
use Expect::*;

/// MX 10 mx1 (127.0.0.2), MX 20 self (127.0.0.1), MX 30 mx3 (127.0.0.3).
fn self_at_20() -> Zone {
    Zone::new()
        .mx_at(DOMAIN, 10, "mx1.d.test", "127.0.0.2")
        .mx_at(DOMAIN, 20, "self.d.test", "127.0.0.1")
        .mx_at(DOMAIN, 30, "mx3.d.test", "127.0.0.3")
}

#[test]
fn the_first_mx_that_is_this_host_ends_the_list() {
    check_rows(vec![
        Row::new("MX 10 down, MX 20 this host", self_at_20(), NoneAvailable)
            .host("127.0.0.2", down())
            .host("127.0.0.1", up())
            .host("127.0.0.3", up()),
        Row::new(
            "MX 10 up, MX 20 this host",
            self_at_20(),
            Available("mx1.d.test"),
        )
        .host("127.0.0.2", up())
        .host("127.0.0.1", up())
        .host("127.0.0.3", up()),
        Row::new(
            "the domain itself is this host (implicit MX)",
            Zone::new().a(DOMAIN, "127.0.0.1"),
            NoneAvailable,
        )
        .host("127.0.0.1", up()),
        Row::new(
            "127.0.0.10 is not this host",
            Zone::new().mx_at(DOMAIN, 10, "mx1.d.test", "127.0.0.10"),
            Available("mx1.d.test"),
        )
        .host("127.0.0.10", up())
        .host("127.0.0.1", up()),
    ]);
}

#[test]
fn the_peers_of_this_host_are_skipped() {
    // MX 5 down; MX 10 this host and a peer that greets, in both answer
    // orders: the peer does not count either way.
    let zone = |first: &str, second: &str| {
        Zone::new()
            .mx(DOMAIN, 5, "mx0.d.test")
            .mx(DOMAIN, 10, first)
            .mx(DOMAIN, 10, second)
            .mx(DOMAIN, 20, "mx3.d.test")
            .a("mx0.d.test", "127.0.0.2")
            .a("self.d.test", "127.0.0.1")
            .a("peer.d.test", "127.0.0.3")
            .a("mx3.d.test", "127.0.0.4")
    };
    let hosts = |row: Row| {
        row.host("127.0.0.2", down())
            .host("127.0.0.1", up())
            .host("127.0.0.3", up())
            .host("127.0.0.4", up())
    };
    check_rows(vec![
        hosts(Row::new(
            "this host, then its peer",
            zone("self.d.test", "peer.d.test"),
            NoneAvailable,
        )),
        hosts(Row::new(
            "a peer, then this host",
            zone("peer.d.test", "self.d.test"),
            NoneAvailable,
        )),
    ]);
}

#[test]
fn stop_given_with_mx_decides_instead_of_this_host() {
    // MX 10 mx1 (127.0.0.2), MX 20 mx2 (127.0.0.3), MX 30 mx3 (127.0.0.4).
    let three = || {
        Zone::new()
            .mx_at(DOMAIN, 10, "mx1.d.test", "127.0.0.2")
            .mx_at(DOMAIN, 20, "mx2.d.test", "127.0.0.3")
            .mx_at(DOMAIN, 30, "mx3.d.test", "127.0.0.4")
    };
    let stop = |row: Row, first: Vec<Step>, stop: &'static str| {
        row.host("127.0.0.2", first)
            .host("127.0.0.3", up())
            .host("127.0.0.4", up())
            .args(&["--stop", stop, "--mx", DOMAIN])
    };
    check_rows(vec![
        stop(
            Row::new("--stop names MX 20, MX 10 down", three(), NoneAvailable),
            down(),
            "mx2.d.test",
        ),
        stop(
            Row::new("--stop is MX 20's address", three(), NoneAvailable),
            down(),
            "127.0.0.3",
        ),
        stop(
            Row::new(
                "--stop names MX 20, MX 10 up",
                three(),
                Available("mx1.d.test"),
            ),
            up(),
            "mx2.d.test",
        ),
        // With --stop, an MX at this host's address is an ordinary server.
        Row::new(
            "--stop past this host",
            self_at_20(),
            Available("self.d.test"),
        )
        .host("127.0.0.2", down())
        .host("127.0.0.1", up())
        .host("127.0.0.3", up())
        .args(&["--stop", "mx3.d.test", "--mx", DOMAIN]),
    ]);
}
