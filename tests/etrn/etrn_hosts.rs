//! `--etrn-hosts`: the groups of ETRN_HOSTS (from the environment or the
//! defaults file), run concurrently, retried, and summed up in one exit
//! status.

use std::net::SocketAddr;
use std::thread;
use std::time::Duration;

use crate::support::*;
use crate::*;

/// Runs `etrn --etrn-hosts --timeout 3 EXTRA` against servers on the port
/// of `server` (the 127.0.0.1 one, which is also the local MTA).
fn etrn_hosts_run(server: &TestServer, extra: &[&str], env: &[(&str, &str)]) -> Run {
    let args = [&["--etrn-hosts", "--timeout", "3"], extra].concat();
    etrn_with_local(server, server, &args, env)
}

/// `etrn --etrn-hosts` with ETRN_HOSTS set to `hosts`.
fn with_hosts(server: &TestServer, extra: &[&str], hosts: &str) -> Run {
    etrn_hosts_run(server, extra, &[("ETRN_HOSTS", hosts)])
}

/// `etrn --etrn-hosts --defaults FILE` with `text` in FILE (`None`: no
/// such file), and FILE. (The harness never passes on the test runner's
/// own ETRN_HOSTS, which would win over the file.)
fn with_defaults_file(test: &str, server: &TestServer, text: Option<&str>) -> (Run, String) {
    let dir = TempDir::new(test);
    let defaults = match text {
        Some(text) => dir.file("smtpbox", text),
        None => dir.join("no-such-file"),
    };
    let defaults = path_arg(&defaults).to_owned();
    let run = etrn_hosts_run(server, &["--defaults", &defaults], &[]);
    (run, defaults)
}

/// Two accepting servers on one port: 127.0.0.1 (also the local MTA) and `other`.
fn two_accepting_servers(other: &str) -> Vec<TestServer> {
    let accepting = etrn_script(&[("ETRN", "250 Queuing started")]);
    TestServer::start_same_port(vec![("127.0.0.1", accepting.clone()), (other, accepting)])
}

#[test]
fn etrn_hosts_done_when_defaults_file_groups_are_all_served() {
    let servers = two_accepting_servers("127.0.0.3");
    let text = "# /etc/default/smtpbox\nexport ETRN_HOSTS\nETRN_HOSTS=\"127.0.0.1:e.test,f.test 127.0.0.3:g.test\"\n";
    let (run, _) = with_defaults_file("etrn_hosts_done_when", &servers[0], Some(text));
    assert_status(&run, 0);
    assert_eq!(run.stdout, "", "{run:#?}");
    assert_eq!(servers[0].etrn_lines(), ["ETRN e.test", "ETRN f.test"]);
    assert_eq!(servers[1].etrn_lines(), ["ETRN g.test"]);
    assert_eq!(
        run.stderr.lines().count(),
        2,
        "one line per group: {run:#?}"
    );
    assert_stderr_line(&run, &all_accepted("127.0.0.1", 2));
    assert_stderr_line(&run, &all_accepted("127.0.0.3", 1));
}

#[test]
fn etrn_hosts_unset_in_defaults_file_is_a_no_op() {
    let server = accepting_server();
    let text = Some("# nothing here\nOTHER=1\n");
    let (run, _) = with_defaults_file("etrn_hosts_unset_in_defaults_file", &server, text);
    assert_status(&run, 0);
    assert!(run.stderr.contains("ETRN_HOSTS"), "{run:#?}");
    assert_never_connected(&server);
}

/// A defaults file etrn cannot use (`None`: missing) is a usage error
/// naming it, and nothing is asked; the run.
fn defaults_file_is_a_usage_error(test: &str, text: Option<&str>) -> Run {
    let server = accepting_server();
    let (run, defaults) = with_defaults_file(test, &server, text);
    assert_usage(&run);
    assert!(run.stderr.contains(&defaults), "{run:#?}");
    assert_never_connected(&server);
    run
}

