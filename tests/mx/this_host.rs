//! Where the list ends: without --stop, at the first MX that has an
//! address of this host (127.0.0.1, matched exactly: 127.0.0.10 is
//! another host), with its same-preference peers; with --stop, where
//! --stop says, as for servers given as arguments.
//!
//! 127.0.0.1 always greets here, so a run that wrongly probes this host
//! reports it.

use super::*;
use Expect::*;

/// MX 10 mx1 (127.0.0.2), MX 20 `exchange` at `address`, MX 30 mx3
/// (127.0.0.4).
fn mx_20_at(exchange: &str, address: &str) -> Zone {
    Zone::new()
        .mx_at(DOMAIN, 10, "mx1.d.test", "127.0.0.2")
        .mx_at(DOMAIN, 20, exchange, address)
        .mx_at(DOMAIN, 30, "mx3.d.test", "127.0.0.4")
}

/// MX 20 is this host: self.d.test (127.0.0.1).
fn self_at_20() -> Zone {
    mx_20_at("self.d.test", "127.0.0.1")
}

// The first MX that is this host ends the list.
mx_rows! {
    mx_10_down_mx_20_this_host: self_at_20() => NoneAvailable,
        host("127.0.0.2", down()), host("127.0.0.1", up()), host("127.0.0.4", up());
    mx_10_up_mx_20_this_host: self_at_20() => Available("mx1.d.test"),
        host("127.0.0.2", up()), host("127.0.0.1", up()), host("127.0.0.4", up());
    the_domain_itself_is_this_host: Zone::new().a(DOMAIN, "127.0.0.1") => NoneAvailable,
        host("127.0.0.1", up());
    the_address_127_0_0_10_is_not_this_host:
        Zone::new().mx_at(DOMAIN, 10, "mx1.d.test", "127.0.0.10") => Available("mx1.d.test"),
        host("127.0.0.10", up()), host("127.0.0.1", up());
}

/// MX 5 down; MX 10 this host and a peer that greets, in both answer
/// orders: the peer does not count either way.
#[test]
fn the_peers_of_this_host_are_skipped() {
    let orders = [
        ("this host, then its peer", ["self.d.test", "peer.d.test"]),
        ("a peer, then this host", ["peer.d.test", "self.d.test"]),
    ];
    for (name, [first, second]) in orders {
        let zone = Zone::new()
            .mx(DOMAIN, 5, "mx0.d.test")
            .mx(DOMAIN, 10, first)
            .mx(DOMAIN, 10, second)
            .mx(DOMAIN, 20, "mx3.d.test")
            .a("mx0.d.test", "127.0.0.2")
            .a("self.d.test", "127.0.0.1")
            .a("peer.d.test", "127.0.0.3")
            .a("mx3.d.test", "127.0.0.4");
        let row = Row::new(name, zone, NoneAvailable)
            .host("127.0.0.2", down())
            .host("127.0.0.1", up())
            .host("127.0.0.3", up())
            .host("127.0.0.4", up());
        if !check_row(row) {
            return;
        }
    }
}

/// MX 20 is another host: mx2.d.test (127.0.0.3).
fn other_at_20() -> Zone {
    mx_20_at("mx2.d.test", "127.0.0.3")
}

// --stop given with --mx decides instead of this host.
mx_rows! {
    stop_names_mx_20_mx_10_down: other_at_20() => NoneAvailable, stop("mx2.d.test"),
        host("127.0.0.2", down()), host("127.0.0.3", up()), host("127.0.0.4", up());
    stop_is_mx_20s_address: other_at_20() => NoneAvailable, stop("127.0.0.3"),
        host("127.0.0.2", down()), host("127.0.0.3", up()), host("127.0.0.4", up());
    stop_names_mx_20_mx_10_up: other_at_20() => Available("mx1.d.test"), stop("mx2.d.test"),
        host("127.0.0.2", up()), host("127.0.0.3", up()), host("127.0.0.4", up());
    /// With --stop, an MX at this host's address is an ordinary server.
    stop_past_this_host: self_at_20() => Available("self.d.test"), stop("mx3.d.test"),
        host("127.0.0.2", down()), host("127.0.0.1", up()), host("127.0.0.4", up());
}
