//! SMTP AUTH before ETRN (`--netrc`, `--auth-plaintext`): credentials
//! only from a private netrc file, AUTH only inside verified TLS unless
//! `--auth-plaintext`, the strongest mechanism both sides speak, no ETRN
//! after a failed AUTH, and no secret in `-v`, errors or logs. Against the
//! STARTTLS test server of `support` with [`Auth`] behaviours, and
//! scripted servers without STARTTLS.

use std::fs;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};

use crate::support::*;
use crate::*;

const LOGIN: &str = "etrn-user";
const PASSWORD: &str = "s3cret-Pa55";
/// What a client sends in each mechanism for LOGIN and PASSWORD (base64):
/// PLAIN's `\0etrn-user\0s3cret-Pa55`; LOGIN's two lines; CRAM-MD5's
/// `etrn-user HMAC-MD5(password, challenge)` for the server's fixed
/// challenge.
const PLAIN_RESPONSE: &str = "AGV0cm4tdXNlcgBzM2NyZXQtUGE1NQ==";
const LOGIN_RESPONSES: [&str; 2] = ["ZXRybi11c2Vy", "czNjcmV0LVBhNTU="];
const CRAM_MD5_RESPONSE: &str = "ZXRybi11c2VyIDhhYmVjYjNiNGYxYWFkYWJmN2NiMTdkMmVmNTc3MTdi";

/// A netrc with credentials for 127.0.0.1 (and another server first).
fn netrc_text() -> String {
    format!(
        "# etrn credentials\nmachine mx.other.test login other password other-pass\n\
         machine 127.0.0.1\n\tlogin {LOGIN}\n\tpassword {PASSWORD}\n"
    )
}

/// `text` in the file `netrc` of `dir`, with `mode`.
fn netrc_file(dir: &TempDir, text: &str, mode: u32) -> PathBuf {
    dir.file_with_mode("netrc", text, mode)
}

/// A fresh directory named after `purpose`, holding a private netrc with
/// [`netrc_text`].
fn private_netrc(purpose: &str) -> (TempDir, PathBuf) {
    let dir = TempDir::new(purpose);
    let netrc = netrc_file(&dir, &netrc_text(), 0o600);
    (dir, netrc)
}

/// A STARTTLS server with a certificate for 127.0.0.1 that answers AUTH
/// as `auth` says, and its CA file in `dir`.
fn auth_server(dir: &TempDir, auth: Auth) -> (TestServer, PathBuf) {
    let pki = Pki::new("127.0.0.1");
    let ca = dir.file("ca.pem", &pki.ca_pem);
    let server = TestServer::starttls_with(StartTls::Handshake(pki), Some(auth));
    (server, ca)
}

fn offering(mechanisms: &'static str, outcome: AuthOutcome) -> Auth {
    Auth {
        mechanisms,
        before_tls: true,
        outcome,
    }
}

/// `etrn -v --timeout 3 --netrc NETRC EXTRA 127.0.0.1 a.test`.
fn etrn_auth(server: &impl Target, netrc: &Path, extra: &[&str]) -> Run {
    let options = [&["-v", "--timeout", "3", "--netrc", path_arg(netrc)], extra].concat();
    etrn_a_test(server, &options)
}

/// [`etrn_auth`] with `--ca-file` and a [`private_netrc`], against an
/// [`auth_server`] that answers AUTH as `auth` says.
fn etrn_to_auth_server(purpose: &str, auth: Auth) -> (TestServer, Run) {
    let (dir, netrc) = private_netrc(purpose);
    let (server, ca) = auth_server(&dir, auth);
    let run = etrn_auth(&server, &netrc, &["--ca-file", path_arg(&ca)]);
    (server, run)
}

/// No secret of the netrc in anything etrn printed, and the AUTH lines of
/// `-v` redacted.
fn assert_no_secret(run: &Run) {
    for secret in [
        PASSWORD,
        PLAIN_RESPONSE,
        CRAM_MD5_RESPONSE,
        LOGIN_RESPONSES[1],
    ] {
        assert!(!run.stdout.contains(secret), "{secret} in stdout: {run:#?}");
        assert!(!run.stderr.contains(secret), "{secret} in stderr: {run:#?}");
    }
}