#[test]
fn etrn_hosts_unsupported_shell_construct_in_defaults_is_exit_2_naming_file_and_line() {
    let test = "etrn_hosts_unsupported_shell_construct";
    let text = Some("# comment\nETRN_HOSTS=$(cat x)\n");
    let run = defaults_file_is_a_usage_error(test, text);
    assert!(run.stderr.contains("line 2"), "{run:#?}");
}

#[test]
fn etrn_hosts_missing_defaults_file_is_exit_2() {
    defaults_file_is_a_usage_error("etrn_hosts_missing_defaults_file", None);
}

#[test]
fn etrn_hosts_environment_wins_over_defaults_file() {
    let server = accepting_server();
    let dir = TempDir::new("etrn-hosts-env");
    let defaults = dir.file("smtpbox", "ETRN_HOSTS='127.0.0.1:file.test'\n");
    let run = with_hosts(
        &server,
        &["--defaults", path_arg(&defaults)],
        "127.0.0.1:env.test",
    );
    assert_status(&run, 0);
    assert_eq!(server.etrn_lines(), ["ETRN env.test"]);
}

#[test]
fn etrn_hosts_retries_a_server_that_is_not_ready_at_first() {
    let accepting = etrn_script(&[("ETRN", "250 Queuing started")]);
    let not_ready = [&[Step::NotReadyFor(1)], &accepting[..]].concat();
    let servers = TestServer::start_same_port(vec![
        ("127.0.0.1", accepting.clone()),
        ("127.0.0.3", accepting),
        ("127.0.0.4", not_ready),
    ]);
    let hosts = "127.0.0.1:a.test 127.0.0.3:b.test 127.0.0.4:c.test";
    let run = with_hosts(&servers[0], &["--retry-for", "20"], hosts);
    assert_status(&run, 0);
    assert!(run.elapsed < Duration::from_secs(20), "{run:#?}");
    assert_eq!(servers[0].etrn_lines(), ["ETRN a.test"]);
    assert_eq!(servers[1].etrn_lines(), ["ETRN b.test"]);
    assert_eq!(servers[2].connections(), 2, "{:?}", servers[2].log());
    assert_eq!(servers[2].etrn_lines(), ["ETRN c.test"]);
    assert_stderr_any(&run, |l| l.contains("127.0.0.4") && l.contains("retrying"));
    assert_stderr_line(&run, &all_accepted("127.0.0.4", 1));
}

#[test]
fn etrn_hosts_gives_up_after_retry_for_with_exit_3() {
    // 127.0.0.1 is up (and the local MTA); nothing listens on 127.0.0.5
    // at that port. With --retry-for 1 there is no time for a retry (the
    // first wait is 2 s).
    let server = accepting_server();
    let run = with_hosts(
        &server,
        &["--retry-for", "1"],
        "127.0.0.1:a.test 127.0.0.5:b.test",
    );
    assert_status(&run, 3);
    assert!(run.elapsed < Duration::from_secs(5), "{run:#?}");
    assert_eq!(server.etrn_lines(), ["ETRN a.test"]);
    assert_stderr_any(&run, |l| l.contains("127.0.0.5"));
}

#[test]
fn etrn_hosts_empty_is_a_no_op_with_a_message() {
    let server = accepting_server();
    let run = with_hosts(&server, &[], "");
    assert_status(&run, 0);
    assert!(run.stderr.contains("ETRN_HOSTS"), "{run:#?}");
    assert!(run.stderr.contains("empty"), "{run:#?}");
    assert_never_connected(&server);
    let run = with_hosts(&server, &[], " \t ");
    assert_status(&run, 0);
    assert_never_connected(&server);
}

#[test]
fn etrn_hosts_malformed_group_is_reported_and_skipped_exit_2() {
    let server = accepting_server();
    let run = with_hosts(&server, &[], "127.0.0.1:h.test bad.test:a,,b");
    assert_status(&run, 2);
    assert_eq!(server.etrn_lines(), ["ETRN h.test"]);
    assert_stderr_any(&run, |l| {
        l.contains("malformed") && l.contains("bad.test:a,,b")
    });
    assert_stderr_line(&run, &all_accepted("127.0.0.1", 1));
}

