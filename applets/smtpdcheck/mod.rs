//! smtpdcheck: is a more preferred SMTP server up? The Mail Avenger
//! contract, kept exactly: the first available server's name (as given,
//! without its prio) on stdout and exit 1; exit 0 when none is available;
//! exit 2 on a usage or system error. Beyond the original (its BUGS
//! section): all servers are probed at once, every address of a host
//! counts, and results are cached for a short while.
//!
//! Layout: [`servers`] reads the arguments, [`decide`] holds the `--stop`
//! rule and the decision order, [`probe`] runs the probes, [`cache`] keeps
//! recent results. This file is the command line and the contract.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use clap::{ArgAction, Parser};

use crate::applet::{AppletError, AppletResult, parse_command_line};
use crate::args::Seconds;
use crate::exit::{self, smtpdcheck::AVAILABLE, smtpdcheck::NONE_AVAILABLE};
use crate::names::{HostName, Quoted};
use crate::report::Reporter;
use crate::runtime::{block_on, block_on_local};

pub mod cache;
pub mod decide;
pub mod engine;
pub mod filter;
pub mod json;
pub mod mx_memory;
pub mod opensmtpd;
pub mod policy;
pub mod probe;
pub mod servers;
pub mod service;
pub mod socketmap;
pub mod socketmap_service;
pub mod streams;

use decide::Verdict;
use engine::{Engine, EngineSettings};
use probe::{ProbeSettings, Report, ServerOutcome, Stop};
use servers::{Server, parse_server};

const NAME: &str = "smtpdcheck";

/// `--timeout` when not given.
const DEFAULT_TIMEOUT: Seconds = Seconds(std::time::Duration::from_secs(10));

/// `--port` when not given: SMTP's (RFC 5321 §4.5.4.2).
const DEFAULT_PORT: u16 = 25;

const EXIT_STATUS_HELP: &str = "\
Exit status:
  1  a server is available; its name, as given, is printed on stdout
  0  none of the servers is available
  2  usage or system error (also: the --stop host cannot be looked up, or
     the --mx lookup failed: no such domain, a server failure, no answer)

A server is available when one of its addresses sends a complete 220
greeting within the timeout. Servers are probed at the same time and the
answer is decided in list order. Results are cached per address and port
in $XDG_CACHE_HOME/smtpbox (else ~/.cache/smtpbox, or --cache-dir).

--mx DOMAIN checks DOMAIN's MX hosts as PRIO:EXCHANGE arguments, looked up
through /etc/resolv.conf (no MX record: the domain itself at prio 0; a null
MX: none available). Without --stop, the first MX host with an address of
one of this host's interfaces, and the MX hosts of its prio, end the list.";

/// Check whether a more preferred SMTP server is available
// smtpdcheck's command line: the doc comments are its help (the registry
// makes the manual page and completions of it too).
//
// Its flags are `Option<bool>`, `Some` when given (`ArgAction::Set`
// without a value), not clap's `bool` (`SetTrue`), whose default `false`
// clap parses and stores on every run: about 3,000 instructions a flag,
// and a cache hit runs little else (docs/performance.md). Given twice is
// an error either way.
#[derive(Parser, Debug)]
#[command(name = NAME, version, after_help = EXIT_STATUS_HELP)]
pub(crate) struct Cli {
    /// Stop before the server with this address or name; servers listed
    /// before it with the same prio do not count either
    #[arg(long, value_name = "IP-ADDR|NAME")]
    stop: Option<String>,

    /// Seconds to spend on each server (lookup, connect and greeting);
    /// fractions allowed; 0 means no limit [default: 10]
    #[arg(long, value_name = "SECONDS")]
    timeout: Option<Seconds>,

    /// TCP port to probe [default: 25]
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    port: Option<u16>,

    /// Neither use nor update the result cache
    #[arg(long, action = ArgAction::Set, num_args = 0, default_missing_value = "true")]
    no_cache: Option<bool>,

    /// Keep the result cache in DIR (mode 0700, owned by this user; e.g. a
    /// system-wide /var/cache/smtpbox) instead of the user's cache directory
    #[arg(long, value_name = "DIR", value_parser = absolute_dir)]
    cache_dir: Option<PathBuf>,