/// The dialogue of a session that authenticated with PLAIN inside TLS.
const PLAIN_OVER_TLS: [&str; 6] = [
    "plain:EHLO client.test",
    "plain:STARTTLS",
    "tls:EHLO client.test",
    "tls:AUTH PLAIN AGV0cm4tdXNlcgBzM2NyZXQtUGE1NQ==",
    "tls:ETRN a.test",
    "tls:QUIT",
];

#[test]
fn auth_done_when_a_private_netrc_authenticates_inside_tls_and_etrn_is_accepted() {
    let (server, run) = etrn_to_auth_server(
        "etrn-auth-done",
        offering("PLAIN LOGIN", AuthOutcome::Accept),
    );
    assert_status(&run, 0);
    assert_eq!(run.stderr, "", "{run:#?}");
    assert_eq!(server.connections(), 1);
    assert_eq!(server.tagged_lines_on(1), PLAIN_OVER_TLS);
    assert!(
        run.stdout.contains(">>> AUTH PLAIN <redacted>\n"),
        "{run:#?}"
    );
    assert!(run.stdout.contains("235 2.7.0"), "{run:#?}");
    assert!(run.stdout.contains("a.test: accepted"), "{run:#?}");
    assert_no_secret(&run);
}

#[test]
fn auth_offered_only_after_starttls_is_used_after_the_second_ehlo() {
    let auth = Auth {
        before_tls: false,
        ..offering("PLAIN", AuthOutcome::Accept)
    };
    let (server, run) = etrn_to_auth_server("etrn-auth-after-tls", auth);
    assert_status(&run, 0);
    assert_eq!(server.tagged_lines_on(1), PLAIN_OVER_TLS);
}

#[test]
fn auth_uses_the_strongest_common_mechanism_and_redacts_its_lines() {
    // (offered, what the client sends after the AUTH line's own text)
    let rows: [(&str, &[&str]); 4] = [
        (
            "LOGIN PLAIN CRAM-MD5",
            &["AUTH CRAM-MD5", CRAM_MD5_RESPONSE],
        ),
        (
            "LOGIN PLAIN",
            &["AUTH PLAIN AGV0cm4tdXNlcgBzM2NyZXQtUGE1NQ=="],
        ),
        (
            "LOGIN GSSAPI",
            &["AUTH LOGIN", LOGIN_RESPONSES[0], LOGIN_RESPONSES[1]],
        ),
        ("DIGEST-MD5 CRAM-MD5", &["AUTH CRAM-MD5", CRAM_MD5_RESPONSE]),
    ];
    for (offered, sent) in rows {
        eprintln!("row: {offered}");
        let (server, run) = etrn_to_auth_server(
            "etrn-auth-mechanism",
            offering(offered, AuthOutcome::Accept),
        );
        assert_status(&run, 0);
        let lines = server.tagged_lines_on(1);
        let auth: Vec<&str> = lines[3..lines.len() - 2]
            .iter()
            .map(|l| l.trim_start_matches("tls:"))
            .collect();
        assert_eq!(auth, sent, "{lines:?}");
        assert_no_secret(&run);
        let continuations = run.stdout.lines().filter(|l| *l == ">>> <redacted>");
        assert_eq!(continuations.count(), sent.len() - 1, "{run:#?}");
    }
}

