//! What the MX answer makes of the list: order by preference, peers of
//! one preference, the implicit MX, the null MX, a CNAME, a truncated
//! answer. No exchange here is this host (127.0.0.2 and up).

use super::*;
use Expect::*;

/// MX 10 mx1 (127.0.0.2) and MX 20 mx2 (127.0.0.3), the worse one first
/// in the answer, so the order comes from the preferences.
fn two_mx() -> Zone {
    Zone::new()
        .mx_at(DOMAIN, 20, "mx2.d.test", "127.0.0.3")
        .mx_at(DOMAIN, 10, "mx1.d.test", "127.0.0.2")
}

#[test]
fn mx_records_are_decided_in_order_of_preference() {
    check_rows(vec![
        Row::new(
            "the most preferred MX is up",
            two_mx(),
            Available("mx1.d.test"),
        )
        .host("127.0.0.2", up())
        .host("127.0.0.3", up())
        .asked("udp MX d.test"),
        Row::new("MX 10 down, MX 20 up", two_mx(), Available("mx2.d.test"))
            .host("127.0.0.2", down())
            .host("127.0.0.3", up()),
        Row::new("every MX down", two_mx(), NoneAvailable)
            .host("127.0.0.2", down())
            .host("127.0.0.3", down()),
        Row::new(
            "an exchange with no address is down",
            two_mx().mx(DOMAIN, 5, "ghost.d.test"),
            Available("mx1.d.test"),
        )
        .host("127.0.0.2", up())
        .host("127.0.0.3", up())
        .asked("udp A ghost.d.test"),
    ]);
}

#[test]
fn mx_records_of_one_preference_are_peers() {
    let peers = || {
        Zone::new()
            .mx_at(DOMAIN, 10, "mx1.d.test", "127.0.0.2")
            .mx_at(DOMAIN, 10, "mx2.d.test", "127.0.0.3")
    };
    check_rows(vec![
        Row::new(
            "the first peer down, the second up",
            peers(),
            Available("mx2.d.test"),
        )
        .host("127.0.0.2", down())
        .host("127.0.0.3", up()),
        Row::new(
            "the first peer up, the second down",
            peers(),
            Available("mx1.d.test"),
        )
        .host("127.0.0.2", up())
        .host("127.0.0.3", down()),
        Row::new("both peers down", peers(), NoneAvailable)
            .host("127.0.0.2", down())
            .host("127.0.0.3", down()),
    ]);
}

#[test]
fn no_mx_record_means_the_domain_itself_and_a_null_mx_means_none() {
    let implicit = || Zone::new().a(DOMAIN, "127.0.0.2");
    check_rows(vec![
        Row::new("implicit MX, up", implicit(), Available(DOMAIN))
            .host("127.0.0.2", up())
            .asked("udp MX d.test"),
        Row::new("implicit MX, down", implicit(), NoneAvailable).host("127.0.0.2", down()),
        // The domain's own address greets: a null MX must not fall back to
        // the implicit MX.
        Row::new("null MX", implicit().mx(DOMAIN, 0, "."), NoneAvailable).host("127.0.0.2", up()),
    ]);
}

#[test]
fn a_cname_is_followed_and_a_truncated_answer_is_asked_again_over_tcp() {
    let alias = || two_mx().cname("alias.test", DOMAIN);
    check_rows(vec![
        Row::new("CNAME to the MX set", alias(), Available("mx1.d.test"))
            .host("127.0.0.2", up())
            .host("127.0.0.3", up())
            .args(&["--mx", "alias.test"])
            .asked("udp MX alias.test"),
        Row::new("CNAME, MX 10 down", alias(), Available("mx2.d.test"))
            .host("127.0.0.2", down())
            .host("127.0.0.3", up())
            .args(&["--mx", "alias.test"]),
        Row::new(
            "truncated over UDP",
            two_mx().behave(DOMAIN, Behaviour::Truncated),
            Available("mx1.d.test"),
        )
        .host("127.0.0.2", up())
        .host("127.0.0.3", up())
        .asked("udp MX d.test")
        .asked("tcp MX d.test"),
        Row::new(
            "truncated over UDP, MX 10 down",
            two_mx().behave(DOMAIN, Behaviour::Truncated),
            Available("mx2.d.test"),
        )
        .host("127.0.0.2", down())
        .host("127.0.0.3", up())
        .asked("tcp MX d.test"),
    ]);
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

#[test]
fn json_names_the_domain_and_its_mx_hosts_in_order() {
    let Some(servers) = same_port_or_skip(vec![("127.0.0.3", up())]) else {
        return;
    };
    let Some(dns) = DnsServer::start_or_skip(two_mx()) else {
        return;
    };
    let port = servers[0].port().to_string();
    let args = [
        "--no-cache",
        "--port",
        &port,
        "--timeout",
        "2",
        "--json",
        "--mx",
        DOMAIN,
    ];
    let Some(run) = smtpdcheck(&dns.resolv_conf(QUICK_RESOLVER), &args) else {
        return;
    };
    // MX 10 (127.0.0.2) is down, MX 20 (127.0.0.3) is up.
    assert_eq!(run.status, Some(1), "{run:#?}");
    let document = support::json::json_document(&run);
    support::json::assert_smtpdcheck_schema(&document);
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
    let args = ["--no-cache", "--timeout", "2", "--json", "--mx", DOMAIN];
    let Some(run) = smtpdcheck(&dns.resolv_conf(QUICK_RESOLVER), &args) else {
        return;
    };
    assert_eq!(run.status, Some(0), "{run:#?}");
    let document = support::json::json_document(&run);
    support::json::assert_smtpdcheck_schema(&document);
    assert_eq!(document["mx"]["null_mx"], true, "{document}");
    assert_eq!(document["servers"].as_array().map(Vec::len), Some(0));
}