    /// Seconds a "down" result stays in the cache (0: never cached)
    /// [default: 60]
    #[arg(long, value_name = "SECONDS")]
    cache_ttl: Option<Seconds>,

    /// Seconds an "up" result stays in the cache (0: never cached)
    /// [default: 10]
    #[arg(long, value_name = "SECONDS")]
    cache_ttl_up: Option<Seconds>,

    /// Print one line per server on stderr: address, outcome, milliseconds
    #[arg(short, long, action = ArgAction::Set, num_args = 0, default_missing_value = "true")]
    verbose: Option<bool>,

    /// Print the answer and what was found about each server as one JSON
    /// object on stdout (instead of the server's name); same exit status
    #[arg(long, conflicts_with = "postfix_policy", action = ArgAction::Set, num_args = 0, default_missing_value = "true")]
    json: Option<bool>,

    /// Check DOMAIN's MX hosts instead of a server list; without --stop,
    /// the first MX host that is this host ends the list
    #[arg(long, value_name = "DOMAIN", conflicts_with = "servers")]
    mx: Option<String>,

    /// Serve Postfix's policy protocol on stdin/stdout (spawn(8)): each
    /// RCPT gets DEFER_IF_PERMIT while a more preferred MX of its domain
    /// is up, else DUNNO; logs to syslog (mail), never to stderr
    #[arg(long, conflicts_with_all = ["servers", "mx"], action = ArgAction::Set, num_args = 0, default_missing_value = "true")]
    postfix_policy: Option<bool>,

    /// Serve as an OpenSMTPD filter (smtpd-filters(7), proc-exec) on
    /// stdin/stdout: each rcpt-to gets "reject|451 4.7.1 ..." while a more
    /// preferred MX of its domain is up, else proceed; logs to syslog (mail)
    #[arg(long, conflicts_with_all = ["servers", "mx", "postfix_policy", "json"], action = ArgAction::Set, num_args = 0, default_missing_value = "true")]
    opensmtpd_filter: Option<bool>,

    /// Serve Sendmail's socket map protocol on the socket systemd passes
    /// (LISTEN_FDS) or on stdin: a domain gets "OK MX" while a more
    /// preferred MX of it is up, else NOTFOUND; logs to syslog (mail)
    #[arg(
        long,
        conflicts_with_all = ["servers", "mx", "postfix_policy", "opensmtpd_filter", "json"],
        action = ArgAction::Set, num_args = 0, default_missing_value = "true"
    )]
    sendmail_socketmap: Option<bool>,

    /// Servers to check, in order, each optionally prefixed by its MX prio
    #[arg(
        value_name = "[PRIO:]SERVER",
        required_unless_present_any = ["mx", "postfix_policy", "opensmtpd_filter", "sendmail_socketmap"]
    )]
    servers: Vec<String>,
}

/// The options with a default. clap's own defaults (`default_value_t`)
/// are parsed and stored on every run, which cost a cache hit 4 % of its
/// instructions (docs/performance.md), so they are applied here; the help
/// text names them, and a test holds the two together.
impl Cli {
    fn timeout(&self) -> Seconds {
        self.timeout.unwrap_or(DEFAULT_TIMEOUT)
    }

    fn port(&self) -> u16 {
        self.port.unwrap_or(DEFAULT_PORT)
    }

    fn cache_ttl_down(&self) -> Seconds {
        self.cache_ttl.unwrap_or(Seconds(cache::DEFAULT_TTL_DOWN))
    }

    fn cache_ttl_up(&self) -> Seconds {
        self.cache_ttl_up.unwrap_or(Seconds(cache::DEFAULT_TTL_UP))
    }

    /// The engine of a one-shot run; `mx_file` for `--mx`.
    fn engine(&self, mx_file: Option<PathBuf>) -> Result<Engine, AppletError> {
        self.engine_with(mx_file, false)
    }

    /// The engine of a service: MX answers in memory only, and a
    /// recipient's domain deferred only when this host is one of its MX
    /// hosts (the stop is in the list).
    fn service_engine(&self) -> Result<Engine, AppletError> {
        self.engine_with(None, true)
    }