#[test]
fn etrn_hosts_refusal_exits_1_with_a_summary_naming_the_client() {
    let server = etrn_server(&[
        ("ETRN b.test", "459 <b.test>: node not allowed"),
        ("ETRN", "250 Queuing started"),
    ]);
    let run = with_hosts(&server, &["--retry-for", "1"], "127.0.0.1:a.test,b.test");
    assert_status(&run, 1);
    assert_eq!(server.etrn_lines(), ["ETRN a.test", "ETRN b.test"]);
    let summary = "etrn: 127.0.0.1: 1 of 2 ETRN accepted (b.test: 459 <b.test>: node not allowed)";
    assert_stderr_line(&run, summary);
}

#[test]
fn etrn_hosts_group_without_clients_uses_discovery() {
    let dir = TempDir::new("etrn-hosts-discovery");
    let cf = dir.file("sendmail.cf", "Cwlocalhost c0.test\n");
    let server = accepting_server();
    let run = with_hosts(&server, &["--sendmail-cf", path_arg(&cf)], "127.0.0.1");
    assert_status(&run, 0);
    assert_eq!(server.etrn_lines(), ["ETRN client.test", "ETRN c0.test"]);
}

#[test]
fn etrn_hosts_groups_run_concurrently() {
    // Each server takes 2 s to answer ETRN; one after the other would take
    // 4 s or more.
    let slow = vec![
        line("220 mx.test ESMTP"),
        reply("EHLO", EHLO_ETRN),
        expect("ETRN"),
        Step::Sleep(Duration::from_secs(2)),
        line("250 Queuing started"),
        serve(&[]),
    ];
    let servers = TestServer::start_same_port(vec![
        ("127.0.0.1", slow.clone()),
        ("127.0.0.3", slow.clone()),
        ("127.0.0.4", slow),
    ]);
    let hosts = "127.0.0.1:a.test 127.0.0.3:b.test 127.0.0.4:c.test";
    let run = with_hosts(&servers[0], &[], hosts);
    assert_status(&run, 0);
    assert!(run.elapsed < Duration::from_millis(3900), "{run:#?}");
    assert_eq!(servers[0].etrn_lines(), ["ETRN a.test"]);
    assert_eq!(servers[1].etrn_lines(), ["ETRN b.test"]);
    assert_eq!(servers[2].etrn_lines(), ["ETRN c.test"]);
}

#[test]
fn etrn_hosts_exit_status_is_the_worst_group() {
    // 127.0.0.1 refuses (1), 127.0.0.6 is unreachable (3), one group is
    // malformed (2): the result is 3.
    let server = etrn_server(&[("ETRN", "459 <a.test>: node not allowed")]);
    let hosts = "127.0.0.1:a.test 127.0.0.6:b.test x:";
    let run = with_hosts(&server, &["--retry-for", "1"], hosts);
    assert_status(&run, 3);
    assert_eq!(server.etrn_lines(), ["ETRN a.test"]);
    assert_eq!(run.stderr.lines().count(), 3, "{run:#?}");
}

#[test]
fn etrn_hosts_with_only_malformed_groups_exits_2_without_connecting() {
    let server = accepting_server();
    let run = with_hosts(&server, &[], "x: :y a\u{1}b");
    assert_status(&run, 2);
    assert_eq!(run.stderr.lines().count(), 3, "{run:#?}");
    assert!(!run.stderr.contains('\u{1}'), "{run:#?}");
    assert_never_connected(&server);
}

#[test]
fn etrn_hosts_discovery_failure_skips_only_the_groups_that_need_it() {
    let dir = TempDir::new("etrn-hosts-no-cf");
    let cf = dir.join("missing-sendmail.cf");
    let servers = two_accepting_servers("127.0.0.3");
    let args = ["--sendmail-cf", path_arg(&cf)];
    let run = with_hosts(&servers[0], &args, "127.0.0.3 127.0.0.1:a.test");
    assert_status(&run, 2);
    assert!(run.stderr.contains(path_arg(&cf)), "{run:#?}");
    assert_eq!(servers[0].etrn_lines(), ["ETRN a.test"]);
    assert_never_connected(&servers[1]);
}

