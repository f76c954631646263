//! Integration tests of the multicall entry (`smtpbox ...`) and of the
//! argv[0] dispatch through links, run against the built binary.

mod support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use support::*;

/// `smtpbox ARGS...` (the harness runs `smtpbox FIRST REST...`).
fn smtpbox(args: &[&str]) -> Run {
    let (first, rest) = args.split_first().expect("at least one argument");
    run_applet(first, rest)
}

/// A fresh directory next to the binary, so hard links to it work (same
/// filesystem); removed when dropped, even if the test fails.
struct InstallDir(PathBuf);

impl InstallDir {
    fn new(tag: &str) -> InstallDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let parent = smtpbox_bin()
            .parent()
            .expect("binary has a directory")
            .to_path_buf();
        let dir = parent.join(format!("install-test-{}-{n}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir(&dir).expect("create install dir");
        InstallDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }

    fn arg(&self) -> &str {
        self.0.to_str().expect("utf-8 path")
    }
}

impl Drop for InstallDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    let a = fs::metadata(a).unwrap_or_else(|e| panic!("{}: {e}", a.display()));
    let b = fs::metadata(b).unwrap_or_else(|e| panic!("{}: {e}", b.display()));
    a.dev() == b.dev() && a.ino() == b.ino()
}

// ---------------------------------------------------------------------------
// The multicall entry
// ---------------------------------------------------------------------------

#[test]
fn list_prints_applet_names() {
    let run = smtpbox(&["--list"]);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert_eq!(run.stdout, "etrn\nsmtpdcheck\n");
    assert_eq!(run.stderr, "");
}

#[test]
fn list_full_prints_install_paths() {
    let run = smtpbox(&["--list-full"]);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert_eq!(run.stdout, "usr/sbin/etrn\nusr/bin/smtpdcheck\n");
}

#[test]
fn list_with_extra_argument_is_a_usage_error() {
    let run = smtpbox(&["--list", "extra"]);
    assert_eq!(run.status, Some(2), "{run:?}");
    assert_eq!(run.stdout, "");
}

#[test]
fn unknown_applet_is_127() {
    let run = smtpbox(&["nosuch"]);
    assert_eq!(run.status, Some(127), "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "nosuch: applet not found\n");
}

#[test]
fn version_prints_the_package_version() {
    let run = smtpbox(&["--version"]);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert!(run.stdout.starts_with("smtpbox "), "{run:?}");
    assert_eq!(
        run.stdout,
        format!("smtpbox {}\n", env!("CARGO_PKG_VERSION"))
    );
    let run = smtpbox(&["-V"]);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert!(run.stdout.starts_with("smtpbox "), "{run:?}");
}

#[test]
fn help_lists_both_applets() {
    let run = smtpbox(&["--help"]);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert!(run.stdout.contains("Usage: smtpbox"), "{run:?}");
    for applet in ["etrn", "smtpdcheck"] {
        assert!(
            run.stdout
                .lines()
                .any(|l| l.trim_start().starts_with(applet)),
            "{applet} listed: {run:?}"
        );
    }
}

#[test]
fn no_arguments_prints_help() {
    let run = run_program(&smtpbox_bin(), &[], &[], None, RUN_TIMEOUT);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert!(run.stdout.contains("smtpdcheck"), "{run:?}");
}

#[test]
fn help_for_an_applet_prints_its_usage() {
    let run = smtpbox(&["--help", "smtpdcheck"]);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert!(run.stdout.contains("Usage: smtpdcheck"), "{run:?}");
    assert!(run.stdout.contains("--stop"), "{run:?}");
    let run = smtpbox(&["--help", "etrn"]);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert!(run.stdout.contains("Usage: etrn"), "{run:?}");
}

#[test]
fn help_for_an_unknown_applet_is_127() {
    let run = smtpbox(&["--help", "nosuch"]);
    assert_eq!(run.status, Some(127), "{run:?}");
    assert_eq!(run.stderr, "nosuch: applet not found\n");
}

#[test]
fn unknown_option_is_2() {
    let run = smtpbox(&["--bogus"]);
    assert_eq!(run.status, Some(2), "{run:?}");
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("--bogus"), "{run:?}");
}

#[test]
fn applet_named_by_path_or_twice_through_smtpbox() {
    let run = smtpbox(&["/usr/bin/smtpdcheck", "--version"]);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert!(run.stdout.starts_with("smtpdcheck "), "{run:?}");
    let run = smtpbox(&["smtpbox", "--list"]);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert_eq!(run.stdout, "etrn\nsmtpdcheck\n");
}

#[test]
fn applet_runs_through_smtpbox() {
    let server = ScriptedServer::start("127.0.0.1:0", vec![line("220 ok")]);
    let port = server.port().to_string();
    let run = smtpbox(&["smtpdcheck", "--port", &port, "--timeout", "1", "127.0.0.1"]);
    assert_eq!(run.status, Some(1), "{run:?}");
    assert_eq!(run.stdout, "127.0.0.1\n");
}

// ---------------------------------------------------------------------------
// Links named after an applet
// ---------------------------------------------------------------------------