    /// What the engine needs: how each server is probed (`--port`,
    /// `--timeout`), `--stop`, the result cache as the file holds it.
    fn engine_with(
        &self,
        mx_file: Option<PathBuf>,
        stop_required: bool,
    ) -> Result<Engine, AppletError> {
        let settings = EngineSettings {
            probe: ProbeSettings {
                port: self.port(),
                timeout: self.timeout().limit(),
                stop_required,
            },
            stop: stop_host(self)?,
            cache_path: cache_path(self),
            mx_file,
        };
        let cache = open_cache(self, settings.cache_path.as_deref());
        Ok(Engine::new(settings, cache))
    }
}

/// Runs smtpdcheck: the answer on stdout and as the exit status.
pub fn run(args: Vec<OsString>, reporter: &mut Reporter) -> AppletResult {
    let cli: Cli = parse_command_line(args)?;
    reporter.set_verbose(cli.verbose.is_some());
    if cli.postfix_policy.is_some() {
        // stderr is the peer's socket under spawn(8): syslog from here on.
        reporter.use_syslog();
        return serve_policy(&cli, reporter);
    }
    if cli.opensmtpd_filter.is_some() {
        // smtpd reads our stderr into its own log; syslog like the policy
        // service.
        reporter.use_syslog();
        return serve_filter(&cli, reporter);
    }
    if cli.sendmail_socketmap.is_some() {
        return serve_socketmap(&cli, reporter);
    }
    let status = match &cli.mx {
        None => {
            let (servers, stop) = arguments(&cli)?;
            let engine = cli.engine(None)?;
            let report = engine
                .check(&servers, &stop)
                .map_err(|error| AppletError::new(exit::USAGE, error))?;
            conclude(&cli, &report, &servers, reporter);
            save(&engine, reporter);
            status_of(&report)
        }
        Some(domain) => check_mx_hosts(&cli, domain, reporter)?,
    };
    Ok(status)
}

/// The exit status of a report.
fn status_of(report: &Report) -> u8 {
    match report.verdict {
        Verdict::Available(_) => AVAILABLE,
        Verdict::NoneAvailable => NONE_AVAILABLE,
    }
}

/// The answer (or `--json`) and the `-v` lines.
fn conclude(cli: &Cli, report: &Report, servers: &[Server], reporter: &Reporter) {
    if cli.json.is_some() {
        print_json(
            status_of(report),
            report,
            servers,
            cli.mx.as_deref(),
            reporter,
        );
    } else {
        answer(report, servers, reporter);
    }
    explain(report, servers, reporter);
}

/// Writes what the run learnt for the next processes; a problem only
/// costs them a probe or a DNS query.
fn save(engine: &Engine, reporter: &Reporter) {
    if let Err(problem) = engine.save() {
        reporter.detail(format_args!("{problem}"));
    }
}

// `check_mx_hosts`, `print_json` and `serve_policy` are never inlined into
// `run`: their locals would grow its stack frame past a page, which every
// run then touches (a page fault; docs/performance.md), for work most runs
// never do.

/// `--mx DOMAIN`: its MX hosts (from the MX file or DNS) checked as
/// `PRIO:EXCHANGE` servers; a null MX is none available.
#[inline(never)]
fn check_mx_hosts(cli: &Cli, domain: &str, reporter: &Reporter) -> Result<u8, AppletError> {
    let domain = host_option("--mx", domain)?;
    let cache_path = cache_path(cli);
    let mx_file = cache_path.as_deref().and_then(Path::parent);
    let mx_file = mx_file.map(|dir| dir.join(mx_memory::FILE_NAME));
    let engine = cli.engine(mx_file)?;
    let checked = engine
        .check_domain(&domain)
        .map_err(|trouble| AppletError::new(exit::USAGE, trouble))?;
    for note in &checked.notes {
        reporter.detail(format_args!("{note}"));
    }
    let status = match (&checked.servers, &checked.report) {
        (Some(servers), Some(report)) => {
            conclude(cli, report, servers, reporter);
            status_of(report)
        }
        _ => {
            if cli.json.is_some() {
                let document = json::null_mx(NONE_AVAILABLE, &domain);
                let _ = reporter.answer(&crate::json::one_line(&document));
            }
            NONE_AVAILABLE
        }
    };
    save(&engine, reporter);
    Ok(status)
}

