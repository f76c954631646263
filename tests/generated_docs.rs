//! The manual pages and completions under `packaging/` are generated from
//! the command-line definitions; this fails while they are out of date
//! (fix: `cargo run --example gen-docs`), and checks that every page
//! renders without a warning when `man` is installed.

#[path = "../packaging/gen_docs.rs"]
mod gen_docs;
#[allow(dead_code)] // the root checks
#[path = "support/skip.rs"]
mod skip;

use std::path::Path;
use std::process::Command;

#[test]
fn generated_files_are_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = gen_docs::render_all(root).expect("render the docs");
    let mut stale = Vec::new();
    for (path, bytes) in &files {
        if std::fs::read(root.join(path)).ok().as_deref() != Some(bytes.as_slice()) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "out of date, run `cargo run --example gen-docs`: {stale:?}"
    );
}

#[test]
fn manual_pages_render_without_warnings() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for page in ["smtpbox.1", "smtpdcheck.1", "etrn.8", "check_mx.1"] {
        let path = root.join("packaging/man").join(page);
        let output = Command::new("man")
            .args(["--warnings", "-l"])
            .arg(&path)
            .env("MANWIDTH", "80")
            .output();
        let Ok(output) = output else {
            skip::skip("run man");
            return;
        };
        let warnings = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{page}: {warnings}");
        assert_eq!(warnings, "", "{page} renders with warnings");
        let text = String::from_utf8_lossy(&output.stdout);
        assert!(text.contains("EXIT STATUS"), "{page}");
    }
}

/// The README's MTA and Prometheus recipes show the files shipped under
/// `/usr/share/doc/smtpbox/examples/` (and run as shipped by the interop
/// tests): every line of those examples that is not a comment appears in
/// the README. (The Icinga and Nagios examples are only named there.)
#[test]
fn readme_recipes_match_the_shipped_examples() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let readme_lines: Vec<&str> = readme.lines().map(str::trim).collect();
    let mut checked = 0;
    for name in [
        "postfix-master.cf",
        "postfix-main.cf",
        "exim-acl.conf",
        "opensmtpd-smtpd.conf",
        "sendmail.mc",
        "check_mx-prometheus.service",
        "check_mx-prometheus.timer",
    ] {
        let path = root.join("packaging/examples").join(name);
        let text = std::fs::read_to_string(&path).expect("example");
        for line in text.lines().map(str::trim) {
            // (sendmail.mc's comments are m4's: "dnl #")
            if line.is_empty() || line.starts_with('#') || line.starts_with("dnl #") {
                continue;
            }
            assert!(
                readme_lines.contains(&line),
                "README.md lacks this line of {name}: {line}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} example lines checked");
}