#[test]
fn symlink_named_after_an_applet_runs_it() {
    let dir = temp_dir("link");
    let link = dir.join("smtpdcheck");
    std::os::unix::fs::symlink(smtpbox_bin(), &link).expect("symlink");
    let run = run_link(&link, &["--version"]);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert!(run.stdout.starts_with("smtpdcheck "), "{run:?}");

    let server = ScriptedServer::start("127.0.0.1:0", vec![line("220 ok")]);
    let port = server.port().to_string();
    let run = run_link(&link, &["--port", &port, "--timeout", "1", "10:127.0.0.1"]);
    assert_eq!(run.status, Some(1), "{run:?}");
    assert_eq!(run.stdout, "127.0.0.1\n");
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn symlink_with_an_unknown_name_is_127() {
    let dir = temp_dir("link-unknown");
    let link = dir.join("nosuch");
    std::os::unix::fs::symlink(smtpbox_bin(), &link).expect("symlink");
    let run = run_link(&link, &["--version"]);
    assert_eq!(run.status, Some(127), "{run:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "nosuch: applet not found\n");
    let _ = fs::remove_dir_all(dir);
}

#[test]
fn symlink_named_smtpbox_something_is_the_multicall_entry() {
    let dir = temp_dir("link-multicall");
    let link = dir.join("smtpbox-static");
    std::os::unix::fs::symlink(smtpbox_bin(), &link).expect("symlink");
    let run = run_link(&link, &["--list"]);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert_eq!(run.stdout, "etrn\nsmtpdcheck\n");
    let _ = fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------------------
// --install
// ---------------------------------------------------------------------------

#[test]
fn install_makes_hard_links_and_is_idempotent() {
    let dir = InstallDir::new("hard");
    let run = smtpbox(&["--install", dir.arg()]);
    assert_eq!(run.status, Some(0), "{run:?}");
    for applet in ["etrn", "smtpdcheck"] {
        let link = dir.path().join(applet);
        let meta = fs::symlink_metadata(&link).expect("link created");
        assert!(meta.is_file(), "{applet} is a hard link, not a symlink");
        assert!(same_file(&link, &smtpbox_bin()), "{applet}: same inode");
    }
    let run = run_link(&dir.path().join("smtpdcheck"), &["--version"]);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert!(run.stdout.starts_with("smtpdcheck "), "{run:?}");

    let again = smtpbox(&["--install", dir.arg()]);
    assert_eq!(again.status, Some(0), "idempotent: {again:?}");
    assert_eq!(again.stderr, "");
    for applet in ["etrn", "smtpdcheck"] {
        assert!(same_file(&dir.path().join(applet), &smtpbox_bin()));
    }
}

#[test]
fn install_s_makes_symlinks_and_is_idempotent() {
    let dir = InstallDir::new("sym");
    let run = smtpbox(&["--install", "-s", dir.arg()]);
    assert_eq!(run.status, Some(0), "{run:?}");
    for applet in ["etrn", "smtpdcheck"] {
        let link = dir.path().join(applet);
        let meta = fs::symlink_metadata(&link).expect("link created");
        assert!(meta.file_type().is_symlink(), "{applet} is a symlink");
        assert!(
            same_file(&link, &smtpbox_bin()),
            "{applet} points at smtpbox"
        );
    }
    let run = run_link(&dir.path().join("etrn"), &["--version"]);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert!(run.stdout.starts_with("etrn "), "{run:?}");
    let again = smtpbox(&["--install", "-s", dir.arg()]);
    assert_eq!(again.status, Some(0), "idempotent: {again:?}");
    // A hard-link install over existing symlinks to smtpbox is fine too.
    let hard = smtpbox(&["--install", dir.arg()]);
    assert_eq!(hard.status, Some(0), "{hard:?}");
}

#[test]
fn install_leaves_a_foreign_file_alone() {
    let dir = InstallDir::new("foreign");
    let foreign = dir.path().join("etrn");
    fs::write(&foreign, "#!/bin/sh\necho not smtpbox\n").expect("write");
    let run = smtpbox(&["--install", dir.arg()]);
    assert_ne!(run.status, Some(0), "{run:?}");
    assert!(run.status.is_some(), "{run:?}");
    assert!(
        run.stderr.contains(foreign.to_str().unwrap()),
        "names the file: {run:?}"
    );
    assert_eq!(
        fs::read_to_string(&foreign).expect("still there"),
        "#!/bin/sh\necho not smtpbox\n"
    );
    assert!(!same_file(&foreign, &smtpbox_bin()));
    // The other applet is installed all the same.
    assert!(same_file(&dir.path().join("smtpdcheck"), &smtpbox_bin()));
}

#[test]
fn install_leaves_a_dangling_symlink_alone() {
    let dir = InstallDir::new("dangling");
    let link = dir.path().join("smtpdcheck");
    let nowhere = dir.path().join("nowhere");
    std::os::unix::fs::symlink(&nowhere, &link).expect("symlink");
    let run = smtpbox(&["--install", "-s", dir.arg()]);
    assert_eq!(run.status, Some(1), "{run:?}");
    assert!(run.stderr.contains(link.to_str().unwrap()), "{run:?}");
    assert_eq!(fs::read_link(&link).expect("still a link"), nowhere);
}

#[test]
fn install_into_a_missing_directory_fails() {
    let dir = InstallDir::new("missing");
    let missing = dir.path().join("does-not-exist");
    let run = smtpbox(&["--install", missing.to_str().unwrap()]);
    assert_eq!(run.status, Some(1), "{run:?}");
    assert!(run.stderr.contains("etrn"), "{run:?}");
    assert!(run.stderr.contains("smtpdcheck"), "{run:?}");
    assert!(!missing.exists());
}

#[test]
fn install_with_two_directories_is_a_usage_error() {
    let a = InstallDir::new("two-a");
    let b = InstallDir::new("two-b");
    let run = smtpbox(&["--install", a.arg(), b.arg()]);
    assert_eq!(run.status, Some(2), "{run:?}");
    assert!(
        fs::read_dir(a.path()).unwrap().next().is_none(),
        "nothing made"
    );
    assert!(
        fs::read_dir(b.path()).unwrap().next().is_none(),
        "nothing made"
    );
}
