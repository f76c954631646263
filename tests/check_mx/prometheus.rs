//! `--prometheus` and `--prometheus-file`: the facts as Prometheus metrics
//! (text format 0.0.4, read back by `support::prometheus`), the same exit
//! status as the plugin text; the file written whole, next to nothing.

use std::fs;
use std::os::unix::fs::PermissionsExt;

use super::*;
use support::prometheus::Exposition;

/// The labels of the one address of `-H 127.0.0.1`.
const ADDRESS: [(&str, &str); 4] = [
    ("mx", "127.0.0.1"),
    ("preference", ""),
    ("address", "127.0.0.1"),
    ("family", "ipv4"),
];

/// What the checked server does.
enum Server {
    /// Greets, answers EHLO without STARTTLS.
    Plain,
    /// Offers STARTTLS with the test PKI's certificate made as `Leaf` says.
    Tls(Leaf),
    /// Nothing listens: connecting is refused.
    Down,
}

/// One case: the server, the exit status, whether the address is up.
struct Row {
    name: &'static str,
    server: Server,
    status: i32,
    up: bool,
}

const ROWS: [Row; 4] = [
    Row {
        name: "plain SMTP",
        server: Server::Plain,
        status: 0,
        up: true,
    },
    Row {
        name: "STARTTLS, verified",
        server: Server::Tls(Leaf::Valid),
        status: 0,
        up: true,
    },
    Row {
        name: "STARTTLS, expiring in 5 days",
        server: Server::Tls(Leaf::ExpiresInDays(5)),
        status: 2,
        up: true,
    },
    Row {
        name: "down",
        server: Server::Down,
        status: 2,
        up: false,
    },
];

/// A running case: the server (kept alive), its port, the options to
/// check it, and the certificate's notAfter when it has one.
struct Case {
    _server: Option<TestServer>,
    _dir: TempDir,
    args: Vec<String>,
    pki: Option<Pki>,
}

fn start(server: &Server) -> Case {
    let dir = TempDir::new("check-mx-prometheus");
    let (server, pki, port) = match server {
        Server::Plain => {
            let script = vec![
                line("220 mx.test ESMTP"),
                serve(&[("EHLO", "250-mx.test\n250 8BITMIME")]),
            ];
            let server = script_server(script);
            let port = server.port();
            (Some(server), None, port)
        }
        Server::Tls(leaf) => {
            let pki = Pki::with_leaf("127.0.0.1", *leaf);
            let server = TestServer::starttls(StartTls::Handshake(pki.clone()));
            let port = server.port();
            (Some(server), Some(pki), port)
        }
        Server::Down => (None, None, refused_addr().port()),
    };
    let mut args: Vec<String> = ["-H", "127.0.0.1", "-t", TIMEOUT, "--port"]
        .map(String::from)
        .to_vec();
    args.push(port.to_string());
    if let Some(pki) = &pki {
        args.extend(["--ca-file".to_owned(), ca_file(&dir, pki)]);
    }
    Case {
        _server: server,
        _dir: dir,
        args,
        pki,
    }
}

/// Reads `text` back; fails the test when it breaks the format.
fn exposition(text: &str, run: &Run) -> Exposition {
    Exposition::parse(text).unwrap_or_else(|error| panic!("{error}: {run:#?}"))
}

