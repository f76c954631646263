//! check_mx: every MX host of a domain, on every address, checked at once,
//! as a Nagios/Icinga plugin (Monitoring Plugins development guidelines):
//! connect, the `220` greeting, `EHLO`, `STARTTLS`, the certificate and its
//! expiry, `QUIT`; one status line with performance data, one line per
//! host and address, and the exit status OK, WARNING, CRITICAL or UNKNOWN.
//!
//! Layout: this file is the command line and the run. [`hosts`] says
//! which hosts (`-H`, or the MX records); [`probe`] checks them all at
//! once; [`certificate`] records and reads what a server presents;
//! [`facts`] is what was found; [`evaluate`] judges it, purely;
//! [`mta_sts`] reads and judges a domain's MTA-STS and TLS-RPT records and
//! policy, which [`policy`] looks up and fetches;
//! [`perfdata`] is the guidelines' metric grammar, written and read;
//! [`output`] prints the plugin text or the JSON object; [`prometheus`]
//! the same facts as Prometheus metrics.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use tokio::time::Instant;

use crate::applet::{AppletError, AppletResult, parse_command_line};
use crate::args::Seconds;
use crate::exit::check_mx::UNKNOWN;
use crate::names::{HostName, Quoted};
use crate::report::Reporter;
use crate::runtime::block_on;
use crate::smtp::{resolve, tls};

pub mod certificate;
pub mod dane;
pub mod evaluate;
pub mod facts;
pub mod hosts;
pub mod mta_sts;
pub mod output;
pub mod perfdata;
pub mod policy;
pub mod probe;
pub mod prometheus;

use evaluate::{Thresholds, evaluate, unknown};
use hosts::{Source, Target};
use output::Report;
use perfdata::Levels;
use probe::{Family, Settings};

const NAME: &str = "check_mx";

/// `--timeout` when not given: the Monitoring Plugins' usual 10 seconds.
const DEFAULT_TIMEOUT: Seconds = Seconds(Duration::from_secs(10));

/// `--cert-warn` when not given. certbot renews 30 days before expiry, so
/// fewer than 21 days left means renewals have failed for over a week.
const DEFAULT_CERT_WARN_DAYS: u32 = 21;

/// `--cert-crit` when not given: a week to fix it.
const DEFAULT_CERT_CRIT_DAYS: u32 = 7;

/// The SMTP port (RFC 5321 §4.5.4.2 relay on 25).
const SMTP_PORT: u16 = 25;

/// The EHLO name when this host's name cannot be had.
const FALLBACK_HELO: &str = "localhost";

const EXIT_STATUS_HELP: &str = "\
Exit status (Monitoring Plugins guidelines):
  0  OK        every MX host up, every check within its thresholds
  1  WARNING   an MX host or address down while at least --min-up hosts are
               up; a warning threshold passed; STARTTLS refused or failed, or a
               certificate that does not verify (without --require-tls); TLSA
               records that DNSSEC did not validate; a published MTA-STS policy
               that cannot be fetched, or in testing mode one a host fails; a
               backup MX without the DANE its primary has
  2  CRITICAL  fewer than --min-up MX hosts up; a check cut short by
               --timeout; a critical threshold passed; a TLS problem with
               --require-tls; validated TLSA records that no presented chain
               matches, no TLS where they are published, or a failed TLSA
               lookup; an MTA-STS policy in enforce mode that a host fails;
               no DANE or MTA-STS with --require-dane or --require-mta-sts
  3  UNKNOWN   usage error, the MX lookup failed, or a null MX (RFC 7505):
               the domain accepts no mail, so there is nothing to check

An address is up when it sends a complete 220 greeting and accepts EHLO
(or HELO); a host is up when one of its addresses is. Nothing is sent
before the greeting. STARTTLS is used when offered; the certificate is
verified for the MX host name against the system's trust store (or
--ca-file), and its expiry is read even when it does not verify.
For a DOMAIN, each host's TLSA records (_PORT._tcp.HOST) are matched
against the chain every address presents (DANE, RFC 7672; only
DNSSEC-validated answers count: a validating resolver and `options
trust-ad` in resolv.conf), and the domain's MTA-STS policy (RFC 8461) is
fetched and checked against the MX hosts.
The first line is `MX STATUS - summary | perfdata`, naming what is worst
first; then one line per host and address.";