#[test]
fn auth_refused_sends_quit_and_no_etrn_exit_1() {
    let rows = [
        (
            "535 5.7.8 Authentication credentials invalid",
            "login or password",
        ),
        (
            "534 5.7.9 Authentication mechanism is too weak",
            "stronger mechanism",
        ),
        ("538 5.7.11 Encryption required", "TLS first"),
        ("454 4.7.0 Temporary authentication failure", "temporary"),
    ];
    for (reply, hint) in rows {
        eprintln!("row: {reply}");
        let (server, run) = etrn_to_auth_server(
            "etrn-auth-refused",
            offering("PLAIN", AuthOutcome::Reply(reply)),
        );
        assert_status(&run, 1);
        let lines = server.tagged_lines_on(1);
        assert_eq!(lines[..4], PLAIN_OVER_TLS[..4], "{lines:?}");
        assert_eq!(lines[4..], ["tls:QUIT"], "{lines:?}");
        let error = one_stderr_line(&run);
        let port = server.port();
        let named = format!("etrn: 127.0.0.1 (127.0.0.1:{port}): AUTH PLAIN: {reply} (");
        assert!(error.starts_with(&named), "{run:#?}");
        assert!(
            error.contains(hint) && error.ends_with("ETRN not sent"),
            "{run:#?}"
        );
        assert_no_secret(&run);
    }
}

#[test]
fn auth_connection_dropped_after_auth_exit_3_no_etrn() {
    let (server, run) =
        etrn_to_auth_server("etrn-auth-dropped", offering("PLAIN", AuthOutcome::Drop));
    assert_status(&run, 3);
    assert!(server.etrn_lines().is_empty(), "{:?}", server.lines());
    assert_eq!(server.connections(), 1);
    assert!(one_stderr_line(&run).contains("AUTH PLAIN"), "{run:#?}");
    assert_no_secret(&run);
}

#[test]
fn auth_not_offered_or_no_common_mechanism_exit_1_quit_no_etrn() {
    let rows = [
        (None, "does not offer AUTH"),
        (
            Some(offering("GSSAPI XOAUTH2", AuthOutcome::Accept)),
            "none of the mechanisms",
        ),
    ];
    for (auth, message) in rows {
        eprintln!("row: {auth:?}");
        let (dir, netrc) = private_netrc("etrn-auth-not-offered");
        let pki = Pki::new("127.0.0.1");
        let ca = dir.file("ca.pem", &pki.ca_pem);
        let server = TestServer::starttls_with(StartTls::Handshake(pki), auth);
        let run = etrn_auth(&server, &netrc, &["--ca-file", path_arg(&ca)]);
        assert_status(&run, 1);
        let lines = server.tagged_lines_on(1);
        let after_tls = &lines[2..];
        assert_eq!(after_tls, ["tls:EHLO client.test", "tls:QUIT"], "{lines:?}");
        let error = one_stderr_line(&run);
        assert!(
            error.contains(": AUTH: ") && error.contains(message),
            "{run:#?}"
        );
    }
}

/// A scripted server without STARTTLS that offers AUTH PLAIN and accepts
/// it, and ETRN.
fn plaintext_auth_server() -> TestServer {
    smtp_server(
        "220 mx.test ESMTP",
        &[
            ("EHLO", "250-mx.test\n250-AUTH PLAIN LOGIN\n250 ETRN"),
            ("AUTH PLAIN", "235 2.7.0 Authentication successful"),
            ("ETRN", "250 Queuing started"),
        ],
    )
}

#[test]
fn auth_plaintext_allows_auth_without_starttls() {
    let (_dir, netrc) = private_netrc("etrn-auth-plaintext");
    let server = plaintext_auth_server();
    let run = etrn_auth(&server, &netrc, &["--auth-plaintext"]);
    assert_status(&run, 0);
    let dialogue = [
        "EHLO client.test",
        "AUTH PLAIN AGV0cm4tdXNlcgBzM2NyZXQtUGE1NQ==",
        "ETRN a.test",
        "QUIT",
    ];
    assert_eq!(server.received_when_idle(), dialogue);
    assert_no_secret(&run);
}

#[test]
fn auth_without_auth_plaintext_refuses_a_server_without_starttls_exit_3() {
    let (_dir, netrc) = private_netrc("etrn-auth-no-tls");
    let server = plaintext_auth_server();
    let run = etrn_auth(&server, &netrc, &[]);
    assert_status(&run, 3);
    assert_eq!(server.received_when_idle(), ["EHLO client.test", "QUIT"]);
    let error = one_stderr_line(&run);
    assert!(error.contains("STARTTLS is not offered"), "{run:#?}");
    assert!(error.contains("--auth-plaintext"), "{run:#?}");
}

