//! Client names discovered from sendmail.cf (no client hosts given, `-b`
//! implied), and `-b`: waiting for the local MTA before asking.

use std::path::Path;
use std::time::Duration;

use crate::support::*;
use crate::*;

/// `etrn --sendmail-cf CF [--timeout 3] 127.0.0.1` with one server as both
/// the local MTA (for the implied `-b`) and the server asked.
fn discover(server: &TestServer, cf: &Path, timeout: bool) -> Run {
    let mut args = vec!["--sendmail-cf", path_arg(cf)];
    if timeout {
        args.extend(["--timeout", "3"]);
    }
    args.push("127.0.0.1");
    etrn_with_local(server, server, &args, &[])
}

#[test]
fn discovery_from_sendmail_cf_asks_every_accepted_name_in_order() {
    let dir = TempDir::new("etrn-discovery");
    let lhn = dir.file(
        "local-host-names",
        "c1.test\n# a comment\nlocalhost\nc2.test # trailing comment\n",
    );
    let cf = dir.file(
        "sendmail.cf",
        &format!(
            "# sendmail.cf excerpt\nCwlocalhost c0.test\nFw-o {} %[^\\#]\nFw-o /nonexistent/smtpbox-test/names\nCmlocal\n",
            lhn.display()
        ),
    );
    let server = accepting_server();
    let run = discover(&server, &cf, true);
    assert_status(&run, 0);
    assert_eq!(run.stderr, "", "{run:#?}");
    assert_eq!(
        server.etrn_lines(),
        [
            "ETRN client.test",
            "ETRN c0.test",
            "ETRN c1.test",
            "ETRN c2.test"
        ]
    );
    // The implied -b connected first (greeting, QUIT), then the session.
    assert_eq!(server.connections(), 2, "{:?}", server.log());
    assert_eq!(server.received_on(1), ["QUIT"], "{:?}", server.log());
}

/// Discovery that cannot read `cf` or a file it names is a usage error
/// naming `unreadable`, and nothing is asked.
fn discovery_is_a_usage_error_naming(cf: &Path, unreadable: &Path) {
    let server = accepting_server();
    let run = discover(&server, cf, false);
    assert_usage(&run);
    assert!(run.stderr.contains(path_arg(unreadable)), "{run:#?}");
    assert_never_connected(&server);
}

#[test]
fn discovery_with_missing_sendmail_cf_is_a_usage_error_naming_it() {
    let dir = TempDir::new("etrn-no-cf");
    let cf = dir.join("missing-sendmail.cf");
    discovery_is_a_usage_error_naming(&cf, &cf);
}

#[test]
fn discovery_with_missing_mandatory_class_file_is_a_usage_error() {
    let dir = TempDir::new("etrn-no-fw");
    let missing = dir.join("missing-names");
    let cf = dir.file(
        "sendmail.cf",
        &format!("Cwc0.test\nFw{}\n", missing.display()),
    );
    discovery_is_a_usage_error_naming(&cf, &missing);
}

/// How long `-b` waits before its second attempt on the local MTA.
const FIRST_LOCAL_MTA_RETRY: Duration = Duration::from_secs(1);

#[test]
fn boot_waits_for_a_local_mta_that_is_not_ready_at_first() {
    let target = accepting_server();
    let greeting = line("220 local.test ESMTP");
    let local = script_server(vec![Step::NotReadyFor(1), greeting, serve(&[])]);
    let args = ["-b", "--timeout", "2", "127.0.0.1", "a.test"];
    let run = etrn_with_local(&target, &local, &args, &[]);
    assert_status(&run, 0);
    assert!(run.elapsed >= FIRST_LOCAL_MTA_RETRY, "{run:#?}");
    assert!(run.elapsed < Duration::from_secs(10), "{run:#?}");
    assert_eq!(target.etrn_lines(), ["ETRN a.test"]);
    // Reset once, then greeted: etrn says QUIT, and only then asks.
    assert_eq!(local.connections(), 2, "{:?}", local.log());
    assert_eq!(local.received_when_idle(), ["QUIT"]);
    let quit = local.lines()[0].at;
    let etrn = target.lines().into_iter().find(Line::is_etrn);
    assert!(etrn.is_some_and(|l| l.at > quit), "{:?}", target.log());
}

#[test]
fn boot_with_local_mta_up_goes_straight_on() {
    let target = accepting_server();
    let local = TestServer::start("127.0.0.1:0", vec![line("220 local.test"), serve(&[])]);
    let run = etrn_with_local(&target, &local, &["-b", "127.0.0.1", "a.test"], &[]);
    assert_status(&run, 0);
    assert!(run.elapsed < Duration::from_secs(3), "{run:#?}");
    assert_eq!(local.received_when_idle(), ["QUIT"]);
    assert_eq!(target.etrn_lines(), ["ETRN a.test"]);
}

// The give-up path of -b (nothing ever listening) takes about 30 s of
// retries (1+2+4+8+15 s); it is deliberately not tested here.