/// Check every MX host of a domain: greeting, STARTTLS, certificate (a
/// monitoring plugin)
// check_mx's command line: the doc comments are its help (the registry makes
// the manual page and completions of it too).
#[derive(Parser, Debug)]
#[command(name = NAME, version, after_help = EXIT_STATUS_HELP)]
pub(crate) struct Cli {
    /// Check this host instead of the domain's MX hosts (repeatable)
    #[arg(
        short = 'H',
        long = "host",
        value_name = "HOST",
        conflicts_with = "domain"
    )]
    hosts: Vec<String>,

    /// TCP port to check
    #[arg(short, long, default_value_t = SMTP_PORT, value_parser = clap::value_parser!(u16).range(1..))]
    port: u16,

    /// Check IPv4 addresses only
    #[arg(short = '4', conflicts_with = "ipv6")]
    ipv4: bool,

    /// Check IPv6 addresses only
    #[arg(short = '6')]
    ipv6: bool,

    /// A greeting slower than this many seconds is WARNING
    #[arg(short, long, value_name = "SECONDS")]
    warning: Option<Seconds>,

    /// A greeting slower than this many seconds is CRITICAL
    #[arg(short, long, value_name = "SECONDS")]
    critical: Option<Seconds>,

    /// A certificate with fewer days left is WARNING
    #[arg(long, value_name = "DAYS", default_value_t = DEFAULT_CERT_WARN_DAYS)]
    cert_warn: u32,

    /// A certificate with fewer days left (or expired) is CRITICAL
    #[arg(long, value_name = "DAYS", default_value_t = DEFAULT_CERT_CRIT_DAYS)]
    cert_crit: u32,

    /// Fewer MX hosts up than this is CRITICAL (more, but not all, is WARNING)
    #[arg(long, value_name = "N", default_value_t = 1)]
    min_up: usize,

    /// No STARTTLS, a refused or failed STARTTLS, or a certificate that does
    /// not verify is CRITICAL (else WARNING, and no STARTTLS is fine)
    #[arg(long)]
    require_tls: bool,

    /// Do not look up TLSA records or check DANE (RFC 7672)
    #[arg(long, conflicts_with = "require_dane")]
    no_dane: bool,

    /// An MX host without DNSSEC-validated TLSA records is CRITICAL
    #[arg(long)]
    require_dane: bool,

    /// Do not look up or fetch the domain's MTA-STS policy (RFC 8461)
    #[arg(long, conflicts_with = "require_mta_sts")]
    no_mta_sts: bool,

    /// A domain without a valid MTA-STS policy in enforce mode is CRITICAL
    #[arg(long, conflicts_with = "hosts")]
    require_mta_sts: bool,

    /// Trust only the CA certificates in this PEM file, instead of the
    /// system's trust store
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,

    /// Name to send in EHLO (default: this host's name)
    #[arg(long, value_name = "NAME")]
    helo: Option<String>,

    /// Seconds for the whole run (lookups included); checks not done by
    /// then are CRITICAL
    #[arg(short, long, value_name = "SECONDS", default_value_t = DEFAULT_TIMEOUT)]
    timeout: Seconds,

    /// Print one JSON object (schema in check_mx(1)) instead of the plugin text
    #[arg(long)]
    json: bool,

    /// Print Prometheus metrics (text format 0.0.4) instead of the plugin
    /// text
    #[arg(long, conflicts_with_all = ["json", "verbose"])]
    prometheus: bool,

    /// Also write the Prometheus metrics to this file, atomically (for
    /// node_exporter's textfile collector); stdout stays as it is
    #[arg(long, value_name = "FILE")]
    prometheus_file: Option<PathBuf>,

    /// After the detail lines, print each address's SMTP dialogue (server
    /// lines as received, ours as ">>> CMD"); may be given more than once
    #[arg(short, long, action = clap::ArgAction::Count, conflicts_with = "json")]
    verbose: u8,

    /// The domain whose MX hosts to check
    #[arg(value_name = "DOMAIN", required_unless_present = "hosts")]
    domain: Option<String>,
}

/// What a run needs, checked before anything is sent.
struct Plan {
    /// The domain to look up, or the `-H` hosts.
    what: What,
    thresholds: Thresholds,
    settings: Settings,
}

enum What {
    Domain(HostName),
    Hosts(Vec<Target>),
}

