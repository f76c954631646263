//! When the MX lookup fails, smtpdcheck cannot tell and says so: exit 2,
//! one stderr line naming the domain, within --timeout + 1 s. Also the
//! usage errors of --mx (which must ask no DNS at all).

use super::*;
use Expect::*;

/// MX 10 mx1 (127.0.0.2), which greets: a failing lookup must not find it.
fn one_mx() -> Zone {
    Zone::new().mx_at(DOMAIN, 10, "mx1.d.test", "127.0.0.2")
}

fn failing(name: &'static str, behaviour: Behaviour) -> Row {
    Row::new(name, one_mx().behave(DOMAIN, behaviour), Fails(DOMAIN)).host("127.0.0.2", up())
}

#[test]
fn a_failed_mx_lookup_exits_2_naming_the_domain() {
    check_rows(vec![
        Row::new("NXDOMAIN", one_mx(), Fails("nowhere.test"))
            .args(&["--mx", "nowhere.test"])
            .asked("udp MX nowhere.test"),
        failing("NXDOMAIN scripted", Behaviour::NxDomain),
        failing("SERVFAIL", Behaviour::ServFail).asked("udp MX d.test"),
        failing("a malformed answer", Behaviour::Garbage),
        Row::new(
            "a CNAME to a name that does not exist",
            one_mx().cname("dangling.test", "gone.test"),
            Fails("dangling.test"),
        )
        .args(&["--mx", "dangling.test"]),
    ]);
}

#[test]
fn a_silent_resolver_exits_2_within_the_timeout() {
    check_rows(vec![
        // The resolver's defaults (5 s, 2 tries) outlast --timeout 2.
        failing("silent: --timeout 2 ends the lookup", Behaviour::Silent)
            .resolver("")
            .asked("udp MX d.test"),
        // resolv.conf(5): "attempts:1" is one query, and "timeout:1" one
        // second for it, so the lookup fails after about 1 s, long before
        // --timeout 4.
        failing("silent: timeout:1 attempts:1 end it", Behaviour::Silent)
            .timeout(4)
            .within(Duration::from_millis(1700)),
    ]);
}

#[test]
fn mx_takes_no_server_arguments() {
    check_rows(vec![
        Row::new("--mx and a server", one_mx(), Usage)
            .host("127.0.0.2", up())
            .args(&["--mx", DOMAIN, "10:mx1.d.test"]),
        Row::new("--mx without a domain", one_mx(), Usage).args(&["--mx"]),
    ]);
}