/// The samples of a row's run, whichever way they were written.
fn assert_samples(metrics: &Exposition, row: &Row, pki: Option<&Pki>, run: &Run) {
    let value = |name: &str, labels: &[(&str, &str)]| metrics.value(name, labels);
    let up = f64::from(u8::from(row.up));
    let ok = f64::from(u8::from(row.status == 0));
    assert_eq!(value("probe_success", &[]), Some(ok), "{run:#?}");
    assert_eq!(
        value("check_mx_status", &[]),
        Some(f64::from(row.status)),
        "{run:#?}"
    );
    assert!(value("probe_duration_seconds", &[]).is_some(), "{run:#?}");
    assert_eq!(value("check_mx_hosts_up", &[]), Some(up), "{run:#?}");
    assert_eq!(
        value("check_mx_hosts_down", &[]),
        Some(1.0 - up),
        "{run:#?}"
    );
    assert_eq!(value("check_mx_address_up", &ADDRESS), Some(up), "{run:#?}");
    assert_eq!(
        value("check_mx_greeting_seconds", &ADDRESS).is_some(),
        row.up,
        "a greeting time only when greeted: {run:#?}"
    );
    let not_after = pki.map(|pki| pki.not_after as f64);
    let not_before = pki.map(|pki| pki.not_before as f64);
    assert_eq!(
        value("check_mx_cert_not_after", &ADDRESS),
        not_after,
        "{run:#?}"
    );
    assert_eq!(
        value("check_mx_cert_not_before", &ADDRESS),
        not_before,
        "{run:#?}"
    );
    assert_eq!(
        value("probe_ssl_earliest_cert_expiry", &[]),
        not_after,
        "{run:#?}"
    );
    assert_eq!(
        value("check_mx_tls_seconds", &ADDRESS).is_some(),
        pki.is_some(),
        "{run:#?}"
    );
    // The test server speaks what rustls prefers: TLS 1.3.
    let tls = value("probe_tls_version_info", &[("version", "TLS 1.3")]);
    assert_eq!(tls, pki.map(|_| 1.0), "{run:#?}");
    assert_eq!(
        metrics.named("probe_tls_version_info").len(),
        usize::from(pki.is_some()),
        "{run:#?}"
    );
}

#[test]
fn prometheus_prints_the_facts_as_metrics() {
    for row in ROWS {
        eprintln!("row: {}", row.name);
        let case = start(&row.server);
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let run = check_mx(&[&args[..], &["--prometheus"]].concat());
        assert!(!run.stderr.contains("panicked"), "{run:#?}");
        assert_eq!(run.status, Some(row.status), "{run:#?}");
        assert!(!run.stdout.starts_with("MX "), "no plugin text: {run:#?}");
        let metrics = exposition(&run.stdout, &run);
        assert_samples(&metrics, &row, case.pki.as_ref(), &run);
    }
}

#[test]
fn prometheus_file_is_written_whole_and_the_plugin_text_stays_on_stdout() {
    for row in ROWS {
        eprintln!("row: {}", row.name);
        let case = start(&row.server);
        let out = TempDir::new("check-mx-textfile");
        let path = out.join("smtpbox_mx.prom");
        // An older file is replaced, not appended to.
        fs::write(&path, "stale 1\n").expect("write the old file");
        let file = path.display().to_string();
        let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
        let run = check_mx(&[&args[..], &["--prometheus-file", &file]].concat());
        let summary = plugin(&run);
        assert_eq!(run.status, Some(row.status), "{run:#?}");
        assert_eq!(
            summary.status, PLUGIN_STATUSES[row.status as usize],
            "{run:#?}"
        );
        let text = fs::read_to_string(&path).expect("the metrics file");
        let metrics = exposition(&text, &run);
        assert_samples(&metrics, &row, case.pki.as_ref(), &run);
        assert!(!text.contains("stale"), "{text}");
        let names: Vec<String> = fs::read_dir(&out)
            .expect("list the directory")
            .map(|entry| {
                entry
                    .expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into()
            })
            .collect();
        assert_eq!(names, ["smtpbox_mx.prom"], "a temporary file left");
        let mode = fs::metadata(&path).expect("stat").permissions().mode();
        assert_eq!(mode & 0o444, 0o444, "readable by the collector: {mode:o}");
        assert_eq!(mode & 0o022, 0, "writable by others: {mode:o}");
    }
}

#[test]
fn a_prometheus_file_that_cannot_be_written_is_unknown() {
    let case = start(&Server::Plain);
    let out = TempDir::new("check-mx-textfile");
    let file = out.join("missing/smtpbox_mx.prom").display().to_string();
    let args: Vec<&str> = case.args.iter().map(String::as_str).collect();
    let run = check_mx(&[&args[..], &["--prometheus-file", &file]].concat());
    assert_eq!(run.status, Some(3), "{run:#?}");
    assert!(run.stdout.starts_with("MX OK - "), "{run:#?}");
    assert!(run.stderr.contains("cannot write"), "{run:#?}");
    assert_eq!(run.stderr.trim().lines().count(), 1, "{run:#?}");
}