/// Runs check_mx: the plugin output on stdout, the status as exit status.
pub fn run(args: Vec<OsString>, reporter: &mut Reporter) -> AppletResult {
    let cli: Cli = parse_command_line(args).map_err(|e| e.with_usage_status(UNKNOWN))?;
    let started = Instant::now();
    let plan = plan(&cli, started)?;
    let report = block_on(check(plan, cli.port)).map_err(|err| {
        AppletError::new(
            UNKNOWN,
            format_args!("cannot start the async runtime: {err}"),
        )
    })?;
    let metrics = prometheus::render(&report, started.elapsed());
    let text = if cli.prometheus {
        metrics.clone()
    } else if cli.json {
        output::json(&report)
    } else {
        output::text(&report)
    };
    // A lost line does not change the status: the status is the answer.
    let _ = reporter.answer(&text);
    if let Some(path) = &cli.prometheus_file {
        // The checks were done and printed; only the file is missing, which
        // the status must say, or the collector's stale file goes unnoticed.
        write_atomically(path, &metrics).map_err(|err| {
            AppletError::new(
                UNKNOWN,
                format_args!("cannot write {}: {err}", path.display()),
            )
        })?;
    }
    Ok(report.verdict.status.exit_status())
}

/// Mode of the `--prometheus-file`: the collector runs as another user.
const PROMETHEUS_FILE_MODE: u32 = 0o644;

/// Writes `text` to `path` so that a reader sees the old file or the new
/// one, never a part: a temporary file in the same directory (its name
/// not ending in `.prom`, so the textfile collector skips it), then
/// rename(2) over `path`.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;

    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut temporary_name = OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(temporary_name);
    let open = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(PROMETHEUS_FILE_MODE)
            .open(&temporary)
    };
    let mut file = match open() {
        // Left by a killed run with the same process id.
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(&temporary)?;
            open()?
        }
        opened => opened?,
    };
    let written = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&temporary, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// Checks the command line's values; every error is UNKNOWN.
fn plan(cli: &Cli, started: Instant) -> Result<Plan, AppletError> {
    let usage = |message: String| AppletError::new(UNKNOWN, message);
    let name = |option: &str, text: &str| {
        HostName::parse(text)
            .map_err(|reason| usage(format!("invalid {option} {}: {reason}", Quoted(text))))
    };
    let what = match &cli.domain {
        Some(domain) => What::Domain(name("DOMAIN", domain)?),
        None => {
            let hosts: Vec<HostName> = cli
                .hosts
                .iter()
                .map(|host| name("-H", host))
                .collect::<Result<_, _>>()?;
            What::Hosts(hosts::given(&hosts))
        }
    };
    let Some(timeout) = cli.timeout.limit() else {
        return Err(usage("--timeout must be more than 0 seconds".to_owned()));
    };
    let helo = match &cli.helo {
        Some(helo) => name("--helo", helo)?.to_string(),
        None => resolve::host_name()
            .filter(|host| HostName::parse(host).is_ok())
            .unwrap_or_else(|| FALLBACK_HELO.to_owned()),
    };
    let trust = tls::verifier(cli.ca_file.as_deref()).map_err(usage)?;
    let family = match (cli.ipv4, cli.ipv6) {
        (true, _) => Family::V4,
        (_, true) => Family::V6,
        _ => Family::Any,
    };
    let thresholds = Thresholds {
        greeting: Levels {
            warn: cli.warning.map(Seconds::duration),
            crit: cli.critical.map(Seconds::duration),
        },
        cert_days: Levels {
            warn: i64::from(cli.cert_warn),
            crit: i64::from(cli.cert_crit),
        },
        min_up: cli.min_up,
        require_tls: cli.require_tls,
        require_dane: cli.require_dane,
        require_mta_sts: cli.require_mta_sts,
    };
    // DANE is on for a domain's MX hosts unless --no-dane; for -H hosts
    // only when --require-dane asks for it. MTA-STS is a domain's policy.
    let dane = !cli.no_dane && (cli.domain.is_some() || cli.require_dane);
    let mta_sts = !cli.no_mta_sts && cli.domain.is_some();
    let settings = Settings {
        port: cli.port,
        family,
        helo,
        deadline: started + timeout,
        trust,
        verbose: cli.verbose > 0,
        dane,
        mta_sts,
    };
    Ok(Plan {
        what,
        thresholds,
        settings,
    })
}