#[test]
fn auth_netrc_without_an_entry_for_the_server_sends_plain_etrn() {
    let dir = TempDir::new("etrn-auth-no-entry");
    let text = "machine mx.other.test login other password other-pass\n";
    let netrc = netrc_file(&dir, text, 0o600);
    let server = accepting_server();
    let run = etrn_auth(&server, &netrc, &[]);
    assert_status(&run, 0);
    let dialogue = ["EHLO client.test", "ETRN a.test", "QUIT"];
    assert_eq!(server.received_when_idle(), dialogue);
}

#[test]
fn auth_netrc_default_entry_applies_to_any_server() {
    let dir = TempDir::new("etrn-auth-default");
    let text = format!(
        "machine mx.other.test login o password p\ndefault login {LOGIN} password {PASSWORD}\n"
    );
    let netrc = netrc_file(&dir, &text, 0o400);
    let (server, ca) = auth_server(&dir, offering("PLAIN", AuthOutcome::Accept));
    let run = etrn_auth(&server, &netrc, &["--ca-file", path_arg(&ca)]);
    assert_status(&run, 0);
    assert_eq!(server.tagged_lines_on(1), PLAIN_OVER_TLS);
}

#[test]
fn auth_netrc_symlink_is_followed_and_its_target_checked() {
    // As ssh does: the file the link names must be private.
    let dir = TempDir::new("etrn-auth-symlink");
    let target = netrc_file(&dir, &netrc_text(), 0o600);
    let link = dir.join("link");
    symlink(&target, &link).expect("symlink");
    let (server, ca) = auth_server(&dir, offering("PLAIN", AuthOutcome::Accept));
    let run = etrn_auth(&server, &link, &["--ca-file", path_arg(&ca)]);
    assert_status(&run, 0);
    assert_eq!(server.tagged_lines_on(1), PLAIN_OVER_TLS);
    fs::set_permissions(&target, fs::Permissions::from_mode(0o644)).expect("chmod");
    let run = etrn_auth(&server, &link, &["--ca-file", path_arg(&ca)]);
    assert_status(&run, 2);
    assert_eq!(server.connections(), 1, "{:?}", server.log());
}

/// A credentials file etrn must refuse: exit 2, one line naming the file
/// and what is wrong, and the server never connected to.
fn refused_netrc(path: &Path, wrong: &str) {
    let server = accepting_server();
    let run = etrn_auth(&server, path, &[]);
    assert_usage(&run);
    let error = one_stderr_line(&run);
    let named = format!("etrn: {}: ", path.display());
    assert!(
        error.starts_with(&named) && error.contains(wrong),
        "{run:#?}"
    );
    assert_never_connected(&server);
    assert_no_secret(&run);
}

#[test]
fn auth_netrc_group_or_world_accessible_is_refused_before_connecting_exit_2() {
    for mode in [0o644, 0o640, 0o604, 0o660, 0o606] {
        eprintln!("row: {mode:o}");
        let dir = TempDir::new("etrn-auth-mode");
        let netrc = netrc_file(&dir, &netrc_text(), mode);
        refused_netrc(
            &netrc,
            &format!("mode {mode:04o} lets group or others access it"),
        );
    }
}

#[test]
fn auth_netrc_that_is_not_a_regular_file_is_refused_exit_2() {
    let dir = TempDir::new("etrn-auth-directory");
    refused_netrc(&dir, "not a regular file");
    let fifo = dir.join("fifo");
    let path = std::ffi::CString::new(path_arg(&fifo)).expect("no NUL");
    // SAFETY: a valid C string path and a mode.
    assert_eq!(unsafe { libc::mkfifo(path.as_ptr(), 0o600) }, 0, "mkfifo");
    refused_netrc(&fifo, "not a regular file");
}

#[test]
fn auth_netrc_owned_by_another_user_is_refused_exit_2() {
    if !root_or_skip("give a file to another user") {
        return;
    }
    let (_dir, netrc) = private_netrc("etrn-auth-owner");
    let nobody = 65534;
    std::os::unix::fs::chown(&netrc, Some(nobody), None).expect("chown to nobody");
    refused_netrc(
        &netrc,
        "owned by uid 65534, not by the user reading it (uid 0)",
    );
}