#[test]
fn etrn_hosts_retries_a_group_refused_with_4xx_until_accepted() {
    let refusal = "458 Unable to queue messages for node b.test";
    let mut servers = TestServer::start_same_port(vec![
        ("127.0.0.1", etrn_script(&[("ETRN", "250 Queuing started")])),
        ("127.0.0.3", etrn_script(&[("ETRN", refusal)])),
    ])
    .into_iter();
    let (local, refusing) = (servers.next().expect("local"), servers.next().expect("4xx"));
    let accepting_addr = SocketAddr::from(([127, 0, 0, 3], local.port()));
    // Once the first session with the refusing server is over, replace it
    // by one that accepts (the retry comes 2 s later).
    let swap = thread::spawn(move || {
        assert!(refusing.wait_connections(1, Duration::from_secs(10)));
        assert!(refusing.wait_idle(IDLE));
        let first = refusing.received();
        drop(refusing);
        let accepting = etrn_script(&[("ETRN", "250 Queuing started")]);
        (first, TestServer::start_on(accepting_addr, accepting))
    });
    let run = with_hosts(
        &local,
        &["--retry-for", "20"],
        "127.0.0.1:a.test 127.0.0.3:b.test",
    );
    let (first, accepting) = swap.join().expect("swap thread");
    assert_status(&run, 0);
    assert!(run.elapsed < Duration::from_secs(10), "{run:#?}");
    assert_eq!(first, ["EHLO client.test", "ETRN b.test", "QUIT"]);
    assert_eq!(accepting.etrn_lines(), ["ETRN b.test"]);
    assert_eq!(local.etrn_lines(), ["ETRN a.test"]);
    let retrying = |l: &str| l.contains("127.0.0.3") && l.contains("458");
    assert_stderr_any(&run, |l| retrying(l) && l.contains("retrying in 2s"));
    assert_stderr_line(&run, &all_accepted("127.0.0.3", 1));
}

#[test]
fn etrn_hosts_does_not_retry_a_5xx_refusal() {
    let server = etrn_server(&[("ETRN", "501 5.5.4 Syntax error")]);
    let run = with_hosts(&server, &["--retry-for", "20"], "127.0.0.1:a.test");
    assert_status(&run, 1);
    assert!(run.elapsed < Duration::from_secs(2), "{run:#?}");
    // The local-MTA check, then one session.
    assert_eq!(server.connections(), 2, "{:?}", server.log());
    assert_eq!(server.etrn_lines(), ["ETRN a.test"]);
    assert!(!run.stderr.contains("retrying"), "{run:#?}");
}

#[test]
fn etrn_hosts_bracketed_ipv6_group() {
    if !ipv6_loopback_available() {
        skip("bind [::1]");
        return;
    }
    let servers = two_accepting_servers("::1");
    let run = with_hosts(&servers[0], &[], "[::1]:a.test,b.test");
    assert_status(&run, 0);
    assert_eq!(servers[1].etrn_lines(), ["ETRN a.test", "ETRN b.test"]);
    assert!(servers[0].etrn_lines().is_empty());
    assert_stderr_line(&run, &all_accepted("[::1]", 2));
}

#[test]
fn etrn_hosts_json_lists_every_group_in_order() {
    // 127.0.0.1 accepts, 127.0.0.6 is unreachable: exit 3, both listed.
    let server = accepting_server();
    let hosts = "127.0.0.1:a.test 127.0.0.6:b.test";
    let run = with_hosts(&server, &["--retry-for", "1", "--json"], hosts);
    assert_status(&run, 3);
    let document = crate::support::json::json_document(&run);
    crate::support::json::assert_etrn_schema(&document);
    let servers = &document["servers"];
    assert_eq!(servers[0]["server"], "127.0.0.1", "{document}");
    assert_eq!(servers[0]["clients"][0]["result"], "accepted", "{document}");
    assert_eq!(servers[1]["server"], "127.0.0.6", "{document}");
    assert_eq!(servers[1]["outcome"], "unreachable", "{document}");
    assert_eq!(servers[1]["exit_status"], 3, "{document}");
}
