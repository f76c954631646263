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
    }
    help_and_version_exit_0 {
        ["--help"] => exits(0), stdout_has("Usage: check_mx"), stdout_has("UNKNOWN");
        ["--version"] => exits(0), stdout_starts("check_mx ");
    }
}
