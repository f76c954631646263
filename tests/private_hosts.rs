//! Tests that need a private mount namespace (`unshare -m`): names
//! resolved through a private /etc/hosts, so multi-address hosts can be
//! tested without any DNS query, and a cache on a full file system.
//! Skipped where namespaces are not allowed (not root, or a sandbox).

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use support::*;

/// Runs `smtpbox ARGS` with `hosts` as /etc/hosts; `None` when this machine
/// cannot make a private mount namespace.
fn run_with_hosts(hosts: &str, args: &[&str]) -> Option<Run> {
    let dir = temp_dir("hosts");
    let hosts_file = dir.join("hosts");
    std::fs::write(&hosts_file, hosts).expect("write hosts file");
    let mount = format!("mount --bind '{}' /etc/hosts", hosts_file.display());
    let probe = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &mount])
        .stderr(std::process::Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: cannot bind-mount a private /etc/hosts here");
        let _ = std::fs::remove_dir_all(&dir);
        return None;
    }
    let script = format!(
        "mount --bind '{}' /etc/hosts && exec \"$0\" \"$@\"",
        hosts_file.display()
    );
    let mut full = vec!["-m", "--propagation", "private", "sh", "-c", &script];
    let binary = smtpbox_bin();
    full.push(binary.to_str().expect("utf-8 path"));
    full.extend_from_slice(args);
    let run = run_program(Path::new("unshare"), &full, &[], None, RUN_TIMEOUT);
    let _ = std::fs::remove_dir_all(&dir);
    Some(run)
}

#[test]
fn a_host_is_up_when_any_of_its_addresses_greets() {
    let servers = ScriptedServer::start_same_port(vec![
        ("127.0.0.2", vec![]), // accepts, never greets
        ("127.0.0.3", vec![line("220 second address")]),
    ]);
    if servers.len() < 2 {
        eprintln!("SKIPPED: cannot bind 127.0.0.2 and 127.0.0.3");
        return;
    }
    let port = servers[0].port().to_string();
    let hosts = "127.0.0.1 localhost\n127.0.0.2 dual.test\n127.0.0.3 dual.test\n";
    let args = [
        "smtpdcheck",
        "-v",
        "--no-cache",
        "--port",
        &port,
        "--timeout",
        "3",
        "10:dual.test",
    ];
    let Some(run) = run_with_hosts(hosts, &args) else {
        return;
    };
    assert_eq!(run.status, Some(1), "{run:#?}");
    assert_eq!(run.stdout, "dual.test\n");
    assert!(run.stderr.contains("127.0.0.3"), "{run:#?}");
    // Happy Eyeballs: the second address starts 250 ms after the first,
    // not after the first one's timeout.
    assert!(run.elapsed < Duration::from_secs(2), "{run:#?}");
    assert!(
        servers[0].connections() >= 1,
        "the first address was tried too"
    );
}

#[test]
fn stop_by_name_matches_a_server_given_by_address() {
    let servers = ScriptedServer::start_same_port(vec![
        ("127.0.0.2", vec![line("220 primary")]),
        ("127.0.0.3", vec![line("220 this host")]),
    ]);
    if servers.len() < 2 {
        eprintln!("SKIPPED: cannot bind 127.0.0.2 and 127.0.0.3");
        return;
    }
    let port = servers[0].port().to_string();
    let hosts = "127.0.0.1 localhost\n127.0.0.3 me.test\n";
    // The stop host is given by name, the servers by address; the peer of
    // the same prio does not count, so nothing is reported.
    let args = [
        "smtpdcheck",
        "--no-cache",
        "--port",
        &port,
        "--timeout",
        "2",
        "--stop",
        "me.test",
        "10:127.0.0.2",
        "10:127.0.0.3",
    ];
    let Some(run) = run_with_hosts(hosts, &args) else {
        return;
    };
    assert_eq!(run.status, Some(0), "{run:#?}");
    assert_eq!(run.stdout, "");
    assert_eq!(
        servers[1].connections(),
        0,
        "the stop server is never probed"
    );
}

#[test]
fn etrn_reaches_a_host_whose_first_address_is_silent() {
    let etrn = serve(&[("EHLO", "250-x\n250 ETRN"), ("ETRN", "250 Queuing started")]);
    let servers = ScriptedServer::start_same_port(vec![
        ("127.0.0.2", vec![]),
        ("127.0.0.3", vec![line("220 ready"), etrn]),
    ]);
    if servers.len() < 2 {
        eprintln!("SKIPPED: cannot bind 127.0.0.2 and 127.0.0.3");
        return;
    }
    let port = servers[0].port().to_string();
    let hosts = "127.0.0.1 localhost\n127.0.0.2 mx.test\n127.0.0.3 mx.test\n";
    let args = [
        "etrn",
        "--helo",
        "client.test",
        "--port",
        &port,
        "--timeout",
        "3",
        "mx.test",
        "a.test",
    ];
    let Some(run) = run_with_hosts(hosts, &args) else {
        return;
    };
    assert_eq!(run.status, Some(0), "{run:#?}");
    servers[1].wait_idle(Duration::from_secs(2));
    assert!(
        servers[1].received().iter().any(|l| l == "ETRN a.test"),
        "{:?}",
        servers[1].received()
    );
}

/// A cache directory on a full file system: the answer is unchanged and the
/// run does not fail (a tiny tmpfs, filled up, in a private mount
/// namespace).
#[test]
fn a_full_cache_file_system_does_not_change_the_answer() {
    let server = ScriptedServer::start("127.0.0.1:0", vec![line("220 up")]);
    let port = server.port().to_string();
    let cache = temp_dir("full-cache");
    let script = format!(
        "mount -t tmpfs -o size=16k tmpfs '{dir}' && \
         (dd if=/dev/zero of='{dir}/filler' bs=1k count=64 2>/dev/null; true) && \
         XDG_CACHE_HOME='{dir}' exec \"$0\" \"$@\"",
        dir = cache.display()
    );
    let probe = Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c"])
        .arg(format!(
            "mount -t tmpfs -o size=16k tmpfs '{}'",
            cache.display()
        ))
        .stderr(std::process::Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: cannot mount a private tmpfs here");
        let _ = std::fs::remove_dir_all(&cache);
        return;
    }
    let binary = smtpbox_bin();
    let args = [
        "-m",
        "--propagation",
        "private",
        "sh",
        "-c",
        &script,
        binary.to_str().expect("utf-8 path"),
        "smtpdcheck",
        "-v",
        "--port",
        &port,
        "--timeout",
        "2",
        "127.0.0.1",
    ];
    let run = run_program(Path::new("unshare"), &args, &[], None, RUN_TIMEOUT);
    let _ = std::fs::remove_dir_all(&cache);
    assert_eq!(run.status, Some(1), "{run:#?}");
    assert_eq!(run.stdout, "127.0.0.1\n");
    assert!(run.stderr.contains("cache not updated"), "{run:#?}");
}
