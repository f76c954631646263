//! Tests that need a private mount namespace (`unshare -m`): names
//! resolved through a private /etc/hosts, so multi-address hosts can be
//! tested without any DNS query, and a cache on a full file system.
//! Skipped where namespaces are not allowed (not root, or a sandbox).

mod support;

use std::time::Duration;

use support::*;

/// Runs `smtpbox APPLET --port PORT ARGS` (port of `target`) in a private
/// mount namespace after `setup` (a shell command); `None` when `unshare
/// -m` cannot run `setup` here (the test is skipped: "cannot WHAT here").
fn run_in_namespace(
    setup: &str,
    what: &str,
    applet: &str,
    target: &impl Target,
    args: &[&str],
) -> Option<Run> {
    let binary = smtpbox_bin();
    let port = target.port().to_string();
    let command = [path_arg(&binary), applet, "--port", &port];
    let argv = [&command[..], args].concat();
    support::dns::run_in_namespace(setup, what, &argv, None, RUN_TIMEOUT)
}

/// [`run_in_namespace`] with `hosts` as /etc/hosts.
fn run_with_hosts(hosts: &str, applet: &str, target: &impl Target, args: &[&str]) -> Option<Run> {
    let dir = TempDir::new("hosts");
    let hosts_file = dir.file("hosts", hosts);
    let mount = format!("mount --bind '{}' /etc/hosts", hosts_file.display());
    let what = "bind-mount a private /etc/hosts";
    run_in_namespace(&mount, what, applet, target, args)
}

/// Two servers on one port: a first address and a second one.
fn two_addresses(first: Vec<Step>, second: Vec<Step>) -> Option<Vec<TestServer>> {
    same_port_or_skip(vec![("127.0.0.2", first), ("127.0.0.3", second)])
}

#[test]
fn a_host_is_up_when_any_of_its_addresses_greets() {
    // The first address accepts and never greets.
    let Some(servers) = two_addresses(vec![], vec![line("220 second address")]) else {
        return;
    };
    let hosts = "127.0.0.1 localhost\n127.0.0.2 dual.test\n127.0.0.3 dual.test\n";
    let args = ["-v", "--no-cache", "--timeout", "3", "10:dual.test"];
    let Some(run) = run_with_hosts(hosts, "smtpdcheck", &servers[0], &args) else {
        return;
    };
    assert_eq!(run.status, Some(1), "{run:#?}");
    assert_eq!(run.stdout, "dual.test\n");
    assert!(run.stderr.contains("127.0.0.3"), "{run:#?}");
    // Happy Eyeballs: the second address starts 250 ms after the first,
    // not after the first one's timeout.
    assert!(run.elapsed < Duration::from_secs(2), "{run:#?}");
    let tried = servers[0].connections() >= 1;
    assert!(tried, "the first address was tried too");
}

#[test]
fn stop_by_name_matches_a_server_given_by_address() {
    let Some(servers) = two_addresses(vec![line("220 primary")], vec![line("220 this host")])
    else {
        return;
    };
    let hosts = "127.0.0.1 localhost\n127.0.0.3 me.test\n";
    // The stop host is given by name, the servers by address; the peer of
    // the same prio does not count, so nothing is reported.
    let stop_by_name = ["--stop", "me.test", "10:127.0.0.2", "10:127.0.0.3"];
    let args = [&["--no-cache", "--timeout", "2"], &stop_by_name[..]].concat();
    let Some(run) = run_with_hosts(hosts, "smtpdcheck", &servers[0], &args) else {
        return;
    };
    assert_eq!(run.status, Some(0), "{run:#?}");
    assert_eq!(run.stdout, "");
    let stop_server = servers[1].connections();
    assert_eq!(stop_server, 0, "the stop server is never probed");
}

#[test]
fn etrn_reaches_a_host_whose_first_address_is_silent() {
    let etrn = serve(&[("EHLO", "250-x\n250 ETRN"), ("ETRN", "250 Queuing started")]);
    let Some(servers) = two_addresses(vec![], vec![line("220 ready"), etrn]) else {
        return;
    };
    let hosts = "127.0.0.1 localhost\n127.0.0.2 mx.test\n127.0.0.3 mx.test\n";
    let args = ["--helo", "client.test", "--timeout", "3"];
    let args = [&args[..], &["mx.test", "a.test"]].concat();
    let Some(run) = run_with_hosts(hosts, "etrn", &servers[0], &args) else {
        return;
    };
    assert_eq!(run.status, Some(0), "{run:#?}");
    servers[1].wait_idle(Duration::from_secs(2));
    let got = servers[1].received();
    assert!(got.iter().any(|l| l == "ETRN a.test"), "{got:?}");
}

/// A cache directory on a full file system: the answer is unchanged and the
/// run does not fail (a tiny tmpfs, filled up, in a private mount
/// namespace).
#[test]
fn a_full_cache_file_system_does_not_change_the_answer() {
    let server = greeting_server("220 up");
    let cache = TempDir::new("full-cache");
    let dir = cache.display();
    let mount = format!("mount -t tmpfs -o size=16k tmpfs '{dir}'");
    let fill = format!("(dd if=/dev/zero of='{dir}/filler' bs=1k count=64 2>/dev/null; true)");
    let fill = format!("{mount} && {fill} && export XDG_CACHE_HOME='{dir}'");
    let what = "mount a private tmpfs";
    let args = ["-v", "--timeout", "2", "127.0.0.1"];
    let Some(run) = run_in_namespace(&fill, what, "smtpdcheck", &server, &args) else {
        return;
    };
    assert_eq!(run.status, Some(1), "{run:#?}");
    assert_eq!(run.stdout, "127.0.0.1\n");
    assert!(run.stderr.contains("cache not updated"), "{run:#?}");
}
