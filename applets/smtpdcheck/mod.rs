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
use std::time::Duration;

use clap::{CommandFactory, Parser};

use crate::args::{parse_or_status, parse_seconds};
use crate::runtime::print_stdout;

pub mod cache;
pub mod decide;
pub mod probe;
pub mod servers;

use decide::Verdict;
use probe::{Outcome, Report, Settings};
use servers::{Server, check_name, parse_server};

/// Exit status: none of the servers is available.
pub const EXIT_NONE_AVAILABLE: u8 = 0;
/// Exit status: a server is available; its name is on stdout.
pub const EXIT_AVAILABLE: u8 = 1;
/// Exit status: usage or system error (also clap's usage errors).
pub const EXIT_ERROR: u8 = crate::args::EXIT_USAGE;

const NAME: &str = "smtpdcheck";

const EXIT_STATUS_HELP: &str = "\
Exit status:
  1  a server is available; its name, as given, is printed on stdout
  0  none of the servers is available
  2  usage or system error (also: the --stop host cannot be looked up)

A server is available when one of its addresses sends a complete 220
greeting within the timeout. Servers are probed at the same time and the
answer is decided in list order. Results are cached per address and port
in $XDG_CACHE_HOME/smtpbox (else ~/.cache/smtpbox).";

/// smtpdcheck's command line.
#[derive(Parser, Debug)]
#[command(
    name = NAME,
    version,
    about = "Check whether a more preferred SMTP server is available",
    after_help = EXIT_STATUS_HELP
)]
struct Cli {
    /// Stop before the server with this address or name; servers listed
    /// before it with the same prio do not count either
    #[arg(long, value_name = "IP-ADDR|NAME")]
    stop: Option<String>,

    /// Seconds to spend on each server (lookup, connect and greeting);
    /// fractions allowed; 0 means no limit
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    timeout: Duration,

    /// TCP port to probe
    #[arg(long, default_value_t = 25, value_parser = clap::value_parser!(u16).range(1..))]
    port: u16,

    /// Neither use nor update the result cache
    #[arg(long)]
    no_cache: bool,

    /// Seconds a "down" result stays in the cache (0: never cached)
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_seconds)]
    cache_ttl: Duration,

    /// Seconds an "up" result stays in the cache (0: never cached)
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = parse_seconds)]
    cache_ttl_up: Duration,

    /// Print one line per server on stderr: address, outcome, milliseconds
    #[arg(short, long)]
    verbose: bool,

    /// Servers to check, in order, each optionally prefixed by its MX prio
    #[arg(value_name = "[PRIO:]SERVER", required = true)]
    servers: Vec<String>,
}

/// The command-line definition (help, man page, completions).
pub fn command() -> clap::Command {
    Cli::command()
}

/// Runs smtpdcheck; returns its exit status.
pub fn run(args: Vec<OsString>) -> u8 {
    let cli: Cli = match parse_or_status(args) {
        Ok(cli) => cli,
        Err(status) => return status,
    };
    match prepare(&cli) {
        Ok(servers) => execute(&cli, &servers),
        Err(message) => {
            crate::say!("{NAME}: {message}");
            EXIT_ERROR
        }
    }
}

/// Validates what clap cannot: the server list and the stop target.
fn prepare(cli: &Cli) -> Result<Vec<Server>, String> {
    if let Some(stop) = &cli.stop {
        check_name(stop)
            .map_err(|reason| format!("invalid --stop '{}': {reason}", stop.escape_debug()))?;
    }
    cli.servers
        .iter()
        .map(|argument| parse_server(argument).map_err(|err| err.to_string()))
        .collect()
}

