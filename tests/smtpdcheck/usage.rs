//! Bad input (exit 2, nothing on stdout), `--help` and `--version`.

use crate::support::*;
use crate::*;

/// Exit 2 and nothing on stdout.
fn exit_2(run: &Run) {
    assert_eq!(run.status, Some(2), "{run:?}");
    assert_eq!(run.stdout, "");
}

run_table! { check;
    bad_prio_is_exit_2 {
        ["--timeout", "1", "abc:127.0.0.1"] => usage_error_one_line, stderr_has("abc:127.0.0.1");
        ["--timeout", "1", "65536:127.0.0.1"] => usage_error_one_line;
    }
    empty_server_is_exit_2 {
        ["--timeout", "1", ""] => usage_error_one_line;
        ["--timeout", "1", "10:"] => usage_error_one_line;
    }
    server_with_control_characters_is_exit_2 {
        ["--timeout", "1", "127.0.0.1\r\nQUIT"] => usage_error_one_line;
    }
    empty_stop_is_exit_2 {
        ["--stop", "", "--timeout", "1", "127.0.0.1"] => usage_error_one_line;
    }
    bad_mx_and_cache_dir_are_exit_2 {
        ["--mx", "a b"] => usage_error_one_line, stderr_has("invalid --mx");
        ["--mx", "d.test", "127.0.0.1"] => exit_2;
        ["--cache-dir", "relative/dir", "127.0.0.1"] => exit_2, stderr_has("absolute");
    }
    port_0_is_exit_2 {
        ["--port", "0", "--timeout", "1", "127.0.0.1"] => exit_2;
    }
    unknown_option_is_exit_2 {
        ["--bogus", "127.0.0.1"] => exit_2, stderr_has("--bogus");
    }
    no_servers_is_exit_2 {
        [""; 0] => exit_2;
        ["--timeout", "1"] => exits(2);
    }
    negative_or_bad_timeout_is_exit_2 {
        ["--timeout", "-1", "127.0.0.1"] => exit_2;
        ["--timeout", "soon", "127.0.0.1"] => exit_2;
        ["--timeout", "NaN", "127.0.0.1"] => exit_2;
        ["--timeout", "inf", "127.0.0.1"] => exit_2;
        ["--timeout=-1", "127.0.0.1"] => exits(2);
    }
    help_is_exit_0_with_exit_status_section {
        ["--help"] => exits(0), stdout_has("Exit status"), stdout_has("--stop");
    }
    version_is_exit_0 {
        ["--version"] => exits(0), stdout_starts("smtpdcheck ");
    }
}

#[test]
fn bad_server_after_good_ones_is_exit_2_without_probing() {
    let server = greeting_server("220 ok");
    let run = check_at(&server, &["--timeout", "1", "127.0.0.1", "x:y"]);
    usage_error_one_line(&run);
    assert_eq!(server.connections(), 0);
}

#[test]
fn huge_timeout_is_no_panic() {
    let run = check_at(&refused_addr(), &["--timeout", "1e19", "127.0.0.1"]);
    assert!(!run.stderr.contains("panicked"), "{run:?}");
    assert_eq!(run.status, Some(2), "more than a week is refused: {run:?}");
    assert_eq!(run.stdout, "");
}
