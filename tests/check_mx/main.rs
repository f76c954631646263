//! Integration tests of the `check_mx` applet: the built binary against
//! scripted SMTP servers on loopback (127.0.0.0/8, [::1]) with
//! certificates made here by rcgen, and against the scripted DNS server
//! in a private mount namespace for the MX lookups.
//!
//! Contract (see check_mx(1)): exit 0 OK, 1 WARNING, 2 CRITICAL, 3
//! UNKNOWN; the first line `MX STATUS - summary | perfdata` names what is
//! worst first, its performance data in the guidelines' grammar (every run
//! here is parsed back by `smtpbox::check_mx::perfdata::parse`); then one
//! line per host and address.
//!
//! No test causes a DNS query outside the namespace: hosts are IP
//! literals and `--helo client.test` is given; the DNS rows run with a
//! resolv.conf naming only the scripted server.

#[path = "../support/mod.rs"]
#[macro_use]
mod support;

mod dane;
mod dialogue;
mod dns;
mod json;
mod mta_sts;
mod prometheus;
mod tls;
mod usage;

use std::time::Duration;

use support::*;

/// The `--timeout` of a run unless the row says otherwise, in seconds.
const TIMEOUT: &str = "5";

/// `smtpbox check_mx --helo client.test ARGS`.
fn check_mx(args: &[&str]) -> Run {
    let args = [&["--helo", "client.test"], args].concat();
    run_applet_with("check_mx", &args, &[("JOURNAL_STREAM", "")], true)
}

/// `check_mx --port PORT -H 127.0.0.1 ARGS` against `target`, with
/// `-t TIMEOUT` unless `args` has a `-t`.
fn check_local(target: &impl Target, args: &[&str]) -> Run {
    let port = target.port().to_string();
    let mut base = vec!["--port", port.as_str(), "-H", "127.0.0.1"];
    if !args.contains(&"-t") {
        base.extend(["-t", TIMEOUT]);
    }
    check_mx(&[&base[..], args].concat())
}

/// Reads a run's stdout as plugin output; fails the test when it breaks
/// the contract.
fn plugin(run: &Run) -> Plugin {
    assert!(!run.stderr.contains("panicked"), "{run:#?}");
    assert!(!run.timed_out, "killed by the harness: {run:#?}");
    Plugin::read(&run.stdout).unwrap_or_else(|error| panic!("{error}: {run:#?}"))
}

/// The exit status, the status word that goes with it, and a summary that
/// starts with `summary`; the parsed output for further checks.
fn assert_plugin(run: &Run, status: i32, summary: &str) -> Plugin {
    let output = plugin(run);
    assert_eq!(run.status, Some(status), "{run:#?}");
    assert_eq!(output.status, PLUGIN_STATUSES[status as usize], "{run:#?}");
    assert!(
        output.summary.starts_with(summary),
        "summary should start with {summary:?}: {run:#?}"
    );
    output
}

/// A CA file with `pki`'s CA, in `dir`.
fn ca_file(dir: &TempDir, pki: &Pki) -> String {
    dir.file("ca.pem", &pki.ca_pem).display().to_string()
}

/// A STARTTLS server on 127.0.0.1 whose certificate is `leaf` for `san`,
/// and its CA's file in `dir` (for `--ca-file`).
fn tls_server(san: &str, leaf: Leaf, dir: &TempDir) -> (TestServer, String) {
    let pki = Pki::with_leaf(san, leaf);
    let ca = ca_file(dir, &pki);
    (TestServer::starttls(StartTls::Handshake(pki)), ca)
}

/// A run must end within its timeout and a margin for a loaded machine.
fn assert_within(run: &Run, limit: Duration) {
    assert!(run.elapsed < limit, "took {:?}: {run:#?}", run.elapsed);
}
