//! What the MX answer makes of the list: order by preference, peers of
//! one preference, the implicit MX, the null MX, a CNAME, a truncated
//! answer. No exchange here is this host (127.0.0.2 and up).

use super::*;
use Expect::*;

/// MX 10 mx1 (127.0.0.2) and MX `preference` mx2 (127.0.0.3), mx2 first
/// in the answer, so any order comes from the preferences.
fn mx1_and_mx2(preference: u16) -> Zone {
    Zone::new()
        .mx_at(DOMAIN, preference, "mx2.d.test", "127.0.0.3")
        .mx_at(DOMAIN, 10, "mx1.d.test", "127.0.0.2")
}

/// MX 10 mx1 (127.0.0.2) and MX 20 mx2 (127.0.0.3).
fn two_mx() -> Zone {
    mx1_and_mx2(20)
}

// MX records are decided in order of preference.
mx_rows! {
    the_most_preferred_mx_is_up: two_mx() => Available("mx1.d.test"),
        host("127.0.0.2", up()), host("127.0.0.3", up()), asked("udp MX d.test");
    mx_10_down_mx_20_up: two_mx() => Available("mx2.d.test"),
        host("127.0.0.2", down()), host("127.0.0.3", up());
    every_mx_down: two_mx() => NoneAvailable,
        host("127.0.0.2", down()), host("127.0.0.3", down());
    an_exchange_with_no_address_is_down:
        two_mx().mx(DOMAIN, 5, "ghost.d.test") => Available("mx1.d.test"),
        host("127.0.0.2", up()), host("127.0.0.3", up()), asked("udp A ghost.d.test");
}

// MX records of one preference are peers: whichever is up.
mx_rows! {
    mx1_down_its_peer_mx2_up: mx1_and_mx2(10) => Available("mx2.d.test"),
        host("127.0.0.2", down()), host("127.0.0.3", up());
    mx1_up_its_peer_mx2_down: mx1_and_mx2(10) => Available("mx1.d.test"),
        host("127.0.0.2", up()), host("127.0.0.3", down());
    both_peers_down: mx1_and_mx2(10) => NoneAvailable,
        host("127.0.0.2", down()), host("127.0.0.3", down());
}

/// d.test without MX records: its own address, 127.0.0.2.
fn implicit() -> Zone {
    Zone::new().a(DOMAIN, "127.0.0.2")
}

// No MX record means the domain itself; a null MX means none.
mx_rows! {
    implicit_mx_up: implicit() => Available(DOMAIN),
        host("127.0.0.2", up()), asked("udp MX d.test");
    implicit_mx_down: implicit() => NoneAvailable, host("127.0.0.2", down());
    /// The domain's own address greets: a null MX must not fall back to
    /// the implicit MX.
    null_mx: implicit().mx(DOMAIN, 0, ".") => NoneAvailable, host("127.0.0.2", up());
}

/// alias.test, a CNAME to [`two_mx`]'s d.test.
fn alias() -> Zone {
    two_mx().cname("alias.test", DOMAIN)
}

// A CNAME is followed; a truncated answer is asked again over TCP.
mx_rows! {
    cname_to_the_mx_set: alias() => Available("mx1.d.test"),
        host("127.0.0.2", up()), host("127.0.0.3", up()),
        args(&["--mx", "alias.test"]), asked("udp MX alias.test");
    cname_mx_10_down: alias() => Available("mx2.d.test"),
        host("127.0.0.2", down()), host("127.0.0.3", up()), args(&["--mx", "alias.test"]);
    truncated_over_udp: two_mx().behave(DOMAIN, Behaviour::Truncated) => Available("mx1.d.test"),
        host("127.0.0.2", up()), host("127.0.0.3", up()),
        asked("udp MX d.test"), asked("tcp MX d.test");
    truncated_over_udp_mx_10_down:
        two_mx().behave(DOMAIN, Behaviour::Truncated) => Available("mx2.d.test"),
        host("127.0.0.2", down()), host("127.0.0.3", up()), asked("tcp MX d.test");
}

#[test]
fn a_silent_first_name_server_is_passed_over() {
    // Both name servers know the zone; the first keeps silent on the MX
    // query, so the answer must come from the second.
    let Some(servers) = same_port_or_skip(vec![("127.0.0.2", up())]) else {
        return;
    };
    let Some(first) = DnsServer::start_or_skip(two_mx().behave(DOMAIN, Behaviour::Silent)) else {
        return;
    };
    let Some(second) = DnsServer::start_or_skip(two_mx()) else {
        return;
    };
    let resolv_conf = format!(
        "nameserver {}\n{}",
        first.ip(),
        second.resolv_conf(QUICK_RESOLVER)
    );
    let port = servers[0].port().to_string();
    let args = ["--port", &port, "--timeout", "3", "--mx", DOMAIN];
    let Some(run) = smtpdcheck(&resolv_conf, &args) else {
        return;
    };
    let asked = (first.asked_lines(), second.asked_lines());
    assert_eq!(run.status, Some(1), "{run:#?}\n{asked:#?}");
    assert_eq!(run.stdout, "mx1.d.test\n", "{run:#?}");
    assert!(run.elapsed < Duration::from_secs(4), "{run:#?}");
    let mx = "udp MX d.test".to_owned();
    assert!(asked.1.contains(&mx), "{asked:#?}");
}

