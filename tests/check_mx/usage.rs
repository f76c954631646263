//! Usage errors are UNKNOWN (3), as the Monitoring Plugins guidelines
//! want; `--help` and `--version` exit 0. Nothing is looked up or sent.

use super::*;

/// Exit 3, nothing on stdout, a message on stderr.
fn unknown(run: &Run) {
    assert_eq!(run.status, Some(3), "{run:#?}");
    assert_eq!(run.stdout, "", "{run:#?}");
    assert!(!run.stderr.trim().is_empty(), "{run:#?}");
}

run_table! { check_mx;
    usage_errors_are_unknown {
        [""; 0] => unknown;
        ["--bogus", "d.test"] => unknown;
        ["-H", "127.0.0.1", "d.test"] => unknown;
        ["-4", "-6", "d.test"] => unknown;
        ["--port", "0", "d.test"] => unknown;
        ["--timeout", "0", "d.test"] => unknown;
        ["--cert-warn", "-1", "d.test"] => unknown;
        ["-H", "a b"] => unknown;
        ["-H", "127.0.0.1", "--ca-file", "/nonexistent/ca.pem"] => unknown;
        ["-H", "127.0.0.1", "--json", "-v"] => unknown;
        ["-H", "127.0.0.1", "--prometheus", "--json"] => unknown;
        ["-H", "127.0.0.1", "--prometheus", "-v"] => unknown;
        ["--no-dane", "--require-dane", "d.test"] => unknown;
        ["--no-mta-sts", "--require-mta-sts", "d.test"] => unknown;
        ["-H", "127.0.0.1", "--require-mta-sts"] => unknown;
    }
    help_and_version_exit_0 {
        ["--help"] => exits(0), stdout_has("Usage: check_mx"), stdout_has("UNKNOWN");
        ["--version"] => exits(0), stdout_starts("check_mx ");
    }
}

/// The options the shipped Icinga 2 and Nagios examples pass: an option
/// check_mx does not have would make every check of such a service
/// UNKNOWN.
fn example_options() -> Vec<(String, &'static str)> {
    let mut found = Vec::new();
    for file in ["check_mx-icinga2.conf", "check_mx-nagios.cfg"] {
        let path = format!("{}/packaging/examples/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        for line in text.lines().map(str::trim) {
            // Icinga 2: `"--ca-file" = {`; Nagios: `command_line ... --min-up`.
            let options: Vec<&str> = match line.strip_prefix('"') {
                Some(rest) if rest.starts_with('-') => rest.split('"').take(1).collect(),
                _ if line.starts_with("command_line") => line
                    .split_whitespace()
                    .filter(|word| word.starts_with('-'))
                    .collect(),
                _ => Vec::new(),
            };
            found.extend(options.into_iter().map(|o| (o.to_owned(), file)));
        }
    }
    found
}

#[test]
fn the_monitoring_examples_use_only_options_check_mx_has() {
    let help = check_mx(&["--help"]);
    assert_eq!(help.status, Some(0), "{help:#?}");
    let options = example_options();
    for new in [
        "--no-dane",
        "--require-dane",
        "--no-mta-sts",
        "--require-mta-sts",
    ] {
        assert!(
            options.iter().any(|(option, _)| option == new),
            "no example shows {new}: {options:?}"
        );
    }
    for (option, file) in &options {
        let listed = help
            .stdout
            .split(|c: char| c.is_whitespace() || c == ',')
            .any(|word| word == option || word.split('=').next() == Some(option));
        assert!(listed, "{file}: {option} is not a check_mx option");
    }
}