#[test]
fn auth_netrc_usage_errors_exit_2_before_connecting() {
    let dir = TempDir::new("etrn-auth-usage");
    let bad_text = format!("machine 127.0.0.1 login {LOGIN}\npassword\n");
    let bad = dir.file_with_mode("bad", &bad_text, 0o600);
    let stray_text = format!("machine 127.0.0.1 login {LOGIN} {PASSWORD}\n");
    let stray = dir.file_with_mode("stray", &stray_text, 0o600);
    let incomplete = dir.file_with_mode("incomplete", "machine 127.0.0.1 login x\n", 0o600);
    let good = netrc_file(&dir, &netrc_text(), 0o600);
    let missing = dir.join("missing");
    let rows: [(Vec<&str>, &str); 6] = [
        (
            vec!["--netrc", path_arg(&bad)],
            "bad: line 2: 'password' without a value",
        ),
        (
            vec!["--netrc", path_arg(&stray)],
            "stray: line 1: not a keyword",
        ),
        (
            vec!["--netrc", path_arg(&incomplete)],
            "line 1: machine 127.0.0.1 has no password",
        ),
        (vec!["--netrc", path_arg(&missing)], "missing: No such file"),
        (vec!["--auth-plaintext"], "--auth-plaintext needs --netrc"),
        (
            vec!["--netrc", path_arg(&good), "--starttls", "off"],
            "add --auth-plaintext",
        ),
    ];
    for (options, message) in rows {
        eprintln!("row: {options:?}");
        let server = accepting_server();
        let run = etrn_a_test(&server, &options);
        assert_usage(&run);
        assert!(one_stderr_line(&run).contains(message), "{run:#?}");
        assert_never_connected(&server);
        assert_no_secret(&run);
    }
}

#[test]
fn auth_etrn_hosts_groups_authenticate_with_the_netrc() {
    let rows = [
        (AuthOutcome::Accept, 0, Some(all_accepted("127.0.0.1", 1))),
        (
            AuthOutcome::Reply("535 5.7.8 Authentication credentials invalid"),
            1,
            None,
        ),
    ];
    for (outcome, status, summary) in rows {
        eprintln!("row: {outcome:?}");
        let (dir, netrc) = private_netrc("etrn-auth-etrn-hosts");
        let (server, ca) = auth_server(&dir, offering("PLAIN", outcome));
        let options = [
            "--etrn-hosts",
            "--timeout",
            "3",
            "--netrc",
            path_arg(&netrc),
            "--ca-file",
            path_arg(&ca),
        ];
        let env = [("ETRN_HOSTS", "127.0.0.1:a.test")];
        let run = etrn_with_local(&server, &server, &options, &env);
        assert_status(&run, status);
        // Connection 1 is -b's check of the local MTA.
        let lines = server.tagged_lines_on(2);
        assert_eq!(lines[..4], PLAIN_OVER_TLS[..4], "{lines:?}");
        match summary {
            Some(line) => assert_stderr_line(&run, &line),
            None => {
                assert_eq!(lines[4..], ["tls:QUIT"], "{lines:?}");
                assert_stderr_any(&run, |l| l.contains("AUTH PLAIN: 535"));
            }
        }
        assert_no_secret(&run);
    }
}