#[test]
fn a_second_process_answers_from_the_mx_file_without_dns() {
    // The MX answer (for its TTL) and the MX hosts' addresses (for a
    // minute) are kept on disk: one process per message asks DNS once.
    let Some(servers) = same_port_or_skip(vec![("127.0.0.2", up())]) else {
        return;
    };
    let zone = Zone::new().mx_at(DOMAIN, 10, "mx1.d.test", "127.0.0.2");
    let Some(dns) = DnsServer::start_or_skip(zone) else {
        return;
    };
    let cache = TempDir::new("mx-file");
    std::fs::set_permissions(
        cache.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .expect("chmod");
    let port = servers[0].port().to_string();
    let args = [
        "--port",
        &port,
        "--timeout",
        "2",
        "--cache-dir",
        cache.arg(),
        "--mx",
        DOMAIN,
    ];
    let resolv_conf = dns.resolv_conf(QUICK_RESOLVER);
    for round in ["asks DNS", "reads the file"] {
        let Some(run) = smtpdcheck(&resolv_conf, &args) else {
            return;
        };
        assert_eq!(run.status, Some(1), "{round}: {run:#?}");
        assert_eq!(run.stdout, "mx1.d.test\n", "{round}: {run:#?}");
    }
    // Only the first process asked: the MX, then mx1.d.test's addresses.
    let asked = dns.asked_lines();
    let expected = ["udp MX d.test", "udp A mx1.d.test", "udp AAAA mx1.d.test"];
    let mut sorted = asked.clone();
    sorted[1..].sort();
    assert_eq!(sorted, expected, "{asked:#?}");
    let file = std::fs::read_to_string(cache.join("mx")).expect("the MX file");
    let lines: Vec<Vec<&str>> = file.lines().map(|l| l.split(' ').collect()).collect();
    let mx = lines.iter().find(|l| l[0] == "mx").expect("the MX line");
    let addr = lines
        .iter()
        .find(|l| l[0] == "addr")
        .expect("the address line");
    assert_eq!(
        (mx[1], mx[3], mx[4]),
        (DOMAIN, "10", "mx1.d.test"),
        "{file}"
    );
    assert_eq!(addr[1], "mx1.d.test", "{file}");
    assert!(addr[3].starts_with("127.0.0.2:"), "{file}");
    // The answer holds for the zone's TTL, the addresses for a minute.
    let until = |line: &[&str]| line[2].parse::<u64>().expect("a time");
    assert!(until(mx) > until(addr) + 200_000, "{file}");
}

/// `smtpdcheck --no-cache --timeout 2 --json ARGS --mx d.test` asking
/// `dns`: it exits `status` and its document has the schema. `None` where
/// it could not run (SKIPPED).
fn json_answer(dns: &DnsServer, args: &[&str], status: i32) -> Option<serde_json::Value> {
    let options = [&["--no-cache", "--timeout", "2", "--json"], args].concat();
    let argv = [&options[..], &["--mx", DOMAIN]].concat();
    let run = smtpdcheck(&dns.resolv_conf(QUICK_RESOLVER), &argv)?;
    assert_eq!(run.status, Some(status), "{run:#?}");
    let document = support::json::json_document(&run);
    support::json::assert_smtpdcheck_schema(&document);
    Some(document)
}

#[test]
fn json_names_the_domain_and_its_mx_hosts_in_order() {
    // MX 10 (127.0.0.2) is down, MX 20 (127.0.0.3) is up.
    let Some((_mx20, dns, port)) = server_and_dns("127.0.0.3", up(), two_mx()) else {
        return;
    };
    let Some(document) = json_answer(&dns, &["--port", &port], 1) else {
        return;
    };
    assert_eq!(document["mx"]["domain"], DOMAIN, "{document}");
    assert_eq!(document["mx"]["null_mx"], false, "{document}");
    assert_eq!(document["available"], "mx2.d.test", "{document}");
    let hosts = &document["servers"];
    assert_eq!(hosts[0]["name"], "mx1.d.test", "{document}");
    assert_eq!(hosts[0]["prio"], 10, "{document}");
    assert_eq!(hosts[0]["outcome"], "down", "{document}");
    assert_eq!(hosts[1]["name"], "mx2.d.test", "{document}");
    assert_eq!(hosts[1]["outcome"], "up", "{document}");
}

#[test]
fn json_says_a_null_mx_has_no_servers() {
    let Some(dns) = DnsServer::start_or_skip(Zone::new().mx(DOMAIN, 0, ".")) else {
        return;
    };
    let Some(document) = json_answer(&dns, &[], 0) else {
        return;
    };
    assert_eq!(document["mx"]["null_mx"], true, "{document}");
    assert_eq!(document["servers"].as_array().map(Vec::len), Some(0));
}
