//! Integration tests of the multicall entry (`smtpbox ...`) and of the
//! argv[0] dispatch through links, run against the built binary.

#[macro_use]
mod support;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use support::*;

/// `smtpbox ARGS...`.
fn smtpbox(args: &[&str]) -> Run {
    run_program(&smtpbox_bin(), args, &[], None, RUN_TIMEOUT)
}

/// A fresh directory next to the binary, so hard links to it work (same
/// filesystem); removed when dropped, even if the test fails.
fn install_dir(tag: &str) -> TempDir {
    let bin = smtpbox_bin();
    TempDir::inside(bin.parent().expect("binary has a directory"), tag)
}

fn same_file(a: &Path, b: &Path) -> bool {
    let a = fs::metadata(a).unwrap_or_else(|e| panic!("{}: {e}", a.display()));
    let b = fs::metadata(b).unwrap_or_else(|e| panic!("{}: {e}", b.display()));
    a.dev() == b.dev() && a.ino() == b.ino()
}

/// `smtpbox` run through a symlink called `name` to it.
fn run_as(name: &str, args: &[&str]) -> Run {
    let dir = TempDir::new("link");
    let link = dir.join(name);
    std::os::unix::fs::symlink(smtpbox_bin(), &link).expect("symlink");
    run_link(&link, args)
}

// ---------------------------------------------------------------------------
// The multicall entry, and links named after an applet
// ---------------------------------------------------------------------------

const APPLETS: &str = "check_mx\netrn\nsmtpdcheck\n";
const NOT_FOUND: &str = "nosuch: applet not found\n";
const VERSION: &str = concat!("smtpbox ", env!("CARGO_PKG_VERSION"), "\n");

run_table! { smtpbox;
    no_arguments_prints_help {
        [""; 0] => exits(0), stdout_has("smtpdcheck");
    }
    list_prints_applet_names {
        ["--list"] => exits(0), stdout_is(APPLETS), stderr_is("");
    }
    list_full_prints_install_paths {
        ["--list-full"] => exits(0), stdout_is("usr/lib/nagios/plugins/check_mx\nusr/sbin/etrn\nusr/bin/smtpdcheck\n");
    }
    list_with_extra_argument_is_a_usage_error {
        ["--list", "extra"] => exits(2), stdout_is("");
    }
    unknown_applet_is_127 {
        ["nosuch"] => exits(127), stdout_is(""), stderr_is(NOT_FOUND);
    }
    version_prints_the_package_version {
        ["--version"] => exits(0), stdout_starts("smtpbox "), stdout_is(VERSION);
        ["-V"] => exits(0), stdout_starts("smtpbox ");
    }
    help_lists_every_applet {
        ["--help"] => exits(0), stdout_has("Usage: smtpbox"), |run: &Run| {
            for applet in ["check_mx", "etrn", "smtpdcheck"] {
                let listed = run.stdout.lines().any(|l| l.trim_start().starts_with(applet));
                assert!(listed, "{applet} listed: {run:?}");
            }
        };
    }
    help_for_an_applet_prints_its_usage {
        ["--help", "smtpdcheck"] => exits(0), stdout_has("Usage: smtpdcheck"), stdout_has("--stop");
        ["--help", "etrn"] => exits(0), stdout_has("Usage: etrn");
        ["--help", "check_mx"] => exits(0), stdout_has("Usage: check_mx"), stdout_has("--cert-warn");
    }
    help_for_an_unknown_applet_is_127 {
        ["--help", "nosuch"] => exits(127), stderr_is(NOT_FOUND);
    }
    unknown_option_is_2 {
        ["--bogus"] => exits(2), stdout_is(""), stderr_has("--bogus");
    }
    applet_named_by_path_or_twice_through_smtpbox {
        ["/usr/bin/smtpdcheck", "--version"] => exits(0), stdout_starts("smtpdcheck ");
        ["smtpbox", "--list"] => exits(0), stdout_is(APPLETS);
    }
}

/// `smtpbox ARGS...` through a symlink named after the first argument.
fn link(args: &[&str]) -> Run {
    let (name, rest) = args.split_first().expect("a link name");
    run_as(name, rest)
}

run_table! { link;
    symlink_with_an_unknown_name_is_127 {
        ["nosuch", "--version"] => exits(127), stdout_is(""), stderr_is(NOT_FOUND);
    }
    symlink_named_smtpbox_something_is_the_multicall_entry {
        ["smtpbox-static", "--list"] => exits(0), stdout_is(APPLETS);
    }
}

#[test]
fn applet_runs_through_smtpbox() {
    let server = greeting_server("220 ok");
    let run = run_against("smtpdcheck", &server, &["--timeout", "1", "127.0.0.1"], &[]);
    assert_eq!(run.status, Some(1), "{run:?}");
    assert_eq!(run.stdout, "127.0.0.1\n");
}