fn execute(cli: &Cli, servers: &[Server]) -> u8 {
    let settings = Settings {
        port: cli.port,
        timeout: (!cli.timeout.is_zero()).then_some(cli.timeout),
    };
    let cache_path = if cli.no_cache {
        None
    } else {
        cache::default_path()
    };
    let mut cache = cache::Cache::new(cli.cache_ttl_up, cli.cache_ttl);
    if let Some(path) = &cache_path {
        cache.load(path);
    }
    let checked = probe::check(servers, cli.stop.as_deref(), &settings, &mut cache);
    let report = match checked {
        Ok(Ok(report)) => report,
        Ok(Err(stop_error)) => {
            crate::say!("{NAME}: --stop: {stop_error}");
            return EXIT_ERROR;
        }
        Err(err) => {
            crate::say!("{NAME}: cannot start the async runtime: {err}");
            return EXIT_ERROR;
        }
    };
    let status = answer(&report, servers);
    if cli.verbose {
        explain(&report, servers);
    }
    if let Some(path) = cache_path.filter(|_| cache.has_news()) {
        if let Err(err) = cache.save(&path, cache::now_ms()) {
            if cli.verbose {
                crate::say!("{NAME}: cache not updated: {}: {err}", path.display());
            }
        }
    }
    status
}

/// Prints the contract's answer; returns the exit status. A closed stdout
/// does not change the status: the answer is the exit status.
fn answer(report: &Report, servers: &[Server]) -> u8 {
    match report.verdict {
        Verdict::Available(index) => {
            let _ = print_stdout(&format!("{}\n", servers[index].name));
            EXIT_AVAILABLE
        }
        Verdict::NoneAvailable => EXIT_NONE_AVAILABLE,
    }
}

/// `-v`: one line per server on stderr.
fn explain(report: &Report, servers: &[Server]) {
    for (server, (outcome, ms)) in servers.iter().zip(&report.outcomes) {
        let ms = ms.map_or(String::new(), |ms| format!(", {ms} ms"));
        let line = match outcome {
            Outcome::NotNeeded => "not needed for the answer".to_owned(),
            Outcome::Skipped => "skipped (the --stop server, after it, or its peer)".to_owned(),
            Outcome::Up { address, cached } => {
                let how = if *cached { "cached" } else { "220" };
                format!("({address}): up, {how}{ms}")
            }
            Outcome::Down { error: None } => format!("down, cached{ms}"),
            Outcome::LookupFailed(error) | Outcome::Down { error: Some(error) } => {
                let address = error.address.map_or(String::new(), |a| format!("({a}): "));
                format!("{address}down: {}: {}{ms}", error.phase, error.kind)
            }
        };
        crate::say!("{NAME}: {}: {line}", server.name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("smtpdcheck").chain(args.iter().copied()))
    }

    #[test]
    fn legacy_options_parse() {
        let cli =
            parse(&["--stop", "192.0.2.1", "--timeout", "2.5", "10:a", "20:b"]).expect("valid");
        assert_eq!(cli.stop.as_deref(), Some("192.0.2.1"));
        assert_eq!(cli.timeout, Duration::from_millis(2500));
        assert_eq!(cli.servers, ["10:a", "20:b"]);
        assert_eq!(cli.port, 25);
        let cli = parse(&["--timeout=0", "a"]).expect("valid");
        assert!(cli.timeout.is_zero());
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for args in [
            &["--timeout", "-1", "a"][..],
            &["--timeout", "soon", "a"],
            &["--timeout", "NaN", "a"],
            &["--port", "0", "a"],
            &["--bogus", "a"],
            &[],
        ] {
            let err = parse(args).expect_err("must be refused");
            assert_eq!(err.exit_code(), 2, "{args:?}");
        }
    }

    #[test]
    fn server_errors_are_one_line() {
        let cli = parse(&["10:a", "x:b"]).expect("clap accepts any text");
        let message = prepare(&cli).expect_err("bad prio");
        assert_eq!(message, "invalid server 'x:b': priority must be 0 to 65535");
        let cli = parse(&["--stop", "", "a"]).expect("clap accepts any text");
        assert!(prepare(&cli).is_err());
    }
}
