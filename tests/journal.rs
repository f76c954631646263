//! Under systemd, stderr is the journal (`JOURNAL_STREAM` names it) and
//! every line an applet prints carries its sd-daemon(3) priority prefix,
//! whichever module printed it; elsewhere no line does.

use std::fs::File;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};

/// A loopback port nothing listens on.
fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("its address").port();
    drop(listener);
    port.to_string()
}

/// Runs `smtpbox ARGS` with stderr in a file; with `journal`, that file is
/// named by JOURNAL_STREAM as systemd does. Returns (status, stderr).
fn run(args: &[&str], env: &[(&str, &str)], journal: bool) -> (i32, String) {
    let dir = std::env::temp_dir().join(format!(
        "smtpbox-journal-{}-{}",
        std::process::id(),
        args.join("_").replace(['/', ' '], "_")
    ));
    std::fs::create_dir_all(&dir).expect("make a temp dir");
    let path = dir.join("stderr");
    let stderr = File::create(&path).expect("create the stderr file");
    let meta = stderr.metadata().expect("stat the stderr file");
    let stream = if journal {
        format!("{}:{}", meta.dev(), meta.ino())
    } else {
        String::new()
    };
    let status = Command::new(env!("CARGO_BIN_EXE_smtpbox"))
        .args(args)
        .envs(env.iter().copied())
        .env("JOURNAL_STREAM", stream)
        .env("XDG_CACHE_HOME", &dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .status()
        .expect("run smtpbox");
    let text = std::fs::read_to_string(&path).expect("read the stderr file");
    let _ = std::fs::remove_dir_all(&dir);
    (status.code().unwrap_or(-1), text)
}

/// One run: its arguments and environment, its exit status, and how its
/// first stderr line starts under the journal.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], i32, &'a str);

#[test]
fn every_line_carries_its_priority_when_stderr_is_the_journal() {
    let port = closed_port();
    let cases: &[Case] = &[
        // --etrn-hosts: the discovery error, printed by discovery.rs.
        (
            &[
                "etrn",
                "--etrn-hosts",
                "--helo",
                "x.test",
                "--sendmail-cf",
                "/nonexistent/sendmail.cf",
            ],
            &[("ETRN_HOSTS", "127.0.0.1")],
            2,
            "<3>etrn: /nonexistent/sendmail.cf: ",
        ),
        (
            &["etrn", "--etrn-hosts"],
            &[("ETRN_HOSTS", " ")],
            0,
            "<6>etrn: ETRN_HOSTS is empty or unset: nothing to do",
        ),
        // A usage error, reported by the dispatcher.
        (
            &["etrn", "--helo", "x.test", "127.0.0.1", "a b"],
            &[],
            2,
            "<3>etrn: invalid client-host 'a b': ",
        ),
        // The session's failure, reported by the single-server mode.
        (
            &[
                "etrn",
                "--helo",
                "x.test",
                "--port",
                &port,
                "127.0.0.1",
                "a.test",
            ],
            &[],
            3,
            "<3>etrn: 127.0.0.1 (127.0.0.1:",
        ),
        // smtpdcheck's -v lines.
        (
            &["smtpdcheck", "-v", "--port", &port, "127.0.0.1"],
            &[],
            0,
            "<6>smtpdcheck: 127.0.0.1: (127.0.0.1:",
        ),
    ];
    for (args, env, status, first_line) in cases {
        let (code, journal) = run(args, env, true);
        assert_eq!(code, *status, "{args:?}: {journal}");
        assert!(journal.starts_with(first_line), "{args:?}: {journal}");
        for line in journal.lines() {
            assert!(
                line.starts_with('<'),
                "{args:?}: a line without priority: {line}"
            );
        }
        let (code, plain) = run(args, env, false);
        assert_eq!(code, *status, "{args:?}: {plain}");
        let unprefixed = &first_line[3..];
        assert!(plain.starts_with(unprefixed), "{args:?}: {plain}");
        assert!(
            !plain.contains("<3>") && !plain.contains("<6>"),
            "{args:?}: {plain}"
        );
    }
}