/// `--json`: the answer and each server's outcome as one JSON object.
#[inline(never)]
fn print_json(
    status: u8,
    report: &Report,
    servers: &[Server],
    mx: Option<&str>,
    reporter: &Reporter,
) {
    let document = json::document(status, report, servers, mx);
    let _ = reporter.answer(&crate::json::one_line(&document));
}

/// Checks what clap cannot: the server list and the stop target.
fn arguments(cli: &Cli) -> Result<(Vec<Server>, Stop), AppletError> {
    let stop = match stop_host(cli)? {
        Some(host) => Stop::At(host),
        None => Stop::Nowhere,
    };
    let servers = cli
        .servers
        .iter()
        .map(|argument| parse_server(argument).map_err(AppletError::usage))
        .collect::<Result<_, _>>()?;
    Ok((servers, stop))
}

/// The result cache file, unless `--no-cache`.
fn cache_path(cli: &Cli) -> Option<PathBuf> {
    match (&cli.cache_dir, cli.no_cache.is_some()) {
        (_, true) => None,
        (Some(dir), false) => Some(dir.join(cache::FILE_NAME)),
        (None, false) => cache::default_path(),
    }
}

/// The result cache as the file at `path` holds it now.
fn open_cache(cli: &Cli, path: Option<&Path>) -> cache::Cache {
    let mut cache = cache::Cache::new(
        cli.cache_ttl_up().duration(),
        cli.cache_ttl_down().duration(),
    );
    if let Some(path) = path {
        cache.load(path);
    }
    cache
}

/// `--postfix-policy`: serves until the peer closes the connection.
#[inline(never)]
fn serve_policy(cli: &Cli, reporter: &Reporter) -> AppletResult {
    let engine = cli.service_engine()?;
    block_on(service::serve(&engine, reporter)).map_err(|err| runtime_error(&err))?;
    Ok(exit::SUCCESS)
}

/// `--opensmtpd-filter`: serves until smtpd closes stdin.
#[inline(never)]
fn serve_filter(cli: &Cli, reporter: &Reporter) -> AppletResult {
    let engine = cli.service_engine()?;
    block_on_local(filter::serve(Rc::new(engine), reporter)).map_err(|err| runtime_error(&err))?;
    Ok(exit::SUCCESS)
}

/// `--sendmail-socketmap`: serves until its socket fails.
#[inline(never)]
fn serve_socketmap(cli: &Cli, reporter: &mut Reporter) -> AppletResult {
    let socketmap_error =
        |err| AppletError::new(exit::USAGE, format_args!("--sendmail-socketmap: {err}"));
    let socket = socketmap_service::given_socket().map_err(socketmap_error)?;
    let engine = Rc::new(cli.service_engine()?);
    // Started: from here on, lines go to syslog (under inetd, stderr is
    // the connection).
    reporter.use_syslog();
    block_on_local(socketmap_service::serve(engine, socket, reporter))
        .map_err(|err| runtime_error(&err))?
        .map_err(|err| {
            AppletError::new(exit::USAGE, format_args!("--sendmail-socketmap: {err}"))
        })?;
    Ok(exit::SUCCESS)
}

/// The runtime could not start: exit 2.
fn runtime_error(err: &std::io::Error) -> AppletError {
    AppletError::new(
        exit::USAGE,
        format_args!("cannot start the async runtime: {err}"),
    )
}

/// `--cache-dir`: an absolute path (the cache must not move with the
/// working directory).
fn absolute_dir(text: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(text);
    if path.is_absolute() {
        Ok(path)
    } else {
        Err(format!("'{text}' is not an absolute path"))
    }
}

/// `--stop`, checked.
fn stop_host(cli: &Cli) -> Result<Option<HostName>, AppletError> {
    let Some(stop) = &cli.stop else {
        return Ok(None);
    };
    host_option("--stop", stop).map(Some)
}

/// The value of a host name option, checked: a usage error naming it.
fn host_option(option: &str, text: &str) -> Result<HostName, AppletError> {
    HostName::parse(text).map_err(|reason| {
        AppletError::usage(format_args!("invalid {option} {}: {reason}", Quoted(text)))
    })
}

