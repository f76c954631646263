//! Under systemd, stderr is the journal (`JOURNAL_STREAM` names it) and
//! every line an applet prints carries its sd-daemon(3) priority prefix,
//! whichever module printed it; elsewhere no line does.

mod support;

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};

use support::{TempDir, refused_addr, smtpbox_bin};

/// Runs `smtpbox ARGS` with stderr in a file; with `journal`, that file is
/// named by JOURNAL_STREAM as systemd does. Returns (status, stderr).
fn run(args: &[&str], env: &[(&str, &str)], journal: bool) -> (Option<i32>, String) {
    let dir = TempDir::new("journal");
    let stderr = File::create(dir.join("stderr")).expect("create the stderr file");
    let meta = stderr.metadata().expect("stat the stderr file");
    let stream = journal.then(|| format!("{}:{}", meta.dev(), meta.ino()));
    let status = Command::new(smtpbox_bin())
        .args(args)
        .envs(env.iter().copied())
        .env("JOURNAL_STREAM", stream.unwrap_or_default())
        .env("XDG_CACHE_HOME", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .status()
        .expect("run smtpbox");
    let text = std::fs::read_to_string(dir.join("stderr")).expect("read the stderr file");
    (status.code(), text)
}

/// Arguments, environment, exit status, start of the journal's first line.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], i32, &'a str);

#[test]
fn every_line_carries_its_priority_when_stderr_is_the_journal() {
    let port = refused_addr().port().to_string();
    let no_mta = [
        "etrn",
        "--helo",
        "x.test",
        "--port",
        &port,
        "127.0.0.1",
        "a.test",
    ];
    let discovery = [
        "--sendmail-cf",
        "/nonexistent/sendmail.cf",
        "--helo",
        "x.test",
    ];
    let cases: [Case; 5] = [
        // --etrn-hosts: the discovery error, printed by discovery.rs
        (
            &[&["etrn", "--etrn-hosts"][..], &discovery].concat(),
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
        // a usage error, reported by the dispatcher
        (
            &["etrn", "--helo", "x.test", "127.0.0.1", "a b"],
            &[],
            2,
            "<3>etrn: invalid client-host 'a b': ",
        ),
        // the session's failure, reported by the single-server mode
        (&no_mta, &[], 3, "<3>etrn: 127.0.0.1 (127.0.0.1:"),
        // smtpdcheck's -v lines
        (
            &["smtpdcheck", "-v", "--port", &port, "127.0.0.1"],
            &[],
            0,
            "<6>smtpdcheck: 127.0.0.1: (127.0.0.1:",
        ),
    ];
    for (args, env, status, first_line) in cases {
        let (code, journal) = run(args, env, true);
        assert_eq!(code, Some(status), "{args:?}: {journal}");
        assert!(journal.starts_with(first_line), "{args:?}: {journal}");
        let unprefixed = journal.lines().find(|l| !l.starts_with('<'));
        assert_eq!(unprefixed, None, "{args:?}: a line without priority");
        let (code, plain) = run(args, env, false);
        assert_eq!(code, Some(status), "{args:?}: {plain}");
        assert!(plain.starts_with(&first_line[3..]), "{args:?}: {plain}");
        assert!(
            !plain.lines().any(|l| l.starts_with('<')),
            "{args:?}: {plain}"
        );
    }
}
