//! Several servers: parallel probes and list order, the `--stop` rule
//! (this host and everything after it never count), names that cannot be
//! resolved, and how the answer is printed (IPv6, prio).

use std::time::Duration;

use crate::support::*;
use crate::*;

/// Servers on one port at 127.0.0.x, then `smtpdcheck --timeout 1 ARGS`
/// against that port: the verdict, then each check on the servers and the
/// run. Skipped where those addresses cannot be bound.
macro_rules! server_lists {
    ($($(#[$doc:meta])* $name:ident: [$(($ip:literal, $script:expr)),* $(,)?], $args:expr
        => $verdict:expr $(, $check:expr)*;)*) => {$(
        $(#[$doc])*
        #[test]
        fn $name() {
            let Some(servers) = same_port_or_skip(vec![$(($ip, $script)),*]) else {
                return;
            };
            let run = check_at(&servers[0], &[&["--timeout", "1"], &$args[..]].concat());
            ($verdict)(&run);
            $( ($check)(&servers[..], &run); )*
        }
    )*};
}

/// The servers at these indices saw exactly `count` connections each (the
/// stop server and everything after it: none).
fn connected(count: usize, indices: &'static [usize]) -> impl Fn(&[TestServer], &Run) {
    move |servers, run| {
        for &i in indices {
            let seen = servers[i].connections();
            assert_eq!(seen, count, "connections of server {i}: {run:?}");
        }
    }
}

fn greets(text: &str) -> Vec<Step> {
    vec![line(text)]
}

server_lists! {
    two_silent_servers_then_an_up_one_are_probed_in_parallel:
        [("127.0.0.2", vec![]), ("127.0.0.3", vec![]), ("127.0.0.4", greets("220 ok"))],
        ["10:127.0.0.2", "10:127.0.0.3", "20:127.0.0.4"]
        => up_as("127.0.0.4"), took(900..1600), connected(1, &[0, 1, 2]);
    first_up_server_in_the_list_answers_at_once:
        [("127.0.0.2", greets("220 first")), ("127.0.0.3", vec![])],
        ["127.0.0.2", "127.0.0.3"] => up_as("127.0.0.2"), took(0..500);
    up_server_after_a_silent_one_waits_for_its_timeout:
        [("127.0.0.2", vec![]), ("127.0.0.3", greets("220 second"))],
        ["127.0.0.2", "127.0.0.3"] => up_as("127.0.0.3"), took(900..1600);
    up_server_after_a_down_one_is_reported:
        [("127.0.0.2", greets("554 no")), ("127.0.0.3", greets("220 yes"))],
        ["10:127.0.0.2", "20:127.0.0.3"] => up_as("127.0.0.3"), took(0..900);
    every_server_down_is_exit_0:
        [
            ("127.0.0.2", greets("554 no")),
            ("127.0.0.3", vec![Step::Close]),
            ("127.0.0.4", greets("421 later")),
        ],
        ["127.0.0.2", "127.0.0.3", "127.0.0.4"] => down, connected(1, &[0, 1, 2]);

    /// The stop server (this host) and a server after it: never contacted.
    stop_server_is_never_contacted_when_the_others_are_down:
        [
            ("127.0.0.2", greets("554 no")),
            ("127.0.0.3", greets("220 me")),
            ("127.0.0.4", greets("220 after")),
        ],
        ["--stop", "127.0.0.3", "10:127.0.0.2", "20:127.0.0.3", "30:127.0.0.4"]
        => down, connected(1, &[0]), connected(0, &[1, 2]);
    /// Nothing listens on 127.0.0.2 at the port: refused.
    stop_with_refused_server_before_it:
        [("127.0.0.3", greets("220 me"))],
        ["--stop", "127.0.0.3", "10:127.0.0.2", "20:127.0.0.3"]
        => down, connected(0, &[0]);
    stop_absent_from_the_list_checks_every_server:
        [("127.0.0.2", greets("554 no")), ("127.0.0.3", greets("220 yes"))],
        ["--stop", "127.0.0.9", "10:127.0.0.2", "20:127.0.0.3"] => up_as("127.0.0.3");

    /// `-v`: one stderr line per server probed, with the reply of a down one.
    verbose_prints_one_line_per_server:
        [("127.0.0.2", greets("554 no")), ("127.0.0.3", greets("220 yes"))],
        ["-v", "10:127.0.0.2", "20:127.0.0.3"] => up_as("127.0.0.3"),
        |_: &[TestServer], run: &Run| {
            let lines: Vec<&str> = run.stderr.lines().collect();
            assert_eq!(lines.len(), 2, "{run:?}");
            assert!(lines[0].contains("127.0.0.2"), "{run:?}");
            assert!(lines[0].contains("down"), "{run:?}");
            assert!(lines[0].contains("554"), "the reply is shown: {run:?}");
            assert!(lines[1].contains("127.0.0.3"), "{run:?}");
            assert!(lines[1].contains("up"), "{run:?}");
            assert!(!lines[1].contains("down"), "{run:?}");
        };
}

/// The `--stop` rule with C at 127.0.0.2 (greeting as given) and B, this
/// host, at 127.0.0.3: `smtpdcheck --timeout 1 --stop STOP SERVERS` gives
/// the verdict, and B is never contacted.
macro_rules! stop_rules {
    ($($(#[$doc:meta])* $name:ident: $c:literal, $stop:literal, [$($server:literal),*]
        => $verdict:expr;)*) => {$(
        $(#[$doc])*
        #[test]
        fn $name() {
            let c_and_b = vec![("127.0.0.2", greets($c)), ("127.0.0.3", greets("220 B"))];
            let Some(servers) = same_port_or_skip(c_and_b) else {
                return;
            };
            let run = check_at(&servers[0], &["--timeout", "1", "--stop", $stop, $($server),*]);
            ($verdict)(&run);
            assert_eq!(servers[1].connections(), 0, "the stop server is not probed");
        }
    )*};
}

stop_rules! {
    /// --stop B 10:C 20:B with C up: C.
    stop_lower_prio_server_before_it_counts:
        "220 C", "127.0.0.3", ["10:127.0.0.2", "20:127.0.0.3"] => up_as("127.0.0.2");
    /// --stop B 10:C 10:B: C is B's peer, so nothing counts.
    stop_same_prio_peer_does_not_count:
        "220 C", "127.0.0.3", ["10:127.0.0.2", "10:127.0.0.3"] => down;
    /// --stop 127.0.0.3 against the server written [127.0.0.3]: the same
    /// address, so C (same prio) is its peer and nothing counts.
    stop_matches_a_bracketed_literal_by_address:
        "220 C", "127.0.0.3", ["10:127.0.0.2", "10:[127.0.0.3]"] => down;
    stop_given_bracketed_matches_a_bare_literal:
        "554 no", "[127.0.0.3]", ["10:127.0.0.2", "20:127.0.0.3"] => down;
    stop_by_the_same_literal_text:
        "220 C", "[127.0.0.3]", ["10:127.0.0.2", "20:[127.0.0.3]"] => up_as("127.0.0.2");
    stop_ipv4_mapped_address_matches_the_ipv4_server:
        "554 no", "::ffff:127.0.0.3", ["10:127.0.0.2", "20:127.0.0.3"] => down;
}

#[test]
fn stop_ipv6_literal_matches_bracketed_server() {
    let Some(stop_server) = ipv6_server(vec![line("220 me")]) else {
        return;
    };
    // 127.0.0.1 on that port: refused (nothing listens there), so down.
    let stop = ["--timeout", "1", "--stop", "::1"];
    down(&check_at(
        &stop_server,
        &[&stop[..], &["10:127.0.0.1", "20:[::1]"]].concat(),
    ));
    assert_eq!(stop_server.connections(), 0);
}

/// `--stop NAME` that cannot be resolved is a usage error naming --stop,
/// with these servers listed after it.
fn unresolvable_stop(listed: &[&str]) -> Run {
    let server = greeting_server("220 ok");
    let stop = unresolvable_name();
    let args = [&["--timeout", "1", "--stop", &stop], listed].concat();
    let run = check_at(&server, &args);
    usage_error_one_line(&run);
    assert!(run.stderr.contains("--stop"), "{run:?}");
    run
}

#[test]
fn stop_name_that_cannot_be_resolved_is_exit_2() {
    let run = unresolvable_stop(&["10:127.0.0.1"]);
    assert!(run.elapsed < Duration::from_millis(900), "{run:?}");
}

#[test]
fn stop_name_that_cannot_be_resolved_is_exit_2_even_when_listed() {
    unresolvable_stop(&[&format!("10:{}", unresolvable_name()), "20:127.0.0.1"]);
}

#[test]
fn server_name_that_cannot_be_resolved_is_down() {
    let server = greeting_server("220 ok");
    let name = unresolvable_name();
    let first = format!("10:{name}");
    assert_up(
        &check_at(&server, &["--timeout", "1", &first, "20:127.0.0.1"]),
        "127.0.0.1",
    );
    down(&check_at(&server, &["--timeout", "1", &name]));
}

/// A server greeting 220 (`None`: skipped), given to smtpdcheck as
/// `given`: it is reported as `printed`.
macro_rules! printed_as {
    ($($name:ident: $server:expr, $given:literal => $printed:literal;)*) => {$(
        #[test]
        fn $name() {
            let Some(server) = $server else {
                return;
            };
            assert_up(&check_at(&server, &["--timeout", "1", $given]), $printed);
        }
    )*};
}

printed_as! {
    ipv6_bracketed_server_is_printed_as_given: ipv6_server(greets("220 v6")), "[::1]" => "[::1]";
    ipv6_bracketed_server_with_prio_is_printed_without_it:
        ipv6_server(greets("220 v6")), "10:[::1]" => "[::1]";
    ipv6_bare_server_is_printed_as_given: ipv6_server(greets("220 v6")), "::1" => "::1";
    prio_is_not_printed: Some(greeting_server("220 ok")), "10:127.0.0.1" => "127.0.0.1";
    bracketed_ipv4_is_printed_as_given:
        Some(greeting_server("220 ok")), "5:[127.0.0.1]" => "[127.0.0.1]";
}