#[test]
fn auth_challenges_etrn_cannot_answer_are_cancelled_exit_1() {
    // RFC 4954 §4: the client cancels with "*". (LOGIN answers a
    // "Username:" prompt with the login, every time it comes.)
    let username = "334 VXNlcm5hbWU6";
    let rows: [(&str, &[&str], &str); 2] = [
        (
            "334 Zm9v",
            &["EHLO client.test", "AUTH LOGIN", "*", "QUIT"],
            "a challenge we cannot answer",
        ),
        (
            username,
            &[
                "EHLO client.test",
                "AUTH LOGIN",
                "ZXRybi11c2Vy",
                "ZXRybi11c2Vy",
                "ZXRybi11c2Vy",
                "*",
                "QUIT",
            ],
            "too many challenges",
        ),
    ];
    for (challenge, dialogue, message) in rows {
        eprintln!("row: {challenge}");
        let (_dir, netrc) = private_netrc("etrn-auth-cancel");
        let server = smtp_server(
            "220 mx.test ESMTP",
            &[
                ("EHLO", "250-mx.test\n250-AUTH LOGIN\n250 ETRN"),
                ("AUTH LOGIN", challenge),
                ("ZXRybi11c2Vy", username),
                ("*", "501 5.7.0 Authentication cancelled"),
            ],
        );
        let run = etrn_auth(&server, &netrc, &["--auth-plaintext"]);
        assert_status(&run, 1);
        assert_eq!(server.received_when_idle(), dialogue);
        let error = one_stderr_line(&run);
        assert!(
            error.contains(&format!("AUTH LOGIN: {message}")),
            "{run:#?}"
        );
        assert_no_secret(&run);
    }
}

#[test]
fn auth_reply_that_never_comes_times_out_exit_3() {
    let (_dir, netrc) = private_netrc("etrn-auth-stall");
    let server = script_server(vec![
        line("220 mx.test ESMTP"),
        reply("EHLO", "250-mx.test\n250-AUTH PLAIN\n250 ETRN"),
        expect("AUTH PLAIN"),
    ]);
    let options = [
        "--timeout",
        "1",
        "--netrc",
        path_arg(&netrc),
        "--auth-plaintext",
    ];
    let run = etrn_a_test(&server, &options);
    assert_status(&run, 3);
    assert!(
        run.elapsed < std::time::Duration::from_millis(2500),
        "{run:#?}"
    );
    assert!(
        one_stderr_line(&run).contains("AUTH PLAIN: timed out"),
        "{run:#?}"
    );
    assert!(server.etrn_lines().is_empty());
    assert_no_secret(&run);
}

/// `etrn --etrn-hosts` reads /etc/smtpbox/netrc when `--netrc` is not
/// given. The file is put there inside a private mount namespace whose
/// /etc is an overlay on a tmpfs, so the machine's own /etc is never
/// written; skipped where namespaces or overlays are not allowed.
#[test]
fn etrn_hosts_authenticates_with_the_default_netrc_in_etc_smtpbox() {
    let (dir, netrc) = private_netrc("etrn-default-netrc");
    let (server, ca) = auth_server(&dir, offering("PLAIN", AuthOutcome::Accept));
    let overlay = dir.join("overlay");
    let setup = format!(
        "mkdir -p '{o}' && mount -t tmpfs tmpfs '{o}' && mkdir '{o}/upper' '{o}/work' && \
         mount -t overlay overlay -o lowerdir=/etc,upperdir='{o}/upper',workdir='{o}/work' /etc && \
         mkdir -p /etc/smtpbox && cp '{netrc}' /etc/smtpbox/netrc && \
         chmod 600 /etc/smtpbox/netrc && export ETRN_HOSTS=127.0.0.1:a.test && \
         unset JOURNAL_STREAM",
        o = overlay.display(),
        netrc = netrc.display(),
    );
    let binary = smtpbox_bin();
    let port = server.port().to_string();
    let argv = [
        path_arg(&binary),
        "etrn",
        "--etrn-hosts",
        "--timeout",
        "3",
        "--helo",
        "client.test",
        "--port",
        &port,
        "--local-port",
        &port,
        "--ca-file",
        path_arg(&ca),
    ];
    let what = "overlay /etc in a private mount namespace";
    let Some(run) = dns::run_in_namespace(&setup, what, &argv, None, RUN_TIMEOUT) else {
        return;
    };
    assert_status(&run, 0);
    // The first connection is -b's wait for the local MTA (the same server).
    assert_eq!(server.connections(), 2, "{run:#?}");
    assert_eq!(server.tagged_lines_on(2), PLAIN_OVER_TLS, "{run:#?}");
    assert_no_secret(&run);
}