/// Prints the contract's answer, the available server's name. A closed
/// stdout does not change the status: the answer is the exit status.
fn answer(report: &Report, servers: &[Server], reporter: &Reporter) {
    if let Verdict::Available(index) = report.verdict {
        let _ = reporter.answer(&format!("{}\n", servers[index].name));
    }
}

/// `-v`: one line per server on stderr.
fn explain(report: &Report, servers: &[Server], reporter: &Reporter) {
    if !reporter.is_verbose() {
        return;
    }
    for (server, (outcome, ms)) in servers.iter().zip(&report.outcomes) {
        let ms = ms.map_or(String::new(), |ms| format!(", {ms} ms"));
        let line = match outcome {
            ServerOutcome::NotNeeded => "not needed for the answer".to_owned(),
            ServerOutcome::Skipped => {
                "skipped (the --stop server, after it, or its peer)".to_owned()
            }
            ServerOutcome::Up { address, cached } => {
                let how = if *cached { "cached" } else { "220" };
                format!("({address}): up, {how}{ms}")
            }
            ServerOutcome::Down { error: None } => format!("down, cached{ms}"),
            ServerOutcome::LookupFailed(error) | ServerOutcome::Down { error: Some(error) } => {
                let address = error.address.map_or(String::new(), |a| format!("({a}): "));
                format!("{address}down: {}: {}{ms}", error.phase, error.kind)
            }
        };
        reporter.detail(format_args!("{}: {line}", server.name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::applet::parse_typed;
    use std::time::Duration;

    fn parse(args: &[&str]) -> Result<Cli, AppletError> {
        parse_typed(NAME, args)
    }

    #[test]
    fn legacy_options_parse() {
        let cli =
            parse(&["--stop", "192.0.2.1", "--timeout", "2.5", "10:a", "20:b"]).expect("valid");
        assert_eq!(cli.stop.as_deref(), Some("192.0.2.1"));
        assert_eq!(cli.timeout().limit(), Some(Duration::from_millis(2500)));
        assert_eq!(cli.servers, ["10:a", "20:b"]);
        assert_eq!(cli.port(), 25);
        let cli = parse(&["--timeout=0", "a"]).expect("valid");
        assert_eq!(cli.timeout().limit(), None);
        assert_eq!(cli.cache_ttl_up().duration(), cache::DEFAULT_TTL_UP);
        assert_eq!(cli.cache_ttl_down().duration(), cache::DEFAULT_TTL_DOWN);
        let cli = parse(&[
            "--port",
            "2525",
            "--cache-ttl",
            "1",
            "--cache-ttl-up",
            "2",
            "a",
        ]);
        let cli = cli.expect("valid");
        assert_eq!(cli.port(), 2525);
        assert_eq!(cli.cache_ttl_down().duration(), Duration::from_secs(1));
        assert_eq!(cli.cache_ttl_up().duration(), Duration::from_secs(2));
    }

    #[test]
    fn help_names_the_defaults_applied() {
        use clap::CommandFactory;
        let help = Cli::command().render_help().to_string();
        let described = |option: &str| {
            let line = help
                .lines()
                .find(|line| line.trim_start().starts_with(option));
            line.expect(option).to_string()
        };
        let defaults = [
            ("--timeout <SECONDS>", DEFAULT_TIMEOUT.to_string()),
            ("--port <PORT>", DEFAULT_PORT.to_string()),
            (
                "--cache-ttl <SECONDS>",
                Seconds(cache::DEFAULT_TTL_DOWN).to_string(),
            ),
            (
                "--cache-ttl-up <SECONDS>",
                Seconds(cache::DEFAULT_TTL_UP).to_string(),
            ),
        ];
        for (option, default) in defaults {
            let text = described(option);
            assert!(text.ends_with(&format!("[default: {default}]")), "{text}");
        }
    }

    #[test]
    fn server_errors_are_one_line() {
        let cli = parse(&["10:a", "x:b"]).expect("clap accepts any text");
        let message = arguments(&cli).expect_err("bad prio").to_string();
        assert_eq!(message, "invalid server 'x:b': priority must be 0 to 65535");
        let cli = parse(&["--stop", "", "a"]).expect("clap accepts any text");
        assert!(arguments(&cli).is_err());
    }
}