/// Finds the hosts, checks them and judges the facts.
async fn check(plan: Plan, port: u16) -> Report {
    let Plan {
        what,
        thresholds,
        settings,
    } = plan;
    let settings = Arc::new(settings);
    // The domain's MTA-STS needs nothing of its MX answer: it starts with
    // the MX lookup, under the same deadline, and is dropped when there is
    // nothing to check.
    let sts = match &what {
        What::Domain(domain) if settings.mta_sts => {
            let (domain, settings) = (domain.clone(), Arc::clone(&settings));
            Some(tokio::spawn(async move {
                policy::discover(&domain, &settings).await
            }))
        }
        _ => None,
    };
    let nothing_to_check = |domain: &HostName, source, error: Option<String>, summary| {
        if let Some(task) = &sts {
            task.abort();
        }
        Report {
            domain: Some(domain.to_string()),
            source,
            port,
            error,
            hosts: Vec::new(),
            mta_sts: None,
            verdict: unknown(summary),
        }
    };
    let (domain, source, targets) = match what {
        What::Hosts(targets) => (None, Source::CommandLine, targets),
        What::Domain(domain) => match hosts::of_domain(&domain, Some(settings.deadline)).await {
            Ok((Source::Null, _)) => {
                let summary = format!(
                    "{domain} has a null MX (RFC 7505): it accepts no mail, nothing to check"
                );
                return nothing_to_check(&domain, Source::Null, None, summary);
            }
            Ok((source, targets)) => (Some(domain), source, targets),
            Err(error) => {
                let error = error.to_string();
                return nothing_to_check(&domain, Source::Listed, Some(error.clone()), error);
            }
        },
    };
    let hosts = probe::check(&targets, Arc::clone(&settings)).await;
    // A task that failed (a bug) leaves the domain without MTA-STS facts
    // rather than the run without its hosts' results.
    let mta_sts = match sts {
        Some(task) => task.await.ok(),
        None => None,
    };
    let domain = domain.map(|d| d.to_string());
    let verdict = evaluate(
        &hosts,
        domain.as_deref(),
        mta_sts.as_ref(),
        &thresholds,
        unix_now(),
    );
    Report {
        domain,
        source,
        port,
        error: None,
        hosts,
        mta_sts,
        verdict,
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it).
fn unix_now() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::applet::parse_typed;

    fn parse(args: &[&str]) -> Result<Cli, AppletError> {
        parse_typed(NAME, args)
    }

    #[test]
    fn defaults() {
        let cli = parse(&["d.test"]).expect("valid");
        assert_eq!(cli.port, 25);
        assert_eq!(cli.timeout, DEFAULT_TIMEOUT);
        assert_eq!((cli.cert_warn, cli.cert_crit, cli.min_up), (21, 7, 1));
        assert!(!cli.require_tls && !cli.json);
    }

    #[test]
    fn usage_errors_are_unknown() {
        for args in [
            &[][..],
            &["-H", "a", "d.test"],
            &["-4", "-6", "d.test"],
            &["--port", "0", "d.test"],
            &["--timeout", "soon", "d.test"],
            &["--min-up", "-1", "d.test"],
            &["--bogus", "d.test"],
            &["--prometheus", "--json", "d.test"],
            &["--prometheus", "-v", "d.test"],
        ] {
            let argv = std::iter::once(NAME).chain(args.iter().copied());
            let argv: Vec<OsString> = argv.map(OsString::from).collect();
            let status = run(argv, &mut Reporter::new(NAME)).map_err(|e| e.status());
            assert_eq!(status, Err(UNKNOWN), "{args:?}");
        }
        for args in [
            &["--timeout", "0", "d.test"][..],
            &["-H", "a b"],
            &["--helo", "", "d.test"],
        ] {
            let cli = parse(args).expect("clap accepts it");
            let status = plan(&cli, Instant::now())
                .map(|_| ())
                .map_err(|e| e.status());
            assert_eq!(status, Err(UNKNOWN), "{args:?}");
        }
    }

    #[test]
    fn help_and_version_are_not_errors() {
        for flag in ["--help", "--version"] {
            let error = parse(&[flag]).expect_err("clap's text");
            assert_eq!(error.with_usage_status(UNKNOWN).status(), 0);
        }
    }
}