/// `check_mx DOMAIN --prometheus` with the scripted DNS (root needed,
/// else SKIPPED): the series are labelled with the MX hosts' names and
/// preferences; mx1 (MX 10) is up, mx2 (MX 20) refuses.
#[test]
fn mx_hosts_are_labelled_with_their_name_and_preference() {
    use super::dns::{DOMAIN, check_mx_via, two_mx, up};
    use support::dns::*;

    let hosts = vec![("127.0.0.2", up())];
    let Some((servers, _held)) = same_port_refusing_or_skip(hosts, &["127.0.0.3"]) else {
        return;
    };
    let Some(dns) = DnsServer::start_or_skip(two_mx()) else {
        return;
    };
    let port = servers[0].port().to_string();
    let args = ["--prometheus", DOMAIN];
    let Some(run) = check_mx_via(&dns, QUICK_RESOLVER, &port, "3", &args) else {
        return;
    };
    assert_eq!(run.status, Some(1), "one of two down: {run:#?}");
    let metrics = exposition(&run.stdout, &run);
    for (mx, preference, address, up) in [
        ("mx1.d.test", "10", "127.0.0.2", 1.0),
        ("mx2.d.test", "20", "127.0.0.3", 0.0),
    ] {
        let host = [("mx", mx), ("preference", preference)];
        assert_eq!(
            metrics.value("check_mx_host_up", &host),
            Some(up),
            "{run:#?}"
        );
        let labels = [&host[..], &[("address", address), ("family", "ipv4")]].concat();
        let value = metrics.value("check_mx_address_up", &labels);
        assert_eq!(value, Some(up), "{run:#?}");
    }
    assert_eq!(metrics.value("probe_success", &[]), Some(0.0), "{run:#?}");
    assert_eq!(
        metrics.value("check_mx_hosts_up", &[]),
        Some(1.0),
        "{run:#?}"
    );
}

#[test]
fn the_checker_refuses_what_breaks_the_format() {
    let family = "# HELP m A gauge.\n# TYPE m gauge\n";
    let accepted = [
        format!("{family}m 1\n"),
        format!("{family}m{{a=\"x\\\\y\\\"z\\n\"}} 1.5e-3\n"),
        format!("{family}m{{a=\"1\"}} 1\nm{{a=\"2\"}} +Inf 1700000000000\n"),
    ];
    for text in accepted {
        let read = Exposition::parse(&text);
        assert!(read.is_ok(), "{text:?}: {read:?}");
    }
    let refused = [
        ("no TYPE", "m 1\n".to_owned()),
        ("TYPE after the sample", "m 1\n# TYPE m gauge\n".to_owned()),
        ("no final line feed", format!("{family}m 1")),
        ("a bad metric name", format!("{family}1m 1\n")),
        ("a bad label name", format!("{family}m{{a-b=\"1\"}} 1\n")),
        ("a bad escape", format!("{family}m{{a=\"\\t\"}} 1\n")),
        ("an unterminated value", format!("{family}m{{a=\"1}} 1\n")),
        ("not a number", format!("{family}m one\n")),
        ("the same series twice", format!("{family}m 1\nm 2\n")),
        ("a label twice", format!("{family}m{{a=\"1\",a=\"2\"}} 1\n")),
        (
            "a family apart",
            format!("{family}m{{a=\"1\"}} 1\n# TYPE n gauge\nn 1\nm{{a=\"2\"}} 1\n"),
        ),
        ("a second HELP", format!("{family}# HELP m Again.\nm 1\n")),
        ("no such type", "# TYPE m gauges\nm 1\n".to_owned()),
    ];
    for (why, text) in refused {
        assert!(Exposition::parse(&text).is_err(), "{why}: {text:?}");
    }
}