#[test]
fn symlink_named_after_an_applet_runs_it() {
    let run = run_as("smtpdcheck", &["--version"]);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert!(run.stdout.starts_with("smtpdcheck "), "{run:?}");

    let server = greeting_server("220 ok");
    let port = server.port().to_string();
    let args = ["--port", &port, "--timeout", "1", "10:127.0.0.1"];
    let run = run_as("smtpdcheck", &args);
    assert_eq!(run.status, Some(1), "{run:?}");
    assert_eq!(run.stdout, "127.0.0.1\n");
}

// ---------------------------------------------------------------------------
// --install
// ---------------------------------------------------------------------------

/// `smtpbox --install [-s] DIR` exits 0, and each applet in DIR is
/// smtpbox, as a hard link or a symlink as `symbolic` says; the link named
/// `runs` runs its applet; installing again exits 0 too (that run).
fn assert_installs(dir: &TempDir, symbolic: bool, runs: &str) -> Run {
    let args: &[&str] = if symbolic {
        &["--install", "-s"]
    } else {
        &["--install"]
    };
    let args = [args, &[dir.arg()]].concat();
    let run = smtpbox(&args);
    assert_eq!(run.status, Some(0), "{run:?}");
    for applet in ["check_mx", "etrn", "smtpdcheck"] {
        let link = dir.join(applet);
        let meta = fs::symlink_metadata(&link).expect("link created");
        if symbolic {
            assert!(meta.file_type().is_symlink(), "{applet} is a symlink");
        } else {
            assert!(meta.is_file(), "{applet} is a hard link, not a symlink");
        }
        assert!(same_file(&link, &smtpbox_bin()), "{applet} is smtpbox");
    }
    let run = run_link(&dir.join(runs), &["--version"]);
    assert_eq!(run.status, Some(0), "{run:?}");
    assert!(run.stdout.starts_with(&format!("{runs} ")), "{run:?}");
    let again = smtpbox(&args);
    assert_eq!(again.status, Some(0), "idempotent: {again:?}");
    again
}

#[test]
fn install_makes_hard_links_and_is_idempotent() {
    let dir = install_dir("hard");
    let again = assert_installs(&dir, false, "smtpdcheck");
    assert_eq!(again.stderr, "");
    for applet in ["check_mx", "etrn", "smtpdcheck"] {
        assert!(same_file(&dir.join(applet), &smtpbox_bin()));
    }
}

#[test]
fn install_s_makes_symlinks_and_is_idempotent() {
    let dir = install_dir("sym");
    assert_installs(&dir, true, "etrn");
    // A hard-link install over existing symlinks to smtpbox is fine too.
    let hard = smtpbox(&["--install", dir.arg()]);
    assert_eq!(hard.status, Some(0), "{hard:?}");
}

#[test]
fn install_leaves_a_foreign_file_alone() {
    let dir = install_dir("foreign");
    let foreign = dir.file("etrn", "#!/bin/sh\necho not smtpbox\n");
    let run = smtpbox(&["--install", dir.arg()]);
    assert_ne!(run.status, Some(0), "{run:?}");
    assert!(run.status.is_some(), "{run:?}");
    assert!(
        run.stderr.contains(path_arg(&foreign)),
        "names the file: {run:?}"
    );
    assert_eq!(
        fs::read_to_string(&foreign).expect("still there"),
        "#!/bin/sh\necho not smtpbox\n"
    );
    assert!(!same_file(&foreign, &smtpbox_bin()));
    // The other applet is installed all the same.
    assert!(same_file(&dir.join("smtpdcheck"), &smtpbox_bin()));
}

#[test]
fn install_leaves_a_dangling_symlink_alone() {
    let dir = install_dir("dangling");
    let link = dir.join("smtpdcheck");
    let nowhere = dir.join("nowhere");
    std::os::unix::fs::symlink(&nowhere, &link).expect("symlink");
    let run = smtpbox(&["--install", "-s", dir.arg()]);
    assert_eq!(run.status, Some(1), "{run:?}");
    assert!(run.stderr.contains(path_arg(&link)), "{run:?}");
    assert_eq!(fs::read_link(&link).expect("still a link"), nowhere);
}

#[test]
fn install_into_a_missing_directory_fails() {
    let dir = install_dir("missing");
    let missing = dir.join("does-not-exist");
    let run = smtpbox(&["--install", path_arg(&missing)]);
    assert_eq!(run.status, Some(1), "{run:?}");
    assert!(run.stderr.contains("etrn"), "{run:?}");
    assert!(run.stderr.contains("smtpdcheck"), "{run:?}");
    assert!(!missing.exists());
}

#[test]
fn install_with_two_directories_is_a_usage_error() {
    let (a, b) = (install_dir("two-a"), install_dir("two-b"));
    let run = smtpbox(&["--install", a.arg(), b.arg()]);
    assert_eq!(run.status, Some(2), "{run:?}");
    for dir in [&a, &b] {
        let empty = fs::read_dir(dir).expect("read dir").next().is_none();
        assert!(empty, "nothing made");
    }
}
