//! Usage errors: exit 2, a message on stderr, and no connection at all.

use crate::support::*;
use crate::*;

/// Runs `etrn ARGS` for each `(what, ARGS)` against an accepting server:
/// each is a usage error whose message names `what`; nothing connects.
fn usage_errors_naming(cases: &[(&str, Vec<&str>)]) {
    let server = accepting_server();
    for (what, args) in cases {
        let run = etrn_to(&server, args);
        assert_usage(&run);
        assert!(run.stderr.contains(what), "{args:?}: {run:#?}");
    }
    assert_never_connected(&server);
}

#[test]
fn crlf_in_client_argument_is_a_usage_error_and_nothing_is_sent() {
    let server = accepting_server();
    let run = etrn_to(&server, &["127.0.0.1", "a.test\r\nQUIT"]);
    assert_usage(&run);
    assert_never_connected(&server);
    // The message must not carry the raw line break to the terminal.
    assert_eq!(run.stderr.lines().count(), 1, "{run:#?}");
}

#[test]
fn bad_client_arguments_are_usage_errors_and_nothing_is_sent() {
    let (just_too_long, long) = ("a".repeat(256), "a".repeat(300));
    let empty_or_spaced = ["", "a b.test", "a\tb.test"];
    let bare_or_doubled_prefix = ["@", "#", "@@a.test"];
    let control_or_non_ascii = ["a.test\u{1}", "a.test\u{7f}", "caf\u{e9}.test"];
    let too_long = [just_too_long.as_str(), &long];
    let bad = [
        &empty_or_spaced[..],
        &bare_or_doubled_prefix,
        &control_or_non_ascii,
        &too_long,
    ];
    let clients = bad.concat().into_iter();
    let cases: Vec<_> = clients
        .map(|c| ("client", vec!["127.0.0.1", "ok.test", c]))
        .collect();
    usage_errors_naming(&cases);
}

#[test]
fn bad_server_host_is_a_usage_error_and_nothing_is_sent() {
    let hosts = ["127.0.0.1 a.test", "127.0.0.1\r\n", "", "[127.0.0.1"];
    usage_errors_naming(&hosts.map(|host| ("server", vec![host, "a.test"])));
}

#[test]
fn bad_helo_name_is_a_usage_error_and_nothing_is_sent() {
    // Not through etrn_to: its own --helo would make this a different error.
    let server = accepting_server();
    let args = [
        "--helo",
        "client.test\r\nETRN x.test",
        "127.0.0.1",
        "a.test",
    ];
    let run = run_against("etrn", &server, &args, &[("JOURNAL_STREAM", "")]);
    assert_usage(&run);
    assert_never_connected(&server);
}

#[test]
fn ca_file_without_starttls_require_is_a_usage_error() {
    let dir = TempDir::new("etrn-ca-opt");
    let ca = dir.file("ca.pem", &Pki::new("127.0.0.1").ca_pem);
    let modes: [&[&str]; 3] = [
        &[],
        &["--starttls", "opportunistic"],
        &["--starttls", "off"],
    ];
    let cases = modes.map(|mode| {
        let args = [
            &["--ca-file", path_arg(&ca)],
            mode,
            &["127.0.0.1", "a.test"],
        ];
        ("--ca-file", args.concat())
    });
    usage_errors_naming(&cases);
}

#[test]
fn missing_or_empty_ca_file_with_require_is_a_usage_error_and_nothing_is_sent() {
    let dir = TempDir::new("etrn-ca-missing");
    let missing = dir.join("no-such-ca.pem");
    let empty = dir.file("empty.pem", "not a certificate\n");
    let cases = [&missing, &empty].map(|ca| {
        let ca = path_arg(ca);
        let args = [
            "--starttls",
            "require",
            "--ca-file",
            ca,
            "127.0.0.1",
            "a.test",
        ];
        (ca, args.to_vec())
    });
    usage_errors_naming(&cases);
}

#[test]
fn command_line_errors_exit_2() {
    for args in [
        &["--starttls", "sometimes", "127.0.0.1", "a.test"][..],
        &["--port", "0", "127.0.0.1", "a.test"],
        &["--port", "65536", "127.0.0.1", "a.test"],
        &["--timeout", "-1", "127.0.0.1", "a.test"],
        &["--no-such-option", "127.0.0.1", "a.test"],
        &[],
        &["--etrn-hosts", "127.0.0.1"],
        &["--defaults", "/nonexistent", "127.0.0.1", "a.test"],
    ] {
        let mut all = vec!["--helo", "client.test"];
        all.extend_from_slice(args);
        let run = etrn(&all);
        assert_usage(&run);
    }
}

#[test]
fn help_exits_0_and_documents_exit_statuses() {
    let run = etrn(&["--help"]);
    assert_status(&run, 0);
    assert!(run.stdout.contains("Exit status"), "{run:#?}");
    assert!(run.stdout.contains("--etrn-hosts"), "{run:#?}");
}
